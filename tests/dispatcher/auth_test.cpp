// SPDX-License-Identifier: MIT
#include "auth.hpp"

#include <string>

#include <gtest/gtest.h>

using namespace dspm::dispatcher;

namespace {

std::string hex(const Mac& m) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : m) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

}  // namespace

// Known answers (computed independently with Python's hmac module) pin the MAC inputs that
// uapi/linux/dspm_wire.h defines, so the kernel's implementation can be checked against them.
TEST(Auth, KnownAnswers) {
  Key key(32, 'k');
  Nonce nn;
  nn.fill(1);
  Nonce nd;
  nd.fill(2);
  Uuid uuid;
  uuid.fill(3);
  EXPECT_EQ(hex(challenge_mac(key, nn, nd)),
            "729bba76b33b76a66f8ba8ca984e146f2403ed79205c4a6f7fb242c5a59df75b");
  EXPECT_EQ(hex(auth_mac(key, nd, nn, uuid)),
            "628d526529f960a3fbfbe04bf151d0d316e0dbc3c5e525558224dc19eb22fdd5");
}

TEST(Auth, MacEqual) {
  Mac a{};
  Mac b{};
  EXPECT_TRUE(mac_equal(a, b));
  b[31] = 1;
  EXPECT_FALSE(mac_equal(a, b));
}

TEST(Auth, NoncesDiffer) {
  EXPECT_NE(random_nonce(), random_nonce());
}
