// Alerts of `mamori monitor` and their aggregation.
//
// A detector reports a Finding per event (or per closed window) that breaks a rule. The
// Aggregator keeps one open Alert per (kind, src, dst) and window: the first finding opens it
// at the finding's event time, later ones within `window` of that time add to its count and
// evidence; it is written to the AlertOutput when event time passes its end (Advance) or a
// finding of the same key arrives after it, or at Finish. Findings and events are views (see
// event.h); the Aggregator copies what it keeps.
//
// Not thread-safe: one Aggregator per pipeline.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "monitor/event.h"

namespace mamori::monitor {

enum class AlertKind : uint8_t {
  kSeparation,
  kBlocklist,
  kSigma,
  kScan,
  kBeacon,
  kExfiltration,
  kDnsTunnel,
};
inline constexpr size_t kAlertKindCount = static_cast<size_t>(AlertKind::kDnsTunnel) + 1;
// "separation", "blocklist", "sigma", "scan", "beacon", "exfiltration", "dns_tunnel".
const char* AlertKindName(AlertKind kind);

enum class Severity : uint8_t { kLow, kMedium, kHigh, kCritical };
const char* SeverityName(Severity severity);  // "low", "medium", "high", "critical"

// The zone a finding concerns: the topology's key and its description (may be "").
struct ZoneRef {
  std::string_view name;
  std::string_view description;
};

// A detection rule an event matched (sigma alerts): the rule's id (may be "") and title. The
// texts must stay valid and unchanged while the Aggregator given them lives (Sigma's point into
// its loaded rules): the Aggregator knows a rule seen again by where its texts are.
struct RuleRef {
  std::string_view id;
  std::string_view title;
};

// A number a windowed detector measured (a beacon's score and sub-scores, a scan's distinct
// targets, the bytes sent out): written to the alert's "metrics" object. `name` is a static
// ASCII key.
struct Metric {
  const char* name;
  double value;
  bool operator==(const Metric&) const = default;
};

struct Finding {
  AlertKind kind = AlertKind::kSeparation;
  Severity severity = Severity::kHigh;
  int64_t ts_us = 0;
  std::string_view src;  // address text
  std::string_view dst;
  Proto proto = Proto::kUnknown;
  std::optional<uint16_t> dport;  // tcp and udp only
  ZoneRef from_zone;              // "" when unknown
  ZoneRef to_zone;
  // What matched, for people: a blocklist entry and where it is listed. Aggregated (distinct,
  // up to kMaxIndicators) into the alert's detail.
  std::string_view indicator;
  // The Sigma rules the event matched (sigma only). Aggregated (distinct by id and title, up to
  // kMaxRules) into the alert.
  std::span<const RuleRef> rules;
  // What a windowed detector measured; the alert keeps the latest finding's metrics.
  std::span<const Metric> metrics;
  // How many events the finding stands for (a scan's failed attempts): added to the alert's
  // count.
  uint64_t weight = 1;
  // Evidence: the log location (file:line) and the Zeek uid or EVE flow_id, if any.
  std::string_view file;
  uint64_t line = 0;
  std::string_view uid;
};

// An alert's evidence: texts ("file:line" or "file:line uid") kept one after another in one
// buffer, each after its length, rather than a string each: an alert's evidence costs one
// allocation, not one per entry. Read in order (begin, end), or by position (in steps).
class EvidenceList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;

    Iterator() = default;
    explicit Iterator(const char* at) : at_(at) {}
    std::string_view operator*() const { return {at_ + sizeof(uint32_t), Size()}; }
    Iterator& operator++() {
      at_ += sizeof(uint32_t) + Size();
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator&) const = default;

