// SPDX-License-Identifier: MIT
// Valid sample messages of every type, for the wire tests.
#pragma once

#include <vector>

#include "wire.hpp"

namespace dspm::dispatcher::test {

// At least one message of every type, each valid (encode() accepts it).
std::vector<Message> sample_messages();

}  // namespace dspm::dispatcher::test
