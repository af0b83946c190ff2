/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node-to-node connections, inside the peer_ files: the serving side
 * (peer_server.c), the calling side (peer_client.c) and what both use.
 * The protocol is in Documentation/wire-protocol.md ("Node to node").
 */
#ifndef _DSPM_PEER_H
#define _DSPM_PEER_H

#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/dspm_wire.h>

#include "clu.h"

#define DSPM_PEER_HANDSHAKE_MS	5000

#define DSPM_PEER_CONNS_MAX	64

struct dspm_peer_conn {
	struct list_head entry;		/* on dspm_peers.conns */
	struct dspm_peers *peers;
	struct dspm_conn *conn;
	struct task_struct *thread;
	bool done;			/* the thread waits to be stopped */
	u32 peer_id;			/* once the handshake passed; else 0 */
	void *buf;			/* DSPM_WIRE_MAX_MESSAGE bytes */
	void *reply;			/* DSPM_WIRE_MAX_MESSAGE bytes */
};

/*
 * Calls to one peer run on up to this many connections at once; the peer
 * serves each connection with a thread of its own.
 */
#define DSPM_PEER_CHANNELS	4

/*
 * A connection this node opened to a peer.  A caller owns a channel for a
 * whole call (busy), so nothing is locked while it waits for the reply.
 */
struct dspm_peer_chan {
	struct dspm_conn *conn;		/* NULL: connect on the next call */
	u64 gen;			/* of conn: unique per connection */
	void *buf;			/* DSPM_WIRE_MAX_MESSAGE bytes */
	bool busy;
	bool stale;			/* busy; close conn when the call ends */
};

struct dspm_peer_out {
	u32 id;
	spinlock_t lock;		/* busy, and conn/gen of idle channels */
	wait_queue_head_t idle;		/* a channel stopped being busy */
	struct dspm_peer_chan chan[DSPM_PEER_CHANNELS];
};

struct dspm_peers {
	struct dspm_link *link;
	const struct dspm_transport_ops *ops;
	struct sockaddr_storage addr;
	struct dspm_listener *listener;
	struct task_struct *acceptor;
	struct dentry *debugfs;

	struct mutex lock;		/* conns, nr_conns, ping result, out */
	struct list_head conns;
	struct xarray out;		/* node id -> struct dspm_peer_out */
	unsigned int nr_conns;
	char ping_result[160];

	/* what each request type is served by (registered at start) */
	const struct dspm_peer_service *svc[DSPM_WIRE_PEER_TYPE_MAX -
					    DSPM_WIRE_PEER_TYPE_MIN + 1];

	atomic64_t accepted;		/* connections that passed the handshake */
	atomic64_t refused;		/* not a member, wrong key, too many */
	atomic64_t malformed;		/* messages dropped as invalid */
	atomic64_t pings;		/* PINGs answered */
	atomic64_t requests;		/* request ids of calls */
	atomic64_t gens;		/* dspm_peer_out.gen */

	/* connections of failed calls, closed by close_work (peer_client.c) */
	struct llist_head closing;
	struct work_struct close_work;
};

int dspm_peer_recv(struct dspm_peers *peers, struct dspm_conn *conn,
		   void *buf);
int dspm_peer_expect(struct dspm_peers *peers, struct dspm_conn *conn,
		     void *buf, u16 want, u32 len, u32 sender);
int dspm_peer_mac(struct dspm_link *link, const char *label,
		  const u8 *nonce1, const u8 *nonce2, u32 connector,
		  u32 acceptor, u8 mac[DSPM_WIRE_MAC_SIZE]);
const struct dspm_peer_service *
dspm_peer_service(struct dspm_peers *peers, int type);
void dspm_peer_close_work(struct work_struct *work);
int dspm_peer_connect(struct dspm_peers *peers, u32 id, void *buf,
		      struct dspm_conn **out);
void dspm_peer_out_close_all(struct dspm_peers *peers);

#endif /* _DSPM_PEER_H */
