// SPDX-License-Identifier: MIT
// Range validation and normalisation for COMMIT/ABORT.
#include <cerrno>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "dspm/abi.hpp"

using dspm::Range;
using dspm::abi::normalize_ranges;

namespace {

constexpr std::uint64_t kLength = 1 << 20;
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs(const std::vector<dspm_range>& rs) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.offset, r.length);
  return out;
}

std::string einval(const std::vector<Range>& ranges, std::uint64_t length = kLength) {
  try {
    normalize_ranges(ranges, length, "commit ds");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return {};
}

using P = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

}  // namespace

TEST(Ranges, EmptyListStaysEmpty) {
  EXPECT_TRUE(normalize_ranges({}, kLength, "c").empty());
}

TEST(Ranges, SingleRangeUnchanged) {
  const std::vector<Range> in = {{4096, 100}};
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{4096, 100}}));
}

TEST(Ranges, WholeDatasetIsValid) {
  const std::vector<Range> in = {{0, kLength}};
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{0, kLength}}));
}

TEST(Ranges, LastByteIsValid) {
  const std::vector<Range> in = {{kLength - 1, 1}};
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{kLength - 1, 1}}));
}

TEST(Ranges, SortsDisjointRanges) {
  const std::vector<Range> in = {{8192, 10}, {0, 10}, {4096, 10}};
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{0, 10}, {4096, 10}, {8192, 10}}));
}

TEST(Ranges, MergesOverlappingAndAdjacent) {
  const std::vector<Range> in = {{0, 100}, {50, 100}, {150, 10}, {1000, 1}, {990, 5}};
  // [0,100) + [50,150) + [150,160) merge; [990,995) and [1000,1001) stay apart.
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{0, 160}, {990, 5}, {1000, 1}}));
}

TEST(Ranges, MergesContainedAndDuplicate) {
  const std::vector<Range> in = {{0, 4096}, {10, 20}, {0, 4096}, {4000, 10}};
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{0, 4096}}));
}

TEST(Ranges, RejectsZeroLength) {
  const std::string what = einval({{0, 10}, {4096, 0}});
  EXPECT_EQ(what.rfind("commit ds: range #1 (offset 4096, length 0) is empty", 0), 0U) << what;
}

TEST(Ranges, RejectsOffsetPlusLengthOverflow) {
  const std::string what = einval({{kMax, 1}});
  EXPECT_NE(what.find("range #0"), std::string::npos) << what;
  EXPECT_NE(what.find("overflows"), std::string::npos) << what;
  EXPECT_NE(einval({{2, kMax - 1}}).find("overflows"), std::string::npos);
  EXPECT_NE(einval({{1, kMax}}, kMax).find("overflows"), std::string::npos);
}

TEST(Ranges, RejectsBeyondTheEnd) {
  EXPECT_NE(einval({{kLength, 1}}).find("ends beyond the dataset's 1048576 bytes"),
            std::string::npos);
  EXPECT_NE(einval({{kLength - 10, 11}}).find("ends beyond"), std::string::npos);
  EXPECT_NE(einval({{0, kLength + 1}}).find("ends beyond"), std::string::npos);
  EXPECT_NE(einval({{0, 1}}, 0).find("ends beyond"), std::string::npos);
}

TEST(Ranges, RejectsTooManyDisjointRanges) {
  std::vector<Range> in;
  for (std::uint64_t i = 0; i <= DSPM_RANGES_MAX; ++i) in.push_back({i * 2, 1});
  const std::string what = einval(in);
  EXPECT_NE(what.find("1025 disjoint ranges, at most 1024"), std::string::npos) << what;
}

TEST(Ranges, ExactlyTheMaximumIsFine) {
  std::vector<Range> in;
  for (std::uint64_t i = 0; i < DSPM_RANGES_MAX; ++i) in.push_back({i * 2, 1});
  EXPECT_EQ(normalize_ranges(in, kLength, "c").size(), DSPM_RANGES_MAX);
}

TEST(Ranges, ManyAdjacentRangesMergeBelowTheLimit) {
  std::vector<Range> in;
  for (std::uint64_t i = 0; i < 5000; ++i) in.push_back({i * 8, 8});
  EXPECT_EQ(pairs(normalize_ranges(in, kLength, "c")), (P{{0, 40000}}));
}

TEST(Ranges, RangeHasTheAbiLayout) {
  static_assert(sizeof(Range) == sizeof(dspm_range));
  EXPECT_EQ(offsetof(Range, offset), offsetof(dspm_range, offset));
  EXPECT_EQ(offsetof(Range, length), offsetof(dspm_range, length));
}
