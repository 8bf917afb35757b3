// 規程: documents, versions and their 決裁 route, acknowledgements; the diff of two versions.
#include "registers/documents.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/markdown.h"
#include "common/text.h"
#include "policy/duties.h"
#include "registers/document_pdf.h"
#include "registers/org_units.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

struct Route {
  const char* value;
  std::vector<std::string> roles;
  const char* ja;
  const char* en;
};

const std::vector<Route>& Routes() {
  static const std::vector<Route> routes = {
      {"full",
       {"security_manager", "security_general", "ciso"},
       "課長(情報セキュリティ管理者) → 統括情報セキュリティ責任者 → CISO",
       "Section manager → general security officer → CISO"},
      {"bureau",
       {"security_manager", "security_officer"},
       "課長(情報セキュリティ管理者) → 情報セキュリティ責任者",
       "Section manager → bureau security officer"},
      {"general",
       {"security_general", "ciso"},
       "統括情報セキュリティ責任者 → CISO",
       "General security officer → CISO"},
  };
  return routes;
}

const Route* FindRoute(const std::string& value) {
  for (const auto& r : Routes()) {
    if (value == r.value) return &r;
  }
  return nullptr;
}

const char* RoleJa(const std::string& role) {
  if (role == "security_manager") return "情報セキュリティ管理者";
  if (role == "security_general") return "統括情報セキュリティ責任者";
  if (role == "security_officer") return "情報セキュリティ責任者";
  if (role == "ciso") return "CISO";
  return "決裁者";
}

std::vector<EnumOption> KindOptions() {
  return {{"basic_policy", {"基本方針", "Basic policy"}, {}, {}},
          {"standards", {"対策基準", "Security standards"}, {}, {}},
          {"procedures", {"実施手順", "Procedures"}, {}, {}},
          {"other", {"その他の規程", "Other rules"}, {}, {}}};
}

const char* StatusJa(const std::string& s) {
  if (s == "draft") return "起案";
  if (s == "review") return "審査";
  if (s == "approved") return "決裁";
  if (s == "in_force") return "施行";
  if (s == "abolished") return "廃止";
  return "?";
}

int64_t IdOf(const json& v) { return v.is_number_integer() ? v.get<int64_t>() : 0; }

// Whether the actor holds `role` today over the document's section (any scope when the
// document has none).
bool ActorHolds(RuleContext& ctx, const std::string& role, const json& section) {
  for (const auto& g : ctx.actor().roles) {
    if (g.role != role) continue;
    if (g.scope_kind == "body" || !section.is_number_integer()) return true;
    if (std::find(g.units.begin(), g.units.end(), section.get<int64_t>()) != g.units.end()) {
      return true;
    }
  }
  return false;
}

// Whether `user` holds `role` on `date` by an active assignment (any scope).
bool UserHolds(RuleContext& ctx, const json& user, const std::string& role,
               const std::string& date) {
  for (const json& a : ctx.Find("role_assignments", "user", user, 1000)) {
    const std::string to = TextOf(a, "valid_to");
    if (a["role"] == role && TextOf(a, "valid_from") <= date && (to.empty() || to >= date)) {
      return true;
    }
  }
  return false;
}

// The decisions of the version's current round, in step order.
std::vector<json> RoundDecisions(RuleContext& ctx, const json& version) {
  std::vector<json> out;
  for (const json& d : ctx.Find("document_decisions", "doc_version", version["id"], 10000)) {
    if (d["round"] == version["round"]) out.push_back(d);
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return IdOf(a["id"]) < IdOf(b["id"]); });
  return out;
}

// --- 規程 -------------------------------------------------------------------------------------

void CheckDocument(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (!rec.contains("id")) return;
  auto stored = ctx.Lookup("documents", rec["id"].get<int64_t>());
  if (stored && (*stored)["kind"] != rec["kind"] &&
      ctx.Count("document_versions", "document", rec["id"]) > 0) {
    AddError(errors, "kind", "種別", "版がある規程の種別は変えられません(公開の範囲が変わるため)。",
             "the kind of a document with versions cannot change");
  }
}

// --- 版 ---------------------------------------------------------------------------------------

void CompleteVersion(json& rec, RuleContext& ctx) {
  if (!rec["document"].is_number_integer()) return;
  auto doc = ctx.Lookup("documents", rec["document"].get<int64_t>());
  if (!doc) return;
  if (rec["version_no"].is_null()) {
    int64_t next = 1;
    for (const json& v : ctx.Find("document_versions", "document", rec["document"], 100000)) {
      next = std::max(next, IdOf(v["version_no"]) + 1);
    }
    rec["version_no"] = next;
  }
  if (rec["name"].is_null() && rec["version_no"].is_number_integer()) {
    rec["name"] =
        TextOf(*doc, "code") + " 第" + std::to_string(rec["version_no"].get<int64_t>()) + "版";
  }
  if (rec["kind"].is_null()) rec["kind"] = (*doc)["kind"];
  if (rec["section"].is_null()) rec["section"] = (*doc)["section"];
  if (rec["round"].is_null()) rec["round"] = 0;
  if (rec["drafted_by"].is_null() && ctx.actor().user_id != 0) {
    rec["drafted_by"] = ctx.actor().user_id;
  }
  if (rec["drafted_on"].is_null()) rec["drafted_on"] = ctx.today();
}

// Submitting for 審査 opens a new round of decisions.
void CompleteVersionChange(json& rec, RuleContext& ctx) {
  auto stored = ctx.Lookup("document_versions", rec["id"].get<int64_t>());
  if (!stored) return;
  if ((*stored)["status"] == "draft" && rec["status"] == "review" &&
      rec["round"] == (*stored)["round"]) {
    rec["round"] = IdOf((*stored)["round"]) + 1;
  }
}

