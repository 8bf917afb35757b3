// Separation of duties (兼務の禁止, §6(1) and the standards' chapter 1): the one place that
// every workflow calls before it lets someone approve, grant or audit.
//
// Pure functions; thread-safe. Errors are kPermissionDenied with a Japanese message.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mamori::policy {

// Nobody approves their own request (決裁, 例外措置, risk acceptance, …). `what_ja` names the
// thing in the message, e.g. "リスクの受容".
Status CheckNotOwnRequest(int64_t approver_user_id, int64_t requester_user_id,
                          std::string_view what_ja);

// Nobody grants a role to themselves.
Status CheckNotSelfGrant(int64_t granter_user_id, int64_t grantee_user_id);

// An auditor cannot audit their own unit: `auditor_units` is the auditor's own section and
// every unit above it; `audited_unit` is the unit to be audited (a bureau audit covers the
// sections below it, so the auditor's bureau counts too).
Status CheckAuditorIndependent(const std::vector<int64_t>& auditor_units, int64_t audited_unit);

}  // namespace mamori::policy
