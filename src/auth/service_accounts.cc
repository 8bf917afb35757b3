#include "auth/service_accounts.h"

#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "common/text.h"
#include "registers/definition.h"

namespace mamori::auth {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

constexpr std::string_view kTokenPrefix = "mamori_sa_";

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 48) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

Error Denied() {
  return Error::Unauthenticated("サービスアカウントのトークンが無効です(不明、失効又は期限切れ)。",
                                "unknown, revoked or expired service token");
}

json AccountJson(const store::Row& r, const std::string& today) {
  const std::string expires = AsText(r[5]);
  const bool revoked = !store::IsNull(r[6]);
  return {{"id", AsInt(r[0])},
          {"name", AsText(r[1])},
          {"purpose", AsText(r[2])},
          {"created_at", AsText(r[3])},
          {"created_by", AsText(r[4])},
          {"expires_on", store::IsNull(r[5]) ? json(nullptr) : json(expires)},
          {"revoked_at", revoked ? json(AsText(r[6])) : json(nullptr)},
          {"last_used_at", store::IsNull(r[7]) ? json(nullptr) : json(AsText(r[7]))},
          {"state", revoked                               ? "revoked"
                    : !expires.empty() && expires < today ? "expired"
                                                          : "active"}};
}

constexpr const char* kColumns =
    "id, name, purpose, created_at, created_by, expires_on, revoked_at, last_used_at";

}  // namespace

std::vector<store::Migration> ServiceAccountMigrations() {
  return {
      {"auth/003-service-accounts",
       "service accounts of the engines",
       {"CREATE TABLE auth_service_accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
        "purpose TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, "
        "created_by TEXT NOT NULL, expires_on TEXT, revoked_at TEXT, revoked_by TEXT, "
        "last_used_at TEXT)"}}};
}

ServiceAccounts::ServiceAccounts(store::Store& store, AuditLog& audit, const Clock& clock)
    : store_(store), audit_(audit), clock_(clock) {}

Result<json> ServiceAccounts::List() const {
  const std::string today = JapanDate(clock_.Now());
  json items = json::array();
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query(std::string("SELECT ") + kColumns +
                                                   " FROM auth_service_accounts ORDER BY id DESC",
                                               {}, 10000));
    for (const auto& r : rows) items.push_back(AccountJson(r, today));
    return {};
  }));
  return json{{"items", std::move(items)}};
}

Result<json> ServiceAccounts::Create(const registers::Actor& actor, const std::string& name,
                                     const std::string& purpose, const std::string& expires_on) {
  const std::string today = JapanDate(clock_.Now());
  std::vector<FieldError> errors;
  if (!ValidName(name)) {
    errors.push_back({"name",
                      "名前",
                      "名前は英小文字・数字・-・_ の 1〜48 文字にしてください。",
                      "1-48 of a-z 0-9 - _",
                      0,
                      {}});
  }
  if (purpose.empty() || purpose.size() > 600 || !IsValidUtf8(purpose)) {
    errors.push_back({"purpose",
                      "用途",
                      "用途を 200 文字以内で入力してください。",
                      "purpose: 1-200 characters",
                      0,
                      {}});
  }
  if (!expires_on.empty() && (!ParseDate(expires_on) || expires_on <= today)) {
    errors.push_back({"expires_on",
                      "有効期限",
                      "有効期限は明日以降の日付(YYYY-MM-DD)にしてください。",
                      "a date after today",
                      0,
                      {}});
  }
  if (!errors.empty()) {
    return Error::Invalid("入力内容に誤りがあります。", "invalid service account",
                          std::move(errors));
  }
  const std::string secret = GenerateToken();
  json out;
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    const Value name_param[] = {name};
    MAMORI_ASSIGN_OR_RETURN(
        auto taken, c.Query("SELECT 1 FROM auth_service_accounts WHERE name = ?", name_param));
    if (!taken.empty()) {
      return Error::Conflict("同じ名前のサービスアカウントがあります: " + name,
                             "a service account with this name exists",
                             {{"name", "名前", "別の名前にしてください。", "taken", 0, {}}});
    }
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_ASSIGN_OR_RETURN(
        [[maybe_unused]] int64_t n,
        c.Exec("INSERT INTO auth_service_accounts (name, purpose, token_hash, created_at, "
               "created_by, expires_on) VALUES (?, ?, ?, ?, ?, ?)",
               std::vector<Value>{name, purpose, HashToken(secret), now, actor.id,
                                  expires_on.empty() ? Value{} : Value{expires_on}}));
    const int64_t id = c.LastInsertId();
    const Value id_param[] = {id};
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query(std::string("SELECT ") + kColumns +
                                                   " FROM auth_service_accounts WHERE id = ?",
                                               id_param));
    out["account"] = AccountJson(rows.at(0), today);
    // The token carries the account id so that a lookup needs no scan; only its hash is kept.
    out["token"] = std::string(kTokenPrefix) + std::to_string(id) + "_" + secret;
    return audit_.Append(c, actor, "service_account.create",
                         "service_accounts/" + std::to_string(id),
                         {{"name", name}, {"purpose", purpose}, {"expires_on", expires_on}});
  }));
  return out;
}

