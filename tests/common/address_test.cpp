// SPDX-License-Identifier: MIT
// common::parse_address / format_address: the one ADDR:PORT input set of every dspm program.
#include "dspm_common/address.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "dspm_common/fd.hpp"
#include "test_util.hpp"

using namespace std::string_literals;
namespace common = dspm::common;
using common::AddressRules;
using common::parse_address;

namespace {

// @fn throws std::system_error(EINVAL) whose message starts with @prefix.
template <class F>
void expect_einval(const std::string& prefix, F&& fn) {
  dspm::test::expect_errno(EINVAL, prefix, std::forward<F>(fn));
}

std::vector<std::uint8_t> bytes_of(const common::SocketAddress& a) {
  return {a.bytes().begin(), a.bytes().end()};
}

}  // namespace

TEST(CommonAddress, Ipv4) {
  const auto a = parse_address("10.77.0.1:7470");
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.length, sizeof(sockaddr_in));
  EXPECT_EQ(a.port(), 7470);
  EXPECT_EQ(bytes_of(a), (std::vector<std::uint8_t>{10, 77, 0, 1}));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.get());
  EXPECT_EQ(ntohs(sin->sin_port), 7470);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0x0a4d0001U);
  EXPECT_FALSE(a.unspecified());
  EXPECT_EQ(parse_address("1.2.3.4:0080").port(), 80);  // leading zeros are decimal
}

TEST(CommonAddress, Ipv6InBrackets) {
  const auto a = parse_address("[::1]:7470");
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.length, sizeof(sockaddr_in6));
  EXPECT_EQ(a.port(), 7470);
  std::vector<std::uint8_t> loopback(16, 0);
  loopback[15] = 1;
  EXPECT_EQ(bytes_of(a), loopback);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_scope_id, 0U);

  const auto mapped = parse_address("[::ffff:10.0.0.1]:9");  // IPv4-mapped stays IPv6
  EXPECT_EQ(mapped.family(), AF_INET6);
  EXPECT_EQ(mapped.bytes()[10], 0xff);
  EXPECT_EQ(mapped.bytes()[12], 10);
  EXPECT_EQ(parse_address("[FD00:0:0:0:0:0:0:1]:1").bytes()[0], 0xfd);
}

TEST(CommonAddress, Ports) {
  EXPECT_EQ(parse_address("1.2.3.4:1").port(), 1);
  EXPECT_EQ(parse_address("1.2.3.4:65535").port(), 65535);
  EXPECT_EQ(parse_address("[::1]:65535").port(), 65535);
  expect_einval("address '1.2.3.4:0': port 0 is outside 1..65535",
                [] { parse_address("1.2.3.4:0"); });
  expect_einval("address '1.2.3.4:65536': port 65536 is outside 1..65535",
                [] { parse_address("1.2.3.4:65536"); });
  expect_einval("address '[::1]:99999999999999999999': port 99999999999999999999 is outside",
                [] { parse_address("[::1]:99999999999999999999"); });

  // A listener may ask for port 0 (any free port); 65536 is still out.
  const AddressRules listen{.port_zero = true};
  EXPECT_EQ(parse_address("0.0.0.0:0", "listen address", listen).port(), 0);
  EXPECT_EQ(parse_address("[::]:0", "listen address", listen).port(), 0);
  expect_einval("listen address '0.0.0.0:65536': port 65536 is outside 0..65535",
                [&] { parse_address("0.0.0.0:65536", "listen address", listen); });

  for (const char* bad : {"1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:80a", "1.2.3.4: 80", "1.2.3.4:0x50",
                          "[::1]:8 0", "1.2.3.4:80 ", "1.2.3.4:http"})
    expect_einval("address '"s + bad + "': port '", [&] { parse_address(bad); });
  expect_einval("address '1.2.3.4:http': port 'http' is not a decimal number",
                [] { parse_address("1.2.3.4:http"); });
}

