// Golden tests: every folder of tests/golden/monitor holds topology.toml, the logs to read,
// case.json and expected.jsonl, the alerts (one JSON object per line) the monitor must write.
// case.json: {"inputs": [...], "blocklists": [...], "rules": [...], "format": "auto",
// "window": seconds, "syslog_year": 2024, "syslog_utc_offset": minutes, "expect": {"events",
// "ignored", "malformed", "sigma_loaded", "sigma_unsupported"}, "beacon": {"window",
// "min_score"}, "scan": {"threshold",
// "local_threshold", "knock_threshold", "timeout", "drop_threshold", "drop_window"},
// "exfiltration": {"window", "limit", "history", "min_history", "sigmas", "min_bytes"},
// "dns_tunnel": {"window", "threshold", "long_length", "entropy_min_length", "entropy_bits"}
// (times in seconds, sizes in bytes; unset keys keep the defaults, as the CLI's)}; every key but
// "inputs" is optional. "rules" are Sigma rule files or directories (their *.yml and *.yaml,
// sorted), relative to the case (the shipped pack is "../../../../catalog/sigma"). README.md says
// why the result is right. MAMORI_UPDATE_GOLDEN=1 rewrites expected.jsonl (check it by hand before
// committing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/beacon.h"
#include "monitor/blocklist.h"
#include "monitor/dns_tunnel.h"
#include "monitor/exfiltration.h"
#include "monitor/monitor.h"
#include "monitor/scan.h"
#include "monitor/separation.h"
#include "monitor/sigma.h"

namespace mamori::monitor {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Lines final : AlertOutput {
  void Write(const Alert& alert) override { text += AlertToJson(alert) + "\n"; }
  std::string text;
};

constexpr int64_t kUs = 1000000;

ScanOptions ScanOptionsOf(const nlohmann::json& spec) {
  ScanOptions o;
  const nlohmann::json j = spec.value("scan", nlohmann::json::object());
  o.remote_threshold = j.value("threshold", o.remote_threshold);
  o.local_threshold = j.value("local_threshold", o.local_threshold);
  o.knock_threshold = j.value("knock_threshold", o.knock_threshold);
  o.timeout_us = j.value("timeout", o.timeout_us / kUs) * kUs;
  o.drop_threshold = j.value("drop_threshold", o.drop_threshold);
  o.drop_window_us = j.value("drop_window", o.drop_window_us / kUs) * kUs;
  return o;
}

ExfiltrationOptions ExfiltrationOptionsOf(const nlohmann::json& spec) {
  ExfiltrationOptions o;
  const nlohmann::json j = spec.value("exfiltration", nlohmann::json::object());
  o.window_us = j.value("window", o.window_us / kUs) * kUs;
  o.limit_bytes = j.value("limit", o.limit_bytes);
  o.history_windows = j.value("history", o.history_windows);
  o.min_history = j.value("min_history", o.min_history);
  o.sigmas = j.value("sigmas", o.sigmas);
  o.min_bytes = j.value("min_bytes", o.min_bytes);
  return o;
}

DnsTunnelOptions DnsTunnelOptionsOf(const nlohmann::json& spec) {
  DnsTunnelOptions o;
  const nlohmann::json j = spec.value("dns_tunnel", nlohmann::json::object());
  o.window_us = j.value("window", o.window_us / kUs) * kUs;
  o.threshold = j.value("threshold", o.threshold);
  o.long_length = j.value("long_length", o.long_length);
  o.entropy_min_length = j.value("entropy_min_length", o.entropy_min_length);
  o.entropy_bits = j.value("entropy_bits", o.entropy_bits);
  return o;
}

struct SigmaCounts {
  size_t loaded = 0;
  size_t unsupported = 0;
};

// Runs one case: the alerts as JSON lines, or an error text.
std::string RunCase(const fs::path& dir, const nlohmann::json& spec, Summary& summary,
                    SigmaCounts& sigma) {
  auto topology = netsep::ParseTopology(ReadAll(dir / "topology.toml"), "topology.toml");
  if (!topology.ok()) return "topology error: " + topology.error().message_en;
  std::vector<BlocklistFile> files;
  for (const auto& name : spec.value("blocklists", nlohmann::json::array())) {
    files.push_back({name.get<std::string>(), ReadAll(dir / name.get<std::string>())});
  }
  auto blocklist = Blocklist::Load(files);
  if (!blocklist.ok()) return "blocklist error: " + blocklist.error().message_en;
  std::vector<SigmaFile> rule_files;
  for (const auto& name : spec.value("rules", nlohmann::json::array())) {
    const fs::path path = dir / name.get<std::string>();
    std::vector<fs::path> found;
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::recursive_directory_iterator(path)) {
        const std::string ext = entry.path().extension().string();
        if (ext == ".yml" || ext == ".yaml") found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
    } else {
      found.push_back(path);
    }
    for (const fs::path& file : found) {
      rule_files.push_back({file.filename().string(), ReadAll(file)});
    }
  }
  auto rules = SigmaRules::Load(rule_files);
  if (!rules.ok()) return "sigma error: " + rules.error().message_en;
  sigma = {rules->loaded(), rules->unsupported().size()};
  MonitorOptions options;
  const std::string format = spec.value("format", "auto");
  if (format != "auto") options.format = ParseInputFormat(format);
  options.window_us = spec.value("window", int64_t{3600}) * 1000000;
  options.parser.syslog.year = spec.value("syslog_year", 2024);
  options.parser.syslog.utc_offset_minutes = spec.value("syslog_utc_offset", 540);
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeSeparationDetector(*topology));
  detectors.push_back(MakeBlocklistDetector(*blocklist));
  detectors.push_back(MakeSigmaDetector(*rules));
  BeaconOptions beacon;
  const auto beacon_spec = spec.value("beacon", nlohmann::json::object());
  beacon.window_us = beacon_spec.value("window", int64_t{86400}) * 1000000;
  beacon.min_score = beacon_spec.value("min_score", 0.7);
  detectors.push_back(MakeBeaconDetector(*topology, beacon));
  detectors.push_back(MakeScanDetector(*topology, ScanOptionsOf(spec)));
  detectors.push_back(MakeExfiltrationDetector(*topology, ExfiltrationOptionsOf(spec)));
  auto psl = PublicSuffixList::Load();
  if (!psl.ok()) return "psl error: " + psl.error().message_en;
  detectors.push_back(MakeDnsTunnelDetector(*topology, **psl, DnsTunnelOptionsOf(spec)));
  Lines out;
  Monitor monitor(options, std::move(detectors), out);
  for (const auto& name : spec.at("inputs")) {
    const std::string text = ReadAll(dir / name.get<std::string>());
    StringSource source(text);
    const Status st = monitor.Process(source, name.get<std::string>());
    if (!st.ok()) return "input error: " + st.error().message_en;
  }
  monitor.Finish();
  summary = monitor.summary();
  return out.text;
}

