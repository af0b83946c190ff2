// SPDX-License-Identifier: MIT
// Struct layout, builders, decoding and the LIST protocol.
#include "dspm/abi.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace dabi = dspm::abi;

namespace {

using dspm::test::all_zero;
using dspm::test::expect_errno;
using dspm::test::zero_bytes;

}  // namespace

TEST(Abi, Ver0SizesMatchStructs) {
  EXPECT_EQ(offsetof(dspm_info, faults_local), std::size_t{DSPM_INFO_SIZE_VER0});
  EXPECT_EQ(sizeof(dspm_info), DSPM_INFO_SIZE_VER1);
  EXPECT_EQ(sizeof(dspm_attach), DSPM_ATTACH_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_detach), DSPM_DETACH_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_create), DSPM_CREATE_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_open), DSPM_OPEN_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_delete), DSPM_DELETE_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_dataset_info), DSPM_DATASET_INFO_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_list), DSPM_LIST_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_commit), DSPM_COMMIT_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_abort), DSPM_ABORT_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_begin), DSPM_BEGIN_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_stat), DSPM_STAT_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_lock), DSPM_LOCK_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_barrier), DSPM_BARRIER_SIZE_VER0);
}

TEST(Abi, SizeAndFlagsComeFirstEverywhere) {
  EXPECT_EQ(offsetof(dspm_info, size), 0U);
  EXPECT_EQ(offsetof(dspm_info, flags), 4U);
  EXPECT_EQ(offsetof(dspm_create, name), 8U);
  EXPECT_EQ(offsetof(dspm_create, length), 72U);
  EXPECT_EQ(offsetof(dspm_list, entries), 8U);
  EXPECT_EQ(offsetof(dspm_commit, ranges), 8U);
  EXPECT_EQ(offsetof(dspm_begin, ranges), 8U);
  EXPECT_EQ(offsetof(dspm_begin, nr_ranges), 16U);
  EXPECT_EQ(offsetof(dspm_stat, dirty_pages), 136U);
  // dspm_stat extends dspm_dataset_info's layout up to ctime_ns.
  EXPECT_EQ(offsetof(dspm_stat, ctime_ns), offsetof(dspm_dataset_info, ctime_ns));
  EXPECT_EQ(offsetof(dspm_stat, name), offsetof(dspm_dataset_info, name));
}

TEST(Abi, StructsFitTheKernelLimit) {
  EXPECT_LE(sizeof(dspm_info), DSPM_STRUCT_SIZE_MAX);
  EXPECT_LE(sizeof(dspm_dataset_info), DSPM_STRUCT_SIZE_MAX);
  EXPECT_LE(sizeof(dspm_stat), DSPM_STRUCT_SIZE_MAX);
}

TEST(Abi, ZeroedSetsSizeAndNothingElse) {
  const auto info = dabi::zeroed<dspm_info>();
  EXPECT_EQ(info.size, sizeof(dspm_info));
  EXPECT_TRUE(zero_bytes(info, sizeof info.size));
  const auto range = dabi::zeroed<dspm_range>();  // no size field
  EXPECT_TRUE(zero_bytes(range, 0));
}

TEST(Abi, SimpleBuildersAreZeroedWithSize) {
  const auto info = dabi::make_info();
  EXPECT_EQ(info.size, DSPM_INFO_SIZE_VER1);
  EXPECT_TRUE(zero_bytes(info, 4));
  const auto stat = dabi::make_stat();
  EXPECT_EQ(stat.size, DSPM_STAT_SIZE_VER0);
  EXPECT_TRUE(zero_bytes(stat, 4));
  const auto detach = dabi::make_detach();
  EXPECT_EQ(detach.size, DSPM_DETACH_SIZE_VER0);
  EXPECT_TRUE(zero_bytes(detach, 4));
}

