// One raw result of kind automated_monitor as a service account posted it (anything at all),
// read for ComplianceService::MonitorReports (registers/compliance.h). Pure; fuzzed
// (tests/fuzz/monitor_report_fuzz.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mamori::registers {

struct PostedMonitorReport {
  nlohmann::json facts;  // host, ran_at, since, healthy, events, alerts_total, alerts_left_out
  nlohmann::json doc;    // the report without its alerts
  // The alerts (objects with a kind), each with "key": what makes an alert the same one when
  // the same logs are reported again.
  std::vector<nlohmann::json> alerts;
  std::vector<std::pair<std::string, std::string>> zones;  // name, description
  int64_t left_out = 0;                                    // alerts the report left out
};

// nullopt when `raw` is not a monitor report (not JSON, not an object, no "report":
// "mamori-monitor"). Members of another type than expected are read as absent.
std::optional<PostedMonitorReport> ReadPostedMonitorReport(std::string_view raw);

}  // namespace mamori::registers
