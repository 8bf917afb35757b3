// Symbolic evaluation of one chain of a Ruleset (ruleset.h) over header-space sets (space.h):
// which packets each rule matches and where the packets entering a chain end up. Internal to
// the netsep engine (engine.cc, shadow.cc); not part of its public interface.
//
// An Evaluator borrows the Space it was made with: it must not outlive it, and like the Space
// it is not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "netsep/ruleset.h"
#include "netsep/space.h"

namespace mamori::netsep {

inline constexpr uint64_t kTcp = 6;
inline constexpr uint64_t kUdp = 17;
inline constexpr uint64_t kIcmp = 1;

// Whether interface `name` matches `pattern` (a trailing '+' matches any name with that stem).
bool InterfaceMatches(const std::string& pattern, const std::string& name);

// The interface names a device's rules can tell apart, as values of Field::kInInterface and
// Field::kOutInterface: one value per name the rules spell out, one per wildcard stem (the names
// whose longest matching stem it is, other than the spelled-out ones), and one for every other
// name. Used by the shadowed-rule analysis, which looks at all interfaces at once.
class InterfaceClasses {
 public:
  // nullopt when the rules name more interfaces than the fields hold (65,535 classes).
  static std::optional<InterfaceClasses> Of(const Ruleset& ruleset);
  // The classes of the names that match one of `patterns`, over `field`.
  Set Matching(const Space& space, Field field, const std::vector<std::string>& patterns) const;
  // Every class, over `field`.
  Set Any(const Space& space, Field field) const;
  // Distinct for each Of() in the process: caches of sets by class tell devices apart with it.
  uint64_t id() const { return id_; }

 private:
  uint64_t id_ = 0;
  std::vector<std::string> exact_;  // value i
  std::vector<std::string> stems_;  // value exact_.size() + j; then one value for the rest
};

// Connection-tracking states as values of Field::kConnState (the shadowed-rule analysis): the
// base state (NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED) in bits 0-2, the DNAT status in
// bit 3 and the SNAT status in bit 4.
Set AnyConnState(const Space& space);
Set ConnStatesMatching(const Space& space, uint32_t conn_states);

// What the engine knows about the packet beyond its header while traversing one device.
struct Context {
  const std::string* in_interface = nullptr;
  const std::string* out_interface = nullptr;
  bool dnatted = false;
  // A source NAT has set up the connection's binding (a chain on postrouting after the nat
  // hook's 100): ct status snat, --ctstate SNAT.
  bool snatted = false;
  bool before_conntrack = false;  // a raw chain: no connection yet, the state is INVALID
  // The shadowed-rule analysis: interfaces and states are fields of the set (then the pointers
  // and flags above are unused), and a constant that holds only for a NEW first IPv4 packet
  // (--syn, -f, an IPv6 header) is not modelled (may match).
  const InterfaceClasses* classes = nullptr;
  // The caller never looks at the sets of DROP and REJECT outcomes (the forwarding walk): a rule
  // that discards every packet still undecided (no match, DROP or REJECT, or a jump to a chain
  // that logs and drops everything) then ends the chain without building that set, and its
  // outcome is left out.
  bool discards_unused = false;
};

// A bound on a set of packets: one interval per header field (source and destination address,
// protocol, source and destination port), the set lying within them all. Sets whose boxes are
// disjoint are disjoint; boxes that meet say nothing. Testing two boxes costs a few comparisons,
// against a walk of two BDDs for the sets.
struct Box {
  static constexpr Field kFields[] = {Field::kSrc, Field::kDst, Field::kProto, Field::kSport,
                                      Field::kDport};
  std::array<Interval, 5> range = {
      Interval{0, FieldMax(Field::kSrc)}, Interval{0, FieldMax(Field::kDst)},
      Interval{0, FieldMax(Field::kProto)}, Interval{0, FieldMax(Field::kSport)},
      Interval{0, FieldMax(Field::kDport)}};  // every packet

