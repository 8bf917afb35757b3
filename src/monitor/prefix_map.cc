#include "monitor/prefix_map.h"

#include <algorithm>
#include <array>
#include <utility>

namespace mamori::monitor {
namespace {

constexpr size_t kDirectoryFrom = 256;  // intervals
constexpr size_t kDirectorySize = (size_t{1} << 16) + 1;
constexpr size_t kBlockWords = (size_t{1} << 24) / 64;  // a bit per /24
constexpr size_t kWideDigitFrom = size_t{1} << 16;      // entries: radix sort by 16 bits

}  // namespace

PrefixMap PrefixMap::Build(std::vector<Entry> entries) {
  struct Item {  // 16 bytes: the radix passes copy every item several times
    uint32_t first;
    uint32_t last;
    int length;
    uint32_t value;
  };
  std::vector<Item> items;
  items.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const netsep::Prefix& p = entries[i].prefix;
    items.push_back({p.address, p.Last(), p.length, entries[i].value});
  }
  entries.clear();
  entries.shrink_to_fit();
  // Outer prefixes before the ones nested in them; equal prefixes in input order: sorted by
  // (first, length), stably. First by the 32-bit first address with a stable radix sort, eight
  // bits a pass from the lowest (a million blocklist entries in a few passes rather than a
  // comparison sort's twenty), sixteen bits a pass (two passes, not four) when there are more
  // entries than buckets, every pass's counts taken in one reading; then each run of one first
  // address (rare: a network and its first address both listed) stably by length.
  auto sort = [&items]<int kBits>() {
    constexpr size_t kBuckets = size_t{1} << kBits;
    constexpr uint32_t kDigit = kBuckets - 1;
    constexpr int kPasses = 32 / kBits;
    std::vector<size_t> start(kBuckets * kPasses);
    for (const Item& item : items) {
      for (int pass = 0; pass < kPasses; ++pass) {
        ++start[pass * kBuckets + ((item.first >> (pass * kBits)) & kDigit)];
      }
    }
    std::vector<Item> scratch(items.size());
    for (int pass = 0; pass < kPasses; ++pass) {
      size_t* const count = start.data() + pass * kBuckets;
      if (std::find(count, count + kBuckets, items.size()) != count + kBuckets) continue;  // one
      size_t sum = 0;
      for (size_t b = 0; b < kBuckets; ++b) sum += std::exchange(count[b], sum);  // → starts
      const int shift = pass * kBits;
      for (const Item& item : items) scratch[count[(item.first >> shift) & kDigit]++] = item;
      items.swap(scratch);
    }
  };
  if (items.size() >= kWideDigitFrom) {
    sort.template operator()<16>();
  } else {
    sort.template operator()<8>();
  }
  for (size_t i = 1; i < items.size(); ++i) {
    if (items[i].first != items[i - 1].first) continue;
    const size_t run = i - 1;
    while (i + 1 < items.size() && items[i + 1].first == items[run].first) ++i;
    std::stable_sort(items.begin() + static_cast<std::ptrdiff_t>(run),
                     items.begin() + static_cast<std::ptrdiff_t>(i + 1),
                     [](const Item& a, const Item& b) { return a.length < b.length; });
  }
  PrefixMap map;
  // Inline: it runs once or twice per entry (a call each cost a tenth of the build).
  auto emit = [&map](uint64_t first, uint64_t last, uint32_t value) __attribute__((always_inline)) {
    if (first > last) return;
    if (!map.intervals_.empty() && map.intervals_.back().value == value &&
        uint64_t{map.intervals_.back().last} + 1 == first) {
      map.intervals_.back().last = static_cast<uint32_t>(last);
      return;
    }
    map.intervals_.push_back({static_cast<uint32_t>(first), static_cast<uint32_t>(last), value});
  };
  std::vector<const Item*> open;  // nested prefixes, innermost last
  uint64_t cursor = 0;            // the first address not yet emitted
  for (const Item& item : items) {
    while (!open.empty() && open.back()->last < item.first) {
      emit(cursor, open.back()->last, open.back()->value);
      cursor = uint64_t{open.back()->last} + 1;
      open.pop_back();
    }
    if (!open.empty() && open.back()->first == item.first && open.back()->length == item.length) {
      continue;  // the same prefix again: the first one wins
    }
    if (!open.empty() && item.first > 0) emit(cursor, uint64_t{item.first} - 1, open.back()->value);
    cursor = std::max<uint64_t>(cursor, item.first);
    open.push_back(&item);
  }
  while (!open.empty()) {
    emit(cursor, open.back()->last, open.back()->value);
    cursor = uint64_t{open.back()->last} + 1;
    open.pop_back();
  }
  if (map.intervals_.size() < kDirectoryFrom) {
    // Small maps (zones): the answer of every /16 that one interval covers whole, or that none
    // touches, in one byte.
    bool small_values = true;
    for (const Interval& interval : map.intervals_) small_values &= interval.value < kSearch16;
    if (small_values && !map.intervals_.empty()) {
      map.by16_.assign(size_t{1} << 16, kNone16);
      for (const Interval& interval : map.intervals_) {
        for (uint32_t h = interval.first >> 16;; ++h) {
          const uint64_t block_first = uint64_t{h} << 16, block_last = block_first | 0xFFFF;
          const bool whole = interval.first <= block_first && interval.last >= block_last;
          // Several intervals in one block, or one not covering it whole: search.
          map.by16_[h] =
              whole && map.by16_[h] == kNone16 ? static_cast<uint8_t>(interval.value) : kSearch16;
          if (h == interval.last >> 16) break;
        }
      }
    }
  } else {
    map.directory_.resize(kDirectorySize);
    size_t i = 0;
    for (uint64_t h = 0; h < kDirectorySize; ++h) {
      const uint64_t start = h << 16;
      while (i < map.intervals_.size() && map.intervals_[i].first <= start) ++i;
      map.directory_[h] = static_cast<uint32_t>(i);
    }
    // Every /24 an interval touches.
    map.blocks_.assign(kBlockWords, 0);
    for (const Interval& interval : map.intervals_) {
      for (uint32_t b = interval.first >> 8;; ++b) {
        map.blocks_[b >> 6] |= uint64_t{1} << (b & 63);
        if (b == interval.last >> 8) break;
      }
    }
  }
  return map;
}

