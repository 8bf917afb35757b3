#include "netsep/ipset.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/text.h"
#include "netsep/iptables.h"  // kMaxConfigBytes

namespace mamori::netsep {
namespace {

constexpr size_t kMaxTokensPerLine = 64;
constexpr size_t kMaxSets = 65536;
constexpr size_t kMaxNameLength = 31;  // IPSET_MAXNAMELEN - 1
constexpr size_t kMaxDimensions = 6;   // IPSET_DIM_MAX
constexpr uint64_t kBitmapMaxValues = 65536;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmp = 1;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kSctp = 132;
constexpr uint8_t kUdplite = 136;

// What one dimension of a set type holds.
enum class Dim {
  kIp,          // an address (ranges and prefixes are expanded to addresses when added)
  kNet,         // a network: entries of several prefix lengths, the most specific decides
  kPort,        // [proto:]port, read for the packet's own protocol
  kBitmapPort,  // a port of a tcp or udp packet
};

enum class Kind { kHash, kBitmap, kList };

struct TypeInfo {
  std::string_view name;
  std::string_view alias;  // the name ipset 4 used, still accepted by `ipset restore`
  Kind kind;
  std::vector<Dim> dims;
  bool nomatch;  // entries may be marked nomatch (IPSET_TYPE_NOMATCH)
  bool masks;    // netmask and bitmask apply to the first (address) dimension
};

const std::array<TypeInfo, 11> kTypes = {{
    {"hash:ip", "iphash", Kind::kHash, {Dim::kIp}, false, true},
    {"hash:net", "nethash", Kind::kHash, {Dim::kNet}, true, false},
    {"hash:ip,port", "ipporthash", Kind::kHash, {Dim::kIp, Dim::kPort}, false, true},
    {"hash:net,port", "", Kind::kHash, {Dim::kNet, Dim::kPort}, true, false},
    {"hash:ip,port,ip",
     "ipportiphash",
     Kind::kHash,
     {Dim::kIp, Dim::kPort, Dim::kIp},
     false,
     false},
    {"hash:ip,port,net",
     "ipportnethash",
     Kind::kHash,
     {Dim::kIp, Dim::kPort, Dim::kNet},
     true,
     false},
    {"hash:net,port,net", "", Kind::kHash, {Dim::kNet, Dim::kPort, Dim::kNet}, true, false},
    {"hash:net,net", "", Kind::kHash, {Dim::kNet, Dim::kNet}, true, false},
    {"bitmap:ip", "ipmap", Kind::kBitmap, {Dim::kIp}, false, true},
    {"bitmap:port", "portmap", Kind::kBitmap, {Dim::kBitmapPort}, false, false},
    {"list:set", "setlist", Kind::kList, {}, false, false},
}};

// Types ipset has that netcheck does not model (their sets parse; a match on them may match).
constexpr std::array<std::string_view, 6> kOtherTypes = {
    "hash:mac", "hash:ip,mac", "hash:net,iface", "hash:ip,mark", "bitmap:ip,mac", "macipmap"};

// /etc/protocols (netbase), as `ipset save` names the protocol of a [proto:]port.
constexpr std::array<std::pair<std::string_view, uint8_t>, 56> kProtocols = {{
    {"hopopt", 0},      {"icmp", 1},         {"igmp", 2},        {"ggp", 3},
    {"ipencap", 4},     {"st", 5},           {"tcp", 6},         {"egp", 8},
    {"igp", 9},         {"pup", 12},         {"udp", 17},        {"hmp", 20},
    {"xns-idp", 22},    {"rdp", 27},         {"iso-tp4", 29},    {"dccp", 33},
    {"xtp", 36},        {"ddp", 37},         {"idpr-cmtp", 38},  {"ipv6", 41},
    {"ipv6-route", 43}, {"ipv6-frag", 44},   {"idrp", 45},       {"rsvp", 46},
    {"gre", 47},        {"esp", 50},         {"ah", 51},         {"skip", 57},
    {"ipv6-icmp", 58},  {"icmpv6", 58},      {"ipv6-nonxt", 59}, {"ipv6-opts", 60},
    {"rspf", 73},       {"vmtp", 81},        {"eigrp", 88},      {"ospf", 89},
    {"ax.25", 93},      {"ipip", 94},        {"etherip", 97},    {"encap", 98},
    {"pim", 103},       {"ipcomp", 108},     {"vrrp", 112},      {"l2tp", 115},
    {"isis", 124},      {"sctp", 132},       {"fc", 133},        {"mobility-header", 135},
    {"udplite", 136},   {"mpls-in-ip", 137}, {"manet", 138},     {"hip", 139},
    {"shim6", 140},     {"wesp", 141},       {"rohc", 142},      {"ethernet", 143},
}};

// Common service names of /etc/services (`ipset save` prints numbers; these are for files
// written by hand).
constexpr std::array<std::pair<std::string_view, uint16_t>, 34> kServices = {{
    {"ftp-data", 20},     {"ftp", 21},        {"ssh", 22},           {"telnet", 23},
    {"smtp", 25},         {"domain", 53},     {"bootps", 67},        {"bootpc", 68},
    {"tftp", 69},         {"http", 80},       {"www", 80},           {"kerberos", 88},
    {"pop3", 110},        {"ntp", 123},       {"netbios-ns", 137},   {"netbios-dgm", 138},
    {"netbios-ssn", 139}, {"imap2", 143},     {"imap", 143},         {"snmp", 161},
    {"ldap", 389},        {"https", 443},     {"microsoft-ds", 445}, {"syslog", 514},
    {"submission", 587},  {"ldaps", 636},     {"imaps", 993},        {"pop3s", 995},
    {"ms-sql-s", 1433},   {"openvpn", 1194},  {"mysql", 3306},       {"ms-wbt-server", 3389},
    {"postgresql", 5432}, {"http-alt", 8080},
}};

// ICMP code names ipset knows (`ipset help hash:ip,port`); the values do not matter here, as
// ICMP elements are not modelled.
constexpr std::array<std::string_view, 34> kIcmpNames = {
    "echo-reply",
    "pong",
    "network-unreachable",
    "host-unreachable",
    "protocol-unreachable",
    "port-unreachable",
    "fragmentation-needed",
    "source-route-failed",
    "network-unknown",
    "host-unknown",
    "network-prohibited",
    "host-prohibited",
    "TOS-network-unreachable",
    "TOS-host-unreachable",
    "communication-prohibited",
    "host-precedence-violation",
    "precedence-cutoff",
    "source-quench",
    "network-redirect",
    "host-redirect",
    "TOS-network-redirect",
    "TOS-host-redirect",
    "echo-request",
    "ping",
    "router-advertisement",
    "router-solicitation",
    "ttl-zero-during-transit",
    "ttl-zero-during-reassembly",
    "ip-header-bad",
    "required-option-missing",
    "timestamp-request",
    "timestamp-reply",
    "address-mask-request",
    "address-mask-reply",
};

std::optional<uint64_t> Number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t value = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t at = s.find(separator);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s = s.substr(at + 1);
  }
  return out;
}

