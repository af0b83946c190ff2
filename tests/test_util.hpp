// Assertions the libdspm unit tests share.
#pragma once

#include <algorithm>
#include <cstddef>
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

}  // namespace dspm::test
