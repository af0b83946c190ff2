// dspm-dispatcher: the cluster's membership and namespace service.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "auth.hpp"
#include "dspm_common/key_file.hpp"
#include "dspm_common/text.hpp"
#include "server.hpp"

using namespace dspm::dispatcher;

int main(int argc, char** argv) {
  CLI::App app{"dspm-dispatcher: membership, placement and namespace service of a dspm cluster"};
  std::string listen = "0.0.0.0:7470";
  std::string transport = "tcp";
  std::string state_path = "/var/lib/dspm/dispatcher.db";
  std::string key_file = "/etc/dspm/cluster.key";
  MembershipConfig mc;
  long heartbeat_ms = mc.heartbeat.count();
  long suspect_ms = mc.suspect_after.count();
  long dead_ms = mc.dead_after.count();
  std::uint64_t chunk_size = Namespace::default_chunk_size;
  app.add_option(
         "--listen", listen,
         "Address and port to serve nodes on (ADDR:PORT or [ADDR6]:PORT, numeric; port 0: any)")
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
  app.add_option("--chunk-size", chunk_size,
                 "Bytes per chunk of new datasets (a power of 2, 4096 or more); each chunk has "
                 "its own home and replicas")
      ->check(CLI::Range(std::uint64_t{DSPM_WIRE_CHUNK_SIZE_MIN},
                         std::uint64_t{DSPM_WIRE_CHUNK_SIZE_MAX}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

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
      log_to_stderr("warning: key file " + dspm::common::printable(key_file) +
                    " is accessible to group or others");
    }
    config.key = std::move(key.key);
    config.membership.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    config.membership.suspect_after = std::chrono::milliseconds(suspect_ms);
    config.membership.dead_after = std::chrono::milliseconds(dead_ms);
    config.chunk_size = chunk_size;
    config.handle_signals = true;
    Server server(std::move(config));
    server.run();
  } catch (const std::exception& e) {
    log_to_stderr(std::string("error: ") + e.what());
    return 1;
  }
  return 0;
}
