#include <gtest/gtest.h>

#include "monitor/parser.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

using Status = ParseResult::Status;

const SyslogClock kJst{2024, 540};

TEST(Netfilter, Rfc3164LineWithPrefixAndUptime) {
  auto parser = MakeNetfilterParser(kJst);
  const PaddedLine line(
      "May  1 09:30:00 fw-core kernel: [ 1234.567890] FW-DROP IN=lg0 OUT=mn0 "
      "MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=10.20.1.5 DST=10.10.1.7 LEN=60 TOS=0x00 "
      "PREC=0x00 TTL=63 ID=5 DF PROTO=TCP SPT=50000 DPT=445 WINDOW=64240 RES=0x00 SYN URGP=0");
  Event e;
  ASSERT_EQ(parser->Parse(line.line("messages", 7), e).status, Status::kEvent);
  EXPECT_EQ(e.format, InputFormat::kNetfilter);
  EXPECT_EQ(e.type, LogType::kFirewall);
  EXPECT_EQ(e.ts_us, *ParseIsoTime("2024-05-01T00:30:00Z"));
  EXPECT_EQ(e.action, "FW-DROP");
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
  EXPECT_EQ(e.src.text, "10.20.1.5");
  EXPECT_EQ(e.dst.text, "10.10.1.7");
  EXPECT_EQ(e.proto, Proto::kTcp);
  EXPECT_EQ(e.sport, 50000);
  EXPECT_EQ(e.dport, 445);
  EXPECT_EQ(e.bytes_out, 60u);
}

TEST(Netfilter, Rfc5424AndRfc3339Prefixes) {
  auto parser = MakeNetfilterParser(kJst);
  Event e;
  const PaddedLine rfc5424(
      "<4>1 2024-05-01T09:30:00.5+09:00 fw kernel - - - [UFW ALLOW] IN=eth0 OUT=eth1 "
      "SRC=10.30.0.10 DST=203.0.113.5 LEN=52 PROTO=UDP SPT=5353 DPT=53 LEN=32");
  ASSERT_EQ(parser->Parse(rfc5424.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.ts_us, *ParseIsoTime("2024-05-01T00:30:00.5Z"));
  EXPECT_EQ(e.action, "[UFW ALLOW]");
  EXPECT_EQ(e.outcome, Outcome::kAllowed);
  EXPECT_EQ(e.proto, Proto::kUdp);
  EXPECT_EQ(e.bytes_out, 52u);  // the IP length, not the UDP one
  // RFC 5424 with structured data and a UTF-8 byte order mark before the message.
  const PaddedLine bom(
      "<4>1 2024-05-01T09:30:00Z fw kernel 12 - [meta x=\"]\"] \xEF\xBB\xBF"
      "DROP IN=eth0 OUT= "
      "SRC=10.30.0.10 DST=203.0.113.5 LEN=52 PROTO=TCP SPT=1 DPT=22");
  ASSERT_EQ(parser->Parse(bom.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.action, "DROP");
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
  const PaddedLine rsyslog(
      "2024-05-01T09:30:00.000000+09:00 fw kernel: IN=eth0 OUT=eth1 SRC=10.0.0.1 DST=10.0.0.2 "
      "LEN=84 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1");
  ASSERT_EQ(parser->Parse(rsyslog.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.action, "");
  EXPECT_EQ(e.outcome, Outcome::kUnknown);
  EXPECT_EQ(e.proto, Proto::kIcmp);
  EXPECT_FALSE(e.has_ports);
  // A prefix without a trailing space runs into IN=.
  const PaddedLine glued(
      "May 10 09:30:00 fw kernel: REJECTIN=eth0 OUT=eth1 SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP "
      "SPT=1 DPT=2");
  ASSERT_EQ(parser->Parse(glued.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.action, "REJECT");
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
}

TEST(Netfilter, OtherSyslogLinesIgnoredBrokenLogLinesMalformed) {
  auto parser = MakeNetfilterParser(kJst);
  Event e;
  EXPECT_EQ(
      parser->Parse(PaddedLine("May  1 09:30:00 fw sshd[1]: Accepted publickey").line(), e).status,
      Status::kIgnored);
  for (const char* bad : {
           "Foo  1 09:30:00 fw kernel: IN=eth0 OUT=eth1 SRC=1.1.1.1 DST=2.2.2.2 PROTO=TCP",
           "May  1 09:30:00 fw kernel: IN=eth0 OUT=eth1 DST=2.2.2.2 PROTO=TCP",
           "May  1 09:30:00 fw kernel: IN=eth0 OUT=eth1 SRC=1.1.1.1 DST=2.2.2.2 PROTO=TCP SPT=x",
           "May 41 09:30:00 fw kernel: IN=eth0 OUT=eth1 SRC=1.1.1.1 DST=2.2.2.2 PROTO=TCP",
       }) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parser->Parse(PaddedLine(bad).line(), e).status, Status::kMalformed);
  }
}

}  // namespace
}  // namespace mamori::monitor
