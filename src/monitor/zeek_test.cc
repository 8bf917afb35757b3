#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <simdjson.h>

#include <bit>
#include <cstring>

#include "monitor/json_scan.h"
#include "monitor/parser.h"
#include "monitor/zeek_fields.h"
#include "monitor/zeek_json.h"

namespace mamori::monitor {
namespace {

using Status = ParseResult::Status;

constexpr const char* kHeader =
    "#separator \\x09\n"
    "#set_separator\t,\n"
    "#empty_field\t(empty)\n"
    "#unset_field\t-\n"
    "#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\ttunnel_parents\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "set[string]\n";

// Feeds every line of `text` to `parser`; returns the results.
std::vector<ParseResult> Feed(Parser& parser, std::string_view text) {
  std::vector<ParseResult> out;
  size_t pos = 0;
  uint64_t number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const PaddedLine padded(text.substr(pos, end - pos));
    Event event;
    out.push_back(parser.Parse(padded.line("conn.log", ++number), event));
    pos = end + 1;
  }
  return out;
}

TEST(ZeekTsv, ReadsAConnRowByTheHeader) {
  auto parser = MakeZeekTsvParser();
  const std::vector<ParseResult> results = Feed(*parser, kHeader);
  ASSERT_EQ(results.size(), 7u);
  for (const ParseResult& r : results) EXPECT_EQ(r.status, Status::kIgnored);
  const PaddedLine row(
      "1714523400.250000\tCabc\t10.20.1.5\t50000\t10.10.1.7\t445\ttcp\t-\t0.5\t120\t3000\tSF\t"
      "(empty)");
  Event e;
  ASSERT_EQ(parser->Parse(row.line("conn.log", 9), e).status, Status::kEvent);
  EXPECT_EQ(e.format, InputFormat::kZeek);
  EXPECT_EQ(e.type, LogType::kConn);
  EXPECT_EQ(e.ts_us, 1714523400250000);
  EXPECT_EQ(e.uid, "Cabc");
  EXPECT_EQ(e.src.text, "10.20.1.5");
  EXPECT_TRUE(e.src.is_v4);
  EXPECT_EQ(e.src.v4, (10u << 24) | (20u << 16) | (1u << 8) | 5u);
  EXPECT_EQ(e.sport, 50000);
  EXPECT_EQ(e.dport, 445);
  EXPECT_EQ(e.proto, Proto::kTcp);
  EXPECT_EQ(e.bytes_out, 120u);
  EXPECT_EQ(e.bytes_in, 3000u);
  EXPECT_FALSE(e.has_ip_bytes);  // no orig_ip_bytes column
  EXPECT_EQ(e.conn_state, "SF");
  EXPECT_EQ(e.outcome, Outcome::kEstablished);
  EXPECT_EQ(e.file, "conn.log");
  EXPECT_EQ(e.line, 9u);
}

TEST(ZeekTsv, FieldOrderComesFromTheHeader) {
  auto parser = MakeZeekTsvParser();
  for (const char* h : {"#separator \\x09",
                        "#fields\tid.resp_h\tid.resp_p\tts\tid.orig_h\tid.orig_p\tconn_state"}) {
    Event e;
    ASSERT_EQ(parser->Parse(PaddedLine(h).line(), e).status, Status::kIgnored);
  }
  const PaddedLine row("10.10.1.7\t22\t100.5\t10.20.1.5\t40000\tS0");
  Event e;
  ASSERT_EQ(parser->Parse(row.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.dst.text, "10.10.1.7");
  EXPECT_EQ(e.dport, 22);
  EXPECT_EQ(e.src.text, "10.20.1.5");
  EXPECT_EQ(e.ts_us, 100500000);
  EXPECT_EQ(e.type, LogType::kConn);  // no #path: conn_state says conn
  EXPECT_EQ(e.outcome, Outcome::kNoReply);
}

TEST(ZeekTsv, UnsetEmptyAndEscapedValues) {
  auto parser = MakeZeekTsvParser();
  for (const char* h : {"#separator \\x09", "#path\tdns",
                        "#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery"}) {
    Event e;
    ASSERT_EQ(parser->Parse(PaddedLine(h).line(), e).status, Status::kIgnored);
  }
  const PaddedLine row("1.0\t10.0.0.1\t53000\t10.0.0.53\t53\tudp\tev\\x09il\\x2eexample");
  Event e;
  ASSERT_EQ(parser->Parse(row.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kDns);
  EXPECT_EQ(e.dns_query, "ev\til.example");
  const PaddedLine unset("1.0\t10.0.0.1\t53000\t10.0.0.53\t53\t-\t(empty)");
  ASSERT_EQ(parser->Parse(unset.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.proto, Proto::kUnknown);
  EXPECT_TRUE(e.dns_query.empty());
}

TEST(ZeekTsv, MalformedRowsAreReportedNotGuessed) {
  auto parser = MakeZeekTsvParser();
  Event e;
  // A row before any #fields.
  ParseResult r = parser->Parse(PaddedLine("1.0\t10.0.0.1").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  EXPECT_STREQ(r.reason.en, "data line before a #fields header");
  for (const char* h : {"#separator \\x09",
                        "#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tconn_state"}) {
    ASSERT_EQ(parser->Parse(PaddedLine(h).line(), e).status, Status::kIgnored);
  }
  r = parser->Parse(PaddedLine("1.0\t10.0.0.1\t1\t10.0.0.2\t2").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  EXPECT_STREQ(r.reason.en, "number of fields differs from #fields");
  r = parser->Parse(PaddedLine("1.0\t10.0.0.1\t1\t10.0.0.2\t2\tSF\textra").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  r = parser->Parse(PaddedLine("yesterday\t10.0.0.1\t1\t10.0.0.2\t2\tSF").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  EXPECT_STREQ(r.reason.en, "ts is not a time");
  r = parser->Parse(PaddedLine("1.0\t10.0.0.1\t70000\t10.0.0.2\t2\tSF").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  r = parser->Parse(PaddedLine("-\t10.0.0.1\t1\t10.0.0.2\t2\tSF").line(), e);
  EXPECT_EQ(r.status, Status::kMalformed);
  EXPECT_STREQ(r.reason.en, "no ts");
}

TEST(ZeekTsv, OtherLogsAreIgnored) {
  auto parser = MakeZeekTsvParser();
  Event e;
  for (const char* h : {"#separator \\x09", "#path\tfiles", "#fields\tts\tfuid"}) {
    ASSERT_EQ(parser->Parse(PaddedLine(h).line(), e).status, Status::kIgnored);
  }
  EXPECT_EQ(parser->Parse(PaddedLine("1.0\tFabc").line(), e).status, Status::kIgnored);
}

TEST(ZeekJson, ReadsDottedKeysAndEpochTs) {
  auto parser = MakeZeekJsonParser();
  const PaddedLine line(
      R"({"ts":1714523400.5,"uid":"C1","id.orig_h":"10.20.1.5","id.orig_p":50000,)"
      R"("id.resp_h":"10.10.1.7","id.resp_p":445,"proto":"tcp","conn_state":"REJ",)"
      R"("orig_bytes":0,"orig_ip_bytes":40,"tunnel_parents":[],"history":"Sr"})");
  Event e;
  ASSERT_EQ(parser->Parse(line.line("conn.json", 3), e).status, Status::kEvent);
  EXPECT_TRUE(e.has_ip_bytes);
  EXPECT_EQ(e.ip_bytes_out, 40u);  // the beacon detector's data size
  EXPECT_EQ(e.format, InputFormat::kZeekJson);
  EXPECT_EQ(e.type, LogType::kConn);
  EXPECT_EQ(e.ts_us, 1714523400500000);
  EXPECT_EQ(e.uid, "C1");
  EXPECT_EQ(e.dst.text, "10.10.1.7");
  EXPECT_EQ(e.dport, 445);
  EXPECT_EQ(e.outcome, Outcome::kRejected);
  EXPECT_EQ(e.line, 3u);
}

TEST(ZeekJson, IsoTsNestedIdAndOtherLogs) {
  auto parser = MakeZeekJsonParser();
  Event e;
  const PaddedLine http(
      R"({"ts":"2024-05-01T00:30:00.000000Z","uid":"C2","id":{"orig_h":"10.30.1.2","orig_p":1,)"
      R"("resp_h":"203.0.113.9","resp_p":8080},"method":"GET","host":"Evil.example:8080",)"
      R"("uri":"/x","status_code":200,"user_agent":"curl"})");
  ASSERT_EQ(parser->Parse(http.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kHttp);
  EXPECT_EQ(e.ts_us, 1714523400000000);
  EXPECT_EQ(e.src.text, "10.30.1.2");
  EXPECT_EQ(e.dport, 8080);
  EXPECT_EQ(e.http_host, "Evil.example");
  EXPECT_EQ(e.http_status, 200);
  const PaddedLine ssl(
      R"({"_path":"ssl","ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2",)"
      R"("id.resp_p":443,"server_name":"a.example"})");
  ASSERT_EQ(parser->Parse(ssl.line(), e).status, Status::kEvent);
  EXPECT_EQ(e.type, LogType::kTls);
  EXPECT_EQ(e.tls_sni, "a.example");
  EXPECT_EQ(parser->Parse(PaddedLine(R"({"_path":"weird","ts":1.0})").line(), e).status,
            Status::kIgnored);
}

TEST(ZeekJson, MalformedJson) {
  auto parser = MakeZeekJsonParser();
  Event e;
  for (
      const char* bad :
      {"", "{", "[1,2]", "not json", R"({"ts":1.0,"id.orig_h":)",
       R"({"ts":"soon","id.orig_h":"1.1.1.1","id.resp_h":"2.2.2.2","conn_state":"SF"})",
       R"({"ts":1.0,"id.orig_h":"1.1.1.1","conn_state":"SF"})",
       R"({"ts":1.0,"id.orig_h":"1.1.1.1","id.resp_h":"2.2.2.2","conn_state":"SF"} x)",
       R"({"ts":1.0,"id.orig_h":"1.1.1.1","id.resp_h":"2.2.2.2","id.resp_p":"x","conn_state":"SF"})"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parser->Parse(PaddedLine(bad).line(), e).status, Status::kMalformed);
  }
}

TEST(ZeekJson, IntegersAreCheckedAsTheirTextWouldBe) {
  auto parser = MakeZeekJsonParser();
  Event e;
  const std::string base =
      R"({"ts":1.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF")";
  ASSERT_EQ(
      parser
          ->Parse(
              PaddedLine(base + R"(,"id.resp_p":65535,"orig_bytes":18446744073709551615})").line(),
              e)
          .status,
      Status::kEvent);
  EXPECT_EQ(e.dport, 65535);
  EXPECT_TRUE(e.has_ports);
  EXPECT_EQ(e.bytes_out, 18446744073709551615u);
  EXPECT_TRUE(e.has_bytes);
  for (const char* bad :
       {R"(,"id.resp_p":65536})", R"(,"id.orig_p":-1})", R"(,"orig_bytes":-7})", R"(,"uid":5})"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parser->Parse(PaddedLine(base + bad).line(), e).status, Status::kMalformed);
  }
}

// ts as a JSON number is read from the parsed double: every time Zeek writes (6 decimals,
// before 2038) must come out as its exact microsecond, as the decimal text would.
TEST(ZeekJson, EpochTsIsExactToTheMicrosecond) {
  auto parser = MakeZeekJsonParser();
  Event e;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t seconds = i < 3 ? (i == 0   ? 0
                                      : i == 1 ? 2147483647u
                                               : 1714521600u)
                                   : 1000000000u + rng() % 1147483647u;
    const uint64_t micros = i == 1 ? 999999 : rng() % 1000000;
    char ts[40];
    std::snprintf(ts, sizeof ts, "%llu.%06llu", static_cast<unsigned long long>(seconds),
                  static_cast<unsigned long long>(micros));
    const std::string line = std::string(R"({"ts":)") + ts +
                             R"(,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})";
    ASSERT_EQ(parser->Parse(PaddedLine(line).line(), e).status, Status::kEvent) << ts;
    ASSERT_EQ(e.ts_us, static_cast<int64_t>(seconds * 1000000 + micros)) << ts;
  }
  // Beyond 2^31 s the decimal text is used (still exact for 6 decimals up to 2^33 s).
  ASSERT_EQ(
      parser
          ->Parse(
              PaddedLine(
                  R"({"ts":4102444800.000001,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})")
                  .line(),
              e)
          .status,
      Status::kEvent);
  EXPECT_EQ(e.ts_us, int64_t{4102444800000001});
  EXPECT_EQ(
      parser
          ->Parse(
              PaddedLine(
                  R"({"ts":-1.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})")
                  .line(),
              e)
          .status,
      Status::kMalformed);
}

TEST(ZeekFields, FieldOfKnowsEveryFieldReadAndNothingElse) {
  const std::vector<std::pair<std::string, zeek::Field>> known = {
      {"ts", zeek::Field::kTs},
      {"uid", zeek::Field::kUid},
      {"id.orig_h", zeek::Field::kOrigH},
      {"id.orig_p", zeek::Field::kOrigP},
      {"id.resp_h", zeek::Field::kRespH},
      {"id.resp_p", zeek::Field::kRespP},
      {"proto", zeek::Field::kProto},
      {"orig_bytes", zeek::Field::kOrigBytes},
      {"resp_bytes", zeek::Field::kRespBytes},
      {"conn_state", zeek::Field::kConnState},
      {"query", zeek::Field::kQuery},
      {"host", zeek::Field::kHost},
      {"uri", zeek::Field::kUri},
      {"method", zeek::Field::kMethod},
      {"status_code", zeek::Field::kStatusCode},
      {"user_agent", zeek::Field::kUserAgent},
      {"server_name", zeek::Field::kServerName},
      {"orig_ip_bytes", zeek::Field::kOrigIpBytes},
  };
  for (const auto& [name, field] : known) {
    EXPECT_EQ(zeek::FieldOf(name), field) << name;
    // Near misses of every length: one byte changed, one added, one removed.
    std::string changed = name;
    changed.back() ^= 0x20;
    EXPECT_EQ(zeek::FieldOf(changed), zeek::Field::kOther) << changed;
    EXPECT_EQ(zeek::FieldOf(name + "x"), zeek::Field::kOther) << name;
    EXPECT_EQ(zeek::FieldOf(name.substr(1)), zeek::Field::kOther) << name;
  }
  for (const char* other : {"", "service", "duration", "history", "local_orig", "id.orig_x",
                            "xd.orig_h", "resp_ip_bytes", "missed_bytes"}) {
    EXPECT_EQ(zeek::FieldOf(other), zeek::Field::kOther) << other;
  }
}

TEST(ZeekJson, LineInsideALargerBufferIsReadOnlyToItsEnd) {
  // The next line's bytes follow the line, as in the reader's buffer.
  const std::string buffer =
      std::string(R"({"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})") +
      "\n" + R"({"ts":2.0,"id.orig_h":"10.0.0.3"})" + std::string(kLinePadding, 'x');
  const size_t end = buffer.find('\n');
  auto parser = MakeZeekJsonParser();
  Event e;
  ASSERT_EQ(parser->Parse(Line{std::string_view(buffer).substr(0, end), "f", 1}, e).status,
            Status::kEvent);
  EXPECT_EQ(e.dst.text, "10.0.0.2");
  // A truncated object followed by more text is still malformed.
  const size_t cut = buffer.find("\"conn_state\"");
  EXPECT_EQ(parser->Parse(Line{std::string_view(buffer).substr(0, cut), "f", 1}, e).status,
            Status::kMalformed);
}

// The fast path (json_scan.h) against the plain path (simdjson's DOM for every line) on lines
// Zeek writes, lines it should leave to simdjson, and random mutations of both: the same result,
// reason and event for every line; and whenever the scanner answers, the members simdjson's DOM
// gives are the ones it read.
std::vector<std::string> JsonSeeds() {
  return {
      R"({"ts":1730000000.0432,"uid":"CciMHBwSJA1YGMnZVX","id.orig_h":"10.20.11.151",)"
      R"("id.orig_p":34710,"id.resp_h":"10.30.0.25","id.resp_p":25,"proto":"tcp",)"
      R"("service":"smtp","duration":17.389703,"orig_bytes":3685,"resp_bytes":13828,)"
      R"("conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,)"
      R"("history":"ShADadFf","orig_pkts":35,"orig_ip_bytes":5085,"resp_pkts":14,)"
      R"("resp_ip_bytes":14388,"tunnel_parents":[]})",
      R"({"ts":1730000000,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":)"
      R"("2001:db8::1","id.resp_p":53,"proto":"udp","query":"a.example","answers":["1.2.3.4",)"
      R"("b.example"],"TTLs":[60.0,3600.0],"rejected":false})",
      R"( { "_path" : "http" , "ts" : "2024-05-01T00:30:00.000000Z" , "id" : { "orig_h" :)"
      R"( "10.30.1.2" , "orig_p" : 1 , "resp_h" : "203.0.113.9" , "resp_p" : 8080 } ,)"
      "\t\"method\":\"GET\",\r\"host\":\"Evil.example:8080\",\"uri\":\"/x?a=1\",\"status_code\":"
      R"(200,"user_agent":"curl/8.0","tags":{"a":[1,{"b":null}]}} )",
      R"({"_path":"ssl","ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2",)"
      R"("id.resp_p":443,"server_name":"a.example","id.resp_p":444})",
      R"({"ts":-0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"S0",)"
      R"("orig_bytes":18446744073709551615,"resp_bytes":-1,"id.orig_p":99999999999999999999})",
      R"({"ts":1.5e9,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"REJ",)"
      R"("uid":"C\u0041\"x","history":"caf\u00e9","duration":1E2,"id.resp_p":443.0})",
      "{\"ts\":1714523400.123456,\"uid\":\"C\xc3\xa9\",\"id.orig_h\":\"10.0.0.1\","
      "\"id.resp_h\":\"10.0.0.2\",\"conn_state\":\"SF\",\"orig_bytes\":123456789012345678}",
      R"({"ts":4102444800.000001,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","id":[1],)"
      R"("orig_bytes":1234567890123456789,"resp_bytes":-123456789012345678})",
      R"({"ts":0.0000001,"id":{"orig_h":"1.1.1.1","orig_h":{"x":1},"resp_h":"2.2.2.2"},)"
      R"("conn_state":null,"orig_bytes":null,"proto":true,"_path":"conn"})",
      R"({"ts":12.5,"id.orig_h":"1.1.1.1","id.resp_h":"2.2.2.2","query":"x","uid":5})",
      R"({})",
      // ts at the edges of the flat path's exact microseconds (at most 6 decimals, below 2^31).
      R"({"ts":2147483647.999999,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":"tcp",)"
      R"("conn_state":"S0","orig_bytes":0,"id.resp_p":445})",
      R"({"ts":2147483648.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"OTH"})",
      R"({"ts":1730000000.1234567,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","uid":"C1",)"
      R"("conn_state":"SF","orig_ip_bytes":12})",
      R"({"ts":0.000001,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","query":"a.example"})",
      R"({"ts":1730000000.5,"_path":"dns","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2",)"
      R"("query":"a.example","id.orig_p":53,"id.resp_p":53,"proto":"udp"})",
      R"({"ts":1730000000.25,"_path":"files","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"})",
      // A key longer than the flat reader's shape keeps (16 bytes), then more keys.
      R"({"ts":1730000000.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","server_name":"a",)"
      R"("client_cert_chain_fuids":[],"id.resp_p":443,"uid":"C2","cert_chain_fuids":["F1"]})",
      R"({"ts":99999999999.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1})",
      R"({"ts":"1730000000.5","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1,)"
      R"("id.orig_p":70000,"status_code":200,"method":"GET"})",
      R"({"a":{"b":{"c":{"d":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}})",
      // The flat reader's own forms: ts as an integer, short integers (SWAR), addresses (SIMD),
      // tcp/udp and conn_state compared directly, values of fields not read only checked.
      R"({"ts":1730000000,"uid":"Cwja35PggZJ5ELK4HL","id.orig_h":"10.20.1.81","id.orig_p":9643,)"
      R"("id.resp_h":"10.20.5.116","id.resp_p":443,"proto":"tcp","service":"ssl",)"
      R"("duration":1.928084,"orig_bytes":4037,"resp_bytes":32862,"conn_state":"SF",)"
      R"("local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf",)"
      R"("orig_pkts":4,"orig_ip_bytes":4197,"resp_pkts":6,"resp_ip_bytes":33102,"x":null})",
      R"({"ts":0,"id.orig_h":"0.0.0.0","id.resp_h":"255.255.255.255","id.orig_p":65535,)"
      R"("id.resp_p":65536,"orig_bytes":9999999,"resp_bytes":10000000,"orig_ip_bytes":1234567})",
      R"({"ts":9999999999,"id.orig_h":"010.1.1.1","id.resp_h":"1.2.3.256","orig_bytes":0,)"
      R"("resp_bytes":01,"proto":"UDP","conn_state":"RSTOS0"})",
      R"({"ts":10000000000,"id.orig_h":"1.2.3","id.resp_h":"1.2.3.4.","orig_bytes":7.5,)"
      R"("id.orig_p":8e1,"proto":"udp","conn_state":"RSTRH"})",
      R"({"ts":00.5,"id.orig_h":"::ffff:1.2.3.4","id.resp_h":"1..2.3","conn_state":"REJ"})",
      R"({"ts":1.,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"S1"})",
      R"({"ts":1730000000e0,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"RSTO"})",
      R"({"ts":1730000000.5E1,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"SH"})",
      R"({"ts" :1.5 ,"id.orig_h" : "1.2.3.4","id.resp_h":"1.2.3.4" ,"conn_state":"S2",)"
      R"("proto":"","orig_bytes" :5 }  )",
      R"({"ts":1.25,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"SFX",)"
      R"("proto":"icmp","a_key_of_twenty_eight_bytes_":[1,"2"],"a_key_of_twenty_seven_bytes":1,)"
      R"("a_key_of_twenty_nine_bytes_xx":{"y":false},"z":-1.5,"w":true,"orig_ip_bytes":12345678})",
      // Keys of 12 and 13 bytes (16 bytes with quotes, colon and comma, or without the comma),
      // numbers at the eight-digit boundary, fractions of up to eight digits.
      R"({"ts":1730000000.000001,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4",)"
      R"("abcdefghijkl":1.1234567,)"
      R"("abcdefghijklm":12345678.5,"resp_bytes":1234567,"orig_bytes":12345678,"x":1.12345678})",
      R"({"ts":1.25,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"OTH",)"
      R"("id.orig_p":"80","orig_bytes":"12","uid":"","proto":"6"})",
      // What may follow a number's digits besides the usual comma: a brace, a space, a fraction
      // or an exponent (one digit and more, values read and values only checked).
      R"({"ts":1730000000.5 ,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","orig_pkts":7 ,)"
      R"("resp_pkts":3e2,"missed_bytes":5.,"duration":5.25E1,"x":12e1,"y":1.5e1,"id.orig_p":8 ,)"
      R"("id.resp_p":9.0,"orig_bytes":4E0,"resp_bytes":0})",
      R"({"ts":1730000000.5e0,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","conn_state":"S0",)"
      R"("orig_bytes":12 , "resp_bytes":3}  )",
      R"({"ts":1730000000,"id.orig_h":"1.2.3.4","id.resp_h":"1.2.3.4","missed_bytes":0})",
  };
}

