// SPDX-License-Identifier: GPL-2.0
/*
 * Ioctls of the control fd, /dev/dspm: device attach and detach, the
 * dataset namespace, node information.
 */
#include <linux/capability.h>
#include <linux/limits.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"

static long dspm_ioc_get_info(struct dspm_node *node, void __user *uarg)
{
	struct dspm_info info;
	struct dspm_store *st;
	int ret;

	/* every field is output; the struct is checked like any other */
	ret = dspm_copy_arg_in(&info, sizeof(info), DSPM_INFO_SIZE_VER0, uarg);
	if (ret)
		return ret;
	memset(&info, 0, sizeof(info));
	info.abi_version = DSPM_ABI_VERSION;
	mutex_lock(&node->lock);
	st = node->store;
	if (st) {
		struct dspm_media_sb *sb = dspm_store_sb(st);

		info.flags = DSPM_INFO_ATTACHED;
		if (st->backend == DSPM_BACKEND_DRAM)
			info.flags |= DSPM_INFO_VOLATILE;
		info.layout_version = DSPM_LAYOUT_VERSION;
		memcpy(info.uuid, st->uuid, sizeof(info.uuid));
		info.page_size = DSPM_MEDIA_PAGE;
		info.capacity = st->data_pages * DSPM_MEDIA_PAGE;
		info.free = le64_to_cpu(sb->free_pages) * DSPM_MEDIA_PAGE;
		info.datasets = le64_to_cpu(sb->datasets);
		info.max_datasets = st->table_slots;
		info.log_capacity = dspm_commit_capacity(st);
		info.commits = atomic64_read(&st->commits);
		info.aborts = atomic64_read(&st->aborts);
		info.recovered = st->recovered;
		dspm_stats_fill(st, &info);
	}
	mutex_unlock(&node->lock);
	return dspm_copy_arg_out(uarg, &info, sizeof(info));
}

