#include "monitor/monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "monitor/scan.h"
#include "monitor/separation.h"

namespace mamori::monitor {
namespace {

constexpr const char* kTopology = R"(
[zones.a]
networks = ["10.1.0.0/16"]
[zones.b]
networks = ["10.2.0.0/16"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { x = "a", y = "b" }
)";

struct Collect final : AlertOutput {
  void Write(const Alert& alert) override { alerts.push_back(alert); }
  std::vector<Alert> alerts;
};

// Hands out at most `step` bytes per read, to cross every buffer boundary.
class Trickle final : public ByteSource {
 public:
  Trickle(std::string_view text, size_t step) : text_(text), step_(step) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    StringSource part(text_.substr(0, std::min({size, step_, text_.size()})));
    auto n = part.Read(buffer, size);
    text_.remove_prefix(*n);
    return n;
  }

 private:
  std::string_view text_;
  size_t step_;
};

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = netsep::ParseTopology(kTopology, "t.toml");
    ASSERT_TRUE(parsed.ok());
    topology_ = std::move(parsed).value();
  }
  std::unique_ptr<Monitor> Make(MonitorOptions options = {}) {
    std::vector<std::unique_ptr<Detector>> detectors;
    detectors.push_back(MakeSeparationDetector(topology_));
    return std::make_unique<Monitor>(std::move(options), std::move(detectors), out_);
  }
  netsep::Topology topology_;
  Collect out_;
};

std::string ConnJson(int ts, const char* src, const char* dst) {
  return std::string(R"({"ts":)") + std::to_string(ts) + R"(,"id.orig_h":")" + src +
         R"(","id.orig_p":1,"id.resp_h":")" + dst + R"(","id.resp_p":22,"proto":"tcp",)" +
         R"("conn_state":"SF"})";
}

TEST_F(MonitorTest, CountsEventsIgnoredAndMalformedWithSamples) {
  auto monitor = Make();
  const std::string text = ConnJson(100, "10.1.0.1", "10.2.0.1") + "\r\n" +  // CRLF
                           "{broken\n" + "\n" +                              // blank: not counted
                           R"({"_path":"files","ts":1})" + "\n" +
                           ConnJson(200, "10.1.0.1", "10.1.0.2") + "\n" +
                           ConnJson(300, "10.2.0.9", "10.1.0.1");  // no final newline
  StringSource source(text);
  ASSERT_TRUE(monitor->Process(source, "conn.json").ok());
  monitor->Finish();
  const Summary& s = monitor->summary();
  EXPECT_EQ(s.lines, 5u);
  EXPECT_EQ(s.events, 3u);
  EXPECT_EQ(s.ignored, 1u);
  EXPECT_EQ(s.malformed, 1u);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].file, "conn.json");
  EXPECT_EQ(s.samples[0].line, 2u);
  EXPECT_EQ(s.samples[0].excerpt, "{broken");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].format, InputFormat::kZeekJson);
  ASSERT_EQ(out_.alerts.size(), 2u);
  EXPECT_EQ(out_.alerts[0].evidence[0], "conn.json:1");
  EXPECT_EQ(out_.alerts[1].evidence[0], "conn.json:6");
  EXPECT_EQ(s.alerts_by_kind.at("separation"), 2u);
  const std::string text_summary = SummaryToText(s, 0.5);
  EXPECT_NE(text_summary.find("conn.json:2: JSON のオブジェクトではありません"), std::string::npos)
      << text_summary;
  EXPECT_NE(text_summary.find("separation 2"), std::string::npos);
}

