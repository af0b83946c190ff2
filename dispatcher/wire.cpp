// SPDX-License-Identifier: MIT
#include "wire.hpp"

#include <linux/dspm.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>
#include <type_traits>

#include "dspm_common/name.hpp"

namespace dspm::dispatcher {

static_assert(DSPM_WIRE_NAME_MAX == DSPM_NAME_MAX);
static_assert(DSPM_WIRE_REPLICAS_MAX == DSPM_REPLICAS_MAX);
static_assert(sizeof(dspm_wire_hdr) == DSPM_WIRE_HDR_SIZE);
static_assert(sizeof(dspm_wire_addr) == DSPM_WIRE_ADDR_SIZE);
static_assert(sizeof(dspm_wire_hello) == DSPM_WIRE_HELLO_SIZE);
static_assert(sizeof(dspm_wire_challenge) == DSPM_WIRE_CHALLENGE_SIZE);
static_assert(sizeof(dspm_wire_auth) == DSPM_WIRE_AUTH_SIZE);
static_assert(sizeof(dspm_wire_join_accept) == DSPM_WIRE_JOIN_ACCEPT_SIZE);
static_assert(sizeof(dspm_wire_heartbeat) == DSPM_WIRE_HEARTBEAT_SIZE);
static_assert(sizeof(dspm_wire_node) == DSPM_WIRE_NODE_SIZE);
static_assert(sizeof(dspm_wire_node_table) == DSPM_WIRE_NODE_TABLE_SIZE);
static_assert(sizeof(dspm_wire_dataset_create) == DSPM_WIRE_DATASET_CREATE_SIZE);
static_assert(sizeof(dspm_wire_dataset_name) == DSPM_WIRE_DATASET_NAME_SIZE);
static_assert(sizeof(dspm_wire_dataset_list) == DSPM_WIRE_DATASET_LIST_SIZE);
static_assert(sizeof(dspm_wire_dataset) == DSPM_WIRE_DATASET_SIZE);
static_assert(sizeof(dspm_wire_chunk) == DSPM_WIRE_CHUNK_SIZE);
static_assert(sizeof(dspm_wire_dataset_reply) == DSPM_WIRE_DATASET_REPLY_SIZE);
static_assert(sizeof(dspm_wire_delete_reply) == DSPM_WIRE_DELETE_REPLY_SIZE);
static_assert(sizeof(dspm_wire_list_reply) == DSPM_WIRE_LIST_REPLY_SIZE);
static_assert(sizeof(dspm_wire_error) == DSPM_WIRE_ERROR_SIZE);
// The largest variable messages fit the bound.
static_assert(DSPM_WIRE_NODE_TABLE_SIZE + DSPM_WIRE_NODES_MAX * DSPM_WIRE_NODE_SIZE <=
              DSPM_WIRE_MAX_MESSAGE);
static_assert(DSPM_WIRE_DATASET_REPLY_SIZE + DSPM_WIRE_CHUNKS_MAX * DSPM_WIRE_CHUNK_SIZE <=
              DSPM_WIRE_MAX_MESSAGE);
static_assert(DSPM_WIRE_LIST_REPLY_SIZE + DSPM_WIRE_LIST_MAX * DSPM_WIRE_DATASET_SIZE <=
              DSPM_WIRE_MAX_MESSAGE);

namespace {

// --- little-endian helpers ---------------------------------------------------------------

template <typename T>
T byteswap_if_big(T v) {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
    return v;
  } else {
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      r = static_cast<T>((r << 8) | ((v >> (8 * i)) & 0xff));
    }
    return r;
  }
}

// Host value <-> the __le field (a plain unsigned integer in user space).
template <typename T>
T le(T v) {
  return byteswap_if_big(v);
}

Error err(int code, std::string message) {
  return Error{code, std::move(message)};
}

constexpr std::uint32_t node_id_max = DSPM_WIRE_NODE_DISPATCHER - 1;

// --- field validation ----------------------------------------------------------------

// The kernel's dspm_name_check() of the field: a valid name, NUL-padded.
bool valid_name_field(const char (&name)[DSPM_WIRE_NAME_MAX], std::string* out) {
  const auto valid = common::name_in_field(name);
  if (!valid) return false;
  if (out != nullptr) out->assign(*valid);
  return true;
}

