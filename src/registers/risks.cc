// 脅威とリスク分析: the threat, risk, risk-asset, dismissal and round registers and RiskService.
#include "registers/risks.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "policy/duties.h"
#include "registers/org_units.h"
#include "registers/record_codec.h"
#include "registers/service.h"
#include "registers/tabular.h"

namespace mamori::registers {

using nlohmann::json;
using policy::Axis;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

constexpr int kMaxScopeAssets = 100'000;
constexpr int kMaxRisks = 100'000;

// The shipped matrices with the body's level names and thresholds: setting `risk_levels`
// (RiskService::ChangeLevels validated it). What the value does not name keeps the catalog's;
// a matrix whose stored thresholds no longer rise (the catalog was edited since) keeps the
// catalog's. The last value's result is kept, so rules pay for parsing only when it changes.
std::shared_ptr<const policy::RiskMatrices> WithLevels(const Catalogs& c,
                                                       const std::string& value) {
  if (value.empty()) return c.matrices;
  static std::mutex mu;
  static std::shared_ptr<const policy::RiskMatrices> memo_base;  // kept alive: never reused
  static std::string memo_value;
  static std::shared_ptr<const policy::RiskMatrices> memo;
  {
    std::lock_guard lock(mu);
    if (memo_base == c.matrices && memo_value == value) return memo;
  }
  auto out = std::make_shared<policy::RiskMatrices>(*c.matrices);
  const json v = json::parse(value, nullptr, /*allow_exceptions=*/false);
  const auto names = SettingLabels(value);
  for (auto& l : out->levels) {
    if (auto n = names.find(l.key); n != names.end()) {
      if (!n->second.ja.empty()) l.label.ja = n->second.ja;
      if (!n->second.en.empty()) l.label.en = n->second.en;
    }
  }
  if (v.is_object()) {
    const json thresholds = v.value("thresholds", json::object());
    for (auto& m : out->matrices) {
      if (!thresholds.is_object() || !thresholds.contains(m.key)) continue;
      const json& t = thresholds[m.key];
      auto changed = m.thresholds;
      for (size_t i = 1; i < changed.size(); ++i) {
        if (t.is_object() && t.contains(changed[i].first) &&
            t[changed[i].first].is_number_integer()) {
          changed[i].second = t[changed[i].first].get<int>();
        }
      }
      bool rising = true;
      for (size_t i = 1; i < changed.size(); ++i) {
        rising = rising && changed[i].second > changed[i - 1].second;
      }
      if (rising) m.thresholds = std::move(changed);
    }
  }
  std::lock_guard lock(mu);
  memo_base = c.matrices;
  memo_value = value;
  memo = std::move(out);
  return memo;
}

std::shared_ptr<const policy::RiskMatrices> Matrices(const Catalogs& c, RuleContext& ctx) {
  return WithLevels(c, ctx.Setting(kRiskLevelsSetting, ""));
}

const policy::Matrix& ActiveMatrix(const policy::RiskMatrices& all, const std::string& setting) {
  const policy::Matrix* m = all.Find(setting);
  return m != nullptr ? *m : *all.Find(all.default_matrix);
}

const policy::Scheme* ActiveScheme(const Catalogs& c, const std::string& key) {
  const policy::Scheme* s = c.classification->FindScheme(key);
  return s != nullptr ? s : c.classification->FindScheme(c.classification->default_scheme);
}

// The dismissal register's enum value of a proposal id: "P-01" -> "p_01".
std::string ProposalValue(const std::string& id) {
  std::string value = internal::ToLowerAscii(id);
  std::replace(value.begin(), value.end(), '-', '_');
  return value;
}

std::optional<int64_t> IdOf(const json& rec, const char* field) {
  if (!rec.contains(field) || !rec[field].is_number_integer()) return std::nullopt;
  return rec[field].get<int64_t>();
}

// Enum options for a matrix axis: every matrix's levels, each tagged with its matrix.
std::vector<EnumOption> ScaleOptions(const policy::RiskMatrices& m, bool likelihood) {
  std::vector<EnumOption> out;
  for (const auto& matrix : m.matrices) {
    for (const auto& l : likelihood ? matrix.likelihood : matrix.impact) {
      const std::string n = std::to_string(l.score);
      out.push_back(
          {l.value, {n + " " + l.label.ja, n + " " + l.label.en}, {l.label.ja}, {matrix.key}});
    }
  }
  return out;
}

FieldDef ScaleField(const Catalogs& c, std::string name, bool likelihood, Label label) {
  FieldDef f = MakeField(std::move(name), FieldType::kEnum);
  f.label = std::move(label);
  f.options = ScaleOptions(*c.matrices, likelihood);
  f.options_setting = kRiskMatrixSetting;
  f.options_setting_default = c.matrices->default_matrix;
  f.filterable = true;
  return f;
}

FieldDef LevelField(const Catalogs& c, std::string name, Label label) {
  FieldDef f = MakeField(std::move(name), FieldType::kEnum);
  f.label = std::move(label);
  for (const auto& l : c.matrices->levels) {
    f.options.push_back({l.key, {l.label.ja, l.label.en}, {}, {}});
  }
  f.labels_setting = kRiskLevelsSetting;
  f.generated = f.system = f.filterable = true;
  return f;
}

FieldDef ScoreField(std::string name, Label label) {
  FieldDef f = MakeField(std::move(name), FieldType::kInteger);
  f.label = std::move(label);
  f.generated = f.system = true;
  f.list = false;
  f.min = 1;
  f.max = 81;
  return f;
}

// ---------------------------------------------------------------------------------------
// 脅威

void CompleteThreat(json& rec, RuleContext& ctx) {
  for (const char* f : {"affects_confidentiality", "affects_integrity", "affects_availability"}) {
    if (rec[f].is_null()) rec[f] = false;
  }
  if (rec["source"].is_null()) rec["source"] = ctx.actor().id == "system" ? "catalog" : "body";
  if (!rec["code"].is_null() || !rec["group"].is_string()) return;
  // The body's own threats: T-<group>-L01, L02, … (the catalog never uses L).
  static const std::map<std::string, std::string> kNumbers = {{"intentional", "1"},
                                                              {"unintentional", "2"},
                                                              {"disaster", "3"},
                                                              {"staff_shortage", "4"},
                                                              {"infrastructure", "5"}};
  auto n = kNumbers.find(rec["group"].get<std::string>());
  if (n == kNumbers.end()) return;
  for (int i = 1; i < 1000; ++i) {
    char code[32];
    std::snprintf(code, sizeof code, "T-%s-L%02d", n->second.c_str(), i);
    if (!ctx.Taken("threats", "code", code)) {
      rec["code"] = code;
      return;
    }
  }
}

void CheckThreat(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  if (rec["affects_confidentiality"] != true && rec["affects_integrity"] != true &&
      rec["affects_availability"] != true) {
    AddError(errors, "affects_confidentiality", "機密性",
             "機密性・完全性・可用性のうち、脅威が損なうものを一つ以上選んでください。",
             "a threat affects at least one of C, I and A");
  }
  if (ctx.actor().id == "system") return;
  std::optional<json> stored;
  if (auto id = IdOf(rec, "id")) stored = ctx.Lookup("threats", *id);
  const json before = stored ? (*stored)["source"] : json("body");
  if (rec["source"] != before) {
    AddError(errors, "source", "出典", "出典は変えられません(団体で追加した脅威は「団体」)。",
             "the source is set by Mamori");
  }
}

// ---------------------------------------------------------------------------------------
// リスク: the assets in a scenario's scope and the impact they propose.

std::vector<json> ScopeAssets(const json& rec, RuleContext& ctx) {
  std::vector<json> out;
  const std::string scope = TextOf(rec, "scope");
  auto keep = [&](std::vector<json> list) {
    for (auto& a : list) {
      if (TextOf(a, "status") != "disposed") out.push_back(std::move(a));
    }
  };
  if (scope == "asset") {
    if (auto id = IdOf(rec, "asset")) {
      if (auto a = ctx.Lookup("assets", *id)) keep({*a});
    }
  } else if (scope == "kind" && rec["asset_kind"].is_string()) {
    keep(ctx.Find("assets", "kind", rec["asset_kind"], kMaxScopeAssets));
  } else if (scope == "zone" && rec["zone"].is_string()) {
    keep(ctx.Find("assets", "zone", rec["zone"], kMaxScopeAssets));
  } else if (scope == "section" && rec["section"].is_number_integer()) {
    keep(ctx.Find("assets", "section", rec["section"], kMaxScopeAssets));
  }
  if (auto id = IdOf(rec, "id")) {
    for (const json& link : ctx.Find("risk_assets", "risk", *id, kMaxScopeAssets)) {
      if (auto aid = IdOf(link, "asset")) {
        if (auto a = ctx.Lookup("assets", *aid)) keep({*a});
      }
    }
  }
  return out;
}

// The impact the assets' levels propose on the axes the threat affects: the highest over the
// assets (nullptr when no asset has a level on those axes).
const policy::MatrixLevel* ProposedImpact(const policy::Matrix& matrix,
                                          const policy::Scheme& scheme,
                                          const std::vector<Axis>& axes,
                                          const std::vector<json>& assets) {
  const policy::MatrixLevel* best = nullptr;
  for (const json& a : assets) {
    for (Axis axis : axes) {
      const int rank = scheme.Rank(axis, TextOf(a, policy::AxisName(axis)));
      if (rank < 0) continue;
      const auto& level = matrix.ImpactForRank(rank, static_cast<int>(scheme.levels(axis).size()));
      if (best == nullptr || level.score > best->score) best = &level;
    }
  }
  return best;
}

std::vector<Axis> ThreatAxes(const json& threat) {
  std::vector<Axis> axes;
  for (Axis a : policy::kAxes) {
    if (threat[std::string("affects_") + policy::AxisName(a)] == true) axes.push_back(a);
  }
  return axes;
}

// Fields whose change is a new assessment: an approved acceptance no longer holds. The levels
// are among them: new thresholds (設定) can move a risk to a level another role decides.
constexpr const char* kAssessmentFields[] = {
    "likelihood",     "impact",         "residual_likelihood", "residual_impact",
    "inherent_level", "residual_level", "treatment",           "threat",
    "scope",          "asset",          "asset_kind",          "zone"};

bool AssessmentChanged(const json& stored, const json& rec) {
  for (const char* f : kAssessmentFields) {
    if (stored[f] != rec[f]) return true;
  }
  return false;
}

RecordCompleter DeriveRisk(Catalogs c, bool on_update) {
  return [c = std::move(c), on_update](json& rec, RuleContext& ctx) {
    const auto all = Matrices(c, ctx);
    const policy::Matrix& m =
        ActiveMatrix(*all, ctx.Setting(kRiskMatrixSetting, all->default_matrix));
    std::optional<json> stored;
    if (auto id = IdOf(rec, "id")) stored = ctx.Lookup("risks", *id);

    // The impact the assets propose.
    rec["proposed_impact"] = nullptr;
    if (auto tid = IdOf(rec, "threat")) {
      if (auto threat = ctx.Lookup("threats", *tid)) {
        const policy::Scheme* scheme =
            ActiveScheme(c, ctx.Setting("classification_scheme", c.classification->default_scheme));
        if (const auto* p =
                ProposedImpact(m, *scheme, ThreatAxes(*threat), ScopeAssets(rec, ctx))) {
          rec["proposed_impact"] = p->value;
        }
      }
    }
    if (!on_update && rec["impact"].is_null()) rec["impact"] = rec["proposed_impact"];
    if (rec["owner"].is_null() && ctx.actor().user_id != 0) rec["owner"] = ctx.actor().user_id;

    // Scores and levels.
    auto derive = [&](const char* l, const char* i, const char* score, const char* level) {
      const policy::MatrixLevel* lv = m.Likelihood(TextOf(rec, l));
      const policy::MatrixLevel* iv = m.Impact(TextOf(rec, i));
      if (lv == nullptr || iv == nullptr) {
        rec[score] = rec[level] = nullptr;
        return;
      }
      rec[score] = lv->score * iv->score;
      rec[level] = m.LevelOf(lv->score * iv->score);
    };
    derive("likelihood", "impact", "inherent_score", "inherent_level");
    derive("residual_likelihood", "residual_impact", "residual_score", "residual_level");

    // Acceptance follows the treatment; a changed assessment asks again.
    if (TextOf(rec, "treatment") != "accept") {
      rec["acceptance"] = rec["accepted_by"] = rec["accepted_on"] = nullptr;
      return;
    }
    const std::string before = stored ? TextOf(*stored, "acceptance") : "";
    const std::string now = TextOf(rec, "acceptance");
    if (stored && (before == "approved" || before == "rejected") &&
        AssessmentChanged(*stored, rec)) {
      rec["acceptance"] = "requested";
    } else if (now.empty()) {
      rec["acceptance"] = "requested";
    }
    if (TextOf(rec, "acceptance") == "requested") {
      rec["accepted_by"] = rec["accepted_on"] = nullptr;
    } else if (before == "requested") {
      if (ctx.actor().user_id != 0) rec["accepted_by"] = ctx.actor().user_id;
      rec["accepted_on"] = ctx.today();
    } else if (stored) {
      rec["accepted_by"] = (*stored)["accepted_by"];
      rec["accepted_on"] = (*stored)["accepted_on"];
    }
  };
}

// The rank of a user's highest role on `date` (0 = CISO); the hierarchy's size when none.
int RankOfRoles(const std::vector<std::string>& roles) {
  const auto& order = RoleHierarchy();
  int best = static_cast<int>(order.size());
  for (const auto& r : roles) {
    auto it = std::find(order.begin(), order.end(), r);
    if (it != order.end()) best = std::min(best, static_cast<int>(it - order.begin()));
  }
  return best;
}

std::vector<std::string> UserRoles(RuleContext& ctx, int64_t user, const std::string& date) {
  std::vector<std::string> out;
  for (const json& a : ctx.Find("role_assignments", "user", user, 1000)) {
    const std::string from = TextOf(a, "valid_from"), to = TextOf(a, "valid_to");
    if (from <= date && (to.empty() || to >= date)) out.push_back(TextOf(a, "role"));
  }
  return out;
}

RecordRule CheckRisk(Catalogs c) {
  return [c = std::move(c)](const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
    const std::string scope = TextOf(rec, "scope");
    struct Need {
      const char* scope;
      const char* field;
      const char* label;
    };
    for (const Need& n :
         {Need{"asset", "asset", "対象資産"}, Need{"kind", "asset_kind", "対象の種別"},
          Need{"zone", "zone", "対象の系統"}}) {
      if (scope == n.scope && rec[n.field].is_null()) {
        AddError(errors, n.field, n.label,
                 std::string("対象が「") +
                     (scope == "asset"  ? "個別の資産"
                      : scope == "kind" ? "資産の種別"
                                        : "系統") +
                     "」のときは必須です。",
                 std::string(n.field) + " is required for this scope");
      } else if (scope != n.scope && !rec[n.field].is_null()) {
        AddError(errors, n.field, n.label, "選んだ対象の範囲では指定しません。",
                 std::string(n.field) + " does not belong to this scope");
      }
    }
    // Residual likelihood and impact come together.
    if (rec["residual_likelihood"].is_null() != rec["residual_impact"].is_null()) {
      AddError(errors,
               rec["residual_likelihood"].is_null() ? "residual_likelihood" : "residual_impact",
               "残存リスク", "残存リスクは発生可能性と影響度の両方を指定してください。",
               "give both residual likelihood and impact");
    }
    if (rec["inherent_score"].is_number_integer() && rec["residual_score"].is_number_integer() &&
        rec["residual_score"].get<int64_t>() > rec["inherent_score"].get<int64_t>()) {
      AddError(errors, "residual_impact", "残存リスク",
               "残存リスクは、対策前のリスクより高くできません。",
               "the residual risk cannot exceed the inherent risk");
    }
    if (!rec["treatment"].is_null() && TextOf(rec, "treatment") != "accept" &&
        rec["residual_likelihood"].is_null() && !rec["due_on"].is_null() &&
        TextOf(rec, "due_on") < ctx.today()) {
      ctx.Warn({"residual_likelihood",
                "残存リスク",
                "対応期限を過ぎています。残存リスクを評価してください。",
                "the due date has passed; assess the residual risk",
                0,
                {}});
    }
    // The controls a treatment relies on, from the catalog.
    if (rec["controls"].is_string()) {
      static const std::regex kSep("[\\s,、，]+");
      const std::string text = rec["controls"].get<std::string>();
      for (std::sregex_token_iterator it(text.begin(), text.end(), kSep, -1), end; it != end;
           ++it) {
        const std::string id = *it;
        if (id.empty()) continue;
        const bool known = std::any_of(c.controls->controls.begin(), c.controls->controls.end(),
                                       [&](const policy::Control& k) { return k.id == id; });
        if (!known) {
          AddError(errors, "controls", "依拠する管理策",
                   "管理策 " + id + " は管理策の一覧にありません(例: C-6-3-02)。",
                   "unknown control " + id);
          break;
        }
      }
    }
    if (TextOf(rec, "treatment") == "reduce" && rec["controls"].is_null()) {
      ctx.Warn({"controls",
                "依拠する管理策",
                "低減の場合は、依拠する管理策を記録してください。",
                "record the controls a reduction relies on",
                0,
                {}});
    }
    // The proposed impact is a floor to explain.
    const auto all = Matrices(c, ctx);
    const policy::Matrix& m =
        ActiveMatrix(*all, ctx.Setting(kRiskMatrixSetting, all->default_matrix));
    const auto* proposed = m.Impact(TextOf(rec, "proposed_impact"));
    const auto* impact = m.Impact(TextOf(rec, "impact"));
    if (proposed && impact && impact->score < proposed->score) {
      ctx.Warn({"impact",
                "影響度",
                "対象資産の分類からは影響度「" + proposed->label.ja + "」が提案されています。",
                "the assets' classification proposes impact " + proposed->label.en,
                0,
                {}});
    }

    // Acceptance: requested by the owner's choice of 受容, decided by someone else above them.
    if (ctx.actor().user_id == 0) return;
    std::optional<json> stored;
    if (auto id = IdOf(rec, "id")) stored = ctx.Lookup("risks", *id);
    const std::string before = stored ? TextOf(*stored, "acceptance") : "";
    const std::string now = TextOf(rec, "acceptance");
    if (!stored && !now.empty() && now != "requested") {
      AddError(errors, "acceptance", "受容の承認",
               "受容は「承認待ち」で登録し、承認者が判断します。",
               "an acceptance starts as requested");
      return;
    }
    if ((before == "approved" || before == "rejected") && now != before && now != "requested") {
      AddError(errors, "acceptance", "受容の承認", "判断済みの受容は変えられません。",
               "a decided acceptance cannot be changed");
      return;
    }
    if (before != "requested" || now == "requested" || now.empty()) return;
    // A decision.
    if (AssessmentChanged(*stored, rec)) {
      AddError(errors, "acceptance", "受容の承認",
               "受容を判断するときは、評価の内容を同時に変えられません。",
               "a decision does not change the assessment");
      return;
    }
    const int64_t owner = rec["owner"].is_number_integer() ? rec["owner"].get<int64_t>() : 0;
    if (Status st = policy::CheckNotOwnRequest(ctx.actor().user_id, owner, "リスクの受容");
        !st.ok()) {
      AddError(errors, "acceptance", "受容の承認", st.error().message, st.error().message_en);
      return;
    }
    if (!ctx.Allowed("risks", Action::kApprove, &rec)) {
      AddError(errors, "acceptance", "受容の承認", "リスクの受容を判断する権限がありません。",
               "you may not decide risk acceptance");
      return;
    }
    const std::string level = rec["residual_level"].is_string() ? TextOf(rec, "residual_level")
                                                                : TextOf(rec, "inherent_level");
    std::vector<std::string> mine;
    for (const auto& g : ctx.actor().roles) mine.push_back(g.role);
    const policy::RiskLevel* lv = all->Level(level);
    const std::string level_ja = lv ? lv->label.ja : level;
    if (m.ApproverFor(level) == policy::Approver::kCiso) {
      if (std::find(mine.begin(), mine.end(), "ciso") == mine.end()) {
        AddError(errors, "acceptance", "受容の承認",
                 "リスクの水準が「" + level_ja +
                     "」のため、受容は最高情報セキュリティ責任者(CISO)が判断します。",
                 "at this level only the CISO decides acceptance");
      }
    } else if (RankOfRoles(mine) >= RankOfRoles(UserRoles(ctx, owner, ctx.today()))) {
      AddError(errors, "acceptance", "受容の承認",
               "受容は、リスク所有者より上位の役割の人が判断します。",
               "acceptance is decided by a role above the owner");
    }
    if (now == "rejected" && rec["acceptance_comment"].is_null()) {
      AddError(errors, "acceptance_comment", "判断の理由", "却下する理由を記入してください。",
               "give the reason for the rejection");
    }
  };
}

// ---------------------------------------------------------------------------------------
// リスクの対象資産, 提案の見送り, リスク評価

void CompleteRiskAsset(json& rec, RuleContext& ctx) {
  if (!rec["section"].is_null()) return;
  if (auto id = IdOf(rec, "risk")) {
    if (auto risk = ctx.Lookup("risks", *id)) rec["section"] = (*risk)["section"];
  }
}

void CheckRiskAsset(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  auto risk_id = IdOf(rec, "risk");
  auto asset_id = IdOf(rec, "asset");
  if (!risk_id || !asset_id) return;
  auto risk = ctx.Lookup("risks", *risk_id);
  if (risk && (*risk)["section"] != rec["section"]) {
    AddError(errors, "section", "課室", "課室はリスクの課室です。", "the risk's section");
  }
  if (risk && (*risk)["asset"] == rec["asset"]) {
    AddError(errors, "asset", "資産", "この資産はリスクの対象資産です。",
             "the asset is already the risk's own");
  }
  for (const json& other : ctx.Find("risk_assets", "risk", *risk_id, kMaxScopeAssets)) {
    if (other["asset"] == rec["asset"] && other["id"] != rec.value("id", json())) {
      AddError(errors, "asset", "資産", "この資産は既に対象に加えられています。",
               "the asset is already linked");
      break;
    }
  }
}

void CompleteDismissal(json& rec, RuleContext& ctx) {
  if (rec["dismissed_by"].is_null() && ctx.actor().user_id != 0) {
    rec["dismissed_by"] = ctx.actor().user_id;
  }
  if (rec["dismissed_on"].is_null()) rec["dismissed_on"] = ctx.today();
  if (rec["section"].is_null()) {
    if (auto id = IdOf(rec, "asset")) {
      if (auto a = ctx.Lookup("assets", *id)) rec["section"] = (*a)["section"];
    }
  }
}

void CheckDismissal(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  auto asset_id = IdOf(rec, "asset");
  if (!asset_id) return;
  if (auto a = ctx.Lookup("assets", *asset_id); a && (*a)["section"] != rec["section"]) {
    AddError(errors, "section", "課室", "課室は資産の所管です。", "the asset's section");
  }
  for (const json& d : ctx.Find("risk_dismissals", "asset", *asset_id, 1000)) {
    if (d["proposal"] == rec["proposal"] && d["id"] != rec.value("id", json())) {
      AddError(errors, "proposal", "提案", "この提案は既に見送られています。",
               "the proposal is already dismissed");
      break;
    }
  }
  if (ctx.actor().user_id != 0 &&
      (rec["dismissed_by"] != ctx.actor().user_id || TextOf(rec, "dismissed_on") != ctx.today())) {
    AddError(errors, "dismissed_by", "判断者", "判断者と判断日は、操作している本人と今日です。",
             "recorded as the actor today");
  }
}

std::string FiscalYearTitle(int64_t year) {
  return std::to_string(year) + "年度(令和" + std::to_string(year - 2018) + "年度)リスク評価";
}

json SnapshotEntry(const json& r) {
  json e = json::object();
  for (const char* f :
       {"id", "risk_no", "title", "scope", "asset_kind", "zone", "likelihood", "impact",
        "inherent_score", "inherent_level", "treatment", "controls", "residual_likelihood",
        "residual_impact", "residual_score", "residual_level", "acceptance", "due_on"}) {
    e[f] = r.value(f, json());
  }
  const json& refs = r.contains("_refs") ? r["_refs"] : json::object();
  for (const char* f : {"threat", "section", "asset", "owner"}) {
    e[f] = refs.contains(f) ? refs[f]["label"] : json();
  }
  return e;
}

void CompleteRound(json& rec, RuleContext& ctx) {
  if (rec["title"].is_null() && rec["fiscal_year"].is_number_integer()) {
    rec["title"] = FiscalYearTitle(rec["fiscal_year"].get<int64_t>());
  }
  if (rec["opened_on"].is_null()) rec["opened_on"] = ctx.today();
  std::optional<json> stored;
  if (auto id = IdOf(rec, "id")) stored = ctx.Lookup("risk_rounds", *id);
  const bool closing =
      TextOf(rec, "status") == "closed" && (!stored || TextOf(*stored, "status") != "closed");
  if (closing) {
    json snapshot = json::array();
    for (const json& r : ctx.All("risks", kMaxRisks)) snapshot.push_back(SnapshotEntry(r));
    rec["snapshot"] = snapshot.dump();
    rec["closed_on"] = ctx.today();
    if (ctx.actor().user_id != 0) rec["closed_by"] = ctx.actor().user_id;
  } else if (stored) {
    for (const char* f : {"snapshot", "closed_on", "closed_by"}) rec[f] = (*stored)[f];
  }
}

void CheckRound(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  std::optional<json> stored;
  if (auto id = IdOf(rec, "id")) stored = ctx.Lookup("risk_rounds", *id);
  if (stored && TextOf(*stored, "status") == "closed") {
    for (auto it = stored->begin(); it != stored->end(); ++it) {
      if (rec.contains(it.key()) && rec[it.key()] != *it && it.key() != "summary") {
        AddError(errors, "status", "状態",
                 "締めたリスク評価は変えられません(所見のみ追記できます)。",
                 "a closed round cannot change, except its summary");
        return;
      }
    }
  }
  if (stored && (*stored)["fiscal_year"] != rec["fiscal_year"]) {
    AddError(errors, "fiscal_year", "年度", "年度は後から変えられません。",
             "the fiscal year cannot change");
  }
  if (TextOf(rec, "status") == "open") {
    for (const json& other : ctx.Find("risk_rounds", "status", "open", 10)) {
      if (other["id"] != rec.value("id", json())) {
        AddError(errors, "status", "状態",
                 "実施中のリスク評価(" + TextOf(other, "title") + ")を先に締めてください。",
                 "close the open round first");
        break;
      }
    }
  }
}

}  // namespace

