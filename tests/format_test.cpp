// SPDX-License-Identifier: MIT
// dspm-admin value parsing and rendering.
#include "format.hpp"

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace admin = dspm::admin;
using nlohmann::json;

// --- SIZE ----------------------------------------------------------------------------------

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(admin::parse_size("0"), 0U);
  EXPECT_EQ(admin::parse_size("4096"), 4096U);
  EXPECT_EQ(admin::parse_size("007"), 7U);
  EXPECT_EQ(admin::parse_size("12B"), 12U);
  EXPECT_EQ(admin::parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(ParseSize, BinarySuffixes) {
  EXPECT_EQ(admin::parse_size("64K"), 64U << 10);
  EXPECT_EQ(admin::parse_size("64KiB"), 64U << 10);
  EXPECT_EQ(admin::parse_size("64k"), 64U << 10);
  EXPECT_EQ(admin::parse_size("16M"), 16U << 20);
  EXPECT_EQ(admin::parse_size("16MiB"), 16U << 20);
  EXPECT_EQ(admin::parse_size("1G"), 1ULL << 30);
  EXPECT_EQ(admin::parse_size("1gib"), 1ULL << 30);
  EXPECT_EQ(admin::parse_size("3T"), 3ULL << 40);
  EXPECT_EQ(admin::parse_size("64TiB"), 1ULL << 46);
  EXPECT_EQ(admin::parse_size("2P"), 2ULL << 50);
  EXPECT_EQ(admin::parse_size("15E"), 15ULL << 60);
}

TEST(ParseSize, Overflow) {
  EXPECT_THROW(admin::parse_size("18446744073709551616"), std::invalid_argument);
  EXPECT_THROW(admin::parse_size("99999999999999999999999"), std::invalid_argument);
  EXPECT_THROW(admin::parse_size("16E"), std::invalid_argument);
  EXPECT_THROW(admin::parse_size("16384P"), std::invalid_argument);
  EXPECT_THROW(admin::parse_size("17179869184G"), std::invalid_argument);
  EXPECT_EQ(admin::parse_size("17179869183G"), 17179869183ULL << 30);
  try {
    admin::parse_size("20E");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "size '20E' is too large");
  }
}

TEST(ParseSize, Garbage) {
  for (const char* bad : {"", "K", "abc", "-1", "+5", " 5", "5 ", "1.5G", "0x10", "1KB", "1MB",
                          "1Ki", "1GiBB", "1Z", "10 M", "1e3", "G1", "1,000"})
    EXPECT_THROW(admin::parse_size(bad), std::invalid_argument) << "'" << bad << "'";
  try {
    admin::parse_size("12Q");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown unit 'Q'"), std::string::npos) << e.what();
  }
}

// --- MODE / MODEL ----------------------------------------------------------------------------

TEST(ParseMode, Octal) {
  EXPECT_EQ(admin::parse_mode("600"), 0600U);
  EXPECT_EQ(admin::parse_mode("0600"), 0600U);
  EXPECT_EQ(admin::parse_mode("0644"), 0644U);
  EXPECT_EQ(admin::parse_mode("0o640"), 0640U);
  EXPECT_EQ(admin::parse_mode("777"), 0777U);
  EXPECT_EQ(admin::parse_mode("0"), 0U);
  EXPECT_EQ(admin::parse_mode("0000"), 0U);
}

TEST(ParseMode, Rejects) {
  for (const char* bad : {"", "8", "0800", "0o", "1000", "01777", "4755", "rw-r--r--", "u+rw",
                          "-600", "0x180", "00600", " 600"})
    EXPECT_THROW(admin::parse_mode(bad), std::invalid_argument) << "'" << bad << "'";
  try {
    admin::parse_mode("1777");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "mode '1777' has bits outside 0777");
  }
}

TEST(ParseModel, Names) {
  EXPECT_EQ(admin::parse_model("mrmw"), dspm::Model::mrmw);
  EXPECT_EQ(admin::parse_model("MRSW"), dspm::Model::mrsw);
  EXPECT_THROW(admin::parse_model("swmr"), std::invalid_argument);
  EXPECT_THROW(admin::parse_model(""), std::invalid_argument);
}

