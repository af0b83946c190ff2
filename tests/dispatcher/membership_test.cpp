// SPDX-License-Identifier: MIT
#include "membership.hpp"

#include <cerrno>
#include <system_error>

#include <gtest/gtest.h>

using namespace dspm::dispatcher;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  Clock::time_point now{};
  ClockFn fn() {
    return [this] { return now; };
  }
};

Hello hello(std::uint8_t seed, std::uint32_t claimed = 0) {
  Hello h;
  h.uuid.fill(seed);
  h.claimed_id = claimed;
  h.capacity = 1000;
  h.free = 800;
  h.incarnation = seed;
  h.addr.addr = {10, 0, 0, seed};
  h.addr.port = 7471;
  return h;
}

int error_of(auto f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

MembershipConfig config() {
  return {100ms, 300ms, 1000ms};
}

}  // namespace

TEST(Membership, JoinAssignsIds) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  EXPECT_EQ(m.join(hello(1)).id, 1U);
  EXPECT_EQ(m.join(hello(2)).id, 2U);
  EXPECT_EQ(m.join(hello(3, 9)).id, 9U);   // claimed and free
  EXPECT_EQ(m.join(hello(4, 2)).id, 10U);  // claimed but taken
  EXPECT_EQ(m.table().nodes.size(), 4U);
  EXPECT_EQ(m.find(9)->entry.state, NodeState::alive);
}

TEST(Membership, AliveSuspectDead) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  m.join(hello(1));
  m.join(hello(2));
  auto epoch = m.epoch();
  clock.now += 250ms;
  EXPECT_TRUE(m.tick().empty());
  m.heartbeat(1, 700);
  clock.now += 100ms;  // node 2 silent for 350ms, node 1 for 100ms
  EXPECT_EQ(m.tick(), (std::vector<StateChange>{{2, NodeState::alive, NodeState::suspect}}));
  EXPECT_GT(m.epoch(), epoch);
  EXPECT_EQ(m.find(1)->entry.free, 700U);
  // A heartbeat brings a suspect node back.
  m.heartbeat(2, 800);
  EXPECT_EQ(m.find(2)->entry.state, NodeState::alive);
  clock.now += 400ms;
  auto changes = m.tick();
  EXPECT_EQ(changes.size(), 2U);
  clock.now += 700ms;
  EXPECT_EQ(m.tick(), (std::vector<StateChange>{{1, NodeState::suspect, NodeState::dead},
                                                {2, NodeState::suspect, NodeState::dead}}));
  EXPECT_TRUE(m.tick().empty());
  EXPECT_EQ(m.find(1)->entry.state, NodeState::dead);
}

TEST(Membership, StraightToDeadAfterLongSilence) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  m.join(hello(1));
  clock.now += 5s;
  EXPECT_EQ(m.tick(), (std::vector<StateChange>{{1, NodeState::alive, NodeState::dead}}));
}

TEST(Membership, DeadNodeMustRejoinAndKeepsItsId) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  m.join(hello(1));
  auto id = m.join(hello(2)).id;
  clock.now += 2s;
  m.tick();
  EXPECT_EQ(error_of([&] { m.heartbeat(id, 1); }), ESTALE);
  EXPECT_EQ(error_of([&] { m.heartbeat(42, 1); }), ENOENT);
  m.join(hello(3));
  auto again = m.join(hello(2, 0));  // known uuid: same id, whatever it claims
  EXPECT_EQ(again.id, id);
  EXPECT_EQ(again.state, NodeState::alive);
  EXPECT_EQ(m.join(hello(2, 77)).id, id);
  EXPECT_EQ(m.table().nodes.size(), 3U);
}

// The table carries each node's incarnation, so the others can tell a node that
// restarted (new incarnation) from one that only reconnected (same incarnation).
TEST(Membership, TableCarriesIncarnation) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  auto id = m.join(hello(1)).id;
  EXPECT_EQ(m.table().nodes[0].incarnation, 1U);
  auto epoch = m.table().epoch;
  auto again = hello(1);
  again.incarnation = 99;
  EXPECT_EQ(m.join(again).id, id);
  EXPECT_EQ(m.table().nodes[0].incarnation, 99U);
  EXPECT_GT(m.table().epoch, epoch);
  NodeEntry restored{2, NodeState::alive, {2}, {}, 10, 5, 1234};
  m.restore({restored});
  EXPECT_EQ(m.find(2)->entry.incarnation, 1234U);
}

TEST(Membership, RestoreGivesGracePeriod) {
  FakeClock clock;
  Membership m(config(), clock.fn());
  NodeEntry a{1, NodeState::alive, {1}, {}, 10, 5};
  NodeEntry d{2, NodeState::dead, {2}, {}, 10, 5};
  m.restore({a, d});
  EXPECT_EQ(m.find(1)->entry.state, NodeState::suspect);
  EXPECT_EQ(m.find(2)->entry.state, NodeState::dead);
  m.heartbeat(1, 5);
  EXPECT_EQ(m.find(1)->entry.state, NodeState::alive);
  EXPECT_EQ(m.join(hello(9)).id, 3U);
  auto caps = m.capacities();
  ASSERT_EQ(caps.size(), 3U);
  EXPECT_EQ(caps[1].state, NodeState::dead);
}

TEST(Membership, RejectsBadConfig) {
  EXPECT_EQ(error_of([] { Membership m({100ms, 100ms, 1000ms}); }), EINVAL);
  EXPECT_EQ(error_of([] { Membership m({100ms, 300ms, 300ms}); }), EINVAL);
  EXPECT_EQ(error_of([] { Membership m({0ms, 300ms, 1000ms}); }), EINVAL);
}
