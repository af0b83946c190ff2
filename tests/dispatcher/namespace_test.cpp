// SPDX-License-Identifier: MIT
#include "namespace.hpp"

#include <cerrno>
#include <system_error>

#include <gtest/gtest.h>

#include "tempdir.hpp"

using namespace dspm::dispatcher;
using dspm::dispatcher::test::TempDir;

namespace {

constexpr std::uint64_t GiB = 1ULL << 30;

int error_of(auto f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

std::vector<NodeCapacity> three_nodes() {
  return {{1, NodeState::alive, 100 * GiB, 100 * GiB},
          {2, NodeState::alive, 100 * GiB, 100 * GiB},
          {3, NodeState::alive, 100 * GiB, 100 * GiB}};
}

DatasetCreate req(std::string name, std::uint64_t length, std::uint32_t replicas) {
  return DatasetCreate{std::move(name), length, 0600, 1000, 1000, 0, replicas, 0};
}

}  // namespace

TEST(Namespace, CreateLookupDeleteList) {
  TempDir dir;
  auto file = dir.path() / "ns.db";
  auto nodes = three_nodes();
  {
    State state(file);
    Namespace ns(state);
    auto r = ns.create(req("alpha", 3 * GiB, 2), nodes);
    EXPECT_EQ(r.dataset.chunk_size, Namespace::default_chunk_size);
    EXPECT_EQ(r.dataset.chunks, 48U);
    EXPECT_EQ(r.chunks.size(), 48U);
    // The reply is a valid wire message.
    EXPECT_NO_THROW(encode({DSPM_WIRE_NODE_DISPATCHER, 1, r}));
    ns.create(req("beta", 1, 3), nodes);
    EXPECT_EQ(error_of([&] { ns.create(req("alpha", 1, 1), nodes); }), EEXIST);
    EXPECT_EQ(error_of([&] { ns.create(req("gamma", 1, 4), nodes); }), EIO);
    EXPECT_EQ(error_of([&] { ns.create(req("gamma", 1000 * GiB, 1), nodes); }), EIO);
    EXPECT_EQ(error_of([&] { ns.create(req(".bad", 1, 1), nodes); }), EINVAL);
    EXPECT_EQ(error_of([&] { ns.lookup("gamma"); }), ENOENT);
    EXPECT_EQ(error_of([&] { ns.remove("gamma"); }), ENOENT);
  }
  State state(file);
  Namespace ns(state);
  auto a = ns.lookup("alpha");
  EXPECT_EQ(a.chunks.size(), 48U);
  auto list = ns.list(0, 1);
  ASSERT_EQ(list.datasets.size(), 1U);
  EXPECT_TRUE(list.more);
  auto next = ns.list(list.next_cursor, 10);
  ASSERT_EQ(next.datasets.size(), 1U);
  EXPECT_EQ(next.datasets[0].name, "beta");
  EXPECT_FALSE(next.more);
  auto del = ns.remove("alpha");
  EXPECT_EQ(del.id, a.dataset.id);
  EXPECT_EQ(error_of([&] { ns.lookup("alpha"); }), ENOENT);
}

TEST(Namespace, LargeDatasetsGetLargerChunks) {
  TempDir dir;
  State state(dir.path() / "ns.db");
  Namespace ns(state);
  std::uint64_t len = 0x400000000000ULL;  // 64 TiB
  EXPECT_LE(chunk_count(len, ns.chunk_size_for(len, 0)), DSPM_WIRE_CHUNKS_MAX);
  std::vector<NodeCapacity> big = {{1, NodeState::alive, len, len}};
  auto r = ns.create(req("huge", len, 1), big);
  EXPECT_EQ(r.dataset.chunks, DSPM_WIRE_CHUNKS_MAX);
}

TEST(Namespace, HandleRequests) {
  TempDir dir;
  State state(dir.path() / "ns.db");
  Namespace ns(state);
  auto nodes = three_nodes();
  auto reply = ns.handle({2, 77, req("x", GiB, 2)}, nodes);
  EXPECT_EQ(reply.request_id, 77U);
  EXPECT_EQ(reply.sender, DSPM_WIRE_NODE_DISPATCHER);
  ASSERT_TRUE(std::holds_alternative<DatasetReply>(reply.body));
  reply = ns.handle({2, 78, req("x", GiB, 2)}, nodes);
  ASSERT_TRUE(std::holds_alternative<ErrorReply>(reply.body));
  EXPECT_EQ(std::get<ErrorReply>(reply.body).error, EEXIST);
  EXPECT_EQ(std::get<ErrorReply>(reply.body).request_type, DSPM_WIRE_DATASET_CREATE);
  EXPECT_NO_THROW(encode(reply));
  reply = ns.handle({2, 79, DatasetLookup{"x"}}, nodes);
  EXPECT_TRUE(std::holds_alternative<DatasetReply>(reply.body));
  reply = ns.handle({2, 80, DatasetList{0, 10}}, nodes);
  ASSERT_TRUE(std::holds_alternative<ListReply>(reply.body));
  EXPECT_NO_THROW(encode(reply));
  reply = ns.handle({2, 81, DatasetDelete{"x"}}, nodes);
  EXPECT_TRUE(std::holds_alternative<DeleteReply>(reply.body));
  reply = ns.handle({2, 82, Heartbeat{}}, nodes);
  EXPECT_EQ(std::get<ErrorReply>(reply.body).error, EPROTO);
}
