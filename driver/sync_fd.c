// SPDX-License-Identifier: GPL-2.0
/*
 * Synchronisation on a dataset fd: MRSW write ownership (BEGIN on an MRSW
 * dataset), cluster-wide locks (LOCK, UNLOCK) and barriers (BARRIER).
 * The tables live at managers (sync_manager.c): the home of a page's chunk
 * for its ownership, the home of the dataset's first chunk for locks and
 * barriers, this node itself outside a cluster.
 *
 * Nothing waits at a manager: a request that cannot be granted is answered
 * EAGAIN with the holder in the way, and the caller pauses (with growing,
 * jittered delays) and asks again.  Ownership of pages on several homes is
 * taken all or nothing: on any EAGAIN the caller gives back what it got
 * before it pauses, so no two BEGINs wait for each other.  Every few pauses
 * the caller checks the holder in the way: when the node table says its
 * node is dead, or its node says the token is no longer in use, the caller
 * has the manager drop what that token held (BREAK).  So a crashed owner
 * never blocks the others for longer than the dispatcher takes to declare
 * it dead, and a lost release for longer than a check.
 *
 * Tokens name holders: one per fd (its locks and ownership), one per open
 * dataset instance on a node (its barrier membership).  A token is the
 * boot's random incarnation above a number allocated here, so a restarted
 * node never claims what its predecessor held.
 */
#include <linux/delay.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "clu.h"
#include "internal.h"

#define DSPM_SYNC_PAUSE_MIN_MS	1U
#define DSPM_SYNC_PAUSE_MAX_MS	64U
#define DSPM_SYNC_PROBE_EVERY	8	/* pauses between checks of a holder */

/* A run of pages [first, end) owned at @home. */
struct dspm_own_run {
	u32 home;
	u64 first;
	u64 end;
};

/* What an MRSW BEGIN took: runs sorted by home, then page. */
struct dspm_own {
	u32 nr;
	struct dspm_own_run runs[];
};

/* A RELEASE to send once a dataset instance is gone. */
struct dspm_sync_release {
	struct work_struct work;
	struct dspm_node *node;
	u64 dataset;
	u64 token;
	u32 manager;
};

int dspm_sync_init(struct dspm_sync *s)
{
	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->sets);
	xa_init_flags(&s->tokens, XA_FLAGS_ALLOC1);
	s->incarnation = get_random_u32() | 1;
	s->wq = alloc_ordered_workqueue("dspm_sync", 0);
	return s->wq ? 0 : -ENOMEM;
}

/* Module exit: the queued RELEASEs go out first. */
void dspm_sync_exit(struct dspm_sync *s)
{
	destroy_workqueue(s->wq);
	dspm_sync_tables_exit(s);
	xa_destroy(&s->tokens);
}

static int dspm_token_new(struct dspm_sync *s, u64 *token)
{
	u32 id;
	int ret;

	ret = xa_alloc_cyclic(&s->tokens, &id, xa_mk_value(1), xa_limit_32b,
			      &s->next_token, GFP_KERNEL);
	if (ret < 0)
		return ret;
	*token = (u64)s->incarnation << 32 | id;
	return 0;
}

static void dspm_token_free(struct dspm_sync *s, u64 token)
{
	if (token)
		xa_erase(&s->tokens, (u32)token);
}

/* The manager of locks and barriers: the home of the first chunk. */
static u32 dspm_sync_manager(struct dspm_dataset *ds)
{
	u32 nr;

	return ds->coh ? dspm_coh_holders(ds->coh, 0, &nr)[0] : 0;
}

/*
 * @req (its dataset, op, token, key and ranges set; @len bytes) to
 * @manager, or served here; @local: a dataset outside any cluster, whose
 * manager is this node.  Returns the reply's result as -errno, or the
 * call's error.
 */
static int dspm_sync_send(struct dspm_node *node, bool local, u32 manager,
			  struct dspm_wire_sync *req, u32 len,
			  struct dspm_wire_sync_reply *rep)
{
	struct dspm_link *link;
	int idx, ret = 0;
	u32 result;

