// SPDX-License-Identifier: MIT
// dspm - value types of the libdspm C++ API (no system calls here).
#pragma once

#include <linux/dspm.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#if defined(DSPM_BUILDING_LIBRARY)
#define DSPM_API __attribute__((visibility("default")))
#else
#define DSPM_API
#endif

namespace dspm {

// Path of the control device (DSPM_DEVICE_PATH).
inline constexpr std::string_view default_device_path = DSPM_DEVICE_PATH;

// Consistency model of a dataset (dspm_create.model).
enum class Model : std::uint32_t {
  mrmw = DSPM_MODEL_MRMW,  // multiple readers, multiple writers
  mrsw = DSPM_MODEL_MRSW,  // multiple readers, single writer
};

// "mrmw", "mrsw", or "unknown" for a value this library does not know.
DSPM_API std::string_view to_string(Model model) noexcept;

// How a dataset is opened and mapped.
enum class Access {
  read_only,   // PROT_READ mapping; commit/abort fail with EBADF
  read_write,  // PROT_READ | PROT_WRITE mapping
};

// State of the node, decoded from struct dspm_info (DSPM_IOC_GET_INFO).
struct Info {
  bool attached = false;         // DSPM_INFO_ATTACHED: a backing device is attached
  bool volatile_memory = false;  // DSPM_INFO_VOLATILE: DRAM backend, lost on reboot
  std::uint32_t flags = 0;       // the raw flags, including bits this library does not know
  std::uint32_t abi_version = 0;
  std::uint32_t layout_version = 0;  // 0 while detached
  std::string uuid;                  // "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case
  std::uint64_t page_size = 0;       // allocation and commit granule, bytes
  std::uint64_t capacity = 0;        // bytes available to datasets
  std::uint64_t free = 0;            // bytes not held by any dataset
  std::uint64_t datasets = 0;
  std::uint64_t max_datasets = 0;
  std::uint64_t log_capacity = 0;  // largest commit, bytes of payload
  std::uint64_t commits = 0;       // since attach
  std::uint64_t aborts = 0;        // since attach
  std::uint64_t recovered = 0;     // log records replayed at attach

  // Counters since attach (dspm_info VER1).  A kernel that does not report them leaves them 0
  // and has_counters false.
  bool has_counters = false;
  std::uint64_t faults_local = 0;      // read faults served from this node's media
  std::uint64_t faults_remote = 0;     // faults served by fetching from another node
  std::uint64_t conflicts = 0;         // commits failed with EAGAIN
  std::uint64_t bytes_committed = 0;   // payload bytes of commits applied here
  std::uint64_t bytes_replicated = 0;  // bytes applied on behalf of other nodes
  std::uint64_t pages_shadowed = 0;    // copy-on-write shadow pages made
  // Remote fetches by latency: [0] under 1 us, [i] in [2^(i-1), 2^i) us, the last open-ended
  // (fetch_bucket_range()).
  std::array<std::uint64_t, DSPM_INFO_FETCH_BUCKETS> fetch_hist{};

  friend bool operator==(const Info&, const Info&) = default;
};

// The latencies Info::fetch_hist[bucket] counts, in microseconds: [low, high); high is 0 for
// the last, open-ended bucket.
struct BucketRange {
  std::uint64_t low_us = 0;
  std::uint64_t high_us = 0;
};
constexpr BucketRange fetch_bucket_range(std::size_t bucket) noexcept {
  if (bucket == 0) return {0, 1};
  const std::uint64_t low = std::uint64_t{1} << (bucket - 1);
  return {low, bucket + 1 >= DSPM_INFO_FETCH_BUCKETS ? 0 : low * 2};
}

// One dataset, decoded from struct dspm_dataset_info (DSPM_IOC_LIST).
struct DatasetInfo {
  std::uint64_t id = 0;
  std::string name;
  std::uint64_t length = 0;  // bytes
  std::uint64_t pages = 0;   // persistent pages it holds
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0;  // permission bits, 0..0777
  Model model = Model::mrmw;
  std::uint32_t replicas = 0;
  std::uint32_t open_count = 0;  // dataset fds open on this node
  std::uint64_t version = 0;     // commits applied to it, ever
  std::uint64_t ctime_ns = 0;    // creation time, CLOCK_REALTIME nanoseconds

  friend bool operator==(const DatasetInfo&, const DatasetInfo&) = default;
};

// A dataset as seen through one dataset fd (DSPM_IOC_STAT).
struct Stat : DatasetInfo {
  std::uint64_t dirty_pages = 0;  // this fd's uncommitted pages

