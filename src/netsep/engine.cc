#include "netsep/engine.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "netsep/asa.h"
#include "netsep/fortigate.h"
#include "netsep/iptables.h"
#include "netsep/nftables.h"

#include "common/text.h"

namespace mamori::netsep {
namespace {

// iptables forbids loops; deeper nesting than this is taken for one.
constexpr int kMaxCallDepth = 64;
constexpr uint64_t kTcp = 6;
constexpr uint64_t kUdp = 17;
constexpr uint64_t kIcmp = 1;
// ICMP types that conntrack lets open a connection (state NEW): echo, timestamp, information and
// address mask requests. Replies and errors never do (INVALID, or RELATED to an existing one).
constexpr std::array<uint64_t, 4> kIcmpNewTypes = {8, 13, 15, 17};
// Base chains on prerouting below this priority (raw, -300) run before conntrack (-200): no
// connection is attached yet, and conntrack matches see the state INVALID.
constexpr int kConntrackPriority = -200;

bool InterfaceMatches(const std::string& pattern, const std::string& name) {
  if (!pattern.empty() && pattern.back() == '+') {
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == name;
}

// What the engine knows about the packet beyond its header while traversing one device.
struct Context {
  const std::string* in_interface = nullptr;
  const std::string* out_interface = nullptr;
  bool dnatted = false;
  bool before_conntrack = false;  // a raw chain: no connection yet, the state is INVALID
};

struct Outcome {
  ActionKind verdict;
  const Rule* rule;  // nullptr: the policy of `chain`
  const Chain* chain;
  Set set;
};

struct ChainResult {
  std::vector<Outcome> outcomes;
  Set fallthrough;  // packets that reach the end of the chain or RETURN
};

class Evaluator {
 public:
  explicit Evaluator(const Space& space) : space_(space) {
    l4_ = space_.Value(Field::kProto, kTcp) | space_.Value(Field::kProto, kUdp);
    icmp_ = space_.Value(Field::kProto, kIcmp);
  }

  const Set& l4() const { return l4_; }

  // The packets `rule` matches; `may` is set when part of the rule is not modelled.
  Set MatchSet(const Rule& rule, const Context& ctx, bool& may) const {
    Set out = space_.All();
    may = false;
    for (const Match& m : rule.matches) {
      if (m.kind == MatchKind::kMayMatch) {
        may = true;
        continue;
      }
      out &= One(m, ctx);
      if (out.IsEmpty()) break;
    }
    return out;
  }

  Result<ChainResult> Eval(const Table& table, const Chain& chain, const Set& in,
                           const Context& ctx, int depth) const {
    if (depth > kMaxCallDepth) {
      return Error::Invalid(
          Cat(chain.location.ToString(), ": チェーンの呼び出しが深すぎるか循環しています。"),
          Cat(chain.location.ToString(), ": chain calls nest too deeply or loop."));
    }
    ChainResult result;
    Set remaining = in;
    for (const Rule& rule : chain.rules) {
      if (remaining.IsEmpty()) break;
      bool may = false;
      const Set m = remaining & MatchSet(rule, ctx, may);
      if (m.IsEmpty()) continue;
      switch (rule.action.kind) {
        case ActionKind::kContinue:
        case ActionKind::kUnknown:
          break;
        case ActionKind::kReturn:
          result.fallthrough |= m;
          if (!may) remaining -= m;
          break;
        case ActionKind::kJump:
        case ActionKind::kGoto: {
          const Chain* target = table.FindChain(rule.action.chain);
          if (target == nullptr) {
            return Error::Invalid(
                Cat(rule.location.ToString(), ": チェーン ", rule.action.chain, " がありません。"),
                Cat(rule.location.ToString(), ": no chain ", rule.action.chain, "."));
          }
          MAMORI_ASSIGN_OR_RETURN(ChainResult sub, Eval(table, *target, m, ctx, depth + 1));
          for (Outcome& o : sub.outcomes) Add(result.outcomes, std::move(o));
          if (rule.action.kind == ActionKind::kGoto) {
            result.fallthrough |= sub.fallthrough;
            if (!may) remaining -= m;
          } else if (!may) {
            remaining = (remaining - m) | sub.fallthrough;
          }
          break;
        }
        default:  // a verdict or a NAT rewrite: ends this chain
          Add(result.outcomes, Outcome{rule.action.kind, &rule, &chain, m});
          if (!may) remaining -= m;
          break;
      }
    }
    result.fallthrough |= remaining;
    return result;
  }

 private:
  static void Add(std::vector<Outcome>& outcomes, Outcome o) {
    for (Outcome& existing : outcomes) {
      if (existing.verdict == o.verdict && existing.rule == o.rule && existing.chain == o.chain) {
        existing.set |= o.set;
        return;
      }
    }
    outcomes.push_back(std::move(o));
  }

  Set Terms(Field field, const std::vector<ValueTerm>& terms) const {
    Set out = space_.None();
    for (const ValueTerm& t : terms) out |= space_.Term(field, t);
    return out;
  }

  Set Negate(const Set& s, bool negated) const { return negated ? ~s : s; }

  Set Bool(bool b) const { return b ? space_.All() : space_.None(); }

  Set One(const Match& m, const Context& ctx) const {
    switch (m.kind) {
      case MatchKind::kSrcAddress:
        return Negate(Terms(Field::kSrc, m.terms), m.negated);
      case MatchKind::kDstAddress:
        return Negate(Terms(Field::kDst, m.terms), m.negated);
      case MatchKind::kProtocol:
        return Negate(Terms(Field::kProto, m.terms), m.negated);
      case MatchKind::kSrcPort:
        return l4_ & Negate(Terms(Field::kSport, m.terms), m.negated);
      case MatchKind::kDstPort:
        return l4_ & Negate(Terms(Field::kDport, m.terms), m.negated);
      case MatchKind::kEitherPort:
        return l4_ &
               Negate(Terms(Field::kSport, m.terms) | Terms(Field::kDport, m.terms), m.negated);
      case MatchKind::kIcmpType:
        return icmp_ & Negate(Terms(Field::kIcmpType, m.terms), m.negated);
      case MatchKind::kInInterface:
      case MatchKind::kOutInterface: {
        const std::string* name =
            m.kind == MatchKind::kInInterface ? ctx.in_interface : ctx.out_interface;
        bool any = false;
        for (const std::string& pattern : m.interfaces) {
          any = any || (name != nullptr && InterfaceMatches(pattern, *name));
        }
        return Bool(any != m.negated);
      }
      case MatchKind::kConnState: {
        const uint32_t state = ctx.before_conntrack
                                   ? uint32_t{kCtInvalid}
                                   : kCtNew | (ctx.dnatted ? uint32_t{kCtDnat} : uint32_t{0});
        return Bool(((m.conn_states & state) != 0) != m.negated);
      }
      case MatchKind::kConstant:
        return Bool(m.constant != m.negated);
      case MatchKind::kMayMatch:
        return space_.All();
    }
    return space_.All();
  }

  const Space& space_;
  Set l4_;
  Set icmp_;
};

// One way through a device: the packets on it (as they are now), and how they got there.
struct Branch {
  Set current;
  Set pre_dnat;  // the packets as sent, when a DNAT rule rewrote them
  const Rule* dnat = nullptr;
  std::vector<PathStep> steps;
  bool src_nat = false;  // a SNAT or MASQUERADE rule in a nat POSTROUTING chain took them
};

// Whether `base` runs for the packets of `branch`. The kernel runs the nat chains of one hook in
// priority order only until one of them sets up the connection's NAT binding (nf_nat_inet_fn):
// after a DNAT (or SNAT), the later nat chains on that hook never see the connection.
bool RunsFor(const BaseChain& base, const Branch& branch) {
  if (base.type != ChainType::kNat) return true;
  if (base.hook == Hook::kPrerouting) return branch.dnat == nullptr;
  if (base.hook == Hook::kPostrouting) return !branch.src_nat;
  return true;
}

std::string PathKey(const std::vector<PathStep>& steps) {
  std::string key;
  for (const PathStep& s : steps) key += Cat(s.device, "|", s.rule, "|", s.action, ";");
  return key;
}

// A leak, grouped by (from, to, path).
struct Leak {
  size_t from = 0;
  size_t to = 0;
  std::vector<PathStep> path;
  Set delivered;  // as delivered (after DNAT)
  Set pre_dnat;   // as sent, for DNAT paths
  const Rule* dnat = nullptr;
};

class Checker {
 public:
  Checker(const Topology& topology, const Space& space)
      : topology_(topology), space_(space), eval_(space) {
    const Set l4 = eval_.l4();
    const Set no_ports = space_.Value(Field::kSport, 0) & space_.Value(Field::kDport, 0);
    const Set icmp = space_.Value(Field::kProto, kIcmp);
    Set icmp_new = space_.None();
    for (uint64_t type : kIcmpNewTypes) icmp_new |= space_.Value(Field::kIcmpType, type);
    valid_ = (l4 | no_ports) & ((icmp & icmp_new) | (~icmp & space_.Value(Field::kIcmpType, 0))) &
             Forwarded(Field::kSrc) & Forwarded(Field::kDst);
    for (const Zone& zone : topology.zones) {
      zone_src_.push_back(ZoneSet(Field::kSrc, zone) & Forwarded(Field::kSrc));
      zone_dst_.push_back(ZoneSet(Field::kDst, zone) & Forwarded(Field::kDst));
    }
  }

  Result<Report> Run(const std::vector<Ruleset>& rulesets) {
    const size_t n = topology_.zones.size();
    reachable_.assign(n * n, space_.None());
    for (const Device& device : topology_.devices) {
      const Ruleset* ruleset = nullptr;
      for (const Ruleset& r : rulesets) {
        if (r.device == device.name) ruleset = &r;
      }
      if (ruleset == nullptr) {
        return Error::Invalid(Cat("機器 ", device.name, " の設定がありません。"),
                              Cat("no configuration for device ", device.name, "."));
      }
      MAMORI_TRY(CheckDevice(device, *ruleset));
      if (space_.failed()) break;
    }
    if (space_.failed()) {
      return Error::TooLarge("検査に必要な BDD のノード数が上限を超えました。",
                             "the check needs more BDD nodes than the configured limit.");
    }
    return BuildReport();
  }

 private:
  // Addresses a router forwards (RFC 1812 §5.3.7 as Linux applies it, found by the kernel test):
  // not 0.0.0.0, 127/8 or 255.255.255.255, and no multicast source. Multicast destinations stay
  // (multicast routing is not modelled; a multicast router forwards them).
  Set Forwarded(Field field) const {
    std::vector<Prefix> martians = {{0x00000000, 32}, {0x7f000000, 8}, {0xffffffff, 32}};
    if (field == Field::kSrc) martians.push_back({0xe0000000, 4});
    return ~space_.Prefixes(field, martians);
  }

  // Addresses whose longest matching network belongs to `zone`.
  Set ZoneSet(Field field, const Zone& zone) const {
    Set out = space_.None();
    for (const Prefix& network : zone.networks) {
      Set part = space_.Prefixes(field, {network});
      for (const Zone& other : topology_.zones) {
        if (&other == &zone) continue;
        for (const Prefix& inner : other.networks) {
          if (inner.length > network.length && network.Contains(inner.address)) {
            part -= space_.Prefixes(field, {inner});
          }
        }
      }
      out |= part;
    }
    return out;
  }

  size_t ZoneIndex(const std::string& name) const {
    for (size_t i = 0; i < topology_.zones.size(); ++i) {
      if (topology_.zones[i].name == name) return i;
    }
    return 0;  // the topology parser guarantees the zone exists
  }

  void ReportUnmappedInterfaces(const Device& device, const Ruleset& ruleset) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const Table& table : ruleset.tables) {
      for (const Chain& chain : table.chains) {
        for (const Rule& rule : chain.rules) {
          for (const Match& m : rule.matches) {
            for (const std::string& name : m.interfaces) {
              if (name.empty() || name.back() == '+' || device.interfaces.count(name) > 0) {
                continue;
              }
              if (seen.emplace(name, rule.location.ToString()).second) {
                unknown_.push_back({device.name, rule.location.ToString(),
                                    Cat("interface ", name, " is not in the topology")});
              }
            }
          }
        }
      }
    }
  }

