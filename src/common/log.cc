#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/clock.h"

namespace mamori::log {
namespace {

spdlog::logger& Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("mamori");
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* Name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLevel(Level level) { Logger().set_level(ToSpd(level)); }

void Write(Level level, std::string_view event, std::string_view json_fields) {
  auto& l = Logger();
  if (!l.should_log(ToSpd(level))) return;
  std::string line = "{\"ts\":\"" + FormatIso8601(SystemClock().Now()) + "\",\"level\":\"" +
                     Name(level) + "\",\"event\":\"" + std::string(event) + "\"";
  if (!json_fields.empty()) {
    line += ',';
    line += json_fields;
  }
  line += '}';
  l.log(ToSpd(level), "{}", line);
}

}  // namespace mamori::log
