// The netcheck topology file (TOML): the network zones (ネットワークの区域, e.g. マイナンバー利用
// 事務系, LGWAN接続系, インターネット接続系), the firewalls between them and the paths the
// policy permits (基本方針 §2(10) 通信経路の分割, §6(3)ア). Format: docs/netcheck.md.
//
// ParseTopology takes the TOML text and the file name used in messages and for resolving each
// device's config path (relative to the topology file's directory); it never reads files.
// Errors are kInvalidInput values whose messages start with "file:line: " (kTooLarge above
// kMaxTopologyBytes). The result is an immutable value, safe to share across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "netsep/ruleset.h"

namespace mamori::netsep {

inline constexpr size_t kMaxTopologyBytes = size_t{1} << 20;

struct Zone {
  std::string name;
  std::string description;
  std::vector<Prefix> networks;
  uint32_t line = 0;
};

enum class DeviceFormat { kIptablesSave, kNftJson, kCiscoAsa, kFortigate };
const char* DeviceFormatName(DeviceFormat format);

struct Device {
  std::string name;
  DeviceFormat format = DeviceFormat::kIptablesSave;
  std::string config;  // path resolved against the topology file's directory
  std::string ipset;  // `ipset save` output, resolved likewise; "" when absent (iptables-save only)
  std::map<std::string, std::string> interfaces;  // interface name → zone name
  uint32_t line = 0;
};

enum class AllowProtocol { kAny, kTcp, kUdp, kIcmp };

// A permitted path (許可された通信経路). Empty src/dst mean the whole zone; empty dst_ports mean
// every port (dst_ports needs tcp or udp).
struct Allow {
  std::string from;
  std::string to;
  AllowProtocol protocol = AllowProtocol::kAny;
  std::vector<Prefix> src;
  std::vector<Prefix> dst;
  std::vector<ValueTerm> dst_ports;
  std::string reason;
  uint32_t line = 0;
};

struct Topology {
  std::string file;
  std::vector<Zone> zones;  // in file order
  std::vector<Device> devices;
  std::vector<Allow> allows;

  const Zone* FindZone(std::string_view name) const;
  // The zone of `address`: the one with the longest matching network, or nullptr.
  const Zone* ZoneOf(uint32_t address) const;
};

Result<Topology> ParseTopology(std::string_view text, std::string_view file);

}  // namespace mamori::netsep