  bool Meets(const Box& other) const {
    for (size_t i = 0; i < range.size(); ++i) {
      if (range[i].lo > other.range[i].hi || other.range[i].lo > range[i].hi) return false;
    }
    return true;
  }
  // Widens this box to hold `other` too.
  void Join(const Box& other) {
    for (size_t i = 0; i < range.size(); ++i) {
      range[i].lo = std::min(range[i].lo, other.range[i].lo);
      range[i].hi = std::max(range[i].hi, other.range[i].hi);
    }
  }
};

// A rule's match set when it is one source and one destination address on top of a set of the
// fields below the addresses (Space::AddressPath): most rules of a large rule set. Rules on
// different address pairs are disjoint; a walk decides such a rule with the addresses fixed
// (Space::AddressCofactor), on sets of a few nodes, and builds its 64-node path only where a
// set of it is needed as a whole.
struct HostMatch {
  uint32_t src = 0;
  uint32_t dst = 0;
  Set lower;  // Space::BelowAddresses
};

// The packets of a chain's input that the rules walked so far have not decided: the input minus
// the disjoint sets the rules decided. The decided sets are kept apart, each under its rule's
// match set, with unions of kFan consecutive match sets, of kFan of those, and so on, so that
// the undecided part of a rule's match set is found by looking only at the earlier rules whose
// match sets meet it. A rule then costs about the size of its own match rather than of
// everything decided before it (which on a chain of thousands of host rules is thousands of
// carved-out holes that every later rule would walk through). Each match set and union has a
// bounding box, tested before its BDD is walked; the unions of kFan rules are never walked.
class Undecided {
 public:
  explicit Undecided(Set in) : in_(std::move(in)) {}

  // The undecided packets among `match`, which lies within `box`.
  Set Meet(const Set& match, const Box& box = {}) const;
  // Records that `rule`, whose match set is `match` (within `box`), decided `decided` (a subset
  // of `match` and of the undecided packets).
  void Decide(const Rule* rule, const Set& match, Set decided, const Box& box = {});
  // The rules whose decided sets meet `set` (within `box`), in rule order, the rule of
  // DecideRest() last; at most `limit` + 1.
  std::vector<const Rule*> Deciders(const Space& space, const Set& set, size_t limit,
                                    const Box& box = {}) const;
  // Deciders() for the part of the match set of `host` (within `box`) whose fields below the
  // addresses are in `lower` (the addresses fixed; BelowAddresses), without building its path:
  // the same rules in the same order. nullopt when a set it needs tests another field above those
  // (a copy as sent, an interface, the state): then Deciders() on the whole set gives the answer.
  std::optional<std::vector<const Rule*>> DecidersHost(const Space& space, const HostMatch& host,
                                                       const Set& lower, size_t limit,
                                                       const Box& box) const;
  // The same with the decided set built only when something needs it (a later rule whose match
  // meets `match`, Rest(), Decided(), Deciders()): `decided` returns it.
  void Decide(const Rule* rule, const Set& match, std::function<Set()> decided, const Box& box);
  // Meet() for the match set of `host` (within `box`), with its addresses fixed: the undecided
  // packets among it as a set of the fields below the addresses. nullopt when a set it needs
  // tests another field above those (a copy as sent, an interface, the state): then Meet() on
  // the whole match set gives the answer.
  std::optional<Set> MeetHost(const Space& space, const HostMatch& host, const Box& box) const;
  // Decide() for the match set of `host` (within `box`), which decided the packets of the
  // fields below the addresses `decided` (the addresses fixed; MeetHost or a part of it), or
  // `decided_set` as a whole when given (not empty). The match and decided sets are built as
  // wholes only when needed; the union of all decided sets joins them as one tree.
  void DecideHost(const Space& space, const Rule* rule, const HostMatch& host, Set decided,
                  Set decided_set, const Box& box);
  // Records that `rule` decided every undecided packet, without building that set: from then
  // on nothing is undecided.
  void DecideRest(const Rule* rule) {
    complete_ = true;
    rest_rule_ = rule;
  }
  // Whether every packet is decided (Rest() is empty), found without building Rest() when a
  // packet outside every decided set turns up soon (Space::Covered).
  bool RestIsEmpty(const Space& space) const;
  // Every undecided packet.
  Set Rest() const;
  // Every decided packet: the input minus Rest().
  Set Decided() const { return complete_ ? in_ : AllDecided(); }

