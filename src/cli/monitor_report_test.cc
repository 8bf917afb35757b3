#include "cli/monitor_report.h"

#include <gtest/gtest.h>

#include <string>

#include "monitor/alert.h"

namespace mamori::cli {
namespace {

using monitor::Alert;
using monitor::AlertKind;
using monitor::Severity;
using nlohmann::json;

constexpr int64_t kRanAt = int64_t{1714525300} * 1000000;  // 2024-05-01T01:01:40Z

Alert MakeAlert(AlertKind kind, Severity severity, const std::string& src) {
  Alert a;
  a.kind = kind;
  a.severity = severity;
  a.ts_us = int64_t{1714525261} * 1000000;
  a.last_ts_us = a.ts_us;
  a.src = src;
  a.dst = "10.10.1.20";
  a.proto = monitor::Proto::kTcp;
  a.dport = 3389;
  a.from_zone = "lgwan";
  a.to_zone = "mynumber";
  a.count = 1;
  a.evidence = {"conn.log:15 CdM7g"};
  return a;
}

void Add(MonitorReport& report, const Alert& a) { report.AddAlert(a, monitor::AlertToJson(a)); }

monitor::Summary HealthySummary() {
  monitor::Summary s;
  s.inputs.push_back({"conn.log", monitor::InputFormat::kZeek, 1000, 990});
  s.lines = 1000;
  s.events = 990;
  s.ignored = 5;
  s.malformed = 5;
  s.alerts_by_kind["separation"] = 1;
  return s;
}

MonitorRun RunOf(const monitor::Summary& s) {
  return MonitorRun{&s, 2.0, kRanAt - 2000000, 0, int64_t{1714525200} * 1000000, kRanAt - 1000000};
}

TEST(MonitorReport, HealthyRunPassesAndCarriesHealthAlertsAndZones) {
  MonitorReport report({"sensor-01", {{"lgwan", "LGWAN接続系"}, {"mynumber", ""}}});
  Add(report, MakeAlert(AlertKind::kSeparation, Severity::kCritical, "10.20.3.15"));
  const monitor::Summary s = HealthySummary();
  const MonitorEvidence e = report.Build(RunOf(s), kRanAt);
  EXPECT_TRUE(e.healthy);
  EXPECT_EQ(e.result, "pass");
  EXPECT_NE(e.summary.find("通信監視(sensor-01): 正常に監視しています。"), std::string::npos)
      << e.summary;
  EXPECT_NE(e.summary.find("イベント 990 件、不正な行 5 行(0.5%)、警告 1 件(critical 1)"),
            std::string::npos)
      << e.summary;
  const json& raw = e.raw;
  EXPECT_EQ(raw["report"], "mamori-monitor");
  EXPECT_EQ(raw["host"], "sensor-01");
  EXPECT_EQ(raw["ran_at"], "2024-05-01T01:01:40Z");
  EXPECT_EQ(raw["since"], "2024-05-01T01:01:38Z");
  EXPECT_EQ(raw["health"]["inputs"][0]["format"], "zeek");
  EXPECT_EQ(raw["health"]["events"], 990);
  EXPECT_DOUBLE_EQ(raw["health"]["malformed_share"].get<double>(), 0.005);
  EXPECT_DOUBLE_EQ(raw["health"]["events_per_second"].get<double>(), 495.0);
  EXPECT_EQ(raw["health"]["first_event"], "2024-05-01T01:00:00Z");
  EXPECT_EQ(raw["zones"][0]["description"], "LGWAN接続系");
  ASSERT_EQ(raw["alerts"].size(), 1u);
  EXPECT_EQ(raw["alerts"][0]["kind"], "separation");
  EXPECT_EQ(raw["alerts"][0]["evidence"][0], "conn.log:15 CdM7g");
  EXPECT_EQ(raw["alerts_total"], 1);
  EXPECT_EQ(raw["alerts_left_out"], 0);
}

TEST(MonitorReport, UnhealthyWhenInputsFailNothingIsReadOrTooManyLinesAreMalformed) {
  MonitorReport report({"", {}});
  monitor::Summary s = HealthySummary();
  s.malformed = 20;  // 2 % of 1,000 lines
  MonitorEvidence e = report.Build(RunOf(s), kRanAt);
  EXPECT_FALSE(e.healthy);
  EXPECT_EQ(e.result, "fail");
  EXPECT_NE(e.summary.find("不正な行が 2.0%(20 行)あり"), std::string::npos) << e.summary;
  EXPECT_EQ(e.raw["health"]["problems"].size(), 1u);

  monitor::Summary empty;
  empty.inputs.push_back({"odd.log", std::nullopt, 3, 0});
  MonitorRun run = RunOf(empty);
  run.input_errors = 1;
  e = report.Build(run, kRanAt);
  EXPECT_FALSE(e.healthy);
  const std::string problems = e.raw["health"]["problems"].dump();
  EXPECT_NE(problems.find("読めなかった入力が 1 件"), std::string::npos) << problems;
  EXPECT_NE(problems.find("形式を判別できなかった入力が 1 件あります(odd.log)"), std::string::npos);
  EXPECT_NE(problems.find("イベントを 1 件も読めていません"), std::string::npos);
  EXPECT_EQ(e.raw["health"]["first_event"], "2024-05-01T01:00:00Z");

  // Syslog senders the listener could not take: their messages were never read.
  monitor::Summary listening = HealthySummary();
  listening.listeners.listening = true;
  listening.listeners.messages = 900;
  listening.listeners.merged_senders = 40;  // merged, still read: not a problem
  listening.listeners.retired_senders = 3;  // nor senders folded into (others)
  e = report.Build(RunOf(listening), kRanAt);
  EXPECT_TRUE(e.healthy);
  EXPECT_EQ(e.raw["health"]["syslog"]["merged_senders"], 40);
  EXPECT_EQ(e.raw["health"]["syslog"]["retired_senders"], 3);
  listening.listeners.refused_connections = 2;
  listening.listeners.accept_failures = 1;
  e = report.Build(RunOf(listening), kRanAt);
  EXPECT_FALSE(e.healthy);
  EXPECT_NE(e.raw["health"]["problems"].dump().find("syslog の接続を 3 件受け付けられませんでした"),
            std::string::npos);
  // The next report judges only what was refused since the last one was delivered.
  report.Clear(RunOf(listening), kRanAt);
  e = report.Build(RunOf(listening), kRanAt + 1);
  EXPECT_TRUE(e.healthy) << e.raw["health"]["problems"].dump();
  EXPECT_EQ(e.raw["health"]["syslog"]["refused_connections"], 2);  // the run's total
}

TEST(MonitorReport, BoundedKeepingTheMostSevereAndCountingWhatWasLeftOut) {
  ReportLimits limits;
  limits.max_alerts = 3;
  MonitorReport report({"h", {}}, limits);
  Add(report, MakeAlert(AlertKind::kSigma, Severity::kLow, "10.0.0.1"));
  Add(report, MakeAlert(AlertKind::kBlocklist, Severity::kHigh, "10.0.0.2"));
  Add(report, MakeAlert(AlertKind::kSigma, Severity::kMedium, "10.0.0.3"));
  Add(report, MakeAlert(AlertKind::kSeparation, Severity::kCritical, "10.0.0.4"));  // drops low
  Add(report, MakeAlert(AlertKind::kSigma, Severity::kLow, "10.0.0.5"));  // left out itself
  const monitor::Summary s = HealthySummary();
  const MonitorEvidence e = report.Build(RunOf(s), kRanAt);
  const json& alerts = e.raw["alerts"];
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0]["severity"], "critical");  // most severe first
  EXPECT_EQ(alerts[1]["severity"], "high");
  EXPECT_EQ(alerts[2]["src"], "10.0.0.3");
  EXPECT_EQ(e.raw["alerts_total"], 5);
  EXPECT_EQ(e.raw["alerts_left_out"], 2);
  EXPECT_EQ(e.raw["alerts_left_out_by_severity"]["low"], 2);
  EXPECT_EQ(e.raw["alerts_left_out_by_kind"]["sigma"], 2);
  EXPECT_EQ(e.raw["alerts_by_kind"]["sigma"], 3);
  EXPECT_NE(
      e.summary.find("警告 5 件(critical 1、high 1、medium 1、low 2)、うち 2 件は件数のみ記録"),
      std::string::npos)
      << e.summary;

