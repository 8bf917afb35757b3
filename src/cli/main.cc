// mamori: the one binary. This is the only place that wires concrete types together.
//
// Exit codes: 0 success; 1 the input has errors (import file, failed check); 2 wrong usage or
// invalid configuration; 3 the service could not start or a dependency failed.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "api/api.h"
#include "auth/audit.h"
#include "auth/credentials.h"
#include "auth/identity.h"
#include "auth/permissions.h"
#include "auth/secret_box.h"
#include "auth/service_accounts.h"
#include "cli/config.h"
#include "cli/evidence_client.h"
#include "cli/monitor_report.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "monitor/beacon.h"
#include "monitor/blocklist.h"
#include "monitor/checkpoint.h"
#include "monitor/dns_tunnel.h"
#include "monitor/exfiltration.h"
#include "monitor/live.h"
#include "monitor/monitor.h"
#include "monitor/scan.h"
#include "monitor/separation.h"
#include "monitor/sigma.h"
#include "netsep/engine.h"
#include "netsep/iptables.h"
#include "netsep/report.h"
#include "netsep/topology.h"
#include "policy/catalog.h"
#include "policy/classification.h"
#include "registers/compliance.h"
#include "registers/registry.h"
#include "registers/risks.h"
#include "registers/service.h"
#include "server/server.h"
#include "store/store.h"

#include <nlohmann/json.hpp>

#ifndef MAMORI_VERSION
#define MAMORI_VERSION "0.0.0"
#endif

namespace mamori::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInputErrors = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 3;

int ExitCodeFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidInput:
    case ErrorCode::kConflict:
    case ErrorCode::kNotFound:
    case ErrorCode::kTooLarge:
      return kExitInputErrors;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return kExitUnavailable;
  }
  return kExitUnavailable;
}

// Prints an error for people: the Japanese message, then each field error on its own line.
int Report(const Error& e, int exit_code) {
  std::cerr << "エラー: " << Printable(e.message) << "\n";
  for (const auto& f : e.fields) {
    std::cerr << "  ";
    if (f.row > 0) std::cerr << f.row << " 行目 ";
    if (!f.column.empty())
      std::cerr << "「" << Printable(f.column) << "」列";
    else if (!f.label.empty())
      std::cerr << "「" << Printable(f.label) << "」";
    std::cerr << ": " << Printable(f.message) << "\n";
  }
  if (e.code == ErrorCode::kInternal) std::cerr << "(" << e.message_en << ")\n";
  return exit_code;
}

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error::Invalid("ファイルを読めません: " + path, "cannot read " + path);
  if (size > max_bytes) {
    return Error::TooLarge("ファイルが大きすぎます: " + path, "file too large: " + path);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof())
    return Error::Invalid("ファイルを読めません: " + path, "cannot read " + path);
  return ss.str();
}

Result<policy::Catalog> LoadCatalog(const std::string& dir) {
  const std::string p = dir + "/policy.toml", c = dir + "/controls.toml";
  MAMORI_ASSIGN_OR_RETURN(std::string policy_text, ReadFile(p, 4u << 20));
  MAMORI_ASSIGN_OR_RETURN(std::string controls_text, ReadFile(c, 4u << 20));
  return policy::ParseCatalog(policy_text, p, controls_text, c);
}

// Everything a command needs to touch one database: storage, registers, the permission table,
// the audit trail and identity. Built once here; nothing else creates these types.
struct Core {
  SystemClock clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<auth::PermissionTable> permissions;
  std::shared_ptr<const policy::Classification> classification;
  std::unique_ptr<registers::Registry> registry;
  std::unique_ptr<auth::AuditLog> audit;
  std::unique_ptr<auth::SecretBox> box;
  std::unique_ptr<auth::IdentityService> identity;
  std::unique_ptr<auth::RoleAuthorizer> roles;
  registers::OpenAccess local_access;  // the admin commands: whoever holds the database file
  std::unique_ptr<registers::RegisterService> admin_service;  // OpenAccess, for admin commands
  std::unique_ptr<registers::RegisterService> service;        // role-based, for the server
  std::unique_ptr<registers::InventoryService> inventory;     // role-based, for the server
  std::unique_ptr<registers::ComplianceService> compliance;   // role-based, for the server
  std::unique_ptr<registers::DocumentService> documents;      // role-based, for the server
  std::unique_ptr<auth::ServiceAccounts> service_accounts;
  auth::EngineAccess engine_access;  // what service accounts may do: add evidence
  std::unique_ptr<registers::RegisterService> engine_service;  // EngineAccess, for the engines
  std::unique_ptr<registers::RiskService> risks;               // role-based, for the server
  std::shared_ptr<const policy::Catalog> catalog;
  registers::Catalogs catalogs;
  int64_t schema_version = 0;
  std::vector<store::Migration> migrations;  // every migration this version knows, in order
};

// What a database is opened with, read from the catalog folder (nothing touches the database):
// permissions, common passwords, catalogs and the register definitions.
Status LoadModel(Core& core_ref, const std::string& catalog_dir) {
  Core* core = &core_ref;
  const std::string permissions_path = catalog_dir + "/permissions.toml";
  MAMORI_ASSIGN_OR_RETURN(std::string permissions_text, ReadFile(permissions_path, 1u << 20));
  MAMORI_ASSIGN_OR_RETURN(auto table,
                          auth::PermissionTable::Parse(permissions_text, permissions_path));
  core->permissions = std::make_unique<auth::PermissionTable>(std::move(table));
  MAMORI_ASSIGN_OR_RETURN(std::string common,
                          ReadFile(catalog_dir + "/common-passwords.txt", 4u << 20));
  MAMORI_TRY(auth::LoadCommonPasswords(common));

  std::vector<registers::EnumOption> role_options;
  for (const auto& r : core->permissions->roles()) {
    role_options.push_back({r.key, {r.label_ja, r.label_en}});
  }
  const std::string classification_path = catalog_dir + "/classification.toml";
  MAMORI_ASSIGN_OR_RETURN(std::string classification_text, ReadFile(classification_path, 1u << 20));
  MAMORI_ASSIGN_OR_RETURN(auto classification,
                          policy::ParseClassification(classification_text, classification_path));
  core->classification = std::make_shared<const policy::Classification>(std::move(classification));
  // The body's own fields (optional file).
  std::vector<policy::CustomField> custom;
  const std::string custom_path = catalog_dir + "/custom-fields.toml";
  if (std::filesystem::exists(custom_path)) {
    MAMORI_ASSIGN_OR_RETURN(std::string custom_text, ReadFile(custom_path, 1u << 20));
    MAMORI_ASSIGN_OR_RETURN(custom, policy::ParseCustomFields(custom_text, custom_path));
  }
  MAMORI_ASSIGN_OR_RETURN(auto catalog, LoadCatalog(catalog_dir));
  core->catalog = std::make_shared<const policy::Catalog>(std::move(catalog));
  const std::string threats_path = catalog_dir + "/threats.toml";
  MAMORI_ASSIGN_OR_RETURN(std::string threats_text, ReadFile(threats_path, 1u << 20));
  MAMORI_ASSIGN_OR_RETURN(auto threats, policy::ParseThreats(threats_text, threats_path));
  const std::string matrix_path = catalog_dir + "/risk-matrix.toml";
  MAMORI_ASSIGN_OR_RETURN(std::string matrix_text, ReadFile(matrix_path, 1u << 20));
  MAMORI_ASSIGN_OR_RETURN(auto matrices, policy::ParseRiskMatrices(matrix_text, matrix_path));
  core->catalogs = {core->classification, core->catalog,
                    std::make_shared<const policy::ThreatCatalog>(std::move(threats)),
                    std::make_shared<const policy::RiskMatrices>(std::move(matrices))};
  MAMORI_ASSIGN_OR_RETURN(auto defs,
                          registers::BuiltinRegisters(role_options, core->catalogs, custom));
  MAMORI_ASSIGN_OR_RETURN(core->registry, registers::Registry::Create(std::move(defs)));
  core->migrations = core->registry->Migrations();
  for (auto& m : auth::AuditMigrations()) core->migrations.push_back(std::move(m));
  for (auto& m : auth::IdentityMigrations()) core->migrations.push_back(std::move(m));
  for (auto& m : auth::ServiceAccountMigrations()) core->migrations.push_back(std::move(m));
  return {};
}

