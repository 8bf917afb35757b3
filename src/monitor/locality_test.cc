#include "monitor/locality.h"

#include <gtest/gtest.h>

#include <random>

namespace mamori::monitor {
namespace {

// Locality answers most addresses from a byte per /16 block: against a linear scan of the
// zones' networks (the most specific wins, of equal ones the first zone's), at every network
// edge and at random, for topologies of /0 to /32 networks (whole, partial and shared blocks,
// nested networks of other zones, more zones than a byte holds).
TEST(Locality, ZoneOfAgreesWithALinearScan) {
  std::mt19937 rng(41);
  for (int round = 0; round < 200; ++round) {
    netsep::Topology topology;
    const size_t zones = round % 10 == 0 ? 140 : 1 + rng() % 6;
    for (size_t z = 0; z < zones; ++z) {
      netsep::Zone& zone = topology.zones.emplace_back();
      zone.name = "z" + std::to_string(z);
      for (uint32_t k = rng() % 4; k > 0; --k) {
        netsep::Prefix p;
        p.length = static_cast<int>(rng() % 33);
        // Crowded: most networks in 10.0.0.0/14, so that they nest and share /16 blocks.
        const uint32_t base = rng() % 8 == 0 ? static_cast<uint32_t>(rng()) : 0x0A000000u;
        p.address = (base | (static_cast<uint32_t>(rng()) & 0x0003FFFFu)) & p.Mask();
        zone.networks.push_back(p);
      }
    }
    const Locality locality(topology);
    auto want = [&](uint32_t address) {
      int found = -1;
      int best = -1;
      for (size_t z = 0; z < topology.zones.size(); ++z) {
        for (const netsep::Prefix& p : topology.zones[z].networks) {
          if (p.Contains(address) && p.length > best) {
            best = p.length;
            found = static_cast<int>(z);
          }
        }
      }
      return found;
    };
    std::vector<uint32_t> probes;
    for (const netsep::Zone& zone : topology.zones) {
      for (const netsep::Prefix& p : zone.networks) {
        for (uint32_t a : {p.address, p.Last(), p.address - 1, p.Last() + 1}) probes.push_back(a);
      }
    }
    for (int i = 0; i < 300; ++i) {
      probes.push_back(static_cast<uint32_t>(rng()));
      probes.push_back(0x0A000000u | (static_cast<uint32_t>(rng()) & 0x0003FFFFu));
    }
    for (uint32_t a : probes) ASSERT_EQ(locality.ZoneOf(a), want(a)) << netsep::FormatIpv4(a);
  }
}

}  // namespace
}  // namespace mamori::monitor
