#include "netsep/shadow.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "netsep/evaluator.h"

namespace mamori::netsep {
namespace {

// `by` names at most this many rules, then "…".
constexpr size_t kMaxBy = 8;

// One configuration line (or nft rule): dead when every model rule made from it is, leaving out
// the rules the parser implied (a FortiGate policy's copy in the source-NAT chain).
struct LineState {
  bool dead = true;
  std::vector<std::string> by;  // in order, without repeats
  bool more = false;
  const SourceLocation* location = nullptr;
};

class ShadowFinder {
 public:
  ShadowFinder(const Evaluator& eval, const InterfaceClasses& classes, HeaderOnlyChains header_only)
      : space_(eval.space()), eval_(eval), classes_(classes), header_only_(header_only) {
    const Set no_ports = space_.Value(Field::kSport, 0) & space_.Value(Field::kDport, 0);
    headers_ = (eval_.l4() | no_ports) & (eval_.icmp() | space_.Value(Field::kIcmpType, 0));
    contexts_ = classes_.Any(space_, Field::kInInterface) &
                classes_.Any(space_, Field::kOutInterface) & AnyConnState(space_);
    universe_ = contexts_ & headers_;
    ctx_.classes = &classes_;
  }

  void Run(const Ruleset& ruleset) {
    for (const Table& table : ruleset.tables) {
      // No rule jumps to a built-in chain: what it keeps is not needed.
      for (const Chain& chain : table.chains) {
        bool reduced = false;
        Walk(table, chain, !chain.builtin, &reduced);
      }
    }
  }

  std::unordered_map<std::string, LineState>& lines() { return lines_; }

 private:
  struct Walked;
  // A goto's packets (`live`) to the chain of `walked` (nullptr: a chain on a loop), walked
  // over the headers alone for a caller over every context when `in_contexts`: what that chain
  // does not keep of them returns to the caller's caller.
  struct Goto {
    Set live;
    Walked* walked;
    bool in_contexts;
  };
  // A chain walked with its decisions kept, for the packets it keeps from its callers.
  struct Walked {
    std::unique_ptr<Undecided> undecided;  // until `kept` is built
    Set returned;
    // What host rules RETURN, by address pair: joined to `returned` when `kept` is built.
    std::vector<Space::AddressPart> returned_hosts;
    // What comes back from the chains gone to: joined to `returned` when `kept` is built.
    std::vector<Goto> returned_gotos;
    std::optional<Set> kept;
  };

  // The packets the chain of `walked` keeps from its caller: those its rules decide and do not
  // give back (RETURN or the end of the chain give the rest back), built when first asked for
  // (most callers never need them: a jump's decided set is built only when a later rule meets
  // it). Nothing for a chain on a loop (nullptr: its jump decides nothing).
  Set Kept(Walked* walked) {
    if (walked == nullptr) return space_.None();
    if (!walked->kept) {
      Set returned = walked->returned;
      if (!walked->returned_hosts.empty()) {
        returned |= space_.AddressPaths(std::move(walked->returned_hosts));
        walked->returned_hosts.clear();
      }
      for (const Goto& g : walked->returned_gotos) {
        returned |= g.live - (g.in_contexts ? KeptInContexts(g.walked, true) : Kept(g.walked));
      }
      walked->returned_gotos.clear();
      walked->kept = walked->undecided->Decided() - returned;
      walked->undecided.reset();
    }
    return *walked->kept;
  }

  // Walks `chain` once; with `kept`, what it keeps is then available through Kept() (over
  // every interface and state, or over the headers alone when it is walked so: `reduced`).
  Walked* Walk(const Table& table, const Chain& chain, bool kept, bool* reduced) {
    *reduced = HeaderOnly(table, chain);
    return WalkIn(table, chain, kept, *reduced);
  }

  // What `walked` (walked over the headers alone when `reduced`) keeps, for a caller walked over
  // every interface and state: a chain walked over the headers alone keeps the same headers in
  // every context.
  Set KeptInContexts(Walked* walked, bool reduced) {
    const Set out = Kept(walked);
    return reduced ? contexts_ & out : out;
  }

