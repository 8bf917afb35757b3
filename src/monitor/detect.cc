// Choosing a parser: by name (--format) or from the first lines of the input.
#include "common/text.h"
#include "monitor/parser.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

constexpr int kMaxLinesLooked = 64;

bool LooksLikeSyslog(std::string_view line) {
  if (!line.empty() && line.front() == '<') {
    const size_t close = line.find('>');
    if (close == std::string_view::npos || close > 4) return false;
    line.remove_prefix(close + 1);
    return true;  // a PRI is syslog (RFC 3164 or 5424)
  }
  if (line.size() >= 20 && ParseIsoTime(line.substr(0, line.find(' '))).has_value()) return true;
  static constexpr std::string_view kMonths[] = {"Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ",
                                                 "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec "};
  for (std::string_view month : kMonths) {
    if (StartsWith(line, month) && line.size() > 15 && line[9] == ':' && line[12] == ':') {
      return true;
    }
  }
  return false;
}

bool LooksLikeSquid(std::string_view line) {
  // "1714523400.123    245 10.30.1.20 TCP_MISS/200 …"
  std::string_view rest = line;
  auto next = [&rest]() {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t end = rest.find(' ');
    const std::string_view token = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    return token;
  };
  const std::string_view time = next();
  if (time.find('.') == std::string_view::npos || !ParseEpochSeconds(time)) return false;
  if (!ParseUnsigned(next())) return false;
  next();  // client
  const std::string_view result = next();
  const size_t slash = result.find('/');
  return slash != std::string_view::npos && slash > 0 && result[0] >= 'A' && result[0] <= 'Z';
}

}  // namespace

std::unique_ptr<Parser> MakeParser(InputFormat format, const ParserOptions& options) {
  switch (format) {
    case InputFormat::kZeek:
      return MakeZeekTsvParser();
    case InputFormat::kZeekJson:
      return MakeZeekJsonParser();
    case InputFormat::kEve:
      return MakeEveParser();
    case InputFormat::kNetfilter:
      return MakeNetfilterParser(options.syslog);
    case InputFormat::kSquid:
      return MakeSquidParser();
  }
  return nullptr;
}

std::optional<InputFormat> DetectFormat(std::string_view head) {
  bool syslog = false;
  int looked = 0;
  while (!head.empty() && looked < kMaxLinesLooked) {
    const size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (TrimSpace(line).empty()) continue;
    ++looked;
    if (StartsWith(line, "#separator") || StartsWith(line, "#fields")) return InputFormat::kZeek;
    if (line.front() == '{') {
      if (line.find("\"event_type\"") != std::string_view::npos) return InputFormat::kEve;
      if (line.find("\"id.orig_h\"") != std::string_view::npos ||
          line.find("\"uid\"") != std::string_view::npos) {
        return InputFormat::kZeekJson;
      }
      continue;
    }
    if (LooksLikeSyslog(line)) {
      // A netfilter line decides at once; other syslog lines make it likely.
      if (line.find("IN=") != std::string_view::npos &&
          line.find(" OUT=") != std::string_view::npos) {
        return InputFormat::kNetfilter;
      }
      syslog = true;
      continue;
    }
    if (LooksLikeSquid(line)) return InputFormat::kSquid;
  }
  if (syslog) return InputFormat::kNetfilter;
  return std::nullopt;
}

}  // namespace mamori::monitor
