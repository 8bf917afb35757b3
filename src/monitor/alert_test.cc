#include "monitor/alert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/text.h"

namespace mamori::monitor {
namespace {

constexpr int64_t kMinute = int64_t{60} * 1000000;

struct Collect final : AlertOutput {
  void Write(const Alert& alert) override { alerts.push_back(alert); }
  std::vector<Alert> alerts;
};

Finding Make(int64_t ts, const char* src, const char* dst, uint16_t dport, uint64_t line) {
  Finding f;
  f.kind = AlertKind::kSeparation;
  f.severity = Severity::kHigh;
  f.ts_us = ts;
  f.src = src;
  f.dst = dst;
  f.proto = Proto::kTcp;
  f.dport = dport;
  f.from_zone = {"lgwan", "LGWAN接続系"};
  f.to_zone = {"mynumber", ""};
  f.file = "conn.log";
  f.line = line;
  f.uid = line == 1 ? "C1" : "";
  return f;
}

TEST(Aggregator, OneAlertPerKeyAndWindowWithCountAndEvidence) {
  Collect out;
  Aggregator aggregator(60 * kMinute, 2, out);
  aggregator.Report(Make(0, "10.20.0.1", "10.10.0.1", 445, 1));
  aggregator.Report(Make(10 * kMinute, "10.20.0.1", "10.10.0.1", 3389, 2));
  aggregator.Report(Make(20 * kMinute, "10.20.0.1", "10.10.0.1", 445, 3));
  aggregator.Report(Make(20 * kMinute, "10.20.0.2", "10.10.0.1", 445, 4));
  aggregator.Advance(59 * kMinute);
  EXPECT_TRUE(out.alerts.empty());
  aggregator.Advance(60 * kMinute);  // the first window ends
  ASSERT_EQ(out.alerts.size(), 1u);
  const Alert& a = out.alerts[0];
  EXPECT_EQ(a.count, 3u);
  EXPECT_EQ(a.dports, (std::vector<uint16_t>{445, 3389}));
  EXPECT_EQ(std::vector<std::string>(a.evidence.begin(), a.evidence.end()),
            (std::vector<std::string>{"conn.log:1 C1", "conn.log:2"}));  // capped
  const std::string detail = DescribeAlert(a);
  EXPECT_NE(detail.find("区域 lgwan（LGWAN接続系）"), std::string::npos) << detail;
  EXPECT_NE(detail.find("[[allow]]"), std::string::npos);
  EXPECT_NE(detail.find("宛先ポート 445, 3389"), std::string::npos);
  // The same pair after the window: a new alert, the old one written first.
  aggregator.Report(Make(61 * kMinute, "10.20.0.1", "10.10.0.1", 445, 5));
  aggregator.Finish();
  ASSERT_EQ(out.alerts.size(), 3u);
  EXPECT_EQ(out.alerts[1].src, "10.20.0.2");
  EXPECT_EQ(out.alerts[2].count, 1u);
  EXPECT_EQ(out.alerts[2].ts_us, 61 * kMinute);
  EXPECT_EQ(aggregator.written_by_kind().at("separation"), 3u);
}

// An alert keeps the Sigma rules of its findings distinct by id and title, in the order seen:
// a rule seen again is known by where its texts are or, kept elsewhere, by the texts themselves;
// a rule with another id or title is new; beyond kMaxRules none is added.
TEST(Aggregator, SigmaRulesDistinctByIdAndTitle) {
  Collect out;
  Aggregator aggregator(60 * kMinute, 10, out);
  const std::string id = "r-1", title = "rule one";
  const std::string id_copy = id, title_copy = title;  // the same texts, kept elsewhere
  const std::string other_title = "rule one (2)";
  std::vector<std::string> many;
  for (int i = 0; i < 20; ++i) many.push_back("r-many-" + std::to_string(i));
  auto report = [&](std::vector<RuleRef> rules, uint64_t line) {
    Finding f = Make(line * kMinute, "10.20.0.1", "10.10.0.1", 445, line);
    f.kind = AlertKind::kSigma;
    f.rules = rules;
    aggregator.Report(f);
  };
  report({{id, title}}, 1);
  report({{id, title}, {id_copy, title_copy}}, 2);
  report({{id_copy, title_copy}, {id, other_title}}, 3);
  report({{id, title}}, 4);
  ASSERT_EQ(out.alerts.size(), 0u);
  for (size_t i = 0; i < many.size(); ++i) report({{many[i], title}, {id, title}}, 5 + i);
  aggregator.Finish();
  ASSERT_EQ(out.alerts.size(), 1u);
  std::vector<Alert::Rule> expected = {{id, title}, {id, other_title}};
  for (size_t i = 0; expected.size() < kMaxRules; ++i) expected.push_back({many[i], title});
  EXPECT_EQ(out.alerts[0].rules, expected);
  EXPECT_EQ(out.alerts[0].count, 4 + many.size());
}

// The aggregator finds open alerts through its own hash table (slots reused, backward-shift
// deletion): against the plain algorithm (a std::map per key, a sorted closing list) on random
// findings over many keys, with windows ending, late findings and a final flush.
TEST(Aggregator, HashTableGivesWhatAPlainMapGives) {
  struct Plain {
    struct Open {
      int64_t ts;
      uint64_t sequence;
      uint64_t count;
      std::vector<uint64_t> lines;
    };
    std::map<std::string, Open> open;
    std::vector<std::string> written;  // "key ts count lines"
    uint64_t next = 0;
    int64_t window;
    void Write(const std::string& key, const Open& o) {
      std::string lines;
      for (uint64_t l : o.lines) lines += std::to_string(l) + ",";
      written.push_back(key + " " + std::to_string(o.ts) + " " + std::to_string(o.count) + " " +
                        lines);
    }
    void Report(const std::string& key, int64_t ts, uint64_t line) {
      auto it = open.find(key);
      if (it != open.end() && ts >= it->second.ts + window) {
        Write(key, it->second);
        open.erase(it);
        it = open.end();
      }
      if (it == open.end()) it = open.emplace(key, Open{ts, next++, 0, {}}).first;
      ++it->second.count;
      if (it->second.lines.size() < 3) it->second.lines.push_back(line);
    }
    void Close(bool all, int64_t now) {  // by (end, sequence), or at the end by (ts, sequence)
      std::vector<std::pair<std::pair<int64_t, uint64_t>, std::string>> due;
      for (const auto& [key, o] : open) {
        if (all || o.ts + window <= now)
          due.push_back({{all ? o.ts : o.ts + window, o.sequence}, key});
      }
      std::sort(due.begin(), due.end());
      for (const auto& [order, key] : due) {
        Write(key, open.at(key));
        open.erase(key);
      }
    }
  };
  std::mt19937_64 rng(17);
  Collect out;
  Aggregator aggregator(5 * kMinute, 3, out);
  Plain plain;
  plain.window = 5 * kMinute;
  std::vector<std::string> addresses;
  for (int i = 0; i < 300; ++i) addresses.push_back("10.0." + std::to_string(i) + ".1");
  int64_t now = 0;
  for (uint64_t line = 1; line <= 60000; ++line) {
    now += static_cast<int64_t>(rng() % 20000000);  // up to 20 s
    const std::string& src = addresses[rng() % (line < 30000 ? 300 : 40)];
    const std::string& dst = addresses[rng() % 7];
    const auto kind = static_cast<AlertKind>(rng() % 3);
    const int64_t ts = now - static_cast<int64_t>(rng() % 3 == 0 ? rng() % (8 * kMinute) : 0);
    if (rng() % 50 == 0) {
      aggregator.Advance(now);
      plain.Close(false, now);
    }
    Finding f = Make(ts, src.c_str(), dst.c_str(), 445, line);
    f.kind = kind;
    f.uid = "";
    aggregator.Report(f);
    plain.Report(std::string(1, static_cast<char>('0' + static_cast<int>(kind))) + src + "/" + dst,
                 ts, line);
  }
  aggregator.Finish();
  plain.Close(true, 0);
  ASSERT_EQ(out.alerts.size(), plain.written.size());
  for (size_t i = 0; i < out.alerts.size(); ++i) {
    const Alert& a = out.alerts[i];
    std::string lines;
    for (std::string_view e : a.evidence) lines += std::string(e.substr(e.find(':') + 1)) + ",";
    const std::string got = std::string(1, static_cast<char>('0' + static_cast<int>(a.kind))) +
                            a.src + "/" + a.dst + " " + std::to_string(a.ts_us) + " " +
                            std::to_string(a.count) + " " + lines;
    ASSERT_EQ(got, plain.written[i]) << i;
  }
  EXPECT_GT(out.alerts.size(), 10000u);
}

TEST(Aggregator, LateFindingOfAClosedKeyOpensANewAlert) {
  Collect out;
  Aggregator aggregator(kMinute, 10, out);
  aggregator.Report(Make(0, "a", "b", 1, 1));
  aggregator.Report(Make(2 * kMinute, "a", "b", 1, 2));  // past the window: writes the first
  ASSERT_EQ(out.alerts.size(), 1u);
  aggregator.Advance(10 * kMinute);
  ASSERT_EQ(out.alerts.size(), 2u);
  aggregator.Finish();
  EXPECT_EQ(out.alerts.size(), 2u);
}

TEST(Aggregator, WeightAddsToTheCountAndTheLatestMetricsWin) {
  Collect out;
  Aggregator aggregator(60 * kMinute, 5, out);
  Finding f = Make(0, "10.30.0.5", "", 0, 1);
  f.kind = AlertKind::kScan;
  f.dport.reset();
  const Metric first[] = {{"hosts", 20}, {"ports", 1}};
  f.metrics = first;
  f.weight = 25;
  aggregator.Report(f);
  const Metric second[] = {{"hosts", 31}, {"ports", 2}};
  f.metrics = second;
  f.weight = 6;
  f.ts_us = kMinute;
  aggregator.Report(f);
  aggregator.Finish();
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].count, 31u);
  EXPECT_EQ(out.alerts[0].metrics, (std::vector<Metric>{{"hosts", 31}, {"ports", 2}}));
  const auto j = nlohmann::json::parse(AlertToJson(out.alerts[0]));
  EXPECT_EQ(j["kind"], "scan");
  EXPECT_EQ(j["metrics"]["hosts"], 31);
  EXPECT_TRUE(j["dst"].is_null());
  EXPECT_NE(j["detail"].get<std::string>().find("走査"), std::string::npos);
}

