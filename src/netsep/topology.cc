#include "netsep/topology.h"

#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "common/text.h"

namespace mamori::netsep {
namespace {

std::string Quote(std::string_view s) { return Cat("\"", s, "\""); }

uint32_t LineOf(const toml::node& node) { return node.source().begin.line; }

constexpr size_t kMaxZones = 256;
constexpr size_t kMaxDevices = 256;
constexpr size_t kMaxAllows = 10000;
constexpr size_t kMaxListItems = 4096;

bool IsName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool IsInterfaceName(std::string_view s) {
  // Linux allows up to 15 bytes; vendors use longer names ("GigabitEthernet0/1", "port1").
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return c > ' ' && c < 127 && c != '+' && c != '"' && c != '\\';
  });
}

// Resolves `path` against the directory of `file` (unless absolute).
std::string Resolve(std::string_view file, std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  const size_t slash = file.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return Cat(file.substr(0, slash + 1), path);
}

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(file_, ":", std::to_string(line), ": ");
    return Error::Invalid(Cat(where, ja), Cat(where, en));
  }

  Status OnlyKeys(const toml::table& table, std::string_view what,
                  std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        return Fail(key.source().begin.line,
                    Cat(what, " に不明なキー ", Quote(key.str()), " があります。"),
                    Cat("unknown key ", Quote(key.str()), " in ", what, "."));
      }
    }
    return {};
  }

  Result<std::string> String(const toml::table& table, std::string_view what, std::string_view key,
                             bool required) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (!required) return std::string();
      return Fail(LineOf(table), Cat(what, " に ", key, " がありません。"),
                  Cat(what, " has no ", key, "."));
    }
    if (!node->is_string() || (required && node->as_string()->get().empty())) {
      return Fail(LineOf(*node), Cat(what, " の ", key, " は空でない文字列で書いてください。"),
                  Cat(key, " of ", what, " must be a non-empty string."));
    }
    return node->as_string()->get();
  }

  // A string or an array of strings, each with its line.
  Result<std::vector<std::pair<std::string, uint32_t>>> Strings(const toml::node& node,
                                                                std::string_view what,
                                                                std::string_view key) const {
    std::vector<std::pair<std::string, uint32_t>> out;
    if (const auto* s = node.as_string()) {
      out.emplace_back(s->get(), LineOf(node));
      return out;
    }
    const toml::array* array = node.as_array();
    if (array != nullptr && array->size() <= kMaxListItems) {
      for (const toml::node& element : *array) {
        if (!element.is_string()) {
          array = nullptr;
          break;
        }
        out.emplace_back(element.as_string()->get(), LineOf(element));
      }
    }
    if (array == nullptr) {
      return Fail(LineOf(node), Cat(what, " の ", key, " は文字列の配列で書いてください。"),
                  Cat(key, " of ", what, " must be an array of strings."));
    }
    return out;
  }

  Result<std::vector<Prefix>> Prefixes(const toml::table& table, std::string_view what,
                                       std::string_view key, bool required) const {
    std::vector<Prefix> out;
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (!required) return out;
      return Fail(LineOf(table), Cat(what, " に ", key, " がありません。"),
                  Cat(what, " has no ", key, "."));
    }
    MAMORI_ASSIGN_OR_RETURN(auto strings, Strings(*node, what, key));
    if (required && strings.empty()) {
      return Fail(LineOf(*node), Cat(what, " の ", key, " が空です。"),
                  Cat(key, " of ", what, " is empty."));
    }
    for (const auto& [text, line] : strings) {
      std::optional<Prefix> prefix = ParsePrefix(text, HostBits::kReject);
      if (!prefix) {
        return Fail(line,
                    Cat(what, " の ", key, " ", Quote(text),
                        " は IPv4 のアドレスかネットワーク（例: 10.1.0.0/16）ではありません。"),
                    Cat(key, " of ", what, ": ", Quote(text),
                        " is not an IPv4 address or network such as 10.1.0.0/16 (host bits must "
                        "be zero)."));
      }
      out.push_back(*prefix);
    }
    return out;
  }

 private:
  std::string_view file_;
};

Result<toml::table> ParseToml(std::string_view text, std::string_view file) {
  if (text.size() > kMaxTopologyBytes) {
    return Error::TooLarge(
        Cat(file, ": ファイルが大きすぎます（上限 ", std::to_string(kMaxTopologyBytes),
            " バイト）。"),
        Cat(file, ": file is too large (limit ", std::to_string(kMaxTopologyBytes), " bytes)."));
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const std::string where = Cat(file, ":", std::to_string(e.source().begin.line), ": ");
    return Error::Invalid(Cat(where, "TOML の構文エラーです: ", e.description()),
                          Cat(where, "TOML syntax error: ", e.description()));
  }
}

