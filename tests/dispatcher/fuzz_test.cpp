// SPDX-License-Identifier: MIT
// Random and mutated buffers: decode() must reject them or decode them without crashing,
// and whatever it accepts must be canonical (re-encoding gives back the same bytes).
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "samples.hpp"
#include "wire.hpp"

using namespace dspm::dispatcher;
using dspm::dispatcher::test::sample_messages;

namespace {

void check(const std::vector<std::byte>& b, std::size_t& accepted) {
  auto r = decode(b);
  if (!r) {
    ASSERT_NE(r.error().code, 0);
    ASSERT_FALSE(r.error().message.empty());
    return;
  }
  ++accepted;
  ASSERT_EQ(encode(r.value()), b);
}

}  // namespace

TEST(WireFuzz, RandomBuffers) {
  std::mt19937_64 rng(0xd5b3'2026);
  std::size_t accepted = 0;
  const auto samples = sample_messages();
  for (int i = 0; i < 100000; ++i) {
    std::size_t len = rng() % 4 == 0 ? rng() % (DSPM_WIRE_MAX_MESSAGE + 64) : rng() % 512;
    std::vector<std::byte> b(len);
    for (auto& x : b) x = static_cast<std::byte>(rng());
    // Half of them get a plausible header so that the body checks are reached too.
    if (i % 2 == 0 && len >= DSPM_WIRE_HDR_SIZE) {
      dspm_wire_hdr h{};
      std::memcpy(&h, b.data(), sizeof(h));
      h.magic = DSPM_WIRE_MAGIC;
      h.version = DSPM_WIRE_VERSION;
      h.type = static_cast<std::uint16_t>(1 + rng() % DSPM_WIRE_TYPE_MAX);
      h.length = static_cast<std::uint32_t>(len);
      if (rng() % 2 == 0) h.reserved = 0;
      if (rng() % 2 == 0) h.status = 0;
      std::memcpy(b.data(), &h, sizeof(h));
    }
    check(b, accepted);
    if (HasFatalFailure()) return;
  }
  RecordProperty("accepted", static_cast<int>(accepted));
}

TEST(WireFuzz, MutatedValidMessages) {
  std::mt19937_64 rng(42);
  std::size_t accepted = 0;
  std::size_t total = 0;
  for (const auto& m : sample_messages()) {
    const auto good = encode(m);
    for (int i = 0; i < 8000; ++i) {
      auto b = good;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        auto& x = b[rng() % b.size()];
        switch (rng() % 3) {
          case 0:
            x ^= static_cast<std::byte>(1U << (rng() % 8));
            break;
          case 1:
            x = static_cast<std::byte>(rng());
            break;
          default:
            x = std::byte{0};
            break;
        }
      }
      if (rng() % 16 == 0) b.resize(rng() % (b.size() + 64));
      check(b, accepted);
      if (HasFatalFailure()) return;
      ++total;
    }
  }
  EXPECT_GT(total, 100000U);
  EXPECT_GT(accepted, 0U);  // some mutations (payload bytes) stay valid
}
