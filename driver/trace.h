/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dspm tracepoints: /sys/kernel/tracing/events/dspm/.
 *
 *   dspm_fault    a page fault on a dataset mapping (ds_fault.c): remote when
 *                 it fetched the page from its home, else local
 *   dspm_commit   a commit that wrote a record, with its time (ds_commit.c)
 *   dspm_abort    an ABORT, or a close that dropped dirty pages (ds_commit.c)
 *   dspm_fetch    a page fetched from its home node (coh_fetch.c), via
 *                 one-sided RDMA READs or a PAGE_READ call (rpc)
 *   dspm_invalidate  a home's INVALIDATE of one sharer after a commit,
 *                 with its time (coh_sharers.c); -EHOSTUNREACH without a
 *                 call when the sharer is not alive
 *   dspm_prepare  a participant's PREPARE of a multi-node commit, at the
 *                 coordinator (txn_coordinator.c)
 *
 * Durations are nanoseconds;
 * results are 0 or a negative errno (a vm_fault_t for dspm_fault).
 * CREATE_TRACE_POINTS is defined in trace.c only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM dspm

#if !defined(_DSPM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DSPM_TRACE_H

#include <linux/mm_types.h>
#include <linux/tracepoint.h>

TRACE_EVENT(dspm_fault,
	    TP_PROTO(u64 dataset, u64 pgoff, bool write, bool local,
		     vm_fault_t result),
	    TP_ARGS(dataset, pgoff, write, local, result),
	    TP_STRUCT__entry(__field(u64, dataset)
			     __field(u64, pgoff)
			     __field(bool, write)
			     __field(bool, local)
			     __field(unsigned int, result)
	    ),
	    TP_fast_assign(__entry->dataset = dataset;
			   __entry->pgoff = pgoff;
			   __entry->write = write;
			   __entry->local = local;
			   __entry->result = (__force unsigned int)result;
	    ),
	    TP_printk("dataset=%llu pgoff=%llu %s %s result=%#x",
		      __entry->dataset, __entry->pgoff,
		      __entry->write ? "write" : "read",
		      __entry->local ? "local" : "remote", __entry->result)
);

TRACE_EVENT(dspm_fetch,
	    TP_PROTO(u64 dataset, u64 pgoff, u32 home, bool direct, u64 ns,
		     int result),
	    TP_ARGS(dataset, pgoff, home, direct, ns, result),
	    TP_STRUCT__entry(__field(u64, dataset)
			     __field(u64, pgoff)
			     __field(u64, ns)
			     __field(u32, home)
			     __field(bool, direct)
			     __field(int, result)
	    ),
	    TP_fast_assign(__entry->dataset = dataset;
			   __entry->pgoff = pgoff;
			   __entry->ns = ns;
			   __entry->home = home;
			   __entry->direct = direct;
			   __entry->result = result;
	    ),
	    TP_printk("dataset=%llu pgoff=%llu home=%u via=%s ns=%llu result=%d",
		      __entry->dataset, __entry->pgoff, __entry->home,
		      __entry->direct ? "rdma_read" : "rpc",
		      __entry->ns, __entry->result)
);

TRACE_EVENT(dspm_invalidate,
	    TP_PROTO(u64 dataset, u32 node, u32 pages, u64 ns, int result),
	    TP_ARGS(dataset, node, pages, ns, result),
	    TP_STRUCT__entry(__field(u64, dataset)
			     __field(u64, ns)
			     __field(u32, node)
			     __field(u32, pages)
			     __field(int, result)
	    ),
	    TP_fast_assign(__entry->dataset = dataset;
			   __entry->ns = ns;
			   __entry->node = node;
			   __entry->pages = pages;
			   __entry->result = result;
	    ),
	    TP_printk("dataset=%llu node=%u pages=%u ns=%llu result=%d",
		      __entry->dataset, __entry->node, __entry->pages,
		      __entry->ns, __entry->result)
);

TRACE_EVENT(dspm_prepare,
	    TP_PROTO(u64 txid, u32 node, u64 pages, int result),
	    TP_ARGS(txid, node, pages, result),
	    TP_STRUCT__entry(__field(u64, txid)
			     __field(u64, pages)
			     __field(u32, node)
			     __field(int, result)
	    ),
	    TP_fast_assign(__entry->txid = txid;
			   __entry->pages = pages;
			   __entry->node = node;
			   __entry->result = result;
	    ),
	    TP_printk("txid=%llu node=%u pages=%llu result=%d", __entry->txid,
		      __entry->node, __entry->pages, __entry->result)
);

TRACE_EVENT(dspm_commit,
	    TP_PROTO(u64 dataset, u64 pages, u64 bytes, u64 ns, int result),
	    TP_ARGS(dataset, pages, bytes, ns, result),
	    TP_STRUCT__entry(__field(u64, dataset)
			     __field(u64, pages)
			     __field(u64, bytes)
			     __field(u64, ns)
			     __field(int, result)
	    ),
	    TP_fast_assign(__entry->dataset = dataset;
			   __entry->pages = pages;
			   __entry->bytes = bytes;
			   __entry->ns = ns;
			   __entry->result = result;
	    ),
	    TP_printk("dataset=%llu pages=%llu bytes=%llu ns=%llu result=%d",
		      __entry->dataset, __entry->pages, __entry->bytes,
		      __entry->ns, __entry->result)
);

TRACE_EVENT(dspm_abort,
	    TP_PROTO(u64 dataset, u64 pages),
	    TP_ARGS(dataset, pages),
	    TP_STRUCT__entry(__field(u64, dataset)
			     __field(u64, pages)
	    ),
	    TP_fast_assign(__entry->dataset = dataset;
			   __entry->pages = pages;
	    ),
	    TP_printk("dataset=%llu pages=%llu", __entry->dataset,
		      __entry->pages)
);

#endif /* _DSPM_TRACE_H */

/* Out of tree: trace.c is built with -I$(src) (driver/Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
