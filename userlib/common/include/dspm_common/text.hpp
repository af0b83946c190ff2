// SPDX-License-Identifier: MIT
// dspm_common: text for error messages.
#pragma once

#include <string>
#include <string_view>

namespace dspm::common {

// @text with every byte outside printable ASCII, and '\', written as \xNN.
std::string printable(std::string_view text);

// One byte for a message: "'x'" when printable, "byte 0x0a" otherwise.
std::string describe_byte(unsigned char c);

}  // namespace dspm::common
