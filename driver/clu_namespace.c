// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster-wide dataset namespace, as seen from one node: while the node
 * is in a cluster, create, delete, lookup and listing are the dispatcher's
 * (names unique cluster-wide, chunk placement), and the node keeps a local
 * copy of a dataset in its own table, tagged with the cluster id, made when
 * the dataset is first opened here.  The dispatcher is called without
 * node->lock (a serving thread of this node may need it meanwhile); only
 * the local table's part runs under it.  Replies are checked against
 * dspm_wire.h before anything in them is used.
 */
#include <linux/cred.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "clu.h"
#include "internal.h"

static void dspm_wire_set_name(char *dst, const char name[DSPM_NAME_MAX])
{
	BUILD_BUG_ON(DSPM_WIRE_NAME_MAX != DSPM_NAME_MAX);
	BUILD_BUG_ON(DSPM_WIRE_REPLICAS_MAX != DSPM_REPLICAS_MAX);
	memcpy(dst, name, DSPM_NAME_MAX);
}

static int dspm_wire_dataset_check(const struct dspm_wire_dataset *w)
{
	u64 chunk = le64_to_cpu(w->chunk_size), length = le64_to_cpu(w->length);
	u32 replicas = le32_to_cpu(w->replicas), model = le32_to_cpu(w->model);

	if (dspm_name_check(w->name) || !w->id || !length ||
	    length > DSPM_DATASET_LENGTH_MAX || le32_to_cpu(w->mode) & ~0777U ||
	    (model != DSPM_MODEL_MRMW && model != DSPM_MODEL_MRSW) ||
	    !replicas || replicas > DSPM_WIRE_REPLICAS_MAX ||
	    chunk < DSPM_WIRE_CHUNK_SIZE_MIN || chunk > DSPM_WIRE_CHUNK_SIZE_MAX ||
	    le32_to_cpu(w->chunks) != DIV_ROUND_UP_ULL(length, chunk) ||
	    le32_to_cpu(w->chunks) > DSPM_WIRE_CHUNKS_MAX)
		return -EPROTO;
	return 0;
}

/* Home and replicas: distinct real node ids, then zeros. */
static int dspm_wire_chunk_check(const struct dspm_wire_chunk *c, u32 replicas)
{
	u32 i, j;

	for (i = 0; i < DSPM_WIRE_REPLICAS_MAX; i++) {
		u32 id = le32_to_cpu(c->node[i]);

		if (i >= replicas) {
			if (id)
				return -EPROTO;
			continue;
		}
		if (id == DSPM_WIRE_NODE_NONE || id == DSPM_WIRE_NODE_DISPATCHER)
			return -EPROTO;
		for (j = 0; j < i; j++)
			if (c->node[j] == c->node[i])
				return -EPROTO;
	}
	return 0;
}

/* A DATASET_REPLY, checked in full; the caller kvfrees it. */
static int dspm_cluster_dataset_call(struct dspm_link *link, void *req, u32 len,
				     struct dspm_wire_dataset_reply **out)
{
	struct dspm_wire_dataset_reply *r;
	void *reply;
	u32 chunks, i;
	int ret;

	ret = dspm_link_call(link, req, len, DSPM_WIRE_DATASET_REPLY, &reply);
	if (ret)
		return ret;
	r = reply;
	chunks = le32_to_cpu(r->dataset.chunks);
	if (le32_to_cpu(r->hdr.length) < sizeof(*r) ||
	    dspm_wire_dataset_check(&r->dataset) ||
	    le32_to_cpu(r->hdr.length) != sizeof(*r) + chunks * sizeof(r->chunks[0]))
		goto bad;
	for (i = 0; i < chunks; i++)
		if (dspm_wire_chunk_check(&r->chunks[i],
					  le32_to_cpu(r->dataset.replicas)))
			goto bad;
	*out = r;
	return 0;
bad:
	atomic64_inc(&link->malformed);
	kvfree(reply);
	return -EPROTO;
}

