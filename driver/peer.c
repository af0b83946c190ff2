// SPDX-License-Identifier: GPL-2.0
/*
 * Node-to-node connections: a listener on the address this node announced,
 * which accepts only members of the dispatcher's node table that prove the
 * cluster key (dspm_wire.h, "Node to node"), a thread per accepted
 * connection serving requests, and the connecting side of the handshake.
 * Requests served: PING, the coherence ones (PAGE_READ, INVALIDATE, UNSHARE),
 * the commit ones and the synchronisation ones.  Everything received is
 * checked before it is used; a malformed message or a failed handshake is
 * counted and drops the connection, nothing else.
 *
 * Locks: Documentation/locking.md.  Connection threads and callers hold
 * none while they block on the network.
 */
#include <linux/debugfs.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"
#include "xprt.h"

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

	atomic64_t accepted;		/* connections that passed the handshake */
	atomic64_t refused;		/* not a member, wrong key, too many */
	atomic64_t malformed;		/* messages dropped as invalid */
	atomic64_t pings;		/* PINGs answered */
	atomic64_t requests;		/* request ids of calls */
	atomic64_t gens;		/* dspm_peer_out.gen */
};

/* One peer message into @buf; its type, or -EPROTO (counted), or an error. */
static int dspm_peer_recv(struct dspm_peers *peers, struct dspm_conn *conn,
			  void *buf)
{
	struct dspm_wire_hdr *h = buf;
	u16 type;
	u32 len;
	int ret;

	ret = dspm_conn_recv(conn, h, sizeof(*h));
	if (ret)
		return ret;
	type = le16_to_cpu(h->type);
	len = le32_to_cpu(h->length);
	if (!dspm_wire_hdr_ok(h, type == DSPM_WIRE_ERROR ? DSPM_WIRE_ERROR :
			      DSPM_WIRE_PEER_TYPE_MIN, DSPM_WIRE_PEER_TYPE_MAX,
			      type == DSPM_WIRE_ERROR ? DSPM_WIRE_ERRNO_MAX : 0,
			      sizeof(*h) + DSPM_WIRE_PING_MAX)) {
		atomic64_inc(&peers->malformed);
		return -EPROTO;
	}
	ret = dspm_conn_recv(conn, h + 1, len - sizeof(*h));
	return ret ?: type;
}

/* @type of exactly @len bytes from @sender, or -EPROTO (counted). */
static int dspm_peer_expect(struct dspm_peers *peers, struct dspm_conn *conn,
			    void *buf, u16 want, u32 len, u32 sender)
{
	const struct dspm_wire_hdr *h = buf;
	int type = dspm_peer_recv(peers, conn, buf);

	if (type < 0)
		return type;
	if (type != want || le32_to_cpu(h->length) != len ||
	    le32_to_cpu(h->sender) != sender) {
		atomic64_inc(&peers->malformed);
		return -EPROTO;
	}
	return 0;
}

/* MAC of either side: "dspm-a" for the acceptor, "dspm-c" for the connector. */
static int dspm_peer_mac(struct dspm_link *link, const char *label,
			 const u8 *nonce1, const u8 *nonce2, u32 connector,
			 u32 acceptor, u8 mac[DSPM_WIRE_MAC_SIZE])
{
	__le32 ids[2] = { cpu_to_le32(connector), cpu_to_le32(acceptor) };
	struct dspm_mac_part parts[] = {
		{ label, 6 },
		{ nonce1, DSPM_WIRE_NONCE_SIZE },
		{ nonce2, DSPM_WIRE_NONCE_SIZE },
		{ ids, sizeof(ids) },
	};

	return dspm_auth_mac(link->key, link->key_len, parts,
			     ARRAY_SIZE(parts), mac);
}

static bool dspm_addr_matches(const struct dspm_addr *a,
			      const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET && a->family == DSPM_AF_INET)
		return !memcmp(a->addr, &((struct sockaddr_in *)ss)->sin_addr, 4);
	if (ss->ss_family == AF_INET6 && a->family == DSPM_AF_INET6)
		return !memcmp(a->addr, &((struct sockaddr_in6 *)ss)->sin6_addr,
			       16);
	return false;
}

