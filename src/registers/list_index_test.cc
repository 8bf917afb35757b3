// The list index answers exactly what the old statements answered: `search LIKE '%term%'` per
// term, filters and the actor's row filter as column conditions, archived state, order and
// page. The old statement is kept here as the oracle, and thousands of lists over a generated
// register (kana, width and case variants, symbols, NULLs, archived records, scoped actors)
// must give the same totals and the same ids in the same order, also after updates,
// archiving, restoring and upsert imports.
#include "registers/list_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "registers/org_units.h"
#include "registers/service.h"
#include "registers/test_support.h"

namespace mamori::registers {
namespace {

using nlohmann::json;
using store::Value;

TEST(ListIndexTest, GramsAreBigramsAndTheLastCharacterOfEveryWord) {
  auto tokens = [](std::string_view text) {
    std::vector<std::string> out;
    const std::string g = list_index::Grams(text);
    size_t start = 0;
    while (start <= g.size() && !g.empty()) {
      size_t end = g.find(' ', start);
      if (end == std::string::npos) end = g.size();
      out.push_back(g.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  const auto abc = tokens("abc");
  ASSERT_EQ(abc.size(), 3u);  // ab, bc, c
  EXPECT_EQ(abc[0].size(), 8u);
  EXPECT_EQ(abc[1].size(), 8u);
  EXPECT_EQ(abc[2].size(), 4u);
  EXPECT_EQ(abc[1].substr(4), abc[2]);
  EXPECT_EQ(abc[0].substr(4), abc[1].substr(0, 4));
  EXPECT_EQ(tokens("ab c\n資格").size(), 2u + 1u + 2u);  // words split at spaces and lines
  EXPECT_TRUE(tokens("").empty());
  for (const auto& t : tokens("資格 Ｂ－０１ %_ \xF0\x9F\x98\x80")) {
    EXPECT_EQ(t.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz"), std::string::npos);
  }
}

TEST(ListIndexTest, ConditionTokensAreExactAndDistinguishNull) {
  EXPECT_EQ(list_index::ConditionToken("kind", Value(std::string("system"))), "kind_v73797374656d");
  EXPECT_EQ(list_index::ConditionToken("section", Value(int64_t{8})), "section_v38");
  EXPECT_EQ(list_index::ConditionToken("section", Value()), "section_n");
  EXPECT_NE(list_index::ConditionToken("a", Value(std::string(""))),
            list_index::ConditionToken("a", Value()));
}

// ---------------------------------------------------------------------------------------------

// A register with every kind of condition: searchable text (some not listed), enum, reference
// to org_units (the org field), a need-to-know level, a flag and a number (NULL allowed), a
// sortable indexed field and a sortable field without an index.
RegisterDef ItemsRegister() {
  RegisterDef d;
  d.key = "items";
  d.path = "items";
  d.label = {"品目", "Items"};
  d.key_field = "code";
  d.title_field = "name";
  d.default_sort = "code";
  d.org_field = "unit";
  d.confidential_field = "level";
  d.confidential_values = {"3"};
  FieldDef code = MakeField("code", FieldType::kText);
  code.label = {"コード", "Code"};
  code.required = code.unique = code.searchable = true;
  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"名称", "Name"};
  name.required = name.searchable = true;
  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Note"};
  note.searchable = true;
  note.list = note.sortable = false;
  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"種類", "Kind"};
  kind.searchable = kind.filterable = true;
  kind.options = {
      {"a", {"甲種", "A"}, {}, {}}, {"b", {"乙種", "B"}, {}, {}}, {"c", {"丙種", "C"}, {}, {}}};
  FieldDef unit = MakeField("unit", FieldType::kRef);
  unit.label = {"所管", "Unit"};
  unit.ref = "org_units";
  FieldDef level = MakeField("level", FieldType::kEnum);
  level.label = {"水準", "Level"};
  level.filterable = true;
  level.options = {
      {"1", {"水準1", "1"}, {}, {}}, {"2", {"水準2", "2"}, {}, {}}, {"3", {"水準3", "3"}, {}, {}}};
  FieldDef flag = MakeField("flag", FieldType::kBoolean);
  flag.label = {"印", "Flag"};
  flag.filterable = true;
  FieldDef size = MakeField("size", FieldType::kInteger);
  size.label = {"大きさ", "Size"};
  size.filterable = true;
  FieldDef place = MakeField("place", FieldType::kText);
  place.label = {"場所", "Place"};
  place.list = false;  // sortable, but without an index
  d.fields = {code, name, note, kind, unit, level, flag, size, place};
  return d;
}

// Grants everything; lists through a row filter the test sets.
class FilteringAccess final : public Authorizer {
 public:
  Status Check(const Actor&, const RegisterDef&, Action, const json*) const override { return {}; }
  Result<RowFilter> ListFilter(const Actor&, const RegisterDef&) const override { return rows; }
  RowFilter rows;
};

class NoAudit final : public AuditSink {
 public:
  Status Append(store::Connection&, const Actor&, std::string_view, std::string_view,
                const json&) override {
    return {};
  }
};

struct Page {
  int64_t total = 0;
  std::vector<int64_t> ids;
  bool operator==(const Page&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Page& p) {
  os << "total " << p.total << " ids";
  for (int64_t id : p.ids) os << ' ' << id;
  return os;
}

std::string EscapeLike(std::string_view s) {
  std::string r;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}

// The list as the statements before the list index computed it (the oracle).
Page OldList(store::Store& store, const RegisterDef& d, const ListQuery& q, const RowFilter& rows) {
  std::vector<std::string> conds;
  std::vector<Value> params;
  if (!rows.all_units) {
    std::string in = "f_" + d.org_field + " IN (";
    for (size_t i = 0; i < rows.units.size(); ++i) {
      in += i ? ", ?" : "?";
      params.emplace_back(rows.units[i]);
    }
    conds.push_back(rows.units.empty() ? "0" : in + ")");
  }
  if (rows.hide_confidential) {
    std::string shown;
    for (int64_t u : rows.confidential_units)
      shown += (shown.empty() ? "" : ", ") + std::to_string(u);
    conds.push_back("(f_level IS NULL OR f_level NOT IN ('3')" +
                    (shown.empty() ? "" : " OR f_" + d.org_field + " IN (" + shown + ")") + ")");
  }
  if (q.archived == ArchivedFilter::kExclude) conds.push_back("archived = 0");
  if (q.archived == ArchivedFilter::kOnly) conds.push_back("archived = 1");
  const std::string norm = NormalizeForSearch(q.q);
  size_t start = 0;
  while (start < norm.size()) {
    size_t end = norm.find(' ', start);
    if (end == std::string::npos) end = norm.size();
    if (end > start) {
      conds.push_back("search LIKE ? ESCAPE '\\'");
      params.emplace_back("%" + EscapeLike(norm.substr(start, end - start)) + "%");
    }
    start = end + 1;
  }
  for (const auto& [f, raw] : q.filters) {
    if (raw.empty()) {
      conds.push_back("f_" + f->name + " IS NULL");
      continue;
    }
    conds.push_back("f_" + f->name + " = ?");
    if (f->type == FieldType::kInteger || f->type == FieldType::kRef) {
      int64_t v = 0;
      std::from_chars(raw.data(), raw.data() + raw.size(), v);
      params.emplace_back(v);
    } else if (f->type == FieldType::kBoolean) {
      params.emplace_back(int64_t{raw == "true" ? 1 : 0});
    } else {
      params.emplace_back(raw);
    }
  }
  std::string where;
  for (size_t i = 0; i < conds.size(); ++i) where += (i == 0 ? " WHERE " : " AND ") + conds[i];
  const std::string field = q.sort.empty() ? d.default_sort : q.sort;
  const char* dir = q.descending ? " DESC" : " ASC";
  const std::string order = " ORDER BY f_" + field + dir + ", id" + dir;
  Page page;
  Status st = store.Read([&](store::Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto n, c.Query("SELECT count(*) FROM r_items" + where, params));
    page.total = store::AsInt(n.at(0).at(0));
    std::vector<Value> p = params;
    p.emplace_back(int64_t{q.limit});
    p.emplace_back(q.offset);
    MAMORI_ASSIGN_OR_RETURN(
        auto ids, c.Query("SELECT id FROM r_items" + where + order + " LIMIT ? OFFSET ?", p));
    for (const auto& r : ids) page.ids.push_back(store::AsInt(r[0]));
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.error().message_en;
  return page;
}

class ListIndexOracleTest : public ::testing::Test {
 protected:
  static constexpr int kItems = 3000;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mamori-list-index-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::OpenSqlite({.path = (dir_ / "t.db").string(), .synchronous_full = false});
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto defs = testing::ShippedRegisters({{"staff", {"一般職員", "Staff"}}});
    defs.push_back(ItemsRegister());
    auto reg = Registry::Create(std::move(defs));
    ASSERT_TRUE(reg.ok()) << reg.error().message_en;
    registry_ = std::move(reg).value();
    ASSERT_TRUE(store_->Migrate(registry_->Migrations()).ok());
    ASSERT_TRUE(RefreshSearchText(*store_, *registry_).ok());
    def_ = registry_->ByKey("items");
    service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
    const RegisterDef& units = *registry_->ByKey("org_units");
    auto bureau =
        service_->Create(actor_, units, {{"code", "B"}, {"name", "局"}, {"kind", "bureau"}});
    ASSERT_TRUE(bureau.ok());
    units_.push_back((*bureau)["id"]);
    for (const char* code : {"S1", "S2", "S3"}) {
      auto s = service_->Create(actor_, units,
                                {{"code", code},
                                 {"name", std::string("課") + code},
                                 {"kind", "section"},
                                 {"parent", units_[0]}});
      ASSERT_TRUE(s.ok()) << s.error().message;
      units_.push_back((*s)["id"]);
    }
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Words staff type, in their many forms, and symbols LIKE treats specially.
  static const std::vector<std::string>& Words() {
    static const std::vector<std::string> w = {
        "資格",   "給付",       "保険料",   "被保険者", "レセプト", "ｷｭｳﾌ", "キュウフ", "きゅうふ",
        "ｼﾞｮｳﾎｳ", "じょうほう", "Ｂ－０１", "B-09",     "100%",     "a_b",  "台帳",     "課",
        "ＡＢＣ", "abc",        "データ",   "ﾃﾞｰﾀ",     "x\\y",     "　",   " "};
    return w;
  }

  std::string Csv(std::mt19937& rng, int first, int count) {
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    const std::vector<std::string> kinds = {"甲種", "乙種", "丙種"};
    const std::vector<std::string> unit_codes = {"B", "S1", "S2", "S3", ""};
    const std::vector<std::string> levels = {"1", "2", "3", ""};
    const std::vector<std::string> flags = {"有", "無", ""};
    std::string csv = "コード,名称,備考,種類,所管,水準,印,大きさ,場所\r\n";
    for (int i = first; i < first + count; ++i) {
      char code[16];
      std::snprintf(code, sizeof code, "I-%04d", i);
      std::string name = pick(Words()) + pick(Words());
      if (rng() % 2) name += pick(Words());
      name = std::string(TrimSpace(name));
      if (name.empty()) name = "名";
      std::string note = rng() % 3 ? "" : pick(Words()) + pick(Words());
      const std::string size = rng() % 6 ? std::to_string(rng() % 5) : "";
      std::string place = rng() % 4 ? pick(Words()) : "";
      place = std::string(TrimSpace(place));
      for (std::string* cell : {&name, &note, &place}) {
        if (cell->find_first_of(",\"") != std::string::npos) *cell = "\"" + *cell + "\"";
      }
      csv += std::string(code) + "," + name + "," + note + "," + pick(kinds) + "," +
             pick(unit_codes) + "," + pick(levels) + "," + pick(flags) + "," + size + "," + place +
             "\r\n";
    }
    return csv;
  }

  ListQuery RandomQuery(std::mt19937& rng) {
    static const std::vector<std::string> qs = {
        "",     "",    "",       "",     "資格", "きゅうふ",   "ｷｭｳﾌ", "キュウフ",    "資",
        "課",   "b-0", "Ｂ－０", "%",    "_",    "a_b",        "i-25", "保険料 台帳", "でーた",
        "ﾃﾞｰﾀ", "zz",  "i-0001", "x\\y", "甲種", "じょうほう", "じ",   "ｂ",          "100% 資格",
        "い-2"};
    static const std::vector<std::vector<std::pair<std::string, std::string>>> filters = {
        {},
        {},
        {},
        {},
        {{"kind", "a"}},
        {{"level", "3"}},
        {{"level", ""}},
        {{"flag", "true"}},
        {{"flag", "false"}},
        {{"size", "2"}},
        {{"size", ""}},
        {{"kind", "b"}, {"level", "2"}},
        {{"kind", "c"}, {"flag", "true"}, {"size", "0"}}};
    static const std::vector<std::string> sorts = {"",      "-code", "name", "-name",
                                                   "place", "-kind", "size"};
    static const std::vector<std::string> archived = {"exclude", "exclude", "include", "only"};
    static const std::vector<std::pair<int, int>> pages = {{50, 0}, {50, 0},   {50, 0},   {7, 13},
                                                           {7, 13}, {50, 400}, {3, 1200}, {500, 0}};
    QueryParams p;
    if (auto q = qs[rng() % qs.size()]; !q.empty()) p.push_back({"q", q});
    for (const auto& f : filters[rng() % filters.size()]) p.push_back(f);
    if (auto s = sorts[rng() % sorts.size()]; !s.empty()) p.push_back({"sort", s});
    p.push_back({"archived", archived[rng() % archived.size()]});
    const auto [limit, offset] = pages[rng() % pages.size()];
    p.push_back({"limit", std::to_string(limit)});
    p.push_back({"offset", std::to_string(offset)});
    auto q = ParseListQuery(*def_, p);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message_en);
    return q.ok() ? *q : ListQuery{};
  }

  RowFilter RandomRows(std::mt19937& rng) {
    RowFilter rows;
    switch (rng() % 9) {
      case 0:
        rows.all_units = false;
        rows.units = {units_[1], units_[2]};
        break;
      case 1:
        rows.hide_confidential = true;
        break;
      case 2:
        rows.all_units = false;
        rows.units = {units_[3]};
        rows.hide_confidential = true;
        break;
      case 4:  // a section manager: their section's confidential records, others' not
        rows.all_units = false;
        rows.units = {units_[1], units_[2]};
        rows.hide_confidential = true;
        rows.confidential_units = {units_[1]};
        break;
      case 5:  // confidential records of one unit, everything else of all units
        rows.hide_confidential = true;
        rows.confidential_units = {units_[2], units_[3]};
        break;
      case 3:
        rows.all_units = false;  // scoped to no unit: sees nothing
        break;
      default:
        break;
    }
    return rows;
  }

  Page NewList(const ListQuery& q, const RowFilter& rows) {
    access_.rows = rows;
    auto r = service_->List(actor_, *def_, q);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message_en);
    Page page;
    if (!r.ok()) return page;
    const json j = json::parse(*r);
    page.total = j["total"];
    for (const auto& item : j["items"]) page.ids.push_back(item["id"]);
    return page;
  }

  static std::string Describe(const ListQuery& q, const RowFilter& rows) {
    std::string s = "q=" + q.q + " sort=" + (q.descending ? "-" : "") + q.sort +
                    " archived=" + std::to_string(static_cast<int>(q.archived)) +
                    " limit=" + std::to_string(q.limit) + " offset=" + std::to_string(q.offset);
    for (const auto& [f, v] : q.filters) s += " " + f->name + "=" + v;
    return s + " rows=" + rows.Key();
  }

  void CompareRandomLists(std::mt19937& rng, int n) {
    for (int i = 0; i < n; ++i) {
      const ListQuery q = RandomQuery(rng);
      const RowFilter rows = RandomRows(rng);
      ASSERT_EQ(NewList(q, rows), OldList(*store_, *def_, q, rows)) << Describe(q, rows);
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  const RegisterDef* def_ = nullptr;
  FilteringAccess access_;
  NoAudit audit_;
  FixedClock clock_{TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 4 / 1}}};
  std::unique_ptr<RegisterService> service_;
  Actor actor_{"tester", "127.0.0.1"};
  std::vector<int64_t> units_;
};

TEST_F(ListIndexOracleTest, ListsEqualTheOldStatementsBeforeAndAfterChanges) {
  std::mt19937 rng(20261125);
  auto imported = service_->Import(actor_, *def_, Csv(rng, 0, kItems), FileFormat::kCsv,
                                   ImportMode::kInsert, false);
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  ASSERT_EQ(imported->created, kItems);
  CompareRandomLists(rng, 1500);

  // Updates (every condition and the search text change), archiving and restoring, and an
  // upsert import keep the index in step with the rows.
  auto load = [&](int64_t id) {
    auto r = service_->Get(actor_, *def_, id);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : json();
  };
  for (int i = 0; i < 60; ++i) {
    const int64_t id = 1 + static_cast<int64_t>(rng() % kItems);
    json rec = load(id);
    if (rec["archived"] == true) continue;
    auto r = service_->Update(actor_, *def_, id, rec["version"],
                              {{"name", Words()[rng() % 12] + "更新"},
                               {"kind", rng() % 2 ? "a" : "c"},
                               {"level", rng() % 2 ? json("3") : json(nullptr)},
                               {"unit", rng() % 2 ? json(units_[rng() % 4]) : json(nullptr)},
                               {"flag", rng() % 2 == 0},
                               {"size", rng() % 2 ? json(rng() % 5) : json(nullptr)}});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  std::set<int64_t> archived;
  for (int i = 0; i < 60; ++i) {
    const int64_t id = 1 + static_cast<int64_t>(rng() % kItems);
    json rec = load(id);
    if (rec["archived"] == true) continue;
    ASSERT_TRUE(service_->SetArchived(actor_, *def_, id, rec["version"], true).ok());
    archived.insert(id);
  }
  for (auto it = archived.begin(); it != archived.end();) {
    ASSERT_TRUE(service_->SetArchived(actor_, *def_, *it, load(*it)["version"], false).ok());
    it = archived.erase(it);
    if (it != archived.end()) ++it;  // restore every other one
  }
  // Rewrites the active ones of I-1000..I-1499 (ids 1001..1500; archived records are refused).
  const std::string file = Csv(rng, 1000, 500);
  std::string upsert;
  int64_t id = 1000;  // the header line, then I-1000 (id 1001), …
  for (size_t pos = 0; pos < file.size(); ++id) {
    const size_t end = file.find("\r\n", pos) + 2;
    if (!archived.count(id)) upsert += file.substr(pos, end - pos);
    pos = end;
  }
  auto up = service_->Import(actor_, *def_, upsert, FileFormat::kCsv, ImportMode::kUpsert, false);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_GT(up->updated, 0);
  CompareRandomLists(rng, 1500);
}

// A database made before the list index (its search signature is the old one, the index is
// empty) gets the index built at start-up.
TEST_F(ListIndexOracleTest, AnExistingDatabaseGetsItsIndexAtStartUp) {
  std::mt19937 rng(7);
  ASSERT_TRUE(
      service_
          ->Import(actor_, *def_, Csv(rng, 0, 200), FileFormat::kCsv, ImportMode::kInsert, false)
          .ok());
  ASSERT_TRUE(store_
                  ->Write([&](store::Connection& c) -> Status {
                    MAMORI_TRY(list_index::Clear(c, *def_));
                    MAMORI_TRY(
                        c.Exec("UPDATE register_state SET search_signature = "
                               "'n1,code,name,note,kind' WHERE register = 'items'"));
                    return {};
                  })
                  .ok());
  ASSERT_TRUE(RefreshSearchText(*store_, *registry_).ok());
  service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
  CompareRandomLists(rng, 300);
}

}  // namespace
}  // namespace mamori::registers
