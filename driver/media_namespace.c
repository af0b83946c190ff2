// SPDX-License-Identifier: GPL-2.0
/*
 * The dataset namespace of one node: the table of datasets on the media,
 * with create, delete, lookup and listing.  Callers hold node->lock.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "internal.h"

int dspm_name_check(const char name[DSPM_NAME_MAX])
{
	size_t len = strnlen(name, DSPM_NAME_MAX);
	size_t i;

	if (len == 0 || len == DSPM_NAME_MAX || name[0] == '.')
		return -EINVAL;
	/* ASCII only: the kernel's ctype also classifies Latin-1 letters */
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-')
			return -EINVAL;
	}
	return dspm_is_zero(name + len, DSPM_NAME_MAX - len) ? 0 : -EINVAL;
}

/* Returns the slot holding @name, or -ENOENT. */
int dspm_ns_find(struct dspm_store *st, const char name[DSPM_NAME_MAX])
{
	u32 slot;

	for (slot = 0; slot < st->table_slots; slot++) {
		struct dspm_media_dataset *d = dspm_store_slot(st, slot);

		if (d->id && !strncmp(d->name, name, DSPM_NAME_MAX))
			return slot;
	}
	return -ENOENT;
}

/* Returns the slot of the cluster dataset @id, or -ENOENT. */
int dspm_ns_find_cluster(struct dspm_store *st, u64 id)
{
	u32 slot;

	for (slot = 0; slot < st->table_slots; slot++) {
		struct dspm_media_dataset *d = dspm_store_slot(st, slot);

		if (d->id && le64_to_cpu(d->cluster_id) == id)
			return slot;
	}
	return -ENOENT;
}

/* Media offset of page @page (< d->pages) of the dataset in slot @d. */
u64 dspm_slot_page_offset(struct dspm_store *st,
			  const struct dspm_media_dataset *d, u64 page)
{
	u32 i, n = le32_to_cpu(d->nr_extents);
	u64 first = 0;

	for (i = 0; i + 1 < n; i++) {
		u64 count = le64_to_cpu(d->extents[i].count);

		if (page < first + count)
			break;
		first += count;
	}
	return st->data_offset +
	       (le64_to_cpu(d->extents[i].start) + page - first) *
	       DSPM_MEDIA_PAGE;
}

/* The page of dataset @d at media page @mpage, or U64_MAX if not one. */
u64 dspm_slot_page_at(struct dspm_store *st, const struct dspm_media_dataset *d,
		      u64 mpage)
{
	u32 i, n = le32_to_cpu(d->nr_extents);
	u64 first = 0, pg;

	if (mpage * DSPM_MEDIA_PAGE < st->data_offset)
		return U64_MAX;
	pg = mpage - st->data_offset / DSPM_MEDIA_PAGE;
	for (i = 0; i < n && i < DSPM_EXTENTS_MAX; i++) {
		u64 start = le64_to_cpu(d->extents[i].start);
		u64 count = le64_to_cpu(d->extents[i].count);

		if (pg >= start && pg - start < count)
			return first + pg - start < le64_to_cpu(d->pages) ?
			       first + pg - start : U64_MAX;
		first += count;
	}
	return U64_MAX;
}

static int dspm_ns_free_slot(struct dspm_store *st)
{
	u32 slot;

	for (slot = 0; slot < st->table_slots; slot++) {
		if (!dspm_store_slot(st, slot)->id)
			return slot;
	}
	return -ENOSPC;
}

/* Log new values of the superblock's counters. */
static void dspm_ns_log_counters(struct dspm_txn *txn, u64 free_pages,
				 u64 datasets, u64 next_id)
{
	__le64 v[3] = {
		cpu_to_le64(free_pages),
		cpu_to_le64(datasets),
		cpu_to_le64(next_id),
	};

	BUILD_BUG_ON(offsetof(struct dspm_media_sb, datasets) !=
		     offsetof(struct dspm_media_sb, free_pages) + 8);
	BUILD_BUG_ON(offsetof(struct dspm_media_sb, next_id) !=
		     offsetof(struct dspm_media_sb, free_pages) + 16);
	dspm_txn_add(txn, offsetof(struct dspm_media_sb, free_pages), v,
		     sizeof(v));
}

