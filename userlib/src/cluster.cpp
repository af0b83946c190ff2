// Pure cluster helpers: addresses, the key file, join/leave/nodes structs and the node table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dspm/abi.hpp"

namespace dspm {
namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

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
  const std::string context = "key file " + printable(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errno, context);

  KeyFile out;
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    const int err = errno;
    ::close(fd);
    fail(err, context);
  }
  out.group_or_other_access = (st.st_mode & 077) != 0;

  // Read straight into the result (no stray copies of the key), at most one byte more than a
  // maximal key and its newline, which is enough to tell that the file is too long.
  constexpr std::size_t limit = DSPM_KEY_MAX + 2;
  out.key.resize(limit);
  std::size_t length = 0;
  while (length < limit) {
    const ssize_t n = ::read(fd, out.key.data() + length, limit - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(err, context);
    }
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (length > 0 && out.key[length - 1] == '\n') --length;
  out.key.resize(length);
  if (length > DSPM_KEY_MAX)
    fail(EINVAL, context + ": the key is longer than the " + std::to_string(DSPM_KEY_MAX) +
                     " bytes allowed");
  if (length < DSPM_KEY_MIN)
    fail(EINVAL, context + ": the key is " + std::to_string(length) + " bytes long, " +
                     std::to_string(DSPM_KEY_MIN) + ".." + std::to_string(DSPM_KEY_MAX) +
                     " are needed");
  return out;
}

namespace abi {

dspm_addr parse_address(std::string_view text, std::string_view context) {
  auto bad = [&](const std::string& why) {
    fail(EINVAL, std::string(context) + " '" + printable(text) + "': " + why);
  };
  constexpr const char* want = " (want ADDR:PORT or [ADDR6]:PORT, numeric)";
  if (text.empty()) bad(std::string("is empty") + want);
  if (text.find('\0') != std::string_view::npos) bad("contains a NUL byte");

  std::string_view host, port;
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) bad("has no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) bad(std::string("has no port") + want);
    if (rest.front() != ':') bad("has '" + printable(rest) + "' after ']' instead of ':PORT'");
    port = rest.substr(1);
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad(std::string("has no port") + want);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      bad("an IPv6 address needs brackets, e.g. [::1]:7470");
  }

  if (host.empty()) bad(std::string("has no address") + want);
  if (port.empty()) bad(std::string("has no port") + want);
  if (!std::all_of(port.begin(), port.end(), is_digit))
    bad("port '" + printable(port) + "' is not a decimal number");
  std::uint32_t number = 0;
  for (char c : port) {
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
    if (number > 65535) break;
  }
  if (number < 1 || number > 65535) bad("port " + std::string(port) + " is outside 1..65535");

  auto out = zeroed<dspm_addr>();
  out.port = number;
  const std::string host_z(host);
  if (bracketed) {
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host_z.c_str(), &a6) != 1) {
      in_addr a4{};
      if (::inet_pton(AF_INET, host_z.c_str(), &a4) == 1)
        bad("brackets are for IPv6 addresses only");
      bad("'" + printable(host) + "' is not a numeric IPv6 address");
    }
    static_assert(sizeof a6 == sizeof out.addr);
    std::memcpy(out.addr, &a6, sizeof a6);
    out.family = DSPM_AF_INET6;
  } else {
    in_addr a4{};
    if (::inet_pton(AF_INET, host_z.c_str(), &a4) != 1)
      bad("'" + printable(host) + "' is not a numeric IPv4 address (a.b.c.d)");
    std::memcpy(out.addr, &a4, sizeof a4);
    out.family = DSPM_AF_INET;
  }
  return out;
}

std::string format_address(const dspm_addr& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (addr.family) {
    case 0:
      return {};
    case DSPM_AF_INET:
      if (!::inet_ntop(AF_INET, addr.addr, buf, sizeof buf)) return "<invalid IPv4 address>";
      return std::string(buf) + ":" + std::to_string(addr.port);
    case DSPM_AF_INET6:
      if (!::inet_ntop(AF_INET6, addr.addr, buf, sizeof buf)) return "<invalid IPv6 address>";
      return "[" + std::string(buf) + "]:" + std::to_string(addr.port);
    default:
      return "<family " + std::to_string(addr.family) + ">";
  }
}

namespace {

dspm_addr connectable_address(std::string_view text, const std::string& context) {
  const dspm_addr out = parse_address(text, context);
  if (std::all_of(std::begin(out.addr), std::end(out.addr), [](std::uint8_t b) { return b == 0; }))
    fail(EINVAL,
         context + " '" + printable(text) + "': the unspecified address cannot be connected to");
  return out;
}

}  // namespace

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