const std::vector<std::string>& RoleHierarchy() {
  static const std::vector<std::string> order = {
      "ciso",           "security_general", "security_officer", "security_manager",
      "system_manager", "system_staff"};
  return order;
}

RegisterDef ThreatsRegister(const Catalogs& catalogs) {
  RegisterDef d;
  d.key = "threats";
  d.path = "risks/threats";
  d.label = {"脅威", "Threats"};
  d.key_field = "code";
  d.title_field = "name";
  d.default_sort = "code";

  FieldDef code = MakeField("code", FieldType::kText);
  code.label = {"番号", "Code"};
  code.help = {"空欄なら T-1-L01 の形で付けます(L は団体で追加したもの)。",
               "Given, or generated as T-1-L01"};
  code.required = code.unique = code.generated = code.searchable = true;
  code.max_length = 20;

  FieldDef group = MakeField("group", FieldType::kEnum);
  group.label = {"区分", "Group"};
  group.help = {"基本方針 3 の脅威の区分", "The groups of threats of §3"};
  group.required = group.filterable = true;
  for (const auto& g : catalogs.threats->groups) {
    group.options.push_back(
        {g.key, {g.section + " " + g.label.ja, g.section + " " + g.label.en}, {g.label.ja}, {}});
  }

  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"脅威", "Threat"};
  name.required = name.searchable = true;
  name.max_length = 100;

  FieldDef description = MakeField("description", FieldType::kTextarea);
  description.label = {"説明", "Description"};
  description.searchable = true;
  description.list = description.sortable = false;
  description.max_length = 2000;

  auto axis = [](const char* name, Label label) {
    FieldDef f = MakeField(name, FieldType::kBoolean);
    f.label = std::move(label);
    f.filterable = true;
    return f;
  };
  FieldDef c = axis("affects_confidentiality", {"機密性", "Confidentiality"});
  c.help = {"この脅威が損なうもの", "What this threat harms"};
  FieldDef i = axis("affects_integrity", {"完全性", "Integrity"});
  FieldDef a = axis("affects_availability", {"可用性", "Availability"});

  FieldDef source = MakeField("source", FieldType::kEnum);
  source.label = {"出典", "Source"};
  source.options = {{"catalog", {"Mamori の脅威一覧", "Mamori's catalog"}, {}, {}},
                    {"body", {"団体で追加", "Added by the body"}, {"団体"}, {}}};
  source.generated = source.system = source.filterable = true;

  d.fields = {code, group, name, description, c, i, a, source};
  d.rules = {CheckThreat};
  d.completers = {CompleteThreat};
  return d;
}

