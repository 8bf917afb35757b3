#include "monitor/alert.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/text.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

using namespace std::string_view_literals;  // appended literals: lengths known at compile time

// Writes through a raw pointer into room made beforehand (no capacity check per piece).
class RawWriter {
 public:
  // Room for `bound` bytes after what `out` holds; Done gives back what was not written.
  RawWriter(std::string& out, size_t bound) : out_(out) {
    const size_t at = out.size();
    out.resize(at + bound);
    p_ = out.data() + at;
  }
  void Done() { out_.resize(static_cast<size_t>(p_ - out_.data())); }

  template <size_t N>
  void Literal(const char (&text)[N]) {  // a literal: its length known when compiled
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }
  void Text(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
  }
  void Char(char c) { *p_++ = c; }
  void Quoted(std::string_view text) {  // a Clean or Verbatim text
    Char('"');
    Text(text);
    Char('"');
  }
  void QuotedOrNull(std::string_view text) {
    if (text.empty()) {
      Literal("null");
    } else {
      Quoted(text);
    }
  }
  void Decimal(uint64_t n) { p_ = std::to_chars(p_, p_ + 20, n).ptr; }

 private:
  std::string& out_;
  char* p_;
};

// Appends the decimal digits of `n`.
void AppendDecimal(std::string& out, uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, static_cast<size_t>(end - digits));
}

// "区域 name（description）", or "区域 name " without a description.
void AppendZone(std::string& out, std::string_view name, std::string_view description) {
  out += "区域 "sv;
  out += name;
  if (description.empty()) {
    out += ' ';
    return;
  }
  out += "（"sv;
  out += description;
  out += "）"sv;
}

// "80, 443" (" ほか" when the list is full).
void AppendPorts(std::string& out, const Alert& alert) {
  for (size_t i = 0; i < alert.dports.size(); ++i) {
    if (i > 0) out += ", "sv;
    AppendDecimal(out, alert.dports[i]);
  }
  if (alert.dports.size() >= kMaxPorts) out += " ほか"sv;
}

std::string PortsText(const Alert& alert) {
  std::string out;
  AppendPorts(out, alert);
  return out;
}

// "tcp、宛先ポート 445".
void AppendTraffic(std::string& out, const Alert& alert) {
  const char* proto = ProtoName(alert.proto);
  out += proto != nullptr ? proto : "プロトコル不明";
  if (!alert.dports.empty()) {
    out += "、宛先ポート "sv;
    AppendPorts(out, alert);
  }
}

// "（3 件）" when the alert stands for more than one event.
void AppendTimes(std::string& out, const Alert& alert) {
  if (alert.count <= 1) return;
  out += "（"sv;
  AppendDecimal(out, alert.count);
  out += " 件）"sv;
}

// The value of metric `name`, 0 when absent.
double MetricOf(const Alert& alert, std::string_view name) {
  for (const Metric& m : alert.metrics) {
    if (name == m.name) return m.value;
  }
  return 0;
}

