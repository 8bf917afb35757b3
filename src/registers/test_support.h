// Shared set-up for tests that build the shipped registers: the classification catalog as
// shipped (catalog/classification.toml) and the definitions built from it.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "policy/catalog.h"
#include "policy/classification.h"
#include "policy/risk.h"
#include "registers/access.h"
#include "registers/registry.h"

namespace mamori::registers::testing {

// An audit sink that keeps nothing, for tests of the registers alone.
class NullAudit final : public AuditSink {
 public:
  Status Append(store::Connection&, const Actor&, std::string_view, std::string_view,
                const nlohmann::json&) override {
    return {};
  }
};

// A fresh, empty directory for the running test's database:
// <tmp>/mamori-<prefix>-<pid>-<test name>.
inline std::filesystem::path FreshTestDir(const std::string& prefix) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mamori-" + prefix + "-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::shared_ptr<const policy::Classification> ShippedClassification() {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/catalog/classification.toml",
                   std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = policy::ParseClassification(text.str(), "catalog/classification.toml");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return std::make_shared<const policy::Classification>(parsed.ok() ? std::move(parsed).value()
                                                                    : policy::Classification{});
}

inline std::string ReadSourceFile(const std::string& rel) {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/" + rel, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The policy catalog as shipped (catalog/policy.toml and catalog/controls.toml).
inline const policy::Catalog& ShippedCatalog() {
  static const policy::Catalog catalog = [] {
    auto parsed =
        policy::ParseCatalog(ReadSourceFile("catalog/policy.toml"), "catalog/policy.toml",
                             ReadSourceFile("catalog/controls.toml"), "catalog/controls.toml");
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? std::move(parsed).value() : policy::Catalog{};
  }();
  return catalog;
}

// The threat catalog and the risk matrices as shipped.
inline const policy::ThreatCatalog& ShippedThreats() {
  static const policy::ThreatCatalog threats = [] {
    auto parsed =
        policy::ParseThreats(ReadSourceFile("catalog/threats.toml"), "catalog/threats.toml");
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? std::move(parsed).value() : policy::ThreatCatalog{};
  }();
  return threats;
}

inline const policy::RiskMatrices& ShippedMatrices() {
  static const policy::RiskMatrices matrices = [] {
    auto parsed = policy::ParseRiskMatrices(ReadSourceFile("catalog/risk-matrix.toml"),
                                            "catalog/risk-matrix.toml");
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? std::move(parsed).value() : policy::RiskMatrices{};
  }();
  return matrices;
}

// Every shipped catalog, for BuiltinRegisters and the services.
inline Catalogs ShippedCatalogs() {
  return Catalogs{ShippedClassification(),
                  std::make_shared<const policy::Catalog>(ShippedCatalog()),
                  std::make_shared<const policy::ThreatCatalog>(ShippedThreats()),
                  std::make_shared<const policy::RiskMatrices>(ShippedMatrices())};
}

// The shipped registers with the given roles (for the role assignment register).
inline std::vector<RegisterDef> ShippedRegisters(std::vector<EnumOption> roles) {
  auto defs = BuiltinRegisters(std::move(roles), ShippedCatalogs());
  EXPECT_TRUE(defs.ok()) << (defs.ok() ? "" : defs.error().message);
  return defs.ok() ? std::move(defs).value() : std::vector<RegisterDef>{};
}

}  // namespace mamori::registers::testing
