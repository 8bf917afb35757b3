// A vendor-neutral model of one firewall's packet processing, as the netcheck engine reads it.
//
// A Ruleset holds tables of chains of rules, each rule with its match predicates, its action and
// the file:line it came from; and the base chains, ordered per hook, through which a forwarded
// packet passes (for iptables: raw, mangle, nat PREROUTING → mangle, filter, security FORWARD →
// mangle, nat POSTROUTING). Vendor parsers (iptables.h; later nftables, ASA, FortiGate) produce
// it; the engine (engine.h) evaluates it symbolically. What a parser cannot model it lists in
// `unknown` and, where it sits inside a rule, marks with a kMayMatch predicate, so the engine
// treats that rule as possibly matching and possibly not (sound for reachability).
//
// Plain values; no shared state. Rules name chains by index-free strings; Find* return nullptr
// when absent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"

namespace mamori::netsep {

// Where a rule, chain or construct comes from. `detail` names it where the line alone is not
// enough (nft -j prints a whole ruleset on one line): "inet filter forward handle 12".
struct SourceLocation {
  std::string file;
  uint32_t line = 0;
  std::string detail;  // optional
  // "file:line", or "file:line (detail)".
  std::string ToString() const {
    std::string out = file + ":" + std::to_string(line);
    if (!detail.empty()) out += " (" + detail + ")";
    return out;
  }
};

// One set of values of a header field: an inclusive range, or a bit pattern (value, mask) such as
// an address with a non-contiguous netmask.
struct ValueTerm {
  enum class Kind { kRange, kMasked };
  Kind kind = Kind::kRange;
  uint64_t first = 0;   // low end, or the value
  uint64_t second = 0;  // high end, or the mask
  static ValueTerm Range(uint64_t lo, uint64_t hi) { return {Kind::kRange, lo, hi}; }
  static ValueTerm Masked(uint64_t value, uint64_t mask) { return {Kind::kMasked, value, mask}; }
};

// An IPv4 prefix; `address` has its host bits cleared.
struct Prefix {
  uint32_t address = 0;
  int length = 0;  // 0..32
  uint32_t Mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  uint32_t Last() const { return address | ~Mask(); }
  bool Contains(uint32_t a) const { return (a & Mask()) == address; }
  bool operator==(const Prefix&) const = default;
};

// "10.0.0.1" → host order. Strict dotted quad: four decimal octets, no leading "+", no spaces.
std::optional<uint32_t> ParseIpv4(std::string_view text);
// "10.0.0.0/8", "10.0.0.1" (/32). kReject refuses host bits set below the prefix length.
enum class HostBits { kReject, kClear };
std::optional<Prefix> ParsePrefix(std::string_view text, HostBits host_bits);
std::string FormatIpv4(uint32_t address);
std::string FormatPrefix(const Prefix& prefix);

// The words of one line of a line-based configuration (iptables-save, ipset save): separated by
// spaces and tabs; "double quoted" parts may hold them and \" escapes. Why it failed, in
// Japanese and English, for an unterminated quote or more than `max_words` words.
struct WordsError {
  const char* ja;
  const char* en;
};
std::optional<std::vector<std::string>> SplitWords(std::string_view s, size_t max_words,
                                                   WordsError& error);
// SplitWords without an allocation per word, for a parser that reads many lines: `words` (cleared
// first) views the words in `s`, or, for a word with quotes, its unquoted text written into
// `scratch`; `s` and `scratch` must outlive the views. Unquoting never lengthens a word, so
// `scratch` is reserved once to the line's size and never moves.
// False, with `error` set, where SplitWords gives nullopt.
bool SplitWordViews(std::string_view s, size_t max_words, std::string& scratch,
                    std::vector<std::string_view>& words, WordsError& error);

// Parser messages quote their input through mamori::Printable (common/text.h).
using ::mamori::Printable;

// Connection-tracking states (bit flags) as iptables and nftables name them.
enum ConnState : uint32_t {
  kCtNew = 1,
  kCtEstablished = 2,
  kCtRelated = 4,
  kCtInvalid = 8,
  kCtUntracked = 16,
  kCtSnat = 32,  // virtual states of -m conntrack
  kCtDnat = 64,
};

enum class MatchKind {
  kSrcAddress,    // terms over 32 bits
  kDstAddress,    // terms over 32 bits
  kProtocol,      // terms over 8 bits
  kSrcPort,       // terms over 16 bits; implies tcp or udp
  kDstPort,       // terms over 16 bits; implies tcp or udp
  kEitherPort,    // multiport --ports: source or destination port in terms
  kIcmpType,      // terms over 8 bits; implies icmp
  kInInterface,   // interfaces; a trailing '+' matches any name with that stem
  kOutInterface,  // interfaces
  kConnState,     // conn_states bit set: matches when the packet's state is one of them
  kConstant,      // `constant` already decided for a NEW first packet (e.g. --syn, -f)
  kMayMatch,      // not modelled (listed in Ruleset::unknown): may or may not match
  kHeaderSet,     // header_set: a set over several fields at once (ipset)
};

// One box of header values: the headers in which every listed field (kSrcAddress, kDstAddress,
// kProtocol, kSrcPort, kDstPort, kIcmpType) has a value in its term. Fields not listed take any
// value; a port listed here does not imply tcp or udp (list kProtocol for that).
struct HeaderBox {
  static constexpr size_t kMaxFields = 4;
  struct Part {
    MatchKind field = MatchKind::kSrcAddress;
    ValueTerm term;
  };
  std::array<Part, kMaxFields> parts;
  uint8_t count = 0;
  void Add(MatchKind field, ValueTerm term) { parts[count++] = {field, term}; }  // count < max
};

// An exact set of headers over several fields, as an ipset set matches them. Each program starts
// from the empty set and applies its boxes in order, each adding its headers or, marked remove,
// removing them (a hash:net entry marked nomatch removes what the less specific entries added);
// the set is the union of the programs' results. The boxes come in layers, a hint for speed
// only: where no added box of a layer meets a removed one, the layer is applied at once.
struct HeaderSet {
  struct Layer {
    std::vector<HeaderBox> boxes;
    std::vector<bool> remove;  // per box; empty: every box adds
  };
  std::vector<std::vector<Layer>> programs;
};

struct Match {
  MatchKind kind = MatchKind::kConstant;
  bool negated = false;
  std::vector<ValueTerm> terms;
  std::vector<std::string> interfaces;
  uint32_t conn_states = 0;
  bool constant = true;
  // kConstant: the value holds for every packet (a comment), not only for a NEW first IPv4
  // packet (--syn, -f, an IPv6 header). The shadowed-rule analysis looks at every packet and
  // takes only such constants as they are.
  bool always = false;
  // kHeaderSet: shared, never null; immutable once built.
  std::shared_ptr<const HeaderSet> header_set;
};

enum class ActionKind {
  kAccept,      // ends this base chain; the packet goes on to the next base chain
  kDrop,        // final
  kReject,      // final (an error is sent back)
  kReturn,      // back to the calling chain, or the policy of a base chain
  kJump,        // to `chain`, then back
  kGoto,        // to `chain`; its end returns to the caller of the current chain
  kContinue,    // no verdict and no effect on reachability (LOG, NFLOG, TCPMSS, counters)
  kUnknown,     // an unmodelled target, listed in Ruleset::unknown; treated as kContinue
  kDnat,        // destination NAT (nat chains); ends the chain
  kSnat,        // source NAT; ends the chain
  kMasquerade,  // source NAT to the outgoing address; ends the chain
  kRedirect,    // destination becomes the firewall itself: the packet is not forwarded
};

// A NAT rewrite: absent parts are left unchanged.
struct NatTarget {
  std::optional<ValueTerm> address;  // range over 32 bits
  std::optional<ValueTerm> port;     // range over 16 bits (tcp/udp only)
};

struct Action {
  ActionKind kind = ActionKind::kContinue;
  std::string target;  // as written: "ACCEPT", "LOG", "DNAT", a chain name…
  std::string chain;   // kJump and kGoto
  NatTarget nat;       // kDnat, kSnat, kRedirect
};

struct Rule {
  std::vector<Match> matches;  // all must match
  Action action;
  SourceLocation location;
  // Made by the parser rather than written in the configuration (an implicit deny, the jump of
  // an access-group binding, a policy's copy in the source-NAT chain): evaluated like any rule,
  // never reported as shadowed.
  bool implied = false;
};

struct Chain {
  std::string name;
  bool builtin = false;
  ActionKind policy = ActionKind::kAccept;  // built-in chains: kAccept or kDrop
  SourceLocation location;                  // where the chain (and its policy) is declared
  std::vector<Rule> rules;
};

struct Table {
  std::string name;
  std::vector<Chain> chains;
  const Chain* FindChain(std::string_view name) const;
};

enum class Hook { kPrerouting, kForward, kPostrouting };
enum class ChainType { kFilter, kNat };

// Whether a base chain's packets already have their output interface.
enum class OutputInterface {
  kKnown,
  // Linux runs prerouting before the routing decision: there an output-interface match sees an
  // empty name (nft `oifname "eth1"` never matches, `oifname != "eth1"` always does).
  kNotYetRouted,
};

// A base chain attached to a hook. On one hook, base chains run in ascending priority; an accept
// ends only that base chain.
struct BaseChain {
  Hook hook = Hook::kForward;
  int priority = 0;
  ChainType type = ChainType::kFilter;
  std::string table;
  std::string chain;
  // kKnown for the ASA and FortiGate models, whose destination NAT is bound to the pair of
  // interfaces (their prerouting chain knows the egress).
  OutputInterface output = OutputInterface::kKnown;
};

struct Unknown {
  SourceLocation location;
  std::string construct;  // what was not modelled, e.g. "match -m addrtype"
};

struct Ruleset {
  std::string device;
  std::vector<Table> tables;
  std::vector<BaseChain> base_chains;  // sorted by hook, then priority
  std::vector<Unknown> unknown;
  const Table* FindTable(std::string_view name) const;
};

}  // namespace mamori::netsep
