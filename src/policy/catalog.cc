#include "policy/catalog.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/text.h"
#include "policy/toml_reader.h"

namespace mamori::policy {
namespace {

using internal::InvalidAt;
using internal::LineOf;
using internal::ParseToml;
using internal::Presence;
using internal::Quote;
using internal::TableReader;

// Items (depth 1) may hold sub-items (depth 2: ア, イ, …), but nothing deeper.
constexpr int kMaxItemDepth = 2;
constexpr int64_t kMinReviewMonths = 1;
constexpr int64_t kMaxReviewMonths = 60;
constexpr int64_t kDefaultReviewMonths = 12;

constexpr std::array<std::string_view, 5> kEvidenceKinds = {
    "attestation", "document", "self_inspection", "automated:netcheck", "automated:monitor",
};
constexpr std::string_view kRegisterPrefix = "register:";
// Keys of the registers a control may point to as evidence ("register:<key>"). Kept in step by
// hand with the register definitions in src/registers until those can be asked directly.
constexpr std::array<std::string_view, 13> kRegisterKeys = {
    "org_units", "users",       "role_assignments", "assets",         "risks",
    "documents", "incidents",   "contractors",      "cloud_services", "social_accounts",
    "trainings", "inspections", "audits",
};
// Role keys that may own a control (the roles behind basic policy §6(1)).
constexpr std::array<std::string_view, 12> kOwnerRoles = {
    "ciso",
    "security_general",
    "security_officer",
    "security_manager",
    "system_manager",
    "system_staff",
    "csirt",
    "audit_lead",
    "auditor",
    "staff",
    "contractor",
    "sysadmin",
};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <size_t N>
std::string JoinList(const std::array<std::string_view, N>& list) {
  std::string out;
  for (std::string_view item : list) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "YYYY-MM-DD" with a plausible month and day.
bool IsIsoDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  if (!IsDigits(s.substr(0, 4)) || !IsDigits(s.substr(5, 2)) || !IsDigits(s.substr(8, 2))) {
    return false;
  }
  const int month = std::stoi(std::string(s.substr(5, 2)));
  const int day = std::stoi(std::string(s.substr(8, 2)));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

std::string TwoDigits(unsigned v) {
  return v < 10 ? Cat("0", std::to_string(v)) : std::to_string(v);
}

// Reads catalog/policy.toml. Remembers where each section and item id is defined, so that
// controls can be checked against it and errors can point back to it.
class PolicyReader {
 public:
  explicit PolicyReader(std::string_view file) : file_(file) {}

  Status Read(const toml::table& root, Catalog& catalog) {
    TableReader top(root, file_, "ファイルの最上位", "the top level");
    MAMORI_TRY(top.OnlyKeys({"meta", "sections"}));
    const toml::node* meta_node = root.get("meta");
    if (meta_node == nullptr || !meta_node->is_table()) {
      const uint32_t line = meta_node != nullptr ? LineOf(*meta_node) : top.line();
      return top.Fail(line, "[meta] の表がありません。", "the [meta] table is missing.");
    }
    MAMORI_TRY(ReadMeta(*meta_node->as_table(), catalog));
    MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables("sections", Presence::kRequired));
    for (const toml::table* table : tables) {
      MAMORI_ASSIGN_OR_RETURN(Section section, ReadSection(*table));
      catalog.sections.push_back(std::move(section));
    }
    return {};
  }

  // Line where `id` is defined, or 0 if no section or item has that id.
  uint32_t LineOfId(std::string_view id) const {
    auto it = lines_.find(id);
    return it == lines_.end() ? 0 : it->second;
  }

 private:
  Status ReadMeta(const toml::table& table, Catalog& catalog) {
    TableReader meta(table, file_, "[meta]", "[meta]");
    MAMORI_TRY(meta.OnlyKeys({"title", "title_en", "body", "effective"}));
    MAMORI_ASSIGN_OR_RETURN(catalog.title, meta.Bilingual("title"));
    MAMORI_ASSIGN_OR_RETURN(catalog.body, meta.String("body", Presence::kRequired));
    const toml::node* effective = table.get("effective");
    if (effective != nullptr && effective->is_date()) {
      const toml::date date = effective->as_date()->get();
      catalog.effective =
          Cat(std::to_string(date.year), "-", TwoDigits(date.month), "-", TwoDigits(date.day));
    } else {
      MAMORI_ASSIGN_OR_RETURN(catalog.effective, meta.String("effective", Presence::kRequired));
    }
    if (!IsIsoDate(catalog.effective)) {
      return meta.Fail(
          meta.LineOfKey("effective"),
          Cat("[meta] の effective ", Quote(catalog.effective),
              " は YYYY-MM-DD の日付で書いてください。"),
          Cat("effective ", Quote(catalog.effective), " of [meta] must be a YYYY-MM-DD date."));
    }
    return {};
  }

  Result<Section> ReadSection(const toml::table& table) {
    TableReader reader(table, file_, "[[sections]] の表", "a [[sections]] table");
    Section section;
    MAMORI_ASSIGN_OR_RETURN(section.id, reader.String("id", Presence::kRequired));
    reader.Rename(Cat("節 ", section.id), Cat("section ", section.id));
    MAMORI_TRY(reader.OnlyKeys(
        {"id", "title", "title_en", "summary", "summary_en", "is_measure", "is_public", "items"}));
    MAMORI_TRY(Define(section.id, reader));
    MAMORI_ASSIGN_OR_RETURN(section.title, reader.Bilingual("title"));
    MAMORI_ASSIGN_OR_RETURN(section.summary, reader.Bilingual("summary"));
    MAMORI_ASSIGN_OR_RETURN(section.is_measure, reader.Bool("is_measure", false));
    MAMORI_ASSIGN_OR_RETURN(section.is_public, reader.Bool("is_public", true));
    MAMORI_ASSIGN_OR_RETURN(section.items, ReadItems(reader, section.id, 1));
    return section;
  }

  Result<std::vector<Item>> ReadItems(const TableReader& parent, const std::string& parent_id,
                                      int depth) {
    MAMORI_ASSIGN_OR_RETURN(auto tables, parent.Tables("items", Presence::kOptional));
    if (!tables.empty() && depth > kMaxItemDepth) {
      return parent.Fail(parent.LineOfKey("items"),
                         Cat(Quote(parent_id),
                             " の items は入れ子が深すぎます（項目と、その下の ア, "
                             "イ, … までです）。"),
                         Cat("items of ", Quote(parent_id),
                             " are nested too deeply (items and their sub-items only)."));
    }
    std::vector<Item> items;
    for (const toml::table* table : tables) {
      MAMORI_ASSIGN_OR_RETURN(Item item, ReadItem(*table, parent_id, depth));
      items.push_back(std::move(item));
    }
    return items;
  }

  Result<Item> ReadItem(const toml::table& table, const std::string& parent_id, int depth) {
    TableReader reader(table, file_, Cat(Quote(parent_id), " の項目"),
                       Cat("an item of ", Quote(parent_id)));
    Item item;
    MAMORI_ASSIGN_OR_RETURN(item.id, reader.String("id", Presence::kRequired));
    reader.Rename(Cat("項目 ", item.id), Cat("item ", item.id));
    MAMORI_TRY(reader.OnlyKeys(
        {"id", "number", "title", "title_en", "summary", "summary_en", "is_measure", "items"}));
    MAMORI_TRY(Define(item.id, reader));
    MAMORI_ASSIGN_OR_RETURN(item.number, reader.String("number", Presence::kRequired));
    const std::string expected_id = Cat(parent_id, item.number);
    if (item.id != expected_id) {
      return reader.Fail(
          reader.LineOfKey("id"),
          Cat("項目 ", Quote(item.id), " の id は、親の ", Quote(parent_id), " と number ",
              Quote(item.number), " をつないだ ", Quote(expected_id), " にしてください。"),
          Cat("item ", Quote(item.id), ": id must be the parent ", Quote(parent_id),
              " followed by number ", Quote(item.number), ", i.e. ", Quote(expected_id), "."));
    }
    MAMORI_ASSIGN_OR_RETURN(item.title, reader.Bilingual("title"));
    MAMORI_ASSIGN_OR_RETURN(item.summary, reader.Bilingual("summary"));
    MAMORI_ASSIGN_OR_RETURN(item.is_measure, reader.Bool("is_measure", false));
    MAMORI_ASSIGN_OR_RETURN(item.items, ReadItems(reader, item.id, depth + 1));
    return item;
  }

  // Section and item ids share one name space: a control's `section` may name either.
  Status Define(const std::string& id, const TableReader& reader) {
    const uint32_t line = reader.LineOfKey("id");
    auto [it, inserted] = lines_.emplace(id, line);
    if (!inserted) {
      return reader.Fail(line,
                         Cat("id ", Quote(id), " が重複しています（最初の定義は ",
                             std::to_string(it->second), " 行目）。"),
                         Cat("duplicate id ", Quote(id), " (first defined on line ",
                             std::to_string(it->second), ")."));
    }
    return {};
  }

  std::string_view file_;
  std::map<std::string, uint32_t, std::less<>> lines_;
};

Status CheckEvidence(const TableReader& reader, const std::string& control_id,
                     const std::vector<std::pair<std::string, uint32_t>>& evidence) {
  for (size_t i = 0; i < evidence.size(); ++i) {
    const auto& [kind, line] = evidence[i];
    const bool is_register = kind.rfind(kRegisterPrefix, 0) == 0;
    if (is_register) {
      const std::string_view key = std::string_view(kind).substr(kRegisterPrefix.size());
      if (!Contains(kRegisterKeys, key)) {
        return reader.Fail(
            line,
            Cat("管理策 ", control_id, " の証跡 ", Quote(kind), " の台帳 ", Quote(key),
                " はありません（", JoinList(kRegisterKeys), " のいずれか）。"),
            Cat("control ", control_id, ": evidence ", Quote(kind),
                " names no known register (one of ", JoinList(kRegisterKeys), ")."));
      }
    } else if (!Contains(kEvidenceKinds, kind)) {
      return reader.Fail(
          line,
          Cat("管理策 ", control_id, " の証跡 ", Quote(kind), " は使えません（",
              JoinList(kEvidenceKinds), ", register:<台帳> のいずれか）。"),
          Cat("control ", control_id, ": evidence kind ", Quote(kind), " is not allowed (one of ",
              JoinList(kEvidenceKinds), ", register:<key>)."));
    }
    for (size_t j = 0; j < i; ++j) {
      if (evidence[j].first == kind) {
        return reader.Fail(
            line, Cat("管理策 ", control_id, " の証跡 ", Quote(kind), " が重複しています。"),
            Cat("control ", control_id, ": evidence ", Quote(kind), " is listed twice."));
      }
    }
  }
  return {};
}

Result<Control> ReadControl(const toml::table& table, std::string_view file,
                            const PolicyReader& policy) {
  TableReader reader(table, file, "[[controls]] の表", "a [[controls]] table");
  Control control;
  MAMORI_ASSIGN_OR_RETURN(control.id, reader.String("id", Presence::kRequired));
  reader.Rename(Cat("管理策 ", control.id), Cat("control ", control.id));
  MAMORI_TRY(reader.OnlyKeys({"id", "section", "title", "title_en", "description", "description_en",
                              "evidence", "owner_role", "review_months"}));
  MAMORI_ASSIGN_OR_RETURN(control.section, reader.String("section", Presence::kRequired));
  if (policy.LineOfId(control.section) == 0) {
    return reader.Fail(
        reader.LineOfKey("section"),
        Cat("管理策 ", control.id, " の節 ", Quote(control.section), " が基本方針にありません。"),
        Cat("control ", control.id, " refers to section ", Quote(control.section),
            ", which is not in the basic policy."));
  }
  MAMORI_ASSIGN_OR_RETURN(control.title, reader.Bilingual("title"));
  MAMORI_ASSIGN_OR_RETURN(control.description, reader.Bilingual("description"));

  MAMORI_ASSIGN_OR_RETURN(auto evidence, reader.Strings("evidence"));
  MAMORI_TRY(CheckEvidence(reader, control.id, evidence));
  for (auto& [kind, line] : evidence) {
    control.evidence.push_back(std::move(kind));
  }

  MAMORI_ASSIGN_OR_RETURN(control.owner_role, reader.String("owner_role", Presence::kRequired));
  if (!Contains(kOwnerRoles, control.owner_role)) {
    return reader.Fail(
        reader.LineOfKey("owner_role"),
        Cat("管理策 ", control.id, " の owner_role ", Quote(control.owner_role),
            " は定義された役割ではありません（", JoinList(kOwnerRoles), " のいずれか）。"),
        Cat("control ", control.id, ": owner_role ", Quote(control.owner_role),
            " is not a defined role (one of ", JoinList(kOwnerRoles), ")."));
  }

  MAMORI_ASSIGN_OR_RETURN(const int64_t months,
                          reader.Integer("review_months", kDefaultReviewMonths));
  if (months < kMinReviewMonths || months > kMaxReviewMonths) {
    const std::string range =
        Cat(std::to_string(kMinReviewMonths), "..", std::to_string(kMaxReviewMonths));
    return reader.Fail(reader.LineOfKey("review_months"),
                       Cat("管理策 ", control.id, " の review_months は ", range,
                           " の整数にしてください（", std::to_string(months), "）。"),
                       Cat("control ", control.id, ": review_months must be in ", range, " (got ",
                           std::to_string(months), ")."));
  }
  control.review_months = static_cast<int>(months);
  return control;
}

Status ReadControls(const toml::table& root, std::string_view file, const PolicyReader& policy,
                    Catalog& catalog) {
  TableReader top(root, file, "ファイルの最上位", "the top level");
  MAMORI_TRY(top.OnlyKeys({"controls"}));
  MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables("controls", Presence::kRequired));
  std::map<std::string, uint32_t, std::less<>> lines;
  for (const toml::table* table : tables) {
    MAMORI_ASSIGN_OR_RETURN(Control control, ReadControl(*table, file, policy));
    const uint32_t line = LineOf(*table->get("id"));  // present: ReadControl checked it
    auto [it, inserted] = lines.emplace(control.id, line);
    if (!inserted) {
      return InvalidAt(file, line,
                       Cat("管理策の id ", Quote(control.id), " が重複しています（最初の定義は ",
                           std::to_string(it->second), " 行目）。"),
                       Cat("duplicate control id ", Quote(control.id), " (first defined on line ",
                           std::to_string(it->second), ")."));
    }
    catalog.controls.push_back(std::move(control));
  }
  return {};
}

// Every measure needs a control of its own or of one of its sub-items; a sub-item that is a
// measure needs its own.
Status CheckItemsCovered(const Catalog& catalog, const std::vector<Item>& items,
                         const PolicyReader& policy, std::string_view policy_file,
                         std::string_view controls_file);

Status CheckCovered(const Catalog& catalog, std::string_view id, bool is_measure,
                    const PolicyReader& policy, std::string_view policy_file,
                    std::string_view controls_file) {
  if (!is_measure || !catalog.ControlsFor(id).empty()) {
    return {};
  }
  return InvalidAt(
      policy_file, policy.LineOfId(id),
      Cat("対策 ", Quote(id), " を実施する管理策が ", controls_file, " にありません。"),
      Cat("measure ", Quote(id), " has no control in ", controls_file, "."));
}

Status CheckItemsCovered(const Catalog& catalog, const std::vector<Item>& items,
                         const PolicyReader& policy, std::string_view policy_file,
                         std::string_view controls_file) {
  for (const Item& item : items) {
    MAMORI_TRY(CheckCovered(catalog, item.id, item.is_measure, policy, policy_file, controls_file));
    MAMORI_TRY(CheckItemsCovered(catalog, item.items, policy, policy_file, controls_file));
  }
  return {};
}

const Item* FindItem(const std::vector<Item>& items, std::string_view id) {
  for (const Item& item : items) {
    if (item.id == id) {
      return &item;
    }
    if (const Item* found = FindItem(item.items, id)) {
      return found;
    }
  }
  return nullptr;
}

void AppendIds(const std::vector<Item>& items, std::vector<std::string_view>& ids) {
  for (const Item& item : items) {
    ids.push_back(item.id);
    AppendIds(item.items, ids);
  }
}

}  // namespace

