// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dspm: fault injection for the crash tests.
 *
 *   apply_stall_ms  when non-zero, every transaction sleeps this long after
 *                   applying half of its sealed record, so a power failure
 *                   can be aimed at the moment recovery must finish a
 *                   half-applied commit.  Capped at 60 s.
 *   fault_stall_ms  when non-zero, a fault on a cluster dataset sleeps
 *                   this long after making this node's copy of the page
 *                   current and before mapping or copying it, so a test
 *                   can land an invalidation in between.  Capped at 60 s.
 *   transport_echo, transport_ping  see transport_bench.c
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/minmax.h>

#include "internal.h"
#include "xprt.h"

static struct dentry *dspm_debugfs_dir;
static u32 dspm_apply_stall_ms;
static u32 dspm_fault_stall_ms;

static void dspm_debug_stall(u32 *knob, const char *what)
{
	u32 ms = min_t(u32, READ_ONCE(*knob), 60000);

	if (!ms)
		return;
	pr_info("dspm: fault injection: %s stalled for %u ms\n", what, ms);
	msleep(ms);
}

void dspm_debug_apply_stall(void)
{
	dspm_debug_stall(&dspm_apply_stall_ms, "apply");
}

void dspm_debug_fault_stall(void)
{
	dspm_debug_stall(&dspm_fault_stall_ms, "fault");
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
	debugfs_create_u32("fault_stall_ms", 0600, dspm_debugfs_dir,
			   &dspm_fault_stall_ms);
	dspm_transport_bench_init(dspm_debugfs_dir);
}

void dspm_debugfs_exit(void)
{
	dspm_transport_bench_exit();
	debugfs_remove(dspm_debugfs_dir);
}