void CheckVersion(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  const std::string status = TextOf(rec, "status");
  const bool by_user = ctx.actor().user_id != 0;
  std::optional<json> doc;
  if (rec["document"].is_number_integer())
    doc = ctx.Lookup("documents", rec["document"].get<int64_t>());
  if (doc && (rec["kind"] != (*doc)["kind"] || rec["section"] != (*doc)["section"])) {
    AddError(errors, "kind", "種別", "版の種別と対象課室は規程のものです(指定できません)。",
             "a version's kind and section are its document's");
  }
  if (!rec.contains("id")) {
    if (by_user && status != "draft") {
      AddError(errors, "status", "状態", "新しい版は「起案」で作ります。",
               "a new version starts as draft");
    }
    if (by_user && rec["drafted_by"] != ctx.actor().user_id) {
      AddError(errors, "drafted_by", "起案者", "起案者は、操作している本人です(指定できません)。",
               "the drafter is the person drafting");
    }
    return;
  }
  auto stored = ctx.Lookup("document_versions", rec["id"].get<int64_t>());
  if (!stored || !by_user) return;  // a restore, or an administrative load
  const std::string before = TextOf(*stored, "status");
  for (const char* f : {"document", "version_no", "name", "drafted_by", "drafted_on"}) {
    if ((*stored)[f] != rec[f]) {
      AddError(errors, f, "版", "規程・版番号・起案者は変えられません。", "fixed when drafted");
      return;
    }
  }
  if (before != "draft") {
    for (const char* f : {"body", "change_summary", "route"}) {
      if ((*stored)[f] != rec[f]) {
        AddError(errors, f, "本文",
                 std::string("本文・改正の概要・決裁ルートは「起案」の間だけ直せます(今は「") +
                     StatusJa(before) + "」)。",
                 "the text and route change only while drafting");
        return;
      }
    }
  }
  if (before == status) return;
  static const std::set<std::pair<std::string, std::string>> kMoves = {
      {"draft", "review"},   {"review", "draft"},      {"review", "approved"},
      {"approved", "draft"}, {"approved", "in_force"}, {"in_force", "abolished"},
      {"draft", "abolished"}};
  if (!kMoves.count({before, status})) {
    AddError(
        errors, "status", "状態",
        std::string("「") + StatusJa(before) + "」から「" + StatusJa(status) + "」にはできません。",
        "this status change is not allowed");
    return;
  }
  if (status == "review" && TextOf(rec, "body").empty()) {
    AddError(errors, "body", "本文", "本文のない版は審査に出せません。", "a version needs a text");
  }
  if (status == "approved") {
    const Route* route = FindRoute(TextOf(rec, "route"));
    const auto decisions = RoundDecisions(ctx, rec);
    int64_t approved = 0;
    for (const json& d : decisions) {
      if (d["decision"] == "return") {
        AddError(errors, "status", "状態", "差し戻された版です。起案に戻して直してください。",
                 "the version was returned");
        return;
      }
      ++approved;
    }
    if (route == nullptr || approved < static_cast<int64_t>(route->roles.size())) {
      AddError(errors, "status", "状態",
               "決裁ルートの全員の承認がまだです(" + std::to_string(approved) + "/" +
                   std::to_string(route ? route->roles.size() : 0) + ")。",
               "not every step of the route has approved");
    }
  }
  if ((status == "in_force" || status == "abolished") &&
      !ctx.Allowed("document_versions", Action::kApprove, &rec)) {
    AddError(errors, "status", "状態", "施行・廃止にする権限がありません。",
             "you may not put a version in force or abolish it");
  }
  if (status == "in_force" && TextOf(rec, "effective_date").empty()) {
    AddError(errors, "effective_date", "施行日", "施行日を入れてください。",
             "an effective date is needed");
  }
}

// A version's attachments are part of its text: they change only while it is drafted, so what
// was decided and put in force is what stays attached.
Status CheckVersionAttachments(const json& rec, const Actor&, AttachmentChange change) {
  const std::string status = TextOf(rec, "status");
  if (status == "draft") return {};
  return Error::Conflict(std::string("添付ファイルは「起案」の間だけ") +
                             (change == AttachmentChange::kAdd ? "追加" : "削除") +
                             "できます(今は「" + StatusJa(status) + "」)。",
                         "attachments change only while the version is a draft",
                         {{"status",
                           "状態",
                           "「起案」の版だけ添付ファイルを変えられます。",
                           "only a draft's attachments can change",
                           0,
                           {}}});
}

// --- 決裁記録 -----------------------------------------------------------------------------------

void CompleteDecision(json& rec, RuleContext& ctx) {
  if (rec["decided_by"].is_null() && ctx.actor().user_id != 0)
    rec["decided_by"] = ctx.actor().user_id;
  if (rec["decided_on"].is_null()) rec["decided_on"] = ctx.today();
  if (rec["deputy"].is_null()) rec["deputy"] = false;
  if (!rec["doc_version"].is_number_integer()) return;
  auto version = ctx.Lookup("document_versions", rec["doc_version"].get<int64_t>());
  if (!version) return;
  if (rec["round"].is_null()) rec["round"] = (*version)["round"];
  if (rec["step"].is_null())
    rec["step"] = static_cast<int64_t>(RoundDecisions(ctx, *version).size()) + 1;
  const Route* route = FindRoute(TextOf(*version, "route"));
  if (rec["role"].is_null() && route && rec["step"].is_number_integer()) {
    const int64_t step = rec["step"].get<int64_t>();
    if (step >= 1 && step <= static_cast<int64_t>(route->roles.size())) {
      rec["role"] = route->roles[step - 1];
    }
  }
}

