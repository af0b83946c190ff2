// SPDX-License-Identifier: GPL-2.0
/*
 * The RDMA transport backend: rdma_cm + ib_core, one RC queue pair per
 * connection, in the initial network namespace.
 *
 * Framing (the contract of uapi/linux/dspm_wire.h, shared with the
 * dispatcher's librdmacm code): the byte stream is cut into SENDs of 1 to
 * DSPM_WIRE_RDMA_SEGMENT bytes with no header of their own; each side keeps
 * DSPM_WIRE_RDMA_RECV_DEPTH receive buffers of one segment posted and
 * reposts a buffer once recv() has consumed all of its bytes.  Port space
 * RDMA_PS_TCP, no private data, rnr_retry_count 7 both ways (a slow reader
 * only slows the sender down).  A SEND that does not fit a receive buffer
 * (a local length error here) or is empty is a protocol error: the
 * connection fails with -EPROTO and is disconnected.
 *
 * Completions: one CQ per connection polled in softirq context
 * (IB_POLL_SOFTIRQ); the handlers only move buffers between lists and wake
 * conn->wq.  send() copies into one of DSPM_RDMA_SEND_DEPTH registered send
 * buffers and posts it, waiting (send timeout) only for a free buffer, so
 * at most that many SENDs are in flight.  recv() copies out of completed
 * receive buffers in arrival order (an RC receive queue completes in order).
 * Buffers are kmalloc'ed, mapped with ib_dma_map_single() and used with
 * the PD's local_dma_lkey.
 *
 * One-sided reads (coherence.c's fast path for remote read faults): the
 * serving side's expose() registers each region as a fast-registration MR
 * on the PD of that one connection (IB_WR_REG_MR, remote read only, with
 * pages as large as the device allows so that a few hundred cover the
 * whole pmem data area) and deregisters it when the connection closes:
 * a key is good only on the QP it was made for and dies with it.  No
 * global rkey, no remote write.  read() posts up to
 * DSPM_TRANSPORT_READ_SEGS RDMA READs back to back into one bounce buffer
 * of the connection and waits (send timeout) for all of them; the
 * responder executes the READs of one RC QP in order, which the callers'
 * seqlock relies on.  Both sides ask for DSPM_RDMA_READ_DEPTH outstanding
 * reads (initiator depth and responder resources, clamped to what the
 * device and, on accept, the requester offer).
 *
 * Failures: every rdma_cm failure event and every failed completion sets
 * conn->err once (the first cause wins) and wakes every waiter:
 *   ADDR_ERROR, ROUTE_ERROR, UNREACHABLE  -EHOSTUNREACH (-ETIMEDOUT when
 *                                         the CM says the peer timed out)
 *   REJECTED (nobody listens)             -ECONNREFUSED
 *   REJECTED as a stale connection        -ESTALE (see below)
 *   DISCONNECTED, DEVICE_REMOVAL,
 *   ADDR_CHANGE, flushed work requests    -ECONNRESET
 *   transport retries exhausted           -ETIMEDOUT (the peer is gone)
 * Data received before a failure is still delivered; shutdown() makes
 * send() and recv() fail at once.  A peer that vanishes is noticed by the
 * next SEND (retries exhausted after about 2 s: ack timeout 2^16 * 4.096 us,
 * retry_count 7) or by the receive timeout; nothing waits without a bound
 * unless asked to (timeout 0) and even then shutdown() ends the wait.
 * A node that restarts may draw the QP number its previous connection to
 * the same peer had; if the peer has not noticed that one is gone, its CM
 * rejects the request as a stale connection and disconnects the old one.
 * connect() then tries again with a new QP, a few times within its timeout.
 * After DEVICE_REMOVAL the rdma_cm core waits until the cm_id is destroyed,
 * i.e. until the owner calls close() (or, for connections not yet taken by
 * accept(), until the listener's reaper closes them).
 *
 * Lock order (outer first; Documentation/locking.md has the driver's):
 *   rdma_cm's per-cm_id handler mutex (held around dspm_rdma_cm_handler)
 *     -> dspm_rdma_listen_lock (mutex: every listener's queues and
 *        conn->listener)
 *       -> conn->lock (spinlock, irqsave: taken in CQ softirq handlers)
 * Nothing that waits for a cm_id's handler (rdma_destroy_id) or for
 * completions (ib_drain_qp) runs under dspm_rdma_listen_lock or conn->lock.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <rdma/ib_cm.h>
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
	struct dspm_conn *conn;
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
	struct dspm_conn *conn;
	bool signaled;		/* counted in rd_pending */
};

/* A region exposed to the peer (expose()). */
struct dspm_rdma_exposed {
	struct dspm_region region;
	struct sg_table sgt;
	int dma_nents;		/* > 0 while mapped */
	struct ib_mr *mr;	/* freed after the QP is drained */
};

