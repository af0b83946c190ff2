// SPDX-License-Identifier: MIT
// dspm-dispatcher: the cluster's membership and namespace service.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>

#ifdef DSPM_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "auth.hpp"
#include "dspm_common/address.hpp"
#include "dspm_common/key_file.hpp"
#include "dspm_common/text.hpp"
#include "log.hpp"
#include "server.hpp"

using namespace dspm::dispatcher;

namespace {

constexpr const char* default_config = "/etc/dspm/dispatcher.conf";

const char* const footer =
    "Every option can also be set in the config file as NAME = VALUE (TOML or INI: "
    "listen = \"10.0.0.1:7470\", transport = \"rdma\"); the command line wins.\n"
    "Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot start, 2 usage error.\n";

// Which option a startup failure is about, from the layer that threw (its message prefix):
// the operator is told what to change rather than which internal call failed.
std::string_view option_of(std::string_view what) {
  if (what.starts_with("state: ")) return "--state";
  if (what.starts_with("key file ")) return "--key-file";
  if (what.starts_with("rdma: ")) return "--transport rdma / --listen";
  if (what.starts_with("server: bind ") || what.starts_with("listen address")) return "--listen";
  return {};
}

// Tells systemd (Type=notify) that nodes can connect: the listener exists and queues them.
void notify_ready([[maybe_unused]] const Server& server) {
#ifdef DSPM_HAVE_LIBSYSTEMD
  const std::string status = "READY=1\nSTATUS=serving on " + server.address();
  sd_notify(0, status.c_str());
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dspm-dispatcher: membership, placement and namespace service of a dspm cluster",
               "dspm-dispatcher"};
  app.set_version_flag("--version", std::string("dspm-dispatcher ") + DSPM_VERSION +
                                        " (wire protocol " + std::to_string(DSPM_WIRE_VERSION) +
                                        ")");
  app.set_config("--config", default_config,
                 "Read options from this file (the default is skipped when it does not exist)");
  app.footer(footer);
  std::string listen = "0.0.0.0:7470";
  std::string transport = "tcp";
  std::string state_path = "/var/lib/dspm/dispatcher.db";
  std::string key_file = "/etc/dspm/cluster.key";
  MembershipConfig mc;
  long heartbeat_ms = mc.heartbeat.count();
  long suspect_ms = mc.suspect_after.count();
  long dead_ms = mc.dead_after.count();
  std::uint64_t chunk_size = Namespace::default_chunk_size;
  const auto address = CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          (void)dspm::common::parse_address(text, "address", {.port_zero = true});
          return {};
        } catch (const std::system_error& e) {
          // What was wrong, without the ": Invalid argument" that system_error appends.
          std::string what = e.what();
          const std::string suffix = ": " + e.code().message();
          if (what.ends_with(suffix)) what.resize(what.size() - suffix.size());
          return what;
        }
      },
      "");
  app.add_option(
         "--listen", listen,
         "Address and port to serve nodes on (ADDR:PORT or [ADDR6]:PORT, numeric; port 0: any)")
      ->type_name("ADDR:PORT")
      ->check(address)
      ->capture_default_str();
  app.add_option("--transport", transport,
                 "Transport to nodes: tcp, or rdma (rdma_cm on the same ADDR:PORT)")
      ->check(CLI::IsMember({"rdma", "tcp"}))
      ->capture_default_str();
  app.add_option("--state", state_path, "SQLite state file")->capture_default_str();
  app.add_option("--key-file", key_file, "Cluster key for node authentication")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval nodes must keep")
      ->check(CLI::Range(1L, 3600000L))
      ->capture_default_str();
  app.add_option("--suspect-ms", suspect_ms, "Silence before a node is suspect")
      ->check(CLI::Range(1L, 3600000L))
      ->capture_default_str();
  app.add_option("--dead-ms", dead_ms, "Silence before a node is dead")
      ->check(CLI::Range(1L, 86400000L))
      ->capture_default_str();
  auto* chunk_opt =
      app.add_option("--chunk-size", chunk_size,
                     "Bytes per chunk of new datasets (a power of 2, 4096 or more); each chunk "
                     "has its own home and replicas")
          ->check(CLI::Range(std::uint64_t{DSPM_WIRE_CHUNK_SIZE_MIN},
                             std::uint64_t{DSPM_WIRE_CHUNK_SIZE_MAX}))
          ->capture_default_str();
  try {
    app.parse(argc, argv);
    // Rules between options, reported like CLI11's own errors: "--OPTION: why".
    if (suspect_ms <= heartbeat_ms)
      throw CLI::ValidationError("--suspect-ms", "must be larger than --heartbeat-ms (" +
                                                     std::to_string(heartbeat_ms) + ")");
    if (dead_ms <= suspect_ms)
      throw CLI::ValidationError(
          "--dead-ms", "must be larger than --suspect-ms (" + std::to_string(suspect_ms) + ")");
    if ((chunk_size & (chunk_size - 1)) != 0)
      throw CLI::ValidationError(chunk_opt->get_name(), "must be a power of 2");
  } catch (const CLI::ParseError& e) {
    // CLI11 has a code per kind of error; a caller (systemd, scripts) needs only "usage".
    return app.exit(e, std::cout, std::cerr) == 0 ? 0 : 2;
  }

  // A closed stderr or peer socket must not kill the service (sockets use MSG_NOSIGNAL too).
  ::signal(SIGPIPE, SIG_IGN);
  try {
    ServerConfig config;
    config.transport = transport == "rdma" ? Transport::rdma : Transport::tcp;
    config.listen = listen;
    config.state = state_path;
    // The mode is that of the file the key was read from (fstat of the same descriptor).
    auto key = dspm::common::read_key_file(key_file);
    if (key.group_or_other_access()) {
      log_to_stderr(LogLevel::warning, "warning: key file " + dspm::common::printable(key_file) +
                                           " is accessible to group or others");
    }
    config.key = std::move(key.key);
    config.membership.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    config.membership.suspect_after = std::chrono::milliseconds(suspect_ms);
    config.membership.dead_after = std::chrono::milliseconds(dead_ms);
    config.chunk_size = chunk_size;
    config.handle_signals = true;
    Server server(std::move(config));
    notify_ready(server);
    server.run();
  } catch (const std::exception& e) {
    const std::string_view option = option_of(e.what());
    log_to_stderr(LogLevel::err,
                  std::string("error: ") + e.what() +
                      (option.empty() ? "" : " (check " + std::string(option) + ")"));
    return 1;
  }
  return 0;
}
