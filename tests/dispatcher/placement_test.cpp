// SPDX-License-Identifier: MIT
#include "placement.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <system_error>

#include <gtest/gtest.h>

using namespace dspm::dispatcher;

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

}  // namespace

TEST(Placement, DistinctAliveNodes) {
  std::vector<NodeCapacity> nodes = {{1, NodeState::alive, 100 * GiB, 100 * GiB},
                                     {2, NodeState::dead, 100 * GiB, 100 * GiB},
                                     {3, NodeState::alive, 100 * GiB, 100 * GiB},
                                     {4, NodeState::suspect, 100 * GiB, 100 * GiB},
                                     {5, NodeState::alive, 100 * GiB, 100 * GiB}};
  auto p = place(nodes, 10 * GiB, GiB, 3);
  ASSERT_EQ(p.size(), 10U);
  for (const auto& c : p) {
    ASSERT_EQ(c.size(), 3U);
    std::set<std::uint32_t> s(c.begin(), c.end());
    EXPECT_EQ(s.size(), 3U);
    for (auto id : c) EXPECT_TRUE(id == 1 || id == 3 || id == 5) << id;
  }
}

TEST(Placement, BalancesByFreeCapacity) {
  std::vector<NodeCapacity> nodes;
  for (std::uint32_t id = 1; id <= 4; ++id)
    nodes.push_back({id, NodeState::alive, 64 * GiB, 64 * GiB});
  nodes[3].free = 32 * GiB;  // node 4 is fuller
  auto p = place(nodes, 64 * GiB, GiB, 2);
  std::map<std::uint32_t, std::uint64_t> load;
  std::map<std::uint32_t, int> homes;
  for (const auto& c : p) {
    for (auto id : c) load[id] += GiB;
    homes[c[0]]++;
  }
  // Projected free after placement is within one chunk across nodes.
  std::uint64_t lo = ~0ULL, hi = 0;
  for (const auto& n : nodes) {
    std::uint64_t left = n.free - load[n.id];
    lo = std::min(lo, left);
    hi = std::max(hi, left);
  }
  EXPECT_LE(hi - lo, GiB);
  EXPECT_LT(load[4], load[1]);
  EXPECT_GE(homes.size(), 3U);  // homes spread, not all on one node
}

TEST(Placement, Deterministic) {
  std::vector<NodeCapacity> nodes;
  for (std::uint32_t id = 1; id <= 5; ++id)
    nodes.push_back({id, NodeState::alive, 8 * GiB, 8 * GiB});
  EXPECT_EQ(place(nodes, 7 * GiB + 5, GiB, 3), place(nodes, 7 * GiB + 5, GiB, 3));
  auto p = place(nodes, GiB, GiB, 2);
  EXPECT_EQ(p, (std::vector<ChunkNodes>{{1, 2}}));  // ties go to the lowest id
}

TEST(Placement, EveryNodeHoldsEveryChunkHomesRotate) {
  std::vector<NodeCapacity> nodes = {{1, NodeState::alive, 10 * GiB, 10 * GiB},
                                     {2, NodeState::alive, 10 * GiB, 10 * GiB},
                                     {3, NodeState::alive, 10 * GiB, 10 * GiB}};
  auto p = place(nodes, 3 * GiB, GiB, 3);
  std::set<std::uint32_t> homes;
  for (const auto& c : p) homes.insert(c[0]);
  EXPECT_EQ(homes.size(), 3U);
}

TEST(Placement, RefusesTooFewAliveNodes) {
  std::vector<NodeCapacity> nodes = {{1, NodeState::alive, GiB, GiB},
                                     {2, NodeState::suspect, GiB, GiB},
                                     {3, NodeState::dead, GiB, GiB}};
  EXPECT_EQ(error_of([&] { place(nodes, 4096, 4096, 2); }), EIO);
  EXPECT_EQ(error_of([&] { place({}, 4096, 4096, 1); }), EIO);
  EXPECT_EQ(error_of([&] { place(nodes, 4096, 4096, 1); }), 0);
}

TEST(Placement, RefusesInsufficientCapacity) {
  std::vector<NodeCapacity> nodes = {{1, NodeState::alive, 4 * GiB, 4 * GiB},
                                     {2, NodeState::alive, 4 * GiB, GiB}};
  EXPECT_EQ(error_of([&] { place(nodes, 2 * GiB, GiB, 2); }), EIO);  // node 2 fills up
  EXPECT_EQ(error_of([&] { place(nodes, GiB, GiB, 2); }), 0);
  EXPECT_EQ(error_of([&] { place(nodes, 5 * GiB, GiB, 1); }), 0);
  EXPECT_EQ(error_of([&] { place(nodes, 6 * GiB, GiB, 1); }), EIO);
}

TEST(Placement, RejectsBadArguments) {
  std::vector<NodeCapacity> dup = {{1, NodeState::alive, GiB, GiB},
                                   {1, NodeState::alive, GiB, GiB}};
  EXPECT_EQ(error_of([&] { place(dup, 4096, 4096, 1); }), EINVAL);
  EXPECT_EQ(error_of([&] { place({}, 0, 4096, 1); }), EINVAL);
  EXPECT_EQ(error_of([&] { place({}, 1, 4096, 17); }), EINVAL);
}
