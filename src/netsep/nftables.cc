#include "netsep/nftables.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/text.h"
#include "netsep/json_text.h"

namespace mamori::netsep {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxAddress = 0xffffffff;
// A negated concatenation `a . b != { e1, e2, … }` becomes one rule per way of failing every
// element: at most this many, otherwise it is treated as "may match".
constexpr size_t kMaxNegatedCases = 256;
constexpr size_t kMaxNameBytes = 256;  // NFT_NAME_MAXLEN
constexpr uint64_t kTcp = 6;
constexpr uint64_t kUdp = 17;
constexpr uint64_t kIcmp = 1;

// ---------------------------------------------------------------------------------------------
// Where things are in the text.

// The byte offset at which each element of the top-level "nftables" array starts (for the last
// "nftables" key, as nlohmann keeps the last of duplicate keys), and the offset of the first
// bracket nested deeper than kMaxJsonDepth. Tolerant of malformed input: the JSON parser
// reports that.
struct Layout {
  std::vector<size_t> elements;
  std::optional<size_t> too_deep;
};

Layout Scan(std::string_view text) {
  Layout layout;
  std::vector<char> stack;  // '{' or '['
  bool expect_key = false;  // inside an object, before a key
  bool in_list = false;     // stack[1] is the "nftables" array
  bool want_element = false;
  std::string_view last_key;  // the last key read in the top-level object
  std::vector<size_t> current;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (in_list && want_element && stack.size() == 2 && c != ']') {
      current.push_back(i);
      want_element = false;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j, text.size());
      if (stack.size() == 1 && stack[0] == '{' && expect_key) {
        last_key = text.substr(i + 1, j - i - 1);
      }
      i = j + 1;
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        if (stack.size() >= kMaxJsonDepth) {
          layout.too_deep = i;
          return layout;
        }
        if (c == '[' && stack.size() == 1 && stack[0] == '{' && last_key == "nftables") {
          in_list = true;
          want_element = true;
          current.clear();
        }
        stack.push_back(c);
        expect_key = c == '{';
        break;
      case '}':
      case ']':
        if (!stack.empty()) {
          if (stack.size() == 2 && in_list) {
            layout.elements = current;
            in_list = false;
          }
          stack.pop_back();
        }
        expect_key = false;
        break;
      case ':':
        expect_key = false;
        break;
      case ',':
        expect_key = !stack.empty() && stack.back() == '{';
        if (in_list && stack.size() == 2) want_element = true;
        break;
      default:
        break;
    }
    ++i;
  }
  return layout;
}

// The 1-based line of each offset in `offsets` (ascending).
std::vector<uint32_t> LinesOf(std::string_view text, const std::vector<size_t>& offsets) {
  std::vector<uint32_t> lines;
  lines.reserve(offsets.size());
  uint32_t line = 1;
  size_t pos = 0;
  for (size_t offset : offsets) {
    for (; pos < offset && pos < text.size(); ++pos) {
      if (text[pos] == '\n') ++line;
    }
    lines.push_back(line);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Small readers of JSON values. None throws: a value of the wrong type reads as absent.

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::string_view> StringMember(const Json& object, const char* key) {
  const Json* v = Member(object, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_ref<const std::string&>());
}

std::optional<uint64_t> UnsignedOf(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x >= 0) return static_cast<uint64_t>(x);
  }
  return std::nullopt;
}

std::optional<uint64_t> Decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

// An object with exactly one member (how nft writes expressions and statements): its key and
// value, or nullopt.
std::optional<std::pair<std::string_view, const Json*>> Single(const Json& v) {
  if (!v.is_object() || v.size() != 1) return std::nullopt;
  auto it = v.begin();
  return std::pair<std::string_view, const Json*>(it.key(), &it.value());
}

// A set element written with options ({"elem": {"val": …, "comment": …}}) → its value.
const Json& Unwrap(const Json& v) {
  const Json* elem = Member(v, "elem");
  if (elem != nullptr && v.size() == 1) {
    const Json* val = Member(*elem, "val");
    if (val != nullptr) return *val;
  }
  return v;
}