  Status CheckDevice(const Device& device, const Ruleset& ruleset) {
    for (const Unknown& u : ruleset.unknown) {
      unknown_.push_back({device.name, u.location.ToString(), u.construct});
    }
    ReportUnmappedInterfaces(device, ruleset);
    for (const auto& [in_name, in_zone] : device.interfaces) {
      for (const auto& [out_name, out_zone] : device.interfaces) {
        if (in_zone == out_zone) continue;
        MAMORI_TRY(
            CheckPath(device, ruleset, in_name, ZoneIndex(in_zone), out_name, ZoneIndex(out_zone)));
        if (space_.failed()) return {};
      }
    }
    return {};
  }

  // Applies a DNAT or REDIRECT outcome: the rewritten packets, or none for REDIRECT.
  Set Translate(const Set& in, const Action& action) const {
    if (action.kind == ActionKind::kRedirect) return space_.None();
    Set out = in;
    if (action.nat.address) {
      out = space_.Rewrite(out, Field::kDst, action.nat.address->first, action.nat.address->second);
    }
    if (action.nat.port) {
      out = space_.Rewrite(out & eval_.l4(), Field::kDport, action.nat.port->first,
                           action.nat.port->second) |
            (out - eval_.l4());
    }
    return out;
  }

  Status CheckPath(const Device& device, const Ruleset& ruleset, const std::string& in_name,
                   size_t from, const std::string& out_name, size_t to) {
    std::vector<Branch> branches;
    branches.push_back(Branch{valid_ & zone_src_[from], space_.None(), nullptr, {}});
    bool routed = false;
    for (const BaseChain& base : ruleset.base_chains) {
      if (base.hook != Hook::kPrerouting && !routed) {
        Route(branches, to);
        routed = true;
      }
      const Table* table = ruleset.FindTable(base.table);
      const Chain* chain = table != nullptr ? table->FindChain(base.chain) : nullptr;
      if (chain == nullptr) continue;
      std::vector<Branch> next;
      for (Branch& branch : branches) {
        if (!RunsFor(base, branch)) {
          next.push_back(std::move(branch));
          continue;
        }
        Context ctx{&in_name, &out_name, branch.dnat != nullptr,
                    base.hook == Hook::kPrerouting && base.priority < kConntrackPriority};
        MAMORI_ASSIGN_OR_RETURN(ChainResult r, eval_.Eval(*table, *chain, branch.current, ctx, 0));
        if (!r.fallthrough.IsEmpty()) {
          r.outcomes.push_back(Outcome{chain->policy, nullptr, chain, r.fallthrough});
        }
        Split(device, base, *chain, branch, std::move(r.outcomes), next);
      }
      branches = std::move(next);
    }
    if (!routed) Route(branches, to);
    for (Branch& branch : branches) {
      if (branch.current.IsEmpty()) continue;
      Set& reach = reachable_[from * topology_.zones.size() + to];
      reach |= branch.current;
      const std::string key =
          Cat(std::to_string(from), ">", std::to_string(to), ">", PathKey(branch.steps));
      auto [it, fresh] = paths_.try_emplace(key);
      Leak& leak = it->second;
      if (fresh) {
        leak.from = from;
        leak.to = to;
        leak.path = branch.steps;
        leak.dnat = branch.dnat;
      }
      leak.delivered |= branch.current;
      leak.pre_dnat |= branch.pre_dnat;
    }
    return {};
  }

