// Fields a body adds to the shipped registers without code (catalog/custom-fields.toml): for
// example 予算科目 on the asset register. Each becomes an ordinary field of its register:
// stored, validated, searched, imported and exported, and shown in the UI like the others.
//
// Pure domain: parsing takes the TOML text; errors name "file:line". Thread-safe value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/catalog.h"

namespace mamori::policy {

struct CustomOption {
  std::string value;  // [a-z0-9_]+
  Text label;
};

struct CustomField {
  std::string register_key;  // "assets"
  std::string name;          // "x_" + [a-z0-9_]+, so it never collides with a shipped field
  std::string type;          // text | textarea | integer | boolean | date | enum
  Text label;
  Text help;
  bool required = false;
  bool searchable = false;
  bool filterable = false;  // enum and boolean only
  int max_length = 200;
  std::vector<CustomOption> options;  // enum
  uint32_t line = 0;
};

// The file is a table of arrays named after the registers: [[assets]] name = "x_…", …
// Unknown keys, bad names or types, duplicate names, enums without options: errors.
Result<std::vector<CustomField>> ParseCustomFields(std::string_view toml, std::string_view name);

}  // namespace mamori::policy
