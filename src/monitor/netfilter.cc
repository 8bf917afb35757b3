// netfilter LOG lines (iptables -j LOG, nftables log) as syslog writes them:
//
//   May  1 09:30:00 fw kernel: [ 12.345] DROP IN=eth0 OUT=eth1 MAC=… SRC=10.20.1.5
//       DST=10.10.1.7 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=50000 DPT=445 …
//
// The syslog part may be RFC 3164 ("May  1 09:30:00", optionally after "<PRI>"; the year and
// time zone come from SyslogClock), RFC 5424 ("<4>1 2024-05-01T09:30:00.1+09:00 host …") or an
// RFC 3339 time first (rsyslog's high-precision file format). The kernel prints the rule's log
// prefix straight before "IN=", so the prefix is the text between the syslog tag (or the
// kernel's uptime stamp) and "IN="; it becomes Event::action, and DROP/REJECT/DENY/BLOCK or
// ACCEPT/ALLOW/PASS in it set the outcome. Syslog lines that are not LOG lines are ignored.
#include <array>

#include "monitor/parser.h"
#include "monitor/text_util.h"

namespace mamori::monitor {
namespace {

constexpr Reason kNotLog{"netfilter の LOG 行ではない syslog 行です",
                         "syslog line that is not a netfilter LOG line"};
constexpr Reason kBadTime{"syslog の時刻が読めません", "unreadable syslog timestamp"};
constexpr Reason kNoAddress{"SRC= か DST= がありません", "no SRC= or DST="};
constexpr Reason kBadPort{"SPT= か DPT= が不正です", "bad SPT= or DPT="};

std::string_view NextToken(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const size_t end = s.find(' ');
  const std::string_view token = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return token;
}

int MonthOf(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i) + 1;
  }
  return 0;
}

std::optional<int> Two(std::string_view s) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return std::nullopt;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

// The syslog header: the time and where the message (after the tag) starts.
struct SyslogHeader {
  int64_t ts_us = 0;
  size_t message = 0;
};

// Skips one space-separated token (and the spaces before it) of `text` from `pos`.
size_t SkipToken(std::string_view text, size_t pos) {
  while (pos < text.size() && text[pos] == ' ') ++pos;
  while (pos < text.size() && text[pos] != ' ') ++pos;
  return pos;
}

// After the host: the tag ("kernel:", "kernel[1]:") ends at the first ": ".
size_t AfterTag(std::string_view text, size_t pos) {
  const size_t colon = text.find(": ", pos);
  return colon == std::string_view::npos ? pos : colon + 2;
}

std::optional<SyslogHeader> ParseSyslogHeader(std::string_view text, const SyslogClock& clock) {
  size_t pos = 0;
  if (!text.empty() && text.front() == '<') {
    const size_t close = text.find('>');
    if (close == std::string_view::npos || close > 4) return std::nullopt;
    pos = close + 1;
  }
  SyslogHeader header;
  if (text.substr(pos, 2) == "1 ") {  // RFC 5424: VERSION TIMESTAMP HOST APP PROCID MSGID SD MSG
    pos += 2;
    const size_t end = SkipToken(text, pos);
    const std::optional<int64_t> ts = ParseIsoTime(text.substr(pos, end - pos));
    if (!ts) return std::nullopt;
    header.ts_us = *ts;
    pos = end;
    for (int i = 0; i < 4; ++i) pos = SkipToken(text, pos);  // host, app, procid, msgid
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos < text.size() && text[pos] == '[') {  // structured data: [...][...]
      while (pos < text.size() && text[pos] == '[') {
        bool quoted = false;
        for (++pos; pos < text.size(); ++pos) {
          if (text[pos] == '\\') {
            ++pos;
          } else if (text[pos] == '"') {
            quoted = !quoted;
          } else if (text[pos] == ']' && !quoted) {
            ++pos;
            break;
          }
        }
      }
    } else {
      pos = SkipToken(text, pos);  // "-"
    }
    header.message = pos;
    return header;
  }
  if (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {  // RFC 3339 time first
    const size_t end = SkipToken(text, pos);
    const std::optional<int64_t> ts = ParseIsoTime(text.substr(pos, end - pos));
    if (!ts) return std::nullopt;
    header.ts_us = *ts;
    header.message = AfterTag(text, SkipToken(text, end));
    return header;
  }
  // RFC 3164: "Mmm dd hh:mm:ss", the day padded with a space.
  const std::string_view t = text.substr(pos);
  if (t.size() < 15) return std::nullopt;
  const int month = MonthOf(t.substr(0, 3));
  if (month == 0 || t[3] != ' ') return std::nullopt;
  const std::string_view day_text = t.substr(4, 2);
  int day = 0;
  if (day_text[0] == ' ' && day_text[1] >= '1' && day_text[1] <= '9') {
    day = day_text[1] - '0';
  } else if (const auto d = Two(day_text)) {
    day = *d;
  } else {
    return std::nullopt;
  }
  if (t[6] != ' ' || t[9] != ':' || t[12] != ':') return std::nullopt;
  const auto hour = Two(t.substr(7, 2));
  const auto minute = Two(t.substr(10, 2));
  const auto second = Two(t.substr(13, 2));
  if (!hour || !minute || !second) return std::nullopt;
  const std::optional<int64_t> local =
      CivilToMicros(clock.year, month, day, *hour, *minute, *second);
  if (!local) return std::nullopt;
  header.ts_us = *local - int64_t{clock.utc_offset_minutes} * 60000000;
  header.message = AfterTag(text, SkipToken(text, pos + 15));
  return header;
}

