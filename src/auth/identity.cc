#include "auth/identity.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace mamori::auth {

using nlohmann::json;
using registers::Actor;
using registers::RoleGrant;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

constexpr int64_t kLastSeenResolutionMs = 60'000;
constexpr size_t kMaxCachedSessions = 10'000;

Error BadCredentials() {
  return Error::Invalid("ログイン ID またはパスワードが違います。", "wrong login id or password");
}
Error BadCode() {
  return Error::Invalid(
      "確認コードが違います。認証アプリの 6 桁のコードか、回復コードを入力してください。",
      "wrong code");
}
Error NotLoggedIn() { return Error::Unauthenticated("ログインしてください。", "not logged in"); }
Error PendingExpired() {
  return Error::Unauthenticated(
      "ログインの手続きの有効期限が切れました。最初からやり直してください。",
      "the login step expired; start again");
}
Error LockedError(int seconds) {
  const int minutes = (seconds + 59) / 60;
  return Error::Unavailable(
      seconds >= 60
          ? "失敗が続いたため一時的にロックされています。約 " + std::to_string(minutes) +
                " 分後に再度お試しください。"
          : "失敗が続いたため、" + std::to_string(seconds) + " 秒待ってから再度お試しください。",
      "locked: retry after " + std::to_string(seconds) + " s");
}

int64_t NowMs(const Clock& clock) { return clock.Now().time_since_epoch().count(); }

struct PendingRow {
  int64_t user_id = 0;
  std::string login;
  std::string status;
  bool must_change = true;
  bool enrolled = false;
  std::string password_hash;
  std::string totp_secret;  // sealed
  int64_t last_step = 0;
  int64_t next_attempt_ms = 0;
  std::string enroll_secret;  // sealed
};

}  // namespace

std::vector<store::Migration> IdentityMigrations() {
  return {{"auth/002-identity",
           "credentials, sessions and lockout",
           {"CREATE TABLE auth_credentials (user_id INTEGER PRIMARY KEY REFERENCES r_users(id), "
            "password_hash TEXT NOT NULL, must_change INTEGER NOT NULL, totp_secret TEXT, "
            "totp_enrolled INTEGER NOT NULL DEFAULT 0, totp_last_step INTEGER NOT NULL DEFAULT 0, "
            "failed_count INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL DEFAULT 0, "
            "updated_at TEXT NOT NULL)",
            "CREATE TABLE auth_recovery_codes (user_id INTEGER NOT NULL REFERENCES r_users(id), "
            "code_hash TEXT NOT NULL, used_at TEXT, PRIMARY KEY (user_id, code_hash))",
            "CREATE TABLE auth_sessions (token_hash TEXT PRIMARY KEY, "
            "user_id INTEGER NOT NULL REFERENCES r_users(id), kind TEXT NOT NULL, "
            "created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, address TEXT NOT NULL, "
            "enroll_secret TEXT)",
            "CREATE INDEX auth_sessions_user ON auth_sessions(user_id)",
            "CREATE TABLE auth_address_failures (address TEXT PRIMARY KEY, "
            "window_start_ms INTEGER NOT NULL, failures INTEGER NOT NULL, "
            "locked_until_ms INTEGER NOT NULL)"}}};
}

IdentityService::IdentityService(store::Store& store, const registers::Registry& registry,
                                 AuditLog& audit, const Clock& clock, const SecretBox& box,
                                 IdentityOptions options)
    : store_(store),
      registry_(registry),
      audit_(audit),
      clock_(clock),
      box_(box),
      options_(options) {}

const std::string& IdentityService::DummyHash() const {
  // Made on first need (a login), not at start: admin commands never pay for it.
  std::call_once(dummy_once_, [this] {
    auto dummy = HashPassword("mamori-dummy-password-for-timing", options_.hash_params);
    dummy_hash_ = dummy.ok() ? *dummy : "";
  });
  return dummy_hash_;
}

