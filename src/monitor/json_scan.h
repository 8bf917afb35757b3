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

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

// The scanner's grammar (RFC 8259) for the cases checked here; every other case is unsure. Each
// function takes the position and returns the position after what it read, nullptr when unsure:
// positions stay in registers (a member pointer would be reloaded after every store). Inline
// so that a reader built on them (zeek_json.cc's flat reader) gets one loop.
namespace grammar {

[[gnu::always_inline]] inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
[[gnu::always_inline]] inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

[[gnu::always_inline]] inline const char* SkipSpace(const char* p, const char* end) {
  // Most tokens follow one another directly: one test for anything above a space (reading the
  // byte at `end` is safe: the padding).
  if (static_cast<unsigned char>(*p) > ' ') return p;
  while (p < end && IsSpace(*p)) ++p;
  return p;
}

// At '"': a string of printable ASCII without escapes.
[[gnu::always_inline]] inline const char* String(const char* p, const char* end,
                                                 std::string_view& out) {
  const char* const start = ++p;
#ifdef __SSE2__
  // 16 bytes at a time: the padding after the text makes the loads safe. Bytes below 0x20 and
  // from 0x80 are below 0x20 as signed bytes: one comparison finds both.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (;;) {
    if (p >= end) return nullptr;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (mask != 0) {
      p += __builtin_ctz(mask);
      break;
    }
    p += 16;
  }
#else
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++p;
  }
#endif
  if (p >= end || *p != '"') return nullptr;
  out = std::string_view(start, static_cast<size_t>(p - start));
  return p + 1;
}

// A key and its colon; returns the position of the value.
[[gnu::always_inline]] inline const char* Key(const char* p, const char* end,
                                              std::string_view& key) {
  if (p >= end || *p != '"') return nullptr;
  p = String(p, end, key);
  if (p == nullptr) return nullptr;
  p = SkipSpace(p, end);
  if (p >= end || *p != ':') return nullptr;
  return SkipSpace(p + 1, end);
}

[[gnu::always_inline]] inline const char* Literal(const char* p, const char* end,
                                                  std::string_view word) {
  if (static_cast<size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word) {
    return nullptr;
  }
  return p + word.size();
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most 18 integer digits: an integer fits int64_t (as
// simdjson types it), a decimal is a double.
[[gnu::always_inline]] inline const char* Number(const char* p, const char* end, Value& v) {
  const char* const start = p;
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  const char* const digits = p;
  uint64_t n = 0;
  while (p < end && IsDigit(*p)) n = n * 10 + static_cast<uint64_t>(*p++ - '0');
  const size_t count = static_cast<size_t>(p - digits);
  if (count == 0 || count > 18 || (count > 1 && *digits == '0')) return nullptr;
  if (p == end || (*p != '.' && *p != 'e' && *p != 'E')) {
    v.kind = Value::Kind::kInt64;
    v.int64 = negative ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
    return p;
  }
  if (*p != '.') return nullptr;  // an exponent
  const char* const fraction = ++p;
  while (p < end && IsDigit(*p)) ++p;
  if (p == fraction || (p < end && (*p == 'e' || *p == 'E'))) return nullptr;
  v.kind = Value::Kind::kDouble;
  v.lazy = true;
  v.text = std::string_view(start, static_cast<size_t>(p - start));
  return p;
}

// At '{' or '[': the object or array, checked (json_scan.cc).
const char* Container(const char* p, const char* end, int depth);

// A value: scalars are read into `v` (which must be fresh), objects and arrays checked and
// skipped.
[[gnu::always_inline]] inline const char* ScalarOrSkip(const char* p, const char* end, Value& v,
                                                       int depth) {
  if (p >= end) return nullptr;
  switch (*p) {
    case '"':
      v.kind = Value::Kind::kString;
      return String(p, end, v.text);
    case 't':
      v.kind = Value::Kind::kBool;
      v.boolean = true;
      return Literal(p, end, "true");
    case 'f':
      v.kind = Value::Kind::kBool;
      return Literal(p, end, "false");
    case 'n':
      v.kind = Value::Kind::kNull;
      return Literal(p, end, "null");
    case '{':
      v.kind = Value::Kind::kObject;
      return Container(p, end, depth + 1);
    case '[':
      v.kind = Value::Kind::kArray;
      return Container(p, end, depth + 1);
    default:
      return Number(p, end, v);
  }
}

}  // namespace grammar

}  // namespace mamori::monitor::json
