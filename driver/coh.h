/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Coherence of cluster datasets, inside the coh_ files: the state a node
 * keeps for a dataset it has open, the home's record of its readers, and
 * the helpers the files share.  Documentation/coherence.md has the design
 * (why cached copies never go stale), locking.md the locks.
 */
#ifndef _DSPM_COH_H
#define _DSPM_COH_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <uapi/linux/dspm_wire.h>

#include "internal.h"

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

struct dspm_coh {
	u64 cluster_id;
	u32 self;			/* this node's id at open */
	struct dspm_chunk_map *placement;
	/*
	 * valid and inval change only under the dataset's apply_sem held for
	 * writing; a fault maps or copies a page only under it held for
	 * reading.  Bit operations are atomic, so test_bit() without it is
	 * a hint the caller checks again under apply_sem.
	 */
	unsigned long *valid;		/* pages this node does not hold */
	struct xarray inval;		/* page -> last invalidation version */
	/* placement->homes[i] may list this node as a sharer */
	unsigned long *fetched;
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

bool dspm_coh_holds(const struct dspm_coh *coh, pgoff_t pgoff, u32 self);
void dspm_coh_mark_home(struct dspm_coh *coh, u32 home);
int dspm_coh_wait_unshared(struct dspm_node *node, struct dspm_coh *coh);
void dspm_coh_forget(struct dspm_dataset *ds, pgoff_t pgoff);
int dspm_sharers_add(struct dspm_link *link, u64 dataset, u32 id);
bool dspm_sharers_drop(struct dspm_link *link, u64 dataset, u32 id,
		       u64 gen);

#endif /* _DSPM_COH_H */
