// SPDX-License-Identifier: GPL-2.0
/*
 * Backing stores: a DAX-capable pmem block device, or volatile DRAM for
 * development.  Formatting a new layout, and checking an old one before
 * the redo log is replayed over it.
 */
#include <linux/crc32c.h>
#include <linux/dax.h>
#include <linux/libnvdimm.h>
#include <linux/minmax.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "internal.h"
#include "txn_lane.h"

#define DSPM_MEDIA_BYTES_MIN	(8ULL << 20)

/* Copy to media and write it back from the CPU caches. */
void dspm_persist(void *dst, const void *src, size_t len)
{
	memcpy_flushcache(dst, src, len);
}

static void dspm_persist_zero(void *dst, size_t len)
{
	memset(dst, 0, len);
	arch_wb_cache_pmem(dst, len);
}

struct dspm_media_sb *dspm_store_sb(struct dspm_store *st)
{
	return st->base;
}

struct dspm_media_dataset *dspm_store_slot(struct dspm_store *st, u32 slot)
{
	return st->base + st->table_offset + (u64)slot * DSPM_SLOT_SIZE;
}

unsigned long dspm_store_pfn(struct dspm_store *st, u64 offset)
{
	if (st->backend == DSPM_BACKEND_DRAM)
		return vmalloc_to_pfn(st->base + offset);
	return st->base_pfn + (offset >> PAGE_SHIFT);
}

static u32 dspm_sb_csum(const struct dspm_media_sb *sb)
{
	return crc32c(~0U, sb, offsetof(struct dspm_media_sb, csum));
}

static void dspm_store_geometry_from_sb(struct dspm_store *st)
{
	const struct dspm_media_sb *sb = dspm_store_sb(st);

	st->table_offset = le64_to_cpu(sb->table_offset);
	st->table_slots = le64_to_cpu(sb->table_slots);
	st->bitmap_offset = le64_to_cpu(sb->bitmap_offset);
	st->bitmap_bytes = le64_to_cpu(sb->bitmap_bytes);
	st->log_offset = le64_to_cpu(sb->log_offset);
	st->log_bytes = le64_to_cpu(sb->log_bytes);
	st->data_offset = le64_to_cpu(sb->data_offset);
	st->data_pages = le64_to_cpu(sb->data_pages);
	memcpy(st->uuid, sb->uuid, sizeof(st->uuid));
}

/*
 * Write an empty layout.  The superblock goes last, so a crash part-way
 * leaves a device that attach refuses rather than a half-formatted one it
 * trusts.
 */
static void dspm_store_format(struct dspm_store *st)
{
	u64 bytes = round_down(st->media_bytes, DSPM_MEDIA_PAGE);
	u64 total = bytes / DSPM_MEDIA_PAGE;
	u64 slots = clamp_t(u64, bytes >> 20, 64, 16384);
	u64 table_pages = DIV_ROUND_UP(slots * DSPM_SLOT_SIZE, DSPM_MEDIA_PAGE);
	u64 log_bytes = clamp_t(u64, round_down(bytes / 16, DSPM_MEDIA_PAGE),
				256 << 10, 256ULL << 20);
	u64 rest = total - 1 - table_pages - log_bytes / DSPM_MEDIA_PAGE;
	/* one bitmap page covers 32768 data pages */
	u64 bitmap_pages = DIV_ROUND_UP(rest, DSPM_MEDIA_PAGE * 8 + 1);
	struct dspm_media_sb sb = {};

	sb.magic = cpu_to_le64(DSPM_SB_MAGIC);
	sb.layout_version = cpu_to_le32(DSPM_LAYOUT_VERSION);
	sb.page_size = cpu_to_le32(DSPM_MEDIA_PAGE);
	generate_random_uuid(sb.uuid);
	sb.media_bytes = cpu_to_le64(bytes);
	sb.table_offset = cpu_to_le64(DSPM_MEDIA_PAGE);
	sb.table_slots = cpu_to_le64(slots);
	sb.bitmap_offset = cpu_to_le64((1 + table_pages) * DSPM_MEDIA_PAGE);
	sb.bitmap_bytes = cpu_to_le64(bitmap_pages * DSPM_MEDIA_PAGE);
	sb.log_offset = cpu_to_le64((1 + table_pages + bitmap_pages) *
				    DSPM_MEDIA_PAGE);
	sb.log_bytes = cpu_to_le64(log_bytes);
	sb.data_offset = cpu_to_le64(le64_to_cpu(sb.log_offset) + log_bytes);
	sb.data_pages = cpu_to_le64(rest - bitmap_pages);
	sb.csum = cpu_to_le32(dspm_sb_csum(&sb));
	sb.free_pages = sb.data_pages;
	sb.datasets = 0;
	sb.next_id = cpu_to_le64(1);

	dspm_persist_zero(st->base, DSPM_MEDIA_PAGE);
	pmem_wmb();
	dspm_persist_zero(st->base + DSPM_MEDIA_PAGE,
			  (table_pages + bitmap_pages) * DSPM_MEDIA_PAGE);
	dspm_persist_zero(st->base + le64_to_cpu(sb.log_offset),
			  DSPM_LOG_HEADER_BYTES);
	pmem_wmb();
	dspm_persist(st->base, &sb, sizeof(sb));
	pmem_wmb();
}

