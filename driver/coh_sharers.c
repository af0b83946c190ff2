// SPDX-License-Identifier: GPL-2.0
/*
 * The home's side: which nodes read a dataset homed (in part) here, and
 * the INVALIDATEs a commit applied here sends them, several at once.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "clu.h"
#include "coh.h"
#include "trace.h"

/* sharers invalidated at once; more go in further rounds */
#define DSPM_INVAL_BATCH	16

/* pages per INVALIDATE when there is no memory for more than one sharer */
#define DSPM_INVAL_STACK_PAGES	16

static void dspm_sharers_free(struct dspm_link *link, u64 dataset,
			      struct dspm_sharers *sh)
{
	lockdep_assert_held(&link->sharers_lock);
	xa_erase(&link->sharers, dataset);
	xa_destroy(&sh->readers);
	kfree(sh);
}

/* Record node @id as a reader of @dataset: 0, or -ENOBUFS without memory. */
int dspm_sharers_add(struct dspm_link *link, u64 dataset, u32 id)
{
	struct dspm_sharers *sh;
	void *old;
	int ret = 0;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	if (!sh) {
		sh = kzalloc(sizeof(*sh), GFP_KERNEL);
		if (!sh) {
			ret = -ENOBUFS;
			goto unlock;
		}
		xa_init(&sh->readers);
		if (xa_err(xa_store(&link->sharers, dataset, sh, GFP_KERNEL))) {
			kfree(sh);
			ret = -ENOBUFS;
			goto unlock;
		}
	}
	old = xa_store(&sh->readers, id, xa_mk_value(++link->sharer_gen),
		       GFP_KERNEL);
	if (xa_is_err(old)) {
		ret = -ENOBUFS;
		if (!sh->nr)
			dspm_sharers_free(link, dataset, sh);
	} else if (!old) {
		sh->nr++;
	}
unlock:
	mutex_unlock(&link->sharers_lock);
	return ret;
}

/*
 * Forget node @id as a reader of @dataset: any registration when @gen is
 * 0, else only the one of generation @gen (not a newer one).
 */
bool dspm_sharers_drop(struct dspm_link *link, u64 dataset, u32 id,
		       u64 gen)
{
	struct dspm_sharers *sh;
	bool dropped = false;
	void *entry;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	entry = sh ? xa_load(&sh->readers, id) : NULL;
	if (entry && (!gen || xa_to_value(entry) == gen)) {
		xa_erase(&sh->readers, id);
		if (!--sh->nr)
			dspm_sharers_free(link, dataset, sh);
		dropped = true;
	}
	mutex_unlock(&link->sharers_lock);
	return dropped;
}

/* Up to @max readers of @dataset from node id *@next on, and their generations. */
static u32 dspm_sharers_next(struct dspm_link *link, u64 dataset,
			     unsigned long *next, u32 *ids, u64 *gens, u32 max)
{
	struct dspm_sharers *sh;
	unsigned long id;
	void *entry;
	u32 n = 0;

	mutex_lock(&link->sharers_lock);
	sh = xa_load(&link->sharers, dataset);
	if (sh) {
		xa_for_each_start(&sh->readers, id, entry, *next) {
			ids[n] = id;
			gens[n] = xa_to_value(entry);
			*next = id + 1;
			if (++n == max)
				break;
		}
	}
	mutex_unlock(&link->sharers_lock);
	return n;
}

void dspm_coh_link_init(struct dspm_link *link)
{
	BUILD_BUG_ON(sizeof(struct dspm_wire_page_read) !=
		     DSPM_WIRE_PAGE_READ_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_page_data) !=
		     DSPM_WIRE_PAGE_DATA_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_invalidate) !=
		     DSPM_WIRE_INVALIDATE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_invalidated) !=
		     DSPM_WIRE_INVALIDATED_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_unshare) !=
		     DSPM_WIRE_UNSHARE_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_wire_unshared) !=
		     DSPM_WIRE_UNSHARED_SIZE);
	mutex_init(&link->sharers_lock);
	xa_init(&link->sharers);
}

void dspm_coh_link_exit(struct dspm_link *link)
{
	struct dspm_sharers *sh;
	unsigned long idx;

	debugfs_remove(link->sharers_file);
	xa_for_each(&link->sharers, idx, sh) {
		xa_destroy(&sh->readers);
		kfree(sh);
	}
	xa_destroy(&link->sharers);
}

/* One sharer's invalidation, run by the committing thread or a worker. */
struct dspm_inval {
	struct work_struct work;
	struct completion done;
	struct dspm_link *link;
	const u64 *pages;
	u64 cluster_id;
	u64 version;
	u64 gen;			/* of the registration invalidated */
	u32 n;
	u32 id;
	u32 max;			/* pages req has room for */
	int ret;
	struct dspm_wire_invalidate *req;
};

static int dspm_inval_send(struct dspm_inval *iv)
{
	struct dspm_wire_invalidate *req = iv->req;
	struct dspm_wire_invalidated ack;
	u32 done, count, i;
	int ret = 0;

	/* a dead node's connection would only time out */
	if (!dspm_link_node_alive(iv->link, iv->id, NULL))
		return -EHOSTUNREACH;
	for (done = 0; done < iv->n && !ret; done += count) {
		count = min_t(u32, iv->n - done, iv->max);
		memset(req, 0, sizeof(*req));
		req->hdr.type = cpu_to_le16(DSPM_WIRE_INVALIDATE);
		req->dataset = cpu_to_le64(iv->cluster_id);
		req->version = cpu_to_le64(iv->version);
		req->count = cpu_to_le32(count);
		for (i = 0; i < count; i++)
			req->pages[i] = cpu_to_le64(iv->pages[done + i]);
		ret = dspm_peer_call(iv->link->peers, iv->id, req,
				     struct_size(req, pages, count),
				     DSPM_WIRE_INVALIDATED, &ack, sizeof(ack));
	}
	return ret;
}

