// SPDX-License-Identifier: GPL-2.0
/*
 * The coherence requests this node serves: PAGE_READ and PAGE_MAP as a
 * home, INVALIDATE as a reader, UNSHARE from a reader that closed.
 */
#include <linux/seq_file.h>
#include <linux/string.h>

#include "clu.h"
#include "coh.h"
#include "xprt.h"

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
static u32 dspm_coh_page_map(struct dspm_link *link, u32 peer,
			     const struct dspm_wire_page_map *req,
		      struct dspm_wire_page_map_reply *reply,
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
	if (!dspm_conn_one_sided(conn) || !st->seq)
		return dspm_wire_reply_error(reply, &req->hdr, -EOPNOTSUPP);
	r[0].addr = st->base + st->data_offset;
	r[0].len = st->data_pages * DSPM_MEDIA_PAGE;
	r[1].addr = st->seq;
	r[1].len = st->seq_bytes;
	ret = dspm_conn_expose(conn, r, ARRAY_SIZE(r), keys);
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
			if (dspm_chunk_map_home(ds->coh->placement, page) == peer &&
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

static u32 dspm_coh_serve_read(struct dspm_link *link, u32 peer, void *req,
			       void *reply, struct dspm_conn *conn)
{
	return dspm_coh_page_read(link, peer, req, reply);
}

static u32 dspm_coh_serve_map(struct dspm_link *link, u32 peer, void *req,
			      void *reply, struct dspm_conn *conn)
{
	return dspm_coh_page_map(link, peer, req, reply, conn);
}

static u32 dspm_coh_serve_invalidate(struct dspm_link *link, u32 peer,
				     void *req, void *reply,
				      struct dspm_conn *conn)
{
	return dspm_coh_invalidate(link, peer, req, reply);
}

static u32 dspm_coh_serve_unshare(struct dspm_link *link, u32 peer,
				  void *req, void *reply,
				   struct dspm_conn *conn)
{
	return dspm_coh_unshare(link, peer, req, reply);
}

const struct dspm_peer_service dspm_coh_services[] = {
	{ DSPM_WIRE_PAGE_READ, DSPM_WIRE_PAGE_READ_SIZE, dspm_coh_serve_read },
	{ DSPM_WIRE_PAGE_MAP, DSPM_WIRE_PAGE_MAP_SIZE, dspm_coh_serve_map },
	{ DSPM_WIRE_INVALIDATE, DSPM_WIRE_INVALIDATE_SIZE,
	  dspm_coh_serve_invalidate },
	{ DSPM_WIRE_UNSHARE, DSPM_WIRE_UNSHARE_SIZE, dspm_coh_serve_unshare },
	{ }
};
