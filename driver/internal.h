/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dspm driver internals.
 *
 * Objects:
 *   struct dspm_node     the one per module: /dev/dspm and what is attached
 *   struct dspm_store    an attached backing device (pmem or DRAM) and its
 *                        layout geometry, redo log and counters
 *   struct dspm_dataset  a dataset with at least one open fd on this node;
 *                        owns the inode whose address_space every mapping
 *                        of the dataset on this node hangs off
 *   struct dspm_file     one dataset fd: its private shadow pages
 *
 * Locks: Documentation/locking.md has the one table of their order, what
 * each guards and which may be held across a network call; the comments
 * here say only what a lock guards.
 *
 * A dataset fd pins its dataset, which pins the store: DETACH refuses
 * (EBUSY) while any dataset is open, so the data path never needs
 * node->lock.
 */
#ifndef _DSPM_INTERNAL_H
#define _DSPM_INTERNAL_H

#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/dspm.h>

#include "debug.h"
#include "media_layout.h"

struct dax_device;
struct dspm_lanes;
struct dspm_link;
struct file;
struct inode;
struct vfsmount;

enum dspm_backend {
	DSPM_BACKEND_PMEM,
	DSPM_BACKEND_DRAM,
};

/* Counters since attach (media_stats.c), reported by GET_INFO. */
struct dspm_stats {
	atomic64_t faults_local;
	atomic64_t faults_remote;
	atomic64_t conflicts;
	atomic64_t bytes_committed;
	atomic64_t bytes_replicated;
	atomic64_t pages_shadowed;
	atomic64_t fetch_hist[DSPM_INFO_FETCH_BUCKETS];
};

struct dspm_store {
	enum dspm_backend backend;
	void *base;			/* kernel mapping of the whole media */
	u64 media_bytes;		/* usable bytes of the device */
	unsigned long base_pfn;		/* pmem: pfn of base */
	struct file *bdev_file;		/* pmem: the opened block device */
	struct block_device *bdev;
	struct dax_device *dax;

	/* geometry, copied from the superblock at attach */
	u64 table_offset;
	u64 table_slots;
	u64 bitmap_offset;
	u64 bitmap_bytes;
	u64 log_offset;
	u64 log_bytes;
	u64 data_offset;
	u64 data_pages;
	u8 uuid[16];

	struct mutex log_lock;		/* the redo log, seq words */
	u64 log_seq;			/* last sequence used */

	struct dspm_lanes *lanes;	/* two-phase commit (txn_lane.c) */
	/*
	 * pmem only, NULL if not: one word per table slot that peers read
	 * with RDMA READ around a page (media_store.c, dspm_store_seq_*); written
	 * under log_lock.
	 */
	__le64 *seq;
	size_t seq_bytes;

	atomic64_t commits;
	atomic64_t aborts;
	u64 recovered;
	struct dspm_stats stats;
};

/*
 * Synchronisation (sync_fd.c, sync_manager.c): the tables this node keeps as a
 * manager of MRSW ownership, locks and barriers, and the holder tokens of
 * its own fds and open datasets.
 */
struct dspm_sync {
	struct mutex lock;		/* sets */
	struct list_head sets;		/* struct dspm_sync_set */
	struct xarray tokens;		/* low 32 bits of live tokens */
	u32 next_token;
	u32 incarnation;		/* upper 32 bits of this boot's tokens */
	struct workqueue_struct *wq;	/* what a dataset's last close sends */
};

struct dspm_node {
	/*
	 * The data path reads link under link_srcu (dspm_node_link_get());
	 * JOIN and LEAVE change it under lock, and LEAVE waits for readers
	 * with synchronize_srcu() after cutting the link's connections.
	 */
	struct srcu_struct link_srcu;
	struct mutex lock;		/* store, link writes, table, open */
	struct dspm_store *store;	/* NULL while detached */
	struct dspm_link __rcu *link;	/* NULL outside a cluster */
	bool link_changing;		/* JOIN/LEAVE running: no DETACH */
	struct workqueue_struct *wq;	/* heartbeats, resolver, coherence */
	struct xarray open;		/* table slot -> struct dspm_dataset */
	struct vfsmount *mnt;		/* pseudo fs for dataset inodes */
	struct dspm_sync sync;

	/* UNSHAREs of closed datasets still to send (coh_unshare.c) */
	spinlock_t unshare_lock;	/* unshares, unshare_queued, _done */
	struct list_head unshares;
	u64 unshare_queued;		/* sequence of the last one queued */
	u64 unshare_done;		/* and of the last one sent or given up */
	wait_queue_head_t unshare_wait;
	struct work_struct unshare_work;
	struct work_struct forget_work;	/* after a rejoin (coh_unshare.c) */
};

