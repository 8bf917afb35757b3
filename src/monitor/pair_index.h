// The beacon detector's index of pairs (beacon.cc): an open-addressing map from a 64-bit key
// (source and destination address) to a pair index, in a header of its own for its tests; not
// meant for other uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "monitor/prefetch.h"

namespace mamori::monitor {

// An open-addressing map from a 64-bit key (source and destination address) to a pair index:
// one probe sequence (the node-based std::unordered_map cost several cache misses per event and
// was most of the detector's time). Each slot has a one-byte tag in an array of its own (0:
// empty, else 8 bits of the key's hash): a probe reads the tags, a slot's key only when its tag
// agrees. Most lookups of a day's log are for pairs not in the index (new ones, and once the
// pair limit is reached every untracked one) and end in the tags: a sixteenth of the slots'
// memory, more often in the cache.
class PairIndex {
 public:
  // The index stored for `key`, if any.
  std::optional<uint32_t> Find(uint64_t key) const {
    if (tags_.empty()) return std::nullopt;
    const uint64_t hash = Hash(key);
    const uint8_t tag = TagOf(hash);
    for (size_t i = Home(hash);; i = (i + 1) & mask_) {
      const uint8_t t = tags_[i];
      if (t == 0) return std::nullopt;
      if (t == tag && slots_[i].key == key) return slots_[i].index;
    }
  }
  // Asks for the tag where Find(key) starts to be loaded.
  void Prefetch(uint64_t key) const {
    if (!tags_.empty()) PrefetchLine(&tags_[Home(Hash(key))]);
  }
  // Precondition: `key` is absent.
  void Insert(uint64_t key, uint32_t index) {
    if ((size_ + 1) * 2 > tags_.size()) Grow();
    const uint64_t hash = Hash(key);
    size_t i = Home(hash);
    while (tags_[i] != 0) i = (i + 1) & mask_;
    tags_[i] = TagOf(hash);
    slots_[i] = {key, index};
    ++size_;
  }
  void Clear() {
    std::vector<uint8_t>().swap(tags_);
    std::vector<Slot>().swap(slots_);
    size_ = 0;
    mask_ = 0;
  }

  // Fibonacci hashing: the multiplication spreads the address bits over the high bits; the home
  // slot takes bits from 32 up (below the tag's for up to 2^24 slots; beyond, tags filter less,
  // answers stay right), the tag the top 8. Public for tests (keys made to share a home and a
  // tag).
  static constexpr uint64_t kMultiplier = 0x9E3779B97F4A7C15ull;
  static uint64_t Hash(uint64_t key) { return key * kMultiplier; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t index = 0;
  };
  static_assert(sizeof(Slot) == 16);  // a tag is a sixteenth of it
  static uint8_t TagOf(uint64_t hash) {
    const auto tag = static_cast<uint8_t>(hash >> 56);
    return tag == 0 ? 1 : tag;
  }
  size_t Home(uint64_t hash) const { return static_cast<size_t>(hash >> 32) & mask_; }
  void Grow() {
    std::vector<uint8_t> old_tags = std::move(tags_);
    std::vector<Slot> old = std::move(slots_);
    const size_t size = old.empty() ? 1024 : old.size() * 2;
    tags_.assign(size, 0);
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    size_ = 0;
    for (size_t i = 0; i < old.size(); ++i) {
      if (old_tags[i] != 0) Insert(old[i].key, old[i].index);
    }
  }
  std::vector<uint8_t> tags_;  // power-of-two size, at most half full
  std::vector<Slot> slots_;    // the same size
  size_t size_ = 0;
  size_t mask_ = 0;
};

}  // namespace mamori::monitor
