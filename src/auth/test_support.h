// Shared set-up for the auth tests: a real SQLite database in a temporary folder with the
// shipped registers, the audit trail and identity tables.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "auth/audit.h"
#include "auth/identity.h"
#include "auth/permissions.h"
#include "registers/service.h"
#include "registers/test_support.h"

namespace mamori::auth::testing {

inline std::string ReadShipped(const std::string& rel) {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/" + rel);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AuthFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    dir_ = std::filesystem::temp_directory_path() /
           ("mamori-auth-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto table =
        PermissionTable::Parse(ReadShipped("catalog/permissions.toml"), "permissions.toml");
    ASSERT_TRUE(table.ok()) << table.error().message;
    table_ = std::make_unique<PermissionTable>(std::move(table).value());
    std::vector<registers::EnumOption> roles;
    for (const auto& r : table_->roles()) roles.push_back({r.key, {r.label_ja, r.label_en}});
    auto reg = registers::Registry::Create(registers::testing::ShippedRegisters(roles));
    ASSERT_TRUE(reg.ok()) << reg.error().message_en;
    registry_ = std::move(reg).value();
    auto store = store::OpenSqlite({.path = db_path()});
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto migrations = registry_->Migrations();
    for (auto& m : AuditMigrations()) migrations.push_back(m);
    for (auto& m : IdentityMigrations()) migrations.push_back(m);
    ASSERT_TRUE(store_->Migrate(migrations).ok());
    audit_ = std::make_unique<AuditLog>(*store_, clock_);
    IdentityOptions options;
    options.hash_params = {1, 8u << 20};  // fast hashing in tests
    identity_ =
        std::make_unique<IdentityService>(*store_, *registry_, *audit_, clock_, box_, options);
    authorizer_ = std::make_unique<RoleAuthorizer>(*table_);
    admin_ =
        std::make_unique<registers::RegisterService>(*store_, *registry_, open_, *audit_, clock_);
  }
  void TearDown() override {
    admin_.reset();
    identity_.reset();
    audit_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string db_path() const { return (dir_ / "t.db").string(); }

  int64_t Unit(const std::string& code, const std::string& kind, int64_t parent) {
    nlohmann::json body{{"code", code}, {"name", code + "名"}, {"kind", kind}};
    if (parent) body["parent"] = parent;
    auto r = admin_->Create(cli_, *registry_->ByKey("org_units"), body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? (*r)["id"].get<int64_t>() : 0;
  }
  int64_t User(const std::string& login, int64_t section = 0) {
    nlohmann::json body{{"login", login}, {"name", login}};
    if (section) body["section"] = section;
    auto r = admin_->Create(cli_, *registry_->ByKey("users"), body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? (*r)["id"].get<int64_t>() : 0;
  }
  Result<nlohmann::json> Assign(int64_t user, const std::string& role, const std::string& kind,
                                int64_t unit, const std::string& from = "2026-04-01",
                                const std::string& to = "",
                                const registers::Actor* actor = nullptr) {
    nlohmann::json body{{"user", user}, {"role", role}, {"scope_kind", kind}, {"valid_from", from}};
    if (unit) body["scope_unit"] = unit;
    if (!to.empty()) body["valid_to"] = to;
    return admin_->Create(actor ? *actor : cli_, *registry_->ByKey("role_assignments"), body);
  }

  std::filesystem::path dir_;
  FixedClock clock_{TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 5 / 1}} +
                    std::chrono::hours(1)};
  SecretBox box_ = SecretBox::FromBytes("0123456789abcdef0123456789abcdef");
  std::unique_ptr<PermissionTable> table_;
  std::unique_ptr<registers::Registry> registry_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<RoleAuthorizer> authorizer_;
  registers::OpenAccess open_;
  std::unique_ptr<registers::RegisterService> admin_;
  registers::Actor cli_{"cli", "local", 0, {}};
};

}  // namespace mamori::auth::testing
