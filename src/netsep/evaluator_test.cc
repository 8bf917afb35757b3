#include "netsep/evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "netsep/shadow.h"

namespace mamori::netsep {
namespace {

// Undecided against the plain computation it replaces: the undecided packets are the input minus
// every decided set, whichever earlier rules' match sets meet the new one, with more rules than
// one union of the tree holds (16) so that several levels are searched.
TEST(UndecidedTest, AgreesWithSubtractingEveryDecidedSet) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  std::mt19937 random(11);
  const Set in = s.Range(Field::kDst, 0x0a000000, 0x0a00ffff) & s.Value(Field::kProto, 6);
  std::vector<Rule> rules(300);
  Undecided undecided(in);
  Set plain = in;
  for (Rule& rule : rules) {
    // Hosts, /24s and port ranges inside and around the input.
    const uint32_t dst = 0x0a000000 + random() % 0x20000;
    Set match =
        random() % 5 == 0 ? s.Masked(Field::kDst, dst, 0xffffff00) : s.Value(Field::kDst, dst);
    if (random() % 2 == 0) {
      const uint64_t port = random() % 1000;
      match &= s.Range(Field::kDport, port, port + random() % 50);
    }
    const Set m = undecided.Meet(match);
    ASSERT_EQ(m, plain & match);
    if (random() % 3 != 0) {  // some rules decide nothing (LOG, may-match)
      undecided.Decide(&rule, match, m);
      plain -= m;
    }
  }
  EXPECT_EQ(undecided.Rest(), plain);
  EXPECT_NE(plain, in);
  EXPECT_EQ(undecided.Meet(s.All()), plain);  // every decided set at once
}

// DecideRest (a rule that decides every undecided packet, the set never built) against Decide
// with that set built: the same undecided packets, emptiness and deciding rules, on random rules
// of which a catch-all comes at a random point.
TEST(UndecidedTest, DecideRestAgreesWithDecidingTheRest) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  std::mt19937 random(23);
  int named = 0;
  for (int round = 0; round < 40; ++round) {
    const Set in = s.Range(Field::kDst, 0x0a000000, 0x0a0000ff) & s.Value(Field::kProto, 6);
    std::vector<Rule> rules(60);
    Undecided fast(in);
    Undecided plain(in);
    const size_t rest_at = random() % rules.size();
    for (size_t i = 0; i < rules.size(); ++i) {
      const uint32_t dst = 0x0a000000 + random() % 0x180;
      Set match =
          random() % 3 == 0 ? s.Masked(Field::kDst, dst, 0xfffffff0) : s.Value(Field::kDst, dst);
      if (random() % 2 == 0) match &= s.Range(Field::kDport, random() % 20, random() % 40);
      if (i == rest_at) {
        EXPECT_EQ(fast.RestIsEmpty(s), plain.Rest().IsEmpty());
        plain.Decide(&rules[i], s.All(), plain.Rest());
        fast.DecideRest(&rules[i]);
        continue;
      }
      if (i < rest_at && random() % 7 == 0) {  // some cover everything before the catch-all
        match = s.All();
      }
      const Set m = plain.Meet(match);
      EXPECT_EQ(fast.Meet(match), m);
      EXPECT_EQ(fast.RestIsEmpty(s), plain.Rest().IsEmpty());
      // A later rule's deciders: the catch-all among them when it decided some of its packets.
      const std::vector<const Rule*> by = plain.Deciders(s, in & match, 8);
      EXPECT_EQ(fast.Deciders(s, in & match, 8), by) << round << " " << i;
      if (i > rest_at && std::find(by.begin(), by.end(), &rules[rest_at]) != by.end()) ++named;
      if (!m.IsEmpty()) {
        plain.Decide(&rules[i], match, m);
        fast.Decide(&rules[i], match, m);
      }
    }
    EXPECT_EQ(fast.Rest(), plain.Rest());
    EXPECT_EQ(fast.Decided(), plain.Decided());
  }
  EXPECT_GT(named, 20);
}