  // Routing is not modelled: what is addressed to zone `to` leaves on the interface facing it.
  void Route(std::vector<Branch>& branches, size_t to) const {
    for (Branch& b : branches) b.current &= zone_dst_[to];
  }

  // Turns the outcomes of one base chain into the branches that go on.
  void Split(const Device& device, const BaseChain& base, const Chain& chain, const Branch& branch,
             std::vector<Outcome> outcomes, std::vector<Branch>& next) const {
    Branch merged{space_.None(), branch.pre_dnat, branch.dnat, branch.steps, branch.src_nat};
    Branch translated{space_.None(), branch.pre_dnat, branch.dnat, branch.steps, true};
    for (Outcome& o : outcomes) {
      switch (o.verdict) {
        case ActionKind::kDrop:
        case ActionKind::kReject:
        case ActionKind::kRedirect:  // delivered to the firewall itself, not forwarded
          continue;
        case ActionKind::kDnat:
          if (base.type == ChainType::kNat && base.hook == Hook::kPrerouting &&
              branch.dnat == nullptr && o.rule != nullptr) {
            Branch b{Translate(o.set, o.rule->action), o.set, o.rule, branch.steps};
            b.steps.push_back({device.name, o.rule->location.ToString(), "DNAT"});
            next.push_back(std::move(b));
            continue;
          }
          break;  // DNAT elsewhere: not on the modelled path; passes unchanged
        case ActionKind::kSnat:
        case ActionKind::kMasquerade:
          if (base.type == ChainType::kNat && base.hook == Hook::kPostrouting) {
            translated.current |= o.set;
            continue;
          }
          break;
        default:
          break;
      }
      // ACCEPT, policy ACCEPT, SNAT, MASQUERADE: the packets go on.
      const bool split = base.type == ChainType::kFilter && base.hook == Hook::kForward &&
                         !(o.rule == nullptr && chain.rules.empty());
      if (!split) {
        merged.current |= o.set;
        continue;
      }
      Branch b{o.set, branch.pre_dnat, branch.dnat, branch.steps, branch.src_nat};
      const SourceLocation& where = o.rule != nullptr ? o.rule->location : chain.location;
      b.steps.push_back(
          {device.name, where.ToString(), o.rule != nullptr ? "ACCEPT" : "policy ACCEPT"});
      next.push_back(std::move(b));
    }
    if (!merged.current.IsEmpty()) next.push_back(std::move(merged));
    if (!translated.current.IsEmpty()) next.push_back(std::move(translated));
  }