int dspm_cluster_ns_lookup(struct dspm_link *link,
			   const char name[DSPM_NAME_MAX],
			   struct dspm_wire_dataset_reply **out)
{
	struct dspm_wire_dataset_name req = {};

	req.hdr.type = cpu_to_le16(DSPM_WIRE_DATASET_LOOKUP);
	dspm_wire_set_name(req.name, name);
	return dspm_cluster_dataset_call(link, &req, sizeof(req), out);
}

int dspm_cluster_ns_create(struct dspm_link *link, struct dspm_create *arg)
{
	struct dspm_wire_dataset_create req = {};
	struct dspm_wire_dataset_reply *r;
	int ret;

	ret = dspm_ns_check_create(arg);
	if (ret)
		return ret;
	req.hdr.type = cpu_to_le16(DSPM_WIRE_DATASET_CREATE);
	dspm_wire_set_name(req.name, arg->name);
	req.length = cpu_to_le64(arg->length);
	req.mode = cpu_to_le32(arg->mode);
	req.uid = cpu_to_le32(from_kuid(&init_user_ns, current_fsuid()));
	req.gid = cpu_to_le32(from_kgid(&init_user_ns, current_fsgid()));
	req.model = cpu_to_le32(arg->model);
	req.replicas = cpu_to_le32(arg->replicas);
	ret = dspm_cluster_dataset_call(link, &req, sizeof(req), &r);
	if (ret)
		return ret;
	if (strncmp(r->dataset.name, arg->name, DSPM_NAME_MAX))
		ret = -EPROTO;
	else
		arg->id = le64_to_cpu(r->dataset.id);
	kvfree(r);
	return ret;
}

/*
 * The local slot of @name: -EEXIST when it is a dataset of this node only
 * (it shadows nothing and is never replaced), -ENOENT when there is none.
 */
static int dspm_cluster_local_slot(struct dspm_node *node,
				   const char name[DSPM_NAME_MAX], u64 *cluster_id)
{
	int slot;

	lockdep_assert_held(&node->lock);
	slot = dspm_ns_find(node->store, name);
	if (slot < 0)
		return slot;
	*cluster_id = le64_to_cpu(dspm_store_slot(node->store, slot)->cluster_id);
	return *cluster_id ? slot : -EEXIST;
}

int dspm_cluster_ns_delete(struct dspm_node *node, struct dspm_link *link,
			   const struct dspm_delete *arg)
{
	struct dspm_wire_dataset_reply *r;
	struct dspm_wire_dataset_name req = {};
	void *reply;
	u64 local_id = 0, id;
	int slot, ret;

	ret = dspm_ns_check_delete(arg);
	if (ret)
		return ret;
	ret = dspm_cluster_ns_lookup(link, arg->name, &r);
	if (ret)
		return ret;
	id = le64_to_cpu(r->dataset.id);
	ret = dspm_ns_may_delete(le32_to_cpu(r->dataset.uid)) ? 0 : -EACCES;
	kvfree(r);
	if (ret)
		return ret;
	mutex_lock(&node->lock);
	slot = dspm_cluster_local_slot(node, arg->name, &local_id);
	if (slot >= 0 && xa_load(&node->open, slot))
		ret = -EBUSY;
	mutex_unlock(&node->lock);
	if (ret)
		return ret;

	req.hdr.type = cpu_to_le16(DSPM_WIRE_DATASET_DELETE);
	dspm_wire_set_name(req.name, arg->name);
	ret = dspm_link_call(link, &req, sizeof(req), DSPM_WIRE_DELETE_REPLY,
			     &reply);
	if (ret)
		return ret;
	kvfree(reply);
	/*
	 * The cluster's dataset is gone; a stale local copy goes with it,
	 * unless it was opened meanwhile (the next open replaces it then).
	 */
	mutex_lock(&node->lock);
	slot = dspm_cluster_local_slot(node, arg->name, &local_id);
	if (slot >= 0 && local_id == id && !xa_load(&node->open, slot))
		ret = dspm_ns_delete_slot(node, slot);
	mutex_unlock(&node->lock);
	return ret;
}

