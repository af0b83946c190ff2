// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's side of synchronisation (dspm_wire.h, "Synchronisation"):
 * per dataset, the page ranges fds own for MRSW writes, the cluster-wide
 * locks, and the barrier's members and round.  Requests come from other
 * nodes through peer_server.c or from this node directly (sync_fd.c).  One mutex
 * covers every table and nothing here waits for the network, so a serving
 * thread never blocks on another node.
 *
 * Everything is held by a (node, token) pair.  A holder that vanished
 * without giving up what it held - its node died, or the fd or dataset
 * instance went while a RELEASE was lost - is dropped on a BREAK from a
 * waiter that checked (sync_fd.c), never by a guess here.
 *
 * The tables are in memory only.  A manager that restarts has forgotten
 * them: owners and lock holders keep believing they hold what it may then
 * grant again, and barrier members enter again when they next arrive
 * (Documentation/wire-protocol.md).
 *
 * Locks: Documentation/locking.md (dspm_sync.lock, then table_lock).
 */
#include <linux/list.h>
#include <linux/slab.h>

#include "clu.h"
#include "internal.h"

enum dspm_hold_kind {
	DSPM_HOLD_OWN,			/* pages [a, b) */
	DSPM_HOLD_LOCK,			/* key a */
	DSPM_HOLD_MEMBER,		/* arrived in round a; 0: not yet */
};

struct dspm_sync_hold {
	struct list_head entry;
	enum dspm_hold_kind kind;
	u32 node;
	u64 token;
	u64 a;
	u64 b;
};

/* One dataset's state at its manager. */
struct dspm_sync_set {
	struct list_head entry;		/* on dspm_sync.sets */
	struct list_head holds;
	u64 dataset;
	bool local;			/* a dataset outside any cluster */
	u64 round;			/* the barrier round under way, from 1 */
	u32 members_done;		/* members of the last completed round */
};

static struct dspm_sync_set *dspm_sync_set_find(struct dspm_sync *s,
						u64 dataset, bool local,
						bool create)
{
	struct dspm_sync_set *set;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(set, &s->sets, entry)
		if (set->dataset == dataset && set->local == local)
			return set;
	if (!create)
		return NULL;
	set = kzalloc(sizeof(*set), GFP_KERNEL);
	if (!set)
		return NULL;
	INIT_LIST_HEAD(&set->holds);
	set->dataset = dataset;
	set->local = local;
	set->round = 1;
	list_add(&set->entry, &s->sets);
	return set;
}

/* An empty set goes; its round counter restarts with the next member. */
static void dspm_sync_set_trim(struct dspm_sync_set *set)
{
	if (!list_empty(&set->holds))
		return;
	list_del(&set->entry);
	kfree(set);
}

/*
 * Whether the node table lists node @id as dead or not at all.  Before the
 * first table arrives nobody is known dead.
 */
bool dspm_sync_node_dead(struct dspm_link *link, u32 id)
{
	int state = link ? dspm_link_node_state(link, id, NULL) : -ENODATA;

	return state == 0 || state == DSPM_NODE_DEAD;
}

bool dspm_sync_token_alive(struct dspm_sync *s, u64 token)
{
	return token >> 32 == s->incarnation &&
	       xa_load(&s->tokens, (u32)token);
}

static bool dspm_hold_is(const struct dspm_sync_hold *h, u32 node, u64 token)
{
	return h->node == node && h->token == token;
}

static struct dspm_sync_hold *dspm_hold_new(struct dspm_sync_set *set,
					    enum dspm_hold_kind kind,
					    u32 node, u64 token, u64 a, u64 b)
{
	struct dspm_sync_hold *h = kzalloc(sizeof(*h), GFP_KERNEL);

	if (!h)
		return NULL;
	h->kind = kind;
	h->node = node;
	h->token = token;
	h->a = a;
	h->b = b;
	list_add_tail(&h->entry, &set->holds);
	return h;
}