TEST(CommonAddress, MissingPortTakesTheCallersDefault) {
  for (const char* bad : {"1.2.3.4", "[::1]"})
    expect_einval("address '"s + bad + "': has no port", [&] { parse_address(bad); });

  const AddressRules with_default{.default_port = 7470};
  auto a = parse_address("10.0.0.1", "address", with_default);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.port(), 7470);
  a = parse_address("[fd00::1]", "address", with_default);
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.port(), 7470);
  EXPECT_EQ(parse_address("10.0.0.1:9", "address", with_default).port(), 9);  // given: used

  // A colon with nothing after it is a mistake, not "no port"; IPv6 still needs brackets.
  for (const char* bad : {"10.0.0.1:", "[::1]:"})
    expect_einval("address '"s + bad + "': has no port",
                  [&] { parse_address(bad, "address", with_default); });
  expect_einval("address '::1': an IPv6 address needs brackets",
                [&] { parse_address("::1", "address", with_default); });
  // A default of 0 is refused like a typed 0 unless port 0 is allowed.
  expect_einval("address '10.0.0.1': port 0 is outside 1..65535",
                [] { parse_address("10.0.0.1", "address", {.default_port = 0}); });
}

TEST(CommonAddress, HostNamesAreNotResolved) {
  expect_einval("address 'localhost:80': 'localhost' is not a numeric IPv4 address",
                [] { parse_address("localhost:80"); });
  expect_einval("address 'example.com:7470': 'example.com' is not a numeric IPv4 address",
                [] { parse_address("example.com:7470"); });
  try {
    parse_address("localhost:80");
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("host names are not resolved"), std::string::npos);
  }
}

TEST(CommonAddress, Junk) {
  for (const char* bad : {"",
                          ":",
                          ":80",
                          "[]:80",
                          "1.2.3:80",
                          "1.2.3.4.5:80",
                          "256.1.1.1:80",
                          "127.1:80",
                          "0x7f.0.0.1:80",
                          "1.2.3.4/24:80",
                          " 1.2.3.4:80",
                          "::1:80",
                          "fd00::1:7070",
                          "[::1:80",
                          "[::1]x:80",
                          "[[::1]]:80",
                          "[1.2.3.4]:80",
                          "[fe80::1%eth0]:80",
                          "[::g]:80",
                          "garbage",
                          "1.2.3.4:80:80",
                          "[::1]:80:80"})
    expect_einval("address '"s + bad + "'", [&] { parse_address(bad); });
  expect_einval("address '': is empty", [] { parse_address(""); });
  expect_einval("address ':80': has no address", [] { parse_address(":80"); });
  expect_einval("address '::1:80': an IPv6 address needs brackets",
                [] { parse_address("::1:80"); });
  expect_einval("address '[1.2.3.4]:80': brackets are for IPv6 addresses only",
                [] { parse_address("[1.2.3.4]:80"); });
  expect_einval("address '[fe80::1%eth0]:80': IPv6 zones ('%eth0') are not supported",
                [] { parse_address("[fe80::1%eth0]:80"); });
  expect_einval("address '[::1]x:80': has 'x:80' after ']' instead of ':PORT'",
                [] { parse_address("[::1]x:80"); });
  expect_einval("address '[::1:80': has no ']' after the IPv6 address",
                [] { parse_address("[::1:80"); });
}

TEST(CommonAddress, MessagesNameTheInputPrintably) {
  expect_einval("join: dispatcher address 'x': ",
                [] { parse_address("x", "join: dispatcher address"); });
  expect_einval("address 'a\\x00b:80': contains a NUL byte", [] { parse_address("a\0b:80"s); });
  expect_einval("address '1.2.3.4\\x0a:80': '1.2.3.4\\x0a' is not a numeric IPv4 address",
                [] { parse_address("1.2.3.4\n:80"); });
}