// The direct writer and nlohmann::json give the same bytes, whatever the texts hold.
TEST(AlertJson, DirectWriterAgreesWithNlohmann) {
  std::mt19937 rng(5);
  const std::vector<std::string> texts = {
      "", "10.20.3.15", "マイナンバー利用事務系", "a\"quoted\" \\ back", "tab\there", "nl\n",
      "\x01\x1f", "bad \xff utf8", "cut \xe3\x81", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
      "overlong3 \xe0\x80\xaf", "edges \xe0\xa0\x80\xed\x9f\xbf\xef\xbf\xbf",
      "bad continuation \xe3\x41\x81", "emoji \xf0\x9f\x98\x80", "del \x7f", "2001:db8::1",
      // Past 16 bytes: the checks that take 16 at a time.
      "/tmp/mongen/conn100k.json:12345 CciMHBwSJA1YGMnZVX",
      "sixteen bytes and then a \"quote\" here", "sixteen bytes and then a \\ backslash",
      "sixteen bytes and then a \x01 control", "sixteen bytes and then bad \xff utf8",
      "sixteen bytes and then 区域（説明） text",
      // Each position of the checks taking 8 and 16 bytes
      // at a time (and their overlapping last load).
      "1234567\"", "12345678\\", "123456789abcdef\x1f", "123456789abcdef0\"",
      "123456789abcdef01\x7f", "123456789abcdef012\x80", "seventeen bytes!!",
      "\"23456789abcdef0123", "a\\"};
  auto text = [&] { return texts[rng() % texts.size()]; };
  for (int i = 0; i < 2000; ++i) {
    Alert a;
    a.kind = static_cast<AlertKind>(rng() % 7);
    a.severity = static_cast<Severity>(rng() % 4);
    a.ts_us = static_cast<int64_t>(rng()) * 1000;
    a.src = text();
    a.dst = text();
    a.proto = static_cast<Proto>(rng() % 5);
    if (rng() % 2) a.dport = static_cast<uint16_t>(rng());
    a.from_zone = text();
    a.to_zone = text();
    a.count = rng();
    if (rng() % 2) a.detail = text();
    for (unsigned k = rng() % 3; k > 0; --k) a.rules.push_back({text(), text()});
    static const char* names[] = {"score", "timing", "hosts"};
    for (unsigned k = rng() % 3; k > 0; --k) {
      const double values[] = {0.873, 31, 1e-7, 123456789.25, 0};
      a.metrics.push_back({names[k], values[rng() % 5]});
    }
    for (unsigned k = rng() % 3; k > 0; --k) a.evidence.push_back(text());
    ASSERT_EQ(AlertToJson(a), AlertToJsonSlow(a)) << i;
  }
}

