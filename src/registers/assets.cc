// 情報資産 register (§4(2), §6(2)): every network, system, device, medium, piece of information
// and system document, with its C/I/A classification under the scheme the body chose, and the
// consistency rules of catalog/classification.toml.
#include "registers/assets.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>

#include "registers/access.h"
#include "registers/org_units.h"

namespace mamori::registers {

using nlohmann::json;
using policy::Axis;
using policy::Classification;

namespace {

constexpr const char* kSchemeSetting = "classification_scheme";

// A rule's condition on one field of the candidate record.
bool Holds(const policy::Condition& cond, const json& rec) {
  const json& v = rec.contains(cond.field) ? rec[cond.field] : json(nullptr);
  if (cond.boolean) return v.is_boolean() && (v.get<bool>() ? "true" : "false") == cond.values[0];
  if (!v.is_string()) return false;
  return std::find(cond.values.begin(), cond.values.end(), v.get<std::string>()) !=
         cond.values.end();
}

// The consistency rules of the active scheme: errors block, warnings are recorded.
RecordRule ConsistencyRules(std::shared_ptr<const Classification> c) {
  return [c](const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
    const std::string scheme_key = ctx.Setting(kSchemeSetting, c->default_scheme);
    const policy::Scheme* scheme = c->FindScheme(scheme_key);
    if (scheme == nullptr) return;
    for (const auto& rule : c->rules) {
      auto floor = rule.at_least.find(scheme->key);
      if (floor == rule.at_least.end()) continue;
      if (!std::all_of(rule.when.begin(), rule.when.end(),
                       [&](const policy::Condition& cond) { return Holds(cond, rec); })) {
        continue;
      }
      const char* field = policy::AxisName(rule.axis);
      const json& v = rec[field];
      if (!v.is_string()) continue;  // "required" is reported by the field check
      const int rank = scheme->Rank(rule.axis, v.get<std::string>());
      if (rank < 0 || rank <= scheme->Rank(rule.axis, floor->second)) continue;
      FieldError e{field,
                   rule.axis == Axis::kConfidentiality ? "機密性"
                   : rule.axis == Axis::kIntegrity     ? "完全性"
                                                       : "可用性",
                   rule.message.ja + "(規則 " + rule.id + ")",
                   rule.message.en + " (rule " + rule.id + ")",
                   0,
                   {}};
      if (rule.error) {
        errors.push_back(std::move(e));
      } else {
        ctx.Warn(std::move(e));
      }
    }
  };
}

// 廃棄済 needs the disposal record; other states must not carry one half-filled.
void CheckDisposal(const json& rec, RuleContext&, std::vector<FieldError>& errors) {
  const bool disposed = rec["status"] == "disposed";
  const struct {
    const char* field;
    const char* label;
  } parts[] = {{"disposal_method", "廃棄の方法"},
               {"disposal_date", "廃棄日"},
               {"disposed_by", "廃棄の実施者"}};
  for (const auto& p : parts) {
    if (disposed && rec[p.field].is_null()) {
      errors.push_back({p.field,
                        p.label,
                        "廃棄済にするときは入力してください。",
                        "required when the asset is disposed of",
                        0,
                        {}});
    }
  }
  if (disposed && rec["disposal_method"] == "erase" && rec["erasure_certificate"].is_null()) {
    errors.push_back({"erasure_certificate",
                      "消去証明書",
                      "データ消去による廃棄では、消去証明書の番号を入力してください。",
                      "an erasure certificate is required for data erasure",
                      0,
                      {}});
  }
}

// 関連システム must be an information system.
void CheckRelatedSystem(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  const json& sys = rec["related_system"];
  if (!sys.is_number_integer()) return;
  if (rec.contains("id") && rec["id"] == sys) {
    errors.push_back({"related_system",
                      "関連システム",
                      "自分自身は指定できません。",
                      "cannot reference itself",
                      0,
                      {}});
    return;
  }
  auto target = ctx.Lookup("assets", sys.get<int64_t>());
  if (target && (*target)["kind"] != "system") {
    errors.push_back({"related_system",
                      "関連システム",
                      "種別が「情報システム」の資産を指定してください。",
                      "must be an asset of kind information system",
                      0,
                      {}});
  }
}

// 管理番号 when none is given: A-000123 from the next record id.
void GenerateNumber(json& rec, RuleContext& ctx) {
  if (!rec["asset_no"].is_null()) return;
  int64_t n = ctx.NextId("assets");
  for (int attempt = 0; attempt < 100; ++attempt, ++n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "A-%06lld", static_cast<long long>(n));
    if (!ctx.Taken("assets", "asset_no", buf)) {  // archived assets keep their numbers
      rec["asset_no"] = buf;
      return;
    }
  }
}

// 管理者 when none is given: the section's 情報セキュリティ管理者 on the day of the change.
void DefaultManager(json& rec, RuleContext& ctx) {
  if (!rec["manager"].is_null() || !rec["section"].is_number_integer()) return;
  for (int64_t holder : SectionRoleHolders(ctx, "security_manager", rec["section"], ctx.today())) {
    // Only a user who can act: an archived or suspended holder is no default.
    auto user = ctx.Lookup("users", holder);
    if (!user || (*user)["status"] != "active") continue;
    rec["manager"] = holder;
    return;
  }
}

// The union of the schemes' levels on one axis, each tagged with the schemes it belongs to (a
// value such as "2" may be in several). A level new to the list goes just before the next
// lower level of its scheme already listed, so each scheme's own order is kept: 3, 3a, 3b, 3c,
// 2, 1.
std::vector<EnumOption> LevelOptions(const Classification& c, Axis axis) {
  std::vector<EnumOption> out;
  auto find = [&](const std::string& value) {
    return std::find_if(out.begin(), out.end(),
                        [&](const EnumOption& o) { return o.value == value; });
  };
  for (const auto& scheme : c.schemes) {
    const auto& levels = scheme.levels(axis);
    for (size_t i = 0; i < levels.size(); ++i) {
      const auto& level = levels[i];
      auto it = find(level.value);
      if (it == out.end()) {
        auto at = out.end();
        for (size_t j = i + 1; j < levels.size() && at == out.end(); ++j)
          at = find(levels[j].value);
        it = out.insert(at, EnumOption{level.value, {level.label.ja, level.label.en}, {}, {}});
      } else if (level.label.ja != it->label.ja) {
        it->aliases.push_back(level.label.ja);
      }
      for (const auto& a : level.aliases) {
        if (std::find(it->aliases.begin(), it->aliases.end(), a) == it->aliases.end()) {
          it->aliases.push_back(a);
        }
      }
      it->tags.push_back(scheme.key);
    }
  }
  return out;
}

}  // namespace

