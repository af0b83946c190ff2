// SPDX-License-Identifier: MIT
// A test client of the dispatcher: a blocking loopback TCP socket that sends and receives
// whole wire messages, and the join handshake on top of it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth.hpp"
#include "dspm_common/fd.hpp"
#include "wire.hpp"

namespace dspm::dispatcher::test {

class Client {
 public:
  // Connects to 127.0.0.1:@port.  Throws std::system_error.
  explicit Client(std::uint16_t port);

  void send_raw(std::span<const std::byte> bytes);
  void send(const Message& msg);
  void shutdown_write();
  // The next whole message, nullopt on timeout, end of stream or an undecodable message.
  std::optional<Message> recv(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  // Reads (and drops) until the server closes the connection; false on timeout.
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  // The next message of body type T, skipping others (e.g. NODE_TABLE); nullopt on timeout.
  template <typename T>
  std::optional<T> recv_a(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto m = recv(left);
      if (!m) return std::nullopt;
      if (const auto* t = std::get_if<T>(&m->body)) return *t;
    }
  }

 private:
  bool read_exact(std::byte* p, std::size_t n, std::chrono::steady_clock::time_point deadline);
  common::UniqueFd fd_;
};

struct JoinResult {
  std::optional<JoinAccept> accept;
  std::optional<ErrorReply> error;
  bool challenge_ok = false;  // CHALLENGE's mac was right for our key
};

Hello make_hello(std::uint8_t seed, std::uint32_t claimed_id = 0);

// HELLO -> CHALLENGE -> AUTH -> JOIN_ACCEPT or ERROR, with @key.
JoinResult join(Client& c, const Key& key, const Hello& hello);

Key test_key(char fill = 'k');

}  // namespace dspm::dispatcher::test
