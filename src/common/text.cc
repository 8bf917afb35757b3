#include "common/text.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace mamori {
namespace {

// Half-width katakana U+FF61..U+FF9D to their full-width forms.
constexpr char16_t kHalfKana[] = {
    0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7,  // FF61-
    0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8,  // FF6B-
    0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB,  // FF75-
    0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD,  // FF7F-
    0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1,  // FF89-
    0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF,  // FF93-
    0x30F3,                                                                          // FF9D
};

bool HasVoiced(char32_t k) {
  return (k >= 0x30AB && k <= 0x30C2 && (k % 2) == 1) ||  // カ..ヂ: odd code points
         k == 0x30C4 || k == 0x30C6 || k == 0x30C8 ||     // ツ テ ト
         (k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0) || k == 0x30A6;  // ハ行, ウ
}
bool HasSemiVoiced(char32_t k) { return k >= 0x30CF && k <= 0x30DB && (k - 0x30CF) % 3 == 0; }

}  // namespace

bool DecodeUtf8(std::string_view s, size_t& i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 0;
  if (b0 < 0x80) {
    cp = b0;
    len = 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    cp = b0 & 0x1F;
    len = 2;
  } else if ((b0 & 0xF0) == 0xE0) {
    cp = b0 & 0x0F;
    len = 3;
  } else if ((b0 & 0xF8) == 0xF0) {
    cp = b0 & 0x07;
    len = 4;
  } else {
    return false;
  }
  if (i + len > s.size()) return false;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong forms, surrogates and values beyond U+10FFFF.
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += len;
  return true;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  char32_t cp = 0;
  while (i < s.size()) {
    if (!DecodeUtf8(s, i, cp)) return false;
  }
  return true;
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Result<DecodedText> DecodeJapaneseText(std::string_view bytes) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") {
    bytes.remove_prefix(3);
    if (!IsValidUtf8(bytes)) {
      return Error::Invalid("UTF-8 (BOM付き) として読めない文字があります。",
                            "the file has a UTF-8 BOM but is not valid UTF-8");
    }
    return DecodedText{std::string(bytes), TextEncoding::kUtf8Bom};
  }
  if (IsValidUtf8(bytes)) return DecodedText{std::string(bytes), TextEncoding::kUtf8};

  iconv_t cd = iconv_open("UTF-8", "CP932");
  if (cd == reinterpret_cast<iconv_t>(-1)) return Error::Internal("iconv CP932 unavailable");
  std::string out;
  out.resize(bytes.size() * 3 + 16);  // CP932 uses at most 3 UTF-8 bytes per input byte
  char* in_ptr = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char* out_ptr = out.data();
  size_t out_left = out.size();
  const size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
  const int err = errno;
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) {
    const size_t offset = bytes.size() - in_left;
    (void)err;
    return Error::Invalid(
        "文字コードを判別できません (UTF-8 でも Shift_JIS でもありません。" +
            std::to_string(offset) + " バイト目)。",
        "the text is neither UTF-8 nor Shift_JIS (CP932) at byte " + std::to_string(offset));
  }
  out.resize(out.size() - out_left);
  return DecodedText{std::move(out), TextEncoding::kCp932};
}

std::string NormalizeForSearch(std::string_view s) {
  std::u32string cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    if (!DecodeUtf8(s, i, cp)) {
      ++i;  // drop an invalid byte
      continue;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII
    if (cp == 0x3000 || cp == '\t' || cp == '\n' || cp == '\r') cp = ' ';
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    if (cp >= 0xFF61 && cp <= 0xFF9D) cp = kHalfKana[cp - 0xFF61];
    if ((cp == 0xFF9E || cp == 0x3099 || cp == 0x309B) && !cps.empty() && HasVoiced(cps.back())) {
      cps.back() = cps.back() == 0x30A6 ? 0x30F4 : cps.back() + 1;
      continue;
    }
    if ((cp == 0xFF9F || cp == 0x309A || cp == 0x309C) && !cps.empty() &&
        HasSemiVoiced(cps.back())) {
      cps.back() += 2;
      continue;
    }
    if (cp == ' ' && (cps.empty() || cps.back() == ' ')) continue;
    cps.push_back(cp);
  }
  if (!cps.empty() && cps.back() == ' ') cps.pop_back();
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : cps) {
    if (cp >= 0x30A1 && cp <= 0x30F6) cp -= 0x60;  // katakana -> hiragana
    AppendUtf8(out, cp);
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  auto is_space_at_front = [&](size_t& n) {
    if (s.empty()) return false;
    if (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n') {
      n = 1;
      return true;
    }
    if (s.substr(0, 3) == "\xE3\x80\x80") {
      n = 3;
      return true;
    }
    return false;
  };
  auto is_space_at_back = [&](size_t& n) {
    if (s.empty()) return false;
    if (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n') {
      n = 1;
      return true;
    }
    if (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") {
      n = 3;
      return true;
    }
    return false;
  };
  size_t n = 0;
  while (is_space_at_front(n)) s.remove_prefix(n);
  while (is_space_at_back(n)) s.remove_suffix(n);
  return s;
}

std::string EscapeMarkup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    if (!DecodeUtf8(s, i, cp)) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF) {
          break;  // not allowed in XML 1.0
        }
        AppendUtf8(out, cp);
    }
  }
  return out;
}

std::string Printable(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    char32_t cp = 0;
    if (DecodeUtf8(s, i, cp) && cp >= 0x20 && cp != 0x7f) {
      out.append(s.substr(start, i - start));
    } else {
      out.push_back('?');
      i = start + 1;
    }
  }
  return out;
}

UnsafeChar FindUnsafeChar(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    if (!DecodeUtf8(s, i, cp)) return UnsafeChar::kControl;
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0xfeff) {
      return UnsafeChar::kControl;
    }
    if (cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      return UnsafeChar::kBidi;
    }
  }
  return UnsafeChar::kNone;
}

}  // namespace mamori
