// ComplianceService::MonitorReports: the reports `mamori monitor --report-to` recorded as
// evidence in the last days, read once on the server for the 通信監視 page.
#include "registers/monitor_reports.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "registers/compliance.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

// The most records an earlier version posted for one report (one per control asking for it).
constexpr size_t kMaxControlsPerReport = 16;

int SeverityRank(const json& alert) {
  static constexpr const char* kOrder[] = {"critical", "high", "medium", "low"};
  const auto s = alert.find("severity");
  if (s == alert.end() || !s->is_string()) return 4;
  for (int i = 0; i < 4; ++i) {
    if (*s == kOrder[i]) return i;
  }
  return 4;
}

std::string TextMember(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<PostedMonitorReport> ReadPostedMonitorReport(std::string_view raw) {
  json doc = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  // The raw result is whatever a service account posted: every member is checked for its type
  // before use (json::value with a typed default would throw on another type).
  if (!doc.is_object() || TextMember(doc, "report") != "mamori-monitor") return std::nullopt;
  PostedMonitorReport out;
  const json health = doc.value("health", json::object());
  const bool healthy =
      health.is_object() && health.contains("healthy") && health["healthy"] == true;
  out.facts = {{"host", TextMember(doc, "host")},
               {"ran_at", TextMember(doc, "ran_at")},
               {"since", TextMember(doc, "since")},
               {"healthy", healthy},
               {"events", health.is_object() ? health.value("events", json(0)) : json(0)},
               {"alerts_total", doc.value("alerts_total", json(0))},
               {"alerts_left_out", doc.value("alerts_left_out", json(0))}};
  if (const auto lo = doc.find("alerts_left_out");
      lo != doc.end() && lo->is_number_integer() && lo->get<int64_t>() > 0) {
    out.left_out = lo->get<int64_t>();
  }
  if (const auto zones = doc.find("zones"); zones != doc.end() && zones->is_array()) {
    for (const json& z : *zones) {
      const std::string name = z.is_object() ? TextMember(z, "name") : "";
      if (!name.empty()) out.zones.emplace_back(name, TextMember(z, "description"));
    }
  }
  if (const auto alerts = doc.find("alerts"); alerts != doc.end() && alerts->is_array()) {
    for (json& a : *alerts) {
      if (!a.is_object() || TextMember(a, "kind").empty()) continue;
      const auto ev = a.find("evidence");
      const std::string first =
          ev != a.end() && ev->is_array() && !ev->empty() && (*ev)[0].is_string()
              ? (*ev)[0].get<std::string>()
              : "";
      a["key"] = json::array({a["kind"], a.value("src", json()), a.value("dst", json()),
                              a.value("ts", json()), a.value("dport", json()), first})
                     .dump(-1, ' ', false, json::error_handler_t::replace);
      out.alerts.push_back(std::move(a));
    }
  }
  doc.erase("alerts");
  out.doc = std::move(doc);
  return out;
}

Result<json> ComplianceService::MonitorReports(const Actor& actor, int days,
                                               const MonitorReportLimits& limits) const {
  const RegisterDef* evidence = registry_.ByKey("evidence");
  if (evidence == nullptr) return Error::Internal("the evidence register is not defined");
  MAMORI_TRY(authorizer_.Check(actor, *evidence, Action::kView, nullptr));
  if (days < 1 || days > 31) {
    return Error::Invalid("days は 1 から 31 までの日数で指定してください。",
                          "days must be 1 to 31");
  }
  const std::string since = FormatIso8601(clock_.Now() - std::chrono::hours(24 * days));

  struct Row {
    int64_t id;
    std::string created_at, control, source, result, summary, sha;
  };
  std::vector<std::pair<size_t, std::string>> raws;  // index into `reports`, raw text
  json reports = json::array();
  int64_t in_window = 0;
  MAMORI_TRY(store_.Read([&](Connection& c) -> mamori::Status {
    // A report is one record, or (posted once per control by an earlier version) the records
    // with the same raw result from the same account. The newest record is always included,
    // however old: a monitor that stopped long ago must not look like one never set up.
    constexpr const char* kWhere =
        "archived = 0 AND f_kind = 'automated_monitor' AND (created_at >= ? OR id = (SELECT "
        "max(id) FROM r_evidence WHERE archived = 0 AND f_kind = 'automated_monitor'))";
    MAMORI_ASSIGN_OR_RETURN(
        auto count,
        c.Query(std::string("SELECT count(*) FROM (SELECT 1 FROM r_evidence WHERE ") + kWhere +
                    " GROUP BY CASE WHEN f_control = ? THEN 'id ' || id ELSE f_raw_sha256 || ' ' "
                    "|| f_source END)",
                std::vector<Value>{since, std::string(kEveryControl)}));
    in_window = AsInt(count.at(0).at(0));
    // Old reports came in groups of at most one record per control: enough rows for the
    // listed reports whatever their shape.
    const int64_t rows_wanted =
        static_cast<int64_t>(limits.max_reports) * static_cast<int64_t>(kMaxControlsPerReport);
    MAMORI_ASSIGN_OR_RETURN(
        auto found,
        c.Query(std::string("SELECT id, created_at, f_control, f_source, f_result, f_summary, "
                            "f_raw_sha256 FROM r_evidence WHERE ") +
                    kWhere + " ORDER BY id DESC LIMIT ?",
                std::vector<Value>{since, rows_wanted}, static_cast<size_t>(rows_wanted)));
    std::set<std::pair<std::string, std::string>> old_reports;  // sha, source
    size_t bytes = 0;
    for (const auto& r : found) {
      if (reports.size() >= limits.max_reports) break;
      Row row{AsInt(r[0]),  AsText(r[1]), AsText(r[2]), AsText(r[3]),
              AsText(r[4]), AsText(r[5]), AsText(r[6])};
      if (row.control != kEveryControl && !old_reports.emplace(row.sha, row.source).second) {
        continue;
      }
      json entry{{"id", row.id},         {"created_at", row.created_at}, {"source", row.source},
                 {"result", row.result}, {"summary", row.summary},       {"read", false}};
      // The newest report is read whatever its size; the others within the bounds.
      if (reports.empty() || (raws.size() < limits.max_read && bytes < limits.max_read_bytes)) {
        MAMORI_ASSIGN_OR_RETURN(auto raw, c.Query("SELECT f_raw FROM r_evidence WHERE id = ?",
                                                  std::vector<Value>{row.id}));
        std::string text = raw.empty() || store::IsNull(raw[0][0]) ? "" : AsText(raw[0][0]);
        bytes += text.size();
        raws.emplace_back(reports.size(), std::move(text));
      }
      reports.push_back(std::move(entry));
    }
    return {};
  }));

  // Every alert of the reports read, once: an alert reported again (the same logs read twice)
  // keeps the newest report's copy.
  std::vector<json> alerts;
  std::set<std::string> seen;
  json latest = nullptr;
  json zones = json::object();  // name -> description, the newest report's
  int64_t left_out = 0;
  size_t unreadable = 0;
  for (auto& [index, text] : raws) {
    json& entry = reports[index];
    std::optional<PostedMonitorReport> posted = ReadPostedMonitorReport(text);
    if (!posted) {
      ++unreadable;
      continue;
    }
    entry["read"] = true;
    entry.update(posted->facts);
    // Saturating: the counts are whatever was posted.
    left_out = posted->left_out > INT64_MAX - left_out ? INT64_MAX : left_out + posted->left_out;
    for (auto& [name, description] : posted->zones) {
      if (!zones.contains(name)) zones[name] = description;
    }
    for (json& a : posted->alerts) {
      if (!seen.insert(a["key"].get<std::string>()).second) continue;
      a.erase("key");
      a["report"] = entry["id"];
      alerts.push_back(std::move(a));
    }
    if (latest.is_null()) {
      latest = std::move(posted->doc);
      latest["record"] = entry["id"];
      latest["created_at"] = entry["created_at"];
    }
  }
  // Critical first, then the latest first; at most max_alerts.
  std::stable_sort(alerts.begin(), alerts.end(), [](const json& x, const json& y) {
    const int rx = SeverityRank(x), ry = SeverityRank(y);
    if (rx != ry) return rx < ry;
    return TextMember(x, "ts") > TextMember(y, "ts");
  });
  const size_t total = alerts.size();
  if (alerts.size() > limits.max_alerts) alerts.resize(limits.max_alerts);
  return json{
      {"days", days},
      {"since", since},
      {"reports", std::move(reports)},
      {"reports_total", in_window},
      {"reports_read", raws.size() - unreadable},
      {"reports_unread", static_cast<int64_t>(in_window) - static_cast<int64_t>(raws.size())},
      {"unreadable", unreadable},
      {"latest", std::move(latest)},
      {"zones", std::move(zones)},
      {"alerts", std::move(alerts)},
      {"alerts_total", total},
      {"alerts_left_out", left_out},
      {"alerts_beyond", total - std::min(total, limits.max_alerts)}};
}

}  // namespace mamori::registers
