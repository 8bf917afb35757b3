#include "netsep/asa.h"

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
  Result<Ruleset> r = ParseCiscoAsa(text, "fw.cfg", "fw");
  return r.ok() ? std::string("(parsed)") : r.error().message_en;
}

constexpr const char* kInterfaces =
    "interface GigabitEthernet0/0\n"
    " nameif outside\n"
    " security-level 0\n"
    " ip address 203.0.113.1 255.255.255.0\n"
    "!\n"
    "interface GigabitEthernet0/1\n"
    " nameif inside\n"
    " security-level 100\n"
    " ip address 10.1.0.1 255.255.0.0\n"
    "!\n"
    "interface GigabitEthernet0/2\n"
    " nameif dmz\n"
    " security-level 50\n"
    " ip address 10.9.0.1 255.255.0.0\n"
    "!\n";

constexpr const char* kTopology = R"(
[zones.inside]
networks = ["10.1.0.0/16"]
[zones.dmz]
networks = ["10.9.0.0/16"]
[zones.outside]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "cisco-asa"
config = "fw.cfg"
interfaces = { outside = "outside", inside = "inside", dmz = "dmz" }
)";

Report CheckAsa(const std::string& config) {
  return testing::CheckConfig(kTopology, "fw.cfg", config);
}

TEST(AsaTest, ObjectGroupsBecomeRulesOfTheAccessList) {
  const std::string config = std::string(kInterfaces) +
                             "object network web1\n"
                             " host 10.9.0.10\n"
                             "object network web-net\n"
                             " subnet 10.9.1.0 255.255.255.0\n"
                             "object-group network inner\n"
                             " network-object object web1\n"
                             "object-group network web\n"
                             " group-object inner\n"
                             " network-object object web-net\n"
                             " network-object host 10.9.2.5\n"
                             "object-group service web-ports tcp\n"
                             " port-object eq www\n"
                             " port-object range 8000 8080\n"
                             "object-group service mixed\n"
                             " service-object tcp destination eq https\n"
                             " service-object udp destination eq domain\n"
                             "access-list outside_in remark public web\n"
                             "access-list outside_in extended permit tcp any object-group web "
                             "object-group web-ports\n"
                             "access-list outside_in extended permit object-group mixed any host "
                             "10.9.0.53 log\n"
                             "access-list outside_in extended deny ip any any inactive\n"
                             "access-group outside_in in interface outside\n";
  Result<Ruleset> r = ParseCiscoAsa(config, "fw.cfg", "fw");
  ASSERT_TRUE(r.ok()) << r.error().message_en;
  EXPECT_TRUE(r->unknown.empty());
  const Table* table = r->FindTable("asa");
  ASSERT_NE(table, nullptr);
  const Chain* acl = table->FindChain("acl outside_in");
  ASSERT_NE(acl, nullptr);
  // Line 33: one rule; line 34: one rule per service-object; the inactive entry is skipped.
  ASSERT_EQ(acl->rules.size(), 3u);
  const Rule& web = acl->rules[0];
  EXPECT_EQ(web.location.ToString(), "fw.cfg:33");
  EXPECT_EQ(web.action.kind, ActionKind::kAccept);
  ASSERT_EQ(web.matches.size(), 3u);  // protocol, destination, destination port
  EXPECT_EQ(web.matches[1].kind, MatchKind::kDstAddress);
  // 10.9.0.10, 10.9.1.0/24 and 10.9.2.5: three disjoint ranges.
  ASSERT_EQ(web.matches[1].terms.size(), 3u);
  EXPECT_EQ(web.matches[1].terms[1].first, 0x0a090100u);
  EXPECT_EQ(web.matches[1].terms[1].second, 0x0a0901ffu);
  EXPECT_EQ(web.matches[2].kind, MatchKind::kDstPort);
  ASSERT_EQ(web.matches[2].terms.size(), 2u);
  EXPECT_EQ(web.matches[2].terms[0].first, 80u);
  EXPECT_EQ(web.matches[2].terms[1].second, 8080u);
  EXPECT_EQ(acl->rules[1].matches[0].terms[0].first, 6u);
  EXPECT_EQ(acl->rules[2].matches[0].terms[0].first, 17u);
  EXPECT_EQ(acl->rules[2].matches[2].terms[0].first, 53u);
  ASSERT_EQ(r->base_chains.size(), 3u);
  EXPECT_EQ(r->base_chains[1].chain, "access");
}