 private:
  static constexpr size_t kFan = 16;
  // Steps of a Space::Covered search before the set is built instead.
  static constexpr size_t kCoverBudget = 1'000'000;

  // Calls `visit(i)` for each decided set i whose match set meets `set` (within `box`), in
  // order, while it returns true. The boxes are tested first: a union whose box misses `box` is
  // passed over without a walk of its BDD.
  template <typename Fn>
  void ForEachMeeting(const Set& set, const Box& box, Fn&& visit) const;
  // The same with `meets(level, index)` deciding whether a match set or union (level 0 or 2
  // and up) meets what is looked for.
  template <typename Meets, typename Fn>
  void ForEachMeetingBy(const Box& box, Meets&& meets, Fn&& visit) const;
  // ForEachMeeting for the packets of `lower` at the address pair of `host` (the addresses
  // fixed), in rule order: the earlier host rules of the pair through the index while the other
  // rules are few (MeetHost), the tree otherwise. Clears `fixed` and stops when a set it needs
  // cannot be cut at the pair (Space::AddressCofactor).
  template <typename Fn>
  void ForEachMeetingHost(const Space& space, const HostMatch& host, const Set& lower,
                          const Box& box, bool& fixed, Fn&& visit) const;
  // matches_[level][index], a host rule's match set built first when it is pending.
  const Set& MatchAt(size_t level, size_t index) const;

  // The union of every decided set (computed when needed: a rule that matches everything, such
  // as a final jump to a logging chain, and the end of the chain both need it).
  const Set& AllDecided() const;
  // Decided set i, built first when it is pending.
  const Set& DecidedSet(size_t i) const;

  Set in_;
  bool complete_ = false;            // DecideRest(): every packet of in_ is decided
  const Rule* rest_rule_ = nullptr;  // the rule of DecideRest()
  mutable Set all_decided_;
  mutable size_t all_decided_count_ = 0;
  std::vector<const Rule*> rules_;
  mutable std::vector<Set> decided_;
  mutable std::vector<std::function<Set()>> pending_;  // per rule; empty once built
  // [0]: each rule's match; [l + 1]: unions of [l] (but [1] is left empty, never walked)
  mutable std::vector<std::vector<Set>> matches_;
  std::vector<std::vector<Box>> boxes_;  // the boxes of matches_
  // Per rule: decided through DecideHost, its addresses and the lower sets of its match and
  // of what it decided; its match set in matches_[0] is built when first needed.
  struct HostEntry {
    bool host = false;
    mutable bool match_pending = false;
    mutable bool decided_pending = false;  // the path of lower_decided not built yet
    size_t same_before = kNoRule;          // the previous host rule of the same pair
    uint32_t src = 0;
    uint32_t dst = 0;
    Set lower_match;
    Set lower_decided;
  };
  std::vector<HostEntry> hosts_;
  const Space* space_ = nullptr;  // from DecideHost, to build the sets of host rules
  // MeetHost without the tree while the other rules are few: the last host rule of each address
  // pair (source << 32 | destination), the earlier ones through HostEntry::same_before, and the
  // others, by index.
  static constexpr size_t kFewGeneral = 64;
  static constexpr size_t kNoRule = ~size_t{0};
  std::unordered_map<uint64_t, size_t> host_index_;
  std::vector<size_t> general_;
  // The host rules of `host`'s address pair, in rule order.
  std::vector<size_t> SamePair(const HostMatch& host) const;
  // MeetHost: the input's cut at a pair intersected with a rule's lower set, by the pair of ids,
  // and the operands kept referenced.
  mutable std::unordered_map<uint64_t, Set> input_meets_;
  mutable std::vector<Set> input_meets_refs_;

