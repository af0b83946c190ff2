// SPDX-License-Identifier: MIT
// dspm - pure helpers between the C++ API and the ioctl ABI of <linux/dspm.h>.
//
// Nothing here makes a system call (read_key_file() excepted, which reads a file): these
// functions validate arguments with the kernel's rules, build zero-initialised ioctl structs and
// decode the kernel's answers, so that they can be tested without a device.  Errors are
// std::system_error with a generic_category errno.
#pragma once

#include <linux/dspm.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dspm/types.hpp"

namespace dspm {

// Longest dataset name, without the terminating NUL.
inline constexpr std::size_t name_length_max = DSPM_NAME_MAX - 1;

// Why @name is not a valid dataset name, or nullopt when it is one.  The rule is the
// kernel's: 1..63 bytes of [A-Za-z0-9._-], not starting with '.'.
DSPM_API std::optional<std::string> name_error(std::string_view name);

inline bool is_valid_name(std::string_view name) {
  return !name_error(name).has_value();
}

// Throws std::system_error(EINVAL, "<context>: invalid dataset name (<reason>)") unless
// @name is valid.
DSPM_API void check_name(std::string_view name, std::string_view context);

// @text with bytes outside printable ASCII written as \xNN, for error messages.
DSPM_API std::string printable(std::string_view text);

// The cluster key in the file at @path: its bytes, one trailing newline excepted (the
// dispatcher's --key-file rule, and its code).  Throws std::system_error: "key file <path>:
// <reason>" with the errno of open/read (ENOENT, EACCES, ELOOP...), EISDIR for a directory,
// EINVAL for another file that is not a regular one (a FIFO, a device) or when the key is not
// DSPM_KEY_MIN..DSPM_KEY_MAX bytes long.  A symbolic link is followed.  A file that group or
// others may access is read all the same; KeyFile::group_or_other_access tells the caller, who
// may warn (libdspm prints nothing).  The mode is that of the file read: fstat() of the
// descriptor the key is then read from.
DSPM_API KeyFile read_key_file(const std::string& path);

namespace abi {

// Every ABI struct, and the size the kernel of ABI version 1 expects of it.
static_assert(sizeof(dspm_info) == DSPM_INFO_SIZE_VER1);
static_assert(sizeof(dspm_attach) == DSPM_ATTACH_SIZE_VER0);
static_assert(sizeof(dspm_detach) == DSPM_DETACH_SIZE_VER0);
static_assert(sizeof(dspm_create) == DSPM_CREATE_SIZE_VER0);
static_assert(sizeof(dspm_open) == DSPM_OPEN_SIZE_VER0);
static_assert(sizeof(dspm_delete) == DSPM_DELETE_SIZE_VER0);
static_assert(sizeof(dspm_dataset_info) == DSPM_DATASET_INFO_SIZE_VER0);
static_assert(sizeof(dspm_list) == DSPM_LIST_SIZE_VER0);
static_assert(sizeof(dspm_commit) == DSPM_COMMIT_SIZE_VER0);
static_assert(sizeof(dspm_abort) == DSPM_ABORT_SIZE_VER0);
static_assert(sizeof(dspm_begin) == DSPM_BEGIN_SIZE_VER0);
static_assert(sizeof(dspm_lock) == DSPM_LOCK_SIZE_VER0);
static_assert(sizeof(dspm_barrier) == DSPM_BARRIER_SIZE_VER0);
static_assert(sizeof(dspm_stat) == DSPM_STAT_SIZE_VER0);
static_assert(sizeof(dspm_addr) == 24);
static_assert(sizeof(dspm_join) == DSPM_JOIN_SIZE_VER0);
static_assert(sizeof(dspm_leave) == DSPM_LEAVE_SIZE_VER0);
static_assert(sizeof(dspm_node_info) == DSPM_NODE_INFO_SIZE_VER0);
static_assert(sizeof(dspm_nodes) == DSPM_NODES_SIZE_VER0);
static_assert(sizeof(dspm_chunk_nodes) == 4 * DSPM_REPLICAS_MAX);
static_assert(sizeof(dspm_placement) == DSPM_PLACEMENT_SIZE_VER0);
static_assert(sizeof(dspm_range) == 16);
static_assert(sizeof(Range) == sizeof(dspm_range) && alignof(Range) == alignof(dspm_range));

// An ABI struct with every byte zero and its size field set to sizeof(T).
template <class T>
T zeroed() noexcept {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>);
  T value;
  std::memset(&value, 0, sizeof value);
  if constexpr (requires(T & t) { t.size; }) value.size = sizeof(T);
  return value;
}

// Copies a valid name NUL-padded into @dst; throws like check_name() otherwise.
DSPM_API void copy_name(char (&dst)[DSPM_NAME_MAX], std::string_view name,
                        std::string_view context);

// The name in a kernel-filled array (up to the first NUL, at most DSPM_NAME_MAX bytes).
DSPM_API std::string name_from(const char (&src)[DSPM_NAME_MAX]);

DSPM_API dspm_info make_info() noexcept;
DSPM_API dspm_stat make_stat() noexcept;
DSPM_API dspm_detach make_detach() noexcept;

// @path must stay alive while the struct is in use (the struct holds a pointer to it).
DSPM_API dspm_attach make_attach(const std::string& path, const AttachOptions& options);
// Checks DSPM_DRAM_BYTES_MIN..DSPM_DRAM_BYTES_MAX.
DSPM_API dspm_attach make_attach_dram(std::uint64_t bytes);

// Checks the name, length, mode, model and replicas with the kernel's rules.
DSPM_API dspm_create make_create(const CreateOptions& options);
// Always sets DSPM_OPEN_CLOEXEC.
DSPM_API dspm_open make_open(std::string_view name, Access access);
DSPM_API dspm_delete make_delete(std::string_view name);

DSPM_API dspm_list make_list(dspm_dataset_info* entries, std::uint32_t capacity) noexcept;
// @ranges must stay alive while the struct is in use.  @flags are DSPM_COMMIT_* (EINVAL for
// bits outside DSPM_COMMIT_FLAGS_ALL).
DSPM_API dspm_commit make_commit(std::span<const dspm_range> ranges, std::uint32_t flags = 0);
DSPM_API dspm_abort make_abort(std::span<const dspm_range> ranges);
// A validated transaction of an MRMW dataset: no flags, no ranges.
DSPM_API dspm_begin make_begin() noexcept;
// Write ownership of @ranges of an MRSW dataset (all of it when empty); @ranges must stay alive
// while the struct is in use.  @flags are DSPM_BEGIN_* (EINVAL for unknown bits).
DSPM_API dspm_begin make_begin_owning(std::span<const dspm_range> ranges, std::uint32_t flags);
// DSPM_IOC_LOCK (@flags DSPM_LOCK_*) and DSPM_IOC_UNLOCK (@flags 0).
DSPM_API dspm_lock make_lock(std::uint64_t key, std::uint32_t flags = 0);
DSPM_API dspm_barrier make_barrier() noexcept;

// Validates @ranges against a dataset of @length bytes with the kernel's rules (no empty
// range, no overflow, nothing beyond the end) and returns them sorted with overlapping and
// adjacent ranges merged, which covers exactly the same bytes.  More than DSPM_RANGES_MAX
// ranges after merging is an error.  Errors are EINVAL with "<context>: range #i ...".
DSPM_API std::vector<dspm_range> normalize_ranges(std::span<const Range> ranges,
                                                  std::uint64_t length, std::string_view context);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
DSPM_API std::string format_uuid(std::span<const std::uint8_t, 16> uuid);

DSPM_API Info decode_info(const dspm_info& info);
DSPM_API DatasetInfo decode_dataset_info(const dspm_dataset_info& entry);
DSPM_API Stat decode_stat(const dspm_stat& stat);

// Issues DSPM_IOC_LIST on the caller's behalf: returns 0 or an errno value.
using ListIoctl = std::function<int(dspm_list&)>;

// The LIST protocol: count with capacity 0, fetch into a buffer with some headroom, and start
// again when datasets were created in between (count < total).  Gives up with EAGAIN when
// the table keeps growing.
DSPM_API std::vector<DatasetInfo> list_with(const ListIoctl& ioctl);

// --- cluster -----------------------------------------------------------------------------

// A numeric address with a port: "10.77.0.1:7470" (IPv4, dotted quad) or "[fd00::1]:7470" (IPv6
// in brackets); the port is decimal, 1..65535.  Host names, IPv6 without brackets, IPv6 zones
// ("%eth0": dspm_addr has no scope id) and anything else are EINVAL with the message
// "<context> '<text>': <reason>".
DSPM_API dspm_addr parse_address(std::string_view text, std::string_view context = "address");

// The inverse of parse_address(): "10.77.0.1:7470", "[fd00::1]:7470" (RFC 5952 form), "" for
// family 0 (no address), "<family N>" for a family this library does not know.
DSPM_API std::string format_address(const dspm_addr& addr);

// Parses the addresses (self may be empty: none), checks the transport and the key length
// (DSPM_KEY_MIN..DSPM_KEY_MAX).  Neither address may be the unspecified one (0.0.0.0, ::): a
// peer cannot connect to it.  @options.key must stay alive while the struct is in use.
DSPM_API dspm_join make_join(const JoinOptions& options);
DSPM_API dspm_leave make_leave() noexcept;
DSPM_API dspm_nodes make_nodes(dspm_node_info* entries, std::uint32_t capacity) noexcept;

DSPM_API NodeInfo decode_node_info(const dspm_node_info& entry);

// Issues DSPM_IOC_NODES on the caller's behalf: returns 0 or an errno value.
using NodesIoctl = std::function<int(dspm_nodes&)>;

// The LIST protocol of list_with() for the node table: count, fetch with headroom, start again
// when the table grew in between; EAGAIN when it keeps growing.  self_id, link and epoch are
// those of the call that returned the entries.  ENOTCONN (not in a cluster) is passed on with
// the message "list nodes: this node is not in a cluster".
DSPM_API Cluster nodes_with(const NodesIoctl& ioctl);

DSPM_API dspm_placement make_placement(std::string_view name, dspm_chunk_nodes* entries,
                                       std::uint32_t capacity);

// Issues DSPM_IOC_PLACEMENT on the caller's behalf: returns 0 or an errno value.
using PlacementIoctl = std::function<int(dspm_placement&)>;

// Asks for the chunk count, then fetches every chunk; checks what the kernel wrote (home and
// replicas non-zero, then zeros).  ENOTCONN comes with "this node is not in a cluster".
DSPM_API Placement placement_with(std::string_view name, const PlacementIoctl& ioctl);

}  // namespace abi
}  // namespace dspm