int dspm_ns_check_create(const struct dspm_create *arg)
{
	if (arg->flags || arg->reserved0 ||
	    !dspm_is_zero(arg->reserved, sizeof(arg->reserved)))
		return -EINVAL;
	if (arg->length == 0 || arg->length > DSPM_DATASET_LENGTH_MAX ||
	    arg->mode & ~0777U || arg->replicas == 0 ||
	    arg->replicas > DSPM_REPLICAS_MAX ||
	    (arg->model != DSPM_MODEL_MRMW && arg->model != DSPM_MODEL_MRSW))
		return -EINVAL;
	return dspm_name_check(arg->name);
}

int dspm_ns_create(struct dspm_node *node, struct dspm_create *arg)
{
	struct dspm_ns_owner owner = {
		.uid = from_kuid(&init_user_ns, current_fsuid()),
		.gid = from_kgid(&init_user_ns, current_fsgid()),
	};
	int ret = dspm_ns_check_create(arg);

	return ret ?: dspm_ns_create_slot(node, arg, &owner, &arg->id);
}

/*
 * Make a slot for a checked @arg owned by @owner; a cluster dataset's local
 * copy carries the cluster's owner and id.  *@id: the new local id.
 */
int dspm_ns_create_slot(struct dspm_node *node, const struct dspm_create *arg,
			const struct dspm_ns_owner *owner, u64 *new_id)
{
	struct dspm_store *st = node->store;
	struct dspm_media_sb *sb;
	struct dspm_media_dataset *d;
	struct dspm_txn txn;
	u64 pages, id;
	u32 nr_ext;
	int slot, ret;

	lockdep_assert_held(&node->lock);
	if (dspm_ns_find(st, arg->name) >= 0)
		return -EEXIST;
	slot = dspm_ns_free_slot(st);
	if (slot < 0)
		return slot;
	pages = DIV_ROUND_UP(arg->length, DSPM_MEDIA_PAGE);
	sb = dspm_store_sb(st);
	if (pages > le64_to_cpu(sb->free_pages))
		return -ENOSPC;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	mutex_lock(&st->log_lock);
	dspm_txn_begin(&txn, st);
	ret = dspm_alloc_extents(st, pages, d->extents, &nr_ext, &txn);
	if (ret)
		goto unlock;
	id = le64_to_cpu(sb->next_id);
	d->id = cpu_to_le64(id);
	memcpy(d->name, arg->name, DSPM_NAME_MAX);
	d->length = cpu_to_le64(arg->length);
	d->pages = cpu_to_le64(pages);
	d->uid = cpu_to_le32(owner->uid);
	d->gid = cpu_to_le32(owner->gid);
	d->cluster_id = cpu_to_le64(owner->cluster_id);
	d->mode = cpu_to_le32(arg->mode);
	d->model = cpu_to_le32(arg->model);
	d->replicas = cpu_to_le32(arg->replicas);
	d->nr_extents = cpu_to_le32(nr_ext);
	d->ctime_ns = cpu_to_le64(ktime_get_real_ns());
	dspm_txn_add(&txn, st->table_offset + (u64)slot * DSPM_SLOT_SIZE, d,
		     sizeof(*d));
	dspm_ns_log_counters(&txn, le64_to_cpu(sb->free_pages) - pages,
			     le64_to_cpu(sb->datasets) + 1, id + 1);
	/* whatever a peer mapped of this slot before is no more */
	dspm_store_seq_retire(st, slot);
	ret = dspm_txn_commit(&txn);
	if (!ret)
		*new_id = id;
unlock:
	mutex_unlock(&st->log_lock);
	kfree(d);
	return ret;
}

int dspm_ns_delete(struct dspm_node *node, const struct dspm_delete *arg)
{
	struct dspm_store *st = node->store;
	struct dspm_media_dataset *d;
	int slot, ret;

	lockdep_assert_held(&node->lock);
	ret = dspm_ns_check_delete(arg);
	if (ret)
		return ret;
	slot = dspm_ns_find(st, arg->name);
	if (slot < 0)
		return slot;
	d = dspm_store_slot(st, slot);
	if (!dspm_ns_may_delete(le32_to_cpu(d->uid)))
		return -EACCES;
	return dspm_ns_delete_slot(node, slot);
}

