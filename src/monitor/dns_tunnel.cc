#include "monitor/dns_tunnel.h"

#include <libpsl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "monitor/locality.h"

namespace mamori::monitor {
namespace {

constexpr size_t kMaxName = 253;  // RFC 1035, without the trailing dot

class Libpsl final : public PublicSuffixList {
 public:
  explicit Libpsl(psl_ctx_t* ctx) : ctx_(ctx) {}
  ~Libpsl() override { psl_free(ctx_); }  // a no-op for the built-in list
  Libpsl(const Libpsl&) = delete;
  Libpsl& operator=(const Libpsl&) = delete;

  std::optional<std::string_view> RegisteredDomain(std::string_view name) const override {
    if (name.empty() || name.size() > kMaxName) return std::nullopt;
    std::copy(name.begin(), name.end(), buffer_.begin());
    buffer_[name.size()] = '\0';
    const char* found = psl_registrable_domain(ctx_, buffer_.data());
    if (found == nullptr) return std::nullopt;
    return name.substr(static_cast<size_t>(found - buffer_.data()));
  }

 private:
  psl_ctx_t* ctx_;
  mutable std::array<char, kMaxName + 1> buffer_;
};

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h == 0 ? 1 : h;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr size_t kEvidence = 5;

struct Pair {
  KeySet names;           // the batch's distinct unusual subdomains (hashes)
  uint64_t queries = 0;   // all queries of the pair in the window
  double sum_length = 0;  // over the batch's names
  double sum_entropy = 0;
  uint32_t max_length = 0;
  std::array<LogLocation, kEvidence> evidence;
  uint32_t evidence_next = 0;
  uint32_t evidence_count = 0;
};

class DnsTunnelDetector final : public Detector {
 public:
  DnsTunnelDetector(const netsep::Topology& topology, const PublicSuffixList& psl,
                    const DnsTunnelOptions& options)
      : locality_(topology), psl_(psl), options_(options) {
    if (options_.window_us <= 0) options_.window_us = 1;
    if (options_.threshold == 0) options_.threshold = 1;
    min_length_ = std::min(options_.long_length, options_.entropy_min_length);
  }

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (e.type != LogType::kDns || e.dns_query.empty() || e.src.text.empty()) return;
    OnQuery(e, sink);
  }

