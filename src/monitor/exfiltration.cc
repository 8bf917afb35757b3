#include "monitor/exfiltration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>

#include "monitor/locality.h"

namespace mamori::monitor {
namespace {

constexpr size_t kLargestKept = 3;

struct Host {
  int zone = -1;
  int64_t window = -1;  // the window `bytes` belongs to
  uint64_t bytes = 0;
  uint64_t records = 0;
  // The external destinations it sent most to (space-saving: a newcomer replaces the smallest
  // and inherits its count, so counts are upper bounds once more than kTopDestinations appear).
  std::array<uint32_t, kTopDestinations> top_dst{};
  std::array<uint64_t, kTopDestinations> top_bytes{};
  uint32_t top_count = 0;
  // The largest records of the window, for evidence.
  std::array<LogLocation, kLargestKept> largest;
  std::array<uint64_t, kLargestKept> largest_bytes{};
  uint32_t largest_count = 0;
  // Bytes of past windows (a ring); last_window is the latest window recorded.
  std::vector<uint64_t> history;
  uint32_t history_next = 0;
  uint32_t history_count = 0;
  int64_t last_window = -1;
};

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

class ExfiltrationDetector final : public Detector {
 public:
  ExfiltrationDetector(const netsep::Topology& topology, const ExfiltrationOptions& options)
      : locality_(topology), options_(options) {
    if (options_.window_us <= 0) options_.window_us = 1;
    if (options_.history_windows == 0) options_.history_windows = 1;
  }

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (e.type != LogType::kConn || !e.has_bytes || e.bytes_out == 0) return;
    if (e.outcome == Outcome::kBlocked || !e.src.is_v4 || !e.dst.is_v4 || e.ts_us < 0) return;
    const int from = locality_.ZoneOf(e.src.v4);
    if (!locality_.Internal(from) || locality_.Internal(locality_.ZoneOf(e.dst.v4))) return;
    const int64_t w = e.ts_us / options_.window_us;
    if (current_ < 0) {
      current_ = w;
    } else if (w > current_) {
      Close(sink);
      current_ = w;
    }
    auto it = hosts_.find(e.src.v4);
    if (it == hosts_.end()) {
      if (hosts_.size() >= options_.max_hosts) {
        ++records_not_tracked_;
        return;
      }
      it = hosts_.emplace(e.src.v4, Host{}).first;
      it->second.zone = from;
      it->second.history.assign(options_.history_windows, 0);
    }
    Host& h = it->second;
    if (h.window != current_) {
      h.window = current_;
      h.bytes = 0;
      h.records = 0;
      h.top_count = 0;
      h.largest_count = 0;
      active_.push_back(e.src.v4);
    }
    h.bytes = SaturatingAdd(h.bytes, e.bytes_out);
    ++h.records;
    AddDestination(h, e.dst.v4, e.bytes_out);
    AddLargest(h, e);
  }

  void Advance(int64_t now_us, AlertSink& sink) override {
    if (current_ >= 0 && now_us >= (current_ + 1) * options_.window_us) {
      Close(sink);
      current_ = now_us / options_.window_us;
    }
  }

  void Finish(AlertSink& sink) override {
    if (current_ >= 0) Close(sink);
    current_ = -1;
  }

  void CountDropped(std::map<std::string, uint64_t>& dropped) const override {
    dropped["exfiltration: records of hosts not tracked"] += records_not_tracked_;
  }

 private:
  static void AddDestination(Host& h, uint32_t dst, uint64_t bytes) {
    for (uint32_t i = 0; i < h.top_count; ++i) {
      if (h.top_dst[i] == dst) {
        h.top_bytes[i] = SaturatingAdd(h.top_bytes[i], bytes);
        return;
      }
    }
    if (h.top_count < kTopDestinations) {
      h.top_dst[h.top_count] = dst;
      h.top_bytes[h.top_count] = bytes;
      ++h.top_count;
      return;
    }
    const size_t min =
        std::min_element(h.top_bytes.begin(), h.top_bytes.end()) - h.top_bytes.begin();
    h.top_dst[min] = dst;
    h.top_bytes[min] = SaturatingAdd(h.top_bytes[min], bytes);
  }

  void AddLargest(Host& h, const Event& e) {
    uint32_t slot = h.largest_count;
    if (slot == kLargestKept) {
      slot = std::min_element(h.largest_bytes.begin(), h.largest_bytes.end()) -
             h.largest_bytes.begin();
      if (h.largest_bytes[slot] >= e.bytes_out) return;
    } else {
      ++h.largest_count;
    }
    h.largest[slot] = LogLocation::Of(e, files_);
    h.largest_bytes[slot] = e.bytes_out;
  }

