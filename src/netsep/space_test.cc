#include "netsep/space.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace mamori::netsep {
namespace {

class SpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Space::Open();
    ASSERT_TRUE(opened.ok());
    space_ = std::move(opened).value();
  }
  std::unique_ptr<Space> space_;
};

// The node-by-node walks read BuDDy's node table directly with the libbdd the project builds
// with (Debian's 2.4: its layout is checked at Open), and through its functions when told to
// (EngineTest.HostRulesGiveTheGeneralPathsReport compares the two on whole checks).
TEST_F(SpaceTest, ReadsBuddysNodesDirectly) { EXPECT_TRUE(space_->direct_nodes()); }

TEST(SpaceOptionsTest, NodesReadThroughBuddysFunctionsWhenAsked) {
  SpaceOptions options;
  options.read_nodes_directly = false;
  auto opened = Space::Open(options);
  ASSERT_TRUE(opened.ok());
  EXPECT_FALSE((*opened)->direct_nodes());
}

// A random set over `fields`: each field left whole, a range or a bit pattern; complemented
// now and then.
Set RandomSet(const Space& s, std::mt19937& random, std::initializer_list<Field> fields) {
  Set out = s.All();
  for (Field f : fields) {
    if (random() % 3 == 0) continue;
    const uint64_t a = random() % (FieldMax(f) + 1);
    const uint64_t b = random() % (FieldMax(f) + 1);
    out &= random() % 2 == 0 ? s.Range(f, std::min(a, b), std::max(a, b))
                             : s.Masked(f, a, FieldMax(f) << (random() % 24));
  }
  return random() % 4 == 0 ? ~out : out;
}

TEST_F(SpaceTest, ConstantsAndBooleanAlgebra) {
  const Space& s = *space_;
  EXPECT_TRUE(s.None().IsEmpty());
  EXPECT_TRUE(s.All().IsFull());
  const Set a = s.Range(Field::kDport, 100, 200);
  const Set b = s.Range(Field::kDport, 150, 300);
  EXPECT_EQ(a & b, s.Range(Field::kDport, 150, 200));
  EXPECT_EQ(a | b, s.Range(Field::kDport, 100, 300));
  EXPECT_EQ(a - b, s.Range(Field::kDport, 100, 149));
  EXPECT_EQ(~a, s.Range(Field::kDport, 0, 99) | s.Range(Field::kDport, 201, 65535));
  EXPECT_TRUE((a - a).IsEmpty());
  EXPECT_TRUE((a | ~a).IsFull());
}

TEST_F(SpaceTest, RangesAtTheEdges) {
  const Space& s = *space_;
  EXPECT_TRUE(s.Range(Field::kSrc, 0, 0xffffffff).IsFull());
  EXPECT_TRUE(s.Range(Field::kProto, 9, 3).IsEmpty());
  EXPECT_EQ(s.Range(Field::kProto, 0, 1000), s.All());  // clamped to 255
  bool truncated = true;
  EXPECT_EQ(s.Values(s.Value(Field::kDst, 0xffffffff), Field::kDst, 4, &truncated),
            (std::vector<Interval>{{0xffffffff, 0xffffffff}}));
  EXPECT_FALSE(truncated);
  EXPECT_EQ(s.Values(s.Value(Field::kDport, 0), Field::kDport, 4, nullptr),
            (std::vector<Interval>{{0, 0}}));
}

TEST_F(SpaceTest, PrefixesAndMasks) {
  const Space& s = *space_;
  const Set net = s.Prefixes(Field::kSrc, {{0x0a000000, 8}});
  EXPECT_EQ(net, s.Range(Field::kSrc, 0x0a000000, 0x0affffff));
  // 10.0.0.0/255.0.255.0: non-contiguous; holds 10.1.0.9 but not 10.0.1.9.
  const Set odd = s.Masked(Field::kSrc, 0x0a000000, 0xff00ff00);
  EXPECT_FALSE((odd & s.Value(Field::kSrc, 0x0a010009)).IsEmpty());
  EXPECT_TRUE((odd & s.Value(Field::kSrc, 0x0a000109)).IsEmpty());
}

