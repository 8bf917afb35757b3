// Registry: the set of register definitions of this installation, checked once at start-up,
// and what derives from all of them together (schema migrations, the metadata the UI reads).
//
// Immutable after Create; thread-safe to share.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "policy/catalog.h"
#include "policy/classification.h"
#include "policy/custom_fields.h"
#include "registers/catalogs.h"
#include "registers/definition.h"
#include "store/store.h"

namespace mamori::registers {

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Create(std::vector<RegisterDef> defs);

  const RegisterDef* ByKey(std::string_view key) const;
  // The register whose path is a prefix of `path` at a segment boundary, with the rest of the
  // path (without the separating '/') in `rest`.
  const RegisterDef* ByPathPrefix(std::string_view path, std::string_view& rest) const;
  const std::vector<RegisterDef>& all() const { return defs_; }

  // Core tables plus, for every register, its table, one migration per field and per index,
  // keyed so that adding a field to a definition later adds exactly one migration.
  std::vector<store::Migration> Migrations() const;

  // The definitions as the UI and API clients read them (GET /api/v1/meta "registers").
  void Describe(nlohmann::json& out) const;

 private:
  explicit Registry(std::vector<RegisterDef> defs) : defs_(std::move(defs)) {}
  std::vector<RegisterDef> defs_;
};

// Whether field `f` of `d` has an index on (archived, f): the unique, filterable, reference
// and default-order fields, and the sortable fields lists show. Lists in the order of such a
// field read the index in order and stop at the page's last row; filters and references use
// it to find records.
bool HasOrderIndex(const RegisterDef& d, const FieldDef& f);

// The registers Mamori ships, in dependency order (a register after those it references).
// `roles` are the roles of the permission table (the role assignment register's options);
// `classification` the shipped classification catalog (the asset register's levels and rules);
// `catalog` the policy catalog (the controls that evidence and exceptions name).
// Errors: kInvalidInput when the catalog's rules do not fit the definitions.
// `custom` are the fields the body added (catalog/custom-fields.toml), appended to their
// registers.
Result<std::vector<RegisterDef>> BuiltinRegisters(
    std::vector<EnumOption> roles, const Catalogs& catalogs,
    const std::vector<policy::CustomField>& custom = {});

}  // namespace mamori::registers