void CheckDecision(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (rec.contains("id")) return;  // a restore: the register is immutable
  if (!rec["doc_version"].is_number_integer()) return;
  auto version = ctx.Lookup("document_versions", rec["doc_version"].get<int64_t>());
  if (!version) return;
  if ((*version)["status"] != "review") {
    AddError(errors, "doc_version", "版", "審査中の版だけが決裁できます。",
             "only versions under review");
    return;
  }
  const auto decisions = RoundDecisions(ctx, *version);
  for (const json& d : decisions) {
    if (d["decision"] == "return") {
      AddError(errors, "doc_version", "版", "この版は差し戻されています。",
               "the version was returned");
      return;
    }
  }
  const Route* route = FindRoute(TextOf(*version, "route"));
  const int64_t step = IdOf(rec["step"]);
  if (route == nullptr || step < 1 || step > static_cast<int64_t>(route->roles.size())) {
    AddError(errors, "doc_version", "版", "決裁ルートの全員がすでに承認しています。",
             "every step has decided");
    return;
  }
  if (rec["round"] != (*version)["round"] || step != static_cast<int64_t>(decisions.size()) + 1 ||
      rec["role"] != route->roles[step - 1]) {
    AddError(errors, "step", "段階", "段階と役割は決裁ルートの次の段です(指定できません)。",
             "the step is the route's next one");
    return;
  }
  if (ctx.actor().user_id == 0) return;  // an administrative load of earlier records
  const json me = ctx.actor().user_id;
  if (rec["decided_by"] != me || TextOf(rec, "decided_on") != ctx.today()) {
    AddError(errors, "decided_by", "決裁者", "決裁者と決裁日は、操作した本人と今日です。",
             "the decision is the actor's, today");
  }
  if (Status st = policy::CheckNotOwnRequest(ctx.actor().user_id, IdOf((*version)["drafted_by"]),
                                             "自分が起案した版の決裁");
      !st.ok()) {
    AddError(errors, "decided_by", "決裁者", st.error().message, st.error().message_en);
    return;
  }
  const std::string role = route->roles[step - 1];
  const json& section = (*version)["section"];
  if (rec["deputy"] == true) {
    // 代決: the holder is absent; a holder of the step below (or another holder of the same role
    // for the first step) decides in their place.
    const std::string deputy_role = step > 1 ? route->roles[step - 2] : role;
    if (!ActorHolds(ctx, deputy_role, section)) {
      AddError(errors, "deputy", "代決",
               std::string("この段(") + RoleJa(role) + ")を代決できるのは、" + RoleJa(deputy_role) +
                   "です。",
               "only the step below may decide as deputy");
    }
    if (!rec["absent_holder"].is_number_integer()) {
      AddError(errors, "absent_holder", "不在の決裁者",
               "代決するときは、不在の決裁者を指定してください。", "name the absent holder");
    } else if (rec["absent_holder"] == me) {
      AddError(errors, "absent_holder", "不在の決裁者", "自分の代わりに代決はできません。",
               "you cannot deputize for yourself");
    } else if (!UserHolds(ctx, rec["absent_holder"], role, ctx.today())) {
      AddError(errors, "absent_holder", "不在の決裁者",
               std::string("不在の決裁者は、今日") + RoleJa(role) + "である人にしてください。",
               "the absent holder must hold the step's role");
    }
  } else {
    if (!rec["absent_holder"].is_null()) {
      AddError(errors, "absent_holder", "不在の決裁者", "代決でないときは指定しません。",
               "only for a deputy decision");
    }
    if (!ActorHolds(ctx, role, section)) {
      AddError(errors, "decided_by", "決裁者",
               std::string("この段を決裁するのは") + RoleJa(role) + "です。",
               "you do not hold this step's role");
    }
    for (const json& d : decisions) {
      if (d["decided_by"] == me && d["deputy"] != true) {
        AddError(errors, "decided_by", "決裁者", "同じ人が二つの段を決裁することはできません。",
                 "one person decides one step");
        break;
      }
    }
  }
}

// --- 周知の確認 ---------------------------------------------------------------------------------

void CompleteAcknowledgement(json& rec, RuleContext& ctx) {
  if (rec["user"].is_null() && ctx.actor().user_id != 0) rec["user"] = ctx.actor().user_id;
  if (rec["acknowledged_on"].is_null()) rec["acknowledged_on"] = ctx.today();
  if (rec["section"].is_null() && rec["user"].is_number_integer()) {
    if (auto u = ctx.Lookup("users", rec["user"].get<int64_t>())) rec["section"] = (*u)["section"];
  }
}

// Whether organization unit `unit` is `scope` or below it.
bool Within(RuleContext& ctx, json unit, const json& scope) {
  for (int depth = 0; depth < 4 && unit.is_number_integer(); ++depth) {
    if (unit == scope) return true;
    auto u = ctx.Lookup("org_units", unit.get<int64_t>());
    if (!u) return false;
    unit = (*u)["parent"];
  }
  return false;
}

void CheckAcknowledgement(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (rec.contains("id")) return;  // a restore: the register is immutable
  if (ctx.actor().user_id != 0) {
    if (rec["user"] != ctx.actor().user_id || TextOf(rec, "acknowledged_on") != ctx.today()) {
      AddError(errors, "user", "職員", "確認は本人が今日行うものです(代わりに確認はできません)。",
               "an acknowledgement is one's own, today");
    }
  }
  if (!rec["doc_version"].is_number_integer()) return;
  auto version = ctx.Lookup("document_versions", rec["doc_version"].get<int64_t>());
  if (!version) return;
  if ((*version)["status"] != "in_force" || TextOf(*version, "effective_date") > ctx.today()) {
    AddError(errors, "doc_version", "版", "施行された版だけを確認できます。",
             "only versions in force");
    return;
  }
  const json& scope = (*version)["section"];
  if (scope.is_number_integer() && !Within(ctx, rec["section"], scope)) {
    AddError(errors, "doc_version", "版", "この版は、あなたの所属の規程ではありません。",
             "the version is outside your section");
  }
  for (const json& other :
       ctx.Find("acknowledgements", "doc_version", rec["doc_version"], 1'000'000)) {
    if (other["user"] == rec["user"]) {
      AddError(errors, "doc_version", "版", "この版は確認済みです。", "already acknowledged");
      return;
    }
  }
}

// --- 督促 ---------------------------------------------------------------------------------------

// Who sent it, when, the version's scope and how many it reaches: filled by the server.
void CompleteReminder(json& rec, RuleContext& ctx) {
  if (rec["sent_by"].is_null() && ctx.actor().user_id != 0) rec["sent_by"] = ctx.actor().user_id;
  if (rec["sent_on"].is_null()) rec["sent_on"] = ctx.today();
  if (!rec["doc_version"].is_number_integer()) return;
  auto version = ctx.Lookup("document_versions", rec["doc_version"].get<int64_t>());
  if (!version) return;
  if (rec["section"].is_null()) rec["section"] = (*version)["section"];
  if (rec["recipients"].is_null()) {
    rec["recipients"] = static_cast<int64_t>(ReminderRecipients(ctx, *version).size());
  }
}

// A reminder is of a version in force the sender may see, reaches at least one person, and says
// truthfully who sent it, when, and to how many.
void CheckReminder(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (rec.contains("id")) return;  // a restore: the register is immutable
  if (ctx.actor().user_id != 0 &&
      (rec["sent_by"] != ctx.actor().user_id || TextOf(rec, "sent_on") != ctx.today())) {
    AddError(errors, "sent_by", "督促者", "督促者と督促日は、操作した本人と今日です。",
             "a reminder is sent by the actor, today");
  }
  if (!rec["doc_version"].is_number_integer()) return;
  auto version = ctx.Lookup("document_versions", rec["doc_version"].get<int64_t>());
  if (!version || !ctx.Allowed("document_versions", Action::kView, &*version)) {
    AddError(errors, "doc_version", "版", "この版は見つかりません。", "no such version");
    return;
  }
  if ((*version)["status"] != "in_force" || TextOf(*version, "effective_date") > ctx.today()) {
    AddError(errors, "doc_version", "版", "督促できるのは施行中の版だけです。",
             "only versions in force");
    return;
  }
  if (rec["section"] != (*version)["section"]) {
    AddError(errors, "section", "対象範囲", "対象範囲は版のものです(指定できません)。",
             "the scope is the version's");
  }
  const auto recipients = static_cast<int64_t>(ReminderRecipients(ctx, *version).size());
  if (recipients == 0) {
    AddError(errors, "doc_version", "版", "対象の職員は全員が確認済みです。督促は不要です。",
             "everyone in scope has acknowledged the version");
  } else if (rec["recipients"] != recipients) {
    AddError(errors, "recipients", "対象者数", "対象者数は指定できません(未確認の職員の数です)。",
             "the number of recipients is counted by the server");
  }
}

