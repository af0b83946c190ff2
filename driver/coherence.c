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
 * The fast path (a transport with one-sided reads, i.e. RDMA): the first
 * fetch from a home sends PAGE_MAP instead of PAGE_READ.  It records the
 * reader as a sharer just as PAGE_READ does and returns keys to the home's
 * pmem data area and to the dataset's sequence word (store.c), valid on
 * that one connection only, and the word's value then.  Every fetch from
 * that home then reads the page and the word with two RDMA READs posted
 * back to back on the connection (three, the word first, when it knows no
 * even value of the word from before).  Why the bytes kept are committed
 * bytes, whole, and not older than any commit a caller has already seen
 * return:
 *  - Sharer: the home recorded this node before answering PAGE_MAP, so
 *    every commit it applies after any of our reads invalidates our copy,
 *    exactly as after a PAGE_READ.  The record lives as long as the home's
 *    link, which outlives its peer connections: when the home leaves or
 *    restarts, the connection dies, its keys with it (the MR is on that
 *    connection's PD and QP), dspm_peer_read() answers -ESTALE for its
 *    generation and the next fetch asks PAGE_MAP (and so registers) anew.
 *  - Not torn: commits are applied at the home under its log_lock, the
 *    word odd meanwhile with full store fences around the (non-temporal)
 *    writes, and it only grows.  A value seen before the page's READ was
 *    posted (in PAGE_MAP_REPLY, from an earlier READ, or from a READ of
 *    the word just before the page's: the responder executes the READs of
 *    one RC QP in order) that is even and equal to the word read after the
 *    page means no apply of this dataset overlapped the page's read.
 *    Otherwise read again, with the newer word as the value before, a few
 *    times, then PAGE_READ.
 *  - The right dataset: the word's high half is the slot's incarnation,
 *    bumped before a slot is freed or reused; a word that does not carry
 *    the incarnation PAGE_MAP reported drops the map (the pages may be
 *    another dataset's by now).
 *  - Not stale: the home sends INVALIDATE only after the apply finished.
 *    An INVALIDATE handled before our first READ was posted belongs to a
 *    commit our READs see; one handled while they ran changes the page's
 *    inval entry, which is compared before and after under apply_sem (the
 *    handler stores it under apply_sem too), and the bytes are dropped;
 *    one handled later clears the valid bit after we set it.
 * Any transport error, a stale key or an exhausted retry falls back to
 * PAGE_READ for that fetch; nothing is trusted that the checks did not
 * pass.
 *
 * Lock order: dspm_file.lock, then dspm_node.cluster_sem (read: the data
 * path uses node->link), then dspm_node.lock, then dspm_dataset.apply_sem,
 * then dspm_coh.lock (a spinlock).  dspm_coh.map_lock is taken alone
 * (under cluster_sem at most) and never across a network call.  Serving
 * threads take node->lock and apply_sem only, never cluster_sem.
 */
#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "cluster.h"
#include "internal.h"
#include "lane.h"
#include "trace.h"
#include "transport.h"

#define DSPM_FETCH_ATTEMPTS	8
#define DSPM_DIRECT_ATTEMPTS	4
/* a home that answered PAGE_MAP with an error is asked again after this */
#define DSPM_MAP_RETRY_MS	1000
#define DSPM_SHARERS_MAX	64

/* How to read one home's pages of a dataset with RDMA READ. */
struct dspm_coh_map {
	bool ok;			/* else: PAGE_READ until expires */
	unsigned long expires;		/* jiffies */
	u64 gen;			/* of the connection with the keys */
	u64 pages;
	u64 data_addr;
	u64 seq_addr;
	u64 seq;			/* the word's last value seen, if even */
	u32 data_rkey;
	u32 seq_rkey;
	u32 incarnation;
	u32 nr_extents;
	struct dspm_extent ext[DSPM_WIRE_MAP_EXTENTS];
};

/* A fetch's buffers: one allocation. */
struct dspm_coh_fetch_buf {
	union {
		struct dspm_wire_page_data data;
		struct dspm_wire_page_map_reply map_reply;
		u8 read[DSPM_TRANSPORT_READ_MAX];
	};
	struct dspm_coh_map map;
};

struct dspm_coh {
	u64 cluster_id;
	u64 chunk_size;
	u32 nr_chunks;
	u32 replicas;
	u32 *nodes;			/* nr_chunks x replicas; [0] the home */
	spinlock_t lock;		/* valid, inval */
	unsigned long *valid;		/* pages this node does not hold */
	struct xarray inval;		/* page -> last invalidation version */
	struct mutex map_lock;		/* maps */
	struct xarray maps;		/* home id -> struct dspm_coh_map */
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
	mutex_init(&coh->map_lock);
	xa_init(&coh->maps);
	return coh;
}

void dspm_coh_free(struct dspm_coh *coh)
{
	struct dspm_coh_map *map;
	unsigned long home;

	if (!coh)
		return;
	xa_for_each(&coh->maps, home, map)
		kfree(map);
	xa_destroy(&coh->maps);
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

/* A copy of the map of @home's pages into @map; false without one. */
static bool dspm_coh_map_get(struct dspm_coh *coh, u32 home,
			     struct dspm_coh_map *map)
{
	struct dspm_coh_map *m;
	bool found;

	mutex_lock(&coh->map_lock);
	m = xa_load(&coh->maps, home);
	found = m && (m->ok || time_before(jiffies, m->expires));
	if (found)
		*map = *m;
	mutex_unlock(&coh->map_lock);
	return found;
}

/* Remember @map for @home (forget it when NULL, or when out of memory). */
static void dspm_coh_map_set(struct dspm_coh *coh, u32 home,
			     const struct dspm_coh_map *map)
{
	struct dspm_coh_map *m = map ? kmemdup(map, sizeof(*map), GFP_KERNEL) :
				       NULL;
	void *old;

	mutex_lock(&coh->map_lock);
	old = m ? xa_store(&coh->maps, home, m, GFP_KERNEL) :
		  xa_erase(&coh->maps, home);
	if (xa_is_err(old)) {
		kfree(m);
		old = xa_erase(&coh->maps, home);
	}
	mutex_unlock(&coh->map_lock);
	kfree(old);
}

/* A PAGE_MAP_REPLY from the home of this dataset, checked, into @map. */
static int dspm_coh_map_parse(const struct dspm_coh *coh,
			      const struct dspm_wire_page_map_reply *r,
			      struct dspm_coh_map *map)
{
	u64 data_pages = le64_to_cpu(r->data_pages), first = 0;
	u32 n = le32_to_cpu(r->nr_extents), i;

	if (le64_to_cpu(r->dataset) != coh->cluster_id || !n ||
	    n > DSPM_WIRE_MAP_EXTENTS)
		return -EPROTO;
	for (i = 0; i < DSPM_WIRE_MAP_EXTENTS; i++) {
		u64 start = le64_to_cpu(r->extents[i].start);
		u64 count = le64_to_cpu(r->extents[i].count);

		if (i >= n) {
			if (start || count)
				return -EPROTO;
			continue;
		}
		if (!count || start >= data_pages ||
		    count > data_pages - start || count > U64_MAX - first)
			return -EPROTO;
		map->ext[i].first = first;
		map->ext[i].start = start;
		map->ext[i].count = count;
		first += count;
	}
	if (first != le64_to_cpu(r->pages) ||
	    data_pages > U64_MAX / DSPM_WIRE_PAGE_SIZE)
		return -EPROTO;
	if (r->reserved)
		return -EPROTO;
	map->ok = true;
	map->pages = first;
	map->data_addr = le64_to_cpu(r->data_addr);
	map->seq_addr = le64_to_cpu(r->seq_addr);
	/* odd: unknown; the first READs read the word before the page */
	map->seq = le64_to_cpu(r->seq);
	map->data_rkey = le32_to_cpu(r->data_rkey);
	map->seq_rkey = le32_to_cpu(r->seq_rkey);
	map->incarnation = map->seq >> 32;
	map->nr_extents = n;
	return 0;
}

/*
 * PAGE_MAP to @home: registers this node as a sharer there and gets the
 * keys, into fb->map and the cache.  A home that cannot serve one-sided
 * reads is not asked again for DSPM_MAP_RETRY_MS, or until it invalidates
 * (the dataset may exist there by then).
 */
static int dspm_coh_map_fetch(struct dspm_dataset *ds, struct dspm_link *link,
			      u32 home, struct dspm_coh_fetch_buf *fb)
{
	struct dspm_coh *coh = ds->coh;
	struct dspm_wire_page_map req = {};
	struct dspm_coh_map *map = &fb->map;
	int ret;

	req.hdr.type = cpu_to_le16(DSPM_WIRE_PAGE_MAP);
	req.dataset = cpu_to_le64(coh->cluster_id);
	memset(map, 0, sizeof(*map));
	ret = dspm_peer_call_gen(link->peers, home, &req, sizeof(req),
				 DSPM_WIRE_PAGE_MAP_REPLY, &fb->map_reply,
				 sizeof(fb->map_reply), &map->gen);
	if (!ret)
		ret = dspm_coh_map_parse(coh, &fb->map_reply, map);
	if (ret == -ENOENT || ret == -EOPNOTSUPP || ret == -ENOSPC) {
		map->ok = false;
		map->expires = jiffies + msecs_to_jiffies(DSPM_MAP_RETRY_MS);
		dspm_coh_map_set(coh, home, map);
	} else if (!ret) {
		dspm_coh_map_set(coh, home, map);
	}
	return ret;
}

/* An even word seen on the connection of @gen, for the next fetch. */
static void dspm_coh_map_note(struct dspm_coh *coh, u32 home, u64 gen,
			      u64 seq)
{
	struct dspm_coh_map *m;

	mutex_lock(&coh->map_lock);
	m = xa_load(&coh->maps, home);
	if (m && m->ok && m->gen == gen && seq > m->seq)
		m->seq = seq;
	mutex_unlock(&coh->map_lock);
}

/* The home's data page of dataset page @pgoff, or U64_MAX. */
static u64 dspm_coh_map_page(const struct dspm_coh_map *map, pgoff_t pgoff)
{
	u32 i;

	for (i = 0; i < map->nr_extents; i++)
		if (pgoff - map->ext[i].first < map->ext[i].count)
			return map->ext[i].start + pgoff - map->ext[i].first;
	return U64_MAX;
}

/*
 * The fast path of a fetch (see the top of this file): 0 when this node's
 * copy of @pgoff now holds the home's committed bytes, else an error and
 * the caller fetches with PAGE_READ.
 */
static int dspm_coh_fetch_direct(struct dspm_dataset *ds,
				 struct dspm_link *link, u32 home,
				 pgoff_t pgoff, struct dspm_coh_fetch_buf *fb)
{
	struct dspm_coh *coh = ds->coh;
	struct dspm_coh_map *map = &fb->map;
	struct dspm_read_seg seg[3];
	u64 dpage, before, after;
	int attempt, ret;
	unsigned int nr;
	bool stale;
	void *inv;
	u8 *page;

	if (!link->ops->read)
		return -EOPNOTSUPP;
	if (!dspm_coh_map_get(coh, home, map)) {
		ret = dspm_coh_map_fetch(ds, link, home, fb);
		if (ret)
			return ret;
	}
	if (!map->ok)
		return -ENOENT;
	dpage = dspm_coh_map_page(map, pgoff);
	if (dpage == U64_MAX)
		return -ERANGE;
	for (attempt = 0; attempt < DSPM_DIRECT_ATTEMPTS; attempt++) {
		/* the word before the page: known, or read first */
		nr = 0;
		if (map->seq & 1) {
			seg[nr].addr = map->seq_addr;
			seg[nr].rkey = map->seq_rkey;
			seg[nr++].len = sizeof(__le64);
		}
		page = fb->read + nr * sizeof(__le64);
		seg[nr].addr = map->data_addr + dpage * DSPM_WIRE_PAGE_SIZE;
		seg[nr].rkey = map->data_rkey;
		seg[nr++].len = DSPM_WIRE_PAGE_SIZE;
		seg[nr].addr = map->seq_addr;
		seg[nr].rkey = map->seq_rkey;
		seg[nr++].len = sizeof(__le64);
		spin_lock(&coh->lock);
		inv = xa_load(&coh->inval, pgoff);
		spin_unlock(&coh->lock);
		ret = dspm_peer_read(link->peers, home, map->gen, seg, nr,
				     fb->read);
		if (ret) {
			/* the keys died with their connection */
			dspm_coh_map_set(coh, home, NULL);
			return ret;
		}
		/* the words are 8-byte aligned in the buffer */
		before = nr == 3 ? le64_to_cpup((__le64 *)fb->read) : map->seq;
		after = le64_to_cpup((__le64 *)(page + DSPM_WIRE_PAGE_SIZE));
		if (after >> 32 != map->incarnation ||
		    before >> 32 != map->incarnation) {
			dspm_coh_map_set(coh, home, NULL);
			return -ESTALE;
		}
		/* the word after is a word before for the next READs */
		map->seq = after;
		if (before != after || (before & 1)) {
			/* a commit was applied there meanwhile: read again */
			atomic64_inc(&link->direct_retries);
			continue;
		}
		down_write(&ds->apply_sem);
		spin_lock(&coh->lock);
		stale = xa_load(&coh->inval, pgoff) != inv;
		spin_unlock(&coh->lock);
		if (!stale) {
			memcpy(dspm_committed_page(ds, pgoff), page, PAGE_SIZE);
			set_bit(pgoff, coh->valid);
		}
		up_write(&ds->apply_sem);
		if (!stale) {
			dspm_coh_map_note(coh, home, map->gen, after);
			return 0;
		}
		atomic64_inc(&link->direct_retries);
	}
	return -EAGAIN;
}

/* One PAGE_READ from the home into this node's copy of the page. */
static int dspm_coh_fetch_rpc(struct dspm_dataset *ds, struct dspm_link *link,
			      u32 home, pgoff_t pgoff,
			      struct dspm_coh_fetch_buf *fb)
{
	struct dspm_coh *coh = ds->coh;
	struct dspm_wire_page_read req = {};
	struct dspm_wire_page_data *data = &fb->data;
	int attempt, ret = 0;
	void *inv;

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
	return ret;
}

/* The page from its home into this node's copy: one-sided if it can. */
static int dspm_coh_fetch(struct dspm_dataset *ds, struct dspm_link *link,
			  pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;
	u32 home = dspm_coh_chunk(coh, pgoff)[0];
	struct dspm_coh_fetch_buf *fb;
	u64 start = ktime_get_ns();
	bool direct = false;
	int ret;

	fb = kvmalloc(sizeof(*fb), GFP_KERNEL);
	if (!fb)
		return -ENOMEM;
	if (link->ops->read) {
		ret = dspm_coh_fetch_direct(ds, link, home, pgoff, fb);
		direct = !ret;
		if (ret)
			atomic64_inc(&link->direct_fallbacks);
	}
	if (!direct)
		ret = dspm_coh_fetch_rpc(ds, link, home, pgoff, fb);
	kvfree(fb);
	start = ktime_get_ns() - start;
	trace_dspm_fetch(coh->cluster_id, pgoff, home, direct, start, ret);
	if (!ret) {
		atomic64_inc(direct ? &link->fetch_direct : &link->fetch_rpc);
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

/* Record reader @id of @dataset: 0, or -ENOMEM, -ENOSPC (not recorded). */
static int dspm_sharers_add(struct dspm_link *link, u64 dataset, u32 id)
{
	struct dspm_sharers *sh;
	int ret = 0;
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
		if (i == sh->nr && sh->nr < DSPM_SHARERS_MAX) {
			sh->ids[sh->nr++] = id;
		} else if (i == sh->nr) {
			pr_warn_ratelimited("dspm: more than %u readers of dataset %llu\n",
					    DSPM_SHARERS_MAX, dataset);
			ret = -ENOSPC;
		}
	} else {
		ret = -ENOMEM;
	}
	mutex_unlock(&link->sharers_lock);
	return ret;
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
 * @home applied a commit to the dataset: the word it had is old (the next
 * fetch reads it before the page instead of failing its comparison once),
 * and a home that had no map to give may have one now.
 */
static void dspm_coh_map_invalidated(struct dspm_coh *coh, u32 home)
{
	struct dspm_coh_map *m;

	mutex_lock(&coh->map_lock);
	m = xa_load(&coh->maps, home);
	if (m && m->ok)
		m->seq |= 1;
	else if (m)
		m->expires = jiffies;
	mutex_unlock(&coh->map_lock);
}

/*
 * PAGE_MAP on @conn: expose this node's data area and sequence words to
 * that connection, record the reader, and tell it where the dataset's
 * pages are.  Returns the reply's length, 0 for a malformed request.
 */
u32 dspm_coh_page_map(struct dspm_link *link, u32 peer,
		      const struct dspm_wire_page_map *req,
		      struct dspm_wire_page_map_reply *reply,
		      const struct dspm_transport_ops *ops,
		      struct dspm_conn *conn)
{
	struct dspm_node *node = link->node;
	struct dspm_store *st = link->store;
	u64 id = le64_to_cpu(req->dataset);
	struct dspm_region_key keys[2];
	struct dspm_region r[2];
	struct dspm_media_dataset *d;
	u32 i, n;
	int slot, ret;

	BUILD_BUG_ON(sizeof(struct dspm_wire_page_map) !=
		     DSPM_WIRE_PAGE_MAP_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_page_map_reply) !=
		     DSPM_WIRE_PAGE_MAP_REPLY_SIZE);
	BUILD_BUG_ON(DSPM_WIRE_MAP_EXTENTS != DSPM_EXTENTS_MAX);
	BUILD_BUG_ON(DSPM_WIRE_PAGE_SIZE != PAGE_SIZE);
	if (le32_to_cpu(req->hdr.length) != sizeof(*req) || req->reserved)
		return 0;
	if (!ops->expose || !st->seq)
		return dspm_wire_reply_error(reply, &req->hdr, -EOPNOTSUPP);
	r[0].addr = st->base + st->data_offset;
	r[0].len = st->data_pages * DSPM_MEDIA_PAGE;
	r[1].addr = st->seq;
	r[1].len = st->seq_bytes;
	ret = ops->expose(conn, r, ARRAY_SIZE(r), keys);
	if (ret) {
		pr_info_ratelimited("dspm: cannot expose pages to node %u for one-sided reads: %d\n",
				    peer, ret);
		return dspm_wire_reply_error(reply, &req->hdr,
					     ret == -ENOMEM ? -ENOMEM :
					     -EOPNOTSUPP);
	}
	mutex_lock(&node->lock);
	slot = dspm_ns_find_cluster(st, id);
	/* never committed to here: PAGE_READ serves its zeros */
	ret = slot < 0 ? -ENOENT : dspm_sharers_add(link, id, peer);
	if (ret) {
		mutex_unlock(&node->lock);
		return dspm_wire_reply_error(reply, &req->hdr, ret);
	}
	d = dspm_store_slot(st, slot);
	n = le32_to_cpu(d->nr_extents);
	if (!n || n > DSPM_EXTENTS_MAX) {
		mutex_unlock(&node->lock);
		return dspm_wire_reply_error(reply, &req->hdr, -EUCLEAN);
	}
	memset(reply, 0, sizeof(*reply));
	dspm_wire_reply_hdr(reply, &req->hdr, DSPM_WIRE_PAGE_MAP_REPLY,
			    sizeof(*reply));
	reply->dataset = req->dataset;
	reply->pages = d->pages;
	reply->data_addr = cpu_to_le64(keys[0].addr);
	reply->data_pages = cpu_to_le64(st->data_pages);
	reply->seq_addr = cpu_to_le64(keys[1].addr + slot * sizeof(__le64));
	/* read after the reader was recorded: a value before its READs */
	reply->seq = cpu_to_le64(dspm_store_seq_read(st, slot));
	reply->data_rkey = cpu_to_le32(keys[0].rkey);
	reply->seq_rkey = cpu_to_le32(keys[1].rkey);
	reply->nr_extents = cpu_to_le32(n);
	for (i = 0; i < n; i++) {
		reply->extents[i].start = d->extents[i].start;
		reply->extents[i].count = d->extents[i].count;
	}
	mutex_unlock(&node->lock);
	atomic64_inc(&link->maps_served);
	return sizeof(*reply);
}

/* The fetch counters, for debugfs "peer". */
void dspm_coh_show(struct seq_file *m, struct dspm_link *link)
{
	seq_printf(m, "fetch_rpc %lld\nfetch_direct %lld\ndirect_retries %lld\ndirect_fallbacks %lld\nmaps_served %lld\n",
		   atomic64_read(&link->fetch_rpc),
		   atomic64_read(&link->fetch_direct),
		   atomic64_read(&link->direct_retries),
		   atomic64_read(&link->direct_fallbacks),
		   atomic64_read(&link->maps_served));
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
		dspm_coh_map_invalidated(ds->coh, peer);
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
