// SPDX-License-Identifier: GPL-2.0
/*
 * The link to the dispatcher: the join handshake, a thread that receives
 * (node tables, replies to calls) and reconnects with backoff when the
 * link drops, and heartbeats.  Everything received is checked against
 * dspm_wire.h before it is used; anything malformed is counted and drops
 * the connection.
 */
#include <linux/delay.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "clu.h"
#include "clu_link.h"
#include "internal.h"
#include "xprt.h"

static u64 dspm_link_free_bytes(struct dspm_link *link)
{
	return le64_to_cpu(READ_ONCE(dspm_store_sb(link->store)->free_pages)) *
	       DSPM_MEDIA_PAGE;
}

/*
 * Receive one message into link->rxbuf.  Returns its type, or -EPROTO for
 * a header no valid message has (counted), or the transport's error.
 */
static int dspm_link_recv(struct dspm_link *link, struct dspm_conn *conn)
{
	struct dspm_wire_hdr *h = link->rxbuf;
	u32 len;
	u16 type;
	int ret;

	ret = dspm_conn_recv(conn, h, sizeof(*h));
	if (ret)
		return ret;
	len = le32_to_cpu(h->length);
	type = le16_to_cpu(h->type);
	if (!dspm_wire_hdr_ok(h, 1, DSPM_WIRE_TYPE_MAX, DSPM_WIRE_ERRNO_MAX,
			      DSPM_WIRE_MAX_MESSAGE)) {
		atomic64_inc(&link->malformed);
		return -EPROTO;
	}
	ret = dspm_conn_recv(conn, h + 1, len - sizeof(*h));
	return ret ?: type;
}

/* An ERROR from the dispatcher as a negative errno. */
static int dspm_link_error(struct dspm_link *link)
{
	const struct dspm_wire_error *e = link->rxbuf;
	u32 err = le32_to_cpu(e->hdr.status);

	if (le32_to_cpu(e->hdr.length) != sizeof(*e) || !err) {
		atomic64_inc(&link->malformed);
		return -EPROTO;
	}
	return -(int)err;
}

bool dspm_link_from_dispatcher(struct dspm_link *link, u32 len)
{
	const struct dspm_wire_hdr *h = link->rxbuf;

	if (le32_to_cpu(h->length) == len &&
	    le32_to_cpu(h->sender) == DSPM_WIRE_NODE_DISPATCHER && !h->status)
		return true;
	atomic64_inc(&link->malformed);
	return false;
}

/* Receive the dispatcher's @want message of @len bytes, or its ERROR. */
static int dspm_link_expect(struct dspm_link *link, struct dspm_conn *conn,
			    u16 want, u32 len)
{
	int type = dspm_link_recv(link, conn);

	if (type == DSPM_WIRE_ERROR)
		return dspm_link_error(link);
	if (type < 0)
		return type;
	if (type != want || !dspm_link_from_dispatcher(link, len))
		return -EPROTO;
	return 0;
}

/*
 * HELLO, check the dispatcher's proof of the key in CHALLENGE, AUTH with
 * ours, then JOIN_ACCEPT: the id and heartbeat interval to keep.
 */