static int dspm_ioc_check_attach(const struct dspm_attach *a)
{
	if (a->flags & ~DSPM_ATTACH_FLAGS_ALL ||
	    !dspm_is_zero(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	if (a->flags & DSPM_ATTACH_DRAM) {
		if (a->path || a->dram_bytes < DSPM_DRAM_BYTES_MIN ||
		    a->dram_bytes > DSPM_DRAM_BYTES_MAX)
			return -EINVAL;
	} else if (!a->path || a->dram_bytes) {
		return -EINVAL;
	}
	return 0;
}

static long dspm_ioc_attach(struct dspm_node *node, void __user *uarg)
{
	struct dspm_attach a;
	struct dspm_store *st;
	char *path = NULL;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = dspm_copy_arg_in(&a, sizeof(a), DSPM_ATTACH_SIZE_VER0, uarg);
	if (ret)
		return ret;
	ret = dspm_ioc_check_attach(&a);
	if (ret)
		return ret;
	if (!(a.flags & DSPM_ATTACH_DRAM)) {
		path = strndup_user(u64_to_user_ptr(a.path), PATH_MAX);
		if (IS_ERR(path))
			return PTR_ERR(path);
		/* as open(2) has it, rather than lookup_bdev()'s EINVAL */
		if (!*path) {
			kfree(path);
			return -ENOENT;
		}
	}

	mutex_lock(&node->lock);
	if (node->store) {
		ret = -EBUSY;
	} else {
		if (path)
			ret = dspm_store_attach_pmem(path,
						     a.flags & DSPM_ATTACH_FORMAT,
						     &st);
		else
			ret = dspm_store_attach_dram(a.dram_bytes, &st);
		if (!ret)
			node->store = st;
	}
	mutex_unlock(&node->lock);
	if (!ret)
		pr_info("dspm: attached %s%s\n", path ?: "DRAM",
			a.flags & DSPM_ATTACH_FORMAT ? " (formatted)" : "");
	kfree(path);
	return ret;
}

static long dspm_ioc_detach(struct dspm_node *node, void __user *uarg)
{
	struct dspm_detach d;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = dspm_copy_arg_in(&d, sizeof(d), DSPM_DETACH_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (d.flags || !dspm_is_zero(d.reserved, sizeof(d.reserved)))
		return -EINVAL;

	mutex_lock(&node->lock);
	if (!node->store) {
		ret = -ENODEV;
	} else if (!xa_empty(&node->open) || dspm_node_link_locked(node) ||
		   node->link_changing) {
		/* open datasets, or a cluster still relying on this device */
		ret = -EBUSY;
	} else {
		dspm_store_release(node->store);
		node->store = NULL;
		pr_info("dspm: detached\n");
	}
	mutex_unlock(&node->lock);
	return ret;
}

static long dspm_ioc_create(struct dspm_node *node, void __user *uarg)
{
	struct dspm_link *link;
	struct dspm_create c;
	int idx, ret;

	ret = dspm_copy_arg_in(&c, sizeof(c), DSPM_CREATE_SIZE_VER0, uarg);
	if (!ret)
		ret = dspm_arg_writable(uarg, &c, sizeof(c));
	if (ret)
		return ret;
	/* the dispatcher's part is called without node->lock */
	link = dspm_node_link_get(node, &idx);
	if (link) {
		ret = dspm_cluster_ns_create(link, &c);
	} else {
		mutex_lock(&node->lock);
		ret = node->store ? dspm_ns_create(node, &c) : -ENODEV;
		mutex_unlock(&node->lock);
	}
	dspm_node_link_put(node, idx);
	if (ret)
		return ret;
	return dspm_copy_arg_out(uarg, &c, sizeof(c));
}

static long dspm_ioc_delete(struct dspm_node *node, void __user *uarg)
{
	struct dspm_link *link;
	struct dspm_delete d;
	int idx, ret;

	ret = dspm_copy_arg_in(&d, sizeof(d), DSPM_DELETE_SIZE_VER0, uarg);
	if (ret)
		return ret;
	link = dspm_node_link_get(node, &idx);
	if (link) {
		ret = dspm_cluster_ns_delete(node, link, &d);
	} else {
		mutex_lock(&node->lock);
		ret = node->store ? dspm_ns_delete(node, &d) : -ENODEV;
		mutex_unlock(&node->lock);
	}
	dspm_node_link_put(node, idx);
	return ret;
}

static long dspm_ioc_open(struct dspm_node *node, void __user *uarg)
{
	struct dspm_open o;
	int ret;

	ret = dspm_copy_arg_in(&o, sizeof(o), DSPM_OPEN_SIZE_VER0, uarg);
	if (ret)
		return ret;
	return dspm_dataset_open(node, &o);
}

static long dspm_ioc_list(struct dspm_node *node, void __user *uarg)
{
	struct dspm_dataset_info *buf = NULL;
	struct dspm_link *link;
	void __user *entries;
	struct dspm_list l;
	int idx, ret;
	u32 i;

	ret = dspm_copy_arg_in(&l, sizeof(l), DSPM_LIST_SIZE_VER0, uarg);
	if (!ret)
		ret = dspm_arg_writable(uarg, &l, sizeof(l));
	if (ret)
		return ret;
	if (l.flags ||
	    !dspm_is_zero(l.reserved, sizeof(l.reserved)) ||
	    l.entry_size < DSPM_DATASET_INFO_SIZE_VER0 ||
	    l.entry_size > DSPM_STRUCT_SIZE_MAX)
		return -EINVAL;
	entries = u64_to_user_ptr(l.entries);

	link = dspm_node_link_get(node, &idx);
	if (link) {
		ret = dspm_cluster_ns_list(node, link, l.capacity, &buf,
					   &l.count, &l.total);
	} else {
		mutex_lock(&node->lock);
		ret = node->store ? dspm_ns_list(node, l.capacity, &buf,
						 &l.count, &l.total) : -ENODEV;
		mutex_unlock(&node->lock);
	}
	dspm_node_link_put(node, idx);
	if (ret)
		return ret;

	for (i = 0; i < l.count && !ret; i++) {
		void __user *dst = entries + (u64)i * l.entry_size;
		u32 n = min_t(u32, l.entry_size, sizeof(buf[i]));

		buf[i].size = n;
		if (copy_to_user(dst, &buf[i], n) ||
		    (l.entry_size > n && clear_user(dst + n, l.entry_size - n)))
			ret = -EFAULT;
	}
	kvfree(buf);
	if (ret)
		return ret;
	return dspm_copy_arg_out(uarg, &l, sizeof(l));
}

long dspm_control_ioctl(struct dspm_node *node, unsigned int cmd,
			void __user *uarg)
{
	switch (cmd) {
	case DSPM_IOC_GET_INFO:
		return dspm_ioc_get_info(node, uarg);
	case DSPM_IOC_ATTACH:
		return dspm_ioc_attach(node, uarg);
	case DSPM_IOC_DETACH:
		return dspm_ioc_detach(node, uarg);
	case DSPM_IOC_CREATE:
		return dspm_ioc_create(node, uarg);
	case DSPM_IOC_OPEN:
		return dspm_ioc_open(node, uarg);
	case DSPM_IOC_DELETE:
		return dspm_ioc_delete(node, uarg);
	case DSPM_IOC_LIST:
		return dspm_ioc_list(node, uarg);
	case DSPM_IOC_JOIN:
		return dspm_cluster_join(node, uarg);
	case DSPM_IOC_LEAVE:
		return dspm_cluster_leave(node, uarg);
	case DSPM_IOC_NODES:
		return dspm_cluster_nodes(node, uarg);
	case DSPM_IOC_PLACEMENT:
		return dspm_cluster_placement(node, uarg);
	default:
		return -ENOTTY;
	}
}
