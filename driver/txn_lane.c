// SPDX-License-Identifier: GPL-2.0
/*
 * Prepare lanes: the durable half of the two-phase commit (media_layout.h).
 *
 * A participant fills a lane with a transaction's entries while the
 * coordinator sends them, seals it PREPARED, and later marks it COMMITTED
 * (then applies it) or frees it.  A coordinator keeps its decision in a
 * lane of its own until every participant has applied it.  The in-memory
 * table says which lanes are in use and which media pages each prepared
 * transaction has locked: a page is locked while any lane holding it is
 * in use, so lanes are the page locks too.
 *
 * Locks: Documentation/locking.md; dspm_lanes.lock comes before log_lock
 * (recovery applies committed lanes under it) and is never held across
 * a network call.
 */
#include <linux/bsearch.h>
#include <linux/crc32c.h>
#include <linux/libnvdimm.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "internal.h"
#include "txn_lane.h"

static struct dspm_media_lane_header *
dspm_lane_header(struct dspm_store *st, u32 i)
{
	return st->base + st->log_offset + st->log_bytes -
	       (u64)(DSPM_LANES - i) * dspm_lane_bytes(st);
}

static void *dspm_lane_payload(struct dspm_store *st, u32 i)
{
	return (void *)dspm_lane_header(st, i) + DSPM_LOG_HEADER_BYTES;
}

u64 dspm_lane_capacity(struct dspm_store *st)
{
	return dspm_lane_bytes(st) - DSPM_LOG_HEADER_BYTES;
}

/*
 * Write the header but its state word, then - after a fence - the state,
 * which seals it.  The old state stays until then: a PREPARED lane turning
 * COMMITTED is never free in between.
 */
static void dspm_lane_seal(struct dspm_store *st, struct dspm_lane *l, u32 kind,
			   u64 payload_bytes, u32 nr_entries, u32 csum,
			   u64 version)
{
	struct dspm_media_lane_header h = {};
	__le64 state = cpu_to_le64(DSPM_LANE_STATE(l->txn, kind));
	const size_t skip = sizeof(h.state);

	h.txn = cpu_to_le64(l->txn);
	h.payload_bytes = cpu_to_le64(payload_bytes);
	h.nr_entries = cpu_to_le32(nr_entries);
	h.csum = cpu_to_le32(csum);
	h.coordinator = cpu_to_le32(l->coordinator);
	h.slot = cpu_to_le32(l->slot);
	h.cluster_id = cpu_to_le64(l->cluster_id);
	h.version = cpu_to_le64(version);
	BUILD_BUG_ON(offsetof(struct dspm_media_lane_header, state) != 0);
	dspm_persist((void *)dspm_lane_header(st, l->index) + skip,
		     (void *)&h + skip, sizeof(h) - skip);
	pmem_wmb();
	dspm_persist(&dspm_lane_header(st, l->index)->state, &state,
		     sizeof(state));
	pmem_wmb();
}

static void dspm_lane_retire(struct dspm_store *st, u32 i)
{
	__le64 zero = 0;

	dspm_persist(&dspm_lane_header(st, i)->state, &zero, sizeof(zero));
	pmem_wmb();
}

static void dspm_lane_clear(struct dspm_lane *l)
{
	u32 index = l->index;

	kvfree(l->mpages);
	kvfree(l->dpages);
	kfree(l->nodes);
	memset(l, 0, sizeof(*l));
	l->index = index;
}

static bool dspm_lane_coordinating(const struct dspm_lane *l)
{
	return l->use == DSPM_LANE_INFLIGHT || l->use == DSPM_LANE_DECIDED;
}

/*
 * The lane of @txn in the role @coordinator says: a coordinator that holds
 * pages of its own transaction has a lane in each role.
 */
struct dspm_lane *dspm_lane_find(struct dspm_store *st, u64 txn,
				 bool coordinator)
{
	struct dspm_lanes *ls = st->lanes;
	struct dspm_lane *l;
	u32 i;

	lockdep_assert_held(&ls->lock);
	for (i = 0; i < DSPM_LANES; i++) {
		l = &ls->lane[i];
		if (l->use != DSPM_LANE_FREE && l->txn == txn &&
		    dspm_lane_coordinating(l) == coordinator)
			return l;
	}
	return NULL;
}

