// SPDX-License-Identifier: MIT
// dspm-tcp-pingpong: the user-space TCP baseline for the kernel transport's round trip
// (bench/transport.sh).  Same framing as the debugfs transport echo: a little-endian u32
// length, then the payload; the server echoes every message.
//
//   dspm-tcp-pingpong server PORT            serve connections one after another, forever
//   dspm-tcp-pingpong client ADDR:PORT COUNT SIZE
//       COUNT round trips of SIZE bytes; prints {"count", "size", "avg_ns", "p50_ns", ...}
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {
    if (fd_ < 0) fail("socket");
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void set_nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) fail("TCP_NODELAY");
}

// false at a clean end of stream before the first byte
bool read_all(int fd, std::span<std::byte> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read");
    if (n == 0) {
      if (done == 0) return false;
      errno = ECONNRESET;
      fail("read");
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void write_all(int fd, std::span<const std::byte> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    done += static_cast<std::size_t>(n);
  }
}

constexpr std::uint32_t size_max = 65536;

int serve(std::uint16_t port) {
  Socket listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) fail("bind");
  if (::listen(listener.get(), 4) < 0) fail("listen");
  std::vector<std::byte> buf(4 + size_max);
  for (;;) {
    Socket conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    set_nodelay(conn.get());
    try {
      while (read_all(conn.get(), std::span(buf).first(4))) {
        std::uint32_t len;
        std::memcpy(&len, buf.data(), 4);
        if (len > size_max) break;
        read_all(conn.get(), std::span(buf).subspan(4, len));
        write_all(conn.get(), std::span(buf).first(4 + len));
      }
    } catch (const std::system_error&) {
      // this client is gone; serve the next
    }
  }
}

int client(const std::string& target, unsigned count, std::uint32_t size) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos || count == 0 || size > size_max) {
    errno = EINVAL;
    fail("arguments");
  }
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<std::uint16_t>(std::stoul(target.substr(colon + 1))));
  if (::inet_pton(AF_INET, target.substr(0, colon).c_str(), &sin.sin_addr) != 1) {
    errno = EINVAL;
    fail("address " + target);
  }
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) fail("connect");
  set_nodelay(s.get());

  std::vector<std::byte> out(4 + size), in(4 + size);
  std::memcpy(out.data(), &size, 4);
  for (std::uint32_t i = 0; i < size; ++i) out[4 + i] = static_cast<std::byte>(i * 7 + 1);
  std::vector<std::uint64_t> ns(count);
  for (unsigned i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    write_all(s.get(), out);
    if (!read_all(s.get(), in)) {
      errno = ECONNRESET;
      fail("read");
    }
    ns[i] = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count());
    if (in != out) {
      errno = EPROTO;
      fail("the echo differs");
    }
  }
  const std::uint64_t total = std::accumulate(ns.begin(), ns.end(), std::uint64_t{0});
  std::sort(ns.begin(), ns.end());
  std::printf(
      "{\"count\": %u, \"size\": %u, \"min_ns\": %llu, \"avg_ns\": %llu, \"p50_ns\": %llu, "
      "\"p99_ns\": %llu, \"max_ns\": %llu}\n",
      count, size, static_cast<unsigned long long>(ns.front()),
      static_cast<unsigned long long>(total / count),
      static_cast<unsigned long long>(ns[count / 2]),
      static_cast<unsigned long long>(ns[static_cast<std::size_t>(count) * 99 / 100]),
      static_cast<unsigned long long>(ns.back()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "server")
      return serve(static_cast<std::uint16_t>(std::stoul(args[1])));
    if (args.size() == 4 && args[0] == "client")
      return client(args[1], static_cast<unsigned>(std::stoul(args[2])),
                    static_cast<std::uint32_t>(std::stoul(args[3])));
    std::fprintf(stderr,
                 "usage: dspm-tcp-pingpong server PORT\n"
                 "       dspm-tcp-pingpong client ADDR:PORT COUNT SIZE\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dspm-tcp-pingpong: %s\n", e.what());
    return 1;
  }
}