/* The accepting side: PEER_HELLO, PEER_CHALLENGE, PEER_AUTH. */
static int dspm_peer_accept_handshake(struct dspm_peer_conn *pc, u32 *peer_id)
{
	struct dspm_peers *peers = pc->peers;
	struct dspm_link *link = peers->link;
	const struct dspm_wire_peer_hello *hello = pc->buf;
	const struct dspm_wire_peer_auth *auth = pc->buf;
	struct dspm_wire_challenge ch;
	u8 nonce_c[DSPM_WIRE_NONCE_SIZE], mac[DSPM_WIRE_MAC_SIZE];
	u32 self = READ_ONCE(link->node_id), id;
	struct sockaddr_storage from;
	struct dspm_addr listed;
	int ret;

	ret = dspm_peer_recv(peers, pc->conn, pc->buf);
	if (ret < 0)
		return ret;
	id = le32_to_cpu(hello->hdr.sender);
	if (ret != DSPM_WIRE_PEER_HELLO ||
	    le32_to_cpu(hello->hdr.length) != sizeof(*hello) ||
	    hello->reserved) {
		atomic64_inc(&peers->malformed);
		return -EPROTO;
	}
	ret = dspm_conn_peer_addr(pc->conn, &from);
	if (ret)
		return ret;
	if (le32_to_cpu(hello->target) != self || id == self ||
	    !dspm_link_node_alive(link, id, &listed) ||
	    !dspm_addr_matches(&listed, &from)) {
		atomic64_inc(&peers->refused);
		pr_info_ratelimited("dspm: refused a peer claiming node %u from %pISc: not a member there\n",
				    id, &from);
		return -EACCES;
	}
	memcpy(nonce_c, hello->nonce, sizeof(nonce_c));

	dspm_wire_hdr_init(&ch.hdr, DSPM_WIRE_PEER_CHALLENGE, sizeof(ch), self,
			   le64_to_cpu(hello->hdr.request_id));
	get_random_bytes(ch.nonce, sizeof(ch.nonce));
	ret = dspm_peer_mac(link, "dspm-a", nonce_c, ch.nonce, id, self, ch.mac);
	if (!ret)
		ret = dspm_conn_send(pc->conn, &ch, sizeof(ch));
	if (ret)
		return ret;

	ret = dspm_peer_expect(peers, pc->conn, pc->buf, DSPM_WIRE_PEER_AUTH,
			       sizeof(*auth), id);
	if (ret)
		return ret;
	ret = dspm_peer_mac(link, "dspm-c", ch.nonce, nonce_c, id, self, mac);
	if (ret)
		return ret;
	if (!dspm_auth_mac_equal(mac, auth->mac)) {
		atomic64_inc(&peers->refused);
		pr_warn_ratelimited("dspm: node %u at %pISc does not know the cluster key\n",
				    id, &from);
		return -EACCES;
	}
	*peer_id = id;
	return 0;
}

/* Answer requests until the connection fails or is shut down. */
static int dspm_peer_serve(struct dspm_peer_conn *pc, u32 peer_id)
{
	struct dspm_peers *peers = pc->peers;
	struct dspm_wire_hdr *h = pc->buf;
	u32 self = READ_ONCE(peers->link->node_id);
	int type;

	for (;;) {
		u32 len;

		type = dspm_peer_recv(peers, pc->conn, pc->buf);
		if (type < 0)
			return type;
		if (le32_to_cpu(h->sender) != peer_id)
			goto bad;
		switch (type) {
		case DSPM_WIRE_PING:
			/* the payload stays in place: the reply is the request */
			h->type = cpu_to_le16(DSPM_WIRE_PONG);
			h->sender = cpu_to_le32(self);
			len = le32_to_cpu(h->length);
			atomic64_inc(&peers->pings);
			break;
		case DSPM_WIRE_PAGE_MAP:
			len = dspm_coh_page_map(peers->link, peer_id, pc->buf,
						pc->reply, pc->conn);
			if (!len)
				goto bad;
			h = pc->reply;
			break;
		case DSPM_WIRE_PAGE_READ:
		case DSPM_WIRE_INVALIDATE:
		case DSPM_WIRE_UNSHARE:
			len = dspm_coh_serve(peers->link, peer_id, pc->buf,
					     pc->reply);
			if (!len)
				goto bad;
			h = pc->reply;
			break;
		case DSPM_WIRE_PREPARE:
		case DSPM_WIRE_DECIDE:
		case DSPM_WIRE_TXN_QUERY:
			len = dspm_part_serve(peers->link, peer_id, pc->buf,
					      pc->reply);
			if (!len)
				goto bad;
			h = pc->reply;
			break;
		case DSPM_WIRE_SYNC:
			len = dspm_sync_serve(peers->link, peer_id, pc->buf,
					      pc->reply);
			if (!len)
				goto bad;
			h = pc->reply;
			break;
		default:
			goto bad;
		}
		h->sender = cpu_to_le32(self);
		type = dspm_conn_send(pc->conn, h, len);
		h = pc->buf;
		if (type)
			return type;
	}
bad:
	atomic64_inc(&peers->malformed);
	return -EPROTO;
}