std::vector<nlohmann::json> ParseLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

TEST(MonitorGolden, AllCases) {
  const fs::path root = fs::path(MAMORI_SOURCE_DIR) / "tests/golden/monitor";
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 10u);
  const bool update = std::getenv("MAMORI_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    EXPECT_TRUE(fs::exists(dir / "README.md"));
    const auto spec = nlohmann::json::parse(ReadAll(dir / "case.json"), nullptr, false);
    ASSERT_FALSE(spec.is_discarded()) << "case.json is not JSON";
    Summary summary;
    SigmaCounts sigma;
    const std::string actual = RunCase(dir, spec, summary, sigma);
    if (update) {
      std::ofstream(dir / "expected.jsonl", std::ios::binary) << actual;
      continue;
    }
    EXPECT_EQ(ParseLines(actual), ParseLines(ReadAll(dir / "expected.jsonl"))) << "actual:\n"
                                                                               << actual;
    if (spec.contains("expect")) {
      const auto& expect = spec["expect"];
      EXPECT_EQ(summary.events, expect.value("events", summary.events));
      EXPECT_EQ(summary.ignored, expect.value("ignored", summary.ignored));
      EXPECT_EQ(summary.malformed, expect.value("malformed", summary.malformed));
      EXPECT_EQ(sigma.loaded, expect.value("sigma_loaded", sigma.loaded));
      EXPECT_EQ(sigma.unsupported, expect.value("sigma_unsupported", sigma.unsupported));
    }
  }
}

}  // namespace
}  // namespace mamori::monitor
