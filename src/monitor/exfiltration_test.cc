#include "monitor/exfiltration.h"

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
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kT0 = int64_t{1714525200} * kSecond;  // a whole hour
constexpr uint64_t kMiB = uint64_t{1} << 20;

struct Seen {
  Severity severity;
  int64_t ts;
  std::string src, dst;
  uint64_t weight;
  std::vector<Metric> metrics;
  double Value(const char* name) const { return MetricValue(metrics, name); }
};

struct Recorder final : AlertSink {
  void Report(const Finding& f) override {
    EXPECT_EQ(f.kind, AlertKind::kExfiltration);
    if (f.weight == 0) {
      ++evidence;
      return;
    }
    seen.push_back({f.severity, f.ts_us, std::string(f.src), std::string(f.dst), f.weight,
                    std::vector<Metric>(f.metrics.begin(), f.metrics.end())});
  }
  std::vector<Seen> seen;
  int evidence = 0;
};

class ExfiltrationTest : public ::testing::Test {
 protected:
  void SetUp() override { topology_ = ThreeZoneTopology(); }
  void Make(ExfiltrationOptions options = {}) {
    detector_ = MakeExfiltrationDetector(topology_, options);
  }
  void Send(int64_t ts, const std::string& src, const std::string& dst, uint64_t bytes) {
    texts_.push_back(src);
    texts_.push_back(dst);
    Event e;
    e.type = LogType::kConn;
    e.ts_us = ts;
    SetAddress(e.src, texts_[texts_.size() - 2]);
    SetAddress(e.dst, texts_.back());
    e.proto = Proto::kTcp;
    e.has_ports = true;
    e.dport = 443;
    e.has_bytes = true;
    e.bytes_out = bytes;
    e.outcome = Outcome::kEstablished;
    e.file = "conn.log";
    e.line = ++line_;
    detector_->Advance(ts, sink_);
    detector_->OnEvent(e, sink_);
  }

  netsep::Topology topology_;
  std::unique_ptr<Detector> detector_;
  Recorder sink_;
  std::deque<std::string> texts_;
  uint64_t line_ = 0;
};

TEST_F(ExfiltrationTest, AbsoluteLimitPerHourIsReachedNotJustApproached) {
  ExfiltrationOptions options;
  options.limit_bytes = 1000 * kMiB;
  Make(options);
  Send(kT0 + 10 * kSecond, "10.20.1.5", "198.51.100.1", 600 * kMiB);
  Send(kT0 + 20 * kSecond, "10.20.1.5", "198.51.100.2", 400 * kMiB - 1);  // 1 byte short
  Send(kT0 + 30 * kSecond, "10.20.1.6", "198.51.100.1", 700 * kMiB);
  Send(kT0 + 40 * kSecond, "10.20.1.6", "198.51.100.2", 300 * kMiB);   // exactly the limit
  Send(kT0 + 50 * kSecond, "10.20.1.6", "10.10.0.9", 5000 * kMiB);     // internal: not out
  Send(kT0 + 60 * kSecond, "198.51.100.3", "10.20.1.6", 5000 * kMiB);  // inbound
  EXPECT_TRUE(sink_.seen.empty());                                     // judged when the hour ends
  Send(kT0 + kHour - 1, "10.20.1.7", "198.51.100.1", 1);
  EXPECT_TRUE(sink_.seen.empty());
  Send(kT0 + kHour, "10.20.1.7", "198.51.100.1", 1);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const Seen& s = sink_.seen[0];
  EXPECT_EQ(s.src, "10.20.1.6");
  EXPECT_EQ(s.dst, "198.51.100.1");  // the destination that got the most
  EXPECT_EQ(s.ts, kT0);
  EXPECT_EQ(s.weight, 2u);
  EXPECT_EQ(s.severity, Severity::kHigh);
  EXPECT_EQ(s.Value("bytes"), 1000.0 * kMiB);
  EXPECT_EQ(s.Value("dst_bytes"), 700.0 * kMiB);
  EXPECT_EQ(s.Value("baseline_windows"), 0);
  EXPECT_EQ(sink_.evidence, 1);  // two records: the larger is evidence, the other the finding
}

