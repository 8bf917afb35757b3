#include "monitor/zeek_fields.h"

#include <array>
#include <cstring>
#include <utility>

#include "monitor/text_util.h"

namespace mamori::monitor::zeek {

namespace {

// The first and the last `sizeof(Word)` bytes of `a` and `b` (n bytes each, n >= sizeof(Word)).
template <class Word>
bool SameEnds(const char* a, const char* b, size_t n) {
  Word x0, x1, y0, y1;
  std::memcpy(&x0, a, sizeof(Word));
  std::memcpy(&x1, a + n - sizeof(Word), sizeof(Word));
  std::memcpy(&y0, b, sizeof(Word));
  std::memcpy(&y1, b + n - sizeof(Word), sizeof(Word));
  return x0 == y0 && x1 == y1;
}

// `name` == `literal` for a name of the literal's length: compared as two overlapping words (no
// call to memcmp; a record has a dozen keys or more).
template <size_t N>
bool Same(std::string_view name, const char (&literal)[N]) {
  constexpr size_t n = N - 1;
  static_assert(n >= 2 && n <= 16);
  if constexpr (n >= 8) {
    return SameEnds<uint64_t>(name.data(), literal, n);
  } else if constexpr (n >= 4) {
    return SameEnds<uint32_t>(name.data(), literal, n);
  } else {
    return SameEnds<uint16_t>(name.data(), literal, n);
  }
}

}  // namespace

Field FieldOf(std::string_view name) {
  // By length first: most keys of a record are fields not read, and this rejects them with one
  // or two comparisons.
  auto is = [&](const auto& literal) { return Same(name, literal); };
  switch (name.size()) {
    case 2:
      return is("ts") ? Field::kTs : Field::kOther;
    case 3:
      return is("uid") ? Field::kUid : is("uri") ? Field::kUri : Field::kOther;
    case 4:
      return is("host") ? Field::kHost : Field::kOther;
    case 5:
      return is("proto") ? Field::kProto : is("query") ? Field::kQuery : Field::kOther;
    case 6:
      return is("method") ? Field::kMethod : Field::kOther;
    case 9:
      return is("id.orig_h")   ? Field::kOrigH
             : is("id.orig_p") ? Field::kOrigP
             : is("id.resp_h") ? Field::kRespH
             : is("id.resp_p") ? Field::kRespP
                               : Field::kOther;
    case 10:
      return is("orig_bytes")   ? Field::kOrigBytes
             : is("resp_bytes") ? Field::kRespBytes
             : is("conn_state") ? Field::kConnState
             : is("user_agent") ? Field::kUserAgent
                                : Field::kOther;
    case 11:
      return is("status_code")   ? Field::kStatusCode
             : is("server_name") ? Field::kServerName
                                 : Field::kOther;
    case 13:
      return is("orig_ip_bytes") ? Field::kOrigIpBytes : Field::kOther;
    default:
      return Field::kOther;
  }
}

std::optional<LogType> LogTypeOfPath(std::string_view path) {
  if (path == "conn") return LogType::kConn;
  if (path == "dns") return LogType::kDns;
  if (path == "http") return LogType::kHttp;
  if (path == "ssl") return LogType::kTls;
  return std::nullopt;
}

std::optional<LogType> Seen::Type() const {
  if (conn) return LogType::kConn;
  if (dns) return LogType::kDns;
  if (http) return LogType::kHttp;
  if (tls) return LogType::kTls;
  return std::nullopt;
}

Outcome OutcomeOfConnState(std::string_view s) {
  // S0, SH, RSTOS0: no reply; REJ, RSTRH: rejected; SF, S1, S2, S3, RSTO, RSTR: established;
  // anything else (OTH, SHR, unset) unknown. By length first: one or two comparisons a record.
  switch (s.size()) {
    case 2:
      if (s[0] != 'S') return Outcome::kUnknown;
      switch (s[1]) {
        case '0':
        case 'H':
          return Outcome::kNoReply;
        case 'F':
        case '1':
        case '2':
        case '3':
          return Outcome::kEstablished;
        default:
          return Outcome::kUnknown;
      }
    case 3:
      return s == "REJ" ? Outcome::kRejected : Outcome::kUnknown;
    case 4:
      return s == "RSTO" || s == "RSTR" ? Outcome::kEstablished : Outcome::kUnknown;
    case 5:
      return s == "RSTRH" ? Outcome::kRejected : Outcome::kUnknown;
    case 6:
      return s == "RSTOS0" ? Outcome::kNoReply : Outcome::kUnknown;
    default:
      return Outcome::kUnknown;
  }
}

std::string_view HostWithoutPort(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) return host;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  if (host.find(':') != colon) return host;  // a bare IPv6 address
  return host.substr(0, colon);
}

