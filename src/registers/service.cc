#include "registers/service.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "common/text.h"
#include "registers/list_index.h"
#include "registers/record_codec.h"
#include "registers/service_internal.h"
#include "registers/tabular.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Row;
using store::Value;

json WarningsToJson(const std::vector<FieldError>& warnings) {
  json out = json::array();
  for (const auto& w : warnings) {
    json j{{"field", w.field},
           {"label", w.label},
           {"message", w.message},
           {"message_en", w.message_en}};
    if (w.row > 0) {
      j["row"] = w.row;
      j["column"] = w.column;
    }
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

constexpr int kBaseColumns = 7;  // id, version, archived, created_at, updated_at, by, by
constexpr size_t kMaxExportRows = 200'000;
constexpr size_t kMaxReportedErrors = 1000;

std::string Table(const RegisterDef& d) { return "r_" + d.key; }
std::string Col(const FieldDef& f) { return "f_" + f.name; }

// SELECT list shared by every read: base columns, field columns, then for each reference the
// referenced record's title and key (for `_refs` and export files).
struct SelectPlan {
  std::string sql;    // "SELECT … FROM r_x t LEFT JOIN …"
  std::string cols;   // "t.id, …, j0.f_name, …"
  std::string joins;  // " LEFT JOIN …"
  std::vector<const FieldDef*> refs;
};

SelectPlan PlanSelect(const Registry& reg, const RegisterDef& d) {
  SelectPlan p;
  std::string cols =
      "t.id, t.version, t.archived, t.created_at, t.updated_at, t.created_by, t.updated_by";
  for (const auto& f : d.fields) cols += ", t." + Col(f);
  std::string joins;
  for (const auto& f : d.fields) {
    if (f.type != FieldType::kRef) continue;
    const RegisterDef* target = reg.ByKey(f.ref);
    const std::string alias = "j" + std::to_string(p.refs.size());
    cols += ", " + alias + ".f_" + target->title_field + ", " + alias + ".f_" + target->key_field;
    joins += " LEFT JOIN r_" + target->key + " " + alias + " ON " + alias + ".id = t." + Col(f);
    p.refs.push_back(&f);
  }
  p.sql = "SELECT " + cols + " FROM " + Table(d) + " t" + joins;
  p.cols = std::move(cols);
  p.joins = std::move(joins);
  return p;
}

json FieldFromColumn(const FieldDef& f, const Value& v) {
  if (store::IsNull(v)) return nullptr;
  switch (f.type) {
    case FieldType::kInteger:
    case FieldType::kRef:
      return AsInt(v);
    case FieldType::kBoolean:
      return AsInt(v) != 0;
    default:
      return AsText(v);
  }
}

json RowToJson(const RegisterDef& d, const SelectPlan& p, const Row& row) {
  json r = json::object();
  r["id"] = AsInt(row[0]);
  r["version"] = AsInt(row[1]);
  r["archived"] = AsInt(row[2]) != 0;
  r["created_at"] = AsText(row[3]);
  r["updated_at"] = AsText(row[4]);
  r["created_by"] = AsText(row[5]);
  r["updated_by"] = AsText(row[6]);
  size_t c = kBaseColumns;
  for (const auto& f : d.fields) r[f.name] = FieldFromColumn(f, row[c++]);
  json refs = json::object();
  for (const FieldDef* f : p.refs) {
    const Value& title = row[c];
    const Value& key = row[c + 1];
    c += 2;
    if (!r[f->name].is_null()) {
      refs[f->name] = {{"id", r[f->name]}, {"label", AsText(title)}, {"key", AsText(key)}};
    }
  }
  r["_refs"] = std::move(refs);
  return r;
}

Value ToColumn(const FieldDef& f, const json& v) {
  if (v.is_null()) return std::monostate{};
  switch (f.type) {
    case FieldType::kInteger:
    case FieldType::kRef:
      return v.get<int64_t>();
    case FieldType::kBoolean:
      return int64_t{v.get<bool>() ? 1 : 0};
    default:
      return v.get<std::string>();
  }
}

std::string SearchText(const RegisterDef& d, const json& rec) {
  std::string s;
  for (const auto& f : d.fields) {
    if (!f.searchable) continue;
    const json& v = rec[f.name];
    if (v.is_null()) continue;
    std::string text = internal::DisplayValue(f, v);
    if (f.type == FieldType::kEnum) text += " " + v.get<std::string>();
    s += NormalizeForSearch(text);
    s += '\n';
  }
  return s;
}

// A list query as the database runs it: which records (the list index's MATCH expression, or
// only the archived state) in which order.
struct ListPlan {
  bool none = false;                 // no record can match (an actor scoped to no unit)
  std::optional<std::string> match;  // the list index expression; nullopt: archived state only
  // The same conditions over a row (" AND t.f_x = ? …"); nullopt with search terms.
  std::optional<std::string> predicates;
  std::vector<Value> predicate_params;
  ArchivedFilter archived = ArchivedFilter::kExclude;
  std::string archived_where;  // " WHERE t.archived = 0", or "" (kInclude)
  const FieldDef* sort = nullptr;
  bool descending = false;
  std::string order;  // " ORDER BY t.f_x ASC, t.id ASC"
};

// The stored value an exact-match filter's raw text stands for (empty: NULL).
Value FilterValue(const FieldDef& f, const std::string& raw) {
  if (raw.empty()) return {};
  switch (f.type) {
    case FieldType::kInteger:
    case FieldType::kRef: {
      int64_t v = 0;
      std::from_chars(raw.data(), raw.data() + raw.size(), v);
      return v;
    }
    case FieldType::kBoolean:
      return int64_t{raw == "true" ? 1 : 0};
    default:
      return raw;
  }
}

ListPlan PlanList(const RegisterDef& d, const ListQuery& q, const RowFilter& rows) {
  ListPlan plan;
  list_index::Conditions cond;
  const std::string norm = NormalizeForSearch(q.q);
  size_t start = 0;
  while (start < norm.size()) {
    size_t end = norm.find(' ', start);
    if (end == std::string::npos) end = norm.size();
    if (end > start) cond.terms.push_back(norm.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& [f, raw] : q.filters) cond.filters.emplace_back(f, FilterValue(*f, raw));
  cond.archived = q.archived;
  cond.rows = &rows;
  plan.match = list_index::MatchExpression(d, cond, &plan.none);
  plan.predicates = list_index::RowPredicates(d, cond, plan.predicate_params);
  plan.archived = q.archived;
  if (q.archived == ArchivedFilter::kExclude) plan.archived_where = " WHERE t.archived = 0";
  if (q.archived == ArchivedFilter::kOnly) plan.archived_where = " WHERE t.archived = 1";
  plan.sort = d.Field(q.sort.empty() ? d.default_sort : q.sort);
  plan.descending = q.descending;
  const char* dir = q.descending ? " DESC" : " ASC";
  plan.order = " ORDER BY t." + Col(*plan.sort) + dir + ", t.id" + dir;
  return plan;
}

// "SELECT rowid AS id FROM r_x_fts WHERE r_x_fts MATCH ?": the records a plan's `match`
// selects, in id order.
std::string MatchingIds(const RegisterDef& d) {
  const std::string fts = list_index::TableName(d);
  return "SELECT rowid AS id FROM " + fts + " WHERE " + fts + " MATCH ?";
}

// " t WHERE …" over exactly the records a plan selects (for counts), with its parameters.
std::string PlanRows(const RegisterDef& d, const ListPlan& plan, std::vector<Value>& params) {
  if (plan.none) return " t WHERE 0";
  if (plan.match) {
    params.emplace_back(*plan.match);
    return " t WHERE t.id IN (" + MatchingIds(d) + ")";
  }
  return " t" + plan.archived_where;
}

// The ids of the records in the plan's archived state, in the plan's order: a SELECT (without
// LIMIT) whose first column is `id`. With an (archived, sort field) index it reads the index in
// order and stops where its consumer stops; for both archived states it merges the two parts
// of the index. nullopt without such an index.
std::optional<std::string> OrderedIds(const RegisterDef& d, const ListPlan& plan) {
  if (!HasOrderIndex(d, *plan.sort)) return std::nullopt;
  if (plan.archived != ArchivedFilter::kInclude) {
    return "SELECT t.id AS id FROM " + Table(d) + " t" + plan.archived_where + plan.order;
  }
  const std::string part = "SELECT t.id AS id, t." + Col(*plan.sort) + " AS s FROM " + Table(d) +
                           " t WHERE t.archived = ";
  const char* dir = plan.descending ? " DESC" : " ASC";
  return part + "0 UNION ALL " + part + "1 ORDER BY 2" + dir + ", 1" + dir;
}

// Relative costs of the steps a page can take (microseconds per step, measured on the 2-core
// benchmark machine with 100,000 assets; only their ratios matter).
constexpr double kCostCheckEntry = 0.65;  // walk: read an index entry's row, test the conditions
constexpr double kCostProbeEntry = 0.25;  // walk: look an index entry's id up in the match set
constexpr double kCostMatch = 0.15;       // list index: put one match into the match set
constexpr double kCostGatherMatch = 0.3;  // gather: read one match's sort value
constexpr double kCostSortStep = 0.03;    // gather: keep the first offset+limit (per log2 step)

// The rows of one page of a list whose `total` is known, in the plan's order. Only the page's
// ids are chosen from indexes; the rows (with their references) are read for those alone.
//  - Archived state only: the ordered ids, skipping `offset` (an index walk when there is an
//    index on the sort field, else a sort of every record).
//  - Other conditions, one of three ways, whichever the cost model expects to be cheapest:
//    check: walk the ordered ids, testing the conditions on each row (dense conditions
//           without search terms, e.g. need to know hiding a quarter of the records);
//    probe: walk the ordered ids, keeping those in the list index's match set;
//    gather: read every match's sort value and keep the first offset+limit (few matches).
//    The cost of a walk assumes evenly spread matches, so a walk stops when it has cost what
//    the gather would: then the matches lie later in the order (e.g. 管理番号 B-09… sorted
//    by 管理番号) and the gather answers. A page costs at most about twice the cheapest way.
Result<std::vector<Row>> ReadPage(Connection& c, const RegisterDef& d, const SelectPlan& p,
                                  const ListPlan& plan, int64_t total, int limit, int64_t offset) {
  const int64_t expected = std::clamp<int64_t>(total - offset, 0, limit);
  if (expected == 0) return std::vector<Row>{};
  auto page = [&](const std::string& ids, std::span<const Value> params) {
    return c.Query("SELECT " + p.cols + " FROM (" + ids + ") p CROSS JOIN " + Table(d) +
                       " t ON t.id = p.id" + p.joins + plan.order,
                   params);
  };
  const std::optional<std::string> ordered = OrderedIds(d, plan);
  if (!plan.match) {
    const Value params[] = {int64_t{limit}, offset};
    return page(ordered ? "SELECT id FROM (" + *ordered + " LIMIT ? OFFSET ?)"
                        : "SELECT t.id FROM " + Table(d) + " t" + plan.archived_where + plan.order +
                              " LIMIT ? OFFSET ?",
                params);
  }
  if (ordered) {
    MAMORI_ASSIGN_OR_RETURN(auto last, c.Query("SELECT max(id) FROM " + Table(d)));
    const double records = static_cast<double>(AsInt(last.at(0).at(0)));  // ids are not reused
    const double n = static_cast<double>(total);
    const double needed = static_cast<double>(offset + expected);
    const double walk = needed * records / n;  // entries, were the matches spread evenly
    const double gather = n * (kCostGatherMatch + kCostSortStep * std::log2(needed + 1));
    const double check = plan.predicates ? walk * kCostCheckEntry : gather;
    const double probe = n * kCostMatch + walk * kCostProbeEntry;
    std::optional<std::vector<Row>> walked;
    // The walk reads the ordered ids as a co-routine; the outer query keeps the matching ones
    // in that order and stops after the page, or at the budget.
    if (check < gather && check <= probe) {
      std::vector<Value> params = {static_cast<int64_t>(gather / kCostCheckEntry)};
      params.insert(params.end(), plan.predicate_params.begin(), plan.predicate_params.end());
      params.emplace_back(int64_t{limit});
      params.emplace_back(offset);
      MAMORI_ASSIGN_OR_RETURN(walked, page("SELECT w.id FROM (" + *ordered + " LIMIT ?) w " +
                                               "CROSS JOIN " + Table(d) + " t ON t.id = w.id " +
                                               "WHERE 1" + *plan.predicates + " LIMIT ? OFFSET ?",
                                           params));
    } else if (probe < gather) {
      const Value params[] = {static_cast<int64_t>((gather - n * kCostMatch) / kCostProbeEntry),
                              *plan.match, int64_t{limit}, offset};
      MAMORI_ASSIGN_OR_RETURN(
          walked, page("SELECT w.id FROM (" + *ordered + " LIMIT ?) w " + "WHERE w.id IN (" +
                           MatchingIds(d) + ") LIMIT ? OFFSET ?",
                       params));
    }
    if (walked && static_cast<int64_t>(walked->size()) == expected) return std::move(*walked);
  }
  const Value params[] = {*plan.match, int64_t{limit}, offset};
  return page("SELECT t.id FROM (" + MatchingIds(d) + ") m CROSS JOIN " + Table(d) +
                  " t ON t.id = m.id" + plan.order + " LIMIT ? OFFSET ?",
              params);
}

Error ValidationError(std::vector<FieldError> errors, bool import) {
  std::string ja, en;
  if (import) {
    const std::string n =
        std::to_string(errors.size()) + (errors.size() >= kMaxReportedErrors ? " 件以上" : " 件");
    ja = n + "の誤りがあるため、取り込みませんでした。";
    en = std::to_string(errors.size()) + (errors.size() >= kMaxReportedErrors ? "+" : "") +
         " errors; nothing was imported";
  } else if (errors.size() == 1) {
    const auto& e = errors[0];
    ja = (e.label.empty() ? "" : "「" + e.label + "」: ") + e.message;
    en = (e.field.empty() ? "" : e.field + ": ") + e.message_en;
  } else {
    ja = "入力内容に " + std::to_string(errors.size()) + " 件の誤りがあります。";
    en = std::to_string(errors.size()) + " invalid fields";
  }
  return Error::Invalid(std::move(ja), std::move(en), std::move(errors));
}

// RuleContext over the open transaction.
class TxContext final : public RuleContext {
 public:
  TxContext(Connection& c, const Registry& reg, const Authorizer& auth, const Actor& actor,
            std::string today, std::vector<FieldError>* warnings = nullptr)
      : c_(c),
        reg_(reg),
        auth_(auth),
        actor_(actor),
        today_(std::move(today)),
        warnings_(warnings) {}
  const Actor& actor() const override { return actor_; }
  const std::string& today() const override { return today_; }
  bool Taken(const std::string& key, const std::string& field, const json& value) override {
    const RegisterDef* d = reg_.ByKey(key);
    const FieldDef* f = d ? d->Field(field) : nullptr;
    if (f == nullptr) return false;
    const Value params[] = {ToColumn(*f, value)};
    auto rows =
        c_.Query("SELECT 1 FROM " + Table(*d) + " WHERE " + Col(*f) + " = ? LIMIT 1", params);
    return !rows.ok() || !rows->empty();
  }
  int64_t NextId(const std::string& key) override {
    const RegisterDef* d = reg_.ByKey(key);
    if (d == nullptr) return 0;
    auto rows = c_.Query("SELECT COALESCE(MAX(id), 0) + 1 FROM " + Table(*d));
    return rows.ok() && !rows->empty() ? AsInt(rows->front()[0]) : 0;
  }
  std::vector<json> Find(const std::string& key, const std::string& field, const json& value,
                         int limit) override {
    std::vector<json> out;
    const RegisterDef* d = reg_.ByKey(key);
    const FieldDef* f = d ? d->Field(field) : nullptr;
    if (f == nullptr || value.is_null()) return out;
    const SelectPlan p = PlanSelect(reg_, *d);
    const Value params[] = {ToColumn(*f, value), int64_t{limit}};
    auto rows = c_.Query(p.sql + " WHERE t." + Col(*f) + " = ? AND t.archived = 0 LIMIT ?", params);
    if (!rows.ok()) return out;
    for (const auto& r : *rows) out.push_back(RowToJson(*d, p, r));
    return out;
  }
  std::vector<json> All(const std::string& key, int limit) override {
    std::vector<json> out;
    const RegisterDef* d = reg_.ByKey(key);
    if (d == nullptr) return out;
    const SelectPlan p = PlanSelect(reg_, *d);
    const Value params[] = {int64_t{limit}};
    auto rows = c_.Query(p.sql + " WHERE t.archived = 0 ORDER BY t.id LIMIT ?", params);
    if (!rows.ok()) return out;
    for (const auto& r : *rows) out.push_back(RowToJson(*d, p, r));
    return out;
  }
  int64_t Count(const std::string& key, const std::string& field, const json& value) override {
    const RegisterDef* d = reg_.ByKey(key);
    const FieldDef* f = d ? d->Field(field) : nullptr;
    if (f == nullptr || value.is_null()) return 0;
    const Value params[] = {ToColumn(*f, value)};
    auto rows = c_.Query(
        "SELECT COUNT(*) FROM " + Table(*d) + " WHERE " + Col(*f) + " = ? AND archived = 0",
        params);
    return rows.ok() && !rows->empty() ? AsInt(rows->front()[0]) : 0;
  }
  std::optional<json> Lookup(const std::string& key, int64_t id) override {
    const RegisterDef* d = reg_.ByKey(key);
    if (d == nullptr) return std::nullopt;
    const SelectPlan p = PlanSelect(reg_, *d);
    const Value params[] = {id};
    auto rows = c_.Query(p.sql + " WHERE t.id = ? AND t.archived = 0", params);
    if (!rows.ok() || rows->empty()) return std::nullopt;
    return RowToJson(*d, p, rows->front());
  }
  bool Allowed(const std::string& key, Action action, const json* record) override {
    const RegisterDef* d = reg_.ByKey(key);
    return d != nullptr && auth_.Check(actor_, *d, action, record).ok();
  }
  std::string Setting(const std::string& key, const std::string& fallback) override {
    const Value params[] = {key};
    auto rows = c_.Query("SELECT value FROM settings WHERE key = ?", params);
    if (!rows.ok() || rows->empty()) return fallback;
    return AsText(rows->front()[0]);
  }
  void Warn(FieldError warning) override {
    if (warnings_ != nullptr) warnings_->push_back(std::move(warning));
  }

 private:
  Connection& c_;
  const Registry& reg_;
  const Authorizer& auth_;
  const Actor& actor_;
  std::string today_;
  std::vector<FieldError>* warnings_;
};

std::string Today(const Clock& clock) { return JapanDate(clock.Now()); }

json AuditDetail(const json& changes, const std::vector<FieldError>& warnings) {
  json detail{{"changes", changes}};
  if (!warnings.empty()) detail["warnings"] = WarningsToJson(warnings);
  return detail;
}

// Derived values of a new record (a generated number, a default holder), before validation.
void Complete(Connection& c, const Registry& reg, const Authorizer& auth, const std::string& today,
              const RegisterDef& d, const Actor& actor, json& candidate) {
  if (d.completers.empty()) return;
  TxContext ctx(c, reg, auth, actor, today);
  for (const auto& complete : d.completers) complete(candidate, ctx);
}

bool ActiveRecordExists(Connection& c, const Registry& reg, const std::string& key, int64_t id) {
  const RegisterDef* d = reg.ByKey(key);
  if (d == nullptr) return false;
  const Value params[] = {id};
  auto rows = c.Query("SELECT 1 FROM " + Table(*d) + " WHERE id = ? AND archived = 0", params);
  return rows.ok() && !rows->empty();
}

// The checks that need the database and the rules: required, references, uniqueness, options
// that depend on a setting. Rules may add warnings (to `warnings`, when given).
Status CheckRecord(Connection& c, const Registry& reg, const Authorizer& auth,
                   const std::string& today, const RegisterDef& d, const Actor& actor,
                   const json& rec, int64_t self_id, std::vector<FieldError>& errors,
                   std::vector<FieldError>* warnings = nullptr) {
  TxContext ctx(c, reg, auth, actor, today, warnings);
  for (const auto& f : d.fields) {
    const json& v = rec[f.name];
    if (v.is_null()) {
      if (f.required) errors.push_back(internal::MakeFieldError(f, "必須です。", "is required"));
      continue;
    }
    if (f.type == FieldType::kRef && !ActiveRecordExists(c, reg, f.ref, v.get<int64_t>())) {
      errors.push_back(
          internal::MakeFieldError(f,
                                   "参照先が見つからないか、アーカイブされています(ID " +
                                       std::to_string(v.get<int64_t>()) + ")。",
                                   "no active record with id " + std::to_string(v.get<int64_t>())));
    }
    if (!f.options_setting.empty()) {
      const std::string tag = ctx.Setting(f.options_setting, f.options_setting_default);
      const auto opt = std::find_if(f.options.begin(), f.options.end(),
                                    [&](const EnumOption& o) { return v == o.value; });
      if (opt != f.options.end() &&
          std::find(opt->tags.begin(), opt->tags.end(), tag) == opt->tags.end()) {
        std::string allowed;
        for (const auto& o : f.options) {
          if (std::find(o.tags.begin(), o.tags.end(), tag) == o.tags.end()) continue;
          allowed += (allowed.empty() ? "" : "、") + o.label.ja;
        }
        errors.push_back(internal::MakeFieldError(
            f,
            "「" + opt->label.ja +
                "」は現在の設定では使えません。次のいずれかを指定してください: " + allowed,
            "not valid under the current " + f.options_setting + " (" + tag + ")"));
      }
    }
    if (f.unique) {
      const Value params[] = {ToColumn(f, v), self_id};
      MAMORI_ASSIGN_OR_RETURN(
          auto rows,
          c.Query("SELECT id FROM " + Table(d) + " WHERE " + Col(f) + " = ? AND id != ?", params));
      if (!rows.empty()) {
        errors.push_back(internal::MakeFieldError(
            f, "「" + internal::DisplayValue(f, v) + "」は既に登録されています。",
            "already registered"));
      }
    }
  }
  if (errors.empty()) {
    // Rules tell a stored record (restore, update) from a new one by its "id".
    if (self_id != 0 && !rec.contains("id")) {
      json with_id = rec;
      with_id["id"] = self_id;
      for (const auto& rule : d.rules) rule(with_id, ctx, errors);
    } else {
      for (const auto& rule : d.rules) rule(rec, ctx, errors);
    }
  }
  return {};
}

json Changes(const RegisterDef& d, const json* before, const json& after) {
  json changes = json::array();
  for (const auto& f : d.fields) {
    const json& to = after[f.name];
    const json from = before ? (*before)[f.name] : json(nullptr);
    if (from == to) continue;
    changes.push_back({{"field", f.name}, {"label", f.label.ja}, {"from", from}, {"to", to}});
  }
  return changes;
}

Status AppendHistory(Connection& c, const RegisterDef& d, int64_t id, int64_t version,
                     std::string_view action, const Actor& actor, const std::string& at,
                     const json& changes, const std::vector<FieldError>& warnings = {}) {
  const Value params[] = {d.key,
                          id,
                          version,
                          std::string(action),
                          actor.id,
                          actor.address,
                          at,
                          changes.dump(),
                          warnings.empty() ? Value() : Value(WarningsToJson(warnings).dump())};
  auto r = c.Exec(
      "INSERT INTO record_history (register, record_id, version, action, actor, address, at, "
      "changes, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      params);
  if (!r.ok()) return std::move(r).error();
  return {};
}

// A record that active records still reference stays active (their references would dangle).
Status CheckNotReferenced(Connection& c, const Registry& reg, const RegisterDef& d, int64_t id) {
  for (const auto& other : reg.all()) {
    for (const auto& f : other.fields) {
      if (f.type != FieldType::kRef || f.ref != d.key) continue;
      const Value params[] = {id};
      MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT count(*) FROM " + Table(other) +
                                                     " WHERE " + Col(f) + " = ? AND archived = 0",
                                                 params));
      const int64_t n = AsInt(rows.at(0).at(0));
      if (n > 0) {
        return Error::Conflict(
            "この記録を参照している有効な記録があるため、アーカイブできません(「" + other.label.ja +
                "」の「" + f.label.ja + "」で " + std::to_string(n) +
                " 件)。先にそれらを変更してください。",
            std::to_string(n) + " active " + other.key + " records reference it");
      }
    }
  }
  return {};
}

Error StaleVersion() {
  return Error::Conflict("他の利用者がこの記録を更新しました。最新の内容を読み込み直してください。",
                         "the record was changed by someone else (stale version)");
}

bool IsConfidential(const RegisterDef& d, const json& rec) {
  if (d.confidential_field.empty()) return false;
  const json& v = rec[d.confidential_field];
  if (!v.is_string()) return false;
  return std::find(d.confidential_values.begin(), d.confidential_values.end(),
                   v.get<std::string>()) != d.confidential_values.end();
}

std::string Target(const RegisterDef& d, int64_t id) { return d.key + "/" + std::to_string(id); }

// Every committed change to a register moves its counter, in the same transaction.
Status BumpGeneration(Connection& c, const RegisterDef& d) {
  const Value params[] = {d.key};
  auto r = c.Exec(
      "INSERT INTO register_state (register, generation) VALUES (?, 1) "
      "ON CONFLICT(register) DO UPDATE SET generation = generation + 1",
      params);
  if (!r.ok()) return std::move(r).error();
  return {};
}

// The counters of `d` and of every register it references, as one cache-key component.
Result<std::string> Generations(Connection& c, const RegisterDef& d) {
  std::vector<Value> keys = {d.key};
  std::string sql = "SELECT register, generation FROM register_state WHERE register IN (?";
  for (const auto& f : d.fields) {
    if (f.type == FieldType::kRef && f.ref != d.key) {
      keys.emplace_back(f.ref);
      sql += ", ?";
    }
  }
  sql += ") ORDER BY register";
  MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query(sql, keys));
  std::string g;
  for (const auto& r : rows) g += AsText(r[0]) + "=" + std::to_string(AsInt(r[1])) + ";";
  return g;
}

// The list index's source for `rec` stored with `search` text and `archived` state.
list_index::Source IndexSource(const RegisterDef& d, const json& rec, std::string search,
                               bool archived) {
  list_index::Source s{std::move(search), archived, {}};
  for (const FieldDef* f : list_index::ConditionFields(d)) {
    s.values.push_back(ToColumn(*f, rec[f->name]));
  }
  return s;
}

// Rows, their history and their list index document change together, in the caller's
// transaction.
Result<int64_t> InsertRecord(Connection& c, const RegisterDef& d, const json& rec,
                             const Actor& actor, const std::string& now) {
  std::string cols = "version, archived, created_at, updated_at, created_by, updated_by, search";
  std::string qs = "1, 0, ?, ?, ?, ?, ?";
  std::string search = SearchText(d, rec);
  std::vector<Value> params = {now, now, actor.id, actor.id, search};
  for (const auto& f : d.fields) {
    cols += ", " + Col(f);
    qs += ", ?";
    params.push_back(ToColumn(f, rec[f.name]));
  }
  MAMORI_TRY(c.Exec("INSERT INTO " + Table(d) + " (" + cols + ") VALUES (" + qs + ")", params));
  const int64_t id = c.LastInsertId();
  MAMORI_TRY(list_index::Add(c, d, id, IndexSource(d, rec, std::move(search), false)));
  return id;
}

Status UpdateRecord(Connection& c, const RegisterDef& d, int64_t id, int64_t version,
                    const json& rec, const Actor& actor, const std::string& now) {
  MAMORI_ASSIGN_OR_RETURN(const list_index::Source before, list_index::ReadSource(c, d, id));
  std::string sets = "version = version + 1, updated_at = ?, updated_by = ?, search = ?";
  std::string search = SearchText(d, rec);
  std::vector<Value> params = {now, actor.id, search};
  for (const auto& f : d.fields) {
    sets += ", " + Col(f) + " = ?";
    params.push_back(ToColumn(f, rec[f.name]));
  }
  params.emplace_back(id);
  params.emplace_back(version);
  MAMORI_ASSIGN_OR_RETURN(
      int64_t n,
      c.Exec("UPDATE " + Table(d) + " SET " + sets + " WHERE id = ? AND version = ?", params));
  if (n != 1) return StaleVersion();
  MAMORI_TRY(list_index::Remove(c, d, id, before));
  return list_index::Add(c, d, id, IndexSource(d, rec, std::move(search), before.archived));
}

Result<json> LoadRecord(Connection& c, const Registry& reg, const RegisterDef& d, int64_t id) {
  const SelectPlan p = PlanSelect(reg, d);
  const Value params[] = {id};
  MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query(p.sql + " WHERE t.id = ?", params));
  if (rows.empty()) {
    return Error::NotFound("記録が見つかりません(ID " + std::to_string(id) + ")。",
                           d.key + " " + std::to_string(id) + " not found");
  }
  return RowToJson(d, p, rows.front());
}

