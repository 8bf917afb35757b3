#include "policy/duties.h"

#include <algorithm>
#include <string>

namespace mamori::policy {

Status CheckNotOwnRequest(int64_t approver_user_id, int64_t requester_user_id,
                          std::string_view what_ja) {
  if (approver_user_id != 0 && approver_user_id == requester_user_id) {
    return Error::Denied(
        "自分が申請した" + std::string(what_ja) + "を自分で承認することはできません(兼務の禁止)。",
        "nobody approves their own request");
  }
  return {};
}

Status CheckNotSelfGrant(int64_t granter_user_id, int64_t grantee_user_id) {
  if (granter_user_id != 0 && granter_user_id == grantee_user_id) {
    return Error::Denied("自分自身に役割を割り当てることはできません(兼務の禁止)。",
                         "nobody grants a role to themselves");
  }
  return {};
}

Status CheckAuditorIndependent(const std::vector<int64_t>& auditor_units, int64_t audited_unit) {
  if (std::find(auditor_units.begin(), auditor_units.end(), audited_unit) != auditor_units.end()) {
    return Error::Denied("監査担当者は自分の所属する組織を監査できません(兼務の禁止)。",
                         "an auditor cannot audit their own unit");
  }
  return {};
}

}  // namespace mamori::policy