  // Walk over the headers alone (`reduced`: every packet's interfaces and state left out, the
  // kept set too) or over the whole universe. nullptr when `kept` is not set or the chain is on
  // a loop.
  Walked* WalkIn(const Table& table, const Chain& chain, bool kept, bool reduced) {
    if (auto it = walked_.find(&chain);
        it != walked_.end() && (it->second.undecided || it->second.kept || !kept)) {
      return kept ? &it->second : nullptr;
    }
    if (!walking_.insert(&chain).second) return nullptr;
    const Set& universe = reduced ? headers_ : universe_;
    auto walk = std::make_unique<Undecided>(universe);
    Undecided& undecided = *walk;
    Set returned = space_.None();
    std::vector<Space::AddressPart> returned_hosts;  // joined to `returned` only when needed
    std::vector<Goto> returned_gotos;                // likewise
    for (const Rule& rule : chain.rules) {
      bool may = false;
      const std::optional<HostMatch> host = eval_.HostMatchOf(rule, ctx_, may);
      Set match;
      const Box box = Evaluator::MatchBox(rule);
      if (!host) {
        match = eval_.MatchSet(rule, ctx_, may);
        if (!may && match.IsFull() && DecidesAll(table, rule, reduced)) {
          // A rule that matches every packet and decides all it gets (a verdict, or a jump to
          // a chain that keeps everything, as a final jump to a log-and-drop chain) decides
          // what is left, which is never built: whether anything is left is found by a search.
          const bool live_empty = undecided.RestIsEmpty(space_);
          Note(rule, match, box, live_empty, undecided, universe, nullptr);
          if (!live_empty) undecided.DecideRest(&rule);
          continue;
        }
      }
      // A host rule (no jump): its undecided packets with the addresses fixed; its match set
      // built only where needed (the general path, naming the rules that shadow it when their
      // sets cannot be cut at its pair), its live set never (what it RETURNs joins the others as
      // one tree when the chain's kept set is built).
      std::optional<Set> lower;
      if (host) {
        lower = undecided.MeetHost(space_, *host, box);
        if (!lower) match = space_.AddressPath(host->src, host->dst, host->lower);
      }
      Set live;  // never built for a host rule: `lower` holds its packets
      if (!lower) live = undecided.Meet(match, box);
      const bool live_empty = lower ? lower->IsEmpty() : live.IsEmpty();
      Note(rule, match, box, live_empty, undecided, universe, lower ? &*host : nullptr);
      if (live_empty) continue;
      if (lower) {
        switch (rule.action.kind) {
          case ActionKind::kContinue:
          case ActionKind::kUnknown:
            break;
          case ActionKind::kReturn:
            returned_hosts.push_back({AddressPairKey(host->src, host->dst), *lower});
            if (!may) undecided.DecideHost(space_, &rule, *host, *lower, Set(), box);
            break;
          default:  // a verdict or a NAT rewrite: ends the chain (never a jump)
            if (!may) undecided.DecideHost(space_, &rule, *host, *lower, Set(), box);
            break;
        }
        continue;
      }
      Set decided = space_.None();
      switch (rule.action.kind) {
        case ActionKind::kContinue:
        case ActionKind::kUnknown:
          break;
        case ActionKind::kReturn:
          returned |= live;
          decided = live;
          break;
        case ActionKind::kJump:
        case ActionKind::kGoto: {
          const Chain* target = eval_.Target(table, rule);
          if (target == nullptr) break;  // the reachability check reports it
          // A chain walked over the headers alone calls only such chains.
          bool target_reduced = true;
          Walked* walked = reduced ? WalkIn(table, *target, true, true)
                                   : Walk(table, *target, true, &target_reduced);
          const bool in_contexts = !reduced && target_reduced;
          if (rule.action.kind == ActionKind::kGoto) {
            // What the chain gone to does not keep returns to this chain's caller: built only
            // when this chain's kept set is (Kept).
            returned_gotos.push_back(Goto{live, walked, in_contexts});
            decided = live;
            break;
          }
          if (may || walked == nullptr) continue;  // decides nothing
          // What the called chain keeps of `live`, built when something needs it.
          undecided.Decide(
              &rule, match,
              [this, live, walked, in_contexts] {
                return live & (in_contexts ? KeptInContexts(walked, true) : Kept(walked));
              },
              box);
          continue;
        }
        default:  // a verdict or a NAT rewrite: ends the chain
          decided = live;
          break;
      }
      if (may || decided.IsEmpty()) continue;
      undecided.Decide(&rule, match, std::move(decided), box);
    }
    walking_.erase(&chain);
    Walked& out = walked_[&chain];
    out = Walked{};
    if (!kept) return nullptr;
    out.undecided = std::move(walk);
    out.returned = std::move(returned);
    out.returned_hosts = std::move(returned_hosts);
    out.returned_gotos = std::move(returned_gotos);
    return &out;
  }

  // Whether `rule` decides every packet it gets: a verdict or a NAT rewrite, or a jump or goto
  // to a chain that keeps every packet (of the headers alone when `reduced`).
  bool DecidesAll(const Table& table, const Rule& rule, bool reduced) {
    switch (rule.action.kind) {
      case ActionKind::kContinue:
      case ActionKind::kUnknown:
      case ActionKind::kReturn:
        return false;
      case ActionKind::kJump:
      case ActionKind::kGoto: {
        const Chain* target = eval_.Target(table, rule);
        if (target == nullptr) return false;
        if (reduced) return Kept(WalkIn(table, *target, true, true)) == headers_;
        bool target_reduced = false;
        Walked* walked = Walk(table, *target, true, &target_reduced);
        return (target_reduced ? KeptInContexts(walked, true) : Kept(walked)) == universe_;
      }
      default:
        return true;
    }
  }