// The prefixes that cover [lo, hi] exactly, largest first from lo (as ipset splits a range
// added to a net type: ip_set_range_to_cidr).
std::vector<Prefix> RangeToPrefixes(uint32_t lo, uint32_t hi) {
  std::vector<Prefix> out;
  uint64_t at = lo;
  while (at <= hi) {
    int length = 32;
    while (length > 0) {
      const uint64_t size = uint64_t{1} << (32 - (length - 1));
      if ((at & (size - 1)) != 0 || at + size - 1 > hi) break;
      --length;
    }
    out.push_back({static_cast<uint32_t>(at), length});
    at += uint64_t{1} << (32 - length);
  }
  return out;
}

uint32_t MaskOf(int length) { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }

// One value of an element in one dimension.
struct Value {
  uint32_t lo = 0;  // address, or port; a kNet value is the prefix [lo, hi]
  uint32_t hi = 0;
  uint8_t cidr = 32;  // kNet: the prefix length
  uint8_t proto = 0;  // kPort: the protocol (tcp, udp, or one whose "port" is ignored)
};

struct Element {
  std::array<Value, 3> values;
  bool nomatch = false;
};

struct IpSet {
  std::string name;
  const TypeInfo* type = nullptr;  // nullptr: a type netcheck does not model
  std::string type_name;
  uint32_t line = 0;
  bool ipv6 = false;
  std::string unmodelled;      // why a match on this set is not modelled ("": it is)
  uint32_t mask = 0xffffffff;  // netmask or bitmask of the first dimension (types with `masks`)
  bool bitmask = false;        // `mask` came from `bitmask` (need not be contiguous)
  bool has_range = false;      // bitmap types: `range`
  uint32_t range_lo = 0;
  uint32_t range_hi = 0;
  std::vector<Element> elements;
  std::vector<size_t> members;  // list:set: the member sets, by index
};

}  // namespace

struct Ipsets::Data {
  std::string file;
  std::vector<IpSet> sets;
  std::map<std::string, size_t, std::less<>> index;
};

namespace {

class Parser {
 public:
  explicit Parser(std::string_view file) { data_.file = std::string(file); }

