// SPDX-License-Identifier: GPL-2.0
/*
 * Coherence of cluster datasets: remote read faults and invalidation
 * (dspm_wire.h, "Coherence").  Commits are two-phase (coordinator.c).
 *
 * A node that is not among the holders (home and replicas) of a page's
 * chunk fetches the page from its home on the first fault, keeps the bytes
 * in its own copy of the dataset (a cache: a bitmap says which pages are
 * valid) and maps them read-only like any committed page.  The home records
 * every reader as a sharer of the dataset; when a commit is applied there
 * (participant.c) it sends INVALIDATE for the committed pages to every
 * sharer and waits for the acknowledgements before answering, so every
 * later fault on any node sees the new bytes.  A PAGE_DATA older than an
 * invalidation the reader has seen for that page is dropped and fetched
 * again.
 *
 * Lock order: dspm_file.lock, then dspm_node.cluster_sem (read: the data
 * path uses node->link), then dspm_node.lock, then dspm_dataset.apply_sem,
 * then dspm_coh.lock (a spinlock).  Serving threads take node->lock and
 * apply_sem only, never cluster_sem.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "cluster.h"
#include "internal.h"
#include "lane.h"
#include "trace.h"

#define DSPM_FETCH_ATTEMPTS	8
#define DSPM_SHARERS_MAX	64

struct dspm_coh {
	u64 cluster_id;
	u64 chunk_size;
	u32 nr_chunks;
	u32 replicas;
	u32 *nodes;			/* nr_chunks x replicas; [0] the home */
	spinlock_t lock;		/* valid, inval */
	unsigned long *valid;		/* pages this node does not hold */
	struct xarray inval;		/* page -> last invalidation version */
};

/* Readers of one dataset homed (in part) here. */
struct dspm_sharers {
	u32 nr;
	u32 ids[DSPM_SHARERS_MAX];
};

struct dspm_coh *dspm_coh_new(const struct dspm_wire_dataset_reply *r,
			      u64 pages)
{
	u32 chunks = le32_to_cpu(r->dataset.chunks);
	u32 replicas = le32_to_cpu(r->dataset.replicas), i, k;
	struct dspm_coh *coh;

	coh = kzalloc(sizeof(*coh), GFP_KERNEL);
	if (!coh)
		return NULL;
	coh->nodes = kvcalloc((size_t)chunks * replicas, sizeof(u32),
			      GFP_KERNEL);
	coh->valid = bitmap_zalloc(pages, GFP_KERNEL);
	if (!coh->nodes || !coh->valid) {
		dspm_coh_free(coh);
		return NULL;
	}
	coh->cluster_id = le64_to_cpu(r->dataset.id);
	coh->chunk_size = le64_to_cpu(r->dataset.chunk_size);
	coh->nr_chunks = chunks;
	coh->replicas = replicas;
	for (i = 0; i < chunks; i++)
		for (k = 0; k < replicas; k++)
			coh->nodes[i * replicas + k] =
				le32_to_cpu(r->chunks[i].node[k]);
	spin_lock_init(&coh->lock);
	xa_init(&coh->inval);
	return coh;
}

void dspm_coh_free(struct dspm_coh *coh)
{
	if (!coh)
		return;
	xa_destroy(&coh->inval);
	bitmap_free(coh->valid);
	kvfree(coh->nodes);
	kfree(coh);
}

static const u32 *dspm_coh_chunk(const struct dspm_coh *coh, pgoff_t pgoff)
{
	u64 chunk = div64_u64((u64)pgoff << PAGE_SHIFT, coh->chunk_size);

	return &coh->nodes[min_t(u64, chunk, coh->nr_chunks - 1) *
			   coh->replicas];
}

static bool dspm_coh_holds(const struct dspm_coh *coh, pgoff_t pgoff, u32 self)
{
	const u32 *nodes = dspm_coh_chunk(coh, pgoff);
	u32 k;

	for (k = 0; k < coh->replicas; k++)
		if (nodes[k] == self)
			return true;
	return false;
}

/* The data path's view of the cluster: NULL outside one (cluster_sem held). */
static struct dspm_link *dspm_coh_link(struct dspm_node *node)
{
	lockdep_assert_held(&node->cluster_sem);
	return READ_ONCE(node->link);
}

