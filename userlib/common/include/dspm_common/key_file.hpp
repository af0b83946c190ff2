// SPDX-License-Identifier: MIT
// dspm_common: the cluster key file, read by dspm-admin (through libdspm) and the dispatcher.
#pragma once

#include <linux/dspm.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dspm::common {

// Length of a cluster key, bytes.
inline constexpr std::size_t key_size_min = DSPM_KEY_MIN;
inline constexpr std::size_t key_size_max = DSPM_KEY_MAX;

struct KeyFileContents {
  std::vector<std::uint8_t> key;
  mode_t mode = 0;  // permission bits (07777) of the file the key was read from

  // The rule of every caller today: a key file that group or others may access in any way
  // (mode & 077) is read all the same, and the caller warns.
  bool group_or_other_access() const noexcept { return (mode & 077) != 0; }
};

// The cluster key in the file at @path: its bytes, one trailing newline excepted.
//
// Every check is made on the one descriptor the key is read from, so the file cannot be
// swapped between the check and the read: open(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
// (a symbolic link is followed, and what counts is the file it names; O_NONBLOCK so that a
// FIFO cannot hang the open), fstat(), then read() of at most key_size_max + 2 bytes.
//
// Throws std::system_error with the message "key file <path>: <reason>" (@path written with
// printable()): the errno of open/fstat/read (ENOENT, EACCES, ELOOP...), EISDIR for a
// directory, EINVAL for another file that is not a regular one, or for a key that is not
// key_size_min..key_size_max bytes long.
KeyFileContents read_key_file(const std::string& path);

}  // namespace dspm::common