// Random texts of every length up to 40 with at most one special byte ('"', '\\', a control
// character, DEL, a byte from 0x80) anywhere: the direct writer's checks that take 8 and 16
// bytes at a time against nlohmann::json, for the texts of each kind of alert.
TEST(AlertJson, DirectWriterAgreesWithNlohmannAtEveryPosition) {
  std::mt19937 rng(17);
  const char specials[] = {'"', '\\', '\x01', '\x1f', '\x7f', '\x80', '\xe3', '\xff', ' ', '~'};
  auto text = [&] {
    std::string t(rng() % 41, 'x');
    for (char& c : t) c = static_cast<char>(0x20 + rng() % 0x5f);  // printable ASCII
    if (!t.empty() && rng() % 2) t[rng() % t.size()] = specials[rng() % sizeof specials];
    return t;
  };
  const AlertKind kinds[] = {AlertKind::kSeparation, AlertKind::kBlocklist, AlertKind::kSigma,
                             AlertKind::kScan};
  VerbatimMemo memo;  // one for every alert, as a writer keeps it
  for (int i = 0; i < 20000; ++i) {
    Alert a;
    a.kind = kinds[rng() % 4];
    a.ts_us = static_cast<int64_t>(rng()) * 1000;
    a.src = text();
    a.dst = text();
    a.proto = static_cast<Proto>(rng() % 5);
    if (rng() % 2) a.dport = static_cast<uint16_t>(rng());
    if (rng() % 4 == 0) a.from_zone = text();
    if (rng() % 4 == 0) a.from_zone_description = text();
    if (rng() % 4 == 0) a.to_zone = text();
    if (rng() % 4 == 0) a.to_zone_description = text();
    a.count = rng() % 5;
    if (rng() % 8 == 0) a.detail = text();
    for (unsigned k = rng() % 3; k > 0; --k) a.indicators.push_back(text());
    for (unsigned k = rng() % 3; k > 0; --k) a.rules.push_back({text(), text()});
    for (unsigned k = rng() % 3; k > 0; --k) a.evidence.push_back(text());
    if (rng() % 8 == 0) a.metrics.push_back({"hosts", 3});
    std::string json = "x";
    AppendAlertJson(a, json);
    ASSERT_EQ(json, "x" + AlertToJsonSlow(a)) << i;
    std::string remembered = "x";
    AppendAlertJson(a, remembered, memo);
    ASSERT_EQ(remembered, json) << i;
  }
}

