// SPDX-License-Identifier: MIT
// The wire byte stream over RDMA (uapi/linux/dspm_wire.h, "Transports"): rdma_cm in port
// space RDMA_PS_TCP, one RC queue pair per connection, SENDs of at most one segment with
// no header of their own, DSPM_WIRE_RDMA_RECV_DEPTH receive buffers posted and reposted as
// their bytes are consumed, rnr_retry_count 7, no private data.  Only local-access memory
// is registered: nothing is reachable by a peer's RDMA READ or WRITE.
//
// Everything is non-blocking: the event channel and completion channel fds go into the
// caller's poll/epoll loop.  Passive connections get their CM events from the Listener's
// channel, active ones from a channel of their own.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "endpoint.hpp"
#include "stream.hpp"

namespace dspm::dispatcher::rdma {

template <typename T, auto Destroy>
struct Deleter {
  void operator()(T* p) const noexcept { static_cast<void>(Destroy(p)); }
};
template <typename T, auto Destroy>
using Owned = std::unique_ptr<T, Deleter<T, Destroy>>;

using EventChannel = Owned<rdma_event_channel, rdma_destroy_event_channel>;
using CmId = Owned<rdma_cm_id, rdma_destroy_id>;
using Pd = Owned<ibv_pd, ibv_dealloc_pd>;
using CompChannel = Owned<ibv_comp_channel, ibv_destroy_comp_channel>;
using Cq = Owned<ibv_cq, ibv_destroy_cq>;
using Mr = Owned<ibv_mr, ibv_dereg_mr>;

// SENDs one connection keeps in flight at most; the rest waits in its OutQueue.
inline constexpr std::size_t send_slots = 16;

// A non-blocking event channel.  Throws std::system_error (ENODEV etc. where the machine
// has no rdma_cm: no RDMA device, or the rdma_ucm module missing).
EventChannel make_event_channel();

// A CM event, copied and acknowledged at once: rdma_destroy_id() waits for the events of
// its id to be acknowledged, so none may stay pending across a handler.
struct CmEvent {
  rdma_cm_event_type type{};
  int status = 0;
  rdma_cm_id* id = nullptr;         // for CONNECT_REQUEST: the new connection's id
  rdma_cm_id* listen_id = nullptr;  // for CONNECT_REQUEST
};

// The next event of the (non-blocking) channel, nullopt when none is pending.  Throws
// std::system_error if reading the channel fails otherwise.
std::optional<CmEvent> next_event(rdma_event_channel* ch);

// A listening id on its own event channel.
class Listener {
 public:
  // Binds to @addr (port 0: any) and listens.  Throws std::system_error.
  Listener(const sockaddr* addr, int backlog);
  int fd() const { return ch_->fd; }
  rdma_event_channel* channel() const { return ch_.get(); }
  rdma_cm_id* id() const { return id_.get(); }
  // The bound address, "10.77.0.1:7400".
  const std::string& address() const { return address_; }
  std::uint16_t port() const { return port_; }

 private:
  EventChannel ch_;
  CmId id_;
  std::string address_;
  std::uint16_t port_ = 0;
};

// One connection: its queue pair with its own protection domain, completion queue and
// completion channel, and one memory region with the receive and send buffers.
class Connection final : public Endpoint {
 public:
  // Passive side: @id came with a CONNECT_REQUEST.  Creates the resources, posts the
  // receives and accepts; on failure rejects the request.  Throws std::system_error.
  static std::unique_ptr<Connection> accept(CmId id);
  // Active side: resolves @addr, connects and waits for ESTABLISHED up to @timeout.
  // Throws std::system_error (ETIMEDOUT, ECONNREFUSED for a rejection, ...).
  static std::unique_ptr<Connection> connect(const sockaddr* addr,
                                             std::chrono::milliseconds timeout);
  // Disconnects, then frees queue pair, memory region, CQ, channel, PD and id in that order.
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const char* transport() const override { return "rdma"; }
  const std::string& peer() const override { return peer_; }
  int fd() const override { return comp_->fd; }  // the completion channel
  int receive(MessageFramer& in) override;
  int transmit(OutQueue& out) override;
  bool needs_pollout() const override { return false; }
  bool drained() const override { return slots_.in_flight() == 0; }

  rdma_cm_id* id() const { return id_.get(); }
  // Active side: the fd of the connection's own event channel, and its events: 0 while
  // connected, link_closed after DISCONNECTED, an errno after an error event.
  int cm_fd() const { return own_ch_ ? own_ch_->fd : -1; }
  int handle_cm_events();

 private:
  Connection() = default;
  void setup();  // PD, channel, CQ, buffers, QP; posts the receives
  int post_recv(std::size_t index);
  int post_send(std::size_t slot, std::size_t length);
  std::byte* recv_buf(std::size_t index) { return buf_.data() + index * rdma_stream::segment; }
  std::byte* send_buf(std::size_t slot) {
    return buf_.data() + (rdma_stream::recv_depth + slot) * rdma_stream::segment;
  }

  // Declaration order is the reverse of the order of destruction the verbs require.
  EventChannel own_ch_;
  CmId id_;
  Pd pd_;
  CompChannel comp_;
  Cq cq_;
  std::vector<std::byte> buf_;
  Mr mr_;
  bool qp_ = false;         // rdma_create_qp() succeeded: rdma_destroy_qp() first
  bool connected_ = false;  // rdma_disconnect() on destruction
  rdma_stream::SendSlots slots_{send_slots};
  std::string peer_;
  int error_ = 0;
};

const char* event_name(rdma_cm_event_type type);

}  // namespace dspm::dispatcher::rdma
