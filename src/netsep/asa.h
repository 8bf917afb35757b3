// Cisco ASA `show running-config` text (ASA 8.3 and later) → Ruleset.
//
// Reads the interfaces (`interface` blocks: nameif, security-level, ip address, shutdown,
// management-only), `name` aliases, network and service objects, object-groups (network,
// service with or without a port protocol, protocol, icmp-type; nested through group-object),
// extended access-lists, `access-group` bindings (in and out per interface, global),
// `same-security-traffic permit inter-interface`, object NAT (`object network` … `nat`) and
// twice NAT (`nat (real,mapped) source …`). The model (one table "asa"):
//
//  - nat-dst (prerouting): the static translations a NEW connection from the mapped side is
//    untranslated by (object static NAT, the reverse of twice static source NAT, twice NAT
//    destination static), first match in the NAT table's order: section 1 (twice NAT in file
//    order), section 2 (object NAT: static before dynamic, fewer real addresses first, then the
//    lower address, then the object name), section 3 (twice NAT after-auto). Access lists on
//    8.3 and later name the real addresses, so they are evaluated after this chain.
//  - access (forward): for each interface with an inbound access-list: that list, then the
//    global one, then the implicit deny; for the other interfaces the global list then the
//    implicit deny, or, with no global list, the security levels (higher to lower passes; equal
//    only with same-security-traffic permit inter-interface). Outbound lists are checked first
//    (permit goes on, deny and the implicit deny drop). Return traffic is stateful: only NEW
//    connections are evaluated, as for the other formats.
//  - nat-src (postrouting): object and twice source NAT (no effect on reachability).
//
// What is not modelled (fqdn objects, time-range, user and security-group criteria, ICMP codes,
// pre-8.3 NAT, VPN traffic under sysopt connection permit-vpn, …) is listed in Ruleset::unknown
// with its file:line and treated as possibly matching — never skipped silently. Input the ASA
// itself would refuse (a bad address or mask, an undefined object or access-list, an unknown
// port or protocol name, a group-object loop) is a kInvalidInput error whose message starts
// with "file:line: ". Above kMaxConfigBytes or kMaxRules: kTooLarge. Pure function of its
// arguments; thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"
#include "netsep/iptables.h"  // kMaxConfigBytes, kMaxRules: the same limits for every format
#include "netsep/ruleset.h"

namespace mamori::netsep {

Result<Ruleset> ParseCiscoAsa(std::string_view text, std::string_view file,
                              std::string_view device);

}  // namespace mamori::netsep
