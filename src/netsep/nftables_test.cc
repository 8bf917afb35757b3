#include "netsep/nftables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/text.h"
#include "netsep/engine.h"
#include "netsep/engine_test_support.h"
#include "netsep/topology.h"

namespace mamori::netsep {
namespace {

using testing::Entry;
using testing::FindViolation;
using testing::Violations;

// ---- Building nft -j documents -------------------------------------------------------------

std::string Doc(const std::vector<std::string>& items) {
  std::string out = R"({"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}})";
  for (const std::string& item : items) out += "," + item;
  return out + "]}";
}

std::string TableJ(const std::string& family, const std::string& name) {
  return Cat(R"({"table":{"family":")", family, R"(","name":")", name, R"(","handle":1}})");
}

// `prio` is JSON: 0, -150 or "\"dstnat - 10\"".
std::string BaseJ(const std::string& family, const std::string& table, const std::string& name,
                  const std::string& type, const std::string& hook, const std::string& prio,
                  const std::string& policy = "accept") {
  return Cat(R"({"chain":{"family":")", family, R"(","table":")", table, R"(","name":")", name,
             R"(","handle":1,"type":")", type, R"(","hook":")", hook, R"(","prio":)", prio,
             R"(,"policy":")", policy, R"("}})");
}

std::string ChainJ(const std::string& family, const std::string& table, const std::string& name) {
  return Cat(R"({"chain":{"family":")", family, R"(","table":")", table, R"(","name":")", name,
             R"(","handle":1}})");
}

std::string RuleJ(const std::string& family, const std::string& table, const std::string& chain,
                  int handle, const std::string& expr) {
  return Cat(R"({"rule":{"family":")", family, R"(","table":")", table, R"(","chain":")", chain,
             R"(","handle":)", std::to_string(handle), R"(,"expr":[)", expr, "]}}");
}

// A document with `inet filter` and its forward chain (policy drop), plus `rules` there.
std::string Forward(const std::vector<std::string>& exprs,
                    const std::vector<std::string>& more = {}) {
  std::vector<std::string> items = {
      TableJ("inet", "filter"),
      BaseJ("inet", "filter", "forward", "filter", "forward", "0", "drop")};
  items.insert(items.end(), more.begin(), more.end());
  int handle = 10;
  for (const std::string& e : exprs)
    items.push_back(RuleJ("inet", "filter", "forward", handle++, e));
  return Doc(items);
}

std::string M(const std::string& left, const std::string& right, const std::string& op = "==") {
  return Cat(R"({"match":{"op":")", op, R"(","left":)", left, R"(,"right":)", right, "}}");
}

const char* kAccept = R"({"accept":null})";
const char* kDrop = R"({"drop":null})";
const char* kSaddr = R"({"payload":{"protocol":"ip","field":"saddr"}})";
const char* kDaddr = R"({"payload":{"protocol":"ip","field":"daddr"}})";
const char* kTcpDport = R"({"payload":{"protocol":"tcp","field":"dport"}})";
const char* kThDport = R"({"payload":{"protocol":"th","field":"dport"}})";
const char* kIifname = R"({"meta":{"key":"iifname"}})";
const char* kOifname = R"({"meta":{"key":"oifname"}})";
const char* kL4proto = R"({"meta":{"key":"l4proto"}})";
const char* kCtState = R"({"ct":{"key":"state"}})";

// ---- Rendering the model --------------------------------------------------------------------

std::string Terms(const std::vector<ValueTerm>& terms, bool address) {
  std::string out;
  for (const ValueTerm& t : terms) {
    if (!out.empty()) out += ",";
    auto num = [&](uint64_t v) {
      return address ? FormatIpv4(static_cast<uint32_t>(v)) : std::to_string(v);
    };
    if (t.kind == ValueTerm::Kind::kMasked) {
      out += num(t.first) + "&" + num(t.second);
    } else {
      out += t.first == t.second ? num(t.first) : num(t.first) + "-" + num(t.second);
    }
  }
  return out;
}

// One rule as text, e.g. "proto=6 dport=22 -> accept".
std::string Render(const Rule& rule) {
  std::string out;
  for (const Match& m : rule.matches) {
    out += m.negated ? "!" : "";
    switch (m.kind) {
      case MatchKind::kSrcAddress:
        out += "saddr=" + Terms(m.terms, true);
        break;
      case MatchKind::kDstAddress:
        out += "daddr=" + Terms(m.terms, true);
        break;
      case MatchKind::kProtocol:
        out += "proto=" + Terms(m.terms, false);
        break;
      case MatchKind::kSrcPort:
        out += "sport=" + Terms(m.terms, false);
        break;
      case MatchKind::kDstPort:
        out += "dport=" + Terms(m.terms, false);
        break;
      case MatchKind::kEitherPort:
        out += "port=" + Terms(m.terms, false);
        break;
      case MatchKind::kIcmpType:
        out += "icmp=" + Terms(m.terms, false);
        break;
      case MatchKind::kInInterface:
      case MatchKind::kOutInterface:
        out += m.kind == MatchKind::kInInterface ? "in=" : "out=";
        for (size_t i = 0; i < m.interfaces.size(); ++i) {
          out += (i > 0 ? "," : "") + m.interfaces[i];
        }
        break;
      case MatchKind::kConnState:
        out += "ct=" + std::to_string(m.conn_states);
        break;
      case MatchKind::kConstant:
        out += m.constant ? "true" : "false";
        break;
      case MatchKind::kMayMatch:
        out += "may";
        break;
      case MatchKind::kHeaderSet:  // ipset only
        out += "set";
        break;
    }
    out += " ";
  }
  out += "-> " + rule.action.target;
  if (rule.action.nat.address) out += " addr=" + Terms({*rule.action.nat.address}, true);
  if (rule.action.nat.port) out += " port=" + Terms({*rule.action.nat.port}, false);
  return out;
}

