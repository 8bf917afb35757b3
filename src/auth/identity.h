// Identity: users' credentials, the login flow with mandatory TOTP MFA, sessions, lockout,
// and the effective roles of a user on a date. Users themselves are the `users` register;
// role assignments are the `role_assignments` register.
//
// Login: Login(password) → a pending token (10 min) → [ChangePassword on first login or after
// a reset] → [BeginEnrollment, then VerifyMfa with the first code, which returns ten recovery
// codes] or VerifyMfa(code | recovery code) → a session token. Sessions end after 30 minutes
// idle or 12 hours in all (settings). Tokens are random 256-bit values stored only as SHA-256.
// CSRF tokens are HMAC(server key, session token): nothing extra is stored.
//
// Failures: each failed password or code delays the next attempt on that account (1, 4, 9,
// 16 s); the fifth locks it (1 min, doubling to at most 1 h). A client address with 20
// failures within 15 minutes is locked for 15 minutes. Every success and failure goes to the
// audit trail. Error codes: kInvalidInput (bad credentials; one message for unknown login,
// wrong password, inactive user), kUnavailable with `retry_after` (locked or delayed).
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "auth/audit.h"
#include "auth/credentials.h"
#include "auth/secret_box.h"
#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::auth {

struct IdentityOptions {
  std::chrono::minutes idle_timeout{30};
  std::chrono::hours absolute_timeout{12};
  std::chrono::minutes pending_timeout{10};
  int account_lock_threshold = 5;
  int address_lock_threshold = 20;
  std::chrono::minutes address_window{15};
  PasswordHashParams hash_params;
};

std::vector<store::Migration> IdentityMigrations();

struct LoginStep {
  std::string pending_token;  // for the cookie; valid for pending_timeout
  bool password_change_required = false;
  bool mfa_enrollment_required = false;
};

struct Enrollment {
  std::string secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;
};

struct NewSession {
  std::string token;       // for the session cookie
  std::string csrf_token;  // for the CSRF cookie and header
  int64_t user_id = 0;
  std::vector<std::string> recovery_codes;  // only right after enrollment: shown once
};

// A request's authenticated identity.
struct Authenticated {
  registers::Actor actor;  // id = login, user_id, roles effective today
  std::string session_hash;
  std::string csrf_token;  // expected X-CSRF-Token
  std::string name;
};

// Failures that tell the client when to try again.
struct Locked {
  int retry_after_seconds = 0;
};

class IdentityService {
 public:
  IdentityService(store::Store& store, const registers::Registry& registry, AuditLog& audit,
                  const Clock& clock, const SecretBox& box, IdentityOptions options = {});

  // A new one-time password for `user_id` (creating its credentials, or resetting them): the
  // next login must change the password and enroll MFA again; every session of the user
  // ends. Used by `mamori admin create-user` and by an administrator's reset.
  Result<std::string> IssueOneTimePassword(const registers::Actor& actor, int64_t user_id);

  // On failure the error's `fields` is empty; `retry_after` is set when locked or delayed.
  Result<LoginStep> Login(const std::string& login, const std::string& password,
                          const std::string& address, int* retry_after = nullptr);
  Status ChangePendingPassword(const std::string& pending_token, const std::string& new_password,
                               const std::string& address);
  Result<Enrollment> BeginEnrollment(const std::string& pending_token);
  // Exactly one of `code` and `recovery_code` is non-empty.
  Result<NewSession> VerifyMfa(const std::string& pending_token, const std::string& code,
                               const std::string& recovery_code, const std::string& address,
                               int* retry_after = nullptr);

  // kPermissionDenied (401 at the API) when the token is unknown, expired or the user is no
  // longer active.
  Result<Authenticated> Authenticate(const std::string& session_token, const std::string& address);
  Status Logout(const Authenticated& who);
  Status LogoutEverywhere(const Authenticated& who);
  Status ChangePassword(const Authenticated& who, const std::string& current,
                        const std::string& new_password);

  // The roles `user_id` holds on `date` (YYYY-MM-DD), with their units expanded.
  Result<std::vector<registers::RoleGrant>> EffectiveRoles(int64_t user_id,
                                                           const std::string& date) const;
  // Who held `role` over `unit` (0: any) on `date`: {"items": [{user, login, name, scope…}]}.
  Result<nlohmann::json> Holders(const std::string& role, int64_t unit,
                                 const std::string& date) const;

  std::string CsrfFor(const std::string& session_token) const;

 private:
  store::Store& store_;
  const registers::Registry& registry_;
  AuditLog& audit_;
  const Clock& clock_;
  const SecretBox& box_;
  IdentityOptions options_;
  // Verified against unknown logins so timing does not tell.
  const std::string& DummyHash() const;
  mutable std::once_flag dummy_once_;
  mutable std::string dummy_hash_;

  // Sessions read from the database in the last second, by token hash, so that a page of
  // requests does not re-read the same session and roles each time. Logout, logout everywhere,
  // password changes and resets in this process clear it at once; other changes (a role
  // assignment, a suspended user, a reset from the command line) take effect within a second.
  struct CachedSession {
    std::shared_ptr<const Authenticated> who;  // copied outside the lock
    int64_t fetched_ms = 0;
    int64_t created_ms = 0;
  };
  void ForgetSessions() const;
  mutable std::shared_mutex cache_mu_;  // guards session_cache_ (shared for lookups)
  mutable std::unordered_map<std::string, CachedSession> session_cache_;
  // Moved by ForgetSessions (under cache_mu_): a read that began before a forget is not cached.
  mutable uint64_t cache_epoch_ = 0;
};

}  // namespace mamori::auth
