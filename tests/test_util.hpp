// SPDX-License-Identifier: MIT
// Assertions and fixtures the libdspm and dspm_common unit tests share.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

namespace dspm::test {

// True when every byte of @value in [from, to) is zero.
template <class T>
bool zero_bytes(const T& value, std::size_t from, std::size_t to = sizeof(T)) {
  const auto* p = reinterpret_cast<const unsigned char*>(&value);
  return std::all_of(p + from, p + to, [](unsigned char c) { return c == 0; });
}

template <class T, std::size_t N>
bool all_zero(const T (&array)[N]) {
  return std::all_of(array, array + N, [](const T& v) { return v == 0; });
}

// @fn throws std::system_error with errno @err and a message starting @prefix.
template <class E>
void expect_errno(int err, const std::string& prefix, E&& fn) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected " << prefix;
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), err) << e.what();
    EXPECT_EQ(e.code().category(), std::generic_category());
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0U) << e.what();
  }
}

// A private temporary directory, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dspm-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

  // Writes @content to the file @name in it (replacing it), with @mode; returns its path.
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const {
    const std::string path = *this / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0) << path;
    return path;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace dspm::test