  Set AllowedSet(size_t from, size_t to) const {
    Set out = space_.None();
    for (const Allow& allow : topology_.allows) {
      if (allow.from != topology_.zones[from].name || allow.to != topology_.zones[to].name) {
        continue;
      }
      Set s = space_.All();
      switch (allow.protocol) {
        case AllowProtocol::kAny:
          break;
        case AllowProtocol::kTcp:
          s &= space_.Value(Field::kProto, kTcp);
          break;
        case AllowProtocol::kUdp:
          s &= space_.Value(Field::kProto, kUdp);
          break;
        case AllowProtocol::kIcmp:
          s &= space_.Value(Field::kProto, kIcmp);
          break;
      }
      if (!allow.src.empty()) s &= space_.Prefixes(Field::kSrc, allow.src);
      if (!allow.dst.empty()) s &= space_.Prefixes(Field::kDst, allow.dst);
      if (!allow.dst_ports.empty()) {
        Set ports = space_.None();
        for (const ValueTerm& t : allow.dst_ports) ports |= space_.Term(Field::kDport, t);
        s &= ports;
      }
      out |= s;
    }
    return out;
  }

  bool HasAllow(size_t from, size_t to) const {
    for (const Allow& allow : topology_.allows) {
      if (allow.from == topology_.zones[from].name && allow.to == topology_.zones[to].name) {
        return true;
      }
    }
    return false;
  }

