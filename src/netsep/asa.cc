#include "netsep/asa.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/text.h"
#include "netsep/values.h"

namespace mamori::netsep {
namespace {

constexpr size_t kMaxWordsPerLine = 1024;
constexpr size_t kMaxGroupDepth = 32;
// Static NAT between two address sets of this size or less is modelled address by address.
constexpr uint64_t kMaxOneToOne = 256;
constexpr uint64_t kTcp = 6;
constexpr uint64_t kUdp = 17;
constexpr uint64_t kIcmp = 1;
constexpr uint64_t kSctp = 132;

constexpr std::string_view kTable = "asa";
constexpr std::string_view kNatDst = "nat-dst";
constexpr std::string_view kAccess = "access";
constexpr std::string_view kNatSrc = "nat-src";

// The ASA's literal port names (TCP and UDP share one table: no name means two ports).
constexpr std::array<std::pair<std::string_view, uint64_t>, 74> kPortNames = {{
    {"aol", 5190},
    {"bgp", 179},
    {"biff", 512},
    {"bootpc", 68},
    {"bootps", 67},
    {"chargen", 19},
    {"cifs", 3020},
    {"citrix-ica", 1494},
    {"cmd", 514},
    {"ctiqbe", 2748},
    {"daytime", 13},
    {"discard", 9},
    {"dnsix", 195},
    {"domain", 53},
    {"echo", 7},
    {"exec", 512},
    {"finger", 79},
    {"ftp", 21},
    {"ftp-data", 20},
    {"gopher", 70},
    {"h323", 1720},
    {"hostname", 101},
    {"http", 80},
    {"https", 443},
    {"ident", 113},
    {"imap4", 143},
    {"irc", 194},
    {"isakmp", 500},
    {"kerberos", 750},
    {"klogin", 543},
    {"kshell", 544},
    {"ldap", 389},
    {"ldaps", 636},
    {"login", 513},
    {"lotusnotes", 1352},
    {"lpd", 515},
    {"mobile-ip", 434},
    {"nameserver", 42},
    {"netbios-dgm", 138},
    {"netbios-ns", 137},
    {"netbios-ssn", 139},
    {"nfs", 2049},
    {"nntp", 119},
    {"ntp", 123},
    {"pcanywhere-data", 5631},
    {"pcanywhere-status", 5632},
    {"pim-auto-rp", 496},
    {"pop2", 109},
    {"pop3", 110},
    {"pptp", 1723},
    {"radius", 1645},
    {"radius-acct", 1646},
    {"rip", 520},
    {"rsh", 514},
    {"rtsp", 554},
    {"secureid-udp", 5510},
    {"sip", 5060},
    {"smtp", 25},
    {"snmp", 161},
    {"snmptrap", 162},
    {"sqlnet", 1521},
    {"ssh", 22},
    {"sunrpc", 111},
    {"syslog", 514},
    {"tacacs", 49},
    {"talk", 517},
    {"telnet", 23},
    {"tftp", 69},
    {"time", 37},
    {"uucp", 540},
    {"vxlan", 4789},
    {"who", 513},
    {"whois", 43},
    {"www", 80},
}};

constexpr std::array<std::pair<std::string_view, uint64_t>, 19> kIcmpNames = {{
    {"echo-reply", 0},           {"unreachable", 3},
    {"source-quench", 4},        {"redirect", 5},
    {"alternate-address", 6},    {"echo", 8},
    {"router-advertisement", 9}, {"router-solicitation", 10},
    {"time-exceeded", 11},       {"parameter-problem", 12},
    {"timestamp-request", 13},   {"timestamp-reply", 14},
    {"information-request", 15}, {"information-reply", 16},
    {"mask-request", 17},        {"mask-reply", 18},
    {"traceroute", 30},          {"conversion-error", 31},
    {"mobile-redirect", 32},
}};

constexpr std::array<std::pair<std::string_view, uint64_t>, 19> kProtocolNames = {{
    {"ah", 51},    {"eigrp", 88}, {"esp", 50},  {"gre", 47},   {"icmp", 1},
    {"icmp6", 58}, {"igmp", 2},   {"igrp", 9},  {"ipinip", 4}, {"ipsec", 50},
    {"nos", 94},   {"ospf", 89},  {"pcp", 108}, {"pim", 103},  {"pptp", 47},
    {"sctp", 132}, {"snp", 109},  {"tcp", 6},   {"udp", 17},
}};

constexpr std::array<std::string_view, 8> kLogLevels = {
    "emergencies", "alerts",        "critical",      "errors",
    "warnings",    "notifications", "informational", "debugging"};

template <size_t N>
std::optional<uint64_t> Lookup(const std::array<std::pair<std::string_view, uint64_t>, N>& table,
                               std::string_view name) {
  for (const auto& [n, v] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::optional<uint64_t> Number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

bool IsIpv6(std::string_view s) { return s.find(':') != std::string_view::npos; }

struct Line {
  std::vector<std::string> words;
  uint32_t number = 0;
};

// A top-level command and the indented lines under it.
struct Block {
  Line head;
  std::vector<Line> subs;
};

// A set of addresses; `may` when a member is not modelled (the set is then taken as any).
struct Addresses {
  ValueSet set;
  bool may = false;
};

// One protocol-and-ports alternative of a service (an ACE becomes one rule per alternative).
struct Service {
  ValueSet protocols;
  std::optional<ValueSet> sports;
  std::optional<ValueSet> dports;
  std::optional<ValueSet> icmp_types;
  bool may = false;
};

enum class ObjectKind {
  kNetwork,
  kService,
  kNetworkGroup,
  kServiceGroup,  // extended: service-object entries
  kPortGroup,     // object-group service NAME tcp|udp|tcp-udp: port-object entries
  kProtocolGroup,
  kIcmpGroup,
  kOtherGroup,  // user, security, …: not modelled
};

struct Object {
  ObjectKind kind = ObjectKind::kNetwork;
  std::string name;
  const Block* block = nullptr;
  ValueSet port_protocols;  // kPortGroup
};

struct Interface {
  std::string nameif;
  int level = 0;
  uint32_t line = 0;        // the interface command
  uint32_t level_line = 0;  // security-level (or nameif when the level is the default)
  std::optional<uint32_t> address;
  bool passes = true;  // not shutdown and not management-only
};

struct Ace {
  uint32_t line = 0;
  bool permit = false;
  std::vector<Service> services;
  Addresses src;
  Addresses dst;
  bool may = false;
};

struct AccessList {
  std::vector<Ace> aces;
  uint32_t first_line = 0;
};

struct Binding {
  std::string acl;
  uint32_t line = 0;
};

// One NAT statement, object or twice NAT. Interfaces "" mean any.
struct Nat {
  uint32_t line = 0;
  int section = 1;  // 1 twice, 2 object, 3 twice after-auto
  std::string object;
  std::string real_ifc;
  std::string mapped_ifc;
  bool is_static = false;
  Addresses real_src;
  Addresses mapped_src;
  bool mapped_src_interface = false;  // PAT to the mapped interface's address
  bool has_dst = false;
  Addresses mapped_dst;
  Addresses real_dst;
  // Object NAT `service tcp|udp REAL MAPPED`: the protocol and ports.
  std::optional<uint64_t> service_protocol;
  uint64_t real_port = 0;
  uint64_t mapped_port = 0;
  bool twice_service = false;  // twice NAT `service`: not modelled
  bool unidirectional = false;
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
    MAMORI_TRY(ReadBlocks(text));
    MAMORI_TRY(Collect());
    MAMORI_TRY(Build());
    return std::move(ruleset_);
  }

 private:
  // ---------------------------------------------------------------- messages

  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(file_, ":", std::to_string(line), ": ");
    return Error::Invalid(Printable(Cat(where, ja)), Printable(Cat(where, en)));
  }

  Error BadWord(uint32_t line, std::string_view what_ja, std::string_view what_en,
                std::string_view word) const {
    return Fail(line, Cat(what_ja, " \"", word, "\" が不正です。"),
                Cat("invalid ", what_en, " \"", word, "\"."));
  }

  Error Missing(uint32_t line, std::string_view after) const {
    return Fail(line, Cat(after, " の後に値がありません。"), Cat(after, " needs a value."));
  }

  SourceLocation Here(uint32_t line, std::string detail = {}) const {
    return {std::string(file_), line, std::move(detail)};
  }

  void ReportUnknown(uint32_t line, std::string_view construct) {
    if (reported_.emplace(line, std::string(construct)).second) {
      ruleset_.unknown.push_back({Here(line), Printable(construct)});
    }
  }

  // ---------------------------------------------------------------- reading

  Status ReadBlocks(std::string_view text) {
    uint32_t number = 0;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view raw = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++number;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
      Line line{{}, number};
      size_t i = 0;
      while (i < raw.size()) {
        while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
        const size_t start = i;
        while (i < raw.size() && raw[i] != ' ' && raw[i] != '\t') ++i;
        if (i > start) line.words.emplace_back(raw.substr(start, i - start));
        if (line.words.size() > kMaxWordsPerLine) {
          return Fail(number, "行が長すぎます。", "the line has too many words.");
        }
      }
      if (line.words.empty()) continue;
      const std::string& first = line.words[0];
      if (first == "!" || first.starts_with(':')) continue;  // separators and banners
      if (indented && !blocks_.empty()) {
        blocks_.back().subs.push_back(std::move(line));
      } else if (indented) {
        return Fail(number, "字下げされた行の前にコマンドがありません。",
                    "an indented line before any command.");
      } else {
        blocks_.push_back(Block{std::move(line), {}});
      }
    }
    return {};
  }

