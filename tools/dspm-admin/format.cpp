// SPDX-License-Identifier: MIT
// dspm-admin: value parsing and output rendering.
#include "format.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <span>
#include <stdexcept>
#include <utility>

namespace dspm::admin {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

std::uint64_t parse_size(std::string_view text) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && is_digit(text[i])) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (max - digit) / 10)
      throw std::invalid_argument("size " + quoted(text) + " is too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0)
    throw std::invalid_argument("size " + quoted(text) +
                                " is not a number of bytes (examples: 4096, 64K, 16MiB, 1G)");

  const std::string_view suffix = text.substr(i);
  unsigned shift = 0;
  if (!suffix.empty() && suffix != "B" && suffix != "b") {
    static constexpr std::string_view letters = "kmgtpe";
    const auto pos = letters.find(lower(suffix[0]));
    const std::string_view rest = suffix.substr(1);
    if (pos == std::string_view::npos || !(rest.empty() || rest == "iB" || rest == "ib"))
      throw std::invalid_argument("size " + quoted(text) + ": unknown unit " + quoted(suffix) +
                                  " (use K, M, G, T, P, E or KiB, MiB, GiB, TiB, PiB, EiB)");
    shift = 10 * static_cast<unsigned>(pos + 1);
  }
  if (shift > 0 && value > (max >> shift))
    throw std::invalid_argument("size " + quoted(text) + " is too large");
  return value << shift;
}

