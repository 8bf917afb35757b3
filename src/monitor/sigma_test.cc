#include "monitor/sigma.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/sigma_condition.h"
#include "monitor/sigma_match.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

// ---- helpers ------------------------------------------------------------------------------

struct Recorder final : AlertSink {
  void Report(const Finding& f) override {
    findings.push_back(f);
    std::vector<std::string> titles;
    for (const RuleRef& r : f.rules) titles.emplace_back(r.title);
    rules.push_back(titles);
  }
  std::vector<Finding> findings;
  std::vector<std::vector<std::string>> rules;
};

Result<SigmaRules> Load(const std::string& text) {
  const std::vector<SigmaFile> files = {{"r.yml", text}};
  return SigmaRules::Load(files);
}

// A rule over `logsource` (YAML flow map) with `detection` (indented YAML block, 2 spaces).
std::string Rule(const std::string& title, const std::string& detection,
                 const std::string& logsource = "{category: firewall}",
                 const std::string& extra = "") {
  return "title: " + title + "\nid: 00000000-0000-4000-8000-000000000001\nlogsource: " + logsource +
         "\n" + extra + "detection:\n" + detection;
}

Event Conn(const char* src, const char* dst, uint16_t dport,
           InputFormat format = InputFormat::kZeekJson) {
  Event e;
  e.format = format;
  e.type = LogType::kConn;
  e.ts_us = int64_t{1714521600} * 1000000;
  SetAddress(e.src, src);
  SetAddress(e.dst, dst);
  e.sport = 50000;
  e.dport = dport;
  e.has_ports = true;
  e.proto = Proto::kTcp;
  e.has_bytes = true;
  e.bytes_out = 1200;
  e.bytes_in = 300;
  e.uid = "C1";
  e.file = "conn.log";
  e.line = 7;
  return e;
}

Event Proxy(const char* host, const char* url, const char* agent = "") {
  Event e = Conn("10.20.1.5", "198.51.100.7", 443, InputFormat::kSquid);
  e.type = LogType::kProxy;
  e.http_host = host;
  e.http_url = url;
  e.http_method = "GET";
  e.user_agent = agent;
  e.http_status = 200;
  e.uid = "";
  return e;
}

Event Dns(const char* query, InputFormat format = InputFormat::kZeek) {
  Event e = Conn("10.20.1.5", "10.30.0.53", 53, format);
  e.type = LogType::kDns;
  e.proto = Proto::kUdp;
  e.dns_query = query;
  return e;
}

// The titles of the rules `event` matches.
std::vector<std::string> Titles(const SigmaRules& rules, const Event& event) {
  Recorder sink;
  auto detector = MakeSigmaDetector(rules);
  detector->OnEvent(event, sink);
  return sink.rules.empty() ? std::vector<std::string>{} : sink.rules[0];
}

// A rule set loaded twice, for the tests that compare the two: with its index (as the monitor
// runs it) and without (every rule evaluated).
struct TwoWays {
  std::optional<SigmaRules> indexed;
  std::optional<SigmaRules> plain;
};
void LoadTwoWays(const std::string& name, const std::string& yaml, TwoWays& out) {
  const std::vector<SigmaFile> files = {{name, yaml}};
  auto indexed = SigmaRules::Load(files);
  auto plain = SigmaRules::Load(files, SigmaOptions{.index = false});
  ASSERT_TRUE(indexed.ok()) << indexed.error().message_en;
  ASSERT_TRUE(plain.ok());
  out.indexed.emplace(std::move(indexed).value());
  out.plain.emplace(std::move(plain).value());
}

// Does the single rule `detection` (firewall) match `event`?
bool Hits(const std::string& detection, const Event& event,
          const std::string& logsource = "{category: firewall}") {
  auto rules = Load(Rule("t", detection, logsource));
  EXPECT_TRUE(rules.ok()) << (rules.ok() ? "" : rules.error().message_en);
  if (!rules.ok()) return false;
  EXPECT_EQ(rules->loaded(), 1u);
  for (const auto& u : rules->unsupported()) ADD_FAILURE() << u.reason_en;
  return !Titles(*rules, event).empty();
}

std::string UnsupportedReason(const std::string& text) {
  auto rules = Load(text);
  if (!rules.ok()) return "error: " + rules.error().message_en;
  if (rules->unsupported().size() != 1) return "not unsupported";
  return rules->unsupported()[0].reason_en;
}

std::string ErrorOf(const std::string& text) {
  auto rules = Load(text);
  return rules.ok() ? "ok" : rules.error().message_en;
}

// ---- patterns -----------------------------------------------------------------------------

TEST(SigmaPattern, ShapesWildcardsAndEscapes) {
  using sigma::Pattern;
  EXPECT_EQ(Pattern::Parse("Abc", true).shape, Pattern::Shape::kExact);
  EXPECT_EQ(Pattern::Parse("abc*", true).shape, Pattern::Shape::kPrefix);
  EXPECT_EQ(Pattern::Parse("*abc", true).shape, Pattern::Shape::kSuffix);
  EXPECT_EQ(Pattern::Parse("*abc**", true).shape, Pattern::Shape::kContains);
  EXPECT_EQ(Pattern::Parse("a*c", true).shape, Pattern::Shape::kGlob);
  EXPECT_TRUE(Pattern::Parse("Abc", true).Matches("abc"));  // needle lower-cased
  EXPECT_TRUE(Pattern::Parse("*", true).Matches(""));
  EXPECT_TRUE(Pattern::Parse("a*c", true).Matches("abbbc"));
  EXPECT_TRUE(Pattern::Parse("a*c", true).Matches("ac"));
  EXPECT_FALSE(Pattern::Parse("a*c", true).Matches("abcd"));
  EXPECT_TRUE(Pattern::Parse("a?c", true).Matches("abc"));
  EXPECT_FALSE(Pattern::Parse("a?c", true).Matches("ac"));
  EXPECT_TRUE(Pattern::Parse("a?c", true)
                  .Matches("a\xe3\x81\x82"
                           "c"));  // ? is one character
  EXPECT_TRUE(Pattern::Parse("*a*b?d*", true).Matches("xxaxxbcdxx"));
  // Escapes: \* and \? are literal, \\ is one backslash, a backslash before anything else is
  // itself.
  const Pattern star = Pattern::Parse("a\\*c", true);
  EXPECT_EQ(star.shape, Pattern::Shape::kExact);
  EXPECT_TRUE(star.Matches("a*c"));
  EXPECT_FALSE(star.Matches("abc"));
  EXPECT_TRUE(Pattern::Parse("a\\?", true).Matches("a?"));
  EXPECT_FALSE(Pattern::Parse("a\\?", true).Matches("ab"));
  const Pattern backslash_star = Pattern::Parse("c:\\\\*", true);  // c:\\* = c:\ then wildcard
  EXPECT_EQ(backslash_star.shape, Pattern::Shape::kPrefix);
  EXPECT_TRUE(backslash_star.Matches("c:\\windows"));
  EXPECT_TRUE(Pattern::Parse("c:\\windows", true).Matches("c:\\windows"));
  EXPECT_EQ(sigma::UnescapedLiteral("a\\*b\\\\c\\d"), "a*b\\c\\d");
  EXPECT_EQ(sigma::UnescapedLiteral("a*"), std::nullopt);
}

