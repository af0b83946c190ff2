// SPDX-License-Identifier: MIT
// dspm-wire-probe: a test client of the node <-> dispatcher wire protocol over TCP or RDMA.
//
//   dspm-wire-probe --transport tcp|rdma --connect ADDR:PORT join --key-file F [--uuid HEX]
//       a whole join (HELLO, check CHALLENGE's mac, AUTH, JOIN_ACCEPT); prints the id as JSON
//   dspm-wire-probe --transport tcp|rdma --connect ADDR:PORT garbage --count N --seed S
//       [--key-file F]
//       N random or mutated messages, reconnecting whenever the peer drops the link; then the
//       peer must still accept connections (and a join must succeed when a key is given)
//   dspm-wire-probe --transport tcp|rdma --connect ADDR:PORT send FILE... [--wait-ms MS]
//       each file's raw bytes on a connection of its own (e.g. at a node's peer port)
//
// Over RDMA it uses only the contract of uapi/linux/dspm_wire.h ("Transports"), through the
// dispatcher's own endpoint classes, so it can be pointed at any implementation of it.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "auth.hpp"
#include "endpoint.hpp"
#include "rdma.hpp"
#include "samples.hpp"
#include "stream.hpp"
#include "wire.hpp"

using namespace dspm::dispatcher;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

static_assert(std::endian::native == std::endian::little, "headers are built in place");

constexpr int exit_refused = 1;   // the peer refused the join (ERROR) or failed its proof
constexpr int exit_link = 3;      // cannot connect, link lost, timeout, garbled reply
constexpr int exit_survived = 0;  // garbage: the peer still serves

struct Options {
  std::string transport = "tcp";
  std::string connect;
  std::string key_file;
  std::string uuid;
  std::uint32_t claim = 0;
  long timeout_ms = 5000;
  bool auth_anyway = false;
  std::uint64_t count = 1000;
  std::uint64_t seed = 1;
  long wait_ms = 10;
  long hold_ms = 0;
  bool verbose = false;
};