 private:
  // Out of line: most events are not DNS queries and should not pay for its set-up.
  [[gnu::noinline]] void OnQuery(const Event& e, AlertSink& sink) {
    std::string_view query = e.dns_query;
    if (query.back() == '.') query.remove_suffix(1);
    // A subdomain is shorter than the name: short names cannot be unusual.
    if (query.size() <= min_length_ || query.size() > kMaxName) return;
    for (size_t i = 0; i < query.size(); ++i) {
      const char c = query[i];
      name_[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
    }
    const std::string_view name(name_.data(), query.size());
    if (EndsWith(name, ".in-addr.arpa") || EndsWith(name, ".ip6.arpa")) return;
    const std::optional<std::string_view> domain = psl_.RegisteredDomain(name);
    if (!domain || domain->size() + 1 >= name.size()) return;
    const std::string_view sub = name.substr(0, name.size() - domain->size() - 1);
    if (sub.size() < min_length_) return;

    const int64_t w = e.ts_us >= 0 ? e.ts_us / options_.window_us : 0;
    if (w > window_) {
      pairs_.clear();  // a new window: every count starts again
      window_ = w;
    }
    key_.assign(e.src.text);
    key_.push_back('\0');
    key_.append(*domain);
    auto it = pairs_.find(key_);
    if (it == pairs_.end()) {
      if (pairs_.size() >= options_.max_pairs) {
        ++queries_not_tracked_;
        return;
      }
      it = pairs_.emplace(key_, Pair{}).first;
    }
    Pair& p = it->second;
    ++p.queries;
    const bool is_long = sub.size() >= options_.long_length;
    if (!is_long && sub.size() < options_.entropy_min_length) return;
    const double entropy = ShannonEntropy(sub);
    if (!is_long && entropy < options_.entropy_bits) return;
    if (!p.names.Insert(Fnv1a(sub))) return;
    p.sum_length += static_cast<double>(sub.size());
    p.sum_entropy += entropy;
    p.max_length = std::max<uint32_t>(p.max_length, static_cast<uint32_t>(sub.size()));
    p.evidence[p.evidence_next] = LogLocation::Of(e, files_);
    p.evidence_next = (p.evidence_next + 1) % kEvidence;
    p.evidence_count = std::min<uint32_t>(p.evidence_count + 1, kEvidence);
    if (p.names.size() >= options_.threshold) Report(p, e, *domain, sink);
  }

 public:
  void CountDropped(std::map<std::string, uint64_t>& dropped) const override {
    dropped["dns_tunnel: queries of (source, domain) pairs not tracked"] += queries_not_tracked_;
  }

 private:
  void Report(Pair& p, const Event& e, std::string_view domain, AlertSink& sink) {
    const double n = static_cast<double>(p.names.size());
    const int from = e.src.is_v4 ? locality_.ZoneOf(e.src.v4) : -1;
    const int to = e.dst.is_v4 ? locality_.ZoneOf(e.dst.v4) : -1;
    Finding f;
    f.kind = AlertKind::kDnsTunnel;
    f.severity = locality_.MyNumber(from) ? Severity::kCritical : Severity::kHigh;
    f.ts_us = e.ts_us;
    f.src = e.src.text;
    f.dst = e.dst.text;
    f.proto = e.proto;
    if (e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)) f.dport = e.dport;
    if (from >= 0) f.from_zone = {locality_.zone(from).name, locality_.zone(from).description};
    if (to >= 0) f.to_zone = {locality_.zone(to).name, locality_.zone(to).description};
    f.indicator = domain;
    f.weight = 0;
    const uint32_t count = p.evidence_count;
    for (uint32_t k = 0; k + 1 < count; ++k) {
      const LogLocation& where = p.evidence[(p.evidence_next + kEvidence - count + k) % kEvidence];
      f.file = files_.Name(where.file);
      f.line = where.line;
      f.uid = where.Uid();
      sink.Report(f);
    }
    const std::array<Metric, 7> metrics = {{
        {"names", n},
        {"threshold", static_cast<double>(options_.threshold)},
        {"queries", static_cast<double>(p.queries)},
        {"mean_length", std::round(p.sum_length / n * 10) / 10},
        {"max_length", static_cast<double>(p.max_length)},
        {"mean_entropy", std::round(p.sum_entropy / n * 1000) / 1000},
        {"window_seconds", static_cast<double>(options_.window_us) / 1e6},
    }};
    f.metrics = metrics;
    f.weight = p.names.size();
    f.file = e.file;
    f.line = e.line;
    f.uid = e.uid;
    sink.Report(f);
    p.names.Clear();
    p.sum_length = 0;
    p.sum_entropy = 0;
    p.max_length = 0;
    p.evidence_count = 0;
    p.evidence_next = 0;
  }

  Locality locality_;
  const PublicSuffixList& psl_;
  DnsTunnelOptions options_;
  uint32_t min_length_ = 0;
  FileNames files_;
  std::array<char, kMaxName> name_;
  std::string key_;  // scratch: source '\0' domain
  std::unordered_map<std::string, Pair> pairs_;
  int64_t window_ = INT64_MIN;
  uint64_t queries_not_tracked_ = 0;
};

}  // namespace

Result<std::unique_ptr<PublicSuffixList>> PublicSuffixList::Load() {
  psl_ctx_t* ctx = psl_latest(nullptr);
  if (ctx == nullptr) ctx = const_cast<psl_ctx_t*>(psl_builtin());
  if (ctx == nullptr) {
    return Error::Unavailable("Public Suffix List を読めません（publicsuffix パッケージ）。",
                              "cannot load the Public Suffix List (publicsuffix package).");
  }
  return std::unique_ptr<PublicSuffixList>(std::make_unique<Libpsl>(ctx));
}

double ShannonEntropy(std::string_view text) {
  if (text.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (char c : text) ++counts[static_cast<unsigned char>(c)];
  const double n = static_cast<double>(text.size());
  double bits = 0;
  for (uint32_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    bits -= p * std::log2(p);
  }
  return bits;
}

std::unique_ptr<Detector> MakeDnsTunnelDetector(const netsep::Topology& topology,
                                                const PublicSuffixList& psl,
                                                const DnsTunnelOptions& options) {
  return std::make_unique<DnsTunnelDetector>(topology, psl, options);
}

}  // namespace mamori::monitor
