// 脅威とリスク分析 (基本方針 §3, §8): the threat register (the shipped catalog, extended by the
// body), risk scenarios on a likelihood × impact matrix with treatment and acceptance, the
// scenarios Mamori proposes for each asset, and the yearly assessment rounds.
//
// Registers:
//   脅威 (`threats`)                the five groups of §3; seeded from catalog/threats.toml at
//                                  start-up (only codes not yet present), then the body's own
//   リスク (`risks`)               a threat against one asset or a group (an asset kind, a zone,
//                                  a section's assets); likelihood and impact on the matrix the
//                                  setting `risk_matrix` chooses; impact proposed from the
//                                  assets' C/I/A levels on the axes the threat affects; inherent
//                                  and residual score and level derived on every change;
//                                  treatment (低減, 回避, 移転, 受容) with the controls it relies
//                                  on; acceptance requested by choosing 受容 and decided by a role
//                                  above the owner (the CISO at the matrix's highest level),
//                                  never by the owner
//   リスクの対象資産 (`risk_assets`) further assets a scenario covers
//   提案の見送り (`risk_dismissals`) a proposal the owner dismissed, with the reason
//   リスク評価 (`risk_rounds`)     one per fiscal year; closing it keeps a snapshot of every
//                                  scenario, which the next round's report compares with
//
// RiskService answers what is derived over many records: the open proposals, the heat map,
// the round report. Thread-safety: thread-safe (state is the store and immutable values).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "policy/catalog.h"
#include "policy/classification.h"
#include "policy/risk.h"
#include "registers/access.h"
#include "registers/catalogs.h"
#include "registers/definition.h"
#include "registers/registry.h"
#include "store/store.h"

namespace mamori::registers {

class RegisterService;

// The setting that chooses the matrix, and the roles from the highest down that "above the
// owner" follows (§6(1)).
inline constexpr const char* kRiskMatrixSetting = "risk_matrix";
// The body's names of the risk levels and the matrices' thresholds (RiskService::ChangeLevels):
// JSON {"names": {level: {"ja", "en"}}, "thresholds": {matrix: {level: min_score}}}; unset or
// "": catalog/risk-matrix.toml's.
inline constexpr const char* kRiskLevelsSetting = "risk_levels";
const std::vector<std::string>& RoleHierarchy();

RegisterDef ThreatsRegister(const Catalogs& catalogs);
// `assets` is the asset register's definition (its kinds and zones).
RegisterDef RisksRegister(const Catalogs& catalogs, const RegisterDef& assets);
RegisterDef RiskAssetsRegister();
RegisterDef RiskDismissalsRegister(const Catalogs& catalogs);
RegisterDef RiskRoundsRegister();

class RiskService {
 public:
  RiskService(store::Store& store, RegisterService& service, const Registry& registry,
              const Authorizer& authorizer, Catalogs catalogs, const Clock& clock);

  // Adds the catalog's threats whose codes the register does not hold yet (archived ones
  // count: a threat the body archived stays archived). Returns how many were added.
  Result<int64_t> SeedThreats();

  // Sets the names of the risk levels and the thresholds of the matrices (設定), and in the
  // same transaction derives every active risk's levels again (history "reclassify", one
  // audit entry): body {"names": {level: {"ja", "en"?}}, "thresholds": {matrix: {level:
  // min_score}}}, each part optional (what is left out keeps its present value);
  // {"reset": true} returns to catalog/risk-matrix.toml's. Names: 1–20 characters (English 1–40),
  // no control characters, different from each other; thresholds: the lowest level always starts at
  // 1, the others rise, stay within 2..N×N and each catches at least one score. kInvalidInput
  // naming every wrong member ("names.high.ja", "thresholds.5x5.high"); nothing changes
  // then. The caller checks the permission (resource "settings", update).
  // Returns {"setting", "value", "from", "changed"}.
  Result<nlohmann::json> ChangeLevels(const Actor& actor, const nlohmann::json& body);

  // Derives again the score and level of every active risk whose stored values differ from
  // what the active matrix gives (the thresholds in catalog/risk-matrix.toml were edited):
  // each such risk is updated as actor "system", with its history. Returns how many changed.
  Result<int64_t> RederiveLevels();

  // The matrix in use and the other shipped ones, the risk levels and the mappings:
  // {"active", "default", "levels": [...], "matrices": [{…, "grid": [{"likelihood", "impact",
  // "score", "level"}]}], "mappings": [...]}. The heat map counts come from the generic
  // counts endpoint (by=likelihood,impact and by=residual_likelihood,residual_impact).
  Result<nlohmann::json> Matrix() const;

  // The scenarios Mamori proposes for the active assets the actor may view (one per asset and
  // matching rule), without those a scenario already covers (the asset with the threat) or
  // the owner dismissed: {"items": [{"proposal", "reason": {ja, en}, "asset": {id, no, name,
  // section: {id, label}}, "threat": {id, code, name}, "impact": value}], "total"}.
  // `asset_id` limits it to one asset.
  Result<nlohmann::json> Proposals(const Actor& actor, std::optional<int64_t> asset_id) const;

  // What changed in round `id` since the last closed round before it: {"round", "previous",
  // "counts": {level: [previous, now]}, "added", "removed", "changed": [{"risk", "fields":
  // [{"field", "label", "from", "to"}]}], "unchanged"}. An open round compares the scenarios
  // as they are now.
  Result<nlohmann::json> RoundReport(const Actor& actor, int64_t id) const;
  // The same as an XLSX workbook with Japanese headings.
  Result<std::string> RoundReportXlsx(const Actor& actor, int64_t id) const;

 private:
  // The catalog's matrices with the body's level names and thresholds.
  Result<std::shared_ptr<const policy::RiskMatrices>> Levels() const;

  store::Store& store_;
  RegisterService& service_;
  const Registry& registry_;
  const Authorizer& authorizer_;
  Catalogs catalogs_;
  const Clock& clock_;
};

}  // namespace mamori::registers