TEST(Abi, MakeAttachPath) {
  const std::string path = "/dev/pmem0";
  auto a = dabi::make_attach(path, {});
  EXPECT_EQ(a.size, DSPM_ATTACH_SIZE_VER0);
  EXPECT_EQ(a.flags, 0U);
  EXPECT_EQ(a.path, reinterpret_cast<std::uintptr_t>(path.c_str()));
  EXPECT_EQ(a.dram_bytes, 0U);
  EXPECT_TRUE(all_zero(a.reserved));

  a = dabi::make_attach(path, {.format = true});
  EXPECT_EQ(a.flags, DSPM_ATTACH_FORMAT);
  EXPECT_EQ(a.flags & ~DSPM_ATTACH_FLAGS_ALL, 0U);

  expect_errno(EINVAL, "attach: the device path is empty", [] { dabi::make_attach("", {}); });
  expect_errno(EINVAL, "attach", [] { dabi::make_attach(std::string("a\0b", 3), {}); });
}

TEST(Abi, MakeAttachDram) {
  auto a = dabi::make_attach_dram(64ULL << 20);
  EXPECT_EQ(a.size, DSPM_ATTACH_SIZE_VER0);
  EXPECT_EQ(a.flags, DSPM_ATTACH_DRAM);
  EXPECT_EQ(a.path, 0U);
  EXPECT_EQ(a.dram_bytes, 64ULL << 20);
  EXPECT_TRUE(all_zero(a.reserved));
  EXPECT_NO_THROW(dabi::make_attach_dram(DSPM_DRAM_BYTES_MIN));
  EXPECT_NO_THROW(dabi::make_attach_dram(DSPM_DRAM_BYTES_MAX));
  expect_errno(EINVAL, "attach DRAM: ", [] { dabi::make_attach_dram(DSPM_DRAM_BYTES_MIN - 1); });
  expect_errno(EINVAL, "attach DRAM: ", [] { dabi::make_attach_dram(DSPM_DRAM_BYTES_MAX + 1); });
  expect_errno(EINVAL, "attach DRAM: ", [] { dabi::make_attach_dram(0); });
}

TEST(Abi, MakeCreate) {
  const auto c = dabi::make_create(
      {.name = "data", .length = 1 << 20, .mode = 0640, .model = dspm::Model::mrsw, .replicas = 3});
  EXPECT_EQ(c.size, DSPM_CREATE_SIZE_VER0);
  EXPECT_EQ(c.flags, 0U);
  EXPECT_STREQ(c.name, "data");
  for (std::size_t i = 4; i < DSPM_NAME_MAX; ++i) EXPECT_EQ(c.name[i], '\0') << i;
  EXPECT_EQ(c.length, 1U << 20);
  EXPECT_EQ(c.mode, 0640U);
  EXPECT_EQ(c.model, static_cast<__u32>(DSPM_MODEL_MRSW));
  EXPECT_EQ(c.replicas, 3U);
  EXPECT_EQ(c.reserved0, 0U);
  EXPECT_EQ(c.id, 0U);
  EXPECT_TRUE(all_zero(c.reserved));
}

TEST(Abi, MakeCreateDefaults) {
  const auto c = dabi::make_create({.name = "d", .length = 1});
  EXPECT_EQ(c.mode, 0600U);
  EXPECT_EQ(c.model, static_cast<__u32>(DSPM_MODEL_MRMW));
  EXPECT_EQ(c.replicas, 1U);
}

TEST(Abi, MakeCreateValidatesLikeTheKernel) {
  expect_errno(EINVAL, "create a b: invalid dataset name",
               [] { dabi::make_create({.name = "a b", .length = 1}); });
  expect_errno(EINVAL, "create x: length 0 is outside",
               [] { dabi::make_create({.name = "x", .length = 0}); });
  EXPECT_NO_THROW(dabi::make_create({.name = "x", .length = DSPM_DATASET_LENGTH_MAX}));
  expect_errno(EINVAL, "create x: length",
               [] { dabi::make_create({.name = "x", .length = DSPM_DATASET_LENGTH_MAX + 1}); });
  expect_errno(EINVAL, "create x: mode 01000 has bits outside 0777",
               [] { dabi::make_create({.name = "x", .length = 1, .mode = 01000}); });
  EXPECT_NO_THROW(dabi::make_create({.name = "x", .length = 1, .mode = 0777}));
  expect_errno(EINVAL, "create x: unknown consistency model 7", [] {
    dabi::make_create({.name = "x", .length = 1, .model = static_cast<dspm::Model>(7)});
  });
  expect_errno(EINVAL, "create x: replicas 0 is outside 1..16",
               [] { dabi::make_create({.name = "x", .length = 1, .replicas = 0}); });
  expect_errno(EINVAL, "create x: replicas 17",
               [] { dabi::make_create({.name = "x", .length = 1, .replicas = 17}); });
  EXPECT_NO_THROW(dabi::make_create({.name = "x", .length = 1, .replicas = DSPM_REPLICAS_MAX}));
}