RegisterDef RisksRegister(const Catalogs& catalogs, const RegisterDef& assets) {
  RegisterDef d;
  d.key = "risks";
  d.path = "risks/scenarios";
  d.label = {"リスク", "Risks"};
  d.key_field = "risk_no";
  d.title_field = "title";
  d.default_sort = "risk_no";
  d.org_field = "section";

  FieldDef no = MakeField("risk_no", FieldType::kText);
  no.label = {"リスク番号", "Risk number"};
  no.help = {"空欄なら R-000123 の形で付けます。", "Given, or generated as R-000123"};
  no.required = no.unique = no.generated = no.searchable = true;
  no.max_length = 30;

  FieldDef title = MakeField("title", FieldType::kText);
  title.label = {"リスク", "Risk"};
  title.help = {"何が起きて何が損なわれるか(例: 窓口端末から USB メモリで住民情報が漏えい)",
                "What happens and what is harmed"};
  title.required = title.searchable = true;
  title.max_length = 150;

  FieldDef threat = MakeField("threat", FieldType::kRef);
  threat.label = {"脅威", "Threat"};
  threat.ref = "threats";
  threat.required = threat.filterable = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"担当課室", "Section"};
  section.help = {"リスクに対応する課室", "The section that treats the risk"};
  section.ref = "org_units";
  section.required = section.filterable = true;

  FieldDef scope = MakeField("scope", FieldType::kEnum);
  scope.label = {"対象の範囲", "Scope"};
  scope.help = {"個別の資産、又は資産のまとまり(種別・系統・担当課室の資産すべて)",
                "One asset, or a group: a kind, a zone, the section's assets"};
  scope.required = scope.filterable = true;
  scope.default_value = "asset";
  scope.options = {{"asset", {"個別の資産", "Asset"}, {"資産"}, {}},
                   {"kind", {"資産の種別", "Asset kind"}, {"種別"}, {}},
                   {"zone", {"系統", "Network zone"}, {}, {}},
                   {"section", {"担当課室の資産すべて", "The section's assets"}, {"課室"}, {}}};

  FieldDef asset = MakeField("asset", FieldType::kRef);
  asset.label = {"対象資産", "Asset"};
  asset.help = {"対象が個別の資産のとき。ほかの資産は「リスクの対象資産」で加えます。",
                "For one asset; add more under risk assets"};
  asset.ref = "assets";
  asset.filterable = true;

  FieldDef kind = *assets.Field("kind");
  kind.name = "asset_kind";
  kind.label = {"対象の種別", "Asset kind"};
  kind.help = {"対象が資産の種別のとき", "When the scope is a kind"};
  kind.required = false;
  kind.list = false;

  FieldDef zone = *assets.Field("zone");
  zone.label = {"対象の系統", "Zone"};
  zone.help = {"対象が系統のとき", "When the scope is a zone"};
  zone.required = false;
  zone.list = false;
  zone.default_value.clear();

  FieldDef description = MakeField("description", FieldType::kTextarea);
  description.label = {"シナリオ", "Scenario"};
  description.help = {"脅威がどのように資産を損なうか", "How the threat harms the assets"};
  description.searchable = true;
  description.list = description.sortable = false;
  description.max_length = 4000;

  FieldDef likelihood = ScaleField(catalogs, "likelihood", true, {"発生可能性", "Likelihood"});
  likelihood.required = true;
  FieldDef impact = ScaleField(catalogs, "impact", false, {"影響度", "Impact"});
  impact.required = impact.generated = true;
  impact.help = {"空欄なら、対象資産の機密性・完全性・可用性から提案された値",
                 "Left blank: proposed from the assets' C/I/A levels"};
  FieldDef proposed =
      ScaleField(catalogs, "proposed_impact", false, {"提案された影響度", "Proposed impact"});
  proposed.generated = proposed.system = true;
  proposed.list = proposed.filterable = false;
  proposed.help = {"脅威が損なう軸についての、対象資産の最も高い分類から",
                   "From the assets' highest level on the axes the threat affects"};

  FieldDef inherent_score = ScoreField("inherent_score", {"リスク値", "Risk score"});
  FieldDef inherent_level = LevelField(catalogs, "inherent_level", {"リスクの水準", "Risk level"});

  FieldDef treatment = MakeField("treatment", FieldType::kEnum);
  treatment.label = {"対応", "Treatment"};
  treatment.filterable = true;
  treatment.options = {{"reduce", {"低減", "Reduce"}, {}, {}},
                       {"avoid", {"回避", "Avoid"}, {}, {}},
                       {"transfer", {"移転", "Transfer"}, {"共有"}, {}},
                       {"accept", {"受容", "Accept"}, {"保有"}, {}}};

  FieldDef controls = MakeField("controls", FieldType::kText);
  controls.label = {"依拠する管理策", "Controls relied on"};
  controls.help = {"管理策の番号を「、」で区切って(例: C-6-3-02、C-6-4-01)",
                   "Control ids, separated by commas"};
  controls.searchable = true;
  controls.list = false;
  controls.max_length = 500;

  FieldDef plan = MakeField("treatment_plan", FieldType::kTextarea);
  plan.label = {"対応の内容", "Treatment plan"};
  plan.list = plan.sortable = false;
  plan.max_length = 4000;

  FieldDef owner = MakeField("owner", FieldType::kRef);
  owner.label = {"リスク所有者", "Risk owner"};
  owner.help = {"空欄なら登録した本人", "Left blank: the person who records it"};
  owner.ref = "users";
  owner.required = owner.generated = owner.filterable = true;

  FieldDef due = MakeField("due_on", FieldType::kDate);
  due.label = {"対応期限", "Due on"};

  FieldDef rl = ScaleField(catalogs, "residual_likelihood", true,
                           {"残存リスクの発生可能性", "Residual likelihood"});
  rl.list = false;
  FieldDef ri =
      ScaleField(catalogs, "residual_impact", false, {"残存リスクの影響度", "Residual impact"});
  ri.list = false;
  FieldDef residual_score = ScoreField("residual_score", {"残存リスク値", "Residual score"});
  FieldDef residual_level =
      LevelField(catalogs, "residual_level", {"残存リスクの水準", "Residual level"});

  FieldDef acceptance = MakeField("acceptance", FieldType::kEnum);
  acceptance.label = {"受容の承認", "Acceptance"};
  acceptance.help = {"対応を「受容」にすると承認待ちになり、所有者より上位の役割の人が判断します。",
                     "Choosing accept asks someone above the owner to decide"};
  acceptance.generated = acceptance.filterable = true;
  acceptance.options = {{"requested", {"承認待ち", "Requested"}, {}, {}},
                        {"approved", {"承認", "Approved"}, {}, {}},
                        {"rejected", {"却下", "Rejected"}, {}, {}}};

  FieldDef accepted_by = MakeField("accepted_by", FieldType::kRef);
  accepted_by.label = {"受容の判断者", "Decided by"};
  accepted_by.ref = "users";
  accepted_by.generated = accepted_by.system = true;
  accepted_by.list = false;

  FieldDef accepted_on = MakeField("accepted_on", FieldType::kDate);
  accepted_on.label = {"受容の判断日", "Decided on"};
  accepted_on.generated = accepted_on.system = true;
  accepted_on.list = false;

  FieldDef comment = MakeField("acceptance_comment", FieldType::kTextarea);
  comment.label = {"判断の理由", "Decision comment"};
  comment.list = comment.sortable = false;
  comment.max_length = 2000;

  d.fields = {no,
              title,
              threat,
              section,
              scope,
              asset,
              kind,
              zone,
              description,
              likelihood,
              impact,
              proposed,
              inherent_score,
              inherent_level,
              treatment,
              controls,
              plan,
              owner,
              due,
              rl,
              ri,
              residual_score,
              residual_level,
              acceptance,
              accepted_by,
              accepted_on,
              comment};
  d.completers = {[](json& rec, RuleContext& ctx) {
                    if (!rec["risk_no"].is_null()) return;
                    char no[32];
                    std::snprintf(no, sizeof no, "R-%06lld",
                                  static_cast<long long>(ctx.NextId("risks")));
                    rec["risk_no"] = no;
                  },
                  DeriveRisk(catalogs, false)};
  d.update_completers = {DeriveRisk(catalogs, true)};
  d.rules = {CheckRisk(catalogs)};
  return d;
}

