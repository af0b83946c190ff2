// SPDX-License-Identifier: GPL-2.0
/*
 * The redo log.  One transaction at a time (store->log_lock): its entries
 * (media offset, bytes) are written to the log area, then the header, then
 * - after a fence - the header's state word, which seals the record.  A
 * sealed record is applied to its targets and retired by clearing the
 * state.  A crash before the seal loses the transaction whole; a crash
 * after it is finished at the next attach by replaying the record, which
 * is idempotent because entries carry bytes, not operations.
 */
#include <linux/crc32c.h>
#include <linux/libnvdimm.h>
#include <linux/string.h>

#include "internal.h"

static struct dspm_media_log_header *dspm_log_header(struct dspm_store *st)
{
	return st->base + st->log_offset;
}

static void *dspm_log_payload(struct dspm_store *st)
{
	return st->base + st->log_offset + DSPM_LOG_HEADER_BYTES;
}

/* The lanes take the second half of the log area (media_layout.h). */
u64 dspm_lane_bytes(struct dspm_store *st)
{
	return round_down(st->log_bytes / 2 / DSPM_LANES, DSPM_MEDIA_PAGE);
}

u64 dspm_txn_capacity(struct dspm_store *st)
{
	return st->log_bytes - DSPM_LANES * dspm_lane_bytes(st) -
	       DSPM_LOG_HEADER_BYTES;
}

/*
 * The payload a commit may carry, as GET_INFO promises it: whole changed
 * pages, each one log entry, plus the entry for the dataset's version.
 * Commits of scattered small changes spend 16-24 bytes of log per run.
 */
u64 dspm_commit_capacity(struct dspm_store *st)
{
	const u64 version_entry = sizeof(struct dspm_media_log_entry) + 8;
	const u64 page_entry = sizeof(struct dspm_media_log_entry) + PAGE_SIZE;

	return (dspm_txn_capacity(st) - version_entry) / page_entry * PAGE_SIZE;
}

void dspm_txn_begin(struct dspm_txn *txn, struct dspm_store *st)
{
	lockdep_assert_held(&st->log_lock);
	txn->st = st;
	txn->payload = dspm_log_payload(st);
	txn->capacity = dspm_txn_capacity(st);
	txn->used = 0;
	txn->data_bytes = 0;
	txn->nr_entries = 0;
	txn->csum = ~0U;
	txn->error = 0;
}

/*
 * Append one entry.  The first error sticks and makes dspm_txn_commit()
 * fail, so callers add everything and check once.
 */
void dspm_txn_add(struct dspm_txn *txn, u64 target, const void *src, u32 len)
{
	struct dspm_media_log_entry e = {
		.target = cpu_to_le64(target),
		.length = cpu_to_le32(len),
	};
	u64 need = sizeof(e) + round_up((u64)len, 8);
	void *p;

	if (txn->error)
		return;
	if (need > txn->capacity - txn->used) {
		txn->error = -EFBIG;
		return;
	}
	p = txn->payload + txn->used;
	dspm_persist(p, &e, sizeof(e));
	dspm_persist(p + sizeof(e), src, len);
	/* checksum what reached the log, not the source, which may move */
	txn->csum = crc32c(txn->csum, p, sizeof(e) + len);
	txn->used += need;
	txn->data_bytes += len;
	txn->nr_entries++;
}

/* Targets may be the superblock's counters, the table, bitmap or data. */
bool dspm_log_target_ok(struct dspm_store *st, u64 target, u32 len)
{
	u64 end = target + len;
	u64 counters = offsetof(struct dspm_media_sb, free_pages);
	u64 counters_end = offsetof(struct dspm_media_sb, reserved);
	u64 data_end = st->data_offset + st->data_pages * DSPM_MEDIA_PAGE;

	if (end < target)
		return false;
	if (target >= counters && end <= counters_end)
		return true;
	if (target >= st->table_offset && end <= st->log_offset)
		return true;
	return target >= st->data_offset && end <= data_end;
}

/*
 * Walk a sealed record at @p of @capacity bytes: check it (@apply false)
 * or apply it, optionally with the crash tests' stall half-way (@stall).
 */
