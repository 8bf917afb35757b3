#include "registers/record_codec.h"

#include <algorithm>
#include <charconv>

#include "common/clock.h"
#include "common/text.h"

namespace mamori::registers::internal {

using nlohmann::json;

std::string ToLowerAscii(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

FieldError MakeFieldError(const FieldDef& f, std::string ja, std::string en) {
  return FieldError{f.name, f.label.ja, std::move(ja), std::move(en), 0, {}};
}

namespace {

bool HasControlChars(std::string_view s, bool allow_newlines) {
  for (unsigned char c : s) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!allow_newlines) return true;
      continue;
    }
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool LooksLikeEmail(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = s.substr(at + 1);
  const size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7F; });
}

std::string OptionList(const FieldDef& f) {
  std::string s;
  for (const auto& o : f.options) {
    if (!s.empty()) s += "、";
    s += o.label.ja;
  }
  return s;
}

std::string OptionListEn(const FieldDef& f) {
  std::string s;
  for (const auto& o : f.options) {
    if (!s.empty()) s += ", ";
    s += o.value;
  }
  return s;
}

// Text-like checks shared by API and cell input. `s` is already trimmed.
std::optional<FieldError> CheckText(const FieldDef& f, const std::string& s, json& out) {
  if (s.empty()) {
    out = nullptr;
    return std::nullopt;
  }
  if (!IsValidUtf8(s)) {
    return MakeFieldError(f, "文字として読めないデータが含まれています。", "invalid UTF-8");
  }
  if (HasControlChars(s, f.type == FieldType::kTextarea)) {
    return MakeFieldError(f, "使用できない制御文字が含まれています。",
                          "contains control characters");
  }
  const size_t len = Utf8Length(s);
  if (len > static_cast<size_t>(f.max_length)) {
    return MakeFieldError(f,
                          std::to_string(f.max_length) + " 文字以内で入力してください(現在 " +
                              std::to_string(len) + " 文字)。",
                          "at most " + std::to_string(f.max_length) + " characters");
  }
  switch (f.type) {
    case FieldType::kEmail:
      if (!LooksLikeEmail(s)) {
        return MakeFieldError(f, "メールアドレスの形式が正しくありません。",
                              "not an email address");
      }
      break;
    case FieldType::kDate:
      if (!ParseDate(s)) {
        return MakeFieldError(f, "日付は YYYY-MM-DD の形式で、実在する日付を入力してください。",
                              "must be a real date as YYYY-MM-DD");
      }
      break;
    case FieldType::kEnum: {
      const bool known = std::any_of(f.options.begin(), f.options.end(),
                                     [&](const EnumOption& o) { return o.value == s; });
      if (!known) {
        return MakeFieldError(f, "次のいずれかを指定してください: " + OptionList(f),
                              "must be one of: " + OptionListEn(f));
      }
      break;
    }
    default:
      break;
  }
  out = s;
  return std::nullopt;
}

std::optional<FieldError> CheckInteger(const FieldDef& f, int64_t v, json& out) {
  if (v < f.min || v > f.max) {
    return MakeFieldError(
        f, std::to_string(f.min) + " 以上 " + std::to_string(f.max) + " 以下で指定してください。",
        "must be between " + std::to_string(f.min) + " and " + std::to_string(f.max));
  }
  out = v;
  return std::nullopt;
}

// Full-width digits and signs to ASCII, for numbers typed in Japanese input mode.
std::string AsciiDigits(std::string_view s) { return NormalizeForSearch(s); }

}  // namespace

std::optional<FieldError> CoerceApiValue(const FieldDef& f, const json& in, json& out) {
  if (in.is_null()) {
    out = nullptr;
    return std::nullopt;
  }
  switch (f.type) {
    case FieldType::kText:
    case FieldType::kTextarea:
    case FieldType::kEmail:
    case FieldType::kDate:
    case FieldType::kEnum: {
      if (!in.is_string()) {
        return MakeFieldError(f, "文字列で指定してください。", "must be a string");
      }
      return CheckText(f, std::string(TrimSpace(in.get_ref<const std::string&>())), out);
    }
    case FieldType::kInteger:
      if (!in.is_number_integer()) {
        return MakeFieldError(f, "整数で指定してください。", "must be an integer");
      }
      if (in.is_number_unsigned() && in.get<uint64_t>() > uint64_t(INT64_MAX)) {
        return CheckInteger(f, INT64_MAX, out);
      }
      return CheckInteger(f, in.get<int64_t>(), out);
    case FieldType::kBoolean:
      if (!in.is_boolean()) {
        return MakeFieldError(f, "true か false で指定してください。", "must be true or false");
      }
      out = in.get<bool>();
      return std::nullopt;
    case FieldType::kRef:
      if (!in.is_number_integer() || in.get<int64_t>() <= 0) {
        return MakeFieldError(f, "参照先の ID (正の整数) で指定してください。",
                              "must be the id (a positive integer) of a record");
      }
      out = in.get<int64_t>();
      return std::nullopt;
  }
  return MakeFieldError(f, "不明な型です。", "unknown type");
}