/* Drop what (@node, @token) holds of @kind, or everything when @kind < 0. */
static void dspm_hold_drop(struct dspm_sync_set *set, int kind, u32 node,
			   u64 token)
{
	struct dspm_sync_hold *h, *tmp;

	list_for_each_entry_safe(h, tmp, &set->holds, entry) {
		if ((kind >= 0 && h->kind != kind) ||
		    !dspm_hold_is(h, node, token))
			continue;
		list_del(&h->entry);
		kfree(h);
	}
}

/* Drop what @token holds, whichever node it says it is from. */
static void dspm_hold_break(struct dspm_sync_set *set, u64 token)
{
	struct dspm_sync_hold *h, *tmp;

	list_for_each_entry_safe(h, tmp, &set->holds, entry) {
		if (h->token != token)
			continue;
		list_del(&h->entry);
		kfree(h);
	}
}

static struct dspm_sync_hold *dspm_member(struct dspm_sync_set *set, u32 node,
					  u64 token)
{
	struct dspm_sync_hold *h;

	list_for_each_entry(h, &set->holds, entry)
		if (h->kind == DSPM_HOLD_MEMBER && dspm_hold_is(h, node, token))
			return h;
	return NULL;
}

/*
 * Complete the round when every member on a node that is not dead has
 * arrived in it.  Returns a member still awaited, or NULL.
 */
static struct dspm_sync_hold *dspm_sync_settle(struct dspm_link *link,
					       struct dspm_sync_set *set)
{
	struct dspm_sync_hold *h;
	u32 live = 0;

	list_for_each_entry(h, &set->holds, entry) {
		if (h->kind != DSPM_HOLD_MEMBER ||
		    dspm_sync_node_dead(link, h->node))
			continue;
		if (h->a != set->round)
			return h;
		live++;
	}
	if (live) {
		set->members_done = live;
		set->round++;
	}
	return NULL;
}

static void dspm_reply_holder(struct dspm_wire_sync_reply *rep,
			      const struct dspm_sync_hold *h)
{
	rep->holder_node = cpu_to_le32(h->node);
	rep->holder_token = cpu_to_le64(h->token);
}

static int dspm_sync_own(struct dspm_sync_set *set, u32 node, u64 token,
			 const struct dspm_wire_sync *req,
			 struct dspm_wire_sync_reply *rep)
{
	u32 count = le32_to_cpu(req->count), i;
	struct dspm_sync_hold *h;
	LIST_HEAD(added);

	for (i = 0; i < count; i++) {
		u64 first = le64_to_cpu(req->ranges[i].first);
		u64 end = first + le64_to_cpu(req->ranges[i].count);

		list_for_each_entry(h, &set->holds, entry) {
			if (h->kind != DSPM_HOLD_OWN ||
			    dspm_hold_is(h, node, token) ||
			    h->b <= first || end <= h->a)
				continue;
			dspm_reply_holder(rep, h);
			return -EAGAIN;
		}
	}
	for (i = 0; i < count; i++) {
		u64 first = le64_to_cpu(req->ranges[i].first);

		h = dspm_hold_new(set, DSPM_HOLD_OWN, node, token, first,
				  first + le64_to_cpu(req->ranges[i].count));
		if (!h) {
			dspm_hold_drop(set, DSPM_HOLD_OWN, node, token);
			return -ENOMEM;
		}
	}
	return 0;
}

static int dspm_sync_lock(struct dspm_sync_set *set, u32 node, u64 token,
			  u64 key, struct dspm_wire_sync_reply *rep)
{
	struct dspm_sync_hold *h;

	list_for_each_entry(h, &set->holds, entry) {
		if (h->kind != DSPM_HOLD_LOCK || h->a != key)
			continue;
		if (dspm_hold_is(h, node, token))
			return -EDEADLK;
		dspm_reply_holder(rep, h);
		return -EAGAIN;
	}
	return dspm_hold_new(set, DSPM_HOLD_LOCK, node, token, key, 0) ?
	       0 : -ENOMEM;
}

