#include "monitor/scan.h"

#include <algorithm>
#include <array>
#include <deque>
#include <unordered_map>
#include <vector>

#include "monitor/locality.h"

namespace mamori::monitor {
namespace {

constexpr int kZoneNone = -1;
constexpr int kZoneMixed = -2;

// A (host, port) pair as one non-zero key: bit 48 set, host in bits 16..47, port in 0..15.
uint64_t TargetKey(uint32_t host, uint16_t port) {
  return (uint64_t{1} << 48) | (uint64_t{host} << 16) | port;
}
uint32_t KeyHost(uint64_t key) { return static_cast<uint32_t>(key >> 16); }
uint16_t KeyPort(uint64_t key) { return static_cast<uint16_t>(key); }

struct Source {
  int64_t first_us = 0;  // the batch's first event
  int64_t last_us = 0;   // the latest failed attempt or drop (expiry)
  bool open = false;     // the batch has events
  int zone = kZoneNone;  // the source's zone
  KeySet attempts;       // rule 1: unique (host, port) failed attempts
  // Rule 2: the times and targets of the latest drops (a ring of drop_threshold entries).
  std::vector<int64_t> drop_us;
  std::vector<uint64_t> drop_target;  // TargetKey, or 0 when the destination is not IPv4
  uint32_t drop_next = 0;
  uint32_t drops = 0;
  // What the batch's events went to.
  int target_zone = kZoneNone;  // one zone, or kZoneMixed
  bool my_number_target = false;
  // The latest events of the batch (a ring), for evidence.
  std::array<LogLocation, kEvidenceKept> evidence;
  std::array<uint16_t, kEvidenceKept> evidence_port;
  std::array<bool, kEvidenceKept> evidence_has_port;
  uint32_t evidence_next = 0;
  uint32_t evidence_count = 0;
};

enum class Rule { kAttempts, kKnock, kDrops };

class ScanDetectorImpl final : public Detector {
 public:
  ScanDetectorImpl(const netsep::Topology& topology, const ScanOptions& options)
      : locality_(topology), options_(options) {}

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (!e.src.is_v4) return;
    if (e.type != LogType::kConn && e.type != LogType::kFirewall && e.type != LogType::kAlert) {
      return;
    }
    const bool blocked = e.outcome == Outcome::kBlocked;
    const bool failed = e.proto == Proto::kTcp && e.has_ports && e.dst.is_v4 &&
                        (blocked || e.conn_state == "S0" || e.conn_state == "REJ");
    const bool drop = blocked && options_.drop_threshold > 0;
    if (!failed && !drop) return;

    auto it = sources_.find(e.src.v4);
    if (it == sources_.end()) {
      if (sources_.size() >= options_.max_sources) {
        ++sources_not_tracked_;
        return;
      }
      it = sources_.emplace(e.src.v4, Source{}).first;
      it->second.zone = locality_.ZoneOf(e.src.v4);
      expiry_.push_back({e.ts_us, e.src.v4});
    }
    Source& s = it->second;
    if (s.open && e.ts_us - s.last_us >= options_.timeout_us) Reset(s);
    if (!s.open) {
      s.open = true;
      s.first_us = e.ts_us;
      s.last_us = e.ts_us;
    }
    s.last_us = std::max(s.last_us, e.ts_us);

    const bool internal = locality_.Internal(s.zone);
    bool is_new = false;
    if (failed) is_new = s.attempts.Insert(TargetKey(e.dst.v4, e.dport));
    if (is_new || drop) Note(s, e);

    if (is_new) {
      const uint32_t threshold = internal ? options_.local_threshold : options_.remote_threshold;
      if (s.attempts.size() >= threshold) {
        Report(s, e, Rule::kAttempts, threshold, sink);
        return;
      }
      if (!internal && options_.knock_threshold > 0) {
        uint32_t on_port = 0;
        for (uint64_t key : s.attempts.slots()) {
          if (key != 0 && KeyPort(key) == e.dport) ++on_port;
        }
        if (on_port >= options_.knock_threshold) {
          Report(s, e, Rule::kKnock, options_.knock_threshold, sink);
          return;
        }
      }
    }
    if (drop) {
      const uint32_t n = options_.drop_threshold;
      if (s.drop_us.size() != n) {
        s.drop_us.assign(n, 0);
        s.drop_target.assign(n, 0);
      }
      s.drop_us[s.drop_next] = e.ts_us;
      s.drop_target[s.drop_next] = e.dst.is_v4 ? TargetKey(e.dst.v4, e.has_ports ? e.dport : 0) : 0;
      s.drop_next = (s.drop_next + 1) % n;
      s.drops = std::min(s.drops + 1, n);
      // The oldest of the last n drops is where the next one will be written.
      if (s.drops == n && e.ts_us - s.drop_us[s.drop_next] <= options_.drop_window_us) {
        Report(s, e, Rule::kDrops, n, sink);
      }
    }
  }

  // Forgets sources idle for longer than their state can matter. The queue holds one entry per
  // source, roughly in order of last activity: an entry that reaches the front of a source still
  // active goes to the back with its latest time, so each source costs O(1) per timeout.
  void Advance(int64_t now_us, AlertSink& sink) override {
    const int64_t keep = std::max(options_.timeout_us, options_.drop_window_us);
    while (!expiry_.empty() && now_us - expiry_.front().first >= keep) {
      const uint32_t address = expiry_.front().second;
      expiry_.pop_front();
      auto it = sources_.find(address);
      if (it == sources_.end()) continue;
      if (now_us - it->second.last_us >= keep) {
        sources_.erase(it);
      } else {
        expiry_.push_back({it->second.last_us, address});
      }
    }
  }

  void CountDropped(std::map<std::string, uint64_t>& dropped) const override {
    dropped["scan: events of sources not tracked"] += sources_not_tracked_;
  }

