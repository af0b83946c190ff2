// SPDX-License-Identifier: MIT
// The dataset namespace: create / delete / lookup / list on top of the state store and
// chunk placement.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "placement.hpp"
#include "state.hpp"
#include "wire.hpp"

namespace dspm::dispatcher {

class Namespace {
 public:
  static constexpr std::uint64_t default_chunk_size = 0x4000000;  // 64 MiB

  // @state must outlive the namespace.  @chunk_size: used when a create asks for none
  // (a power of two within the DSPM_WIRE_CHUNK_SIZE_* bounds; EINVAL otherwise).
  explicit Namespace(State& state, std::uint64_t chunk_size = default_chunk_size);

  // Throws std::system_error: EINVAL (bad request), EEXIST (name taken), EIO (too few
  // alive nodes or not enough free capacity for the placement).
  DatasetReply create(const DatasetCreate& request, std::span<const NodeCapacity> nodes);
  DeleteReply remove(std::string_view name);         // ENOENT
  DatasetReply lookup(std::string_view name) const;  // ENOENT
  ListReply list(std::uint64_t cursor, std::uint32_t max) const;

  // The reply to a dataset request (DATASET_CREATE/DELETE/LOOKUP/LIST) from a node: the
  // matching reply, or ERROR with the errno.  Any other message gets ERROR EPROTO.
  Message handle(const Message& request, std::span<const NodeCapacity> nodes);

  // The chunk size a create of @length bytes gets when it asks for @requested (0: default).
  std::uint64_t chunk_size_for(std::uint64_t length, std::uint64_t requested) const;

 private:
  State& state_;
  std::uint64_t chunk_size_;
};

}  // namespace dspm::dispatcher
