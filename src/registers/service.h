// RegisterService: every operation on every register, derived from its definition: list
// (filter, sort, pagination, kana/kanji text search), get, create, update with optimistic
// concurrency, archive and restore (never hard delete), change history, and CSV/XLSX export
// and all-or-nothing import.
//
// Each operation asks the Authorizer first, runs in one store transaction, and records a
// history entry for every change in that same transaction.
//
// Thread-safety: thread-safe (state is the store and immutable definitions).
// Errors: kInvalidInput naming fields (and rows/columns for imports), kNotFound, kConflict
// (stale version, duplicate unique value), kPermissionDenied, kTooLarge.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::registers {

enum class ArchivedFilter { kExclude, kInclude, kOnly };

struct ListQuery {
  std::string q;     // text search, terms separated by spaces (all must match)
  std::string sort;  // field name; empty for the default
  bool descending = false;
  int limit = 50;  // 1..500
  int64_t offset = 0;
  ArchivedFilter archived = ArchivedFilter::kExclude;
  std::vector<std::pair<const FieldDef*, std::string>> filters;  // exact match, raw text
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Parses URL query parameters into a ListQuery. Parameters named in `also_allowed` are
// skipped (the caller handles them); anything else unknown is an error naming it.
Result<ListQuery> ParseListQuery(const RegisterDef& def, const QueryParams& params,
                                 const std::vector<std::string_view>& also_allowed = {});

enum class FileFormat { kCsv, kXlsx };
enum class ImportMode { kInsert, kUpsert };

struct ImportSummary {
  bool dry_run = false;
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  std::vector<FieldError> warnings;  // accepted, with row and column (at most 1,000)
};

// One attached file with its bytes (download).
struct AttachmentFile {
  int64_t id = 0;
  std::string name;          // as uploaded (validated: no path, no control characters)
  std::string content_type;  // decided by the server from the bytes; never the client's word
  std::string sha256;        // lower-case hex, computed by the server
  std::string bytes;
};

// Checks a file name as people type it ("実施報告書.pdf"): valid UTF-8, 1–200 characters, not
// "." or "..", no path separators or characters Windows forbids (/ \ : * ? " < > |), no
// control characters and no bidirectional overrides (which disguise an extension). kInvalidInput
// naming the field "name" otherwise.
Status CheckAttachmentName(std::string_view name);

// The media type an attachment is served as: application/pdf, image/png, image/jpeg or
// image/gif when the bytes begin with that format's signature, otherwise
// application/octet-stream. Never derived from what the client said.
std::string AttachmentContentType(std::string_view bytes);

struct ExportFile {
  std::string bytes;
  std::string content_type;
  std::string filename;  // e.g. "org_units-20261125.xlsx"
};

// Warnings as the API shows them, shaped like a problem's errors:
// [{"field", "label", "message", "message_en", "row"?, "column"?}].
nlohmann::json WarningsToJson(const std::vector<FieldError>& warnings);

// Rebuilds the stored search text and the list index of every register whose searchable
// fields, condition fields, search normalization or index format changed since they were
// built (a database made before the list index gets it here). Run at start-up, after the
// migrations.
Status RefreshSearchText(store::Store& store, const Registry& registry);

// Checks that every field's stored column has the storage class its definition needs (a
// custom field whose type was changed from text to integer, say, after records were stored):
// otherwise kInvalidInput naming the register and field. Run at start-up, after the migrations.
Status CheckStoredColumns(store::Store& store, const Registry& registry);

class RegisterService {
 public:
  RegisterService(store::Store& store, const Registry& registry, const Authorizer& authorizer,
                  AuditSink& audit, const Clock& clock);

  // The JSON text {"items": [...], "total": n, "limit": n, "offset": n}; `total` is exact
  // (list_index.h says how the conditions are answered). Answers are cached per query and
  // reused while the register (and the registers it references) are unchanged; the change
  // counter is read in the same snapshot as the data, so a cached answer is never staler
  // than a fresh read, even when another process writes the database.
  Result<std::string> List(const Actor& actor, const RegisterDef& def, const ListQuery& q);
  Result<nlohmann::json> Get(const Actor& actor, const RegisterDef& def, int64_t id);
  Result<nlohmann::json> Create(const Actor& actor, const RegisterDef& def,
                                const nlohmann::json& body);
  // `version` is the version the caller last saw; a different current version is kConflict.
  Result<nlohmann::json> Update(const Actor& actor, const RegisterDef& def, int64_t id,
                                int64_t version, const nlohmann::json& body);
  Result<nlohmann::json> SetArchived(const Actor& actor, const RegisterDef& def, int64_t id,
                                     int64_t version, bool archived);
  // {"items": [{"version", "action", "actor", "at", "changes": [...]}, ...]} newest first.
  Result<nlohmann::json> History(const Actor& actor, const RegisterDef& def, int64_t id);

  Result<ExportFile> Export(const Actor& actor, const RegisterDef& def, const ListQuery& q,
                            FileFormat format);
  Result<ImportSummary> Import(const Actor& actor, const RegisterDef& def, std::string_view bytes,
                               FileFormat format, ImportMode mode, bool dry_run);

