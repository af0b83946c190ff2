// SPDX-License-Identifier: MIT
// hello: store a greeting in the dspm dataset "hello" and commit it.
#include <cstring>
#include <iostream>

#include <dspm/dspm.hpp>

int main() try {
  dspm::Device dev;  // opens /dev/dspm
  dspm::Dataset ds = dev.open_or_create({.name = "hello", .length = 4096});
  const char msg[] = "hello, persistent world";
  std::memcpy(ds.bytes().data(), msg, sizeof msg);  // plain stores into the mapping
  auto [pages, version] = ds.commit();              // atomic, durable, visible everywhere
  std::cout << reinterpret_cast<const char*>(ds.bytes().data()) << " (" << pages
            << " page(s) committed, version " << version << ")\n";
} catch (const std::exception& e) {
  std::cerr << "hello: " << e.what() << '\n';
  return 1;
}