// The sentences of the three per-event kinds as they were written before they were appended
// piece by piece (AppendDescription): the plain path the direct one is compared with.
std::string CatDescription(const Alert& a) {
  auto zone = [](const std::string& name, const std::string& description) {
    return description.empty() ? Cat("区域 ", name, " ")
                               : Cat("区域 ", name, "（", description, "）");
  };
  std::string ports;
  for (size_t i = 0; i < a.dports.size(); ++i) {
    if (i > 0) ports += ", ";
    ports += std::to_string(a.dports[i]);
  }
  if (a.dports.size() >= kMaxPorts) ports += " ほか";
  const char* proto = ProtoName(a.proto);
  std::string traffic = proto != nullptr ? std::string(proto) : std::string("プロトコル不明");
  if (!a.dports.empty()) traffic += Cat("、宛先ポート ", ports);
  const std::string times = a.count > 1 ? Cat("（", std::to_string(a.count), " 件）") : "";
  const std::string dst = a.dst.empty() ? std::string("(宛先不明)") : a.dst;
  switch (a.kind) {
    case AlertKind::kSeparation:
      return Cat(zone(a.from_zone, a.from_zone_description), "の ", a.src, " から",
                 zone(a.to_zone, a.to_zone_description), "の ", a.dst, " への通信（", traffic, "）",
                 times,
                 "は、トポロジーのどの許可（[[allow]]）にも当たりません。区域間の通信経路の分割"
                 "（基本方針 §2(10)・§6(3)ア）に反します。");
    case AlertKind::kBlocklist: {
      std::string listed;
      for (size_t i = 0; i < a.indicators.size(); ++i) {
        if (i > 0) listed += "、";
        listed += a.indicators[i];
      }
      if (a.indicators.size() >= kMaxIndicators) listed += " ほか";
      return Cat(a.src, " と ", dst, " の通信（", traffic, "）", times, "が遮断リストの項目",
                 listed, "に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。");
    }
    default: {
      std::string rules;
      for (size_t i = 0; i < a.rules.size(); ++i) {
        if (i > 0) rules += "、";
        rules += Cat("「", a.rules[i].title, "」");
        if (!a.rules[i].id.empty()) rules += Cat("（", a.rules[i].id, "）");
      }
      if (a.rules.size() >= kMaxRules) rules += " ほか";
      return Cat(a.src, " から ", dst, " への通信（", traffic, "）", times, "が Sigma ルール",
                 rules, "に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。");
    }
  }
}

