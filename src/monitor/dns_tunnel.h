// DNS tunnelling (DNS トンネリング) → `dns_tunnel` alerts.
//
// Data carried in DNS queries shows as many distinct, long or random-looking names under one
// domain. Per source address and registered domain (eTLD+1 from the Public Suffix List, via
// libpsl: the list the system's `publicsuffix` package installs, or libpsl's built-in one if
// that is older), within a window of event time (`window_us`, 1 hour, aligned to the epoch),
// the detector counts the distinct subdomains (the name before the registered domain) that are
// unusual: at least `long_length` (40) characters, or at least `entropy_min_length` (20)
// characters with a Shannon entropy of at least `entropy_bits` (3.6) bits per character. The
// pair is reported when it reaches `threshold` (50) distinct unusual names; then its count
// starts again, so a tunnel that goes on adds one finding per `threshold` names to the alert.
//
// Names are compared lowercased (ASCII), without a trailing dot; IDN labels stay as written
// (punycode "xn--…" as in the query). Reverse lookups (in-addr.arpa, ip6.arpa) and names that
// are themselves public suffixes are skipped. Queries come from Zeek dns.log and EVE dns
// records (an EVE answer repeats its query; the name is counted once either way).
//
// The finding: src the querying host (IPv4 or IPv6); dst the DNS server it asked (the last
// query's); indicator the registered domain (named in the detail); severity critical when the
// source is in the My Number zone, high otherwise; weight the distinct unusual names. Metrics:
// names, threshold, queries (the pair's queries in the window so far whose name is long enough
// to be unusual),
// mean_length, max_length, mean_entropy (of the unusual names), window_seconds. Evidence: the
// latest unusual queries (weight-0 findings first).
//
// Known false positives: anti-virus and reputation lookups (e.g. hashes under a vendor's
// domain) and some CDNs look the same; raise the threshold or filter the log for them.
//
// State: at most `max_pairs` (source, domain) pairs per window (queries of further pairs are
// counted by CountDropped), each holding at most `threshold` name hashes; all of it is dropped
// when a new window starts. Per query: one lowercase copy into a fixed buffer, one PSL lookup
// (names too short to be unusual are skipped before it), one hash lookup.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "monitor/detector.h"
#include "netsep/topology.h"

namespace mamori::monitor {

struct DnsTunnelOptions {
  int64_t window_us = int64_t{3600} * 1000000;
  uint32_t threshold = 50;  // distinct unusual names per (source, domain) and window (>= 1)
  uint32_t long_length = 40;
  uint32_t entropy_min_length = 20;
  double entropy_bits = 3.6;
  size_t max_pairs = 100000;
};

// The registered domain (eTLD+1) of a name by the Public Suffix List. Not thread-safe to create;
// lookups are safe from one thread.
class PublicSuffixList {
 public:
  virtual ~PublicSuffixList() = default;
  // `name` lowercase, without a trailing dot. nullopt when the name is a public suffix itself
  // (or empty). The view points into `name`.
  virtual std::optional<std::string_view> RegisteredDomain(std::string_view name) const = 0;
  // The list the system installs (newer of it and libpsl's built-in list).
  static Result<std::unique_ptr<PublicSuffixList>> Load();
};

// Shannon entropy of the bytes of `text`, in bits per byte (0 for "").
double ShannonEntropy(std::string_view text);

// `topology` and `psl` must outlive the detector.
std::unique_ptr<Detector> MakeDnsTunnelDetector(const netsep::Topology& topology,
                                                const PublicSuffixList& psl,
                                                const DnsTunnelOptions& options);

}  // namespace mamori::monitor
