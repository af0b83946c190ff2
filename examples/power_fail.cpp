// SPDX-License-Identifier: MIT
// power_fail: the demo's two halves.
//   power_fail write   commit a record, then scribble without committing and
//                      wait (the demo power-fails the machine meanwhile)
//   power_fail show    after the reboot: the committed record is there, whole;
//                      the uncommitted bytes are not.  Exit 1 if not so.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include <dspm/dspm.hpp>

namespace {

constexpr std::string_view kName = "demo";
constexpr std::size_t kRecord = 0;       // committed
constexpr std::size_t kScribble = 8192;  // written, never committed

std::string_view text_at(const dspm::Dataset& ds, std::size_t off) {
  const char* p = reinterpret_cast<const char*>(ds.bytes().data() + off);
  return {p, ::strnlen(p, 256)};
}

int write_phase(dspm::Device& dev, const std::string& record) {
  dspm::Dataset ds = dev.open_or_create({.name = std::string(kName), .length = 1 << 20});
  std::memset(ds.bytes().data(), 0, 4096);
  std::memcpy(ds.bytes().data() + kRecord, record.data(), record.size());
  auto [pages, version] = ds.commit();
  std::cout << "committed   @" << kRecord << ": \"" << record << "\" (" << pages
            << " page, version " << version << ")\n";

  const std::string scribble = "UNCOMMITTED: this must not survive";
  std::memcpy(ds.bytes().data() + kScribble, scribble.data(), scribble.size());
  std::memcpy(ds.bytes().data() + kRecord, "XXXXXXXX", 8);  // overwrite, not committed
  std::cout << "uncommitted @" << kScribble << ": \"" << text_at(ds, kScribble) << "\"\n"
            << "uncommitted @" << kRecord << ": \"" << text_at(ds, kRecord) << "\" (overwrite)\n"
            << "dirty pages: " << ds.stat().dirty_pages << "; waiting for the power to fail..."
            << std::endl;
  for (;;) ::pause();
}

int show_phase(dspm::Device& dev, const std::string& record) {
  dspm::Dataset ds = dev.open(kName, dspm::Access::read_only);
  auto committed = text_at(ds, kRecord);
  auto scribble = text_at(ds, kScribble);
  std::cout << "after reboot @" << kRecord << ": \"" << committed << "\"\n"
            << "after reboot @" << kScribble << ": \"" << scribble << "\"\n";
  bool ok = committed == record && scribble.empty();
  std::cout << (ok ? "committed bytes intact, uncommitted bytes gone\n" : "MISMATCH\n");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3 || (std::string_view(argv[1]) != "write" && std::string_view(argv[1]) != "show")) {
    std::cerr << "usage: power_fail write|show RECORD\n";
    return 2;
  }
  dspm::Device dev;
  return std::string_view(argv[1]) == "write" ? write_phase(dev, argv[2])
                                              : show_phase(dev, argv[2]);
} catch (const std::exception& e) {
  std::cerr << "power_fail: " << e.what() << '\n';
  return 1;
}