std::string IdentityService::CsrfFor(const std::string& session_token) const {
  return box_.Mac("csrf:" + session_token);
}

Result<std::string> IdentityService::IssueOneTimePassword(const Actor& actor, int64_t user_id) {
  const std::string otp = GenerateOneTimePassword();
  MAMORI_ASSIGN_OR_RETURN(std::string hash, HashPassword(otp, options_.hash_params));
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    const Value id[] = {user_id};
    MAMORI_ASSIGN_OR_RETURN(auto users, c.Query("SELECT f_login FROM r_users WHERE id = ?", id));
    if (users.empty()) return Error::NotFound("利用者が見つかりません。", "no such user");
    const Value params[] = {user_id, hash, FormatIso8601(clock_.Now())};
    MAMORI_TRY(
        c.Exec("INSERT INTO auth_credentials (user_id, password_hash, must_change, totp_secret, "
               "totp_enrolled, totp_last_step, failed_count, next_attempt_ms, updated_at) "
               "VALUES (?, ?, 1, NULL, 0, 0, 0, 0, ?) ON CONFLICT(user_id) DO UPDATE SET "
               "password_hash = excluded.password_hash, must_change = 1, totp_secret = NULL, "
               "totp_enrolled = 0, totp_last_step = 0, failed_count = 0, next_attempt_ms = 0, "
               "updated_at = excluded.updated_at",
               params));
    MAMORI_TRY(c.Exec("DELETE FROM auth_recovery_codes WHERE user_id = ?", id));
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE user_id = ?", id));
    return audit_.Append(c, actor, "credentials_reset", "users/" + std::to_string(user_id),
                         {{"login", AsText(users[0][0])}});
  }));
  ForgetSessions();  // the user's sessions ended with the commit
  return otp;
}

namespace {

// The credential state of a user: the columns both loaders read, in this order.
constexpr const char* kStateColumns =
    "u.id, u.f_login, u.f_status, c.must_change, c.totp_enrolled, c.password_hash, "
    "c.totp_secret, c.totp_last_step, c.next_attempt_ms";

void FillState(const store::Row& r, PendingRow& row) {
  row.user_id = AsInt(r[0]);
  row.login = AsText(r[1]);
  row.status = AsText(r[2]);
  row.must_change = store::IsNull(r[3]) || AsInt(r[3]) != 0;  // no credentials yet: must set
  row.enrolled = AsInt(r[4]) != 0;
  row.password_hash = AsText(r[5]);
  row.totp_secret = AsText(r[6]);
  row.last_step = AsInt(r[7]);
  row.next_attempt_ms = AsInt(r[8]);
}

// Loads a user's credential state by login (for Login); false when there is no such user.
Result<bool> LoadByLogin(Connection& c, const std::string& login, PendingRow& row) {
  const Value p[] = {login};
  MAMORI_ASSIGN_OR_RETURN(
      auto rows, c.Query(std::string("SELECT ") + kStateColumns +
                             " FROM r_users u LEFT JOIN auth_credentials c ON c.user_id = u.id "
                             "WHERE u.f_login = ? AND u.archived = 0",
                         p));
  if (rows.empty()) return false;
  FillState(rows[0], row);
  return true;
}

// Loads it by pending login step (for the steps after the password); false when the step is
// unknown, expired, or the user is no longer active.
Result<bool> LoadByPending(Connection& c, const std::string& token_hash, int64_t min_created_ms,
                           PendingRow& row) {
  const Value p[] = {token_hash, min_created_ms};
  MAMORI_ASSIGN_OR_RETURN(
      auto rows, c.Query(std::string("SELECT ") + kStateColumns +
                             ", s.enroll_secret FROM auth_sessions s JOIN r_users u ON "
                             "u.id = s.user_id JOIN auth_credentials c ON c.user_id = u.id "
                             "WHERE s.token_hash = ? AND s.kind = 'pending' AND "
                             "s.created_ms >= ? AND u.archived = 0",
                         p));
  if (rows.empty()) return false;
  FillState(rows[0], row);
  row.enroll_secret = AsText(rows[0][9]);
  return row.status == "active";
}

}  // namespace