  // Decide() and DecideHost(): `match` is empty for a host rule (built when needed).
  void Push(const Rule* rule, Set match, Set decided, const Box& box, HostEntry host);
};

struct Outcome {
  ActionKind verdict;
  const Rule* rule;  // nullptr: the policy of `chain`
  const Chain* chain;
  Set set;  // empty while `host` holds the packets
  // A host rule's verdict (Evaluator::Eval with HostRules::kIndexed): its packets with the
  // addresses fixed, HostMatch::lower being the packets of the fields below them; the whole set
  // is built by Packets() when asked for (the forwarding walk often needs only the lower set).
  std::optional<HostMatch> host;

  // The packets, `set` built first from `host` when needed.
  const Set& Packets(const Space& space) {
    if (host) {
      set = space.AddressPath(host->src, host->dst, host->lower);
      host.reset();
    }
    return set;
  }
};

// Where the packets entering a chain end up: the verdicts of its rules (and of the chains it
// calls) and, built only when asked for (a caller whose chain drops them never asks), the packets
// that come back and those the chain keeps.
class ChainResult {
 public:
  std::vector<Outcome> outcomes;

  // The packets that reach the end of the chain or RETURN.
  Set Fallthrough() const { return Returned() | undecided_->Rest(); }
  // The packets the chain decides and does not give back: its input minus Fallthrough().
  Set Kept() const { return undecided_->Decided() - Returned(); }

 private:
  friend class Evaluator;
  ChainResult(const Space& space, Set in)
      : undecided_(std::make_unique<Undecided>(std::move(in))), space_(&space) {}
  // returned_ with returned_hosts_ and returned_gotos_ joined to it first.
  const Set& Returned() const;
  std::unique_ptr<Undecided> undecided_;
  const Space* space_;
  mutable Set returned_;  // RETURN, and what comes back from a goto (once joined)
  // What host rules RETURN, by address pair (HostMatch): joined to returned_ as one tree over
  // their addresses when first asked for, as their paths are never built on their own.
  mutable std::vector<Space::AddressPart> returned_hosts_;
  // The chains gone to (goto), whose fallthrough joins returned_ when first asked for.
  mutable std::vector<std::shared_ptr<const ChainResult>> returned_gotos_;
};

class Evaluator {
 public:
  // Rule memo: MatchSet and Eval keep the match sets and jump targets of the rules they were
  // given, by address, so every Rule and Table they are given must outlive the Evaluator
  // unchanged (as a Ruleset outlives a check). kRepeated keeps a rule's match set from its
  // second use on: a rule walked once leaves nothing in the node table.
  enum class Memo { kNone, kRules, kRepeated };
  // kIndexed: Eval (and the shadowed-rule walk) decide the rules of one source and one
  // destination address with the addresses fixed (HostMatch); kGeneral: as every rule, the
  // plain path the tests compare with. The results are the same.
  enum class HostRules { kIndexed, kGeneral };
  explicit Evaluator(const Space& space, Memo memo = Memo::kNone,
                     HostRules host_rules = HostRules::kIndexed);

  const Space& space() const { return space_; }
  const Set& l4() const { return l4_; }
  const Set& icmp() const { return icmp_; }

  // A box that holds every packet `rule` can match, in any context (from its address, protocol,
  // port and ICMP matches; the others leave it whole).
  static Box MatchBox(const Rule& rule);

