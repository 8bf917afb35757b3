// Threats and the risk matrix (基本方針 §3, §8), as shipped in catalog/threats.toml and
// catalog/risk-matrix.toml: the five groups of threats of §3 with concrete threats under each
// (the C/I/A each affects), the rules that propose risk scenarios for an asset, and the
// likelihood × impact matrices (level names, risk-level thresholds, who may accept a risk).
//
// Pure domain: parsing takes the TOML text, never a path; errors name "file:line". Results are
// immutable values, safe to share across threads.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/catalog.h"
#include "policy/classification.h"

namespace mamori::policy {

struct ThreatGroup {
  std::string key;      // intentional, unintentional, disaster, staff_shortage, infrastructure
  std::string section;  // "3(1)" … "3(5)"
  Text label;
};

struct Threat {
  std::string code;   // "T-1-01"
  std::string group;  // a ThreatGroup key
  Text name;
  Text description;
  std::vector<Axis> affects;  // non-empty, in axis order
  bool Affects(Axis axis) const;
};

// What Mamori knows of an asset when it proposes scenarios.
struct AssetFacts {
  std::string kind;
  std::string zone;
  // Rank of the asset's level on each axis in the active scheme (0 = highest); -1 unknown.
  std::array<int, 3> rank{-1, -1, -1};
};

// A rule: an asset matching `when` (every condition) and `top_levels` (its level on the axis
// is among the highest N of the scheme) is exposed to `threat`.
struct ScenarioProposal {
  std::string id;  // "P-01"
  std::string threat;
  std::vector<Condition> when;  // fields kind, zone
  std::map<Axis, int> top_levels;
  Text reason;

  bool Matches(const AssetFacts& asset) const;
};

struct ThreatCatalog {
  std::vector<ThreatGroup> groups;  // the five groups of §3, in order
  std::vector<Threat> threats;
  std::vector<ScenarioProposal> proposals;

  const Threat* Find(std::string_view code) const;
  const ThreatGroup* Group(std::string_view key) const;
};

Result<ThreatCatalog> ParseThreats(std::string_view toml, std::string_view name);

// ---------------------------------------------------------------------------------------
// The risk matrix.

struct MatrixLevel {
  std::string value;  // stored value "<N>_<score>", e.g. "5_3"
  int score = 0;      // 1..N
  Text label;
  Text meaning;
};

struct RiskLevel {
  std::string key;  // low, medium, high, very_high
  Text label;
  std::string color;  // "#rrggbb"
  Text meaning;
};

enum class Approver { kSuperior, kCiso };

struct Matrix {
  std::string key;  // "5x5"
  Text label;
  Text description;
  std::vector<MatrixLevel> likelihood;  // lowest first
  std::vector<MatrixLevel> impact;      // lowest first
  // Risk level keys with the lowest score of each, ascending.
  std::vector<std::pair<std::string, int>> thresholds;
  std::map<std::string, Approver> approval;

  int size() const { return static_cast<int>(impact.size()); }
  const MatrixLevel* Likelihood(std::string_view value) const;
  const MatrixLevel* Impact(std::string_view value) const;
  // The risk level key of a score (likelihood score × impact score).
  const std::string& LevelOf(int score) const;
  // Who may accept a risk at `level`.
  Approver ApproverFor(std::string_view level) const;
  // The highest level of this matrix.
  const std::string& TopLevel() const { return thresholds.back().first; }
  // The impact value an asset level of `rank` (0 = highest) among `levels` levels proposes:
  // the highest level gives the highest impact, the lowest the lowest, linearly between.
  const MatrixLevel& ImpactForRank(int rank, int levels) const;
};

struct MatrixMapping {
  std::string from, to;
  std::map<std::string, std::string> likelihood, impact;
};

struct RiskMatrices {
  std::string default_matrix;
  std::vector<RiskLevel> levels;  // lowest first
  std::vector<Matrix> matrices;
  std::vector<MatrixMapping> mappings;

  const Matrix* Find(std::string_view key) const;
  const RiskLevel* Level(std::string_view key) const;
  // 0 for the lowest risk level, larger for higher ones; -1 when unknown.
  int LevelRank(std::string_view key) const;
};

Result<RiskMatrices> ParseRiskMatrices(std::string_view toml, std::string_view name);

}  // namespace mamori::policy
