// SHA-256 as lower-case hex (libsodium). Used for the audit chain, session token hashes and
// the fingerprints of imported files. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mamori {

std::string Sha256Hex(std::string_view bytes);

// The SHA-256 of a file's bytes, read in blocks (a file of any size); nullopt when it cannot be
// read.
std::optional<std::string> Sha256HexOfFile(const std::string& path);

}  // namespace mamori