TEST_F(MonitorTest, LinesSplitAcrossReadsAndTooLongLines) {
  auto monitor = Make();
  std::string text;
  for (int i = 0; i < 50; ++i) text += ConnJson(i, "10.1.0.1", "10.2.0.1") + "\n";
  text += std::string(kMaxLineBytes + 10, 'x') + "\n";  // too long, but within the buffer
  text += std::string(5 * kMaxLineBytes, 'y') + "\n";   // longer than the buffer
  text += ConnJson(60, "10.1.0.1", "10.2.0.1") + "\n";
  Trickle source(text, 7919);
  ASSERT_TRUE(monitor->Process(source, "big.json").ok());
  monitor->Finish();
  const Summary& s = monitor->summary();
  EXPECT_EQ(s.events, 51u);
  EXPECT_EQ(s.malformed, 2u);
  ASSERT_EQ(s.samples.size(), 2u);
  EXPECT_EQ(s.samples[0].line, 51u);
  EXPECT_EQ(s.samples[1].line, 52u);
  EXPECT_STREQ(s.samples[1].reason.en, "line too long (limit 1 MiB)");
  ASSERT_EQ(out_.alerts.size(), 1u);
  EXPECT_EQ(out_.alerts[0].count, 51u);
  EXPECT_EQ(out_.alerts[0].evidence.size(), 10u);
  EXPECT_EQ(out_.alerts[0].evidence.back(), "big.json:10");
}

TEST_F(MonitorTest, WindowsCloseOnEventTime) {
  MonitorOptions options;
  options.window_us = int64_t{60} * 1000000;
  auto monitor = Make(options);
  const std::string text = ConnJson(0, "10.1.0.1", "10.2.0.1") + "\n" +
                           ConnJson(30, "10.1.0.1", "10.2.0.1") + "\n" +
                           ConnJson(61, "10.1.0.7", "10.2.0.1") + "\n";
  StringSource source(text);
  ASSERT_TRUE(monitor->Process(source, "c.json").ok());
  ASSERT_EQ(out_.alerts.size(), 1u);  // closed by the event at 61 s, before Finish
  EXPECT_EQ(out_.alerts[0].count, 2u);
  monitor->Finish();
  EXPECT_EQ(out_.alerts.size(), 2u);
}

TEST_F(MonitorTest, UnknownFormatIsAnErrorNamingTheInput) {
  auto monitor = Make();
  StringSource source("hello\nworld\n");
  const Status st = monitor->Process(source, "mystery.log");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message_en.rfind("mystery.log: cannot detect", 0), 0u);
  // A forced format reads it (and reports the lines as malformed).
  MonitorOptions options;
  options.format = InputFormat::kSquid;
  auto forced = Make(options);
  StringSource again("hello\nworld\n");
  ASSERT_TRUE(forced->Process(again, "mystery.log").ok());
  EXPECT_EQ(forced->summary().malformed, 2u);
}

TEST_F(MonitorTest, InterleavedInputsKeepTheirOwnLinesNumbersAndFormats) {
  auto monitor = Make();
  const InputId json = monitor->OpenInput("a.json");
  const InputId syslog = monitor->OpenInput("fw.log");
  const std::string nf =
      "<4>1 2024-05-01T00:00:05Z fw kernel - - - FWD IN=eth0 OUT=eth1 SRC=10.1.0.5 "
      "DST=10.2.0.5 LEN=60 PROTO=TCP SPT=1 DPT=445\n";
  const std::string j1 = ConnJson(1, "10.1.0.1", "10.2.0.1") + "\n";
  const std::string j2 = ConnJson(2, "10.1.0.2", "10.2.0.2") + "\n";
  // Half a JSON line, then a whole syslog line, then the rest of the JSON line and another.
  ASSERT_TRUE(monitor->Feed(json, j1.substr(0, 20)).ok());
  ASSERT_TRUE(monitor->Settle(json).ok());  // no whole line yet: still waiting
  EXPECT_EQ(monitor->consumed(json), 0u);
  ASSERT_TRUE(monitor->Feed(syslog, nf).ok());
  ASSERT_TRUE(monitor->Settle(syslog).ok());
  EXPECT_EQ(monitor->consumed(syslog), nf.size());
  EXPECT_EQ(monitor->summary().events, 1u);
  ASSERT_TRUE(monitor->Feed(json, j1.substr(20) + j2.substr(0, 5)).ok());
  ASSERT_TRUE(monitor->Settle(json).ok());
  EXPECT_EQ(monitor->consumed(json), j1.size());  // the partial second line is not consumed
  EXPECT_EQ(monitor->line_number(json), 1u);
  ASSERT_TRUE(monitor->Feed(json, j2.substr(5)).ok());
  EXPECT_EQ(monitor->consumed(json), j1.size() + j2.size());
  ASSERT_TRUE(monitor->CloseInput(json, InputEnd::kEndOfData).ok());
  ASSERT_TRUE(monitor->CloseInput(syslog, InputEnd::kEndOfData).ok());
  monitor->Finish();
  const Summary& s = monitor->summary();
  EXPECT_EQ(s.events, 3u);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].format, InputFormat::kZeekJson);
  EXPECT_EQ(s.inputs[1].format, InputFormat::kNetfilter);
  std::vector<std::string> evidence;
  for (const Alert& a : out_.alerts) evidence.emplace_back(a.evidence[0]);
  std::sort(evidence.begin(), evidence.end());
  EXPECT_EQ(evidence, (std::vector<std::string>{"a.json:1", "a.json:2", "fw.log:1"}));
}

