// The register mechanism: one definition per register (fields, types, enumerations, required
// and unique fields, references, Japanese and English labels, domain rules). Storage, the
// REST API, validation, import and export, change history and the UI all derive from it.
//
// Definitions are immutable values built at start-up in one place (registers/builtin.cc) and
// shared read-only across threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace mamori::registers {

struct Label {
  std::string ja;
  std::string en;
};

enum class FieldType { kText, kTextarea, kInteger, kBoolean, kDate, kEnum, kRef, kEmail };
const char* FieldTypeName(FieldType t);

struct EnumOption {
  std::string value;  // stored and sent in the API, [a-z0-9_]+ (e.g. "section", "3a")
  Label label;
  std::vector<std::string> aliases;  // also accepted in files, as staff type them ("機密性3")
  // The groups this option belongs to (e.g. the classification schemes a level is part of);
  // see FieldDef::options_setting.
  std::vector<std::string> tags;
  // Offered in the UI's forms; false for a value only the system sets (an engine's result
  // standing for every control). Still accepted and shown.
  bool in_forms = true;
};

struct FieldDef {
  std::string name;  // [a-z][a-z0-9_]*, not a reserved member name
  FieldType type = FieldType::kText;
  Label label;
  Label help;
  bool required = false;
  bool unique = false;      // unique across the register, archived records included
  bool list = true;         // shown as a column in the UI list
  bool searchable = false;  // part of the text search (`q`)
  bool sortable = true;
  bool filterable = false;  // `?name=value` exact-match filter
  int max_length = 200;     // text, textarea, email: code points
  int64_t min = INT64_MIN;  // integer bounds
  int64_t max = INT64_MAX;
  std::vector<EnumOption> options;  // enum
  std::string ref;                  // ref: key of the referenced register
  std::string default_value;        // enum/text value set on create when absent ("" = none)
  bool generated = false;  // a completer fills it when left empty (files may omit the column)
  // Other column headings accepted on import (e.g. 所管課 for 所管).
  std::vector<std::string> header_aliases;
  // Enum: only the options tagged with the current value of this setting are valid (e.g. the
  // levels of the classification scheme the body chose); `options_setting_default` when the
  // setting was never made. Empty: every option is valid.
  std::string options_setting;
  std::string options_setting_default;
  // Enum: a setting that renames options (the risk levels' names, 設定): its value is the JSON
  // text {"names": {option value: {"ja", "en"}}}; what users see and export files use those
  // names (ApplyLabelSetting). Empty: the options' own labels.
  std::string labels_setting;
  // Kept out of list answers and export files (a large body: a document's text, an engine's
  // raw result); Get returns it.
  bool detail_only = false;
  // Set by the server from the change itself (who, when, a hash, a step); users never supply
  // it: the form leaves it out of new records and shows it read-only. Implies `generated`.
  bool system = false;
};

// What domain rules may look up while a record is validated (inside the same transaction).
struct Actor;
enum class Action;

class RuleContext {
 public:
  virtual ~RuleContext() = default;
  // Who makes the change (for separation-of-duties rules).
  virtual const Actor& actor() const = 0;
  // The date of the change in Japan, "YYYY-MM-DD".
  virtual const std::string& today() const = 0;
  // Whether any record of register `key`, archived ones included, has `field` = `value`.
  virtual bool Taken(const std::string& key, const std::string& field,
                     const nlohmann::json& value) = 0;
  // One more than the largest record id of register `key`, archived records included.
  virtual int64_t NextId(const std::string& key) = 0;
  // Active records of register `key` whose field `field` equals `value` (API JSON), at most
  // `limit`.
  virtual std::vector<nlohmann::json> Find(const std::string& key, const std::string& field,
                                           const nlohmann::json& value, int limit) = 0;
  // Every active record of register `key` (API JSON), at most `limit`, in id order.
  virtual std::vector<nlohmann::json> All(const std::string& key, int limit) = 0;
  // The number of active records of register `key` whose field `field` equals `value`.
  virtual int64_t Count(const std::string& key, const std::string& field,
                        const nlohmann::json& value) = 0;
  // The active record `id` of register `key` as API JSON, or nullopt.
  virtual std::optional<nlohmann::json> Lookup(const std::string& key, int64_t id) = 0;
  // Whether the actor may do `action` on register `key` (on `record` when given): for rules
  // that let only some roles make a change, such as approving a request.
  virtual bool Allowed(const std::string& key, Action action, const nlohmann::json* record) = 0;
  // The value of a body-wide setting (the settings table), or `fallback` when never set.
  virtual std::string Setting(const std::string& key, const std::string& fallback) = 0;
  // A warning: the change is allowed, the warning is shown to the user and recorded with the
  // change in the record's history.
  virtual void Warn(FieldError warning) = 0;
};

