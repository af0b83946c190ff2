// SPDX-License-Identifier: MIT
// dspm-admin: parsing of command-line values and rendering of results (no system calls).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dspm/types.hpp"

namespace dspm::admin {

// "4096", "64K", "64KiB", "16M", "1G", "2T", "1P", "1E" (binary multiples; "B" for bytes;
// the letter may be lower case).  Throws std::invalid_argument on anything else, including a
// value that does not fit in 64 bits.
std::uint64_t parse_size(std::string_view text);

// Octal permission bits such as "600", "0644" or "0o640", at most 0777.  Throws
// std::invalid_argument otherwise.
std::uint32_t parse_mode(std::string_view text);

// "mrmw" or "mrsw" (either case).  Throws std::invalid_argument otherwise.
Model parse_model(std::string_view text);

// "tcp" or "rdma" (either case).  Throws std::invalid_argument otherwise.
Transport parse_transport(std::string_view text);

// "512 B", "4.0 KiB", "64.0 MiB", "1.5 GiB" ... "16.0 EiB".
std::string format_size(std::uint64_t bytes);
// "0600".
std::string format_mode(std::uint32_t mode);
// ISO 8601 UTC with seconds, "2024-11-20T23:57:01Z"; "-" for 0.
std::string format_time(std::uint64_t ns_since_epoch);

// Machine-readable renderings: sizes are exact byte counts.
nlohmann::json info_json(const Info& info);
// The node's counters: {"attached", "counters_reported", "commits", "aborts", "faults_local",
// "faults_remote", "conflicts", "bytes_committed", "bytes_replicated", "pages_shadowed",
// "fetch_hist": [{"low_us", "high_us" (null for the last bucket), "count"}, ...]}; the
// counters a kernel did not report (counters_reported false) are null.
nlohmann::json stats_json(const Info& info);
nlohmann::json dataset_json(const DatasetInfo& dataset);
nlohmann::json stat_json(const Stat& stat);
// The nodes of each cluster dataset's chunks, by dataset name (empty outside a cluster).
using PlacementMap = std::map<std::string, Placement>;

// {"datasets": [...]}; a dataset in @placement also gets "placement": {"chunk_size",
// "chunks": [[home, replica, ...], ...]}.
nlohmann::json list_json(const std::vector<DatasetInfo>& datasets,
                         const PlacementMap& placement = {});
// {"self_id", "link", "epoch", "nodes": [{"id", "self", "state", "uuid", "address" (null when
// the node gave none), "capacity", "free"}, ...]} in the kernel's order.
nlohmann::json node_json(const NodeInfo& node, std::uint32_t self_id);
nlohmann::json nodes_json(const Cluster& cluster);

// Human renderings, each line ending in '\n': "key: value" blocks with aligned values for
// info and stat, aligned tables (header always printed) for the dataset list (sorted by name)
// and the node table.
std::string render_info(const Info& info);
std::string render_stat(const Stat& stat);
// The counters as a "key: value" block, then "fetch latency:" and one line per histogram
// bucket, "  [1, 2) us  COUNT" with the ranges and counts aligned ("  >= 16384 us" last).
std::string render_stats(const Info& info);
// The counters in the Prometheus text exposition format (version 0.0.4), for a node
// exporter's textfile collector or a scrape: dspm_attached, dspm_*_total counters and the
// fetch latencies as the histogram dspm_fetch_duration_seconds (cumulative buckets; no _sum,
// since the kernel keeps none).  Counters a kernel did not report are left out.
std::string render_prometheus(const Info& info);
// "< 1 us", "[1, 2) us", ..., ">= 16384 us".
std::string format_bucket(std::size_t bucket);
// With @placement, a CHUNKS column: each chunk's nodes, home first ("1+2 2+3"), up to four
// chunks, then the count of the rest.
std::string render_list(std::vector<DatasetInfo> datasets, const PlacementMap& placement = {});
// The node table sorted by id, this node marked with '*' in the first column, then the line
// "this node: ID, link: connected, epoch: N".
std::string render_nodes(const Cluster& cluster);

}  // namespace dspm::admin
