#include "monitor/beacon.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/text.h"
#include "monitor/locality.h"
#include "monitor/pair_index.h"

namespace mamori::monitor {
namespace {

constexpr int64_t kSecondUs = 1000000;
// Connections whose TLS or HTTP record arrived but whose connection record has not yet: at most
// this many are remembered (oldest forgotten first, counted as unjoined in the summary line).
constexpr size_t kMaxPendingNames = 262144;
// Distinct sni pairs an ip pair remembers sharing connections with; beyond, it counts as
// sharing with a scored one (RITA would leave it out as soon as one of them is scored).
constexpr size_t kMaxLinks = 8;

std::string Dotted(uint32_t a) {
  return Cat(std::to_string(a >> 24), ".", std::to_string((a >> 16) & 0xff), ".",
             std::to_string((a >> 8) & 0xff), ".", std::to_string(a & 0xff));
}

// FNV-1a of the uid or flow_id: the key of the pending-name table (64 bits; a collision would
// join a name to the wrong connection, with odds of about n²/2⁶⁵).
uint64_t HashUid(std::string_view uid) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : uid) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A pair's stored connections, in the order added: the first one inline, the others in a
// vector. Most pairs of a day have one connection (a destination contacted once), so most pairs
// allocate nothing.
class Connections {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint64_t operator[](size_t i) const { return i == 0 ? first_ : rest_[i - 1]; }
  void push_back(uint64_t connection) {
    if (size_ == 0) {
      first_ = connection;
    } else {
      rest_.push_back(connection);
    }
    ++size_;
  }
  // Empty, the memory given back.
  void Release() {
    std::vector<uint64_t>().swap(rest_);
    size_ = 0;
  }

 private:
  uint64_t first_ = 0;
  size_t size_ = 0;
  std::vector<uint64_t> rest_;
};

int64_t FloorSeconds(int64_t us) {
  return us >= 0 ? us / kSecondUs : -((-us + kSecondUs - 1) / kSecondUs);
}

class BeaconDetector final : public Detector {
 public:
  BeaconDetector(const netsep::Topology& topology, const BeaconOptions& options, BeaconStats* stats)
      : topology_(topology),
        locality_(topology),
        options_(options),
        stats_(stats != nullptr ? stats : &own_stats_) {
    // At most 366 days, so that offsets from one window before the start fit in 32 bits.
    window_s_ = std::clamp<int64_t>(options_.window_us / kSecondUs, 1, int64_t{366} * 86400);
  }

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (e.type == LogType::kConn) {
      OnConnection(e, sink);
    } else if ((e.type == LogType::kTls && !e.tls_sni.empty()) ||
               (e.type == LogType::kHttp && !e.http_host.empty())) {
      OnName(e, e.type == LogType::kTls ? e.tls_sni : e.http_host, sink);
    }
  }

  // The pair index's tag where OnConnection's lookup starts (the index of a day's outbound pairs
  // is megabytes: most lookups would miss the cache).
  bool Prefetches() const override { return true; }
  void Prefetch(const Event& e) override {
    if (e.type != LogType::kConn || !e.src.is_v4 || !e.dst.is_v4) return;
    if (InsideZone(e.src.v4) < 0 || InsideZone(e.dst.v4) >= 0) return;
    ip_index_.Prefetch(uint64_t{e.src.v4} << 32 | e.dst.v4);
  }

  void Advance(int64_t now_us, AlertSink& sink) override {
    if (open_ && FloorSeconds(now_us) >= end_s_) Close(sink);
  }

  void Finish(AlertSink& sink) override { Close(sink); }

