// Attachments of register records (RegisterService's attachment operations): files kept in one
// table beside the SHA-256 this server computed from their bytes. The register's definition
// says whether its records take files (RegisterDef::attachments) and its rules when they may
// change; the permissions are the record's own.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "common/text.h"
#include "registers/service.h"
#include "registers/service_internal.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Row;
using store::Value;

namespace {

constexpr size_t kMaxNameChars = 200;

Error NameError(const std::string& ja, const std::string& en) {
  return Error::Invalid("ファイル名: " + ja, "file name: " + en,
                        {{"name", "ファイル名", ja, en, 0, {}}});
}

Error NoAttachments(const RegisterDef& def) {
  return Error::NotFound("「" + def.label.ja + "」の記録には添付ファイルはありません。",
                         def.key + " records take no attachments");
}

// "20 MiB", "512 KiB", "300 バイト": limits as people read them.
std::string SizeText(int64_t bytes) {
  if (bytes >= (int64_t{1} << 20) && bytes % (int64_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " バイト";
}

constexpr const char* kListColumns =
    "id, name, content_type, size, sha256, uploaded_at, uploaded_by";

json EntryJson(const Row& r) {
  return {{"id", AsInt(r[0])},          {"name", AsText(r[1])},   {"content_type", AsText(r[2])},
          {"size", AsInt(r[3])},        {"sha256", AsText(r[4])}, {"uploaded_at", AsText(r[5])},
          {"uploaded_by", AsText(r[6])}};
}

// The record as the actor may see it: kNotFound when it does not exist or is confidential to
// them.
Result<json> LoadVisible(Connection& c, const Registry& reg, const Authorizer& auth,
                         const Actor& actor, const RegisterDef& def, int64_t id) {
  MAMORI_ASSIGN_OR_RETURN(json rec, internal::LoadRecord(c, reg, def, id));
  MAMORI_TRY(auth.Check(actor, def, Action::kView, &rec));
  return rec;
}

// Whether `actor` may add or remove files of `rec` now: the grant (update; create in an
// immutable register, where files are never removed), the record's state, the rules.
Status CheckChange(const Authorizer& auth, const Actor& actor, const RegisterDef& def,
                   const json& rec, AttachmentChange change) {
  if (change == AttachmentChange::kRemove && def.immutable) {
    return Error::Invalid("「" + def.label.ja +
                              "」の記録の添付ファイルは削除できません。誤りがあるときは、記録を"
                              "アーカイブして登録し直してください。",
                          "attachments of " + def.key + " records cannot be removed");
  }
  MAMORI_TRY(auth.Check(actor, def, def.immutable ? Action::kCreate : Action::kUpdate, &rec));
  if (rec["archived"] == true) {
    return Error::Conflict("アーカイブ済みの記録の添付ファイルは変えられません。",
                           "the record is archived");
  }
  for (const auto& rule : def.attachments.rules) MAMORI_TRY(rule(rec, actor, change));
  return {};
}

Result<std::vector<Row>> Files(Connection& c, const RegisterDef& def, int64_t id) {
  const Value params[] = {def.key, id};
  return c.Query(std::string("SELECT ") + kListColumns +
                     " FROM attachments WHERE register = ? AND record_id = ? ORDER BY id",
                 params);
}

}  // namespace

Status CheckAttachmentName(std::string_view name) {
  if (name.empty()) return NameError("指定してください。", "is required");
  if (!IsValidUtf8(name)) return NameError("UTF-8 の文字として読めません。", "invalid UTF-8");
  if (Utf8Length(name) > kMaxNameChars) {
    return NameError(std::to_string(kMaxNameChars) + " 文字以内にしてください。",
                     "at most " + std::to_string(kMaxNameChars) + " characters");
  }
  if (name == "." || name == "..") {
    return NameError("「.」「..」は使えません。", "\".\" and \"..\" are not file names");
  }
  if (name.front() == ' ' || name.back() == ' ' || name.back() == '.') {
    return NameError("先頭・末尾の空白と末尾のピリオドは使えません。",
                     "no leading or trailing space, no trailing period");
  }
  switch (FindUnsafeChar(name)) {
    case UnsafeChar::kControl:
      return NameError("制御文字は使えません。", "control characters are not allowed");
    case UnsafeChar::kBidi:
      return NameError("文字の向きを変える制御文字は使えません(拡張子を偽装できるため)。",
                       "bidirectional controls are not allowed");
    case UnsafeChar::kNone:
      break;
  }
  for (size_t i = 0; i < name.size();) {
    char32_t cp = 0;
    DecodeUtf8(name, i, cp);  // valid: checked above
    if (cp < 0x80 &&
        std::string_view("/\\:*?\"<>|").find(static_cast<char>(cp)) != std::string_view::npos) {
      return NameError(std::string("「") + static_cast<char>(cp) +
                           "」は使えません(/ \\ : * ? \" < > | はファイル名に使えません)。",
                       std::string("'") + static_cast<char>(cp) + "' is not allowed");
    }
  }
  return {};
}

std::string AttachmentContentType(std::string_view bytes) {
  if (bytes.starts_with("%PDF-")) return "application/pdf";
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (bytes.starts_with("\xff\xd8\xff")) return "image/jpeg";
  if (bytes.starts_with("GIF87a") || bytes.starts_with("GIF89a")) return "image/gif";
  return "application/octet-stream";
}

Result<json> RegisterService::ListAttachments(const Actor& actor, const RegisterDef& def,
                                              int64_t id) {
  if (!def.attachments.enabled) return NoAttachments(def);
  json out;
  bool confidential = false;
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json rec, LoadVisible(c, registry_, authorizer_, actor, def, id));
    confidential = internal::IsConfidential(def, rec);
    MAMORI_ASSIGN_OR_RETURN(auto rows, Files(c, def, id));
    json items = json::array();
    for (const auto& r : rows) items.push_back(EntryJson(r));
    Status add = CheckChange(authorizer_, actor, def, rec, AttachmentChange::kAdd);
    if (add.ok() && static_cast<int64_t>(rows.size()) >= def.attachments.max_files) {
      add = Error::Conflict("添付ファイルは 1 件の記録に " +
                                std::to_string(def.attachments.max_files) + " 個までです。",
                            "the record holds the most files it may");
    }
    const Status remove = CheckChange(authorizer_, actor, def, rec, AttachmentChange::kRemove);
    out = {{"items", std::move(items)},
           {"max_bytes", def.attachments.max_bytes},
           {"max_files", def.attachments.max_files},
           {"can_add", add.ok()},
           {"can_remove", remove.ok() && !rows.empty()}};
    // Why files cannot be added now: the record's state, not the actor's grants (those the UI
    // already knows).
    if (!add.ok() && add.error().code != ErrorCode::kPermissionDenied) {
      out["refusal"] = {{"ja", add.error().message}, {"en", add.error().message_en}};
    }
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  if (confidential) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      return audit_.Append(c, actor, "view_confidential", internal::Target(def, id),
                           {{"attachments", "list"}});
    }));
  }
  return out;
}