std::optional<uint32_t> PrefixMap::Search(uint32_t address) const {
  auto begin = intervals_.begin();
  auto end = intervals_.end();
  if (!blocks_.empty() && (blocks_[address >> 14] >> (address >> 8 & 63) & 1) == 0) {
    return std::nullopt;  // no interval in its /24
  }
  if (!directory_.empty()) {
    // The first interval starting after `address` lies between the first one starting after
    // the start of its /16 and the first one starting after the start of the next /16.
    const uint32_t h = address >> 16;
    begin = intervals_.begin() + directory_[h];
    end = intervals_.begin() + directory_[h + 1];
  }
  // The first interval starting after `address`: a /16 holds a few, read in a row (no
  // mispredicted halving); more are halved.
  auto it = begin;
  if (end - begin <= 16) {
    while (it != end && it->first <= address) ++it;
  } else {
    it = std::upper_bound(begin, end, address,
                          [](uint32_t a, const Interval& i) { return a < i.first; });
  }
  if (it == intervals_.begin()) return std::nullopt;
  --it;
  if (it->last < address) return std::nullopt;
  return it->value;
}

PrefixMap6::Address MaskIpv6(const PrefixMap6::Address& address, int length) {
  PrefixMap6::Address out{};
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(length - 8 * i, 0, 8);
    out[i] = keep == 0 ? 0 : static_cast<uint8_t>(address[i] & (0xFF << (8 - keep)));
  }
  return out;
}

size_t PrefixMap6::Hash::operator()(const Address& a) const {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (uint8_t b : a) h = (h ^ b) * 0x100000001b3ull;
  return static_cast<size_t>(h);
}

PrefixMap6 PrefixMap6::Build(const std::vector<Entry>& entries) {
  PrefixMap6 map;
  for (const Entry& e : entries) {
    auto level = std::find_if(map.lengths_.begin(), map.lengths_.end(),
                              [&](const Level& l) { return l.length == e.length; });
    if (level == map.lengths_.end()) {
      map.lengths_.push_back({e.length, {}});
      level = map.lengths_.end() - 1;
    }
    level->networks.emplace(MaskIpv6(e.network, e.length), e.value);  // the first one stays
  }
  std::sort(map.lengths_.begin(), map.lengths_.end(),
            [](const Level& a, const Level& b) { return a.length > b.length; });
  return map;
}

std::optional<uint32_t> PrefixMap6::Find(const Address& address) const {
  for (const Level& level : lengths_) {
    const auto it = level.networks.find(MaskIpv6(address, level.length));
    if (it != level.networks.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace mamori::monitor
