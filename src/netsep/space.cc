#include "netsep/space.h"

#include <bdd.h>
// In C++, bdd.h maps these names onto its own bdd class; this file uses the C interface only.
#undef bdd_init
#undef bdd_ithvar
#undef bdd_nithvar
#undef bdd_makeset

// BuDDy's own node constructor (kernel.h, not installed): the node testing the variable at
// `level` with the given children, found in or added to the unique table; a garbage collection
// it runs keeps only referenced nodes and BuDDy's own stack, so `low` and `high` must be
// referenced (or constants). Exported by libbdd 2.4 with C linkage. Safe only while dynamic
// variable reordering stays off (it would longjmp out of makenode): nothing in netsep enables it.
extern "C" int bdd_makenode(unsigned int level, int low, int high);

// BuDDy's node table (kernel.h, the same libbdd 2.4): a node's level (beside its reference
// count) and its children. The engine's walks node by node (AddressCofactor, Meets, Covered,
// Values) read it directly: bdd_var, bdd_low and bdd_high check the session and the node on
// every call, several times the cost of the read. Space::Open compares the layout with those
// functions and keeps to them when it differs. Levels are variables: nothing reorders them.
struct BuddyNode {
  unsigned int refcount : 10;
  unsigned int level : 22;
  int low;
  int high;
  int hash;
  int next;
};
extern "C" BuddyNode* bddnodes;

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

namespace mamori::netsep {
namespace {

// Guards BuDDy's global node table: held from Space::Open until ~Space.
std::mutex g_buddy_mutex;
// Set by BuDDy's error hook (out of nodes, …) during the current session.
std::atomic<bool> g_buddy_failed{false};

void OnBuddyError(int /*code*/) { g_buddy_failed.store(true); }

// Whether bddnodes has the layout above (Space::Open); guarded by g_buddy_mutex.
bool g_direct_nodes = false;

// bdd_var, bdd_low and bdd_high of a node that is not a constant.
inline int NodeVar(int node) {
  return g_direct_nodes ? static_cast<int>(bddnodes[node].level) : bdd_var(node);
}
inline int NodeLow(int node) { return g_direct_nodes ? bddnodes[node].low : bdd_low(node); }
inline int NodeHigh(int node) { return g_direct_nodes ? bddnodes[node].high : bdd_high(node); }

// Whether bddnodes reads as bdd_var, bdd_low and bdd_high do, on each variable's node and on a
// node whose children are nodes.
bool DirectNodesAgree(int vars) {
  auto agree = [](int node) {
    return static_cast<int>(bddnodes[node].level) == bdd_var(node) &&
           bddnodes[node].low == bdd_low(node) && bddnodes[node].high == bdd_high(node);
  };
  for (int v = 0; v < vars; ++v) {
    if (!agree(bdd_ithvar(v)) || !agree(bdd_nithvar(v))) return false;
  }
  const int a = bdd_addref(bdd_ithvar(0));
  const int b = bdd_addref(bdd_ithvar(1));
  const int both = bdd_addref(bdd_and(a, b));
  const int either = bdd_addref(bdd_or(a, bdd_nithvar(1)));
  const bool ok = agree(both) && agree(either) && bdd_low(both) == 0 && bdd_high(both) == b;
  for (int node : {a, b, both, either}) bdd_delref(node);
  return ok;
}

// Variable order: the interfaces and the state (shadow analysis: rules test the interfaces
// first), source, destination, protocol, destination port, source port, ICMP type. The engine
// carries the packets of one source zone at a time and rule sets dispatch by source network, so
// the source splits the sets most; the addresses above the protocol and ports let the sets of
// many host rules share their address structure instead of repeating it under each protocol
// (measured on the issue-7 benchmark: 20,000 rules, 8.7 billion instructions with protocol,
// destination, port, source; 6.8 with destination first; 6.1 with source first). A field paired
// with its copy as sent alternates with it bit by bit.
struct Slot {
  Field field;
  std::optional<Field> sent;  // interleaved with `field`
};
constexpr Slot kOrder[] = {
    {Field::kInInterface, std::nullopt}, {Field::kOutInterface, std::nullopt},
    {Field::kConnState, std::nullopt},   {Field::kSrc, Field::kSentSrc},
    {Field::kDst, Field::kSentDst},      {Field::kProto, std::nullopt},
    {Field::kDport, Field::kSentDport},  {Field::kSport, std::nullopt},
    {Field::kIcmpType, std::nullopt},
};

bool IsConstant(int root) { return root == 0 || root == 1; }

}  // namespace

Set::Set() : root_(0) {}
Set::Set(int root) : root_(root) {
  if (!IsConstant(root_)) bdd_addref(root_);
}
Set::Set(const Set& other) : Set(other.root_) {}
Set::Set(Set&& other) noexcept : root_(other.root_) { other.root_ = 0; }
Set& Set::operator=(const Set& other) {
  if (this != &other) {
    Set copy(other);
    std::swap(root_, copy.root_);
  }
  return *this;
}
Set& Set::operator=(Set&& other) noexcept {
  std::swap(root_, other.root_);
  return *this;
}
Set::~Set() {
  if (!IsConstant(root_)) bdd_delref(root_);
}
bool Set::IsEmpty() const { return root_ == 0; }
int Set::TopVariable() const {
  return IsConstant(root_) ? std::numeric_limits<int>::max() : NodeVar(root_);
}
bool Set::IsFull() const { return root_ == 1; }

namespace {

// The node pairs Set::Meets found disjoint: an open-addressing hash set of nonzero keys, reused
// from one call to the next (BuDDy calls run under the session mutex, one thread at a time), so
// that a test allocates nothing once the table has grown to its working size.
class PairMemo {
 public:
  void Clear() {
    if (used_ * 8 < slots_.size()) {
      for (uint32_t i : filled_) slots_[i] = 0;
    } else {
      std::fill(slots_.begin(), slots_.end(), 0);
    }
    filled_.clear();
    used_ = 0;
  }
  bool Contains(uint64_t key) const {
    if (slots_.empty()) return false;
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return true;
      if (slots_[i] == 0) return false;
    }
  }
  void Insert(uint64_t key) {
    if ((used_ + 1) * 2 > slots_.size()) Grow();
    size_t i = Hash(key) & mask_;
    while (slots_[i] != 0) {
      if (slots_[i] == key) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = key;
    filled_.push_back(static_cast<uint32_t>(i));
    ++used_;
  }

 private:
  static size_t Hash(uint64_t key) {
    key ^= key >> 31;
    key *= 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(key ^ (key >> 29));
  }
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    filled_.clear();
    used_ = 0;
    for (uint64_t key : old) {
      if (key != 0) Insert(key);
    }
  }

