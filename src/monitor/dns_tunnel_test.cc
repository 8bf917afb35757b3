#include "monitor/dns_tunnel.h"

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
constexpr int64_t kT0 = int64_t{1714525200} * kSecond;

class PslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = PublicSuffixList::Load();
    ASSERT_TRUE(loaded.ok());
    psl_ = std::move(loaded).value();
  }
  std::string Domain(std::string_view name) {
    const auto found = psl_->RegisteredDomain(name);
    return found ? std::string(*found) : std::string("(none)");
  }
  std::unique_ptr<PublicSuffixList> psl_;
};

TEST_F(PslTest, RegisteredDomains) {
  EXPECT_EQ(Domain("www.example.com"), "example.com");
  EXPECT_EQ(Domain("a.b.example.co.jp"), "example.co.jp");
  EXPECT_EQ(Domain("example.co.jp"), "example.co.jp");
  EXPECT_EQ(Domain("co.jp"), "(none)");  // a public suffix itself
  EXPECT_EQ(Domain("jp"), "(none)");
  EXPECT_EQ(Domain(""), "(none)");
  // lg.jp is a suffix: local bodies register <name>.lg.jp.
  EXPECT_EQ(Domain("www.city.yokohama.lg.jp"), "yokohama.lg.jp");
  // *.kawasaki.jp with the exception !city.kawasaki.jp.
  EXPECT_EQ(Domain("www.foo.bar.kawasaki.jp"), "foo.bar.kawasaki.jp");
  EXPECT_EQ(Domain("www.city.kawasaki.jp"), "city.kawasaki.jp");
  // Unknown top-level domains fall back to the "*" rule.
  EXPECT_EQ(Domain("host.corp.internal"), "corp.internal");
  // IDN: the list's Unicode entries match their punycode forms.
  EXPECT_EQ(Domain("www.xn--80ak6aa92e.xn--p1ai"), "xn--80ak6aa92e.xn--p1ai");
  EXPECT_EQ(Domain("xn--p1ai"), "(none)");
  // 栃木.jp is a public suffix (listed in Unicode): its punycode form is matched too, and a
  // Unicode name (UTF-8) as well.
  EXPECT_EQ(Domain("www.city.xn--4pvxs.jp"), "city.xn--4pvxs.jp");
  EXPECT_EQ(Domain("xn--4pvxs.jp"), "(none)");
  EXPECT_EQ(Domain("www.city.栃木.jp"), "city.栃木.jp");
}

