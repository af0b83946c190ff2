/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The RDMA transport backend, inside the xprt_rdma_ files: rdma_cm +
 * ib_core, one RC queue pair per connection, in the initial network
 * namespace.  Documentation/transport.md has the framing over SEND, the
 * completions, one-sided reads and the failure mapping; locking.md the
 * lock order inside the backend.
 */
#ifndef _DSPM_XPRT_RDMA_H
#define _DSPM_XPRT_RDMA_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <uapi/linux/dspm_wire.h>

#include "xprt.h"

#define DSPM_RDMA_SEG		DSPM_WIRE_RDMA_SEGMENT

#define DSPM_RDMA_RECV_DEPTH	DSPM_WIRE_RDMA_RECV_DEPTH

#define DSPM_RDMA_SEND_DEPTH	4

#define DSPM_RDMA_READ_SEGS	DSPM_TRANSPORT_READ_SEGS

#define DSPM_RDMA_READ_DEPTH	4	/* outstanding RDMA READs, each way */

/* sends, reads and one REG_MR; ib_drain_qp() posts one more on each queue */
#define DSPM_RDMA_SQ_DEPTH	(DSPM_RDMA_SEND_DEPTH + DSPM_RDMA_READ_SEGS + 1)

#define DSPM_RDMA_CQ_DEPTH	(DSPM_RDMA_SQ_DEPTH + DSPM_RDMA_RECV_DEPTH + 2)

/* FRMR pages per exposed region at most: the page size grows to fit */
#define DSPM_RDMA_REG_PAGES	256U

#define DSPM_RDMA_REG_CHUNK	SZ_1G	/* bytes per scatterlist entry */

#define DSPM_RDMA_BACKLOG	64

/* local ACK timeout 4.096 us * 2^16 = 268 ms; 8 tries in all */
#define DSPM_RDMA_ACK_TIMEOUT	16

#define DSPM_RDMA_RETRY		7

#define DSPM_RDMA_RNR_RETRY	7	/* infinite */

/* resolve_addr/resolve_route with an unbounded connect timeout */
#define DSPM_RDMA_RESOLVE_MS	30000

/* connects again after a stale-connection rejection, after a pause */
#define DSPM_RDMA_STALE_RETRIES	4

#define DSPM_RDMA_STALE_PAUSE_MS	200

enum dspm_rdma_state {
	DSPM_RDMA_IDLE,
	DSPM_RDMA_ADDR_RESOLVED,
	DSPM_RDMA_ROUTE_RESOLVED,
	DSPM_RDMA_CONNECTED,
	DSPM_RDMA_FAILED,
};

/* The first member of both cm_id contexts: tells the handler which it got. */
enum dspm_rdma_kind {
	DSPM_RDMA_KIND_CONN = 1,
	DSPM_RDMA_KIND_LISTENER,
};

struct dspm_rdma_buf {
	struct ib_cqe cqe;
	struct dspm_rdma_conn *conn;
	void *data;
	u64 dma;
	bool mapped;
	u32 len;		/* received bytes */
	u32 off;		/* bytes recv() consumed */
	struct list_head node;	/* conn->rx_ready */
};

/* A work request on the send queue that carries no buffer of its own. */
struct dspm_rdma_op {
	struct ib_cqe cqe;
	struct dspm_rdma_conn *conn;
	bool signaled;		/* counted in rd_pending */
};

/* A region exposed to the peer (expose()). */
struct dspm_rdma_exposed {
	struct dspm_region region;
	struct sg_table sgt;
	int dma_nents;		/* > 0 while mapped */
	struct ib_mr *mr;	/* freed after the QP is drained */
};

struct dspm_rdma_conn {
	enum dspm_rdma_kind kind;	/* first: the cm_id's context */
	struct dspm_conn base;
	struct rdma_cm_id *cm_id;
	struct ib_pd *pd;
	struct ib_cq *cq;
	bool has_qp;

