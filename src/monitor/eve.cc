// Suricata EVE JSON: one object per line. Read: the common keys (timestamp, event_type,
// src_ip, src_port, dest_ip, dest_port, proto, flow_id) and the objects flow, netflow, alert,
// dns (v1/v2 "rrname" and v3 "queries"), http and tls. Event types flow and netflow are
// connections; alert, dns, http and tls their own types; other event types (stats, fileinfo,
// anomaly, …) are ignored with a count.
#include <simdjson.h>

#include <algorithm>

#include "monitor/json_util.h"
#include "monitor/parser.h"
#include "monitor/text_util.h"
#include "monitor/zeek_fields.h"

namespace mamori::monitor {
namespace {

namespace dom = simdjson::dom;

constexpr Reason kOtherType{"監視の対象でない EVE のイベントです",
                            "EVE event type not read (not flow, netflow, alert, dns, http, tls)"};
constexpr Reason kNoType{"event_type がありません", "no event_type"};
constexpr Reason kNoTimestamp{"timestamp がありません", "no timestamp"};
constexpr Reason kBadTimestamp{"timestamp が時刻ではありません", "timestamp is not a time"};
constexpr Reason kNoAddress{"src_ip か dest_ip がありません", "no src_ip or dest_ip"};
constexpr Reason kBadPort{"ポート番号が不正です", "bad port"};
constexpr Reason kBadCount{"数値が不正です", "bad count"};

class EveParser final : public Parser {
 public:
  ParseResult Parse(const Line& line, Event& event) override {
    event = Event{};
    event.format = InputFormat::kEve;
    event.file = line.file;
    event.line = line.number;
    dom::object object;
    if (!json::ParseObject(parser_, line.text, object)) {
      return ParseResult::Malformed(json::kNotJsonObject);
    }
    std::string_view event_type;
    bool has_ts = false;
    for (const dom::key_value_pair member : object) {
      const std::string_view key = member.key;
      if (key == "flow" || key == "netflow" || key == "alert" || key == "dns" || key == "http" ||
          key == "tls") {
        dom::object inner;
        if (member.value.get_object().get(inner)) return ParseResult::Malformed(json::kBadValue);
        if (auto r = Nested(key, inner, event, 0)) return *r;
        continue;
      }
      if (key != "event_type" && key != "timestamp" && key != "src_ip" && key != "dest_ip" &&
          key != "src_port" && key != "dest_port" && key != "proto" && key != "flow_id") {
        continue;  // not read (and not checked)
      }
      std::string_view text;
      const json::Scalar kind = json::ScalarText(member.value, number_, text);
      if (kind == json::Scalar::kNull) continue;
      if (kind == json::Scalar::kOther || kind == json::Scalar::kBool) {
        return ParseResult::Malformed(json::kBadValue);
      }
      if (key == "flow_id" && kind == json::Scalar::kNumber) {  // kept: copy out of number_
        const size_t n = std::min(text.size(), sizeof uid_);
        std::copy_n(text.data(), n, uid_);
        text = std::string_view(uid_, n);
      } else if (kind == json::Scalar::kNumber && key != "src_port" && key != "dest_port") {
        return ParseResult::Malformed(json::kBadValue);
      }
      if (key == "event_type") {
        event_type = text;
      } else if (key == "timestamp") {
        const std::optional<int64_t> ts = ParseIsoTime(text);
        if (!ts) return ParseResult::Malformed(kBadTimestamp);
        event.ts_us = *ts;
        has_ts = true;
      } else if (key == "src_ip") {
        SetAddress(event.src, text);
      } else if (key == "dest_ip") {
        SetAddress(event.dst, text);
      } else if (key == "src_port" || key == "dest_port") {
        const std::optional<uint16_t> port = ParsePort(text);
        if (!port) return ParseResult::Malformed(kBadPort);
        (key == "src_port" ? event.sport : event.dport) = *port;
        event.has_ports = true;
      } else if (key == "proto") {
        event.proto = ParseProto(text);
      } else if (key == "flow_id") {
        event.uid = text;
      }
    }
    if (event_type.empty()) return ParseResult::Malformed(kNoType);
    if (event_type == "flow" || event_type == "netflow") {
      event.type = LogType::kConn;
    } else if (event_type == "alert") {
      event.type = LogType::kAlert;
    } else if (event_type == "dns") {
      event.type = LogType::kDns;
    } else if (event_type == "http") {
      event.type = LogType::kHttp;
    } else if (event_type == "tls") {
      event.type = LogType::kTls;
    } else {
      return ParseResult::Ignored(kOtherType);
    }
    if (!has_ts) return ParseResult::Malformed(kNoTimestamp);
    if (event.src.text.empty() || event.dst.text.empty()) {
      return ParseResult::Malformed(kNoAddress);
    }
    return ParseResult::Ok();
  }