TEST(CommonAddress, Unspecified) {
  EXPECT_TRUE(parse_address("0.0.0.0:1").unspecified());
  EXPECT_TRUE(parse_address("[::]:1").unspecified());
  EXPECT_FALSE(parse_address("[::1]:1").unspecified());
  EXPECT_FALSE(parse_address("0.0.0.1:1").unspecified());
}

TEST(CommonAddress, FormatRoundTrips) {
  for (const char* text :
       {"10.77.0.1:7470", "0.0.0.0:1", "255.255.255.255:65535", "[::1]:7470", "[::]:1",
        "[fd00::1]:7470", "[fd00:1:2:3:4:5:6:7]:80", "[::ffff:10.0.0.1]:9"}) {
    const auto a = parse_address(text);
    EXPECT_EQ(common::format_address(a), text);
    EXPECT_EQ(common::format_address(a.get()), text);
    EXPECT_EQ(common::format_address(a.family(), a.bytes(), a.port()), text);
    const auto again = parse_address(common::format_address(a));
    EXPECT_EQ(bytes_of(again), bytes_of(a));
    EXPECT_EQ(again.port(), a.port());
  }
  // RFC 5952: lower case, the longest run of zeros compressed.
  EXPECT_EQ(common::format_address(parse_address("[FD00:0:0:0:0:0:0:1]:80")), "[fd00::1]:80");
  EXPECT_EQ(common::format_address(parse_address("[1:0:0:2:0:0:0:3]:80")), "[1:0:0:2::3]:80");
  EXPECT_EQ(common::format_address(parse_address("0.0.0.0:0", "a", {.port_zero = true})),
            "0.0.0.0:0");
}

TEST(CommonAddress, FormatOddInputs) {
  EXPECT_EQ(common::format_address(static_cast<const sockaddr*>(nullptr)), "<no address>");
  sockaddr_storage unix_addr{};
  unix_addr.ss_family = AF_UNIX;
  EXPECT_EQ(common::format_address(reinterpret_cast<const sockaddr*>(&unix_addr)),
            "<family " + std::to_string(AF_UNIX) + ">");
  EXPECT_EQ(common::address_port(reinterpret_cast<const sockaddr*>(&unix_addr)), 0);
  EXPECT_EQ(common::address_port(nullptr), 0);
  const std::uint8_t three[3] = {1, 2, 3};
  EXPECT_EQ(common::format_address(AF_INET, three, 1), "<invalid IPv4 address>");
  EXPECT_EQ(common::format_address(AF_INET6, three, 1), "<invalid IPv6 address>");
  EXPECT_EQ(common::format_address(AF_INET, {}, 70000), "<invalid IPv4 address>");
  const std::uint8_t four[4] = {1, 2, 3, 4};
  EXPECT_EQ(common::format_address(AF_INET, four, 70000), "1.2.3.4:70000");  // as given
}

// What parse_address() gives is a socket address the kernel takes, and format_address()
// reads back what the kernel reports for it.
TEST(CommonAddress, BindsAndFormatsWhatTheKernelReports) {
  for (const char* text : {"127.0.0.1:0", "[::1]:0"}) {
    const auto a = parse_address(text, "listen address", {.port_zero = true});
    common::UniqueFd s(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(s) << text;
    if (::bind(s.get(), a.get(), a.length) < 0) {
      // A host without IPv6 loopback: nothing to check for this one.
      EXPECT_EQ(a.family(), AF_INET6) << text << ": " << std::strerror(errno);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ASSERT_EQ(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&bound), &len), 0);
    const auto* sa = reinterpret_cast<const sockaddr*>(&bound);
    const std::uint16_t port = common::address_port(sa);
    EXPECT_NE(port, 0);
    const std::string host = a.family() == AF_INET ? "127.0.0.1:" : "[::1]:";
    EXPECT_EQ(common::format_address(sa), host + std::to_string(port));
    EXPECT_EQ(parse_address(common::format_address(sa)).port(), port);
  }
}