// Records a failure against the account (when known) and the address; returns the seconds
// until the next attempt is allowed on the account.
static Status RecordFailure(Connection& c, const IdentityOptions& o, int64_t now_ms,
                            int64_t user_id, const std::string& address) {
  if (user_id != 0) {
    const Value id[] = {user_id};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT failed_count FROM auth_credentials WHERE user_id = ?", id));
    if (!rows.empty()) {
      const int64_t n = AsInt(rows[0][0]) + 1;
      int64_t delay_ms = n * n * 1000;
      if (n >= o.account_lock_threshold) {
        const int64_t minutes =
            std::min<int64_t>(60, int64_t{1} << std::min<int64_t>(6, n - o.account_lock_threshold));
        delay_ms = minutes * 60'000;
      }
      const Value p[] = {n, now_ms + delay_ms, user_id};
      MAMORI_TRY(c.Exec(
          "UPDATE auth_credentials SET failed_count = ?, next_attempt_ms = ? WHERE user_id = ?",
          p));
    }
  }
  const int64_t window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(o.address_window).count();
  const Value a[] = {address};
  MAMORI_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT window_start_ms, failures FROM auth_address_failures WHERE address = ?", a));
  int64_t start = now_ms, failures = 1;
  if (!rows.empty() && now_ms - AsInt(rows[0][0]) < window_ms) {
    start = AsInt(rows[0][0]);
    failures = AsInt(rows[0][1]) + 1;
  }
  const int64_t locked_until = failures >= o.address_lock_threshold ? now_ms + window_ms : 0;
  const Value p[] = {address, start, failures, locked_until};
  MAMORI_TRY(c.Exec(
      "INSERT INTO auth_address_failures (address, window_start_ms, failures, locked_until_ms) "
      "VALUES (?, ?, ?, ?) ON CONFLICT(address) DO UPDATE SET window_start_ms = "
      "excluded.window_start_ms, "
      "failures = excluded.failures, locked_until_ms = max(locked_until_ms, "
      "excluded.locked_until_ms)",
      p));
  return {};
}

static Result<int64_t> AddressLockedUntil(Connection& c, const std::string& address) {
  const Value a[] = {address};
  MAMORI_ASSIGN_OR_RETURN(
      auto rows, c.Query("SELECT locked_until_ms FROM auth_address_failures WHERE address = ?", a));
  return rows.empty() ? int64_t{0} : AsInt(rows[0][0]);
}

static int SecondsUntil(int64_t now_ms, int64_t until_ms) {
  return static_cast<int>((until_ms - now_ms + 999) / 1000);
}

