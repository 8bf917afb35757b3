// Large outbound transfers (情報の持ち出し) → `exfiltration` alerts.
//
// Per internal host (locality.h), the bytes it sent to external addresses (bytes_out: Zeek
// orig_bytes, EVE bytes_toserver or netflow bytes) in each window of event time (`window_us`,
// 1 hour, aligned to the epoch) are summed from connection records (Zeek conn, EVE flow and
// netflow) that were not blocked. When a window closes (event time passes its end, or the input
// ends) the host is reported if its bytes
//   - reach the absolute limit `limit_bytes` (1 GiB; 0 = off), or
//   - exceed its own baseline: with at least `min_history` (12) past windows known, bytes >
//     mean + `sigmas` (3) × standard deviation (population) of its last `history_windows` (24)
//     windows — windows in which it sent nothing count as 0 — and bytes ≥ `min_bytes` (100 MiB),
//     so a host that normally sends little is not reported for a few megabytes.
// A record counts in the window of its own time (Zeek conn: the connection's start; EVE: when
// the record was written); a record older than the current window counts in the current one.
// EVE writing both flow and netflow records for one flow counts it twice.
//
// The finding: ts the window's start; src the host; dst the external address it sent most to in
// the window (tracked among kTopDestinations per host, approximate beyond); weight the records
// summed; severity critical when the host is in the My Number zone, high over the limit, medium
// over the baseline only. Metrics: bytes, records, limit, baseline_windows, baseline_mean,
// baseline_stddev, baseline_threshold (mean + k·σ; 0 without enough history), dst_bytes,
// window_seconds. Evidence: the largest records of the window (weight-0 findings first).
//
// State: at most `max_hosts` hosts (records of further hosts are counted by CountDropped),
// each a fixed ring of history_windows counts; hosts silent for history_windows windows are
// forgotten. O(1) expected work per record; a host's memory is allocated when it is first seen.
#pragma once

#include <cstdint>
#include <memory>

#include "monitor/detector.h"
#include "netsep/topology.h"

namespace mamori::monitor {

struct ExfiltrationOptions {
  int64_t window_us = int64_t{3600} * 1000000;
  uint64_t limit_bytes = uint64_t{1} << 30;  // per window; 0 = no absolute limit
  uint32_t history_windows = 24;             // past windows kept per host (>= 1)
  uint32_t min_history = 12;                 // past windows needed for the baseline; 0 = off
  double sigmas = 3.0;
  uint64_t min_bytes = uint64_t{100} << 20;  // baseline findings only from this many bytes
  size_t max_hosts = 100000;
};

inline constexpr size_t kTopDestinations = 8;

// `topology` must outlive the detector.
std::unique_ptr<Detector> MakeExfiltrationDetector(const netsep::Topology& topology,
                                                   const ExfiltrationOptions& options);

}  // namespace mamori::monitor