// Whole days from `from` to `to` ("YYYY-MM-DD"); 0 when either is not a date.
int64_t DaysBetween(const std::string& from, const std::string& to) {
  auto parse = [](const std::string& d) -> std::optional<std::chrono::sys_days> {
    int y = 0;
    unsigned m = 0, dd = 0;
    if (d.size() != 10 || std::sscanf(d.c_str(), "%4d-%2u-%2u", &y, &m, &dd) != 3) {
      return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                          std::chrono::day(dd)};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days(ymd);
  };
  const auto a = parse(from), b = parse(to);
  if (!a || !b) return 0;
  return (*b - *a).count();
}

json Percent(int64_t done, int64_t all) {
  return all == 0 ? json(nullptr) : json((done * 1000 / all) / 10.0);
}

}  // namespace

RegisterDef DocumentsRegister() {
  RegisterDef d;
  d.key = "documents";
  d.path = "documents";
  d.label = {"規程", "Documents"};
  d.key_field = "code";
  d.title_field = "title";
  d.default_sort = "code";
  d.org_field = "section";
  d.confidential_field = "kind";
  d.confidential_values = {"standards", "procedures"};

  FieldDef code = MakeField("code", FieldType::kText);
  code.label = {"文書番号", "Code"};
  code.required = code.unique = code.searchable = true;
  code.max_length = 40;

  FieldDef title = MakeField("title", FieldType::kText);
  title.label = {"名称", "Title"};
  title.required = title.searchable = true;
  title.max_length = 200;

  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"種別", "Kind"};
  kind.help = {"対策基準と実施手順は非公開です(知る必要のある人だけが見られます)。",
               "Standards and procedures are non-public (need to know)"};
  kind.required = kind.filterable = true;
  kind.options = KindOptions();

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"対象課室", "Section"};
  section.help = {"実施手順など、特定の課室だけの規程のとき。空欄なら組織全体。",
                  "For a section's own rules; empty: the whole body"};
  section.ref = "org_units";
  section.filterable = true;

  FieldDef review = MakeField("review_months", FieldType::kInteger);
  review.label = {"見直し周期(月)", "Review interval (months)"};
  review.help = {"施行日からこの月数で見直し時期になります(空欄は12か月)。",
                 "Months from the effective date until review (default 12)"};
  review.min = 1;
  review.max = 60;

  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Notes"};
  note.max_length = 2000;
  note.list = note.sortable = false;

  d.fields = {code, title, kind, section, review, note};
  d.rules = {CheckDocument};
  return d;
}

RegisterDef DocumentVersionsRegister() {
  RegisterDef d;
  d.key = "document_versions";
  d.path = "documents/versions";
  d.label = {"規程の版", "Document versions"};
  d.key_field = "name";
  d.title_field = "name";
  d.default_sort = "name";
  d.org_field = "section";
  d.confidential_field = "kind";
  d.confidential_values = {"standards", "procedures"};

  FieldDef doc = MakeField("document", FieldType::kRef);
  doc.label = {"規程", "Document"};
  doc.ref = "documents";
  doc.required = doc.filterable = true;

  FieldDef no = MakeField("version_no", FieldType::kInteger);
  no.label = {"版", "Version"};
  no.required = no.generated = no.system = true;
  no.min = 1;

  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"版の名称", "Name"};
  name.required = name.unique = name.generated = name.searchable = name.system = true;
  name.max_length = 80;

  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"種別", "Kind"};
  kind.required = kind.generated = kind.filterable = kind.system = true;
  kind.options = KindOptions();
  kind.list = false;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"対象課室", "Section"};
  section.ref = "org_units";
  section.generated = section.system = true;
  section.list = false;

  FieldDef status = MakeField("status", FieldType::kEnum);
  status.label = {"状態", "Status"};
  status.help = {"起案 → 審査(決裁ルートへ) → 決裁(全員の承認後) → 施行 → 廃止",
                 "Draft → review → approved → in force → abolished"};
  status.required = status.filterable = true;
  status.default_value = "draft";
  status.options = {{"draft", {"起案", "Draft"}, {}, {}},
                    {"review", {"審査", "Under review"}, {}, {}},
                    {"approved", {"決裁", "Approved"}, {}, {}},
                    {"in_force", {"施行", "In force"}, {}, {}},
                    {"abolished", {"廃止", "Abolished"}, {}, {}}};

  FieldDef route = MakeField("route", FieldType::kEnum);
  route.label = {"決裁ルート", "Approval route"};
  route.required = true;
  route.default_value = "full";
  route.list = false;
  for (const auto& r : Routes()) route.options.push_back({r.value, {r.ja, r.en}, {}, {}});

  FieldDef round = MakeField("round", FieldType::kInteger);
  round.label = {"審査の回", "Review round"};
  round.help = {"審査に出すたびに 1 増えます。", "Counts the submissions for review"};
  round.required = round.generated = round.system = true;
  round.min = 0;
  round.list = false;

  FieldDef effective = MakeField("effective_date", FieldType::kDate);
  effective.label = {"施行日", "Effective date"};

  FieldDef summary = MakeField("change_summary", FieldType::kTextarea);
  summary.label = {"改正の概要", "Summary of changes"};
  summary.max_length = 2000;
  summary.searchable = true;
  summary.list = summary.sortable = false;

  FieldDef body = MakeField("body", FieldType::kTextarea);
  body.label = {"本文(Markdown)", "Text (Markdown)"};
  body.max_length = 400'000;
  body.list = body.sortable = false;
  body.detail_only = true;

  FieldDef by = MakeField("drafted_by", FieldType::kRef);
  by.label = {"起案者", "Drafted by"};
  by.ref = "users";
  by.generated = by.system = true;

  FieldDef on = MakeField("drafted_on", FieldType::kDate);
  on.label = {"起案日", "Drafted on"};
  on.required = on.generated = on.system = true;

  d.fields = {doc, no, name, kind, section, status, route, round, effective, summary, body, by, on};
  d.rules = {CheckVersion};
  d.completers = {CompleteVersion};
  d.attachments.enabled = true;
  d.attachments.note = {
      "本文の別紙・様式など。起案の間だけ追加・削除でき、審査に出した後は変えられません。",
      "Annexes and forms; they change only while the version is a draft"};
  d.attachments.rules = {CheckVersionAttachments};
  d.update_completers = {CompleteVersionChange};
  return d;
}

