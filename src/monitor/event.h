// The normalized event of `mamori monitor`: one connection, flow, firewall decision, DNS query,
// HTTP request or TLS handshake read from a sensor's or firewall's log (Zeek, Suricata EVE,
// netfilter LOG lines in syslog, Squid), whatever the input format. Detectors see only this.
//
// Lifetime: an Event is a view. Its string_views point into the line being parsed and into the
// parser's own buffers; they are valid until the parser reads the next line. A detector that
// keeps anything copies it. Plain value; no shared state.
//
// Field lookup for Sigma rules: ResolveField maps a Sigma field name (the taxonomy's `src_ip`,
// `c-uri`, … or a format's own name such as Zeek's `id.orig_h`) to an EventField for one input
// format, once when a rule is compiled; GetField then reads it from each event without
// allocating. The mapping is the one table in event.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mamori::monitor {

enum class InputFormat : uint8_t { kZeek, kZeekJson, kEve, kNetfilter, kSquid };
inline constexpr int kInputFormatCount = 5;
// "zeek", "zeek-json", "eve", "netfilter", "squid".
const char* InputFormatName(InputFormat format);
std::optional<InputFormat> ParseInputFormat(std::string_view name);

// What the record describes.
enum class LogType : uint8_t {
  kConn,      // a connection or flow: Zeek conn.log, EVE flow and netflow
  kDns,       // Zeek dns.log, EVE dns
  kHttp,      // Zeek http.log, EVE http
  kTls,       // Zeek ssl.log, EVE tls
  kAlert,     // EVE alert
  kFirewall,  // a netfilter LOG line: one packet a rule logged
  kProxy,     // a Squid access.log request (src is the client, dst the server Squid contacted)
};
const char* LogTypeName(LogType type);

enum class Proto : uint8_t { kUnknown, kTcp, kUdp, kIcmp, kOther };
// "tcp", "udp", "icmp", "other"; nullptr for kUnknown.
const char* ProtoName(Proto proto);
// Case-insensitive "tcp", "udp", "icmp" (also "ipv6-icmp", "icmp6"); other non-empty text is
// kOther, "" kUnknown.
Proto ParseProto(std::string_view text);

// How the connection went, as far as the record says.
enum class Outcome : uint8_t {
  kUnknown,
  kNoReply,      // the responder never answered (Zeek S0, SH, RSTOS0)
  kRejected,     // the responder refused (Zeek REJ, RSTRH)
  kEstablished,  // both sides spoke (Zeek SF, S1, S2, S3, RSTO, RSTR)
  kAllowed,      // a firewall or proxy let it through (netfilter ACCEPT, Squid TCP_MISS/200)
  kBlocked,      // a firewall, IPS or proxy stopped it (netfilter DROP/REJECT, EVE blocked,
                 // Squid TCP_DENIED)
};

struct Address {
  std::string_view text;  // as written; "" when absent
  uint32_t v4 = 0;        // host order; meaningful only when is_v4
  bool is_v4 = false;     // text is a dotted-quad IPv4 address (IPv6 stays text only)
  bool operator==(const Address&) const = default;  // texts compared by content
};

struct Event {
  InputFormat format = InputFormat::kZeek;
  LogType type = LogType::kConn;
  int64_t ts_us = 0;  // microseconds since 1970-01-01 UTC; every event has one
  Address src;        // originator (Zeek id.orig_h, EVE src_ip, SRC=, Squid client)
  Address dst;        // responder (Zeek id.resp_h, EVE dest_ip, DST=, Squid peer)
  uint16_t sport = 0;
  uint16_t dport = 0;
  bool has_ports = false;  // sport/dport are set (tcp and udp; Zeek and EVE also icmp)
  Proto proto = Proto::kUnknown;
  bool has_bytes = false;
  uint64_t bytes_out = 0;  // originator → responder payload (EVE bytes_toserver, LEN=)
  uint64_t bytes_in = 0;   // responder → originator (Squid: bytes sent to the client)
  // Originator → responder at the IP level, headers included (Zeek orig_ip_bytes; EVE flow
  // bytes_toserver, which counts whole packets). The beacon detector's data size (RITA uses
  // orig_ip_bytes).
  bool has_ip_bytes = false;
  uint64_t ip_bytes_out = 0;
  Outcome outcome = Outcome::kUnknown;
  std::string_view conn_state;  // Zeek conn_state, EVE flow.state
  std::string_view uid;         // Zeek uid, EVE flow_id
  std::string_view dns_query;
  std::string_view http_host;  // without a port
  std::string_view http_url;
  std::string_view http_method;
  std::string_view user_agent;
  uint16_t http_status = 0;  // 0 when absent
  std::string_view tls_sni;
  std::string_view action;     // netfilter log prefix, EVE alert.action, Squid result code
  std::string_view signature;  // EVE alert.signature
  // Where the record is: the input's name and the 1-based line number.
  std::string_view file;
  uint64_t line = 0;
  // Field by field, texts by content (differential tests of parser fast paths).
  bool operator==(const Event&) const = default;
};

// The event fields a rule can test.
enum class EventField : uint8_t {
  kTs,
  kSrcIp,
  kSrcPort,
  kDstIp,
  kDstPort,
  kProto,
  kBytesOut,
  kBytesIn,
  kConnState,
  kUid,
  kDnsQuery,
  kHttpHost,
  kHttpUrl,
  kHttpMethod,
  kHttpStatus,
  kUserAgent,
  kTlsSni,
  kAction,
  kSignature,
};

struct FieldValue {
  enum class Kind : uint8_t { kAbsent, kText, kNumber };
  Kind kind = Kind::kAbsent;
  std::string_view text;  // kText
  uint64_t number = 0;    // kNumber (ts in seconds)
};

// The field a Sigma field name means in events of `format`; nullopt when the format has no such
// field (the rule cannot be evaluated on that input). Names are matched exactly.
std::optional<EventField> ResolveField(InputFormat format, std::string_view name);
FieldValue GetField(const Event& event, EventField field);

}  // namespace mamori::monitor
