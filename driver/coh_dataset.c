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

struct dspm_coh *dspm_coh_new(const struct dspm_wire_dataset_reply *r,
			      u64 pages, u32 self)
{
	struct dspm_coh *coh;

	coh = kzalloc(sizeof(*coh), GFP_KERNEL);
	if (!coh)
		return NULL;
	coh->placement = dspm_chunk_map_new(r);
	coh->valid = bitmap_zalloc(pages, GFP_KERNEL);
	if (coh->placement)
		coh->fetched = bitmap_zalloc(coh->placement->nr_homes,
					     GFP_KERNEL);
	if (!coh->placement || !coh->valid || !coh->fetched) {
		dspm_coh_free(coh);
		return NULL;
	}
	coh->cluster_id = coh->placement->dataset;
	coh->self = self;
	xa_init(&coh->inval);
	mutex_init(&coh->map_lock);
	xa_init(&coh->maps);
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
	bitmap_free(coh->valid);
	dspm_chunk_map_free(coh->placement);
	kfree(coh);
}

bool dspm_coh_holds(const struct dspm_coh *coh, pgoff_t pgoff, u32 self)
{
	return dspm_chunk_map_holds(coh->placement, pgoff, self);
}

/* From now on @home may list this node as a sharer: UNSHARE goes there. */
void dspm_coh_mark_home(struct dspm_coh *coh, u32 home)
{
	int i = dspm_chunk_map_home_index(coh->placement, home);

	if (i >= 0)
		set_bit(i, coh->fetched);
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
	return dspm_chunk_map_holders(coh->placement, pgoff, nr);
}

u64 dspm_coh_cluster_id(const struct dspm_coh *coh)
{
	return coh->cluster_id;
}

/* Pages of one chunk: a chunk has one home for all of them. */
u64 dspm_coh_chunk_pages(const struct dspm_coh *coh)
{
	return coh->placement->chunk_size >> PAGE_SHIFT;
}
