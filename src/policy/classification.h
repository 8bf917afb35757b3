// Classification of information assets (基本方針 §6(2)), as shipped in
// catalog/classification.toml: the schemes (levels per axis, each with its handling rules), the
// network zones (系統), the consistency rules and the mappings between schemes.
//
// Pure domain: parsing takes the TOML text, never a path; errors name "file:line". The result is
// an immutable value, safe to share across threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/catalog.h"

namespace mamori::policy {

enum class Axis { kConfidentiality, kIntegrity, kAvailability };
inline constexpr Axis kAxes[] = {Axis::kConfidentiality, Axis::kIntegrity, Axis::kAvailability};
const char* AxisName(Axis axis);  // "confidentiality", "integrity", "availability"

struct HandlingRule {
  std::string category;  // a HandlingCategory key
  Text text;
};

struct Level {
  std::string value;  // stored value, [a-z0-9]+ ("3", "3a")
  Text label;         // 機密性3
  Text meaning;
  std::vector<std::string> aliases;  // what staff type in files ("機密性3", "C3")
  bool need_to_know = false;  // confidentiality: records at this level are shown only to those
                              // granted view_confidential
  std::vector<HandlingRule> handling;
};

struct Scheme {
  std::string key;  // "traditional", "local_gov"
  Text label;
  Text description;
  std::vector<Level> confidentiality, integrity, availability;  // highest first

  const std::vector<Level>& levels(Axis axis) const;
  // 0 for the highest level, larger for lower ones; -1 when `value` is not a level of `axis`.
  int Rank(Axis axis, std::string_view value) const;
};

struct KeyLabel {
  std::string key;
  Text label;
};

// A condition on a record field: the field equals one of `values` ("true"/"false" for flags).
struct Condition {
  std::string field;
  std::vector<std::string> values;
  bool boolean = false;
};

struct ConsistencyRule {
  std::string id;
  bool error = true;  // severity error (blocks) or warning (shown and recorded)
  std::vector<Condition> when;
  Axis axis = Axis::kConfidentiality;
  std::map<std::string, std::string> at_least;  // scheme key -> lowest level allowed
  Text message;
  Text rationale;
};

struct SchemeMapping {
  std::string from, to;
  std::map<std::string, std::string> confidentiality, integrity, availability;
  const std::map<std::string, std::string>& of(Axis axis) const;
};

struct Classification {
  std::string default_scheme;
  std::vector<KeyLabel> categories;
  std::vector<KeyLabel> zones;
  std::vector<Scheme> schemes;
  std::vector<ConsistencyRule> rules;
  std::vector<SchemeMapping> mappings;

  const Scheme* FindScheme(std::string_view key) const;
  const SchemeMapping* FindMapping(std::string_view from, std::string_view to) const;
};

// Checks: known keys only; unique scheme, category, zone and rule ids; level values [a-z0-9]+ and
// unique within an axis; every handling category known; every rule's schemes and levels exist;
// every mapping covers every level of its source scheme with levels of its target. Field names
// in rules are checked by the asset register's definition, which knows its fields.
Result<Classification> ParseClassification(std::string_view toml, std::string_view name);

}  // namespace mamori::policy
