// SPDX-License-Identifier: GPL-2.0
/*
 * Page faults on a dataset mapping.  A page this fd has not written maps
 * the committed page itself, read-only; the first store to it copies the
 * page into a shadow private to the fd (plus a twin of the bytes it started
 * from, so a commit can tell which bytes the fd changed) and maps the
 * shadow writable.  Mappings are VM_PFNMAP: nothing here is refcounted by
 * the page tables, so a shadow is freed only after its PTEs are zapped.
 */
#include <linux/err.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"
#include "trace.h"

/* Media offset of the committed page @pgoff (< ds->pages) of @ds. */
u64 dspm_committed_offset(struct dspm_dataset *ds, pgoff_t pgoff)
{
	unsigned int i = 0;

	/* the extents cover ds->pages exactly; the last one takes the rest */
	while (i + 1 < ds->nr_extents &&
	       pgoff >= ds->extents[i].first + ds->extents[i].count)
		i++;
	return ds->store->data_offset +
	       (ds->extents[i].start + pgoff - ds->extents[i].first) *
	       DSPM_MEDIA_PAGE;
}

void *dspm_committed_page(struct dspm_dataset *ds, pgoff_t pgoff)
{
	return ds->store->base + dspm_committed_offset(ds, pgoff);
}

static unsigned long dspm_committed_pfn(struct dspm_dataset *ds,
					pgoff_t pgoff)
{
	return dspm_store_pfn(ds->store, dspm_committed_offset(ds, pgoff));
}

/* Zap every mapping of these pages, in every process and fd. */
void dspm_zap_pages(struct dspm_dataset *ds, pgoff_t first, pgoff_t count)
{
	unmap_mapping_range(ds->inode->i_mapping, (loff_t)first << PAGE_SHIFT,
			    (loff_t)count << PAGE_SHIFT, 1);
}

/*
 * Take apply_sem for reading if this node's copy of @pgoff is current, so
 * no commit is applied to it nor INVALIDATE drops it until the caller has
 * mapped or copied it; false (apply_sem not held) if it must be fetched.
 * An INVALIDATE may drop a copy dspm_coh_ready() just made current (its
 * zap then finds nothing to zap), which is why the copy is checked here,
 * under apply_sem, rather than trusted from the fetch.
 */
static bool dspm_lock_current(struct dspm_dataset *ds, pgoff_t pgoff)
{
	/* fault injection: an INVALIDATE may come in here */
	if (ds->coh)
		dspm_debug_fault_stall();
	down_read(&ds->apply_sem);
	if (dspm_coh_current(ds, pgoff))
		return true;
	up_read(&ds->apply_sem);
	return false;
}

/*
 * Make @pgoff dirty in @f: copy the committed page under apply_sem so the
 * copy is never a commit half applied, and zap the fd's other mappings of
 * the committed page so every vma of the fd sees the shadow from now on.
 * Returns the dirty page or an ERR_PTR: -ENOMEM, or -EAGAIN when this
 * node's copy of the page is not current (the caller fetches it first,
 * without f->lock, and tries again).
 */
static struct dspm_dirty *dspm_make_dirty(struct dspm_file *f, pgoff_t pgoff)
{
	struct dspm_dataset *ds = f->ds;
	struct dspm_dirty *d;
	int ret = -ENOMEM;

	lockdep_assert_held(&f->lock);
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->shadow = alloc_page(GFP_KERNEL_ACCOUNT);
	d->twin = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!d->shadow || !d->twin)
		goto fail;

	if (!dspm_lock_current(ds, pgoff)) {
		ret = -EAGAIN;
		goto fail;
	}
	memcpy(page_address(d->twin), dspm_committed_page(ds, pgoff),
	       PAGE_SIZE);
	up_read(&ds->apply_sem);
	copy_highpage(d->shadow, d->twin);

	ret = -ENOMEM;
	if (xa_err(xa_store(&f->dirty, pgoff, d, GFP_KERNEL_ACCOUNT)))
		goto fail;
	f->nr_dirty++;
	dspm_stats_shadowed(ds->store);
	dspm_zap_pages(ds, pgoff, 1);
	return d;

fail:
	if (d->shadow)
		__free_page(d->shadow);
	if (d->twin)
		__free_page(d->twin);
	kfree(d);
	return ERR_PTR(ret);
}

/*
 * A fault that could not make its page: out of memory, or the page's home
 * out of reach - SIGBUS, as for a read fault, since VM_FAULT_OOM from a
 * user fault only makes the access fault again, forever.
 */
