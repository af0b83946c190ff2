// SPDX-License-Identifier: MIT
#include "dspm_common/address.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dspm_common/error.hpp"
#include "dspm_common/text.hpp"

namespace dspm::common {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::uint16_t SocketAddress::port() const noexcept {
  return address_port(get());
}

std::span<const std::uint8_t> SocketAddress::bytes() const noexcept {
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    return {reinterpret_cast<const std::uint8_t*>(&a->sin_addr), sizeof a->sin_addr};
  }
  if (family() == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    return {reinterpret_cast<const std::uint8_t*>(&a->sin6_addr), sizeof a->sin6_addr};
  }
  return {};
}

bool SocketAddress::unspecified() const noexcept {
  const auto b = bytes();
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

SocketAddress parse_address(std::string_view text, std::string_view context,
                            const AddressRules& rules) {
  auto bad = [&](const std::string& why) {
    fail(EINVAL, std::string(context) + " '" + printable(text) + "': " + why);
  };
  constexpr const char* want = " (want ADDR:PORT or [ADDR6]:PORT, numeric)";
  if (text.empty()) bad(std::string("is empty") + want);
  if (text.find('\0') != std::string_view::npos) bad("contains a NUL byte");

  std::string_view host;
  std::optional<std::string_view> port;  // nullopt: the text has no ":PORT"
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) bad("has no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') bad("has '" + printable(rest) + "' after ']' instead of ':PORT'");
      port = rest.substr(1);
    }
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      bad("an IPv6 address needs brackets, e.g. [::1]:7470");
  }
  if (host.empty()) bad(std::string("has no address") + want);

  std::uint32_t number = 0;
  if (!port) {
    if (!rules.default_port) bad(std::string("has no port") + want);
    number = *rules.default_port;
  } else {
    if (port->empty()) bad(std::string("has no port") + want);
    if (!std::all_of(port->begin(), port->end(), is_digit))
      bad("port '" + printable(*port) + "' is not a decimal number");
    for (char c : *port) {
      number = number * 10 + static_cast<std::uint32_t>(c - '0');
      if (number > 65535) break;
    }
  }
  const std::uint32_t lowest = rules.port_zero ? 0 : 1;
  if (number < lowest || number > 65535)
    bad("port " + (port ? std::string(*port) : std::to_string(number)) + " is outside " +
        std::to_string(lowest) + "..65535");
  const auto port_n = htons(static_cast<std::uint16_t>(number));

  SocketAddress out;
  const std::string host_z(host);
  if (bracketed) {
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host_z.c_str(), &a6) != 1) {
      in_addr a4{};
      if (::inet_pton(AF_INET, host_z.c_str(), &a4) == 1)
        bad("brackets are for IPv6 addresses only");
      const auto zone = host.find('%');
      if (zone != std::string_view::npos)
        bad("IPv6 zones ('" + printable(host.substr(zone)) + "') are not supported");
      bad("'" + printable(host) + "' is not a numeric IPv6 address");
    }
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = port_n;
    sa->sin6_addr = a6;
    out.length = sizeof *sa;
  } else {
    in_addr a4{};
    if (::inet_pton(AF_INET, host_z.c_str(), &a4) != 1)
      bad("'" + printable(host) +
          "' is not a numeric IPv4 address (a.b.c.d; host names are not resolved)");
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
    sa->sin_family = AF_INET;
    sa->sin_port = port_n;
    sa->sin_addr = a4;
    out.length = sizeof *sa;
  }
  return out;
}

std::string format_address(int family, std::span<const std::uint8_t> bytes, std::uint32_t port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    if (bytes.size() < sizeof(in_addr) || !::inet_ntop(AF_INET, bytes.data(), buf, sizeof buf))
      return "<invalid IPv4 address>";
    return std::string(buf) + ":" + std::to_string(port);
  }
  if (family == AF_INET6) {
    if (bytes.size() < sizeof(in6_addr) || !::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf))
      return "<invalid IPv6 address>";
    return "[" + std::string(buf) + "]:" + std::to_string(port);
  }
  return "<family " + std::to_string(family) + ">";
}

std::string format_address(const SocketAddress& address) {
  return format_address(address.family(), address.bytes(), address.port());
}

std::string format_address(const sockaddr* address) {
  if (address == nullptr) return "<no address>";
  SocketAddress copy;
  if (address->sa_family == AF_INET)
    std::memcpy(&copy.storage, address, sizeof(sockaddr_in));
  else if (address->sa_family == AF_INET6)
    std::memcpy(&copy.storage, address, sizeof(sockaddr_in6));
  else
    return "<family " + std::to_string(address->sa_family) + ">";
  return format_address(copy);
}

std::uint16_t address_port(const sockaddr* address) noexcept {
  if (address == nullptr) return 0;
  if (address->sa_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  if (address->sa_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  return 0;
}

}  // namespace dspm::common
