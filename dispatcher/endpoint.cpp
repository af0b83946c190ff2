#include "endpoint.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace dspm::dispatcher {

namespace {

// Per receive() call, so that one busy peer cannot starve the others in the loop.
constexpr std::size_t receive_budget = 256 * 1024;

}  // namespace

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_name(int code) {
  const char* name = strerrorname_np(code);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(code) + ")";
}

sockaddr_storage parse_address(const std::string& text, socklen_t& len, bool passive,
                               const std::string& what) {
  auto bad = [&](const std::string& why) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "bad " + what + " address " + text + " (" + why + ")");
  };
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      bad("want ADDR:PORT or [ADDR6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) bad("want ADDR:PORT or [ADDR6]:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || port.empty() || getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 ||
      res == nullptr) {
    bad("want a numeric ADDR:PORT");
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return ss;
}

std::string format_sockaddr(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa != nullptr && sa->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (sa != nullptr && sa->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

std::uint16_t sockaddr_port(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

TcpEndpoint::TcpEndpoint(Fd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

std::unique_ptr<TcpEndpoint> TcpEndpoint::connect(const sockaddr_storage& addr, socklen_t len,
                                                  std::chrono::milliseconds timeout) {
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
  auto fail = [&](int code, const char* what) {
    throw std::system_error(code, std::generic_category(),
                            std::string(what) + " " + format_sockaddr(sa));
  };
  Fd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail(errno, "socket for");
  if (::connect(fd.get(), sa, len) < 0) {
    if (errno != EINPROGRESS) fail(errno, "connect to");
    pollfd p{fd.get(), POLLOUT, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) fail(errno, "poll for connect to");
    if (rc == 0) fail(ETIMEDOUT, "connect to");
    int err = 0;
    socklen_t elen = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) fail(err, "connect to");
  }
  return std::make_unique<TcpEndpoint>(std::move(fd), format_sockaddr(sa));
}

int TcpEndpoint::receive(MessageFramer& in) {
  std::byte buf[64 * 1024];
  std::size_t total = 0;
  while (total < receive_budget) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return errno;
    }
    if (n == 0) return link_closed;
    in.append({buf, static_cast<std::size_t>(n)});
    total += static_cast<std::size_t>(n);
  }
  return 0;
}

int TcpEndpoint::transmit(OutQueue& out) {
  while (!out.empty()) {
    auto bytes = out.front();
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return errno;
    }
    out.consume(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace dspm::dispatcher