 private:
  // Records what an event of the batch went to, and where it is.
  void Note(Source& s, const Event& e) {
    if (e.dst.is_v4) {
      const int zone = locality_.ZoneOf(e.dst.v4);
      if (s.target_zone == kZoneNone) {
        s.target_zone = zone;
      } else if (s.target_zone != zone) {
        s.target_zone = kZoneMixed;
      }
      if (locality_.MyNumber(zone)) s.my_number_target = true;
    }
    s.evidence[s.evidence_next] = LogLocation::Of(e, files_);
    s.evidence_port[s.evidence_next] = e.dport;
    s.evidence_has_port[s.evidence_next] =
        e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp);
    s.evidence_next = (s.evidence_next + 1) % kEvidenceKept;
    s.evidence_count = std::min<uint32_t>(s.evidence_count + 1, kEvidenceKept);
  }

  void Reset(Source& s) {
    s.open = false;
    s.attempts.Clear();
    s.drops = 0;
    s.drop_next = 0;
    s.target_zone = kZoneNone;
    s.my_number_target = false;
    s.evidence_next = 0;
    s.evidence_count = 0;
  }

  void Report(Source& s, const Event& e, Rule rule, uint32_t threshold, AlertSink& sink) {
    // The targets behind the finding: hosts and ports, counted distinct.
    targets_.clear();
    uint64_t weight = 0;
    int64_t first_us = s.first_us;
    if (rule == Rule::kDrops) {
      first_us = e.ts_us;
      for (uint32_t i = 0; i < s.drops; ++i) {
        if (s.drop_target[i] != 0) targets_.push_back(s.drop_target[i]);
        first_us = std::min(first_us, s.drop_us[i]);
      }
      weight = s.drops;
    } else {
      for (uint64_t key : s.attempts.slots()) {
        if (key != 0) targets_.push_back(key);
      }
      weight = s.attempts.size();
    }
    uint32_t on_port = 0;
    for (uint64_t key : targets_) {
      if (KeyPort(key) == e.dport) ++on_port;
    }
    std::sort(targets_.begin(), targets_.end());  // by host, then port
    size_t hosts = 0;
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (i == 0 || KeyHost(targets_[i]) != KeyHost(targets_[i - 1])) ++hosts;
    }
    for (uint64_t& key : targets_) key = KeyPort(key);
    std::sort(targets_.begin(), targets_.end());
    const size_t ports = std::unique(targets_.begin(), targets_.end()) - targets_.begin();

    const bool internal = locality_.Internal(s.zone);
    Finding f;
    f.kind = AlertKind::kScan;
    f.severity = locality_.MyNumber(s.zone) || s.my_number_target ? Severity::kCritical
                 : internal                                       ? Severity::kHigh
                                                                  : Severity::kMedium;
    f.ts_us = e.ts_us;
    f.src = e.src.text;
    char dst[16];
    if (hosts == 1 && e.dst.is_v4) f.dst = FormatIpv4To(e.dst.v4, dst);
    f.proto = e.proto;
    if (s.zone >= 0)
      f.from_zone = {locality_.zone(s.zone).name, locality_.zone(s.zone).description};
    if (s.target_zone >= 0) {
      f.to_zone = {locality_.zone(s.target_zone).name, locality_.zone(s.target_zone).description};
    }
    // Evidence first: the batch's earlier events, oldest first, as findings of weight 0.
    f.weight = 0;
    const uint32_t n = s.evidence_count;
    for (uint32_t k = 0; k + 1 < n; ++k) {
      const uint32_t i = (s.evidence_next + kEvidenceKept - n + k) % kEvidenceKept;
      const LogLocation& where = s.evidence[i];
      f.dport = s.evidence_has_port[i] ? std::optional<uint16_t>(s.evidence_port[i]) : std::nullopt;
      f.file = files_.Name(where.file);
      f.line = where.line;
      f.uid = where.Uid();
      sink.Report(f);
    }
    const double seconds = static_cast<double>(e.ts_us - first_us) / 1e6;
    size_t m = 0;
    if (rule == Rule::kDrops) {
      metrics_[m++] = {"drops", static_cast<double>(weight)};
    } else {
      metrics_[m++] = {"attempts", static_cast<double>(weight)};
    }
    metrics_[m++] = {"hosts", static_cast<double>(hosts)};
    metrics_[m++] = {"ports", static_cast<double>(ports)};
    if (rule == Rule::kKnock) metrics_[m++] = {"port_hosts", static_cast<double>(on_port)};
    metrics_[m++] = {"threshold", static_cast<double>(threshold)};
    if (rule != Rule::kDrops) metrics_[m++] = {"internal_source", internal ? 1.0 : 0.0};
    metrics_[m++] = {"seconds", seconds};
    f.metrics = std::span<const Metric>(metrics_.data(), m);
    f.weight = weight;
    f.dport = e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)
                  ? std::optional<uint16_t>(e.dport)
                  : std::nullopt;
    f.file = e.file;
    f.line = e.line;
    f.uid = e.uid;
    sink.Report(f);
    Reset(s);
  }

  Locality locality_;
  ScanOptions options_;
  FileNames files_;
  std::unordered_map<uint32_t, Source> sources_;
  uint64_t sources_not_tracked_ = 0;
  std::deque<std::pair<int64_t, uint32_t>> expiry_;  // (last activity seen, source)
  std::vector<uint64_t> targets_;                    // scratch for Report
  std::array<Metric, 8> metrics_{};
};

}  // namespace

std::unique_ptr<Detector> MakeScanDetector(const netsep::Topology& topology,
                                           const ScanOptions& options) {
  return std::make_unique<ScanDetectorImpl>(topology, options);
}

}  // namespace mamori::monitor
