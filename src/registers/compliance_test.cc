#include "registers/compliance.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "registers/service.h"
#include "registers/test_support.h"

namespace mamori::registers {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// 2026-06-01 09:00 in Japan.
TimePoint Day(int y, unsigned m, unsigned d) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::sys_days(std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m),
                                                        std::chrono::day(d))) +
      0h);
}

class ComplianceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("compliance-test");
    store_ = std::move(store::OpenSqlite({.path = (dir_ / "t.db").string()})).value();
    registry_ =
        std::move(Registry::Create(testing::ShippedRegisters({{"staff", {"一般職員", "Staff"}}})))
            .value();
    ASSERT_TRUE(store_->Migrate(registry_->Migrations()).ok());
    service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
    compliance_ = std::make_unique<ComplianceService>(
        *store_, *registry_, access_, std::make_shared<policy::Catalog>(testing::ShippedCatalog()),
        clock_);
    const Actor cli{"cli", "local", 0, {}};
    const RegisterDef& users = *registry_->ByKey("users");
    for (const char* login : {"tanaka", "suzuki"}) {
      auto u = service_->Create(cli, users,
                                {{"login", login}, {"name", login}, {"employment_type", "staff"}});
      ASSERT_TRUE(u.ok()) << u.error().message;
      ids_.push_back((*u)["id"].get<int64_t>());
    }
    tanaka_ = Actor{"tanaka", "127.0.0.1", ids_[0], {}};
    suzuki_ = Actor{"suzuki", "127.0.0.1", ids_[1], {}};
    const RegisterDef& units = *registry_->ByKey("org_units");
    auto unit =
        service_->Create(cli, units, {{"code", "J"}, {"name", "事務局"}, {"kind", "bureau"}});
    ASSERT_TRUE(unit.ok()) << unit.error().message;
    auto sec = service_->Create(
        cli, units,
        {{"code", "J1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", (*unit)["id"]}});
    ASSERT_TRUE(sec.ok()) << sec.error().message;
    section_ = (*sec)["id"].get<int64_t>();
  }
  void TearDown() override {
    compliance_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Result<json> Record(const Actor& who, json body) {
    return service_->Create(who, *registry_->ByKey("evidence"), body);
  }
  // A document (規程) with version 1 in force from `effective`, reviewed every `months`.
  int64_t InForceDocument(const std::string& code, const std::string& effective, int months) {
    const Actor cli{"cli", "local", 0, {}};
    auto d = service_->Create(cli, *registry_->ByKey("documents"),
                              {{"code", code},
                               {"title", code + " 委員会設置要綱"},
                               {"kind", "other"},
                               {"review_months", months}});
    EXPECT_TRUE(d.ok()) << d.error().message;
    auto v = service_->Create(cli, *registry_->ByKey("document_versions"),
                              {{"document", (*d)["id"]},
                               {"body", "第1条"},
                               {"status", "in_force"},
                               {"effective_date", effective}});
    EXPECT_TRUE(v.ok()) << v.error().message;
    return (*d)["id"].get<int64_t>();
  }
  json ControlStatus(const std::string& id) {
    auto s = compliance_->Status(tanaka_);
    EXPECT_TRUE(s.ok());
    for (const json& c : (*s)["controls"]) {
      if (c["id"] == id) return c;
    }
    ADD_FAILURE() << "no control " << id;
    return json();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  OpenAccess access_;
  testing::NullAudit audit_;
  FixedClock clock_{Day(2026, 6, 1)};
  std::unique_ptr<RegisterService> service_;
  std::unique_ptr<ComplianceService> compliance_;
  std::vector<int64_t> ids_;
  Actor tanaka_, suzuki_;
  int64_t section_ = 0;
};

TEST_F(ComplianceTest, StatusFollowsEvidenceAndItsExpiry) {
  // C-6-1-02 (委員会の運営) needs a document and an attestation.
  EXPECT_EQ(ControlStatus("C-6-1-02")["status"], "unknown");
  const int64_t rules = InForceDocument("YOKO-1", "2026-06-01", 24);
  auto doc = Record(tanaka_, {{"control", "c_6_1_02"},
                              {"kind", "document"},
                              {"document", rules},
                              {"result", "pass"},
                              {"summary", "情報セキュリティ委員会設置要綱"}});
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ((*doc)["recorded_by"], ids_[0]);
  EXPECT_EQ((*doc)["recorded_on"], "2026-06-01");
  EXPECT_EQ((*doc)["valid_until"], "2027-06-01");  // the control's 12-month review interval
  EXPECT_EQ(ControlStatus("C-6-1-02")["status"], "partial");

  auto att = Record(suzuki_, {{"control", "c_6_1_02"},
                              {"kind", "attestation"},
                              {"result", "pass"},
                              {"summary", "令和8年度第1回委員会 議事録"},
                              {"valid_until", "2026-12-31"}});
  ASSERT_TRUE(att.ok()) << att.error().message;
  // An attestation without a file is a claim, not evidence: not counted yet.
  json c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "partial");
  EXPECT_EQ(c["evidence"][1]["state"], "missing");
  EXPECT_EQ(c["evidence"][1]["unattached"], 1);
  auto file = service_->AddAttachment(suzuki_, *registry_->ByKey("evidence"), (*att)["id"],
                                      "第1回委員会議事録.pdf", "%PDF-1.7 minutes", 1 << 20);
  ASSERT_TRUE(file.ok()) << file.error().message;
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "implemented");
  EXPECT_EQ(c["evidence"][1]["state"], "fresh");
  EXPECT_EQ(c["evidence"][1]["record"]["attachments"], 1);
  EXPECT_FALSE(c["evidence"][1].contains("unattached"));

  // The attestation runs out at the end of 2026; the document a year after it was recorded.
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(214)));
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "partial");
  EXPECT_EQ(c["evidence"][1]["state"], "expired");
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(160)));
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "not_implemented");  // evidence exists, none of it holds
  EXPECT_EQ(c["evidence"][0]["state"], "expired");
}

