// Zeek's JSON logs (LogAscii::use_json): one object per line with dotted keys ("id.orig_h"),
// ts as epoch seconds or ISO 8601, unset fields left out. Also accepted: a nested "id" object
// and "_path" (JSON streamed by Zeek's log writers) naming the log.
//
// Two ways to the same members: json::ScanObject (json_scan.h) reads the plain lines Zeek
// writes without simdjson; a line it is unsure of is parsed with simdjson's DOM API (the plain
// path, also what MakeZeekJsonParser(false) always uses). Either way the members are then read
// by one function, Read.
#include <simdjson.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "monitor/json_scan.h"
#include "monitor/json_util.h"
#include "monitor/parser.h"
#include "monitor/text_util.h"
#include "monitor/zeek_fields.h"
#include "monitor/zeek_json.h"

namespace mamori::monitor {
namespace {

namespace dom = simdjson::dom;
using json::Member;
using json::Value;

bool IsNumeric(zeek::Field field) {
  switch (field) {
    case zeek::Field::kTs:
    case zeek::Field::kOrigP:
    case zeek::Field::kRespP:
    case zeek::Field::kOrigBytes:
    case zeek::Field::kRespBytes:
    case zeek::Field::kOrigIpBytes:
    case zeek::Field::kStatusCode:
      return true;
    default:
      return false;
  }
}

// A DOM element as a json::Value (objects and arrays not collected).
Value ValueOf(const dom::element& element) {
  Value v;
  switch (element.type()) {
    case dom::element_type::STRING:
      v.kind = Value::Kind::kString;
      v.text = element.get_string().value_unsafe();
      break;
    case dom::element_type::INT64:
      v.kind = Value::Kind::kInt64;
      v.int64 = element.get_int64().value_unsafe();
      break;
    case dom::element_type::UINT64:
      v.kind = Value::Kind::kUint64;
      v.uint64 = element.get_uint64().value_unsafe();
      break;
    case dom::element_type::DOUBLE:
      v.kind = Value::Kind::kDouble;
      v.number = element.get_double().value_unsafe();
      break;
    case dom::element_type::BOOL:
      v.kind = Value::Kind::kBool;
      v.boolean = element.get_bool().value_unsafe();
      break;
    case dom::element_type::NULL_VALUE:
      v.kind = Value::Kind::kNull;
      break;
    case dom::element_type::OBJECT:
      v.kind = Value::Kind::kObject;
      break;
    case dom::element_type::ARRAY:
      v.kind = Value::Kind::kArray;
      break;
  }
  return v;
}

// The text of a scalar as json::ScalarText gives it for the DOM element.
json::Scalar ScalarText(const Value& value, json::NumberBuffer& buffer, std::string_view& text) {
  char* const begin = buffer.data;
  char* const end = buffer.data + sizeof buffer.data;
  std::to_chars_result r{begin, std::errc()};
  switch (value.kind) {
    case Value::Kind::kString:
      text = value.text;
      return json::Scalar::kString;
    case Value::Kind::kInt64:
      r = std::to_chars(begin, end, value.int64);
      break;
    case Value::Kind::kUint64:
      r = std::to_chars(begin, end, value.uint64);
      break;
    case Value::Kind::kDouble:
      r = std::to_chars(begin, end, json::DoubleOf(value), std::chars_format::fixed);
      break;
    case Value::Kind::kBool:
      text = value.boolean ? "true" : "false";
      return json::Scalar::kBool;
    case Value::Kind::kNull:
      return json::Scalar::kNull;
    default:
      return json::Scalar::kOther;
  }
  if (r.ec != std::errc()) return json::Scalar::kOther;
  text = std::string_view(begin, static_cast<size_t>(r.ptr - begin));
  return json::Scalar::kNumber;
}

// ts as JSON number text -?D.F (json_scan's kDouble) → microseconds exactly as Set computes
// them (llround of the correctly rounded double times 1e6), when that is the decimal's own
// microsecond: 0 <= ts < 2^31 with at most 6 decimals (see Set for why they agree). nullopt
// otherwise (the caller takes the general path).
std::optional<int64_t> ExactMicros(std::string_view number) {
  const char* p = number.data();
  const char* const end = p + number.size();
  if (p == end || *p == '-') return std::nullopt;
  int64_t seconds = 0;
  int digits = 0;
  for (; p < end && *p != '.'; ++p, ++digits) seconds = seconds * 10 + (*p - '0');
  if (digits > 10 || seconds >= 2147483648LL || p == end) return std::nullopt;
  ++p;  // the '.'
  const auto decimals = static_cast<size_t>(end - p);
  if (decimals == 0 || decimals > 6) return std::nullopt;
  int64_t micros = 0;
  for (; p < end; ++p) micros = micros * 10 + (*p - '0');
  static constexpr int64_t kScale[] = {1, 100000, 10000, 1000, 100, 10, 1};
  return seconds * 1000000 + micros * kScale[decimals];
}

}  // namespace

namespace {

// Whether the bytes at `p` are `key` of the shape with its quotes and colon, after its comma
// when `skip` is 0 (`p` at the comma), without it when 1 (`p` at the opening quote). A kept key
// is valid (String read it once), so the same bytes are the same valid key (String would stop
// at its closing quote). Reads 32 bytes from `p` (the padding makes that safe); the bytes
// compared are all before `end`.
[[gnu::always_inline]] inline bool SameKey(const char* p, const char* near_end, const char* end,
                                           const FlatShape::Key& key, int skip) {
  // After `near_end` (32 bytes before the end, or the line's start when it is shorter), only a
  // key that ends before the end can match.
  if (p > near_end && end - p < key.length + 4 - skip) return false;
  const uint32_t need = key.need >> skip;
#ifdef __SSE2__
  const auto* line = reinterpret_cast<const __m128i*>(p);
  const auto* kept = reinterpret_cast<const __m128i*>(key.pattern.data() + skip);
  auto equal = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(line), _mm_loadu_si128(kept))));
  if (need > 0xFFFF) {  // more than 16 bytes
    equal |= static_cast<uint32_t>(_mm_movemask_epi8(
                 _mm_cmpeq_epi8(_mm_loadu_si128(line + 1), _mm_loadu_si128(kept + 1))))
             << 16;
  }
  return (~equal & need) == 0;
