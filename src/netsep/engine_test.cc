#include "netsep/engine.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "netsep/engine_test_support.h"
#include "netsep/iptables.h"
#include "netsep/report.h"

namespace mamori::netsep {
namespace {

constexpr const char* kTopology = R"(
[zones.inside]
networks = ["10.0.0.0/8"]
[zones.dmz]
networks = ["10.9.0.0/16"]
[zones.outside]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { eth0 = "outside", eth1 = "inside", eth2 = "dmz" }
)";

constexpr const char* kFilterHead = "*filter\n:INPUT DROP\n:FORWARD DROP\n:OUTPUT ACCEPT\n";

Report CheckRules(const std::string& rules, const std::string& allows = "",
                  ShadowWork shadow = ShadowWork::kInline) {
  Result<Topology> topology = ParseTopology(std::string(kTopology) + allows, "topology.toml");
  EXPECT_TRUE(topology.ok()) << topology.error().message_en;
  Result<Ruleset> ruleset = ParseIptablesSave(rules, "fw.rules", "fw");
  EXPECT_TRUE(ruleset.ok()) << ruleset.error().message_en;
  Result<Report> report = Check(*topology, {*ruleset}, {}, shadow);
  EXPECT_TRUE(report.ok()) << report.error().message_en;
  return *report;
}

const MatrixEntry& Entry(const Report& r, const std::string& from, const std::string& to) {
  for (const MatrixEntry& e : r.matrix) {
    if (e.from == from && e.to == to) return e;
  }
  ADD_FAILURE() << from << "→" << to;
  return r.matrix.front();
}

TEST(EngineTest, LongestPrefixZonesAndNothingWithoutRules) {
  const Report r = CheckRules(std::string(kFilterHead) + "COMMIT\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.matrix.size(), 6u);
  for (const MatrixEntry& e : r.matrix) EXPECT_FALSE(e.reachable) << e.from << "→" << e.to;
}

TEST(EngineTest, DmzIsCarvedOutOfInside) {
  // Accept everything from eth1 to eth2: the sources are inside minus the dmz prefix.
  const Report r = CheckRules(std::string(kFilterHead) +
                              "-A FORWARD -i eth1 -o eth2 -s 10.9.0.0/16 -j ACCEPT\nCOMMIT\n");
  EXPECT_FALSE(Entry(r, "inside", "dmz").reachable);  // 10.9/16 is dmz, not inside
}

TEST(EngineTest, DnatRangeAndRedirect) {
  const std::string rules =
      "*nat\n:PREROUTING ACCEPT\n:INPUT ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n"
      "-A PREROUTING -i eth0 -p tcp --dport 80 -j REDIRECT --to-ports 3128\n"
      "-A PREROUTING -i eth0 -p udp --dport 5000:5010 -j DNAT --to-destination "
      "10.9.0.5-10.9.0.7\n"
      "COMMIT\n" +
      std::string(kFilterHead) + "-A FORWARD -i eth0 -p tcp --dport 80 -j ACCEPT\n" +
      "-A FORWARD -i eth0 -d 10.9.0.6 -p udp -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n";
  const Report r = CheckRules(rules);
  // REDIRECT (line 6) hands every tcp 80 from eth0 to the firewall itself before the filter, so
  // the tcp 80 ACCEPT (line 13) forwards nothing; udp 5000-5010 is DNATed to 10.9.0.5-7.
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);
  ASSERT_TRUE(Entry(r, "outside", "dmz").reachable);
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  EXPECT_EQ(v.witness.proto, 17);
  EXPECT_EQ(v.witness.dport, 5000);
  ASSERT_TRUE(v.witness.translated_dst.has_value());
  EXPECT_EQ(FormatIpv4(*v.witness.translated_dst), "10.9.0.6");
  EXPECT_EQ(v.path[0].rule, "fw.rules:7");
  EXPECT_EQ(v.path[0].action, "DNAT");
  EXPECT_EQ(v.path[1].rule, "fw.rules:14");
  EXPECT_EQ(v.packets,
            "udp dport 5000-5010 from zone outside to 10.9.0.6 (as delivered, after DNAT)");
}

TEST(EngineTest, AllowSubtractsExactlyAndWitnessIsRealistic) {
  const Report r =
      CheckRules(std::string(kFilterHead) + "-A FORWARD -i eth1 -o eth0 -p tcp -j ACCEPT\nCOMMIT\n",
                 "[[allow]]\nfrom = \"inside\"\nto = \"outside\"\nproto = \"tcp\"\n"
                 "dst_ports = [\"1-442\", \"444-65535\"]\nreason = \"x\"\n");
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  // Left over: tcp port 443 (and port 0, which the witness avoids when it can).
  EXPECT_EQ(v.witness.dport, 443);
  EXPECT_EQ(FormatIpv4(v.witness.src), "10.0.0.1");
  EXPECT_EQ(FormatIpv4(v.witness.dst), "1.0.0.1");
  EXPECT_EQ(v.witness.sport, 49152);
  EXPECT_EQ(v.packets, "tcp dport 0,443 from zone inside to zone outside");
}

TEST(EngineTest, UnknownMatchOnAcceptStillCountsAsReachable) {
  const Report r = CheckRules(std::string(kFilterHead) +
                              "-A FORWARD -i eth0 -o eth1 -m mark --mark 0x1 -j ACCEPT\nCOMMIT\n");
  EXPECT_TRUE(Entry(r, "outside", "inside").reachable);
  ASSERT_EQ(r.unknown.size(), 1u);
  EXPECT_EQ(r.unknown[0].location, "fw.rules:5");
  EXPECT_EQ(r.unknown[0].construct, "match -m mark");
}

// Found by the kernel test (tests/kernel): raw chains run before conntrack, so a conntrack
// match there sees no connection, state INVALID: `--ctstate NEW -j DROP` drops nothing and
// `--ctstate INVALID -j DROP` drops everything.
TEST(EngineTest, RawChainsRunBeforeConntrack) {
  const std::string rules =
      "*raw\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\n"
      "-A PREROUTING -i eth0 -m conntrack --ctstate NEW -j DROP\n"
      "-A PREROUTING -i eth2 -m conntrack --ctstate INVALID -j DROP\n"
      "COMMIT\n" +
      std::string(kFilterHead) + "-A FORWARD -o eth1 -p tcp --dport 443 -j ACCEPT\nCOMMIT\n";
  const Report r = CheckRules(rules);
  EXPECT_TRUE(Entry(r, "outside", "inside").reachable);
  EXPECT_FALSE(Entry(r, "dmz", "inside").reachable);
  // The state after conntrack is NEW again.
  const Report m = CheckRules(
      "*mangle\n:PREROUTING ACCEPT\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n"
      ":POSTROUTING ACCEPT\n-A PREROUTING -i eth0 -m conntrack --ctstate NEW -j DROP\nCOMMIT\n" +
      std::string(kFilterHead) + "-A FORWARD -o eth1 -p tcp --dport 443 -j ACCEPT\nCOMMIT\n");
  EXPECT_FALSE(Entry(m, "outside", "inside").reachable);
}

// PREROUTING comes before routing: the kernel has no output interface there. iptables refuses
// -o in PREROUTING itself but not in a user chain it jumps to (the kernel test's nft cases found
// the same in nftables).
TEST(EngineTest, PreroutingHasNoOutputInterfaceYet) {
  const Report r = CheckRules(
      "*mangle\n:PREROUTING ACCEPT\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n"
      ":POSTROUTING ACCEPT\n:pre - [0:0]\n-A PREROUTING -j pre\n"
      "-A pre -i eth0 -o eth1 -j DROP\n-A pre -i eth2 ! -o eth0 -j DROP\nCOMMIT\n" +
      std::string(kFilterHead) + "-A FORWARD -j ACCEPT\nCOMMIT\n");
  EXPECT_TRUE(Entry(r, "outside", "inside").reachable);  // -o eth1 never matches
  EXPECT_FALSE(Entry(r, "dmz", "outside").reachable);    // ! -o eth0 always matches
}

// Found by the kernel test: conntrack opens an ICMP connection only with a request (echo 8,
// timestamp 13, information 15, address mask 17); a reply or an error is never NEW.
TEST(EngineTest, IcmpFirstPacketsAreRequests) {
  const Report r = CheckRules(
      std::string(kFilterHead) +
      "-A FORWARD -i eth0 -o eth1 -p icmp --icmp-type 0 -m conntrack --ctstate NEW -j ACCEPT\n"
      "-A FORWARD -i eth0 -o eth2 -p icmp --icmp-type 3 -j ACCEPT\n"
      "-A FORWARD -i eth1 -o eth0 -p icmp ! --icmp-type 8 -m state --state NEW -j ACCEPT\n"
      "COMMIT\n");
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);
  EXPECT_FALSE(Entry(r, "outside", "dmz").reachable);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].witness.icmp_type, 13);
  EXPECT_EQ(r.violations[0].packets, "icmp type 13,15,17 from zone inside to zone outside");
}