// --- formatting ------------------------------------------------------------------------------

TEST(ParseTransport, Names) {
  EXPECT_EQ(admin::parse_transport("tcp"), dspm::Transport::tcp);
  EXPECT_EQ(admin::parse_transport("TCP"), dspm::Transport::tcp);
  EXPECT_EQ(admin::parse_transport("rdma"), dspm::Transport::rdma);
  EXPECT_EQ(admin::parse_transport("RDMA"), dspm::Transport::rdma);
  for (const char* bad : {"", "udp", "tcp ", "roce", "ib"})
    EXPECT_THROW(admin::parse_transport(bad), std::invalid_argument) << "'" << bad << "'";
  try {
    admin::parse_transport("udp");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "transport 'udp' is not one of tcp, rdma");
  }
}

TEST(FormatSize, HumanReadable) {
  EXPECT_EQ(admin::format_size(0), "0 B");
  EXPECT_EQ(admin::format_size(1023), "1023 B");
  EXPECT_EQ(admin::format_size(1024), "1.0 KiB");
  EXPECT_EQ(admin::format_size(1536), "1.5 KiB");
  EXPECT_EQ(admin::format_size(4096), "4.0 KiB");
  EXPECT_EQ(admin::format_size(64ULL << 20), "64.0 MiB");
  EXPECT_EQ(admin::format_size(3ULL << 29), "1.5 GiB");
  EXPECT_EQ(admin::format_size(1ULL << 46), "64.0 TiB");
  EXPECT_EQ(admin::format_size(std::numeric_limits<std::uint64_t>::max()), "16.0 EiB");
}

TEST(FormatSize, RoundsUpIntoTheNextUnit) {
  EXPECT_EQ(admin::format_size((1ULL << 20) - 1), "1.0 MiB");  // not "1024.0 KiB"
  EXPECT_EQ(admin::format_size((1ULL << 20) - 60), "1023.9 KiB");
}

TEST(FormatMode, FourOctalDigits) {
  EXPECT_EQ(admin::format_mode(0600), "0600");
  EXPECT_EQ(admin::format_mode(0), "0000");
  EXPECT_EQ(admin::format_mode(0777), "0777");
}

TEST(FormatTime, IsoUtc) {
  EXPECT_EQ(admin::format_time(0), "-");
  EXPECT_EQ(admin::format_time(1'700'000'000'999'999'999ULL), "2023-11-14T22:13:20Z");
}

// --- JSON ------------------------------------------------------------------------------------

namespace {

dspm::Info sample_info() {
  dspm::Info info;
  info.attached = true;
  info.volatile_memory = true;
  info.flags = DSPM_INFO_ATTACHED | DSPM_INFO_VOLATILE;
  info.abi_version = 1;
  info.layout_version = 1;
  info.uuid = "12345678-9abc-def0-0123-456789abcdef";
  info.page_size = 4096;
  info.capacity = 64ULL << 20;
  info.free = 48ULL << 20;
  info.datasets = 2;
  info.max_datasets = 1024;
  info.log_capacity = 4ULL << 20;
  info.commits = 17;
  info.aborts = 3;
  info.recovered = 0;
  return info;
}

dspm::Info sample_stats() {
  auto info = sample_info();
  info.has_counters = true;
  info.faults_local = 1234;
  info.faults_remote = 5;
  info.conflicts = 2;
  info.bytes_committed = 8192;
  info.bytes_replicated = 100;
  info.pages_shadowed = 40;
  info.fetch_hist[0] = 7;
  info.fetch_hist[3] = 120;
  info.fetch_hist[15] = 1;
  return info;
}

dspm::DatasetInfo sample_dataset(std::uint64_t id, std::string name, std::uint64_t length) {
  dspm::DatasetInfo d;
  d.id = id;
  d.name = std::move(name);
  d.length = length;
  d.pages = (length + 4095) / 4096;
  d.uid = 1000;
  d.gid = 1001;
  d.mode = 0640;
  d.model = dspm::Model::mrsw;
  d.replicas = 2;
  d.open_count = 1;
  d.version = 5;
  d.ctime_ns = 1'700'000'000'000'000'000ULL;
  return d;
}

}  // namespace

