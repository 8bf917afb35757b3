// The packet header space as binary decision diagrams (BuDDy).
//
// A Set is a set of IPv4 packet headers over six fields: source address (32 bits), destination
// address (32), protocol (8), source port (16), destination port (16) and ICMP type (8), each
// field most significant bit first. Sets are exact: any union, intersection or difference of
// prefixes, ranges and bit patterns is represented without approximation.
//
// Six more fields describe a packet beyond its header: the source address, destination address
// and destination port as sent (the engine keeps them once NAT rewrote the header, so that a path
// through several devices still knows where a packet came from), and, for the shadowed-rule
// analysis, the classes of the incoming and outgoing interfaces and the connection-tracking state
// (shadow.h). A set that does not mention a field holds every value of it. 232 BDD variables in
// all; each address and port is interleaved bit by bit with its copy "as sent", so that equality
// between the two (Space::Equal) stays small.
//
// BuDDy keeps one node table per process. A Space is a session on it: Space::Open() waits for a
// process-wide mutex, initialises BuDDy, and the destructor shuts BuDDy down and releases the
// mutex, so only one Space exists at a time and sessions on several threads run one after the
// other. The Space must be destroyed on the thread that opened it. Every Set belongs to the Space
// that made it: it must be destroyed before that Space and used only on the thread that holds the
// Space. A Space is not thread-safe.
//
// When the node table would exceed SpaceOptions::max_nodes, BuDDy fails; the Space then records
// the failure (failed() becomes true), results from then on are meaningless, and the caller
// reports kTooLarge.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/result.h"
#include "netsep/ruleset.h"

namespace mamori::netsep {

enum class Field {
  kSrc,
  kDst,
  kProto,
  kSport,
  kDport,
  kIcmpType,
  kSentSrc,       // the source address as sent, before any SNAT
  kSentDst,       // the destination address as sent, before any DNAT
  kSentDport,     // the destination port as sent
  kInInterface,   // shadow analysis: class of the incoming interface (16 bits)
  kOutInterface,  // shadow analysis: class of the outgoing interface (16 bits)
  kConnState,     // shadow analysis: connection-tracking state (8 bits; shadow.cc)
};
inline constexpr int kFieldCount = 12;
// 32, 32, 8, 16, 16, 8; 32, 32, 16; 16, 16, 8.
constexpr int FieldWidth(Field field) {
  switch (field) {
    case Field::kSrc:
    case Field::kDst:
    case Field::kSentSrc:
    case Field::kSentDst:
      return 32;
    case Field::kSport:
    case Field::kDport:
    case Field::kSentDport:
    case Field::kInInterface:
    case Field::kOutInterface:
      return 16;
    case Field::kProto:
    case Field::kIcmpType:
    case Field::kConnState:
      return 8;
  }
  return 0;
}
constexpr uint64_t FieldMax(Field field) { return (uint64_t{1} << FieldWidth(field)) - 1; }

// A BDD reference (reference-counted inside BuDDy). Default-constructed: the empty set.
class Set {
 public:
  Set();
  Set(const Set& other);
  Set(Set&& other) noexcept;
  Set& operator=(const Set& other);
  Set& operator=(Set&& other) noexcept;
  ~Set();

  bool IsEmpty() const;
  bool IsFull() const;
  // Whether this set and `other` have a member in common: (a & b).IsEmpty() negated, without
  // building the intersection (a walk of both that stops at the first common member).
  bool Meets(const Set& other) const;
  bool operator==(const Set& other) const { return root_ == other.root_; }
  // The first BDD variable the set tests (the order is Space's); above every variable for the
  // empty and the full set.
  int TopVariable() const;
  // Identifies the set among those referenced at the same time (its root node): two sets alive
  // together have the same id exactly when they are equal. Not stable once the set is released.
  uint32_t Id() const { return static_cast<uint32_t>(root_); }

