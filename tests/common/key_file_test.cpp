// SPDX-License-Identifier: MIT
// common::read_key_file: the checks are made on the descriptor the key is read from.
#include "dspm_common/key_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace common = dspm::common;

using dspm::test::expect_errno;

namespace {

class CommonKeyFile : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    return dir_.write(name, content, mode);
  }
  std::string path(const std::string& name) const { return dir_ / name; }

  static std::vector<std::uint8_t> bytes(const std::string& text) {
    return {text.begin(), text.end()};
  }

  const std::string key_ = std::string(32, 'k');
  dspm::test::TempDir dir_;
};

}  // namespace

TEST_F(CommonKeyFile, Mode0600IsReadWithoutComplaint) {
  const auto k = common::read_key_file(write("key", key_ + "\n"));
  EXPECT_EQ(k.key, bytes(key_));
  EXPECT_EQ(k.mode, 0600U);
  EXPECT_FALSE(k.group_or_other_access());
  for (mode_t mode : {0400, 0700}) {
    EXPECT_FALSE(common::read_key_file(write("owner", key_, mode)).group_or_other_access())
        << std::oct << mode;
  }
}

// Today's rule, the dispatcher's and dspm-admin's alike: any access for group or others
// (mode & 077) is reported for the caller to warn about; the key is still read.
TEST_F(CommonKeyFile, GroupOrOtherAccessIsReportedNotRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0606, 0610, 0601, 0666}) {
    const auto k = common::read_key_file(write("open", key_, mode));
    EXPECT_EQ(k.key, bytes(key_)) << std::oct << mode;
    EXPECT_EQ(k.mode, mode);
    EXPECT_TRUE(k.group_or_other_access()) << std::oct << mode;
  }
}

// A symbolic link is followed; the mode that counts is that of the file read, not the link's.
TEST_F(CommonKeyFile, SymlinksAreFollowedAndTheTargetChecked) {
  const std::string target = write("target", key_, 0600);
  const std::string link = path("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto k = common::read_key_file(link);
  EXPECT_EQ(k.key, bytes(key_));
  EXPECT_EQ(k.mode, 0600U);
  EXPECT_FALSE(k.group_or_other_access());

  ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
  EXPECT_TRUE(common::read_key_file(link).group_or_other_access());

  const std::string dangling = path("dangling");
  ASSERT_EQ(::symlink(path("absent").c_str(), dangling.c_str()), 0);
  expect_errno(ENOENT, "key file " + dangling + ": No such file or directory",
               [&] { common::read_key_file(dangling); });
  const std::string loop = path("loop");
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  expect_errno(ELOOP, "key file " + loop + ": ", [&] { common::read_key_file(loop); });
}

TEST_F(CommonKeyFile, EmptyFile) {
  const std::string empty = write("empty", "");
  expect_errno(EINVAL, "key file " + empty + ": the key is 0 bytes long, 16..1024 are needed",
               [&] { common::read_key_file(empty); });
  const std::string newline = write("newline", "\n");
  expect_errno(EINVAL, "key file " + newline + ": the key is 0 bytes long",
               [&] { common::read_key_file(newline); });
}

TEST_F(CommonKeyFile, LengthLimits) {
  const std::string min(common::key_size_min, 'a'), max(common::key_size_max, 'b');
  EXPECT_EQ(common::read_key_file(write("min", min)).key.size(), common::key_size_min);
  EXPECT_EQ(common::read_key_file(write("max", max)).key.size(), common::key_size_max);
  EXPECT_EQ(common::read_key_file(write("maxnl", max + "\n")).key.size(), common::key_size_max);
  const std::string shorter = write("short", min.substr(1));
  expect_errno(EINVAL, "key file " + shorter + ": the key is 15 bytes long, 16..1024 are needed",
               [&] { common::read_key_file(shorter); });
}

TEST_F(CommonKeyFile, TooLarge) {
  const std::string max(common::key_size_max, 'b');
  for (const std::string& content :
       {max + "b", max + "b\n", max + "\n\n", std::string(1 << 20, 'x')}) {
    const std::string p = write("long", content);
    expect_errno(EINVAL, "key file " + p + ": the key is longer than the 1024 bytes allowed",
                 [&] { common::read_key_file(p); });
  }
}

TEST_F(CommonKeyFile, OnlyOneTrailingNewlineIsStripped) {
  const std::string key = "0123456789abcdef0123";
  EXPECT_EQ(common::read_key_file(write("nl2", key + "\n\n")).key, bytes(key + "\n"));
  EXPECT_EQ(common::read_key_file(write("crlf", key + "\r\n")).key, bytes(key + "\r"));
  EXPECT_EQ(common::read_key_file(write("lead", "\n" + key)).key, bytes("\n" + key));
  std::string binary(64, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37);
  EXPECT_EQ(common::read_key_file(write("bin", binary)).key, bytes(binary));
}

TEST_F(CommonKeyFile, OnlyRegularFiles) {
  expect_errno(EISDIR, "key file " + dir_.path().string() + ": Is a directory",
               [&] { common::read_key_file(dir_.path().string()); });
  // A FIFO is refused at once: the open does not wait for a writer.
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_errno(EINVAL, "key file " + fifo + ": not a regular file",
               [&] { common::read_key_file(fifo); });
  expect_errno(EINVAL, "key file /dev/null: not a regular file",
               [] { common::read_key_file("/dev/null"); });
}

TEST_F(CommonKeyFile, OpenErrorsAndPrintablePaths) {
  const std::string missing = path("absent");
  expect_errno(ENOENT, "key file " + missing + ": No such file or directory",
               [&] { common::read_key_file(missing); });
  const std::string odd = path("a\nb");
  expect_errno(ENOENT, "key file " + dir_.path().string() + "/a\\x0ab: ", [&] {
    common::read_key_file(odd);
  });
  if (::geteuid() != 0) {  // root reads a mode 0000 file all the same
    const std::string locked = write("locked", key_, 0000);
    expect_errno(EACCES, "key file " + locked + ": Permission denied",
                 [&] { common::read_key_file(locked); });
  }
}