struct dspm_lane *dspm_lane_alloc(struct dspm_store *st, u64 txn,
				  enum dspm_lane_use use, u32 coordinator)
{
	struct dspm_lanes *ls = st->lanes;
	u32 i;

	lockdep_assert_held(&ls->lock);
	for (i = 0; i < DSPM_LANES; i++) {
		struct dspm_lane *l = &ls->lane[i];

		if (l->use != DSPM_LANE_FREE)
			continue;
		l->use = use;
		l->txn = txn;
		l->coordinator = coordinator;
		l->stamp = jiffies;
		l->csum = ~0U;		/* the redo log's crc32c seed */
		return l;
	}
	return NULL;
}

/* Retire the lane on the media (if it was sealed) and forget it. */
void dspm_lane_release(struct dspm_store *st, struct dspm_lane *l)
{
	lockdep_assert_held(&st->lanes->lock);
	if (l->use != DSPM_LANE_FILLING_UNSEALED &&
	    l->use != DSPM_LANE_INFLIGHT)
		dspm_lane_retire(st, l->index);
	dspm_lane_clear(l);
}

static int dspm_u64_cmp(const void *a, const void *b)
{
	const u64 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static bool dspm_lane_has(const struct dspm_lane *l, u64 mpage)
{
	u32 i;

	/* a filling lane is in arrival order; sealed ones are sorted */
	if (l->sorted)
		return bsearch(&mpage, l->mpages, l->nr_mpages, sizeof(u64),
			       dspm_u64_cmp);
	for (i = 0; i < l->nr_mpages; i++)
		if (l->mpages[i] == mpage)
			return true;
	return false;
}

static bool dspm_lane_locks(const struct dspm_lane *l)
{
	return l->use == DSPM_LANE_FILLING_UNSEALED ||
	       l->use == DSPM_LANE_PREPARED;
}

/*
 * Lock the media page @mpage (dataset page @dpage) for lane @l: -EAGAIN
 * when another lane holds it.
 */
int dspm_lane_lock_page(struct dspm_store *st, struct dspm_lane *l, u64 mpage,
			u64 dpage)
{
	struct dspm_lanes *ls = st->lanes;
	u32 i, cap;

	lockdep_assert_held(&ls->lock);
	if (l->nr_mpages && l->mpages[l->nr_mpages - 1] == mpage)
		return 0;
	for (i = 0; i < DSPM_LANES; i++) {
		struct dspm_lane *o = &ls->lane[i];

		if (o != l && dspm_lane_locks(o) && dspm_lane_has(o, mpage))
			return -EAGAIN;
	}
	if (l->nr_mpages == l->cap_mpages) {
		u64 *m, *d;

		cap = max(16U, l->cap_mpages * 2);
		m = kvmalloc_array(cap, sizeof(u64), GFP_KERNEL);
		d = kvmalloc_array(cap, sizeof(u64), GFP_KERNEL);
		if (!m || !d) {
			kvfree(m);
			kvfree(d);
			return -ENOMEM;
		}
		if (l->nr_mpages) {
			memcpy(m, l->mpages, l->nr_mpages * sizeof(u64));
			memcpy(d, l->dpages, l->nr_mpages * sizeof(u64));
		}
		kvfree(l->mpages);
		kvfree(l->dpages);
		l->mpages = m;
		l->dpages = d;
		l->cap_mpages = cap;
	}
	l->mpages[l->nr_mpages] = mpage;
	l->dpages[l->nr_mpages++] = dpage;
	return 0;
}

/* Start filling lane @l with entries (outside lanes->lock: @l is ours). */
void dspm_lane_txn_begin(struct dspm_store *st, struct dspm_lane *l,
			 struct dspm_txn *txn)
{
	txn->st = st;
	txn->payload = dspm_lane_payload(st, l->index);
	txn->capacity = dspm_lane_capacity(st);
	txn->used = l->used;
	txn->data_bytes = l->data_bytes;
	txn->nr_entries = l->nr_entries;
	txn->csum = l->csum;
	txn->error = 0;
}

void dspm_lane_txn_end(struct dspm_lane *l, const struct dspm_txn *txn)
{
	l->used = txn->used;
	l->data_bytes = txn->data_bytes;
	l->nr_entries = txn->nr_entries;
	l->csum = txn->csum;
}

/* Every entry is in: seal the lane PREPARED; its pages stay locked. */
void dspm_lane_prepare(struct dspm_store *st, struct dspm_lane *l)
{
	dspm_lane_seal(st, l, DSPM_LANE_KIND_PREPARED, l->used, l->nr_entries,
		       l->csum, 0);
}

/* Called with the lane marked busy and log_lock held. */
void dspm_lane_commit(struct dspm_store *st, struct dspm_lane *l, u64 version)
{
	lockdep_assert_held(&st->log_lock);
	dspm_lane_seal(st, l, DSPM_LANE_KIND_COMMITTED, l->used, l->nr_entries,
		       l->csum, version);
}

/* Apply a COMMITTED lane's entries and its slot's version; log_lock held. */
void dspm_lane_apply(struct dspm_store *st, struct dspm_lane *l, u64 version)
{
	__le64 v = cpu_to_le64(version);

	lockdep_assert_held(&st->log_lock);
	/* a peer reading these pages with RDMA READ sees the word odd */
	dspm_store_seq_begin(st, l->slot);
	dspm_log_walk(st, dspm_lane_payload(st, l->index),
		      dspm_lane_capacity(st), l->used, l->nr_entries, l->csum,
		      true, true);
	dspm_persist(&dspm_store_slot(st, l->slot)->version, &v, sizeof(v));
	pmem_wmb();
	dspm_store_seq_end(st, l->slot);
}

/* Room for @nr participants of a decision, none acknowledged yet. */
static int dspm_lane_nodes_alloc(struct dspm_lane *l, u32 nr)
{
	l->nodes = kcalloc(nr, sizeof(*l->nodes) + sizeof(*l->acked),
			   GFP_KERNEL);
	if (!l->nodes)
		return -ENOMEM;
	l->acked = (bool *)(l->nodes + nr);
	l->nr_nodes = nr;
	return 0;
}

/* A coordinator's decision: the participants, sealed in the lane. */
int dspm_lane_decide(struct dspm_store *st, struct dspm_lane *l,
		     const u32 *nodes, u32 nr)
{
	__le32 *ids = dspm_lane_payload(st, l->index);
	u64 bytes = (u64)nr * sizeof(*ids);
	u32 i, csum;
	int ret;

	if (bytes > dspm_lane_capacity(st))
		return -EFBIG;
	ret = dspm_lane_nodes_alloc(l, nr);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		__le32 id = cpu_to_le32(nodes[i]);

		l->nodes[i] = nodes[i];
		dspm_persist(&ids[i], &id, sizeof(id));
	}
	csum = crc32c(~0U, ids, bytes);
	dspm_lane_seal(st, l, DSPM_LANE_KIND_DECISION, bytes, nr, csum, 0);
	return 0;
}

