#include "monitor/separation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
networks = ["0.0.0.0/0"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { a = "mynumber", b = "lgwan", c = "inet", d = "internet" }
[[allow]]
from = "mynumber"
to = "lgwan"
proto = "tcp"
src = ["10.10.1.0/24"]
dst = ["10.20.0.5"]
dst_ports = [443, "8000-8010"]
reason = "連携"
[[allow]]
from = "inet"
to = "internet"
reason = "何でも"
)";

struct Recorder final : AlertSink {
  void Report(const Finding& f) override {
    findings.push_back(
        {f.kind, f.severity, std::string(f.from_zone.name), std::string(f.to_zone.name), f.dport});
  }
  struct Seen {
    AlertKind kind;
    Severity severity;
    std::string from, to;
    std::optional<uint16_t> dport;
  };
  std::vector<Seen> findings;
};

class SeparationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = netsep::ParseTopology(kTopology, "topology.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message_en;
    topology_ = std::move(parsed).value();
    detector_ = MakeSeparationDetector(topology_);
  }
  // Runs one flow; returns the findings it produced.
  std::vector<Recorder::Seen> Flow(const char* src, const char* dst, Proto proto, uint16_t dport,
                                   LogType type = LogType::kConn,
                                   Outcome outcome = Outcome::kEstablished) {
    Event e;
    e.type = type;
    SetAddress(e.src, src);
    SetAddress(e.dst, dst);
    e.proto = proto;
    e.has_ports = true;
    e.sport = 50000;
    e.dport = dport;
    e.outcome = outcome;
    Recorder recorder;
    detector_->OnEvent(e, recorder);
    return recorder.findings;
  }
  netsep::Topology topology_;
  std::unique_ptr<Detector> detector_;
};

TEST_F(SeparationTest, PermittedFlowsRaiseNothing) {
  EXPECT_TRUE(Flow("10.10.1.9", "10.20.0.5", Proto::kTcp, 443).empty());
  EXPECT_TRUE(Flow("10.10.1.9", "10.20.0.5", Proto::kTcp, 8005).empty());
  EXPECT_TRUE(Flow("10.30.0.1", "203.0.113.9", Proto::kUdp, 9999).empty());  // proto any
  EXPECT_TRUE(Flow("10.10.1.9", "10.10.2.9", Proto::kTcp, 445).empty());     // inside a zone
}

TEST_F(SeparationTest, EachPartOfTheAllowEntryIsChecked) {
  for (auto [src, dst, proto, port] :
       {std::tuple{"10.10.2.9", "10.20.0.5", Proto::kTcp, 443},     // src outside allow.src
        std::tuple{"10.10.1.9", "10.20.0.6", Proto::kTcp, 443},     // dst outside allow.dst
        std::tuple{"10.10.1.9", "10.20.0.5", Proto::kUdp, 443},     // proto
        std::tuple{"10.10.1.9", "10.20.0.5", Proto::kTcp, 8011},    // port outside range
        std::tuple{"10.20.0.5", "10.10.1.9", Proto::kTcp, 443}}) {  // the reverse direction
    SCOPED_TRACE(std::string(src) + " -> " + dst);
    const auto found = Flow(src, dst, proto, port);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].kind, AlertKind::kSeparation);
    EXPECT_EQ(found[0].severity, Severity::kCritical);  // touches mynumber
  }
}

TEST_F(SeparationTest, SeverityAndZones) {
  auto found = Flow("10.20.3.4", "10.30.0.25", Proto::kTcp, 25);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kHigh);
  EXPECT_EQ(found[0].from, "lgwan");
  EXPECT_EQ(found[0].to, "inet");
  EXPECT_EQ(found[0].dport, 25);
  found = Flow("10.20.3.4", "8.8.8.8", Proto::kIcmp, 0);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].to, "internet");
  EXPECT_EQ(found[0].dport, std::nullopt);  // no port for icmp
}

TEST_F(SeparationTest, BlockedFlowsAndApplicationRecordsAreNotCrossings) {
  EXPECT_TRUE(
      Flow("10.20.3.4", "10.10.1.1", Proto::kTcp, 445, LogType::kFirewall, Outcome::kBlocked)
          .empty());
  EXPECT_EQ(Flow("10.20.3.4", "10.10.1.1", Proto::kTcp, 445, LogType::kFirewall, Outcome::kAllowed)
                .size(),
            1u);
  EXPECT_TRUE(Flow("10.20.3.4", "10.10.1.1", Proto::kUdp, 53, LogType::kDns).empty());
  EXPECT_TRUE(Flow("10.20.3.4", "10.10.1.1", Proto::kTcp, 80, LogType::kProxy).empty());
  EXPECT_TRUE(Flow("10.20.3.4", "2001:db8::1", Proto::kTcp, 80).empty());
}

}  // namespace
}  // namespace mamori::monitor
