#include "netsep/values.h"

#include <algorithm>
#include <limits>

namespace mamori::netsep {

void ValueSet::Add(uint64_t lo, uint64_t hi) {
  if (lo > hi) return;
  constexpr uint64_t kTop = std::numeric_limits<uint64_t>::max();
  // The ranges are disjoint and never adjacent, so one pass merges every range the new interval
  // overlaps or touches.
  std::vector<std::pair<uint64_t, uint64_t>> out;
  out.reserve(ranges_.size() + 1);
  for (const auto& [a, b] : ranges_) {
    const bool before = b != kTop && b + 1 < lo;
    const bool after = hi != kTop && hi + 1 < a;
    if (before || after) {
      out.emplace_back(a, b);
    } else {
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
  }
  out.emplace_back(lo, hi);
  std::sort(out.begin(), out.end());
  ranges_ = std::move(out);
}

void ValueSet::Add(const ValueSet& other) {
  for (const auto& [a, b] : other.ranges_) Add(a, b);
}

void ValueSet::Subtract(const ValueSet& other) {
  for (const auto& [lo, hi] : other.ranges_) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& [a, b] : ranges_) {
      if (b < lo || a > hi) {
        out.emplace_back(a, b);
        continue;
      }
      if (a < lo) out.emplace_back(a, lo - 1);
      if (b > hi) out.emplace_back(hi + 1, b);
    }
    ranges_ = std::move(out);
  }
}

ValueSet ValueSet::Intersect(const ValueSet& other) const {
  ValueSet out;
  for (const auto& [a, b] : ranges_) {
    for (const auto& [c, d] : other.ranges_) {
      const uint64_t lo = std::max(a, c);
      const uint64_t hi = std::min(b, d);
      if (lo <= hi) out.Add(lo, hi);
    }
  }
  return out;
}

uint64_t ValueSet::Count() const {
  uint64_t n = 0;
  for (const auto& [a, b] : ranges_) {
    const uint64_t size = b - a;
    if (size == std::numeric_limits<uint64_t>::max() ||
        n > std::numeric_limits<uint64_t>::max() - size - 1) {
      return std::numeric_limits<uint64_t>::max();
    }
    n += size + 1;
  }
  return n;
}

bool ValueSet::Covers(uint64_t lo, uint64_t hi) const {
  for (const auto& [a, b] : ranges_) {
    if (a <= lo && hi <= b) return true;
  }
  return false;
}

uint64_t ValueSet::Nth(uint64_t n) const {
  for (const auto& [a, b] : ranges_) {
    if (n <= b - a) return a + n;
    n -= b - a + 1;
  }
  return ranges_.empty() ? 0 : ranges_.back().second;
}

std::vector<ValueTerm> ValueSet::Terms() const {
  std::vector<ValueTerm> terms;
  terms.reserve(ranges_.size());
  for (const auto& [a, b] : ranges_) terms.push_back(ValueTerm::Range(a, b));
  return terms;
}

Match ValueMatch(MatchKind kind, const ValueSet& set, bool negated) {
  Match m;
  m.kind = kind;
  m.negated = negated;
  m.terms = set.Terms();
  return m;
}

Match InterfaceMatch(MatchKind kind, std::vector<std::string> names) {
  Match m;
  m.kind = kind;
  m.interfaces = std::move(names);
  return m;
}

Match MayMatch() {
  Match m;
  m.kind = MatchKind::kMayMatch;
  return m;
}

Match DnatStateMatch(bool dnatted) {
  Match m;
  m.kind = MatchKind::kConnState;
  m.conn_states = kCtDnat;
  m.negated = !dnatted;
  return m;
}

std::optional<int> MaskLength(uint32_t mask) {
  const uint32_t inverted = ~mask;
  if ((inverted & (inverted + 1)) != 0) return std::nullopt;  // not 1…10…0
  int length = 0;
  while (length < 32 && (mask & (uint32_t{1} << (31 - length))) != 0) ++length;
  return length;
}

}  // namespace mamori::netsep
