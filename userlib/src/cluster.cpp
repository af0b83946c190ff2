// SPDX-License-Identifier: MIT
// Pure cluster helpers: addresses, the key file, join/leave/nodes structs and the node table.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "dspm/abi.hpp"
#include "dspm_common/address.hpp"
#include "dspm_common/error.hpp"
#include "dspm_common/key_file.hpp"

namespace dspm {
using common::fail;

static_assert(common::key_size_min == DSPM_KEY_MIN && common::key_size_max == DSPM_KEY_MAX);

std::string_view to_string(Transport transport) noexcept {
  switch (transport) {
    case Transport::tcp:
      return "tcp";
    case Transport::rdma:
      return "rdma";
  }
  return "unknown";
}

std::string_view to_string(NodeState state) noexcept {
  switch (state) {
    case NodeState::alive:
      return "alive";
    case NodeState::suspect:
      return "suspect";
    case NodeState::dead:
      return "dead";
  }
  return "unknown";
}

std::string_view to_string(Link link) noexcept {
  switch (link) {
    case Link::connected:
      return "connected";
    case Link::reconnecting:
      return "reconnecting";
  }
  return "unknown";
}

KeyFile read_key_file(const std::string& path) {
  common::KeyFileContents file = common::read_key_file(path);
  return {.key = std::move(file.key), .group_or_other_access = file.group_or_other_access()};
}

namespace abi {

namespace {

dspm_addr to_abi(const common::SocketAddress& parsed) {
  auto out = zeroed<dspm_addr>();
  const auto bytes = parsed.bytes();
  static_assert(sizeof out.addr == 16);
  std::copy(bytes.begin(), bytes.end(), out.addr);
  out.family = parsed.family() == AF_INET6 ? DSPM_AF_INET6 : DSPM_AF_INET;
  out.port = parsed.port();
  return out;
}

dspm_addr connectable_address(std::string_view text, const std::string& context) {
  const common::SocketAddress parsed = common::parse_address(text, context);
  if (parsed.unspecified())
    fail(EINVAL,
         context + " '" + printable(text) + "': the unspecified address cannot be connected to");
  return to_abi(parsed);
}

}  // namespace

dspm_addr parse_address(std::string_view text, std::string_view context) {
  return to_abi(common::parse_address(text, context));
}

std::string format_address(const dspm_addr& addr) {
  switch (addr.family) {
    case 0:
      return {};
    case DSPM_AF_INET:
      return common::format_address(AF_INET, addr.addr, addr.port);
    case DSPM_AF_INET6:
      return common::format_address(AF_INET6, addr.addr, addr.port);
    default:
      return "<family " + std::to_string(addr.family) + ">";
  }
}

dspm_join make_join(const JoinOptions& options) {
  auto arg = zeroed<dspm_join>();
  if (options.dispatcher.empty()) fail(EINVAL, "join: the dispatcher address is missing");
  arg.dispatcher = connectable_address(options.dispatcher, "join: dispatcher address");
  if (!options.self.empty()) arg.self = connectable_address(options.self, "join: self address");
  if (options.transport != Transport::tcp && options.transport != Transport::rdma)
    fail(EINVAL, "join: unknown transport " +
                     std::to_string(static_cast<std::uint32_t>(options.transport)));
  if (options.key.size() < DSPM_KEY_MIN || options.key.size() > DSPM_KEY_MAX)
    fail(EINVAL, "join: the cluster key is " + std::to_string(options.key.size()) +
                     " bytes long, " + std::to_string(DSPM_KEY_MIN) + ".." +
                     std::to_string(DSPM_KEY_MAX) + " are needed");
  arg.transport = static_cast<std::uint32_t>(options.transport);
  arg.key = reinterpret_cast<std::uintptr_t>(options.key.data());
  arg.key_len = static_cast<std::uint32_t>(options.key.size());
  return arg;
}

dspm_leave make_leave() noexcept {
  return zeroed<dspm_leave>();
}

dspm_nodes make_nodes(dspm_node_info* entries, std::uint32_t capacity) noexcept {
  auto arg = zeroed<dspm_nodes>();
  arg.entries = reinterpret_cast<std::uintptr_t>(entries);
  arg.entry_size = sizeof(dspm_node_info);
  arg.capacity = entries ? capacity : 0;
  return arg;
}

NodeInfo decode_node_info(const dspm_node_info& in) {
  NodeInfo out;
  out.id = in.id;
  out.state = static_cast<NodeState>(in.state);
  out.uuid = format_uuid(in.uuid);
  out.address = format_address(in.addr);
  out.capacity = in.capacity;
  out.free = in.free;
  out.incarnation = in.incarnation;
  return out;
}

namespace {

void call_nodes(const NodesIoctl& ioctl, dspm_nodes& arg) {
  const int err = ioctl(arg);
  if (err == ENOTCONN) fail(err, "list nodes: this node is not in a cluster");
  if (err) fail(err, "list nodes");
}

Cluster cluster_of(const dspm_nodes& arg) {
  Cluster out;
  out.self_id = arg.self_id;
  out.link = static_cast<Link>(arg.link);
  out.epoch = arg.epoch;
  return out;
}

}  // namespace

Cluster nodes_with(const NodesIoctl& ioctl) {
  constexpr int attempts = 8;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto count = make_nodes(nullptr, 0);
    call_nodes(ioctl, count);
    if (count.total == 0) return cluster_of(count);

    // Some headroom, so that a node joining meanwhile rarely forces another round.
    const std::uint64_t want = std::uint64_t{count.total} + count.total / 8 + 4;
    const auto capacity = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(want, std::numeric_limits<std::uint32_t>::max()));
    std::vector<dspm_node_info> entries(capacity, zeroed<dspm_node_info>());
    auto fetch = make_nodes(entries.data(), capacity);
    call_nodes(ioctl, fetch);
    if (fetch.count > capacity)
      fail(EPROTO, "list nodes: the kernel reported " + std::to_string(fetch.count) +
                       " entries for a buffer of " + std::to_string(capacity));
    if (fetch.count < fetch.total) continue;  // the table grew meanwhile: start again

