// SPDX-License-Identifier: MIT
#include "wire.hpp"

#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include <gtest/gtest.h>

#include "samples.hpp"

using namespace dspm::dispatcher;
using dspm::dispatcher::test::sample_messages;

namespace {

std::vector<std::byte> bytes_of(const Message& m) {
  return encode(m);
}

template <typename S>
S view(const std::vector<std::byte>& b) {
  S s;
  std::memcpy(&s, b.data(), sizeof(S));
  return s;
}

template <typename S>
void put(std::vector<std::byte>& b, const S& s) {
  std::memcpy(b.data(), &s, sizeof(S));
}

int decode_error(const std::vector<std::byte>& b) {
  auto r = decode(b);
  return r ? 0 : r.error().code;
}

Message create_msg() {
  return {3, 10, DatasetCreate{"data", 4096, 0600, 1, 1, 0, 2, 0}};
}

}  // namespace

TEST(Wire, EveryTypeHasASample) {
  std::set<std::uint16_t> types;
  for (const auto& m : sample_messages()) types.insert(type_of(m.body));
  EXPECT_EQ(types.size(), static_cast<std::size_t>(DSPM_WIRE_TYPE_MAX));
}

TEST(Wire, RoundTripEveryType) {
  for (const auto& m : sample_messages()) {
    SCOPED_TRACE(type_of(m.body));
    auto b = encode(m);
    ASSERT_GE(b.size(), DSPM_WIRE_HDR_SIZE);
    ASSERT_LE(b.size(), DSPM_WIRE_MAX_MESSAGE);
    auto h = view<dspm_wire_hdr>(b);
    EXPECT_EQ(h.magic, DSPM_WIRE_MAGIC);
    EXPECT_EQ(h.version, DSPM_WIRE_VERSION);
    EXPECT_EQ(h.type, type_of(m.body));
    EXPECT_EQ(h.length, b.size());
    auto r = decode(b);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value(), m);
    auto len = peek_length(std::span(b).first(DSPM_WIRE_HDR_SIZE));
    ASSERT_TRUE(len);
    EXPECT_EQ(len.value(), b.size());
  }
}

TEST(Wire, FixedSizes) {
  EXPECT_EQ(bytes_of({0, 0, Hello{{1}, 0, 1, 1, 1, Address{{1}, 1, 4}, {}}}).size(), 136U);
  EXPECT_EQ(bytes_of({DSPM_WIRE_NODE_DISPATCHER, 0, Challenge{}}).size(), 96U);
  EXPECT_EQ(bytes_of({1, 0, Heartbeat{}}).size(), 48U);
  EXPECT_EQ(bytes_of(create_msg()).size(), 136U);
  EXPECT_EQ(bytes_of({1, 0, DatasetLookup{"x"}}).size(), 96U);
  EXPECT_EQ(bytes_of({1, 0, ErrorReply{5, 1}}).size(), 40U);
}

TEST(Wire, LittleEndianLayout) {
  auto b = encode({0x01020304, 0x1122334455667788ULL, Heartbeat{0xa0b0c0d0e0f00102ULL, 9}});
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  EXPECT_EQ(p[0], 'D');
  EXPECT_EQ(p[1], 'S');
  EXPECT_EQ(p[2], 'P');
  EXPECT_EQ(p[3], 'M');
  EXPECT_EQ(p[12], 0x04);  // sender
  EXPECT_EQ(p[15], 0x01);
  EXPECT_EQ(p[16], 0x88);  // request id
  EXPECT_EQ(p[23], 0x11);
  EXPECT_EQ(p[32], 0x02);  // free
  EXPECT_EQ(p[39], 0xa0);
}

TEST(Wire, RejectsTruncated) {
  for (const auto& m : sample_messages()) {
    auto b = encode(m);
    for (std::size_t n = 0; n < b.size(); ++n) {
      auto r = decode(std::span(b).first(n));
      ASSERT_FALSE(r) << "type " << type_of(m.body) << " prefix " << n;
      EXPECT_TRUE(r.error().code == EBADMSG) << r.error().message;
    }
  }
}