TEST_F(ComplianceTest, FailedCheckAndLatestEvidenceDecide) {
  const Actor engine{"service:netcheck-fw1", "10.0.0.5", 0, {}};
  auto fail = Record(engine, {{"control", "c_6_3_02"},
                              {"kind", "automated_netcheck"},
                              {"result", "fail"},
                              {"summary", "1 件の違反"},
                              {"raw", "{\"result\":\"violations\"}"}});
  ASSERT_TRUE(fail.ok()) << fail.error().message;
  EXPECT_EQ((*fail)["source"], "service:netcheck-fw1");
  EXPECT_TRUE((*fail)["recorded_by"].is_null());
  EXPECT_EQ((*fail)["raw_sha256"].get<std::string>().size(), 64u);
  json c = ControlStatus("C-6-3-02");
  EXPECT_EQ(c["evidence"][0]["state"], "failed");
  EXPECT_EQ(c["status"], "not_implemented");
  ASSERT_TRUE(Record(engine, {{"control", "c_6_3_02"},
                              {"kind", "automated_netcheck"},
                              {"result", "pass"},
                              {"summary", "違反なし"}})
                  .ok());
  EXPECT_EQ(ControlStatus("C-6-3-02")["status"], "partial");  // the document is still missing
}

TEST_F(ComplianceTest, OneEngineRecordStandsForEveryControlAskingForItsKind) {
  // The controls that ask for a network-separation proof, and their review intervals.
  const policy::Catalog catalog = testing::ShippedCatalog();
  std::map<std::string, int> asking;  // id -> review months
  int longest = 0;
  for (const auto& c : catalog.controls) {
    if (std::find(c.evidence.begin(), c.evidence.end(), "automated:netcheck") == c.evidence.end()) {
      continue;
    }
    asking[c.id] = c.review_months;
    longest = std::max(longest, c.review_months);
  }
  ASSERT_GE(asking.size(), 2u);
  ASSERT_EQ(asking.at("C-6-3a-01"), 3);
  ASSERT_EQ(asking.at("C-6-3-01"), 12);
  ASSERT_EQ(longest, 12);

  const Actor engine{"service:netcheck-fw1", "10.0.0.5", 0, {}};
  auto run = Record(engine, {{"control", kEveryControl},
                             {"kind", "automated_netcheck"},
                             {"result", "pass"},
                             {"summary", "違反なし"},
                             {"raw", "{\"result\":\"ok\"}"}});
  ASSERT_TRUE(run.ok()) << run.error().message;
  // It holds as long as the longest review interval of the controls it stands for; each
  // control counts it within its own.
  EXPECT_EQ((*run)["valid_until"], "2027-06-01");
  const std::map<int, std::string> until{{3, "2026-09-01"}, {6, "2026-12-01"}, {12, "2027-06-01"}};
  for (const auto& [id, months] : asking) {
    const json c = ControlStatus(id);
    const json* e = nullptr;
    for (const json& k : c["evidence"]) {
      if (k["kind"] == "automated:netcheck") e = &k;
    }
    ASSERT_NE(e, nullptr) << id;
    EXPECT_EQ((*e)["state"], "fresh") << id;
    EXPECT_EQ((*e)["record"]["id"], (*run)["id"]) << id;
    EXPECT_EQ((*e)["records"], 1) << id;
    EXPECT_EQ((*e)["record"]["valid_until"], until.at(months)) << id;
  }
  // Controls that ask for other kinds are untouched.
  EXPECT_EQ(ControlStatus("C-6-1-02")["status"], "unknown");

  // A later record for one control is that control's latest; the others keep the shared one.
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(1)));
  auto own = Record(engine, {{"control", "c_6_3_02"},
                             {"kind", "automated_netcheck"},
                             {"result", "fail"},
                             {"summary", "1 件の違反"}});
  ASSERT_TRUE(own.ok()) << own.error().message;
  json c = ControlStatus("C-6-3-02");
  EXPECT_EQ(c["evidence"][0]["state"], "failed");
  EXPECT_EQ(c["evidence"][0]["record"]["id"], (*own)["id"]);
  EXPECT_EQ(c["evidence"][0]["records"], 2);
  c = ControlStatus("C-6-3a-01");
  EXPECT_EQ(c["evidence"][0]["state"], "fresh");
  EXPECT_EQ(c["evidence"][0]["records"], 1);
  // A later shared record is the latest again for every one of them.
  auto again = Record(engine, {{"control", kEveryControl},
                               {"kind", "automated_netcheck"},
                               {"result", "pass"},
                               {"summary", "違反なし"}});
  ASSERT_TRUE(again.ok()) << again.error().message;
  c = ControlStatus("C-6-3-02");
  EXPECT_EQ(c["evidence"][0]["state"], "fresh");
  EXPECT_EQ(c["evidence"][0]["record"]["id"], (*again)["id"]);
  EXPECT_EQ(c["evidence"][0]["records"], 3);

  // Only automated results stand for every control; a person names one control.
  auto typed = Record(tanaka_, {{"control", kEveryControl},
                                {"kind", "attestation"},
                                {"result", "pass"},
                                {"summary", "点検しました"}});
  ASSERT_FALSE(typed.ok());
  ASSERT_FALSE(typed.error().fields.empty());
  EXPECT_EQ(typed.error().fields[0].field, "control");
  EXPECT_NE(typed.error().fields[0].message.find("自動確認の結果にだけ"), std::string::npos);
  // Nor may a shared record outlast the longest review interval.
  auto late = Record(engine, {{"control", kEveryControl},
                              {"kind", "automated_netcheck"},
                              {"result", "pass"},
                              {"summary", "違反なし"},
                              {"valid_until", "2027-06-03"}});
  ASSERT_FALSE(late.ok());
  ASSERT_EQ(late.error().fields.size(), 1u);
  EXPECT_EQ(late.error().fields[0].field, "valid_until");
  EXPECT_NE(late.error().fields[0].message.find("最も長い見直し周期"), std::string::npos);
  // Four months on, a 3-month control no longer counts the last shared record; a 12-month
  // control still does.
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(120)));
  const auto netcheck_state = [&](const std::string& id) {
    const json c = ControlStatus(id);
    for (const json& k : c["evidence"]) {
      if (k["kind"] == "automated:netcheck") return k["state"].get<std::string>();
    }
    return std::string();
  };
  EXPECT_EQ(netcheck_state("C-6-3a-01"), "expired");
  EXPECT_EQ(netcheck_state("C-6-3-01"), "fresh");
}