struct dspm_conn {
	enum dspm_rdma_kind kind;
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
	struct dspm_listener *listener;
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

struct dspm_listener {
	enum dspm_rdma_kind kind;
	struct rdma_cm_id *cm_id;
	wait_queue_head_t wq;
	/* under dspm_rdma_listen_lock */
	struct list_head pending;	/* accepted by us, not established */
	struct list_head ready;		/* established, waiting for accept() */
	unsigned int queued;		/* pending + ready */
	bool shut;
	struct work_struct reap_work;
};

static DEFINE_MUTEX(dspm_rdma_listen_lock);

static long dspm_rdma_timeo(unsigned int ms)
{
	return ms ? msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

/* Record the first failure of @conn and wake everyone waiting on it. */
static void dspm_rdma_fail(struct dspm_conn *conn, int err)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	if (!conn->err)
		conn->err = err;
	conn->state = DSPM_RDMA_FAILED;
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
}

/* A failed completion: fail the connection and tell the peer. */
static void dspm_rdma_fail_wc(struct dspm_conn *conn, int err)
{
	unsigned long flags;
	bool disconnect;

	dspm_rdma_fail(conn, err);
	spin_lock_irqsave(&conn->lock, flags);
	disconnect = !conn->closing;
	spin_unlock_irqrestore(&conn->lock, flags);
	if (disconnect)
		schedule_work(&conn->disconnect_work);
}

static void dspm_rdma_disconnect_work(struct work_struct *work)
{
	struct dspm_conn *conn = container_of(work, struct dspm_conn,
					      disconnect_work);

	rdma_disconnect(conn->cm_id);
}

static int dspm_rdma_wc_errno(const struct ib_wc *wc)
{
	switch (wc->status) {
	case IB_WC_RETRY_EXC_ERR:
	case IB_WC_RNR_RETRY_EXC_ERR:
		return -ETIMEDOUT;
	case IB_WC_LOC_LEN_ERR:
		return -EPROTO;
	case IB_WC_REM_ACCESS_ERR:
		return -EACCES;
	default:
		return -ECONNRESET;
	}
}

static void dspm_rdma_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct dspm_rdma_buf *b = container_of(wc->wr_cqe, struct dspm_rdma_buf,
					       cqe);
	struct dspm_conn *conn = b->conn;
	unsigned long flags;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			pr_info_ratelimited("dspm: rdma: send to %pISpc failed: %s\n",
					    &conn->cm_id->route.addr.dst_addr,
					    ib_wc_status_msg(wc->status));
		dspm_rdma_fail_wc(conn, dspm_rdma_wc_errno(wc));
	}
	spin_lock_irqsave(&conn->lock, flags);
	conn->tx_avail++;
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
}

static void dspm_rdma_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct dspm_rdma_buf *b = container_of(wc->wr_cqe, struct dspm_rdma_buf,
					       cqe);
	struct dspm_conn *conn = b->conn;
	unsigned long flags;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			pr_info_ratelimited("dspm: rdma: receive from %pISpc failed: %s\n",
					    &conn->cm_id->route.addr.dst_addr,
					    ib_wc_status_msg(wc->status));
		dspm_rdma_fail_wc(conn, dspm_rdma_wc_errno(wc));
		return;
	}
	if (unlikely(wc->opcode != IB_WC_RECV || wc->byte_len == 0 ||
		     wc->byte_len > DSPM_RDMA_SEG ||
		     (wc->wc_flags & IB_WC_WITH_IMM))) {
		pr_info_ratelimited("dspm: rdma: protocol error from %pISpc (opcode %d, %u bytes)\n",
				    &conn->cm_id->route.addr.dst_addr,
				    wc->opcode, wc->byte_len);
		dspm_rdma_fail_wc(conn, -EPROTO);
		return;
	}
	ib_dma_sync_single_for_cpu(conn->cm_id->device, b->dma, DSPM_RDMA_SEG,
				   DMA_FROM_DEVICE);
	b->len = wc->byte_len;
	b->off = 0;
	spin_lock_irqsave(&conn->lock, flags);
	list_add_tail(&b->node, &conn->rx_ready);
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
}

/* A READ or REG_MR done: read() and expose() wait for rd_pending to drop. */
static void dspm_rdma_op_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct dspm_rdma_op *op = container_of(wc->wr_cqe, struct dspm_rdma_op,
					       cqe);
	struct dspm_conn *conn = op->conn;
	unsigned long flags;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		if (wc->status != IB_WC_WR_FLUSH_ERR)
			pr_info_ratelimited("dspm: rdma: %s with %pISpc failed: %s\n",
					    wc->opcode == IB_WC_REG_MR ?
					    "memory registration" : "read",
					    &conn->cm_id->route.addr.dst_addr,
					    ib_wc_status_msg(wc->status));
		dspm_rdma_fail_wc(conn, dspm_rdma_wc_errno(wc));
	}
	/* an unsignalled READ completes only when it fails (or is flushed) */
	if (!op->signaled)
		return;
	spin_lock_irqsave(&conn->lock, flags);
	conn->rd_pending--;
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
}

static int dspm_rdma_post_recv(struct dspm_conn *conn, struct dspm_rdma_buf *b)
{
	struct ib_sge sge = {
		.addr = b->dma,
		.length = DSPM_RDMA_SEG,
		.lkey = conn->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe = &b->cqe,
		.sg_list = &sge,
		.num_sge = 1,
	};

	ib_dma_sync_single_for_device(conn->cm_id->device, b->dma,
				      DSPM_RDMA_SEG, DMA_FROM_DEVICE);
	return ib_post_recv(conn->cm_id->qp, &wr, NULL);
}

static void dspm_rdma_qp_event(struct ib_event *ev, void *ctx)
{
	struct dspm_conn *conn = ctx;

	switch (ev->event) {
	case IB_EVENT_COMM_EST:
		/* data arrived before ESTABLISHED: let the CM catch up */
		rdma_notify(conn->cm_id, ev->event);
		break;
	case IB_EVENT_QP_FATAL:
	case IB_EVENT_QP_REQ_ERR:
	case IB_EVENT_QP_ACCESS_ERR:
		pr_info_ratelimited("dspm: rdma: QP error %s\n",
				    ib_event_msg(ev->event));
		dspm_rdma_fail_wc(conn, -ECONNRESET);
		break;
	default:
		break;
	}
}

static struct dspm_conn *dspm_rdma_conn_alloc(void)
{
	struct dspm_conn *conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	int i;

	if (!conn)
		return NULL;
	conn->kind = DSPM_RDMA_KIND_CONN;
	spin_lock_init(&conn->lock);
	init_waitqueue_head(&conn->wq);
	INIT_LIST_HEAD(&conn->rx_ready);
	INIT_LIST_HEAD(&conn->lnode);
	INIT_WORK(&conn->disconnect_work, dspm_rdma_disconnect_work);
	conn->state = DSPM_RDMA_IDLE;
	conn->tx_avail = DSPM_RDMA_SEND_DEPTH;
	for (i = 0; i < DSPM_RDMA_RECV_DEPTH; i++) {
		conn->rx[i].conn = conn;
		conn->rx[i].cqe.done = dspm_rdma_recv_done;
	}
	for (i = 0; i < DSPM_RDMA_SEND_DEPTH; i++) {
		conn->tx[i].conn = conn;
		conn->tx[i].cqe.done = dspm_rdma_send_done;
	}
	for (i = 0; i < DSPM_RDMA_READ_SEGS; i++) {
		conn->rd_op[i].conn = conn;
		conn->rd_op[i].cqe.done = dspm_rdma_op_done;
	}
	conn->reg_op.conn = conn;
	conn->reg_op.cqe.done = dspm_rdma_op_done;
	conn->reg_op.signaled = true;
	return conn;
}