// Need to know reaches references too: the label of a referenced confidential record that the
// actor may not list is withheld ("hidden": true); its key stays, so files still round-trip.
// A RefMask is one reference of a register to a register with need-to-know levels, with the
// actor's list filter there (nullopt: the actor may list none of it).
struct RefMask {
  const FieldDef* field;
  const RegisterDef* target;
  std::optional<RowFilter> filter;
};

std::vector<RefMask> PlanRefMasks(const Registry& reg, const Authorizer& authorizer,
                                  const Actor& actor, const RegisterDef& d) {
  std::vector<RefMask> out;
  for (const auto& f : d.fields) {
    const RegisterDef* t = f.type == FieldType::kRef ? reg.ByKey(f.ref) : nullptr;
    if (t == nullptr || t->confidential_field.empty()) continue;
    auto filter = authorizer.ListFilter(actor, *t);
    out.push_back({&f, t, filter.ok() ? std::optional<RowFilter>(*filter) : std::nullopt});
  }
  return out;
}

// What the masks depend on, for cache keys.
std::string RefMasksKey(const std::vector<RefMask>& masks) {
  std::string key;
  for (const auto& m : masks) {
    key += "\n" + m.field->name + ":" + (m.filter ? m.filter->Key() : "-");
  }
  return key;
}