// "*x*" is decided by its own search: the same answer as string_view::find, over short texts
// and needles of a small alphabet (needles at the start, the end, overlapping, longer).
TEST(SigmaPattern, ContainsAsFind) {
  uint64_t seed = 0x853C49E6748FEA9Bull;
  auto next = [&](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  auto random_text = [&](size_t max) {
    std::string out(next(max + 1), ' ');
    for (char& c : out) c = ".10a"[next(4)];
    return out;
  };
  size_t found = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string needle = random_text(5), text = random_text(16);
    const sigma::Pattern p = sigma::Pattern::Parse("*" + needle + "*", false);
    ASSERT_EQ(p.shape, sigma::Pattern::Shape::kContains);
    const bool want = std::string_view(text).find(needle) != std::string_view::npos;
    ASSERT_EQ(p.Matches(text), want) << "'" << needle << "' in '" << text << "'";
    found += want ? 1 : 0;
  }
  EXPECT_GT(found, 2000u);
  EXPECT_LT(found, 18000u);
}

TEST(SigmaPattern, DottedQuadRangeAgreesWithThePatternOnAddresses) {
  uint64_t seed = 0x2545F4914F6CDD1Dull;
  auto next = [&](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  // Few octet values, so that patterns and addresses meet often.
  const uint32_t octet_values[] = {0, 1, 2, 9, 10, 19, 20, 25, 200, 255};
  auto octet = [&] { return octet_values[next(std::size(octet_values))]; };
  std::vector<std::pair<uint32_t, std::string>> addresses;
  for (int i = 0; i < 300; ++i) {
    const uint32_t a = octet(), b = octet(), c = octet(), d = octet();
    addresses.emplace_back(a << 24 | b << 16 | c << 8 | d,
                           std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) +
                               "." + std::to_string(d));
  }
  // Pattern texts: pieces of addresses (whole and cut octets, dots at either end) and random
  // runs of digits and dots (leading zeros, empty octets, too many octets).
  auto piece = [&] {
    const std::string& text = addresses[next(addresses.size())].second;
    const size_t from = next(text.size() + 1);
    return text.substr(from, next(text.size() - from + 1));
  };
  auto random_text = [&] {
    std::string out(next(10), ' ');
    for (char& c : out) c = ".0125"[next(5)];
    return out;
  };
  const char* shapes[][2] = {{"", ""}, {"", "*"}, {"*", ""}, {"*", "*"}};
  size_t ranges = 0, matches = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto& [before, after] = shapes[next(4)];
    const std::string text = next(2) == 0 ? piece() : random_text();
    const sigma::Pattern p = sigma::Pattern::Parse(before + text + after, true);
    const std::optional<sigma::DottedQuadRange> range = sigma::DottedQuadRangeOf(p);
    if (!range) continue;
    ++ranges;
    ASSERT_NE(range->mask, 0u);
    for (const auto& [v4, address] : addresses) {
      const bool want = p.Matches(address);
      ASSERT_EQ((v4 & range->mask) == range->value, want)
          << before << text << after << " on " << address;
      matches += want ? 1 : 0;
    }
  }
  EXPECT_GT(ranges, 500u);
  EXPECT_GT(matches, 10000u);
  // Shapes that may hold at several places, or never on a canonical dotted quad: no range.
  for (const char* text :
       {"*.1.*", "10*", "10.2*", "*0.1", "010.*", "1.2.3", "*.1.2.3.*", "1?.*"}) {
    EXPECT_FALSE(sigma::DottedQuadRangeOf(sigma::Pattern::Parse(text, true))) << text;
  }
}

TEST(SigmaPattern, CaseInsensitiveUnlessCased) {
  auto rules = Load(
      Rule("t", "  sel:\n    cs-host: WWW.Example.JP\n  condition: sel\n", "{category: proxy}"));
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(Titles(*rules, Proxy("www.EXAMPLE.jp", "/")).size(), 1u);
  EXPECT_FALSE(Hits("  sel:\n    cs-host|cased: WWW.Example.JP\n  condition: sel\n",
                    Proxy("www.example.jp", "/"), "{category: proxy}"));
  EXPECT_TRUE(Hits("  sel:\n    cs-host|cased: www.Example.jp\n  condition: sel\n",
                   Proxy("www.Example.jp", "/"), "{category: proxy}"));
}

// ---- modifiers ----------------------------------------------------------------------------

TEST(SigmaModifiers, ContainsStartsEndsAll) {
  const Event e = Proxy("files.example.com", "http://files.example.com/upload/secret.zip");
  const std::string ls = "{category: proxy}";
  EXPECT_TRUE(Hits("  s:\n    c-uri|contains: /UPLOAD/\n  condition: s\n", e, ls));
  EXPECT_FALSE(Hits("  s:\n    c-uri|contains: /download/\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    c-uri|startswith: HTTP://files\n  condition: s\n", e, ls));
  EXPECT_FALSE(Hits("  s:\n    c-uri|startswith: files\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    c-uri|endswith: [.exe, .zip]\n  condition: s\n", e, ls));
  EXPECT_FALSE(Hits("  s:\n    c-uri|endswith: .exe\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    c-uri|contains|all: [upload, secret]\n  condition: s\n", e, ls));
  EXPECT_FALSE(Hits("  s:\n    c-uri|contains|all: [upload, public]\n  condition: s\n", e, ls));
  // Without a modifier the whole value must match (wildcards allowed).
  EXPECT_FALSE(Hits("  s:\n    cs-host: example.com\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    cs-host: '*.example.com'\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    cs-host: 'files.exampl?.com'\n  condition: s\n", e, ls));
}

TEST(SigmaModifiers, RegexIsCaseSensitiveUnlessI) {
  const Event e = Dns("AbCdEf0123456789.tunnel.example");
  const std::string ls = "{category: dns}";
  EXPECT_TRUE(Hits("  s:\n    query|re: '^[A-Za-z0-9]{16}\\.'\n  condition: s\n", e, ls));
  EXPECT_FALSE(Hits("  s:\n    query|re: '^abcdef'\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    query|re|i: '^abcdef'\n  condition: s\n", e, ls));
  EXPECT_TRUE(Hits("  s:\n    query|re: 'tunnel'\n  condition: s\n", e, ls));  // unanchored
}

// All the expressions on one field run as one set (RegexSets); each rule must still match
// exactly when its expression alone would, event after event.
// The event's own IPv4 address text is taken as its own lower case without a look at it: the
// same view as the general path gives for the same characters elsewhere (a copy).
TEST(SigmaModifiers, AnAddressTextIsItsOwnLowerCase) {
  for (const char* address : {"10.20.2.5", "192.0.2.44", "0.0.0.0", "2001:DB8::A", "fe80::1"}) {
    const Event e = Conn(address, address, 80);
    for (EventField field : {EventField::kSrcIp, EventField::kDstIp}) {
      const std::string_view text = field == EventField::kSrcIp ? e.src.text : e.dst.text;
      const std::string copy(text);
      sigma::MatchContext fast, general;
      fast.Reset(e);
      general.Reset(e);
      EXPECT_EQ(fast.Lowered(field, text), general.Lowered(field, copy)) << address;
    }
  }
}

