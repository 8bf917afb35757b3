// 組織 register (§4(1), §6(1)): the four bodies the policy covers (広域連合事務局, 議会事務局,
// 選挙管理事務局, 監査委員事務局) as 部局, and their 課室 and 係.
#include <nlohmann/json.hpp>

#include "registers/org_units.h"

namespace mamori::registers {

using nlohmann::json;

namespace {

// The hierarchy: a 部局 has no parent, a 課室 sits under a 部局, a 係 under a 課室. A change of
// kind must keep the records below consistent too (so no cycle can form).
const char* ChildKind(const std::string& kind) {
  if (kind == "bureau") return "section";
  if (kind == "section") return "group";
  return "";
}

const char* KindLabel(const std::string& kind) {
  if (kind == "bureau") return "部局";
  if (kind == "section") return "課室";
  return "係・担当";
}

void CheckHierarchy(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  const std::string kind = rec["kind"].is_string() ? rec["kind"].get<std::string>() : "";
  const json& parent = rec["parent"];
  auto add = [&](const char* field, const char* label, std::string ja, std::string en) {
    errors.push_back({field, label, std::move(ja), std::move(en), 0, {}});
  };
  if (kind.empty()) return;  // "kind is required" is reported by the field check
  if (rec.contains("id") && rec["id"].is_number_integer()) {
    for (const json& child : ctx.Find("org_units", "parent", rec["id"], 1000)) {
      if (child["kind"] != ChildKind(kind)) {
        add("kind", "区分",
            std::string("下位に") + KindLabel(child["kind"].get<std::string>()) + "「" +
                child["name"].get<std::string>() + "」があるため、" + KindLabel(kind) +
                "にはできません。",
            "a child record does not fit under this kind");
        return;
      }
    }
  }
  if (kind == "bureau") {
    if (!parent.is_null()) {
      add("parent", "上位組織", "部局には上位組織を指定できません。", "a bureau has no parent");
    }
    return;
  }
  const std::string want = kind == "section" ? "bureau" : "section";
  if (parent.is_null()) {
    add("parent", "上位組織", std::string("上位組織(") + KindLabel(want) + ")を指定してください。",
        "parent (" + want + ") is required");
    return;
  }
  auto p = ctx.Lookup("org_units", parent.get<int64_t>());
  if (!p) return;  // a missing reference is reported by the field check
  if ((*p)["kind"] != want) {
    add("parent", "上位組織",
        std::string("上位組織には") + KindLabel(want) + "を指定してください。",
        "parent must be a " + want);
  }
}

}  // namespace

FieldDef MakeField(std::string name, FieldType type) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

RegisterDef OrgUnitsRegister() {
  RegisterDef d;
  d.key = "org_units";
  d.path = "organization/units";
  d.label = {"組織(部局・課室)", "Organization units"};
  d.key_field = "code";
  d.title_field = "name";
  d.default_sort = "code";

  FieldDef code = MakeField("code", FieldType::kText);
  code.label = {"組織コード", "Code"};
  code.help = {"半角英数字など、組織を一意に表すコード(例: J-SOMU)", "Unique code, e.g. J-SOMU"};
  code.required = code.unique = code.searchable = true;
  code.max_length = 32;

  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"名称", "Name"};
  name.help = {"正式名称(例: 総務課)", "Official name"};
  name.required = name.searchable = true;
  name.max_length = 100;

  FieldDef kana = MakeField("name_kana", FieldType::kText);
  kana.label = {"名称(かな)", "Name (kana)"};
  kana.help = {"ひらがな又はカタカナ。検索と並べ替えに使います。",
               "Reading, for search and sorting"};
  kana.searchable = true;
  kana.max_length = 100;

  FieldDef kind = MakeField("kind", FieldType::kEnum);
  kind.label = {"区分", "Kind"};
  kind.help = {"部局は基本方針 4(1) の機関、課室はその下の組織",
               "Bureau (body of §4(1)), section, group"};
  kind.required = kind.filterable = kind.searchable = true;
  kind.options = {{"bureau", {"部局", "Bureau"}},
                  {"section", {"課室", "Section"}},
                  {"group", {"係・担当", "Group"}}};

  FieldDef parent = MakeField("parent", FieldType::kRef);
  parent.label = {"上位組織", "Parent"};
  parent.help = {"課室は部局を、係は課室を指定します。", "A section's bureau, a group's section"};
  parent.ref = "org_units";
  parent.filterable = true;

  FieldDef phone = MakeField("phone", FieldType::kText);
  phone.label = {"電話番号(内線)", "Phone (extension)"};
  phone.max_length = 32;
  phone.list = false;

  FieldDef email = MakeField("email", FieldType::kEmail);
  email.label = {"連絡先メール", "Contact email"};
  email.max_length = 254;
  email.list = false;

  FieldDef order = MakeField("sort_order", FieldType::kInteger);
  order.label = {"表示順", "Display order"};
  order.min = 0;
  order.max = 99999;
  order.list = false;

  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Notes"};
  note.max_length = 2000;
  note.list = false;
  note.sortable = false;

  d.fields = {code, name, kana, kind, parent, phone, email, order, note};
  d.rules = {CheckHierarchy};
  return d;
}

}  // namespace mamori::registers
