// SPDX-License-Identifier: MIT
#include "server.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dspm_common/address.hpp"
#include "rdma.hpp"

namespace dspm::dispatcher {

namespace {

constexpr std::uint64_t tag_listen = 1;
constexpr std::uint64_t tag_stop = 2;
constexpr std::uint64_t tag_timer = 3;
constexpr std::uint64_t tag_signal = 4;
constexpr std::uint64_t tag_rdma_cm = 5;
constexpr std::size_t max_pending_output = 8 * 1024 * 1024;
// A closing connection whose last bytes the peer does not take (RDMA: SENDs that never
// complete) is closed anyway after this.
constexpr auto closing_timeout = std::chrono::seconds(2);

[[noreturn]] void fail(int code, const std::string& what) {
  throw std::system_error(code, std::generic_category(), "server: " + what);
}

int check(int rc, const char* what) {
  if (rc < 0) fail(errno, what);
  return rc;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

// A node's address as HELLO carried it (the wire decoder admits IPv4 and IPv6 only).
std::string format_addr(const Address& a) {
  return common::format_address(a.family == DSPM_WIRE_AF_INET ? AF_INET : AF_INET6, a.addr, a.port);
}

const char* state_name(NodeState s) {
  switch (s) {
    case NodeState::alive:
      return "alive";
    case NodeState::suspect:
      return "suspect";
    case NodeState::dead:
      return "dead";
  }
  return "?";
}

}  // namespace

struct Server::Conn {
  enum class Phase { hello, auth, joined };
  std::uint64_t tag = 0;
  std::unique_ptr<Endpoint> ep;
  std::string peer;
  Clock::time_point accepted;
  Clock::time_point closing_since;
  Phase phase = Phase::hello;
  Hello hello;
  Nonce nonce_d{};
  std::uint32_t node_id = 0;
  MessageFramer in;
  OutQueue out;
  bool writing = false;      // EPOLLOUT armed (TCP)
  bool closing = false;      // close once the output is flushed; read nothing more
  bool dead = false;         // closed at the next sweep
  std::string who() const {  // "node 3 (127.0.0.1:4242)" or "127.0.0.1:4242"
    return node_id != 0 ? "node " + std::to_string(node_id) + " (" + peer + ")" : peer;
  }
};

Server::Server(ServerConfig config)
    : config_(std::move(config)),
      state_(std::make_unique<State>(config_.state)),
      membership_(config_.membership),
      namespace_(*state_, config_.chunk_size) {
  if (config_.key.size() < key_size_min || config_.key.size() > key_size_max) {
    fail(EINVAL, "the cluster key must have " + std::to_string(key_size_min) + " to " +
                     std::to_string(key_size_max) + " bytes");
  }
  if (!config_.log) config_.log = [](LogLevel, std::string_view) {};

  // Known nodes keep their ids; alive ones come back suspect with a grace period.
  auto stored = state_->nodes();
  membership_.restore(stored);
  for (const auto& n : stored) {
    const Member* m = membership_.find(n.id);
    if (m != nullptr && m->entry.state != n.state) {
      state_->set_node_state(n.id, m->entry.state);
    }
  }

  const common::SocketAddress listen =
      common::parse_address(config_.listen, "listen address", {.port_zero = true});
  if (config_.transport == Transport::rdma) {
    // The same ADDR:PORT as TCP, in rdma_cm's TCP port space; rdma_cm finds the device
    // that owns ADDR (0.0.0.0: every device).
    rdma_ = std::make_unique<rdma::Listener>(listen.get(), 128);
    address_ = rdma_->address();
    port_ = rdma_->port();
  } else {
    listen_ = UniqueFd(
        check(::socket(listen.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket"));
    int one = 1;
    check(::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), "SO_REUSEADDR");
    if (::bind(listen_.get(), listen.get(), listen.length) < 0) {
      fail(errno, "bind " + config_.listen);
    }
    check(::listen(listen_.get(), 128), "listen");
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    check(::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&bound), &blen), "getsockname");
    address_ = common::format_address(reinterpret_cast<sockaddr*>(&bound));
    port_ = common::address_port(reinterpret_cast<sockaddr*>(&bound));
  }

  epoll_ = UniqueFd(check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"));
  stop_ = UniqueFd(check(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd"));
  timer_ =
      UniqueFd(check(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd"));

  // Tick often enough to see each timeout within a fraction of its margin.
  const auto& mc = membership_.config();
  auto tick = std::clamp(std::min(mc.heartbeat, mc.dead_after - mc.suspect_after) / 4,
                         std::chrono::milliseconds(1), std::chrono::milliseconds(250));
  itimerspec its{};
  its.it_interval.tv_sec = tick.count() / 1000;
  its.it_interval.tv_nsec = (tick.count() % 1000) * 1000000;
  its.it_value = its.it_interval;
  check(::timerfd_settime(timer_.get(), 0, &its, nullptr), "timerfd_settime");

  auto add = [this](int fd, std::uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    check(::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev), "epoll_ctl");
  };
  if (listen_) add(listen_.get(), tag_listen);
  if (rdma_) add(rdma_->fd(), tag_rdma_cm);
  add(stop_.get(), tag_stop);
  add(timer_.get(), tag_timer);
  if (config_.handle_signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (rc != 0) fail(rc, "pthread_sigmask");
    signal_ = UniqueFd(check(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"));
    add(signal_.get(), tag_signal);
  }
}

Server::~Server() = default;

const char* Server::transport_name() const {
  return rdma_ ? "rdma" : "tcp";
}

void Server::log(LogLevel level, const std::string& line) const {
  config_.log(level, line);
}

void Server::stop() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_.get(), &one, sizeof(one));
}

void Server::run() {
  const auto& mc = membership_.config();
  log(LogLevel::notice, "listening on " + address_ + " (" + transport_name() + "), state " +
                            config_.state.string() + ", " +
                            std::to_string(membership_.table().nodes.size()) +
                            " known nodes, heartbeat " + std::to_string(mc.heartbeat.count()) +
                            " ms, suspect after " + std::to_string(mc.suspect_after.count()) +
                            " ms, dead after " + std::to_string(mc.dead_after.count()) + " ms");
  std::string reason;
  std::vector<epoll_event> events(64);
  while (reason.empty()) {
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      std::uint64_t tag = events[i].data.u64;
      if (tag == tag_listen) {
        on_accept();
      } else if (tag == tag_rdma_cm) {
        on_rdma_cm();
      } else if (tag == tag_stop) {
        reason = "stop requested";
      } else if (tag == tag_timer) {
        std::uint64_t ticks = 0;
        [[maybe_unused]] auto r = ::read(timer_.get(), &ticks, sizeof(ticks));
        on_tick();
      } else if (tag == tag_signal) {
        signalfd_siginfo si{};
        if (::read(signal_.get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
          const char* name = sigabbrev_np(static_cast<int>(si.ssi_signo));
          reason = std::string("got SIG") + (name != nullptr ? name : "?");
        }
      } else {
        auto it = conns_.find(tag);
        if (it == conns_.end() || it->second->dead) continue;
        Conn& c = *it->second;
        if ((events[i].events & EPOLLOUT) != 0) flush(c);
        if (!c.dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) {
          on_readable(c);
        }
      }
    }
    sweep();
  }
  log(LogLevel::notice,
      "shutting down (" + reason + "): closing " + std::to_string(conns_.size()) + " connections");
  // Every queue pair and its resources go before the listening id and its channel.
  conns_.clear();
  listen_.reset();
  rdma_.reset();
  log(LogLevel::notice, "shut down");
}

void Server::on_accept() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = ::accept4(listen_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      if (errno == ECONNABORTED) continue;
      if (!accept_error_logged_) log(LogLevel::err, "accept failed: " + errno_name(errno));
      accept_error_logged_ = true;
      return;
    }
    accept_error_logged_ = false;
    UniqueFd sock(fd);
    std::string peer = common::format_address(reinterpret_cast<sockaddr*>(&ss));
    if (conns_.size() >= config_.max_connections) {
      log(LogLevel::warning, "refused connection from " + peer + " over tcp: too many connections");
      continue;
    }
    add_conn(std::make_unique<TcpEndpoint>(std::move(sock), std::move(peer)));
  }
}

void Server::add_conn(std::unique_ptr<Endpoint> ep) {
  auto c = std::make_unique<Conn>();
  c->tag = next_conn_++;
  c->peer = ep->peer();
  c->ep = std::move(ep);
  c->accepted = Clock::now();
  if (auto* r = dynamic_cast<rdma::Connection*>(c->ep.get())) {
    // Routes the id's CM events (ESTABLISHED, DISCONNECTED, ...) to this connection.
    r->id()->context = reinterpret_cast<void*>(static_cast<std::uintptr_t>(c->tag));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | (c->ep->needs_pollout() ? EPOLLRDHUP : 0U);
  ev.data.u64 = c->tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->ep->fd(), &ev) < 0) {
    log(LogLevel::err,
        "epoll_ctl for " + c->peer + " failed: " + errno_name(errno) + "; dropping it");
    return;
  }
  log(LogLevel::info, "connection from " + c->peer + " over " + c->ep->transport());
  auto tag = c->tag;
  conns_.emplace(tag, std::move(c));
}

void Server::on_rdma_cm() {
  for (;;) {
    std::optional<rdma::CmEvent> ev;
    try {
      ev = rdma::next_event(rdma_->channel());
    } catch (const std::system_error& e) {
      log(LogLevel::err, std::string("rdma_cm event channel: ") + e.what());
      return;
    }
    if (!ev) return;
    if (ev->type == RDMA_CM_EVENT_CONNECT_REQUEST) {
      rdma::CmId id(ev->id);
      std::string peer = common::format_address(rdma_get_peer_addr(id.get()));
      if (conns_.size() >= config_.max_connections) {
        log(LogLevel::warning,
            "refused connection from " + peer + " over rdma: too many connections");
        rdma_reject(id.get(), nullptr, 0);
        continue;
      }
      try {
        add_conn(rdma::Connection::accept(std::move(id)));
      } catch (const std::system_error& e) {
        log(LogLevel::warning, "refused connection from " + peer + " over rdma: " + e.what());
      }
      continue;
    }
    if (ev->id == rdma_->id()) {
      // Only DEVICE_REMOVAL and ADDR_CHANGE reach a listening id.
      log(LogLevel::warning, std::string("rdma listener: ") + rdma::event_name(ev->type) +
                                 " (status " + std::to_string(ev->status) + ")");
      continue;
    }
    auto tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(ev->id->context));
    auto it = conns_.find(tag);
    if (it == conns_.end() || it->second->dead) continue;
    Conn& c = *it->second;
    switch (ev->type) {
      case RDMA_CM_EVENT_ESTABLISHED:
      case RDMA_CM_EVENT_ADDR_CHANGE:
      case RDMA_CM_EVENT_TIMEWAIT_EXIT:
        break;
      case RDMA_CM_EVENT_DISCONNECTED:
        // What arrived before the disconnect is still in the CQ: take it first.
        on_readable(c);
        if (!c.dead) link_down(c, link_closed);
        break;
      default:
        log(LogLevel::info, c.who() + " over rdma: " + rdma::event_name(ev->type) + " (status " +
                                std::to_string(ev->status) + "); dropping the connection");
        close_later(c);
        break;
    }
  }
}

void Server::on_readable(Conn& c) {
  int rc = c.ep->receive(c.in);
  if (c.closing) {
    c.in.clear();  // whatever else the peer sends is ignored
  } else {
    process_input(c);
  }
  if (c.dead) return;
  if (rc != 0) {
    link_down(c, rc);
    return;
  }
  // Over RDMA finished SENDs free buffers for queued output.
  flush(c);
}

void Server::link_down(Conn& c, int code) {
  if (c.dead) return;
  if (code == link_closed && c.in.buffered() != 0 && !c.closing) {
    malformed(c, "connection closed in the middle of a message (" +
                     std::to_string(c.in.buffered()) + " bytes)");
    return;
  }
  if (code == EMSGSIZE && !c.closing) {
    malformed(c, std::string("a ") + c.ep->transport() + " SEND larger than " +
                     std::to_string(DSPM_WIRE_RDMA_SEGMENT) + " bytes");
    return;
  }
  if (c.node_id != 0) {
    log(LogLevel::info,
        c.who() + " disconnected" + (code == link_closed ? "" : ": " + errno_name(code)));
  }
  close_later(c);
}

void Server::process_input(Conn& c) {
  while (!c.dead && !c.closing) {
    auto msg = c.in.next();
    if (!msg) return;
    if (!*msg) {
      malformed(c, errno_name(msg->error().code) + ": " + msg->error().message);
      return;
    }
    try {
      handle(c, msg->value());
    } catch (const std::exception& e) {
      log(LogLevel::err, "internal error on a message from " + c.who() + ": " + e.what() +
                             "; dropping the connection");
      close_later(c);
      return;
    }
  }
}

void Server::malformed(Conn& c, const std::string& what) {
  ++malformed_;
  log(LogLevel::warning,
      "malformed message from " + c.who() + ": " + what + "; dropping the connection");
  close_later(c);
}

void Server::protocol_error(Conn& c, const Message& msg, const std::string& what) {
  ++malformed_;
  log(LogLevel::warning,
      "unexpected message from " + c.who() + ": " + what + "; dropping the connection");
  send_error(c, msg, EPROTO);
  close_after_flush(c);
}

void Server::handle(Conn& c, const Message& msg) {
  switch (c.phase) {
    case Conn::Phase::hello: {
      const auto* hello = std::get_if<Hello>(&msg.body);
      if (hello == nullptr) {
        protocol_error(c, msg, "type " + std::to_string(type_of(msg.body)) + " before HELLO");
        return;
      }
      c.hello = *hello;
      c.nonce_d = random_nonce();
      c.phase = Conn::Phase::auth;
      Message reply{DSPM_WIRE_NODE_DISPATCHER, msg.request_id,
                    Challenge{c.nonce_d, challenge_mac(config_.key, hello->nonce, c.nonce_d)}};
      send(c, reply);
      return;
    }
    case Conn::Phase::auth: {
      const auto* auth = std::get_if<Auth>(&msg.body);
      if (auth == nullptr) {
        protocol_error(c, msg, "type " + std::to_string(type_of(msg.body)) + " instead of AUTH");
        return;
      }
      handle_auth(c, msg, *auth);
      return;
    }
    case Conn::Phase::joined:
      handle_joined(c, msg);
      return;
  }
}

void Server::handle_auth(Conn& c, const Message& msg, const Auth& auth) {
  Mac expected = auth_mac(config_.key, c.nonce_d, c.hello.nonce, c.hello.uuid);
  bool mac_ok = mac_equal(expected, auth.mac);
  if (!mac_ok || auth.uuid != c.hello.uuid) {
    ++refused_;
    log(LogLevel::warning, "refused join from " + c.peer + " (uuid " + hex(c.hello.uuid) + "): " +
                               (mac_ok ? "AUTH uuid differs from HELLO's" : "wrong cluster key"));
    send_error(c, msg, EACCES);
    close_after_flush(c);
    return;
  }
  NodeEntry entry;
  std::uint64_t last_incarnation = 0;
  if (auto known = membership_.find_uuid(c.hello.uuid)) {
    last_incarnation = membership_.find(*known)->entry.incarnation;
  }
  try {
    entry = membership_.join(c.hello);
    state_->put_node(entry);  // committed before anybody hears of it
  } catch (const std::system_error& e) {
    log(LogLevel::warning,
        "join of " + c.peer + " (uuid " + hex(c.hello.uuid) + ") failed: " + e.what());
    send_error(c, msg, e.code().value());
    close_after_flush(c);
    return;
  }
  // A node that joins again replaces its previous connection.
  for (auto& [tag, other] : conns_) {
    if (other.get() != &c && !other->dead && other->node_id == entry.id) {
      log(LogLevel::info, other->who() + " replaced by a new connection from " + c.peer);
      close_later(*other);
    }
  }
  c.node_id = entry.id;
  c.phase = Conn::Phase::joined;
  log(LogLevel::notice,
      "node " + std::to_string(entry.id) + " joined from " + c.peer + " over " + c.ep->transport() +
          " (uuid " + hex(entry.uuid) + ", serves " + format_addr(entry.addr) + ", capacity " +
          std::to_string(entry.capacity) + ", free " + std::to_string(entry.free) + ", " +
          (last_incarnation == 0                   ? std::string("first start known")
           : last_incarnation == entry.incarnation ? std::string("same start")
                                                   : std::string("restarted")) +
          ")");
  auto hb = static_cast<std::uint32_t>(membership_.config().heartbeat.count());
  send(c, Message{DSPM_WIRE_NODE_DISPATCHER, msg.request_id, JoinAccept{entry.id, hb}});
  broadcast_table();
}

void Server::handle_joined(Conn& c, const Message& msg) {
  if (std::holds_alternative<ErrorReply>(msg.body)) {
    const auto& e = std::get<ErrorReply>(msg.body);
    log(LogLevel::info, c.who() + " reported " + errno_name(e.error) + " for a message of type " +
                            std::to_string(e.request_type));
    return;
  }
  if (msg.sender != c.node_id) {
    protocol_error(c, msg, "sender " + std::to_string(msg.sender) + " is not the node's id");
    return;
  }
  if (const auto* hb = std::get_if<Heartbeat>(&msg.body)) {
    const Member* m = membership_.find(c.node_id);
    NodeState before = m != nullptr ? m->entry.state : NodeState::dead;
    try {
      membership_.heartbeat(c.node_id, hb->free);
    } catch (const std::system_error& e) {
      log(LogLevel::warning,
          "heartbeat of " + c.who() + " refused: " + e.what() + "; it must join again");
      send_error(c, msg, e.code().value());
      close_after_flush(c);
      return;
    }
    m = membership_.find(c.node_id);
    if (m != nullptr && m->entry.state != before) {
      persist_state(c.node_id, before, m->entry.state);
      broadcast_table();
    }
    return;
  }
  switch (type_of(msg.body)) {
    case DSPM_WIRE_DATASET_CREATE:
    case DSPM_WIRE_DATASET_DELETE:
    case DSPM_WIRE_DATASET_LOOKUP:
    case DSPM_WIRE_DATASET_LIST:
      break;
    default:
      protocol_error(c, msg, "type " + std::to_string(type_of(msg.body)) + " from a joined node");
      return;
  }
  Message reply = namespace_.handle(msg, membership_.capacities());
  if (std::holds_alternative<DatasetCreate>(msg.body)) {
    if (const auto* r = std::get_if<DatasetReply>(&reply.body)) {
      log(LogLevel::info, "dataset " + r->dataset.name + " created by " + c.who() + ": id " +
                              std::to_string(r->dataset.id) + ", " +
                              std::to_string(r->dataset.length) + " bytes, " +
                              std::to_string(r->dataset.chunks) + " chunks, " +
                              std::to_string(r->dataset.replicas) + " replicas");
    } else if (const auto* e = std::get_if<ErrorReply>(&reply.body)) {
      log(LogLevel::info, "dataset create by " + c.who() + " failed: " + errno_name(e->error));
    }
  } else if (std::holds_alternative<DatasetDelete>(msg.body)) {
    if (const auto* r = std::get_if<DeleteReply>(&reply.body)) {
      log(LogLevel::info,
          "dataset " + r->name + " (id " + std::to_string(r->id) + ") deleted by " + c.who());
    } else if (const auto* e = std::get_if<ErrorReply>(&reply.body)) {
      log(LogLevel::info, "dataset delete by " + c.who() + " failed: " + errno_name(e->error));
    }
  }
  send(c, reply);
}

void Server::persist_state(std::uint32_t id, NodeState from, NodeState to) {
  state_->set_node_state(id, to);
  log(LogLevel::notice,
      "node " + std::to_string(id) + ": " + state_name(from) + " -> " + state_name(to));
}

void Server::broadcast_table() {
  NodeTable table = membership_.table();
  if (table.nodes.size() > DSPM_WIRE_NODES_MAX) {
    log(LogLevel::warning, "node table has " + std::to_string(table.nodes.size()) +
                               " nodes, more than one " + "NODE_TABLE holds; sending the first " +
                               std::to_string(DSPM_WIRE_NODES_MAX));
    table.nodes.resize(DSPM_WIRE_NODES_MAX);
  }
  Message msg{DSPM_WIRE_NODE_DISPATCHER, 0, std::move(table)};
  auto bytes = encode(msg);
  for (auto& [tag, c] : conns_) {
    if (c->dead || c->closing || c->phase != Conn::Phase::joined) continue;
    c->out.append(bytes);
    flush(*c);
  }
}

void Server::on_tick() {
  auto changes = membership_.tick();
  for (const auto& ch : changes) {
    try {
      persist_state(ch.id, ch.from, ch.to);
    } catch (const std::exception& e) {
      log(LogLevel::err,
          "cannot persist the state of node " + std::to_string(ch.id) + ": " + e.what());
    }
  }
  if (!changes.empty()) broadcast_table();
  auto now = Clock::now();
  for (auto& [tag, c] : conns_) {
    if (!c->dead && c->phase != Conn::Phase::joined &&
        now - c->accepted > config_.handshake_timeout) {
      log(LogLevel::warning,
          c->peer + " did not complete its join in time; dropping the connection");
      close_later(*c);
    } else if (!c->dead && c->closing && now - c->closing_since > closing_timeout) {
      close_later(*c);
    }
  }
  sweep();
}

void Server::send(Conn& c, const Message& msg) {
  c.out.append(encode(msg));
  flush(c);
}

void Server::send_error(Conn& c, const Message& request, int code) {
  if (code <= 0 || code > DSPM_WIRE_ERRNO_MAX) code = EIO;
  send(c, Message{DSPM_WIRE_NODE_DISPATCHER, request.request_id,
                  ErrorReply{code, type_of(request.body)}});
}

void Server::flush(Conn& c) {
  if (c.dead) return;
  int rc = c.ep->transmit(c.out);
  if (rc != 0) {
    link_down(c, rc);
    return;
  }
  if (!c.out.empty()) {
    // The same rule for both transports: the socket buffer or every send buffer is full,
    // and more than the bound waits behind it.
    if (c.out.size() > max_pending_output) {
      log(LogLevel::warning, c.who() + " does not read its messages; dropping the connection");
      close_later(c);
      return;
    }
    if (c.ep->needs_pollout()) want_write(c, true);
    return;
  }
  if (c.writing) want_write(c, false);
  if (c.closing && c.ep->drained()) close_later(c);
}

void Server::want_write(Conn& c, bool on) {
  if (c.dead || c.writing == on) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0U);
  ev.data.u64 = c.tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.ep->fd(), &ev) < 0) {
    close_later(c);
    return;
  }
  c.writing = on;
}

void Server::close_after_flush(Conn& c) {
  if (!c.closing) c.closing_since = Clock::now();
  c.closing = true;
  if (c.out.empty() && c.ep->drained()) close_later(c);
}

void Server::close_later(Conn& c) {
  c.dead = true;
}

void Server::sweep() {
  std::erase_if(conns_, [](const auto& kv) { return kv.second->dead; });
}

}  // namespace dspm::dispatcher