  // ---------------------------------------------------------------- pass 1: definitions

  Status Collect() {
    for (const Block& block : blocks_) {
      const std::vector<std::string>& w = block.head.words;
      const uint32_t line = block.head.number;
      const std::string& cmd = w[0];
      if (cmd == "interface") {
        MAMORI_TRY(ReadInterface(block));
      } else if (cmd == "name" && w.size() >= 3) {
        std::optional<uint32_t> address = ParseIpv4(w[1]);
        if (!address) {
          if (IsIpv6(w[1])) continue;
          return BadWord(line, "アドレス", "address", w[1]);
        }
        names_[w[2]] = *address;
      } else if (cmd == "object" || cmd == "object-group") {
        MAMORI_TRY(DeclareObject(block));
      } else if (cmd == "access-list") {
        MAMORI_TRY(ReadAccessListLine(block.head));
      } else if (cmd == "access-group") {
        MAMORI_TRY(ReadAccessGroup(block.head));
      } else if (cmd == "same-security-traffic" && w.size() >= 3 && w[1] == "permit" &&
                 w[2] == "inter-interface") {
        same_security_ = true;
      } else if (cmd == "nat") {
        twice_lines_.push_back(&block.head);
      } else if (cmd == "static" || cmd == "global") {
        ReportUnknown(line, Cat("pre-8.3 NAT command ", cmd, " (not modelled)"));
      } else if (cmd == "established") {
        ReportUnknown(line, "established (not modelled)");
      } else if (cmd == "firewall" && w.size() >= 2 && w[1] == "transparent") {
        ReportUnknown(line, "firewall transparent (modelled as routed mode)");
      } else if (cmd == "crypto" && w.size() >= 5 && w[1] == "map" && w[3] == "interface") {
        ReportUnknown(line, Cat("crypto map on interface ", w[4],
                                ": VPN traffic (sysopt connection permit-vpn) is not modelled"));
      } else if (cmd == "context") {
        ReportUnknown(line, "security context (multiple context mode is not modelled)");
      }
      // Every other command (hostname, route, logging, aaa, …) does not decide what a NEW
      // connection through the device may do, and is not read.
    }
    // Objects are read after all blocks so that a reference may come first in the file.
    for (const Block& block : blocks_) {
      if (block.head.words[0] == "object" && block.head.words.size() >= 3 &&
          block.head.words[1] == "network") {
        MAMORI_TRY(ReadObjectNat(block));
      }
    }
    for (const Line* line : twice_lines_) MAMORI_TRY(ReadTwiceNat(*line));
    for (auto& [name, acl] : acl_lines_) {
      AccessList list;
      list.first_line = acl.front()->number;
      for (const Line* line : acl) {
        std::optional<Ace> ace;
        MAMORI_TRY(ReadAce(*line, ace));
        if (ace) list.aces.push_back(std::move(*ace));
      }
      acls_.emplace(name, std::move(list));
    }
    return {};
  }

  Status ReadInterface(const Block& block) {
    Interface ifc;
    ifc.line = block.head.number;
    bool level_set = false;
    for (const Line& sub : block.subs) {
      const std::vector<std::string>& w = sub.words;
      if (w[0] == "nameif" && w.size() >= 2) {
        ifc.nameif = w[1];
        if (!level_set) ifc.level_line = sub.number;
      } else if (w[0] == "security-level" && w.size() >= 2) {
        std::optional<uint64_t> level = Number(w[1], 100);
        if (!level) return BadWord(sub.number, "security-level", "security-level", w[1]);
        ifc.level = static_cast<int>(*level);
        ifc.level_line = sub.number;
        level_set = true;
      } else if (w[0] == "ip" && w.size() >= 4 && w[1] == "address") {
        std::optional<uint32_t> address = ParseIpv4(w[2]);
        if (!address) {
          if (w[2] == "dhcp" || w[2] == "pppoe") continue;
          return BadWord(sub.number, "アドレス", "address", w[2]);
        }
        ifc.address = *address;
      } else if (w[0] == "shutdown" || w[0] == "management-only") {
        ifc.passes = false;
      }
    }
    if (ifc.nameif.empty()) return {};  // no nameif: the interface passes no traffic
    if (!level_set && ifc.nameif == "inside") ifc.level = 100;  // the ASA's default
    if (interfaces_.count(ifc.nameif) > 0) {
      return Fail(ifc.line, Cat("nameif ", ifc.nameif, " が 2 回あります。"),
                  Cat("nameif ", ifc.nameif, " appears twice."));
    }
    interface_order_.push_back(ifc.nameif);
    interfaces_.emplace(ifc.nameif, ifc);
    return {};
  }

  Status DeclareObject(const Block& block) {
    const std::vector<std::string>& w = block.head.words;
    const uint32_t line = block.head.number;
    if (w.size() < 3) return Missing(line, w[0]);
    Object object;
    object.name = w[2];
    object.block = &block;
    const std::string& type = w[1];
    if (w[0] == "object") {
      if (type == "network") {
        object.kind = ObjectKind::kNetwork;
      } else if (type == "service") {
        object.kind = ObjectKind::kService;
      } else {
        ReportUnknown(line, Cat("object ", type));
        object.kind = ObjectKind::kOtherGroup;
      }
    } else if (type == "network") {
      object.kind = ObjectKind::kNetworkGroup;
    } else if (type == "service") {
      if (w.size() >= 4) {
        object.kind = ObjectKind::kPortGroup;
        std::optional<ValueSet> protocols = PortProtocols(w[3]);
        if (!protocols) return BadWord(line, "プロトコル", "protocol", w[3]);
        object.port_protocols = *protocols;
      } else {
        object.kind = ObjectKind::kServiceGroup;
      }
    } else if (type == "protocol") {
      object.kind = ObjectKind::kProtocolGroup;
    } else if (type == "icmp-type") {
      object.kind = ObjectKind::kIcmpGroup;
    } else {
      object.kind = ObjectKind::kOtherGroup;  // user, security, …: reported where used
    }
    if (objects_.count(object.name) > 0) {
      return Fail(line, Cat("オブジェクト ", object.name, " が 2 回定義されています。"),
                  Cat("object ", object.name, " is defined twice."));
    }
    objects_.emplace(object.name, std::move(object));
    return {};
  }

  static std::optional<ValueSet> PortProtocols(std::string_view s) {
    if (s == "tcp") return ValueSet::Of(kTcp, kTcp);
    if (s == "udp") return ValueSet::Of(kUdp, kUdp);
    if (s == "tcp-udp") {
      ValueSet set = ValueSet::Of(kTcp, kTcp);
      set.Add(kUdp, kUdp);
      return set;
    }
    if (s == "sctp") return ValueSet::Of(kSctp, kSctp);
    return std::nullopt;
  }

