// SPDX-License-Identifier: GPL-2.0
/*
 * Coherence of cluster datasets: remote read faults and invalidation
 * (dspm_wire.h, "Coherence").  Commits are two-phase (coordinator.c).
 *
 * A node that is not among the holders (home and replicas) of a page's
 * chunk fetches the page from its home on the first fault, keeps the bytes
 * in its own copy of the dataset (a cache: a bitmap says which pages are
 * valid) and maps them read-only like any committed page.  The home records
 * every reader as a sharer of the dataset, not of the page, so that a
 * reader needs to tell it only once; a home that cannot record the reader
 * refuses the read rather than hand out bytes it would never invalidate.
 * When a commit is applied there (participant.c) it sends INVALIDATE for
 * the committed pages to every sharer, to several at once, and waits for
 * the acknowledgements before answering, so every later fault on any node
 * sees the new bytes.  A PAGE_DATA older than an invalidation the reader
 * has seen for that page is dropped and fetched again.
 *
 * The valid bitmap lives in struct dspm_coh, made when a node opens the
 * dataset (its first fd there) and freed with the last: a node that opens a
 * dataset again, or restarts, has no valid cached page and fetches each
 * from its home, which registers it again.  So a home keeps a sharer only
 * while it may hold copies:
 *  - the reader unregisters (UNSHARE) when its last fd of the dataset
 *    closes: a worker sends it to every home it fetched from;
 *  - the home drops a sharer that is no live member of its node table, and
 *    one whose INVALIDATE failed (a node alive but cut off keeps the pages
 *    it missed until it opens the dataset again, as before; it is not
 *    invalidated any more either);
 * and the home's sharers hold no node for long after it stopped reading.
 * A node the dispatcher declared dead without it dying (or one that left
 * and joined again with datasets open) may have been dropped while its
 * copies stayed: such a node must join again, so every (re)join drops all
 * cached copies of the open datasets, and a home serves no PAGE_READ to a
 * node its own table does not list alive, so it never registers a node it
 * would drop at once for an older death.
 *
 * Races.  An UNSHARE must not remove the registration of the next open of
 * the dataset on the same node: that open records the sequence of the last
 * UNSHARE queued for the dataset, and its first fetch waits until the
 * worker has sent it (answered or failed), so the home sees the UNSHARE
 * first.  A drop after a failed INVALIDATE must not remove a registration
 * made after the home took its list of sharers: every registration carries
 * a generation, and the drop removes only the one it invalidated.
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
 *    exactly as after a PAGE_READ.  The keys never outlive the record:
 *    when the home leaves or restarts, the connection dies, its keys with
 *    it (the MR is on that connection's PD and QP); when the home drops
 *    the reader (not alive, or an INVALIDATE failed) it shuts down the
 *    reader's connections to it (dspm_peers_cut()); a reader that closes
 *    the dataset forgets its maps with it.  dspm_peer_read() then answers
 *    -ESTALE for the generation and the next fetch asks PAGE_MAP (and so
 *    registers) anew.
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
 * Locks: Documentation/locking.md.
 */
#include <linux/bitmap.h>
#include <linux/bsearch.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "cluster.h"
#include "internal.h"
#include "lane.h"
#include "trace.h"
#include "transport.h"

