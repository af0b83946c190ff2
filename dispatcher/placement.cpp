// SPDX-License-Identifier: MIT
#include "placement.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

namespace dspm::dispatcher {

std::vector<ChunkNodes> place(std::span<const NodeCapacity> nodes, std::uint64_t length,
                              std::uint64_t chunk_size, std::uint32_t replicas) {
  if (length == 0 || chunk_size == 0 || replicas == 0 || replicas > DSPM_WIRE_REPLICAS_MAX) {
    throw std::system_error(EINVAL, std::generic_category(), "placement: invalid arguments");
  }
  struct Candidate {
    std::uint32_t id;
    std::uint64_t free;
  };
  std::vector<Candidate> alive;
  for (const auto& n : nodes) {
    if (n.state != NodeState::alive) continue;
    if (n.id == 0 || n.id == DSPM_WIRE_NODE_DISPATCHER ||
        std::any_of(alive.begin(), alive.end(), [&](const Candidate& c) { return c.id == n.id; })) {
      throw std::system_error(EINVAL, std::generic_category(),
                              "placement: bad or duplicate node id");
    }
    alive.push_back({n.id, std::min(n.free, n.capacity)});
  }
  if (alive.size() < replicas) {
    throw std::system_error(EIO, std::generic_category(),
                            "placement: " + std::to_string(alive.size()) + " nodes alive, " +
                                std::to_string(replicas) + " replicas wanted");
  }
  std::uint64_t chunks = chunk_count(length, chunk_size);
  std::vector<ChunkNodes> out;
  out.reserve(chunks);
  for (std::uint64_t c = 0; c < chunks; ++c) {
    std::uint64_t bytes = std::min(chunk_size, length - c * chunk_size);
    std::sort(alive.begin(), alive.end(), [](const Candidate& a, const Candidate& b) {
      return a.free != b.free ? a.free > b.free : a.id < b.id;
    });
    if (alive[replicas - 1].free < bytes) {
      throw std::system_error(
          EIO, std::generic_category(),
          "placement: not enough free capacity on " + std::to_string(replicas) + " alive nodes");
    }
    ChunkNodes holders;
    for (std::uint32_t r = 0; r < replicas; ++r) {
      alive[r].free -= bytes;
      holders.push_back(alive[r].id);
    }
    // The home is the holder with the most free space among them: holders[0].  Rotate so
    // that, when every node holds every chunk (replicas == alive nodes), homes still spread.
    std::rotate(holders.begin(), holders.begin() + static_cast<std::ptrdiff_t>(c % replicas),
                holders.end());
    out.push_back(std::move(holders));
  }
  return out;
}

}  // namespace dspm::dispatcher
