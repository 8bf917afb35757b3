#include "registers/definition.h"

#include "registers/access.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace mamori::registers {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 48 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Status Bad(const RegisterDef& def, const std::string& what) {
  return Error::Internal("register definition " + def.key + ": " + what);
}

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kView:
      return "view";
    case Action::kCreate:
      return "create";
    case Action::kUpdate:
      return "update";
    case Action::kArchive:
      return "archive";
    case Action::kApprove:
      return "approve";
    case Action::kExport:
      return "export";
    case Action::kImport:
      return "import";
    case Action::kViewConfidential:
      return "view_confidential";
  }
  return "view";
}

std::string RowFilter::Key() const {
  std::string k = all_units ? "all" : "units:";
  if (!all_units) {
    for (int64_t u : units) k += std::to_string(u) + ",";
  }
  if (hide_confidential) {
    k += ";noconf";
    for (int64_t u : confidential_units) k += "," + std::to_string(u);
  }
  return k;
}

const char* FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kText:
      return "text";
    case FieldType::kTextarea:
      return "textarea";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kDate:
      return "date";
    case FieldType::kEnum:
      return "enum";
    case FieldType::kRef:
      return "ref";
    case FieldType::kEmail:
      return "email";
  }
  return "text";
}

bool IsReservedMember(std::string_view name) {
  static const std::set<std::string_view> kReserved = {"id",         "version",    "archived",
                                                       "created_at", "updated_at", "created_by",
                                                       "updated_by", "search",     "_refs"};
  return kReserved.count(name) > 0;
}

std::map<std::string, Label> SettingLabels(std::string_view value) {
  std::map<std::string, Label> out;
  if (value.empty()) return out;
  const nlohmann::json v = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object() || !v.contains("names") || !v["names"].is_object()) return out;
  for (const auto& [key, n] : v["names"].items()) {
    if (!n.is_object()) continue;
    Label& l = out[key];
    if (n.contains("ja") && n["ja"].is_string()) l.ja = n["ja"].get<std::string>();
    if (n.contains("en") && n["en"].is_string()) l.en = n["en"].get<std::string>();
  }
  return out;
}

void ApplyLabelSetting(FieldDef& f, std::string_view value) {
  const auto names = SettingLabels(value);
  for (auto& o : f.options) {
    auto n = names.find(o.value);
    if (n == names.end()) continue;
    if (!n->second.ja.empty()) o.label.ja = n->second.ja;
    if (!n->second.en.empty()) o.label.en = n->second.en;
  }
}

const FieldDef* RegisterDef::Field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Status CheckDefinition(const RegisterDef& def, const std::vector<const RegisterDef*>& all) {
  if (!IsIdentifier(def.key)) return Bad(def, "key must be [a-z][a-z0-9_]*");
  if (def.path.empty() || def.path.front() == '/' || def.path.back() == '/') {
    return Bad(def, "path must be relative without leading or trailing slash");
  }
  if (def.label.ja.empty() || def.label.en.empty()) return Bad(def, "labels required");
  std::set<std::string> names;
  for (const auto& f : def.fields) {
    if (!IsIdentifier(f.name) || IsReservedMember(f.name)) {
      return Bad(def, "bad field name " + f.name);
    }
    if (!names.insert(f.name).second) return Bad(def, "duplicate field " + f.name);
    if (f.label.ja.empty() || f.label.en.empty()) return Bad(def, "labels of " + f.name);
    if (f.type == FieldType::kEnum) {
      if (f.options.empty()) return Bad(def, "enum without options: " + f.name);
      for (const auto& o : f.options) {
        const bool value_ok = !o.value.empty() && o.value.size() <= 48 &&
                              std::all_of(o.value.begin(), o.value.end(), [](char c) {
                                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                              });
        if (!value_ok || o.label.ja.empty()) {
          return Bad(def, "bad enum option in " + f.name);
        }
        if (!f.options_setting.empty() && o.tags.empty()) {
          return Bad(def, "option " + o.value + " of " + f.name + " has no tags");
        }
      }
      if (!f.options_setting.empty() && f.options_setting_default.empty()) {
        return Bad(def, "options_setting of " + f.name + " needs a default");
      }
    } else if (!f.options_setting.empty()) {
      return Bad(def, "options_setting on a field that is not an enum: " + f.name);
    } else if (!f.labels_setting.empty()) {
      return Bad(def, "labels_setting on a field that is not an enum: " + f.name);
    }
    if (f.type == FieldType::kRef) {
      bool known = false;
      for (const auto* other : all) known = known || other->key == f.ref;
      if (!known) return Bad(def, "field " + f.name + " references unknown register " + f.ref);
    }
    if (f.max_length <= 0 || f.min > f.max) return Bad(def, "bad bounds on " + f.name);
  }
  if (!def.key_field.empty()) {
    const FieldDef* key = def.Field(def.key_field);
    if (key == nullptr || !key->unique || !key->required) {
      return Bad(def, "key_field must name a required unique field");
    }
  }
  for (const auto& f : def.fields) {
    if (f.type != FieldType::kRef) continue;
    for (const auto* other : all) {
      if (other->key == f.ref && other->key_field.empty()) {
        return Bad(def, "field " + f.name + " references " + f.ref + ", which has no key_field");
      }
    }
  }
  if (!def.org_field.empty()) {
    const FieldDef* org = def.Field(def.org_field);
    if (org == nullptr || org->type != FieldType::kRef || org->ref != "org_units") {
      return Bad(def, "org_field must name a reference to org_units");
    }
  }
  if (!def.confidential_field.empty() && def.Field(def.confidential_field) == nullptr) {
    return Bad(def, "confidential_field must name a field");
  }
  if (def.Field(def.title_field) == nullptr) return Bad(def, "title_field must name a field");
  if (def.Field(def.default_sort) == nullptr) return Bad(def, "default_sort must name a field");
  if (def.attachments.enabled &&
      (def.attachments.max_bytes <= 0 || def.attachments.max_files <= 0)) {
    return Bad(def, "attachments need a positive max_bytes and max_files");
  }
  return {};
}

}  // namespace mamori::registers
