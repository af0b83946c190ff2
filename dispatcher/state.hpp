// SPDX-License-Identifier: MIT
// The dispatcher's persistent state: an SQLite file (WAL, synchronous=FULL).  Every
// mutation is one transaction, committed before the call returns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "wire.hpp"

struct sqlite3;

namespace dspm::dispatcher {

class State {
 public:
  static constexpr int schema_version = 2;

  // Opens (creating if needed) the store at @path.  Throws std::system_error: EIO for
  // SQLite failures, EPROTO for a file of a newer or unknown schema.
  explicit State(const std::filesystem::path& path);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Nodes, by increasing id.  put_node inserts or replaces the node of that id.
  void put_node(const NodeEntry& node);
  void set_node_state(std::uint32_t id, NodeState state);  // ENOENT if unknown
  std::vector<NodeEntry> nodes() const;

  // Stores a new dataset (@desc.id is ignored, ids are never reused) with its placement,
  // one entry per chunk; returns the dataset with its id.  EEXIST if the name is taken.
  DatasetDesc create_dataset(const DatasetDesc& desc, const std::vector<ChunkNodes>& chunks);
  // Removes a dataset and its placement; nullopt if there is none of that name.
  std::optional<DatasetDesc> delete_dataset(std::string_view name);
  std::optional<DatasetReply> find_dataset(std::string_view name) const;
  // Up to @max datasets of id > @cursor, by increasing id.
  std::vector<DatasetDesc> list_datasets(std::uint64_t cursor, std::uint32_t max) const;
  // Replaces the holders of one chunk (after a node loss).  ENOENT if there is no such chunk.
  void set_placement(std::uint64_t dataset, std::uint32_t chunk, const ChunkNodes& nodes);

  int user_version() const;

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace dspm::dispatcher