RegisterDef DocumentDecisionsRegister() {
  RegisterDef d;
  d.key = "document_decisions";
  d.path = "documents/decisions";
  d.label = {"決裁記録", "Approval decisions"};
  d.title_field = "doc_version";
  d.default_sort = "decided_on";

  FieldDef version = MakeField("doc_version", FieldType::kRef);
  version.label = {"版", "Version"};
  version.ref = "document_versions";
  version.required = version.filterable = true;

  FieldDef round = MakeField("round", FieldType::kInteger);
  round.label = {"審査の回", "Round"};
  round.required = round.generated = round.system = true;
  round.list = false;

  FieldDef step = MakeField("step", FieldType::kInteger);
  step.label = {"段", "Step"};
  step.required = step.generated = step.system = true;
  step.min = 1;

  FieldDef role = MakeField("role", FieldType::kEnum);
  role.label = {"決裁者の役割", "Role"};
  role.required = role.generated = role.system = true;
  for (const char* r : {"security_manager", "security_officer", "security_general", "ciso"}) {
    role.options.push_back({r, {RoleJa(r), r}, {}, {}});
  }

  FieldDef decision = MakeField("decision", FieldType::kEnum);
  decision.label = {"判断", "Decision"};
  decision.required = decision.filterable = true;
  decision.options = {{"approve", {"承認", "Approve"}, {}, {}},
                      {"return", {"差戻し", "Return"}, {}, {}}};

  FieldDef deputy = MakeField("deputy", FieldType::kBoolean);
  deputy.label = {"代決", "Deputy"};
  deputy.help = {"決裁者が不在のため、一つ下の段の者が代わりに決裁するとき",
                 "Decided in the absent holder's place by the step below"};
  deputy.required = true;

  FieldDef absent = MakeField("absent_holder", FieldType::kRef);
  absent.label = {"不在の決裁者", "Absent holder"};
  absent.ref = "users";

  FieldDef comment = MakeField("comment", FieldType::kTextarea);
  comment.label = {"意見", "Comment"};
  comment.max_length = 2000;
  comment.list = comment.sortable = false;

  FieldDef by = MakeField("decided_by", FieldType::kRef);
  by.label = {"決裁者", "Decided by"};
  by.ref = "users";
  by.generated = by.filterable = by.system = true;

  FieldDef on = MakeField("decided_on", FieldType::kDate);
  on.label = {"決裁日", "Decided on"};
  on.required = on.generated = on.system = true;

  d.fields = {version, round, step, role, decision, deputy, absent, comment, by, on};
  d.immutable = true;
  d.rules = {CheckDecision};
  d.completers = {CompleteDecision};
  return d;
}

RegisterDef AcknowledgementsRegister() {
  RegisterDef d;
  d.key = "acknowledgements";
  d.path = "documents/acknowledgements";
  d.label = {"周知の確認", "Acknowledgements"};
  d.title_field = "doc_version";
  d.default_sort = "acknowledged_on";
  d.org_field = "section";

  FieldDef version = MakeField("doc_version", FieldType::kRef);
  version.label = {"版", "Version"};
  version.ref = "document_versions";
  version.required = version.filterable = true;

  FieldDef user = MakeField("user", FieldType::kRef);
  user.label = {"職員", "Staff member"};
  user.ref = "users";
  user.required = user.generated = user.filterable = user.system = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"所属", "Section"};
  section.ref = "org_units";
  section.generated = section.filterable = section.system = true;

  FieldDef on = MakeField("acknowledged_on", FieldType::kDate);
  on.label = {"確認日", "Acknowledged on"};
  on.required = on.generated = on.system = true;

  d.fields = {version, user, section, on};
  d.immutable = true;
  d.rules = {CheckAcknowledgement};
  d.completers = {CompleteAcknowledgement};
  return d;
}

std::vector<json> ReminderRecipients(RuleContext& ctx, const json& version) {
  constexpr int kMaxUsers = 1'000'000;
  std::map<int64_t, json> parent;  // org unit -> its parent
  for (const json& u : ctx.All("org_units", kMaxUsers)) parent[IdOf(u["id"])] = u["parent"];
  const json& scope = version["section"];
  auto within = [&](json unit) {
    if (!scope.is_number_integer()) return true;
    // 係 → 課室 → 部局: the organization register allows no deeper hierarchy (org_units.cc),
    // and AcknowledgementProgress's SQL looks as far up.
    for (int depth = 0; depth < 3 && unit.is_number_integer(); ++depth) {
      if (unit == scope) return true;
      auto it = parent.find(unit.get<int64_t>());
      if (it == parent.end()) return false;
      unit = it->second;
    }
    return false;
  };
  std::set<int64_t> done;
  for (const json& a : ctx.Find("acknowledgements", "doc_version", version["id"], kMaxUsers)) {
    done.insert(IdOf(a["user"]));
  }
  std::vector<json> out;
  for (const json& u : ctx.All("users", kMaxUsers)) {
    if (u["status"] != "active" || done.count(IdOf(u["id"])) || !within(u["section"])) continue;
    out.push_back(
        {{"id", u["id"]}, {"login", u["login"]}, {"name", u["name"]}, {"section", u["section"]}});
  }
  return out;
}

RegisterDef AcknowledgementRemindersRegister() {
  RegisterDef d;
  d.key = "acknowledgement_reminders";
  d.path = "documents/reminders";
  d.label = {"周知の督促", "Acknowledgement reminders"};
  d.title_field = "doc_version";
  d.default_sort = "sent_on";
  d.org_field = "section";

  FieldDef version = MakeField("doc_version", FieldType::kRef);
  version.label = {"版", "Version"};
  version.help = {"施行中の版。未確認の職員全員に督促します。",
                  "A version in force; everyone in its scope who has not acknowledged it"};
  version.ref = "document_versions";
  version.required = version.filterable = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"対象範囲", "Scope"};
  section.help = {"版の対象課室(空欄は組織全体)", "The version's section (empty: the whole body)"};
  section.ref = "org_units";
  section.generated = section.filterable = section.system = true;

  FieldDef recipients = MakeField("recipients", FieldType::kInteger);
  recipients.label = {"対象者数", "Recipients"};
  recipients.help = {"督促した時点で未確認だった職員の数", "Staff who had not acknowledged"};
  recipients.required = recipients.generated = recipients.system = true;
  recipients.min = 0;

  FieldDef by = MakeField("sent_by", FieldType::kRef);
  by.label = {"督促者", "Sent by"};
  by.ref = "users";
  by.generated = by.filterable = by.system = true;

  FieldDef on = MakeField("sent_on", FieldType::kDate);
  on.label = {"督促日", "Sent on"};
  on.required = on.generated = on.system = true;

  d.fields = {version, section, recipients, by, on};
  d.immutable = true;
  d.rules = {CheckReminder};
  d.completers = {CompleteReminder};
  return d;
}