TEST(SigmaModifiers, RegexesOfOneFieldMatchTogetherAsEachAlone) {
  const std::vector<std::string> patterns = {"'^[a-z0-9]{16}\\.'", "'tunnel'",   "'^abcdef'",
                                             "'(?i)^ABCDEF'",      "'example$'", "'\\.tunnel\\.'",
                                             "'^[0-9]+$'",         "'x{3,}'"};
  std::string file;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (i > 0) file += "---\n";
    file += Rule("r" + std::to_string(i),
                 "  s:\n    query|re: " + patterns[i] + "\n  condition: s\n", "{category: dns}");
  }
  // One on a number field (dst_port as decimal text) in the same file.
  file += "---\n" +
          Rule("port", "  s:\n    dst_port|re: '^5[0-9]$'\n  condition: s\n", "{category: dns}");
  auto rules = Load(file);
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->loaded(), patterns.size() + 1);
  const std::vector<std::pair<const char*, std::vector<std::string>>> cases = {
      {"abcdef0123456789.tunnel.example", {"r0", "r1", "r2", "r3", "r4", "r5", "port"}},
      {"AbCdEf0123456789.tunnel.example", {"r1", "r3", "r4", "r5", "port"}},
      {"www.example", {"r4", "port"}},
      {"12345", {"r6", "port"}},
      {"xxxx.jp", {"r7", "port"}},
      {"plain", {"port"}},
  };
  auto detector = MakeSigmaDetector(*rules);  // one detector: its per-event cache is reused
  for (int round = 0; round < 2; ++round) {
    for (const auto& [query, want] : cases) {
      SCOPED_TRACE(query);
      Recorder sink;
      detector->OnEvent(Dns(query), sink);
      ASSERT_EQ(sink.rules.size(), 1u);
      EXPECT_EQ(sink.rules[0], want);
    }
  }
}

// Addresses from octets the expressions below name, and others: most match none of them.
std::string RandomAddress(uint64_t& seed) {
  auto next = [&](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  const int named[] = {0, 1, 2, 5, 10, 17, 20, 51, 66, 67, 100, 113, 123, 198, 203, 255};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out += '.';
    out += std::to_string(next(3) == 0 ? static_cast<int>(next(256)) : named[next(16)]);
  }
  return out;
}

// The address fields' prefilter (RegexSets::MayMatchDottedQuad) turns away only addresses that
// no expression of the set matches, each expression alone (RE2::PartialMatch); it is on for
// expressions that name networks, and off when one expression has no long required string.
TEST(SigmaModifiers, AddressPrefilterKeepsEveryAddressAnExpressionMatches) {
  const std::vector<std::vector<std::string>> groups = {
      {"^(198\\.51\\.100|203\\.0\\.113)\\.67$", "^(198\\.51\\.100|203\\.0\\.113)\\.17$",
       "^(198\\.51\\.100|203\\.0\\.113)\\.123$"},
      {"^10\\.20\\.", "\\.113\\.", "(?i)^203\\.0\\.113\\.(1|2)\\d$", "5\\.66\\.1", "2001:db8"},
      {"198\\.51\\.100\\.[0-9]+", "(10|20)\\.(0|1|2)\\.5", "^1\\.2\\.3\\.4$|^5\\.5\\.5\\.5$"},
      {"^10\\.20\\.", "\\.5$"},   // ".5": too short an atom, no prefilter
      {"^10\\.20\\.", "[0-9]+"},  // no atom at all
  };
  uint64_t seed = 0x2545F4914F6CDD1Dull;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<sigma::Matcher> matchers(groups[g].size());
    sigma::RegexSets sets;
    for (size_t i = 0; i < groups[g].size(); ++i) {
      RE2::Options options;
      options.set_log_errors(false);
      matchers[i].op = sigma::Matcher::Op::kRegex;
      matchers[i].regex = std::make_shared<const RE2>(groups[g][i], options);
      ASSERT_TRUE(matchers[i].regex->ok()) << groups[g][i];
      sets.Add(EventField::kDstIp, matchers[i]);
    }
    sets.Compile();
    const char* named[] = {"198.51.100.67", "203.0.113.17", "203.0.113.123", "10.20.5.66",
                           "1.113.5.1",     "203.0.113.25", "5.66.113.1",    "198.51.100.5",
                           "10.2.5.1",      "1.2.3.4",      "5.5.5.5",       "0.0.0.0"};
    size_t turned_away = 0, matched = 0;
    for (int i = 0; i < 20000; ++i) {
      const std::string address = i < 12 ? named[i] : RandomAddress(seed);
      bool any = false;
      for (const sigma::Matcher& m : matchers) any = any || RE2::PartialMatch(address, *m.regex);
      const bool may = sets.MayMatchDottedQuad(EventField::kDstIp, address);
      if (any) {
        ASSERT_TRUE(may) << "group " << g << ": " << address;
      }
      EXPECT_TRUE(sets.MayMatchDottedQuad(EventField::kSrcIp, address));  // no set there
      turned_away += may ? 0 : 1;
      matched += any ? 1 : 0;
    }
    EXPECT_GE(matched, 3u) << "group " << g;  // the named addresses at least
    if (g < 3) {
      EXPECT_GT(turned_away, 10000u) << "group " << g;
    } else {
      EXPECT_EQ(turned_away, 0u) << "group " << g;
    }
  }
}

