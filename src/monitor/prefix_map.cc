#include "monitor/prefix_map.h"

#include <algorithm>

namespace mamori::monitor {

PrefixMap PrefixMap::Build(std::vector<Entry> entries) {
  struct Item {
    uint32_t first;
    uint32_t last;
    int length;
    size_t order;
    uint32_t value;
  };
  std::vector<Item> items;
  items.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const netsep::Prefix& p = entries[i].prefix;
    items.push_back({p.address, p.Last(), p.length, i, entries[i].value});
  }
  entries.clear();
  entries.shrink_to_fit();
  // Outer prefixes before the ones nested in them; equal prefixes in input order.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.length != b.length) return a.length < b.length;
    return a.order < b.order;
  });
  PrefixMap map;
  auto emit = [&map](uint64_t first, uint64_t last, uint32_t value) {
    if (first > last) return;
    if (!map.first_.empty() && map.value_.back() == value &&
        uint64_t{map.last_.back()} + 1 == first) {
      map.last_.back() = static_cast<uint32_t>(last);
      return;
    }
    map.first_.push_back(static_cast<uint32_t>(first));
    map.last_.push_back(static_cast<uint32_t>(last));
    map.value_.push_back(value);
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
  return map;
}

std::optional<uint32_t> PrefixMap::Find(uint32_t address) const {
  auto it = std::upper_bound(first_.begin(), first_.end(), address);
  if (it == first_.begin()) return std::nullopt;
  const size_t i = static_cast<size_t>(it - first_.begin()) - 1;
  if (last_[i] < address) return std::nullopt;
  return value_[i];
}

}  // namespace mamori::monitor