#define DSPM_FETCH_ATTEMPTS	8
/* sharers invalidated at once; more go in further rounds */
#define DSPM_INVAL_BATCH	16
/* pages per INVALIDATE when there is no memory for more than one sharer */
#define DSPM_INVAL_STACK_PAGES	16
#define DSPM_DIRECT_ATTEMPTS	4
/* how long a fault asks a live home that failed to serve again */
#define DSPM_FETCH_PATIENCE_MS	10000U
#define DSPM_FETCH_PAUSE_MIN_MS	20U
#define DSPM_FETCH_PAUSE_MAX_MS	500U
/* a home that answered PAGE_MAP with an error is asked again after this */
#define DSPM_MAP_RETRY_MS	1000

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
	u32 self;			/* this node's id at open */
	u32 *nodes;			/* nr_chunks x replicas; [0] the home */
	/*
	 * valid and inval change only under the dataset's apply_sem held for
	 * writing; a fault maps or copies a page only under it held for
	 * reading.  Bit operations are atomic, so test_bit() without it is
	 * a hint the caller checks again under apply_sem.
	 */
	unsigned long *valid;		/* pages this node does not hold */
	struct xarray inval;		/* page -> last invalidation version */
	u32 nr_homes;
	u32 *homes;			/* the chunks' distinct homes, ascending */
	unsigned long *fetched;		/* homes[i] may list this node */
	u64 unshare_wait;		/* UNSHARE to see sent before a fetch */
	struct mutex map_lock;		/* maps */
	struct xarray maps;		/* home id -> struct dspm_coh_map */
};

/* Readers of one dataset homed (in part) here: node id -> generation. */
struct dspm_sharers {
	struct xarray readers;
	u32 nr;
};

/* An UNSHARE to send for a dataset whose last fd closed here. */
struct dspm_unshare {
	struct list_head entry;		/* on dspm_node.unshares */
	u64 seq;
	u64 cluster_id;
	u32 nr;
	u32 homes[];
};

static int dspm_coh_id_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The distinct homes of the chunks, for the UNSHAREs at close. */
static int dspm_coh_homes(struct dspm_coh *coh)
{
	u32 i, n = 0;

	coh->homes = kvcalloc(coh->nr_chunks, sizeof(u32), GFP_KERNEL);
	if (!coh->homes)
		return -ENOMEM;
	for (i = 0; i < coh->nr_chunks; i++)
		coh->homes[i] = coh->nodes[i * coh->replicas];
	sort(coh->homes, coh->nr_chunks, sizeof(u32), dspm_coh_id_cmp, NULL);
	for (i = 0; i < coh->nr_chunks; i++)
		if (!n || coh->homes[n - 1] != coh->homes[i])
			coh->homes[n++] = coh->homes[i];
	coh->nr_homes = n;
	coh->fetched = bitmap_zalloc(n, GFP_KERNEL);
	return coh->fetched ? 0 : -ENOMEM;
}

struct dspm_coh *dspm_coh_new(const struct dspm_wire_dataset_reply *r,
			      u64 pages, u32 self)
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
	coh->self = self;
	for (i = 0; i < chunks; i++)
		for (k = 0; k < replicas; k++)
			coh->nodes[i * replicas + k] =
				le32_to_cpu(r->chunks[i].node[k]);
	xa_init(&coh->inval);
	mutex_init(&coh->map_lock);
	xa_init(&coh->maps);
	if (dspm_coh_homes(coh)) {
		dspm_coh_free(coh);
		return NULL;
	}
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
	bitmap_free(coh->fetched);
	kvfree(coh->homes);
	bitmap_free(coh->valid);
	kvfree(coh->nodes);
	kfree(coh);
}

/*
 * A new dspm_coh for a dataset this node opens: its first fetch waits for
 * the UNSHAREs a previous open of it still has queued (see the top).
 */
void dspm_coh_opened(struct dspm_node *node, struct dspm_coh *coh)
{
	struct dspm_unshare *u;

	lockdep_assert_held(&node->lock);
	spin_lock(&node->unshare_lock);
	list_for_each_entry(u, &node->unshares, entry)
		if (u->cluster_id == coh->cluster_id)
			coh->unshare_wait = u->seq;
	spin_unlock(&node->unshare_lock);
}

/*
 * The last fd of the dataset closes: this node keeps no copy any more, so
 * the homes it fetched from should stop invalidating it.  Under node->lock,
 * so that an open of the same dataset after this sees the UNSHARE queued.
 * Best effort: without memory the homes keep this node as a sharer until
 * an INVALIDATE of theirs finds it gone, or it opens the dataset again.
 */
