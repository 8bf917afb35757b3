// `ipset save` output → the sets it defines, and what an iptables `-m set --match-set` over one
// of them matches in an IPv4 packet, as an exact HeaderSet (ruleset.h).
//
// The input is what `ipset save` prints and `ipset restore` reads: `create NAME TYPE [options]`
// and `add NAME ELEMENT [options]` lines, blank lines and `#` comments. The types modelled, the
// element forms and what is reported instead of modelled are listed in docs/netcheck.md. A set
// that is not modelled (another type, IPv6 members of a list, timeouts, ICMP, SCTP and UDP-Lite
// elements, unknown create options) still parses: Match() says why it is not, and the rule
// using it is then "may match".
//
// Text that `ipset restore` would refuse (a malformed line, an element added to a set not
// created before it, an element the set's type does not accept, a set created twice) is a
// kInvalidInput error whose message starts with "file:line: ". Above kMaxConfigBytes (iptables.h)
// or more than kMaxIpsetElements elements (after expanding ranges into networks): kTooLarge.
// An Ipsets value is immutable once parsed, cheap to copy (shared) and thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "netsep/ruleset.h"

namespace mamori::netsep {

inline constexpr size_t kMaxIpsetElements = 1000000;

// Where one dimension of a set is read from in the packet (`src` or `dst` in --match-set).
enum class SetDirection { kSrc, kDst };

struct SetMatch {
  // What the match matches (never null) when `unknown` is empty.
  std::shared_ptr<const HeaderSet> set;
  // Otherwise why the set is not modelled, naming the ipset file and line.
  std::string unknown;
};

class Ipsets {
 public:
  static Result<Ipsets> Parse(std::string_view text, std::string_view file);

  bool Contains(std::string_view name) const;
  std::vector<std::string> Names() const;  // in file order

  // What `--match-set NAME FLAGS [--return-nomatch]` matches: for each dimension of the set,
  // the packet's source or destination address or port as `flags` says (flags beyond the
  // set's dimensions are ignored; fewer than them never match, as in the kernel).
  // `return_nomatch` matches the packets that a nomatch entry decides instead (types with
  // nomatch only). Preconditions: Contains(name), 1 ≤ flags.size() ≤ 6. kInvalidInput (a
  // message without a location) for an IPv6 set, which iptables refuses.
  Result<SetMatch> Match(std::string_view name, const std::vector<SetDirection>& flags,
                         bool return_nomatch) const;

  struct Data;  // ipset.cc

 private:
  std::shared_ptr<const Data> data_;
};

}  // namespace mamori::netsep