void put_name(char (&dst)[DSPM_WIRE_NAME_MAX], const std::string& name) {
  std::memset(dst, 0, sizeof(dst));
  if (name.size() >= sizeof(dst)) {
    throw std::system_error(EINVAL, std::generic_category(), "wire: dataset name too long");
  }
  std::memcpy(dst, name.data(), name.size());
}

bool is_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return std::all_of(b, b + n, [](std::uint8_t c) { return c == 0; });
}

bool valid_chunk_size(std::uint64_t cs) {
  return std::has_single_bit(cs) && cs >= DSPM_WIRE_CHUNK_SIZE_MIN &&
         cs <= DSPM_WIRE_CHUNK_SIZE_MAX;
}

Result<Address> get_addr(const dspm_wire_addr& a) {
  Address out;
  std::memcpy(out.addr.data(), a.addr, sizeof(a.addr));
  out.port = le<std::uint16_t>(a.port);
  out.family = le<std::uint16_t>(a.family);
  if (a.reserved != 0) return err(EINVAL, "address: reserved field not zero");
  if (out.port == 0) return err(EINVAL, "address: port 0");
  if (out.family == DSPM_WIRE_AF_INET) {
    if (!is_zero(a.addr + 4, sizeof(a.addr) - 4)) return err(EINVAL, "address: IPv4 tail not zero");
  } else if (out.family != DSPM_WIRE_AF_INET6) {
    return err(EINVAL, "address: unknown family");
  }
  return out;
}

void put_addr(dspm_wire_addr& a, const Address& in) {
  std::memcpy(a.addr, in.addr.data(), sizeof(a.addr));
  a.port = le<std::uint16_t>(in.port);
  a.family = le<std::uint16_t>(in.family);
  a.reserved = 0;
}

Result<DatasetDesc> get_dataset(const dspm_wire_dataset& d) {
  DatasetDesc out;
  if (!valid_name_field(d.name, &out.name)) return err(EINVAL, "dataset: invalid name");
  out.id = le<std::uint64_t>(d.id);
  out.length = le<std::uint64_t>(d.length);
  out.mode = le<std::uint32_t>(d.mode);
  out.uid = le<std::uint32_t>(d.uid);
  out.gid = le<std::uint32_t>(d.gid);
  out.model = le<std::uint32_t>(d.model);
  out.replicas = le<std::uint32_t>(d.replicas);
  out.chunks = le<std::uint32_t>(d.chunks);
  out.chunk_size = le<std::uint64_t>(d.chunk_size);
  if (out.id == 0) return err(EINVAL, "dataset: id 0");
  if (out.length == 0 || out.length > DSPM_DATASET_LENGTH_MAX) {
    return err(EINVAL, "dataset: length out of range");
  }
  if (out.mode > 0777) return err(EINVAL, "dataset: mode out of range");
  if (out.model > DSPM_MODEL_MRSW) return err(EINVAL, "dataset: unknown model");
  if (out.replicas == 0 || out.replicas > DSPM_WIRE_REPLICAS_MAX) {
    return err(EINVAL, "dataset: replicas out of range");
  }
  if (!valid_chunk_size(out.chunk_size)) return err(EINVAL, "dataset: invalid chunk size");
  if (out.chunks != chunk_count(out.length, out.chunk_size) || out.chunks > DSPM_WIRE_CHUNKS_MAX) {
    return err(EINVAL, "dataset: chunk count does not match length");
  }
  return out;
}

void put_dataset(dspm_wire_dataset& d, const DatasetDesc& in) {
  put_name(d.name, in.name);
  d.id = le(in.id);
  d.length = le(in.length);
  d.mode = le(in.mode);
  d.uid = le(in.uid);
  d.gid = le(in.gid);
  d.model = le(in.model);
  d.replicas = le(in.replicas);
  d.chunks = le(in.chunks);
  d.chunk_size = le(in.chunk_size);
}

template <typename S>
S load(std::span<const std::byte> bytes, std::size_t offset = 0) {
  S s;
  std::memcpy(&s, bytes.data() + offset, sizeof(S));
  return s;
}

template <typename S>
void store(std::vector<std::byte>& out, const S& s, std::size_t offset = 0) {
  std::memcpy(out.data() + offset, &s, sizeof(S));
}

