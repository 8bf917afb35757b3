// 情報資産の棚卸: the campaign and confirmation registers, their rules, and the progress report.
#include "registers/inventory.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "registers/org_units.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

constexpr const char* kManagerRole = "security_manager";

std::string FirstDay(int year) { return std::to_string(year) + "-04-01"; }
std::string LastDay(int year) { return std::to_string(year + 1) + "-03-31"; }

// The active assets a section owns, its groups' (係) included.
int64_t SectionAssets(RuleContext& ctx, const json& section) {
  int64_t n = ctx.Count("assets", "section", section);
  for (const json& child : ctx.Find("org_units", "parent", section, 10000)) {
    if (child["kind"] == "group") n += ctx.Count("assets", "section", child["id"]);
  }
  return n;
}

// 件名 when none is given: "令和8年度 情報資産棚卸".
void CampaignTitle(json& rec, RuleContext&) {
  if (!rec["title"].is_null() || !rec["fiscal_year"].is_number_integer()) return;
  rec["title"] = FiscalYearLabel(rec["fiscal_year"].get<int>()) + " 情報資産棚卸";
}

// The period lies inside the fiscal year, and the due date on or after the start; a campaign
// already confirmed by sections keeps its confirmations inside it.
void CheckCampaignPeriod(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (!rec["fiscal_year"].is_number_integer()) return;
  const int year = rec["fiscal_year"].get<int>();
  const std::string first = FirstDay(year), last = LastDay(year);
  const std::string start = TextOf(rec, "start_date"), due = TextOf(rec, "due_date");
  const std::string span = FiscalYearLabel(year) + "(" + first + "〜" + last + ")";
  if (!start.empty() && (start < first || start > last)) {
    AddError(errors, "start_date", "開始日", "開始日は" + span + "の中の日付にしてください。",
             "the start date must lie within the fiscal year");
  }
  if (!due.empty() && (due < first || due > last)) {
    AddError(errors, "due_date", "期限", "期限は" + span + "の中の日付にしてください。",
             "the due date must lie within the fiscal year");
  }
  if (!start.empty() && !due.empty() && due < start) {
    AddError(errors, "due_date", "期限", "期限は開始日以降の日付にしてください。",
             "the due date must not be before the start date");
  }
  if (!rec.contains("id") || start.empty()) return;
  for (const json& c : ctx.Find("inventory_confirmations", "campaign", rec["id"], 100000)) {
    const std::string on = TextOf(c, "confirmed_on");
    if (on < start || on > last) {
      AddError(errors, "start_date", "開始日",
               "この期間の外(" + on +
                   ")に確認済みの課室があります。期間を変えるときは、先にその確認を"
                   "アーカイブしてください。",
               "a section confirmed outside the new period");
      return;
    }
  }
}

// Who confirms, when, and how many assets the section had then: filled from the change itself.
void CompleteConfirmation(json& rec, RuleContext& ctx) {
  if (rec["confirmed_by"].is_null() && ctx.actor().user_id != 0) {
    rec["confirmed_by"] = ctx.actor().user_id;
  }
  if (rec["confirmed_on"].is_null()) rec["confirmed_on"] = ctx.today();
  if (rec["asset_count"].is_null() && rec["section"].is_number_integer()) {
    rec["asset_count"] = SectionAssets(ctx, rec["section"]);
  }
}

// Whether `user` holds the section's 情報セキュリティ管理者 role on `date`.
bool HoldsManagerRole(RuleContext& ctx, const json& section, const json& user,
                      const std::string& date) {
  const auto holders = SectionRoleHolders(ctx, kManagerRole, section, date);
  return user.is_number_integer() &&
         std::find(holders.begin(), holders.end(), user.get<int64_t>()) != holders.end();
}