// 1234567 → "1,234,567".
std::string Grouped(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// A whole number as written; else with `decimals` decimals.
std::string Number(double value, int decimals = 1) {
  char text[64];
  if (value == static_cast<double>(static_cast<int64_t>(value))) {
    return Grouped(static_cast<uint64_t>(value < 0 ? 0 : value));
  }
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// "1.02 GiB", "200.00 MiB", "12.30 KiB", "512 バイト".
std::string Bytes(double bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return Cat(Number(bytes), " バイト");
  int unit = -1;
  while (bytes >= 1024 && unit < 3) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %s", bytes, kUnits[unit]);
  return text;
}

// "1 時間", "30 分", "45 秒".
std::string Duration(double seconds) {
  if (seconds >= 3600 && static_cast<int64_t>(seconds) % 3600 == 0) {
    return Cat(Number(seconds / 3600), " 時間");
  }
  if (seconds >= 60 && static_cast<int64_t>(seconds) % 60 == 0) {
    return Cat(Number(seconds / 60), " 分");
  }
  return Cat(Number(seconds), " 秒");
}

constexpr std::string_view kMonitoring = "不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。";

// "区域 inet（インターネット接続系）", "区域 internet".
std::string ZoneLabel(std::string_view name, std::string_view description) {
  return description.empty() ? Cat("区域 ", name) : Cat("区域 ", name, "（", description, "）");
}

// "（区域 …）" after an address, or "" when the zone is unknown.
std::string InZone(std::string_view name, std::string_view description) {
  return name.empty() ? std::string() : Cat("（", ZoneLabel(name, description), "）");
}

// "。合計 N 件" when the alert adds up more than its latest finding measured.
std::string Total(const Alert& a, double latest, std::string_view unit) {
  if (static_cast<double>(a.count) <= latest) return "";
  return Cat("。この期間の合計 ", Number(static_cast<double>(a.count)), " ", unit);
}

std::string ScanText(const Alert& a) {
  // "198.51.100.7（区域 internet）から", "198.51.100.7 から".
  const std::string from = a.from_zone.empty()
                               ? Cat(a.src, " ")
                               : Cat(a.src, InZone(a.from_zone, a.from_zone_description));
  std::string out;
  double latest = 0;
  if (MetricOf(a, "drops") > 0) {
    latest = MetricOf(a, "drops");
    out = Cat(from, "からの通信が ", Duration(MetricOf(a, "seconds")),
              "の間にファイアウォール等で ", Number(latest), " 回遮断されました（宛先 ",
              Number(MetricOf(a, "hosts")), " 台・ポート ", Number(MetricOf(a, "ports")),
              " 個。同じ送信元からの遮断の相関、しきい値 ", Number(MetricOf(a, "threshold")),
              " 回）");
  } else if (MetricOf(a, "port_hosts") > 0) {
    latest = MetricOf(a, "attempts");
    out = Cat("外部の送信元 ", from, "から、一つのポートで ", Number(MetricOf(a, "port_hosts")),
              " 台の異なる宛先への接続の試みが失敗しました（Zeek の走査検知の方法、しきい値 ",
              Number(MetricOf(a, "threshold")), " 台）");
  } else {
    latest = MetricOf(a, "attempts");
    out = Cat(MetricOf(a, "internal_source") > 0 ? "内部の送信元 " : "外部の送信元 ", from,
              "から、", Number(latest), " 組の異なる宛先とポートへの接続の試みが ",
              Duration(MetricOf(a, "seconds")), "の間に失敗しました（宛先 ",
              Number(MetricOf(a, "hosts")), " 台・ポート ", Number(MetricOf(a, "ports")),
              " 個。Zeek の走査検知の方法、しきい値 ", Number(MetricOf(a, "threshold")), " 組）");
  }
  if (!a.dports.empty()) {
    // The alert lists the ports of the findings' evidence, not every port tried.
    const bool all = static_cast<double>(a.dports.size()) >= MetricOf(a, "ports");
    out += Cat(all ? "。宛先ポート " : "。宛先ポートの例 ", PortsText(a));
  }
  if (!a.to_zone.empty()) {
    out += Cat("。宛先は", ZoneLabel(a.to_zone, a.to_zone_description), "にあります");
  }
  return Cat(out, Total(a, latest, "件"), "。走査（スキャン）の疑いがあり、", kMonitoring);
}

std::string ExfiltrationText(const Alert& a) {
  const double bytes = MetricOf(a, "bytes");
  const double limit = MetricOf(a, "limit");
  const double threshold = MetricOf(a, "baseline_threshold");
  std::string out =
      Cat(ZoneLabel(a.from_zone, a.from_zone_description), "の ", a.src, " から外部への送信量が ",
          Duration(MetricOf(a, "window_seconds")), "に ", Bytes(bytes), "（", Number(bytes),
          " バイト、通信の記録 ", Number(MetricOf(a, "records")), " 件）でした。最も多い宛先は ",
          a.dst, "（", Bytes(MetricOf(a, "dst_bytes")), "）です。");
  if (limit > 0 && bytes >= limit) out += Cat("上限 ", Bytes(limit), " に達しています。");
  if (threshold > 0 && bytes > threshold) {
    out += Cat("この端末の過去 ", Number(MetricOf(a, "baseline_windows")), " 区間の平均 ",
               Bytes(MetricOf(a, "baseline_mean")), "・標準偏差 ",
               Bytes(MetricOf(a, "baseline_stddev")), " から求めた判定値 ", Bytes(threshold),
               " を超えています。");
  }
  return Cat(out, "情報の持ち出しの疑いがあり、", kMonitoring);
}

std::string DnsTunnelText(const Alert& a) {
  std::string domains;
  for (size_t i = 0; i < a.indicators.size(); ++i) {
    if (i > 0) domains += "、";
    domains += a.indicators[i];
  }
  if (a.indicators.size() >= kMaxIndicators) domains += " ほか";
  const double names = MetricOf(a, "names");
  return Cat(a.src, InZone(a.from_zone, a.from_zone_description),
             a.from_zone.empty() ? " から" : "から", " DNS サーバー ", a.dst,
             " への問い合わせに、ドメイン ", domains,
             " の下の長い又は不規則な（エントロピーの高い）異なる名前が ",
             Duration(MetricOf(a, "window_seconds")), "に ", Number(names), " 個ありました（平均 ",
             Number(MetricOf(a, "mean_length")), " 文字、最長 ", Number(MetricOf(a, "max_length")),
             " 文字、平均エントロピー ", Number(MetricOf(a, "mean_entropy"), 3),
             " ビット/文字。しきい値 ", Number(MetricOf(a, "threshold")), " 個）",
             Total(a, names, "個"), "。DNS トンネリングの疑いがあり、", kMonitoring);
}

// A measured value by name, if the alert has it.
std::optional<double> FindMetric(const Alert& alert, std::string_view name) {
  for (const Metric& m : alert.metrics) {
    if (name == m.name) return m.value;
  }
  return std::nullopt;
}

// With `decimals` decimals; whole numbers without them when `trim` (60 → "60", 59.5 → "59.5").
std::string Fixed(double value, int decimals, bool trim) {
  char buffer[64];
  if (trim && value == static_cast<double>(static_cast<int64_t>(value))) {
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  }
  return buffer;
}

// beacon.h: a scored pair (RITA v5 score) or a strobe.
std::string BeaconText(const Alert& a) {
  const std::string connections = Cat("接続 ", std::to_string(a.count), " 回");
  if (FindMetric(a, "strobe")) {
    return Cat(a.src, " から ", a.dst, " への接続が 1 日に 86400 回の割合を超えています（",
               connections,
               "、ストローブ）。不正プログラムや機器の設定誤りによる機械的な通信の疑いがあり、"
               "不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。");
  }
  std::string measured =
      Cat("ビーコンのスコア ", Fixed(FindMetric(a, "score").value_or(0), 3, false));
  if (const auto interval = FindMetric(a, "interval")) {
    measured += Cat("、典型的な間隔 ", Fixed(*interval, 1, true), " 秒");
  }
  return Cat(a.src, " から ", a.dst, " への通信が一定の間隔で繰り返されています（", measured, "、",
             connections,
             "）。スコアは接続の間隔・データ量・続いた時間・時間帯の偏りの規則正しさを RITA v5 "
             "の方法で 0〜1 に採点したもので、1 に近いほど機械的な定期通信です。不正プログラムの"
             "通信（ビーコン）の疑いがあり、不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象"
             "です。");
}

}  // namespace

const char* AlertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kSeparation:
      return "separation";
    case AlertKind::kBlocklist:
      return "blocklist";
    case AlertKind::kSigma:
      return "sigma";
    case AlertKind::kScan:
      return "scan";
    case AlertKind::kBeacon:
      return "beacon";
    case AlertKind::kExfiltration:
      return "exfiltration";
    case AlertKind::kDnsTunnel:
      return "dns_tunnel";
  }
  return "?";
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "?";
}

