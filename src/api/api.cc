#include "api/api.h"

#include <array>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/static_files.h"
#include "common/log.h"
#include "registers/tabular.h"

namespace mamori::api {

using nlohmann::json;
using registers::Actor;
using registers::RegisterDef;

namespace {

// The product's modules as the navigation shows them. A module is "ready" only when its
// pages work; the others say plainly which issue will build them.
struct Module {
  const char* key;
  const char* ja;
  const char* en;
  const char* register_key;  // the module's register, or nullptr
  bool ready;                // its pages work
  int issue;                 // the issue that builds it, when not ready (0: not yet planned)
  std::array<const char*, 6> also{};  // further registers it groups (nullptr: none)
};

constexpr Module kModules[] = {
    {"organization", "組織", "Organization", "org_units", true, 0},
    {"assets",
     "情報資産",
     "Information assets",
     "assets",
     true,
     0,
     {"inventory_campaigns", "inventory_confirmations", nullptr, nullptr, nullptr}},
    {"risks",
     "脅威・リスク",
     "Threats and risks",
     "risks",
     true,
     0,
     {"threats", "risk_assets", "risk_dismissals", "risk_rounds", nullptr}},
    {"documents",
     "規程・対策",
     "Policies and controls",
     "documents",
     true,
     0,
     {"document_versions", "document_decisions", "acknowledgements", "acknowledgement_reminders",
      "evidence", "control_exceptions"}},
    {"inspections", "自己点検・監査", "Self-inspection and audit", nullptr, false, 0},
    {"incidents", "インシデント", "Incidents", nullptr, false, 0},
    {"outsourcing", "委託・クラウド・SNS", "Contractors, cloud, social media", nullptr, false, 0},
    {"training", "教育", "Training", nullptr, false, 0},
    {"netsep", "ネットワーク分離", "Network separation", nullptr, true, 7},
    {"monitor", "通信監視", "Traffic monitoring", nullptr, true, 8},
    {"auditlog", "監査ログ", "Audit log", nullptr, true, 0},
    {"settings", "設定", "Settings", nullptr, true, 0},
};

json Text(const policy::Text& t) { return json{{"ja", t.ja}, {"en", t.en}}; }

json ControlJson(const policy::Control& c) {
  return json{{"id", c.id},
              {"section", c.section},
              {"title", Text(c.title)},
              {"description", Text(c.description)},
              {"evidence", c.evidence},
              {"owner_role", c.owner_role},
              {"review_months", c.review_months}};
}

json DirectControls(const policy::Catalog& cat, const std::string& id) {
  json out = json::array();
  for (const auto& c : cat.controls) {
    if (c.section == id) out.push_back(ControlJson(c));
  }
  return out;
}

json ItemJson(const policy::Catalog& cat, const policy::Item& item) {
  json items = json::array();
  for (const auto& sub : item.items) items.push_back(ItemJson(cat, sub));
  return json{{"id", item.id},
              {"number", item.number},
              {"title", Text(item.title)},
              {"summary", Text(item.summary)},
              {"is_measure", item.is_measure},
              {"items", std::move(items)},
              {"controls", DirectControls(cat, item.id)}};
}

// The classification catalog as the UI reads it: schemes with their levels and handling rules,
// the categories of handling rule, the zones, the consistency rules and the mappings.
json RenderClassification(const policy::Classification& c) {
  auto key_labels = [](const std::vector<policy::KeyLabel>& list) {
    json out = json::array();
    for (const auto& k : list) out.push_back({{"key", k.key}, {"label", Text(k.label)}});
    return out;
  };
  json schemes = json::array();
  for (const auto& s : c.schemes) {
    json js{{"key", s.key}, {"label", Text(s.label)}, {"description", Text(s.description)}};
    for (policy::Axis axis : policy::kAxes) {
      json levels = json::array();
      for (const auto& l : s.levels(axis)) {
        json handling = json::array();
        for (const auto& h : l.handling) {
          handling.push_back({{"category", h.category}, {"text", Text(h.text)}});
        }
        levels.push_back({{"value", l.value},
                          {"label", Text(l.label)},
                          {"meaning", Text(l.meaning)},
                          {"need_to_know", l.need_to_know},
                          {"handling", std::move(handling)}});
      }
      js[policy::AxisName(axis)] = std::move(levels);
    }
    schemes.push_back(std::move(js));
  }
  json rules = json::array();
  for (const auto& r : c.rules) {
    json when = json::object();
    for (const auto& cond : r.when) {
      when[cond.field] = cond.boolean ? json(cond.values[0] == "true") : json(cond.values);
    }
    rules.push_back({{"id", r.id},
                     {"severity", r.error ? "error" : "warning"},
                     {"when", std::move(when)},
                     {"field", policy::AxisName(r.axis)},
                     {"at_least", r.at_least},
                     {"message", Text(r.message)},
                     {"rationale", Text(r.rationale)}});
  }
  json mappings = json::array();
  for (const auto& m : c.mappings) {
    mappings.push_back({{"from", m.from},
                        {"to", m.to},
                        {"confidentiality", m.confidentiality},
                        {"integrity", m.integrity},
                        {"availability", m.availability}});
  }
  return {{"default_scheme", c.default_scheme},     {"setting", "classification_scheme"},
          {"categories", key_labels(c.categories)}, {"zones", key_labels(c.zones)},
          {"schemes", std::move(schemes)},          {"rules", std::move(rules)},
          {"mappings", std::move(mappings)}};
}

std::string RenderPolicy(const policy::Catalog& cat) {
  json sections = json::array();
  for (const auto& s : cat.sections) {
    json items = json::array();
    for (const auto& it : s.items) items.push_back(ItemJson(cat, it));
    sections.push_back({{"id", s.id},
                        {"title", Text(s.title)},
                        {"summary", Text(s.summary)},
                        {"is_measure", s.is_measure},
                        {"is_public", s.is_public},
                        {"items", std::move(items)},
                        {"controls", DirectControls(cat, s.id)}});
  }
  return json{{"title", Text(cat.title)},
              {"body", cat.body},
              {"effective", cat.effective},
              {"sections", std::move(sections)}}
      .dump();
}

std::string RenderMeta(const registers::Registry& reg, const std::string& version,
                       size_t attachment_bytes) {
  json modules = json::array();
  for (const auto& m : kModules) {
    json j{{"key", m.key},
           {"label", {{"ja", m.ja}, {"en", m.en}}},
           {"status", m.ready ? "ready" : "planned"}};
    if (m.register_key) j["register"] = m.register_key;
    if (m.also[0] != nullptr) {
      j["registers"] = json::array();
      for (const char* r : m.also) {
        if (r != nullptr) j["registers"].push_back(r);
      }
    }
    if (m.issue) j["issue"] = m.issue;
    modules.push_back(std::move(j));
  }
  json registers;
  reg.Describe(registers);
  // The size a client may send is the smaller of the register's and the server's limits.
  for (json& r : registers) {
    if (!r.contains("attachments")) continue;
    r["attachments"]["max_bytes"] = std::min(r["attachments"]["max_bytes"].get<int64_t>(),
                                             static_cast<int64_t>(attachment_bytes));
  }
  return json{{"version", version}, {"modules", modules}, {"registers", registers}}.dump();
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse RawJson(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

template <class T>
HttpResponse FromResult(Result<T>&& r, int ok_status = 200) {
  if (!r.ok()) return ProblemResponse(r.error());
  return JsonResponse(ok_status, r.value());
}

// A printable page with its own styles and no script at all (reports, public documents).
HttpResponse SelfContainedHtml(std::string body) {
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                         "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  return r;
}

HttpResponse MethodNotAllowed(std::string allow) {
  HttpResponse r = ProblemResponse(
      Error::Invalid("この URL ではその操作(メソッド)は使えません。", "method not allowed"));
  r.status = 405;
  r.headers.emplace_back("Allow", std::move(allow));
  return r;
}

HttpResponse NotFound() {
  return ProblemResponse(Error::NotFound("ページが見つかりません。", "no such route"));
}

Result<json> ParseJsonBody(const HttpRequest& req, int max_depth) {
  if (req.content_type != "application/json") {
    return Error::Invalid("Content-Type は application/json にしてください。",
                          "Content-Type must be application/json");
  }
  if (JsonDepth(req.body, max_depth) > max_depth) {
    return Error::Invalid("JSON の入れ子が深すぎます。", "JSON nested too deeply");
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Error::Invalid("JSON の形式が正しくありません。", "malformed JSON");
  }
  if (!body.is_object()) {
    return Error::Invalid("JSON オブジェクトを送ってください。", "body must be a JSON object");
  }
  return body;
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

// The version a client last saw: "version" in the body, or the If-Match header.
Result<int64_t> ExpectedVersion(const HttpRequest& req, const json& body) {
  if (body.contains("version")) {
    if (!body["version"].is_number_integer()) {
      return Error::Invalid(
          "version は整数で指定してください。", "version must be an integer",
          {{"version", "版", "整数で指定してください。", "must be an integer", 0, {}}});
    }
    return body["version"].get<int64_t>();
  }
  std::string_view tag = req.if_match;
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') {
    tag = tag.substr(1, tag.size() - 2);
  }
  if (auto v = ParseId(tag)) return *v;
  return Error::Invalid("更新には version (最後に読み込んだ版) が必要です。",
                        "version (or If-Match) is required",
                        {{"version", "版", "必須です。", "is required", 0, {}}});
}

std::string QueryValue(const QueryParams& q, std::string_view name, std::string_view def) {
  for (const auto& [k, v] : q) {
    if (k == name) return v;
  }
  return std::string(def);
}

constexpr std::string_view kSessionCookie = "mamori_session";

// The token of an "Authorization: Bearer <token>" header; nullopt for anything else.
std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.rfind(kBearer, 0) != 0) return std::nullopt;
  return authorization.substr(kBearer.size());
}
constexpr std::string_view kCsrfCookie = "mamori_csrf";
constexpr std::string_view kPendingCookie = "mamori_pre";

// Cookies are SameSite=Strict, HttpOnly except the CSRF one (the UI reads it), and Secure
// under TLS.
std::string SetCookie(std::string_view name, std::string_view value, std::string_view path,
                      bool http_only, bool tls, int max_age = -1) {
  std::string c = std::string(name) + "=" + std::string(value) + "; Path=" + std::string(path) +
                  "; SameSite=Strict";
  if (http_only) c += "; HttpOnly";
  if (tls) c += "; Secure";
  if (max_age >= 0) c += "; Max-Age=" + std::to_string(max_age);
  return c;
}

std::string ClearCookie(std::string_view name, std::string_view path, bool tls) {
  return SetCookie(name, "", path, true, tls, 0);
}

// Reads a string member of a JSON body; "" when absent or not a string.
std::string Member(const json& body, const char* name) {
  return body.contains(name) && body[name].is_string() ? body[name].get<std::string>() : "";
}

HttpResponse Locked(const Error& e, int retry_after) {
  HttpResponse r = ProblemResponse(e);
  r.status = 429;
  r.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry_after)));
  return r;
}

