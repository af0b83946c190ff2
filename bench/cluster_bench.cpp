// SPDX-License-Identifier: MIT
// dspm-cluster-bench: multi-node costs of a cluster dataset, measured from one node.  Runs
// inside a test VM as root, on a node that has joined a cluster; bench/cluster.sh starts it on
// several nodes and sets the results against perftest baselines taken in the same run.
//
// Subcommands, each printing one JSON object:
//   fault NAME --pages N         open NAME read-only on a node holding no copy of its chunks,
//                                touch one byte of each page: every touch is a remote read
//                                fault (the page is fetched from its home); per-page latency
//   commit NAME --pages P --iterations K [--offset PAGE]
//                                K times: store into P pages (one 8-byte word per page, or
//                                whole pages with --full-pages), then DSPM_IOC_COMMIT; the
//                                latency of the commit ioctl alone
//   throughput NAME --seconds S --offset PAGE [--pages P]
//                                commits of P pages at PAGE, back to back, for S seconds,
//                                retrying after EAGAIN; commits per second and retries
//   faults-mt NAME --slow-home ID [--threads N]
//                                one read-only fd, N threads: thread 0 faults pages of a chunk
//                                homed on node ID (made slow by the caller, e.g. netem at that
//                                node), threads 1..N-1 pages of a chunk homed elsewhere (or
//                                held here, --fast-local); per-thread latencies, time to done
//   commit-vs-ls NAME --iterations K --ls-file F
//                                K commits with nobody listing, then K while another node runs
//                                `dspm-admin ls` in a loop (started by creating F.start, running
//                                once F.running exists, stopped by F.stop), then K idle again
//
// The word a node writes in a page is its own (word self_id % 512), so nodes committing the
// same pages at once change different bytes of them: shared pages, disjoint bytes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <latch>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <dspm/dspm.hpp>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kWordsPerPage = kPage / sizeof(std::uint64_t);

double ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// The q-quantile of @sorted (nearest rank): q = 0.5 is the median, 0.99 the 99th percentile.
double quantile(const std::vector<double>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// median/avg/p99/min/max of latencies in nanoseconds.
nlohmann::json summarize(std::vector<double> ns) {
  if (ns.empty()) return {{"count", 0}};
  std::sort(ns.begin(), ns.end());
  double sum = 0;
  for (double v : ns) sum += v;
  return {{"count", ns.size()},
          {"median_ns", quantile(ns, 0.5)},
          {"avg_ns", sum / static_cast<double>(ns.size())},
          {"p99_ns", quantile(ns, 0.99)},
          {"min_ns", ns.front()},
          {"max_ns", ns.back()}};
}

// Where this node stands for the chunks covering pages [first, first + count) of a dataset.
struct Where {
  std::uint32_t self = 0;
  dspm::Placement placement;
  std::set<std::string> roles;  // "home", "replica", "none": one per chunk covered

  Where(const dspm::Device& dev, const std::string& name, std::uint64_t first, std::uint64_t count)
      : self(dev.nodes().self_id), placement(dev.placement(name)) {
    if (placement.chunk_size == 0 || placement.chunks.empty())
      fail(EPROTO, "placement of " + name + ": no chunks");
    const std::uint64_t last = (first + count) * kPage - 1;
    for (std::uint64_t c = first * kPage / placement.chunk_size;
         c <= last / placement.chunk_size && c < placement.chunks.size(); c++) {
      const auto& nodes = placement.chunks[c];
      auto it = std::find(nodes.begin(), nodes.end(), self);
      roles.insert(it == nodes.end() ? "none" : it == nodes.begin() ? "home" : "replica");
    }
  }

  bool holds_any() const { return roles.contains("home") || roles.contains("replica"); }

  nlohmann::json to_json() const {
    std::string role = roles.size() == 1 ? *roles.begin() : "mixed";
    return {{"node_id", self},
            {"role", role},
            {"replicas", placement.replicas},
            {"chunk_size", placement.chunk_size},
            {"holders", placement.chunks}};
  }
};

// Counters of this node (dspm_info VER1) changed by a run.
nlohmann::json counter_delta(const dspm::Info& a, const dspm::Info& b) {
  std::vector<std::uint64_t> hist(a.fetch_hist.size());
  for (std::size_t i = 0; i < hist.size(); i++) hist[i] = b.fetch_hist[i] - a.fetch_hist[i];
  return {{"faults_local", b.faults_local - a.faults_local},
          {"faults_remote", b.faults_remote - a.faults_remote},
          {"conflicts", b.conflicts - a.conflicts},
          {"bytes_committed", b.bytes_committed - a.bytes_committed},
          {"pages_shadowed", b.pages_shadowed - a.pages_shadowed},
          {"fetch_hist_us_pow2", hist}};
}

// Makes every page of a range differ from what was committed, one store per page or whole
// pages, with values that never repeat.
class Writer {
 public:
  Writer(std::byte* base, std::uint64_t first, std::uint64_t pages, std::uint32_t word, bool full)
      : base_(base + first * kPage), pages_(pages), word_(word % kWordsPerPage), full_(full) {
    value_ = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  }

  void write() {
    value_++;
    for (std::uint64_t i = 0; i < pages_; i++) {
      std::byte* page = base_ + i * kPage;
      if (full_) {
        // every byte changes: the fill byte alternates, and the node's word is unique
        std::memset(page, (value_ & 1) ? 0xa5 : 0x5a, kPage);
      }
      auto* w = reinterpret_cast<volatile std::uint64_t*>(page) + word_;
      *w = value_ + i;
    }
  }

 private:
  std::byte* base_;
  std::uint64_t pages_;
  std::uint32_t word_;
  bool full_;
  std::uint64_t value_;
};

void check_range(const dspm::Dataset& ds, std::uint64_t first, std::uint64_t pages) {
  const std::uint64_t have = (ds.length() + kPage - 1) / kPage;
  if (pages == 0 || first > have || pages > have - first)
    fail(ERANGE, ds.name() + ": pages [" + std::to_string(first) + ", " +
                     std::to_string(first + pages) + ") outside its " + std::to_string(have) +
                     " pages");
}

struct FaultOptions {
  std::string name;
  std::uint64_t pages = 0;
  int rounds = 1;
  int warmup = 1;
  bool allow_holder = false;
};

nlohmann::json run_fault(const FaultOptions& o) {
  dspm::Device dev;
  Where where(dev, o.name, 0, o.pages);
  if (where.holds_any() && !o.allow_holder)
    fail(EINVAL, "fault " + o.name + ": node " + std::to_string(where.self) +
                     " holds a copy of these pages, so its faults are local (--allow-holder)");
  std::vector<double> lat;
  lat.reserve(o.pages * static_cast<std::size_t>(o.rounds));
  dspm::Info before;
  for (int r = 0; r < o.warmup + o.rounds; r++) {
    // the connection to the home is made by the first fetch ever: warm-up rounds are untimed
    if (r == o.warmup) before = dev.info();
    // a fresh open: the last close forgot every cached copy, so each page is fetched again
    dspm::Dataset ds = dev.open(o.name, dspm::Access::read_only);
    check_range(ds, 0, o.pages);
    const std::byte* p = ds.bytes().data();
    volatile std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < o.pages; i++) {
      auto t0 = Clock::now();
      sink = sink + static_cast<std::uint64_t>(p[i * kPage]);
      auto t1 = Clock::now();
      if (r >= o.warmup) lat.push_back(ns_between(t0, t1));
    }
  }
  const dspm::Info after = dev.info();
  nlohmann::json delta = counter_delta(before, after);
  return {{"what", "fault"},
          {"dataset", o.name},
          {"pages", o.pages},
          {"rounds", o.rounds},
          {"node", where.to_json()},
          {"latency", summarize(std::move(lat))},
          {"counters", delta},
          {"all_remote",
           delta["faults_remote"].get<std::uint64_t>() == o.pages * std::uint64_t(o.rounds)}};
}

struct CommitOptions {
  std::string name;
  std::uint64_t pages = 1;
  std::uint64_t offset = 0;
  int iterations = 100;
  int warmup = 1;
  bool full = false;
};

