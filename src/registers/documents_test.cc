#include "registers/documents.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "registers/service.h"
#include "registers/test_support.h"

namespace mamori::registers {
namespace {

using nlohmann::json;

std::string Ops(const std::vector<DiffLine>& lines) {
  std::string out;
  for (const auto& l : lines) out += std::string(1, l.op) + l.text + "|";
  return out;
}

TEST(DiffLines, ShortestEditScript) {
  EXPECT_EQ(Ops(*DiffLines("a\nb\nc\n", "a\nb\nc\n")), "=a|=b|=c|");
  EXPECT_EQ(Ops(*DiffLines("", "x\ny")), "+x|+y|");
  EXPECT_EQ(Ops(*DiffLines("x\ny\n", "")), "-x|-y|");
  EXPECT_EQ(Ops(*DiffLines("a\nb\nc", "a\nB\nc")), "=a|-b|+B|=c|");
  EXPECT_EQ(Ops(*DiffLines("第1条\r\n第2条\r\n", "第1条\n第1条の2\n第2条\n")),
            "=第1条|+第1条の2|=第2条|");
  // The classic Myers example: 5 edits.
  auto d = DiffLines("a\nb\nc\na\nb\nb\na", "c\nb\na\nb\na\nc");
  ASSERT_TRUE(d.ok());
  int edits = 0;
  std::string old_text, new_text;
  for (const auto& l : *d) {
    edits += l.op != '=';
    if (l.op != '+') old_text += l.text;
    if (l.op != '-') new_text += l.text;
  }
  EXPECT_EQ(edits, 5);
  EXPECT_EQ(old_text, "abcabba");
  EXPECT_EQ(new_text, "cbabac");
  std::string big;
  for (int i = 0; i < 20001; ++i) big += "x\n";
  EXPECT_EQ(DiffLines(big, "").error().code, ErrorCode::kTooLarge);
}

class DocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("documents-test");
    store_ = std::move(store::OpenSqlite({.path = (dir_ / "t.db").string()})).value();
    std::vector<EnumOption> roles;
    for (const char* r : {"staff", "security_manager", "security_general", "ciso"}) {
      roles.push_back({r, {r, r}, {}, {}});
    }
    auto reg = Registry::Create(testing::ShippedRegisters(roles));
    ASSERT_TRUE(reg.ok()) << reg.error().message_en;
    registry_ = std::move(reg).value();
    ASSERT_TRUE(store_->Migrate(registry_->Migrations()).ok());
    service_ = std::make_unique<RegisterService>(*store_, *registry_, access_, audit_, clock_);
    docs_ = std::make_unique<DocumentService>(*store_, *service_, *registry_, access_, clock_);
    const RegisterDef& units = *registry_->ByKey("org_units");
    bureau_ = Make(units, {{"code", "J"}, {"name", "事務局"}, {"kind", "bureau"}});
    section_ =
        Make(units, {{"code", "J1"}, {"name", "総務課"}, {"kind", "section"}, {"parent", bureau_}});
    other_ =
        Make(units, {{"code", "J2"}, {"name", "給付課"}, {"kind", "section"}, {"parent", bureau_}});
    // drafter (staff), two section managers, the general officer, the CISO, and a staff member.
    const char* logins[] = {"drafter", "kacho", "kacho2", "tokatsu", "ciso", "ippan"};
    const char* role_of[] = {
        "staff", "security_manager", "security_manager", "security_general", "ciso", "staff"};
    for (int i = 0; i < 6; ++i) {
      const int64_t id = Make(
          *registry_->ByKey("users"),
          {{"login", logins[i]}, {"name", logins[i]}, {"section", i == 5 ? other_ : section_}});
      Make(*registry_->ByKey("role_assignments"), {{"user", id},
                                                   {"role", role_of[i]},
                                                   {"scope_kind", "body"},
                                                   {"valid_from", "2026-04-01"}});
      actors_.push_back(Actor{logins[i], "127.0.0.1", id, {{role_of[i], "body", {}, ""}}});
    }
  }
  void TearDown() override {
    docs_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t Make(const RegisterDef& def, const json& body) {
    auto r = service_->Create(cli_, def, body);
    EXPECT_TRUE(r.ok()) << def.key << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? (*r)["id"].get<int64_t>() : 0;
  }
  const RegisterDef& Def(const char* key) { return *registry_->ByKey(key); }
  Result<json> Decide(int who, int64_t version, json body) {
    body["doc_version"] = version;
    return service_->Create(actors_[who], Def("document_decisions"), body);
  }
  Result<json> SetStatus(int who, int64_t id, const std::string& status,
                         json extra = json::object()) {
    auto cur = service_->Get(cli_, Def("document_versions"), id);
    extra["status"] = status;
    return service_->Update(actors_[who], Def("document_versions"), id, (*cur)["version"], extra);
  }
  // A 対策基準 version drafted by the drafter and submitted for review.
  int64_t Submitted() {
    doc_ = Make(Def("documents"),
                {{"code", "STD-01"}, {"title", "情報セキュリティ対策基準"}, {"kind", "standards"}});
    auto v = service_->Create(
        actors_[0], Def("document_versions"),
        {{"document", doc_}, {"body", "第1条 目的\n第2条 定義\n"}, {"change_summary", "制定"}});
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    EXPECT_EQ((*v)["name"], "STD-01 第1版");
    EXPECT_EQ((*v)["kind"], "standards");
    EXPECT_EQ((*v)["status"], "draft");
    const int64_t id = (*v)["id"];
    auto r = SetStatus(0, id, "review");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    EXPECT_EQ((*r)["round"], 1);
    return id;
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
  std::unique_ptr<DocumentService> docs_;
  const Actor cli_{"cli", "local", 0, {}};
  std::vector<Actor> actors_;
  int64_t bureau_ = 0, section_ = 0, other_ = 0, doc_ = 0;
};

TEST_F(DocumentsTest, RouteWithDeputy) {
  const int64_t v = Submitted();
  // Not in step order by role, not by the drafter.
  auto by_ciso = Decide(4, v, {{"decision", "approve"}});
  ASSERT_FALSE(by_ciso.ok());
  EXPECT_EQ(by_ciso.error().fields.at(0).field, "decided_by");
  auto step1 = Decide(1, v, {{"decision", "approve"}, {"comment", "異議なし"}});
  ASSERT_TRUE(step1.ok()) << step1.error().message;
  EXPECT_EQ((*step1)["step"], 1);
  EXPECT_EQ((*step1)["role"], "security_manager");
  EXPECT_EQ((*step1)["decided_on"], "2026-06-01");
  // Not approved until every step has.
  EXPECT_FALSE(SetStatus(3, v, "approved").ok());
  ASSERT_TRUE(Decide(3, v, {{"decision", "approve"}}).ok());
  // The CISO is absent: the general officer decides as deputy (代決), naming the CISO.
  auto no_holder = Decide(3, v, {{"decision", "approve"}, {"deputy", true}});
  ASSERT_FALSE(no_holder.ok());
  EXPECT_EQ(no_holder.error().fields.at(0).field, "absent_holder");
  auto wrong_holder = Decide(
      3, v, {{"decision", "approve"}, {"deputy", true}, {"absent_holder", actors_[1].user_id}});
  ASSERT_FALSE(wrong_holder.ok());
  // A section manager cannot deputize for the CISO (only the step below can).
  auto low = Decide(
      2, v, {{"decision", "approve"}, {"deputy", true}, {"absent_holder", actors_[4].user_id}});
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.error().fields.at(0).field, "deputy");
  auto deputy = Decide(
      3, v, {{"decision", "approve"}, {"deputy", true}, {"absent_holder", actors_[4].user_id}});
  ASSERT_TRUE(deputy.ok()) << deputy.error().message;
  EXPECT_EQ((*deputy)["step"], 3);
  EXPECT_EQ((*deputy)["role"], "ciso");
  // Every step decided: no fourth decision; the version is 決裁.
  EXPECT_FALSE(Decide(4, v, {{"decision", "approve"}}).ok());
  auto approved = SetStatus(0, v, "approved");
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  // Body cannot change any more; 施行 needs a date.
  auto cur = service_->Get(cli_, Def("document_versions"), v);
  EXPECT_FALSE(
      service_
          ->Update(actors_[0], Def("document_versions"), v, (*cur)["version"], {{"body", "改ざん"}})
          .ok());
  auto no_date = SetStatus(3, v, "in_force");
  ASSERT_FALSE(no_date.ok());
  EXPECT_EQ(no_date.error().fields.at(0).field, "effective_date");
  ASSERT_TRUE(SetStatus(3, v, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  // Decisions are final.
  auto changed = service_->Update(actors_[1], Def("document_decisions"), (*step1)["id"], 1,
                                  {{"comment", "後から"}});
  EXPECT_FALSE(changed.ok());
}

TEST_F(DocumentsTest, OnePersonOneStepAndReturn) {
  const int64_t v = Submitted();
  ASSERT_TRUE(Decide(1, v, {{"decision", "approve"}}).ok());
  // The section manager cannot also approve the next step as themselves.
  actors_[1].roles.push_back({"security_general", "body", {}, ""});
  auto twice = Decide(1, v, {{"decision", "approve"}});
  ASSERT_FALSE(twice.ok());
  // The general officer returns it: no more decisions; the drafter fixes and resubmits.
  ASSERT_TRUE(Decide(3, v, {{"decision", "return"}, {"comment", "第2条を直すこと"}}).ok());
  EXPECT_FALSE(Decide(4, v, {{"decision", "approve"}}).ok());
  EXPECT_FALSE(SetStatus(0, v, "approved").ok());
  ASSERT_TRUE(SetStatus(0, v, "draft").ok());
  auto cur = service_->Get(cli_, Def("document_versions"), v);
  ASSERT_TRUE(service_
                  ->Update(actors_[0], Def("document_versions"), v, (*cur)["version"],
                           {{"body", "第1条 目的\n第2条 用語\n"}})
                  .ok());
  auto again = SetStatus(0, v, "review");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["round"], 2);
  // The new round starts at step 1.
  auto step1 = Decide(2, v, {{"decision", "approve"}});
  ASSERT_TRUE(step1.ok()) << step1.error().message;
  EXPECT_EQ((*step1)["step"], 1);
  EXPECT_EQ((*step1)["round"], 2);
}

TEST_F(DocumentsTest, AcknowledgementAndDiff) {
  const int64_t v = Submitted();
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, v, {{"decision", "approve"}}).ok());
  ASSERT_TRUE(SetStatus(0, v, "approved").ok());
  // Not before it is in force.
  EXPECT_FALSE(service_->Create(actors_[5], Def("acknowledgements"), {{"doc_version", v}}).ok());
  ASSERT_TRUE(SetStatus(3, v, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  auto pending = docs_->PendingAcknowledgements(actors_[5]);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ((*pending)["items"].size(), 1u);
  EXPECT_EQ((*pending)["items"][0]["version"], v);
  auto ack = service_->Create(actors_[5], Def("acknowledgements"), {{"doc_version", v}});
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ((*ack)["user"], actors_[5].user_id);
  EXPECT_EQ((*ack)["section"], other_);
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[5]))["items"].size(), 0u);
  // Once, and only for oneself.
  EXPECT_FALSE(service_->Create(actors_[5], Def("acknowledgements"), {{"doc_version", v}}).ok());
  EXPECT_FALSE(service_
                   ->Create(actors_[5], Def("acknowledgements"),
                            {{"doc_version", v}, {"user", actors_[0].user_id}})
                   .ok());
  auto progress = docs_->AcknowledgementProgress(actors_[3], v);
  ASSERT_TRUE(progress.ok()) << progress.error().message;
  EXPECT_EQ((*progress)["totals"]["users"], 6);
  EXPECT_EQ((*progress)["totals"]["acknowledged"], 1);
  EXPECT_DOUBLE_EQ((*progress)["totals"]["percent"].get<double>(), 16.6);
  EXPECT_EQ((*progress)["pending"].size(), 5u);
  ASSERT_EQ((*progress)["sections"].size(), 2u);
  EXPECT_EQ((*progress)["bureaus"][0]["users"], 6);

  // A second version: the diff shows what changed.
  auto v2 = service_->Create(
      actors_[0], Def("document_versions"),
      {{"document", doc_}, {"body", "第1条 目的\n第2条 用語の定義\n第3条 適用範囲\n"}});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)["version_no"], 2);
  auto diff = docs_->Diff(actors_[3], v, (*v2)["id"]);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ((*diff)["added"], 2);
  EXPECT_EQ((*diff)["removed"], 1);
  EXPECT_EQ((*diff)["lines"][0]["op"], "=");
}