RegisterDef RiskAssetsRegister() {
  RegisterDef d;
  d.key = "risk_assets";
  d.path = "risks/assets";
  d.label = {"リスクの対象資産", "Risk assets"};
  d.title_field = "asset";
  d.default_sort = "risk";
  d.org_field = "section";

  FieldDef risk = MakeField("risk", FieldType::kRef);
  risk.label = {"リスク", "Risk"};
  risk.ref = "risks";
  risk.required = risk.filterable = true;

  FieldDef asset = MakeField("asset", FieldType::kRef);
  asset.label = {"資産", "Asset"};
  asset.ref = "assets";
  asset.required = asset.filterable = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"課室", "Section"};
  section.ref = "org_units";
  section.required = section.generated = section.system = section.filterable = true;

  FieldDef note = MakeField("note", FieldType::kText);
  note.label = {"備考", "Note"};
  note.max_length = 200;

  d.fields = {risk, asset, section, note};
  d.completers = {CompleteRiskAsset};
  d.rules = {CheckRiskAsset};
  return d;
}

RegisterDef RiskDismissalsRegister(const Catalogs& catalogs) {
  RegisterDef d;
  d.key = "risk_dismissals";
  d.path = "risks/dismissals";
  d.label = {"提案の見送り", "Dismissed proposals"};
  d.title_field = "proposal";
  d.default_sort = "dismissed_on";
  d.org_field = "section";
  d.immutable = true;

  FieldDef asset = MakeField("asset", FieldType::kRef);
  asset.label = {"資産", "Asset"};
  asset.ref = "assets";
  asset.required = asset.filterable = true;

  FieldDef proposal = MakeField("proposal", FieldType::kEnum);
  proposal.label = {"提案", "Proposal"};
  proposal.required = proposal.filterable = true;
  for (const auto& p : catalogs.threats->proposals) {
    const policy::Threat* t = catalogs.threats->Find(p.threat);
    const std::string value = ProposalValue(p.id);
    proposal.options.push_back(
        {value, {p.id + " " + t->name.ja, p.id + " " + t->name.en}, {p.id}, {}});
  }

  FieldDef reason = MakeField("reason", FieldType::kTextarea);
  reason.label = {"見送る理由", "Reason"};
  reason.required = reason.searchable = true;
  reason.max_length = 2000;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"課室", "Section"};
  section.ref = "org_units";
  section.required = section.generated = section.system = section.filterable = true;

  FieldDef by = MakeField("dismissed_by", FieldType::kRef);
  by.label = {"判断者", "Dismissed by"};
  by.ref = "users";
  by.generated = by.system = true;

  FieldDef on = MakeField("dismissed_on", FieldType::kDate);
  on.label = {"判断日", "Dismissed on"};
  on.required = on.generated = on.system = true;

  d.fields = {asset, proposal, reason, section, by, on};
  d.completers = {CompleteDismissal};
  d.rules = {CheckDismissal};
  return d;
}

