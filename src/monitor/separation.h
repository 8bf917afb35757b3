// Zone separation (通信経路の分割, 基本方針 §2(10)・§6(3)ア) on observed traffic: a connection
// between two different zones of the netcheck topology that no [[allow]] entry permits is a
// `separation` alert — critical when one side is the My Number zone (the zone whose key is
// "mynumber", the key the classification catalog gives the マイナンバー利用事務系), high
// otherwise. Traffic inside one zone, or with an address in no zone, is not judged.
//
// Judged: connection records (Zeek conn, EVE flow and netflow) and netfilter LOG lines, IPv4
// only; records the firewall or IPS says it stopped (Outcome::kBlocked) are not crossings.
// DNS/HTTP/TLS records repeat their connection and Squid's peer is the proxy's own flow, so
// they are left out.
//
// Allow entries are read as netcheck reads them (docs/netcheck.md): proto, src and dst
// prefixes (empty: the whole zone), dst_ports (tcp/udp). The topology must outlive the
// detectors and ZonePolicy built from it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "monitor/detector.h"
#include "monitor/locality.h"
#include "netsep/topology.h"

namespace mamori::monitor {

inline constexpr std::string_view kMyNumberZone = "mynumber";

class ZonePolicy {
 public:
  explicit ZonePolicy(const netsep::Topology& topology);

  // The index (into topology.zones) of the zone of `address`, -1 when none.
  int ZoneOf(uint32_t address) const { return zones_.ZoneOf(address); }
  const netsep::Zone& zone(int index) const { return topology_.zones[index]; }
  // The first allow entry from zone `from` to zone `to` that permits the event, or nullptr.
  const netsep::Allow* Permit(int from, int to, const Event& event) const;

 private:
  const netsep::Topology& topology_;
  Locality zones_;
  std::vector<std::vector<const netsep::Allow*>> allows_;  // [from * zones + to]
};

std::unique_ptr<Detector> MakeSeparationDetector(const netsep::Topology& topology);

}  // namespace mamori::monitor