TEST_F(DocumentsTest, SectionScopedProceduresReachOnlyTheirStaff) {
  const int64_t d = Make(Def("documents"), {{"code", "PROC-J1"},
                                            {"title", "総務課 実施手順"},
                                            {"kind", "procedures"},
                                            {"section", section_}});
  auto v = service_->Create(actors_[0], Def("document_versions"),
                            {{"document", d}, {"body", "手順"}, {"route", "full"}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["section"], section_);
  const int64_t id = (*v)["id"];
  ASSERT_TRUE(SetStatus(0, id, "review").ok());
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, id, {{"decision", "approve"}}).ok());
  ASSERT_TRUE(SetStatus(0, id, "approved").ok());
  ASSERT_TRUE(SetStatus(3, id, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  // The staff member of 給付課 is outside its scope.
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[5]))["items"].size(), 0u);
  EXPECT_FALSE(service_->Create(actors_[5], Def("acknowledgements"), {{"doc_version", id}}).ok());
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[0]))["items"].size(), 1u);
  auto progress = docs_->AcknowledgementProgress(actors_[3], id);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ((*progress)["totals"]["users"], 5);  // 総務課's five
}

TEST_F(DocumentsTest, RemindersReachOnlyThoseInScopeWhoHaveNotAcknowledged) {
  const RegisterDef& reminders = Def("acknowledgement_reminders");
  const int64_t v = Submitted();
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, v, {{"decision", "approve"}}).ok());
  ASSERT_TRUE(SetStatus(0, v, "approved").ok());
  // Not before it is in force.
  auto early = service_->Create(actors_[3], reminders, {{"doc_version", v}});
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().fields.at(0).field, "doc_version");
  ASSERT_TRUE(SetStatus(3, v, "in_force", {{"effective_date", "2026-05-20"}}).ok());
  ASSERT_TRUE(service_->Create(actors_[5], Def("acknowledgements"), {{"doc_version", v}}).ok());

  // Everyone but the one who acknowledged: five.
  auto sent = service_->Create(actors_[3], reminders, {{"doc_version", v}});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ((*sent)["recipients"], 5);
  EXPECT_EQ((*sent)["sent_by"], actors_[3].user_id);
  EXPECT_EQ((*sent)["sent_on"], "2026-06-01");
  EXPECT_TRUE((*sent)["section"].is_null());
  // The count is the server's, never typed in.
  auto forged = service_->Create(actors_[3], reminders, {{"doc_version", v}, {"recipients", 1}});
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().fields.at(0).field, "recipients");

  // The reminded see it with their pending document; the one who acknowledged does not.
  auto mine = docs_->PendingAcknowledgements(actors_[0]);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ((*mine)["items"].size(), 1u);
  EXPECT_EQ((*mine)["items"][0]["reminder"]["sent_on"], "2026-06-01");
  EXPECT_EQ((*mine)["items"][0]["reminder"]["count"], 1);
  EXPECT_EQ((*mine)["items"][0]["outstanding_days"], 12);
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[5]))["items"].size(), 0u);
  // Acknowledging ends it for that person.
  ASSERT_TRUE(service_->Create(actors_[0], Def("acknowledgements"), {{"doc_version", v}}).ok());
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[0]))["items"].size(), 0u);

  // A section's procedures: only that section's staff who have not acknowledged.
  const int64_t d = Make(Def("documents"), {{"code", "PROC-J1"},
                                            {"title", "総務課 実施手順"},
                                            {"kind", "procedures"},
                                            {"section", section_}});
  auto p = service_->Create(actors_[0], Def("document_versions"),
                            {{"document", d}, {"body", "手順"}, {"route", "full"}});
  ASSERT_TRUE(p.ok());
  const int64_t pid = (*p)["id"];
  ASSERT_TRUE(SetStatus(0, pid, "review").ok());
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, pid, {{"decision", "approve"}}).ok());
  ASSERT_TRUE(SetStatus(0, pid, "approved").ok());
  ASSERT_TRUE(SetStatus(3, pid, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  ASSERT_TRUE(service_->Create(actors_[1], Def("acknowledgements"), {{"doc_version", pid}}).ok());
  auto scoped = service_->Create(actors_[3], reminders, {{"doc_version", pid}});
  ASSERT_TRUE(scoped.ok()) << scoped.error().message;
  EXPECT_EQ((*scoped)["recipients"], 4);  // 総務課's five but the one who acknowledged
  EXPECT_EQ((*scoped)["section"], section_);
  EXPECT_EQ((*docs_->PendingAcknowledgements(actors_[5]))["items"].size(), 0u);  // 給付課
  auto again = service_->Create(actors_[1], reminders, {{"doc_version", pid}});
  ASSERT_TRUE(again.ok());
  // The progress view: how many reminders, and the latest.
  auto progress = docs_->AcknowledgementProgress(actors_[3], pid);
  ASSERT_TRUE(progress.ok()) << progress.error().message;
  EXPECT_EQ((*progress)["reminders"]["count"], 2);
  EXPECT_EQ((*progress)["reminders"]["last"]["id"], (*again)["id"]);
  EXPECT_EQ((*progress)["reminders"]["last"]["sent_by_name"], "kacho");
  EXPECT_EQ((*progress)["reminders"]["last"]["recipients"], 4);
  EXPECT_EQ((*progress)["pending"].size(), 4u);  // the same people the reminder counted

  // Once everyone in scope has acknowledged there is nobody to remind.
  for (int who : {0, 2, 3, 4}) {
    ASSERT_TRUE(
        service_->Create(actors_[who], Def("acknowledgements"), {{"doc_version", pid}}).ok());
  }
  auto nobody = service_->Create(actors_[3], reminders, {{"doc_version", pid}});
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().fields.at(0).field, "doc_version");
  EXPECT_EQ((*docs_->AcknowledgementProgress(actors_[3], v))["reminders"]["count"], 1);
}