Ruleset Parse(const std::string& json) {
  Result<Ruleset> r = ParseNftJson(json, "fw.json", "fw");
  EXPECT_TRUE(r.ok()) << r.error().message_en;
  return r.ok() ? *r : Ruleset{};
}

std::string ErrorOf(const std::string& json) {
  Result<Ruleset> r = ParseNftJson(json, "fw.json", "fw");
  return r.ok() ? std::string("(parsed)") : r.error().message_en;
}

std::vector<std::string> Rules(const Ruleset& r, const std::string& table = "inet filter",
                               const std::string& chain = "forward") {
  std::vector<std::string> out;
  const Table* t = r.FindTable(table);
  const Chain* c = t != nullptr ? t->FindChain(chain) : nullptr;
  if (c == nullptr) return {"(no chain " + table + " " + chain + ")"};
  for (const Rule& rule : c->rules) out.push_back(Render(rule));
  return out;
}

std::vector<std::string> Unknowns(const Ruleset& r) {
  std::vector<std::string> out;
  for (const Unknown& u : r.unknown) out.push_back(u.location.ToString() + ": " + u.construct);
  return out;
}

using V = std::vector<std::string>;

// ---- Tables, chains and the path ------------------------------------------------------------

TEST(NftablesTest, BaseChainsRunInTheKernelsOrder) {
  const Ruleset r = Parse(Doc({
      TableJ("inet", "filter"),
      BaseJ("inet", "filter", "late", "filter", "forward", R"("filter + 10")", "accept"),
      BaseJ("inet", "filter", "forward", "filter", "forward", "0", "drop"),
      BaseJ("inet", "filter", "input", "filter", "input", "0", "drop"),
      BaseJ("inet", "filter", "raw", "filter", "prerouting", R"("raw")"),
      BaseJ("inet", "filter", "mangle", "filter", "prerouting", "-150"),
      ChainJ("inet", "filter", "user"),
      TableJ("ip", "nat"),
      BaseJ("ip", "nat", "pre_late", "nat", "prerouting", "-90"),
      BaseJ("ip", "nat", "pre", "nat", "prerouting", R"("dstnat")"),
      BaseJ("ip", "nat", "post", "nat", "postrouting", R"("srcnat - 5")"),
  }));
  std::vector<std::string> path;
  for (const BaseChain& b : r.base_chains) {
    path.push_back(Cat(b.table, " ", b.chain, " ", std::to_string(b.priority),
                       b.type == ChainType::kNat ? " nat" : ""));
  }
  // nat chains run at the nat hook's priority (-100, 100), among themselves in declared order.
  EXPECT_EQ(path, (V{"inet filter raw -300", "inet filter mangle -150", "ip nat pre -100 nat",
                     "ip nat pre_late -100 nat", "inet filter forward 0", "inet filter late 10",
                     "ip nat post 100 nat"}));
  EXPECT_EQ(r.base_chains[0].hook, Hook::kPrerouting);
  EXPECT_EQ(r.base_chains[4].hook, Hook::kForward);
  EXPECT_EQ(r.base_chains[6].hook, Hook::kPostrouting);
  const Table* filter = r.FindTable("inet filter");
  ASSERT_NE(filter, nullptr);
  EXPECT_EQ(filter->FindChain("forward")->policy, ActionKind::kDrop);
  EXPECT_EQ(filter->FindChain("late")->policy, ActionKind::kAccept);
  EXPECT_EQ(filter->FindChain("user")->policy, ActionKind::kReturn);
  EXPECT_FALSE(filter->FindChain("user")->builtin);
  EXPECT_TRUE(r.unknown.empty()) << Unknowns(r)[0];
}

TEST(NftablesTest, SamePriorityOfAFilterAndANatChainIsReported) {
  const Ruleset r =
      Parse(Doc({TableJ("ip", "t"), BaseJ("ip", "t", "f", "filter", "prerouting", "-100"),
                 BaseJ("ip", "t", "n", "nat", "prerouting", "-100"),
                 BaseJ("ip", "t", "a", "filter", "forward", "0"),
                 BaseJ("ip", "t", "b", "filter", "forward", "0")}));
  // Two filter chains at one priority: their order cannot change what gets through.
  EXPECT_EQ(Unknowns(r), (V{"fw.json:1 (chain ip t n): the order of base chains ip t f and ip t n "
                            "at the same priority is not defined (taken: listing order)"}));
}

TEST(NftablesTest, LocationsNameTheLineAndTheHandle) {
  const std::string pretty = R"({
  "nftables": [
    {"metainfo": {"json_schema_version": 1}},
    {"table": {"family": "inet", "name": "filter", "handle": 1}},
    {"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 1,
               "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
    {
      "rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 7,
               "expr": [{"accept": null}]}
    },
    {"rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 9, "expr": [
      {"vmap": {"key": {"meta": {"key": "iifname"}},
                "data": {"set": [["eth1", {"accept": null}], ["eth2", {"drop": null}]]}}}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "forward", "expr": [{"drop": null}]}}
  ]
}
)";
  const Ruleset r = Parse(pretty);
  const Chain* forward = r.FindTable("inet filter")->FindChain("forward");
  ASSERT_EQ(forward->rules.size(), 4u);
  EXPECT_EQ(forward->location.ToString(), "fw.json:5 (chain inet filter forward)");
  EXPECT_EQ(forward->rules[0].location.ToString(), "fw.json:7 (inet filter forward handle 7)");
  EXPECT_EQ(forward->rules[1].location.ToString(),
            "fw.json:11 (inet filter forward handle 9, vmap element 1)");
  EXPECT_EQ(forward->rules[2].location.ToString(),
            "fw.json:11 (inet filter forward handle 9, vmap element 2)");
  // Without a handle (hand-written JSON): the rule's position in its chain.
  EXPECT_EQ(forward->rules[3].location.ToString(), "fw.json:14 (inet filter forward rule 1)");

  // nft -j prints one line: the handle tells the rules apart.
  const Ruleset flat = Parse(Forward({kAccept, kDrop}));
  const Chain* f = flat.FindTable("inet filter")->FindChain("forward");
  EXPECT_EQ(f->rules[0].location.ToString(), "fw.json:1 (inet filter forward handle 10)");
  EXPECT_EQ(f->rules[1].location.ToString(), "fw.json:1 (inet filter forward handle 11)");
}

