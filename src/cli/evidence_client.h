// The engines' side of the evidence API: `mamori netcheck` and `mamori monitor` post their
// results to a Mamori server (POST /api/v1/evidence) with a service account's token, read from
// a file so that it never appears in a process listing or a shell history.
//
// Thread-compatible (one call at a time per target).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace mamori::cli {

struct EvidenceTarget {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // "" or "/mamori" when the server sits below a path
  std::string token;
  std::string ca_file;  // HTTPS: trust this CA file besides the system's
};

// Checks `url` ("https://mamori.example.lg.jp" or "http://127.0.0.1:8080") and reads the token
// from `token_file` (its first line). kInvalidInput naming what is wrong.
Result<EvidenceTarget> LoadEvidenceTarget(const std::string& url, const std::string& token_file,
                                          const std::string& ca_file);

// Posts one evidence record; returns the created record. kUnavailable when the server cannot be
// reached, the server's own error (its Japanese message) when it refuses the record.
Result<nlohmann::json> PostEvidence(const EvidenceTarget& target, const nlohmann::json& body);

}  // namespace mamori::cli