  // A byte budget too: an alert bigger than what is left makes room only by dropping less
  // severe ones.
  ReportLimits tight;
  tight.max_alert_bytes =
      monitor::AlertToJson(MakeAlert(AlertKind::kSigma, Severity::kLow, "1")).size() + 10;
  MonitorReport small({"h", {}}, tight);
  Add(small, MakeAlert(AlertKind::kSigma, Severity::kLow, "1"));
  Add(small, MakeAlert(AlertKind::kSigma, Severity::kLow, "2"));
  Add(small, MakeAlert(AlertKind::kSigma, Severity::kHigh, "3"));
  const json raw = small.Build(RunOf(s), kRanAt).raw;
  ASSERT_EQ(raw["alerts"].size(), 1u);
  EXPECT_EQ(raw["alerts"][0]["src"], "3");
  EXPECT_EQ(raw["alerts_left_out"], 2);
}

TEST(MonitorReport, ClearStartsTheNextReportWithoutAlerts) {
  MonitorReport report({"h", {}});
  Add(report, MakeAlert(AlertKind::kSeparation, Severity::kCritical, "10.20.3.15"));
  const monitor::Summary s = HealthySummary();
  report.Clear(RunOf(HealthySummary()), kRanAt);
  Add(report, MakeAlert(AlertKind::kBlocklist, Severity::kHigh, "10.30.0.10"));
  const json raw = report.Build(RunOf(s), kRanAt + 60000000).raw;
  ASSERT_EQ(raw["alerts"].size(), 1u);
  EXPECT_EQ(raw["alerts"][0]["kind"], "blocklist");
  EXPECT_EQ(raw["since"], "2024-05-01T01:01:40Z");
  EXPECT_EQ(raw["ran_at"], "2024-05-01T01:02:40Z");
  EXPECT_EQ(raw["alerts_total"], 1);
}

}  // namespace
}  // namespace mamori::cli
