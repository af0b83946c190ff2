// SPDX-License-Identifier: MIT
// dspm_common: network addresses as the user types them, "ADDR:PORT".
//
// The one input set of every dspm program (libdspm's join addresses, dspm-admin, the
// dispatcher's --listen, the wire probe's --connect):
//
//   a.b.c.d:PORT      IPv4, dotted quad, exactly four decimal parts ("10.77.0.1:7470")
//   [IPV6]:PORT       IPv6 in brackets, any RFC 4291 text form ("[fd00::1]:7470",
//                     "[::ffff:10.0.0.1]:7470")
//
// PORT is decimal digits only (leading zeros allowed), 1..65535, or 0..65535 when the rules
// allow port 0.  Without ":PORT" the caller's default port is used if it gives one, and the
// text is refused otherwise.  Refused: host names (not resolved; when that comes, it comes
// here), IPv6 without brackets ("::1:7470" is ambiguous), IPv4 in brackets, IPv6 zones
// ("%eth0": dspm_addr has no scope id), other IPv4 forms ("127.1", "0x7f.0.0.1"), white space,
// NUL bytes and anything after the port.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dspm::common {

// An IPv4 (sockaddr_in) or IPv6 (sockaddr_in6) socket address, ready for bind()/connect().
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const noexcept { return storage.ss_family; }  // AF_INET, AF_INET6
  std::uint16_t port() const noexcept;                       // host byte order
  // The address in network byte order: 4 bytes for AF_INET, 16 for AF_INET6.
  std::span<const std::uint8_t> bytes() const noexcept;
  // 0.0.0.0 or ::, which can be listened on but not connected to.
  bool unspecified() const noexcept;
};

// What a caller accepts beyond the input set above.
struct AddressRules {
  std::optional<std::uint16_t> default_port{};  // for text without ":PORT"; none: required
  bool port_zero = false;                       // port 0 (a listener: any free port)
};

// Parses @text (the input set above).  Throws std::system_error(EINVAL) with the message
// "<context> '<text>': <reason>", @text written with printable().
SocketAddress parse_address(std::string_view text, std::string_view context = "address",
                            const AddressRules& rules = {});

// "10.77.0.1:7470" or "[fd00::1]:7470" (RFC 5952 form): what parse_address() reads back.
// @family is AF_INET (@bytes: 4, network byte order) or AF_INET6 (16); another family gives
// "<family N>", too few bytes "<invalid IPv4 address>" or "<invalid IPv6 address>".
std::string format_address(int family, std::span<const std::uint8_t> bytes, std::uint32_t port);
// The same for a socket address (from accept(), getsockname(), rdma_cm); "<no address>" for
// nullptr.
std::string format_address(const sockaddr* address);
std::string format_address(const SocketAddress& address);

// The port of an AF_INET or AF_INET6 socket address in host byte order, 0 for another family.
std::uint16_t address_port(const sockaddr* address) noexcept;

}  // namespace dspm::common
