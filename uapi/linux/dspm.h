/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dspm - Distributed Shared Persistent Memory: user-space ABI.
 *
 * Two kinds of file descriptor:
 *  - the control fd, from open("/dev/dspm"): device attach/detach, dataset
 *    namespace (create, open, delete, list), node information;
 *  - a dataset fd, returned by DSPM_IOC_OPEN: mmap(MAP_SHARED) it, then
 *    commit or abort what was written through the mapping.
 *
 * Every argument struct starts with __u32 size (set by the caller to
 * sizeof() of the struct it was compiled with) and __u32 flags.  A kernel
 * that knows a larger struct treats the missing tail as zero; a kernel that
 * knows a smaller one accepts a larger struct only when the extra tail is
 * zero (E2BIG otherwise), like openat2(2).  Structs the kernel fills in are
 * written up to min(caller size, kernel size) and their size field then says
 * how many bytes were written.  Reserved fields and unknown flag bits must be
 * zero (EINVAL); output fields are ignored on input.  A call that fails
 * changes nothing.  Ioctl numbers carry no size: the size field is the only
 * source of truth, as in VFIO.
 *
 * Documentation/abi.md describes every ioctl and error in full.
 */
#ifndef _UAPI_LINUX_DSPM_H
#define _UAPI_LINUX_DSPM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on incompatible changes only; extensions are new fields/flags. */
#define DSPM_ABI_VERSION	1

#define DSPM_DEVICE_PATH	"/dev/dspm"

/*
 * Dataset names: 1..63 bytes of [A-Za-z0-9._-], not starting with '.',
 * NUL-terminated, every byte after the NUL zero.
 */
#define DSPM_NAME_MAX		64

/* Largest dataset a create may ask for (64 TiB). */
#define DSPM_DATASET_LENGTH_MAX	0x400000000000ULL

/* Upper bound of a dataset's replication degree. */
#define DSPM_REPLICAS_MAX	16

/* Ranges one COMMIT or ABORT may carry. */
#define DSPM_RANGES_MAX		1024

/* Largest argument struct accepted (E2BIG beyond). */
#define DSPM_STRUCT_SIZE_MAX	4096

/* ------------------------------------------------------------------ */
/* DSPM_IOC_GET_INFO: control fd, any user.                            */

/* dspm_info.flags (output) */
#define DSPM_INFO_ATTACHED	0x1U	/* a backing device is attached */
#define DSPM_INFO_VOLATILE	0x2U	/* DRAM backend: lost on reboot */

/* Buckets of dspm_info.fetch_hist. */
#define DSPM_INFO_FETCH_BUCKETS	16

struct dspm_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;	/* DSPM_ABI_VERSION of the running module */
	__u32 layout_version;	/* on-media layout version, 0 if detached */
	__u8  uuid[16];		/* of the attached device's dspm format */
	__u64 page_size;	/* allocation and commit granule */
	__u64 capacity;		/* bytes available to datasets */
	__u64 free;		/* bytes not held by any dataset */
	__u64 datasets;		/* datasets in the table */
	__u64 max_datasets;	/* slots in the table */
	__u64 log_capacity;	/* largest commit, in bytes of payload */
	__u64 commits;		/* commits since attach */
	__u64 aborts;		/* aborted page sets since attach */
	__u64 recovered;	/* log records replayed at attach */
	__u64 reserved[8];
	/* VER1: counters of this node since attach */
	__u64 faults_local;	/* read faults served from this node's media */
	__u64 faults_remote;	/* faults served by fetching from another node */
	__u64 conflicts;	/* commits failed with EAGAIN */
	__u64 bytes_committed;	/* payload bytes of commits applied here */
	__u64 bytes_replicated;	/* bytes applied on behalf of other nodes */
	__u64 pages_shadowed;	/* copy-on-write shadow pages made */
	/*
	 * Remote page fetches by latency: bucket 0 counts those under 1 us,
	 * bucket i (1..14) those in [2^(i-1), 2^i) us, the last one those of
	 * 2^14 us (16.384 ms) and more.
	 */
	__u64 fetch_hist[DSPM_INFO_FETCH_BUCKETS];
	__u64 reserved1[8];
};

#define DSPM_INFO_SIZE_VER0	168
#define DSPM_INFO_SIZE_VER1	408

/* ------------------------------------------------------------------ */
/* DSPM_IOC_ATTACH: control fd, CAP_SYS_ADMIN.                         */