static int dspm_sync_unlock(struct dspm_sync_set *set, u32 node, u64 token,
			    u64 key)
{
	struct dspm_sync_hold *h;

	list_for_each_entry(h, &set->holds, entry) {
		if (h->kind == DSPM_HOLD_LOCK && h->a == key &&
		    dspm_hold_is(h, node, token)) {
			list_del(&h->entry);
			kfree(h);
			return 0;
		}
	}
	return -EPERM;
}

static int dspm_sync_arrive(struct dspm_link *link, struct dspm_sync_set *set,
			    u32 node, u64 token,
			    struct dspm_wire_sync_reply *rep)
{
	struct dspm_sync_hold *h = dspm_member(set, node, token);

	if (!h)
		h = dspm_hold_new(set, DSPM_HOLD_MEMBER, node, token, 0, 0);
	if (!h)
		return -ENOMEM;
	h->a = set->round;
	rep->round = cpu_to_le64(set->round);
	dspm_sync_settle(link, set);
	return 0;
}

static int dspm_sync_wait(struct dspm_link *link, struct dspm_sync_set *set,
			  u32 node, u64 token, u64 round,
			  struct dspm_wire_sync_reply *rep)
{
	struct dspm_sync_hold *h;

	/* forgotten (this manager restarted): the caller arrives again */
	if (!dspm_member(set, node, token))
		return -ESTALE;
	h = dspm_sync_settle(link, set);
	rep->round = cpu_to_le64(set->round);
	if (set->round > round)
		return 0;
	if (h)
		dspm_reply_holder(rep, h);
	return -EAGAIN;
}

/* Counts the members of the round a barrier reply is about. */
static u32 dspm_sync_members(struct dspm_link *link,
			     const struct dspm_sync_set *set, u64 round)
{
	const struct dspm_sync_hold *h;
	u32 n = 0;

	if (round < set->round)
		return set->members_done;
	list_for_each_entry(h, &set->holds, entry)
		if (h->kind == DSPM_HOLD_MEMBER &&
		    !dspm_sync_node_dead(link, h->node))
			n++;
	return n;
}

/*
 * Serve @req from node @from (this node itself too) into @rep, whose
 * header the caller has made.  @local: the dataset id is one of this
 * node's datasets outside any cluster.
 */
void dspm_sync_handle(struct dspm_sync *s, struct dspm_link *link, u32 from,
		      bool local, const struct dspm_wire_sync *req,
		      struct dspm_wire_sync_reply *rep)
{
	u32 op = le32_to_cpu(req->op);
	u64 token = le64_to_cpu(req->token), key = le64_to_cpu(req->key);
	struct dspm_sync_set *set, *tmp;
	int ret = 0;

	rep->dataset = req->dataset;
	rep->op = req->op;
	rep->round = 0;
	rep->holder_token = 0;
	rep->holder_node = 0;
	rep->members = 0;

	if (op == DSPM_WIRE_SYNC_ALIVE) {
		ret = dspm_sync_token_alive(s, key) ? 0 : -ESRCH;
		rep->result = cpu_to_le32(-ret);
		return;
	}