TEST_F(SpaceTest, ValuesListsMergedIntervalsAndTruncates) {
  const Space& s = *space_;
  const Set ports = s.Value(Field::kDport, 445) | s.Value(Field::kDport, 3389) |
                    s.Range(Field::kDport, 8000, 8080) | s.Range(Field::kDport, 8081, 8090);
  const Set mixed = ports & s.Value(Field::kProto, 6) & s.Range(Field::kSrc, 5, 9);
  bool truncated = true;
  EXPECT_EQ(s.Values(mixed, Field::kDport, 10, &truncated),
            (std::vector<Interval>{{445, 445}, {3389, 3389}, {8000, 8090}}));
  EXPECT_FALSE(truncated);
  EXPECT_EQ(s.Values(mixed, Field::kDport, 2, &truncated),
            (std::vector<Interval>{{445, 445}, {3389, 3389}}));
  EXPECT_TRUE(truncated);
  EXPECT_EQ(s.Values(mixed, Field::kSrc, 10, nullptr), (std::vector<Interval>{{5, 9}}));
  EXPECT_EQ(s.Min(mixed, Field::kDport), 445u);
  EXPECT_EQ(s.Min(s.None(), Field::kDport), std::nullopt);
  // Every other address: truncated quickly, no blow-up.
  const Set even = s.Masked(Field::kDst, 0, 1);
  EXPECT_EQ(s.Values(even, Field::kDst, 3, &truncated).size(), 3u);
  EXPECT_TRUE(truncated);
}

TEST_F(SpaceTest, ExistsAndRewrite) {
  const Space& s = *space_;
  const Set p = s.Value(Field::kDst, 42) & s.Value(Field::kDport, 8443);
  EXPECT_EQ(s.Exists(p, Field::kDst), s.Value(Field::kDport, 8443));
  const Set moved = s.Rewrite(p, Field::kDport, 443, 443);
  EXPECT_EQ(moved, s.Value(Field::kDst, 42) & s.Value(Field::kDport, 443));
}

TEST(SpaceSessionTest, SessionsFollowEachOther) {
  for (int i = 0; i < 3; ++i) {
    auto opened = Space::Open();
    ASSERT_TRUE(opened.ok());
    const Set a = (*opened)->Range(Field::kSrc, 1, 1000);
    EXPECT_FALSE(a.IsEmpty());
    EXPECT_FALSE((*opened)->failed());
  }
}

TEST(SpaceSessionTest, NodeLimitIsReportedNotFatal) {
  SpaceOptions options;
  options.initial_nodes = 1000;
  options.max_nodes = 2000;
  options.cache_size = 1000;
  auto opened = Space::Open(options);
  ASSERT_TRUE(opened.ok());
  Space& s = **opened;
  Set acc = s.None();
  for (uint64_t i = 0; i < 2000 && !s.failed(); ++i) {
    acc |= s.Value(Field::kSrc, i * 7919) & s.Value(Field::kDst, i * 104729);
  }
  EXPECT_TRUE(s.failed());
}

// Meets answers as the intersection does, over sets of several fields that share and do not
// share nodes (random ranges and prefixes from a fixed seed).
TEST_F(SpaceTest, MeetsAgreesWithTheIntersection) {
  const Space& s = *space_;
  std::mt19937 random(7);
  auto some = [&]() { return RandomSet(s, random, {Field::kDst, Field::kDport, Field::kSrc}); };
  int met = 0;
  for (int i = 0; i < 400; ++i) {
    const Set a = some();
    const Set b = some();
    EXPECT_EQ(a.Meets(b), !(a & b).IsEmpty());
    EXPECT_EQ(b.Meets(a), a.Meets(b));
    met += a.Meets(b) ? 1 : 0;
  }
  EXPECT_GT(met, 40);  // both answers occur
  EXPECT_LT(met, 360);
  EXPECT_FALSE(s.None().Meets(s.All()));
  EXPECT_TRUE(s.All().Meets(s.Value(Field::kProto, 6)));
}

// Covered answers as building the union does, on random sets and unions of several (some that
// cover, some that leave a member out), and gives up past its budget.
TEST_F(SpaceTest, CoveredAgreesWithTheUnion) {
  const Space& s = *space_;
  std::mt19937 random(19);
  auto some = [&]() {
    return RandomSet(s, random, {Field::kSrc, Field::kDst, Field::kProto, Field::kDport});
  };
  int covered = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<Set> parts;
    const int count = static_cast<int>(random() % 6);
    for (int j = 0; j < count; ++j) parts.push_back(some());
    Set all = s.None();
    for (const Set& p : parts) all |= p;
    // A set within the union half of the time.
    const Set set = random() % 2 == 0 ? some() & all : some();
    const std::optional<bool> answer = s.Covered(set, parts, 1'000'000);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(*answer, (set - all).IsEmpty()) << i;
    covered += *answer ? 1 : 0;
  }
  EXPECT_GT(covered, 50);
  EXPECT_LT(covered, 250);
  // The full set against many small parts that cover it: more steps than a budget of 10.
  std::vector<Set> halves;
  for (uint64_t port = 0; port < 64; ++port) {
    halves.push_back(s.Range(Field::kDport, port * 1024, port * 1024 + 1023));
  }
  EXPECT_FALSE(s.Covered(s.All(), halves, 10).has_value());
  EXPECT_EQ(s.Covered(s.All(), halves, 1'000'000), std::optional<bool>(true));
}