// Fixed size of each type and, for variable ones, the entry size (0: fixed).
struct Shape {
  std::size_t fixed;
  std::size_t entry;
};

Shape shape_of(std::uint16_t type) {
  switch (type) {
    case DSPM_WIRE_HELLO:
      return {DSPM_WIRE_HELLO_SIZE, 0};
    case DSPM_WIRE_CHALLENGE:
      return {DSPM_WIRE_CHALLENGE_SIZE, 0};
    case DSPM_WIRE_AUTH:
      return {DSPM_WIRE_AUTH_SIZE, 0};
    case DSPM_WIRE_JOIN_ACCEPT:
      return {DSPM_WIRE_JOIN_ACCEPT_SIZE, 0};
    case DSPM_WIRE_HEARTBEAT:
      return {DSPM_WIRE_HEARTBEAT_SIZE, 0};
    case DSPM_WIRE_NODE_TABLE:
      return {DSPM_WIRE_NODE_TABLE_SIZE, DSPM_WIRE_NODE_SIZE};
    case DSPM_WIRE_DATASET_CREATE:
      return {DSPM_WIRE_DATASET_CREATE_SIZE, 0};
    case DSPM_WIRE_DATASET_DELETE:
    case DSPM_WIRE_DATASET_LOOKUP:
      return {DSPM_WIRE_DATASET_NAME_SIZE, 0};
    case DSPM_WIRE_DATASET_LIST:
      return {DSPM_WIRE_DATASET_LIST_SIZE, 0};
    case DSPM_WIRE_DATASET_REPLY:
      return {DSPM_WIRE_DATASET_REPLY_SIZE, DSPM_WIRE_CHUNK_SIZE};
    case DSPM_WIRE_DELETE_REPLY:
      return {DSPM_WIRE_DELETE_REPLY_SIZE, 0};
    case DSPM_WIRE_LIST_REPLY:
      return {DSPM_WIRE_LIST_REPLY_SIZE, DSPM_WIRE_DATASET_SIZE};
    case DSPM_WIRE_ERROR:
      return {DSPM_WIRE_ERROR_SIZE, 0};
    default:
      return {0, 0};
  }
}

// Who may send each type: the dispatcher, a joined node, a node not joined yet, anybody.
enum class From { dispatcher, node, unjoined, any };

From sender_of(std::uint16_t type) {
  switch (type) {
    case DSPM_WIRE_HELLO:
    case DSPM_WIRE_AUTH:
      return From::unjoined;
    case DSPM_WIRE_HEARTBEAT:
    case DSPM_WIRE_DATASET_CREATE:
    case DSPM_WIRE_DATASET_DELETE:
    case DSPM_WIRE_DATASET_LOOKUP:
    case DSPM_WIRE_DATASET_LIST:
      return From::node;
    case DSPM_WIRE_ERROR:
      return From::any;
    default:
      return From::dispatcher;
  }
}

Result<dspm_wire_hdr> check_header(std::span<const std::byte> bytes, bool whole) {
  if (bytes.size() < DSPM_WIRE_HDR_SIZE) return err(EBADMSG, "truncated header");
  auto h = load<dspm_wire_hdr>(bytes);
  if (le<std::uint32_t>(h.magic) != DSPM_WIRE_MAGIC) return err(EPROTO, "bad magic");
  if (le<std::uint16_t>(h.version) != DSPM_WIRE_VERSION) return err(EPROTO, "unknown version");
  std::uint16_t type = le<std::uint16_t>(h.type);
  Shape shape = shape_of(type);
  if (shape.fixed == 0) return err(EPROTO, "unknown message type");
  std::uint32_t length = le<std::uint32_t>(h.length);
  if (length > DSPM_WIRE_MAX_MESSAGE) return err(EMSGSIZE, "message longer than the maximum");
  if (shape.entry == 0 ? length != shape.fixed
                       : (length < shape.fixed || (length - shape.fixed) % shape.entry != 0)) {
    return err(EBADMSG, "length does not match the message type");
  }
  if (whole && bytes.size() != length) return err(EBADMSG, "length does not match the buffer");
  if (h.reserved != 0) return err(EINVAL, "header reserved field not zero");
  std::uint32_t status = le<std::uint32_t>(h.status);
  if (type == DSPM_WIRE_ERROR ? (status == 0 || status > DSPM_WIRE_ERRNO_MAX) : status != 0) {
    return err(EINVAL, "bad status");
  }
  std::uint32_t sender = le<std::uint32_t>(h.sender);
  bool sender_ok = true;
  switch (sender_of(type)) {
    case From::dispatcher:
      sender_ok = sender == DSPM_WIRE_NODE_DISPATCHER;
      break;
    case From::node:
      sender_ok = sender != 0 && sender != DSPM_WIRE_NODE_DISPATCHER;
      break;
    case From::unjoined:
      sender_ok = sender == 0;
      break;
    case From::any:
      break;
  }
  if (!sender_ok) return err(EINVAL, "sender not allowed for this message type");
  return h;
}