TEST_F(ComplianceTest, MonitorReportsAreReadOnceWithinTheirBounds) {
  const Actor engine{"service:monitor-1", "10.0.0.5", 0, {}};
  const auto report = [&](const std::string& control, const std::string& ran_at,
                          const json& alerts) {
    const json raw{{"report", "mamori-monitor"},
                   {"ran_at", ran_at},
                   {"health", {{"healthy", true}, {"events", 10}}},
                   {"zones", {{{"name", "mynumber"}, {"description", "マイナンバー"}}}},
                   {"alerts_total", alerts.size()},
                   {"alerts_left_out", 1},
                   {"alerts", alerts}};
    auto r = Record(engine, {{"control", control},
                             {"kind", "automated_monitor"},
                             {"result", "pass"},
                             {"summary", "通信監視"},
                             {"raw", raw.dump()}});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return (*r)["id"].get<int64_t>();
  };
  const json a{{"kind", "separation"}, {"severity", "high"}, {"ts", "2026-06-01T00:00:00Z"},
               {"src", "10.0.0.1"},    {"dst", "10.1.0.1"},  {"evidence", {"conn.log:1"}}};
  json b = a;
  b["severity"] = "critical";
  b["evidence"] = {"conn.log:2"};
  // An earlier version's report, posted once per control (same raw, same account).
  const int64_t old = report("c_6_3b_01", "2026-06-01T00:10:00Z", {a});
  const json old_raw = json::parse(
      service_->Get(tanaka_, *registry_->ByKey("evidence"), old).value()["raw"].get<std::string>());
  for (const char* control : {"c_6_6_02", "c_6_7_01"}) {
    ASSERT_TRUE(Record(engine, {{"control", control},
                                {"kind", "automated_monitor"},
                                {"result", "pass"},
                                {"summary", "通信監視"},
                                {"raw", old_raw.dump()}})
                    .ok());
  }
  const int64_t second = report(kEveryControl, "2026-06-01T01:00:00Z", {a, b});
  const int64_t third = report(kEveryControl, "2026-06-01T02:00:00Z", json::array());
  auto all = compliance_->MonitorReports(tanaka_, 7);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ((*all)["reports"].size(), 3u);  // the old report once
  EXPECT_EQ((*all)["reports"][0]["id"], third);
  EXPECT_EQ((*all)["reports"][1]["id"], second);
  EXPECT_EQ((*all)["reports"][2]["id"], old + 2);  // the old report by its newest copy
  EXPECT_EQ((*all)["latest"]["record"], third);
  EXPECT_FALSE((*all)["latest"].contains("alerts"));
  // a is in two reports: once, the newer copy; b (critical) first.
  ASSERT_EQ((*all)["alerts"].size(), 2u);
  EXPECT_EQ((*all)["alerts"][0]["severity"], "critical");
  EXPECT_EQ((*all)["alerts"][1]["report"], second);
  EXPECT_EQ((*all)["alerts_left_out"], 3);
  EXPECT_EQ((*all)["zones"]["mynumber"], "マイナンバー");

  // Bounds: two reports read, one alert returned; the rest listed and counted.
  auto bounded = compliance_->MonitorReports(tanaka_, 7, {10, 2, size_t{1} << 20, 1});
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ((*bounded)["reports"].size(), 3u);
  EXPECT_EQ((*bounded)["reports_total"], 3);
  EXPECT_EQ((*bounded)["reports_read"], 2);
  EXPECT_EQ((*bounded)["reports_unread"], 1);
  EXPECT_EQ((*bounded)["reports"][2]["read"], false);
  ASSERT_EQ((*bounded)["alerts"].size(), 1u);
  EXPECT_EQ((*bounded)["alerts_total"], 2);
  EXPECT_EQ((*bounded)["alerts_left_out"], 2);  // by the two reports read
  EXPECT_EQ((*bounded)["alerts_beyond"], 1);    // by the bound of one alert

  // Raw results of any shape (a service account posts what it likes) are read without failing.
  for (const char* raw :
       {R"({"report": 5})", R"({"report": "mamori-monitor", "health": {"healthy": "yes"},
                           "zones": [1, {"name": 2}], "alerts": [1, {"kind": 3}, {"kind": "x", "evidence": [4]}]})",
        "[1, 2]", "not json", R"({"report": "mamori-monitor", "health": 1, "alerts": {}})"}) {
    auto odd = compliance_->MonitorReports(tanaka_, 7);
    ASSERT_TRUE(odd.ok());
    ASSERT_TRUE(Record(engine, {{"control", kEveryControl},
                                {"kind", "automated_monitor"},
                                {"result", "fail"},
                                {"summary", "通信監視"},
                                {"raw", raw}})
                    .ok())
        << raw;
    auto read = compliance_->MonitorReports(tanaka_, 7);
    ASSERT_TRUE(read.ok()) << raw;
  }
  auto odd = compliance_->MonitorReports(tanaka_, 7);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)["unreadable"], 3);       // 5, an array, not JSON
  EXPECT_EQ((*odd)["reports"].size(), 8u);  // the three reports and the five odd ones
  EXPECT_EQ((*odd)["reports"][0]["healthy"], false);
  const int64_t newest = (*odd)["reports"][0]["id"];
  // The window: a week later only what is recorded since, and the newest report however old
  // (a monitor that stopped is not one never set up).
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(8)));
  auto later = compliance_->MonitorReports(tanaka_, 7);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ((*later)["reports"].size(), 1u);
  EXPECT_EQ((*later)["reports_total"], 1);
  EXPECT_EQ((*later)["latest"]["record"], newest);
  EXPECT_FALSE(compliance_->MonitorReports(tanaka_, 0).ok());
  EXPECT_FALSE(compliance_->MonitorReports(tanaka_, 32).ok());
}

