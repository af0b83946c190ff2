// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_cm events, connecting, listening and accepting.
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

/* every listener's queues and conn->listener (locking.md) */
DEFINE_MUTEX(dspm_rdma_listen_lock);

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
static void dspm_rdma_queued_failed(struct dspm_rdma_conn *conn)
{
	struct dspm_rdma_listener *l;

	mutex_lock(&dspm_rdma_listen_lock);
	l = conn->listener;
	if (l) {
		conn->dead = true;
		schedule_work(&l->reap_work);
	}
	mutex_unlock(&dspm_rdma_listen_lock);
}

static int dspm_rdma_conn_event(struct rdma_cm_id *id, struct dspm_rdma_conn *conn,
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
				    struct dspm_rdma_listener *l,
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
static int dspm_rdma_wait_state(struct dspm_rdma_conn *conn,
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

static int dspm_rdma_connect_once(const struct sockaddr_storage *addr,
				  unsigned int timeout_ms,
				  unsigned long deadline,
				  struct dspm_rdma_conn **out)
{
	unsigned int resolve_ms = timeout_ms ? timeout_ms : DSPM_RDMA_RESOLVE_MS;
	bool forever = !timeout_ms;
	struct rdma_conn_param param;
	struct dspm_rdma_conn *conn;
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

int dspm_rdma_connect(const struct sockaddr_storage *addr,
		      unsigned int timeout_ms, struct dspm_rdma_conn **out)
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

/*
 * A CONNECT_REQUEST on a listener: give the new cm_id its connection and
 * QP and accept.  Returning non-zero makes the rdma_cm reject the request
 * and destroy the new id, so nothing of ours may refer to it then.
 */
static int dspm_rdma_conn_request(struct rdma_cm_id *id,
				  struct dspm_rdma_listener *l,
				  const struct rdma_conn_param *offer)
{
	struct rdma_conn_param param;
	struct dspm_rdma_conn *conn;
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
				    struct dspm_rdma_listener *l,
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
	struct dspm_rdma_listener *l = container_of(work, struct dspm_rdma_listener,
					       reap_work);
	struct dspm_rdma_conn *conn, *tmp;
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
		dspm_rdma_conn_close(conn);
}

int dspm_rdma_listen(const struct sockaddr_storage *addr,
		     struct dspm_rdma_listener **out)
{
	struct dspm_rdma_listener *l;
	int ret;

	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	l->kind = DSPM_RDMA_KIND_LISTENER;
	l->base.ops = &dspm_rdma_transport;
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

int dspm_rdma_accept(struct dspm_rdma_listener *l, struct dspm_rdma_conn **out)
{
	struct dspm_rdma_conn *conn;
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
		conn = list_first_entry_or_null(&l->ready, struct dspm_rdma_conn,
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
			dspm_rdma_conn_close(conn);
			continue;
		}
		*out = conn;
		return 0;
	}
}

void dspm_rdma_listener_shut(struct dspm_rdma_listener *l)
{
	mutex_lock(&dspm_rdma_listen_lock);
	l->shut = true;
	mutex_unlock(&dspm_rdma_listen_lock);
	wake_up_all(&l->wq);
}

void dspm_rdma_listener_close(struct dspm_rdma_listener *l)
{
	struct dspm_rdma_conn *conn, *tmp;
	LIST_HEAD(queued);

	dspm_rdma_listener_shut(l);
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
		dspm_rdma_conn_close(conn);
	kfree(l);
}