static void dspm_rdma_buf_free(struct ib_device *dev, struct dspm_rdma_buf *b,
			       enum dma_data_direction dir)
{
	if (b->mapped)
		ib_dma_unmap_single(dev, b->dma, DSPM_RDMA_SEG, dir);
	b->mapped = false;
	kfree(b->data);
	b->data = NULL;
}

static int dspm_rdma_buf_alloc(struct ib_device *dev, struct dspm_rdma_buf *b,
			       enum dma_data_direction dir)
{
	b->data = kmalloc(DSPM_RDMA_SEG, GFP_KERNEL);
	if (!b->data)
		return -ENOMEM;
	b->dma = ib_dma_map_single(dev, b->data, DSPM_RDMA_SEG, dir);
	if (ib_dma_mapping_error(dev, b->dma)) {
		kfree(b->data);
		b->data = NULL;
		return -ENOMEM;
	}
	b->mapped = true;
	return 0;
}

static void dspm_rdma_unexpose(struct ib_device *dev,
			       struct dspm_rdma_exposed *e)
{
	if (e->mr)
		ib_dereg_mr(e->mr);
	e->mr = NULL;
	if (e->dma_nents > 0)
		ib_dma_unmap_sg(dev, e->sgt.sgl, e->sgt.orig_nents,
				DMA_TO_DEVICE);
	e->dma_nents = 0;
	sg_free_table(&e->sgt);
	memset(&e->sgt, 0, sizeof(e->sgt));
}

/*
 * Tear down what dspm_rdma_create_ib() set up.  No handler of ours runs
 * any more once the CQ is freed.
 */
static void dspm_rdma_destroy_ib(struct dspm_conn *conn)
{
	struct ib_device *dev = conn->cm_id ? conn->cm_id->device : NULL;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&conn->lock, flags);
	conn->closing = true;
	spin_unlock_irqrestore(&conn->lock, flags);
	cancel_work_sync(&conn->disconnect_work);
	if (conn->has_qp) {
		/* flush every posted work request through its handler */
		ib_drain_qp(conn->cm_id->qp);
		rdma_destroy_qp(conn->cm_id);
		conn->has_qp = false;
	}
	if (conn->cq) {
		ib_free_cq(conn->cq);
		conn->cq = NULL;
	}
	for (i = 0; i < DSPM_RDMA_RECV_DEPTH; i++)
		dspm_rdma_buf_free(dev, &conn->rx[i], DMA_FROM_DEVICE);
	for (i = 0; i < DSPM_RDMA_SEND_DEPTH; i++)
		dspm_rdma_buf_free(dev, &conn->tx[i], DMA_TO_DEVICE);
	if (conn->rd_mapped)
		ib_dma_unmap_single(dev, conn->rd_dma, DSPM_TRANSPORT_READ_MAX,
				    DMA_FROM_DEVICE);
	conn->rd_mapped = false;
	kfree(conn->rd_buf);
	conn->rd_buf = NULL;
	/* the QP is gone: no peer reads through these keys any more */
	for (i = 0; i < DSPM_TRANSPORT_REGIONS; i++)
		dspm_rdma_unexpose(dev, &conn->exposed[i]);
	conn->nr_exposed = 0;
	if (conn->pd) {
		ib_dealloc_pd(conn->pd);
		conn->pd = NULL;
	}
}

