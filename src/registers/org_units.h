// Definitions of the shipped registers, one function per register.
#pragma once

#include "registers/definition.h"

namespace mamori::registers {

RegisterDef OrgUnitsRegister();

}  // namespace mamori::registers
