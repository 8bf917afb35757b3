// Squid's native access.log:
//
//   time elapsed client result/status bytes method URL user hierarchy/peer [type]
//   1714523400.123    245 10.30.1.20 TCP_MISS/200 5120 GET http://example.jp/ - HIER_DIRECT/
//       203.0.113.5 text/html
//
// src is the client, dst the server Squid contacted (the peer after "/"; "-" when none), the
// host and port come from the URL (CONNECT: "host:port"). bytes are what Squid sent to the
// client. A result code with DENIED is kBlocked, others kAllowed.
#include "monitor/parser.h"
#include "monitor/text_util.h"
#include "monitor/zeek_fields.h"

namespace mamori::monitor {
namespace {

constexpr Reason kFields{"Squid の access.log の列が足りません",
                         "too few fields for a Squid access.log line"};
constexpr Reason kBadTime{"時刻（エポック秒）が読めません", "unreadable time (epoch seconds)"};
constexpr Reason kBadResult{"結果コード（例: TCP_MISS/200）が不正です",
                            "bad result code (e.g. TCP_MISS/200)"};
constexpr Reason kBadBytes{"バイト数が不正です", "bad byte count"};

std::string_view NextToken(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
  const std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

class SquidParser final : public Parser {
 public:
  ParseResult Parse(const Line& line, Event& event) override {
    event = Event{};
    event.format = InputFormat::kSquid;
    event.type = LogType::kProxy;
    event.file = line.file;
    event.line = line.number;
    std::string_view rest = line.text;
    std::string_view f[9];
    for (std::string_view& field : f) {
      field = NextToken(rest);
      if (field.empty()) return ParseResult::Malformed(kFields);
    }
    const std::optional<int64_t> ts = ParseEpochSeconds(f[0]);
    if (!ts) return ParseResult::Malformed(kBadTime);
    event.ts_us = *ts;
    SetAddress(event.src, f[2]);
    const size_t slash = f[3].find('/');
    if (slash == std::string_view::npos) return ParseResult::Malformed(kBadResult);
    event.action = f[3].substr(0, slash);
    event.http_status = ParsePort(f[3].substr(slash + 1)).value_or(0);
    event.outcome =
        ContainsIgnoreCase(event.action, "DENIED") ? Outcome::kBlocked : Outcome::kAllowed;
    const std::optional<uint64_t> bytes = ParseUnsigned(f[4]);
    if (!bytes) return ParseResult::Malformed(kBadBytes);
    event.bytes_in = *bytes;
    event.has_bytes = true;
    event.http_method = f[5];
    event.http_url = f[6];
    event.proto = Proto::kTcp;
    const size_t peer_slash = f[8].find('/');
    const std::string_view peer =
        peer_slash == std::string_view::npos ? std::string_view() : f[8].substr(peer_slash + 1);
    if (!peer.empty() && peer != "-") SetAddress(event.dst, peer);
    SetHostAndPort(event);
    return ParseResult::Ok();
  }

 private:
  static void SetHostAndPort(Event& event) {
    std::string_view url = event.http_url;
    uint16_t port = 0;
    const size_t scheme = url.find("://");
    if (scheme != std::string_view::npos) {
      const std::string_view name = url.substr(0, scheme);
      port = name == "https" ? 443 : name == "ftp" ? 21 : name == "http" ? 80 : 0;
      url.remove_prefix(scheme + 3);
    }
    url = url.substr(0, url.find_first_of("/?#"));
    const size_t at = url.rfind('@');
    if (at != std::string_view::npos) url.remove_prefix(at + 1);
    const std::string_view host = zeek::HostWithoutPort(url);
    if (host.size() < url.size() && url[host.size()] == ':') {
      port = ParsePort(url.substr(host.size() + 1)).value_or(port);
    }
    event.http_host = host;
    if (port != 0) {
      event.dport = port;
      event.has_ports = true;
    }
  }
};

}  // namespace

std::unique_ptr<Parser> MakeSquidParser() { return std::make_unique<SquidParser>(); }

}  // namespace mamori::monitor
