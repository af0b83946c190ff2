// SPDX-License-Identifier: MIT
#include "dspm_common/name.hpp"

#include <algorithm>
#include <cstring>

#include "dspm_common/text.hpp"

namespace dspm::common {
namespace {

// ASCII only, as the kernel: its ctype would classify Latin-1 letters too.
constexpr bool name_char_ok(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::optional<std::string> name_error(std::string_view name) {
  if (name.empty()) return "name is empty";
  if (name.size() > name_length_max)
    return "name is " + std::to_string(name.size()) + " bytes long, at most " +
           std::to_string(name_length_max) + " are allowed";
  if (name.front() == '.') return "name starts with '.'";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (!name_char_ok(c))
      return describe_byte(c) + " at offset " + std::to_string(i) +
             " is not allowed; use A-Z a-z 0-9 . _ -";
  }
  return std::nullopt;
}

bool valid_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= name_length_max && name.front() != '.' &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return name_char_ok(static_cast<unsigned char>(c)); });
}

std::optional<std::string_view> name_in_field(std::span<const char, DSPM_NAME_MAX> field) noexcept {
  const void* nul = std::memchr(field.data(), '\0', field.size());
  if (nul == nullptr) return std::nullopt;  // the kernel's len == DSPM_NAME_MAX
  const auto length = static_cast<std::size_t>(static_cast<const char*>(nul) - field.data());
  const std::string_view name(field.data(), length);
  if (!valid_name(name)) return std::nullopt;
  if (!std::all_of(field.begin() + static_cast<std::ptrdiff_t>(length), field.end(),
                   [](char c) { return c == '\0'; }))
    return std::nullopt;
  return name;
}

}  // namespace dspm::common