TEST(ZeekFields, OutcomeOfConnState) {
  const std::vector<std::pair<std::string, Outcome>> states = {
      {"S0", Outcome::kNoReply},       {"SH", Outcome::kNoReply},
      {"RSTOS0", Outcome::kNoReply},   {"REJ", Outcome::kRejected},
      {"RSTRH", Outcome::kRejected},   {"SF", Outcome::kEstablished},
      {"S1", Outcome::kEstablished},   {"S2", Outcome::kEstablished},
      {"S3", Outcome::kEstablished},   {"RSTO", Outcome::kEstablished},
      {"RSTR", Outcome::kEstablished}, {"OTH", Outcome::kUnknown},
      {"SHR", Outcome::kUnknown},      {"", Outcome::kUnknown},
      {"S", Outcome::kUnknown},        {"S4", Outcome::kUnknown},
      {"sf", Outcome::kUnknown},       {"XF", Outcome::kUnknown},
      {"REX", Outcome::kUnknown},      {"RSTX", Outcome::kUnknown},
      {"RSTRX", Outcome::kUnknown},    {"RSTOS1", Outcome::kUnknown},
      {"SFSFSF", Outcome::kUnknown},   {"RSTOS0X", Outcome::kUnknown},
  };
  for (const auto& [state, outcome] : states) {
    EXPECT_EQ(zeek::OutcomeOfConnState(state), outcome) << state;
  }
}

