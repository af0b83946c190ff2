// SPDX-License-Identifier: GPL-2.0
/*
 * The resolver: finishes transactions whose decision did not arrive.  It
 * asks their coordinator, and tells the participants of this node's own
 * decisions again until each has applied.
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

#define DSPM_RESOLVE_PERIOD_MS	1000

#define DSPM_RESOLVE_AFTER_MS	3000

/* One lane that waited too long, as the resolver found it. */
struct dspm_resolve_item {
	u64 txn;
	u32 coordinator;
	bool decided;			/* ours: participants to tell */
};

/* A participant's lane with no decision: ask its coordinator. */
static void dspm_resolve_doubt(struct dspm_link *link, u64 txn, u32 coordinator)
{
	struct dspm_store *st = link->store;
	struct dspm_wire_txn_query q = {};
	struct dspm_wire_txn_state s;
	struct dspm_lane *l;
	int ret;

	q.hdr.type = cpu_to_le16(DSPM_WIRE_TXN_QUERY);
	q.txn = cpu_to_le64(txn);
	ret = dspm_peer_call(link->peers, coordinator, &q, sizeof(q),
			     DSPM_WIRE_TXN_STATE, &s, sizeof(s));
	if (ret || le64_to_cpu(s.txn) != txn ||
	    le32_to_cpu(s.decision) == DSPM_WIRE_PENDING ||
	    (le32_to_cpu(s.decision) != DSPM_WIRE_COMMIT &&
	     le32_to_cpu(s.decision) != DSPM_WIRE_ABORT))
		return;
	l = dspm_part_claim(st, txn, coordinator,
			    le32_to_cpu(s.decision) == DSPM_WIRE_COMMIT);
	if (IS_ERR_OR_NULL(l))
		return;
	pr_info("dspm: transaction %llx of node %u resolved: %s\n", txn,
		coordinator, le32_to_cpu(s.decision) == DSPM_WIRE_COMMIT ?
		"commit" : "abort");
	dspm_part_finish(link, l, le32_to_cpu(s.decision) == DSPM_WIRE_COMMIT);
}

/* Our decision: tell the participants that have not applied it yet. */
static void dspm_resolve_decided(struct dspm_link *link, u64 txn)
{
	struct dspm_store *st = link->store;
	struct dspm_wire_decide req;
	struct dspm_wire_decided done;
	struct dspm_lane *l;
	bool all = true;
	u32 i, id;

	for (i = 0;; i++) {
		mutex_lock(&st->lanes->lock);
		l = dspm_lane_find(st, txn, true);
		if (!l || l->use != DSPM_LANE_DECIDED || i >= l->nr_nodes) {
			if (l && l->use == DSPM_LANE_DECIDED && all) {
				dspm_lane_release(st, l);
				pr_info("dspm: transaction %llx: every participant has applied it\n",
					txn);
			}
			mutex_unlock(&st->lanes->lock);
			return;
		}
		id = l->acked[i] ? 0 : l->nodes[i];
		mutex_unlock(&st->lanes->lock);
		if (!id)
			continue;
		memset(&req, 0, sizeof(req));
		req.hdr.type = cpu_to_le16(DSPM_WIRE_DECIDE);
		req.txn = cpu_to_le64(txn);
		req.decision = cpu_to_le32(DSPM_WIRE_COMMIT);
		if (dspm_peer_call(link->peers, id, &req, sizeof(req), DSPM_WIRE_DECIDED,
				   &done, sizeof(done))) {
			all = false;
			continue;
		}
		mutex_lock(&st->lanes->lock);
		l = dspm_lane_find(st, txn, true);
		if (l && l->use == DSPM_LANE_DECIDED && i < l->nr_nodes)
			l->acked[i] = true;
		mutex_unlock(&st->lanes->lock);
	}
}

static void dspm_resolver(struct work_struct *work)
{
	struct dspm_link *link = container_of(to_delayed_work(work),
					      struct dspm_link, resolve);
	struct dspm_store *st = link->store;
	struct dspm_resolve_item items[DSPM_LANES];
	unsigned long old = msecs_to_jiffies(DSPM_RESOLVE_AFTER_MS);
	u32 i, n = 0;

	mutex_lock(&st->lanes->lock);
	for (i = 0; i < DSPM_LANES; i++) {
		struct dspm_lane *l = &st->lanes->lane[i];

		if (l->busy || time_before(jiffies, l->stamp + old))
			continue;
		if (l->use == DSPM_LANE_DECIDED ||
		    l->use == DSPM_LANE_PREPARED ||
		    l->use == DSPM_LANE_FILLING_UNSEALED) {
			l->stamp = jiffies;
			items[n].txn = l->txn;
			items[n].coordinator = l->coordinator;
			items[n++].decided = l->use == DSPM_LANE_DECIDED;
		}
	}
	mutex_unlock(&st->lanes->lock);
	for (i = 0; i < n; i++) {
		if (items[i].decided)
			dspm_resolve_decided(link, items[i].txn);
		else
			dspm_resolve_doubt(link, items[i].txn,
					   items[i].coordinator);
	}
	queue_delayed_work(link->node->wq, &link->resolve,
			   msecs_to_jiffies(DSPM_RESOLVE_PERIOD_MS));
}

void dspm_resolver_start(struct dspm_link *link)
{
	INIT_DELAYED_WORK(&link->resolve, dspm_resolver);
	if (link->store->lanes)
		queue_delayed_work(link->node->wq, &link->resolve,
				   msecs_to_jiffies(DSPM_RESOLVE_PERIOD_MS));
}

void dspm_resolver_stop(struct dspm_link *link)
{
	cancel_delayed_work_sync(&link->resolve);
}
