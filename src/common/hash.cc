#include "common/hash.h"

#include <sodium.h>

namespace mamori {

std::string Sha256Hex(std::string_view bytes) {
  // libsodium, not OpenSSL 3's EVP_Digest: the latter looks the algorithm up under a global
  // lock on every call, which showed as lock contention on every authenticated request.
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest,
                     reinterpret_cast<const unsigned char*>(bytes.empty() ? "" : bytes.data()),
                     bytes.size());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(sizeof digest * 2);
  for (unsigned char b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

}  // namespace mamori
