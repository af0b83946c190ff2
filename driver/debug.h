/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Debugging aids, built with CONFIG_DSPM_DEBUG (Kconfig; the project's
 * Makefile enables it for the test VMs): fault injection (debug_inject.c),
 * a page's bytes in this node's pmem (debug_copy.c), the lanes in use
 * (debug_lanes.c), the transport benchmark (debug_xprt_bench.c) and
 * node-to-node pings (debug_ping.c).  Without it, these are stubs.
 */
#ifndef _DSPM_DEBUG_H
#define _DSPM_DEBUG_H

#include <linux/fs.h>
#include <linux/kconfig.h>
#include <linux/types.h>

struct dentry;
struct dspm_link;

#if IS_ENABLED(CONFIG_DSPM_DEBUG)
void dspm_debug_inject_init(struct dentry *dir);
void dspm_debug_apply_stall(void);
void dspm_debug_fault_stall(void);
void dspm_debug_prepared_stall(void);
void dspm_debug_decided_stall(void);
void dspm_debug_copy_start(struct dspm_link *link);
void dspm_debug_copy_stop(struct dspm_link *link);
void dspm_debug_lanes_start(struct dspm_link *link);
void dspm_debug_lanes_stop(struct dspm_link *link);
void dspm_transport_bench_init(struct dentry *dir);
void dspm_transport_bench_exit(void);
ssize_t dspm_peer_write(struct file *file, const char __user *ubuf,
			size_t len, loff_t *pos);
#else
static inline void dspm_debug_inject_init(struct dentry *dir) {}
static inline void dspm_debug_apply_stall(void) {}
static inline void dspm_debug_fault_stall(void) {}
static inline void dspm_debug_prepared_stall(void) {}
static inline void dspm_debug_decided_stall(void) {}
static inline void dspm_debug_copy_start(struct dspm_link *link) {}
static inline void dspm_debug_copy_stop(struct dspm_link *link) {}
static inline void dspm_debug_lanes_start(struct dspm_link *link) {}
static inline void dspm_debug_lanes_stop(struct dspm_link *link) {}
static inline void dspm_transport_bench_init(struct dentry *dir) {}
static inline void dspm_transport_bench_exit(void) {}
#define dspm_peer_write NULL
#endif

#endif /* _DSPM_DEBUG_H */
