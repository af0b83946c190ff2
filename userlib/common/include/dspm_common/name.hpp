// SPDX-License-Identifier: MIT
// dspm_common: the dataset-name rule, the kernel's dspm_name_check() (driver/namespace.c).
#pragma once

#include <linux/dspm.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dspm::common {

// Longest dataset name, without the terminating NUL (63).
inline constexpr std::size_t name_length_max = DSPM_NAME_MAX - 1;

// Why @name is not a valid dataset name ("name is empty", "'/' at offset 1 is not allowed;
// ..."), or nullopt when it is one: 1..63 bytes of [A-Za-z0-9._-] (ASCII only), not starting
// with '.'.  A NUL byte anywhere is an invalid character.
std::optional<std::string> name_error(std::string_view name);

// name_error(@name) == nullopt, without building a message.
bool valid_name(std::string_view name) noexcept;

// The name in a fixed, NUL-padded name field of the ABI or the wire protocol, checked exactly
// as the kernel checks one: a valid name, followed by DSPM_NAME_MAX - length zero bytes (so at
// least one NUL, and nothing after it).  nullopt when the field does not hold one.
std::optional<std::string_view> name_in_field(std::span<const char, DSPM_NAME_MAX> field) noexcept;

}  // namespace dspm::common
