// Test helpers shared by the parser tests that run a configuration through the engine: load
// one device's configuration from memory under a topology, check it, and look up the matrix and
// the violations of the report. Tests only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "netsep/engine.h"
#include "netsep/topology.h"

namespace mamori::netsep::testing {

// Checks `topology` (TOML) whose one device reads `config` from the file named `config_name`.
inline Report CheckConfig(const char* topology, const std::string& config_name,
                          const std::string& config) {
  Result<Topology> t = ParseTopology(topology, "topology.toml");
  EXPECT_TRUE(t.ok()) << t.error().message_en;
  if (!t.ok()) return Report{};
  auto read = [&](const std::string& path) -> Result<std::string> {
    if (path != config_name) return Error::NotFound("なし", "no file " + path);
    return config;
  };
  Result<std::vector<Ruleset>> rulesets = LoadRulesets(*t, read);
  EXPECT_TRUE(rulesets.ok()) << rulesets.error().message_en;
  if (!rulesets.ok()) return Report{};
  Result<Report> report = Check(*t, *rulesets);
  EXPECT_TRUE(report.ok()) << report.error().message_en;
  return report.ok() ? *report : Report{};
}

// The matrix entry from → to (a test failure when absent).
inline const MatrixEntry& Entry(const Report& r, const std::string& from, const std::string& to) {
  for (const MatrixEntry& e : r.matrix) {
    if (e.from == from && e.to == to) return e;
  }
  ADD_FAILURE() << from << "→" << to;
  static const MatrixEntry kNone;
  return kNone;
}

// Every violation from → to, in report order.
inline std::vector<const Violation*> Violations(const Report& r, const std::string& from,
                                                const std::string& to) {
  std::vector<const Violation*> out;
  for (const Violation& v : r.violations) {
    if (v.from == from && v.to == to) out.push_back(&v);
  }
  return out;
}

// The first violation from → to, or nullptr.
inline const Violation* FindViolation(const Report& r, const std::string& from,
                                      const std::string& to) {
  const auto all = Violations(r, from, to);
  return all.empty() ? nullptr : all.front();
}

}  // namespace mamori::netsep::testing
