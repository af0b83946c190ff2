// SPDX-License-Identifier: MIT
#include "rdma.hpp"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <arpa/inet.h>

namespace dspm::dispatcher::rdma {

namespace {

// wr_id of a SEND: this bit plus the slot; of a receive: the buffer index.  Error
// completions carry no valid opcode, so the wr_id alone tells them apart.
constexpr std::uint64_t send_bit = 1ULL << 63;

[[noreturn]] void fail(int code, const std::string& what) {
  throw std::system_error(code, std::generic_category(), "rdma: " + what);
}

void set_nonblocking(int fd, const char* what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail(errno, what);
}

rdma_conn_param conn_param() {
  rdma_conn_param p{};
  // No RDMA READ in either direction: the wire protocol is SEND/RECV only.
  p.responder_resources = 0;
  p.initiator_depth = 0;
  p.retry_count = 7;
  p.rnr_retry_count = 7;  // a lagging receiver only slows the sender down
  return p;
}

// An errno for a CM event that ends a connection or an attempt to make one.
int event_errno(const CmEvent& ev) {
  switch (ev.type) {
    case RDMA_CM_EVENT_ADDR_ERROR:
      return EADDRNOTAVAIL;
    case RDMA_CM_EVENT_ROUTE_ERROR:
      return ENETUNREACH;
    case RDMA_CM_EVENT_UNREACHABLE:
      return EHOSTUNREACH;
    case RDMA_CM_EVENT_REJECTED:
      return ECONNREFUSED;
    case RDMA_CM_EVENT_CONNECT_ERROR:
      return ECONNABORTED;
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
      return ENODEV;
    case RDMA_CM_EVENT_DISCONNECTED:
    case RDMA_CM_EVENT_TIMEWAIT_EXIT:
      return ECONNRESET;
    default:
      return EPROTO;
  }
}

}  // namespace

const char* event_name(rdma_cm_event_type type) {
  return rdma_event_str(type);
}

EventChannel make_event_channel() {
  EventChannel ch(rdma_create_event_channel());
  if (!ch) {
    int e = errno;
    fail(e,
         "rdma_create_event_channel (no rdma_cm here: no RDMA device configured, or the "
         "rdma_ucm module not loaded)");
  }
  set_nonblocking(ch->fd, "event channel O_NONBLOCK");
  return ch;
}

std::optional<CmEvent> next_event(rdma_event_channel* ch) {
  rdma_cm_event* raw = nullptr;
  if (rdma_get_cm_event(ch, &raw) != 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::nullopt;
    fail(errno, "rdma_get_cm_event");
  }
  CmEvent ev{raw->event, raw->status, raw->id, raw->listen_id};
  rdma_ack_cm_event(raw);
  return ev;
}

Listener::Listener(const sockaddr* addr, int backlog) : ch_(make_event_channel()) {
  rdma_cm_id* id = nullptr;
  if (rdma_create_id(ch_.get(), &id, nullptr, RDMA_PS_TCP) != 0) fail(errno, "rdma_create_id");
  id_.reset(id);
  if (rdma_bind_addr(id, const_cast<sockaddr*>(addr)) != 0) {
    fail(errno, "rdma_bind_addr " + common::format_address(addr));
  }
  if (rdma_listen(id, backlog) != 0) fail(errno, "rdma_listen " + common::format_address(addr));
  port_ = ntohs(rdma_get_src_port(id));
  address_ = common::format_address(rdma_get_local_addr(id));
}

std::unique_ptr<Connection> Connection::accept(CmId id) {
  std::unique_ptr<Connection> c(new Connection());
  c->id_ = std::move(id);
  c->peer_ = common::format_address(rdma_get_peer_addr(c->id_.get()));
  try {
    c->setup();
  } catch (...) {
    rdma_reject(c->id_.get(), nullptr, 0);
    throw;
  }
  auto param = conn_param();
  if (rdma_accept(c->id_.get(), &param) != 0) {
    int e = errno;
    rdma_reject(c->id_.get(), nullptr, 0);
    fail(e, "rdma_accept from " + c->peer_);
  }
  c->connected_ = true;
  return c;
}

std::unique_ptr<Connection> Connection::connect(const sockaddr* addr,
                                                std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + timeout;
  std::string to = common::format_address(addr);
  std::unique_ptr<Connection> c(new Connection());
  c->own_ch_ = make_event_channel();
  rdma_cm_id* id = nullptr;
  if (rdma_create_id(c->own_ch_.get(), &id, nullptr, RDMA_PS_TCP) != 0) {
    fail(errno, "rdma_create_id");
  }
  c->id_.reset(id);
  c->peer_ = to;

  // The next event of the own channel, which must be @want.
  auto expect = [&](rdma_cm_event_type want) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0)
        fail(ETIMEDOUT, std::string("connect to ") + to + ": no " + event_name(want) + " in time");
      pollfd p{c->own_ch_->fd, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno != EINTR) fail(errno, "poll");
      if (rc <= 0) continue;
      auto ev = next_event(c->own_ch_.get());
      if (!ev) continue;
      if (ev->type == want && ev->status == 0) return;
      int code = ev->type == RDMA_CM_EVENT_REJECTED ? ECONNREFUSED : event_errno(*ev);
      fail(code, std::string("connect to ") + to + ": " + event_name(ev->type) + " (status " +
                     std::to_string(ev->status) + ")");
    }
  };
  int ms = static_cast<int>(std::max<std::int64_t>(timeout.count(), 1));
  if (rdma_resolve_addr(id, nullptr, const_cast<sockaddr*>(addr), ms) != 0) {
    fail(errno, "rdma_resolve_addr " + to);
  }
  expect(RDMA_CM_EVENT_ADDR_RESOLVED);
  if (rdma_resolve_route(id, ms) != 0) fail(errno, "rdma_resolve_route " + to);
  expect(RDMA_CM_EVENT_ROUTE_RESOLVED);
  c->setup();
  auto param = conn_param();
  if (rdma_connect(id, &param) != 0) fail(errno, "rdma_connect " + to);
  expect(RDMA_CM_EVENT_ESTABLISHED);
  c->connected_ = true;
  return c;
}