/* dspm_attach.flags */
#define DSPM_ATTACH_FORMAT	0x1U	/* write a new, empty layout */
#define DSPM_ATTACH_DRAM	0x2U	/* volatile DRAM backend, no path */
#define DSPM_ATTACH_FLAGS_ALL	(DSPM_ATTACH_FORMAT | DSPM_ATTACH_DRAM)

#define DSPM_DRAM_BYTES_MIN	(8ULL << 20)
#define DSPM_DRAM_BYTES_MAX	(4ULL << 30)

/* path: NUL-terminated path of an fsdax pmem block device; 0 with DRAM */
struct dspm_attach {
	__u32 size;
	__u32 flags;
	__u64 path;		/* user pointer to a block device path */
	__u64 dram_bytes;	/* DRAM backend size, 0 otherwise */
	__u64 reserved[3];
};

#define DSPM_ATTACH_SIZE_VER0	48

/* DSPM_IOC_DETACH: control fd, CAP_SYS_ADMIN.  EBUSY while a dataset is open. */
struct dspm_detach {
	__u32 size;
	__u32 flags;
	__u64 reserved[2];
};

#define DSPM_DETACH_SIZE_VER0	24

/* ------------------------------------------------------------------ */
/* Datasets                                                            */

/* Consistency models (dspm_create.model). */
#define DSPM_MODEL_MRMW		0	/* multiple readers, multiple writers */
#define DSPM_MODEL_MRSW		1	/* multiple readers, single writer */

/* DSPM_IOC_CREATE: control fd, any user; the caller's fsuid/fsgid own it. */
struct dspm_create {
	__u32 size;
	__u32 flags;		/* none defined */
	char  name[DSPM_NAME_MAX];
	__u64 length;		/* bytes, 1..DSPM_DATASET_LENGTH_MAX */
	__u32 mode;		/* permission bits, 0..0777 */
	__u32 model;		/* DSPM_MODEL_* */
	__u32 replicas;		/* 1..DSPM_REPLICAS_MAX */
	__u32 reserved0;
	__u64 id;		/* output: the new dataset's id */
	__u64 reserved[2];
};

#define DSPM_CREATE_SIZE_VER0	120

/* dspm_open.flags */
#define DSPM_OPEN_WRITE		0x1U	/* read-write; read-only without */
#define DSPM_OPEN_CLOEXEC	0x2U
#define DSPM_OPEN_FLAGS_ALL	(DSPM_OPEN_WRITE | DSPM_OPEN_CLOEXEC)

/*
 * DSPM_IOC_OPEN: control fd.  Checked against the dataset's owner, group
 * and mode like a file (CAP_DAC_OVERRIDE bypasses).  Returns a dataset fd.
 */
struct dspm_open {
	__u32 size;
	__u32 flags;
	char  name[DSPM_NAME_MAX];
	__u64 reserved[2];
};

#define DSPM_OPEN_SIZE_VER0	88

/*
 * DSPM_IOC_DELETE: control fd; the owner or CAP_SYS_ADMIN.  EBUSY while any
 * fd of the dataset is open on this node (deletion is never deferred).
 */
struct dspm_delete {
	__u32 size;
	__u32 flags;		/* none defined */
	char  name[DSPM_NAME_MAX];
	__u64 reserved[2];
};

#define DSPM_DELETE_SIZE_VER0	88

/* One dataset, as DSPM_IOC_LIST reports it. */
struct dspm_dataset_info {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 id;
	char  name[DSPM_NAME_MAX];
	__u64 length;
	__u64 pages;		/* persistent pages it holds */
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 model;
	__u32 replicas;
	__u32 open_count;	/* dataset fds open on this node */
	__u64 version;		/* commits applied to it, ever */
	__u64 ctime_ns;		/* creation, CLOCK_REALTIME */
	__u64 reserved[4];
};

#define DSPM_DATASET_INFO_SIZE_VER0	168

/*
 * DSPM_IOC_LIST: control fd, any user.  Writes up to @capacity entries of
 * @entry_size bytes each to @entries; @count says how many were written and
 * @total how many datasets exist.  capacity 0 just counts.
 */
struct dspm_list {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 entries;		/* user pointer to the array */
	__u32 entry_size;	/* >= DSPM_DATASET_INFO_SIZE_VER0 */
	__u32 capacity;
	__u32 count;		/* output */
	__u32 total;		/* output */
	__u64 reserved[2];
};