struct dspm_extent {
	u64 first;			/* dataset page index it starts at */
	u64 start;			/* data page on the media */
	u64 count;
};

struct dspm_dataset {
	struct dspm_node *node;
	struct dspm_store *store;
	u32 slot;
	u64 id;
	u64 length;
	u64 pages;
	u32 replicas;
	u32 model;			/* DSPM_MODEL_* */
	unsigned int nr_extents;
	struct dspm_extent extents[DSPM_EXTENTS_MAX];
	struct inode *inode;
	struct rw_semaphore apply_sem;	/* committed bytes, coh valid/inval */
	refcount_t open_count;		/* fds; last close frees it */
	struct dspm_coh *coh;		/* a cluster dataset's coherence state */
	u64 token;			/* this node's barrier membership */
	struct mutex sync_lock;		/* barrier_round, member */
	u64 barrier_round;		/* entered, not seen complete; 0: none */
	bool member;			/* the barrier manager knows the node */
};

/* A page this fd has written and not committed. */
struct dspm_dirty {
	struct page *shadow;		/* mapped writable into the fd's vmas */
	struct page *twin;		/* the committed bytes it started from */
};

/*
 * A dirty page a cluster commit of its fd is sending: its shadow must not
 * change, so a fault on it waits on dspm_file.commit_wait (f->lock is not
 * held across the commit's network calls).
 */
#define DSPM_DIRTY_COMMITTING	XA_MARK_1

struct dspm_file {
	struct dspm_dataset *ds;
	/*
	 * One COMMIT, ABORT or MRMW BEGIN of this fd at a time; held across
	 * a two-phase commit and the DISOWNs after it, so only this fd's own
	 * commit, abort and begin ever wait for the network on it.
	 */
	struct mutex commit_lock;
	struct mutex lock;		/* dirty, nr_dirty, txn, own, owning */
	struct xarray dirty;		/* dataset page -> struct dspm_dirty */
	wait_queue_head_t commit_wait;	/* DSPM_DIRTY_COMMITTING cleared */
	unsigned long nr_dirty;
	bool writable;
	bool txn;			/* BEGIN: reads take private copies too */
	u64 token;			/* holds its locks and ownership */
	atomic_t locks;			/* cluster-wide locks held */
	struct dspm_own *own;		/* MRSW: the pages BEGIN took */
	bool owning;			/* MRSW: a BEGIN is taking them */
};

/* A byte interval [start, end) of the dataset. */
struct dspm_span {
	u64 start;
	u64 end;
};

/*
 * The node's link for the data path, NULL outside a cluster.  It stays
 * usable until dspm_node_link_put(), which the caller may keep across
 * network calls: LEAVE cuts the link's connections before it waits.
 */
static inline struct dspm_link *dspm_node_link_get(struct dspm_node *node,
						   int *srcu_idx)
{
	*srcu_idx = srcu_read_lock(&node->link_srcu);
	return srcu_dereference(node->link, &node->link_srcu);
}

static inline void dspm_node_link_put(struct dspm_node *node, int srcu_idx)
{
	srcu_read_unlock(&node->link_srcu, srcu_idx);
}

/* The node's link, for a caller holding node->lock. */
static inline struct dspm_link *dspm_node_link_locked(struct dspm_node *node)
{
	return rcu_dereference_protected(node->link,
					 lockdep_is_held(&node->lock));
}

/* A kthread with nothing left to do waits here for kthread_stop(). */
static inline void dspm_wait_for_kthread_stop(void)
{
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
}

/* dev_args.c: ioctl arguments */
int dspm_copy_arg_in(void *karg, size_t ksize, size_t ver0,
		     const void __user *uarg);
int dspm_arg_writable(void __user *uarg, const void *karg, size_t ksize);
int dspm_copy_arg_out(void __user *uarg, void *karg, size_t ksize);
bool dspm_is_zero(const void *p, size_t len);

/* dev_control.c */
long dspm_control_ioctl(struct dspm_node *node, unsigned int cmd,
			void __user *uarg);

/* media_store.c */
int dspm_store_attach_pmem(const char *path, bool format,
			   struct dspm_store **out);
int dspm_store_attach_dram(u64 bytes, struct dspm_store **out);
void dspm_store_release(struct dspm_store *st);
unsigned long dspm_store_pfn(struct dspm_store *st, u64 offset);
struct dspm_media_sb *dspm_store_sb(struct dspm_store *st);
struct dspm_media_dataset *dspm_store_slot(struct dspm_store *st, u32 slot);
void dspm_persist(void *dst, const void *src, size_t len);