  Result<Ipsets::Data> Parse(std::string_view text) {
    if (text.size() > kMaxConfigBytes) {
      return Error::TooLarge(Cat(data_.file, ": ipset ファイルが大きすぎます。"),
                             Cat(data_.file, ": the ipset file is too large."));
    }
    uint32_t number = 0;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      MAMORI_TRY(ParseLine(number, line));
    }
    return std::move(data_);
  }

 private:
  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(data_.file, ":", std::to_string(line), ": ");
    return Error::Invalid(Printable(Cat(where, ja)), Printable(Cat(where, en)));
  }

  Error BadElement(uint32_t line, const IpSet& set, std::string_view element,
                   std::string_view why_ja, std::string_view why_en) const {
    return Fail(line,
                Cat("集合 ", set.name, " (", set.type_name, ") の要素 \"", element,
                    "\" が不正です: ", why_ja),
                Cat("invalid element \"", element, "\" for set ", set.name, " (", set.type_name,
                    "): ", why_en));
  }

  void NotModelled(IpSet& set, uint32_t line, std::string_view why) {
    if (set.unmodelled.empty()) {
      set.unmodelled = Cat(data_.file, ":", std::to_string(line), ": ", why);
    }
  }

  Result<std::vector<std::string>> Tokenize(uint32_t number, std::string_view s) const {
    WordsError why{};
    std::optional<std::vector<std::string>> words = SplitWords(s, kMaxTokensPerLine, why);
    if (!words) return Fail(number, why.ja, why.en);
    return std::move(*words);
  }

  Status ParseLine(uint32_t number, std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') return {};
    MAMORI_ASSIGN_OR_RETURN(std::vector<std::string> tokens, Tokenize(number, line));
    if (tokens.empty()) return {};
    const std::string& command = tokens[0];
    if (command == "create" || command == "n" || command == "-N") return Create(number, tokens);
    if (command == "add" || command == "a" || command == "-A") return Add(number, tokens);
    return Fail(number,
                Cat("コマンド ", command,
                    " は読めません（ipset save の出力の create と add の行だけを読みます）。"),
                Cat("cannot read the command ", command,
                    " (only the create and add lines of `ipset save` output are read)."));
  }

  Result<std::string_view> Word(uint32_t number, const std::vector<std::string>& tokens,
                                size_t& i) const {
    if (i + 1 >= tokens.size()) {
      return Fail(number, Cat(tokens[i], " の値がありません。"), Cat(tokens[i], " needs a value."));
    }
    return std::string_view(tokens[++i]);
  }

  Status Create(uint32_t number, const std::vector<std::string>& tokens) {
    if (tokens.size() < 3) {
      return Fail(number, "create には集合の名前と型が必要です。",
                  "create needs a set name and a type.");
    }
    const std::string& name = tokens[1];
    if (name.empty() || name.size() > kMaxNameLength) {
      return Fail(number, Cat("集合の名前 \"", name, "\" が不正です（31 文字まで）。"),
                  Cat("invalid set name \"", name, "\" (31 characters at most)."));
    }
    if (data_.index.count(name) > 0) {
      return Fail(number, Cat("集合 ", name, " はすでに作られています。"),
                  Cat("set ", name, " is created twice."));
    }
    if (data_.sets.size() >= kMaxSets) {
      return Error::TooLarge(Cat(data_.file, ": 集合が多すぎます。"),
                             Cat(data_.file, ": too many sets."));
    }
    IpSet set;
    set.name = name;
    set.line = number;
    set.type_name = tokens[2];
    for (const TypeInfo& type : kTypes) {
      if (tokens[2] == type.name || (!type.alias.empty() && tokens[2] == type.alias)) {
        set.type = &type;
        set.type_name = std::string(type.name);
      }
    }
    if (set.type == nullptr) {
      if (std::find(kOtherTypes.begin(), kOtherTypes.end(), tokens[2]) == kOtherTypes.end()) {
        return Fail(number, Cat("集合の型 ", tokens[2], " は ipset にありません。"),
                    Cat("unknown set type ", tokens[2], "."));
      }
      NotModelled(set, number, Cat("set type ", tokens[2], " is not modelled"));
    }
    MAMORI_TRY(CreateOptions(number, tokens, set));
    data_.index.emplace(set.name, data_.sets.size());
    data_.sets.push_back(std::move(set));
    return {};
  }

  Status CreateOptions(uint32_t number, const std::vector<std::string>& tokens, IpSet& set) {
    const TypeInfo* type = set.type;
    bool netmask = false;
    for (size_t i = 3; i < tokens.size(); ++i) {
      const std::string& option = tokens[i];
      if (option == "family") {
        MAMORI_ASSIGN_OR_RETURN(std::string_view family, Word(number, tokens, i));
        if (family == "inet6") {
          set.ipv6 = true;
        } else if (family != "inet") {
          return Fail(number, Cat("family ", family, " が不正です（inet か inet6）。"),
                      Cat("invalid family ", family, " (inet or inet6)."));
        }
      } else if (option == "-6" || option == "-4") {
        set.ipv6 = option == "-6";
      } else if (option == "hashsize" || option == "maxelem" || option == "bucketsize" ||
                 option == "initval" || option == "size" || option == "probes" ||
                 option == "resize" || option == "markmask") {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        if (!Number(v, 0xffffffff)) {
          return Fail(number, Cat(option, " の値 \"", v, "\" が不正です。"),
                      Cat("invalid value \"", v, "\" for ", option, "."));
        }
      } else if (option == "counters" || option == "comment" || option == "skbinfo" ||
                 option == "forceadd") {
        // Per-entry data that does not decide whether a packet matches.
      } else if (option == "timeout") {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        if (!Number(v, 0xffffffff)) {
          return Fail(number, Cat("timeout の値 \"", v, "\" が不正です。"),
                      Cat("invalid value \"", v, "\" for timeout."));
        }
        NotModelled(set, number,
                    "set with timeout: its entries expire and are added at run time, so the "
                    "saved content is only a snapshot");
      } else if (option == "netmask" && type != nullptr && type->masks && !set.ipv6) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        std::optional<uint64_t> length = Number(v, 32);
        if (!length || *length == 0 || set.bitmask) {
          return Fail(number,
                      Cat("netmask の値 \"", v, "\" が不正です（1〜32、bitmask とは併用不可）。"),
                      Cat("invalid netmask \"", v, "\" (1-32, not with bitmask)."));
        }
        set.mask = MaskOf(static_cast<int>(*length));
        netmask = true;
      } else if (option == "bitmask" && type != nullptr && type->masks &&
                 type->kind == Kind::kHash && !set.ipv6) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        std::optional<uint32_t> mask = ParseIpv4(v);
        if (!mask || *mask == 0 || netmask) {
          return Fail(number, Cat("bitmask の値 \"", v, "\" が不正です（netmask とは併用不可）。"),
                      Cat("invalid bitmask \"", v, "\" (not with netmask)."));
        }
        set.mask = *mask;
        set.bitmask = true;
      } else if (option == "range" && type != nullptr && type->kind == Kind::kBitmap) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        MAMORI_TRY(BitmapRange(number, v, set));
      } else if (type != nullptr && !set.ipv6) {
        // (The options of a set that is not modelled anyway are skipped: it is reported where a
        // rule uses it.)
        NotModelled(set, number, Cat("create option ", option, " is not modelled"));
      }
    }
    if (type != nullptr && type->kind == Kind::kBitmap && !set.ipv6) {
      if (!set.has_range) {
        return Fail(number, Cat(type->name, " には range が必要です。"),
                    Cat(type->name, " needs a range."));
      }
      if (type->dims[0] == Dim::kIp) {  // netmask widens the range to whole blocks
        set.range_lo &= set.mask;
        set.range_hi |= ~set.mask;
      }
      const uint64_t hosts = uint64_t{~set.mask} + 1;
      if ((uint64_t{set.range_hi} - set.range_lo) / hosts + 1 > kBitmapMaxValues) {
        return Fail(number, "range が大きすぎます（65536 個まで）。",
                    "the range is too large (65,536 values at most).");
      }
    }
    return {};
  }

  Status BitmapRange(uint32_t number, std::string_view v, IpSet& set) {
    const Error bad =
        Fail(number, Cat("range の値 \"", v, "\" が不正です。"), Cat("invalid range \"", v, "\"."));
    if (set.type->dims[0] == Dim::kBitmapPort) {
      const std::vector<std::string_view> parts = Split(v, '-');
      if (parts.size() != 2) return bad;
      std::optional<uint64_t> lo = Number(parts[0], 65535);
      std::optional<uint64_t> hi = Number(parts[1], 65535);
      if (!lo || !hi || *lo > *hi) return bad;
      set.range_lo = static_cast<uint32_t>(*lo);
      set.range_hi = static_cast<uint32_t>(*hi);
    } else {
      std::optional<std::pair<uint32_t, uint32_t>> range = AddressRange(v, true);
      if (!range) return bad;
      set.range_lo = range->first;
      set.range_hi = range->second;
    }
    set.has_range = true;
    return {};
  }

  // "A", "A/len" (1-32; host bits are cleared) or "A-B" (either order) → [lo, hi].
  static std::optional<std::pair<uint32_t, uint32_t>> AddressRange(std::string_view s,
                                                                   bool allow_range) {
    const size_t dash = s.find('-');
    if (dash != std::string_view::npos) {
      if (!allow_range) return std::nullopt;
      std::optional<uint32_t> a = ParseIpv4(s.substr(0, dash));
      std::optional<uint32_t> b = ParseIpv4(s.substr(dash + 1));
      if (!a || !b) return std::nullopt;
      return std::pair{std::min(*a, *b), std::max(*a, *b)};
    }
    const size_t slash = s.find('/');
    std::optional<uint32_t> a = ParseIpv4(s.substr(0, slash));
    if (!a) return std::nullopt;
    if (slash == std::string_view::npos) return std::pair{*a, *a};
    if (!allow_range) return std::nullopt;
    std::optional<uint64_t> length = Number(s.substr(slash + 1), 32);
    if (!length || *length == 0) return std::nullopt;
    const uint32_t mask = MaskOf(static_cast<int>(*length));
    return std::pair{*a & mask, (*a & mask) | ~mask};
  }

  Status Add(uint32_t number, const std::vector<std::string>& tokens) {
    if (tokens.size() < 3) {
      return Fail(number, "add には集合の名前と要素が必要です。",
                  "add needs a set name and an element.");
    }
    auto found = data_.index.find(tokens[1]);
    if (found == data_.index.end()) {
      return Fail(number, Cat("集合 ", tokens[1], " は create されていません。"),
                  Cat("set ", tokens[1], " is not created before this line."));
    }
    const size_t set_index = found->second;
    IpSet& set = data_.sets[set_index];
    bool nomatch = false;
    for (size_t i = 3; i < tokens.size(); ++i) {
      const std::string& option = tokens[i];
      if (option == "nomatch") {
        if (set.type != nullptr && !set.type->nomatch) {
          return Fail(number, Cat("型 ", set.type_name, " の集合に nomatch は使えません。"),
                      Cat("nomatch is not valid for a set of type ", set.type_name, "."));
        }
        nomatch = true;
      } else if (option == "timeout" || option == "packets" || option == "bytes" ||
                 option == "comment" || option == "skbmark" || option == "skbprio" ||
                 option == "skbqueue") {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        (void)v;  // per-entry data: does not decide whether a packet matches
      } else if ((option == "before" || option == "after") && set.type != nullptr &&
                 set.type->kind == Kind::kList) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Word(number, tokens, i));
        (void)v;  // the order of a list's members does not change what it matches
      } else {
        return Fail(number, Cat("add のオプション ", option, " は読めません。"),
                    Cat("unknown add option ", option, "."));
      }
    }
    if (set.type == nullptr || set.ipv6) return {};  // not modelled: reported where used
    const std::string& element = tokens[2];
    if (set.type->kind == Kind::kList) {
      auto member = data_.index.find(element);
      if (member == data_.index.end()) {
        return BadElement(number, set, element, "その名前の集合は create されていません。",
                          "no set of that name is created before this line.");
      }
      const IpSet& m = data_.sets[member->second];
      if (m.type != nullptr && m.type->kind == Kind::kList) {
        return BadElement(number, set, element, "list:set は list:set を含められません。",
                          "a list:set cannot hold a list:set.");
      }
      set.members.push_back(member->second);
      return {};
    }
    return AddElement(number, set, element, nomatch);
  }

  // One element of a hash or bitmap set: each dimension's values (a range of a net dimension
  // becomes one element per prefix, as ipset adds it), then their product.
  Status AddElement(uint32_t number, IpSet& set, std::string_view element, bool nomatch) {
    const std::vector<Dim>& dims = set.type->dims;
    const std::vector<std::string_view> parts = Split(element, ',');
    if (parts.size() != dims.size()) {
      return BadElement(number, set, element,
                        Cat(std::to_string(dims.size()), " 個の値を , で区切ってください。"),
                        Cat("it needs ", std::to_string(dims.size()), " comma-separated values."));
    }
    std::array<std::vector<Value>, 3> values;
    for (size_t d = 0; d < dims.size(); ++d) {
      MAMORI_ASSIGN_OR_RETURN(values[d], DimValues(number, set, element, d, parts[d]));
    }
    uint64_t count = 1;
    for (size_t d = 0; d < dims.size(); ++d) count *= values[d].size();
    if (total_elements_ + count > kMaxIpsetElements) {
      return Error::TooLarge(
          Cat(data_.file, ":", std::to_string(number), ": 要素が多すぎます。"),
          Cat(data_.file, ":", std::to_string(number), ": too many elements (1,000,000 at most)."));
    }
    total_elements_ += count;
    std::array<size_t, 3> at = {0, 0, 0};
    while (true) {
      Element e;
      e.nomatch = nomatch;
      for (size_t d = 0; d < dims.size(); ++d) e.values[d] = values[d][at[d]];
      set.elements.push_back(e);
      size_t d = 0;
      while (d < dims.size() && ++at[d] == values[d].size()) at[d++] = 0;
      if (d == dims.size()) break;
    }
    return {};
  }

  Result<std::vector<Value>> DimValues(uint32_t number, IpSet& set, std::string_view element,
                                       size_t d, std::string_view text) {
    const Dim dim = set.type->dims[d];
    auto bad = [&](std::string_view ja, std::string_view en) {
      return BadElement(number, set, element, ja, en);
    };
    switch (dim) {
      case Dim::kNet: {
        std::optional<std::pair<uint32_t, uint32_t>> range = AddressRange(text, true);
        if (!range) return bad("ネットワークが読めません。", "not a network.");
        std::vector<Value> out;
        if (text.find('/') != std::string_view::npos || text.find('-') == std::string_view::npos) {
          const size_t slash = text.find('/');
          const uint8_t length = slash == std::string_view::npos
                                     ? uint8_t{32}
                                     : static_cast<uint8_t>(*Number(text.substr(slash + 1), 32));
          out.push_back({range->first, range->second, length, 0});
          return out;
        }
        for (const Prefix& p : RangeToPrefixes(range->first, range->second)) {
          out.push_back({p.address, p.Last(), static_cast<uint8_t>(p.length), 0});
        }
        return out;
      }
      case Dim::kIp: {
        // hash:ip,port,ip takes a plain address in its third dimension.
        const bool plain = d == 2;
        std::optional<std::pair<uint32_t, uint32_t>> range = AddressRange(text, !plain);
        if (!range) return bad("アドレスが読めません。", "not an address.");
        Value v{range->first, range->second, 32, 0};
        if (d == 0 && set.type->masks) {
          if (set.bitmask) {
            if (v.lo != v.hi) {
              NotModelled(set, number, "an address range in a set with bitmask is not modelled");
            }
            v.lo = v.hi = v.lo & set.mask;
          } else {
            v.lo &= set.mask;
            v.hi |= ~set.mask;
          }
          if (set.type->kind == Kind::kHash && v.lo == 0) {
            return bad("0.0.0.0 は格納できません。", "0.0.0.0 cannot be stored.");
          }
        }
        if (set.type->kind == Kind::kBitmap &&
            (range->first < set.range_lo || range->second > set.range_hi)) {
          return bad("集合の range の外です。", "outside the set's range.");
        }
        return std::vector<Value>{v};
      }
      case Dim::kBitmapPort: {
        std::string_view port = text;
        const size_t colon = text.find(':');
        if (colon != std::string_view::npos) {
          const std::string_view proto = text.substr(0, colon);
          if (proto != "tcp" && proto != "udp") {
            return bad("プロトコルは tcp か udp だけです。", "only tcp and udp are valid.");
          }
          port = text.substr(colon + 1);
        }
        std::optional<std::pair<uint32_t, uint32_t>> ports = PortRange(port);
        if (!ports) return bad("ポートが読めません。", "not a port or port range.");
        if (ports->first < set.range_lo || ports->second > set.range_hi) {
          return bad("集合の range の外です。", "outside the set's range.");
        }
        return std::vector<Value>{{ports->first, ports->second, 32, 0}};
      }
      case Dim::kPort:
        return PortValue(number, set, element, text);
    }
    return bad("読めません。", "cannot read it.");
  }

  // "80", "http", "80-90" (either order) → [lo, hi].
  static std::optional<std::pair<uint32_t, uint32_t>> PortRange(std::string_view s) {
    auto one = [](std::string_view p) -> std::optional<uint32_t> {
      if (std::optional<uint64_t> n = Number(p, 65535)) return static_cast<uint32_t>(*n);
      for (const auto& [name, port] : kServices) {
        if (p == name) return port;
      }
      return std::nullopt;
    };
    const size_t dash = s.find('-');
    std::optional<uint32_t> a = one(s.substr(0, dash));
    std::optional<uint32_t> b = dash == std::string_view::npos ? a : one(s.substr(dash + 1));
    if (!a || !b) return std::nullopt;
    return std::pair{std::min(*a, *b), std::max(*a, *b)};
  }

  // "[proto:]port[-port]" of a hash type: tcp when no protocol is named.
  Result<std::vector<Value>> PortValue(uint32_t number, IpSet& set, std::string_view element,
                                       std::string_view text) {
    auto bad = [&](std::string_view ja, std::string_view en) {
      return BadElement(number, set, element, ja, en);
    };
    uint8_t proto = kTcp;
    std::string_view port = text;
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = text.substr(0, colon);
      std::optional<uint64_t> number_value = Number(name, 255);
      std::optional<uint8_t> found;
      if (number_value) found = static_cast<uint8_t>(*number_value);
      for (const auto& [n, p] : kProtocols) {
        if (name == n) found = p;
      }
      if (!found || *found == 0) return bad("プロトコルが不正です。", "invalid protocol.");
      proto = *found;
      port = text.substr(colon + 1);
    }
    if (proto == kIcmp || proto == kIcmpv6) {
      const std::vector<std::string_view> type_code = Split(port, '/');
      const bool numeric =
          type_code.size() == 2 && Number(type_code[0], 255) && Number(type_code[1], 255);
      const bool named = proto == kIcmpv6 ||
                         std::find(kIcmpNames.begin(), kIcmpNames.end(), port) != kIcmpNames.end();
      if (!numeric && !named) {
        return bad("ICMP の型/コードが読めません。", "not an ICMP type/code or code name.");
      }
      NotModelled(set, number, "ICMP elements are not modelled (they match a type and a code)");
      return std::vector<Value>{{0, 0, 32, proto}};
    }
    if (proto == kTcp || proto == kUdp || proto == kSctp || proto == kUdplite) {
      std::optional<std::pair<uint32_t, uint32_t>> ports = PortRange(port);
      if (!ports) return bad("ポートが読めません。", "not a port or port range.");
      if (proto == kSctp || proto == kUdplite) {
        NotModelled(set, number, "sctp and udplite ports are not modelled");
      }
      return std::vector<Value>{{ports->first, ports->second, 32, proto}};
    }
    if (port != "0") {
      return bad("このプロトコルのポートは 0 だけです。",
                 "a protocol without ports takes the pseudo port 0 only.");
    }
    return std::vector<Value>{{0, 0, 32, proto}};
  }

  Ipsets::Data data_;
  uint64_t total_elements_ = 0;
};