RegisterDef RiskRoundsRegister() {
  RegisterDef d;
  d.key = "risk_rounds";
  d.path = "risks/rounds";
  d.label = {"リスク評価", "Assessment rounds"};
  d.key_field = "fiscal_year";
  d.title_field = "title";
  d.default_sort = "fiscal_year";

  FieldDef year = MakeField("fiscal_year", FieldType::kInteger);
  year.label = {"年度", "Fiscal year"};
  year.help = {"西暦の年度(4月から翌年3月)", "The fiscal year (April to March)"};
  year.required = year.unique = true;
  year.min = 2000;
  year.max = 2100;

  FieldDef title = MakeField("title", FieldType::kText);
  title.label = {"名称", "Title"};
  title.required = title.generated = title.searchable = true;
  title.max_length = 100;

  FieldDef status = MakeField("status", FieldType::kEnum);
  status.label = {"状態", "Status"};
  status.help = {"締めると、その時点のリスクの一覧が記録されます。",
                 "Closing keeps a snapshot of every risk"};
  status.required = status.filterable = true;
  status.default_value = "open";
  status.options = {{"open", {"実施中", "Open"}, {}, {}},
                    {"closed", {"締め", "Closed"}, {"終了"}, {}}};

  FieldDef opened = MakeField("opened_on", FieldType::kDate);
  opened.label = {"開始日", "Opened on"};
  opened.required = opened.generated = opened.system = true;

  FieldDef closed = MakeField("closed_on", FieldType::kDate);
  closed.label = {"締めた日", "Closed on"};
  closed.generated = closed.system = true;

  FieldDef by = MakeField("closed_by", FieldType::kRef);
  by.label = {"締めた人", "Closed by"};
  by.ref = "users";
  by.generated = by.system = true;
  by.list = false;

  FieldDef summary = MakeField("summary", FieldType::kTextarea);
  summary.label = {"所見", "Findings"};
  summary.help = {"基本方針 8 の見直しに向けた所見", "Findings for the review of §8"};
  summary.list = summary.sortable = false;
  summary.max_length = 8000;

  FieldDef snapshot = MakeField("snapshot", FieldType::kTextarea);
  snapshot.label = {"締めた時点のリスク", "Snapshot"};
  snapshot.generated = snapshot.system = snapshot.detail_only = true;
  snapshot.list = snapshot.sortable = false;
  snapshot.max_length = 64 << 20;

  d.fields = {year, title, status, opened, closed, by, summary, snapshot};
  d.completers = {CompleteRound};
  d.update_completers = {CompleteRound};
  d.rules = {CheckRound};
  return d;
}

// ---------------------------------------------------------------------------------------
// RiskService

namespace {

const Actor kSystemActor{"system", "local", 0, {}};

json TextJson(const policy::Text& t) { return json{{"ja", t.ja}, {"en", t.en}}; }

json ScaleJson(const std::vector<policy::MatrixLevel>& levels) {
  json out = json::array();
  for (const auto& l : levels) {
    out.push_back({{"value", l.value},
                   {"score", l.score},
                   {"label", TextJson(l.label)},
                   {"meaning", TextJson(l.meaning)}});
  }
  return out;
}

// The comparable entries of a snapshot by risk id.
std::map<int64_t, json> ById(const json& snapshot) {
  std::map<int64_t, json> out;
  if (!snapshot.is_array()) return out;
  for (const json& e : snapshot) {
    if (e.contains("id") && e["id"].is_number_integer()) out[e["id"].get<int64_t>()] = e;
  }
  return out;
}

// The fields a round report compares, in report order.
constexpr const char* kReportFields[] = {
    "title",    "threat",         "likelihood", "impact", "inherent_level", "treatment",
    "controls", "residual_level", "acceptance", "owner",  "due_on"};

}  // namespace

RiskService::RiskService(store::Store& store, RegisterService& service, const Registry& registry,
                         const Authorizer& authorizer, Catalogs catalogs, const Clock& clock)
    : store_(store),
      service_(service),
      registry_(registry),
      authorizer_(authorizer),
      catalogs_(std::move(catalogs)),
      clock_(clock) {}

Result<int64_t> RiskService::SeedThreats() {
  const RegisterDef* def = registry_.ByKey("threats");
  if (def == nullptr) return Error::Internal("the threat register is not defined");
  std::set<std::string> held;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto rows, c.Query("SELECT f_code FROM r_threats"));
    for (const auto& r : rows) held.insert(AsText(r[0]));
    return {};
  }));
  int64_t added = 0;
  for (const auto& t : catalogs_.threats->threats) {
    if (held.count(t.code)) continue;
    json body{{"code", t.code},
              {"group", t.group},
              {"name", t.name.ja},
              {"description", t.description.ja}};
    for (Axis a : policy::kAxes) body[std::string("affects_") + AxisName(a)] = t.Affects(a);
    MAMORI_TRY(service_.Create(kSystemActor, *def, body));
    ++added;
  }
  return added;
}