TEST_F(ComplianceTest, EvidenceRules) {
  // A kind the control does not ask for.
  auto wrong = Record(
      tanaka_,
      {{"control", "c_6_1_02"}, {"kind", "self_inspection"}, {"result", "pass"}, {"summary", "x"}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().fields.at(0).field, "kind");
  // People cannot type in automated results.
  auto typed = Record(tanaka_, {{"control", "c_6_3_02"},
                                {"kind", "automated_netcheck"},
                                {"result", "pass"},
                                {"summary", "x"}});
  ASSERT_FALSE(typed.ok());
  // Nor forge who recorded, when, or a hash.
  const int64_t rules = InForceDocument("YOKO-1", "2026-06-01", 12);
  auto forged = Record(tanaka_, {{"control", "c_6_1_02"},
                                 {"kind", "document"},
                                 {"document", rules},
                                 {"result", "pass"},
                                 {"summary", "x"},
                                 {"recorded_by", ids_[1]},
                                 {"recorded_on", "2026-05-01"},
                                 {"raw", "abc"},
                                 {"raw_sha256", std::string(64, 'a')}});
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().fields.size(), 3u);
  // Longer than the review interval.
  auto too_long = Record(tanaka_, {{"control", "c_6_1_02"},
                                   {"kind", "document"},
                                   {"document", rules},
                                   {"result", "pass"},
                                   {"summary", "x"},
                                   {"valid_until", "2027-06-02"}});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().fields.at(0).field, "valid_until");
  // Evidence is never changed once made.
  auto ok = Record(tanaka_, {{"control", "c_6_1_02"},
                             {"kind", "document"},
                             {"document", rules},
                             {"result", "pass"},
                             {"summary", "要綱"}});
  ASSERT_TRUE(ok.ok());
  auto changed = service_->Update(tanaka_, *registry_->ByKey("evidence"), (*ok)["id"], 1,
                                  {{"summary", "別の要綱"}});
  ASSERT_FALSE(changed.ok());
}