// A one-value range (built as a single path) is the value the general range construction gives
// as the meet of two two-value ranges.
TEST_F(SpaceTest, OneValueRangeAgreesWithTheGeneralRange) {
  const Space& s = *space_;
  std::mt19937 random(17);
  for (Field f : {Field::kSrc, Field::kDst, Field::kProto, Field::kDport, Field::kSentDport}) {
    for (uint64_t v : {uint64_t{1}, FieldMax(f) - 1, random() % (FieldMax(f) - 1) + 1}) {
      EXPECT_EQ(s.Value(f, v), s.Range(f, v - 1, v) & s.Range(f, v, v + 1));
    }
  }
}

// Range (its nodes made directly, at most two a level) against the comparison built an apply per
// bit (x >= lo and x <= hi from the least significant bit up), on every field width, with the
// field's whole range, one end at a bound, and values far apart and close together.
TEST_F(SpaceTest, RangeAgreesWithTheBitwiseComparison) {
  const Space& s = *space_;
  std::mt19937_64 random(31);
  auto bitwise = [&](Field f, uint64_t lo, uint64_t hi) {
    Set ge = s.All();
    Set le = s.All();
    for (int i = 0; i < FieldWidth(f); ++i) {
      const Set x = s.Masked(f, uint64_t{1} << i, uint64_t{1} << i);
      ge = ((lo >> i) & 1) != 0 ? (x & ge) : (x | ge);
      le = ((hi >> i) & 1) != 0 ? (~x | le) : (~x & le);
    }
    return ge & le;
  };
  for (int round = 0; round < 200; ++round) {
    for (Field f : {Field::kSrc, Field::kSentDst, Field::kProto, Field::kDport, Field::kSentDport,
                    Field::kInInterface}) {
      const uint64_t max = FieldMax(f);
      uint64_t lo = random() & max;
      uint64_t hi = round % 3 == 0 ? std::min(max, lo + random() % 300) : random() & max;
      if (round % 7 == 0) lo = 0;
      if (round % 11 == 0) hi = max;
      if (lo > hi) std::swap(lo, hi);
      EXPECT_EQ(s.Range(f, lo, hi), bitwise(f, lo, hi))
          << static_cast<int>(f) << " " << lo << " " << hi;
    }
  }
  EXPECT_TRUE(s.Range(Field::kDport, 0, 65535).IsFull());
  EXPECT_TRUE(s.Range(Field::kDport, 9, 8).IsEmpty());
  EXPECT_EQ(s.Range(Field::kProto, 5, 1000), s.Range(Field::kProto, 5, 255));
}

// Masked (its nodes made directly) holds exactly the values that agree with `value` on `mask`,
// counted by enumeration over the 8- and 16-bit fields; on the 32-bit ones, a prefix mask is the
// general Range over the prefix's addresses.
TEST_F(SpaceTest, MaskedAgreesWithEnumeration) {
  const Space& s = *space_;
  std::mt19937 random(23);
  for (int round = 0; round < 40; ++round) {
    for (Field f : {Field::kProto, Field::kDport, Field::kIcmpType, Field::kSentDport}) {
      const uint64_t value = random() & FieldMax(f);
      // Sparse and dense masks, the empty and the full one among them.
      uint64_t mask = round % 4 == 0 ? 0 : round % 4 == 1 ? FieldMax(f) : random() & FieldMax(f);
      if (round % 4 == 3) mask &= random();
      std::vector<Interval> expected;
      for (uint64_t x = 0; x <= FieldMax(f); ++x) {
        if ((x & mask) != (value & mask)) continue;
        if (!expected.empty() && expected.back().hi + 1 == x) {
          expected.back().hi = x;
        } else {
          expected.push_back({x, x});
        }
      }
      bool truncated = false;
      const Set set = s.Masked(f, value, mask) & s.Range(Field::kSrc, 5, 9);
      EXPECT_EQ(s.Values(set, f, 1 << 17, &truncated), expected) << value << " " << mask;
      EXPECT_EQ(s.Values(set, Field::kSrc, 4, &truncated), (std::vector<Interval>{{5, 9}}));
    }
    for (Field f : {Field::kSrc, Field::kDst, Field::kSentSrc}) {
      const int length = static_cast<int>(random() % 33);
      const uint64_t mask = length == 0 ? 0 : (FieldMax(f) << (32 - length)) & FieldMax(f);
      const uint64_t value = random() & FieldMax(f);
      const uint64_t lo = value & mask;
      EXPECT_EQ(s.Masked(f, value, mask), s.Range(f, lo, lo | (~mask & FieldMax(f))));
    }
  }
}