/* Every region must lie inside the media, in order, page aligned. */
static int dspm_store_check_sb(struct dspm_store *st)
{
	const struct dspm_media_sb *sb = dspm_store_sb(st);
	u64 table_end, bitmap_end, log_end, data_end;

	if (le64_to_cpu(sb->magic) != DSPM_SB_MAGIC)
		return -ENODATA;
	if (le32_to_cpu(sb->layout_version) != DSPM_LAYOUT_VERSION) {
		pr_err("dspm: layout version %u is not supported\n",
		       le32_to_cpu(sb->layout_version));
		return -EOPNOTSUPP;
	}
	if (le32_to_cpu(sb->csum) != dspm_sb_csum(sb)) {
		pr_err("dspm: superblock checksum mismatch\n");
		return -EUCLEAN;
	}
	dspm_store_geometry_from_sb(st);

	if (le32_to_cpu(sb->page_size) != DSPM_MEDIA_PAGE ||
	    le64_to_cpu(sb->media_bytes) > st->media_bytes ||
	    st->table_offset != DSPM_MEDIA_PAGE ||
	    st->table_slots == 0 || st->table_slots > U32_MAX ||
	    st->data_pages == 0 ||
	    !IS_ALIGNED(st->bitmap_offset | st->bitmap_bytes | st->log_offset |
			st->log_bytes | st->data_offset, DSPM_MEDIA_PAGE))
		goto bad;
	table_end = st->table_offset + st->table_slots * DSPM_SLOT_SIZE;
	bitmap_end = st->bitmap_offset + st->bitmap_bytes;
	log_end = st->log_offset + st->log_bytes;
	data_end = st->data_offset + st->data_pages * DSPM_MEDIA_PAGE;
	if (st->bitmap_offset < table_end || st->log_offset < bitmap_end ||
	    st->data_offset < log_end || data_end > st->media_bytes ||
	    data_end < st->data_offset ||
	    st->log_bytes <= DSPM_LOG_HEADER_BYTES ||
	    st->bitmap_bytes * 8 < st->data_pages)
		goto bad;
	return 0;
bad:
	pr_err("dspm: superblock geometry is inconsistent\n");
	return -EUCLEAN;
}

static struct dspm_store *dspm_store_alloc(enum dspm_backend backend)
{
	struct dspm_store *st = kzalloc(sizeof(*st), GFP_KERNEL);

	if (!st)
		return NULL;
	st->backend = backend;
	mutex_init(&st->log_lock);
	atomic64_set(&st->commits, 0);
	atomic64_set(&st->aborts, 0);
	return st;
}

/*
 * Sequence words for peers that read committed pages with RDMA READ
 * (coh_fetch.c): the high half counts the slot's incarnations, the low
 * half is odd while committed bytes of the slot change.  They live in
 * DRAM (a reader after a restart of this node holds no key any more) in
 * physically contiguous pages that a transport can expose.  Without them
 * (DRAM stores, no memory) every read goes through PAGE_READ.
 */
static void dspm_store_seq_alloc(struct dspm_store *st)
{
	size_t bytes = PAGE_ALIGN(st->table_slots * sizeof(*st->seq));

	if (st->backend != DSPM_BACKEND_PMEM)
		return;
	st->seq = alloc_pages_exact(bytes, GFP_KERNEL | __GFP_ZERO |
				    __GFP_NOWARN);
	if (st->seq)
		st->seq_bytes = bytes;
	else
		pr_info("dspm: no memory for one-sided reads: peers read pages by RPC\n");
}

static void dspm_store_seq_add(struct dspm_store *st, u32 slot, u64 n)
{
	lockdep_assert_held(&st->log_lock);
	if (!st->seq || slot >= st->table_slots)
		return;
	WRITE_ONCE(st->seq[slot],
		   cpu_to_le64(le64_to_cpu(READ_ONCE(st->seq[slot])) + n));
}

