// SPDX-License-Identifier: MIT
#include "dspm_common/fd.hpp"

#include <unistd.h>

namespace dspm::common {

void UniqueFd::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd < 0 ? -1 : fd);
  // Not retried on EINTR: on Linux the descriptor is gone whatever close() returns.
  if (old >= 0 && old != fd_) ::close(old);
}

}  // namespace dspm::common
