// SPDX-License-Identifier: GPL-2.0
/*
 * Dataset fds: opening a dataset (permission check, the in-memory dataset
 * shared by all its fds on this node), mmap, the dataset fd's ioctls and
 * release.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "compat.h"
#include "internal.h"

/* Like a file's permission check; CAP_DAC_OVERRIDE bypasses it. */
static int dspm_may_open(const struct dspm_media_dataset *d, bool write)
{
	kuid_t uid = make_kuid(&init_user_ns, le32_to_cpu(d->uid));
	kgid_t gid = make_kgid(&init_user_ns, le32_to_cpu(d->gid));
	u32 mode = le32_to_cpu(d->mode);
	u32 need = write ? 06 : 04;
	u32 have;

	if (uid_eq(current_fsuid(), uid))
		have = mode >> 6;
	else if (in_group_p(gid))
		have = mode >> 3;
	else
		have = mode;
	if ((have & need) == need)
		return 0;
	if (capable(CAP_DAC_OVERRIDE))
		return 0;
	if (!write && capable(CAP_DAC_READ_SEARCH))
		return 0;
	return -EACCES;
}

static struct dspm_dataset *dspm_dataset_new(struct dspm_node *node, u32 slot)
{
	struct dspm_store *st = node->store;
	struct dspm_media_dataset *d = dspm_store_slot(st, slot);
	struct dspm_dataset *ds;
	u64 first = 0;
	unsigned int i;
	int ret;

	ds = kzalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds)
		return ERR_PTR(-ENOMEM);
	ds->inode = alloc_anon_inode(node->mnt->mnt_sb);
	if (IS_ERR(ds->inode)) {
		struct inode *inode = ds->inode;

		kfree(ds);
		return ERR_CAST(inode);
	}
	ds->node = node;
	ds->store = st;
	ds->slot = slot;
	ds->id = le64_to_cpu(d->id);
	ds->length = le64_to_cpu(d->length);
	ds->pages = le64_to_cpu(d->pages);
	ds->replicas = le32_to_cpu(d->replicas);
	ds->model = le32_to_cpu(d->model);
	ds->nr_extents = le32_to_cpu(d->nr_extents);
	for (i = 0; i < ds->nr_extents; i++) {
		ds->extents[i].first = first;
		ds->extents[i].start = le64_to_cpu(d->extents[i].start);
		ds->extents[i].count = le64_to_cpu(d->extents[i].count);
		first += ds->extents[i].count;
	}
	init_rwsem(&ds->apply_sem);
	refcount_set(&ds->open_count, 1);
	ret = dspm_sync_dataset_init(ds);
	if (ret) {
		iput(ds->inode);
		kfree(ds);
		return ERR_PTR(ret);
	}
	return ds;
}

static void dspm_dataset_free(struct dspm_dataset *ds)
{
	dspm_sync_dataset_free(ds);
	dspm_coh_free(ds->coh);
	iput(ds->inode);
	kfree(ds);
}

/* Drop an fd's hold on its dataset; the last one forgets it. */
void dspm_dataset_put(struct dspm_dataset *ds)
{
	struct dspm_node *node = ds->node;

	if (!refcount_dec_and_mutex_lock(&ds->open_count, &node->lock))
		return;
	/* its cached copies go with it: the homes may forget this node */
	dspm_coh_closing(node, ds->coh);
	xa_erase(&node->open, ds->slot);
	mutex_unlock(&node->lock);
	dspm_dataset_free(ds);
}

/* Find or make the dataset in @slot and take a hold on it. */
static struct dspm_dataset *dspm_dataset_get(struct dspm_node *node, u32 slot)
{
	struct dspm_dataset *ds = xa_load(&node->open, slot);
	int ret;

	lockdep_assert_held(&node->lock);
	if (ds) {
		refcount_inc(&ds->open_count);
		return ds;
	}
	ds = dspm_dataset_new(node, slot);
	if (IS_ERR(ds))
		return ds;
	ret = xa_err(xa_store(&node->open, slot, ds, GFP_KERNEL));
	if (ret) {
		dspm_dataset_free(ds);
		return ERR_PTR(ret);
	}
	return ds;
}

static struct file *dspm_file_new(struct dspm_node *node,
				  struct dspm_dataset *ds, bool write)
{
	struct dspm_file *f;
	struct file *file;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->ds = ds;
	f->writable = write;
	mutex_init(&f->commit_lock);
	mutex_init(&f->lock);
	xa_init(&f->dirty);
	init_waitqueue_head(&f->commit_wait);
	ret = dspm_sync_file_init(f);
	if (ret) {
		kfree(f);
		return ERR_PTR(ret);
	}

	/*
	 * The file's dentry takes this inode reference and, like
	 * anon_inode_getfile(), the file's f_op the module reference that
	 * __fput() drops.  /dev/dspm being open pins the module meanwhile.
	 */
	ihold(ds->inode);
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(ds->inode, node->mnt, "[dspm-dataset]",
				 write ? O_RDWR : O_RDONLY, &dspm_dataset_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(ds->inode);
		dspm_sync_file_release(f);
		kfree(f);
		return file;
	}
	file->private_data = f;
	return file;
}

