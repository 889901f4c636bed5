#include "engine/native_password.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace replplan {

std::string MysqlNativePasswordHash(std::string_view password) {
  if (password.empty()) return "";
  unsigned char once[EVP_MAX_MD_SIZE], twice[EVP_MAX_MD_SIZE];
  unsigned int once_size = 0, twice_size = 0;
  if (EVP_Digest(password.data(), password.size(), once, &once_size, EVP_sha1(), nullptr) != 1 ||
      EVP_Digest(once, once_size, twice, &twice_size, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 failed in libcrypto");  // only on allocation failure
  }
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out = "*";
  for (unsigned int i = 0; i < twice_size; ++i) {
    out.push_back(kDigits[twice[i] >> 4]);
    out.push_back(kDigits[twice[i] & 0x0f]);
  }
  return out;
}

}  // namespace replplan
