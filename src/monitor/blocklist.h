// Blocklists (遮断リスト): plain text files, one entry per line — an IPv4 address, an IPv4
// CIDR range or a domain name — with `#` comments (whole lines or after the entry) and blank
// lines. A domain also matches its subdomains ("example.jp" matches "www.example.jp"); a
// leading "*." or "." means the same. Names are compared in lower case; a trailing dot is
// ignored. IPv6 entries are refused (not supported yet), as is anything else: every error names
// the file and line.
//
// Built for millions of entries: addresses go into a PrefixMap (one binary search per lookup),
// domains into an open-addressing hash table over one arena of names (a lookup hashes the name
// and each parent; nothing is allocated).
//
// Immutable after Load; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "monitor/detector.h"
#include "monitor/prefix_map.h"

namespace mamori::monitor {

inline constexpr size_t kMaxBlocklistBytes = size_t{1} << 30;

struct BlocklistFile {
  std::string name;  // for messages and alerts
  std::string text;
};

class Blocklist {
 public:
  struct Match {
    std::string_view entry;  // as written (lower case for domains)
    std::string_view file;
    uint32_t line = 0;
  };

  // Errors: kInvalidInput "file:line: …" for a line that is not an entry, kTooLarge for a file
  // above kMaxBlocklistBytes.
  static Result<Blocklist> Load(std::span<const BlocklistFile> files);

  std::optional<Match> MatchAddress(uint32_t address) const;
  // An IPv6 address (16 bytes, network order).
  std::optional<Match> MatchAddress6(const PrefixMap6::Address& address) const;
  // The address an event's text names, IPv4 or IPv6 ("[…]" accepted).
  std::optional<Match> MatchAddress(const Address& address) const;
  // The same, IPv4 lookups through the caller's `memo` (prefix_map.h).
  std::optional<Match> MatchAddress(const Address& address, PrefixMapMemo& memo) const;
  // Whether MatchAddress(address, memo) finds an entry, without making the match: most
  // addresses of a log are on no list, and this answers them inline.
  bool Lists(const Address& address, PrefixMapMemo& memo) const {
    if (!address.is_v4) return MatchAddress(address).has_value();
    return address_count_ != 0 && memo.Find(addresses_, address.v4).has_value();
  }
  // Asks for the memory Lists(address, memo) reads to be loaded (IPv4; nothing for IPv6).
  void Prefetch(const Address& address, const PrefixMapMemo& memo) const {
    if (address.is_v4 && address_count_ != 0) memo.Prefetch(addresses_, address.v4);
  }
  // `name`, or the nearest parent domain, listed? `name` may be in any case and end in a dot;
  // names longer than 253 bytes never match.
  std::optional<Match> MatchDomain(std::string_view name) const;

  size_t address_entries() const { return address_count_; }
  size_t domain_entries() const { return domain_count_; }
  bool empty() const { return address_count_ == 0 && domain_count_ == 0; }

 private:
  struct Entry {
    uint32_t offset;  // into arena_
    uint32_t length;
    uint32_t file;
    uint32_t line;
  };
  Match MatchOf(const Entry& entry) const;
  std::optional<uint32_t> FindDomain(std::string_view lower) const;
  void InsertDomain(uint32_t entry);

  std::vector<std::string> files_;
  std::string arena_;              // entry texts
  std::vector<Entry> entries_;     // addresses and domains
  PrefixMap addresses_;            // value: index into entries_
  PrefixMap6 addresses6_;          // value: index into entries_
  std::vector<uint32_t> domains_;  // hash slots: entry index + 1, 0 empty; size a power of two
  size_t address_count_ = 0;       // IPv4 and IPv6
  size_t domain_count_ = 0;
};

// Blocklist hits on any event: the source or destination address, the DNS query, HTTP host or
// TLS SNI → a `blocklist` alert (high). One finding per event (the destination address, then
// the names, then the source). `blocklist` must outlive the detector.
std::unique_ptr<Detector> MakeBlocklistDetector(const Blocklist& blocklist);

}  // namespace mamori::monitor
