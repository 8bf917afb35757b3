#include "monitor/beacon.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "monitor/pair_index.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

constexpr const char* kTopology = R"(
[zones.mynumber]
description = "マイナンバー利用事務系"
networks = ["10.10.0.0/16"]
[zones.lgwan]
networks = ["10.20.0.0/16"]
[zones.inet]
networks = ["10.30.0.0/16"]
[zones.internet]
description = "インターネット"
networks = ["0.0.0.0/0"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { a = "mynumber", b = "lgwan", c = "inet", d = "internet" }
)";

constexpr int64_t kT0 = 1714521600;  // 2024-05-01T00:00:00Z
constexpr int64_t kDay = 86400;

struct Recorder final : AlertSink {
  struct Seen {
    Severity severity;
    int64_t ts_us;
    std::string src, dst, from, to;
    std::optional<uint16_t> dport;
    uint64_t weight;
    std::map<std::string, double> metrics;
    std::string file;
    uint64_t line;
  };
  void Report(const Finding& f) override {
    EXPECT_EQ(f.kind, AlertKind::kBeacon);
    Seen s{f.severity,
           f.ts_us,
           std::string(f.src),
           std::string(f.dst),
           std::string(f.from_zone.name),
           std::string(f.to_zone.name),
           f.dport,
           f.weight,
           {},
           std::string(f.file),
           f.line};
    for (const Metric& m : f.metrics) s.metrics[m.name] = m.value;
    findings.push_back(std::move(s));
  }
  std::vector<Seen> findings;
};

class BeaconTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = netsep::ParseTopology(kTopology, "topology.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message_en;
    topology_ = std::move(parsed).value();
  }
  void Make(BeaconOptions options = {}) {
    detector_ = MakeBeaconDetector(topology_, options, &stats_);
  }
  // One connection record (Zeek conn / EVE flow) at kT0 + `t` seconds.
  void Conn(int64_t t, const char* src, const char* dst, uint64_t ip_bytes, const char* uid = "") {
    Event e;
    e.type = LogType::kConn;
    e.ts_us = (kT0 + t) * 1000000 + 250000;  // fractions of a second are dropped, as RITA does
    SetAddress(e.src, src);
    SetAddress(e.dst, dst);
    e.proto = Proto::kTcp;
    e.has_ports = true;
    e.sport = 50000;
    e.dport = 443;
    e.has_bytes = true;
    e.bytes_out = ip_bytes / 2;  // payload: not what RITA measures
    e.has_ip_bytes = true;
    e.ip_bytes_out = ip_bytes;
    e.uid = uid;
    e.file = "conn.log";
    e.line = ++line_;
    detector_->Advance(e.ts_us, recorder_);
    detector_->OnEvent(e, recorder_);
  }
  void Tls(int64_t t, const char* src, const char* dst, const char* sni, const char* uid) {
    Event e;
    e.type = LogType::kTls;
    e.ts_us = (kT0 + t) * 1000000;
    SetAddress(e.src, src);
    SetAddress(e.dst, dst);
    e.has_ports = true;
    e.dport = 443;
    e.tls_sni = sni;
    e.uid = uid;
    e.file = "ssl.log";
    e.line = ++line_;
    detector_->Advance(e.ts_us, recorder_);
    detector_->OnEvent(e, recorder_);
  }
  void Finish() { detector_->Finish(recorder_); }

  netsep::Topology topology_;
  BeaconStats stats_;
  std::unique_ptr<Detector> detector_;
  Recorder recorder_;
  uint64_t line_ = 0;
};