  Status ReadAccessListLine(const Line& line) {
    const std::vector<std::string>& w = line.words;
    if (w.size() < 3) return Missing(line.number, "access-list");
    std::vector<const Line*>& lines = acl_lines_[w[1]];
    lines.push_back(&line);
    return {};
  }

  Status ReadAccessGroup(const Line& line) {
    const std::vector<std::string>& w = line.words;
    if (w.size() < 3) return Missing(line.number, "access-group");
    if (w[2] == "global") {
      global_ = Binding{w[1], line.number};
      return {};
    }
    if (w.size() < 5 || (w[2] != "in" && w[2] != "out") || w[3] != "interface") {
      return Fail(line.number, "access-group の書式が不正です。",
                  "access-group: expected NAME in|out interface IF, or NAME global.");
    }
    for (size_t i = 5; i < w.size(); ++i) {
      if (w[i] == "control-plane") return {};  // traffic to the device itself
    }
    (w[2] == "in" ? in_bindings_ : out_bindings_)[w[4]] = Binding{w[1], line.number};
    return {};
  }

  // ---------------------------------------------------------------- values

  Result<uint64_t> Port(uint32_t line, std::string_view word) const {
    if (std::optional<uint64_t> n = Number(word, 65535)) return *n;
    if (std::optional<uint64_t> n = Lookup(kPortNames, word)) return *n;
    return BadWord(line, "ポート", "port", word);
  }

  // eq|neq|lt|gt P, range A B at w[i]; advances i past it.
  Result<ValueSet> PortOperator(uint32_t line, const std::vector<std::string>& w, size_t& i) const {
    const std::string& op = w[i];
    if (i + 1 >= w.size()) return Missing(line, op);
    MAMORI_ASSIGN_OR_RETURN(uint64_t a, Port(line, w[i + 1]));
    if (op == "range") {
      if (i + 2 >= w.size()) return Missing(line, op);
      MAMORI_ASSIGN_OR_RETURN(uint64_t b, Port(line, w[i + 2]));
      if (a > b) return BadWord(line, "ポート範囲", "port range", Cat(w[i + 1], " ", w[i + 2]));
      i += 3;
      return ValueSet::Of(a, b);
    }
    i += 2;
    if (op == "eq") return ValueSet::Of(a, a);
    if (op == "lt") return a == 0 ? ValueSet() : ValueSet::Of(0, a - 1);
    if (op == "gt") return a == kMaxPort ? ValueSet() : ValueSet::Of(a + 1, kMaxPort);
    ValueSet all = ValueSet::Of(0, kMaxPort);  // neq
    all.Subtract(ValueSet::Of(a, a));
    return all;
  }

  static bool IsPortOperator(std::string_view w) {
    return w == "eq" || w == "neq" || w == "lt" || w == "gt" || w == "range";
  }

  // "ip" → all protocols; names; numbers.
  Result<ValueSet> Protocol(uint32_t line, std::string_view word) const {
    if (word == "ip") return ValueSet::Of(0, kMaxProtocol);
    if (std::optional<uint64_t> n = Lookup(kProtocolNames, word)) return ValueSet::Of(*n, *n);
    if (std::optional<uint64_t> n = Number(word, 255)) {
      return *n == 0 ? ValueSet::Of(0, kMaxProtocol) : ValueSet::Of(*n, *n);
    }
    return BadWord(line, "プロトコル", "protocol", word);
  }

  Result<uint64_t> IcmpType(uint32_t line, std::string_view word) const {
    if (std::optional<uint64_t> n = Number(word, 255)) return *n;
    if (std::optional<uint64_t> n = Lookup(kIcmpNames, word)) return *n;
    return BadWord(line, "ICMP タイプ", "ICMP type", word);
  }

  // An address or a `name` alias.
  Result<uint32_t> Address(uint32_t line, std::string_view word) const {
    if (std::optional<uint32_t> a = ParseIpv4(word)) return *a;
    auto it = names_.find(std::string(word));
    if (it != names_.end()) return it->second;
    return BadWord(line, "アドレス", "address", word);
  }

  // ADDRESS MASK (a contiguous netmask, no host bits) → the subnet.
  Result<ValueSet> Subnet(uint32_t line, std::string_view address_word,
                          std::string_view mask_word) const {
    MAMORI_ASSIGN_OR_RETURN(uint32_t address, Address(line, address_word));
    std::optional<uint32_t> mask = ParseIpv4(mask_word);
    std::optional<int> length = mask ? MaskLength(*mask) : std::nullopt;
    if (!length || (address & ~*mask) != 0) {
      return BadWord(line, "アドレスとマスク", "address and netmask",
                     Cat(address_word, " ", mask_word));
    }
    return ValueSet::OfPrefix(Prefix{address, *length});
  }

  // ---------------------------------------------------------------- objects

  const Object* FindObject(std::string_view name) const {
    auto it = objects_.find(std::string(name));
    return it == objects_.end() ? nullptr : &it->second;
  }

  Error Undefined(uint32_t line, std::string_view what_ja, std::string_view what_en,
                  std::string_view name) const {
    return Fail(line, Cat(what_ja, " ", name, " は定義されていません。"),
                Cat(what_en, " ", name, " is not defined."));
  }

  Error WrongKind(uint32_t line, std::string_view name, std::string_view expected) const {
    return Fail(line, Cat("オブジェクト ", name, " は ", expected, " ではありません。"),
                Cat("object ", name, " is not ", expected, "."));
  }

  Status CheckDepth(uint32_t line, std::string_view name, const GroupVisit& visit) const {
    if (visit.loop() || active_.size() > kMaxGroupDepth) {
      return Fail(line, Cat("group-object ", name, " が循環しているか深すぎます。"),
                  Cat("group-object ", name, " loops or nests too deeply."));
    }
    return {};
  }

  // The addresses of a network object or network object-group.
  Result<Addresses> NetworkNamed(uint32_t line, std::string_view name) {
    const Object* object = FindObject(name);
    if (object == nullptr) return Undefined(line, "オブジェクト", "object", name);
    if (object->kind != ObjectKind::kNetwork && object->kind != ObjectKind::kNetworkGroup) {
      return WrongKind(line, name, "network");
    }
    auto cached = network_cache_.find(object->name);
    if (cached != network_cache_.end()) return cached->second;
    GroupVisit visit(active_, object->name);
    MAMORI_TRY(CheckDepth(line, name, visit));
    Addresses out;
    bool defined = false;
    for (const Line& sub : object->block->subs) {
      const std::vector<std::string>& w = sub.words;
      const uint32_t n = sub.number;
      if (object->kind == ObjectKind::kNetwork) {
        if (w[0] == "host" || w[0] == "subnet" || w[0] == "range" || w[0] == "fqdn") {
          defined = true;
        }
        if (w[0] == "host") {
          if (w.size() < 2) return Missing(n, "host");
          if (IsIpv6(w[1])) continue;
          MAMORI_ASSIGN_OR_RETURN(uint32_t a, Address(n, w[1]));
          out.set.Add(a, a);
        } else if (w[0] == "subnet") {
          if (w.size() < 2) return Missing(n, "subnet");
          if (IsIpv6(w[1])) continue;
          if (w.size() < 3) return Missing(n, "subnet");
          MAMORI_ASSIGN_OR_RETURN(ValueSet s, Subnet(n, w[1], w[2]));
          out.set.Add(s);
        } else if (w[0] == "range") {
          if (w.size() < 3) return Missing(n, "range");
          if (IsIpv6(w[1])) continue;
          MAMORI_ASSIGN_OR_RETURN(uint32_t a, Address(n, w[1]));
          MAMORI_ASSIGN_OR_RETURN(uint32_t b, Address(n, w[2]));
          if (a > b) return BadWord(n, "アドレス範囲", "address range", Cat(w[1], " ", w[2]));
          out.set.Add(a, b);
        } else if (w[0] == "fqdn") {
          ReportUnknown(n, Cat("fqdn object ", object->name, " (taken as any address)"));
          out.may = true;
        }
        continue;
      }
      // object-group network
      if (w[0] == "network-object") {
        if (w.size() < 2) return Missing(n, "network-object");
        if (w[1] == "object") {
          if (w.size() < 3) return Missing(n, "network-object object");
          MAMORI_ASSIGN_OR_RETURN(Addresses a, NetworkNamed(n, w[2]));
          out.set.Add(a.set);
          out.may = out.may || a.may;
        } else if (w[1] == "host") {
          if (w.size() < 3) return Missing(n, "network-object host");
          if (IsIpv6(w[2])) continue;
          MAMORI_ASSIGN_OR_RETURN(uint32_t a, Address(n, w[2]));
          out.set.Add(a, a);
        } else if (IsIpv6(w[1])) {
          continue;
        } else {
          if (w.size() < 3) return Missing(n, "network-object");
          MAMORI_ASSIGN_OR_RETURN(ValueSet s, Subnet(n, w[1], w[2]));
          out.set.Add(s);
        }
      } else if (w[0] == "group-object") {
        if (w.size() < 2) return Missing(n, "group-object");
        const Object* inner = FindObject(w[1]);
        if (inner == nullptr) return Undefined(n, "オブジェクト", "object", w[1]);
        if (inner->kind != ObjectKind::kNetworkGroup) return WrongKind(n, w[1], "network group");
        MAMORI_ASSIGN_OR_RETURN(Addresses a, NetworkNamed(n, w[1]));
        out.set.Add(a.set);
        out.may = out.may || a.may;
      } else if (w[0] != "description") {
        ReportUnknown(n, Cat("object-group network entry ", w[0]));
        out.may = true;
      }
    }
    if (object->kind == ObjectKind::kNetwork && !defined) {
      return Fail(object->block->head.number,
                  Cat("オブジェクト ", object->name, " にアドレスがありません。"),
                  Cat("object ", object->name, " has no host, subnet, range or fqdn."));
    }
    network_cache_.emplace(object->name, out);
    return out;
  }