TEST(Wire, RejectsTrailingBytes) {
  for (const auto& m : sample_messages()) {
    auto b = encode(m);
    b.push_back(std::byte{0});
    EXPECT_EQ(decode_error(b), EBADMSG);
  }
}

TEST(Wire, RejectsOversized) {
  std::vector<std::byte> big(DSPM_WIRE_MAX_MESSAGE + 1);
  EXPECT_EQ(decode_error(big), EMSGSIZE);
  // A header claiming more than the maximum, even with the bytes present.
  NodeTable t;
  auto b = encode({DSPM_WIRE_NODE_DISPATCHER, 0, t});
  auto h = view<dspm_wire_hdr>(b);
  h.length = DSPM_WIRE_MAX_MESSAGE + DSPM_WIRE_NODE_SIZE;
  put(b, h);
  b.resize(h.length);
  EXPECT_EQ(decode_error(b), EMSGSIZE);
  auto len = peek_length(std::span(b).first(DSPM_WIRE_HDR_SIZE));
  ASSERT_FALSE(len);
  EXPECT_EQ(len.error().code, EMSGSIZE);
  // Too many entries for the type's bound, within the byte bound.
  t.nodes.resize(DSPM_WIRE_NODES_MAX + 1);
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}), std::system_error);
}

TEST(Wire, RejectsBadHeader) {
  auto good = encode(create_msg());
  auto mutate = [&](auto f) {
    auto b = good;
    auto h = view<dspm_wire_hdr>(b);
    f(h);
    put(b, h);
    return decode_error(b);
  };
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.magic ^= 1; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.version = DSPM_WIRE_VERSION + 1; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.version = DSPM_WIRE_VERSION - 1; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.version = 0; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.type = 0; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.type = DSPM_WIRE_TYPE_MAX + 1; }), EPROTO);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.type = DSPM_WIRE_CHALLENGE; }), EBADMSG);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.length -= 1; }), EBADMSG);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.reserved = 1; }), EINVAL);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.status = 5; }), EINVAL);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.sender = 0; }), EINVAL);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.sender = DSPM_WIRE_NODE_DISPATCHER; }), EINVAL);
  EXPECT_EQ(mutate([](dspm_wire_hdr& h) { h.sender = 77; }), 0);
}

// The rule itself (common::valid_name) is tested in tests/common/name_test.cpp.
TEST(Wire, ValidatesNames) {
  auto good = encode(create_msg());
  auto with_name = [&](auto f) {
    auto b = good;
    auto m = view<dspm_wire_dataset_create>(b);
    f(m.name);
    put(b, m);
    return decode_error(b);
  };
  EXPECT_EQ(with_name([](char* n) { n[10] = 'x'; }), EINVAL);  // garbage after the NUL
  EXPECT_EQ(with_name([](char* n) { std::memset(n, 'a', DSPM_WIRE_NAME_MAX); }), EINVAL);
  EXPECT_EQ(with_name([](char* n) { std::memset(n, 0, DSPM_WIRE_NAME_MAX); }), EINVAL);
  EXPECT_EQ(with_name([](char* n) { n[0] = '.'; }), EINVAL);
  EXPECT_EQ(with_name([](char* n) { n[1] = '/'; }), EINVAL);
  EXPECT_EQ(with_name([](char* n) { n[1] = static_cast<char>(0xc3); }), EINVAL);
  EXPECT_EQ(with_name([](char* n) { std::memset(n, 'a', 63); }), 0);
  EXPECT_THROW(encode({3, 1, DatasetLookup{std::string(64, 'a')}}), std::system_error);
  EXPECT_THROW(encode({3, 1, DatasetLookup{".x"}}), std::system_error);
}

