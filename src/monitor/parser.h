// Log parsers: one line of a log in, one normalized Event (event.h) out.
//
// A Parser reads the lines of one input in order (the Zeek TSV parser keeps the header's field
// order between lines), so make one per input with MakeParser. Parse never throws and never
// allocates per line once warmed up: the Event it fills views the line and the parser's own
// buffers until the next call. A line it cannot read is kMalformed with a fixed reason (the
// caller counts it and keeps samples: nothing is dropped silently); a well-formed line that
// carries no event (a Zeek header, a Suricata stats record, a syslog line that is not a
// netfilter LOG line) is kIgnored with its reason.
//
// Padding precondition: at least kLinePadding readable bytes must follow the last byte of
// `line.text` (their value does not matter). The JSON parsers hand the line to simdjson in place
// and simdjson reads ahead; LineReader (reader.h) guarantees it, tests use PaddedLine.
//
// Not thread-safe: one parser per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "monitor/event.h"

namespace mamori::monitor {

inline constexpr size_t kLinePadding = 64;  // >= SIMDJSON_PADDING
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

struct Line {
  std::string_view text;  // without the line break (a trailing '\r' is already removed)
  std::string_view file;  // the input's name, for Event::file
  uint64_t number = 0;    // 1-based
};

// Why a line was ignored or is malformed: static strings, Japanese and English.
struct Reason {
  const char* ja = "";
  const char* en = "";
};

struct ParseResult {
  enum class Status : uint8_t { kEvent, kIgnored, kMalformed };
  Status status = Status::kMalformed;
  Reason reason;  // for kIgnored and kMalformed

  static ParseResult Ok() { return {Status::kEvent, {}}; }
  static ParseResult Ignored(Reason r) { return {Status::kIgnored, r}; }
  static ParseResult Malformed(Reason r) { return {Status::kMalformed, r}; }
};

// RFC 3164 syslog timestamps ("May  1 09:30:00") carry neither year nor time zone.
struct SyslogClock {
  int year = 1970;
  int utc_offset_minutes = 0;  // e.g. +540 for JST
};

struct ParserOptions {
  SyslogClock syslog;
};

class Parser {
 public:
  virtual ~Parser() = default;
  // Precondition: kLinePadding readable bytes after line.text (see above).
  virtual ParseResult Parse(const Line& line, Event& event) = 0;
};

std::unique_ptr<Parser> MakeParser(InputFormat format, const ParserOptions& options);
std::unique_ptr<Parser> MakeZeekTsvParser();
// `fast`: plain lines are read without simdjson (json_scan.h), others with its DOM API; false:
// every line with the DOM API (the plain path; tests compare the two).
std::unique_ptr<Parser> MakeZeekJsonParser(bool fast = true);
std::unique_ptr<Parser> MakeEveParser();
std::unique_ptr<Parser> MakeNetfilterParser(const SyslogClock& clock);
std::unique_ptr<Parser> MakeSquidParser();

// The format of a log from its first bytes (whole lines; up to the first 64 lines are looked
// at): Zeek TSV by its "#separator"/"#fields" header, JSON lines by their keys (EVE has
// "event_type", Zeek "id.orig_h" or "uid"), syslog lines (RFC 3164, RFC 5424 or an RFC 3339
// time first) as netfilter, Squid by its epoch time, result code and URL. nullopt when none
// fits.
std::optional<InputFormat> DetectFormat(std::string_view head);

// A copy of `text` followed by kLinePadding zero bytes, for tests and fuzzers.
class PaddedLine {
 public:
  explicit PaddedLine(std::string_view text) : storage_(text) {
    storage_.append(kLinePadding, '\0');
  }
  Line line(std::string_view file = "test.log", uint64_t number = 1) const {
    return {std::string_view(storage_.data(), storage_.size() - kLinePadding), file, number};
  }

 private:
  std::string storage_;
};

}  // namespace mamori::monitor