// The same through the detector: with the index (and the memo and the prefilter) on and off,
// one detector each over many events, the same rules match.
TEST(SigmaRules, AddressExpressionsGiveTheSameMatches) {
  const char* patterns[] = {"'^(198\\.51\\.100|203\\.0\\.113)\\.67$'",
                            "'^10\\.20\\.'",
                            "'\\.113\\.1'",
                            "'(5|66)\\.(0|1)\\.'",
                            "'\\.5$'",
                            "'^203\\.0\\.'"};
  std::string yaml;
  int r = 0;
  for (const char* field : {"dst_ip", "src_ip"}) {
    for (const char* pattern : patterns) {
      // The short ".5" only in the destination's set: the source's set keeps a prefilter.
      if (std::string(field) == "src_ip" && std::string(pattern) == "'\\.5$'") continue;
      if (!yaml.empty()) yaml += "---\n";
      yaml += Rule("x" + std::to_string(r++),
                   std::string("  s:\n    ") + field + "|re: " + pattern + "\n  condition: s\n");
    }
  }
  // The same expressions asked again later in an event, by rules found by the port (after the
  // set's answer was asked for the rules above): the same answer as the first time (on the
  // source, whose set has a prefilter).
  for (const char* pattern : patterns) {
    if (std::string(pattern) == "'\\.5$'") continue;
    for (const char* condition : {"p and not s", "p and (s or q)"}) {
      yaml += "---\n" + Rule("y" + std::to_string(r++),
                             std::string("  s:\n    src_ip|re: ") + pattern +
                                 "\n  p:\n    dst_port: 443\n  q:\n    src_ip|cidr: 5.0.0.0/8" +
                                 "\n  condition: " + condition + "\n");
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("re.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  auto fast = MakeSigmaDetector(indexed);
  auto general = MakeSigmaDetector(plain);
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  size_t matches = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string src = RandomAddress(seed), dst = RandomAddress(seed);
    const Event e = Conn(src.c_str(), dst.c_str(), i % 3 == 0 ? 443 : 80);
    Recorder a, b;
    fast->OnEvent(e, a);
    general->OnEvent(e, b);
    ASSERT_EQ(a.rules, b.rules) << src << " -> " << dst;
    matches += a.rules.size();
  }
  EXPECT_GT(matches, 1000u);
}

TEST(SigmaModifiers, Cidr) {
  const Event e = Conn("10.30.1.5", "10.10.2.20", 445);
  EXPECT_TRUE(Hits("  s:\n    dst_ip|cidr: 10.10.0.0/16\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_ip|cidr: [192.0.2.0/24, 10.10.2.20]\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    dst_ip|cidr: 10.20.0.0/16\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    src_ip|cidr: 10.30.9.9/16\n  condition: s\n", e));  // host bits
  Event v6 = Conn("2001:db8:1::5", "2001:db8:2::20", 445);
  EXPECT_TRUE(Hits("  s:\n    dst_ip|cidr: '2001:db8:2::/48'\n  condition: s\n", v6));
  EXPECT_FALSE(Hits("  s:\n    dst_ip|cidr: '2001:db8:3::/48'\n  condition: s\n", v6));
  EXPECT_FALSE(Hits("  s:\n    dst_ip|cidr: 10.0.0.0/8\n  condition: s\n", v6));
}

TEST(SigmaModifiers, Comparisons) {
  const Event e = Conn("10.30.1.5", "203.0.113.9", 8443);  // bytes_out 1200
  EXPECT_TRUE(Hits("  s:\n    dst_port|gt: 1024\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    dst_port|lt: 1024\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_port|gte: 8443\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    dst_port|gt: 8443\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_port|lte: 8443\n    cs-bytes|gte: 1000.5\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    cs-bytes|lt: 1200\n  condition: s\n", e));
}

TEST(SigmaModifiers, NumbersAndNull) {
  const Event e = Conn("10.30.1.5", "203.0.113.9", 445);
  EXPECT_TRUE(Hits("  s:\n    dst_port: 445\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_port: '445'\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_port: [139, 445]\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    dst_port: 4450\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    dst_port: '4*'\n  condition: s\n", e));  // numbers as text
  EXPECT_TRUE(Hits("  s:\n    action: null\n  condition: s\n", e));    // absent
  EXPECT_TRUE(Hits("  s:\n    action: ''\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    uid: null\n  condition: s\n", e));
}

TEST(SigmaModifiers, ExistsAndFieldref) {
  const Event e = Conn("10.30.1.5", "10.30.1.5", 445);
  EXPECT_TRUE(Hits("  s:\n    uid|exists: true\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    uid|exists: false\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    action|exists: false\n  condition: s\n", e));
  EXPECT_TRUE(Hits("  s:\n    src_ip|fieldref: dst_ip\n  condition: s\n", e));
  EXPECT_FALSE(Hits("  s:\n    src_ip|fieldref: dst_ip\n  condition: s\n",
                    Conn("10.30.1.5", "10.30.1.6", 1)));
  EXPECT_TRUE(Hits("  s:\n    src_ip|fieldref|startswith: dst_ip\n  condition: s\n", e));
}

TEST(SigmaModifiers, Base64AndBase64offset) {
  // base64("/bin/bash") = L2Jpbi9iYXNo; base64offset also 9iaW4vYmFza and vYmluL2Jhc2.
  const std::string ls = "{category: proxy}";
  EXPECT_TRUE(Hits("  s:\n    c-uri|base64|contains: /bin/bash\n  condition: s\n",
                   Proxy("h", "/x?c=L2Jpbi9iYXNo"), ls));
  for (const char* url : {"/x?c=L2Jpbi9iYXNo", "/x?c=IC9iaW4vYmFzaA==", "/x?c=ICAvYmluL2Jhc2g="}) {
    EXPECT_TRUE(Hits("  s:\n    c-uri|base64offset|contains: /bin/bash\n  condition: s\n",
                     Proxy("h", url), ls))
        << url;
  }
  EXPECT_FALSE(Hits("  s:\n    c-uri|base64offset|contains: /bin/bash\n  condition: s\n",
                    Proxy("h", "/x?c=L2Jpbi9zaA"), ls));
}

TEST(SigmaModifiers, Windash) {
  const std::string ls = "{category: proxy}";
  const std::string rule = "  s:\n    c-useragent|windash|contains: ' -enc '\n  condition: s\n";
  EXPECT_TRUE(Hits(rule, Proxy("h", "/", "tool -enc abc"), ls));
  EXPECT_TRUE(Hits(rule, Proxy("h", "/", "tool /enc abc"), ls));
  EXPECT_TRUE(Hits(rule,
                   Proxy("h", "/",
                         "tool \xe2\x80\x93"
                         "enc abc"),
                   ls));  // en dash
  EXPECT_FALSE(Hits(rule, Proxy("h", "/", "tool +enc abc"), ls));
}

TEST(SigmaModifiers, Keywords) {
  const std::string ls = "{category: proxy}";
  const Event e = Proxy("paste.example", "/raw/AbC", "curl/8.0");
  EXPECT_TRUE(Hits("  keywords:\n    - 'nothing'\n    - 'CURL/'\n  condition: keywords\n", e, ls));
  EXPECT_TRUE(Hits("  keywords: '/raw/'\n  condition: keywords\n", e, ls));
  EXPECT_FALSE(Hits("  keywords:\n    - wget\n  condition: keywords\n", e, ls));
  EXPECT_TRUE(Hits("  keywords:\n    '|all':\n      - paste\n      - curl\n  condition: keywords\n",
                   e, ls));
}

// ---- conditions ---------------------------------------------------------------------------

TEST(SigmaCondition, PrecedenceAndParentheses) {
  // a: dport 445 (true), b: dport 139 (false), c: src in 10.30/16 (true).
  const std::string entries =
      "  a:\n    dst_port: 445\n  b:\n    dst_port: 139\n  c:\n    src_ip|cidr: 10.30.0.0/16\n";
  const Event e = Conn("10.30.1.5", "10.10.2.20", 445);
  auto with = [&](const std::string& condition) {
    return Hits(entries + "  condition: " + condition + "\n", e);
  };
  EXPECT_TRUE(with("a or b and not c"));  // a or (b and (not c))
  EXPECT_FALSE(with("(a or b) and not c"));
  EXPECT_FALSE(with("not a or b"));  // (not a) or b
  EXPECT_TRUE(with("not (a and b)"));
  EXPECT_TRUE(with("not not a"));
  EXPECT_TRUE(with("a AND c"));            // keywords in any case
  EXPECT_FALSE(with("b or not c and a"));  // b or ((not c) and a)
  EXPECT_TRUE(with("((a))"));
}

TEST(SigmaCondition, QuantifiersAndThem) {
  const std::string entries =
      "  sel_smb:\n    dst_port: 445\n  sel_rdp:\n    dst_port: 3389\n"
      "  _internal:\n    dst_port: 9\n  filter_src:\n    src_ip|cidr: 10.30.0.0/16\n";
  const Event e = Conn("10.30.1.5", "10.10.2.20", 445);
  auto with = [&](const std::string& condition) {
    return Hits(entries + "  condition: " + condition + "\n", e);
  };
  EXPECT_TRUE(with("1 of sel_*"));
  EXPECT_FALSE(with("all of sel_*"));
  EXPECT_TRUE(with("any of sel_*"));
  EXPECT_FALSE(with("1 of sel_* and not 1 of filter*"));
  EXPECT_TRUE(with("1 of them"));
  EXPECT_FALSE(with("all of them"));
  EXPECT_TRUE(with("all of sel_smb"));
  // them leaves out _internal: sel_smb, filter_src true; sel_rdp false.
  EXPECT_TRUE(with("not all of them and 1 of _*") == false);
  EXPECT_TRUE(with("not 1 of sel_* or 1 of them"));
  // A list of conditions means any of them.
  EXPECT_TRUE(Hits(entries + "  condition:\n    - sel_rdp\n    - sel_smb\n", e));
}

TEST(SigmaCondition, IdentifierPattern) {
  EXPECT_TRUE(sigma::MatchesIdentifierPattern("sel*", "selection"));
  EXPECT_TRUE(sigma::MatchesIdentifierPattern("*tion", "selection"));
  EXPECT_TRUE(sigma::MatchesIdentifierPattern("s*l*n", "selection"));
  EXPECT_FALSE(sigma::MatchesIdentifierPattern("sel", "selection"));
  EXPECT_FALSE(sigma::MatchesIdentifierPattern("Sel*", "selection"));
}

// ---- log sources, fields, severities, findings ---------------------------------------------

TEST(SigmaRules, LogSourcesChooseTheEvents) {
  const std::string yaml =
      Rule("dns rule", "  s:\n    query|endswith: .example\n  condition: s\n", "{category: dns}") +
      "---\n" +
      Rule("zeek conn rule", "  s:\n    id.resp_p: 445\n  condition: s\n",
           "{product: zeek, service: conn}") +
      "---\n" + Rule("firewall rule", "  s:\n    dst_port: 445\n  condition: s\n") + "---\n" +
      Rule("squid rule", "  s:\n    cs-host: a.example\n  condition: s\n",
           "{category: proxy, product: squid}");
  auto rules = Load(yaml);
  ASSERT_TRUE(rules.ok()) << rules.error().message_en;
  EXPECT_EQ(rules->loaded(), 4u);
  EXPECT_TRUE(rules->unsupported().empty());
  EXPECT_EQ(Titles(*rules, Dns("x.example")), (std::vector<std::string>{"dns rule"}));
  EXPECT_EQ(Titles(*rules, Dns("x.example", InputFormat::kEve)),
            (std::vector<std::string>{"dns rule"}));
  EXPECT_EQ(Titles(*rules, Conn("10.0.0.1", "10.0.0.2", 445, InputFormat::kZeek)),
            (std::vector<std::string>{"zeek conn rule", "firewall rule"}));
  // EVE has no id.resp_p: only the firewall rule applies to its flows.
  EXPECT_EQ(Titles(*rules, Conn("10.0.0.1", "10.0.0.2", 445, InputFormat::kEve)),
            (std::vector<std::string>{"firewall rule"}));
  Event fw = Conn("10.0.0.1", "10.0.0.2", 445, InputFormat::kNetfilter);
  fw.type = LogType::kFirewall;
  EXPECT_EQ(Titles(*rules, fw), (std::vector<std::string>{"firewall rule"}));
  EXPECT_EQ(Titles(*rules, Proxy("a.example", "/")), (std::vector<std::string>{"squid rule"}));
  Event zeek_http = Proxy("a.example", "/");
  zeek_http.format = InputFormat::kZeek;
  zeek_http.type = LogType::kHttp;
  EXPECT_TRUE(Titles(*rules, zeek_http).empty());  // product squid only
}

TEST(SigmaRules, FindingCarriesRulesAndHighestLevel) {
  const std::string yaml =
      Rule("low one", "  s:\n    dst_port: 445\n  condition: s\n", "{category: firewall}",
           "level: informational\n") +
      "---\n" +
      Rule("critical one", "  s:\n    dst_ip|cidr: 10.10.0.0/16\n  condition: s\n",
           "{category: firewall}", "level: critical\n") +
      "---\n" +
      Rule("no match", "  s:\n    dst_port: 1\n  condition: s\n", "{category: firewall}",
           "level: high\n");
  auto rules = Load(yaml);
  ASSERT_TRUE(rules.ok()) << rules.error().message_en;
  Recorder sink;
  auto detector = MakeSigmaDetector(*rules);
  detector->OnEvent(Conn("10.30.1.5", "10.10.2.20", 445), sink);
  detector->OnEvent(Conn("10.30.1.5", "192.0.2.1", 445), sink);
  ASSERT_EQ(sink.findings.size(), 2u);
  EXPECT_EQ(sink.rules[0], (std::vector<std::string>{"low one", "critical one"}));
  EXPECT_EQ(sink.findings[0].kind, AlertKind::kSigma);
  EXPECT_EQ(sink.findings[0].severity, Severity::kCritical);
  EXPECT_EQ(sink.findings[0].dport, 445);
  EXPECT_EQ(sink.findings[0].uid, "C1");
  EXPECT_EQ(sink.findings[1].severity, Severity::kLow);

  // Through the aggregator: the JSON names the rules.
  struct Out final : AlertOutput {
    void Write(const Alert& a) override { lines.push_back(AlertToJson(a)); }
    std::vector<std::string> lines;
  } out;
  Aggregator aggregator(int64_t{3600} * 1000000, 10, out);
  detector->OnEvent(Conn("10.30.1.5", "10.10.2.20", 445), aggregator);
  detector->OnEvent(Conn("10.30.1.5", "10.10.2.20", 3389), aggregator);
  aggregator.Finish();
  ASSERT_EQ(out.lines.size(), 1u);
  const auto j = nlohmann::json::parse(out.lines[0]);
  EXPECT_EQ(j["kind"], "sigma");
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["count"], 2);
  ASSERT_EQ(j["rules"].size(), 2u);
  EXPECT_EQ(j["rules"][1]["title"], "critical one");
  EXPECT_EQ(j["rules"][1]["id"], "00000000-0000-4000-8000-000000000001");
  const std::string detail = j["detail"];
  EXPECT_NE(detail.find("Sigma ルール「low one」"), std::string::npos) << detail;
  EXPECT_NE(detail.find("（2 件）"), std::string::npos) << detail;
}

// The index (guards on ports, numbers and IPv4 ranges) must not change what matches: random
// rules over random events, evaluated with and without it.
TEST(SigmaRules, IndexGivesTheSameMatchesAsEvaluatingEveryRule) {
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  const char* ports[] = {"22", "23", "53", "139", "443", "445", "3389"};
  const char* nets[] = {"10.10.0.0/16", "10.20.0.0/16", "10.20.3.0/24",
                        "10.0.0.0/8",   "192.0.2.0/24", "10.30.1.7"};
  auto test_text = [&]() -> std::string {
    switch (next(9)) {
      case 7:  // regular expressions and comparisons guard rules too (matched as in the rule)
        return std::string(next(2) == 0 ? "dst_ip" : "src_ip") + "|re: '^10\\." +
               (next(2) == 0 ? "(10|20)" : "30") + "\\.'";
      case 8: {  // a rule guarded by one comparison alone is found by its bound (thresholds)
        const char* ops[] = {"lt", "lte", "gt", "gte"};
        return std::string("dst_port|") + ops[next(4)] + ": " + ports[next(7)];
      }
      case 0:
        return std::string("dst_port: ") + ports[next(7)];
      case 1:
        return std::string("dst_port: [") + ports[next(7)] + ", " + ports[next(7)] + "]";
      case 2:
        return std::string("src_ip|cidr: ") + nets[next(6)];
      case 3:
        return std::string("dst_ip|cidr: [") + nets[next(6)] + ", " + nets[next(6)] + "]";
      case 4:
        return "proto: tcp";
      case 5:
        return std::string(next(2) == 0 ? "cs-bytes|gt: " : "cs-bytes|lte: ") +
               std::to_string(next(2000));
      default:
        return std::string("src_port: ") + ports[next(7)];
    }
  };
  std::string yaml;
  const char* names[] = {"a", "b", "c", "d"};
  for (int r = 0; r < 200; ++r) {
    std::string detection;
    for (const char* name : names) {
      detection += std::string("  ") + name + ":\n";
      if (next(4) == 0) {  // a list of maps
        detection += "    - " + test_text() + "\n    - " + test_text() + "\n";
      } else {
        std::string first = test_text(), second = test_text();
        while (second.substr(0, second.find(':')) == first.substr(0, first.find(':'))) {
          second = test_text();
        }
        detection += "    " + first + "\n";
        if (next(2) == 0) detection += "    " + second + "\n";
      }
    }
    const char* conditions[] = {"a",
                                "a and b",
                                "a or b",
                                "a and not b",
                                "not a",
                                "(a or b) and (c or d)",
                                "1 of them",
                                "all of them",
                                "a or (b and not c)",
                                "not (a or b) or d",
                                "1 of them and not d"};
    detection += std::string("  condition: ") + conditions[next(11)] + "\n";
    if (!yaml.empty()) yaml += "---\n";
    yaml += Rule("r" + std::to_string(r), detection);
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("random.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  ASSERT_EQ(indexed.loaded(), 200u);
  const char* addresses[] = {"10.10.1.5",  "10.20.3.9",   "10.20.7.1",  "10.30.1.7",
                             "192.0.2.44", "203.0.113.5", "2001:db8::1"};
  size_t matches = 0;
  for (int i = 0; i < 3000; ++i) {
    Event e = Conn(addresses[next(7)], addresses[next(7)],
                   static_cast<uint16_t>(std::stoi(ports[next(7)])),
                   next(2) == 0 ? InputFormat::kZeekJson : InputFormat::kNetfilter);
    if (e.format == InputFormat::kNetfilter) e.type = LogType::kFirewall;
    e.sport = static_cast<uint16_t>(std::stoi(ports[next(7)]));
    e.has_ports = next(10) != 0;
    e.proto = next(3) == 0 ? Proto::kUdp : Proto::kTcp;
    e.bytes_out = next(2000);
    const std::vector<std::string> a = Titles(indexed, e);
    ASSERT_EQ(a, Titles(plain, e)) << "event " << i;
    matches += a.size();
  }
  EXPECT_GT(matches, 1000u);
  EXPECT_LT(matches, 3000u * 200u / 2);
}

// Rules guarded by one comparison alone (threshold lists, skipped when no bound can hold): the
// same matches with the index on and off, for values at, around and beyond every bound.
TEST(SigmaRules, ThresholdListsGiveTheSameMatches) {
  const char* ops[] = {"lt", "lte", "gt", "gte"};
  const int bounds[] = {0, 1, 1024, 1025, 60000, 65535};
  std::string yaml;
  int r = 0;
  for (const char* op : ops) {
    for (int bound : bounds) {
      if (!yaml.empty()) yaml += "---\n";
      yaml += Rule("t" + std::to_string(r++), std::string("  s:\n    dst_port|") + op + ": " +
                                                  std::to_string(bound) + "\n  condition: s\n");
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("thresholds.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  size_t matches = 0;
  for (int bound : bounds) {
    for (int delta : {-1, 0, 1}) {
      const int port = bound + delta;
      if (port < 0 || port > 65535) continue;
      Event e = Conn("10.10.1.5", "10.20.3.9", static_cast<uint16_t>(port));
      const std::vector<std::string> a = Titles(indexed, e);
      ASSERT_EQ(a, Titles(plain, e)) << port;
      matches += a.size();
      e.has_ports = false;  // no value: no comparison holds
      EXPECT_TRUE(Titles(indexed, e).empty()) << port;
    }
  }
  EXPECT_GT(matches, 100u);
}

// Rules asking for a crossing from ranges of one address to ranges of the other (indexed by
// the pair of masked addresses, also with other guards and mixed prefix lengths): the same
// matches with the index on and off, over every pair of a set of addresses.
TEST(SigmaRules, AddressPairIndexGivesTheSameMatches) {
  const char* nets[] = {"10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16",
                        "10.20.3.0/24", "192.0.2.0/24", "0.0.0.0/0"};
  std::string yaml;
  int r = 0;
  for (const char* a : nets) {
    for (const char* b : nets) {
      for (const char* extra : {"", "    dst_port|lt: 1024\n", "    src_ip|startswith: '10.2'\n"}) {
        if (!yaml.empty()) yaml += "---\n";
        const int id = r++;
        yaml += Rule("p" + std::to_string(id), std::string("  sel:\n    src_ip|cidr: ") + a + "\n" +
                                                   extra + "  layer:\n    dst_ip|cidr:\n      - " +
                                                   b + "\n      - " + nets[(id * 7) % 6] +
                                                   "\n  condition: sel and layer\n");
      }
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("pairs.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  const char* addresses[] = {"10.10.1.5",  "10.20.3.9", "10.20.7.1",  "10.30.1.7",
                             "192.0.2.44", "8.8.8.8",   "2001:db8::1"};
  size_t matches = 0;
  for (const char* src : addresses) {
    for (const char* dst : addresses) {
      for (uint16_t port : {22, 443, 8080}) {
        const Event e = Conn(src, dst, port);
        const std::vector<std::string> a = Titles(indexed, e);
        ASSERT_EQ(a, Titles(plain, e)) << src << " -> " << dst << ":" << port;
        matches += a.size();
      }
    }
  }
  EXPECT_GT(matches, 100u);
}

// Rules asking for ports and address ranges together (indexed by the port and both masked
// addresses at once, or by fewer of them when the combinations would be too many: a list of 70
// ports): the same matches with the index on and off.
TEST(SigmaRules, PortAndAddressIndexGivesTheSameMatches) {
  const char* nets[] = {"10.10.0.0/16", "10.20.0.0/16", "10.20.3.0/24", "192.0.2.0/24",
                        "0.0.0.0/0"};
  std::string many_ports = "[";
  for (int p = 0; p < 70; ++p) many_ports += (p > 0 ? ", " : "") + std::to_string(400 + p);
  many_ports += "]";
  const char* port_tests[] = {"dst_port: 443", "dst_port: [22, 443, 445]", "src_port: 22",
                              "dst_port: 445"};
  const char* conditions[] = {"sel and src and dst", "sel and not src and dst",
                              "(sel or src) and dst", "sel and (src or dst)", "sel and dst"};
  std::string yaml;
  int r = 0;
  for (const char* a : nets) {
    for (const char* b : nets) {
      for (int k = 0; k < 5; ++k) {
        if (!yaml.empty()) yaml += "---\n";
        const std::string ports = k == 4 ? "dst_port: " + many_ports : port_tests[k];
        const int id = r++;
        yaml += Rule("q" + std::to_string(id),
                     "  sel:\n    " + ports + "\n  src:\n    src_ip|cidr: " + a +
                         "\n  dst:\n    dst_ip|cidr:\n      - " + b + "\n      - " +
                         nets[(id * 3) % 5] + "\n  condition: " + conditions[id % 5] + "\n");
      }
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("ports.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  const char* addresses[] = {"10.10.1.5",  "10.20.3.9", "10.20.7.1",
                             "192.0.2.44", "8.8.8.8",   "2001:db8::1"};
  size_t matches = 0;
  for (const char* src : addresses) {
    for (const char* dst : addresses) {
      for (uint16_t port : {22, 443, 445, 469, 8080}) {
        for (bool has_ports : {true, false}) {
          Event e = Conn(src, dst, port);
          e.sport = port == 443 ? 22 : 50000;
          e.has_ports = has_ports;
          const std::vector<std::string> a = Titles(indexed, e);
          ASSERT_EQ(a, Titles(plain, e)) << src << " -> " << dst << ":" << port;
          matches += a.size();
        }
      }
    }
  }
  EXPECT_GT(matches, 100u);
}

// Checks that an index key decides by its own value (a range of an address the key fixes, a
// port the key is): dropped from the candidate's checks when they hold for every address of the
// key, and the candidate dropped from the key when they fail for it. The same matches with the
// index on and off, for checks that always hold, never hold, or hold for part of a key.
TEST(SigmaRules, ChecksAnIndexKeyDecidesGiveTheSameMatches) {
  const char* rules[] = {
      // b holds for every address of a's range: a and b is a, a and not b never matches.
      "  a:\n    src_ip|cidr: 10.20.3.0/24\n  b:\n    src_ip|cidr: [10.20.0.0/16, 192.0.2.0/24]\n"
      "  condition: a and b\n",
      "  a:\n    src_ip|cidr: 10.20.3.0/24\n  b:\n    src_ip|cidr: [10.20.0.0/16, 192.0.2.0/24]\n"
      "  condition: a and not b\n",
      // A veto decided per key: port 445 denied, port 22 kept.
      "  a:\n    dst_port: [445, 22]\n  b:\n    dst_port: 445\n  condition: a and not b\n",
      // Disjoint ranges in two entries: never.
      "  a:\n    src_ip|cidr: 10.10.0.0/16\n  b:\n    src_ip|cidr: 10.20.0.0/16\n"
      "  condition: a and b\n",
      // Part of a key's range: decided per address, not per key.
      "  a:\n    dst_ip|cidr: 10.10.0.0/16\n  b:\n    dst_ip|cidr: 10.10.2.0/24\n"
      "  condition: a and not b\n",
      "  a:\n    dst_ip|cidr: 10.10.0.0/16\n    dst_port: [22, 445]\n  b:\n"
      "    dst_ip|cidr: [10.10.0.0/17, 10.0.0.0/8]\n    dst_port: 22\n  condition: a and b\n",
  };
  std::string yaml;
  int r = 0;
  for (const char* rule : rules) {
    if (!yaml.empty()) yaml += "---\n";
    yaml += Rule("k" + std::to_string(r++), rule);
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("keys.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  const char* addresses[] = {"10.20.3.9", "10.20.7.1",   "192.0.2.44", "10.10.2.20",
                             "10.10.9.1", "10.10.200.1", "8.8.8.8",    "2001:db8::1"};
  std::set<std::string> matched;
  for (const char* src : addresses) {
    for (const char* dst : addresses) {
      for (uint16_t port : {22, 445, 8080}) {
        const Event e = Conn(src, dst, port);
        const std::vector<std::string> a = Titles(indexed, e);
        ASSERT_EQ(a, Titles(plain, e)) << src << " -> " << dst << ":" << port;
        matched.insert(a.begin(), a.end());
      }
    }
  }
  // Every rule that can match did, and those that cannot did not.
  EXPECT_EQ(matched, (std::set<std::string>{"k0", "k2", "k4", "k5"}));
}

// Rules that deny numbers ("… and not filter"): an event with one of the filter's numbers is
// passed over before the rule is evaluated when the filter is exactly its numbers; the same
// matches as evaluating every rule, with ports present or not.
TEST(SigmaRules, DeniedNumbersGiveTheSameMatches) {
  const char* filters[] = {
      "    dst_port: [25, 53, 443]\n",
      "    - dst_port: 25\n    - src_port: 22\n",            // maps: one exact test each
      "    dst_port: 443\n    src_ip|cidr: 10.20.0.0/16\n",  // two tests: not exact
      "    dst_port|lt: 100\n",                              // not numbers
      "    cs-bytes: 1200\n",
      "    dst_port: '4*'\n",  // a pattern
  };
  const char* conditions[] = {"sel and not filter", "(sel and not filter) and layer",
                              "not filter and sel", "sel and not (filter or layer)",
                              "sel or not filter"};
  std::string yaml;
  int r = 0;
  for (const char* filter : filters) {
    for (const char* condition : conditions) {
      if (!yaml.empty()) yaml += "---\n";
      yaml += Rule("v" + std::to_string(r++),
                   std::string("  sel:\n    dst_port|lt: 1024\n  filter:\n") + filter +
                       "  layer:\n    src_ip|cidr: 10.20.0.0/16\n    dst_ip|cidr: 10.10.0.0/16\n"
                       "  condition: " +
                       condition + "\n");
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("vetoes.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  size_t matches = 0;
  for (const char* src : {"10.20.3.9", "10.30.1.7"}) {
    for (uint16_t port : {22, 25, 53, 443, 445, 2000}) {
      for (uint16_t sport : {22, 50000}) {
        for (bool has_ports : {true, false}) {
          Event e = Conn(src, "10.10.1.5", port);
          e.sport = sport;
          e.has_ports = has_ports;
          e.bytes_out = port == 25 ? 1200 : 900;
          const std::vector<std::string> a = Titles(indexed, e);
          ASSERT_EQ(a, Titles(plain, e)) << src << ":" << sport << " -> " << port;
          matches += a.size();
        }
      }
    }
  }
  EXPECT_GT(matches, 50u);
}

// Text patterns are checked before a rule is evaluated, also after a comparison that finds the
// rule (dst_port > 1024 and dst_ip ending in .98): the same matches as evaluating every rule.
TEST(SigmaRules, PatternChecksGiveTheSameMatches) {
  const char* patterns[] = {"dst_ip|endswith: '.9'",
                            "src_ip|startswith: '10.20.'",
                            "dst_ip|contains: '.1.'",
                            "dst_ip|contains: '.10.1.'",
                            "dst_ip|endswith: '.2.3'",
                            "src_ip: 10.30.1.7",
                            "src_ip|startswith: '010.'",
                            "proto: TCP",
                            "proto|cased: TCP",
                            "dst_ip: '10.1?.*'",
                            "src_ip|contains|all: [10., .3]",
                            "dst_port: '4*'"};
  const char* others[] = {"dst_port|gt: 400", "dst_port|lte: 443", "src_ip|cidr: 10.20.0.0/16",
                          "dst_port: [22, 445]"};
  const char* conditions[] = {"a and b", "a and not b", "not a and b", "a or b", "b and a"};
  std::string yaml;
  int r = 0;
  for (const char* a : patterns) {
    for (const char* b : others) {
      for (const char* condition : conditions) {
        if (!yaml.empty()) yaml += "---\n";
        yaml += Rule("t" + std::to_string(r++), std::string("  a:\n    ") + a + "\n  b:\n    " + b +
                                                    "\n  condition: " + condition + "\n");
      }
    }
  }
  TwoWays loaded;
  ASSERT_NO_FATAL_FAILURE(LoadTwoWays("patterns.yml", yaml, loaded));
  const SigmaRules& indexed = *loaded.indexed;
  const SigmaRules& plain = *loaded.plain;
  size_t matches = 0;
  for (const char* src : {"10.20.3.9", "10.30.1.7", "2001:db8::1"}) {
    for (const char* dst : {"10.10.1.9", "10.1.2.3", "8.8.8.8"}) {
      for (uint16_t port : {22, 443, 445, 2000}) {
        for (bool has_ports : {true, false}) {
          Event e = Conn(src, dst, port);
          e.has_ports = has_ports;
          e.proto = port == 22 ? Proto::kUdp : Proto::kTcp;
          const std::vector<std::string> a = Titles(indexed, e);
          ASSERT_EQ(a, Titles(plain, e)) << src << " -> " << dst << ":" << port;
          matches += a.size();
        }
      }
    }
  }
  EXPECT_GT(matches, 200u);
}

// ---- rules that are listed, not used ---------------------------------------------------------

TEST(SigmaRules, UnsupportedRulesAreListedWithTheReason) {
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port|utf16le: 1\n  condition: s\n")),
            "the modifier \"utf16le\" is not supported.");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port: 1\n  condition: s | count() > 5\n")),
            "aggregation conditions (| count() and the like) are not supported.");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port: 1\n  condition: s near s\n")),
            "the \"near\" condition is not supported.");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port: 1\n  condition: near s\n")),
            "the \"near\" condition is not supported.");
  EXPECT_EQ(
      UnsupportedReason(Rule("t", "  s:\n    dst_port: 1\n  timeframe: 5m\n  condition: s\n")),
      "timeframe (aggregation over time) is not supported.");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port: 1\n  condition: 2 of s\n")),
            "\"2 of\" is not supported (only 1 of and all of).");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    Image|endswith: '\\cmd.exe'\n  condition: s\n",
                                   "{category: process_creation, product: windows}")),
            "the log source (category: process_creation) is not a network log Mamori reads "
            "(firewall, proxy, dns, zeek only).");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    qtype_name: TXT\n  condition: s\n",
                                   "{product: zeek, service: dns}")),
            "the field \"qtype_name\" has no mapping in any input format of the rule's log "
            "source (zeek, zeek-json).");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    x: 1\n  condition: s\n",
                                   "{product: zeek, service: kerberos}")),
            "logsource service \"kerberos\" is a log Mamori does not read (conn, dns, http, ssl "
            "only).");
  EXPECT_EQ(UnsupportedReason("title: c\nid: x\ncorrelation:\n  type: event_count\n"),
            "correlation rules are not supported.");
  EXPECT_EQ(UnsupportedReason(
                Rule("t", "  s:\n    query|re: '(a)\\1'\n  condition: s\n", "{category: dns}"))
                .substr(0, 43),
            "RE2 cannot compile the regular expression (");
  EXPECT_EQ(UnsupportedReason(Rule("t", "  s:\n    dst_port|re|contains: x\n  condition: s\n")),
            "this combination of modifiers is not supported.");

  // The listing names file, line, id and title; other rules in the file are still used.
  auto rules = Load(Rule("good", "  s:\n    dst_port: 445\n  condition: s\n") + "---\n" +
                    Rule("bad", "  s:\n    dst_port|utf16le: 1\n  condition: s\n"));
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(rules->loaded(), 1u);
  ASSERT_EQ(rules->unsupported().size(), 1u);
  const SigmaUnsupported& u = rules->unsupported()[0];
  EXPECT_EQ(u.file, "r.yml");
  EXPECT_EQ(u.line, 14);  // the value of dst_port|utf16le in the second document
  EXPECT_EQ(u.title, "bad");
  EXPECT_EQ(u.reason, "修飾子「utf16le」には対応していません。");
  const std::string text = SigmaRulesToText(*rules);
  EXPECT_NE(text.find("1 件を評価 (evaluated), 1 件は評価できません"), std::string::npos) << text;
  EXPECT_NE(text.find("r.yml:14: 00000000-0000-4000-8000-000000000001 「bad」: 修飾子"),
            std::string::npos)
      << text;
}

