// SPDX-License-Identifier: MIT
// Private to libdspm: the one way it makes ioctls and reports their errors.
#pragma once

#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include "dspm_common/error.hpp"

namespace dspm::detail {

using common::fail;

[[noreturn]] inline void fail_errno(const std::string& what) {
  fail(errno, what);
}

// ioctl, restarted when a signal interrupts it.
template <class T>
int do_ioctl(int fd, unsigned long request, T& arg) {
  int ret;
  do {
    ret = ::ioctl(fd, request, &arg);
  } while (ret < 0 && errno == EINTR);
  return ret;
}

}  // namespace dspm::detail