namespace {

// Room for the sentence of a separation, blocklist or sigma alert: the fixed text (each kind's
// below 400 bytes), the ports (at most kMaxPorts of 5 digits, each with ", ") and " ほか", the
// count (at most 20 digits), and the texts taken from the alert, each list entry with at most
// 16 bytes of fixed text around it.
size_t DescriptionBound(const Alert& a) {
  size_t bound = 400 + kMaxPorts * 7 + 8 + 20 + a.src.size() + a.dst.size() + a.from_zone.size() +
                 a.from_zone_description.size() + a.to_zone.size() + a.to_zone_description.size();
  for (const std::string& i : a.indicators) bound += i.size() + 16;
  for (const Alert::Rule& r : a.rules) bound += r.id.size() + r.title.size() + 16;
  return bound;
}

// AppendZone through `w`.
void WriteZone(RawWriter& w, std::string_view name, std::string_view description) {
  w.Literal("区域 ");
  w.Text(name);
  if (description.empty()) {
    w.Char(' ');
    return;
  }
  w.Literal("（");
  w.Text(description);
  w.Literal("）");
}

// AppendTraffic and AppendTimes through `w`, with the "）" between them.
void WriteTrafficAndTimes(RawWriter& w, const Alert& a) {
  const char* proto = ProtoName(a.proto);
  if (proto != nullptr) {
    w.Text(proto);
  } else {
    w.Literal("プロトコル不明");
  }
  if (!a.dports.empty()) {
    w.Literal("、宛先ポート ");
    for (size_t i = 0; i < a.dports.size(); ++i) {
      if (i > 0) w.Literal(", ");
      w.Decimal(a.dports[i]);
    }
    if (a.dports.size() >= kMaxPorts) w.Literal(" ほか");
  }
  w.Literal("）");
  if (a.count > 1) {
    w.Literal("（");
    w.Decimal(a.count);
    w.Literal(" 件）");
  }
}

// The sentences of the commonest kinds, written through a raw pointer into room made once
// (DescriptionBound) rather than piece by piece with a growth check each: the same bytes as
// AppendDescriptionPieces (alert_test.cc compares them).
void WriteDescription(const Alert& a, std::string& out) {
  RawWriter w(out, DescriptionBound(a));
  switch (a.kind) {
    case AlertKind::kSeparation:
      WriteZone(w, a.from_zone, a.from_zone_description);
      w.Literal("の ");
      w.Text(a.src);
      w.Literal(" から");
      WriteZone(w, a.to_zone, a.to_zone_description);
      w.Literal("の ");
      w.Text(a.dst);
      w.Literal(" への通信（");
      WriteTrafficAndTimes(w, a);
      w.Literal(
          "は、トポロジーのどの許可（[[allow]]）にも当たりません。区域間の通信経路の分割"
          "（基本方針 §2(10)・§6(3)ア）に反します。");
      break;
    case AlertKind::kBlocklist:
      w.Text(a.src);
      w.Literal(" と ");
      w.Text(a.dst.empty() ? std::string_view("(宛先不明)") : std::string_view(a.dst));
      w.Literal(" の通信（");
      WriteTrafficAndTimes(w, a);
      w.Literal("が遮断リストの項目");
      for (size_t i = 0; i < a.indicators.size(); ++i) {
        if (i > 0) w.Literal("、");
        w.Text(a.indicators[i]);
      }
      if (a.indicators.size() >= kMaxIndicators) w.Literal(" ほか");
      w.Literal("に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。");
      break;
    default:  // kSigma
      w.Text(a.src);
      w.Literal(" から ");
      w.Text(a.dst.empty() ? std::string_view("(宛先不明)") : std::string_view(a.dst));
      w.Literal(" への通信（");
      WriteTrafficAndTimes(w, a);
      w.Literal("が Sigma ルール");
      for (size_t i = 0; i < a.rules.size(); ++i) {
        if (i > 0) w.Literal("、");
        w.Literal("「");
        w.Text(a.rules[i].title);
        w.Literal("」");
        if (!a.rules[i].id.empty()) {
          w.Literal("（");
          w.Text(a.rules[i].id);
          w.Literal("）");
        }
      }
      if (a.rules.size() >= kMaxRules) w.Literal(" ほか");
      w.Literal("に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。");
      break;
  }
  w.Done();
}

}  // namespace

void AppendDescription(const Alert& a, std::string& out) {
  if (a.kind == AlertKind::kSeparation || a.kind == AlertKind::kBlocklist ||
      a.kind == AlertKind::kSigma) {
    WriteDescription(a, out);
    return;
  }
  AppendDescriptionPieces(a, out);
}