bool SameValue(const json::Value& a, const json::Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case json::Value::Kind::kString:
      return a.text == b.text;
    case json::Value::Kind::kInt64:
      return a.int64 == b.int64;
    case json::Value::Kind::kUint64:
      return a.uint64 == b.uint64;
    case json::Value::Kind::kDouble:
      return std::bit_cast<uint64_t>(json::DoubleOf(a)) ==
             std::bit_cast<uint64_t>(json::DoubleOf(b));
    case json::Value::Kind::kBool:
      return a.boolean == b.boolean;
    default:
      return true;
  }
}

json::Value DomValue(const simdjson::dom::element& e) {
  json::Value v;
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      v.kind = json::Value::Kind::kString;
      v.text = e.get_string().value_unsafe();
      break;
    case simdjson::dom::element_type::INT64:
      v.kind = json::Value::Kind::kInt64;
      v.int64 = e.get_int64().value_unsafe();
      break;
    case simdjson::dom::element_type::UINT64:
      v.kind = json::Value::Kind::kUint64;
      v.uint64 = e.get_uint64().value_unsafe();
      break;
    case simdjson::dom::element_type::DOUBLE:
      v.kind = json::Value::Kind::kDouble;
      v.number = e.get_double().value_unsafe();
      break;
    case simdjson::dom::element_type::BOOL:
      v.kind = json::Value::Kind::kBool;
      v.boolean = e.get_bool().value_unsafe();
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      v.kind = json::Value::Kind::kNull;
      break;
    case simdjson::dom::element_type::OBJECT:
      v.kind = json::Value::Kind::kObject;
      break;
    case simdjson::dom::element_type::ARRAY:
      v.kind = json::Value::Kind::kArray;
      break;
  }
  return v;
}