TEST_F(BeaconTest, ReportsAPerfectBeaconToTheInternet) {
  Make();
  for (int64_t t = 0; t < kDay; t += 60) Conn(t, "10.20.3.4", "203.0.113.9", 400);
  // Ordinary browsing by another host: a few connections in the morning, irregular times and
  // sizes. Scored (about 0.19: timing 0.544, size 0.233, 3 hourly bars) and not reported.
  const int64_t times[] = {32405, 32447, 32800, 36013, 37900, 39677};
  const uint64_t sizes[] = {1200, 56000, 800, 15000, 300, 4000};
  for (int i = 0; i < 6; ++i) Conn(times[i], "10.20.3.5", "198.51.100.7", sizes[i]);
  Conn(kDay - 1, "10.20.3.5", "198.51.100.8", 100);  // data set: 00:00:00 to 23:59:59
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 1u);
  const auto& f = recorder_.findings[0];
  EXPECT_EQ(f.src, "10.20.3.4");
  EXPECT_EQ(f.dst, "203.0.113.9");
  EXPECT_EQ(f.from, "lgwan");
  EXPECT_EQ(f.to, "internet");
  EXPECT_EQ(f.dport, 443);
  EXPECT_EQ(f.severity, Severity::kHigh);
  EXPECT_EQ(f.ts_us, kT0 * 1000000);
  EXPECT_EQ(f.weight, 1440u);
  EXPECT_EQ(f.file, "conn.log");
  EXPECT_EQ(f.line, 1u);
  EXPECT_EQ(f.metrics.at("score"), 1.0);
  EXPECT_EQ(f.metrics.at("timing"), 1.0);
  EXPECT_EQ(f.metrics.at("size"), 1.0);
  EXPECT_EQ(f.metrics.at("duration"), 1.0);
  EXPECT_EQ(f.metrics.at("histogram"), 1.0);
  EXPECT_EQ(f.metrics.at("connections"), 1440);
  EXPECT_EQ(f.metrics.at("interval"), 60);
  EXPECT_EQ(f.metrics.at("bytes"), 400);  // orig_ip_bytes, not the payload
  EXPECT_EQ(stats_.windows, 1u);
  EXPECT_EQ(stats_.beacons, 1u);
  EXPECT_GE(stats_.pairs_scored, 2u);  // the browsing pair was scored and stayed below 0.5
}

TEST_F(BeaconTest, OnlyInsideToOutsideIsAnalysed) {
  Make();
  for (int64_t t = 0; t < kDay; t += 60) {
    Conn(t, "10.20.3.4", "10.30.0.10", 400);      // lgwan → inet: both inside
    Conn(t, "203.0.113.9", "10.20.3.4", 400);     // outside → inside
    Conn(t, "198.51.100.1", "203.0.113.9", 400);  // outside → outside
  }
  Finish();
  EXPECT_TRUE(recorder_.findings.empty());
  EXPECT_EQ(stats_.connections, 0u);
}

TEST_F(BeaconTest, SeverityFollowsRitasBucketsAndTheMyNumberZone) {
  BeaconOptions options;
  options.min_score = 0.5;  // RITA's base, to see a low one
  Make(options);
  // From the My Number zone: critical whatever the score.
  for (int64_t t = 0; t < kDay; t += 300) Conn(t, "10.10.1.5", "203.0.113.9", 400);
  // Four hours of a perfect beacon (the data set, 0 to 86100 s, has bins of 3587.5 s: 4 bars):
  // timing 1, size 1, histogram 0 (CV √(24/4 − 1) > 1), duration 0 (4 < 6 bars) → 0.5:
  // reported (≥ min_score 0.5), low.
  for (int64_t t = 0; t < 4 * 3600; t += 60) Conn(t, "10.20.3.4", "203.0.113.10", 400);
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 2u);
  EXPECT_EQ(recorder_.findings[0].severity, Severity::kCritical);
  EXPECT_EQ(recorder_.findings[0].from, "mynumber");
  EXPECT_EQ(recorder_.findings[1].severity, Severity::kLow);
  EXPECT_EQ(recorder_.findings[1].metrics.at("score"), 0.5);
}

