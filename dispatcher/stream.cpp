// SPDX-License-Identifier: MIT
#include "stream.hpp"

#include <algorithm>
#include <cstring>

namespace dspm::dispatcher {

namespace {

// Compact only once the consumed prefix is large, so that draining a queue piece by
// piece stays linear.
constexpr std::size_t compact_after = 64 * 1024;

void compact(std::vector<std::byte>& buf, std::size_t& off) {
  if (off == buf.size()) {
    buf.clear();
    off = 0;
  } else if (off >= compact_after && off * 2 >= buf.size()) {
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(off));
    off = 0;
  }
}

}  // namespace

void OutQueue::append(std::span<const std::byte> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

void OutQueue::consume(std::size_t n) {
  off_ += std::min(n, size());
  compact(buf_, off_);
}

void OutQueue::clear() {
  buf_.clear();
  off_ = 0;
}

void MessageFramer::append(std::span<const std::byte> bytes) {
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

std::optional<Result<Message>> MessageFramer::next() {
  std::span<const std::byte> rest(buf_.data() + off_, buf_.size() - off_);
  if (rest.size() < DSPM_WIRE_HDR_SIZE) return std::nullopt;
  auto len = peek_length(rest.first(DSPM_WIRE_HDR_SIZE));
  if (!len) return Result<Message>(len.error());
  if (rest.size() < len.value()) return std::nullopt;
  auto msg = decode(rest.first(len.value()));
  off_ += len.value();
  compact(buf_, off_);
  return msg;
}

void MessageFramer::clear() {
  buf_.clear();
  off_ = 0;
}

namespace rdma_stream {

std::size_t take_segment(OutQueue& out, std::span<std::byte> dst) {
  std::size_t n = std::min({out.size(), dst.size(), segment});
  if (n == 0) return 0;
  std::memcpy(dst.data(), out.front().data(), n);
  out.consume(n);
  return n;
}

SendSlots::SendSlots(std::size_t count) : busy_(count, false) {
  free_.reserve(count);
  // Hand out low slots first: easier to read in a debugger, no other reason.
  for (std::size_t i = count; i > 0; --i) free_.push_back(i - 1);
}

std::optional<std::size_t> SendSlots::acquire() {
  if (free_.empty()) return std::nullopt;
  std::size_t s = free_.back();
  free_.pop_back();
  busy_[s] = true;
  ++busy_count_;
  return s;
}

bool SendSlots::release(std::size_t slot) {
  if (slot >= busy_.size() || !busy_[slot]) return false;
  busy_[slot] = false;
  --busy_count_;
  free_.push_back(slot);
  return true;
}

}  // namespace rdma_stream

}  // namespace dspm::dispatcher
