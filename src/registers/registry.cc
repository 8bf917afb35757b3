#include "registers/registry.h"

#include <nlohmann/json.hpp>

#include "registers/list_index.h"

namespace mamori::registers {

using nlohmann::json;

Result<std::unique_ptr<Registry>> Registry::Create(std::vector<RegisterDef> defs) {
  std::vector<const RegisterDef*> all;
  for (const auto& d : defs) all.push_back(&d);
  for (size_t i = 0; i < defs.size(); ++i) {
    MAMORI_TRY(CheckDefinition(defs[i], all));
    for (size_t j = 0; j < i; ++j) {
      if (defs[j].key == defs[i].key || defs[j].path == defs[i].path) {
        return Error::Internal("duplicate register key or path: " + defs[i].key);
      }
    }
  }
  return std::unique_ptr<Registry>(new Registry(std::move(defs)));
}

const RegisterDef* Registry::ByKey(std::string_view key) const {
  for (const auto& d : defs_) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

const RegisterDef* Registry::ByPathPrefix(std::string_view path, std::string_view& rest) const {
  const RegisterDef* best = nullptr;
  for (const auto& d : defs_) {
    if (path.size() < d.path.size() || path.substr(0, d.path.size()) != d.path) continue;
    if (path.size() > d.path.size() && path[d.path.size()] != '/') continue;
    if (best == nullptr || d.path.size() > best->path.size()) best = &d;
  }
  if (best != nullptr) {
    rest = path.substr(best->path.size());
    if (!rest.empty()) rest.remove_prefix(1);
  }
  return best;
}

namespace {

std::string ColumnType(const FieldDef& f) {
  switch (f.type) {
    case FieldType::kInteger:
    case FieldType::kBoolean:
      return "INTEGER";
    case FieldType::kRef:
      return "INTEGER REFERENCES r_" + f.ref + "(id)";
    default:
      return "TEXT";
  }
}

json LabelJson(const Label& l) { return json{{"ja", l.ja}, {"en", l.en}}; }

}  // namespace

bool HasOrderIndex(const RegisterDef& d, const FieldDef& f) {
  return f.unique || f.filterable || f.type == FieldType::kRef || f.name == d.default_sort ||
         (f.sortable && f.list);
}

std::vector<store::Migration> Registry::Migrations() const {
  std::vector<store::Migration> out;
  out.push_back({"core/001-record-history",
                 "change history of register records",
                 {"CREATE TABLE record_history ("
                  "id INTEGER PRIMARY KEY AUTOINCREMENT, register TEXT NOT NULL, "
                  "record_id INTEGER NOT NULL, version INTEGER NOT NULL, action TEXT NOT NULL, "
                  "actor TEXT NOT NULL, address TEXT NOT NULL, at TEXT NOT NULL, "
                  "changes TEXT NOT NULL)",
                  "CREATE INDEX record_history_record ON record_history(register, record_id, "
                  "version)"}});
  out.push_back({"core/002-register-state",
                 "change counter per register (list cache validation)",
                 {"CREATE TABLE register_state (register TEXT PRIMARY KEY, "
                  "generation INTEGER NOT NULL)"}});
  out.push_back({"core/003-search-signature",
                 "which fields the stored search text was built from",
                 {"ALTER TABLE register_state ADD COLUMN search_signature TEXT"}});
  out.push_back({"core/004-settings",
                 "body-wide settings (e.g. the classification scheme)",
                 {"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                  "updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)"}});
  out.push_back({"core/005-history-warnings",
                 "warnings accepted with a change",
                 {"ALTER TABLE record_history ADD COLUMN warnings TEXT"}});
  // Attachments of every register that takes them (RegisterDef::attachments), in one table:
  // the bytes as a BLOB beside the SHA-256 the server computed from them.
  out.push_back({"core/006-attachments",
                 "files attached to register records, with their SHA-256",
                 {"CREATE TABLE attachments (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "register TEXT NOT NULL, record_id INTEGER NOT NULL, name TEXT NOT NULL, "
                  "content_type TEXT NOT NULL, size INTEGER NOT NULL CHECK (size > 0), "
                  "sha256 TEXT NOT NULL CHECK (length(sha256) = 64), bytes BLOB NOT NULL, "
                  "uploaded_at TEXT NOT NULL, uploaded_by TEXT NOT NULL, "
                  "uploaded_by_id INTEGER NOT NULL DEFAULT 0)",
                  "CREATE INDEX attachments_record ON attachments(register, record_id, id)"}});
  for (const auto& d : defs_) {
    const std::string table = "r_" + d.key;
    out.push_back({"register/" + d.key + "/create",
                   "create register " + d.key,
                   {"CREATE TABLE " + table +
                    " (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, "
                    "archived INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, "
                    "updated_at TEXT NOT NULL, created_by TEXT NOT NULL, "
                    "updated_by TEXT NOT NULL, search TEXT NOT NULL DEFAULT '')"}});
    for (const auto& f : d.fields) {
      const std::string col = "f_" + f.name;
      out.push_back({"register/" + d.key + "/field/" + f.name,
                     "add field " + d.key + "." + f.name,
                     {"ALTER TABLE " + table + " ADD COLUMN " + col + " " + ColumnType(f)}});
      if (f.unique) {
        out.push_back(
            {"register/" + d.key + "/unique/" + f.name,
             "unique " + d.key + "." + f.name,
             {"CREATE UNIQUE INDEX " + table + "_u_" + f.name + " ON " + table + "(" + col + ")"}});
      }
      if (HasOrderIndex(d, f)) {
        out.push_back({"register/" + d.key + "/index/" + f.name,
                       "index " + d.key + "." + f.name,
                       {"CREATE INDEX " + table + "_i_" + f.name + " ON " + table + "(archived, " +
                        col + ")"}});
      }
    }
    out.push_back(list_index::CreateMigration(d));
  }
  return out;
}

void Registry::Describe(json& out) const {
  out = json::array();
  for (const auto& d : defs_) {
    json fields = json::array();
    for (const auto& f : d.fields) {
      json jf{{"name", f.name},
              {"type", FieldTypeName(f.type)},
              {"label", LabelJson(f.label)},
              {"help", LabelJson(f.help)},
              {"required", f.required},
              {"unique", f.unique},
              {"list", f.list},
              {"searchable", f.searchable},
              {"sortable", f.sortable},
              {"filterable", f.filterable}};
      if (f.type == FieldType::kText || f.type == FieldType::kTextarea ||
          f.type == FieldType::kEmail) {
        jf["max_length"] = f.max_length;
      }
      if (f.type == FieldType::kInteger) {
        if (f.min != INT64_MIN) jf["min"] = f.min;
        if (f.max != INT64_MAX) jf["max"] = f.max;
      }
      if (f.type == FieldType::kEnum) {
        json opts = json::array();
        for (const auto& o : f.options) {
          json jo{{"value", o.value}, {"label", LabelJson(o.label)}};
          if (!o.tags.empty()) jo["tags"] = o.tags;
          if (!o.in_forms) jo["in_forms"] = false;
          opts.push_back(std::move(jo));
        }
        jf["options"] = std::move(opts);
        if (!f.options_setting.empty()) {
          jf["options_setting"] = f.options_setting;
          jf["options_setting_default"] = f.options_setting_default;
        }
        if (!f.labels_setting.empty()) jf["labels_setting"] = f.labels_setting;
      }
      if (f.type == FieldType::kRef) jf["ref"] = f.ref;
      if (!f.default_value.empty()) jf["default"] = f.default_value;
      if (f.generated) jf["generated"] = true;
      if (f.detail_only) jf["detail_only"] = true;
      if (f.system) jf["system"] = true;
      fields.push_back(std::move(jf));
    }
    out.push_back({{"key", d.key},
                   {"path", d.path},
                   {"label", LabelJson(d.label)},
                   {"key_field", d.key_field},
                   {"title_field", d.title_field},
                   {"default_sort", d.default_sort},
                   {"immutable", d.immutable},
                   {"fields", std::move(fields)}});
    if (d.attachments.enabled) {
      out.back()["attachments"] = {{"max_bytes", d.attachments.max_bytes},
                                   {"max_files", d.attachments.max_files},
                                   {"note", LabelJson(d.attachments.note)}};
    }
  }
}

}  // namespace mamori::registers
