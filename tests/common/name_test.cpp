// SPDX-License-Identifier: MIT
// common::name_error / valid_name / name_in_field: the kernel's dspm_name_check()
// (driver/namespace.c), byte for byte.
#include "dspm_common/name.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

using namespace std::string_literals;
namespace common = dspm::common;

namespace {

// The kernel's character class, written out: ASCII letters, digits, '.', '_', '-'.
constexpr std::string_view allowed =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

using Field = std::array<char, DSPM_NAME_MAX>;

Field field_of(std::string_view bytes) {
  Field f{};
  std::memcpy(f.data(), bytes.data(), std::min(bytes.size(), f.size()));
  return f;
}

}  // namespace

TEST(CommonName, LengthLimitIs63) {
  static_assert(common::name_length_max == 63);
  EXPECT_TRUE(common::valid_name("a"));
  EXPECT_TRUE(common::valid_name(std::string(63, 'n')));
  EXPECT_FALSE(common::valid_name(std::string(64, 'n')));
  EXPECT_EQ(common::name_error(std::string(64, 'n')),
            "name is 64 bytes long, at most 63 are allowed");
  EXPECT_FALSE(common::valid_name(""));
  EXPECT_EQ(common::name_error(""), "name is empty");
}

TEST(CommonName, LeadingDotOnly) {
  EXPECT_FALSE(common::valid_name("."));
  EXPECT_FALSE(common::valid_name(".."));
  EXPECT_FALSE(common::valid_name(".hidden"));
  EXPECT_EQ(common::name_error(".x"), "name starts with '.'");
  for (const char* ok : {"x.", "a..b", "-dash", "_under", "0", "A-Z_a-z.0-9"})
    EXPECT_TRUE(common::valid_name(ok)) << ok;
}

TEST(CommonName, EveryByteClassifiedAsTheKernelDoes) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool kernel = allowed.find(c) != std::string_view::npos;
    const std::string name = "a"s + c;
    EXPECT_EQ(common::valid_name(name), kernel) << "byte " << b;
    EXPECT_EQ(!common::name_error(name).has_value(), kernel) << "byte " << b;
  }
  // Latin-1 and UTF-8 letters are not letters here (the kernel's ctype would say they are).
  EXPECT_FALSE(common::valid_name("caf\xc3\xa9"));
  EXPECT_FALSE(common::valid_name("\xe9t\xe9"));
  EXPECT_EQ(common::name_error("a/b"), "'/' at offset 1 is not allowed; use A-Z a-z 0-9 . _ -");
  EXPECT_EQ(common::name_error("ab\x7f"),
            "byte 0x7f at offset 2 is not allowed; use A-Z a-z 0-9 . _ -");
}

TEST(CommonName, NulIsNeverPartOfAName) {
  EXPECT_FALSE(common::valid_name("foo\0bar"s));
  EXPECT_FALSE(common::valid_name("\0"s));
  EXPECT_FALSE(common::valid_name("foo\0"s));
  EXPECT_EQ(common::name_error("foo\0bar"s),
            "byte 0x00 at offset 3 is not allowed; use A-Z a-z 0-9 . _ -");
}

TEST(CommonName, FieldMustBeNulPaddedAsTheKernelChecks) {
  EXPECT_EQ(common::name_in_field(field_of("dataset")), std::optional<std::string_view>("dataset"));
  const std::string longest(63, 'z');
  EXPECT_EQ(common::name_in_field(field_of(longest)), std::optional<std::string_view>(longest));

  EXPECT_EQ(common::name_in_field(Field{}), std::nullopt);                         // len == 0
  EXPECT_EQ(common::name_in_field(field_of(std::string(64, 'z'))), std::nullopt);  // no NUL
  EXPECT_EQ(common::name_in_field(field_of(".x")), std::nullopt);
  EXPECT_EQ(common::name_in_field(field_of("a b")), std::nullopt);
  Field tail = field_of("name");
  tail[DSPM_NAME_MAX - 1] = 'x';  // a byte after the NUL
  EXPECT_EQ(common::name_in_field(tail), std::nullopt);
  Field after = field_of("name");
  after[5] = 'x';  // "name\0x"
  EXPECT_EQ(common::name_in_field(after), std::nullopt);
}