std::uint32_t parse_mode(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O'))
    digits.remove_prefix(2);
  if (digits.empty() || digits.size() > 4)
    throw std::invalid_argument("mode " + quoted(text) + " is not an octal number like 0600");
  std::uint32_t mode = 0;
  for (char c : digits) {
    if (c < '0' || c > '7')
      throw std::invalid_argument("mode " + quoted(text) + " is not an octal number like 0600");
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (mode > 0777) throw std::invalid_argument("mode " + quoted(text) + " has bits outside 0777");
  return mode;
}

Model parse_model(std::string_view text) {
  std::string low(text);
  std::transform(low.begin(), low.end(), low.begin(), lower);
  if (low == "mrmw") return Model::mrmw;
  if (low == "mrsw") return Model::mrsw;
  throw std::invalid_argument("model " + quoted(text) + " is not one of mrmw, mrsw");
}

Transport parse_transport(std::string_view text) {
  std::string low(text);
  std::transform(low.begin(), low.end(), low.begin(), lower);
  if (low == "tcp") return Transport::tcp;
  if (low == "rdma") return Transport::rdma;
  throw std::invalid_argument("transport " + quoted(text) + " is not one of tcp, rdma");
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 6> units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  std::size_t unit = 0;
  long double value = static_cast<long double>(bytes) / 1024.0L;
  // Move up while the value would print as 1024.0 or more.
  while (unit + 1 < units.size() && std::round(value * 10.0L) >= 10240.0L) {
    value /= 1024.0L;
    ++unit;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1Lf %s", std::round(value * 10.0L) / 10.0L, units[unit]);
  return buf;
}

std::string format_mode(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

std::string format_time(std::uint64_t ns_since_epoch) {
  if (ns_since_epoch == 0) return "-";
  const auto seconds = static_cast<std::time_t>(ns_since_epoch / 1'000'000'000ULL);
  std::tm tm{};
  if (!::gmtime_r(&seconds, &tm)) return "-";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// --- JSON --------------------------------------------------------------------------------

nlohmann::json info_json(const Info& info) {
  return {
      {"attached", info.attached},
      {"volatile", info.volatile_memory},
      {"flags", info.flags},
      {"abi_version", info.abi_version},
      {"layout_version", info.layout_version},
      {"uuid", info.uuid},
      {"page_size", info.page_size},
      {"capacity", info.capacity},
      {"free", info.free},
      {"datasets", info.datasets},
      {"max_datasets", info.max_datasets},
      {"log_capacity", info.log_capacity},
      {"commits", info.commits},
      {"aborts", info.aborts},
      {"recovered", info.recovered},
  };
}

nlohmann::json stats_json(const Info& info) {
  const bool known = info.has_counters;
  const auto counter = [known](std::uint64_t value) -> nlohmann::json {
    return known ? nlohmann::json(value) : nlohmann::json(nullptr);
  };
  auto hist = nlohmann::json::array();
  for (std::size_t i = 0; i < info.fetch_hist.size(); ++i) {
    const auto range = fetch_bucket_range(i);
    hist.push_back({
        {"low_us", range.low_us},
        {"high_us", range.high_us ? nlohmann::json(range.high_us) : nlohmann::json(nullptr)},
        {"count", counter(info.fetch_hist[i])},
    });
  }
  return {
      {"attached", info.attached},
      {"counters_reported", known},
      {"commits", info.commits},
      {"aborts", info.aborts},
      {"faults_local", counter(info.faults_local)},
      {"faults_remote", counter(info.faults_remote)},
      {"conflicts", counter(info.conflicts)},
      {"bytes_committed", counter(info.bytes_committed)},
      {"bytes_replicated", counter(info.bytes_replicated)},
      {"pages_shadowed", counter(info.pages_shadowed)},
      {"fetch_hist", std::move(hist)},
  };
}

nlohmann::json dataset_json(const DatasetInfo& d) {
  return {
      {"id", d.id},
      {"name", d.name},
      {"length", d.length},
      {"pages", d.pages},
      {"uid", d.uid},
      {"gid", d.gid},
      {"mode", format_mode(d.mode)},
      {"model", std::string(to_string(d.model))},
      {"replicas", d.replicas},
      {"open_count", d.open_count},
      {"version", d.version},
      {"ctime_ns", d.ctime_ns},
      {"ctime", format_time(d.ctime_ns)},
  };
}

nlohmann::json stat_json(const Stat& stat) {
  auto j = dataset_json(stat);
  j["dirty_pages"] = stat.dirty_pages;
  return j;
}

nlohmann::json list_json(const std::vector<DatasetInfo>& datasets, const PlacementMap& placement) {
  auto array = nlohmann::json::array();
  for (const auto& d : datasets) {
    auto j = dataset_json(d);
    if (const auto it = placement.find(d.name); it != placement.end())
      j["placement"] = {{"chunk_size", it->second.chunk_size}, {"chunks", it->second.chunks}};
    array.push_back(std::move(j));
  }
  return {{"datasets", std::move(array)}};
}

nlohmann::json node_json(const NodeInfo& node, std::uint32_t self_id) {
  return {
      {"id", node.id},
      {"self", node.id == self_id},
      {"state", std::string(to_string(node.state))},
      {"uuid", node.uuid},
      {"address", node.address.empty() ? nlohmann::json(nullptr) : nlohmann::json(node.address)},
      {"capacity", node.capacity},
      {"free", node.free},
      {"incarnation", node.incarnation},
  };
}

nlohmann::json nodes_json(const Cluster& cluster) {
  auto array = nlohmann::json::array();
  for (const auto& n : cluster.nodes) array.push_back(node_json(n, cluster.self_id));
  return {
      {"self_id", cluster.self_id},
      {"link", std::string(to_string(cluster.link))},
      {"epoch", cluster.epoch},
      {"nodes", std::move(array)},
  };
}

// --- human ---------------------------------------------------------------------------------

namespace {

using Lines = std::vector<std::pair<std::string, std::string>>;

std::string key_values(const Lines& lines) {
  std::size_t width = 0;
  for (const auto& [key, value] : lines) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : lines) {
    out += key;
    out += ':';
    out.append(width - key.size() + 1, ' ');
    out += value;
    out += '\n';
  }
  return out;
}

std::string size_both(std::uint64_t bytes) {
  if (bytes < 1024) return format_size(bytes);
  return format_size(bytes) + " (" + std::to_string(bytes) + " bytes)";
}

// to_string() of a dspm enum, with the raw value when this program does not know it.
template <class Enum>
std::string enum_name(Enum value) {
  const auto name = to_string(value);
  if (name != "unknown") return std::string(name);
  return "unknown (" + std::to_string(static_cast<std::uint32_t>(value)) + ")";
}

std::string model_name(Model model) {
  return enum_name(model);
}

struct Column {
  const char* header;
  bool right;
};

using Row = std::vector<std::string>;

// An aligned table, the header first, columns two blanks apart, no trailing blanks.  With
// @marks, every line starts with a marker column: the row's character (the header's is blank).
std::string render_table(std::span<const Column> columns, const std::vector<Row>& body,
                         const std::vector<char>* marks = nullptr) {
  std::vector<Row> rows;
  rows.reserve(body.size() + 1);
  Row header;
  for (const auto& column : columns) header.emplace_back(column.header);
  rows.push_back(std::move(header));
  rows.insert(rows.end(), body.begin(), body.end());

  std::vector<std::size_t> width(columns.size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < columns.size(); ++c) width[c] = std::max(width[c], row[c].size());

  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    std::string line;
    if (marks) {
      line += r > 0 && r - 1 < marks->size() ? (*marks)[r - 1] : ' ';
      line += ' ';
    }
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) line += "  ";
      const std::size_t pad = width[c] - row[c].size();
      if (columns[c].right) line.append(pad, ' ');
      line += row[c];
      if (!columns[c].right) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace

std::string render_info(const Info& info) {
  Lines lines;
  if (!info.attached) {
    lines = {{"state", "detached"}, {"abi version", std::to_string(info.abi_version)}};
    return key_values(lines);
  }
  lines = {
      {"state", info.volatile_memory ? "attached (volatile DRAM)" : "attached (persistent)"},
      {"abi version", std::to_string(info.abi_version)},
      {"layout version", std::to_string(info.layout_version)},
      {"uuid", info.uuid},
      {"page size", size_both(info.page_size)},
      {"capacity", size_both(info.capacity)},
      {"free", size_both(info.free)},
      {"datasets", std::to_string(info.datasets) + " of " + std::to_string(info.max_datasets)},
      {"log capacity", size_both(info.log_capacity)},
      {"commits", std::to_string(info.commits)},
      {"aborts", std::to_string(info.aborts)},
      {"recovered", std::to_string(info.recovered)},
  };
  return key_values(lines);
}

std::string render_stat(const Stat& s) {
  const Lines lines = {
      {"name", s.name},
      {"id", std::to_string(s.id)},
      {"length", size_both(s.length)},
      {"pages", std::to_string(s.pages)},
      {"model", model_name(s.model)},
      {"replicas", std::to_string(s.replicas)},
      {"mode", format_mode(s.mode)},
      {"uid", std::to_string(s.uid)},
      {"gid", std::to_string(s.gid)},
      {"open fds", std::to_string(s.open_count)},
      {"version", std::to_string(s.version)},
      {"created", format_time(s.ctime_ns)},
      {"dirty pages", std::to_string(s.dirty_pages)},
  };
  return key_values(lines);
}

std::string format_bucket(std::size_t bucket) {
  const auto range = fetch_bucket_range(bucket);
  if (bucket == 0) return "< 1 us";
  if (!range.high_us) return ">= " + std::to_string(range.low_us) + " us";
  return "[" + std::to_string(range.low_us) + ", " + std::to_string(range.high_us) + ") us";
}

std::string render_prometheus(const Info& info) {
  std::string out;
  const auto metric = [&out](const char* name, const char* type, const char* help,
                             std::uint64_t value) {
    out += std::string("# HELP ") + name + ' ' + help + '\n';
    out += std::string("# TYPE ") + name + ' ' + type + '\n';
    out += std::string(name) + ' ' + std::to_string(value) + '\n';
  };
  metric("dspm_attached", "gauge", "Whether a backing device is attached (1) or not (0).",
         info.attached ? 1 : 0);
  if (!info.attached) return out;
  metric("dspm_commits_total", "counter", "Commits applied on this node.", info.commits);
  metric("dspm_aborts_total", "counter", "Aborts on this node.", info.aborts);
  if (!info.has_counters) return out;
  metric("dspm_conflicts_total", "counter", "Commits that failed with EAGAIN.", info.conflicts);
  metric("dspm_faults_local_total", "counter", "Page faults served from this node's media.",
         info.faults_local);
  metric("dspm_faults_remote_total", "counter", "Page faults that fetched from another node.",
         info.faults_remote);
  metric("dspm_pages_shadowed_total", "counter", "Pages copied on a first store.",
         info.pages_shadowed);
  metric("dspm_committed_bytes_total", "counter", "Dataset bytes written by commits here.",
         info.bytes_committed);
  metric("dspm_replicated_bytes_total", "counter",
         "Bytes applied here on behalf of other nodes' commits.", info.bytes_replicated);
  out += "# HELP dspm_fetch_duration_seconds Latency of remote page fetches.\n";
  out += "# TYPE dspm_fetch_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < info.fetch_hist.size(); ++i) {
    cumulative += info.fetch_hist[i];
    const auto range = fetch_bucket_range(i);
    char le[32];
    if (range.high_us)
      std::snprintf(le, sizeof(le), "%g", static_cast<double>(range.high_us) / 1e6);
    else
      std::snprintf(le, sizeof(le), "+Inf");
    out += std::string("dspm_fetch_duration_seconds_bucket{le=\"") + le + "\"} " +
           std::to_string(cumulative) + '\n';
  }
  out += "dspm_fetch_duration_seconds_count " + std::to_string(cumulative) + '\n';
  return out;
}

std::string render_stats(const Info& info) {
  if (!info.attached) return key_values({{"state", "detached"}});
  Lines lines = {
      {"commits", std::to_string(info.commits)},
      {"aborts", std::to_string(info.aborts)},
  };
  if (!info.has_counters) {
    lines.emplace_back("counters", "not reported by this kernel");
    return key_values(lines);
  }
  const Lines more = {
      {"conflicts", std::to_string(info.conflicts)},
      {"faults local", std::to_string(info.faults_local)},
      {"faults remote", std::to_string(info.faults_remote)},
      {"pages shadowed", std::to_string(info.pages_shadowed)},
      {"bytes committed", size_both(info.bytes_committed)},
      {"bytes replicated", size_both(info.bytes_replicated)},
  };
  lines.insert(lines.end(), more.begin(), more.end());
  std::string out = key_values(lines);
  out += "fetch latency:\n";
  std::vector<std::string> labels, counts;
  std::size_t label_width = 0, count_width = 0;
  for (std::size_t i = 0; i < info.fetch_hist.size(); ++i) {
    labels.push_back(format_bucket(i));
    counts.push_back(std::to_string(info.fetch_hist[i]));
    label_width = std::max(label_width, labels.back().size());
    count_width = std::max(count_width, counts.back().size());
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += "  " + labels[i] + std::string(label_width - labels[i].size(), ' ') + "  ";
    out += std::string(count_width - counts[i].size(), ' ') + counts[i] + '\n';
  }
  return out;
}

namespace {

std::string chunk_nodes(const Placement& placement) {
  constexpr std::size_t shown = 4;
  std::string out;
  for (std::size_t i = 0; i < placement.chunks.size() && i < shown; ++i) {
    if (i > 0) out += ' ';
    for (std::size_t n = 0; n < placement.chunks[i].size(); ++n) {
      if (n > 0) out += '+';
      out += std::to_string(placement.chunks[i][n]);
    }
  }
  if (placement.chunks.size() > shown)
    out += " (+" + std::to_string(placement.chunks.size() - shown) + " chunks)";
  return out;
}

}  // namespace

std::string render_list(std::vector<DatasetInfo> datasets, const PlacementMap& placement) {
  std::sort(datasets.begin(), datasets.end(),
            [](const DatasetInfo& a, const DatasetInfo& b) { return a.name < b.name; });
  static constexpr std::array<Column, 12> columns = {{{"NAME", false},
                                                      {"ID", true},
                                                      {"SIZE", true},
                                                      {"MODEL", false},
                                                      {"REPL", true},
                                                      {"MODE", false},
                                                      {"UID", true},
                                                      {"GID", true},
                                                      {"OPEN", true},
                                                      {"VERSION", true},
                                                      {"CREATED", false},
                                                      {"CHUNKS", false}}};
  // Outside a cluster there is no placement: no CHUNKS column.
  const std::size_t shown = placement.empty() ? columns.size() - 1 : columns.size();
  std::vector<Row> rows;
  rows.reserve(datasets.size());
  for (const auto& d : datasets) {
    rows.push_back({d.name, std::to_string(d.id), format_size(d.length), model_name(d.model),
                    std::to_string(d.replicas), format_mode(d.mode), std::to_string(d.uid),
                    std::to_string(d.gid), std::to_string(d.open_count), std::to_string(d.version),
                    format_time(d.ctime_ns)});
    if (!placement.empty()) {
      const auto it = placement.find(d.name);
      rows.back().push_back(it == placement.end() ? "-" : chunk_nodes(it->second));
    }
  }
  return render_table(std::span(columns.data(), shown), rows);
}

std::string render_nodes(const Cluster& cluster) {
  std::vector<NodeInfo> nodes = cluster.nodes;
  std::sort(nodes.begin(), nodes.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
  static constexpr std::array<Column, 6> columns = {{{"ID", true},
                                                     {"STATE", false},
                                                     {"ADDRESS", false},
                                                     {"CAPACITY", true},
                                                     {"FREE", true},
                                                     {"UUID", false}}};
  std::vector<Row> rows;
  std::vector<char> marks;
  rows.reserve(nodes.size());
  marks.reserve(nodes.size());
  for (const auto& n : nodes) {
    rows.push_back({std::to_string(n.id), enum_name(n.state), n.address.empty() ? "-" : n.address,
                    format_size(n.capacity), format_size(n.free), n.uuid});
    marks.push_back(n.id == cluster.self_id ? '*' : ' ');
  }
  return render_table(columns, rows, &marks) + "this node: " + std::to_string(cluster.self_id) +
         ", link: " + enum_name(cluster.link) + ", epoch: " + std::to_string(cluster.epoch) + "\n";
}

}  // namespace dspm::admin
