// Node authentication: the cluster key and the HMAC-SHA256 challenge-response of the join
// (the inputs are defined in uapi/linux/dspm_wire.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "wire.hpp"

namespace dspm::dispatcher {

inline constexpr std::size_t key_size_min = 16;
inline constexpr std::size_t key_size_max = 1024;

using Key = std::vector<std::uint8_t>;

// The cluster key in the file at @path: its bytes, one trailing newline excepted.  Throws
// std::system_error: the errno of open/read, EINVAL when the key is shorter than
// key_size_min or longer than key_size_max.
Key read_key_file(const std::filesystem::path& path);

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
