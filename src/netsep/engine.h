// The netcheck engine: which zones can open a NEW connection to which, exactly, and which of
// those paths the topology does not permit (基本方針 §2(10) 通信経路の分割, §6(3)ア).
//
// For every device and every ordered pair of its interfaces facing different zones A and B, the
// engine takes the set of all NEW first packets entering on the interface facing A with a source
// in A (the zone of an address is the one with its longest matching network), runs it through
// the device's base chains in order — destination NAT (nat PREROUTING) before the filter, the
// filter (FORWARD), then source NAT (nat POSTROUTING) — and keeps what leaves on the interface
// facing B towards an address in B (after destination NAT). Routing is not modelled: a packet
// whose destination lies in B is taken to leave on every interface facing B. The whole header
// space (addresses, protocol, ports, ICMP type) is handled exactly with BDDs (space.h). A first
// packet is what the Linux kernel takes for one (tests/kernel checks this against it): a TCP
// SYN, an ICMP request (types 8, 13, 15, 17), anything else; never to or from 0.0.0.0, 127/8
// or 255.255.255.255, nor from a multicast address; and raw chains see it before conntrack,
// with no state yet (INVALID).
//
// [[allow]] entries match the source as sent and the destination as delivered (after DNAT).
// What is reachable and not allowed becomes violations: one per (from, to, path), each with a
// realistic witness packet and a summary of the leaking set.
//
// Check opens a Space (space.h) for its duration: concurrent calls run one after the other.
// Errors: kInvalidInput (a device without its ruleset, a chain loop), kTooLarge (the BDD node
// limit). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "netsep/ruleset.h"
#include "netsep/space.h"
#include "netsep/topology.h"

namespace mamori::netsep {

struct Witness {
  uint32_t src = 0;
  uint32_t dst = 0;  // as sent (before DNAT)
  uint8_t proto = 0;
  uint16_t sport = 0;                // 0 unless tcp or udp
  uint16_t dport = 0;                // as sent
  std::optional<uint8_t> icmp_type;  // icmp only
  // Set when DNAT rewrote the packet: the destination and port as delivered.
  std::optional<uint32_t> translated_dst;
  std::optional<uint16_t> translated_dport;
};

struct PathStep {
  std::string device;
  std::string rule;    // "file:line" of the rule, or of the chain whose policy decided
  std::string action;  // "DNAT", "ACCEPT", "policy ACCEPT"
};

struct Violation {
  std::string from;
  std::string to;
  Witness witness;
  std::vector<PathStep> path;
  std::string packets;  // human summary, e.g. "tcp dport 445,3389 from 10.30.0.0/16 to …"
};

struct MatrixEntry {
  std::string from;
  std::string to;
  bool reachable = false;  // some NEW connection from `from` reaches `to`
  bool allowed = false;    // the topology has [[allow]] entries from `from` to `to`
  bool violation = false;  // some reachable packet is not covered by those entries
};

struct UnknownConstruct {
  std::string device;
  std::string location;  // "file:line"
  std::string construct;
};

struct Shadowed {
  std::string device;
  std::string rule;
  std::string by;
};

struct Report {
  std::vector<std::string> zones;
  std::vector<MatrixEntry> matrix;  // every ordered pair of distinct zones, in zone order
  std::vector<Violation> violations;
  std::vector<UnknownConstruct> unknown;
  std::vector<Shadowed> shadowed;  // not computed yet (always empty)
  bool ok() const { return violations.empty(); }
};

// Reads and parses each device's configuration. `read_file` returns a file's bytes (kNotFound
// or kUnavailable when it cannot) and parses it with the device's format (iptables-save,
// nft-json, cisco-asa, fortigate).
using ReadFileFn = std::function<Result<std::string>(const std::string& path)>;
Result<std::vector<Ruleset>> LoadRulesets(const Topology& topology, const ReadFileFn& read_file);

// `rulesets` must hold one Ruleset per topology device (matched by Ruleset::device).
Result<Report> Check(const Topology& topology, const std::vector<Ruleset>& rulesets,
                     const SpaceOptions& options = {});

}  // namespace mamori::netsep
