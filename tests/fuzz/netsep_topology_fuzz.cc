// libFuzzer harness for the netcheck topology parser (TOML). Input: topology.toml text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = mamori::netsep::ParseTopology(in, "net/topology.toml");
  if (t.ok()) {
    for (const auto& zone : t->zones) {
      for (const auto& network : zone.networks) (void)t->ZoneOf(network.address);
    }
  }
  return 0;
}
