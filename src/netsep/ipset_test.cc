#include "netsep/ipset.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netsep/evaluator.h"
#include "netsep/iptables.h"
#include "netsep/space.h"

namespace mamori::netsep {
namespace {

std::vector<SetDirection> Flags(std::string_view text) {
  std::vector<SetDirection> out;
  for (size_t i = 0; i < text.size(); i += 4) {
    out.push_back(text.substr(i, 3) == "src" ? SetDirection::kSrc : SetDirection::kDst);
  }
  return out;
}

uint32_t Ip(std::string_view text) { return *ParseIpv4(text); }

std::string ErrorOf(const std::string& text) {
  Result<Ipsets> r = Ipsets::Parse(text, "fw.ipset");
  return r.ok() ? std::string("(parsed)") : r.error().message_en;
}

struct Packet {
  std::string src;
  std::string dst;
  uint64_t proto = 6;
  uint64_t sport = 40000;
  uint64_t dport = 80;
};

// Parses an ipset file and answers whether --match-set matches packets, through the evaluator.
class IpsetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Space::Open();
    ASSERT_TRUE(opened.ok());
    space_ = std::move(opened).value();
    eval_ = std::make_unique<Evaluator>(*space_);
  }
  void TearDown() override {
    eval_.reset();
    space_.reset();
  }

  void Load(const std::string& text) {
    Result<Ipsets> r = Ipsets::Parse(text, "fw.ipset");
    ASSERT_TRUE(r.ok()) << r.error().message_en;
    sets_ = *r;
  }

  // The set that `--match-set name flags` matches (empty and `unknown` set when not modelled).
  Set MatchOf(std::string_view name, std::string_view flags, bool return_nomatch = false) {
    Result<SetMatch> m = sets_.Match(name, Flags(flags), return_nomatch);
    EXPECT_TRUE(m.ok()) << m.error().message_en;
    if (!m.ok()) return space_->None();
    unknown_ = m->unknown;
    if (!m->unknown.empty()) return space_->None();
    Rule rule;
    Match match;
    match.kind = MatchKind::kHeaderSet;
    match.header_set = m->set;
    rule.matches.push_back(match);
    bool may = false;
    return eval_->MatchSet(rule, Context{}, may);
  }

  bool Has(const Set& set, const Packet& p) const {
    const Space& s = *space_;
    const Set point = s.Value(Field::kSrc, Ip(p.src)) & s.Value(Field::kDst, Ip(p.dst)) &
                      s.Value(Field::kProto, p.proto) & s.Value(Field::kSport, p.sport) &
                      s.Value(Field::kDport, p.dport);
    return !(set & point).IsEmpty();
  }

  std::unique_ptr<Space> space_;
  std::unique_ptr<Evaluator> eval_;
  Ipsets sets_;
  std::string unknown_;
};

TEST_F(IpsetTest, ReadsIpsetSaveOutput) {
  Load(
      "create t hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval "
      "0xc07fc2d0\n"
      "add t 10.0.0.0/8\n"
      "add t 10.1.0.0/16 nomatch\n"
      "create p hash:ip,port family inet hashsize 1024 maxelem 65536 counters comment\n"
      "add p 10.0.0.1,udp:55 packets 3 bytes 100 comment \"dns, too\"\n"
      "\n"
      "# a comment\n"
      "create l list:set size 8\n"
      "add l t\n");
  EXPECT_EQ(sets_.Names(), (std::vector<std::string>{"t", "p", "l"}));
  EXPECT_TRUE(sets_.Contains("p"));
  EXPECT_FALSE(sets_.Contains("q"));
  const Set p = MatchOf("p", "dst,dst");
  EXPECT_TRUE(unknown_.empty()) << unknown_;
  EXPECT_TRUE(Has(p, {"1.1.1.1", "10.0.0.1", 17, 1000, 55}));
  EXPECT_FALSE(Has(p, {"1.1.1.1", "10.0.0.1", 6, 1000, 55}));  // tcp:55 is not udp:55
}

