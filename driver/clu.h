/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cluster membership of this node: the link to the dispatcher (join with
 * the cluster key, heartbeats, reconnection) and the node table it sends.
 *
 * Locks: Documentation/locking.md.
 */
#ifndef _DSPM_CLU_H
#define _DSPM_CLU_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/dspm.h>
#include <uapi/linux/dspm_wire.h>

struct dspm_conn;
struct dspm_node;
struct dspm_peers;
struct dspm_store;
struct dspm_transport_ops;
struct task_struct;

struct dspm_link;

/*
 * A request type other nodes send, served by an upper layer; the peer
 * server (peer_server.c) finds it by type in the tables JOIN registers
 * (clu_join.c).  @serve answers @req (at least @min_len bytes, its sender
 * checked) into @reply and returns the reply's length, or 0 when @req is
 * malformed (counted; the connection is dropped).  @conn is the
 * connection it came on.
 */
struct dspm_peer_service {
	u16 type;
	u32 min_len;
	u32 (*serve)(struct dspm_link *link, u32 peer, void *req, void *reply,
		     struct dspm_conn *conn);
};

/*
 * What the link tells the layers above about membership (registered by
 * JOIN, clu_join.c), from its own thread: @rejoined after it reconnected
 * to the dispatcher (the homes may have dropped this node meanwhile),
 * @node_returned, once per node, when the node table shows node @id alive
 * again after a death or with a new incarnation (it forgot whom it served,
 * and the connections to its previous boot are dead).
 */
struct dspm_link_events {
	void (*rejoined)(struct dspm_link *link);
	void (*node_returned)(struct dspm_link *link, u32 id);
};

/*
 * Where a cluster dataset's chunks live (clu_placement.c): for each chunk
 * its home and replicas, and the chunks' distinct homes, ascending.
 */
struct dspm_chunk_map {
	u64 dataset;			/* cluster id */
	u64 chunk_size;
	u32 nr_chunks;
	u32 replicas;
	u32 nr_homes;
	u32 *homes;
	u32 nodes[];			/* nr_chunks x replicas; [0] the home */
};

struct dspm_chunk_map *
dspm_chunk_map_new(const struct dspm_wire_dataset_reply *r);
void dspm_chunk_map_free(struct dspm_chunk_map *p);
const u32 *dspm_chunk_map_holders(const struct dspm_chunk_map *p, u64 page,
				  u32 *nr);
bool dspm_chunk_map_holds(const struct dspm_chunk_map *p, u64 page, u32 id);
int dspm_chunk_map_home_index(const struct dspm_chunk_map *p, u32 id);

static inline u32 dspm_chunk_map_home(const struct dspm_chunk_map *p,
				      u64 page)
{
	u32 nr;

	return dspm_chunk_map_holders(p, page, &nr)[0];
}

/* What the upper layers serve; JOIN registers them (clu_join.c). */
extern const struct dspm_peer_service dspm_coh_services[];
extern const struct dspm_peer_service dspm_txn_services[];
extern const struct dspm_peer_service dspm_sync_services[];

struct dspm_link {
	const struct dspm_transport_ops *ops;
	const struct dspm_link_events *events;
	struct sockaddr_storage dispatcher;
	struct dspm_wire_addr self;	/* as announced in HELLO */
	u8 *key;
	u32 key_len;
	u8 uuid[DSPM_WIRE_UUID_SIZE];
	struct dspm_store *store;	/* attached; DETACH waits for LEAVE */
	u64 capacity;			/* bytes, as announced */
	/*
	 * In HELLO, new for every link: the sharers served as a home live and
	 * die with the link, so another node that sees this change must drop
	 * what it cached from here.
	 */
	u64 incarnation;
	u32 node_id;
	u32 heartbeat_ms;

	struct mutex conn_lock;		/* conn, and sending on it */
	struct dspm_conn *conn;		/* NULL while reconnecting */
	u64 next_request;

	struct task_struct *thread;	/* receives; reconnects */
	struct delayed_work heartbeat;
	bool leaving;

	struct mutex table_lock;	/* table, nr_nodes, epoch */
	struct dspm_node_info *table;
	u32 nr_nodes;
	u64 epoch;

	spinlock_t calls_lock;		/* calls */
	struct list_head calls;		/* struct dspm_link_call awaiting replies */
	wait_queue_head_t conn_wait;	/* conn set again, or leaving */

	struct dspm_node *node;
	struct dspm_peers *peers;	/* accepts node-to-node connections */
	struct mutex sharers_lock;	/* sharers, sharer_gen */
	struct xarray sharers;		/* dataset id -> readers (coh_sharers.c) */
	u64 sharer_gen;			/* of the last registration */
	struct dentry *sharers_file;	/* coh_sharers.c */
	atomic64_t inval_sent;		/* INVALIDATEs acknowledged */
	atomic64_t inval_failed;	/* sharers that did not acknowledge */
	atomic64_t inval_received;	/* INVALIDATEs served here */
	atomic64_t sharers_dropped;	/* not alive, or failed */
	atomic64_t unshare_sent;	/* UNSHARED received */
	atomic64_t unshare_received;	/* UNSHAREs served here */
	/* page fetches of this node (coh_fetch.c, debugfs "peer") */
	atomic64_t fetch_rpc;		/* by PAGE_READ */
	atomic64_t fetch_direct;	/* by RDMA READ */
	atomic64_t direct_retries;	/* reads that overlapped a commit */
	atomic64_t direct_fallbacks;	/* one-sided tries ending in RPC */
	atomic64_t maps_served;		/* PAGE_MAP answered with keys */