TEST_F(BeaconTest, DefaultMinimumIsRitasMedium) {
  Make();
  // The data set of the test above: its 0.5 beacon is not reported by default (0.7).
  for (int64_t t = 0; t < kDay; t += 300) Conn(t, "10.10.1.5", "203.0.113.9", 400);
  for (int64_t t = 0; t < 4 * 3600; t += 60) Conn(t, "10.20.3.4", "203.0.113.10", 400);
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 1u);
  EXPECT_EQ(recorder_.findings[0].from, "mynumber");
  EXPECT_EQ(stats_.pairs_scored, 2u);
}

TEST_F(BeaconTest, MinimumScoreIsSettable) {
  BeaconOptions options;
  options.min_score = 0.6;
  Make(options);
  for (int64_t t = 0; t < 5 * 3600; t += 60) Conn(t, "10.20.3.4", "203.0.113.10", 400);
  Conn(kDay - 1, "10.20.3.5", "198.51.100.8", 100);
  Finish();
  EXPECT_TRUE(recorder_.findings.empty());
  EXPECT_EQ(stats_.pairs_scored, 1u);
}

TEST_F(BeaconTest, EachWindowIsADataSet) {
  Make();
  // Two days of an hourly beacon: the first window is scored when the second day's first
  // connection arrives (event time passed its end), the second at Finish.
  for (int64_t t = 0; t < 2 * kDay; t += 3600) {
    Conn(t, "10.20.3.4", "203.0.113.9", 400);
    if (t == kDay) {
      EXPECT_EQ(recorder_.findings.size(), 1u);
    }
  }
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 2u);
  EXPECT_EQ(recorder_.findings[0].weight, 24u);
  EXPECT_EQ(recorder_.findings[1].ts_us, (kT0 + kDay) * 1000000);
  EXPECT_EQ(stats_.windows, 2u);
}

TEST_F(BeaconTest, AStrobeIsReportedNotScored) {
  Make();
  // One connection a second for a day: 86,400 → strobe.
  for (int64_t t = 0; t < kDay; ++t) Conn(t, "10.20.3.4", "203.0.113.9", 60);
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 1u);
  const auto& f = recorder_.findings[0];
  EXPECT_EQ(f.metrics.at("strobe"), 1);
  EXPECT_EQ(f.metrics.at("connections"), 86400);
  EXPECT_EQ(f.metrics.count("score"), 0u);
  EXPECT_EQ(f.severity, Severity::kHigh);
  EXPECT_EQ(stats_.strobes, 1u);
  EXPECT_EQ(stats_.pairs_scored, 0u);
  EXPECT_EQ(stats_.dropped_connections, 0u);
}

TEST_F(BeaconTest, ServerNamePairsTakeTheirConnectionsFromTheAddressPair) {
  Make();
  // TLS handshakes (ssl.log) come before their connection records (conn.log), as Zeek writes
  // them. Every 10 minutes to c2.example via a CDN address shared with ordinary traffic.
  int n = 0;
  for (int64_t t = 0; t < kDay; t += 600) {
    const std::string uid = "C" + std::to_string(n++);
    Tls(t, "10.20.3.4", "203.0.113.9", "c2.example", uid.c_str());
    Conn(t, "10.20.3.4", "203.0.113.9", 900, uid.c_str());
  }
  Finish();
  ASSERT_EQ(recorder_.findings.size(), 1u);
  EXPECT_EQ(recorder_.findings[0].dst, "c2.example");
  EXPECT_EQ(recorder_.findings[0].metrics.at("score"), 1.0);
  EXPECT_EQ(recorder_.findings[0].metrics.at("bytes"), 900);  // from the connection record
  EXPECT_EQ(recorder_.findings[0].file, "ssl.log");
  EXPECT_EQ(stats_.unjoined, 0u);
}