Result<LoginStep> IdentityService::Login(const std::string& login, const std::string& password,
                                         const std::string& address, int* retry_after) {
  const int64_t now = NowMs(clock_);
  const Actor who{login.substr(0, 64), address};
  PendingRow row;
  bool found = false;
  int64_t address_locked = 0;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(address_locked, AddressLockedUntil(c, address));
    MAMORI_ASSIGN_OR_RETURN(found, LoadByLogin(c, login, row));
    return {};
  }));
  auto locked = [&](int64_t until, const char* reason) -> Error {
    const int s = SecondsUntil(now, until);
    if (retry_after) *retry_after = s;
    (void)audit_.AppendNow(who, "login_locked", "users/" + login.substr(0, 64),
                           {{"reason", reason}});
    return LockedError(s);
  };
  if (address_locked > now) return locked(address_locked, "address");
  if (found && row.next_attempt_ms > now) return locked(row.next_attempt_ms, "account");

  const bool has_password = found && !row.password_hash.empty();
  // Unknown logins still cost one hash, so timing does not tell which logins exist.
  const bool password_ok =
      VerifyPassword(password, has_password ? row.password_hash : DummyHash()) && has_password;
  const char* reason = !found                   ? "unknown_login"
                       : !has_password          ? "no_credentials"
                       : !password_ok           ? "bad_password"
                       : row.status != "active" ? "inactive"
                                                : nullptr;
  if (reason != nullptr) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      MAMORI_TRY(RecordFailure(c, options_, now, found ? row.user_id : 0, address));
      return audit_.Append(c, who, "login_failed", "users/" + login.substr(0, 64),
                           {{"reason", reason}, {"step", "password"}});
    }));
    return BadCredentials();
  }
  LoginStep step;
  step.pending_token = GenerateToken();
  step.password_change_required = row.must_change;
  step.mfa_enrollment_required = !row.enrolled;
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    const Value p[] = {HashToken(step.pending_token), row.user_id, now, now, address};
    MAMORI_TRY(
        c.Exec("INSERT INTO auth_sessions (token_hash, user_id, kind, created_ms, "
               "last_seen_ms, address) VALUES (?, ?, 'pending', ?, ?, ?)",
               p));
    // Old pending steps of anyone are no use after their timeout.
    const Value old[] = {
        now -
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.pending_timeout).count()};
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE kind = 'pending' AND created_ms < ?", old));
    return audit_.Append(c, Actor{row.login, address, row.user_id, {}}, "login_password_ok",
                         "users/" + std::to_string(row.user_id), json::object());
  }));
  return step;
}

Status IdentityService::ChangePendingPassword(const std::string& pending_token,
                                              const std::string& new_password,
                                              const std::string& address) {
  const int64_t now = NowMs(clock_);
  const int64_t min_created =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.pending_timeout).count();
  PendingRow row;
  bool found = false;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(found, LoadByPending(c, HashToken(pending_token), min_created, row));
    return {};
  }));
  if (!found) return PendingExpired();
  if (!row.must_change) {
    return Error::Invalid("パスワードの変更はログイン後の画面から行ってください。",
                          "no password change is pending");
  }
  MAMORI_TRY(CheckPasswordPolicy(new_password, row.login));
  if (VerifyPassword(new_password, row.password_hash)) {
    return Error::Invalid("今までと同じパスワードは使えません。",
                          "must differ from the old password",
                          {{"new_password",
                            "新しいパスワード",
                            "今までと同じパスワードは使えません。",
                            "must differ",
                            0,
                            {}}});
  }
  MAMORI_ASSIGN_OR_RETURN(std::string hash, HashPassword(new_password, options_.hash_params));
  return store_.Write([&](Connection& c) -> Status {
    const Value p[] = {hash, FormatIso8601(clock_.Now()), row.user_id};
    MAMORI_TRY(
        c.Exec("UPDATE auth_credentials SET password_hash = ?, must_change = 0, "
               "updated_at = ? WHERE user_id = ?",
               p));
    return audit_.Append(c, Actor{row.login, address, row.user_id, {}}, "password_changed",
                         "users/" + std::to_string(row.user_id), {{"step", "first_login"}});
  });
}

Result<Enrollment> IdentityService::BeginEnrollment(const std::string& pending_token) {
  const int64_t now = NowMs(clock_);
  const int64_t min_created =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.pending_timeout).count();
  PendingRow row;
  bool found = false;
  const std::string token_hash = HashToken(pending_token);
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(found, LoadByPending(c, token_hash, min_created, row));
    return {};
  }));
  if (!found) return PendingExpired();
  if (row.must_change) {
    return Error::Invalid("先にパスワードを変更してください。", "change the password first");
  }
  if (row.enrolled) {
    return Error::Invalid("多要素認証は登録済みです。", "MFA is already enrolled");
  }
  const std::string secret = GenerateTotpSecret();
  Enrollment e;
  e.secret_base32 = Base32Encode(secret);
  e.otpauth_uri = OtpauthUri(secret, row.login, "Mamori");
  MAMORI_ASSIGN_OR_RETURN(e.qr_svg,
                          QrSvg(e.otpauth_uri, "Mamori " + row.login + " の登録用 QR コード"));
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    const Value p[] = {box_.Seal(secret), token_hash};
    MAMORI_TRY(c.Exec("UPDATE auth_sessions SET enroll_secret = ? WHERE token_hash = ?", p));
    return {};
  }));
  return e;
}

