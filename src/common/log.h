// Logging: one structured (JSON lines) logger on standard error, built on spdlog.
//
// Never pass secrets (passwords, tokens, cookies, TOTP codes) to these functions.
// Thread-safe.
#pragma once

#include <string_view>

namespace mamori::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetLevel(Level level);
// `json_fields` is a JSON object body without braces, e.g. "\"status\":200"; may be empty.
void Write(Level level, std::string_view event, std::string_view json_fields = {});
inline void Info(std::string_view event, std::string_view fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warn(std::string_view event, std::string_view fields = {}) {
  Write(Level::kWarn, event, fields);
}
inline void Error(std::string_view event, std::string_view fields = {}) {
  Write(Level::kError, event, fields);
}

}  // namespace mamori::log
