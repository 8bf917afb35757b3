#include "netsep/fortigate.h"

#include <gtest/gtest.h>

#include <string>

#include "netsep/engine.h"
#include "netsep/engine_test_support.h"

namespace mamori::netsep {
namespace {

using testing::Entry;
using testing::FindViolation;
using testing::Violations;

std::string ErrorOf(const std::string& text) {
  Result<Ruleset> r = ParseFortigate(text, "fw.conf", "fw");
  return r.ok() ? std::string("(parsed)") : r.error().message_en;
}

// 13 lines (a quoted value spans two): port1 (wan), port2 (lan), port3 (dmz).
constexpr const char* kInterfaces =
    "#config-version=FGT60F-7.2.5-FW-build1517-230606:opmode=0:vdom=0\n"
    "config system interface\n"
    "    edit \"port1\"\n"
    "        set alias \"WAN \\\"primary\\\"\"\n"
    "        set ip 203.0.113.1 255.255.255.0\n"
    "    next\n"
    "    edit \"port2\"\n"
    "    next\n"
    "    edit \"port3\"\n"
    "        set description \"公開\n二行目\"\n"
    "    next\n"
    "end\n";

constexpr const char* kTopology = R"(
[zones.lan]
networks = ["10.1.0.0/16"]
[zones.dmz]
networks = ["10.9.0.0/16"]
[zones.wan]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "fortigate"
config = "fw.conf"
interfaces = { port1 = "wan", port2 = "lan", port3 = "dmz" }
)";

Report CheckForti(const std::string& config) {
  return testing::CheckConfig(kTopology, "fw.conf", config);
}

constexpr const char* kObjects =
    "config firewall address\n"
    "    edit \"all\"\n"
    "    next\n"
    "    edit \"web1\"\n"
    "        set subnet 10.9.0.10 255.255.255.255\n"
    "    next\n"
    "    edit \"farm\"\n"
    "        set type iprange\n"
    "        set start-ip 10.9.1.10\n"
    "        set end-ip 10.9.1.19\n"
    "    next\n"
    "    edit \"farm-bad\"\n"
    "        set subnet 10.9.1.15/32\n"
    "    next\n"
    "end\n"
    "config firewall addrgrp\n"
    "    edit \"inner\"\n"
    "        set member \"farm\"\n"
    "        set exclude enable\n"
    "        set exclude-member \"farm-bad\"\n"
    "    next\n"
    "    edit \"servers\"\n"
    "        set member \"web1\" \"inner\"\n"
    "    next\n"
    "end\n"
    "config firewall service custom\n"
    "    edit \"ALL\"\n"
    "        set protocol IP\n"
    "    next\n"
    "    edit \"WEB\"\n"
    "        set tcp-portrange 80 443 8000-8080:1024-65535\n"
    "    next\n"
    "    edit \"DNS\"\n"
    "        set tcp-portrange 53\n"
    "        set udp-portrange 53\n"
    "    next\n"
    "    edit \"PING\"\n"
    "        set protocol ICMP\n"
    "        set icmptype 8\n"
    "    next\n"
    "    edit \"GRE\"\n"
    "        set protocol IP\n"
    "        set protocol-number 47\n"
    "    next\n"
    "end\n"
    "config firewall service group\n"
    "    edit \"pub\"\n"
    "        set member \"WEB\" \"PING\"\n"
    "    next\n"
    "end\n";

TEST(FortigateTest, ObjectsGroupsAndServicesBecomeRules) {
  const std::string config = std::string(kInterfaces) + kObjects +
                             "config firewall policy\n"
                             "    edit 7\n"
                             "        set srcintf \"port1\"\n"
                             "        set dstintf \"port3\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"servers\"\n"
                             "        set action accept\n"
                             "        set schedule \"always\"\n"
                             "        set service \"pub\" \"GRE\"\n"
                             "    next\n"
                             "end\n";
  Result<Ruleset> r = ParseFortigate(config, "fw.conf", "fw");
  ASSERT_TRUE(r.ok()) << r.error().message_en;
  EXPECT_TRUE(r->unknown.empty());
  const Chain* policy = r->FindTable("fortigate")->FindChain("policy");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->policy, ActionKind::kDrop);
  // WEB has three tcp entries, PING one, GRE one.
  ASSERT_EQ(policy->rules.size(), 5u);
  const Rule& web = policy->rules[2];  // 8000-8080:1024-65535
  EXPECT_EQ(web.location.ToString(), "fw.conf:65 (policy 7)");
  // in, out, not DNAT, dst, protocol, sport, dport
  ASSERT_EQ(web.matches.size(), 7u);
  EXPECT_EQ(web.matches[2].kind, MatchKind::kConnState);
  EXPECT_TRUE(web.matches[2].negated);
  const Match& dst = web.matches[3];
  ASSERT_EQ(dst.kind, MatchKind::kDstAddress);
  // 10.9.0.10, 10.9.1.10-14, 10.9.1.16-19 (farm minus farm-bad).
  ASSERT_EQ(dst.terms.size(), 3u);
  EXPECT_EQ(dst.terms[1].second, 0x0a09010eu);
  EXPECT_EQ(dst.terms[2].first, 0x0a090110u);
  EXPECT_EQ(web.matches[5].kind, MatchKind::kSrcPort);
  EXPECT_EQ(web.matches[5].terms[0].first, 1024u);
  EXPECT_EQ(web.matches[6].terms[0].first, 8000u);
  EXPECT_EQ(policy->rules[3].matches.back().kind, MatchKind::kIcmpType);
  EXPECT_EQ(policy->rules[4].matches.back().terms[0].first, 47u);
}

