// Helpers shared by the parsers of object-based firewall configurations (Cisco ASA, FortiGate):
// exact sets of header-field values built from objects and groups, and the rule matches made
// from them.
//
// A ValueSet is a set of unsigned values (addresses, ports, protocol numbers, ICMP types) kept as
// sorted, disjoint, non-adjacent inclusive intervals, so that groups can be united and excluded
// exactly before they become Match terms. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "netsep/ruleset.h"

namespace mamori::netsep {

class ValueSet {
 public:
  ValueSet() = default;
  static ValueSet Of(uint64_t lo, uint64_t hi) {
    ValueSet s;
    s.Add(lo, hi);
    return s;
  }
  static ValueSet OfPrefix(const Prefix& p) { return Of(p.address, p.Last()); }

  void Add(uint64_t lo, uint64_t hi);
  void Add(const ValueSet& other);
  void Subtract(const ValueSet& other);
  ValueSet Intersect(const ValueSet& other) const;

  bool empty() const { return ranges_.empty(); }
  // Number of values (saturates at UINT64_MAX, which no field reaches).
  uint64_t Count() const;
  // Whether every value of [lo, hi] is in the set.
  bool Covers(uint64_t lo, uint64_t hi) const;
  bool Contains(uint64_t v) const { return Covers(v, v); }
  // The n-th smallest value (n < Count()).
  uint64_t Nth(uint64_t n) const;
  const std::vector<std::pair<uint64_t, uint64_t>>& ranges() const { return ranges_; }
  std::vector<ValueTerm> Terms() const;
  bool operator==(const ValueSet&) const = default;

 private:
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

inline constexpr uint64_t kMaxAddress = 0xffffffffu;
inline constexpr uint64_t kMaxPort = 65535;
inline constexpr uint64_t kMaxProtocol = 255;
inline constexpr uint64_t kMaxIcmpType = 255;

// A match on `kind` by the values of `set` (kSrcAddress, kDstAddress, kProtocol, kSrcPort,
// kDstPort, kIcmpType).
Match ValueMatch(MatchKind kind, const ValueSet& set, bool negated = false);
Match InterfaceMatch(MatchKind kind, std::vector<std::string> names);
Match MayMatch();
// kConnState on kCtDnat: the packet was (or, negated, was not) rewritten by destination NAT.
Match DnatStateMatch(bool dnatted);

// Guards the recursion through nested groups: while a GroupVisit lives, its name is in `active`;
// loop() says the name was already being expanded (a cycle).
class GroupVisit {
 public:
  GroupVisit(std::set<std::string>& active, std::string name) : active_(active), name_(name) {
    fresh_ = active_.insert(std::move(name)).second;
  }
  GroupVisit(const GroupVisit&) = delete;
  GroupVisit& operator=(const GroupVisit&) = delete;
  ~GroupVisit() {
    if (fresh_) active_.erase(name_);
  }
  bool loop() const { return !fresh_; }

 private:
  std::set<std::string>& active_;
  std::string name_;
  bool fresh_ = false;
};

// "a.b.c.d" (a contiguous netmask) → its length; nullopt for a non-contiguous mask.
std::optional<int> MaskLength(uint32_t mask);

}  // namespace mamori::netsep
