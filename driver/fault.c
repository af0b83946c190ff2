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
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

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
 * Make this node's copy of @pgoff current and return with apply_sem held
 * for reading, so no commit is applied to it nor INVALIDATE drops it until
 * the caller has mapped or copied it.  dspm_coh_ready() works without
 * apply_sem, so an INVALIDATE can drop the copy before apply_sem is taken
 * (its zap then finds nothing to zap): the copy is checked again under
 * apply_sem and made current again if it was dropped.  Returns 1 when it
 * fetched the page, 0 when it did not, or an error (apply_sem not held).
 */
static int dspm_fault_lock_current(struct dspm_dataset *ds, pgoff_t pgoff)
{
	bool fetched = false;
	int ret;

	for (;;) {
		ret = dspm_coh_ready(ds, pgoff);
		if (ret < 0)
			return ret;
		fetched |= ret > 0;
		if (ds->coh)
			dspm_debug_fault_stall();
		down_read(&ds->apply_sem);
		if (dspm_coh_current(ds, pgoff))
			return fetched;
		up_read(&ds->apply_sem);
		if (fatal_signal_pending(current))
			return -EINTR;
	}
}

/*
 * Make @pgoff dirty in @f: copy the committed page under apply_sem so the
 * copy is never a commit half applied, and zap the fd's other mappings of
 * the committed page so every vma of the fd sees the shadow from now on.
 * Returns the dirty page or an ERR_PTR: -ENOMEM, or the error that kept
 * the committed page from being fetched; *@fetched says whether it was.
 */
static struct dspm_dirty *dspm_make_dirty(struct dspm_file *f, pgoff_t pgoff,
					  bool *fetched)
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

	ret = dspm_fault_lock_current(ds, pgoff);
	if (ret < 0)
		goto fail;
	*fetched = ret > 0;
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
static vm_fault_t dspm_dirty_error(const struct dspm_dirty *d)
{
	return PTR_ERR(d) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

static vm_fault_t dspm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dspm_file *f = vma->vm_file->private_data;
	struct dspm_dataset *ds = f->ds;
	struct dspm_dirty *d;
	bool fetched = false;
	vm_fault_t ret;
	int ready;

	if (vmf->pgoff >= ds->pages)
		return VM_FAULT_SIGBUS;

	mutex_lock(&f->lock);
	d = xa_load(&f->dirty, vmf->pgoff);
	/* in a transaction a read takes the page's snapshot as well */
	if (!d && (vmf->flags & FAULT_FLAG_WRITE || f->txn)) {
		d = dspm_make_dirty(f, vmf->pgoff, &fetched);
		if (IS_ERR(d)) {
			ret = dspm_dirty_error(d);
			goto out;
		}
	}
	if (d) {
		ret = vmf_insert_pfn_prot(vma, vmf->address,
					  page_to_pfn(d->shadow),
					  vm_get_page_prot(vma->vm_flags));
		goto out;
	}
	ready = dspm_fault_lock_current(ds, vmf->pgoff);
	if (ready < 0) {
		/* the page's home cannot be reached */
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	fetched = ready;
	ret = vmf_insert_pfn(vma, vmf->address,
			     dspm_committed_pfn(ds, vmf->pgoff));
	/* a fetch counted the fault as remote */
	if (!fetched)
		dspm_stats_fault_local(ds->store);
	up_read(&ds->apply_sem);
out:
	trace_dspm_fault(ds->id, vmf->pgoff, vmf->flags & FAULT_FLAG_WRITE,
			 !fetched, ret);
	mutex_unlock(&f->lock);
	return ret;
}

/*
 * A store to a page mapped read-only.  If the fd already has a shadow the
 * PTE maps it (making a shadow zaps every other mapping of the page), so
 * the write may proceed; otherwise make one, which zaps this PTE too, and
 * let the access fault again into dspm_fault().
 */
static vm_fault_t dspm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct dspm_file *f = vmf->vma->vm_file->private_data;
	bool fetched = false;
	vm_fault_t ret = 0;

	if (vmf->pgoff >= f->ds->pages)
		return VM_FAULT_SIGBUS;
	mutex_lock(&f->lock);
	if (!xa_load(&f->dirty, vmf->pgoff)) {
		struct dspm_dirty *d = dspm_make_dirty(f, vmf->pgoff, &fetched);

		ret = IS_ERR(d) ? dspm_dirty_error(d) : VM_FAULT_NOPAGE;
	}
	trace_dspm_fault(f->ds->id, vmf->pgoff, true, !fetched, ret);
	mutex_unlock(&f->lock);
	return ret;
}

const struct vm_operations_struct dspm_vm_ops = {
	.fault = dspm_fault,
	.pfn_mkwrite = dspm_pfn_mkwrite,
};