  std::vector<uint64_t> slots_;
  std::vector<uint32_t> filled_;  // the slots in use, for a cheap Clear of a sparse table
  size_t mask_ = 0;
  size_t used_ = 0;
};

PairMemo g_disjoint;  // guarded by g_buddy_mutex, like every BuDDy call

bool MeetsBelow(int a, int b) {
  if (a == 0 || b == 0) return false;
  if (a == 1 || b == 1 || a == b) return true;
  if (a > b) std::swap(a, b);  // the pair is unordered
  const uint64_t key =
      (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  if (g_disjoint.Contains(key)) return false;
  const int va = NodeVar(a);
  const int vb = NodeVar(b);
  bool found;
  if (va == vb) {
    found = MeetsBelow(NodeLow(a), NodeLow(b)) || MeetsBelow(NodeHigh(a), NodeHigh(b));
  } else if (va < vb) {
    found = MeetsBelow(NodeLow(a), b) || MeetsBelow(NodeHigh(a), b);
  } else {
    found = MeetsBelow(a, NodeLow(b)) || MeetsBelow(a, NodeHigh(b));
  }
  if (!found) g_disjoint.Insert(key);
  return found;
}

}  // namespace

bool Set::Meets(const Set& other) const {
  // Depth first over pairs of nodes; a pair found disjoint is remembered so that shared
  // subgraphs are walked once. The variable order is the level order (BuDDy never reorders here).
  if (root_ == 0 || other.root_ == 0) return false;
  if (root_ == 1 || other.root_ == 1 || root_ == other.root_) return true;
  g_disjoint.Clear();
  return MeetsBelow(root_, other.root_);
}

Set operator&(const Set& a, const Set& b) { return Set(bdd_and(a.root_, b.root_)); }
Set operator|(const Set& a, const Set& b) { return Set(bdd_or(a.root_, b.root_)); }
// if b then nothing else a: BuDDy's diff has no shortcut for a constant operand, so it walks all
// of `a` even when `b` is small, and a ∧ ¬b first builds ¬b, a walk of all of `b` even when `a`
// is small. The if-then-else stops where `b` ends (nothing left to remove: `a` as it is) or `a`
// ends (nothing left), so it walks only where both go on (the engines subtract small sets from
// large ones and large ones from small ones all the time).
Set operator-(const Set& a, const Set& b) { return Set(bdd_ite(b.root_, 0, a.root_)); }
Set operator~(const Set& a) { return Set(bdd_not(a.root_)); }

Result<std::unique_ptr<Space>> Space::Open(const SpaceOptions& options) {
  g_buddy_mutex.lock();
  g_buddy_failed.store(false);
  if (bdd_init(options.initial_nodes, options.cache_size) < 0) {
    g_buddy_mutex.unlock();
    return Error::Unavailable("BDD ライブラリを初期化できませんでした。",
                              "the BDD library (BuDDy) could not be initialised.");
  }
  bdd_error_hook(OnBuddyError);  // after bdd_init, which installs the default (print, exit)
  bdd_gbc_hook(nullptr);         // the default prints a line per garbage collection
  bdd_setmaxnodenum(options.max_nodes);
  // By default BuDDy grows the node table by at most 50,000 nodes after a garbage collection,
  // so a check that keeps millions of nodes alive would collect (marking every live node) after
  // every 50,000 new ones. Grow freely instead, keeping a quarter of the table free.
  bdd_setmaxincrease(options.max_nodes);
  bdd_setminfreenodes(25);
  std::unique_ptr<Space> space(new Space());
  int next = 0;
  for (const Slot& slot : kOrder) {
    std::vector<int>& vars = space->vars_[static_cast<int>(slot.field)];
    std::vector<int>* sent = slot.sent ? &space->vars_[static_cast<int>(*slot.sent)] : nullptr;
    for (int i = 0; i < FieldWidth(slot.field); ++i) {
      vars.push_back(next++);
      if (sent != nullptr) sent->push_back(next++);
    }
  }
  bdd_setvarnum(next);
  g_direct_nodes = options.read_nodes_directly && DirectNodesAgree(next);
  space->key_bit_.assign(static_cast<size_t>(next), -1);
  for (int f = 0; f < 2; ++f) {
    const std::vector<int>& vars =
        space->vars_[static_cast<int>(f == 0 ? Field::kSrc : Field::kDst)];
    for (int i = 0; i < 32; ++i) {
      space->key_bit_[static_cast<size_t>(vars[i])] = f * 32 + i;
      space->key_level_[static_cast<size_t>(f * 32 + i)] =
          static_cast<unsigned int>(bdd_var2level(vars[i]));
    }
  }
  for (Field f : {Field::kSrc, Field::kSentSrc, Field::kDst, Field::kSentDst}) {
    for (int v : space->vars_[static_cast<int>(f)]) {
      space->below_addresses_ = std::max(space->below_addresses_, v + 1);
    }
  }
  return space;
}

Space::~Space() {
  g_disjoint = PairMemo();
  bdd_done();
  g_buddy_mutex.unlock();
}

bool Space::direct_nodes() const { return g_direct_nodes; }

bool Space::failed() const { return g_buddy_failed.load(); }

Set Space::All() const { return Set(1); }
Set Space::None() const { return Set(0); }

Set Space::Range(Field field, uint64_t lo, uint64_t hi) const {
  hi = std::min(hi, FieldMax(field));
  if (lo > hi) return None();
  if (lo == hi) return Masked(field, lo, FieldMax(field));  // one value: a single path
  return RangeBelow(field, lo, hi, 0, FieldWidth(field));
}

Set Space::RangeBelow(Field field, uint64_t lo, uint64_t hi, uint64_t base, int bits) const {
  const uint64_t top = base + ((uint64_t{1} << bits) - 1);
  if (lo <= base && hi >= top) return All();
  const uint64_t mid = base + (uint64_t{1} << (bits - 1));
  const Set low = lo < mid ? RangeBelow(field, lo, hi, base, bits - 1) : None();
  const Set high = hi >= mid ? RangeBelow(field, lo, hi, mid, bits - 1) : None();
  if (low == high) return low;
  const int var = vars_[static_cast<int>(field)][FieldWidth(field) - bits];
  // Both children are referenced (low, high) while the node is made.
  const int made =
      bdd_makenode(static_cast<unsigned int>(bdd_var2level(var)), low.root_, high.root_);
  if (made == 0) return None();  // out of nodes: the error hook has marked the session failed
  return Set(made);
}

Set Space::Masked(Field field, uint64_t value, uint64_t mask) const {
  return MaskedAbove(field, value, mask, All());
}

Set Space::MaskedAbove(Field field, uint64_t value, uint64_t mask, const Set& below) const {
  const int width = FieldWidth(field);
  const std::vector<int>& vars = vars_[static_cast<int>(field)];
  if (below.IsEmpty()) return None();
  // The pattern's nodes go directly on top of `below` when all of the field's variables lie
  // above it (the variable order is the level order).
  if (vars.back() >= below.TopVariable()) return Masked(field, value, mask) & below;
  // From the least significant bit (the lowest variable) up, each step one node above the last,
  // made directly (an apply per bit costs several times as much: its operation cache, its
  // recursion), one reference at a time. Variables are never reordered: a variable's level is
  // fixed.
  int i = 0;
  return StackPath(below.root_, [&](unsigned int& level, bool& high) {
    for (; i < width; ++i) {
      if (((mask >> i) & 1) == 0) continue;
      level = static_cast<unsigned int>(bdd_var2level(vars[width - 1 - i]));
      high = ((value >> i) & 1) != 0;
      ++i;
      return true;
    }
    return false;
  });
}

template <class Step>
Set Space::StackPath(int root, Step step) const {
  int out = root;
  if (!IsConstant(out)) bdd_addref(out);
  unsigned int level = 0;
  bool high = false;
  while (step(level, high)) {
    const int made = high ? bdd_makenode(level, 0, out) : bdd_makenode(level, out, 0);
    if (made == 0) {  // out of nodes: the error hook has marked the session failed
      if (!IsConstant(out)) bdd_delref(out);
      return None();
    }
    const int next = bdd_addref(made);
    if (!IsConstant(out)) bdd_delref(out);
    out = next;
  }
  Set result(out);
  if (!IsConstant(out)) bdd_delref(out);
  return result;
}

bool Space::BelowAddresses(const Set& set) const { return set.TopVariable() >= below_addresses_; }

std::optional<Set> Space::AddressCofactor(const Set& set, uint32_t src, uint32_t dst) const {
  const uint64_t key = AddressPairKey(src, dst);
  int node = set.root_;
  if (g_direct_nodes) {
    // The walk of every host rule, down one path: the node table read once, nothing made.
    const BuddyNode* const nodes = bddnodes;
    const int* const key_bit = key_bit_.data();
    while (!IsConstant(node)) {
      const BuddyNode& n = nodes[node];
      const int var = static_cast<int>(n.level);
      if (var >= below_addresses_) break;
      const int bit = key_bit[var];
      if (bit < 0) return std::nullopt;
      node = ((key >> (63 - bit)) & 1) != 0 ? n.high : n.low;
    }
    return Set(node);
  }
  while (!IsConstant(node)) {
    const int var = NodeVar(node);
    if (var >= below_addresses_) break;
    const int bit = key_bit_[static_cast<size_t>(var)];
    if (bit < 0) return std::nullopt;
    node = ((key >> (63 - bit)) & 1) != 0 ? NodeHigh(node) : NodeLow(node);
  }
  return Set(node);
}

Set Space::AddressPath(uint32_t src, uint32_t dst, const Set& lower) const {
  return MaskedAbove(Field::kSrc, src, FieldMax(Field::kSrc),
                     MaskedAbove(Field::kDst, dst, FieldMax(Field::kDst), lower));
}

Set Space::AddressPaths(std::vector<AddressPart> parts) const {
  std::sort(parts.begin(), parts.end(),
            [](const AddressPart& a, const AddressPart& b) { return a.key < b.key; });
  // One part per key: the lower sets of equal keys joined.
  size_t out = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].lower.IsEmpty()) continue;
    if (out > 0 && parts[out - 1].key == parts[i].key) {
      parts[out - 1].lower |= parts[i].lower;
    } else {
      parts[out++] = std::move(parts[i]);
    }
  }
  parts.resize(out);
  return AddressTree(parts, 0, parts.size(), 0);
}