int dspm_dataset_open(struct dspm_node *node, const struct dspm_open *arg)
{
	bool write = arg->flags & DSPM_OPEN_WRITE;
	struct dspm_wire_dataset_reply *placement = NULL;
	struct dspm_dataset *ds = NULL;
	struct dspm_link *link;
	struct file *file;
	int slot, fd, idx, ret;

	if (arg->flags & ~DSPM_OPEN_FLAGS_ALL ||
	    !dspm_is_zero(arg->reserved, sizeof(arg->reserved)))
		return -EINVAL;
	ret = dspm_name_check(arg->name);
	if (ret)
		return ret;
	fd = get_unused_fd_flags(arg->flags & DSPM_OPEN_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;

	/* the dispatcher first, without node->lock: serving threads need it */
	link = dspm_node_link_get(node, &idx);
	if (link) {
		ret = dspm_cluster_ns_lookup(link, arg->name, &placement);
		if (ret)
			goto out;
	}
	mutex_lock(&node->lock);
	if (!node->store) {
		ret = -ENODEV;
		goto unlock;
	}
	slot = placement ? dspm_cluster_ns_slot(node, placement)
			 : dspm_ns_find(node->store, arg->name);
	if (slot < 0) {
		ret = slot;
		goto unlock;
	}
	ret = dspm_may_open(dspm_store_slot(node->store, slot), write);
	if (ret)
		goto unlock;
	ds = dspm_dataset_get(node, slot);
	if (IS_ERR(ds)) {
		ret = PTR_ERR(ds);
		ds = NULL;
		goto unlock;
	}
	/* the first fd of a cluster dataset learns where its pages live */
	if (placement && !ds->coh) {
		ds->coh = dspm_coh_new(placement, ds->pages,
				       READ_ONCE(link->node_id));
		if (!ds->coh) {
			ret = -ENOMEM;
			goto unlock;
		}
		dspm_coh_opened(node, ds->coh);
	}
	file = dspm_file_new(node, ds, write);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto unlock;
	}
	mutex_unlock(&node->lock);
	dspm_node_link_put(node, idx);
	kvfree(placement);
	dspm_sync_dataset_open(ds);
	fd_install(fd, file);
	return fd;

unlock:
	mutex_unlock(&node->lock);
	/* takes node->lock itself */
	if (ds)
		dspm_dataset_put(ds);
out:
	dspm_node_link_put(node, idx);
	kvfree(placement);
	put_unused_fd(fd);
	return ret;
}

static int dspm_dataset_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct dspm_file *f = file->private_data;
	u64 pages = f->ds->pages;

	/* VM_SHARED is dropped for read-only fds; VM_MAYSHARE is not */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;
	dspm_vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &dspm_vm_ops;
	return 0;
}

static long dspm_dataset_stat(struct dspm_file *f, void __user *uarg)
{
	struct dspm_dataset *ds = f->ds;
	struct dspm_dataset_info info;
	struct dspm_stat s;
	int ret;

	ret = dspm_copy_arg_in(&s, sizeof(s), DSPM_STAT_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (s.flags)
		return -EINVAL;
	memset(&s, 0, sizeof(s));

	mutex_lock(&ds->node->lock);
	dspm_ns_fill_info(ds->node, ds->slot, &info);
	mutex_unlock(&ds->node->lock);
	s.id = info.id;
	memcpy(s.name, info.name, sizeof(s.name));
	s.length = info.length;
	s.pages = info.pages;
	s.uid = info.uid;
	s.gid = info.gid;
	s.mode = info.mode;
	s.model = info.model;
	s.replicas = info.replicas;
	s.open_count = info.open_count;
	s.version = info.version;
	s.ctime_ns = info.ctime_ns;
	mutex_lock(&f->lock);
	s.dirty_pages = f->nr_dirty;
	mutex_unlock(&f->lock);
	return dspm_copy_arg_out(uarg, &s, sizeof(s));
}

static long dspm_dataset_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct dspm_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DSPM_IOC_COMMIT:
		return dspm_commit(f, uarg);
	case DSPM_IOC_ABORT:
		return dspm_abort(f, uarg);
	case DSPM_IOC_STAT:
		return dspm_dataset_stat(f, uarg);
	case DSPM_IOC_BEGIN:
		return dspm_begin(f, uarg);
	case DSPM_IOC_LOCK:
		return dspm_lock_ioctl(f, uarg, true);
	case DSPM_IOC_UNLOCK:
		return dspm_lock_ioctl(f, uarg, false);
	case DSPM_IOC_BARRIER:
		return dspm_barrier_ioctl(f, uarg);
	default:
		return -ENOTTY;
	}
}

static int dspm_dataset_release(struct inode *inode, struct file *file)
{
	struct dspm_file *f = file->private_data;

	dspm_drop_all_dirty(f);
	dspm_sync_file_release(f);
	dspm_dataset_put(f->ds);
	mutex_destroy(&f->lock);
	mutex_destroy(&f->commit_lock);
	kfree(f);
	return 0;
}

const struct file_operations dspm_dataset_fops = {
	.owner = THIS_MODULE,
	.mmap = dspm_dataset_mmap,
	.unlocked_ioctl = dspm_dataset_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = dspm_dataset_release,
};