// ---- Matches --------------------------------------------------------------------------------

TEST(NftablesTest, AddressesPortsProtocolsInterfaces) {
  const Ruleset r = Parse(Forward({
      M(kSaddr, R"({"prefix":{"addr":"10.1.0.0","len":16}})") + "," + M(kDaddr, R"("10.2.0.1")") +
          "," + kAccept,
      M(kSaddr, R"({"range":["10.0.0.1","10.0.0.9"]})", "!=") + "," + kAccept,
      M(kTcpDport, "1024", "<") + "," + kDrop,
      M(kTcpDport, "60000", ">=") + "," + kAccept,
      M(R"({"payload":{"protocol":"udp","field":"sport"}})", R"({"set":[53,{"range":[100,200]}]})",
        "!=") +
          "," + kAccept,
      M(kL4proto, R"({"set":["tcp","gre",50]})") + "," + kAccept,
      M(R"({"payload":{"protocol":"ip","field":"protocol"}})", R"("icmp")", "!=") + "," + kDrop,
      M(R"({"payload":{"protocol":"icmp","field":"type"}})", R"({"set":["echo-request",0]})") +
          "," + kAccept,
      M(kIifname, R"("eth*")") + "," + M(kOifname, R"({"set":["eth0","wan1"]})", "!=") + "," +
          kAccept,
      M(R"({"meta":{"key":"iif"}})", R"("lo")") + "," + kAccept,
      M(R"({"&":[{"payload":{"protocol":"ip","field":"saddr"}},"255.0.255.0"]})", R"("10.0.1.0")") +
          "," + kAccept,
      M(R"({"meta":{"key":"nfproto"}})", R"("ipv4")") + "," + kAccept,
      M(R"({"meta":{"key":"nfproto"}})", R"("ipv6")") + "," + kAccept,
      M(R"({"payload":{"protocol":"ip6","field":"saddr"}})", R"("::1")", "!=") + "," + kAccept,
  }));
  EXPECT_EQ(Rules(r),
            (V{"saddr=10.1.0.0&255.255.0.0 daddr=10.2.0.1 -> accept",
               "!saddr=10.0.0.1-10.0.0.9 -> accept", "proto=6 dport=0-1023 -> drop",
               "proto=6 dport=60000-65535 -> accept", "proto=17 !sport=53,100-200 -> accept",
               "proto=6,47,50 -> accept", "!proto=1 -> drop", "proto=1 icmp=8,0 -> accept",
               "in=eth+ !out=eth0,wan1 -> accept", "in=lo -> accept",
               "saddr=10.0.1.0&255.0.255.0 -> accept", "true -> accept", "false -> accept",
               "false -> accept"}));
  EXPECT_TRUE(r.unknown.empty());
}

TEST(NftablesTest, NamedSetsWithIntervalsAndElementOptions) {
  const std::string sets =
      R"({"set":{"family":"inet","name":"lan","table":"filter","type":"ipv4_addr","handle":3,)"
      R"("flags":["interval"],"elem":[{"prefix":{"addr":"10.10.0.0","len":16}},"10.20.1.5",)"
      R"({"range":["10.30.0.1","10.30.0.9"]},{"elem":{"val":"10.40.0.1","comment":"x"}}]}},)"
      R"({"set":{"family":"inet","name":"web","table":"filter","type":"inet_service","handle":4,)"
      R"("flags":["interval"],"elem":[80,443,{"range":[8000,8080]}]}},)"
      R"({"set":{"family":"inet","name":"empty","table":"filter","type":"ipv4_addr","handle":5}})";
  const Ruleset r = Parse(Forward(
      {M(kSaddr, R"("@lan")") + "," + M(kTcpDport, R"("@web")") + "," + kAccept,
       M(kDaddr, R"("@empty")") + "," + kAccept, M(kDaddr, R"("@empty")", "!=") + "," + kDrop},
      {sets}));
  EXPECT_EQ(Rules(r),
            (V{"saddr=10.10.0.0&255.255.0.0,10.20.1.5,10.30.0.1-10.30.0.9,10.40.0.1 proto=6 "
               "dport=80,443,8000-8080 -> accept",
               "daddr= -> accept", "!daddr= -> drop"}));
  EXPECT_EQ(ErrorOf(Forward({M(kSaddr, R"("@nope")") + "," + kAccept})),
            "fw.json:1 (inet filter forward handle 10): there is no set nope.");
}

TEST(NftablesTest, SetsThatChangeAtRunTimeMayMatch) {
  const std::string sets =
      R"({"set":{"family":"inet","name":"ban","table":"filter","type":"ipv4_addr","handle":3,)"
      R"("flags":["timeout"],"elem":["10.0.0.1"]}},)"
      R"({"set":{"family":"inet","name":"seen","table":"filter","type":"ipv4_addr","handle":4}})";
  const Ruleset r = Parse(Forward(
      {M(kSaddr, R"("@ban")") + "," + kDrop,
       R"({"set":{"op":"update","elem":{"payload":{"protocol":"ip","field":"saddr"}},"set":"@seen"}})",
       M(kSaddr, R"("@seen")") + "," + kAccept},
      {sets}));
  EXPECT_EQ(Rules(r), (V{"may -> drop", "-> ", "may -> accept"}));
  EXPECT_EQ(Unknowns(r),
            (V{"fw.json:1 (inet filter forward handle 10): match ip saddr against set @ban (its "
               "content changes at run time)",
               "fw.json:1 (inet filter forward handle 12): match ip saddr against set @seen (its "
               "content changes at run time)"}));
}