void AppendDescriptionPieces(const Alert& a, std::string& out) {
  switch (a.kind) {
    case AlertKind::kSeparation:
      AppendZone(out, a.from_zone, a.from_zone_description);
      out += "の "sv;
      out += a.src;
      out += " から"sv;
      AppendZone(out, a.to_zone, a.to_zone_description);
      out += "の "sv;
      out += a.dst;
      out += " への通信（"sv;
      AppendTraffic(out, a);
      out += "）"sv;
      AppendTimes(out, a);
      out +=
          "は、トポロジーのどの許可（[[allow]]）にも当たりません。区域間の通信経路の分割"
          "（基本方針 §2(10)・§6(3)ア）に反します。";
      return;
    case AlertKind::kBlocklist:
      out += a.src;
      out += " と "sv;
      out += a.dst.empty() ? std::string_view("(宛先不明)") : std::string_view(a.dst);
      out += " の通信（"sv;
      AppendTraffic(out, a);
      out += "）"sv;
      AppendTimes(out, a);
      out += "が遮断リストの項目"sv;
      for (size_t i = 0; i < a.indicators.size(); ++i) {
        if (i > 0) out += "、"sv;  // each: 「entry」（where matched、file:line）
        out += a.indicators[i];
      }
      if (a.indicators.size() >= kMaxIndicators) out += " ほか"sv;
      out += "に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。"sv;
      return;
    case AlertKind::kSigma:
      out += a.src;
      out += " から "sv;
      out += a.dst.empty() ? std::string_view("(宛先不明)") : std::string_view(a.dst);
      out += " への通信（"sv;
      AppendTraffic(out, a);
      out += "）"sv;
      AppendTimes(out, a);
      out += "が Sigma ルール"sv;
      for (size_t i = 0; i < a.rules.size(); ++i) {
        if (i > 0) out += "、"sv;
        out += "「"sv;
        out += a.rules[i].title;
        out += "」"sv;
        if (!a.rules[i].id.empty()) {
          out += "（"sv;
          out += a.rules[i].id;
          out += "）"sv;
        }
      }
      if (a.rules.size() >= kMaxRules) out += " ほか"sv;
      out += "に当たります。不正な通信の監視（基本方針 §6(3)イ・§6(7)）の対象です。"sv;
      return;
    // The windowed detectors (scan.cc, beacon.cc, exfiltration.cc, dns_tunnel.cc) say what they
    // measured in the alert's metrics; these sentences name the finding.
    case AlertKind::kScan:
      out += ScanText(a);
      return;
    case AlertKind::kBeacon:
      out += BeaconText(a);
      return;
    case AlertKind::kExfiltration:
      out += ExfiltrationText(a);
      return;
    case AlertKind::kDnsTunnel:
      out += DnsTunnelText(a);
      return;
  }
}

std::string DescribeAlert(const Alert& a) {
  std::string out;
  out.reserve(384);
  AppendDescription(a, out);
  return out;
}

// The alert through nlohmann::json: used when a text holds bytes that need escaping or
// replacing (control characters, invalid UTF-8), which it does as the JSON logs expect.
std::string AlertToJsonSlow(const Alert& a) {
  nlohmann::ordered_json j;
  j["kind"] = AlertKindName(a.kind);
  j["severity"] = SeverityName(a.severity);
  j["ts"] = FormatIsoUtc(a.ts_us);
  j["src"] = a.src;
  j["dst"] = a.dst.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(a.dst);
  const char* proto = ProtoName(a.proto);
  j["proto"] = proto != nullptr ? nlohmann::ordered_json(proto) : nlohmann::ordered_json(nullptr);
  j["dport"] = a.dport ? nlohmann::ordered_json(*a.dport) : nlohmann::ordered_json(nullptr);
  j["from_zone"] =
      a.from_zone.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(a.from_zone);
  j["to_zone"] =
      a.to_zone.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(a.to_zone);
  j["count"] = a.count;
  j["detail"] = a.detail.empty() ? DescribeAlert(a) : a.detail;
  if (a.kind == AlertKind::kSigma) {
    nlohmann::ordered_json rules = nlohmann::ordered_json::array();
    for (const Alert::Rule& rule : a.rules) {
      rules.push_back({{"id", rule.id}, {"title", rule.title}});
    }
    j["rules"] = std::move(rules);
  }
  if (!a.metrics.empty()) {
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const Metric& m : a.metrics) metrics[m.name] = m.value;
    j["metrics"] = std::move(metrics);
  }
  nlohmann::ordered_json evidence = nlohmann::ordered_json::array();
  for (std::string_view e : a.evidence) evidence.push_back(std::string(e));
  j["evidence"] = std::move(evidence);
  // Text from logs may hold bytes that are not UTF-8: replace them rather than throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

// Whether `text` can be written between quotes as it is but for '"' and '\\': valid UTF-8 with
// no control characters.
bool Plain(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
#ifdef __SSE2__
    // Sixteen ASCII bytes at a time: as signed bytes, none below 0x20 (bytes from 0x80 are
    // negative); up to the first other byte.
    const __m128i space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
      const auto special = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(v, space)));
      if (special != 0) {
        i += static_cast<size_t>(__builtin_ctz(special));
        break;
      }
      i += 16;
    }
#endif
    // Eight ASCII bytes at a time: none from 0x80, none below 0x20.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      constexpr uint64_t kHigh = 0x8080808080808080ull;
      if ((w & kHigh) != 0 || ((w - 0x2020202020202020ull) & ~w & kHigh) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20) return false;
      ++i;
      continue;
    }
    if ((c & 0xF0) == 0xE0 && i + 2 < n) {
      // Three bytes (Japanese), each checked at once; a run of them without going back to the
      // ASCII loops above between characters.
      unsigned char lead = c;
      do {
        const auto c1 = static_cast<unsigned char>(text[i + 1]);
        const auto c2 = static_cast<unsigned char>(text[i + 2]);
        if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return false;
        if (lead == 0xE0 && c1 < 0xA0) return false;   // overlong (below U+0800)
        if (lead == 0xED && c1 >= 0xA0) return false;  // a surrogate
        i += 3;
        if (i + 2 >= n) break;
        lead = static_cast<unsigned char>(text[i]);
      } while ((lead & 0xF0) == 0xE0);
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

// Whether `text` holds a '"' or a '\\'.
bool NeedsEscape(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))) !=
        0) {
      return true;
    }
  }
