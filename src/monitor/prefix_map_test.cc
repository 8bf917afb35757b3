#include "monitor/prefix_map.h"

#include <gtest/gtest.h>

#include <random>

namespace mamori::monitor {
namespace {

// What a linear scan finds: the value of the longest prefix holding `address`.
template <class Entries>
std::optional<uint32_t> LongestMatch(const Entries& entries, uint32_t address) {
  std::optional<uint32_t> found;
  int best = -1;
  for (const auto& e : entries) {
    if (e.prefix.Contains(address) && e.prefix.length > best) {
      best = e.prefix.length;
      found = e.value;
    }
  }
  return found;
}

netsep::Prefix P(const char* text) { return *netsep::ParsePrefix(text, netsep::HostBits::kReject); }
uint32_t A(const char* text) { return *netsep::ParseIpv4(text); }

TEST(PrefixMap, MostSpecificPrefixWins) {
  const PrefixMap map = PrefixMap::Build({{P("0.0.0.0/0"), 0},
                                          {P("10.0.0.0/8"), 1},
                                          {P("10.10.0.0/16"), 2},
                                          {P("10.10.5.0/24"), 3},
                                          {P("10.10.0.0/16"), 9},  // duplicate: the first wins
                                          {P("192.0.2.7/32"), 4}});
  EXPECT_EQ(map.Find(A("8.8.8.8")), 0u);
  EXPECT_EQ(map.Find(A("10.1.2.3")), 1u);
  EXPECT_EQ(map.Find(A("10.10.4.255")), 2u);
  EXPECT_EQ(map.Find(A("10.10.5.0")), 3u);
  EXPECT_EQ(map.Find(A("10.10.5.255")), 3u);
  EXPECT_EQ(map.Find(A("10.10.6.0")), 2u);
  EXPECT_EQ(map.Find(A("10.255.255.255")), 1u);
  EXPECT_EQ(map.Find(A("11.0.0.0")), 0u);
  EXPECT_EQ(map.Find(A("192.0.2.7")), 4u);
  EXPECT_EQ(map.Find(A("192.0.2.8")), 0u);
  EXPECT_EQ(map.Find(A("255.255.255.255")), 0u);
  EXPECT_EQ(map.Find(0), 0u);
}

TEST(PrefixMap, GapsAreEmpty) {
  const PrefixMap map = PrefixMap::Build({{P("10.0.0.0/8"), 1}, {P("255.255.255.255/32"), 2}});
  EXPECT_EQ(map.Find(A("9.255.255.255")), std::nullopt);
  EXPECT_EQ(map.Find(A("10.0.0.0")), 1u);
  EXPECT_EQ(map.Find(A("11.0.0.0")), std::nullopt);
  EXPECT_EQ(map.Find(A("255.255.255.255")), 2u);
  EXPECT_EQ(PrefixMap::Build({}).Find(1), std::nullopt);
}

TEST(PrefixMap, AgreesWithALinearScanOnRandomPrefixes) {
  std::mt19937 rng(7);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 300; ++i) {
    netsep::Prefix p;
    p.length = static_cast<int>(rng() % 25) + 8;
    p.address = (rng() & 0x0FFFFFFF) & p.Mask();  // crowd them into 0/4 so they nest
    entries.push_back({p, i});
  }
  const PrefixMap map = PrefixMap::Build(entries);
  for (int probe = 0; probe < 20000; ++probe) {
    const uint32_t address =
        probe % 2 == 0 ? rng() & 0x0FFFFFFF : entries[rng() % 300].prefix.address;
    ASSERT_EQ(map.Find(address), LongestMatch(entries, address)) << netsep::FormatIpv4(address);
  }
}

// Large maps search through a directory by /16: check it across the whole address space,
// at the first and last address of every prefix and next to them, and at both ends.
TEST(PrefixMap, LargeMapsAgreeWithALinearScanAcrossTheWholeSpace) {
  std::mt19937 rng(11);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 2000; ++i) {
    netsep::Prefix p;
    p.length = static_cast<int>(rng() % 17) + 16;
    p.address = static_cast<uint32_t>(rng()) & p.Mask();
    entries.push_back({p, i});
  }
  entries.push_back({netsep::Prefix{0, 24}, 2000});            // 0.0.0.0/24
  entries.push_back({netsep::Prefix{0xFFFFFF00u, 24}, 2001});  // 255.255.255.0/24
  entries.push_back({netsep::Prefix{0x0A000000u, 8}, 2002});   // 10/8, wide
  const PrefixMap map = PrefixMap::Build(entries);
  ASSERT_GE(map.intervals(), 256u);  // large enough for the directory
  auto want = [&](uint32_t address) { return LongestMatch(entries, address); };
  std::vector<uint32_t> probes = {0,           1,           0xFFFFFFFFu, 0xFFFFFFFEu,
                                  0xFFFF0000u, 0x0000FFFFu, 0x00010000u};
  for (const auto& e : entries) {
    for (uint32_t a : {e.prefix.address, e.prefix.Last()}) {
      probes.push_back(a);
      probes.push_back(a - 1);
      probes.push_back(a + 1);
    }
  }
  for (int i = 0; i < 20000; ++i) probes.push_back(static_cast<uint32_t>(rng()));
  for (uint32_t address : probes) {
    ASSERT_EQ(map.Find(address), want(address)) << netsep::FormatIpv4(address);
  }
}