/* PD, CQ, QP and posted receive buffers on the resolved (or child) cm_id. */
static int dspm_rdma_create_ib(struct dspm_conn *conn)
{
	struct rdma_cm_id *id = conn->cm_id;
	struct ib_device *dev = id->device;
	struct ib_qp_init_attr attr = {};
	int i, ret;

	conn->pd = ib_alloc_pd(dev, 0);
	if (IS_ERR(conn->pd)) {
		ret = PTR_ERR(conn->pd);
		conn->pd = NULL;
		return ret;
	}
	conn->cq = ib_alloc_cq(dev, conn, DSPM_RDMA_CQ_DEPTH, 0,
			       IB_POLL_SOFTIRQ);
	if (IS_ERR(conn->cq)) {
		ret = PTR_ERR(conn->cq);
		conn->cq = NULL;
		goto out;
	}
	for (i = 0; i < DSPM_RDMA_RECV_DEPTH; i++) {
		ret = dspm_rdma_buf_alloc(dev, &conn->rx[i], DMA_FROM_DEVICE);
		if (ret)
			goto out;
	}
	for (i = 0; i < DSPM_RDMA_SEND_DEPTH; i++) {
		ret = dspm_rdma_buf_alloc(dev, &conn->tx[i], DMA_TO_DEVICE);
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	conn->rd_buf = kmalloc(DSPM_TRANSPORT_READ_MAX, GFP_KERNEL);
	if (!conn->rd_buf)
		goto out;
	conn->rd_dma = ib_dma_map_single(dev, conn->rd_buf,
					 DSPM_TRANSPORT_READ_MAX,
					 DMA_FROM_DEVICE);
	if (ib_dma_mapping_error(dev, conn->rd_dma))
		goto out;
	conn->rd_mapped = true;
	attr.event_handler = dspm_rdma_qp_event;
	attr.qp_context = conn;
	attr.send_cq = conn->cq;
	attr.recv_cq = conn->cq;
	attr.sq_sig_type = IB_SIGNAL_REQ_WR;
	attr.qp_type = IB_QPT_RC;
	attr.cap.max_send_wr = DSPM_RDMA_SQ_DEPTH + 1;
	attr.cap.max_recv_wr = DSPM_RDMA_RECV_DEPTH + 1;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	ret = rdma_create_qp(id, conn->pd, &attr);
	if (ret)
		goto out;
	conn->has_qp = true;
	ret = rdma_set_ack_timeout(id, DSPM_RDMA_ACK_TIMEOUT);
	if (ret)
		goto out;
	/* posted before connecting: the peer may send as soon as it can */
	for (i = 0; i < DSPM_RDMA_RECV_DEPTH; i++) {
		ret = dspm_rdma_post_recv(conn, &conn->rx[i]);
		if (ret)
			goto out;
	}
	return 0;
out:
	dspm_rdma_destroy_ib(conn);
	/* a later close() tears down again: let it */
	conn->closing = false;
	return ret;
}

/*
 * @offer: the requester's parameters when accepting (responder resources
 * may not exceed its initiator depth), NULL when connecting.
 */
static void dspm_rdma_conn_param(struct rdma_conn_param *p,
				 struct ib_device *dev,
				 const struct rdma_conn_param *offer)
{
	memset(p, 0, sizeof(*p));
	p->retry_count = DSPM_RDMA_RETRY;
	p->rnr_retry_count = DSPM_RDMA_RNR_RETRY;
	p->flow_control = 1;
	p->initiator_depth = min_t(u32, DSPM_RDMA_READ_DEPTH,
				   dev->attrs.max_qp_init_rd_atom);
	p->responder_resources = min_t(u32, DSPM_RDMA_READ_DEPTH,
				       dev->attrs.max_qp_rd_atom);
	if (offer) {
		p->initiator_depth = min(p->initiator_depth,
					 offer->responder_resources);
		p->responder_resources = min(p->responder_resources,
					     offer->initiator_depth);
	}
}

/* A connection the listener still owns failed: have the reaper close it. */
static void dspm_rdma_queued_failed(struct dspm_conn *conn)
{
	struct dspm_listener *l;

	mutex_lock(&dspm_rdma_listen_lock);
	l = conn->listener;
	if (l) {
		conn->dead = true;
		schedule_work(&l->reap_work);
	}
	mutex_unlock(&dspm_rdma_listen_lock);
}

static int dspm_rdma_conn_event(struct rdma_cm_id *id, struct dspm_conn *conn,
				struct rdma_cm_event *ev)
{
	unsigned long flags;
	int err = 0;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		spin_lock_irqsave(&conn->lock, flags);
		if (conn->state != DSPM_RDMA_FAILED)
			conn->state = ev->event == RDMA_CM_EVENT_ADDR_RESOLVED ?
				      DSPM_RDMA_ADDR_RESOLVED :
				      DSPM_RDMA_ROUTE_RESOLVED;
		spin_unlock_irqrestore(&conn->lock, flags);
		wake_up_all(&conn->wq);
		return 0;
	case RDMA_CM_EVENT_ESTABLISHED:
		spin_lock_irqsave(&conn->lock, flags);
		if (conn->state != DSPM_RDMA_FAILED)
			conn->state = DSPM_RDMA_CONNECTED;
		spin_unlock_irqrestore(&conn->lock, flags);
		wake_up_all(&conn->wq);
		mutex_lock(&dspm_rdma_listen_lock);
		if (conn->listener && !conn->dead) {
			list_move_tail(&conn->lnode, &conn->listener->ready);
			wake_up_all(&conn->listener->wq);
		}
		mutex_unlock(&dspm_rdma_listen_lock);
		return 0;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		err = ev->status == -ETIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
		break;
	case RDMA_CM_EVENT_REJECTED:
		err = rdma_ib_or_roce(id->device, id->port_num) &&
		      ev->status == IB_CM_REJ_STALE_CONN ? -ESTALE : -ECONNREFUSED;
		break;
	case RDMA_CM_EVENT_CONNECT_ERROR:
		err = -ECONNREFUSED;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		err = -ECONNRESET;
		break;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		pr_info("dspm: rdma: device %s removed under a connection\n",
			dev_name(&id->device->dev));
		err = -ECONNRESET;
		break;
	default:
		return 0;
	}
	if (ev->event != RDMA_CM_EVENT_DISCONNECTED)
		pr_debug("dspm: rdma: %s (%d) on %pISpc\n",
			 rdma_event_msg(ev->event), ev->status,
			 &id->route.addr.dst_addr);
	dspm_rdma_fail(conn, err);
	dspm_rdma_queued_failed(conn);
	return 0;
}

static int dspm_rdma_listener_event(struct rdma_cm_id *id,
				    struct dspm_listener *l,
				    struct rdma_cm_event *ev);

static int dspm_rdma_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	enum dspm_rdma_kind *kind = id->context;

	/* a CONNECT_REQUEST's new id carries the listener's context */
	if (*kind == DSPM_RDMA_KIND_LISTENER)
		return dspm_rdma_listener_event(id, id->context, ev);
	return dspm_rdma_conn_event(id, id->context, ev);
}

/* Wait until @conn leaves state @from, for at most until @deadline. */
static int dspm_rdma_wait_state(struct dspm_conn *conn,
				enum dspm_rdma_state from,
				enum dspm_rdma_state want,
				unsigned long deadline, bool forever)
{
	long left = forever ? MAX_SCHEDULE_TIMEOUT :
			      max_t(long, (long)(deadline - jiffies), 1);
	long ret;

	ret = wait_event_interruptible_timeout(conn->wq,
					       READ_ONCE(conn->state) != from,
					       left);
	if (ret < 0)
		return ret;
	if (READ_ONCE(conn->state) == want)
		return 0;
	if (READ_ONCE(conn->state) == DSPM_RDMA_FAILED)
		return READ_ONCE(conn->err);
	return -ETIMEDOUT;
}

static void dspm_rdma_conn_free(struct dspm_conn *conn)
{
	dspm_rdma_destroy_ib(conn);
	if (conn->cm_id)
		rdma_destroy_id(conn->cm_id);
	kfree(conn);
}

static int dspm_rdma_connect_once(const struct sockaddr_storage *addr,
				  unsigned int timeout_ms,
				  unsigned long deadline,
				  struct dspm_conn **out)
{
	unsigned int resolve_ms = timeout_ms ? timeout_ms : DSPM_RDMA_RESOLVE_MS;
	bool forever = !timeout_ms;
	struct rdma_conn_param param;
	struct dspm_conn *conn;
	int ret;

