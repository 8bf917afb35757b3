// The permission and audit hooks of the register mechanism. Every register operation asks the
// Authorizer before it reads or writes, filters lists through it, and appends an audit entry
// for every change in the same transaction as the change. The identity module (src/auth)
// supplies the role-based Authorizer and the hash-chained AuditSink.
//
// Thread-safety: implementations must be thread-safe (called from every server thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace mamori::store {
class Connection;
}

namespace mamori::registers {

struct RegisterDef;

enum class Action {
  kView,
  kCreate,
  kUpdate,
  kArchive,
  kApprove,
  kExport,
  kImport,
  kViewConfidential,  // see records the definition marks confidential (need to know)
};
const char* ActionName(Action a);

// One role the actor holds today, with the organization units it covers (a bureau scope
// includes its sections and groups; empty `units` with scope "body" covers everything).
struct RoleGrant {
  std::string role;        // e.g. "security_manager"
  std::string scope_kind;  // "body", "bureau", "section", "system"
  std::vector<int64_t> units;
  std::string system;  // for scope "system"
};

// Who is acting, as established by the server from the session (never from the request body).
struct Actor {
  std::string id;       // login id; "system" for start-up tasks, "cli" for admin commands
  std::string address;  // client address, for the audit trail
  int64_t user_id = 0;  // users register id; 0 when not a user (system, cli)
  std::vector<RoleGrant> roles;
};

// Which rows of a register an actor may see in lists and exports.
struct RowFilter {
  bool all_units = true;       // false: only records whose org field is in `units`
  std::vector<int64_t> units;  // sorted
  bool hide_confidential = false;
  // With hide_confidential: the units whose confidential records are shown all the same (a
  // section manager's need to know covers their own section). Sorted.
  std::vector<int64_t> confidential_units;
  // A stable text for cache keys: equal filters give equal keys.
  std::string Key() const;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // kPermissionDenied when `actor` may not do `action` on `def` (and on `record` when given;
  // a confidential record the actor may not see is kNotFound, so its existence is not told).
  virtual Status Check(const Actor& actor, const RegisterDef& def, Action action,
                       const nlohmann::json* record) const = 0;
  // The rows `actor` may list; kPermissionDenied when it may list none.
  virtual Result<RowFilter> ListFilter(const Actor& actor, const RegisterDef& def) const = 0;
};

// Appends to the audit trail inside the caller's write transaction.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // `action`: "create", "update", "archive", "restore", "import", "export",
  // "view_confidential", …; `target`: "org_units/12"; `detail`: a JSON object.
  virtual Status Append(store::Connection& c, const Actor& actor, std::string_view action,
                        std::string_view target, const nlohmann::json& detail) = 0;
};

// Grants every action and shows every row: for trusted local administration (the `mamori
// admin` commands run by whoever holds the database file) and for tests.
class OpenAccess final : public Authorizer {
 public:
  Status Check(const Actor&, const RegisterDef&, Action, const nlohmann::json*) const override {
    return {};
  }
  Result<RowFilter> ListFilter(const Actor&, const RegisterDef&) const override {
    return RowFilter{};
  }
};

}  // namespace mamori::registers