/*
 * Lock the pages a recovered PREPARED lane's entries touch, sorted.  Their
 * dataset page numbers matter once it is resolved: a commit invalidates
 * them at the readers served since the restart, which may have fetched
 * the bytes from before it.
 */
static int dspm_lane_recover_pages(struct dspm_store *st, struct dspm_lane *l)
{
	const struct dspm_media_dataset *d = dspm_store_slot(st, l->slot);
	void *p = dspm_lane_payload(st, l->index);
	u64 off = 0, first, last, pg;
	u32 i;
	int ret;

	for (i = 0; i < l->nr_entries; i++) {
		struct dspm_media_log_entry *e = p + off;
		u64 target = le64_to_cpu(e->target);
		u32 len = le32_to_cpu(e->length);

		first = target / DSPM_MEDIA_PAGE;
		last = (target + max(len, 1U) - 1) / DSPM_MEDIA_PAGE;
		for (pg = first; pg <= last; pg++) {
			ret = dspm_lane_lock_page(st, l, pg,
						  dspm_slot_page_at(st, d, pg));
			if (ret)
				return ret;
		}
		off += sizeof(*e) + round_up((u64)len, 8);
	}
	sort(l->mpages, l->nr_mpages, sizeof(u64), dspm_u64_cmp, NULL);
	l->sorted = true;
	return 0;
}

/*
 * At attach, after the redo log: finish COMMITTED lanes, keep PREPARED
 * ones (in doubt: the resolver asks their coordinator) and decisions
 * (their participants are told again).
 */