#else
  return std::memcmp(p, key.pattern.data() + skip, size_t{key.length} + 4 - skip) == 0;
#endif
}

// The keys of `text`, an object the flat reader has just read whole, become the shape (up to
// the first key longer than kKeyBytes).
void Reshape(std::string_view text, FlatShape& shape) {
  using namespace json::grammar;
  shape.keys.clear();
  const char* const end = text.data() + text.size();
  const char* p = SkipSpace(SkipSpace(text.data(), end) + 1, end);  // after the '{'
  while (p < end && *p == '"' && shape.keys.size() < FlatShape::kMaxKeys) {
    std::string_view key;
    p = Key(p, end, key);
    if (p == nullptr || key.size() > FlatShape::kKeyBytes) return;
    FlatShape::Key& kept = shape.keys.emplace_back();
    kept.pattern[0] = ',';
    kept.pattern[1] = '"';
    std::memcpy(kept.pattern.data() + 2, key.data(), key.size());
    kept.pattern[key.size() + 2] = '"';
    kept.pattern[key.size() + 3] = ':';
    kept.length = static_cast<uint8_t>(key.size());
    kept.need = static_cast<uint32_t>((uint64_t{1} << (key.size() + 4)) - 1);
    kept.field = zeek::FieldOf(key);
    kept.kind = FlatKeyOf(key);
    Value ignored;
    p = ScalarOrSkip(p, end, ignored, 1);
    if (p == nullptr) return;
    p = SkipSpace(p, end);
    if (p >= end || *p != ',') return;
    p = SkipSpace(p + 1, end);
  }
}

