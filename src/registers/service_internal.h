// What RegisterService's translation units share (service.cc, attachments.cc); not part of
// the register mechanism's interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::registers::internal {

// Record `id` of `d` as API JSON (archived ones too); kNotFound when there is none.
Result<nlohmann::json> LoadRecord(store::Connection& c, const Registry& reg, const RegisterDef& d,
                                  int64_t id);
// Appends one entry to the record's change history.
Status AppendHistory(store::Connection& c, const RegisterDef& d, int64_t id, int64_t version,
                     std::string_view action, const Actor& actor, const std::string& at,
                     const nlohmann::json& changes);
// Whether `rec` is confidential under the definition's need-to-know levels.
bool IsConfidential(const RegisterDef& d, const nlohmann::json& rec);
// The audit target of a record: "evidence/12".
std::string Target(const RegisterDef& d, int64_t id);

}  // namespace mamori::registers::internal
