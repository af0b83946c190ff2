// SPDX-License-Identifier: MIT
// One connection's byte transport under the protocol logic: a TCP socket or an RDMA queue
// pair (rdma.hpp).  The server and the test probe drive both through this interface from a
// poll/epoll loop; neither ever blocks.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dspm_common/address.hpp"
#include "dspm_common/fd.hpp"
#include "stream.hpp"

namespace dspm::dispatcher {

using common::UniqueFd;

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
  TcpEndpoint(UniqueFd fd, std::string peer);
  // Connects to @addr within @timeout.  Throws std::system_error.
  static std::unique_ptr<TcpEndpoint> connect(const common::SocketAddress& addr,
                                              std::chrono::milliseconds timeout);

  const char* transport() const override { return "tcp"; }
  const std::string& peer() const override { return peer_; }
  int fd() const override { return fd_.get(); }
  int receive(MessageFramer& in) override;
  int transmit(OutQueue& out) override;
  bool needs_pollout() const override { return true; }
  bool drained() const override { return true; }

 private:
  UniqueFd fd_;
  std::string peer_;
};

// "ENAME (text)" for an errno value.
std::string errno_name(int code);

}  // namespace dspm::dispatcher