// The migrations a database holds that this version does not know (a newer version's
// database): kInvalidInput naming the first, for `what` ("the backup", "the database").
Status CheckKnownMigrations(const Core& core, const std::vector<std::string>& held,
                            const std::string& what) {
  std::set<std::string> known;
  for (const auto& m : core.migrations) known.insert(m.key);
  for (const std::string& key : held) {
    if (!known.count(key)) {
      return Error::Invalid(what + "は、この版の Mamori が知らない変更 (" + key +
                                ") を含みます。新しい版の Mamori を使ってください。",
                            what + " holds a migration this version does not know: " + key);
    }
  }
  return {};
}

Result<std::unique_ptr<Core>> OpenCore(const std::string& db, const std::string& catalog_dir,
                                       auth::IdentityOptions identity_options = {}) {
  MAMORI_TRY(auth::InitCrypto());
  auto core = std::make_unique<Core>();
  const auto parent = std::filesystem::path(db).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  MAMORI_TRY(LoadModel(*core, catalog_dir));
  MAMORI_ASSIGN_OR_RETURN(core->store, store::OpenSqlite({.path = db}));
  MAMORI_ASSIGN_OR_RETURN(core->schema_version, core->store->Migrate(core->migrations));
  MAMORI_TRY(registers::CheckStoredColumns(*core->store, *core->registry));
  MAMORI_TRY(registers::RefreshSearchText(*core->store, *core->registry));

  MAMORI_ASSIGN_OR_RETURN(auto box, auth::SecretBox::LoadOrCreate(db + ".key"));
  core->box = std::make_unique<auth::SecretBox>(std::move(box));
  core->audit = std::make_unique<auth::AuditLog>(*core->store, core->clock);
  core->identity = std::make_unique<auth::IdentityService>(
      *core->store, *core->registry, *core->audit, core->clock, *core->box, identity_options);
  core->roles = std::make_unique<auth::RoleAuthorizer>(*core->permissions);
  core->admin_service = std::make_unique<registers::RegisterService>(
      *core->store, *core->registry, core->local_access, *core->audit, core->clock);
  core->service = std::make_unique<registers::RegisterService>(
      *core->store, *core->registry, *core->roles, *core->audit, core->clock);
  core->inventory = std::make_unique<registers::InventoryService>(*core->store, *core->registry,
                                                                  *core->roles, core->clock);
  core->compliance = std::make_unique<registers::ComplianceService>(
      *core->store, *core->registry, *core->roles, core->catalog, core->clock);
  core->documents = std::make_unique<registers::DocumentService>(
      *core->store, *core->service, *core->registry, *core->roles, core->clock);
  core->risks = std::make_unique<registers::RiskService>(
      *core->store, *core->service, *core->registry, *core->roles, core->catalogs, core->clock);
  // The shipped threats the register does not hold yet (a new database, a newer catalog).
  {
    registers::RiskService seeder(*core->store, *core->admin_service, *core->registry,
                                  core->local_access, core->catalogs, core->clock);
    MAMORI_TRY(seeder.SeedThreats());
    // Levels follow thresholds edited in catalog/risk-matrix.toml since the last start.
    MAMORI_TRY(seeder.RederiveLevels());
  }
  core->service_accounts =
      std::make_unique<auth::ServiceAccounts>(*core->store, *core->audit, core->clock);
  core->engine_service = std::make_unique<registers::RegisterService>(
      *core->store, *core->registry, core->engine_access, *core->audit, core->clock);
  return core;
}

const registers::Actor kCliActor{"cli", "local", 0, {}};

// `mamori admin create-user`: the user (created if new), a whole-body assignment of `role`
// from today (unless the user already holds it), and a one-time password.
Result<std::string> CreateUser(Core& core, const std::string& login, const std::string& name,
                               const std::string& role) {
  if (core.permissions->Role(role) == nullptr) {
    std::string known;
    for (const auto& r : core.permissions->roles()) known += " " + r.key;
    return Error::Invalid("不明な役割です: " + role + "(使える役割:" + known + ")",
                          "unknown role " + role);
  }
  const registers::RegisterDef& users = *core.registry->ByKey("users");
  const registers::RegisterDef& assignments = *core.registry->ByKey("role_assignments");
  auto& svc = *core.admin_service;
  // Find by the unique login through the generic list (login is searchable and unique).
  MAMORI_ASSIGN_OR_RETURN(auto found_text, svc.List(kCliActor, users,
                                                    *registers::ParseListQuery(
                                                        users, {{"q", login}, {"limit", "500"}})));
  int64_t user_id = 0;
  const nlohmann::json found = nlohmann::json::parse(found_text);  // outlives the loop
  for (const auto& u : found["items"]) {
    if (u["login"] == login) user_id = u["id"].get<int64_t>();
  }
  if (user_id == 0) {
    MAMORI_ASSIGN_OR_RETURN(
        auto created,
        svc.Create(kCliActor, users, {{"login", login}, {"name", name.empty() ? login : name}}));
    user_id = created["id"].get<int64_t>();
  }
  const std::string today = JapanDate(core.clock.Now());
  MAMORI_ASSIGN_OR_RETURN(auto held, core.identity->EffectiveRoles(user_id, today));
  const bool holds = std::any_of(held.begin(), held.end(), [&](const registers::RoleGrant& g) {
    return g.role == role && g.scope_kind == "body";
  });
  if (!holds) {
    auto assigned = svc.Create(kCliActor, assignments,
                               {{"user", user_id},
                                {"role", role},
                                {"scope_kind", "body"},
                                {"valid_from", today},
                                {"note", "mamori admin create-user"}});
    if (!assigned.ok()) return std::move(assigned).error();
  }
  return core.identity->IssueOneTimePassword(kCliActor, user_id);
}

Result<registers::FileFormat> FormatOf(const std::string& file) {
  const std::string ext = std::filesystem::path(file).extension().string();
  if (ext == ".csv" || ext == ".CSV") return registers::FileFormat::kCsv;
  if (ext == ".xlsx" || ext == ".XLSX") return registers::FileFormat::kXlsx;
  return Error::Invalid("ファイルの拡張子は .csv か .xlsx にしてください: " + file,
                        "file must end in .csv or .xlsx: " + file);
}

// `mamori admin import` and `mamori assets import`: all rows or none; every error listed with
// its row and column; warnings listed after a successful import.
int ImportFile(Core& core, const registers::RegisterDef& def, const std::string& file,
               registers::FileFormat format, registers::ImportMode mode, bool dry_run) {
  auto bytes = ReadFile(file, 64u << 20);
  if (!bytes.ok()) return Report(bytes.error(), kExitInputErrors);
  auto r = core.admin_service->Import(kCliActor, def, *bytes, format, mode, dry_run);
  if (!r.ok()) return Report(r.error(), ExitCodeFor(r.error()));
  std::printf("%s: 新規 %lld 件、更新 %lld 件、変更なし %lld 件\n",
              dry_run ? "検証のみ(書き込みなし)" : "取り込みました", (long long)r->created,
              (long long)r->updated, (long long)r->unchanged);
  for (const auto& w : r->warnings) {
    std::printf("  注意: %d 行目「%s」列: %s\n", w.row, Printable(w.column).c_str(),
                Printable(w.message).c_str());
  }
  return 0;
}

// `mamori admin export` and `mamori assets export`: every active record the file can hold.
int ExportFile(Core& core, const registers::RegisterDef& def, const std::string& file,
               registers::FileFormat format) {
  auto q = registers::ParseListQuery(def, {});
  auto out = core.admin_service->Export(kCliActor, def, *q, format);
  if (!out.ok()) return Report(out.error(), ExitCodeFor(out.error()));
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f.write(out->bytes.data(), static_cast<std::streamsize>(out->bytes.size()));
  f.close();
  if (!f) {
    return Report(Error::Unavailable("書き込めません: " + file, "cannot write " + file),
                  kExitUnavailable);
  }
  std::printf("書き出しました: %s\n", file.c_str());
  return 0;
}

