#include "monitor/text_util.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "netsep/ruleset.h"

namespace mamori::monitor {
namespace {

bool Digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `s[pos]`.
std::optional<int> Fixed(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!Digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (!Digit(c)) return std::nullopt;
    const uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;
    v = next;
  }
  return v;
}

std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  const std::optional<uint64_t> v = ParseUnsigned(text);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

std::optional<int64_t> ParseEpochSeconds(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (whole.size() > 12) return std::nullopt;
  const std::optional<uint64_t> seconds = ParseUnsigned(whole);
  if (!seconds) return std::nullopt;
  int64_t micros = 0;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty() || fraction.size() > 9) return std::nullopt;
    int64_t scale = 100000;
    for (char c : fraction) {
      if (!Digit(c)) return std::nullopt;
      micros += (c - '0') * scale;
      scale /= 10;
    }
  }
  return static_cast<int64_t>(*seconds) * 1000000 + micros;
}

std::optional<int64_t> CivilToMicros(int year, int month, int day, int hour, int minute,
                                     int second) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      hour < 0 || minute < 0 || second < 0) {
    return std::nullopt;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * int64_t{60000000} + int64_t{second} * 1000000;
}

std::optional<int64_t> ParseIsoTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS
  const auto year = Fixed(s, 0, 4);
  const auto month = Fixed(s, 5, 2);
  const auto day = Fixed(s, 8, 2);
  const auto hour = Fixed(s, 11, 2);
  const auto minute = Fixed(s, 14, 2);
  const auto second = Fixed(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  std::optional<int64_t> t = CivilToMicros(*year, *month, *day, *hour, *minute, *second);
  if (!t) return std::nullopt;
  size_t pos = 19;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int64_t scale = 100000;
    const size_t start = pos;
    while (pos < s.size() && Digit(s[pos])) {
      *t += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  if (pos == s.size()) return t;
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return t;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '+' ? 1 : -1;
  const auto oh = Fixed(s, pos + 1, 2);
  if (!oh) return std::nullopt;
  std::optional<int> om;
  if (pos + 3 < s.size() && s[pos + 3] == ':') {
    om = Fixed(s, pos + 4, 2);
    if (pos + 6 != s.size()) return std::nullopt;
  } else {
    om = Fixed(s, pos + 3, 2);
    if (pos + 5 != s.size()) return std::nullopt;
  }
  if (!om || *oh > 23 || *om > 59) return std::nullopt;
  return *t - sign * (int64_t{*oh} * 60 + *om) * 60000000;
}

std::string FormatIsoUtc(int64_t ts_us) {
  char buffer[kIsoUtcBytes];
  return std::string(FormatIsoUtcTo(ts_us, buffer));
}

std::string_view FormatIsoUtcTo(int64_t ts_us, char (&out)[kIsoUtcBytes]) {
  int64_t seconds = ts_us / 1000000;
  if (ts_us % 1000000 < 0) --seconds;
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // H. Hinnant's civil_from_days.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  const auto hour = static_cast<unsigned>(rem / 3600);
  const auto minute = static_cast<unsigned>(rem / 60 % 60);
  const auto second = static_cast<unsigned>(rem % 60);
  if (y >= 0 && y <= 9999) {  // written directly (alerts write one each)
    auto two = [&](size_t at, unsigned v) {
      out[at] = static_cast<char>('0' + v / 10);
      out[at + 1] = static_cast<char>('0' + v % 10);
    };
    const auto year = static_cast<unsigned>(y);
    two(0, year / 100);
    two(2, year % 100);
    out[4] = '-';
    two(5, m);
    out[7] = '-';
    two(8, d);
    out[10] = 'T';
    two(11, hour);
    out[13] = ':';
    two(14, minute);
    out[16] = ':';
    two(17, second);
    out[19] = 'Z';
    return std::string_view(out, 20);
  }
  const int n = std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
                              static_cast<long long>(y), m, d, hour, minute, second);
  return std::string_view(out, static_cast<size_t>(n));
}

std::optional<uint32_t> ParseDottedQuad(std::string_view text) {
  // netsep::ParseIpv4's grammar, unrolled: four octets of one to three digits, no leading zero,
  // at most 255, separated by single dots (text_util_test compares the two).
  const size_t n = text.size();
  if (n < 7 || n > 15) return std::nullopt;
  const char* p = text.data();
  const char* const end = p + n;
  uint32_t address = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (p == end) return std::nullopt;
    uint32_t value = static_cast<unsigned char>(*p) - '0';
    if (value > 9) return std::nullopt;
    ++p;
    if (p != end && static_cast<unsigned>(static_cast<unsigned char>(*p) - '0') <= 9) {
      if (value == 0) return std::nullopt;  // a leading zero
      value = value * 10 + static_cast<uint32_t>(*p++ - '0');
      if (p != end && static_cast<unsigned>(static_cast<unsigned char>(*p) - '0') <= 9) {
        value = value * 10 + static_cast<uint32_t>(*p++ - '0');
        if (value > 255) return std::nullopt;
      }
    }
    address = address << 8 | value;
    if (octet < 3) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  return p == end ? std::optional<uint32_t>(address) : std::nullopt;
}

