// Settings of `mamori serve`, read from mamori.toml (toml++) and overridden by command-line
// flags. Every setting, its default and its meaning is listed in docs/configuration.md and in
// the example mamori.toml at the repository root.
#pragma once

#include <string>

#include "common/result.h"
#include "server/server.h"

namespace mamori::cli {

struct Config {
  std::string db = "var/mamori.db";         // [storage] db: SQLite database file
  std::string web_dir = "web/dist";         // [paths] web: the built UI
  std::string catalog_dir = "catalog";      // [paths] catalog: policy.toml and controls.toml
  std::string listen = "127.0.0.1:8080";    // [server] listen: address:port
  server::ServerOptions server;             // [server] the rest
  size_t attachment_max_bytes = 20u << 20;  // [server] attachment_max_bytes: one attached file
  int session_idle_minutes = 30;            // [auth] session_idle_minutes
  int session_absolute_hours = 12;          // [auth] session_absolute_hours
};

// Reads `path`; a missing file is an error only when `required`. Unknown keys and wrong types
// are errors naming the file and line.
Result<Config> LoadConfig(const std::string& path, bool required);

// Splits "127.0.0.1:8080" or "[::1]:8080" into the server options.
Status ApplyListen(const std::string& listen, server::ServerOptions& options);

}  // namespace mamori::cli