/*
 * The local slot holding the cluster dataset that the DATASET_REPLY @r
 * describes, made on first use with the cluster's owner, mode and id; a
 * copy left over from an earlier dataset of that name is replaced.
 */
int dspm_cluster_ns_slot(struct dspm_node *node,
			 const struct dspm_wire_dataset_reply *r)
{
	struct dspm_create c = { .size = sizeof(c) };
	const char *name = r->dataset.name;
	struct dspm_ns_owner owner;
	u64 local_id = 0, new_id;
	int slot, ret;

	lockdep_assert_held(&node->lock);
	if (!node->store)
		return -ENODEV;
	owner.uid = le32_to_cpu(r->dataset.uid);
	owner.gid = le32_to_cpu(r->dataset.gid);
	owner.cluster_id = le64_to_cpu(r->dataset.id);
	memcpy(c.name, name, DSPM_NAME_MAX);
	c.length = le64_to_cpu(r->dataset.length);
	c.mode = le32_to_cpu(r->dataset.mode);
	c.model = le32_to_cpu(r->dataset.model);
	c.replicas = le32_to_cpu(r->dataset.replicas);

	slot = dspm_cluster_local_slot(node, name, &local_id);
	if (slot >= 0 && local_id == owner.cluster_id)
		return slot;
	if (slot == -EEXIST) {
		pr_warn_ratelimited("dspm: a local dataset named %s hides the cluster's\n",
				    name);
		return slot;
	}
	if (slot >= 0) {
		ret = dspm_ns_delete_slot(node, slot);
		if (ret)
			return ret;
	}
	ret = dspm_ns_create_slot(node, &c, &owner, &new_id);
	return ret ?: dspm_ns_find(node->store, name);
}

static void dspm_cluster_fill_info(struct dspm_node *node,
				   const struct dspm_wire_dataset *w,
				   struct dspm_dataset_info *info)
{
	u64 id = le64_to_cpu(w->id), local_id;
	int slot = dspm_cluster_local_slot(node, w->name, &local_id);

	if (slot >= 0 && local_id == id) {
		dspm_ns_fill_info(node, slot, info);
	} else {
		memset(info, 0, sizeof(*info));
		info->size = sizeof(*info);
		memcpy(info->name, w->name, DSPM_NAME_MAX);
	}
	/* the cluster's view wins; pages and versions are this node's */
	info->id = id;
	info->length = le64_to_cpu(w->length);
	info->uid = le32_to_cpu(w->uid);
	info->gid = le32_to_cpu(w->gid);
	info->mode = le32_to_cpu(w->mode);
	info->model = le32_to_cpu(w->model);
	info->replicas = le32_to_cpu(w->replicas);
}

/* One LIST_REPLY page, checked; entries follow ids strictly increasing. */
static int dspm_cluster_list_page(struct dspm_link *link, u64 cursor,
				  struct dspm_wire_list_reply **out)
{
	struct dspm_wire_dataset_list req = {};
	struct dspm_wire_list_reply *r;
	u64 prev = cursor;
	void *reply;
	u32 count, i;
	int ret;

	req.hdr.type = cpu_to_le16(DSPM_WIRE_DATASET_LIST);
	req.cursor = cpu_to_le64(cursor);
	req.max = cpu_to_le32(DSPM_WIRE_LIST_MAX);
	ret = dspm_link_call(link, &req, sizeof(req), DSPM_WIRE_LIST_REPLY,
			     &reply);
	if (ret)
		return ret;
	r = reply;
	count = le32_to_cpu(r->count);
	if (le32_to_cpu(r->hdr.length) < sizeof(*r) ||
	    count > DSPM_WIRE_LIST_MAX ||
	    le32_to_cpu(r->hdr.length) != sizeof(*r) + count * sizeof(r->datasets[0]) ||
	    le32_to_cpu(r->flags) & ~DSPM_WIRE_LIST_MORE)
		goto bad;
	for (i = 0; i < count; i++) {
		u64 id = le64_to_cpu(r->datasets[i].id);

		if (id <= prev || dspm_wire_dataset_check(&r->datasets[i]))
			goto bad;
		prev = id;
	}
	if (le32_to_cpu(r->flags) & DSPM_WIRE_LIST_MORE &&
	    (!count || le64_to_cpu(r->next_cursor) < prev))
		goto bad;
	*out = r;
	return 0;
bad:
	atomic64_inc(&link->malformed);
	kvfree(reply);
	return -EPROTO;
}