TEST(NftablesTest, ConcatenationsSplitPerElement) {
  const std::string concat = R"({"concat":[{"payload":{"protocol":"ip","field":"saddr"}},)"
                             R"({"payload":{"protocol":"tcp","field":"dport"}}]})";
  const Ruleset r = Parse(Forward({
      M(concat, R"({"set":[{"concat":[{"prefix":{"addr":"10.0.0.0","len":24}},22]},)"
                R"({"concat":["10.1.0.1",{"range":[80,90]}]}]})") +
          "," + kAccept,
      M(concat, R"({"set":[{"concat":["10.0.0.1",22]},{"concat":["10.0.0.2",23]}]})", "!=") + "," +
          kDrop,
  }));
  EXPECT_EQ(Rules(r), (V{
                          "proto=6 saddr=10.0.0.0&255.255.255.0 dport=22 -> accept",
                          "proto=6 saddr=10.1.0.1 dport=80-90 -> accept",
                          // not (a.22) and not (b.23): one rule per way to differ from both
                          "proto=6 !saddr=10.0.0.1 !saddr=10.0.0.2 -> drop",
                          "proto=6 !saddr=10.0.0.1 !dport=23 -> drop",
                          "proto=6 !dport=22 !saddr=10.0.0.2 -> drop",
                          "proto=6 !dport=22 !dport=23 -> drop",
                      }));
  const Chain* f = r.FindTable("inet filter")->FindChain("forward");
  EXPECT_EQ(f->rules[1].location.detail, "inet filter forward handle 10, set element 2");
  EXPECT_EQ(f->rules[5].location.detail, "inet filter forward handle 11, case 4");
  EXPECT_EQ(ErrorOf(Forward({M(concat, R"({"set":["10.0.0.1"]})") + "," + kAccept})),
            "fw.json:1 (inet filter forward handle 10): the element \"10.0.0.1\" does not fit the "
            "concatenation.");
}

TEST(NftablesTest, ConnTrackStateIsDecidedForTheFirstPacket) {
  const Ruleset r = Parse(Forward({
      M(kCtState, R"(["established","related"])", "in") + "," + kAccept,
      M(kCtState, R"("new")") + "," + kAccept,
      M(kCtState, R"("established")", "!=") + "," + kDrop,
      M(kCtState, R"({"set":["new","untracked"]})") + "," + kAccept,
      M(kCtState, R"({"|":["established","related"]})") + "," + kAccept,  // == est|rel: never
      M(kCtState, R"(["established","related"])", "!") + "," + kAccept,
      M(R"({"&":[{"ct":{"key":"state"}},["established","related"]]})", "0") + "," + kAccept,
      M(R"({"ct":{"key":"status"}})", R"("dnat")", "in") + "," + kAccept,
      M(R"({"ct":{"key":"status"}})", R"("dnat")", "!=") + "," + kAccept,
  }));
  const uint32_t est_rel = kCtEstablished | kCtRelated;
  const uint32_t not_est = kCtNew | kCtRelated | kCtInvalid | kCtUntracked;
  const uint32_t not_est_rel = kCtNew | kCtInvalid | kCtUntracked;
  EXPECT_EQ(Rules(r), (V{Cat("ct=", std::to_string(est_rel), " -> accept"),
                         Cat("ct=", std::to_string(kCtNew), " -> accept"),
                         Cat("ct=", std::to_string(not_est), " -> drop"),
                         Cat("ct=", std::to_string(kCtNew | kCtUntracked), " -> accept"),
                         "ct=0 -> accept", Cat("ct=", std::to_string(not_est_rel), " -> accept"),
                         Cat("ct=", std::to_string(not_est_rel), " -> accept"),
                         Cat("ct=", std::to_string(kCtDnat), " -> accept"), "may -> accept"}));
  EXPECT_EQ(Unknowns(r), (V{"fw.json:1 (inet filter forward handle 18): match ct status compared "
                            "exactly"}));
}

TEST(NftablesTest, TcpFlagsAreEvaluatedForABareSyn) {
  const char* flags = R"({"payload":{"protocol":"tcp","field":"flags"}})";
  const Ruleset r = Parse(Forward({
      M(flags, R"("syn")", "in") + "," + kAccept,
      M(R"({"&":[{"payload":{"protocol":"tcp","field":"flags"}},["syn","ack"]]})", R"("syn")") +
          "," + kAccept,
      M(R"({"&":[{"payload":{"protocol":"tcp","field":"flags"}},["fin","syn","rst","ack"]]})",
        R"("syn")", "!=") +
          "," + kDrop,
      M(flags, R"("ack")", "in") + "," + kAccept,
  }));
  EXPECT_EQ(Rules(r), (V{"proto=6 true -> accept", "proto=6 true -> accept",
                         "proto=6 false -> drop", "proto=6 false -> accept"}));
}

TEST(NftablesTest, TransportHeaderPortsOfOtherProtocolsMayMatch) {
  const Ruleset r = Parse(Forward({
      M(kThDport, "53") + "," + kAccept,
      M(kL4proto, R"({"set":["tcp","udp"]})") + "," + M(kThDport, "53") + "," + kAccept,
  }));
  EXPECT_EQ(Rules(r), (V{"dport=53 -> accept", "!proto=6,17 may -> accept",
                         "proto=6,17 dport=53 -> accept"}));
  ASSERT_EQ(r.unknown.size(), 1u);
  EXPECT_EQ(r.unknown[0].construct, "match th dport on protocols other than tcp and udp");
}

// ---- Verdicts, maps and NAT -----------------------------------------------------------------

