#include "auth/audit.h"

#include <nlohmann/json.hpp>

#include "auth/credentials.h"
#include "common/clock.h"

namespace mamori::auth {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

const std::string kGenesis(64, '0');
constexpr int64_t kVerifyBatch = 10'000;
constexpr size_t kMaxExportRows = 200'000;

void AppendEscaped(std::string& out, std::string_view s) {
  out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

Status BuildWhere(const AuditQuery& q, std::string& where, std::vector<Value>& params) {
  std::vector<std::string> conds;
  if (!q.actor.empty()) {
    conds.push_back("actor = ?");
    params.emplace_back(q.actor);
  }
  if (!q.action.empty()) {
    conds.push_back("action = ?");
    params.emplace_back(q.action);
  }
  if (!q.target.empty()) {
    conds.push_back("(target = ? OR substr(target, 1, ?) = ?)");
    params.emplace_back(q.target);
    params.emplace_back(static_cast<int64_t>(q.target.size() + 1));
    params.emplace_back(q.target + "/");
  }
  if (!q.from.empty()) {
    if (!ParseDate(q.from)) {
      return Error::Invalid("開始日は YYYY-MM-DD で指定してください。", "from must be a date",
                            {{"from", "開始日", "日付が正しくありません。", "not a date", 0, {}}});
    }
    conds.push_back("at >= ?");
    params.emplace_back(q.from);
  }
  if (!q.to.empty()) {
    if (!ParseDate(q.to)) {
      return Error::Invalid("終了日は YYYY-MM-DD で指定してください。", "to must be a date",
                            {{"to", "終了日", "日付が正しくありません。", "not a date", 0, {}}});
    }
    conds.push_back("at < ?");
    params.emplace_back(q.to + "T99");  // every time of that day sorts before "T99"
  }
  where.clear();
  for (size_t i = 0; i < conds.size(); ++i) where += (i ? " AND " : " WHERE ") + conds[i];
  return {};
}

json EntryJson(const store::Row& r) {
  json detail = json::parse(AsText(r[6]), nullptr, false);
  return {{"seq", AsInt(r[0])},
          {"at", AsText(r[1])},
          {"actor", AsText(r[2])},
          {"address", AsText(r[3])},
          {"action", AsText(r[4])},
          {"target", AsText(r[5])},
          {"detail", detail.is_discarded() ? json(AsText(r[6])) : detail}};
}

}  // namespace

std::vector<store::Migration> AuditMigrations() {
  return {{"auth/001-audit-log",
           "hash-chained audit trail",
           {"CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, "
            "actor TEXT NOT NULL, address TEXT NOT NULL, action TEXT NOT NULL, "
            "target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, "
            "hash TEXT NOT NULL)",
            "CREATE INDEX audit_log_actor ON audit_log(actor, seq)",
            "CREATE INDEX audit_log_action ON audit_log(action, seq)",
            "CREATE INDEX audit_log_target ON audit_log(target, seq)",
            "CREATE INDEX audit_log_at ON audit_log(at)",
            "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
            "seq INTEGER NOT NULL, hash TEXT NOT NULL)",
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"}}};
}

std::string CanonicalEntry(int64_t seq, std::string_view at, std::string_view actor,
                           std::string_view address, std::string_view action,
                           std::string_view target, std::string_view detail_json) {
  std::string out = "{\"seq\":" + std::to_string(seq) + ",\"at\":";
  AppendEscaped(out, at);
  out += ",\"actor\":";
  AppendEscaped(out, actor);
  out += ",\"address\":";
  AppendEscaped(out, address);
  out += ",\"action\":";
  AppendEscaped(out, action);
  out += ",\"target\":";
  AppendEscaped(out, target);
  out += ",\"detail\":";
  out += detail_json;
  out += '}';
  return out;
}

std::string ChainHash(std::string_view prev_hash, std::string_view canonical) {
  std::string data;
  data.reserve(prev_hash.size() + canonical.size());
  data.append(prev_hash);
  data.append(canonical);
  return Sha256Hex(data);
}

Status AuditLog::Append(Connection& c, const registers::Actor& actor, std::string_view action,
                        std::string_view target, const json& detail) {
  MAMORI_ASSIGN_OR_RETURN(auto head, c.Query("SELECT seq, hash FROM audit_head WHERE id = 1"));
  const int64_t seq = head.empty() ? 1 : AsInt(head[0][0]) + 1;
  const std::string prev = head.empty() ? kGenesis : AsText(head[0][1]);
  const std::string at = FormatIso8601(clock_.Now());
  const std::string detail_json = (detail.is_null() ? json::object() : detail)
                                      .dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string hash = ChainHash(
      prev, CanonicalEntry(seq, at, actor.id, actor.address, action, target, detail_json));
  const Value row[] = {
      seq,         at,   actor.id, actor.address, std::string(action), std::string(target),
      detail_json, prev, hash};
  MAMORI_TRY(
      c.Exec("INSERT INTO audit_log (seq, at, actor, address, action, target, detail, "
             "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             row));
  const Value h[] = {seq, hash};
  MAMORI_TRY(
      c.Exec("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
             "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
             h));
  return {};
}

Status AuditLog::AppendNow(const registers::Actor& actor, std::string_view action,
                           std::string_view target, const json& detail) {
  return store_.Write(
      [&](Connection& c) -> Status { return Append(c, actor, action, target, detail); });
}

Result<json> AuditLog::Query(const AuditQuery& q) const {
  json out;
  std::string where;
  std::vector<Value> params;
  MAMORI_TRY(BuildWhere(q, where, params));
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto count, c.Query("SELECT count(*) FROM audit_log" + where, params));
    std::vector<Value> page = params;
    page.emplace_back(int64_t{q.limit});
    page.emplace_back(q.offset);
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT seq, at, actor, address, action, target, detail FROM audit_log" +
                               where + " ORDER BY seq DESC LIMIT ? OFFSET ?",
                           page));
    json items = json::array();
    for (const auto& r : rows) items.push_back(EntryJson(r));
    out = {{"items", std::move(items)},
           {"total", AsInt(count[0][0])},
           {"limit", q.limit},
           {"offset", q.offset}};
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<std::vector<std::vector<std::string>>> AuditLog::ExportRows(const AuditQuery& q) const {
  std::vector<std::vector<std::string>> out = {
      {"番号", "日時", "操作者", "アドレス", "操作", "対象", "詳細", "ハッシュ"}};
  std::string where;
  std::vector<Value> params;
  MAMORI_TRY(BuildWhere(q, where, params));
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT seq, at, actor, address, action, target, detail, hash FROM audit_log" +
                    where + " ORDER BY seq",
                params, kMaxExportRows));
    for (const auto& r : rows) {
      out.push_back({std::to_string(AsInt(r[0])), AsText(r[1]), AsText(r[2]), AsText(r[3]),
                     AsText(r[4]), AsText(r[5]), AsText(r[6]), AsText(r[7])});
    }
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<VerifyResult> AuditLog::Verify() const {
  VerifyResult result;
  std::string prev = kGenesis;
  int64_t expected = 1;
  auto fail = [&](int64_t seq, std::string reason) {
    result.ok = false;
    result.first_bad_seq = seq;
    result.reason = std::move(reason);
  };
  Status st = store_.Read([&](Connection& c) -> Status {
    for (;;) {
      const Value params[] = {expected - 1, kVerifyBatch};
      MAMORI_ASSIGN_OR_RETURN(
          auto rows, c.Query("SELECT seq, at, actor, address, action, target, detail, prev_hash, "
                             "hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                             params));
      for (const auto& r : rows) {
        const int64_t seq = AsInt(r[0]);
        if (seq != expected) {
          fail(expected, "番号 " + std::to_string(expected) + " の記録がありません(削除の疑い)。");
          return {};
        }
        if (AsText(r[7]) != prev) {
          fail(seq, "番号 " + std::to_string(seq) +
                        " の前の記録へのつながりが一致しません(削除又は並べ替えの疑い)。");
          return {};
        }
        const std::string hash =
            ChainHash(prev, CanonicalEntry(seq, AsText(r[1]), AsText(r[2]), AsText(r[3]),
                                           AsText(r[4]), AsText(r[5]), AsText(r[6])));
        if (hash != AsText(r[8])) {
          fail(seq,
               "番号 " + std::to_string(seq) + " の内容がハッシュと一致しません(改ざんの疑い)。");
          return {};
        }
        prev = hash;
        ++expected;
        ++result.entries;
      }
      if (static_cast<int64_t>(rows.size()) < kVerifyBatch) break;
    }
    MAMORI_ASSIGN_OR_RETURN(auto head, c.Query("SELECT seq, hash FROM audit_head WHERE id = 1"));
    const int64_t head_seq = head.empty() ? 0 : AsInt(head[0][0]);
    if (head_seq != result.entries || (!head.empty() && AsText(head[0][1]) != prev)) {
      fail(result.entries + 1, "最後の記録(番号 " + std::to_string(head_seq) +
                                   ")までそろっていません(末尾の削除の疑い)。");
    }
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return result;
}

}  // namespace mamori::auth
