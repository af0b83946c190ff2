// SPDX-License-Identifier: MIT
// Chunk placement: which nodes hold each chunk of a dataset.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wire.hpp"

namespace dspm::dispatcher {

// What placement needs to know of a node.
struct NodeCapacity {
  std::uint32_t id = 0;
  NodeState state = NodeState::alive;
  std::uint64_t capacity = 0;
  std::uint64_t free = 0;
};

// For each chunk of a dataset of @length bytes in @chunk_size chunks, @replicas distinct
// alive nodes: [0] the home, then the replicas.  Greedy and deterministic: each chunk goes
// to the nodes with the most free bytes left after the chunks placed before it (ties: the
// lowest id), and homes rotate among a chunk's holders so they spread as well.
// Throws std::system_error(EIO) when fewer than @replicas nodes are alive or have room,
// EINVAL when the arguments themselves are invalid.
std::vector<ChunkNodes> place(std::span<const NodeCapacity> nodes, std::uint64_t length,
                              std::uint64_t chunk_size, std::uint32_t replicas);

}  // namespace dspm::dispatcher
