// libFuzzer harness for the nft -j (libnftables JSON) parser and the engine behind it. Input:
// JSON text; when it parses, it is checked against a fixed two-zone topology (small BDD node
// limit, so a blow-up shows as kTooLarge rather than a timeout).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/engine.h"
#include "netsep/nftables.h"
#include "netsep/report.h"
#include "netsep/topology.h"

namespace {

constexpr std::string_view kTopology = R"(
[zones.inside]
networks = ["10.0.0.0/8"]
[zones.outside]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "nft-json"
config = "fw.json"
interfaces = { eth0 = "outside", eth1 = "inside" }
[[allow]]
from = "inside"
to = "outside"
proto = "tcp"
dst_ports = [443]
reason = "web"
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ruleset = mamori::netsep::ParseNftJson(in, "fw.json", "fw");
  if (!ruleset.ok()) return 0;
  static const auto topology = mamori::netsep::ParseTopology(kTopology, "topology.toml");
  if (!topology.ok()) __builtin_trap();
  mamori::netsep::SpaceOptions options;
  options.initial_nodes = 1 << 14;
  options.max_nodes = 1 << 20;
  options.cache_size = 1 << 12;
  auto report = mamori::netsep::Check(*topology, {*ruleset}, options);
  if (report.ok()) (void)mamori::netsep::ReportToJson(*report);
  return 0;
}