/* One PAGE_READ from the home into this node's copy of the page. */
static int dspm_coh_fetch(struct dspm_dataset *ds, struct dspm_link *link,
			  pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;
	struct dspm_wire_page_read req = {};
	u32 home = dspm_coh_chunk(coh, pgoff)[0];
	struct dspm_wire_page_data *data;
	u64 start = ktime_get_ns();
	int attempt, ret;
	void *inv;

	data = kvmalloc(sizeof(*data), GFP_KERNEL);
	if (!data)
		return -ENOMEM;
	for (attempt = 0; attempt < DSPM_FETCH_ATTEMPTS; attempt++) {
		req.hdr.type = cpu_to_le16(DSPM_WIRE_PAGE_READ);
		req.dataset = cpu_to_le64(coh->cluster_id);
		req.page = cpu_to_le64(pgoff);
		ret = dspm_peer_call(link->peers, home,
				     &req, sizeof(req), DSPM_WIRE_PAGE_DATA,
				     data, sizeof(*data));
		if (ret)
			break;
		if (le64_to_cpu(data->dataset) != coh->cluster_id ||
		    le64_to_cpu(data->page) != pgoff || data->reserved) {
			ret = -EPROTO;
			break;
		}
		down_write(&ds->apply_sem);
		spin_lock(&coh->lock);
		inv = xa_load(&coh->inval, pgoff);
		spin_unlock(&coh->lock);
		/* an invalidation overtook this reply: its bytes are stale */
		if (inv && xa_to_value(inv) > le64_to_cpu(data->version)) {
			up_write(&ds->apply_sem);
			ret = -EAGAIN;
			continue;
		}
		memcpy(dspm_committed_page(ds, pgoff), data->data, PAGE_SIZE);
		set_bit(pgoff, coh->valid);
		up_write(&ds->apply_sem);
		break;
	}
	kvfree(data);
	start = ktime_get_ns() - start;
	trace_dspm_fetch(coh->cluster_id, pgoff, home, start, ret);
	if (!ret) {
		dspm_stats_fault_remote(ds->store);
		dspm_stats_fetch_done(ds->store, start);
	}
	return ret;
}

/* Drop the cached copy of @pgoff and every mapping of it. */
static void dspm_coh_forget(struct dspm_dataset *ds, pgoff_t pgoff)
{
	lockdep_assert_held_write(&ds->apply_sem);
	spin_lock(&ds->coh->lock);
	clear_bit(pgoff, ds->coh->valid);
	spin_unlock(&ds->coh->lock);
	dspm_zap_pages(ds, pgoff, 1);
}

/*
 * Make this node's copy of @pgoff current before a fault maps or copies
 * it: a page of a chunk held here always is; any other is fetched from its
 * home unless a valid copy is cached.  Returns 1 when it fetched the page
 * (a remote fault), 0 when this node's copy was current, or an error.
 */
int dspm_coh_ready(struct dspm_dataset *ds, pgoff_t pgoff)
{
	struct dspm_node *node = ds->node;
	struct dspm_link *link;
	int ret = 0;

	if (!ds->coh || test_bit(pgoff, ds->coh->valid))
		return 0;
	down_read(&node->cluster_sem);
	link = dspm_coh_link(node);
	if (!link)
		ret = -ENOTCONN;
	else if (!dspm_coh_holds(ds->coh, pgoff, READ_ONCE(link->node_id)))
		ret = dspm_coh_fetch(ds, link, pgoff) ?: 1;
	up_read(&node->cluster_sem);
	return ret;
}

/*
 * Forget this node's cached copy of @pgoff, if it keeps one: the next
 * fault fetches it from its home again.  A page held here stays.
 */
void dspm_coh_drop(struct dspm_dataset *ds, pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;

	if (!coh || !test_bit(pgoff, coh->valid))
		return;
	down_write(&ds->apply_sem);
	dspm_coh_forget(ds, pgoff);
	up_write(&ds->apply_sem);
}

/*
 * The nodes holding @pgoff (home first) and how many; the coordinator's
 * participants.  The placement is fixed while the dataset is open.
 */