  friend Set operator&(const Set& a, const Set& b);
  friend Set operator|(const Set& a, const Set& b);
  friend Set operator-(const Set& a, const Set& b);  // a and not b
  friend Set operator~(const Set& a);
  Set& operator&=(const Set& b) { return *this = *this & b; }
  Set& operator|=(const Set& b) { return *this = *this | b; }
  Set& operator-=(const Set& b) { return *this = *this - b; }

 private:
  friend class Space;
  explicit Set(int root);  // takes a new reference on `root`
  int root_;
};

struct SpaceOptions {
  // Initial node table size; BuDDy grows it as needed. Each node takes 20 bytes.
  int initial_nodes = 1 << 20;
  // Upper bound on the node table (16 Mi nodes: 320 MiB); past it the Space fails.
  int max_nodes = 16 << 20;
  // Operation cache entries.
  int cache_size = 1 << 18;
  // The chain walks decide the rules of one source and one destination address with the
  // addresses fixed (Evaluator::HostRules::kIndexed); false: as every other rule, the general
  // path the tests compare with. The report is the same either way.
  bool index_host_rules = true;
  // The node-by-node walks read BuDDy's node table directly when its layout is the one they
  // know (checked when the Space opens); false: through bdd_var, bdd_low and bdd_high, the
  // plain path the tests compare with. The results are the same either way.
  bool read_nodes_directly = true;
};

// Inclusive interval of field values.
struct Interval {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const Interval&) const = default;
};

// The key of a source and destination address pair, source in the high half (its bits in the
// order of the address variables, as Space::AddressCofactor walks them): host rules are indexed
// and their paths kept by it.
constexpr uint64_t AddressPairKey(uint32_t src, uint32_t dst) {
  return (uint64_t{src} << 32) | dst;
}

class Space {
 public:
  // Blocks until no other Space is open. kUnavailable if BuDDy cannot start.
  static Result<std::unique_ptr<Space>> Open(const SpaceOptions& options = {});
  ~Space();
  Space(const Space&) = delete;
  Space& operator=(const Space&) = delete;

  Set All() const;
  Set None() const;
  // Headers whose `field` lies in [lo, hi] (clamped to the field width; empty when lo > hi).
  Set Range(Field field, uint64_t lo, uint64_t hi) const;
  Set Value(Field field, uint64_t value) const { return Range(field, value, value); }
  // Headers with (field & mask) == (value & mask).
  Set Masked(Field field, uint64_t value, uint64_t mask) const;
  Set Term(Field field, const ValueTerm& term) const;
  // Masked(field, value, mask) & below. When every variable of `field` lies above the first one
  // `below` tests (a rule's addresses above its protocol and ports), built by putting the
  // pattern's nodes directly on top of `below`, at the cost of Masked alone.
  Set MaskedAbove(Field field, uint64_t value, uint64_t mask, const Set& below) const;
  Set Prefixes(Field field, const std::vector<Prefix>& prefixes) const;  // src or dst
  // Headers whose `field` lies in one of `intervals` (ascending, disjoint, each within the field
  // width). Built directly, in time linear in the number of intervals and the field width, so
  // that sets of many thousands of addresses stay cheap.
  Set Intervals(Field field, const std::vector<Interval>& intervals) const;

  // Host pairs: a set of packets of one source and one destination address is a path through
  // the 64 address variables on top of a set of the fields below them (protocol, ports, ICMP
  // type), which the engine handles without building the path where it can.
  //
  // Whether `set` tests only the fields below the addresses and their copies as sent
  // (protocol, ports, ICMP type): its top variable lies below every address variable.
  bool BelowAddresses(const Set& set) const;
  // The members of `set` with source `src` and destination `dst`, as a set of the fields below
  // the addresses (the addresses left free); nullopt when `set` tests, above those fields, a
  // variable of another field (a copy as sent, an interface, the state).
  std::optional<Set> AddressCofactor(const Set& set, uint32_t src, uint32_t dst) const;
  // The packets with source `src` and destination `dst` whose other fields are in `lower`
  // (BelowAddresses): the path of their 64 nodes made directly on top of `lower`.
  Set AddressPath(uint32_t src, uint32_t dst, const Set& lower) const;
  struct AddressPart {
    uint64_t key;  // source << 32 | destination
    Set lower;     // BelowAddresses
  };
  // The union of the AddressPath of every part, built as one tree over the address bits (each
  // of its nodes made once) instead of path by path and joined.
  Set AddressPaths(std::vector<AddressPart> parts) const;

