// SPDX-License-Identifier: GPL-2.0
/*
 * What a reader tells the homes it fetched from: UNSHARE when its last fd
 * of a dataset closes (in order, by a worker), and dropping every cached
 * copy after a (re)join or when a home came back from the dead.
 */
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "clu.h"
#include "coh.h"

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
	n = bitmap_weight(coh->fetched, coh->placement->nr_homes);
	if (!n)
		return;
	u = kmalloc(struct_size(u, homes, n), GFP_KERNEL);
	if (!u)
		return;
	u->cluster_id = coh->cluster_id;
	u->nr = 0;
	for_each_set_bit(i, coh->fetched, coh->placement->nr_homes)
		u->homes[u->nr++] = coh->placement->homes[i];
	spin_lock(&node->unshare_lock);
	u->seq = ++node->unshare_queued;
	list_add_tail(&u->entry, &node->unshares);
	spin_unlock(&node->unshare_lock);
	queue_work(node->wq, &node->unshare_work);
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
int dspm_coh_wait_unshared(struct dspm_node *node, struct dspm_coh *coh)
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
