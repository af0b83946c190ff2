// SPDX-License-Identifier: GPL-2.0
/*
 * COMMIT and ABORT on a dataset fd.
 *
 * A commit writes the words the fd changed inside the requested ranges:
 * each dirty page's shadow is compared with its twin (the committed bytes
 * it was copied from) and only the aligned 8-byte words that differ are
 * logged, so words the fd did not touch keep whatever other commits wrote
 * meanwhile, and a word the fd changed is never a mix of two fds'.  The
 * record is sealed, then applied in place with every mapping of those pages
 * zapped and faults held off by apply_sem, so no fd ever maps a page half
 * applied; after the return every fault sees the new bytes.
 */
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/xxhash.h>

#include "internal.h"
#include "trace.h"

static int dspm_span_cmp(const void *a, const void *b)
{
	const struct dspm_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Read and check the caller's ranges and turn them into sorted, merged
 * spans.  No ranges means the whole dataset.  A span reaching the end of
 * the dataset covers the rest of its last page, so committing everything
 * leaves nothing dirty.
 */
int dspm_spans_get(struct dspm_dataset *ds, u64 uranges, u32 nr,
		   struct dspm_span **out, u32 *nr_out)
{
	struct dspm_range *r;
	struct dspm_span *s;
	u32 i, n = 0;

	if (nr > DSPM_RANGES_MAX)
		return -EINVAL;
	if (nr && !uranges)
		return -EFAULT;
	s = kvmalloc_array(max(nr, 1U), sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	if (!nr) {
		s[0].start = 0;
		s[0].end = ds->length;
		nr = 1;
	} else {
		r = (struct dspm_range *)s;
		BUILD_BUG_ON(sizeof(*r) != sizeof(*s));
		if (copy_from_user(r, u64_to_user_ptr(uranges),
				   nr * sizeof(*r))) {
			kvfree(s);
			return -EFAULT;
		}
		for (i = 0; i < nr; i++) {
			u64 off = r[i].offset, len = r[i].length;

			if (!len || off > ds->length || len > ds->length - off) {
				kvfree(s);
				return -EINVAL;
			}
			s[i].start = off;
			s[i].end = off + len;
		}
	}
	sort(s, nr, sizeof(*s), dspm_span_cmp, NULL);
	for (i = 0; i < nr; i++) {
		if (s[i].end == ds->length)
			s[i].end = ds->pages << PAGE_SHIFT;
		if (n && s[i].start <= s[n - 1].end)
			s[n - 1].end = max(s[n - 1].end, s[i].end);
		else
			s[n++] = s[i];
	}
	*out = s;
	*nr_out = n;
	return 0;
}

/* One dirty page's share [a, b) of one span. */
typedef void (*dspm_dirty_fn)(struct dspm_file *f, struct dspm_dirty *d,
			      pgoff_t pgoff, u32 a, u32 b, void *ctx);

/*
 * Call @fn for every dirty page inside the spans, in ascending order; a
 * page two spans touch comes twice, consecutively.  @fn may drop the page.
 */
static void dspm_walk_dirty(struct dspm_file *f, const struct dspm_span *s,
			    u32 nr, dspm_dirty_fn fn, void *ctx)
{
	struct dspm_dirty *d;
	unsigned long idx;
	u32 i;

	lockdep_assert_held(&f->lock);
	for (i = 0; i < nr; i++) {
		xa_for_each_range(&f->dirty, idx, d, s[i].start >> PAGE_SHIFT,
				  (s[i].end - 1) >> PAGE_SHIFT) {
			u64 base = (u64)idx << PAGE_SHIFT;

			fn(f, d, idx, max(s[i].start, base) - base,
			   min(s[i].end, base + PAGE_SIZE) - base, ctx);
		}
	}
}

static bool dspm_whole_page(u32 a, u32 b)
{
	return a == 0 && b == PAGE_SIZE;
}

/* Pages visited and runs of them to zap, merged as they come. */
struct dspm_visit {
	struct dspm_txn *txn;
	u64 pages;
	pgoff_t last;
	bool restored;			/* abort: bytes given back in place */
	pgoff_t run_first;
	pgoff_t run_count;
};

static void dspm_visit_page(struct dspm_file *f, struct dspm_visit *v,
			    pgoff_t pgoff, bool zap)
{
	if (v->pages && pgoff == v->last)
		return;
	v->pages++;
	v->last = pgoff;
	if (!zap)
		return;
	if (v->run_count && pgoff == v->run_first + v->run_count) {
		v->run_count++;
		return;
	}
	if (v->run_count)
		dspm_zap_pages(f->ds, v->run_first, v->run_count);
	v->run_first = pgoff;
	v->run_count = 1;
}

static void dspm_visit_done(struct dspm_file *f, struct dspm_visit *v)
{
	if (v->run_count)
		dspm_zap_pages(f->ds, v->run_first, v->run_count);
	v->run_count = 0;
}

static void dspm_count_fn(struct dspm_file *f, struct dspm_dirty *d,
			  pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	dspm_visit_page(f, ctx, pgoff, false);
}

static void dspm_zap_fn(struct dspm_file *f, struct dspm_dirty *d,
			pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	dspm_visit_page(f, ctx, pgoff, true);
}

/*
 * Call @emit for each run of changed words in [a, b) of @sh against @tw.
 * A naturally aligned 8-byte word with any byte changed goes whole
 * (clipped to [a, b)): two fds that commit different values into one word
 * leave one of the two values there, never a mix of their bytes (abi.md).
 */
static void dspm_diff_runs(const u8 *sh, const u8 *tw, u32 a, u32 b,
			   void (*emit)(void *ctx, u32 start, u32 len),
			   void *ctx)
{
	u32 w, lo, hi, start = 0;
	bool changed, in_run = false;

	for (w = round_down(a, 8); w < b; w += 8) {
		lo = max(w, a);
		hi = min(w + 8, b);
		if (lo == w && hi == w + 8)
			changed = *(const u64 *)(sh + w) != *(const u64 *)(tw + w);
		else
			changed = memcmp(sh + lo, tw + lo, hi - lo);
		if (changed && !in_run) {
			start = lo;
			in_run = true;
		} else if (!changed && in_run) {
			emit(ctx, start, lo - start);
			in_run = false;
		}
	}
	if (in_run)
		emit(ctx, start, b - start);
}

struct dspm_log_page {
	struct dspm_txn *txn;
	u64 target;
	const u8 *shadow;
};

static void dspm_log_run(void *ctx, u32 start, u32 len)
{
	struct dspm_log_page *lp = ctx;

	dspm_txn_add(lp->txn, lp->target + start, lp->shadow + start, len);
}

/* Log the runs of bytes in [a, b) where the shadow differs from its twin. */
static void dspm_log_fn(struct dspm_file *f, struct dspm_dirty *d,
			pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	struct dspm_visit *v = ctx;
	struct dspm_log_page lp = {
		.txn = v->txn,
		.target = dspm_committed_offset(f->ds, pgoff),
		.shadow = page_address(d->shadow),
	};

	dspm_diff_runs(lp.shadow, page_address(d->twin), a, b, dspm_log_run,
		       &lp);
}

/* Validation: has a page the commit writes changed under its twin? */
static void dspm_stale_fn(struct dspm_file *f, struct dspm_dirty *d,
			  pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	bool *stale = ctx;

	if (memcmp(page_address(d->twin), dspm_committed_page(f->ds, pgoff),
		   PAGE_SIZE))
		*stale = true;
}

/* A cluster commit's changes, for the coordinator. */
struct dspm_changes {
	struct dspm_change *ch;
	u32 nr;
	u32 cap;
	bool validate;
	int error;
	/* the page being added */
	pgoff_t page;
	u64 hash;
	const u8 *shadow;
};

static void dspm_change_add(struct dspm_changes *cs, u32 start, u32 len)
{
	struct dspm_change *c;

	if (cs->error)
		return;
	if (cs->nr == cs->cap) {
		u32 cap = max(64U, cs->cap * 2);

		c = kvmalloc_array(cap, sizeof(*c), GFP_KERNEL);
		if (!c) {
			cs->error = -ENOMEM;
			return;
		}
		if (cs->nr)
			memcpy(c, cs->ch, cs->nr * sizeof(*c));
		kvfree(cs->ch);
		cs->ch = c;
		cs->cap = cap;
	}
	c = &cs->ch[cs->nr++];
	c->page = cs->page;
	c->offset = start;
	c->length = len;
	c->base_hash = cs->hash;
	c->bytes = cs->shadow + start;
}

static void dspm_change_run(void *ctx, u32 start, u32 len)
{
	dspm_change_add(ctx, start, len);
}

static void dspm_change_fn(struct dspm_file *f, struct dspm_dirty *d,
			   pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	struct dspm_changes *cs = ctx;
	bool first = !cs->nr || cs->ch[cs->nr - 1].page != pgoff;

	cs->page = pgoff;
	cs->shadow = page_address(d->shadow);
	if (first && cs->validate) {
		/* every page written is validated, changed bytes or not */
		cs->hash = xxh64(page_address(d->twin), PAGE_SIZE, 0);
		dspm_change_add(cs, 0, 0);
	}
	dspm_diff_runs(cs->shadow, page_address(d->twin), a, b,
		       dspm_change_run, cs);
}

static void dspm_drop_dirty(struct dspm_file *f, struct dspm_dirty *d,
			    pgoff_t pgoff)
{
	xa_erase(&f->dirty, pgoff);
	__free_page(d->shadow);
	__free_page(d->twin);
	kfree(d);
	f->nr_dirty--;
}

/* A shadow equal to its twin holds nothing uncommitted: let it go. */
static bool dspm_dirty_clean(const struct dspm_dirty *d)
{
	return !memcmp(page_address(d->shadow), page_address(d->twin),
		       PAGE_SIZE);
}

/*
 * After a commit: whole pages are clean; partial ones move their twin and
 * are clean if nothing else differs.  Their mappings were zapped before the
 * commit and cannot come back while f->lock is held, nor, for a cluster
 * commit (@ctx points to true), while they are marked committing.
 */
static void dspm_settle_fn(struct dspm_file *f, struct dspm_dirty *d,
			   pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	bool *cluster = ctx;

	/* a page made dirty while a cluster commit was sent is not in it */
	if (cluster && *cluster &&
	    !xa_get_mark(&f->dirty, pgoff, DSPM_DIRTY_COMMITTING))
		return;
	if (!dspm_whole_page(a, b)) {
		memcpy(page_address(d->twin) + a, page_address(d->shadow) + a,
		       b - a);
		if (!dspm_dirty_clean(d))
			return;
	}
	dspm_drop_dirty(f, d, pgoff);
}

/* Zap every mapping of the pages: no store reaches them during the commit. */
static void dspm_commit_zap(struct dspm_file *f, const struct dspm_span *s,
			    u32 nr)
{
	struct dspm_visit v = {};

	dspm_walk_dirty(f, s, nr, dspm_zap_fn, &v);
	dspm_visit_done(f, &v);
}

static void dspm_mark_fn(struct dspm_file *f, struct dspm_dirty *d,
			 pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	xa_set_mark(&f->dirty, pgoff, DSPM_DIRTY_COMMITTING);
}

/* The commit is over: faults waiting for its pages go on. */
static void dspm_unmark_all(struct dspm_file *f)
{
	struct dspm_dirty *d;
	unsigned long idx;

	xa_for_each_marked(&f->dirty, idx, d, DSPM_DIRTY_COMMITTING)
		xa_clear_mark(&f->dirty, idx, DSPM_DIRTY_COMMITTING);
	wake_up_all(&f->commit_wait);
}

/*
 * A cluster dataset: two-phase, on every holder (txn_coordinator.c).  Called
 * and returns with f->lock held, but drops it while the commit is on the
 * network: the pages it sends are marked committing (their mappings are
 * zapped and a fault on them waits), and f->commit_lock keeps every other
 * commit, abort and begin of the fd away.
 */
static int dspm_commit_cluster(struct dspm_file *f, const struct dspm_span *s,
			       u32 nr, struct dspm_commit *c)
{
	struct dspm_dataset *ds = f->ds;
	struct dspm_changes cs = { .validate = c->flags & DSPM_COMMIT_VALIDATE };
	u64 start = ktime_get_ns(), bytes = 0, version = 0;
	bool cluster = true;
	u32 i;
	int ret;

	lockdep_assert_held(&f->commit_lock);
	down_write(&ds->apply_sem);
	dspm_commit_zap(f, s, nr);
	up_write(&ds->apply_sem);
	dspm_walk_dirty(f, s, nr, dspm_change_fn, &cs);
	ret = cs.error;
	for (i = 0; i < cs.nr; i++)
		bytes += cs.ch[i].length;
	if (!ret) {
		struct dspm_link *link;
		int idx;

		dspm_walk_dirty(f, s, nr, dspm_mark_fn, NULL);
		mutex_unlock(&f->lock);
		link = dspm_node_link_get(ds->node, &idx);
		ret = link ? dspm_coordinate(ds, link, cs.ch, cs.nr,
					     cs.validate, &version)
			   : -ENOTCONN;
		dspm_node_link_put(ds->node, idx);
		mutex_lock(&f->lock);
	}
	kvfree(cs.ch);
	trace_dspm_commit(ds->id, c->pages, bytes, ktime_get_ns() - start, ret);
	if (ret) {
		dspm_unmark_all(f);
		if (ret == -EAGAIN)
			dspm_stats_conflict(ds->store);
		return ret;
	}
	dspm_walk_dirty(f, s, nr, dspm_settle_fn, &cluster);
	dspm_unmark_all(f);
	f->txn = false;
	atomic64_inc(&ds->store->commits);
	dspm_stats_committed(ds->store, bytes);
	c->version = version;
	return 0;
}

/* MRSW: a dirty page the fd does not own may not be committed. */
static void dspm_unowned_fn(struct dspm_file *f, struct dspm_dirty *d,
			    pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	bool *unowned = ctx;

	if (!dspm_own_covers(f, pgoff))
		*unowned = true;
}

static int dspm_commit_locked(struct dspm_file *f, const struct dspm_span *s,
			      u32 nr, struct dspm_commit *c)
{
	struct dspm_dataset *ds = f->ds;
	struct dspm_store *st = ds->store;
	struct dspm_media_dataset *slot = dspm_store_slot(st, ds->slot);
	struct dspm_visit v = {};
	struct dspm_txn txn;
	__le64 version;
	u64 start = ktime_get_ns(), bytes;
	bool stale = false;
	int ret;

	lockdep_assert_held(&f->lock);
	dspm_walk_dirty(f, s, nr, dspm_count_fn, &v);
	c->pages = v.pages;
	c->version = le64_to_cpu(READ_ONCE(slot->version));
	if (ds->model == DSPM_MODEL_MRSW) {
		bool unowned = false;

		dspm_walk_dirty(f, s, nr, dspm_unowned_fn, &unowned);
		if (unowned)
			return -EPERM;
	}
	if (!v.pages) {
		f->txn = false;
		return 0;
	}
	if (ds->coh)
		return dspm_commit_cluster(f, s, nr, c);
	if (ds->replicas > 1)
		return -EIO;	/* a node outside a cluster holds one copy */

	mutex_lock(&st->log_lock);
	down_write(&ds->apply_sem);
	dspm_commit_zap(f, s, nr);
	if (c->flags & DSPM_COMMIT_VALIDATE)
		dspm_walk_dirty(f, s, nr, dspm_stale_fn, &stale);
	if (stale) {
		up_write(&ds->apply_sem);
		mutex_unlock(&st->log_lock);
		dspm_stats_conflict(st);
		return -EAGAIN;
	}

	dspm_txn_begin(&txn, st);
	memset(&v, 0, sizeof(v));
	v.txn = &txn;
	dspm_walk_dirty(f, s, nr, dspm_log_fn, &v);
	bytes = txn.data_bytes;
	if (txn.data_bytes > dspm_commit_capacity(st))
		txn.error = -EFBIG;
	version = cpu_to_le64(le64_to_cpu(slot->version) + 1);
	dspm_txn_add(&txn, st->table_offset +
		     (u64)ds->slot * DSPM_SLOT_SIZE +
		     offsetof(struct dspm_media_dataset, version),
		     &version, sizeof(version));
	ret = dspm_txn_commit(&txn);
	up_write(&ds->apply_sem);
	mutex_unlock(&st->log_lock);
	trace_dspm_commit(ds->id, c->pages, bytes, ktime_get_ns() - start, ret);
	if (ret)
		return ret;

	dspm_walk_dirty(f, s, nr, dspm_settle_fn, NULL);
	f->txn = false;
	atomic64_inc(&st->commits);
	dspm_stats_committed(st, bytes);
	c->version = le64_to_cpu(version);
	return 0;
}

long dspm_commit(struct dspm_file *f, struct dspm_commit __user *uarg)
{
	struct dspm_own *own;
	struct dspm_commit c;
	struct dspm_span *s;
	u32 nr;
	int ret;

	ret = dspm_copy_arg_in(&c, sizeof(c), DSPM_COMMIT_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (c.flags & ~DSPM_COMMIT_FLAGS_ALL || c.reserved0 ||
	    !dspm_is_zero(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	ret = dspm_arg_writable(uarg, &c, sizeof(c));
	if (ret)
		return ret;
	ret = dspm_spans_get(f->ds, c.ranges, c.nr_ranges, &s, &nr);
	if (ret)
		return ret;
	mutex_lock(&f->commit_lock);
	mutex_lock(&f->lock);
	ret = dspm_commit_locked(f, s, nr, &c);
	/* MRSW: the commit ends the transaction, and the ownership */
	own = ret ? NULL : dspm_own_take(f);
	mutex_unlock(&f->lock);
	dspm_own_end(f, own);
	mutex_unlock(&f->commit_lock);
	kvfree(s);
	if (ret)
		return ret;
	return dspm_copy_arg_out(uarg, &c, sizeof(c));
}

/*
 * Whole pages go (after their mappings); partial ones get those bytes back
 * from their twin, and go too once nothing else differs.
 */
static void dspm_abort_fn(struct dspm_file *f, struct dspm_dirty *d,
			  pgoff_t pgoff, u32 a, u32 b, void *ctx)
{
	struct dspm_visit *v = ctx;

	if (!dspm_whole_page(a, b)) {
		memcpy(page_address(d->shadow) + a, page_address(d->twin) + a,
		       b - a);
		v->restored = true;
		if (!dspm_dirty_clean(d))
			return;
	}
	dspm_zap_pages(f->ds, pgoff, 1);
	dspm_drop_dirty(f, d, pgoff);
	v->pages++;
}

long dspm_abort(struct dspm_file *f, struct dspm_abort __user *uarg)
{
	struct dspm_own *own;
	struct dspm_visit v = {};
	struct dspm_abort a;
	struct dspm_span *s;
	u32 nr;
	int ret;

	ret = dspm_copy_arg_in(&a, sizeof(a), DSPM_ABORT_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (a.flags || a.reserved0 ||
	    !dspm_is_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	ret = dspm_arg_writable(uarg, &a, sizeof(a));
	if (ret)
		return ret;
	ret = dspm_spans_get(f->ds, a.ranges, a.nr_ranges, &s, &nr);
	if (ret)
		return ret;
	mutex_lock(&f->commit_lock);
	mutex_lock(&f->lock);
	dspm_walk_dirty(f, s, nr, dspm_abort_fn, &v);
	f->txn = false;
	own = dspm_own_take(f);
	mutex_unlock(&f->lock);
	dspm_own_end(f, own);
	mutex_unlock(&f->commit_lock);
	kvfree(s);
	trace_dspm_abort(f->ds->id, v.pages);
	if (v.pages || v.restored)
		atomic64_inc(&f->ds->store->aborts);
	a.pages = v.pages;
	return dspm_copy_arg_out(uarg, &a, sizeof(a));
}

long dspm_begin(struct dspm_file *f, struct dspm_begin __user *uarg)
{
	struct dspm_begin b;
	int ret;

	ret = dspm_copy_arg_in(&b, sizeof(b), DSPM_BEGIN_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (b.reserved0 || !dspm_is_zero(b.reserved, sizeof(b.reserved)))
		return -EINVAL;
	if (f->ds->model == DSPM_MODEL_MRSW) {
		if (!f->writable)
			return -EBADF;
		return dspm_own_begin(f, &b);
	}
	if (b.flags || b.ranges || b.nr_ranges)
		return -EINVAL;
	if (!f->writable)
		return -EBADF;
	mutex_lock(&f->commit_lock);
	mutex_lock(&f->lock);
	f->txn = true;
	/* pages already mapped must fault again, to be copied at first use */
	dspm_zap_pages(f->ds, 0, f->ds->pages);
	mutex_unlock(&f->lock);
	mutex_unlock(&f->commit_lock);
	return 0;
}

/* On release: no mapping is left, so the pages just go. */
void dspm_drop_all_dirty(struct dspm_file *f)
{
	struct dspm_dirty *d;
	unsigned long idx;

	if (f->nr_dirty)
		atomic64_inc(&f->ds->store->aborts);
	if (f->nr_dirty)
		trace_dspm_abort(f->ds->id, f->nr_dirty);
	xa_for_each(&f->dirty, idx, d)
		dspm_drop_dirty(f, d, idx);
	xa_destroy(&f->dirty);
}
