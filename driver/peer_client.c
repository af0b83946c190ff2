// SPDX-License-Identifier: GPL-2.0
/*
 * The calling side of node-to-node connections: up to DSPM_PEER_CHANNELS
 * authenticated connections per peer, each owned by one call at a time,
 * and one-sided reads on the connection whose keys they use.
 */
#include <linux/debugfs.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"
#include "peer.h"
#include "xprt.h"

/*
 * A call's connections are made and closed by a worker, not by the caller.
 * A call may come from a fault that holds mmap_lock (one that may not be
 * retried), and the RDMA CM takes a cm_id's handler mutex to connect and
 * to destroy it - the mutex under which its user-space interface (ucma)
 * copies events to user memory, taking mmap_lock: lockdep reported the
 * inversion (cluster-crash-rdma on the debug kernel).
 */
void dspm_peer_close_work(struct work_struct *work)
{
	struct dspm_peers *peers = container_of(work, struct dspm_peers,
						close_work);
	struct llist_node *list = llist_del_all(&peers->closing);
	struct dspm_conn *conn, *next;

	llist_for_each_entry_safe(conn, next, list, closing)
		dspm_conn_close(conn);
}

static void dspm_peer_close_later(struct dspm_peers *peers,
				  struct dspm_conn *conn)
{
	if (llist_add(&conn->closing, &peers->closing))
		queue_work(peers->link->node->wq, &peers->close_work);
}

/* The connecting side: a connection to node @id, authenticated both ways. */
int dspm_peer_connect(struct dspm_peers *peers, u32 id, void *buf,
		      struct dspm_conn **out)
{
	struct dspm_link *link = peers->link;
	const struct dspm_wire_challenge *ch = buf;
	struct dspm_wire_peer_hello hello;
	struct dspm_wire_peer_auth auth;
	u32 self = READ_ONCE(link->node_id);
	u8 mac[DSPM_WIRE_MAC_SIZE];
	struct sockaddr_storage ss;
	struct dspm_addr addr;
	struct dspm_conn *conn;
	int ret;

	if (id == self || !dspm_link_node_alive(link, id, &addr) ||
	    (addr.family != DSPM_AF_INET && addr.family != DSPM_AF_INET6))
		return -EHOSTUNREACH;
	dspm_addr_to_sockaddr(&addr, &ss);
	ret = peers->ops->connect(&ss, DSPM_PEER_HANDSHAKE_MS, &conn);
	if (ret)
		return ret;

	dspm_wire_hdr_init(&hello.hdr, DSPM_WIRE_PEER_HELLO, sizeof(hello), self, 1);
	hello.target = cpu_to_le32(id);
	hello.reserved = 0;
	get_random_bytes(hello.nonce, sizeof(hello.nonce));
	ret = dspm_conn_send(conn, &hello, sizeof(hello));
	if (!ret)
		ret = dspm_peer_expect(peers, conn, buf, DSPM_WIRE_PEER_CHALLENGE,
				       sizeof(*ch), id);
	if (!ret)
		ret = dspm_peer_mac(link, "dspm-a", hello.nonce, ch->nonce, self,
				    id, mac);
	if (!ret && !dspm_auth_mac_equal(mac, ch->mac)) {
		pr_warn_ratelimited("dspm: node %u does not know the cluster key\n",
				    id);
		ret = -EACCES;
	}
	if (!ret) {
		dspm_wire_hdr_init(&auth.hdr, DSPM_WIRE_PEER_AUTH, sizeof(auth), self,
				   2);
		ret = dspm_peer_mac(link, "dspm-c", ch->nonce, hello.nonce,
				    self, id, auth.mac);
	}
	if (!ret)
		ret = dspm_conn_send(conn, &auth, sizeof(auth));
	if (ret) {
		dspm_conn_close(conn);
		return ret;
	}
	*out = conn;
	return 0;
}

struct dspm_peer_connecting {
	struct work_struct work;
	struct completion done;
	struct dspm_peers *peers;
	u32 id;
	void *buf;
	struct dspm_conn *conn;
	int ret;
};

