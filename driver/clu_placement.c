// SPDX-License-Identifier: GPL-2.0
/*
 * Where a cluster dataset's chunks live, as the dispatcher said in a
 * DATASET_REPLY (clu_namespace.c checks it in full before this sees it):
 * every chunk's home and replicas, and the distinct homes.  A dataset's
 * placement is fixed while it is open on this node.
 */
#include <linux/bsearch.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "clu.h"

static int dspm_chunk_map_id_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

struct dspm_chunk_map *
dspm_chunk_map_new(const struct dspm_wire_dataset_reply *r)
{
	u32 chunks = le32_to_cpu(r->dataset.chunks);
	u32 replicas = le32_to_cpu(r->dataset.replicas), i, k, n = 0;
	struct dspm_chunk_map *p;

	p = kvzalloc(struct_size(p, nodes, (size_t)chunks * replicas),
		     GFP_KERNEL);
	if (!p)
		return NULL;
	p->homes = kvcalloc(chunks, sizeof(u32), GFP_KERNEL);
	if (!p->homes) {
		kvfree(p);
		return NULL;
	}
	p->dataset = le64_to_cpu(r->dataset.id);
	p->chunk_size = le64_to_cpu(r->dataset.chunk_size);
	p->nr_chunks = chunks;
	p->replicas = replicas;
	for (i = 0; i < chunks; i++) {
		for (k = 0; k < replicas; k++)
			p->nodes[i * replicas + k] =
				le32_to_cpu(r->chunks[i].node[k]);
		p->homes[i] = p->nodes[i * replicas];
	}
	sort(p->homes, chunks, sizeof(u32), dspm_chunk_map_id_cmp, NULL);
	for (i = 0; i < chunks; i++)
		if (!n || p->homes[n - 1] != p->homes[i])
			p->homes[n++] = p->homes[i];
	p->nr_homes = n;
	return p;
}

void dspm_chunk_map_free(struct dspm_chunk_map *p)
{
	if (!p)
		return;
	kvfree(p->homes);
	kvfree(p);
}

static u64 dspm_chunk_map_chunk(const struct dspm_chunk_map *p, u64 page)
{
	return div64_u64(page << PAGE_SHIFT, p->chunk_size);
}

/*
 * The nodes holding dataset page @page (home first), *@nr of them.  A page
 * past the last chunk (never one of the dataset's) counts as the last's.
 */
const u32 *dspm_chunk_map_holders(const struct dspm_chunk_map *p, u64 page,
				  u32 *nr)
{
	u64 chunk = min_t(u64, dspm_chunk_map_chunk(p, page), p->nr_chunks - 1);

	*nr = p->replicas;
	return &p->nodes[chunk * p->replicas];
}

/* Does node @id hold a copy of @page?  False for a page past the end. */
bool dspm_chunk_map_holds(const struct dspm_chunk_map *p, u64 page, u32 id)
{
	const u32 *nodes;
	u32 nr, k;

	if (dspm_chunk_map_chunk(p, page) >= p->nr_chunks)
		return false;
	nodes = dspm_chunk_map_holders(p, page, &nr);
	for (k = 0; k < nr; k++)
		if (nodes[k] == id)
			return true;
	return false;
}

/* Node @id's index among the distinct homes, or -1 when it is none. */
int dspm_chunk_map_home_index(const struct dspm_chunk_map *p, u32 id)
{
	const u32 *at = bsearch(&id, p->homes, p->nr_homes, sizeof(u32),
				dspm_chunk_map_id_cmp);

	return at ? at - p->homes : -1;
}
