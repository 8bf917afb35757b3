#include <gtest/gtest.h>

#include "monitor/parser.h"

namespace mamori::monitor {
namespace {

using Status = ParseResult::Status;

TEST(Eve, FlowEvent) {
  auto parser = MakeEveParser();
  const PaddedLine line(
      R"({"timestamp":"2024-05-01T09:30:00.123456+0900","flow_id":1234567890123456,)"
      R"("in_iface":"eth0","event_type":"flow","src_ip":"10.20.1.5","src_port":50000,)"
      R"("dest_ip":"10.10.1.7","dest_port":445,"proto":"TCP","app_proto":"smb",)"
      R"("flow":{"pkts_toserver":5,"pkts_toclient":4,"bytes_toserver":600,)"
      R"("bytes_toclient":900,"start":"2024-05-01T09:29:59.000000+0900","state":"closed",)"
      R"("reason":"timeout","alerted":false}})");
  Event e;
  ASSERT_EQ(parser->Parse(line.line("eve.json", 4), e).status, Status::kEvent);
  EXPECT_EQ(e.format, InputFormat::kEve);
  EXPECT_EQ(e.type, LogType::kConn);
  EXPECT_EQ(e.ts_us, 1714523400123456);  // 00:30:00.123456Z
  EXPECT_EQ(e.uid, "1234567890123456");
  EXPECT_EQ(e.src.text, "10.20.1.5");
  EXPECT_EQ(e.dport, 445);
  EXPECT_EQ(e.proto, Proto::kTcp);
  EXPECT_EQ(e.bytes_out, 600u);
  EXPECT_TRUE(e.has_ip_bytes);
  EXPECT_EQ(e.ip_bytes_out, 600u);  // bytes_toserver counts whole packets
  EXPECT_EQ(e.bytes_in, 900u);
  EXPECT_EQ(e.conn_state, "closed");
  EXPECT_EQ(e.line, 4u);
}

TEST(Eve, AlertDnsHttpTls) {
  auto parser = MakeEveParser();
  Event e;
  const PaddedLine alert(
      R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"alert","src_ip":"1.1.1.1",)"
      R"("dest_ip":"10.0.0.1","proto":"TCP","src_port":1,"dest_port":2,)"
      R"("alert":{"action":"blocked","gid":1,"signature_id":2,"signature":"ET SCAN x"}})");
  ASSERT_EQ(parser->Parse(alert.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kAlert);
  EXPECT_EQ(e.outcome, Outcome::kBlocked);
  EXPECT_EQ(e.signature, "ET SCAN x");
  const PaddedLine dns_v2(
      R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"dns","src_ip":"10.0.0.1",)"
      R"("dest_ip":"10.0.0.53","proto":"UDP","dns":{"type":"query","rrname":"bad.example"}})");
  ASSERT_EQ(parser->Parse(dns_v2.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kDns);
  EXPECT_EQ(e.dns_query, "bad.example");
  const PaddedLine dns_v3(
      R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"dns","src_ip":"10.0.0.1",)"
      R"("dest_ip":"10.0.0.53","dns":{"version":3,"queries":[{"rrname":"q.example","rrtype":"A"}]}})");
  ASSERT_EQ(parser->Parse(dns_v3.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.dns_query, "q.example");
  const PaddedLine http(
      R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"http","src_ip":"10.0.0.1",)"
      R"("dest_ip":"203.0.113.1","http":{"hostname":"h.example","url":"/a\/b",)"
      R"("http_method":"POST","status":404,"http_user_agent":"x"}})");
  ASSERT_EQ(parser->Parse(http.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.http_host, "h.example");
  EXPECT_EQ(e.http_url, "/a/b");
  EXPECT_EQ(e.http_status, 404);
  const PaddedLine tls(
      R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"tls","src_ip":"10.0.0.1",)"
      R"("dest_ip":"203.0.113.1","tls":{"sni":"s.example","version":"TLS 1.3"}})");
  ASSERT_EQ(parser->Parse(tls.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.tls_sni, "s.example");
}

TEST(Eve, OtherTypesIgnoredAndBadLinesMalformed) {
  auto parser = MakeEveParser();
  Event e;
  EXPECT_EQ(
      parser
          ->Parse(
              PaddedLine(R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"stats","stats":{}})")
                  .line(),
              e)
          .status,
      Status::kIgnored);
  for (
      const char* bad :
      {R"({"timestamp":"2024-05-01T00:00:00Z","src_ip":"1.1.1.1","dest_ip":"2.2.2.2"})",
       R"({"event_type":"flow","src_ip":"1.1.1.1","dest_ip":"2.2.2.2"})",
       R"({"timestamp":"May 1","event_type":"flow","src_ip":"1.1.1.1","dest_ip":"2.2.2.2"})",
       R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"flow","src_ip":"1.1.1.1"})",
       R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"flow","src_ip":"1.1.1.1","dest_ip":"2.2.2.2","dest_port":99999})",
       R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"flow","flow":[1]})",
       R"({"timestamp":"2024-05-01T00:00:00Z","event_type":"flow","src_ip":"1.1.1.1","dest_ip":"2.2.2.2","flow":{"bytes_toserver":-1}})",
       "{\"timestamp\":\"2024-05-01T00:00:00Z\",\"event_type\":\"flo", "null"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parser->Parse(PaddedLine(bad).line(), e).status, Status::kMalformed);
  }
}

}  // namespace
}  // namespace mamori::monitor