TEST(Abi, MakeOpen) {
  auto o = dabi::make_open("ds", dspm::Access::read_only);
  EXPECT_EQ(o.size, DSPM_OPEN_SIZE_VER0);
  EXPECT_EQ(o.flags, DSPM_OPEN_CLOEXEC);
  EXPECT_STREQ(o.name, "ds");
  EXPECT_TRUE(zero_bytes(o, offsetof(dspm_open, name) + 2));
  o = dabi::make_open("ds", dspm::Access::read_write);
  EXPECT_EQ(o.flags, DSPM_OPEN_WRITE | DSPM_OPEN_CLOEXEC);
  EXPECT_EQ(o.flags & ~DSPM_OPEN_FLAGS_ALL, 0U);
  expect_errno(EINVAL, "open .x: invalid dataset name",
               [] { dabi::make_open(".x", dspm::Access::read_only); });
}

TEST(Abi, MakeDelete) {
  const auto d = dabi::make_delete("gone");
  EXPECT_EQ(d.size, DSPM_DELETE_SIZE_VER0);
  EXPECT_EQ(d.flags, 0U);
  EXPECT_STREQ(d.name, "gone");
  EXPECT_TRUE(zero_bytes(d, offsetof(dspm_delete, name) + 4));
  expect_errno(EINVAL, "remove : invalid dataset name (name is empty)",
               [] { dabi::make_delete(""); });
}

TEST(Abi, MakeList) {
  auto l = dabi::make_list(nullptr, 10);
  EXPECT_EQ(l.size, DSPM_LIST_SIZE_VER0);
  EXPECT_EQ(l.entries, 0U);
  EXPECT_EQ(l.capacity, 0U);  // no buffer: just count
  EXPECT_EQ(l.entry_size, DSPM_DATASET_INFO_SIZE_VER0);
  dspm_dataset_info buf[4];
  l = dabi::make_list(buf, 4);
  EXPECT_EQ(l.entries, reinterpret_cast<std::uintptr_t>(buf));
  EXPECT_EQ(l.capacity, 4U);
  EXPECT_EQ(l.count, 0U);
  EXPECT_EQ(l.total, 0U);
  EXPECT_TRUE(all_zero(l.reserved));
}

TEST(Abi, MakeCommitAndAbort) {
  auto c = dabi::make_commit({});
  EXPECT_EQ(c.size, DSPM_COMMIT_SIZE_VER0);
  EXPECT_EQ(c.ranges, 0U);
  EXPECT_EQ(c.nr_ranges, 0U);
  EXPECT_TRUE(zero_bytes(c, 4));

  const std::vector<dspm_range> ranges = {{0, 10}, {4096, 1}};
  c = dabi::make_commit(ranges);
  EXPECT_EQ(c.ranges, reinterpret_cast<std::uintptr_t>(ranges.data()));
  EXPECT_EQ(c.nr_ranges, 2U);
  EXPECT_EQ(c.reserved0, 0U);
  EXPECT_TRUE(all_zero(c.reserved));

  const auto a = dabi::make_abort(ranges);
  EXPECT_EQ(a.size, DSPM_ABORT_SIZE_VER0);
  EXPECT_EQ(a.nr_ranges, 2U);
  EXPECT_EQ(a.reserved0, 0U);
  EXPECT_TRUE(all_zero(a.reserved));

  const std::vector<dspm_range> too_many(DSPM_RANGES_MAX + 1, dspm_range{0, 1});
  expect_errno(EINVAL, "commit: 1025 ranges", [&] { dabi::make_commit(too_many); });
  expect_errno(EINVAL, "abort: 1025 ranges", [&] { dabi::make_abort(too_many); });
}