/* dev_debugfs.c */
struct dentry;
struct dentry *dspm_debugfs_root(void);
void dspm_debugfs_init(void);
void dspm_debugfs_exit(void);

/* media_log.c */
struct dspm_txn {
	struct dspm_store *st;
	void *payload;			/* where entries go: the log or a lane */
	u64 capacity;
	u64 used;			/* payload bytes written */
	u64 data_bytes;			/* of which entry data */
	u32 nr_entries;
	u32 csum;
	int error;
};

void dspm_txn_begin(struct dspm_txn *txn, struct dspm_store *st);
void dspm_txn_add(struct dspm_txn *txn, u64 target, const void *src, u32 len);
int dspm_txn_commit(struct dspm_txn *txn);
u64 dspm_txn_capacity(struct dspm_store *st);
u64 dspm_lane_bytes(struct dspm_store *st);
bool dspm_log_target_ok(struct dspm_store *st, u64 target, u32 len);
int dspm_log_walk(struct dspm_store *st, void *p, u64 capacity,
		  u64 payload_bytes, u32 nr_entries, u32 csum, bool apply,
		  bool stall);
u64 dspm_commit_capacity(struct dspm_store *st);
int dspm_log_recover(struct dspm_store *st);

/* media_alloc.c */
int dspm_alloc_extents(struct dspm_store *st, u64 pages,
		       struct dspm_media_extent *ext, u32 *nr_ext,
		       struct dspm_txn *txn);
void dspm_free_extents(struct dspm_store *st,
		       const struct dspm_media_extent *ext, u32 nr_ext,
		       struct dspm_txn *txn);
int dspm_alloc_verify(struct dspm_store *st);

/* media_namespace.c */
int dspm_name_check(const char name[DSPM_NAME_MAX]);
int dspm_ns_find(struct dspm_store *st, const char name[DSPM_NAME_MAX]);
struct dspm_ns_owner {
	u32 uid;
	u32 gid;
	u64 cluster_id;			/* 0: a dataset of this node only */
};

int dspm_ns_find_cluster(struct dspm_store *st, u64 id);
u64 dspm_slot_page_offset(struct dspm_store *st,
			  const struct dspm_media_dataset *d, u64 page);
u64 dspm_slot_page_at(struct dspm_store *st, const struct dspm_media_dataset *d,
		      u64 mpage);
int dspm_ns_check_create(const struct dspm_create *arg);
int dspm_ns_create(struct dspm_node *node, struct dspm_create *arg);
int dspm_ns_create_slot(struct dspm_node *node, const struct dspm_create *arg,
			const struct dspm_ns_owner *owner, u64 *new_id);
int dspm_ns_delete(struct dspm_node *node, const struct dspm_delete *arg);
int dspm_ns_check_delete(const struct dspm_delete *arg);
bool dspm_ns_may_delete(u32 uid);
int dspm_ns_delete_slot(struct dspm_node *node, u32 slot);
int dspm_ns_list(struct dspm_node *node, u32 capacity,
		 struct dspm_dataset_info **out, u32 *count, u32 *total);
void dspm_ns_fill_info(struct dspm_node *node, u32 slot,
		       struct dspm_dataset_info *info);

/* ds_file.c */
int dspm_dataset_open(struct dspm_node *node, const struct dspm_open *arg);
void dspm_dataset_put(struct dspm_dataset *ds);

/* coh_dataset.c, coh_fetch.c, coh_unshare.c */
struct dspm_coh;
struct dspm_wire_dataset_reply;
struct dspm_coh *dspm_coh_new(const struct dspm_wire_dataset_reply *r,
			      u64 pages, u32 self);
void dspm_coh_free(struct dspm_coh *coh);
void dspm_coh_opened(struct dspm_node *node, struct dspm_coh *coh);
void dspm_coh_closing(struct dspm_node *node, struct dspm_coh *coh);
void dspm_coh_node_init(struct dspm_node *node);
void dspm_coh_joined(struct dspm_node *node);
void dspm_coh_node_exit(struct dspm_node *node);
int dspm_coh_ready(struct dspm_dataset *ds, pgoff_t pgoff);
bool dspm_coh_current(struct dspm_dataset *ds, pgoff_t pgoff);
void dspm_coh_drop(struct dspm_dataset *ds, pgoff_t pgoff);
const u32 *dspm_coh_holders(const struct dspm_coh *coh, pgoff_t pgoff,
			    u32 *nr);
