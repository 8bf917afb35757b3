// Service accounts: how the engines (mamori netcheck, mamori monitor) record their results in
// the evidence register without a person's session. An administrator creates an account; its
// token is shown once and stored only as its SHA-256; it can be revoked and may expire. A
// request with `Authorization: Bearer <token>` acts as "service:<name>", which may only add
// evidence (EngineAccess). Creation, revocation and every use go to the audit trail through
// the evidence records they make.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "auth/audit.h"
#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "store/store.h"

namespace mamori::auth {

std::vector<store::Migration> ServiceAccountMigrations();

class ServiceAccounts {
 public:
  ServiceAccounts(store::Store& store, AuditLog& audit, const Clock& clock);

  // {"items": [{"id", "name", "purpose", "created_at", "created_by", "expires_on", "revoked_at",
  //             "last_used_at", "state": "active"|"expired"|"revoked"}]}, newest first.
  Result<nlohmann::json> List() const;
  // A new account: {"account": {...}, "token": "mamori_sa_…"}. The token is never stored or
  // shown again. `name`: 1–48 of [a-z0-9-_], unique; `purpose`: 1–200 characters;
  // `expires_on`: "" or a date after today (YYYY-MM-DD).
  Result<nlohmann::json> Create(const registers::Actor& actor, const std::string& name,
                                const std::string& purpose, const std::string& expires_on);
  Status Revoke(const registers::Actor& actor, int64_t id);
  // The actor a token stands for: id "service:<name>", no user, no roles. kUnauthenticated
  // (one message) when the token is unknown, revoked or expired.
  Result<registers::Actor> Authenticate(const std::string& token, const std::string& address) const;
  // Whether `token` would authenticate, read only (nothing recorded): for deciding, before a
  // request's body is read, how large a body to accept.
  bool Recognizes(const std::string& token) const;

 private:
  // The account `token` names if the token is valid now: (id, name); kUnauthenticated otherwise.
  Result<std::pair<int64_t, std::string>> Valid(store::Connection& c,
                                                const std::string& token) const;

  store::Store& store_;
  AuditLog& audit_;
  const Clock& clock_;
};

// What a service account may do: add evidence, and read back what it added. Nothing else.
class EngineAccess final : public registers::Authorizer {
 public:
  Status Check(const registers::Actor& actor, const registers::RegisterDef& def,
               registers::Action action, const nlohmann::json* record) const override;
  Result<registers::RowFilter> ListFilter(const registers::Actor& actor,
                                          const registers::RegisterDef& def) const override;
};

}  // namespace mamori::auth