Result<Body> decode_body(std::uint16_t type, std::uint32_t status, std::span<const std::byte> b) {
  switch (type) {
    case DSPM_WIRE_HELLO: {
      auto m = load<dspm_wire_hello>(b);
      Hello out;
      std::memcpy(out.uuid.data(), m.uuid, sizeof(m.uuid));
      std::memcpy(out.nonce.data(), m.nonce, sizeof(m.nonce));
      out.claimed_id = le<std::uint32_t>(m.claimed_id);
      out.capacity = le<std::uint64_t>(m.capacity);
      out.free = le<std::uint64_t>(m.free);
      out.incarnation = le<std::uint64_t>(m.incarnation);
      if (m.reserved != 0) return err(EINVAL, "hello: reserved field not zero");
      if (out.incarnation == 0) return err(EINVAL, "hello: zero incarnation");
      if (is_zero(m.uuid, sizeof(m.uuid))) return err(EINVAL, "hello: nil uuid");
      if (out.claimed_id == DSPM_WIRE_NODE_DISPATCHER) return err(EINVAL, "hello: bad claimed id");
      if (out.free > out.capacity) return err(EINVAL, "hello: free exceeds capacity");
      auto addr = get_addr(m.addr);
      if (!addr) return addr.error();
      out.addr = addr.value();
      return Body{out};
    }
    case DSPM_WIRE_CHALLENGE: {
      auto m = load<dspm_wire_challenge>(b);
      Challenge out;
      std::memcpy(out.nonce.data(), m.nonce, sizeof(m.nonce));
      std::memcpy(out.mac.data(), m.mac, sizeof(m.mac));
      return Body{out};
    }
    case DSPM_WIRE_AUTH: {
      auto m = load<dspm_wire_auth>(b);
      Auth out;
      std::memcpy(out.uuid.data(), m.uuid, sizeof(m.uuid));
      std::memcpy(out.mac.data(), m.mac, sizeof(m.mac));
      if (is_zero(m.uuid, sizeof(m.uuid))) return err(EINVAL, "auth: nil uuid");
      return Body{out};
    }
    case DSPM_WIRE_JOIN_ACCEPT: {
      auto m = load<dspm_wire_join_accept>(b);
      JoinAccept out{le<std::uint32_t>(m.node_id), le<std::uint32_t>(m.heartbeat_ms)};
      if (m.reserved != 0) return err(EINVAL, "join accept: reserved field not zero");
      if (out.node_id == 0 || out.node_id > node_id_max) {
        return err(EINVAL, "join accept: bad node id");
      }
      if (out.heartbeat_ms == 0) return err(EINVAL, "join accept: heartbeat interval 0");
      return Body{out};
    }
    case DSPM_WIRE_HEARTBEAT: {
      auto m = load<dspm_wire_heartbeat>(b);
      return Body{Heartbeat{le<std::uint64_t>(m.free), le<std::uint64_t>(m.table_epoch)}};
    }
    case DSPM_WIRE_NODE_TABLE: {
      auto m = load<dspm_wire_node_table>(b);
      std::uint32_t count = le<std::uint32_t>(m.count);
      if (m.reserved != 0) return err(EINVAL, "node table: reserved field not zero");
      if (count > DSPM_WIRE_NODES_MAX ||
          b.size() != DSPM_WIRE_NODE_TABLE_SIZE + std::size_t{count} * DSPM_WIRE_NODE_SIZE) {
        return err(EBADMSG, "node table: count does not match length");
      }
      NodeTable out;
      out.epoch = le<std::uint64_t>(m.epoch);
      out.nodes.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) {
        auto n = load<dspm_wire_node>(b, DSPM_WIRE_NODE_TABLE_SIZE + i * DSPM_WIRE_NODE_SIZE);
        NodeEntry e;
        e.id = le<std::uint32_t>(n.id);
        std::uint32_t state = le<std::uint32_t>(n.state);
        std::memcpy(e.uuid.data(), n.uuid, sizeof(n.uuid));
        e.capacity = le<std::uint64_t>(n.capacity);
        e.free = le<std::uint64_t>(n.free);
        e.incarnation = le<std::uint64_t>(n.incarnation);
        if (e.id == 0 || e.id > node_id_max) return err(EINVAL, "node table: bad node id");
        if (!out.nodes.empty() && e.id <= out.nodes.back().id) {
          return err(EINVAL, "node table: ids not increasing");
        }
        if (state < DSPM_WIRE_NODE_ALIVE || state > DSPM_WIRE_NODE_DEAD) {
          return err(EINVAL, "node table: bad node state");
        }
        e.state = static_cast<NodeState>(state);
        if (is_zero(n.uuid, sizeof(n.uuid))) return err(EINVAL, "node table: nil uuid");
        if (e.free > e.capacity) return err(EINVAL, "node table: free exceeds capacity");
        auto addr = get_addr(n.addr);
        if (!addr) return addr.error();
        e.addr = addr.value();
        out.nodes.push_back(e);
      }
      return Body{std::move(out)};
    }
    case DSPM_WIRE_DATASET_CREATE: {
      auto m = load<dspm_wire_dataset_create>(b);
      DatasetCreate out;
      if (!valid_name_field(m.name, &out.name)) return err(EINVAL, "create: invalid name");
      out.length = le<std::uint64_t>(m.length);
      out.mode = le<std::uint32_t>(m.mode);
      out.uid = le<std::uint32_t>(m.uid);
      out.gid = le<std::uint32_t>(m.gid);
      out.model = le<std::uint32_t>(m.model);
      out.replicas = le<std::uint32_t>(m.replicas);
      out.chunk_size = le<std::uint64_t>(m.chunk_size);
      if (m.reserved != 0) return err(EINVAL, "create: reserved field not zero");
      if (out.length == 0 || out.length > DSPM_DATASET_LENGTH_MAX) {
        return err(EINVAL, "create: length out of range");
      }
      if (out.mode > 0777) return err(EINVAL, "create: mode out of range");
      if (out.model > DSPM_MODEL_MRSW) return err(EINVAL, "create: unknown model");
      if (out.replicas == 0 || out.replicas > DSPM_WIRE_REPLICAS_MAX) {
        return err(EINVAL, "create: replicas out of range");
      }
      if (out.chunk_size != 0 && (!valid_chunk_size(out.chunk_size) ||
                                  chunk_count(out.length, out.chunk_size) > DSPM_WIRE_CHUNKS_MAX)) {
        return err(EINVAL, "create: invalid chunk size");
      }
      return Body{std::move(out)};
    }
    case DSPM_WIRE_DATASET_DELETE:
    case DSPM_WIRE_DATASET_LOOKUP: {
      auto m = load<dspm_wire_dataset_name>(b);
      std::string name;
      if (!valid_name_field(m.name, &name)) return err(EINVAL, "dataset request: invalid name");
      if (type == DSPM_WIRE_DATASET_DELETE) return Body{DatasetDelete{std::move(name)}};
      return Body{DatasetLookup{std::move(name)}};
    }
    case DSPM_WIRE_DATASET_LIST: {
      auto m = load<dspm_wire_dataset_list>(b);
      DatasetList out{le<std::uint64_t>(m.cursor), le<std::uint32_t>(m.max)};
      if (m.reserved != 0) return err(EINVAL, "list: reserved field not zero");
      if (out.max == 0 || out.max > DSPM_WIRE_LIST_MAX) return err(EINVAL, "list: bad max");
      return Body{out};
    }
    case DSPM_WIRE_DATASET_REPLY: {
      auto m = load<dspm_wire_dataset_reply>(b);
      auto desc = get_dataset(m.dataset);
      if (!desc) return desc.error();
      DatasetReply out;
      out.dataset = std::move(desc).value();
      if (b.size() !=
          DSPM_WIRE_DATASET_REPLY_SIZE + std::size_t{out.dataset.chunks} * DSPM_WIRE_CHUNK_SIZE) {
        return err(EBADMSG, "dataset reply: chunk count does not match length");
      }
      out.chunks.reserve(out.dataset.chunks);
      for (std::uint32_t i = 0; i < out.dataset.chunks; ++i) {
        auto c = load<dspm_wire_chunk>(
            b, DSPM_WIRE_DATASET_REPLY_SIZE + std::size_t{i} * DSPM_WIRE_CHUNK_SIZE);
        ChunkNodes nodes;
        nodes.reserve(out.dataset.replicas);
        for (std::uint32_t r = 0; r < DSPM_WIRE_REPLICAS_MAX; ++r) {
          std::uint32_t id = le<std::uint32_t>(c.node[r]);
          if (r < out.dataset.replicas) {
            if (id == 0 || id > node_id_max) return err(EINVAL, "dataset reply: bad node id");
            if (std::find(nodes.begin(), nodes.end(), id) != nodes.end()) {
              return err(EINVAL, "dataset reply: node holds a chunk twice");
            }
            nodes.push_back(id);
          } else if (id != 0) {
            return err(EINVAL, "dataset reply: node id beyond replicas");
          }
        }
        out.chunks.push_back(std::move(nodes));
      }
      return Body{std::move(out)};
    }
    case DSPM_WIRE_DELETE_REPLY: {
      auto m = load<dspm_wire_delete_reply>(b);
      DeleteReply out;
      if (!valid_name_field(m.name, &out.name)) return err(EINVAL, "delete reply: invalid name");
      out.id = le<std::uint64_t>(m.id);
      if (out.id == 0) return err(EINVAL, "delete reply: id 0");
      return Body{std::move(out)};
    }
    case DSPM_WIRE_LIST_REPLY: {
      auto m = load<dspm_wire_list_reply>(b);
      std::uint32_t count = le<std::uint32_t>(m.count);
      std::uint32_t flags = le<std::uint32_t>(m.flags);
      if ((flags & ~DSPM_WIRE_LIST_MORE) != 0) return err(EINVAL, "list reply: unknown flags");
      if (count > DSPM_WIRE_LIST_MAX ||
          b.size() != DSPM_WIRE_LIST_REPLY_SIZE + std::size_t{count} * DSPM_WIRE_DATASET_SIZE) {
        return err(EBADMSG, "list reply: count does not match length");
      }
      ListReply out;
      out.next_cursor = le<std::uint64_t>(m.next_cursor);
      out.more = (flags & DSPM_WIRE_LIST_MORE) != 0;
      out.datasets.reserve(count);
      for (std::uint32_t i = 0; i < count; ++i) {
        auto d = get_dataset(load<dspm_wire_dataset>(
            b, DSPM_WIRE_LIST_REPLY_SIZE + std::size_t{i} * DSPM_WIRE_DATASET_SIZE));
        if (!d) return d.error();
        if (!out.datasets.empty() && d.value().id <= out.datasets.back().id) {
          return err(EINVAL, "list reply: ids not increasing");
        }
        out.datasets.push_back(std::move(d).value());
      }
      if (!out.datasets.empty() && out.next_cursor != out.datasets.back().id) {
        return err(EINVAL, "list reply: cursor is not the last id");
      }
      return Body{std::move(out)};
    }
    case DSPM_WIRE_ERROR: {
      auto m = load<dspm_wire_error>(b);
      ErrorReply out{static_cast<int>(status), le<std::uint16_t>(m.request_type)};
      if (m.reserved0 != 0 || m.reserved1 != 0) return err(EINVAL, "error: reserved not zero");
      if (out.request_type == 0 || out.request_type > DSPM_WIRE_TYPE_MAX) {
        return err(EINVAL, "error: unknown request type");
      }
      return Body{out};
    }
    default:
      return err(EPROTO, "unknown message type");
  }
}