void Connection::setup() {
  ibv_context* verbs = id_->verbs;
  if (verbs == nullptr) fail(ENODEV, "no device bound to the connection from/to " + peer_);
  pd_.reset(ibv_alloc_pd(verbs));
  if (!pd_) fail(errno != 0 ? errno : ENOMEM, "ibv_alloc_pd");
  comp_.reset(ibv_create_comp_channel(verbs));
  if (!comp_) fail(errno != 0 ? errno : ENOMEM, "ibv_create_comp_channel");
  set_nonblocking(comp_->fd, "completion channel O_NONBLOCK");
  int depth = static_cast<int>(rdma_stream::recv_depth + send_slots);
  cq_.reset(ibv_create_cq(verbs, depth, nullptr, comp_.get(), 0));
  if (!cq_) fail(errno != 0 ? errno : ENOMEM, "ibv_create_cq");
  // Armed before anything is posted, so that no completion goes unannounced.
  if (int rc = ibv_req_notify_cq(cq_.get(), 0); rc != 0) fail(rc, "ibv_req_notify_cq");

  buf_.resize((rdma_stream::recv_depth + send_slots) * rdma_stream::segment);
  // Local write only (the adapter fills receive buffers); no remote access of any kind.
  mr_.reset(ibv_reg_mr(pd_.get(), buf_.data(), buf_.size(), IBV_ACCESS_LOCAL_WRITE));
  if (!mr_) fail(errno != 0 ? errno : ENOMEM, "ibv_reg_mr");

  ibv_qp_init_attr attr{};
  attr.send_cq = cq_.get();
  attr.recv_cq = cq_.get();
  attr.qp_type = IBV_QPT_RC;
  attr.sq_sig_all = 1;
  attr.cap.max_send_wr = send_slots;
  attr.cap.max_recv_wr = rdma_stream::recv_depth;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  if (rdma_create_qp(id_.get(), pd_.get(), &attr) != 0) fail(errno, "rdma_create_qp");
  qp_ = true;
  for (std::size_t i = 0; i < rdma_stream::recv_depth; ++i) {
    if (int rc = post_recv(i); rc != 0) fail(rc, "ibv_post_recv");
  }
}