// Found by the kernel test: a router never forwards 0.0.0.0, 127/8 or 255.255.255.255 (source
// or destination) nor a multicast source, so they neither make a path nor serve as witnesses.
TEST(EngineTest, MartianAddressesAreNeverForwarded) {
  const Report r = CheckRules(std::string(kFilterHead) +
                              "-A FORWARD -i eth1 -o eth0 -d 127.0.0.0/8 -j ACCEPT\n"
                              "-A FORWARD -i eth1 -o eth0 -d 255.255.255.255 -j ACCEPT\n"
                              "-A FORWARD -i eth0 -o eth1 -s 224.0.0.0/4 -j ACCEPT\n"
                              "-A FORWARD -i eth2 -o eth0 -d 0.0.0.0/255.255.0.255 -j ACCEPT\n"
                              "COMMIT\n");
  EXPECT_FALSE(Entry(r, "inside", "outside").reachable);
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);
  ASSERT_EQ(r.violations.size(), 1u);
  // 0.0.x.0 only: the witness is the first the kernel forwards.
  EXPECT_EQ(FormatIpv4(r.violations[0].witness.dst), "0.0.1.0");
  EXPECT_EQ(r.violations[0].from, "dmz");
}

TEST(EngineTest, JsonHasTheDocumentedShape) {
  const Report r = CheckRules(std::string(kFilterHead) +
                              "-A FORWARD -i eth0 -o eth1 -p icmp -j ACCEPT\nCOMMIT\n");
  const std::string json = ReportToJson(r);
  EXPECT_NE(json.find("\"result\": \"violations\""), std::string::npos);
  EXPECT_NE(json.find("\"icmp_type\": 8"), std::string::npos);
  EXPECT_NE(ReportToText(r).find("違反: outside → inside"), std::string::npos);
}