  // The packets `rule` matches; `may` is set when part of the rule is not modelled (its value
  // matters only when the set is not empty). With Memo::kRules, the part of the set that does
  // not depend on the context (all but the interface, state and constant matches) is built once
  // per rule.
  Set MatchSet(const Rule& rule, const Context& ctx, bool& may) const;
  // MatchSet as a HostMatch when the rule's matches are one source address, one destination
  // address and others whose sets lie below the addresses (in `ctx`), and the rule does not
  // jump or go to a chain; `may` as for MatchSet. nullopt otherwise, and always with kGeneral.
  // The lower sets are built once per distinct set of matches (services repeat).
  std::optional<HostMatch> HostMatchOf(const Rule& rule, const Context& ctx, bool& may) const;

  // Whether no walk of `table`'s chains can fail with Eval's "nest too deeply or loop" error,
  // whatever packets reach them: no chain's calls loop or nest deeper than Eval allows. A walk
  // of part of a set (Engine's allowed-path probe) may then stand for the walk of the whole,
  // which could otherwise meet the error where the part does not.
  static bool CallsStayWithinDepth(const Table& table);

  // The chain `rule` (of `table`) jumps or goes to; nullptr when there is none. With
  // Memo::kRules, found once per rule.
  const Chain* Target(const Table& table, const Rule& rule) const;

  // Where the packets `in` entering `chain` end up: the verdicts of its rules (and of the chains
  // it calls) and what falls through. kInvalidInput for a chain loop or a missing chain.
  Result<ChainResult> Eval(const Table& table, const Chain& chain, const Set& in,
                           const Context& ctx, int depth) const;

 private:
  // Whether `rule` matches every packet and ends each in a DROP or REJECT, itself or through a
  // chain it jumps or goes to whose rules before such a rule only log (kContinue, kUnknown).
  bool DiscardsAll(const Table& table, const Rule& rule, const Context& ctx, int depth) const;
  // MatchSet built from the matches; with `fixed_only`, from those whose set does not depend on
  // the context only.
  Set PlainMatchSet(const Rule& rule, const Context& ctx, bool& may, bool fixed_only) const;
  Set Terms(Field field, const std::vector<ValueTerm>& terms) const;
  Set One(const Match& m, const Context& ctx) const;
  Set Build(const HeaderSet& set) const;
  Set Boxes(const std::vector<HeaderBox>& boxes) const;

  const Space& space_;
  Memo memo_;
  HostRules host_rules_;
  // HostMatchOf: the lower sets by their matches (kind, negation and terms, in rule order), with
  // their `may`.
  struct WordsHash {
    size_t operator()(const std::vector<uint64_t>& words) const {
      uint64_t h = words.size();
      for (uint64_t w : words) h = (h ^ w) * 0x9e3779b97f4a7c15ULL + (h >> 29);
      return static_cast<size_t>(h ^ (h >> 32));
    }
  };
  mutable std::unordered_map<std::vector<uint64_t>, std::pair<Set, bool>, WordsHash> lower_sets_;
  mutable std::vector<uint64_t> lower_key_;  // HostMatchOf's key, its buffer reused
  Set l4_;
  Set icmp_;
  // The shadowed-rule analysis: interface and state sets by what the match names (rules repeat
  // the same few), with the interfaces' field first.
  mutable std::map<std::tuple<uint64_t, int, std::vector<std::string>>, Set> interface_sets_;
  mutable std::map<uint32_t, Set> state_sets_;
  // Header sets (ipset) by identity and negation: built once, as they may be large. The key
  // holds the set, so its address is never reused for another while cached.
  mutable std::map<std::pair<std::shared_ptr<const HeaderSet>, bool>, Set> header_sets_;
  // Per rule, the part of its match set that does not depend on the context, with its `may`:
  // the forwarding walk passes through a chain once per zone pair and per port forward before
  // it, and the shadowed-rule walk once more.
  struct RuleSet {
    Set set;
    bool may = false;
    bool built = false;  // `set` and `may` hold the rule's
    bool seen = false;   // kRepeated: used once, without keeping the set
  };
  mutable std::unordered_map<const Rule*, RuleSet> rule_sets_;
  mutable std::unordered_map<const Rule*, const Chain*> targets_;  // Memo::kRules: Target()
};

}  // namespace mamori::netsep