Result<NewSession> IdentityService::VerifyMfa(const std::string& pending_token,
                                              const std::string& code,
                                              const std::string& recovery_code,
                                              const std::string& address, int* retry_after) {
  const int64_t now = NowMs(clock_);
  const int64_t min_created =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.pending_timeout).count();
  const std::string pending_hash = HashToken(pending_token);
  PendingRow row;
  bool found = false;
  int64_t address_locked = 0;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(address_locked, AddressLockedUntil(c, address));
    MAMORI_ASSIGN_OR_RETURN(found, LoadByPending(c, pending_hash, min_created, row));
    return {};
  }));
  if (!found) return PendingExpired();
  const Actor who{row.login, address, row.user_id, {}};
  const int64_t until = std::max(address_locked, row.next_attempt_ms);
  if (until > now) {
    if (retry_after) *retry_after = SecondsUntil(now, until);
    return LockedError(SecondsUntil(now, until));
  }
  if (row.must_change) {
    return Error::Invalid("先にパスワードを変更してください。", "change the password first");
  }

  NewSession out;
  out.user_id = row.user_id;
  const int64_t unix_seconds = now / 1000;
  const bool enrolling = !row.enrolled;
  std::string secret;
  int64_t step = -1;
  std::string used_recovery_hash;
  if (enrolling) {
    if (row.enroll_secret.empty()) {
      return Error::Invalid("先に多要素認証の登録を始めてください。", "start the enrollment first");
    }
    auto opened = box_.Open(row.enroll_secret);
    if (!opened.ok()) return std::move(opened).error();
    secret = *opened;
    step = VerifyTotp(secret, code, unix_seconds);
  } else if (!recovery_code.empty()) {
    const std::string canonical = NormalizeRecoveryCode(recovery_code);
    if (!canonical.empty()) {
      const std::string h = HashRecoveryCode(canonical);
      MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
        const Value p[] = {row.user_id, h};
        MAMORI_ASSIGN_OR_RETURN(auto rows,
                                c.Query("SELECT 1 FROM auth_recovery_codes WHERE user_id = ? AND "
                                        "code_hash = ? AND used_at IS NULL",
                                        p));
        if (!rows.empty()) used_recovery_hash = h;
        return {};
      }));
    }
  } else {
    auto opened = box_.Open(row.totp_secret);
    if (!opened.ok()) return std::move(opened).error();
    secret = *opened;
    step = VerifyTotp(secret, code, unix_seconds);
    if (step >= 0 && step <= row.last_step) step = -1;  // a code is good once
  }
  const bool ok = step >= 0 || !used_recovery_hash.empty();
  if (!ok) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      MAMORI_TRY(RecordFailure(c, options_, now, row.user_id, address));
      return audit_.Append(c, who, "login_failed", "users/" + std::to_string(row.user_id),
                           {{"reason", "bad_code"}, {"step", enrolling ? "enroll" : "mfa"}});
    }));
    return BadCode();
  }
  out.token = GenerateToken();
  out.csrf_token = CsrfFor(out.token);
  if (enrolling) out.recovery_codes = GenerateRecoveryCodes(10);
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    const Value id[] = {row.user_id};
    if (enrolling) {
      const Value p[] = {box_.Seal(secret), step, FormatIso8601(clock_.Now()), row.user_id};
      MAMORI_TRY(
          c.Exec("UPDATE auth_credentials SET totp_secret = ?, totp_enrolled = 1, "
                 "totp_last_step = ?, updated_at = ? WHERE user_id = ?",
                 p));
      MAMORI_TRY(c.Exec("DELETE FROM auth_recovery_codes WHERE user_id = ?", id));
      for (const auto& rc : out.recovery_codes) {
        const Value r[] = {row.user_id, HashRecoveryCode(rc)};
        MAMORI_TRY(c.Exec("INSERT INTO auth_recovery_codes (user_id, code_hash) VALUES (?, ?)", r));
      }
      MAMORI_TRY(audit_.Append(c, who, "mfa_enrolled", "users/" + std::to_string(row.user_id),
                               json::object()));
    } else if (!used_recovery_hash.empty()) {
      const Value r[] = {FormatIso8601(clock_.Now()), row.user_id, used_recovery_hash};
      MAMORI_TRY(
          c.Exec("UPDATE auth_recovery_codes SET used_at = ? WHERE user_id = ? AND "
                 "code_hash = ?",
                 r));
    } else {
      const Value p[] = {step, row.user_id};
      MAMORI_TRY(c.Exec("UPDATE auth_credentials SET totp_last_step = ? WHERE user_id = ?", p));
    }
    MAMORI_TRY(
        c.Exec("UPDATE auth_credentials SET failed_count = 0, next_attempt_ms = 0 "
               "WHERE user_id = ?",
               id));
    const Value del[] = {pending_hash};
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE token_hash = ?", del));
    const Value s[] = {HashToken(out.token), row.user_id, now, now, address};
    MAMORI_TRY(
        c.Exec("INSERT INTO auth_sessions (token_hash, user_id, kind, created_ms, "
               "last_seen_ms, address) VALUES (?, ?, 'session', ?, ?, ?)",
               s));
    return audit_.Append(c, who, "login", "users/" + std::to_string(row.user_id),
                         {{"method", enrolling                    ? "totp_enroll"
                                     : used_recovery_hash.empty() ? "totp"
                                                                  : "recovery_code"}});
  }));
  return out;
}

