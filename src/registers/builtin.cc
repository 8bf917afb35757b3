#include "registers/org_units.h"
#include "registers/registry.h"

namespace mamori::registers {

std::vector<RegisterDef> BuiltinRegisters(std::vector<EnumOption> roles) {
  return {OrgUnitsRegister(), UsersRegister(), RoleAssignmentsRegister(std::move(roles))};
}

}  // namespace mamori::registers