TEST(FortigateTest, FirstMatchInListOrderNotById) {
  // Policy 1 (deny) comes after policy 9 (accept) in the file: the accept wins.
  const std::string config = std::string(kInterfaces) + kObjects +
                             "config firewall policy\n"
                             "    edit 9\n"
                             "        set srcintf \"port2\"\n"
                             "        set dstintf \"port1\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set action accept\n"
                             "        set service \"DNS\"\n"
                             "    next\n"
                             "    edit 1\n"
                             "        set srcintf \"port2\"\n"
                             "        set dstintf \"any\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "    edit 2\n"
                             "        set srcintf \"port2\"\n"
                             "        set dstintf \"port3\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set action accept\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "end\n";
  const Report r = CheckForti(config);
  const auto lan_wan = Violations(r, "lan", "wan");
  ASSERT_EQ(lan_wan.size(), 1u);
  EXPECT_EQ(lan_wan[0]->packets,
            "tcp dport 53 from zone lan to zone wan; udp dport 53 from zone lan to zone wan");
  EXPECT_EQ(lan_wan[0]->path[0].rule, "fw.conf:65 (policy 9)");
  EXPECT_FALSE(Entry(r, "lan", "dmz").reachable);  // policy 1 (deny, no action) comes first
  EXPECT_FALSE(Entry(r, "wan", "lan").reachable);  // implicit deny
  // Policy 2 can never match: policy 1 denies everything from port2 first. Its copy in the
  // source-NAT chain is the parser's, not a line of its own.
  ASSERT_EQ(r.shadowed.size(), 1u);
  EXPECT_EQ(r.shadowed[0].rule.find(" (policy 2)"), r.shadowed[0].rule.size() - 11);
  EXPECT_NE(r.shadowed[0].by.find("(policy 1)"), std::string::npos);
}

