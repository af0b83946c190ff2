// SPDX-License-Identifier: MIT
#include "auth.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace dspm::dispatcher {

namespace {

Mac hmac(std::span<const std::uint8_t> key, std::string_view label,
         std::initializer_list<std::span<const std::uint8_t>> parts) {
  std::vector<std::uint8_t> data(label.begin(), label.end());
  for (auto p : parts) data.insert(data.end(), p.begin(), p.end());
  Mac out{};
  unsigned int len = 0;
  if (key.size() < key_size_min ||
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    throw std::system_error(EINVAL, std::generic_category(), "auth: HMAC-SHA256 failed");
  }
  return out;
}

}  // namespace

Nonce random_nonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    throw std::system_error(EIO, std::generic_category(), "auth: RAND_bytes failed");
  }
  return n;
}

Mac challenge_mac(std::span<const std::uint8_t> key, const Nonce& nonce_n, const Nonce& nonce_d) {
  return hmac(key, "dspm-d", {nonce_n, nonce_d});
}

Mac auth_mac(std::span<const std::uint8_t> key, const Nonce& nonce_d, const Nonce& nonce_n,
             const Uuid& uuid) {
  return hmac(key, "dspm-n", {nonce_d, nonce_n, uuid});
}

bool mac_equal(const Mac& a, const Mac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace dspm::dispatcher