TEST(NftablesTest, JumpGotoReturnAndTheirTargets) {
  const std::string user = ChainJ("inet", "filter", "web");
  const Ruleset r = Parse(Forward(
      {R"({"jump":{"target":"web"}})", R"({"goto":{"target":"web"}})", R"({"return":null})",
       R"({"continue":null})", R"({"counter":{"packets":0,"bytes":0}},{"log":{"prefix":"x"}})",
       R"({"reject":{"type":"tcp reset"}})"},
      {user}));
  EXPECT_EQ(Rules(r), (V{"-> jump web", "-> goto web", "-> return", "-> ", "-> ", "-> reject"}));
  const Chain* f = r.FindTable("inet filter")->FindChain("forward");
  EXPECT_EQ(f->rules[0].action.kind, ActionKind::kJump);
  EXPECT_EQ(f->rules[0].action.chain, "web");
  EXPECT_EQ(f->rules[1].action.kind, ActionKind::kGoto);
  EXPECT_EQ(f->rules[2].action.kind, ActionKind::kReturn);
  EXPECT_EQ(f->rules[3].action.kind, ActionKind::kContinue);
  EXPECT_EQ(f->rules[5].action.kind, ActionKind::kReject);
  EXPECT_EQ(ErrorOf(Forward({R"({"jump":{"target":"nope"}})"})),
            "fw.json:1 (inet filter forward handle 10): there is no chain nope to jump to.");
  EXPECT_EQ(ErrorOf(Forward({R"({"goto":{"target":"forward"}})"})),
            "fw.json:1 (inet filter forward handle 10): cannot goto to the base chain forward.");
}

TEST(NftablesTest, VerdictMapsSplitPerElement) {
  const std::string maps =
      R"({"map":{"family":"inet","name":"by_if","table":"filter","type":"ifname","handle":3,)"
      R"("map":"verdict","elem":[["eth1",{"jump":{"target":"lan"}}],["eth2",{"drop":null}]]}},)" +
      ChainJ("inet", "filter", "lan");
  const Ruleset r = Parse(Forward(
      {R"({"vmap":{"key":{"meta":{"key":"iifname"}},"data":"@by_if"}})",
       // An element whose verdict is continue goes on with the rest of the rule.
       M(kSaddr, R"({"prefix":{"addr":"10.1.0.0","len":16}})") + "," +
           R"({"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[)"
           R"([22,{"accept":null}],[{"range":[1000,2000]},{"continue":null}]]}}},)" +
           kDrop,
       R"({"vmap":{"key":{"concat":[{"meta":{"key":"iifname"}},{"meta":{"key":"oifname"}}]},)"
       R"("data":{"set":[[{"concat":["eth1","eth0"]},{"accept":null}]]}}})",
       R"({"vmap":{"key":{"ct":{"key":"state"}},"data":{"set":[["established",{"accept":null}],)"
       R"(["invalid",{"drop":null}]]}}})"},
      {maps}));
  EXPECT_EQ(Rules(r), (V{"in=eth1 -> jump lan", "in=eth2 -> drop",
                         "saddr=10.1.0.0&255.255.0.0 proto=6 dport=22 -> accept",
                         "saddr=10.1.0.0&255.255.0.0 proto=6 dport=1000-2000 -> drop",
                         "in=eth1 out=eth0 -> accept",
                         Cat("ct=", std::to_string(kCtEstablished), " -> accept"),
                         Cat("ct=", std::to_string(kCtInvalid), " -> drop")}));
  EXPECT_EQ(ErrorOf(Forward({R"({"vmap":{"key":{"meta":{"key":"iifname"}},"data":"@nope"}})"})),
            "fw.json:1 (inet filter forward handle 10): there is no map nope.");
  EXPECT_EQ(ErrorOf(Forward({R"({"vmap":{"key":{"meta":{"key":"iifname"}},"data":{"set":[)"
                             R"(["eth1",{"jump":{"target":"nope"}}]]}}})"})),
            "fw.json:1 (inet filter forward handle 10): there is no chain nope to jump to.");
}

TEST(NftablesTest, AVerdictMapOnAnUnmodelledKeyMayTakeEveryVerdict) {
  const Ruleset r = Parse(Forward({R"({"vmap":{"key":{"meta":{"key":"mark"}},"data":{"set":[)"
                                   R"([1,{"accept":null}],[2,{"drop":null}]]}}})"}));
  EXPECT_EQ(Rules(r), (V{"may -> accept", "may -> drop"}));
  EXPECT_EQ(Unknowns(r), (V{"fw.json:1 (inet filter forward handle 10): vmap on meta mark"}));
}

std::string Nat(const std::vector<std::string>& exprs) {
  std::vector<std::string> items = {TableJ("ip", "nat"),
                                    BaseJ("ip", "nat", "pre", "nat", "prerouting", "-100")};
  int handle = 1;
  for (const std::string& e : exprs) items.push_back(RuleJ("ip", "nat", "pre", handle++, e));
  return Doc(items);
}