namespace {

// ParsePrefixStrict past its address: `address` read from the text before `slash`.
std::optional<std::pair<uint32_t, int>> PrefixAfter(std::string_view text, size_t slash,
                                                    std::optional<uint32_t> address) {
  if (!address) return std::nullopt;
  int length = 32;
  if (slash != std::string_view::npos) {
    // One or two digits, no leading zero, at most 32 (ParsePrefix's ParseDecimal(…, 2)).
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 2 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    length = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + (c - '0');
    }
    if (length > 32) return std::nullopt;
  }
  const uint32_t mask = length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  if ((*address & mask) != *address) return std::nullopt;  // host bits set
  return std::pair<uint32_t, int>(*address, length);
}

}  // namespace

std::optional<std::pair<uint32_t, int>> ParsePrefixStrict(std::string_view text) {
  const size_t slash = text.find('/');
  return PrefixAfter(text, slash, ParseDottedQuad(text.substr(0, slash)));
}

void SetAddress(Address& address, std::string_view text) {
  address.text = text;
  const std::optional<uint32_t> v4 = ParseDottedQuad(text);
  address.is_v4 = v4.has_value();
  address.v4 = v4.value_or(0);
}

namespace {

// The octet of `count` digits at `s` (checked digits): one to three, no leading zero, at most
// 255.
[[gnu::always_inline]] inline bool Octet(const char* s, unsigned count, uint32_t& value) {
  const auto digit = [s](int i) { return static_cast<uint32_t>(s[i] - '0'); };
  switch (count) {
    case 1:
      value = digit(0);
      return true;
    case 2:
      value = digit(0) * 10 + digit(1);
      return s[0] != '0';
    case 3:
      value = digit(0) * 100 + digit(1) * 10 + digit(2);
      return s[0] != '0' && value <= 255;
    default:
      return false;
  }
}

#ifdef __SSE2__
// The dotted quad in the first `n` of the 16 bytes `v` read from `s`.
[[gnu::always_inline]] inline std::optional<uint32_t> DottedQuadIn(const char* s, __m128i v,
                                                                   size_t n) {
  // Where the dots and the digits are, 16 bytes at once: then each octet's length is known.
  if (n < 7 || n > 15) return std::nullopt;
  const unsigned in = (1u << n) - 1;
  unsigned dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
  // Signed comparisons: bytes from 0x80 are below '0'.
  const auto digits = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(
      _mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)))));
  dots &= in;
  if (((dots | digits) & in) != in) return std::nullopt;
  // Exactly three dots (the lowest three, and no fourth).
  const auto d0 = static_cast<unsigned>(__builtin_ctz(dots | 0x10000));
  dots &= dots - 1;
  const auto d1 = static_cast<unsigned>(__builtin_ctz(dots | 0x10000));
  dots &= dots - 1;
  const auto d2 = static_cast<unsigned>(__builtin_ctz(dots | 0x10000));
  if (d2 >= n || (dots & (dots - 1)) != 0) return std::nullopt;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  if (!Octet(s, d0, a) || !Octet(s + d0 + 1, d1 - d0 - 1, b) ||
      !Octet(s + d1 + 1, d2 - d1 - 1, c) ||
      !Octet(s + d2 + 1, static_cast<unsigned>(n) - d2 - 1, d)) {
    return std::nullopt;
  }
  return a << 24 | b << 16 | c << 8 | d;
}
#endif

}  // namespace

std::optional<uint32_t> ParseDottedQuadPadded(std::string_view text) {
#ifdef __SSE2__
  const char* const s = text.data();
  return DottedQuadIn(s, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), text.size());
#else
  return ParseDottedQuad(text);
#endif
}

std::optional<std::pair<uint32_t, int>> ParsePrefixStrictPadded(std::string_view text) {
#ifdef __SSE2__
  // The address and the slash after it in one 16-byte load: an address part longer than 15
  // bytes is no address whatever follows, so the first '/' need only be looked for there.
  const char* const s = text.data();
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const unsigned in = text.size() >= 16 ? 0xFFFFu : (1u << text.size()) - 1;
  const unsigned slashes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')))) & in;
  size_t slash = std::string_view::npos;
  size_t n = text.size();  // above 15: DottedQuadIn refuses it
  if (slashes != 0) slash = n = static_cast<size_t>(__builtin_ctz(slashes));
  return PrefixAfter(text, slash, DottedQuadIn(s, v, n));
#else
  return ParsePrefixStrict(text);
#endif
}

uint64_t QuotedDottedQuadPadded(const char* s) {
#ifdef __SSE2__
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const auto quotes =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
  const auto n = static_cast<size_t>(__builtin_ctz(quotes | 0x10000));  // 16: none
  const std::optional<uint32_t> value = DottedQuadIn(s, v, n);
#else
  const char* const quote = static_cast<const char*>(std::memchr(s, '"', 16));
  const auto n = static_cast<size_t>(quote == nullptr ? 16 : quote - s);
  const std::optional<uint32_t> value = n <= 15 ? ParseDottedQuad({s, n}) : std::nullopt;
#endif
  return value ? uint64_t{n} << 32 | *value : 0;
}

bool ParseIpv6(std::string_view text, std::array<uint8_t, 16>& out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return ::inet_pton(AF_INET6, buffer, out.data()) == 1;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (haystack.size() < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && Lower(haystack[i + j]) == Lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

uint64_t QuickHash(std::string_view text) {
  uint64_t h = text.size() * 0x9E3779B97F4A7C15ull;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < text.size(); ++k) {
    tail |= uint64_t{static_cast<unsigned char>(text[i + k])} << (8 * k);
  }
  h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 29);
}

}  // namespace mamori::monitor