Status MaskHiddenRefs(Connection& c, const std::vector<RefMask>& masks,
                      const std::vector<json*>& recs) {
  for (const auto& m : masks) {
    if (m.filter && !m.filter->hide_confidential) continue;
    const FieldDef& f = *m.field;
    const RegisterDef& t = *m.target;
    std::set<int64_t> ids;
    for (const json* r : recs) {
      if ((*r)[f.name].is_number_integer()) ids.insert((*r)[f.name].get<int64_t>());
    }
    const auto& units = m.filter ? m.filter->confidential_units : std::vector<int64_t>{};
    const auto& levels = t.confidential_values;
    std::set<int64_t> hidden;
    for (auto it = ids.begin(); it != ids.end();) {
      std::vector<Value> params;
      for (; it != ids.end() && params.size() < 500; ++it) params.emplace_back(*it);
      const std::string in = store::Placeholders(params.size());
      const std::string org = t.org_field.empty() ? "NULL" : "f_" + t.org_field;
      MAMORI_ASSIGN_OR_RETURN(
          auto rows, c.Query("SELECT id, f_" + t.confidential_field + ", " + org + " FROM " +
                                 Table(t) + " WHERE id IN (" + in + ")",
                             params));
      for (const auto& row : rows) {
        if (std::find(levels.begin(), levels.end(), AsText(row[1])) == levels.end()) continue;
        if (!store::IsNull(row[2]) &&
            std::binary_search(units.begin(), units.end(), AsInt(row[2]))) {
          continue;
        }
        hidden.insert(AsInt(row[0]));
      }
    }
    for (json* r : recs) {
      const json& id = (*r)[f.name];
      if (!id.is_number_integer() || !hidden.count(id.get<int64_t>())) continue;
      json& ref = (*r)["_refs"][f.name];
      ref["label"] = "(閲覧できない記録)";
      ref["hidden"] = true;
    }
  }
  return {};
}