 private:
  // Hot fields first: an event touches count, first_s and conns (together, the first connection
  // stored there: usually one cache line), and for later connections their storage (one more).
  struct Pair {
    uint64_t count = 0;           // connections in the window, stored or not
    int64_t first_s = INT64_MAX;  // the earliest connection
    // One entry a connection: seconds since base_s_ (high 32 bits) and bytes saturated at
    // 2³² − 1 (low 32 bits), together so that storing one costs one cache miss.
    Connections conns;
    uint32_t src = 0;
    uint32_t dst = 0;  // ip pairs
    int src_zone = -1;
    bool sni = false;
    bool has_dport = false;
    uint16_t dport = 0;
    Proto proto = Proto::kUnknown;
    bool many_links = false;
    uint32_t file = 0;  // evidence: the first connection
    uint64_t line = 0;
    std::string name;             // sni pairs: the server name
    std::vector<uint32_t> links;  // ip pairs: sni pairs sharing connections
  };
  struct Pending {
    uint32_t sni_pair = 0;
    uint32_t offset = 0;
  };

  // The zone of an inside (internal, locality.h) address, -1 when the address is outside.
  int InsideZone(uint32_t address) const {
    const int zone = locality_.ZoneOf(address);
    return locality_.Internal(zone) ? zone : -1;
  }

  // Opens the window if needed; false when the connection at `ts_s` cannot be kept (too old).
  bool Place(int64_t ts_s, AlertSink& sink) {
    if (open_ && ts_s >= end_s_) Close(sink);
    if (!open_) {
      open_ = true;
      end_s_ = ts_s + window_s_;
      // Connections up to one window older than the first are kept (a second input file may
      // start earlier than the first did): offsets are taken from one window before it.
      base_s_ = ts_s - window_s_;
      min_s_ = max_s_ = ts_s;
    }
    if (ts_s < base_s_) {
      ++stats_->late;
      return false;
    }
    return true;
  }

