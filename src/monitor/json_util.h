// Internal to src/monitor: simdjson helpers shared by the JSON-lines parsers (Zeek JSON,
// Suricata EVE). They use simdjson's DOM API, whose parsing runs in the kernel simdjson picks
// for the CPU at run time (AVX2, AVX-512, …); the On Demand API would be fixed at compile time
// to the generic kernel unless Mamori were built for one CPU. The line is parsed in place: the
// caller guarantees kLinePadding readable bytes after it (parser.h).
#pragma once

#include <simdjson.h>

#include <string_view>

#include "monitor/parser.h"

namespace mamori::monitor::json {

static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);

inline constexpr Reason kNotJsonObject{"JSON のオブジェクトではありません", "not a JSON object"};
inline constexpr Reason kBadValue{"JSON の値の型が違います", "JSON value of the wrong type"};

// Parses `text` (padded, see above) into an object; false when it is not valid JSON or not an
// object. The object lives in `parser` until its next parse.
inline bool ParseObject(simdjson::dom::parser& parser, std::string_view text,
                        simdjson::dom::object& object) {
  simdjson::dom::element doc;
  return parser.parse(text.data(), text.size(), false).get(doc) == simdjson::SUCCESS &&
         doc.get_object().get(object) == simdjson::SUCCESS;
}

enum class Scalar { kString, kNumber, kBool, kNull, kOther };

// The text of a scalar: a string as stored by the parser (valid until its next parse), a number
// or boolean formatted into `buffer` (valid until the next call with the same buffer). Objects
// and arrays are kOther.
struct NumberBuffer {
  char data[400];
};
Scalar ScalarText(const simdjson::dom::element& value, NumberBuffer& buffer,
                  std::string_view& text);

}  // namespace mamori::monitor::json
