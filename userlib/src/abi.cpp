// SPDX-License-Identifier: MIT
// Pure helpers: name rule, struct builders, range normalisation, decoding.
#include "dspm/abi.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>

#include "dspm_common/error.hpp"
#include "dspm_common/name.hpp"
#include "dspm_common/text.hpp"

namespace dspm {
using common::fail;

std::optional<std::string> name_error(std::string_view name) {
  return common::name_error(name);
}

void check_name(std::string_view name, std::string_view context) {
  if (auto why = common::name_error(name))
    fail(EINVAL, std::string(context) + ": invalid dataset name (" + *why + ")");
}

std::string printable(std::string_view text) {
  return common::printable(text);
}

std::string_view to_string(Model model) noexcept {
  switch (model) {
    case Model::mrmw:
      return "mrmw";
    case Model::mrsw:
      return "mrsw";
  }
  return "unknown";
}

namespace abi {

void copy_name(char (&dst)[DSPM_NAME_MAX], std::string_view name, std::string_view context) {
  check_name(name, context);
  std::memset(dst, 0, sizeof dst);
  std::memcpy(dst, name.data(), name.size());
}

std::string name_from(const char (&src)[DSPM_NAME_MAX]) {
  const void* nul = std::memchr(src, '\0', sizeof src);
  const std::size_t len =
      nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - src) : sizeof src;
  return std::string(src, len);
}

dspm_info make_info() noexcept {
  return zeroed<dspm_info>();
}
dspm_stat make_stat() noexcept {
  return zeroed<dspm_stat>();
}
dspm_detach make_detach() noexcept {
  return zeroed<dspm_detach>();
}

dspm_attach make_attach(const std::string& path, const AttachOptions& options) {
  if (path.empty()) fail(EINVAL, "attach: the device path is empty");
  if (path.find('\0') != std::string::npos)
    fail(EINVAL, "attach " + printable(path) + ": the device path contains a NUL byte");
  auto arg = zeroed<dspm_attach>();
  arg.flags = options.format ? DSPM_ATTACH_FORMAT : 0;
  arg.path = reinterpret_cast<std::uintptr_t>(path.c_str());
  return arg;
}

dspm_attach make_attach_dram(std::uint64_t bytes) {
  if (bytes < DSPM_DRAM_BYTES_MIN || bytes > DSPM_DRAM_BYTES_MAX)
    fail(EINVAL, "attach DRAM: " + std::to_string(bytes) + " bytes is outside " +
                     std::to_string(DSPM_DRAM_BYTES_MIN) + ".." +
                     std::to_string(DSPM_DRAM_BYTES_MAX));
  auto arg = zeroed<dspm_attach>();
  arg.flags = DSPM_ATTACH_DRAM;
  arg.dram_bytes = bytes;
  return arg;
}

dspm_create make_create(const CreateOptions& options) {
  const std::string context = "create " + printable(options.name);
  auto arg = zeroed<dspm_create>();
  copy_name(arg.name, options.name, context);
  if (options.length == 0 || options.length > DSPM_DATASET_LENGTH_MAX)
    fail(EINVAL, context + ": length " + std::to_string(options.length) + " is outside 1.." +
                     std::to_string(DSPM_DATASET_LENGTH_MAX) + " bytes");
  if (options.mode & ~0777U) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#o", options.mode);
    fail(EINVAL, context + ": mode " + buf + " has bits outside 0777");
  }
  if (options.model != Model::mrmw && options.model != Model::mrsw)
    fail(EINVAL, context + ": unknown consistency model " +
                     std::to_string(static_cast<std::uint32_t>(options.model)));
  if (options.replicas < 1 || options.replicas > DSPM_REPLICAS_MAX)
    fail(EINVAL, context + ": replicas " + std::to_string(options.replicas) + " is outside 1.." +
                     std::to_string(DSPM_REPLICAS_MAX));
  arg.length = options.length;
  arg.mode = options.mode;
  arg.model = static_cast<std::uint32_t>(options.model);
  arg.replicas = options.replicas;
  return arg;
}

dspm_open make_open(std::string_view name, Access access) {
  auto arg = zeroed<dspm_open>();
  copy_name(arg.name, name, "open " + printable(name));
  arg.flags = DSPM_OPEN_CLOEXEC | (access == Access::read_write ? DSPM_OPEN_WRITE : 0);
  return arg;
}