void dspm_coh_closing(struct dspm_node *node, struct dspm_coh *coh)
{
	struct dspm_unshare *u;
	u32 n, i;

	lockdep_assert_held(&node->lock);
	if (!coh)
		return;
	n = bitmap_weight(coh->fetched, coh->nr_homes);
	if (!n)
		return;
	u = kmalloc(struct_size(u, homes, n), GFP_KERNEL);
	if (!u)
		return;
	u->cluster_id = coh->cluster_id;
	u->nr = 0;
	for_each_set_bit(i, coh->fetched, coh->nr_homes)
		u->homes[u->nr++] = coh->homes[i];
	spin_lock(&node->unshare_lock);
	u->seq = ++node->unshare_queued;
	list_add_tail(&u->entry, &node->unshares);
	spin_unlock(&node->unshare_lock);
	queue_work(node->wq, &node->unshare_work);
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

/* From now on @home may list this node as a sharer: UNSHARE goes there. */
static void dspm_coh_mark_home(struct dspm_coh *coh, u32 home)
{
	u32 *at = bsearch(&home, coh->homes, coh->nr_homes, sizeof(u32),
			  dspm_coh_id_cmp);

	if (at)
		set_bit(at - coh->homes, coh->fetched);
}

static u64 dspm_coh_unshare_done(struct dspm_node *node)
{
	u64 done;

	spin_lock(&node->unshare_lock);
	done = node->unshare_done;
	spin_unlock(&node->unshare_lock);
	return done;
}

/* Before this open's first fetch: the previous open's UNSHAREs went out. */
static int dspm_coh_wait_unshared(struct dspm_node *node, struct dspm_coh *coh)
{
	u64 seq = READ_ONCE(coh->unshare_wait);

	if (!seq)
		return 0;
	if (wait_event_killable(node->unshare_wait,
				dspm_coh_unshare_done(node) >= seq))
		return -EINTR;
	WRITE_ONCE(coh->unshare_wait, 0);
	return 0;
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
	if (ret == -ENOENT || ret == -EOPNOTSUPP || ret == -ENOBUFS) {
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
		inv = xa_load(&coh->inval, pgoff);
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
		stale = xa_load(&coh->inval, pgoff) != inv;
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
		inv = xa_load(&coh->inval, pgoff);
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

	/*
	 * An entry for the page's invalidations before anything is asked of
	 * the home: an INVALIDATE then only replaces it, which allocates
	 * nothing and cannot fail, so no reply older than an invalidation
	 * is ever taken for current.  (A page without an entry has no fetch
	 * in flight: its next fetch asks after the commit was applied.)
	 */
	ret = xa_insert(&coh->inval, pgoff, xa_mk_value(0), GFP_KERNEL);
	if (ret && ret != -EBUSY)
		return ret;
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

/* What a home that is coming back, or a broken connection, may cause. */
static bool dspm_coh_transient(int err)
{
	switch (err) {
	case -EHOSTUNREACH:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -ETIMEDOUT:
	case -EACCES:
	case -EPIPE:
	case -ESTALE:
		return true;
	default:
		return false;
	}
}

/* Drop the cached copy of @pgoff and every mapping of it. */
static void dspm_coh_forget(struct dspm_dataset *ds, pgoff_t pgoff)
{
	lockdep_assert_held_write(&ds->apply_sem);
	clear_bit(pgoff, ds->coh->valid);
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
	unsigned int waited = 0, pause = DSPM_FETCH_PAUSE_MIN_MS;
	struct dspm_node *node = ds->node;
	struct dspm_link *link;
	bool home_alive;
	int ret;

	if (!ds->coh || test_bit(pgoff, ds->coh->valid))
		return 0;
	ret = dspm_coh_wait_unshared(node, ds->coh);
	if (ret)
		return ret;
	for (;;) {
		u32 home = dspm_coh_chunk(ds->coh, pgoff)[0];
		int idx;

		ret = 0;
		home_alive = false;
		link = dspm_node_link_get(node, &idx);
		if (!link) {
			ret = -ENOTCONN;
		} else if (!dspm_coh_holds(ds->coh, pgoff,
					   READ_ONCE(link->node_id))) {
			/* marked first: the home may register this node and fail */
			dspm_coh_mark_home(ds->coh, home);
			ret = dspm_coh_fetch(ds, link, pgoff) ?: 1;
			home_alive = ret < 0 && dspm_link_node_alive(link, home, NULL);
		}
		dspm_node_link_put(node, idx);
		/*
		 * A live home that cannot serve yet - it is just back and its
		 * node table does not list this node, or the connection to it
		 * broke with its restart - is asked again for a while.
		 */
		if (!home_alive || !dspm_coh_transient(ret) ||
		    waited >= DSPM_FETCH_PATIENCE_MS || fatal_signal_pending(current))
			return ret;
		msleep(pause);
		waited += pause;
		pause = min(pause * 2, DSPM_FETCH_PAUSE_MAX_MS);
	}
}

/*
 * Is this node's copy of @pgoff still current?  Asked under apply_sem
 * before a fault maps or copies the page: an INVALIDATE may have dropped
 * the copy since dspm_coh_ready() made it current, and it zaps mappings
 * under apply_sem taken for writing - a page found current here and mapped
 * before apply_sem is released is zapped by the next one.
 */
bool dspm_coh_current(struct dspm_dataset *ds, pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;

	lockdep_assert_held(&ds->apply_sem);
	return !coh || dspm_coh_holds(coh, pgoff, coh->self) ||
	       test_bit(pgoff, coh->valid);
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

static void dspm_sharers_free(struct dspm_link *link, u64 dataset,
			      struct dspm_sharers *sh)
{
	lockdep_assert_held(&link->sharers_lock);
	xa_erase(&link->sharers, dataset);
	xa_destroy(&sh->readers);
	kfree(sh);
}

/* Record node @id as a reader of @dataset: 0, or -ENOBUFS without memory. */
static int dspm_sharers_add(struct dspm_link *link, u64 dataset, u32 id)
{
	struct dspm_sharers *sh;
	void *old;
	int ret = 0;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	if (!sh) {
		sh = kzalloc(sizeof(*sh), GFP_KERNEL);
		if (!sh) {
			ret = -ENOBUFS;
			goto unlock;
		}
		xa_init(&sh->readers);
		if (xa_err(xa_store(&link->sharers, dataset, sh, GFP_KERNEL))) {
			kfree(sh);
			ret = -ENOBUFS;
			goto unlock;
		}
	}
	old = xa_store(&sh->readers, id, xa_mk_value(++link->sharer_gen),
		       GFP_KERNEL);
	if (xa_is_err(old)) {
		ret = -ENOBUFS;
		if (!sh->nr)
			dspm_sharers_free(link, dataset, sh);
	} else if (!old) {
		sh->nr++;
	}
unlock:
	mutex_unlock(&link->sharers_lock);
	return ret;
}

/*
 * Forget node @id as a reader of @dataset: any registration when @gen is
 * 0, else only the one of generation @gen (not a newer one).
 */
static bool dspm_sharers_drop(struct dspm_link *link, u64 dataset, u32 id,
			      u64 gen)
{
	struct dspm_sharers *sh;
	bool dropped = false;
	void *entry;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	entry = sh ? xa_load(&sh->readers, id) : NULL;
	if (entry && (!gen || xa_to_value(entry) == gen)) {
		xa_erase(&sh->readers, id);
		if (!--sh->nr)
			dspm_sharers_free(link, dataset, sh);
		dropped = true;
	}
	mutex_unlock(&link->sharers_lock);
	return dropped;
}

/* Up to @max readers of @dataset from node id *@next on, and their generations. */
static u32 dspm_sharers_next(struct dspm_link *link, u64 dataset,
			     unsigned long *next, u32 *ids, u64 *gens, u32 max)
{
	struct dspm_sharers *sh;
	unsigned long id;
	void *entry;
	u32 n = 0;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	if (sh) {
		xa_for_each_start(&sh->readers, id, entry, *next) {
			ids[n] = id;
			gens[n] = xa_to_value(entry);
			*next = id + 1;
			if (++n == max)
				break;
		}
	}
	mutex_unlock(&link->sharers_lock);
	return n;
}

void dspm_coh_link_init(struct dspm_link *link)
{
	BUILD_BUG_ON(sizeof(struct dspm_wire_page_read) !=
		     DSPM_WIRE_PAGE_READ_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_page_data) !=
		     DSPM_WIRE_PAGE_DATA_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_invalidate) !=
		     DSPM_WIRE_INVALIDATE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_invalidated) !=
		     DSPM_WIRE_INVALIDATED_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_unshare) !=
		     DSPM_WIRE_UNSHARE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_unshared) !=
		     DSPM_WIRE_UNSHARED_SIZE);
	mutex_init(&link->sharers_lock);
	xa_init(&link->sharers);
}

