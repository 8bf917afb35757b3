// The shipped catalogs the register definitions are built from, shared read-only.
#pragma once

#include <memory>

#include "policy/catalog.h"
#include "policy/classification.h"
#include "policy/risk.h"

namespace mamori::registers {

struct Catalogs {
  std::shared_ptr<const policy::Classification> classification;  // classification.toml
  std::shared_ptr<const policy::Catalog> controls;               // policy.toml, controls.toml
  std::shared_ptr<const policy::ThreatCatalog> threats;          // threats.toml
  std::shared_ptr<const policy::RiskMatrices> matrices;          // risk-matrix.toml
};

}  // namespace mamori::registers
