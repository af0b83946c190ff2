// SPDX-License-Identifier: GPL-2.0
/*
 * The participant side of the two-phase commit (dspm_wire.h, "Commit of a
 * cluster dataset"): PREPARE locks, validates and logs the pages of a
 * transaction in a lane, DECIDE applies or drops it, TXN_QUERY tells a
 * participant in doubt what this node, as coordinator, decided.  Requests
 * come from the peer server's threads, or from this node's coordinator
 * through dspm_peer_call() when it holds pages itself.  Locks:
 * Documentation/locking.md; none is held across a call to another node
 * or the dispatcher.
 */
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/xxhash.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"

/* Entries of a PREPARE: in bounds, pages ascending; their count, or < 0. */
static int dspm_part_check_entries(const struct dspm_wire_prepare *req)
{
	u32 len = le32_to_cpu(req->hdr.length), flags = le32_to_cpu(req->flags);
	u32 count = le32_to_cpu(req->count), i, n;
	const void *p = req + 1, *end = (const void *)req + len;
	u64 prev = 0;

	if (len < sizeof(*req) || len > DSPM_WIRE_PREPARE_MAX ||
	    flags & ~(DSPM_WIRE_PREPARE_LAST | DSPM_WIRE_PREPARE_VALIDATE) ||
	    !req->dataset || !req->txn)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		const struct dspm_wire_prepare_entry *e = p;
		u64 page;
		u32 off;

		if (end - p < sizeof(*e))
			return -EINVAL;
		page = le64_to_cpu(e->page);
		off = le32_to_cpu(e->offset);
		n = le32_to_cpu(e->length);
		if (off >= DSPM_WIRE_PAGE_SIZE || n > DSPM_WIRE_PAGE_SIZE - off ||
		    (!n && !(flags & DSPM_WIRE_PREPARE_VALIDATE)) ||
		    (i && page < prev) ||
		    end - p - sizeof(*e) < round_up(n, 8))
			return -EINVAL;
		prev = page;
		p += sizeof(*e) + round_up(n, 8);
	}
	return p == end ? count : -EINVAL;
}

/*
 * The table slot of the dataset a PREPARE names, made on first use; every
 * page of the request must be one this node holds.
 */
static int dspm_part_slot(struct dspm_link *link,
			  const struct dspm_wire_prepare *req, u32 count)
{
	struct dspm_node *node = link->node;
	const struct dspm_wire_dataset_reply *r;
	struct dspm_wire_dataset_reply *placement = NULL;
	struct dspm_chunk_map *where;
	const void *p = req + 1;
	char name[DSPM_NAME_MAX];
	int slot;
	u32 i;

	memcpy(name, req->name, DSPM_NAME_MAX);
	if (dspm_name_check(name))
		return -EINVAL;
	mutex_lock(&node->lock);
	slot = node->store ? dspm_ns_find_cluster(node->store,
						 le64_to_cpu(req->dataset))
			   : -ENODEV;
	mutex_unlock(&node->lock);
	/* known here: the pages are checked against the dataset's size */
	if (slot >= 0 || slot == -ENODEV)
		return slot;
	/* first use: ask the dispatcher, without node->lock */
	slot = dspm_cluster_ns_lookup(link, name, &placement);
	if (slot < 0)
		return slot;
	r = placement;
	if (le64_to_cpu(r->dataset.id) != le64_to_cpu(req->dataset)) {
		slot = -ENOENT;
	} else {
		mutex_lock(&node->lock);
		slot = dspm_cluster_ns_slot(node, r);
		mutex_unlock(&node->lock);
	}
	where = slot >= 0 ? dspm_chunk_map_new(r) : NULL;
	if (slot >= 0 && !where)
		slot = -ENOMEM;
	for (i = 0; i < count && slot >= 0; i++) {
		const struct dspm_wire_prepare_entry *e = p;

		if (!dspm_chunk_map_holds(where, le64_to_cpu(e->page),
					  link->node_id))
			slot = -EINVAL;
		p += sizeof(*e) + round_up(le32_to_cpu(e->length), 8);
	}
	dspm_chunk_map_free(where);
	kvfree(placement);
	return slot;
}

