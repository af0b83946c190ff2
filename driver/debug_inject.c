// SPDX-License-Identifier: GPL-2.0
/*
 * CONFIG_DSPM_DEBUG: fault injection for the crash and race tests, in
 * /sys/kernel/debug/dspm.
 *
 *   apply_stall_ms  when non-zero, every transaction sleeps this long after
 *                   applying half of its sealed record, so a power failure
 *                   can be aimed at the moment recovery must finish a
 *                   half-applied commit.  Capped at 60 s.
 *   fault_stall_ms  when non-zero, a fault on a cluster dataset sleeps
 *                   this long just before it takes apply_sem to map or
 *                   copy its page, so a test can land an invalidation in
 *                   between.  Capped at 60 s.
 *   prepared_stall_ms  when non-zero, a coordinator with every PREPARED in
 *                   sleeps this long before it decides, woken early by a
 *                   signal, so a test can signal a commit before its
 *                   decision.  Capped at 60 s.
 *   decided_stall_ms  when non-zero, a coordinator that has sealed its
 *                   decision sleeps this long, signals or not, before it
 *                   sends DECIDE: a signal then lands after the decision.
 *                   Capped at 60 s.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/minmax.h>

#include "debug.h"
#include "internal.h"

static u32 dspm_apply_stall_ms;
static u32 dspm_fault_stall_ms;
static u32 dspm_prepared_stall_ms;
static u32 dspm_decided_stall_ms;

static void dspm_debug_stall(u32 *knob, const char *what, bool signals)
{
	u32 ms = min_t(u32, READ_ONCE(*knob), 60000);

	if (!ms)
		return;
	pr_info("dspm: fault injection: %s stalled for %u ms\n", what, ms);
	if (signals)
		msleep_interruptible(ms);
	else
		msleep(ms);
}

void dspm_debug_apply_stall(void)
{
	dspm_debug_stall(&dspm_apply_stall_ms, "apply", false);
}

void dspm_debug_fault_stall(void)
{
	dspm_debug_stall(&dspm_fault_stall_ms, "fault", false);
}

void dspm_debug_prepared_stall(void)
{
	dspm_debug_stall(&dspm_prepared_stall_ms, "prepared commit", true);
}

void dspm_debug_decided_stall(void)
{
	dspm_debug_stall(&dspm_decided_stall_ms, "decided commit", false);
}

void dspm_debug_inject_init(struct dentry *dir)
{
	debugfs_create_u32("apply_stall_ms", 0600, dir, &dspm_apply_stall_ms);
	debugfs_create_u32("fault_stall_ms", 0600, dir, &dspm_fault_stall_ms);
	debugfs_create_u32("prepared_stall_ms", 0600, dir,
			   &dspm_prepared_stall_ms);
	debugfs_create_u32("decided_stall_ms", 0600, dir,
			   &dspm_decided_stall_ms);
}