   private:
    uint32_t Size() const {
      uint32_t size;
      std::memcpy(&size, at_, sizeof size);
      return size;
    }
    const char* at_ = nullptr;
  };

  EvidenceList() = default;
  EvidenceList(std::initializer_list<std::string_view> entries) {
    for (std::string_view e : entries) push_back(e);
  }

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Iterator begin() const { return Iterator(buffer_.data()); }
  Iterator end() const { return Iterator(buffer_.data() + buffer_.size()); }
  std::string_view operator[](size_t i) const {  // i < size(); steps over the i before it
    Iterator it = begin();
    for (; i > 0; --i) ++it;
    return *it;
  }
  std::string_view back() const { return empty() ? std::string_view() : (*this)[count_ - 1]; }

  void push_back(std::string_view entry) { Add(entry, {}, {}); }
  // Empty, its buffer kept for the entries to come.
  void clear() {
    buffer_.clear();
    count_ = 0;
  }
  bool operator==(const EvidenceList&) const = default;  // the same entries
  void swap(EvidenceList& other) noexcept {
    buffer_.swap(other.buffer_);
    std::swap(count_, other.count_);
  }
  // Appends one entry: the text of `a`, `b` and `c` one after another (views that do not point
  // into this list). An entry is a log location or a uid from a line of at most 4 MiB; one of
  // 4 GiB or more, which its 32-bit size could not hold, is not kept.
  void Add(std::string_view a, std::string_view b, std::string_view c) {
    const size_t total = a.size() + b.size() + c.size();
    if (total > UINT32_MAX) return;
    const auto size = static_cast<uint32_t>(total);
    if (buffer_.empty()) buffer_.reserve(2 * (sizeof size + size));  // most alerts: at once
    // One growth check for the whole entry, then plain copies.
    const size_t at = buffer_.size();
    buffer_.resize(at + sizeof size + size);
    char* p = buffer_.data() + at;
    std::memcpy(p, &size, sizeof size);
    p = std::copy(a.begin(), a.end(), p + sizeof size);
    p = std::copy(b.begin(), b.end(), p);
    std::copy(c.begin(), c.end(), p);
    ++count_;
  }

 private:
  std::string buffer_;
  size_t count_ = 0;
};

struct Alert {
  AlertKind kind = AlertKind::kSeparation;
  Severity severity = Severity::kHigh;  // the highest of its findings
  int64_t ts_us = 0;                    // the first finding's event time
  int64_t last_ts_us = 0;
  std::string src;
  std::string dst;
  Proto proto = Proto::kUnknown;  // of the first finding
  std::optional<uint16_t> dport;  // of the first finding
  std::vector<uint16_t> dports;   // distinct, up to kMaxPorts, in order seen
  std::string from_zone, from_zone_description;
  std::string to_zone, to_zone_description;
  uint64_t count = 0;
  std::vector<std::string> indicators;  // distinct, up to kMaxIndicators
  struct Rule {
    std::string id, title;
    bool operator==(const Rule&) const = default;
  };
  std::vector<Rule> rules;  // sigma: the rules matched, distinct, up to kMaxRules, in order seen
  std::vector<Metric> metrics;  // the latest finding's metrics
  EvidenceList evidence;        // "file:line" or "file:line uid", up to max_evidence
  std::string detail;  // the sentence written; empty (as the Aggregator leaves it): DescribeAlert's
  bool operator==(const Alert&) const = default;
};

// `alert` made equal to Alert{}, keeping the memory of its texts and lists for the next alert
// (the Aggregator's reused slots).
void EmptyAlert(Alert& alert);

inline constexpr size_t kMaxPorts = 10;
inline constexpr size_t kMaxIndicators = 5;
inline constexpr size_t kMaxRules = 10;

// The Japanese sentence saying which policy the alert's traffic breaks.
std::string DescribeAlert(const Alert& alert);
// The same appended to `out`.
void AppendDescription(const Alert& alert, std::string& out);
// The same written piece by piece, for every kind (AppendDescription writes the separation,
// blocklist and sigma sentences into room made at once; tests compare the two).
void AppendDescriptionPieces(const Alert& alert, std::string& out);
// One JSON object on one line (no newline): kind, severity, ts (ISO 8601 UTC), src, dst, proto,
// dport, from_zone, to_zone, count, detail, (sigma only: rules, [{"id", "title"}]), (when
// measured: metrics, {"name": number}), evidence.
std::string AlertToJson(const Alert& alert);
// The same appended to `out` (a caller that writes many alerts reuses one buffer).
void AppendAlertJson(const Alert& alert, std::string& out);

