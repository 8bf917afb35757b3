#include "api/http.h"

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/text.h"

namespace mamori::api {

namespace {

Result<std::string> Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || HexDigitValue(s[i + 1]) < 0 || HexDigitValue(s[i + 2]) < 0) {
        return Error::Invalid("URL のエスケープ (%) が正しくありません。", "bad percent escape");
      }
      c = static_cast<char>(HexDigitValue(s[i + 1]) * 16 + HexDigitValue(s[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Error::Invalid("URL に制御文字が含まれています。", "control character in URL");
    }
    out += c;
  }
  if (!IsValidUtf8(out)) {
    return Error::Invalid("URL の文字コードが UTF-8 ではありません。", "URL is not UTF-8");
  }
  return out;
}

}  // namespace

Result<Target> ParseTarget(std::string_view target) {
  if (target.size() > 8192) {
    return Error::TooLarge("URL が長すぎます。", "request target longer than 8 KiB");
  }
  if (target.empty() || target.front() != '/') {
    return Error::Invalid("URL の形式が正しくありません。", "target must start with /");
  }
  Target t;
  const size_t qpos = target.find('?');
  MAMORI_ASSIGN_OR_RETURN(t.path, Decode(target.substr(0, qpos), false));
  // Reject dot segments so that no path can climb out of a served folder.
  size_t start = 1;
  while (start <= t.path.size()) {
    size_t end = t.path.find('/', start);
    if (end == std::string::npos) end = t.path.size();
    const std::string_view seg(t.path.data() + start, end - start);
    if (seg == "." || seg == "..") {
      return Error::Invalid("URL の形式が正しくありません。", "dot segment in path");
    }
    start = end + 1;
  }
  if (qpos == std::string_view::npos) return t;
  std::string_view q = target.substr(qpos + 1);
  while (!q.empty()) {
    const size_t amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    if (t.query.size() >= 64) {
      return Error::TooLarge("URL のパラメータが多すぎます。", "more than 64 query parameters");
    }
    const size_t eq = pair.find('=');
    MAMORI_ASSIGN_OR_RETURN(std::string key, Decode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      MAMORI_ASSIGN_OR_RETURN(value, Decode(pair.substr(eq + 1), true));
    }
    t.query.emplace_back(std::move(key), std::move(value));
  }
  return t;
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse ProblemResponse(const Error& error) {
  using nlohmann::json;
  if (error.code == ErrorCode::kInternal) {
    // The detail stays here, in the server log; the client gets 「内部エラー」 only.
    log::Error("internal_error",
               "\"detail\":" +
                   json(error.message_en).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  static const auto title = [](ErrorCode c) -> const char* {
    switch (c) {
      case ErrorCode::kInvalidInput:
        return "入力内容に誤りがあります";
      case ErrorCode::kUnauthenticated:
        return "ログインが必要です";
      case ErrorCode::kPermissionDenied:
        return "権限がありません";
      case ErrorCode::kNotFound:
        return "見つかりません";
      case ErrorCode::kConflict:
        return "競合しています";
      case ErrorCode::kTooLarge:
        return "大きすぎます";
      case ErrorCode::kUnavailable:
        return "一時的に利用できません";
      case ErrorCode::kInternal:
        return "内部エラー";
    }
    return "内部エラー";
  };
  const int status = HttpStatusFor(error.code);
  json body{
      {"type", std::string("about:blank#") + ErrorCodeName(error.code)},
      {"title", title(error.code)},
      {"status", status},
      {"code", ErrorCodeName(error.code)},
      {"detail", error.message},
      // Internal details stay in the server log, not in the answer.
      {"detail_en", error.code == ErrorCode::kInternal ? "internal error" : error.message_en}};
  if (!error.fields.empty()) {
    json errors = json::array();
    for (const auto& f : error.fields) {
      json e{{"field", f.field},
             {"label", f.label},
             {"message", f.message},
             {"message_en", f.message_en}};
      if (f.row > 0) e["row"] = f.row;
      if (!f.column.empty()) e["column"] = f.column;
      errors.push_back(std::move(e));
    }
    body["errors"] = std::move(errors);
  }
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace mamori::api
