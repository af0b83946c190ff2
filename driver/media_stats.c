// SPDX-License-Identifier: GPL-2.0
/*
 * Per-node counters, kept in the attached store and reported by
 * DSPM_IOC_GET_INFO (struct dspm_info, VER1 fields).  They count from
 * attach; every one is an atomic64_t, bumped lock-free from the data path.
 *
 * The helpers for remote faults, fetch latencies, conflicts and
 * replicated bytes are called by the coherence code; the local ones by
 * ds_fault.c and ds_commit.c.
 */
#include <linux/log2.h>
#include <linux/minmax.h>

#include "internal.h"

void dspm_stats_fault_local(struct dspm_store *st)
{
	atomic64_inc(&st->stats.faults_local);
}

void dspm_stats_fault_remote(struct dspm_store *st)
{
	atomic64_inc(&st->stats.faults_remote);
}

/* Bucket of a fetch that took @ns: 0 below 1 us, i for [2^(i-1), 2^i) us. */
static unsigned int dspm_stats_fetch_bucket(u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);

	if (!us)
		return 0;
	return min_t(unsigned int, ilog2(us) + 1, DSPM_INFO_FETCH_BUCKETS - 1);
}

void dspm_stats_fetch_done(struct dspm_store *st, u64 ns)
{
	atomic64_inc(&st->stats.fetch_hist[dspm_stats_fetch_bucket(ns)]);
}

void dspm_stats_conflict(struct dspm_store *st)
{
	atomic64_inc(&st->stats.conflicts);
}

void dspm_stats_committed(struct dspm_store *st, u64 bytes)
{
	atomic64_add(bytes, &st->stats.bytes_committed);
}

void dspm_stats_replicated(struct dspm_store *st, u64 bytes)
{
	atomic64_add(bytes, &st->stats.bytes_replicated);
}

void dspm_stats_shadowed(struct dspm_store *st)
{
	atomic64_inc(&st->stats.pages_shadowed);
}

void dspm_stats_fill(struct dspm_store *st, struct dspm_info *info)
{
	const struct dspm_stats *s = &st->stats;
	unsigned int i;

	info->faults_local = atomic64_read(&s->faults_local);
	info->faults_remote = atomic64_read(&s->faults_remote);
	info->conflicts = atomic64_read(&s->conflicts);
	info->bytes_committed = atomic64_read(&s->bytes_committed);
	info->bytes_replicated = atomic64_read(&s->bytes_replicated);
	info->pages_shadowed = atomic64_read(&s->pages_shadowed);
	for (i = 0; i < DSPM_INFO_FETCH_BUCKETS; i++)
		info->fetch_hist[i] = atomic64_read(&s->fetch_hist[i]);
}