	conn = dspm_rdma_conn_alloc();
	if (!conn)
		return -ENOMEM;
	conn->send_timeout_ms = timeout_ms;
	conn->recv_timeout_ms = timeout_ms;
	conn->cm_id = rdma_create_id(&init_net, dspm_rdma_cm_handler, conn,
				     RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(conn->cm_id)) {
		ret = PTR_ERR(conn->cm_id);
		conn->cm_id = NULL;
		goto free;
	}
	ret = rdma_resolve_addr(conn->cm_id, NULL, (struct sockaddr *)addr,
				resolve_ms);
	if (!ret)
		ret = dspm_rdma_wait_state(conn, DSPM_RDMA_IDLE,
					   DSPM_RDMA_ADDR_RESOLVED, deadline,
					   forever);
	if (ret)
		goto free;
	ret = rdma_resolve_route(conn->cm_id, resolve_ms);
	if (!ret)
		ret = dspm_rdma_wait_state(conn, DSPM_RDMA_ADDR_RESOLVED,
					   DSPM_RDMA_ROUTE_RESOLVED, deadline,
					   forever);
	if (ret)
		goto free;
	ret = dspm_rdma_create_ib(conn);
	if (ret)
		goto free;
	dspm_rdma_conn_param(&param, conn->cm_id->device, NULL);
	ret = rdma_connect(conn->cm_id, &param);
	if (!ret)
		ret = dspm_rdma_wait_state(conn, DSPM_RDMA_ROUTE_RESOLVED,
					   DSPM_RDMA_CONNECTED, deadline,
					   forever);
	if (ret)
		goto free;
	*out = conn;
	return 0;
free:
	pr_debug("dspm: rdma: connect to %pISpc failed in state %d: %d\n",
		 addr, READ_ONCE(conn->state), ret);
	dspm_rdma_conn_free(conn);
	return ret == -ERESTARTSYS ? -EINTR : ret;
}

static int dspm_rdma_connect(const struct sockaddr_storage *addr,
			     unsigned int timeout_ms, struct dspm_conn **out)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned long pause = msecs_to_jiffies(DSPM_RDMA_STALE_PAUSE_MS);
	int attempt, ret;

	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	for (attempt = 0;; attempt++) {
		ret = dspm_rdma_connect_once(addr, timeout_ms, deadline, out);
		if (ret != -ESTALE)
			return ret;
		/* the peer dropped the stale connection as it refused ours */
		if (attempt == DSPM_RDMA_STALE_RETRIES ||
		    (timeout_ms && time_after(jiffies + pause, deadline)))
			return -ECONNREFUSED;
		pr_info("dspm: rdma: %pISpc refused a stale connection; connecting again\n",
			addr);
		if (msleep_interruptible(DSPM_RDMA_STALE_PAUSE_MS))
			return -EINTR;
	}
}

/* The stream has failed or been shut down: the error for send/recv. */
static int dspm_rdma_stream_err(struct dspm_conn *conn)
{
	if (READ_ONCE(conn->shut))
		return -ECONNRESET;
	return READ_ONCE(conn->err);
}

static bool dspm_rdma_can_send(struct dspm_conn *conn)
{
	return READ_ONCE(conn->tx_avail) || dspm_rdma_stream_err(conn);
}

static bool dspm_rdma_can_recv(struct dspm_conn *conn)
{
	return !list_empty_careful(&conn->rx_ready) ||
	       dspm_rdma_stream_err(conn);
}

static int dspm_rdma_send(struct dspm_conn *conn, const void *buf, size_t len)
{
	long left = dspm_rdma_timeo(conn->send_timeout_ms);
	unsigned long flags;
	int ret;

	while (len) {
		struct dspm_rdma_buf *b = &conn->tx[conn->tx_next];
		size_t n = min_t(size_t, len, DSPM_RDMA_SEG);
		struct ib_sge sge;
		struct ib_send_wr wr = {};

		left = wait_event_interruptible_timeout(conn->wq,
							dspm_rdma_can_send(conn),
							left);
		if (left < 0)
			return -EINTR;
		ret = dspm_rdma_stream_err(conn);
		if (ret)
			return ret;
		if (!left)
			return -ETIMEDOUT;

		memcpy(b->data, buf, n);
		ib_dma_sync_single_for_device(conn->cm_id->device, b->dma, n,
					      DMA_TO_DEVICE);
		sge.addr = b->dma;
		sge.length = n;
		sge.lkey = conn->pd->local_dma_lkey;
		wr.wr_cqe = &b->cqe;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.opcode = IB_WR_SEND;
		wr.send_flags = IB_SEND_SIGNALED;

		spin_lock_irqsave(&conn->lock, flags);
		conn->tx_avail--;
		spin_unlock_irqrestore(&conn->lock, flags);
		ret = ib_post_send(conn->cm_id->qp, &wr, NULL);
		if (ret) {
			spin_lock_irqsave(&conn->lock, flags);
			conn->tx_avail++;
			spin_unlock_irqrestore(&conn->lock, flags);
			dspm_rdma_fail_wc(conn, -ECONNRESET);
			return dspm_rdma_stream_err(conn);
		}
		conn->tx_next = (conn->tx_next + 1) % DSPM_RDMA_SEND_DEPTH;
		buf += n;
		len -= n;
	}
	return 0;
}

static struct dspm_rdma_buf *dspm_rdma_rx_head(struct dspm_conn *conn)
{
	struct dspm_rdma_buf *b;
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	b = list_first_entry_or_null(&conn->rx_ready, struct dspm_rdma_buf,
				     node);
	spin_unlock_irqrestore(&conn->lock, flags);
	return b;
}

