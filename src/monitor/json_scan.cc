#include "monitor/json_scan.h"

#include <charconv>

namespace mamori::monitor::json {
namespace grammar {

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

}  // namespace grammar

namespace {

using namespace grammar;

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