TEST(DescribeAlert, AppendedSentencesAgreeWithConcatenatedOnes) {
  std::mt19937 rng(11);
  const std::vector<std::string> texts = {"",
                                          "10.20.3.15",
                                          "マイナンバー利用事務系",
                                          "inet",
                                          "「bad.example」（宛先、list.txt:3）",
                                          "a\"q\\",
                                          "cut \xe3\x81",
                                          "tab\there",
                                          "bad \xff",
                                          std::string(700, 'x')};
  auto text = [&] { return texts[rng() % texts.size()]; };
  const AlertKind kinds[] = {AlertKind::kSeparation, AlertKind::kBlocklist, AlertKind::kSigma};
  VerbatimMemo memo;  // one for every alert, as a writer keeps it
  for (int i = 0; i < 3000; ++i) {
    Alert a;
    a.kind = kinds[rng() % 3];
    a.src = text();
    a.dst = text();
    a.proto = static_cast<Proto>(rng() % 5);
    for (unsigned k = rng() % 12; k > 0; --k) a.dports.push_back(static_cast<uint16_t>(rng()));
    a.from_zone = text();
    a.from_zone_description = text();
    a.to_zone = text();
    a.to_zone_description = text();
    a.count = rng() % 3 == 0 ? 1 : rng() % 5 == 0 ? UINT64_MAX : rng();
    for (unsigned k = rng() % 7; k > 0; --k) a.indicators.push_back(text());
    for (unsigned k = rng() % 12; k > 0; --k) a.rules.push_back({text(), text()});
    ASSERT_EQ(DescribeAlert(a), CatDescription(a)) << i;
    std::string appended = "prefix";
    AppendDescription(a, appended);
    ASSERT_EQ(appended, "prefix" + CatDescription(a)) << i;
    // The sentence written into room made at once, and piece by piece.
    std::string pieces = "prefix";
    AppendDescriptionPieces(a, pieces);
    ASSERT_EQ(pieces, appended) << i;
    std::string json = "x";
    AppendAlertJson(a, json);
    ASSERT_EQ(json, "x" + AlertToJsonSlow(a)) << i;
    std::string remembered = "x";
    AppendAlertJson(a, remembered, memo);
    ASSERT_EQ(remembered, json) << i;
  }
}

