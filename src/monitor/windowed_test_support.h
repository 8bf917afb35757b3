// Test support shared by the windowed detectors' unit tests (scan, exfiltration, dns_tunnel):
// one topology with an internal My Number zone, an internal LGWAN zone and the internet, and
// the lookup of a finding's metric by name.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/alert.h"
#include "netsep/topology.h"

namespace mamori::monitor::testing {

inline constexpr const char* kThreeZoneTopology = R"(
[zones.mynumber]
networks = ["10.10.0.0/16"]
[zones.lgwan]
networks = ["10.20.0.0/16"]
[zones.internet]
networks = ["0.0.0.0/0"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { a = "mynumber", b = "lgwan", c = "internet" }
)";

// kThreeZoneTopology parsed (a test failure if it does not parse).
inline netsep::Topology ThreeZoneTopology() {
  auto parsed = netsep::ParseTopology(kThreeZoneTopology, "topology.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message_en;
  return parsed.ok() ? std::move(parsed).value() : netsep::Topology{};
}

// The value of metric `name`, -1 when the finding has none.
inline double MetricValue(const std::vector<Metric>& metrics, const char* name) {
  for (const auto& m : metrics) {
    if (std::string(m.name) == name) return m.value;
  }
  return -1;
}

}  // namespace mamori::monitor::testing
