// 管理策の実施状況: the evidence and exception registers, their rules, and the derived status.
#include "registers/compliance.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/hash.h"
#include "common/text.h"
#include "policy/duties.h"
#include "registers/org_units.h"
#include "registers/tabular.h"

namespace mamori::registers {

using nlohmann::json;
using store::AsInt;
using store::AsText;
using store::Connection;
using store::Value;

namespace {

constexpr const char* kServicePrefix = "service:";
constexpr int kMaxExceptionDays = 366;

const policy::Control* FindControl(const policy::Catalog& cat, const std::string& value) {
  for (const auto& c : cat.controls) {
    if (ControlValue(c.id) == value) return &c;
  }
  return nullptr;
}

FieldDef ControlField(const policy::Catalog& catalog) {
  FieldDef control = MakeField("control", FieldType::kEnum);
  control.label = {"管理策", "Control"};
  control.required = control.filterable = true;
  for (const auto& c : catalog.controls) {
    control.options.push_back(
        {ControlValue(c.id), {c.id + " " + c.title.ja, c.id + " " + c.title.en}, {c.id}, {}});
  }
  return control;
}

struct KindInfo {
  const char* value;
  const char* catalog;  // the catalog's evidence name
  const char* ja;
  const char* en;
};
constexpr KindInfo kKinds[] = {
    {"attestation", "attestation", "実施の証明", "Attestation"},
    {"document", "document", "文書", "Document"},
    {"self_inspection", "self_inspection", "自己点検の回答", "Self-inspection answer"},
    {"automated_netcheck", "automated:netcheck", "自動確認(ネットワーク分離)",
     "Automated check (network separation)"},
    {"automated_monitor", "automated:monitor", "自動確認(通信監視)",
     "Automated check (traffic monitoring)"},
};

bool IsAutomated(const std::string& kind) { return kind.rfind("automated_", 0) == 0; }

// The catalog's name of a register kind ("automated_monitor" -> "automated:monitor").
std::string CatalogKind(const std::string& kind) {
  for (const auto& k : kKinds) {
    if (kind == k.value) return k.catalog;
  }
  return "";
}

// The longest review interval among the controls that ask for `kind`; 0 when none does. A
// record standing for every such control holds at most this long (each control counts it only
// within its own interval: ComplianceService::Status).
int LongestReview(const policy::Catalog& catalog, const std::string& kind) {
  const std::string name = CatalogKind(kind);
  int months = 0;
  for (const auto& c : catalog.controls) {
    if (std::find(c.evidence.begin(), c.evidence.end(), name) == c.evidence.end()) continue;
    months = std::max(months, c.review_months);
  }
  return months;
}

// Who recorded, when, the hash of the raw result, and how long the evidence holds.
RecordCompleter CompleteEvidence(std::shared_ptr<const policy::Catalog> catalog) {
  return [catalog](json& rec, RuleContext& ctx) {
    if (rec["recorded_by"].is_null() && ctx.actor().user_id != 0) {
      rec["recorded_by"] = ctx.actor().user_id;
    }
    if (rec["recorded_on"].is_null()) rec["recorded_on"] = ctx.today();
    if (rec["source"].is_null()) rec["source"] = ctx.actor().id;
    if (rec["raw_sha256"].is_null() && rec["raw"].is_string()) {
      rec["raw_sha256"] = Sha256Hex(rec["raw"].get<std::string>());
    }
    if (rec["valid_until"].is_null() && rec["control"].is_string()) {
      if (rec["control"] == kEveryControl) {
        if (const int months = LongestReview(*catalog, TextOf(rec, "kind")); months > 0) {
          rec["valid_until"] = AddMonths(TextOf(rec, "recorded_on"), months);
        }
      } else if (const auto* c = FindControl(*catalog, rec["control"].get<std::string>())) {
        rec["valid_until"] = AddMonths(TextOf(rec, "recorded_on"), c->review_months);
      }
    }
  };
}

// Files are attached by the one who recorded the evidence (the register is immutable: who may
// create evidence may attach, but only to their own); an engine's result keeps its raw result
// and hash instead.
Status CheckEvidenceAttachments(const json& rec, const Actor& actor, AttachmentChange) {
  if (actor.user_id != 0 && rec["recorded_by"] == actor.user_id) return {};
  return Error::Denied("添付ファイルを付けられるのは、この証跡を記録した本人だけです。",
                       "only the person who recorded the evidence may attach files to it");
}

// Evidence is what the control asks for, recorded by the one who records it, and never changed
// afterwards (a mistake is archived and recorded again). Automated results come only from the
// engines (service accounts) or local administration, never typed in by a person.
RecordRule CheckEvidence(std::shared_ptr<const policy::Catalog> catalog) {
  return [catalog](const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
    const bool by_user = ctx.actor().user_id != 0;
    const bool by_service = ctx.actor().id.rfind(kServicePrefix, 0) == 0;
    const std::string kind = TextOf(rec, "kind");
    const std::string on = TextOf(rec, "recorded_on");
    if (rec.contains("id")) return;  // a restore: the register is immutable
    const policy::Control* control = nullptr;
    if (rec["control"].is_string()) {
      control = FindControl(*catalog, rec["control"].get<std::string>());
    }
    if (rec["control"] == kEveryControl && !kind.empty()) {
      if (!IsAutomated(kind)) {
        AddError(errors, "control", "管理策",
                 "「この種類を求めるすべての管理策」は、自動確認の結果にだけ使えます。管理策を"
                 "一つ選んでください。",
                 "only automated results may stand for every control asking for their kind");
      } else if (LongestReview(*catalog, kind) == 0) {
        AddError(errors, "kind", "種類", "この種類の証跡を求める管理策がありません。",
                 "no control asks for this kind of evidence");
      }
    }
    if (control != nullptr && !kind.empty()) {
      bool wanted = false;
      std::string names;
      for (const auto& e : control->evidence) {
        for (const auto& k : kKinds) {
          if (e != k.catalog) continue;
          wanted = wanted || kind == k.value;
          names += std::string(names.empty() ? "" : "、") + k.ja;
        }
      }
      if (!wanted) {
        AddError(errors, "kind", "種類",
                 control->id + " が求める証跡の種類は、" +
                     (names.empty() ? "台帳の記録のみ" : names) + "です。",
                 "this control does not take this kind of evidence");
      }
    }
    if (IsAutomated(kind) && by_user) {
      AddError(errors, "kind", "種類",
               "自動確認の結果は、検査エンジン(mamori netcheck / monitor)がサービスアカウントで"
               "登録します。人が入力することはできません。",
               "automated results are posted by the engines with a service account");
    }
    if (by_user || by_service) {
      if (by_user && rec["recorded_by"] != ctx.actor().user_id) {
        AddError(errors, "recorded_by", "記録者",
                 "記録者は、操作している本人です(指定できません)。",
                 "evidence is recorded by the person recording it");
      }
      if (!by_user && !rec["recorded_by"].is_null()) {
        AddError(errors, "recorded_by", "記録者", "サービスアカウントは記録者を指定できません。",
                 "a service account cannot name a person");
      }
      if (on != ctx.today()) {
        AddError(errors, "recorded_on", "記録日",
                 "記録日は今日(" + ctx.today() + ")です。日付は指定できません。",
                 "the recording date is today");
      }
      if (rec["source"] != ctx.actor().id) {
        AddError(errors, "source", "記録元", "記録元は指定できません。",
                 "the source cannot be given");
      }
    }
    // A document is evidence only through the policy document it names: the control counts it
    // while that document has a version in force whose review is not overdue.
    if (kind == "document" && !rec["document"].is_number_integer()) {
      AddError(errors, "document", "根拠の規程",
               "種類が「文書」の証跡には、根拠となる規程(document)を指定してください。",
               "document evidence must name the document it rests on (document)");
    } else if (kind != "document" && !kind.empty() && !rec["document"].is_null()) {
      AddError(errors, "document", "根拠の規程",
               "根拠の規程を指定できるのは、種類が「文書」の証跡だけです。",
               "only document evidence names a document");
    } else if (kind == "document") {
      bool in_force = false;
      for (const json& v : ctx.Find("document_versions", "document", rec["document"], 10000)) {
        in_force =
            in_force || (v["status"] == "in_force" && TextOf(v, "effective_date") <= ctx.today());
      }
      if (!in_force) {
        ctx.Warn({"document",
                  "根拠の規程",
                  "この規程には施行中の版がありません。施行されるまで、この証跡は管理策の根拠に"
                  "なりません。",
                  "the document has no version in force: the evidence does not count until it "
                  "has",
                  0,
                  {}});
      }
    }
    const std::string raw = TextOf(rec, "raw");
    if (!raw.empty() && rec["raw_sha256"] != Sha256Hex(raw)) {
      AddError(errors, "raw_sha256", "ハッシュ値", "ハッシュ値が生データと一致しません。",
               "the hash does not match the raw result");
    }
    if (raw.empty() && !rec["raw_sha256"].is_null()) {
      AddError(errors, "raw_sha256", "ハッシュ値", "生データがないのにハッシュ値があります。",
               "a hash without a raw result");
    }
    const std::string until = TextOf(rec, "valid_until");
    if (!until.empty() && !on.empty()) {
      if (until < on) {
        AddError(errors, "valid_until", "有効期限", "有効期限は記録日以降の日付にしてください。",
                 "valid_until must not be before the recording date");
      } else if (control != nullptr && until > AddMonths(on, control->review_months)) {
        AddError(errors, "valid_until", "有効期限",
                 "有効期限は、管理策の見直し周期(" + std::to_string(control->review_months) +
                     "か月: " + AddMonths(on, control->review_months) + ")を超えられません。",
                 "valid_until cannot exceed the control's review interval");
      } else if (const int months =
                     rec["control"] == kEveryControl ? LongestReview(*catalog, kind) : 0;
                 months > 0 && until > AddMonths(on, months)) {
        AddError(errors, "valid_until", "有効期限",
                 "有効期限は、この種類を求める管理策の最も長い見直し周期(" +
                     std::to_string(months) + "か月: " + AddMonths(on, months) +
                     ")を超えられません。",
                 "valid_until cannot exceed the longest review interval of the controls");
      }
    }
  };
}

// Who asked and when: filled from the change itself.
void CompleteExceptionRequest(json& rec, RuleContext& ctx) {
  if (rec["requested_by"].is_null() && ctx.actor().user_id != 0) {
    rec["requested_by"] = ctx.actor().user_id;
  }
  if (rec["requested_on"].is_null()) rec["requested_on"] = ctx.today();
}

// A decision records who decided and when.
void CompleteExceptionDecision(json& rec, RuleContext& ctx) {
  if (TextOf(rec, "status") == "requested" || !rec["decided_on"].is_null()) return;
  if (ctx.actor().user_id != 0) rec["decided_by"] = ctx.actor().user_id;
  rec["decided_on"] = ctx.today();
}

// An exception is requested by one person and decided by another who may approve; a decision
// is final (archive the exception and request again); it lasts at most a year.
void CheckException(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  const bool by_user = ctx.actor().user_id != 0;
  const std::string status = TextOf(rec, "status");
  const std::string expires = TextOf(rec, "expires_on");
  const std::string requested_on = TextOf(rec, "requested_on");
  std::optional<json> stored;
  if (rec.contains("id")) stored = ctx.Lookup("control_exceptions", rec["id"].get<int64_t>());
  const std::string before = stored ? TextOf(*stored, "status") : "";
  if (by_user && !stored && !rec.contains("id")) {
    if (rec["requested_by"] != ctx.actor().user_id) {
      AddError(errors, "requested_by", "申請者", "申請者は、操作している本人です(指定できません)。",
               "the requester is the person requesting");
    }
    if (requested_on != ctx.today()) {
      AddError(errors, "requested_on", "申請日", "申請日は今日です(指定できません)。",
               "the request date is today");
    }
    if (status != "requested") {
      AddError(errors, "status", "状態", "例外措置は「申請中」で登録し、承認者が判断します。",
               "an exception starts as requested");
    }
  }
  if (stored && by_user) {
    for (const char* f : {"control", "section", "requested_by", "requested_on"}) {
      if ((*stored)[f] != rec[f]) {
        AddError(errors, f, "申請の内容",
                 "管理策・対象課室・申請者・申請日は後から変えられません。",
                 "what an exception request names cannot be changed");
        return;
      }
    }
    if (before != "requested") {
      for (auto it = stored->begin(); it != stored->end(); ++it) {
        if (rec.contains(it.key()) && rec[it.key()] != *it) {
          AddError(errors, "status", "状態",
                   "判断済みの例外措置は変えられません。改めて申請してください。",
                   "a decided exception cannot be changed");
          return;
        }
      }
    }
    if (before == "requested" && status != "requested") {
      if (!ctx.Allowed("control_exceptions", Action::kApprove, &rec)) {
        AddError(errors, "status", "状態", "例外措置を承認・却下する権限がありません。",
                 "you may not decide exception requests");
      } else if (Status st = policy::CheckNotOwnRequest(ctx.actor().user_id,
                                                        rec["requested_by"].is_number_integer()
                                                            ? rec["requested_by"].get<int64_t>()
                                                            : 0,
                                                        "例外措置");
                 !st.ok()) {
        AddError(errors, "status", "状態", st.error().message, st.error().message_en);
      }
      if (rec["decided_by"] != ctx.actor().user_id || TextOf(rec, "decided_on") != ctx.today()) {
        AddError(errors, "decided_by", "判断者", "判断者と判断日は、判断した本人と今日です。",
                 "the decision is recorded as made by the actor today");
      }
    }
  }
  if (status == "requested" && (!rec["decided_by"].is_null() || !rec["decided_on"].is_null())) {
    AddError(errors, "decided_by", "判断者", "申請中の例外措置に判断者は記録できません。",
             "a pending request has no decision");
  }
  if (!expires.empty() && !requested_on.empty() && (!stored || before == "requested")) {
    if (expires <= ctx.today() && !stored) {
      AddError(errors, "expires_on", "期限", "期限は明日以降の日付にしてください。",
               "the expiry must be in the future");
    }
    if (expires > AddDays(requested_on, kMaxExceptionDays)) {
      AddError(errors, "expires_on", "期限",
               "例外措置の期限は申請日から1年以内(" + AddDays(requested_on, kMaxExceptionDays) +
                   "まで)にしてください。",
               "an exception lasts at most one year");
    }
  }
}

std::string StatusJa(const std::string& s) {
  if (s == "implemented") return "実施済";
  if (s == "partial") return "一部実施";
  if (s == "not_implemented") return "未実施";
  return "不明";
}

std::string StateJa(const std::string& s) {
  if (s == "fresh") return "有効";
  if (s == "expired") return "期限切れ";
  if (s == "failed") return "不適合";
  if (s == "unavailable") return "台帳未整備";
  return "なし";
}

std::string KindJa(const std::string& catalog_kind) {
  for (const auto& k : kKinds) {
    if (catalog_kind == k.catalog) return k.ja;
  }
  if (catalog_kind.rfind("register:", 0) == 0) return "台帳: " + catalog_kind.substr(9);
  return catalog_kind;
}

// Whether a document evidence record's document holds today, and why (文書の証跡の根拠).
struct DocumentBasis {
  json info;  // {"id", "code", "title", "kind", "version", "review_due", "state", "counts",
              //  "reason": {"ja", "en"}}
  bool counts = false;
  bool lapsed = false;  // it held once: review overdue, abolished or archived
};

// The basis of every document named by active evidence, by document id: its version in force
// (the latest 施行 one whose date has come, as DocumentService reads it), else its latest
// abolished version. Documents the actor may not see (need to know) keep only their state.
Result<std::map<int64_t, DocumentBasis>> DocumentBases(Connection& c, const Registry& registry,
                                                       const Authorizer& authorizer,
                                                       const Actor& actor,
                                                       const std::set<int64_t>& ids,
                                                       const std::string& today) {
  std::map<int64_t, DocumentBasis> out;
  const RegisterDef* documents = registry.ByKey("documents");
  for (int64_t id : ids) {
    DocumentBasis& b = out[id];
    json& info = b.info;
    info = {{"id", id}, {"version", nullptr}, {"review_due", nullptr}};
    const Value p[] = {id};
    MAMORI_ASSIGN_OR_RETURN(
        auto doc, c.Query("SELECT f_code, f_title, f_kind, f_section, f_review_months, archived "
                          "FROM r_documents WHERE id = ?",
                          p));
    std::string state, ja, en;
    if (doc.empty()) {
      state = "missing";
      ja = "根拠の規程が見つかりません。";
      en = "the document does not exist";
    } else {
      const json probe{
          {"kind", AsText(doc[0][2])},
          {"section", store::IsNull(doc[0][3]) ? json(nullptr) : json(AsInt(doc[0][3]))}};
      const bool visible =
          documents != nullptr && authorizer.Check(actor, *documents, Action::kView, &probe).ok();
      if (visible) {
        info["code"] = AsText(doc[0][0]);
        info["title"] = AsText(doc[0][1]);
        info["kind"] = AsText(doc[0][2]);
      } else {
        info["hidden"] = true;
      }
      const Value q[] = {id, today};
      MAMORI_ASSIGN_OR_RETURN(
          auto v, c.Query("SELECT id, f_name, f_version_no, f_effective_date, f_status "
                          "FROM r_document_versions WHERE archived = 0 AND f_document = ? AND "
                          "(f_status = 'abolished' OR (f_status = 'in_force' AND "
                          "f_effective_date <= ?)) ORDER BY f_status = 'in_force' DESC, "
                          "f_effective_date DESC, id DESC LIMIT 1",
                          q));
      const int months = store::IsNull(doc[0][4]) ? 12 : static_cast<int>(AsInt(doc[0][4]));
      std::string name;
      if (!v.empty()) {
        name = AsText(v[0][1]);
        if (visible) {
          info["version"] = {{"id", AsInt(v[0][0])},
                             {"name", name},
                             {"version_no", AsInt(v[0][2])},
                             {"effective_date", AsText(v[0][3])},
                             {"status", AsText(v[0][4])}};
        }
      }
      const std::string shown = visible ? name : "施行中の版";
      const std::string shown_en = visible ? name : "the version in force";
      if (AsInt(doc[0][5]) != 0) {
        state = "archived";
        ja = "根拠の規程がアーカイブされています。";
        en = "the document is archived";
        b.lapsed = true;
      } else if (v.empty()) {
        state = "not_in_force";
        ja = "根拠の規程に施行中の版がありません。";
        en = "the document has no version in force";
      } else if (AsText(v[0][4]) == "abolished") {
        state = "abolished";
        ja = "根拠の規程は廃止されています(" + shown + ")。";
        en = "the document is abolished (" + shown_en + ")";
        b.lapsed = true;
      } else {
        const std::string due = AddMonths(AsText(v[0][3]), months);
        info["review_due"] = due;
        if (due <= today) {
          state = "review_overdue";
          ja = shown + "の見直し期限(" + due + ")を過ぎています。見直して改正・再施行するまで" +
               "根拠になりません。";
          en = "the review of " + shown_en + " was due on " + due;
          b.lapsed = true;
        } else {
          state = "in_force";
          ja = shown + "(" + AsText(v[0][3]) + " 施行)が施行中で、見直し期限は " + due + " です。";
          en = shown_en + " is in force (since " + AsText(v[0][3]) + "), review due " + due;
          b.counts = true;
        }
      }
    }
    info["state"] = state;
    info["counts"] = b.counts;
    info["reason"] = {{"ja", ja}, {"en", en}};
  }
  return out;
}

}  // namespace

std::string ControlValue(std::string_view control_id) {
  std::string out;
  for (char c : control_id) {
    if (c == '-') {
      out += '_';
    } else if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::string EvidenceKindValue(std::string_view catalog_kind) {
  for (const auto& k : kKinds) {
    if (catalog_kind == k.catalog) return k.value;
  }
  return "";
}

RegisterDef EvidenceRegister(const policy::Catalog& catalog) {
  auto shared = std::make_shared<const policy::Catalog>(catalog);
  RegisterDef d;
  d.key = "evidence";
  d.path = "controls/evidence";
  d.label = {"証跡", "Evidence"};
  d.title_field = "summary";
  d.default_sort = "recorded_on";

  FieldDef control = ControlField(catalog);
  control.help = {
      "この証跡が裏付ける管理策。自動確認の結果は、その種類を求めるすべての管理策を"
      "一度に裏付けられます。",
      "The control this evidence shows; an automated result may show every control "
      "asking for its kind at once"};
  control.options.push_back(
      {kEveryControl,
       {"この種類を求めるすべての管理策", "Every control asking for this kind"},
       {"すべて"},
       {},
       /*in_forms=*/false});

  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"種類", "Kind"};
  kind.help = {"管理策が求める種類のうちの一つ。自動確認はエンジンだけが登録します。",
               "One of the kinds the control asks for; automated checks come from the engines"};
  kind.required = kind.filterable = true;
  for (const auto& k : kKinds) {
    std::vector<std::string> aliases;
    if (std::string(k.catalog) != k.value) aliases.push_back(k.catalog);
    kind.options.push_back({k.value, {k.ja, k.en}, aliases, {}});
  }

  FieldDef result = MakeField("result", FieldType::kEnum);
  result.label = {"結果", "Result"};
  result.required = result.filterable = true;
  result.options = {{"pass", {"適合", "Pass"}, {"実施済", "実施"}, {}},
                    {"fail", {"不適合", "Fail"}, {"未実施"}, {}}};

  FieldDef summary = MakeField("summary", FieldType::kTextarea);
  summary.label = {"内容", "Summary"};
  summary.help = {"何を確かめたか、どの文書・記録か(文書名、版、決裁番号など)",
                  "What was checked; which document or record"};
  summary.required = summary.searchable = true;
  summary.max_length = 2000;
  summary.sortable = false;

  FieldDef document = MakeField("document", FieldType::kRef);
  document.label = {"根拠の規程", "Document"};
  document.help = {"種類が「文書」のとき必須。施行中で見直し期限内の版がある間だけ根拠になります。",
                   "Required for document evidence; it counts while the document has a version "
                   "in force whose review is not overdue"};
  document.ref = "documents";
  document.filterable = true;

  FieldDef until = MakeField("valid_until", FieldType::kDate);
  until.label = {"有効期限", "Valid until"};
  until.help = {
      "空欄なら、記録日から管理策の見直し周期まで(すべての管理策を裏付ける自動確認の"
      "結果は最も長い周期まで。各管理策はそれぞれの見直し周期の間だけ数えます)",
      "Default: the control's review interval (for an automated result standing for "
      "every control, the longest; each control counts it within its own interval)"};
  until.required = until.generated = true;

  FieldDef on = MakeField("recorded_on", FieldType::kDate);
  on.label = {"記録日", "Recorded on"};
  on.required = on.generated = on.system = true;

  FieldDef by = MakeField("recorded_by", FieldType::kRef);
  by.label = {"記録者", "Recorded by"};
  by.ref = "users";
  by.generated = by.filterable = by.system = true;

  FieldDef source = MakeField("source", FieldType::kText);
  source.label = {"記録元", "Source"};
  source.help = {"利用者のログインID、又はサービスアカウント(service:名前)",
                 "The login, or the service account (service:name)"};
  source.required = source.generated = source.system = true;
  source.max_length = 100;

  FieldDef raw = MakeField("raw", FieldType::kTextarea);
  raw.label = {"生データ", "Raw result"};
  raw.help = {"検査エンジンの出力そのもの(JSON など)", "The engine's output as it was"};
  raw.max_length = 900'000;
  raw.list = raw.sortable = false;
  raw.detail_only = true;

  FieldDef hash = MakeField("raw_sha256", FieldType::kText);
  hash.label = {"ハッシュ値(SHA-256)", "SHA-256 of the raw result"};
  hash.generated = hash.system = true;
  hash.list = hash.sortable = false;
  hash.max_length = 64;

  d.fields = {control, kind, document, result, summary, until, on, by, source, raw, hash};
  d.immutable = true;
  d.attachments.enabled = true;
  d.attachments.note = {
      "種類が「実施の証明」の証跡は、添付ファイル(実施記録・報告書など)があるときだけ管理策の"
      "根拠になります。添付ファイルのない実施の証明は根拠になりません。添付できるのは記録した本人"
      "だけで、一度付けたファイルは削除できません。",
      "An attestation counts for its control only with an attached file (the record or report); "
      "without one it is not evidence. Only the person who recorded it may attach files, and "
      "they cannot be removed."};
  d.attachments.rules = {CheckEvidenceAttachments};
  d.rules = {CheckEvidence(shared)};
  d.completers = {CompleteEvidence(shared)};
  return d;
}

RegisterDef ControlExceptionsRegister(const policy::Catalog& catalog) {
  RegisterDef d;
  d.key = "control_exceptions";
  d.path = "controls/exceptions";
  d.label = {"例外措置", "Exceptions"};
  d.title_field = "title";
  d.default_sort = "requested_on";
  d.org_field = "section";

  FieldDef control = ControlField(catalog);
  control.help = {"守れない管理策", "The control that cannot be followed"};

  FieldDef title = MakeField("title", FieldType::kText);
  title.label = {"件名", "Title"};
  title.required = title.searchable = true;
  title.max_length = 100;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"対象課室", "Section"};
  section.ref = "org_units";
  section.required = section.filterable = true;

  FieldDef reason = MakeField("reason", FieldType::kTextarea);
  reason.label = {"理由", "Reason"};
  reason.help = {"管理策を守れない業務上の理由", "Why the control cannot be followed"};
  reason.required = reason.searchable = true;
  reason.max_length = 2000;
  reason.list = reason.sortable = false;

  FieldDef measures = MakeField("measures", FieldType::kTextarea);
  measures.label = {"代替措置", "Compensating measures"};
  measures.required = true;
  measures.max_length = 2000;
  measures.list = measures.sortable = false;

  FieldDef expires = MakeField("expires_on", FieldType::kDate);
  expires.label = {"期限", "Expires on"};
  expires.help = {"申請日から1年以内。期限を過ぎると例外ではなくなります。",
                  "At most one year; after it the exception no longer applies"};
  expires.required = true;

  FieldDef status = MakeField("status", FieldType::kEnum);
  status.label = {"状態", "Status"};
  status.help = {"承認者が「承認」又は「却下」に変えます。", "The approver decides"};
  status.required = status.filterable = true;
  status.default_value = "requested";
  status.options = {{"requested", {"申請中", "Requested"}, {}, {}},
                    {"approved", {"承認", "Approved"}, {}, {}},
                    {"rejected", {"却下", "Rejected"}, {}, {}}};

  FieldDef by = MakeField("requested_by", FieldType::kRef);
  by.label = {"申請者", "Requested by"};
  by.ref = "users";
  by.generated = by.filterable = by.system = true;

  FieldDef on = MakeField("requested_on", FieldType::kDate);
  on.label = {"申請日", "Requested on"};
  on.required = on.generated = on.system = true;

  FieldDef decided_by = MakeField("decided_by", FieldType::kRef);
  decided_by.label = {"判断者", "Decided by"};
  decided_by.ref = "users";
  decided_by.generated = decided_by.system = true;

  FieldDef decided_on = MakeField("decided_on", FieldType::kDate);
  decided_on.label = {"判断日", "Decided on"};
  decided_on.generated = decided_on.system = true;

  FieldDef comment = MakeField("decision_comment", FieldType::kTextarea);
  comment.label = {"判断の理由", "Decision comment"};
  comment.max_length = 2000;
  comment.list = comment.sortable = false;

  d.fields = {control, title, section, reason,     measures,   expires,
              status,  by,    on,      decided_by, decided_on, comment};
  d.rules = {CheckException};
  d.completers = {CompleteExceptionRequest};
  d.update_completers = {CompleteExceptionDecision};
  return d;
}

ComplianceService::ComplianceService(store::Store& store, const Registry& registry,
                                     const Authorizer& authorizer,
                                     std::shared_ptr<const policy::Catalog> catalog,
                                     const Clock& clock)
    : store_(store),
      registry_(registry),
      authorizer_(authorizer),
      catalog_(std::move(catalog)),
      clock_(clock) {}

Result<json> ComplianceService::Status(const Actor& actor) const {
  const RegisterDef* evidence = registry_.ByKey("evidence");
  if (evidence == nullptr) return Error::Internal("the evidence register is not defined");
  MAMORI_TRY(authorizer_.Check(actor, *evidence, Action::kView, nullptr));
  const std::string today = JapanDate(clock_.Now());

  // The latest active evidence per (control, kind), how many there are, and the active
  // approved exceptions per control.
  struct Latest {
    json record;
    int64_t count = 0;
    int64_t unattached = 0;  // attestations without a file, not counted
    int64_t uncounted = 0;   // documents whose document does not hold today
    bool lapsed = false;     // the latest uncounted document's basis held once
    json document;           // the basis of the latest counted document, else the latest one
  };
  std::map<std::pair<std::string, std::string>, Latest> latest;
  std::map<std::string, json> exceptions;
  std::map<std::string, std::pair<int64_t, std::string>> registers;  // count, last change
  MAMORI_TRY(store_.Read([&](Connection& c) -> mamori::Status {
    MAMORI_ASSIGN_OR_RETURN(
        auto rows,
        c.Query("SELECT e.id, e.f_control, e.f_kind, e.f_result, e.f_summary, e.f_recorded_on, "
                "e.f_valid_until, e.f_source, (SELECT count(*) FROM attachments a WHERE "
                "a.register = 'evidence' AND a.record_id = e.id), e.f_document FROM r_evidence e "
                "WHERE e.archived = 0 ORDER BY e.f_recorded_on, e.id",
                {}, 1'000'000));
    std::set<int64_t> document_ids;
    for (const auto& r : rows) {
      if (!store::IsNull(r[9])) document_ids.insert(AsInt(r[9]));
    }
    MAMORI_ASSIGN_OR_RETURN(auto bases,
                            DocumentBases(c, registry_, authorizer_, actor, document_ids, today));
    for (const auto& r : rows) {
      Latest& l = latest[{AsText(r[1]), AsText(r[2])}];
      // An attestation without an attached file is a claim, not evidence: it is not counted
      // (the control's entry says how many such records there are).
      if (AsText(r[2]) == "attestation" && AsInt(r[8]) == 0) {
        ++l.unattached;
        continue;
      }
      // A document counts while the document it names holds (in force, review not overdue).
      // Records made before the link was required name none: never counted, the reason shown.
      json basis;
      if (AsText(r[2]) == "document") {
        if (store::IsNull(r[9])) {
          basis = {{"id", nullptr},
                   {"state", "unlinked"},
                   {"counts", false},
                   {"reason",
                    {{"ja",
                      "根拠の規程が指定されていない記録です。規程を指定して記録し直してください。"},
                     {"en", "the record names no document; record it again naming one"}}}};
          ++l.uncounted;
          l.lapsed = false;
          if (l.count == 0) l.document = basis;
          continue;
        }
        const DocumentBasis& b = bases.at(AsInt(r[9]));
        basis = b.info;
        if (!b.counts) {
          ++l.uncounted;
          l.lapsed = b.lapsed;
          if (l.count == 0) l.document = basis;
          continue;
        }
        l.document = basis;
      }
      ++l.count;
      l.record = {{"id", AsInt(r[0])},           {"result", AsText(r[3])},
                  {"summary", AsText(r[4])},     {"recorded_on", AsText(r[5])},
                  {"valid_until", AsText(r[6])}, {"source", AsText(r[7])},
                  {"attachments", AsInt(r[8])}};
      if (!basis.is_null()) l.record["document"] = basis;
    }
    MAMORI_ASSIGN_OR_RETURN(
        auto ex, c.Query("SELECT id, f_control, f_title, f_expires_on FROM r_control_exceptions "
                         "WHERE archived = 0 AND f_status = 'approved' AND f_expires_on >= ? "
                         "ORDER BY f_expires_on DESC",
                         std::vector<Value>{today}, 100000));
    for (const auto& r : ex) {
      exceptions.emplace(
          AsText(r[1]),
          json{{"id", AsInt(r[0])}, {"title", AsText(r[2])}, {"expires_on", AsText(r[3])}});
    }
    for (const auto& control : catalog_->controls) {
      for (const auto& e : control.evidence) {
        if (e.rfind("register:", 0) != 0) continue;
        const std::string key = e.substr(9);
        if (registers.count(key) || registry_.ByKey(key) == nullptr) continue;
        // Register keys come from the definitions (validated identifiers), never from input.
        MAMORI_ASSIGN_OR_RETURN(
            auto n, c.Query("SELECT COUNT(*), COALESCE(MAX(updated_at), '') FROM r_" + key +
                            " WHERE archived = 0"));
        registers[key] = {AsInt(n.at(0).at(0)), AsText(n.at(0).at(1)).substr(0, 10)};
      }
    }
    return {};
  }));

  json controls = json::array();
  json totals{
      {"controls", 0}, {"implemented", 0}, {"partial", 0}, {"not_implemented", 0}, {"unknown", 0}};
  std::map<std::string, json*> by_control;  // into `controls`, filled once it stops growing
  for (const auto& control : catalog_->controls) {
    const std::string value = ControlValue(control.id);
    const std::string cutoff = AddMonths(today, -control.review_months);
    int fresh = 0, seen = 0;
    json kinds = json::array();
    for (const auto& e : control.evidence) {
      json k{{"kind", e}, {"record", nullptr}, {"records", 0}};
      std::string state = "missing";
      if (e.rfind("register:", 0) == 0) {
        const std::string key = e.substr(9);
        auto it = registers.find(key);
        if (it == registers.end()) {
          state = "unavailable";
        } else {
          k["records"] = it->second.first;
          k["last_change"] = it->second.second;
          if (it->second.first > 0) state = it->second.second >= cutoff ? "fresh" : "expired";
        }
      } else {
        const std::string kind = EvidenceKindValue(e);
        auto own = latest.find({value, kind});
        const Latest* l = own == latest.end() ? nullptr : &own->second;
        // An automated result recorded for every control counts here too: the kind's latest is
        // the newer of the two, its records both (automated results carry no attachment or
        // document state to merge).
        Latest merged;
        if (auto every = latest.find({kEveryControl, kind}); every != latest.end()) {
          const Latest& all = every->second;
          const auto order = [](const Latest& x) {
            return std::pair(x.record["recorded_on"].get<std::string>(),
                             x.record["id"].get<int64_t>());
          };
          if (l == nullptr || l->count == 0 || (all.count > 0 && order(all) > order(*l))) {
            merged = all;
            if (l != nullptr) merged.count += l->count;
            // It holds for this control within the control's own review interval.
            const std::string own_until =
                AddMonths(merged.record["recorded_on"].get<std::string>(), control.review_months);
            if (own_until < merged.record["valid_until"].get<std::string>()) {
              merged.record["valid_until"] = own_until;
            }
          } else {
            merged = *l;
            merged.count += all.count;
          }
          l = &merged;
        }
        if (l != nullptr && l->unattached > 0) k["unattached"] = l->unattached;
        if (l != nullptr && l->uncounted > 0) k["uncounted"] = l->uncounted;
        if (l != nullptr && !l->document.is_null()) k["document"] = l->document;
        // Documents that held once (review overdue, abolished) and none that holds: expired.
        if (l != nullptr && l->count == 0 && l->lapsed) state = "expired";
        if (l != nullptr && l->count > 0) {
          const json& r = l->record;
          k["record"] = r;
          k["records"] = l->count;
          state = r["valid_until"].get<std::string>() < today ? "expired"
                  : r["result"] == "fail"                     ? "failed"
                                                              : "fresh";
        }
      }
      if (state == "fresh") ++fresh;
      if (state == "fresh" || state == "expired" || state == "failed") ++seen;
      k["state"] = state;
      kinds.push_back(std::move(k));
    }
    const size_t need = control.evidence.size();
    const std::string status = need > 0 && static_cast<size_t>(fresh) == need ? "implemented"
                               : fresh > 0                                    ? "partial"
                               : seen > 0                                     ? "not_implemented"
                                                                              : "unknown";
    totals["controls"] = totals["controls"].get<int>() + 1;
    totals[status] = totals[status].get<int>() + 1;
    auto ex = exceptions.find(value);
    controls.push_back({{"id", control.id},
                        {"value", value},
                        {"section", control.section},
                        {"title", {{"ja", control.title.ja}, {"en", control.title.en}}},
                        {"owner_role", control.owner_role},
                        {"review_months", control.review_months},
                        {"status", status},
                        {"exception", ex == exceptions.end() ? json(nullptr) : ex->second},
                        {"evidence", std::move(kinds)}});
  }
  for (json& c : controls) by_control[c["id"].get<std::string>()] = &c;

  json sections = json::array();
  auto add_measure = [&](const std::string& id, const policy::Text& title) {
    json s{{"id", id},      {"title", {{"ja", title.ja}, {"en", title.en}}},
           {"controls", 0}, {"implemented", 0},
           {"partial", 0},  {"not_implemented", 0},
           {"unknown", 0}};
    for (const policy::Control* c : catalog_->ControlsFor(id)) {
      json& control = *by_control[c->id];
      control["measure"] = id;  // 6(3)ア counts for 6(3)
      const std::string st = control["status"];
      s["controls"] = s["controls"].get<int>() + 1;
      s[st] = s[st].get<int>() + 1;
    }
    sections.push_back(std::move(s));
  };
  for (const auto& s : catalog_->sections) {
    if (s.is_measure) add_measure(s.id, s.title);
    for (const auto& it : s.items) {
      if (it.is_measure) add_measure(it.id, it.title);
    }
  }
  return json{{"today", today},
              {"totals", std::move(totals)},
              {"sections", std::move(sections)},
              {"controls", std::move(controls)}};
}

namespace {

// One row per control: what the committee reads.
std::vector<tabular::Row> ReportRows(const json& status) {
  std::vector<tabular::Row> rows;
  rows.push_back(
      {"項目", "管理策ID", "管理策", "実施状況", "証跡", "最新の証跡", "有効期限", "例外措置"});
  for (const json& c : status["controls"]) {
    std::string kinds, latest, until;
    for (const json& k : c["evidence"]) {
      const std::string sep = kinds.empty() ? "" : "\n";
      kinds += sep + KindJa(k["kind"]) + ": " + StateJa(k["state"]);
      if (k["record"].is_object()) {
        latest += sep + k["record"]["recorded_on"].get<std::string>() + " " +
                  k["record"]["summary"].get<std::string>().substr(0, 300);
        until += sep + k["record"]["valid_until"].get<std::string>();
      } else {
        latest += sep + "-";
        until += sep + "-";
      }
      if (k.contains("document")) {
        latest += "(" + k["document"]["reason"]["ja"].get<std::string>() + ")";
      }
    }
    std::string ex = "-";
    if (c["exception"].is_object()) {
      ex = c["exception"]["title"].get<std::string>() + "(" +
           c["exception"]["expires_on"].get<std::string>() + "まで)";
    }
    rows.push_back(
        {c["section"], c["id"], c["title"]["ja"], StatusJa(c["status"]), kinds, latest, until, ex});
  }
  return rows;
}

}  // namespace

Result<std::string> ComplianceService::ReportXlsx(const Actor& actor) const {
  MAMORI_ASSIGN_OR_RETURN(json status, Status(actor));
  return tabular::WriteXlsx(ReportRows(status), "実施状況一覧");
}

Result<std::string> ComplianceService::ReportHtml(const Actor& actor) const {
  MAMORI_ASSIGN_OR_RETURN(json status, Status(actor));
  const json& t = status["totals"];
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
      "<title>情報セキュリティ対策 実施状況一覧</title><style>"
      "body{font-family:'Noto Sans JP','Noto Sans CJK JP',sans-serif;margin:2em;color:#1a1a1c}"
      "table{border-collapse:collapse;width:100%;font-size:10pt}"
      "th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;text-align:left}"
      "th{background:#e8f1fe}td.s-implemented{background:#e6f5ec}td.s-partial{background:#fff4d6}"
      "td.s-not_implemented{background:#fde8e8}td.s-unknown{background:#eee}"
      "td pre{white-space:pre-wrap;margin:0;font-family:inherit}"
      "@media print{body{margin:0}tr{break-inside:avoid}}</style></head><body>\n";
  h += "<h1>情報セキュリティ対策 実施状況一覧</h1>\n<p>" + EscapeMarkup(catalog_->body) +
       " 情報セキュリティ委員会 資料(" + EscapeMarkup(status["today"].get<std::string>()) +
       " 現在、Mamori が証跡から算出)</p>\n";
  h += "<p>管理策 " + std::to_string(t["controls"].get<int>()) + " 件: 実施済 " +
       std::to_string(t["implemented"].get<int>()) + "、一部実施 " +
       std::to_string(t["partial"].get<int>()) + "、未実施 " +
       std::to_string(t["not_implemented"].get<int>()) + "、不明 " +
       std::to_string(t["unknown"].get<int>()) + "</p>\n";
  h += "<h2>項目別</h2>\n<table><tr><th>項目</th><th>表題</th><th>管理策</th><th>実施済</th>"
       "<th>一部実施</th><th>未実施</th><th>不明</th></tr>\n";
  for (const json& s : status["sections"]) {
    h += "<tr><td>" + EscapeMarkup(s["id"].get<std::string>()) + "</td><td>" +
         EscapeMarkup(s["title"]["ja"].get<std::string>()) + "</td>";
    for (const char* k : {"controls", "implemented", "partial", "not_implemented", "unknown"}) {
      h += "<td>" + std::to_string(s[k].get<int>()) + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</table>\n<h2>管理策別</h2>\n<table>";
  const auto rows = ReportRows(status);
  for (size_t i = 0; i < rows.size(); ++i) {
    h += "<tr>";
    for (size_t j = 0; j < rows[i].size(); ++j) {
      if (i == 0) {
        h += "<th>" + EscapeMarkup(rows[i][j]) + "</th>";
        continue;
      }
      const std::string cls =
          j == 3 ? " class=\"s-" + status["controls"][i - 1]["status"].get<std::string>() + "\""
                 : "";
      h += "<td" + cls + "><pre>" + EscapeMarkup(rows[i][j]) + "</pre></td>";
    }
    h += "</tr>\n";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

}  // namespace mamori::registers