	req->hdr.type = cpu_to_le16(DSPM_WIRE_SYNC);
	if (local) {
		dspm_wire_hdr_init(&req->hdr, DSPM_WIRE_SYNC, len, 0, 0);
		dspm_sync_handle(&node->sync, NULL, 0, true, req, rep);
	} else {
		link = dspm_node_link_get(node, &idx);
		if (!link) {
			ret = -ENOTCONN;
		} else if (manager == READ_ONCE(link->node_id)) {
			dspm_wire_hdr_init(&req->hdr, DSPM_WIRE_SYNC, len,
					   manager, 0);
			dspm_sync_handle(&node->sync, link, manager, false, req,
					 rep);
		} else {
			ret = dspm_peer_call(link->peers, manager, req, len,
					     DSPM_WIRE_SYNC_REPLY, rep,
					     sizeof(*rep));
		}
		dspm_node_link_put(node, idx);
		if (ret)
			return ret;
	}
	result = le32_to_cpu(rep->result);
	if (rep->op != req->op || rep->dataset != req->dataset ||
	    result > DSPM_WIRE_ERRNO_MAX)
		return -EPROTO;
	return -(int)result;
}

/* dspm_sync_send() for @ds. */
static int dspm_sync_call(struct dspm_dataset *ds, u32 manager,
			  struct dspm_wire_sync *req, u32 len,
			  struct dspm_wire_sync_reply *rep)
{
	req->dataset = cpu_to_le64(ds->coh ? dspm_coh_cluster_id(ds->coh) :
				   ds->id);
	return dspm_sync_send(ds->node, !ds->coh, manager, req, len, rep);
}

/* A request without ranges. */
static int dspm_sync_simple(struct dspm_dataset *ds, u32 manager, u32 op,
			    u64 token, u64 key,
			    struct dspm_wire_sync_reply *rep)
{
	struct dspm_wire_sync req = {};

	req.op = cpu_to_le32(op);
	req.token = cpu_to_le64(token);
	req.key = cpu_to_le64(key);
	return dspm_sync_call(ds, manager, &req, sizeof(req), rep);
}

static bool dspm_sync_holder_dead(struct dspm_dataset *ds, u32 id)
{
	struct dspm_node *node = ds->node;
	bool dead;
	int idx;

	if (!ds->coh)
		return false;
	dead = dspm_sync_node_dead(dspm_node_link_get(node, &idx), id);
	dspm_node_link_put(node, idx);
	return dead;
}

/*
 * The holder @rep names stands in the way: when it is gone for good, have
 * @manager drop whatever it held.  An unreachable node that the node table
 * still lists is not gone: its locks stay until the dispatcher says so.
 */
static void dspm_sync_probe(struct dspm_dataset *ds, u32 manager, u64 token,
			    const struct dspm_wire_sync_reply *rep)
{
	u32 holder = le32_to_cpu(rep->holder_node);
	u64 held_by = le64_to_cpu(rep->holder_token);
	struct dspm_wire_sync_reply r;

	if (!held_by || held_by == token)
		return;
	if (!dspm_sync_holder_dead(ds, holder) &&
	    dspm_sync_simple(ds, holder, DSPM_WIRE_SYNC_ALIVE, token, held_by,
			     &r) != -ESRCH)
		return;
	pr_info_ratelimited("dspm: dataset %llu: node %u's holder %llx is gone, taking over\n",
			    ds->id, holder, held_by);
	dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_BREAK, token, held_by, &r);
}

struct dspm_sync_wait {
	unsigned int ms;
	unsigned int pauses;
};

/* Pause before asking again; -EINTR on a signal. */
static int dspm_sync_pause(struct dspm_dataset *ds, u32 manager, u64 token,
			   struct dspm_sync_wait *w,
			   const struct dspm_wire_sync_reply *rep)
{
	if (++w->pauses % DSPM_SYNC_PROBE_EVERY == 0)
		dspm_sync_probe(ds, manager, token, rep);
	w->ms = clamp(w->ms * 2, DSPM_SYNC_PAUSE_MIN_MS, DSPM_SYNC_PAUSE_MAX_MS);
	msleep_interruptible(w->ms / 2 + get_random_u32() % (w->ms / 2 + 1));
	return signal_pending(current) ? -EINTR : 0;
}

/* ------------------------------------------------------------------ */
/* Tokens and barrier membership of fds and dataset instances         */

int dspm_sync_file_init(struct dspm_file *f)
{
	atomic_set(&f->locks, 0);
	return dspm_token_new(&f->ds->node->sync, &f->token);
}

int dspm_sync_dataset_init(struct dspm_dataset *ds)
{
	mutex_init(&ds->sync_lock);
	return dspm_token_new(&ds->node->sync, &ds->token);
}

/*
 * The first fd of a dataset on this node makes the node a barrier member,
 * so a barrier waits for it before its first BARRIER.  Best effort: an
 * unreachable manager learns it at the node's first ARRIVE.
 */