// The most specific entry decides (the kernel tries the longest prefix first), whatever the
// order of the lines.
TEST_F(IpsetTest, HashNetNomatchTheMostSpecificEntryDecides) {
  for (const char* text : {"create a hash:net\nadd a 10.0.0.0/8\nadd a 10.1.0.0/16 nomatch\n"
                           "add a 10.1.2.0/24\nadd a 10.1.2.3 nomatch\n",
                           "create a hash:net\nadd a 10.1.2.3 nomatch\nadd a 10.1.2.0/24\n"
                           "add a 10.1.0.0/16 nomatch\nadd a 10.0.0.0/8\n"}) {
    SCOPED_TRACE(text);
    Load(text);
    const Set src = MatchOf("a", "src");
    EXPECT_TRUE(Has(src, {"10.2.0.1", "1.1.1.1"}));
    EXPECT_FALSE(Has(src, {"10.1.0.1", "1.1.1.1"}));
    EXPECT_TRUE(Has(src, {"10.1.2.1", "1.1.1.1"}));
    EXPECT_FALSE(Has(src, {"10.1.2.3", "1.1.1.1"}));
    EXPECT_FALSE(Has(src, {"11.0.0.1", "1.1.1.1"}));
    // --return-nomatch: the packets a nomatch entry decides, only those.
    const Set inverted = MatchOf("a", "src", true);
    EXPECT_FALSE(Has(inverted, {"10.2.0.1", "1.1.1.1"}));
    EXPECT_TRUE(Has(inverted, {"10.1.0.1", "1.1.1.1"}));
    EXPECT_FALSE(Has(inverted, {"10.1.2.1", "1.1.1.1"}));
    EXPECT_TRUE(Has(inverted, {"10.1.2.3", "1.1.1.1"}));
    EXPECT_FALSE(Has(inverted, {"11.0.0.1", "1.1.1.1"}));
    // The destination instead.
    const Set dst = MatchOf("a", "dst");
    EXPECT_TRUE(Has(dst, {"1.1.1.1", "10.2.0.1"}));
    EXPECT_FALSE(Has(dst, {"10.2.0.1", "1.1.1.1"}));
  }
}

// `ipset add a 10.0.0.0-10.0.0.5` stores 10.0.0.0/30 and 10.0.0.4/31; the nomatch /32 beats the
// /31 (as `ipset test` says on a real kernel).
TEST_F(IpsetTest, RangesAddedToANetTypeBecomePrefixes) {
  Load("create a hash:net\nadd a 10.0.0.0-10.0.0.5\nadd a 10.0.0.4 nomatch\n");
  const Set s = MatchOf("a", "dst");
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.3"}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.4"}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.5"}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.6"}));
}

// An entry added twice (which `ipset restore -exist` allows): the later line counts.
TEST_F(IpsetTest, AnEntryAddedTwiceCountsAsTheLaterLineSays) {
  Load(
      "create a hash:net\nadd a 10.0.0.0/8\nadd a 10.0.0.0/8 nomatch\n"
      "create b hash:net\nadd b 10.0.0.0/8 nomatch\nadd b 10.0.0.0/8\n"
      "create c hash:net,port\nadd c 10.0.0.0/24,tcp:80-85 nomatch\nadd c 10.0.0.0/24,tcp:82\n"
      "add c 10.0.0.0/16,tcp:80-90\n");
  EXPECT_FALSE(Has(MatchOf("a", "src"), {"10.1.1.1", "1.1.1.1"}));
  EXPECT_TRUE(Has(MatchOf("b", "src"), {"10.1.1.1", "1.1.1.1"}));
  const Set c = MatchOf("c", "src,dst");
  EXPECT_TRUE(Has(c, {"10.0.0.1", "1.1.1.1", 6, 1000, 82}));
  EXPECT_FALSE(Has(c, {"10.0.0.1", "1.1.1.1", 6, 1000, 81}));
  EXPECT_TRUE(Has(c, {"10.0.0.1", "1.1.1.1", 6, 1000, 86}));  // only the /16 entry
  EXPECT_TRUE(Has(c, {"10.0.1.1", "1.1.1.1", 6, 1000, 81}));
}