TEST(AsaTest, ProtocolAndIcmpGroupsInAnEntry) {
  // Regression: a protocol group named as the protocol of an entry was taken for a loop.
  const std::string config = std::string(kInterfaces) +
                             "object-group protocol tunnels\n"
                             " protocol-object gre\n"
                             " protocol-object esp\n"
                             "object-group icmp-type pings\n"
                             " icmp-object echo\n"
                             " icmp-object timestamp-request\n"
                             "access-list a extended permit object-group tunnels any any\n"
                             "access-list a extended permit icmp any any object-group pings\n"
                             "access-group a in interface outside\n";
  Result<Ruleset> r = ParseCiscoAsa(config, "fw.cfg", "fw");
  ASSERT_TRUE(r.ok()) << r.error().message_en;
  const Chain* acl = r->FindTable("asa")->FindChain("acl a");
  ASSERT_NE(acl, nullptr);
  ASSERT_EQ(acl->rules.size(), 2u);
  ASSERT_EQ(acl->rules[0].matches.size(), 1u);
  ASSERT_EQ(acl->rules[0].matches[0].terms.size(), 2u);  // gre 47, esp 50
  EXPECT_EQ(acl->rules[0].matches[0].terms[0].first, 47u);
  EXPECT_EQ(acl->rules[0].matches[0].terms[1].first, 50u);
  EXPECT_EQ(acl->rules[1].matches[1].kind, MatchKind::kIcmpType);
  EXPECT_EQ(acl->rules[1].matches[1].terms.size(), 2u);
}

TEST(AsaTest, SecurityLevelsDecideWithoutAnAccessList) {
  const Report r = CheckAsa(kInterfaces);
  EXPECT_TRUE(Entry(r, "inside", "outside").reachable);
  EXPECT_TRUE(Entry(r, "inside", "dmz").reachable);
  EXPECT_TRUE(Entry(r, "dmz", "outside").reachable);
  EXPECT_FALSE(Entry(r, "dmz", "inside").reachable);
  EXPECT_FALSE(Entry(r, "outside", "dmz").reachable);
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);
}

TEST(AsaTest, EqualLevelsNeedSameSecurityTraffic) {
  std::string config = kInterfaces;
  config.replace(config.find("security-level 50"), 17, "security-level 0");
  Report r = CheckAsa(config);
  EXPECT_FALSE(Entry(r, "dmz", "outside").reachable);
  EXPECT_FALSE(Entry(r, "outside", "dmz").reachable);
  r = CheckAsa(config + "same-security-traffic permit inter-interface\n");
  EXPECT_TRUE(Entry(r, "dmz", "outside").reachable);
  EXPECT_TRUE(Entry(r, "outside", "dmz").reachable);
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);
}

TEST(AsaTest, AnInboundListReplacesTheSecurityLevelsOfItsInterface) {
  const std::string config = std::string(kInterfaces) +
                             "access-list in_acl extended permit tcp any host 203.0.113.80 eq "
                             "https\n"
                             "access-group in_acl in interface inside\n";
  const Report r = CheckAsa(config);
  // inside → outside only as the list says; inside → dmz no longer (implicit deny).
  EXPECT_TRUE(Entry(r, "inside", "outside").reachable);
  EXPECT_FALSE(Entry(r, "inside", "dmz").reachable);
  EXPECT_TRUE(Entry(r, "dmz", "outside").reachable);  // dmz keeps its security level
  const Violation* v = FindViolation(r, "inside", "outside");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->witness.dst, 0xcb007150u);
  EXPECT_EQ(v->witness.dport, 443);
  ASSERT_EQ(v->path.size(), 1u);
  EXPECT_EQ(v->path[0].rule, "fw.cfg:16");
}