Result<AttachmentFile> RegisterService::GetAttachment(const Actor& actor, const RegisterDef& def,
                                                      int64_t id, int64_t attachment_id) {
  if (!def.attachments.enabled) return NoAttachments(def);
  AttachmentFile file;
  bool confidential = false;
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json rec, LoadVisible(c, registry_, authorizer_, actor, def, id));
    confidential = internal::IsConfidential(def, rec);
    const Value params[] = {attachment_id, def.key, id};
    MAMORI_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT id, name, content_type, sha256, bytes FROM attachments "
                                    "WHERE id = ? AND register = ? AND record_id = ?",
                                    params));
    if (rows.empty()) {
      return Error::NotFound(
          "添付ファイルが見つかりません(ID " + std::to_string(attachment_id) + ")。",
          "attachment " + std::to_string(attachment_id) + " not found");
    }
    file.id = AsInt(rows[0][0]);
    file.name = AsText(rows[0][1]);
    file.content_type = AsText(rows[0][2]);
    file.sha256 = AsText(rows[0][3]);
    file.bytes = AsText(rows[0][4]);
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  if (confidential) {
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      return audit_.Append(c, actor, "view_confidential", internal::Target(def, id),
                           {{"attachment", file.id}, {"name", file.name}, {"sha256", file.sha256}});
    }));
  }
  return file;
}