TEST(Wire, ValidatesCreate) {
  auto bad = [](auto f) {
    auto m = create_msg();
    f(std::get<DatasetCreate>(m.body));
    try {
      encode(m);
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  EXPECT_EQ(bad([](DatasetCreate&) {}), 0);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.length = 0; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.length = 0x400000000001ULL; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.mode = 01000; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.model = 2; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.replicas = 0; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.replicas = 17; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.chunk_size = 0x1800; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) { c.chunk_size = 0x800; }), EINVAL);
  EXPECT_EQ(bad([](DatasetCreate& c) {
              c.length = 1ULL << 30;
              c.chunk_size = 0x1000;  // 262144 chunks > DSPM_WIRE_CHUNKS_MAX
            }),
            EINVAL);
  // Reserved field in the body.
  auto b = encode(create_msg());
  auto w = view<dspm_wire_dataset_create>(b);
  w.reserved = 1;
  put(b, w);
  EXPECT_EQ(decode_error(b), EINVAL);
}

TEST(Wire, ValidatesDatasetReply) {
  auto base = sample_messages();
  Message reply;
  for (auto& m : base) {
    if (std::holds_alternative<DatasetReply>(m.body)) {
      reply = m;
      break;
    }
  }
  auto bad = [&](auto f) {
    auto m = reply;
    f(std::get<DatasetReply>(m.body));
    try {
      encode(m);
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  EXPECT_EQ(bad([](DatasetReply&) {}), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks[1] = {1, 1, 2}; }), 0);  // twice on a node
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks[1] = {1, 0, 2}; }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks[1] = {1, 2}; }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks[1] = {1, 2, 3, 4}; }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks.pop_back(); }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.dataset.chunks += 1; }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.dataset.id = 0; }), 0);
  EXPECT_NE(bad([](DatasetReply& r) { r.chunks[0][0] = DSPM_WIRE_NODE_DISPATCHER; }), 0);
}

TEST(Wire, ValidatesListAndTable) {
  NodeTable t{1,
              {NodeEntry{2, NodeState::alive, {1}, Address{{1}, 1, 4}, 10, 5},
               NodeEntry{2, NodeState::alive, {2}, Address{{1}, 1, 4}, 10, 5}}};
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}), std::system_error);  // ids repeat
  t.nodes[1].id = 3;
  EXPECT_NO_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}));
  t.nodes[1].free = 11;
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}), std::system_error);
  t.nodes[1].free = 1;
  t.nodes[1].addr.addr[5] = 1;  // IPv4 with a non-zero tail
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}), std::system_error);
  t.nodes[1].addr.family = DSPM_WIRE_AF_INET6;
  EXPECT_NO_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, t}));
  // count field disagreeing with the length.
  auto b = encode({DSPM_WIRE_NODE_DISPATCHER, 0, t});
  auto w = view<dspm_wire_node_table>(b);
  w.count = 3;
  put(b, w);
  EXPECT_EQ(decode_error(b), EBADMSG);

  EXPECT_THROW(encode({3, 0, DatasetList{0, 0}}), std::system_error);
  EXPECT_THROW(encode({3, 0, DatasetList{0, DSPM_WIRE_LIST_MAX + 1}}), std::system_error);
  EXPECT_THROW(encode({3, 0, ErrorReply{0, 1}}), std::system_error);
  EXPECT_THROW(encode({3, 0, ErrorReply{4096, 1}}), std::system_error);
  EXPECT_THROW(encode({3, 0, ErrorReply{5, 0}}), std::system_error);
  EXPECT_THROW(encode({3, 0, JoinAccept{1, 1000}}), std::system_error);  // not the dispatcher
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, JoinAccept{0, 1000}}), std::system_error);
  EXPECT_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 0, JoinAccept{1, 0}}), std::system_error);
  EXPECT_THROW(encode({0, 0, Auth{}}), std::system_error);  // nil uuid
  EXPECT_THROW(encode({0, 0, Hello{{1}, 0, 1, 1, 0, Address{{1}, 1, 4}, {}}}),
               std::system_error);  // no incarnation
}