TEST_F(IpsetTest, HashIpPortMatchesTheProtocolAndPortOfThePacket) {
  Load(
      "create p hash:ip,port\n"
      "add p 10.0.0.1,tcp:80\n"
      "add p 10.0.0.1,udp:53-55\n"
      "add p 10.0.0.2,443\n"    // no protocol: tcp
      "add p 10.0.0.3,gre:0\n"  // a protocol without ports
      "add p 10.0.0.4-10.0.0.5,http\n"
      "add p 10.0.1.0/30,udp:9\n");
  const Set s = MatchOf("p", "dst,dst");
  EXPECT_TRUE(unknown_.empty()) << unknown_;
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.1", 6, 40000, 80}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.1", 17, 40000, 80}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.1", 6, 40000, 81}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.1", 6, 53, 54}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.1", 17, 40000, 54}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.1", 17, 40000, 56}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.2", 6, 40000, 443}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.2", 17, 40000, 443}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.3", 47, 0, 0}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.0.3", 50, 0, 0}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.0.5", 6, 40000, 80}));
  EXPECT_TRUE(Has(s, {"1.1.1.1", "10.0.1.3", 17, 40000, 9}));
  EXPECT_FALSE(Has(s, {"1.1.1.1", "10.0.1.4", 17, 40000, 9}));
  // dst,src: the destination address and the source port.
  const Set mixed = MatchOf("p", "dst,src");
  EXPECT_TRUE(Has(mixed, {"1.1.1.1", "10.0.0.1", 6, 80, 40000}));
  EXPECT_FALSE(Has(mixed, {"1.1.1.1", "10.0.0.1", 6, 40000, 80}));
}

// The kernel tests a set only with at least as many directions as dimensions; more are ignored.
TEST_F(IpsetTest, TooFewDirectionsNeverMatchAndExtraOnesAreIgnored) {
  Load("create p hash:ip,port\nadd p 10.0.0.1,tcp:80\n");
  EXPECT_TRUE(MatchOf("p", "dst").IsEmpty());
  EXPECT_TRUE(unknown_.empty());
  EXPECT_EQ(MatchOf("p", "dst,dst,src,src"), MatchOf("p", "dst,dst"));
}

TEST_F(IpsetTest, NetmaskAndBitmask) {
  Load(
      "create nm hash:ip family inet netmask 24\n"
      "add nm 10.0.0.5\n"
      "create bm hash:ip family inet bitmask 255.255.0.255\n"
      "add bm 10.1.2.3\n"
      "create pm hash:ip,port netmask 16\n"
      "add pm 10.9.8.7,tcp:22\n");
  const Set nm = MatchOf("nm", "src");
  EXPECT_TRUE(Has(nm, {"10.0.0.200", "1.1.1.1"}));
  EXPECT_FALSE(Has(nm, {"10.0.1.5", "1.1.1.1"}));
  const Set bm = MatchOf("bm", "src");
  EXPECT_TRUE(Has(bm, {"10.1.77.3", "1.1.1.1"}));
  EXPECT_FALSE(Has(bm, {"10.1.77.4", "1.1.1.1"}));
  const Set pm = MatchOf("pm", "dst,dst");
  EXPECT_TRUE(Has(pm, {"1.1.1.1", "10.9.0.1", 6, 1000, 22}));
  EXPECT_FALSE(Has(pm, {"1.1.1.1", "10.8.0.1", 6, 1000, 22}));
}

TEST_F(IpsetTest, Bitmaps) {
  Load(
      "create b bitmap:ip range 10.0.0.0-10.0.255.255 netmask 24\n"
      "add b 10.0.3.0\n"
      "create c bitmap:ip range 192.168.0.0/24\n"
      "add c 192.168.0.10-192.168.0.12\n"
      "create p bitmap:port range 0-1024\n"
      "add p 22\n"
      "add p tcp:80-81\n");
  const Set b = MatchOf("b", "dst");
  EXPECT_TRUE(Has(b, {"1.1.1.1", "10.0.3.77"}));
  EXPECT_FALSE(Has(b, {"1.1.1.1", "10.0.4.1"}));
  const Set c = MatchOf("c", "src");
  EXPECT_TRUE(Has(c, {"192.168.0.12", "1.1.1.1"}));
  EXPECT_FALSE(Has(c, {"192.168.0.13", "1.1.1.1"}));
  // bitmap:port: the port of a tcp or udp packet (the protocol in an entry is not kept).
  const Set p = MatchOf("p", "dst");
  EXPECT_TRUE(Has(p, {"1.1.1.1", "2.2.2.2", 6, 1000, 22}));
  EXPECT_TRUE(Has(p, {"1.1.1.1", "2.2.2.2", 17, 1000, 81}));
  EXPECT_FALSE(Has(p, {"1.1.1.1", "2.2.2.2", 17, 1000, 82}));
  EXPECT_FALSE(Has(p, {"1.1.1.1", "2.2.2.2", 132, 1000, 22}));
}

