// libFuzzer harness for the policy catalog parser (TOML). Input: policy.toml text, a NUL
// byte, controls.toml text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/catalog.h"

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
  return 0;
}
