#include "netsep/topology.h"

#include <gtest/gtest.h>

#include <string>

namespace mamori::netsep {
namespace {

constexpr const char* kGood = R"(# three zones
[zones.mynumber]
description = "マイナンバー利用事務系"
networks = ["10.10.0.0/16"]

[zones.lgwan]
networks = ["10.20.0.0/16", "10.21.0.0/16"]

[zones.internet]
networks = ["0.0.0.0/0"]

[devices.fw1]
format = "iptables-save"
config = "fw1.rules"
interfaces = { eth0 = "internet", eth1 = "mynumber", eth2 = "lgwan" }

[[allow]]
from = "mynumber"
to = "lgwan"
proto = "tcp"
dst = ["10.20.0.5"]
dst_ports = [443, "8000-8010"]
reason = "中間サーバーへの連携"
)";

// The message of a failed parse of `text` (as "net/topology.toml").
std::string ErrorOf(const std::string& text) {
  Result<Topology> t = ParseTopology(text, "net/topology.toml");
  return t.ok() ? std::string("(parsed)") : t.error().message_en;
}

TEST(TopologyTest, ParsesZonesDevicesAndAllows) {
  Result<Topology> t = ParseTopology(kGood, "net/topology.toml");
  ASSERT_TRUE(t.ok()) << t.error().message_en;
  ASSERT_EQ(t->zones.size(), 3u);
  EXPECT_EQ(t->zones[0].name, "mynumber");  // file order, not alphabetical
  EXPECT_EQ(t->zones[2].name, "internet");
  EXPECT_EQ(t->zones[0].description, "マイナンバー利用事務系");
  ASSERT_EQ(t->devices.size(), 1u);
  EXPECT_EQ(t->devices[0].config, "net/fw1.rules");  // relative to the topology file
  EXPECT_EQ(t->devices[0].interfaces.at("eth1"), "mynumber");
  ASSERT_EQ(t->allows.size(), 1u);
  EXPECT_EQ(t->allows[0].protocol, AllowProtocol::kTcp);
  ASSERT_EQ(t->allows[0].dst.size(), 1u);
  EXPECT_EQ(t->allows[0].dst[0], (Prefix{0x0a140005, 32}));
  ASSERT_EQ(t->allows[0].dst_ports.size(), 2u);
  EXPECT_EQ(t->allows[0].dst_ports[1].first, 8000u);
  EXPECT_EQ(t->allows[0].dst_ports[1].second, 8010u);
  EXPECT_EQ(t->allows[0].line, 17u);
}

TEST(TopologyTest, LongestPrefixDecidesTheZone) {
  Result<Topology> t = ParseTopology(kGood, "t.toml");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ZoneOf(0x0a0a0101)->name, "mynumber");
  EXPECT_EQ(t->ZoneOf(0x0a150001)->name, "lgwan");
  EXPECT_EQ(t->ZoneOf(0x08080808)->name, "internet");
}

TEST(TopologyTest, ErrorsNameFileAndLine) {
  std::string text = kGood;
  // Unknown key in a zone (line 3).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("description"), 11, "descriptoin")),
            "net/topology.toml:3: unknown key \"descriptoin\" in zones.mynumber.");
  // Malformed address (line 4).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("10.10.0.0/16"), 12, "10.10.0.300/16")),
            "net/topology.toml:4: networks of zones.mynumber: \"10.10.0.300/16\" is not an IPv4 "
            "address or network such as 10.1.0.0/16 (host bits must be zero).");
  // Host bits set.
  EXPECT_NE(ErrorOf(std::string(text).replace(text.find("10.10.0.0/16"), 12, "10.10.0.1/16"))
                .find("net/topology.toml:4: "),
            std::string::npos);
  // The same network in two zones (line 7).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("10.21.0.0/16"), 12, "10.10.0.0/16")),
            "net/topology.toml:7: network 10.10.0.0/16 is listed twice (zones mynumber and "
            "lgwan).");
  // Unknown zone on an interface (line 15).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("eth2 = \"lgwan\""), 14, "eth2 = \"dmz\"")),
            "net/topology.toml:15: interface eth2 of devices.fw1: zone \"dmz\" is not defined in "
            "[zones].");
  // Unknown zone in an allow entry (line 19).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("to = \"lgwan\""), 12, "to = \"lgwn\"")),
            "net/topology.toml:19: to of an allow entry: zone \"lgwn\" is not defined in [zones].");
  // Unknown device format (line 13).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("iptables-save"), 13, "pf")),
            "net/topology.toml:13: format \"pf\" of devices.fw1 must be one of iptables-save, "
            "nft-json, cisco-asa, fortigate.");
  // Ports out of range, ports without tcp/udp (line 22).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("443,"), 4, "0,")),
            "net/topology.toml:22: a port of dst_ports is outside 1-65535 (or the range is "
            "reversed).");
  EXPECT_EQ(
      ErrorOf(std::string(text).replace(text.find("proto = \"tcp\""), 13, "proto = \"icmp\"")),
      "net/topology.toml:22: dst_ports needs proto tcp or udp.");
  // Unknown key at the top level (line 25) and in an allow entry (line 23).
  EXPECT_EQ(ErrorOf(text + "\n[extra]\n"),
            "net/topology.toml:25: unknown key \"extra\" in "
            "ファイルの最上位 (top level).");
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("reason"), 6, "reasno")),
            "net/topology.toml:23: unknown key \"reasno\" in [[allow]].");
  // TOML syntax error.
  EXPECT_EQ(ErrorOf("[zones.a\n").substr(0, 42), "net/topology.toml:1: TOML syntax error: Er");
  // Missing reason: the line of the [[allow]] table (17).
  EXPECT_EQ(ErrorOf(std::string(text).replace(text.find("reason"), 6, "#reason")),
            "net/topology.toml:17: [[allow]] has no reason.");
}

TEST(TopologyTest, IpsetFilesAreForIptablesSaveOnly) {
  const std::string text = kGood;
  const std::string config = "config = \"fw1.rules\"";
  const std::string with_ipset = std::string(text).replace(text.find(config), config.size(),
                                                           config + "\nipset = \"fw1.ipset\"");
  Result<Topology> t = ParseTopology(with_ipset, "net/topology.toml");
  ASSERT_TRUE(t.ok()) << t.error().message_en;
  EXPECT_EQ(t->devices[0].ipset, "net/fw1.ipset");
  EXPECT_EQ(
      ErrorOf(std::string(with_ipset).replace(with_ipset.find("iptables-save"), 13, "nft-json")),
      "net/topology.toml:15: ipset of devices.fw1 applies to format \"iptables-save\" only.");
}

TEST(TopologyTest, NeedsTwoZonesAndADevice) {
  EXPECT_EQ(ErrorOf("[zones.a]\nnetworks = [\"10.0.0.0/8\"]\n"),
            "net/topology.toml:1: [zones] must define at least two zones.");
  EXPECT_EQ(ErrorOf("[zones.a]\nnetworks = [\"10.0.0.0/8\"]\n[zones.b]\nnetworks = "
                    "[\"0.0.0.0/0\"]\n"),
            "net/topology.toml:1: [devices] must define at least one device.");
}

}  // namespace
}  // namespace mamori::netsep
