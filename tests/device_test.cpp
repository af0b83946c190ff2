// SPDX-License-Identifier: MIT
// dspm::Device and dspm::Dataset without a dspm device: the error paths must be clear.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "dspm/dspm.hpp"

static_assert(!std::is_copy_constructible_v<dspm::Device>);
static_assert(!std::is_copy_assignable_v<dspm::Device>);
static_assert(std::is_nothrow_move_constructible_v<dspm::Device>);
static_assert(std::is_nothrow_move_assignable_v<dspm::Device>);
static_assert(!std::is_copy_constructible_v<dspm::Dataset>);
static_assert(std::is_nothrow_move_constructible_v<dspm::Dataset>);
static_assert(std::is_nothrow_move_assignable_v<dspm::Dataset>);

namespace {

template <class F>
std::system_error catch_system_error(F&& fn) {
  try {
    fn();
  } catch (const std::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "no std::system_error";
  return std::system_error(0, std::generic_category());
}

bool fd_is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST(Device, DefaultPathIsTheUapiOne) {
  EXPECT_EQ(dspm::default_device_path, "/dev/dspm");
}

TEST(Device, MissingDeviceGivesEnoentWithPath) {
  const auto e = catch_system_error([] { dspm::Device dev("/nonexistent/dspm"); });
  EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(e.code().category(), std::generic_category());
  EXPECT_STREQ(e.what(), "open /nonexistent/dspm: No such file or directory");
}

TEST(Device, IoctlOnANonDspmFileGivesEnotty) {
  dspm::Device dev("/dev/null");
  EXPECT_GE(dev.fd(), 0);
  EXPECT_EQ(dev.path(), "/dev/null");
  EXPECT_TRUE(fd_is_open(dev.fd()));
  const auto e = catch_system_error([&] { dev.info(); });
  EXPECT_EQ(e.code(), std::errc::inappropriate_io_control_operation);
  EXPECT_EQ(std::string(e.what()).rfind("get info: ", 0), 0U) << e.what();

  EXPECT_EQ(catch_system_error([&] { dev.list(); }).code().value(), ENOTTY);
  EXPECT_STREQ(catch_system_error([&] { dev.detach(); }).what(),
               "detach: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.create({.name = "foo", .length = 1}); }).what(),
               "create foo: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.remove("foo"); }).what(),
               "remove foo: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.open("foo", dspm::Access::read_only); }).what(),
               "open foo: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.attach("/dev/pmem0"); }).what(),
               "attach /dev/pmem0: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.attach_dram(64 << 20); }).what(),
               "attach DRAM: Inappropriate ioctl for device");
}

TEST(Device, ClusterIoctlsOnANonDspmFileGiveEnotty) {
  dspm::Device dev("/dev/null");
  const dspm::JoinOptions join{.dispatcher = "10.77.0.1:7470",
                               .key = std::vector<std::uint8_t>(DSPM_KEY_MIN, 'k')};
  auto e = catch_system_error([&] { dev.join(join); });
  EXPECT_EQ(e.code().value(), ENOTTY);
  EXPECT_STREQ(e.what(), "join 10.77.0.1:7470: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.leave(); }).what(),
               "leave: Inappropriate ioctl for device");
  EXPECT_STREQ(catch_system_error([&] { dev.nodes(); }).what(),
               "list nodes: Inappropriate ioctl for device");
}

TEST(Device, JoinIsValidatedBeforeTheIoctl) {
  dspm::Device dev("/dev/null");  // would answer ENOTTY to any ioctl
  auto e = catch_system_error([&] {
    dev.join({.dispatcher = "10.77.0.1", .key = std::vector<std::uint8_t>(DSPM_KEY_MIN)});
  });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  EXPECT_EQ(std::string(e.what()).rfind("join: dispatcher address '10.77.0.1': has no port", 0), 0U)
      << e.what();
  e = catch_system_error([&] { dev.join({.dispatcher = "10.77.0.1:7470"}); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  EXPECT_EQ(std::string(e.what()).rfind("join: the cluster key is 0 bytes long", 0), 0U)
      << e.what();
}

TEST(Device, ClientSideValidationComesBeforeTheIoctl) {
  dspm::Device dev("/dev/null");  // would answer ENOTTY to any ioctl
  auto e = catch_system_error([&] { dev.create({.name = ".bad", .length = 1}); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  EXPECT_EQ(std::string(e.what()).rfind("create .bad: invalid dataset name", 0), 0U);
  e = catch_system_error([&] { dev.open(std::string(64, 'x'), dspm::Access::read_write); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  e = catch_system_error([&] { dev.remove("a/b"); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  e = catch_system_error([&] { dev.attach_dram(1); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
  e = catch_system_error([&] { dev.create({.name = "x", .length = 0}); });
  EXPECT_EQ(e.code(), std::errc::invalid_argument);
}

TEST(Device, OpenOrCreatePassesOtherErrorsThrough) {
  dspm::Device dev("/dev/null");
  const auto e = catch_system_error([&] { dev.open_or_create({.name = "x", .length = 1}); });
  EXPECT_EQ(e.code().value(), ENOTTY);
  EXPECT_STREQ(e.what(), "open x: Inappropriate ioctl for device");
}

TEST(Device, MoveTransfersTheFd) {
  dspm::Device a("/dev/null");
  const int fd = a.fd();
  dspm::Device b(std::move(a));
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(a.fd(), -1);  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(catch_system_error([&] { a.info(); }).code().value(), EBADF);

  dspm::Device c("/dev/zero");
  const int old_fd = c.fd();
  c = std::move(b);
  EXPECT_EQ(c.fd(), fd);
  EXPECT_EQ(c.path(), "/dev/null");
  EXPECT_FALSE(fd_is_open(old_fd));  // the assigned-over device was closed
}

TEST(Device, DestructorClosesTheFd) {
  int fd;
  {
    dspm::Device dev("/dev/null");
    fd = dev.fd();
    EXPECT_TRUE(fd_is_open(fd));
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
  }
  EXPECT_FALSE(fd_is_open(fd));
}

TEST(Dataset, AdoptClosesTheFdWhenStatFails) {
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const auto e = catch_system_error([&] { dspm::Dataset::adopt(fd, dspm::Access::read_only); });
  EXPECT_EQ(e.code().value(), ENOTTY);
  EXPECT_EQ(std::string(e.what()).rfind("stat ", 0), 0U) << e.what();
  EXPECT_FALSE(fd_is_open(fd));
}

TEST(Dataset, AdoptRejectsANegativeFd) {
  const auto e = catch_system_error([] { dspm::Dataset::adopt(-1, dspm::Access::read_write); });
  EXPECT_EQ(e.code().value(), EBADF);
}

TEST(Library, VersionIsSet) {
  EXPECT_FALSE(dspm::library_version().empty());
  EXPECT_EQ(dspm::library_version().find(' '), std::string_view::npos);
}
