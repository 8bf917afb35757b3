// Internal to src/monitor: the fast path of the JSON-lines parsers. ScanObject reads one line that
// is a plain JSON object (what Zeek writes: string, number, boolean and null members, a few
// nested objects and arrays) into a flat list of members, without simdjson. It answers kValid
// only when it is certain that the line is valid JSON and that the members and their values are
// exactly what simdjson's DOM API gives for it (same order, same types, same numbers); anything
// it does not fully check is kUnsure, and the caller parses the line with simdjson instead (the
// plain path, which also decides what is malformed). Left to simdjson: bytes outside printable
// ASCII in strings (UTF-8 checks), backslash escapes, numbers with an exponent or more than 18
// integer digits, nesting deeper than kMaxDepth. Differential tests (zeek_test.cc) and the
// zeek_json fuzzer compare the two paths.
//
// Padding precondition as for Parser::Parse (parser.h): kLinePadding readable bytes after
// `text`. Allocation-free once the vectors have grown. No shared state.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace mamori::monitor::json {

// A member's value, as simdjson's DOM element types it.
struct Value {
  enum class Kind : uint8_t { kString, kInt64, kUint64, kDouble, kBool, kNull, kObject, kArray };
  Kind kind = Kind::kNull;
  bool boolean = false;   // kBool
  std::string_view text;  // kString: the string (unescaped); kDouble when `lazy`: the number
  int64_t int64 = 0;      // kInt64
  uint64_t uint64 = 0;    // kUint64
  double number = 0;      // kDouble when not `lazy`
  bool lazy = false;      // kDouble: the value is computed from `text` by DoubleOf
  // kObject whose members were collected (see ScanObject): [begin, end) of the nested list.
  bool collected = false;
  uint32_t begin = 0, end = 0;
};

struct Member {
  std::string_view key;
  Value value;
};

// A kDouble's value: exactly the double simdjson computes (both round correctly).
double DoubleOf(const Value& value);

inline constexpr int kMaxDepth = 32;

enum class Scan : uint8_t { kValid, kUnsure };

// Reads the object in `text` into `members` (cleared first). The members of an object value
// whose key is `collect` go into `nested` (cleared first) and the value records their range;
// their own object and array values are checked, not collected. Other object and array values
// are checked and skipped.
Scan ScanObject(std::string_view text, std::string_view collect, std::vector<Member>& members,
                std::vector<Member>& nested);

}  // namespace mamori::monitor::json
