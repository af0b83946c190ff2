// SPDX-License-Identifier: GPL-2.0
/*
 * dspm module: the /dev/dspm misc device and the pseudo filesystem that
 * gives every open dataset its own inode; the module's init and exit.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"

#define DSPM_FS_MAGIC	0x6473706d	/* "dspm" */

static struct dspm_node dspm_node;

static int dspm_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, DSPM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type dspm_fs_type = {
	.name = "dspm",
	.init_fs_context = dspm_init_fs_context,
	.kill_sb = kill_anon_super,
};

static long dspm_ctl_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	return dspm_control_ioctl(&dspm_node, cmd, (void __user *)arg);
}

static const struct file_operations dspm_ctl_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = dspm_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * root and the device's group: a dataset's own owner and mode decide who
 * may open it, but anyone who can open /dev/dspm may create datasets and
 * fill the device, so the packages' udev rule gives the node to group
 * "dspm" (Documentation/abi.md, "Who may open /dev/dspm").
 */
static struct miscdevice dspm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dspm",
	.fops = &dspm_ctl_fops,
	.mode = 0660,
};

static int __init dspm_init(void)
{
	int ret;

	dspm_layout_build_checks();
	ret = init_srcu_struct(&dspm_node.link_srcu);
	if (ret)
		return ret;
	mutex_init(&dspm_node.lock);
	xa_init(&dspm_node.open);
	/*
	 * Heartbeats, the resolver and the coherence workers: on a queue of
	 * the driver's own, with a rescuer, so neither a busy system queue
	 * nor memory pressure delays a heartbeat into a false death.
	 */
	dspm_node.wq = alloc_workqueue("dspm", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!dspm_node.wq) {
		ret = -ENOMEM;
		goto err_wq;
	}
	dspm_coh_node_init(&dspm_node);
	ret = dspm_sync_init(&dspm_node.sync);
	if (ret)
		goto err_sync;
	dspm_node.mnt = kern_mount(&dspm_fs_type);
	if (IS_ERR(dspm_node.mnt)) {
		ret = PTR_ERR(dspm_node.mnt);
		goto err_mount;
	}
	ret = misc_register(&dspm_misc);
	if (ret)
		goto err_misc;
	dspm_debugfs_init();
	pr_info("dspm: ABI %d ready on /dev/dspm\n", DSPM_ABI_VERSION);
	return 0;

err_misc:
	kern_unmount(dspm_node.mnt);
err_mount:
	dspm_sync_exit(&dspm_node.sync);
err_sync:
	destroy_workqueue(dspm_node.wq);
err_wq:
	cleanup_srcu_struct(&dspm_node.link_srcu);
	return ret;
}

static void __exit dspm_exit(void)
{
	misc_deregister(&dspm_misc);
	/* the last closes' RELEASEs still need the link */
	dspm_sync_exit(&dspm_node.sync);
	dspm_cluster_exit(&dspm_node);
	dspm_coh_node_exit(&dspm_node);
	/* every dataset fd holds a module reference, so none is open here */
	if (dspm_node.store)
		dspm_store_release(dspm_node.store);
	/* last: the link removes its own files from the directory */
	dspm_debugfs_exit();
	xa_destroy(&dspm_node.open);
	kern_unmount(dspm_node.mnt);
	destroy_workqueue(dspm_node.wq);
	cleanup_srcu_struct(&dspm_node.link_srcu);
}

module_init(dspm_init);

module_exit(dspm_exit);

MODULE_DESCRIPTION("dspm: distributed shared persistent memory");

MODULE_AUTHOR("dspm developers");

MODULE_LICENSE("GPL");
