// 情報資産 register (§4(2), §6(2)). Its classification fields take their levels from
// catalog/classification.toml: the union of the schemes' levels, each valid only under the
// scheme chosen in the setting "classification_scheme"; the catalog's consistency rules run on
// every change (errors block, warnings are recorded with the change).
#pragma once

#include <memory>

#include "common/result.h"
#include "policy/classification.h"
#include "registers/definition.h"

namespace mamori::registers {

RegisterDef AssetsRegister(std::shared_ptr<const policy::Classification> classification);

// Checks that every consistency rule names asset fields and values that exist. A failure is an
// error in the catalog, reported at start-up.
Status CheckAssetRules(const policy::Classification& classification, const RegisterDef& assets);

}  // namespace mamori::registers