Result<int64_t> RiskService::RederiveLevels() {
  const RegisterDef* def = registry_.ByKey("risks");
  if (def == nullptr) return Error::Internal("the risk register is not defined");
  MAMORI_ASSIGN_OR_RETURN(const auto all, Levels());
  MAMORI_ASSIGN_OR_RETURN(std::string key,
                          service_.Setting(kRiskMatrixSetting, all->default_matrix));
  const policy::Matrix& m = ActiveMatrix(*all, key);
  std::vector<std::pair<int64_t, int64_t>> stale;  // id, version
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto rows,
                            c.Query("SELECT id, version, f_likelihood, f_impact, f_inherent_level, "
                                    "f_residual_likelihood, f_residual_impact, f_residual_level "
                                    "FROM r_risks WHERE archived = 0"));
    auto level = [&](const Value& l, const Value& i) -> std::string {
      const auto* lv = store::IsNull(l) ? nullptr : m.Likelihood(AsText(l));
      const auto* iv = store::IsNull(i) ? nullptr : m.Impact(AsText(i));
      return lv && iv ? m.LevelOf(lv->score * iv->score) : "";
    };
    auto text = [](const Value& v) { return store::IsNull(v) ? std::string() : AsText(v); };
    for (const auto& r : rows) {
      if (level(r[2], r[3]) != text(r[4]) || level(r[5], r[6]) != text(r[7])) {
        stale.emplace_back(AsInt(r[0]), AsInt(r[1]));
      }
    }
    return {};
  }));
  for (const auto& [id, version] : stale) {
    MAMORI_TRY(service_.Update(kSystemActor, *def, id, version, json::object()));
  }
  return static_cast<int64_t>(stale.size());
}

Result<std::shared_ptr<const policy::RiskMatrices>> RiskService::Levels() const {
  MAMORI_ASSIGN_OR_RETURN(std::string value, service_.Setting(kRiskLevelsSetting, ""));
  return WithLevels(catalogs_, value);
}

Result<json> RiskService::ChangeLevels(const Actor& actor, const json& body) {
  const RegisterDef* risks = registry_.ByKey("risks");
  if (risks == nullptr) return Error::Internal("the risk register is not defined");
  const policy::RiskMatrices& base = *catalogs_.matrices;
  // The value this change starts from: the change is refused (kConflict) if another one was
  // saved meanwhile, instead of silently undoing it.
  MAMORI_ASSIGN_OR_RETURN(const std::string previous, service_.Setting(kRiskLevelsSetting, ""));
  const auto present = WithLevels(catalogs_, previous);
  std::vector<FieldError> errors;
  auto fail = [&](std::string field, std::string label, std::string ja, std::string en) {
    errors.push_back({std::move(field), std::move(label), std::move(ja), std::move(en), 0, {}});
  };
  if (!body.is_object()) {
    return Error::Invalid("JSON オブジェクトを送ってください。", "body must be a JSON object");
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "names" && it.key() != "thresholds" && it.key() != "reset") {
      fail(it.key(), it.key(), "この項目は設定できません(names、thresholds、reset だけです)。",
           "unknown member");
    }
  }
  // {"reset": true} returns to the catalog's names and thresholds.
  const bool reset = body.contains("reset");
  if (reset && (body["reset"] != true || body.size() > 1)) {
    fail("reset", "初期値に戻す", "reset は true だけを、names・thresholds なしで指定します。",
         "reset is true and stands alone");
  }
  json names = json::object(), thresholds = json::object();

  const json given_names = body.value("names", json::object());
  if (!given_names.is_object())
    fail("names", "水準の名称", "オブジェクトで指定してください。", "an object");
  std::map<std::string, int> uses;     // Japanese name -> levels using it
  std::map<std::string, int> uses_en;  // English name, letters folded to lower case -> levels
  for (const auto& l : present->levels) {
    std::string ja = l.label.ja, en = l.label.en;
    const std::string field = "names." + l.key;
    if (given_names.is_object() && given_names.contains(l.key)) {
      const json& n = given_names[l.key];
      if (!n.is_object() || !n.contains("ja") || !n["ja"].is_string() ||
          (n.contains("en") && !n["en"].is_string())) {
        fail(field + ".ja", "水準の名称",
             "「" + l.label.ja + "」の名称を文字列で指定してください。",
             "names." + l.key + " needs ja (and en) strings");
        continue;
      }
      ja = std::string(TrimSpace(n["ja"].get<std::string>()));
      if (n.contains("en")) en = std::string(TrimSpace(n["en"].get<std::string>()));
      const bool printable = IsValidUtf8(ja) && IsValidUtf8(en) &&
                             FindUnsafeChar(ja) == UnsafeChar::kNone &&
                             FindUnsafeChar(en) == UnsafeChar::kNone;
      if (ja.empty() || Utf8Length(ja) > 20 || !printable) {
        fail(field + ".ja", "水準の名称",
             "「" + l.label.ja +
                 "」の名称は1〜20文字で、改行などの制御文字を含めずに入力してください。",
             "a level name has 1-20 characters without control characters");
        continue;
      }
      if (en.empty() || Utf8Length(en) > 40) {
        fail(field + ".en", "水準の名称(英語)",
             "「" + l.label.ja + "」の英語の名称は1〜40文字で入力してください。",
             "an English level name has 1-40 characters");
        continue;
      }
    }
    ++uses[ja];
    ++uses_en[internal::ToLowerAscii(en)];
    names[l.key] = {{"ja", ja}, {"en", en}};
  }
  for (auto it = names.begin(); it != names.end(); ++it) {
    const std::string ja = (*it)["ja"].get<std::string>();
    if (uses[ja] > 1) {
      fail("names." + it.key() + ".ja", "水準の名称",
           "名称「" + ja + "」は別の水準でも使われています。", "level names must differ");
    }
    const std::string en = (*it)["en"].get<std::string>();
    if (uses_en[internal::ToLowerAscii(en)] > 1) {
      fail("names." + it.key() + ".en", "水準の名称(英語)",
           "英語の名称「" + en + "」は別の水準でも使われています。",
           "English level names must differ");
    }
  }
  if (given_names.is_object()) {
    for (auto it = given_names.begin(); it != given_names.end(); ++it) {
      if (base.Level(it.key()) == nullptr) {
        fail("names." + it.key(), "水準の名称", "「" + it.key() + "」という水準はありません。",
             "unknown level " + it.key());
      }
    }
  }

  const json given_thresholds = body.value("thresholds", json::object());
  if (!given_thresholds.is_object()) {
    fail("thresholds", "しきい値", "オブジェクトで指定してください。", "an object");
  }
  if (given_thresholds.is_object()) {
    for (auto it = given_thresholds.begin(); it != given_thresholds.end(); ++it) {
      if (base.Find(it.key()) == nullptr) {
        fail("thresholds." + it.key(), "しきい値",
             "「" + it.key() + "」というマトリクスはありません。", "unknown matrix " + it.key());
      }
    }
  }
  for (const auto& m : present->matrices) {
    auto t = m.thresholds;
    const int max_score = m.size() * m.size();
    const json given = given_thresholds.is_object() ? given_thresholds.value(m.key, json::object())
                                                    : json::object();
    const std::string prefix = "thresholds." + m.key + ".";
    const std::string where = m.label.ja + "の";
    auto name_of = [&](const std::string& level) {
      return names.contains(level) ? names[level]["ja"].get<std::string>() : level;
    };
    if (!given.is_object()) {
      fail("thresholds." + m.key, "しきい値", where + "しきい値をオブジェクトで指定してください。",
           "an object");
      continue;
    }
    for (auto g = given.begin(); g != given.end(); ++g) {
      const auto at =
          std::find_if(t.begin(), t.end(), [&](const auto& p) { return p.first == g.key(); });
      if (at == t.end()) {
        fail(prefix + g.key(), "しきい値",
             where + "マトリクスは水準「" + g.key() + "」を使いません。",
             "the matrix does not use level " + g.key());
      } else if (at == t.begin()) {
        fail(
            prefix + g.key(), "しきい値",
            where + "最も低い水準「" + name_of(g.key()) + "」はスコア1から始まり、変えられません。",
            "the lowest level always starts at score 1");
      } else if (!g->is_number_integer() || g->get<int64_t>() < 2 ||
                 g->get<int64_t>() > max_score) {
        fail(prefix + g.key(), "しきい値",
             where + "「" + name_of(g.key()) + "」のしきい値は2〜" + std::to_string(max_score) +
                 "の整数で入力してください。",
             "a threshold is an integer from 2 to the highest score");
      } else {
        at->second = g->get<int>();
      }
    }
    json out = json::object();
    for (size_t i = 1; i < t.size(); ++i) {
      out[t[i].first] = t[i].second;
      if (t[i].second <= t[i - 1].second) {
        fail(prefix + t[i].first, "しきい値",
             where + "「" + name_of(t[i].first) + "」のしきい値は「" + name_of(t[i - 1].first) +
                 "」(" + std::to_string(t[i - 1].second) + ")より大きくしてください。",
             "thresholds rise with the level");
        continue;
      }
      // Each level must be reachable: some likelihood × impact score falls within it.
      const int upper = i + 1 < t.size() ? t[i + 1].second : max_score + 1;
      bool reachable = false;
      for (const auto& a : m.likelihood) {
        for (const auto& b : m.impact) {
          const int score = a.score * b.score;
          reachable = reachable || (score >= t[i].second && score < upper);
        }
      }
      if (!reachable) {
        fail(prefix + t[i].first, "しきい値",
             where + "このしきい値では「" + name_of(t[i].first) +
                 "」に当たるスコア(発生可能性×影響度)がありません。",
             "no likelihood x impact score falls within level " + t[i].first);
      }
    }
    thresholds[m.key] = std::move(out);
  }
  if (!errors.empty()) {
    return Error::Invalid("リスクの水準の設定に誤りがあります。", "invalid risk level settings",
                          std::move(errors));
  }
  // Only what differs from the catalog is stored: the rest keeps following the file.
  json own_names = json::object(), own_thresholds = json::object();
  for (const auto& l : base.levels) {
    const json& n = names[l.key];
    if (n["ja"] != l.label.ja || n["en"] != l.label.en) own_names[l.key] = n;
  }
  for (const auto& m : base.matrices) {
    for (size_t i = 1; i < m.thresholds.size(); ++i) {
      const auto& [level, min] = m.thresholds[i];
      if (thresholds[m.key][level] != min) own_thresholds[m.key][level] = thresholds[m.key][level];
    }
  }
  json own = json::object();
  if (!own_names.empty()) own["names"] = std::move(own_names);
  if (!own_thresholds.empty()) own["thresholds"] = std::move(own_thresholds);
  const std::string value = reset || own.empty() ? std::string() : own.dump();
  return service_.ChangeDerivedSetting(actor, kRiskLevelsSetting, value, {risks}, previous);
}