// One record as `actor` may see it.
Status MaskHiddenRefs(Connection& c, const Registry& reg, const Authorizer& authorizer,
                      const Actor& actor, const RegisterDef& d, json& rec) {
  return MaskHiddenRefs(c, PlanRefMasks(reg, authorizer, actor, d), {&rec});
}

// Only the field members of a full record, for candidates and diffs.
json FieldsOnly(const RegisterDef& d, const json& rec) {
  json out = json::object();
  for (const auto& f : d.fields) out[f.name] = rec.contains(f.name) ? rec[f.name] : json(nullptr);
  return out;
}

// A new record before any value is given: every field null, or its default.
json NewRecord(const RegisterDef& d) {
  json out = json::object();
  for (const auto& f : d.fields) {
    out[f.name] = f.default_value.empty() ? json(nullptr) : json(f.default_value);
  }
  return out;
}

// Applies an API body onto `candidate`; unknown and reserved members are errors.
void ApplyBody(const RegisterDef& d, const json& body, json& candidate,
               std::vector<FieldError>& errors, bool allow_version) {
  for (const auto& [name, value] : body.items()) {
    if (name == "version" && allow_version) continue;
    if (name == "_refs" || name == "id" || name == "created_at" || name == "updated_at" ||
        name == "created_by" || name == "updated_by" || name == "archived" || name == "version") {
      // Read-only members that clients echo back are ignored, not errors.
      continue;
    }
    const FieldDef* f = d.Field(name);
    if (f == nullptr) {
      errors.push_back({name, name, "不明な項目です。", "unknown field", 0, {}});
      continue;
    }
    json v;
    if (auto e = internal::CoerceApiValue(*f, value, v)) {
      errors.push_back(std::move(*e));
      continue;
    }
    candidate[name] = std::move(v);
  }
}

}  // namespace

namespace internal {

Result<json> LoadRecord(Connection& c, const Registry& reg, const RegisterDef& d, int64_t id) {
  return registers::LoadRecord(c, reg, d, id);
}
Status AppendHistory(Connection& c, const RegisterDef& d, int64_t id, int64_t version,
                     std::string_view action, const Actor& actor, const std::string& at,
                     const json& changes) {
  return registers::AppendHistory(c, d, id, version, action, actor, at, changes);
}
bool IsConfidential(const RegisterDef& d, const json& rec) {
  return registers::IsConfidential(d, rec);
}
std::string Target(const RegisterDef& d, int64_t id) { return registers::Target(d, id); }

}  // namespace internal

// Serialized list answers by query. Entries carry the change counters they were read under;
// an entry whose counters differ from the current snapshot's is never served.
class RegisterService::ListCache {
 public:
  std::optional<std::string> Find(const std::string& key, const std::string& generations) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generations != generations) return std::nullopt;
    return it->second.body;
  }
  void Store(const std::string& key, const std::string& generations, const std::string& body) {
    if (body.size() > kMaxBytes / 16) return;  // very large pages are not worth the memory
    std::lock_guard lock(mu_);
    // A simple budget: when full, start again (a full cache only costs re-reads).
    if (entries_.size() >= kMaxEntries || bytes_ + body.size() > kMaxBytes) {
      entries_.clear();
      bytes_ = 0;
    }
    auto [it, inserted] = entries_.try_emplace(key);
    if (!inserted) bytes_ -= it->second.body.size();
    it->second = Entry{generations, body};
    bytes_ += body.size();
  }

 private:
  static constexpr size_t kMaxEntries = 2048;
  static constexpr size_t kMaxBytes = 64u << 20;
  size_t bytes_ = 0;  // guarded by mu_
  struct Entry {
    std::string generations;
    std::string body;
  };
  std::mutex mu_;  // guards entries_
  std::unordered_map<std::string, Entry> entries_;
};

RegisterService::RegisterService(store::Store& store, const Registry& registry,
                                 const Authorizer& authorizer, AuditSink& audit, const Clock& clock)
    : store_(store),
      audit_(audit),
      cache_(std::make_shared<ListCache>()),
      registry_(registry),
      authorizer_(authorizer),
      clock_(clock) {}

Status CheckStoredColumns(store::Store& store, const Registry& registry) {
  if (store.dialect() != store::Dialect::kSqlite) return {};
  return store.Read([&](Connection& c) -> Status {
    for (const auto& def : registry.all()) {
      MAMORI_ASSIGN_OR_RETURN(auto cols, c.Query("PRAGMA table_info(" + Table(def) + ")"));
      std::map<std::string, std::string> declared;  // column -> declared type
      for (const auto& col : cols) declared[AsText(col[1])] = AsText(col[2]);
      for (const auto& f : def.fields) {
        const bool integer = f.type == FieldType::kInteger || f.type == FieldType::kBoolean ||
                             f.type == FieldType::kRef;
        auto it = declared.find(Col(f));
        if (it == declared.end()) continue;  // a migration adds it
        const bool stored_integer = it->second.rfind("INTEGER", 0) == 0;
        if (integer != stored_integer) {
          return Error::Invalid("台帳「" + def.label.ja + "」の項目 " + f.name + "(" + f.label.ja +
                                    ")の型が、保存済みのデータと合いません(保存: " + it->second +
                                    "、定義: " + FieldTypeName(f.type) +
                                    ")。型を変えるときは新しい項目名で追加し、値を移してください。",
                                "field " + def.key + "." + f.name + " is stored as " + it->second +
                                    " but defined as " + FieldTypeName(f.type));
        }
      }
    }
    return {};
  });
}

Status RefreshSearchText(store::Store& store, const Registry& registry) {
  constexpr const char* kNormalizationVersion = "n1";
  for (const auto& def : registry.all()) {
    std::string signature = kNormalizationVersion;
    for (const auto& f : def.fields) {
      if (f.searchable) signature += "," + f.name;
    }
    signature += ";" + list_index::Signature(def);
    MAMORI_TRY(store.Write([&](Connection& c) -> Status {
      const Value key[] = {def.key};
      MAMORI_ASSIGN_OR_RETURN(
          auto rows,
          c.Query("SELECT search_signature FROM register_state WHERE register = ?", key));
      if (!rows.empty() && AsText(rows[0][0]) == signature) return {};
      const SelectPlan p = PlanSelect(registry, def);
      MAMORI_ASSIGN_OR_RETURN(auto records, c.Query(p.sql));
      for (const auto& r : records) {
        const json rec = RowToJson(def, p, r);
        const Value params[] = {SearchText(def, rec), rec["id"].get<int64_t>()};
        MAMORI_TRY(c.Exec("UPDATE " + Table(def) + " SET search = ? WHERE id = ?", params));
      }
      // The list index is derived from the rows as they are now stored.
      MAMORI_TRY(list_index::Clear(c, def));
      MAMORI_ASSIGN_OR_RETURN(auto sources, c.Query("SELECT id, " + list_index::SourceColumns(def) +
                                                    " FROM " + Table(def)));
      for (const auto& r : sources) {
        MAMORI_TRY(list_index::Add(c, def, AsInt(r[0]), list_index::SourceFromRow(r, 1)));
      }
      const Value state[] = {def.key, signature};
      MAMORI_TRY(c.Exec(
          "INSERT INTO register_state (register, generation, search_signature) VALUES (?, 1, ?) "
          "ON CONFLICT(register) DO UPDATE SET generation = generation + 1, "
          "search_signature = excluded.search_signature",
          state));
      return {};
    }));
  }
  return {};
}

