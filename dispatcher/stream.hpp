// SPDX-License-Identifier: MIT
// Byte-stream plumbing shared by the transports: the output queue, the splitting of the
// incoming stream into wire messages, and the RDMA segmentation rules of uapi/linux/dspm_wire.h
// ("Transports").  No sockets or verbs here, so all of it is testable without a device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "wire.hpp"

namespace dspm::dispatcher {

// Bytes waiting to go out, taken from the front.
class OutQueue {
 public:
  void append(std::span<const std::byte> bytes);
  // Everything not yet consumed.
  std::span<const std::byte> front() const { return {buf_.data() + off_, buf_.size() - off_}; }
  void consume(std::size_t n);
  std::size_t size() const { return buf_.size() - off_; }
  bool empty() const { return size() == 0; }
  void clear();

 private:
  std::vector<std::byte> buf_;
  std::size_t off_ = 0;
};

// Cuts an incoming byte stream, delivered in pieces of any size, into whole messages.
class MessageFramer {
 public:
  void append(std::span<const std::byte> bytes);
  // The next whole message; nullopt while more bytes are needed.  An error (bad header,
  // length out of bounds, undecodable message) leaves the stream unusable: drop the link.
  std::optional<Result<Message>> next();
  // Bytes received but not yet returned as messages (a partial message).
  std::size_t buffered() const { return buf_.size() - off_; }
  void clear();

 private:
  std::vector<std::byte> buf_;
  std::size_t off_ = 0;
};

namespace rdma_stream {

inline constexpr std::size_t segment = DSPM_WIRE_RDMA_SEGMENT;
inline constexpr std::size_t recv_depth = DSPM_WIRE_RDMA_RECV_DEPTH;

// Moves the bytes of the next SEND (at most @dst.size(), itself at most segment) from the
// front of @out into @dst; returns their count (0 when @out is empty).
std::size_t take_segment(OutQueue& out, std::span<std::byte> dst);

// Whether a received SEND of @n bytes keeps the contract.  The receive buffers are exactly
// one segment, so a larger SEND already fails on the adapter (IBV_WC_LOC_LEN_ERR); this is
// the same rule for completions that report a length.  Zero-byte SENDs carry nothing and
// are tolerated.
inline bool receive_ok(std::size_t n) {
  return n <= segment;
}

// Free send buffers ("slots") of one connection, which bounds the SENDs in flight.
class SendSlots {
 public:
  explicit SendSlots(std::size_t count);
  // A free slot, or nullopt when every slot has a SEND in flight.
  std::optional<std::size_t> acquire();
  // The SEND in @slot completed.  Returns false (and changes nothing) for a slot that was
  // not in flight: a completion that cannot be ours.
  bool release(std::size_t slot);
  std::size_t in_flight() const { return busy_count_; }
  std::size_t count() const { return busy_.size(); }

 private:
  std::vector<bool> busy_;
  std::vector<std::size_t> free_;
  std::size_t busy_count_ = 0;
};

}  // namespace rdma_stream

}  // namespace dspm::dispatcher
