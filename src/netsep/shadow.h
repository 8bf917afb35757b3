// Shadowed rules (規則の陰): rules of one device that can never match, because the rules before
// them in the same chain (policy list, access list) already decide every packet they would
// match, or because their match is empty on its own. Internal to the engine (engine.cc).
//
// Exact over the BDD header space, for every packet rather than only NEW first packets: the
// incoming and outgoing interface (one value per class of names the rules tell apart) and the
// connection-tracking state are fields of the sets too. Each chain is walked once, keeping the
// set of packets no earlier rule has decided: a rule is shadowed when its match set and that set
// are disjoint. A rule decides what it matches when it ends the chain for those packets
// (ACCEPT, DROP, REJECT, RETURN, goto, NAT), a jump decides what the called chain never returns;
// a rule with a match that is not modelled (may match), or that holds only for first packets
// (--syn, -f, an IPv6 header), decides nothing but may still be shadowed. So every rule reported
// is dead; some dead rules may go unreported.
//
// A configuration line that became several model rules is reported only when all of them are
// dead; rules the parser implied (Rule::implied) are never reported. `by` names the earlier
// rules that decide the shadowed rule's packets ("file:line, file:line"; at most eight, then
// "…"), or is empty when the rule's match is empty on its own.
//
// Cost: one pass per chain; each rule's undecided part is found from the earlier rules whose
// match sets meet its own (evaluator.h, Undecided: a tree of unions of match sets), which also
// names the deciding rules.
#pragma once

#include <string>
#include <vector>

#include "netsep/engine.h"
#include "netsep/ruleset.h"
#include "netsep/space.h"

namespace mamori::netsep {

class Evaluator;

// How the chains whose rules (and called chains' rules) never test the interfaces or the state
// are walked. The result is the same either way; kFull is the plain walk the tests compare with.
enum class HeaderOnlyChains {
  kReduced,  // over the headers alone: sets without the interface and state variables
  kFull,     // over every interface and state, as the other chains
};

// The shadowed rules of `ruleset`, named for `device`, in file order. Empty when the rules name
// more interfaces than the space holds (65,535). Needs the Space that is open on this thread.
std::vector<Shadowed> FindShadowed(const Space& space, const Ruleset& ruleset,
                                   const std::string& device,
                                   HeaderOnlyChains header_only = HeaderOnlyChains::kReduced);
// The same with the engine's evaluator, whose match sets (built once per rule) it shares.
std::vector<Shadowed> FindShadowed(const Evaluator& eval, const Ruleset& ruleset,
                                   const std::string& device,
                                   HeaderOnlyChains header_only = HeaderOnlyChains::kReduced);

}  // namespace mamori::netsep