// ---- Paths through several devices ----

// Checks a topology whose devices read the files of `files` (name → content).
Report CheckFiles(const std::string& topology, const std::map<std::string, std::string>& files) {
  Result<Topology> t = ParseTopology(topology, "topology.toml");
  EXPECT_TRUE(t.ok()) << t.error().message_en;
  if (!t.ok()) return Report{};
  auto read = [&](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Error::NotFound("なし", "no file " + path);
    return it->second;
  };
  Result<std::vector<Ruleset>> rulesets = LoadRulesets(*t, read);
  EXPECT_TRUE(rulesets.ok()) << rulesets.error().message_en;
  if (!rulesets.ok()) return Report{};
  Result<Report> report = Check(*t, *rulesets);
  EXPECT_TRUE(report.ok()) << report.error().message_en;
  return report.ok() ? *report : Report{};
}

// a –fw1– b –fw2– c, each firewall forwarding everything it is given.
constexpr const char* kSeries = R"(
[zones.a]
networks = ["10.1.0.0/16"]
[zones.b]
networks = ["10.2.0.0/16"]
[zones.c]
networks = ["10.3.0.0/16"]
[devices.fw1]
format = "iptables-save"
config = "fw1.rules"
interfaces = { eth0 = "a", eth1 = "b" }
[devices.fw2]
format = "iptables-save"
config = "fw2.rules"
interfaces = { eth0 = "b", eth1 = "c" }
)";

std::string Filter(const std::string& rules) {
  return std::string(kFilterHead) + rules + "COMMIT\n";
}

TEST(EngineMultiDeviceTest, PacketsCrossBothDevicesInBothDirections) {
  const Report r = CheckFiles(kSeries, {{"fw1.rules", Filter("-A FORWARD -j ACCEPT\n")},
                                        {"fw2.rules", Filter("-A FORWARD -j ACCEPT\n")}});
  for (const MatrixEntry& e : r.matrix) EXPECT_TRUE(e.reachable) << e.from << "→" << e.to;
  const Violation* v = testing::FindViolation(r, "a", "c");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->path.size(), 2u);
  EXPECT_EQ(v->path[0].device, "fw1");
  EXPECT_EQ(v->path[1].device, "fw2");
  EXPECT_EQ(v->packets.find("tcp (all ports) from zone a to zone c"), 0u) << v->packets;
  const Violation* back = testing::FindViolation(r, "c", "a");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->path[0].device, "fw2");
}

TEST(EngineMultiDeviceTest, ADeviceWithoutFilterRulesStillAppearsInThePath) {
  const Report r =
      CheckFiles(kSeries, {{"fw1.rules", Filter("-A FORWARD -i eth0 -p tcp -j ACCEPT\n")},
                           {"fw2.rules", "*filter\n:FORWARD ACCEPT\nCOMMIT\n"}});
  const Violation* v = testing::FindViolation(r, "a", "c");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->path.size(), 2u);
  EXPECT_EQ(v->path[1].device, "fw2");
  EXPECT_EQ(v->path[1].rule, "fw2.rules");
  EXPECT_EQ(v->path[1].action, "no filter rule");
}

