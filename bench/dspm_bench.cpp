// SPDX-License-Identifier: MIT
// dspm-bench: single-node costs of dspm against a DAX file mapping measured in
// the same run, on the same (virtual) machine.  Runs inside a test VM as root
// with dspm.ko loaded and a pmem device attached; bench/run.sh drives it.
//
// Reported as ratios dspm / DAX-file (lower is better):
//   read fault     touch one byte of every page of a fresh mapping
//   bandwidth      sequential 64-byte loads and stores over a mapped region
//   commit         commit of N dirty pages vs msync(MS_SYNC) of the same pages
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <dspm/dspm.hpp>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPage = 4096;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open");
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class Mapping {
 public:
  // Map at an address 4 KiB off a 2 MiB boundary when small_pages is set, so
  // a DAX file is faulted 4 KiB at a time like a dataset is.
  Mapping(int fd, std::size_t len, bool small_pages) : len_(len) {
    void* hint = nullptr;
    int flags = MAP_SHARED;
    if (small_pages) {
      constexpr std::size_t kHuge = 2u << 20;
      void* probe = ::mmap(nullptr, len + 2 * kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (probe == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
      auto base = (reinterpret_cast<std::uintptr_t>(probe) + kHuge - 1) & ~(kHuge - 1);
      ::munmap(probe, len + 2 * kHuge);
      hint = reinterpret_cast<void*>(base + kPage);
      flags |= MAP_FIXED_NOREPLACE;
    }
    void* p = ::mmap(hint, len, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    data_ = static_cast<std::byte*>(p);
  }
  ~Mapping() { ::munmap(data_, len_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::byte* data() const { return data_; }

 private:
  std::byte* data_;
  std::size_t len_;
};

// Touch every page once; returns seconds per page.
double touch_pages(const std::byte* p, std::size_t pages) {
  volatile std::uint64_t sink = 0;
  auto start = Clock::now();
  for (std::size_t i = 0; i < pages; i++) sink = sink + static_cast<std::uint64_t>(p[i * kPage]);
  return seconds_since(start) / static_cast<double>(pages);
}

double read_bandwidth(const std::byte* p, std::size_t len) {
  volatile std::uint64_t sink = 0;
  std::uint64_t acc = 0;
  auto start = Clock::now();
  for (std::size_t off = 0; off < len; off += 64)
    acc += *reinterpret_cast<const volatile std::uint64_t*>(p + off);
  sink = acc;
  (void)sink;
  return static_cast<double>(len) / seconds_since(start);
}

double write_bandwidth(std::byte* p, std::size_t len, std::uint64_t value) {
  auto start = Clock::now();
  for (std::size_t off = 0; off < len; off += 64)
    *reinterpret_cast<volatile std::uint64_t*>(p + off) = value;
  return static_cast<double>(len) / seconds_since(start);
}

void dirty_pages(std::byte* p, std::size_t pages, int value) {
  for (std::size_t i = 0; i < pages; i++) std::memset(p + i * kPage, value, kPage);
}

struct Options {
  std::string dax_file = "/mnt/dax/bench";
  std::size_t pages = 2048;
  int rounds = 5;
  bool json = false;
};

nlohmann::json ratio(const std::string& what, double dspm, double dax, const std::string& unit) {
  return {{"what", what}, {"dspm", dspm}, {"dax", dax}, {"ratio", dspm / dax}, {"unit", unit}};
}

nlohmann::json run(const Options& o) {
  const std::size_t len = o.pages * kPage;
  dspm::Device dev;
  try {
    dev.remove("bench");
  } catch (const std::system_error& e) {
    if (e.code().value() != ENOENT) throw;
  }
  dev.create({.name = "bench", .length = len});

  Fd dax(::open(o.dax_file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600));
  if (::posix_fallocate(dax.get(), 0, static_cast<off_t>(len)) != 0)
    throw std::runtime_error("posix_fallocate " + o.dax_file);
  {
    // allocated and written once, so DAX faults measure mapping, not allocation
    Mapping m(dax.get(), len, true);
    dirty_pages(m.data(), o.pages, 1);
    ::msync(m.data(), len, MS_SYNC);
  }

  nlohmann::json results = nlohmann::json::array();
  std::vector<double> f_dspm, f_dax, f_dax_huge;
  for (int r = 0; r < o.rounds; r++) {
    {
      dspm::Dataset ds = dev.open("bench", dspm::Access::read_write);
      f_dspm.push_back(touch_pages(ds.bytes().data(), o.pages));
    }
    {
      Mapping m(dax.get(), len, true);
      f_dax.push_back(touch_pages(m.data(), o.pages));
    }
    {
      Mapping m(dax.get(), len, false);
      f_dax_huge.push_back(touch_pages(m.data(), o.pages));
    }
  }
  results.push_back(
      ratio("read fault (per 4 KiB page)", median(f_dspm) * 1e6, median(f_dax) * 1e6, "us"));
  results.push_back(ratio("read fault vs DAX with huge pages allowed", median(f_dspm) * 1e6,
                          median(f_dax_huge) * 1e6, "us"));

  {
    dspm::Dataset ds = dev.open("bench", dspm::Access::read_write);
    Mapping m(dax.get(), len, true);
    std::byte* dp = ds.bytes().data();
    touch_pages(dp, o.pages);
    touch_pages(m.data(), o.pages);
    std::vector<double> rd, rx, wd, wx;
    for (int r = 0; r < o.rounds; r++) {
      rd.push_back(read_bandwidth(dp, len));
      rx.push_back(read_bandwidth(m.data(), len));
    }
    write_bandwidth(dp, len, 7);  // first stores make the fd's shadow pages
    for (int r = 0; r < o.rounds; r++) {
      wd.push_back(write_bandwidth(dp, len, static_cast<std::uint64_t>(r)));
      wx.push_back(write_bandwidth(m.data(), len, static_cast<std::uint64_t>(r)));
    }
    results.push_back(
        ratio("load bandwidth (committed pages)", median(rd) / 1e6, median(rx) / 1e6, "MB/s"));
    results.push_back(
        ratio("store bandwidth (dirty pages)", median(wd) / 1e6, median(wx) / 1e6, "MB/s"));
    ds.abort();
  }

  for (std::size_t n : {std::size_t{1}, std::size_t{16}, std::size_t{256}}) {
    if (n > o.pages) break;
    dspm::Dataset ds = dev.open("bench", dspm::Access::read_write);
    Mapping m(dax.get(), len, true);
    std::vector<double> cd, cx, wcd, wcx;
    for (int r = 0; r < o.rounds; r++) {
      int value = 0x40 + r;
      auto start = Clock::now();
      dirty_pages(ds.bytes().data(), n, value);
      auto mid = Clock::now();
      ds.commit();
      cd.push_back(seconds_since(mid));
      wcd.push_back(seconds_since(start));

      start = Clock::now();
      dirty_pages(m.data(), n, value);
      mid = Clock::now();
      if (::msync(m.data(), n * kPage, MS_SYNC) != 0)
        throw std::system_error(errno, std::generic_category(), "msync");
      cx.push_back(seconds_since(mid));
      wcx.push_back(seconds_since(start));
    }
    std::string pages = std::to_string(n) + (n == 1 ? " page" : " pages");
    results.push_back(
        ratio("commit of " + pages + " vs msync", median(cd) * 1e6, median(cx) * 1e6, "us"));
    results.push_back(ratio("write+commit of " + pages + " vs write+msync", median(wcd) * 1e6,
                            median(wcx) * 1e6, "us"));
  }
  dev.remove("bench");
  return results;
}

}  // namespace

int main(int argc, char** argv) try {
  Options o;
  CLI::App app{"dspm-bench: dspm on one node vs a DAX file mapping, as ratios"};
  app.add_option("--dax-file", o.dax_file, "file on an ext4 -o dax filesystem");
  app.add_option("--pages", o.pages, "pages per region")->check(CLI::Range(256, 1 << 20));
  app.add_option("--rounds", o.rounds, "rounds; medians are reported")->check(CLI::Range(1, 1000));
  app.add_flag("--json", o.json, "JSON output");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json results = run(o);
  if (o.json) {
    std::cout << results.dump(2) << '\n';
    return 0;
  }
  std::printf("%-48s %12s %12s %8s\n", "measure", "dspm", "DAX file", "ratio");
  for (const auto& r : results)
    std::printf("%-48s %9.2f %-2s %9.2f %-2s %7.2fx\n", r["what"].get<std::string>().c_str(),
                r["dspm"].get<double>(), r["unit"].get<std::string>().c_str(),
                r["dax"].get<double>(), r["unit"].get<std::string>().c_str(),
                r["ratio"].get<double>());
  return 0;
} catch (const std::exception& e) {
  std::cerr << "dspm-bench: " << e.what() << '\n';
  return 1;
}