TEST_F(ComplianceTest, DocumentEvidenceFollowsTheDocumentInForce) {
  const Actor cli{"cli", "local", 0, {}};
  const RegisterDef& versions = *registry_->ByKey("document_versions");
  // Document evidence names the document it rests on; other kinds name none.
  auto unlinked = Record(
      tanaka_,
      {{"control", "c_6_1_02"}, {"kind", "document"}, {"result", "pass"}, {"summary", "要綱"}});
  ASSERT_FALSE(unlinked.ok());
  ASSERT_EQ(unlinked.error().fields.size(), 1u);
  EXPECT_EQ(unlinked.error().fields[0].field, "document");
  EXPECT_NE(unlinked.error().fields[0].message.find("規程"), std::string::npos);

  // A document not in force yet: recorded with a warning, not counted.
  auto d = service_->Create(
      cli, *registry_->ByKey("documents"),
      {{"code", "YOKO-1"}, {"title", "委員会設置要綱"}, {"kind", "other"}, {"review_months", 3}});
  ASSERT_TRUE(d.ok());
  const int64_t doc = (*d)["id"];
  auto misplaced = Record(suzuki_, {{"control", "c_6_1_02"},
                                    {"kind", "attestation"},
                                    {"document", doc},
                                    {"result", "pass"},
                                    {"summary", "x"}});
  ASSERT_FALSE(misplaced.ok());
  EXPECT_EQ(misplaced.error().fields.at(0).field, "document");
  auto early = Record(tanaka_, {{"control", "c_6_1_02"},
                                {"kind", "document"},
                                {"document", doc},
                                {"result", "pass"},
                                {"summary", "委員会設置要綱"}});
  ASSERT_TRUE(early.ok()) << early.error().message;
  ASSERT_TRUE(early->contains("warnings"));
  EXPECT_EQ((*early)["warnings"][0]["field"], "document");
  json c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "unknown");
  EXPECT_EQ(c["evidence"][0]["state"], "missing");
  EXPECT_EQ(c["evidence"][0]["uncounted"], 1);
  EXPECT_EQ(c["evidence"][0]["document"]["state"], "not_in_force");

  // 施行 on 2026-06-01, reviewed every 3 months: counts until 2026-09-01.
  auto v1 = service_->Create(cli, versions,
                             {{"document", doc},
                              {"body", "第1条"},
                              {"status", "in_force"},
                              {"effective_date", "2026-06-01"}});
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["status"], "partial");
  EXPECT_EQ(c["evidence"][0]["state"], "fresh");
  EXPECT_EQ(c["evidence"][0]["record"]["id"], (*early)["id"]);
  EXPECT_EQ(c["evidence"][0]["document"]["state"], "in_force");
  EXPECT_EQ(c["evidence"][0]["document"]["counts"], true);
  EXPECT_EQ(c["evidence"][0]["document"]["code"], "YOKO-1");
  EXPECT_EQ(c["evidence"][0]["document"]["version"]["id"], (*v1)["id"]);
  EXPECT_EQ(c["evidence"][0]["document"]["review_due"], "2026-09-01");
  EXPECT_FALSE(c["evidence"][0].contains("uncounted"));

  // A record made before the link was required names no document: never counted, and why.
  auto legacy = Record(tanaka_, {{"control", "c_6_3_02"},
                                 {"kind", "document"},
                                 {"document", doc},
                                 {"result", "pass"},
                                 {"summary", "構成図"}});
  ASSERT_TRUE(legacy.ok());
  ASSERT_TRUE(store_
                  ->Write([&](store::Connection& conn) -> Status {
                    const store::Value p[] = {(*legacy)["id"].get<int64_t>()};
                    auto n = conn.Exec("UPDATE r_evidence SET f_document = NULL WHERE id = ?", p);
                    if (!n.ok()) return n.error();
                    return {};
                  })
                  .ok());
  json old = ControlStatus("C-6-3-02");
  EXPECT_EQ(old["evidence"][1]["kind"], "document");
  EXPECT_EQ(old["evidence"][1]["state"], "missing");
  EXPECT_EQ(old["evidence"][1]["document"]["state"], "unlinked");
  EXPECT_EQ(old["evidence"][1]["uncounted"], 1);

  // The review lapses: the evidence no longer holds (expired, not missing).
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(92)));
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["evidence"][0]["state"], "expired");
  EXPECT_EQ(c["evidence"][0]["document"]["state"], "review_overdue");
  EXPECT_EQ(c["evidence"][0]["document"]["counts"], false);
  EXPECT_EQ(c["status"], "not_implemented");

  // Revised: version 2 in force from today (version 1 abolished) counts again.
  auto v2 = service_->Create(cli, versions,
                             {{"document", doc},
                              {"body", "第1条 改正"},
                              {"status", "in_force"},
                              {"effective_date", "2026-09-01"}});
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  ASSERT_TRUE(
      service_->Update(cli, versions, (*v1)["id"], (*v1)["version"], {{"status", "abolished"}})
          .ok());
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["evidence"][0]["state"], "fresh");
  EXPECT_EQ(c["evidence"][0]["document"]["version"]["id"], (*v2)["id"]);
  EXPECT_EQ(c["status"], "partial");

  // 廃止: nothing in force; the control's status follows.
  ASSERT_TRUE(
      service_->Update(cli, versions, (*v2)["id"], (*v2)["version"], {{"status", "abolished"}})
          .ok());
  c = ControlStatus("C-6-1-02");
  EXPECT_EQ(c["evidence"][0]["state"], "expired");
  EXPECT_EQ(c["evidence"][0]["document"]["state"], "abolished");
  EXPECT_NE(c["evidence"][0]["document"]["reason"]["ja"].get<std::string>().find("廃止"),
            std::string::npos);
  EXPECT_EQ(c["status"], "not_implemented");
}

