// SPDX-License-Identifier: MIT
// Dataset name rule: 1..63 of [A-Za-z0-9._-], not starting with '.'.
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "dspm/abi.hpp"

using namespace std::string_literals;

TEST(Name, AcceptsValidNames) {
  for (const char* name : {"a", "hello", "A-Z_a-z.0-9", "x.", "0", "-dash", "_under", "a..b"})
    EXPECT_TRUE(dspm::is_valid_name(name)) << name;
}

TEST(Name, RejectsEmpty) {
  EXPECT_FALSE(dspm::is_valid_name(""));
  EXPECT_EQ(dspm::name_error(""), "name is empty");
}

TEST(Name, LengthLimitIs63) {
  EXPECT_TRUE(dspm::is_valid_name(std::string(63, 'n')));
  EXPECT_FALSE(dspm::is_valid_name(std::string(64, 'n')));
  EXPECT_NE(dspm::name_error(std::string(64, 'n'))->find("64 bytes"), std::string::npos);
}

TEST(Name, RejectsLeadingDot) {
  EXPECT_FALSE(dspm::is_valid_name("."));
  EXPECT_FALSE(dspm::is_valid_name(".."));
  EXPECT_FALSE(dspm::is_valid_name(".hidden"));
  EXPECT_EQ(dspm::name_error(".x"), "name starts with '.'");
}

TEST(Name, RejectsBadCharacters) {
  for (const char* name :
       {"a b", "a/b", "a:b", "caf\xc3\xa9", "tab\t", "new\nline", "star*", "back\\slash", "+plus"})
    EXPECT_FALSE(dspm::is_valid_name(name)) << name;
  EXPECT_NE(dspm::name_error("a/b")->find("'/' at offset 1"), std::string::npos);
  EXPECT_NE(dspm::name_error("a\x7f")->find("byte 0x7f at offset 1"), std::string::npos);
}

TEST(Name, RejectsEmbeddedNul) {
  const std::string name = "foo\0bar"s;
  ASSERT_EQ(name.size(), 7U);
  EXPECT_FALSE(dspm::is_valid_name(name));
  EXPECT_NE(dspm::name_error(name)->find("byte 0x00 at offset 3"), std::string::npos);
  EXPECT_FALSE(dspm::is_valid_name("\0"s));
}

TEST(Name, CheckNameThrowsEinvalWithContext) {
  try {
    dspm::check_name("a b", "create a b");
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_EQ(e.code().category(), std::generic_category());
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("create a b: invalid dataset name (", 0), 0U) << what;
    EXPECT_NE(what.find("' ' at offset 1"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(dspm::check_name("ok", "create ok"));
}

TEST(Name, PrintableEscapesControlBytes) {
  EXPECT_EQ(dspm::printable("plain-name"), "plain-name");
  EXPECT_EQ(dspm::printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(dspm::printable("x\0y"s), "x\\x00y");
  EXPECT_EQ(dspm::printable("\\"), "\\x5c");
}

TEST(Name, CopyNameIsNulPadded) {
  char buf[DSPM_NAME_MAX];
  std::memset(buf, 'X', sizeof buf);
  dspm::abi::copy_name(buf, "abc", "test");
  EXPECT_EQ(std::string(buf, 3), "abc");
  for (std::size_t i = 3; i < sizeof buf; ++i) EXPECT_EQ(buf[i], '\0') << i;

  const std::string longest(63, 'z');
  dspm::abi::copy_name(buf, longest, "test");
  EXPECT_EQ(std::string(buf, 63), longest);
  EXPECT_EQ(buf[63], '\0');
}

TEST(Name, CopyNameRejectsInvalid) {
  char buf[DSPM_NAME_MAX] = {};
  EXPECT_THROW(dspm::abi::copy_name(buf, std::string(64, 'a'), "t"), std::system_error);
  EXPECT_THROW(dspm::abi::copy_name(buf, "", "t"), std::system_error);
  EXPECT_THROW(dspm::abi::copy_name(buf, "a\0b"s, "t"), std::system_error);
}

TEST(Name, NameFromStopsAtNulOrEnd) {
  char buf[DSPM_NAME_MAX] = {};
  std::memcpy(buf, "dataset", 7);
  EXPECT_EQ(dspm::abi::name_from(buf), "dataset");
  std::memset(buf, 'q', sizeof buf);  // unterminated: at most DSPM_NAME_MAX bytes
  EXPECT_EQ(dspm::abi::name_from(buf), std::string(DSPM_NAME_MAX, 'q'));
}