// A confirmation is the section manager's own act, for a section, inside the campaign, once.
// What it attests (who, when, which section, how many assets) is fixed when it is made; later
// edits may change only the result and the comment. Administrative loads (`mamori admin
// import`, no user) may carry the values of an earlier system.
void CheckConfirmation(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  const json& section = rec["section"];
  const json& campaign_id = rec["campaign"];
  const json& by = rec["confirmed_by"];
  const std::string on = TextOf(rec, "confirmed_on");
  const bool by_user = ctx.actor().user_id != 0;
  if (section.is_number_integer()) {
    auto unit = ctx.Lookup("org_units", section.get<int64_t>());
    if (unit && (*unit)["kind"] != "section") {
      AddError(errors, "section", "課室", "棚卸は課室ごとに確認します。課室を指定してください。",
               "an inventory is confirmed per section");
    }
  }
  if (rec.contains("id")) {
    // A stored confirmation: an update (the stored one is active) or a restore (it is not).
    auto stored = ctx.Lookup("inventory_confirmations", rec["id"].get<int64_t>());
    if (stored && by_user) {
      for (const char* f : {"campaign", "section", "confirmed_by", "confirmed_on", "asset_count"}) {
        if ((*stored)[f] != rec[f]) {
          AddError(
              errors, f, "確認の内容",
              "確認した者・日・課室・資産数は後から変えられません。直すときは、この確認をアーカイブ"
              "して確認し直してください。",
              "what a confirmation attests cannot be changed later");
          return;
        }
      }
    }
  } else if (by_user) {
    if (by.is_number_integer() && by != ctx.actor().user_id) {
      AddError(errors, "confirmed_by", "確認者", "確認者は、操作している本人にしてください。",
               "a confirmation is made by the person confirming");
    }
    if (!on.empty() && on != ctx.today()) {
      AddError(errors, "confirmed_on", "確認日",
               "確認日は今日(" + ctx.today() + ")です。日付は指定できません。",
               "the confirmation date is today");
    }
    if (rec["asset_count"].is_number_integer() && section.is_number_integer() &&
        rec["asset_count"] != SectionAssets(ctx, section)) {
      AddError(errors, "asset_count", "資産数",
               "資産数は、確認する時点の課室の資産の件数です(指定できません)。",
               "the asset count is the section's count at confirmation");
    }
  }
  if (!rec.contains("id")) {
    if (!on.empty() && on > ctx.today()) {
      AddError(errors, "confirmed_on", "確認日", "確認日に未来の日付は指定できません。",
               "the confirmation date cannot be in the future");
    }
    if (section.is_number_integer() && by.is_number_integer() && !on.empty() &&
        !HoldsManagerRole(ctx, section, by, on)) {
      AddError(errors, "confirmed_by", "確認者",
               "確認者は、確認日にその課室の情報セキュリティ管理者である人にしてください。",
               "the confirming person must be the section's security manager on that date");
    }
  }
  if (!campaign_id.is_number_integer()) return;
  auto campaign = ctx.Lookup("inventory_campaigns", campaign_id.get<int64_t>());
  if (!campaign) return;  // a missing reference is reported by the field check
  const int year = (*campaign)["fiscal_year"].get<int>();
  if (!rec.contains("id") && !on.empty() &&
      (on < TextOf(*campaign, "start_date") || on > LastDay(year))) {
    AddError(errors, "confirmed_on", "確認日",
             "確認日は棚卸の開始日(" + TextOf(*campaign, "start_date") + ")から年度末(" +
                 LastDay(year) + ")までの日付にしてください。",
             "the confirmation date must lie between the campaign start and the fiscal year end");
  }
  if (!section.is_number_integer()) return;
  for (const json& other : ctx.Find("inventory_confirmations", "campaign", campaign_id, 100000)) {
    if (other["section"] == section && (!rec.contains("id") || other["id"] != rec["id"])) {
      AddError(errors, "section", "課室",
               "この課室は、この棚卸で確認済みです(確認 ID " +
                   std::to_string(other["id"].get<int64_t>()) +
                   ")。確認し直すときは、その確認をアーカイブしてください。",
               "this section has already confirmed this inventory");
      return;
    }
  }
}

// 00:00 in Japan on `date`, as the UTC timestamp prefix the records' updated_at compare with.
std::string JapanMidnightUtc(const std::string& date) {
  const auto ymd = ParseDate(date);
  if (!ymd) return date;
  const auto day = std::chrono::sys_days(*ymd) - std::chrono::days(1);
  const std::chrono::year_month_day prev(day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT15:00:00", static_cast<int>(prev.year()),
                static_cast<unsigned>(prev.month()), static_cast<unsigned>(prev.day()));
  return buf;
}

}  // namespace

int FiscalYearOf(const std::string& date) {
  if (date.size() < 7) return 0;
  const int year = std::atoi(date.substr(0, 4).c_str());
  const int month = std::atoi(date.substr(5, 2).c_str());
  return month >= 4 ? year : year - 1;
}