int Serve(const std::string& config_path, bool config_given, const std::string& db_flag,
          const std::string& listen_flag, const std::string& web_flag) {
  auto config = LoadConfig(config_path, config_given);
  if (!config.ok()) return Report(config.error(), kExitUsage);
  Config c = std::move(config).value();
  if (!db_flag.empty()) c.db = db_flag;
  if (!web_flag.empty()) c.web_dir = web_flag;
  if (!listen_flag.empty()) {
    if (auto st = ApplyListen(listen_flag, c.server); !st.ok())
      return Report(st.error(), kExitUsage);
  }
  // Held while serving: `mamori admin restore` refuses to replace the database meanwhile.
  auto lock = store::DatabaseLock::Acquire(c.db, store::DatabaseLock::Mode::kShared);
  if (!lock.ok()) return Report(lock.error(), kExitUnavailable);
  auth::IdentityOptions identity_options;
  identity_options.idle_timeout = std::chrono::minutes(c.session_idle_minutes);
  identity_options.absolute_timeout = std::chrono::hours(c.session_absolute_hours);
  auto core = OpenCore(c.db, c.catalog_dir, identity_options);
  if (!core.ok()) return Report(core.error(), kExitUnavailable);
  Core& k = **core;
  api::Api api(
      api::ApiDeps{*k.registry, *k.service, *k.inventory, *k.compliance, *k.documents, *k.risks,
                   *k.service_accounts, *k.engine_service, *k.catalog, *k.classification,
                   *k.identity, *k.roles, *k.permissions, *k.audit, k.clock},
      MAMORI_VERSION, c.web_dir, api::ApiLimits{.attachment_bytes = c.attachment_max_bytes});
  auto server = server::Server::Create(c.server, api);
  if (!server.ok()) return Report(server.error(), kExitUnavailable);
  log::Info("start", "\"version\":\"" MAMORI_VERSION "\",\"db\":\"" + c.db +
                         "\",\"schema_version\":" + std::to_string((*core)->schema_version) +
                         ",\"ui\":" + ((api.has_ui()) ? "true" : "false"));
  const std::string host = c.server.address.find(':') != std::string::npos
                               ? "[" + c.server.address + "]"
                               : c.server.address;
  std::printf("Mamori %s listening on %s://%s:%u/\n", MAMORI_VERSION,
              (*server)->tls() ? "https" : "http", host.c_str(), unsigned((*server)->port()));
  std::fflush(stdout);
  (*server)->Run();
  return kExitOk;
}

// `mamori admin backup FILE --db PATH`: a consistent copy, taken while the server runs. The
// database is opened as it is: never migrated or seeded (a newer version's CLI refuses a
// database it does not know, and an older database is copied as it is). The audit entry is
// written first, so the copy holds the record of its own making.
int Backup(const std::string& db, const std::string& catalog_dir, const std::string& file) {
  auto lock = store::DatabaseLock::Acquire(db, store::DatabaseLock::Mode::kShared);
  if (!lock.ok()) return Report(lock.error(), kExitUnavailable);
  Core model;
  if (Status st = LoadModel(model, catalog_dir); !st.ok()) return Report(st.error(), kExitUsage);
  auto held = store::QuerySqliteFile(db, "SELECT key FROM schema_migrations ORDER BY seq");
  if (!held.ok()) {
    return Report(
        Error::Invalid("Mamori のデータベースを開けません: " + db, held.error().message_en),
        kExitInputErrors);
  }
  std::vector<std::string> keys;
  for (const auto& r : *held) keys.push_back(store::AsText(r[0]));
  if (Status st = CheckKnownMigrations(model, keys, "このデータベース"); !st.ok()) {
    return Report(st.error(), kExitInputErrors);
  }
  // Refusals that need no audit entry: nothing is written for a backup that cannot be made.
  const std::filesystem::path target(file);
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(target, ec)) ||
      !std::filesystem::is_directory(target.has_parent_path() ? target.parent_path() : ".", ec)) {
    return Report(
        Error::Invalid("バックアップの保存先のファイルが既にあるか、フォルダがありません: " + file,
                       "the backup file exists or its folder does not: " + file),
        kExitInputErrors);
  }
  auto opened = store::OpenSqlite({.path = db, .read_connections = 1});
  if (!opened.ok()) return Report(opened.error(), kExitUnavailable);
  SystemClock clock;
  auth::AuditLog audit(**opened, clock);
  if (Status st = audit.AppendNow(kCliActor, "backup", file, nlohmann::json::object()); !st.ok()) {
    return Report(st.error(), ExitCodeFor(st.error()));
  }
  if (Status st = (*opened)->BackupTo(file); !st.ok()) {
    return Report(st.error(), ExitCodeFor(st.error()));
  }
  const auto facts = store::InspectSqliteFile(file);
  const auto sha = Sha256HexOfFile(file);
  if (!facts.ok() || !sha) {
    return Report(Error::Unavailable("書き出したバックアップを読み返せません: " + file,
                                     "cannot read the backup back: " + file),
                  kExitUnavailable);
  }
  std::printf("バックアップを作りました / backup written: %s\n", file.c_str());
  std::printf("  大きさ / bytes: %lld\n", static_cast<long long>(facts->bytes));
  std::printf("  SHA-256: %s\n", sha->c_str());
  std::printf(
      "  多要素認証の秘密を開く鍵 %s.key "
      "はこのファイルに含まれません。別の場所に保管してください。\n"
      "  (the key %s.key that opens the MFA secrets is not in the backup: keep it apart)\n",
      db.c_str(), db.c_str());
  return kExitOk;
}