// DecidersHost (a host rule's deciders found with its addresses fixed) against Deciders on the
// rule's whole set: the same rules in the same order, up to the limit, with the catch-all of
// DecideRest, through the index (few other rules) and through the tree (many); and Meet, with
// host rules among the earlier ones, against the plain subtraction.
TEST(UndecidedTest, DecidersHostAgreesWithDeciders) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  std::mt19937 random(29);
  auto address_box = [](uint32_t src, uint32_t dst) {
    Box box;
    box.range[0] = {src, src};
    box.range[1] = {dst, dst};
    return box;
  };
  int named = 0;
  int rest_named = 0;
  for (int round = 0; round < 24; ++round) {
    const Set in = s.Range(Field::kDport, 0, 60 + random() % 40);
    const size_t general_every = round % 2 == 0 ? 2 : 9;  // many or few rules that are not hosts
    std::vector<Rule> rules(200);
    Undecided undecided(in);
    Set decided;                                       // every decided set, joined
    std::vector<std::pair<const Rule*, Set>> history;  // each rule's decided set, in order
    const size_t rest_at = round % 3 == 0 ? random() % rules.size() : rules.size();
    for (size_t i = 0; i < rules.size(); ++i) {
      const uint32_t src = 0x0a000000 + random() % 4;
      const uint32_t dst = 0x0a010000 + random() % 4;
      const uint64_t port = random() % 80;
      const HostMatch host{src, dst, s.Range(Field::kDport, port, port + random() % 30)};
      const Set path = s.AddressPath(src, dst, host.lower);
      // Its deciders before it is decided, as the shadowed-rule walk asks for them.
      for (size_t limit : {size_t{2}, size_t{8}}) {
        const std::optional<std::vector<const Rule*>> got =
            undecided.DecidersHost(s, host, host.lower, limit, address_box(src, dst));
        ASSERT_TRUE(got.has_value());
        const std::vector<const Rule*> want =
            undecided.Deciders(s, path, limit, address_box(src, dst));
        EXPECT_EQ(*got, want) << round << " " << i;
        // The plain answer: the decided sets in order, then the catch-all's share.
        std::vector<const Rule*> plain;
        for (const auto& [rule, set] : history) {
          if (plain.size() <= limit && set.Meets(path)) plain.push_back(rule);
        }
        if (i > rest_at && plain.size() <= limit && !((in & path) - decided).IsEmpty()) {
          plain.push_back(&rules[rest_at]);
        }
        EXPECT_EQ(want, plain) << round << " " << i;
        named += want.empty() ? 0 : 1;
        rest_named += !want.empty() && want.back() == &rules[rest_at] ? 1 : 0;
      }
      if (i == rest_at) {
        undecided.DecideRest(&rules[i]);
        continue;
      }
      if (i % general_every == 0) {
        // Meet, whose earlier host rules' decided sets join as one tree, against the plain
        // subtraction.
        const Set match = s.Masked(Field::kDst, dst, 0xfffffffc) &
                          s.Range(Field::kDport, port, port + random() % 30);
        const Set m = undecided.Meet(match);
        EXPECT_EQ(m, i > rest_at ? s.None() : (in - decided) & match) << round << " " << i;
        if (!m.IsEmpty()) undecided.Decide(&rules[i], match, m);
        decided |= m;
        history.emplace_back(&rules[i], m);
        continue;
      }
      const std::optional<Set> lower = undecided.MeetHost(s, host, address_box(src, dst));
      ASSERT_TRUE(lower.has_value());
      if (!lower->IsEmpty()) {
        undecided.DecideHost(s, &rules[i], host, *lower, Set(), address_box(src, dst));
        decided |= s.AddressPath(src, dst, *lower);
        history.emplace_back(&rules[i], s.AddressPath(src, dst, *lower));
      }
    }
  }
  EXPECT_GT(named, 500);
  EXPECT_GT(rest_named, 20);
  EXPECT_FALSE(s.failed());
}

// Deciders names the rules whose decided packets meet a set, in rule order, up to the limit.
TEST(UndecidedTest, NamesTheDecidingRulesInOrder) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  std::vector<Rule> rules(40);
  Undecided undecided(s.All());
  for (size_t i = 0; i < rules.size(); ++i) {
    const Set match = s.Value(Field::kDport, i);  // each rule decides its own port
    undecided.Decide(&rules[i], match, undecided.Meet(match));
  }
  const Set ports = s.Range(Field::kDport, 3, 5) | s.Value(Field::kDport, 33);
  EXPECT_EQ(undecided.Deciders(s, ports, 8),
            (std::vector<const Rule*>{&rules[3], &rules[4], &rules[5], &rules[33]}));
  EXPECT_EQ(undecided.Deciders(s, s.Range(Field::kDport, 0, 39), 2).size(), 3u);  // limit + 1
  EXPECT_TRUE(undecided.Deciders(s, s.Value(Field::kDport, 80), 8).empty());
  EXPECT_EQ(undecided.Rest(), s.Range(Field::kDport, 40, 65535));
}

