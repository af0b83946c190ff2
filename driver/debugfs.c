// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dspm: fault injection for the crash tests.
 *
 *   apply_stall_ms  when non-zero, every transaction sleeps this long after
 *                   applying half of its sealed record, so a power failure
 *                   can be aimed at the moment recovery must finish a
 *                   half-applied commit.  Capped at 60 s.
 *   transport_echo, transport_ping  see transport_bench.c
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/minmax.h>

#include "internal.h"
#include "transport.h"

static struct dentry *dspm_debugfs_dir;
static u32 dspm_apply_stall_ms;

void dspm_debug_apply_stall(void)
{
	u32 ms = min_t(u32, READ_ONCE(dspm_apply_stall_ms), 60000);

	if (!ms)
		return;
	pr_info("dspm: fault injection: apply stalled for %u ms\n", ms);
	msleep(ms);
}

/* Where parts that come and go (the peer listener) put their files. */
struct dentry *dspm_debugfs_root(void)
{
	return dspm_debugfs_dir;
}

void dspm_debugfs_init(void)
{
	dspm_debugfs_dir = debugfs_create_dir("dspm", NULL);
	debugfs_create_u32("apply_stall_ms", 0600, dspm_debugfs_dir,
			   &dspm_apply_stall_ms);
	dspm_transport_bench_init(dspm_debugfs_dir);
}

void dspm_debugfs_exit(void)
{
	dspm_transport_bench_exit();
	debugfs_remove(dspm_debugfs_dir);
}
