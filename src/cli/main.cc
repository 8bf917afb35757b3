// mamori: the one binary. This is the only place that wires concrete types together.
//
// Exit codes: 0 success; 1 the input has errors (import file, failed check); 2 wrong usage or
// invalid configuration; 3 the service could not start or a dependency failed.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/api.h"
#include "cli/config.h"
#include "common/clock.h"
#include "common/log.h"
#include "policy/catalog.h"
#include "registers/registry.h"
#include "registers/service.h"
#include "server/server.h"
#include "store/store.h"

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
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return kExitUnavailable;
  }
  return kExitUnavailable;
}

// Prints an error for people: the Japanese message, then each field error on its own line.
int Report(const Error& e, int exit_code) {
  std::cerr << "エラー: " << e.message << "\n";
  for (const auto& f : e.fields) {
    std::cerr << "  ";
    if (f.row > 0) std::cerr << f.row << " 行目 ";
    if (!f.column.empty())
      std::cerr << "「" << f.column << "」列";
    else if (!f.label.empty())
      std::cerr << "「" << f.label << "」";
    std::cerr << ": " << f.message << "\n";
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

// Everything a command needs to touch the registers of one database.
struct Core {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<registers::Registry> registry;
  SystemClock clock;
  registers::OpenAccess access;
  std::unique_ptr<registers::RegisterService> service;
  int64_t schema_version = 0;
};

Result<std::unique_ptr<Core>> OpenCore(const std::string& db) {
  auto core = std::make_unique<Core>();
  const auto parent = std::filesystem::path(db).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  MAMORI_ASSIGN_OR_RETURN(core->store, store::OpenSqlite({.path = db}));
  MAMORI_ASSIGN_OR_RETURN(core->registry,
                          registers::Registry::Create(registers::BuiltinRegisters()));
  MAMORI_ASSIGN_OR_RETURN(core->schema_version, core->store->Migrate(core->registry->Migrations()));
  MAMORI_TRY(registers::RefreshSearchText(*core->store, *core->registry));
  core->service = std::make_unique<registers::RegisterService>(*core->store, *core->registry,
                                                               core->access, core->clock);
  return core;
}

Result<registers::FileFormat> FormatOf(const std::string& file) {
  const std::string ext = std::filesystem::path(file).extension().string();
  if (ext == ".csv" || ext == ".CSV") return registers::FileFormat::kCsv;
  if (ext == ".xlsx" || ext == ".XLSX") return registers::FileFormat::kXlsx;
  return Error::Invalid("ファイルの拡張子は .csv か .xlsx にしてください: " + file,
                        "file must end in .csv or .xlsx: " + file);
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
  auto catalog = LoadCatalog(c.catalog_dir);
  if (!catalog.ok()) return Report(catalog.error(), kExitUsage);
  auto core = OpenCore(c.db);
  if (!core.ok()) return Report(core.error(), kExitUnavailable);
  api::Api api(*(*core)->registry, *(*core)->service, *catalog, MAMORI_VERSION, c.web_dir);
  auto server = server::Server::Create(c.server, api);
  if (!server.ok()) return Report(server.error(), kExitUnavailable);
  log::Info("start", "\"version\":\"" MAMORI_VERSION "\",\"db\":\"" + c.db +
                         "\",\"schema_version\":" + std::to_string((*core)->schema_version) +
                         ",\"ui\":" + ((api.has_ui()) ? "true" : "false"));
  const std::string host = c.server.address.find(':') != std::string::npos
                               ? "[" + c.server.address + "]"
                               : c.server.address;
  std::printf("Mamori %s listening on http://%s:%u/\n", MAMORI_VERSION, host.c_str(),
              unsigned((*server)->port()));
  std::fflush(stdout);
  (*server)->Run();
  return kExitOk;
}

}  // namespace
}  // namespace mamori::cli