	mutex_lock(&s->lock);
	if (op == DSPM_WIRE_SYNC_BREAK) {
		/* a dead token is dead in every dataset */
		list_for_each_entry_safe(set, tmp, &s->sets, entry) {
			dspm_hold_break(set, key);
			dspm_sync_settle(link, set);
			dspm_sync_set_trim(set);
		}
		goto out;
	}
	set = dspm_sync_set_find(s, le64_to_cpu(req->dataset), local,
				 op == DSPM_WIRE_SYNC_OWN ||
				 op == DSPM_WIRE_SYNC_LOCK ||
				 op == DSPM_WIRE_SYNC_MEMBER ||
				 op == DSPM_WIRE_SYNC_ARRIVE ||
				 op == DSPM_WIRE_SYNC_WAIT);
	if (!set) {
		/* nothing held there: giving it up is done already */
		if (op == DSPM_WIRE_SYNC_UNLOCK)
			ret = -EPERM;
		else if (op != DSPM_WIRE_SYNC_DISOWN &&
			 op != DSPM_WIRE_SYNC_RELEASE)
			ret = -ENOMEM;
		goto out;
	}
	switch (op) {
	case DSPM_WIRE_SYNC_OWN:
		ret = dspm_sync_own(set, from, token, req, rep);
		break;
	case DSPM_WIRE_SYNC_DISOWN:
		dspm_hold_drop(set, DSPM_HOLD_OWN, from, token);
		break;
	case DSPM_WIRE_SYNC_LOCK:
		ret = dspm_sync_lock(set, from, token, key, rep);
		break;
	case DSPM_WIRE_SYNC_UNLOCK:
		ret = dspm_sync_unlock(set, from, token, key);
		break;
	case DSPM_WIRE_SYNC_MEMBER:
		if (!dspm_member(set, from, token) &&
		    !dspm_hold_new(set, DSPM_HOLD_MEMBER, from, token, 0, 0))
			ret = -ENOMEM;
		break;
	case DSPM_WIRE_SYNC_ARRIVE:
		ret = dspm_sync_arrive(link, set, from, token, rep);
		rep->members = cpu_to_le32(dspm_sync_members(link, set,
							     le64_to_cpu(rep->round)));
		break;
	case DSPM_WIRE_SYNC_WAIT:
		ret = dspm_sync_wait(link, set, from, token, key, rep);
		rep->members = cpu_to_le32(dspm_sync_members(link, set, key));
		break;
	case DSPM_WIRE_SYNC_RELEASE:
		dspm_hold_drop(set, -1, from, token);
		dspm_sync_settle(link, set);
		break;
	}
	dspm_sync_set_trim(set);
out:
	mutex_unlock(&s->lock);
	rep->result = cpu_to_le32(-ret);
}

/* Module exit: every fd and dataset is gone, only the tables are left. */
void dspm_sync_tables_exit(struct dspm_sync *s)
{
	struct dspm_sync_set *set, *tmp;

	struct dspm_sync_hold *h, *next;

	list_for_each_entry_safe(set, tmp, &s->sets, entry) {
		list_for_each_entry_safe(h, next, &set->holds, entry)
			kfree(h);
		list_del(&set->entry);
		kfree(set);
	}
}

/*
 * A SYNC from node @peer; the reply goes to @reply.  Returns the reply's
 * length, or 0 for a malformed request.
 */
static u32 dspm_sync_serve(struct dspm_link *link, u32 peer, void *buf,
			   void *reply, struct dspm_conn *conn)
{
	const struct dspm_wire_sync *req = buf;
	struct dspm_wire_sync_reply *rep = reply;
	u32 len = le32_to_cpu(req->hdr.length);
	u32 count = le32_to_cpu(req->count), op = le32_to_cpu(req->op), i;
	bool own = op == DSPM_WIRE_SYNC_OWN;

	/* only OWN carries ranges, and at least one */
	if (len < sizeof(*req) || count > DSPM_WIRE_SYNC_RANGES_MAX ||
	    len != struct_size(req, ranges, count) || !op ||
	    op > DSPM_WIRE_SYNC_OP_MAX || req->reserved || !req->token ||
	    own != !!count)
		return 0;
	for (i = 0; i < count; i++) {
		u64 first = le64_to_cpu(req->ranges[i].first);
		u64 n = le64_to_cpu(req->ranges[i].count);

		if (!n || first > U64_MAX - n)
			return 0;
	}
	dspm_wire_reply_hdr(rep, &req->hdr, DSPM_WIRE_SYNC_REPLY, sizeof(*rep));
	dspm_sync_handle(&link->node->sync, link, peer, false, req, rep);
	return sizeof(*rep);
}

const struct dspm_peer_service dspm_sync_services[] = {
	{ DSPM_WIRE_SYNC, sizeof(struct dspm_wire_sync), dspm_sync_serve },
	{ }
};
