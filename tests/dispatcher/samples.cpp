// SPDX-License-Identifier: MIT
#include "samples.hpp"

namespace dspm::dispatcher::test {

namespace {

Uuid uuid(std::uint8_t seed) {
  Uuid u{};
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::uint8_t>(seed + i);
  return u;
}

Address v4(std::uint8_t last, std::uint16_t port) {
  Address a;
  a.addr = {10, 0, 0, last};
  a.port = port;
  a.family = DSPM_WIRE_AF_INET;
  return a;
}

DatasetDesc desc(std::string name, std::uint64_t id, std::uint64_t length, std::uint32_t replicas,
                 std::uint64_t chunk_size) {
  DatasetDesc d;
  d.name = std::move(name);
  d.id = id;
  d.length = length;
  d.mode = 0640;
  d.uid = 1000;
  d.gid = 100;
  d.model = 1;
  d.replicas = replicas;
  d.chunk_size = chunk_size;
  d.chunks = static_cast<std::uint32_t>(chunk_count(length, chunk_size));
  return d;
}

}  // namespace

std::vector<Message> sample_messages() {
  constexpr std::uint32_t disp = DSPM_WIRE_NODE_DISPATCHER;
  std::vector<Message> out;
  Hello hello{uuid(1), 3, 1ULL << 30, 1ULL << 29, 0x0123456789abcdefULL, v4(1, 7471), {}};
  for (std::size_t i = 0; i < hello.nonce.size(); ++i)
    hello.nonce[i] = static_cast<std::uint8_t>(i * 7);
  out.push_back({0, 1, hello});
  Address v6;
  v6.family = DSPM_WIRE_AF_INET6;
  v6.port = 65535;
  v6.addr = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  out.push_back({0, 2, Hello{uuid(9), 0, 100, 0, ~0ULL, v6, {}}});
  Challenge ch;
  ch.nonce.fill(0xab);
  ch.mac.fill(0xcd);
  out.push_back({disp, 1, ch});
  Auth auth{uuid(1), {}};
  auth.mac.fill(0x5a);
  out.push_back({0, 1, auth});
  out.push_back({disp, 1, JoinAccept{3, 1000}});
  out.push_back({3, 0, Heartbeat{12345, 7}});
  out.push_back({disp, 0, NodeTable{0, {}}});
  out.push_back({disp, 0,
                 NodeTable{8,
                           {NodeEntry{1, NodeState::alive, uuid(1), v4(1, 7471), 1000, 500, 42},
                            NodeEntry{2, NodeState::suspect, uuid(2), v4(2, 7471), 1000, 1000},
                            NodeEntry{7, NodeState::dead, uuid(7), v6, 0, 0, ~0ULL}}}});
  out.push_back({3, 10, DatasetCreate{"db.main_1-x", 1ULL << 32, 0600, 1000, 1000, 0, 2, 0}});
  out.push_back({3, 11, DatasetCreate{"a", 1, 0777, 0, 0, 1, 16, 0x1000}});
  out.push_back({3, 12, DatasetDelete{"old-data"}});
  out.push_back({3, 13, DatasetLookup{std::string(63, 'z')}});
  out.push_back({3, 14, DatasetList{0, 1}});
  out.push_back({3, 15, DatasetList{99, DSPM_WIRE_LIST_MAX}});
  DatasetReply reply;
  reply.dataset = desc("db.main", 5, 3 * 0x1000 + 1, 3, 0x1000);
  reply.chunks = {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 3, 2}};
  out.push_back({disp, 10, reply});
  DatasetReply single;
  single.dataset = desc("s", 1, 0x1000, 1, 0x1000);
  single.chunks = {{4}};
  out.push_back({disp, 13, single});
  out.push_back({disp, 12, DeleteReply{"old-data", 4}});
  out.push_back({disp, 14, ListReply{0, false, {}}});
  out.push_back(
      {disp, 15,
       ListReply{
           9, true, {desc("x", 2, 100, 1, 0x1000), desc("y", 9, 1ULL << 40, 2, 1ULL << 32)}}});
  out.push_back({disp, 10, ErrorReply{17, DSPM_WIRE_DATASET_CREATE}});
  out.push_back({5, 3, ErrorReply{4095, DSPM_WIRE_NODE_TABLE}});
  return out;
}

}  // namespace dspm::dispatcher::test