	spinlock_t lock;	/* the fields below up to wq */
	enum dspm_rdma_state state;
	int err;		/* first failure, sticky */
	bool shut;		/* shutdown() */
	bool closing;		/* close() started: no disconnect work */
	struct list_head rx_ready;	/* completed, not fully consumed */
	unsigned int tx_avail;	/* send buffers not in flight */
	unsigned int rd_pending;	/* READs and REG_MRs not completed */
	wait_queue_head_t wq;

	unsigned int tx_next;	/* sender only */
	unsigned int send_timeout_ms;
	unsigned int recv_timeout_ms;	/* WRITE_ONCE/READ_ONCE */
	struct work_struct disconnect_work;

	/* under dspm_rdma_listen_lock: owner until accept() takes it */
	struct dspm_rdma_listener *listener;
	struct list_head lnode;
	bool dead;		/* failed while queued: reap it */

	struct dspm_rdma_buf rx[DSPM_RDMA_RECV_DEPTH];
	struct dspm_rdma_buf tx[DSPM_RDMA_SEND_DEPTH];

	/* the sender's: one-sided reads and exposed regions */
	struct dspm_rdma_op rd_op[DSPM_RDMA_READ_SEGS];
	struct dspm_rdma_op reg_op;
	void *rd_buf;		/* DSPM_TRANSPORT_READ_MAX bytes */
	u64 rd_dma;
	bool rd_mapped;
	unsigned int nr_exposed;
	struct dspm_rdma_exposed exposed[DSPM_TRANSPORT_REGIONS];
	struct dspm_region_key keys[DSPM_TRANSPORT_REGIONS];
};

struct dspm_rdma_listener {
	enum dspm_rdma_kind kind;	/* first: the cm_id's context */
	struct dspm_listener base;
	struct rdma_cm_id *cm_id;
	wait_queue_head_t wq;
	/* under dspm_rdma_listen_lock */
	struct list_head pending;	/* accepted by us, not established */
	struct list_head ready;		/* established, waiting for accept() */
	unsigned int queued;		/* pending + ready */
	bool shut;
	struct work_struct reap_work;
};

/* every listener's queues and conn->listener (locking.md) */
extern struct mutex dspm_rdma_listen_lock;

struct dspm_rdma_conn *dspm_rdma_conn_of(struct dspm_conn *c);
struct dspm_rdma_listener *dspm_rdma_listener_of(struct dspm_listener *l);
long dspm_rdma_timeo(unsigned int ms);
void dspm_rdma_fail(struct dspm_rdma_conn *conn, int err);
void dspm_rdma_fail_wc(struct dspm_rdma_conn *conn, int err);
int dspm_rdma_post_recv(struct dspm_rdma_conn *conn, struct dspm_rdma_buf *b);
struct dspm_rdma_conn *dspm_rdma_conn_alloc(void);
void dspm_rdma_unexpose(struct ib_device *dev,
			struct dspm_rdma_exposed *e);
void dspm_rdma_destroy_ib(struct dspm_rdma_conn *conn);
int dspm_rdma_create_ib(struct dspm_rdma_conn *conn);
void dspm_rdma_conn_free(struct dspm_rdma_conn *conn);
int dspm_rdma_connect(const struct sockaddr_storage *addr,
		      unsigned int timeout_ms, struct dspm_rdma_conn **out);
int dspm_rdma_stream_err(struct dspm_rdma_conn *conn);
void dspm_rdma_conn_close(struct dspm_rdma_conn *conn);
int dspm_rdma_listen(const struct sockaddr_storage *addr,
		     struct dspm_rdma_listener **out);
int dspm_rdma_accept(struct dspm_rdma_listener *l, struct dspm_rdma_conn **out);
void dspm_rdma_listener_shut(struct dspm_rdma_listener *l);
void dspm_rdma_listener_close(struct dspm_rdma_listener *l);
int dspm_rdma_read(struct dspm_conn *c,
		   const struct dspm_read_seg *seg, unsigned int nr,
		   void *buf);
int dspm_rdma_expose(struct dspm_conn *c,
		     const struct dspm_region *r, unsigned int nr,
		     struct dspm_region_key *keys);

#endif /* _DSPM_XPRT_RDMA_H */