// Build sorts by (address, length) and keeps equal prefixes in input order (its radix sort is
// stable): many copies of few prefixes, each copy with its own value; the first one wins.
TEST(PrefixMap, RepeatedPrefixesKeepTheFirstValue) {
  std::mt19937 rng(13);
  std::vector<netsep::Prefix> distinct;
  for (int i = 0; i < 40; ++i) {
    netsep::Prefix p;
    p.length = static_cast<int>(rng() % 33);
    p.address = static_cast<uint32_t>(rng()) & p.Mask();
    distinct.push_back(p);
  }
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 3000; ++i) entries.push_back({distinct[rng() % distinct.size()], i});
  const PrefixMap map = PrefixMap::Build(entries);
  for (const netsep::Prefix& p : distinct) {
    for (uint32_t a : {p.address, p.Last(), p.address - 1, p.Last() + 1}) {
      ASSERT_EQ(map.Find(a), LongestMatch(entries, a)) << netsep::FormatIpv4(a);
    }
  }
  for (int i = 0; i < 20000; ++i) {
    const auto a = static_cast<uint32_t>(rng());
    ASSERT_EQ(map.Find(a), LongestMatch(entries, a)) << netsep::FormatIpv4(a);
  }
}

// From 65,536 entries Build sorts sixteen bits a pass: nested, repeated and disjoint prefixes
// (a later copy of a prefix with another value must lose) against a linear scan.
TEST(PrefixMap, ManyEntriesSortedSixteenBitsAPass) {
  std::mt19937 rng(29);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 70000; ++i) {
    netsep::Prefix p;
    p.length = i % 7 == 0 ? 8 + static_cast<int>(rng() % 17) : 32;
    p.address = (static_cast<uint32_t>(rng()) & 0x0FFFFFFFu) & p.Mask();   // crowded: they nest
    if (i % 11 == 0 && i > 0) p = entries[rng() % entries.size()].prefix;  // a repeat
    entries.push_back({p, i});
  }
  const PrefixMap map = PrefixMap::Build(entries);
  std::vector<uint32_t> probes;
  for (int i = 0; i < 1500; ++i) {
    const netsep::Prefix& p = entries[rng() % entries.size()].prefix;
    for (uint32_t a : {p.address, p.Last(), p.address - 1, p.Last() + 1}) probes.push_back(a);
    probes.push_back(static_cast<uint32_t>(rng()) & 0x0FFFFFFFu);
  }
  for (uint32_t a : probes) ASSERT_EQ(map.Find(a), LongestMatch(entries, a)) << a;
}