 private:
  // Reads the keys of one nested object that the event uses.
  // Only numbers that are parsed at once are read from here (number_ is reused).
  std::optional<ParseResult> Nested(std::string_view object_key, const dom::object& object,
                                    Event& event, int depth) {
    for (const dom::key_value_pair member : object) {
      const std::string_view key = member.key;
      if (object_key == "dns" && key == "queries" && depth == 0) {  // v3: [{"rrname": …}, …]
        dom::array queries;
        if (member.value.get_array().get(queries)) return ParseResult::Malformed(json::kBadValue);
        for (const dom::element element : queries) {
          dom::object query;
          if (element.get_object().get(query)) return ParseResult::Malformed(json::kBadValue);
          if (auto r = Nested("dns", query, event, depth + 1)) return *r;
        }
        continue;
      }
      std::string_view text;
      const json::Scalar kind = json::ScalarText(member.value, number_, text);
      if (kind != json::Scalar::kString && kind != json::Scalar::kNumber) continue;
      if (object_key == "flow") {
        if (key == "bytes_toserver" || key == "bytes_toclient") {
          const std::optional<uint64_t> n = ParseUnsigned(text);
          if (!n) return ParseResult::Malformed(kBadCount);
          (key == "bytes_toserver" ? event.bytes_out : event.bytes_in) = *n;
          event.has_bytes = true;
          if (key == "bytes_toserver") {  // whole packets, as Zeek's orig_ip_bytes
            event.ip_bytes_out = *n;
            event.has_ip_bytes = true;
          }
        } else if (key == "state" && kind == json::Scalar::kString) {
          event.conn_state = text;
        } else if (key == "action" && kind == json::Scalar::kString) {
          event.action = text;
          if (text == "drop" || text == "reject") event.outcome = Outcome::kBlocked;
        }
      } else if (object_key == "netflow") {
        if (key == "bytes") {
          const std::optional<uint64_t> n = ParseUnsigned(text);
          if (!n) return ParseResult::Malformed(kBadCount);
          event.bytes_out = *n;
          event.has_bytes = true;
        }
      } else if (kind != json::Scalar::kString && !(object_key == "http" && key == "status")) {
        continue;  // the text fields below must be strings
      } else if (object_key == "alert") {
        if (key == "action") {
          event.action = text;
          if (text == "blocked") event.outcome = Outcome::kBlocked;
        } else if (key == "signature") {
          event.signature = text;
        }
      } else if (object_key == "dns") {
        if (key == "rrname" && event.dns_query.empty()) event.dns_query = text;
      } else if (object_key == "http") {
        if (key == "hostname") {
          event.http_host = zeek::HostWithoutPort(text);
        } else if (key == "url") {
          event.http_url = text;
        } else if (key == "http_method") {
          event.http_method = text;
        } else if (key == "http_user_agent") {
          event.user_agent = text;
        } else if (key == "status") {
          event.http_status = ParsePort(text).value_or(0);
        }
      } else if (object_key == "tls") {
        if (key == "sni") event.tls_sni = text;
      }
    }
    return std::nullopt;
  }

  dom::parser parser_;
  json::NumberBuffer number_;
  char uid_[32];
};

}  // namespace

std::unique_ptr<Parser> MakeEveParser() { return std::make_unique<EveParser>(); }

}  // namespace mamori::monitor
