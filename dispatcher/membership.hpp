// SPDX-License-Identifier: MIT
// Cluster membership: node ids, and the state machine alive -> suspect -> dead driven by
// heartbeats and a clock that tests replace.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "placement.hpp"
#include "wire.hpp"

namespace dspm::dispatcher {

using Clock = std::chrono::steady_clock;
using ClockFn = std::function<Clock::time_point()>;

struct MembershipConfig {
  std::chrono::milliseconds heartbeat{1000};      // interval nodes are told to keep
  std::chrono::milliseconds suspect_after{3000};  // silence before alive -> suspect
  std::chrono::milliseconds dead_after{10000};    // silence before -> dead (> suspect_after)
};

struct Member {
  NodeEntry entry;  // id, state, uuid, address, capacity, free
  Clock::time_point last_seen;
};

struct StateChange {
  std::uint32_t id;
  NodeState from;
  NodeState to;
  bool operator==(const StateChange&) const = default;
};

class Membership {
 public:
  // Throws std::system_error(EINVAL) for inconsistent timeouts.
  explicit Membership(
      MembershipConfig config, ClockFn clock = [] { return Clock::now(); });

  // Nodes known from the persistent state after a dispatcher restart: alive ones come back
  // suspect with a fresh grace period (they must heartbeat), dead ones stay dead.
  void restore(const std::vector<NodeEntry>& nodes);

  // A node that passed authentication joins (or rejoins): a known uuid keeps its id;
  // an unknown one gets its claimed id when that is free, else the next unused id.
  // Returns the node's entry, now alive.  Throws ENOSPC when no id is left.
  const NodeEntry& join(const Hello& hello);

  // A heartbeat of node @id: alive again (from suspect), free bytes updated.
  // Throws ENOENT for an unknown id and ESTALE for a dead node (it must join again).
  void heartbeat(std::uint32_t id, std::uint64_t free);

  // Applies the timeouts; returns the transitions made, by increasing id.
  std::vector<StateChange> tick();

  const Member* find(std::uint32_t id) const;
  std::optional<std::uint32_t> find_uuid(const Uuid& uuid) const;
  NodeTable table() const;
  std::vector<NodeCapacity> capacities() const;
  std::uint64_t epoch() const { return epoch_; }
  const MembershipConfig& config() const { return config_; }

 private:
  MembershipConfig config_;
  ClockFn clock_;
  std::map<std::uint32_t, Member> members_;
  std::uint64_t epoch_ = 0;
};

}  // namespace dspm::dispatcher