/* Lanes of @st are in use for @txn: give them up (pages unlocked). */
static void dspm_part_drop(struct dspm_store *st, u64 txn)
{
	struct dspm_lane *l;

	mutex_lock(&st->lanes->lock);
	l = dspm_lane_find(st, txn, false);
	if (l && !l->busy)
		dspm_lane_release(st, l);
	mutex_unlock(&st->lanes->lock);
}

/* PREPARE: lock, validate, log the entries; PREPARED when the last came. */
static u32 dspm_part_prepare(struct dspm_link *link, u32 peer,
			     const struct dspm_wire_prepare *req, void *reply)
{
	struct dspm_store *st = link->store;
	struct dspm_wire_prepared *ok = reply;
	u32 flags = le32_to_cpu(req->flags), i, count;
	u64 txn = le64_to_cpu(req->txn), pages, prev_page = U64_MAX;
	struct dspm_media_dataset *d;
	struct dspm_lane *l;
	struct dspm_txn t;
	const void *p;
	int ret, slot;

	ret = dspm_part_check_entries(req);
	if (ret < 0)
		return 0;
	count = ret;
	if (dspm_lane_bytes(st) <= DSPM_LOG_HEADER_BYTES)
		return dspm_wire_reply_error(reply, &req->hdr, -EFBIG);
	slot = dspm_part_slot(link, req, count);
	if (slot < 0)
		return dspm_wire_reply_error(reply, &req->hdr, slot);
	d = dspm_store_slot(st, slot);
	pages = le64_to_cpu(d->pages);

	mutex_lock(&st->lanes->lock);
	l = dspm_lane_find(st, txn, false);
	if (!l) {
		l = dspm_lane_alloc(st, txn, DSPM_LANE_FILLING_UNSEALED, peer);
		if (l) {
			l->slot = slot;
			l->cluster_id = le64_to_cpu(req->dataset);
		}
	}
	ret = 0;
	if (!l)
		ret = -EAGAIN;		/* every lane busy: try again */
	else if (l->use != DSPM_LANE_FILLING_UNSEALED || l->busy ||
		 l->coordinator != peer || l->slot != slot)
		ret = -EINVAL;
	for (i = 0, p = req + 1; i < count && !ret; i++) {
		const struct dspm_wire_prepare_entry *e = p;
		u64 page = le64_to_cpu(e->page);

		if (page >= pages)
			ret = -EINVAL;
		else
			ret = dspm_lane_lock_page(st, l,
						  dspm_slot_page_offset(st, d, page) /
						  DSPM_MEDIA_PAGE, page);
		p += sizeof(*e) + round_up(le32_to_cpu(e->length), 8);
	}
	if (l && !ret)
		l->busy = true;
	mutex_unlock(&st->lanes->lock);
	if (ret)
		goto fail;

	/* the pages are ours now: nothing else changes them */
	dspm_lane_txn_begin(st, l, &t);
	for (i = 0, p = req + 1; i < count; i++) {
		const struct dspm_wire_prepare_entry *e = p;
		u64 page = le64_to_cpu(e->page);
		u64 at = dspm_slot_page_offset(st, d, page);
		u32 n = le32_to_cpu(e->length);

		if (flags & DSPM_WIRE_PREPARE_VALIDATE && page != prev_page &&
		    xxh64(st->base + at, DSPM_MEDIA_PAGE, 0) !=
		    le64_to_cpu(e->base_hash)) {
			/* not a lock to wait for: the coordinator's copy is old */
			t.error = -ESTALE;
			break;
		}
		prev_page = page;
		if (n)
			dspm_txn_add(&t, at + le32_to_cpu(e->offset), e + 1, n);
		p += sizeof(*e) + round_up(n, 8);
	}
	ret = t.error;
	mutex_lock(&st->lanes->lock);
	dspm_lane_txn_end(l, &t);
	l->busy = false;
	l->stamp = jiffies;
	mutex_unlock(&st->lanes->lock);
	if (ret)
		goto fail;
	if (flags & DSPM_WIRE_PREPARE_LAST) {
		dspm_lane_prepare(st, l);
		mutex_lock(&st->lanes->lock);
		l->use = DSPM_LANE_PREPARED;
		l->sorted = false;
		mutex_unlock(&st->lanes->lock);
	}
	dspm_wire_reply_hdr(ok, &req->hdr, DSPM_WIRE_PREPARED, sizeof(*ok));
	ok->txn = req->txn;
	return sizeof(*ok);
fail:
	dspm_part_drop(st, txn);
	return dspm_wire_reply_error(reply, &req->hdr, ret);
}