  Pair* NewPair(const Event& e, int src_zone) {
    if (pairs_.size() >= options_.max_pairs) {
      ++stats_->dropped_pairs;
      return nullptr;
    }
    Pair& p = pairs_.emplace_back();
    p.src = e.src.v4;
    p.src_zone = src_zone;
    p.proto = e.proto;
    if (e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)) {
      p.has_dport = true;
      p.dport = e.dport;
    }
    p.file = files_.Intern(e.file);
    p.line = e.line;
    return &p;
  }

  void Add(Pair& p, uint32_t offset, uint64_t size) {
    ++p.count;
    p.first_s = std::min(p.first_s, base_s_ + offset);
    if (p.count >= options_.strobe_connections) {
      // A strobe: its times are no longer needed.
      if (!p.conns.empty()) {
        stored_ -= p.conns.size();
        p.conns.Release();
      }
      return;
    }
    if (stored_ >= options_.max_connections) {
      ++stats_->dropped_connections;
      return;
    }
    p.conns.push_back(uint64_t{offset} << 32 | std::min<uint64_t>(size, UINT32_MAX));
    ++stored_;
  }

  void OnConnection(const Event& e, AlertSink& sink) {
    if (!e.src.is_v4 || !e.dst.is_v4) return;
    const int src_zone = InsideZone(e.src.v4);
    if (src_zone < 0 || InsideZone(e.dst.v4) >= 0) return;
    const int64_t ts_s = FloorSeconds(e.ts_us);
    if (!Place(ts_s, sink)) return;
    ++stats_->connections;
    min_s_ = std::min(min_s_, ts_s);
    max_s_ = std::max(max_s_, ts_s);
    const uint64_t size = e.has_ip_bytes ? e.ip_bytes_out : e.bytes_out;

    const uint64_t key = uint64_t{e.src.v4} << 32 | e.dst.v4;
    Pair* pair = nullptr;
    if (const std::optional<uint32_t> index = ip_index_.Find(key)) {
      pair = &pairs_[*index];
    } else if ((pair = NewPair(e, src_zone)) != nullptr) {
      pair->dst = e.dst.v4;
      ip_index_.Insert(key, static_cast<uint32_t>(pairs_.size() - 1));
    }
    if (pair != nullptr) Add(*pair, static_cast<uint32_t>(ts_s - base_s_), size);

    // The TLS or HTTP record of this connection came first: the sni pair gets its time and this
    // connection's size.
    if (pending_.empty() || e.uid.empty()) return;
    const auto it = pending_.find(HashUid(e.uid));
    if (it == pending_.end()) return;
    const Pending pending = it->second;
    pending_.erase(it);
    Add(pairs_[pending.sni_pair], pending.offset, size);
    if (pair != nullptr && !pair->many_links &&
        std::find(pair->links.begin(), pair->links.end(), pending.sni_pair) == pair->links.end()) {
      if (pair->links.size() < kMaxLinks) {
        pair->links.push_back(pending.sni_pair);
      } else {
        pair->many_links = true;
      }
    }
  }

  void OnName(const Event& e, std::string_view name, AlertSink& sink) {
    if (e.uid.empty() || !e.src.is_v4 || !e.dst.is_v4) return;
    const int src_zone = InsideZone(e.src.v4);
    if (src_zone < 0 || InsideZone(e.dst.v4) >= 0) return;
    const int64_t ts_s = FloorSeconds(e.ts_us);
    if (!Place(ts_s, sink)) return;
    const uint64_t uid = HashUid(e.uid);
    if (pending_.count(uid) != 0) return;  // one name per connection (the first request)

    key_.assign(reinterpret_cast<const char*>(&e.src.v4), sizeof(e.src.v4));
    key_.append(name);
    uint32_t index = 0;
    if (auto it = sni_index_.find(key_); it != sni_index_.end()) {
      index = it->second;
    } else {
      Pair* pair = NewPair(e, src_zone);
      if (pair == nullptr) return;
      pair->sni = true;
      pair->name = std::string(name);
      index = static_cast<uint32_t>(pairs_.size() - 1);
      sni_index_.emplace(key_, index);
    }
    if (pending_order_.size() >= kMaxPendingNames) {
      if (pending_.erase(pending_order_.front()) != 0) ++stats_->unjoined;
      pending_order_.pop_front();
    }
    pending_.emplace(uid, Pending{index, static_cast<uint32_t>(ts_s - base_s_)});
    pending_order_.push_back(uid);
  }

  Severity SeverityOf(const Pair& p, double score, bool strobe) const {
    if (locality_.MyNumber(p.src_zone)) {
      return Severity::kCritical;
    }
    // RITA's beacon score_thresholds (50/70/90/100) turned into its threat categories:
    // 0.9 and above is high, 0.7 and above medium, below low. A strobe is high (RITA
    // strobe_impact).
    if (strobe || score >= 0.9) return Severity::kHigh;
    if (score >= 0.7) return Severity::kMedium;
    return Severity::kLow;
  }

  void Report(const Pair& p, int64_t first_s, std::span<const Metric> metrics, Severity severity,
              AlertSink& sink) {
    const std::string src = Dotted(p.src);
    const std::string dst = p.sni ? p.name : Dotted(p.dst);
    Finding f;
    f.kind = AlertKind::kBeacon;
    f.severity = severity;
    f.ts_us = first_s * kSecondUs;
    f.src = src;
    f.dst = dst;
    f.proto = p.proto;
    if (p.has_dport) f.dport = p.dport;
    const netsep::Zone& from = topology_.zones[p.src_zone];
    f.from_zone = {from.name, from.description};
    if (locality_.catch_all() >= 0) {
      const netsep::Zone& to = topology_.zones[locality_.catch_all()];
      f.to_zone = {to.name, to.description};
    }
    f.metrics = metrics;
    f.weight = p.count;
    f.file = files_.Name(p.file);
    f.line = p.line;
    sink.Report(f);
  }

  void Close(AlertSink& sink) {
    if (!open_) return;
    ++stats_->windows;
    // An sni pair that is scored takes its connections away from the ip pairs (RITA
    // spagooper.go: filtered_hashes).
    std::vector<bool> sni_scored(pairs_.size(), false);
    for (size_t i = 0; i < pairs_.size(); ++i) {
      const Pair& p = pairs_[i];
      if (!p.sni || p.count >= options_.strobe_connections) continue;
      std::vector<uint32_t> ts(p.conns.size());
      for (size_t j = 0; j < ts.size(); ++j) ts[j] = static_cast<uint32_t>(p.conns[j] >> 32);
      std::sort(ts.begin(), ts.end());
      const size_t unique = std::unique(ts.begin(), ts.end()) - ts.begin();
      sni_scored[i] = unique >= static_cast<size_t>(options_.params.unique_connection_threshold);
    }
    std::vector<int64_t> ts;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < pairs_.size(); ++i) {
      const Pair& p = pairs_[i];
      if (p.count >= options_.strobe_connections) {
        ++stats_->strobes;
        const Metric metrics[] = {{"strobe", 1}, {"connections", static_cast<double>(p.count)}};
        Report(p, p.first_s, metrics, SeverityOf(p, 1, true), sink);
        continue;
      }
      if (!p.sni && (p.many_links || std::any_of(p.links.begin(), p.links.end(),
                                                 [&](uint32_t s) { return sni_scored[s]; }))) {
        continue;
      }
      ts.resize(p.conns.size());
      sizes.resize(p.conns.size());
      for (size_t j = 0; j < p.conns.size(); ++j) {
        ts[j] = base_s_ + static_cast<int64_t>(p.conns[j] >> 32);
        sizes[j] = static_cast<int64_t>(p.conns[j] & UINT32_MAX);
      }
      const std::optional<BeaconScore> s = ScoreBeacon(ts, sizes, min_s_, max_s_, options_.params);
      if (!s) continue;
      ++stats_->pairs_scored;
      if (s->score < options_.min_score) continue;
      ++stats_->beacons;
      const Metric metrics[] = {
          {"score", s->score},
          {"timing", s->timing},
          {"size", s->size},
          {"duration", s->duration},
          {"histogram", s->histogram},
          {"connections", static_cast<double>(p.count)},
          {"interval", s->interval_median},
          {"bytes", s->size_median},
      };
      Report(p, p.first_s, metrics, SeverityOf(p, s->score, false), sink);
    }
    stats_->unjoined += pending_.size();
    open_ = false;
    pairs_.clear();
    ip_index_.Clear();
    sni_index_.clear();
    pending_.clear();
    pending_order_.clear();
    stored_ = 0;
  }

  const netsep::Topology& topology_;
  Locality locality_;
  BeaconOptions options_;
  BeaconStats own_stats_;
  BeaconStats* stats_;
  int64_t window_s_ = 86400;

  bool open_ = false;
  int64_t end_s_ = 0;   // the window ends before this second
  int64_t base_s_ = 0;  // offsets count from here
  int64_t min_s_ = 0;   // the data set's span: connections analysed
  int64_t max_s_ = 0;
  std::vector<Pair> pairs_;
  PairIndex ip_index_;                                   // src << 32 | dst → pairs_
  std::unordered_map<std::string, uint32_t> sni_index_;  // src (4 bytes) + name → pairs_
  std::unordered_map<uint64_t, Pending> pending_;  // uid hash → name seen, no connection yet
  std::deque<uint64_t> pending_order_;
  uint64_t stored_ = 0;
  std::string key_;
  FileNames files_;
};

}  // namespace