dspm_delete make_delete(std::string_view name) {
  auto arg = zeroed<dspm_delete>();
  copy_name(arg.name, name, "remove " + printable(name));
  return arg;
}

dspm_list make_list(dspm_dataset_info* entries, std::uint32_t capacity) noexcept {
  auto arg = zeroed<dspm_list>();
  arg.entries = reinterpret_cast<std::uintptr_t>(entries);
  arg.entry_size = sizeof(dspm_dataset_info);
  arg.capacity = entries ? capacity : 0;
  return arg;
}

namespace {

template <class T>
T make_ranges_arg(std::span<const dspm_range> ranges, const char* what) {
  if (ranges.size() > DSPM_RANGES_MAX)
    fail(EINVAL, std::string(what) + ": " + std::to_string(ranges.size()) + " ranges, at most " +
                     std::to_string(DSPM_RANGES_MAX) + " are allowed");
  auto arg = zeroed<T>();
  arg.ranges = ranges.empty() ? 0 : reinterpret_cast<std::uintptr_t>(ranges.data());
  arg.nr_ranges = static_cast<std::uint32_t>(ranges.size());
  return arg;
}

}  // namespace

dspm_commit make_commit(std::span<const dspm_range> ranges, std::uint32_t flags) {
  if (flags & ~DSPM_COMMIT_FLAGS_ALL) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#x", flags & ~DSPM_COMMIT_FLAGS_ALL);
    fail(EINVAL, std::string("commit: unknown flags ") + buf);
  }
  auto arg = make_ranges_arg<dspm_commit>(ranges, "commit");
  arg.flags = flags;
  return arg;
}

dspm_abort make_abort(std::span<const dspm_range> ranges) {
  return make_ranges_arg<dspm_abort>(ranges, "abort");
}

dspm_begin make_begin() noexcept {
  return zeroed<dspm_begin>();
}

dspm_begin make_begin_owning(std::span<const dspm_range> ranges, std::uint32_t flags) {
  if ((flags & ~DSPM_BEGIN_FLAGS_ALL) != 0)
    throw std::system_error(EINVAL, std::generic_category(), "begin: unknown flags");
  if (ranges.size() > DSPM_RANGES_MAX)
    throw std::system_error(EINVAL, std::generic_category(),
                            "begin: more than " + std::to_string(DSPM_RANGES_MAX) + " ranges");
  auto arg = zeroed<dspm_begin>();
  arg.flags = flags;
  arg.ranges = reinterpret_cast<std::uintptr_t>(ranges.data());
  arg.nr_ranges = static_cast<std::uint32_t>(ranges.size());
  return arg;
}

dspm_lock make_lock(std::uint64_t key, std::uint32_t flags) {
  if ((flags & ~DSPM_LOCK_FLAGS_ALL) != 0)
    throw std::system_error(EINVAL, std::generic_category(), "lock: unknown flags");
  auto arg = zeroed<dspm_lock>();
  arg.flags = flags;
  arg.key = key;
  return arg;
}

dspm_barrier make_barrier() noexcept {
  return zeroed<dspm_barrier>();
}

std::vector<dspm_range> normalize_ranges(std::span<const Range> ranges, std::uint64_t length,
                                         std::string_view context) {
  std::vector<dspm_range> out;
  out.reserve(ranges.size());
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const Range& r = ranges[i];
    auto bad = [&](const char* why) {
      fail(EINVAL, std::string(context) + ": range #" + std::to_string(i) + " (offset " +
                       std::to_string(r.offset) + ", length " + std::to_string(r.length) + ") " +
                       why);
    };
    if (r.length == 0) bad("is empty");
    if (r.offset > std::numeric_limits<std::uint64_t>::max() - r.length) bad("overflows");
    if (r.offset + r.length > length)
      bad(("ends beyond the dataset's " + std::to_string(length) + " bytes").c_str());
    out.push_back({r.offset, r.length});
  }
  std::sort(out.begin(), out.end(),
            [](const dspm_range& a, const dspm_range& b) { return a.offset < b.offset; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (kept > 0) {
      dspm_range& last = out[kept - 1];
      const std::uint64_t last_end = last.offset + last.length;
      if (out[i].offset <= last_end) {  // overlapping or adjacent: merge
        last.length =
            std::max<std::uint64_t>(last_end, out[i].offset + out[i].length) - last.offset;
        continue;
      }
    }
    out[kept++] = out[i];
  }
  out.resize(kept);
  if (out.size() > DSPM_RANGES_MAX)
    fail(EINVAL, std::string(context) + ": " + std::to_string(out.size()) +
                     " disjoint ranges, at most " + std::to_string(DSPM_RANGES_MAX) +
                     " are allowed in one call");
  return out;
}