// Builds what a --match-set matches over one parsed set.
class Translator {
 public:
  Translator(const Ipsets::Data& data, const std::vector<SetDirection>& flags, bool return_nomatch)
      : data_(data), flags_(flags), return_nomatch_(return_nomatch) {}

  // Adds the programs of `set` to `out`; returns why it cannot ("" when it can).
  std::string Add(const IpSet& set, HeaderSet& out) const {
    if (set.ipv6)
      return Cat("IPv6 set ", set.name, " (", data_.file, ":", std::to_string(set.line), ")");
    if (!set.unmodelled.empty()) return Cat("set ", set.name, ": ", set.unmodelled);
    if (set.type->kind == Kind::kList) {
      for (size_t member : set.members) {
        std::string why = Add(data_.sets[member], out);
        if (!why.empty()) return Cat("list:set ", set.name, " holds ", why);
      }
      return {};
    }
    // The kernel tests a set only when the match names at least as many directions as the set
    // has dimensions (ip_set_test); otherwise it never matches.
    if (flags_.size() < set.type->dims.size()) return {};
    out.programs.push_back(Program(set));
    return {};
  }

 private:
  std::vector<HeaderBox> Boxes(const IpSet& set, const Element& e) const {
    std::vector<HeaderBox> out(1);
    for (size_t d = 0; d < set.type->dims.size(); ++d) {
      const bool src = flags_[d] == SetDirection::kSrc;
      const Value& v = e.values[d];
      switch (set.type->dims[d]) {
        case Dim::kIp:
        case Dim::kNet: {
          const MatchKind field = src ? MatchKind::kSrcAddress : MatchKind::kDstAddress;
          const ValueTerm term = d == 0 && set.bitmask ? ValueTerm::Masked(v.lo, set.mask)
                                                       : ValueTerm::Range(v.lo, v.hi);
          out[0].Add(field, term);
          break;
        }
        case Dim::kPort:
          out[0].Add(MatchKind::kProtocol, ValueTerm::Range(v.proto, v.proto));
          // Other protocols have no port: the kernel reads 0 and the entry says 0.
          if (v.proto == kTcp || v.proto == kUdp) {
            out[0].Add(src ? MatchKind::kSrcPort : MatchKind::kDstPort,
                       ValueTerm::Range(v.lo, v.hi));
          }
          break;
        case Dim::kBitmapPort: {
          const MatchKind field = src ? MatchKind::kSrcPort : MatchKind::kDstPort;
          HeaderBox udp;
          udp.Add(field, ValueTerm::Range(v.lo, v.hi));
          udp.Add(MatchKind::kProtocol, ValueTerm::Range(kUdp, kUdp));
          out[0].Add(field, ValueTerm::Range(v.lo, v.hi));
          out[0].Add(MatchKind::kProtocol, ValueTerm::Range(kTcp, kTcp));
          out.push_back(udp);
          break;
        }
      }
    }
    return out;
  }