TEST(NftablesTest, NatStatements) {
  const Ruleset r = Parse(Nat({
      M(kIifname, R"("eth0")") + "," + M(kTcpDport, "8443") +
          R"(,{"dnat":{"addr":"10.10.0.50","port":443}})",
      R"({"dnat":{"addr":{"prefix":{"addr":"10.10.0.60","len":31}},"port":{"range":[9000,9010]},)"
      R"("flags":["random","persistent"]}})",
      R"({"dnat":{"family":"ip","addr":{"map":{"key":{"payload":{"protocol":"tcp","field":"dport"}},)"
      R"("data":{"set":[[80,"10.0.0.1"],[443,{"concat":["10.0.0.2",8443]}]]}}}}})",
      R"({"dnat":{"family":"ip6","addr":"::1"}})",
      R"({"redirect":{"port":3128}})",
      R"({"masquerade":null})",
      R"({"snat":{"addr":{"range":["192.0.2.1","192.0.2.9"]}}})",
      R"({"dnat":{"addr":{"jhash":{"expr":{"payload":{"protocol":"ip","field":"saddr"}},"mod":2}}}})",
  }));
  EXPECT_EQ(Rules(r, "ip nat", "pre"),
            (V{"in=eth0 proto=6 dport=8443 -> dnat addr=10.10.0.50 port=443",
               "-> dnat addr=10.10.0.60-10.10.0.61 port=9000-9010",
               "proto=6 dport=80 -> dnat addr=10.0.0.1",
               "proto=6 dport=443 -> dnat addr=10.0.0.2 port=8443", "false -> dnat",
               "-> redirect port=3128", "-> masquerade", "-> snat addr=192.0.2.1-192.0.2.9",
               "-> dnat addr=0.0.0.0-255.255.255.255"}));
  const Chain* pre = r.FindTable("ip nat")->FindChain("pre");
  EXPECT_EQ(pre->rules[0].action.kind, ActionKind::kDnat);
  EXPECT_EQ(pre->rules[5].action.kind, ActionKind::kRedirect);
  EXPECT_EQ(pre->rules[6].action.kind, ActionKind::kMasquerade);
  EXPECT_EQ(pre->rules[7].action.kind, ActionKind::kSnat);
  EXPECT_EQ(pre->rules[3].location.detail, "ip nat pre handle 3, map element 2");
  // An address the model cannot compute: DNAT to anywhere, and reported.
  EXPECT_EQ(
      Unknowns(r),
      (V{"fw.json:1 (ip nat pre handle 8): dnat address "
         "{\"jhash\":{\"expr\":{\"payload\":{\"field\":\"saddr\",\"protocol\":\"ip\"}},\"mod\":2}} "
         "(taken to be any)"}));
}

// ---- Unmodelled constructs ------------------------------------------------------------------

TEST(NftablesTest, UnmodelledConstructsAreReportedAndMayMatch) {
  const Ruleset r = Parse(Forward({
      M(R"({"fib":{"result":"type","flags":["daddr"]}})", R"("local")") + "," + kAccept,
      M(R"({"meta":{"key":"mark"}})", "1") + "," + kAccept,
      M(R"({"payload":{"protocol":"sctp","field":"dport"}})", "9") + "," + kAccept,
      R"({"limit":{"rate":10,"per":"second"}},{"accept":null})",
      R"({"queue":{"num":1}})",
      R"({"notrack":null})",
      R"({"mangle":{"key":{"meta":{"key":"mark"}},"value":1}},{"accept":null})",
      R"({"xt":{"type":"match","name":"conntrack"}},{"accept":null})",
      R"({"mangle":{"key":{"meta":{"key":"nftrace"}},"value":1}})",
  }));
  EXPECT_EQ(Rules(r),
            (V{"may -> accept", "may -> accept", "proto=132 may -> accept", "may -> accept",
               "may -> queue", "-> notrack", "-> accept", "may -> accept", "-> "}));
  const Chain* f = r.FindTable("inet filter")->FindChain("forward");
  EXPECT_EQ(f->rules[5].action.kind, ActionKind::kUnknown);
  EXPECT_EQ(Unknowns(r),
            (V{"fw.json:1 (inet filter forward handle 10): match fib",
               "fw.json:1 (inet filter forward handle 11): match meta mark",
               "fw.json:1 (inet filter forward handle 12): match sctp dport",
               "fw.json:1 (inet filter forward handle 14): statement queue (a user-space program "
               "decides: taken to possibly accept)",
               "fw.json:1 (inet filter forward handle 15): statement notrack",
               "fw.json:1 (inet filter forward handle 16): statement mangle meta mark set",
               "fw.json:1 (inet filter forward handle 17): iptables match conntrack (xt)"}));
}

TEST(NftablesTest, FamiliesOffTheIpv4ForwardingPath) {
  const Ruleset r = Parse(Doc({
      TableJ("ip6", "f6"),
      BaseJ("ip6", "f6", "fw", "filter", "forward", "0", "drop"),
      RuleJ("ip6", "f6", "fw", 2, kAccept),
      TableJ("arp", "a"),
      BaseJ("arp", "a", "in", "filter", "input", "0", "drop"),
      TableJ("bridge", "b"),
      BaseJ("bridge", "b", "fw", "filter", "forward", R"("out")"),  // bridge names
      RuleJ("bridge", "b", "fw", 2, kDrop),
      TableJ("netdev", "quiet"),
      BaseJ("netdev", "quiet", "ing", "filter", "ingress", "-500"),
      TableJ("netdev", "strict"),
      BaseJ("netdev", "strict", "ing", "filter", "ingress", "0", "drop"),
      TableJ("inet", "i"),
      BaseJ("inet", "i", "ing", "filter", "ingress", "0"),
      RuleJ("inet", "i", "ing", 3, kDrop),
      R"({"table":{"family":"ip","name":"off","handle":9,"flags":["dormant"]}})",
      BaseJ("ip", "off", "fw", "filter", "forward", "0", "drop"),
      RuleJ("ip", "off", "fw", 2, kDrop),
  }));
  EXPECT_TRUE(r.base_chains.empty());
  EXPECT_EQ(r.FindTable("ip6 f6"), nullptr);
  EXPECT_EQ(Unknowns(r),
            (V{"fw.json:1 (chain bridge b fw): base chain bridge b fw (hook forward) is not "
               "modelled: whatever it drops is taken to pass",
               "fw.json:1 (chain netdev strict ing): base chain netdev strict ing (hook ingress) "
               "is not modelled: whatever it drops is taken to pass",
               "fw.json:1 (chain inet i ing): base chain inet i ing (hook ingress) is not "
               "modelled: whatever it drops is taken to pass"}));
}

// ---- Errors and limits ----------------------------------------------------------------------

