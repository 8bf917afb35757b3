// Shared by the firewall-parser fuzzers: a parsed ruleset is checked against a fixed two-zone
// topology (small BDD node limit, so a blow-up shows as kTooLarge rather than a timeout) and
// rendered in every report format.
#pragma once

#include <string>
#include <string_view>

#include "netsep/engine.h"
#include "netsep/report.h"
#include "netsep/topology.h"

namespace mamori::fuzz {

// `interfaces`: the TOML inline table mapping the device's interface names to the two zones.
inline void CheckRuleset(const Result<netsep::Ruleset>& ruleset, std::string_view format,
                         std::string_view config,
                         std::string_view interfaces = R"({ eth0 = "outside", eth1 = "inside" })") {
  if (!ruleset.ok()) return;
  const std::string topology_text = std::string(R"(
[zones.inside]
networks = ["10.0.0.0/8"]
[zones.outside]
networks = ["0.0.0.0/0"]
[devices.fw]
format = ")") + std::string(format) +
                                    "\"\nconfig = \"" + std::string(config) + R"("
interfaces = )" + std::string(interfaces) +
                                    R"(
[[allow]]
from = "inside"
to = "outside"
proto = "tcp"
dst_ports = [443]
reason = "web"
)";
  const auto topology = netsep::ParseTopology(topology_text, "topology.toml");
  if (!topology.ok()) __builtin_trap();
  netsep::SpaceOptions options;
  options.initial_nodes = 1 << 14;
  options.max_nodes = 1 << 20;
  options.cache_size = 1 << 12;
  auto report = netsep::Check(*topology, {*ruleset}, options);
  if (!report.ok()) return;
  (void)netsep::ReportToJson(*report);
  (void)netsep::ReportToText(*report);
  (void)netsep::ReportToHtml(*report, *topology);
}

}  // namespace mamori::fuzz