TEST(AsaTest, GlobalListComesAfterTheInterfaceListAndEndsTheSecurityLevels) {
  const std::string config = std::string(kInterfaces) +
                             "access-list in_acl extended deny tcp any any eq telnet\n"
                             "access-list glob extended permit tcp any any eq telnet\n"
                             "access-list glob extended permit udp any 10.9.0.0 255.255.0.0 eq "
                             "snmp\n"
                             "access-group in_acl in interface outside\n"
                             "access-group glob global\n";
  const Report r = CheckAsa(config);
  // outside: its own list denies telnet; the global list still permits snmp to the dmz.
  const Violation* v = FindViolation(r, "outside", "dmz");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->witness.proto, 17);
  EXPECT_EQ(v->witness.dport, 161);
  EXPECT_EQ(v->packets.find("tcp"), std::string::npos) << v->packets;
  // inside: no list of its own; the global one (telnet) replaces the security levels.
  const Violation* in = FindViolation(r, "inside", "outside");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->witness.dport, 23);
  EXPECT_EQ(in->packets, "tcp dport 23 from zone inside to zone outside");
}

TEST(AsaTest, EntriesAfterABroaderOneAreShadowed) {
  const std::string config = std::string(kInterfaces) +
                             "access-list outside_in extended permit tcp any 10.9.0.0 "
                             "255.255.0.0\n"  // 16
                             "access-list outside_in extended deny tcp any host 10.9.0.5 eq "
                             "www\n"                                              // 17
                             "access-list outside_in extended deny ip any any\n"  // 18
                             "access-group outside_in in interface outside\n";
  const Report r = CheckAsa(config);
  // The explicit deny at the end is not shadowed (udp, icmp, tcp elsewhere), and the implicit
  // deny after it, which it does shadow, is the parser's, not a line of the configuration.
  ASSERT_EQ(r.shadowed.size(), 1u);
  EXPECT_EQ(r.shadowed[0].rule, "fw.cfg:17");
  EXPECT_EQ(r.shadowed[0].by, "fw.cfg:16");
}

TEST(AsaTest, StaticNatOpensAHoleThroughTheRealAddress) {
  const std::string config = std::string(kInterfaces) +
                             "object network db\n"
                             " host 10.1.0.20\n"
                             " nat (inside,outside) static 203.0.113.20 service tcp 1433 11433\n"
                             "object network lan\n"
                             " subnet 10.1.0.0 255.255.0.0\n"
                             " nat (inside,outside) dynamic interface\n"
                             "access-list outside_in extended permit tcp any object db eq 1433\n"
                             "access-group outside_in in interface outside\n";
  const Report r = CheckAsa(config);
  const Violation* v = FindViolation(r, "outside", "inside");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->witness.dst, 0xcb007114u);  // 203.0.113.20 as sent
  EXPECT_EQ(v->witness.dport, 11433);
  ASSERT_TRUE(v->witness.translated_dst.has_value());
  EXPECT_EQ(*v->witness.translated_dst, 0x0a010014u);
  EXPECT_EQ(*v->witness.translated_dport, 1433);
  ASSERT_EQ(v->path.size(), 2u);
  EXPECT_EQ(v->path[0].rule, "fw.cfg:18");
  EXPECT_EQ(v->path[0].action, "DNAT");
  EXPECT_EQ(v->path[1].rule, "fw.cfg:22");
  // Only the translated port: nothing else from outside reaches inside.
  EXPECT_EQ(v->packets, "tcp dport 1433 from zone outside to 10.1.0.20 (as delivered, after DNAT)");
}

TEST(AsaTest, TwiceNatDestinationStaticIsUntranslatedBeforeTheAccessList) {
  const std::string config = std::string(kInterfaces) +
                             "object network dmz-net\n"
                             " subnet 10.9.0.0 255.255.0.0\n"
                             "object network app-public\n"
                             " host 198.51.100.7\n"
                             "object network app-real\n"
                             " host 10.1.0.7\n"
                             "nat (dmz,inside) source static dmz-net dmz-net destination static "
                             "app-public app-real\n"
                             "access-list dmz_in extended permit tcp any host 10.1.0.7 eq 8443\n"
                             "access-group dmz_in in interface dmz\n";
  const Report r = CheckAsa(config);
  const Violation* v = FindViolation(r, "dmz", "inside");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->witness.dst, 0xc6336407u);
  ASSERT_TRUE(v->witness.translated_dst.has_value());
  EXPECT_EQ(*v->witness.translated_dst, 0x0a010007u);
  EXPECT_EQ(v->witness.dport, 8443);
}

