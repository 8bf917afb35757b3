// The policy catalog: the basic policy's structure (§1–§10, with the items of §2, §3, §4 and
// §6) and the controls (管理策) that implement each measure of §6–§8, as shipped in
// catalog/policy.toml and catalog/controls.toml.
//
// Pure domain: parsing takes the TOML text, never a path. Errors name the source and line.
// The returned catalog is an immutable value, safe to share across threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mamori::policy {

struct Text {
  std::string ja;
  std::string en;
};

// One control (管理策): what the body does to make a measure real, and the evidence that shows it.
struct Control {
  std::string id;       // "C-6-3-01"
  std::string section;  // the item it implements, e.g. "6(3)" or "7"
  Text title;
  Text description;
  std::vector<std::string> evidence;  // "attestation", "document", "self_inspection",
                                      // "automated:netcheck", "automated:monitor", "register:<key>"
  std::string owner_role;             // role key, e.g. "security_manager"
  int review_months = 12;             // how often the evidence must be renewed
};

// An item of a section: "6(3)" (with sub-items "6(3)ア"), "2(8)", "3(1)".
struct Item {
  std::string id;      // "6(3)"
  std::string number;  // "(3)"
  Text title;
  Text summary;             // our own words
  std::vector<Item> items;  // sub-items (ア, イ, …)
  bool is_measure = false;  // true for the measures that need controls (§6 items, §7, §8)
};

struct Section {
  std::string id;  // "1".."10"
  Text title;
  Text summary;
  bool is_measure = false;  // §7 and §8 are measures themselves
  bool is_public = true;    // §9 対策基準 and §10 実施手順 documents are non-public
  std::vector<Item> items;
};

struct Catalog {
  Text title;             // 情報セキュリティ基本方針
  std::string body;       // 栃木県後期高齢者医療広域連合
  std::string effective;  // "2026-04-01"
  std::vector<Section> sections;
  std::vector<Control> controls;

  // The controls that implement the item or section `id` (e.g. "6(3)" also returns those of
  // "6(3)ア"), in catalog order.
  std::vector<const Control*> ControlsFor(std::string_view id) const;
};

// Parses both files. Checks: unique section, item and control ids; every control's section
// exists; every measure has at least one control; required texts present in Japanese.
// `policy_name` and `controls_name` are used in error messages ("catalog/policy.toml:12").
Result<Catalog> ParseCatalog(std::string_view policy_toml, std::string_view policy_name,
                             std::string_view controls_toml, std::string_view controls_name);

}  // namespace mamori::policy
