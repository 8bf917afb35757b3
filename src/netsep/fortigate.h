// FortiGate FortiOS configuration text (`show full-configuration` or a backup file) → Ruleset.
//
// Reads the `config … / edit … / set … / next / end` tree (quoted words with backslash escapes,
// values that span lines) and from it: `system interface`, `system zone` and SD-WAN
// zones (a policy naming a zone means its member interfaces), `firewall address` (ipmask,
// iprange), `firewall addrgrp` (nested, with exclude-member), `firewall service custom`
// (tcp/udp-portrange "dst[:src]" lists, ICMP with icmptype, IP with protocol-number), `firewall
// service group` (nested), `firewall vip` (extip → mappedip, portforward with extport →
// mappedport, extintf, src-filter), `firewall vipgrp` and `firewall policy`. The model (one table
// "fortigate"):
//
//  - vip (prerouting): every VIP is destination NAT applied before the policy lookup, whether or
//    not a policy names it (FortiOS treats a VIP's external address as its own).
//  - policy (forward): the policies in the order they appear in the file (not by id), first
//    match, then the implicit deny. A policy matches a packet rewritten by a VIP only when it
//    names that VIP (or a vipgrp holding it) as dstaddr, comparing the mapped address and port;
//    ordinary addresses match only packets no VIP rewrote — except in a deny policy with
//    `match-vip enable`, whose dstaddr "all" also matches rewritten packets.
//  - snat (postrouting): `nat enable` in an accept policy is source NAT to the egress interface
//    (no effect on reachability).
//
// What is not modelled (fqdn, geography and dynamic addresses, schedules other than "always",
// users and groups, internet services, service-negate, central NAT, load-balance VIPs, …) is
// listed in Ruleset::unknown with its file:line and treated as possibly matching — never
// skipped silently. Malformed input (an unterminated quote or block, `next` or `end` out of
// place, a bad address, port or range, a name no object defines, a group loop, a policy without
// srcintf, dstintf, srcaddr, dstaddr or service) is a kInvalidInput error whose message starts
// with "file:line: ". Above kMaxConfigBytes or kMaxRules: kTooLarge. Pure function of its
// arguments; thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"
#include "netsep/iptables.h"  // kMaxConfigBytes, kMaxRules: the same limits for every format
#include "netsep/ruleset.h"

namespace mamori::netsep {

Result<Ruleset> ParseFortigate(std::string_view text, std::string_view file,
                               std::string_view device);

}  // namespace mamori::netsep
