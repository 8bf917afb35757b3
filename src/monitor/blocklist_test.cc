#include "monitor/blocklist.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

Result<Blocklist> Load(std::string text, std::string name = "bl.txt") {
  const std::vector<BlocklistFile> files = {{std::move(name), std::move(text)}};
  return Blocklist::Load(files);
}

TEST(Blocklist, AddressesRangesAndDomains) {
  auto list = Load(
      "# 遮断リスト\n"
      "\n"
      "192.0.2.1\n"
      "198.51.100.0/24   # a range\n"
      "Evil.Example.\n"
      "*.bad.example\n"
      ".worse.example\n");
  ASSERT_TRUE(list.ok()) << list.error().message_en;
  EXPECT_EQ(list->address_entries(), 2u);
  EXPECT_EQ(list->domain_entries(), 3u);
  auto m = list->MatchAddress(*netsep::ParseIpv4("192.0.2.1"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "192.0.2.1");
  EXPECT_EQ(m->file, "bl.txt");
  EXPECT_EQ(m->line, 3u);
  EXPECT_FALSE(list->MatchAddress(*netsep::ParseIpv4("192.0.2.2")));
  m = list->MatchAddress(*netsep::ParseIpv4("198.51.100.200"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "198.51.100.0/24");
  EXPECT_EQ(m->line, 4u);
  m = list->MatchDomain("WWW.evil.example.");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "evil.example");
  EXPECT_EQ(m->line, 5u);
  EXPECT_TRUE(list->MatchDomain("bad.example"));
  EXPECT_TRUE(list->MatchDomain("a.b.worse.example"));
  EXPECT_FALSE(list->MatchDomain("notevil.example"));
  EXPECT_FALSE(list->MatchDomain("example"));
  EXPECT_FALSE(list->MatchDomain(""));
  EXPECT_FALSE(list->MatchDomain(std::string(300, 'a')));
}

// IPv6 entries (threat feeds list them beside IPv4 ones): addresses and networks, the most
// specific wins, and an event's IPv6 source or destination finds them.
TEST(Blocklist, Ipv6AddressesAndNetworks) {
  auto list = Load(
      "2001:db8::/32\n"
      "2001:db8:1::/48\n"
      "2001:DB8:2::5\n"
      "::ffff:192.0.2.9\n"
      "192.0.2.1\n");
  ASSERT_TRUE(list.ok()) << list.error().message_en;
  EXPECT_EQ(list->address_entries(), 5u);
  PrefixMap6::Address a;
  ASSERT_TRUE(ParseIpv6("2001:db8:1:ffff::7", a));
  auto m = list->MatchAddress6(a);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "2001:db8:1::/48");  // not the wider /32
  EXPECT_EQ(m->line, 2u);
  ASSERT_TRUE(ParseIpv6("2001:db8:ffff::1", a));
  m = list->MatchAddress6(a);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "2001:db8::/32");
  ASSERT_TRUE(ParseIpv6("2001:db9::1", a));
  EXPECT_FALSE(list->MatchAddress6(a));
  // An event's addresses as the logs write them (also in brackets, as Squid does).
  Address dst;
  SetAddress(dst, "2001:db8:2::5");
  m = list->MatchAddress(dst);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->entry, "2001:DB8:2::5");
  SetAddress(dst, "[2001:db8:2::5]");
  EXPECT_TRUE(list->MatchAddress(dst));
  SetAddress(dst, "2001:db8:2::6");
  EXPECT_TRUE(list->MatchAddress(dst));  // in 2001:db8::/32
  SetAddress(dst, "::ffff:192.0.2.9");
  EXPECT_TRUE(list->MatchAddress(dst));
  SetAddress(dst, "192.0.2.1");
  EXPECT_TRUE(list->MatchAddress(dst));  // IPv4 through the same call
  SetAddress(dst, "fe80::1");
  EXPECT_FALSE(list->MatchAddress(dst));
}

TEST(Blocklist, InvalidLinesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c :
       {Case{"good.example\n10.0.0.1/8\n", "bl.txt:2: "}, Case{"300.1.1.1\n", "bl.txt:1: "},
        Case{"\n\nexa mple.com\n", "bl.txt:3: "}, Case{"2001:db8::1/32\n", "bl.txt:1: not an IPv6"},
        Case{"ok.example\n2001:db8::/129\n", "bl.txt:2: not an IPv6"},
        Case{"2001:db8::/032\n", "bl.txt:1: "}, Case{"2001:db8:::1\n", "bl.txt:1: "},
        Case{"[2001:db8::1]\n", "bl.txt:1: "}, Case{"bad_域名.jp\n", "bl.txt:1: "},
        Case{"a..b\n", "bl.txt:1: "}, Case{"1.2.3\n", "bl.txt:1: "}}) {
    SCOPED_TRACE(c.text);
    auto list = Load(c.text);
    ASSERT_FALSE(list.ok());
    EXPECT_EQ(list.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(list.error().message_en.rfind(c.message, 0), 0u) << list.error().message_en;
  }
}

