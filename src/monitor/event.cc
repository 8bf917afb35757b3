#include "monitor/event.h"

#include <array>

namespace mamori::monitor {
namespace {

constexpr uint8_t Bit(InputFormat format) { return uint8_t{1} << static_cast<int>(format); }
constexpr uint8_t kZeeks = Bit(InputFormat::kZeek) | Bit(InputFormat::kZeekJson);
constexpr uint8_t kAll = 0x1f;

struct FieldName {
  uint8_t formats;  // Bit(...) of the formats where the name applies
  std::string_view name;
  EventField field;
};

// The one mapping from field names to event fields. Sigma taxonomy names (categories firewall,
// proxy, dns; https://github.com/SigmaHQ/sigma-specification, "Taxonomy") apply to every
// format; each format's own names apply to that format only.
constexpr std::array kFieldNames = {
    // Sigma taxonomy: firewall, proxy, dns.
    FieldName{kAll, "src_ip", EventField::kSrcIp},
    FieldName{kAll, "src_port", EventField::kSrcPort},
    FieldName{kAll, "dst_ip", EventField::kDstIp},
    FieldName{kAll, "dst_port", EventField::kDstPort},
    FieldName{kAll, "c-ip", EventField::kSrcIp},
    FieldName{kAll, "c-uri", EventField::kHttpUrl},
    FieldName{kAll, "cs-host", EventField::kHttpHost},
    FieldName{kAll, "r-dns", EventField::kHttpHost},
    FieldName{kAll, "cs-method", EventField::kHttpMethod},
    FieldName{kAll, "c-useragent", EventField::kUserAgent},
    FieldName{kAll, "sc-status", EventField::kHttpStatus},
    FieldName{kAll, "cs-bytes", EventField::kBytesOut},
    FieldName{kAll, "sc-bytes", EventField::kBytesIn},
    FieldName{kAll, "query", EventField::kDnsQuery},
    FieldName{kAll, "action", EventField::kAction},
    // Zeek (conn, dns, http, ssl logs).
    FieldName{kZeeks, "ts", EventField::kTs},
    FieldName{kZeeks, "uid", EventField::kUid},
    FieldName{kZeeks, "id.orig_h", EventField::kSrcIp},
    FieldName{kZeeks, "id.orig_p", EventField::kSrcPort},
    FieldName{kZeeks, "id.resp_h", EventField::kDstIp},
    FieldName{kZeeks, "id.resp_p", EventField::kDstPort},
    FieldName{kZeeks, "proto", EventField::kProto},
    FieldName{kZeeks, "conn_state", EventField::kConnState},
    FieldName{kZeeks, "orig_bytes", EventField::kBytesOut},
    FieldName{kZeeks, "resp_bytes", EventField::kBytesIn},
    FieldName{kZeeks, "host", EventField::kHttpHost},
    FieldName{kZeeks, "uri", EventField::kHttpUrl},
    FieldName{kZeeks, "method", EventField::kHttpMethod},
    FieldName{kZeeks, "status_code", EventField::kHttpStatus},
    FieldName{kZeeks, "user_agent", EventField::kUserAgent},
    FieldName{kZeeks, "server_name", EventField::kTlsSni},
    // Suricata EVE.
    FieldName{Bit(InputFormat::kEve), "timestamp", EventField::kTs},
    FieldName{Bit(InputFormat::kEve), "flow_id", EventField::kUid},
    FieldName{Bit(InputFormat::kEve), "dest_ip", EventField::kDstIp},
    FieldName{Bit(InputFormat::kEve), "dest_port", EventField::kDstPort},
    FieldName{Bit(InputFormat::kEve), "proto", EventField::kProto},
    FieldName{Bit(InputFormat::kEve), "flow.state", EventField::kConnState},
    FieldName{Bit(InputFormat::kEve), "flow.bytes_toserver", EventField::kBytesOut},
    FieldName{Bit(InputFormat::kEve), "flow.bytes_toclient", EventField::kBytesIn},
    FieldName{Bit(InputFormat::kEve), "dns.rrname", EventField::kDnsQuery},
    FieldName{Bit(InputFormat::kEve), "http.hostname", EventField::kHttpHost},
    FieldName{Bit(InputFormat::kEve), "http.url", EventField::kHttpUrl},
    FieldName{Bit(InputFormat::kEve), "http.http_method", EventField::kHttpMethod},
    FieldName{Bit(InputFormat::kEve), "http.status", EventField::kHttpStatus},
    FieldName{Bit(InputFormat::kEve), "http.http_user_agent", EventField::kUserAgent},
    FieldName{Bit(InputFormat::kEve), "tls.sni", EventField::kTlsSni},
    FieldName{Bit(InputFormat::kEve), "alert.action", EventField::kAction},
    FieldName{Bit(InputFormat::kEve), "alert.signature", EventField::kSignature},
    // netfilter LOG (the kernel's key=value names).
    FieldName{Bit(InputFormat::kNetfilter), "SRC", EventField::kSrcIp},
    FieldName{Bit(InputFormat::kNetfilter), "DST", EventField::kDstIp},
    FieldName{Bit(InputFormat::kNetfilter), "SPT", EventField::kSrcPort},
    FieldName{Bit(InputFormat::kNetfilter), "DPT", EventField::kDstPort},
    FieldName{Bit(InputFormat::kNetfilter), "PROTO", EventField::kProto},
    FieldName{Bit(InputFormat::kNetfilter), "LEN", EventField::kBytesOut},
    FieldName{Bit(InputFormat::kNetfilter), "prefix", EventField::kAction},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

FieldValue Text(std::string_view text) {
  if (text.empty()) return {};
  return {FieldValue::Kind::kText, text, 0};
}
FieldValue Number(uint64_t n) { return {FieldValue::Kind::kNumber, {}, n}; }

}  // namespace

const char* InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kZeek:
      return "zeek";
    case InputFormat::kZeekJson:
      return "zeek-json";
    case InputFormat::kEve:
      return "eve";
    case InputFormat::kNetfilter:
      return "netfilter";
    case InputFormat::kSquid:
      return "squid";
  }
  return "?";
}

