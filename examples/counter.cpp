// SPDX-License-Identifier: MIT
// counter: a distributed counter.  Run it on several nodes at once on the same dataset; every
// increment is a validated transaction, so none is lost however the runs interleave.
//
//   counter NAME K [--create --replicas R --size BYTES]
//
// adds 1 to the uint64 at offset 0 of dataset NAME, K times, then prints the value and how many
// attempts were retried after a conflict with another node's commit.
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include <dspm/dspm.hpp>

int main(int argc, char** argv) try {
  std::string name;
  std::uint64_t k = 0;
  bool create = false;
  std::uint32_t replicas = 1;
  std::uint64_t size = 4096;

  CLI::App app{"counter: add 1 to a shared counter K times, in validated transactions"};
  app.add_option("NAME", name, "dataset name")->required();
  app.add_option("K", k, "increments")->required();
  app.add_flag("--create", create, "create the dataset when it does not exist");
  app.add_option("--replicas", replicas, "replicas of a created dataset")->needs("--create");
  app.add_option("--size", size, "bytes of a created dataset")->needs("--create");
  CLI11_PARSE(app, argc, argv);

  dspm::Device dev;
  dspm::Dataset ds = create
                         ? dev.open_or_create({.name = name, .length = size, .replicas = replicas})
                         : dev.open(name, dspm::Access::read_write);
  auto& counter = ds.as<std::uint64_t>(0);

  std::uint64_t retries = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    // The body reads the counter after begin(), so each attempt sees a fresh snapshot.
    retries += ds.transact([&] { counter = counter + 1; }).retries;
  }
  std::cout << name << " = " << counter << " (" << k << " added, " << retries << " retries)\n";
} catch (const std::exception& e) {
  std::cerr << "counter: " << e.what() << '\n';
  return 1;
}
