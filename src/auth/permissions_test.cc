#include "auth/permissions.h"

#include <nlohmann/json.hpp>

#include "auth/test_support.h"
#include "registers/org_units.h"

namespace mamori::auth {
namespace {

using registers::Action;
using testing::AuthFixture;

TEST(PermissionTable, ParsesTheShippedTable) {
  auto t = PermissionTable::Parse(testing::ReadShipped("catalog/permissions.toml"), "p.toml");
  ASSERT_TRUE(t.ok()) << t.error().message;
  for (const char* role :
       {"ciso", "security_general", "security_officer", "security_manager", "system_manager",
        "system_staff", "csirt", "audit_lead", "auditor", "staff", "contractor", "sysadmin"}) {
    EXPECT_NE(t->Role(role), nullptr) << role;
  }
  EXPECT_TRUE(t->Lookup("staff", "org_units", Action::kView).allowed);
  EXPECT_FALSE(t->Lookup("staff", "org_units", Action::kCreate).allowed);
  EXPECT_FALSE(t->Lookup("staff", "audit_log", Action::kView).allowed);
  EXPECT_TRUE(t->Lookup("security_manager", "users", Action::kView).scoped);
  // "*" covers registers that are not named.
  EXPECT_TRUE(t->Lookup("ciso", "assets", Action::kViewConfidential).allowed);
}

TEST(PermissionTable, ErrorsNameTheLine) {
  auto bad =
      PermissionTable::Parse("[roles.x]\nlabel = \"X\"\ngrants = { a = \"view fly\" }\n", "p.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("p.toml:3"), std::string::npos) << bad.error().message;
  auto scope =
      PermissionTable::Parse("[roles.x]\nlabel = \"X\"\ngrants = { a = \"view:all\" }\n", "p.toml");
  EXPECT_FALSE(scope.ok());
  auto unknown = PermissionTable::Parse("[roles.x]\nlabel = \"X\"\ncolour = 1\n", "p.toml");
  EXPECT_FALSE(unknown.ok());
  EXPECT_FALSE(PermissionTable::Parse("", "p.toml").ok());
}

class ScopeTest : public AuthFixture {};

TEST_F(ScopeTest, ScopedGrantsFollowTheOrganizationTree) {
  const int64_t bureau = Unit("J", "bureau", 0);
  const int64_t somu = Unit("J-S", "section", bureau);
  const int64_t kyufu = Unit("J-K", "section", bureau);
  const int64_t manager = User("manager", somu);
  User("colleague", somu);
  User("other", kyufu);
  ASSERT_TRUE(Assign(manager, "security_manager", "section", somu).ok());
  auto roles = identity_->EffectiveRoles(manager, "2026-05-01");
  ASSERT_TRUE(roles.ok());
  registers::Actor actor{"manager", "127.0.0.1", manager, *roles};
  const auto& users = *registry_->ByKey("users");

  auto filter = authorizer_->ListFilter(actor, users);
  ASSERT_TRUE(filter.ok());
  EXPECT_FALSE(filter->all_units);
  EXPECT_EQ(filter->units, std::vector<int64_t>{somu});

  registers::RegisterService svc(*store_, *registry_, *authorizer_, *audit_, clock_);
  auto list = svc.List(actor, users, *registers::ParseListQuery(users, {}));
  ASSERT_TRUE(list.ok());
  const auto items = nlohmann::json::parse(*list)["items"];
  ASSERT_EQ(items.size(), 2u);  // manager and colleague, not "other"
  for (const auto& u : items) EXPECT_EQ(u["section"], somu);

  // The audit log and creating users are not for a section manager.
  EXPECT_FALSE(authorizer_->CheckResource(actor, "audit_log", Action::kView).ok());
  EXPECT_EQ(svc.Create(actor, users, {{"login", "x"}, {"name", "x"}}).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(ScopeTest, BureauScopeCoversItsSections) {
  const int64_t bureau = Unit("J", "bureau", 0);
  const int64_t somu = Unit("J-S", "section", bureau);
  const int64_t group = Unit("J-S-1", "group", somu);
  const int64_t officer = User("officer", somu);
  ASSERT_TRUE(Assign(officer, "security_officer", "bureau", bureau).ok());
  auto roles = identity_->EffectiveRoles(officer, "2026-05-01");
  ASSERT_TRUE(roles.ok());
  ASSERT_EQ(roles->size(), 1u);
  EXPECT_EQ((*roles)[0].units, (std::vector<int64_t>{bureau, somu, group}));
}

TEST_F(ScopeTest, NeedToKnowHidesConfidentialRecords) {
  // A register with a confidentiality field, as the asset register will have.
  registers::RegisterDef secret;
  secret.key = "assets";
  secret.path = "assets";
  secret.label = {"情報資産", "Assets"};
  secret.key_field = "code";
  secret.title_field = "code";
  secret.default_sort = "code";
  secret.confidential_field = "level";
  secret.confidential_values = {"3"};
  registers::FieldDef code = registers::MakeField("code", registers::FieldType::kText);
  code.label = {"番号", "Code"};
  code.required = code.unique = true;
  registers::FieldDef level = registers::MakeField("level", registers::FieldType::kEnum);
  level.label = {"機密性", "Confidentiality"};
  level.options = {{"1", {"1", "1"}}, {"2", {"2", "2"}}, {"3", {"3", "3"}}};
  secret.fields = {code, level};
  auto reg = registers::Registry::Create({secret});
  ASSERT_TRUE(reg.ok()) << reg.error().message_en;
  ASSERT_TRUE(store_->Migrate((*reg)->Migrations()).ok());
  registers::RegisterService admin(*store_, **reg, open_, *audit_, clock_);
  const auto& def = *(*reg)->ByKey("assets");
  ASSERT_TRUE(admin.Create(cli_, def, {{"code", "A1"}, {"level", "3"}}).ok());
  ASSERT_TRUE(admin.Create(cli_, def, {{"code", "A2"}, {"level", "1"}}).ok());

  registers::RegisterService svc(*store_, **reg, *authorizer_, *audit_, clock_);
  registers::Actor staff{"system", "127.0.0.1", 5, {{"system_staff", "body", {}, ""}}};
  registers::Actor ciso{"boss", "127.0.0.1", 6, {{"ciso", "body", {}, ""}}};
  auto q = registers::ParseListQuery(def, {});
  auto seen_by_staff = nlohmann::json::parse(*svc.List(staff, def, *q));
  ASSERT_EQ(seen_by_staff["total"], 1);
  EXPECT_EQ(seen_by_staff["items"][0]["code"], "A2");
  EXPECT_EQ(nlohmann::json::parse(*svc.List(ciso, def, *q))["total"], 2);
  // One at a time: not found for those without need to know; audited for those with it.
  auto hidden = svc.Get(staff, def, 1);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(svc.Get(ciso, def, 1).ok());
  auto views = audit_->Query({.action = "view_confidential"});
  ASSERT_EQ((*views)["total"], 1);
  EXPECT_EQ((*views)["items"][0]["actor"], "boss");
}

TEST_F(ScopeTest, SeparationOfDutiesOnRoleAssignments) {
  const int64_t bureau = Unit("K", "bureau", 0);
  const int64_t audit_section = Unit("K-1", "section", bureau);
  const int64_t other_bureau = Unit("J", "bureau", 0);
  const int64_t admin_user = User("admin");
  const int64_t auditor = User("auditor", audit_section);
  registers::Actor admin{"admin", "127.0.0.1", admin_user, {{"sysadmin", "body", {}, ""}}};
  // Nobody grants a role to themselves.
  auto self = Assign(admin_user, "ciso", "body", 0, "2026-04-01", "", &admin);
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.error().fields.at(0).message.find("自分自身"), std::string::npos);
  // An auditor cannot audit their own unit (nor the bureau above it).
  auto own = Assign(auditor, "auditor", "bureau", bureau, "2026-04-01", "", &admin);
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().fields.at(0).field, "scope_unit");
  EXPECT_TRUE(Assign(auditor, "auditor", "bureau", other_bureau, "2026-04-01", "", &admin).ok());
}

TEST_F(ScopeTest, AssignmentsTakeEffectOnTheirDates) {
  const int64_t bureau = Unit("J", "bureau", 0);
  const int64_t somu = Unit("J-S", "section", bureau);
  const int64_t a = User("a", somu), b = User("b", somu);
  ASSERT_TRUE(Assign(a, "security_manager", "section", somu, "2025-04-01", "2026-03-31").ok());
  ASSERT_TRUE(Assign(b, "security_manager", "section", somu, "2026-04-01").ok());
  auto before = identity_->Holders("security_manager", somu, "2026-03-31");
  auto after = identity_->Holders("security_manager", somu, "2026-04-01");
  ASSERT_TRUE(before.ok() && after.ok());
  ASSERT_EQ((*before)["items"].size(), 1u);
  EXPECT_EQ((*before)["items"][0]["login"], "a");
  ASSERT_EQ((*after)["items"].size(), 1u);
  EXPECT_EQ((*after)["items"][0]["login"], "b");
  auto bad = Assign(a, "staff", "section", bureau);  // a bureau given as a section
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().fields.at(0).field, "scope_unit");
}

}  // namespace
}  // namespace mamori::auth