TEST(EmptyAlert, LeavesAnAlertEqualToANewOne) {
  // Every field filled (the defaulted == compares them all, new ones included).
  Alert a;
  a.kind = AlertKind::kSigma;
  a.severity = Severity::kCritical;
  a.ts_us = 5;
  a.last_ts_us = 6;
  a.src = "10.20.3.15";
  a.dst = "198.51.100.7 and a text too long for a short string";
  a.proto = Proto::kUdp;
  a.dport = 53;
  a.dports = {53, 853};
  a.from_zone = "lgwan";
  a.from_zone_description = "LGWAN接続系";
  a.to_zone = "internet";
  a.to_zone_description = "インターネット";
  a.count = 7;
  a.indicators = {"「bad.example」"};
  a.rules = {{"00000000-0000-4000-8000-000000000000", "bench rule 0"}};
  a.metrics = {{"score", 0.5}};
  a.evidence.push_back("conn.log:1 C1");
  a.detail = "sentence";
  ASSERT_NE(a, Alert{});
  EmptyAlert(a);
  EXPECT_EQ(a, Alert{});
  EXPECT_EQ(AlertToJsonSlow(a), AlertToJsonSlow(Alert{}));
}

TEST(AlertJson, FieldsAndNulls) {
  Alert a;
  a.kind = AlertKind::kBlocklist;
  a.severity = Severity::kHigh;
  a.ts_us = 1714523400000000;
  a.src = "10.30.1.20";
  a.count = 2;
  a.indicators = {"evil.example（DNS 問い合わせ、bl.txt:3）"};
  a.evidence = {"dns.log:4"};
  a.detail = DescribeAlert(a);
  const auto j = nlohmann::json::parse(AlertToJson(a));
  EXPECT_EQ(j["kind"], "blocklist");
  EXPECT_EQ(j["severity"], "high");
  EXPECT_EQ(j["ts"], "2024-05-01T00:30:00Z");
  EXPECT_EQ(j["src"], "10.30.1.20");
  EXPECT_TRUE(j["dst"].is_null());
  EXPECT_TRUE(j["proto"].is_null());
  EXPECT_TRUE(j["dport"].is_null());
  EXPECT_TRUE(j["from_zone"].is_null());
  EXPECT_EQ(j["count"], 2);
  EXPECT_NE(j["detail"].get<std::string>().find("evil.example"), std::string::npos);
  EXPECT_EQ(j["evidence"][0], "dns.log:4");
  // Bytes from a log that are not UTF-8 do not break the JSON.
  a.src = "\xff\xfe";
  EXPECT_FALSE(nlohmann::json::parse(AlertToJson(a), nullptr, false).is_discarded());
}

}  // namespace
}  // namespace mamori::monitor