TEST_F(DocumentsTest, ReviewsFallDueAfterTheDocumentsInterval) {
  const int64_t v = Submitted();
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, v, {{"decision", "approve"}}).ok());
  ASSERT_TRUE(SetStatus(0, v, "approved").ok());
  ASSERT_TRUE(SetStatus(3, v, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  // Twelve months by default: not due within 30 days.
  EXPECT_EQ((*docs_->ReviewsDue(actors_[3]))["items"].size(), 0u);
  auto doc = service_->Get(cli_, Def("documents"), doc_);
  ASSERT_TRUE(
      service_->Update(cli_, Def("documents"), doc_, (*doc)["version"], {{"review_months", 1}})
          .ok());
  auto due = docs_->ReviewsDue(actors_[3]);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ((*due)["items"].size(), 1u);
  const json& item = (*due)["items"][0];
  EXPECT_EQ(item["version"], v);
  EXPECT_EQ(item["due_on"], "2026-07-01");
  EXPECT_EQ(item["overdue"], false);
  EXPECT_TRUE(item["revision"].is_null());
  EXPECT_EQ((*docs_->ReviewsDue(actors_[3], 29))["items"].size(), 0u);
  // A revision being drafted is shown with the reminder.
  auto v2 = service_->Create(actors_[0], Def("document_versions"),
                             {{"document", doc_}, {"body", "改正案"}});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*docs_->ReviewsDue(actors_[3]))["items"][0]["revision"], (*v2)["id"]);
}

