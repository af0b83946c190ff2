// One connection's byte transport under the protocol logic: a TCP socket or an RDMA queue
// pair (rdma.hpp).  The server and the test probe drive both through this interface from a
// poll/epoll loop; neither ever blocks.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "stream.hpp"

namespace dspm::dispatcher {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Returned by Endpoint::receive()/transmit() when the peer closed the link in order (TCP
// end of stream, RDMA disconnect); other failures are a positive errno.
inline constexpr int link_closed = -1;

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual const char* transport() const = 0;  // "tcp", "rdma"
  // The peer's address, "10.0.0.2:4242" or "[::1]:4242".
  virtual const std::string& peer() const = 0;
  // Becomes readable when receive() has something to do (a socket, a completion channel).
  virtual int fd() const = 0;
  // Appends what arrived to @in (a bounded amount per call; call again while fd() is
  // readable) and, over RDMA, reaps finished SENDs.  0 while the link is up, else
  // link_closed or an errno; bytes that arrived before the end are appended first.
  virtual int receive(MessageFramer& in) = 0;
  // Hands bytes from the front of @out to the link, as many as it takes now.  0 or as above.
  virtual int transmit(OutQueue& out) = 0;
  // Whether transmit() waits for fd() to be writable (TCP) rather than for completions that
  // make fd() readable (RDMA).
  virtual bool needs_pollout() const = 0;
  // Whether everything transmitted has left this side (RDMA: no SEND in flight).
  virtual bool drained() const = 0;
};

class TcpEndpoint final : public Endpoint {
 public:
  // @fd: a connected non-blocking socket.
  TcpEndpoint(Fd fd, std::string peer);
  // Connects to @addr within @timeout.  Throws std::system_error.
  static std::unique_ptr<TcpEndpoint> connect(const sockaddr_storage& addr, socklen_t len,
                                              std::chrono::milliseconds timeout);

  const char* transport() const override { return "tcp"; }
  const std::string& peer() const override { return peer_; }
  int fd() const override { return fd_.get(); }
  int receive(MessageFramer& in) override;
  int transmit(OutQueue& out) override;
  bool needs_pollout() const override { return true; }
  bool drained() const override { return true; }

 private:
  Fd fd_;
  std::string peer_;
};

// "ENAME (text)" for an errno value.
std::string errno_name(int code);

// "ADDR:PORT" or "[ADDR6]:PORT", numeric only, into a socket address.  Throws
// std::system_error(EINVAL) naming @what.
sockaddr_storage parse_address(const std::string& text, socklen_t& len, bool passive,
                               const std::string& what);
std::string format_sockaddr(const sockaddr* sa);
std::uint16_t sockaddr_port(const sockaddr* sa);

}  // namespace dspm::dispatcher
