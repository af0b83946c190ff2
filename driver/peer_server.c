// SPDX-License-Identifier: GPL-2.0
/*
 * The serving side of node-to-node connections: a listener on the address
 * this node announced, which accepts only members of the dispatcher's node
 * table that prove the cluster key, and a thread per accepted connection
 * that serves PING and the request types the layers above registered
 * (struct dspm_peer_service).  Everything received is checked before it is
 * used; a malformed message or a failed handshake is counted and drops the
 * connection, nothing else.  Locks: Documentation/locking.md; no thread
 * holds one while it blocks on the network.
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
#include "peer.h"
#include "xprt.h"

/* One peer message into @buf; its type, or -EPROTO (counted), or an error. */
int dspm_peer_recv(struct dspm_peers *peers, struct dspm_conn *conn,
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
int dspm_peer_expect(struct dspm_peers *peers, struct dspm_conn *conn,
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
int dspm_peer_mac(struct dspm_link *link, const char *label,
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

const struct dspm_peer_service *
dspm_peer_service(struct dspm_peers *peers, int type)
{
	if (type < DSPM_WIRE_PEER_TYPE_MIN || type > DSPM_WIRE_PEER_TYPE_MAX)
		return NULL;
	return peers->svc[type - DSPM_WIRE_PEER_TYPE_MIN];
}

/* Answer requests until the connection fails or is shut down. */
static int dspm_peer_serve(struct dspm_peer_conn *pc, u32 peer_id)
{
	const struct dspm_peer_service *svc;
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
		if (type == DSPM_WIRE_PING) {
			/* the payload stays in place: the reply is the request */
			h->type = cpu_to_le16(DSPM_WIRE_PONG);
			len = le32_to_cpu(h->length);
			atomic64_inc(&peers->pings);
		} else {
			svc = dspm_peer_service(peers, type);
			if (!svc || le32_to_cpu(h->length) < svc->min_len)
				goto bad;
			len = svc->serve(peers->link, peer_id, pc->buf,
					 pc->reply, pc->conn);
			if (!len)
				goto bad;
			h = pc->reply;
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
 * exposed on them for one-sided reads dies with them (coh_fetch.c: a
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

static const struct file_operations dspm_peer_fops = {
	.owner = THIS_MODULE,
	.open = dspm_peer_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = dspm_peer_write,
};

/* Listen where this node told the dispatcher peers reach it. */
struct dspm_peers *dspm_peers_start(struct dspm_link *link,
				    const struct dspm_peer_service *const *tables)
{
	const struct dspm_peer_service *svc;
	struct dspm_peers *peers;
	struct dspm_addr self;
	int ret;

	peers = kzalloc(sizeof(*peers), GFP_KERNEL);
	if (!peers)
		return ERR_PTR(-ENOMEM);
	/* served from the first connection on: registered before listening */
	for (; *tables; tables++)
		for (svc = *tables; svc->serve; svc++)
			if (!WARN_ON(svc->type < DSPM_WIRE_PEER_TYPE_MIN ||
				     svc->type > DSPM_WIRE_PEER_TYPE_MAX))
				peers->svc[svc->type -
					   DSPM_WIRE_PEER_TYPE_MIN] = svc;
	peers->link = link;
	peers->ops = link->ops;
	mutex_init(&peers->lock);
	init_llist_head(&peers->closing);
	INIT_WORK(&peers->close_work, dspm_peer_close_work);
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
	flush_work(&peers->close_work);
	kfree(peers);
}