static int dspm_link_handshake(struct dspm_link *link, struct dspm_conn *conn,
			       u32 *node_id, u32 *heartbeat_ms)
{
	const struct dspm_wire_challenge *ch = link->rxbuf;
	const struct dspm_wire_join_accept *acc = link->rxbuf;
	struct dspm_wire_hello hello = {};
	struct dspm_wire_auth auth = {};
	u8 nonce_d[DSPM_WIRE_NONCE_SIZE], mac[DSPM_WIRE_MAC_SIZE];
	struct dspm_mac_part parts[4];
	u32 id;
	int ret;

	dspm_wire_hdr_init(&hello.hdr, DSPM_WIRE_HELLO, sizeof(hello), 0,
			   ++link->next_request);
	memcpy(hello.uuid, link->uuid, sizeof(hello.uuid));
	hello.claimed_id = cpu_to_le32(link->node_id);
	hello.capacity = cpu_to_le64(link->capacity);
	hello.free = cpu_to_le64(dspm_link_free_bytes(link));
	hello.incarnation = cpu_to_le64(link->incarnation);
	hello.addr = link->self;
	get_random_bytes(hello.nonce, sizeof(hello.nonce));
	ret = dspm_conn_send(conn, &hello, sizeof(hello));
	if (ret)
		return ret;

	ret = dspm_link_expect(link, conn, DSPM_WIRE_CHALLENGE, sizeof(*ch));
	if (ret)
		return ret;
	memcpy(nonce_d, ch->nonce, sizeof(nonce_d));
	parts[0] = (struct dspm_mac_part){ "dspm-d", 6 };
	parts[1] = (struct dspm_mac_part){ hello.nonce, sizeof(hello.nonce) };
	parts[2] = (struct dspm_mac_part){ nonce_d, sizeof(nonce_d) };
	ret = dspm_auth_mac(link->key, link->key_len, parts, 3, mac);
	if (ret)
		return ret;
	if (!dspm_auth_mac_equal(mac, ch->mac)) {
		pr_warn("dspm: the dispatcher at %pISpc does not know the cluster key\n",
			&link->dispatcher);
		return -EACCES;
	}

	dspm_wire_hdr_init(&auth.hdr, DSPM_WIRE_AUTH, sizeof(auth), 0,
			   ++link->next_request);
	memcpy(auth.uuid, link->uuid, sizeof(auth.uuid));
	parts[0] = (struct dspm_mac_part){ "dspm-n", 6 };
	parts[1] = (struct dspm_mac_part){ nonce_d, sizeof(nonce_d) };
	parts[2] = (struct dspm_mac_part){ hello.nonce, sizeof(hello.nonce) };
	parts[3] = (struct dspm_mac_part){ link->uuid, sizeof(link->uuid) };
	ret = dspm_auth_mac(link->key, link->key_len, parts, 4, auth.mac);
	if (!ret)
		ret = dspm_conn_send(conn, &auth, sizeof(auth));
	memzero_explicit(mac, sizeof(mac));
	if (ret)
		return ret;

	ret = dspm_link_expect(link, conn, DSPM_WIRE_JOIN_ACCEPT, sizeof(*acc));
	if (ret)
		return ret;
	id = le32_to_cpu(acc->node_id);
	if (id == DSPM_WIRE_NODE_NONE || id == DSPM_WIRE_NODE_DISPATCHER ||
	    !acc->heartbeat_ms || acc->reserved) {
		atomic64_inc(&link->malformed);
		return -EPROTO;
	}
	*node_id = id;
	*heartbeat_ms = le32_to_cpu(acc->heartbeat_ms);
	return 0;
}

/* Connect and join; on success the connection is returned, not published. */
int dspm_link_connect(struct dspm_link *link, struct dspm_conn **out)
{
	struct dspm_conn *conn;
	u32 id, heartbeat_ms;
	int ret;

	ret = link->ops->connect(&link->dispatcher, DSPM_LINK_TIMEOUT_MS, &conn);
	if (ret)
		return ret;
	/* no address given at JOIN: announce this end of the link */
	if (!link->self.family) {
		struct sockaddr_storage ss;

		ret = dspm_conn_local_addr(conn, &ss);
		if (ret) {
			dspm_conn_close(conn);
			return ret;
		}
		dspm_sockaddr_to_wire(&ss, DSPM_PEER_PORT_DEFAULT, &link->self);
	}
	ret = dspm_link_handshake(link, conn, &id, &heartbeat_ms);
	if (!ret && link->node_id && id != link->node_id) {
		pr_err("dspm: the dispatcher gave id %u to node %u\n", id,
		       link->node_id);
		ret = -ESTALE;
	}
	if (ret) {
		dspm_conn_close(conn);
		return ret;
	}
	link->node_id = id;
	link->heartbeat_ms = min_t(u32, heartbeat_ms, 60000);
	dspm_conn_set_recv_timeout(conn, 0);
	*out = conn;
	return 0;
}

/* A request to the dispatcher waiting for its reply. */
struct dspm_link_call {
	struct list_head entry;		/* on link->calls while waiting */
	u64 request;
	u16 want;			/* reply type; ERROR also answers */
	bool answered;
	int status;
	void *reply;			/* kvmalloc'ed copy of the reply */
	struct completion done;
};

/* Answer every waiting call with @err: the link they were sent on is gone. */
static void dspm_link_fail_calls(struct dspm_link *link, int err)
{
	struct dspm_link_call *call, *next;

	spin_lock(&link->calls_lock);
	list_for_each_entry_safe(call, next, &link->calls, entry) {
		list_del_init(&call->entry);
		call->answered = true;
		call->status = err;
		complete(&call->done);
	}
	spin_unlock(&link->calls_lock);
}

/*
 * Hand the message in rxbuf to the call waiting for its request id.  A
 * reply nobody waits for any more (the call timed out) is dropped quietly.
 */