TEST(NftablesTest, RefusesWhatNftWouldNotPrint) {
  EXPECT_EQ(ErrorOf("{\n  \"nftables\": [\n    {\"table\": }\n  ]\n}"),
            "fw.json:3: not valid JSON (byte 33): [json.exception.parse_error.101] parse error at "
            "line 3, column 15: syntax error while parsing value - unexpected '}'; expected '[', "
            "'{', or a literal");
  // nlohmann reports a number out of range as out_of_range, not parse_error (found by fuzzing).
  EXPECT_EQ(ErrorOf("{\"nftables\":[1e999]}"),
            "fw.json: not valid JSON: [json.exception.out_of_range.406] number overflow parsing "
            "'1e999'");
  EXPECT_EQ(ErrorOf(R"({"rules":[]})"),
            "fw.json:1: no \"nftables\" array (is this the output of nft -j list ruleset?).");
  EXPECT_EQ(ErrorOf(Doc({R"("table")"})),
            "fw.json:1: each element of \"nftables\" must be an object with one key.");
  EXPECT_EQ(ErrorOf(Doc({ChainJ("inet", "nope", "c")})), "fw.json:1: there is no table inet nope.");
  EXPECT_EQ(ErrorOf(Doc({TableJ("inet", "t"), TableJ("inet", "t")})),
            "fw.json:1: table inet t appears twice.");
  EXPECT_EQ(ErrorOf(Doc({TableJ("ipx", "t")})), "fw.json:1: unknown family ipx.");
  EXPECT_EQ(ErrorOf(Doc({TableJ("inet", "t"), ChainJ("inet", "t", "c"), ChainJ("inet", "t", "c")})),
            "fw.json:1 (chain inet t c): the chain is declared twice.");
  EXPECT_EQ(ErrorOf(Doc({TableJ("inet", "t"),
                         BaseJ("inet", "t", "c", "filter", "forward", R"("filter +")")})),
            "fw.json:1 (chain inet t c): the base chain has no valid priority \"prio\".");
  EXPECT_EQ(ErrorOf(Doc({TableJ("inet", "t"), BaseJ("inet", "t", "c", "mangle", "input", "0")})),
            "fw.json:1 (chain inet t c): unknown chain type mangle.");
  EXPECT_EQ(ErrorOf(Doc({TableJ("inet", "t"),
                         BaseJ("inet", "t", "c", "filter", "forward", "0", "reject")})),
            "fw.json:1 (chain inet t c): the policy must be accept or drop.");
  EXPECT_EQ(ErrorOf(Forward({}, {RuleJ("inet", "filter", "nope", 3, kAccept)})),
            "fw.json:1 (inet filter nope handle 3): there is no chain nope.");
  EXPECT_EQ(
      ErrorOf(Forward({M(kSaddr, R"("10.0.0.256")") + "," + kAccept})),
      "fw.json:1 (inet filter forward handle 10): invalid value \"10.0.0.256\" for ip saddr.");
  EXPECT_EQ(ErrorOf(Forward({M(kTcpDport, "65536") + "," + kAccept})),
            "fw.json:1 (inet filter forward handle 10): invalid value 65536 for tcp dport.");
  EXPECT_EQ(ErrorOf(Forward({M(kTcpDport, R"({"range":[90,80]})") + "," + kAccept})),
            "fw.json:1 (inet filter forward handle 10): invalid value {\"range\":[90,80]} for tcp "
            "dport.");
  EXPECT_EQ(
      ErrorOf(Forward({R"({"match":{"op":"~","left":{"meta":{"key":"iifname"}},"right":"x"}})"})),
      "fw.json:1 (inet filter forward handle 10): cannot read the match "
      "{\"left\":{\"meta\":{\"key\":\"iifname\"}},\"op\":\"~\",\"right\":\"x\"}.");
  EXPECT_EQ(
      ErrorOf(Forward({}, {R"({"rule":{"family":"inet","table":"filter","chain":"forward"}})"})),
      "fw.json:1 (inet filter forward rule 1): the rule has no \"expr\" array.");
}

TEST(NftablesTest, Limits) {
  std::string deep = "{\"nftables\":[";
  for (int i = 0; i < 70; ++i) deep += "[";
  EXPECT_EQ(ErrorOf(deep), "fw.json:1: the JSON nests deeper than 64 levels.");
  Result<Ruleset> big = ParseNftJson(std::string(kMaxConfigBytes + 1, ' '), "fw.json", "fw");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  // A negated concatenation with too many ways to differ is "may match".
  std::string elements;
  for (int i = 0; i < 10; ++i) {
    elements += (i > 0 ? "," : "") + Cat(R"({"concat":["10.0.0.)", std::to_string(i), R"(",22]})");
  }
  const Ruleset r = Parse(Forward(
      {M(R"({"concat":[{"payload":{"protocol":"ip","field":"saddr"}},{"payload":{"protocol":"tcp","field":"dport"}}]})",
         Cat(R"({"set":[)", elements, "]}"), "!=") +
       "," + kDrop}));
  EXPECT_EQ(Rules(r), (V{"proto=6 may -> drop"}));
}

// ---- With the engine ------------------------------------------------------------------------

constexpr const char* kTopology = R"(
[zones.inside]
networks = ["10.0.0.0/8"]
[zones.dmz]
networks = ["10.9.0.0/16"]
[zones.outside]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "nft-json"
config = "fw.json"
interfaces = { eth0 = "outside", eth1 = "inside", eth2 = "dmz" }
)";

Report CheckJson(const std::string& json) {
  return testing::CheckConfig(kTopology, "fw.json", json);
}

TEST(NftablesEngineTest, AnAcceptEndsOnlyItsOwnBaseChain) {
  const Report r = CheckJson(Doc({
      TableJ("inet", "a"),
      BaseJ("inet", "a", "fwd", "filter", "forward", "0", "drop"),
      RuleJ("inet", "a", "fwd", 5, M(kIifname, R"("eth0")") + "," + kAccept),
      TableJ("inet", "b"),
      BaseJ("inet", "b", "fwd", "filter", "forward", R"("filter + 10")"),
      RuleJ("inet", "b", "fwd", 7, M(kOifname, R"("eth1")") + "," + kDrop),
  }));
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);  // dropped by the second chain
  ASSERT_TRUE(Entry(r, "outside", "dmz").reachable);
  ASSERT_EQ(r.violations.size(), 1u);
  ASSERT_EQ(r.violations[0].path.size(), 2u);
  EXPECT_EQ(r.violations[0].path[0].rule, "fw.json:1 (inet a fwd handle 5)");
  EXPECT_EQ(r.violations[0].path[0].action, "ACCEPT");
  EXPECT_EQ(r.violations[0].path[1].rule, "fw.json:1 (chain inet b fwd)");
  EXPECT_EQ(r.violations[0].path[1].action, "policy ACCEPT");
}