  // Realistic unicast addresses: outside 0/8, 127/8, 169.254/16, 224/4 and 240/4.
  Set Realistic(Field field) const {
    return ~(space_.Prefixes(
        field,
        {{0x00000000, 8}, {0x7f000000, 8}, {0xa9fe0000, 16}, {0xe0000000, 4}, {0xf0000000, 4}}));
  }

  // Narrows `s` to `preferred` when that leaves something.
  static void Prefer(Set& s, const Set& preferred) {
    Set t = s & preferred;
    if (!t.IsEmpty()) s = std::move(t);
  }

  uint64_t Fix(Set& s, Field field) const {
    const uint64_t v = space_.Min(s, field).value_or(0);
    s &= space_.Value(field, v);
    return v;
  }

  // A realistic member of `set` (non-empty): fields fixed one at a time, each to its smallest
  // value after the preferences for that field.
  Witness PickWitness(Set s) const {
    Witness w;
    for (uint64_t proto : {kTcp, kUdp, kIcmp}) {
      Set t = s & space_.Value(Field::kProto, proto);
      if (!t.IsEmpty()) {
        s = std::move(t);
        break;
      }
    }
    w.proto = static_cast<uint8_t>(Fix(s, Field::kProto));
    // Host addresses: last octet neither 0 nor 255.
    for (Field field : {Field::kDst, Field::kSrc}) {
      Prefer(s, Realistic(field));
      Prefer(s, ~(space_.Masked(field, 0, 0xff) | space_.Masked(field, 0xff, 0xff)));
    }
    w.dst = static_cast<uint32_t>(Fix(s, Field::kDst));
    if (w.proto == kTcp || w.proto == kUdp) {
      Prefer(s, space_.Range(Field::kDport, 1, 65535));
      w.dport = static_cast<uint16_t>(Fix(s, Field::kDport));
    }
    w.src = static_cast<uint32_t>(Fix(s, Field::kSrc));
    if (w.proto == kTcp || w.proto == kUdp) {
      Prefer(s, space_.Range(Field::kSport, 1, 65535));
      Prefer(s, space_.Range(Field::kSport, 1024, 65535));
      Prefer(s, space_.Range(Field::kSport, 49152, 65535));
      w.sport = static_cast<uint16_t>(Fix(s, Field::kSport));
    }
    if (w.proto == kIcmp) {
      Prefer(s, space_.Value(Field::kIcmpType, 8));
      w.icmp_type = static_cast<uint8_t>(Fix(s, Field::kIcmpType));
    }
    return w;
  }