// How many of the 8 bytes from `p` are digits before the first that is not (0–8), and their
// value (when at least one). Eight bytes at once (SWAR); reads 8 bytes from `p`, which may go
// past the line's end: the caller checks that what it uses is before the end.
[[gnu::always_inline]] inline int LeadingDigits(const char* p, uint64_t& value) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  const uint64_t digits = word ^ 0x3030303030303030;  // a digit's byte is now 0–9
  // The top bit of each byte that is not a digit (above 9, or from 0x80: a carry out of such a
  // byte only reaches bytes above the first non-digit, which are not looked at).
  const uint64_t other = ((digits + 0x7676767676767676) | digits) & 0x8080808080808080;
  const int count = other == 0 ? 8 : __builtin_ctzll(other) / 8;
  if (count == 0) return 0;
  // The digits as an eight-digit number with leading zeros, first digit in the lowest byte.
  uint64_t v = digits << (64 - 8 * count);
  v = v * 10 + (v >> 8);
  v = (((v & 0x000000FF000000FF) * (100 + (1000000ULL << 32))) +
       (((v >> 16) & 0x000000FF000000FF) * (1 + (10000ULL << 32)))) >>
      32;
  value = v;
  return count;
}

// The number readers below do not look at the byte after the digits they take: a number
// going on ('.', 'e' or 'E' that they do not read) leaves them at a byte that is not a value's
// end, and the reader's loop, which takes only a comma, '}' or a space after a value, stops
// there (nullopt: the general path reads the line).

// At a digit: a JSON integer of one to seven digits (no leading zero) and its value; nullptr
// for anything else (the general reader takes it).
[[gnu::always_inline]] inline const char* ShortInteger(const char* p, const char* end,
                                                       uint64_t& value) {
  const int count = LeadingDigits(p, value);
  if (count == 0 || count == 8 || (count > 1 && *p == '0') || end - p <= count) return nullptr;
  return p + count;
}

// At a digit: a JSON number -- integer part of one to seven digits, then maybe a fraction of
// one to seven digits -- checked, not read; nullptr for anything else (the general
// reader takes it).
[[gnu::always_inline]] inline const char* SkipShortNumber(const char* p, const char* end) {
  using json::grammar::IsDigit;
  if (IsDigit(p[0]) && !IsDigit(p[1]) && p[1] != '.' && end - p > 1) return p + 1;
  uint64_t ignored = 0;
  const int count = LeadingDigits(p, ignored);
  if (count == 0 || count == 8 || (count > 1 && *p == '0') || end - p <= count) return nullptr;
  p += count;
  if (*p != '.') return p;
  ++p;
  const int decimals = LeadingDigits(p, ignored);
  if (decimals == 0 || decimals == 8 || end - p <= decimals) return nullptr;
  return p + decimals;
}

// At a digit: ts as epoch seconds in the numbers Set reads exactly (the DOM path): an integer
// of at most 10 digits (seconds), or a decimal below 2^31 s with one to six decimals (see
// ExactMicros); both with JSON's grammar (no leading zero). nullptr otherwise.
[[gnu::always_inline]] inline const char* EpochMicros(const char* p, const char* end,
                                                      int64_t& micros) {
  using json::grammar::IsDigit;
  uint64_t seconds = 0;
  const int count = LeadingDigits(p, seconds);
  const char* q = p + count;
  if (count == 8) {  // up to two more
    for (int k = 0; k < 2 && IsDigit(*q); ++k) seconds = seconds * 10 + uint64_t(*q++ - '0');
    if (IsDigit(*q)) return nullptr;
  }
  if (count == 0 || end - q <= 0 || (count > 1 && *p == '0')) return nullptr;
  if (*q != '.') {
    micros = static_cast<int64_t>(seconds) * 1000000;
    return q;
  }
  uint64_t part = 0;
  const int decimals = LeadingDigits(++q, part);
  q += decimals;
  if (decimals == 0 || decimals > 6 || end - q <= 0 || seconds >= 2147483648ULL) {
    return nullptr;
  }
  static constexpr int64_t kScale[] = {1, 100000, 10000, 1000, 100, 10, 1};
  micros = static_cast<int64_t>(seconds) * 1000000 + static_cast<int64_t>(part) * kScale[decimals];
  return q;
}

// What a line's members have told so far.
struct FlatState {
  bool has_ts = false;
  zeek::Seen seen;
  std::optional<LogType> path_type;
  bool path_seen = false;
};