// Bare address, network and lower-case domain lines are read at once; a comment after the entry
// sends the same line through the general path. Both must give the same list (entries, files,
// lines) or the same error.
TEST(Blocklist, BareLinesReadAsTheGeneralPathReadsThem) {
  std::mt19937_64 rng(11);
  const std::string alphabet = "0123456789....//abcxyzXY-_*:";
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> lines;
    for (int i = 0; i < 40; ++i) {
      std::string t;
      switch (rng() % 4) {
        case 0: {  // an address or network, maybe changed
          const int length = static_cast<int>(rng() % 33);
          uint32_t address = static_cast<uint32_t>(rng());
          if (rng() % 8 != 0) address &= length == 0 ? 0 : ~uint32_t{0} << (32 - length);
          t = netsep::FormatIpv4(address);
          if (rng() % 2 == 0) t += "/" + std::to_string(length);
          if (rng() % 10 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
          break;
        }
        case 1:  // a domain, maybe changed
          t = "host" + std::to_string(rng() % 1000) +
              (rng() % 2 == 0 ? ".example" : ".Ex-a_mple.jp");
          if (rng() % 10 == 0) t[rng() % t.size()] = alphabet[rng() % alphabet.size()];
          if (rng() % 10 == 0) t = (rng() % 2 == 0 ? "*." : ".") + t;
          if (rng() % 10 == 0) t += '.';
          break;
        case 2:  // a long label or name
          t = std::string(50 + rng() % 30, 'a') + "." + std::string(rng() % 200, 'b') + ".jp";
          break;
        default:
          for (size_t k = 0, n = rng() % 20; k < n; ++k) t += alphabet[rng() % alphabet.size()];
      }
      lines.push_back(std::move(t));
    }
    std::string bare, commented;
    for (const std::string& line : lines) {
      bare += line + "\n";
      commented += line + " # entry\n";
    }
    if (round % 2 == 1) {  // the last line without its newline: read up to the file's end
      bare.pop_back();
      commented.pop_back();
    }
    SCOPED_TRACE(bare);
    auto fast = Load(bare);
    auto general = Load(commented);
    ASSERT_EQ(fast.ok(), general.ok());
    if (!fast.ok()) {
      EXPECT_EQ(fast.error().message_en, general.error().message_en);
      continue;
    }
    EXPECT_EQ(fast->address_entries(), general->address_entries());
    EXPECT_EQ(fast->domain_entries(), general->domain_entries());
    auto same = [](const std::optional<Blocklist::Match>& a,
                   const std::optional<Blocklist::Match>& b) {
      ASSERT_EQ(a.has_value(), b.has_value());
      if (!a) return;
      EXPECT_EQ(a->entry, b->entry);
      EXPECT_EQ(a->file, b->file);
      EXPECT_EQ(a->line, b->line);
    };
    for (const std::string& line : lines) {
      same(fast->MatchDomain(line), general->MatchDomain(line));
      const size_t slash = line.find('/');
      if (const auto v4 = netsep::ParseIpv4(line.substr(0, slash))) {
        same(fast->MatchAddress(*v4), general->MatchAddress(*v4));
        same(fast->MatchAddress(*v4 + 1), general->MatchAddress(*v4 + 1));
      }
    }
  }
}

TEST(Blocklist, AMillionEntries) {
  std::string addresses;
  std::string domains;
  for (uint32_t i = 0; i < 500000; ++i) {
    addresses += netsep::FormatIpv4(0x0B000000u + i * 4) + "\n";
    domains += "host" + std::to_string(i) + ".example\n";
  }
  const std::vector<BlocklistFile> files = {{"a.txt", addresses}, {"d.txt", domains}};
  auto list = Blocklist::Load(files);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->address_entries(), 500000u);
  EXPECT_EQ(list->domain_entries(), 500000u);
  EXPECT_TRUE(list->MatchAddress(0x0B000000u + 4 * 499999));
  EXPECT_FALSE(list->MatchAddress(0x0B000000u + 4 * 499999 + 1));
  auto m = list->MatchDomain("www.host123456.example");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->file, "d.txt");
  EXPECT_EQ(m->line, 123457u);
  EXPECT_FALSE(list->MatchDomain("host500000.example"));
}

}  // namespace
}  // namespace mamori::monitor
