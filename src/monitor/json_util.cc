#include "monitor/json_util.h"

#include <charconv>

namespace mamori::monitor::json {

namespace dom = simdjson::dom;

Scalar ScalarText(const dom::element& value, NumberBuffer& buffer, std::string_view& text) {
  char* const begin = buffer.data;
  char* const end = buffer.data + sizeof buffer.data;
  std::to_chars_result r{begin, std::errc()};
  switch (value.type()) {
    case dom::element_type::STRING:
      text = value.get_string().value_unsafe();
      return Scalar::kString;
    case dom::element_type::INT64:
      r = std::to_chars(begin, end, value.get_int64().value_unsafe());
      break;
    case dom::element_type::UINT64:
      r = std::to_chars(begin, end, value.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      r = std::to_chars(begin, end, value.get_double().value_unsafe(), std::chars_format::fixed);
      break;
    case dom::element_type::BOOL:
      text = value.get_bool().value_unsafe() ? "true" : "false";
      return Scalar::kBool;
    case dom::element_type::NULL_VALUE:
      return Scalar::kNull;
    default:
      return Scalar::kOther;
  }
  if (r.ec != std::errc()) return Scalar::kOther;
  text = std::string_view(begin, static_cast<size_t>(r.ptr - begin));
  return Scalar::kNumber;
}

}  // namespace mamori::monitor::json
