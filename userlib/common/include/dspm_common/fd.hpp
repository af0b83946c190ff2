// SPDX-License-Identifier: MIT
// dspm_common: an owned file descriptor.
#pragma once

#include <utility>

namespace dspm::common {

// Owns one file descriptor and closes it when destroyed.  Move-only; a moved-from UniqueFd
// holds none (get() == -1).
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  // Takes ownership of @fd; a negative value means none (e.g. a failed open()).
  explicit UniqueFd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it; this then holds none.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held, if any, and takes @fd instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace dspm::common
