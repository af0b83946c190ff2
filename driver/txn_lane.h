/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prepare lanes of the two-phase commit (txn_lane.c) and the participant and
 * coordinator sides that use them (txn_participant.c, txn_coordinator.c).
 */
#ifndef _DSPM_TXN_LANE_H
#define _DSPM_TXN_LANE_H

#include <linux/mutex.h>
#include <linux/types.h>

#include "media_layout.h"

struct dspm_link;
struct dspm_store;
struct dspm_txn;

enum dspm_lane_use {
	DSPM_LANE_FREE,
	DSPM_LANE_FILLING_UNSEALED,	/* participant: entries arriving */
	DSPM_LANE_PREPARED,		/* participant: sealed, pages locked */
	DSPM_LANE_INFLIGHT,		/* coordinator: not decided yet */
	DSPM_LANE_DECIDED,		/* coordinator: decided commit */
};

struct dspm_lane {
	u32 index;
	enum dspm_lane_use use;
	bool busy;			/* a thread is finishing it */
	bool sorted;			/* mpages ascending */
	u64 txn;
	u32 coordinator;
	u32 slot;			/* participant: the dataset's slot */
	u64 cluster_id;
	unsigned long stamp;		/* jiffies: last progress */

	/* participant: locked pages, media and dataset page numbers */
	u64 *mpages;
	u64 *dpages;			/* a set; U64_MAX: no dataset page */
	u32 nr_mpages;
	u32 cap_mpages;
	u64 used;
	u64 data_bytes;
	u32 nr_entries;
	u32 csum;

	/* coordinator: the participants of a decision */
	u32 *nodes;
	bool *acked;
	u32 nr_nodes;
};

struct dspm_lanes {
	struct mutex lock;		/* lanes; before log_lock */
	struct dspm_lane lane[DSPM_LANES];
};

int dspm_lanes_init(struct dspm_store *st);
void dspm_lanes_free(struct dspm_store *st);
void dspm_lanes_format(struct dspm_store *st);
u64 dspm_lane_capacity(struct dspm_store *st);
struct dspm_lane *dspm_lane_find(struct dspm_store *st, u64 txn,
				 bool coordinator);
struct dspm_lane *dspm_lane_alloc(struct dspm_store *st, u64 txn,
				  enum dspm_lane_use use, u32 coordinator);
void dspm_lane_release(struct dspm_store *st, struct dspm_lane *l);
int dspm_lane_lock_page(struct dspm_store *st, struct dspm_lane *l, u64 mpage,
			u64 dpage);
void dspm_lane_txn_begin(struct dspm_store *st, struct dspm_lane *l,
			 struct dspm_txn *txn);
void dspm_lane_txn_end(struct dspm_lane *l, const struct dspm_txn *txn);
void dspm_lane_prepare(struct dspm_store *st, struct dspm_lane *l);
void dspm_lane_commit(struct dspm_store *st, struct dspm_lane *l, u64 version);
void dspm_lane_apply(struct dspm_store *st, struct dspm_lane *l, u64 version);
int dspm_lane_decide(struct dspm_store *st, struct dspm_lane *l,
		     const u32 *nodes, u32 nr);

/* txn_participant.c */
void dspm_resolver_start(struct dspm_link *link);
void dspm_resolver_stop(struct dspm_link *link);

/* txn_coordinator.c */

/* txn_participant.c, for the resolver (txn_resolver.c) */
u64 dspm_part_finish(struct dspm_link *link, struct dspm_lane *l,
		     bool commit);
struct dspm_lane *dspm_part_claim(struct dspm_store *st, u64 txn,
				  u32 coordinator, bool commit);

#endif /* _DSPM_TXN_LANE_H */
