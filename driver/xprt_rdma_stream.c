// SPDX-License-Identifier: GPL-2.0
/*
 * The byte stream over SENDs, and the backend's ops table.
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

/* The stream has failed or been shut down: the error for send/recv. */
int dspm_rdma_stream_err(struct dspm_rdma_conn *conn)
{
	if (READ_ONCE(conn->shut))
		return -ECONNRESET;
	return READ_ONCE(conn->err);
}

static bool dspm_rdma_can_send(struct dspm_rdma_conn *conn)
{
	return READ_ONCE(conn->tx_avail) || dspm_rdma_stream_err(conn);
}

static bool dspm_rdma_can_recv(struct dspm_rdma_conn *conn)
{
	return !list_empty_careful(&conn->rx_ready) ||
	       dspm_rdma_stream_err(conn);
}

static int dspm_rdma_send(struct dspm_conn *c, const void *buf, size_t len)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);
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

static struct dspm_rdma_buf *dspm_rdma_rx_head(struct dspm_rdma_conn *conn)
{
	struct dspm_rdma_buf *b;
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	b = list_first_entry_or_null(&conn->rx_ready, struct dspm_rdma_buf,
				     node);
	spin_unlock_irqrestore(&conn->lock, flags);
	return b;
}

static int dspm_rdma_recv(struct dspm_conn *c, void *buf, size_t len)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);
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

static void dspm_rdma_set_recv_timeout(struct dspm_conn *c,
				       unsigned int ms)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);

	WRITE_ONCE(conn->recv_timeout_ms, ms);
}

static int dspm_rdma_local_addr(struct dspm_conn *c,
				struct sockaddr_storage *out)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);

	memcpy(out, &conn->cm_id->route.addr.src_addr, sizeof(*out));
	return 0;
}

static int dspm_rdma_peer_addr(struct dspm_conn *c,
			       struct sockaddr_storage *out)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);

	memcpy(out, &conn->cm_id->route.addr.dst_addr, sizeof(*out));
	return 0;
}

static void dspm_rdma_shutdown(struct dspm_conn *c)
{
	struct dspm_rdma_conn *conn = dspm_rdma_conn_of(c);
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	conn->shut = true;
	spin_unlock_irqrestore(&conn->lock, flags);
	wake_up_all(&conn->wq);
	/* tell the peer now, as a TCP shutdown sends its FIN */
	rdma_disconnect(conn->cm_id);
}

void dspm_rdma_conn_close(struct dspm_rdma_conn *conn)
{
	rdma_disconnect(conn->cm_id);
	dspm_rdma_conn_free(conn);
}

static void dspm_rdma_close(struct dspm_conn *c)
{
	dspm_rdma_conn_close(dspm_rdma_conn_of(c));
}

static int dspm_rdma_listen_op(const struct sockaddr_storage *addr,
			       struct dspm_listener **out)
{
	struct dspm_rdma_listener *l;
	int ret = dspm_rdma_listen(addr, &l);

	if (!ret)
		*out = &l->base;
	return ret;
}

static int dspm_rdma_accept_op(struct dspm_listener *l,
			       struct dspm_conn **out)
{
	struct dspm_rdma_conn *conn;
	int ret = dspm_rdma_accept(dspm_rdma_listener_of(l), &conn);

	if (!ret)
		*out = &conn->base;
	return ret;
}

static void dspm_rdma_listener_shutdown(struct dspm_listener *l)
{
	dspm_rdma_listener_shut(dspm_rdma_listener_of(l));
}

static void dspm_rdma_listener_close_op(struct dspm_listener *l)
{
	dspm_rdma_listener_close(dspm_rdma_listener_of(l));
}

static int dspm_rdma_connect_op(const struct sockaddr_storage *addr,
				unsigned int timeout_ms, struct dspm_conn **out)
{
	struct dspm_rdma_conn *conn;
	int ret = dspm_rdma_connect(addr, timeout_ms, &conn);

	if (!ret)
		*out = &conn->base;
	return ret;
}

const struct dspm_transport_ops dspm_rdma_transport = {
	.name = "rdma",
	.connect = dspm_rdma_connect_op,
	.send = dspm_rdma_send,
	.recv = dspm_rdma_recv,
	.set_recv_timeout = dspm_rdma_set_recv_timeout,
	.local_addr = dspm_rdma_local_addr,
	.peer_addr = dspm_rdma_peer_addr,
	.shutdown = dspm_rdma_shutdown,
	.close = dspm_rdma_close,
	.expose = dspm_rdma_expose,
	.read = dspm_rdma_read,
	.listen = dspm_rdma_listen_op,
	.accept = dspm_rdma_accept_op,
	.listener_shutdown = dspm_rdma_listener_shutdown,
	.listener_close = dspm_rdma_listener_close_op,
};