// The allow entries match the source as sent, even when the first device rewrote it and the
// second admits only the rewritten source.
TEST(EngineMultiDeviceTest, SourceNatOnTheFirstDeviceIsWhatTheSecondSees) {
  const std::string fw1 =
      "*nat\n:PREROUTING ACCEPT\n:INPUT ACCEPT\n:OUTPUT ACCEPT\n:POSTROUTING ACCEPT\n"
      "-A POSTROUTING -o eth1 -s 10.1.1.0/24 -j SNAT --to-source 10.2.0.1\nCOMMIT\n" +
      Filter("-A FORWARD -i eth0 -o eth1 -p tcp --dport 22 -j ACCEPT\n");
  const std::string fw2 = Filter("-A FORWARD -s 10.2.0.1 -o eth1 -j ACCEPT\n");
  const std::string allow =
      "[[allow]]\nfrom = \"a\"\nto = \"c\"\nsrc = [\"10.1.1.0/25\"]\nreason = \"x\"\n";
  const Report r =
      CheckFiles(std::string(kSeries) + allow, {{"fw1.rules", fw1}, {"fw2.rules", fw2}});
  const auto leaks = testing::Violations(r, "a", "c");
  ASSERT_EQ(leaks.size(), 1u);
  // Only 10.1.1.0/24 is translated to 10.2.0.1; half of it is allowed.
  EXPECT_EQ(FormatIpv4(leaks[0]->witness.src), "10.1.1.128");
  EXPECT_EQ(leaks[0]->packets, "tcp dport 22 from 10.1.1.128/25 to zone c");
  // b's own hosts reach c only from 10.2.0.1 itself.
  const Violation* from_b = testing::FindViolation(r, "b", "c");
  ASSERT_NE(from_b, nullptr);
  EXPECT_EQ(FormatIpv4(from_b->witness.src), "10.2.0.1");
}

// A ring of three firewalls: every path enters each device and each zone at most once.
TEST(EngineMultiDeviceTest, ARingEndsAndNoPathEntersADeviceTwice) {
  const std::string ring = std::string(kSeries) + R"(
[devices.fw3]
format = "iptables-save"
config = "fw3.rules"
interfaces = { eth0 = "c", eth1 = "a" }
)";
  const std::string all = Filter("-A FORWARD -j ACCEPT\n");
  const Report r = CheckFiles(ring, {{"fw1.rules", all}, {"fw2.rules", all}, {"fw3.rules", all}});
  const auto leaks = testing::Violations(r, "a", "c");
  ASSERT_EQ(leaks.size(), 2u);  // directly through fw3, and through fw1 then fw2
  std::set<size_t> lengths;
  for (const Violation* v : leaks) {
    lengths.insert(v->path.size());
    std::set<std::string> devices;
    for (const PathStep& s : v->path) EXPECT_TRUE(devices.insert(s.device).second) << s.device;
  }
  EXPECT_EQ(lengths, (std::set<size_t>{1, 2}));
  EXPECT_EQ(r.violations.size(), 12u);  // every ordered pair, two ways each
}

// A device facing the destination's zone sends the packets there, and also towards a zone from
// which the destination is reached through another device: fw1 sends a's packets for c into b.
TEST(EngineMultiDeviceTest, TransitGoesOnlyTowardsZonesFromWhichTheDestinationIsReached) {
  const Report r =
      CheckFiles(kSeries, {{"fw1.rules", Filter("-A FORWARD -d 10.3.0.0/16 -j ACCEPT\n")},
                           {"fw2.rules", Filter("-A FORWARD -j ACCEPT\n")}});
  EXPECT_TRUE(Entry(r, "a", "c").reachable);
  EXPECT_FALSE(Entry(r, "a", "b").reachable);  // fw1 lets only c's addresses into b
  EXPECT_FALSE(Entry(r, "b", "a").reachable);
}

// ---- Shadowed rules ----

TEST(EngineShadowTest, RulesDecidedByEarlierRulesOrEmptyOnTheirOwn) {
  const Report r = CheckRules(
      std::string(kFilterHead) + ":deny - [0:0]\n" +
      "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"  // 6
      "-A FORWARD -i eth0 -p tcp --dport 80 -j ACCEPT\n"                   // 7
      "-A FORWARD -i eth1 -p tcp --dport 80 -j ACCEPT\n"                   // 8: other interface
      "-A FORWARD -i eth0 -p tcp --dport 80 -s 10.0.0.0/8 -j DROP\n"       // 9: shadowed by 6, 7
      "-A FORWARD -p tcp ! --syn -j DROP\n"                                // 10: not first packets
      "-A FORWARD -d 10.0.0.0/8 -m iprange --dst-range 11.0.0.1-11.0.0.2 -j ACCEPT\n"  // 11
      "-A FORWARD -i eth2 -j LOG\n"             // 12: decides nothing
      "-A FORWARD -i eth2 -j deny\n"            // 13
      "-A FORWARD -i eth2 -p udp -j ACCEPT\n"   // 14: deny never returns
      "-A FORWARD -i eth2 -p icmp -j ACCEPT\n"  // 15: shadowed by 13
      "-A deny -p udp -j DROP\n"                // 16
      "-A deny -j DROP\n"                       // 17
      "COMMIT\n");
  ASSERT_EQ(r.shadowed.size(), 4u);
  EXPECT_EQ(r.shadowed[0].rule, "fw.rules:9");
  EXPECT_EQ(r.shadowed[0].by, "fw.rules:6, fw.rules:7");
  EXPECT_EQ(r.shadowed[1].rule, "fw.rules:11");
  EXPECT_EQ(r.shadowed[1].by, "");
  EXPECT_EQ(r.shadowed[2].rule, "fw.rules:14");
  EXPECT_EQ(r.shadowed[2].by, "fw.rules:6, fw.rules:13");
  EXPECT_EQ(r.shadowed[3].rule, "fw.rules:15");
  EXPECT_EQ(r.shadowed[3].device, "fw");
}

