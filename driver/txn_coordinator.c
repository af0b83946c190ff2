// SPDX-License-Identifier: GPL-2.0
/*
 * The coordinator side of the two-phase commit of a cluster dataset
 * (dspm_wire.h, "Commit of a cluster dataset").
 *
 * The participants are every holder of every page the commit changes, so
 * a successful commit is durable on the dataset's replication degree of
 * nodes.  PREPAREs go to each participant in turn (this node's own share
 * is served by a direct call); a participant that reports a conflict makes
 * the whole attempt abort and retry after a short random pause, a bounded
 * number of times, and then fail with EAGAIN.  A validated commit whose
 * pages changed (ESTALE from a participant) fails with EAGAIN at once - no
 * retry can pass with the same copies - and this node drops its cached
 * copies of those pages, so the caller's next attempt reads them from
 * their home even if an invalidation was missed.  A participant that
 * cannot be reached fails the commit with EIO: the degree cannot be met.
 * Nothing of an aborted attempt is visible anywhere: participants apply
 * nothing before the decision, which this node writes to a lane of its own
 * pmem before any participant hears of it.  A signal ends a commit only
 * before that point (-EINTR, after the aborts); after it the commit goes
 * on to its result.
 *
 * Called with the fd's commit_lock held and inside the node's link_srcu
 * read section, so the link stays; f->lock is not held.
 */
#include <linux/delay.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"
#include "trace.h"

#define DSPM_COMMIT_ATTEMPTS	10
#define DSPM_PARTICIPANTS_MAX	DSPM_WIRE_NODES_MAX

static void dspm_wire_txn_checks(void)
{
	BUILD_BUG_ON(sizeof(struct dspm_wire_prepare) != DSPM_WIRE_PREPARE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_prepare_entry) !=
		     DSPM_WIRE_PREPARE_ENTRY_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_prepared) != DSPM_WIRE_PREPARED_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_decide) != DSPM_WIRE_DECIDE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_decided) != DSPM_WIRE_DECIDED_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_txn_query) !=
		     DSPM_WIRE_TXN_QUERY_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_txn_state) !=
		     DSPM_WIRE_TXN_STATE_SIZE);
}

