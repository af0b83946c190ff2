#include "server.hpp"

#include <netdb.h>
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace dspm::dispatcher {

namespace {

constexpr std::uint64_t tag_listen = 1;
constexpr std::uint64_t tag_stop = 2;
constexpr std::uint64_t tag_timer = 3;
constexpr std::uint64_t tag_signal = 4;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_pending_output = 8 * 1024 * 1024;

[[noreturn]] void fail(int code, const std::string& what) {
  throw std::system_error(code, std::generic_category(), "server: " + what);
}

int check(int rc, const char* what) {
  if (rc < 0) fail(errno, what);
  return rc;
}

std::string errno_name(int code) {
  const char* name = strerrorname_np(code);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(code) + ")";
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

std::string format_sockaddr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  return "?";
}

std::string format_addr(const Address& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (a.family == DSPM_WIRE_AF_INET) {
    inet_ntop(AF_INET, a.addr.data(), host, sizeof(host));
    return std::string(host) + ":" + std::to_string(a.port);
  }
  inet_ntop(AF_INET6, a.addr.data(), host, sizeof(host));
  return "[" + std::string(host) + "]:" + std::to_string(a.port);
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

// "ADDR:PORT" or "[ADDR6]:PORT", numeric only.
sockaddr_storage parse_listen(const std::string& listen, socklen_t& len) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen[0] == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      fail(EINVAL, "bad listen address " + listen + " (want ADDR:PORT or [ADDR6]:PORT)");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) fail(EINVAL, "bad listen address " + listen);
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || port.empty() || getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    fail(EINVAL, "bad listen address " + listen + " (want a numeric ADDR:PORT)");
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return ss;
}

}  // namespace

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void log_to_stderr(std::string_view line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &t);
  std::string out = stamp;
  char ms[24];
  std::snprintf(ms, sizeof(ms), ".%03ldZ ", ts.tv_nsec / 1000000);
  out += ms;
  out += "dspm-dispatcher: ";
  out += line;
  out += '\n';
  // One write per line, so that lines do not interleave.
  std::size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(STDERR_FILENO, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

struct Server::Conn {
  enum class Phase { hello, auth, joined };
  std::uint64_t tag = 0;
  Fd fd;
  std::string peer;
  Clock::time_point accepted;
  Phase phase = Phase::hello;
  Hello hello;
  Nonce nonce_d{};
  std::uint32_t node_id = 0;
  std::vector<std::byte> in;
  std::vector<std::byte> out;
  std::size_t out_off = 0;
  bool writing = false;      // EPOLLOUT armed
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
      namespace_(*state_) {
  if (config_.key.size() < key_size_min || config_.key.size() > key_size_max) {
    fail(EINVAL, "the cluster key must have " + std::to_string(key_size_min) + " to " +
                     std::to_string(key_size_max) + " bytes");
  }
  if (!config_.log) config_.log = [](std::string_view) {};

  // Known nodes keep their ids; alive ones come back suspect with a grace period.
  auto stored = state_->nodes();
  membership_.restore(stored);
  for (const auto& n : stored) {
    const Member* m = membership_.find(n.id);
    if (m != nullptr && m->entry.state != n.state) {
      state_->set_node_state(n.id, m->entry.state);
    }
  }

  socklen_t len = 0;
  sockaddr_storage ss = parse_listen(config_.listen, len);
  listen_ =
      Fd(check(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket"));
  int one = 1;
  check(::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), "SO_REUSEADDR");
  if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    fail(errno, "bind " + config_.listen);
  }
  check(::listen(listen_.get(), 128), "listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  check(::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&bound), &blen), "getsockname");
  address_ = format_sockaddr(bound);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(bound).sin_port
                                           : reinterpret_cast<sockaddr_in6&>(bound).sin6_port);

  epoll_ = Fd(check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"));
  stop_ = Fd(check(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd"));
  timer_ = Fd(check(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd"));

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
  add(listen_.get(), tag_listen);
  add(stop_.get(), tag_stop);
  add(timer_.get(), tag_timer);
  if (config_.handle_signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (rc != 0) fail(rc, "pthread_sigmask");
    signal_ = Fd(check(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"));
    add(signal_.get(), tag_signal);
  }
}

Server::~Server() = default;

void Server::log(const std::string& line) const {
  config_.log(line);
}

void Server::stop() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_.get(), &one, sizeof(one));
}

void Server::run() {
  const auto& mc = membership_.config();
  log("listening on " + address_ + " (tcp), state " + config_.state.string() + ", " +
      std::to_string(membership_.table().nodes.size()) + " known nodes, heartbeat " +
      std::to_string(mc.heartbeat.count()) + " ms, suspect after " +
      std::to_string(mc.suspect_after.count()) + " ms, dead after " +
      std::to_string(mc.dead_after.count()) + " ms");
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
        if ((events[i].events & EPOLLOUT) != 0) on_writable(c);
        if (!c.dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) {
          on_readable(c);
        }
      }
    }
    sweep();
  }
  log("shutting down (" + reason + "): closing " + std::to_string(conns_.size()) + " connections");
  conns_.clear();
  listen_.reset();
  log("shut down");
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
      if (!accept_error_logged_) log("accept failed: " + errno_name(errno));
      accept_error_logged_ = true;
      return;
    }
    accept_error_logged_ = false;
    Fd sock(fd);
    std::string peer = format_sockaddr(ss);
    if (conns_.size() >= config_.max_connections) {
      log("refused connection from " + peer + ": too many connections");
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Conn>();
    c->tag = next_conn_++;
    c->fd = std::move(sock);
    c->peer = std::move(peer);
    c->accepted = Clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = c->tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
      log("epoll_ctl for " + c->peer + " failed: " + errno_name(errno));
      continue;
    }
    auto tag = c->tag;
    conns_.emplace(tag, std::move(c));
  }
}

void Server::on_readable(Conn& c) {
  std::byte buf[read_chunk];
  while (!c.dead && !c.closing) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      if (c.node_id != 0) log(c.who() + " disconnected: " + errno_name(errno));
      close_later(c);
      return;
    }
    if (n == 0) {
      if (!c.in.empty()) {
        malformed(c, "connection closed in the middle of a message (" +
                         std::to_string(c.in.size()) + " bytes)");
      } else {
        if (c.node_id != 0) log(c.who() + " disconnected");
        close_later(c);
      }
      return;
    }
    c.in.insert(c.in.end(), buf, buf + n);
    process_input(c);
  }
  // Closing: ignore (but drain) whatever else the peer sends.
  while (!c.dead && c.closing) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_later(c);
  }
}

