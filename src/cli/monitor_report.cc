#include "cli/monitor_report.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>

#include "common/text.h"
#include "monitor/text_util.h"

namespace mamori::cli {

using nlohmann::json;

namespace {

constexpr const char* kSeverities[] = {"critical", "high", "medium", "low"};

std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// "0.4%" (one decimal).
std::string Percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", share * 100);
  return text;
}

json Counts(const std::map<std::string, uint64_t>& counts) {
  json out = json::object();
  for (const auto& [key, n] : counts) out[key] = n;
  return out;
}

// "critical 1、high 2" in severity order, then any other key.
std::string SeverityText(const std::map<std::string, uint64_t>& by_severity) {
  std::string out;
  for (const char* s : kSeverities) {
    if (auto it = by_severity.find(s); it != by_severity.end() && it->second > 0) {
      out += (out.empty() ? "" : "、") + std::string(s) + " " + Grouped(it->second);
    }
  }
  return out;
}

// At most `max` code points of valid UTF-8 `s`, with "…" when cut.
std::string Shorten(const std::string& s, size_t max) {
  size_t i = 0, n = 0;
  char32_t cp = 0;
  while (i < s.size() && n < max && DecodeUtf8(s, i, cp)) ++n;
  return i >= s.size() ? s : s.substr(0, i) + "…";
}

struct Problem {
  std::string ja, en;
};

}  // namespace

MonitorReport::MonitorReport(ReportContext context, ReportLimits limits)
    : context_(std::move(context)), limits_(limits) {}

void MonitorReport::AddAlert(const monitor::Alert& alert, std::string text) {
  const std::string kind = monitor::AlertKindName(alert.kind);
  const std::string severity = monitor::SeverityName(alert.severity);
  ++total_;
  ++by_kind_[kind];
  ++by_severity_[severity];
  auto leave_out = [this](const std::string& k, const std::string& s) {
    ++left_by_kind_[k];
    ++left_by_severity_[s];
  };
  if (text.size() > limits_.max_alert_bytes) {
    leave_out(kind, severity);
    return;
  }
  // Over a limit: make room by leaving out the least severe alerts kept (the latest of them
  // first) while they are less severe than this one.
  while (kept_.size() >= limits_.max_alerts ||
         kept_bytes_ + text.size() > limits_.max_alert_bytes) {
    auto least = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (least == kept_.end() || it->severity < least->severity ||
          (it->severity == least->severity && it->sequence > least->sequence)) {
        least = it;
      }
    }
    if (least == kept_.end() || least->severity >= alert.severity) {
      leave_out(kind, severity);
      return;
    }
    leave_out(least->kind, monitor::SeverityName(least->severity));
    kept_bytes_ -= least->json.size();
    kept_.erase(least);
  }
  kept_bytes_ += text.size();
  kept_.push_back({alert.severity, sequence_++, kind, std::move(text)});
}

void MonitorReport::Clear(const MonitorRun& run, int64_t now_us) {
  since_us_ = now_us;
  reported_listeners_ = run.summary->listeners;
  kept_.clear();
  kept_bytes_ = 0;
  total_ = 0;
  by_kind_.clear();
  by_severity_.clear();
  left_by_kind_.clear();
  left_by_severity_.clear();
}