void dspm_coh_link_exit(struct dspm_link *link)
{
	struct dspm_sharers *sh;
	unsigned long idx;

	debugfs_remove(link->sharers_file);
	xa_for_each(&link->sharers, idx, sh) {
		xa_destroy(&sh->readers);
		kfree(sh);
	}
	xa_destroy(&link->sharers);
}

/* One sharer's invalidation, run by the committing thread or a worker. */
struct dspm_inval {
	struct work_struct work;
	struct completion done;
	struct dspm_link *link;
	const u64 *pages;
	u64 cluster_id;
	u64 version;
	u64 gen;			/* of the registration invalidated */
	u32 n;
	u32 id;
	u32 max;			/* pages req has room for */
	int ret;
	struct dspm_wire_invalidate *req;
};

static int dspm_inval_send(struct dspm_inval *iv)
{
	struct dspm_wire_invalidate *req = iv->req;
	struct dspm_wire_invalidated ack;
	u32 done, count, i;
	int ret = 0;

	/* a dead node's connection would only time out */
	if (!dspm_link_node_alive(iv->link, iv->id, NULL))
		return -EHOSTUNREACH;
	for (done = 0; done < iv->n && !ret; done += count) {
		count = min_t(u32, iv->n - done, iv->max);
		memset(req, 0, sizeof(*req));
		req->hdr.type = cpu_to_le16(DSPM_WIRE_INVALIDATE);
		req->dataset = cpu_to_le64(iv->cluster_id);
		req->version = cpu_to_le64(iv->version);
		req->count = cpu_to_le32(count);
		for (i = 0; i < count; i++)
			req->pages[i] = cpu_to_le64(iv->pages[done + i]);
		ret = dspm_peer_call(iv->link->peers, iv->id, req,
				     struct_size(req, pages, count),
				     DSPM_WIRE_INVALIDATED, &ack, sizeof(ack));
	}
	return ret;
}