static int dspm_link_answer(struct dspm_link *link, int type)
{
	const struct dspm_wire_hdr *h = link->rxbuf;
	u64 request = le64_to_cpu(h->request_id);
	struct dspm_link_call *call;
	int status = 0;
	void *copy = NULL;

	if (type == DSPM_WIRE_ERROR) {
		status = dspm_link_error(link);
		if (status == -EPROTO)
			return status;
	} else {
		if (le32_to_cpu(h->sender) != DSPM_WIRE_NODE_DISPATCHER ||
		    h->status) {
			atomic64_inc(&link->malformed);
			return -EPROTO;
		}
		copy = kvmalloc(le32_to_cpu(h->length), GFP_KERNEL);
		if (copy)
			memcpy(copy, h, le32_to_cpu(h->length));
		else
			status = -ENOMEM;
	}
	spin_lock(&link->calls_lock);
	list_for_each_entry(call, &link->calls, entry) {
		if (call->request != request)
			continue;
		list_del_init(&call->entry);
		call->answered = true;
		if (!status && type != call->want) {
			atomic64_inc(&link->malformed);
			status = -EPROTO;
		}
		call->status = status;
		if (!status)
			swap(call->reply, copy);
		complete(&call->done);
		break;
	}
	spin_unlock(&link->calls_lock);
	kvfree(copy);
	return 0;
}

/*
 * Send @req (@len bytes; its header's type set, the rest filled in here)
 * and wait for the dispatcher's @want reply, returned in *@reply (kvfree
 * it), or its ERROR as a negative errno.  Waits for a lost link to come
 * back first; -ENOTCONN if it does not within DSPM_CALL_TIMEOUT_MS,
 * -ETIMEDOUT without a reply, -ECONNRESET when the link drops meanwhile
 * (the request may or may not have been carried out).
 */
int dspm_link_call(struct dspm_link *link, void *req, u32 len, u16 want,
		   void **reply)
{
	struct dspm_wire_hdr *h = req;
	struct dspm_link_call call = { .want = want };
	long left;
	int ret;

	INIT_LIST_HEAD(&call.entry);
	init_completion(&call.done);
	left = wait_event_interruptible_timeout(link->conn_wait,
						READ_ONCE(link->conn) ||
						READ_ONCE(link->leaving),
						msecs_to_jiffies(DSPM_CALL_TIMEOUT_MS));
	if (left < 0)
		return left;

	mutex_lock(&link->conn_lock);
	if (!link->conn || link->leaving) {
		mutex_unlock(&link->conn_lock);
		return -ENOTCONN;
	}
	call.request = ++link->next_request;
	dspm_wire_hdr_init(h, le16_to_cpu(h->type), len, link->node_id,
			   call.request);
	spin_lock(&link->calls_lock);
	list_add_tail(&call.entry, &link->calls);
	spin_unlock(&link->calls_lock);
	ret = dspm_conn_send(link->conn, req, len);
	/* a failed send: let the receiving thread notice and rejoin */
	if (ret)
		dspm_conn_shutdown(link->conn);
	mutex_unlock(&link->conn_lock);

	if (!ret) {
		left = wait_for_completion_killable_timeout(&call.done,
							    msecs_to_jiffies(DSPM_CALL_TIMEOUT_MS));
		ret = left < 0 ? left : left ? 0 : -ETIMEDOUT;
	}
	/* off the list, the receiving thread no longer touches the call */
	spin_lock(&link->calls_lock);
	list_del_init(&call.entry);
	spin_unlock(&link->calls_lock);
	if (call.answered)
		ret = call.status;
	if (ret) {
		kvfree(call.reply);
		return ret;
	}
	*reply = call.reply;
	return 0;
}

/* Take the connection off the link and close it. */
static void dspm_link_drop(struct dspm_link *link)
{
	struct dspm_conn *conn;

	mutex_lock(&link->conn_lock);
	conn = link->conn;
	link->conn = NULL;
	mutex_unlock(&link->conn_lock);
	if (conn)
		dspm_conn_close(conn);
	dspm_link_fail_calls(link, -ECONNRESET);
}

