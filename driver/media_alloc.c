// SPDX-License-Identifier: GPL-2.0
/*
 * Data page allocation: a bitmap on the media, one bit a page, changed only
 * through the redo log.  A dataset holds at most DSPM_EXTENTS_MAX extents,
 * found first-fit, so lookups stay a short walk and the table slot a fixed
 * size; a create that would need more fragments than that gets ENOSPC.
 */
#include <linux/bitops.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "internal.h"

static unsigned long *dspm_bitmap(struct dspm_store *st)
{
	return st->base + st->bitmap_offset;
}

/* Length of the run of pages starting at @start that are all @used. */
static u64 dspm_run(struct dspm_store *st, u64 start, bool used)
{
	unsigned long *map = dspm_bitmap(st);
	u64 next = used ? find_next_zero_bit_le(map, st->data_pages, start)
			: find_next_bit_le(map, st->data_pages, start);

	return next - start;
}

/*
 * Log the bitmap words covering @ext with their bits set (@set) or
 * cleared.  @ext is sorted; extents sharing a word go into one entry so
 * a later entry cannot undo an earlier one's bits.
 */
static void dspm_bitmap_update(struct dspm_store *st,
			       const struct dspm_media_extent *ext, u32 nr,
			       bool set, struct dspm_txn *txn)
{
	const unsigned int bits = BITS_PER_LONG;
	u32 i = 0;

	while (i < nr) {
		u64 lo = le64_to_cpu(ext[i].start) / bits;
		u64 hi = (le64_to_cpu(ext[i].start) +
			  le64_to_cpu(ext[i].count) - 1) / bits;
		u32 j = i + 1, k;
		unsigned long *buf;
		u64 p;

		while (j < nr && le64_to_cpu(ext[j].start) / bits <= hi) {
			hi = max(hi, (le64_to_cpu(ext[j].start) +
				      le64_to_cpu(ext[j].count) - 1) / bits);
			j++;
		}
		buf = kvmalloc_array(hi - lo + 1, sizeof(*buf), GFP_KERNEL);
		if (!buf) {
			txn->error = txn->error ?: -ENOMEM;
			return;
		}
		memcpy(buf, dspm_bitmap(st) + lo, (hi - lo + 1) * sizeof(*buf));
		for (k = i; k < j; k++) {
			u64 first = le64_to_cpu(ext[k].start) - lo * bits;

			for (p = 0; p < le64_to_cpu(ext[k].count); p++) {
				if (set)
					__set_bit_le(first + p, buf);
				else
					__clear_bit_le(first + p, buf);
			}
		}
		dspm_txn_add(txn, st->bitmap_offset + lo * sizeof(*buf), buf,
			     (hi - lo + 1) * sizeof(*buf));
		kvfree(buf);
		i = j;
	}
}

/*
 * Find @pages free pages in at most DSPM_EXTENTS_MAX runs, zero them and
 * log their allocation.  They are free until @txn commits, so zeroing them
 * outside the log is safe.
 */
int dspm_alloc_extents(struct dspm_store *st, u64 pages,
		       struct dspm_media_extent *ext, u32 *nr_ext,
		       struct dspm_txn *txn)
{
	u64 pos = 0, want = pages;
	u32 nr = 0, i;

	lockdep_assert_held(&st->log_lock);
	while (want && pos < st->data_pages) {
		u64 len;

		pos += dspm_run(st, pos, true);
		if (pos >= st->data_pages)
			break;
		len = min(dspm_run(st, pos, false), want);
		if (nr == DSPM_EXTENTS_MAX)
			return -ENOSPC;
		ext[nr].start = cpu_to_le64(pos);
		ext[nr].count = cpu_to_le64(len);
		nr++;
		want -= len;
		pos += len;
	}
	if (want)
		return -ENOSPC;