nlohmann::json run_commit(const CommitOptions& o) {
  dspm::Device dev;
  Where where(dev, o.name, o.offset, o.pages);
  dspm::Dataset ds = dev.open(o.name, dspm::Access::read_write);
  check_range(ds, o.offset, o.pages);
  Writer writer(ds.bytes().data(), o.offset, o.pages, where.self, o.full);
  std::vector<double> commit_ns, write_ns;
  const dspm::Info before = dev.info();
  for (int i = 0; i < o.warmup + o.iterations; i++) {
    auto t0 = Clock::now();
    writer.write();
    auto t1 = Clock::now();
    dspm::CommitResult c = ds.commit();
    auto t2 = Clock::now();
    if (c.pages != o.pages)
      fail(EPROTO,
           "commit wrote " + std::to_string(c.pages) + " pages, not " + std::to_string(o.pages));
    if (i < o.warmup) continue;
    write_ns.push_back(ns_between(t0, t1));
    commit_ns.push_back(ns_between(t1, t2));
  }
  const dspm::Info after = dev.info();
  return {{"what", "commit"},
          {"dataset", o.name},
          {"pages", o.pages},
          {"offset", o.offset},
          {"iterations", o.iterations},
          {"stores", o.full ? "full pages" : "one 8-byte word per page"},
          {"node", where.to_json()},
          {"commit", summarize(std::move(commit_ns))},
          {"write", summarize(std::move(write_ns))},
          {"counters", counter_delta(before, after)}};
}