Set Space::AddressTree(const std::vector<AddressPart>& parts, size_t first, size_t last,
                       int bit) const {
  if (first == last) return None();
  if (last - first == 1) {
    // One key left (most of the tree, below the bits the keys share): its remaining bits as a
    // path made directly from the lowest up, one reference at a time, as in MaskedAbove.
    const uint64_t key = parts[first].key;
    int b = 63;
    // parts[first].lower is not empty (AddressPaths).
    return StackPath(parts[first].lower.root_, [&](unsigned int& level, bool& high) {
      if (b < bit) return false;
      level = key_level_[static_cast<size_t>(b)];
      high = ((key >> (63 - b)) & 1) != 0;
      --b;
      return true;
    });
  }
  const uint64_t mask = uint64_t{1} << (63 - bit);
  // Sorted by key and agreeing above `bit`: those with the bit clear come first.
  const size_t split = static_cast<size_t>(
      std::partition_point(parts.begin() + static_cast<std::ptrdiff_t>(first),
                           parts.begin() + static_cast<std::ptrdiff_t>(last),
                           [&](const AddressPart& p) { return (p.key & mask) == 0; }) -
      parts.begin());
  const Set low = AddressTree(parts, first, split, bit + 1);
  const Set high = AddressTree(parts, split, last, bit + 1);
  if (low == high) return low;
  // Both children are referenced (low, high) while the node is made.
  const int made = bdd_makenode(key_level_[static_cast<size_t>(bit)], low.root_, high.root_);
  if (made == 0) return None();  // out of nodes: the error hook has marked the session failed
  return Set(made);
}