/* Rejoin with the id this node holds, backing off while that fails. */
static void dspm_link_reconnect(struct dspm_link *link, unsigned int *backoff)
{
	struct dspm_conn *conn;
	int ret;

	if (*backoff)
		schedule_timeout_interruptible(msecs_to_jiffies(*backoff));
	if (kthread_should_stop() || READ_ONCE(link->leaving))
		return;
	ret = dspm_link_connect(link, &conn);
	if (ret) {
		*backoff = clamp(*backoff * 2, DSPM_BACKOFF_MIN_MS,
				 DSPM_BACKOFF_MAX_MS);
		pr_info_ratelimited("dspm: rejoin at %pISpc failed (%d), next try in %u ms\n",
				    &link->dispatcher, ret, *backoff);
		return;
	}
	*backoff = 0;
	mutex_lock(&link->conn_lock);
	if (link->leaving) {
		mutex_unlock(&link->conn_lock);
		dspm_conn_close(conn);
		return;
	}
	link->conn = conn;
	mutex_unlock(&link->conn_lock);
	wake_up_all(&link->conn_wait);
	pr_info("dspm: rejoined the cluster at %pISpc as node %u\n",
		&link->dispatcher, link->node_id);
	/* declared dead meanwhile, the homes may have dropped this reader */
	if (link->events)
		link->events->rejoined(link);
	mod_delayed_work(link->node->wq, &link->heartbeat, 0);
}

static int dspm_link_thread(void *data)
{
	struct dspm_link *link = data;
	unsigned int backoff = 0;
	struct dspm_conn *conn;
	int type;

	while (!kthread_should_stop()) {
		if (READ_ONCE(link->leaving)) {
			dspm_wait_for_kthread_stop();
			continue;
		}
		mutex_lock(&link->conn_lock);
		conn = link->conn;
		mutex_unlock(&link->conn_lock);
		if (!conn) {
			dspm_link_reconnect(link, &backoff);
			continue;
		}
		/* only this thread closes the connection, so conn stays valid */
		type = dspm_link_recv(link, conn);
		if (type == DSPM_WIRE_NODE_TABLE)
			type = dspm_link_node_table(link);
		else if (type == DSPM_WIRE_ERROR ||
			 type == DSPM_WIRE_DATASET_REPLY ||
			 type == DSPM_WIRE_DELETE_REPLY ||
			 type == DSPM_WIRE_LIST_REPLY)
			type = dspm_link_answer(link, type);
		if (type >= 0)
			continue;
		if (!READ_ONCE(link->leaving))
			pr_info("dspm: lost the dispatcher at %pISpc (%d), rejoining\n",
				&link->dispatcher, type);
		dspm_link_drop(link);
		backoff = DSPM_BACKOFF_MIN_MS;
	}
	dspm_link_drop(link);
	return 0;
}

static void dspm_link_heartbeat(struct work_struct *work)
{
	struct dspm_link *link = container_of(to_delayed_work(work),
					      struct dspm_link, heartbeat);
	struct dspm_wire_heartbeat hb = {};
	bool leaving;

	mutex_lock(&link->conn_lock);
	if (link->conn) {
		dspm_wire_hdr_init(&hb.hdr, DSPM_WIRE_HEARTBEAT, sizeof(hb),
				   link->node_id, ++link->next_request);
		hb.free = cpu_to_le64(dspm_link_free_bytes(link));
		hb.table_epoch = cpu_to_le64(READ_ONCE(link->epoch));
		/* a failed send: let the receiving thread notice and rejoin */
		if (dspm_conn_send(link->conn, &hb, sizeof(hb)))
			dspm_conn_shutdown(link->conn);
	}
	leaving = link->leaving;
	mutex_unlock(&link->conn_lock);
	if (!leaving)
		queue_delayed_work(link->node->wq, &link->heartbeat,
				   msecs_to_jiffies(link->heartbeat_ms));
}

/*
 * Start receiving and heartbeats on a link whose conn is joined.  The
 * services above the link (peers, resolver, ...) are JOIN's (clu_join.c).
 */
int dspm_link_start(struct dspm_link *link)
{
	dspm_wire_build_checks();
	INIT_DELAYED_WORK(&link->heartbeat, dspm_link_heartbeat);
	link->thread = kthread_run(dspm_link_thread, link, "dspm-link");
	if (IS_ERR(link->thread))
		return PTR_ERR(link->thread);
	queue_delayed_work(link->node->wq, &link->heartbeat,
			   msecs_to_jiffies(link->heartbeat_ms));
	return 0;
}

/*
 * Leaving: no call waits for the dispatcher any more, and one in flight
 * fails now rather than at its timeout.  Idempotent.
 */
void dspm_link_shutdown(struct dspm_link *link)
{
	mutex_lock(&link->conn_lock);
	link->leaving = true;
	if (link->conn)
		dspm_conn_shutdown(link->conn);
	mutex_unlock(&link->conn_lock);
	wake_up_all(&link->conn_wait);
}

void dspm_link_stop(struct dspm_link *link)
{
	dspm_link_shutdown(link);
	cancel_delayed_work_sync(&link->heartbeat);
	kthread_stop(link->thread);
}