static void dspm_inval_run(struct dspm_inval *iv)
{
	u64 start = ktime_get_ns();

	iv->ret = dspm_inval_send(iv);
	trace_dspm_invalidate(iv->cluster_id, iv->id, iv->n,
			      ktime_get_ns() - start, iv->ret);
}

static void dspm_inval_work(struct work_struct *work)
{
	struct dspm_inval *iv = container_of(work, struct dspm_inval, work);

	dspm_inval_run(iv);
	complete(&iv->done);
}

/*
 * Invalidate the @k sharers of the jobs at @jobs (each @size bytes) at
 * once, the first from this thread; drop those that fail.
 */
static void dspm_inval_batch(struct dspm_link *link, void *jobs, size_t size,
			     u32 k)
{
	struct dspm_inval *iv;
	u32 i;

	for (i = 1; i < k; i++) {
		iv = jobs + i * size;
		queue_work(system_unbound_wq, &iv->work);
	}
	dspm_inval_run(jobs);
	for (i = 0; i < k; i++) {
		iv = jobs + i * size;
		if (i)
			wait_for_completion(&iv->done);
		if (!iv->ret) {
			atomic64_inc(&link->inval_sent);
			continue;
		}
		atomic64_inc(&link->inval_failed);
		if (dspm_sharers_drop(link, iv->cluster_id, iv->id, iv->gen)) {
			/* its keys for one-sided reads go too: it maps again */
			dspm_peers_cut(link->peers, iv->id);
			atomic64_inc(&link->sharers_dropped);
			pr_info_ratelimited("dspm: node %u no longer a reader of dataset %llu here: it did not take an invalidation (%d)\n",
					    iv->id, iv->cluster_id, iv->ret);
		}
	}
}

/*
 * After a commit applied here: every reader this node served drops its
 * copies of @pages before the commit returns; up to DSPM_INVAL_BATCH of
 * them are invalidated at once.  A reader that is not alive, or cannot
 * be reached, is no longer a sharer (see the top).  The link outlives
 * its callers (serving threads and the coordinator's reader section).
 */
void dspm_coh_invalidate_sharers(struct dspm_link *link, u64 cluster_id,
				 const u64 *pages, u32 n, u64 version)
{
	u64 msg[DSPM_WIRE_INVALIDATE_SIZE / 8 + DSPM_INVAL_STACK_PAGES];
	u32 ids[DSPM_INVAL_BATCH], max, k, i;
	u64 gens[DSPM_INVAL_BATCH];
	struct dspm_inval *iv, one;
	unsigned long next = 0;
	size_t size;
	void *jobs;

	if (!n)
		return;
	max = min_t(u32, n, DSPM_WIRE_INVALIDATE_MAX);
	size = sizeof(*iv) + sizeof(*iv->req) + max * sizeof(u64);
	while ((k = dspm_sharers_next(link, cluster_id, &next, ids, gens,
				      DSPM_INVAL_BATCH))) {
		jobs = kvmalloc_array(k, size, GFP_KERNEL);
		if (!jobs) {
			/* one at a time and in small messages, but every one */
			k = 1;
			next = ids[0] + 1;
			jobs = &one;
		}
		for (i = 0; i < k; i++) {
			iv = jobs + i * size;
			if (i) {
				/* the first runs in this thread */
				INIT_WORK(&iv->work, dspm_inval_work);
				init_completion(&iv->done);
			}
			iv->link = link;
			iv->pages = pages;
			iv->cluster_id = cluster_id;
			iv->version = version;
			iv->gen = gens[i];
			iv->n = n;
			iv->id = ids[i];
			iv->max = max;
			iv->req = (void *)(iv + 1);
		}
		if (jobs == &one) {
			one.max = min_t(u32, n, DSPM_INVAL_STACK_PAGES);
			one.req = (void *)msg;
		}
		dspm_inval_batch(link, jobs, size, k);
		if (jobs != &one)
			kvfree(jobs);
	}
}

/*
 * /sys/kernel/debug/dspm/sharers, while the node is in a cluster: counters
 * of the invalidation protocol, then one line per dataset homed (in part)
 * here with readers, "DATASET: NODE NODE ...".
 */
static int dspm_sharers_show(struct seq_file *m, void *v)
{
	struct dspm_link *link = m->private;
	struct dspm_sharers *sh;
	unsigned long idx, id;
	void *entry;

	seq_printf(m, "invalidations_sent %lld\ninvalidations_failed %lld\n",
		   atomic64_read(&link->inval_sent),
		   atomic64_read(&link->inval_failed));
	seq_printf(m, "invalidations_received %lld\nsharers_dropped %lld\n",
		   atomic64_read(&link->inval_received),
		   atomic64_read(&link->sharers_dropped));
	seq_printf(m, "unshares_sent %lld\nunshares_received %lld\n",
		   atomic64_read(&link->unshare_sent),
		   atomic64_read(&link->unshare_received));
	mutex_lock(&link->sharers_lock);
	xa_for_each(&link->sharers, idx, sh) {
		seq_printf(m, "%lu:", idx);
		xa_for_each(&sh->readers, id, entry)
			seq_printf(m, " %lu", id);
		seq_putc(m, '\n');
	}
	mutex_unlock(&link->sharers_lock);
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(dspm_sharers);

void dspm_coh_link_start(struct dspm_link *link)
{
	link->sharers_file = debugfs_create_file("sharers", 0400,
						 dspm_debugfs_root(), link,
						 &dspm_sharers_fops);
}
