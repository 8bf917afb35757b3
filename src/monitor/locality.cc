#include "monitor/locality.h"

#include <algorithm>
#include <cstdio>

#include "monitor/separation.h"

namespace mamori::monitor {

Locality::Locality(const netsep::Topology& topology) : topology_(topology) {
  std::vector<PrefixMap::Entry> entries;
  internal_.resize(topology.zones.size());
  for (size_t i = 0; i < topology.zones.size(); ++i) {
    const netsep::Zone& zone = topology.zones[i];
    bool catch_all = false;
    for (const netsep::Prefix& network : zone.networks) {
      entries.push_back({network, static_cast<uint32_t>(i)});
      if (network.length == 0) catch_all = true;
    }
    internal_[i] = !zone.networks.empty() && !catch_all;
    if (catch_all && catch_all_ < 0) catch_all_ = static_cast<int>(i);
    if (zone.name == kMyNumberZone) my_number_ = static_cast<int>(i);
  }
  zones_ = PrefixMap::Build(std::move(entries));
}

uint32_t FileNames::Intern(std::string_view name) {
  // Inputs are read one after another: the last name is almost always the one.
  if (!names_.empty() && names_[last_] == name) return last_;
  auto [it, added] = index_.try_emplace(std::string(name), static_cast<uint32_t>(names_.size()));
  if (added) names_.emplace_back(name);
  return last_ = it->second;
}

LogLocation LogLocation::Of(const Event& event, FileNames& files) {
  LogLocation out;
  out.file = files.Intern(event.file);
  out.line = event.line;
  const size_t n = std::min(event.uid.size(), kMaxUid);
  std::copy_n(event.uid.data(), n, out.uid);
  out.uid_size = static_cast<uint8_t>(n);
  return out;
}

std::string_view FormatIpv4To(uint32_t address, char* buffer) {
  const int n = std::snprintf(buffer, 16, "%u.%u.%u.%u", address >> 24, (address >> 16) & 0xFF,
                              (address >> 8) & 0xFF, address & 0xFF);
  return {buffer, static_cast<size_t>(n)};
}

}  // namespace mamori::monitor