// hash:net,net: the longest prefix of the first dimension first, then of the second; the first
// entry found decides.
TEST_F(IpsetTest, TwoNetDimensionsTryTheFirstDimensionFirst) {
  Load(
      "create nn hash:net,net\n"
      "add nn 10.0.0.0/8,192.168.0.0/16\n"
      "add nn 10.1.0.0/16,192.168.0.0/24 nomatch\n"
      "add nn 10.0.0.0/8,172.16.0.0/24 nomatch\n"
      "add nn 10.2.0.0/16,172.16.0.0/16\n");
  const Set s = MatchOf("nn", "src,dst");
  EXPECT_TRUE(Has(s, {"10.3.0.1", "192.168.0.1"}));
  EXPECT_FALSE(Has(s, {"10.1.0.1", "192.168.0.1"}));  // (16, 24) nomatch
  EXPECT_TRUE(Has(s, {"10.1.0.1", "192.168.1.1"}));   // only (8, 16)
  EXPECT_FALSE(Has(s, {"10.3.0.1", "172.16.0.1"}));   // (8, 24) nomatch
  // (16, 16) comes before (8, 24): the first dimension's /16 wins over the second's /24.
  EXPECT_TRUE(Has(s, {"10.2.0.1", "172.16.0.1"}));
}

TEST_F(IpsetTest, ThreeDimensions) {
  Load(
      "create ipn hash:ip,port,net\n"
      "add ipn 10.0.0.1,udp:53,192.168.0.0/16\n"
      "add ipn 10.0.0.1,udp:53,192.168.5.0/24 nomatch\n"
      "create ipi hash:ip,port,ip\n"
      "add ipi 10.0.0.1,tcp:443,192.168.0.1\n"
      "create npn hash:net,port,net\n"
      "add npn 10.0.0.0/8,tcp:22,192.168.0.0/16\n");
  const Set ipn = MatchOf("ipn", "dst,dst,src");
  EXPECT_TRUE(Has(ipn, {"192.168.1.1", "10.0.0.1", 17, 1000, 53}));
  EXPECT_FALSE(Has(ipn, {"192.168.5.1", "10.0.0.1", 17, 1000, 53}));
  const Set ipi = MatchOf("ipi", "src,dst,dst");
  EXPECT_TRUE(Has(ipi, {"10.0.0.1", "192.168.0.1", 6, 1000, 443}));
  EXPECT_FALSE(Has(ipi, {"10.0.0.1", "192.168.0.2", 6, 1000, 443}));
  const Set npn = MatchOf("npn", "src,dst,dst");
  EXPECT_TRUE(Has(npn, {"10.9.9.9", "192.168.200.1", 6, 1000, 22}));
  EXPECT_FALSE(Has(npn, {"10.9.9.9", "192.168.200.1", 6, 1000, 23}));
}

TEST_F(IpsetTest, ListSetIsTheUnionOfItsMembers) {
  Load(
      "create a hash:ip\nadd a 10.0.0.1\n"
      "create b hash:net\nadd b 10.1.0.0/16\n"
      "create p hash:ip,port\nadd p 10.2.0.1,tcp:22\n"
      "create l list:set\nadd l a\nadd l b before a\nadd l p\n");
  const Set one = MatchOf("l", "dst");  // p needs two directions: never matches here
  EXPECT_TRUE(Has(one, {"1.1.1.1", "10.0.0.1"}));
  EXPECT_TRUE(Has(one, {"1.1.1.1", "10.1.9.9"}));
  EXPECT_FALSE(Has(one, {"1.1.1.1", "10.2.0.1", 6, 1000, 22}));
  const Set two = MatchOf("l", "dst,dst");
  EXPECT_TRUE(Has(two, {"1.1.1.1", "10.2.0.1", 6, 1000, 22}));
  EXPECT_TRUE(Has(two, {"1.1.1.1", "10.0.0.1"}));
}

