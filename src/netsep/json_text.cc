#include "netsep/json_text.h"

#include <cmath>
#include <string>

#include <simdjson.h>

namespace mamori::netsep {
namespace {

using Json = nlohmann::json;

// The element as nlohmann::json::parse would give it; false when that is not certain (the
// caller then lets nlohmann read the whole text).
bool Convert(simdjson::dom::element e, Json& out) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array;
      if (e.get_array().get(array) != simdjson::SUCCESS) return false;
      out = Json::array();
      for (simdjson::dom::element v : array) {
        Json item;
        if (!Convert(v, item)) return false;
        out.push_back(std::move(item));
      }
      return true;
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object;
      if (e.get_object().get(object) != simdjson::SUCCESS) return false;
      out = Json::object();
      for (simdjson::dom::key_value_pair kv : object) {
        Json value;
        if (!Convert(kv.value, value)) return false;
        out[std::string(kv.key)] = std::move(value);  // a repeated key: the last one, as nlohmann
      }
      return true;
    }
    case simdjson::dom::element_type::INT64: {
      // nlohmann keeps a non-negative integer unsigned, a negative one signed.
      int64_t v = 0;
      if (e.get_int64().get(v) != simdjson::SUCCESS) return false;
      out = v >= 0 ? Json(static_cast<uint64_t>(v)) : Json(v);
      return true;
    }
    case simdjson::dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v) != simdjson::SUCCESS) return false;
      out = v;
      return true;
    }
    case simdjson::dom::element_type::DOUBLE: {
      // Both round correctly; a zero might be "-0" (an integer to nlohmann) or "-0.0".
      double v = 0;
      if (e.get_double().get(v) != simdjson::SUCCESS) return false;
      if (v == 0 || !std::isfinite(v)) return false;
      out = v;
      return true;
    }
    case simdjson::dom::element_type::STRING: {
      std::string_view v;
      if (e.get_string().get(v) != simdjson::SUCCESS) return false;
      out = std::string(v);
      return true;
    }
    case simdjson::dom::element_type::BOOL: {
      bool v = false;
      if (e.get_bool().get(v) != simdjson::SUCCESS) return false;
      out = v;
      return true;
    }
    case simdjson::dom::element_type::NULL_VALUE:
      out = nullptr;
      return true;
  }
  return false;
}

// Whether the text may hold the integer -0 (nlohmann keeps it signed, simdjson reads 0): a '-0'
// not followed by a fraction or exponent after ':', '[' or ','. Inside a string it only costs the
// fast path.
bool MayHoldNegativeZero(std::string_view text) {
  for (size_t at = text.find("-0"); at != std::string_view::npos; at = text.find("-0", at + 1)) {
    const char next = at + 2 < text.size() ? text[at + 2] : ' ';
    if (next == '.' || next == 'e' || next == 'E') continue;
    size_t before = at;
    while (before > 0 && (text[before - 1] == ' ' || text[before - 1] == '\n' ||
                          text[before - 1] == '\r' || text[before - 1] == '\t')) {
      --before;
    }
    if (before == 0 || text[before - 1] == ':' || text[before - 1] == '[' ||
        text[before - 1] == ',') {
      return true;
    }
  }
  return false;
}

}  // namespace

Json ParseJsonText(std::string_view text) {
  if (MayHoldNegativeZero(text)) return Json::parse(text.begin(), text.end());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  Json out;
  if (parser.parse(simdjson::padded_string(text)).get(root) == simdjson::SUCCESS &&
      Convert(root, out)) {
    return out;
  }
  return Json::parse(text.begin(), text.end());
}

}  // namespace mamori::netsep
