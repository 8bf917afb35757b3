#include "registers/assets.h"
#include "registers/org_units.h"
#include "registers/registry.h"

namespace mamori::registers {

Result<std::vector<RegisterDef>> BuiltinRegisters(
    std::vector<EnumOption> roles, std::shared_ptr<const policy::Classification> classification) {
  std::vector<RegisterDef> defs = {OrgUnitsRegister(), UsersRegister(),
                                   RoleAssignmentsRegister(std::move(roles)),
                                   AssetsRegister(classification)};
  MAMORI_TRY(CheckAssetRules(*classification, defs.back()));
  return defs;
}

}  // namespace mamori::registers
