#include "registers/org_units.h"
#include "registers/registry.h"

namespace mamori::registers {

std::vector<RegisterDef> BuiltinRegisters() { return {OrgUnitsRegister()}; }

}  // namespace mamori::registers
