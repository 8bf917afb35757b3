#include "netsep/engine.h"

#include <gtest/gtest.h>

#include <string>

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

Report CheckRules(const std::string& rules, const std::string& allows = "") {
  Result<Topology> topology = ParseTopology(std::string(kTopology) + allows, "topology.toml");
  EXPECT_TRUE(topology.ok()) << topology.error().message_en;
  Result<Ruleset> ruleset = ParseIptablesSave(rules, "fw.rules", "fw");
  EXPECT_TRUE(ruleset.ok()) << ruleset.error().message_en;
  Result<Report> report = Check(*topology, {*ruleset});
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

}  // namespace
}  // namespace mamori::netsep
