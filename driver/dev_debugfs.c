// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dspm: the directory the driver's debugfs files live in
 * (peer, sharers, and with CONFIG_DSPM_DEBUG the fault injection knobs,
 * copy, lanes, transport_echo and transport_ping: debug.h).
 */
#include <linux/debugfs.h>

#include "debug.h"
#include "internal.h"

static struct dentry *dspm_debugfs_dir;

/* Where parts that come and go (the peer listener) put their files. */
struct dentry *dspm_debugfs_root(void)
{
	return dspm_debugfs_dir;
}

void dspm_debugfs_init(void)
{
	dspm_debugfs_dir = debugfs_create_dir("dspm", NULL);
	dspm_debug_inject_init(dspm_debugfs_dir);
	dspm_transport_bench_init(dspm_debugfs_dir);
}

void dspm_debugfs_exit(void)
{
	dspm_transport_bench_exit();
	debugfs_remove(dspm_debugfs_dir);
}