static void dspm_peer_connect_work(struct work_struct *work)
{
	struct dspm_peer_connecting *pc =
		container_of(work, struct dspm_peer_connecting, work);

	pc->ret = dspm_peer_connect(pc->peers, pc->id, pc->buf, &pc->conn);
	complete(&pc->done);
}

/* dspm_peer_connect() in a worker (see dspm_peer_close_work()). */
static int dspm_peer_connect_off(struct dspm_peers *peers, u32 id, void *buf,
				 struct dspm_conn **out)
{
	struct dspm_peer_connecting pc = { .peers = peers, .id = id,
					   .buf = buf };

	INIT_WORK_ONSTACK(&pc.work, dspm_peer_connect_work);
	init_completion(&pc.done);
	queue_work(peers->link->node->wq, &pc.work);
	/* bounded: the handshake times out after DSPM_PEER_HANDSHAKE_MS */
	wait_for_completion(&pc.done);
	destroy_work_on_stack(&pc.work);
	*out = pc.conn;
	return pc.ret;
}

static void dspm_peer_out_free(struct dspm_peer_out *out)
{
	unsigned int i;

	for (i = 0; i < DSPM_PEER_CHANNELS; i++)
		kvfree(out->chan[i].buf);
	kfree(out);
}

static struct dspm_peer_out *dspm_peer_out_get(struct dspm_peers *peers, u32 id)
{
	struct dspm_peer_out *out, *old;
	unsigned int i;

	mutex_lock(&peers->lock);
	out = xa_load(&peers->out, id);
	mutex_unlock(&peers->lock);
	if (out)
		return out;
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < DSPM_PEER_CHANNELS; i++) {
		out->chan[i].buf = kvmalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
		if (!out->chan[i].buf) {
			dspm_peer_out_free(out);
			return ERR_PTR(-ENOMEM);
		}
	}
	out->id = id;
	spin_lock_init(&out->lock);
	init_waitqueue_head(&out->idle);
	mutex_lock(&peers->lock);
	old = xa_load(&peers->out, id);
	if (!old && xa_err(xa_store(&peers->out, id, out, GFP_KERNEL)))
		old = ERR_PTR(-ENOMEM);
	mutex_unlock(&peers->lock);
	if (old) {
		dspm_peer_out_free(out);
		return old;
	}
	return out;
}

/*
 * An idle channel, marked busy: one that is connected if there is one;
 * with @gen, only the channel of that connection (-ESTALE when it is gone).
 */
static struct dspm_peer_chan *dspm_peer_chan_try(struct dspm_peer_out *out,
						 const u64 *gen)
{
	struct dspm_peer_chan *c, *pick = NULL;
	unsigned int i;

	spin_lock(&out->lock);
	for (i = 0; i < DSPM_PEER_CHANNELS; i++) {
		c = &out->chan[i];
		if (gen) {
			if (!c->conn || c->gen != *gen)
				continue;
			pick = c->busy ? NULL : c;
			if (!pick)
				goto unlock;
			break;
		}
		if (c->busy)
			continue;
		if (!pick || (!pick->conn && c->conn))
			pick = c;
	}
	if (gen && !pick) {
		spin_unlock(&out->lock);
		return ERR_PTR(-ESTALE);
	}
	if (pick)
		pick->busy = true;
unlock:
	spin_unlock(&out->lock);
	return pick;
}

static struct dspm_peer_chan *dspm_peer_chan_get(struct dspm_peer_out *out,
						 const u64 *gen)
{
	struct dspm_peer_chan *c;

	wait_event(out->idle, (c = dspm_peer_chan_try(out, gen)) != NULL);
	return c;
}

/* The call on @c is over; @failed closes its connection first. */
static void dspm_peer_chan_put(struct dspm_peers *peers,
			       struct dspm_peer_out *out,
			       struct dspm_peer_chan *c, bool failed)
{
	struct dspm_conn *conn = NULL;

	spin_lock(&out->lock);
	if (failed || c->stale) {
		conn = c->conn;
		c->conn = NULL;
	}
	c->busy = false;
	c->stale = false;
	spin_unlock(&out->lock);
	if (conn)
		dspm_peer_close_later(peers, conn);
	wake_up_all(&out->idle);
}

