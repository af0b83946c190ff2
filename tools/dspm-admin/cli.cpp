// SPDX-License-Identifier: MIT
// dspm-admin: argument parsing and the subcommands.
#include "cli.hpp"

#include <cerrno>
#include <exception>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>

#include "dspm/dspm.hpp"
#include "format.hpp"

namespace dspm::admin {
namespace {

constexpr const char* program = "dspm-admin";

// A CLI11 validator from one of the parse_* functions of format.hpp.
template <class Parse>
CLI::Validator validator(Parse parse) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          (void)parse(text);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        } catch (const std::system_error& e) {  // libdspm's parsers: EINVAL
          // What was wrong, without the ": Invalid argument" that system_error appends.
          std::string what = e.what();
          const std::string suffix = ": " + e.code().message();
          if (what.size() > suffix.size() && what.ends_with(suffix))
            what.resize(what.size() - suffix.size());
          return what;
        }
      },
      "");
}

const char* const footer =
    "SIZE is a byte count with an optional binary unit: 4096, 64K, 64KiB, 16M, 1G.\n"
    "ADDR:PORT is numeric: 10.77.0.1:7470 or [fd00::1]:7470.\n"
    "Exit status: 0 success, 1 the operation failed, 2 usage error.";

}  // namespace

ParseResult parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Command cmd;
  std::string dram, size, mode, model, transport;

  CLI::App app{"Administer dspm, distributed shared persistent memory, on this node.", program};
  app.set_version_flag("--version", std::string(program) + " " + std::string(library_version()) +
                                        " (ABI " + std::to_string(DSPM_ABI_VERSION) + ")");
  app.footer(footer);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too: `dspm-admin ls --json`.
  app.fallthrough();
  app.add_option("--device", cmd.device, "Control device")
      ->default_str(std::string(default_device_path))
      ->type_name("PATH");
  app.add_flag("--json", cmd.json, "Machine-readable JSON output");

  auto* attach = app.add_subcommand("attach", "Attach a pmem device or a DRAM backend");
  auto* path_opt = attach->add_option("path", cmd.path, "fsdax pmem block device, e.g. /dev/pmem0")
                       ->type_name("PATH");
  auto* dram_opt =
      attach->add_option("--dram", dram, "Volatile DRAM backend of SIZE (8M..4G) instead of PATH")
          ->type_name("SIZE")
          ->check(validator(parse_size));
  auto* format_opt =
      attach->add_flag("--format", cmd.format, "Write a new, empty layout (destroys the data)");
  path_opt->excludes(dram_opt);
  format_opt->excludes(dram_opt);

  auto* detach = app.add_subcommand("detach", "Detach the backing device");
  auto* info = app.add_subcommand("info", "Show the node's state");
  auto* stats = app.add_subcommand("stats", "Show the node's counters and fetch latencies");
  stats->add_flag("--prometheus", cmd.prometheus,
                  "In the Prometheus text format (for a node exporter's textfile collector)");

  auto* create = app.add_subcommand("create", "Create a dataset");
  create->add_option("name", cmd.name, "Dataset name")->required()->type_name("NAME");
  create->add_option("--size,-s", size, "Length in bytes")
      ->required()
      ->type_name("SIZE")
      ->check(validator(parse_size));
  create->add_option("--mode,-m", mode, "Permission bits")
      ->type_name("OCTAL")
      ->default_str("0600")
      ->check(validator(parse_mode));
  create->add_option("--replicas,-r", cmd.replicas, "Replication degree")
      ->type_name("N")
      ->default_str("1")
      ->check(CLI::Range(1U, static_cast<unsigned>(DSPM_REPLICAS_MAX)));
  create->add_option("--model", model, "Consistency model")
      ->type_name("mrmw|mrsw")
      ->default_str("mrmw")
      ->check(validator(parse_model));

  auto* ls = app.add_subcommand("ls", "List datasets");
  auto* stat = app.add_subcommand("stat", "Show one dataset (opens it read-only)");
  stat->add_option("name", cmd.name, "Dataset name")->required()->type_name("NAME");
  auto* rm = app.add_subcommand("rm", "Delete a dataset");
  rm->add_option("name", cmd.name, "Dataset name")->required()->type_name("NAME");

  auto* join = app.add_subcommand("join", "Join a cluster (prints this node's id)");
  const auto address = validator([](const std::string& text) { return abi::parse_address(text); });
  join->add_option("--dispatcher", cmd.dispatcher, "Address of the dispatcher")
      ->required()
      ->type_name("ADDR:PORT")
      ->check(address);
  join->add_option("--transport", transport, "Transport to the dispatcher and the peers")
      ->type_name("tcp|rdma")
      ->default_str("tcp")
      ->check(validator(parse_transport));
  join->add_option("--key-file", cmd.key_file, "File holding the cluster key")
      ->required()
      ->type_name("PATH");
  join->add_option("--self", cmd.self, "Address where peers reach this node")
      ->type_name("ADDR:PORT")
      ->check(address);
  auto* leave = app.add_subcommand("leave", "Leave the cluster");
  auto* nodes = app.add_subcommand("nodes", "Show the cluster's nodes ('*': this node)");

  try {
    app.parse(argc, argv);
    if (attach->parsed()) {
      cmd.verb = Verb::attach;
      if (!dram.empty()) cmd.dram_bytes = parse_size(dram);
      if (path_opt->count() == 0 && dram_opt->count() == 0)
        throw CLI::RequiredError("PATH or --dram SIZE");
    } else if (detach->parsed()) {
      cmd.verb = Verb::detach;
    } else if (info->parsed()) {
      cmd.verb = Verb::info;
    } else if (stats->parsed()) {
      cmd.verb = Verb::stats;
    } else if (create->parsed()) {
      cmd.verb = Verb::create;
      cmd.size = parse_size(size);
      if (!mode.empty()) cmd.mode = parse_mode(mode);
      if (!model.empty()) cmd.model = parse_model(model);
    } else if (ls->parsed()) {
      cmd.verb = Verb::ls;
    } else if (stat->parsed()) {
      cmd.verb = Verb::stat;
    } else if (rm->parsed()) {
      cmd.verb = Verb::rm;
    } else if (join->parsed()) {
      cmd.verb = Verb::join;
      if (!transport.empty()) cmd.transport = parse_transport(transport);
    } else if (leave->parsed()) {
      cmd.verb = Verb::leave;
    } else if (nodes->parsed()) {
      cmd.verb = Verb::nodes;
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return {std::nullopt, code == 0 ? 0 : 2};
  }
  return {std::move(cmd), 0};
}

