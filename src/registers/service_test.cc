#include "registers/service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "registers/tabular.h"
#include "registers/test_support.h"

namespace mamori::registers {
namespace {

using nlohmann::json;

std::vector<EnumOption> TestRoles() {
  return {{"staff", {"一般職員", "Staff"}},
          {"sysadmin", {"システム管理者", "System administrator"}}};
}

// Records what the service hands to the audit trail (the hash chain is tested in auth/).
class RecordingAudit final : public AuditSink {
 public:
  Status Append(store::Connection&, const Actor& actor, std::string_view action,
                std::string_view target, const nlohmann::json&) override {
    entries.push_back(actor.id + " " + std::string(action) + " " + std::string(target));
    return {};
  }
  std::vector<std::string> entries;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("reg-test");
    auto store = store::OpenSqlite({.path = (dir_ / "t.db").string()});
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto reg = Registry::Create(testing::ShippedRegisters(TestRoles()));
    ASSERT_TRUE(reg.ok()) << reg.error().message_en;
    registry_ = std::move(reg).value();
    ASSERT_TRUE(store_->Migrate(registry_->Migrations()).ok());
    ASSERT_TRUE(RefreshSearchText(*store_, *registry_).ok());
    def_ = registry_->ByKey("org_units");
    service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  json Create(const json& body) {
    auto r = service_->Create(actor_, *def_, body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : json();
  }
  json List(const QueryParams& params) {
    auto q = ParseListQuery(*def_, params);
    EXPECT_TRUE(q.ok());
    auto r = service_->List(actor_, *def_, *q);
    EXPECT_TRUE(r.ok());
    return json::parse(*r);
  }
  void SeedBureau() {
    bureau_ = Create({{"code", "J"},
                      {"name", "広域連合事務局"},
                      {"kind", "bureau"},
                      {"name_kana", "こういきれんごうじむきょく"}})["id"];
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  const RegisterDef* def_ = nullptr;
  OpenAccess access_;
  RecordingAudit audit_;
  FixedClock clock_{TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 4 / 1}}};
  std::unique_ptr<RegisterService> service_;
  Actor actor_{"tester", "127.0.0.1"};
  int64_t bureau_ = 0;
};

TEST_F(ServiceTest, CreateValidatesFieldsAndNamesThemInJapanese) {
  auto r = service_->Create(actor_, *def_, {{"code", 12}, {"kind", "division"}, {"colour", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  std::map<std::string, std::string> by_field;
  for (const auto& e : r.error().fields) by_field[e.field] = e.message;
  EXPECT_EQ(by_field["code"], "文字列で指定してください。");
  EXPECT_NE(by_field["kind"].find("部局"), std::string::npos);
  EXPECT_EQ(by_field["colour"], "不明な項目です。");

  auto missing = service_->Create(actor_, *def_, {{"code", "X"}});
  ASSERT_FALSE(missing.ok());
  bool name_required = false;
  for (const auto& e : missing.error().fields) {
    name_required |= e.field == "name" && e.label == "名称" && e.message == "必須です。";
  }
  EXPECT_TRUE(name_required);
}

TEST_F(ServiceTest, UniqueKeyAndHierarchyRules) {
  SeedBureau();
  auto dup = service_->Create(actor_, *def_, {{"code", "J"}, {"name", "x"}, {"kind", "bureau"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().fields.at(0).field, "code");

  auto orphan =
      service_->Create(actor_, *def_, {{"code", "S1"}, {"name", "総務課"}, {"kind", "section"}});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().fields.at(0).field, "parent");

  json section =
      Create({{"code", "S1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau_}});
  EXPECT_EQ(section["_refs"]["parent"]["label"], "広域連合事務局");

  auto group_under_bureau = service_->Create(
      actor_, *def_, {{"code", "G1"}, {"name", "庶務係"}, {"kind", "group"}, {"parent", bureau_}});
  ASSERT_FALSE(group_under_bureau.ok());
  EXPECT_EQ(group_under_bureau.error().fields.at(0).message,
            "上位組織には課室を指定してください。");

  auto missing_ref = service_->Create(
      actor_, *def_, {{"code", "S2"}, {"name", "x"}, {"kind", "section"}, {"parent", 999}});
  ASSERT_FALSE(missing_ref.ok());
}

TEST_F(ServiceTest, UpdateUsesOptimisticConcurrencyAndKeepsHistory) {
  SeedBureau();
  json s = Create({{"code", "S1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau_}});
  const int64_t id = s["id"];
  auto u1 = service_->Update(actor_, *def_, id, 1, {{"name", "総務企画課"}, {"version", 1}});
  ASSERT_TRUE(u1.ok());
  EXPECT_EQ((*u1)["version"], 2);
  auto stale = service_->Update(actor_, *def_, id, 1, {{"name", "別名"}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);

  auto archived = service_->SetArchived(actor_, *def_, id, 2, true);
  ASSERT_TRUE(archived.ok());
  EXPECT_EQ((*archived)["archived"], true);
  auto restored = service_->SetArchived(actor_, *def_, id, 3, false);
  ASSERT_TRUE(restored.ok());

  auto h = service_->History(actor_, *def_, id);
  ASSERT_TRUE(h.ok());
  const json& items = (*h)["items"];
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0]["action"], "restore");
  EXPECT_EQ(items[2]["action"], "update");
  EXPECT_EQ(items[2]["changes"][0]["field"], "name");
  EXPECT_EQ(items[2]["changes"][0]["from"], "総務課");
  EXPECT_EQ(items[2]["changes"][0]["to"], "総務企画課");
  EXPECT_EQ(items[3]["action"], "create");
  EXPECT_EQ(items[3]["actor"], "tester");
  const std::string target = "org_units/" + std::to_string(id);
  EXPECT_EQ(audit_.entries,
            (std::vector<std::string>{"tester create org_units/" + std::to_string(bureau_),
                                      "tester create " + target, "tester update " + target,
                                      "tester archive " + target, "tester restore " + target}));
}

TEST_F(ServiceTest, ReferencedRecordsCannotBeArchivedAndKindsStayConsistent) {
  SeedBureau();
  json s = Create({{"code", "S1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau_}});
  auto archived = service_->SetArchived(actor_, *def_, bureau_, 1, true);
  ASSERT_FALSE(archived.ok());
  EXPECT_EQ(archived.error().code, ErrorCode::kConflict);
  // A bureau with a section below cannot become a group under that section (a cycle).
  auto cycle =
      service_->Update(actor_, *def_, bureau_, 1, {{"kind", "group"}, {"parent", s["id"]}});
  ASSERT_FALSE(cycle.ok());
  EXPECT_EQ(cycle.error().fields.at(0).field, "kind");
  // Once the section is archived, the bureau can be archived too.
  ASSERT_TRUE(service_->SetArchived(actor_, *def_, s["id"], 1, true).ok());
  EXPECT_TRUE(service_->SetArchived(actor_, *def_, bureau_, 1, true).ok());
}

TEST_F(ServiceTest, ListSearchesKanaAndKanjiFiltersSortsAndPages) {
  SeedBureau();
  Create({{"code", "S1"},
          {"name", "総務課"},
          {"name_kana", "ソウムカ"},
          {"kind", "section"},
          {"parent", bureau_}});
  Create({{"code", "S2"},
          {"name", "給付課"},
          {"name_kana", "きゅうふか"},
          {"kind", "section"},
          {"parent", bureau_}});
  EXPECT_EQ(List({{"q", "そうむ"}})["total"], 1);
  EXPECT_EQ(List({{"q", "ｿｳﾑ"}})["total"], 1);
  EXPECT_EQ(List({{"q", "給付"}})["total"], 1);
  EXPECT_EQ(List({{"q", "課 そうむ"}})["total"], 1);
  EXPECT_EQ(List({{"q", "%"}})["total"], 0);
  EXPECT_EQ(List({{"kind", "section"}})["total"], 2);
  EXPECT_EQ(List({{"parent", std::to_string(bureau_)}})["total"], 2);
  json sorted = List({{"sort", "-code"}, {"limit", "2"}});
  EXPECT_EQ(sorted["items"][0]["code"], "S2");
  EXPECT_EQ(sorted["items"].size(), 2u);
  EXPECT_EQ(sorted["total"], 3);
  json page2 = List({{"sort", "code"}, {"limit", "2"}, {"offset", "2"}});
  EXPECT_EQ(page2["items"][0]["code"], "S2");
}

TEST_F(ServiceTest, CachedListsNeverOutliveAChange) {
  SeedBureau();
  json s = Create({{"code", "S1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau_}});
  EXPECT_EQ(List({{"sort", "code"}})["items"][1]["name"], "総務課");
  EXPECT_EQ(List({{"sort", "code"}})["items"][1]["name"], "総務課");  // served from the cache
  ASSERT_TRUE(service_->Update(actor_, *def_, s["id"], 1, {{"name", "総務企画課"}}).ok());
  EXPECT_EQ(List({{"sort", "code"}})["items"][1]["name"], "総務企画課");
  // A write by another process (its own store and service on the same file) is seen too.
  auto other_store = store::OpenSqlite({.path = (dir_ / "t.db").string()});
  ASSERT_TRUE(other_store.ok());
  RegisterService other(**other_store, *registry_, access_, audit_, clock_);
  ASSERT_TRUE(other.Update(actor_, *def_, bureau_, 1, {{"name", "事務局"}}).ok());
  EXPECT_EQ(List({{"sort", "code"}})["items"][1]["_refs"]["parent"]["label"], "事務局");
  EXPECT_EQ(List({{"sort", "code"}})["items"][0]["name"], "事務局");
}

TEST_F(ServiceTest, SearchTextIsRebuiltWhenSearchableFieldsChange) {
  SeedBureau();
  ASSERT_TRUE(service_->Update(actor_, *def_, bureau_, 1, {{"phone", "内線9999"}}).ok());
  EXPECT_EQ(List({{"q", "9999"}})["total"], 0);  // phone is not searchable
  // A later definition makes phone searchable: the stored text is rebuilt once at start-up.
  auto defs = testing::ShippedRegisters(TestRoles());
  for (auto& f : defs[0].fields) {
    if (f.name == "phone") f.searchable = true;
  }
  auto changed = Registry::Create(std::move(defs));
  ASSERT_TRUE(changed.ok());
  ASSERT_TRUE(RefreshSearchText(*store_, **changed).ok());
  RegisterService service(*store_, **changed, access_, audit_, clock_);
  auto q = ParseListQuery(*(*changed)->ByKey("org_units"), {{"q", "9999"}});
  ASSERT_TRUE(q.ok());
  auto r = service.List(actor_, *(*changed)->ByKey("org_units"), *q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(*r)["total"], 1);
}

TEST_F(ServiceTest, BadListParametersNameTheParameter) {
  for (const QueryParams& p : std::vector<QueryParams>{{{"limit", "0"}},
                                                       {{"limit", "abc"}},
                                                       {{"sort", "note"}},
                                                       {{"kind", "division"}},
                                                       {{"colour", "red"}},
                                                       {{"archived", "maybe"}}}) {
    auto q = ParseListQuery(*def_, p);
    ASSERT_FALSE(q.ok()) << p[0].first;
    EXPECT_EQ(q.error().fields.at(0).field, p[0].first);
  }
}

std::string OrgCsv() {
  return "組織コード,名称,名称(かな),区分,上位組織\r\n"
         "J,広域連合事務局,こういきれんごうじむきょく,部局,\r\n"
         "J-SOMU,総務課,そうむか,課室,J\r\n"
         "J-SOMU-1,庶務係,しょむかかり,係・担当,J-SOMU\r\n";
}

TEST_F(ServiceTest, ImportAppliesAllRowsOrNone) {
  std::string bad = OrgCsv() + "X1,,,課室,NOPE\r\n" + "J,重複,,部局,\r\n";
  auto r = service_->Import(actor_, *def_, bad, FileFormat::kCsv, ImportMode::kInsert, false);
  ASSERT_FALSE(r.ok());
  std::set<std::pair<int, std::string>> where;
  for (const auto& e : r.error().fields) where.insert({e.row, e.column});
  EXPECT_TRUE(where.count({5, "名称"}));
  EXPECT_TRUE(where.count({5, "上位組織"}));
  EXPECT_TRUE(where.count({6, "組織コード"}));
  EXPECT_EQ(List({})["total"], 0);  // nothing written

  auto dry = service_->Import(actor_, *def_, OrgCsv(), FileFormat::kCsv, ImportMode::kInsert, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->created, 3);
  EXPECT_EQ(List({})["total"], 0);

  auto ok = service_->Import(actor_, *def_, OrgCsv(), FileFormat::kCsv, ImportMode::kInsert, false);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->created, 3);
  EXPECT_EQ(List({{"q", "しょむ"}})["items"][0]["_refs"]["parent"]["label"], "総務課");
}

TEST_F(ServiceTest, ExportThenUpsertImportIsIdentity) {
  ASSERT_TRUE(
      service_->Import(actor_, *def_, OrgCsv(), FileFormat::kCsv, ImportMode::kInsert, false).ok());
  auto q = ParseListQuery(*def_, {});
  ASSERT_TRUE(q.ok());
  for (FileFormat fmt : {FileFormat::kCsv, FileFormat::kXlsx}) {
    auto file = service_->Export(actor_, *def_, *q, fmt);
    ASSERT_TRUE(file.ok());
    auto again = service_->Import(actor_, *def_, file->bytes, fmt, ImportMode::kUpsert, false);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->unchanged, 3);
    EXPECT_EQ(again->created + again->updated, 0);
  }
  // A changed name in the file updates exactly that record.
  std::string changed = OrgCsv();
  changed.replace(changed.find("総務課"), std::string("総務課").size(), "総務企画課");
  auto up = service_->Import(actor_, *def_, changed, FileFormat::kCsv, ImportMode::kUpsert, false);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->updated, 1);
  EXPECT_EQ(up->unchanged, 2);
}

TEST_F(ServiceTest, ImportReadsShiftJis) {
  // "組織コード,名称,区分\r\nJ,事務局,部局\r\n" in Shift_JIS.
  const std::string sjis =
      "\x91\x67\x90\x44\x83\x52\x81\x5B\x83\x68,\x96\xBC\x8F\xCC,\x8B\xE6\x95\xAA\r\n"
      "J,\x8E\x96\x96\xB1\x8B\xC7,\x95\x94\x8B\xC7\r\n";
  auto r = service_->Import(actor_, *def_, sjis, FileFormat::kCsv, ImportMode::kInsert, false);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(List({})["items"][0]["name"], "事務局");
}

}  // namespace
}  // namespace mamori::registers