// The set of the packets within `box`.
Set BoxSet(const Space& s, const Box& box) {
  Set out = s.All();
  for (size_t i = 0; i < box.range.size(); ++i) {
    out &= s.Range(Box::kFields[i], box.range[i].lo, box.range[i].hi);
  }
  return out;
}

// Random rules over a small corner of the header space, so that they overlap: addresses (hosts,
// prefixes, non-contiguous masks, ranges, negated), protocols, ports (source, destination,
// either, negated), ICMP types, interfaces and states, constants and matches not modelled.
class RandomRules {
 public:
  explicit RandomRules(uint32_t seed) : random_(seed) {}

  std::vector<Match> Matches() {
    std::vector<Match> out;
    const int count = static_cast<int>(random_() % 16 == 0 ? 0 : 1 + random_() % 3);
    for (int i = 0; i < count; ++i) out.push_back(OneMatch());
    return out;
  }
  uint32_t Next() { return static_cast<uint32_t>(random_()); }

 private:
  ValueTerm Term(uint64_t base, uint64_t span) {
    const uint64_t a = base + random_() % span;
    switch (random_() % 3) {
      case 0:
        return ValueTerm::Range(a, a);
      case 1:
        return ValueTerm::Range(a, a + random_() % (span / 2 + 1));
      default:
        return ValueTerm::Masked(a, random_() % 2 == 0 ? ~uint64_t{0} << (random_() % 8)
                                                       : ~uint64_t{0} ^ (uint64_t{1} << 3));
    }
  }
  Match OneMatch() {
    Match m;
    m.negated = random_() % 6 == 0;
    const int terms = 1 + static_cast<int>(random_() % 2);
    switch (random_() % 10) {
      case 0:
      case 1:
        m.kind = random_() % 2 == 0 ? MatchKind::kSrcAddress : MatchKind::kDstAddress;
        for (int i = 0; i < terms; ++i) m.terms.push_back(Term(0x0a000000, 64));
        break;
      case 2:
        m.kind = MatchKind::kProtocol;
        m.terms.push_back(ValueTerm::Range(random_() % 2 == 0 ? 6 : 17, 17));
        break;
      case 3:
      case 4:
        m.kind = std::array{MatchKind::kSrcPort, MatchKind::kDstPort,
                            MatchKind::kEitherPort}[random_() % 3];
        for (int i = 0; i < terms; ++i) m.terms.push_back(Term(20, 40));
        break;
      case 5:
        m.kind = MatchKind::kIcmpType;
        m.terms.push_back(ValueTerm::Range(random_() % 10, 9));
        break;
      case 6:
        m.kind = random_() % 2 == 0 ? MatchKind::kInInterface : MatchKind::kOutInterface;
        m.interfaces = {std::array{"eth0", "eth1", "eth+"}[random_() % 3]};
        break;
      case 7:
        m.kind = MatchKind::kConnState;
        m.conn_states = random_() % 2 == 0 ? kCtNew : kCtEstablished | kCtDnat;
        break;
      case 8:
        m.kind = MatchKind::kConstant;
        m.constant = random_() % 2 == 0;
        m.always = random_() % 2 == 0;
        break;
      default:
        m.kind = MatchKind::kMayMatch;
        break;
    }
    return m;
  }

  std::mt19937 random_;
};

// A rule's box holds its match set in any context.
TEST(EvaluatorTest, MatchBoxHoldsTheMatchSet) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  const Evaluator eval(s);
  RandomRules random(5);
  const std::string eth0 = "eth0";
  const std::string eth1 = "eth1";
  Context ctx{&eth0, &eth1};
  int bounded = 0;
  for (int i = 0; i < 2000; ++i) {
    Rule rule;
    rule.matches = random.Matches();
    bool may = false;
    const Set match = eval.MatchSet(rule, ctx, may);
    const Box box = Evaluator::MatchBox(rule);
    EXPECT_TRUE((match - BoxSet(s, box)).IsEmpty()) << i;
    bounded += BoxSet(s, box).IsFull() ? 0 : 1;
  }
  EXPECT_GT(bounded, 1000);
}