MonitorEvidence MonitorReport::Build(const MonitorRun& run, int64_t now_us) const {
  const monitor::Summary& s = *run.summary;

  // ---- Health ----
  std::vector<Problem> problems;
  if (run.input_errors > 0) {
    problems.push_back({"読めなかった入力が " + Grouped(run.input_errors) + " 件あります",
                        Grouped(run.input_errors) + " input(s) could not be read"});
  }
  std::string unknown_inputs;
  int unknown = 0;
  for (const auto& input : s.inputs) {
    if (input.format) continue;
    if (++unknown <= 3) unknown_inputs += (unknown_inputs.empty() ? "" : ", ") + input.name;
  }
  if (unknown > 0) {
    problems.push_back({"形式を判別できなかった入力が " + Grouped(unknown) + " 件あります(" +
                            Printable(unknown_inputs) + (unknown > 3 ? " ほか" : "") + ")",
                        Grouped(unknown) + " input(s) in an unknown format"});
  }
  if (s.events == 0) {
    problems.push_back({"イベントを 1 件も読めていません", "no event was read"});
  }
  // Senders the syslog listener could not take since the last report: their messages were
  // never read.
  if (const uint64_t lost =
          (s.listeners.refused_connections - reported_listeners_.refused_connections) +
          (s.listeners.accept_failures - reported_listeners_.accept_failures);
      lost > 0) {
    problems.push_back({"syslog の接続を " + Grouped(lost) + " 件受け付けられませんでした",
                        Grouped(lost) + " syslog connection(s) could not be accepted"});
  }
  const double malformed_share =
      s.lines > 0 ? static_cast<double>(s.malformed) / static_cast<double>(s.lines) : 0;
  if (malformed_share > kMaxMalformedShare) {
    problems.push_back(
        {"不正な行が " + Percent(malformed_share) + "(" + Grouped(s.malformed) +
             " 行)あり、上限の " + Percent(kMaxMalformedShare) + " を超えています",
         "malformed lines " + Percent(malformed_share) + " exceed " + Percent(kMaxMalformedShare)});
  }
  const bool healthy = problems.empty();
  const double rate = run.seconds > 0 ? static_cast<double>(s.events) / run.seconds : 0;

  json inputs = json::array();
  for (size_t i = 0; i < s.inputs.size() && i < limits_.max_inputs; ++i) {
    const auto& input = s.inputs[i];
    inputs.push_back(
        {{"name", input.name},
         {"format", input.format ? json(monitor::InputFormatName(*input.format)) : json(nullptr)},
         {"lines", input.lines},
         {"events", input.events}});
  }
  json samples = json::array();
  for (const auto& m : s.samples) {
    samples.push_back({{"file", m.file},
                       {"line", m.line},
                       {"reason", {{"ja", m.reason.ja}, {"en", m.reason.en}}},
                       {"excerpt", m.excerpt}});
  }
  json problem_list = json::array();
  for (const auto& p : problems) problem_list.push_back({{"ja", p.ja}, {"en", p.en}});
  auto iso = [](std::optional<int64_t> us) {
    return us ? json(monitor::FormatIsoUtc(*us)) : json(nullptr);
  };
  json health = {
      {"healthy", healthy},
      {"problems", std::move(problem_list)},
      {"max_malformed_share", kMaxMalformedShare},
      {"inputs", std::move(inputs)},
      {"inputs_total", s.inputs.size()},
      {"input_errors", run.input_errors},
      {"lines", s.lines},
      {"events", s.events},
      {"ignored", s.ignored},
      {"ignored_by_reason", Counts(s.ignored_by_reason)},
      {"malformed", s.malformed},
      {"malformed_share", malformed_share},
      {"malformed_samples", std::move(samples)},
      {"alerts_by_kind", Counts(s.alerts_by_kind)},
      {"seconds", std::round(run.seconds * 1000) / 1000},
      {"events_per_second", std::round(rate * 10) / 10},
      {"first_event", iso(run.first_event_us)},
      {"last_event", iso(run.last_event_us)},
  };
  if (s.listeners.listening) {
    const auto& l = s.listeners;
    health["syslog"] = {{"messages", l.messages},
                        {"connections", l.connections},
                        {"refused_connections", l.refused_connections},
                        {"accept_failures", l.accept_failures},
                        {"idle_closed", l.idle_closed},
                        {"merged_senders", l.merged_senders},
                        {"retired_senders", l.retired_senders}};
  }

  // ---- Alerts: most severe first, then in the order written ----
  std::vector<const Kept*> order;
  order.reserve(kept_.size());
  for (const Kept& k : kept_) order.push_back(&k);
  std::sort(order.begin(), order.end(), [](const Kept* a, const Kept* b) {
    return a->severity != b->severity ? a->severity > b->severity : a->sequence < b->sequence;
  });
  json alerts = json::array();
  for (const Kept* k : order) {
    json a = json::parse(k->json, nullptr, /*allow_exceptions=*/false);
    if (a.is_object()) alerts.push_back(std::move(a));
  }
  uint64_t left_out = 0;
  for (const auto& [kind, n] : left_by_kind_) left_out += n;

  json zones = json::array();
  for (const auto& [name, description] : context_.zones) {
    zones.push_back({{"name", name}, {"description", description}});
  }

  MonitorEvidence e;
  e.healthy = healthy;
  e.result = healthy ? "pass" : "fail";
  e.raw = {
      {"report", "mamori-monitor"},
      {"version", 1},
      {"host", context_.host},
      {"started", iso(run.started_us)},
      {"since", iso(since_us_ ? *since_us_ : run.started_us)},
      {"ran_at", iso(now_us)},
      {"health", std::move(health)},
      {"zones", std::move(zones)},
      {"alerts_total", total_},
      {"alerts_by_kind", Counts(by_kind_)},
      {"alerts_by_severity", Counts(by_severity_)},
      {"alerts_left_out", left_out},
      {"alerts_left_out_by_kind", Counts(left_by_kind_)},
      {"alerts_left_out_by_severity", Counts(left_by_severity_)},
      {"alerts", std::move(alerts)},
  };

  // ---- The record's summary, in Japanese, with the figures ----
  std::string summary = "通信監視";
  if (!context_.host.empty()) summary += "(" + Printable(context_.host) + ")";
  if (healthy) {
    summary += ": 正常に監視しています。";
  } else {
    summary += ": 監視に問題があります(";
    for (size_t i = 0; i < problems.size(); ++i) summary += (i ? "、" : "") + problems[i].ja;
    summary += ")。";
  }
  summary += "入力 " + Grouped(s.inputs.size()) + " 件、イベント " + Grouped(s.events) +
             " 件、不正な行 " + Grouped(s.malformed) + " 行(" + Percent(malformed_share) +
             ")、警告 " + Grouped(total_) + " 件";
  if (const std::string sev = SeverityText(by_severity_); !sev.empty()) {
    summary += "(" + sev + ")";
  }
  if (left_out > 0) summary += "、うち " + Grouped(left_out) + " 件は件数のみ記録";
  e.summary = Shorten(summary, 1900);  // the register takes 2,000 characters
  return e;
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return Printable(name);
}

}  // namespace mamori::cli