// MaskedAbove is Masked & below: directly on top of sets of the fields below the address (the
// protocol and ports), and through the intersection for sets that test the address or above.
TEST_F(SpaceTest, MaskedAboveAgreesWithTheIntersection) {
  const Space& s = *space_;
  std::mt19937 random(37);
  std::vector<Set> below = {s.None(), s.All()};
  for (int i = 0; i < 30; ++i) {
    below.push_back(RandomSet(s, random, {Field::kProto, Field::kDport, Field::kSport}));
    below.push_back(RandomSet(s, random, {Field::kDst, Field::kDport}));
    below.push_back(RandomSet(s, random, {Field::kSrc, Field::kInInterface}));
  }
  for (const Set& b : below) {
    for (Field f : {Field::kSrc, Field::kDst}) {
      const uint64_t value = random() & FieldMax(f);
      const uint64_t mask = random() % 3 == 0 ? random() & FieldMax(f)
                                              : (FieldMax(f) << (random() % 33)) & FieldMax(f);
      EXPECT_EQ(s.MaskedAbove(f, value, mask, b), s.Masked(f, value, mask) & b);
    }
  }
  EXPECT_FALSE(s.failed());
}

// The difference (an if-then-else that stops where either operand ends) is the intersection
// with the complement, over random sets of several fields, small from large and large from small.
TEST_F(SpaceTest, DifferenceAgreesWithTheComplement) {
  const Space& s = *space_;
  std::mt19937 random(13);
  auto some = [&]() {
    return RandomSet(s, random, {Field::kProto, Field::kDst, Field::kDport, Field::kSrc});
  };
  std::vector<Set> sets = {s.None(), s.All()};
  for (int i = 0; i < 60; ++i) sets.push_back(some());
  for (int i = 0; i < 20; ++i) {  // unions of several, as the engines build them
    sets.push_back(sets[random() % sets.size()] | sets[random() % sets.size()] |
                   sets[random() % sets.size()]);
  }
  int empty = 0;
  for (const Set& a : sets) {
    for (const Set& b : sets) {
      const Set diff = a - b;
      EXPECT_EQ(diff, a & ~b);
      empty += diff.IsEmpty() ? 1 : 0;
    }
  }
  EXPECT_GT(empty, 100);  // both answers occur
  EXPECT_LT(empty, 6000);
}

// Host pairs: a path of a source and a destination address on top of a set of the fields below
// them is the intersection with the two values; the cofactor at a pair, put under that pair's
// path, is the set's part at that pair (or nullopt when the set tests a copy as sent above the
// lower fields); the tree of many paths is their union, equal keys joined.
TEST_F(SpaceTest, AddressPathsAgreeWithTheIntersectionAndTheUnion) {
  const Space& s = *space_;
  std::mt19937 random(53);
  auto address = [&] { return 0x0a000000 + static_cast<uint32_t>(random() % 8); };
  auto lower = [&] {
    return RandomSet(s, random, {Field::kProto, Field::kDport, Field::kSport, Field::kIcmpType});
  };
  int cofactors = 0;
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    const uint32_t src = address();
    const uint32_t dst = address();
    const Set low = lower();
    ASSERT_TRUE(s.BelowAddresses(low));
    const Set path = s.AddressPath(src, dst, low);
    EXPECT_EQ(path, s.Value(Field::kSrc, src) & s.Value(Field::kDst, dst) & low) << i;
    // A set over every field, now and then one that tests a copy as sent.
    Set set = RandomSet(s, random, {Field::kSrc, Field::kDst, Field::kProto, Field::kDport});
    set |= s.Masked(Field::kSrc, src, 0xfffffffc) & lower();
    const bool sent = random() % 4 == 0;
    if (sent) set &= s.Equal(Field::kDst, Field::kSentDst);
    const std::optional<Set> cofactor = s.AddressCofactor(set, src, dst);
    const Set part = set & s.Value(Field::kSrc, src) & s.Value(Field::kDst, dst);
    if (!cofactor) {
      ++refused;
      EXPECT_TRUE(sent) << i;  // only a copy as sent stops the walk
      continue;
    }
    EXPECT_TRUE(s.BelowAddresses(*cofactor));
    EXPECT_EQ(s.AddressPath(src, dst, *cofactor), part) << i;
    ++cofactors;
  }
  EXPECT_GT(cofactors, 150);
  EXPECT_GT(refused, 20);
  for (int round = 0; round < 100; ++round) {
    std::vector<Space::AddressPart> parts;
    Set expected = s.None();
    const int count = static_cast<int>(random() % 40);
    for (int i = 0; i < count; ++i) {
      const uint32_t src = address();
      const uint32_t dst = address();
      const Set low = random() % 8 == 0 ? s.None() : lower();
      parts.push_back({(uint64_t{src} << 32) | dst, low});
      expected |= s.AddressPath(src, dst, low);
    }
    EXPECT_EQ(s.AddressPaths(std::move(parts)), expected) << round;
  }
  EXPECT_FALSE(s.failed());
}

}  // namespace
}  // namespace mamori::netsep