std::optional<InputFormat> ParseInputFormat(std::string_view name) {
  for (int i = 0; i < kInputFormatCount; ++i) {
    const auto format = static_cast<InputFormat>(i);
    if (name == InputFormatName(format)) return format;
  }
  return std::nullopt;
}

const char* LogTypeName(LogType type) {
  switch (type) {
    case LogType::kConn:
      return "conn";
    case LogType::kDns:
      return "dns";
    case LogType::kHttp:
      return "http";
    case LogType::kTls:
      return "tls";
    case LogType::kAlert:
      return "alert";
    case LogType::kFirewall:
      return "firewall";
    case LogType::kProxy:
      return "proxy";
  }
  return "?";
}

const char* ProtoName(Proto proto) {
  switch (proto) {
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
    case Proto::kIcmp:
      return "icmp";
    case Proto::kOther:
      return "other";
    case Proto::kUnknown:
      return nullptr;
  }
  return nullptr;
}

Proto ParseProto(std::string_view text) {
  if (text.empty()) return Proto::kUnknown;
  if (EqualsIgnoreCase(text, "tcp") || text == "6") return Proto::kTcp;
  if (EqualsIgnoreCase(text, "udp") || text == "17") return Proto::kUdp;
  if (EqualsIgnoreCase(text, "icmp") || EqualsIgnoreCase(text, "ipv6-icmp") ||
      EqualsIgnoreCase(text, "icmpv6") || EqualsIgnoreCase(text, "icmp6") || text == "1" ||
      text == "58") {
    return Proto::kIcmp;
  }
  return Proto::kOther;
}

std::optional<EventField> ResolveField(InputFormat format, std::string_view name) {
  for (const FieldName& entry : kFieldNames) {
    if ((entry.formats & Bit(format)) != 0 && entry.name == name) return entry.field;
  }
  return std::nullopt;
}

FieldValue GetField(const Event& e, EventField field) {
  switch (field) {
    case EventField::kTs:
      return Number(static_cast<uint64_t>(e.ts_us < 0 ? 0 : e.ts_us / 1000000));
    case EventField::kSrcIp:
      return Text(e.src.text);
    case EventField::kSrcPort:
      return e.has_ports ? Number(e.sport) : FieldValue{};
    case EventField::kDstIp:
      return Text(e.dst.text);
    case EventField::kDstPort:
      return e.has_ports ? Number(e.dport) : FieldValue{};
    case EventField::kProto: {
      const char* name = ProtoName(e.proto);
      return name != nullptr ? Text(name) : FieldValue{};
    }
    case EventField::kBytesOut:
      return e.has_bytes ? Number(e.bytes_out) : FieldValue{};
    case EventField::kBytesIn:
      return e.has_bytes ? Number(e.bytes_in) : FieldValue{};
    case EventField::kConnState:
      return Text(e.conn_state);
    case EventField::kUid:
      return Text(e.uid);
    case EventField::kDnsQuery:
      return Text(e.dns_query);
    case EventField::kHttpHost:
      return Text(e.http_host);
    case EventField::kHttpUrl:
      return Text(e.http_url);
    case EventField::kHttpMethod:
      return Text(e.http_method);
    case EventField::kHttpStatus:
      return e.http_status != 0 ? Number(e.http_status) : FieldValue{};
    case EventField::kUserAgent:
      return Text(e.user_agent);
    case EventField::kTlsSni:
      return Text(e.tls_sni);
    case EventField::kAction:
      return Text(e.action);
    case EventField::kSignature:
      return Text(e.signature);
  }
  return {};
}

}  // namespace mamori::monitor