TEST(SigmaRules, BrokenFilesAreErrorsWithFileAndLine) {
  EXPECT_EQ(ErrorOf("title: t\ndetection: [\n"),
            "r.yml:3: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), "r.yml:1: not a Sigma rule (a YAML map is needed).");
  EXPECT_EQ(ErrorOf("name: x\nversion: 2\n"), "r.yml:1: not a Sigma rule (no detection).");
  EXPECT_EQ(ErrorOf(""), "r.yml:1: no Sigma rule in the file (it is empty).");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n  condition: s and t\n")),
            "r.yml:7: the condition names \"t\", which detection does not define.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n  condition: s and\n")),
            "r.yml:7: expected an identifier or \"(\" at \"(終わり)\" in the condition: s and");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n  condition: (s\n")),
            "r.yml:7: expected \")\" at \"(終わり)\" in the condition: (s");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n")), "r.yml:5: detection has no condition.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_ip|cidr: 10.0.0.0/33\n  condition: s\n")),
            "r.yml:6: the cidr value \"10.0.0.0/33\" is not an address range.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port:\n      a: 1\n  condition: s\n")),
            "r.yml:7: the value of \"dst_port\" cannot be a map.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n  condition: s\n", "{category: firewall}",
                         "level: urgent\n")),
            "r.yml:4: level \"urgent\" is none of informational, low, medium, high, critical.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port: 1\n    dst_port: 2\n  condition: s\n")),
            "r.yml:7: duplicate key \"dst_port\" in detection の項目.");
  EXPECT_EQ(ErrorOf(Rule("t", "  s:\n    dst_port|gt: many\n  condition: s\n")),
            "r.yml:6: the comparison value \"many\" is not a number.");
  EXPECT_EQ(ErrorOf("logsource: {category: dns}\ndetection:\n  s: {query: a}\n  condition: s\n"),
            "r.yml:1: the rule has no title.");
}