// The sub-tables of `key` ([key.NAME]) sorted by line, as (name, table).
Result<std::vector<std::pair<std::string, const toml::table*>>> NamedTables(const Reader& r,
                                                                            const toml::table& root,
                                                                            std::string_view key,
                                                                            size_t limit) {
  std::vector<std::pair<std::string, const toml::table*>> out;
  const toml::node* node = root.get(key);
  if (node == nullptr) return out;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    return r.Fail(LineOf(*node), Cat(key, " は [", key, ".名前] の表で書いてください。"),
                  Cat(key, " must be tables [", key, ".NAME]."));
  }
  for (const auto& [name, child] : *table) {
    if (!child.is_table()) {
      return r.Fail(LineOf(child), Cat(key, ".", name.str(), " は表で書いてください。"),
                    Cat(key, ".", name.str(), " must be a table."));
    }
    if (!IsName(name.str())) {
      return r.Fail(name.source().begin.line,
                    Cat("名前 ", Quote(name.str()), " には英数字と _ - . だけを使ってください。"),
                    Cat("name ", Quote(name.str()), " may contain only letters, digits, _ - .;"));
    }
    out.emplace_back(std::string(name.str()), child.as_table());
  }
  if (out.size() > limit) {
    return r.Fail(LineOf(*node), Cat(key, " が多すぎます。"), Cat("too many ", key, "."));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return LineOf(*a.second) < LineOf(*b.second);
  });
  return out;
}

Result<Zone> ReadZone(const Reader& r, const std::string& name, const toml::table& table) {
  const std::string what = Cat("zones.", name);
  MAMORI_TRY(r.OnlyKeys(table, what, {"networks", "description"}));
  Zone zone;
  zone.name = name;
  zone.line = LineOf(table);
  MAMORI_ASSIGN_OR_RETURN(zone.description, r.String(table, what, "description", false));
  MAMORI_ASSIGN_OR_RETURN(zone.networks, r.Prefixes(table, what, "networks", true));
  return zone;
}

Result<DeviceFormat> ReadFormat(const Reader& r, std::string_view what, const toml::table& table,
                                std::string_view text) {
  if (text == "iptables-save") return DeviceFormat::kIptablesSave;
  if (text == "nft-json") return DeviceFormat::kNftJson;
  if (text == "cisco-asa") return DeviceFormat::kCiscoAsa;
  if (text == "fortigate") return DeviceFormat::kFortigate;
  return r.Fail(LineOf(*table.get("format")),
                Cat(what, " の format ", Quote(text),
                    " は iptables-save, nft-json, cisco-asa, fortigate のいずれかにしてください。"),
                Cat("format ", Quote(text), " of ", what,
                    " must be one of iptables-save, nft-json, cisco-asa, fortigate."));
}

Result<Device> ReadDevice(const Reader& r, const Topology& topology, const std::string& name,
                          const toml::table& table) {
  const std::string what = Cat("devices.", name);
  MAMORI_TRY(r.OnlyKeys(table, what, {"format", "config", "ipset", "interfaces", "description"}));
  Device device;
  device.name = name;
  device.line = LineOf(table);
  MAMORI_ASSIGN_OR_RETURN(std::string format, r.String(table, what, "format", true));
  MAMORI_ASSIGN_OR_RETURN(device.format, ReadFormat(r, what, table, format));
  MAMORI_ASSIGN_OR_RETURN(std::string config, r.String(table, what, "config", true));
  device.config = Resolve(topology.file, config);
  MAMORI_ASSIGN_OR_RETURN(std::string ipset, r.String(table, what, "ipset", false));
  if (!ipset.empty()) {
    // Only iptables rules match ipset sets (nftables has its own sets); an ipset file on another
    // format would be read for nothing, which the author cannot have meant.
    if (device.format != DeviceFormat::kIptablesSave) {
      return r.Fail(LineOf(*table.get("ipset")),
                    Cat(what, " の ipset は format = \"iptables-save\" の機器にだけ書けます。"),
                    Cat("ipset of ", what, " applies to format \"iptables-save\" only."));
    }
    device.ipset = Resolve(topology.file, ipset);
  }
  MAMORI_ASSIGN_OR_RETURN(std::string description, r.String(table, what, "description", false));
  const toml::node* node = table.get("interfaces");
  if (node == nullptr || !node->is_table() || node->as_table()->empty()) {
    return r.Fail(
        node != nullptr ? LineOf(*node) : device.line,
        Cat(what, " の interfaces は { インターフェース名 = \"区域\" } で書いてください。"),
        Cat("interfaces of ", what, " must be a table { interface = \"zone\" }."));
  }
  for (const auto& [iface, zone_node] : *node->as_table()) {
    const uint32_t line = iface.source().begin.line;
    if (!IsInterfaceName(iface.str())) {
      return r.Fail(line, Cat(what, " のインターフェース名 ", Quote(iface.str()), " が不正です。"),
                    Cat("invalid interface name ", Quote(iface.str()), " in ", what, "."));
    }
    const auto* zone = zone_node.as_string();
    if (zone == nullptr || topology.FindZone(zone->get()) == nullptr) {
      const std::string shown =
          zone != nullptr ? Quote(zone->get()) : std::string("(not a string)");
      return r.Fail(LineOf(zone_node),
                    Cat(what, " のインターフェース ", iface.str(), " の区域 ", shown,
                        " は [zones] にありません。"),
                    Cat("interface ", iface.str(), " of ", what, ": zone ", shown,
                        " is not defined in [zones]."));
    }
    device.interfaces.emplace(std::string(iface.str()), zone->get());
  }
  return device;
}