TEST(FortigateTest, VipIsDnatBeforeThePolicyAndOnlyPoliciesNamingItMatch) {
  const std::string config = std::string(kInterfaces) + kObjects +
                             "config firewall vip\n"
                             "    edit \"db-fwd\"\n"
                             "        set extip 203.0.113.20\n"
                             "        set mappedip \"10.1.0.20\"\n"
                             "        set extintf \"port1\"\n"
                             "        set portforward enable\n"
                             "        set extport 11433\n"
                             "        set mappedport 1433\n"
                             "    next\n"
                             "end\n"
                             "config firewall policy\n"
                             "    edit 1\n"
                             "        set srcintf \"port1\"\n"
                             "        set dstintf \"port2\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set action deny\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "    edit 2\n"
                             "        set srcintf \"port1\"\n"
                             "        set dstintf \"port2\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"db-fwd\"\n"
                             "        set action accept\n"
                             "        set service \"ALL\"\n"
                             "        set nat enable\n"
                             "    next\n"
                             "end\n";
  Report r = CheckForti(config);
  // The deny-all above does not see the VIP's traffic (match-vip is off): a hole.
  auto holes = Violations(r, "wan", "lan");
  ASSERT_EQ(holes.size(), 1u);
  const Violation& v = *holes[0];
  EXPECT_EQ(v.witness.dst, 0xcb007114u);
  EXPECT_EQ(v.witness.dport, 11433);
  ASSERT_TRUE(v.witness.translated_dst.has_value());
  EXPECT_EQ(*v.witness.translated_dst, 0x0a010014u);
  EXPECT_EQ(*v.witness.translated_dport, 1433);
  ASSERT_EQ(v.path.size(), 2u);
  EXPECT_EQ(v.path[0].rule, "fw.conf:65 (vip db-fwd)");
  EXPECT_EQ(v.path[0].action, "DNAT");
  EXPECT_EQ(v.path[1].rule, "fw.conf:83 (policy 2)");
  EXPECT_EQ(v.packets, "tcp dport 1433 from zone wan to 10.1.0.20 (as delivered, after DNAT)");
  // With match-vip enable the deny-all catches it first.
  std::string closed = config;
  closed.insert(closed.find("        set action deny\n"), "        set match-vip enable\n");
  r = CheckForti(closed);
  EXPECT_FALSE(Entry(r, "wan", "lan").reachable);
}

TEST(FortigateTest, UnmodelledConstructsAreListedAndMayMatch) {
  const std::string config = std::string(kInterfaces) +
                             "config firewall address\n"
                             "    edit \"cloud\"\n"
                             "        set type fqdn\n"
                             "        set fqdn \"api.example.jp\"\n"
                             "    next\n"
                             "end\n"
                             "config firewall policy\n"
                             "    edit 3\n"
                             "        set srcintf \"port2\"\n"
                             "        set dstintf \"port1\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"cloud\"\n"
                             "        set action accept\n"
                             "        set schedule \"office-hours\"\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "    edit 4\n"
                             "        set status disable\n"
                             "        set srcintf \"port1\"\n"
                             "        set dstintf \"port2\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set action accept\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "end\n";
  Result<Ruleset> r = ParseFortigate(config, "fw.conf", "fw");
  ASSERT_TRUE(r.ok()) << r.error().message_en;
  ASSERT_EQ(r->unknown.size(), 2u);
  EXPECT_EQ(r->unknown[0].location.ToString(), "fw.conf:27");
  EXPECT_EQ(r->unknown[0].construct, "policy 3 schedule office-hours (may be inactive)");
  EXPECT_EQ(r->unknown[1].location.ToString(), "fw.conf:15");
  const Report report = CheckForti(config);
  EXPECT_TRUE(Entry(report, "lan", "wan").reachable);   // fqdn taken as any address
  EXPECT_FALSE(Entry(report, "wan", "lan").reachable);  // policy 4 is disabled
}