int dspm_log_walk(struct dspm_store *st, void *p, u64 capacity,
		  u64 payload_bytes, u32 nr_entries, u32 csum, bool apply,
		  bool stall)
{
	u64 off = 0;
	u32 sum = ~0U;
	u32 i;

	if (payload_bytes > capacity)
		return -EUCLEAN;
	for (i = 0; i < nr_entries; i++) {
		struct dspm_media_log_entry *e = p + off;
		u64 target;
		u32 len;

		if (payload_bytes - off < sizeof(*e))
			return -EUCLEAN;
		target = le64_to_cpu(e->target);
		len = le32_to_cpu(e->length);
		if (round_up((u64)len, 8) > payload_bytes - off - sizeof(*e) ||
		    !dspm_log_target_ok(st, target, len))
			return -EUCLEAN;
		if (apply) {
			dspm_persist(st->base + target, e + 1, len);
			if (stall && i == nr_entries / 2)
				dspm_debug_apply_stall();
		} else {
			sum = crc32c(sum, e, sizeof(*e) + len);
		}
		off += sizeof(*e) + round_up((u64)len, 8);
	}
	if (apply) {
		pmem_wmb();
		return 0;
	}
	return (off == payload_bytes && sum == csum) ? 0 : -EUCLEAN;
}

static void dspm_log_retire(struct dspm_store *st)
{
	__le64 zero = 0;

	dspm_persist(&dspm_log_header(st)->state, &zero, sizeof(zero));
	pmem_wmb();
}

/*
 * Seal, apply and retire.  Returns once the transaction is durable and
 * applied; on error nothing was sealed and the media is unchanged.
 */
int dspm_txn_commit(struct dspm_txn *txn)
{
	struct dspm_store *st = txn->st;
	struct dspm_media_log_header h = {};
	__le64 state;
	u64 seq;

	lockdep_assert_held(&st->log_lock);
	if (txn->error)
		return txn->error;
	if (!txn->nr_entries)
		return 0;

	seq = ++st->log_seq;
	h.magic = cpu_to_le64(DSPM_LOG_MAGIC);
	h.seq = cpu_to_le64(seq);
	h.payload_bytes = cpu_to_le64(txn->used);
	h.nr_entries = cpu_to_le32(txn->nr_entries);
	h.csum = cpu_to_le32(txn->csum);
	dspm_persist(dspm_log_header(st), &h, sizeof(h));
	pmem_wmb();

	state = cpu_to_le64(DSPM_LOG_SEALED(seq));
	dspm_persist(&dspm_log_header(st)->state, &state, sizeof(state));
	pmem_wmb();

	dspm_log_walk(st, txn->payload, txn->capacity, txn->used,
		      txn->nr_entries, txn->csum, true, true);
	dspm_log_retire(st);
	return 0;
}

/* At attach: finish the transaction a crash interrupted, if any. */
int dspm_log_recover(struct dspm_store *st)
{
	struct dspm_media_log_header *h = dspm_log_header(st);
	u64 seq = le64_to_cpu(h->seq);
	u64 payload = le64_to_cpu(h->payload_bytes);
	u32 nr = le32_to_cpu(h->nr_entries);
	u32 csum = le32_to_cpu(h->csum);
	int ret;

	st->log_seq = seq;
	st->recovered = 0;
	if (le64_to_cpu(h->state) != DSPM_LOG_SEALED(seq))
		return 0;
	if (le64_to_cpu(h->magic) != DSPM_LOG_MAGIC) {
		pr_err("dspm: sealed log record with a bad magic\n");
		return -EUCLEAN;
	}
	ret = dspm_log_walk(st, dspm_log_payload(st), dspm_txn_capacity(st),
			    payload, nr, csum, false, false);
	if (ret) {
		pr_err("dspm: sealed log record %llu fails its checks\n", seq);
		return ret;
	}
	dspm_log_walk(st, dspm_log_payload(st), dspm_txn_capacity(st),
		      payload, nr, csum, true, false);
	dspm_log_retire(st);
	st->recovered = 1;
	pr_info("dspm: replayed log record %llu (%u entries)\n", seq, nr);
	return 0;
}