TEST(Abi, MakeCommitValidate) {
  const auto c = dabi::make_commit({}, DSPM_COMMIT_VALIDATE);
  EXPECT_EQ(c.size, DSPM_COMMIT_SIZE_VER0);
  EXPECT_EQ(c.flags, DSPM_COMMIT_VALIDATE);
  EXPECT_EQ(c.ranges, 0U);
  EXPECT_EQ(c.nr_ranges, 0U);
  EXPECT_TRUE(zero_bytes(c, 8));

  EXPECT_EQ(dabi::make_commit({}).flags, 0U);
  expect_errno(EINVAL, "commit: unknown flags 0x2", [] { dabi::make_commit({}, 0x2); });
  expect_errno(EINVAL, "commit: unknown flags 0x80000000",
               [] { dabi::make_commit({}, DSPM_COMMIT_VALIDATE | 0x80000000U); });
}

TEST(Abi, MakeBegin) {
  const auto b = dabi::make_begin();
  EXPECT_EQ(b.size, DSPM_BEGIN_SIZE_VER0);
  EXPECT_EQ(b.flags, 0U);
  EXPECT_EQ(b.ranges, 0U);
  EXPECT_EQ(b.nr_ranges, 0U);
  EXPECT_EQ(b.reserved0, 0U);
  EXPECT_TRUE(all_zero(b.reserved));
  EXPECT_TRUE(zero_bytes(b, 4));
}

TEST(Abi, MakeBeginOwning) {
  const std::vector<dspm_range> ranges{{0, 4096}, {8192, 100}};
  const auto b = dabi::make_begin_owning(ranges, DSPM_BEGIN_NONBLOCK);
  EXPECT_EQ(b.size, DSPM_BEGIN_SIZE_VER0);
  EXPECT_EQ(b.flags, DSPM_BEGIN_NONBLOCK);
  EXPECT_EQ(b.ranges, reinterpret_cast<std::uintptr_t>(ranges.data()));
  EXPECT_EQ(b.nr_ranges, 2U);
  EXPECT_EQ(b.reserved0, 0U);
  EXPECT_TRUE(all_zero(b.reserved));
  const auto whole = dabi::make_begin_owning({}, 0);
  EXPECT_EQ(whole.nr_ranges, 0U);
  expect_errno(EINVAL, "begin: unknown flags", [] { dabi::make_begin_owning({}, 0x2); });
  const std::vector<dspm_range> many(DSPM_RANGES_MAX + 1, dspm_range{0, 1});
  expect_errno(EINVAL, "begin: more than 1024 ranges", [&] { dabi::make_begin_owning(many, 0); });
}

TEST(Abi, MakeLockAndBarrier) {
  const auto l = dabi::make_lock(0xfeedULL, DSPM_LOCK_NONBLOCK);
  EXPECT_EQ(l.size, DSPM_LOCK_SIZE_VER0);
  EXPECT_EQ(l.flags, DSPM_LOCK_NONBLOCK);
  EXPECT_EQ(l.key, 0xfeedULL);
  EXPECT_TRUE(all_zero(l.reserved));
  EXPECT_EQ(dabi::make_lock(7).flags, 0U);
  expect_errno(EINVAL, "lock: unknown flags", [] { dabi::make_lock(1, 0x4); });
  const auto b = dabi::make_barrier();
  EXPECT_EQ(b.size, DSPM_BARRIER_SIZE_VER0);
  EXPECT_TRUE(zero_bytes(b, 4));
}

