// Port and address scans (走査) → `scan` alerts, by two rules on one state per source address.
//
// 1. Failed connection attempts, as the maintained Zeek scan policy counts them (the community
//    package ncsa/bro-simple-scan, scripts/scan.zeek, by Justin Azoff: Scan::scan_threshold,
//    local_scan_threshold, knockknock_threshold, scan_timeout). A failed attempt is a TCP
//    connection whose SYN got no answer or was refused: in Zeek conn records, conn_state S0 or
//    REJ (the policy's histories S/SW via connection_attempt and Sr/SWr via
//    connection_rejected); also a TCP packet or flow a firewall or IPS stopped (netfilter
//    DROP/REJECT, EVE flow.action drop/reject or alert.action blocked), which no server
//    answered either. Per source, the unique (destination, port) pairs are counted; a source
//    is reported when it reaches `remote_threshold` (25) unique pairs, or `local_threshold`
//    (250) if the source is internal (locality.h), or — remote sources only — when
//    `knock_threshold` (20) unique hosts were tried on one port. A source's attempts expire
//    `timeout_us` (15 min) after its last failed attempt (the policy's &read_expire).
// 2. Firewall drops (the OSSEC/Wazuh rule 4151 "Multiple Firewall drop events from same
//    source": frequency 18, timeframe 45 s, same_source_ip, over the drop events of rule 4101;
//    its ignore=240 s after firing is replaced here by the reset below): `drop_threshold` (18)
//    events with Outcome::kBlocked — netfilter DROP/REJECT, EVE drop/blocked, any protocol —
//    from one source within `drop_window_us` (45 s), counting the window inclusively. Squid's
//    TCP_DENIED is a proxy refusing a request, not a firewall drop, and is left out.
//
// A finding resets the source's state (both rules), as the policy deletes a reported scanner's
// attempts, so every event stands behind at most one finding; a source that keeps scanning is
// reported again at each new threshold, and the Aggregator adds these into one alert per window.
// The policy instead ignores a reported scanner for an hour; counting on makes the alert's count
// the size of the scan (a lower bound: attempts after the last threshold are not counted).
// The policy's darknet thresholds are not used (the topology has no darknet).
//
// The finding: src the scanner; dst the one host tried when every attempt (or drop) of the batch
// went to one host (a port scan), else none; severity critical when the source or a host it
// tried is in the My Number zone, high when the source is internal, medium otherwise. Metrics:
// rule 1: attempts (unique pairs), hosts, ports, threshold, internal_source (1/0), seconds (first
// to last attempt); the knock rule adds port_hosts (hosts tried on the port that crossed);
// rule 2: drops, hosts, ports, threshold, seconds. Evidence: the log locations of the latest
// kEvidenceKept events of the batch (the last is the one that crossed); the earlier ones are
// reported as findings of weight 0 just before the finding itself.
//
// IPv4 sources only (the topology is IPv4). State: at most `max_sources` sources (further new
// sources are not tracked and their events are counted, see CountDropped), each bounded by the
// thresholds; expired sources are forgotten through a queue (O(1) amortized per source). O(1)
// expected work per event; memory is allocated only when a source is first seen or its table
// grows.
#pragma once

#include <cstdint>
#include <memory>

#include "monitor/detector.h"
#include "netsep/topology.h"

namespace mamori::monitor {

struct ScanOptions {
  uint32_t remote_threshold = 25;  // unique (host, port) failed attempts, external source
  uint32_t local_threshold = 250;  // the same, internal source
  uint32_t knock_threshold = 20;   // unique hosts on one port, external source; 0 = off
  int64_t timeout_us = int64_t{15} * 60 * 1000000;  // attempts expire after this idle time
  uint32_t drop_threshold = 18;                     // blocked events from one source …; 0 = off
  int64_t drop_window_us = int64_t{45} * 1000000;   // … within this time
  size_t max_sources = 100000;                      // sources tracked at once
};

inline constexpr size_t kEvidenceKept = 5;

// `topology` must outlive the detector. CountDropped reports "scan: sources not tracked": the
// failed attempts and drops of new sources seen while max_sources were tracked.
std::unique_ptr<Detector> MakeScanDetector(const netsep::Topology& topology,
                                           const ScanOptions& options);

}  // namespace mamori::monitor
