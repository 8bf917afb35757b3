#include "netsep/evaluator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>

#include "common/text.h"

namespace mamori::netsep {
namespace {

// iptables forbids loops; deeper nesting than this is taken for one.
constexpr int kMaxCallDepth = 64;
constexpr uint64_t kMaxInterfaceClasses = 0xffff;
constexpr uint32_t kBaseStates[] = {kCtNew, kCtEstablished, kCtRelated, kCtInvalid, kCtUntracked};

// The outcomes of a chain walk with an index by verdict, rule and chain, so that the outcomes of
// called chains (one per rule of thousands) merge in linear time. The index is an open-addressing
// table of positions in the list (a map's node per outcome cost more than the rest of Add).
class Outcomes {
 public:
  explicit Outcomes(const Space& space) : space_(space) {}
  void Add(Outcome o) {
    if ((list_.size() + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    size_t i = Hash(o) & mask;
    for (; slots_[i] != 0; i = (i + 1) & mask) {
      Outcome& into = list_[slots_[i] - 1];
      if (into.verdict != o.verdict || into.rule != o.rule || into.chain != o.chain) continue;
      if (into.host && o.host && into.host->src == o.host->src && into.host->dst == o.host->dst) {
        into.host->lower |= o.host->lower;  // the same rule: the same addresses
      } else {
        into.Packets(space_);
        into.set |= o.Packets(space_);
      }
      return;
    }
    list_.push_back(std::move(o));
    slots_[i] = static_cast<uint32_t>(list_.size());
  }
  std::vector<Outcome> Take() { return std::move(list_); }

 private:
  static size_t Hash(const Outcome& o) {
    uint64_t h = reinterpret_cast<uintptr_t>(o.rule) * 0x9e3779b97f4a7c15ULL;
    h ^= reinterpret_cast<uintptr_t>(o.chain) * 0xc2b2ae3d27d4eb4fULL;
    h ^= static_cast<uint64_t>(o.verdict);
    return static_cast<size_t>(h ^ (h >> 29));
  }
  void Grow() {
    slots_.assign(slots_.empty() ? 16 : slots_.size() * 2, 0);
    const size_t mask = slots_.size() - 1;
    for (size_t at = 0; at < list_.size(); ++at) {
      size_t i = Hash(list_[at]) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = static_cast<uint32_t>(at + 1);
    }
  }

  const Space& space_;
  std::vector<Outcome> list_;
  std::vector<uint32_t> slots_;  // 1 + a position in list_; 0 for a free slot
};

// The union of sets[first, last) by halves, so that each member is merged into sets of its own
// size rather than into one growing union.
Set UnionOf(const std::vector<Set>& sets, size_t first, size_t last) {
  if (first == last) return Set();
  if (last - first == 1) return sets[first];
  const size_t mid = first + (last - first) / 2;
  return UnionOf(sets, first, mid) | UnionOf(sets, mid, last);
}

bool IsStem(const std::string& pattern) { return !pattern.empty() && pattern.back() == '+'; }

// The header field a HeaderBox part constrains.
Field FieldOf(MatchKind kind) {
  switch (kind) {
    case MatchKind::kDstAddress:
      return Field::kDst;
    case MatchKind::kProtocol:
      return Field::kProto;
    case MatchKind::kSrcPort:
      return Field::kSport;
    case MatchKind::kDstPort:
      return Field::kDport;
    case MatchKind::kIcmpType:
      return Field::kIcmpType;
    default:
      return Field::kSrc;
  }
}

// The union of `sets`, joined pairwise so that each union meets sets of similar size.
Set UnionAll(const Space& space, std::vector<Set> sets) {
  if (sets.empty()) return space.None();
  while (sets.size() > 1) {
    size_t out = 0;
    for (size_t i = 0; i < sets.size(); i += 2) {
      sets[out++] = i + 1 < sets.size() ? sets[i] | sets[i + 1] : std::move(sets[i]);
    }
    sets.resize(out);
  }
  return std::move(sets[0]);
}

// Sorts `intervals` and merges those that overlap or touch.
std::vector<Interval> Merged(std::vector<Interval> intervals) {
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  std::vector<Interval> out;
  for (const Interval& i : intervals) {
    if (!out.empty() && i.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, i.hi);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

}  // namespace

bool InterfaceMatches(const std::string& pattern, const std::string& name) {
  if (IsStem(pattern)) {
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == name;
}

std::optional<InterfaceClasses> InterfaceClasses::Of(const Ruleset& ruleset) {
  std::set<std::string> exact;
  std::set<std::string> stems;
  for (const Table& table : ruleset.tables) {
    for (const Chain& chain : table.chains) {
      for (const Rule& rule : chain.rules) {
        for (const Match& m : rule.matches) {
          for (const std::string& name : m.interfaces) {
            if (IsStem(name)) {
              stems.insert(name.substr(0, name.size() - 1));
            } else {
              exact.insert(name);
            }
          }
        }
      }
    }
  }
  if (exact.size() + stems.size() + 1 > kMaxInterfaceClasses) return std::nullopt;
  static std::atomic<uint64_t> next_id{1};
  InterfaceClasses classes;
  classes.id_ = next_id.fetch_add(1);
  classes.exact_.assign(exact.begin(), exact.end());
  classes.stems_.assign(stems.begin(), stems.end());
  return classes;
}

Set InterfaceClasses::Matching(const Space& space, Field field,
                               const std::vector<std::string>& patterns) const {
  Set out = space.None();
  for (const std::string& pattern : patterns) {
    if (!IsStem(pattern)) {
      for (size_t i = 0; i < exact_.size(); ++i) {
        if (exact_[i] == pattern) out |= space.Value(field, i);
      }
      continue;
    }
    for (size_t i = 0; i < exact_.size(); ++i) {
      if (InterfaceMatches(pattern, exact_[i])) out |= space.Value(field, i);
    }
    // A stem class holds names that extend its stem (and no longer one): they extend `pattern`'s
    // stem exactly when the class's stem does.
    for (size_t j = 0; j < stems_.size(); ++j) {
      if (InterfaceMatches(pattern, stems_[j])) out |= space.Value(field, exact_.size() + j);
    }
  }
  return out;
}

Set InterfaceClasses::Any(const Space& space, Field field) const {
  return space.Range(field, 0, exact_.size() + stems_.size());
}

Set AnyConnState(const Space& space) {
  Set out = space.None();
  for (uint64_t status = 0; status < 4; ++status) {
    out |= space.Range(Field::kConnState, status << 3, (status << 3) | 4);
  }
  return out;
}

Set ConnStatesMatching(const Space& space, uint32_t conn_states) {
  Set out = space.None();
  for (uint64_t status = 0; status < 4; ++status) {
    for (uint64_t base = 0; base < 5; ++base) {
      uint32_t bits = kBaseStates[base];
      if ((status & 1) != 0) bits |= kCtDnat;
      if ((status & 2) != 0) bits |= kCtSnat;
      if ((bits & conn_states) != 0) out |= space.Value(Field::kConnState, (status << 3) | base);
    }
  }
  return out;
}

template <typename Meets, typename Fn>
void Undecided::ForEachMeetingBy(const Box& box, Meets&& meets, Fn&& visit) const {
  // Depth-first, leftmost first, so the rules come in order. The stack starts with the members
  // not covered by a union one level up: the lowest level's (the latest rules) at the bottom,
  // the top level's (the earliest) on top, each level's right to left.
  struct Frame {
    size_t level;
    size_t index;
  };
  std::vector<Frame> stack;
  for (size_t l = 0; l < matches_.size(); ++l) {
    const size_t first = l + 1 < matches_.size() ? matches_[l + 1].size() * kFan : 0;
    for (size_t j = matches_[l].size(); j-- > first;) stack.push_back({l, j});
  }
  while (!stack.empty()) {
    const Frame f = stack.back();
    stack.pop_back();
    if (!boxes_[f.level][f.index].Meets(box)) continue;
    // A union of kFan rules' match sets is not walked: testing the boxes of its members costs
    // less, and their own match sets are walked where the boxes meet.
    if (f.level != 1 && !meets(f.level, f.index)) continue;
    if (f.level == 0) {
      if (!visit(f.index)) return;
      continue;
    }
    for (size_t c = (f.index + 1) * kFan; c-- > f.index * kFan;) stack.push_back({f.level - 1, c});
  }
}

template <typename Fn>
void Undecided::ForEachMeeting(const Set& set, const Box& box, Fn&& visit) const {
  auto meets = [&](size_t level, size_t index) {
    if (level == 0 && hosts_[index].match_pending) {
      // A host rule's match set, not built: it meets `set` where `set`, cut at the rule's address
      // pair, meets its lower set (a walk down one path instead of the path built and walked).
      const HostEntry& h = hosts_[index];
      if (const std::optional<Set> part = space_->AddressCofactor(set, h.src, h.dst)) {
        return part->Meets(h.lower_match);
      }
    }
    return MatchAt(level, index).Meets(set);
  };
  ForEachMeetingBy(box, meets, visit);
}

const Set& Undecided::MatchAt(size_t level, size_t index) const {
  if (level == 0 && hosts_[index].match_pending) {
    const HostEntry& h = hosts_[index];
    matches_[0][index] = space_->AddressPath(h.src, h.dst, h.lower_match);
    h.match_pending = false;
  }
  return matches_[level][index];
}

template <typename Fn>
void Undecided::ForEachMeetingHost(const Space& space, const HostMatch& host, const Set& lower,
                                   const Box& box, bool& fixed, Fn&& visit) const {
  // Whether the match set or union at (level, index) meets the packets of `lower` at the pair.
  auto meets = [&](size_t level, size_t index) {
    if (level == 0 && hosts_[index].host) {
      const HostEntry& h = hosts_[index];
      return h.src == host.src && h.dst == host.dst && h.lower_match.Meets(lower);
    }
    const std::optional<Set> part =
        space.AddressCofactor(MatchAt(level, index), host.src, host.dst);
    if (!part) fixed = false;
    return fixed && part->Meets(lower);
  };
  if (general_.size() > kFewGeneral) {
    ForEachMeetingBy(box, meets, [&](size_t i) { return fixed && visit(i); });
    return;
  }
  // The earlier host rules of the same pair through the index, and the few others by their
  // boxes: the tree's unions of host rules on scattered pairs have boxes that meet almost
  // everything, so that its walk would test most rules' boxes one by one. Then in order.
  std::vector<size_t> found = SamePair(host);
  for (size_t i : general_) {
    if (boxes_[0][i].Meets(box)) found.push_back(i);
  }
  std::sort(found.begin(), found.end());
  for (size_t i : found) {
    if (meets(0, i) && (!fixed || !visit(i))) break;
  }
}

std::optional<Set> Undecided::MeetHost(const Space& space, const HostMatch& host,
                                       const Box& box) const {
  if (complete_) return Set();
  std::optional<Set> in = space.AddressCofactor(in_, host.src, host.dst);
  if (!in) return std::nullopt;
  // The input's cut meets the lower sets of a few services at most of a chain's pairs: each
  // pair's intersection is made once (both operands kept referenced, so that their ids stand
  // for them while remembered).
  const uint64_t pair = (uint64_t{in->Id()} << 32) | host.lower.Id();
  auto [remembered, fresh] = input_meets_.try_emplace(pair);
  if (fresh) {
    remembered->second = *in & host.lower;
    input_meets_refs_.push_back(*in);
    input_meets_refs_.push_back(host.lower);
  }
  Set out = remembered->second;
  if (out.IsEmpty()) return out;
  // The earlier decided sets whose rules' match sets meet this one, each with the addresses
  // fixed. An earlier host rule meets it only on the same pair: its lower sets are at hand.
  bool fixed = true;  // every set needed has only address variables above the lower fields
  std::vector<Set> meeting;
  ForEachMeetingHost(space, host, host.lower, box, fixed, [&](size_t i) {
    if (hosts_[i].host) {
      meeting.push_back(hosts_[i].lower_decided);
      return true;
    }
    std::optional<Set> part = space.AddressCofactor(DecidedSet(i), host.src, host.dst);
    if (!part) {
      fixed = false;
      return false;
    }
    meeting.push_back(std::move(*part));
    return true;
  });
  if (!fixed) return std::nullopt;
  if (meeting.empty()) return out;
  return out - UnionOf(meeting, 0, meeting.size());
}

void Undecided::DecideHost(const Space& space, const Rule* rule, const HostMatch& host, Set decided,
                           Set decided_set, const Box& box) {
  space_ = &space;
  HostEntry entry;
  entry.host = true;
  entry.match_pending = true;
  entry.src = host.src;
  entry.dst = host.dst;
  entry.lower_match = host.lower;
  entry.lower_decided = std::move(decided);
  entry.decided_pending = decided_set.IsEmpty();  // DecidedSet builds its path when needed
  Push(rule, Set(), std::move(decided_set), box, std::move(entry));
}

Set Undecided::Meet(const Set& match, const Box& box) const {
  if (complete_) return Set();
  Set out = in_ & match;
  if (out.IsEmpty()) return out;
  // Subtracting their union once costs less than subtracting each from a growing remainder. The
  // host rules' decided sets join it as one tree over their addresses, without their paths.
  std::vector<Set> meeting;
  std::vector<Space::AddressPart> paths;
  ForEachMeeting(match, box, [&](size_t i) {
    if (hosts_[i].host) {
      const HostEntry& h = hosts_[i];
      paths.push_back({AddressPairKey(h.src, h.dst), h.lower_decided});
    } else {
      meeting.push_back(DecidedSet(i));
    }
    return true;
  });
  if (meeting.empty() && paths.empty()) return out;
  if (meeting.size() + paths.size() == decided_.size()) return out - AllDecided();
  Set joined = UnionOf(meeting, 0, meeting.size());
  if (!paths.empty()) joined |= space_->AddressPaths(std::move(paths));
  return out - joined;
}

void Undecided::Decide(const Rule* rule, const Set& match, std::function<Set()> decided,
                       const Box& box) {
  Decide(rule, match, Set(), box);
  pending_.back() = std::move(decided);
}

const Set& Undecided::DecidedSet(size_t i) const {
  if (hosts_[i].decided_pending) {
    const HostEntry& h = hosts_[i];
    decided_[i] = space_->AddressPath(h.src, h.dst, h.lower_decided);
    h.decided_pending = false;
  } else if (pending_[i]) {
    decided_[i] = pending_[i]();
    pending_[i] = nullptr;
  }
  return decided_[i];
}

void Undecided::Decide(const Rule* rule, const Set& match, Set decided, const Box& box) {
  Push(rule, match, std::move(decided), box, HostEntry{});
}

std::vector<size_t> Undecided::SamePair(const HostMatch& host) const {
  std::vector<size_t> out;
  const auto last = host_index_.find(AddressPairKey(host.src, host.dst));
  if (last == host_index_.end()) return out;
  for (size_t i = last->second; i != kNoRule; i = hosts_[i].same_before) out.push_back(i);
  std::reverse(out.begin(), out.end());
  return out;
}

void Undecided::Push(const Rule* rule, Set match, Set decided, const Box& box, HostEntry host) {
  if (host.host) {
    auto [last, fresh] = host_index_.try_emplace(AddressPairKey(host.src, host.dst), rules_.size());
    if (!fresh) {
      host.same_before = last->second;
      last->second = rules_.size();
    }
  } else {
    general_.push_back(rules_.size());
  }
  rules_.push_back(rule);
  decided_.push_back(std::move(decided));
  pending_.emplace_back();
  hosts_.push_back(std::move(host));
  if (matches_.empty()) {
    matches_.emplace_back();
    boxes_.emplace_back();
  }
  matches_[0].push_back(std::move(match));
  boxes_[0].push_back(box);
  for (size_t l = 0; matches_[l].size() % kFan == 0; ++l) {
    if (matches_.size() == l + 1) {
      matches_.emplace_back();
      boxes_.emplace_back();
    }
    const size_t last = matches_[l].size();
    // The unions of kFan match sets are never walked (ForEachMeeting tests their members'
    // boxes): not built; the level above them is the union of their members.
    if (l == 0) {
      matches_[1].emplace_back();
    } else if (l == 1) {
      for (size_t j = (last - kFan) * kFan; j < last * kFan; ++j) MatchAt(0, j);
      matches_[2].push_back(UnionOf(matches_[0], (last - kFan) * kFan, last * kFan));
    } else {
      matches_[l + 1].push_back(UnionOf(matches_[l], last - kFan, last));
    }
    Box joined = boxes_[l][last - kFan];
    for (size_t i = last - kFan + 1; i < last; ++i) joined.Join(boxes_[l][i]);
    boxes_[l + 1].push_back(joined);
  }
}

std::vector<const Rule*> Undecided::Deciders(const Space& space, const Set& set, size_t limit,
                                             const Box& box) const {
  std::vector<const Rule*> out;
  // Whether decided set i meets `set`: for a host rule whose decided path is not built, `set`
  // cut at the rule's address pair against its lower set, as ForEachMeeting tests its match.
  auto decided_meets = [&](size_t i) {
    if (hosts_[i].decided_pending) {
      const HostEntry& h = hosts_[i];
      if (const std::optional<Set> part = space.AddressCofactor(set, h.src, h.dst)) {
        return part->Meets(h.lower_decided);
      }
    }
    return DecidedSet(i).Meets(set);
  };
  ForEachMeeting(set, box, [&](size_t i) {
    if (decided_meets(i)) out.push_back(rules_[i]);
    return out.size() <= limit;
  });
  if (complete_ && out.size() <= limit) {
    // The rule of DecideRest() decided what no earlier rule did: it meets `set` unless the
    // earlier decided sets cover it.
    const Set s = in_ & set;
    std::vector<Set> earlier;
    ForEachMeeting(s, box, [&](size_t i) {
      earlier.push_back(DecidedSet(i));
      return true;
    });
    std::optional<bool> covered = space.Covered(s, earlier, kCoverBudget);
    if (!covered) covered = (s - UnionOf(earlier, 0, earlier.size())).IsEmpty();
    if (!*covered) out.push_back(rest_rule_);
  }
  return out;
}

std::optional<std::vector<const Rule*>> Undecided::DecidersHost(const Space& space,
                                                                const HostMatch& host,
                                                                const Set& lower, size_t limit,
                                                                const Box& box) const {
  // As MeetHost: every set looked at is cut at the rule's address pair, and an earlier host rule
  // meets it only on the same pair. The set asked about lies at that pair, so a set meets it
  // exactly when the set's cut meets `lower`.
  bool fixed = true;  // every set needed has only address variables above the lower fields
  // The lower set of decided set i (nullopt, with `fixed` cleared, when it has none).
  auto decided = [&](size_t i) -> std::optional<Set> {
    if (hosts_[i].host) return hosts_[i].lower_decided;
    std::optional<Set> part = space.AddressCofactor(DecidedSet(i), host.src, host.dst);
    if (!part) fixed = false;
    return part;
  };
  std::vector<const Rule*> out;
  ForEachMeetingHost(space, host, lower, box, fixed, [&](size_t i) {
    const std::optional<Set> part = decided(i);
    if (!part) return false;
    if (part->Meets(lower)) out.push_back(rules_[i]);
    return out.size() <= limit;
  });
  if (!fixed) return std::nullopt;
  if (complete_ && out.size() <= limit) {
    // As in Deciders: the rule of DecideRest() unless the earlier decided sets cover the input's
    // part of the set.
    const std::optional<Set> in = space.AddressCofactor(in_, host.src, host.dst);
    if (!in) return std::nullopt;
    const Set s = *in & lower;
    std::vector<Set> earlier;
    ForEachMeetingHost(space, host, s, box, fixed, [&](size_t i) {
      std::optional<Set> part = decided(i);
      if (!part) return false;
      earlier.push_back(std::move(*part));
      return true;
    });
    if (!fixed) return std::nullopt;
    std::optional<bool> covered = space.Covered(s, earlier, kCoverBudget);
    if (!covered) covered = (s - UnionOf(earlier, 0, earlier.size())).IsEmpty();
    if (!*covered) out.push_back(rest_rule_);
  }
  return out;
}

bool Undecided::RestIsEmpty(const Space& space) const {
  if (complete_) return true;
  if (decided_.empty()) return in_.IsEmpty();
  // A packet outside every rule's match set is outside every decided set (each lies within its
  // rule's match): looked for first, so that decided sets not built yet (a jump's, built when
  // needed) need not be built when one turns up.
  std::vector<Set> matches;
  matches.reserve(decided_.size());
  for (size_t i = 0; i < decided_.size(); ++i) matches.push_back(MatchAt(0, i));
  if (space.Covered(in_, matches, kCoverBudget) == std::optional<bool>(false)) return false;
  std::vector<Set> all;
  all.reserve(decided_.size());
  for (size_t i = 0; i < decided_.size(); ++i) all.push_back(DecidedSet(i));
  const std::optional<bool> covered = space.Covered(in_, all, kCoverBudget);
  return covered ? *covered : Rest().IsEmpty();
}

const Set& Undecided::AllDecided() const {
  if (all_decided_count_ != decided_.size()) {
    // The sets decided since the last call join the union kept from then; those of host rules
    // as one tree over their addresses, without their paths.
    std::vector<Set> sets;
    std::vector<Space::AddressPart> paths;
    for (size_t i = all_decided_count_; i < decided_.size(); ++i) {
      if (hosts_[i].host) {
        const HostEntry& h = hosts_[i];
        paths.push_back({AddressPairKey(h.src, h.dst), h.lower_decided});
      } else {
        sets.push_back(DecidedSet(i));
      }
    }
    Set joined = UnionOf(sets, 0, sets.size());
    if (!paths.empty()) joined |= space_->AddressPaths(std::move(paths));
    all_decided_ = all_decided_ | joined;
    all_decided_count_ = decided_.size();
  }
  return all_decided_;
}

Set Undecided::Rest() const {
  if (complete_) return Set();
  return decided_.empty() ? in_ : in_ - AllDecided();
}

const Set& ChainResult::Returned() const {
  if (!returned_hosts_.empty()) {
    returned_ |= space_->AddressPaths(std::move(returned_hosts_));
    returned_hosts_.clear();
  }
  for (const std::shared_ptr<const ChainResult>& sub : returned_gotos_) {
    returned_ |= sub->Fallthrough();
  }
  returned_gotos_.clear();
  return returned_;
}

Evaluator::Evaluator(const Space& space, Memo memo, HostRules host_rules)
    : space_(space), memo_(memo), host_rules_(host_rules) {
  l4_ = space_.Value(Field::kProto, kTcp) | space_.Value(Field::kProto, kUdp);
  icmp_ = space_.Value(Field::kProto, kIcmp);
}

namespace {

// Matches whose set depends on the context: interfaces, states and constants.
bool Contextual(MatchKind kind) {
  return kind == MatchKind::kInInterface || kind == MatchKind::kOutInterface ||
         kind == MatchKind::kConnState || kind == MatchKind::kConstant;
}

// A match of one address or prefix: Space::Masked(field, value, mask).
struct AddressPattern {
  Field field;
  uint64_t value;
  uint64_t mask;
};

std::optional<AddressPattern> PatternOf(const Match& m) {
  if (m.negated || m.terms.size() != 1) return std::nullopt;
  if (m.kind != MatchKind::kSrcAddress && m.kind != MatchKind::kDstAddress) return std::nullopt;
  const Field field = m.kind == MatchKind::kSrcAddress ? Field::kSrc : Field::kDst;
  const ValueTerm& t = m.terms[0];
  if (t.kind == ValueTerm::Kind::kMasked) return AddressPattern{field, t.first, t.second};
  if (t.first == t.second && t.first <= FieldMax(field)) {  // Space::Range of one value
    return AddressPattern{field, t.first, FieldMax(field)};
  }
  return std::nullopt;
}

}  // namespace

Set Evaluator::MatchSet(const Rule& rule, const Context& ctx, bool& may) const {
  if (memo_ == Memo::kNone) return PlainMatchSet(rule, ctx, may, false);
  // The part that does not depend on the context, built once; the contextual matches (in the
  // forwarding walk the empty or the full set) joined to it each time.
  RuleSet& memo = rule_sets_[&rule];
  Set out;
  if (!memo.built && memo_ == Memo::kRepeated && !memo.seen) {
    memo.seen = true;  // built again, and kept, if the rule is walked again
    out = PlainMatchSet(rule, ctx, may, true);
  } else {
    if (!memo.built) {
      memo.set = PlainMatchSet(rule, ctx, memo.may, true);
      memo.built = true;
    }
    out = memo.set;
    may = memo.may;
  }
  for (const Match& m : rule.matches) {
    if (out.IsEmpty()) break;  // `may` no longer matters
    if (!Contextual(m.kind)) continue;
    if (ctx.classes != nullptr && m.kind == MatchKind::kConstant && !m.always) {
      may = true;
      continue;
    }
    out &= One(m, ctx);
  }
  return out;
}

std::optional<HostMatch> Evaluator::HostMatchOf(const Rule& rule, const Context& ctx,
                                                bool& may) const {
  if (host_rules_ != HostRules::kIndexed) return std::nullopt;
  if (rule.action.kind == ActionKind::kJump || rule.action.kind == ActionKind::kGoto) {
    return std::nullopt;  // what a called chain keeps is a whole set
  }
  std::optional<uint64_t> src;
  std::optional<uint64_t> dst;
  bool none = false;  // a contextual match that holds for no packet here
  bool fixed_may = false;
  std::vector<uint64_t>& key = lower_key_;  // the matches of the lower set (its buffer reused)
  key.clear();
  for (const Match& m : rule.matches) {
    switch (m.kind) {
      case MatchKind::kSrcAddress:
      case MatchKind::kDstAddress: {
        const std::optional<AddressPattern> p = PatternOf(m);
        const uint64_t full = FieldMax(Field::kSrc);
        if (!p || (p->mask & full) != full) return std::nullopt;
        std::optional<uint64_t>& address = p->field == Field::kSrc ? src : dst;
        if (address) return std::nullopt;  // two of them: the general path
        address = p->value & full;
        continue;
      }
      case MatchKind::kHeaderSet:
        return std::nullopt;
      case MatchKind::kMayMatch:
        fixed_may = true;
        continue;
      case MatchKind::kInInterface:
      case MatchKind::kOutInterface:
      case MatchKind::kConnState:
      case MatchKind::kConstant:
        if (ctx.classes != nullptr) {
          // The interfaces' and the state's variables lie above the addresses.
          if (m.kind != MatchKind::kConstant) return std::nullopt;
          if (!m.always) {
            fixed_may = true;
            continue;
          }
        }
        none = none || One(m, ctx).IsEmpty();  // the full or the empty set here
        continue;
      default:
        break;
    }
    // The kind, the negation and the number of terms (below 2^40: 16 TB of terms) in one word,
    // then each term.
    key.push_back((static_cast<uint64_t>(m.kind) << 48) | (uint64_t{m.negated} << 40) |
                  m.terms.size());
    for (const ValueTerm& t : m.terms) {
      key.push_back(static_cast<uint64_t>(t.kind));
      key.push_back(t.first);
      key.push_back(t.second);
    }
  }
  if (!src || !dst) return std::nullopt;
  auto it = lower_sets_.find(key);
  const bool fresh = it == lower_sets_.end();
  if (fresh) {
    it = lower_sets_.try_emplace(key).first;
    std::vector<Set> parts;
    for (const Match& m : rule.matches) {
      switch (m.kind) {
        case MatchKind::kSrcAddress:
        case MatchKind::kDstAddress:
        case MatchKind::kMayMatch:
        case MatchKind::kInInterface:
        case MatchKind::kOutInterface:
        case MatchKind::kConnState:
        case MatchKind::kConstant:
          continue;
        default:
          parts.push_back(One(m, ctx));
      }
    }
    std::sort(parts.begin(), parts.end(),
              [](const Set& a, const Set& b) { return a.TopVariable() > b.TopVariable(); });
    Set lower = space_.All();
    for (const Set& part : parts) lower &= part;
    // Protocols, ports and ICMP types always lie below the addresses; checked all the same.
    it->second = {std::move(lower), space_.BelowAddresses(lower)};
  }
  if (!it->second.second) return std::nullopt;
  may = fixed_may;
  return HostMatch{static_cast<uint32_t>(*src), static_cast<uint32_t>(*dst),
                   none ? space_.None() : it->second.first};
}

Set Evaluator::PlainMatchSet(const Rule& rule, const Context& ctx, bool& may,
                             bool fixed_only) const {
  may = false;
  std::vector<Set> parts;
  parts.reserve(rule.matches.size());
  // Matches of one address or prefix (most rules' -s and -d), put on top of the other parts last.
  std::vector<AddressPattern> patterns;
  for (const Match& m : rule.matches) {
    if (fixed_only && Contextual(m.kind)) continue;
    if (m.kind == MatchKind::kMayMatch ||
        (ctx.classes != nullptr && m.kind == MatchKind::kConstant && !m.always)) {
      may = true;
      continue;
    }
    if (std::optional<AddressPattern> p = PatternOf(m)) {
      patterns.push_back(*p);
      continue;
    }
    parts.push_back(One(m, ctx));
    if (parts.back().IsEmpty()) return parts.back();  // `may` no longer matters
  }
  // Intersected from the part lowest in the variable order up: each step then puts the new
  // part's nodes above the set so far, instead of rebuilding the set so far beneath them.
  std::sort(parts.begin(), parts.end(),
            [](const Set& a, const Set& b) { return a.TopVariable() > b.TopVariable(); });
  Set out = space_.All();
  for (const Set& part : parts) {
    out &= part;
    if (out.IsEmpty()) break;
  }
  // The destination's patterns, then the source's (the variable order): each one's nodes made
  // directly above the set so far, without building the pattern on its own and intersecting.
  std::stable_sort(patterns.begin(), patterns.end(),
                   [](const AddressPattern& a, const AddressPattern& b) {
                     return a.field == Field::kDst && b.field != Field::kDst;
                   });
  for (const AddressPattern& p : patterns) {
    if (out.IsEmpty()) break;
    out = space_.MaskedAbove(p.field, p.value, p.mask, out);
  }
  return out;
}

Result<ChainResult> Evaluator::Eval(const Table& table, const Chain& chain, const Set& in,
                                    const Context& ctx, int depth) const {
  if (depth > kMaxCallDepth) {
    return Error::Invalid(
        Cat(chain.location.ToString(), ": チェーンの呼び出しが深すぎるか循環しています。"),
        Cat(chain.location.ToString(), ": chain calls nest too deeply or loop."));
  }
  ChainResult result(space_, in);
  Outcomes outcomes(space_);
  Undecided& remaining = *result.undecided_;
  for (const Rule& rule : chain.rules) {
    bool may = false;
    const std::optional<HostMatch> host = HostMatchOf(rule, ctx, may);
    Set match;
    if (!host) {
      match = MatchSet(rule, ctx, may);
      if (ctx.discards_unused && !may && match.IsFull() && DiscardsAll(table, rule, ctx, depth)) {
        remaining.DecideRest(&rule);  // no later rule sees a packet
        break;
      }
    }
    const Box box = MatchBox(rule);
    // A host rule: its undecided packets with the addresses fixed, the path built on them.
    std::optional<Set> lower;
    if (host) {
      lower = remaining.MeetHost(space_, *host, box);
      // The general path, with the match set as the memo keeps it: the branches of the port
      // forwards (their destinations as sent are part of the set) walk the same chains once each.
      if (!lower) match = MatchSet(rule, ctx, may);
    }
    Set m;  // the undecided packets; for a host rule never built (`lower` holds them)
    if (!lower) {
      m = remaining.Meet(match, box);
      if (m.IsEmpty()) continue;
    } else if (lower->IsEmpty()) {
      continue;
    }
    // Records that the rule decided its undecided packets.
    auto decide = [&] {
      if (may) return;
      if (lower) {
        remaining.DecideHost(space_, &rule, *host, *lower, m, box);
      } else {
        remaining.Decide(&rule, match, m, box);
      }
    };
    switch (rule.action.kind) {
      case ActionKind::kContinue:
      case ActionKind::kUnknown:
        break;
      case ActionKind::kReturn:
        if (lower) {
          result.returned_hosts_.push_back({AddressPairKey(host->src, host->dst), *lower});
        } else {
          result.returned_ |= m;
        }
        decide();
        break;
      case ActionKind::kJump:
      case ActionKind::kGoto: {
        const Chain* target = Target(table, rule);
        if (target == nullptr) {
          return Error::Invalid(
              Cat(rule.location.ToString(), ": チェーン ", rule.action.chain, " がありません。"),
              Cat(rule.location.ToString(), ": no chain ", rule.action.chain, "."));
        }
        MAMORI_ASSIGN_OR_RETURN(ChainResult sub, Eval(table, *target, m, ctx, depth + 1));
        for (Outcome& o : sub.outcomes) outcomes.Add(std::move(o));
        if (rule.action.kind == ActionKind::kGoto) {
          // What falls through the chain gone to returns to this chain's caller: built when
          // asked for (often never: a caller that drops what it keeps, as a chain called by
          // zone pair whose last rule drops every packet).
          result.returned_gotos_.push_back(std::make_shared<ChainResult>(std::move(sub)));
          if (!may) remaining.Decide(&rule, match, m, box);
        } else if (!may) {
          // What comes back goes on. What the chain kept is built when needed: often nothing
          // needs it (a later rule that meets it, or the end of this chain that gives packets
          // back), as when the chains called by source network each end in a DROP.
          auto kept = std::make_shared<ChainResult>(std::move(sub));
          remaining.Decide(
              &rule, match, [kept] { return kept->Kept(); }, box);
        }
        break;
      }
      default:  // a verdict or a NAT rewrite: ends this chain
        if (lower) {
          outcomes.Add(Outcome{rule.action.kind, &rule, &chain, Set(),
                               HostMatch{host->src, host->dst, *lower}});
        } else {
          outcomes.Add(Outcome{rule.action.kind, &rule, &chain, m});
        }
        decide();
        break;
    }
  }
  result.outcomes = outcomes.Take();
  return result;
}

const Chain* Evaluator::Target(const Table& table, const Rule& rule) const {
  if (memo_ == Memo::kNone) return table.FindChain(rule.action.chain);
  auto [it, fresh] = targets_.try_emplace(&rule, nullptr);
  if (fresh) it->second = table.FindChain(rule.action.chain);
  return it->second;
}

bool Evaluator::CallsStayWithinDepth(const Table& table) {
  // The most calls nested below each chain (kMaxCallDepth + 1: more, or a loop); -1 while the
  // chain is being measured. The recursion stops past kMaxCallDepth levels.
  std::unordered_map<const Chain*, int> below;
  auto measure = [&](auto& self, const Chain& chain, int level) -> int {
    if (level > kMaxCallDepth) return kMaxCallDepth + 1;
    auto [it, fresh] = below.try_emplace(&chain, -1);
    if (!fresh) return it->second < 0 ? kMaxCallDepth + 1 : it->second;  // a loop, or known
    int most = 0;
    for (const Rule& rule : chain.rules) {
      if (rule.action.kind != ActionKind::kJump && rule.action.kind != ActionKind::kGoto) continue;
      const Chain* target = table.FindChain(rule.action.chain);
      if (target == nullptr) continue;  // Eval's error for a missing chain does not depend on depth
      most = std::max(most, 1 + self(self, *target, level + 1));
      if (most > kMaxCallDepth) break;
    }
    most = std::min(most, kMaxCallDepth + 1);
    below[&chain] = most;
    return most;
  };
  for (const Chain& chain : table.chains) {
    if (measure(measure, chain, 0) > kMaxCallDepth) return false;
  }
  return true;
}

bool Evaluator::DiscardsAll(const Table& table, const Rule& rule, const Context& ctx,
                            int depth) const {
  bool may = false;
  if (!MatchSet(rule, ctx, may).IsFull() || may) return false;
  switch (rule.action.kind) {
    case ActionKind::kDrop:
    case ActionKind::kReject:
      return true;
    case ActionKind::kJump:
    case ActionKind::kGoto: {
      const Chain* target = Target(table, rule);
      if (target == nullptr || depth >= kMaxCallDepth) return false;
      for (const Rule& r : target->rules) {
        if (r.action.kind == ActionKind::kContinue || r.action.kind == ActionKind::kUnknown) {
          continue;  // logs, counts: no verdict and no effect on the packets
        }
        return DiscardsAll(table, r, ctx, depth + 1);
      }
      return false;  // the end of the chain: back to the caller
    }
    default:
      return false;
  }
}

Box Evaluator::MatchBox(const Rule& rule) {
  Box box;
  // Box::kFields[i] narrowed to [lo, hi].
  auto narrow = [&](size_t i, uint64_t lo, uint64_t hi) {
    box.range[i].lo = std::max(box.range[i].lo, lo);
    box.range[i].hi = std::min(box.range[i].hi, hi);
  };
  // The values that `m`'s terms hold of Box::kFields[i], whose largest value is `max`, lie
  // within [lo, hi]; a negated match bounds nothing. (Every rule's box is made in each walk:
  // the field's index and maximum are constants at each call.)
  auto terms = [&](size_t i, uint64_t max, const Match& m) {
    if (m.negated || m.terms.empty()) return;
    uint64_t lo = max;
    uint64_t hi = 0;
    for (const ValueTerm& t : m.terms) {
      if (t.kind == ValueTerm::Kind::kRange) {
        if (t.first > t.second || t.first > max) continue;  // no value
        lo = std::min(lo, t.first);
        hi = std::max(hi, std::min(t.second, max));
      } else {
        const uint64_t fixed = t.first & t.second & max;
        lo = std::min(lo, fixed);
        hi = std::max(hi, fixed | (~t.second & max));
      }
    }
    narrow(i, lo, hi);  // lo > hi when no term holds a value: the box is empty
  };
  static_assert(Box::kFields[0] == Field::kSrc && Box::kFields[1] == Field::kDst &&
                Box::kFields[2] == Field::kProto && Box::kFields[3] == Field::kSport &&
                Box::kFields[4] == Field::kDport);
  constexpr size_t kProto = 2;
  for (const Match& m : rule.matches) {
    switch (m.kind) {
      case MatchKind::kSrcAddress:
        terms(0, FieldMax(Field::kSrc), m);
        break;
      case MatchKind::kDstAddress:
        terms(1, FieldMax(Field::kDst), m);
        break;
      case MatchKind::kProtocol:
        terms(kProto, FieldMax(Field::kProto), m);
        break;
      case MatchKind::kSrcPort:
        narrow(kProto, kTcp, kUdp);
        terms(3, FieldMax(Field::kSport), m);
        break;
      case MatchKind::kDstPort:
        narrow(kProto, kTcp, kUdp);
        terms(4, FieldMax(Field::kDport), m);
        break;
      case MatchKind::kEitherPort:
        narrow(kProto, kTcp, kUdp);
        break;
      case MatchKind::kIcmpType:
        narrow(kProto, kIcmp, kIcmp);
        break;
      default:  // interfaces, states, constants, may-match, header sets: no bound here
        break;
    }
  }
  return box;
}

Set Evaluator::Terms(Field field, const std::vector<ValueTerm>& terms) const {
  Set out = space_.None();
  for (const ValueTerm& t : terms) out |= space_.Term(field, t);
  return out;
}

Set Evaluator::One(const Match& m, const Context& ctx) const {
  auto negate = [&](const Set& s) { return m.negated ? ~s : s; };
  auto boolean = [&](bool b) { return b ? space_.All() : space_.None(); };
  switch (m.kind) {
    case MatchKind::kSrcAddress:
      return negate(Terms(Field::kSrc, m.terms));
    case MatchKind::kDstAddress:
      return negate(Terms(Field::kDst, m.terms));
    case MatchKind::kProtocol:
      return negate(Terms(Field::kProto, m.terms));
    case MatchKind::kSrcPort:
      return l4_ & negate(Terms(Field::kSport, m.terms));
    case MatchKind::kDstPort:
      return l4_ & negate(Terms(Field::kDport, m.terms));
    case MatchKind::kEitherPort:
      return l4_ & negate(Terms(Field::kSport, m.terms) | Terms(Field::kDport, m.terms));
    case MatchKind::kIcmpType:
      return icmp_ & negate(Terms(Field::kIcmpType, m.terms));
    case MatchKind::kInInterface:
    case MatchKind::kOutInterface: {
      if (ctx.classes != nullptr) {
        const Field field =
            m.kind == MatchKind::kInInterface ? Field::kInInterface : Field::kOutInterface;
        auto [it, fresh] =
            interface_sets_.try_emplace({ctx.classes->id(), static_cast<int>(field), m.interfaces});
        if (fresh) it->second = ctx.classes->Matching(space_, field, m.interfaces);
        return m.negated ? ctx.classes->Any(space_, field) - it->second : it->second;
      }
      const std::string* name =
          m.kind == MatchKind::kInInterface ? ctx.in_interface : ctx.out_interface;
      bool any = false;
      for (const std::string& pattern : m.interfaces) {
        any = any || (name != nullptr && InterfaceMatches(pattern, *name));
      }
      return boolean(any != m.negated);
    }
    case MatchKind::kConnState: {
      if (ctx.classes != nullptr) {
        auto [it, fresh] = state_sets_.try_emplace(m.conn_states);
        if (fresh) it->second = ConnStatesMatching(space_, m.conn_states);
        return m.negated ? AnyConnState(space_) - it->second : it->second;
      }
      const uint32_t state = ctx.before_conntrack
                                 ? uint32_t{kCtInvalid}
                                 : kCtNew | (ctx.dnatted ? uint32_t{kCtDnat} : uint32_t{0}) |
                                       (ctx.snatted ? uint32_t{kCtSnat} : uint32_t{0});
      return boolean(((m.conn_states & state) != 0) != m.negated);
    }
    case MatchKind::kConstant:
      return boolean(m.constant != m.negated);
    case MatchKind::kMayMatch:
      return space_.All();
    case MatchKind::kHeaderSet: {
      if (m.header_set == nullptr) return space_.All();  // parsers never leave it null
      auto positive = header_sets_.find({m.header_set, false});
      if (positive == header_sets_.end()) {
        positive = header_sets_.emplace(std::pair{m.header_set, false}, Build(*m.header_set)).first;
      }
      if (!m.negated) return positive->second;
      auto negative = header_sets_.find({m.header_set, true});
      if (negative == header_sets_.end()) {
        negative = header_sets_.emplace(std::pair{m.header_set, true}, ~positive->second).first;
      }
      return negative->second;
    }
  }
  return space_.All();
}

Set Evaluator::Build(const HeaderSet& set) const {
  Set out = space_.None();
  for (const std::vector<HeaderSet::Layer>& program : set.programs) {
    Set result = space_.None();
    for (const HeaderSet::Layer& layer : program) {
      auto removes = [&](size_t i) { return i < layer.remove.size() && layer.remove[i]; };
      std::vector<HeaderBox> added;
      std::vector<HeaderBox> removed;
      for (size_t i = 0; i < layer.boxes.size(); ++i) {
        (removes(i) ? removed : added).push_back(layer.boxes[i]);
      }
      const Set add = Boxes(added);
      const Set remove = Boxes(removed);
      if ((add & remove).IsEmpty()) {  // the order within the layer does not matter
        result = (result - remove) | add;
        continue;
      }
      for (size_t i = 0; i < layer.boxes.size(); ++i) {  // a later box overrides an earlier one
        const Set box = Boxes({layer.boxes[i]});
        result = removes(i) ? result - box : result | box;
      }
    }
    out |= result;
  }
  return out;
}

Set Evaluator::Boxes(const std::vector<HeaderBox>& boxes) const {
  // Boxes that agree on every part but the first form a group; the ranges of their first parts
  // (an ipset set's addresses, mostly) become one Space::Intervals set, which is built in linear
  // time however many there are.
  struct Group {
    const HeaderBox* box;  // the parts after the first are the group's
    std::vector<Interval> ranges;
    Set masked;  // first parts that are bit patterns
  };
  std::map<std::vector<uint64_t>, size_t> index;
  std::vector<Group> groups;
  for (const HeaderBox& box : boxes) {
    if (box.count == 0) return space_.All();  // no part: every header
    std::vector<uint64_t> key;
    key.reserve(1 + 4 * (box.count - 1));
    key.push_back(static_cast<uint64_t>(box.parts[0].field));
    for (size_t i = 1; i < box.count; ++i) {
      const HeaderBox::Part& p = box.parts[i];
      key.insert(key.end(), {static_cast<uint64_t>(p.field), static_cast<uint64_t>(p.term.kind),
                             p.term.first, p.term.second});
    }
    auto [it, fresh] = index.try_emplace(std::move(key), groups.size());
    if (fresh) groups.push_back(Group{&box, {}, space_.None()});
    Group& group = groups[it->second];
    const HeaderBox::Part& first = box.parts[0];
    const Field field = FieldOf(first.field);
    if (first.term.kind == ValueTerm::Kind::kRange && first.term.first <= first.term.second) {
      group.ranges.push_back({first.term.first, std::min(first.term.second, FieldMax(field))});
    } else if (first.term.kind == ValueTerm::Kind::kMasked) {
      group.masked |= space_.Term(field, first.term);
    }
  }
  std::vector<Set> sets;
  sets.reserve(groups.size());
  for (Group& group : groups) {
    const HeaderBox& box = *group.box;
    const Field field = FieldOf(box.parts[0].field);
    Set s = space_.Intervals(field, Merged(std::move(group.ranges))) | group.masked;
    for (size_t i = 1; i < box.count && !s.IsEmpty(); ++i) {
      s &= space_.Term(FieldOf(box.parts[i].field), box.parts[i].term);
    }
    sets.push_back(std::move(s));
  }
  return UnionAll(space_, std::move(sets));
}

}  // namespace mamori::netsep