void IdentityService::ForgetSessions() const {
  std::unique_lock lock(cache_mu_);
  ++cache_epoch_;
  session_cache_.clear();
}

Result<Authenticated> IdentityService::Authenticate(const std::string& session_token,
                                                    const std::string& address) {
  if (session_token.empty() || session_token.size() > 128) return NotLoggedIn();
  const int64_t now = NowMs(clock_);
  const std::string hash = HashToken(session_token);
  const int64_t abs_limit_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.absolute_timeout).count();
  std::shared_ptr<const Authenticated> cached;
  uint64_t epoch = 0;
  {
    std::shared_lock lock(cache_mu_);
    epoch = cache_epoch_;
    auto it = session_cache_.find(hash);
    if (it != session_cache_.end() && now - it->second.fetched_ms < 1000 &&
        now >= it->second.fetched_ms && now - it->second.created_ms <= abs_limit_ms) {
      cached = it->second.who;
    }
  }
  if (cached) {
    Authenticated who = *cached;
    who.actor.address = address;
    return who;
  }
  Authenticated who;
  int64_t created = 0, last_seen = 0;
  std::string status;
  bool found = false;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    const Value p[] = {hash};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT s.user_id, s.created_ms, s.last_seen_ms, u.f_login, u.f_name, "
                           "u.f_status, u.archived FROM auth_sessions s JOIN r_users u ON "
                           "u.id = s.user_id WHERE s.token_hash = ? AND s.kind = 'session'",
                           p));
    if (rows.empty()) return {};
    found = true;
    who.actor.user_id = AsInt(rows[0][0]);
    created = AsInt(rows[0][1]);
    last_seen = AsInt(rows[0][2]);
    who.actor.id = AsText(rows[0][3]);
    who.name = AsText(rows[0][4]);
    status = AsInt(rows[0][6]) ? "archived" : AsText(rows[0][5]);
    return {};
  }));
  if (!found) return NotLoggedIn();
  const int64_t idle_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout).count();
  const int64_t abs_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.absolute_timeout).count();
  if (now - last_seen > idle_ms || now - created > abs_ms || status != "active") {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      const Value p[] = {hash};
      MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE token_hash = ?", p));
      return audit_.Append(c, Actor{who.actor.id, address, who.actor.user_id, {}},
                           "session_expired", "users/" + std::to_string(who.actor.user_id),
                           {{"reason", status != "active"       ? "inactive"
                                       : now - created > abs_ms ? "absolute"
                                                                : "idle"}});
    }));
    return Error::Unauthenticated(
        "セッションの有効期限が切れました。もう一度ログインしてください。", "session expired");
  }
  if (now - last_seen > kLastSeenResolutionMs) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      const Value p[] = {now, hash};
      MAMORI_TRY(c.Exec("UPDATE auth_sessions SET last_seen_ms = ? WHERE token_hash = ?", p));
      return {};
    }));
  }
  who.actor.address = address;
  who.session_hash = hash;
  who.csrf_token = CsrfFor(session_token);
  MAMORI_ASSIGN_OR_RETURN(who.actor.roles,
                          EffectiveRoles(who.actor.user_id, JapanDate(clock_.Now())));
  {
    std::unique_lock lock(cache_mu_);
    if (cache_epoch_ == epoch) {
      // A simple bound: a full cache starts again (a miss only costs one read).
      if (session_cache_.size() >= kMaxCachedSessions) session_cache_.clear();
      session_cache_[hash] =
          CachedSession{std::make_shared<const Authenticated>(who), now, created};
    }
  }
  return who;
}