#define DSPM_LIST_SIZE_VER0	48

/* ------------------------------------------------------------------ */
/* Cluster: control fd                                                 */

/* A network address: IPv4 in addr[0..3] (rest zero), or IPv6. */
#define DSPM_AF_INET		4
#define DSPM_AF_INET6		6

struct dspm_addr {
	__u32 family;		/* DSPM_AF_*, 0 for "none" */
	__u32 port;		/* 1..65535 */
	__u8  addr[16];		/* network byte order */
};

/* dspm_join.transport */
#define DSPM_TRANSPORT_TCP	0
#define DSPM_TRANSPORT_RDMA	1

#define DSPM_KEY_MIN		16
#define DSPM_KEY_MAX		1024

/*
 * DSPM_IOC_JOIN: CAP_SYS_ADMIN; needs an attached device (whose format
 * UUID is the node's identity and which keeps the node id it is given).
 * Connects to the dispatcher, proves the cluster key (HMAC-SHA256
 * challenge-response, both ways) and returns the node id.  The node then
 * keeps the link alive with heartbeats and reconnects by itself.
 */
struct dspm_join {
	__u32 size;
	__u32 flags;		/* none defined */
	__u32 transport;	/* DSPM_TRANSPORT_* */
	__u32 key_len;		/* DSPM_KEY_MIN..DSPM_KEY_MAX */
	__u64 key;		/* user pointer to the cluster key */
	struct dspm_addr dispatcher;
	struct dspm_addr self;	/* where peers reach this node, or none */
	__u32 node_id;		/* output */
	__u32 reserved0;
	__u64 reserved[2];
};

#define DSPM_JOIN_SIZE_VER0	96

/* DSPM_IOC_LEAVE: CAP_SYS_ADMIN.  ENOTCONN when not in a cluster. */
struct dspm_leave {
	__u32 size;
	__u32 flags;
	__u64 reserved[2];
};

#define DSPM_LEAVE_SIZE_VER0	24

/* dspm_node_info.state */
#define DSPM_NODE_ALIVE		1
#define DSPM_NODE_SUSPECT	2
#define DSPM_NODE_DEAD		3

struct dspm_node_info {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 state;		/* DSPM_NODE_* */
	__u8  uuid[16];
	struct dspm_addr addr;
	__u64 capacity;		/* bytes */
	__u64 free;		/* bytes */
	__u64 incarnation;	/* changes when the node restarts; 0 if unknown */
	__u64 reserved;
};

#define DSPM_NODE_INFO_SIZE_VER0	88

/* dspm_nodes.link */
#define DSPM_LINK_CONNECTED	1
#define DSPM_LINK_RECONNECTING	2

/*
 * DSPM_IOC_NODES: any user; ENOTCONN when not in a cluster.  The node table
 * as the dispatcher last sent it, LIST-style: up to @capacity entries of
 * @entry_size bytes at @entries, @count written, @total known.
 */
struct dspm_nodes {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 entries;
	__u32 entry_size;	/* >= DSPM_NODE_INFO_SIZE_VER0 */
	__u32 capacity;
	__u32 count;		/* output */
	__u32 total;		/* output */
	__u32 self_id;		/* output: this node's id */
	__u32 link;		/* output: DSPM_LINK_* */
	__u64 epoch;		/* output: of the table */
	__u64 reserved[2];
};

#define DSPM_NODES_SIZE_VER0	64

/*
 * The nodes holding one chunk: node[0] its home, node[1..replicas-1] its
 * replicas, the other entries 0.
 */
struct dspm_chunk_nodes {
	__u32 node[DSPM_REPLICAS_MAX];
};

/*
 * DSPM_IOC_PLACEMENT: any user; ENOTCONN when not in a cluster, ENOENT for
 * a name the cluster does not know.  Asks the dispatcher where a dataset's
 * chunks live: writes min(@capacity, @chunks) entries to @entries (a user
 * pointer to struct dspm_chunk_nodes[@capacity]); chunk i covers bytes
 * [i * chunk_size, (i + 1) * chunk_size) of the dataset.
 */
struct dspm_placement {
	__u32 size;
	__u32 flags;		/* none defined */
	char  name[DSPM_NAME_MAX];
	__u64 entries;
	__u32 capacity;
	__u32 chunks;		/* output: the dataset's chunk count */
	__u64 chunk_size;	/* output: bytes */
	__u64 id;		/* output: the dataset's cluster-wide id */
	__u32 replicas;		/* output */
	__u32 reserved0;
	__u64 reserved[2];
};