TEST(FortigateTest, ZonesStandForTheirInterfaces) {
  const std::string config = std::string(kInterfaces) +
                             "config system zone\n"
                             "    edit \"inside\"\n"
                             "        set interface \"port2\" \"port3\"\n"
                             "    next\n"
                             "end\n"
                             "config firewall policy\n"
                             "    edit 1\n"
                             "        set srcintf \"inside\"\n"
                             "        set dstintf \"port1\"\n"
                             "        set srcaddr \"all\"\n"
                             "        set dstaddr \"all\"\n"
                             "        set action accept\n"
                             "        set service \"ALL\"\n"
                             "    next\n"
                             "end\n";
  const Report r = CheckForti(config);
  EXPECT_TRUE(Entry(r, "lan", "wan").reachable);
  EXPECT_TRUE(Entry(r, "dmz", "wan").reachable);
  EXPECT_FALSE(Entry(r, "lan", "dmz").reachable);
}

TEST(FortigateTest, MalformedInputNamesFileAndLine) {
  const std::string head = kInterfaces;  // 13 lines
  const std::string policy_head =
      "config firewall policy\n"
      "    edit 1\n"
      "        set srcintf \"port1\"\n"
      "        set dstintf \"port2\"\n"
      "        set srcaddr \"all\"\n";
  EXPECT_EQ(ErrorOf(head + policy_head +
                    "        set dstaddr \"nowhere\"\n"
                    "        set service \"ALL\"\n    next\nend\n"),
            "fw.conf:19: address \"nowhere\" is not defined.");
  EXPECT_EQ(ErrorOf(head + policy_head + "        set dstaddr \"all\"\n    next\nend\n"),
            "fw.conf:15: policy 1 has no service.");
  EXPECT_EQ(ErrorOf(head + "config firewall address\n    edit \"a\"\n"
                           "        set subnet 10.0.0.0 255.0.255.0\n    next\nend\n"
                           "config firewall policy\n    edit 1\n        set srcintf \"port1\"\n"
                           "        set dstintf \"port2\"\n        set srcaddr \"a\"\n"
                           "        set dstaddr \"all\"\n        set service \"ALL\"\n"
                           "    next\nend\n"),
            "fw.conf:16: invalid value \"10.0.0.0 255.0.255.0\" for subnet.");
  EXPECT_EQ(ErrorOf(head + "config firewall address\n    edit \"a\"\n"),
            "fw.conf:15: edit a has no next.");
  EXPECT_EQ(ErrorOf(head + "config firewall address\n"),
            "fw.conf:14: config firewall address has no end.");
  EXPECT_EQ(ErrorOf(head + "next\n"), "fw.conf:14: next without an edit.");
  EXPECT_EQ(ErrorOf(head + "end\n"), "fw.conf:14: end without a config.");
  EXPECT_EQ(ErrorOf(head + "config firewall address\n    edit \"a\n"),
            "fw.conf:15: unterminated quotation mark.");
  EXPECT_EQ(ErrorOf(head + "config firewall service custom\n    edit \"x\"\n"
                           "        set tcp-portrange 90-80\n    next\nend\n"
                           "config firewall policy\n    edit 1\n        set srcintf \"port1\"\n"
                           "        set dstintf \"port2\"\n        set srcaddr \"all\"\n"
                           "        set dstaddr \"all\"\n        set service \"x\"\n"
                           "    next\nend\n"),
            "fw.conf:16: invalid value \"90-80\" for tcp-portrange.");
  EXPECT_EQ(ErrorOf(head +
                    "config firewall addrgrp\n    edit \"g\"\n        set member \"h\"\n"
                    "    next\n    edit \"h\"\n        set member \"g\"\n    next\nend\n" +
                    policy_head +
                    "        set dstaddr \"g\"\n        set service \"ALL\"\n"
                    "    next\nend\n"),
            "fw.conf:19: group \"g\" loops or nests too deeply.");
  EXPECT_EQ(ErrorOf(head + "config firewall policy\n    edit 1\n        set srcintf \"port9\"\n"
                           "        set dstintf \"port2\"\n        set srcaddr \"all\"\n"
                           "        set dstaddr \"all\"\n        set service \"ALL\"\n"
                           "    next\nend\n"),
            "fw.conf:16: interface \"port9\" is not defined.");
}

}  // namespace
}  // namespace mamori::netsep