// A rule's match set (its single addresses and prefixes put directly on top of its other
// matches) is the intersection of the sets of its matches, each built on its own, in every
// context.
TEST(EvaluatorTest, MatchSetAgreesWithTheIntersectionOfItsMatches) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  const Evaluator eval(s);
  RandomRules random(31);
  const std::string eth0 = "eth0";
  const std::string eth1 = "eth1";
  const Context ctx{&eth0, &eth1};
  int stacked = 0;
  for (int i = 0; i < 3000; ++i) {
    Rule rule;
    rule.matches = random.Matches();
    // Rules of host pairs, as most of a large rule set: a source and a destination address.
    if (i % 2 == 0) {
      for (MatchKind kind : {MatchKind::kSrcAddress, MatchKind::kDstAddress}) {
        Match m;
        m.kind = kind;
        const uint64_t host = 0x0a000000 + random.Next() % 64;
        m.terms.push_back(random.Next() % 2 == 0 ? ValueTerm::Range(host, host)
                                                 : ValueTerm::Masked(host, ~uint64_t{0} << 3));
        rule.matches.insert(rule.matches.begin() + random.Next() % (rule.matches.size() + 1), m);
      }
    }
    Set expected = s.All();
    for (const Match& m : rule.matches) {
      Rule one;
      one.matches = {m};
      bool may = false;
      expected &= eval.MatchSet(one, ctx, may);
    }
    bool may = false;
    EXPECT_EQ(eval.MatchSet(rule, ctx, may), expected) << i;
    stacked += expected.IsEmpty() || expected.IsFull() ? 0 : 1;
  }
  EXPECT_GT(stacked, 1500);
  EXPECT_FALSE(s.failed());
}

// The shadowed-rule walk of the chains that never test the interfaces or the state, over the
// headers alone, finds what the walk over every interface and state finds: random tables of
// user chains that jump and go to each other (now and then in a loop), some of whose rules test
// interfaces and states, the chains that call them too.
TEST(ShadowTest, HeaderOnlyChainsAgreeWithTheFullWalk) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  RandomRules random(41);
  int shadowed = 0;
  int reduced_tables = 0;
  for (int round = 0; round < 60; ++round) {
    Ruleset ruleset;
    ruleset.tables.push_back(Table{"filter", {}});
    Table& table = ruleset.tables[0];
    const int chains = 2 + static_cast<int>(random.Next() % 6);
    uint32_t line = 1;
    bool any_contextual = false;
    for (int c = 0; c < chains; ++c) {
      Chain chain;
      chain.name = c == 0 ? "FORWARD" : "U" + std::to_string(c);
      chain.builtin = c == 0;
      chain.policy = c == 0 ? ActionKind::kDrop : ActionKind::kReturn;
      // Later chains test only headers unless this one is picked to test contexts.
      const bool contextual = random.Next() % 3 == 0;
      const int rules = static_cast<int>(random.Next() % 12);
      for (int r = 0; r < rules; ++r) {
        Rule rule;
        rule.location = SourceLocation{"fw", line++, ""};
        const bool context_only = contextual && random.Next() % 3 == 0;
        if (context_only) {
          // Only an interface or a state, either way round: such rules together decide every
          // header, which the walk over the headers alone would not see.
          Match m;
          m.negated = random.Next() % 2 == 0;
          if (random.Next() % 2 == 0) {
            m.kind = random.Next() % 2 == 0 ? MatchKind::kInInterface : MatchKind::kOutInterface;
            m.interfaces = {random.Next() % 2 == 0 ? "eth0" : "eth+"};
          } else {
            m.kind = MatchKind::kConnState;
            m.conn_states = random.Next() % 2 == 0 ? kCtNew : kCtEstablished | kCtRelated;
          }
          rule.matches.push_back(std::move(m));
          any_contextual = true;
        }
        for (Match& m : context_only ? std::vector<Match>{} : random.Matches()) {
          const bool tests_context = m.kind == MatchKind::kInInterface ||
                                     m.kind == MatchKind::kOutInterface ||
                                     m.kind == MatchKind::kConnState;
          if (tests_context && !contextual) continue;
          any_contextual = any_contextual || tests_context;
          rule.matches.push_back(std::move(m));
        }
        const uint32_t pick = random.Next() % 10;
        if (pick < 3 && c + 1 < chains) {  // a later chain, or now and then any (a loop)
          const int target = random.Next() % 8 == 0
                                 ? 1 + static_cast<int>(random.Next() % (chains - 1))
                                 : c + 1 + static_cast<int>(random.Next() % (chains - c - 1));
          rule.action.kind = random.Next() % 3 == 0 ? ActionKind::kGoto : ActionKind::kJump;
          rule.action.chain = "U" + std::to_string(target);
        } else {
          rule.action.kind =
              std::array{ActionKind::kAccept,   ActionKind::kDrop,   ActionKind::kReturn,
                         ActionKind::kContinue, ActionKind::kReject, ActionKind::kAccept}[pick % 6];
        }
        chain.rules.push_back(std::move(rule));
      }
      table.chains.push_back(std::move(chain));
    }
    reduced_tables += any_contextual ? 0 : 1;
    const std::vector<Shadowed> full = FindShadowed(s, ruleset, "fw", HeaderOnlyChains::kFull);
    const std::vector<Shadowed> reduced =
        FindShadowed(s, ruleset, "fw", HeaderOnlyChains::kReduced);
    ASSERT_EQ(reduced.size(), full.size()) << round;
    for (size_t i = 0; i < full.size(); ++i) {
      EXPECT_EQ(reduced[i].rule, full[i].rule) << round;
      EXPECT_EQ(reduced[i].by, full[i].by) << round;
    }
    shadowed += static_cast<int>(full.size());
  }
  EXPECT_GT(shadowed, 100);
  EXPECT_GT(reduced_tables, 5);
  EXPECT_FALSE(s.failed());
}

