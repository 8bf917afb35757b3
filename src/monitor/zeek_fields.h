// Internal to src/monitor: what the two Zeek parsers (TSV and JSON) share — the fields read, the
// log paths understood and the meaning of conn_state.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "monitor/event.h"
#include "monitor/parser.h"

namespace mamori::monitor::zeek {

enum class Field : uint8_t {
  kOther,
  kTs,
  kUid,
  kOrigH,
  kOrigP,
  kRespH,
  kRespP,
  kProto,
  kOrigBytes,
  kRespBytes,
  kOrigIpBytes,
  kConnState,
  kQuery,
  kHost,
  kUri,
  kMethod,
  kStatusCode,
  kUserAgent,
  kServerName,
};

// "id.orig_h" → kOrigH, …; kOther for fields not read.
Field FieldOf(std::string_view name);

// "conn", "dns", "http", "ssl" → the log type; nullopt for other logs (files, weird, …).
std::optional<LogType> LogTypeOfPath(std::string_view path);

// The log type a record's fields imply when there is no #path or _path: conn_state or
// orig_bytes → conn, query → dns, method/uri → http, server_name → ssl.
struct Seen {
  bool conn = false;
  bool dns = false;
  bool http = false;
  bool tls = false;
  void Note(Field field) {  // inline: the JSON reader calls it for every field read
    switch (field) {
      case Field::kConnState:
      case Field::kOrigBytes:
      case Field::kRespBytes:
      case Field::kOrigIpBytes:
        conn = true;
        break;
      case Field::kQuery:
        dns = true;
        break;
      case Field::kUri:
      case Field::kMethod:
      case Field::kStatusCode:
        http = true;
        break;
      case Field::kServerName:
        tls = true;
        break;
      default:
        break;
    }
  }
  std::optional<LogType> Type() const;
};

Outcome OutcomeOfConnState(std::string_view state);

// "example.com:8080" → "example.com"; "[2001:db8::1]:443" → "[2001:db8::1]".
std::string_view HostWithoutPort(std::string_view host);

// Sets the event field for one present (not unset) value: text as Zeek writes it (TSV after
// unescaping, or a JSON string or number token). ts may be epoch seconds or ISO 8601. Returns
// false with `reason` set when the value is not valid for the field.
bool Assign(Field field, std::string_view value, Event& event, Reason& reason);

// Assign for a field given as a JSON integer (ports, byte counts, status code): the same
// checks as for its text, without formatting and parsing it again. false with `reason` when
// negative or out of range.
bool AssignNumber(Field field, bool negative, uint64_t magnitude, Event& event, Reason& reason);

// Checks what every record needs (ts, both addresses); http and ssl records are TCP.
// Call after event.type is set.
ParseResult Complete(Event& event, bool has_ts);

inline constexpr Reason kNoTs{"ts がありません", "no ts"};
inline constexpr Reason kBadTs{"ts が時刻ではありません", "ts is not a time"};
inline constexpr Reason kNoAddress{"id.orig_h か id.resp_h がありません",
                                   "no id.orig_h or id.resp_h"};
inline constexpr Reason kBadPort{"ポート番号が不正です", "bad port"};
inline constexpr Reason kBadCount{"数値が不正です", "bad count"};
inline constexpr Reason kOtherLog{"監視の対象でない Zeek のログです",
                                  "Zeek log not read (not conn, dns, http or ssl)"};

}  // namespace mamori::monitor::zeek