bool Assign(Field field, std::string_view value, Event& e, Reason& reason) {
  switch (field) {
    case Field::kOther:
      return true;
    case Field::kTs: {
      std::optional<int64_t> ts = value.find('-') != std::string_view::npos
                                      ? ParseIsoTime(value)
                                      : ParseEpochSeconds(value);
      if (!ts) {
        reason = kBadTs;
        return false;
      }
      e.ts_us = *ts;
      return true;
    }
    case Field::kUid:
      e.uid = value;
      return true;
    case Field::kOrigH:
      SetAddress(e.src, value);
      return true;
    case Field::kRespH:
      SetAddress(e.dst, value);
      return true;
    case Field::kOrigP:
    case Field::kRespP: {
      const std::optional<uint16_t> port = ParsePort(value);
      if (!port) {
        reason = kBadPort;
        return false;
      }
      (field == Field::kOrigP ? e.sport : e.dport) = *port;
      e.has_ports = true;
      return true;
    }
    case Field::kProto:
      e.proto = ParseProto(value);
      return true;
    case Field::kOrigBytes:
    case Field::kRespBytes: {
      const std::optional<uint64_t> n = ParseUnsigned(value);
      if (!n) {
        reason = kBadCount;
        return false;
      }
      (field == Field::kOrigBytes ? e.bytes_out : e.bytes_in) = *n;
      e.has_bytes = true;
      return true;
    }
    case Field::kOrigIpBytes: {
      const std::optional<uint64_t> n = ParseUnsigned(value);
      if (!n) {
        reason = kBadCount;
        return false;
      }
      e.ip_bytes_out = *n;
      e.has_ip_bytes = true;
      return true;
    }
    case Field::kConnState:
      e.conn_state = value;
      e.outcome = OutcomeOfConnState(value);
      return true;
    case Field::kQuery:
      e.dns_query = value;
      return true;
    case Field::kHost:
      e.http_host = HostWithoutPort(value);
      return true;
    case Field::kUri:
      e.http_url = value;
      return true;
    case Field::kMethod:
      e.http_method = value;
      return true;
    case Field::kStatusCode: {
      const std::optional<uint16_t> status = ParsePort(value);
      if (!status) {
        reason = kBadCount;
        return false;
      }
      e.http_status = *status;
      return true;
    }
    case Field::kUserAgent:
      e.user_agent = value;
      return true;
    case Field::kServerName:
      e.tls_sni = value;
      return true;
  }
  return true;
}

bool AssignNumber(Field field, bool negative, uint64_t value, Event& e, Reason& reason) {
  if (negative) {  // as the text "-5" would be refused
    reason = field == Field::kOrigP || field == Field::kRespP ? kBadPort : kBadCount;
    return false;
  }
  switch (field) {
    case Field::kOrigP:
    case Field::kRespP:
      if (value > 65535) {
        reason = kBadPort;
        return false;
      }
      (field == Field::kOrigP ? e.sport : e.dport) = static_cast<uint16_t>(value);
      e.has_ports = true;
      return true;
    case Field::kOrigBytes:
    case Field::kRespBytes:
      (field == Field::kOrigBytes ? e.bytes_out : e.bytes_in) = value;
      e.has_bytes = true;
      return true;
    case Field::kOrigIpBytes:
      e.ip_bytes_out = value;
      e.has_ip_bytes = true;
      return true;
    case Field::kStatusCode:
      if (value > 65535) {
        reason = kBadCount;
        return false;
      }
      e.http_status = static_cast<uint16_t>(value);
      return true;
    default:
      reason = kBadCount;
      return false;
  }
}

ParseResult Complete(Event& e, bool has_ts) {
  if (!has_ts) return ParseResult::Malformed(kNoTs);
  if (e.src.text.empty() || e.dst.text.empty()) return ParseResult::Malformed(kNoAddress);
  // http.log and ssl.log have no proto column: both run over TCP.
  if (e.proto == Proto::kUnknown && (e.type == LogType::kHttp || e.type == LogType::kTls)) {
    e.proto = Proto::kTcp;
  }
  return ParseResult::Ok();
}

}  // namespace mamori::monitor::zeek