namespace mamori::monitor {
namespace {

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(DescribeAlert, ScanSaysWhatWasCountedAndTheThreshold) {
  Alert a;
  a.kind = AlertKind::kScan;
  a.src = "198.51.100.7";
  a.from_zone = "internet";
  a.to_zone = "dmz";
  a.count = 50;
  a.dports = {22, 23};
  a.metrics = {{"attempts", 25},  {"hosts", 7},           {"ports", 25},
               {"threshold", 25}, {"internal_source", 0}, {"seconds", 120}};
  std::string text = DescribeAlert(a);
  EXPECT_TRUE(Has(text, "外部の送信元 198.51.100.7（区域 internet）から、25 組")) << text;
  EXPECT_TRUE(Has(text, "2 分の間")) << text;
  EXPECT_TRUE(Has(text, "宛先 7 台・ポート 25 個")) << text;
  EXPECT_TRUE(Has(text, "しきい値 25 組")) << text;
  EXPECT_TRUE(Has(text, "宛先ポートの例 22, 23")) << text;  // 2 of 25 ports
  EXPECT_TRUE(Has(text, "この期間の合計 50 件")) << text;
  EXPECT_TRUE(Has(text, "§6(3)イ・§6(7)")) << text;

  a.metrics = {{"drops", 18}, {"hosts", 1}, {"ports", 2}, {"threshold", 18}, {"seconds", 45}};
  a.count = 18;
  text = DescribeAlert(a);
  EXPECT_TRUE(Has(text, "45 秒の間にファイアウォール等で 18 回遮断")) << text;
  EXPECT_TRUE(Has(text, "宛先ポート 22, 23")) << text;  // every port
  EXPECT_FALSE(Has(text, "合計")) << text;

  a.metrics = {{"attempts", 20},  {"hosts", 20},          {"ports", 1},  {"port_hosts", 20},
               {"threshold", 20}, {"internal_source", 0}, {"seconds", 9}};
  text = DescribeAlert(a);
  EXPECT_TRUE(Has(text, "一つのポートで 20 台の異なる宛先")) << text;
}

TEST(DescribeAlert, ExfiltrationGivesBytesLimitAndBaseline) {
  Alert a;
  a.kind = AlertKind::kExfiltration;
  a.src = "10.30.0.10";
  a.dst = "203.0.113.80";
  a.from_zone = "inet";
  a.from_zone_description = "インターネット接続系";
  a.metrics = {{"bytes", 1100005000},
               {"records", 3},
               {"limit", 1073741824},
               {"baseline_windows", 12},
               {"baseline_mean", 22500000},
               {"baseline_stddev", 3227486},
               {"baseline_threshold", 32182458},
               {"dst_bytes", 700000000},
               {"window_seconds", 3600}};
  const std::string text = DescribeAlert(a);
  EXPECT_TRUE(Has(text,
                  "区域 inet（インターネット接続系）の 10.30.0.10 から外部への送信量が 1 時間に "
                  "1.02 GiB（1,100,005,000 バイト、通信の記録 3 件）"))
      << text;
  EXPECT_TRUE(Has(text, "203.0.113.80（667.57 MiB）")) << text;
  EXPECT_TRUE(Has(text, "上限 1.00 GiB に達しています")) << text;
  EXPECT_TRUE(Has(text, "過去 12 区間の平均 21.46 MiB")) << text;
  EXPECT_TRUE(Has(text, "判定値 30.69 MiB を超えています")) << text;
}

TEST(DescribeAlert, DnsTunnelNamesTheDomainsAndTheMeasures) {
  Alert a;
  a.kind = AlertKind::kDnsTunnel;
  a.src = "10.20.8.11";
  a.dst = "10.30.0.53";
  a.indicators = {"example.net"};
  a.count = 100;
  a.metrics = {{"names", 50},           {"threshold", 50},  {"queries", 55},
               {"mean_length", 49.5},   {"max_length", 50}, {"mean_entropy", 3.881},
               {"window_seconds", 3600}};
  const std::string text = DescribeAlert(a);
  EXPECT_TRUE(Has(text, "10.20.8.11 から DNS サーバー 10.30.0.53")) << text;
  EXPECT_TRUE(Has(text, "ドメイン example.net の下")) << text;
  EXPECT_TRUE(Has(text, "1 時間に 50 個")) << text;
  EXPECT_TRUE(Has(text, "平均 49.5 文字、最長 50 文字、平均エントロピー 3.881 ビット/文字"))
      << text;
  EXPECT_TRUE(Has(text, "この期間の合計 100 個")) << text;
}

// The evidence kept in one buffer gives back each entry as it was added, in order.
TEST(EvidenceList, GivesBackWhatWasAdded) {
  EvidenceList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.begin(), list.end());
  const std::vector<std::string> entries = {"conn.log:1 C1", "", std::string("nul\0byte", 8),
                                            std::string(300, 'x'), "conn.log:2"};
  for (const std::string& e : entries) list.push_back(e);
  list.Add("conn.log", ":3 ", "Cuid");
  EXPECT_EQ(list.size(), entries.size() + 1);
  std::vector<std::string> got(list.begin(), list.end());
  std::vector<std::string> want = entries;
  want.push_back("conn.log:3 Cuid");
  EXPECT_EQ(got, want);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(list[i], want[i]) << i;
  EXPECT_EQ(list.back(), "conn.log:3 Cuid");
  const EvidenceList copy = list;
  EXPECT_EQ(std::vector<std::string>(copy.begin(), copy.end()), want);
  const EvidenceList braced = {"a:1", "b:2"};
  EXPECT_EQ(braced.size(), 2u);
  EXPECT_EQ(braced[1], "b:2");
}

}  // namespace
}  // namespace mamori::monitor
