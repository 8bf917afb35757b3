// The detector interface of `mamori monitor`. The pipeline (monitor.h) hands every event, in
// input order, to each detector; a detector reports findings to the AlertSink (the Aggregator,
// which deduplicates per (kind, src, dst) and window). Detectors that keep state per window
// (scans, beacons, exfiltration, DNS tunnelling: later) report when event time passes the end
// of a window (Advance) and at the end of the input (Finish).
//
// Events are views valid only during OnEvent: copy what you keep. A detector is used by one
// thread; it owns its state; what it references (topology, blocklists) must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "monitor/alert.h"
#include "monitor/event.h"

namespace mamori::monitor {

class Detector {
 public:
  virtual ~Detector() = default;
  // Sees each event once, in input order.
  virtual void OnEvent(const Event& event, AlertSink& sink) = 0;
  // Called with each event before any detector's OnEvent sees it: a detector may ask for the
  // memory its OnEvent will read (a slot of a large table) to be loaded, so that the other
  // detectors' work hides the wait. A hint only: it must not change what OnEvent does.
  virtual void Prefetch(const Event& event) {}
  // Whether Prefetch does anything (only those that do are called).
  virtual bool Prefetches() const { return false; }
  // Event time (the latest event time seen) has reached `now_us`; called at most once per
  // second of event time, before the event that moved it is passed to OnEvent.
  virtual void Advance(int64_t now_us, AlertSink& sink) {}
  // The input has ended: report what is still open.
  virtual void Finish(AlertSink& sink) {}
  // What the detector gave up to keep its state bounded (events of sources it could not track,
  // …), for the summary: adds to dropped["what"] (English). Default: nothing.
  virtual void CountDropped(std::map<std::string, uint64_t>& dropped) const {}
};

}  // namespace mamori::monitor