Set Space::Term(Field field, const ValueTerm& term) const {
  return term.kind == ValueTerm::Kind::kRange ? Range(field, term.first, term.second)
                                              : Masked(field, term.first, term.second);
}

Set Space::Prefixes(Field field, const std::vector<Prefix>& prefixes) const {
  Set out = None();
  for (const Prefix& p : prefixes) out |= Masked(field, p.address, p.Mask());
  return out;
}

Set Space::Intervals(Field field, const std::vector<Interval>& intervals) const {
  size_t last = intervals.size();
  while (last > 0 && intervals[last - 1].lo > FieldMax(field)) --last;  // outside the field
  return IntervalsBelow(field, intervals, 0, last, 0, FieldWidth(field));
}

Set Space::IntervalsBelow(Field field, const std::vector<Interval>& intervals, size_t first,
                          size_t last, uint64_t base, int bits) const {
  if (first == last) return None();
  const uint64_t top = base + ((uint64_t{1} << bits) - 1);
  if (intervals[first].lo <= base && intervals[first].hi >= top) return All();
  // Every interval of [first, last) meets [base, top] and none covers it, so bits > 0. Split the
  // values on this bit: the intervals starting below `mid` go low, those ending at or above it
  // high (one interval may go both ways).
  const uint64_t mid = base + (uint64_t{1} << (bits - 1));
  const auto begin = intervals.begin() + static_cast<std::ptrdiff_t>(first);
  const auto end = intervals.begin() + static_cast<std::ptrdiff_t>(last);
  const size_t split = static_cast<size_t>(
      std::partition_point(begin, end, [&](const Interval& i) { return i.lo < mid; }) -
      intervals.begin());
  const size_t high_first = split > first && intervals[split - 1].hi >= mid ? split - 1 : split;
  const Set low = IntervalsBelow(field, intervals, first, split, base, bits - 1);
  const Set high = IntervalsBelow(field, intervals, high_first, last, mid, bits - 1);
  const std::vector<int>& vars = vars_[static_cast<int>(field)];
  const int var = vars[FieldWidth(field) - bits];
  return Set(bdd_ite(bdd_ithvar(var), high.root_, low.root_));
}

