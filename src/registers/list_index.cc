#include "registers/list_index.h"

#include <algorithm>
#include <cstdio>

#include "common/text.h"

namespace mamori::registers::list_index {

using store::Connection;
using store::Row;
using store::Value;

namespace {

// Bump when the documents' derivation changes: existing indexes are then rebuilt at start-up.
constexpr const char* kFormat = "i1";

// A code point as 4 base-36 digits (36^4 > U+10FFFF): fixed width, so that a 1-character
// term's token is a prefix of exactly the bigrams that start with it.
void Spell(char32_t cp, char (&out)[4]) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (int i = 3; i >= 0; --i) {
    out[i] = kDigits[cp % 36];
    cp /= 36;
  }
}

void AppendCodePoint(std::string& out, char32_t cp) {
  char spelled[4];
  Spell(cp, spelled);
  out.append(spelled, 4);
}

void AppendHex(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
}

std::string ValueText(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return {};
}

std::u32string CodePoints(std::string_view s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    if (DecodeUtf8(s, i, cp)) {
      out.push_back(cp);
    } else {
      ++i;  // stored text is valid UTF-8; never let a bad byte stop the index
    }
  }
  return out;
}

// The query of one search term (non-empty, no spaces).
std::string TermQuery(std::string_view term) {
  const std::u32string cps = CodePoints(term);
  std::string q = "g : ";
  if (cps.size() == 1) {
    AppendCodePoint(q, cps[0]);
    return q + "*";
  }
  q += '"';
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    if (i > 0) q += ' ';
    AppendCodePoint(q, cps[i]);
    AppendCodePoint(q, cps[i + 1]);
  }
  return q + '"';
}

std::string AnyOf(const std::vector<std::string>& tokens) {
  std::string q = "c : (";
  for (size_t i = 0; i < tokens.size(); ++i) q += (i ? " OR " : "") + tokens[i];
  return q + ")";
}

const Value kArchivedNo = int64_t{0};
const Value kArchivedYes = int64_t{1};

void AppendConditionToken(std::string& out, std::string_view name, const Value& v) {
  out += name;
  if (store::IsNull(v)) {
    out += "_n";
    return;
  }
  out += "_v";
  AppendHex(out, ValueText(v));
}

// The `c` column text of a document.
std::string ConditionText(const RegisterDef& d, const Source& s) {
  std::string c;
  c.reserve(32 * (s.values.size() + 1));
  AppendConditionToken(c, "archived", s.archived ? kArchivedYes : kArchivedNo);
  size_t i = 0;
  for (const FieldDef* f : ConditionFields(d)) {
    c += ' ';
    AppendConditionToken(c, f->name, i < s.values.size() ? s.values[i] : Value());
    ++i;
  }
  return c;
}

enum class Change { kAdd, kRemove };

// Adds the document of `s`, or removes the document added for the same `s`.
Status Apply(Connection& c, const RegisterDef& d, int64_t id, const Source& s, Change change) {
  const std::string table = TableName(d);
  const std::string sql =
      change == Change::kAdd
          ? "INSERT INTO " + table + " (rowid, g, c) VALUES (?, ?, ?)"
          : "INSERT INTO " + table + " (" + table + ", rowid, g, c) VALUES ('delete', ?, ?, ?)";
  const Value params[] = {id, Grams(s.search), ConditionText(d, s)};
  auto r = c.Exec(sql, params);
  if (!r.ok()) return std::move(r).error();
  return {};
}

}  // namespace

std::string TableName(const RegisterDef& d) { return "r_" + d.key + "_fts"; }

store::Migration CreateMigration(const RegisterDef& d) {
  // contentless: the documents are not stored (the row is); columnsize=0: no ranking needed.
  return {"register/" + d.key + "/list-index",
          "list index (FTS5) of " + d.key,
          {"CREATE VIRTUAL TABLE " + TableName(d) +
           " USING fts5(g, c, content='', columnsize=0, detail=full, "
           "tokenize=\"ascii tokenchars '_'\")"}};
}

std::vector<const FieldDef*> ConditionFields(const RegisterDef& d) {
  std::vector<const FieldDef*> out;
  for (const auto& f : d.fields) {
    if (f.filterable || f.name == d.org_field || f.name == d.confidential_field) {
      out.push_back(&f);
    }
  }
  return out;
}

std::string Signature(const RegisterDef& d) {
  std::string s = kFormat;
  for (const FieldDef* f : ConditionFields(d)) s += "," + f->name;
  return s;
}

std::string SourceColumns(const RegisterDef& d) {
  std::string cols = "search, archived";
  for (const FieldDef* f : ConditionFields(d)) cols += ", f_" + f->name;
  return cols;
}

Source SourceFromRow(const Row& row, size_t first) {
  Source s;
  s.search = store::AsText(row.at(first));
  s.archived = store::AsInt(row.at(first + 1)) != 0;
  s.values.assign(row.begin() + static_cast<std::ptrdiff_t>(first) + 2, row.end());
  return s;
}

Result<Source> ReadSource(Connection& c, const RegisterDef& d, int64_t id) {
  const Value params[] = {id};
  MAMORI_ASSIGN_OR_RETURN(
      auto rows,
      c.Query("SELECT " + SourceColumns(d) + " FROM r_" + d.key + " WHERE id = ?", params));
  if (rows.empty()) {
    return Error::NotFound("記録が見つかりません(ID " + std::to_string(id) + ")。",
                           d.key + " " + std::to_string(id) + " not found");
  }
  return SourceFromRow(rows.front());
}