u64 dspm_coh_cluster_id(const struct dspm_coh *coh);
u64 dspm_coh_chunk_pages(const struct dspm_coh *coh);

/* txn_coordinator.c: one page's share of a cluster commit */
struct dspm_change {
	u64 page;
	u32 offset;
	u32 length;			/* 0: the page is only validated */
	u64 base_hash;			/* xxh64 of the twin */
	const u8 *bytes;
};

int dspm_coordinate(struct dspm_dataset *ds, struct dspm_link *link,
		    const struct dspm_change *ch, u32 nr, bool validate,
		    u64 *version);
extern const struct file_operations dspm_dataset_fops;

/*
 * media_store.c: a slot's sequence word for one-sided readers, under log_lock.
 * begin/end bracket every change of the slot's committed bytes; retire
 * ends the incarnation of a slot freed or reused.
 */
void dspm_store_seq_begin(struct dspm_store *st, u32 slot);
void dspm_store_seq_end(struct dspm_store *st, u32 slot);
void dspm_store_seq_retire(struct dspm_store *st, u32 slot);
u64 dspm_store_seq_read(struct dspm_store *st, u32 slot);

/* ds_fault.c */
extern const struct vm_operations_struct dspm_vm_ops;
void *dspm_committed_page(struct dspm_dataset *ds, pgoff_t pgoff);
u64 dspm_committed_offset(struct dspm_dataset *ds, pgoff_t pgoff);
void dspm_zap_pages(struct dspm_dataset *ds, pgoff_t first, pgoff_t count);

/*
 * media_stats.c: counters of the attached store, lock-free.  For the coherence
 * code: fault_remote per fault served from another node, fetch_done with
 * each page fetch's duration, conflict per commit failed with EAGAIN,
 * replicated with the bytes applied for another node's commit.
 */
void dspm_stats_fault_local(struct dspm_store *st);
void dspm_stats_fault_remote(struct dspm_store *st);
void dspm_stats_fetch_done(struct dspm_store *st, u64 ns);
void dspm_stats_conflict(struct dspm_store *st);
void dspm_stats_committed(struct dspm_store *st, u64 bytes);
void dspm_stats_replicated(struct dspm_store *st, u64 bytes);
void dspm_stats_shadowed(struct dspm_store *st);
void dspm_stats_fill(struct dspm_store *st, struct dspm_info *info);

/* sync_fd.c: ownership, locks, barriers on a dataset fd */
struct dspm_begin;
int dspm_sync_init(struct dspm_sync *s);
void dspm_sync_exit(struct dspm_sync *s);
int dspm_sync_file_init(struct dspm_file *f);
void dspm_sync_file_release(struct dspm_file *f);
int dspm_sync_dataset_init(struct dspm_dataset *ds);
void dspm_sync_dataset_open(struct dspm_dataset *ds);
void dspm_sync_dataset_free(struct dspm_dataset *ds);
long dspm_own_begin(struct dspm_file *f, const struct dspm_begin *b);
bool dspm_own_covers(const struct dspm_file *f, pgoff_t pgoff);
struct dspm_own *dspm_own_take(struct dspm_file *f);
void dspm_own_end(struct dspm_file *f, struct dspm_own *own);
long dspm_lock_ioctl(struct dspm_file *f, void __user *uarg, bool lock);
long dspm_barrier_ioctl(struct dspm_file *f, void __user *uarg);

/* sync_manager.c: the manager's side */
struct dspm_wire_sync;
struct dspm_wire_sync_reply;
void dspm_sync_handle(struct dspm_sync *s, struct dspm_link *link, u32 from,
		      bool local, const struct dspm_wire_sync *req,
		      struct dspm_wire_sync_reply *rep);
bool dspm_sync_node_dead(struct dspm_link *link, u32 id);
bool dspm_sync_token_alive(struct dspm_sync *s, u64 token);
void dspm_sync_tables_exit(struct dspm_sync *s);

/* ds_commit.c */
int dspm_spans_get(struct dspm_dataset *ds, u64 uranges, u32 nr,
		   struct dspm_span **out, u32 *nr_out);
long dspm_commit(struct dspm_file *f, struct dspm_commit __user *uarg);
long dspm_abort(struct dspm_file *f, struct dspm_abort __user *uarg);
long dspm_begin(struct dspm_file *f, struct dspm_begin __user *uarg);
void dspm_drop_all_dirty(struct dspm_file *f);

#endif /* _DSPM_INTERNAL_H */