/*
 * Finish lane @l (marked busy by the caller): apply it when @commit, then
 * free it.  Returns the dataset's version here after a commit, else 0.
 */
u64 dspm_part_finish(struct dspm_link *link, struct dspm_lane *l,
		     bool commit)
{
	struct dspm_node *node = link->node;
	struct dspm_store *st = link->store;
	struct dspm_dataset *ds = NULL;
	u64 version = 0, *pages = NULL, cluster_id = l->cluster_id;
	u32 i, n = 0;

	if (commit) {
		mutex_lock(&node->lock);
		ds = xa_load(&node->open, l->slot);
		mutex_lock(&st->log_lock);
		version = le64_to_cpu(dspm_store_slot(st, l->slot)->version) + 1;
		dspm_lane_commit(st, l, version);
		if (ds) {
			down_write(&ds->apply_sem);
			for (i = 0; i < l->nr_mpages; i++)
				if (l->dpages[i] != U64_MAX)
					dspm_zap_pages(ds, l->dpages[i], 1);
		}
		dspm_lane_apply(st, l, version);
		if (ds)
			up_write(&ds->apply_sem);
		mutex_unlock(&st->log_lock);
		mutex_unlock(&node->lock);
		if (l->coordinator != link->node_id)
			dspm_stats_replicated(st, l->data_bytes);
		/* the readers this node served drop their copies */
		pages = kvmalloc_array(max(l->nr_mpages, 1U), sizeof(u64),
				       GFP_KERNEL);
		for (i = 0; pages && i < l->nr_mpages; i++)
			if (l->dpages[i] != U64_MAX)
				pages[n++] = l->dpages[i];
	}
	mutex_lock(&st->lanes->lock);
	dspm_lane_release(st, l);
	mutex_unlock(&st->lanes->lock);
	if (n)
		dspm_coh_invalidate_sharers(link, cluster_id, pages, n, version);
	kvfree(pages);
	return version;
}

/*
 * Claim the lane of @txn from @coordinator to finish it (@commit or not):
 * the lane, marked busy; NULL when there is none (aborted before it was
 * prepared, or finished already); -EBUSY while another thread finishes it;
 * -EPROTO for a commit of a lane never sealed.
 */
struct dspm_lane *dspm_part_claim(struct dspm_store *st, u64 txn,
				  u32 coordinator, bool commit)
{
	struct dspm_lane *l;

	mutex_lock(&st->lanes->lock);
	l = dspm_lane_find(st, txn, false);
	if (l && l->coordinator != coordinator)
		l = NULL;
	else if (l && l->busy)
		l = ERR_PTR(-EBUSY);
	else if (l && commit && l->use != DSPM_LANE_PREPARED)
		l = ERR_PTR(-EPROTO);
	else if (l)
		l->busy = true;
	mutex_unlock(&st->lanes->lock);
	return l;
}