// `mamori admin restore FILE --db PATH [--yes] [--force]`. Never while a server or another
// command uses the database (the exclusive lock). The backup is copied to a private file
// beside the database and everything is checked on that copy, never on the file itself: a
// sound Mamori database of this or an older version, an intact audit chain that agrees with
// the present database's up to the backup's last entry (else only with --force), MFA secrets
// this server's key opens. Without --yes nothing is changed (the database is not even opened
// for writing). With --yes: the present database's files are kept as they are (also when
// damaged) as <db>.before-restore-<time>, the copy is put in its place, this version's
// migrations and seeds are applied, every session is ended (a credential revoked after the
// backup must not come back), service accounts revoked since are revoked again, and the
// restore is recorded in the audit log with what it undid.
int Restore(const std::string& db, const std::string& catalog_dir, const std::string& file,
            bool yes, bool force) {
  auto lock = store::DatabaseLock::Acquire(db, store::DatabaseLock::Mode::kExclusive);
  if (!lock.ok()) return Report(lock.error(), kExitUnavailable);
  if (Status st = auth::InitCrypto(); !st.ok()) return Report(st.error(), kExitUnavailable);
  Core model;
  if (Status st = LoadModel(model, catalog_dir); !st.ok()) return Report(st.error(), kExitUsage);

  // The private copy, owner-only, beside the database (the same file system: renamed later).
  std::string copy = db + ".restore-XXXXXX";
  const int fd = ::mkstemp(copy.data());
  if (fd < 0) {
    return Report(Error::Unavailable("作業用のファイルを作れません: " + copy, "mkstemp failed"),
                  kExitUnavailable);
  }
  ::close(fd);
  ::unlink(copy.c_str());  // CopySqliteFiles makes it anew (O_EXCL, 0600)
  struct RemoveCopy {
    std::string path;
    bool keep = false;
    ~RemoveCopy() {
      if (keep) return;
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
    }
  } remove_copy{copy};
  if (Status st = store::CopySqliteFiles(file, copy); !st.ok()) {
    return Report(st.error(), ExitCodeFor(st.error()));
  }
  auto facts = store::InspectSqliteFile(copy);
  if (!facts.ok()) {
    return Report(Error::Invalid(facts.error().message + "(" + file + ")",
                                 facts.error().message_en + " (" + file + ")"),
                  kExitInputErrors);
  }
  if (Status st = CheckKnownMigrations(model, facts->migrations, "このバックアップ"); !st.ok()) {
    return Report(st.error(), kExitInputErrors);
  }
  const auto sha = Sha256HexOfFile(copy);
  if (!sha) {
    return Report(Error::Invalid("ファイルを読めません: " + file, "cannot read " + file),
                  kExitInputErrors);
  }
  int64_t entries = 0;
  std::string head_hash;
  {
    auto checked = store::OpenSqlite({.path = copy, .read_connections = 1});
    if (!checked.ok()) return Report(checked.error(), kExitInputErrors);
    SystemClock clock;
    auth::AuditLog log(**checked, clock);
    auto verified = log.Verify();
    if (!verified.ok()) return Report(verified.error(), kExitInputErrors);
    if (!verified->ok) {
      return Report(
          Error::Invalid(
              "バックアップの監査ログの連鎖が番号 " + std::to_string(verified->first_bad_seq) +
                  " で切れています(改ざん又は破損): " + file,
              "the backup's audit chain breaks at " + std::to_string(verified->first_bad_seq)),
          kExitInputErrors);
    }
    entries = verified->entries;
    std::string sealed;
    (void)(*checked)->Read([&](store::Connection& c) -> Status {
      auto head =
          c.Query("SELECT hash FROM audit_log WHERE seq = ?", std::vector<store::Value>{entries});
      if (head.ok() && !head->empty()) head_hash = store::AsText((*head)[0][0]);
      auto rows =
          c.Query("SELECT totp_secret FROM auth_credentials WHERE totp_secret IS NOT NULL LIMIT 1");
      if (rows.ok() && !rows->empty()) sealed = store::AsText((*rows)[0][0]);
      return {};
    });
    // The MFA secrets must open with this server's key, or nobody could sign in afterwards.
    if (!sealed.empty()) {
      std::error_code ec;
      std::optional<auth::SecretBox> box;
      if (std::filesystem::exists(db + ".key", ec)) {
        if (auto b = auth::SecretBox::LoadOrCreate(db + ".key"); b.ok()) box = std::move(*b);
      }
      if (!box || !box->Open(sealed).ok()) {
        return Report(
            Error::Invalid("バックアップの多要素認証の秘密が、鍵ファイル " + db +
                               ".key で開けません(ないか、別の鍵です)。バックアップを取ったときの"
                               "鍵ファイルを置いてから復元してください。",
                           "the backup's MFA secrets do not open with " + db + ".key"),
            kExitInputErrors);
      }
    }
  }
  // The backup must be an earlier state of this database: its last audit entry is the present
  // database's entry of that number (a backup rebuilt after the fact, or of another body's
  // database, differs). A present database that is damaged or newer than nothing is not asked.
  std::error_code ec;
  const bool present = std::filesystem::exists(db, ec);
  std::map<std::string, int64_t> undone;  // actions after the backup's last entry
  if (present && entries > 0) {
    auto here = store::QuerySqliteFile(db, "SELECT hash FROM audit_log WHERE seq = ?",
                                       std::vector<store::Value>{entries});
    if (!here.ok()) {
      std::fprintf(stderr,
                   "注意: 今のデータベースの監査ログを読めないため、突き合わせをしません "
                   "(cannot read the present audit log; not compared)\n");
    } else if (!here->empty() && store::AsText((*here)[0][0]) != head_hash && !force) {
      return Report(
          Error::Invalid("バックアップの監査ログが、今のデータベースの監査ログと番号 " +
                             std::to_string(entries) +
                             " で食い違います(別のデータベースのものか、作り直されたものです)。"
                             "それでも復元するときは --force を付けてください: " +
                             file,
                         "the backup's audit log differs from the present one at entry " +
                             std::to_string(entries) + " (use --force to restore anyway)"),
          kExitInputErrors);
    }
    auto later = store::QuerySqliteFile(
        db, "SELECT action, count(*) FROM audit_log WHERE seq > ? GROUP BY action ORDER BY 1",
        std::vector<store::Value>{entries});
    if (later.ok()) {
      for (const auto& r : *later) undone[store::AsText(r[0])] = store::AsInt(r[1]);
    }
  }
  std::printf("バックアップを確かめました / backup checked: %s\n", file.c_str());
  std::printf("  SHA-256: %s\n", sha->c_str());
  std::printf("  監査ログ / audit entries: %lld(連鎖は切れていません / chain intact)\n",
              static_cast<long long>(entries));
  if (!undone.empty()) {
    std::printf(
        "  復元すると、バックアップの後の次の操作が元に戻ります / undone by the restore:\n");
    for (const auto& [action, n] : undone) {
      std::printf("    %s: %lld\n", action.c_str(), static_cast<long long>(n));
    }
  }
  if (!yes) {
    std::printf(
        "まだ何も変えていません。復元するには --yes を付けて実行してください。\n"
        "(nothing changed yet: run again with --yes to restore)\n");
    return kExitOk;
  }

  SystemClock clock;
  const std::string stamp = [&] {
    std::string out;
    for (char ch : FormatIso8601(clock.Now()).substr(0, 19)) {
      if (ch != '-' && ch != ':') out += ch;
    }
    return out;
  }();
  const std::string before = db + ".before-restore-" + stamp;
  if (present) {
    if (Status st = store::CopySqliteFiles(db, before); !st.ok()) {
      return Report(st.error(), ExitCodeFor(st.error()));
    }
  }
  if (Status st = store::ReplaceSqliteFile(db, copy); !st.ok()) {
    return Report(st.error(), ExitCodeFor(st.error()));
  }
  remove_copy.keep = true;  // it is the database now
  // This version's migrations and seeds, then what the backup must not bring back.
  auto opened = OpenCore(db, catalog_dir);
  if (!opened.ok()) return Report(opened.error(), kExitUnavailable);
  Core& core = **opened;
  std::vector<int64_t> revoked;
  if (present) {
    auto rows = store::QuerySqliteFile(
        before, "SELECT id FROM auth_service_accounts WHERE revoked_at IS NOT NULL");
    if (rows.ok()) {
      for (const auto& r : *rows) revoked.push_back(store::AsInt(r[0]));
    }
  }
  int64_t sessions = 0, re_revoked = 0;
  Status st = core.store->Write([&](store::Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(sessions, c.Exec("DELETE FROM auth_sessions"));
    for (int64_t id : revoked) {
      const store::Value p[] = {FormatIso8601(clock.Now()), id};
      MAMORI_ASSIGN_OR_RETURN(
          int64_t n,
          c.Exec("UPDATE auth_service_accounts SET revoked_at = ? WHERE id = ? AND revoked_at IS "
                 "NULL",
                 p));
      re_revoked += n;
    }
    nlohmann::json undone_json = nlohmann::json::object();
    for (const auto& [action, n] : undone) undone_json[action] = n;
    return core.audit->Append(c, kCliActor, "restore", file,
                              {{"sha256", *sha},
                               {"before_restore", present ? before : ""},
                               {"audit_entries", entries},
                               {"undone", undone_json},
                               {"sessions_ended", sessions},
                               {"service_accounts_revoked_again", re_revoked},
                               {"forced", force}});
  });
  if (!st.ok()) return Report(st.error(), ExitCodeFor(st.error()));
  std::printf("復元しました / restored: %s\n", db.c_str());
  if (present) std::printf("  復元前のデータベース / the database before: %s\n", before.c_str());
  std::printf(
      "  ログイン中のセッションはすべて終了しました。利用者はもう一度ログインします "
      "(every session ended: users sign in again)\n");
  if (re_revoked > 0) {
    std::printf(
        "  バックアップの後に失効したサービスアカウントを再び失効させました: %lld "
        "(service accounts revoked again)\n",
        static_cast<long long>(re_revoked));
  }
  return kExitOk;
}

struct ReportTo {
  std::string url;
  std::string token_file;
  std::string ca_file;
};

// Posts one evidence record of `kind` ("automated:netcheck") that stands for every control that
// asks for that kind (registers::kEveryControl: the server's catalog decides which). Returns
// false (after saying why on standard error) when the post failed.
bool PostEngineEvidence(const ReportTo& to, const std::string& kind, const std::string& result,
                        const std::string& summary, const nlohmann::json& raw) {
  auto target = cli::LoadEvidenceTarget(to.url, to.token_file, to.ca_file);
  if (!target.ok()) {
    Report(target.error(), kExitUsage);
    return false;
  }
  auto r = cli::PostEvidence(*target, {{"control", registers::kEveryControl},
                                       {"kind", kind},
                                       {"result", result},
                                       {"summary", summary},
                                       {"raw", raw}});
  if (!r.ok()) {
    Report(r.error(), kExitUnavailable);
    return false;
  }
  const long long id = r->value("id", int64_t{0});
  std::fprintf(stderr, "証跡を送りました(記録番号 %lld、%s) / posted evidence record %lld\n", id,
               to.url.c_str(), id);
  return true;
}