  // For a DNAT path: the packet as sent that became the delivered witness `w`.
  Witness Original(const Leak& leak, Witness delivered) const {
    Set s = leak.pre_dnat & space_.Value(Field::kSrc, delivered.src) &
            space_.Value(Field::kProto, delivered.proto);
    if (delivered.proto == kTcp || delivered.proto == kUdp) {
      s &= space_.Value(Field::kSport, delivered.sport);
      if (!leak.dnat->action.nat.port) s &= space_.Value(Field::kDport, delivered.dport);
    }
    if (delivered.icmp_type) s &= space_.Value(Field::kIcmpType, *delivered.icmp_type);
    if (!leak.dnat->action.nat.address) s &= space_.Value(Field::kDst, delivered.dst);
    if (s.IsEmpty()) return delivered;  // cannot happen: the delivered set is the image
    Witness w = delivered;
    w.translated_dst = delivered.dst;
    w.translated_dport = delivered.dport;
    Prefer(s, Realistic(Field::kDst));
    Prefer(s, ~(space_.Masked(Field::kDst, 0, 0xff) | space_.Masked(Field::kDst, 0xff, 0xff)));
    w.dst = static_cast<uint32_t>(Fix(s, Field::kDst));
    if (delivered.proto == kTcp || delivered.proto == kUdp) {
      Prefer(s, space_.Range(Field::kDport, 1, 65535));
      w.dport = static_cast<uint16_t>(Fix(s, Field::kDport));
    }
    return w;
  }

