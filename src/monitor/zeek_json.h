// Internal to src/monitor: the fastest path of the Zeek JSON parser (zeek_json.cc), exposed for
// its differential test.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "monitor/event.h"
#include "monitor/parser.h"
#include "monitor/text_util.h"
#include "monitor/zeek_fields.h"

namespace mamori::monitor {

// Reads a flat Zeek JSON line (dotted keys, no nested "id") straight into `event`, which must be
// fresh but for format, file and line: the members go into the event as the scanner's grammar
// (json_scan.h) reads them, with no list in between. Answers only when the line is valid JSON
// whose members are plain values of the expected types (strings, integers, ts as a decimal
// number with at most 6 decimals below 2^31 s) and gives then exactly what the plain path
// (simdjson's DOM, MakeZeekJsonParser(false)) gives; nullopt otherwise, with `event` partly
// filled. Padding precondition as for Parser::Parse. No allocation once `shape` has grown, no
// shared state.
//
// `shape` carries the keys of an earlier line of the input from one call to the next (Zeek
// writes every line of a log with the same keys in the same order, leaving unset ones out): a
// key found at its place in the shape, or one place further, is compared as bytes together with
// its quotes and colon (and the comma before it), and its field is known. It is only a hint: a
// key it does not know is read as usual; a line with more keys than the line it was made from,
// or one it mostly missed, replaces it. Keys of up to kKeyBytes bytes, at most kMaxKeys.
// The keys the flat reader treats apart: "id" (a nested object: the line goes to the general
// path) and "_path" (the log's name), both zeek::Field::kOther.
enum class FlatKey : uint8_t { kPlain, kId, kPath };
inline FlatKey FlatKeyOf(std::string_view key) {
  return key == "id" ? FlatKey::kId : key == "_path" ? FlatKey::kPath : FlatKey::kPlain;
}

struct FlatShape {
  static constexpr size_t kMaxKeys = 64;
  static constexpr size_t kKeyBytes = 28;
  struct Key {
    // ',', '"', the key, '"', ':', zero-padded (two 16-byte loads from byte 0 or 1 stay
    // inside); `need` has a bit for each of these bytes.
    alignas(16) std::array<char, 48> pattern{};
    uint32_t need = 0;
    uint8_t length = 0;  // of the key
    zeek::Field field = zeek::Field::kOther;
    FlatKey kind = FlatKey::kPlain;
  };
  std::vector<Key> keys;
  size_t line_keys = 0;  // how many keys the line it was made from had (kept or not)
};
std::optional<ParseResult> ReadFlatZeekJson(std::string_view text, Event& event, FlatShape& shape);

}  // namespace mamori::monitor
