// SPDX-License-Identifier: MIT
// dspm::transact(): the retry loop of validated transactions, on a fake dataset.
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "dspm/dspm.hpp"
#include "test_util.hpp"

namespace {

using dspm::test::expect_errno;

// Records the calls; its commit_validated() fails with the errno values queued in @fails first.
struct FakeTx {
  std::vector<int> fails;
  std::string log;
  std::uint64_t version = 7;

  void begin() { log += 'B'; }
  std::uint64_t abort() {
    log += 'A';
    return 0;
  }
  dspm::CommitResult commit_validated() {
    log += 'C';
    if (!fails.empty()) {
      const int err = fails.front();
      fails.erase(fails.begin());
      throw std::system_error(err, std::generic_category(), "commit fake");
    }
    return {1, ++version};
  }
};

static_assert(dspm::Transactional<FakeTx>);
static_assert(dspm::Transactional<dspm::Dataset>);

}  // namespace

TEST(Transact, CommitsFirstTime) {
  FakeTx tx;
  int runs = 0;
  const auto r = dspm::transact(tx, [&] { ++runs; });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(tx.log, "BC");
  EXPECT_EQ(r.retries, 0U);
  EXPECT_EQ(r.commit.pages, 1U);
  EXPECT_EQ(r.commit.version, 8U);
}

TEST(Transact, RetriesAfterConflict) {
  FakeTx tx;
  tx.fails = {EAGAIN, EAGAIN};
  int runs = 0;
  const auto r = dspm::transact(tx, [&] { ++runs; });
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(tx.log, "BCABCABC");
  EXPECT_EQ(r.retries, 2U);
}

TEST(Transact, GivesUpAfterMaxAttempts) {
  FakeTx tx;
  tx.fails = {EAGAIN, EAGAIN, EAGAIN};
  expect_errno(EAGAIN, "commit fake", [&] {
    dspm::transact(
        tx, [] {}, 2);
  });
  EXPECT_EQ(tx.log, "BCABCA");  // aborted each time, the last one too
}

TEST(Transact, OtherCommitErrorsPropagateAfterAbort) {
  FakeTx tx;
  tx.fails = {EIO};
  expect_errno(EIO, "commit fake", [&] { dspm::transact(tx, [] {}); });
  EXPECT_EQ(tx.log, "BCA");
}

TEST(Transact, BodyExceptionAbortsAndPropagates) {
  FakeTx tx;
  EXPECT_THROW(dspm::transact(tx, [] { throw std::runtime_error("body"); }), std::runtime_error);
  EXPECT_EQ(tx.log, "BA");
  // even a system_error with EAGAIN from the body is not mistaken for a conflict
  tx.log.clear();
  expect_errno(EAGAIN, "body", [&] {
    dspm::transact(tx, [] { throw std::system_error(EAGAIN, std::generic_category(), "body"); });
  });
  EXPECT_EQ(tx.log, "BA");
}

TEST(Transact, ZeroAttemptsIsInvalid) {
  FakeTx tx;
  expect_errno(EINVAL, "transact: max_attempts is 0", [&] {
    dspm::transact(
        tx, [] {}, 0);
  });
  EXPECT_EQ(tx.log, "");
}