int main(int argc, char** argv) {
  using namespace mamori;
  using namespace mamori::cli;
  CLI::App app{
      "Mamori (守り): 情報セキュリティ管理システム / information security management system"};
  app.require_subcommand(1);

  std::string config_path = "mamori.toml", db, listen, web;
  auto* serve = app.add_subcommand("serve", "Web UI と REST API を起動します / start the server");
  auto* config_opt =
      serve->add_option("--config", config_path, "設定ファイル / settings file (mamori.toml)");
  serve->add_option("--db", db, "SQLite データベース / database file (default var/mamori.db)");
  serve->add_option("--listen", listen,
                    "待ち受け アドレス:ポート / address:port (default 127.0.0.1:8080)");
  serve->add_option("--web", web, "UI のフォルダ / built UI folder (default web/dist)");

  app.add_subcommand("version", "版を表示します / print the version");

  auto* admin = app.add_subcommand("admin", "管理作業 / administration");
  admin->require_subcommand(1);
  std::string register_key = "org_units", file, mode = "insert";
  bool dry_run = false;
  auto* imp = admin->add_subcommand(
      "import", "台帳を取り込みます (全件成功か全件中止) / import a register file");
  imp->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  imp->add_option("--db", db, "データベース / database")->required();
  imp->add_option("--register", register_key, "台帳 / register key (default org_units)");
  imp->add_option("--mode", mode, "insert または upsert")
      ->check(CLI::IsMember({"insert", "upsert"}));
  imp->add_flag("--dry-run", dry_run, "検証のみ / validate only");
  auto* exp = admin->add_subcommand("export", "台帳を書き出します / export a register");
  exp->add_option("file", file, "CSV または XLSX / .csv or .xlsx")->required();
  exp->add_option("--db", db, "データベース / database")->required();
  exp->add_option("--register", register_key, "台帳 / register key (default org_units)");
  auto* check = admin->add_subcommand("check-db",
                                      "データベースの整合性を検査します / PRAGMA integrity_check");
  check->add_option("--db", db, "データベース / database")->required();

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
  if (serve->parsed()) return Serve(config_path, config_opt->count() > 0, db, listen, web);

  auto core = OpenCore(db);
  if (!core.ok()) return Report(core.error(), kExitUnavailable);
  if (check->parsed()) {
    auto st = (*core)->store->CheckIntegrity();
    if (!st.ok()) return Report(st.error(), kExitInputErrors);
    std::printf("ok\n");
    return 0;
  }
  const registers::RegisterDef* def = (*core)->registry->ByKey(register_key);
  if (def == nullptr) {
    return Report(Error::Invalid("不明な台帳です: " + register_key, "unknown register"),
                  kExitUsage);
  }
  auto format = FormatOf(file);
  if (!format.ok()) return Report(format.error(), kExitUsage);
  const registers::Actor actor{"cli", "local"};
  if (imp->parsed()) {
    auto bytes = ReadFile(file, 64u << 20);
    if (!bytes.ok()) return Report(bytes.error(), kExitInputErrors);
    auto r = (*core)->service->Import(
        actor, *def, *bytes, *format,
        mode == "upsert" ? registers::ImportMode::kUpsert : registers::ImportMode::kInsert,
        dry_run);
    if (!r.ok()) return Report(r.error(), ExitCodeFor(r.error()));
    std::printf("%s: 新規 %lld 件、更新 %lld 件、変更なし %lld 件\n",
                dry_run ? "検証のみ(書き込みなし)" : "取り込みました", (long long)r->created,
                (long long)r->updated, (long long)r->unchanged);
    return 0;
  }
  if (exp->parsed()) {
    auto q = registers::ParseListQuery(*def, {});
    auto out = (*core)->service->Export(actor, *def, *q, *format);
    if (!out.ok()) return Report(out.error(), ExitCodeFor(out.error()));
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(out->bytes.data(), static_cast<std::streamsize>(out->bytes.size()));
    if (!f)
      return Report(Error::Unavailable("書き込めません: " + file, "cannot write"),
                    kExitUnavailable);
    std::printf("書き出しました: %s\n", file.c_str());
    return 0;
  }
  return kExitUsage;
}