TEST_F(DocumentsTest, PublicPdfOnlyOfPublishedPublicVersions) {
  // A 対策基準 is never published.
  const int64_t standards = Submitted();
  EXPECT_EQ(docs_->PublicPdf(actors_[0], standards).error().code, ErrorCode::kInvalidInput);
  const int64_t kihon =
      Make(Def("documents"),
           {{"code", "KIHON"}, {"title", "情報セキュリティ基本方針"}, {"kind", "basic_policy"}});
  auto v = service_->Create(actors_[0], Def("document_versions"),
                            {{"document", kihon},
                             {"body", "## 1 目的\n\n情報資産の機密性を維持する。\n"},
                             {"change_summary", "制定"}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  const int64_t id = (*v)["id"];
  // A draft is not published either.
  auto draft = docs_->PublicPdf(actors_[0], id);
  ASSERT_FALSE(draft.ok());
  EXPECT_EQ(draft.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(docs_->PublicPdf(actors_[0], 999999).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(SetStatus(0, id, "review").ok());
  for (int who : {1, 3, 4}) ASSERT_TRUE(Decide(who, id, {{"decision", "approve"}}).ok()) << who;
  ASSERT_TRUE(SetStatus(0, id, "approved").ok());
  ASSERT_TRUE(SetStatus(3, id, "in_force", {{"effective_date", "2026-06-01"}}).ok());
  auto pdf = docs_->PublicPdf(actors_[5], id);
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  EXPECT_EQ(pdf->name, "情報セキュリティ基本方針_KIHON_第1版.pdf");
  EXPECT_EQ(pdf->bytes.substr(0, 5), "%PDF-");
  // Dated by the service's clock.
  EXPECT_NE(pdf->bytes.find("20260601000000"), std::string::npos);
}

TEST_F(DocumentsTest, AttachmentsChangeOnlyWhileDrafting) {
  const RegisterDef& versions = Def("document_versions");
  doc_ = Make(Def("documents"),
              {{"code", "STD-02"}, {"title", "対策基準 別紙"}, {"kind", "standards"}});
  auto v = service_->Create(actors_[0], versions, {{"document", doc_}, {"body", "本文"}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  const int64_t id = (*v)["id"];
  auto a = service_->AddAttachment(actors_[0], versions, id, "別紙1 様式.pdf", "%PDF-1.7", 1 << 20);
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = service_->AddAttachment(actors_[0], versions, id, "別紙2.txt", "text", 1 << 20);
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(service_->RemoveAttachment(actors_[0], versions, id, (*b)["id"]).ok());
  EXPECT_EQ((*service_->ListAttachments(actors_[0], versions, id))["items"].size(), 1u);

  // Once submitted, the files are part of what is decided: neither added nor removed.
  ASSERT_TRUE(SetStatus(0, id, "review").ok());
  auto late = service_->AddAttachment(actors_[0], versions, id, "別紙3.pdf", "%PDF-", 1 << 20);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kConflict);
  EXPECT_EQ(late.error().fields.at(0).field, "status");
  EXPECT_NE(late.error().message.find("審査"), std::string::npos) << late.error().message;
  EXPECT_EQ(service_->RemoveAttachment(actors_[0], versions, id, (*a)["id"]).error().code,
            ErrorCode::kConflict);
  auto list = service_->ListAttachments(actors_[0], versions, id);
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE((*list)["can_add"]);
  EXPECT_FALSE((*list)["can_remove"]);
  EXPECT_TRUE((*list).contains("refusal"));
}

}  // namespace
}  // namespace mamori::registers