  // Attachments (RegisterDef::attachments); kNotFound when the register takes none. Viewing
  // them needs what viewing the record needs (a confidential record the actor may not see is
  // kNotFound, and every view of one is audited).
  //
  // {"items": [{"id", "name", "content_type", "size", "sha256", "uploaded_at", "uploaded_by"}],
  //  "max_bytes", "max_files", "can_add", "can_remove", "refusal"?: {ja, en}} — `can_*` say
  // whether this actor may add or remove files now (the same checks as AddAttachment and
  // RemoveAttachment), `refusal` why not.
  Result<nlohmann::json> ListAttachments(const Actor& actor, const RegisterDef& def, int64_t id);
  Result<AttachmentFile> GetAttachment(const Actor& actor, const RegisterDef& def, int64_t id,
                                       int64_t attachment_id);
  // Stores `bytes` as a file of record `id`, with the SHA-256 computed here, in one write
  // transaction with a history entry ("attach") and the audit entry (name, size, hash).
  // kInvalidInput for a bad name or an empty file, kTooLarge beyond `max_bytes` (the smaller of
  // the definition's and the caller's), kConflict when the record is archived, holds the
  // register's maximum number of files or a file of that name, or a rule refuses;
  // kPermissionDenied without the grant. Returns the stored file's entry (as in the list).
  Result<nlohmann::json> AddAttachment(const Actor& actor, const RegisterDef& def, int64_t id,
                                       std::string_view name, std::string_view bytes,
                                       int64_t max_bytes);
  // Removes a file (history "detach" and audit entry with its hash); never in an immutable
  // register (kInvalidInput), and only while the rules allow (kConflict).
  Status RemoveAttachment(const Actor& actor, const RegisterDef& def, int64_t id,
                          int64_t attachment_id);

  // A body-wide setting (the settings table), or `fallback` when never set.
  Result<std::string> Setting(const std::string& key, const std::string& fallback);
  // The fields of `def` whose options a setting renames (FieldDef::labels_setting), with the
  // names in force: field name -> the field with those labels.
  Result<std::map<std::string, FieldDef>> RenamedFields(const RegisterDef& def);

  // Old value -> new value, per field name.
  using Remap = std::map<std::string, std::map<std::string, std::string>>;
  // What ChangeSetting would do: {"records": n, "fields": {field: {old value: count}}} over
  // every record (archived included) of the registers whose enum fields follow setting `key`.
  Result<nlohmann::json> SettingUsage(const std::string& key);
  // Sets `key` to `value` and, in the same transaction, rewrites every record's fields that
  // follow it through `remap` (each changed record gets a new version and a "reclassify"
  // history entry; one audit entry records the whole change). Every value in use must map to
  // an option tagged `value` (or already be one): otherwise kInvalidInput naming the field and
  // value, and nothing changes. The caller checks the permission (resource "settings").
  Result<nlohmann::json> ChangeSetting(const Actor& actor, const std::string& key,
                                       const std::string& value, const Remap& remap);
  // Sets `key`, a setting that values of `registers` are derived under (the risk levels'
  // names and thresholds), to `value` (validated by the caller) and, in the same
  // transaction, derives every active record of `registers` again (update completers; each
  // changed record gets a new version and a "reclassify" history entry and must satisfy the
  // rules, else kInvalidInput and nothing changes; one audit entry). The caller checks the
  // permission. `expected`: the value the caller based the change on ("" for never set);
  // another value found in the transaction is kConflict (a change saved meanwhile).
  // Returns {"setting", "value", "from", "changed"}.
  Result<nlohmann::json> ChangeDerivedSetting(const Actor& actor, const std::string& key,
                                              const std::string& value,
                                              const std::vector<const RegisterDef*>& registers,
                                              const std::string& expected);

  // Counts of active records by the values of one or two enum or boolean fields (e.g.
  // confidentiality × zone), under the same filters and row permissions as List:
  // {"by": [field, …], "cells": [{"values": [v1, v2], "count": n}, …], "total": n}.
  Result<nlohmann::json> Counts(const Actor& actor, const RegisterDef& def, const ListQuery& q,
                                const std::vector<const FieldDef*>& by);

  // Number of active (not archived) records, for the dashboard.
  Result<int64_t> Count(const Actor& actor, const RegisterDef& def);

 private:
  class ListCache;
  // What a setting change does to one record's fields before it is derived again (nullptr:
  // nothing); errors go to the vector.
  using RecordRemap = std::function<void(const RegisterDef&, int64_t id, nlohmann::json& fields,
                                         std::vector<FieldError>& errors)>;
  Result<nlohmann::json> RewriteUnderSetting(const Actor& actor, const std::string& key,
                                             const std::string& value, const std::string& fallback,
                                             const std::vector<const RegisterDef*>& registers,
                                             const RecordRemap& remap_record,
                                             const nlohmann::json& audit_detail,
                                             const std::optional<std::string>& expected);
  store::Store& store_;
  AuditSink& audit_;
  std::shared_ptr<ListCache> cache_;
  const Registry& registry_;
  const Authorizer& authorizer_;
  const Clock& clock_;
};

}  // namespace mamori::registers
