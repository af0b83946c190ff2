// SPDX-License-Identifier: MIT
// dspm-admin: command-line parsing (CLI11) and execution, callable from tests.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "dspm/types.hpp"

namespace dspm::admin {

enum class Verb { attach, detach, info, stats, create, ls, stat, rm, join, leave, nodes };

// What one invocation asks for, fully parsed and validated.
struct Command {
  Verb verb = Verb::info;
  std::string device{default_device_path};  // --device
  bool json = false;                        // --json
  bool prometheus = false;                  // stats --prometheus

  // attach: exactly one of path and dram_bytes
  std::string path;
  std::optional<std::uint64_t> dram_bytes;
  bool format = false;

  // create, stat, rm
  std::string name;
  // create
  std::uint64_t size = 0;
  std::uint32_t mode = 0600;
  std::uint32_t replicas = 1;
  Model model = Model::mrmw;

  // join: addresses as given (validated), the key file is read by execute()
  std::string dispatcher;
  std::string self;  // empty: none
  Transport transport = Transport::tcp;
  std::string key_file;
};

struct ParseResult {
  std::optional<Command> command;  // set when there is something to execute
  int exit_code = 0;               // otherwise: 0 after --help/--version, 2 on a usage error
};

// Parses argv (argv[0] is the program name).  Help, version and usage errors are written to
// @out / @err as CLI11 formats them.
ParseResult parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// Runs @command against the device; returns the exit status (0, or 1 after printing
// "dspm-admin: <what failed>: <reason>" to @err; when the device cannot be opened for want
// of the module, the line ends with "(is dspm.ko loaded? modprobe dspm)").  Warnings (a key file
// that group or others may access) go to @err as "dspm-admin: warning: ...".
int execute(const Command& command, std::ostream& out, std::ostream& err);

// parse() then execute().
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace dspm::admin
