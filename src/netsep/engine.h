// The netcheck engine: which zones can open a NEW connection to which, exactly, and which of
// those paths the topology does not permit (基本方針 §2(10) 通信経路の分割, §6(3)ア).
//
// For every source zone A the engine takes the set of all NEW first packets with a source in A
// (the zone of an address is the one with its longest matching network) and carries it over the
// zone graph, in which a device joins the zones its interfaces face. A device is crossed from an
// interface facing the zone the packets are in to an interface facing another zone: through its
// base chains in order — destination NAT (nat PREROUTING) before the filter, the filter
// (FORWARD), then source NAT (nat POSTROUTING) — each rewrite applied to the set. What leaves
// towards zone B with a destination in B (after DNAT) has arrived: A reaches B. What leaves with
// a destination further on is in transit in B and is carried on through the devices facing B;
// a path enters each device and each zone at most once, so the fixpoint ends after at most as
// many devices as the topology has. Each path (the devices and rules crossed) is kept apart.
//
// Routing assumption (routes are not read): a device sends a packet out of every interface
// facing the zone of its destination, and out of every interface facing a zone from which that
// zone can be reached through other devices (the next-hop zones). This over-approximates what
// the routing tables allow: a path found may be one the routes never take, but no path the rules
// open is missed. With one device this is "a packet whose destination lies in B leaves on every
// interface facing B". A source NAT on the way changes the source the next device sees: SNAT to
// its address, MASQUERADE to any address of the zone the outgoing interface faces (the
// topology has no interface addresses). Every set keeps the source and destination as sent
// (space.h), so each path's result is exact in what it reports.
//
// The whole header space (addresses, protocol, ports, ICMP type) is handled exactly with BDDs
// (space.h). A first packet is what the Linux kernel takes for one (tests/kernel checks this
// against it): a TCP SYN, an ICMP request (types 8, 13, 15, 17), anything else; never to or from
// 0.0.0.0, 127/8 or 255.255.255.255, nor from a multicast address; and raw chains see it before
// conntrack, with no state yet (INVALID).
//
// [[allow]] entries match the source as sent and the destination as delivered (after DNAT).
// What is reachable and not allowed becomes violations: one per (from, to, path), each with a
// realistic witness packet and a summary of the leaking set. The report also lists the rules no
// packet can ever reach (shadowed, shadow.h) and the accepting and DNAT rules that let through,
// from one zone to another, packets no [[allow]] entry permits (broad: rule-centred, whatever
// later rules or devices then do with those packets).
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
  // "file:line" of the rule, or of the chain whose policy decided; for "no filter rule", the
  // device's configuration file.
  std::string rule;
  // "DNAT", "ACCEPT", "policy ACCEPT", or "no filter rule" (the device forwarded the packets
  // without a rule or policy of its forward filter deciding: an empty chain or none).
  std::string action;
};

struct Violation {
  std::string from;
  std::string to;
  Witness witness;
  std::vector<PathStep> path;  // every device and rule crossed, in order
  std::string packets;         // human summary, e.g. "tcp dport 445,3389 from 10.30.0.0/16 to …"
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

// A rule that can never match (shadow.h).
struct Shadowed {
  std::string device;
  std::string rule;  // "file:line" or "file:line (detail)"
  std::string by;    // the earlier rules that decide its packets, ", "-separated; "" when its
                     // match is empty on its own
};

// An accepting or DNAT rule that lets through, from zone `from` to zone `to`, NEW connections
// that no [[allow]] entry permits.
struct BroadRule {
  std::string device;
  std::string rule;  // "file:line" or "file:line (detail)"
  std::string from;
  std::string to;
  std::string packets;  // summary of what is beyond the allow entries, as in Violation
};

struct Report {
  std::vector<std::string> zones;
  std::vector<MatrixEntry> matrix;  // every ordered pair of distinct zones, in zone order
  std::vector<Violation> violations;
  std::vector<UnknownConstruct> unknown;
  std::vector<Shadowed> shadowed;  // per device, in file order
  std::vector<BroadRule> broad;    // per device, in rule order, then by zones
  bool ok() const { return violations.empty(); }
};

// Reads and parses each device's configuration, and its `ipset save` file when it names one.
// `read_file` returns a file's bytes (kNotFound or kUnavailable when it cannot); the
// configuration is parsed with the device's format (iptables-save, nft-json, cisco-asa,
// fortigate).
using ReadFileFn = std::function<Result<std::string>(const std::string& path)>;
Result<std::vector<Ruleset>> LoadRulesets(const Topology& topology, const ReadFileFn& read_file);

// Where Check finds the shadowed rules. The report is the same either way.
enum class ShadowWork {
  // After the reachability check, in this process.
  kInline,
  // At the same time as the reachability check, in a child process (fork) that inherits a copy
  // of the BDD state and sends the rules back through a pipe; each process then has its own
  // node table (up to SpaceOptions::max_nodes each). Falls back to kInline when no child can be
  // started or it does not answer. For a single-threaded caller (the CLI): the child runs
  // library code only, but a fork in a process with other threads is still best avoided.
  kForked,
};

// `rulesets` must hold one Ruleset per topology device (matched by Ruleset::device).
Result<Report> Check(const Topology& topology, const std::vector<Ruleset>& rulesets,
                     const SpaceOptions& options = {}, ShadowWork shadow = ShadowWork::kInline);

}  // namespace mamori::netsep