static void dspm_inval_run(struct dspm_inval *iv)
{
	u64 start = ktime_get_ns();

	iv->ret = dspm_inval_send(iv);
	trace_dspm_invalidate(iv->cluster_id, iv->id, iv->n,
			      ktime_get_ns() - start, iv->ret);
}

static void dspm_inval_work(struct work_struct *work)
{
	struct dspm_inval *iv = container_of(work, struct dspm_inval, work);

	dspm_inval_run(iv);
	complete(&iv->done);
}

/*
 * Invalidate the @k sharers of the jobs at @jobs (each @size bytes) at
 * once, the first from this thread; drop those that fail.
 */
static void dspm_inval_batch(struct dspm_link *link, void *jobs, size_t size,
			     u32 k)
{
	struct dspm_inval *iv;
	u32 i;

	for (i = 1; i < k; i++) {
		iv = jobs + i * size;
		queue_work(system_unbound_wq, &iv->work);
	}
	dspm_inval_run(jobs);
	for (i = 0; i < k; i++) {
		iv = jobs + i * size;
		if (i)
			wait_for_completion(&iv->done);
		if (!iv->ret) {
			atomic64_inc(&link->inval_sent);
			continue;
		}
		atomic64_inc(&link->inval_failed);
		if (dspm_sharers_drop(link, iv->cluster_id, iv->id, iv->gen)) {
			/* its keys for one-sided reads go too: it maps again */
			dspm_peers_cut(link->peers, iv->id);
			atomic64_inc(&link->sharers_dropped);
			pr_info_ratelimited("dspm: node %u no longer a reader of dataset %llu here: it did not take an invalidation (%d)\n",
					    iv->id, iv->cluster_id, iv->ret);
		}
	}
}