static int dspm_u32_cmp(const void *a, const void *b)
{
	const u32 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* The distinct participants of the changes, ascending. */
static int dspm_participants(struct dspm_coh *coh, const struct dspm_change *ch,
			     u32 nr, u32 *ids)
{
	u32 n = 0, i, k, j, count;
	const u32 *h;

	for (i = 0; i < nr; i++) {
		if (i && ch[i].page == ch[i - 1].page)
			continue;
		h = dspm_coh_holders(coh, ch[i].page, &count);
		for (k = 0; k < count; k++) {
			for (j = 0; j < n && ids[j] != h[k]; j++)
				;
			if (j < n)
				continue;
			if (n == DSPM_PARTICIPANTS_MAX)
				return -E2BIG;
			ids[n++] = h[k];
		}
	}
	sort(ids, n, sizeof(u32), dspm_u32_cmp, NULL);
	return n;
}

static bool dspm_change_for(struct dspm_coh *coh, const struct dspm_change *c,
			    u32 id)
{
	u32 count, k;
	const u32 *h = dspm_coh_holders(coh, c->page, &count);

	for (k = 0; k < count; k++)
		if (h[k] == id)
			return true;
	return false;
}

struct dspm_coordinator {
	struct dspm_dataset *ds;
	struct dspm_link *link;
	const struct dspm_change *ch;
	u32 nr;
	bool validate;
	u64 txn;
	char name[DSPM_NAME_MAX];
	struct dspm_wire_prepare *msg;	/* DSPM_WIRE_MAX_MESSAGE bytes */
};

static void dspm_prepare_start(struct dspm_coordinator *co)
{
	struct dspm_wire_prepare *m = co->msg;

	memset(m, 0, sizeof(*m));
	m->hdr.type = cpu_to_le16(DSPM_WIRE_PREPARE);
	m->txn = cpu_to_le64(co->txn);
	m->dataset = cpu_to_le64(dspm_coh_cluster_id(co->ds->coh));
	memcpy(m->name, co->name, DSPM_NAME_MAX);
	m->flags = cpu_to_le32(co->validate ? DSPM_WIRE_PREPARE_VALIDATE : 0);
}

static int dspm_prepare_send(struct dspm_coordinator *co, u32 id, u32 len,
			     bool last)
{
	struct dspm_wire_prepared ok;
	int ret;

	if (last)
		co->msg->flags |= cpu_to_le32(DSPM_WIRE_PREPARE_LAST);
	ret = dspm_peer_call(co->link->peers, id, co->msg, len, DSPM_WIRE_PREPARED, &ok,
			     sizeof(ok));
	if (!ret && le64_to_cpu(ok.txn) != co->txn)
		ret = -EPROTO;
	return ret;
}

/* Every change participant @id holds, in as many PREPAREs as it takes. */
static int dspm_prepare_one(struct dspm_coordinator *co, u32 id)
{
	struct dspm_wire_prepare *m = co->msg;
	u32 len = sizeof(*m), count = 0, i, pages = 0;
	u64 last_page = U64_MAX;
	int ret;

	dspm_prepare_start(co);
	for (i = 0; i < co->nr; i++) {
		const struct dspm_change *c = &co->ch[i];
		struct dspm_wire_prepare_entry *e;
		u32 need = sizeof(*e) + round_up(c->length, 8);

		if (!dspm_change_for(co->ds->coh, c, id))
			continue;
		if (len + need > DSPM_WIRE_PREPARE_MAX) {
			m->count = cpu_to_le32(count);
			ret = dspm_prepare_send(co, id, len, false);
			if (ret)
				return ret;
			dspm_prepare_start(co);
			len = sizeof(*m);
			count = 0;
		}
		e = (void *)m + len;
		e->page = cpu_to_le64(c->page);
		e->base_hash = cpu_to_le64(c->base_hash);
		e->offset = cpu_to_le32(c->offset);
		e->length = cpu_to_le32(c->length);
		memcpy(e + 1, c->bytes, c->length);
		memset((void *)(e + 1) + c->length, 0,
		       round_up(c->length, 8) - c->length);
		len += need;
		count++;
		if (c->page != last_page)
			pages++;
		last_page = c->page;
	}
	m->count = cpu_to_le32(count);
	ret = dspm_prepare_send(co, id, len, true);
	trace_dspm_prepare(co->txn, id, pages, ret);
	return ret;
}

static void dspm_decide_all(struct dspm_coordinator *co, const u32 *ids, u32 n,
			    u32 decision, bool *acked, u64 *version)
{
	struct dspm_wire_decide req;
	struct dspm_wire_decided done;
	u32 i;

	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		req.hdr.type = cpu_to_le16(DSPM_WIRE_DECIDE);
		req.txn = cpu_to_le64(co->txn);
		req.decision = cpu_to_le32(decision);
		if (dspm_peer_call(co->link->peers, ids[i], &req, sizeof(req),
				   DSPM_WIRE_DECIDED, &done, sizeof(done)) ||
		    le64_to_cpu(done.txn) != co->txn)
			continue;
		if (acked)
			acked[i] = true;
		if (version)
			*version = max(*version, le64_to_cpu(done.version));
	}
}

/*
 * A signal the caller may catch ends a commit only before its decision,
 * with -EINTR and nothing of it applied anywhere (abi.md, "Signals"); once
 * decided the commit runs to its result, its calls holding signals off.
 */
static int dspm_signalled(void)
{
	return signal_pending(current) ? -EINTR : 0;
}

/* Errors that mean a participant is out of reach: the degree is not met. */
static bool dspm_unreachable(int err)
{
	switch (err) {
	case -EHOSTUNREACH:
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -ECONNABORTED:
	case -ETIMEDOUT:
	case -ENOTCONN:
	case -EPIPE:
	case -ENETUNREACH:
		return true;
	default:
		return false;
	}
}

