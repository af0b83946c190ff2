// SPDX-License-Identifier: MIT
// Node authentication: the cluster key and the HMAC-SHA256 challenge-response of the join
// (the inputs are defined in uapi/linux/dspm_wire.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dspm_common/key_file.hpp"
#include "wire.hpp"

namespace dspm::dispatcher {

// The cluster key's length limits; common::read_key_file() reads a key file.
using common::key_size_max;
using common::key_size_min;

using Key = std::vector<std::uint8_t>;

// Fresh random bytes for a nonce.  Throws std::system_error(EIO) if the RNG fails.
Nonce random_nonce();

// CHALLENGE.mac = HMAC(K, "dspm-d" nonce_n nonce_d).
Mac challenge_mac(std::span<const std::uint8_t> key, const Nonce& nonce_n, const Nonce& nonce_d);

// AUTH.mac = HMAC(K, "dspm-n" nonce_d nonce_n uuid).
Mac auth_mac(std::span<const std::uint8_t> key, const Nonce& nonce_d, const Nonce& nonce_n,
             const Uuid& uuid);

// Whether two MACs are equal, in time independent of their contents.
bool mac_equal(const Mac& a, const Mac& b);

}  // namespace dspm::dispatcher
