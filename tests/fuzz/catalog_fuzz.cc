// libFuzzer harness for the shipped catalogs' parsers (TOML). Input: policy.toml text, a NUL
// byte, controls.toml text; the whole input is also read as a classification.toml and as a
// custom-fields.toml, a threats.toml and a risk-matrix.toml.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/catalog.h"
#include "policy/classification.h"
#include "policy/custom_fields.h"
#include "policy/risk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string_view policy = in.substr(0, nul);
  const std::string_view controls =
      nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  auto c = mamori::policy::ParseCatalog(policy, "policy.toml", controls, "controls.toml");
  if (c.ok()) {
    for (const auto& s : c->sections) (void)c->ControlsFor(s.id);
  }
  auto k = mamori::policy::ParseClassification(in, "classification.toml");
  if (k.ok()) {
    for (const auto& s : k->schemes) {
      for (auto axis : mamori::policy::kAxes) {
        for (const auto& l : s.levels(axis)) (void)s.Rank(axis, l.value);
      }
    }
  }
  (void)mamori::policy::ParseCustomFields(in, "custom-fields.toml");
  auto t = mamori::policy::ParseThreats(in, "threats.toml");
  if (t.ok()) {
    for (const auto& p : t->proposals) (void)p.Matches({"system", "inet", {0, 0, 0}});
  }
  auto m = mamori::policy::ParseRiskMatrices(in, "risk-matrix.toml");
  if (m.ok()) {
    for (const auto& x : m->matrices) {
      for (int s = 0; s <= x.size() * x.size() + 1; ++s) (void)x.LevelOf(s);
      for (int r = -1; r < 5; ++r) (void)x.ImpactForRank(r, 3);
    }
  }
  return 0;
}
