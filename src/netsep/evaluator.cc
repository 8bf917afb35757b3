#include "netsep/evaluator.h"

#include <set>

#include "common/text.h"

namespace mamori::netsep {
namespace {

// iptables forbids loops; deeper nesting than this is taken for one.
constexpr int kMaxCallDepth = 64;
constexpr uint64_t kMaxInterfaceClasses = 0xffff;
constexpr uint32_t kBaseStates[] = {kCtNew, kCtEstablished, kCtRelated, kCtInvalid, kCtUntracked};

void Add(std::vector<Outcome>& outcomes, Outcome o) {
  for (Outcome& existing : outcomes) {
    if (existing.verdict == o.verdict && existing.rule == o.rule && existing.chain == o.chain) {
      existing.set |= o.set;
      return;
    }
  }
  outcomes.push_back(std::move(o));
}

bool IsStem(const std::string& pattern) { return !pattern.empty() && pattern.back() == '+'; }

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
  InterfaceClasses classes;
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

Evaluator::Evaluator(const Space& space) : space_(space) {
  l4_ = space_.Value(Field::kProto, kTcp) | space_.Value(Field::kProto, kUdp);
  icmp_ = space_.Value(Field::kProto, kIcmp);
}

Set Evaluator::MatchSet(const Rule& rule, const Context& ctx, bool& may) const {
  Set out = space_.All();
  may = false;
  for (const Match& m : rule.matches) {
    if (m.kind == MatchKind::kMayMatch ||
        (ctx.classes != nullptr && m.kind == MatchKind::kConstant && !m.always)) {
      may = true;
      continue;
    }
    out &= One(m, ctx);
    if (out.IsEmpty()) break;
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
        auto [it, fresh] = interface_sets_.try_emplace({static_cast<int>(field), m.interfaces});
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
  }
  return space_.All();
}

}  // namespace mamori::netsep
