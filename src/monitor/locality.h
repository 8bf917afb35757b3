// What the windowed detectors (scan, exfiltration, dns_tunnel, beacon) need from the topology and
// the log: which addresses are internal, and a compact copy of an event's log location that can be
// kept after the event is gone (events are views, see event.h).
//
// Internal (内部): an IPv4 address in a zone of the topology none of whose networks is the
// catch-all 0.0.0.0/0. The zone holding 0.0.0.0/0 (the demo's `internet`) and addresses in no
// zone at all are external (外部). "Local" in the scan policy and "internal host" in the
// exfiltration detector both mean internal in this sense; "outbound" means from an internal
// address to an external one. IPv6 addresses are in no zone (the topology is IPv4) and so are
// external; the detectors that key state by address skip them.
//
// Locality is immutable after construction and references the topology, which must outlive
// it. FileNames and LogLocation are plain values owned by one detector.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "monitor/event.h"
#include "monitor/prefix_map.h"
#include "netsep/topology.h"

namespace mamori::monitor {

class Locality {
 public:
  explicit Locality(const netsep::Topology& topology);

  // The index (into topology.zones) of the zone of `address`, -1 when none. Several detectors
  // ask for the zones of both addresses of every event: most are answered by their /16 block.
  // (PrefixMap::Find answers them from its byte per /16 block.)
  int ZoneOf(uint32_t address) const {
    const std::optional<uint32_t> found = zones_.Find(address);
    return found ? static_cast<int>(*found) : -1;
  }
  // Zone `index` (>= 0) is internal: it has networks and none of them is 0.0.0.0/0.
  bool Internal(int index) const { return index >= 0 && internal_[index] != 0; }
  // Zone `index` (>= 0) is the My Number zone (kMyNumberZone, separation.h).
  bool MyNumber(int index) const { return index >= 0 && index == my_number_; }
  const netsep::Zone& zone(int index) const { return topology_.zones[index]; }
  // The first zone holding 0.0.0.0/0 (the outside, e.g. the demo's `internet`), -1 when none.
  int catch_all() const { return catch_all_; }

 private:
  const netsep::Topology& topology_;
  PrefixMap zones_;
  std::vector<uint8_t> internal_;  // 1: internal (bytes, not bits: one load)
  int my_number_ = -1;
  int catch_all_ = -1;
};

// A set of non-zero 64-bit keys (a scan's (host, port) targets, a tunnel's name hashes): open
// addressing, linear probing, at most half full. No allocation once grown.
class KeySet {
 public:
  // True when `key` was not in the set.
  bool Insert(uint64_t key) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == key) return false;
      if (slots_[i] == 0) {
        slots_[i] = key;
        ++size_;
        return true;
      }
    }
  }
  void Clear() {
    std::fill(slots_.begin(), slots_.end(), 0);
    size_ = 0;
  }
  size_t size() const { return size_; }
  const std::vector<uint64_t>& slots() const { return slots_; }  // 0 = empty

 private:
  static size_t Hash(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 20; }
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
    size_ = 0;
    for (uint64_t key : old) {
      if (key != 0) Insert(key);
    }
  }

  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

// The names of the inputs, interned so a kept location costs an index, not a string. Found by
// a hash (a syslog listener meets many senders over a run), the last one first.
class FileNames {
 public:
  uint32_t Intern(std::string_view name);
  std::string_view Name(uint32_t index) const { return names_[index]; }
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> index_;
  uint32_t last_ = 0;
};

// Where an event is: file (a FileNames index), line and uid (Zeek uid, EVE flow_id; cut at
// kMaxUid bytes).
struct LogLocation {
  static constexpr size_t kMaxUid = 31;
  uint32_t file = 0;
  uint64_t line = 0;
  uint8_t uid_size = 0;
  char uid[kMaxUid];

  static LogLocation Of(const Event& event, FileNames& files);
  std::string_view Uid() const { return {uid, uid_size}; }
};

// "10.0.0.1" into `buffer` (at least 16 bytes); returns the view of it.
std::string_view FormatIpv4To(uint32_t address, char* buffer);

}  // namespace mamori::monitor
