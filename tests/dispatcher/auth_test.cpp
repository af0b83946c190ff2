#include "auth.hpp"

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "tempdir.hpp"

using namespace dspm::dispatcher;
using dspm::dispatcher::test::TempDir;

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

int error_of(auto f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

void write_file(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
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

TEST(Auth, KeyFile) {
  TempDir dir;
  auto p = dir.path() / "key";
  write_file(p, "0123456789abcdef0123456789abcdef\n");
  EXPECT_EQ(read_key_file(p).size(), 32u);  // one trailing newline ignored
  write_file(p, "0123456789abcdef0123456789abcdef\n\n");
  EXPECT_EQ(read_key_file(p).size(), 33u);
  write_file(p, "short\n");
  EXPECT_EQ(error_of([&] { read_key_file(p); }), EINVAL);
  write_file(p, std::string(key_size_max + 1, 'x'));
  EXPECT_EQ(error_of([&] { read_key_file(p); }), EINVAL);
  EXPECT_EQ(error_of([&] { read_key_file(dir.path() / "missing"); }), ENOENT);
}