void Server::process_input(Conn& c) {
  std::size_t off = 0;
  while (!c.dead && !c.closing && c.in.size() - off >= DSPM_WIRE_HDR_SIZE) {
    std::span<const std::byte> rest(c.in.data() + off, c.in.size() - off);
    auto len = peek_length(rest.first(DSPM_WIRE_HDR_SIZE));
    if (!len) {
      malformed(c, errno_name(len.error().code) + ": " + len.error().message);
      return;
    }
    if (rest.size() < len.value()) break;
    auto msg = decode(rest.first(len.value()));
    off += len.value();
    if (!msg) {
      malformed(c, errno_name(msg.error().code) + ": " + msg.error().message);
      return;
    }
    try {
      handle(c, msg.value());
    } catch (const std::exception& e) {
      log("internal error on a message from " + c.who() + ": " + e.what() +
          "; dropping the connection");
      close_later(c);
      return;
    }
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
}

void Server::malformed(Conn& c, const std::string& what) {
  ++malformed_;
  log("malformed message from " + c.who() + ": " + what + "; dropping the connection");
  close_later(c);
}

void Server::protocol_error(Conn& c, const Message& msg, const std::string& what) {
  ++malformed_;
  log("unexpected message from " + c.who() + ": " + what + "; dropping the connection");
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
    log("refused join from " + c.peer + " (uuid " + hex(c.hello.uuid) +
        "): " + (mac_ok ? "AUTH uuid differs from HELLO's" : "wrong cluster key"));
    send_error(c, msg, EACCES);
    close_after_flush(c);
    return;
  }
  NodeEntry entry;
  try {
    entry = membership_.join(c.hello);
    state_->put_node(entry);  // committed before anybody hears of it
  } catch (const std::system_error& e) {
    log("join of " + c.peer + " (uuid " + hex(c.hello.uuid) + ") failed: " + e.what());
    send_error(c, msg, e.code().value());
    close_after_flush(c);
    return;
  }
  // A node that joins again replaces its previous connection.
  for (auto& [tag, other] : conns_) {
    if (other.get() != &c && !other->dead && other->node_id == entry.id) {
      log(other->who() + " replaced by a new connection from " + c.peer);
      close_later(*other);
    }
  }
  c.node_id = entry.id;
  c.phase = Conn::Phase::joined;
  log("node " + std::to_string(entry.id) + " joined from " + c.peer + " (uuid " + hex(entry.uuid) +
      ", serves " + format_addr(entry.addr) + ", capacity " + std::to_string(entry.capacity) +
      ", free " + std::to_string(entry.free) + ")");
  auto hb = static_cast<std::uint32_t>(membership_.config().heartbeat.count());
  send(c, Message{DSPM_WIRE_NODE_DISPATCHER, msg.request_id, JoinAccept{entry.id, hb}});
  broadcast_table();
}

