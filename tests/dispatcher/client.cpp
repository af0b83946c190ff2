// SPDX-License-Identifier: MIT
#include "client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace dspm::dispatcher::test {

using Clock = std::chrono::steady_clock;

Client::Client(std::uint16_t port) {
  fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0)
    throw std::system_error(errno, std::generic_category(), "connect");
}

void Client::send_raw(std::span<const std::byte> bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "send");
    off += static_cast<std::size_t>(n);
  }
}

void Client::send(const Message& msg) {
  send_raw(encode(msg));
}

void Client::shutdown_write() {
  ::shutdown(fd_.get(), SHUT_WR);
}

bool Client::read_exact(std::byte* p, std::size_t n, Clock::time_point deadline) {
  std::size_t off = 0;
  while (off < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_.get(), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    ssize_t r = ::recv(fd_.get(), p + off, n - off, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    off += static_cast<std::size_t>(r);
  }
  return true;
}

std::optional<Message> Client::recv(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::byte> buf(DSPM_WIRE_HDR_SIZE);
  if (!read_exact(buf.data(), buf.size(), deadline)) return std::nullopt;
  auto len = peek_length(buf);
  if (!len) return std::nullopt;
  buf.resize(len.value());
  if (!read_exact(buf.data() + DSPM_WIRE_HDR_SIZE, buf.size() - DSPM_WIRE_HDR_SIZE, deadline)) {
    return std::nullopt;
  }
  auto msg = decode(buf);
  if (!msg) return std::nullopt;
  return std::move(msg).value();
}

bool Client::closed_by_server(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::byte buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_.get(), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    ssize_t r = ::recv(fd_.get(), buf, sizeof(buf), 0);
    if (r == 0) return true;
    if (r < 0 && errno != EINTR) return errno == ECONNRESET;
  }
}

Hello make_hello(std::uint8_t seed, std::uint32_t claimed_id) {
  Hello h;
  h.uuid.fill(seed);
  h.claimed_id = claimed_id;
  h.capacity = 1ULL << 40;
  h.free = 1ULL << 40;
  h.incarnation = 0x1000 + seed;
  h.addr.addr = {127, 0, 0, 1};
  h.addr.port = static_cast<std::uint16_t>(7000 + seed);
  h.nonce = random_nonce();
  return h;
}

JoinResult join(Client& c, const Key& key, const Hello& hello) {
  JoinResult out;
  c.send(Message{0, 1, hello});
  auto ch = c.recv_a<Challenge>();
  if (!ch) return out;
  out.challenge_ok = mac_equal(ch->mac, challenge_mac(key, hello.nonce, ch->nonce));
  c.send(Message{0, 2, Auth{hello.uuid, auth_mac(key, ch->nonce, hello.nonce, hello.uuid)}});
  auto reply = c.recv();
  if (!reply) return out;
  if (const auto* a = std::get_if<JoinAccept>(&reply->body)) out.accept = *a;
  if (const auto* e = std::get_if<ErrorReply>(&reply->body)) out.error = *e;
  return out;
}

Key test_key(char fill) {
  return Key(32, static_cast<std::uint8_t>(fill));
}

}  // namespace dspm::dispatcher::test