Status ServiceAccounts::Revoke(const registers::Actor& actor, int64_t id) {
  return store_.Write([&](Connection& c) -> Status {
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_ASSIGN_OR_RETURN(
        int64_t n, c.Exec("UPDATE auth_service_accounts SET revoked_at = ?, revoked_by = ? "
                          "WHERE id = ? AND revoked_at IS NULL",
                          std::vector<Value>{now, actor.id, id}));
    if (n == 0) {
      return Error::NotFound("有効なサービスアカウントが見つかりません。",
                             "no active service account with this id");
    }
    return audit_.Append(c, actor, "service_account.revoke",
                         "service_accounts/" + std::to_string(id), json::object());
  });
}

Result<std::pair<int64_t, std::string>> ServiceAccounts::Valid(Connection& c,
                                                               const std::string& token) const {
  // mamori_sa_<id>_<secret>
  if (token.size() > 200 || token.rfind(kTokenPrefix, 0) != 0) return Denied();
  const size_t sep = token.find('_', kTokenPrefix.size());
  if (sep == std::string::npos) return Denied();
  int64_t id = 0;
  for (size_t i = kTokenPrefix.size(); i < sep; ++i) {
    if (token[i] < '0' || token[i] > '9' || id > 1'000'000'000) return Denied();
    id = id * 10 + (token[i] - '0');
  }
  const std::string secret = token.substr(sep + 1);
  const std::string today = JapanDate(clock_.Now());
  const Value params[] = {id};
  MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT name, token_hash, expires_on, revoked_at "
                                             "FROM auth_service_accounts WHERE id = ?",
                                             params));
  // One comparison whether or not the account exists, so timing tells nothing.
  const std::string stored = rows.empty() ? std::string(64, '0') : AsText(rows[0][1]);
  const bool match = ConstantTimeEquals(HashToken(secret), stored);
  if (rows.empty() || !match || !store::IsNull(rows[0][3]) ||
      (!store::IsNull(rows[0][2]) && AsText(rows[0][2]) < today)) {
    return Denied();
  }
  return std::pair<int64_t, std::string>{id, AsText(rows[0][0])};
}

Result<registers::Actor> ServiceAccounts::Authenticate(const std::string& token,
                                                       const std::string& address) const {
  registers::Actor actor;
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto account, Valid(c, token));
    actor = registers::Actor{"service:" + account.second, address, 0, {}};
    MAMORI_ASSIGN_OR_RETURN([[maybe_unused]] int64_t n,
                            c.Exec("UPDATE auth_service_accounts SET last_used_at = ? WHERE id = ?",
                                   std::vector<Value>{FormatIso8601(clock_.Now()), account.first}));
    return {};
  }));
  return actor;
}

bool ServiceAccounts::Recognizes(const std::string& token) const {
  return store_
      .Read([&](Connection& c) -> Status {
        auto valid = Valid(c, token);
        return valid.ok() ? Status() : Status(std::move(valid).error());
      })
      .ok();
}

Status EngineAccess::Check(const registers::Actor& actor, const registers::RegisterDef& def,
                           registers::Action action, const json*) const {
  using registers::Action;
  if (actor.id.rfind("service:", 0) == 0 && def.key == "evidence" &&
      (action == Action::kCreate || action == Action::kView)) {
    return {};
  }
  return Error::Denied("サービスアカウントは証跡の登録だけができます。",
                       "a service account may only add evidence");
}

Result<registers::RowFilter> EngineAccess::ListFilter(const registers::Actor& actor,
                                                      const registers::RegisterDef& def) const {
  MAMORI_TRY(Check(actor, def, registers::Action::kView, nullptr));
  return registers::RowFilter{};
}

}  // namespace mamori::auth