  // The addresses of `projected` (a set over `field` only) as CIDR prefixes; at most
  // `max_shown`, `more` says whether there are others.
  std::vector<std::string> Cidrs(const Set& projected, Field field, size_t max_shown,
                                 bool& more) const {
    bool truncated = false;
    const std::vector<Interval> ranges = space_.Values(projected, field, max_shown + 1, &truncated);
    std::vector<std::string> parts;
    for (const Interval& r : ranges) {
      uint64_t lo = r.lo;
      while (lo <= r.hi && parts.size() <= max_shown) {
        int length = 32;
        while (length > 0) {
          const uint64_t size = uint64_t{1} << (32 - (length - 1));
          if ((lo & (size - 1)) != 0 || lo + size - 1 > r.hi) break;
          --length;
        }
        parts.push_back(length == 32 ? FormatIpv4(static_cast<uint32_t>(lo))
                                     : FormatPrefix({static_cast<uint32_t>(lo), length}));
        lo += uint64_t{1} << (32 - length);
      }
    }
    more = truncated || parts.size() > max_shown;
    if (parts.size() > max_shown) parts.resize(max_shown);
    return parts;
  }

  static std::string Join(const std::vector<std::string>& parts, bool more) {
    std::string out;
    for (const std::string& p : parts) out += out.empty() ? p : Cat(", ", p);
    return more ? Cat(out, ", …") : out;
  }

  // "10.30.0.0/16, 10.40.0.1", "zone lgwan" or "zone inet except 10.30.0.99".
  std::string Addresses(const Set& s, Field field, size_t zone, const Set& zone_set) const {
    constexpr size_t kMaxShown = 4;
    Set projected = s;
    for (Field f : {Field::kSrc, Field::kDst, Field::kProto, Field::kSport, Field::kDport,
                    Field::kIcmpType}) {
      if (f != field) projected = space_.Exists(projected, f);
    }
    const std::string name = topology_.zones[zone].name;
    if (projected == zone_set) return Cat("zone ", name);
    bool more = false;
    if ((projected - zone_set).IsEmpty()) {
      std::vector<std::string> missing = Cidrs(zone_set - projected, field, kMaxShown, more);
      if (!more) return Cat("zone ", name, " except ", Join(missing, false));
    }
    std::vector<std::string> parts = Cidrs(projected, field, kMaxShown, more);
    return Join(parts, more);
  }

  std::string Values(const Set& s, Field field) const {
    bool truncated = false;
    const std::vector<Interval> ranges = space_.Values(s, field, 8, &truncated);
    std::string out;
    for (const Interval& r : ranges) {
      if (!out.empty()) out += ",";
      out += r.lo == r.hi ? std::to_string(r.lo)
                          : Cat(std::to_string(r.lo), "-", std::to_string(r.hi));
    }
    return truncated ? Cat(out, ",…") : out;
  }

  std::string Summary(const Set& leak, size_t from, size_t to) const {
    std::vector<std::string> parts;
    const Set known = space_.Value(Field::kProto, kTcp) | space_.Value(Field::kProto, kUdp) |
                      space_.Value(Field::kProto, kIcmp);
    for (uint64_t proto : {kTcp, kUdp, kIcmp, uint64_t{0}}) {
      const Set s = proto != 0 ? leak & space_.Value(Field::kProto, proto) : leak - known;
      if (s.IsEmpty()) continue;
      std::string what;
      if (proto == kTcp || proto == kUdp) {
        const std::string ports = Values(s, Field::kDport);
        what = Cat(proto == kTcp ? "tcp" : "udp",
                   ports == "0-65535" ? std::string(" (all ports)") : Cat(" dport ", ports));
      } else if (proto == kIcmp) {
        what = Cat("icmp type ", Values(s, Field::kIcmpType));  // requests only: kIcmpNewTypes
      } else {
        const std::string protos = Values(s, Field::kProto);
        what = protos == "0,2-5,7-16,18-255" ? std::string("all other protocols")
                                             : Cat("proto ", protos);
      }
      parts.push_back(Cat(what, " from ", Addresses(s, Field::kSrc, from, zone_src_[from]), " to ",
                          Addresses(s, Field::kDst, to, zone_dst_[to])));
    }
    std::string out;
    for (const std::string& p : parts) out += out.empty() ? p : Cat("; ", p);
    return out;
  }