Connection::~Connection() {
  if (connected_) rdma_disconnect(id_.get());
  if (qp_) rdma_destroy_qp(id_.get());
  // Members go in reverse order: MR, buffers, CQ, completion channel, PD, id, channel.
}

int Connection::post_recv(std::size_t index) {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<std::uintptr_t>(recv_buf(index));
  sge.length = rdma_stream::segment;
  sge.lkey = mr_->lkey;
  ibv_recv_wr wr{};
  wr.wr_id = index;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  return ibv_post_recv(id_->qp, &wr, &bad);
}

int Connection::post_send(std::size_t slot, std::size_t length) {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<std::uintptr_t>(send_buf(slot));
  sge.length = static_cast<std::uint32_t>(length);
  sge.lkey = mr_->lkey;
  ibv_send_wr wr{};
  wr.wr_id = send_bit | slot;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  ibv_send_wr* bad = nullptr;
  return ibv_post_send(id_->qp, &wr, &bad);
}

int Connection::receive(MessageFramer& in) {
  // Take the channel's events and re-arm before polling: a completion that arrives after
  // the last poll then raises a new event instead of waiting unseen in the CQ.
  ibv_cq* ev_cq = nullptr;
  void* ev_ctx = nullptr;
  while (ibv_get_cq_event(comp_.get(), &ev_cq, &ev_ctx) == 0) ibv_ack_cq_events(ev_cq, 1);
  if (error_ == 0) {
    if (int rc = ibv_req_notify_cq(cq_.get(), 0); rc != 0) error_ = rc;
  }
  ibv_wc wc[16];
  for (;;) {
    int n = ibv_poll_cq(cq_.get(), 16, wc);
    if (n < 0) {
      if (error_ == 0) error_ = EIO;
      break;
    }
    if (n == 0) break;
    for (int i = 0; i < n; ++i) {
      const ibv_wc& w = wc[i];
      bool is_send = (w.wr_id & send_bit) != 0;
      if (is_send) slots_.release(static_cast<std::size_t>(w.wr_id & ~send_bit));
      if (w.status != IBV_WC_SUCCESS) {
        // Flushes follow a disconnect; a receive longer than our buffer is the peer
        // breaking the segment rule.
        int code = w.status == IBV_WC_WR_FLUSH_ERR  ? link_closed
                   : w.status == IBV_WC_LOC_LEN_ERR ? EMSGSIZE
                                                    : EIO;
        if (error_ == 0 || (error_ == link_closed && code != link_closed)) error_ = code;
        continue;
      }
      if (is_send || error_ != 0) continue;
      auto index = static_cast<std::size_t>(w.wr_id);
      if (index >= rdma_stream::recv_depth || !rdma_stream::receive_ok(w.byte_len)) {
        error_ = EMSGSIZE;
        continue;
      }
      in.append({recv_buf(index), w.byte_len});
      if (int rc = post_recv(index); rc != 0) error_ = rc;
    }
  }
  return error_;
}

int Connection::transmit(OutQueue& out) {
  if (error_ != 0) return error_;
  while (!out.empty()) {
    auto slot = slots_.acquire();
    if (!slot) return 0;  // the completions of SENDs in flight call us again
    std::size_t n = rdma_stream::take_segment(out, {send_buf(*slot), rdma_stream::segment});
    if (int rc = post_send(*slot, n); rc != 0) {
      slots_.release(*slot);
      error_ = rc;
      return rc;
    }
  }
  return 0;
}

int Connection::handle_cm_events() {
  if (!own_ch_) return error_;
  while (auto ev = next_event(own_ch_.get())) {
    switch (ev->type) {
      case RDMA_CM_EVENT_DISCONNECTED:
      case RDMA_CM_EVENT_TIMEWAIT_EXIT:
        connected_ = false;
        if (error_ == 0) error_ = link_closed;
        break;
      case RDMA_CM_EVENT_ADDR_CHANGE:
      case RDMA_CM_EVENT_ESTABLISHED:
        break;
      default:
        connected_ = false;
        if (error_ == 0 || error_ == link_closed) error_ = event_errno(*ev);
        break;
    }
  }
  return error_;
}

}  // namespace dspm::dispatcher::rdma