TEST_F(ComplianceTest, ExceptionNeedsAnotherPersonToApprove) {
  const RegisterDef& ex = *registry_->ByKey("control_exceptions");
  auto req = service_->Create(tanaka_, ex,
                              {{"control", "c_6_1_02"},
                               {"title", "委員会の開催延期"},
                               {"section", section_},
                               {"reason", "災害対応のため"},
                               {"measures", "書面で報告する"},
                               {"expires_on", "2026-12-31"}});
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ((*req)["status"], "requested");
  EXPECT_EQ((*req)["requested_by"], ids_[0]);
  const int64_t id = (*req)["id"];
  // Not by the requester.
  auto own = service_->Update(tanaka_, ex, id, 1, {{"status", "approved"}});
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().fields.at(0).field, "status");
  EXPECT_EQ(ControlStatus("C-6-1-02")["exception"], nullptr);
  auto approved = service_->Update(suzuki_, ex, id, 1, {{"status", "approved"}});
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_EQ((*approved)["decided_by"], ids_[1]);
  EXPECT_EQ((*approved)["decided_on"], "2026-06-01");
  EXPECT_EQ(ControlStatus("C-6-1-02")["exception"]["id"], id);
  // A decision is final.
  auto again = service_->Update(suzuki_, ex, id, 2, {{"expires_on", "2027-01-31"}});
  ASSERT_FALSE(again.ok());
  // More than a year is refused.
  auto long_req = service_->Create(tanaka_, ex,
                                   {{"control", "c_6_1_02"},
                                    {"title", "長期"},
                                    {"section", section_},
                                    {"reason", "r"},
                                    {"measures", "m"},
                                    {"expires_on", "2027-06-03"}});
  ASSERT_FALSE(long_req.ok());
  // After expiry the exception no longer applies.
  clock_.Advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(214)));
  EXPECT_EQ(ControlStatus("C-6-1-02")["exception"], nullptr);
}

