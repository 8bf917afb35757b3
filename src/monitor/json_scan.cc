#include "monitor/json_scan.h"

#include <charconv>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace mamori::monitor::json {
namespace {

// The JSON grammar (RFC 8259) for the cases checked here; every other case is kUnsure.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  Scan Object(std::string_view collect, std::vector<Member>& members, std::vector<Member>& nested) {
    SkipSpace();
    if (Peek() != '{') return Scan::kUnsure;
    ++p_;
    SkipSpace();
    if (Peek() == '}') {
      ++p_;
    } else {
      for (;;) {
        Member& member = members.emplace_back();
        if (!Key(member.key)) return Scan::kUnsure;
        if (Peek() == '{' && member.key == collect) {
          if (!Collect(member.value, nested)) return Scan::kUnsure;
        } else if (!ScalarOrSkip(member.value, 1)) {
          return Scan::kUnsure;
        }
        SkipSpace();
        const char c = Peek();
        ++p_;
        if (c == '}') break;
        if (c != ',') return Scan::kUnsure;
        SkipSpace();
      }
    }
    SkipSpace();
    return p_ == end_ ? Scan::kValid : Scan::kUnsure;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  char Peek() const { return p_ < end_ ? *p_ : '\0'; }
  void SkipSpace() {
    while (p_ < end_ && IsSpace(*p_)) ++p_;
  }

  // At '"': a string of printable ASCII without escapes.
  bool String(std::string_view& out) {
    const char* const start = ++p_;
#ifdef __SSE2__
    // 16 bytes at a time: the padding after the text makes the loads safe. Bytes below 0x20 and
    // from 0x80 are negative or small as signed bytes: one comparison finds both.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (;;) {
      if (p_ >= end_) return false;
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmplt_epi8(v, space));
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      if (mask == 0) {
        p_ += 16;
        continue;
      }
      p_ += __builtin_ctz(mask);
      break;
    }
#else
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
#endif
    if (p_ >= end_ || *p_ != '"') return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

  // A key and its colon; leaves p_ at the value.
  bool Key(std::string_view& key) {
    if (Peek() != '"' || !String(key)) return false;
    SkipSpace();
    if (Peek() != ':') return false;
    ++p_;
    SkipSpace();
    return true;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most 18 integer digits: an integer fits int64_t (as
  // simdjson types it), a decimal is a double.
  bool Number(Value& v) {
    const char* const start = p_;
    const bool negative = Peek() == '-';
    if (negative) ++p_;
    const char* const digits = p_;
    uint64_t n = 0;
    while (p_ < end_ && IsDigit(*p_)) n = n * 10 + static_cast<uint64_t>(*p_++ - '0');
    const size_t count = static_cast<size_t>(p_ - digits);
    if (count == 0 || count > 18 || (count > 1 && *digits == '0')) return false;
    const char c = Peek();
    if (c == 'e' || c == 'E') return false;
    if (c != '.') {
      v.kind = Value::Kind::kInt64;
      v.int64 = negative ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
      return true;
    }
    ++p_;
    const char* const fraction = p_;
    while (p_ < end_ && IsDigit(*p_)) ++p_;
    if (p_ == fraction) return false;
    const char after = Peek();
    if (after == 'e' || after == 'E') return false;
    v.kind = Value::Kind::kDouble;
    v.lazy = true;
    v.text = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  // A value at p_: scalars are read into `v`, objects and arrays checked and skipped.
  bool ScalarOrSkip(Value& v, int depth) {
    switch (Peek()) {
      case '"':
        v.kind = Value::Kind::kString;
        return String(v.text);
      case 't':
        v.kind = Value::Kind::kBool;
        v.boolean = true;
        return Literal("true");
      case 'f':
        v.kind = Value::Kind::kBool;
        v.boolean = false;
        return Literal("false");
      case 'n':
        v.kind = Value::Kind::kNull;
        return Literal("null");
      case '{':
        v.kind = Value::Kind::kObject;
        return SkipObject(depth + 1);
      case '[':
        v.kind = Value::Kind::kArray;
        return SkipArray(depth + 1);
      default:
        return Number(v);
    }
  }

  bool SkipObject(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    SkipSpace();
    if (Peek() == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      std::string_view key;
      Value ignored;
      if (!Key(key) || !ScalarOrSkip(ignored, depth)) return false;
      SkipSpace();
      const char c = Peek();
      ++p_;
      if (c == '}') return true;
      if (c != ',') return false;
      SkipSpace();
    }
  }

  bool SkipArray(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    SkipSpace();
    if (Peek() == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      Value ignored;
      if (!ScalarOrSkip(ignored, depth)) return false;
      SkipSpace();
      const char c = Peek();
      ++p_;
      if (c == ']') return true;
      if (c != ',') return false;
      SkipSpace();
    }
  }

  // An object value whose members are collected into `nested`.
  bool Collect(Value& v, std::vector<Member>& nested) {
    v.kind = Value::Kind::kObject;
    v.collected = true;
    v.begin = static_cast<uint32_t>(nested.size());
    ++p_;
    SkipSpace();
    if (Peek() == '}') {
      ++p_;
    } else {
      for (;;) {
        Member& member = nested.emplace_back();
        if (!Key(member.key) || !ScalarOrSkip(member.value, 2)) return false;
        SkipSpace();
        const char c = Peek();
        ++p_;
        if (c == '}') break;
        if (c != ',') return false;
        SkipSpace();
      }
    }
    v.end = static_cast<uint32_t>(nested.size());
    return true;
  }

  const char* p_;
  const char* const end_;
};

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
  return Scanner(text).Object(collect, members, nested);
}

}  // namespace mamori::monitor::json
