// SPDX-License-Identifier: MIT
// dspm_common: how the helpers (and their users) report errors.
#pragma once

#include <string>
#include <system_error>

namespace dspm::common {

// Throws std::system_error(@err, std::generic_category(), @what): e.what() reads
// "<what>: <strerror(err)>".
[[noreturn]] inline void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace dspm::common