// Whether the scanner's members are what simdjson's DOM reads from `text` (nested: the members
// of each "id" object).
::testing::AssertionResult ScannerAgreesWithDom(const std::string& text,
                                                const std::vector<json::Member>& members,
                                                const std::vector<json::Member>& nested) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object object;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return ::testing::AssertionFailure() << "the scanner accepted what simdjson refuses";
  }
  size_t i = 0;
  for (const auto member : object) {
    if (i >= members.size()) return ::testing::AssertionFailure() << "fewer members";
    const json::Member& m = members[i++];
    if (m.key != member.key || !SameValue(m.value, DomValue(member.value))) {
      return ::testing::AssertionFailure() << "member " << i << " differs";
    }
    if (m.value.collected) {
      simdjson::dom::object id;
      if (member.value.get_object().get(id) != simdjson::SUCCESS) {
        return ::testing::AssertionFailure() << "not an object";
      }
      uint32_t j = m.value.begin;
      for (const auto inner : id) {
        if (j >= m.value.end || nested[j].key != inner.key ||
            !SameValue(nested[j].value, DomValue(inner.value))) {
          return ::testing::AssertionFailure() << "nested member of " << i << " differs";
        }
        ++j;
      }
      if (j != m.value.end) return ::testing::AssertionFailure() << "more nested members";
    } else if (m.key == "id" && m.value.kind == json::Value::Kind::kObject) {
      return ::testing::AssertionFailure() << "id object not collected";
    }
  }
  if (i != members.size()) return ::testing::AssertionFailure() << "more members";
  return ::testing::AssertionSuccess();
}