TEST(NftablesEngineTest, LaterNatChainsDoNotSeeAConnectionAlreadyTranslated) {
  // The first nat chain forwards tcp 8443 to the dmz; the second would drop everything, but the
  // kernel stops at the first nat chain that sets up the binding.
  const Report r = CheckJson(Doc({
      TableJ("ip", "nat"),
      BaseJ("ip", "nat", "first", "nat", "prerouting", "-100"),
      BaseJ("ip", "nat", "second", "nat", "prerouting", "-90"),
      RuleJ("ip", "nat", "first", 3,
            M(kIifname, R"("eth0")") + "," + M(kTcpDport, "8443") +
                R"(,{"dnat":{"addr":"10.9.0.5","port":443}})"),
      RuleJ("ip", "nat", "second", 4, kDrop),
      TableJ("inet", "filter"),
      BaseJ("inet", "filter", "fwd", "filter", "forward", "0"),
  }));
  EXPECT_TRUE(Entry(r, "outside", "dmz").reachable);
  EXPECT_FALSE(Entry(r, "outside", "inside").reachable);  // not translated: dropped by "second"
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].path[0].rule, "fw.json:1 (ip nat first handle 3)");
  EXPECT_EQ(r.violations[0].path[0].action, "DNAT");
  EXPECT_EQ(r.violations[0].witness.dport, 8443);

  // Likewise after SNAT in postrouting.
  const Report s = CheckJson(Doc({
      TableJ("ip", "nat"),
      BaseJ("ip", "nat", "first", "nat", "postrouting", "100"),
      BaseJ("ip", "nat", "second", "nat", "postrouting", "110"),
      RuleJ("ip", "nat", "first", 3, M(kOifname, R"("eth0")") + R"(,{"masquerade":null})"),
      RuleJ("ip", "nat", "second", 4, kDrop),
  }));
  EXPECT_TRUE(Entry(s, "inside", "outside").reachable);
  EXPECT_FALSE(Entry(s, "outside", "inside").reachable);
}

TEST(NftablesEngineTest, PreroutingHasNoOutputInterfaceYet) {
  // Found by the kernel test: prerouting runs before the routing decision, so the kernel's
  // oifname there is "" (also in a chain jumped to from prerouting): `oifname "eth1"` never
  // matches, `oifname != "eth0"` always does. Postrouting knows both interfaces.
  const Report r = CheckJson(Doc({
      TableJ("inet", "t"),
      BaseJ("inet", "t", "pre", "filter", "prerouting", "-150"),
      ChainJ("inet", "t", "from_dmz"),
      BaseJ("inet", "t", "post", "filter", "postrouting", "0"),
      RuleJ("inet", "t", "pre", 4, M(kOifname, R"("eth1")") + "," + kDrop),
      RuleJ("inet", "t", "pre", 5, M(kIifname, R"("eth2")") + R"(,{"jump":{"target":"from_dmz"}})"),
      RuleJ("inet", "t", "from_dmz", 6, M(kOifname, R"("eth0")", "!=") + "," + kDrop),
      RuleJ("inet", "t", "post", 7,
            M(kIifname, R"("eth0")") + "," + M(kOifname, R"("eth2")") + "," + kDrop),
  }));
  EXPECT_TRUE(Entry(r, "outside", "inside").reachable);  // oifname "eth1" never matched
  EXPECT_FALSE(Entry(r, "dmz", "outside").reachable);    // oifname != "eth0" always matched
  EXPECT_FALSE(Entry(r, "dmz", "inside").reachable);
  EXPECT_FALSE(Entry(r, "outside", "dmz").reachable);  // postrouting: iifname and oifname
  EXPECT_TRUE(Entry(r, "inside", "dmz").reachable);
  EXPECT_TRUE(Entry(r, "inside", "outside").reachable);
}

TEST(NftablesEngineTest, AfterSourceNatTheConnectionHasTheSnatStatus) {
  // Found by the kernel test: a postrouting chain that runs after the nat hook (priority above
  // srcnat, 100) sees the SNAT binding (ct status snat); one that runs before it does not.
  const std::string status_snat = M(R"({"ct":{"key":"status"}})", R"("snat")", "in");
  const Report r = CheckJson(Doc({
      TableJ("ip", "nat"),
      BaseJ("ip", "nat", "post", "nat", "postrouting", R"("srcnat")"),
      RuleJ("ip", "nat", "post", 3,
            M(kOifname, R"({"set":["eth0","eth2"]})") + R"(,{"masquerade":null})"),
      TableJ("inet", "f"),
      BaseJ("inet", "f", "early", "filter", "postrouting", "0"),
      BaseJ("inet", "f", "late", "filter", "postrouting", "200"),
      RuleJ("inet", "f", "early", 4, status_snat + "," + M(kOifname, R"("eth2")") + "," + kDrop),
      RuleJ("inet", "f", "late", 5, status_snat + "," + M(kOifname, R"("eth0")") + "," + kDrop),
  }));
  EXPECT_TRUE(Entry(r, "inside", "dmz").reachable);  // "early" runs before the masquerade
  EXPECT_FALSE(Entry(r, "inside", "outside").reachable);
  EXPECT_FALSE(Entry(r, "dmz", "outside").reachable);
  EXPECT_TRUE(Entry(r, "outside", "inside").reachable);  // not translated
}

}  // namespace
}  // namespace mamori::netsep