// A login step's failure: bad credentials are 401; a lockout is 429 with Retry-After.
HttpResponse AuthFailure(const Error& e, int retry_after) {
  if (retry_after > 0) return Locked(e, retry_after);
  HttpResponse r = ProblemResponse(e);
  if (e.code == ErrorCode::kInvalidInput && e.fields.empty()) r.status = 401;
  return r;
}

}  // namespace

HttpResponse Api::HandleAuth(const HttpRequest& req, std::string_view step) const {
  if (req.method != "POST") return MethodNotAllowed("POST");
  auto body = ParseJsonBody(req, limits_.json_max_depth);
  if (!body.ok()) return ProblemResponse(body.error());
  const std::string pending = CookieValue(req.cookie, kPendingCookie);
  int retry_after = 0;
  if (step == "login") {
    const std::string login = Member(*body, "login"), password = Member(*body, "password");
    if (login.empty() || password.empty() || login.size() > 128 || password.size() > 1024) {
      return ProblemResponse(Error::Invalid(
          "ログイン ID とパスワードを入力してください。", "login and password are required",
          {{"login", "ログイン ID", "入力してください。", "required", 0, {}}}));
    }
    auto r = d_.identity.Login(login, password, req.client, &retry_after);
    if (!r.ok()) return AuthFailure(r.error(), retry_after);
    HttpResponse out = JsonResponse(
        200, {{"mfa_required", !r->password_change_required && !r->mfa_enrollment_required},
              {"password_change_required", r->password_change_required},
              {"mfa_enrollment_required", r->mfa_enrollment_required}});
    out.headers.emplace_back("Set-Cookie", SetCookie(kPendingCookie, r->pending_token,
                                                     "/api/v1/auth", true, req.tls, 600));
    return out;
  }
  if (pending.empty()) {
    return ProblemResponse(Error::Unauthenticated(
        "最初にログイン ID とパスワードを入力してください。", "log in with the password first"));
  }
  if (step == "password") {
    const std::string pw = Member(*body, "new_password");
    Status st = d_.identity.ChangePendingPassword(pending, pw, req.client);
    if (!st.ok()) {
      Error e = std::move(st).error();
      if (e.code == ErrorCode::kInvalidInput && e.fields.empty()) {
        e.fields = {{"new_password", "新しいパスワード", e.message, e.message_en, 0, {}}};
      }
      return ProblemResponse(e);
    }
    return JsonResponse(200, {{"password_changed", true}});
  }
  if (step == "mfa/enroll") {
    auto e = d_.identity.BeginEnrollment(pending);
    if (!e.ok()) return ProblemResponse(e.error());
    return JsonResponse(
        200,
        {{"secret", e->secret_base32}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
  }
  // step == "mfa"
  const std::string code = Member(*body, "code"), recovery = Member(*body, "recovery_code");
  if (code.empty() == recovery.empty() || code.size() > 16 || recovery.size() > 64) {
    return ProblemResponse(Error::Invalid(
        "確認コード(6 桁)か回復コードのどちらかを入力してください。", "code or recovery_code",
        {{"code", "確認コード", "入力してください。", "required", 0, {}}}));
  }
  auto s = d_.identity.VerifyMfa(pending, code, recovery, req.client, &retry_after);
  if (!s.ok()) return AuthFailure(s.error(), retry_after);
  json out{{"csrf_token", s->csrf_token}, {"user_id", s->user_id}};
  if (!s->recovery_codes.empty()) out["recovery_codes"] = s->recovery_codes;
  HttpResponse r = JsonResponse(200, out);
  r.headers.emplace_back("Set-Cookie", SetCookie(kSessionCookie, s->token, "/", true, req.tls));
  r.headers.emplace_back("Set-Cookie", SetCookie(kCsrfCookie, s->csrf_token, "/", false, req.tls));
  r.headers.emplace_back("Set-Cookie", ClearCookie(kPendingCookie, "/api/v1/auth", req.tls));
  return r;
}

HttpResponse Api::HandleSession(const HttpRequest& req, const auth::Authenticated& who,
                                std::string_view step) const {
  if (step == "me") {
    if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
    json roles = json::array();
    for (const auto& g : who.actor.roles) {
      const auth::RoleInfo* info = d_.permissions.Role(g.role);
      roles.push_back(
          {{"role", g.role},
           {"label",
            {{"ja", info ? info->label_ja : g.role}, {"en", info ? info->label_en : g.role}}},
           {"scope_kind", g.scope_kind},
           {"units", g.units},
           {"system", g.system}});
    }
    json permissions;
    d_.authorizer.Describe(who.actor, registry_, permissions);
    return JsonResponse(
        200, {{"user", {{"id", who.actor.user_id}, {"login", who.actor.id}, {"name", who.name}}},
              {"roles", roles},
              {"permissions", permissions},
              {"csrf_token", who.csrf_token}});
  }
  if (step == "session" || step == "sessions") {
    if (req.method != "DELETE") return MethodNotAllowed("DELETE");
    Status st = step == "session" ? d_.identity.Logout(who) : d_.identity.LogoutEverywhere(who);
    if (!st.ok()) return ProblemResponse(st.error());
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Set-Cookie", ClearCookie(kSessionCookie, "/", req.tls));
    r.headers.emplace_back("Set-Cookie", ClearCookie(kCsrfCookie, "/", req.tls));
    return r;
  }
  if (step == "password") {
    if (req.method != "POST") return MethodNotAllowed("POST");
    auto body = ParseJsonBody(req, limits_.json_max_depth);
    if (!body.ok()) return ProblemResponse(body.error());
    Status st = d_.identity.ChangePassword(who, Member(*body, "current_password"),
                                           Member(*body, "new_password"));
    if (!st.ok()) return ProblemResponse(st.error());
    return JsonResponse(200, {{"password_changed", true}});
  }
  return NotFound();
}

HttpResponse Api::HandleAudit(const HttpRequest& req, const auth::Authenticated& who,
                              std::string_view rest) const {
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
  const bool export_csv = rest == "audit/export";
  if (!export_csv && rest != "audit") return NotFound();
  if (Status st = d_.authorizer.CheckResource(
          who.actor, "audit_log",
          export_csv ? registers::Action::kExport : registers::Action::kView);
      !st.ok()) {
    return ProblemResponse(st.error());
  }
  auth::AuditQuery q;
  std::vector<FieldError> errors;
  for (const auto& param : req.query) {
    const std::string& k = param.first;
    const std::string& v = param.second;
    auto as_int = [&](int64_t lo, int64_t hi, int64_t& out) {
      const auto n = ParseId(v);
      if (v == "0" && lo == 0) {
        out = 0;
      } else if (!n || *n < lo || *n > hi) {
        errors.push_back({k, k, "範囲外の値です。", "out of range", 0, {}});
      } else {
        out = *n;
      }
    };
    if (v.size() > 200) {
      errors.push_back({k, k, "長すぎます。", "too long", 0, {}});
    } else if (k == "actor") {
      q.actor = v;
    } else if (k == "action") {
      q.action = v;
    } else if (k == "target") {
      q.target = v;
    } else if (k == "from") {
      q.from = v;
    } else if (k == "to") {
      q.to = v;
    } else if (k == "limit" && !export_csv) {
      int64_t n = 0;
      as_int(1, 1000, n);
      q.limit = static_cast<int>(n ? n : q.limit);
    } else if (k == "offset" && !export_csv) {
      as_int(0, 1'000'000'000, q.offset);
    } else if (!(k == "format" && export_csv)) {
      errors.push_back({k, k, "不明なパラメータです。", "unknown parameter", 0, {}});
    }
  }
  if (!errors.empty()) {
    return ProblemResponse(Error::Invalid("検索条件に誤りがあります。", "bad query", errors));
  }
  if (!export_csv) return FromResult(d_.audit.Query(q));
  auto rows = d_.audit.ExportRows(q);
  if (!rows.ok()) return ProblemResponse(rows.error());
  if (Status st = d_.audit.AppendNow(who.actor, "export", "audit_log",
                                     {{"rows", rows->size() - 1}, {"actor_filter", q.actor}});
      !st.ok()) {
    return ProblemResponse(st.error());
  }
  HttpResponse r;
  r.content_type = "text/csv; charset=utf-8";
  r.body = tabular::WriteCsv(*rows);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"audit-log-" +
                                                    JapanDate(d_.clock.Now()) + ".csv\"");
  return r;
}

int JsonDepth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Api::Api(ApiDeps deps, std::string version, std::string static_dir, ApiLimits limits)
    : d_(deps),
      registry_(deps.registry),
      service_(deps.service),
      catalog_(deps.catalog),
      version_(std::move(version)),
      limits_(limits),
      meta_json_(RenderMeta(deps.registry, version_, limits.attachment_bytes)),
      policy_json_(RenderPolicy(deps.catalog)),
      classification_json_(RenderClassification(deps.classification).dump()),
      static_files_(std::make_unique<StaticFiles>(static_dir)) {}

Api::~Api() = default;

Result<std::string> Api::Meta() const {
  // Options a setting renames (the risk levels' names) are shown under the names in force.
  std::vector<std::pair<const RegisterDef*, std::map<std::string, registers::FieldDef>>> renamed;
  std::string key;  // what the answer depends on: the renamed labels
  for (const RegisterDef& def : registry_.all()) {
    MAMORI_ASSIGN_OR_RETURN(auto fields, service_.RenamedFields(def));
    if (fields.empty()) continue;
    for (const auto& [name, f] : fields) {
      for (const auto& o : f.options) key += o.label.ja + '\x1f' + o.label.en + '\x1e';
    }
    renamed.emplace_back(&def, std::move(fields));
  }
  std::lock_guard lock(meta_mu_);
  if (key == meta_key_ && !meta_renamed_.empty()) return meta_renamed_;
  json meta = json::parse(meta_json_);
  for (const auto& [def, fields] : renamed) {
    for (json& r : meta["registers"]) {
      if (r["key"] != def->key) continue;
      for (json& f : r["fields"]) {
        auto it = fields.find(f["name"].get<std::string>());
        if (it == fields.end()) continue;
        for (json& o : f["options"]) {
          for (const auto& option : it->second.options) {
            if (o["value"] == option.value) {
              o["label"] = {{"ja", option.label.ja}, {"en", option.label.en}};
            }
          }
        }
      }
    }
  }
  meta_key_ = key;
  meta_renamed_ = meta.dump();
  return meta_renamed_;
}

bool Api::has_ui() const { return !static_files_->empty(); }

size_t Api::BodyLimit(std::string_view method, std::string_view path, std::string_view cookie,
                      std::string_view authorization, std::string_view client) const {
  // Only a register's own import route and a record's attachments take files; everything
  // else takes small JSON.
  constexpr std::string_view kPrefix = "/api/v1/";
  if (method != "POST" || path.rfind(kPrefix, 0) != 0) return limits_.json_body_bytes;
  const std::string_view route = path.substr(kPrefix.size());
  auto signed_in = [&] {
    return d_.identity.Authenticate(CookieValue(cookie, kSessionCookie), std::string(client)).ok();
  };
  // An engine's evidence carries its raw result (a netcheck report of a large network).
  if (route == "evidence") {
    const auto token = BearerToken(authorization);
    const bool engine = token && d_.service_accounts.Recognizes(std::string(*token));
    return engine ? limits_.evidence_body_bytes : limits_.json_body_bytes;
  }
  std::string_view rest;
  const RegisterDef* def = registry_.ByPathPrefix(route, rest);
  if (def == nullptr) return limits_.json_body_bytes;
  if (rest == "import") return signed_in() ? limits_.import_body_bytes : limits_.json_body_bytes;
  // A file attached to a record: {register}/{id}/attachments.
  const size_t slash = rest.find('/');
  if (def->attachments.enabled && slash != std::string_view::npos &&
      ParseId(rest.substr(0, slash)) && rest.substr(slash + 1) == "attachments") {
    return signed_in() ? AttachmentLimit(*def) : limits_.json_body_bytes;
  }
  return limits_.json_body_bytes;
}

HttpResponse Api::Handle(const HttpRequest& req) const {
  try {
    if (req.path == "/healthz") {
      if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
      return JsonResponse(200, {{"status", "ok"}, {"version", version_}});
    }
    constexpr std::string_view kPrefix = "/api/v1/";
    if (req.path.rfind(kPrefix, 0) == 0) {
      return HandleApi(req, std::string_view(req.path).substr(kPrefix.size()));
    }
    if (req.method == "GET" || req.method == "HEAD") {
      if (auto file = static_files_->Get(req.path)) return *file;
    }
    return NotFound();
  } catch (const std::exception& e) {
    // Third-party exceptions (JSON conversions) stop here: logged, answered 500.
    log::Error("handler_exception", "\"what\":" + json(std::string(e.what())).dump());
    return ProblemResponse(Error::Internal(e.what()));
  }
}

HttpResponse Api::HandleApi(const HttpRequest& req, std::string_view rest) const {
  const bool get = req.method == "GET" || req.method == "HEAD";
  // Public: the basic policy is a public document, and the login steps.
  if (rest == "policy") return get ? RawJson(policy_json_) : MethodNotAllowed("GET, HEAD");
  if (rest.rfind("auth/", 0) == 0) {
    const std::string_view step = rest.substr(5);
    if (step == "login" || step == "mfa" || step == "mfa/enroll" ||
        (step == "password" && CookieValue(req.cookie, kSessionCookie).empty())) {
      return HandleAuth(req, step);
    }
  }
  if (rest == "evidence") {
    // The engines' door: a service account's token, never a session.
    return req.method == "POST" ? HandleEvidencePost(req) : MethodNotAllowed("POST");
  }
  auto who = d_.identity.Authenticate(CookieValue(req.cookie, kSessionCookie), req.client);
  if (!who.ok()) {
    HttpResponse r = ProblemResponse(who.error());
    if (!CookieValue(req.cookie, kSessionCookie).empty()) {
      r.headers.emplace_back("Set-Cookie", ClearCookie(kSessionCookie, "/", req.tls));
      r.headers.emplace_back("Set-Cookie", ClearCookie(kCsrfCookie, "/", req.tls));
    }
    return r;
  }
  const bool changes = !(get || req.method == "OPTIONS");
  if (changes && !auth::ConstantTimeEquals(req.csrf_token, who->csrf_token)) {
    return ProblemResponse(Error::Denied(
        "画面を再読み込みしてから、もう一度操作してください(CSRF トークンが一致しません)。",
        "missing or wrong X-CSRF-Token"));
  }
  const Actor& actor = who->actor;
  if (rest.rfind("auth/", 0) == 0) return HandleSession(req, *who, rest.substr(5));
  if (rest == "audit" || rest.rfind("audit/", 0) == 0) return HandleAudit(req, *who, rest);
  if (rest == "meta") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    auto meta = Meta();
    return meta.ok() ? RawJson(std::move(meta).value()) : ProblemResponse(meta.error());
  }
  if (rest == "settings") {
    // The settings registers depend on (e.g. which classification scheme's levels are valid),
    // for every signed-in user: the UI offers only valid choices.
    if (!get) return MethodNotAllowed("GET, HEAD");
    json out = json::object();
    for (const auto& def : registry_.all()) {
      for (const auto& f : def.fields) {
        if (f.options_setting.empty() || out.contains(f.options_setting)) continue;
        auto v = service_.Setting(f.options_setting, f.options_setting_default);
        if (!v.ok()) return ProblemResponse(v.error());
        out[f.options_setting] = *v;
      }
    }
    return JsonResponse(200, out);
  }
  if (rest.rfind("settings/", 0) == 0) {
    // GET settings/{key}/usage: the values in use (what a change would rewrite);
    // PUT settings/{key} {"value", "remap": {field: {old: new}}}: change it, rewriting records.
    std::string_view tail = rest.substr(9);
    const bool usage = tail.size() > 6 && tail.substr(tail.size() - 6) == "/usage";
    if (usage) tail.remove_suffix(6);
    const std::string key(tail);
    if (Status st = d_.authorizer.CheckResource(actor, "settings", registers::Action::kUpdate);
        !st.ok()) {
      return ProblemResponse(st.error());
    }
    if (usage) {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return FromResult(service_.SettingUsage(key));
    }
    if (req.method != "PUT") return MethodNotAllowed("PUT");
    auto body = ParseJsonBody(req, limits_.json_max_depth);
    if (!body.ok()) return ProblemResponse(body.error());
    const json& b = *body;
    registers::RegisterService::Remap remap;
    bool well_formed = b.is_object() && b.contains("value") && b["value"].is_string();
    if (well_formed && b.contains("remap")) {
      const json& r = b["remap"];
      well_formed = r.is_object();
      for (auto f = r.begin(); well_formed && f != r.end(); ++f) {
        well_formed = f->is_object();
        for (auto m = f->begin(); well_formed && m != f->end(); ++m) {
          well_formed = m->is_string();
          if (well_formed) remap[f.key()][m.key()] = m->get<std::string>();
        }
      }
    }
    if (!well_formed) {
      return ProblemResponse(Error::Invalid(
          "value (文字列) と remap ({項目: {旧: 新}}) を指定してください。", "bad setting body",
          {{"value", "設定値", "文字列で指定してください。", "a string", 0, {}}}));
    }
    return FromResult(service_.ChangeSetting(actor, key, b["value"].get<std::string>(), remap));
  }
  if (rest == "classification") {
    // Every signed-in user: staff read the handling rules of what they work with.
    if (!get) return MethodNotAllowed("GET, HEAD");
    auto active = service_.Setting("classification_scheme", d_.classification.default_scheme);
    if (!active.ok()) return ProblemResponse(active.error());
    std::string body = classification_json_;
    body.pop_back();  // the closing brace of the prebuilt object
    body += ",\"active\":" + json(*active).dump() + "}";
    return RawJson(std::move(body));
  }
  if (rest == "roles/holders") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    const RegisterDef* assignments = registry_.ByKey("role_assignments");
    if (Status st = d_.authorizer.Check(actor, *assignments, registers::Action::kView, nullptr);
        !st.ok()) {
      return ProblemResponse(st.error());
    }
    const std::string role = QueryValue(req.query, "role", "");
    const std::string date = QueryValue(req.query, "date", JapanDate(d_.clock.Now()));
    const auto unit = ParseId(QueryValue(req.query, "unit", ""));
    if (d_.permissions.Role(role) == nullptr || !ParseDate(date)) {
      return ProblemResponse(Error::Invalid(
          "role (役割) と date (YYYY-MM-DD) を正しく指定してください。", "bad role or date",
          {{"role", "役割", "役割のキーを指定してください。", "a role key", 0, {}}}));
    }
    return FromResult(d_.identity.Holders(role, unit.value_or(0), date));
  }
  if (rest.rfind("users/", 0) == 0 && rest.size() > 6) {
    // POST /api/v1/users/{id}/reset-credentials: an administrator's reset.
    const std::string_view tail = rest.substr(6);
    const size_t slash = tail.find('/');
    if (slash != std::string_view::npos && tail.substr(slash + 1) == "reset-credentials") {
      if (req.method != "POST") return MethodNotAllowed("POST");
      const auto id = ParseId(tail.substr(0, slash));
      if (!id) return NotFound();
      if (Status st = d_.authorizer.CheckResource(actor, "credentials", registers::Action::kUpdate);
          !st.ok()) {
        return ProblemResponse(st.error());
      }
      if (*id == actor.user_id) {
        return ProblemResponse(
            Error::Denied("自分の認証情報はリセットできません。パスワードの変更を使ってください。",
                          "use password change for your own credentials"));
      }
      auto otp = d_.identity.IssueOneTimePassword(actor, *id);
      if (!otp.ok()) return ProblemResponse(otp.error());
      HttpResponse r = JsonResponse(200, {{"one_time_password", *otp}});
      return r;
    }
  }
  if (rest == "dashboard") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    json regs = json::array();
    for (const auto& def : registry_.all()) {
      auto n = service_.Count(actor, def);
      if (!n.ok()) {
        if (n.error().code == ErrorCode::kPermissionDenied) continue;
        return ProblemResponse(n.error());
      }
      regs.push_back({{"key", def.key},
                      {"label", {{"ja", def.label.ja}, {"en", def.label.en}}},
                      {"count", *n}});
    }
    json by_section = json::array();
    int measures = 0;
    auto add_measure = [&](const std::string& id, const policy::Text& title) {
      ++measures;
      by_section.push_back({{"section", id},
                            {"title", {{"ja", title.ja}, {"en", title.en}}},
                            {"count", catalog_.ControlsFor(id).size()}});
    };
    for (const auto& s : catalog_.sections) {
      if (s.is_measure) add_measure(s.id, s.title);
      for (const auto& it : s.items) {
        if (it.is_measure) add_measure(it.id, it.title);
      }
    }
    return JsonResponse(200, {{"registers", regs},
                              {"policy",
                               {{"sections", catalog_.sections.size()},
                                {"measures", measures},
                                {"controls", catalog_.controls.size()},
                                {"controls_by_section", by_section}}}});
  }
  if (rest == "monitor/reports") {
    // GET monitor/reports?days=N: the monitor's reports of the last N days (default 7).
    if (!get) return MethodNotAllowed("GET, HEAD");
    const auto days = ParseId(QueryValue(req.query, "days", "7"));
    if (!days || *days > 31) {
      return ProblemResponse(Error::Invalid("days は 1 から 31 までの日数で指定してください。",
                                            "days must be 1 to 31",
                                            {{"days",
                                              "日数",
                                              "1 から 31 までの整数にしてください。",
                                              "an integer from 1 to 31",
                                              0,
                                              {}}}));
    }
    return FromResult(d_.compliance.MonitorReports(actor, static_cast<int>(*days)));
  }
  if (rest == "compliance" || rest.rfind("compliance/", 0) == 0) {
    return HandleCompliance(req, actor, rest);
  }
  if (rest == "documents/pending" || rest == "documents/diff" || rest == "documents/progress" ||
      rest == "documents/public" || rest == "documents/public.pdf" || rest == "documents/reviews") {
    return HandleDocuments(req, actor, rest.substr(10));
  }
  if (rest == "risks/matrix" || rest == "risks/proposals" || rest == "risks/levels" ||
      (rest.rfind("risks/rounds/", 0) == 0 &&
       (rest.ends_with("/report") || rest.ends_with("/report.xlsx")))) {
    return HandleRisks(req, actor, rest.substr(6));
  }
  if (rest == "service-accounts" || rest.rfind("service-accounts/", 0) == 0) {
    return HandleServiceAccounts(req, actor, rest.substr(std::min<size_t>(rest.size(), 17)));
  }
  if (rest == "inventory/progress") {
    // The annual asset inventory: every section's state, totals by bureau, the overdue list.
    if (!get) return MethodNotAllowed("GET, HEAD");
    std::optional<int> year;
    if (const std::string y = QueryValue(req.query, "fiscal_year", ""); !y.empty()) {
      const auto n = ParseId(y);
      if (!n || *n < 2000 || *n > 2100) {
        return ProblemResponse(Error::Invalid(
            "fiscal_year (年度) は 2000〜2100 の西暦で指定してください。", "bad fiscal_year",
            {{"fiscal_year", "年度", "西暦の年で指定してください。", "a year", 0, {}}}));
      }
      year = static_cast<int>(*n);
    }
    return FromResult(d_.inventory.Progress(actor, year));
  }
  std::string_view sub;
  if (const RegisterDef* def = registry_.ByPathPrefix(rest, sub)) {
    return HandleRegister(req, actor, *def, sub);
  }
  return NotFound();
}