TEST_F(ExfiltrationTest, BaselineNeedsHistory) {
  ExfiltrationOptions options;
  options.limit_bytes = 0;
  options.min_history = 3;
  options.history_windows = 4;
  options.min_bytes = 50 * kMiB;
  Make(options);
  // Hours 0 and 1: 10 MiB each; hour 2: 200 MiB with only two windows known.
  Send(kT0, "10.20.1.5", "198.51.100.1", 10 * kMiB);
  Send(kT0 + kHour, "10.20.1.5", "198.51.100.1", 10 * kMiB);
  Send(kT0 + 2 * kHour, "10.20.1.5", "198.51.100.1", 200 * kMiB);
  Send(kT0 + 3 * kHour, "10.20.1.5", "198.51.100.1", 12 * kMiB);
  EXPECT_TRUE(sink_.seen.empty());
  // History now 10, 10, 200, 12 (four windows): mean 58 MiB, σ ≈ 82 MiB → 304 MiB.
  Send(kT0 + 4 * kHour, "10.20.1.5", "198.51.100.1", 300 * kMiB);
  Send(kT0 + 5 * kHour, "10.20.1.5", "198.51.100.1", 1);
  EXPECT_TRUE(sink_.seen.empty());  // 300 MiB is below mean + 3σ
  // History 10, 200, 12, 300 → then 1 byte, then a quiet hour (0) and 2 GiB.
  Send(kT0 + 7 * kHour, "10.20.1.5", "198.51.100.1", 2048 * kMiB);
  detector_->Finish(sink_);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const Seen& s = sink_.seen[0];
  EXPECT_EQ(s.severity, Severity::kMedium);
  EXPECT_EQ(s.ts, kT0 + 7 * kHour);
  EXPECT_EQ(s.Value("baseline_windows"), 4);
  // The last four windows: 300 MiB, 1 byte, 0 (hour 6), and … hour 3's 12 MiB.
  const double mean = (12.0 * kMiB + 300.0 * kMiB + 1 + 0) / 4;
  EXPECT_NEAR(s.Value("baseline_mean"), mean, 1);
}

TEST_F(ExfiltrationTest, SmallHostsAreNotReportedForSmallRises) {
  ExfiltrationOptions options;
  options.min_history = 2;
  Make(options);
  Send(kT0, "10.20.1.5", "198.51.100.1", 1000);
  Send(kT0 + kHour, "10.20.1.5", "198.51.100.1", 1000);
  Send(kT0 + 2 * kHour, "10.20.1.5", "198.51.100.1", 50 * kMiB);  // far above, below min_bytes
  detector_->Finish(sink_);
  EXPECT_TRUE(sink_.seen.empty());
}

TEST_F(ExfiltrationTest, MyNumberHostIsCriticalAndFinishJudgesTheOpenWindow) {
  ExfiltrationOptions options;
  options.limit_bytes = 100;
  Make(options);
  Send(kT0, "10.10.3.3", "198.51.100.1", 100);
  EXPECT_TRUE(sink_.seen.empty());
  detector_->Finish(sink_);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].severity, Severity::kCritical);
}

TEST_F(ExfiltrationTest, HostsBeyondTheCapAreCounted) {
  ExfiltrationOptions options;
  options.max_hosts = 1;
  Make(options);
  Send(kT0, "10.20.1.5", "198.51.100.1", 10);
  Send(kT0, "10.20.1.6", "198.51.100.1", 10);
  std::map<std::string, uint64_t> dropped;
  detector_->CountDropped(dropped);
  EXPECT_EQ(dropped["exfiltration: records of hosts not tracked"], 1u);
}

}  // namespace
}  // namespace mamori::monitor