std::string format_uuid(std::span<const std::uint8_t, 16> uuid) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[uuid[i] >> 4];
    out += hex[uuid[i] & 0xf];
  }
  return out;
}

Info decode_info(const dspm_info& in) {
  Info out;
  out.flags = in.flags;
  out.attached = (in.flags & DSPM_INFO_ATTACHED) != 0;
  out.volatile_memory = (in.flags & DSPM_INFO_VOLATILE) != 0;
  out.abi_version = in.abi_version;
  out.layout_version = in.layout_version;
  out.uuid = format_uuid(in.uuid);
  out.page_size = in.page_size;
  out.capacity = in.capacity;
  out.free = in.free;
  out.datasets = in.datasets;
  out.max_datasets = in.max_datasets;
  out.log_capacity = in.log_capacity;
  out.commits = in.commits;
  out.aborts = in.aborts;
  out.recovered = in.recovered;
  // the kernel says in size how much it wrote: an older one stops before the counters
  out.has_counters = in.size >= DSPM_INFO_SIZE_VER1;
  if (!out.has_counters) return out;
  out.faults_local = in.faults_local;
  out.faults_remote = in.faults_remote;
  out.conflicts = in.conflicts;
  out.bytes_committed = in.bytes_committed;
  out.bytes_replicated = in.bytes_replicated;
  out.pages_shadowed = in.pages_shadowed;
  std::copy(std::begin(in.fetch_hist), std::end(in.fetch_hist), out.fetch_hist.begin());
  return out;
}

namespace {

// dspm_dataset_info and dspm_stat share their leading fields.
template <class T>
void decode_common(const T& in, DatasetInfo& out) {
  out.id = in.id;
  out.name = name_from(in.name);
  out.length = in.length;
  out.pages = in.pages;
  out.uid = in.uid;
  out.gid = in.gid;
  out.mode = in.mode;
  out.model = static_cast<Model>(in.model);
  out.replicas = in.replicas;
  out.open_count = in.open_count;
  out.version = in.version;
  out.ctime_ns = in.ctime_ns;
}

}  // namespace

DatasetInfo decode_dataset_info(const dspm_dataset_info& in) {
  DatasetInfo out;
  decode_common(in, out);
  return out;
}

Stat decode_stat(const dspm_stat& in) {
  Stat out;
  decode_common(in, out);
  out.dirty_pages = in.dirty_pages;
  return out;
}

std::vector<DatasetInfo> list_with(const ListIoctl& ioctl) {
  constexpr int attempts = 8;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto count = make_list(nullptr, 0);
    if (int err = ioctl(count)) fail(err, "list datasets");
    if (count.total == 0) return {};

    // Some headroom, so that a create racing with us rarely forces another round.
    const std::uint64_t want = std::uint64_t{count.total} + count.total / 8 + 4;
    const auto capacity = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(want, std::numeric_limits<std::uint32_t>::max()));
    std::vector<dspm_dataset_info> entries(capacity, zeroed<dspm_dataset_info>());
    auto fetch = make_list(entries.data(), capacity);
    if (int err = ioctl(fetch)) fail(err, "list datasets");
    if (fetch.count > capacity)
      fail(EPROTO, "list datasets: the kernel reported " + std::to_string(fetch.count) +
                       " entries for a buffer of " + std::to_string(capacity));
    if (fetch.count < fetch.total) continue;  // the table grew meanwhile: start again

    std::vector<DatasetInfo> out;
    out.reserve(fetch.count);
    for (std::uint32_t i = 0; i < fetch.count; ++i) out.push_back(decode_dataset_info(entries[i]));
    return out;
  }
  fail(EAGAIN, "list datasets: the dataset table kept growing");
}

}  // namespace abi
}  // namespace dspm
