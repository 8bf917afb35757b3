// Beaconing (不正プログラムの定期的な通信, 基本方針 §6(3)イ・§6(7)) in observed traffic: the
// `beacon` detector scores how regularly an inside host talks to one outside destination with
// RITA v5's method (beacon_score.h) and reports the pairs that score at least `min_score`.
//
// Pairs, as RITA forms them (activecm/rita analysis/spagooper.go): source address → destination
// address ("ip" pairs, from connection records: Zeek conn, EVE flow and netflow), and source
// address → server name ("sni" pairs: the TLS SNI or HTTP Host of a Zeek ssl/http or EVE
// tls/http record, whose time is that record's and whose size is the one of the connection
// record with the same uid or flow_id). An ip pair whose connections also belong to an sni pair
// that is scored is left out, as RITA leaves it out. Only connections from inside to outside
// are analysed (RITA's internal_subnets filter): the source must lie in a zone of the topology
// and the destination in no zone or only in a catch-all zone (a 0.0.0.0/0 network, such as the
// demo's `internet`). IPv4 only.
//
// The data set: RITA scores a day of logs. Here a data set is an event-time window of
// `window_us` (24 h by default) that opens at the first connection analysed; it is scored when
// event time reaches its end (Advance) and at Finish, and the next connection opens the next
// one. The span the histogram and the coverage use is the earliest to the latest connection
// analysed in the window (RITA: the import's min and max timestamps, at most 24 h apart).
//
// A pair with at least `strobe_connections` connections in the window is a strobe (RITA: 86,400
// a day): reported as a `beacon` alert with the metric "strobe" and not scored.
//
// Memory is bounded: at most `max_pairs` pairs and `max_connections` stored connections (8 bytes
// each: 32-bit second offsets and sizes) per window; what does not fit is counted in
// BeaconStats, never silently lost. The topology must outlive the detector; `stats`, if given,
// too. Not thread-safe (one detector per pipeline).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "monitor/beacon_score.h"
#include "monitor/detector.h"
#include "netsep/topology.h"

namespace mamori::monitor {

struct BeaconOptions {
  // The data set: event-time window scored as one (24 h: RITA's day). At most 366 days.
  int64_t window_us = int64_t{86400} * 1000000;
  // Pairs scoring below this are not reported: RITA's "medium" threshold (score_thresholds 70).
  // RITA's base (0.5) lists more, but without RITA's prevalence and first-seen modifiers the
  // destinations every terminal uses all day also score 0.5-0.7, too many to alert on.
  double min_score = 0.7;
  // RITA's strobe: connections of one pair in the window (86,400 = one a second for a day).
  uint64_t strobe_connections = 86400;
  uint64_t max_pairs = 200000;
  uint64_t max_connections = 16000000;  // stored connections, all pairs (8 bytes each)
  BeaconParams params;
};

// What the detector did; counters over the whole run.
struct BeaconStats {
  uint64_t windows = 0;       // data sets scored
  uint64_t connections = 0;   // connections analysed (inside → outside)
  uint64_t pairs_scored = 0;  // pairs with enough connections to score
  uint64_t beacons = 0;       // pairs reported (score ≥ min_score)
  uint64_t strobes = 0;
  uint64_t dropped_pairs = 0;        // connections of new pairs not kept: max_pairs reached
  uint64_t dropped_connections = 0;  // connections not kept: max_connections reached
  uint64_t late = 0;                 // connections older than the window they arrived in
  uint64_t unjoined = 0;  // TLS/HTTP names whose connection record never came (or was forgotten)
};

// `stats` may be null.
std::unique_ptr<Detector> MakeBeaconDetector(const netsep::Topology& topology,
                                             const BeaconOptions& options,
                                             BeaconStats* stats = nullptr);

// One line for the run summary (standard error), Japanese with English: what was scored and
// what was dropped.
std::string BeaconStatsToText(const BeaconStats& stats);

}  // namespace mamori::monitor
