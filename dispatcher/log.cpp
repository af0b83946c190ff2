// SPDX-License-Identifier: MIT
#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace dspm::dispatcher {

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  char extra = 0;
  if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &extra) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) < 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string format_log_line(LogLevel level, std::string_view line, bool journal,
                            const timespec& now) {
  std::string out;
  if (journal) {
    out = "<" + std::to_string(static_cast<int>(level)) + ">";
  } else {
    tm t{};
    gmtime_r(&now.tv_sec, &t);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &t);
    char ms[24];
    std::snprintf(ms, sizeof(ms), ".%03ldZ ", now.tv_nsec / 1000000);
    out = std::string(stamp) + ms + "dspm-dispatcher: ";
  }
  out += line;
  out += '\n';
  return out;
}

void log_to_stderr(LogLevel level, std::string_view line) {
  static const bool journal = stderr_is_journal();
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const std::string out = format_log_line(level, line, journal, now);
  std::size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::write(STDERR_FILENO, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace dspm::dispatcher
