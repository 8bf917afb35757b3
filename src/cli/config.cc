#include "cli/config.h"

#include <charconv>
#include <cmath>
#include <filesystem>

#include <toml++/toml.h>

namespace mamori::cli {
namespace {

std::string Where(const std::string& path, const toml::node& n) {
  return path + ":" + std::to_string(n.source().begin.line);
}

Error Bad(const std::string& where, const std::string& ja, const std::string& en) {
  return Error::Invalid(where + ": " + ja, where + ": " + en);
}

}  // namespace

Status ApplyListen(const std::string& listen, server::ServerOptions& options) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error::Invalid("listen は アドレス:ポート の形式で指定してください: " + listen,
                          "listen must be address:port: " + listen);
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  unsigned value = 0;
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535 || host.empty()) {
    return Error::Invalid("listen のポート番号が正しくありません: " + listen,
                          "bad port in listen: " + listen);
  }
  options.address = host;
  options.port = static_cast<uint16_t>(value);
  return {};
}

Result<Config> LoadConfig(const std::string& path, bool required) {
  Config c;
  if (!std::filesystem::exists(path)) {
    if (required) {
      return Error::Invalid("設定ファイルがありません: " + path, "no configuration file " + path);
    }
    return c;
  }
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Error::Invalid(
        path + ":" + std::to_string(e.source().begin.line) +
            ": 設定ファイルの書式が正しくありません (" + std::string(e.description()) + ")",
        path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  for (auto&& [section, node] : tbl) {
    const auto* t = node.as_table();
    if (!t)
      return Bad(Where(path, node), "不明な設定です: " + std::string(section.str()),
                 "unknown setting " + std::string(section.str()));
    for (auto&& entry : *t) {
      const auto& key = entry.first;
      const toml::node& value = entry.second;
      const std::string s(section.str()), k(key.str()), at = Where(path, value);
      auto str = [&](std::string& out) -> Status {
        if (!value.is_string())
          return Bad(at, k + " は文字列で指定してください。", k + " must be a string");
        out = value.as_string()->get();
        return {};
      };
      auto num = [&](double& out, double lo, double hi) -> Status {
        if (!value.is_number())
          return Bad(at, k + " は数値で指定してください。", k + " must be a number");
        out = value.is_integer() ? double(value.as_integer()->get())
                                 : value.as_floating_point()->get();
        // TOML allows nan and inf; nan compares false with everything and would pass below.
        if (!std::isfinite(out)) {
          return Bad(at, k + " は有限の数値で指定してください (nan や inf は使えません)。",
                     k + " must be a finite number");
        }
        if (out < lo || out > hi) {
          return Bad(at,
                     k + " は " + std::to_string(int64_t(lo)) + " 以上 " +
                         std::to_string(int64_t(hi)) + " 以下です。",
                     k + " out of range");
        }
        return {};
      };
      double d = 0;
      if (s == "storage" && k == "db") {
        MAMORI_TRY(str(c.db));
      } else if (s == "paths" && k == "web") {
        MAMORI_TRY(str(c.web_dir));
      } else if (s == "paths" && k == "catalog") {
        MAMORI_TRY(str(c.catalog_dir));
      } else if (s == "server" && k == "listen") {
        MAMORI_TRY(str(c.listen));
      } else if (s == "server" && k == "threads") {
        MAMORI_TRY(num(d, 0, 256));
        c.server.threads = int(d);
      } else if (s == "server" && k == "max_connections") {
        MAMORI_TRY(num(d, 1, 1'000'000));
        c.server.max_connections = int(d);
      } else if (s == "server" && k == "rate_limit_per_second") {
        MAMORI_TRY(num(d, 0, 1e6));
        c.server.rate_limit_per_second = d;
      } else if (s == "server" && k == "rate_limit_burst") {
        MAMORI_TRY(num(d, 1, 1e6));
        c.server.rate_limit_burst = d;
      } else if (s == "server" && k == "request_timeout_seconds") {
        MAMORI_TRY(num(d, 1, 3600));
        c.server.request_timeout = std::chrono::seconds(int64_t(d));
      } else if (s == "server" && k == "keep_alive_timeout_seconds") {
        MAMORI_TRY(num(d, 1, 3600));
        c.server.keep_alive_timeout = std::chrono::seconds(int64_t(d));
      } else if (s == "server" && k == "shutdown_grace_seconds") {
        MAMORI_TRY(num(d, 0, 600));
        c.server.shutdown_grace = std::chrono::seconds(int64_t(d));
      } else if (s == "server" && k == "header_limit_bytes") {
        MAMORI_TRY(num(d, 1024, 1 << 20));
        c.server.header_limit = size_t(d);
      } else if (s == "server" && k == "attachment_max_bytes") {
        MAMORI_TRY(num(d, 1024, 256 << 20));
        c.attachment_max_bytes = size_t(d);
      } else if (s == "auth" && k == "session_idle_minutes") {
        MAMORI_TRY(num(d, 1, 24 * 60));
        c.session_idle_minutes = int(d);
      } else if (s == "auth" && k == "session_absolute_hours") {
        MAMORI_TRY(num(d, 1, 24 * 7));
        c.session_absolute_hours = int(d);
      } else if (s == "server" && k == "tls_cert") {
        MAMORI_TRY(str(c.server.tls_cert));
      } else if (s == "server" && k == "tls_key") {
        MAMORI_TRY(str(c.server.tls_key));
      } else if (s == "server" && k == "allow_plain_http") {
        if (!value.is_boolean()) {
          return Bad(at, k + " は true か false です。", k + " must be a boolean");
        }
        c.server.allow_plain_http = value.as_boolean()->get();
      } else if (s == "server" && k == "access_log") {
        if (!value.is_boolean())
          return Bad(at, k + " は true か false です。", k + " must be a boolean");
        c.server.access_log = value.as_boolean()->get();
      } else {
        return Bad(at, "不明な設定です: [" + s + "] " + k, "unknown setting [" + s + "] " + k);
      }
    }
  }
  MAMORI_TRY(ApplyListen(c.listen, c.server));
  return c;
}

}  // namespace mamori::cli
