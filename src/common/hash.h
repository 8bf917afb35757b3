// SHA-256 as lower-case hex (libsodium). Used for the audit chain, session token hashes and
// the fingerprints of imported files. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mamori {

std::string Sha256Hex(std::string_view bytes);

}  // namespace mamori
