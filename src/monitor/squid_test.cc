#include <gtest/gtest.h>

#include "monitor/parser.h"

namespace mamori::monitor {
namespace {

using Status = ParseResult::Status;

TEST(Squid, NativeAccessLogLine) {
  auto parser = MakeSquidParser();
  const PaddedLine line(
      "1714523400.123    245 10.30.1.20 TCP_MISS/200 5120 GET http://www.Example.jp:8080/a?b - "
      "HIER_DIRECT/203.0.113.5 text/html");
  Event e;
  ASSERT_EQ(parser->Parse(line.line("access.log", 2), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kProxy);
  EXPECT_EQ(e.ts_us, 1714523400123000);
  EXPECT_EQ(e.src.text, "10.30.1.20");
  EXPECT_EQ(e.dst.text, "203.0.113.5");
  EXPECT_TRUE(e.dst.is_v4);
  EXPECT_EQ(e.action, "TCP_MISS");
  EXPECT_EQ(e.http_status, 200);
  EXPECT_EQ(e.bytes_in, 5120u);
  EXPECT_EQ(e.http_method, "GET");
  EXPECT_EQ(e.http_host, "www.Example.jp");
  EXPECT_EQ(e.dport, 8080);
  EXPECT_EQ(e.outcome, Outcome::kAllowed);
}

TEST(Squid, ConnectDeniedAndNoPeer) {
  auto parser = MakeSquidParser();
  Event e;
  const PaddedLine line(
      "1714523400.000 0 10.30.1.20 TCP_DENIED/403 3900 CONNECT bad.example:443 - HIER_NONE/- "
      "text/html");
  ASSERT_EQ(parser->Parse(line.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
  EXPECT_EQ(e.http_host, "bad.example");
  EXPECT_EQ(e.dport, 443);
  EXPECT_TRUE(e.dst.text.empty());
  const PaddedLine https(
      "1714523400.000 5 10.30.1.20 TCP_TUNNEL/200 10 GET https://x.example/ - "
      "HIER_DIRECT/x.example -");
  ASSERT_EQ(parser->Parse(https.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.dport, 443);
  EXPECT_FALSE(e.dst.is_v4);
}

TEST(Squid, Malformed) {
  auto parser = MakeSquidParser();
  Event e;
  for (const char* bad :
       {"1714523400.000 0 10.30.1.20 TCP_MISS/200",
        "noon 0 10.30.1.20 TCP_MISS/200 1 GET http://a/ - HIER_NONE/- -",
        "1714523400.000 0 10.30.1.20 TCP_MISS 1 GET http://a/ - HIER_NONE/- -",
        "1714523400.000 0 10.30.1.20 TCP_MISS/200 -1 GET http://a/ - HIER_NONE/- -"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parser->Parse(PaddedLine(bad).line(), e).status, Status::kMalformed);
  }
}

}  // namespace
}  // namespace mamori::monitor