TEST_F(BeaconTest, LimitsAreCountedNotSilent) {
  BeaconOptions options;
  options.max_pairs = 1;
  options.max_connections = 100;
  Make(options);
  for (int64_t t = 0; t < kDay; t += 60) {
    Conn(t, "10.20.3.4", "203.0.113.9", 400);
    Conn(t, "10.20.3.5", "203.0.113.9", 400);
  }
  Finish();
  EXPECT_EQ(stats_.dropped_pairs, 1440u);
  EXPECT_EQ(stats_.dropped_connections, 1440u - 100u);
  const std::string text = BeaconStatsToText(stats_);
  EXPECT_NE(text.find("1440"), std::string::npos) << text;
  EXPECT_NE(text.find("1340"), std::string::npos) << text;
}

// The pair index finds each key's own index when many keys share a home slot and a tag (made so:
// the hash is a multiplication by an odd number, so a key is made for any hash), among random
// keys, across its growth, and answers nothing for absent keys sharing them too.
TEST(PairIndex, KeysSharingHomeAndTagAreKeptApart) {
  // The multiplier's inverse modulo 2^64 (Newton's iteration doubles the correct bits).
  uint64_t inverse = PairIndex::kMultiplier;
  for (int i = 0; i < 6; ++i) inverse *= 2 - PairIndex::kMultiplier * inverse;
  ASSERT_EQ(PairIndex::kMultiplier * inverse, 1u);
  std::mt19937_64 rng(5);
  // Hashes with the same top byte (tag) and bits 32–55 (home, for every table size here) and
  // different low bits; half are inserted, half stay absent.
  // The home is the last slot at every size: the probes run on past the end to slot 0.
  const uint64_t shared = (rng() & 0xFF00000000000000ull) | 0x00FFFFFF00000000ull;
  std::vector<uint64_t> crowded, absent;
  for (uint32_t low = 1; low <= 120; ++low) {
    (low % 2 == 0 ? crowded : absent).push_back((shared | low) * inverse);
  }
  for (uint64_t key : crowded) {
    ASSERT_EQ(PairIndex::Hash(key), shared | (PairIndex::Hash(key) & 0xFFFFFFFFu));
  }
  PairIndex index;
  std::map<uint64_t, uint32_t> expected;
  uint32_t next = 0;
  auto insert = [&](uint64_t key) {
    if (expected.count(key) != 0) return;
    expected[key] = next;
    index.Insert(key, next++);
  };
  for (size_t i = 0; i < 3000; ++i) {
    insert(rng());
    if (i % 50 == 0 && i / 50 < crowded.size()) insert(crowded[i / 50]);
    if (i % 500 == 0) {  // as it grows
      for (const auto& [key, value] : expected) ASSERT_EQ(index.Find(key), value) << key;
    }
  }
  for (const auto& [key, value] : expected) ASSERT_EQ(index.Find(key), value) << key;
  for (uint64_t key : absent) EXPECT_EQ(index.Find(key), std::nullopt) << key;
  index.Clear();
  EXPECT_EQ(index.Find(crowded[0]), std::nullopt);
}

TEST(BeaconAlert, TheSentenceGivesTheScoreAndWhatItMeans) {
  Alert a;
  a.kind = AlertKind::kBeacon;
  a.src = "10.20.3.4";
  a.dst = "203.0.113.9";
  a.count = 1440;
  a.metrics = {{"score", 0.8333}, {"timing", 1}, {"interval", 59.5}};
  const std::string text = DescribeAlert(a);
  EXPECT_NE(text.find("ビーコンのスコア 0.833、典型的な間隔 59.5 秒、接続 1440 回"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 に近いほど機械的な定期通信"), std::string::npos) << text;
  EXPECT_NE(text.find("§6(3)イ・§6(7)"), std::string::npos) << text;
  a.metrics = {{"strobe", 1}, {"connections", 90000}};
  a.count = 90000;
  EXPECT_NE(DescribeAlert(a).find("ストローブ"), std::string::npos);
  // The metrics are written in the JSON line.
  EXPECT_NE(AlertToJson(a).find(R"("metrics":{"strobe":1.0,"connections":90000.0})"),
            std::string::npos)
      << AlertToJson(a);
}

}  // namespace
}  // namespace mamori::monitor