Result<std::vector<ValueTerm>> ReadPorts(const Reader& r, const toml::node& node) {
  std::vector<ValueTerm> out;
  const toml::array* array = node.as_array();
  const Error bad =
      r.Fail(LineOf(node),
             "allow の dst_ports は 1〜65535 のポート番号か \"開始-終了\" の配列で書いてください。",
             "dst_ports of an allow entry must be an array of ports 1-65535 or "
             "\"first-last\" ranges.");
  if (array == nullptr || array->empty() || array->size() > kMaxListItems) return bad;
  for (const toml::node& element : *array) {
    int64_t lo = 0;
    int64_t hi = 0;
    if (const auto* i = element.as_integer()) {
      lo = hi = i->get();
    } else if (const auto* s = element.as_string()) {
      const std::string& text = s->get();
      const size_t dash = text.find('-');
      const auto number = [](std::string_view t) -> int64_t {
        if (t.empty() || t.size() > 5) return -1;
        int64_t v = 0;
        for (char c : t) {
          if (c < '0' || c > '9') return -1;
          v = v * 10 + (c - '0');
        }
        return v;
      };
      lo = number(std::string_view(text).substr(0, dash));
      hi = dash == std::string::npos ? lo : number(std::string_view(text).substr(dash + 1));
    } else {
      return bad;
    }
    if (lo < 1 || hi > 65535 || lo > hi) {
      return r.Fail(LineOf(element), "allow の dst_ports の値が 1〜65535 の範囲にありません。",
                    "a port of dst_ports is outside 1-65535 (or the range is reversed).");
    }
    out.push_back(ValueTerm::Range(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)));
  }
  return out;
}

Result<Allow> ReadAllow(const Reader& r, const Topology& topology, const toml::table& table) {
  const std::string what = "[[allow]]";
  MAMORI_TRY(r.OnlyKeys(table, what, {"from", "to", "proto", "src", "dst", "dst_ports", "reason"}));
  Allow allow;
  allow.line = LineOf(table);
  for (auto [key, field] : {std::pair{"from", &allow.from}, std::pair{"to", &allow.to}}) {
    MAMORI_ASSIGN_OR_RETURN(*field, r.String(table, what, key, true));
    if (topology.FindZone(*field) == nullptr) {
      return r.Fail(
          LineOf(*table.get(key)),
          Cat("allow の ", key, " の区域 ", Quote(*field), " は [zones] にありません。"),
          Cat(key, " of an allow entry: zone ", Quote(*field), " is not defined in [zones]."));
    }
  }
  if (allow.from == allow.to) {
    return r.Fail(allow.line, "allow の from と to が同じ区域です。",
                  "from and to of an allow entry are the same zone.");
  }
  MAMORI_ASSIGN_OR_RETURN(std::string proto, r.String(table, what, "proto", false));
  if (proto.empty() || proto == "any") {
    allow.protocol = AllowProtocol::kAny;
  } else if (proto == "tcp") {
    allow.protocol = AllowProtocol::kTcp;
  } else if (proto == "udp") {
    allow.protocol = AllowProtocol::kUdp;
  } else if (proto == "icmp") {
    allow.protocol = AllowProtocol::kIcmp;
  } else {
    return r.Fail(
        LineOf(*table.get("proto")),
        Cat("allow の proto ", Quote(proto), " は tcp, udp, icmp, any のいずれかにしてください。"),
        Cat("proto ", Quote(proto), " of an allow entry must be tcp, udp, icmp or any."));
  }
  MAMORI_ASSIGN_OR_RETURN(allow.src, r.Prefixes(table, what, "src", false));
  MAMORI_ASSIGN_OR_RETURN(allow.dst, r.Prefixes(table, what, "dst", false));
  if (const toml::node* ports = table.get("dst_ports")) {
    if (allow.protocol != AllowProtocol::kTcp && allow.protocol != AllowProtocol::kUdp) {
      return r.Fail(LineOf(*ports), "dst_ports は proto が tcp か udp のときだけ書けます。",
                    "dst_ports needs proto tcp or udp.");
    }
    MAMORI_ASSIGN_OR_RETURN(allow.dst_ports, ReadPorts(r, *ports));
  }
  MAMORI_ASSIGN_OR_RETURN(allow.reason, r.String(table, what, "reason", true));
  return allow;
}

}  // namespace