TEST_F(ComplianceTest, RegisterEvidenceAndUnavailableRegisters) {
  // C-6-1-05 needs the organization and role assignment registers to be kept.
  json c = ControlStatus("C-6-1-05");
  EXPECT_EQ(c["evidence"][0]["state"], "fresh");  // two units were just created
  EXPECT_EQ(c["evidence"][1]["state"], "missing");
  EXPECT_EQ(c["status"], "partial");
  // A register later issues build is unavailable, never counted as present.
  auto s = compliance_->Status(tanaka_);
  ASSERT_TRUE(s.ok());
  bool saw_unavailable = false;
  for (const json& ctl : (*s)["controls"]) {
    for (const json& e : ctl["evidence"]) {
      if (e["kind"] == "register:incidents") {
        EXPECT_EQ(e["state"], "unavailable");
        saw_unavailable = true;
      }
    }
  }
  EXPECT_TRUE(saw_unavailable);
  // Totals add up and every measure has a section row.
  const json& t = (*s)["totals"];
  EXPECT_EQ(t["controls"].get<int>(), t["implemented"].get<int>() + t["partial"].get<int>() +
                                          t["not_implemented"].get<int>() +
                                          t["unknown"].get<int>());
  EXPECT_GE((*s)["sections"].size(), 11u);
  auto xlsx = compliance_->ReportXlsx(tanaka_);
  ASSERT_TRUE(xlsx.ok());
  EXPECT_EQ(xlsx->substr(0, 2), "PK");
  auto html = compliance_->ReportHtml(tanaka_);
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("C-6-1-05"), std::string::npos);
}

