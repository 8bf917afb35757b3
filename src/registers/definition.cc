#include "registers/definition.h"

#include <set>

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
        if (!IsIdentifier(o.value) || o.label.ja.empty()) {
          return Bad(def, "bad enum option in " + f.name);
        }
      }
    }
    if (f.type == FieldType::kRef) {
      bool known = false;
      for (const auto* other : all) known = known || other->key == f.ref;
      if (!known) return Bad(def, "field " + f.name + " references unknown register " + f.ref);
    }
    if (f.max_length <= 0 || f.min > f.max) return Bad(def, "bad bounds on " + f.name);
  }
  const FieldDef* key = def.Field(def.key_field);
  if (key == nullptr || !key->unique || !key->required) {
    return Bad(def, "key_field must name a required unique field");
  }
  if (def.Field(def.title_field) == nullptr) return Bad(def, "title_field must name a field");
  if (def.Field(def.default_sort) == nullptr) return Bad(def, "default_sort must name a field");
  return {};
}

}  // namespace mamori::registers