std::string FiscalYearLabel(int year) {
  if (year < 2019) return std::to_string(year) + "年度";
  if (year == 2019) return "令和元年度";
  return "令和" + std::to_string(year - 2018) + "年度";
}

RegisterDef InventoryCampaignsRegister() {
  RegisterDef d;
  d.key = "inventory_campaigns";
  d.path = "inventory/campaigns";
  d.label = {"棚卸(年度)", "Inventories (by fiscal year)"};
  d.key_field = "fiscal_year";
  d.title_field = "title";
  d.default_sort = "fiscal_year";

  FieldDef year = MakeField("fiscal_year", FieldType::kInteger);
  year.label = {"年度", "Fiscal year"};
  year.help = {"西暦で入力します(2026 は令和8年度: 2026-04-01〜2027-03-31)。",
               "Fiscal year starting in April (2026 = April 2026 to March 2027)"};
  year.required = year.unique = year.filterable = true;
  year.min = 2000;
  year.max = 2100;

  FieldDef title = MakeField("title", FieldType::kText);
  title.label = {"件名", "Title"};
  title.help = {"空欄なら「令和8年度 情報資産棚卸」の形で付けます。",
                "Generated as e.g. FY2026 asset inventory"};
  title.required = title.searchable = title.generated = true;
  title.max_length = 100;

  FieldDef start = MakeField("start_date", FieldType::kDate);
  start.label = {"開始日", "Start date"};
  start.required = true;

  FieldDef due = MakeField("due_date", FieldType::kDate);
  due.label = {"期限", "Due date"};
  due.help = {"この日を過ぎて未確認の課室は期限超過として一覧に出ます。",
              "Sections not confirmed after this date are overdue"};
  due.required = true;

  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Notes"};
  note.help = {"各課室への依頼事項など", "Instructions to the sections"};
  note.max_length = 2000;
  note.list = false;
  note.sortable = false;

  d.fields = {year, title, start, due, note};
  d.rules = {CheckCampaignPeriod};
  d.completers = {CampaignTitle};
  return d;
}

RegisterDef InventoryConfirmationsRegister() {
  RegisterDef d;
  d.key = "inventory_confirmations";
  d.path = "inventory/confirmations";
  d.label = {"棚卸の確認", "Inventory confirmations"};
  d.title_field = "section";
  d.default_sort = "confirmed_on";
  d.org_field = "section";

  FieldDef campaign = MakeField("campaign", FieldType::kRef);
  campaign.label = {"棚卸", "Inventory"};
  campaign.ref = "inventory_campaigns";
  campaign.required = campaign.filterable = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"課室", "Section"};
  section.help = {"確認する課室。所管する情報資産の全件を確認します。",
                  "The section whose assets are confirmed"};
  section.ref = "org_units";
  section.required = section.filterable = true;

  FieldDef result = MakeField("result", FieldType::kEnum);
  result.label = {"確認結果", "Result"};
  result.help = {"台帳を直したときは「修正して確認」を選びます。",
                 "Whether the register needed corrections"};
  result.required = result.filterable = true;
  result.options = {{"no_change", {"変更なしで確認", "Confirmed unchanged"}, {"変更なし"}, {}},
                    {"corrected", {"修正して確認", "Corrected and confirmed"}, {"修正あり"}, {}}};

  FieldDef count = MakeField("asset_count", FieldType::kInteger);
  count.label = {"資産数", "Assets"};
  count.help = {"確認した時点の、課室が所管する情報資産の件数",
                "The section's assets at confirmation"};
  count.required = count.generated = count.system = true;
  count.min = 0;

  FieldDef by = MakeField("confirmed_by", FieldType::kRef);
  by.label = {"確認者", "Confirmed by"};
  by.help = {"その日の課室の情報セキュリティ管理者(操作した本人)",
             "The section's security manager who confirmed"};
  by.ref = "users";
  by.required = by.generated = by.filterable = by.system = true;

  FieldDef on = MakeField("confirmed_on", FieldType::kDate);
  on.label = {"確認日", "Confirmed on"};
  on.required = on.generated = on.system = true;

  FieldDef comment = MakeField("comment", FieldType::kTextarea);
  comment.label = {"所見", "Comment"};
  comment.help = {"修正した内容や、気付いた点", "What was corrected, findings"};
  comment.max_length = 2000;
  comment.list = false;
  comment.sortable = false;
  comment.searchable = true;

  d.fields = {campaign, section, result, count, by, on, comment};
  d.rules = {CheckConfirmation};
  d.completers = {CompleteConfirmation};
  return d;
}