void dspm_sync_dataset_open(struct dspm_dataset *ds)
{
	struct dspm_wire_sync_reply rep;

	mutex_lock(&ds->sync_lock);
	if (!ds->member)
		ds->member = !dspm_sync_simple(ds, dspm_sync_manager(ds),
					       DSPM_WIRE_SYNC_MEMBER, ds->token,
					       0, &rep);
	mutex_unlock(&ds->sync_lock);
}

static void dspm_sync_release_work(struct work_struct *work)
{
	struct dspm_sync_release *r = container_of(work, typeof(*r), work);
	struct dspm_wire_sync_reply rep;
	struct dspm_wire_sync req = {};

	req.dataset = cpu_to_le64(r->dataset);
	req.op = cpu_to_le32(DSPM_WIRE_SYNC_RELEASE);
	req.token = cpu_to_le64(r->token);
	/* if lost, the token is dead anyway: the next waiter breaks it */
	dspm_sync_send(r->node, false, r->manager, &req, sizeof(req), &rep);
	kfree(r);
}

/*
 * The dataset instance is going (its last fd closed): the node leaves the
 * barrier.  Served threads may drop the last reference, and must not wait
 * for the network, so a remote manager is told from a workqueue.
 */
void dspm_sync_dataset_free(struct dspm_dataset *ds)
{
	struct dspm_node *node = ds->node;
	struct dspm_sync_release *r;

	if (!ds->token)
		return;
	dspm_token_free(&node->sync, ds->token);
	if (!ds->coh) {
		struct dspm_wire_sync_reply rep;

		dspm_sync_simple(ds, 0, DSPM_WIRE_SYNC_RELEASE, ds->token, 0,
				 &rep);
		return;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return;		/* the token is dead: the next waiter breaks it */
	INIT_WORK(&r->work, dspm_sync_release_work);
	r->node = node;
	r->dataset = dspm_coh_cluster_id(ds->coh);
	r->token = ds->token;
	r->manager = dspm_sync_manager(ds);
	queue_work(node->sync.wq, &r->work);
}

/* ------------------------------------------------------------------ */
/* MRSW ownership                                                      */

static int dspm_own_run_cmp(const void *a, const void *b)
{
	const struct dspm_own_run *x = a, *y = b;

	if (x->home != y->home)
		return x->home < y->home ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/*
 * The pages the byte spans touch, cut at chunk boundaries and sorted by
 * home, with adjacent runs of one home merged.
 */
static struct dspm_own *dspm_own_plan(struct dspm_dataset *ds,
				      const struct dspm_span *s, u32 nr)
{
	u64 chunk = ds->coh ? dspm_coh_chunk_pages(ds->coh) : ds->pages;
	struct dspm_own *own;
	u32 i, n = 0, cap = 0;
	u64 p, end;

	for (i = 0; i < nr; i++) {
		p = s[i].start >> PAGE_SHIFT;
		end = DIV_ROUND_UP(s[i].end, PAGE_SIZE);
		cap += div64_u64(end - 1, chunk) - div64_u64(p, chunk) + 1;
	}
	own = kvzalloc(struct_size(own, runs, cap), GFP_KERNEL);
	if (!own)
		return NULL;
	for (i = 0; i < nr; i++) {
		end = DIV_ROUND_UP(s[i].end, PAGE_SIZE);
		for (p = s[i].start >> PAGE_SHIFT; p < end;) {
			u64 stop = min(end, (div64_u64(p, chunk) + 1) * chunk);
			u32 holders;

			own->runs[n].home = ds->coh ?
				dspm_coh_holders(ds->coh, p, &holders)[0] : 0;
			own->runs[n].first = p;
			own->runs[n].end = stop;
			n++;
			p = stop;
		}
	}
	sort(own->runs, n, sizeof(own->runs[0]), dspm_own_run_cmp, NULL);
	for (i = 0; i < n; i++) {
		struct dspm_own_run *last = own->nr ? &own->runs[own->nr - 1] :
					    NULL;

		if (last && last->home == own->runs[i].home &&
		    own->runs[i].first <= last->end)
			last->end = max(last->end, own->runs[i].end);
		else
			own->runs[own->nr++] = own->runs[i];
	}
	return own;
}

/* Give back what @f's token owns at each home of runs [0, @upto). */
static int dspm_own_disown(struct dspm_file *f, const struct dspm_own *own,
			   u32 upto)
{
	struct dspm_wire_sync_reply rep;
	int ret, err = 0;
	u32 i;

	for (i = 0; i < upto; i++) {
		if (i && own->runs[i].home == own->runs[i - 1].home)
			continue;
		ret = dspm_sync_simple(f->ds, own->runs[i].home,
				       DSPM_WIRE_SYNC_DISOWN, f->token, 0, &rep);
		if (ret)
			err = ret;
	}
	return err;
}

/*
 * One attempt: OWN at every home in ascending order.  0 when all granted;
 * otherwise nothing is kept and @rep names the holder on -EAGAIN.
 */
static int dspm_own_try(struct dspm_file *f, const struct dspm_own *own,
			struct dspm_wire_sync *req,
			struct dspm_wire_sync_reply *rep, u32 *manager)
{
	u32 i = 0, k;
	int ret;

	while (i < own->nr) {
		u32 home = own->runs[i].home;

		memset(req, 0, sizeof(*req));
		for (k = 0; i < own->nr && own->runs[i].home == home &&
		     k < DSPM_WIRE_SYNC_RANGES_MAX; i++, k++) {
			req->ranges[k].first = cpu_to_le64(own->runs[i].first);
			req->ranges[k].count = cpu_to_le64(own->runs[i].end -
							   own->runs[i].first);
		}
		req->op = cpu_to_le32(DSPM_WIRE_SYNC_OWN);
		req->token = cpu_to_le64(f->token);
		req->count = cpu_to_le32(k);
		*manager = home;
		ret = dspm_sync_call(f->ds, home, req,
				     struct_size(req, ranges, k), rep);
		if (ret) {
			/* the home that refused may have granted a part */
			dspm_own_disown(f, own, min(i, own->nr));
			return ret;
		}
	}
	return 0;
}

long dspm_own_begin(struct dspm_file *f, const struct dspm_begin *b)
{
	struct dspm_wire_sync_reply rep;
	struct dspm_sync_wait w = {};
	struct dspm_wire_sync *req;
	struct dspm_own *own;
	struct dspm_span *s;
	u32 nr, manager;
	int ret;

	if (b->flags & ~DSPM_BEGIN_FLAGS_ALL)
		return -EINVAL;
	ret = dspm_spans_get(f->ds, b->ranges, b->nr_ranges, &s, &nr);
	if (ret)
		return ret;
	own = dspm_own_plan(f->ds, s, nr);
	kvfree(s);
	req = kvmalloc(struct_size(req, ranges, DSPM_WIRE_SYNC_RANGES_MAX),
		       GFP_KERNEL);
	if (!own || !req) {
		ret = -ENOMEM;
		goto out;
	}
	mutex_lock(&f->lock);
	ret = f->own || f->owning ? -EBUSY : 0;
	if (!ret)
		f->owning = true;
	mutex_unlock(&f->lock);
	if (ret)
		goto out;
	for (;;) {
		ret = dspm_own_try(f, own, req, &rep, &manager);
		if (ret != -EAGAIN || (b->flags & DSPM_BEGIN_NONBLOCK))
			break;
		ret = dspm_sync_pause(f->ds, manager, f->token, &w, &rep);
		if (ret)
			break;
	}
	mutex_lock(&f->lock);
	f->owning = false;
	if (!ret) {
		f->own = own;
		own = NULL;
	}
	mutex_unlock(&f->lock);
out:
	kvfree(req);
	kvfree(own);
	return ret;
}

bool dspm_own_covers(const struct dspm_file *f, pgoff_t pgoff)
{
	u32 i;

	lockdep_assert_held(&f->lock);
	if (!f->own)
		return false;
	for (i = 0; i < f->own->nr; i++)
		if (f->own->runs[i].first <= pgoff && pgoff < f->own->runs[i].end)
			return true;
	return false;
}

/* The transaction ends: the pages it owned, for dspm_own_end(), or NULL. */
struct dspm_own *dspm_own_take(struct dspm_file *f)
{
	struct dspm_own *own = f->own;

	lockdep_assert_held(&f->lock);
	f->own = NULL;
	return own;
}

/*
 * Give back the pages dspm_own_take() took, without f->lock: DISOWN goes
 * over the network.  A home that cannot be told keeps them for a token
 * that is then retired, so the next waiter finds it dead and breaks it; a
 * token that holds locks stays, with the ownership.
 */
void dspm_own_end(struct dspm_file *f, struct dspm_own *own)
{
	u64 token;

	if (!own)
		return;
	if (dspm_own_disown(f, own, own->nr) && !atomic_read(&f->locks) &&
	    !dspm_token_new(&f->ds->node->sync, &token)) {
		dspm_token_free(&f->ds->node->sync, f->token);
		WRITE_ONCE(f->token, token);
	}
	kvfree(own);
}

/* ------------------------------------------------------------------ */
/* Locks and barriers                                                  */

long dspm_lock_ioctl(struct dspm_file *f, void __user *uarg, bool lock)
{
	struct dspm_dataset *ds = f->ds;
	u32 manager = dspm_sync_manager(ds);
	struct dspm_wire_sync_reply rep;
	struct dspm_sync_wait w = {};
	struct dspm_lock l;
	int ret;

	ret = dspm_copy_arg_in(&l, sizeof(l), DSPM_LOCK_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (l.flags & ~(lock ? DSPM_LOCK_FLAGS_ALL : 0) ||
	    !dspm_is_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	if (!lock) {
		ret = dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_UNLOCK,
				       f->token, l.key, &rep);
		if (!ret)
			atomic_dec(&f->locks);
		return ret;
	}
	for (;;) {
		ret = dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_LOCK,
				       f->token, l.key, &rep);
		if (ret != -EAGAIN || (l.flags & DSPM_LOCK_NONBLOCK))
			break;
		ret = dspm_sync_pause(ds, manager, f->token, &w, &rep);
		if (ret)
			return ret;
	}
	if (!ret)
		atomic_inc(&f->locks);
	return ret;
}

long dspm_barrier_ioctl(struct dspm_file *f, void __user *uarg)
{
	struct dspm_dataset *ds = f->ds;
	u32 manager = dspm_sync_manager(ds);
	struct dspm_wire_sync_reply rep;
	struct dspm_sync_wait w = {};
	struct dspm_barrier b;
	u64 round;
	int ret;

	ret = dspm_copy_arg_in(&b, sizeof(b), DSPM_BARRIER_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (b.flags || b.reserved0 || !dspm_is_zero(b.reserved,
						    sizeof(b.reserved)))
		return -EINVAL;
	ret = dspm_arg_writable(uarg, &b, sizeof(b));
	if (ret)
		return ret;

	/* join the round this node entered, unless it completed */
	mutex_lock(&ds->sync_lock);
	round = ds->barrier_round;
	if (round && dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_WAIT,
				      ds->token, round, &rep) != -EAGAIN)
		round = 0;
	if (!round) {
		ret = dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_ARRIVE,
				       ds->token, 0, &rep);
		round = ret ? 0 : le64_to_cpu(rep.round);
		ds->member = !ret;
	}
	ds->barrier_round = round;
	mutex_unlock(&ds->sync_lock);
	if (ret)
		return ret;

	for (;;) {
		ret = dspm_sync_simple(ds, manager, DSPM_WIRE_SYNC_WAIT,
				       ds->token, round, &rep);
		if (ret == -ESTALE) {
			/* the manager restarted: enter its new round */
			mutex_lock(&ds->sync_lock);
			ret = dspm_sync_simple(ds, manager,
					       DSPM_WIRE_SYNC_ARRIVE, ds->token,
					       0, &rep);
			if (!ret && ds->barrier_round == round)
				ds->barrier_round = le64_to_cpu(rep.round);
			if (!ret)
				round = le64_to_cpu(rep.round);
			mutex_unlock(&ds->sync_lock);
			if (ret)
				return ret;
			continue;
		}
		if (ret != -EAGAIN)
			break;
		ret = dspm_sync_pause(ds, manager, ds->token, &w, &rep);
		if (ret)
			return ret;
	}
	if (ret)
		return ret;
	mutex_lock(&ds->sync_lock);
	if (ds->barrier_round == round)
		ds->barrier_round = 0;
	mutex_unlock(&ds->sync_lock);
	b.round = round;
	b.nodes = le32_to_cpu(rep.members);
	return dspm_copy_arg_out(uarg, &b, sizeof(b));
}

/* The fd is closing: its ownership and locks go. */
void dspm_sync_file_release(struct dspm_file *f)
{
	struct dspm_wire_sync_reply rep;
	struct dspm_own *own;

	mutex_lock(&f->lock);
	own = dspm_own_take(f);
	mutex_unlock(&f->lock);
	dspm_own_end(f, own);
	if (atomic_read(&f->locks))
		dspm_sync_simple(f->ds, dspm_sync_manager(f->ds),
				 DSPM_WIRE_SYNC_RELEASE, f->token, 0, &rep);
	dspm_token_free(&f->ds->node->sync, f->token);
}