// The event as the Zeek JSON parser hands it to the flat reader (conn.json, line 7).
Event FlatStart() {
  Event e;
  e.format = InputFormat::kZeekJson;
  e.file = "conn.json";
  e.line = 7;
  return e;
}

// The flat reader must not take anything from the bytes after a line, which in the reader's
// buffer are the next line's: each seed cut at every length, followed by the rest of it.
TEST(ZeekJson, FlatReaderStopsAtTheLineEnd) {
  auto plain = MakeZeekJsonParser(false);
  FlatShape shape;
  size_t whole_lines_read = 0;  // the flat reader answered for a whole seed with an event
  for (const std::string& seed : JsonSeeds()) {
    const std::string buffer = seed + seed + std::string(kLinePadding, '\0');
    for (size_t length = 0; length <= seed.size(); ++length) {
      const std::string_view text(buffer.data(), length);
      const PaddedLine copy(text);
      Event expected;
      const ParseResult r = plain->Parse(copy.line("conn.json", 7), expected);
      Event flat = FlatStart();
      if (const std::optional<ParseResult> got = ReadFlatZeekJson(text, flat, shape)) {
        ASSERT_EQ(got->status, r.status) << text;
        ASSERT_STREQ(got->reason.en, r.reason.en) << text;
        if (r.status == Status::kEvent) {
          ASSERT_TRUE(flat == expected) << text;
          whole_lines_read += length == seed.size();
        }
      }
    }
  }
  // The comparison means something only if the flat reader really reads most seeds.
  EXPECT_GE(whole_lines_read, 10u);
}