HttpResponse Api::HandleEvidencePost(const HttpRequest& req) const {
  const auto token = BearerToken(req.authorization);
  auto actor = token
                   ? d_.service_accounts.Authenticate(std::string(*token), req.client)
                   : Result<Actor>(Error::Unauthenticated(
                         "Authorization: Bearer <サービスアカウントのトークン> を付けてください。",
                         "a service account's bearer token is required"));
  if (!actor.ok()) {
    HttpResponse r = ProblemResponse(actor.error());
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mamori\"");
    return r;
  }
  auto body = ParseJsonBody(req, limits_.json_max_depth);
  if (!body.ok()) return ProblemResponse(body.error());
  json b = std::move(body).value();
  if (!b.is_object()) {
    return ProblemResponse(
        Error::Invalid("JSON オブジェクトを送ってください。", "body must be a JSON object"));
  }
  // The engines send the raw result as JSON (kept as its exact text, with its hash) and name
  // the control by its catalog id ("C-6-3a-01").
  if (b.contains("raw") && !b["raw"].is_string() && !b["raw"].is_null()) b["raw"] = b["raw"].dump();
  if (b.contains("control") && b["control"].is_string()) {
    b["control"] = registers::ControlValue(b["control"].get<std::string>());
  }
  if (b.contains("kind") && b["kind"].is_string()) {
    const std::string kind = registers::EvidenceKindValue(b["kind"].get<std::string>());
    if (!kind.empty()) b["kind"] = kind;
  }
  const RegisterDef* def = registry_.ByKey("evidence");
  auto created = d_.engine_service.Create(*actor, *def, b);
  if (!created.ok()) return ProblemResponse(created.error());
  HttpResponse r = JsonResponse(201, *created);
  r.headers.emplace_back(
      "Location", "/api/v1/" + def->path + "/" + std::to_string((*created)["id"].get<int64_t>()));
  return r;
}