// One member as Read and Set take it, for the values plain Zeek lines hold, from the value
// json::grammar read; false for anything else (a nested "id", null, a value of an unexpected
// type, a failed check): the caller stops.
bool Take(FlatKey kind, zeek::Field field, const Value& value, Event& event, FlatState& state) {
  Reason reason;
  if (field == zeek::Field::kOther) {
    if (kind == FlatKey::kId) return false;
    if (kind == FlatKey::kPath) {
      if (value.kind != Value::Kind::kString) return false;
      state.path_seen = true;
      state.path_type = zeek::LogTypeOfPath(value.text);
    }
    return true;
  }
  state.seen.Note(field);
  switch (value.kind) {
    case Value::Kind::kString:
      if (!zeek::Assign(field, value.text, event, reason)) return false;
      if (field == zeek::Field::kTs) state.has_ts = true;
      return true;
    case Value::Kind::kInt64:
      if (field == zeek::Field::kTs || !IsNumeric(field)) return false;
      return zeek::AssignNumber(field, value.int64 < 0,
                                value.int64 < 0 ? 0 : static_cast<uint64_t>(value.int64), event,
                                reason);
    case Value::Kind::kDouble: {
      if (field != zeek::Field::kTs || !value.lazy) return false;
      const std::optional<int64_t> micros = ExactMicros(value.text);
      if (!micros) return false;
      event.ts_us = *micros;
      state.has_ts = true;
      return true;
    }
    default:
      return false;
  }
}

// The value of a member at `p` (p <= end; every reading checks the end): the forms Zeek writes for
// each field read straight into the event, the values of fields not read only checked; any other
// value (and the members "id" and "_path") through json::grammar and Take. Returns the position
// after the value, nullptr when the reader must stop.
[[gnu::always_inline]] inline const char* MemberValue(const char* p, const char* end,
                                                      const FlatShape::Key& key, Event& event,
                                                      FlatState& state) {
  using namespace json::grammar;
  // Each case names its own event member (not the field again): the key's field and kind stay
  // in memory, the loop around this has few registers to spare.
  std::string_view text;
  // The quoted string at `p`, or nullptr (then the general way below decides).
  auto quoted = [&]() __attribute__((always_inline))->const char* {
    return *p == '"' ? String(p, end, text) : nullptr;
  };
  auto address = [&](Address & a) __attribute__((always_inline))->const char* {  // SetAddress
    if (*p != '"') return nullptr;
    // A dotted quad up to the closing quote (the usual address) at once, without the string's
    // own scan: it holds neither escapes nor control bytes. The padding covers the reads. (A
    // memo of earlier lines' answers was measured slower: its table's cache misses cost more
    // than reading the address again.)
    const uint64_t v4_text = QuotedDottedQuadPadded(p + 1);
    const auto length = static_cast<size_t>(v4_text >> 32);
    if (length != 0 && end - p > static_cast<ptrdiff_t>(length + 1)) {  // the quote before the end
      a.text = std::string_view(p + 1, length);
      a.is_v4 = true;
      a.v4 = static_cast<uint32_t>(v4_text);
      return p + length + 2;
    }
    const char* q = quoted();
    if (q == nullptr) return nullptr;
    // The padding after the line covers the address's reads.
    const std::optional<uint32_t> v4 = ParseDottedQuadPadded(text);
    a.text = text;
    a.is_v4 = v4.has_value();
    a.v4 = v4.value_or(0);
    return q;
  };
  auto port = [&](uint16_t & slot) __attribute__((always_inline))->const char* {
    uint64_t n = 0;
    const char* q = ShortInteger(p, end, n);
    if (q == nullptr || n > 65535) return nullptr;
    slot = static_cast<uint16_t>(n);
    event.has_ports = true;
    return q;
  };
  auto count = [&](uint64_t & slot) __attribute__((always_inline))
                   ->const char* {  // Seen::Note's conn fields
    uint64_t n = 0;
    const char* q = ShortInteger(p, end, n);
    if (q == nullptr) return nullptr;
    slot = n;
    state.seen.conn = true;
    return q;
  };
  const char* q = nullptr;
  switch (key.field) {
    case zeek::Field::kOther:  // checked, not read
      if (key.kind != FlatKey::kPlain) break;
      switch (*p) {
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
          q = SkipShortNumber(p, end);
          break;
        case '"':
          return String(p, end, text);
        case 't':
          return Literal(p, end, "true");
        case 'f':
          return Literal(p, end, "false");
        case 'n':
          return Literal(p, end, "null");
        default:
          break;
      }
      break;
    case zeek::Field::kTs:
      q = EpochMicros(p, end, event.ts_us);
      if (q != nullptr) state.has_ts = true;
      break;
    case zeek::Field::kUid:
      q = quoted();
      if (q != nullptr) event.uid = text;
      break;
    case zeek::Field::kOrigH:
      q = address(event.src);
      break;
    case zeek::Field::kRespH:
      q = address(event.dst);
      break;
    case zeek::Field::kProto:
      q = quoted();
      // Zeek writes lower case: the usual two in one comparison each, as ParseProto reads them.
      // The text's first four bytes with its closing quote: "tcp" is `tcp"` and nothing else
      // is (a string holds no quote). A comparison of a constant size: one load, no call.
      if (q != nullptr) {
        event.proto = std::memcmp(text.data(), "tcp\"", 4) == 0   ? Proto::kTcp
                      : std::memcmp(text.data(), "udp\"", 4) == 0 ? Proto::kUdp
                                                                  : ParseProto(text);
      }
      break;
    case zeek::Field::kConnState:
      q = quoted();
      if (q != nullptr) {
        state.seen.conn = true;
        event.conn_state = text;
        event.outcome = zeek::OutcomeOfConnState(text);
      }
      break;
    case zeek::Field::kOrigP:
      q = port(event.sport);
      break;
    case zeek::Field::kRespP:
      q = port(event.dport);
      break;
    case zeek::Field::kOrigBytes:
      q = count(event.bytes_out);
      if (q != nullptr) event.has_bytes = true;
      break;
    case zeek::Field::kRespBytes:
      q = count(event.bytes_in);
      if (q != nullptr) event.has_bytes = true;
      break;
    case zeek::Field::kOrigIpBytes:
      q = count(event.ip_bytes_out);
      if (q != nullptr) event.has_ip_bytes = true;
      break;
    case zeek::Field::kQuery:
    case zeek::Field::kHost:
    case zeek::Field::kUri:
    case zeek::Field::kMethod:
    case zeek::Field::kStatusCode:
    case zeek::Field::kUserAgent:
    case zeek::Field::kServerName:
      break;  // the general way
    default:
      __builtin_unreachable();  // FieldOf gives only the fields above: no range check
  }
  if (q != nullptr) return q;
  // Anything else, as the scanner reads it. Space after a key's colon (which Zeek does not
  // write) is skipped only here: every form read above starts with no space before it.
  Value value;
  p = ScalarOrSkip(SkipSpace(p, end), end, value, 1);
  if (p == nullptr || !Take(key.kind, key.field, value, event, state)) return nullptr;
  return p;
}

}  // namespace