// Where "IN=" of the kernel's LOG format starts: "IN=<if> OUT=".
size_t FindIn(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("IN=", pos)) != std::string_view::npos) {
    const size_t space = text.find(' ', pos);
    if (space != std::string_view::npos && text.substr(space + 1, 4) == "OUT=") return pos;
    ++pos;
  }
  return std::string_view::npos;
}

// The log prefix: the message up to IN=, without the kernel's uptime stamp "[ 12.345]" (and
// without the byte order mark RFC 5424 allows at the start of a UTF-8 message).
std::string_view LogPrefix(std::string_view prefix) {
  while (!prefix.empty() && prefix.front() == ' ') prefix.remove_prefix(1);
  if (prefix.substr(0, 3) == "\xEF\xBB\xBF") prefix.remove_prefix(3);  // RFC 5424: BOM before MSG
  if (!prefix.empty() && prefix.front() == '[') {
    const size_t close = prefix.find(']');
    bool uptime = close != std::string_view::npos && close > 1;
    for (size_t i = 1; uptime && i < close; ++i) {
      const char c = prefix[i];
      uptime = c == ' ' || c == '.' || (c >= '0' && c <= '9');
    }
    if (uptime) prefix.remove_prefix(close + 1);
  }
  while (!prefix.empty() && prefix.front() == ' ') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == ' ') prefix.remove_suffix(1);
  return prefix;
}

Outcome OutcomeOf(std::string_view prefix) {
  for (const char* word : {"DROP", "REJECT", "DENY", "BLOCK"}) {
    if (ContainsIgnoreCase(prefix, word)) return Outcome::kBlocked;
  }
  for (const char* word : {"ACCEPT", "ALLOW", "PASS"}) {
    if (ContainsIgnoreCase(prefix, word)) return Outcome::kAllowed;
  }
  return Outcome::kUnknown;
}

class NetfilterParser final : public Parser {
 public:
  explicit NetfilterParser(const SyslogClock& clock) : clock_(clock) {}

  ParseResult Parse(const Line& line, Event& event) override {
    const std::string_view text = line.text;
    const size_t in = FindIn(text);
    if (in == std::string_view::npos) return ParseResult::Ignored(kNotLog);
    event = Event{};
    event.format = InputFormat::kNetfilter;
    event.type = LogType::kFirewall;
    event.file = line.file;
    event.line = line.number;
    const std::optional<SyslogHeader> header = ParseSyslogHeader(text, clock_);
    if (!header) return ParseResult::Malformed(kBadTime);
    event.ts_us = header->ts_us;
    event.action =
        header->message < in ? LogPrefix(text.substr(header->message, in - header->message)) : "";
    event.outcome = OutcomeOf(event.action);
    std::string_view rest = text.substr(in);
    while (!rest.empty()) {
      const std::string_view token = NextToken(rest);
      const size_t eq = token.find('=');
      if (eq == std::string_view::npos) continue;  // flags: DF, SYN, ACK, …
      const std::string_view key = token.substr(0, eq);
      const std::string_view value = token.substr(eq + 1);
      if (key == "SRC") {
        SetAddress(event.src, value);
      } else if (key == "DST") {
        SetAddress(event.dst, value);
      } else if (key == "PROTO") {
        event.proto = ParseProto(value);
      } else if (key == "SPT" || key == "DPT") {
        const std::optional<uint16_t> port = ParsePort(value);
        if (!port) return ParseResult::Malformed(kBadPort);
        (key == "SPT" ? event.sport : event.dport) = *port;
        event.has_ports = true;
      } else if (key == "LEN" && !event.has_bytes) {  // the IP packet's length
        if (const std::optional<uint64_t> n = ParseUnsigned(value)) {
          event.bytes_out = *n;
          event.has_bytes = true;
        }
      }
    }
    if (event.src.text.empty() || event.dst.text.empty()) {
      return ParseResult::Malformed(kNoAddress);
    }
    return ParseResult::Ok();
  }

 private:
  SyslogClock clock_;
};

}  // namespace

std::unique_ptr<Parser> MakeNetfilterParser(const SyslogClock& clock) {
  return std::make_unique<NetfilterParser>(clock);
}

}  // namespace mamori::monitor
