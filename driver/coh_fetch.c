// SPDX-License-Identifier: GPL-2.0
/*
 * Remote read faults: a page of a chunk this node does not hold is fetched
 * from its home, by one-sided RDMA READ where the transport has it (after
 * a PAGE_MAP), else by PAGE_READ (Documentation/coherence.md).
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "clu.h"
#include "coh.h"
#include "trace.h"
#include "xprt.h"

#define DSPM_FETCH_ATTEMPTS	8

#define DSPM_DIRECT_ATTEMPTS	4

/* how long a fault asks a live home that failed to serve again */
#define DSPM_FETCH_PATIENCE_MS	10000U

#define DSPM_FETCH_PAUSE_MIN_MS	20U

#define DSPM_FETCH_PAUSE_MAX_MS	500U

/* a home that answered PAGE_MAP with an error is asked again after this */
#define DSPM_MAP_RETRY_MS	1000

/* A fetch's buffers: one allocation. */
struct dspm_coh_fetch_buf {
	union {
		struct dspm_wire_page_data data;
		struct dspm_wire_page_map_reply map_reply;
		u8 read[DSPM_TRANSPORT_READ_MAX];
	};
	struct dspm_coh_map map;
};

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
	u32 home = dspm_chunk_map_home(coh->placement, pgoff);
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
		u32 home = dspm_chunk_map_home(ds->coh->placement, pgoff);
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