Result<ListQuery> ParseListQuery(const RegisterDef& def, const QueryParams& params,
                                 const std::vector<std::string_view>& also_allowed) {
  ListQuery q;
  std::vector<FieldError> errors;
  std::set<std::string> seen;
  auto bad = [&](const std::string& name, std::string ja, std::string en) {
    errors.push_back({name, name, std::move(ja), std::move(en), 0, {}});
  };
  auto parse_int = [](const std::string& s, int64_t& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  for (const auto& param : params) {
    const std::string& name = param.first;
    const std::string& value = param.second;
    if (std::find(also_allowed.begin(), also_allowed.end(), name) != also_allowed.end()) continue;
    if (!seen.insert(name).second) {
      bad(name, "同じパラメータが複数指定されています。", "parameter given twice");
      continue;
    }
    if (name == "q") {
      if (Utf8Length(value) > 200 || !IsValidUtf8(value)) {
        bad(name, "検索語は 200 文字以内で指定してください。", "at most 200 characters");
      }
      q.q = value;
    } else if (name == "limit") {
      int64_t v = 0;
      if (!parse_int(value, v) || v < 1 || v > 500) {
        bad(name, "1 以上 500 以下の整数で指定してください。", "must be an integer 1..500");
      } else {
        q.limit = static_cast<int>(v);
      }
    } else if (name == "offset") {
      int64_t v = 0;
      if (!parse_int(value, v) || v < 0 || v > 1'000'000'000) {
        bad(name, "0 以上の整数で指定してください。", "must be a non-negative integer");
      } else {
        q.offset = v;
      }
    } else if (name == "sort") {
      std::string_view s = value;
      q.descending = !s.empty() && s.front() == '-';
      if (q.descending) s.remove_prefix(1);
      const FieldDef* f = def.Field(s);
      if (f == nullptr || !f->sortable) {
        bad(name, "並べ替えに使えない項目です: " + value, "not a sortable field: " + value);
      } else {
        q.sort = std::string(s);
      }
    } else if (name == "archived") {
      if (value == "exclude") {
        q.archived = ArchivedFilter::kExclude;
      } else if (value == "include") {
        q.archived = ArchivedFilter::kInclude;
      } else if (value == "only") {
        q.archived = ArchivedFilter::kOnly;
      } else {
        bad(name, "exclude、include、only のいずれかを指定してください。",
            "must be exclude, include or only");
      }
    } else if (const FieldDef* f = def.Field(name); f != nullptr && f->filterable) {
      bool valid = true;
      int64_t iv = 0;
      switch (f->type) {
        case FieldType::kInteger:
        case FieldType::kRef:
          valid = value.empty() || parse_int(value, iv);
          break;
        case FieldType::kBoolean:
          valid = value == "true" || value == "false";
          break;
        case FieldType::kEnum:
          valid =
              value.empty() || std::any_of(f->options.begin(), f->options.end(),
                                           [&](const EnumOption& o) { return o.value == value; });
          break;
        default:
          valid = IsValidUtf8(value) && value.size() <= 1000;
      }
      if (!valid) {
        bad(name, "「" + f->label.ja + "」の絞り込み条件が正しくありません。",
            "invalid filter value");
      } else {
        q.filters.emplace_back(f, value);
      }
    } else {
      bad(name, "不明なパラメータです: " + name, "unknown parameter: " + name);
    }
  }
  if (!errors.empty()) return ValidationError(std::move(errors), false);
  return q;
}

Result<std::string> RegisterService::List(const Actor& actor, const RegisterDef& def,
                                          const ListQuery& q) {
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, nullptr));
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, def));
  std::string out;
  Status st = store_.Read([&](Connection& c) -> Status {
    const ListPlan plan = PlanList(def, q, filter);
    // The cache key is the plan (the actor's row filter is part of the match expression) and
    // the page: equal keys read equal rows.
    std::string key = def.key + "\n" + (plan.none ? "none" : plan.match.value_or("")) + "\n" +
                      plan.archived_where + plan.order + "\n" + std::to_string(q.limit) + "," +
                      std::to_string(q.offset);
    const std::vector<RefMask> masks = PlanRefMasks(registry_, authorizer_, actor, def);
    key += RefMasksKey(masks);
    MAMORI_ASSIGN_OR_RETURN(const std::string generations, Generations(c, def));
    if (auto hit = cache_->Find(key, generations)) {
      out = std::move(*hit);
      return {};
    }
    int64_t total = 0;
    if (plan.match) {
      const std::string fts = list_index::TableName(def);
      const Value params[] = {*plan.match};
      MAMORI_ASSIGN_OR_RETURN(
          auto rows, c.Query("SELECT count(*) FROM " + fts + " WHERE " + fts + " MATCH ?", params));
      total = AsInt(rows.at(0).at(0));
    } else if (!plan.none) {
      MAMORI_ASSIGN_OR_RETURN(
          auto rows, c.Query("SELECT count(*) FROM " + Table(def) + " t" + plan.archived_where));
      total = AsInt(rows.at(0).at(0));
    }
    const SelectPlan p = PlanSelect(registry_, def);
    MAMORI_ASSIGN_OR_RETURN(auto rows, ReadPage(c, def, p, plan, total, q.limit, q.offset));
    json items = json::array();
    for (const auto& row : rows) {
      items.push_back(RowToJson(def, p, row));
      for (const auto& f : def.fields) {
        if (f.detail_only) items.back().erase(f.name);
      }
    }
    std::vector<json*> recs;
    for (auto& item : items) recs.push_back(&item);
    MAMORI_TRY(MaskHiddenRefs(c, masks, recs));
    const json page{
        {"items", std::move(items)}, {"total", total}, {"limit", q.limit}, {"offset", q.offset}};
    out = page.dump(-1, ' ', false, json::error_handler_t::replace);
    cache_->Store(key, generations, out);
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<json> RegisterService::Get(const Actor& actor, const RegisterDef& def, int64_t id) {
  json out;
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(out, LoadRecord(c, registry_, def, id));
    return MaskHiddenRefs(c, registry_, authorizer_, actor, def, out);
  });
  if (!st.ok()) return std::move(st).error();
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, &out));
  if (IsConfidential(def, out)) {
    // Every view of a confidential record is on the audit trail.
    MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
      return audit_.Append(c, actor, "view_confidential", Target(def, out["id"].get<int64_t>()),
                           json::object());
    }));
  }
  return out;
}