  // Forgets `field`: every header that equals a member of `set` except in that field.
  Set Exists(const Set& set, Field field) const;
  // The image of `set` when `field` is rewritten to any value of [lo, hi].
  Set Rewrite(const Set& set, Field field, uint64_t lo, uint64_t hi) const {
    return Exists(set, field) & Range(field, lo, hi);
  }
  // Headers whose fields `a` and `b` (of the same width) are equal.
  Set Equal(Field a, Field b) const;
  // `set` with `target` replaced by the value of `source` (same width) in each member.
  Set Assign(const Set& set, Field target, Field source) const {
    return Exists(set, target) & Equal(target, source);
  }
  // Forgets every field but `field`.
  Set Project(const Set& set, Field field) const;

  // Whether `set` lies within the union of `parts` (true) or has a member outside every part
  // (false), found by a depth-first search for such a member that builds nothing: quick when
  // one exists. nullopt when the search takes more than `budget` steps (a step per node pair of
  // `set` and a part walked).
  std::optional<bool> Covered(const Set& set, const std::vector<Set>& parts, size_t budget) const;

  // The values `field` takes in `set`, as ascending disjoint intervals with adjacent ones
  // merged; at most `limit` intervals, `truncated` says whether more exist.
  std::vector<Interval> Values(const Set& set, Field field, size_t limit, bool* truncated) const;
  // The smallest value of `field` in `set`; nullopt when `set` is empty.
  std::optional<uint64_t> Min(const Set& set, Field field) const;

  bool failed() const;
  // Whether the node-by-node walks read BuDDy's node table directly (read_nodes_directly, and
  // the layout checked at Open).
  bool direct_nodes() const;

 private:
  Space() = default;
  // Range() on the values [base, base + 2^bits - 1], which [lo, hi] meets: each node made with
  // BuDDy's node constructor (an apply per bit costs several times as much), at most two a level.
  Set RangeBelow(Field field, uint64_t lo, uint64_t hi, uint64_t base, int bits) const;
  // Intervals() on the values [base, base + 2^bits - 1], for intervals[first, last).
  Set IntervalsBelow(Field field, const std::vector<Interval>& intervals, size_t first, size_t last,
                     uint64_t base, int bits) const;
  // AddressPaths() on parts[first, last) (sorted by key, keys distinct), whose keys agree on
  // the bits above bit `bit` (0: the source's most significant).
  Set AddressTree(const std::vector<AddressPart>& parts, size_t first, size_t last, int bit) const;
  // A path stacked on `root`, from the lowest node up: while `step(level, high)` yields one, a
  // node at `level` whose high (bit set) or low branch leads to what is built so far and whose
  // other branch is empty. Made with BuDDy's node constructor, one reference at a time; None()
  // when BuDDy runs out of nodes. Levels must rise: valid only without dynamic reordering.
  template <class Step>
  Set StackPath(int root, Step step) const;
  // The cube (bdd_makeset) of `field`'s variables, or with `others` of every other field's:
  // made once per session, as Exists and Project ask for them per set.
  int FieldCube(Field field, bool others) const;
  // The BDD variables of each field, most significant bit first.
  std::array<std::vector<int>, kFieldCount> vars_;
  mutable std::array<int, kFieldCount> cubes_{};        // FieldCube; 0: not made yet
  mutable std::array<int, kFieldCount> other_cubes_{};  // FieldCube with `others`
  // Per variable: its bit of an AddressPart key (0: the source's most significant, 32: the
  // destination's), -1 for the other variables.
  std::vector<int> key_bit_;
  // The level of each bit of an AddressPart key.
  std::array<unsigned int, 64> key_level_{};
  // The first variable below the addresses and their copies as sent.
  int below_addresses_ = 0;
};

}  // namespace mamori::netsep