TEST_F(IpsetTest, WhatIsNotModelledIsSaidWithFileAndLine) {
  Load(
      "create mac hash:mac\nadd mac 00:11:22:33:44:55\n"
      "create t hash:ip timeout 300\nadd t 10.0.0.1 timeout 0\n"
      "create i hash:ip,port\nadd i 10.0.0.1,icmp:echo-request\nadd i 10.0.0.1,icmp:3/4\n"
      "create s hash:ip,port\nadd s 10.0.0.1,sctp:9\n"
      "create six hash:net family inet6\nadd six 2001:db8::/32\n"
      "create l list:set\nadd l six\n"
      "create o hash:net frobnicate\nadd o 10.0.0.0/8\n");
  MatchOf("mac", "src");
  EXPECT_EQ(unknown_, "set mac: fw.ipset:1: set type hash:mac is not modelled");
  MatchOf("t", "src");
  EXPECT_EQ(unknown_.find("set t: fw.ipset:3: set with timeout"), 0u) << unknown_;
  MatchOf("i", "src,dst");
  EXPECT_EQ(unknown_,
            "set i: fw.ipset:6: ICMP elements are not modelled (they match a type and "
            "a code)");
  MatchOf("s", "src,dst");
  EXPECT_EQ(unknown_, "set s: fw.ipset:9: sctp and udplite ports are not modelled");
  MatchOf("l", "src");
  EXPECT_EQ(unknown_, "list:set l holds IPv6 set six (fw.ipset:10)");
  MatchOf("o", "src");
  EXPECT_EQ(unknown_, "set o: fw.ipset:14: create option frobnicate is not modelled");
  // iptables refuses an IPv6 set.
  Result<SetMatch> six = sets_.Match("six", Flags("src"), false);
  ASSERT_FALSE(six.ok());
  EXPECT_EQ(six.error().message_en,
            "set six is an IPv6 set (fw.ipset:10), which iptables cannot use.");
}

TEST(IpsetErrorTest, WhatIpsetRestoreRefusesIsAnErrorWithFileAndLine) {
  EXPECT_EQ(ErrorOf("add a 10.0.0.1\n"), "fw.ipset:1: set a is not created before this line.");
  EXPECT_EQ(ErrorOf("create a hash:ip\ncreate a hash:net\n"),
            "fw.ipset:2: set a is created twice.");
  EXPECT_EQ(ErrorOf("create a hash:nope\n"), "fw.ipset:1: unknown set type hash:nope.");
  EXPECT_EQ(ErrorOf("create a\n"), "fw.ipset:1: create needs a set name and a type.");
  EXPECT_EQ(ErrorOf("flush a\n"),
            "fw.ipset:1: cannot read the command flush (only the create and add lines of `ipset "
            "save` output are read).");
  EXPECT_EQ(ErrorOf("create a hash:ip\nadd a 10.0.0.1 nomatch\n"),
            "fw.ipset:2: nomatch is not valid for a set of type hash:ip.");
  EXPECT_EQ(ErrorOf("create a hash:ip\nadd a 10.0.0.256\n"),
            "fw.ipset:2: invalid element \"10.0.0.256\" for set a (hash:ip): not an address.");
  EXPECT_EQ(ErrorOf("create a hash:ip\nadd a 0.0.0.0\n"),
            "fw.ipset:2: invalid element \"0.0.0.0\" for set a (hash:ip): 0.0.0.0 cannot be "
            "stored.");
  EXPECT_EQ(ErrorOf("create a hash:net\nadd a 10.0.0.0/0\n"),
            "fw.ipset:2: invalid element \"10.0.0.0/0\" for set a (hash:net): not a network.");
  EXPECT_EQ(ErrorOf("create a hash:ip,port\nadd a 10.0.0.1\n"),
            "fw.ipset:2: invalid element \"10.0.0.1\" for set a (hash:ip,port): it needs 2 "
            "comma-separated values.");
  EXPECT_EQ(ErrorOf("create a hash:ip,port\nadd a 10.0.0.1,gre:5\n"),
            "fw.ipset:2: invalid element \"10.0.0.1,gre:5\" for set a (hash:ip,port): a protocol "
            "without ports takes the pseudo port 0 only.");
  EXPECT_EQ(ErrorOf("create a hash:ip,port\nadd a 10.0.0.1,tcp:99999\n"),
            "fw.ipset:2: invalid element \"10.0.0.1,tcp:99999\" for set a (hash:ip,port): not a "
            "port or port range.");
  EXPECT_EQ(ErrorOf("create a hash:ip,port,ip\nadd a 10.0.0.1,80,10.0.0.0/30\n"),
            "fw.ipset:2: invalid element \"10.0.0.1,80,10.0.0.0/30\" for set a (hash:ip,port,ip): "
            "not an address.");
  EXPECT_EQ(ErrorOf("create a bitmap:ip range 10.0.0.0/24\nadd a 10.0.1.1\n"),
            "fw.ipset:2: invalid element \"10.0.1.1\" for set a (bitmap:ip): outside the set's "
            "range.");
  EXPECT_EQ(ErrorOf("create a bitmap:ip\n"), "fw.ipset:1: bitmap:ip needs a range.");
  EXPECT_EQ(ErrorOf("create a bitmap:ip range 10.0.0.0/8\n"),
            "fw.ipset:1: the range is too large (65,536 values at most).");
  EXPECT_EQ(ErrorOf("create a bitmap:port range 1-100\nadd a sctp:5\n"),
            "fw.ipset:2: invalid element \"sctp:5\" for set a (bitmap:port): only tcp and udp are "
            "valid.");
  EXPECT_EQ(ErrorOf("create a hash:ip\ncreate l list:set\nadd l b\n"),
            "fw.ipset:3: invalid element \"b\" for set l (list:set): no set of that name is "
            "created before this line.");
  EXPECT_EQ(ErrorOf("create l list:set\ncreate m list:set\nadd m l\n"),
            "fw.ipset:3: invalid element \"l\" for set m (list:set): a list:set cannot hold a "
            "list:set.");
  EXPECT_EQ(ErrorOf("create a hash:ip comment\nadd a 10.0.0.1 comment \"open\n"),
            "fw.ipset:2: unterminated quotation mark.");
  EXPECT_EQ(ErrorOf("create a hash:ip\nadd a 10.0.0.1 frob\n"),
            "fw.ipset:2: unknown add option frob.");
  EXPECT_EQ(ErrorOf("create a hash:ip netmask 33\n"),
            "fw.ipset:1: invalid netmask \"33\" (1-32, not with bitmask).");
  // The Japanese message names the place too.
  Result<Ipsets> r = Ipsets::Parse("create a hash:ip\nadd b 10.0.0.1\n", "fw.ipset");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("fw.ipset:2: "), 0u) << r.error().message;
}

