// iptables-save text (iptables-legacy and iptables-nft print the same) → Ruleset.
//
// Reads every table (raw, mangle, nat, filter, security), chain declarations with policies,
// rules with counters, and builds the forwarding path: raw, mangle, nat PREROUTING → mangle,
// filter, security FORWARD → mangle, nat POSTROUTING. What is modelled is listed in
// docs/netcheck.md; every other match module, option or target is listed in Ruleset::unknown
// with its file:line and treated as possibly matching (a kMayMatch predicate) or, for a target,
// as having no effect — never silently dropped.
//
// Text that iptables-restore itself would refuse (a rule outside a table, a rule for an
// undeclared chain, a bad address or port, a missing COMMIT, an unterminated quote) is a
// kInvalidInput error whose message starts with "file:line: ". Above kMaxConfigBytes: kTooLarge.
//
// `-m set --match-set NAME src|dst[,…]` reads the sets of `ipsets` (the device's `ipset save`
// file; nullptr when it has none): a set that is modelled becomes an exact kHeaderSet match, one
// that is not (ipset.h) a kMayMatch listed in `unknown`; a name `ipsets` does not define is an
// error, as iptables-restore refuses it. A set that a rule changes at run time (`-j SET
// --add-set|--del-set`) is "may match" wherever it is matched.
// Pure function of its arguments; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"
#include "netsep/ipset.h"
#include "netsep/ruleset.h"

namespace mamori::netsep {

inline constexpr size_t kMaxConfigBytes = size_t{16} << 20;
inline constexpr size_t kMaxRules = 200000;

Result<Ruleset> ParseIptablesSave(std::string_view text, std::string_view file,
                                  std::string_view device, const Ipsets* ipsets = nullptr);

}  // namespace mamori::netsep