HttpResponse Api::HandleServiceAccounts(const HttpRequest& req, const Actor& actor,
                                        std::string_view rest) const {
  // GET service-accounts; POST service-accounts {"name", "purpose", "expires_on"?};
  // POST service-accounts/{id}/revoke.
  const bool get = req.method == "GET" || req.method == "HEAD";
  using registers::Action;
  const Action action = get ? Action::kView : rest.empty() ? Action::kCreate : Action::kArchive;
  if (Status st = d_.authorizer.CheckResource(actor, "service_accounts", action); !st.ok()) {
    return ProblemResponse(st.error());
  }
  if (rest.empty()) {
    if (get) return FromResult(d_.service_accounts.List());
    if (req.method != "POST") return MethodNotAllowed("GET, HEAD, POST");
    auto body = ParseJsonBody(req, limits_.json_max_depth);
    if (!body.ok()) return ProblemResponse(body.error());
    const json& b = *body;
    auto text = [&](const char* k) {
      return b.is_object() && b.contains(k) && b[k].is_string() ? b[k].get<std::string>() : "";
    };
    auto made =
        d_.service_accounts.Create(actor, text("name"), text("purpose"), text("expires_on"));
    if (!made.ok()) return ProblemResponse(made.error());
    return JsonResponse(201, *made);
  }
  const size_t slash = rest.find('/');
  const auto id = ParseId(rest.substr(0, slash));
  if (!id || slash == std::string_view::npos || rest.substr(slash + 1) != "revoke") {
    return NotFound();
  }
  if (req.method != "POST") return MethodNotAllowed("POST");
  if (Status st = d_.service_accounts.Revoke(actor, *id); !st.ok()) {
    return ProblemResponse(st.error());
  }
  return JsonResponse(200, {{"revoked", *id}});
}

