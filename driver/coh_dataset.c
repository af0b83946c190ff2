// SPDX-License-Identifier: GPL-2.0
/*
 * A cluster dataset's coherence state on this node (struct dspm_coh):
 * where its chunks live, which cached pages are valid, and dropping a copy.
 */
#include <linux/bitmap.h>
#include <linux/bsearch.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "clu.h"
#include "coh.h"

static int dspm_coh_id_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The distinct homes of the chunks, for the UNSHAREs at close. */
static int dspm_coh_homes(struct dspm_coh *coh)
{
	u32 i, n = 0;

	coh->homes = kvcalloc(coh->nr_chunks, sizeof(u32), GFP_KERNEL);
	if (!coh->homes)
		return -ENOMEM;
	for (i = 0; i < coh->nr_chunks; i++)
		coh->homes[i] = coh->nodes[i * coh->replicas];
	sort(coh->homes, coh->nr_chunks, sizeof(u32), dspm_coh_id_cmp, NULL);
	for (i = 0; i < coh->nr_chunks; i++)
		if (!n || coh->homes[n - 1] != coh->homes[i])
			coh->homes[n++] = coh->homes[i];
	coh->nr_homes = n;
	coh->fetched = bitmap_zalloc(n, GFP_KERNEL);
	return coh->fetched ? 0 : -ENOMEM;
}

struct dspm_coh *dspm_coh_new(const struct dspm_wire_dataset_reply *r,
			      u64 pages, u32 self)
{
	u32 chunks = le32_to_cpu(r->dataset.chunks);
	u32 replicas = le32_to_cpu(r->dataset.replicas), i, k;
	struct dspm_coh *coh;

	coh = kzalloc(sizeof(*coh), GFP_KERNEL);
	if (!coh)
		return NULL;
	coh->nodes = kvcalloc((size_t)chunks * replicas, sizeof(u32),
			      GFP_KERNEL);
	coh->valid = bitmap_zalloc(pages, GFP_KERNEL);
	if (!coh->nodes || !coh->valid) {
		dspm_coh_free(coh);
		return NULL;
	}
	coh->cluster_id = le64_to_cpu(r->dataset.id);
	coh->chunk_size = le64_to_cpu(r->dataset.chunk_size);
	coh->nr_chunks = chunks;
	coh->replicas = replicas;
	coh->self = self;
	for (i = 0; i < chunks; i++)
		for (k = 0; k < replicas; k++)
			coh->nodes[i * replicas + k] =
				le32_to_cpu(r->chunks[i].node[k]);
	xa_init(&coh->inval);
	mutex_init(&coh->map_lock);
	xa_init(&coh->maps);
	if (dspm_coh_homes(coh)) {
		dspm_coh_free(coh);
		return NULL;
	}
	return coh;
}

void dspm_coh_free(struct dspm_coh *coh)
{
	struct dspm_coh_map *map;
	unsigned long home;

	if (!coh)
		return;
	xa_for_each(&coh->maps, home, map)
		kfree(map);
	xa_destroy(&coh->maps);
	xa_destroy(&coh->inval);
	bitmap_free(coh->fetched);
	kvfree(coh->homes);
	bitmap_free(coh->valid);
	kvfree(coh->nodes);
	kfree(coh);
}

const u32 *dspm_coh_chunk(const struct dspm_coh *coh, pgoff_t pgoff)
{
	u64 chunk = div64_u64((u64)pgoff << PAGE_SHIFT, coh->chunk_size);

	return &coh->nodes[min_t(u64, chunk, coh->nr_chunks - 1) *
			   coh->replicas];
}

bool dspm_coh_holds(const struct dspm_coh *coh, pgoff_t pgoff, u32 self)
{
	const u32 *nodes = dspm_coh_chunk(coh, pgoff);
	u32 k;

	for (k = 0; k < coh->replicas; k++)
		if (nodes[k] == self)
			return true;
	return false;
}

/* From now on @home may list this node as a sharer: UNSHARE goes there. */
void dspm_coh_mark_home(struct dspm_coh *coh, u32 home)
{
	u32 *at = bsearch(&home, coh->homes, coh->nr_homes, sizeof(u32),
			  dspm_coh_id_cmp);

	if (at)
		set_bit(at - coh->homes, coh->fetched);
}

/* Drop the cached copy of @pgoff and every mapping of it. */
void dspm_coh_forget(struct dspm_dataset *ds, pgoff_t pgoff)
{
	lockdep_assert_held_write(&ds->apply_sem);
	clear_bit(pgoff, ds->coh->valid);
	dspm_zap_pages(ds, pgoff, 1);
}

/*
 * Is this node's copy of @pgoff still current?  Asked under apply_sem
 * before a fault maps or copies the page: an INVALIDATE may have dropped
 * the copy since dspm_coh_ready() made it current, and it zaps mappings
 * under apply_sem taken for writing - a page found current here and mapped
 * before apply_sem is released is zapped by the next one.
 */
bool dspm_coh_current(struct dspm_dataset *ds, pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;

	lockdep_assert_held(&ds->apply_sem);
	return !coh || dspm_coh_holds(coh, pgoff, coh->self) ||
	       test_bit(pgoff, coh->valid);
}

/*
 * Forget this node's cached copy of @pgoff, if it keeps one: the next
 * fault fetches it from its home again.  A page held here stays.
 */
void dspm_coh_drop(struct dspm_dataset *ds, pgoff_t pgoff)
{
	struct dspm_coh *coh = ds->coh;

	if (!coh || !test_bit(pgoff, coh->valid))
		return;
	down_write(&ds->apply_sem);
	dspm_coh_forget(ds, pgoff);
	up_write(&ds->apply_sem);
}

/*
 * The nodes holding @pgoff (home first) and how many; the coordinator's
 * participants.  The placement is fixed while the dataset is open.
 */
const u32 *dspm_coh_holders(const struct dspm_coh *coh, pgoff_t pgoff,
			    u32 *nr)
{
	*nr = coh->replicas;
	return dspm_coh_chunk(coh, pgoff);
}

u64 dspm_coh_cluster_id(const struct dspm_coh *coh)
{
	return coh->cluster_id;
}

/* Pages of one chunk: a chunk has one home for all of them. */
u64 dspm_coh_chunk_pages(const struct dspm_coh *coh)
{
	return coh->chunk_size >> PAGE_SHIFT;
}
