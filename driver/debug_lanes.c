// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dspm/lanes, while the node is in a cluster: the
 * two-phase commit lanes in use on this node, one line each, so a
 * transaction in doubt or a page lock that is not let go can be seen:
 *
 *   LANE USE TXN coordinator=ID slot=SLOT pages=N busy=0|1 age_ms=MS
 *
 * USE is filling, prepared (participant), inflight or decided
 * (coordinator); TXN in hex; age is since the lane last made progress.
 */
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"

static const char *const dspm_lane_use_names[] = {
	[DSPM_LANE_FREE] = "free",
	[DSPM_LANE_FILLING_UNSEALED] = "filling",
	[DSPM_LANE_PREPARED] = "prepared",
	[DSPM_LANE_INFLIGHT] = "inflight",
	[DSPM_LANE_DECIDED] = "decided",
};

static int dspm_lanes_show(struct seq_file *m, void *v)
{
	struct dspm_link *link = m->private;
	struct dspm_lanes *ls = link->store->lanes;
	u32 i;

	if (!ls)
		return 0;
	mutex_lock(&ls->lock);
	for (i = 0; i < DSPM_LANES; i++) {
		const struct dspm_lane *l = &ls->lane[i];

		if (l->use == DSPM_LANE_FREE)
			continue;
		seq_printf(m, "%u %s %llx coordinator=%u slot=%u pages=%u busy=%d age_ms=%u\n",
			   i, dspm_lane_use_names[l->use], l->txn,
			   l->coordinator, l->slot, l->nr_mpages, l->busy,
			   jiffies_to_msecs(jiffies - l->stamp));
	}
	mutex_unlock(&ls->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dspm_lanes);

void dspm_debug_lanes_start(struct dspm_link *link)
{
	link->lanes_file = debugfs_create_file("lanes", 0400,
					       dspm_debugfs_root(), link,
					       &dspm_lanes_fops);
}

void dspm_debug_lanes_stop(struct dspm_link *link)
{
	debugfs_remove(link->lanes_file);
}
