// SPDX-License-Identifier: MIT
#include "endpoint.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace dspm::dispatcher {

namespace {

// Per receive() call, so that one busy peer cannot starve the others in the loop.
constexpr std::size_t receive_budget = 256 * 1024;

}  // namespace

std::string errno_name(int code) {
  const char* name = strerrorname_np(code);
  return std::string(name != nullptr ? name : "E?") + " (" + std::strerror(code) + ")";
}

TcpEndpoint::TcpEndpoint(UniqueFd fd, std::string peer)
    : fd_(std::move(fd)), peer_(std::move(peer)) {
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

std::unique_ptr<TcpEndpoint> TcpEndpoint::connect(const common::SocketAddress& addr,
                                                  std::chrono::milliseconds timeout) {
  auto fail = [&](int code, const char* what) {
    throw std::system_error(code, std::generic_category(),
                            std::string(what) + " " + common::format_address(addr));
  };
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail(errno, "socket for");
  if (::connect(fd.get(), addr.get(), addr.length) < 0) {
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
  return std::make_unique<TcpEndpoint>(std::move(fd), common::format_address(addr));
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
