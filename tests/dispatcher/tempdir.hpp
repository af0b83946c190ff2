// SPDX-License-Identifier: MIT
// A fresh directory removed at the end of the test: the libdspm tests' one (test_util.hpp).
#pragma once

#include "../test_util.hpp"

namespace dspm::dispatcher::test {

using dspm::test::TempDir;

}  // namespace dspm::dispatcher::test