  friend bool operator==(const Stat&, const Stat&) = default;
};

// Options of Device::attach().
struct AttachOptions {
  bool format = false;  // write a new, empty layout (destroys what is on the device)
};

// Arguments of Device::create().
struct CreateOptions {
  std::string name;           // 1..63 of [A-Za-z0-9._-], not starting with '.'
  std::uint64_t length = 0;   // bytes, 1..DSPM_DATASET_LENGTH_MAX
  std::uint32_t mode = 0600;  // permission bits, 0..0777
  Model model = Model::mrmw;
  std::uint32_t replicas = 1;  // 1..DSPM_REPLICAS_MAX
};

// A byte range of a dataset.
struct Range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  friend bool operator==(const Range&, const Range&) = default;
};

// What a commit did.
struct CommitResult {
  std::uint64_t pages = 0;    // dirty pages written
  std::uint64_t version = 0;  // dataset version after the commit
};

// What a barrier did (DSPM_IOC_BARRIER).
struct BarrierResult {
  std::uint64_t round = 0;  // the round that completed, from 1
  std::uint32_t nodes = 0;  // nodes that took part in it
};

// What a transaction run by transact() did.
struct TransactResult {
  CommitResult commit;   // the commit that succeeded
  unsigned retries = 0;  // attempts aborted after a conflict (EAGAIN) before it
};

// --- cluster -------------------------------------------------------------------------------

// How the node talks to the dispatcher and its peers (dspm_join.transport).
enum class Transport : std::uint32_t {
  tcp = DSPM_TRANSPORT_TCP,
  rdma = DSPM_TRANSPORT_RDMA,
};

// "tcp", "rdma", or "unknown".
DSPM_API std::string_view to_string(Transport transport) noexcept;

// A node as the dispatcher sees it (dspm_node_info.state).
enum class NodeState : std::uint32_t {
  alive = DSPM_NODE_ALIVE,
  suspect = DSPM_NODE_SUSPECT,  // heartbeats missed for a while
  dead = DSPM_NODE_DEAD,
};

// "alive", "suspect", "dead", or "unknown".
DSPM_API std::string_view to_string(NodeState state) noexcept;

// This node's link to the dispatcher (dspm_nodes.link).
enum class Link : std::uint32_t {
  connected = DSPM_LINK_CONNECTED,
  reconnecting = DSPM_LINK_RECONNECTING,
};

// "connected", "reconnecting", or "unknown".
DSPM_API std::string_view to_string(Link link) noexcept;

// Arguments of Device::join().  Addresses are numeric, "10.77.0.1:7470" or "[fd00::1]:7470".
struct JoinOptions {
  std::string dispatcher{};  // where the dispatcher listens
  std::string self{};        // where peers reach this node; empty: none given
  Transport transport = Transport::tcp;
  std::vector<std::uint8_t> key{};  // the cluster key, DSPM_KEY_MIN..DSPM_KEY_MAX bytes
};

// One node of the cluster, decoded from struct dspm_node_info (DSPM_IOC_NODES).
struct NodeInfo {
  std::uint32_t id = 0;
  NodeState state = NodeState::alive;
  std::string uuid;               // of its device's dspm format, "xxxxxxxx-xxxx-...", lower case
  std::string address;            // "10.77.0.1:7470", "[fd00::1]:7470"; empty when it gave none
  std::uint64_t capacity = 0;     // bytes
  std::uint64_t free = 0;         // bytes
  std::uint64_t incarnation = 0;  // changes when the node restarts or joins anew; 0 unknown

  friend bool operator==(const NodeInfo&, const NodeInfo&) = default;
};

// The node table as this node last received it from the dispatcher (DSPM_IOC_NODES).
struct Cluster {
  std::uint32_t self_id = 0;  // this node's id
  Link link = Link::connected;
  std::uint64_t epoch = 0;  // of the table
  std::vector<NodeInfo> nodes;

  friend bool operator==(const Cluster&, const Cluster&) = default;
};

// Where a cluster dataset's chunks live (DSPM_IOC_PLACEMENT).  chunks[i] lists the nodes
// holding bytes [i * chunk_size, (i + 1) * chunk_size): its home first, then its replicas.
struct Placement {
  std::uint64_t id = 0;  // the dataset's cluster-wide id
  std::uint64_t chunk_size = 0;
  std::uint32_t replicas = 0;
  std::vector<std::vector<std::uint32_t>> chunks;

  friend bool operator==(const Placement&, const Placement&) = default;
};

// A cluster key read from a file (read_key_file()).
struct KeyFile {
  std::vector<std::uint8_t> key;
  // The file's mode grants group or others some access (mode & 077): the caller may warn.
  bool group_or_other_access = false;
};

}  // namespace dspm