Result<std::vector<DiffLine>> DiffLines(const std::string& before, const std::string& after) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
      size_t end = s.find('\n', start);
      if (end == std::string::npos) end = s.size();
      size_t stop = end;
      if (stop > start && s[stop - 1] == '\r') --stop;
      out.push_back(s.substr(start, stop - start));
      start = end + 1;
    }
    return out;
  };
  const auto a = split(before), b = split(after);
  constexpr size_t kMaxLines = 20'000;
  constexpr int kMaxEdits = 4'000;
  if (a.size() > kMaxLines || b.size() > kMaxLines) {
    return Error::TooLarge("差分を出すには本文が長すぎます(2万行まで)。", "text too long to diff");
  }
  // Myers' O(ND) algorithm, keeping each round's frontier to trace the path back. Round d
  // reads only diagonals -d..d of the previous one, so only those are kept: O(D²) memory.
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  const int offset = n + m + 1;
  std::vector<int> v(2 * offset + 1, 0);
  std::vector<std::vector<int>> trace;  // trace[d][k + d]: v[k] before round d
  int found = -1;
  for (int d = 0; d <= n + m; ++d) {
    if (d > kMaxEdits) {
      return Error::TooLarge("二つの版の違いが大きすぎて差分を出せません(4,000行まで)。",
                             "too many differences to diff");
    }
    trace.emplace_back(v.begin() + offset - d, v.begin() + offset + d + 1);
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                  ? v[offset + k + 1]
                  : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  std::vector<DiffLine> out;
  int x = n, y = m;
  for (int d = found; d > 0; --d) {
    const std::vector<int>& pv = trace[d];
    const auto at = [&](int kk) { return pv[kk + d]; };
    const int k = x - y;
    const bool down = k == -d || (k != d && at(k - 1) < at(k + 1));
    const int pk = down ? k + 1 : k - 1;
    const int px = at(pk), py = px - pk;
    while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) {
      out.push_back({'=', a[--x]});
      --y;
    }
    if (down) {
      out.push_back({'+', b[--y]});
    } else {
      out.push_back({'-', a[--x]});
    }
  }
  while (x > 0 && y > 0) {
    out.push_back({'=', a[--x]});
    --y;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

DocumentService::DocumentService(store::Store& store, RegisterService& service,
                                 const Registry& registry, const Authorizer& authorizer,
                                 const Clock& clock)
    : store_(store),
      service_(service),
      registry_(registry),
      authorizer_(authorizer),
      clock_(clock) {}

Result<json> DocumentService::PendingAcknowledgements(const Actor& actor) const {
  const RegisterDef* versions = registry_.ByKey("document_versions");
  const std::string today = JapanDate(clock_.Now());
  json items = json::array();
  if (actor.user_id == 0) return json{{"items", items}};
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    // The user's section and the units above it: a document scoped to any of them applies.
    const Value me[] = {actor.user_id};
    MAMORI_ASSIGN_OR_RETURN(auto user, c.Query("SELECT f_section FROM r_users WHERE id = ?", me));
    std::set<int64_t> mine;
    Value unit = user.empty() ? Value{} : user[0][0];
    for (int depth = 0; depth < 4 && !store::IsNull(unit); ++depth) {
      mine.insert(AsInt(unit));
      const Value p[] = {unit};
      MAMORI_ASSIGN_OR_RETURN(auto up, c.Query("SELECT f_parent FROM r_org_units WHERE id = ?", p));
      unit = up.empty() ? Value{} : up[0][0];
    }
    // The version in force of each document: the latest 施行 one whose date has come.
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT v.id, v.f_document, d.f_code, d.f_title, v.f_kind, v.f_version_no, "
                "v.f_effective_date, v.f_section FROM r_document_versions v "
                "JOIN r_documents d ON d.id = v.f_document "
                "WHERE v.archived = 0 AND d.archived = 0 AND v.f_status = 'in_force' AND "
                "v.f_effective_date <= ? AND NOT EXISTS (SELECT 1 FROM r_document_versions w "
                "WHERE w.f_document = v.f_document AND w.archived = 0 AND w.f_status = "
                "'in_force' AND w.f_effective_date <= ? AND (w.f_effective_date > "
                "v.f_effective_date OR (w.f_effective_date = v.f_effective_date AND w.id > v.id))) "
                "AND NOT EXISTS (SELECT 1 FROM r_acknowledgements a WHERE a.archived = 0 AND "
                "a.f_doc_version = v.id AND a.f_user = ?) ORDER BY d.f_code",
                std::vector<Value>{today, today, actor.user_id}, 10000));
    for (const auto& r : rows) {
      if (!store::IsNull(r[7]) && !mine.count(AsInt(r[7]))) continue;
      const json probe{{"kind", AsText(r[4])},
                       {"section", store::IsNull(r[7]) ? json(nullptr) : json(AsInt(r[7]))}};
      if (!authorizer_.Check(actor, *versions, Action::kView, &probe).ok()) continue;
      // The latest reminder of the version (督促): shown on the home page until acknowledged.
      const Value q[] = {r[0]};
      MAMORI_ASSIGN_OR_RETURN(
          auto rem, c.Query("SELECT MAX(f_sent_on), COUNT(*) FROM r_acknowledgement_reminders "
                            "WHERE archived = 0 AND f_doc_version = ?",
                            q));
      json reminder = nullptr;
      if (!rem.empty() && AsInt(rem[0][1]) > 0) {
        reminder = {{"sent_on", AsText(rem[0][0])}, {"count", AsInt(rem[0][1])}};
      }
      items.push_back({{"version", AsInt(r[0])},
                       {"document", AsInt(r[1])},
                       {"code", AsText(r[2])},
                       {"title", AsText(r[3])},
                       {"kind", AsText(r[4])},
                       {"version_no", AsInt(r[5])},
                       {"effective_date", AsText(r[6])},
                       {"outstanding_days", std::max<int64_t>(0, DaysBetween(AsText(r[6]), today))},
                       {"reminder", std::move(reminder)}});
    }
    return {};
  }));
  return json{{"items", std::move(items)}};
}