	struct delayed_work resolve;	/* finishes stalled commits */
	struct dentry *copy_file;	/* debug_copy.c */
	struct dentry *lanes_file;	/* debug_lanes.c */
	u64 copy_dataset;
	u64 copy_page;

	atomic64_t malformed;		/* messages dropped as invalid */
	void *rxbuf;			/* DSPM_WIRE_MAX_MESSAGE bytes */
};

struct dspm_mac_part {
	const void *data;
	size_t len;
};

/* clu_auth.c */
int dspm_auth_mac(const u8 *key, u32 key_len, const struct dspm_mac_part *parts,
		  unsigned int nr, u8 mac[DSPM_WIRE_MAC_SIZE]);
bool dspm_auth_mac_equal(const u8 *a, const u8 *b);

/* Peers will reach a node here unless JOIN names another address. */
#define DSPM_PEER_PORT_DEFAULT	7411

/* clu_link.c */
void dspm_wire_hdr_init(struct dspm_wire_hdr *h, u16 type, u32 len, u32 sender,
			u64 request);
void dspm_wire_reply_hdr(void *reply, const struct dspm_wire_hdr *req,
			 u16 type, u32 len);
u32 dspm_wire_reply_error(void *reply, const struct dspm_wire_hdr *req,
			  int err);
void dspm_wire_addr_to_uapi(const struct dspm_wire_addr *w,
			    struct dspm_addr *a);
bool dspm_wire_hdr_ok(const struct dspm_wire_hdr *h, u16 type_min,
		      u16 type_max, u32 status_max, u32 len_max);
void dspm_sockaddr_to_wire(const struct sockaddr_storage *ss, u16 port,
			   struct dspm_wire_addr *w);
int dspm_link_connect(struct dspm_link *link, struct dspm_conn **out);
int dspm_link_node_state(struct dspm_link *link, u32 id,
			 struct dspm_addr *addr);
int dspm_link_start(struct dspm_link *link);
int dspm_link_call(struct dspm_link *link, void *req, u32 len, u16 want,
		   void **reply);
void dspm_link_shutdown(struct dspm_link *link);
void dspm_link_stop(struct dspm_link *link);

/*
 * Node @id is a member peers may talk to: alive or suspect.  Its address
 * into *@addr (if not NULL) when listed.
 */
static inline bool dspm_link_node_alive(struct dspm_link *link, u32 id,
					struct dspm_addr *addr)
{
	int state = dspm_link_node_state(link, id, addr);

	return state == DSPM_NODE_ALIVE || state == DSPM_NODE_SUSPECT;
}

/* peer_server.c */
struct dspm_peers *dspm_peers_start(struct dspm_link *link,
				    const struct dspm_peer_service *const *tables);
void dspm_peers_stop(struct dspm_peers *peers);
void dspm_peers_cut(struct dspm_peers *peers, u32 id);
void dspm_peers_forget(struct dspm_peers *peers, u32 id);
int dspm_peer_call(struct dspm_peers *peers, u32 id, void *req, u32 len,
		   u16 want, void *reply, u32 reply_len);
int dspm_peer_call_gen(struct dspm_peers *peers, u32 id, void *req, u32 len,
		       u16 want, void *reply, u32 reply_len, u64 *gen);
struct dspm_read_seg;
int dspm_peer_read(struct dspm_peers *peers, u32 id, u64 gen,
		   const struct dspm_read_seg *seg, unsigned int nr, void *buf);

/* coh_sharers.c, coh_serve.c */
struct seq_file;
void dspm_coh_link_init(struct dspm_link *link);
void dspm_coh_link_start(struct dspm_link *link);
void dspm_coh_show(struct seq_file *m, struct dspm_link *link);
void dspm_coh_link_exit(struct dspm_link *link);
void dspm_coh_invalidate_sharers(struct dspm_link *link, u64 cluster_id,
				 const u64 *pages, u32 n, u64 version);

/* sync_manager.c */

/*
 * clu_namespace.c: the dispatcher is called without node->lock;
 * dspm_cluster_ns_slot() runs under it.
 */
struct dspm_create;
struct dspm_delete;
struct dspm_dataset_info;
int dspm_cluster_ns_create(struct dspm_link *link, struct dspm_create *arg);
int dspm_cluster_ns_delete(struct dspm_node *node, struct dspm_link *link,
			   const struct dspm_delete *arg);
int dspm_cluster_ns_lookup(struct dspm_link *link,
			   const char name[DSPM_NAME_MAX],
			   struct dspm_wire_dataset_reply **out);
int dspm_cluster_ns_slot(struct dspm_node *node,
			 const struct dspm_wire_dataset_reply *r);
int dspm_cluster_ns_list(struct dspm_node *node, struct dspm_link *link,
			 u32 capacity, struct dspm_dataset_info **out,
			 u32 *count, u32 *total);
long dspm_cluster_placement(struct dspm_node *node, void __user *uarg);

/* clu_join.c */
void dspm_addr_to_sockaddr(const struct dspm_addr *a,
			   struct sockaddr_storage *ss);
long dspm_cluster_join(struct dspm_node *node, void __user *uarg);
long dspm_cluster_leave(struct dspm_node *node, void __user *uarg);
long dspm_cluster_nodes(struct dspm_node *node, void __user *uarg);
void dspm_cluster_exit(struct dspm_node *node);

#endif /* _DSPM_CLU_H */