TEST_F(MonitorTest, FeedOneByteAtATimeMatchesProcess) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += ConnJson(i * 7, "10.1.0.1", "10.2.0.9") + "\n";
  text += "{broken\n" + ConnJson(400, "10.2.0.3", "10.1.0.3");  // no final line break
  auto whole = Make();
  StringSource source(text);
  ASSERT_TRUE(whole->Process(source, "c.json").ok());
  whole->Finish();
  const std::vector<Alert> expected = out_.alerts;
  out_.alerts.clear();

  auto fed = Make();
  const InputId id = fed->OpenInput("c.json");
  for (char c : text) ASSERT_TRUE(fed->Feed(id, std::string_view(&c, 1)).ok());
  EXPECT_EQ(fed->summary().events, 0u);  // under 64 KiB: the format waits for Settle
  ASSERT_TRUE(fed->Settle(id).ok());
  EXPECT_EQ(fed->summary().events, 40u);
  EXPECT_EQ(fed->line_number(id), 41u);  // the last line has no line break yet
  ASSERT_TRUE(fed->CloseInput(id, InputEnd::kEndOfData).ok());
  EXPECT_EQ(fed->consumed(id), text.size());
  fed->Finish();
  EXPECT_EQ(fed->summary().events, whole->summary().events);
  EXPECT_EQ(fed->summary().malformed, 1u);
  ASSERT_EQ(out_.alerts.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(AlertToJson(out_.alerts[i]), AlertToJson(expected[i]));
  }
}

TEST_F(MonitorTest, StoppedInputLeavesItsPartialLineAndResumedNumbering) {
  auto monitor = Make();
  const std::string l1 = ConnJson(1, "10.1.0.1", "10.2.0.1") + "\n";
  const std::string l2 = ConnJson(2, "10.1.0.2", "10.2.0.2");
  const InputId id = monitor->OpenInput("c.json", InputFormat::kZeekJson, /*first_line=*/100);
  ASSERT_TRUE(monitor->Feed(id, l1 + l2).ok());
  ASSERT_TRUE(monitor->CloseInput(id, InputEnd::kStopped).ok());
  EXPECT_FALSE(monitor->is_open(id));
  EXPECT_EQ(monitor->consumed(id), l1.size());
  EXPECT_EQ(monitor->line_number(id), 101u);
  monitor->Finish();
  EXPECT_EQ(monitor->summary().events, 1u);
  ASSERT_EQ(out_.alerts.size(), 1u);
  EXPECT_EQ(out_.alerts[0].evidence[0], "c.json:101");
}