// `mamori netcheck TOPOLOGY`: exit 0 when the policy holds, 1 with violations, 2 when the
// topology or a configuration is invalid (the message names the file and line), 3 when the
// check could not run (e.g. the header space grew beyond its limit) or, with --report-to,
// its result could not be posted.
int Netcheck(const std::string& topology_path, const std::string& format, const ReportTo& to) {
  auto text = ReadFile(topology_path, 1u << 20);
  if (!text.ok()) return Report(text.error(), kExitUsage);
  auto topology = netsep::ParseTopology(*text, topology_path);
  if (!topology.ok()) return Report(topology.error(), kExitUsage);
  auto rulesets = netsep::LoadRulesets(
      *topology, [](const std::string& path) { return ReadFile(path, netsep::kMaxConfigBytes); });
  if (!rulesets.ok()) return Report(rulesets.error(), kExitUsage);
  // Parsing (the nft JSON's document above all) leaves the heap full of freed pages: give them
  // back before the check, whose child process would otherwise start with them too.
  malloc_trim(0);
  // The CLI is single-threaded here: the shadowed-rule analysis may run in a child process. A
  // SIGCHLD ignored by whoever started us (inherited across exec) would hide the child's exit
  // status, and the parent would redo the analysis: take the default back.
  std::signal(SIGCHLD, SIG_DFL);
  auto report = netsep::Check(*topology, *rulesets, {}, netsep::ShadowWork::kForked);
  if (!report.ok()) return Report(report.error(), kExitUnavailable);
  const std::string out = format == "json"   ? netsep::ReportToJson(*report)
                          : format == "html" ? netsep::ReportToHtml(*report, *topology)
                                             : netsep::ReportToText(*report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (out.empty() || out.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!to.url.empty()) {
    // The proof holds only when nothing leaks and every construct was understood.
    const bool holds = report->ok() && report->unknown.empty();
    const std::string summary =
        "ネットワーク分離の検査(" + std::filesystem::path(topology_path).filename().string() +
        "、機器 " + std::to_string(topology->devices.size()) + " 台): 違反 " +
        std::to_string(report->violations.size()) + " 件、解釈できない設定 " +
        std::to_string(report->unknown.size()) + " 件";
    const bool posted =
        PostEngineEvidence(to, "automated:netcheck", holds ? "pass" : "fail", summary,
                           nlohmann::json::parse(netsep::ReportToJson(*report)));
    if (!posted && report->ok()) return kExitUnavailable;
  }
  return report->ok() ? kExitOk : kExitInputErrors;
}

struct MonitorArgs {
  std::string topology;
  std::vector<std::string> blocklists;
  std::vector<std::string> rules;  // Sigma rule files or directories
  std::string format = "auto";
  int64_t window_seconds = 3600;
  int syslog_year = 0;            // 0: this year (local time)
  std::string syslog_utc_offset;  // "": this machine's offset
  int64_t beacon_window_seconds = 86400;
  double beacon_min_score = 0.7;
  monitor::ScanOptions scan;
  uint64_t exfil_limit_mib = 1024;  // 0: no absolute limit
  monitor::DnsTunnelOptions dns_tunnel;
  std::vector<std::string> inputs;
  bool follow = false;                     // keep reading the files as they grow
  std::string checkpoint;                  // with --follow: where to keep the files' positions
  std::vector<std::string> syslog;         // udp://ADDR:PORT, tcp://ADDR:PORT
  ReportTo report;                         // --report-to: post the monitor's report as evidence
  int64_t report_interval_seconds = 3600;  // --follow/--syslog with --report-to
};

// Alerts as JSON lines on standard output; with --report-to also gathered for the report.
class StdoutAlerts final : public monitor::AlertOutput {
 public:
  StdoutAlerts(MonitorReport* report, bool flush_each) : report_(report), flush_each_(flush_each) {}
  void Write(const monitor::Alert& alert) override {
    line_.clear();  // one buffer for every alert: no allocation once it has grown
    monitor::AppendAlertJson(alert, line_, verbatim_);
    if (report_ != nullptr) report_->AddAlert(alert, line_);
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), stdout);  // flushed after each input
    if (flush_each_) std::fflush(stdout);                // live: at once
  }

 private:
  MonitorReport* report_;  // nullable
  bool flush_each_;
  std::string line_;
  monitor::VerbatimMemo verbatim_;  // the zone descriptions seen so far
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Posts one report of the monitor (the alerts gathered since the last one, the run's health as
// it stands) as one automated:monitor evidence record for every control that asks for it; the next
// report starts afresh once it is delivered. Returns false, after saying why on standard error,
// when it could not be posted (its alerts are then kept for the next report). Callable
// periodically.
bool PostMonitorReport(const ReportTo& to, MonitorReport& report, const MonitorRun& run) {
  const int64_t now = NowMicros();
  const MonitorEvidence e = report.Build(run, now);
  if (!PostEngineEvidence(to, "automated:monitor", e.result, e.summary, e.raw)) return false;
  report.Clear(run, now);
  return true;
}

// "+09:00", "-05:30", "+0900", "Z" → minutes east of UTC.
std::optional<int> ParseUtcOffset(std::string_view text) {
  if (text == "Z" || text == "z") return 0;
  if (text.size() != 6 && text.size() != 5) return std::nullopt;
  if (text[0] != '+' && text[0] != '-') return std::nullopt;
  const std::string digits = text.size() == 6 && text[3] == ':'
                                 ? std::string(text.substr(1, 2)) + std::string(text.substr(4, 2))
                                 : std::string(text.substr(1));
  if (digits.size() != 4 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
    return std::nullopt;
  }
  const int hours = std::stoi(digits.substr(0, 2));
  const int minutes = std::stoi(digits.substr(2, 2));
  if (hours > 23 || minutes > 59) return std::nullopt;
  return (text[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
}

// The Sigma rule files named by --rules: a file as given, a directory's *.yml and *.yaml files
// (recursively, sorted by path).
Result<std::vector<monitor::SigmaFile>> ReadSigmaFiles(const std::vector<std::string>& paths) {
  std::vector<monitor::SigmaFile> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    std::vector<std::string> found;
    if (std::filesystem::is_directory(path, ec)) {
      std::filesystem::recursive_directory_iterator it(path, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        const std::string ext = it->path().extension().string();
        if ((ext == ".yml" || ext == ".yaml") && it->is_regular_file(ec)) {
          found.push_back(it->path().string());
        }
      }
      if (ec) {
        return Error::Invalid("ルールのディレクトリを読めません: " + path,
                              "cannot read rule directory " + path);
      }
      if (found.empty()) {
        return Error::Invalid("ルールのディレクトリに *.yml も *.yaml もありません: " + path,
                              "no *.yml or *.yaml file in rule directory " + path);
      }
      std::sort(found.begin(), found.end());
    } else {
      found.push_back(path);
    }
    for (const std::string& file : found) {
      auto content = ReadFile(file, monitor::kMaxSigmaFileBytes);
      if (!content.ok()) return content.error();
      files.push_back({file, std::move(content).value()});
    }
  }
  return files;
}

// The long-running part of `mamori monitor` (--follow, --syslog): until SIGINT or SIGTERM.
// Returns the exit code: 0, 2 (an input failed), 3 (a listener could not be bound).
int RunLiveMonitor(monitor::Monitor& run, const MonitorArgs& args,
                   const std::vector<std::string>& inputs,
                   const std::vector<monitor::SyslogEndpoint>& syslog,
                   std::optional<monitor::Checkpoint> checkpoint, std::function<void()> tick) {
  int exit_code = kExitOk;
  monitor::LiveOptions options;
  for (const std::string& path : inputs) {
    if (path == "-") {
      options.read_stdin = true;
    } else if (args.follow) {
      options.follow.push_back(path);
    }
  }
  options.syslog = syslog;
  options.checkpoint_path = args.checkpoint;
  options.checkpoint = std::move(checkpoint);
  monitor::LiveHooks hooks;
  hooks.notice = [](const std::string& ja, const std::string& en) {
    std::fprintf(stderr, "注意: %s\n  (%s)\n", Printable(ja).c_str(), Printable(en).c_str());
  };
  hooks.error = [&exit_code](const Error& e) {
    Report(e, kExitUsage);
    exit_code = kExitUsage;
  };
  hooks.flush = [] { std::fflush(stdout); };
  hooks.tick = std::move(tick);
  // The tick checks whether a report is due: at least as often as reports are.
  options.tick_interval = std::min(std::chrono::milliseconds(60000),
                                   std::chrono::milliseconds(args.report_interval_seconds * 1000));
  hooks.listening = [](const std::vector<std::string>& urls) {
    for (const std::string& url : urls) {
      std::fprintf(stderr, "syslog を待ち受けています (listening for syslog): %s\n", url.c_str());
    }
  };
  const Status st = monitor::RunLive(run, options, hooks);
  if (!st.ok()) {
    const int code = st.error().code == ErrorCode::kUnavailable ? kExitUnavailable : kExitUsage;
    Report(st.error(), code);
    if (exit_code == kExitOk) exit_code = code;
  }
  return exit_code;
}

// `mamori monitor`: alerts as JSON lines on standard output, the summary on standard error.
// Exit 0; 2 when an option, the topology, a blocklist, a Sigma rule or an input is invalid (the
// message names the file and line), after reading the other inputs; 3 when, with --report-to,
// the report could not be posted (the alerts are on standard output all the same).
int RunMonitor(const MonitorArgs& args) {
  auto text = ReadFile(args.topology, netsep::kMaxTopologyBytes);
  if (!text.ok()) return Report(text.error(), kExitUsage);
  auto topology = netsep::ParseTopology(*text, args.topology);
  if (!topology.ok()) return Report(topology.error(), kExitUsage);
  std::vector<monitor::BlocklistFile> files;
  for (const std::string& path : args.blocklists) {
    auto content = ReadFile(path, monitor::kMaxBlocklistBytes);
    if (!content.ok()) return Report(content.error(), kExitUsage);
    files.push_back({path, std::move(content).value()});
  }
  auto blocklist = monitor::Blocklist::Load(files);
  if (!blocklist.ok()) return Report(blocklist.error(), kExitUsage);
  files.clear();
  auto sigma_files = ReadSigmaFiles(args.rules);
  if (!sigma_files.ok()) return Report(sigma_files.error(), kExitUsage);
  auto sigma_rules = monitor::SigmaRules::Load(*sigma_files);
  if (!sigma_rules.ok()) return Report(sigma_rules.error(), kExitUsage);
  sigma_files->clear();

  monitor::MonitorOptions options;
  if (args.format != "auto") options.format = monitor::ParseInputFormat(args.format);
  options.window_us = args.window_seconds * 1000000;
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  options.parser.syslog.year = args.syslog_year != 0 ? args.syslog_year : local.tm_year + 1900;
  options.parser.syslog.utc_offset_minutes = static_cast<int>(local.tm_gmtoff / 60);
  if (!args.syslog_utc_offset.empty()) {
    const std::optional<int> offset = ParseUtcOffset(args.syslog_utc_offset);
    if (!offset) {
      return Report(Error::Invalid("--syslog-utc-offset は +09:00 の形で書いてください。",
                                   "--syslog-utc-offset must look like +09:00."),
                    kExitUsage);
    }
    options.parser.syslog.utc_offset_minutes = *offset;
  }
  std::vector<monitor::SyslogEndpoint> syslog;
  for (const std::string& url : args.syslog) {
    auto endpoint = monitor::ParseSyslogUrl(url);
    if (!endpoint.ok()) return Report(endpoint.error(), kExitUsage);
    syslog.push_back(*endpoint);
  }
  std::vector<std::string> inputs = args.inputs;
  if (inputs.empty() && syslog.empty()) inputs.push_back("-");
  const bool reads_stdin = std::find(inputs.begin(), inputs.end(), "-") != inputs.end();
  if (!args.checkpoint.empty() && !args.follow) {
    return Report(Error::Invalid("--checkpoint は --follow と一緒に指定してください。",
                                 "--checkpoint needs --follow."),
                  kExitUsage);
  }
  if (!args.checkpoint.empty() && reads_stdin) {
    return Report(
        Error::Invalid("標準入力にはチェックポイントを使えません（位置を記録できません）。"
                       "ログファイルを指定してください。",
                       "--checkpoint cannot be used with standard input; give log "
                       "files."),
        kExitUsage);
  }
  if (std::count(inputs.begin(), inputs.end(), "-") > 1) {
    return Report(Error::Invalid("標準入力（-）は一度だけ指定できます。",
                                 "standard input (-) can be given only once."),
                  kExitUsage);
  }
  if (args.follow) {
    std::vector<std::string> sorted = inputs;
    std::sort(sorted.begin(), sorted.end());
    if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
        twice != sorted.end()) {
      return Report(Error::Invalid("同じファイルが二度指定されています: " + *twice,
                                   "the same file is given twice: " + *twice),
                    kExitUsage);
    }
  }
  std::optional<monitor::Checkpoint> checkpoint;
  if (!args.checkpoint.empty()) {
    auto loaded = monitor::LoadCheckpoint(args.checkpoint);
    if (!loaded.ok()) return Report(loaded.error(), kExitUsage);
    checkpoint = std::move(loaded).value();
  }
  for (const std::string& path : inputs) {
    std::error_code ec;
    if (path != "-" &&
        (std::filesystem::is_directory(path, ec) || ::access(path.c_str(), R_OK) != 0)) {
      return Report(Error::Invalid("ログを読めません: " + path, "cannot read log " + path),
                    kExitUsage);
    }
  }

  // --report-to: the server and the token are checked before any log is read.
  std::optional<MonitorReport> report;
  if (!args.report.url.empty()) {
    auto target = LoadEvidenceTarget(args.report.url, args.report.token_file, args.report.ca_file);
    if (!target.ok()) return Report(target.error(), kExitUsage);
    ReportContext context{HostName(), {}};
    for (const auto& zone : topology->zones)
      context.zones.emplace_back(zone.name, zone.description);
    report.emplace(std::move(context));
  }

  std::vector<std::unique_ptr<monitor::Detector>> detectors;
  detectors.push_back(monitor::MakeSeparationDetector(*topology));
  if (!blocklist->empty()) detectors.push_back(monitor::MakeBlocklistDetector(*blocklist));
  if (sigma_rules->loaded() > 0) detectors.push_back(monitor::MakeSigmaDetector(*sigma_rules));
  monitor::BeaconOptions beacon_options;
  beacon_options.window_us = args.beacon_window_seconds * 1000000;
  beacon_options.min_score = args.beacon_min_score;
  monitor::BeaconStats beacon_stats;
  detectors.push_back(monitor::MakeBeaconDetector(*topology, beacon_options, &beacon_stats));
  detectors.push_back(monitor::MakeScanDetector(*topology, args.scan));
  monitor::ExfiltrationOptions exfiltration;
  exfiltration.limit_bytes = args.exfil_limit_mib << 20;
  detectors.push_back(monitor::MakeExfiltrationDetector(*topology, exfiltration));
  auto psl = monitor::PublicSuffixList::Load();
  if (!psl.ok()) return Report(psl.error(), kExitUsage);
  detectors.push_back(monitor::MakeDnsTunnelDetector(*topology, **psl, args.dns_tunnel));
  auto span = std::make_unique<EventSpan>();
  const EventSpan& event_span = *span;
  if (report) detectors.push_back(std::move(span));
  const bool live = args.follow || !syslog.empty();
  // Alerts of files read through go out in 1 MiB writes rather than the C library's 4 KiB ones
  // (a large log's alerts are hundreds of megabytes: fewer system calls). Not for live runs
  // (each alert flushed), standard input (a pipe may run for long: a signal would lose the
  // buffer) or a terminal (line by line, as before).
  static char out_buffer[1 << 20];
  if (!live && !reads_stdin && !::isatty(STDOUT_FILENO)) {
    std::setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  }
  StdoutAlerts output(report ? &*report : nullptr, live);
  monitor::Monitor run(options, std::move(detectors), output);
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_us = NowMicros();
  int exit_code = kExitOk;
  int input_errors = 0;
  // Live: the files are followed (or, without --follow, read once first), standard input is
  // read beside the listeners.
  const std::vector<std::string> all_inputs = inputs;
  if (live) {
    std::erase_if(inputs, [&](const std::string& p) { return args.follow || p == "-"; });
  }
  for (const std::string& path : inputs) {
    const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Report(Error::Invalid("ログを読めません: " + path, "cannot read log " + path), kExitUsage);
      exit_code = kExitUsage;
      ++input_errors;
      continue;
    }
    monitor::FdSource source(fd);
    const Status st = run.Process(source, path == "-" ? "(stdin)" : path);
    if (fd != STDIN_FILENO) ::close(fd);
    std::fflush(stdout);
    if (!st.ok()) {
      Report(st.error(), kExitUsage);
      exit_code = kExitUsage;
      // An unknown format shows in the summary's inputs; anything else is a read error.
      if (st.error().code != ErrorCode::kInvalidInput) ++input_errors;
    }
  }
  if (live) {
    // With --report-to, a report every --report-interval seconds while running (a failed post
    // is said on standard error and its alerts go with the next one) and one at the end.
    std::function<void()> tick;
    int64_t last_report_us = NowMicros();
    if (report) {
      tick = [&] {
        const int64_t now = NowMicros();
        if (now - last_report_us < args.report_interval_seconds * 1000000) return;
        last_report_us = now;
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const MonitorRun facts{
            &run.summary(),      elapsed, started_us, input_errors, event_span.first_us(),
            event_span.last_us()};
        PostMonitorReport(args.report, *report, facts);
      };
    }
    const int live_code =
        RunLiveMonitor(run, args, all_inputs, syslog, std::move(checkpoint), std::move(tick));
    if (exit_code == kExitOk) exit_code = live_code;
  }
  run.Finish();  // (RunLive has already finished it)
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fflush(stdout);
  std::string summary = monitor::SummaryToText(run.summary(), seconds);
  if (!args.rules.empty()) summary += monitor::SigmaRulesToText(*sigma_rules);
  summary += monitor::BeaconStatsToText(beacon_stats) + "\n";
  std::fwrite(summary.data(), 1, summary.size(), stderr);
  if (report) {
    const MonitorRun facts{
        &run.summary(),      seconds, started_us, input_errors, event_span.first_us(),
        event_span.last_us()};
    if (!PostMonitorReport(args.report, *report, facts) && exit_code == kExitOk) {
      exit_code = kExitUnavailable;
    }
  }
  return exit_code;
}

}  // namespace
}  // namespace mamori::cli