// Space after a colon or a comma (json.dumps's default separators) is not what Zeek writes:
// the flat reader skips it on its general way and still answers, with the plain path's event.
TEST(ZeekJson, FlatReaderReadsSpacedLinesAsThePlainPath) {
  auto plain = MakeZeekJsonParser(false);
  const std::vector<std::string> lines = {
      R"({"ts": 1714523400.25, "uid": "C1", "id.orig_h": "10.30.1.2", "id.orig_p": 51000, )"
      R"("id.resp_h": "203.0.113.9", "id.resp_p": 443, "proto": "tcp", "duration": 1.5, )"
      R"("orig_bytes": 10, "resp_bytes": 20, "conn_state": "SF", "local_orig": true, )"
      R"("orig_ip_bytes": 60})",
      R"({"ts":  1714523400.5,"uid" :"C2","id.orig_h":  "10.30.1.2","id.orig_p": 1,)"
      R"("id.resp_h":"203.0.113.9" ,"id.resp_p":	53,"proto": "udp","query": "a.example"})",
  };
  FlatShape shape;
  size_t answers = 0;
  for (int pass = 0; pass < 2; ++pass) {  // the second with the shape the first left
    for (const std::string& text : lines) {
      const PaddedLine line(text);
      Event expected;
      const ParseResult r = plain->Parse(line.line("conn.json", 7), expected);
      ASSERT_EQ(r.status, Status::kEvent) << text;
      Event flat = FlatStart();
      if (const std::optional<ParseResult> got = ReadFlatZeekJson(line.line().text, flat, shape)) {
        ++answers;
        ASSERT_EQ(got->status, Status::kEvent) << text;
        ASSERT_TRUE(flat == expected) << text;
      }
    }
  }
  EXPECT_GE(answers, 3u);
}