Result<json> RegisterService::AddAttachment(const Actor& actor, const RegisterDef& def, int64_t id,
                                            std::string_view name, std::string_view bytes,
                                            int64_t max_bytes) {
  if (!def.attachments.enabled) return NoAttachments(def);
  MAMORI_TRY(CheckAttachmentName(name));
  if (bytes.empty()) {
    return Error::Invalid("空のファイルは添付できません。", "the file is empty",
                          {{"file", "ファイル", "空です。", "is empty", 0, {}}});
  }
  const int64_t limit = std::min(def.attachments.max_bytes, max_bytes);
  if (static_cast<int64_t>(bytes.size()) > limit) {
    return Error::TooLarge(
        "添付ファイル「" + std::string(name) + "」が大きすぎます(上限 " + SizeText(limit) + ")。",
        "the file exceeds " + std::to_string(limit) + " bytes");
  }
  // Hashed before the write transaction: it takes a while for a large file, and the writer
  // lock is shared.
  const std::string sha256 = Sha256Hex(bytes);
  const std::string content_type = AttachmentContentType(bytes);
  json out;
  Status st = store_.Write([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json rec, LoadVisible(c, registry_, authorizer_, actor, def, id));
    MAMORI_TRY(CheckChange(authorizer_, actor, def, rec, AttachmentChange::kAdd));
    const Value count_params[] = {std::string(name), def.key, id};
    MAMORI_ASSIGN_OR_RETURN(auto counts,
                            c.Query("SELECT count(*), COALESCE(SUM(name = ?), 0) FROM attachments "
                                    "WHERE register = ? AND record_id = ?",
                                    count_params));
    if (AsInt(counts[0][0]) >= def.attachments.max_files) {
      return Error::Conflict("添付ファイルは 1 件の記録に " +
                                 std::to_string(def.attachments.max_files) + " 個までです。",
                             "the record holds the most files it may");
    }
    if (AsInt(counts[0][1]) > 0) {
      return Error::Conflict(
          "同じ名前のファイル「" + std::string(name) + "」が既に添付されています。",
          "a file of that name is already attached",
          {{"name", "ファイル名", "既に添付されています。", "already attached", 0, {}}});
    }
    const std::string now = FormatIso8601(clock_.Now());
    const Value params[] = {def.key,
                            id,
                            std::string(name),
                            content_type,
                            static_cast<int64_t>(bytes.size()),
                            sha256,
                            store::Blob{bytes},
                            now,
                            actor.id,
                            actor.user_id};
    MAMORI_TRY(
        c.Exec("INSERT INTO attachments (register, record_id, name, content_type, size, "
               "sha256, bytes, uploaded_at, uploaded_by, uploaded_by_id) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               params));
    const int64_t attachment_id = c.LastInsertId();
    const json detail{{"attachment", attachment_id},
                      {"name", name},
                      {"size", bytes.size()},
                      {"sha256", sha256},
                      {"content_type", content_type}};
    MAMORI_TRY(internal::AppendHistory(
        c, def, id, rec["version"].get<int64_t>(), "attach", actor, now,
        json::array({{{"field", "attachments"},
                      {"label", "添付ファイル"},
                      {"from", nullptr},
                      {"to", std::string(name) + " (SHA-256 " + sha256 + ")"}}})));
    MAMORI_TRY(audit_.Append(c, actor, "attach", internal::Target(def, id), detail));
    out = {{"id", attachment_id},    {"name", name},     {"content_type", content_type},
           {"size", bytes.size()},   {"sha256", sha256}, {"uploaded_at", now},
           {"uploaded_by", actor.id}};
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Status RegisterService::RemoveAttachment(const Actor& actor, const RegisterDef& def, int64_t id,
                                         int64_t attachment_id) {
  if (!def.attachments.enabled) return NoAttachments(def);
  return store_.Write([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json rec, LoadVisible(c, registry_, authorizer_, actor, def, id));
    const Value params[] = {attachment_id, def.key, id};
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT name, size, sha256 FROM attachments "
                                               "WHERE id = ? AND register = ? AND record_id = ?",
                                               params));
    if (rows.empty()) {
      return Error::NotFound(
          "添付ファイルが見つかりません(ID " + std::to_string(attachment_id) + ")。",
          "attachment " + std::to_string(attachment_id) + " not found");
    }
    MAMORI_TRY(CheckChange(authorizer_, actor, def, rec, AttachmentChange::kRemove));
    const std::string name = AsText(rows[0][0]), sha256 = AsText(rows[0][2]);
    const Value del[] = {attachment_id};
    MAMORI_TRY(c.Exec("DELETE FROM attachments WHERE id = ?", del));
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_TRY(internal::AppendHistory(c, def, id, rec["version"].get<int64_t>(), "detach", actor,
                                       now,
                                       json::array({{{"field", "attachments"},
                                                     {"label", "添付ファイル"},
                                                     {"from", name + " (SHA-256 " + sha256 + ")"},
                                                     {"to", nullptr}}})));
    return audit_.Append(c, actor, "detach", internal::Target(def, id),
                         {{"attachment", attachment_id},
                          {"name", name},
                          {"size", AsInt(rows[0][1])},
                          {"sha256", sha256}});
  });
}

}  // namespace mamori::registers