int main(int argc, char** argv) {
  using namespace mamori;
  using namespace mamori::cli;
  CLI::App app{
      "Mamori (守り): 情報セキュリティ管理システム / information security management system"};
  app.require_subcommand(1);

  std::string config_path = "mamori.toml", db, listen, web, catalog_dir = "catalog";
  auto* serve = app.add_subcommand("serve", "Web UI と REST API を起動します / start the server");
  auto* config_opt =
      serve->add_option("--config", config_path, "設定ファイル / settings file (mamori.toml)");
  serve->add_option("--db", db, "SQLite データベース / database file (default var/mamori.db)");
  serve->add_option("--listen", listen,
                    "待ち受け アドレス:ポート / address:port (default 127.0.0.1:8080)");
  serve->add_option("--web", web, "UI のフォルダ / built UI folder (default web/dist)");

  app.add_subcommand("version", "版を表示します / print the version");

  std::string topology_path, netcheck_format = "text";
  auto* netcheck = app.add_subcommand("netcheck",
                                      "ファイアウォール設定からネットワーク分離を検証します / "
                                      "prove network separation from firewall configurations");
  netcheck->add_option("topology", topology_path, "トポロジーファイル / topology TOML")->required();
  netcheck->add_option("--format", netcheck_format, "text、json 又は html")
      ->check(CLI::IsMember({"text", "json", "html"}));
  ReportTo netcheck_report;
  netcheck->add_option("--report-to", netcheck_report.url,
                       "結果を証跡として送る Mamori の URL / post the result as evidence to this "
                       "server");
  netcheck->add_option("--token-file", netcheck_report.token_file,
                       "サービスアカウントのトークンのファイル / file holding the token");
  netcheck->add_option("--report-ca", netcheck_report.ca_file,
                       "HTTPS の CA 証明書 / CA file for HTTPS");
  // Earlier versions read the catalog to post one record per control; accepted (and said to be
  // unneeded) so that existing cron jobs keep recording evidence.
  std::string unused_catalog;
  netcheck->add_option("--catalog", unused_catalog)->group("");

  MonitorArgs monitor_args;
  auto* monitor_cmd = app.add_subcommand(
      "monitor",
      "ログから許可されていない通信を検知します / detect unauthorized communication in logs");
  monitor_cmd->add_option("--topology", monitor_args.topology, "トポロジーファイル / topology TOML")
      ->required();
  monitor_cmd
      ->add_option("--blocklist", monitor_args.blocklists,
                   "遮断リスト（複数可）/ blocklist file (repeatable)")
      ->allow_extra_args(false);
  monitor_cmd
      ->add_option("--rules", monitor_args.rules,
                   "Sigma ルールのファイルかディレクトリ（複数可）/ Sigma rule file or directory "
                   "(repeatable)")
      ->allow_extra_args(false);
  monitor_cmd->add_option("--format", monitor_args.format, "ログの形式 / log format (default auto)")
      ->check(CLI::IsMember({"auto", "zeek", "zeek-json", "eve", "netfilter", "squid"}));
  monitor_cmd
      ->add_option("--window", monitor_args.window_seconds,
                   "警告をまとめる時間（秒）/ aggregation window in seconds (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 86400));
  monitor_cmd
      ->add_option("--syslog-year", monitor_args.syslog_year,
                   "年のない syslog 時刻の年 / year of RFC 3164 times (default this year)")
      ->check(CLI::Range(1970, 9999));
  monitor_cmd->add_option(
      "--syslog-utc-offset", monitor_args.syslog_utc_offset,
      "年のない syslog 時刻の時差 / UTC offset of RFC 3164 times, e.g. +09:00 (default local)");
  monitor_cmd
      ->add_option("--beacon-window", monitor_args.beacon_window_seconds,
                   "ビーコンを採点する時間（秒）/ beacon data set, event-time seconds (default "
                   "86400)")
      ->check(CLI::Range(int64_t{3600}, int64_t{366} * 86400));
  monitor_cmd
      ->add_option("--beacon-min-score", monitor_args.beacon_min_score,
                   "警告するビーコンのスコアの下限 / lowest beacon score reported (default 0.7)")
      ->check(CLI::Range(0.0, 1.0));
  monitor_cmd
      ->add_option("--scan-threshold", monitor_args.scan.remote_threshold,
                   "走査とみなす失敗した接続の宛先・ポートの組の数（外部の送信元）/ unique failed "
                   "(host, port) attempts of a scan, external source (default 25)")
      ->check(CLI::Range(1, 100000));
  monitor_cmd
      ->add_option("--scan-local-threshold", monitor_args.scan.local_threshold,
                   "同（内部の送信元）/ the same, internal source (default 250)")
      ->check(CLI::Range(1, 100000));
  monitor_cmd
      ->add_option("--exfil-limit", monitor_args.exfil_limit_mib,
                   "内部の端末から外部への 1 時間の送信量の上限（MiB、0 は無効）/ bytes out per "
                   "internal host per hour, MiB (default 1024, 0 = off)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  monitor_cmd
      ->add_option("--dns-tunnel-threshold", monitor_args.dns_tunnel.threshold,
                   "一つのドメインの下の長い又は不規則な名前の 1 時間の数 / distinct long or "
                   "high-entropy names under one domain per source and hour (default 50)")
      ->check(CLI::Range(1, 1000000));
  monitor_cmd->add_flag("--follow", monitor_args.follow,
                        "ファイルが伸びるのを読み続けます（SIGINT/SIGTERM で終了）/ keep reading "
                        "the files as they grow (until SIGINT or SIGTERM)");
  monitor_cmd->add_option("--checkpoint", monitor_args.checkpoint,
                          "--follow で読んだ位置を記録するファイル / file keeping the positions "
                          "read, to resume after a restart");
  monitor_cmd
      ->add_option("--syslog", monitor_args.syslog,
                   "syslog を受けるアドレス（複数可）/ listen for syslog, e.g. udp://0.0.0.0:514 "
                   "or tcp://[::1]:5514 (repeatable)")
      ->allow_extra_args(false);
  monitor_cmd->add_option("files", monitor_args.inputs,
                          "ログファイル（なし又は - は標準入力）/ log files (none or - = stdin)");
  monitor_cmd->add_option("--report-to", monitor_args.report.url,
                          "健全性と警告を証跡として送る Mamori の URL / post the monitor's health "
                          "and alerts as evidence to this server");
  monitor_cmd->add_option("--token-file", monitor_args.report.token_file,
                          "サービスアカウントのトークンのファイル / file holding the token");
  monitor_cmd->add_option("--report-ca,--ca-file", monitor_args.report.ca_file,
                          "HTTPS の CA 証明書 / CA file for HTTPS");
  monitor_cmd
      ->add_option("--report-interval", monitor_args.report_interval_seconds,
                   "--follow・--syslog で報告を送る間隔（秒）/ seconds between reports while "
                   "following (default 3600)")
      ->check(CLI::Range(int64_t{10}, int64_t{7} * 86400));
  monitor_cmd->add_option("--catalog", unused_catalog)->group("");

  auto* admin = app.add_subcommand("admin", "管理作業 / administration");
  admin->require_subcommand(1);
  std::string register_key = "org_units", file, mode = "insert", login, name, role;
  bool dry_run = false;
  auto with_db = [&](CLI::App* cmd) {
    cmd->add_option("--db", db, "データベース / database")->required();
    cmd->add_option("--catalog", catalog_dir,
                    "カタログのフォルダ / catalog folder (default catalog)");
  };
  auto* imp = admin->add_subcommand(
      "import", "台帳を取り込みます (全件成功か全件中止) / import a register file");
  imp->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  with_db(imp);
  imp->add_option("--register", register_key, "台帳 / register key (default org_units)");
  imp->add_option("--mode", mode, "insert または upsert")
      ->check(CLI::IsMember({"insert", "upsert"}));
  imp->add_flag("--dry-run", dry_run, "検証のみ / validate only");
  auto* exp = admin->add_subcommand("export", "台帳を書き出します / export a register");
  exp->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  with_db(exp);
  exp->add_option("--register", register_key, "台帳 / register key (default org_units)");
  auto* check = admin->add_subcommand("check-db",
                                      "データベースの整合性を検査します / PRAGMA integrity_check");
  with_db(check);
  auto* create_user =
      admin->add_subcommand("create-user",
                            "利用者を作成し(既存なら再設定し)、一時パスワードを最終行に表示します "
                            "/ create a user and print a one-time password");
  with_db(create_user);
  create_user->add_option("--login", login, "ログイン ID / login id")->required();
  create_user->add_option("--role", role, "役割 / role key (e.g. sysadmin)")->required();
  create_user->add_option("--name", name, "氏名 / name");
  auto* reset_user = admin->add_subcommand(
      "reset-user", "パスワードと多要素認証を再設定します / reset a user's password and MFA");
  with_db(reset_user);
  reset_user->add_option("--login", login, "ログイン ID / login id")->required();
  auto* verify = admin->add_subcommand(
      "verify-audit", "監査ログのハッシュ連鎖を検証します / verify the audit chain");
  with_db(verify);
  auto* backup = admin->add_subcommand(
      "backup",
      "データベースのバックアップを取ります(サーバーは動いたままでよい) / back up the database "
      "(the server may run)");
  backup->add_option("file", file, "書き出すファイル(既にあってはならない) / the new backup file")
      ->required();
  with_db(backup);
  bool yes = false;
  auto* restore = admin->add_subcommand(
      "restore",
      "バックアップから復元します(サーバーを止めて) / restore from a backup (server stopped)");
  restore->add_option("file", file, "バックアップのファイル / the backup file")->required();
  with_db(restore);
  bool force = false;
  restore->add_flag("--force", force,
                    "監査ログが今のデータベースと食い違っても復元します / restore even when the "
                    "audit logs disagree");
  restore->add_flag("--yes", yes,
                    "確かめたうえで復元します(付けなければ確かめるだけ) / restore (without: "
                    "check only)");
  std::string purpose, expires;
  auto* create_token = admin->add_subcommand(
      "create-token",
      "検査エンジン用のサービスアカウントを作り、トークンを一度だけ最終行に表示します / create a "
      "service account and print its token once");
  with_db(create_token);
  create_token->add_option("--name", name, "名前 / name (a-z 0-9 - _)")->required();
  create_token->add_option("--purpose", purpose, "用途 / purpose")->required();
  create_token->add_option("--expires", expires, "有効期限 / expiry date (YYYY-MM-DD)");

  auto* assets = app.add_subcommand("assets", "情報資産台帳 / the information asset register");
  assets->require_subcommand(1);
  bool update = false;
  auto* assets_import = assets->add_subcommand(
      "import", "資産台帳を取り込みます (全件成功か全件中止) / import the asset register");
  assets_import->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  with_db(assets_import);
  assets_import->add_flag("--update", update,
                          "管理番号が一致する資産を更新します(年次の見直し) / update by asset "
                          "number");
  assets_import->add_flag("--dry-run", dry_run, "検証のみ / validate only");
  auto* assets_export =
      assets->add_subcommand("export", "資産台帳を書き出します / export the asset register");
  assets_export->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  with_db(assets_export);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }

  if (app.got_subcommand("version")) {
    std::printf("mamori %s\n", MAMORI_VERSION);
    return 0;
  }
  if (!unused_catalog.empty() && (netcheck->parsed() || monitor_cmd->parsed())) {
    std::fprintf(
        stderr,
        "--catalog は不要になりました(証跡を求める管理策はサーバーのカタログで決まります)。"
        "指定は無視します。 / --catalog is no longer needed and is ignored\n");
  }
  if (netcheck->parsed()) {
    if (!netcheck_report.url.empty() && netcheck_report.token_file.empty()) {
      return Report(Error::Invalid("--report-to には --token-file も指定してください。",
                                   "--report-to needs --token-file"),
                    kExitUsage);
    }
    return Netcheck(topology_path, netcheck_format, netcheck_report);
  }
  if (monitor_cmd->parsed()) {
    if (!monitor_args.report.url.empty() && monitor_args.report.token_file.empty()) {
      return Report(Error::Invalid("--report-to には --token-file も指定してください。",
                                   "--report-to needs --token-file"),
                    kExitUsage);
    }
    if (monitor_args.report.url.empty() &&
        (!monitor_args.report.token_file.empty() || !monitor_args.report.ca_file.empty())) {
      return Report(Error::Invalid("--token-file と --report-ca は --report-to と一緒に指定して"
                                   "ください。",
                                   "--token-file and --report-ca need --report-to"),
                    kExitUsage);
    }
    return RunMonitor(monitor_args);
  }
  if (serve->parsed()) return Serve(config_path, config_opt->count() > 0, db, listen, web);

  if (restore->parsed()) return Restore(db, catalog_dir, file, yes, force);
  if (backup->parsed()) return Backup(db, catalog_dir, file);
  // Every other command holds the lock shared, as a server does: never during a restore.
  auto lock = store::DatabaseLock::Acquire(db, store::DatabaseLock::Mode::kShared);
  if (!lock.ok()) return Report(lock.error(), kExitUnavailable);
  auto opened = OpenCore(db, catalog_dir);
  if (!opened.ok()) return Report(opened.error(), kExitUnavailable);
  Core& core = **opened;
  if (check->parsed()) {
    auto st = core.store->CheckIntegrity();
    if (!st.ok()) return Report(st.error(), kExitInputErrors);
    std::printf("ok\n");
    return 0;
  }
  if (verify->parsed()) {
    auto r = core.audit->Verify();
    if (!r.ok()) return Report(r.error(), kExitUnavailable);
    if (!r->ok) {
      std::fprintf(stderr, "監査ログの検証に失敗しました: 番号 %lld: %s\n",
                   static_cast<long long>(r->first_bad_seq), r->reason.c_str());
      std::printf("first_bad_seq=%lld\n", static_cast<long long>(r->first_bad_seq));
      return kExitInputErrors;
    }
    std::printf("監査ログは改ざんされていません(%lld 件) / audit chain intact (%lld entries)\n",
                static_cast<long long>(r->entries), static_cast<long long>(r->entries));
    return 0;
  }
  if (create_token->parsed()) {
    auto made = core.service_accounts->Create(kCliActor, name, purpose, expires);
    if (!made.ok()) return Report(made.error(), ExitCodeFor(made.error()));
    std::printf("サービスアカウント / service account: %s\n",
                (*made)["account"]["name"].get<std::string>().c_str());
    std::printf("トークン(この一度だけ表示します) / token (shown once):\n%s\n",
                (*made)["token"].get<std::string>().c_str());
    return 0;
  }
  if (create_user->parsed() || reset_user->parsed()) {
    Result<std::string> otp = std::string();
    if (create_user->parsed()) {
      otp = CreateUser(core, login, name, role);
    } else {
      const auto& users = *core.registry->ByKey("users");
      auto list = core.admin_service->List(
          kCliActor, users, *registers::ParseListQuery(users, {{"q", login}, {"limit", "500"}}));
      if (!list.ok()) return Report(list.error(), kExitUnavailable);
      int64_t id = 0;
      const nlohmann::json found = nlohmann::json::parse(*list);  // outlives the loop
      for (const auto& u : found["items"]) {
        if (u["login"] == login) id = u["id"].get<int64_t>();
      }
      if (id == 0) {
        return Report(Error::NotFound("利用者が見つかりません: " + login, "no such user"),
                      kExitInputErrors);
      }
      otp = core.identity->IssueOneTimePassword(kCliActor, id);
    }
    if (!otp.ok()) return Report(otp.error(), ExitCodeFor(otp.error()));
    std::printf("ログイン ID / login: %s\n", login.c_str());
    std::printf(
        "一時パスワード(初回ログインで変更し、多要素認証を登録します) / one-time password:\n");
    std::printf("%s\n", otp->c_str());
    return 0;
  }
  if (assets_import->parsed() || assets_export->parsed()) register_key = "assets";
  const registers::RegisterDef* def = core.registry->ByKey(register_key);
  if (def == nullptr) {
    return Report(Error::Invalid("不明な台帳です: " + register_key, "unknown register"),
                  kExitUsage);
  }
  auto format = FormatOf(file);
  if (!format.ok()) return Report(format.error(), kExitUsage);
  if (imp->parsed() || assets_import->parsed()) {
    if (assets_import->parsed() && update) mode = "upsert";
    return ImportFile(
        core, *def, file, *format,
        mode == "upsert" ? registers::ImportMode::kUpsert : registers::ImportMode::kInsert,
        dry_run);
  }
  if (exp->parsed() || assets_export->parsed()) return ExportFile(core, *def, file, *format);
  return kExitUsage;
}