std::optional<ParseResult> ReadFlatZeekJson(std::string_view text, Event& event, FlatShape& shape) {
  FlatState state;
  // json::ScanObject's loop without the member list; each key is first compared with the one at
  // its place in the last line.
  using namespace json::grammar;
  const char* const end = text.data() + text.size();
  const char* p = SkipSpace(text.data(), end);
  if (p >= end || *p != '{') return std::nullopt;
  p = SkipSpace(p + 1, end);
  if (p < end && *p == '}') {
    ++p;
  } else {
    // How many members the line has is only needed when the shape missed some: it is counted
    // from the keys passed over and the misses.
    size_t misses = 0, skipped = 0;
    const char* const near_end = text.size() >= 32 ? end - 32 : text.data();
    const FlatShape::Key* const first = shape.keys.data();
    const FlatShape::Key* const last = first + shape.keys.size();
    const FlatShape::Key* next = first;  // the shape's key expected now
    // The key expected at `at`, or the one after it (a key absent from this line is passed
    // over); nullptr when neither.
    auto match = [&](const char* at, int skip) __attribute__((always_inline))
                     ->const FlatShape::Key* {
      const FlatShape::Key* k = next;
      // At the end of the shape (`next` never passes it), or the shape empty: no step from a
      // null data pointer.
      if (k == last) return nullptr;
      if (SameKey(at, near_end, end, *k, skip)) return k;
      if (++k < last && SameKey(at, near_end, end, *k, skip)) [[unlikely]] {
        ++skipped;
        return k;
      }
      return nullptr;
    };
    FlatShape::Key missed;  // a key the shape did not have
    const FlatShape::Key* k = match(p, 1);
    for (;;) {
      // `p` at the key, whose shape entry is `k` when it matched.
      if (k != nullptr) {
        next = k + 1;
        p += k->length + 3;  // at most `end` (the key ended before it)
      } else {
        std::string_view key;
        p = Key(p, end, key);
        if (p == nullptr) return std::nullopt;
        missed.field = zeek::FieldOf(key);
        missed.kind = FlatKeyOf(key);
        k = &missed;
        ++misses;
      }
      // Usually a comma and the next key at once, the value after it read in this inner loop;
      // else the separator the general way.
      for (;;) {
        p = MemberValue(p, end, *k, event, state);
        if (p == nullptr) return std::nullopt;
        if ((k = match(p, 0)) == nullptr) break;
        next = k + 1;
        p += k->length + 4;  // at most `end`, as above
      }
      p = SkipSpace(p, end);
      if (p >= end) return std::nullopt;
      const char c = *p++;
      if (c == '}') break;
      if (c != ',') return std::nullopt;
      p = SkipSpace(p, end);
      k = match(p, 1);
    }
    // A line with more keys than the one the shape was made from, or one the shape mostly
    // missed, becomes the shape (its keys up to the first longer than kKeyBytes): read once
    // more, keys only (rare).
    if (misses > 0) {
      const size_t count = static_cast<size_t>(next - first) - skipped + misses;
      if (count > shape.line_keys || misses * 2 > count) {
        Reshape(text, shape);
        shape.line_keys = count;
      }
    }
  }
  if (SkipSpace(p, end) != end) return std::nullopt;
  const std::optional<LogType> type = state.path_seen ? state.path_type : state.seen.Type();
  if (!type) return ParseResult::Ignored(zeek::kOtherLog);
  event.type = *type;
  return zeek::Complete(event, state.has_ts);
}

