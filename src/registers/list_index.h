// The list index of a register: one SQLite FTS5 table per register (`r_{key}_fts`,
// contentless) with one document per record, so that the conditions of a list (text search,
// filters, the archived state and the actor's row filter) are answered by intersecting
// posting lists instead of reading every row, and a filtered list's exact total costs
// about as much as its matches, not as much as the register.
//
// A document has two columns:
//   g  the record's stored search text (already normalized: kana, width and case folded) as
//      overlapping character bigrams plus the last character of every word, each code point
//      spelled as 4 base-36 digits. A search term of n >= 2 characters is the phrase of its
//      n-1 bigrams, which matches exactly where the term is a substring of a word; a
//      1-character term is a prefix query. Together: the old `search LIKE '%term%'`,
//      for terms of any length (資格, B-09, ｼﾞｮｳﾎｳ as じょうほう), with an index.
//   c  one token per condition value: `archived_v30`/`archived_v31`, and for each condition
//      field (filterable, the org field, the confidential field) `{name}_n` when the stored
//      value is NULL, else `{name}_v{hex of the stored value's text}`: exact equality.
//
// The document is derived only from the stored row (its `search` text, `archived` and the
// condition columns), so the document to remove before a change can always be rebuilt from
// the row as it is. Every write of a register row must go through Add/Remove in the same
// transaction (RegisterService does). When the derivation changes, `Signature` changes and
// RefreshSearchText rebuilds the index.
//
// SQLite-specific (FTS5); all functions are thread-safe; the Connection ones run inside the
// caller's transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "registers/access.h"
#include "registers/definition.h"
#include "registers/service.h"
#include "store/store.h"

namespace mamori::registers::list_index {

// "r_{key}_fts".
std::string TableName(const RegisterDef& d);

// The migration that creates the (empty) index table; RefreshSearchText fills it.
store::Migration CreateMigration(const RegisterDef& d);

// What the documents of `d` are derived from, for the register's search signature: changes
// when the document format or the condition fields change.
std::string Signature(const RegisterDef& d);

// The fields whose stored values are condition tokens: filterable ones, the org field and
// the confidential field, in definition order.
std::vector<const FieldDef*> ConditionFields(const RegisterDef& d);

// The stored values a document is derived from.
struct Source {
  std::string search;                // the row's `search` column
  bool archived = false;             // the row's `archived` column
  std::vector<store::Value> values;  // the condition columns, in ConditionFields order
};

// "search, archived, f_a, f_b, …": the columns of a Source, in order, for a SELECT.
std::string SourceColumns(const RegisterDef& d);
// A Source from a row whose first columns are SourceColumns (from `first` on).
Source SourceFromRow(const store::Row& row, size_t first = 0);
// The Source of record `id` as stored now (kNotFound when there is none).
Result<Source> ReadSource(store::Connection& c, const RegisterDef& d, int64_t id);

// Adds the document of record `id`; Remove takes out the document Add put in for `source`
// (the row as it was stored when it was added).
Status Add(store::Connection& c, const RegisterDef& d, int64_t id, const Source& source);
Status Remove(store::Connection& c, const RegisterDef& d, int64_t id, const Source& source);
// Empties the index of `d` (before a rebuild).
Status Clear(store::Connection& c, const RegisterDef& d);

// The `g` column text of a normalized search text.
std::string Grams(std::string_view normalized);
// The condition token of field `name` holding the stored value `v`.
std::string ConditionToken(std::string_view name, const store::Value& v);

// The conditions of a list, as the index answers them.
struct Conditions {
  std::vector<std::string> terms;  // normalized search terms, non-empty, without spaces
  // Exact-match filters: a condition field and the stored value it must hold (NULL: empty).
  std::vector<std::pair<const FieldDef*, store::Value>> filters;
  ArchivedFilter archived = ArchivedFilter::kExclude;
  const RowFilter* rows = nullptr;  // the actor's row filter (nullptr: every row)
};

// The FTS5 MATCH expression of `conditions`, or nullopt when only the archived state
// restricts the list (then an index on (archived, …) answers it without this index).
// `*none` is set when no record can match (an actor scoped to no organization unit).
std::optional<std::string> MatchExpression(const RegisterDef& d, const Conditions& conditions,
                                           bool* none);

// The same conditions, except the archived state, as SQL over one row of `r_{key} t`
// (" AND t.f_x = ? …", values appended to `params`), for walking an index through the rows
// when most rows match; nullopt when there are search terms (only the index answers those).
std::optional<std::string> RowPredicates(const RegisterDef& d, const Conditions& conditions,
                                         std::vector<store::Value>& params);

}  // namespace mamori::registers::list_index