/* One attempt: 0, or an error after every participant was told to abort. */
static int dspm_attempt(struct dspm_coordinator *co, const u32 *ids, u32 n,
			u64 *version)
{
	struct dspm_store *st = co->ds->store;
	struct dspm_lane *l;
	u32 i, self = READ_ONCE(co->link->node_id), unacked = 0;
	int ret = 0;

	co->txn = ((u64)self << 48) | (get_random_u64() & GENMASK_ULL(47, 0));
	if (!(co->txn & GENMASK_ULL(47, 0)))
		co->txn |= 1;
	mutex_lock(&st->lanes->lock);
	l = dspm_lane_alloc(st, co->txn, DSPM_LANE_INFLIGHT, self);
	if (l)
		l->busy = true;
	mutex_unlock(&st->lanes->lock);
	if (!l)
		return -EAGAIN;

	for (i = 0; i < n && !ret; i++)
		ret = dspm_signalled() ?: dspm_prepare_one(co, ids[i]);
	if (!ret) {
		dspm_debug_prepared_stall();
		/* the last moment a signal may end the commit */
		ret = dspm_signalled() ?: dspm_lane_decide(st, l, ids, n);
	}
	if (ret) {
		/* the failed one too: it may have prepared before failing */
		dspm_decide_all(co, ids, min(i, n), DSPM_WIRE_ABORT, NULL, NULL);
		mutex_lock(&st->lanes->lock);
		dspm_lane_release(st, l);
		mutex_unlock(&st->lanes->lock);
		return ret;
	}
	mutex_lock(&st->lanes->lock);
	l->use = DSPM_LANE_DECIDED;
	mutex_unlock(&st->lanes->lock);
	dspm_debug_decided_stall();

	/* the lane is busy: the resolver leaves its acknowledgements alone */
	dspm_decide_all(co, ids, n, DSPM_WIRE_COMMIT, l->acked, version);
	mutex_lock(&st->lanes->lock);
	for (i = 0; i < n; i++)
		unacked += !l->acked[i];
	l->busy = false;
	l->stamp = jiffies;
	if (!unacked)
		dspm_lane_release(st, l);
	mutex_unlock(&st->lanes->lock);
	if (unacked)
		pr_warn_ratelimited("dspm: transaction %llx committed; %u participants apply it when reachable\n",
				    co->txn, unacked);
	return 0;
}

/* A validation failed: the copies read may have missed an invalidation. */
static void dspm_drop_copies(struct dspm_dataset *ds,
			     const struct dspm_change *ch, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		if (!i || ch[i].page != ch[i - 1].page)
			dspm_coh_drop(ds, ch[i].page);
}

/*
 * Commit @nr changes (pages ascending) of cluster dataset @ds on every
 * holder of their pages.  @validate: each changed page must still read as
 * its base_hash says at every holder.  Returns 0 with the dataset's
 * highest version among the participants, -EAGAIN after repeated
 * conflicts or at once when a validated page changed, -EIO when a holder
 * is out of reach, or another error; on any error nothing of the commit
 * is visible.
 */
int dspm_coordinate(struct dspm_dataset *ds, struct dspm_link *link,
		    const struct dspm_change *ch, u32 nr, bool validate,
		    u64 *version)
{
	struct dspm_coordinator co = {
		.ds = ds, .link = link, .ch = ch, .nr = nr,
		.validate = validate,
	};
	u32 *ids = NULL, attempt;
	int n, ret;

	dspm_wire_txn_checks();
	if (!ds->store->lanes || dspm_lane_bytes(ds->store) <= DSPM_LOG_HEADER_BYTES)
		return -EFBIG;
	memcpy(co.name, dspm_store_slot(ds->store, ds->slot)->name,
	       DSPM_NAME_MAX);
	ids = kmalloc_array(DSPM_PARTICIPANTS_MAX, sizeof(*ids), GFP_KERNEL);
	co.msg = kvmalloc(DSPM_WIRE_MAX_MESSAGE, GFP_KERNEL);
	ret = -ENOMEM;
	if (!ids || !co.msg)
		goto out;
	n = dspm_participants(ds->coh, ch, nr, ids);
	ret = n;
	if (n < 0)
		goto out;
	for (attempt = 0; attempt < DSPM_COMMIT_ATTEMPTS; attempt++) {
		*version = 0;
		ret = dspm_attempt(&co, ids, n, version);
		if ((ret != -EAGAIN && ret != -EBUSY) ||
		    attempt + 1 == DSPM_COMMIT_ATTEMPTS)
			break;
		/* someone else holds a page: let them finish, at random */
		usleep_range(500, 1000 + (get_random_u32() % (1000U << min(attempt, 5U))));
		if (dspm_signalled()) {
			ret = -EINTR;
			break;
		}
	}
	if (ret == -ESTALE)
		dspm_drop_copies(ds, ch, nr);
	if (ret == -EBUSY || ret == -ESTALE)
		ret = -EAGAIN;
	if (dspm_unreachable(ret))
		ret = -EIO;
out:
	kvfree(co.msg);
	kfree(ids);
	return ret;
}
