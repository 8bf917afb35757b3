// `mamori monitor --report-to`: the monitor's report to the server, posted as one evidence record
// of kind automated:monitor for every control that asks for it (docs/monitor.md, "Reporting to the
// server"). A report holds the monitor's health (inputs, lines, events, malformed lines with
// samples, alerts by kind, events per second, the span of event time, when and where it ran) and
// the alerts written since the previous report, as the JSON objects `mamori monitor` prints.
//
//   MonitorReport report;                        // one per run
//   report.AddAlert(alert, AlertToJson(alert));  // for every alert written
//   MonitorEvidence e = report.Build(run, now_us);
//   ... post e (result, summary, raw) ...; on success report.Clear(now_us);
//
// Build can be called whenever a report is due (after the run, or periodically while following
// logs): it reads the summary as it stands and the alerts gathered since the last Clear.
//
// Bounded: at most ReportLimits::max_alerts alerts and max_alert_bytes of their JSON per report;
// when more arrive, the most severe are kept (a critical alert is never dropped for a lower one)
// and the report says how many were left out, by kind and severity. At most max_inputs inputs are
// listed. The raw result stays well below the evidence register's limit (900,000 characters).
//
// Healthy (the record's result "pass") means the monitor did its job on the logs it was given:
// every input was read and its format recognized, at least one event was read, and at most
// kMaxMalformedShare of the lines were malformed. Alerts do not make a report unhealthy: they
// are what monitoring is for (each may become an incident).
//
// Not thread-safe: one MonitorReport per run, used by the thread that runs the monitor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor/alert.h"
#include "monitor/detector.h"
#include "monitor/monitor.h"

namespace mamori::cli {

// The share of malformed lines above which the monitor is not healthy (1 %).
inline constexpr double kMaxMalformedShare = 0.01;

struct ReportLimits {
  size_t max_alerts = 500;           // alerts carried per report
  size_t max_alert_bytes = 600'000;  // bytes of their JSON text per report
  size_t max_inputs = 200;           // inputs listed per report
};

// Where the report comes from: the zones of the topology (their names and descriptions, for
// the page's labels), and the host it ran on.
struct ReportContext {
  std::string host;
  std::vector<std::pair<std::string, std::string>> zones;  // name, description; in file order
};

// The run as it stands when a report is due.
struct MonitorRun {
  const monitor::Summary* summary = nullptr;  // required
  double seconds = 0;                         // wall time since the run started
  int64_t started_us = 0;                     // when the run started (epoch microseconds)
  int input_errors = 0;                       // inputs that could not be opened or read
  std::optional<int64_t> first_event_us;      // the span of event time read so far
  std::optional<int64_t> last_event_us;
};

// One evidence record's fields: "pass" when healthy, else "fail"; a Japanese summary that says
// so with the figures; the raw result (JSON object, see docs/monitor.md).
struct MonitorEvidence {
  bool healthy = false;
  std::string result;
  std::string summary;
  nlohmann::json raw;
};

class MonitorReport {
 public:
  MonitorReport(ReportContext context, ReportLimits limits = {});

  // An alert was written; `json` is its AlertToJson text (one object).
  void AddAlert(const monitor::Alert& alert, std::string json);

  // The report of `run` at `now_us` (epoch microseconds) with the alerts gathered since the
  // last Clear, most severe first (then in the order written).
  MonitorEvidence Build(const MonitorRun& run, int64_t now_us) const;

  // The report of `run` was delivered: the next one starts at `now_us` with no alerts, and
  // judges the syslog listeners by what they refused since.
  void Clear(const MonitorRun& run, int64_t now_us);

  size_t alerts_kept() const { return kept_.size(); }

 private:
  struct Kept {
    monitor::Severity severity;
    uint64_t sequence;
    std::string kind;
    std::string json;
  };

  ReportContext context_;
  ReportLimits limits_;
  std::optional<int64_t> since_us_;  // the previous delivered report; nullopt: the run's start
  monitor::ListenerCounts reported_listeners_;  // as of the previous delivered report
  std::vector<Kept> kept_;
  size_t kept_bytes_ = 0;
  uint64_t sequence_ = 0;
  uint64_t total_ = 0;
  std::map<std::string, uint64_t> by_kind_, by_severity_;  // every alert, kept or not
  std::map<std::string, uint64_t> left_by_kind_, left_by_severity_;
};

// A detector that reports nothing: it records the span of event time the run has read.
class EventSpan final : public monitor::Detector {
 public:
  void OnEvent(const monitor::Event& event, monitor::AlertSink&) override {
    if (!first_us_ || event.ts_us < *first_us_) first_us_ = event.ts_us;
    if (!last_us_ || event.ts_us > *last_us_) last_us_ = event.ts_us;
  }
  std::optional<int64_t> first_us() const { return first_us_; }
  std::optional<int64_t> last_us() const { return last_us_; }

 private:
  std::optional<int64_t> first_us_, last_us_;
};

// This machine's host name ("" when unknown).
std::string HostName();

}  // namespace mamori::cli