std::vector<const Control*> Catalog::ControlsFor(std::string_view id) const {
  // `id` and every item below it.
  std::vector<std::string_view> ids = {id};
  for (const Section& section : sections) {
    if (section.id == id) {
      AppendIds(section.items, ids);
      break;
    }
    if (const Item* item = FindItem(section.items, id)) {
      AppendIds(item->items, ids);
      break;
    }
  }
  std::vector<const Control*> out;
  for (const Control& control : controls) {
    if (std::find(ids.begin(), ids.end(), control.section) != ids.end()) {
      out.push_back(&control);
    }
  }
  return out;
}

Result<Catalog> ParseCatalog(std::string_view policy_toml, std::string_view policy_name,
                             std::string_view controls_toml, std::string_view controls_name) {
  Catalog catalog;
  MAMORI_ASSIGN_OR_RETURN(toml::table policy_root, ParseToml(policy_toml, policy_name));
  PolicyReader policy(policy_name);
  MAMORI_TRY(policy.Read(policy_root, catalog));

  MAMORI_ASSIGN_OR_RETURN(toml::table controls_root, ParseToml(controls_toml, controls_name));
  MAMORI_TRY(ReadControls(controls_root, controls_name, policy, catalog));

  for (const Section& section : catalog.sections) {
    MAMORI_TRY(
        CheckCovered(catalog, section.id, section.is_measure, policy, policy_name, controls_name));
    MAMORI_TRY(CheckItemsCovered(catalog, section.items, policy, policy_name, controls_name));
  }
  return catalog;
}

}  // namespace mamori::policy