  // The prefix lengths of an element's net dimensions, in order: the kernel tries the longest
  // first in the first net dimension, then in the second (mtype_test_cidrs), and the first entry
  // found decides.
  static uint64_t Specificity(const IpSet& set, const Element& e) {
    uint64_t key = 0;
    for (size_t d = 0; d < set.type->dims.size(); ++d) {
      if (set.type->dims[d] == Dim::kNet) key = key * 64 + e.values[d].cidr;
    }
    return key;
  }

  std::vector<HeaderSet::Layer> Program(const IpSet& set) const {
    std::vector<HeaderSet::Layer> layers;
    const bool nomatch_type = set.type->nomatch;
    const bool any_nomatch = std::any_of(set.elements.begin(), set.elements.end(),
                                         [](const Element& e) { return e.nomatch; });
    const bool inverted = nomatch_type && return_nomatch_;
    if (!any_nomatch && !inverted) {  // the union of the entries
      HeaderSet::Layer layer;
      for (const Element& e : set.elements) {
        for (HeaderBox& box : Boxes(set, e)) layer.boxes.push_back(box);
      }
      layers.push_back(std::move(layer));
      return layers;
    }
    // Entries from the least to the most specific, each adding (or, for nomatch, removing) its
    // packets: what remains for a packet is what its most specific entry says. One layer per
    // specificity: entries equally specific never match the same packet, except an entry added
    // twice, where the later one counts (as with `ipset restore -exist`).
    std::vector<size_t> order(set.elements.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return Specificity(set, set.elements[a]) < Specificity(set, set.elements[b]);
    });
    uint64_t layer_specificity = 0;
    for (size_t i : order) {
      const Element& e = set.elements[i];
      const uint64_t specificity = Specificity(set, e);
      if (layers.empty() || specificity != layer_specificity) {
        layers.emplace_back();
        layer_specificity = specificity;
      }
      // --return-nomatch: the packets a nomatch entry decides match, the others do not.
      const bool remove = e.nomatch != inverted;
      for (HeaderBox& box : Boxes(set, e)) {
        layers.back().boxes.push_back(box);
        layers.back().remove.push_back(remove);
      }
    }
    return layers;
  }

  const Ipsets::Data& data_;
  const std::vector<SetDirection>& flags_;
  bool return_nomatch_;
};

}  // namespace