TEST(EngineShadowTest, AJumpDecidesOnlyWhatTheChainNeverReturns) {
  const Report r = CheckRules(std::string(kFilterHead) + ":web - [0:0]\n" +
                              "-A FORWARD -p tcp -j web\n"
                              "-A FORWARD -p tcp --dport 443 -j ACCEPT\n"  // returned by 9
                              "-A FORWARD -p tcp --dport 80 -j ACCEPT\n"   // shadowed by 6
                              "-A web -p tcp --dport 443 -j RETURN\n"
                              "-A web -j DROP\n"
                              "COMMIT\n");
  ASSERT_EQ(r.shadowed.size(), 1u);
  EXPECT_EQ(r.shadowed[0].rule, "fw.rules:8");
  EXPECT_EQ(r.shadowed[0].by, "fw.rules:6");
}

// The search for the deciding rules stays cheap on long chains: 8,000 rules, every second one
// shadowed by the one before it.
TEST(EngineShadowTest, LongChainsAreWalkedOnce) {
  std::string rules = std::string(kFilterHead);
  for (int i = 0; i < 4000; ++i) {
    const std::string dst = "-d 10." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                            ".1 -p tcp --dport " + std::to_string(1 + i % 60000);
    rules += "-A FORWARD -i eth1 " + dst + " -j ACCEPT\n";
    rules += "-A FORWARD -i eth1 " + dst + " -j DROP\n";
  }
  rules += "COMMIT\n";
  const Report r = CheckRules(rules);
  ASSERT_EQ(r.shadowed.size(), 4000u);
  EXPECT_EQ(r.shadowed[0].rule, "fw.rules:6");
  EXPECT_EQ(r.shadowed[0].by, "fw.rules:5");
  EXPECT_EQ(r.shadowed.back().by, "fw.rules:8003");
  // The same from a child process (ShadowWork::kForked), whose answer (over 100 KB) fills the
  // pipe long before the parent reads it.
  EXPECT_EQ(ReportToJson(CheckRules(rules, "", ShadowWork::kForked)), ReportToJson(r));
}

// With too few BDD nodes the check fails with kTooLarge however the shadowed-rule analysis runs
// (the child's failure is sent back with its answer; a parent that fails first kills the child).
TEST(EngineShadowTest, ForkedAnalysisReportsTheNodeLimit) {
  Result<Topology> topology = ParseTopology(kTopology, "topology.toml");
  ASSERT_TRUE(topology.ok());
  std::string rules = std::string(kFilterHead);
  for (int i = 0; i < 300; ++i) {
    rules += "-A FORWARD -i eth1 -s 10.1." + std::to_string(i % 250) + ".7 -d 10.9.3." +
             std::to_string(i % 250) + " -p tcp --dport " + std::to_string(1000 + i) +
             " -j ACCEPT\n";
  }
  rules += "COMMIT\n";
  Result<Ruleset> ruleset = ParseIptablesSave(rules, "fw.rules", "fw");
  ASSERT_TRUE(ruleset.ok());
  SpaceOptions small;
  small.initial_nodes = 1000;
  small.max_nodes = 5000;
  for (ShadowWork shadow : {ShadowWork::kInline, ShadowWork::kForked}) {
    Result<Report> report = Check(*topology, {*ruleset}, small, shadow);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.error().code, ErrorCode::kTooLarge);
  }
  EXPECT_TRUE(Check(*topology, {*ruleset}, {}, ShadowWork::kForked).ok());
}

// ---- Rules broader than the allow entries ----

TEST(EngineBroadTest, AcceptingRulesBeyondTheAllowEntriesAreListedPerZonePair) {
  const Report r = CheckRules(std::string(kFilterHead) +
                                  "-A FORWARD -i eth1 -o eth0 -p tcp --dport 443 -j ACCEPT\n"
                                  "-A FORWARD -i eth1 -p tcp --dport 22 -j ACCEPT\n"
                                  "COMMIT\n",
                              "[[allow]]\nfrom = \"inside\"\nto = \"outside\"\nproto = \"tcp\"\n"
                              "dst_ports = [443]\nreason = \"x\"\n");
  ASSERT_EQ(r.broad.size(), 2u);  // line 5 is covered by the allow entry
  EXPECT_EQ(r.broad[0].rule, "fw.rules:6");
  EXPECT_EQ(r.broad[0].from, "inside");
  EXPECT_EQ(r.broad[0].to, "dmz");
  EXPECT_EQ(r.broad[0].packets, "tcp dport 22 from zone inside to zone dmz");
  EXPECT_EQ(r.broad[1].to, "outside");
  const std::string json = ReportToJson(r);
  EXPECT_NE(json.find("\"broad\": ["), std::string::npos);
  EXPECT_NE(ReportToText(r).find("許可の範囲より広い規則"), std::string::npos);
}