  // Whether no rule of `chain`, nor of a chain it calls, tests the interfaces or the state: its
  // walk then gives the same results over the headers alone (every set of the walk is the
  // contexts times a set of headers), and sets of fewer nodes. A chain on a loop is not.
  bool HeaderOnly(const Table& table, const Chain& chain) {
    if (header_only_ != HeaderOnlyChains::kReduced) return false;
    if (auto it = header_only_memo_.find(&chain); it != header_only_memo_.end()) return it->second;
    header_only_memo_[&chain] = false;  // while it is examined: a loop back to it is not
    bool only = true;
    for (const Rule& rule : chain.rules) {
      for (const Match& m : rule.matches) {
        if (m.kind == MatchKind::kInInterface || m.kind == MatchKind::kOutInterface ||
            m.kind == MatchKind::kConnState) {
          only = false;
        }
      }
      if (only &&
          (rule.action.kind == ActionKind::kJump || rule.action.kind == ActionKind::kGoto)) {
        const Chain* target = eval_.Target(table, rule);
        only = target == nullptr || HeaderOnly(table, *target);
      }
      if (!only) break;
    }
    header_only_memo_[&chain] = only;
    return only;
  }

  // `host`: the rule is a host rule decided with its addresses fixed, and `match` is left empty
  // (its path is built here only if the earlier sets cannot be cut at its address pair).
  void Note(const Rule& rule, Set match, const Box& box, bool live_empty,
            const Undecided& undecided, const Set& universe, const HostMatch* host) {
    if (rule.implied) return;  // neither reported nor keeping its line alive
    LineState& line = lines_[rule.location.ToString()];
    if (line.location == nullptr) line.location = &rule.location;
    if (!line.dead) return;
    if (!live_empty) {
      line.dead = false;
      return;
    }
    std::optional<std::vector<const Rule*>> deciders;
    if (host != nullptr) {
      // The rules that shadow it, found with the addresses fixed: the universe and every
      // earlier set cut at its pair (the universe tests no address when the walk cut its input).
      const std::optional<Set> cut = space_.AddressCofactor(universe, host->src, host->dst);
      if (cut) {
        const Set lower = *cut & host->lower;
        if (lower.IsEmpty()) return;  // empty on its own: no rule to name
        deciders = undecided.DecidersHost(space_, *host, lower, kMaxBy, box);
      }
      if (!deciders) match = space_.AddressPath(host->src, host->dst, host->lower);
    }
    if (!deciders) {
      const Set m = universe & match;
      if (m.IsEmpty()) return;  // empty on its own: no rule to name
      deciders = undecided.Deciders(space_, m, kMaxBy, box);
    }
    for (const Rule* by : *deciders) {
      const std::string name = by->location.ToString();
      if (std::find(line.by.begin(), line.by.end(), name) != line.by.end()) continue;
      if (line.by.size() == kMaxBy) {
        line.more = true;
        break;
      }
      line.by.push_back(name);
    }
  }

  const Space& space_;
  const Evaluator& eval_;
  const InterfaceClasses& classes_;
  const HeaderOnlyChains header_only_;
  Context ctx_;
  Set headers_;   // every header of the space
  Set contexts_;  // every interface class pair and state
  Set universe_;  // contexts_ & headers_
  std::map<const Chain*, bool> header_only_memo_;
  std::map<const Chain*, Walked> walked_;  // without undecided or kept: walked without `kept`
  std::set<const Chain*> walking_;
  std::unordered_map<std::string, LineState> lines_;
};

}  // namespace

std::vector<Shadowed> FindShadowed(const Space& space, const Ruleset& ruleset,
                                   const std::string& device, HeaderOnlyChains header_only) {
  const Evaluator eval(space);
  return FindShadowed(eval, ruleset, device, header_only);
}

std::vector<Shadowed> FindShadowed(const Evaluator& eval, const Ruleset& ruleset,
                                   const std::string& device, HeaderOnlyChains header_only) {
  const std::optional<InterfaceClasses> classes = InterfaceClasses::Of(ruleset);
  if (!classes) return {};
  ShadowFinder finder(eval, *classes, header_only);
  finder.Run(ruleset);
  std::vector<const LineState*> dead;
  for (const auto& [name, line] : finder.lines()) {
    if (line.dead) dead.push_back(&line);
  }
  std::sort(dead.begin(), dead.end(), [](const LineState* a, const LineState* b) {
    return std::tie(a->location->file, a->location->line, a->location->detail) <
           std::tie(b->location->file, b->location->line, b->location->detail);
  });
  std::vector<Shadowed> out;
  for (const LineState* line : dead) {
    std::string by;
    for (const std::string& name : line->by) by += by.empty() ? name : ", " + name;
    if (line->more) by += ", …";
    out.push_back({device, line->location->ToString(), by});
  }
  return out;
}

}  // namespace mamori::netsep