const u32 *dspm_coh_holders(const struct dspm_coh *coh, pgoff_t pgoff,
			    u32 *nr)
{
	*nr = coh->replicas;
	return dspm_coh_chunk(coh, pgoff);
}

u64 dspm_coh_cluster_id(const struct dspm_coh *coh)
{
	return coh->cluster_id;
}

/* Pages of one chunk: a chunk has one home for all of them. */
u64 dspm_coh_chunk_pages(const struct dspm_coh *coh)
{
	return coh->chunk_size >> PAGE_SHIFT;
}

static void dspm_sharers_add(struct dspm_link *link, u64 dataset, u32 id)
{
	struct dspm_sharers *sh;
	u32 i;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	if (!sh) {
		sh = kzalloc(sizeof(*sh), GFP_KERNEL);
		if (!sh || xa_err(xa_store(&link->sharers, dataset, sh,
					   GFP_KERNEL))) {
			kfree(sh);
			sh = NULL;
		}
	}
	if (sh) {
		for (i = 0; i < sh->nr && sh->ids[i] != id; i++)
			;
		if (i == sh->nr && sh->nr < DSPM_SHARERS_MAX)
			sh->ids[sh->nr++] = id;
		else if (i == sh->nr)
			pr_warn_ratelimited("dspm: more than %u readers of dataset %llu\n",
					    DSPM_SHARERS_MAX, dataset);
	}
	mutex_unlock(&link->sharers_lock);
}

void dspm_coh_link_exit(struct dspm_link *link)
{
	struct dspm_sharers *sh;
	unsigned long idx;

	xa_for_each(&link->sharers, idx, sh)
		kfree(sh);
	xa_destroy(&link->sharers);
}

/*
 * After a commit applied here: every reader this node served drops its
 * copies of @pages before the commit returns.  A reader that cannot be
 * reached is reported; it refetches everything when it opens the dataset
 * again.  Called without cluster_sem: the link outlives its callers.
 */
void dspm_coh_invalidate_sharers(struct dspm_link *link, u64 cluster_id,
				 const u64 *pages, u32 n, u64 version)
{
	struct dspm_wire_invalidate *req;
	struct dspm_wire_invalidated ack;
	struct dspm_sharers snap = {};
	struct dspm_sharers *sh;
	u32 i, done, count;
	int ret;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, cluster_id);
	if (sh)
		snap = *sh;
	mutex_unlock(&link->sharers_lock);
	if (!snap.nr || !n)
		return;
	req = kvmalloc(struct_size(req, pages, DSPM_WIRE_INVALIDATE_MAX),
		       GFP_KERNEL);
	if (!req)
		return;
	for (i = 0; i < snap.nr; i++) {
		for (done = 0; done < n; done += count) {
			count = min_t(u32, n - done, DSPM_WIRE_INVALIDATE_MAX);
			memset(req, 0, sizeof(*req));
			req->hdr.type = cpu_to_le16(DSPM_WIRE_INVALIDATE);
			req->dataset = cpu_to_le64(cluster_id);
			req->version = cpu_to_le64(version);
			req->count = cpu_to_le32(count);
			memcpy(req->pages, pages + done, count * sizeof(u64));
			ret = dspm_txn_call(link, snap.ids[i], req,
					    struct_size(req, pages, count),
					    DSPM_WIRE_INVALIDATED, &ack,
					    sizeof(ack));
			if (ret) {
				pr_warn_ratelimited("dspm: node %u did not take an invalidation of dataset %llu (%d)\n",
						    snap.ids[i], cluster_id, ret);
				break;
			}
		}
	}
	kvfree(req);
}

/* The open dataset with cluster id @id, held, or NULL. */
static struct dspm_dataset *dspm_coh_find(struct dspm_node *node, u64 id)
{
	struct dspm_dataset *ds, *found = NULL;
	unsigned long slot;

	mutex_lock(&node->lock);
	xa_for_each(&node->open, slot, ds) {
		if (ds->coh && ds->coh->cluster_id == id) {
			refcount_inc(&ds->open_count);
			found = ds;
			break;
		}
	}
	mutex_unlock(&node->lock);
	return found;
}