const char* DeviceFormatName(DeviceFormat format) {
  switch (format) {
    case DeviceFormat::kIptablesSave:
      return "iptables-save";
    case DeviceFormat::kNftJson:
      return "nft-json";
    case DeviceFormat::kCiscoAsa:
      return "cisco-asa";
    case DeviceFormat::kFortigate:
      return "fortigate";
  }
  return "?";
}

const Zone* Topology::FindZone(std::string_view name) const {
  for (const Zone& zone : zones) {
    if (zone.name == name) return &zone;
  }
  return nullptr;
}

const Zone* Topology::ZoneOf(uint32_t address) const {
  const Zone* best = nullptr;
  int best_length = -1;
  for (const Zone& zone : zones) {
    for (const Prefix& network : zone.networks) {
      if (network.Contains(address) && network.length > best_length) {
        best = &zone;
        best_length = network.length;
      }
    }
  }
  return best;
}

Result<Topology> ParseTopology(std::string_view text, std::string_view file) {
  MAMORI_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, file));
  const Reader r(file);
  Topology topology;
  topology.file = std::string(file);
  MAMORI_TRY(r.OnlyKeys(root, "ファイルの最上位 (top level)", {"zones", "devices", "allow"}));

  MAMORI_ASSIGN_OR_RETURN(auto zones, NamedTables(r, root, "zones", kMaxZones));
  if (zones.size() < 2) {
    return r.Fail(1, "[zones] に区域を 2 つ以上書いてください。",
                  "[zones] must define at least two zones.");
  }
  std::map<std::pair<uint32_t, int>, std::string> seen;  // network → zone
  for (const auto& [name, table] : zones) {
    MAMORI_ASSIGN_OR_RETURN(Zone zone, ReadZone(r, name, *table));
    for (const Prefix& network : zone.networks) {
      auto [it, fresh] = seen.emplace(std::pair{network.address, network.length}, zone.name);
      if (!fresh) {
        const uint32_t line = LineOf(*table->get("networks"));
        return r.Fail(line,
                      Cat("ネットワーク ", FormatPrefix(network), " が区域 ", it->second, " と ",
                          zone.name, " の両方にあります。"),
                      Cat("network ", FormatPrefix(network), " is listed twice (zones ", it->second,
                          " and ", zone.name, ")."));
      }
    }
    topology.zones.push_back(std::move(zone));
  }

  MAMORI_ASSIGN_OR_RETURN(auto devices, NamedTables(r, root, "devices", kMaxDevices));
  if (devices.empty()) {
    return r.Fail(1, "[devices] に機器を 1 つ以上書いてください。",
                  "[devices] must define at least one device.");
  }
  for (const auto& [name, table] : devices) {
    MAMORI_ASSIGN_OR_RETURN(Device device, ReadDevice(r, topology, name, *table));
    topology.devices.push_back(std::move(device));
  }

  if (const toml::node* node = root.get("allow")) {
    const toml::array* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables() || array->size() > kMaxAllows) {
      return r.Fail(LineOf(*node), "allow は [[allow]] の表で書いてください。",
                    "allow must be an array of tables ([[allow]]).");
    }
    for (const toml::node& element : *array) {
      MAMORI_ASSIGN_OR_RETURN(Allow allow, ReadAllow(r, topology, *element.as_table()));
      topology.allows.push_back(std::move(allow));
    }
  }
  return topology;
}

}  // namespace mamori::netsep
