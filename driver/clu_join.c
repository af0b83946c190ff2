// SPDX-License-Identifier: GPL-2.0
/* Cluster ioctls of the control fd: JOIN, LEAVE, NODES. */
#include <linux/capability.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"
#include "xprt.h"

/* connects a JOIN tries (after a timeout or a reset), DSPM_LINK_TIMEOUT_MS each */
#define DSPM_JOIN_ATTEMPTS	3

static int dspm_addr_check(const struct dspm_addr *a)
{
	if (a->port == 0 || a->port > 65535)
		return -EINVAL;
	if (a->family == DSPM_AF_INET)
		return dspm_is_zero(a->addr + 4, sizeof(a->addr) - 4) ? 0
								      : -EINVAL;
	return a->family == DSPM_AF_INET6 ? 0 : -EINVAL;
}

void dspm_addr_to_sockaddr(const struct dspm_addr *a,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == DSPM_AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->addr, 16);
	}
}

static int dspm_join_check(const struct dspm_join *j)
{
	if (j->flags || j->reserved0 ||
	    !dspm_is_zero(j->reserved, sizeof(j->reserved)))
		return -EINVAL;
	if (j->transport != DSPM_TRANSPORT_TCP &&
	    j->transport != DSPM_TRANSPORT_RDMA)
		return -EINVAL;
	if (j->key_len < DSPM_KEY_MIN || j->key_len > DSPM_KEY_MAX || !j->key)
		return -EINVAL;
	if (dspm_addr_check(&j->dispatcher))
		return -EINVAL;
	if (j->self.family || j->self.port ||
	    !dspm_is_zero(j->self.addr, sizeof(j->self.addr)))
		return dspm_addr_check(&j->self);
	return 0;
}

static void dspm_link_free(struct dspm_link *link)
{
	kfree_sensitive(link->key);
	kvfree(link->table);
	kvfree(link->rxbuf);
	kfree(link);
}

/* Keep the id the dispatcher gave, so a restarted node rejoins as itself. */
static int dspm_cluster_persist_id(struct dspm_store *st, u32 id)
{
	__le64 v = cpu_to_le64(id);
	struct dspm_txn txn;
	int ret;

	if (le64_to_cpu(dspm_store_sb(st)->node_id) == id)
		return 0;
	mutex_lock(&st->log_lock);
	dspm_txn_begin(&txn, st);
	dspm_txn_add(&txn, offsetof(struct dspm_media_sb, node_id), &v,
		     sizeof(v));
	ret = dspm_txn_commit(&txn);
	mutex_unlock(&st->log_lock);
	return ret;
}

static struct dspm_link *dspm_link_new(struct dspm_store *st,
				       const struct dspm_join *j, u8 *key)
{
	struct dspm_link *link = kzalloc(sizeof(*link), GFP_KERNEL);

	if (!link)
		return NULL;
	link->rxbuf = kvmalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	if (!link->rxbuf) {
		kfree(link);
		return NULL;
	}
	link->ops = j->transport == DSPM_TRANSPORT_RDMA ? &dspm_rdma_transport
						       : &dspm_tcp_transport;
	dspm_addr_to_sockaddr(&j->dispatcher, &link->dispatcher);
	link->key = key;
	link->key_len = j->key_len;
	memcpy(link->uuid, st->uuid, sizeof(link->uuid));
	link->store = st;
	link->capacity = st->data_pages * DSPM_MEDIA_PAGE;
	link->incarnation = get_random_u64() ?: 1;
	link->node_id = le64_to_cpu(dspm_store_sb(st)->node_id);
	mutex_init(&link->conn_lock);
	mutex_init(&link->table_lock);
	spin_lock_init(&link->calls_lock);
	INIT_LIST_HEAD(&link->calls);
	init_waitqueue_head(&link->conn_wait);
	atomic64_set(&link->malformed, 0);
	return link;
}

/*
 * A joined node is composed here, and only here: the link to the
 * dispatcher, the peer server with the services of the layers above it,
 * the commit resolver and the debug files; the link reports membership
 * changes to the coherence layer through these events.
 */
static void dspm_cluster_rejoined(struct dspm_link *link)
{
	dspm_coh_joined(link->node);
}

static void dspm_cluster_node_returned(struct dspm_link *link, u32 id)
{
	if (link->peers)
		dspm_peers_forget(link->peers, id);
	dspm_coh_joined(link->node);
}

static const struct dspm_link_events dspm_cluster_events = {
	.rejoined = dspm_cluster_rejoined,
	.node_returned = dspm_cluster_node_returned,
};

