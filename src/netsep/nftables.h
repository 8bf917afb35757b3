// `nft -j list ruleset` (libnftables JSON, schema version 1) → Ruleset.
//
// Reads the tables of the families that carry forwarded IPv4 (ip and inet), their chains, named
// sets and maps, and rules; builds the forwarding path from every base chain on the prerouting,
// forward and postrouting hooks, in the order the kernel runs them (ascending priority; nat
// chains all run at the nat hook's own priority, -100 on prerouting and 100 on postrouting, in
// the order of their declared priorities). Tables of the families ip6 and arp never see an IPv4
// packet and are skipped; base chains of bridge and netdev tables, and inet ingress chains, do
// see forwarded IPv4 packets but are not modelled: each one with rules or a drop policy is listed
// in Ruleset::unknown (ignoring it can only hide a drop, so reachability is over-approximated).
//
// One nft rule may become several model rules: a verdict map (`vmap`), a DNAT map, a
// concatenated set (`ip saddr . tcp dport @pairs`) or a negated concatenation is split into one
// rule per element, with the element's verdict and in the map's order (the keys of a map are
// disjoint, so this is exact). What is modelled is listed in docs/netcheck.md; every other
// expression or statement is listed in Ruleset::unknown with its location and treated as
// possibly matching (a kMayMatch predicate) or, for a statement, as having no effect — never
// silently dropped.
//
// Locations: `nft -j` prints the whole ruleset on one line, so a line number alone cannot tell
// two rules apart. Every rule, chain and construct gets the line on which its object starts (1
// for one-line output; the exact line when the JSON is pretty-printed, e.g. by `jq .`) and a
// detail naming it in nft's own terms: "inet filter forward handle 12" (`nft -a list ruleset`
// shows the handles), "chain inet filter forward", plus "vmap element 2" when one rule was split.
//
// Input that nft itself would refuse or never print (malformed JSON, a rule for a table or chain
// that does not exist, a jump to a missing chain or to a base chain, a reference to a missing
// set, a bad address, port or priority) is a kInvalidInput error whose message starts with
// "file:line: ". Limits: kMaxConfigBytes (kTooLarge), kMaxRules model rules after splitting
// (kTooLarge), JSON nesting kMaxJsonDepth (kInvalidInput). Pure function of its arguments;
// thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"
#include "netsep/iptables.h"  // kMaxConfigBytes, kMaxRules: the same limits for every format
#include "netsep/ruleset.h"

namespace mamori::netsep {

// `nft -j` output nests about 12 deep; deeper input is refused before it is parsed.
inline constexpr size_t kMaxJsonDepth = 64;

Result<Ruleset> ParseNftJson(std::string_view text, std::string_view file, std::string_view device);

}  // namespace mamori::netsep
