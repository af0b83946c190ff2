/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version shims.  Kbuild probes the headers it builds against for
 * the interfaces below (DSPM_HAVE_*), so distribution backports are
 * handled too.  Built and tested on 6.1 and 6.12.
 */
#ifndef _DSPM_COMPAT_H
#define _DSPM_COMPAT_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/mm.h>

/*
 * Open a block device read-write and exclusively for @holder.  @handle is
 * the struct file where block devices are opened as files (6.9+), NULL
 * where the block_device itself is the handle (up to 6.4).
 */
static inline int dspm_bdev_open(const char *path, void *holder,
				 struct file **handle,
				 struct block_device **bdev)
{
#ifdef DSPM_HAVE_BDEV_FILE
	struct file *f = bdev_file_open_by_path(path,
						BLK_OPEN_READ | BLK_OPEN_WRITE,
						holder, NULL);

	if (IS_ERR(f))
		return PTR_ERR(f);
	*handle = f;
	*bdev = file_bdev(f);
#else
	struct block_device *b = blkdev_get_by_path(path,
						    FMODE_READ | FMODE_WRITE |
						    FMODE_EXCL, holder);

	if (IS_ERR(b))
		return PTR_ERR(b);
	*handle = NULL;
	*bdev = b;
#endif
	return 0;
}

static inline void dspm_bdev_close(struct file *handle,
				   struct block_device *bdev)
{
#ifdef DSPM_HAVE_BDEV_FILE
	fput(handle);
#else
	blkdev_put(bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
#endif
}

static inline void dspm_vm_flags_set(struct vm_area_struct *vma,
				     unsigned long flags)
{
#ifdef DSPM_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* A fault handler gives up the lock it was called with (VM_FAULT_RETRY). */
static inline void dspm_release_fault_lock(struct vm_fault *vmf)
{
#ifdef DSPM_HAVE_RELEASE_FAULT_LOCK
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

#endif /* _DSPM_COMPAT_H */