TEST(Abi, FormatUuid) {
  const std::uint8_t zero[16] = {};
  EXPECT_EQ(dabi::format_uuid(zero), "00000000-0000-0000-0000-000000000000");
  const std::uint8_t id[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                               0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(dabi::format_uuid(id), "12345678-9abc-def0-0123-456789abcdef");
}

TEST(Abi, DecodeInfoAttachedVolatile) {
  auto raw = dabi::make_info();
  raw.flags = DSPM_INFO_ATTACHED | DSPM_INFO_VOLATILE;
  raw.abi_version = 1;
  raw.layout_version = 2;
  raw.uuid[0] = 0xab;
  raw.uuid[15] = 0x01;
  raw.page_size = 4096;
  raw.capacity = 64ULL << 20;
  raw.free = 60ULL << 20;
  raw.datasets = 3;
  raw.max_datasets = 1024;
  raw.log_capacity = 1 << 20;
  raw.commits = 10;
  raw.aborts = 2;
  raw.recovered = 1;
  const dspm::Info info = dabi::decode_info(raw);
  EXPECT_TRUE(info.attached);
  EXPECT_TRUE(info.volatile_memory);
  EXPECT_EQ(info.flags, DSPM_INFO_ATTACHED | DSPM_INFO_VOLATILE);
  EXPECT_EQ(info.abi_version, 1U);
  EXPECT_EQ(info.layout_version, 2U);
  EXPECT_EQ(info.uuid, "ab000000-0000-0000-0000-000000000001");
  EXPECT_EQ(info.page_size, 4096U);
  EXPECT_EQ(info.capacity, 64ULL << 20);
  EXPECT_EQ(info.free, 60ULL << 20);
  EXPECT_EQ(info.datasets, 3U);
  EXPECT_EQ(info.max_datasets, 1024U);
  EXPECT_EQ(info.log_capacity, 1U << 20);
  EXPECT_EQ(info.commits, 10U);
  EXPECT_EQ(info.aborts, 2U);
  EXPECT_EQ(info.recovered, 1U);
}

TEST(Abi, DecodeInfoCounters) {
  auto raw = dabi::make_info();
  raw.flags = DSPM_INFO_ATTACHED;
  raw.faults_local = 11;
  raw.faults_remote = 12;
  raw.conflicts = 13;
  raw.bytes_committed = 1ULL << 40;
  raw.bytes_replicated = 15;
  raw.pages_shadowed = 16;
  for (std::size_t i = 0; i < DSPM_INFO_FETCH_BUCKETS; ++i) raw.fetch_hist[i] = 100 + i;
  raw.fetch_hist[DSPM_INFO_FETCH_BUCKETS - 1] = ~0ULL;
  const dspm::Info info = dabi::decode_info(raw);
  EXPECT_TRUE(info.has_counters);
  EXPECT_EQ(info.faults_local, 11U);
  EXPECT_EQ(info.faults_remote, 12U);
  EXPECT_EQ(info.conflicts, 13U);
  EXPECT_EQ(info.bytes_committed, 1ULL << 40);
  EXPECT_EQ(info.bytes_replicated, 15U);
  EXPECT_EQ(info.pages_shadowed, 16U);
  for (std::size_t i = 0; i + 1 < DSPM_INFO_FETCH_BUCKETS; ++i)
    EXPECT_EQ(info.fetch_hist[i], 100 + i) << i;
  EXPECT_EQ(info.fetch_hist.back(), ~0ULL);
}

// A kernel that knows only VER0 writes 168 bytes and says so: no counters, whatever the rest holds.
TEST(Abi, DecodeInfoFromVer0Kernel) {
  auto raw = dabi::make_info();
  raw.size = DSPM_INFO_SIZE_VER0;
  raw.flags = DSPM_INFO_ATTACHED;
  raw.commits = 4;
  raw.faults_local = 99;
  raw.fetch_hist[0] = 5;
  const dspm::Info info = dabi::decode_info(raw);
  EXPECT_FALSE(info.has_counters);
  EXPECT_EQ(info.commits, 4U);
  EXPECT_EQ(info.faults_local, 0U);
  EXPECT_EQ(info.fetch_hist[0], 0U);
}

TEST(Abi, FetchBucketRanges) {
  EXPECT_EQ(dspm::fetch_bucket_range(0).low_us, 0U);
  EXPECT_EQ(dspm::fetch_bucket_range(0).high_us, 1U);
  EXPECT_EQ(dspm::fetch_bucket_range(1).low_us, 1U);
  EXPECT_EQ(dspm::fetch_bucket_range(1).high_us, 2U);
  EXPECT_EQ(dspm::fetch_bucket_range(5).low_us, 16U);
  EXPECT_EQ(dspm::fetch_bucket_range(5).high_us, 32U);
  EXPECT_EQ(dspm::fetch_bucket_range(14).low_us, 8192U);
  EXPECT_EQ(dspm::fetch_bucket_range(14).high_us, 16384U);
  EXPECT_EQ(dspm::fetch_bucket_range(15).low_us, 16384U);
  EXPECT_EQ(dspm::fetch_bucket_range(15).high_us, 0U);  // open-ended
  // consecutive buckets tile the line
  for (std::size_t i = 1; i + 1 < DSPM_INFO_FETCH_BUCKETS; ++i)
    EXPECT_EQ(dspm::fetch_bucket_range(i).high_us, dspm::fetch_bucket_range(i + 1).low_us);
}

TEST(Abi, DecodeInfoFlags) {
  auto raw = dabi::make_info();
  raw.flags = DSPM_INFO_ATTACHED;
  auto info = dabi::decode_info(raw);
  EXPECT_TRUE(info.attached);
  EXPECT_FALSE(info.volatile_memory);

  raw.flags = 0;
  info = dabi::decode_info(raw);
  EXPECT_FALSE(info.attached);
  EXPECT_FALSE(info.volatile_memory);

  raw.flags = DSPM_INFO_ATTACHED | (1U << 31);  // a flag from a newer kernel is kept raw
  info = dabi::decode_info(raw);
  EXPECT_TRUE(info.attached);
  EXPECT_FALSE(info.volatile_memory);
  EXPECT_EQ(info.flags, DSPM_INFO_ATTACHED | (1U << 31));
}

namespace {

dspm_dataset_info raw_entry(std::uint64_t id, const char* name) {
  auto e = dabi::zeroed<dspm_dataset_info>();
  e.id = id;
  std::strncpy(e.name, name, sizeof e.name - 1);
  e.length = 8192 + id;
  e.pages = 3;
  e.uid = 1000;
  e.gid = 100;
  e.mode = 0640;
  e.model = DSPM_MODEL_MRSW;
  e.replicas = 2;
  e.open_count = 1;
  e.version = 42;
  e.ctime_ns = 1'700'000'000'123'456'789ULL;
  return e;
}

}  // namespace

TEST(Abi, DecodeDatasetInfo) {
  const auto d = dabi::decode_dataset_info(raw_entry(5, "alpha"));
  EXPECT_EQ(d.id, 5U);
  EXPECT_EQ(d.name, "alpha");
  EXPECT_EQ(d.length, 8197U);
  EXPECT_EQ(d.pages, 3U);
  EXPECT_EQ(d.uid, 1000U);
  EXPECT_EQ(d.gid, 100U);
  EXPECT_EQ(d.mode, 0640U);
  EXPECT_EQ(d.model, dspm::Model::mrsw);
  EXPECT_EQ(d.replicas, 2U);
  EXPECT_EQ(d.open_count, 1U);
  EXPECT_EQ(d.version, 42U);
  EXPECT_EQ(d.ctime_ns, 1'700'000'000'123'456'789ULL);
}

TEST(Abi, DecodeStat) {
  auto raw = dabi::make_stat();
  raw.id = 9;
  std::strcpy(raw.name, "beta");
  raw.length = 100;
  raw.model = DSPM_MODEL_MRMW;
  raw.replicas = 1;
  raw.version = 7;
  raw.dirty_pages = 4;
  const dspm::Stat s = dabi::decode_stat(raw);
  EXPECT_EQ(s.id, 9U);
  EXPECT_EQ(s.name, "beta");
  EXPECT_EQ(s.length, 100U);
  EXPECT_EQ(s.model, dspm::Model::mrmw);
  EXPECT_EQ(s.version, 7U);
  EXPECT_EQ(s.dirty_pages, 4U);
}

TEST(Abi, ModelToString) {
  EXPECT_EQ(dspm::to_string(dspm::Model::mrmw), "mrmw");
  EXPECT_EQ(dspm::to_string(dspm::Model::mrsw), "mrsw");
  EXPECT_EQ(dspm::to_string(static_cast<dspm::Model>(9)), "unknown");
}

// --- LIST protocol against a fake kernel -----------------------------------------------------

namespace {

// Behaves like the driver's DSPM_IOC_LIST over a table that may grow between calls.
struct FakeTable {
  std::vector<dspm_dataset_info> table;
  std::vector<std::size_t> grow_after_call;  // grow_after_call[i]: entries added after call i
  int calls = 0;
  int fail_with = 0;

  int operator()(dspm_list& arg) {
    EXPECT_EQ(arg.size, sizeof(dspm_list));
    EXPECT_EQ(arg.entry_size, sizeof(dspm_dataset_info));
    EXPECT_EQ(arg.count, 0U);
    EXPECT_EQ(arg.total, 0U);
    if (fail_with) return fail_with;
    auto* out = reinterpret_cast<dspm_dataset_info*>(arg.entries);
    const std::size_t n = std::min<std::size_t>(arg.capacity, table.size());
    EXPECT_TRUE(n == 0 || out != nullptr);
    for (std::size_t i = 0; i < n; ++i) out[i] = table[i];
    arg.count = static_cast<std::uint32_t>(n);
    arg.total = static_cast<std::uint32_t>(table.size());
    const auto call = static_cast<std::size_t>(calls++);
    if (call < grow_after_call.size())
      for (std::size_t k = 0; k < grow_after_call[call]; ++k)
        table.push_back(raw_entry(1000 + table.size(), ("new" + std::to_string(k)).c_str()));
    return 0;
  }
};

}  // namespace

TEST(ListProtocol, EmptyTableTakesOneCall) {
  FakeTable fake;
  const auto list = dabi::list_with(std::ref(fake));
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(fake.calls, 1);
}

TEST(ListProtocol, CountsThenFetches) {
  FakeTable fake;
  for (int i = 0; i < 5; ++i) fake.table.push_back(raw_entry(i, ("d" + std::to_string(i)).c_str()));
  const auto list = dabi::list_with(std::ref(fake));
  ASSERT_EQ(list.size(), 5U);
  EXPECT_EQ(fake.calls, 2);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(list[i].id, static_cast<std::uint64_t>(i));
    EXPECT_EQ(list[i].name, "d" + std::to_string(i));
  }
}

