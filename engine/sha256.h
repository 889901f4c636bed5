// SHA-256 and HMAC-SHA-256 (OpenSSL's libcrypto), as lower-case hex. Used wherever replplan
// records a digest that an attacker could profit from forging or inverting: saved plans, the
// topology file's digest, the app restart marker. FNV-1a is not a cryptographic hash.
#pragma once

#include <string>
#include <string_view>

namespace replplan {

// 64 lower-case hex digits.
std::string Sha256Hex(std::string_view bytes);

// HMAC-SHA-256 of `bytes` under `key`: 64 lower-case hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view bytes);

}  // namespace replplan
