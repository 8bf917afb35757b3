// Internal to src/monitor: the fastest path of the Zeek JSON parser (zeek_json.cc), exposed for
// its differential test.
#pragma once

#include <optional>
#include <string_view>

#include "monitor/event.h"
#include "monitor/parser.h"

namespace mamori::monitor {

// Reads a flat Zeek JSON line (dotted keys, no nested "id") straight into `event`, which must be
// fresh but for format, file and line: the members go into the event as json::ScanMembers
// (json_scan.h) reads them, with no list in between. Answers only when the line is valid JSON
// whose members are plain values of the expected types (strings, integers, ts as a decimal
// number with at most 6 decimals below 2^31 s) and gives then exactly what the plain path
// (simdjson's DOM, MakeZeekJsonParser(false)) gives; nullopt otherwise, with `event` partly
// filled. Padding precondition as for Parser::Parse. No allocation, no shared state.
std::optional<ParseResult> ReadFlatZeekJson(std::string_view text, Event& event);

}  // namespace mamori::monitor