static int dspm_rdma_recv(struct dspm_conn *conn, void *buf, size_t len)
{
	long left = dspm_rdma_timeo(READ_ONCE(conn->recv_timeout_ms));
	unsigned long flags;
	int ret;

	while (len) {
		struct dspm_rdma_buf *b;
		size_t n;

		if (READ_ONCE(conn->shut))
			return -ECONNRESET;
		b = dspm_rdma_rx_head(conn);
		if (!b) {
			/* data received before a failure is still delivered */
			ret = READ_ONCE(conn->err);
			if (ret)
				return ret;
			left = wait_event_interruptible_timeout(conn->wq,
								dspm_rdma_can_recv(conn),
								left);
			if (left < 0)
				return -EINTR;
			if (!left && list_empty_careful(&conn->rx_ready))
				return -ETIMEDOUT;
			continue;
		}
		n = min_t(size_t, len, b->len - b->off);
		memcpy(buf, b->data + b->off, n);
		b->off += n;
		buf += n;
		len -= n;
		if (b->off < b->len)
			continue;
		spin_lock_irqsave(&conn->lock, flags);
		list_del_init(&b->node);
		spin_unlock_irqrestore(&conn->lock, flags);
		if (READ_ONCE(conn->err))
			continue;	/* the QP is dead: keep the rest */
		ret = dspm_rdma_post_recv(conn, b);
		if (ret) {
			dspm_rdma_fail_wc(conn, -ECONNRESET);
			return ret;
		}
	}
	return 0;
}

static void dspm_rdma_set_recv_timeout(struct dspm_conn *conn,
				       unsigned int ms)
{
	WRITE_ONCE(conn->recv_timeout_ms, ms);
}

static int dspm_rdma_local_addr(struct dspm_conn *conn,
				struct sockaddr_storage *out)
{
	memcpy(out, &conn->cm_id->route.addr.src_addr, sizeof(*out));
	return 0;
}

static int dspm_rdma_peer_addr(struct dspm_conn *conn,
			       struct sockaddr_storage *out)
{
	memcpy(out, &conn->cm_id->route.addr.dst_addr, sizeof(*out));
	return 0;
}

static void dspm_rdma_shutdown(struct dspm_conn *conn)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	conn->shut = true;
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
	/* tell the peer now, as a TCP shutdown sends its FIN */
	rdma_disconnect(conn->cm_id);
}

static void dspm_rdma_close(struct dspm_conn *conn)
{
	rdma_disconnect(conn->cm_id);
	dspm_rdma_conn_free(conn);
}

/*
 * A CONNECT_REQUEST on a listener: give the new cm_id its connection and
 * QP and accept.  Returning non-zero makes the rdma_cm reject the request
 * and destroy the new id, so nothing of ours may refer to it then.
 */
static int dspm_rdma_conn_request(struct rdma_cm_id *id,
				  struct dspm_listener *l,
				  const struct rdma_conn_param *offer)
{
	struct rdma_conn_param param;
	struct dspm_conn *conn;
	int ret;

	mutex_lock(&dspm_rdma_listen_lock);
	ret = l->shut ? -ECONNREFUSED :
	      l->queued >= DSPM_RDMA_BACKLOG ? -ENOBUFS : 0;
	mutex_unlock(&dspm_rdma_listen_lock);
	if (ret)
		return ret;
	conn = dspm_rdma_conn_alloc();
	if (!conn)
		return -ENOMEM;
	conn->cm_id = id;
	ret = dspm_rdma_create_ib(conn);
	if (ret)
		goto free;
	id->context = conn;

	mutex_lock(&dspm_rdma_listen_lock);
	conn->listener = l;
	list_add_tail(&conn->lnode, &l->pending);
	l->queued++;
	mutex_unlock(&dspm_rdma_listen_lock);

	dspm_rdma_conn_param(&param, id->device, offer);
	ret = rdma_accept(id, &param);
	if (!ret)
		return 0;
	mutex_lock(&dspm_rdma_listen_lock);
	list_del_init(&conn->lnode);
	l->queued--;
	conn->listener = NULL;
	mutex_unlock(&dspm_rdma_listen_lock);
	id->context = l;
free:
	dspm_rdma_destroy_ib(conn);
	kfree(conn);
	return ret;
}

static int dspm_rdma_listener_event(struct rdma_cm_id *id,
				    struct dspm_listener *l,
				    struct rdma_cm_event *ev)
{
	switch (ev->event) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		return dspm_rdma_conn_request(id, l, &ev->param.conn);
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		/* only a listener bound to one device's address gets this */
		pr_info("dspm: rdma: device removed under a listener\n");
		mutex_lock(&dspm_rdma_listen_lock);
		l->shut = true;
		mutex_unlock(&dspm_rdma_listen_lock);
		wake_up_all(&l->wq);
		return 0;
	default:
		return 0;
	}
}

/* Close the connections that failed before accept() took them. */
static void dspm_rdma_reap(struct work_struct *work)
{
	struct dspm_listener *l = container_of(work, struct dspm_listener,
					       reap_work);
	struct dspm_conn *conn, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&dspm_rdma_listen_lock);
	list_for_each_entry_safe(conn, tmp, &l->pending, lnode)
		if (conn->dead)
			list_move_tail(&conn->lnode, &dead);
	list_for_each_entry_safe(conn, tmp, &l->ready, lnode)
		if (conn->dead)
			list_move_tail(&conn->lnode, &dead);
	list_for_each_entry(conn, &dead, lnode) {
		conn->listener = NULL;
		l->queued--;
	}
	mutex_unlock(&dspm_rdma_listen_lock);
	list_for_each_entry_safe(conn, tmp, &dead, lnode)
		dspm_rdma_close(conn);
}

static int dspm_rdma_listen(const struct sockaddr_storage *addr,
			    struct dspm_listener **out)
{
	struct dspm_listener *l;
	int ret;

	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->kind = DSPM_RDMA_KIND_LISTENER;
	init_waitqueue_head(&l->wq);
	INIT_LIST_HEAD(&l->pending);
	INIT_LIST_HEAD(&l->ready);
	INIT_WORK(&l->reap_work, dspm_rdma_reap);
	l->cm_id = rdma_create_id(&init_net, dspm_rdma_cm_handler, l,
				  RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(l->cm_id)) {
		ret = PTR_ERR(l->cm_id);
		goto free;
	}
	/* a restarted node takes its port back while old ids linger */
	ret = rdma_set_reuseaddr(l->cm_id, 1);
	if (!ret)
		ret = rdma_bind_addr(l->cm_id, (struct sockaddr *)addr);
	if (!ret)
		ret = rdma_listen(l->cm_id, DSPM_RDMA_BACKLOG);
	if (ret)
		goto destroy;
	*out = l;
	return 0;
destroy:
	rdma_destroy_id(l->cm_id);
free:
	kfree(l);
	return ret;
}