TEST(IpsetErrorTest, LimitsHold) {
  Result<Ipsets> big = Ipsets::Parse(std::string(kMaxConfigBytes + 1, '#'), "fw.ipset");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  // Two ranges of 62 prefixes each make 3,844 hash:net,net entries from one line.
  std::string text = "create nn hash:net,net\n";
  for (int i = 0; i < 300; ++i) {
    text += "add nn 0.0.0.1-255.255.255.254,0.0.0.1-255.255.255.254\n";
  }
  Result<Ipsets> many = Ipsets::Parse(text, "fw.ipset");
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::kTooLarge);
}

// Sets of tens of thousands of entries are built in well under a second each.
TEST_F(IpsetTest, LargeSetsStayFast) {
  std::string text = "create big hash:net\n";
  for (uint32_t i = 0; i < 40000; ++i) {
    const uint32_t a = 0x0b000000 + i * 977;
    text += "add big " + FormatIpv4(a & ~uint32_t{7}) + (i % 3 == 0 ? "/29" : "") +
            (i % 50 == 0 ? " nomatch\n" : "\n");
  }
  text += "create pairs hash:ip,port\n";
  for (uint32_t i = 0; i < 20000; ++i) {
    text +=
        "add pairs " + FormatIpv4(0x0c000000 + i * 13) + ",tcp:" + std::to_string(i % 40) + "\n";
  }
  const auto start = std::chrono::steady_clock::now();
  Load(text);
  const Set big = MatchOf("big", "src");
  const Set pairs = MatchOf("pairs", "dst,dst");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);  // about 0.3 s on one core of the CI machine
  EXPECT_TRUE(Has(big, {FormatIpv4((0x0b000000 + 977) & ~uint32_t{7}), "1.1.1.1"}));
  EXPECT_FALSE(Has(big, {FormatIpv4((0x0b000000 + 50 * 977) & ~uint32_t{7}), "1.1.1.1"}));
  EXPECT_FALSE(Has(big, {FormatIpv4((0x0b000000 + 977) | 7), "1.1.1.1"}));
  EXPECT_TRUE(Has(pairs, {"1.1.1.1", FormatIpv4(0x0c000000 + 13 * 41), 6, 1000, 1}));
  EXPECT_FALSE(Has(pairs, {"1.1.1.1", FormatIpv4(0x0c000000 + 13 * 41), 6, 1000, 2}));
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace mamori::netsep