// A domain rule beyond field checks. `candidate` is the record as it would be stored (API
// JSON, all fields present, absent ones null). Append errors naming the field.
using RecordRule = std::function<void(const nlohmann::json& candidate, RuleContext& ctx,
                                      std::vector<FieldError>& errors)>;
// Fills in derived values before a record is validated: a generated number, a default holder.
// Runs on create and on every imported row (new or updated). Only fields still null are set.
using RecordCompleter = std::function<void(nlohmann::json& candidate, RuleContext& ctx)>;

// Attachments (添付ファイル): files kept with a record, each with the SHA-256 the server
// computed from its bytes. Adding and removing them is part of changing the record; a rule may
// refuse either in the record's current state.
enum class AttachmentChange { kAdd, kRemove };
// kConflict (naming the field that decides) when files may not be added to or removed from
// `record` (API JSON, as stored) now, e.g. a document version that has left 起案; kPermissionDenied
// when this actor may not, although the register's grants allow it.
using AttachmentRule = std::function<Status(const nlohmann::json& record, const Actor& actor,
                                            AttachmentChange change)>;

struct AttachmentOptions {
  bool enabled = false;
  // The largest file accepted, in bytes. The server's own limit (mamori.toml [server]
  // attachment_max_bytes) applies too; the smaller one wins.
  int64_t max_bytes = int64_t{20} << 20;
  int max_files = 50;  // per record
  // Shown with the files (what they are for, when they count).
  Label note;
  std::vector<AttachmentRule> rules;
};

struct RegisterDef {
  std::string key;   // [a-z][a-z0-9_]*; table r_{key}
  std::string path;  // URL path below /api/v1, e.g. "organization/units"
  Label label;
  // Unique natural key used by import upsert and by references in files. May be empty for a
  // register without one (then imports only add, and other registers cannot reference it).
  std::string key_field;
  std::string title_field;  // what people call a record (shown for references)
  std::string default_sort;
  std::vector<FieldDef> fields;
  std::vector<RecordRule> rules;
  std::vector<RecordCompleter> completers;
  // Derived values of a changed record (who decided, when), before it is validated; the
  // candidate holds `id`. Runs on update.
  std::vector<RecordCompleter> update_completers;

  // The ref-to-org_units field that says which organization unit a record belongs to; scoped
  // permissions ("view within my section") use it. Empty: the register is not scoped.
  std::string org_field;
  // Need to know: a record is confidential when `confidential_field` holds one of
  // `confidential_values`; only actors granted kViewConfidential see it. Empty: never.
  std::string confidential_field;
  std::vector<std::string> confidential_values;
  // Records never change once made (evidence, decisions, acknowledgements): updates are
  // refused; a mistake is archived and recorded again.
  bool immutable = false;
  // Files kept with each record. Who may add them: those who may update the record (create,
  // for an immutable register: attaching is part of making the record); remove them: those
  // who may update it, never in an immutable register. Viewing them is viewing the record.
  AttachmentOptions attachments;

  const FieldDef* Field(std::string_view name) const;
};

// The names a labels setting's value (FieldDef::labels_setting) gives: option value -> label
// ("" for a language it leaves as it is); empty for "" or a malformed value (the setting is
// validated where it is changed).
std::map<std::string, Label> SettingLabels(std::string_view value);
// `f` with the option labels that setting value `value` gives.
void ApplyLabelSetting(FieldDef& f, std::string_view value);

// Checks a definition's own consistency (names, key and title fields exist and are unique or
// required, enum options present, references name known registers). A failure is a bug in
// the definition: reported at start-up.
Status CheckDefinition(const RegisterDef& def, const std::vector<const RegisterDef*>& all);

// Members every record has besides its fields; no field may use these names.
bool IsReservedMember(std::string_view name);

}  // namespace mamori::registers