  Report BuildReport() const {
    Report report;
    const size_t n = topology_.zones.size();
    for (const Zone& zone : topology_.zones) report.zones.push_back(zone.name);
    std::vector<Set> allowed(n * n);
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        allowed[a * n + b] = AllowedSet(a, b);
        const Set& reach = reachable_[a * n + b];
        report.matrix.push_back({topology_.zones[a].name, topology_.zones[b].name, !reach.IsEmpty(),
                                 HasAllow(a, b), !(reach - allowed[a * n + b]).IsEmpty()});
      }
    }
    std::vector<std::pair<std::tuple<size_t, size_t, std::string>, Violation>> found;
    for (const auto& [key, leak] : paths_) {
      const Set rest = leak.delivered - allowed[leak.from * n + leak.to];
      if (rest.IsEmpty()) continue;
      Violation v;
      v.from = topology_.zones[leak.from].name;
      v.to = topology_.zones[leak.to].name;
      v.witness = PickWitness(rest);
      if (leak.dnat != nullptr) v.witness = Original(leak, v.witness);
      v.path = leak.path;
      v.packets = Summary(rest, leak.from, leak.to);
      if (leak.dnat != nullptr) v.packets += " (as delivered, after DNAT)";
      found.emplace_back(std::tuple{leak.from, leak.to, PathKey(leak.path)}, std::move(v));
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, v] : found) report.violations.push_back(std::move(v));
    report.unknown = unknown_;
    return report;
  }

  const Topology& topology_;
  const Space& space_;
  Evaluator eval_;
  Set valid_;
  std::vector<Set> zone_src_;
  std::vector<Set> zone_dst_;
  std::vector<Set> reachable_;         // [from * n + to]
  std::map<std::string, Leak> paths_;  // by from, to and path
  std::vector<UnknownConstruct> unknown_;
};

}  // namespace

Result<std::vector<Ruleset>> LoadRulesets(const Topology& topology, const ReadFileFn& read_file) {
  std::vector<Ruleset> out;
  for (const Device& device : topology.devices) {
    MAMORI_ASSIGN_OR_RETURN(std::string text, read_file(device.config));
    Result<Ruleset> parsed = Error::Internal("no parser");
    switch (device.format) {
      case DeviceFormat::kIptablesSave:
        parsed = ParseIptablesSave(text, device.config, device.name);
        break;
      case DeviceFormat::kNftJson:
        parsed = ParseNftJson(text, device.config, device.name);
        break;
      case DeviceFormat::kCiscoAsa:
        parsed = ParseCiscoAsa(text, device.config, device.name);
        break;
      case DeviceFormat::kFortigate:
        parsed = ParseFortigate(text, device.config, device.name);
        break;
    }
    MAMORI_ASSIGN_OR_RETURN(Ruleset ruleset, std::move(parsed));
    if (!device.ipset.empty()) {
      ruleset.unknown.push_back({{topology.file, device.line},
                                 Cat("ipset file ", device.ipset, " (ipset is not read yet)")});
    }
    out.push_back(std::move(ruleset));
  }
  return out;
}

Result<Report> Check(const Topology& topology, const std::vector<Ruleset>& rulesets,
                     const SpaceOptions& options) {
  MAMORI_ASSIGN_OR_RETURN(std::unique_ptr<Space> space, Space::Open(options));
  Result<Report> report = [&]() -> Result<Report> {
    Checker checker(topology, *space);
    return checker.Run(rulesets);
  }();
  return report;
}

}  // namespace mamori::netsep
