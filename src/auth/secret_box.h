// The server's secret key (32 random bytes in a file beside the database, mode 0600): seals
// TOTP secrets at rest and derives CSRF tokens. A database copied without its key file keeps
// every TOTP secret unreadable; backups must include both (docs/operations.md).
//
// Immutable after LoadOrCreate; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace mamori::auth {

class SecretBox {
 public:
  // Reads the key at `path`, or creates it (0600) when the file does not exist.
  static Result<SecretBox> LoadOrCreate(const std::string& path);
  // A key for tests.
  static SecretBox FromBytes(std::string_view key32);

  // Authenticated encryption (XSalsa20-Poly1305) with a random nonce; base64 text out.
  std::string Seal(std::string_view plain) const;
  // kInvalidInput when the text was not sealed with this key or was altered.
  Result<std::string> Open(std::string_view sealed) const;
  // HMAC-SHA256 of `data`, base64url without padding.
  std::string Mac(std::string_view data) const;

 private:
  std::string key_;  // 32 bytes
};

}  // namespace mamori::auth