int Space::FieldCube(Field field, bool others) const {
  int& cube = (others ? other_cubes_ : cubes_)[static_cast<size_t>(field)];
  if (cube == 0) {
    std::vector<int> vars;
    for (int f = 0; f < kFieldCount; ++f) {
      if ((f == static_cast<int>(field)) != others) {
        vars.insert(vars.end(), vars_[static_cast<size_t>(f)].begin(),
                    vars_[static_cast<size_t>(f)].end());
      }
    }
    // Kept referenced for the session (bdd_done frees it); 0 when out of nodes: made again.
    const int made = bdd_makeset(vars.data(), static_cast<int>(vars.size()));
    if (made > 1) cube = bdd_addref(made);
    return made;
  }
  return cube;
}

Set Space::Exists(const Set& set, Field field) const {
  return Set(bdd_exist(set.root_, FieldCube(field, false)));
}

Set Space::Equal(Field a, Field b) const {
  const std::vector<int>& va = vars_[static_cast<int>(a)];
  const std::vector<int>& vb = vars_[static_cast<int>(b)];
  Set out = All();
  for (size_t i = va.size(); i-- > 0;) {
    out &= Set(bdd_biimp(bdd_ithvar(va[i]), bdd_ithvar(vb[i])));
  }
  return out;
}