	for (i = 0; i < nr; i++) {
		void *addr = st->base + st->data_offset +
			     le64_to_cpu(ext[i].start) * DSPM_MEDIA_PAGE;
		u64 left = le64_to_cpu(ext[i].count) * DSPM_MEDIA_PAGE;

		/* in 2 MiB steps: a large create must not hog the CPU */
		while (left) {
			size_t len = min_t(u64, left, SZ_2M);

			memset(addr, 0, len);
			arch_wb_cache_pmem(addr, len);
			addr += len;
			left -= len;
			cond_resched();
		}
	}
	pmem_wmb();
	dspm_bitmap_update(st, ext, nr, true, txn);
	*nr_ext = nr;
	return 0;
}

static int dspm_extent_cmp(const void *a, const void *b)
{
	u64 x = le64_to_cpu(((const struct dspm_media_extent *)a)->start);
	u64 y = le64_to_cpu(((const struct dspm_media_extent *)b)->start);

	return x < y ? -1 : x > y;
}

void dspm_free_extents(struct dspm_store *st,
		       const struct dspm_media_extent *ext, u32 nr_ext,
		       struct dspm_txn *txn)
{
	struct dspm_media_extent sorted[DSPM_EXTENTS_MAX];

	memcpy(sorted, ext, nr_ext * sizeof(*ext));
	sort(sorted, nr_ext, sizeof(*sorted), dspm_extent_cmp, NULL);
	dspm_bitmap_update(st, sorted, nr_ext, false, txn);
}

/*
 * Check at attach that the table, the bitmap and the superblock's counters
 * agree exactly: every page held by one dataset and marked used, no other
 * page marked, and the free count right.
 */
int dspm_alloc_verify(struct dspm_store *st)
{
	struct dspm_media_sb *sb = dspm_store_sb(st);
	u64 used = 0, datasets = 0, next_id = le64_to_cpu(sb->next_id);
	unsigned long *map;
	int ret = -EUCLEAN;
	u32 slot, i;

	map = kvzalloc(st->bitmap_bytes, GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	for (slot = 0; slot < st->table_slots; slot++) {
		struct dspm_media_dataset *d = dspm_store_slot(st, slot);
		u32 nr = le32_to_cpu(d->nr_extents);
		u64 pages = 0;

		if (!d->id)
			continue;
		if (le64_to_cpu(d->id) >= next_id || nr > DSPM_EXTENTS_MAX ||
		    dspm_name_check(d->name)) {
			pr_err("dspm: dataset slot %u is corrupt\n", slot);
			goto out;
		}
		for (i = 0; i < nr; i++) {
			u64 start = le64_to_cpu(d->extents[i].start);
			u64 count = le64_to_cpu(d->extents[i].count);
			u64 p;

			if (!count || start >= st->data_pages ||
			    count > st->data_pages - start) {
				pr_err("dspm: dataset %s has a bad extent\n",
				       d->name);
				goto out;
			}
			for (p = start; p < start + count; p++) {
				if (__test_and_set_bit_le(p, map)) {
					pr_err("dspm: page %llu held twice\n",
					       p);
					goto out;
				}
			}
			pages += count;
		}
		if (pages != le64_to_cpu(d->pages) ||
		    pages != DIV_ROUND_UP(le64_to_cpu(d->length),
					  DSPM_MEDIA_PAGE)) {
			pr_err("dspm: dataset %s: page count mismatch\n",
			       d->name);
			goto out;
		}
		used += pages;
		datasets++;
	}
	if (memcmp(map, dspm_bitmap(st), st->bitmap_bytes)) {
		pr_err("dspm: allocation bitmap disagrees with the table\n");
		goto out;
	}
	if (le64_to_cpu(sb->free_pages) != st->data_pages - used ||
	    le64_to_cpu(sb->datasets) != datasets) {
		pr_err("dspm: free %llu / datasets %llu, expected %llu / %llu\n",
		       le64_to_cpu(sb->free_pages), le64_to_cpu(sb->datasets),
		       st->data_pages - used, datasets);
		goto out;
	}
	ret = 0;
out:
	kvfree(map);
	return ret;
}
