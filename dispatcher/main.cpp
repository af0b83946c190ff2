// dspm-dispatcher: the cluster's membership and namespace service.  Serving is not
// implemented yet; the options are those the service will take.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"dspm-dispatcher: membership, placement and namespace service of a dspm cluster"};
  std::string listen = "0.0.0.0:7470";
  std::string transport = "tcp";
  std::string state_path = "/var/lib/dspm/dispatcher.db";
  std::string key_file = "/etc/dspm/cluster.key";
  app.add_option("--listen", listen, "Address and port to serve nodes on (ADDR:PORT)")
      ->capture_default_str();
  app.add_option("--transport", transport, "Transport to nodes")
      ->check(CLI::IsMember({"rdma", "tcp"}))
      ->capture_default_str();
  app.add_option("--state", state_path, "SQLite state file")->capture_default_str();
  app.add_option("--key-file", key_file, "Cluster key for node authentication")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::fprintf(stderr, "dspm-dispatcher: serving is not implemented yet\n");
  return 2;
}