struct ThroughputOptions {
  std::string name;
  double seconds = 10;
  std::uint64_t offset = 0;
  std::uint64_t pages = 1;
  bool full = false;
  std::string start_file;
  double start_timeout = 120;
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Says this node is ready (START.ready.<node id>), then waits until START exists, so that
// the nodes of a run start their clocks together.
void wait_for_start(const std::string& start, std::uint32_t self, double timeout) {
  const std::string ready = start + ".ready." + std::to_string(self);
  int fd = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(errno, "create " + ready);
  ::close(fd);
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  while (!exists(start)) {
    if (Clock::now() > deadline) fail(ETIMEDOUT, "waiting for " + start);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

nlohmann::json run_throughput(const ThroughputOptions& o) {
  dspm::Device dev;
  Where where(dev, o.name, o.offset, o.pages);
  dspm::Dataset ds = dev.open(o.name, dspm::Access::read_write);
  check_range(ds, o.offset, o.pages);
  Writer writer(ds.bytes().data(), o.offset, o.pages, where.self, o.full);
  // one commit first, untimed: the pages are mapped and the peer connections made
  writer.write();
  ds.commit();
  if (!o.start_file.empty()) wait_for_start(o.start_file, where.self, o.start_timeout);

  std::vector<double> commit_ns;
  std::uint64_t commits = 0, retries = 0;
  const dspm::Info before = dev.info();
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  auto now = start;
  while (now < end) {
    writer.write();
    for (;;) {
      auto t0 = Clock::now();
      try {
        ds.commit();
      } catch (const std::system_error& e) {
        if (e.code() != std::errc::resource_unavailable_try_again) throw;
        retries++;  // the dirty bytes are kept: commit them again
        continue;
      }
      now = Clock::now();
      commit_ns.push_back(ns_between(t0, now));
      commits++;
      break;
    }
  }
  const double elapsed = ns_between(start, now) / 1e9;
  const dspm::Info after = dev.info();
  return {{"what", "throughput"},
          {"dataset", o.name},
          {"pages", o.pages},
          {"offset", o.offset},
          {"stores", o.full ? "full pages" : "one 8-byte word per page"},
          {"node", where.to_json()},
          {"seconds", elapsed},
          {"commits", commits},
          {"retries", retries},
          {"commits_per_s", static_cast<double>(commits) / elapsed},
          {"commit", summarize(std::move(commit_ns))},
          {"counters", counter_delta(before, after)}};
}

struct FaultsMtOptions {
  std::string name;
  std::uint32_t slow_home = 0;
  int threads = 4;
  std::uint64_t slow_pages = 16;
  std::uint64_t pages = 64;  // per fast thread
  int rounds = 2;
  int warmup = 1;
  bool fast_local = false;
};

bool holds(const std::vector<std::uint32_t>& nodes, std::uint32_t id) {
  return std::find(nodes.begin(), nodes.end(), id) != nodes.end();
}

// Thread 0 faults pages of a chunk homed on the slow node; threads 1..N-1 fault pages of
// another chunk at the same time, through the same fd and mapping.  Before issue 11 a fault
// held the fd's mutex across its remote fetch, so the fast threads queued behind each slow
// fetch; now a fetch holds no driver lock and they should finish on their own time.
nlohmann::json run_faults_mt(const FaultsMtOptions& o) {
  dspm::Device dev;
  const std::uint32_t self = dev.nodes().self_id;
  const dspm::Placement pl = dev.placement(o.name);
  if (pl.chunk_size == 0 || pl.chunk_size % kPage) fail(EPROTO, "placement of " + o.name);
  const std::uint64_t per_chunk = pl.chunk_size / kPage;
  std::optional<std::size_t> slow, fast;
  for (std::size_t c = 0; c < pl.chunks.size(); c++) {
    const auto& n = pl.chunks[c];
    if (n.empty()) continue;
    if (!slow && n[0] == o.slow_home && !holds(n, self)) slow = c;
    if (!fast && !holds(n, o.slow_home) && holds(n, self) == o.fast_local) fast = c;
  }
  if (o.slow_home == self) fail(EINVAL, "faults-mt: --slow-home is this node");
  if (!slow)
    fail(EINVAL, "faults-mt " + o.name + ": no chunk homed on node " + std::to_string(o.slow_home) +
                     " that node " + std::to_string(self) + " holds no copy of");
  if (!fast)
    fail(EINVAL, "faults-mt " + o.name + ": no chunk away from node " +
                     std::to_string(o.slow_home) + (o.fast_local ? " held" : " not held") +
                     " by node " + std::to_string(self));
  const auto fast_threads = static_cast<std::uint64_t>(o.threads - 1);
  if (o.slow_pages > per_chunk || o.pages * fast_threads > per_chunk)
    fail(ERANGE, "faults-mt: a chunk has only " + std::to_string(per_chunk) + " pages");

  const auto n = static_cast<std::size_t>(o.threads);
  std::vector<std::vector<double>> lat(n);
  std::vector<double> total_ns, fast_done_ns, slow_done_ns;
  dspm::Info before;
  for (int r = 0; r < o.warmup + o.rounds; r++) {
    if (r == o.warmup) before = dev.info();
    const bool timed = r >= o.warmup;
    // a fresh open: the last close forgot every cached copy, so each page is fetched again
    dspm::Dataset ds = dev.open(o.name, dspm::Access::read_only);
    const std::byte* base = ds.bytes().data();
    std::vector<Clock::time_point> start(n), end(n);
    std::vector<std::vector<double>> round_lat(n);
    std::latch go(static_cast<std::ptrdiff_t>(n));
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < n; t++) {
      workers.emplace_back([&, t] {
        std::uint64_t first, count;
        if (t == 0) {
          first = *slow * per_chunk;
          count = o.slow_pages;
        } else {
          first = *fast * per_chunk + (t - 1) * o.pages;
          count = o.pages;
        }
        round_lat[t].reserve(count);
        volatile std::uint64_t sink = 0;
        go.arrive_and_wait();
        start[t] = Clock::now();
        for (std::uint64_t i = 0; i < count; i++) {
          auto t0 = Clock::now();
          sink = sink + static_cast<std::uint64_t>(base[(first + i) * kPage]);
          round_lat[t].push_back(ns_between(t0, Clock::now()));
        }
        end[t] = Clock::now();
      });
    }
    workers.clear();  // joins
    if (!timed) continue;
    const auto t0 = *std::min_element(start.begin(), start.end());
    const auto fast_end = *std::max_element(end.begin() + 1, end.end());
    total_ns.push_back(ns_between(t0, std::max(fast_end, end[0])));
    fast_done_ns.push_back(ns_between(t0, fast_end));
    slow_done_ns.push_back(ns_between(t0, end[0]));
    for (std::size_t t = 0; t < n; t++)
      lat[t].insert(lat[t].end(), round_lat[t].begin(), round_lat[t].end());
  }
  const dspm::Info after = dev.info();
  nlohmann::json delta = counter_delta(before, after);
  const std::uint64_t remote_expected =
      static_cast<std::uint64_t>(o.rounds) *
      (o.slow_pages + (o.fast_local ? 0 : fast_threads * o.pages));

  nlohmann::json threads = nlohmann::json::array();
  std::vector<double> all_fast;
  for (std::size_t t = 0; t < n; t++) {
    if (t > 0) all_fast.insert(all_fast.end(), lat[t].begin(), lat[t].end());
    threads.push_back(
        {{"thread", t}, {"role", t == 0 ? "slow" : "fast"}, {"latency", summarize(lat[t])}});
  }
  return {{"what", "faults-mt"},
          {"dataset", o.name},
          {"threads", o.threads},
          {"rounds", o.rounds},
          {"node_id", self},
          {"slow",
           {{"home", o.slow_home},
            {"chunk", *slow},
            {"holders", pl.chunks[*slow]},
            {"pages", o.slow_pages}}},
          {"fast",
           {{"chunk", *fast},
            {"holders", pl.chunks[*fast]},
            {"local", o.fast_local},
            {"pages_per_thread", o.pages}}},
          {"per_thread", threads},
          {"slow_thread", summarize(lat[0])},
          {"fast_threads", summarize(std::move(all_fast))},
          {"total", summarize(std::move(total_ns))},
          {"fast_done", summarize(std::move(fast_done_ns))},
          {"slow_done", summarize(std::move(slow_done_ns))},
          {"counters", delta},
          {"remote_expected", remote_expected},
          {"all_remote", delta["faults_remote"].get<std::uint64_t>() == remote_expected}};
}

struct CommitVsLsOptions {
  std::string name;
  std::uint64_t pages = 1;
  std::uint64_t offset = 0;
  int iterations = 100;
  int warmup = 1;
  std::string ls_file;
  double timeout = 120;
};

void touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(errno, "create " + path);
  ::close(fd);
}

void wait_for(const std::string& path, double timeout) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
  while (!exists(path)) {
    if (Clock::now() > deadline) fail(ETIMEDOUT, "waiting for " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Commit latency with the other holder idle, then while it lists datasets in a loop (before
// issue 11 a list held node->lock across its dispatcher call, and every PREPARE and COMMIT at
// that node waited for it), then idle again.
nlohmann::json run_commit_vs_ls(const CommitVsLsOptions& o) {
  dspm::Device dev;
  Where where(dev, o.name, o.offset, o.pages);
  dspm::Dataset ds = dev.open(o.name, dspm::Access::read_write);
  check_range(ds, o.offset, o.pages);
  Writer writer(ds.bytes().data(), o.offset, o.pages, where.self, false);
  auto phase = [&](int warmup) {
    std::vector<double> ns;
    for (int i = 0; i < warmup + o.iterations; i++) {
      writer.write();
      auto t0 = Clock::now();
      dspm::CommitResult c = ds.commit();
      auto t1 = Clock::now();
      if (c.pages != o.pages) fail(EPROTO, "commit wrote " + std::to_string(c.pages) + " pages");
      if (i >= warmup) ns.push_back(ns_between(t0, t1));
    }
    return ns;
  };
  const dspm::Info before = dev.info();
  std::vector<double> idle = phase(o.warmup);
  touch(o.ls_file + ".start");
  wait_for(o.ls_file + ".running", o.timeout);
  std::vector<double> busy = phase(0);
  touch(o.ls_file + ".stop");
  wait_for(o.ls_file + ".stopped", o.timeout);
  std::vector<double> idle_after = phase(0);
  const dspm::Info after = dev.info();
  return {{"what", "commit-vs-ls"},
          {"dataset", o.name},
          {"pages", o.pages},
          {"offset", o.offset},
          {"iterations", o.iterations},
          {"node", where.to_json()},
          {"idle", summarize(std::move(idle))},
          {"ls", summarize(std::move(busy))},
          {"idle_after", summarize(std::move(idle_after))},
          {"counters", counter_delta(before, after)}};
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{
      "dspm-cluster-bench: remote faults, commits and commit throughput of a cluster "
      "dataset, from this node; one JSON object on stdout"};
  app.require_subcommand(1);

  FaultOptions fo;
  auto* fault = app.add_subcommand("fault", "per-page latency of remote read faults");
  fault->add_option("name", fo.name, "cluster dataset")->required();
  fault->add_option("--pages", fo.pages, "pages to touch, from page 0")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 24));
  fault->add_option("--rounds", fo.rounds, "times to open the dataset and touch the pages")
      ->check(CLI::Range(1, 1000));
  fault->add_option("--warmup", fo.warmup, "untimed rounds first")->check(CLI::Range(0, 1000));
  fault->add_flag("--allow-holder", fo.allow_holder,
                  "run even where the pages are held (local faults, for reference)");

  CommitOptions co;
  auto* commit = app.add_subcommand("commit", "latency of DSPM_IOC_COMMIT of P pages");
  commit->add_option("name", co.name, "cluster dataset")->required();
  commit->add_option("--pages", co.pages, "pages changed per commit")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  commit->add_option("--iterations", co.iterations, "timed commits")
      ->required()
      ->check(CLI::Range(1, 1000000));
  commit->add_option("--offset", co.offset, "first page");
  commit->add_option("--warmup", co.warmup, "untimed commits first")->check(CLI::Range(0, 1000));
  commit->add_flag("--full-pages", co.full, "rewrite whole pages, not one word of each");

  ThroughputOptions to;
  auto* tput = app.add_subcommand("throughput", "commits per second of P pages at PAGE");
  tput->add_option("name", to.name, "cluster dataset")->required();
  tput->add_option("--seconds", to.seconds, "how long")->required()->check(CLI::Range(0.1, 3600.0));
  tput->add_option("--offset", to.offset, "first page")->required();
  tput->add_option("--pages", to.pages, "pages changed per commit")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  tput->add_flag("--full-pages", to.full, "rewrite whole pages, not one word of each");
  tput->add_option("--start-file", to.start_file,
                   "after setup create FILE.ready.<node id>, then wait for FILE to exist");
  tput->add_option("--start-timeout", to.start_timeout, "seconds to wait for --start-file");

  FaultsMtOptions mo;
  auto* fmt = app.add_subcommand(
      "faults-mt", "faults on one fd from N threads while thread 0's fetches are slow");
  fmt->add_option("name", mo.name, "cluster dataset (R=1, chunks on several homes)")->required();
  fmt->add_option("--slow-home", mo.slow_home, "node id of the slow home (thread 0's pages)")
      ->required();
  fmt->add_option("--threads", mo.threads, "threads faulting at once")->check(CLI::Range(2, 64));
  fmt->add_option("--slow-pages", mo.slow_pages, "pages thread 0 faults per round")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  fmt->add_option("--pages", mo.pages, "pages each other thread faults per round")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  fmt->add_option("--rounds", mo.rounds, "timed rounds, each on a fresh open")
      ->check(CLI::Range(1, 1000));
  fmt->add_option("--warmup", mo.warmup, "untimed rounds first")->check(CLI::Range(0, 1000));
  fmt->add_flag("--fast-local", mo.fast_local,
                "threads 1..N-1 fault pages this node holds (local faults)");

  CommitVsLsOptions lo;
  auto* cls = app.add_subcommand("commit-vs-ls",
                                 "commit latency while another node lists datasets in a loop");
  cls->add_option("name", lo.name, "cluster dataset")->required();
  cls->add_option("--iterations", lo.iterations, "timed commits per phase")
      ->required()
      ->check(CLI::Range(1, 1000000));
  cls->add_option("--ls-file", lo.ls_file,
                  "creates FILE.start, waits for FILE.running, creates FILE.stop, waits for "
                  "FILE.stopped")
      ->required();
  cls->add_option("--pages", lo.pages, "pages changed per commit")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  cls->add_option("--offset", lo.offset, "first page");
  cls->add_option("--warmup", lo.warmup, "untimed commits first")->check(CLI::Range(0, 1000));
  cls->add_option("--timeout", lo.timeout, "seconds to wait for each file");

  CLI11_PARSE(app, argc, argv);

  nlohmann::json result;
  if (*fault)
    result = run_fault(fo);
  else if (*commit)
    result = run_commit(co);
  else if (*tput)
    result = run_throughput(to);
  else if (*fmt)
    result = run_faults_mt(mo);
  else
    result = run_commit_vs_ls(lo);
  std::cout << result.dump(2) << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "dspm-cluster-bench: " << e.what() << '\n';
  return 1;
}