TEST(ShannonEntropyTest, BitsPerByte) {
  EXPECT_DOUBLE_EQ(ShannonEntropy(""), 0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abab"), 1);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2);
  EXPECT_DOUBLE_EQ(ShannonEntropy("0123456789abcdef"), 4);
}

struct Seen {
  Severity severity;
  std::string src, dst, indicator;
  uint64_t weight;
  std::vector<Metric> metrics;
  double Value(const char* name) const { return MetricValue(metrics, name); }
};

struct Recorder final : AlertSink {
  void Report(const Finding& f) override {
    EXPECT_EQ(f.kind, AlertKind::kDnsTunnel);
    if (f.weight == 0) {
      ++evidence;
      return;
    }
    seen.push_back({f.severity, std::string(f.src), std::string(f.dst), std::string(f.indicator),
                    f.weight, std::vector<Metric>(f.metrics.begin(), f.metrics.end())});
  }
  std::vector<Seen> seen;
  int evidence = 0;
};

class DnsTunnelTest : public PslTest {
 protected:
  void SetUp() override {
    PslTest::SetUp();
    topology_ = ThreeZoneTopology();
  }
  void Make(DnsTunnelOptions options = {}) {
    detector_ = MakeDnsTunnelDetector(topology_, *psl_, options);
  }
  void Query(int64_t ts, const std::string& src, const std::string& name) {
    texts_.push_back(src);
    texts_.push_back(name);
    Event e;
    e.type = LogType::kDns;
    e.ts_us = ts;
    SetAddress(e.src, texts_[texts_.size() - 2]);
    SetAddress(e.dst, "10.20.0.53");
    e.proto = Proto::kUdp;
    e.has_ports = true;
    e.dport = 53;
    e.dns_query = texts_.back();
    e.file = "dns.log";
    e.line = ++line_;
    detector_->Advance(ts, sink_);
    detector_->OnEvent(e, sink_);
  }
  // A 48-character hex label: long, and (being hex) about 3.9 bits per character.
  static std::string Hex(int i, size_t size = 48) {
    std::string out;
    uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1);
    while (out.size() < size) {
      out.push_back("0123456789abcdef"[x >> 60]);  // the high bits: the low ones cycle
      x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
    return out;
  }

  netsep::Topology topology_;
  std::unique_ptr<Detector> detector_;
  Recorder sink_;
  std::deque<std::string> texts_;
  uint64_t line_ = 0;
};

TEST_F(DnsTunnelTest, FiftyDistinctLongNamesUnderOneDomain) {
  Make();
  for (int i = 0; i < 49; ++i) Query(kT0 + i * kSecond, "10.20.4.4", Hex(i) + ".t.example.co.jp");
  // The same names again, in upper case and with a trailing dot: not new.
  std::string again = Hex(3) + ".T.EXAMPLE.CO.JP.";
  for (char& c : again) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Query(kT0 + 50 * kSecond, "10.20.4.4", again);
  // Short names, and long ones under another domain, do not count here.
  for (int i = 0; i < 60; ++i)
    Query(kT0 + 51 * kSecond, "10.20.4.4", "www" + std::to_string(i) + ".example.co.jp");
  for (int i = 0; i < 30; ++i) Query(kT0 + 52 * kSecond, "10.20.4.4", Hex(i) + ".other.co.jp");
  EXPECT_TRUE(sink_.seen.empty());
  Query(kT0 + 53 * kSecond, "10.20.4.4", Hex(49) + ".t.example.co.jp");
  ASSERT_EQ(sink_.seen.size(), 1u);
  const Seen& s = sink_.seen[0];
  EXPECT_EQ(s.indicator, "example.co.jp");
  EXPECT_EQ(s.src, "10.20.4.4");
  EXPECT_EQ(s.dst, "10.20.0.53");
  EXPECT_EQ(s.weight, 50u);
  EXPECT_EQ(s.severity, Severity::kHigh);
  EXPECT_EQ(s.Value("names"), 50);
  EXPECT_EQ(s.Value("max_length"), 50);  // "<48 hex>.t"
  EXPECT_EQ(s.Value("mean_length"), 50);
  EXPECT_EQ(s.Value("queries"), 51);  // the 50 names and the repeat (short names are skipped)
  EXPECT_GT(s.Value("mean_entropy"), 3.4);
  EXPECT_EQ(sink_.evidence, 4);
}

TEST_F(DnsTunnelTest, EntropyOrLengthMakesANameUnusual) {
  DnsTunnelOptions options;
  options.threshold = 3;
  Make(options);
  // 24 characters of low entropy: neither long nor random.
  Query(kT0, "10.20.4.4", "aaaaaaaaaaaabbbbbbbbbbbb.example.com");
  Query(kT0, "10.20.4.4", "aaaaaaaaaaaaaaaaaaaaaaaa.example.com");
  Query(kT0, "10.20.4.4", "abababababababababababab.example.com");
  EXPECT_TRUE(sink_.seen.empty());
  // 24 characters, high entropy (> 3.6): unusual.
  Query(kT0, "10.20.4.4", "q7w8e9r0t1y2u3i4o5p6a7s8.example.com");
  Query(kT0, "10.20.4.4", "z1x2c3v4b5n6m7l8k9j0h1g2.example.com");
  // 40 characters of low entropy: long.
  Query(kT0, "10.20.4.4", std::string(40, 'a') + ".example.com");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].Value("max_length"), 40);
}

TEST_F(DnsTunnelTest, ReverseLookupsAndSuffixesAreSkipped) {
  DnsTunnelOptions options;
  options.threshold = 1;
  Make(options);
  Query(kT0, "10.20.4.4", "1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.ip6.arpa");
  Query(kT0, "10.20.4.4", Hex(1) + ".lg.jp");  // registered domain <hex>.lg.jp: no subdomain
  EXPECT_TRUE(sink_.seen.empty());
  Query(kT0, "10.20.4.4", Hex(1) + ".city.yokohama.lg.jp");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].indicator, "yokohama.lg.jp");
}

TEST_F(DnsTunnelTest, ANewWindowStartsAgainAndMyNumberIsCritical) {
  DnsTunnelOptions options;
  options.threshold = 3;
  Make(options);
  Query(kT0, "10.10.4.4", Hex(1) + ".example.com");
  Query(kT0 + 10 * kSecond, "10.10.4.4", Hex(2) + ".example.com");
  Query(kT0 + 3600 * kSecond, "10.10.4.4", Hex(3) + ".example.com");  // the next hour
  EXPECT_TRUE(sink_.seen.empty());
  Query(kT0 + 3601 * kSecond, "10.10.4.4", Hex(4) + ".example.com");
  Query(kT0 + 3602 * kSecond, "10.10.4.4", Hex(5) + ".example.com");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].severity, Severity::kCritical);
}

}  // namespace
}  // namespace mamori::monitor