std::optional<FieldError> CoerceCell(const FieldDef& f, std::string_view cell, json& out) {
  const std::string s(TrimSpace(cell));
  if (s.empty()) {
    out = nullptr;
    return std::nullopt;
  }
  switch (f.type) {
    case FieldType::kText:
    case FieldType::kTextarea:
    case FieldType::kEmail:
      return CheckText(f, s, out);
    case FieldType::kDate: {
      // Accept 2026/4/1 and 2026-4-1 as staff type them.
      std::string d = AsciiDigits(s);
      std::replace(d.begin(), d.end(), '/', '-');
      int y = 0, m = 0, day = 0;
      char tail = 0;
      if (std::sscanf(d.c_str(), "%4d-%2d-%2d%c", &y, &m, &day, &tail) == 3) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, day);
        d = buf;
      }
      return CheckText(f, d, out);
    }
    case FieldType::kEnum: {
      // Full-width letters and digits typed in Japanese input mode count as their ASCII forms.
      const std::string lower = ToLowerAscii(AsciiDigits(s));
      for (const auto& o : f.options) {
        bool match = o.value == lower || o.label.ja == s || ToLowerAscii(o.label.en) == lower;
        for (const auto& a : o.aliases) {
          match = match || a == s || ToLowerAscii(AsciiDigits(a)) == lower;
        }
        if (match) {
          out = o.value;
          return std::nullopt;
        }
      }
      return MakeFieldError(f, "次のいずれかを指定してください: " + OptionList(f),
                            "must be one of: " + OptionListEn(f));
    }
    case FieldType::kInteger: {
      const std::string d = AsciiDigits(s);
      int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
      if (ec != std::errc() || ptr != d.data() + d.size()) {
        return MakeFieldError(f, "整数で入力してください。", "must be an integer");
      }
      return CheckInteger(f, v, out);
    }
    case FieldType::kBoolean: {
      static const char* kTrue[] = {"有", "○", "〇", "はい", "true", "1", "yes", "y"};
      static const char* kFalse[] = {"無", "×", "いいえ", "false", "0", "no", "n", "-", "ー"};
      const std::string lower = ToLowerAscii(AsciiDigits(s));
      for (const char* t : kTrue) {
        if (lower == t || s == t) {
          out = true;
          return std::nullopt;
        }
      }
      for (const char* t : kFalse) {
        if (lower == t || s == t) {
          out = false;
          return std::nullopt;
        }
      }
      return MakeFieldError(f, "有 または 無 で入力してください(○/× も使えます)。",
                            "must be yes or no");
    }
    case FieldType::kRef:
      // A key or title: the same checks as text, before it is looked up or quoted in messages.
      if (HasControlChars(s, false) || !IsValidUtf8(s) || Utf8Length(s) > 200) {
        return MakeFieldError(
            f, "参照先はコード又は名称(200 文字以内、制御文字なし)で書いてください。",
            "a reference is a key or title (200 characters, no control characters)");
      }
      out = s;
      return std::nullopt;
  }
  return MakeFieldError(f, "不明な型です。", "unknown type");
}

std::string DisplayValue(const FieldDef& f, const json& v) {
  if (v.is_null()) return {};
  switch (f.type) {
    case FieldType::kEnum:
      for (const auto& o : f.options) {
        if (v == o.value) return o.label.ja;
      }
      return v.get<std::string>();
    case FieldType::kBoolean:
      return v.get<bool>() ? "有" : "無";
    case FieldType::kInteger:
    case FieldType::kRef:
      return std::to_string(v.get<int64_t>());
    default:
      return v.get<std::string>();
  }
}

}  // namespace mamori::registers::internal