Set Space::Project(const Set& set, Field field) const {
  // Every other field at once: the same set as forgetting them one after the other.
  return Set(bdd_exist(set.root_, FieldCube(field, true)));
}

namespace {

// Space::Covered's search below node `a` with the parts' nodes `parts` at the same point: 1 when
// every member of `a` lies in a part, 0 when one does not, -1 when the budget ran out. A step
// costs one unit per part still in play.
int CoverSearch(int a, const std::vector<int>& parts, size_t& steps, size_t budget) {
  if (a == 0) return 1;
  std::vector<int> live;
  live.reserve(parts.size());
  for (int p : parts) {
    if (p == 1) return 1;
    if (p != 0) live.push_back(p);
  }
  if (live.empty()) return 0;  // `a` holds a member here and no part does
  steps += live.size();        // the work of this step
  if (steps > budget) return -1;
  int var = a == 1 ? std::numeric_limits<int>::max() : NodeVar(a);
  for (int p : live) var = std::min(var, NodeVar(p));
  std::vector<int> next(live.size());
  for (const bool high : {false, true}) {
    auto cofactor = [&](int n) {
      if (n == 1 || NodeVar(n) != var) return n;  // n does not test `var`
      return high ? NodeHigh(n) : NodeLow(n);
    };
    for (size_t i = 0; i < live.size(); ++i) next[i] = cofactor(live[i]);
    const int found = CoverSearch(cofactor(a), next, steps, budget);
    if (found != 1) return found;
  }
  return 1;
}

}  // namespace

std::optional<bool> Space::Covered(const Set& set, const std::vector<Set>& parts,
                                   size_t budget) const {
  std::vector<int> roots;
  roots.reserve(parts.size());
  for (const Set& p : parts) roots.push_back(p.root_);
  size_t steps = 0;
  const int found = CoverSearch(set.root_, roots, steps, budget);
  if (found < 0) return std::nullopt;
  return found == 1;
}

namespace {

class IntervalCollector {
 public:
  IntervalCollector(const std::vector<int>& vars, size_t limit)
      : vars_(vars), width_(static_cast<int>(vars.size())), limit_(limit) {}

  // Walks the BDD `node` (over this field's variables only) from bit `depth` (0 = most
  // significant) with the bits above it fixed to `prefix`.
  void Walk(int node, int depth, uint64_t prefix) {
    if (stopped_ || node == 0) return;
    if (node == 1) {
      const int free_bits = width_ - depth;
      const uint64_t lo = prefix << free_bits;
      Add(lo, lo | ((uint64_t{1} << free_bits) - 1));
      return;
    }
    if (NodeVar(node) == vars_[depth]) {
      Walk(NodeLow(node), depth + 1, prefix << 1);
      Walk(NodeHigh(node), depth + 1, (prefix << 1) | 1);
    } else {  // this bit is free here
      Walk(node, depth + 1, prefix << 1);
      Walk(node, depth + 1, (prefix << 1) | 1);
    }
  }

  std::vector<Interval> out;
  bool truncated = false;

 private:
  void Add(uint64_t lo, uint64_t hi) {
    if (!out.empty() && out.back().hi + 1 == lo) {
      out.back().hi = hi;
    } else if (out.size() < limit_) {
      out.push_back({lo, hi});
    } else {
      truncated = true;
      stopped_ = true;
    }
  }

  const std::vector<int>& vars_;
  int width_;
  size_t limit_;
  bool stopped_ = false;
};

}  // namespace

std::vector<Interval> Space::Values(const Set& set, Field field, size_t limit,
                                    bool* truncated) const {
  const Set projected = Project(set, field);
  IntervalCollector collector(vars_[static_cast<int>(field)], limit);
  collector.Walk(projected.root_, 0, 0);
  if (truncated != nullptr) *truncated = collector.truncated;
  return std::move(collector.out);
}

std::optional<uint64_t> Space::Min(const Set& set, Field field) const {
  std::vector<Interval> values = Values(set, field, 1, nullptr);
  if (values.empty()) return std::nullopt;
  return values.front().lo;
}

}  // namespace mamori::netsep