Result<json> RiskService::Matrix() const {
  MAMORI_ASSIGN_OR_RETURN(const auto all, Levels());
  const policy::RiskMatrices& m = *all;
  MAMORI_ASSIGN_OR_RETURN(std::string active,
                          service_.Setting(kRiskMatrixSetting, m.default_matrix));
  MAMORI_ASSIGN_OR_RETURN(std::string custom, service_.Setting(kRiskLevelsSetting, ""));
  json out{{"active", active}, {"default", m.default_matrix}, {"customized", !custom.empty()}};
  json levels = json::array();
  for (const auto& l : m.levels) {
    levels.push_back({{"key", l.key},
                      {"label", TextJson(l.label)},
                      {"color", l.color},
                      {"meaning", TextJson(l.meaning)}});
  }
  out["levels"] = std::move(levels);
  json matrices = json::array();
  for (const auto& x : m.matrices) {
    json thresholds = json::array();
    json approval = json::object();
    for (const auto& [level, min] : x.thresholds) {
      thresholds.push_back({{"level", level}, {"min_score", min}});
      approval[level] = x.ApproverFor(level) == policy::Approver::kCiso ? "ciso" : "superior";
    }
    json grid = json::array();
    for (const auto& l : x.likelihood) {
      for (const auto& i : x.impact) {
        grid.push_back({{"likelihood", l.value},
                        {"impact", i.value},
                        {"score", l.score * i.score},
                        {"level", x.LevelOf(l.score * i.score)}});
      }
    }
    matrices.push_back({{"key", x.key},
                        {"label", TextJson(x.label)},
                        {"description", TextJson(x.description)},
                        {"likelihood", ScaleJson(x.likelihood)},
                        {"impact", ScaleJson(x.impact)},
                        {"thresholds", std::move(thresholds)},
                        {"approval", std::move(approval)},
                        {"grid", std::move(grid)}});
  }
  out["matrices"] = std::move(matrices);
  json mappings = json::array();
  for (const auto& mm : m.mappings) {
    mappings.push_back(
        {{"from", mm.from}, {"to", mm.to}, {"likelihood", mm.likelihood}, {"impact", mm.impact}});
  }
  out["mappings"] = std::move(mappings);
  return out;
}

Result<json> RiskService::Proposals(const Actor& actor, std::optional<int64_t> asset_id) const {
  const RegisterDef* risks = registry_.ByKey("risks");
  const RegisterDef* assets = registry_.ByKey("assets");
  const RegisterDef* units = registry_.ByKey("org_units");
  if (risks == nullptr || assets == nullptr || units == nullptr) {
    return Error::Internal("the risk registers are not defined");
  }
  MAMORI_TRY(authorizer_.Check(actor, *risks, Action::kView, nullptr));
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, *assets));
  MAMORI_ASSIGN_OR_RETURN(
      std::string scheme_key,
      service_.Setting("classification_scheme", catalogs_.classification->default_scheme));
  MAMORI_ASSIGN_OR_RETURN(std::string matrix_key,
                          service_.Setting(kRiskMatrixSetting, catalogs_.matrices->default_matrix));
  const policy::Scheme* scheme = ActiveScheme(catalogs_, scheme_key);
  // Only the impact scale is used here, which the level settings do not change.
  const policy::Matrix& matrix = ActiveMatrix(*catalogs_.matrices, matrix_key);

  struct ThreatRow {
    int64_t id;
    std::string name;
    std::vector<Axis> axes;
  };
  std::map<std::string, ThreatRow> threats;             // by code
  std::set<std::pair<int64_t, int64_t>> covered;        // asset, threat id
  std::set<std::pair<int64_t, std::string>> dismissed;  // asset, proposal value
  std::map<int64_t, std::string> unit_names;
  json items = json::array();
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    MAMORI_ASSIGN_OR_RETURN(auto trows,
                            c.Query("SELECT id, f_code, f_name, f_affects_confidentiality, "
                                    "f_affects_integrity, f_affects_availability FROM r_threats "
                                    "WHERE archived = 0"));
    for (const auto& r : trows) {
      ThreatRow t{AsInt(r[0]), AsText(r[2]), {}};
      for (size_t i = 0; i < 3; ++i) {
        if (!store::IsNull(r[3 + i]) && AsInt(r[3 + i]) != 0) t.axes.push_back(policy::kAxes[i]);
      }
      threats[AsText(r[1])] = std::move(t);
    }
    MAMORI_ASSIGN_OR_RETURN(auto crows,
                            c.Query("SELECT f_asset, f_threat FROM r_risks WHERE archived = 0 "
                                    "AND f_asset IS NOT NULL UNION SELECT l.f_asset, r.f_threat "
                                    "FROM r_risk_assets l JOIN r_risks r ON r.id = l.f_risk "
                                    "WHERE l.archived = 0 AND r.archived = 0"));
    for (const auto& r : crows) covered.emplace(AsInt(r[0]), AsInt(r[1]));
    MAMORI_ASSIGN_OR_RETURN(
        auto drows,
        c.Query("SELECT f_asset, f_proposal FROM r_risk_dismissals WHERE archived = 0"));
    for (const auto& r : drows) dismissed.emplace(AsInt(r[0]), AsText(r[1]));
    MAMORI_ASSIGN_OR_RETURN(auto urows,
                            c.Query("SELECT id, f_" + units->title_field + " FROM r_org_units"));
    for (const auto& r : urows) unit_names[AsInt(r[0])] = AsText(r[1]);

    std::string sql =
        "SELECT id, f_asset_no, f_name, f_kind, f_zone, f_section, f_confidentiality, "
        "f_integrity, f_availability FROM r_assets WHERE archived = 0 AND "
        "(f_status IS NULL OR f_status <> 'disposed')";
    std::vector<Value> params;
    if (asset_id) {
      sql += " AND id = ?";
      params.emplace_back(*asset_id);
    }
    MAMORI_ASSIGN_OR_RETURN(auto arows, c.Query(sql + " ORDER BY id", params));
    for (const auto& r : arows) {
      const int64_t id = AsInt(r[0]);
      const int64_t section = store::IsNull(r[5]) ? 0 : AsInt(r[5]);
      if (!filter.all_units &&
          !std::binary_search(filter.units.begin(), filter.units.end(), section)) {
        continue;
      }
      json asset{{"kind", AsText(r[3])},
                 {"zone", store::IsNull(r[4]) ? "" : AsText(r[4])},
                 {"confidentiality", store::IsNull(r[6]) ? "" : AsText(r[6])},
                 {"integrity", store::IsNull(r[7]) ? "" : AsText(r[7])},
                 {"availability", store::IsNull(r[8]) ? "" : AsText(r[8])}};
      if (filter.hide_confidential && !assets->confidential_field.empty() &&
          !std::binary_search(filter.confidential_units.begin(), filter.confidential_units.end(),
                              section)) {
        const std::string v = TextOf(asset, assets->confidential_field.c_str());
        const auto& cv = assets->confidential_values;
        if (std::find(cv.begin(), cv.end(), v) != cv.end()) continue;
      }
      policy::AssetFacts facts;
      facts.kind = TextOf(asset, "kind");
      facts.zone = TextOf(asset, "zone");
      for (size_t i = 0; i < 3; ++i) {
        facts.rank[i] = scheme->Rank(policy::kAxes[i], TextOf(asset, AxisName(policy::kAxes[i])));
      }
      for (const auto& p : catalogs_.threats->proposals) {
        if (!p.Matches(facts)) continue;
        auto t = threats.find(p.threat);
        if (t == threats.end() || covered.count({id, t->second.id})) continue;
        const std::string value = ProposalValue(p.id);
        if (dismissed.count({id, value})) continue;
        const auto* impact = ProposedImpact(matrix, *scheme, t->second.axes, {asset});
        items.push_back(
            {{"proposal", value},
             {"proposal_id", p.id},
             {"reason", TextJson(p.reason)},
             {"asset",
              {{"id", id},
               {"no", AsText(r[1])},
               {"name", AsText(r[2])},
               {"section", {{"id", section}, {"label", unit_names[section]}}}}},
             {"threat", {{"id", t->second.id}, {"code", p.threat}, {"name", t->second.name}}},
             {"impact", impact ? json(impact->value) : json()}});
      }
    }
    return {};
  }));
  const size_t total = items.size();
  return json{{"items", std::move(items)}, {"total", total}};
}