HttpResponse Api::HandleDocuments(const HttpRequest& req, const Actor& actor,
                                  std::string_view rest) const {
  // GET documents/pending: the versions in force the user has still to acknowledge;
  // documents/progress?version=ID: who has acknowledged a version, by bureau and section;
  // documents/diff?from=ID&to=ID: the line diff of two versions; documents/reviews: the
  // documents in force due for review within 30 days or overdue; documents/public?version=ID
  // and documents/public.pdf?version=ID: a public version as a standalone page or a PDF.
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
  if (rest == "pending") return FromResult(d_.documents.PendingAcknowledgements(actor));
  if (rest == "reviews") return FromResult(d_.documents.ReviewsDue(actor));
  auto id = [&](const char* name) { return ParseId(QueryValue(req.query, name, "")); };
  auto bad = [](const char* name) {
    return ProblemResponse(Error::Invalid(
        std::string(name) + " に版の ID を指定してください。", std::string(name) + " must be an id",
        {{name, name, "版の ID(整数)を指定してください。", "a version id", 0, {}}}));
  };
  if (rest == "public") {
    const auto v = id("version");
    if (!v) return bad("version");
    auto page = d_.documents.PublicHtml(actor, *v);
    if (!page.ok()) return ProblemResponse(page.error());
    return SelfContainedHtml(std::move(page).value());
  }
  if (rest == "public.pdf") {
    const auto v = id("version");
    if (!v) return bad("version");
    auto file = d_.documents.PublicPdf(actor, *v);
    if (!file.ok()) return ProblemResponse(file.error());
    HttpResponse r;
    r.content_type = "application/pdf";
    r.body = std::move(file->bytes);
    r.headers.emplace_back("Content-Disposition", AttachmentDisposition(file->name));
    return r;
  }
  if (rest == "progress") {
    const auto v = id("version");
    if (!v) return bad("version");
    return FromResult(d_.documents.AcknowledgementProgress(actor, *v));
  }
  const auto from = id("from"), to = id("to");
  if (!from) return bad("from");
  if (!to) return bad("to");
  return FromResult(d_.documents.Diff(actor, *from, *to));
}