static int dspm_peer_conn_thread(void *data)
{
	struct dspm_peer_conn *pc = data;
	struct dspm_peers *peers = pc->peers;
	u32 peer_id;
	int ret;

	dspm_conn_set_recv_timeout(pc->conn, DSPM_PEER_HANDSHAKE_MS);
	ret = dspm_peer_accept_handshake(pc, &peer_id);
	if (!ret) {
		atomic64_inc(&peers->accepted);
		WRITE_ONCE(pc->peer_id, peer_id);
		dspm_conn_set_recv_timeout(pc->conn, 0);
		ret = dspm_peer_serve(pc, peer_id);
	}
	/* the peer hears of it now; closing and freeing wait for the reaper */
	dspm_conn_shutdown(pc->conn);
	WRITE_ONCE(pc->done, true);
	dspm_wait_for_kthread_stop();
	return ret;
}

/*
 * Shut down the connections node @id opened to this node.  What was
 * exposed on them for one-sided reads dies with them (coherence.c: a
 * reader no longer a sharer must not go on reading without being
 * invalidated); the node connects again on its next call.
 */
void dspm_peers_cut(struct dspm_peers *peers, u32 id)
{
	struct dspm_peer_conn *pc;

	mutex_lock(&peers->lock);
	list_for_each_entry(pc, &peers->conns, entry)
		if (READ_ONCE(pc->peer_id) == id && !READ_ONCE(pc->done))
			dspm_conn_shutdown(pc->conn);
	mutex_unlock(&peers->lock);
}

static void dspm_peer_conn_free(struct dspm_peers *peers,
				struct dspm_peer_conn *pc)
{
	dspm_conn_shutdown(pc->conn);
	kthread_stop(pc->thread);
	put_task_struct(pc->thread);
	dspm_conn_close(pc->conn);
	kvfree(pc->reply);
	kvfree(pc->buf);
	kfree(pc);
}

/* Stop the threads of finished connections (all of them when @all). */
static void dspm_peer_reap(struct dspm_peers *peers, bool all)
{
	struct dspm_peer_conn *pc, *next;
	LIST_HEAD(finished);

	mutex_lock(&peers->lock);
	list_for_each_entry_safe(pc, next, &peers->conns, entry) {
		if (all || READ_ONCE(pc->done)) {
			list_move(&pc->entry, &finished);
			peers->nr_conns--;
		}
	}
	mutex_unlock(&peers->lock);
	list_for_each_entry_safe(pc, next, &finished, entry)
		dspm_peer_conn_free(peers, pc);
}

static int dspm_peer_start_conn(struct dspm_peers *peers, struct dspm_conn *conn)
{
	struct dspm_peer_conn *pc;
	int ret = -ENOMEM;

	pc = kzalloc(sizeof(*pc), GFP_KERNEL);
	if (!pc)
		goto close;
	pc->buf = kvmalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	pc->reply = kvmalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	if (!pc->buf || !pc->reply)
		goto free;
	pc->peers = peers;
	pc->conn = conn;
	pc->thread = kthread_create(dspm_peer_conn_thread, pc, "dspm-peer");
	if (IS_ERR(pc->thread)) {
		ret = PTR_ERR(pc->thread);
		goto free;
	}
	get_task_struct(pc->thread);
	mutex_lock(&peers->lock);
	list_add(&pc->entry, &peers->conns);
	peers->nr_conns++;
	mutex_unlock(&peers->lock);
	wake_up_process(pc->thread);
	return 0;
free:
	kvfree(pc->reply);
	kvfree(pc->buf);
	kfree(pc);
close:
	dspm_conn_close(conn);
	return ret;
}

