// SPDX-License-Identifier: MIT
#include "dspm_common/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "dspm_common/error.hpp"
#include "dspm_common/fd.hpp"
#include "dspm_common/text.hpp"

namespace dspm::common {

KeyFileContents read_key_file(const std::string& path) {
  const std::string context = "key file " + printable(path);
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) fail(errno, context);

  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) fail(errno, context);
  if (S_ISDIR(st.st_mode)) fail(EISDIR, context);
  if (!S_ISREG(st.st_mode)) fail(EINVAL, context + ": not a regular file");

  KeyFileContents out;
  out.mode = st.st_mode & 07777;
  // Read straight into the result (no stray copies of the key), at most one byte more than a
  // maximal key and its newline, which is enough to tell that the file is too long.
  constexpr std::size_t limit = key_size_max + 2;
  out.key.resize(limit);
  std::size_t length = 0;
  while (length < limit) {
    const ssize_t n = ::read(fd.get(), out.key.data() + length, limit - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno, context);
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
  }
  if (length > 0 && out.key[length - 1] == '\n') --length;
  out.key.resize(length);
  if (length > key_size_max)
    fail(EINVAL, context + ": the key is longer than the " + std::to_string(key_size_max) +
                     " bytes allowed");
  if (length < key_size_min)
    fail(EINVAL, context + ": the key is " + std::to_string(length) + " bytes long, " +
                     std::to_string(key_size_min) + ".." + std::to_string(key_size_max) +
                     " are needed");
  return out;
}

}  // namespace dspm::common