HttpResponse Api::HandleRisks(const HttpRequest& req, const Actor& actor,
                              std::string_view rest) const {
  // GET risks/matrix: the matrix in use with its levels and grid, the other shipped ones and
  // the mappings; risks/proposals[?asset=ID]: the scenarios Mamori proposes for the assets;
  // risks/rounds/{id}/report(.xlsx): what changed since the last closed round.
  // PUT risks/levels: the names of the risk levels and the thresholds (設定), every risk's
  // level derived again.
  if (rest == "levels") {
    if (req.method != "PUT") return MethodNotAllowed("PUT");
    if (Status st = d_.authorizer.CheckResource(actor, "settings", registers::Action::kUpdate);
        !st.ok()) {
      return ProblemResponse(st.error());
    }
    auto body = ParseJsonBody(req, limits_.json_max_depth);
    if (!body.ok()) return ProblemResponse(body.error());
    return FromResult(d_.risks.ChangeLevels(actor, *body));
  }
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
  if (rest == "matrix") {
    if (Status st = d_.authorizer.Check(actor, *registry_.ByKey("risks"), registers::Action::kView,
                                        nullptr);
        !st.ok()) {
      return ProblemResponse(st.error());
    }
    return FromResult(d_.risks.Matrix());
  }
  if (rest == "proposals") {
    const std::string asset = QueryValue(req.query, "asset", "");
    const auto id = ParseId(asset);
    if (!asset.empty() && !id) {
      return ProblemResponse(Error::Invalid(
          "asset に資産の ID を指定してください。", "asset must be an id",
          {{"asset", "asset", "資産の ID(整数)を指定してください。", "an asset id", 0, {}}}));
    }
    return FromResult(d_.risks.Proposals(actor, id));
  }
  // rounds/{id}/report or rounds/{id}/report.xlsx
  std::string_view tail = rest.substr(7);
  const bool xlsx = tail.ends_with(".xlsx");
  tail = tail.substr(0, tail.find('/'));
  const auto id = ParseId(std::string(tail));
  if (!id) return NotFound();
  if (!xlsx) return FromResult(d_.risks.RoundReport(actor, *id));
  auto bytes = d_.risks.RoundReportXlsx(actor, *id);
  if (!bytes.ok()) return ProblemResponse(bytes.error());
  HttpResponse r;
  r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  r.body = std::move(bytes).value();
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"risk-round-" + std::to_string(*id) + ".xlsx\"");
  return r;
}

