// 利用者 and 役割の割当 (§6(1)): who uses Mamori and which role each person holds, over which
// scope and for which period (April 1 reassignments are entered ahead with their dates).
#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "policy/duties.h"
#include "registers/access.h"
#include "registers/org_units.h"

namespace mamori::registers {

using nlohmann::json;

namespace {

void CheckLogin(const json& rec, RuleContext&, std::vector<FieldError>& errors) {
  const std::string login = TextOf(rec, "login");
  const bool ok = !login.empty() && std::all_of(login.begin(), login.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (!login.empty() && !ok) {
    errors.push_back({"login",
                      "ログイン ID",
                      "半角英数字と . _ - だけで入力してください。",
                      "letters, digits, '.', '_' and '-' only",
                      0,
                      {}});
  }
}

// The unit and every unit above it.
std::vector<int64_t> UnitAndAncestors(RuleContext& ctx, int64_t unit) {
  std::vector<int64_t> out;
  for (int depth = 0; unit != 0 && depth < 8; ++depth) {
    out.push_back(unit);
    auto u = ctx.Lookup("org_units", unit);
    if (!u || !(*u)["parent"].is_number_integer()) break;
    unit = (*u)["parent"].get<int64_t>();
  }
  return out;
}

void CheckAssignment(const json& rec, RuleContext& ctx, std::vector<FieldError>& errors) {
  auto add = [&](const char* field, const char* label, std::string ja, std::string en) {
    errors.push_back({field, label, std::move(ja), std::move(en), 0, {}});
  };
  const std::string kind = TextOf(rec, "scope_kind");
  const json& unit = rec["scope_unit"];
  if (kind == "body" && !unit.is_null()) {
    add("scope_unit", "対象組織", "範囲が団体全体のときは対象組織を指定しません。",
        "no unit for the whole body");
  }
  if ((kind == "bureau" || kind == "section") && unit.is_null()) {
    add("scope_unit", "対象組織", "対象組織を指定してください。", "scope unit is required");
  }
  if ((kind == "bureau" || kind == "section") && unit.is_number_integer()) {
    auto u = ctx.Lookup("org_units", unit.get<int64_t>());
    const std::string want = kind == "bureau" ? "bureau" : "section";
    if (u && (*u)["kind"] != want) {
      add("scope_unit", "対象組織",
          kind == "bureau" ? "範囲が部局のときは部局を指定してください。"
                           : "範囲が課室のときは課室を指定してください。",
          "scope unit must be a " + want);
    }
  }
  if (kind == "system" && TextOf(rec, "scope_system").empty()) {
    add("scope_system", "対象システム", "範囲が情報システムのときはシステム名を入力してください。",
        "system name is required");
  }
  const std::string from = TextOf(rec, "valid_from"), to = TextOf(rec, "valid_to");
  if (!from.empty() && !to.empty() && to < from) {
    add("valid_to", "終了日", "終了日は開始日以降にしてください。", "must not be before the start");
  }
  if (!errors.empty() || !rec["user"].is_number_integer()) return;

  // Separation of duties.
  const int64_t grantee = rec["user"].get<int64_t>();
  if (Status st = policy::CheckNotSelfGrant(ctx.actor().user_id, grantee); !st.ok()) {
    add("user", "利用者", st.error().message, st.error().message_en);
    return;
  }
  const std::string role = TextOf(rec, "role");
  if ((role == "auditor" || role == "audit_lead") && unit.is_number_integer()) {
    auto user = ctx.Lookup("users", grantee);
    if (user && (*user)["section"].is_number_integer()) {
      const auto own = UnitAndAncestors(ctx, (*user)["section"].get<int64_t>());
      if (Status st = policy::CheckAuditorIndependent(own, unit.get<int64_t>()); !st.ok()) {
        add("scope_unit", "対象組織", st.error().message, st.error().message_en);
      }
    }
  }
}

}  // namespace

RegisterDef UsersRegister() {
  RegisterDef d;
  d.key = "users";
  d.path = "users";
  d.label = {"利用者", "Users"};
  d.key_field = "login";
  d.title_field = "name";
  d.default_sort = "login";
  d.org_field = "section";

  FieldDef login = MakeField("login", FieldType::kText);
  login.label = {"ログイン ID", "Login ID"};
  login.help = {"半角英数字と . _ - (例: t.yamada)", "Letters, digits, . _ -"};
  login.required = login.unique = login.searchable = true;
  login.max_length = 64;

  FieldDef name = MakeField("name", FieldType::kText);
  name.label = {"氏名", "Name"};
  name.required = name.searchable = true;
  name.max_length = 100;

  FieldDef kana = MakeField("name_kana", FieldType::kText);
  kana.label = {"氏名(かな)", "Name (kana)"};
  kana.searchable = true;
  kana.max_length = 100;

  FieldDef email = MakeField("email", FieldType::kEmail);
  email.label = {"メールアドレス", "Email"};
  email.max_length = 254;
  email.searchable = true;

  FieldDef section = MakeField("section", FieldType::kRef);
  section.label = {"所属", "Section"};
  section.help = {"所属する課室又は係", "The section or group the person belongs to"};
  section.ref = "org_units";
  section.filterable = true;

  FieldDef employment = MakeField("employment_type", FieldType::kEnum);
  employment.label = {"任用区分", "Employment type"};
  employment.required = employment.filterable = true;
  employment.options = {{"staff", {"職員", "Staff"}},
                        {"fiscal_year", {"会計年度任用職員", "Fiscal-year appointee"}},
                        {"contractor", {"委託事業者", "Contractor"}}};
  employment.default_value = "staff";

  FieldDef status = MakeField("status", FieldType::kEnum);
  status.label = {"状態", "Status"};
  status.help = {"利用停止・退職の利用者はログインできません。",
                 "Suspended and retired users cannot log in."};
  status.required = status.filterable = true;
  status.options = {{"active", {"在職", "Active"}},
                    {"suspended", {"利用停止", "Suspended"}},
                    {"retired", {"退職", "Retired"}}};
  status.default_value = "active";

  d.fields = {login, name, kana, email, section, employment, status};
  d.rules = {CheckLogin};
  return d;
}

std::string TextOf(const json& rec, const char* field) {
  return rec.contains(field) && rec[field].is_string() ? rec[field].get<std::string>() : "";
}

void AddError(std::vector<FieldError>& errors, const char* field, const char* label, std::string ja,
              std::string en) {
  errors.push_back({field, label, std::move(ja), std::move(en), 0, {}});
}

std::vector<int64_t> SectionRoleHolders(RuleContext& ctx, const std::string& role, const json& unit,
                                        const std::string& date) {
  std::vector<int64_t> out;
  for (const json& a : ctx.Find("role_assignments", "scope_unit", unit, 1000)) {
    if (a["role"] != role || a["scope_kind"] != "section" || !a["user"].is_number_integer()) {
      continue;
    }
    const std::string from = TextOf(a, "valid_from"), to = TextOf(a, "valid_to");
    if (from <= date && (to.empty() || to >= date)) out.push_back(a["user"].get<int64_t>());
  }
  return out;
}

RegisterDef RoleAssignmentsRegister(std::vector<EnumOption> roles) {
  RegisterDef d;
  d.key = "role_assignments";
  d.path = "roles/assignments";
  d.label = {"役割の割当", "Role assignments"};
  d.title_field = "role";
  d.default_sort = "valid_from";
  d.org_field = "scope_unit";

  FieldDef user = MakeField("user", FieldType::kRef);
  user.label = {"利用者", "User"};
  user.ref = "users";
  user.required = user.filterable = true;

  FieldDef role = MakeField("role", FieldType::kEnum);
  role.label = {"役割", "Role"};
  role.help = {"基本方針 6(1) の組織体制における役割", "Role in the organization of §6(1)"};
  role.required = role.filterable = role.searchable = true;
  role.options = std::move(roles);

  FieldDef kind = MakeField("scope_kind", FieldType::kEnum);
  kind.label = {"範囲", "Scope"};
  kind.required = kind.filterable = true;
  kind.options = {{"body", {"団体全体", "Whole body"}},
                  {"bureau", {"部局", "Bureau"}},
                  {"section", {"課室", "Section"}},
                  {"system", {"情報システム", "Information system"}}};
  kind.default_value = "body";

  FieldDef unit = MakeField("scope_unit", FieldType::kRef);
  unit.label = {"対象組織", "Unit"};
  unit.help = {"範囲が部局・課室のとき、その組織", "For bureau and section scopes"};
  unit.ref = "org_units";
  unit.filterable = true;

  FieldDef system = MakeField("scope_system", FieldType::kText);
  system.label = {"対象システム", "System"};
  system.max_length = 100;
  system.searchable = true;

  FieldDef from = MakeField("valid_from", FieldType::kDate);
  from.label = {"開始日", "From"};
  from.help = {"この日から役割を持ちます(4月1日の異動は前もって登録できます)。",
               "The role holds from this date"};
  from.required = true;

  FieldDef to = MakeField("valid_to", FieldType::kDate);
  to.label = {"終了日", "Until"};
  to.help = {"この日まで役割を持ちます。空欄は期限なし。", "Last day; empty for open-ended"};

  FieldDef note = MakeField("note", FieldType::kTextarea);
  note.label = {"備考", "Notes"};
  note.max_length = 1000;
  note.list = false;
  note.sortable = false;

  d.fields = {user, role, kind, unit, system, from, to, note};
  d.rules = {CheckAssignment};
  return d;
}

}  // namespace mamori::registers
