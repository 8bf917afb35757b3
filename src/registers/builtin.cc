#include <algorithm>

#include "registers/assets.h"
#include "registers/compliance.h"
#include "registers/documents.h"
#include "registers/inventory.h"
#include "registers/org_units.h"
#include "registers/registry.h"
#include "registers/risks.h"

namespace mamori::registers {

namespace {

FieldType TypeOf(const std::string& type) {
  if (type == "textarea") return FieldType::kTextarea;
  if (type == "integer") return FieldType::kInteger;
  if (type == "boolean") return FieldType::kBoolean;
  if (type == "date") return FieldType::kDate;
  if (type == "enum") return FieldType::kEnum;
  return FieldType::kText;
}

}  // namespace

Result<std::vector<RegisterDef>> BuiltinRegisters(std::vector<EnumOption> roles,
                                                  const Catalogs& catalogs,
                                                  const std::vector<policy::CustomField>& custom) {
  const auto& classification = catalogs.classification;
  const policy::Catalog& catalog = *catalogs.controls;
  std::vector<RegisterDef> defs = {OrgUnitsRegister(), UsersRegister(),
                                   RoleAssignmentsRegister(std::move(roles)),
                                   AssetsRegister(classification)};
  MAMORI_TRY(CheckAssetRules(*classification, defs.back()));
  defs.push_back(InventoryCampaignsRegister());
  defs.push_back(InventoryConfirmationsRegister());
  defs.push_back(EvidenceRegister(catalog));
  defs.push_back(ControlExceptionsRegister(catalog));
  defs.push_back(DocumentsRegister());
  defs.push_back(DocumentVersionsRegister());
  defs.push_back(DocumentDecisionsRegister());
  defs.push_back(AcknowledgementsRegister());
  defs.push_back(AcknowledgementRemindersRegister());
  defs.push_back(ThreatsRegister(catalogs));
  defs.push_back(RisksRegister(catalogs, defs[3]));
  defs.push_back(RiskAssetsRegister());
  defs.push_back(RiskDismissalsRegister(catalogs));
  defs.push_back(RiskRoundsRegister());
  for (const auto& c : custom) {
    auto def = std::find_if(defs.begin(), defs.end(),
                            [&](const RegisterDef& d) { return d.key == c.register_key; });
    if (def == defs.end()) {
      return Error::Invalid(
          "追加項目の台帳がありません: " + c.register_key + "(" + std::to_string(c.line) + " 行目)",
          "custom field for unknown register " + c.register_key);
    }
    // A heading names one field: a custom label may not be a shipped label or heading alias.
    for (const auto& existing : def->fields) {
      const auto& aliases = existing.header_aliases;
      if (existing.label.ja == c.label.ja ||
          std::find(aliases.begin(), aliases.end(), c.label.ja) != aliases.end()) {
        return Error::Invalid("追加項目 " + c.name + " の名称「" + c.label.ja +
                                  "」は既存の項目と同じです(" + std::to_string(c.line) + " 行目)",
                              "custom field " + c.name + " reuses the label of " + existing.name);
      }
    }
    FieldDef f = MakeField(c.name, TypeOf(c.type));
    f.label = {c.label.ja, c.label.en};
    f.help = {c.help.ja, c.help.en};
    f.required = c.required;
    f.searchable = c.searchable;
    f.filterable = c.filterable;
    f.max_length = c.max_length;
    f.list = false;
    for (const auto& o : c.options)
      f.options.push_back({o.value, {o.label.ja, o.label.en}, {}, {}});
    def->fields.push_back(std::move(f));
  }
  return defs;
}

}  // namespace mamori::registers