int dspm_ns_check_delete(const struct dspm_delete *arg)
{
	if (arg->flags || !dspm_is_zero(arg->reserved, sizeof(arg->reserved)))
		return -EINVAL;
	return dspm_name_check(arg->name);
}

bool dspm_ns_may_delete(u32 uid)
{
	return uid_eq(current_fsuid(), make_kuid(&init_user_ns, uid)) ||
	       capable(CAP_SYS_ADMIN);
}

/* Free @slot and its pages; -EBUSY while an fd of it is open here. */
int dspm_ns_delete_slot(struct dspm_node *node, u32 slot)
{
	struct dspm_store *st = node->store;
	struct dspm_media_sb *sb = dspm_store_sb(st);
	struct dspm_media_dataset *d = dspm_store_slot(st, slot);
	struct dspm_txn txn;
	void *zero;
	int ret;

	lockdep_assert_held(&node->lock);
	if (xa_load(&node->open, slot))
		return -EBUSY;

	zero = kzalloc(DSPM_SLOT_SIZE, GFP_KERNEL);
	if (!zero)
		return -ENOMEM;
	mutex_lock(&st->log_lock);
	dspm_txn_begin(&txn, st);
	dspm_free_extents(st, d->extents, le32_to_cpu(d->nr_extents), &txn);
	dspm_txn_add(&txn, st->table_offset + (u64)slot * DSPM_SLOT_SIZE, zero,
		     DSPM_SLOT_SIZE);
	dspm_ns_log_counters(&txn,
			     le64_to_cpu(sb->free_pages) +
			     le64_to_cpu(d->pages),
			     le64_to_cpu(sb->datasets) - 1,
			     le64_to_cpu(sb->next_id));
	/* before the pages can go to another dataset */
	dspm_store_seq_retire(st, slot);
	ret = dspm_txn_commit(&txn);
	mutex_unlock(&st->log_lock);
	kfree(zero);
	return ret;
}

void dspm_ns_fill_info(struct dspm_node *node, u32 slot,
		       struct dspm_dataset_info *info)
{
	struct dspm_media_dataset *d = dspm_store_slot(node->store, slot);
	struct dspm_dataset *ds = xa_load(&node->open, slot);

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	/* a cluster dataset is known by its cluster id on every node */
	info->id = le64_to_cpu(d->cluster_id) ?: le64_to_cpu(d->id);
	memcpy(info->name, d->name, DSPM_NAME_MAX);
	info->length = le64_to_cpu(d->length);
	info->pages = le64_to_cpu(d->pages);
	info->uid = le32_to_cpu(d->uid);
	info->gid = le32_to_cpu(d->gid);
	info->mode = le32_to_cpu(d->mode);
	info->model = le32_to_cpu(d->model);
	info->replicas = le32_to_cpu(d->replicas);
	info->open_count = ds ? refcount_read(&ds->open_count) : 0;
	info->version = le64_to_cpu(READ_ONCE(d->version));
	info->ctime_ns = le64_to_cpu(d->ctime_ns);
}

/*
 * Snapshot up to @capacity entries into a new kernel buffer (kvfree it);
 * the caller copies them out after dropping node->lock.
 */
int dspm_ns_list(struct dspm_node *node, u32 capacity,
		 struct dspm_dataset_info **out, u32 *count, u32 *total)
{
	struct dspm_store *st = node->store;
	struct dspm_dataset_info *buf = NULL;
	u32 n = 0, slot;

	lockdep_assert_held(&node->lock);
	*total = 0;
	for (slot = 0; slot < st->table_slots; slot++)
		*total += !!dspm_store_slot(st, slot)->id;
	capacity = min(capacity, *total);
	if (capacity) {
		buf = kvcalloc(capacity, sizeof(*buf), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	for (slot = 0; slot < st->table_slots && n < capacity; slot++) {
		if (dspm_store_slot(st, slot)->id)
			dspm_ns_fill_info(node, slot, &buf[n++]);
	}
	*out = buf;
	*count = n;
	return 0;
}
