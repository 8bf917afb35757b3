// ParseJsonText against nlohmann::json::parse: the same document, or the same exception, on
// random documents (numbers of every shape, escapes, repeated keys, nesting) and on mutations of
// them (bytes changed, cut, inserted).
#include "netsep/json_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mamori::netsep {
namespace {

using Json = nlohmann::json;

std::string RandomNumber(std::mt19937& rng) {
  static const std::vector<std::string> kShapes = {"0",
                                                   "-0",
                                                   "-0.0",
                                                   "0.0",
                                                   "1",
                                                   "-1",
                                                   "42",
                                                   "9223372036854775807",
                                                   "9223372036854775808",
                                                   "-9223372036854775808",
                                                   "-9223372036854775809",
                                                   "18446744073709551615",
                                                   "18446744073709551616",
                                                   "123456789012345678901234567890",
                                                   "1.5",
                                                   "-2.25e-3",
                                                   "1e2",
                                                   "1E+2",
                                                   "1e999",
                                                   "-1e999",
                                                   "4.9e-324",
                                                   "1e-400",
                                                   "0.1",
                                                   "3.141592653589793238462643",
                                                   "65535",
                                                   "1.0"};
  std::string n = kShapes[rng() % kShapes.size()];
  if (rng() % 4 == 0) n = std::to_string(static_cast<int32_t>(rng()));
  return n;
}

std::string RandomString(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "tcp",
                                                   "ip saddr",
                                                   "\\\"",
                                                   "\\\\",
                                                   "\\/",
                                                   "\\n",
                                                   "\\t",
                                                   "\\u0000",
                                                   "\\u00e9",
                                                   "\\ud83d\\ude00",
                                                   "\\ud800",
                                                   "日本",
                                                   "é",
                                                   " ",
                                                   "\\u000A",
                                                   "x\\u0041y",
                                                   "\\udc00",
                                                   "\\ud800\\u0041",
                                                   "\\ud800\\ud800",
                                                   "\xc3",
                                                   "\xed\xa0\x80"};
  std::string s = "\"";
  const int n = static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) s += kPieces[rng() % kPieces.size()];
  return s + "\"";
}

std::string RandomValue(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 5 ? 5 : 7));
  switch (kind) {
    case 0:
      return RandomNumber(rng);
    case 1:
      return RandomString(rng);
    case 2:
      return rng() % 2 ? "true" : "false";
    case 3:
      return "null";
    case 4:
      return RandomNumber(rng);
    case 5: {
      std::string a = "[";
      const int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) a += (i ? ", " : "") + RandomValue(rng, depth + 1);
      return a + "]";
    }
    default: {
      static const std::vector<std::string> kKeys = {"\"family\"", "\"table\"", "\"rule\"",
                                                     "\"expr\"",   "\"a\"",     "\"\""};
      std::string o = "{";
      const int n = static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        o += (i ? "," : "") + kKeys[rng() % kKeys.size()] + ":" + RandomValue(rng, depth + 1);
      }
      return o + "}";
    }
  }
}

// Both readings of `text`: the dump of the document, or "throws: <what>".
std::string Reading(const std::string& text, bool fast) {
  try {
    const Json j = fast ? ParseJsonText(text) : Json::parse(text);
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + " " +
           std::to_string(static_cast<int>(j.type()));
  } catch (const Json::exception& e) {
    return std::string("throws: ") + e.what();
  }
}

// Types as well as values: nlohmann keeps non-negative integers unsigned.
std::string Types(const Json& j) {
  std::string out = std::to_string(static_cast<int>(j.type()));
  if (j.is_structured()) {
    for (const auto& v : j) out += Types(v);
  }
  return out;
}

TEST(JsonText, ReadsWhatNlohmannReads) {
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = RandomValue(rng, 0);
    if (i % 2 == 1) {  // a mutation
      const size_t at = text.empty() ? 0 : rng() % text.size();
      switch (rng() % 4) {
        case 0:
          if (!text.empty()) text[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          text.resize(at);
          break;
        case 2:
          text.insert(at, 1, " ,:[]{}\"\\-0e"[rng() % 13]);
          break;
        default:
          text = (rng() % 3 == 0 ? "\xEF\xBB\xBF" : " \n") + text + (rng() % 2 ? " " : " x");
      }
    }
    const std::string plain = Reading(text, false);
    ASSERT_EQ(Reading(text, true), plain) << text;
    if (plain.rfind("throws", 0) != 0) {
      ++parsed;
      EXPECT_EQ(Types(ParseJsonText(text)), Types(Json::parse(text))) << text;
    }
  }
  EXPECT_GT(parsed, 5000);  // the comparison covers documents, not only errors
  // Deeper than simdjson reads (1,024 levels): nlohmann's reading.
  const std::string deep = std::string(1500, '[') + std::string(1500, ']');
  EXPECT_EQ(Reading(deep, true), Reading(deep, false));
}

}  // namespace
}  // namespace mamori::netsep
