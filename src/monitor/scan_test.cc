#include "monitor/scan.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "monitor/text_util.h"
#include "monitor/windowed_test_support.h"

namespace mamori::monitor {
namespace {

using testing::MetricValue;
using testing::ThreeZoneTopology;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kT0 = int64_t{1714525200} * kSecond;

struct Seen {
  Severity severity;
  std::string src, dst, to_zone;
  uint64_t weight;
  std::vector<Metric> metrics;
  double Value(const char* name) const { return MetricValue(metrics, name); }
};

struct Recorder final : AlertSink {
  void Report(const Finding& f) override {
    EXPECT_EQ(f.kind, AlertKind::kScan);
    if (f.weight == 0) {
      ++evidence;
      return;
    }
    seen.push_back({f.severity, std::string(f.src), std::string(f.dst), std::string(f.to_zone.name),
                    f.weight, std::vector<Metric>(f.metrics.begin(), f.metrics.end())});
  }
  std::vector<Seen> seen;
  int evidence = 0;
};

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override { topology_ = ThreeZoneTopology(); }
  void Make(ScanOptions options = {}) { detector_ = MakeScanDetector(topology_, options); }

  // A Zeek conn record (state "S0", "REJ", "SF"…) or, with state "", a netfilter DROP line.
  void Send(int64_t ts, const std::string& src, const std::string& dst, uint16_t dport,
            const char* state = "S0", Proto proto = Proto::kTcp) {
    texts_.push_back(src);
    texts_.push_back(dst);
    Event e;
    e.ts_us = ts;
    SetAddress(e.src, texts_[texts_.size() - 2]);
    SetAddress(e.dst, texts_.back());
    e.proto = proto;
    e.has_ports = true;
    e.sport = 40000;
    e.dport = dport;
    e.file = "conn.log";
    e.line = ++line_;
    if (std::string(state).empty()) {
      e.format = InputFormat::kNetfilter;
      e.type = LogType::kFirewall;
      e.outcome = Outcome::kBlocked;
    } else {
      e.type = LogType::kConn;
      e.conn_state = state;
    }
    detector_->Advance(ts, sink_);
    detector_->OnEvent(e, sink_);
  }
  static std::string Host(int i) {
    return "10.20." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  }

  netsep::Topology topology_;
  std::unique_ptr<Detector> detector_;
  Recorder sink_;
  std::deque<std::string> texts_;
  uint64_t line_ = 0;
};

TEST_F(ScanTest, RemoteSourceAtTwentyFiveUniqueAttempts) {
  Make();
  for (int i = 0; i < 24; ++i) Send(kT0 + i * kSecond, "198.51.100.7", Host(i % 6), 20 + i);
  for (int i = 0; i < 10; ++i) Send(kT0 + 30 * kSecond, "198.51.100.7", Host(0), 20);  // repeats
  EXPECT_TRUE(sink_.seen.empty());
  Send(kT0 + 40 * kSecond, "198.51.100.7", Host(7), 80);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const Seen& s = sink_.seen[0];
  EXPECT_EQ(s.weight, 25u);
  EXPECT_EQ(s.severity, Severity::kMedium);
  EXPECT_EQ(s.dst, "");  // many hosts
  EXPECT_EQ(s.to_zone, "lgwan");
  EXPECT_EQ(s.Value("attempts"), 25);
  EXPECT_EQ(s.Value("hosts"), 7);
  EXPECT_EQ(s.Value("ports"), 25);
  EXPECT_EQ(s.Value("threshold"), 25);
  EXPECT_EQ(s.Value("internal_source"), 0);
  EXPECT_EQ(s.Value("seconds"), 40);
  EXPECT_EQ(sink_.evidence, 4);  // kEvidenceKept - 1 before the finding
  // The state was reset: 24 more attempts are not a second scan.
  for (int i = 0; i < 24; ++i) Send(kT0 + 50 * kSecond, "198.51.100.7", Host(8), 1000 + i);
  EXPECT_EQ(sink_.seen.size(), 1u);
  Send(kT0 + 51 * kSecond, "198.51.100.7", Host(8), 2000);
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[1].dst, "10.20.0.9");  // one host: a port scan
}

TEST_F(ScanTest, OnlyFailedTcpAttemptsCount) {
  Make();
  for (int i = 0; i < 40; ++i) Send(kT0, "198.51.100.7", Host(1), 100 + i, "SF");
  for (int i = 0; i < 40; ++i) Send(kT0, "198.51.100.7", Host(1), 100 + i, "S0", Proto::kUdp);
  for (int i = 0; i < 40; ++i) Send(kT0, "198.51.100.7", Host(1), 100 + i, "SH");
  EXPECT_TRUE(sink_.seen.empty());
  for (int i = 0; i < 25; ++i) Send(kT0, "198.51.100.7", Host(1), 100 + i, "REJ");
  EXPECT_EQ(sink_.seen.size(), 1u);
}