void note(const std::string& line) {
  std::fprintf(stderr, "dspm-wire-probe: %s\n", line.c_str());
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

std::optional<Uuid> parse_uuid(std::string text) {
  std::erase(text, '-');
  Uuid u{};
  if (text.size() != u.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < u.size(); ++i) {
    unsigned v = 0;
    if (std::sscanf(text.c_str() + 2 * i, "%2x", &v) != 1 ||
        !std::isxdigit(static_cast<unsigned char>(text[2 * i])) ||
        !std::isxdigit(static_cast<unsigned char>(text[2 * i + 1]))) {
      return std::nullopt;
    }
    u[i] = static_cast<std::uint8_t>(v);
  }
  return u;
}

// One connection to the peer with blocking-with-deadline operations over the non-blocking
// endpoints.
class Link {
 public:
  Link(const Options& o, const dspm::common::SocketAddress& addr) {
    auto timeout = std::chrono::milliseconds(o.timeout_ms);
    if (o.transport == "rdma") {
      auto c = rdma::Connection::connect(addr.get(), timeout);
      rc_ = c.get();
      ep_ = std::move(c);
    } else {
      ep_ = TcpEndpoint::connect(addr, timeout);
    }
  }

  // Our own address on this link, as a HELLO carries it (port: the nodes' default).
  Address local_address() const {
    sockaddr_storage ss{};
    const sockaddr* sa = nullptr;
    if (rc_ != nullptr) {
      sa = rdma_get_local_addr(rc_->id());
    } else {
      socklen_t len = sizeof(ss);
      if (::getsockname(ep_->fd(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        sa = reinterpret_cast<sockaddr*>(&ss);
      }
    }
    Address a;
    a.port = 7411;
    if (sa != nullptr && sa->sa_family == AF_INET) {
      std::memcpy(a.addr.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    } else if (sa != nullptr && sa->sa_family == AF_INET6) {
      a.family = DSPM_WIRE_AF_INET6;
      std::memcpy(a.addr.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    } else {
      a.addr = {127, 0, 0, 1};
    }
    return a;
  }

  // 0 while up, else link_closed or an errno (EBADMSG: the peer sent something undecodable).
  int down() const { return down_; }

  // Hands @bytes to the link; false if it went down or the deadline passed first.
  bool send(std::span<const std::byte> bytes, Clock::time_point deadline) {
    out_.append(bytes);
    while (!out_.empty() && down_ == 0) {
      if (!pump(deadline)) return false;
    }
    return down_ == 0;
  }

  // The next message, nullopt when the link goes down or the deadline passes first.
  std::optional<Message> recv(Clock::time_point deadline) {
    while (msgs_.empty() && down_ == 0) {
      if (!pump(deadline)) break;
    }
    if (msgs_.empty()) return std::nullopt;
    Message m = std::move(msgs_.front());
    msgs_.pop_front();
    return m;
  }

  // Waits until the link goes down (true) or the deadline passes (false); drops messages.
  bool wait_down(Clock::time_point deadline) {
    while (down_ == 0) {
      if (!pump(deadline)) break;
      msgs_.clear();
    }
    msgs_.clear();
    return down_ != 0;
  }

 private:
  // One round of waiting and doing what the fds ask for; false once the deadline passed.
  bool pump(Clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) left = 0;
    // Over RDMA nothing becomes ready until a SEND is posted: hand over first.
    if (!out_.empty()) {
      if (int rc = ep_->transmit(out_); rc != 0) {
        down_ = rc;
        return true;
      }
      if (out_.empty()) return true;
    }
    pollfd p[2] = {{ep_->fd(), POLLIN, 0}, {-1, POLLIN, 0}};
    if (ep_->needs_pollout() && !out_.empty()) p[0].events |= POLLOUT;
    if (rc_ != nullptr) p[1].fd = rc_->cm_fd();
    int n = ::poll(p, 2, static_cast<int>(left));
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    if (n <= 0) return left > 0;
    int cm = rc_ != nullptr && (p[1].revents & POLLIN) != 0 ? rc_->handle_cm_events() : 0;
    int rc = ep_->receive(in_);
    while (auto m = in_.next()) {
      if (!*m) {
        note("undecodable message from the peer: " + m->error().message);
        rc = EBADMSG;
        break;
      }
      msgs_.push_back(std::move(m->value()));
    }
    if (rc == 0) rc = ep_->transmit(out_);
    if (rc == 0) rc = cm;
    if (rc != 0 && down_ == 0) down_ = rc;
    return true;
  }

  std::unique_ptr<Endpoint> ep_;
  rdma::Connection* rc_ = nullptr;
  MessageFramer in_;
  OutQueue out_;
  std::deque<Message> msgs_;
  int down_ = 0;
};

std::string down_text(int code) {
  return code == link_closed ? "the peer closed the link" : errno_name(code);
}

struct JoinOutcome {
  int exit = exit_link;
  std::uint32_t id = 0;
  std::uint32_t heartbeat_ms = 0;
  std::string why;
};

// HELLO -> CHALLENGE (mac checked) -> AUTH -> JOIN_ACCEPT.
JoinOutcome join(Link& link, const Options& o, const Key& key, const Uuid& uuid) {
  JoinOutcome out;
  auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  Hello hello;
  hello.uuid = uuid;
  hello.claimed_id = o.claim;
  hello.capacity = 1ULL << 30;
  hello.free = 1ULL << 30;
  hello.incarnation = 1;
  hello.addr = link.local_address();
  hello.nonce = random_nonce();
  auto lost = [&](const char* when) {
    out.why = std::string("no ") + when + ": " +
              (link.down() != 0 ? down_text(link.down()) : std::string("timeout"));
    return out;
  };
  if (!link.send(encode(Message{0, 1, hello}), deadline)) return lost("HELLO sent");
  auto ch = link.recv(deadline);
  if (!ch) return lost("CHALLENGE");
  if (const auto* e = std::get_if<ErrorReply>(&ch->body)) {
    out.exit = exit_refused;
    out.why = "HELLO refused: " + errno_name(e->error);
    return out;
  }
  const auto* challenge = std::get_if<Challenge>(&ch->body);
  if (challenge == nullptr) {
    out.why = "expected CHALLENGE, got type " + std::to_string(type_of(ch->body));
    return out;
  }
  if (!mac_equal(challenge->mac, challenge_mac(key, hello.nonce, challenge->nonce))) {
    if (!o.auth_anyway) {
      out.exit = exit_refused;
      out.why =
          "CHALLENGE's mac is wrong: the peer does not hold our key (" + errno_name(EACCES) + ")";
      return out;
    }
    note("CHALLENGE's mac is wrong; answering anyway (--auth-anyway)");
  }
  Auth auth{uuid, auth_mac(key, challenge->nonce, hello.nonce, uuid)};
  if (!link.send(encode(Message{0, 2, auth}), deadline)) return lost("AUTH sent");
  for (;;) {
    auto reply = link.recv(deadline);
    if (!reply) return lost("JOIN_ACCEPT");
    if (const auto* a = std::get_if<JoinAccept>(&reply->body)) {
      out.exit = 0;
      out.id = a->node_id;
      out.heartbeat_ms = a->heartbeat_ms;
      return out;
    }
    if (const auto* e = std::get_if<ErrorReply>(&reply->body)) {
      out.exit = exit_refused;
      out.why = "join refused: " + errno_name(e->error);
      return out;
    }
  }
}

std::unique_ptr<Link> open_link(const Options& o, const dspm::common::SocketAddress& addr,
                                std::string* why) {
  try {
    return std::make_unique<Link>(o, addr);
  } catch (const std::system_error& e) {
    if (why != nullptr) *why = e.what();
    return nullptr;
  }
}

// --- garbage ------------------------------------------------------------------------------

class Garbage {
 public:
  explicit Garbage(std::uint64_t seed) : rng_(seed) {
    for (const auto& m : test::sample_messages()) samples_.push_back(encode(m));
    // A valid message of many segments, to cross the SEND boundaries.
    NodeTable big{1, {}};
    for (std::uint32_t i = 1; i <= 200; ++i) {
      NodeEntry e;
      e.id = i;
      e.uuid.fill(static_cast<std::uint8_t>(i));
      e.addr.addr = {10, 0, 0, static_cast<std::uint8_t>(i)};
      e.addr.port = 7411;
      big.nodes.push_back(e);
    }
    samples_.push_back(encode(Message{DSPM_WIRE_NODE_DISPATCHER, 0, big}));
  }

  std::vector<std::byte> next() {
    switch (pick(8)) {
      case 0:
        return random_bytes(pick(2) == 0 ? 1 + pick(64) : 1 + pick(3 * DSPM_WIRE_RDMA_SEGMENT));
      case 1: {  // a plausible header, random type and length, random body
        auto len = DSPM_WIRE_HDR_SIZE + pick(512);
        auto b = random_bytes(len);
        header(b, static_cast<std::uint16_t>(pick(DSPM_WIRE_TYPE_MAX + 3)),
               static_cast<std::uint32_t>(pick(2) == 0 ? len : pick(1024)));
        return b;
      }
      case 2: {  // a valid message with a few bytes flipped
        auto b = sample();
        for (auto n = 1 + pick(4); n > 0; --n) {
          b[pick(b.size())] ^= static_cast<std::byte>(1 + pick(255));
        }
        return b;
      }
      case 3: {  // a valid message with one bad header field
        auto b = sample();
        static constexpr std::size_t offsets[] = {0, 4, 6, 8, 24, 28};
        auto off = offsets[pick(std::size(offsets))];
        std::uint32_t bad[] = {0,
                               1,
                               0xffff,
                               0xffffffff,
                               DSPM_WIRE_MAX_MESSAGE + 1,
                               static_cast<std::uint32_t>(b.size() - 1)};
        put32(b, off, bad[pick(std::size(bad))]);
        return b;
      }
      case 4: {  // truncated: the peer waits for the rest, which the next message supplies
        auto b = sample();
        b.resize(1 + pick(b.size() - 1));
        return b;
      }
      case 5: {  // oversized length fields
        auto b = random_bytes(DSPM_WIRE_HDR_SIZE + pick(256));
        std::uint32_t len =
            pick(2) == 0 ? 0xffffffffU - static_cast<std::uint32_t>(pick(16))
                         : DSPM_WIRE_MAX_MESSAGE + 1 + static_cast<std::uint32_t>(pick(1 << 20));
        header(b, static_cast<std::uint16_t>(1 + pick(DSPM_WIRE_TYPE_MAX)), len);
        return b;
      }
      case 6: {  // a header that claims a large message, and its bytes
        auto len = DSPM_WIRE_HDR_SIZE + pick(DSPM_WIRE_MAX_MESSAGE - DSPM_WIRE_HDR_SIZE + 1);
        auto b = random_bytes(len);
        header(b, static_cast<std::uint16_t>(1 + pick(DSPM_WIRE_TYPE_MAX)),
               static_cast<std::uint32_t>(len));
        return b;
      }
      default:  // a valid message, out of place
        return sample();
    }
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

 private:
  std::vector<std::byte> sample() { return samples_[pick(samples_.size())]; }
  std::vector<std::byte> random_bytes(std::size_t n) {
    std::vector<std::byte> b(n);
    for (auto& x : b) x = static_cast<std::byte>(rng_() & 0xff);
    return b;
  }
  static void put32(std::vector<std::byte>& b, std::size_t off, std::uint32_t v) {
    if (off + 4 <= b.size()) std::memcpy(b.data() + off, &v, 4);
  }
  static void header(std::vector<std::byte>& b, std::uint16_t type, std::uint32_t length) {
    dspm_wire_hdr h{};
    h.magic = DSPM_WIRE_MAGIC;
    h.version = DSPM_WIRE_VERSION;
    h.type = type;
    h.length = length;
    std::memcpy(b.data(), &h, std::min(sizeof(h), b.size()));
  }

  std::mt19937_64 rng_;
  std::vector<std::vector<std::byte>> samples_;
};

int run_join(const Options& o, const dspm::common::SocketAddress& addr) {
  Key key = dspm::common::read_key_file(o.key_file).key;
  Uuid uuid{};
  if (!o.uuid.empty()) {
    auto u = parse_uuid(o.uuid);
    if (!u) {
      note("bad --uuid " + o.uuid + " (want 32 hex digits)");
      return 2;
    }
    uuid = *u;
  } else {
    auto n = random_nonce();
    std::copy_n(n.begin(), uuid.size(), uuid.begin());
  }
  std::string why;
  auto link = open_link(o, addr, &why);
  if (!link) {
    note("cannot connect over " + o.transport + ": " + why);
    return exit_link;
  }
  auto r = join(*link, o, key, uuid);
  if (r.exit != 0) {
    note(r.why);
    return r.exit;
  }
  std::printf(
      "{\"node_id\": %u, \"heartbeat_ms\": %u, \"uuid\": \"%s\", \"transport\": \"%s\", "
      "\"dispatcher\": \"%s\"}\n",
      r.id, r.heartbeat_ms, hex(uuid).c_str(), o.transport.c_str(), o.connect.c_str());
  std::fflush(stdout);
  if (o.hold_ms > 0 && link->wait_down(Clock::now() + std::chrono::milliseconds(o.hold_ms))) {
    note("the peer closed the link while we held it: " + down_text(link->down()));
    return exit_link;
  }
  return 0;
}

int run_garbage(const Options& o, const dspm::common::SocketAddress& addr) {
  std::optional<Key> key;
  if (!o.key_file.empty()) key = dspm::common::read_key_file(o.key_file).key;
  Garbage g(o.seed);
  // A few fixed uuids for the joins in between, so that the peer's table stays small.
  std::vector<Uuid> uuids(4);
  for (std::size_t i = 0; i < uuids.size(); ++i) {
    uuids[i].fill(0xee);
    uuids[i][0] = static_cast<std::uint8_t>(o.seed);
    uuids[i][15] = static_cast<std::uint8_t>(i);
  }
  std::uint64_t sent = 0, connections = 0, dropped = 0, joins = 0;
  std::unique_ptr<Link> link;
  auto start = Clock::now();
  while (sent < o.count) {
    if (!link || link->down() != 0) {
      if (link) ++dropped;
      link.reset();
      std::string why;
      for (int attempt = 0; attempt < 50 && !link; ++attempt) {
        link = open_link(o, addr, &why);
        if (!link) std::this_thread::sleep_for(100ms);
      }
      if (!link) {
        note("the peer stopped accepting connections after " + std::to_string(sent) +
             " messages: " + why);
        return exit_link;
      }
      ++connections;
      // Now and then get past the handshake first, so the garbage meets the later phases.
      auto phase = g.pick(8);
      if (phase == 0 && key) {
        if (join(*link, o, *key, uuids[g.pick(uuids.size())]).exit == 0) ++joins;
      } else if (phase == 1) {
        Hello h;
        h.uuid = uuids[0];
        h.addr.addr = {127, 0, 0, 1};
        h.addr.port = 7411;
        h.incarnation = 1;
        h.nonce = random_nonce();
        link->send(encode(Message{0, 1, h}), Clock::now() + 1s);
      }
      if (link->down() != 0) continue;
    }
    auto bytes = g.next();
    ++sent;
    if (!link->send(bytes, Clock::now() + std::chrono::milliseconds(o.timeout_ms))) continue;
    link->wait_down(Clock::now() + std::chrono::milliseconds(o.wait_ms));
    if (o.verbose && sent % 1000 == 0) {
      note(std::to_string(sent) + " messages, " + std::to_string(connections) + " connections");
    }
  }
  link.reset();
  auto secs = std::chrono::duration<double>(Clock::now() - start).count();
  // The peer must still serve.
  std::string why;
  auto last = open_link(o, addr, &why);
  if (!last) {
    note("the peer no longer accepts connections: " + why);
    return exit_link;
  }
  std::string final_join = "null";
  if (key) {
    Uuid u{};
    u.fill(0xfa);
    auto r = join(*last, o, *key, u);
    if (r.exit != 0) {
      note("final join failed: " + r.why);
      return r.exit;
    }
    final_join = std::to_string(r.id);
  }
  std::printf(
      "{\"sent\": %llu, \"connections\": %llu, \"dropped\": %llu, \"joins\": %llu, "
      "\"seconds\": %.1f, \"final_join\": %s}\n",
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(connections),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(joins), secs,
      final_join.c_str());
  return exit_survived;
}

// Each file's bytes over a connection of its own; then wait for the peer to drop it.
int run_send(const Options& o, const dspm::common::SocketAddress& addr,
             const std::vector<std::string>& files) {
  std::uint64_t dropped = 0;
  for (const auto& path : files) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      note("cannot read " + path + ": " + std::strerror(errno));
      return 2;
    }
    std::vector<std::byte> bytes;
    std::byte buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;)
      bytes.insert(bytes.end(), buf, buf + n);
    std::fclose(f);
    std::string why;
    auto link = open_link(o, addr, &why);
    if (!link) {
      note("cannot connect over " + o.transport + ": " + why);
      return exit_link;
    }
    link->send(bytes, Clock::now() + std::chrono::milliseconds(o.timeout_ms));
    if (link->wait_down(Clock::now() + std::chrono::milliseconds(o.wait_ms))) ++dropped;
  }
  std::printf("{\"files\": %zu, \"dropped\": %llu}\n", files.size(),
              static_cast<unsigned long long>(dropped));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dspm-wire-probe: test client of the dspm wire protocol over TCP or RDMA"};
  Options o;
  app.add_option("--transport", o.transport, "tcp or rdma")
      ->check(CLI::IsMember({"tcp", "rdma"}))
      ->capture_default_str();
  app.add_option("--connect", o.connect, "The peer, ADDR:PORT")->required();
  app.add_option("--timeout-ms", o.timeout_ms, "Connect and reply timeout")
      ->check(CLI::Range(1L, 600000L))
      ->capture_default_str();
  app.require_subcommand(1);
  auto* join_cmd = app.add_subcommand("join", "Join; print the assigned id as JSON");
  join_cmd->add_option("--key-file", o.key_file, "Cluster key")->required();
  join_cmd->add_option("--uuid", o.uuid, "Node uuid, 32 hex digits (default: random)");
  join_cmd->add_option("--claim", o.claim, "Id to claim in HELLO");
  join_cmd->add_option("--hold-ms", o.hold_ms, "Keep the joined link open this long, idle")
      ->check(CLI::Range(0L, 3600000L));
  join_cmd->add_flag("--auth-anyway", o.auth_anyway,
                     "Answer a CHALLENGE whose mac is wrong (to see the peer refuse the AUTH)");
  auto* garbage_cmd = app.add_subcommand("garbage", "Send random and mutated messages");
  garbage_cmd->add_option("--count", o.count, "Messages to send")->capture_default_str();
  garbage_cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  garbage_cmd->add_option("--key-file", o.key_file,
                          "Cluster key: joins in between, and at the end");
  garbage_cmd->add_option("--wait-ms", o.wait_ms, "How long to wait for a drop after each message")
      ->check(CLI::Range(0L, 10000L))
      ->capture_default_str();
  garbage_cmd->add_flag("--verbose", o.verbose, "Progress every 1000 messages");
  std::vector<std::string> files;
  auto* send_cmd = app.add_subcommand(
      "send", "Send each file's bytes on a connection of its own, wait for the peer to drop it");
  send_cmd->add_option("files", files, "Files of raw bytes")->required();
  send_cmd->add_option("--wait-ms", o.wait_ms, "How long to wait for the drop")
      ->check(CLI::Range(0L, 60000L))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const auto addr = dspm::common::parse_address(o.connect, "--connect address");
    if (join_cmd->parsed()) return run_join(o, addr);
    if (send_cmd->parsed()) return run_send(o, addr, files);
    return run_garbage(o, addr);
  } catch (const std::exception& e) {
    note(e.what());
    return exit_link;
  }
}