#endif
  // Eight bytes at a time: a word with no byte equal to '"' or '\\' (no zero byte after the
  // XOR; the test has no false negatives) is passed over in a few operations.
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    const uint64_t q = w ^ (kOnes * '"');
    const uint64_t b = w ^ (kOnes * '\\');
    if (((((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh) != 0) return true;
  }
  for (; p < end; ++p) {
    if (*p == '"' || *p == '\\') return true;
  }
  return false;
}

// `text` with '"' and '\\' escaped (the text is Plain).
void AppendEscaped(std::string& out, std::string_view text) {
  if (!NeedsEscape(text)) {
    out += text;
    return;
  }
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

// `text` between quotes, '"' and '\\' escaped (the text is Plain).
void Quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  AppendEscaped(out, text);
  out.push_back('"');
}

// A text known to need no escaping (a kind, severity or protocol name) between quotes.
void QuotedName(std::string& out, std::string_view name) {
  out.push_back('"');
  out += name;
  out.push_back('"');
}

// `,"metrics":{…}` when the alert has metrics (beacon and scan alerts); their names are Plain,
// their numbers written as nlohmann writes them (the slow path's way).
void AppendMetrics(const Alert& a, std::string& out) {
  if (a.metrics.empty()) return;
  out += R"(,"metrics":)"sv;
  out.push_back('{');
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    if (i > 0) out.push_back(',');
    Quoted(out, a.metrics[i].name);
    out.push_back(':');
    out.append(nlohmann::json(a.metrics[i].value).dump());
  }
  out.push_back('}');
}

// Whether the texts AppendDescription takes from the alert are Plain, for the kinds whose
// sentence is made of them and of fixed text (nullopt for the others). The fixed text is valid
// UTF-8 without control characters and every text is put between fixed parts, so the sentence
// is Plain when they all are.
std::optional<bool> DescriptionPiecesPlain(const Alert& a) {
  switch (a.kind) {
    case AlertKind::kSeparation:
      return Plain(a.from_zone) && Plain(a.from_zone_description) && Plain(a.src) &&
             Plain(a.to_zone) && Plain(a.to_zone_description) && Plain(a.dst);
    case AlertKind::kBlocklist:
      return Plain(a.src) && Plain(a.dst) &&
             std::all_of(a.indicators.begin(), a.indicators.end(),
                         [](const std::string& i) { return Plain(i); });
    case AlertKind::kSigma:
      return Plain(a.src) && Plain(a.dst) &&
             std::all_of(a.rules.begin(), a.rules.end(),
                         [](const Alert::Rule& r) { return Plain(r.title) && Plain(r.id); });
    default:
      return std::nullopt;
  }
}

