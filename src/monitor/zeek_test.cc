#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "monitor/parser.h"
#include "monitor/zeek_fields.h"

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

}  // namespace
}  // namespace mamori::monitor
