// SPDX-License-Identifier: MIT
// dspm-admin: administer dspm on this node.
#include <iostream>

#include "cli.hpp"

int main(int argc, char** argv) {
  return dspm::admin::run(argc, argv, std::cout, std::cerr);
}