static const struct dspm_peer_service *const dspm_cluster_services[] = {
	dspm_coh_services,
	dspm_txn_services,
	dspm_sync_services,
	NULL,
};

static int dspm_cluster_start(struct dspm_link *link)
{
	int ret;

	dspm_coh_link_init(link);
	link->events = &dspm_cluster_events;
	/* a node peers cannot reach is no use to the cluster */
	link->peers = dspm_peers_start(link, dspm_cluster_services);
	if (IS_ERR(link->peers)) {
		ret = PTR_ERR(link->peers);
		goto exit_coh;
	}
	ret = dspm_link_start(link);
	if (ret)
		goto stop_peers;
	dspm_resolver_start(link);
	dspm_debug_copy_start(link);
	dspm_debug_lanes_start(link);
	dspm_coh_link_start(link);
	return 0;
stop_peers:
	dspm_peers_stop(link->peers);
exit_coh:
	dspm_coh_link_exit(link);
	return ret;
}

/*
 * The link's thread stops before the peers are freed: its events reach
 * them (a returned node's connections are closed).
 */
static void dspm_cluster_stop(struct dspm_link *link)
{
	dspm_debug_lanes_stop(link);
	dspm_debug_copy_stop(link);
	dspm_resolver_stop(link);
	dspm_link_stop(link);
	dspm_peers_stop(link->peers);
	dspm_coh_link_exit(link);
}

long dspm_cluster_join(struct dspm_node *node, void __user *uarg)
{
	struct dspm_link *link = NULL;
	struct dspm_conn *conn;
	struct dspm_join j;
	int ret, attempt;
	u8 *key;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = dspm_copy_arg_in(&j, sizeof(j), DSPM_JOIN_SIZE_VER0, uarg);
	if (!ret)
		ret = dspm_join_check(&j);
	if (!ret)
		ret = dspm_arg_writable(uarg, &j, sizeof(j));
	if (ret)
		return ret;
	key = memdup_user(u64_to_user_ptr(j.key), j.key_len);
	if (IS_ERR(key))
		return PTR_ERR(key);

	/*
	 * The handshake with the dispatcher runs without node->lock, which
	 * the peers' serving threads and every ioctl need: "joining" keeps a
	 * second JOIN and DETACH away meanwhile.
	 */
	mutex_lock(&node->lock);
	if (!node->store)
		ret = -ENODEV;
	else if (node->link_changing)
		ret = -EBUSY;
	else if (dspm_node_link_locked(node))
		ret = -EISCONN;
	if (!ret) {
		link = dspm_link_new(node->store, &j, key);
		ret = link ? 0 : -ENOMEM;
	}
	if (!ret)
		node->link_changing = true;
	mutex_unlock(&node->lock);
	if (ret) {
		kfree_sensitive(key);
		return ret;
	}
	link->node = node;
	if (j.self.family) {
		struct sockaddr_storage ss;

		dspm_addr_to_sockaddr(&j.self, &ss);
		dspm_sockaddr_to_wire(&ss, j.self.port, &link->self);
	}
	/*
	 * A lost connection request is sent again only after seconds (the
	 * RDMA CM's response timeout): on a busy network the first connect
	 * can time out where the next one goes through.  A node that lost
	 * power and joins again can meet the dispatcher's connection to its
	 * previous boot, not yet torn down, and be reset.  The dispatcher
	 * takes a second join of this node as its reconnection.
	 */
	for (attempt = 0; attempt < DSPM_JOIN_ATTEMPTS; attempt++) {
		ret = dspm_link_connect(link, &conn);
		if ((ret != -ETIMEDOUT && ret != -ECONNRESET) ||
		    fatal_signal_pending(current))
			break;
		pr_info("dspm: join: %s; trying again\n",
			ret == -ETIMEDOUT ? "the dispatcher did not answer in time" :
			"the connection was reset");
	}
	if (!ret) {
		ret = dspm_cluster_persist_id(node->store, link->node_id);
		link->conn = conn;
		if (!ret)
			ret = dspm_cluster_start(link);
		if (ret) {
			dspm_conn_close(conn);
			link->conn = NULL;
		}
	}
	mutex_lock(&node->lock);
	node->link_changing = false;
	if (!ret)
		rcu_assign_pointer(node->link, link);
	mutex_unlock(&node->lock);
	if (ret) {
		dspm_link_free(link);
		return ret;
	}
	/* datasets open since before a LEAVE keep no copy the homes forgot */
	dspm_coh_joined(node);
	pr_info("dspm: joined the cluster at %pISpc as node %u\n",
		&link->dispatcher, link->node_id);
	j.node_id = link->node_id;
	return dspm_copy_arg_out(uarg, &j, sizeof(j));
}