namespace {

void print_json(std::ostream& out, const nlohmann::json& j) {
  out << j.dump(2) << '\n';
}

void do_execute(Device& dev, const Command& cmd, std::ostream& out, std::ostream& err) {
  switch (cmd.verb) {
    case Verb::attach: {
      if (cmd.dram_bytes)
        dev.attach_dram(*cmd.dram_bytes);
      else
        dev.attach(cmd.path, {.format = cmd.format});
      const Info info = dev.info();
      if (cmd.json)
        print_json(out, info_json(info));
      else
        out << render_info(info);
      break;
    }
    case Verb::detach:
      dev.detach();
      if (cmd.json) print_json(out, {{"detached", true}});
      break;
    case Verb::info: {
      const Info info = dev.info();
      if (cmd.json)
        print_json(out, info_json(info));
      else
        out << render_info(info);
      break;
    }
    case Verb::stats: {
      const Info info = dev.info();
      if (cmd.prometheus)
        out << render_prometheus(info);
      else if (cmd.json)
        print_json(out, stats_json(info));
      else
        out << render_stats(info);
      break;
    }
    case Verb::create: {
      const std::uint64_t id = dev.create({.name = cmd.name,
                                           .length = cmd.size,
                                           .mode = cmd.mode,
                                           .model = cmd.model,
                                           .replicas = cmd.replicas});
      if (cmd.json)
        print_json(out, {{"id", id}, {"name", cmd.name}});
      else
        out << "created " << cmd.name << " (id " << id << ", " << format_size(cmd.size) << ")\n";
      break;
    }
    case Verb::ls: {
      const auto datasets = dev.list();
      PlacementMap placement;
      for (const auto& d : datasets) {
        try {
          placement.emplace(d.name, dev.placement(d.name));
        } catch (const std::system_error& e) {
          if (e.code().value() == ENOTCONN) break;  // not in a cluster: local datasets
          if (e.code().value() != ENOENT) throw;    // deleted since the listing
        }
      }
      if (cmd.json)
        print_json(out, list_json(datasets, placement));
      else
        out << render_list(datasets, placement);
      break;
    }
    case Verb::stat: {
      const Stat st = dev.open(cmd.name, Access::read_only).stat();
      if (cmd.json)
        print_json(out, stat_json(st));
      else
        out << render_stat(st);
      break;
    }
    case Verb::rm:
      dev.remove(cmd.name);
      if (cmd.json) print_json(out, {{"removed", cmd.name}});
      break;
    case Verb::join: {
      KeyFile key = read_key_file(cmd.key_file);
      if (key.group_or_other_access)
        err << program << ": warning: key file " << cmd.key_file
            << " is accessible to group or others\n";
      const std::uint32_t id = dev.join({.dispatcher = cmd.dispatcher,
                                         .self = cmd.self,
                                         .transport = cmd.transport,
                                         .key = std::move(key.key)});
      if (cmd.json)
        print_json(out, {{"node_id", id},
                         {"dispatcher", cmd.dispatcher},
                         {"transport", std::string(to_string(cmd.transport))}});
      else
        out << id << '\n';
      break;
    }
    case Verb::leave:
      dev.leave();
      if (cmd.json) print_json(out, {{"left", true}});
      break;
    case Verb::nodes: {
      const Cluster cluster = dev.nodes();
      if (cmd.json)
        print_json(out, nodes_json(cluster));
      else
        out << render_nodes(cluster);
      break;
    }
  }
}

}  // namespace

int execute(const Command& command, std::ostream& out, std::ostream& err) {
  std::optional<Device> dev;
  try {
    dev.emplace(command.device);
  } catch (const std::system_error& e) {
    err << program << ": " << e.what();
    // No node (ENOENT), or one left by a module that is gone (ENXIO, ENODEV).
    const int code = e.code().value();
    if (code == ENOENT || code == ENXIO || code == ENODEV)
      err << " (is dspm.ko loaded? modprobe dspm)";
    err << '\n';
    return 1;
  }
  try {
    do_execute(*dev, command, out, err);
    out.flush();
    return 0;
  } catch (const std::exception& e) {
    out.flush();
    err << program << ": " << e.what() << '\n';
    return 1;
  }
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  const ParseResult parsed = parse(argc, argv, out, err);
  if (!parsed.command) return parsed.exit_code;
  return execute(*parsed.command, out, err);
}

}  // namespace dspm::admin