TEST_F(ScanTest, LocalSourceNeedsTwoHundredFifty) {
  Make();
  for (int i = 0; i < 249; ++i) Send(kT0, "10.20.5.5", Host(i), 445);
  EXPECT_TRUE(sink_.seen.empty());  // internal: no knock rule either
  Send(kT0, "10.20.5.5", Host(249), 445);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].severity, Severity::kHigh);
  EXPECT_EQ(sink_.seen[0].Value("threshold"), 250);
  EXPECT_EQ(sink_.seen[0].Value("internal_source"), 1);
}

TEST_F(ScanTest, KnockOnOnePortFromRemoteAtTwenty) {
  Make();
  for (int i = 0; i < 19; ++i) Send(kT0, "203.0.113.9", Host(i), 3389);
  EXPECT_TRUE(sink_.seen.empty());
  Send(kT0, "203.0.113.9", Host(19), 3389);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].Value("port_hosts"), 20);
  EXPECT_EQ(sink_.seen[0].Value("threshold"), 20);
  EXPECT_EQ(sink_.seen[0].Value("ports"), 1);
}

TEST_F(ScanTest, AttemptsExpireFifteenMinutesAfterTheLast) {
  Make();
  for (int i = 0; i < 24; ++i) Send(kT0 + i * 60 * kSecond, "198.51.100.7", Host(1), 1 + i);
  // 14 min 59 s after the last: still counted.
  Send(kT0 + (23 * 60 + 899) * kSecond, "198.51.100.7", Host(1), 100);
  EXPECT_EQ(sink_.seen.size(), 1u);
  for (int i = 0; i < 24; ++i) Send(kT0 + 3600 * kSecond, "198.51.100.8", Host(1), 1 + i);
  // Exactly 15 min after the last: expired, the count starts again.
  Send(kT0 + 4500 * kSecond, "198.51.100.8", Host(1), 100);
  EXPECT_EQ(sink_.seen.size(), 1u);
}

TEST_F(ScanTest, EighteenDropsWithinFortyFiveSeconds) {
  Make();
  // 18 drops over 46 s: never 18 within 45 s.
  for (int i = 0; i < 17; ++i) Send(kT0 + i * kSecond, "198.51.100.20", "10.20.0.1", 23, "");
  Send(kT0 + 46 * kSecond, "198.51.100.20", "10.20.0.1", 23, "");
  EXPECT_TRUE(sink_.seen.empty());
  // From t = 46 s: 17 more, the 18th exactly 45 s after the first of them.
  for (int i = 1; i < 17; ++i) Send(kT0 + (46 + i) * kSecond, "198.51.100.20", "10.20.0.1", 23, "");
  EXPECT_TRUE(sink_.seen.empty());
  Send(kT0 + 91 * kSecond, "198.51.100.20", "10.20.0.1", 23, "");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].Value("drops"), 18);
  EXPECT_EQ(sink_.seen[0].Value("seconds"), 45);
  EXPECT_EQ(sink_.seen[0].dst, "10.20.0.1");
  EXPECT_EQ(sink_.seen[0].weight, 18u);
}

TEST_F(ScanTest, MyNumberIsCritical) {
  Make();
  for (int i = 0; i < 25; ++i) Send(kT0, "198.51.100.7", "10.10.1." + std::to_string(i + 1), 22);
  ASSERT_EQ(sink_.seen.size(), 1u);  // the knock rule: 20 hosts on port 22
  EXPECT_EQ(sink_.seen[0].severity, Severity::kCritical);
  EXPECT_EQ(sink_.seen[0].to_zone, "mynumber");
}

TEST_F(ScanTest, SourcesBeyondTheCapAreCounted) {
  ScanOptions options;
  options.max_sources = 1;
  Make(options);
  Send(kT0, "198.51.100.7", Host(1), 1);
  Send(kT0, "198.51.100.8", Host(1), 1);
  Send(kT0, "198.51.100.8", Host(1), 2);
  std::map<std::string, uint64_t> dropped;
  detector_->CountDropped(dropped);
  EXPECT_EQ(dropped["scan: events of sources not tracked"], 2u);
  // Once the first source expires, the sweep frees its place.
  Send(kT0 + 3600 * kSecond, "198.51.100.8", Host(1), 3);
  dropped.clear();
  detector_->CountDropped(dropped);
  EXPECT_EQ(dropped["scan: events of sources not tracked"], 2u);
}

}  // namespace
}  // namespace mamori::monitor
