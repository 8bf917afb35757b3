// Text helpers for Japanese input: UTF-8 validation, Shift_JIS/CP932 decoding, and the
// normalization used by register text search.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace mamori {

bool IsValidUtf8(std::string_view s);

// Decodes the code point at s[i] and advances i past it. Returns false (i unchanged) on
// malformed UTF-8: overlong forms, surrogates, values beyond U+10FFFF, truncation.
bool DecodeUtf8(std::string_view s, size_t& i, char32_t& cp);

// Appends the UTF-8 encoding of `cp` (which must be a Unicode scalar value).
void AppendUtf8(std::string& out, char32_t cp);

// The value of an ASCII hexadecimal digit (0-9, a-f, A-F), or -1 when `c` is not one.
int HexDigitValue(char c);

// Number of Unicode code points in valid UTF-8 `s`.
size_t Utf8Length(std::string_view s);

enum class TextEncoding { kUtf8, kUtf8Bom, kCp932 };

struct DecodedText {
  std::string text;  // UTF-8, without BOM
  TextEncoding encoding = TextEncoding::kUtf8;
};

// Decodes bytes that staff's tools write: UTF-8 with or without BOM, or Shift_JIS as Japanese
// Excel writes it (CP932). Bytes that are neither give kInvalidInput.
Result<DecodedText> DecodeJapaneseText(std::string_view bytes);

// Normalization for search so that staff find a record however they type it:
// full-width ASCII -> ASCII, ASCII letters lower-cased, half-width katakana -> full-width,
// katakana -> hiragana, ideographic space -> space, runs of white space folded to one.
// Input must be valid UTF-8 (invalid bytes are dropped).
std::string NormalizeForSearch(std::string_view s);

// Text from a file made safe to quote in a message or on a terminal: control characters and
// bytes that are not UTF-8 become "?" (no escape sequences, no faked line breaks).
std::string Printable(std::string_view s);

// Text for XML or HTML character data and attribute values: & < > " ' escaped, characters
// XML 1.0 does not allow dropped, and bytes that are not UTF-8 replaced by U+FFFD.
std::string EscapeMarkup(std::string_view s);

// Concatenates string-like parts (std::string, std::string_view, const char*) in one buffer.
template <class... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view(parts).size() + ... + 0));
  (out.append(std::string_view(parts)), ...);
  return out;
}

// Removes leading and trailing ASCII white space and U+3000 (ideographic space).
std::string_view TrimSpace(std::string_view s);

// The first character of valid UTF-8 `s` that a name shown to people must not hold: a control
// character (C0, DEL, C1, the byte-order mark) or a bidirectional control (which can disguise
// what follows it, e.g. a file's extension).
enum class UnsafeChar { kNone, kControl, kBidi };
UnsafeChar FindUnsafeChar(std::string_view s);

}  // namespace mamori
