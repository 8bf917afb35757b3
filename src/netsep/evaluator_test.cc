#include "netsep/evaluator.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

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
  EXPECT_EQ(undecided.Deciders(ports, 8),
            (std::vector<const Rule*>{&rules[3], &rules[4], &rules[5], &rules[33]}));
  EXPECT_EQ(undecided.Deciders(s.Range(Field::kDport, 0, 39), 2).size(), 3u);  // limit + 1
  EXPECT_TRUE(undecided.Deciders(s.Value(Field::kDport, 80), 8).empty());
  EXPECT_EQ(undecided.Rest(), s.Range(Field::kDport, 40, 65535));
}

}  // namespace
}  // namespace mamori::netsep
