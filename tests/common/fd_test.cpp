// SPDX-License-Identifier: MIT
// common::UniqueFd: ownership, moves, release and reset.
#include "dspm_common/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <utility>

#include <gtest/gtest.h>

using dspm::common::UniqueFd;

namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// A fresh descriptor (the read end of a pipe; the write end is closed at once).
int fresh_fd() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[1]);
  return p[0];
}

}  // namespace

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);
static_assert(sizeof(UniqueFd) == sizeof(int));

TEST(UniqueFd, DefaultAndNegativeHoldNone) {
  UniqueFd none;
  EXPECT_EQ(none.get(), -1);
  EXPECT_FALSE(none);
  UniqueFd failed(-1);
  EXPECT_FALSE(failed);
  UniqueFd odd(-7);  // any negative value is "none", e.g. a failed call's result
  EXPECT_EQ(odd.get(), -1);
}

TEST(UniqueFd, ClosesWhenDestroyed) {
  const int fd = fresh_fd();
  {
    UniqueFd owner(fd);
    EXPECT_TRUE(owner);
    EXPECT_EQ(owner.get(), fd);
    EXPECT_TRUE(is_open(fd));
  }
  EXPECT_FALSE(is_open(fd));
}

TEST(UniqueFd, MoveConstructionTransfers) {
  const int fd = fresh_fd();
  UniqueFd a(fd);
  UniqueFd b(std::move(a));
  EXPECT_EQ(a.get(), -1);  // NOLINT(bugprone-use-after-move): moved-from holds none
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), fd);
  a = UniqueFd();  // destroying or resetting the moved-from one closes nothing
  EXPECT_TRUE(is_open(fd));
}

TEST(UniqueFd, MoveAssignmentClosesTheOldDescriptor) {
  const int first = fresh_fd();
  const int second = fresh_fd();
  UniqueFd a(first);
  UniqueFd b(second);
  a = std::move(b);
  EXPECT_FALSE(is_open(first));
  EXPECT_TRUE(is_open(second));
  EXPECT_EQ(a.get(), second);
  EXPECT_EQ(b.get(), -1);  // NOLINT(bugprone-use-after-move)

  UniqueFd& alias = a;
  a = std::move(alias);  // self-move keeps the descriptor open
  EXPECT_EQ(a.get(), second);
  EXPECT_TRUE(is_open(second));
}

TEST(UniqueFd, ReleaseGivesUpWithoutClosing) {
  const int fd = fresh_fd();
  {
    UniqueFd owner(fd);
    EXPECT_EQ(owner.release(), fd);
    EXPECT_FALSE(owner);
  }
  EXPECT_TRUE(is_open(fd));
  ::close(fd);
}

TEST(UniqueFd, ResetClosesAndTakesTheNewOne) {
  const int first = fresh_fd();
  const int second = fresh_fd();
  UniqueFd owner(first);
  owner.reset(second);
  EXPECT_FALSE(is_open(first));
  EXPECT_EQ(owner.get(), second);
  owner.reset(second);  // the same descriptor again: kept, not closed
  EXPECT_TRUE(is_open(second));
  owner.reset();
  EXPECT_FALSE(owner);
  EXPECT_FALSE(is_open(second));
}