InventoryService::InventoryService(store::Store& store, const Registry& registry,
                                   const Authorizer& authorizer, const Clock& clock)
    : store_(store), registry_(registry), authorizer_(authorizer), clock_(clock) {}

Result<json> InventoryService::Progress(const Actor& actor, std::optional<int> fiscal_year) const {
  const RegisterDef* confirmations = registry_.ByKey("inventory_confirmations");
  const RegisterDef* campaigns = registry_.ByKey("inventory_campaigns");
  if (confirmations == nullptr || campaigns == nullptr) {
    return Error::Internal("inventory registers are not defined");
  }
  MAMORI_TRY(authorizer_.Check(actor, *confirmations, Action::kView, nullptr));
  MAMORI_ASSIGN_OR_RETURN(const RowFilter rows, authorizer_.ListFilter(actor, *confirmations));
  const std::string today = JapanDate(clock_.Now());

  json out{{"today", today}, {"campaign", nullptr}, {"campaigns", json::array()}};
  json sections = json::array();
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(
        auto all, c.Query("SELECT id, f_fiscal_year, f_title, f_start_date, f_due_date, f_note "
                          "FROM r_inventory_campaigns WHERE archived = 0 ORDER BY f_fiscal_year",
                          {}, 1000));
    const store::Row* campaign = nullptr;
    const int current = FiscalYearOf(today);
    for (const auto& r : all) {
      out["campaigns"].push_back(
          {{"id", AsInt(r[0])}, {"fiscal_year", AsInt(r[1])}, {"title", AsText(r[2])}});
      const int year = static_cast<int>(AsInt(r[1]));
      if (fiscal_year ? year == *fiscal_year : (campaign == nullptr || year <= current)) {
        campaign = &r;
      }
    }
    if (fiscal_year && campaign == nullptr) {
      return Error::NotFound(std::to_string(*fiscal_year) + " 年度の棚卸はありません。",
                             "no inventory for that fiscal year");
    }
    if (campaign == nullptr) return {};
    const int64_t campaign_id = AsInt((*campaign)[0]);
    const int year = static_cast<int>(AsInt((*campaign)[1]));
    const std::string start = AsText((*campaign)[3]), due = AsText((*campaign)[4]);
    out["campaign"] = {{"id", campaign_id},
                       {"fiscal_year", AsInt((*campaign)[1])},
                       {"label", FiscalYearLabel(static_cast<int>(AsInt((*campaign)[1])))},
                       {"title", AsText((*campaign)[2])},
                       {"start_date", start},
                       {"due_date", due},
                       {"note", AsText((*campaign)[5])},
                       {"overdue", today > due}};

    std::vector<Value> params;
    std::string scope;
    if (!rows.all_units) {
      scope = " AND s.id IN (" + store::Placeholders(rows.units.size()) + ")";
      for (int64_t u : rows.units) params.emplace_back(u);
      if (rows.units.empty()) scope = " AND 0";
    }
    MAMORI_ASSIGN_OR_RETURN(
        auto units, c.Query("SELECT s.id, s.f_code, s.f_name, b.id, b.f_name FROM r_org_units s "
                            "LEFT JOIN r_org_units b ON b.id = s.f_parent "
                            "WHERE s.archived = 0 AND s.f_kind = 'section'" +
                                scope +
                                " ORDER BY COALESCE(b.f_sort_order, 99999), b.f_code, "
                                "COALESCE(s.f_sort_order, 99999), s.f_code",
                            params, 100000));
    std::map<int64_t, int64_t> assets, changed;
    // Assets of a 係 count for its 課室; "changed" from the start day's midnight in Japan.
    MAMORI_ASSIGN_OR_RETURN(
        auto counts,
        c.Query("SELECT CASE WHEN o.f_kind = 'group' THEN o.f_parent ELSE a.f_section END AS s, "
                "COUNT(*), SUM(a.updated_at >= ?) FROM r_assets a "
                "JOIN r_org_units o ON o.id = a.f_section WHERE a.archived = 0 GROUP BY s",
                std::vector<Value>{JapanMidnightUtc(start)}, 100000));
    for (const auto& r : counts) {
      assets[AsInt(r[0])] = AsInt(r[1]);
      changed[AsInt(r[0])] = AsInt(r[2]);
    }
    std::map<int64_t, json> confirmed;
    MAMORI_ASSIGN_OR_RETURN(
        auto done, c.Query("SELECT c.id, c.f_section, c.f_result, c.f_confirmed_on, u.f_name, "
                           "c.f_asset_count, c.f_comment FROM r_inventory_confirmations c "
                           "LEFT JOIN r_users u ON u.id = c.f_confirmed_by "
                           "WHERE c.archived = 0 AND c.f_campaign = ?",
                           std::vector<Value>{campaign_id}, 100000));
    for (const auto& r : done) {
      confirmed[AsInt(r[1])] = {{"id", AsInt(r[0])},
                                {"result", AsText(r[2])},
                                {"confirmed_on", AsText(r[3])},
                                {"confirmed_by_name", AsText(r[4])},
                                {"asset_count", AsInt(r[5])},
                                {"comment", AsText(r[6])}};
    }
    std::map<int64_t, json> managers;
    std::map<int64_t, std::vector<int64_t>> manager_ids;
    MAMORI_ASSIGN_OR_RETURN(
        auto holders,
        c.Query("SELECT a.f_scope_unit, a.f_user, u.f_name FROM r_role_assignments a "
                "JOIN r_users u ON u.id = a.f_user WHERE a.archived = 0 AND a.f_role = ? AND "
                "a.f_scope_kind = 'section' AND a.f_valid_from <= ? AND "
                "(a.f_valid_to IS NULL OR a.f_valid_to >= ?) AND u.f_status = 'active' "
                "ORDER BY a.f_valid_from, a.id",
                std::vector<Value>{std::string(kManagerRole), today, today}, 100000));
    for (const auto& r : holders) {
      managers[AsInt(r[0])].push_back(AsText(r[2]));
      manager_ids[AsInt(r[0])].push_back(AsInt(r[1]));
    }
    for (const auto& r : units) {
      const int64_t id = AsInt(r[0]);
      auto conf = confirmed.find(id);
      const bool is_done = conf != confirmed.end();
      const json probe{{confirmations->org_field, id}};
      const auto& ids = manager_ids[id];
      const bool holder = std::find(ids.begin(), ids.end(), actor.user_id) != ids.end();
      const bool can_confirm =
          !is_done && holder && today >= start && today <= LastDay(year) &&
          authorizer_.Check(actor, *confirmations, Action::kCreate, &probe).ok();
      sections.push_back({{"id", id},
                          {"code", AsText(r[1])},
                          {"name", AsText(r[2])},
                          {"bureau", store::IsNull(r[3]) ? json(nullptr) : json(AsInt(r[3]))},
                          {"bureau_name", AsText(r[4])},
                          {"managers", managers.count(id) ? managers[id] : json::array()},
                          {"assets", assets[id]},
                          {"changed", changed[id]},
                          {"state", is_done       ? "confirmed"
                                    : today > due ? "overdue"
                                                  : "pending"},
                          {"can_confirm", can_confirm},
                          {"confirmation", is_done ? conf->second : json(nullptr)}});
    }
    return {};
  }));

  json totals{{"sections", 0}, {"confirmed", 0}, {"pending", 0}, {"overdue", 0}, {"assets", 0}};
  json bureaus = json::array();
  for (const json& s : sections) {
    if (bureaus.empty() || bureaus.back()["id"] != s["bureau"]) {
      bureaus.push_back({{"id", s["bureau"]},
                         {"name", s["bureau_name"]},
                         {"sections", 0},
                         {"confirmed", 0},
                         {"pending", 0},
                         {"overdue", 0},
                         {"assets", 0}});
    }
    for (json* t : {&totals, &bureaus.back()}) {
      (*t)["sections"] = (*t)["sections"].get<int64_t>() + 1;
      (*t)[s["state"].get<std::string>()] = (*t)[s["state"].get<std::string>()].get<int64_t>() + 1;
      (*t)["assets"] = (*t)["assets"].get<int64_t>() + s["assets"].get<int64_t>();
    }
  }
  out["totals"] = std::move(totals);
  out["bureaus"] = std::move(bureaus);
  out["sections"] = std::move(sections);
  return out;
}

}  // namespace mamori::registers
