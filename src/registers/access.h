// The permission hook of the register mechanism. Every register endpoint asks the Authorizer
// before it reads or writes; the identity module supplies the real role-based implementation.
//
// Thread-safety: implementations must be thread-safe (called from every server thread).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace mamori::registers {

struct RegisterDef;

enum class Action { kView, kCreate, kUpdate, kArchive, kApprove, kExport, kImport };
const char* ActionName(Action a);

// Who is acting, as established by the server (never taken from the request body).
struct Actor {
  std::string id;       // login id, or "system" for start-up tasks, "anonymous" before login
  std::string address;  // client address, for the audit trail
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // kPermissionDenied when `actor` may not do `action` on `def` (and on `record` when given).
  virtual Status Check(const Actor& actor, const RegisterDef& def, Action action,
                       const nlohmann::json* record) const = 0;
};

// Grants every action. This is the access policy until the identity module exists; the server
// then listens on loopback only (see docs/ASSURANCE.md).
class OpenAccess final : public Authorizer {
 public:
  Status Check(const Actor&, const RegisterDef&, Action, const nlohmann::json*) const override {
    return {};
  }
};

}  // namespace mamori::registers