TEST(EngineBroadTest, ReportsShowShadowedAndBroadRules) {
  const Report r = CheckRules(std::string(kFilterHead) +
                              "-A FORWARD -i eth1 -j ACCEPT\n-A FORWARD -i eth1 -p tcp -j DROP\n"
                              "COMMIT\n");
  ASSERT_EQ(r.shadowed.size(), 1u);
  const std::string text = ReportToText(r);
  EXPECT_NE(text.find("一致することのない規則"), std::string::npos);
  EXPECT_NE(text.find("fw fw.rules:6: 先に決める規則 fw.rules:5"), std::string::npos);
  Result<Topology> t = ParseTopology(kTopology, "topology.toml");
  ASSERT_TRUE(t.ok());
  const std::string html = ReportToHtml(r, *t);
  EXPECT_NE(html.find("id=\"shadowed\""), std::string::npos);
  EXPECT_NE(html.find("id=\"broad\""), std::string::npos);
}

// A device's ipset file is read with its rules: -m set decides reachability exactly.
TEST(EngineIpsetTest, SetsFromTheIpsetFileDecideReachability) {
  const std::string topology_text =
      std::string(kTopology).replace(std::string(kTopology).find("config = \"fw.rules\""), 19,
                                     "config = \"fw.rules\"\nipset = \"fw.ipset\"");
  Result<Topology> topology = ParseTopology(topology_text, "topology.toml");
  ASSERT_TRUE(topology.ok()) << topology.error().message_en;
  std::map<std::string, std::string> files = {
      {"fw.ipset",
       "create web hash:ip,port\nadd web 10.9.0.5,tcp:443\nadd web 10.9.0.6,udp:53\n"
       "create partners hash:net\nadd partners 192.0.2.0/24\n"
       "add partners 192.0.2.128/25 nomatch\n"},
      {"fw.rules", std::string(kFilterHead) +
                       "-A FORWARD -i eth0 -o eth2 -m set --match-set partners src -m set "
                       "--match-set web dst,dst -j ACCEPT\nCOMMIT\n"},
  };
  auto read = [&](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Error::NotFound("なし", "no file " + path);
    return it->second;
  };
  Result<std::vector<Ruleset>> rulesets = LoadRulesets(*topology, read);
  ASSERT_TRUE(rulesets.ok()) << rulesets.error().message_en;
  Result<Report> report = Check(*topology, *rulesets);
  ASSERT_TRUE(report.ok()) << report.error().message_en;
  EXPECT_TRUE(report->unknown.empty());
  EXPECT_FALSE(Entry(*report, "outside", "inside").reachable);
  ASSERT_EQ(report->violations.size(), 1u);
  const Violation& v = report->violations[0];
  EXPECT_EQ(v.to, "dmz");
  EXPECT_EQ(FormatIpv4(v.witness.src), "192.0.2.1");
  EXPECT_EQ(FormatIpv4(v.witness.dst), "10.9.0.5");
  EXPECT_EQ(v.witness.dport, 443);
  EXPECT_EQ(v.packets,
            "tcp dport 443 from 192.0.2.0/25 to 10.9.0.5; udp dport 53 from 192.0.2.0/25 to "
            "10.9.0.6");
  // A missing ipset file is the reader's error.
  files.erase("fw.ipset");
  Result<std::vector<Ruleset>> missing = LoadRulesets(*topology, read);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message_en, "no file fw.ipset");
}