void Server::handle_joined(Conn& c, const Message& msg) {
  if (std::holds_alternative<ErrorReply>(msg.body)) {
    const auto& e = std::get<ErrorReply>(msg.body);
    log(c.who() + " reported " + errno_name(e.error) + " for a message of type " +
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
      log("heartbeat of " + c.who() + " refused: " + e.what() + "; it must join again");
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
      log("dataset " + r->dataset.name + " created by " + c.who() + ": id " +
          std::to_string(r->dataset.id) + ", " + std::to_string(r->dataset.length) + " bytes, " +
          std::to_string(r->dataset.chunks) + " chunks, " + std::to_string(r->dataset.replicas) +
          " replicas");
    } else if (const auto* e = std::get_if<ErrorReply>(&reply.body)) {
      log("dataset create by " + c.who() + " failed: " + errno_name(e->error));
    }
  } else if (std::holds_alternative<DatasetDelete>(msg.body)) {
    if (const auto* r = std::get_if<DeleteReply>(&reply.body)) {
      log("dataset " + r->name + " (id " + std::to_string(r->id) + ") deleted by " + c.who());
    } else if (const auto* e = std::get_if<ErrorReply>(&reply.body)) {
      log("dataset delete by " + c.who() + " failed: " + errno_name(e->error));
    }
  }
  send(c, reply);
}

void Server::persist_state(std::uint32_t id, NodeState from, NodeState to) {
  state_->set_node_state(id, to);
  log("node " + std::to_string(id) + ": " + state_name(from) + " -> " + state_name(to));
}

void Server::broadcast_table() {
  NodeTable table = membership_.table();
  if (table.nodes.size() > DSPM_WIRE_NODES_MAX) {
    log("node table has " + std::to_string(table.nodes.size()) + " nodes, more than one " +
        "NODE_TABLE holds; sending the first " + std::to_string(DSPM_WIRE_NODES_MAX));
    table.nodes.resize(DSPM_WIRE_NODES_MAX);
  }
  Message msg{DSPM_WIRE_NODE_DISPATCHER, 0, std::move(table)};
  auto bytes = encode(msg);
  for (auto& [tag, c] : conns_) {
    if (c->dead || c->closing || c->phase != Conn::Phase::joined) continue;
    c->out.insert(c->out.end(), bytes.begin(), bytes.end());
    flush(*c);
  }
}

void Server::on_tick() {
  auto changes = membership_.tick();
  for (const auto& ch : changes) {
    try {
      persist_state(ch.id, ch.from, ch.to);
    } catch (const std::exception& e) {
      log("cannot persist the state of node " + std::to_string(ch.id) + ": " + e.what());
    }
  }
  if (!changes.empty()) broadcast_table();
  auto now = Clock::now();
  for (auto& [tag, c] : conns_) {
    if (!c->dead && c->phase != Conn::Phase::joined &&
        now - c->accepted > config_.handshake_timeout) {
      log(c->peer + " did not complete its join in time; dropping the connection");
      close_later(*c);
    }
  }
  sweep();
}

void Server::send(Conn& c, const Message& msg) {
  auto bytes = encode(msg);
  c.out.insert(c.out.end(), bytes.begin(), bytes.end());
  flush(c);
}

void Server::send_error(Conn& c, const Message& request, int code) {
  if (code <= 0 || code > DSPM_WIRE_ERRNO_MAX) code = EIO;
  send(c, Message{DSPM_WIRE_NODE_DISPATCHER, request.request_id,
                  ErrorReply{code, type_of(request.body)}});
}

void Server::flush(Conn& c) {
  while (!c.dead && c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (c.out.size() - c.out_off > max_pending_output) {
          log(c.who() + " does not read its messages; dropping the connection");
          close_later(c);
          return;
        }
        want_write(c, true);
        return;
      }
      if (c.node_id != 0) log(c.who() + " disconnected: " + errno_name(errno));
      close_later(c);
      return;
    }
    c.out_off += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.out_off = 0;
  if (c.writing) want_write(c, false);
  if (c.closing) close_later(c);
}

void Server::on_writable(Conn& c) {
  flush(c);
}

void Server::want_write(Conn& c, bool on) {
  if (c.dead || c.writing == on) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0U);
  ev.data.u64 = c.tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) < 0) {
    close_later(c);
    return;
  }
  c.writing = on;
}

void Server::close_after_flush(Conn& c) {
  c.closing = true;
  if (c.out_off >= c.out.size()) close_later(c);
}

void Server::close_later(Conn& c) {
  c.dead = true;
}

void Server::sweep() {
  std::erase_if(conns_, [](const auto& kv) { return kv.second->dead; });
}

}  // namespace dspm::dispatcher
