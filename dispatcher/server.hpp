// SPDX-License-Identifier: MIT
// The dispatcher's network service over TCP or RDMA: one thread, one epoll loop, nothing
// blocks.  The protocol logic sees a byte stream per connection (endpoint.hpp); the
// transports underneath are a non-blocking socket or an RDMA queue pair (rdma.hpp).  Nodes
// join with the cluster key (HELLO -> CHALLENGE -> AUTH -> JOIN_ACCEPT), heartbeat, get
// NODE_TABLE on every membership change and ask for dataset operations.
// Membership changes and dataset changes are committed to the State before any node hears
// of them.  A malformed or out-of-place message drops its connection, nothing else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth.hpp"
#include "endpoint.hpp"
#include "log.hpp"
#include "membership.hpp"
#include "namespace.hpp"
#include "state.hpp"
#include "wire.hpp"

namespace dspm::dispatcher {

namespace rdma {
class Listener;
}

enum class Transport { tcp, rdma };

struct ServerConfig {
  Transport transport = Transport::tcp;
  std::string listen = "127.0.0.1:0";  // ADDR:PORT, [ADDR6]:PORT; port 0 picks a free one
  std::filesystem::path state;         // SQLite state file
  Key key;                             // the cluster key
  MembershipConfig membership;
  std::uint64_t chunk_size = Namespace::default_chunk_size;  // of new datasets, a power of 2
  std::chrono::milliseconds handshake_timeout{10000};        // to get from accept to JOIN_ACCEPT
  std::size_t max_connections = 4096;
  // Serve SIGTERM and SIGINT (graceful stop) through a signalfd.  The constructor blocks
  // them in the calling thread; threads started later inherit that, earlier ones must
  // block them themselves.
  bool handle_signals = false;
  LogFn log = log_to_stderr;
};

class Server {
 public:
  // Opens the state, restores its nodes (they come back suspect), binds and listens.
  // Throws std::system_error: EINVAL for a bad listen address or key, the errno of a
  // failed socket or rdma_cm call (e.g. ENODEV without an RDMA device), the State's errors.
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound address, "127.0.0.1:PORT", and port (for RDMA, rdma_cm's port in RDMA_PS_TCP).
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }

  // Serves until stop() or a handled signal, then closes every connection.  Throws
  // std::system_error only when the event loop itself fails.
  void run();
  // Makes run() return soon; from any thread, also before run().
  void stop();

  // Messages that were malformed, unknown, oversized or out of place (connection dropped).
  std::uint64_t malformed() const { return malformed_.load(); }
  // AUTHs refused for a wrong key.
  std::uint64_t refused() const { return refused_.load(); }

 private:
  struct Conn;

  void log(LogLevel level, const std::string& line) const;
  const char* transport_name() const;
  void on_accept();
  void on_rdma_cm();
  void add_conn(std::unique_ptr<Endpoint> ep);
  void on_readable(Conn& c);
  void link_down(Conn& c, int code);
  void on_tick();
  void process_input(Conn& c);
  void handle(Conn& c, const Message& msg);
  void handle_auth(Conn& c, const Message& msg, const Auth& auth);
  void handle_joined(Conn& c, const Message& msg);
  void malformed(Conn& c, const std::string& what);
  void protocol_error(Conn& c, const Message& msg, const std::string& what);
  void send(Conn& c, const Message& msg);
  void send_error(Conn& c, const Message& request, int code);
  void flush(Conn& c);
  void want_write(Conn& c, bool on);
  void close_later(Conn& c);
  void close_after_flush(Conn& c);
  void sweep();
  void persist_state(std::uint32_t id, NodeState from, NodeState to);
  void broadcast_table();

  ServerConfig config_;
  std::unique_ptr<State> state_;
  Membership membership_;
  Namespace namespace_;
  UniqueFd epoll_;
  UniqueFd listen_;                       // TCP
  std::unique_ptr<rdma::Listener> rdma_;  // RDMA; outlives the connections in conns_
  UniqueFd stop_;                         // eventfd
  UniqueFd timer_;                        // timerfd
  UniqueFd signal_;                       // signalfd, when config_.handle_signals
  std::string address_;
  std::uint16_t port_ = 0;
  std::uint64_t next_conn_ = 16;  // epoll tags below are the fds above
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  bool accept_error_logged_ = false;
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace dspm::dispatcher