  // `tcp [source OP…] [destination OP…]`, `icmp [TYPE [CODE]]`, `PROTOCOL`, starting at w[i]
  // (object service `service …` and `service-object …`).
  Result<Service> ServiceSpec(uint32_t line, const std::vector<std::string>& w, size_t i) {
    if (i >= w.size()) return Missing(line, "service");
    Service s;
    const std::string& proto = w[i++];
    if (std::optional<ValueSet> l4 = PortProtocols(proto)) {
      s.protocols = *l4;
      while (i < w.size()) {
        if (w[i] == "source" || w[i] == "destination") {
          const bool source = w[i] == "source";
          if (++i >= w.size() || !IsPortOperator(w[i])) return Missing(line, w[i - 1]);
          MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortOperator(line, w, i));
          (source ? s.sports : s.dports) = ports;
        } else if (IsPortOperator(w[i])) {  // the older form: a destination port
          MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortOperator(line, w, i));
          s.dports = ports;
        } else {
          return BadWord(line, "サービスの指定", "service word", w[i]);
        }
      }
      if (proto == "sctp" && (s.sports || s.dports)) {
        ReportUnknown(line, "sctp ports (taken as any port)");
        s.sports.reset();
        s.dports.reset();
        s.may = true;
      }
      return s;
    }
    MAMORI_ASSIGN_OR_RETURN(s.protocols, Protocol(line, proto));
    if (proto == "icmp" && i < w.size()) {
      MAMORI_ASSIGN_OR_RETURN(uint64_t type, IcmpType(line, w[i]));
      s.icmp_types = ValueSet::Of(type, type);
      if (++i < w.size()) {
        ReportUnknown(line, "icmp code (taken as any code)");
        s.may = true;
      }
    }
    return s;
  }

  // The alternatives of a service object or an extended service object-group.
  Result<std::vector<Service>> ServicesNamed(uint32_t line, std::string_view name) {
    const Object* object = FindObject(name);
    if (object == nullptr) return Undefined(line, "オブジェクト", "object", name);
    std::vector<Service> out;
    if (object->kind == ObjectKind::kProtocolGroup) {
      MAMORI_ASSIGN_OR_RETURN(ValueSet protocols, ProtocolsNamed(line, name));
      out.push_back(Service{protocols, {}, {}, {}, false});
      return out;
    }
    GroupVisit visit(active_, object->name);
    MAMORI_TRY(CheckDepth(line, name, visit));
    if (object->kind == ObjectKind::kService) {
      for (const Line& sub : object->block->subs) {
        if (sub.words[0] != "service") continue;
        MAMORI_ASSIGN_OR_RETURN(Service s, ServiceSpec(sub.number, sub.words, 1));
        out.push_back(std::move(s));
      }
      if (out.empty()) {
        return Fail(object->block->head.number,
                    Cat("オブジェクト ", object->name, " にサービスがありません。"),
                    Cat("object ", object->name, " has no service line."));
      }
      return out;
    }
    if (object->kind != ObjectKind::kServiceGroup) return WrongKind(line, name, "service");
    for (const Line& sub : object->block->subs) {
      const std::vector<std::string>& w = sub.words;
      const uint32_t n = sub.number;
      if (w[0] == "service-object") {
        if (w.size() >= 3 && w[1] == "object") {
          const Object* inner = FindObject(w[2]);
          if (inner == nullptr) return Undefined(n, "オブジェクト", "object", w[2]);
          if (inner->kind != ObjectKind::kService) return WrongKind(n, w[2], "service");
          MAMORI_ASSIGN_OR_RETURN(std::vector<Service> more, ServicesNamed(n, w[2]));
          out.insert(out.end(), more.begin(), more.end());
        } else {
          MAMORI_ASSIGN_OR_RETURN(Service s, ServiceSpec(n, w, 1));
          out.push_back(std::move(s));
        }
      } else if (w[0] == "group-object") {
        if (w.size() < 2) return Missing(n, "group-object");
        MAMORI_ASSIGN_OR_RETURN(std::vector<Service> more, ServicesNamed(n, w[1]));
        out.insert(out.end(), more.begin(), more.end());
      } else if (w[0] != "description") {
        ReportUnknown(n, Cat("object-group service entry ", w[0]));
        out.push_back(Service{ValueSet::Of(0, kMaxProtocol), {}, {}, {}, true});
      }
    }
    return out;
  }

  // The ports of a port object-group (object-group service NAME tcp|udp|tcp-udp).
  Result<ValueSet> PortsNamed(uint32_t line, std::string_view name) {
    const Object* object = FindObject(name);
    if (object == nullptr) return Undefined(line, "オブジェクト", "object", name);
    if (object->kind != ObjectKind::kPortGroup) return WrongKind(line, name, "a port group");
    GroupVisit visit(active_, object->name);
    MAMORI_TRY(CheckDepth(line, name, visit));
    ValueSet out;
    for (const Line& sub : object->block->subs) {
      const std::vector<std::string>& w = sub.words;
      if (w[0] == "port-object") {
        size_t i = 1;
        if (i >= w.size() || !IsPortOperator(w[i])) return Missing(sub.number, "port-object");
        MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortOperator(sub.number, w, i));
        out.Add(ports);
      } else if (w[0] == "group-object") {
        if (w.size() < 2) return Missing(sub.number, "group-object");
        MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortsNamed(sub.number, w[1]));
        out.Add(ports);
      } else if (w[0] != "description") {
        return BadWord(sub.number, "object-group service の行", "port group entry", w[0]);
      }
    }
    return out;
  }

  // A group of single values (object-group protocol, object-group icmp-type): `entry` lines
  // name one value, read by `leaf`; group-object nests another group of the same kind.
  template <class Leaf>
  Result<ValueSet> ValueGroupNamed(uint32_t line, std::string_view name, ObjectKind kind,
                                   const char* kind_name, const char* entry, const Leaf& leaf) {
    const Object* object = FindObject(name);
    if (object == nullptr) return Undefined(line, "オブジェクト", "object", name);
    if (object->kind != kind) return WrongKind(line, name, kind_name);
    GroupVisit visit(active_, object->name);
    MAMORI_TRY(CheckDepth(line, name, visit));
    ValueSet out;
    for (const Line& sub : object->block->subs) {
      const std::vector<std::string>& w = sub.words;
      if (w.size() >= 2 && (w[0] == entry || w[0] == "group-object")) {
        MAMORI_ASSIGN_OR_RETURN(
            ValueSet v, w[0] == entry
                            ? leaf(sub.number, w[1])
                            : ValueGroupNamed(sub.number, w[1], kind, kind_name, entry, leaf));
        out.Add(v);
      } else if (w[0] != "description") {
        return BadWord(sub.number, Cat("object-group ", kind_name, " の行"),
                       Cat(kind_name, " group entry"), w[0]);
      }
    }
    return out;
  }

  Result<ValueSet> ProtocolsNamed(uint32_t line, std::string_view name) {
    return ValueGroupNamed(line, name, ObjectKind::kProtocolGroup, "protocol", "protocol-object",
                           [this](uint32_t n, std::string_view p) { return Protocol(n, p); });
  }

  Result<ValueSet> IcmpTypesNamed(uint32_t line, std::string_view name) {
    return ValueGroupNamed(line, name, ObjectKind::kIcmpGroup, "icmp-type", "icmp-object",
                           [this](uint32_t n, std::string_view t) -> Result<ValueSet> {
                             MAMORI_ASSIGN_OR_RETURN(uint64_t v, IcmpType(n, t));
                             ValueSet one;
                             one.Add(v, v);
                             return one;
                           });
  }

  // ---------------------------------------------------------------- access lists

  // An address operand at w[i]: any, any4, any6, host A, A MASK, object N, object-group N,
  // interface IF; identity criteria before it (user, security-group, …) make the ACE "may".
  Result<Addresses> AddressOperand(uint32_t line, const std::vector<std::string>& w, size_t& i,
                                   bool& may) {
    while (i < w.size() && (w[i] == "user" || w[i] == "user-group" || w[i] == "object-group-user" ||
                            w[i] == "object-group-security" || w[i] == "security-group")) {
      ReportUnknown(line, Cat("access-list ", w[i], " (identity criteria: may match)"));
      may = true;
      i += w[i] == "security-group" ? 3 : 2;
    }
    if (i >= w.size()) return Missing(line, "access-list");
    const std::string& word = w[i];
    Addresses out;
    if (word == "any" || word == "any4") {
      out.set = ValueSet::Of(0, kMaxAddress);
      ++i;
      return out;
    }
    if (word == "any6") {
      ++i;
      return out;  // no IPv4 packet
    }
    if (word == "host" || word == "object" || word == "object-group" || word == "interface") {
      if (i + 1 >= w.size()) return Missing(line, word);
      const std::string& arg = w[i + 1];
      i += 2;
      if (word == "host") {
        if (IsIpv6(arg)) return out;
        MAMORI_ASSIGN_OR_RETURN(uint32_t a, Address(line, arg));
        out.set.Add(a, a);
        return out;
      }
      if (word == "interface") {
        auto it = interfaces_.find(arg);
        if (it == interfaces_.end()) return Undefined(line, "インターフェース", "interface", arg);
        if (!it->second.address) {
          ReportUnknown(line, Cat("interface ", arg, " without a static address (any address)"));
          out.may = true;
          return out;
        }
        out.set.Add(*it->second.address, *it->second.address);
        return out;
      }
      return NetworkNamed(line, arg);
    }
    if (IsIpv6(word)) {
      ++i;
      return out;
    }
    if (i + 1 >= w.size()) return Missing(line, word);
    MAMORI_ASSIGN_OR_RETURN(out.set, Subnet(line, word, w[i + 1]));
    i += 2;
    return out;
  }

  // A port operand after an address, if there is one: an operator or a port object-group.
  Result<std::optional<ValueSet>> PortOperand(uint32_t line, const std::vector<std::string>& w,
                                              size_t& i) {
    if (i < w.size() && IsPortOperator(w[i])) {
      MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortOperator(line, w, i));
      return std::optional<ValueSet>(ports);
    }
    if (i + 1 < w.size() && w[i] == "object-group") {
      const Object* object = FindObject(w[i + 1]);
      if (object != nullptr && object->kind == ObjectKind::kPortGroup) {
        MAMORI_ASSIGN_OR_RETURN(ValueSet ports, PortsNamed(line, w[i + 1]));
        i += 2;
        return std::optional<ValueSet>(ports);
      }
    }
    return std::optional<ValueSet>();
  }

  Status ReadAce(const Line& line, std::optional<Ace>& out) {
    const std::vector<std::string>& w = line.words;
    const uint32_t n = line.number;
    size_t i = 2;
    if (w[i] == "line") i += 2;
    if (i >= w.size()) return Missing(n, "access-list");
    if (w[i] == "remark") return {};
    if (w[i] == "extended") {
      ++i;
    } else if (w[i] == "standard" || w[i] == "webtype" || w[i] == "ethertype") {
      ReportUnknown(n, Cat("access-list ", w[i], " (not modelled)"));
      return {};
    } else if (w[i] != "permit" && w[i] != "deny") {
      return BadWord(n, "access-list の種類", "access-list type", w[i]);
    }
    if (i >= w.size() || (w[i] != "permit" && w[i] != "deny")) {
      return Fail(n, "permit か deny が必要です。", "expected permit or deny.");
    }
    Ace ace;
    ace.line = n;
    ace.permit = w[i++] == "permit";
    if (i >= w.size()) return Missing(n, w[i - 1]);
    // The protocol: a name or number, a service object, or a service or protocol group.
    bool plain = true;
    if (w[i] == "object" || w[i] == "object-group") {
      if (i + 1 >= w.size()) return Missing(n, w[i]);
      const Object* object = FindObject(w[i + 1]);
      if (object == nullptr) return Undefined(n, "オブジェクト", "object", w[i + 1]);
      plain = object->kind == ObjectKind::kProtocolGroup;
      MAMORI_ASSIGN_OR_RETURN(ace.services, ServicesNamed(n, w[i + 1]));
      i += 2;
    } else {
      MAMORI_ASSIGN_OR_RETURN(ValueSet protocols, Protocol(n, w[i]));
      ace.services.push_back(Service{protocols, {}, {}, {}, false});
      ++i;
    }
    ValueSet protocols;
    for (const Service& s : ace.services) protocols.Add(s.protocols);
    const bool ports_allowed = plain && (protocols.Contains(kTcp) || protocols.Contains(kUdp) ||
                                         protocols.Contains(kSctp));
    MAMORI_ASSIGN_OR_RETURN(ace.src, AddressOperand(n, w, i, ace.may));
    std::optional<ValueSet> sports;
    if (ports_allowed) {
      MAMORI_ASSIGN_OR_RETURN(sports, PortOperand(n, w, i));
    }
    MAMORI_ASSIGN_OR_RETURN(ace.dst, AddressOperand(n, w, i, ace.may));
    std::optional<ValueSet> dports;
    std::optional<ValueSet> icmp;
    if (ports_allowed) {
      MAMORI_ASSIGN_OR_RETURN(dports, PortOperand(n, w, i));
    }
    if (plain && protocols == ValueSet::Of(kIcmp, kIcmp) && i < w.size()) {
      if (w[i] == "object-group" && i + 1 < w.size()) {
        MAMORI_ASSIGN_OR_RETURN(icmp, IcmpTypesNamed(n, w[i + 1]));
        i += 2;
      } else if (Number(w[i], 255) || Lookup(kIcmpNames, w[i])) {
        MAMORI_ASSIGN_OR_RETURN(uint64_t type, IcmpType(n, w[i]));
        icmp = ValueSet::Of(type, type);
        ++i;
        if (i < w.size() && Number(w[i], 255)) {
          ReportUnknown(n, "icmp code (taken as any code)");
          ace.may = true;
          ++i;
        }
      }
    }
    // Options.
    while (i < w.size()) {
      const std::string& word = w[i];
      if (word == "log") {
        ++i;
        if (i < w.size() && (w[i] == "disable" || w[i] == "default")) {
          ++i;
          continue;
        }
        if (i < w.size() && (Number(w[i], 7) || std::find(kLogLevels.begin(), kLogLevels.end(),
                                                          w[i]) != kLogLevels.end())) {
          ++i;
        }
        if (i + 1 < w.size() && w[i] == "interval") i += 2;
      } else if (word == "time-range") {
        if (i + 1 >= w.size()) return Missing(n, word);
        ReportUnknown(n, Cat("time-range ", w[i + 1], " (the entry may or may not be active)"));
        ace.may = true;
        i += 2;
      } else if (word == "inactive") {
        return {};  // a disabled entry
      } else {
        return Fail(n, Cat("access-list の語 \"", word, "\" を解釈できません。"),
                    Cat("cannot read the access-list word \"", word, "\"."));
      }
    }
    if (sports || dports || icmp) {
      for (Service& s : ace.services) {
        if (sports) s.sports = sports;
        if (dports) s.dports = dports;
        if (icmp) s.icmp_types = icmp;
        if ((sports || dports) && s.protocols.Contains(kSctp)) {
          ReportUnknown(n, "sctp ports (taken as any port)");
          s.may = true;
        }
      }
    }
    out = std::move(ace);
    return {};
  }

  // ---------------------------------------------------------------- NAT

  // `(real,mapped)` → the two interfaces ("" for any).
  Status NatInterfaces(uint32_t line, std::string_view word, Nat& nat) const {
    if (word.size() < 3 || word.front() != '(' || word.back() != ')') {
      return BadWord(line, "NAT のインターフェース", "NAT interfaces", word);
    }
    const std::string_view inner = word.substr(1, word.size() - 2);
    const size_t comma = inner.find(',');
    if (comma == std::string_view::npos) {
      return BadWord(line, "NAT のインターフェース", "NAT interfaces", word);
    }
    for (std::string_view part : {inner.substr(0, comma), inner.substr(comma + 1)}) {
      std::string name = part == "any" ? std::string() : std::string(part);
      if (!name.empty() && interfaces_.count(name) == 0) {
        return Undefined(line, "インターフェース", "interface", name);
      }
      (part.data() == inner.data() ? nat.real_ifc : nat.mapped_ifc) = std::move(name);
    }
    return {};
  }

  // A NAT address operand: an IP address, an object or group name, `any`, or `interface`.
  Result<Addresses> NatAddress(uint32_t line, std::string_view word, const std::string& ifc,
                               bool& is_interface) {
    is_interface = false;
    Addresses out;
    if (word == "any") {
      out.set = ValueSet::Of(0, kMaxAddress);
      return out;
    }
    if (word == "interface") {
      is_interface = true;
      auto it = interfaces_.find(ifc);
      if (it != interfaces_.end() && it->second.address) {
        out.set.Add(*it->second.address, *it->second.address);
      } else {
        ReportUnknown(line, "NAT to an interface without a static address (any address)");
        out.may = true;
      }
      return out;
    }
    if (std::optional<uint32_t> a = ParseIpv4(word)) {
      out.set.Add(*a, *a);
      return out;
    }
    return NetworkNamed(line, word);
  }

  Status ReadObjectNat(const Block& block) {
    const std::string& name = block.head.words[2];
    for (const Line& sub : block.subs) {
      const std::vector<std::string>& w = sub.words;
      if (w[0] != "nat") continue;
      const uint32_t n = sub.number;
      Nat nat;
      nat.line = n;
      nat.section = 2;
      nat.object = name;
      size_t i = 1;
      if (i < w.size() && w[i].starts_with('(')) {
        MAMORI_TRY(NatInterfaces(n, w[i++], nat));
      }
      if (i >= w.size() || (w[i] != "static" && w[i] != "dynamic")) {
        return Fail(n, "nat に static か dynamic が必要です。", "nat: expected static or dynamic.");
      }
      nat.is_static = w[i++] == "static";
      MAMORI_ASSIGN_OR_RETURN(nat.real_src, NetworkNamed(n, name));
      if (i >= w.size()) return Missing(n, w[i - 1]);
      if (w[i] == "pat-pool") {
        if (i + 1 >= w.size()) return Missing(n, "pat-pool");
        MAMORI_ASSIGN_OR_RETURN(nat.mapped_src, NetworkNamed(n, w[i + 1]));
        i += 2;
      } else {
        MAMORI_ASSIGN_OR_RETURN(nat.mapped_src,
                                NatAddress(n, w[i], nat.mapped_ifc, nat.mapped_src_interface));
        ++i;
      }
      while (i < w.size()) {
        const std::string& word = w[i];
        if (word == "service") {
          if (i + 3 >= w.size()) return Missing(n, word);
          std::optional<ValueSet> protocols = PortProtocols(w[i + 1]);
          if (!protocols || w[i + 1] == "tcp-udp") {
            return BadWord(n, "プロトコル", "protocol", w[i + 1]);
          }
          nat.service_protocol = protocols->Nth(0);
          MAMORI_ASSIGN_OR_RETURN(nat.real_port, Port(n, w[i + 2]));
          MAMORI_ASSIGN_OR_RETURN(nat.mapped_port, Port(n, w[i + 3]));
          i += 4;
        } else if (word == "unidirectional") {
          nat.unidirectional = true;
          ++i;
        } else if (word == "inactive") {
          nat.line = 0;  // disabled
          ++i;
        } else if (word == "description") {
          break;
        } else {
          ++i;  // dns, no-proxy-arp, route-lookup, net-to-net, interface (PAT fallback), …
        }
      }
      if (nat.line != 0) nats_.push_back(std::move(nat));
    }
    return {};
  }

  Status ReadTwiceNat(const Line& line) {
    const std::vector<std::string>& w = line.words;
    const uint32_t n = line.number;
    Nat nat;
    nat.line = n;
    size_t i = 1;
    if (i < w.size() && w[i].starts_with('(')) {
      if (w[i].find(',') == std::string::npos) {
        ReportUnknown(n, "pre-8.3 nat command (not modelled)");
        return {};
      }
      MAMORI_TRY(NatInterfaces(n, w[i++], nat));
    }
    if (i < w.size() && (w[i] == "after-auto" || w[i] == "after-object")) {
      nat.section = 3;
      ++i;
    }
    if (i < w.size() && Number(w[i], 1u << 20)) ++i;  // a line number
    if (i + 3 >= w.size() || w[i] != "source" || (w[i + 1] != "static" && w[i + 1] != "dynamic")) {
      return Fail(n, "nat に source static|dynamic が必要です。",
                  "nat: expected source static|dynamic REAL MAPPED.");
    }
    nat.is_static = w[i + 1] == "static";
    bool unused = false;
    MAMORI_ASSIGN_OR_RETURN(nat.real_src, NatAddress(n, w[i + 2], nat.real_ifc, unused));
    i += 3;
    if (w[i] == "pat-pool") {
      if (i + 1 >= w.size()) return Missing(n, "pat-pool");
      MAMORI_ASSIGN_OR_RETURN(nat.mapped_src, NetworkNamed(n, w[i + 1]));
      i += 2;
    } else {
      MAMORI_ASSIGN_OR_RETURN(nat.mapped_src,
                              NatAddress(n, w[i], nat.mapped_ifc, nat.mapped_src_interface));
      ++i;
    }
    while (i < w.size()) {
      const std::string& word = w[i];
      if (word == "destination") {
        if (i + 3 >= w.size() || w[i + 1] != "static") {
          return Fail(n, "destination static MAPPED REAL が必要です。",
                      "nat: expected destination static MAPPED REAL.");
        }
        nat.has_dst = true;
        bool is_interface = false;
        MAMORI_ASSIGN_OR_RETURN(nat.mapped_dst,
                                NatAddress(n, w[i + 2], nat.real_ifc, is_interface));
        MAMORI_ASSIGN_OR_RETURN(nat.real_dst, NatAddress(n, w[i + 3], nat.mapped_ifc, unused));
        i += 4;
      } else if (word == "service") {
        if (i + 2 >= w.size()) return Missing(n, word);
        for (size_t k = i + 1; k <= i + 2; ++k) {
          const Object* object = FindObject(w[k]);
          if (object == nullptr) return Undefined(n, "オブジェクト", "object", w[k]);
        }
        ReportUnknown(n, "twice NAT service translation (taken as any port)");
        nat.twice_service = true;
        i += 3;
      } else if (word == "unidirectional") {
        nat.unidirectional = true;
        ++i;
      } else if (word == "inactive") {
        return {};
      } else if (word == "description") {
        break;
      } else {
        ++i;  // dns, no-proxy-arp, route-lookup, net-to-net, …
      }
    }
    nats_.push_back(std::move(nat));
    return {};
  }

  // ---------------------------------------------------------------- building the model

  Status CountRule() {
    if (++rule_count_ > kMaxRules) {
      return Error::TooLarge(Cat(file_, ": 規則が多すぎます。"), Cat(file_, ": too many rules."));
    }
    return {};
  }

  static Chain MakeChain(std::string_view name, bool builtin, ActionKind policy,
                         SourceLocation location) {
    Chain chain;
    chain.name = std::string(name);
    chain.builtin = builtin;
    chain.policy = policy;
    chain.location = std::move(location);
    return chain;
  }

  static void AddInterface(std::vector<Match>& matches, MatchKind kind, const std::string& name) {
    if (!name.empty()) matches.push_back(InterfaceMatch(kind, {name}));
  }

  static bool IsAll(const ValueSet& set, uint64_t max) { return set.Covers(0, max); }

  // Appends a match on `set` unless it is everything; false when it matches nothing.
  static bool AddAddress(std::vector<Match>& matches, MatchKind kind, const Addresses& a) {
    if (a.may) {
      matches.push_back(MayMatch());
      return true;
    }
    if (a.set.empty()) return false;
    if (!IsAll(a.set, kMaxAddress)) matches.push_back(ValueMatch(kind, a.set));
    return true;
  }

  Status AddRule(Chain& chain, std::vector<Match> matches, ActionKind kind, uint32_t line,
                 std::string detail = {}, NatTarget nat = {}, std::string jump = {}) {
    MAMORI_TRY(CountRule());
    Rule rule;
    rule.matches = std::move(matches);
    rule.action.kind = kind;
    rule.action.nat = nat;
    rule.action.chain = std::move(jump);
    rule.action.target = rule.action.chain;
    rule.location = Here(line, std::move(detail));
    chain.rules.push_back(std::move(rule));
    return {};
  }

  // One chain per access-list and direction: permit → `permit_action`, deny → DROP; an outbound
  // list ends in its implicit deny.
  Status BuildAclChain(Table& table, const std::string& chain_name, const AccessList& acl,
                       ActionKind permit_action, std::optional<uint32_t> implicit_deny_line) {
    Chain chain = MakeChain(chain_name, false, ActionKind::kReturn, Here(acl.first_line));
    for (const Ace& ace : acl.aces) {
      for (const Service& s : ace.services) {
        std::vector<Match> m;
        bool may = ace.may || s.may;
        if (s.protocols.empty()) continue;
        if (!IsAll(s.protocols, kMaxProtocol))
          m.push_back(ValueMatch(MatchKind::kProtocol, s.protocols));
        if (!AddAddress(m, MatchKind::kSrcAddress, ace.src)) continue;
        if (!AddAddress(m, MatchKind::kDstAddress, ace.dst)) continue;
        if (s.sports) m.push_back(ValueMatch(MatchKind::kSrcPort, *s.sports));
        if (s.dports) m.push_back(ValueMatch(MatchKind::kDstPort, *s.dports));
        if (s.icmp_types) m.push_back(ValueMatch(MatchKind::kIcmpType, *s.icmp_types));
        if (may) m.push_back(MayMatch());
        MAMORI_TRY(
            AddRule(chain, std::move(m), ace.permit ? permit_action : ActionKind::kDrop, ace.line));
      }
    }
    if (implicit_deny_line) {
      MAMORI_TRY(AddRule(chain, {}, ActionKind::kDrop, *implicit_deny_line, "implicit deny"));
      chain.rules.back().implied = true;
    }
    table.chains.push_back(std::move(chain));
    return {};
  }

  Result<const AccessList*> BoundAcl(const Binding& binding) const {
    auto it = acls_.find(binding.acl);
    if (it == acls_.end())
      return Undefined(binding.line, "access-list", "access-list", binding.acl);
    return &it->second;
  }

  Status CheckInterface(uint32_t line, const std::string& name) const {
    if (interfaces_.count(name) == 0) return Undefined(line, "インターフェース", "interface", name);
    return {};
  }

  Status BuildAccess(Table& table) {
    Chain access = MakeChain(kAccess, true, ActionKind::kDrop, Here(1, "implicit deny"));
    std::set<std::string> made;
    auto chain_for = [&](const Binding& b, bool out) -> Result<std::string> {
      const std::string name = Cat(out ? "acl-out " : "acl ", b.acl);
      if (made.insert(name).second) {
        MAMORI_ASSIGN_OR_RETURN(const AccessList* acl, BoundAcl(b));
        MAMORI_TRY(BuildAclChain(table, name, *acl, out ? ActionKind::kReturn : ActionKind::kAccept,
                                 out ? std::optional<uint32_t>(b.line) : std::nullopt));
      }
      return name;
    };
    // Outbound lists first: their permit goes on to the inbound decision.
    for (const auto& [ifc, binding] : out_bindings_) {
      MAMORI_TRY(CheckInterface(binding.line, ifc));
      MAMORI_ASSIGN_OR_RETURN(std::string chain, chain_for(binding, true));
      std::vector<Match> m;
      AddInterface(m, MatchKind::kOutInterface, ifc);
      MAMORI_TRY(AddRule(access, std::move(m), ActionKind::kJump, binding.line, {}, {}, chain));
    }
    std::optional<std::string> global_chain;
    if (global_) {
      MAMORI_ASSIGN_OR_RETURN(global_chain, chain_for(*global_, false));
    }
    for (const auto& [ifc, binding] : in_bindings_) {
      MAMORI_TRY(CheckInterface(binding.line, ifc));
      MAMORI_ASSIGN_OR_RETURN(std::string chain, chain_for(binding, false));
      std::vector<Match> m;
      AddInterface(m, MatchKind::kInInterface, ifc);
      MAMORI_TRY(AddRule(access, m, ActionKind::kJump, binding.line, {}, {}, chain));
      if (global_chain) {
        MAMORI_TRY(AddRule(access, m, ActionKind::kJump, global_->line, {}, {}, *global_chain));
      }
      MAMORI_TRY(AddRule(access, m, ActionKind::kDrop, binding.line, "implicit deny"));
    }
    if (global_chain) {
      MAMORI_TRY(AddRule(access, {}, ActionKind::kJump, global_->line, {}, {}, *global_chain));
      MAMORI_TRY(AddRule(access, {}, ActionKind::kDrop, global_->line, "implicit deny"));
    } else {
      // Security levels decide for the interfaces without an inbound list.
      for (const std::string& in_name : interface_order_) {
        const Interface& in = interfaces_.at(in_name);
        if (!in.passes || in_bindings_.count(in_name) > 0) continue;
        std::vector<std::string> lower;
        for (const std::string& out_name : interface_order_) {
          const Interface& out = interfaces_.at(out_name);
          if (out_name == in_name || !out.passes) continue;
          if (in.level > out.level || (in.level == out.level && same_security_)) {
            lower.push_back(out_name);
          }
        }
        if (lower.empty()) continue;
        std::vector<Match> m;
        AddInterface(m, MatchKind::kInInterface, in_name);
        m.push_back(InterfaceMatch(MatchKind::kOutInterface, lower));
        MAMORI_TRY(AddRule(access, std::move(m), ActionKind::kAccept, in.level_line,
                           Cat("security-level ", std::to_string(in.level), " of ", in_name)));
      }
    }
    // Bindings, implicit denies and security levels: none of them is an access-list entry.
    for (Rule& rule : access.rules) rule.implied = true;
    table.chains.push_back(std::move(access));
    return {};
  }

  // Appends the rules that untranslate destination `mapped` to `real`, for packets already
  // matched by `base` (interfaces, source, protocol and port).
  Status AddDnat(Chain& chain, const std::vector<Match>& base, const Addresses& mapped,
                 const Addresses& real, const Nat& nat, std::optional<NatTarget> port) {
    auto rule = [&](const ValueSet* dst, std::optional<ValueTerm> to, bool may) -> Status {
      std::vector<Match> m = base;
      if (dst != nullptr && !IsAll(*dst, kMaxAddress)) {
        m.push_back(ValueMatch(MatchKind::kDstAddress, *dst));
      }
      if (may) m.push_back(MayMatch());
      NatTarget target;
      if (port) target.port = port->port;
      target.address = to;
      if (!target.address && !target.port) {
        return AddRule(chain, std::move(m), ActionKind::kAccept, nat.line, "identity NAT");
      }
      return AddRule(chain, std::move(m), ActionKind::kDnat, nat.line, {}, target);
    };
    if (mapped.may || real.may) {
      const bool any_real = real.may || real.set.empty();
      std::optional<ValueTerm> to = any_real ? ValueTerm::Range(0, kMaxAddress)
                                             : ValueTerm::Range(real.set.ranges().front().first,
                                                                real.set.ranges().back().second);
      return rule(mapped.may ? nullptr : &mapped.set, to, true);
    }
    if (mapped.set.empty() || real.set.empty()) return {};
    if (mapped.set == real.set) return rule(&mapped.set, std::nullopt, false);  // identity
    const uint64_t count = real.set.Count();
    if (count == 1) {
      const uint64_t a = real.set.Nth(0);
      return rule(&mapped.set, ValueTerm::Range(a, a), false);
    }
    if (count == mapped.set.Count() && count <= kMaxOneToOne) {
      for (uint64_t k = 0; k < count; ++k) {
        const ValueSet one = ValueSet::Of(mapped.set.Nth(k), mapped.set.Nth(k));
        const uint64_t a = real.set.Nth(k);
        MAMORI_TRY(rule(&one, ValueTerm::Range(a, a), false));
      }
      return {};
    }
    ReportUnknown(nat.line,
                  "static NAT between address sets of different sizes or above 256 addresses "
                  "(every mapped address taken to reach every real address)");
    return rule(&mapped.set,
                ValueTerm::Range(real.set.ranges().front().first, real.set.ranges().back().second),
                false);
  }

  Status BuildNat(Table& table) {
    Chain dst = MakeChain(kNatDst, true, ActionKind::kAccept, Here(1, "NAT table"));
    Chain src = MakeChain(kNatSrc, true, ActionKind::kAccept, Here(1, "NAT table"));
    std::vector<const Nat*> order;
    for (const Nat& nat : nats_) order.push_back(&nat);
    std::stable_sort(order.begin(), order.end(), [](const Nat* a, const Nat* b) {
      if (a->section != b->section) return a->section < b->section;
      if (a->section != 2) return false;  // twice NAT: file order
      if (a->is_static != b->is_static) return a->is_static;
      const uint64_t ca = a->real_src.set.Count();
      const uint64_t cb = b->real_src.set.Count();
      if (ca != cb) return ca < cb;
      const uint64_t fa = a->real_src.set.empty() ? 0 : a->real_src.set.Nth(0);
      const uint64_t fb = b->real_src.set.empty() ? 0 : b->real_src.set.Nth(0);
      if (fa != fb) return fa < fb;
      return a->object < b->object;
    });
    const Addresses any{ValueSet::Of(0, kMaxAddress), false};
    for (const Nat* nat : order) {
      // Destination translations a NEW connection can meet.
      if (nat->section == 2 && nat->is_static && !nat->unidirectional) {
        std::vector<Match> base;
        AddInterface(base, MatchKind::kInInterface, nat->mapped_ifc);
        AddInterface(base, MatchKind::kOutInterface, nat->real_ifc);
        std::optional<NatTarget> port;
        if (nat->service_protocol) {
          base.push_back(ValueMatch(MatchKind::kProtocol,
                                    ValueSet::Of(*nat->service_protocol, *nat->service_protocol)));
          base.push_back(
              ValueMatch(MatchKind::kDstPort, ValueSet::Of(nat->mapped_port, nat->mapped_port)));
          port = NatTarget{std::nullopt, ValueTerm::Range(nat->real_port, nat->real_port)};
        }
        MAMORI_TRY(AddDnat(dst, base, nat->mapped_src, nat->real_src, *nat, port));
      }
      if (nat->section != 2) {
        std::optional<NatTarget> port;
        if (nat->twice_service) port = NatTarget{std::nullopt, ValueTerm::Range(0, kMaxPort)};
        if (nat->has_dst) {  // forward: from the real side towards the mapped destination
          std::vector<Match> base;
          AddInterface(base, MatchKind::kInInterface, nat->real_ifc);
          AddInterface(base, MatchKind::kOutInterface, nat->mapped_ifc);
          if (AddAddress(base, MatchKind::kSrcAddress, nat->real_src)) {
            MAMORI_TRY(AddDnat(dst, base, nat->mapped_dst, nat->real_dst, *nat, port));
          }
        }
        if (nat->is_static && !nat->unidirectional) {  // reverse: from the mapped side
          std::vector<Match> base;
          AddInterface(base, MatchKind::kInInterface, nat->mapped_ifc);
          AddInterface(base, MatchKind::kOutInterface, nat->real_ifc);
          if (AddAddress(base, MatchKind::kSrcAddress, nat->has_dst ? nat->real_dst : any)) {
            MAMORI_TRY(AddDnat(dst, base, nat->mapped_src, nat->real_src, *nat, port));
          }
        }
      }
      // Source translation on the way out (no effect on reachability; kept for the path).
      std::vector<Match> m;
      AddInterface(m, MatchKind::kInInterface, nat->real_ifc);
      AddInterface(m, MatchKind::kOutInterface, nat->mapped_ifc);
      if (!AddAddress(m, MatchKind::kSrcAddress, nat->real_src)) continue;
      if (nat->has_dst && !AddAddress(m, MatchKind::kDstAddress, nat->real_dst)) continue;
      if (nat->real_src.set == nat->mapped_src.set && !nat->real_src.may) {
        MAMORI_TRY(AddRule(src, std::move(m), ActionKind::kAccept, nat->line, "identity NAT"));
      } else if (nat->mapped_src_interface || nat->mapped_src.may || nat->mapped_src.set.empty()) {
        MAMORI_TRY(AddRule(src, std::move(m), ActionKind::kMasquerade, nat->line));
      } else {
        NatTarget to;
        to.address = ValueTerm::Range(nat->mapped_src.set.ranges().front().first,
                                      nat->mapped_src.set.ranges().back().second);
        MAMORI_TRY(AddRule(src, std::move(m), ActionKind::kSnat, nat->line, {}, to));
      }
    }
    table.chains.push_back(std::move(dst));
    table.chains.push_back(std::move(src));
    return {};
  }

  Status Build() {
    Table table;
    table.name = std::string(kTable);
    MAMORI_TRY(BuildNat(table));
    MAMORI_TRY(BuildAccess(table));
    ruleset_.tables.push_back(std::move(table));
    ruleset_.base_chains = {
        {Hook::kPrerouting, -100, ChainType::kNat, std::string(kTable), std::string(kNatDst)},
        {Hook::kForward, 0, ChainType::kFilter, std::string(kTable), std::string(kAccess)},
        {Hook::kPostrouting, 100, ChainType::kNat, std::string(kTable), std::string(kNatSrc)},
    };
    return {};
  }

  std::string_view file_;
  Ruleset ruleset_;
  std::vector<Block> blocks_;
  std::map<std::string, Interface> interfaces_;
  std::vector<std::string> interface_order_;
  std::map<std::string, uint32_t> names_;
  std::map<std::string, Object> objects_;
  std::map<std::string, Addresses> network_cache_;
  std::set<std::string> active_;
  std::map<std::string, std::vector<const Line*>> acl_lines_;
  std::map<std::string, AccessList> acls_;
  std::map<std::string, Binding> in_bindings_;
  std::map<std::string, Binding> out_bindings_;
  std::optional<Binding> global_;
  bool same_security_ = false;
  std::vector<const Line*> twice_lines_;
  std::vector<Nat> nats_;
  std::set<std::pair<uint32_t, std::string>> reported_;
  size_t rule_count_ = 0;
};

}  // namespace

Result<Ruleset> ParseCiscoAsa(std::string_view text, std::string_view file,
                              std::string_view device) {
  Parser parser(file, device);
  return parser.Parse(text);
}

}  // namespace mamori::netsep