Result<Ipsets> Ipsets::Parse(std::string_view text, std::string_view file) {
  Parser parser(file);
  MAMORI_ASSIGN_OR_RETURN(Data data, parser.Parse(text));
  Ipsets out;
  out.data_ = std::make_shared<const Data>(std::move(data));
  return out;
}

bool Ipsets::Contains(std::string_view name) const {
  return data_ != nullptr && data_->index.find(name) != data_->index.end();
}

std::vector<std::string> Ipsets::Names() const {
  std::vector<std::string> out;
  if (data_ == nullptr) return out;
  for (const IpSet& set : data_->sets) out.push_back(set.name);
  return out;
}

Result<SetMatch> Ipsets::Match(std::string_view name, const std::vector<SetDirection>& flags,
                               bool return_nomatch) const {
  auto found = data_ == nullptr ? std::map<std::string, size_t, std::less<>>::const_iterator()
                                : data_->index.find(name);
  if (data_ == nullptr || found == data_->index.end() || flags.empty() ||
      flags.size() > kMaxDimensions) {
    return Error::Internal("Ipsets::Match: precondition");
  }
  const IpSet& set = data_->sets[found->second];
  if (set.ipv6) {
    return Error::Invalid(Cat("集合 ", set.name, " は IPv6 の集合です（", data_->file, ":",
                              std::to_string(set.line), "）。iptables では使えません。"),
                          Cat("set ", set.name, " is an IPv6 set (", data_->file, ":",
                              std::to_string(set.line), "), which iptables cannot use."));
  }
  auto header_set = std::make_shared<HeaderSet>();
  SetMatch out;
  out.unknown = Translator(*data_, flags, return_nomatch).Add(set, *header_set);
  out.set = std::move(header_set);
  return out;
}

}  // namespace mamori::netsep
