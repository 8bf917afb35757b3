#include "registers/risks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "registers/service.h"
#include "registers/test_support.h"

namespace mamori::registers {
namespace {

using nlohmann::json;

// Real SQLite, the shipped catalogs and registers; actors hold the roles of §6(1).
class RisksTest : public ::testing::Test {
 protected:
  enum Who { kOwner, kPeer, kManager, kGeneral, kCiso };

  void SetUp() override {
    dir_ = testing::FreshTestDir("risks-test");
    store_ = std::move(store::OpenSqlite({.path = (dir_ / "t.db").string()})).value();
    std::vector<EnumOption> roles;
    for (const char* r : {"system_staff", "security_manager", "security_general", "ciso"}) {
      roles.push_back({r, {r, r}, {}, {}});
    }
    auto reg = Registry::Create(testing::ShippedRegisters(roles));
    ASSERT_TRUE(reg.ok()) << reg.error().message_en;
    registry_ = std::move(reg).value();
    ASSERT_TRUE(store_->Migrate(registry_->Migrations()).ok());
    service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
    risks_ = std::make_unique<RiskService>(*store_, *service_, *registry_, access_,
                                           testing::ShippedCatalogs(), clock_);
    auto seeded = risks_->SeedThreats();
    ASSERT_TRUE(seeded.ok()) << seeded.error().message;
    EXPECT_EQ(*seeded, static_cast<int64_t>(testing::ShippedThreats().threats.size()));

    const int64_t bureau =
        Make(Def("org_units"), {{"code", "J"}, {"name", "事務局"}, {"kind", "bureau"}});
    section_ = Make(Def("org_units"),
                    {{"code", "J1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau}});
    const char* logins[] = {"owner", "peer", "kacho", "tokatsu", "ciso"};
    const char* role_of[] = {"system_staff", "system_staff", "security_manager", "security_general",
                             "ciso"};
    for (int i = 0; i < 5; ++i) {
      const int64_t id =
          Make(Def("users"), {{"login", logins[i]}, {"name", logins[i]}, {"section", section_}});
      Make(Def("role_assignments"), {{"user", id},
                                     {"role", role_of[i]},
                                     {"scope_kind", "body"},
                                     {"valid_from", "2026-04-01"}});
      actors_.push_back(Actor{logins[i], "127.0.0.1", id, {{role_of[i], "body", {}, ""}}});
    }
    // A terminal in the My Number zone holding the most confidential information.
    terminal_ = Make(Def("assets"), {{"name", "窓口端末"},
                                     {"kind", "equipment"},
                                     {"section", section_},
                                     {"zone", "mynumber"},
                                     {"confidentiality", "3"},
                                     {"integrity", "2"},
                                     {"availability", "2"}});
  }
  void TearDown() override {
    risks_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  const RegisterDef& Def(const char* key) { return *registry_->ByKey(key); }
  int64_t Make(const RegisterDef& def, const json& body) {
    auto r = service_->Create(cli_, def, body);
    EXPECT_TRUE(r.ok()) << def.key << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? (*r)["id"].get<int64_t>() : 0;
  }
  int64_t Threat(const char* code) {
    auto rows =
        service_->List(cli_, Def("threats"), *ParseListQuery(Def("threats"), {{"limit", "500"}}));
    const json list = json::parse(*rows);
    for (const json& t : list["items"]) {
      if (t["code"] == code) return t["id"].get<int64_t>();
    }
    ADD_FAILURE() << "no threat " << code;
    return 0;
  }
  Result<json> Update(Who who, int64_t id, json body) {
    auto cur = service_->Get(cli_, Def("risks"), id);
    return service_->Update(actors_[who], Def("risks"), id, (*cur)["version"], body);
  }
  // A scenario on the terminal, owned by kOwner.
  json Scenario(const char* likelihood, json extra = json::object()) {
    json body{{"title", "USB メモリで住民情報が漏えい"},
              {"threat", Threat("T-2-02")},
              {"section", section_},
              {"asset", terminal_},
              {"likelihood", likelihood}};
    body.update(extra);
    auto r = service_->Create(actors_[kOwner], Def("risks"), body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : json();
  }
  static std::string FirstField(const Result<json>& r) {
    return r.ok() || r.error().fields.empty() ? "" : r.error().fields.front().field;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  OpenAccess access_;
  testing::NullAudit audit_;
  FixedClock clock_{std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::sys_days(std::chrono::year_month_day(
          std::chrono::year(2026), std::chrono::month(6), std::chrono::day(1))))};
  std::unique_ptr<RegisterService> service_;
  std::unique_ptr<RiskService> risks_;
  const Actor cli_{"cli", "local", 0, {}};
  std::vector<Actor> actors_;
  int64_t section_ = 0, terminal_ = 0;
};

TEST_F(RisksTest, SeedingAddsOnlyMissingThreatsAndKeepsTheBodysChanges) {
  EXPECT_EQ(*risks_->SeedThreats(), 0);
  const int64_t id = Threat("T-1-01");
  auto t = service_->Get(cli_, Def("threats"), id);
  EXPECT_EQ((*t)["source"], "catalog");
  ASSERT_TRUE(service_->SetArchived(cli_, Def("threats"), id, (*t)["version"], true).ok());
  EXPECT_EQ(*risks_->SeedThreats(), 0);  // an archived threat stays archived
  // The body's own threat gets a code of its own and the source "body".
  auto own = service_->Create(
      actors_[kGeneral], Def("threats"),
      {{"group", "disaster"}, {"name", "大雪による通勤困難"}, {"affects_availability", true}});
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ((*own)["code"], "T-3-L01");
  EXPECT_EQ((*own)["source"], "body");
  auto none = service_->Create(actors_[kGeneral], Def("threats"),
                               {{"group", "disaster"}, {"name", "何も損なわない"}});
  EXPECT_EQ(FirstField(none), "affects_confidentiality");
  auto forged = service_->Create(actors_[kGeneral], Def("threats"),
                                 {{"group", "disaster"},
                                  {"name", "x"},
                                  {"source", "catalog"},
                                  {"affects_availability", true}});
  EXPECT_EQ(FirstField(forged), "source");
}

TEST_F(RisksTest, ImpactIsProposedFromTheAssetsAndScoresFollowTheMatrix) {
  // T-2-02 affects confidentiality; the terminal is 機密性3, the highest: impact 5 of 5.
  const json r = Scenario("5_2");
  EXPECT_EQ(r["risk_no"], "R-000001");
  EXPECT_EQ(r["proposed_impact"], "5_5");
  EXPECT_EQ(r["impact"], "5_5");
  EXPECT_EQ(r["inherent_score"], 10);
  EXPECT_EQ(r["inherent_level"], "high");
  EXPECT_EQ(r["owner"], actors_[kOwner].user_id);
  EXPECT_TRUE(r["residual_level"].is_null());
  // A lower impact than proposed is allowed with a warning kept in the history.
  auto lower = Update(kOwner, r["id"], {{"impact", "5_3"}});
  ASSERT_TRUE(lower.ok()) << lower.error().message;
  EXPECT_EQ((*lower)["inherent_score"], 6);
  EXPECT_EQ((*lower)["inherent_level"], "medium");
  ASSERT_TRUE(lower->contains("warnings"));
  EXPECT_EQ((*lower)["warnings"][0]["field"], "impact");
  // Residual risk: both values, never above the inherent one.
  EXPECT_EQ(FirstField(Update(kOwner, r["id"], {{"residual_likelihood", "5_1"}})),
            "residual_impact");
  EXPECT_EQ(FirstField(Update(kOwner, r["id"],
                              {{"residual_likelihood", "5_5"}, {"residual_impact", "5_5"}})),
            "residual_impact");
  auto residual = Update(kOwner, r["id"],
                         {{"treatment", "reduce"},
                          {"controls", "C-6-3-02、C-6-4-01"},
                          {"residual_likelihood", "5_1"},
                          {"residual_impact", "5_3"}});
  ASSERT_TRUE(residual.ok()) << residual.error().message;
  EXPECT_EQ((*residual)["residual_score"], 3);
  EXPECT_EQ((*residual)["residual_level"], "low");
  EXPECT_EQ(FirstField(Update(kOwner, r["id"], {{"controls", "C-9-9-99"}})), "controls");
  // A value of the matrix not chosen is refused.
  EXPECT_EQ(FirstField(Update(kOwner, r["id"], {{"likelihood", "3_2"}})), "likelihood");
  // Scope: a kind needs the kind and no asset.
  auto group = service_->Create(actors_[kOwner], Def("risks"),
                                {{"title", "端末全般"},
                                 {"threat", Threat("T-2-02")},
                                 {"section", section_},
                                 {"scope", "kind"},
                                 {"likelihood", "5_1"},
                                 {"impact", "5_1"}});
  EXPECT_EQ(FirstField(group), "asset_kind");
  auto kind = service_->Create(actors_[kOwner], Def("risks"),
                               {{"title", "端末全般"},
                                {"threat", Threat("T-2-02")},
                                {"section", section_},
                                {"scope", "kind"},
                                {"asset_kind", "equipment"},
                                {"likelihood", "5_1"}});
  ASSERT_TRUE(kind.ok()) << kind.error().message;
  EXPECT_EQ((*kind)["impact"], "5_5");  // from the terminal, an asset of that kind
}

TEST_F(RisksTest, SwitchingTheMatrixRemapsValuesAndRederivesLevels) {
  const json r = Scenario("5_4", {{"residual_likelihood", "5_2"}, {"residual_impact", "5_3"}});
  EXPECT_EQ(r["inherent_level"], "very_high");  // 4 x 5 = 20
  auto changed = service_->ChangeSetting(cli_, kRiskMatrixSetting, "3x3",
                                         {{"likelihood", {{"5_4", "3_3"}}},
                                          {"impact", {{"5_5", "3_3"}}},
                                          {"proposed_impact", {{"5_5", "3_3"}}},
                                          {"residual_likelihood", {{"5_2", "3_1"}}},
                                          {"residual_impact", {{"5_3", "3_2"}}}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  auto after = service_->Get(cli_, Def("risks"), r["id"]);
  EXPECT_EQ((*after)["likelihood"], "3_3");
  EXPECT_EQ((*after)["inherent_score"], 9);
  EXPECT_EQ((*after)["inherent_level"], "high");
  EXPECT_EQ((*after)["residual_score"], 2);
  EXPECT_EQ((*after)["residual_level"], "low");
  // A value left without a target stops the whole change.
  auto incomplete = service_->ChangeSetting(cli_, kRiskMatrixSetting, "5x5", {});
  EXPECT_FALSE(incomplete.ok());
}

TEST_F(RisksTest, AcceptanceIsDecidedAboveTheOwnerNeverByTheOwner) {
  const json r = Scenario("5_2", {{"impact", "5_4"}});  // 8: medium
  auto accepted = Update(kOwner, r["id"], {{"treatment", "accept"}});
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ((*accepted)["acceptance"], "requested");
  // The owner cannot approve their own risk; a peer of the same rank cannot either.
  EXPECT_EQ(FirstField(Update(kOwner, r["id"], {{"acceptance", "approved"}})), "acceptance");
  EXPECT_EQ(FirstField(Update(kPeer, r["id"], {{"acceptance", "approved"}})), "acceptance");
  // A decision cannot change the assessment at the same time.
  EXPECT_EQ(
      FirstField(Update(kManager, r["id"], {{"acceptance", "approved"}, {"likelihood", "5_1"}})),
      "acceptance");
  // A rejection needs its reason.
  EXPECT_EQ(FirstField(Update(kManager, r["id"], {{"acceptance", "rejected"}})),
            "acceptance_comment");
  // The section manager is above a system staff owner.
  auto ok = Update(kManager, r["id"], {{"acceptance", "approved"}, {"acceptance_comment", "可"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)["accepted_by"], actors_[kManager].user_id);
  EXPECT_EQ((*ok)["accepted_on"], "2026-06-01");
  // A decision is final unless the assessment changes; then it is asked again.
  EXPECT_EQ(FirstField(Update(kManager, r["id"],
                              {{"acceptance", "rejected"}, {"acceptance_comment", "x"}})),
            "acceptance");
  auto reassessed = Update(kOwner, r["id"], {{"likelihood", "5_3"}});
  ASSERT_TRUE(reassessed.ok()) << reassessed.error().message;
  EXPECT_EQ((*reassessed)["acceptance"], "requested");
  EXPECT_TRUE((*reassessed)["accepted_by"].is_null());
  // Leaving 受容 clears the acceptance.
  auto reduce = Update(kOwner, r["id"], {{"treatment", "reduce"}});
  EXPECT_TRUE((*reduce)["acceptance"].is_null());
  // A new risk cannot arrive approved.
  auto forged = service_->Create(actors_[kOwner], Def("risks"),
                                 {{"title", "x"},
                                  {"threat", Threat("T-2-02")},
                                  {"section", section_},
                                  {"asset", terminal_},
                                  {"likelihood", "5_1"},
                                  {"treatment", "accept"},
                                  {"acceptance", "approved"}});
  EXPECT_EQ(FirstField(forged), "acceptance");
  // The history records every decision.
  auto history = service_->History(cli_, Def("risks"), r["id"]);
  int decisions = 0;
  for (const json& e : (*history)["items"]) {
    for (const json& c : e["changes"]) decisions += c["field"] == "accepted_by";
  }
  EXPECT_GE(decisions, 2);  // decided, then cleared on reassessment
}

TEST_F(RisksTest, TheHighestLevelIsTheCisosToAccept) {
  const json r = Scenario("5_5", {{"treatment", "accept"}});  // 25: very high
  EXPECT_EQ(r["inherent_level"], "very_high");
  EXPECT_EQ(r["acceptance"], "requested");
  auto general = Update(kGeneral, r["id"], {{"acceptance", "approved"}});
  EXPECT_EQ(FirstField(general), "acceptance");
  EXPECT_NE(general.error().fields[0].message.find("CISO"), std::string::npos);
  auto ciso = Update(kCiso, r["id"], {{"acceptance", "approved"}});
  ASSERT_TRUE(ciso.ok()) << ciso.error().message;
  EXPECT_EQ((*ciso)["acceptance"], "approved");
  // The CISO's own risk: nobody is above, and the CISO cannot approve it.
  auto own = service_->Create(actors_[kCiso], Def("risks"),
                              {{"title", "y"},
                               {"threat", Threat("T-2-02")},
                               {"section", section_},
                               {"asset", terminal_},
                               {"likelihood", "5_5"},
                               {"treatment", "accept"}});
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(FirstField(Update(kCiso, (*own)["id"], {{"acceptance", "approved"}})), "acceptance");
}

TEST_F(RisksTest, ProposalsFollowTheAssetsUntilCoveredOrDismissed) {
  auto p = risks_->Proposals(cli_, std::nullopt);
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto has = [&](const json& list, const char* id) {
    for (const json& i : list["items"]) {
      if (i["proposal_id"] == id && i["asset"]["id"] == terminal_) return true;
    }
    return false;
  };
  // P-01: equipment in the My Number zone at the highest confidentiality.
  ASSERT_TRUE(has(*p, "P-01")) << p->dump();
  for (const json& i : (*p)["items"]) {
    if (i["proposal_id"] == "P-01") {
      EXPECT_EQ(i["threat"]["code"], "T-2-02");
      EXPECT_EQ(i["impact"], "5_5");
    }
  }
  // A change of the asset changes the proposals: outside the My Number zone P-01 does not
  // apply.
  auto asset = service_->Get(cli_, Def("assets"), terminal_);
  auto moved =
      service_->Update(cli_, Def("assets"), terminal_, (*asset)["version"], {{"zone", "lgwan"}});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_FALSE(has(*risks_->Proposals(cli_, terminal_), "P-01"));
  ASSERT_TRUE(
      service_->Update(cli_, Def("assets"), terminal_, (*moved)["version"], {{"zone", "mynumber"}})
          .ok());
  ASSERT_TRUE(has(*risks_->Proposals(cli_, terminal_), "P-01"));
  // Accepted: a scenario with that threat on the asset covers it.
  Scenario("5_2");
  EXPECT_FALSE(has(*risks_->Proposals(cli_, terminal_), "P-01"));
  // Dismissed with a reason (required), once.
  const json before = *risks_->Proposals(cli_, terminal_);
  ASSERT_GT(before["total"].get<int>(), 0) << before.dump();
  const std::string other = before["items"][0]["proposal"];
  auto no_reason = service_->Create(actors_[kManager], Def("risk_dismissals"),
                                    {{"asset", terminal_}, {"proposal", other}});
  EXPECT_EQ(FirstField(no_reason), "reason");
  auto dismissed = service_->Create(actors_[kManager], Def("risk_dismissals"),
                                    {{"asset", terminal_},
                                     {"proposal", other},
                                     {"reason", "この端末は外部媒体を物理的に封止している"}});
  ASSERT_TRUE(dismissed.ok()) << dismissed.error().message;
  EXPECT_EQ((*dismissed)["section"], section_);
  EXPECT_EQ((*dismissed)["dismissed_by"], actors_[kManager].user_id);
  const json after = *risks_->Proposals(cli_, terminal_);
  EXPECT_EQ(after["total"].get<int>(), before["total"].get<int>() - 1);
  auto twice = service_->Create(actors_[kManager], Def("risk_dismissals"),
                                {{"asset", terminal_}, {"proposal", other}, {"reason", "再度"}});
  EXPECT_EQ(FirstField(twice), "proposal");
}

TEST_F(RisksTest, RoundReportComparesWithTheLastClosedRound) {
  const json a = Scenario("5_2");
  const json b = Scenario("5_1", {{"title", "廃棄した端末からの漏えい"}});
  const int64_t r2025 = Make(Def("risk_rounds"), {{"fiscal_year", 2025}});
  auto open_twice = service_->Create(cli_, Def("risk_rounds"), {{"fiscal_year", 2026}});
  EXPECT_EQ(FirstField(open_twice), "status");  // one open round at a time
  auto cur = service_->Get(cli_, Def("risk_rounds"), r2025);
  EXPECT_EQ((*cur)["title"], "2025年度(令和7年度)リスク評価");
  auto closed = service_->Update(actors_[kGeneral], Def("risk_rounds"), r2025, (*cur)["version"],
                                 {{"status", "closed"}});
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ((*closed)["closed_on"], "2026-06-01");
  EXPECT_EQ(json::parse((*closed)["snapshot"].get<std::string>()).size(), 2u);
  // A closed round keeps its snapshot; only its findings may be added.
  EXPECT_EQ(FirstField(service_->Update(cli_, Def("risk_rounds"), r2025, (*closed)["version"],
                                        {{"status", "open"}})),
            "status");
  ASSERT_TRUE(service_
                  ->Update(cli_, Def("risk_rounds"), r2025, (*closed)["version"],
                           {{"summary", "USB 媒体の管理を重点に"}})
                  .ok());

  // The next year: one risk reassessed, one archived, one added.
  ASSERT_TRUE(Update(kOwner, a["id"], {{"likelihood", "5_4"}}).ok());
  auto bcur = service_->Get(cli_, Def("risks"), b["id"]);
  ASSERT_TRUE(service_->SetArchived(cli_, Def("risks"), b["id"], (*bcur)["version"], true).ok());
  const json c = Scenario("5_3", {{"title", "持ち出した USB メモリの紛失"}});
  const int64_t r2026 = Make(Def("risk_rounds"), {{"fiscal_year", 2026}});
  auto report = risks_->RoundReport(cli_, r2026);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ((*report)["previous"]["id"], r2025);
  EXPECT_EQ((*report)["total"], json({2, 2}));
  ASSERT_EQ((*report)["added"].size(), 1u);
  EXPECT_EQ((*report)["added"][0]["id"], c["id"]);
  ASSERT_EQ((*report)["removed"].size(), 1u);
  EXPECT_EQ((*report)["removed"][0]["id"], b["id"]);
  ASSERT_EQ((*report)["changed"].size(), 1u);
  std::set<std::string> fields;
  for (const json& f : (*report)["changed"][0]["fields"]) fields.insert(f["field"]);
  EXPECT_TRUE(fields.count("likelihood"));
  EXPECT_TRUE(fields.count("inherent_level"));  // 10 high -> 20 very high
  for (const json& f : (*report)["changed"][0]["fields"]) {
    if (f["field"] == "likelihood") {
      EXPECT_EQ(f["from"], "2 まれに起きる");
      EXPECT_EQ(f["to"], "4 よく起きる");
    }
  }
  for (const json& n : (*report)["counts"]) {
    if (n["level"] == "very_high") EXPECT_EQ(n["inherent"], json({0, 1}));
  }
  // The same report as a workbook.
  auto xlsx = risks_->RoundReportXlsx(cli_, r2026);
  ASSERT_TRUE(xlsx.ok());
  EXPECT_EQ(xlsx->substr(0, 2), "PK");
  // The first round has nothing to compare with: everything is added.
  auto first = risks_->RoundReport(cli_, r2025);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE((*first)["previous"].is_null());
  EXPECT_EQ((*first)["added"].size(), 2u);
}

TEST_F(RisksTest, LevelsFollowEditedThresholdsAtStartUp) {
  const json r = Scenario("5_2");  // 2 x 5 = 10: high
  // A level stored under other thresholds (as after an edit of catalog/risk-matrix.toml).
  ASSERT_TRUE(store_
                  ->Write([&](store::Connection& c) -> Status {
                    const store::Value params[] = {r["id"].get<int64_t>()};
                    MAMORI_TRY(c.Exec("UPDATE r_risks SET f_inherent_level = 'medium' WHERE id = ?",
                                      params));
                    return {};
                  })
                  .ok());
  auto n = risks_->RederiveLevels();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto after = service_->Get(cli_, Def("risks"), r["id"]);
  EXPECT_EQ((*after)["inherent_level"], "high");
  EXPECT_EQ((*after)["version"], r["version"].get<int64_t>() + 1);
  EXPECT_EQ(*risks_->RederiveLevels(), 0);
}

TEST_F(RisksTest, TheBodyRenamesLevelsAndMovesThresholdsInOneChange) {
  const json r = Scenario("5_2");    // 2 x 5 = 10: high
  const json top = Scenario("5_4");  // 4 x 5 = 20: very high
  EXPECT_EQ(r["inherent_level"], "high");
  auto changed = risks_->ChangeLevels(
      cli_, {{"names", {{"very_high", {{"ja", "極めて高い"}, {"en", "Critical"}}}}},
             {"thresholds", {{"5x5", {{"high", 12}}}}}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ((*changed)["changed"], 1);  // 10 is now below 高's 12
  auto after = service_->Get(cli_, Def("risks"), r["id"]);
  EXPECT_EQ((*after)["inherent_level"], "medium");
  EXPECT_EQ((*after)["version"], r["version"].get<int64_t>() + 1);
  auto history = service_->History(cli_, Def("risks"), r["id"]);
  EXPECT_EQ((*history)["items"][0]["action"], "reclassify");
  // The matrix and the export say the new name; the grid follows the new threshold.
  auto matrix = risks_->Matrix();
  ASSERT_TRUE(matrix.ok());
  EXPECT_EQ((*matrix)["customized"], true);
  for (const json& l : (*matrix)["levels"]) {
    if (l["key"] == "very_high") EXPECT_EQ(l["label"]["ja"], "極めて高い");
  }
  for (const json& m : (*matrix)["matrices"]) {
    if (m["key"] != "5x5") continue;
    for (const json& g : m["grid"]) {
      if (g["score"] == 10) EXPECT_EQ(g["level"], "medium");
      if (g["score"] == 12) EXPECT_EQ(g["level"], "high");
    }
  }
  auto file = service_->Export(cli_, Def("risks"), ListQuery{}, FileFormat::kCsv);
  ASSERT_TRUE(file.ok());
  EXPECT_NE(file->bytes.find("極めて高い"), std::string::npos);
  EXPECT_EQ(file->bytes.find("非常に高い"), std::string::npos);
  (void)top;

  // Wrong settings name every wrong member and change nothing.
  auto wrong = risks_->ChangeLevels(
      cli_, {{"names",
              {{"low", {{"ja", "極めて高い"}}},
               {"medium", {{"ja", "中位"}, {"en", "low"}}},
               {"extreme", {{"ja", "x"}}}}},
             {"thresholds",
              {{"5x5", {{"low", 2}, {"very_high", 11}}}, {"3x3", {{"high", 10}}}, {"7x7", {}}}}});
  ASSERT_FALSE(wrong.ok());
  std::set<std::string> fields;
  for (const auto& e : wrong.error().fields) fields.insert(e.field);
  EXPECT_TRUE(fields.count("names.low.ja"));              // the same name as very_high's
  EXPECT_TRUE(fields.count("names.extreme"));             // no such level
  EXPECT_TRUE(fields.count("names.medium.en"));           // low's English name, in any case
  EXPECT_TRUE(fields.count("thresholds.5x5.low"));        // the lowest starts at 1
  EXPECT_TRUE(fields.count("thresholds.5x5.very_high"));  // below 高's 12
  EXPECT_TRUE(fields.count("thresholds.3x3.high"));       // beyond 3 x 3 = 9
  EXPECT_TRUE(fields.count("thresholds.7x7"));            // no such matrix
  // A level no score reaches: 高 from 11 and 非常に高い from 12 leave 高 empty.
  auto empty =
      risks_->ChangeLevels(cli_, {{"thresholds", {{"5x5", {{"high", 11}, {"very_high", 12}}}}}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().fields.at(0).field, "thresholds.5x5.high");
  EXPECT_EQ((*service_->Get(cli_, Def("risks"), r["id"]))["inherent_level"], "medium");
  // What a change leaves out keeps its present value: the name stays.
  ASSERT_TRUE(risks_->ChangeLevels(cli_, {{"thresholds", {{"5x5", {{"high", 9}}}}}}).ok());
  for (const json& l : (*risks_->Matrix())["levels"]) {
    if (l["key"] == "very_high") EXPECT_EQ(l["label"]["ja"], "極めて高い");
  }
  EXPECT_EQ((*service_->Get(cli_, Def("risks"), r["id"]))["inherent_level"], "high");
  // Back to the catalog's.
  auto reset = risks_->ChangeLevels(cli_, {{"reset", true}});
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  EXPECT_EQ((*risks_->Matrix())["customized"], false);
  EXPECT_EQ((*service_->Get(cli_, Def("risks"), r["id"]))["inherent_level"], "high");
}

TEST_F(RisksTest, ALevelMovedByNewThresholdsAsksForTheAcceptanceAgain) {
  const json r = Scenario("5_2", {{"impact", "5_4"}});  // 8: medium, decided by a superior
  ASSERT_TRUE(Update(kOwner, r["id"], {{"treatment", "accept"}}).ok());
  auto ok = Update(kManager, r["id"], {{"acceptance", "approved"}, {"acceptance_comment", "可"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  // 非常に高い from 8: only the CISO may accept it now, so the manager's approval lapses.
  auto changed =
      risks_->ChangeLevels(cli_, {{"thresholds", {{"5x5", {{"high", 6}, {"very_high", 8}}}}}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  auto after = service_->Get(cli_, Def("risks"), r["id"]);
  EXPECT_EQ((*after)["inherent_level"], "very_high");
  EXPECT_EQ((*after)["acceptance"], "requested");
  EXPECT_TRUE((*after)["accepted_by"].is_null());
  // Only what differs from the catalog is stored; the same values as the catalog's are none.
  EXPECT_EQ(*service_->Setting(kRiskLevelsSetting, ""),
            R"({"thresholds":{"5x5":{"high":6,"very_high":8}}})");
  ASSERT_TRUE(
      risks_
          ->ChangeLevels(cli_, {{"thresholds", {{"5x5", {{"high", 10}, {"very_high", 20}}}}},
                                {"names", {{"low", {{"ja", "低"}, {"en", "Low"}}}}}})
          .ok());
  EXPECT_EQ(*service_->Setting(kRiskLevelsSetting, "x"), "");
  EXPECT_EQ((*risks_->Matrix())["customized"], false);
  // reset is true or nothing; a change based on a value someone replaced meanwhile is refused.
  auto bad = risks_->ChangeLevels(cli_, {{"reset", false}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().fields.at(0).field, "reset");
  auto stale = service_->ChangeDerivedSetting(cli_, kRiskLevelsSetting, "", {&Def("risks")},
                                              R"({"names":{}})");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace mamori::registers