static int dspm_peer_acceptor(void *data)
{
	struct dspm_peers *peers = data;
	struct dspm_conn *conn;
	int ret;

	while (!kthread_should_stop()) {
		ret = dspm_listener_accept(peers->listener, &conn);
		if (ret == -ESHUTDOWN)
			break;
		if (ret) {
			/* e.g. out of memory: do not spin */
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		dspm_peer_reap(peers, false);
		if (READ_ONCE(peers->nr_conns) >= DSPM_PEER_CONNS_MAX) {
			atomic64_inc(&peers->refused);
			dspm_conn_close(conn);
			continue;
		}
		dspm_peer_start_conn(peers, conn);
	}
	dspm_wait_for_kthread_stop();
	return 0;
}

/* The connecting side: a connection to node @id, authenticated both ways. */
static int dspm_peer_connect(struct dspm_peers *peers, u32 id, void *buf,
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
	if (failed) {
		conn = c->conn;
		c->conn = NULL;
	}
	c->busy = false;
	spin_unlock(&out->lock);
	if (conn)
		dspm_conn_close(conn);
	wake_up_all(&out->idle);
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
int dspm_peer_call_gen(struct dspm_peers *peers, u32 id, void *req, u32 len,
		       u16 want, void *reply, u32 reply_len, u64 *gen)
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
		ret = dspm_peer_connect(peers, id, c->buf, &conn);
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
	int ret;

	if (!peers->ops->read)
		return -EOPNOTSUPP;
	out = dspm_peer_out_get(peers, id);
	if (IS_ERR(out))
		return PTR_ERR(out);
	c = dspm_peer_chan_get(out, &gen);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = dspm_conn_read(c->conn, seg, nr, buf);
	dspm_peer_chan_put(peers, out, c, ret);
	return ret;
}

static void dspm_peer_out_close_all(struct dspm_peers *peers)
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

static int dspm_ns_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* @count PINGs of @size bytes to node @id; the result goes to ping_result. */
static int dspm_peer_ping(struct dspm_peers *peers, u32 id, u32 count,
			  u32 size)
{
	u32 self = READ_ONCE(peers->link->node_id), i;
	struct dspm_wire_hdr *req, *reply;
	u64 *ns, total = 0;
	struct dspm_conn *conn;
	int ret = -ENOMEM;

	req = kvzalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	reply = kvzalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	ns = kvcalloc(count, sizeof(*ns), GFP_KERNEL);
	if (!req || !reply || !ns)
		goto out;
	ret = dspm_peer_connect(peers, id, reply, &conn);
	if (ret)
		goto out;
	for (i = 0; i < count && !ret; i++) {
		u64 start;

		dspm_wire_hdr_init(req, DSPM_WIRE_PING, sizeof(*req) + size, self,
				   i + 3);
		get_random_bytes(req + 1, min_t(u32, size, 64));
		start = ktime_get_ns();
		ret = dspm_conn_send(conn, req, sizeof(*req) + size);
		if (!ret)
			ret = dspm_peer_expect(peers, conn, reply, DSPM_WIRE_PONG,
					       sizeof(*req) + size, id);
		ns[i] = ktime_get_ns() - start;
		if (!ret && (reply->request_id != req->request_id ||
			     memcmp(reply + 1, req + 1, size)))
			ret = -EPROTO;
		total += ns[i];
	}
	dspm_conn_close(conn);
	if (!ret) {
		sort(ns, count, sizeof(*ns), dspm_ns_cmp, NULL);
		mutex_lock(&peers->lock);
		snprintf(peers->ping_result, sizeof(peers->ping_result),
			 "transport=%s node=%u size=%u count=%u min_ns=%llu avg_ns=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu\n",
			 peers->ops->name, id, size, count, ns[0],
			 div_u64(total, count), ns[count / 2],
			 ns[(u64)count * 99 / 100], ns[count - 1]);
		mutex_unlock(&peers->lock);
	}
out:
	if (ret) {
		mutex_lock(&peers->lock);
		snprintf(peers->ping_result, sizeof(peers->ping_result),
			 "transport=%s node=%u error=%d\n", peers->ops->name,
			 id, ret);
		mutex_unlock(&peers->lock);
	}
	kvfree(ns);
	kvfree(reply);
	kvfree(req);
	return ret;
}

static int dspm_peer_show(struct seq_file *m, void *v)
{
	struct dspm_peers *peers = m->private;

	seq_printf(m, "listening %pISpc (%s)\n", &peers->addr, peers->ops->name);
	seq_printf(m, "accepted %lld\nrefused %lld\nmalformed %lld\npings %lld\n",
		   atomic64_read(&peers->accepted),
		   atomic64_read(&peers->refused),
		   atomic64_read(&peers->malformed),
		   atomic64_read(&peers->pings));
	dspm_coh_show(m, peers->link);
	mutex_lock(&peers->lock);
	seq_printf(m, "connections %u\n", peers->nr_conns);
	seq_puts(m, peers->ping_result);
	mutex_unlock(&peers->lock);
	return 0;
}

static int dspm_peer_open(struct inode *inode, struct file *file)
{
	return single_open(file, dspm_peer_show, inode->i_private);
}

/* "ping ID COUNT SIZE": COUNT 1..100000, SIZE 0..DSPM_WIRE_PING_MAX. */
static ssize_t dspm_peer_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *pos)
{
	struct dspm_peers *peers = file_inode(file)->i_private;
	u32 id, count, size;
	char cmd[64];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (sscanf(cmd, "ping %u %u %u", &id, &count, &size) != 3 ||
	    !count || count > 100000 || size > DSPM_WIRE_PING_MAX)
		return -EINVAL;
	ret = dspm_peer_ping(peers, id, count, size);
	return ret ?: len;
}