Result<json> RiskService::RoundReport(const Actor& actor, int64_t id) const {
  const RegisterDef* rounds = registry_.ByKey("risk_rounds");
  const RegisterDef* risks = registry_.ByKey("risks");
  if (rounds == nullptr || risks == nullptr) return Error::Internal("no risk registers");
  MAMORI_ASSIGN_OR_RETURN(const RowFilter filter, authorizer_.ListFilter(actor, *risks));
  if (!filter.all_units) {
    return Error::Denied("リスク評価の報告は、全庁のリスクを閲覧できる役割の人が見られます。",
                         "the round report needs view on every section's risks");
  }
  MAMORI_ASSIGN_OR_RETURN(json round, service_.Get(actor, *rounds, id));
  auto snapshot_of = [&](const json& r) -> Result<json> {
    if (TextOf(r, "status") == "closed") {
      json parsed = json::parse(TextOf(r, "snapshot"), nullptr, false);
      return parsed.is_discarded() ? json::array() : parsed;
    }
    json live = json::array();
    for (int64_t offset = 0;; offset += 500) {
      ListQuery q;
      q.limit = 500;
      q.offset = offset;
      q.sort = "risk_no";
      MAMORI_ASSIGN_OR_RETURN(std::string page, service_.List(actor, *risks, q));
      const json items = json::parse(page)["items"];
      for (const json& r2 : items) live.push_back(SnapshotEntry(r2));
      if (items.size() < 500) break;
    }
    return live;
  };
  MAMORI_ASSIGN_OR_RETURN(json now, snapshot_of(round));
  std::optional<int64_t> previous_id;
  MAMORI_TRY(store_.Read([&](Connection& c) -> Status {
    const Value params[] = {round["fiscal_year"].get<int64_t>()};
    MAMORI_ASSIGN_OR_RETURN(
        auto rows, c.Query("SELECT id FROM r_risk_rounds WHERE archived = 0 AND f_status = "
                           "'closed' AND f_fiscal_year < ? ORDER BY f_fiscal_year DESC LIMIT 1",
                           params));
    if (!rows.empty()) previous_id = AsInt(rows[0][0]);
    return {};
  }));
  json previous_round = nullptr;
  json before = json::array();
  if (previous_id) {
    MAMORI_ASSIGN_OR_RETURN(previous_round, service_.Get(actor, *rounds, *previous_id));
    MAMORI_ASSIGN_OR_RETURN(before, snapshot_of(previous_round));
  }
  auto brief = [](const json& r) {
    return r.is_null() ? json()
                       : json{{"id", r["id"]},
                              {"fiscal_year", r["fiscal_year"]},
                              {"title", r["title"]},
                              {"status", r["status"]},
                              {"closed_on", r["closed_on"]}};
  };
  MAMORI_ASSIGN_OR_RETURN(const auto renamed, service_.RenamedFields(*risks));
  MAMORI_ASSIGN_OR_RETURN(const auto all, Levels());
  auto display = [&](const char* field, const json& v) -> json {
    const FieldDef* f = risks->Field(field);
    if (v.is_null()) return "";
    if (f == nullptr || f->type != FieldType::kEnum) return v.is_string() ? v : json(v.dump());
    auto n = renamed.find(field);
    return internal::DisplayValue(n == renamed.end() ? *f : n->second, v);
  };
  auto entry_brief = [](const json& e) {
    return json{{"id", e["id"]},
                {"risk_no", e["risk_no"]},
                {"title", e["title"]},
                {"threat", e["threat"]},
                {"section", e["section"]},
                {"inherent_level", e["inherent_level"]},
                {"residual_level", e["residual_level"]}};
  };
  const auto old_by_id = ById(before);
  const auto new_by_id = ById(now);
  json added = json::array(), removed = json::array(), changed = json::array();
  int64_t unchanged = 0;
  std::map<std::string, std::array<int64_t, 4>> counts;  // level: inherent before/now, residual
  for (const auto& l : all->levels) counts[l.key] = {0, 0, 0, 0};
  for (const auto& [rid, e] : old_by_id) {
    if (e["inherent_level"].is_string()) ++counts[e["inherent_level"].get<std::string>()][0];
    if (e["residual_level"].is_string()) ++counts[e["residual_level"].get<std::string>()][2];
    if (!new_by_id.count(rid)) removed.push_back(entry_brief(e));
  }
  for (const auto& [rid, e] : new_by_id) {
    if (e["inherent_level"].is_string()) ++counts[e["inherent_level"].get<std::string>()][1];
    if (e["residual_level"].is_string()) ++counts[e["residual_level"].get<std::string>()][3];
    auto old = old_by_id.find(rid);
    if (old == old_by_id.end()) {
      added.push_back(entry_brief(e));
      continue;
    }
    json fields = json::array();
    for (const char* f : kReportFields) {
      if (old->second.value(f, json()) == e.value(f, json())) continue;
      const FieldDef* def = risks->Field(f);
      fields.push_back({{"field", f},
                        {"label", def ? def->label.ja : f},
                        {"from", display(f, old->second.value(f, json()))},
                        {"to", display(f, e.value(f, json()))}});
    }
    if (fields.empty()) {
      ++unchanged;
    } else {
      json c = entry_brief(e);
      c["fields"] = std::move(fields);
      changed.push_back(std::move(c));
    }
  }
  json count_json = json::array();
  for (const auto& l : all->levels) {
    const auto& n = counts[l.key];
    count_json.push_back({{"level", l.key},
                          {"label", TextJson(l.label)},
                          {"inherent", {n[0], n[1]}},
                          {"residual", {n[2], n[3]}}});
  }
  return json{{"round", brief(round)},
              {"previous", brief(previous_round)},
              {"total", {old_by_id.size(), new_by_id.size()}},
              {"counts", std::move(count_json)},
              {"added", std::move(added)},
              {"removed", std::move(removed)},
              {"changed", std::move(changed)},
              {"unchanged", unchanged}};
}

Result<std::string> RiskService::RoundReportXlsx(const Actor& actor, int64_t id) const {
  MAMORI_ASSIGN_OR_RETURN(json report, RoundReport(actor, id));
  const RegisterDef* risks = registry_.ByKey("risks");
  MAMORI_ASSIGN_OR_RETURN(const auto renamed, service_.RenamedFields(*risks));
  const FieldDef& level_field = renamed.count("inherent_level") ? renamed.at("inherent_level")
                                                                : *risks->Field("inherent_level");
  auto level = [&](const json& v) -> std::string {
    return v.is_string() ? internal::DisplayValue(level_field, v) : "";
  };
  std::vector<tabular::Row> rows = {
      {"区分", "リスク番号", "リスク", "脅威", "担当課室", "項目", "前回", "今回"}};
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
  for (const json& e : report["added"]) {
    rows.push_back({"追加", text(e["risk_no"]), text(e["title"]), text(e["threat"]),
                    text(e["section"]), "リスクの水準", "", level(e["inherent_level"])});
  }
  for (const json& e : report["removed"]) {
    rows.push_back({"削除", text(e["risk_no"]), text(e["title"]), text(e["threat"]),
                    text(e["section"]), "リスクの水準", level(e["inherent_level"]), ""});
  }
  for (const json& e : report["changed"]) {
    for (const json& f : e["fields"]) {
      rows.push_back({"変更", text(e["risk_no"]), text(e["title"]), text(e["threat"]),
                      text(e["section"]), text(f["label"]), text(f["from"]), text(f["to"])});
    }
  }
  for (const json& c : report["counts"]) {
    rows.push_back({"水準別の件数", "", "", "", "", "リスクの水準 " + text(c["label"]["ja"]),
                    std::to_string(c["inherent"][0].get<int64_t>()),
                    std::to_string(c["inherent"][1].get<int64_t>())});
  }
  return tabular::WriteXlsx(rows, "リスク評価の変化");
}

}  // namespace mamori::registers