Result<json> DocumentService::ReviewsDue(const Actor& actor, int within_days) const {
  const RegisterDef* versions = registry_.ByKey("document_versions");
  MAMORI_TRY(authorizer_.Check(actor, *versions, Action::kCreate, nullptr));
  const std::string today = JapanDate(clock_.Now());
  const std::string horizon = AddDays(today, within_days);
  json items = json::array();
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    // The version in force of each document (as in PendingAcknowledgements), its interval,
    // and the newest version in progress after it.
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT v.id, v.f_document, d.f_code, d.f_title, v.f_kind, v.f_version_no, "
                "v.f_effective_date, d.f_review_months, v.f_section, (SELECT MAX(w.id) FROM "
                "r_document_versions w WHERE w.f_document = v.f_document AND w.archived = 0 AND "
                "w.f_status IN ('draft', 'review', 'approved') AND w.id > v.id) "
                "FROM r_document_versions v JOIN r_documents d ON d.id = v.f_document "
                "WHERE v.archived = 0 AND d.archived = 0 AND v.f_status = 'in_force' AND "
                "v.f_effective_date <= ? AND NOT EXISTS (SELECT 1 FROM r_document_versions w "
                "WHERE w.f_document = v.f_document AND w.archived = 0 AND w.f_status = "
                "'in_force' AND w.f_effective_date <= ? AND (w.f_effective_date > "
                "v.f_effective_date OR (w.f_effective_date = v.f_effective_date AND w.id > v.id)))",
                std::vector<Value>{today, today}, 10000));
    for (const auto& r : rows) {
      const int months = store::IsNull(r[7]) ? 12 : static_cast<int>(AsInt(r[7]));
      const std::string due = AddMonths(AsText(r[6]), months);
      if (due > horizon) continue;
      const json probe{{"kind", AsText(r[4])},
                       {"section", store::IsNull(r[8]) ? json(nullptr) : json(AsInt(r[8]))}};
      if (!authorizer_.Check(actor, *versions, Action::kView, &probe).ok()) continue;
      items.push_back({{"document", AsInt(r[1])},
                       {"code", AsText(r[2])},
                       {"title", AsText(r[3])},
                       {"kind", AsText(r[4])},
                       {"version", AsInt(r[0])},
                       {"version_no", AsInt(r[5])},
                       {"effective_date", AsText(r[6])},
                       {"review_months", months},
                       {"due_on", due},
                       {"overdue", due <= today},
                       {"revision", store::IsNull(r[9]) ? json(nullptr) : json(AsInt(r[9]))}});
    }
    return {};
  }));
  std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return std::tie(a["due_on"].get_ref<const std::string&>(),
                    a["code"].get_ref<const std::string&>()) <
           std::tie(b["due_on"].get_ref<const std::string&>(),
                    b["code"].get_ref<const std::string&>());
  });
  return json{{"items", std::move(items)}};
}

Result<json> DocumentService::AcknowledgementProgress(const Actor& actor,
                                                      int64_t version_id) const {
  const RegisterDef* versions = registry_.ByKey("document_versions");
  const RegisterDef* acks = registry_.ByKey("acknowledgements");
  MAMORI_TRY(authorizer_.Check(actor, *acks, Action::kView, nullptr));
  MAMORI_ASSIGN_OR_RETURN(json version, service_.Get(actor, *versions, version_id));
  version.erase("body");
  json sections = json::array(), pending = json::array(), reminders;
  int64_t users_total = 0, done_total = 0;
  std::map<int64_t, std::pair<int64_t, int64_t>> by_bureau;
  std::map<int64_t, std::string> bureau_names;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    // Active users in the scope (the document's section and below, or everyone), with their
    // section and bureau.
    std::string scope;
    std::vector<Value> params{version_id};
    if (version["section"].is_number_integer()) {
      scope = " AND (s.id = ? OR s.f_parent = ? OR b.id = ? OR b.f_parent = ?)";
      for (int i = 0; i < 4; ++i) params.emplace_back(version["section"].get<int64_t>());
    }
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT u.id, u.f_login, u.f_name, s.id, s.f_name, s.f_kind, b.id, b.f_name, "
                "b.f_kind, b.f_parent, EXISTS (SELECT 1 FROM r_acknowledgements a WHERE "
                "a.archived = 0 AND a.f_doc_version = ? AND a.f_user = u.id) "
                "FROM r_users u LEFT JOIN r_org_units s ON s.id = u.f_section "
                "LEFT JOIN r_org_units b ON b.id = s.f_parent "
                "WHERE u.archived = 0 AND u.f_status = 'active'" +
                    scope + " ORDER BY b.f_code, s.f_code, u.f_login",
                params, 1'000'000));
    std::map<int64_t, size_t> section_row;
    for (const auto& r : rows) {
      const bool done = AsInt(r[10]) != 0;
      // A 係's member counts for its 課室 (the unit above a group).
      int64_t sec = AsInt(r[3]);
      std::string sec_name = AsText(r[4]);
      int64_t bureau = AsInt(r[6]);
      std::string bureau_name = AsText(r[7]);
      if (AsText(r[5]) == "group") {
        sec = AsInt(r[6]);
        sec_name = AsText(r[7]);
        bureau = AsInt(r[9]);
        bureau_name.clear();
      } else if (AsText(r[5]) == "bureau") {
        bureau = sec;
        bureau_name = sec_name;
      }
      ++users_total;
      done_total += done;
      auto& b = by_bureau[bureau];
      ++b.first;
      b.second += done;
      if (!bureau_name.empty()) bureau_names[bureau] = bureau_name;
      auto [it, fresh] = section_row.emplace(sec, sections.size());
      if (fresh) {
        sections.push_back({{"id", sec == 0 ? json(nullptr) : json(sec)},
                            {"name", sec_name},
                            {"bureau", bureau == 0 ? json(nullptr) : json(bureau)},
                            {"users", 0},
                            {"acknowledged", 0}});
      }
      json& s = sections[it->second];
      s["users"] = s["users"].get<int64_t>() + 1;
      s["acknowledged"] = s["acknowledged"].get<int64_t>() + (done ? 1 : 0);
      if (!done) {
        pending.push_back({{"id", AsInt(r[0])},
                           {"login", AsText(r[1])},
                           {"name", AsText(r[2])},
                           {"section_name", sec_name}});
      }
    }
    // The reminders sent for the version (督促): how many, and the latest.
    const Value rv[] = {version_id};
    MAMORI_ASSIGN_OR_RETURN(
        auto rem, c.Query("SELECT r.id, r.f_sent_on, r.f_sent_by, u.f_name, r.f_recipients, "
                          "(SELECT COUNT(*) FROM r_acknowledgement_reminders x WHERE "
                          "x.archived = 0 AND x.f_doc_version = r.f_doc_version) "
                          "FROM r_acknowledgement_reminders r LEFT JOIN r_users u ON "
                          "u.id = r.f_sent_by WHERE r.archived = 0 AND r.f_doc_version = ? "
                          "ORDER BY r.f_sent_on DESC, r.id DESC LIMIT 1",
                          rv));
    reminders = {{"count", 0}, {"last", nullptr}};
    if (!rem.empty()) {
      reminders["count"] = AsInt(rem[0][5]);
      reminders["last"] = {
          {"id", AsInt(rem[0][0])},
          {"sent_on", AsText(rem[0][1])},
          {"sent_by", store::IsNull(rem[0][2]) ? json(nullptr) : json(AsInt(rem[0][2]))},
          {"sent_by_name", store::IsNull(rem[0][3]) ? "" : AsText(rem[0][3])},
          {"recipients", AsInt(rem[0][4])}};
    }
    // Names of bureaus known only through a 係's section.
    for (auto& [id, counts] : by_bureau) {
      if (id == 0 || bureau_names.count(id)) continue;
      const Value p[] = {id};
      MAMORI_ASSIGN_OR_RETURN(auto n, c.Query("SELECT f_name FROM r_org_units WHERE id = ?", p));
      if (!n.empty()) bureau_names[id] = AsText(n[0][0]);
    }
    return {};
  }));
  for (json& s : sections) s["percent"] = Percent(s["acknowledged"], s["users"]);
  json bureaus = json::array();
  for (const auto& [id, counts] : by_bureau) {
    bureaus.push_back({{"id", id == 0 ? json(nullptr) : json(id)},
                       {"name", bureau_names.count(id) ? bureau_names[id] : ""},
                       {"users", counts.first},
                       {"acknowledged", counts.second},
                       {"percent", Percent(counts.second, counts.first)}});
  }
  return json{{"version", std::move(version)},
              {"totals",
               {{"users", users_total},
                {"acknowledged", done_total},
                {"percent", Percent(done_total, users_total)}}},
              {"bureaus", std::move(bureaus)},
              {"sections", std::move(sections)},
              {"pending", std::move(pending)},
              {"reminders", std::move(reminders)}};
}