static vm_fault_t dspm_fault_error(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * Where the kernel lets this fault be retried, pin the vma's file (and so
 * the dataset) and give up mmap_lock: the caller waits, then fput()s the
 * file and returns VM_FAULT_RETRY whatever came of the wait.  NULL, with
 * mmap_lock still held, where the fault may not be retried.
 */
static struct file *dspm_fault_unlock(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;

	if (!fault_flag_allow_retry_first(vmf->flags) ||
	    vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return NULL;
	get_file(file);
	dspm_release_fault_lock(vmf);
	return file;
}

/*
 * Fetch @pgoff from its home into this node's copy with no lock of ours
 * held, and mmap_lock released where the fault may be retried: the retry
 * maps the page, or fetches it once more with mmap_lock held and reports
 * its error.  Returns 0 when the caller may look at the page again under
 * f->lock, VM_FAULT_RETRY when mmap_lock was released, or a VM_FAULT error.
 */
static vm_fault_t dspm_fault_fetch(struct vm_fault *vmf, struct dspm_file *f,
				   bool *fetched)
{
	struct file *file = dspm_fault_unlock(vmf);
	int ret = dspm_coh_ready(f->ds, vmf->pgoff);

	*fetched |= ret > 0;
	if (file) {
		fput(file);
		return VM_FAULT_RETRY;
	}
	return ret < 0 ? dspm_fault_error(ret) : 0;
}

static bool dspm_committing(struct dspm_file *f, pgoff_t pgoff)
{
	return xa_get_mark(&f->dirty, pgoff, DSPM_DIRTY_COMMITTING);
}

/*
 * A cluster commit of this fd is sending the page's shadow: wait until it
 * is done (the page is then committed, or still dirty after a failure),
 * with mmap_lock released where the fault may be retried.  Returns 0 to
 * look at the page again, VM_FAULT_RETRY, or VM_FAULT_SIGBUS when killed.
 */
static vm_fault_t dspm_fault_wait_commit(struct vm_fault *vmf,
					 struct dspm_file *f)
{
	struct file *file = dspm_fault_unlock(vmf);
	int ret = wait_event_killable(f->commit_wait,
				      !dspm_committing(f, vmf->pgoff));

	if (file) {
		fput(file);
		return VM_FAULT_RETRY;
	}
	return ret ? VM_FAULT_SIGBUS : 0;
}

static vm_fault_t dspm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dspm_file *f = vma->vm_file->private_data;
	struct dspm_dataset *ds = f->ds;
	struct dspm_dirty *d;
	bool fetched = false;
	vm_fault_t ret;

	if (vmf->pgoff >= ds->pages)
		return VM_FAULT_SIGBUS;

	for (;;) {
		mutex_lock(&f->lock);
		d = xa_load(&f->dirty, vmf->pgoff);
		/* in a transaction a read takes the page's snapshot as well */
		if (!d && (vmf->flags & FAULT_FLAG_WRITE || f->txn)) {
			d = dspm_make_dirty(f, vmf->pgoff);
			if (IS_ERR(d) && PTR_ERR(d) != -EAGAIN) {
				ret = dspm_fault_error(PTR_ERR(d));
				break;
			}
		}
		if (!IS_ERR_OR_NULL(d) && dspm_committing(f, vmf->pgoff)) {
			mutex_unlock(&f->lock);
			ret = dspm_fault_wait_commit(vmf, f);
			if (ret)
				return ret;
			continue;
		}
		if (!IS_ERR_OR_NULL(d)) {
			ret = vmf_insert_pfn_prot(vma, vmf->address,
						  page_to_pfn(d->shadow),
						  vm_get_page_prot(vma->vm_flags));
			break;
		}
		if (!d && dspm_lock_current(ds, vmf->pgoff)) {
			ret = vmf_insert_pfn(vma, vmf->address,
					     dspm_committed_pfn(ds, vmf->pgoff));
			/* a fetch counted the fault as remote, and so did a retry's */
			if (!fetched && !(vmf->flags & FAULT_FLAG_TRIED))
				dspm_stats_fault_local(ds->store);
			up_read(&ds->apply_sem);
			break;
		}
		mutex_unlock(&f->lock);
		ret = dspm_fault_fetch(vmf, f, &fetched);
		if (ret) {
			trace_dspm_fault(ds->id, vmf->pgoff,
					 vmf->flags & FAULT_FLAG_WRITE, !fetched,
					 ret);
			return ret;
		}
		if (fatal_signal_pending(current))
			return VM_FAULT_SIGBUS;
	}
	trace_dspm_fault(ds->id, vmf->pgoff, vmf->flags & FAULT_FLAG_WRITE,
			 !fetched, ret);
	mutex_unlock(&f->lock);
	return ret;
}

