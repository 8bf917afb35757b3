#include "monitor/json_scan.h"

#include <charconv>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace mamori::monitor::json {
namespace {

// The JSON grammar (RFC 8259) for the cases checked here; every other case is unsure. Each
// function takes the position and returns the position after what it read, nullptr when unsure:
// positions stay in registers (a member pointer would be reloaded after every store).

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

// At '{' or '[': the object or array, checked.
[[gnu::noinline]] const char* Container(const char* p, const char* end, int depth) {
  if (depth > kMaxDepth) return nullptr;
  const char close = *p == '{' ? '}' : ']';
  p = SkipSpace(p + 1, end);
  if (p < end && *p == close) return p + 1;
  for (;;) {
    Value ignored;
    if (close == '}') {
      std::string_view key;
      p = Key(p, end, key);
      if (p == nullptr) return nullptr;
    }
    p = ScalarOrSkip(p, end, ignored, depth);
    if (p == nullptr) return nullptr;
    p = SkipSpace(p, end);
    if (p >= end) return nullptr;
    const char c = *p++;
    if (c == close) return p;
    if (c != ',') return nullptr;
    p = SkipSpace(p, end);
  }
}

// At '{': an object whose members are appended to `out` (their objects and arrays checked,
// not collected).
const char* Members(const char* p, const char* end, std::vector<Member>& out) {
  p = SkipSpace(p + 1, end);
  if (p < end && *p == '}') return p + 1;
  for (;;) {
    Member& member = out.emplace_back();
    p = Key(p, end, member.key);
    if (p == nullptr) return nullptr;
    p = ScalarOrSkip(p, end, member.value, 1);
    if (p == nullptr) return nullptr;
    p = SkipSpace(p, end);
    if (p >= end) return nullptr;
    const char c = *p++;
    if (c == '}') return p;
    if (c != ',') return nullptr;
    p = SkipSpace(p, end);
  }
}

}  // namespace

double DoubleOf(const Value& value) {
  if (!value.lazy) return value.number;
  double d = 0;
  // The text is -?digits.digits (Scanner::Number): from_chars rounds it correctly, as simdjson
  // does.
  std::from_chars(value.text.data(), value.text.data() + value.text.size(), d);
  return d;
}

Scan ScanObject(std::string_view text, std::string_view collect, std::vector<Member>& members,
                std::vector<Member>& nested) {
  members.clear();
  nested.clear();
  const char* const end = text.data() + text.size();
  const char* p = SkipSpace(text.data(), end);
  if (p >= end || *p != '{') return Scan::kUnsure;
  p = SkipSpace(p + 1, end);
  if (p < end && *p == '}') {
    ++p;
  } else {
    for (;;) {
      Member& member = members.emplace_back();
      p = Key(p, end, member.key);
      if (p == nullptr) return Scan::kUnsure;
      if (p < end && *p == '{' && member.key == collect) {
        member.value.kind = Value::Kind::kObject;
        member.value.collected = true;
        member.value.begin = static_cast<uint32_t>(nested.size());
        p = Members(p, end, nested);
        member.value.end = static_cast<uint32_t>(nested.size());
      } else {
        p = ScalarOrSkip(p, end, member.value, 1);
      }
      if (p == nullptr) return Scan::kUnsure;
      p = SkipSpace(p, end);
      if (p >= end) return Scan::kUnsure;
      const char c = *p++;
      if (c == '}') break;
      if (c != ',') return Scan::kUnsure;
      p = SkipSpace(p, end);
    }
  }
  return SkipSpace(p, end) == end ? Scan::kValid : Scan::kUnsure;
}

}  // namespace mamori::monitor::json