namespace {

// `event` = Event{} with the line's format, file and line. Event{} is all zero bytes; GCC clears
// an object of this size with `rep stos` (one step per 8 bytes, and a slow start): 16-byte
// stores instead, about half as many steps.
[[gnu::always_inline]] inline void Fresh(Event& event, const Line& line) {
#ifdef __SSE2__
  static_assert(std::is_trivially_copyable_v<Event>);
  auto* const bytes = reinterpret_cast<char*>(&event);
  const __m128i zero = _mm_setzero_si128();
  size_t i = 0;
#pragma GCC unroll 32
  for (; i + 16 <= sizeof(Event); i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + i), zero);
  }
  if constexpr (sizeof(Event) % 16 != 0) std::memset(bytes + i, 0, sizeof(Event) % 16);
#else
  event = Event{};
#endif
  event.format = InputFormat::kZeekJson;
  event.file = line.file;
  event.line = line.number;
}

class ZeekJsonParser final : public Parser {
 public:
  explicit ZeekJsonParser(bool fast) : fast_(fast) {}

  ParseResult Parse(const Line& line, Event& event) override {
    Fresh(event, line);
    if (fast_) {
      if (const std::optional<ParseResult> r = ReadFlatZeekJson(line.text, event, shape_)) {
        return *r;
      }
      Fresh(event, line);  // the scan stopped part way: start again
    }
    if (!fast_ || json::ScanObject(line.text, "id", members_, nested_) != json::Scan::kValid) {
      dom::object object;
      if (!json::ParseObject(parser_, line.text, object)) {
        return ParseResult::Malformed(json::kNotJsonObject);
      }
      members_.clear();
      nested_.clear();
      for (const dom::key_value_pair member : object) {
        Member& m = members_.emplace_back(Member{member.key, ValueOf(member.value)});
        if (m.key != "id" || m.value.kind != Value::Kind::kObject) continue;
        m.value.collected = true;
        m.value.begin = static_cast<uint32_t>(nested_.size());
        dom::object id;
        if (member.value.get_object().get(id)) return ParseResult::Malformed(json::kBadValue);
        for (const dom::key_value_pair inner : id) {
          nested_.push_back(Member{inner.key, ValueOf(inner.value)});
        }
        m.value.end = static_cast<uint32_t>(nested_.size());
      }
    }
    return Read(event);
  }