// A short rendering of `v` for messages.
std::string Brief(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

template <size_t N>
std::optional<uint64_t> Lookup(const std::array<std::pair<std::string_view, uint64_t>, N>& names,
                               std::string_view s) {
  for (const auto& [name, number] : names) {
    if (s == name) return number;
  }
  return std::nullopt;
}

// Protocol names as nft prints them (from /etc/protocols).
constexpr std::array<std::pair<std::string_view, uint64_t>, 30> kProtocols = {{
    {"hopopt", 0},  {"icmp", 1},        {"igmp", 2},       {"ggp", 3},         {"ipencap", 4},
    {"st", 5},      {"tcp", 6},         {"egp", 8},        {"igp", 9},         {"pup", 12},
    {"udp", 17},    {"dccp", 33},       {"ipv6", 41},      {"ipv6-route", 43}, {"ipv6-frag", 44},
    {"rsvp", 46},   {"gre", 47},        {"esp", 50},       {"ah", 51},         {"ipv6-icmp", 58},
    {"icmpv6", 58}, {"ipv6-nonxt", 59}, {"ipv6-opts", 60}, {"eigrp", 88},      {"ospf", 89},
    {"ipip", 94},   {"pim", 103},       {"vrrp", 112},     {"l2tp", 115},      {"sctp", 132},
}};

// Service names, for hand-written JSON (nft -j prints numbers).
constexpr std::array<std::pair<std::string_view, uint64_t>, 32> kServices = {{
    {"ftp-data", 20},
    {"ftp", 21},
    {"ssh", 22},
    {"telnet", 23},
    {"smtp", 25},
    {"domain", 53},
    {"bootps", 67},
    {"bootpc", 68},
    {"tftp", 69},
    {"http", 80},
    {"kerberos", 88},
    {"pop3", 110},
    {"sunrpc", 111},
    {"ntp", 123},
    {"netbios-ns", 137},
    {"netbios-dgm", 138},
    {"netbios-ssn", 139},
    {"imap2", 143},
    {"snmp", 161},
    {"snmp-trap", 162},
    {"ldap", 389},
    {"https", 443},
    {"microsoft-ds", 445},
    {"syslog", 514},
    {"submission", 587},
    {"ldaps", 636},
    {"imaps", 993},
    {"pop3s", 995},
    {"ms-sql-s", 1433},
    {"mysql", 3306},
    {"ms-wbt-server", 3389},
    {"postgresql", 5432},
}};

constexpr std::array<std::pair<std::string_view, uint64_t>, 15> kIcmpTypes = {{
    {"echo-reply", 0},
    {"destination-unreachable", 3},
    {"source-quench", 4},
    {"redirect", 5},
    {"echo-request", 8},
    {"router-advertisement", 9},
    {"router-solicitation", 10},
    {"time-exceeded", 11},
    {"parameter-problem", 12},
    {"timestamp-request", 13},
    {"timestamp-reply", 14},
    {"info-request", 15},
    {"info-reply", 16},
    {"address-mask-request", 17},
    {"address-mask-reply", 18},
}};

// nft's bit values.
constexpr std::array<std::pair<std::string_view, uint64_t>, 5> kCtStates = {
    {{"invalid", 1}, {"established", 2}, {"related", 4}, {"new", 8}, {"untracked", 64}}};
constexpr std::array<std::pair<std::string_view, uint64_t>, 7> kCtStatuses = {{
    {"expected", 1},
    {"seen-reply", 2},
    {"assured", 4},
    {"confirmed", 8},
    {"snat", 16},
    {"dnat", 32},
    {"dying", 512},
}};
constexpr std::array<std::pair<std::string_view, uint64_t>, 8> kTcpFlags = {{
    {"fin", 1},
    {"syn", 2},
    {"rst", 4},
    {"psh", 8},
    {"ack", 16},
    {"urg", 32},
    {"ecn", 64},
    {"cwr", 128},
}};
constexpr uint64_t kSynOnly = 2;  // the first packet of a TCP connection: a bare SYN
// nft ct state bit → the model's ConnState.
constexpr std::array<std::pair<uint64_t, uint32_t>, 5> kStateBits = {
    {{1, kCtInvalid}, {2, kCtEstablished}, {4, kCtRelated}, {8, kCtNew}, {64, kCtUntracked}}};

// ---------------------------------------------------------------------------------------------
// What a match reads.

enum class Key {
  kSaddr,
  kDaddr,
  kProto,  // ip protocol, meta l4proto
  kSport,  // tcp/udp sport (proto says which)
  kDport,
  kThSport,  // th sport: the transport header of any protocol
  kThDport,
  kIcmpType,
  kIifname,
  kOifname,
  kIif,
  kOif,
  kCtState,
  kCtStatus,
  kTcpFlags,
  kNfproto,    // meta nfproto
  kEtherType,  // meta protocol
  kNever,      // an IPv6 header: never present in an IPv4 packet
  kUnknown,    // not modelled
};

struct Field {
  Key key = Key::kUnknown;
  uint64_t proto = 0;  // the protocol the header implies (0: none), a positive dependency
  std::string text;    // as nft writes it: "tcp dport", "meta mark", "fib"
};

bool IsNumeric(Key k) {
  return k == Key::kSaddr || k == Key::kDaddr || k == Key::kProto || k == Key::kSport ||
         k == Key::kDport || k == Key::kThSport || k == Key::kThDport || k == Key::kIcmpType ||
         k == Key::kNfproto || k == Key::kEtherType;
}

bool IsInterface(Key k) {
  return k == Key::kIifname || k == Key::kOifname || k == Key::kIif || k == Key::kOif;
}

uint64_t MaxOf(Key k) {
  switch (k) {
    case Key::kSaddr:
    case Key::kDaddr:
      return kMaxAddress;
    case Key::kSport:
    case Key::kDport:
    case Key::kThSport:
    case Key::kThDport:
    case Key::kEtherType:
      return 65535;
    default:
      return 255;
  }
}

Field FieldOf(const Json& e) {
  auto single = Single(e);
  if (!single) return {Key::kUnknown, 0, Brief(e)};
  const auto [kind, body] = *single;
  if (kind == "payload") {
    std::optional<std::string_view> protocol = StringMember(*body, "protocol");
    std::optional<std::string_view> field = StringMember(*body, "field");
    if (!protocol || !field) return {Key::kUnknown, 0, "raw payload"};
    Field f{Key::kUnknown, 0, Cat(*protocol, " ", *field)};
    const std::string_view p = *protocol;
    const std::string_view name = *field;
    if (p == "ip") {
      if (name == "saddr") f.key = Key::kSaddr;
      if (name == "daddr") f.key = Key::kDaddr;
      if (name == "protocol") f.key = Key::kProto;
    } else if (p == "ip6") {
      f.key = Key::kNever;
    } else if (p == "tcp" || p == "udp") {
      f.proto = p == "tcp" ? kTcp : kUdp;
      if (name == "sport") f.key = Key::kSport;
      if (name == "dport") f.key = Key::kDport;
      if (p == "tcp" && name == "flags") f.key = Key::kTcpFlags;
    } else if (p == "th") {
      if (name == "sport") f.key = Key::kThSport;
      if (name == "dport") f.key = Key::kThDport;
    } else if (p == "icmp") {
      f.proto = kIcmp;
      if (name == "type") f.key = Key::kIcmpType;
    } else {
      std::optional<uint64_t> proto = Lookup(kProtocols, p);
      if (p == "udplite") proto = 136;
      if (proto) f.proto = *proto;  // sctp, dccp, icmpv6, esp…: the protocol is known
    }
    return f;
  }
  if (kind == "meta") {
    std::optional<std::string_view> key =
        body->is_string() ? std::optional<std::string_view>(body->get_ref<const std::string&>())
                          : StringMember(*body, "key");
    if (!key) return {Key::kUnknown, 0, "meta"};
    Field f{Key::kUnknown, 0, Cat("meta ", *key)};
    if (*key == "iifname") f.key = Key::kIifname;
    if (*key == "oifname") f.key = Key::kOifname;
    if (*key == "iif") f.key = Key::kIif;
    if (*key == "oif") f.key = Key::kOif;
    if (*key == "l4proto") f.key = Key::kProto;
    if (*key == "nfproto") f.key = Key::kNfproto;
    if (*key == "protocol") f.key = Key::kEtherType;
    return f;
  }
  if (kind == "ct") {
    std::optional<std::string_view> key = StringMember(*body, "key");
    if (!key) return {Key::kUnknown, 0, "ct"};
    Field f{Key::kUnknown, 0, Cat("ct ", *key)};
    if (Member(*body, "dir") == nullptr && Member(*body, "family") == nullptr) {
      if (*key == "state") f.key = Key::kCtState;
      if (*key == "status") f.key = Key::kCtStatus;
    }
    return f;
  }
  return {Key::kUnknown, 0, std::string(kind)};
}

std::vector<Match> Deps(const Field& f) {
  std::vector<Match> out;
  if (f.proto != 0) {
    Match m;
    m.kind = MatchKind::kProtocol;
    m.terms.push_back(ValueTerm::Range(f.proto, f.proto));
    out.push_back(std::move(m));
  }
  return out;
}

Match Constant(bool value) {
  Match m;
  m.kind = MatchKind::kConstant;
  m.constant = value;
  return m;
}

Match May() {
  Match m;
  m.kind = MatchKind::kMayMatch;
  return m;
}

// One way a rule may go on: matches to add, and the action when this way ends the rule.
struct Option {
  std::vector<Match> matches;
  std::optional<Action> action;  // set: the rule ends with it; unset: evaluation goes on
  std::string label;             // "vmap element 2" when the rule was split
};

// A model rule being built from one nft rule.
struct Alt {
  std::vector<Match> matches;
  std::optional<Action> action;
  std::vector<std::string> labels;
};

// The elements a right-hand side stands for.
struct Elements {
  std::vector<const Json*> items;
  bool is_set = false;  // a set (membership) rather than one value
  std::string set_name;
  bool dynamic = false;  // a named set whose content changes at run time
};

enum class Op { kEq, kNe, kLt, kGt, kLe, kGe, kIn, kNot };

std::optional<Op> OpOf(std::string_view s) {
  if (s == "==") return Op::kEq;
  if (s == "!=") return Op::kNe;
  if (s == "<") return Op::kLt;
  if (s == ">") return Op::kGt;
  if (s == "<=") return Op::kLe;
  if (s == ">=") return Op::kGe;
  if (s == "in") return Op::kIn;
  if (s == "!") return Op::kNot;
  return std::nullopt;
}

// x OP values, for flag-like fields (ct state, tcp flags): a set is a membership test; one value
// (a flag list is one value, the flags or-ed) compares as nft does for bitmasks.
bool Compare(uint64_t x, Op op, const std::vector<uint64_t>& values, bool is_set) {
  if (is_set) {
    const bool member = std::find(values.begin(), values.end(), x) != values.end();
    return op == Op::kNe || op == Op::kNot ? !member : member;
  }
  uint64_t v = 0;
  for (uint64_t value : values) v |= value;
  switch (op) {
    case Op::kEq:
      return x == v;
    case Op::kNe:
      return x != v;
    case Op::kIn:
      return (x & v) != 0;
    case Op::kNot:
      return (x & v) == 0;
    case Op::kLt:
      return x < v;
    case Op::kGt:
      return x > v;
    case Op::kLe:
      return x <= v;
    case Op::kGe:
      return x >= v;
  }
  return false;
}

enum class Family { kIp, kInet, kIp6, kArp, kBridge, kNetdev };

std::optional<Family> FamilyOf(std::string_view s) {
  if (s == "ip") return Family::kIp;
  if (s == "inet") return Family::kInet;
  if (s == "ip6") return Family::kIp6;
  if (s == "arp") return Family::kArp;
  if (s == "bridge") return Family::kBridge;
  if (s == "netdev") return Family::kNetdev;
  return std::nullopt;
}

bool Modelled(Family f) { return f == Family::kIp || f == Family::kInet; }

// "filter", "dstnat + 10", "-150" → a number (the names of the ip and inet families).
std::optional<int64_t> Priority(const Json& v) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  if (v.is_number_integer()) {
    const int64_t p = v.get<int64_t>();
    if (p < -kLimit || p > kLimit) return std::nullopt;
    return p;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string_view s = TrimSpace(v.get_ref<const std::string&>());
  static constexpr std::array<std::pair<std::string_view, int64_t>, 6> kNames = {{
      {"raw", -300},
      {"mangle", -150},
      {"dstnat", -100},
      {"filter", 0},
      {"security", 50},
      {"srcnat", 100},
  }};
  const size_t space = s.find(' ');
  const std::string_view word = s.substr(0, space);
  std::optional<int64_t> base;
  for (const auto& [name, value] : kNames) {
    if (word == name) base = value;
  }
  if (!base) {  // a plain number
    const bool negative = !word.empty() && word[0] == '-';
    std::optional<uint64_t> n = Decimal(negative ? word.substr(1) : word, kLimit);
    if (!n || space != std::string_view::npos) return std::nullopt;
    return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
  }
  if (space == std::string_view::npos) return base;
  const std::string_view rest = TrimSpace(s.substr(space + 1));
  if (rest.empty() || (rest[0] != '+' && rest[0] != '-')) return std::nullopt;
  std::optional<uint64_t> offset = Decimal(TrimSpace(rest.substr(1)), kLimit);
  if (!offset) return std::nullopt;
  return rest[0] == '+' ? *base + static_cast<int64_t>(*offset)
                        : *base - static_cast<int64_t>(*offset);
}

// ---------------------------------------------------------------------------------------------

struct SetInfo {
  const Json* object = nullptr;  // the "set" or "map" body
  bool is_map = false;
  bool dynamic = false;  // flags dynamic/timeout, or updated by a rule
  SourceLocation location;
};

struct TableInfo {
  Family family = Family::kIp;
  std::string name;
  std::string model_name;  // "inet filter": Table::name in the Ruleset
  bool dormant = false;
  size_t index = 0;  // into Ruleset::tables (modelled families)
  std::map<std::string, SetInfo, std::less<>> sets;
  // name → index into Table::chains (modelled) or into Parser::unmodelled_ (SIZE_MAX: none)
  std::map<std::string, size_t, std::less<>> chains;
  std::set<std::string, std::less<>> base_chains;
};

// A base chain that sees forwarded IPv4 packets but is not modelled (bridge, netdev, inet
// ingress): reported when it has rules or drops by policy.
struct Unmodelled {
  SourceLocation location;
  std::string what;
  bool drops = false;
  size_t rules = 0;
};

// A base chain on the forwarding path, before sorting.
struct Candidate {
  BaseChain base;    // priority: the one it runs at (nat chains: the nat hook's)
  int64_t declared;  // the priority the chain declares
  SourceLocation location;
};

// What a rule is being read in.
struct Scope {
  TableInfo* table = nullptr;
  SourceLocation where;
  bool tcp_udp_only = false;  // the rule restricts the protocol to tcp and udp
};

class Parser {
 public:
  Parser(std::string_view file, std::string_view device) : file_(file) {
    ruleset_.device = std::string(device);
  }

  Result<Ruleset> Parse(std::string_view text) {
    if (text.size() > kMaxConfigBytes) {
      return Error::TooLarge(Cat(file_, ": 設定ファイルが大きすぎます。"),
                             Cat(file_, ": the configuration is too large."));
    }
    const Layout layout = Scan(text);
    if (layout.too_deep) {
      return Fail(Here(LinesOf(text, {*layout.too_deep})[0]), "JSON の入れ子が深すぎます。",
                  Cat("the JSON nests deeper than ", std::to_string(kMaxJsonDepth), " levels."));
    }
    Json doc;
    try {
      doc = ParseJsonText(text);
    } catch (const Json::parse_error& e) {
      const size_t at = e.byte > 0 ? std::min<size_t>(e.byte - 1, text.size()) : 0;
      return Fail(Here(LinesOf(text, {at})[0]),
                  Cat("JSON として読めません（", std::to_string(e.byte), " バイト目）。"),
                  Cat("not valid JSON (byte ", std::to_string(e.byte), "): ", e.what()));
    } catch (const Json::exception& e) {  // out_of_range, without a position: 1e999
      return Error::Invalid(
          Printable(Cat(file_, ": JSON として読めません（数値が大きすぎます）。")),
          Printable(Cat(file_, ": not valid JSON: ", e.what())));
    }
    const Json* list = Member(doc, "nftables");
    if (list == nullptr || !list->is_array()) {
      return Fail(Here(1), "\"nftables\" の配列がありません（nft -j list ruleset の出力ですか）。",
                  "no \"nftables\" array (is this the output of nft -j list ruleset?).");
    }
    lines_ = layout.elements.size() == list->size()
                 ? LinesOf(text, layout.elements)
                 : std::vector<uint32_t>(list->size(), 1);  // an escaped or odd key: line 1
    for (size_t i = 0; i < list->size(); ++i) MAMORI_TRY(Declare(i, (*list)[i]));
    for (size_t i = 0; i < list->size(); ++i) MarkDynamicSets((*list)[i]);
    for (size_t i = 0; i < list->size(); ++i) {
      auto single = Single((*list)[i]);
      if (single && single->first == "rule") MAMORI_TRY(AddRule(i, *single->second));
    }
    BuildPath();
    for (const Unmodelled& u : unmodelled_) {
      if (u.rules == 0 && !u.drops) continue;
      ReportUnknown(u.location,
                    Cat(u.what, " is not modelled: whatever it drops is taken to pass"));
    }
    return std::move(ruleset_);
  }

 private:
  SourceLocation Here(uint32_t line, std::string detail = "") const {
    return {std::string(file_), line, std::move(detail)};
  }

  Error Fail(const SourceLocation& at, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(at.ToString(), ": ");
    return Error::Invalid(Printable(Cat(where, ja)), Printable(Cat(where, en)));
  }

  void ReportUnknown(const SourceLocation& at, std::string_view construct) {
    ruleset_.unknown.push_back({at, Printable(construct)});
  }

  // Checks a name member (table, chain, set names).
  Result<std::string_view> Name(const Json& body, const char* key, const SourceLocation& at) const {
    std::optional<std::string_view> v = StringMember(body, key);
    if (!v || v->empty() || v->size() > kMaxNameBytes) {
      return Fail(at, Cat("\"", key, "\" がないか不正です。"),
                  Cat("\"", key, "\" is missing or invalid."));
    }
    return *v;
  }

  Result<TableInfo*> TableOf(const Json& body, const SourceLocation& at) {
    MAMORI_ASSIGN_OR_RETURN(std::string_view family, Name(body, "family", at));
    MAMORI_ASSIGN_OR_RETURN(std::string_view table, Name(body, "table", at));
    auto it = tables_.find(std::pair<std::string, std::string>(family, table));
    if (it == tables_.end()) {
      return Fail(at, Cat("表 ", family, " ", table, " はありません。"),
                  Cat("there is no table ", family, " ", table, "."));
    }
    return &it->second;
  }

  // Pass 1: tables, chains, sets and maps.
  Status Declare(size_t index, const Json& item) {
    const SourceLocation at = Here(lines_[index]);
    auto single = Single(item);
    if (!single || !single->second->is_object()) {
      return Fail(at, "nftables の要素は、キーが一つのオブジェクトでなければなりません。",
                  "each element of \"nftables\" must be an object with one key.");
    }
    const auto [kind, body] = *single;
    if (kind == "table") return DeclareTable(at, *body);
    if (kind == "chain") return DeclareChain(at, *body);
    if (kind == "set" || kind == "map") return DeclareSet(at, *body, kind == "map");
    if (kind == "metainfo") {
      const Json* version = Member(*body, "json_schema_version");
      if (version != nullptr && UnsignedOf(*version).value_or(1) > 1) {
        ReportUnknown(at, Cat("json_schema_version ", Brief(*version), " (read as version 1)"));
      }
      return {};
    }
    static constexpr std::array<std::string_view, 11> kNamedObjects = {
        "rule",       "flowtable",      "counter", "quota",    "ct helper", "limit",
        "ct timeout", "ct expectation", "secmark", "synproxy", "tunnel"};
    if (std::find(kNamedObjects.begin(), kNamedObjects.end(), kind) != kNamedObjects.end()) {
      return {};  // rules come in pass 3; stateful objects only matter where rules use them
    }
    ReportUnknown(at, Cat("object \"", kind, "\""));
    return {};
  }

  Status DeclareTable(const SourceLocation& at, const Json& body) {
    MAMORI_ASSIGN_OR_RETURN(std::string_view family_name, Name(body, "family", at));
    MAMORI_ASSIGN_OR_RETURN(std::string_view name, Name(body, "name", at));
    std::optional<Family> family = FamilyOf(family_name);
    if (!family) {
      return Fail(at, Cat("ファミリー ", family_name, " は nftables にありません。"),
                  Cat("unknown family ", family_name, "."));
    }
    auto [it, fresh] = tables_.try_emplace(std::pair<std::string, std::string>(family_name, name));
    if (!fresh) {
      return Fail(at, Cat("表 ", family_name, " ", name, " が 2 回あります。"),
                  Cat("table ", family_name, " ", name, " appears twice."));
    }
    TableInfo& t = it->second;
    t.family = *family;
    t.name = std::string(name);
    t.model_name = Cat(family_name, " ", name);
    if (const Json* flags = Member(body, "flags")) {
      t.dormant = flags->is_array()
                      ? std::find(flags->begin(), flags->end(), Json("dormant")) != flags->end()
                      : *flags == Json("dormant");
    }
    if (Modelled(t.family)) {
      t.index = ruleset_.tables.size();
      ruleset_.tables.push_back(Table{t.model_name, {}});
    }
    return {};
  }

  Status DeclareChain(const SourceLocation& line_at, const Json& body) {
    MAMORI_ASSIGN_OR_RETURN(TableInfo * table, TableOf(body, line_at));
    MAMORI_ASSIGN_OR_RETURN(std::string_view name, Name(body, "name", line_at));
    const SourceLocation at =
        Here(line_at.line, Printable(Cat("chain ", table->model_name, " ", name)));
    if (table->chains.count(name) > 0) {
      return Fail(at, "チェーンが 2 回宣言されています。", "the chain is declared twice.");
    }
    const Json* hook_value = Member(body, "hook");
    std::optional<std::string_view> hook = StringMember(body, "hook");
    if (hook_value != nullptr && !hook) {
      return Fail(at, "\"hook\" が不正です。", "\"hook\" is invalid.");
    }
    std::string_view type = "filter";
    int64_t priority = 0;
    bool drops = false;
    if (hook) {
      static constexpr std::array<std::string_view, 7> kHooks = {
          "prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"};
      if (std::find(kHooks.begin(), kHooks.end(), *hook) == kHooks.end()) {
        return Fail(at, Cat("フック ", *hook, " は nftables にありません。"),
                    Cat("unknown hook ", *hook, "."));
      }
      if (const Json* t = Member(body, "type")) {
        if (!t->is_string()) return Fail(at, "\"type\" が不正です。", "\"type\" is invalid.");
        type = t->get_ref<const std::string&>();
      }
      if (type != "filter" && type != "nat" && type != "route") {
        return Fail(at, Cat("チェーンの型 ", type, " は nftables にありません。"),
                    Cat("unknown chain type ", type, "."));
      }
      const Json* prio = Member(body, "prio");
      std::optional<int64_t> p = prio != nullptr ? Priority(*prio) : std::nullopt;
      // The bridge family names its priorities differently ("out"); its chains are not modelled.
      if (!p && prio != nullptr && !Modelled(table->family)) p = 0;
      if (!p) {
        return Fail(at, "基底チェーンの優先度 \"prio\" がないか不正です。",
                    "the base chain has no valid priority \"prio\".");
      }
      priority = *p;
      std::optional<std::string_view> policy = StringMember(body, "policy");
      if (Member(body, "policy") != nullptr && policy != "accept" && policy != "drop") {
        return Fail(at, "ポリシーは accept か drop でなければなりません。",
                    "the policy must be accept or drop.");
      }
      drops = policy == "drop";
      table->base_chains.emplace(name);
    }
    if (!Modelled(table->family)) {
      const bool sees_ipv4 = table->family == Family::kBridge || table->family == Family::kNetdev;
      if (hook && sees_ipv4 && !table->dormant) {
        table->chains.emplace(name, unmodelled_.size());
        unmodelled_.push_back(
            {at, Cat("base chain ", table->model_name, " ", name, " (hook ", *hook, ")"), drops,
             0});
      } else {
        table->chains.emplace(name, SIZE_MAX);
      }
      return {};
    }
    Table& model = ruleset_.tables[table->index];
    table->chains.emplace(name, model.chains.size());
    Chain chain;
    chain.name = std::string(name);
    chain.builtin = hook.has_value();
    chain.policy = !hook ? ActionKind::kReturn : drops ? ActionKind::kDrop : ActionKind::kAccept;
    chain.location = at;
    model.chains.push_back(std::move(chain));
    if (!hook || table->dormant) return {};
    if (*hook == "ingress") {  // inet ingress: sees every packet entering a device
      ingress_.emplace(std::pair<std::string, std::string>(table->model_name, name),
                       unmodelled_.size());
      unmodelled_.push_back(
          {at, Cat("base chain ", table->model_name, " ", name, " (hook ingress)"), drops, 0});
      return {};
    }
    std::optional<Hook> model_hook;
    if (*hook == "prerouting") model_hook = Hook::kPrerouting;
    if (*hook == "forward") model_hook = Hook::kForward;
    if (*hook == "postrouting") model_hook = Hook::kPostrouting;
    if (!model_hook) return {};  // input, output, egress: not on the forwarding path
    if (type == "route") {       // the kernel accepts it on output only
      ReportUnknown(at, Cat("chain type route on hook ", *hook));
      return {};
    }
    if (type == "nat" && *model_hook == Hook::kForward) {
      ReportUnknown(at, "chain type nat on hook forward (the kernel refuses it)");
      return {};
    }
    const ChainType chain_type = type == "nat" ? ChainType::kNat : ChainType::kFilter;
    int effective = static_cast<int>(priority);
    if (chain_type == ChainType::kNat) effective = *model_hook == Hook::kPrerouting ? -100 : 100;
    // Before the routing decision the kernel has no output interface: oifname sees "".
    const OutputInterface output =
        *model_hook == Hook::kPrerouting ? OutputInterface::kNotYetRouted : OutputInterface::kKnown;
    candidates_.push_back({BaseChain{*model_hook, effective, chain_type, table->model_name,
                                     std::string(name), output},
                           priority, at});
    return {};
  }

  Status DeclareSet(const SourceLocation& line_at, const Json& body, bool is_map) {
    MAMORI_ASSIGN_OR_RETURN(TableInfo * table, TableOf(body, line_at));
    MAMORI_ASSIGN_OR_RETURN(std::string_view name, Name(body, "name", line_at));
    const SourceLocation at =
        Here(line_at.line, Printable(Cat(is_map ? "map " : "set ", table->model_name, " ", name)));
    SetInfo info;
    info.object = &body;
    info.is_map = is_map;
    info.location = at;
    if (const Json* flags = Member(body, "flags")) {
      auto has = [&](const char* flag) {
        return flags->is_array()
                   ? std::find(flags->begin(), flags->end(), Json(flag)) != flags->end()
                   : *flags == Json(flag);
      };
      info.dynamic = has("dynamic") || has("timeout");
    }
    if (const Json* elem = Member(body, "elem"); elem != nullptr && !elem->is_array()) {
      return Fail(at, "\"elem\" は配列でなければなりません。", "\"elem\" must be an array.");
    }
    if (!table->sets.try_emplace(std::string(name), info).second) {
      return Fail(at, "同じ名前の集合が 2 回あります。", "a set of that name appears twice.");
    }
    return {};
  }

  // Pass 2: sets that rules add to or update change at run time.
  void MarkDynamicSets(const Json& item) {
    auto single = Single(item);
    if (!single || single->first != "rule") return;
    const Json* expr = Member(*single->second, "expr");
    if (expr == nullptr || !expr->is_array()) return;
    std::optional<std::string_view> family = StringMember(*single->second, "family");
    std::optional<std::string_view> table = StringMember(*single->second, "table");
    if (!family || !table) return;
    auto it = tables_.find(std::pair<std::string, std::string>(*family, *table));
    if (it == tables_.end()) return;
    for (const Json& stmt : *expr) {
      auto s = Single(stmt);
      if (!s || (s->first != "set" && s->first != "map")) continue;
      std::optional<std::string_view> ref = StringMember(*s->second, "set");
      if (!ref) ref = StringMember(*s->second, "map");
      if (!ref || !ref->starts_with('@')) continue;
      auto set = it->second.sets.find(ref->substr(1));
      if (set != it->second.sets.end()) set->second.dynamic = true;
    }
  }

  // Pass 3: one rule.
  Status AddRule(size_t index, const Json& body) {
    const SourceLocation line_at = Here(lines_[index]);
    MAMORI_ASSIGN_OR_RETURN(TableInfo * table, TableOf(body, line_at));
    MAMORI_ASSIGN_OR_RETURN(std::string_view chain_name, Name(body, "chain", line_at));
    std::string detail = Cat(table->model_name, " ", chain_name);
    const Json* handle = Member(body, "handle");
    if (handle != nullptr && UnsignedOf(*handle)) {
      detail += Cat(" handle ", std::to_string(*UnsignedOf(*handle)));
    } else {
      detail += Cat(" rule ", std::to_string(++unnumbered_[detail]));
    }
    const SourceLocation at = Here(line_at.line, Printable(detail));
    auto chain_it = table->chains.find(chain_name);
    if (chain_it == table->chains.end()) {
      return Fail(at, Cat("チェーン ", chain_name, " はありません。"),
                  Cat("there is no chain ", chain_name, "."));
    }
    const Json* expr = Member(body, "expr");
    if (expr == nullptr || !expr->is_array()) {
      return Fail(at, "規則に \"expr\" の配列がありません。", "the rule has no \"expr\" array.");
    }
    if (!Modelled(table->family)) {
      if (chain_it->second != SIZE_MAX) ++unmodelled_[chain_it->second].rules;
      return {};
    }
    if (auto ingress =
            ingress_.find(std::pair<std::string, std::string>(table->model_name, chain_name));
        ingress != ingress_.end()) {
      ++unmodelled_[ingress->second].rules;
    }
    if (table->dormant) return {};
    Scope scope{table, at, RestrictsToTcpUdp(*expr)};
    std::vector<Alt> alts(1);
    std::string unknown_statement;  // the first statement not modelled, if any
    for (const Json& stmt : *expr) {
      if (std::none_of(alts.begin(), alts.end(), [](const Alt& a) { return !a.action; })) break;
      MAMORI_TRY(Statement(stmt, scope, alts, unknown_statement));
    }
    Chain& chain = ruleset_.tables[table->index].chains[chain_it->second];
    if (rule_count_ + alts.size() > kMaxRules) {
      return Error::TooLarge(Printable(Cat(at.ToString(), ": 規則が多すぎます。")),
                             Printable(Cat(at.ToString(), ": too many rules.")));
    }
    rule_count_ += alts.size();
    for (Alt& alt : alts) {
      Rule rule;
      rule.matches = std::move(alt.matches);
      if (alt.action) {
        rule.action = std::move(*alt.action);
      } else if (!unknown_statement.empty()) {
        rule.action = MakeAction(ActionKind::kUnknown, unknown_statement);
      }
      rule.location = at;
      for (const std::string& label : alt.labels) rule.location.detail += Cat(", ", label);
      chain.rules.push_back(std::move(rule));
    }
    return {};
  }

  // Whether a match of the rule restricts the protocol to tcp and udp (then `th` reads ports).
  static bool RestrictsToTcpUdp(const Json& expr) {
    for (const Json& stmt : expr) {
      auto s = Single(stmt);
      if (!s || s->first != "match") continue;
      std::optional<std::string_view> op = StringMember(*s->second, "op");
      const Json* left = Member(*s->second, "left");
      const Json* right = Member(*s->second, "right");
      if (!op || (*op != "==" && *op != "in") || left == nullptr || right == nullptr) continue;
      const Field f = FieldOf(*left);
      if (f.proto == kTcp || f.proto == kUdp) return true;
      if (f.key != Key::kProto) continue;
      const Json* values = Member(*right, "set");
      auto ok = [](const Json& v) {
        return v == Json("tcp") || v == Json("udp") || v == Json(kTcp) || v == Json(kUdp);
      };
      if (values != nullptr && values->is_array() && !values->empty() &&
          std::all_of(values->begin(), values->end(), ok)) {
        return true;
      }
      if (ok(*right)) return true;
    }
    return false;
  }

  // Adds `options` to every open alternative (a cross product).
  Status Combine(std::vector<Alt>& alts, std::vector<Option> options, const Scope& scope) const {
    size_t open = 0;
    for (const Alt& a : alts) open += a.action ? 0 : 1;
    if (open * options.size() + (alts.size() - open) > kMaxRules - rule_count_) {
      return Error::TooLarge(
          Printable(Cat(scope.where.ToString(), ": 規則を分けると多くなりすぎます。")),
          Printable(Cat(scope.where.ToString(), ": the rule splits into too many rules.")));
    }
    std::vector<Alt> out;
    for (Alt& a : alts) {
      if (a.action) {
        out.push_back(std::move(a));
        continue;
      }
      for (const Option& o : options) {
        Alt b = a;
        b.matches.insert(b.matches.end(), o.matches.begin(), o.matches.end());
        b.action = o.action;
        if (!o.label.empty()) b.labels.push_back(o.label);
        out.push_back(std::move(b));
      }
    }
    alts = std::move(out);
    return {};
  }

  static Option Ends(Action action) { return Option{{}, std::move(action), ""}; }

  static Action MakeAction(ActionKind kind, std::string target) {
    Action a;
    a.kind = kind;
    a.target = std::move(target);
    return a;
  }

  // Applies one statement of a rule to its open alternatives. `unknown` receives the name of a
  // statement that is not modelled (and has no verdict).
  Status Statement(const Json& stmt, Scope& scope, std::vector<Alt>& alts, std::string& unknown) {
    auto single = Single(stmt);
    if (!single) {
      return Fail(scope.where, Cat("文 ", Brief(stmt), " を読めません。"),
                  Cat("cannot read the statement ", Brief(stmt), "."));
    }
    const auto [kind, body] = *single;
    if (kind == "match") {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Option> options, MatchOptions(*body, scope));
      return Combine(alts, std::move(options), scope);
    }
    if (kind == "accept" || kind == "drop" || kind == "continue" || kind == "return" ||
        kind == "jump" || kind == "goto") {
      MAMORI_ASSIGN_OR_RETURN(std::optional<Action> action, Verdict(stmt, scope));
      if (!action) return {};  // continue
      return Combine(alts, {Ends(*action)}, scope);
    }
    if (kind == "reject")
      return Combine(alts, {Ends(MakeAction(ActionKind::kReject, "reject"))}, scope);
    if (kind == "vmap") {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Option> options, VmapOptions(*body, scope));
      return Combine(alts, std::move(options), scope);
    }
    if (kind == "dnat" || kind == "snat") {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Option> options, NatOptions(kind, *body, scope));
      return Combine(alts, std::move(options), scope);
    }
    if (kind == "masquerade") {
      return Combine(alts, {Ends(MakeAction(ActionKind::kMasquerade, "masquerade"))}, scope);
    }
    if (kind == "redirect") {
      Action a = MakeAction(ActionKind::kRedirect, "redirect");
      if (const Json* port = Member(*body, "port")) {
        MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> p, NatPort(*port, scope));
        a.nat.port = p;
      }
      return Combine(alts, {Ends(std::move(a))}, scope);
    }
    if (kind == "counter" || kind == "log" || kind == "flow") return {};  // no verdict
    if (kind == "limit" || kind == "quota" || kind == "ct count") {
      // A rate or quota lets some first packets through and not others.
      return Combine(alts, {Option{{May()}, std::nullopt, ""}}, scope);
    }
    if (kind == "set" || kind == "map") {  // adds to a set: no verdict (pass 2 marked the set)
      std::optional<std::string_view> ref = StringMember(*body, kind == "set" ? "set" : "map");
      if (!ref) ref = StringMember(*body, "set");
      if (!ref || !ref->starts_with('@') ||
          scope.table->sets.find(ref->substr(1)) == scope.table->sets.end()) {
        return Fail(scope.where, Cat("集合 ", ref.value_or("?"), " はありません。"),
                    Cat("there is no set ", ref.value_or("?"), "."));
      }
      if (Member(*body, "stmt") != nullptr) {
        ReportUnknown(scope.where, Cat("statement ", kind, " with statements"));
        return Combine(alts, {Option{{May()}, std::nullopt, ""}}, scope);
      }
      return {};
    }
    if (kind == "mangle") {
      const Json* key = Member(*body, "key");
      const std::string what = key != nullptr ? FieldOf(*key).text : "?";
      if (what == "meta nftrace") return {};
      ReportUnknown(scope.where, Cat("statement mangle ", what, " set"));
      if (unknown.empty()) unknown = "mangle";
      return {};
    }
    if (kind == "queue") {
      ReportUnknown(scope.where,
                    "statement queue (a user-space program decides: taken to "
                    "possibly accept)");
      return Combine(alts, {Option{{May()}, MakeAction(ActionKind::kAccept, "queue"), ""}}, scope);
    }
    if (kind == "meter") {
      ReportUnknown(scope.where, "statement meter");
      return Combine(alts, {Option{{May()}, std::nullopt, ""}}, scope);
    }
    if (kind == "xt") {
      std::optional<std::string_view> type = StringMember(*body, "type");
      std::optional<std::string_view> name = StringMember(*body, "name");
      if (type == "target") {
        ReportUnknown(scope.where, Cat("iptables target ", name.value_or("?"), " (xt)"));
        if (unknown.empty()) unknown = Cat("xt ", name.value_or("?"));
        return {};
      }
      ReportUnknown(scope.where, Cat("iptables match ", name.value_or("?"), " (xt)"));
      return Combine(alts, {Option{{May()}, std::nullopt, ""}}, scope);
    }
    ReportUnknown(scope.where, Cat("statement ", kind));
    if (unknown.empty()) unknown = std::string(kind);
    return {};
  }

  // {"accept": null}, {"jump": {"target": "x"}}… → the action; nullopt for continue.
  Result<std::optional<Action>> Verdict(const Json& v, const Scope& scope) const {
    auto single = Single(v);
    if (!single) {
      return Fail(scope.where, Cat("判定 ", Brief(v), " を読めません。"),
                  Cat("cannot read the verdict ", Brief(v), "."));
    }
    const auto [kind, body] = *single;
    if (kind == "accept") return std::optional<Action>(MakeAction(ActionKind::kAccept, "accept"));
    if (kind == "drop") return std::optional<Action>(MakeAction(ActionKind::kDrop, "drop"));
    if (kind == "return") return std::optional<Action>(MakeAction(ActionKind::kReturn, "return"));
    if (kind == "continue") return std::optional<Action>();
    if (kind == "jump" || kind == "goto") {
      std::optional<std::string_view> target = StringMember(*body, "target");
      if (!target) {
        return Fail(scope.where, Cat(kind, " に飛び先 \"target\" がありません。"),
                    Cat(kind, " has no \"target\"."));
      }
      auto it = scope.table->chains.find(*target);
      if (it == scope.table->chains.end()) {
        return Fail(scope.where, Cat("飛び先のチェーン ", *target, " はありません。"),
                    Cat("there is no chain ", *target, " to ", kind, " to."));
      }
      if (scope.table->base_chains.count(*target) > 0) {
        return Fail(scope.where, Cat("基底チェーン ", *target, " へは飛べません。"),
                    Cat("cannot ", kind, " to the base chain ", *target, "."));
      }
      Action a = MakeAction(kind == "jump" ? ActionKind::kJump : ActionKind::kGoto,
                            Cat(kind, " ", *target));
      a.chain = std::string(*target);
      return std::optional<Action>(std::move(a));
    }
    return Fail(scope.where, Cat("判定 ", kind, " は nftables にありません。"),
                Cat("unknown verdict ", kind, "."));
  }

  // The elements `right` stands for.
  Result<Elements> ElementsOf(const Json& right, const Scope& scope, bool want_map) const {
    Elements out;
    if (right.is_string() && right.get_ref<const std::string&>().starts_with('@')) {
      const std::string_view name = std::string_view(right.get_ref<const std::string&>()).substr(1);
      auto it = scope.table->sets.find(name);
      if (it == scope.table->sets.end() || it->second.is_map != want_map) {
        return Fail(scope.where, Cat(want_map ? "対応表 " : "集合 ", name, " はありません。"),
                    Cat("there is no ", want_map ? "map " : "set ", name, "."));
      }
      out.is_set = true;
      out.set_name = std::string(name);
      out.dynamic = it->second.dynamic;
      if (const Json* elem = Member(*it->second.object, "elem")) {
        for (const Json& e : *elem) out.items.push_back(&e);
      }
      return out;
    }
    if (const Json* set = Member(right, "set"); set != nullptr && right.size() == 1) {
      out.is_set = true;
      if (set->is_array()) {
        for (const Json& e : *set) out.items.push_back(&e);
      } else {
        out.items.push_back(set);
      }
      return out;
    }
    out.items.push_back(&right);
    return out;
  }

  Error BadValue(const Scope& scope, const Field& f, const Json& v) const {
    return Fail(scope.where, Cat(f.text, " の値 ", Brief(v), " が不正です。"),
                Cat("invalid value ", Brief(v), " for ", f.text, "."));
  }

  // One number of a numeric field; nullopt when it is a name this parser does not know.
  Result<std::optional<uint64_t>> Scalar(const Field& f, const Json& v, const Scope& scope) const {
    const uint64_t max = MaxOf(f.key);
    if (f.key == Key::kSaddr || f.key == Key::kDaddr) {
      if (!v.is_string()) return BadValue(scope, f, v);
      std::optional<uint32_t> a = ParseIpv4(v.get_ref<const std::string&>());
      if (!a) return BadValue(scope, f, v);
      return std::optional<uint64_t>(*a);
    }
    if (std::optional<uint64_t> n = UnsignedOf(v)) {
      if (*n > max) return BadValue(scope, f, v);
      return std::optional<uint64_t>(*n);
    }
    if (!v.is_string()) return BadValue(scope, f, v);
    const std::string_view s = v.get_ref<const std::string&>();
    if (std::optional<uint64_t> n = Decimal(s, max)) return std::optional<uint64_t>(*n);
    switch (f.key) {
      case Key::kProto:
        return Lookup(kProtocols, s);
      case Key::kSport:
      case Key::kDport:
      case Key::kThSport:
      case Key::kThDport:
        return Lookup(kServices, s);
      case Key::kIcmpType:
        return Lookup(kIcmpTypes, s);
      case Key::kNfproto:
        return s == "ipv4"   ? std::optional<uint64_t>(2)
               : s == "ipv6" ? std::optional<uint64_t>(10)
                             : std::nullopt;
      case Key::kEtherType:
        if (s.starts_with("0x")) {
          uint64_t x = 0;
          auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), x, 16);
          if (ec == std::errc() && ptr == s.data() + s.size() && x <= max) {
            return std::optional<uint64_t>(x);
          }
          return BadValue(scope, f, v);
        }
        return s == "ip"    ? std::optional<uint64_t>(0x0800)
               : s == "ip6" ? std::optional<uint64_t>(0x86dd)
               : s == "arp" ? std::optional<uint64_t>(0x0806)
                            : std::nullopt;
      default:
        return std::optional<uint64_t>();
    }
  }

  // One element of a numeric field as a term; nullopt for a name not known.
  Result<std::optional<ValueTerm>> Term(const Field& f, const Json& v, const Scope& scope) const {
    if (const Json* range = Member(v, "range")) {
      if (!range->is_array() || range->size() != 2) return BadValue(scope, f, v);
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> lo, Scalar(f, (*range)[0], scope));
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> hi, Scalar(f, (*range)[1], scope));
      if (!lo || !hi) return std::optional<ValueTerm>();
      if (*lo > *hi) return BadValue(scope, f, v);
      return std::optional<ValueTerm>(ValueTerm::Range(*lo, *hi));
    }
    if (const Json* prefix = Member(v, "prefix")) {
      if (f.key != Key::kSaddr && f.key != Key::kDaddr) return BadValue(scope, f, v);
      std::optional<std::string_view> addr = StringMember(*prefix, "addr");
      const Json* len = Member(*prefix, "len");
      std::optional<uint64_t> length = len != nullptr ? UnsignedOf(*len) : std::nullopt;
      if (!addr || !length || *length > 32) return BadValue(scope, f, v);
      std::optional<uint32_t> a = ParseIpv4(*addr);
      if (!a) return BadValue(scope, f, v);
      const Prefix p{*a, static_cast<int>(*length)};
      return std::optional<ValueTerm>(ValueTerm::Masked(*a & p.Mask(), p.Mask()));
    }
    MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> x, Scalar(f, v, scope));
    if (!x) return std::optional<ValueTerm>();
    return std::optional<ValueTerm>(ValueTerm::Range(*x, *x));
  }

  // A flag value: a name, a number, a list of names or {"|": [a, b]}; nullopt for an unknown
  // name.
  Result<std::optional<uint64_t>> Flags(const Field& f, const Json& v, const Scope& scope,
                                        int depth = 0) const {
    if (depth > 8) return BadValue(scope, f, v);
    if (std::optional<uint64_t> n = UnsignedOf(v)) return std::optional<uint64_t>(*n);
    if (v.is_string()) {
      const std::string_view s = v.get_ref<const std::string&>();
      if (f.key == Key::kCtState) return Lookup(kCtStates, s);
      if (f.key == Key::kCtStatus) return Lookup(kCtStatuses, s);
      return Lookup(kTcpFlags, s);
    }
    const Json* list = &v;
    if (const Json* bits = Member(v, "|"); bits != nullptr && v.size() == 1) list = bits;
    if (!list->is_array()) return BadValue(scope, f, v);
    uint64_t out = 0;
    for (const Json& item : *list) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> bit, Flags(f, item, scope, depth + 1));
      if (!bit) return std::optional<uint64_t>();
      out |= *bit;
    }
    return std::optional<uint64_t>(out);
  }

  // "eth*" → "eth+" (the model's wildcard); nullopt for names the model cannot say exactly.
  static std::optional<std::string> Interface(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.back() == '+' ||
        name.find('\\') != std::string_view::npos) {
      return std::nullopt;
    }
    if (name.back() == '*') return Cat(name.substr(0, name.size() - 1), "+");
    return std::string(name);
  }

  Match Unknown(const Scope& scope, std::string_view what) {
    ReportUnknown(scope.where, what);
    return May();
  }

  // The predicate `f OP elements` (without the protocol dependency).
  Result<Match> Core(const Field& f, const Elements& el, Op op, const Scope& scope) {
    const std::string what = Cat("match ", f.text);
    if (f.key == Key::kNever) return Constant(false);
    if (f.key == Key::kUnknown) return Unknown(scope, what);
    if (el.dynamic) {
      return Unknown(scope, Cat("match ", f.text, " against set @", el.set_name,
                                " (its content changes at run time)"));
    }
    Match m;
    if (IsNumeric(f.key)) {
      std::vector<ValueTerm> terms;
      for (const Json* item : el.items) {
        MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> t, Term(f, Unwrap(*item), scope));
        if (!t) return Unknown(scope, Cat(what, " ", Brief(Unwrap(*item)), " (name not known)"));
        terms.push_back(*t);
      }
      const bool ordered = op == Op::kLt || op == Op::kGt || op == Op::kLe || op == Op::kGe;
      if (ordered) {
        if (el.is_set || terms.size() != 1 || terms[0].first != terms[0].second) {
          return Unknown(scope, Cat(what, " compared with a set or range"));
        }
        const uint64_t v = terms[0].first;
        const uint64_t max = MaxOf(f.key);
        uint64_t lo = 0;
        uint64_t hi = max;
        if (op == Op::kLt) {
          if (v == 0) return Constant(false);
          hi = v - 1;
        } else if (op == Op::kLe) {
          hi = v;
        } else if (op == Op::kGt) {
          if (v == max) return Constant(false);
          lo = v + 1;
        } else {
          lo = v;
        }
        terms = {ValueTerm::Range(lo, hi)};
      } else if (op == Op::kNot) {
        return Unknown(scope, Cat(what, " with operator !"));
      }
      m.negated = op == Op::kNe;
      switch (f.key) {
        case Key::kSaddr:
          m.kind = MatchKind::kSrcAddress;
          break;
        case Key::kDaddr:
          m.kind = MatchKind::kDstAddress;
          break;
        case Key::kProto:
          m.kind = MatchKind::kProtocol;
          break;
        case Key::kSport:
        case Key::kThSport:
          m.kind = MatchKind::kSrcPort;
          break;
        case Key::kDport:
        case Key::kThDport:
          m.kind = MatchKind::kDstPort;
          break;
        case Key::kIcmpType:
          m.kind = MatchKind::kIcmpType;
          break;
        default: {  // nfproto, ether type: fixed for an IPv4 packet
          const uint64_t ipv4 = f.key == Key::kNfproto ? 2 : 0x0800;
          bool member = false;
          for (const ValueTerm& t : terms) member = member || (t.first <= ipv4 && ipv4 <= t.second);
          if (ordered) return Constant(member);
          return Constant(member != m.negated);
        }
      }
      m.terms = std::move(terms);
      return m;
    }
    if (IsInterface(f.key)) {
      if (op != Op::kEq && op != Op::kNe && op != Op::kIn) {
        return Unknown(scope, Cat(what, " with an ordering operator"));
      }
      for (const Json* item : el.items) {
        const Json& v = Unwrap(*item);
        std::optional<std::string> name =
            v.is_string() ? Interface(v.get_ref<const std::string&>()) : std::nullopt;
        if (!name && (v.is_string() || UnsignedOf(v) || Member(v, "range") != nullptr)) {
          return Unknown(scope, Cat(what, " ", Brief(v)));  // an index, a range, a '+' name
        }
        if (!name) return BadValue(scope, f, v);
        m.interfaces.push_back(std::move(*name));
      }
      m.kind = f.key == Key::kIifname || f.key == Key::kIif ? MatchKind::kInInterface
                                                            : MatchKind::kOutInterface;
      m.negated = op == Op::kNe;
      return m;
    }
    // Flags: evaluate the comparison for the values the first packet can have.
    std::vector<uint64_t> values;
    for (const Json* item : el.items) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> v, Flags(f, Unwrap(*item), scope));
      if (!v) return Unknown(scope, Cat(what, " ", Brief(Unwrap(*item)), " (name not known)"));
      values.push_back(*v);
    }
    if (f.key == Key::kTcpFlags) return Constant(Compare(kSynOnly, op, values, el.is_set));
    if (f.key == Key::kCtState) {
      m.kind = MatchKind::kConnState;
      for (const auto& [bit, state] : kStateBits) {
        if (Compare(bit, op, values, el.is_set)) m.conn_states |= state;
      }
      return m;
    }
    // ct status: only "has any of these bits" and its negation are decided; of the bits, only
    // dnat (after a DNAT rule) and snat (on postrouting after the nat hook's source NAT) can be
    // set on the first packet of a new connection.
    if (el.is_set || (op != Op::kIn && op != Op::kNot)) {
      return Unknown(scope, Cat(what, " compared exactly"));
    }
    uint64_t v = 0;
    for (uint64_t value : values) v |= value;
    m.kind = MatchKind::kConnState;
    if (v & 32) m.conn_states |= kCtDnat;
    if (v & 16) m.conn_states |= kCtSnat;
    m.negated = op == Op::kNot;
    return m;
  }

  // `th` reads the ports of every protocol, the model only those of tcp and udp: unless the rule
  // restricts the protocol, packets of other protocols may match.
  void AddOtherProtocols(std::vector<Option>& options, const Scope& scope, const Field& f) {
    if (scope.tcp_udp_only) return;
    ReportUnknown(scope.where, Cat("match ", f.text, " on protocols other than tcp and udp"));
    Match other;
    other.kind = MatchKind::kProtocol;
    other.negated = true;
    other.terms = {ValueTerm::Range(kTcp, kTcp), ValueTerm::Range(kUdp, kUdp)};
    if (options.size() == 1) options[0].label = "tcp and udp";
    options.push_back(Option{{std::move(other), May()}, std::nullopt, "other protocols"});
  }

  Result<std::vector<Option>> MatchOptions(const Json& body, const Scope& scope) {
    std::optional<std::string_view> op_text = StringMember(body, "op");
    const Json* left = Member(body, "left");
    const Json* right = Member(body, "right");
    std::optional<Op> op = op_text ? OpOf(*op_text) : std::nullopt;
    if (!op || left == nullptr || right == nullptr) {
      return Fail(scope.where, Cat("一致条件 ", Brief(body), " を読めません。"),
                  Cat("cannot read the match ", Brief(body), "."));
    }
    if (const Json* parts = Member(*left, "concat"); parts != nullptr && left->size() == 1) {
      return ConcatOptions(*parts, *op, *right, scope);
    }
    if (const Json* binop = Member(*left, "&"); binop != nullptr && left->size() == 1) {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Match> matches, MaskedMatch(*binop, *op, *right, scope));
      return std::vector<Option>{Option{std::move(matches), std::nullopt, ""}};
    }
    const Field f = FieldOf(*left);
    if (!left->is_object()) return BadValue(scope, Field{Key::kUnknown, 0, "left"}, *left);
    std::vector<Match> matches = Deps(f);
    if (f.key == Key::kNever) return std::vector<Option>{Option{{Constant(false)}, {}, ""}};
    MAMORI_ASSIGN_OR_RETURN(Elements el, ElementsOf(*right, scope, false));
    MAMORI_ASSIGN_OR_RETURN(Match core, Core(f, el, *op, scope));
    matches.push_back(std::move(core));
    std::vector<Option> options{Option{std::move(matches), std::nullopt, ""}};
    if (f.key == Key::kThSport || f.key == Key::kThDport) AddOtherProtocols(options, scope, f);
    return options;
  }

  // `x & mask OP value`: addresses (non-contiguous masks), tcp flags and ct state.
  Result<std::vector<Match>> MaskedMatch(const Json& binop, Op op, const Json& right,
                                         const Scope& scope) {
    if (!binop.is_array() || binop.size() != 2) {
      return Fail(scope.where, "& の式が不正です。", "invalid & expression.");
    }
    const Field f = FieldOf(binop[0]);
    std::vector<Match> out = Deps(f);
    if (f.key == Key::kNever) return std::vector<Match>{Constant(false)};
    if ((f.key == Key::kSaddr || f.key == Key::kDaddr) && (op == Op::kEq || op == Op::kNe)) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> mask, Scalar(f, binop[1], scope));
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> value, Scalar(f, right, scope));
      Match m;
      m.kind = f.key == Key::kSaddr ? MatchKind::kSrcAddress : MatchKind::kDstAddress;
      m.negated = op == Op::kNe;
      m.terms.push_back(ValueTerm::Masked(*value & *mask, *mask));
      out.push_back(std::move(m));
      return out;
    }
    if ((f.key == Key::kTcpFlags || f.key == Key::kCtState) && (op == Op::kEq || op == Op::kNe)) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> mask, Flags(f, binop[1], scope));
      MAMORI_ASSIGN_OR_RETURN(std::optional<uint64_t> value, Flags(f, right, scope));
      if (mask && value) {
        if (f.key == Key::kTcpFlags) {
          out.push_back(Constant(((kSynOnly & *mask) == *value) == (op == Op::kEq)));
          return out;
        }
        Match m;
        m.kind = MatchKind::kConnState;
        for (const auto& [bit, state] : kStateBits) {
          if (((bit & *mask) == *value) == (op == Op::kEq)) m.conn_states |= state;
        }
        out.push_back(std::move(m));
        return out;
      }
    }
    out.push_back(Unknown(scope, Cat("match ", f.text, " & ", Brief(binop[1]))));
    return out;
  }

  Result<std::vector<Field>> ConcatFields(const Json& parts, const Scope& scope) const {
    if (!parts.is_array() || parts.size() < 2) {
      return Fail(scope.where, "連結 concat が不正です。", "invalid concatenation.");
    }
    std::vector<Field> fields;
    for (const Json& p : parts) fields.push_back(FieldOf(p));
    return fields;
  }

  static std::string ConcatText(const std::vector<Field>& fields) {
    std::string out;
    for (const Field& f : fields) out += out.empty() ? f.text : Cat(" . ", f.text);
    return out;
  }

  // The components of one element of a concatenation.
  Result<std::vector<const Json*>> Components(const Json& element, size_t n,
                                              const Scope& scope) const {
    const Json* parts = Member(element, "concat");
    if (parts == nullptr || !parts->is_array() || parts->size() != n) {
      return Fail(scope.where, Cat("要素 ", Brief(element), " が連結の形と合いません。"),
                  Cat("the element ", Brief(element), " does not fit the concatenation."));
    }
    std::vector<const Json*> out;
    for (const Json& p : *parts) out.push_back(&Unwrap(p));
    return out;
  }

  static Elements One(const Json* v) {
    Elements el;
    el.items.push_back(v);
    el.is_set = true;  // one element: compared for equality
    return el;
  }

  Result<std::vector<Option>> ConcatOptions(const Json& parts, Op op, const Json& right,
                                            const Scope& scope) {
    MAMORI_ASSIGN_OR_RETURN(std::vector<Field> fields, ConcatFields(parts, scope));
    std::vector<Match> deps;
    bool th = false;
    for (const Field& f : fields) {
      if (f.key == Key::kNever) return std::vector<Option>{Option{{Constant(false)}, {}, ""}};
      for (Match& d : Deps(f)) deps.push_back(std::move(d));
      th = th || f.key == Key::kThSport || f.key == Key::kThDport;
    }
    const std::string text = ConcatText(fields);
    MAMORI_ASSIGN_OR_RETURN(Elements el, ElementsOf(right, scope, false));
    const bool unknown_field = std::any_of(fields.begin(), fields.end(),
                                           [](const Field& f) { return f.key == Key::kUnknown; });
    std::vector<Option> options;
    if (unknown_field || el.dynamic || (op != Op::kEq && op != Op::kIn && op != Op::kNe)) {
      deps.push_back(Unknown(scope, Cat("match ", text,
                                        el.dynamic ? Cat(" against set @", el.set_name,
                                                         " (its content changes at run time)")
                                                   : std::string())));
      options.push_back(Option{std::move(deps), std::nullopt, ""});
    } else if (op != Op::kNe) {
      // Positive: one rule per element.
      for (size_t k = 0; k < el.items.size(); ++k) {
        MAMORI_ASSIGN_OR_RETURN(std::vector<const Json*> comps,
                                Components(Unwrap(*el.items[k]), fields.size(), scope));
        Option o{deps, std::nullopt, ""};
        for (size_t i = 0; i < fields.size(); ++i) {
          MAMORI_ASSIGN_OR_RETURN(Match m, Core(fields[i], One(comps[i]), Op::kEq, scope));
          o.matches.push_back(std::move(m));
        }
        if (el.items.size() > 1) o.label = Cat("set element ", std::to_string(k + 1));
        options.push_back(std::move(o));
      }
    } else {
      // Negated: the packet differs from every element in at least one component; one rule
      // per choice of such components.
      std::vector<std::vector<Match>> cases{{}};
      for (const Json* item : el.items) {
        MAMORI_ASSIGN_OR_RETURN(std::vector<const Json*> comps,
                                Components(Unwrap(*item), fields.size(), scope));
        if (cases.size() * fields.size() > kMaxNegatedCases) {
          cases = {{Unknown(scope, Cat("match ", text, " != a set of ",
                                       std::to_string(el.items.size()), " elements"))}};
          break;
        }
        std::vector<std::vector<Match>> next;
        for (const std::vector<Match>& c : cases) {
          for (size_t i = 0; i < fields.size(); ++i) {
            MAMORI_ASSIGN_OR_RETURN(Match m, Core(fields[i], One(comps[i]), Op::kNe, scope));
            next.push_back(c);
            next.back().push_back(std::move(m));
          }
        }
        cases = std::move(next);
      }
      for (size_t k = 0; k < cases.size(); ++k) {
        Option o{deps, std::nullopt, ""};
        o.matches.insert(o.matches.end(), cases[k].begin(), cases[k].end());
        if (cases.size() > 1) o.label = Cat("case ", std::to_string(k + 1));
        options.push_back(std::move(o));
      }
    }
    if (th) AddOtherProtocols(options, scope, Field{Key::kThDport, 0, text});
    return options;
  }

  // The key matches of one map element: `key` is a field or a concatenation.
  Result<std::vector<Match>> KeyMatches(const Json& key, const Json& element, const Scope& scope) {
    std::vector<Match> out;
    if (const Json* parts = Member(key, "concat"); parts != nullptr && key.size() == 1) {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Field> fields, ConcatFields(*parts, scope));
      MAMORI_ASSIGN_OR_RETURN(std::vector<const Json*> comps,
                              Components(element, fields.size(), scope));
      for (size_t i = 0; i < fields.size(); ++i) {
        for (Match& d : Deps(fields[i])) out.push_back(std::move(d));
        MAMORI_ASSIGN_OR_RETURN(Match m, Core(fields[i], One(comps[i]), Op::kEq, scope));
        out.push_back(std::move(m));
      }
      return out;
    }
    const Field f = FieldOf(key);
    out = Deps(f);
    MAMORI_ASSIGN_OR_RETURN(Match m, Core(f, One(&element), Op::kEq, scope));
    out.push_back(std::move(m));
    return out;
  }

  // Whether the key of a map is modelled; when not, every element is taken to possibly match.
  // `th` ports are modelled for tcp and udp only: in a key, only when the rule restricts the
  // protocol to those.
  static bool KeyModelled(const Json& key, const Scope& scope) {
    auto modelled = [&](const Json& part) {
      const Key k = FieldOf(part).key;
      return k != Key::kUnknown &&
             (scope.tcp_udp_only || (k != Key::kThSport && k != Key::kThDport));
    };
    if (const Json* parts = Member(key, "concat"); parts != nullptr && parts->is_array()) {
      return std::all_of(parts->begin(), parts->end(), modelled);
    }
    return modelled(key);
  }

  static std::string KeyText(const Json& key) {
    if (const Json* parts = Member(key, "concat"); parts != nullptr && parts->is_array()) {
      std::string out;
      for (const Json& p : *parts)
        out += out.empty() ? FieldOf(p).text : Cat(" . ", FieldOf(p).text);
      return out;
    }
    return FieldOf(key).text;
  }

  // The (key, value) pairs of a map: `data` names a map or is an anonymous one.
  Result<std::vector<std::pair<const Json*, const Json*>>> Pairs(const Json& data,
                                                                 const Scope& scope,
                                                                 bool& dynamic) const {
    MAMORI_ASSIGN_OR_RETURN(Elements el, ElementsOf(data, scope, true));
    dynamic = el.dynamic;
    std::vector<std::pair<const Json*, const Json*>> out;
    for (const Json* item : el.items) {
      if (!item->is_array() || item->size() != 2) {
        return Fail(scope.where, Cat("対応表の要素 ", Brief(*item), " が不正です。"),
                    Cat("invalid map element ", Brief(*item), "."));
      }
      out.emplace_back(&Unwrap((*item)[0]), &(*item)[1]);
    }
    return out;
  }

  // One rule per element of a verdict map: the key matches and the element's verdict.
  Result<std::vector<Option>> VmapOptions(const Json& body, const Scope& scope) {
    const Json* key = Member(body, "key");
    const Json* data = Member(body, "data");
    if (key == nullptr || data == nullptr) {
      return Fail(scope.where, "vmap に key か data がありません。", "vmap needs key and data.");
    }
    bool dynamic = false;
    MAMORI_ASSIGN_OR_RETURN(auto pairs, Pairs(*data, scope, dynamic));
    const bool modelled = KeyModelled(*key, scope) && !dynamic;
    if (!modelled) ReportUnknown(scope.where, Cat("vmap on ", KeyText(*key)));
    std::vector<Option> options;
    for (size_t k = 0; k < pairs.size(); ++k) {
      Option o;
      if (modelled) {
        MAMORI_ASSIGN_OR_RETURN(o.matches, KeyMatches(*key, *pairs[k].first, scope));
      } else {
        o.matches.push_back(May());
      }
      MAMORI_ASSIGN_OR_RETURN(o.action, Verdict(*pairs[k].second, scope));
      if (pairs.size() > 1) o.label = Cat("vmap element ", std::to_string(k + 1));
      options.push_back(std::move(o));
    }
    return options;
  }

  // A NAT address: "a", {"range": [a, b]} or {"prefix": …} → a range; nullopt: not modelled.
  Result<std::optional<ValueTerm>> NatAddress(const Json& v, const Scope& scope) const {
    const Field f{Key::kDaddr, 0, "nat address"};
    if (!v.is_string() && Member(v, "range") == nullptr && Member(v, "prefix") == nullptr) {
      return std::optional<ValueTerm>();
    }
    MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> t, Term(f, v, scope));
    if (t && t->kind == ValueTerm::Kind::kMasked) {
      t = ValueTerm::Range(t->first, t->first | (~t->second & kMaxAddress));
    }
    return t;
  }

  Result<std::optional<ValueTerm>> NatPort(const Json& v, const Scope& scope) const {
    const Field f{Key::kDport, 0, "nat port"};
    if (!v.is_string() && !UnsignedOf(v) && Member(v, "range") == nullptr) {
      return std::optional<ValueTerm>();
    }
    return Term(f, v, scope);
  }

  Result<std::vector<Option>> NatOptions(std::string_view kind, const Json& body,
                                         const Scope& scope) {
    const bool dnat = kind == "dnat";
    Action action = MakeAction(dnat ? ActionKind::kDnat : ActionKind::kSnat, std::string(kind));
    if (!body.is_object()) {
      return Fail(scope.where, Cat(kind, " に宛先がありません。"), Cat(kind, " needs \"addr\"."));
    }
    if (std::optional<std::string_view> family = StringMember(body, "family");
        family && *family != "ip") {
      return std::vector<Option>{Option{{Constant(false)}, action, ""}};  // IPv6 only
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "addr" && key != "port" && key != "family" && key != "flags") {
        ReportUnknown(scope.where, Cat(kind, " option ", key));
      }
    }
    // Parts that are not modelled: for DNAT the packet may then go anywhere.
    auto unmodelled = [&](std::string_view part, const Json& v) -> ValueTerm {
      ReportUnknown(scope.where,
                    Cat(kind, " ", part, " ", Brief(v), dnat ? " (taken to be any)" : ""));
      return ValueTerm::Range(0, part == "port" ? 65535 : kMaxAddress);
    };
    if (const Json* port = Member(body, "port")) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> p, NatPort(*port, scope));
      action.nat.port = p ? *p : unmodelled("port", *port);
    }
    const Json* addr = Member(body, "addr");
    if (addr == nullptr) {
      if (!action.nat.port) {
        return Fail(scope.where, Cat(kind, " に宛先がありません。"), Cat(kind, " needs \"addr\"."));
      }
      return std::vector<Option>{Ends(std::move(action))};
    }
    const Json* map = Member(*addr, "map");
    if (map == nullptr) {
      MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> a, NatAddress(*addr, scope));
      action.nat.address = a ? *a : unmodelled("address", *addr);
      return std::vector<Option>{Ends(std::move(action))};
    }
    // `dnat to KEY map { k : address [. port] }`: one rule per element.
    const Json* key = Member(*map, "key");
    const Json* data = Member(*map, "data");
    if (key == nullptr || data == nullptr) {
      return Fail(scope.where, Cat(kind, " の map に key か data がありません。"),
                  Cat("the ", kind, " map needs key and data."));
    }
    bool dynamic = false;
    MAMORI_ASSIGN_OR_RETURN(auto pairs, Pairs(*data, scope, dynamic));
    const bool modelled = KeyModelled(*key, scope) && !dynamic;
    if (!modelled) ReportUnknown(scope.where, Cat(kind, " map on ", KeyText(*key)));
    std::vector<Option> options;
    for (size_t k = 0; k < pairs.size(); ++k) {
      Option o;
      if (modelled) {
        MAMORI_ASSIGN_OR_RETURN(o.matches, KeyMatches(*key, *pairs[k].first, scope));
      } else {
        o.matches.push_back(May());
      }
      Action a = action;
      const Json& value = Unwrap(*pairs[k].second);
      const Json* address = &value;
      if (const Json* parts = Member(value, "concat"); parts != nullptr && value.size() == 1) {
        if (!parts->is_array() || parts->size() != 2) {
          return Fail(scope.where, Cat("対応表の値 ", Brief(value), " が不正です。"),
                      Cat("invalid map value ", Brief(value), "."));
        }
        address = &(*parts)[0];
        MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> p, NatPort((*parts)[1], scope));
        a.nat.port = p ? *p : unmodelled("port", (*parts)[1]);
      }
      MAMORI_ASSIGN_OR_RETURN(std::optional<ValueTerm> t, NatAddress(*address, scope));
      a.nat.address = t ? *t : unmodelled("address", *address);
      o.action = std::move(a);
      if (pairs.size() > 1) o.label = Cat("map element ", std::to_string(k + 1));
      options.push_back(std::move(o));
    }
    return options;
  }

  // Orders the base chains as the kernel runs them and reports orders it leaves undefined.
  void BuildPath() {
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return std::tuple(a.base.hook, a.base.priority, a.declared) <
                              std::tuple(b.base.hook, b.base.priority, b.declared);
                     });
    for (size_t i = 0; i < candidates_.size(); ++i) {
      const Candidate& c = candidates_[i];
      if (i > 0) {
        const Candidate& p = candidates_[i - 1];
        const bool tie = p.base.hook == c.base.hook && p.base.priority == c.base.priority &&
                         (p.base.type != c.base.type ||
                          (c.base.type == ChainType::kNat && p.declared == c.declared));
        if (tie) {
          ReportUnknown(c.location,
                        Cat("the order of base chains ", p.base.table, " ", p.base.chain, " and ",
                            c.base.table, " ", c.base.chain,
                            " at the same priority is not defined (taken: listing order)"));
        }
      }
      ruleset_.base_chains.push_back(c.base);
    }
  }

  std::string_view file_;
  Ruleset ruleset_;
  std::vector<uint32_t> lines_;  // the line of each element of the "nftables" array
  std::map<std::pair<std::string, std::string>, TableInfo> tables_;  // by (family, name)
  std::vector<Candidate> candidates_;
  std::vector<Unmodelled> unmodelled_;
  std::map<std::pair<std::string, std::string>, size_t> ingress_;  // inet ingress chains
  std::map<std::string, size_t> unnumbered_;  // rules without a handle, per chain
  size_t rule_count_ = 0;
};

}  // namespace

Result<Ruleset> ParseNftJson(std::string_view text, std::string_view file,
                             std::string_view device) {
  Parser parser(file, device);
  return parser.Parse(text);
}

}  // namespace mamori::netsep
