// An IPv4 longest-prefix map for many prefixes: the zones of a topology, the address entries
// of blocklists (millions of them). Build turns the prefixes — which CIDR makes either nested or
// disjoint — into sorted disjoint address intervals, each labelled with the value of the most
// specific prefix covering it, so a lookup is one binary search (no allocation). Large maps
// also keep a directory by the address's top 16 bits, so the search covers only the intervals
// that start in that /16 (a few, rather than twenty steps through a million).
//
// Immutable after Build; safe to share across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "netsep/ruleset.h"

namespace mamori::monitor {

class PrefixMap {
 public:
  struct Entry {
    netsep::Prefix prefix;
    uint32_t value = 0;
  };
  // The most specific prefix wins; of two equal prefixes the first in `entries`.
  static PrefixMap Build(std::vector<Entry> entries);

  // The value of the most specific prefix containing `address`, if any.
  std::optional<uint32_t> Find(uint32_t address) const;
  size_t intervals() const { return intervals_.size(); }

 private:
  struct Interval {  // together, so that a lookup touches one cache line
    uint32_t first;
    uint32_t last;  // inclusive
    uint32_t value;
  };
  std::vector<Interval> intervals_;  // sorted by first, disjoint
  // Large maps: directory_[h] = the number of intervals starting at or before h << 16
  // (65,537 entries); empty for small maps.
  std::vector<uint32_t> directory_;
};

}  // namespace mamori::monitor