 private:
  // The event from members_ and nested_.
  ParseResult Read(Event& event) {
    bool has_ts = false;
    zeek::Seen seen;
    std::optional<LogType> path_type;
    bool path_seen = false;
    for (const Member& member : members_) {
      const std::string_view key = member.key;
      if (key == "_path") {
        if (member.value.kind != Value::Kind::kString) {
          return ParseResult::Malformed(json::kBadValue);
        }
        path_seen = true;
        path_type = zeek::LogTypeOfPath(member.value.text);
        continue;
      }
      if (key == "id") {  // nested {"orig_h": …}
        if (member.value.kind != Value::Kind::kObject) {
          return ParseResult::Malformed(json::kBadValue);
        }
        for (uint32_t i = member.value.begin; i < member.value.end; ++i) {
          const std::string_view k = nested_[i].key;
          const zeek::Field field = k == "orig_h"   ? zeek::Field::kOrigH
                                    : k == "orig_p" ? zeek::Field::kOrigP
                                    : k == "resp_h" ? zeek::Field::kRespH
                                    : k == "resp_p" ? zeek::Field::kRespP
                                                    : zeek::Field::kOther;
          bool set = false;
          if (field == zeek::Field::kOther) continue;
          if (auto r = Set(field, nested_[i].value, event, set)) return *r;
        }
        continue;
      }
      const zeek::Field field = zeek::FieldOf(key);
      if (field == zeek::Field::kOther) continue;
      seen.Note(field);
      bool set = false;
      if (auto r = Set(field, member.value, event, set)) return *r;
      if (field == zeek::Field::kTs && set) has_ts = true;
    }
    const std::optional<LogType> type = path_seen ? path_type : seen.Type();
    if (!type) return ParseResult::Ignored(zeek::kOtherLog);
    event.type = *type;
    return zeek::Complete(event, has_ts);
  }

  // Sets one field (`set` false when the value is null); a failure as a ParseResult.
  std::optional<ParseResult> Set(zeek::Field field, const Value& value, Event& event, bool& set) {
    Reason reason;
    // ts as epoch seconds: microseconds straight from the parsed double. Below 2^31 s (2038) a
    // double is within 0.12 µs of the decimal Zeek wrote (6 decimals) and the product with 1e6
    // within 0.125 more, so rounding gives the exact microsecond; later times, and ts as text,
    // go through the decimal text.
    if (field == zeek::Field::kTs && value.kind == Value::Kind::kDouble) {
      const double seconds = json::DoubleOf(value);
      if (seconds >= 0 && seconds < 2147483648.0) {
        event.ts_us = std::llround(seconds * 1e6);
        set = true;
        return std::nullopt;
      }
    }
    // Integers (ports, byte counts, status) straight from the parsed number.
    if (field != zeek::Field::kTs &&
        (value.kind == Value::Kind::kInt64 || value.kind == Value::Kind::kUint64)) {
      if (!IsNumeric(field)) return ParseResult::Malformed(json::kBadValue);
      bool negative = false;
      uint64_t n = 0;
      if (value.kind == Value::Kind::kUint64) {
        n = value.uint64;
      } else {
        negative = value.int64 < 0;
        n = negative ? 0 : static_cast<uint64_t>(value.int64);
      }
      if (!zeek::AssignNumber(field, negative, n, event, reason)) {
        return ParseResult::Malformed(reason);
      }
      set = true;
      return std::nullopt;
    }
    std::string_view text;
    const json::Scalar kind = ScalarText(value, number_, text);
    if (kind == json::Scalar::kNull) return std::nullopt;
    // Numbers are formatted into one buffer: only fields parsed at once may be numbers.
    if (kind == json::Scalar::kOther || kind == json::Scalar::kBool ||
        (kind == json::Scalar::kNumber && !IsNumeric(field))) {
      return ParseResult::Malformed(json::kBadValue);
    }
    if (!zeek::Assign(field, text, event, reason)) return ParseResult::Malformed(reason);
    set = true;
    return std::nullopt;
  }

  const bool fast_;
  FlatShape shape_;  // the keys of the last flat line
  dom::parser parser_;
  json::NumberBuffer number_;
  std::vector<Member> members_;
  std::vector<Member> nested_;
};

}  // namespace

std::unique_ptr<Parser> MakeZeekJsonParser(bool fast) {
  return std::make_unique<ZeekJsonParser>(fast);
}

}  // namespace mamori::monitor