TEST(ZeekJson, FastPathEqualsDomPath) {
  auto fast = MakeZeekJsonParser(true);
  auto plain = MakeZeekJsonParser(false);
  std::vector<json::Member> members, nested;
  std::mt19937_64 rng(8);
  const std::string alphabet = "{}[]\":,. \t0123456789-+eEtrufalsnxid_\x01\xc3\xa9\x80";
  const std::vector<std::string> seeds = JsonSeeds();
  size_t scanned = 0, total = 0, flat_answers = 0;
  FlatShape shape;  // carried from line to line, as the parser does
  auto check = [&](const std::string& text) {
    ++total;
    const PaddedLine line(text);
    Event a, b;
    const ParseResult ra = fast->Parse(line.line("conn.json", 7), a);
    const ParseResult rb = plain->Parse(line.line("conn.json", 7), b);
    ASSERT_EQ(ra.status, rb.status) << text;
    ASSERT_STREQ(ra.reason.en, rb.reason.en) << text;
    if (ra.status == Status::kEvent) {
      ASSERT_TRUE(a == b) << text;
    }
    if (json::ScanObject(line.line().text, "id", members, nested) == json::Scan::kValid) {
      ++scanned;
      ASSERT_TRUE(ScannerAgreesWithDom(text, members, nested)) << text;
    }
    // The flat path alone (the fast parser falls back when it is unsure): what it answers is
    // what the plain path gives.
    Event flat = FlatStart();
    if (const std::optional<ParseResult> r = ReadFlatZeekJson(line.line().text, flat, shape)) {
      ++flat_answers;
      ASSERT_EQ(r->status, rb.status) << text;
      ASSERT_STREQ(r->reason.en, rb.reason.en) << text;
      if (r->status == Status::kEvent) {
        ASSERT_TRUE(flat == b) << text;
      }
    }
  };
  for (const std::string& seed : seeds) check(seed);
  for (int round = 0; round < 200000; ++round) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const size_t at = rng() % text.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        case 2:
          text.erase(at, 1 + rng() % 4);
          break;
        default:
          text.resize(at);  // cut short
          break;
      }
    }
    check(text);
    if (HasFatalFailure()) return;
  }
  // The scanner must answer for many lines, or the test would prove little (most mutations
  // make a line invalid, and half the seeds are for simdjson).
  EXPECT_GT(scanned, total / 20);
  EXPECT_GT(flat_answers, total / 40);
}

}  // namespace
}  // namespace mamori::monitor