// With Memo::kRules (and kRepeated, from its second use), a rule's match set (its part outside the
// context built once, the interfaces, states and constants joined each time) is the plain one, in
// every context: the forwarding walk's interface names and states, and the shadowed-rule walk's
// classes.
TEST(EvaluatorTest, MatchSetMemoAgreesWithThePlainBuild) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  RandomRules random(29);
  std::vector<Rule> rules(500);
  Ruleset ruleset;
  ruleset.tables.push_back(Table{"filter", {}});
  ruleset.tables[0].chains.push_back(Chain{});
  for (Rule& rule : rules) {
    rule.matches = random.Matches();
    ruleset.tables[0].chains[0].rules.push_back(rule);
  }
  const std::optional<InterfaceClasses> classes = InterfaceClasses::Of(ruleset);
  ASSERT_TRUE(classes.has_value());
  const std::string eth0 = "eth0";
  const std::string eth1 = "eth1";
  std::vector<Context> contexts = {Context{&eth0, &eth1}, Context{&eth1, &eth0, true},
                                   Context{&eth0, &eth0, false, true}};
  contexts.push_back(Context{});
  contexts.back().classes = &*classes;
  const Evaluator plain(s);
  const Evaluator memo(s, Evaluator::Memo::kRules);
  const Evaluator repeated(s, Evaluator::Memo::kRepeated);  // kept from the second use on
  int nonempty = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (const Context& ctx : contexts) {
      for (const Rule& rule : rules) {
        bool plain_may = false;
        bool memo_may = false;
        bool repeated_may = false;
        const Set expected = plain.MatchSet(rule, ctx, plain_may);
        EXPECT_EQ(memo.MatchSet(rule, ctx, memo_may), expected);
        EXPECT_EQ(repeated.MatchSet(rule, ctx, repeated_may), expected);
        if (!expected.IsEmpty()) {
          EXPECT_EQ(memo_may, plain_may);
          EXPECT_EQ(repeated_may, plain_may);
          ++nonempty;
        }
      }
    }
  }
  EXPECT_GT(nonempty, 2000);
}

// The plain walk the evaluator replaces: every decided set subtracted from what remains, the
// fallthrough built at the end of every chain, each rule's match set built where it is used.
struct PlainResult {
  std::map<std::tuple<ActionKind, const Rule*, const Chain*>, Set> outcomes;
  Set fallthrough;
};