TEST(AsaTest, UnmodelledConstructsAreListedAndMayMatch) {
  const std::string config = std::string(kInterfaces) +
                             "object network cloud\n"
                             " fqdn v4 api.example.jp\n"
                             "time-range office\n"
                             " periodic weekdays 8:00 to 18:00\n"
                             "access-list outside_in extended permit tcp any object cloud eq 443\n"
                             "access-list outside_in extended permit tcp any host 10.9.0.5 eq 22 "
                             "time-range office\n"
                             "access-list outside_in extended permit icmp any any echo 0\n"
                             "access-group outside_in in interface outside\n"
                             "static (inside,outside) 203.0.113.9 10.1.0.9\n";
  Result<Ruleset> r = ParseCiscoAsa(config, "fw.cfg", "fw");
  ASSERT_TRUE(r.ok()) << r.error().message_en;
  ASSERT_EQ(r->unknown.size(), 4u);
  EXPECT_EQ(r->unknown[0].location.ToString(), "fw.cfg:24");
  EXPECT_EQ(r->unknown[0].construct, "pre-8.3 NAT command static (not modelled)");
  EXPECT_EQ(r->unknown[1].location.ToString(), "fw.cfg:17");
  EXPECT_EQ(r->unknown[2].location.ToString(), "fw.cfg:21");
  EXPECT_EQ(r->unknown[3].construct, "icmp code (taken as any code)");
  // The fqdn object is any address with "may match": the permit reaches every inside address.
  const Report report = CheckAsa(config);
  EXPECT_TRUE(Entry(report, "outside", "inside").reachable);
  const Violation* v = FindViolation(report, "outside", "inside");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->packets.find("tcp dport 443 from zone outside to zone inside"), 0u) << v->packets;
}

TEST(AsaTest, OutboundListIsCheckedAsWell) {
  const std::string config = std::string(kInterfaces) +
                             "access-list to_dmz extended permit tcp any host 10.9.0.25 eq smtp\n"
                             "access-group to_dmz out interface dmz\n";
  const Report r = CheckAsa(config);
  const Violation* v = FindViolation(r, "inside", "dmz");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->packets, "tcp dport 25 from zone inside to 10.9.0.25");
  EXPECT_TRUE(Entry(r, "inside", "outside").reachable);  // not through the dmz list
}

TEST(AsaTest, MalformedInputNamesFileAndLine) {
  const std::string head = kInterfaces;  // 15 lines
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit tcp any host 10.1.0.256 eq 80\n"),
            "fw.cfg:16: invalid address \"10.1.0.256\".");
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit ip 10.1.0.0 255.0.255.0 any\n"),
            "fw.cfg:16: invalid address and netmask \"10.1.0.0 255.0.255.0\".");
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit tcp any any eq nosuchport\n"),
            "fw.cfg:16: invalid port \"nosuchport\".");
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit ip any object-group nope\n"),
            "fw.cfg:16: object nope is not defined.");
  EXPECT_EQ(ErrorOf(head + "access-group nope in interface outside\n"),
            "fw.cfg:16: access-list nope is not defined.");
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit ip any any\n"
                           "access-group a in interface wan\n"),
            "fw.cfg:17: interface wan is not defined.");
  EXPECT_EQ(ErrorOf(head + "object-group network a\n group-object b\n"
                           "object-group network b\n group-object a\n"
                           "access-list x extended permit ip object-group a any\n"),
            "fw.cfg:19: group-object a loops or nests too deeply.");
  EXPECT_EQ(ErrorOf(head + "access-list a extended permit tcp any any eq 80 bogus\n"),
            "fw.cfg:16: cannot read the access-list word \"bogus\".");
  EXPECT_EQ(ErrorOf(head + "object network n\n description none\n"
                           "access-list a extended permit ip object n any\n"),
            "fw.cfg:16: object n has no host, subnet, range or fqdn.");
  EXPECT_EQ(ErrorOf(" nameif x\n"), "fw.cfg:1: an indented line before any command.");
}

}  // namespace
}  // namespace mamori::netsep