    Cluster out = cluster_of(fetch);
    out.nodes.reserve(fetch.count);
    for (std::uint32_t i = 0; i < fetch.count; ++i)
      out.nodes.push_back(decode_node_info(entries[i]));
    return out;
  }
  fail(EAGAIN, "list nodes: the node table kept growing");
}

dspm_placement make_placement(std::string_view name, dspm_chunk_nodes* entries,
                              std::uint32_t capacity) {
  auto arg = zeroed<dspm_placement>();
  copy_name(arg.name, name, "placement of " + printable(name));
  arg.entries = reinterpret_cast<std::uintptr_t>(entries);
  arg.capacity = entries ? capacity : 0;
  return arg;
}

Placement placement_with(std::string_view name, const PlacementIoctl& ioctl) {
  const std::string context = "placement of " + printable(name);
  auto call = [&](dspm_placement& arg) {
    const int err = ioctl(arg);
    if (err == ENOTCONN) fail(err, context + ": this node is not in a cluster");
    if (err) fail(err, context);
  };
  auto count = make_placement(name, nullptr, 0);
  call(count);
  std::vector<dspm_chunk_nodes> entries(count.chunks, dspm_chunk_nodes{});
  auto fetch = make_placement(name, entries.data(), count.chunks);
  call(fetch);
  // A dataset deleted and created again in between: its chunk count may differ.
  if (fetch.chunks != count.chunks || fetch.replicas == 0 || fetch.replicas > DSPM_REPLICAS_MAX)
    fail(EAGAIN, context + ": the dataset changed while it was read");

  Placement out;
  out.id = fetch.id;
  out.chunk_size = fetch.chunk_size;
  out.replicas = fetch.replicas;
  out.chunks.reserve(entries.size());
  for (const auto& e : entries) {
    std::vector<std::uint32_t> nodes(e.node, e.node + fetch.replicas);
    if (std::find(nodes.begin(), nodes.end(), 0U) != nodes.end())
      fail(EPROTO, context + ": a chunk without its " + std::to_string(fetch.replicas) + " nodes");
    out.chunks.push_back(std::move(nodes));
  }
  return out;
}

}  // namespace abi
}  // namespace dspm
