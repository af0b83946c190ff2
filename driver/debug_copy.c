// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/dspm/copy, while the node is in a cluster: what this
 * node's own pmem holds for a page of a cluster dataset, whatever the
 * coherence protocol would map, so the tests can check which nodes hold a
 * commit's bytes (its replication).
 *
 *   echo "DATASET PAGE" > copy   DATASET: cluster-wide id, PAGE: index
 *   cat copy                     "DATASET PAGE BYTES" then the first 64
 *                                bytes ('.' outside printable ASCII), or
 *                                "DATASET PAGE none" without a local copy
 */
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"
#include "txn_lane.h"

static int dspm_copy_show(struct seq_file *m, void *v)
{
	struct dspm_link *link = m->private;
	struct dspm_node *node = link->node;
	u64 id = READ_ONCE(link->copy_dataset), page = READ_ONCE(link->copy_page);
	const struct dspm_media_dataset *d;
	const u8 *p;
	int slot, i;

	mutex_lock(&node->lock);
	slot = node->store ? dspm_ns_find_cluster(node->store, id) : -ENODEV;
	if (slot < 0 || page >= le64_to_cpu(dspm_store_slot(node->store, slot)->pages)) {
		mutex_unlock(&node->lock);
		seq_printf(m, "%llu %llu none\n", id, page);
		return 0;
	}
	d = dspm_store_slot(node->store, slot);
	p = node->store->base + dspm_slot_page_offset(node->store, d, page);
	seq_printf(m, "%llu %llu ", id, page);
	for (i = 0; i < 64; i++)
		seq_putc(m, isprint(p[i]) ? p[i] : '.');
	seq_putc(m, '\n');
	mutex_unlock(&node->lock);
	return 0;
}

static int dspm_copy_open(struct inode *inode, struct file *file)
{
	return single_open(file, dspm_copy_show, inode->i_private);
}

static ssize_t dspm_copy_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *pos)
{
	struct dspm_link *link = ((struct seq_file *)file->private_data)->private;
	char cmd[64];
	u64 id, page;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (sscanf(cmd, "%llu %llu", &id, &page) != 2)
		return -EINVAL;
	WRITE_ONCE(link->copy_dataset, id);
	WRITE_ONCE(link->copy_page, page);
	return len;
}

static const struct file_operations dspm_copy_fops = {
	.owner = THIS_MODULE,
	.open = dspm_copy_open,
	.read = seq_read,
	.write = dspm_copy_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void dspm_debug_copy_start(struct dspm_link *link)
{
	link->copy_file = debugfs_create_file("copy", 0600, dspm_debugfs_root(),
					      link, &dspm_copy_fops);
}

void dspm_debug_copy_stop(struct dspm_link *link)
{
	debugfs_remove(link->copy_file);
}
