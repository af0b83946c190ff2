/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dspm on-media layout, version 1.  All integers are little-endian; all
 * offsets are bytes from the start of the device and multiples of 4 KiB.
 *
 *   [superblock 4K][dataset table][allocation bitmap][redo log][data pages]
 *
 * Nothing but format writes the media directly: every later change of the
 * table, the bitmap, the superblock's counters or a dataset's bytes is a
 * transaction in the redo log (media_log.c), applied only after its record is
 * sealed, and replayed at attach when a crash interrupted the apply.
 * Documentation/layout.md describes the format for people.
 */
#ifndef _DSPM_MEDIA_LAYOUT_H
#define _DSPM_MEDIA_LAYOUT_H

#include <linux/types.h>
#include <linux/build_bug.h>
#include <uapi/linux/dspm.h>

#define DSPM_LAYOUT_VERSION	1
#define DSPM_MEDIA_PAGE		4096U

/* "dspm-sb1" and "dspm-lg1" read as little-endian 64-bit words */
#define DSPM_SB_MAGIC		0x3162732d6d707364ULL
#define DSPM_LOG_MAGIC		0x31676c2d6d707364ULL
/* the log record state that makes a record count: magic ^ its sequence */
#define DSPM_LOG_SEALED(seq)	(DSPM_LOG_MAGIC ^ (seq))

#define DSPM_EXTENTS_MAX	16
#define DSPM_SLOT_SIZE		512U

struct dspm_media_sb {
	/* written once by format and covered by csum */
	__le64 magic;
	__le32 layout_version;
	__le32 page_size;
	__u8   uuid[16];
	__le64 media_bytes;	/* bytes of the device the layout uses */
	__le64 table_offset;
	__le64 table_slots;
	__le64 bitmap_offset;
	__le64 bitmap_bytes;
	__le64 log_offset;
	__le64 log_bytes;
	__le64 data_offset;
	__le64 data_pages;
	__le32 csum;		/* crc32c of everything above */
	__le32 pad;
	/* changed only through the redo log */
	__le64 free_pages;
	__le64 datasets;
	__le64 next_id;
	__le64 node_id;		/* cluster node id, 0 before the first join */
	__le64 reserved[7];
};

struct dspm_media_extent {
	__le64 start;		/* first data page */
	__le64 count;		/* pages */
};

/* A dataset table slot; id 0 marks a free slot. */
struct dspm_media_dataset {
	__le64 id;
	char   name[DSPM_NAME_MAX];
	__le64 length;
	__le64 pages;
	__le32 uid;
	__le32 gid;
	__le32 mode;
	__le32 model;
	__le32 replicas;
	__le32 nr_extents;
	__le64 version;
	__le64 ctime_ns;
	struct dspm_media_extent extents[DSPM_EXTENTS_MAX];
	__le64 cluster_id;	/* its id in the cluster; 0: local only */
	__le64 reserved[15];
};

/* Log area: one header, then entries, each followed by its bytes. */
struct dspm_media_log_header {
	__le64 magic;
	__le64 seq;
	__le64 payload_bytes;	/* bytes of entries + data after the header */
	__le32 nr_entries;
	__le32 csum;		/* crc32c of the payload */
	__le64 state;		/* DSPM_LOG_SEALED(seq) when it counts */
	__le64 reserved[3];
};

struct dspm_media_log_entry {
	__le64 target;		/* media offset the bytes go to */
	__le32 length;
	__le32 pad;
};

#define DSPM_LOG_HEADER_BYTES	64U

/*
 * The second half of the redo log area holds DSPM_LANES lanes of equal
 * size for the two-phase commit of cluster datasets (txn.c): a
 * participant's prepared entries, or a coordinator's decision.  A lane
 * counts when its state is DSPM_LANE_STATE(txn, kind), written and flushed
 * after everything else; any other value is a free lane.
 */
#define DSPM_LANES		16U
#define DSPM_LANE_MAGIC		0x316e6c2d6d707364ULL	/* "dspm-ln1" */
#define DSPM_LANE_KIND_PREPARED	1U	/* entries logged, outcome unknown */
#define DSPM_LANE_KIND_COMMITTED	2U	/* decided commit: apply, set version */
#define DSPM_LANE_KIND_DECISION	3U	/* coordinator: participants follow */
#define DSPM_LANE_STATE(txn, kind) \
	(DSPM_LANE_MAGIC ^ (txn) ^ ((u64)(kind) << 56))

struct dspm_media_lane_header {
	__le64 state;
	__le64 txn;
	__le64 payload_bytes;	/* entries and bytes, or __le32 node ids */
	__le32 nr_entries;
	__le32 csum;		/* crc32c of the payload */
	__le32 coordinator;	/* node id */
	__le32 slot;		/* the dataset's table slot (participant) */
	__le64 cluster_id;
	__le64 version;		/* COMMITTED: the dataset's version after it */
	__le64 reserved;
};

static inline void dspm_layout_build_checks(void)
{
	BUILD_BUG_ON(sizeof(struct dspm_media_sb) > DSPM_MEDIA_PAGE);
	BUILD_BUG_ON(sizeof(struct dspm_media_dataset) != DSPM_SLOT_SIZE);
	BUILD_BUG_ON(sizeof(struct dspm_media_log_header) != DSPM_LOG_HEADER_BYTES);
	BUILD_BUG_ON(sizeof(struct dspm_media_log_entry) != 16);
	BUILD_BUG_ON(sizeof(struct dspm_media_lane_header) != DSPM_LOG_HEADER_BYTES);
}

#endif /* _DSPM_MEDIA_LAYOUT_H */