PlainResult PlainEval(const Evaluator& eval, const Table& table, const Chain& chain, const Set& in,
                      const Context& ctx) {
  PlainResult out;
  Set remaining = in;
  for (const Rule& rule : chain.rules) {
    bool may = false;
    const Set m = remaining & eval.MatchSet(rule, ctx, may);
    if (m.IsEmpty()) continue;
    Set decided;
    switch (rule.action.kind) {
      case ActionKind::kContinue:
        break;
      case ActionKind::kReturn:
        out.fallthrough |= m;
        decided = m;
        break;
      case ActionKind::kJump:
      case ActionKind::kGoto: {
        PlainResult sub = PlainEval(eval, table, *table.FindChain(rule.action.chain), m, ctx);
        for (auto& [key, set] : sub.outcomes) out.outcomes[key] |= set;
        if (rule.action.kind == ActionKind::kGoto) {
          out.fallthrough |= sub.fallthrough;
          decided = m;
        } else {
          decided = m - sub.fallthrough;
        }
        break;
      }
      default:
        out.outcomes[{rule.action.kind, &rule, &chain}] |= m;
        decided = m;
        break;
    }
    if (!may) remaining -= decided;
  }
  out.fallthrough |= remaining;
  return out;
}

// The evaluator (its tree of decided sets with their boxes, its kept and fallthrough sets built
// when asked for, its match sets built once per rule) against the plain walk, on random tables
// of chains that jump, go to and return (each chain calls only later ones), each walked twice
// so that the second walk takes the match sets built by the first.
TEST(EvaluatorTest, EvalAgreesWithThePlainWalk) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  RandomRules random(9);
  const std::string eth0 = "eth0";
  const std::string eth1 = "eth1";
  int outcomes = 0;
  int discarded = 0;
  for (int round = 0; round < 60; ++round) {
    Table table;
    const int chains = 2 + static_cast<int>(random.Next() % 4);
    for (int c = 0; c < chains; ++c) {
      Chain chain;
      chain.name = "c" + std::to_string(c);
      const int rules = static_cast<int>(random.Next() % 60);
      for (int r = 0; r < rules; ++r) {
        Rule rule;
        rule.matches = random.Matches();
        const uint32_t roll = random.Next() % 10;
        if (roll < 3 && c + 1 < chains) {
          rule.action.kind = roll == 0 ? ActionKind::kGoto : ActionKind::kJump;
          rule.action.chain = "c" + std::to_string(c + 1 + random.Next() % (chains - c - 1));
        } else {
          rule.action.kind = std::array{
              ActionKind::kAccept,   ActionKind::kDrop, ActionKind::kReturn,
              ActionKind::kContinue, ActionKind::kDnat, ActionKind::kReject}[random.Next() % 6];
        }
        chain.rules.push_back(std::move(rule));
      }
      if (random.Next() % 2 == 0) {  // a catch-all at the end: a jump to the last chain, or DROP
        Rule rule;
        if (c + 1 < chains && random.Next() % 2 == 0) {
          rule.action.kind = ActionKind::kJump;
          rule.action.chain = "c" + std::to_string(chains - 1);
        } else {
          rule.action.kind = ActionKind::kDrop;
        }
        chain.rules.push_back(std::move(rule));
      }
      if (c == chains - 1 && random.Next() % 2 == 0) {  // the last chain logs and drops all
        chain.rules.clear();
        chain.rules.resize(2);  // kContinue, no match
        chain.rules[1].action.kind = ActionKind::kDrop;
      }
      table.chains.push_back(std::move(chain));
    }
    const Set in = s.Range(Field::kSrc, 0x0a000000, 0x0a00003f) &
                   s.Range(Field::kDst, 0x0a000000 + random.Next() % 16, 0x0a00003f);
    Context ctx{&eth0, random.Next() % 2 == 0 ? &eth1 : &eth0, random.Next() % 2 == 0};
    const Evaluator plain_eval(s);
    const PlainResult plain = PlainEval(plain_eval, table, table.chains[0], in, ctx);
    // With discards_unused, the same but for the DROP and REJECT outcomes, which may be left
    // out (a catch-all discarding rule ends its chain unbuilt).
    using Outcomes = std::map<std::tuple<ActionKind, const Rule*, const Chain*>, Set>;
    auto without_discards = [](Outcomes m) {
      std::erase_if(m, [](const auto& entry) {
        const ActionKind verdict = std::get<0>(entry.first);
        return verdict == ActionKind::kDrop || verdict == ActionKind::kReject;
      });
      return m;
    };
    // kRepeated: the first pass keeps no match set, the second keeps them, the third uses them.
    const Evaluator eval(s, round % 2 == 0 ? Evaluator::Memo::kRules : Evaluator::Memo::kRepeated);
    for (int pass = 0; pass < 3; ++pass) {
      ctx.discards_unused = pass == 2;
      Result<ChainResult> r = eval.Eval(table, table.chains[0], in, ctx, 0);
      ASSERT_TRUE(r.ok());
      Outcomes got;
      for (Outcome& o : r->outcomes) {
        EXPECT_TRUE(got.emplace(std::tuple{o.verdict, o.rule, o.chain}, o.Packets(s)).second);
      }
      if (ctx.discards_unused) {
        EXPECT_TRUE(without_discards(got) == without_discards(plain.outcomes)) << round;
      } else {
        EXPECT_TRUE(got == plain.outcomes) << "round " << round;
      }
      EXPECT_EQ(r->Fallthrough(), plain.fallthrough) << "round " << round;
      EXPECT_EQ(r->Kept(), in - plain.fallthrough) << "round " << round;
      outcomes += static_cast<int>(got.size());
      discarded += pass == 2 && got.size() < plain.outcomes.size() ? 1 : 0;
    }
  }
  EXPECT_GT(discarded, 5);  // the shortcut was taken
  EXPECT_GT(outcomes, 300) << outcomes;
}