Result<json> DocumentService::Diff(const Actor& actor, int64_t from_id, int64_t to_id) const {
  const RegisterDef* versions = registry_.ByKey("document_versions");
  MAMORI_ASSIGN_OR_RETURN(json from, service_.Get(actor, *versions, from_id));
  MAMORI_ASSIGN_OR_RETURN(json to, service_.Get(actor, *versions, to_id));
  MAMORI_ASSIGN_OR_RETURN(auto lines, DiffLines(TextOf(from, "body"), TextOf(to, "body")));
  json out = json::array();
  int64_t added = 0, removed = 0;
  for (const auto& l : lines) {
    added += l.op == '+';
    removed += l.op == '-';
    out.push_back({{"op", std::string(1, l.op)}, {"text", l.text}});
  }
  auto brief = [](const json& v) {
    return json{{"id", v["id"]},
                {"name", v["name"]},
                {"status", v["status"]},
                {"effective_date", v["effective_date"]}};
  };
  return json{{"from", brief(from)},
              {"to", brief(to)},
              {"lines", std::move(out)},
              {"added", added},
              {"removed", removed}};
}

struct DocumentService::Publishable {
  json version;
  std::string title;
};

Result<DocumentService::Publishable> DocumentService::PublishableVersion(const Actor& actor,
                                                                         int64_t version_id) const {
  const RegisterDef* versions = registry_.ByKey("document_versions");
  MAMORI_ASSIGN_OR_RETURN(json v, service_.Get(actor, *versions, version_id));
  const std::string kind = TextOf(v, "kind");
  if (kind != "basic_policy" && kind != "other") {
    return Error::Invalid("対策基準と実施手順は非公開のため、公開用の頁は作りません。",
                          "non-public documents have no public page");
  }
  const std::string status = TextOf(v, "status");
  if (status != "approved" && status != "in_force") {
    return Error::Invalid("公開できるのは決裁済み又は施行中の版です。",
                          "only approved or in-force versions are published");
  }
  std::string title = v["_refs"].contains("document")
                          ? v["_refs"]["document"]["label"].get<std::string>()
                          : TextOf(v, "name");
  return Publishable{std::move(v), std::move(title)};
}

Result<DocumentService::PublicFile> DocumentService::PublicPdf(const Actor& actor,
                                                               int64_t version_id) const {
  MAMORI_ASSIGN_OR_RETURN(Publishable p, PublishableVersion(actor, version_id));
  const std::string name = TextOf(p.version, "name");
  const PublicDocumentText text{p.title, name, TextOf(p.version, "effective_date"),
                                TextOf(p.version, "body")};
  MAMORI_ASSIGN_OR_RETURN(RenderedPdf pdf, RenderPublicDocumentPdf(text, clock_.Now()));
  std::string file = p.title + (name.empty() ? "" : "_" + name) + ".pdf";
  std::replace(file.begin(), file.end(), ' ', '_');
  return PublicFile{std::move(file), std::move(pdf.bytes)};
}

Result<std::string> DocumentService::PublicHtml(const Actor& actor, int64_t version_id) const {
  MAMORI_ASSIGN_OR_RETURN(Publishable p, PublishableVersion(actor, version_id));
  const json& v = p.version;
  const std::string& title = p.title;
  const std::string effective = TextOf(v, "effective_date");
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
      EscapeMarkup(title) +
      "</title><style>body{font-family:'Noto Sans JP','Noto Sans CJK JP',sans-serif;"
      "max-width:46em;margin:2em auto;padding:0 1em;line-height:1.8;color:#1a1a1c}"
      "h1{font-size:1.6em}h2{font-size:1.3em;margin-top:1.6em}.meta{color:#555}"
      "@media print{body{margin:0;max-width:none}}</style></head><body>\n<header><h1>" +
      EscapeMarkup(title) + "</h1><p class=\"meta\">" + EscapeMarkup(TextOf(v, "name")) +
      (effective.empty() ? "" : "(" + EscapeMarkup(effective) + " 施行)") +
      "</p></header>\n<main>\n" + MarkdownToHtml(TextOf(v, "body")) + "</main>\n</body></html>\n";
  return h;
}

}  // namespace mamori::registers