/*
 * A call to this node itself (a coordinator that holds pages of its own
 * commit): served by the same handler as a peer's request, with the same
 * checks of the reply.
 */
static int dspm_peer_call_self(struct dspm_peers *peers, void *req, u32 len,
			       u16 want, void *reply, u32 reply_len)
{
	u32 self = READ_ONCE(peers->link->node_id), n;
	struct dspm_wire_hdr *h = req, *r;
	const struct dspm_peer_service *svc;
	int ret = -EPROTO;

	dspm_wire_hdr_init(h, le16_to_cpu(h->type), len, self, 0);
	svc = dspm_peer_service(peers, le16_to_cpu(h->type));
	if (!svc || len < svc->min_len)
		return -EPROTO;
	r = kmalloc(max_t(u32, reply_len, sizeof(struct dspm_wire_error)),
		    GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	n = svc->serve(peers->link, self, req, r, NULL);
	if (n == sizeof(struct dspm_wire_error) &&
	    le16_to_cpu(r->type) == DSPM_WIRE_ERROR)
		ret = -(int)le32_to_cpu(r->status);
	else if (n && n == reply_len && le16_to_cpu(r->type) == want)
		ret = 0;
	if (!ret)
		memcpy(reply, r, reply_len);
	kfree(r);
	return ret;
}

/*
 * A call is not cut short by a signal its caller may catch: a message half
 * sent or half received would cost the connection, and a commit past its
 * decision must hear its participants (abi.md, "Signals").  The transports
 * wait interruptibly, so every signal but SIGKILL and SIGSTOP is blocked
 * for the call: a fatal signal still ends it, and each wait is bounded by
 * the transport's timeout.  Blocked signals stay pending, and are
 * delivered when the system call returns.
 */
static void dspm_peer_signals_block(sigset_t *old)
{
	sigset_t all;

	siginitsetinv(&all, sigmask(SIGKILL) | sigmask(SIGSTOP));
	sigprocmask(SIG_BLOCK, &all, old);
}

static void dspm_peer_signals_restore(sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * Send @req (@len bytes, its type set; sender and request id are filled
 * in) to node @id and receive its @want reply of exactly @reply_len bytes
 * into @reply, or its ERROR as a negative errno.  Up to DSPM_PEER_CHANNELS
 * calls to one peer run at once, each on a connection of its own, made on
 * first use and after any failure, which also fails the call
 * (-EHOSTUNREACH when @id is no live member).  *@gen (if not NULL) is the
 * generation of the connection that carried the call, also on an ERROR
 * reply: what the peer exposed for it stays readable through
 * dspm_peer_read() while that connection lives.
 */
static int dspm_peer_call_conn(struct dspm_peers *peers, u32 id, void *req,
			       u32 len, u16 want, void *reply, u32 reply_len,
			       u64 *gen)
{
	struct dspm_wire_hdr *h = req;
	const struct dspm_wire_hdr *r;
	struct dspm_peer_out *out;
	struct dspm_peer_chan *c;
	struct dspm_conn *conn;
	int ret;

	out = dspm_peer_out_get(peers, id);
	if (IS_ERR(out))
		return PTR_ERR(out);
	c = dspm_peer_chan_get(out, NULL);
	if (!c->conn) {
		ret = dspm_peer_connect_off(peers, id, c->buf, &conn);
		if (ret) {
			dspm_peer_chan_put(peers, out, c, false);
			return ret;
		}
		spin_lock(&out->lock);
		c->conn = conn;
		c->gen = atomic64_inc_return(&peers->gens);
		spin_unlock(&out->lock);
	}
	if (gen)
		*gen = c->gen;
	r = c->buf;
	dspm_wire_hdr_init(h, le16_to_cpu(h->type), len,
			   READ_ONCE(peers->link->node_id),
			   atomic64_inc_return(&peers->requests));
	ret = dspm_conn_send(c->conn, h, len);
	if (!ret)
		ret = dspm_peer_recv(peers, c->conn, c->buf);
	if (ret == DSPM_WIRE_ERROR && le32_to_cpu(r->length) ==
	    sizeof(struct dspm_wire_error) && r->status &&
	    r->request_id == h->request_id) {
		ret = -(int)le32_to_cpu(r->status);
		dspm_peer_chan_put(peers, out, c, false);
		return ret;
	}
	if (ret >= 0 && (ret != want || le32_to_cpu(r->length) != reply_len ||
			 le32_to_cpu(r->sender) != id ||
			 r->request_id != h->request_id)) {
		atomic64_inc(&peers->malformed);
		ret = -EPROTO;
	}
	if (ret < 0) {
		dspm_peer_chan_put(peers, out, c, true);
		return ret;
	}
	memcpy(reply, c->buf, reply_len);
	dspm_peer_chan_put(peers, out, c, false);
	return 0;
}

/* dspm_peer_call_conn(), or the call to this node itself, signals held off */
int dspm_peer_call_gen(struct dspm_peers *peers, u32 id, void *req, u32 len,
		       u16 want, void *reply, u32 reply_len, u64 *gen)
{
	sigset_t old;
	int ret;

	if (id == READ_ONCE(peers->link->node_id))
		return dspm_peer_call_self(peers, req, len, want, reply,
					   reply_len);
	dspm_peer_signals_block(&old);
	ret = dspm_peer_call_conn(peers, id, req, len, want, reply, reply_len,
				  gen);
	dspm_peer_signals_restore(&old);
	return ret;
}

int dspm_peer_call(struct dspm_peers *peers, u32 id, void *req, u32 len,
		   u16 want, void *reply, u32 reply_len)
{
	return dspm_peer_call_gen(peers, id, req, len, want, reply, reply_len,
				  NULL);
}

/*
 * One-sided reads (struct dspm_transport_ops.read) from node @id on the
 * connection of generation @gen: -ESTALE when that connection is gone
 * (its keys died with it), -EOPNOTSUPP without a one-sided transport.
 * They wait while a call uses that connection.  A failed read closes the
 * connection like a failed call.
 */
int dspm_peer_read(struct dspm_peers *peers, u32 id, u64 gen,
		   const struct dspm_read_seg *seg, unsigned int nr, void *buf)
{
	struct dspm_peer_out *out;
	struct dspm_peer_chan *c;
	sigset_t old;
	int ret;

	if (!peers->ops->read)
		return -EOPNOTSUPP;
	out = dspm_peer_out_get(peers, id);
	if (IS_ERR(out))
		return PTR_ERR(out);
	c = dspm_peer_chan_get(out, &gen);
	if (IS_ERR(c))
		return PTR_ERR(c);
	dspm_peer_signals_block(&old);
	ret = dspm_conn_read(c->conn, seg, nr, buf);
	dspm_peer_signals_restore(&old);
	dspm_peer_chan_put(peers, out, c, ret);
	return ret;
}

/*
 * Node @id restarted: its previous boot's end of our connections is gone,
 * and a call sent on one would fail (a commit with EIO) before the
 * connection is made again.  Close the idle ones now and the busy ones
 * when their call ends; the next call connects afresh.
 */
void dspm_peers_forget(struct dspm_peers *peers, u32 id)
{
	struct dspm_conn *dead[DSPM_PEER_CHANNELS];
	struct dspm_peer_out *out;
	unsigned int i, n = 0;

	mutex_lock(&peers->lock);
	out = xa_load(&peers->out, id);
	mutex_unlock(&peers->lock);
	if (!out)
		return;
	spin_lock(&out->lock);
	for (i = 0; i < DSPM_PEER_CHANNELS; i++) {
		struct dspm_peer_chan *c = &out->chan[i];

		if (c->busy) {
			c->stale = true;
		} else if (c->conn) {
			dead[n++] = c->conn;
			c->conn = NULL;
		}
	}
	spin_unlock(&out->lock);
	while (n)
		dspm_conn_close(dead[--n]);
}

void dspm_peer_out_close_all(struct dspm_peers *peers)
{
	struct dspm_peer_out *out;
	unsigned long id;
	unsigned int i;

	xa_for_each(&peers->out, id, out) {
		for (i = 0; i < DSPM_PEER_CHANNELS; i++)
			if (out->chan[i].conn)
				dspm_conn_close(out->chan[i].conn);
		dspm_peer_out_free(out);
	}
	xa_destroy(&peers->out);
}
