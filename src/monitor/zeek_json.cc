// Zeek's JSON logs (LogAscii::use_json): one object per line with dotted keys ("id.orig_h"),
// ts as epoch seconds or ISO 8601, unset fields left out. Also accepted: a nested "id" object
// and "_path" (JSON streamed by Zeek's log writers) naming the log.
#include <simdjson.h>

#include <cmath>

#include "monitor/json_util.h"
#include "monitor/parser.h"
#include "monitor/zeek_fields.h"

namespace mamori::monitor {
namespace {

namespace dom = simdjson::dom;

bool IsNumeric(zeek::Field field) {
  switch (field) {
    case zeek::Field::kTs:
    case zeek::Field::kOrigP:
    case zeek::Field::kRespP:
    case zeek::Field::kOrigBytes:
    case zeek::Field::kRespBytes:
    case zeek::Field::kOrigIpBytes:
    case zeek::Field::kStatusCode:
      return true;
    default:
      return false;
  }
}

class ZeekJsonParser final : public Parser {
 public:
  ParseResult Parse(const Line& line, Event& event) override {
    event = Event{};
    event.format = InputFormat::kZeekJson;
    event.file = line.file;
    event.line = line.number;
    dom::object object;
    if (!json::ParseObject(parser_, line.text, object)) {
      return ParseResult::Malformed(json::kNotJsonObject);
    }
    bool has_ts = false;
    zeek::Seen seen;
    std::optional<LogType> path_type;
    bool path_seen = false;
    for (const dom::key_value_pair member : object) {
      const std::string_view key = member.key;
      if (key == "_path") {
        std::string_view path;
        if (member.value.get_string().get(path)) return ParseResult::Malformed(json::kBadValue);
        path_seen = true;
        path_type = zeek::LogTypeOfPath(path);
        continue;
      }
      if (key == "id") {  // nested {"orig_h": …}
        dom::object id;
        if (member.value.get_object().get(id)) return ParseResult::Malformed(json::kBadValue);
        for (const dom::key_value_pair inner : id) {
          const std::string_view k = inner.key;
          const zeek::Field field = k == "orig_h"   ? zeek::Field::kOrigH
                                    : k == "orig_p" ? zeek::Field::kOrigP
                                    : k == "resp_h" ? zeek::Field::kRespH
                                    : k == "resp_p" ? zeek::Field::kRespP
                                                    : zeek::Field::kOther;
          bool set = false;
          if (field == zeek::Field::kOther) continue;
          if (auto r = Set(field, inner.value, event, set)) return *r;
        }
        continue;
      }
      const zeek::Field field = zeek::FieldOf(key);
      if (field == zeek::Field::kOther) continue;
      seen.Note(field);
      bool set = false;
      if (auto r = Set(field, member.value, event, set)) return *r;
      if (field == zeek::Field::kTs && set) has_ts = true;
    }
    const std::optional<LogType> type = path_seen ? path_type : seen.Type();
    if (!type) return ParseResult::Ignored(zeek::kOtherLog);
    event.type = *type;
    return zeek::Complete(event, has_ts);
  }

 private:
  // Sets one field (`set` false when the value is null); a failure as a ParseResult.
  std::optional<ParseResult> Set(zeek::Field field, const dom::element& value, Event& event,
                                 bool& set) {
    Reason reason;
    // ts as epoch seconds: microseconds straight from the parsed double. Below 2^31 s (2038) a
    // double is within 0.12 µs of the decimal Zeek wrote (6 decimals) and the product with 1e6
    // within 0.125 more, so rounding gives the exact microsecond; later times, and ts as text,
    // go through the decimal text.
    if (field == zeek::Field::kTs && value.type() == dom::element_type::DOUBLE) {
      const double seconds = value.get_double().value_unsafe();
      if (seconds >= 0 && seconds < 2147483648.0) {
        event.ts_us = std::llround(seconds * 1e6);
        set = true;
        return std::nullopt;
      }
    }
    // Integers (ports, byte counts, status) straight from the parsed number.
    if (field != zeek::Field::kTs) {
      const dom::element_type type = value.type();
      if (type == dom::element_type::INT64 || type == dom::element_type::UINT64) {
        if (!IsNumeric(field)) return ParseResult::Malformed(json::kBadValue);
        bool negative = false;
        uint64_t n = 0;
        if (type == dom::element_type::UINT64) {
          n = value.get_uint64().value_unsafe();
        } else {
          const int64_t v = value.get_int64().value_unsafe();
          negative = v < 0;
          n = negative ? 0 : static_cast<uint64_t>(v);
        }
        if (!zeek::AssignNumber(field, negative, n, event, reason)) {
          return ParseResult::Malformed(reason);
        }
        set = true;
        return std::nullopt;
      }
    }
    std::string_view text;
    const json::Scalar kind = json::ScalarText(value, number_, text);
    if (kind == json::Scalar::kNull) return std::nullopt;
    // Numbers are formatted into one buffer: only fields parsed at once may be numbers.
    if (kind == json::Scalar::kOther || kind == json::Scalar::kBool ||
        (kind == json::Scalar::kNumber && !IsNumeric(field))) {
      return ParseResult::Malformed(json::kBadValue);
    }
    if (!zeek::Assign(field, text, event, reason)) return ParseResult::Malformed(reason);
    set = true;
    return std::nullopt;
  }

  dom::parser parser_;
  json::NumberBuffer number_;
};

}  // namespace

std::unique_ptr<Parser> MakeZeekJsonParser() { return std::make_unique<ZeekJsonParser>(); }

}  // namespace mamori::monitor
