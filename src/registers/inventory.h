// 情報資産の棚卸 (annual inventory, §6(2)): once per fiscal year (April–March) each section's
// 情報セキュリティ管理者 confirms, or first corrects, the section's assets in the asset register.
//
// Two registers carry it: 棚卸 (`inventory_campaigns`, one per fiscal year, with its period and
// due date) and 棚卸の確認 (`inventory_confirmations`, one per campaign and section: who
// confirmed, when, how many assets, whether anything was corrected). Their rules make a
// confirmation the confirming person's own act, inside the campaign, once per section.
// InventoryService answers the progress report: every section with its state (確認済, 未確認,
// 期限超過), totals by bureau, and the overdue list.
//
// Thread-safety: InventoryService is thread-safe (state is the store and immutable values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registers/access.h"
#include "registers/definition.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::registers {

RegisterDef InventoryCampaignsRegister();
RegisterDef InventoryConfirmationsRegister();

// The fiscal year (年度) of a date "YYYY-MM-DD": 2027-03-31 is in 2026, 2027-04-01 in 2027.
int FiscalYearOf(const std::string& date);
// "令和8年度" for 2026, "令和元年度" for 2019; "2018年度" before the Reiwa era.
std::string FiscalYearLabel(int year);

class InventoryService {
 public:
  InventoryService(store::Store& store, const Registry& registry, const Authorizer& authorizer,
                   const Clock& clock);

  // The progress of the campaign of `fiscal_year` (default: the current fiscal year's, else the
  // latest one), over the sections `actor` may see in 棚卸の確認:
  // {"campaign": {...} | null, "campaigns": [{"id", "fiscal_year", "title"}...], "today",
  //  "totals": {"sections", "confirmed", "pending", "overdue", "assets"},
  //  "bureaus": [{"id", "name", "sections", "confirmed", "pending", "overdue", "assets"}],
  //  "sections": [{"id", "code", "name", "bureau", "bureau_name", "managers": [names], "assets",
  //                "changed", "state": "confirmed"|"pending"|"overdue", "can_confirm",
  //                "confirmation": {"id", "result", "confirmed_on", "confirmed_by_name",
  //                                 "asset_count", "comment"} | null}]}.
  // `changed`: the section's active assets changed since the campaign started.
  Result<nlohmann::json> Progress(const Actor& actor, std::optional<int> fiscal_year) const;

 private:
  store::Store& store_;
  const Registry& registry_;
  const Authorizer& authorizer_;
  const Clock& clock_;
};

}  // namespace mamori::registers