#define DSPM_PLACEMENT_SIZE_VER0	128

/* ------------------------------------------------------------------ */
/* Dataset fd                                                          */

/* A byte range of a dataset; offset + length <= the dataset's length. */
struct dspm_range {
	__u64 offset;
	__u64 length;
};

/*
 * DSPM_IOC_COMMIT: dataset fd opened with DSPM_OPEN_WRITE.  Makes this fd's
 * uncommitted bytes inside @ranges (all of them when @nr_ranges is 0)
 * atomically durable and visible to every fd.  On return either all of them
 * are committed or (error) none, and the dirty bytes are kept.
 */
struct dspm_commit {
	__u32 size;
	__u32 flags;		/* DSPM_COMMIT_* */
	__u64 ranges;		/* user pointer to struct dspm_range[] */
	__u32 nr_ranges;	/* 0..DSPM_RANGES_MAX */
	__u32 reserved0;
	__u64 pages;		/* output: dirty pages written */
	__u64 version;		/* output: dataset version after it */
	__u64 reserved[2];
};

#define DSPM_COMMIT_SIZE_VER0	56

/*
 * Validated commit: fail with EAGAIN, committing nothing, when any page the
 * commit writes was changed by another commit since this fd first wrote
 * it (the bytes it started from are no longer the committed ones).  With
 * it, read-modify-write of a page is safe under concurrent writers: retry
 * after ABORT, reading again.
 */
#define DSPM_COMMIT_VALIDATE	0x1U
#define DSPM_COMMIT_FLAGS_ALL	DSPM_COMMIT_VALIDATE

/*
 * DSPM_IOC_BEGIN: dataset fd opened with DSPM_OPEN_WRITE.
 *
 * On an MRMW dataset: start a validated transaction; @ranges must be 0.
 * From now on the first access of any kind to a page - a read too - gives
 * the fd its private copy of the page as committed then, so everything the
 * fd reads is a snapshot of each page at its first access.  The next
 * DSPM_IOC_COMMIT with DSPM_COMMIT_VALIDATE fails with EAGAIN, committing
 * nothing, when any page the transaction read or wrote has been committed
 * by someone else since; otherwise the commit is serialisable with every
 * other.
 *
 * On an MRSW dataset: take exclusive write ownership of the pages @ranges
 * touch (all of them when @nr_ranges is 0) from their homes.  While another
 * fd, on any node, owns one of them, BEGIN waits until it is free, or fails
 * with EAGAIN at once under DSPM_BEGIN_NONBLOCK (EINTR on a signal);
 * nothing is owned then.  Readers go on meanwhile, seeing committed bytes.
 * On an MRSW dataset only an owner may commit (EPERM for a dirty page
 * outside what the fd owns), and its commit never conflicts.  EBUSY when
 * the fd owns ranges already.
 *
 * COMMIT (success), ABORT and closing the fd end the transaction and give
 * up the ownership.  An owner whose node dies loses it: a waiter takes it
 * over once the node table says the node is dead or the node says the fd
 * is gone.
 */
struct dspm_begin {
	__u32 size;
	__u32 flags;		/* DSPM_BEGIN_* */
	__u64 ranges;		/* MRSW: user pointer to struct dspm_range[] */
	__u32 nr_ranges;	/* MRSW: 0..DSPM_RANGES_MAX; MRMW: 0 */
	__u32 reserved0;
	__u64 reserved[3];
};

#define DSPM_BEGIN_NONBLOCK	0x1U	/* MRSW: EAGAIN instead of waiting */
#define DSPM_BEGIN_FLAGS_ALL	DSPM_BEGIN_NONBLOCK

#define DSPM_BEGIN_SIZE_VER0	48

/* DSPM_IOC_ABORT: drop this fd's uncommitted bytes in @ranges (or all). */
struct dspm_abort {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 ranges;
	__u32 nr_ranges;
	__u32 reserved0;
	__u64 pages;		/* output: dirty pages dropped entirely */
	__u64 reserved[3];
};

#define DSPM_ABORT_SIZE_VER0	56