HttpResponse Api::HandleCompliance(const HttpRequest& req, const Actor& actor,
                                   std::string_view rest) const {
  // GET compliance: every control's derived status; compliance/report.xlsx and
  // compliance/report.html: the 実施状況一覧 for the committee.
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
  if (rest == "compliance") return FromResult(d_.compliance.Status(actor));
  const std::string date = JapanDate(d_.clock.Now());
  HttpResponse r;
  if (rest == "compliance/report.xlsx") {
    auto bytes = d_.compliance.ReportXlsx(actor);
    if (!bytes.ok()) return ProblemResponse(bytes.error());
    r.content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    r.body = std::move(bytes).value();
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"compliance-" + date + ".xlsx\"");
    return r;
  }
  if (rest == "compliance/report.html") {
    auto page = d_.compliance.ReportHtml(actor);
    if (!page.ok()) return ProblemResponse(page.error());
    return SelfContainedHtml(std::move(page).value());
  }
  return NotFound();
}

HttpResponse Api::HandleRegister(const HttpRequest& req, const Actor& actor, const RegisterDef& def,
                                 std::string_view rest) const {
  using registers::FileFormat;
  using registers::ImportMode;
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (rest.empty()) {
    if (get) {
      auto q = registers::ParseListQuery(def, req.query);
      if (!q.ok()) return ProblemResponse(q.error());
      auto list = service_.List(actor, def, *q);
      if (!list.ok()) return ProblemResponse(list.error());
      return RawJson(std::move(list).value());
    }
    if (req.method == "POST") {
      auto body = ParseJsonBody(req, limits_.json_max_depth);
      if (!body.ok()) return ProblemResponse(body.error());
      auto created = service_.Create(actor, def, *body);
      if (!created.ok()) return ProblemResponse(created.error());
      HttpResponse r = JsonResponse(201, *created);
      r.headers.emplace_back("Location", "/api/v1/" + def.path + "/" +
                                             std::to_string((*created)["id"].get<int64_t>()));
      return r;
    }
    return MethodNotAllowed("GET, HEAD, POST");
  }
  if (rest == "counts") {
    // GET {path}/counts?by=f1,f2 (enum or boolean fields; the list's filters apply).
    if (!get) return MethodNotAllowed("GET, HEAD");
    const std::string by_text = QueryValue(req.query, "by", "");
    std::vector<const registers::FieldDef*> by;
    bool ok = !by_text.empty();
    for (size_t start = 0; ok && start <= by_text.size();) {
      const size_t comma = std::min(by_text.find(',', start), by_text.size());
      const registers::FieldDef* f = def.Field(by_text.substr(start, comma - start));
      ok = f != nullptr &&
           (f->type == registers::FieldType::kEnum || f->type == registers::FieldType::kBoolean);
      if (ok) by.push_back(f);
      start = comma + 1;
    }
    if (!ok || by.size() > 2) {
      return ProblemResponse(Error::Invalid(
          "by には区分(選択肢)又は有無の項目を 1 つか 2 つ、カンマ区切りで指定してください。",
          "by must name one or two enum or boolean fields",
          {{"by", "by", "項目名を指定してください。", "field names", 0, {}}}));
    }
    auto q = registers::ParseListQuery(def, req.query, {"by"});
    if (!q.ok()) return ProblemResponse(q.error());
    return FromResult(service_.Counts(actor, def, *q, by));
  }
  if (rest == "export") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    const std::string format = QueryValue(req.query, "format", "xlsx");
    if (format != "csv" && format != "xlsx") {
      return ProblemResponse(Error::Invalid(
          "format は csv か xlsx を指定してください。", "format must be csv or xlsx",
          {{"format", "format", "csv か xlsx を指定してください。", "csv or xlsx", 0, {}}}));
    }
    auto q = registers::ParseListQuery(def, req.query, {"format"});
    if (!q.ok()) return ProblemResponse(q.error());
    auto file =
        service_.Export(actor, def, *q, format == "csv" ? FileFormat::kCsv : FileFormat::kXlsx);
    if (!file.ok()) return ProblemResponse(file.error());
    HttpResponse r;
    r.content_type = file->content_type;
    r.body = std::move(file->bytes);
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + file->filename + "\"");
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  if (rest == "import") {
    if (req.method != "POST") return MethodNotAllowed("POST");
    std::vector<FieldError> errors;
    const std::string format = QueryValue(req.query, "format", "");
    const std::string mode = QueryValue(req.query, "mode", "insert");
    const std::string dry = QueryValue(req.query, "dry_run", "false");
    for (const auto& [k, v] : req.query) {
      if (k != "format" && k != "mode" && k != "dry_run") {
        errors.push_back({k, k, "不明なパラメータです。", "unknown parameter", 0, {}});
      }
    }
    if (format != "csv" && format != "xlsx") {
      errors.push_back(
          {"format", "format", "csv か xlsx を指定してください。", "csv or xlsx", 0, {}});
    }
    if (mode != "insert" && mode != "upsert") {
      errors.push_back(
          {"mode", "mode", "insert か upsert を指定してください。", "insert or upsert", 0, {}});
    }
    if (dry != "true" && dry != "false") {
      errors.push_back(
          {"dry_run", "dry_run", "true か false を指定してください。", "true or false", 0, {}});
    }
    if (!errors.empty()) {
      return ProblemResponse(Error::Invalid("取り込みの指定に誤りがあります。",
                                            "invalid import parameters", std::move(errors)));
    }
    auto summary = service_.Import(
        actor, def, req.body, format == "csv" ? FileFormat::kCsv : FileFormat::kXlsx,
        mode == "upsert" ? ImportMode::kUpsert : ImportMode::kInsert, dry == "true");
    if (!summary.ok()) return ProblemResponse(summary.error());
    return JsonResponse(200, {{"dry_run", summary->dry_run},
                              {"created", summary->created},
                              {"updated", summary->updated},
                              {"unchanged", summary->unchanged},
                              {"warnings", registers::WarningsToJson(summary->warnings)}});
  }

  // {id}, {id}/history, {id}/archive, {id}/restore
  const size_t slash = rest.find('/');
  const auto id = ParseId(rest.substr(0, slash));
  if (!id) return NotFound();
  const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (action.empty()) {
    if (get) {
      auto rec = service_.Get(actor, def, *id);
      if (!rec.ok()) return ProblemResponse(rec.error());
      HttpResponse r = JsonResponse(200, *rec);
      r.headers.emplace_back("ETag",
                             "\"" + std::to_string((*rec)["version"].get<int64_t>()) + "\"");
      return r;
    }
    if (req.method == "PATCH") {
      auto body = ParseJsonBody(req, limits_.json_max_depth);
      if (!body.ok()) return ProblemResponse(body.error());
      auto version = ExpectedVersion(req, *body);
      if (!version.ok()) return ProblemResponse(version.error());
      return FromResult(service_.Update(actor, def, *id, *version, *body));
    }
    return MethodNotAllowed("GET, HEAD, PATCH");
  }
  if (action == "history") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return FromResult(service_.History(actor, def, *id));
  }
  if (action == "attachments" || action.starts_with("attachments/")) {
    return HandleAttachments(req, actor, def, *id, action.substr(11));
  }
  if (action == "archive" || action == "restore") {
    if (req.method != "POST") return MethodNotAllowed("POST");
    json body = json::object();
    if (!req.body.empty()) {
      auto parsed = ParseJsonBody(req, limits_.json_max_depth);
      if (!parsed.ok()) return ProblemResponse(parsed.error());
      body = std::move(parsed).value();
    }
    auto version = ExpectedVersion(req, body);
    if (!version.ok()) return ProblemResponse(version.error());
    return FromResult(service_.SetArchived(actor, def, *id, *version, action == "archive"));
  }
  return NotFound();
}