RegisterDef AssetsRegister(std::shared_ptr<const Classification> c) {
  RegisterDef d;
  d.key = "assets";
  d.path = "assets";
  d.label = {"情報資産", "Information assets"};
  d.key_field = "asset_no";
  d.title_field = "name";
  d.default_sort = "asset_no";
  d.org_field = "section";

  FieldDef no = MakeField("asset_no", FieldType::kText);
  no.label = {"管理番号", "Asset number"};
  no.help = {"空欄なら A-000123 の形で付けます。", "Given, or generated as A-000123"};
  no.required = no.unique = no.searchable = no.generated = true;
  no.max_length = 40;

  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"資産名", "Name"};
  name.required = name.searchable = true;
  name.max_length = 200;

  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"種別", "Kind"};
  kind.help = {"基本方針 4(2) の区分", "The kinds of §4(2)"};
  kind.required = kind.filterable = kind.searchable = true;
  kind.options = {
      {"network", {"ネットワーク", "Network"}, {}, {}},
      {"system", {"情報システム", "Information system"}, {"システム"}, {}},
      {"equipment", {"機器・設備", "Equipment"}, {"機器", "設備"}, {}},
      {"media", {"電磁的記録媒体", "Storage media"}, {"記録媒体", "媒体"}, {}},
      {"info_electronic",
       {"情報(電子)", "Information (electronic)"},
       {"情報（電子）", "電子情報", "電子データ"},
       {}},
      {"info_paper", {"情報(紙)", "Information (paper)"}, {"情報（紙）", "紙", "紙文書"}, {}},
      {"system_document",
       {"システム関連文書", "System documents"},
       {"システム関係文書", "関連文書"},
       {}}};

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"所管", "Owning section"};
  section.help = {"資産を所管する課室(組織コード又は名称)", "The owning section"};
  section.ref = "org_units";
  section.required = section.filterable = true;
  section.header_aliases = {"所管課", "所管課室", "所管部署"};

  FieldDef manager = MakeField("manager", FieldType::kRef);
  manager.label = {"管理者", "Manager"};
  manager.help = {"空欄なら、その日の所管課室の情報セキュリティ管理者",
                  "Defaults to the section's "
                  "security manager"};
  manager.ref = "users";
  manager.filterable = true;
  manager.header_aliases = {"管理責任者"};

  FieldDef users = MakeField("user_scope", FieldType::kText);
  users.label = {"利用者の範囲", "Who uses it"};
  users.max_length = 200;
  users.list = false;
  users.header_aliases = {"利用者範囲", "利用範囲"};

  FieldDef location = MakeField("location", FieldType::kText);
  location.label = {"保管場所", "Location"};
  location.max_length = 200;
  location.searchable = true;
  location.list = false;
  location.header_aliases = {"設置場所", "保管・設置場所"};

  FieldDef zone = MakeField("zone", FieldType::kEnum);
  zone.label = {"系統", "Network zone"};
  zone.help = {"三層の対策の系統(ネットワーク分離の検証と同じ名前)", "The three-layer zone"};
  zone.filterable = true;
  for (const auto& z : c->zones) zone.options.push_back({z.key, {z.label.ja, z.label.en}, {}, {}});
  zone.header_aliases = {"ネットワーク系統", "接続系統"};

  auto level_field = [&](const char* name_, Label label, Axis axis) {
    FieldDef f = MakeField(name_, FieldType::kEnum);
    f.label = std::move(label);
    f.required = f.filterable = true;
    f.options = LevelOptions(*c, axis);
    f.options_setting = kSchemeSetting;
    f.options_setting_default = c->default_scheme;
    return f;
  };
  FieldDef conf =
      level_field("confidentiality", {"機密性", "Confidentiality"}, Axis::kConfidentiality);
  FieldDef integ = level_field("integrity", {"完全性", "Integrity"}, Axis::kIntegrity);
  FieldDef avail = level_field("availability", {"可用性", "Availability"}, Axis::kAvailability);

  FieldDef reason = MakeField("classification_reason", FieldType::kTextarea);
  reason.label = {"分類の理由", "Reason for the classification"};
  reason.max_length = 1000;
  reason.list = false;
  reason.sortable = false;

  auto flag = [&](const char* name_, Label label) {
    FieldDef f = MakeField(name_, FieldType::kBoolean);
    f.label = std::move(label);
    f.filterable = true;
    return f;
  };
  FieldDef pi = flag("personal_info", {"個人情報", "Personal information"});
  FieldDef spi = flag("specific_personal_info", {"特定個人情報", "Specific personal information"});
  FieldDef sens =
      flag("sensitive_personal_info", {"要配慮個人情報", "Sensitive personal information"});

  FieldDef retention = MakeField("retention", FieldType::kText);
  retention.label = {"保存年限", "Retention"};
  retention.help = {"例: 5年、10年、常用", "e.g. 5 years"};
  retention.max_length = 20;
  retention.list = false;

  FieldDef related = MakeField("related_system", FieldType::kRef);
  related.label = {"関連システム", "Related system"};
  related.help = {"この資産を使う情報システム(管理番号)", "The information system it belongs to"};
  related.ref = "assets";
  related.list = false;

  FieldDef status = MakeField("status", FieldType::kEnum);
  status.label = {"状態", "Status"};
  status.required = status.filterable = true;
  status.default_value = "in_use";
  status.options = {{"in_use", {"利用中", "In use"}, {"使用中", "稼働中"}, {}},
                    {"stored", {"保管", "Stored"}, {"保管中"}, {}},
                    {"to_dispose", {"廃棄予定", "To be disposed of"}, {}, {}},
                    {"disposed", {"廃棄済", "Disposed of"}, {"廃棄済み"}, {}}};

  FieldDef method = MakeField("disposal_method", FieldType::kEnum);
  method.label = {"廃棄の方法", "Disposal method"};
  method.list = false;
  method.options = {{"erase", {"データ消去", "Data erasure"}, {"消去"}, {}},
                    {"destroy", {"物理破壊", "Physical destruction"}, {"破壊"}, {}},
                    {"shred", {"裁断", "Shredding"}, {"シュレッダー"}, {}},
                    {"dissolve", {"溶解", "Dissolving"}, {}, {}},
                    {"incinerate", {"焼却", "Incineration"}, {}, {}},
                    {"return", {"返却(リース等)", "Returned (lease)"}, {"返却"}, {}}};

  FieldDef date = MakeField("disposal_date", FieldType::kDate);
  date.label = {"廃棄日", "Disposal date"};
  date.list = false;

  FieldDef by = MakeField("disposed_by", FieldType::kText);
  by.label = {"廃棄の実施者", "Disposed of by"};
  by.help = {"職員名又は事業者名", "A person or contractor"};
  by.max_length = 100;
  by.list = false;

  FieldDef cert = MakeField("erasure_certificate", FieldType::kText);
  cert.label = {"消去証明書", "Erasure certificate"};
  cert.help = {"証明書の番号など", "Certificate number"};
  cert.max_length = 100;
  cert.list = false;

  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Notes"};
  note.max_length = 2000;
  note.list = false;
  note.sortable = false;

  d.fields = {no,      name,   kind,   section, manager, users, location, zone,
              conf,    integ,  avail,  reason,  pi,      spi,   sens,     retention,
              related, status, method, date,    by,      cert,  note};
  d.rules = {ConsistencyRules(c), CheckDisposal, CheckRelatedSystem};
  d.completers = {GenerateNumber, DefaultManager};
  // Need to know: assets at the levels the catalog marks need_to_know are seen only by those
  // granted view_confidential.
  d.confidential_field = "confidentiality";
  for (const auto& scheme : c->schemes) {
    for (const auto& level : scheme.confidentiality) {
      if (level.need_to_know &&
          std::find(d.confidential_values.begin(), d.confidential_values.end(), level.value) ==
              d.confidential_values.end()) {
        d.confidential_values.push_back(level.value);
      }
    }
  }
  return d;
}

Status CheckAssetRules(const Classification& c, const RegisterDef& assets) {
  for (const auto& rule : c.rules) {
    for (const auto& cond : rule.when) {
      const FieldDef* f = assets.Field(cond.field);
      const bool ok =
          f != nullptr &&
          (cond.boolean
               ? f->type == FieldType::kBoolean
               : f->type == FieldType::kEnum &&
                     std::all_of(cond.values.begin(), cond.values.end(), [&](const std::string& v) {
                       return std::any_of(f->options.begin(), f->options.end(),
                                          [&](const EnumOption& o) { return o.value == v; });
                     }));
      if (!ok) {
        return Error::Invalid(
            "分類の規則 " + rule.id + " の when が資産の項目に合いません: " + cond.field,
            "rule " + rule.id + ": when." + cond.field +
                " does not match an asset field and its values");
      }
    }
  }
  return {};
}

}  // namespace mamori::registers