Status IdentityService::Logout(const Authenticated& who) {
  Status st = store_.Write([&](Connection& c) -> Status {
    const Value p[] = {who.session_hash};
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE token_hash = ?", p));
    return audit_.Append(c, who.actor, "logout", "users/" + std::to_string(who.actor.user_id),
                         json::object());
  });
  ForgetSessions();  // after the commit, so no request re-reads the old state
  return st;
}

Status IdentityService::LogoutEverywhere(const Authenticated& who) {
  Status st = store_.Write([&](Connection& c) -> Status {
    const Value p[] = {who.actor.user_id};
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE user_id = ?", p));
    return audit_.Append(c, who.actor, "logout_everywhere",
                         "users/" + std::to_string(who.actor.user_id), json::object());
  });
  ForgetSessions();  // after the commit, so no request re-reads the old state
  return st;
}

Status IdentityService::ChangePassword(const Authenticated& who, const std::string& current,
                                       const std::string& new_password) {
  std::string hash;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    const Value p[] = {who.actor.user_id};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT password_hash FROM auth_credentials WHERE user_id = ?", p));
    if (!rows.empty()) hash = AsText(rows[0][0]);
    return {};
  }));
  if (hash.empty() || !VerifyPassword(current, hash)) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      MAMORI_TRY(RecordFailure(c, options_, NowMs(clock_), who.actor.user_id, who.actor.address));
      return audit_.Append(c, who.actor, "password_change_failed",
                           "users/" + std::to_string(who.actor.user_id), json::object());
    }));
    return Error::Invalid("現在のパスワードが違います。", "wrong current password",
                          {{"current_password", "現在のパスワード", "違います。", "wrong", 0, {}}});
  }
  if (Status st = CheckPasswordPolicy(new_password, who.actor.id); !st.ok()) {
    Error e = std::move(st).error();
    e.fields = {{"new_password", "新しいパスワード", e.message, e.message_en, 0, {}}};
    return e;
  }
  if (current == new_password) {
    return Error::Invalid("今までと同じパスワードは使えません。", "must differ",
                          {{"new_password",
                            "新しいパスワード",
                            "今までと同じパスワードは使えません。",
                            "must differ",
                            0,
                            {}}});
  }
  MAMORI_ASSIGN_OR_RETURN(std::string new_hash, HashPassword(new_password, options_.hash_params));
  Status st = store_.Write([&](Connection& c) -> Status {
    const Value p[] = {new_hash, FormatIso8601(clock_.Now()), who.actor.user_id};
    MAMORI_TRY(
        c.Exec("UPDATE auth_credentials SET password_hash = ?, updated_at = ? "
               "WHERE user_id = ?",
               p));
    // Other sessions end; this one goes on.
    const Value s[] = {who.actor.user_id, who.session_hash};
    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions WHERE user_id = ? AND token_hash != ?", s));
    return audit_.Append(c, who.actor, "password_changed",
                         "users/" + std::to_string(who.actor.user_id), json::object());
  });
  ForgetSessions();  // after the commit, so no request re-reads the old state
  return st;
}