// Whether every byte of `text` is printable ASCII (0x20 to 0x7F) other than '"' and '\\': such
// a text is Plain and needs no escaping, so it is written between quotes as it is. One pass
// instead of Plain's and NeedsEscape's; addresses, zone keys, rule ids and evidence are Clean.
bool Clean(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
#ifdef __SSE2__
  if (n >= 16) {
    // As signed bytes, those from 0x80 are negative: below 0x20 as the control characters.
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    auto bad = [&](const char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      const __m128i special =
          _mm_or_si128(_mm_cmplt_epi8(v, space),
                       _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
      return _mm_movemask_epi8(special) != 0;
    };
    for (size_t i = 0; i + 16 <= n; i += 16) {
      if (bad(p + i)) return false;
    }
    return !bad(p + n - 16);  // the last bytes, overlapping those already seen
  }
#endif
  // A word with a byte from 0x80, below 0x20, or equal to '"' or '\\' (each test exact as a
  // whole: no false answer when no byte qualifies).
  auto bad_word = [](uint64_t w) {
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    constexpr uint64_t kHigh = 0x8080808080808080ull;
    const uint64_t q = w ^ (kOnes * '"');
    const uint64_t b = w ^ (kOnes * '\\');
    return ((w | ((w - kOnes * 0x20) & ~w) | ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh) != 0;
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (bad_word(w)) return false;
  }
  if (n >= 8 && i < n) {  // the last bytes, overlapping
    uint64_t w;
    std::memcpy(&w, p + n - 8, 8);
    return !bad_word(w);
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

// Whether `text` can be written between quotes as it is: Clean, or Plain without '"' and '\\'.
bool Verbatim(std::string_view text) { return Clean(text) || (Plain(text) && !NeedsEscape(text)); }

// Whether the texts AppendDescription takes from the alert are Verbatim, for the kinds whose
// sentence is made of them and of fixed text (false for the others). The fixed text (the
// sentences, ProtoName's names, numbers) holds no control character, '"' or '\\' and is valid
// UTF-8, and every text is put between fixed parts, so the sentence is Verbatim when they all
// are. Addresses and rule ids are known Clean by the caller.
bool DescriptionVerbatim(const Alert& a, VerbatimMemo* memo) {
  switch (a.kind) {
    case AlertKind::kSeparation:
      if (memo == nullptr) {
        return Verbatim(a.from_zone_description) && Verbatim(a.to_zone_description);
      }
      return memo->Verbatim(a.from_zone_description) && memo->Verbatim(a.to_zone_description);
    case AlertKind::kBlocklist:
      return std::all_of(a.indicators.begin(), a.indicators.end(),
                         [](const std::string& i) { return Verbatim(i); });
    case AlertKind::kSigma:
      return true;  // src, dst and the rules' ids and titles: Clean
    default:
      return false;
  }
}

// AppendAlertJson when every text written between quotes but the detail is Clean (as logs of
// addresses and uids give): written through a raw pointer with no escaping checks. Returns
// false, having written nothing, when the detail is not Verbatim.
bool AppendCleanAlertJson(const Alert& a, std::string& out, VerbatimMemo* memo) {
  if (!a.detail.empty() && !Verbatim(a.detail)) return false;
  const size_t start = out.size();
  // Every fixed part is below 256 bytes; numbers take at most 20; each text its size.
  RawWriter w(out, 256 + a.src.size() + a.dst.size() + a.from_zone.size() + a.to_zone.size());
  w.Literal(R"({"kind":")");
  w.Text(AlertKindName(a.kind));
  w.Literal(R"(","severity":")");
  w.Text(SeverityName(a.severity));
  w.Literal(R"(","ts":)");
  char ts[kIsoUtcBytes];
  w.Quoted(FormatIsoUtcTo(a.ts_us, ts));
  w.Literal(R"(,"src":)");
  w.Quoted(a.src);
  w.Literal(R"(,"dst":)");
  w.QuotedOrNull(a.dst);
  w.Literal(R"(,"proto":)");
  const char* proto = ProtoName(a.proto);
  w.QuotedOrNull(proto != nullptr ? std::string_view(proto) : std::string_view());
  w.Literal(R"(,"dport":)");
  if (a.dport) {
    w.Decimal(*a.dport);
  } else {
    w.Literal("null");
  }
  w.Literal(R"(,"from_zone":)");
  w.QuotedOrNull(a.from_zone);
  w.Literal(R"(,"to_zone":)");
  w.QuotedOrNull(a.to_zone);
  w.Literal(R"(,"count":)");
  w.Decimal(a.count);
  w.Literal(R"(,"detail":")");
  w.Done();
  // The sentence is written in place (its size is not known before).
  if (a.detail.empty()) {
    const size_t detail_at = out.size();
    AppendDescription(a, out);
    if (!DescriptionVerbatim(a, memo) && !Verbatim(std::string_view(out).substr(detail_at))) {
      out.resize(start);
      return false;
    }
  } else {
    out += a.detail;
  }
  size_t bound = 16;
  for (const Alert::Rule& rule : a.rules) bound += rule.id.size() + rule.title.size() + 24;
  RawWriter r(out, bound);
  r.Char('"');
  if (a.kind == AlertKind::kSigma) {
    r.Literal(R"(,"rules":[)");
    for (size_t i = 0; i < a.rules.size(); ++i) {
      if (i > 0) r.Char(',');
      r.Literal(R"({"id":)");
      r.Quoted(a.rules[i].id);
      r.Literal(R"(,"title":)");
      r.Quoted(a.rules[i].title);
      r.Char('}');
    }
    r.Char(']');
  }
  r.Done();
  AppendMetrics(a, out);  // beacon and scan alerts: few
  bound = 16;
  for (std::string_view e : a.evidence) bound += e.size() + 3;
  RawWriter e(out, bound);
  e.Literal(R"(,"evidence":[)");
  bool first = true;
  for (std::string_view text : a.evidence) {
    if (!first) e.Char(',');
    first = false;
    e.Quoted(text);
  }
  e.Literal("]}");
  e.Done();
  return true;
}

}  // namespace

bool VerbatimMemo::Verbatim(std::string_view text) {
  if (text.empty()) return true;  // as monitor::Verbatim; the slots not yet used hold ""
  for (const Known& known : known_) {
    if (known.text.size() == text.size() && known.text == text) return known.verbatim;
  }
  const bool verbatim = monitor::Verbatim(text);
  if (text.size() <= kMaxBytes) {
    known_[next_] = {std::string(text), verbatim};
    next_ = (next_ + 1) % kKept;
  }
  return verbatim;
}

namespace {

// Written directly (one alert in a few microseconds rather than tens); AlertToJsonSlow
// when any text needs escaping beyond quotes and backslashes. Both give the same bytes
// (alert_test.cc compares them). `memo` may be null (each text checked itself).
void AppendAlertJsonWith(const Alert& a, std::string& out, VerbatimMemo* memo) {
  bool clean = Clean(a.src) && Clean(a.dst) && Clean(a.from_zone) && Clean(a.to_zone);
  for (const Alert::Rule& rule : a.rules) clean = clean && Clean(rule.id) && Clean(rule.title);
  for (std::string_view e : a.evidence) clean = clean && Clean(e);
  for (const Metric& m : a.metrics) clean = clean && Clean(m.name);
  if (clean && AppendCleanAlertJson(a, out, memo)) return;
  bool plain = Plain(a.src) && Plain(a.dst) && Plain(a.from_zone) && Plain(a.to_zone);
  for (const Alert::Rule& rule : a.rules) plain = plain && Plain(rule.id) && Plain(rule.title);
  for (std::string_view e : a.evidence) plain = plain && Plain(e);
  for (const Metric& m : a.metrics) plain = plain && Plain(m.name);
  if (!plain) {
    out += AlertToJsonSlow(a);
    return;
  }
  const size_t start = out.size();
  out.reserve(out.size() + 512 + a.detail.size() + 48 * a.evidence.size());
  out += R"({"kind":)"sv;
  QuotedName(out, AlertKindName(a.kind));
  out += R"(,"severity":)"sv;
  QuotedName(out, SeverityName(a.severity));
  out += R"(,"ts":)"sv;
  char ts[kIsoUtcBytes];
  Quoted(out, FormatIsoUtcTo(a.ts_us, ts));
  out += R"(,"src":)"sv;
  Quoted(out, a.src);
  out += R"(,"dst":)"sv;
  if (a.dst.empty()) {
    out.append("null"sv);
  } else {
    Quoted(out, a.dst);
  }
  out += R"(,"proto":)"sv;
  const char* proto = ProtoName(a.proto);
  if (proto != nullptr) {
    QuotedName(out, proto);
  } else {
    out.append("null"sv);
  }
  out += R"(,"dport":)"sv;
  if (a.dport) {
    AppendDecimal(out, *a.dport);
  } else {
    out.append("null"sv);
  }
  out += R"(,"from_zone":)"sv;
  if (a.from_zone.empty()) {
    out.append("null"sv);
  } else {
    Quoted(out, a.from_zone);
  }
  out += R"(,"to_zone":)"sv;
  if (a.to_zone.empty()) {
    out.append("null"sv);
  } else {
    Quoted(out, a.to_zone);
  }
  out += R"(,"count":)"sv;
  AppendDecimal(out, a.count);
  // The sentence is written in place and checked there (no copy of it is made): when it is not
  // Plain after all, the alert is written again through the slow path.
  out += R"(,"detail":")"sv;
  const size_t detail_at = out.size();
  bool plain_detail = false;
  if (a.detail.empty()) {
    AppendDescription(a, out);
    // The sentence need not be checked byte by byte when the texts it was made of are Plain.
    const std::optional<bool> pieces = DescriptionPiecesPlain(a);
    plain_detail = (pieces && *pieces) || Plain(std::string_view(out).substr(detail_at));
  } else {
    out += a.detail;
    plain_detail = Plain(a.detail);
  }
  if (!plain_detail) {
    out.resize(start);
    out += AlertToJsonSlow(a);
    return;
  }
  if (NeedsEscape(std::string_view(out).substr(detail_at))) {
    const std::string detail = out.substr(detail_at);
    out.resize(detail_at);
    AppendEscaped(out, detail);
  }
  out.push_back('"');
  if (a.kind == AlertKind::kSigma) {
    out += R"(,"rules":)"sv;
    out.push_back('[');
    for (size_t i = 0; i < a.rules.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append("{\"id\":"sv);
      Quoted(out, a.rules[i].id);
      out.append(",\"title\":"sv);
      Quoted(out, a.rules[i].title);
      out.push_back('}');
    }
    out.push_back(']');
  }
  AppendMetrics(a, out);
  out += R"(,"evidence":)"sv;
  out.push_back('[');
  bool first = true;
  for (std::string_view e : a.evidence) {
    if (!first) out.push_back(',');
    first = false;
    Quoted(out, e);
  }
  out.push_back(']');
  out.push_back('}');
}

}  // namespace

void AppendAlertJson(const Alert& a, std::string& out) { AppendAlertJsonWith(a, out, nullptr); }

void AppendAlertJson(const Alert& a, std::string& out, VerbatimMemo& memo) {
  AppendAlertJsonWith(a, out, &memo);
}

std::string AlertToJson(const Alert& a) {
  std::string out;
  AppendAlertJson(a, out);
  return out;
}

Aggregator::Aggregator(int64_t window_us, size_t max_evidence, AlertOutput& output)
    : window_us_(window_us > 0 ? window_us : 1), max_evidence_(max_evidence), output_(output) {}

// `alert` = Alert{} but for the memory of its texts and lists, which the slot's next alert
// reuses instead of allocating again (the zone descriptions, the evidence, the ports, the lists of
// indicators and rules): each field is emptied in place rather than the alert replaced by a new
// one, whose construction and the destruction of the old one cost more than the alert's writing.
// Open slots never outnumber the most alerts open at once, so neither does the memory kept.
// alert_test.cc checks that an emptied alert equals Alert{}.
void EmptyAlert(Alert& alert) {
  alert.kind = AlertKind::kSeparation;
  alert.severity = Severity::kHigh;
  alert.ts_us = 0;
  alert.last_ts_us = 0;
  alert.src.clear();
  alert.dst.clear();
  alert.proto = Proto::kUnknown;
  alert.dport.reset();
  alert.dports.clear();
  alert.from_zone.clear();
  alert.from_zone_description.clear();
  alert.to_zone.clear();
  alert.to_zone_description.clear();
  alert.count = 0;
  alert.indicators.clear();
  alert.rules.clear();
  alert.metrics.clear();
  alert.evidence.clear();
  alert.detail.clear();
}

uint32_t Aggregator::Find(const Finding& f, uint64_t hash) const {
  if (table_.empty()) return kNone;
  const size_t mask = table_.size() - 1;
  for (size_t i = hash & mask; table_[i] != 0; i = (i + 1) & mask) {
    // The entry's part of the hash first: other keys are passed over without reading their
    // slot (a cache miss each).
    if (table_[i] >> 32 != (hash & 0xFFFFFFFFu)) continue;
    const auto slot = static_cast<uint32_t>(table_[i]) - 1;
    const Open& open = slots_[slot];
    if (open.hash == hash && open.alert.kind == f.kind && open.alert.src == f.src &&
        open.alert.dst == f.dst) {
      return slot;
    }
  }
  return kNone;
}

uint32_t Aggregator::Add(uint64_t hash) {
  if ((live_ + 1) * 2 > table_.size()) {  // grow: re-place every live slot
    std::vector<uint64_t> bigger(std::max<size_t>(64, table_.size() * 2), 0);
    const size_t mask = bigger.size() - 1;
    for (uint64_t entry : table_) {
      if (entry == 0) continue;
      size_t i = (entry >> 32) & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = entry;
    }
    table_ = std::move(bigger);
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Open& open = slots_[slot];
  open.hash = hash;
  open.live = true;
  const size_t mask = table_.size() - 1;
  size_t i = hash & mask;
  while (table_[i] != 0) i = (i + 1) & mask;
  table_[i] = (hash & 0xFFFFFFFFu) << 32 | (slot + 1);
  ++live_;
  return slot;
}

void Aggregator::Release(uint32_t slot) {
  const size_t mask = table_.size() - 1;
  size_t i = slots_[slot].hash & mask;
  while (static_cast<uint32_t>(table_[i]) != slot + 1) i = (i + 1) & mask;
  // Backward-shift deletion: later entries of the probe run move up into the hole when their
  // home position is not between the hole and them.
  for (size_t j = (i + 1) & mask; table_[j] != 0; j = (j + 1) & mask) {
    const size_t home = (table_[j] >> 32) & mask;
    const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    table_[i] = table_[j];
    i = j;
  }
  table_[i] = 0;
  Open& open = slots_[slot];
  open.live = false;
  EmptyAlert(open.alert);
  open.rule_texts.clear();
  free_.push_back(slot);
  --live_;
}

void Aggregator::Report(const Finding& f) {
  // The key (kind, src, dst) is hashed and compared in place, never copied.
  uint64_t hash =
      QuickHash(f.src) ^ (QuickHash(f.dst) + static_cast<uint64_t>(f.kind)) * 0x9E3779B97F4A7C15ull;
  hash ^= hash >> 32;  // the table takes the low half
  uint32_t slot = Find(f, hash);
  if (slot != kNone && f.ts_us >= slots_[slot].alert.ts_us + window_us_) {
    Emit(slots_[slot].alert);
    Release(slot);
    slot = kNone;
  }
  if (slot == kNone) {
    slot = Add(hash);
    Open& fresh = slots_[slot];
    fresh.sequence = next_sequence_++;
    Alert& a = fresh.alert;  // empty: new, or emptied by Release
    a.kind = f.kind;
    a.severity = f.severity;
    a.ts_us = f.ts_us;
    a.last_ts_us = f.ts_us;
    a.src.assign(f.src);
    a.dst.assign(f.dst);
    a.proto = f.proto;
    a.dport = f.dport;
    a.from_zone.assign(f.from_zone.name);
    a.from_zone_description.assign(f.from_zone.description);
    a.to_zone.assign(f.to_zone.name);
    a.to_zone_description.assign(f.to_zone.description);
    PushClosing({f.ts_us + window_us_, fresh.sequence, slot});
  }
  Alert& a = slots_[slot].alert;
  a.count += f.weight;
  if (!f.metrics.empty()) a.metrics.assign(f.metrics.begin(), f.metrics.end());
  a.severity = std::max(a.severity, f.severity);
  a.last_ts_us = std::max(a.last_ts_us, f.ts_us);
  if (f.dport && a.dports.size() < kMaxPorts &&
      std::find(a.dports.begin(), a.dports.end(), *f.dport) == a.dports.end()) {
    a.dports.push_back(*f.dport);
  }
  if (!f.indicator.empty() && a.indicators.size() < kMaxIndicators &&
      std::find(a.indicators.begin(), a.indicators.end(), f.indicator) == a.indicators.end()) {
    a.indicators.emplace_back(f.indicator);
  }
  std::vector<Open::RuleTexts>& rule_texts = slots_[slot].rule_texts;
  for (const RuleRef& rule : f.rules) {
    if (a.rules.size() >= kMaxRules) break;
    const Open::RuleTexts texts{rule.id.data(), rule.id.size(), rule.title.data(),
                                rule.title.size()};
    if (std::find(rule_texts.begin(), rule_texts.end(), texts) != rule_texts.end()) {
      continue;  // the same texts, where they are kept: the same rule (see RuleRef)
    }
    const bool seen = std::any_of(a.rules.begin(), a.rules.end(), [&](const Alert::Rule& r) {
      return r.id == rule.id && r.title == rule.title;
    });
    if (!seen) a.rules.push_back({std::string(rule.id), std::string(rule.title)});
    rule_texts.push_back(texts);
  }
  if (a.evidence.size() < max_evidence_ && !f.file.empty()) {
    char line[24];  // ":line" and, with a uid, the space after it
    line[0] = ':';
    char* end = std::to_chars(line + 1, line + sizeof line - 1, f.line).ptr;
    if (!f.uid.empty()) *end++ = ' ';
    a.evidence.Add(f.file, std::string_view(line, static_cast<size_t>(end - line)), f.uid);
  }
}

void Aggregator::PushClosing(const Closing& closing) {
  if (closing_in_order_.empty() || !(closing_in_order_.back() > closing)) {
    closing_in_order_.push_back(closing);
  } else {
    closing_.push(closing);
  }
}

const Aggregator::Closing* Aggregator::FirstClosing() const {
  const Closing* in_order = closing_in_order_.empty() ? nullptr : &closing_in_order_.front();
  const Closing* other = closing_.empty() ? nullptr : &closing_.top();
  if (in_order == nullptr) return other;
  if (other == nullptr) return in_order;
  return *in_order > *other ? other : in_order;
}

void Aggregator::PopClosing(const Closing* first) {
  if (!closing_in_order_.empty() && first == &closing_in_order_.front()) {
    closing_in_order_.pop_front();
  } else {
    closing_.pop();
  }
}

void Aggregator::Advance(int64_t now_us) {
  for (const Closing* first; (first = FirstClosing()) != nullptr && first->end_us <= now_us;) {
    const Closing top = *first;
    PopClosing(first);
    Open& open = slots_[top.slot];
    if (!open.live || open.sequence != top.sequence) continue;  // already written
    Emit(open.alert);
    Release(top.slot);
  }
}

void Aggregator::Finish() {
  std::vector<Open*> rest;
  rest.reserve(live_);
  for (Open& open : slots_) {
    if (open.live) rest.push_back(&open);
  }
  std::sort(rest.begin(), rest.end(), [](const Open* a, const Open* b) {
    if (a->alert.ts_us != b->alert.ts_us) return a->alert.ts_us < b->alert.ts_us;
    return a->sequence < b->sequence;
  });
  for (Open* open : rest) Emit(open->alert);
  slots_.clear();
  free_.clear();
  table_.clear();
  live_ = 0;
  closing_in_order_.clear();
  closing_ = {};
}

std::map<std::string, uint64_t> Aggregator::written_by_kind() const {
  std::map<std::string, uint64_t> out;
  for (size_t kind = 0; kind < kAlertKindCount; ++kind) {
    if (written_[kind] > 0) out[AlertKindName(static_cast<AlertKind>(kind))] = written_[kind];
  }
  return out;
}

void Aggregator::Emit(Alert& alert) {
  ++written_[static_cast<size_t>(alert.kind)];
  output_.Write(alert);
}

}  // namespace mamori::monitor