// Rules of host pairs (one source and one destination address), as most of a large rule set,
// from a few addresses so that pairs repeat and RandomRules' broader address matches meet them;
// with the other matches of RandomRules (an address among them makes a general rule).
std::vector<Match> HostOrOtherMatches(RandomRules& random) {
  std::vector<Match> out = random.Matches();
  if (random.Next() % 4 == 0) return out;
  for (MatchKind kind : {MatchKind::kSrcAddress, MatchKind::kDstAddress}) {
    Match m;
    m.kind = kind;
    const uint64_t host = 0x0a000000 + random.Next() % 6;
    m.terms.push_back(random.Next() % 2 == 0 ? ValueTerm::Range(host, host)
                                             : ValueTerm::Masked(host, ~uint64_t{0}));
    out.insert(out.begin() + random.Next() % (out.size() + 1), m);
  }
  return out;
}

// Random chains of host rules and others that jump, go to and return; each chain calls only
// later ones. `long_chains`: chains of 150 to 300 rules, with more of the other rules than
// Undecided::MeetHost takes one by one.
Table RandomHostTable(RandomRules& random, bool long_chains = false) {
  Table table;
  const int chains = 2 + static_cast<int>(random.Next() % 4);
  uint32_t line = 1;
  for (int c = 0; c < chains; ++c) {
    Chain chain;
    chain.name = "c" + std::to_string(c);
    chain.builtin = c == 0;
    chain.policy = ActionKind::kDrop;
    const int rules =
        static_cast<int>(long_chains ? 150 + random.Next() % 150 : random.Next() % 50);
    for (int r = 0; r < rules; ++r) {
      Rule rule;
      rule.location = SourceLocation{"fw", line++, ""};
      rule.matches = HostOrOtherMatches(random);
      const uint32_t roll = random.Next() % 12;
      if (roll < 2 && c + 1 < chains) {
        rule.action.kind = roll == 0 ? ActionKind::kGoto : ActionKind::kJump;
        rule.action.chain = "c" + std::to_string(c + 1 + random.Next() % (chains - c - 1));
      } else {
        rule.action.kind = std::array{ActionKind::kAccept,   ActionKind::kDrop, ActionKind::kReturn,
                                      ActionKind::kContinue, ActionKind::kDnat, ActionKind::kReject,
                                      ActionKind::kAccept}[random.Next() % 7];
      }
      chain.rules.push_back(std::move(rule));
    }
    table.chains.push_back(std::move(chain));
  }
  return table;
}