/* DSPM_IOC_STAT: dataset fd. */
struct dspm_stat {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 id;
	char  name[DSPM_NAME_MAX];
	__u64 length;
	__u64 pages;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 model;
	__u32 replicas;
	__u32 open_count;
	__u64 version;
	__u64 ctime_ns;
	__u64 dirty_pages;	/* this fd's uncommitted pages */
	__u64 reserved[3];
};

#define DSPM_STAT_SIZE_VER0	168

/*
 * DSPM_IOC_LOCK / DSPM_IOC_UNLOCK: dataset fd, any access mode.  A lock
 * named by (dataset, @key) that one fd in the whole cluster holds at a
 * time.  LOCK waits while another fd holds it (EAGAIN at once under
 * DSPM_LOCK_NONBLOCK, EINTR on a signal); EDEADLK when this fd holds it
 * already.  UNLOCK: EPERM when this fd does not hold it.  Closing the fd
 * releases its locks; the locks of a fd whose node dies are taken over by
 * waiters once the node table says the node is dead or the node says the
 * fd is gone.  Locks order nothing by themselves: commit before UNLOCK
 * what the lock protects.
 */
struct dspm_lock {
	__u32 size;
	__u32 flags;		/* DSPM_LOCK_* (LOCK only) */
	__u64 key;
	__u64 reserved[2];
};

#define DSPM_LOCK_SIZE_VER0	32
#define DSPM_LOCK_NONBLOCK	0x1U
#define DSPM_LOCK_FLAGS_ALL	DSPM_LOCK_NONBLOCK

/*
 * DSPM_IOC_BARRIER: dataset fd, any access mode.  Returns once every node
 * that has the dataset open has entered the same barrier round (a node
 * enters it when one of its fds calls BARRIER; further callers on that node
 * until the round completes wait for the same round).  Nodes the node
 * table lists as dead do not count.  EINTR on a signal: the node stays
 * entered in the round.  Outside a cluster the node is alone, so BARRIER
 * returns at once.
 */
struct dspm_barrier {
	__u32 size;
	__u32 flags;		/* none defined */
	__u64 round;		/* output: the round that completed (from 1) */
	__u32 nodes;		/* output: nodes that took part in it */
	__u32 reserved0;
	__u64 reserved[2];
};

#define DSPM_BARRIER_SIZE_VER0	40

/* ------------------------------------------------------------------ */

#define DSPM_IOC_MAGIC		0xD5

/* control fd */
#define DSPM_IOC_GET_INFO	_IO(DSPM_IOC_MAGIC, 0x00)
#define DSPM_IOC_ATTACH		_IO(DSPM_IOC_MAGIC, 0x01)
#define DSPM_IOC_DETACH		_IO(DSPM_IOC_MAGIC, 0x02)
#define DSPM_IOC_CREATE		_IO(DSPM_IOC_MAGIC, 0x03)
#define DSPM_IOC_OPEN		_IO(DSPM_IOC_MAGIC, 0x04)
#define DSPM_IOC_DELETE		_IO(DSPM_IOC_MAGIC, 0x05)
#define DSPM_IOC_LIST		_IO(DSPM_IOC_MAGIC, 0x06)
#define DSPM_IOC_JOIN		_IO(DSPM_IOC_MAGIC, 0x07)
#define DSPM_IOC_LEAVE		_IO(DSPM_IOC_MAGIC, 0x08)
#define DSPM_IOC_NODES		_IO(DSPM_IOC_MAGIC, 0x09)
#define DSPM_IOC_PLACEMENT	_IO(DSPM_IOC_MAGIC, 0x0a)
/* 0x0b-0x1f reserved for the control fd */

/* dataset fd */
#define DSPM_IOC_COMMIT		_IO(DSPM_IOC_MAGIC, 0x20)
#define DSPM_IOC_ABORT		_IO(DSPM_IOC_MAGIC, 0x21)
#define DSPM_IOC_STAT		_IO(DSPM_IOC_MAGIC, 0x22)
#define DSPM_IOC_BEGIN		_IO(DSPM_IOC_MAGIC, 0x23)
#define DSPM_IOC_LOCK		_IO(DSPM_IOC_MAGIC, 0x24)
#define DSPM_IOC_UNLOCK		_IO(DSPM_IOC_MAGIC, 0x25)
#define DSPM_IOC_BARRIER	_IO(DSPM_IOC_MAGIC, 0x26)
/* 0x27-0x3f reserved for the dataset fd */

#endif /* _UAPI_LINUX_DSPM_H */