static const struct file_operations dspm_peer_fops = {
	.owner = THIS_MODULE,
	.open = dspm_peer_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = dspm_peer_write,
};

/* Listen where this node told the dispatcher peers reach it. */
struct dspm_peers *dspm_peers_start(struct dspm_link *link)
{
	struct dspm_peers *peers;
	struct dspm_addr self;
	int ret;

	peers = kzalloc(sizeof(*peers), GFP_KERNEL);
	if (!peers)
		return ERR_PTR(-ENOMEM);
	peers->link = link;
	peers->ops = link->ops;
	mutex_init(&peers->lock);
	INIT_LIST_HEAD(&peers->conns);
	xa_init(&peers->out);
	dspm_wire_addr_to_uapi(&link->self, &self);
	dspm_addr_to_sockaddr(&self, &peers->addr);
	ret = peers->ops->listen(&peers->addr, &peers->listener);
	if (ret) {
		pr_err("dspm: cannot listen for peers on %pISpc (%s): %d\n",
		       &peers->addr, peers->ops->name, ret);
		goto free;
	}
	peers->acceptor = kthread_run(dspm_peer_acceptor, peers, "dspm-peers");
	if (IS_ERR(peers->acceptor)) {
		ret = PTR_ERR(peers->acceptor);
		goto close;
	}
	get_task_struct(peers->acceptor);
	peers->debugfs = debugfs_create_file("peer", 0600, dspm_debugfs_root(),
					     peers, &dspm_peer_fops);
	pr_info("dspm: accepting peers on %pISpc (%s)\n", &peers->addr,
		peers->ops->name);
	return peers;
close:
	dspm_listener_close(peers->listener);
free:
	kfree(peers);
	return ERR_PTR(ret);
}

void dspm_peers_stop(struct dspm_peers *peers)
{
	if (!peers)
		return;
	debugfs_remove(peers->debugfs);
	dspm_listener_shutdown(peers->listener);
	kthread_stop(peers->acceptor);
	put_task_struct(peers->acceptor);
	dspm_peer_reap(peers, true);
	dspm_listener_close(peers->listener);
	dspm_peer_out_close_all(peers);
	kfree(peers);
}
