// The REST API and the UI's static files: one entry point, Handle(), from request to response.
// Register endpoints are derived from the register definitions; there is no per-register
// handler. Every register endpoint goes through RegisterService, which asks the Authorizer.
//
// Thread-safety: Handle() is thread-safe. Api keeps references to its dependencies, which
// must outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/http.h"
#include "auth/audit.h"
#include "auth/identity.h"
#include "auth/permissions.h"
#include "auth/service_accounts.h"
#include "common/clock.h"
#include "policy/catalog.h"
#include "policy/classification.h"
#include "registers/compliance.h"
#include "registers/documents.h"
#include "registers/inventory.h"
#include "registers/registry.h"
#include "registers/risks.h"
#include "registers/service.h"

namespace mamori::api {

struct ApiLimits {
  size_t json_body_bytes = 1u << 20;      // JSON request bodies
  size_t import_body_bytes = 64u << 20;   // import file uploads
  size_t evidence_body_bytes = 4u << 20;  // POST /api/v1/evidence (an engine's raw result)
  // One attached file (POST {register}/{id}/attachments); a register's own limit
  // (RegisterDef::attachments.max_bytes) may be smaller. mamori.toml [server]
  // attachment_max_bytes.
  size_t attachment_bytes = 20u << 20;
  int json_max_depth = 32;  // nesting of JSON bodies
};

class StaticFiles;

// What the API works with; every member must outlive the Api.
struct ApiDeps {
  const registers::Registry& registry;
  registers::RegisterService& service;
  const registers::InventoryService& inventory;
  const registers::ComplianceService& compliance;
  const registers::DocumentService& documents;
  registers::RiskService& risks;
  auth::ServiceAccounts& service_accounts;
  // The register service the engines' service accounts write through (EngineAccess).
  registers::RegisterService& engine_service;
  const policy::Catalog& catalog;
  const policy::Classification& classification;
  auth::IdentityService& identity;
  const auth::RoleAuthorizer& authorizer;
  const auth::PermissionTable& permissions;
  auth::AuditLog& audit;
  const Clock& clock;
};

// Authentication: every route but /healthz, GET /api/v1/policy, the login steps under
// /api/v1/auth/, POST /api/v1/evidence and the UI's static files needs a session (401
// otherwise). Every state-changing request made with a session must carry X-CSRF-Token (403
// otherwise). POST /api/v1/evidence takes a service account's bearer token instead, and
// nothing else.
class Api {
 public:
  // `static_dir` is the built UI (web/dist); empty or missing means the API only.
  Api(ApiDeps deps, std::string version, std::string static_dir, ApiLimits limits = {});
  ~Api();

  HttpResponse Handle(const HttpRequest& request) const;

  // The body size allowed for a request, decided from its method, path and credentials
  // before the body is read. The routes that take files (imports, attachments, an engine's
  // evidence) allow their larger size only to a caller whose session cookie (`cookie`, the
  // Cookie header) or bearer token (`authorization`, the Authorization header) is valid: a
  // stranger never gets more than a JSON body read into memory. `client`: the peer's address.
  size_t BodyLimit(std::string_view method, std::string_view path, std::string_view cookie,
                   std::string_view authorization, std::string_view client) const;

  bool has_ui() const;

 private:
  HttpResponse HandleApi(const HttpRequest& req, std::string_view rest) const;
  HttpResponse HandleAuth(const HttpRequest& req, std::string_view rest) const;
  HttpResponse HandleSession(const HttpRequest& req, const auth::Authenticated& who,
                             std::string_view rest) const;
  HttpResponse HandleEvidencePost(const HttpRequest& req) const;
  HttpResponse HandleServiceAccounts(const HttpRequest& req, const registers::Actor& actor,
                                     std::string_view rest) const;
  HttpResponse HandleDocuments(const HttpRequest& req, const registers::Actor& actor,
                               std::string_view rest) const;
  HttpResponse HandleRisks(const HttpRequest& req, const registers::Actor& actor,
                           std::string_view rest) const;
  HttpResponse HandleCompliance(const HttpRequest& req, const registers::Actor& actor,
                                std::string_view rest) const;
  HttpResponse HandleAudit(const HttpRequest& req, const auth::Authenticated& who,
                           std::string_view rest) const;
  HttpResponse HandleRegister(const HttpRequest& req, const registers::Actor& actor,
                              const registers::RegisterDef& def, std::string_view rest) const;
  HttpResponse HandleAttachments(const HttpRequest& req, const registers::Actor& actor,
                                 const registers::RegisterDef& def, int64_t id,
                                 std::string_view rest) const;
  // The largest file register `def` takes: its own limit or the server's, the smaller.
  size_t AttachmentLimit(const registers::RegisterDef& def) const;
  // GET /api/v1/meta: meta_json_ with the option names settings give (FieldDef::labels_setting).
  Result<std::string> Meta() const;

  ApiDeps d_;
  const registers::Registry& registry_;
  registers::RegisterService& service_;
  const policy::Catalog& catalog_;
  std::string version_;
  ApiLimits limits_;
  std::string meta_json_;             // GET /api/v1/meta, rendered once
  mutable std::mutex meta_mu_;        // guards the two below
  mutable std::string meta_key_;      // the renamed labels meta_renamed_ was made with
  mutable std::string meta_renamed_;  // meta_json_ with those labels
  std::string policy_json_;           // GET /api/v1/policy, rendered once
  std::string classification_json_;   // GET /api/v1/classification without "active"
  std::unique_ptr<StaticFiles> static_files_;
};

// A Content-Disposition header value that offers `name` for saving, never for display:
// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 5987 percent-encoding>`.
std::string AttachmentDisposition(std::string_view name);

// Deepest nesting of arrays and objects in `text` (strings skipped); stops counting early
// once `limit` is exceeded. Used to refuse hostile bodies before the JSON parser recurses.
int JsonDepth(std::string_view text, int limit);

}  // namespace mamori::api
