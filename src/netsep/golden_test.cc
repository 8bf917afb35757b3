// Golden tests: every folder of tests/golden/netsep holds topology.toml, the device
// configurations it names, and expected.json, the report the engine must produce. Its README.md
// says why that result is right. MAMORI_UPDATE_GOLDEN=1 rewrites expected.json (then check the
// output by hand before committing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "netsep/engine.h"
#include "netsep/report.h"
#include "netsep/topology.h"

namespace mamori::netsep {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs one case; file names in the report are relative to the case folder.
std::string RunCase(const fs::path& dir, ShadowWork shadow = ShadowWork::kInline,
                    const SpaceOptions& options = {}) {
  Result<Topology> topology = ParseTopology(ReadAll(dir / "topology.toml"), "topology.toml");
  if (!topology.ok()) return "topology error: " + topology.error().message_en;
  auto read = [&](const std::string& path) -> Result<std::string> {
    if (!fs::exists(dir / path)) return Error::NotFound("なし", "no file " + path);
    return ReadAll(dir / path);
  };
  Result<std::vector<Ruleset>> rulesets = LoadRulesets(*topology, read);
  if (!rulesets.ok()) return "config error: " + rulesets.error().message_en;
  Result<Report> report = Check(*topology, *rulesets, options, shadow);
  if (!report.ok()) return "check error: " + report.error().message_en;
  return ReportToJson(*report);
}

TEST(NetsepGolden, AllCases) {
  const fs::path root = fs::path(MAMORI_SOURCE_DIR) / "tests/golden/netsep";
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 7u);
  const bool update = std::getenv("MAMORI_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    EXPECT_TRUE(fs::exists(dir / "README.md"));
    const std::string actual = RunCase(dir);
    // The shadowed-rule analysis in a child process (as the CLI runs it) gives the same report.
    EXPECT_EQ(RunCase(dir, ShadowWork::kForked), actual);
    // So does the general path for the rules of one source and one destination address.
    SpaceOptions general;
    general.index_host_rules = false;
    EXPECT_EQ(RunCase(dir, ShadowWork::kInline, general), actual);
    if (update) {
      std::ofstream(dir / "expected.json", std::ios::binary) << actual;
      continue;
    }
    const std::string expected = ReadAll(dir / "expected.json");
    const auto parsed_actual = nlohmann::json::parse(actual, nullptr, false);
    const auto parsed_expected = nlohmann::json::parse(expected, nullptr, false);
    ASSERT_FALSE(parsed_expected.is_discarded()) << "expected.json is not JSON";
    EXPECT_EQ(parsed_actual, parsed_expected) << "actual:\n" << actual;
  }
}

}  // namespace
}  // namespace mamori::netsep