std::string Grams(std::string_view normalized) {
  std::string out;
  out.reserve(normalized.size() * 4);
  char prev[4];          // the previous code point of the word, spelled
  bool in_word = false;  // whether `prev` holds one
  auto end_word = [&] {
    if (!in_word) return;
    out += ' ';
    out.append(prev, 4);  // the word's last character
    in_word = false;
  };
  size_t i = 0;
  while (i < normalized.size()) {
    char32_t cp = 0;
    if (!DecodeUtf8(normalized, i, cp)) {
      ++i;  // stored text is valid UTF-8; never let a bad byte stop the index
      continue;
    }
    if (cp == ' ' || cp == '\n') {
      end_word();
      continue;
    }
    char spelled[4];
    Spell(cp, spelled);
    if (in_word) {
      out += ' ';
      out.append(prev, 4);
      out.append(spelled, 4);
    }
    std::copy(spelled, spelled + 4, prev);
    in_word = true;
  }
  end_word();
  if (!out.empty()) out.erase(0, 1);  // the leading separator
  return out;
}

std::string ConditionToken(std::string_view name, const Value& v) {
  std::string t;
  AppendConditionToken(t, name, v);
  return t;
}

Status Add(Connection& c, const RegisterDef& d, int64_t id, const Source& source) {
  return Apply(c, d, id, source, Change::kAdd);
}

Status Remove(Connection& c, const RegisterDef& d, int64_t id, const Source& source) {
  return Apply(c, d, id, source, Change::kRemove);
}

Status Clear(Connection& c, const RegisterDef& d) {
  const std::string table = TableName(d);
  auto r = c.Exec("INSERT INTO " + table + " (" + table + ") VALUES ('delete-all')");
  if (!r.ok()) return std::move(r).error();
  return {};
}

std::optional<std::string> MatchExpression(const RegisterDef& d, const Conditions& cond,
                                           bool* none) {
  *none = false;
  std::vector<std::string> positive;  // all must hold
  std::vector<std::string> negative;  // none may hold (condition tokens)
  for (const auto& term : cond.terms) positive.push_back(TermQuery(term));
  for (const auto& [f, v] : cond.filters) positive.push_back("c : " + ConditionToken(f->name, v));
  const RowFilter* rows = cond.rows;
  if (rows != nullptr && !rows->all_units && !d.org_field.empty()) {
    if (rows->units.empty()) {
      *none = true;
      return std::nullopt;
    }
    std::vector<std::string> units;
    for (int64_t u : rows->units) units.push_back(ConditionToken(d.org_field, Value(u)));
    positive.push_back(AnyOf(units));
  }
  std::string hidden;  // the confidential records the actor may not see, when some are hidden
  if (rows != nullptr && rows->hide_confidential && !d.confidential_field.empty()) {
    std::vector<std::string> levels;
    for (const auto& v : d.confidential_values) {
      levels.push_back(ConditionToken(d.confidential_field, Value(v)));
    }
    if (!levels.empty()) hidden = AnyOf(levels);  // no need-to-know level: nothing to hide
    if (!hidden.empty() && !rows->confidential_units.empty() && !d.org_field.empty()) {
      std::vector<std::string> shown;
      for (int64_t u : rows->confidential_units) {
        shown.push_back(ConditionToken(d.org_field, Value(u)));
      }
      hidden = "(" + hidden + ") NOT " + AnyOf(shown);
    }
  }
  const std::string active = ConditionToken("archived", kArchivedNo);
  const std::string archived = ConditionToken("archived", kArchivedYes);
  if (positive.empty() && negative.empty() && hidden.empty()) return std::nullopt;
  switch (cond.archived) {
    case ArchivedFilter::kExclude:
      // "NOT archived" is cheap beside another condition; alone, the active token lists them.
      if (positive.empty()) {
        positive.push_back("c : " + active);
      } else {
        negative.push_back(archived);
      }
      break;
    case ArchivedFilter::kOnly:
      positive.push_back("c : " + archived);
      break;
    case ArchivedFilter::kInclude:
      if (positive.empty()) positive.push_back(AnyOf({active, archived}));
      break;
  }
  std::string q;
  for (size_t i = 0; i < positive.size(); ++i) q += (i ? " AND (" : "(") + positive[i] + ")";
  if (!negative.empty()) q = "(" + q + ") NOT " + AnyOf(negative);
  if (!hidden.empty()) q = "(" + q + ") NOT (" + hidden + ")";
  return q;
}

std::optional<std::string> RowPredicates(const RegisterDef& d, const Conditions& cond,
                                         std::vector<Value>& params) {
  if (!cond.terms.empty()) return std::nullopt;
  std::string sql;
  auto in_list = [&](const std::string& col_op, const auto& values) {  // "t.f_x IN"
    for (const auto& v : values) params.emplace_back(v);
    return col_op + " (" + store::Placeholders(values.size()) + ")";
  };
  for (const auto& [f, v] : cond.filters) {
    if (store::IsNull(v)) {
      sql += " AND t.f_" + f->name + " IS NULL";
    } else {
      sql += " AND t.f_" + f->name + " = ?";
      params.push_back(v);
    }
  }
  const RowFilter* rows = cond.rows;
  if (rows != nullptr && !rows->all_units && !d.org_field.empty()) {
    sql += rows->units.empty() ? " AND 0"
                               : " AND " + in_list("t.f_" + d.org_field + " IN", rows->units);
  }
  if (rows != nullptr && rows->hide_confidential && !d.confidential_field.empty() &&
      !d.confidential_values.empty()) {
    const std::string col = "t.f_" + d.confidential_field;
    sql += " AND (" + col + " IS NULL OR " + in_list(col + " NOT IN", d.confidential_values);
    if (!rows->confidential_units.empty() && !d.org_field.empty()) {
      sql += " OR " + in_list("t.f_" + d.org_field + " IN", rows->confidential_units);
    }
    sql += ")";
  }
  return sql;
}

}  // namespace mamori::registers::list_index