void dspm_store_seq_begin(struct dspm_store *st, u32 slot)
{
	dspm_store_seq_add(st, slot, 1);
	/* a full store fence: the bytes go with non-temporal stores */
	wmb();
}

void dspm_store_seq_end(struct dspm_store *st, u32 slot)
{
	/* the bytes (and the version) before the even word */
	wmb();
	dspm_store_seq_add(st, slot, 1);
}

void dspm_store_seq_retire(struct dspm_store *st, u32 slot)
{
	/* ordered like an apply's end: after what the slot held */
	wmb();
	dspm_store_seq_add(st, slot, 1ULL << 32);
}

u64 dspm_store_seq_read(struct dspm_store *st, u32 slot)
{
	if (!st->seq || slot >= st->table_slots)
		return 0;
	return le64_to_cpu(READ_ONCE(st->seq[slot]));
}

/* Load (or format) the layout, replay the log, verify the accounting. */
static int dspm_store_open_layout(struct dspm_store *st, bool format)
{
	int ret;

	if (format)
		dspm_store_format(st);
	ret = dspm_store_check_sb(st);
	if (ret)
		return ret;
	dspm_store_seq_alloc(st);
	if (format)
		dspm_lanes_format(st);
	ret = dspm_log_recover(st);
	if (!ret)
		ret = dspm_lanes_init(st);
	if (!ret)
		ret = dspm_alloc_verify(st);
	return ret;
}

int dspm_store_attach_dram(u64 bytes, struct dspm_store **out)
{
	struct dspm_store *st;
	int ret;

	st = dspm_store_alloc(DSPM_BACKEND_DRAM);
	if (!st)
		return -ENOMEM;
	st->media_bytes = round_down(bytes, DSPM_MEDIA_PAGE);
	/* the size is the caller's wish: failing it is ENOMEM, not a splat */
	st->base = __vmalloc(st->media_bytes,
			     GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!st->base) {
		kfree(st);
		return -ENOMEM;
	}
	ret = dspm_store_open_layout(st, true);
	if (ret) {
		dspm_store_release(st);
		return ret;
	}
	*out = st;
	return 0;
}

static int dspm_store_map_dax(struct dspm_store *st)
{
	u64 start_off = 0;
	long nr_pages, avail;
	void *kaddr;
	pfn_t pfn;
	int id;

	st->dax = fs_dax_get_by_bdev(st->bdev, &start_off, st, NULL);
	if (!st->dax)
		return -EOPNOTSUPP;
	st->media_bytes = round_down(bdev_nr_bytes(st->bdev), DSPM_MEDIA_PAGE);
	if (st->media_bytes < DSPM_MEDIA_BYTES_MIN)
		return -EINVAL;
	nr_pages = st->media_bytes >> PAGE_SHIFT;

	/* pmem maps the whole namespace linearly: one call covers it */
	id = dax_read_lock();
	avail = dax_direct_access(st->dax, PHYS_PFN(start_off), nr_pages,
				  DAX_ACCESS, &kaddr, &pfn);
	dax_read_unlock(id);
	if (avail < 0)
		return avail;
	if (avail < nr_pages) {
		pr_err("dspm: device maps only %ld of %ld pages linearly\n",
		       avail, nr_pages);
		return -EOPNOTSUPP;
	}
	st->base = kaddr;
	st->base_pfn = pfn_t_to_pfn(pfn);
	return 0;
}

int dspm_store_attach_pmem(const char *path, bool format,
			   struct dspm_store **out)
{
	struct dspm_store *st;
	int ret;

	st = dspm_store_alloc(DSPM_BACKEND_PMEM);
	if (!st)
		return -ENOMEM;
	ret = dspm_bdev_open(path, st, &st->bdev_file, &st->bdev);
	if (ret) {
		kfree(st);
		return ret;
	}
	ret = dspm_store_map_dax(st);
	if (!ret)
		ret = dspm_store_open_layout(st, format);
	if (ret) {
		dspm_store_release(st);
		return ret;
	}
	*out = st;
	return 0;
}

void dspm_store_release(struct dspm_store *st)
{
	dspm_lanes_free(st);
	if (st->seq)
		free_pages_exact(st->seq, st->seq_bytes);
	if (st->backend == DSPM_BACKEND_DRAM) {
		vfree(st->base);
	} else {
		if (st->dax)
			fs_put_dax(st->dax, st);
		dspm_bdev_close(st->bdev_file, st->bdev);
	}
	kfree(st);
}