TEST_F(ComplianceTest, AttachmentsKeepBytesAndTheServersHash) {
  const RegisterDef& evidence = *registry_->ByKey("evidence");
  auto att = Record(tanaka_, {{"control", "c_6_1_02"},
                              {"kind", "attestation"},
                              {"result", "pass"},
                              {"summary", "研修の実施記録"}});
  ASSERT_TRUE(att.ok()) << att.error().message;
  const int64_t id = (*att)["id"];
  std::string bytes("\x89PNG\r\n\x1a\n", 8);
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>(i * 7 % 256));

  auto added =
      service_->AddAttachment(tanaka_, evidence, id, "実施記録 (写し).png", bytes, 1 << 20);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ((*added)["sha256"], Sha256Hex(bytes));
  EXPECT_EQ((*added)["size"], bytes.size());
  EXPECT_EQ((*added)["content_type"], "image/png");
  EXPECT_EQ((*added)["uploaded_by"], "tanaka");

  auto file = service_->GetAttachment(suzuki_, evidence, id, (*added)["id"]);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->bytes, bytes);
  EXPECT_EQ(file->name, "実施記録 (写し).png");
  EXPECT_EQ(file->sha256, Sha256Hex(bytes));
  // Another record's id does not reach this file.
  auto other = Record(tanaka_, {{"control", "c_6_1_02"},
                                {"kind", "document"},
                                {"document", InForceDocument("YOKO-1", "2026-06-01", 12)},
                                {"result", "pass"},
                                {"summary", "要綱"}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(service_->GetAttachment(tanaka_, evidence, (*other)["id"], (*added)["id"]).error().code,
            ErrorCode::kNotFound);

  // Only the one who recorded the evidence attaches; files of evidence are never removed.
  auto by_other = service_->AddAttachment(suzuki_, evidence, id, "b.pdf", "%PDF-", 1 << 20);
  ASSERT_FALSE(by_other.ok());
  EXPECT_EQ(by_other.error().code, ErrorCode::kPermissionDenied);
  Status removed = service_->RemoveAttachment(tanaka_, evidence, id, (*added)["id"]);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, ErrorCode::kInvalidInput);
  // The same name twice, an empty file, a file over the limit.
  EXPECT_EQ(service_->AddAttachment(tanaka_, evidence, id, "実施記録 (写し).png", "x", 1 << 20)
                .error()
                .code,
            ErrorCode::kConflict);
  auto empty = service_->AddAttachment(tanaka_, evidence, id, "empty.txt", "", 1 << 20);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().fields.at(0).field, "file");
  auto big =
      service_->AddAttachment(tanaka_, evidence, id, "big.bin", std::string(2049, 'x'), 2048);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(big.error().message.find("2 KiB"), std::string::npos) << big.error().message;

  auto list = service_->ListAttachments(tanaka_, evidence, id);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ((*list)["items"].size(), 1u);
  EXPECT_EQ((*list)["items"][0]["sha256"], Sha256Hex(bytes));
  EXPECT_FALSE((*list)["items"][0].contains("bytes"));
  EXPECT_TRUE((*list)["can_add"]);
  EXPECT_FALSE((*list)["can_remove"]);
  EXPECT_FALSE((*service_->ListAttachments(suzuki_, evidence, id))["can_add"]);

  // The change is in the record's history, with the hash.
  auto history = service_->History(tanaka_, evidence, id);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)["items"][0]["action"], "attach");
  EXPECT_NE((*history)["items"][0]["changes"][0]["to"].get<std::string>().find(Sha256Hex(bytes)),
            std::string::npos);

  // Archived evidence takes no more files.
  auto archived = service_->SetArchived(tanaka_, evidence, id, (*att)["version"], true);
  ASSERT_TRUE(archived.ok()) << archived.error().message;
  EXPECT_EQ(
      service_->AddAttachment(tanaka_, evidence, id, "late.pdf", "%PDF-", 1 << 20).error().code,
      ErrorCode::kConflict);
  // A register without attachments has none.
  EXPECT_EQ(
      service_->ListAttachments(tanaka_, *registry_->ByKey("org_units"), section_).error().code,
      ErrorCode::kNotFound);
}

TEST(AttachmentNames, RefusePathsControlsAndDisguises) {
  EXPECT_TRUE(CheckAttachmentName("規程別紙1.pdf").ok());
  EXPECT_TRUE(CheckAttachmentName("report v2 (final).docx").ok());
  for (const std::string& bad :
       {std::string(""), std::string("../etc/passwd"), std::string("a/b.pdf"),
        std::string("C:\\x.pdf"), std::string("a\nb.pdf"), std::string("a\x7f.pdf"),
        std::string("..", 2), std::string("."), std::string("name."), std::string(" lead.pdf"),
        std::string("a\xe2\x80\xae"
                    "fdp.exe"),       // U+202E RIGHT-TO-LEFT OVERRIDE
        std::string("\xc2\x85.pdf"),  // U+0085, a C1 control
        std::string("\xff.pdf"), std::string(201, 'a'), std::string("a*b.pdf")}) {
    Status st = CheckAttachmentName(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().fields.at(0).field, "name") << bad;
  }
  EXPECT_TRUE(CheckAttachmentName(std::string(200, 'a')).ok());
  // Japanese names count characters, not bytes: 200 kanji are 600 bytes.
  std::string kanji;
  for (int i = 0; i < 200; ++i) kanji += "漢";
  EXPECT_TRUE(CheckAttachmentName(kanji).ok());
}

TEST(AttachmentContentTypes, DecidedFromTheBytes) {
  EXPECT_EQ(AttachmentContentType("%PDF-1.4\n"), "application/pdf");
  EXPECT_EQ(AttachmentContentType(std::string("\x89PNG\r\n\x1a\nrest", 12)), "image/png");
  EXPECT_EQ(AttachmentContentType("\xff\xd8\xff\xe0"), "image/jpeg");
  EXPECT_EQ(AttachmentContentType("GIF89a..."), "image/gif");
  // HTML, SVG and scripts are served as bytes to save, never as something a browser runs.
  EXPECT_EQ(AttachmentContentType("<html><script>alert(1)</script>"), "application/octet-stream");
  EXPECT_EQ(AttachmentContentType("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "application/octet-stream");
  EXPECT_EQ(AttachmentContentType("%PD"), "application/octet-stream");
}

}  // namespace
}  // namespace mamori::registers