Result<int64_t> RegisterService::Count(const Actor& actor, const RegisterDef& def) {
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, nullptr));
  // Only what the caller may list: totals must not reveal hidden records.
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, def));
  int64_t n = 0;
  Status st = store_.Read([&](Connection& c) -> Status {
    std::vector<Value> params;
    const std::string rows_sql = PlanRows(def, PlanList(def, ListQuery{}, filter), params);
    MAMORI_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT count(*) FROM " + Table(def) + rows_sql, params));
    n = AsInt(rows.at(0).at(0));
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return n;
}

Result<std::string> RegisterService::Setting(const std::string& key, const std::string& fallback) {
  std::string out = fallback;
  Status st = store_.Read([&](Connection& c) -> Status {
    const Value params[] = {key};
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT value FROM settings WHERE key = ?", params));
    if (!rows.empty()) out = AsText(rows[0][0]);
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<std::map<std::string, FieldDef>> RegisterService::RenamedFields(const RegisterDef& def) {
  std::map<std::string, FieldDef> out;
  for (const auto& f : def.fields) {
    if (f.labels_setting.empty()) continue;
    MAMORI_ASSIGN_OR_RETURN(const std::string value, Setting(f.labels_setting, ""));
    ApplyLabelSetting(out.emplace(f.name, f).first->second, value);
  }
  return out;
}

Result<json> RegisterService::Create(const Actor& actor, const RegisterDef& def, const json& body) {
  if (!body.is_object()) {
    return Error::Invalid("JSON オブジェクトを送ってください。", "body must be a JSON object");
  }
  // May the actor create records here at all; then, once the record is complete, this one
  // (a scoped grant covers only records of its organization units).
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kCreate, nullptr));
  json candidate = NewRecord(def);
  std::vector<FieldError> errors;
  ApplyBody(def, body, candidate, errors, /*allow_version=*/false);
  if (!errors.empty()) return ValidationError(std::move(errors), false);
  json out;
  Status st = store_.Write([&](Connection& c) -> Status {
    Complete(c, registry_, authorizer_, Today(clock_), def, actor, candidate);
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kCreate, &candidate));
    std::vector<FieldError> warnings;
    MAMORI_TRY(CheckRecord(c, registry_, authorizer_, Today(clock_), def, actor, candidate, 0,
                           errors, &warnings));
    if (!errors.empty()) return ValidationError(std::move(errors), false);
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_ASSIGN_OR_RETURN(int64_t id, InsertRecord(c, def, candidate, actor, now));
    const json changes = Changes(def, nullptr, candidate);
    MAMORI_TRY(AppendHistory(c, def, id, 1, "create", actor, now, changes, warnings));
    MAMORI_TRY(audit_.Append(c, actor, "create", Target(def, id), AuditDetail(changes, warnings)));
    MAMORI_TRY(BumpGeneration(c, def));
    MAMORI_ASSIGN_OR_RETURN(out, LoadRecord(c, registry_, def, id));
    MAMORI_TRY(MaskHiddenRefs(c, registry_, authorizer_, actor, def, out));
    if (!warnings.empty()) out["warnings"] = WarningsToJson(warnings);
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<json> RegisterService::Update(const Actor& actor, const RegisterDef& def, int64_t id,
                                     int64_t version, const json& body) {
  if (!body.is_object()) {
    return Error::Invalid("JSON オブジェクトを送ってください。", "body must be a JSON object");
  }
  json out;
  Status st = store_.Write([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json current, LoadRecord(c, registry_, def, id));
    // A record the caller may not see (need to know) is not found, whatever else they may do.
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, &current));
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kUpdate, &current));
    if (current["version"] != version) return StaleVersion();
    if (current["archived"] == true) {
      return Error::Conflict("アーカイブ済みの記録は更新できません。先に復元してください。",
                             "archived records cannot be updated");
    }
    if (def.immutable) {
      return Error::Invalid("「" + def.label.ja +
                                "」の記録は後から変えられません。誤りがあるときは、アーカイブして"
                                "登録し直してください。",
                            "records of " + def.key + " cannot be changed once made");
    }
    const json before = FieldsOnly(def, current);
    json candidate = before;
    candidate["id"] = id;  // rules may look at the record's relations
    std::vector<FieldError> errors, warnings;
    ApplyBody(def, body, candidate, errors, /*allow_version=*/true);
    if (errors.empty() && !def.update_completers.empty()) {
      TxContext ctx(c, registry_, authorizer_, actor, Today(clock_));
      for (const auto& complete : def.update_completers) complete(candidate, ctx);
    }
    // The changed record must stay within the caller's scope (no moving it to another section).
    if (errors.empty()) MAMORI_TRY(authorizer_.Check(actor, def, Action::kUpdate, &candidate));
    if (errors.empty()) {
      MAMORI_TRY(CheckRecord(c, registry_, authorizer_, Today(clock_), def, actor, candidate, id,
                             errors, &warnings));
    }
    if (!errors.empty()) return ValidationError(std::move(errors), false);
    json changes = Changes(def, &before, candidate);
    if (changes.empty()) {
      out = std::move(current);
      return MaskHiddenRefs(c, registry_, authorizer_, actor, def, out);
    }
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_TRY(UpdateRecord(c, def, id, version, candidate, actor, now));
    MAMORI_TRY(AppendHistory(c, def, id, version + 1, "update", actor, now, changes, warnings));
    MAMORI_TRY(audit_.Append(c, actor, "update", Target(def, id), AuditDetail(changes, warnings)));
    MAMORI_TRY(BumpGeneration(c, def));
    MAMORI_ASSIGN_OR_RETURN(out, LoadRecord(c, registry_, def, id));
    MAMORI_TRY(MaskHiddenRefs(c, registry_, authorizer_, actor, def, out));
    if (!warnings.empty()) out["warnings"] = WarningsToJson(warnings);
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<json> RegisterService::SetArchived(const Actor& actor, const RegisterDef& def, int64_t id,
                                          int64_t version, bool archived) {
  json out;
  Status st = store_.Write([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json current, LoadRecord(c, registry_, def, id));
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, &current));
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kArchive, &current));
    if (current["version"] != version) return StaleVersion();
    if (current["archived"] == archived) {
      out = std::move(current);
      return {};
    }
    if (archived) MAMORI_TRY(CheckNotReferenced(c, registry_, def, id));
    if (!archived) {
      // A restored record must still satisfy the rules (its parent may be archived now).
      std::vector<FieldError> errors;
      MAMORI_TRY(CheckRecord(c, registry_, authorizer_, Today(clock_), def, actor,
                             FieldsOnly(def, current), id, errors));
      if (!errors.empty()) return ValidationError(std::move(errors), false);
    }
    const std::string now = FormatIso8601(clock_.Now());
    MAMORI_ASSIGN_OR_RETURN(list_index::Source indexed, list_index::ReadSource(c, def, id));
    const Value params[] = {int64_t{archived ? 1 : 0}, now, actor.id, id, version};
    MAMORI_ASSIGN_OR_RETURN(int64_t n,
                            c.Exec("UPDATE " + Table(def) +
                                       " SET archived = ?, version = version + 1, updated_at = ?, "
                                       "updated_by = ? WHERE id = ? AND version = ?",
                                   params));
    if (n != 1) return StaleVersion();
    MAMORI_TRY(list_index::Remove(c, def, id, indexed));
    indexed.archived = archived;
    MAMORI_TRY(list_index::Add(c, def, id, indexed));
    const json changes = json::array(
        {{{"field", "archived"}, {"label", "アーカイブ"}, {"from", !archived}, {"to", archived}}});
    MAMORI_TRY(AppendHistory(c, def, id, version + 1, archived ? "archive" : "restore", actor, now,
                             changes));
    MAMORI_TRY(
        audit_.Append(c, actor, archived ? "archive" : "restore", Target(def, id), json::object()));
    MAMORI_TRY(BumpGeneration(c, def));
    MAMORI_ASSIGN_OR_RETURN(out, LoadRecord(c, registry_, def, id));
    return MaskHiddenRefs(c, registry_, authorizer_, actor, def, out);
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<json> RegisterService::History(const Actor& actor, const RegisterDef& def, int64_t id) {
  json out;
  Status st = store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(json current, LoadRecord(c, registry_, def, id));
    MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, &current));
    const Value params[] = {def.key, id};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT version, action, actor, at, changes, warnings FROM record_history "
                "WHERE register = ? AND record_id = ? ORDER BY id DESC",
                params));
    json items = json::array();
    for (const auto& r : rows) {
      json item{{"version", AsInt(r[0])},
                {"action", AsText(r[1])},
                {"actor", AsText(r[2])},
                {"at", AsText(r[3])},
                {"changes", json::parse(AsText(r[4]), nullptr, false)}};
      if (std::holds_alternative<std::string>(r[5])) {
        item["warnings"] = json::parse(AsText(r[5]), nullptr, false);
      }
      items.push_back(std::move(item));
    }
    out = {{"items", std::move(items)}};
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<ExportFile> RegisterService::Export(const Actor& actor, const RegisterDef& def,
                                           const ListQuery& q, FileFormat format) {
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kExport, nullptr));
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, def));
  // Options the body renamed appear under their new names.
  MAMORI_ASSIGN_OR_RETURN(const auto renamed, RenamedFields(def));
  std::vector<tabular::Row> rows;
  Status st = store_.Read([&](Connection& c) -> Status {
    const ListPlan plan = PlanList(def, q, filter);
    const SelectPlan p = PlanSelect(registry_, def);
    std::vector<Row> data;
    if (plan.match) {
      const Value params[] = {*plan.match};
      MAMORI_ASSIGN_OR_RETURN(
          data, c.Query(p.sql + " WHERE t.id IN (" + MatchingIds(def) + ")" + plan.order, params,
                        kMaxExportRows));
    } else if (!plan.none) {
      MAMORI_ASSIGN_OR_RETURN(
          data, c.Query(p.sql + plan.archived_where + plan.order, {}, kMaxExportRows));
    }
    tabular::Row header;
    for (const auto& f : def.fields) {
      if (!f.detail_only) header.push_back(f.label.ja);
    }
    rows.push_back(std::move(header));
    for (const auto& r : data) {
      const json rec = RowToJson(def, p, r);
      tabular::Row out;
      for (const auto& f : def.fields) {
        if (f.detail_only) continue;
        if (f.type == FieldType::kRef) {
          const json& ref = rec["_refs"].contains(f.name) ? rec["_refs"][f.name] : json();
          out.push_back(ref.is_object() ? ref["key"].get<std::string>() : "");
        } else {
          auto n = renamed.find(f.name);
          out.push_back(internal::DisplayValue(n == renamed.end() ? f : n->second, rec[f.name]));
        }
      }
      rows.push_back(std::move(out));
    }
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  MAMORI_TRY(store_.Write([&](Connection& c) -> Status {
    return audit_.Append(c, actor, "export", def.key,
                         {{"format", format == FileFormat::kCsv ? "csv" : "xlsx"},
                          {"rows", rows.size() - 1},
                          {"q", q.q}});
  }));
  const std::string day = FormatIso8601(clock_.Now()).substr(0, 10);
  std::string stamp;
  for (char ch : day) {
    if (ch != '-') stamp += ch;
  }
  if (format == FileFormat::kCsv) {
    return ExportFile{tabular::WriteCsv(rows), "text/csv; charset=utf-8",
                      def.key + "-" + stamp + ".csv"};
  }
  MAMORI_ASSIGN_OR_RETURN(std::string bytes, tabular::WriteXlsx(rows, def.label.ja));
  return ExportFile{std::move(bytes),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    def.key + "-" + stamp + ".xlsx"};
}

Result<ImportSummary> RegisterService::Import(const Actor& actor, const RegisterDef& def,
                                              std::string_view bytes, FileFormat format,
                                              ImportMode mode, bool dry_run) {
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kImport, nullptr));
  tabular::Sheet sheet;
  {
    auto parsed = format == FileFormat::kCsv ? tabular::ReadCsv(bytes) : tabular::ReadXlsx(bytes);
    if (!parsed.ok()) return std::move(parsed).error();
    sheet = std::move(parsed).value();
  }
  if (sheet.rows.empty()) {
    return Error::Invalid("ファイルが空です(見出し行がありません)。", "the file is empty");
  }
  std::vector<FieldError> errors;
  auto file_error = [&](size_t row, std::string column, const FieldDef* f, std::string ja,
                        std::string en) {
    if (errors.size() >= kMaxReportedErrors) return;
    errors.push_back({f ? f->name : "", f ? f->label.ja : "", std::move(ja), std::move(en),
                      static_cast<int>(row), std::move(column)});
  };

  // Map header cells to fields: Japanese label, English label or field name, in any order.
  const auto& header = sheet.rows[0];
  const size_t header_row = sheet.source_rows.empty() ? 1 : sheet.source_rows[0];
  std::vector<const FieldDef*> column_field(header.size(), nullptr);
  std::map<std::string, size_t> field_column;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string h(TrimSpace(header[i]));
    if (h.empty()) continue;
    const FieldDef* match = nullptr;
    for (const auto& f : def.fields) {
      if (h == f.label.ja || internal::ToLowerAscii(h) == internal::ToLowerAscii(f.label.en) ||
          h == f.name ||
          std::find(f.header_aliases.begin(), f.header_aliases.end(), h) != f.header_aliases.end())
        match = &f;
    }
    if (match == nullptr) {
      file_error(header_row, h, nullptr, "不明な列です: 「" + h + "」", "unknown column: " + h);
      continue;
    }
    if (field_column.count(match->name)) {
      file_error(header_row, h, match, "同じ項目の列が複数あります。", "duplicate column");
      continue;
    }
    column_field[i] = match;
    field_column[match->name] = i;
  }
  // Registers without a natural key can only be added to.
  const FieldDef* key_field = def.key_field.empty() ? nullptr : def.Field(def.key_field);
  if (key_field == nullptr && mode == ImportMode::kUpsert) {
    return Error::Invalid("この台帳には照合に使うキーがないため、更新の取り込みはできません。",
                          "this register has no key field; only insert imports are possible");
  }
  if (key_field != nullptr && !field_column.count(key_field->name) &&
      (mode == ImportMode::kUpsert || !key_field->generated)) {
    file_error(header_row, key_field->label.ja, key_field,
               "キーの列「" + key_field->label.ja + "」がありません。", "missing key column");
  }
  if (mode == ImportMode::kInsert) {
    for (const auto& f : def.fields) {
      if (f.required && !f.generated && f.default_value.empty() && !field_column.count(f.name)) {
        file_error(header_row, f.label.ja, &f, "必須の列「" + f.label.ja + "」がありません。",
                   "missing required column " + f.name);
      }
    }
  }
  if (!errors.empty()) return ValidationError(std::move(errors), true);

  // References between rows of the same file (e.g. 関連システム naming a later row's 管理番号):
  // a row is written after the rows it references, whatever their order in the file. Errors
  // still name the rows as numbered in the file (source_rows moves with its row).
  if (key_field != nullptr && field_column.count(key_field->name)) {
    std::vector<size_t> self_refs;
    for (const auto& [name, col] : field_column) {
      const FieldDef* f = def.Field(name);
      if (f->type == FieldType::kRef && f->ref == def.key) self_refs.push_back(col);
    }
    if (!self_refs.empty()) {
      const size_t key_col = field_column[key_field->name];
      const size_t n = sheet.rows.size();
      std::map<std::string, size_t> row_of_key;  // trimmed key text -> row index
      for (size_t r = 1; r < n; ++r) {
        if (key_col < sheet.rows[r].size()) {
          row_of_key.emplace(std::string(TrimSpace(sheet.rows[r][key_col])), r);
        }
      }
      // Depth-first, with an explicit stack (a file may chain 100,000 rows): each row after the
      // rows it references; a cycle keeps the file's order.
      std::vector<int> state(n, 0);  // 0 new, 1 in progress, 2 placed
      std::vector<size_t> order;
      order.reserve(n);
      std::vector<std::pair<size_t, size_t>> stack;  // row, next self-ref column to look at
      for (size_t start = 1; start < n; ++start) {
        if (state[start] != 0) continue;
        state[start] = 1;
        stack.emplace_back(start, 0);
        while (!stack.empty()) {
          auto& [r, next] = stack.back();
          if (next < self_refs.size()) {
            const size_t col = self_refs[next++];
            if (col >= sheet.rows[r].size()) continue;
            auto it = row_of_key.find(std::string(TrimSpace(sheet.rows[r][col])));
            if (it != row_of_key.end() && state[it->second] == 0) {
              state[it->second] = 1;
              stack.emplace_back(it->second, 0);
            }
            continue;
          }
          state[r] = 2;
          order.push_back(r);
          stack.pop_back();
        }
      }
      // Rows 1.. are rearranged in place: row 0 (the header, referenced above) stays put.
      std::vector<tabular::Row> body;
      std::vector<size_t> source_rows(n);
      body.reserve(n - 1);
      source_rows[0] = sheet.source_rows.empty() ? 1 : sheet.source_rows[0];
      for (size_t i = 0; i < order.size(); ++i) {
        const size_t r = order[i];
        body.push_back(std::move(sheet.rows[r]));
        source_rows[i + 1] = r < sheet.source_rows.size() ? sheet.source_rows[r] : r + 1;
      }
      for (size_t i = 0; i < body.size(); ++i) sheet.rows[i + 1] = std::move(body[i]);
      sheet.source_rows = std::move(source_rows);
    }
  }

  ImportSummary summary;
  summary.dry_run = dry_run;
  Status st = store_.Write(
      [&](Connection& c) -> Status {
        const std::string now = FormatIso8601(clock_.Now());
        std::map<std::string, size_t> keys_seen;  // key value -> first row
        for (size_t r = 1; r < sheet.rows.size(); ++r) {
          const auto& cells = sheet.rows[r];
          const size_t row_no = r < sheet.source_rows.size() ? sheet.source_rows[r] : r + 1;
          std::set<std::string> bad_cells;  // fields whose cell could not be read
          json provided = json::object();
          for (size_t i = 0; i < cells.size() && i < column_field.size(); ++i) {
            const FieldDef* f = column_field[i];
            if (f == nullptr) continue;
            json v;
            if (auto e = internal::CoerceCell(*f, cells[i], v)) {
              file_error(row_no, header[i], f, e->message, e->message_en);
              bad_cells.insert(f->name);
              continue;
            }
            if (f->type == FieldType::kRef && !v.is_null()) {
              // References in files name the target's key (e.g. 組織コード), or its title
              // (e.g. 総務課) when exactly one active record has that title; never its id.
              const RegisterDef* target = registry_.ByKey(f->ref);
              const Value params[] = {v.get<std::string>()};
              MAMORI_ASSIGN_OR_RETURN(
                  auto rows,
                  c.Query("SELECT id FROM " + Table(*target) + " WHERE " +
                              Col(*target->Field(target->key_field)) + " = ? AND archived = 0",
                          params));
              if (rows.empty() && target->title_field != target->key_field) {
                MAMORI_ASSIGN_OR_RETURN(rows,
                                        c.Query("SELECT id FROM " + Table(*target) + " WHERE " +
                                                    Col(*target->Field(target->title_field)) +
                                                    " = ? AND archived = 0 LIMIT 2",
                                                params));
                if (rows.size() > 1) {
                  file_error(row_no, header[i], f,
                             "「" + v.get<std::string>() + "」は「" + target->label.ja +
                                 "」に複数あります。" + target->Field(target->key_field)->label.ja +
                                 "で指定してください。",
                             "ambiguous " + target->key + " title " + v.get<std::string>());
                  bad_cells.insert(f->name);
                  continue;
                }
              }
              if (rows.empty()) {
                file_error(row_no, header[i], f,
                           "「" + v.get<std::string>() + "」は「" + target->label.ja +
                               "」に見つかりません("
                               "同じファイルの前の行で登録するか、先に登録してください)。",
                           "no " + target->key + " with key " + v.get<std::string>());
                bad_cells.insert(f->name);
                continue;
              }
              v = AsInt(rows[0][0]);
            }
            provided[f->name] = std::move(v);
          }
          const json key = key_field != nullptr && provided.contains(key_field->name)
                               ? provided[key_field->name]
                               : json(nullptr);
          // A blank generated key (e.g. 管理番号) gets its value from the completers: a new record.
          // In an update import (upsert) every row names its record: a blank key is an error
          // there, not a new record.
          const bool generate_key = key_field != nullptr && key.is_null() && key_field->generated &&
                                    mode == ImportMode::kInsert &&
                                    !bad_cells.count(key_field->name);
          if (key_field != nullptr && !generate_key) {
            if (key.is_null()) {
              if (bad_cells.count(key_field->name)) continue;
              file_error(row_no, header[field_column[key_field->name]], key_field, "必須です。",
                         "is required");
              continue;
            }
            const std::string key_text = internal::DisplayValue(*key_field, key);
            if (auto [it, inserted] = keys_seen.emplace(key_text, row_no); !inserted) {
              file_error(row_no, header[field_column[key_field->name]], key_field,
                         "ファイル内で重複しています(" + std::to_string(it->second) + " 行目)。",
                         "duplicate key in file (row " + std::to_string(it->second) + ")");
              continue;
            }
          }
          // Existing record with this key (upsert), or a new one.
          std::optional<json> existing;
          if (mode == ImportMode::kUpsert && !generate_key) {
            const Value params[] = {ToColumn(*key_field, key)};
            MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id FROM " + Table(def) + " WHERE " +
                                                           Col(*key_field) + " = ?",
                                                       params));
            if (!rows.empty()) {
              MAMORI_ASSIGN_OR_RETURN(existing, LoadRecord(c, registry_, def, AsInt(rows[0][0])));
            }
          }
          json before = existing ? FieldsOnly(def, *existing) : json();
          json candidate = existing ? before : NewRecord(def);
          for (auto& [name, v] : provided.items()) candidate[name] = v;
          // Blank cells get derived values as on create (e.g. the default 管理者), so importing
          // an unchanged file again changes nothing.
          Complete(c, registry_, authorizer_, Today(clock_), def, actor, candidate);
          std::vector<FieldError> row_errors;
          const int64_t self_id = existing ? (*existing)["id"].get<int64_t>() : 0;
          if (existing && (*existing)["archived"] == true) {
            file_error(row_no, header[field_column[key_field->name]], key_field,
                       "アーカイブ済みの記録です。先に復元してください。", "record is archived");
            continue;
          }
          // Row by row, the actor must be allowed this change on this record (scoped roles):
          // see the existing record (need to know), update it, and keep the result in scope.
          Status allowed =
              existing ? authorizer_.Check(actor, def, Action::kView, &*existing) : Status{};
          if (allowed.ok() && existing) {
            allowed = authorizer_.Check(actor, def, Action::kUpdate, &*existing);
          }
          if (allowed.ok()) {
            allowed = authorizer_.Check(actor, def, existing ? Action::kUpdate : Action::kCreate,
                                        &candidate);
          }
          if (!allowed.ok()) {
            file_error(row_no, "", nullptr, allowed.error().message, allowed.error().message_en);
            continue;
          }
          std::vector<FieldError> row_warnings;
          MAMORI_TRY(CheckRecord(c, registry_, authorizer_, Today(clock_), def, actor, candidate,
                                 self_id, row_errors, &row_warnings));
          for (auto& w : row_warnings) {
            w.row = static_cast<int>(row_no);
            auto col = field_column.find(w.field);
            w.column = col != field_column.end() ? header[col->second] : w.label;
            if (summary.warnings.size() < kMaxReportedErrors) summary.warnings.push_back(w);
          }
          if (!row_errors.empty() || !bad_cells.empty()) {
            for (auto& e : row_errors) {
              if (bad_cells.count(e.field)) continue;  // already reported for its cell
              auto col = field_column.find(e.field);
              file_error(row_no, col != field_column.end() ? header[col->second] : e.label,
                         def.Field(e.field), e.message, e.message_en);
            }
            continue;
          }
          // Rows after an error are still written (and rolled back at the end) so that later
          // rows are checked against the same picture the whole file would give.
          if (existing) {
            json changes = Changes(def, &before, candidate);
            if (changes.empty()) {  // an unchanged row
              ++summary.unchanged;
              continue;
            }
            const int64_t v = (*existing)["version"].get<int64_t>();
            MAMORI_TRY(UpdateRecord(c, def, self_id, v, candidate, actor, now));
            MAMORI_TRY(
                AppendHistory(c, def, self_id, v + 1, "import", actor, now, changes, row_warnings));
            ++summary.updated;
          } else {
            MAMORI_ASSIGN_OR_RETURN(int64_t id, InsertRecord(c, def, candidate, actor, now));
            const json changes = Changes(def, nullptr, candidate);
            MAMORI_TRY(AppendHistory(c, def, id, 1, "import", actor, now, changes, row_warnings));
            ++summary.created;
          }
        }
        if (!errors.empty()) return ValidationError(std::move(errors), true);
        if (summary.created + summary.updated > 0) {
          MAMORI_TRY(BumpGeneration(c, def));
          // One audit entry per import: what was imported (the file's SHA-256) and what it
          // did; each record's changes are in its history ("import" entries).
          MAMORI_TRY(audit_.Append(c, actor, "import", def.key,
                                   {{"file_sha256", Sha256Hex(bytes)},
                                    {"format", format == FileFormat::kCsv ? "csv" : "xlsx"},
                                    {"mode", mode == ImportMode::kUpsert ? "upsert" : "insert"},
                                    {"created", summary.created},
                                    {"updated", summary.updated},
                                    {"unchanged", summary.unchanged},
                                    {"warnings", summary.warnings.size()}}));
        }
        return {};
      },
      dry_run ? store::Store::Commit::kNo : store::Store::Commit::kYes);
  if (!st.ok()) return std::move(st).error();
  return summary;
}