// A small rule set of the benchmark's shape (bench/netcheck_gen.mjs): FORWARD dispatches by
// interface pair, then by source /24, to chains of host rules (single ports, multiport, ranges,
// ICMP; ACCEPT, DROP, REJECT, LOG, RETURN), with broader rules among them, port forwards and
// masquerading; host pairs from a few addresses so that they repeat and meet the broader rules.
std::string RandomHostRules(std::mt19937& random) {
  auto pick = [&](int n) { return static_cast<int>(random() % n); };
  const char* zones[] = {"10.0.", "10.9.", ""};  // inside, dmz, outside
  const char* faces[] = {"eth1", "eth2", "eth0"};
  auto host = [&](int z) {
    return z == 2 ? "203.0.113." + std::to_string(1 + pick(4))
                  : zones[z] + std::to_string(pick(2)) + "." + std::to_string(1 + pick(4));
  };
  std::string nat = "*nat\n:PREROUTING ACCEPT\n:POSTROUTING ACCEPT\n";
  for (int i = 0; i < 4; ++i) {
    nat += "-A PREROUTING -d 198.51.100." + std::to_string(1 + i) + "/32 -i eth0 -p tcp --dport " +
           std::to_string(8000 + pick(3)) + " -j DNAT --to-destination " + host(pick(2)) + ":" +
           std::to_string(pick(2) == 0 ? 80 : 443) + "\n";
  }
  nat += "-A POSTROUTING -s 10.0.0.0/16 -o eth0 -j MASQUERADE\nCOMMIT\n";
  std::string heads = "*filter\n:INPUT DROP\n:FORWARD DROP\n:OUTPUT ACCEPT\n";
  std::string rules = "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
  const char* ports[] = {"22", "80", "443", "445", "3389"};
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) {
      if (a == b) continue;
      const std::string pair = "P" + std::to_string(a) + std::to_string(b);
      heads += ":" + pair + " - [0:0]\n";
      rules += "-A FORWARD -i " + std::string(faces[a]) + " -o " + faces[b] + " -j " + pair + "\n";
      for (int sub = 0; sub < (a == 2 ? 1 : 2); ++sub) {
        const std::string name = pair + "-" + std::to_string(sub);
        heads += ":" + name + " - [0:0]\n";
        rules += "-A " + pair +
                 (a == 2 ? std::string()
                         : " -s " + std::string(zones[a]) + std::to_string(sub) + ".0/24") +
                 (pick(5) == 0 ? " -g " : " -j ") + name + "\n";
        const int count = 5 + pick(25);
        for (int i = 0; i < count; ++i) {
          std::string r = "-A " + name;
          const int shape = pick(12);
          if (shape == 0) {
            r += " -d " +
                 std::string(b == 2 ? "203.0.113.0"
                                    : std::string(zones[b]) + std::to_string(pick(2)) + ".0") +
                 "/24";
          } else {
            const std::string src =
                a == 2 ? host(2)
                       : zones[a] + std::to_string(sub) + "." + std::to_string(1 + pick(4));
            r += " -s " + src + "/32 -d " + host(b) + "/32";
          }
          switch (pick(6)) {
            case 0:
              r += " -p udp -m udp --dport " + std::to_string(1000 + pick(40)) + ":" +
                   std::to_string(1040 + pick(50));
              break;
            case 1:
              r += " -p icmp -m icmp --icmp-type 8";
              break;
            case 2:
              r += " -p tcp -m multiport --dports 80,443";
              break;
            case 3:
              break;
            default:
              r += " -p tcp -m tcp --dport " + std::string(ports[pick(5)]);
              break;
          }
          const char* targets[] = {"ACCEPT", "ACCEPT", "ACCEPT", "DROP", "REJECT", "LOG", "RETURN"};
          r += std::string(" -j ") + targets[pick(7)] + "\n";
          rules += r;
        }
      }
      rules += "-A " + pair + " -j LOG\n";
    }
  }
  return nat + heads + rules + "COMMIT\n";
}

// The check with host rules decided as every other rule (SpaceOptions::index_host_rules off):
// the general path that the host-rule path's reports must equal.
Result<Report> CheckGeneral(const Topology& topology, const Ruleset& ruleset) {
  SpaceOptions general;
  general.index_host_rules = false;
  return Check(topology, {ruleset}, general);
}

// The report with host rules decided with their addresses fixed is the general path's, byte for
// byte, shadowed-rule walk in this process or in a child.
TEST(EngineTest, HostRulesGiveTheGeneralPathsReport) {
  const std::string allows = R"(
[[allow]]
from = "inside"
to = "dmz"
proto = "tcp"
dst_ports = [80, 443]
reason = "web"
[[allow]]
from = "outside"
to = "dmz"
proto = "tcp"
dst_ports = [443]
reason = "web"
[[allow]]
from = "inside"
to = "outside"
reason = "internet"
)";
  Result<Topology> topology = ParseTopology(std::string(kTopology) + allows, "topology.toml");
  ASSERT_TRUE(topology.ok()) << topology.error().message_en;
  std::mt19937 random(61);
  int violations = 0;
  int shadowed = 0;
  for (int round = 0; round < 12; ++round) {
    const std::string rules = RandomHostRules(random);
    Result<Ruleset> ruleset = ParseIptablesSave(rules, "fw.rules", "fw");
    ASSERT_TRUE(ruleset.ok()) << ruleset.error().message_en;
    Result<Report> expected = CheckGeneral(*topology, *ruleset);
    ASSERT_TRUE(expected.ok());
    const ShadowWork shadow = round % 2 == 0 ? ShadowWork::kInline : ShadowWork::kForked;
    Result<Report> got = Check(*topology, {*ruleset}, {}, shadow);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(ReportToJson(*got), ReportToJson(*expected)) << round << "\n" << rules;
    // And with BuDDy's nodes read through its functions rather than its table.
    SpaceOptions through_calls;
    through_calls.read_nodes_directly = false;
    Result<Report> called = Check(*topology, {*ruleset}, through_calls, shadow);
    ASSERT_TRUE(called.ok());
    EXPECT_EQ(ReportToJson(*called), ReportToJson(*expected)) << round << "\n" << rules;
    violations += static_cast<int>(expected->violations.size());
    shadowed += static_cast<int>(expected->shadowed.size());
  }
  EXPECT_GT(violations, 10);
  EXPECT_GT(shadowed, 10);
}