/* PAGE_READ: this node's committed bytes of the page, as its home. */
static u32 dspm_coh_page_read(struct dspm_link *link, u32 peer,
			      const struct dspm_wire_page_read *req,
			      struct dspm_wire_page_data *data)
{
	struct dspm_node *node = link->node;
	u64 id = le64_to_cpu(req->dataset), page = le64_to_cpu(req->page);
	struct dspm_media_dataset *d;
	struct dspm_dataset *ds;
	int slot;

	if (le32_to_cpu(req->hdr.length) != sizeof(*req))
		return 0;
	dspm_wire_reply_hdr(data, &req->hdr, DSPM_WIRE_PAGE_DATA, sizeof(*data));
	data->dataset = req->dataset;
	data->page = req->page;
	data->reserved = 0;
	mutex_lock(&node->lock);
	slot = node->store ? dspm_ns_find_cluster(node->store, id) : -ENODEV;
	if (slot < 0) {
		/* never opened here, so never committed to here: zeros */
		mutex_unlock(&node->lock);
		memset(data->data, 0, sizeof(data->data));
		data->version = 0;
		dspm_sharers_add(link, id, peer);
		return sizeof(*data);
	}
	d = dspm_store_slot(node->store, slot);
	if (page >= le64_to_cpu(d->pages)) {
		mutex_unlock(&node->lock);
		return dspm_wire_reply_error(data, &req->hdr, -EINVAL);
	}
	/* recorded first: a commit after this read will invalidate the copy */
	dspm_sharers_add(link, id, peer);
	ds = xa_load(&node->open, slot);
	if (ds)
		down_read(&ds->apply_sem);
	data->version = d->version;
	memcpy(data->data, node->store->base +
	       dspm_slot_page_offset(node->store, d, page), PAGE_SIZE);
	if (ds)
		up_read(&ds->apply_sem);
	mutex_unlock(&node->lock);
	return sizeof(*data);
}

/*
 * INVALIDATE: drop this node's copies of the pages.  Only a page's home
 * serves it, so only the home's version numbers mean anything for the
 * PAGE_DATA still in flight; the other holders' invalidations just drop.
 */
static u32 dspm_coh_invalidate(struct dspm_link *link, u32 peer,
			       const struct dspm_wire_invalidate *req,
			       struct dspm_wire_invalidated *ack)
{
	u32 count = le32_to_cpu(req->count), i;
	u64 version = le64_to_cpu(req->version);
	struct dspm_dataset *ds;

	if (!count || count > DSPM_WIRE_INVALIDATE_MAX || req->reserved ||
	    le32_to_cpu(req->hdr.length) != struct_size(req, pages, count))
		return 0;
	ds = dspm_coh_find(link->node, le64_to_cpu(req->dataset));
	if (ds) {
		down_write(&ds->apply_sem);
		for (i = 0; i < count; i++) {
			u64 page = le64_to_cpu(req->pages[i]);

			if (page >= ds->pages || version > LONG_MAX)
				continue;
			if (dspm_coh_chunk(ds->coh, page)[0] == peer)
				xa_store(&ds->coh->inval, page,
					 xa_mk_value(version), GFP_KERNEL);
			dspm_coh_forget(ds, page);
		}
		up_write(&ds->apply_sem);
		dspm_dataset_put(ds);
	}
	dspm_wire_reply_hdr(ack, &req->hdr, DSPM_WIRE_INVALIDATED, sizeof(*ack));
	ack->dataset = req->dataset;
	return sizeof(*ack);
}

/*
 * A coherence request from node @peer in @req; the reply goes to @reply.
 * Returns the reply's length, or 0 for a malformed request.
 */
u32 dspm_coh_serve(struct dspm_link *link, u32 peer, void *req, void *reply)
{
	const struct dspm_wire_hdr *h = req;

	switch (le16_to_cpu(h->type)) {
	case DSPM_WIRE_PAGE_READ:
		return dspm_coh_page_read(link, peer, req, reply);
	case DSPM_WIRE_INVALIDATE:
		return dspm_coh_invalidate(link, peer, req, reply);
	default:
		return 0;
	}
}