// --- encoding ------------------------------------------------------------------------

struct Encoder {
  std::vector<std::byte> out;

  std::size_t operator()(const Hello& m) {
    dspm_wire_hello w{};
    std::memcpy(w.uuid, m.uuid.data(), sizeof(w.uuid));
    std::memcpy(w.nonce, m.nonce.data(), sizeof(w.nonce));
    w.claimed_id = le(m.claimed_id);
    w.capacity = le(m.capacity);
    w.free = le(m.free);
    w.incarnation = le(m.incarnation);
    put_addr(w.addr, m.addr);
    return put(w);
  }
  std::size_t operator()(const Challenge& m) {
    dspm_wire_challenge w{};
    std::memcpy(w.nonce, m.nonce.data(), sizeof(w.nonce));
    std::memcpy(w.mac, m.mac.data(), sizeof(w.mac));
    return put(w);
  }
  std::size_t operator()(const Auth& m) {
    dspm_wire_auth w{};
    std::memcpy(w.uuid, m.uuid.data(), sizeof(w.uuid));
    std::memcpy(w.mac, m.mac.data(), sizeof(w.mac));
    return put(w);
  }
  std::size_t operator()(const JoinAccept& m) {
    dspm_wire_join_accept w{};
    w.node_id = le(m.node_id);
    w.heartbeat_ms = le(m.heartbeat_ms);
    return put(w);
  }
  std::size_t operator()(const Heartbeat& m) {
    dspm_wire_heartbeat w{};
    w.free = le(m.free);
    w.table_epoch = le(m.table_epoch);
    return put(w);
  }
  std::size_t operator()(const NodeTable& m) {
    check_count(m.nodes.size(), DSPM_WIRE_NODES_MAX);
    dspm_wire_node_table w{};
    w.epoch = le(m.epoch);
    w.count = le(static_cast<std::uint32_t>(m.nodes.size()));
    std::size_t len = put(w, m.nodes.size() * DSPM_WIRE_NODE_SIZE);
    for (std::size_t i = 0; i < m.nodes.size(); ++i) {
      const NodeEntry& e = m.nodes[i];
      dspm_wire_node n{};
      n.id = le(e.id);
      n.state = le(static_cast<std::uint32_t>(e.state));
      std::memcpy(n.uuid, e.uuid.data(), sizeof(n.uuid));
      put_addr(n.addr, e.addr);
      n.capacity = le(e.capacity);
      n.free = le(e.free);
      n.incarnation = le(e.incarnation);
      store(out, n, DSPM_WIRE_NODE_TABLE_SIZE + i * DSPM_WIRE_NODE_SIZE);
    }
    return len;
  }
  std::size_t operator()(const DatasetCreate& m) {
    dspm_wire_dataset_create w{};
    put_name(w.name, m.name);
    w.length = le(m.length);
    w.mode = le(m.mode);
    w.uid = le(m.uid);
    w.gid = le(m.gid);
    w.model = le(m.model);
    w.replicas = le(m.replicas);
    w.chunk_size = le(m.chunk_size);
    return put(w);
  }
  std::size_t operator()(const DatasetDelete& m) { return put_name_msg(m.name); }
  std::size_t operator()(const DatasetLookup& m) { return put_name_msg(m.name); }
  std::size_t operator()(const DatasetList& m) {
    dspm_wire_dataset_list w{};
    w.cursor = le(m.cursor);
    w.max = le(m.max);
    return put(w);
  }
  std::size_t operator()(const DatasetReply& m) {
    check_count(m.chunks.size(), DSPM_WIRE_CHUNKS_MAX);
    dspm_wire_dataset_reply w{};
    put_dataset(w.dataset, m.dataset);
    std::size_t len = put(w, m.chunks.size() * DSPM_WIRE_CHUNK_SIZE);
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
      check_count(m.chunks[i].size(), DSPM_WIRE_REPLICAS_MAX);
      dspm_wire_chunk c{};
      for (std::size_t r = 0; r < m.chunks[i].size(); ++r) c.node[r] = le(m.chunks[i][r]);
      store(out, c, DSPM_WIRE_DATASET_REPLY_SIZE + i * DSPM_WIRE_CHUNK_SIZE);
    }
    return len;
  }
  std::size_t operator()(const DeleteReply& m) {
    dspm_wire_delete_reply w{};
    put_name(w.name, m.name);
    w.id = le(m.id);
    return put(w);
  }
  std::size_t operator()(const ListReply& m) {
    check_count(m.datasets.size(), DSPM_WIRE_LIST_MAX);
    dspm_wire_list_reply w{};
    w.next_cursor = le(m.next_cursor);
    w.count = le(static_cast<std::uint32_t>(m.datasets.size()));
    w.flags = le(m.more ? DSPM_WIRE_LIST_MORE : 0U);
    std::size_t len = put(w, m.datasets.size() * DSPM_WIRE_DATASET_SIZE);
    for (std::size_t i = 0; i < m.datasets.size(); ++i) {
      dspm_wire_dataset d{};
      put_dataset(d, m.datasets[i]);
      store(out, d, DSPM_WIRE_LIST_REPLY_SIZE + i * DSPM_WIRE_DATASET_SIZE);
    }
    return len;
  }
  std::size_t operator()(const ErrorReply& m) {
    dspm_wire_error w{};
    w.request_type = le(m.request_type);
    return put(w);
  }

  static void check_count(std::size_t n, std::size_t max) {
    if (n > max) {
      throw std::system_error(EMSGSIZE, std::generic_category(), "wire: too many entries");
    }
  }
  std::size_t put_name_msg(const std::string& name) {
    dspm_wire_dataset_name w{};
    put_name(w.name, name);
    return put(w);
  }
  // Writes @w (header left zero, filled in by encode()) followed by @extra zero bytes.
  template <typename S>
  std::size_t put(const S& w, std::size_t extra = 0) {
    out.assign(sizeof(S) + extra, std::byte{0});
    store(out, w);
    return out.size();
  }
};

}  // namespace