TEST(ListProtocol, SmallGrowthFitsTheHeadroom) {
  FakeTable fake;
  fake.table.push_back(raw_entry(1, "a"));
  fake.grow_after_call = {2};  // two creates between the count and the fetch
  const auto list = dabi::list_with(std::ref(fake));
  EXPECT_EQ(list.size(), 3U);
  EXPECT_EQ(fake.calls, 2);
}

TEST(ListProtocol, RetriesWhenTheTableOutgrewTheBuffer) {
  FakeTable fake;
  fake.table.push_back(raw_entry(1, "a"));
  fake.grow_after_call = {100};  // far more than the headroom
  const auto list = dabi::list_with(std::ref(fake));
  EXPECT_EQ(list.size(), 101U);
  EXPECT_EQ(fake.calls, 4);  // count, short fetch, count, fetch
}

TEST(ListProtocol, GivesUpWithEagainWhenItKeepsGrowing) {
  // Every fetch finds one dataset more than the buffer holds.
  int calls = 0;
  auto growing = [&](dspm_list& arg) {
    ++calls;
    auto* out = reinterpret_cast<dspm_dataset_info*>(arg.entries);
    for (std::uint32_t i = 0; i < arg.capacity; ++i) out[i] = raw_entry(i, "x");
    arg.count = arg.capacity;
    arg.total = arg.capacity + 1;
    return 0;
  };
  expect_errno(EAGAIN, "list datasets: the dataset table kept growing",
               [&] { dabi::list_with(growing); });
  EXPECT_EQ(calls, 16);  // 8 rounds of count + fetch, then it gives up
}

TEST(ListProtocol, PropagatesTheKernelsErrno) {
  FakeTable fake;
  fake.fail_with = ENODEV;
  expect_errno(ENODEV, "list datasets: ", [&] { dabi::list_with(std::ref(fake)); });
}

TEST(ListProtocol, RejectsAKernelThatOverrunsTheBuffer) {
  int calls = 0;
  auto liar = [&](dspm_list& arg) {
    ++calls;
    arg.total = 1;
    arg.count = arg.capacity + 1;
    return 0;
  };
  expect_errno(EPROTO, "list datasets: the kernel reported", [&] { dabi::list_with(liar); });
}