/* DECIDE: apply or drop the prepared entries, then DECIDED. */
static u32 dspm_part_decide(struct dspm_link *link, u32 peer,
			    const struct dspm_wire_decide *req, void *reply)
{
	struct dspm_store *st = link->store;
	struct dspm_wire_decided *done = reply;
	u32 decision = le32_to_cpu(req->decision);
	u64 txn = le64_to_cpu(req->txn), version = 0;
	struct dspm_lane *l;

	if (le32_to_cpu(req->hdr.length) != sizeof(*req) || req->reserved ||
	    (decision != DSPM_WIRE_COMMIT && decision != DSPM_WIRE_ABORT))
		return 0;
	l = dspm_part_claim(st, txn, peer, decision == DSPM_WIRE_COMMIT);
	if (IS_ERR(l))
		return dspm_wire_reply_error(reply, &req->hdr, PTR_ERR(l));
	if (l)
		version = dspm_part_finish(link, l, decision == DSPM_WIRE_COMMIT);
	dspm_wire_reply_hdr(done, &req->hdr, DSPM_WIRE_DECIDED, sizeof(*done));
	done->txn = req->txn;
	done->version = cpu_to_le64(version);
	return sizeof(*done);
}

/* TXN_QUERY, as a coordinator: what became of a transaction of ours? */
static u32 dspm_part_query(struct dspm_link *link,
			   const struct dspm_wire_txn_query *req, void *reply)
{
	struct dspm_store *st = link->store;
	struct dspm_wire_txn_state *s = reply;
	u32 decision = DSPM_WIRE_ABORT;	/* presumed: no decision kept */
	struct dspm_lane *l;

	if (le32_to_cpu(req->hdr.length) != sizeof(*req))
		return 0;
	mutex_lock(&st->lanes->lock);
	l = dspm_lane_find(st, le64_to_cpu(req->txn), true);
	if (l && l->use == DSPM_LANE_DECIDED)
		decision = DSPM_WIRE_COMMIT;
	else if (l && l->use == DSPM_LANE_INFLIGHT)
		decision = DSPM_WIRE_PENDING;
	mutex_unlock(&st->lanes->lock);
	memset(s, 0, sizeof(*s));
	dspm_wire_reply_hdr(s, &req->hdr, DSPM_WIRE_TXN_STATE, sizeof(*s));
	s->txn = req->txn;
	s->decision = cpu_to_le32(decision);
	return sizeof(*s);
}

/* A participant without lanes (no store) serves no commit. */
static bool dspm_part_ready(struct dspm_link *link)
{
	return link->store && link->store->lanes;
}

static u32 dspm_part_serve_prepare(struct dspm_link *link, u32 peer,
				   void *req, void *reply,
				   struct dspm_conn *conn)
{
	if (!dspm_part_ready(link))
		return dspm_wire_reply_error(reply, req, -ENODEV);
	return dspm_part_prepare(link, peer, req, reply);
}

static u32 dspm_part_serve_decide(struct dspm_link *link, u32 peer,
				  void *req, void *reply,
				  struct dspm_conn *conn)
{
	if (!dspm_part_ready(link))
		return dspm_wire_reply_error(reply, req, -ENODEV);
	return dspm_part_decide(link, peer, req, reply);
}

static u32 dspm_part_serve_query(struct dspm_link *link, u32 peer,
				 void *req, void *reply,
				 struct dspm_conn *conn)
{
	if (!dspm_part_ready(link))
		return dspm_wire_reply_error(reply, req, -ENODEV);
	return dspm_part_query(link, req, reply);
}

const struct dspm_peer_service dspm_txn_services[] = {
	{ DSPM_WIRE_PREPARE, sizeof(struct dspm_wire_prepare),
	  dspm_part_serve_prepare },
	{ DSPM_WIRE_DECIDE, sizeof(struct dspm_wire_decide),
	  dspm_part_serve_decide },
	{ DSPM_WIRE_TXN_QUERY, sizeof(struct dspm_wire_txn_query),
	  dspm_part_serve_query },
	{ }
};
