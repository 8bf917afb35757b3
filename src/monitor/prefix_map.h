// An IPv4 longest-prefix map for many prefixes: the zones of a topology, the address entries
// of blocklists (millions of them). Build turns the prefixes — which CIDR makes either nested or
// disjoint — into sorted disjoint address intervals, each labelled with the value of the most
// specific prefix covering it, so a lookup is one binary search (no allocation). Large maps
// also keep a directory by the address's top 16 bits, so the search covers only the intervals
// that start in that /16 (a few, rather than twenty steps through a million), and a bitmap of the
// /24 blocks any interval touches (2 MiB), so most addresses of a sparse map (a blocklist) are
// answered by one bit. Small maps (a topology's zones, looked up twice per event by several
// detectors) keep a byte per /16 block (64 KiB) answering the blocks one zone covers whole.
//
// Immutable after Build; safe to share across threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "monitor/prefetch.h"
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

  // The value of the most specific prefix containing `address`, if any. Inline for the small
  // maps' answer by /16 block (a zone lookup, several per event, is then a few instructions).
  std::optional<uint32_t> Find(uint32_t address) const {
    if (!by16_.empty()) {
      const uint8_t v = by16_[address >> 16];
      if (v == kNone16) return std::nullopt;
      if (v != kSearch16) return v;
    }
    return Search(address);
  }
  size_t intervals() const { return intervals_.size(); }
  // Asks for the memory a Find(address) past the /16 answers reads first to be loaded.
  void Prefetch(uint32_t address) const {
    if (!blocks_.empty()) PrefetchLine(&blocks_[address >> 14]);
  }

  static constexpr uint8_t kSearch16 = 254, kNone16 = 255;  // by16_ below

 private:
  struct Interval {  // together, so that a lookup touches one cache line
    uint32_t first;
    uint32_t last;  // inclusive
    uint32_t value;
  };
  std::optional<uint32_t> Search(uint32_t address) const;  // Find past the /16 answers

  std::vector<Interval> intervals_;  // sorted by first, disjoint
  // Large maps: directory_[h] = the number of intervals starting at or before h << 16
  // (65,537 entries); empty for small maps.
  std::vector<uint32_t> directory_;
  std::vector<uint64_t> blocks_;  // large maps: bit b set when an interval touches /24 block b
  // Small maps with values below kSearch16: by16_[h] = the value of /16 block h when one
  // interval covers it whole, kNone16 when none touches it, else kSearch16.
  std::vector<uint8_t> by16_;
};

// A cache in front of a large PrefixMap for one user (a detector): the last answer for each of
// kSlots addresses by hash, so that an address seen again costs one probe of a small table
// instead of a search of a large one (cache misses). The map is immutable, so an answer never
// goes stale; Find gives exactly map.Find. Not thread-safe: one per detector.
class PrefixMapMemo {
 public:
  static constexpr size_t kSlots = 16384;
  std::optional<uint32_t> Find(const PrefixMap& map, uint32_t address) {
    if (slots_.empty()) slots_.resize(kSlots);
    Slot& slot = slots_[SlotOf(address)];
    if (slot.state != kUnused && slot.address == address) {
      return slot.state == kFound ? std::optional<uint32_t>(slot.value) : std::nullopt;
    }
    const std::optional<uint32_t> value = map.Find(address);
    slot = {address, value.value_or(0), value ? kFound : kNotFound};
    return value;
  }
  // Asks for what Find(map, address) reads to be loaded: its slot and, for a miss, the map's.
  void Prefetch(const PrefixMap& map, uint32_t address) const {
    if (slots_.empty()) return;
    PrefetchLine(&slots_[SlotOf(address)]);
    map.Prefetch(address);
  }

 private:
  static constexpr uint32_t kUnused = 0, kFound = 1, kNotFound = 2;
  static size_t SlotOf(uint32_t address) {
    static_assert(kSlots == size_t{1} << 14);
    return (address * 0x9E3779B1u) >> (32 - 14);
  }
  struct Slot {
    uint32_t address = 0;
    uint32_t value = 0;
    uint32_t state = kUnused;
  };
  std::vector<Slot> slots_;
};

// The IPv6 counterpart for blocklist entries (usually far fewer than the IPv4 ones): one hash of
// masked networks per prefix length present, searched from the longest length down, so a
// lookup costs one hash probe per distinct length (a list has a handful: /128, /64, /48, …).
class PrefixMap6 {
 public:
  using Address = std::array<uint8_t, 16>;  // network order
  struct Entry {
    Address network;  // host bits clear
    int length = 128;
    uint32_t value = 0;
  };
  // The most specific prefix wins; of two equal prefixes the first in `entries`.
  static PrefixMap6 Build(const std::vector<Entry>& entries);
  std::optional<uint32_t> Find(const Address& address) const;
  bool empty() const { return lengths_.empty(); }

 private:
  struct Hash {
    size_t operator()(const Address& a) const;
  };
  struct Level {
    int length;
    std::unordered_map<Address, uint32_t, Hash> networks;
  };
  std::vector<Level> lengths_;  // longest first
};

// `address` with the bits after `length` cleared.
PrefixMap6::Address MaskIpv6(const PrefixMap6::Address& address, int length);

}  // namespace mamori::monitor