  // Judges every host active in window current_, then forgets hosts silent for too long.
  void Close(AlertSink& sink) {
    const uint32_t keep = options_.history_windows;
    for (uint32_t address : active_) {
      Host& h = hosts_.at(address);
      // Windows since the last recorded one in which the host sent nothing.
      if (h.last_window >= 0) {
        const int64_t gap = std::min<int64_t>(current_ - h.last_window - 1, keep);
        for (int64_t i = 0; i < gap; ++i) Record(h, 0);
      }
      Judge(address, h, sink);
      Record(h, h.bytes);
      h.last_window = current_;
    }
    active_.clear();
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      if (current_ - it->second.last_window >= keep) {
        it = hosts_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void Record(Host& h, uint64_t bytes) {
    h.history[h.history_next] = bytes;
    h.history_next = (h.history_next + 1) % h.history.size();
    h.history_count = std::min<uint32_t>(h.history_count + 1, h.history.size());
  }

  void Judge(uint32_t address, const Host& h, AlertSink& sink) {
    double mean = 0;
    double stddev = 0;
    for (uint32_t i = 0; i < h.history_count; ++i) mean += static_cast<double>(h.history[i]);
    if (h.history_count > 0) mean /= h.history_count;
    for (uint32_t i = 0; i < h.history_count; ++i) {
      const double d = static_cast<double>(h.history[i]) - mean;
      stddev += d * d;
    }
    if (h.history_count > 0) stddev = std::sqrt(stddev / h.history_count);
    const bool baseline = options_.min_history > 0 && h.history_count >= options_.min_history;
    const double threshold = baseline ? mean + options_.sigmas * stddev : 0;
    const double bytes = static_cast<double>(h.bytes);
    const bool over_limit = options_.limit_bytes > 0 && h.bytes >= options_.limit_bytes;
    const bool over_baseline = baseline && h.bytes >= options_.min_bytes && bytes > threshold;
    if (!over_limit && !over_baseline) return;

    const size_t top = std::max_element(h.top_bytes.begin(), h.top_bytes.begin() + h.top_count) -
                       h.top_bytes.begin();
    const int to = locality_.ZoneOf(h.top_dst[top]);
    char src[16], dst[16];
    Finding f;
    f.kind = AlertKind::kExfiltration;
    f.severity = locality_.MyNumber(h.zone) ? Severity::kCritical
                 : over_limit               ? Severity::kHigh
                                            : Severity::kMedium;
    f.ts_us = current_ * options_.window_us;
    f.src = FormatIpv4To(address, src);
    f.dst = FormatIpv4To(h.top_dst[top], dst);
    f.from_zone = {locality_.zone(h.zone).name, locality_.zone(h.zone).description};
    if (to >= 0) f.to_zone = {locality_.zone(to).name, locality_.zone(to).description};
    // Evidence: the largest records, largest first; the last one carries the finding.
    std::array<uint32_t, kLargestKept> order{};
    for (uint32_t i = 0; i < h.largest_count; ++i) {
      uint32_t j = i;  // insertion sort, largest first
      for (; j > 0 && h.largest_bytes[order[j - 1]] < h.largest_bytes[i]; --j)
        order[j] = order[j - 1];
      order[j] = i;
    }
    const std::array<Metric, 9> metrics = {{
        {"bytes", bytes},
        {"records", static_cast<double>(h.records)},
        {"limit", static_cast<double>(options_.limit_bytes)},
        {"baseline_windows", static_cast<double>(h.history_count)},
        {"baseline_mean", mean},
        {"baseline_stddev", stddev},
        {"baseline_threshold", threshold},
        {"dst_bytes", static_cast<double>(h.top_bytes[top])},
        {"window_seconds", static_cast<double>(options_.window_us) / 1e6},
    }};
    for (uint32_t k = 0; k < h.largest_count; ++k) {
      const LogLocation& where = h.largest[order[k]];
      const bool last = k + 1 == h.largest_count;
      f.weight = last ? h.records : 0;
      if (last) f.metrics = metrics;
      f.file = files_.Name(where.file);
      f.line = where.line;
      f.uid = where.Uid();
      sink.Report(f);
    }
  }

  Locality locality_;
  ExfiltrationOptions options_;
  FileNames files_;
  std::unordered_map<uint32_t, Host> hosts_;
  std::vector<uint32_t> active_;  // hosts with bytes in window current_
  int64_t current_ = -1;          // the open window (index), -1 before the first record
  uint64_t records_not_tracked_ = 0;
};

}  // namespace

std::unique_ptr<Detector> MakeExfiltrationDetector(const netsep::Topology& topology,
                                                   const ExfiltrationOptions& options) {
  return std::make_unique<ExfiltrationDetector>(topology, options);
}

}  // namespace mamori::monitor