TEST_F(MonitorTest, FormatDetectionPerInputAndRefusal) {
  auto monitor = Make();
  const InputId unknown = monitor->OpenInput("mystery.log");
  const InputId eve = monitor->OpenInput("eve.json");
  ASSERT_TRUE(monitor->Feed(unknown, "hello\n").ok());
  const Status st = monitor->Settle(unknown);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message_en.rfind("mystery.log: cannot detect", 0), 0u);
  EXPECT_TRUE(monitor->Feed(unknown, "more\n").ok());  // refused once; later bytes ignored
  EXPECT_TRUE(monitor->Settle(unknown).ok());
  ASSERT_TRUE(monitor
                  ->Feed(eve, R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"flow",)"
                              R"("src_ip":"10.1.0.1","src_port":1,"dest_ip":"10.2.0.1",)"
                              R"("dest_port":80,"proto":"TCP"})"
                              "\n")
                  .ok());
  ASSERT_TRUE(monitor->Settle(eve).ok());
  EXPECT_FALSE(monitor->summary().inputs[0].format.has_value());
  EXPECT_EQ(monitor->summary().inputs[1].format, InputFormat::kEve);
  EXPECT_EQ(monitor->summary().events, 1u);
  // Blank lines alone decide nothing yet.
  const InputId blank = monitor->OpenInput("blank.log");
  ASSERT_TRUE(monitor->Feed(blank, "\n  \n").ok());
  EXPECT_TRUE(monitor->Settle(blank).ok());
  EXPECT_FALSE(monitor->summary().inputs[2].format.has_value());
}

TEST_F(MonitorTest, MessagesAreNumberedAndOverLongOnesCounted) {
  auto monitor = Make();
  const InputId id = monitor->OpenInput("syslog udp 10.0.0.1", InputFormat::kNetfilter);
  monitor->FeedMessage(id,
                       "<4>May  1 09:30:00 fw kernel: FWD IN=eth0 OUT=eth1 SRC=10.1.0.5 "
                       "DST=10.2.0.5 LEN=60 PROTO=TCP SPT=1 DPT=445\n");
  monitor->FeedMalformed(id, Reason{"長すぎます", "too long"}, "<4>May  1 xxxx");
  monitor->FeedMessage(id, "<4>May  1 09:30:01 fw sshd[1]: hello");
  monitor->Finish();
  const Summary& s = monitor->summary();
  EXPECT_EQ(s.events, 1u);
  EXPECT_EQ(s.malformed, 1u);
  EXPECT_EQ(s.ignored, 1u);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].file, "syslog udp 10.0.0.1");
  EXPECT_EQ(s.samples[0].line, 2u);
  ASSERT_EQ(out_.alerts.size(), 1u);
  EXPECT_EQ(out_.alerts[0].evidence[0], "syslog udp 10.0.0.1:1");
}

}  // namespace
}  // namespace mamori::monitor

namespace mamori::monitor {
namespace {

TEST(MonitorSummary, StateTheDetectorsDroppedIsShown) {
  auto parsed = netsep::ParseTopology(kTopology, "t.toml");
  ASSERT_TRUE(parsed.ok());
  ScanOptions scan;
  scan.max_sources = 1;
  std::vector<std::unique_ptr<Detector>> detectors;
  detectors.push_back(MakeScanDetector(*parsed, scan));
  Collect out;
  Monitor monitor({}, std::move(detectors), out);
  std::string text;
  for (int i = 0; i < 3; ++i) {  // three sources of failed attempts; one is tracked
    text += R"({"ts":100,"id.orig_h":"192.0.2.)" + std::to_string(i + 1) +
            R"(","id.orig_p":1,"id.resp_h":"10.1.0.1","id.resp_p":22,"proto":"tcp",)" +
            R"("conn_state":"S0"})" + "\n";
  }
  StringSource source(text);
  ASSERT_TRUE(monitor.Process(source, "conn.json").ok());
  monitor.Finish();
  EXPECT_EQ(monitor.summary().state_dropped.at("scan: events of sources not tracked"), 2u);
  const std::string summary = SummaryToText(monitor.summary(), 1);
  EXPECT_NE(summary.find("(events not tracked at a state cap) scan: events of sources not "
                         "tracked: 2"),
            std::string::npos)
      << summary;
}

}  // namespace
}  // namespace mamori::monitor
