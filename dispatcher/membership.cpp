// SPDX-License-Identifier: MIT
#include "membership.hpp"

#include <cerrno>
#include <system_error>

namespace dspm::dispatcher {

Membership::Membership(MembershipConfig config, ClockFn clock)
    : config_(config), clock_(std::move(clock)) {
  if (config_.heartbeat.count() <= 0 || config_.suspect_after <= config_.heartbeat ||
      config_.dead_after <= config_.suspect_after || !clock_) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "membership: need 0 < heartbeat < suspect_after < dead_after");
  }
}

void Membership::restore(const std::vector<NodeEntry>& nodes) {
  auto now = clock_();
  for (const auto& n : nodes) {
    Member m{n, now};
    if (m.entry.state != NodeState::dead) m.entry.state = NodeState::suspect;
    members_[n.id] = m;
  }
  ++epoch_;
}

const NodeEntry& Membership::join(const Hello& hello) {
  auto now = clock_();
  std::uint32_t id = 0;
  if (auto known = find_uuid(hello.uuid)) {
    id = *known;
  } else if (hello.claimed_id != 0 && hello.claimed_id != DSPM_WIRE_NODE_DISPATCHER &&
             !members_.contains(hello.claimed_id)) {
    id = hello.claimed_id;
  } else {
    id = members_.empty() ? 1 : members_.rbegin()->first + 1;
    if (id == DSPM_WIRE_NODE_DISPATCHER) {
      for (id = 1; members_.contains(id); ++id) {
        if (id == DSPM_WIRE_NODE_DISPATCHER - 1) {
          throw std::system_error(ENOSPC, std::generic_category(), "membership: no node id left");
        }
      }
    }
  }
  Member& m = members_[id];
  m.entry.id = id;
  m.entry.state = NodeState::alive;
  m.entry.uuid = hello.uuid;
  m.entry.addr = hello.addr;
  m.entry.capacity = hello.capacity;
  m.entry.free = hello.free;
  m.entry.incarnation = hello.incarnation;
  m.last_seen = now;
  ++epoch_;
  return m.entry;
}

void Membership::heartbeat(std::uint32_t id, std::uint64_t free) {
  auto it = members_.find(id);
  if (it == members_.end()) {
    throw std::system_error(ENOENT, std::generic_category(),
                            "membership: heartbeat of unknown node " + std::to_string(id));
  }
  Member& m = it->second;
  if (m.entry.state == NodeState::dead) {
    throw std::system_error(ESTALE, std::generic_category(),
                            "membership: heartbeat of dead node " + std::to_string(id));
  }
  m.last_seen = clock_();
  m.entry.free = std::min(free, m.entry.capacity);
  if (m.entry.state != NodeState::alive) {
    m.entry.state = NodeState::alive;
    ++epoch_;
  }
}

std::vector<StateChange> Membership::tick() {
  auto now = clock_();
  std::vector<StateChange> changes;
  for (auto& [id, m] : members_) {
    auto silent = now - m.last_seen;
    NodeState to = m.entry.state;
    if (m.entry.state == NodeState::dead) continue;
    if (silent >= config_.dead_after) {
      to = NodeState::dead;
    } else if (silent >= config_.suspect_after) {
      to = NodeState::suspect;
    }
    if (to != m.entry.state) {
      changes.push_back({id, m.entry.state, to});
      m.entry.state = to;
    }
  }
  if (!changes.empty()) ++epoch_;
  return changes;
}

const Member* Membership::find(std::uint32_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<std::uint32_t> Membership::find_uuid(const Uuid& uuid) const {
  for (const auto& [id, m] : members_) {
    if (m.entry.uuid == uuid) return id;
  }
  return std::nullopt;
}

NodeTable Membership::table() const {
  NodeTable t;
  t.epoch = epoch_;
  for (const auto& [id, m] : members_) t.nodes.push_back(m.entry);
  return t;
}

std::vector<NodeCapacity> Membership::capacities() const {
  std::vector<NodeCapacity> out;
  for (const auto& [id, m] : members_) {
    out.push_back({id, m.entry.state, m.entry.capacity, m.entry.free});
  }
  return out;
}

}  // namespace dspm::dispatcher