TEST(Json, InfoRoundTrips) {
  const json j = json::parse(admin::info_json(sample_info()).dump());
  EXPECT_EQ(j.at("attached"), true);
  EXPECT_EQ(j.at("volatile"), true);
  EXPECT_EQ(j.at("flags"), 3);
  EXPECT_EQ(j.at("abi_version"), 1);
  EXPECT_EQ(j.at("layout_version"), 1);
  EXPECT_EQ(j.at("uuid"), "12345678-9abc-def0-0123-456789abcdef");
  EXPECT_EQ(j.at("page_size").get<std::uint64_t>(), 4096U);
  EXPECT_EQ(j.at("capacity").get<std::uint64_t>(), 64ULL << 20);
  EXPECT_EQ(j.at("free").get<std::uint64_t>(), 48ULL << 20);
  EXPECT_EQ(j.at("datasets"), 2);
  EXPECT_EQ(j.at("max_datasets"), 1024);
  EXPECT_EQ(j.at("log_capacity").get<std::uint64_t>(), 4ULL << 20);
  EXPECT_EQ(j.at("commits"), 17);
  EXPECT_EQ(j.at("aborts"), 3);
  EXPECT_EQ(j.at("recovered"), 0);
}

TEST(Json, LargeValuesStayExact) {
  auto info = sample_info();
  info.capacity = std::numeric_limits<std::uint64_t>::max();
  const json j = json::parse(admin::info_json(info).dump());
  EXPECT_EQ(j.at("capacity").get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
}

TEST(Json, StatsExactNumbersAndBuckets) {
  auto info = sample_stats();
  info.bytes_committed = std::numeric_limits<std::uint64_t>::max();
  const json j = json::parse(admin::stats_json(info).dump());
  EXPECT_EQ(j.at("attached"), true);
  EXPECT_EQ(j.at("counters_reported"), true);
  EXPECT_EQ(j.at("commits"), 17);
  EXPECT_EQ(j.at("aborts"), 3);
  EXPECT_EQ(j.at("faults_local"), 1234);
  EXPECT_EQ(j.at("faults_remote"), 5);
  EXPECT_EQ(j.at("conflicts"), 2);
  EXPECT_EQ(j.at("bytes_committed").get<std::uint64_t>(),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j.at("bytes_replicated"), 100);
  EXPECT_EQ(j.at("pages_shadowed"), 40);
  const auto& hist = j.at("fetch_hist");
  ASSERT_TRUE(hist.is_array());
  ASSERT_EQ(hist.size(), std::size_t{DSPM_INFO_FETCH_BUCKETS});
  EXPECT_EQ(hist[0].at("low_us"), 0);
  EXPECT_EQ(hist[0].at("high_us"), 1);
  EXPECT_EQ(hist[0].at("count"), 7);
  EXPECT_EQ(hist[3].at("low_us"), 4);
  EXPECT_EQ(hist[3].at("high_us"), 8);
  EXPECT_EQ(hist[3].at("count"), 120);
  EXPECT_EQ(hist[15].at("low_us"), 16384);
  EXPECT_TRUE(hist[15].at("high_us").is_null());
  EXPECT_EQ(hist[15].at("count"), 1);
}

TEST(Json, StatsNotReportedAreNull) {
  const json j = json::parse(admin::stats_json(sample_info()).dump());
  EXPECT_EQ(j.at("counters_reported"), false);
  EXPECT_EQ(j.at("commits"), 17);
  EXPECT_TRUE(j.at("faults_local").is_null());
  EXPECT_TRUE(j.at("bytes_committed").is_null());
  EXPECT_TRUE(j.at("fetch_hist")[0].at("count").is_null());
}

TEST(Json, DatasetFields) {
  const json j = json::parse(admin::dataset_json(sample_dataset(7, "alpha", 10000)).dump());
  EXPECT_EQ(j.at("id"), 7);
  EXPECT_EQ(j.at("name"), "alpha");
  EXPECT_EQ(j.at("length"), 10000);
  EXPECT_EQ(j.at("pages"), 3);
  EXPECT_EQ(j.at("uid"), 1000);
  EXPECT_EQ(j.at("gid"), 1001);
  EXPECT_EQ(j.at("mode"), "0640");
  EXPECT_EQ(j.at("model"), "mrsw");
  EXPECT_EQ(j.at("replicas"), 2);
  EXPECT_EQ(j.at("open_count"), 1);
  EXPECT_EQ(j.at("version"), 5);
  EXPECT_EQ(j.at("ctime_ns").get<std::uint64_t>(), 1'700'000'000'000'000'000ULL);
  EXPECT_EQ(j.at("ctime"), "2023-11-14T22:13:20Z");
}

TEST(Json, StatAddsDirtyPages) {
  dspm::Stat st;
  static_cast<dspm::DatasetInfo&>(st) = sample_dataset(3, "s", 4096);
  st.dirty_pages = 9;
  const json j = json::parse(admin::stat_json(st).dump());
  EXPECT_EQ(j.at("name"), "s");
  EXPECT_EQ(j.at("length"), 4096);
  EXPECT_EQ(j.at("dirty_pages"), 9);
}

TEST(Json, ListKeepsOrderAndAllEntries) {
  const std::vector<dspm::DatasetInfo> list = {sample_dataset(2, "b", 1),
                                               sample_dataset(1, "a", 2)};
  const json j = json::parse(admin::list_json(list).dump());
  ASSERT_TRUE(j.at("datasets").is_array());
  ASSERT_EQ(j.at("datasets").size(), 2U);
  EXPECT_EQ(j["datasets"][0].at("name"), "b");
  EXPECT_EQ(j["datasets"][1].at("id"), 1);
  const json empty = json::parse(admin::list_json({}).dump());
  EXPECT_TRUE(empty.at("datasets").is_array());
  EXPECT_TRUE(empty.at("datasets").empty());
}

TEST(Json, UnknownModelIsNamedUnknown) {
  auto d = sample_dataset(1, "m", 1);
  d.model = static_cast<dspm::Model>(5);
  EXPECT_EQ(admin::dataset_json(d).at("model"), "unknown");
}

// --- human output ----------------------------------------------------------------------------

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST(Human, InfoAttachedIsAlignedKeyValue) {
  const std::string text = admin::render_info(sample_info());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto ls = lines(text);
  ASSERT_EQ(ls.size(), 12U);
  const std::size_t column = ls[0].find("attached");
  for (const auto& line : ls) {
    const auto colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << line;
    EXPECT_NE(line[column], ' ') << line;  // every value starts in the same column
    EXPECT_EQ(line[column - 1], ' ') << line;
  }
  EXPECT_NE(text.find("state:          attached (volatile DRAM)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("capacity:       64.0 MiB (67108864 bytes)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("datasets:       2 of 1024\n"), std::string::npos) << text;
  EXPECT_NE(text.find("uuid:           12345678-9abc-def0-0123-456789abcdef\n"), std::string::npos);
}

TEST(Human, InfoDetachedIsShort) {
  dspm::Info info;
  info.abi_version = 1;
  EXPECT_EQ(admin::render_info(info), "state:       detached\nabi version: 1\n");
}

TEST(Human, StatsCountersAndHistogram) {
  const std::string text = admin::render_stats(sample_stats());
  const auto ls = lines(text);
  ASSERT_EQ(ls.size(), 8U + 1U + DSPM_INFO_FETCH_BUCKETS) << text;
  EXPECT_EQ(ls[0], "commits:          17");
  EXPECT_EQ(ls[1], "aborts:           3");
  EXPECT_EQ(ls[2], "conflicts:        2");
  EXPECT_EQ(ls[3], "faults local:     1234");
  EXPECT_EQ(ls[4], "faults remote:    5");
  EXPECT_EQ(ls[5], "pages shadowed:   40");
  EXPECT_EQ(ls[6], "bytes committed:  8.0 KiB (8192 bytes)");
  EXPECT_EQ(ls[7], "bytes replicated: 100 B");
  EXPECT_EQ(ls[8], "fetch latency:");
  EXPECT_EQ(ls[9], "  < 1 us              7");
  EXPECT_EQ(ls[10], "  [1, 2) us           0");
  EXPECT_EQ(ls[12], "  [4, 8) us         120");
  EXPECT_EQ(ls[23], "  [8192, 16384) us    0");
  EXPECT_EQ(ls[24], "  >= 16384 us         1");
}

TEST(Human, StatsWithoutCountersOrDetached) {
  EXPECT_EQ(admin::render_stats(sample_info()),
            "commits:  17\naborts:   3\ncounters: not reported by this kernel\n");
  dspm::Info detached;
  EXPECT_EQ(admin::render_stats(detached), "state: detached\n");
}

// Every sample line is "NAME VALUE" or "NAME{le="X"} VALUE", each family announced by its
// HELP and TYPE lines first; the buckets are cumulative and end at +Inf = _count.
TEST(Prometheus, CountersAndHistogram) {
  const std::string text = admin::render_prometheus(sample_stats());
  const auto ls = lines(text);
  const auto has = [&ls](const std::string& line) {
    return std::find(ls.begin(), ls.end(), line) != ls.end();
  };
  EXPECT_TRUE(has("# TYPE dspm_attached gauge")) << text;
  EXPECT_TRUE(has("dspm_attached 1"));
  EXPECT_TRUE(has("# TYPE dspm_commits_total counter"));
  EXPECT_TRUE(has("dspm_commits_total 17"));
  EXPECT_TRUE(has("dspm_aborts_total 3"));
  EXPECT_TRUE(has("dspm_conflicts_total 2"));
  EXPECT_TRUE(has("dspm_faults_local_total 1234"));
  EXPECT_TRUE(has("dspm_faults_remote_total 5"));
  EXPECT_TRUE(has("dspm_pages_shadowed_total 40"));
  EXPECT_TRUE(has("dspm_committed_bytes_total 8192"));
  EXPECT_TRUE(has("dspm_replicated_bytes_total 100"));
  EXPECT_TRUE(has("# TYPE dspm_fetch_duration_seconds histogram"));
  EXPECT_TRUE(has("dspm_fetch_duration_seconds_bucket{le=\"1e-06\"} 7"));
  EXPECT_TRUE(has("dspm_fetch_duration_seconds_bucket{le=\"8e-06\"} 127"));
  EXPECT_TRUE(has("dspm_fetch_duration_seconds_bucket{le=\"0.016384\"} 127"));
  EXPECT_TRUE(has("dspm_fetch_duration_seconds_bucket{le=\"+Inf\"} 128"));
  EXPECT_TRUE(has("dspm_fetch_duration_seconds_count 128"));
  std::string family;
  for (const auto& l : ls) {
    if (l.starts_with("# HELP ")) {
      family = l.substr(7, l.find(' ', 7) - 7);
      continue;
    }
    if (l.starts_with("# TYPE ")) {
      EXPECT_EQ(l.substr(7, family.size() + 1), family + " ") << l;
      continue;
    }
    EXPECT_TRUE(l.starts_with(family)) << l << " outside its family " << family;
    EXPECT_NE(l.find(' '), std::string::npos) << l;
  }
}

TEST(Prometheus, DetachedAndWithoutCounters) {
  dspm::Info detached;
  EXPECT_EQ(admin::render_prometheus(detached),
            "# HELP dspm_attached Whether a backing device is attached (1) or not (0).\n"
            "# TYPE dspm_attached gauge\ndspm_attached 0\n");
  const std::string text = admin::render_prometheus(sample_info());
  EXPECT_NE(text.find("dspm_commits_total 17\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("dspm_conflicts_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("dspm_fetch_duration_seconds"), std::string::npos) << text;
}

TEST(Human, BucketLabels) {
  EXPECT_EQ(admin::format_bucket(0), "< 1 us");
  EXPECT_EQ(admin::format_bucket(1), "[1, 2) us");
  EXPECT_EQ(admin::format_bucket(11), "[1024, 2048) us");
  EXPECT_EQ(admin::format_bucket(15), ">= 16384 us");
}

TEST(Human, Stat) {
  dspm::Stat st;
  static_cast<dspm::DatasetInfo&>(st) = sample_dataset(4, "ds", 64ULL << 20);
  st.dirty_pages = 2;
  const std::string text = admin::render_stat(st);
  EXPECT_NE(text.find("name:        ds\n"), std::string::npos) << text;
  EXPECT_NE(text.find("length:      64.0 MiB (67108864 bytes)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("model:       mrsw\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mode:        0640\n"), std::string::npos) << text;
  EXPECT_NE(text.find("created:     2023-11-14T22:13:20Z\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dirty pages: 2\n"), std::string::npos) << text;
}

TEST(Human, ListIsAnAlignedTableSortedByName) {
  const std::vector<dspm::DatasetInfo> list = {sample_dataset(2, "zeta", 4096),
                                               sample_dataset(10, "a-long-dataset-name", 1 << 30)};
  const auto ls = lines(admin::render_list(list));
  ASSERT_EQ(ls.size(), 3U);
  EXPECT_EQ(ls[0].rfind("NAME", 0), 0U);
  EXPECT_EQ(ls[1].rfind("a-long-dataset-name", 0), 0U);
  EXPECT_EQ(ls[2].rfind("zeta ", 0), 0U);
  // Right-aligned numeric columns end in the same place in every row.
  const auto size_end = ls[0].find("SIZE") + 4;
  EXPECT_EQ(ls[1].substr(size_end - 7, 7), "1.0 GiB");
  EXPECT_EQ(ls[2].substr(size_end - 7, 7), "4.0 KiB");
  const auto created = ls[0].find("CREATED");
  EXPECT_EQ(ls[1].substr(created), "2023-11-14T22:13:20Z");
  EXPECT_EQ(ls[2].substr(created), "2023-11-14T22:13:20Z");
  for (const auto& line : ls) EXPECT_NE(line.back(), ' ') << "trailing blank: " << line;
}

TEST(Human, EmptyListPrintsTheHeader) {
  const auto ls = lines(admin::render_list({}));
  ASSERT_EQ(ls.size(), 1U);
  EXPECT_EQ(ls[0], "NAME  ID  SIZE  MODEL  REPL  MODE  UID  GID  OPEN  VERSION  CREATED");
}

// --- nodes -----------------------------------------------------------------------------------

namespace {

dspm::NodeInfo sample_node(std::uint32_t id, dspm::NodeState state, std::string address) {
  dspm::NodeInfo n;
  n.id = id;
  n.state = state;
  n.uuid = "00000000-0000-0000-0000-00000000000" + std::to_string(id % 10);
  n.address = std::move(address);
  n.capacity = 64ULL << 30;
  n.free = 1ULL << 30;
  n.incarnation = 0xabcdef0123456789ULL + id;
  return n;
}

dspm::Cluster sample_cluster() {
  dspm::Cluster c;
  c.self_id = 2;
  c.link = dspm::Link::connected;
  c.epoch = 42;
  c.nodes = {sample_node(12, dspm::NodeState::dead, ""),
             sample_node(2, dspm::NodeState::alive, "10.77.0.2:7471"),
             sample_node(1, dspm::NodeState::suspect, "[fd00::1]:7471")};
  return c;
}

}  // namespace

TEST(Json, NodesHaveEveryField) {
  const json j = json::parse(admin::nodes_json(sample_cluster()).dump());
  EXPECT_EQ(j.at("self_id"), 2);
  EXPECT_EQ(j.at("link"), "connected");
  EXPECT_EQ(j.at("epoch"), 42);
  ASSERT_TRUE(j.at("nodes").is_array());
  ASSERT_EQ(j.at("nodes").size(), 3U);
  const json& dead = j["nodes"][0];  // the kernel's order is kept
  EXPECT_EQ(dead.at("id"), 12);
  EXPECT_EQ(dead.at("self"), false);
  EXPECT_EQ(dead.at("state"), "dead");
  EXPECT_TRUE(dead.at("address").is_null());
  EXPECT_EQ(dead.at("uuid"), "00000000-0000-0000-0000-000000000002");
  EXPECT_EQ(dead.at("capacity").get<std::uint64_t>(), 64ULL << 30);
  EXPECT_EQ(dead.at("free").get<std::uint64_t>(), 1ULL << 30);
  EXPECT_EQ(dead.at("incarnation").get<std::uint64_t>(), 0xabcdef0123456789ULL + 12);
  const json& self = j["nodes"][1];
  EXPECT_EQ(self.at("id"), 2);
  EXPECT_EQ(self.at("self"), true);
  EXPECT_EQ(self.at("state"), "alive");
  EXPECT_EQ(self.at("address"), "10.77.0.2:7471");
  EXPECT_EQ(j["nodes"][2].at("state"), "suspect");
  EXPECT_EQ(j["nodes"][2].at("address"), "[fd00::1]:7471");
  EXPECT_EQ(j["nodes"][0].size(), 8U);
}

TEST(Json, NodesUnknownValuesAndEmptyTable) {
  dspm::Cluster c;
  c.self_id = 1;
  c.link = static_cast<dspm::Link>(9);
  const json j = json::parse(admin::nodes_json(c).dump());
  EXPECT_EQ(j.at("link"), "unknown");
  EXPECT_TRUE(j.at("nodes").is_array());
  EXPECT_TRUE(j.at("nodes").empty());
  EXPECT_EQ(
      admin::node_json(sample_node(3, static_cast<dspm::NodeState>(7), "1.2.3.4:5"), 1).at("state"),
      "unknown");
}

TEST(Human, NodesTableSortedByIdWithThisNodeMarked) {
  const std::string text = admin::render_nodes(sample_cluster());
  const auto ls = lines(text);
  ASSERT_EQ(ls.size(), 5U) << text;
  EXPECT_EQ(ls[0], "  ID  STATE    ADDRESS         CAPACITY     FREE  UUID");
  EXPECT_EQ(
      ls[1],
      "   1  suspect  [fd00::1]:7471  64.0 GiB  1.0 GiB  00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(
      ls[2],
      "*  2  alive    10.77.0.2:7471  64.0 GiB  1.0 GiB  00000000-0000-0000-0000-000000000002");
  EXPECT_EQ(
      ls[3],
      "  12  dead     -               64.0 GiB  1.0 GiB  00000000-0000-0000-0000-000000000002");
  EXPECT_EQ(ls[4], "this node: 2, link: connected, epoch: 42");
  EXPECT_EQ(text.back(), '\n');
}

TEST(Human, NodesEmptyAndUnknownValues) {
  dspm::Cluster c;
  c.self_id = 5;
  c.link = dspm::Link::reconnecting;
  c.epoch = 0;
  EXPECT_EQ(admin::render_nodes(c),
            "  ID  STATE  ADDRESS  CAPACITY  FREE  UUID\n"
            "this node: 5, link: reconnecting, epoch: 0\n");
  c.link = static_cast<dspm::Link>(9);
  c.nodes = {sample_node(5, static_cast<dspm::NodeState>(8), "1.2.3.4:5")};
  const auto ls = lines(admin::render_nodes(c));
  ASSERT_EQ(ls.size(), 3U);
  EXPECT_EQ(ls[1].rfind("*  5  unknown (8)  1.2.3.4:5", 0), 0U) << ls[1];
  EXPECT_EQ(ls[2], "this node: 5, link: unknown (9), epoch: 0");
}