/*
 * A store to a page mapped read-only.  If the fd already has a shadow the
 * PTE maps it (making a shadow zaps every other mapping of the page), so
 * the write may proceed; otherwise make one, which zaps this PTE too, and
 * let the access fault again into dspm_fault().  The kernel does not let
 * pfn_mkwrite retry, so a fetch here keeps mmap_lock (but not f->lock).
 */
static vm_fault_t dspm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct dspm_file *f = vmf->vma->vm_file->private_data;
	bool fetched = false;
	vm_fault_t ret = 0;
	int err;

	if (vmf->pgoff >= f->ds->pages)
		return VM_FAULT_SIGBUS;
	for (;;) {
		struct dspm_dirty *d = NULL;

		mutex_lock(&f->lock);
		if (!xa_load(&f->dirty, vmf->pgoff))
			d = dspm_make_dirty(f, vmf->pgoff);
		mutex_unlock(&f->lock);
		if (!IS_ERR(d)) {
			ret = d ? VM_FAULT_NOPAGE : 0;
			break;
		}
		if (PTR_ERR(d) != -EAGAIN) {
			ret = dspm_fault_error(PTR_ERR(d));
			break;
		}
		err = dspm_coh_ready(f->ds, vmf->pgoff);
		fetched |= err > 0;
		if (err < 0) {
			ret = dspm_fault_error(err);
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = VM_FAULT_SIGBUS;
			break;
		}
	}
	trace_dspm_fault(f->ds->id, vmf->pgoff, true, !fetched, ret);
	return ret;
}

/*
 * ptrace PEEK/POKE and /proc/PID/mem: get_user_pages() cannot take a
 * VM_PFNMAP page, so the kernel asks the vma for the bytes instead.  They
 * are what a load through this vma would see: the fd's shadow of the page
 * if it has one, else this node's committed copy, fetched first when it
 * is not current.  A store goes where the process's own store would: into
 * the shadow, made on demand, and only through a writable mapping.  The
 * caller holds mmap_lock, which may not be given up here, so (as in
 * pfn_mkwrite) a fetch keeps it.  Returns the bytes copied, at most to
 * the end of @addr's page, or a negative errno.
 */
static int dspm_access(struct vm_area_struct *vma, unsigned long addr,
		       void *buf, int len, int write)
{
	struct dspm_file *f = vma->vm_file->private_data;
	struct dspm_dataset *ds = f->ds;
	pgoff_t pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	unsigned int off = offset_in_page(addr);
	struct dspm_dirty *d;
	int ret;

	if (write && !(vma->vm_flags & VM_WRITE))
		return -EACCES;
	if (pgoff >= ds->pages)
		return -EFAULT;
	len = min_t(int, len, PAGE_SIZE - off);
	for (;;) {
		mutex_lock(&f->lock);
		d = xa_load(&f->dirty, pgoff);
		if (d && write && dspm_committing(f, pgoff)) {
			mutex_unlock(&f->lock);
			/* a store waits, as a fault does, for the commit sending it */
			ret = wait_event_killable(f->commit_wait,
						  !dspm_committing(f, pgoff));
			if (ret)
				return ret;
			continue;
		}
		if (!d && write)
			d = dspm_make_dirty(f, pgoff);
		if (!IS_ERR_OR_NULL(d)) {
			if (write)
				memcpy(page_address(d->shadow) + off, buf, len);
			else
				memcpy(buf, page_address(d->shadow) + off, len);
			mutex_unlock(&f->lock);
			return len;
		}
		if (!d && dspm_lock_current(ds, pgoff)) {
			memcpy(buf, dspm_committed_page(ds, pgoff) + off, len);
			up_read(&ds->apply_sem);
			mutex_unlock(&f->lock);
			return len;
		}
		mutex_unlock(&f->lock);
		if (IS_ERR(d) && PTR_ERR(d) != -EAGAIN)
			return PTR_ERR(d);
		ret = dspm_coh_ready(ds, pgoff);
		if (ret < 0)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
}

const struct vm_operations_struct dspm_vm_ops = {
	.fault = dspm_fault,
	.pfn_mkwrite = dspm_pfn_mkwrite,
	.access = dspm_access,
};