Result<std::vector<RoleGrant>> IdentityService::EffectiveRoles(int64_t user_id,
                                                               const std::string& date) const {
  std::vector<RoleGrant> out;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    const Value p[] = {user_id, date, date};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT f_role, f_scope_kind, f_scope_unit, f_scope_system FROM "
                           "r_role_assignments WHERE archived = 0 AND f_user = ? AND "
                           "f_valid_from <= ? AND (f_valid_to IS NULL OR f_valid_to >= ?)",
                           p));
    if (rows.empty()) return {};
    for (const auto& r : rows) {
      RoleGrant g{AsText(r[0]), AsText(r[1]), {}, AsText(r[3])};
      if (!store::IsNull(r[2]) && (g.scope_kind == "bureau" || g.scope_kind == "section")) {
        // The scope unit and every active unit below it (a bureau covers its sections and
        // their groups), through the (archived, parent) index.
        const Value unit[] = {AsInt(r[2])};
        MAMORI_ASSIGN_OR_RETURN(
            auto below, c.Query("WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM "
                                "r_org_units o JOIN sub ON o.f_parent = sub.id WHERE "
                                "o.archived = 0) SELECT id FROM sub ORDER BY id",
                                unit, 100'000));
        for (const auto& b : below) g.units.push_back(AsInt(b[0]));
      }
      out.push_back(std::move(g));
    }
    return {};
  }));
  return out;
}

Result<json> IdentityService::Holders(const std::string& role, int64_t unit,
                                      const std::string& date) const {
  json items = json::array();
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    std::vector<Value> p = {role, date, date};
    std::string sql =
        "SELECT a.id, a.f_user, u.f_login, u.f_name, a.f_scope_kind, a.f_scope_unit, o.f_name, "
        "a.f_scope_system, a.f_valid_from, a.f_valid_to FROM r_role_assignments a "
        "JOIN r_users u ON u.id = a.f_user LEFT JOIN r_org_units o ON o.id = a.f_scope_unit "
        "WHERE a.archived = 0 AND a.f_role = ? AND a.f_valid_from <= ? AND "
        "(a.f_valid_to IS NULL OR a.f_valid_to >= ?)";
    if (unit != 0) {
      sql += " AND a.f_scope_unit = ?";
      p.emplace_back(unit);
    }
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query(sql + " ORDER BY a.f_valid_from, a.id", p, 10'000));
    for (const auto& r : rows) {
      items.push_back({{"assignment", AsInt(r[0])},
                       {"user", AsInt(r[1])},
                       {"login", AsText(r[2])},
                       {"name", AsText(r[3])},
                       {"scope_kind", AsText(r[4])},
                       {"scope_unit", store::IsNull(r[5]) ? json(nullptr) : json(AsInt(r[5]))},
                       {"scope_unit_name", AsText(r[6])},
                       {"scope_system", AsText(r[7])},
                       {"valid_from", AsText(r[8])},
                       {"valid_to", store::IsNull(r[9]) ? json(nullptr) : json(AsText(r[9]))}});
    }
    return {};
  }));
  return json{{"role", role}, {"date", date}, {"items", std::move(items)}};
}

}  // namespace mamori::auth