static int dspm_rdma_accept(struct dspm_listener *l, struct dspm_conn **out)
{
	struct dspm_conn *conn;
	int ret;

	for (;;) {
		ret = wait_event_interruptible(l->wq,
					       !list_empty_careful(&l->ready) ||
					       READ_ONCE(l->shut));
		if (ret)
			return -EINTR;
		mutex_lock(&dspm_rdma_listen_lock);
		if (l->shut) {
			mutex_unlock(&dspm_rdma_listen_lock);
			return -ESHUTDOWN;
		}
		conn = list_first_entry_or_null(&l->ready, struct dspm_conn,
						lnode);
		if (conn) {
			list_del_init(&conn->lnode);
			l->queued--;
			conn->listener = NULL;
		}
		mutex_unlock(&dspm_rdma_listen_lock);
		if (!conn)
			continue;
		if (READ_ONCE(conn->err)) {
			dspm_rdma_close(conn);
			continue;
		}
		*out = conn;
		return 0;
	}
}

static void dspm_rdma_listener_shutdown(struct dspm_listener *l)
{
	mutex_lock(&dspm_rdma_listen_lock);
	l->shut = true;
	mutex_unlock(&dspm_rdma_listen_lock);
	wake_up_all(&l->wq);
}

static void dspm_rdma_listener_close(struct dspm_listener *l)
{
	struct dspm_conn *conn, *tmp;
	LIST_HEAD(queued);

	dspm_rdma_listener_shutdown(l);
	/* no CONNECT_REQUEST handler runs or starts after this */
	rdma_destroy_id(l->cm_id);
	mutex_lock(&dspm_rdma_listen_lock);
	list_splice_tail_init(&l->pending, &queued);
	list_splice_tail_init(&l->ready, &queued);
	list_for_each_entry(conn, &queued, lnode)
		conn->listener = NULL;
	l->queued = 0;
	mutex_unlock(&dspm_rdma_listen_lock);
	/* nothing schedules the reaper any more; wait for a running one */
	cancel_work_sync(&l->reap_work);
	list_for_each_entry_safe(conn, tmp, &queued, lnode)
		dspm_rdma_close(conn);
	kfree(l);
}

static bool dspm_rdma_ops_done(struct dspm_conn *conn)
{
	return !READ_ONCE(conn->rd_pending) || READ_ONCE(conn->err);
}

/*
 * Wait for the posted READs or REG_MR.  After a failure or the timeout
 * the connection is failed: work requests may still be in flight, and
 * only close() (which drains the QP) may reuse what they point at.
 */
static int dspm_rdma_ops_wait(struct dspm_conn *conn)
{
	long left = dspm_rdma_timeo(conn->send_timeout_ms);

	if (!wait_event_timeout(conn->wq, dspm_rdma_ops_done(conn), left))
		dspm_rdma_fail_wc(conn, -ETIMEDOUT);
	return READ_ONCE(conn->err);
}

/*
 * Post work requests chained from @wr, @nr of them signalled and counted
 * in rd_pending; on a failed post the connection fails (whatever was
 * posted is flushed).
 */
static int dspm_rdma_post_ops(struct dspm_conn *conn, struct ib_send_wr *wr,
			      unsigned int nr)
{
	unsigned long flags;
	int ret;

	ret = dspm_rdma_stream_err(conn);
	if (ret)
		return ret;
	spin_lock_irqsave(&conn->lock, flags);
	conn->rd_pending += nr;
	spin_unlock_irqrestore(&conn->lock, flags);
	ret = ib_post_send(conn->cm_id->qp, wr, NULL);
	if (ret) {
		/* a failed post_send posted nothing from the bad one on */
		dspm_rdma_fail_wc(conn, -ECONNRESET);
		return ret;
	}
	return dspm_rdma_ops_wait(conn);
}

static int dspm_rdma_read(struct dspm_conn *conn,
			  const struct dspm_read_seg *seg, unsigned int nr,
			  void *buf)
{
	struct ib_rdma_wr wr[DSPM_RDMA_READ_SEGS] = {};
	struct ib_sge sge[DSPM_RDMA_READ_SEGS];
	struct ib_device *dev = conn->cm_id->device;
	u32 total = 0, i;
	int ret;

	if (!nr || nr > DSPM_RDMA_READ_SEGS)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (!seg[i].len || seg[i].len > DSPM_TRANSPORT_READ_MAX - total)
			return -EINVAL;
		sge[i].addr = conn->rd_dma + total;
		sge[i].length = seg[i].len;
		sge[i].lkey = conn->pd->local_dma_lkey;
		wr[i].wr.wr_cqe = &conn->rd_op[i].cqe;
		wr[i].wr.sg_list = &sge[i];
		wr[i].wr.num_sge = 1;
		wr[i].wr.opcode = IB_WR_RDMA_READ;
		/*
		 * Only the last completes: an RC send queue completes in order,
		 * so it completing means all did, and one wakeup is cheaper
		 * than several.  A failed READ completes anyway (with an
		 * error) and fails the connection.
		 */
		conn->rd_op[i].signaled = i + 1 == nr;
		wr[i].wr.send_flags = i + 1 == nr ? IB_SEND_SIGNALED : 0;
		wr[i].wr.next = i + 1 < nr ? &wr[i + 1].wr : NULL;
		wr[i].remote_addr = seg[i].addr;
		wr[i].rkey = seg[i].rkey;
		total += seg[i].len;
	}
	ib_dma_sync_single_for_device(dev, conn->rd_dma, total,
				      DMA_FROM_DEVICE);
	ret = dspm_rdma_post_ops(conn, &wr[0].wr, 1);
	if (ret)
		return ret;
	ib_dma_sync_single_for_cpu(dev, conn->rd_dma, total, DMA_FROM_DEVICE);
	memcpy(buf, conn->rd_buf, total);
	return 0;
}