size_t Api::AttachmentLimit(const RegisterDef& def) const {
  return std::min(limits_.attachment_bytes, static_cast<size_t>(def.attachments.max_bytes));
}

HttpResponse Api::HandleAttachments(const HttpRequest& req, const Actor& actor,
                                    const RegisterDef& def, int64_t id,
                                    std::string_view rest) const {
  // {id}/attachments: GET the list, POST a file (the raw body; its name in ?name=);
  // {id}/attachments/{attachment}: GET the file, DELETE it.
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (rest.empty()) {
    if (get) return FromResult(service_.ListAttachments(actor, def, id));
    if (req.method != "POST") return MethodNotAllowed("GET, HEAD, POST");
    std::vector<FieldError> errors;
    for (const auto& [k, v] : req.query) {
      if (k != "name")
        errors.push_back({k, k, "不明なパラメータです。", "unknown parameter", 0, {}});
    }
    if (!errors.empty()) {
      return ProblemResponse(Error::Invalid("添付の指定に誤りがあります。",
                                            "invalid attachment parameters", std::move(errors)));
    }
    const std::string name = QueryValue(req.query, "name", "");
    auto added = service_.AddAttachment(actor, def, id, name, req.body,
                                        static_cast<int64_t>(AttachmentLimit(def)));
    if (!added.ok()) return ProblemResponse(added.error());
    HttpResponse r = JsonResponse(201, *added);
    r.headers.emplace_back("Location", "/api/v1/" + def.path + "/" + std::to_string(id) +
                                           "/attachments/" +
                                           std::to_string((*added)["id"].get<int64_t>()));
    return r;
  }
  const auto attachment = ParseId(rest.substr(1));
  if (rest.front() != '/' || !attachment) return NotFound();
  if (req.method == "DELETE") {
    if (Status st = service_.RemoveAttachment(actor, def, id, *attachment); !st.ok()) {
      return ProblemResponse(st.error());
    }
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
  if (!get) return MethodNotAllowed("GET, HEAD, DELETE");
  auto file = service_.GetAttachment(actor, def, id, *attachment);
  if (!file.ok()) return ProblemResponse(file.error());
  HttpResponse r;
  // The type was decided by the server from the file's signature (a few safe types, else
  // octet-stream); the file is always offered for saving, never shown in the page's origin.
  r.content_type = file->content_type;
  r.body = std::move(file->bytes);
  r.headers.emplace_back("Content-Disposition", AttachmentDisposition(file->name));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  r.headers.emplace_back("Cache-Control", "private, no-store");
  r.headers.emplace_back("ETag", "\"" + file->sha256 + "\"");
  return r;
}

std::string AttachmentDisposition(std::string_view name) {
  // The fallback keeps ASCII letters, digits and a few safe marks (an old client saves
  // "_____.pdf" rather than a mangled name); filename* carries the real one.
  std::string fallback, encoded;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    fallback += alnum || c == '.' || c == '-' || c == '_' ? static_cast<char>(c) : '_';
    // RFC 5987 attr-char: ALPHA DIGIT ! # $ & + - . ^ _ ` | ~
    if (alnum ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      encoded += static_cast<char>(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace mamori::api
