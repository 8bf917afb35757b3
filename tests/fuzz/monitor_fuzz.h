// Shared by the log-parser fuzzers: the input runs through the whole monitor pipeline (line
// splitting, the parser, the separation, blocklist, scan, exfiltration and dns_tunnel detectors
// (the windowed ones with tiny thresholds so they fire on small inputs), aggregation with a short
// window and the JSON rendering of every alert) with the format forced, so every byte reaches
// the parser under test. Crashes, sanitizer reports and exceptions are the findings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/blocklist.h"
#include "monitor/dns_tunnel.h"
#include "monitor/exfiltration.h"
#include "monitor/monitor.h"
#include "monitor/scan.h"
#include "monitor/separation.h"

namespace mamori::fuzz {

class JsonSink final : public monitor::AlertOutput {
 public:
  void Write(const monitor::Alert& alert) override { (void)monitor::AlertToJson(alert); }
};

inline void RunMonitor(const uint8_t* data, size_t size, monitor::InputFormat format) {
  static const netsep::Topology* topology = [] {
    auto parsed = netsep::ParseTopology(R"(
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
[[allow]]
from = "mynumber"
to = "lgwan"
proto = "tcp"
dst_ports = [443]
reason = "r"
)",
                                        "topology.toml");
    if (!parsed.ok()) __builtin_trap();
    return new netsep::Topology(std::move(parsed).value());
  }();
  static const monitor::Blocklist* blocklist = [] {
    const std::vector<monitor::BlocklistFile> files = {
        {"bl.txt", "evil.example\n203.0.113.0/24\n10.20.0.0/16\n"}};
    auto loaded = monitor::Blocklist::Load(files);
    if (!loaded.ok()) __builtin_trap();
    return new monitor::Blocklist(std::move(loaded).value());
  }();
  monitor::MonitorOptions options;
  options.format = format;
  options.window_us = 60 * 1000000;
  options.parser.syslog = {2024, 540};
  std::vector<std::unique_ptr<monitor::Detector>> detectors;
  detectors.push_back(monitor::MakeSeparationDetector(*topology));
  detectors.push_back(monitor::MakeBlocklistDetector(*blocklist));
  static const monitor::PublicSuffixList* psl = [] {
    auto loaded = monitor::PublicSuffixList::Load();
    if (!loaded.ok()) __builtin_trap();
    return std::move(loaded).value().release();
  }();
  monitor::ScanOptions scan;
  scan.remote_threshold = 3;
  scan.local_threshold = 4;
  scan.knock_threshold = 2;
  scan.drop_threshold = 3;
  scan.max_sources = 64;
  detectors.push_back(monitor::MakeScanDetector(*topology, scan));
  monitor::ExfiltrationOptions exfiltration;
  exfiltration.window_us = 60 * 1000000;
  exfiltration.limit_bytes = 1000;
  exfiltration.history_windows = 3;
  exfiltration.min_history = 1;
  exfiltration.min_bytes = 1;
  exfiltration.max_hosts = 64;
  detectors.push_back(monitor::MakeExfiltrationDetector(*topology, exfiltration));
  monitor::DnsTunnelOptions dns;
  dns.threshold = 2;
  dns.long_length = 8;
  dns.entropy_min_length = 4;
  dns.entropy_bits = 1.5;
  dns.max_pairs = 64;
  detectors.push_back(monitor::MakeDnsTunnelDetector(*topology, *psl, dns));
  JsonSink sink;
  monitor::Monitor run(options, std::move(detectors), sink);
  monitor::StringSource source(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!run.Process(source, "fuzz.log").ok()) __builtin_trap();  // the format is forced
  run.Finish();
  (void)monitor::SummaryToText(run.summary(), 1.0);
}

}  // namespace mamori::fuzz