/* Like dspm_ns_list(), over the cluster's namespace. */
int dspm_cluster_ns_list(struct dspm_node *node, struct dspm_link *link,
			 u32 capacity, struct dspm_dataset_info **out,
			 u32 *count, u32 *total)
{
	struct dspm_dataset_info *buf = NULL, *grown;
	struct dspm_wire_list_reply *r;
	u32 n = 0, seen = 0, i, room = 0;
	u64 cursor = 0;
	bool more;
	int ret;

	do {
		ret = dspm_cluster_list_page(link, cursor, &r);
		if (ret)
			goto fail;
		for (i = 0; i < le32_to_cpu(r->count); i++, seen++) {
			if (n >= capacity)
				continue;
			if (n == room) {
				room = min(capacity, max(16U, room * 2));
				grown = kvcalloc(room, sizeof(*buf), GFP_KERNEL);
				if (!grown) {
					kvfree(r);
					ret = -ENOMEM;
					goto fail;
				}
				if (n)
					memcpy(grown, buf, n * sizeof(*buf));
				kvfree(buf);
				buf = grown;
			}
			mutex_lock(&node->lock);
			dspm_cluster_fill_info(node, &r->datasets[i], &buf[n++]);
			mutex_unlock(&node->lock);
		}
		more = le32_to_cpu(r->flags) & DSPM_WIRE_LIST_MORE;
		cursor = le64_to_cpu(r->next_cursor);
		kvfree(r);
	} while (more);
	*out = buf;
	*count = n;
	*total = seen;
	return 0;
fail:
	kvfree(buf);
	return ret;
}

long dspm_cluster_placement(struct dspm_node *node, void __user *uarg)
{
	struct dspm_wire_dataset_reply *r = NULL;
	struct dspm_chunk_nodes *chunks = NULL;
	struct dspm_placement p;
	struct dspm_link *link;
	u32 i, j, n = 0;
	int idx, ret;

	ret = dspm_copy_arg_in(&p, sizeof(p), DSPM_PLACEMENT_SIZE_VER0, uarg);
	if (!ret)
		ret = dspm_arg_writable(uarg, &p, sizeof(p));
	if (ret)
		return ret;
	if (p.flags || p.reserved0 || !dspm_is_zero(p.reserved, sizeof(p.reserved)))
		return -EINVAL;
	ret = dspm_name_check(p.name);
	if (ret)
		return ret;

	link = dspm_node_link_get(node, &idx);
	ret = link ? dspm_cluster_ns_lookup(link, p.name, &r) : -ENOTCONN;
	dspm_node_link_put(node, idx);
	if (ret)
		return ret;
	p.chunks = le32_to_cpu(r->dataset.chunks);
	p.chunk_size = le64_to_cpu(r->dataset.chunk_size);
	p.id = le64_to_cpu(r->dataset.id);
	p.replicas = le32_to_cpu(r->dataset.replicas);
	n = min(p.capacity, p.chunks);
	if (n) {
		chunks = kvcalloc(n, sizeof(*chunks), GFP_KERNEL);
		if (!chunks) {
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++)
			for (j = 0; j < DSPM_REPLICAS_MAX; j++)
				chunks[i].node[j] = le32_to_cpu(r->chunks[i].node[j]);
		if (copy_to_user(u64_to_user_ptr(p.entries), chunks,
				 n * sizeof(*chunks))) {
			ret = -EFAULT;
			goto out;
		}
	}
	ret = dspm_copy_arg_out(uarg, &p, sizeof(p));
out:
	kvfree(chunks);
	kvfree(r);
	return ret;
}
