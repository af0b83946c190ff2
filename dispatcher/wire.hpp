// SPDX-License-Identifier: MIT
// The node <-> dispatcher wire protocol (uapi/linux/dspm_wire.h) in C++: host-side message
// values, encode() to bytes and decode() from untrusted bytes with full validation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"  // flexible array members of the C header
#include <linux/dspm_wire.h>
#pragma GCC diagnostic pop

namespace dspm::dispatcher {

// A value or an error (errno + text); C++20 stand-in for std::expected.
struct Error {
  int code = 0;  // positive errno
  std::string message;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Uuid = std::array<std::uint8_t, DSPM_WIRE_UUID_SIZE>;
using Nonce = std::array<std::uint8_t, DSPM_WIRE_NONCE_SIZE>;
using Mac = std::array<std::uint8_t, DSPM_WIRE_MAC_SIZE>;

struct Address {
  std::array<std::uint8_t, 16> addr{};
  std::uint16_t port = 0;
  std::uint16_t family = DSPM_WIRE_AF_INET;
  bool operator==(const Address&) const = default;
};

enum class NodeState : std::uint32_t {
  alive = DSPM_WIRE_NODE_ALIVE,
  suspect = DSPM_WIRE_NODE_SUSPECT,
  dead = DSPM_WIRE_NODE_DEAD,
};

struct Hello {
  Uuid uuid{};
  std::uint32_t claimed_id = 0;
  std::uint64_t capacity = 0;
  std::uint64_t free = 0;
  std::uint64_t incarnation = 0;  // new on every start of the node, never 0
  Address addr;
  Nonce nonce{};
  bool operator==(const Hello&) const = default;
};

struct Challenge {
  Nonce nonce{};
  Mac mac{};
  bool operator==(const Challenge&) const = default;
};

struct Auth {
  Uuid uuid{};
  Mac mac{};
  bool operator==(const Auth&) const = default;
};

struct JoinAccept {
  std::uint32_t node_id = 0;
  std::uint32_t heartbeat_ms = 0;
  bool operator==(const JoinAccept&) const = default;
};

struct Heartbeat {
  std::uint64_t free = 0;
  std::uint64_t table_epoch = 0;
  bool operator==(const Heartbeat&) const = default;
};

struct NodeEntry {
  std::uint32_t id = 0;
  NodeState state = NodeState::alive;
  Uuid uuid{};
  Address addr;
  std::uint64_t capacity = 0;
  std::uint64_t free = 0;
  std::uint64_t incarnation = 0;  // of the node's last join; 0 if unknown
  bool operator==(const NodeEntry&) const = default;
};

struct NodeTable {
  std::uint64_t epoch = 0;
  std::vector<NodeEntry> nodes;  // ids strictly increasing
  bool operator==(const NodeTable&) const = default;
};

struct DatasetCreate {
  std::string name;
  std::uint64_t length = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t model = 0;
  std::uint32_t replicas = 1;
  std::uint64_t chunk_size = 0;  // 0: the dispatcher chooses
  bool operator==(const DatasetCreate&) const = default;
};

struct DatasetDelete {
  std::string name;
  bool operator==(const DatasetDelete&) const = default;
};

struct DatasetLookup {
  std::string name;
  bool operator==(const DatasetLookup&) const = default;
};

struct DatasetList {
  std::uint64_t cursor = 0;
  std::uint32_t max = DSPM_WIRE_LIST_MAX;
  bool operator==(const DatasetList&) const = default;
};

struct DatasetDesc {
  std::string name;
  std::uint64_t id = 0;
  std::uint64_t length = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t model = 0;
  std::uint32_t replicas = 1;
  std::uint32_t chunks = 0;
  std::uint64_t chunk_size = 0;
  bool operator==(const DatasetDesc&) const = default;
};

// Node ids holding one chunk: [0] the home, then the replicas; size == replicas.
using ChunkNodes = std::vector<std::uint32_t>;

struct DatasetReply {
  DatasetDesc dataset;
  std::vector<ChunkNodes> chunks;  // size == dataset.chunks
  bool operator==(const DatasetReply&) const = default;
};

struct DeleteReply {
  std::string name;
  std::uint64_t id = 0;
  bool operator==(const DeleteReply&) const = default;
};

struct ListReply {
  std::uint64_t next_cursor = 0;
  bool more = false;
  std::vector<DatasetDesc> datasets;  // ids strictly increasing
  bool operator==(const ListReply&) const = default;
};

struct ErrorReply {
  int error = 0;  // positive errno
  std::uint16_t request_type = 0;
  bool operator==(const ErrorReply&) const = default;
};

using Body = std::variant<Hello, Challenge, Auth, JoinAccept, Heartbeat, NodeTable, DatasetCreate,
                          DatasetDelete, DatasetLookup, DatasetList, DatasetReply, DeleteReply,
                          ListReply, ErrorReply>;

struct Message {
  std::uint32_t sender = 0;
  std::uint64_t request_id = 0;
  Body body;
  bool operator==(const Message&) const = default;
};

// DSPM_WIRE_* type of a body.
std::uint16_t type_of(const Body& body);

// Chunks of a dataset of @length bytes cut in @chunk_size pieces (chunk_size > 0).
inline std::uint64_t chunk_count(std::uint64_t length, std::uint64_t chunk_size) {
  return length / chunk_size + (length % chunk_size != 0 ? 1 : 0);
}

// The bytes of @msg.  Throws std::system_error(EINVAL) when @msg is not valid itself
// (what decode() would reject), so that a bad message is never sent.
std::vector<std::byte> encode(const Message& msg);

// The message in @bytes, which must be exactly one whole message.  Never trusts the
// input: every field is checked, EINVAL/EBADMSG/EPROTO/EMSGSIZE on failure.
Result<Message> decode(std::span<const std::byte> bytes);

// How many bytes the message starting with @header (DSPM_WIRE_HDR_SIZE bytes) claims to
// have, once magic, version, type and length bound are checked: for stream framing.
Result<std::size_t> peek_length(std::span<const std::byte> header);

}  // namespace dspm::dispatcher
