// Definitions of the shipped registers, one function per register.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "registers/definition.h"

namespace mamori::registers {

// A field with its name and type; the definitions fill in the rest.
FieldDef MakeField(std::string name, FieldType type);

// The text of `field` in a record (API JSON); "" when absent or not text. For rules.
std::string TextOf(const nlohmann::json& rec, const char* field);

// Appends a rule's error naming `field` (its Japanese `label`). For rules.
void AddError(std::vector<FieldError>& errors, const char* field, const char* label, std::string ja,
              std::string en);

// The user ids holding `role` with a section scope on organization unit `unit` on `date`
// ("YYYY-MM-DD"), from the active role assignments, in assignment order. For rules.
std::vector<int64_t> SectionRoleHolders(RuleContext& ctx, const std::string& role,
                                        const nlohmann::json& unit, const std::string& date);

// 組織: bureaus (the bodies of §4(1)), sections and groups.
RegisterDef OrgUnitsRegister();
// 利用者: people who use Mamori (職員, 会計年度任用職員, 委託事業者).
RegisterDef UsersRegister();
// 役割の割当: who holds which role of §6(1), over which scope, from when to when. `roles`
// are the role keys and labels of the permission table (catalog/permissions.toml).
RegisterDef RoleAssignmentsRegister(std::vector<EnumOption> roles);

}  // namespace mamori::registers