std::uint16_t type_of(const Body& body) {
  static constexpr std::uint16_t types[] = {
      DSPM_WIRE_HELLO,          DSPM_WIRE_CHALLENGE,      DSPM_WIRE_AUTH,
      DSPM_WIRE_JOIN_ACCEPT,    DSPM_WIRE_HEARTBEAT,      DSPM_WIRE_NODE_TABLE,
      DSPM_WIRE_DATASET_CREATE, DSPM_WIRE_DATASET_DELETE, DSPM_WIRE_DATASET_LOOKUP,
      DSPM_WIRE_DATASET_LIST,   DSPM_WIRE_DATASET_REPLY,  DSPM_WIRE_DELETE_REPLY,
      DSPM_WIRE_LIST_REPLY,     DSPM_WIRE_ERROR};
  static_assert(std::size(types) == std::variant_size_v<Body>);
  return types[body.index()];
}

std::vector<std::byte> encode(const Message& msg) {
  Encoder enc;
  std::size_t len = std::visit(enc, msg.body);
  std::uint16_t type = type_of(msg.body);
  dspm_wire_hdr h{};
  h.magic = le<std::uint32_t>(DSPM_WIRE_MAGIC);
  h.version = le<std::uint16_t>(DSPM_WIRE_VERSION);
  h.type = le(type);
  h.length = le(static_cast<std::uint32_t>(len));
  h.sender = le(msg.sender);
  h.request_id = le(msg.request_id);
  if (const auto* e = std::get_if<ErrorReply>(&msg.body)) {
    h.status = le(static_cast<std::uint32_t>(e->error));
  }
  store(enc.out, h);
  // Never send what a receiver would reject.
  auto check = decode(enc.out);
  if (!check) {
    throw std::system_error(check.error().code, std::generic_category(),
                            "wire: encode: " + check.error().message);
  }
  return std::move(enc.out);
}

Result<std::size_t> peek_length(std::span<const std::byte> header) {
  auto h = check_header(header, false);
  if (!h) return h.error();
  return static_cast<std::size_t>(le<std::uint32_t>(h.value().length));
}

Result<Message> decode(std::span<const std::byte> bytes) {
  if (bytes.size() > DSPM_WIRE_MAX_MESSAGE) return err(EMSGSIZE, "message longer than the maximum");
  auto h = check_header(bytes, true);
  if (!h) return h.error();
  std::uint16_t type = le<std::uint16_t>(h.value().type);
  auto body = decode_body(type, le<std::uint32_t>(h.value().status), bytes);
  if (!body) return body.error();
  return Message{le<std::uint32_t>(h.value().sender), le<std::uint64_t>(h.value().request_id),
                 std::move(body).value()};
}

}  // namespace dspm::dispatcher