namespace {

// The enum fields, register by register, whose options follow setting `key`.
std::vector<std::pair<const RegisterDef*, const FieldDef*>> FieldsFollowing(
    const Registry& reg, const std::string& key) {
  std::vector<std::pair<const RegisterDef*, const FieldDef*>> out;
  for (const auto& d : reg.all()) {
    for (const auto& f : d.fields) {
      if (f.options_setting == key) out.emplace_back(&d, &f);
    }
  }
  return out;
}

bool Tagged(const FieldDef& f, const std::string& value, const std::string& tag) {
  for (const auto& o : f.options) {
    if (o.value == value) return std::find(o.tags.begin(), o.tags.end(), tag) != o.tags.end();
  }
  return false;
}

}  // namespace

Result<json> RegisterService::SettingUsage(const std::string& key) {
  const auto fields = FieldsFollowing(registry_, key);
  if (fields.empty()) {
    return Error::NotFound("その設定はありません: " + key, "no such setting " + key);
  }
  json out{{"records", 0}, {"fields", json::object()}};
  Status st = store_.Read([&](Connection& c) -> Status {
    std::set<const RegisterDef*> counted;
    for (const auto& [d, f] : fields) {
      if (counted.insert(d).second) {
        MAMORI_ASSIGN_OR_RETURN(auto n, c.Query("SELECT count(*) FROM " + Table(*d)));
        out["records"] = out["records"].get<int64_t>() + AsInt(n.at(0).at(0));
      }
      MAMORI_ASSIGN_OR_RETURN(
          auto rows, c.Query("SELECT " + Col(*f) + ", count(*) FROM " + Table(*d) + " WHERE " +
                             Col(*f) + " IS NOT NULL GROUP BY 1"));
      json counts = json::object();
      for (const auto& r : rows) counts[AsText(r[0])] = AsInt(r[1]);
      out["fields"][f->name] = std::move(counts);
    }
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

Result<json> RegisterService::ChangeSetting(const Actor& actor, const std::string& key,
                                            const std::string& value, const Remap& remap) {
  const auto fields = FieldsFollowing(registry_, key);
  if (fields.empty()) {
    return Error::NotFound("その設定はありません: " + key, "no such setting " + key);
  }
  bool known = false;
  for (const auto& [d, f] : fields) {
    for (const auto& o : f->options) {
      known = known || std::find(o.tags.begin(), o.tags.end(), value) != o.tags.end();
    }
  }
  if (!known) {
    return Error::Invalid("設定できない値です: " + value, "unknown value " + value + " for " + key,
                          {{"value", "設定値", "設定できない値です。", "unknown value", 0, {}}});
  }
  std::vector<FieldError> errors;
  for (const auto& [field, map] : remap) {
    for (const auto& [from, to] : map) {
      const FieldDef* f = nullptr;
      for (const auto& [d, ff] : fields) {
        if (ff->name == field) f = ff;
      }
      if (f == nullptr || !Tagged(*f, to, value)) {
        errors.push_back({field,
                          f ? f->label.ja : field,
                          "「" + from + "」の移行先「" + to + "」は新しい設定で使えない値です。",
                          "target " + to + " is not valid under " + value,
                          0,
                          {}});
      }
    }
  }
  if (!errors.empty()) return ValidationError(std::move(errors), false);
  std::vector<const RegisterDef*> registers;
  for (const auto& [d, f] : fields) {
    if (std::find(registers.begin(), registers.end(), d) == registers.end()) {
      registers.push_back(d);
    }
  }
  // Each field's value goes through the remap; a value in use without a target is an error.
  auto remap_record = [&](const RegisterDef& d, int64_t id, json& after,
                          std::vector<FieldError>& out) {
    for (const auto& [dd, f] : fields) {
      if (dd != &d || !after[f->name].is_string()) continue;
      const std::string v = after[f->name].get<std::string>();
      auto m = remap.find(f->name);
      if (m != remap.end() && m->second.count(v)) {
        after[f->name] = m->second.at(v);
      } else if (!Tagged(*f, v, value)) {
        out.push_back({f->name,
                       f->label.ja,
                       "「" + v + "」の移行先が指定されていません(" + d.label.ja + " ID " +
                           std::to_string(id) + ")。",
                       "no target for " + v,
                       0,
                       {}});
      }
    }
  };
  json mapping = json::object();
  for (const auto& [field, map] : remap) mapping[field] = map;
  return RewriteUnderSetting(actor, key, value, fields.front().second->options_setting_default,
                             registers, remap_record, {{"mapping", mapping}}, std::nullopt);
}

Result<json> RegisterService::ChangeDerivedSetting(const Actor& actor, const std::string& key,
                                                   const std::string& value,
                                                   const std::vector<const RegisterDef*>& registers,
                                                   const std::string& expected) {
  return RewriteUnderSetting(actor, key, value, "", registers, nullptr, json::object(), expected);
}

Result<json> RegisterService::RewriteUnderSetting(const Actor& actor, const std::string& key,
                                                  const std::string& value,
                                                  const std::string& fallback,
                                                  const std::vector<const RegisterDef*>& registers,
                                                  const RecordRemap& remap_record,
                                                  const json& audit_detail,
                                                  const std::optional<std::string>& expected) {
  std::vector<FieldError> errors;
  json summary{{"setting", key}, {"value", value}, {"changed", 0}};
  Status st = store_.Write([&](Connection& c) -> Status {
    const std::string now = FormatIso8601(clock_.Now());
    const Value get[] = {key};
    MAMORI_ASSIGN_OR_RETURN(auto old_rows,
                            c.Query("SELECT value FROM settings WHERE key = ?", get));
    const std::string old_value = old_rows.empty() ? fallback : AsText(old_rows[0][0]);
    if (expected && old_value != *expected) {
      return Error::Conflict("ほかの人が先に設定を変えました。画面を読み込み直してください。",
                             "the setting was changed meanwhile");
    }
    summary["from"] = old_value;
    // The new value first, so that the records below are checked under it.
    const Value set[] = {key, value, now, actor.id};
    MAMORI_TRY(c.Exec(
        "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        set));
    int64_t changed = 0;
    for (const RegisterDef* d : registers) {
      int64_t changed_here = 0;
      // Every record, archived ones too: a restored record must hold valid levels.
      MAMORI_ASSIGN_OR_RETURN(auto ids, c.Query("SELECT id FROM " + Table(*d) + " ORDER BY id"));
      for (const auto& idrow : ids) {
        const int64_t id = AsInt(idrow[0]);
        MAMORI_ASSIGN_OR_RETURN(json current, LoadRecord(c, registry_, *d, id));
        const json before = FieldsOnly(*d, current);
        json after = before;
        if (remap_record) remap_record(*d, id, after, errors);
        if (errors.size() >= kMaxReportedErrors) return ValidationError(std::move(errors), false);
        // Values derived from the remapped fields follow them (a risk's score and level under
        // the new matrix or thresholds).
        if (errors.empty() && current["archived"] != true && !d->update_completers.empty()) {
          json candidate = after;
          candidate["id"] = id;
          TxContext ctx(c, registry_, authorizer_, actor, Today(clock_));
          for (const auto& complete : d->update_completers) complete(candidate, ctx);
          candidate.erase("id");
          after = std::move(candidate);
        }
        const json changes = Changes(*d, &before, after);
        if (changes.empty() || !errors.empty()) continue;
        // An archived record is checked again when it is restored.
        if (current["archived"] == true) {
          const int64_t version = current["version"].get<int64_t>();
          MAMORI_TRY(UpdateRecord(c, *d, id, version, after, actor, now));
          MAMORI_TRY(AppendHistory(c, *d, id, version + 1, "reclassify", actor, now, changes));
          ++changed_here;
          continue;
        }
        // The rewritten record must satisfy the register's rules under the new setting
        // (e.g. 特定個人情報 never at 機密性1): an error stops the whole change.
        std::vector<FieldError> record_errors, warnings;
        json candidate = after;
        candidate["id"] = id;
        MAMORI_TRY(CheckRecord(c, registry_, authorizer_, Today(clock_), *d, actor, candidate, id,
                               record_errors, &warnings));
        for (auto& e : record_errors) {
          const std::string title = current[d->title_field].is_string()
                                        ? current[d->title_field].get<std::string>()
                                        : std::to_string(id);
          e.message = "「" + title + "」: " + e.message;
          errors.push_back(std::move(e));
        }
        if (!errors.empty()) continue;
        const int64_t version = current["version"].get<int64_t>();
        MAMORI_TRY(UpdateRecord(c, *d, id, version, after, actor, now));
        MAMORI_TRY(
            AppendHistory(c, *d, id, version + 1, "reclassify", actor, now, changes, warnings));
        ++changed_here;
      }
      if (changed_here > 0) MAMORI_TRY(BumpGeneration(c, *d));
      changed += changed_here;
    }
    if (!errors.empty()) return ValidationError(std::move(errors), false);
    summary["changed"] = changed;
    json detail = {{"from", old_value}, {"to", value}, {"records_changed", changed}};
    detail.update(audit_detail);
    MAMORI_TRY(audit_.Append(c, actor, "setting_change", "settings/" + key, detail));
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return summary;
}

Result<json> RegisterService::Counts(const Actor& actor, const RegisterDef& def, const ListQuery& q,
                                     const std::vector<const FieldDef*>& by) {
  MAMORI_TRY(authorizer_.Check(actor, def, Action::kView, nullptr));
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, def));
  json out{{"by", json::array()}, {"cells", json::array()}, {"total", 0}};
  std::string cols;
  for (const FieldDef* f : by) {
    cols += (cols.empty() ? "t." : ", t.") + Col(*f);
    out["by"].push_back(f->name);
  }
  Status st = store_.Read([&](Connection& c) -> Status {
    std::vector<Value> params;
    const std::string rows_sql = PlanRows(def, PlanList(def, q, filter), params);
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT " + cols + ", count(*) FROM " + Table(def) +
                                                   rows_sql + " GROUP BY " + cols,
                                               params));
    int64_t total = 0;
    for (const auto& r : rows) {
      json values = json::array();
      for (size_t i = 0; i < by.size(); ++i) {
        if (std::holds_alternative<std::monostate>(r[i])) {
          values.push_back(nullptr);
        } else if (by[i]->type == FieldType::kBoolean) {
          values.push_back(AsInt(r[i]) != 0);
        } else {
          values.push_back(AsText(r[i]));
        }
      }
      const int64_t n = AsInt(r[by.size()]);
      total += n;
      out["cells"].push_back({{"values", std::move(values)}, {"count", n}});
    }
    out["total"] = total;
    return {};
  });
  if (!st.ok()) return std::move(st).error();
  return out;
}

}  // namespace mamori::registers
