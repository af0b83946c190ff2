// SPDX-License-Identifier: GPL-2.0
/*
 * An RDMA connection's verbs objects (PD, CQ, QP, buffers) and its
 * completion handlers, which only move buffers and wake waiters.
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

#include "xprt_rdma.h"

struct dspm_rdma_conn *dspm_rdma_conn_of(struct dspm_conn *c)
{
	return container_of(c, struct dspm_rdma_conn, base);
}

struct dspm_rdma_listener *dspm_rdma_listener_of(struct dspm_listener *l)
{
	return container_of(l, struct dspm_rdma_listener, base);
}

long dspm_rdma_timeo(unsigned int ms)
{
	return ms ? msecs_to_jiffies(ms) : MAX_SCHEDULE_TIMEOUT;
}

/* Record the first failure of @conn and wake everyone waiting on it. */
void dspm_rdma_fail(struct dspm_rdma_conn *conn, int err)
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
void dspm_rdma_fail_wc(struct dspm_rdma_conn *conn, int err)
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
	struct dspm_rdma_conn *conn = container_of(work, struct dspm_rdma_conn,
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
	struct dspm_rdma_conn *conn = b->conn;
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
	struct dspm_rdma_conn *conn = b->conn;
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
	struct dspm_rdma_conn *conn = op->conn;
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

int dspm_rdma_post_recv(struct dspm_rdma_conn *conn, struct dspm_rdma_buf *b)
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
	struct dspm_rdma_conn *conn = ctx;

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

struct dspm_rdma_conn *dspm_rdma_conn_alloc(void)
{
	struct dspm_rdma_conn *conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	int i;

	if (!conn)
		return NULL;
	conn->kind = DSPM_RDMA_KIND_CONN;
	conn->base.ops = &dspm_rdma_transport;
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

void dspm_rdma_unexpose(struct ib_device *dev,
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
void dspm_rdma_destroy_ib(struct dspm_rdma_conn *conn)
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
int dspm_rdma_create_ib(struct dspm_rdma_conn *conn)
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

void dspm_rdma_conn_free(struct dspm_rdma_conn *conn)
{
	dspm_rdma_destroy_ib(conn);
	if (conn->cm_id)
		rdma_destroy_id(conn->cm_id);
	kfree(conn);
}