// Eval with host rules decided with their addresses fixed (HostRules::kIndexed) against the
// general path (kGeneral), on inputs over the addresses (where the fixed addresses apply), over
// every field, and with the destination tied to its copy as sent (where they do not: the walk
// falls back), with and without discards_unused.
TEST(EvaluatorTest, HostRulesAgreeWithTheGeneralWalk) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  RandomRules random(77);
  const std::string eth0 = "eth0";
  const std::string eth1 = "eth1";
  int outcomes = 0;
  int hosts = 0;
  int host_outcomes = 0;
  for (int round = 0; round < 80; ++round) {
    const Table table = RandomHostTable(random, round % 8 == 7);
    const Set near = s.Range(Field::kSrc, 0x0a000000, 0x0a000003 + random.Next() % 8) &
                     s.Range(Field::kDst, 0x0a000000 + random.Next() % 3, 0x0a00003f) &
                     (s.Value(Field::kProto, 6) | s.Range(Field::kDport, 0, 30));
    const Set in = std::array{near, s.All(), near & s.Equal(Field::kDst, Field::kSentDst),
                              near - s.Value(Field::kSrc, 0x0a000001)}[round % 4];
    Context ctx{&eth0, random.Next() % 2 == 0 ? &eth1 : &eth0, random.Next() % 2 == 0};
    ctx.discards_unused = random.Next() % 2 == 0;
    const Evaluator general(s, Evaluator::Memo::kRules, Evaluator::HostRules::kGeneral);
    const Evaluator indexed(s,
                            round % 2 == 0 ? Evaluator::Memo::kNone : Evaluator::Memo::kRepeated);
    for (const Chain& chain : table.chains) {
      for (const Rule& rule : chain.rules) {
        bool may = false;
        hosts += indexed.HostMatchOf(rule, ctx, may) ? 1 : 0;
        EXPECT_FALSE(general.HostMatchOf(rule, ctx, may).has_value());
      }
    }
    Result<ChainResult> expected = general.Eval(table, table.chains[0], in, ctx, 0);
    Result<ChainResult> got = indexed.Eval(table, table.chains[0], in, ctx, 0);
    ASSERT_TRUE(expected.ok());
    ASSERT_TRUE(got.ok());
    using Outcomes = std::map<std::tuple<ActionKind, const Rule*, const Chain*>, Set>;
    Outcomes want;
    Outcomes have;
    for (Outcome& o : expected->outcomes) {
      EXPECT_FALSE(o.host.has_value());
      want[{o.verdict, o.rule, o.chain}] = o.Packets(s);
    }
    for (Outcome& o : got->outcomes) {
      host_outcomes += o.host ? 1 : 0;
      have[{o.verdict, o.rule, o.chain}] = o.Packets(s);
    }
    EXPECT_TRUE(have == want) << "round " << round;
    // Asked in either order: the union of the decided sets is kept once built.
    if (round % 2 == 0) {
      EXPECT_EQ(got->Fallthrough(), expected->Fallthrough()) << "round " << round;
      EXPECT_EQ(got->Kept(), expected->Kept()) << "round " << round;
    } else {
      EXPECT_EQ(got->Kept(), expected->Kept()) << "round " << round;
      EXPECT_EQ(got->Fallthrough(), expected->Fallthrough()) << "round " << round;
    }
    outcomes += static_cast<int>(want.size());
  }
  EXPECT_GT(hosts, 1000);
  EXPECT_GT(host_outcomes, 100);  // the fast path was taken
  EXPECT_GT(outcomes, 300);
  EXPECT_FALSE(s.failed());
}

// The shadowed-rule walk with host rules decided with their addresses fixed against the general
// path: the same rules, shadowed by the same rules, over the headers alone and over every
// interface and state.
TEST(ShadowTest, HostRulesAgreeWithTheGeneralWalk) {
  auto opened = Space::Open();
  ASSERT_TRUE(opened.ok());
  const Space& s = **opened;
  RandomRules random(83);
  int shadowed = 0;
  int named = 0;
  for (int round = 0; round < 80; ++round) {
    Ruleset ruleset;
    ruleset.tables.push_back(RandomHostTable(random, round % 8 == 7));
    ruleset.tables[0].name = "filter";
    for (Chain& chain : ruleset.tables[0].chains) {
      if (!chain.builtin) chain.policy = ActionKind::kReturn;
    }
    const Evaluator general(s, Evaluator::Memo::kNone, Evaluator::HostRules::kGeneral);
    const Evaluator indexed(s);
    for (HeaderOnlyChains mode : {HeaderOnlyChains::kReduced, HeaderOnlyChains::kFull}) {
      const std::vector<Shadowed> expected = FindShadowed(general, ruleset, "fw", mode);
      const std::vector<Shadowed> got = FindShadowed(indexed, ruleset, "fw", mode);
      ASSERT_EQ(got.size(), expected.size()) << round;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(got[i].rule, expected[i].rule) << round;
        EXPECT_EQ(got[i].by, expected[i].by) << round;
        named += expected[i].by.empty() ? 0 : 1;
      }
      shadowed += static_cast<int>(expected.size());
    }
  }
  EXPECT_GT(shadowed, 200);
  EXPECT_GT(named, 100);
  EXPECT_FALSE(s.failed());
}

}  // namespace
}  // namespace mamori::netsep