// Build sorts by first address and then each run of one first address by length: many
// networks sharing their first address (a /8, the /16 and /24 inside it starting there, the
// address itself), in random order and repeated, in both the eight- and sixteen-bit sorts.
TEST(PrefixMap, NetworksSharingTheirFirstAddress) {
  std::mt19937 rng(31);
  for (const uint32_t count : {3000u, 70000u}) {
    std::vector<PrefixMap::Entry> entries;
    for (uint32_t i = 0; i < count; ++i) {
      netsep::Prefix p;
      p.length = static_cast<int>(rng() % 33);
      // Few first addresses: most of them are shared by several lengths.
      p.address = (static_cast<uint32_t>(rng() % 64) << 24) & p.Mask();
      entries.push_back({p, i});
    }
    const PrefixMap map = PrefixMap::Build(entries);
    for (int i = 0; i < 1000; ++i) {
      const netsep::Prefix& p = entries[rng() % entries.size()].prefix;
      for (uint32_t a : {p.address, p.Last(), p.address - 1, p.Last() + 1}) {
        ASSERT_EQ(map.Find(a), LongestMatch(entries, a)) << netsep::FormatIpv4(a);
      }
    }
  }
}

// Small maps answer whole /16 blocks from a byte table: against a linear scan of the prefixes
// at every prefix edge, for maps of /8 to /24 prefixes (whole, partial and shared blocks).
TEST(PrefixMap, SmallMapsAgreeWithALinearScan) {
  std::mt19937 rng(23);
  for (int round = 0; round < 200; ++round) {
    std::vector<PrefixMap::Entry> entries;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      netsep::Prefix p;
      p.length = 8 + static_cast<int>(rng() % 17);
      p.address = (0x0A000000u | (static_cast<uint32_t>(rng()) & 0x00FFFFFFu)) & p.Mask();
      if (rng() % 4 == 0) p.address = static_cast<uint32_t>(rng()) & p.Mask();
      entries.push_back({p, static_cast<uint32_t>(rng() % (round % 5 == 0 ? 300 : 6))});
    }
    if (round % 3 == 0) entries.push_back({netsep::Prefix{0, 0}, 7});  // a catch-all
    const PrefixMap map = PrefixMap::Build(entries);
    auto want = [&](uint32_t address) { return LongestMatch(entries, address); };
    std::vector<uint32_t> probes = {0, 0xFFFFFFFFu};
    for (const auto& e : entries) {
      for (uint32_t a : {e.prefix.address, e.prefix.Last()}) {
        for (uint32_t d : {0u, 1u, 0xFFFFFFFFu, 0x10000u, 0xFFFF0000u}) probes.push_back(a + d);
      }
    }
    for (int i = 0; i < 200; ++i) probes.push_back(static_cast<uint32_t>(rng()));
    for (uint32_t a : probes) ASSERT_EQ(map.Find(a), want(a)) << "round " << round << " " << a;
  }
}

// The memo gives what the map gives, for addresses seen once and again (colliding slots too).
TEST(PrefixMapMemo, GivesTheMapsAnswers) {
  std::mt19937 rng(11);
  std::vector<PrefixMap::Entry> entries;
  for (uint32_t i = 0; i < 5000; ++i) {
    const int length = 8 + static_cast<int>(rng() % 25);
    const uint32_t mask = ~uint32_t{0} << (32 - length);
    entries.push_back({netsep::Prefix{static_cast<uint32_t>(rng()) & mask, length}, i});
  }
  const PrefixMap map = PrefixMap::Build(entries);
  PrefixMapMemo memo;
  std::vector<uint32_t> seen;
  size_t found = 0;
  for (int i = 0; i < 400000; ++i) {
    uint32_t address = static_cast<uint32_t>(rng());
    if (!seen.empty() && rng() % 2 == 0) address = seen[rng() % seen.size()];
    if (seen.size() < 50000) seen.push_back(address);
    if (rng() % 4 == 0) address = entries[rng() % entries.size()].prefix.address + rng() % 3;
    const std::optional<uint32_t> expected = map.Find(address);
    ASSERT_EQ(memo.Find(map, address), expected) << address;
    found += expected.has_value();
  }
  EXPECT_GT(found, 50000u);
}

}  // namespace
}  // namespace mamori::monitor
