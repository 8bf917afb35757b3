// An IPv4 longest-prefix map for many prefixes: the zones of a topology, the address entries
// of blocklists (millions of them). Build turns the prefixes — which CIDR makes either nested or
// disjoint — into sorted disjoint address intervals, each labelled with the value of the most
// specific prefix covering it, so a lookup is one binary search (no allocation).
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
  size_t intervals() const { return first_.size(); }

 private:
  std::vector<uint32_t> first_;  // sorted interval starts
  std::vector<uint32_t> last_;   // inclusive ends
  std::vector<uint32_t> value_;
};

}  // namespace mamori::monitor
