#include "common/hash.h"

#include <sodium.h>

#include <fstream>
#include <vector>

namespace mamori {

namespace {

std::string Hex(const unsigned char (&digest)[crypto_hash_sha256_BYTES]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(sizeof digest * 2);
  for (unsigned char b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  // libsodium, not OpenSSL 3's EVP_Digest: the latter looks the algorithm up under a global
  // lock on every call, which showed as lock contention on every authenticated request.
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest,
                     reinterpret_cast<const unsigned char*>(bytes.empty() ? "" : bytes.data()),
                     bytes.size());
  return Hex(digest);
}

std::optional<std::string> Sha256HexOfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<char> block(size_t{1} << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto n = in.gcount();
    if (n > 0) {
      crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(block.data()),
                                static_cast<unsigned long long>(n));
    }
  }
  if (in.bad()) return std::nullopt;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return Hex(digest);
}

}  // namespace mamori
