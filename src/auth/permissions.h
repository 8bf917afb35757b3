// The one permission table (role × register × action, with scope), read from
// catalog/permissions.toml, and the Authorizer built on it. Used by every endpoint, and
// described to the UI (GET /api/v1/auth/me) so that it hides what a user may not do.
//
// A grant is an action name ("view", "create", "update", "archive", "approve", "export",
// "import", "view_confidential"), optionally suffixed ":scope": then it applies only to
// records whose organization field lies within the scope of the role assignment (a bureau
// includes its sections and groups). Besides registers, the table names two resources:
// "audit_log" (view, export) and "credentials" (update: reset other users' credentials).
// The resource "*" gives grants for every register not listed.
//
// Immutable after Parse; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "registers/access.h"
#include "registers/registry.h"

namespace mamori::auth {

struct RoleInfo {
  std::string key;  // "security_manager"
  std::string label_ja;
  std::string label_en;
};

class PermissionTable {
 public:
  // `name` is used in error messages ("catalog/permissions.toml:12: …").
  static Result<PermissionTable> Parse(std::string_view toml, std::string_view name);

  const std::vector<RoleInfo>& roles() const { return roles_; }
  const RoleInfo* Role(std::string_view key) const;

  struct Grant {
    bool allowed = false;
    bool scoped = false;  // only within the assignment's scope
  };
  Grant Lookup(std::string_view role, std::string_view resource, registers::Action action) const;

 private:
  std::vector<RoleInfo> roles_;
  // role -> resource -> action -> scoped?
  std::map<std::string, std::map<std::string, std::map<registers::Action, bool>, std::less<>>,
           std::less<>>
      grants_;
};

class RoleAuthorizer final : public registers::Authorizer {
 public:
  explicit RoleAuthorizer(const PermissionTable& table) : table_(table) {}

  Status Check(const registers::Actor& actor, const registers::RegisterDef& def,
               registers::Action action, const nlohmann::json* record) const override;
  Result<registers::RowFilter> ListFilter(const registers::Actor& actor,
                                          const registers::RegisterDef& def) const override;

  // For resources that are not registers ("audit_log", "credentials"): any grant, scoped or
  // not, allows.
  Status CheckResource(const registers::Actor& actor, std::string_view resource,
                       registers::Action action) const;

  // {"org_units": ["view", "create", …], "audit_log": ["view"], …}: what the actor may do
  // (scoped grants included), for the UI.
  void Describe(const registers::Actor& actor, const registers::Registry& registry,
                nlohmann::json& out) const;

 private:
  const PermissionTable& table_;
};

}  // namespace mamori::auth