static int dspm_lanes_recover(struct dspm_store *st)
{
	struct dspm_lanes *ls = st->lanes;
	u32 i;
	int ret = 0;

	mutex_lock(&ls->lock);
	for (i = 0; i < DSPM_LANES && !ret; i++) {
		struct dspm_media_lane_header *h = dspm_lane_header(st, i);
		struct dspm_lane *l = &ls->lane[i];
		u64 txn = le64_to_cpu(h->txn), state = le64_to_cpu(h->state);
		u32 kind;

		for (kind = DSPM_LANE_KIND_PREPARED;
		     kind <= DSPM_LANE_KIND_DECISION; kind++)
			if (state == DSPM_LANE_STATE(txn, kind))
				break;
		if (kind > DSPM_LANE_KIND_DECISION)
			continue;
		l->txn = txn;
		l->used = le64_to_cpu(h->payload_bytes);
		l->nr_entries = le32_to_cpu(h->nr_entries);
		l->csum = le32_to_cpu(h->csum);
		l->coordinator = le32_to_cpu(h->coordinator);
		l->slot = le32_to_cpu(h->slot);
		l->cluster_id = le64_to_cpu(h->cluster_id);
		l->stamp = jiffies;
		if (kind == DSPM_LANE_KIND_DECISION) {
			__le32 *ids = dspm_lane_payload(st, i);
			u32 n = l->nr_entries, k;

			if (l->used != (u64)n * 4 || l->used > dspm_lane_capacity(st) ||
			    crc32c(~0U, ids, l->used) != l->csum) {
				ret = -EUCLEAN;
				break;
			}
			l->use = DSPM_LANE_DECIDED;
			ret = dspm_lane_nodes_alloc(l, n);
			if (ret)
				break;
			for (k = 0; k < n; k++)
				l->nodes[k] = le32_to_cpu(ids[k]);
			pr_info("dspm: transaction %llx: decided commit, telling %u participants again\n",
				txn, n);
			continue;
		}
		if (l->slot >= st->table_slots ||
		    dspm_log_walk(st, dspm_lane_payload(st, i),
				  dspm_lane_capacity(st), l->used,
				  l->nr_entries, l->csum, false, false)) {
			pr_err("dspm: prepare lane %u fails its checks\n", i);
			ret = -EUCLEAN;
			break;
		}
		if (kind == DSPM_LANE_KIND_COMMITTED) {
			mutex_lock(&st->log_lock);
			dspm_lane_apply(st, l, le64_to_cpu(h->version));
			dspm_lane_retire(st, i);
			mutex_unlock(&st->log_lock);
			pr_info("dspm: transaction %llx: applied its committed lane\n",
				txn);
			dspm_lane_clear(l);
			continue;
		}
		l->use = DSPM_LANE_PREPARED;
		ret = dspm_lane_recover_pages(st, l);
		pr_info("dspm: transaction %llx of node %u in doubt: asking it\n",
			txn, l->coordinator);
	}
	mutex_unlock(&ls->lock);
	return ret;
}

int dspm_lanes_init(struct dspm_store *st)
{
	struct dspm_lanes *ls;
	u32 i;
	int ret;

	ls = kzalloc(sizeof(*ls), GFP_KERNEL);
	if (!ls)
		return -ENOMEM;
	mutex_init(&ls->lock);
	for (i = 0; i < DSPM_LANES; i++)
		ls->lane[i].index = i;
	st->lanes = ls;
	if (dspm_lane_bytes(st) <= DSPM_LOG_HEADER_BYTES)
		return 0;
	ret = dspm_lanes_recover(st);
	if (ret)
		dspm_lanes_free(st);
	return ret;
}

void dspm_lanes_free(struct dspm_store *st)
{
	u32 i;

	if (!st->lanes)
		return;
	for (i = 0; i < DSPM_LANES; i++)
		dspm_lane_clear(&st->lanes->lane[i]);
	kfree(st->lanes);
	st->lanes = NULL;
}

/* Format: every lane free. */
void dspm_lanes_format(struct dspm_store *st)
{
	__le64 zero = 0;
	u32 i;

	if (dspm_lane_bytes(st) <= DSPM_LOG_HEADER_BYTES)
		return;
	for (i = 0; i < DSPM_LANES; i++)
		dspm_persist(&dspm_lane_header(st, i)->state, &zero,
			     sizeof(zero));
	pmem_wmb();
}