// yaml-cpp 0.7's LoadAll loops forever (allocating) on this input, found by monitor_sigma_fuzz;
// documents are split and loaded one by one instead.
TEST(SigmaRules, InputsThatHungYamlCppLoadAll) {
  std::string text = "!tdgltzwzyyxbvd2vyc2hlbz";
  text.append(69, 'z');
  text += ",zzz\xff\x1fzzzzzzzzzzzZ";
  text.append(38, 'z');
  text += "tt\n";
  EXPECT_EQ(ErrorOf(text), "r.yml:1: not a Sigma rule (a YAML map is needed).");
}

TEST(SigmaRules, DocumentsKeepTheirLineNumbers) {
  const std::string yaml = "%YAML 1.2\n---\n" +
                           Rule("one", "  s:\n    dst_port: 445\n  condition: s\n") +
                           "...\n---\n# comment\n\n" +
                           Rule("two", "  s:\n    dst_port|nope: 1\n  condition: s\n") + "---\n";
  auto rules = Load(yaml);
  ASSERT_TRUE(rules.ok()) << rules.error().message_en;
  EXPECT_EQ(rules->loaded(), 1u);
  ASSERT_EQ(rules->unsupported().size(), 1u);
  EXPECT_EQ(rules->unsupported()[0].line, 19);  // "    dst_port|nope: 1"
  EXPECT_EQ(ErrorOf("# c\n---\ntitle: b\nlogsource: [\n"),
            "r.yml:5: not valid YAML: end of sequence flow not found");
}

// ---- the shipped rule pack -------------------------------------------------------------------

TEST(SigmaRules, ShippedPackLoadsCompletely) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(MAMORI_SOURCE_DIR) / "catalog/sigma";
  std::vector<SigmaFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".yml" && ext != ".yaml") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    files.push_back({entry.path().filename().string(), text.str()});
  }
  ASSERT_GE(files.size(), 8u);
  ASSERT_LE(files.size(), 15u);
  auto rules = SigmaRules::Load(files);
  ASSERT_TRUE(rules.ok()) << rules.error().message_en;
  for (const SigmaUnsupported& u : rules->unsupported()) {
    ADD_FAILURE() << u.file << ":" << u.line << ": " << u.reason_en;
  }
  EXPECT_EQ(rules->loaded(), files.size());
}

}  // namespace
}  // namespace mamori::monitor