std::unique_ptr<Detector> MakeBeaconDetector(const netsep::Topology& topology,
                                             const BeaconOptions& options, BeaconStats* stats) {
  return std::make_unique<BeaconDetector>(topology, options, stats);
}

std::string BeaconStatsToText(const BeaconStats& s) {
  std::string out =
      Cat("ビーコン (beacon): ", std::to_string(s.connections),
          " 件の外向きの接続を分析 (connections analysed), ", std::to_string(s.pairs_scored),
          " 組を採点 (pairs scored), ", std::to_string(s.beacons),
          " 組を警告 (reported), ストローブ (strobes) ", std::to_string(s.strobes));
  if (s.unjoined > 0) {
    out +=
        Cat("; 接続の記録と結び付かなかった TLS・HTTP の記録 (names without a connection "
            "record) ",
            std::to_string(s.unjoined));
  }
  if (s.dropped_pairs + s.dropped_connections + s.late > 0) {
    out += Cat("; 上限のため保持しなかった接続 (not kept, limits): 組の数 (max pairs) ",
               std::to_string(s.dropped_pairs), ", 接続の数 (max connections) ",
               std::to_string(s.dropped_connections), ", 窓より古い (older than the window) ",
               std::to_string(s.late));
  }
  return out;
}

}  // namespace mamori::monitor