/*
 * Take the link off the node (-ENOTCONN without one, -EBUSY while a JOIN
 * or LEAVE runs), cut its connection to the dispatcher so readers still in
 * a call return at once, and wait for every reader to be done with it.
 * DETACH waits for dspm_cluster_unpublished().
 */
static struct dspm_link *dspm_cluster_unpublish(struct dspm_node *node)
{
	struct dspm_link *link;

	mutex_lock(&node->lock);
	link = dspm_node_link_locked(node);
	if (node->link_changing)
		link = ERR_PTR(-EBUSY);
	else if (!link)
		link = ERR_PTR(-ENOTCONN);
	else
		node->link_changing = true;
	if (!IS_ERR(link))
		RCU_INIT_POINTER(node->link, NULL);
	mutex_unlock(&node->lock);
	if (IS_ERR(link))
		return link;
	dspm_link_shutdown(link);
	synchronize_srcu(&node->link_srcu);
	return link;
}

static void dspm_cluster_unpublished(struct dspm_node *node)
{
	mutex_lock(&node->lock);
	node->link_changing = false;
	mutex_unlock(&node->lock);
}

long dspm_cluster_leave(struct dspm_node *node, void __user *uarg)
{
	struct dspm_link *link;
	struct dspm_leave l;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = dspm_copy_arg_in(&l, sizeof(l), DSPM_LEAVE_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (l.flags || !dspm_is_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	link = dspm_cluster_unpublish(node);
	if (IS_ERR(link))
		return PTR_ERR(link);
	dspm_cluster_stop(link);
	pr_info("dspm: node %u left the cluster\n", link->node_id);
	dspm_link_free(link);
	dspm_cluster_unpublished(node);
	return 0;
}

long dspm_cluster_nodes(struct dspm_node *node, void __user *uarg)
{
	struct dspm_node_info *buf = NULL;
	struct dspm_link *link;
	void __user *entries;
	struct dspm_nodes n;
	u32 i, count = 0;
	int ret;

	ret = dspm_copy_arg_in(&n, sizeof(n), DSPM_NODES_SIZE_VER0, uarg);
	if (!ret)
		ret = dspm_arg_writable(uarg, &n, sizeof(n));
	if (ret)
		return ret;
	if (n.flags || !dspm_is_zero(n.reserved, sizeof(n.reserved)) ||
	    n.entry_size < DSPM_NODE_INFO_SIZE_VER0 ||
	    n.entry_size > DSPM_STRUCT_SIZE_MAX)
		return -EINVAL;
	entries = u64_to_user_ptr(n.entries);

	mutex_lock(&node->lock);
	link = dspm_node_link_locked(node);
	if (!link) {
		mutex_unlock(&node->lock);
		return -ENOTCONN;
	}
	n.self_id = link->node_id;
	n.link = READ_ONCE(link->conn) ? DSPM_LINK_CONNECTED
				       : DSPM_LINK_RECONNECTING;
	mutex_lock(&link->table_lock);
	n.total = link->nr_nodes;
	n.epoch = link->epoch;
	count = min(n.capacity, n.total);
	if (count) {
		buf = kvmalloc_array(count, sizeof(*buf), GFP_KERNEL);
		if (buf)
			memcpy(buf, link->table, count * sizeof(*buf));
		else
			ret = -ENOMEM;
	}
	mutex_unlock(&link->table_lock);
	mutex_unlock(&node->lock);
	if (ret)
		return ret;

	for (i = 0; i < count && !ret; i++) {
		void __user *dst = entries + (u64)i * n.entry_size;
		u32 len = min_t(u32, n.entry_size, sizeof(buf[i]));

		buf[i].size = len;
		if (copy_to_user(dst, &buf[i], len) ||
		    (n.entry_size > len && clear_user(dst + len, n.entry_size - len)))
			ret = -EFAULT;
	}
	kvfree(buf);
	if (ret)
		return ret;
	n.count = count;
	return dspm_copy_arg_out(uarg, &n, sizeof(n));
}

/* Module unload: leave quietly. */
void dspm_cluster_exit(struct dspm_node *node)
{
	struct dspm_link *link = dspm_cluster_unpublish(node);

	if (!IS_ERR(link)) {
		dspm_cluster_stop(link);
		dspm_link_free(link);
		dspm_cluster_unpublished(node);
	}
}