// Which zone descriptions can be written between quotes as they are, remembered by content from
// one alert to the next (every separation alert names two of a topology's few zones, and checking
// a Japanese description byte by byte costs more than comparing it). A writer of many alerts
// keeps one; not thread-safe. At most kKept texts of up to kMaxBytes bytes are kept.
class VerbatimMemo {
 public:
  static constexpr size_t kKept = 8;
  static constexpr size_t kMaxBytes = 256;
  bool Verbatim(std::string_view text);

 private:
  struct Known {
    std::string text;
    bool verbatim = false;
  };
  std::array<Known, kKept> known_;
  size_t next_ = 0;
};
// AppendAlertJson through `memo`: the same bytes.
void AppendAlertJson(const Alert& alert, std::string& out, VerbatimMemo& memo);
// The same through nlohmann::json (AlertToJson's path for texts that need escaping).
std::string AlertToJsonSlow(const Alert& alert);

// Receives findings (the Aggregator; tests may record them).
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Report(const Finding& finding) = 0;
};

// Where finished alerts go (standard output in the CLI).
class AlertOutput {
 public:
  virtual ~AlertOutput() = default;
  virtual void Write(const Alert& alert) = 0;
};

class Aggregator final : public AlertSink {
 public:
  // `window_us` > 0. `output` must outlive the Aggregator.
  Aggregator(int64_t window_us, size_t max_evidence, AlertOutput& output);

  void Report(const Finding& finding) override;
  // Event time has reached `now_us`: writes the alerts whose window ended at or before it.
  void Advance(int64_t now_us);
  // Writes every open alert, oldest first.
  void Finish();

  // Alerts written so far, by kind name (the kinds written at least once).
  std::map<std::string, uint64_t> written_by_kind() const;

 private:
  // Open alerts live in slots_ (reused through free_; a deque, so that growing it moves no
  // alert) and are found by key (the alert's kind, src and dst, compared in place) through
  // table_, an open-addressing hash of slot numbers: no node allocations, and a closing entry
  // names its slot and sequence rather than a copy of the key.
  struct Open {
    Alert alert;
    // Where the texts of the RuleRefs already taken into alert.rules are: the same rule again
    // (the usual case) is known without comparing its texts.
    struct RuleTexts {
      const char* id;
      size_t id_size;
      const char* title;
      size_t title_size;
      bool operator==(const RuleTexts&) const = default;
    };
    std::vector<RuleTexts> rule_texts;
    uint64_t sequence = 0;
    uint64_t hash = 0;
    bool live = false;
  };
  struct Closing {
    int64_t end_us;
    uint64_t sequence;
    uint32_t slot;
    bool operator>(const Closing& other) const {
      return end_us != other.end_us ? end_us > other.end_us : sequence > other.sequence;
    }
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  void Emit(Alert& alert);
  uint32_t Find(const Finding& f, uint64_t hash) const;  // the slot, kNone when not open
  void PushClosing(const Closing& closing);
  const Closing* FirstClosing() const;  // the entry closing first, nullptr when none
  void PopClosing(const Closing* first);
  uint32_t Add(uint64_t hash);  // a live slot in the table
  void Release(uint32_t slot);  // out of the table, free

  int64_t window_us_;
  size_t max_evidence_;
  AlertOutput& output_;
  uint64_t next_sequence_ = 0;
  std::deque<Open> slots_;
  std::vector<uint32_t> free_;
  // The low 32 bits of the key's hash << 32 | slot + 1, 0 empty; a power of two (at most 2^32)
  // entries, at most half full.
  std::vector<uint64_t> table_;
  size_t live_ = 0;
  // When each open alert closes, by end and then sequence: in a FIFO while they come in that
  // order (events in time order, the usual case: no heap steps), in a heap for the others. The
  // next to close is the first of the two.
  std::deque<Closing> closing_in_order_;
  std::priority_queue<Closing, std::vector<Closing>, std::greater<Closing>> closing_;
  std::array<uint64_t, kAlertKindCount> written_{};  // by AlertKind
};

}  // namespace mamori::monitor