/*
 * The smallest page size the device takes (at least PAGE_SIZE) that covers
 * @len bytes from DMA address @dma in at most @max pages, and how many
 * pages that is (*@pages); 0 if there is none.
 */
static u64 dspm_rdma_reg_page_size(struct ib_device *dev, u64 dma, u64 len,
				   u32 max, u32 *pages)
{
	unsigned int shift;

	for (shift = PAGE_SHIFT; shift < 32; shift++) {
		u64 ps = 1ULL << shift, n;

		if (!(dev->attrs.page_size_cap & ps))
			continue;
		n = (ALIGN(dma + len, ps) - ALIGN_DOWN(dma, ps)) >> shift;
		if (n <= max) {
			*pages = n;
			return ps;
		}
	}
	return 0;
}

/* Register @r for remote reads on @conn's PD and QP into @e. */
static int dspm_rdma_expose_one(struct dspm_conn *conn,
				const struct dspm_region *r,
				struct dspm_rdma_exposed *e,
				struct dspm_region_key *key)
{
	struct ib_device *dev = conn->cm_id->device;
	u32 max = min(dev->attrs.max_fast_reg_page_list_len,
		      DSPM_RDMA_REG_PAGES);
	struct ib_reg_wr wr = {};
	struct scatterlist *sg;
	unsigned int nents, i;
	u64 left, ps;
	u32 pages;
	void *p;
	int ret;

	if (!r->len || !virt_addr_valid(r->addr) ||
	    !virt_addr_valid(r->addr + r->len - 1))
		return -EOPNOTSUPP;
	nents = DIV_ROUND_UP_ULL(r->len + offset_in_page(r->addr),
				 DSPM_RDMA_REG_CHUNK);
	ret = sg_alloc_table(&e->sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	p = r->addr;
	left = r->len;
	for_each_sg(e->sgt.sgl, sg, nents, i) {
		u32 n = min_t(u64, left, DSPM_RDMA_REG_CHUNK -
			      offset_in_page(p));

		sg_set_page(sg, virt_to_page(p), n, offset_in_page(p));
		p += n;
		left -= n;
	}
	e->dma_nents = ib_dma_map_sg(dev, e->sgt.sgl, nents, DMA_TO_DEVICE);
	if (e->dma_nents <= 0) {
		e->dma_nents = 0;
		return -ENOMEM;
	}
	ps = dspm_rdma_reg_page_size(dev, sg_dma_address(e->sgt.sgl), r->len,
				     max, &pages);
	if (!ps)
		return -EOPNOTSUPP;
	e->mr = ib_alloc_mr(conn->pd, IB_MR_TYPE_MEM_REG, pages);
	if (IS_ERR(e->mr)) {
		ret = PTR_ERR(e->mr);
		e->mr = NULL;
		return ret;
	}
	/* fewer entries mapped: the DMA addresses are not contiguous */
	ret = ib_map_mr_sg(e->mr, e->sgt.sgl, e->dma_nents, NULL, ps);
	if (ret != e->dma_nents)
		return ret < 0 ? ret : -EOPNOTSUPP;
	if (e->mr->length != r->len)
		return -EOPNOTSUPP;
	/*
	 * The peer addresses the region from (almost) 0: the iova keeps only
	 * the offset into the first page, which is all the MR's page list
	 * needs, so no kernel address goes on the wire.
	 */
	e->mr->iova &= ps - 1;
	wr.wr.wr_cqe = &conn->reg_op.cqe;
	wr.wr.opcode = IB_WR_REG_MR;
	wr.wr.send_flags = IB_SEND_SIGNALED;
	wr.mr = e->mr;
	wr.key = e->mr->rkey;
	wr.access = IB_ACCESS_REMOTE_READ;
	ret = dspm_rdma_post_ops(conn, &wr.wr, 1);
	if (ret)
		return ret;
	e->region = *r;
	key->addr = e->mr->iova;
	key->rkey = e->mr->rkey;
	return 0;
}

static int dspm_rdma_expose(struct dspm_conn *conn,
			    const struct dspm_region *r, unsigned int nr,
			    struct dspm_region_key *keys)
{
	struct ib_device *dev = conn->cm_id->device;
	unsigned int i;
	int ret = 0;

	if (!nr || nr > DSPM_TRANSPORT_REGIONS)
		return -EINVAL;
	if (conn->nr_exposed) {
		if (conn->nr_exposed != nr)
			return -EBUSY;
		for (i = 0; i < nr; i++)
			if (conn->exposed[i].region.addr != r[i].addr ||
			    conn->exposed[i].region.len != r[i].len)
				return -EBUSY;
		memcpy(keys, conn->keys, nr * sizeof(*keys));
		return 0;
	}
	if (!(dev->attrs.device_cap_flags & IB_DEVICE_MEM_MGT_EXTENSIONS))
		return -EOPNOTSUPP;
	for (i = 0; i < nr && !ret; i++)
		ret = dspm_rdma_expose_one(conn, &r[i], &conn->exposed[i],
					   &conn->keys[i]);
	if (ret) {
		/* a REG_MR may still be in flight on a failed QP: close() frees */
		if (!READ_ONCE(conn->err))
			for (i = 0; i < nr; i++)
				dspm_rdma_unexpose(dev, &conn->exposed[i]);
		return ret;
	}
	conn->nr_exposed = nr;
	memcpy(keys, conn->keys, nr * sizeof(*keys));
	return 0;
}

const struct dspm_transport_ops dspm_rdma_transport = {
	.name = "rdma",
	.connect = dspm_rdma_connect,
	.send = dspm_rdma_send,
	.recv = dspm_rdma_recv,
	.set_recv_timeout = dspm_rdma_set_recv_timeout,
	.local_addr = dspm_rdma_local_addr,
	.peer_addr = dspm_rdma_peer_addr,
	.shutdown = dspm_rdma_shutdown,
	.close = dspm_rdma_close,
	.expose = dspm_rdma_expose,
	.read = dspm_rdma_read,
	.listen = dspm_rdma_listen,
	.accept = dspm_rdma_accept,
	.listener_shutdown = dspm_rdma_listener_shutdown,
	.listener_close = dspm_rdma_listener_close,
};
