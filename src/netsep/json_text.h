// JSON text into nlohmann::json, fast: simdjson reads it, and only text simdjson refuses or might
// read differently is read by nlohmann::json::parse, whose exceptions (with their byte
// positions) are the ones raised. The result is always the document nlohmann::json::parse
// gives (json_text_test proves it on random and mutated documents).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace mamori::netsep {

// Throws nlohmann::json::exception exactly as nlohmann::json::parse(text) does. The caller
// bounds the nesting depth beforehand (the conversion recurses once per level).
nlohmann::json ParseJsonText(std::string_view text);

}  // namespace mamori::netsep