// One allow entry (web from inside to dmz) and two host rules that accept what it allows.
constexpr const char* kWebAllow = R"(
[[allow]]
from = "inside"
to = "dmz"
proto = "tcp"
dst_ports = [443]
reason = "web"
)";
constexpr const char* kTwoWebHosts =
    "-A FORWARD -s 10.0.0.1/32 -d 10.9.0.1/32 -p tcp --dport 443 -j ACCEPT\n"
    "-A FORWARD -s 10.0.0.2/32 -d 10.9.0.2/32 -p tcp --dport 443 -j ACCEPT\n"
    "COMMIT\n";

// The allowed path (accepted host rules within the allow entries) is carried through the later
// chains as one of its parts when that part arrives; when a later chain drops that part, the
// whole path is built and carried instead. Either way the report is the general path's.
TEST(EngineTest, AllowedPathArrivesWhenItsFirstPartIsDropped) {
  Result<Topology> topology = ParseTopology(std::string(kTopology) + kWebAllow, "topology.toml");
  ASSERT_TRUE(topology.ok()) << topology.error().message_en;
  const std::string filter = std::string(kFilterHead) + kTwoWebHosts;
  for (const std::string dropped : {"10.9.0.1/32", "10.9.0.2/32", "10.9.0.0/30", "10.8.0.0/16"}) {
    const std::string rules = "*mangle\n:POSTROUTING ACCEPT\n-A POSTROUTING -d " + dropped +
                              " -j DROP\nCOMMIT\n" + filter;
    Result<Ruleset> ruleset = ParseIptablesSave(rules, "fw.rules", "fw");
    ASSERT_TRUE(ruleset.ok()) << ruleset.error().message_en;
    Result<Report> expected = CheckGeneral(*topology, *ruleset);
    ASSERT_TRUE(expected.ok());
    Result<Report> got = Check(*topology, {*ruleset});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(ReportToJson(*got), ReportToJson(*expected)) << dropped;
    EXPECT_EQ(Entry(*got, "inside", "dmz").reachable, dropped != "10.9.0.0/30") << dropped;
  }
}

// A chain after the filter that only some of the allowed packets reach, whose calls loop or
// nest deeper than the walk allows: the walk of the whole allowed path fails there, so the walk
// of one part of it (which arrives) must not stand for it. The same result with the host-rule
// path and without it: an error past the limit and for a loop, a report at the limit.
TEST(EngineTest, AllowedPathPartDoesNotHideACallError) {
  Result<Topology> topology = ParseTopology(std::string(kTopology) + kWebAllow, "topology.toml");
  ASSERT_TRUE(topology.ok()) << topology.error().message_en;
  const std::string filter = std::string(kFilterHead) + kTwoWebHosts;
  for (const int depth : {64, 65, 0}) {  // 0: a chain that calls itself
    std::string mangle = "*mangle\n:POSTROUTING ACCEPT\n";
    std::string rules = "-A POSTROUTING -d 10.9.0.2/32 -j L1\n";
    const int chains = depth == 0 ? 1 : depth;
    for (int i = 1; i <= chains; ++i) {
      mangle += ":L" + std::to_string(i) + " - [0:0]\n";
      if (depth == 0) rules += "-A L1 -j L1\n";
      if (i < chains) rules += "-A L" + std::to_string(i) + " -j L" + std::to_string(i + 1) + "\n";
    }
    Result<Ruleset> ruleset =
        ParseIptablesSave(mangle + rules + "COMMIT\n" + filter, "fw.rules", "fw");
    ASSERT_TRUE(ruleset.ok()) << ruleset.error().message_en;
    Result<Report> expected = CheckGeneral(*topology, *ruleset);
    Result<Report> got = Check(*topology, {*ruleset});
    ASSERT_EQ(got.ok(), expected.ok()) << depth;
    EXPECT_EQ(got.ok(), depth == 64) << depth;
    if (got.ok()) {
      EXPECT_EQ(ReportToJson(*got), ReportToJson(*expected));
    }
  }
}
}  // namespace
}  // namespace mamori::netsep