/*
 * After a commit applied here: every reader this node served drops its
 * copies of @pages before the commit returns; up to DSPM_INVAL_BATCH of
 * them are invalidated at once.  A reader that is not alive, or cannot
 * be reached, is no longer a sharer (see the top).  The link outlives
 * its callers (serving threads and the coordinator's reader section).
 */
void dspm_coh_invalidate_sharers(struct dspm_link *link, u64 cluster_id,
				 const u64 *pages, u32 n, u64 version)
{
	u64 msg[DSPM_WIRE_INVALIDATE_SIZE / 8 + DSPM_INVAL_STACK_PAGES];
	u32 ids[DSPM_INVAL_BATCH], max, k, i;
	u64 gens[DSPM_INVAL_BATCH];
	struct dspm_inval *iv, one;
	unsigned long next = 0;
	size_t size;
	void *jobs;

	if (!n)
		return;
	max = min_t(u32, n, DSPM_WIRE_INVALIDATE_MAX);
	size = sizeof(*iv) + sizeof(*iv->req) + max * sizeof(u64);
	while ((k = dspm_sharers_next(link, cluster_id, &next, ids, gens,
				      DSPM_INVAL_BATCH))) {
		jobs = kvmalloc_array(k, size, GFP_KERNEL);
		if (!jobs) {
			/* one at a time and in small messages, but every one */
			k = 1;
			next = ids[0] + 1;
			jobs = &one;
		}
		for (i = 0; i < k; i++) {
			iv = jobs + i * size;
			if (i) {
				/* the first runs in this thread */
				INIT_WORK(&iv->work, dspm_inval_work);
				init_completion(&iv->done);
			}
			iv->link = link;
			iv->pages = pages;
			iv->cluster_id = cluster_id;
			iv->version = version;
			iv->gen = gens[i];
			iv->n = n;
			iv->id = ids[i];
			iv->max = max;
			iv->req = (void *)(iv + 1);
		}
		if (jobs == &one) {
			one.max = min_t(u32, n, DSPM_INVAL_STACK_PAGES);
			one.req = (void *)msg;
		}
		dspm_inval_batch(link, jobs, size, k);
		if (jobs != &one)
			kvfree(jobs);
	}
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
	int slot, ret;

	if (le32_to_cpu(req->hdr.length) != sizeof(*req))
		return 0;
	/* its registration would not outlast the next commit (see the top) */
	if (!dspm_link_node_alive(link, peer, NULL))
		return dspm_wire_reply_error(data, &req->hdr, -EHOSTUNREACH);
	dspm_wire_reply_hdr(data, &req->hdr, DSPM_WIRE_PAGE_DATA, sizeof(*data));
	data->dataset = req->dataset;
	data->page = req->page;
	data->reserved = 0;
	/*
	 * Recorded first: a commit after this read will invalidate the copy.
	 * No copy is handed out that no commit would invalidate.  A page past
	 * the dataset's end registers a reader for nothing, harmlessly.
	 */
	ret = dspm_sharers_add(link, id, peer);
	if (ret)
		return dspm_wire_reply_error(data, &req->hdr, ret);
	mutex_lock(&node->lock);
	slot = node->store ? dspm_ns_find_cluster(node->store, id) : -ENODEV;
	if (slot < 0) {
		/* never opened here, so never committed to here: zeros */
		mutex_unlock(&node->lock);
		memset(data->data, 0, sizeof(data->data));
		data->version = 0;
		return sizeof(*data);
	}
	d = dspm_store_slot(node->store, slot);
	if (page >= le64_to_cpu(d->pages)) {
		mutex_unlock(&node->lock);
		return dspm_wire_reply_error(data, &req->hdr, -EINVAL);
	}
	/*
	 * Open here, the dataset's fds pin its slot and apply_sem orders the
	 * copy with commits, so node->lock can go before the copy; a dataset
	 * not open here is copied under node->lock, which keeps its slot.
	 */
	ds = xa_load(&node->open, slot);
	if (ds) {
		refcount_inc(&ds->open_count);
		mutex_unlock(&node->lock);
		down_read(&ds->apply_sem);
	}
	data->version = d->version;
	memcpy(data->data, node->store->base +
	       dspm_slot_page_offset(node->store, d, page), PAGE_SIZE);
	if (ds) {
		up_read(&ds->apply_sem);
		dspm_dataset_put(ds);
	} else {
		mutex_unlock(&node->lock);
	}
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
	/* as for PAGE_READ: its registration would not outlast a commit */
	if (!dspm_link_node_alive(link, peer, NULL))
		return dspm_wire_reply_error(reply, &req->hdr, -EHOSTUNREACH);
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
	atomic64_inc(&link->inval_received);
	ds = dspm_coh_find(link->node, le64_to_cpu(req->dataset));
	if (ds) {
		down_write(&ds->apply_sem);
		for (i = 0; i < count; i++) {
			u64 page = le64_to_cpu(req->pages[i]);

			if (page >= ds->pages || version > LONG_MAX)
				continue;
			/*
			 * Only a page with a fetch under way, or done, has an
			 * entry (dspm_coh_fetch()), and replacing one cannot
			 * fail; a page without one has no reply in flight that
			 * the version must stop, so a failed store is no loss.
			 */
			if (dspm_coh_chunk(ds->coh, page)[0] == peer &&
			    xa_load(&ds->coh->inval, page))
				WARN_ON_ONCE(xa_is_err(xa_store(&ds->coh->inval,
								page,
								xa_mk_value(version),
								GFP_KERNEL)));
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

/* UNSHARE: node @peer keeps no copy of the dataset any more. */
static u32 dspm_coh_unshare(struct dspm_link *link, u32 peer,
			    const struct dspm_wire_unshare *req,
			    struct dspm_wire_unshared *ack)
{
	if (le32_to_cpu(req->hdr.length) != sizeof(*req))
		return 0;
	atomic64_inc(&link->unshare_received);
	dspm_sharers_drop(link, le64_to_cpu(req->dataset), peer, 0);
	dspm_wire_reply_hdr(ack, &req->hdr, DSPM_WIRE_UNSHARED, sizeof(*ack));
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
	case DSPM_WIRE_UNSHARE:
		return dspm_coh_unshare(link, peer, req, reply);
	default:
		return 0;
	}
}

/*
 * The UNSHAREs of closed datasets, in the order they closed.  A home that
 * cannot be reached, or a node outside a cluster, gives up on one: the home
 * drops this node once it finds it dead or its INVALIDATE fails.  Each is
 * marked sent only after its calls, so an open waiting for it (see the
 * top) fetches after the home saw it.
 */
static void dspm_coh_unshare_work(struct work_struct *work)
{
	struct dspm_node *node = container_of(work, struct dspm_node,
					      unshare_work);
	struct dspm_wire_unshared ack;
	struct dspm_wire_unshare req;
	struct dspm_unshare *u;
	struct dspm_link *link;
	int idx;
	u32 i;

	for (;;) {
		spin_lock(&node->unshare_lock);
		u = list_first_entry_or_null(&node->unshares,
					     struct dspm_unshare, entry);
		spin_unlock(&node->unshare_lock);
		if (!u)
			return;
		link = dspm_node_link_get(node, &idx);
		for (i = 0; link && i < u->nr; i++) {
			if (!dspm_link_node_alive(link, u->homes[i], NULL))
				continue;
			memset(&req, 0, sizeof(req));
			req.hdr.type = cpu_to_le16(DSPM_WIRE_UNSHARE);
			req.dataset = cpu_to_le64(u->cluster_id);
			if (!dspm_peer_call(link->peers, u->homes[i], &req,
					    sizeof(req), DSPM_WIRE_UNSHARED,
					    &ack, sizeof(ack)))
				atomic64_inc(&link->unshare_sent);
		}
		dspm_node_link_put(node, idx);
		spin_lock(&node->unshare_lock);
		list_del(&u->entry);
		node->unshare_done = u->seq;
		spin_unlock(&node->unshare_lock);
		wake_up_all(&node->unshare_wait);
		kfree(u);
	}
}

/*
 * After a (re)join: the homes may have dropped this node as a sharer while
 * it was away or declared dead, so no cached copy of an open dataset stays
 * valid; each is fetched again, which registers this node again.  The same
 * after a home restarted: its list of sharers was in memory.
 */
static void dspm_coh_forget_work(struct work_struct *work)
{
	struct dspm_node *node = container_of(work, struct dspm_node,
					      forget_work);
	struct dspm_dataset *ds;
	unsigned long slot = 0;

	for (;;) {
		mutex_lock(&node->lock);
		ds = xa_find(&node->open, &slot, ULONG_MAX, XA_PRESENT);
		if (ds)
			refcount_inc(&ds->open_count);
		mutex_unlock(&node->lock);
		if (!ds)
			return;
		if (ds->coh) {
			down_write(&ds->apply_sem);
			bitmap_zero(ds->coh->valid, ds->pages);
			dspm_zap_pages(ds, 0, ds->pages);
			up_write(&ds->apply_sem);
		}
		dspm_dataset_put(ds);
		slot++;
	}
}

/*
 * This node joined, or rejoined after losing the dispatcher, or another
 * node came back from the dead (a home that forgot its sharers): every
 * cached copy goes.
 */
void dspm_coh_joined(struct dspm_node *node)
{
	queue_work(node->wq, &node->forget_work);
}

void dspm_coh_node_init(struct dspm_node *node)
{
	spin_lock_init(&node->unshare_lock);
	INIT_LIST_HEAD(&node->unshares);
	init_waitqueue_head(&node->unshare_wait);
	INIT_WORK(&node->unshare_work, dspm_coh_unshare_work);
	INIT_WORK(&node->forget_work, dspm_coh_forget_work);
}

/*
 * Module unload, after the cluster is left and with no dataset open:
 * nothing queues work any more, and UNSHAREs queued go nowhere.
 */
void dspm_coh_node_exit(struct dspm_node *node)
{
	flush_work(&node->forget_work);
	flush_work(&node->unshare_work);
}

/*
 * /sys/kernel/debug/dspm/sharers, while the node is in a cluster: counters
 * of the invalidation protocol, then one line per dataset homed (in part)
 * here with readers, "DATASET: NODE NODE ...".
 */
static int dspm_sharers_show(struct seq_file *m, void *v)
{
	struct dspm_link *link = m->private;
	struct dspm_sharers *sh;
	unsigned long idx, id;
	void *entry;

	seq_printf(m, "invalidations_sent %lld\ninvalidations_failed %lld\n",
		   atomic64_read(&link->inval_sent),
		   atomic64_read(&link->inval_failed));
	seq_printf(m, "invalidations_received %lld\nsharers_dropped %lld\n",
		   atomic64_read(&link->inval_received),
		   atomic64_read(&link->sharers_dropped));
	seq_printf(m, "unshares_sent %lld\nunshares_received %lld\n",
		   atomic64_read(&link->unshare_sent),
		   atomic64_read(&link->unshare_received));
	mutex_lock(&link->sharers_lock);
	xa_for_each(&link->sharers, idx, sh) {
		seq_printf(m, "%lu:", idx);
		xa_for_each(&sh->readers, id, entry)
			seq_printf(m, " %lu", id);
		seq_putc(m, '\n');
	}
	mutex_unlock(&link->sharers_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dspm_sharers);

void dspm_coh_link_start(struct dspm_link *link)
{
	link->sharers_file = debugfs_create_file("sharers", 0400,
						 dspm_debugfs_root(), link,
						 &dspm_sharers_fops);
}
