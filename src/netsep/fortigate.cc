#include "netsep/fortigate.h"

#include <algorithm>
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

constexpr size_t kMaxWordsPerStatement = 4096;
constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxGroupDepth = 32;
constexpr uint64_t kMaxOneToOne = 256;
constexpr uint64_t kTcp = 6;
constexpr uint64_t kUdp = 17;
constexpr uint64_t kIcmp = 1;

constexpr std::string_view kTable = "fortigate";
constexpr std::string_view kVip = "vip";
constexpr std::string_view kPolicy = "policy";
constexpr std::string_view kSnat = "snat";

std::optional<uint64_t> Number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

struct Setting {
  std::string key;
  std::vector<std::string> values;
  uint32_t line = 0;
};

// A `config PATH` block or an `edit NAME` entry.
struct Node {
  bool is_config = true;
  std::string name;  // "firewall policy", or the edit's name
  uint32_t line = 0;
  std::vector<Setting> settings;
  std::vector<Node> children;

  const Setting* Find(std::string_view key) const {
    const Setting* found = nullptr;
    for (const Setting& s : settings) {
      if (s.key == key) found = &s;  // the last one counts
    }
    return found;
  }
  std::string Value(std::string_view key, std::string_view fallback = {}) const {
    const Setting* s = Find(key);
    return s != nullptr && !s->values.empty() ? s->values[0] : std::string(fallback);
  }
};

struct Addresses {
  ValueSet set;
  bool may = false;
};

struct Service {
  ValueSet protocols;
  std::optional<ValueSet> sports;
  std::optional<ValueSet> dports;
  std::optional<ValueSet> icmp_types;
  bool may = false;
};

// What a VIP rewrites a packet to, as a policy naming it sees it.
struct Vip {
  const Node* node = nullptr;
  ValueSet mapped;
  bool may = false;
  std::optional<uint64_t> protocol;  // portforward
  std::optional<ValueSet> mapped_ports;
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
    MAMORI_TRY(ReadTree(text));
    Index(root_, 0);
    MAMORI_TRY(Build());
    return std::move(ruleset_);
  }

 private:
  // ---------------------------------------------------------------- messages

  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(file_, ":", std::to_string(line), ": ");
    return Error::Invalid(Printable(Cat(where, ja)), Printable(Cat(where, en)));
  }

  Error BadValue(uint32_t line, std::string_view key, std::string_view value) const {
    return Fail(line, Cat(key, " の値 \"", value, "\" が不正です。"),
                Cat("invalid value \"", value, "\" for ", key, "."));
  }

  Error Undefined(uint32_t line, std::string_view what_ja, std::string_view what_en,
                  std::string_view name) const {
    return Fail(line, Cat(what_ja, " \"", name, "\" は定義されていません。"),
                Cat(what_en, " \"", name, "\" is not defined."));
  }

  SourceLocation Here(uint32_t line, std::string detail = {}) const {
    return {std::string(file_), line, std::move(detail)};
  }

  void ReportUnknown(uint32_t line, std::string_view construct) {
    if (reported_.emplace(line, std::string(construct)).second) {
      ruleset_.unknown.push_back({Here(line), Printable(construct)});
    }
  }

  // ---------------------------------------------------------------- the tree

  // Splits the text into statements (one per line, except inside quotes) and builds the tree.
  Status ReadTree(std::string_view text) {
    std::vector<Node*> stack = {&root_};
    uint32_t line = 1;
    size_t i = 0;
    while (i < text.size()) {
      // One statement.
      const uint32_t start_line = line;
      std::vector<std::string> words;
      bool comment = false;
      while (i < text.size() && text[i] != '\n') {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r') {
          ++i;
          continue;
        }
        if (c == '#' && words.empty()) comment = true;
        std::string word;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
               text[i] != '\n') {
          if (text[i] == '"' || text[i] == '\'') {
            const char quote = text[i++];
            const uint32_t quote_line = line;
            while (i < text.size() && text[i] != quote) {
              if (text[i] == '\\' && i + 1 < text.size()) ++i;
              if (text[i] == '\n') ++line;
              word.push_back(text[i++]);
            }
            if (i == text.size()) {
              return Fail(quote_line, "引用符が閉じられていません。",
                          "unterminated quotation mark.");
            }
            ++i;
          } else {
            word.push_back(text[i++]);
          }
        }
        words.push_back(std::move(word));
        if (words.size() > kMaxWordsPerStatement) {
          return Fail(start_line, "行が長すぎます。", "the line has too many words.");
        }
      }
      if (i < text.size()) {
        ++i;  // '\n'
        ++line;
      }
      if (comment || words.empty()) continue;
      MAMORI_TRY(Statement(stack, words, start_line));
    }
    if (stack.size() > 1) {
      const Node* open = stack.back();
      return open->is_config
                 ? Fail(open->line, Cat("config ", open->name, " に end がありません。"),
                        Cat("config ", open->name, " has no end."))
                 : Fail(open->line, Cat("edit ", open->name, " に next がありません。"),
                        Cat("edit ", open->name, " has no next."));
    }
    return {};
  }

  Status Statement(std::vector<Node*>& stack, std::vector<std::string>& words, uint32_t line) {
    const std::string& cmd = words[0];
    Node* top = stack.back();
    if (cmd == "config") {
      if (words.size() < 2)
        return Fail(line, "config に名前がありません。", "config needs a path.");
      if (stack.size() > kMaxDepth) {
        return Fail(line, "config の入れ子が深すぎます。", "config blocks nest too deeply.");
      }
      Node node;
      node.name = words[1];
      for (size_t k = 2; k < words.size(); ++k) node.name += Cat(" ", words[k]);
      node.line = line;
      top->children.push_back(std::move(node));
      stack.push_back(&top->children.back());
      return {};
    }
    if (cmd == "edit") {
      if (!top->is_config || stack.size() == 1) {
        return Fail(line, "edit が config の外にあります。", "edit outside a config block.");
      }
      if (words.size() != 2) return Fail(line, "edit に名前がありません。", "edit needs one name.");
      Node node;
      node.is_config = false;
      node.name = words[1];
      node.line = line;
      top->children.push_back(std::move(node));
      stack.push_back(&top->children.back());
      return {};
    }
    if (cmd == "next") {
      if (top->is_config) {
        return Fail(line, "next に対応する edit がありません。", "next without an edit.");
      }
      stack.pop_back();
      return {};
    }
    if (cmd == "end") {
      if (!top->is_config) {  // the CLI accepts `end` inside an edit: it closes both
        stack.pop_back();
        top = stack.back();
      }
      if (stack.size() == 1)
        return Fail(line, "end に対応する config がありません。", "end without a config.");
      stack.pop_back();
      return {};
    }
    if (cmd == "set" || cmd == "unset" || cmd == "append" || cmd == "select" || cmd == "unselect") {
      if (stack.size() == 1) {
        return Fail(line, Cat(cmd, " が config の外にあります。"),
                    Cat(cmd, " outside a config block."));
      }
      if (words.size() < 2)
        return Fail(line, Cat(cmd, " に名前がありません。"), Cat(cmd, " needs a key."));
      if (cmd == "unset") {
        std::erase_if(top->settings, [&](const Setting& s) { return s.key == words[1]; });
        return {};
      }
      Setting setting{words[1], {words.begin() + 2, words.end()}, line};
      if (cmd == "append" || cmd == "select") {
        for (Setting& s : top->settings) {
          if (s.key == setting.key) {
            s.values.insert(s.values.end(), setting.values.begin(), setting.values.end());
            return {};
          }
        }
      }
      top->settings.push_back(std::move(setting));
      return {};
    }
    return Fail(line, Cat("文 \"", cmd, "\" を解釈できません。"),
                Cat("cannot read the statement \"", cmd, "\"."));
  }

  // Finds the sections netcheck reads, at any depth (inside `config vdom` / `edit root` too).
  void Index(const Node& node, int depth) {
    for (const Node& child : node.children) {
      if (child.is_config) {
        if (child.name == "system interface" || child.name == "system zone" ||
            child.name == "firewall address" || child.name == "firewall addrgrp" ||
            child.name == "firewall service custom" || child.name == "firewall service group" ||
            child.name == "firewall vip" || child.name == "firewall vipgrp") {
          for (const Node& entry : child.children) {
            if (!entry.is_config) sections_[child.name][entry.name] = &entry;
          }
        } else if (child.name == "firewall policy") {
          policy_sections_.push_back(&child);
        } else if (child.name == "system settings") {
          if (const Setting* s = child.Find("central-nat");
              s != nullptr && !s->values.empty() && s->values[0] == "enable") {
            central_nat_ = true;
            ReportUnknown(s->line,
                          "central NAT (policies compared with the mapped address; central SNAT "
                          "and DNAT tables are not read)");
          }
        } else if (child.name == "members" && sdwan_depth_ > 0) {
          for (const Node& member : child.children) {
            const std::string ifc = member.Value("interface");
            if (!ifc.empty()) {
              sdwan_zones_[member.Value("zone", "virtual-wan-link")].push_back(ifc);
            }
          }
        }
      }
      const bool sdwan = child.is_config &&
                         (child.name == "system sdwan" || child.name == "system virtual-wan-link");
      if (sdwan) ++sdwan_depth_;
      Index(child, depth + 1);
      if (sdwan) --sdwan_depth_;
    }
  }

  const Node* Entry(std::string_view section, std::string_view name) const {
    auto s = sections_.find(std::string(section));
    if (s == sections_.end()) return nullptr;
    auto e = s->second.find(std::string(name));
    return e == s->second.end() ? nullptr : e->second;
  }

  // ---------------------------------------------------------------- values

  // "10.0.0.0 255.255.255.0" (two words) or "10.0.0.0/24" (one word).
  Result<ValueSet> Subnet(const Setting& s, size_t first = 0) const {
    const std::string joined = s.values.size() > first + 1
                                   ? Cat(s.values[first], " ", s.values[first + 1])
                               : s.values.size() > first ? s.values[first]
                                                         : std::string();
    if (s.values.size() == first + 1) {
      std::optional<Prefix> p = ParsePrefix(s.values[first], HostBits::kClear);
      if (!p) return BadValue(s.line, s.key, joined);
      return ValueSet::OfPrefix(*p);
    }
    if (s.values.size() < first + 2) return BadValue(s.line, s.key, joined);
    std::optional<uint32_t> address = ParseIpv4(s.values[first]);
    std::optional<uint32_t> mask = ParseIpv4(s.values[first + 1]);
    std::optional<int> length = mask ? MaskLength(*mask) : std::nullopt;
    if (!address || !length) return BadValue(s.line, s.key, joined);
    return ValueSet::OfPrefix(Prefix{*address & *mask, *length});
  }

  // "10.0.0.1" or "10.0.0.1-10.0.0.9".
  std::optional<ValueSet> AddressRange(std::string_view text) const {
    const size_t dash = text.find('-');
    std::optional<uint32_t> lo = ParseIpv4(text.substr(0, dash));
    std::optional<uint32_t> hi =
        dash == std::string_view::npos ? lo : ParseIpv4(text.substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return ValueSet::Of(*lo, *hi);
  }

  // "80", "80-90" (0–65535).
  static std::optional<ValueSet> PortRange(std::string_view text) {
    const size_t dash = text.find('-');
    std::optional<uint64_t> lo = Number(text.substr(0, dash), 65535);
    std::optional<uint64_t> hi =
        dash == std::string_view::npos ? lo : Number(text.substr(dash + 1), 65535);
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return ValueSet::Of(*lo, *hi);
  }

  // ---------------------------------------------------------------- objects

  Status CheckVisit(uint32_t line, std::string_view name, const GroupVisit& visit) const {
    if (visit.loop() || active_.size() > kMaxGroupDepth) {
      return Fail(line, Cat("グループ \"", name, "\" が循環しているか深すぎます。"),
                  Cat("group \"", name, "\" loops or nests too deeply."));
    }
    return {};
  }

  Result<Addresses> AddressObject(const Node& node) {
    Addresses out;
    const std::string type = node.Value("type", "ipmask");
    if (type == "ipmask" || type == "interface-subnet") {
      const Setting* subnet = node.Find("subnet");
      if (subnet == nullptr) {
        out.set = ValueSet::Of(0, kMaxAddress);  // the default 0.0.0.0 0.0.0.0
      } else {
        MAMORI_ASSIGN_OR_RETURN(out.set, Subnet(*subnet));
      }
    } else if (type == "iprange") {
      const Setting* start = node.Find("start-ip");
      const Setting* end = node.Find("end-ip");
      const std::string a = node.Value("start-ip", "0.0.0.0");
      const std::string b = node.Value("end-ip", "0.0.0.0");
      std::optional<ValueSet> range = AddressRange(Cat(a, "-", b));
      if (!range) {
        const uint32_t line = end != nullptr     ? end->line
                              : start != nullptr ? start->line
                                                 : node.line;
        return BadValue(line, "start-ip/end-ip", Cat(a, "-", b));
      }
      out.set = *range;
    } else {
      ReportUnknown(node.line,
                    Cat("address ", node.name, " of type ", type, " (taken as any address)"));
      out.may = true;
    }
    return out;
  }

  // An address, address group or (when `vips` is given) VIP name: addresses, and the VIPs.
  Status ResolveAddress(uint32_t line, const std::string& name, Addresses& out,
                        std::vector<const Vip*>* vips) {
    if (const Node* node = Entry("firewall address", name)) {
      MAMORI_ASSIGN_OR_RETURN(Addresses a, AddressObject(*node));
      out.set.Add(a.set);
      out.may = out.may || a.may;
      return {};
    }
    if (const Node* group = Entry("firewall addrgrp", name)) {
      MAMORI_ASSIGN_OR_RETURN(Addresses a, Group(line, *group));
      out.set.Add(a.set);
      out.may = out.may || a.may;
      return {};
    }
    if (vips != nullptr) {
      if (const Vip* vip = FindVip(name)) {
        vips->push_back(vip);
        return {};
      }
      if (const Node* group = Entry("firewall vipgrp", name)) {
        GroupVisit visit(active_, Cat("vipgrp ", name));
        MAMORI_TRY(CheckVisit(line, name, visit));
        const Setting* member = group->Find("member");
        if (member == nullptr) return {};
        for (const std::string& m : member->values) {
          MAMORI_TRY(ResolveAddress(member->line, m, out, vips));
        }
        return {};
      }
    }
    if (name == "all") {
      out.set.Add(0, kMaxAddress);
      return {};
    }
    if (name == "none") return {};
    return Undefined(line, "アドレス", "address", name);
  }

  Result<Addresses> Group(uint32_t line, const Node& group) {
    auto cached = group_cache_.find(group.name);
    if (cached != group_cache_.end()) return cached->second;
    GroupVisit visit(active_, Cat("addrgrp ", group.name));
    MAMORI_TRY(CheckVisit(line, group.name, visit));
    Addresses out;
    if (const Setting* member = group.Find("member")) {
      for (const std::string& m : member->values) {
        MAMORI_TRY(ResolveAddress(member->line, m, out, nullptr));
      }
    }
    if (group.Value("exclude") == "enable") {
      Addresses excluded;
      if (const Setting* member = group.Find("exclude-member")) {
        for (const std::string& m : member->values) {
          MAMORI_TRY(ResolveAddress(member->line, m, excluded, nullptr));
        }
      }
      if (excluded.may) {
        ReportUnknown(group.line, Cat("addrgrp ", group.name,
                                      " excludes an address that is not modelled (nothing "
                                      "excluded)"));
      } else {
        out.set.Subtract(excluded.set);
      }
    }
    group_cache_.emplace(group.name, out);
    return out;
  }

  Result<std::vector<Service>> CustomService(const Node& node) {
    std::vector<Service> out;
    std::string protocol = node.Value("protocol", "TCP/UDP/SCTP");
    std::transform(protocol.begin(), protocol.end(), protocol.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const std::string iprange = node.Value("iprange", "0.0.0.0");
    const std::string fqdn = node.Value("fqdn");
    const bool may = iprange != "0.0.0.0" || !fqdn.empty();
    if (may) ReportUnknown(node.line, Cat("service ", node.name, " limited to iprange or fqdn"));
    if (protocol == "TCP/UDP/SCTP" || protocol == "TCP/UDP/UDP-LITE/SCTP") {
      for (const auto& [key, number] :
           {std::pair<std::string_view, uint64_t>{"tcp-portrange", kTcp},
            std::pair<std::string_view, uint64_t>{"udp-portrange", kUdp}}) {
        const Setting* ranges = node.Find(key);
        if (ranges == nullptr) continue;
        for (const std::string& entry : ranges->values) {
          Service s;
          s.protocols = ValueSet::Of(number, number);
          s.may = may;
          const size_t colon = entry.find(':');
          std::optional<ValueSet> dst = PortRange(std::string_view(entry).substr(0, colon));
          if (!dst) return BadValue(ranges->line, key, entry);
          s.dports = *dst;
          if (colon != std::string::npos) {
            std::optional<ValueSet> src = PortRange(std::string_view(entry).substr(colon + 1));
            if (!src) return BadValue(ranges->line, key, entry);
            s.sports = *src;
          }
          out.push_back(std::move(s));
        }
      }
      for (std::string_view key : {"sctp-portrange", "udplite-portrange"}) {
        if (const Setting* ranges = node.Find(key)) {
          ReportUnknown(ranges->line, Cat("service ", node.name, " ", key, " (taken as any port)"));
          out.push_back(Service{ValueSet::Of(key == "sctp-portrange" ? 132 : 136,
                                             key == "sctp-portrange" ? 132 : 136),
                                {},
                                {},
                                {},
                                true});
        }
      }
      return out;
    }
    if (protocol == "ICMP") {
      Service s;
      s.protocols = ValueSet::Of(kIcmp, kIcmp);
      s.may = may;
      if (const Setting* type = node.Find("icmptype"); type != nullptr && !type->values.empty()) {
        std::optional<uint64_t> t = Number(type->values[0], 255);
        if (!t) return BadValue(type->line, "icmptype", type->values[0]);
        s.icmp_types = ValueSet::Of(*t, *t);
      }
      if (const Setting* code = node.Find("icmpcode"); code != nullptr) {
        ReportUnknown(code->line, Cat("service ", node.name, " icmpcode (taken as any code)"));
        s.may = true;
      }
      out.push_back(std::move(s));
      return out;
    }
    if (protocol == "ICMP6") return out;  // never an IPv4 packet
    if (protocol == "IP" || protocol == "ALL") {
      Service s;
      s.may = may;
      const Setting* number = node.Find("protocol-number");
      const std::string value =
          number != nullptr && !number->values.empty() ? number->values[0] : "0";
      std::optional<uint64_t> n = Number(value, 255);
      if (!n) return BadValue(number->line, "protocol-number", value);
      s.protocols = *n == 0 ? ValueSet::Of(0, kMaxProtocol) : ValueSet::Of(*n, *n);
      out.push_back(std::move(s));
      return out;
    }
    // Explicit proxy services (HTTP, FTP, CONNECT, SOCKS-TCP, …) belong to proxy policies.
    ReportUnknown(node.line, Cat("service ", node.name, " of protocol ", protocol));
    out.push_back(Service{ValueSet::Of(0, kMaxProtocol), {}, {}, {}, true});
    return out;
  }

  Status ResolveService(uint32_t line, const std::string& name, std::vector<Service>& out) {
    if (const Node* node = Entry("firewall service custom", name)) {
      MAMORI_ASSIGN_OR_RETURN(std::vector<Service> s, CustomService(*node));
      out.insert(out.end(), s.begin(), s.end());
      return {};
    }
    if (const Node* group = Entry("firewall service group", name)) {
      GroupVisit visit(active_, Cat("service group ", name));
      MAMORI_TRY(CheckVisit(line, name, visit));
      if (const Setting* member = group->Find("member")) {
        for (const std::string& m : member->values) {
          MAMORI_TRY(ResolveService(member->line, m, out));
        }
      }
      return {};
    }
    if (name == "ALL") {  // predefined; a backup normally defines it as protocol IP
      out.push_back(Service{ValueSet::Of(0, kMaxProtocol), {}, {}, {}, false});
      return {};
    }
    return Undefined(line, "サービス", "service", name);
  }

  // ---------------------------------------------------------------- interfaces

  // Interface names a policy's srcintf/dstintf stands for; empty for "any".
  Status ResolveInterfaces(const Setting& s, std::vector<std::string>& out) const {
    for (const std::string& name : s.values) {
      if (name == "any") {
        out.clear();
        return {};
      }
      if (Entry("system interface", name) != nullptr) {
        out.push_back(name);
      } else if (const Node* zone = Entry("system zone", name)) {
        if (const Setting* members = zone->Find("interface")) {
          out.insert(out.end(), members->values.begin(), members->values.end());
        }
      } else if (auto it = sdwan_zones_.find(name); it != sdwan_zones_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
      } else {
        return Undefined(s.line, "インターフェース", "interface", name);
      }
    }
    if (out.empty()) out.push_back("");  // an empty zone: matches no interface
    return {};
  }

  // ---------------------------------------------------------------- VIPs

  const Vip* FindVip(const std::string& name) const {
    auto it = vips_.find(name);
    return it == vips_.end() ? nullptr : &it->second;
  }

  Status CountRule() {
    if (++rule_count_ > kMaxRules) {
      return Error::TooLarge(Cat(file_, ": 規則が多すぎます。"), Cat(file_, ": too many rules."));
    }
    return {};
  }

  Status AddRule(Chain& chain, std::vector<Match> matches, ActionKind kind, SourceLocation where,
                 NatTarget nat = {}) {
    MAMORI_TRY(CountRule());
    Rule rule;
    rule.matches = std::move(matches);
    rule.action.kind = kind;
    rule.action.nat = nat;
    rule.location = std::move(where);
    chain.rules.push_back(std::move(rule));
    return {};
  }

  static bool IsAll(const ValueSet& set, uint64_t max) { return set.Covers(0, max); }

  // Reads every VIP into vips_ and its DNAT rules into `chain`, in file order.
  Status BuildVips(Chain& chain) {
    auto section = sections_.find("firewall vip");
    if (section == sections_.end()) return {};
    std::vector<const Node*> nodes;
    for (const auto& [name, node] : section->second) nodes.push_back(node);
    std::sort(nodes.begin(), nodes.end(),
              [](const Node* a, const Node* b) { return a->line < b->line; });
    for (const Node* node : nodes) {
      Vip vip;
      vip.node = node;
      const SourceLocation where = Here(node->line, Cat("vip ", node->name));
      std::vector<Match> base;
      const Setting* extintf = node->Find("extintf");
      if (extintf != nullptr && !extintf->values.empty() && extintf->values[0] != "any") {
        std::vector<std::string> names;
        MAMORI_TRY(ResolveInterfaces(*extintf, names));
        if (!names.empty()) base.push_back(InterfaceMatch(MatchKind::kInInterface, names));
      }
      if (const Setting* filter = node->Find("src-filter")) {
        ValueSet sources;
        for (const std::string& f : filter->values) {
          std::optional<ValueSet> range = AddressRange(f);
          if (!range) {
            std::optional<Prefix> p = ParsePrefix(f, HostBits::kClear);
            if (!p) return BadValue(filter->line, "src-filter", f);
            range = ValueSet::OfPrefix(*p);
          }
          sources.Add(*range);
        }
        base.push_back(ValueMatch(MatchKind::kSrcAddress, sources));
      }
      const std::string type = node->Value("type", "static-nat");
      bool any_address = false;
      if (type != "static-nat") {
        ReportUnknown(node->line,
                      Cat("vip ", node->name, " of type ", type, " (taken to reach any address)"));
        any_address = true;
      }
      for (std::string_view key : {"service", "extaddr"}) {
        if (const Setting* s = node->Find(key); s != nullptr && !s->values.empty()) {
          ReportUnknown(s->line, Cat("vip ", node->name, " ", key, " (may match)"));
          base.push_back(MayMatch());
        }
      }
      // External and mapped addresses.
      const Setting* extip = node->Find("extip");
      ValueSet external = ValueSet::Of(0, kMaxAddress);
      if (extip != nullptr && !extip->values.empty() && extip->values[0] != "0.0.0.0") {
        std::optional<ValueSet> range = AddressRange(extip->values[0]);
        if (!range) return BadValue(extip->line, "extip", extip->values[0]);
        external = *range;
      } else {
        ReportUnknown(node->line, Cat("vip ", node->name,
                                      " on the interface's own address (taken as any address)"));
        base.push_back(MayMatch());
      }
      const Setting* mappedip = node->Find("mappedip");
      if (!any_address) {
        if (mappedip == nullptr || mappedip->values.empty()) {
          return Fail(node->line, Cat("VIP \"", node->name, "\" に mappedip がありません。"),
                      Cat("vip \"", node->name, "\" has no mappedip."));
        }
        for (const std::string& m : mappedip->values) {
          std::optional<ValueSet> range = AddressRange(m);
          if (!range) {
            std::optional<Prefix> p = ParsePrefix(m, HostBits::kClear);
            if (!p) return BadValue(mappedip->line, "mappedip", m);
            range = ValueSet::OfPrefix(*p);
          }
          vip.mapped.Add(*range);
        }
      } else {
        vip.mapped = ValueSet::Of(0, kMaxAddress);
        vip.may = true;
      }
      // Ports.
      std::optional<NatTarget> port;
      if (node->Value("portforward") == "enable") {
        const std::string protocol = node->Value("protocol", "tcp");
        uint64_t number = kTcp;
        if (protocol == "udp") {
          number = kUdp;
        } else if (protocol == "sctp") {
          number = 132;
        } else if (protocol == "icmp") {
          number = kIcmp;
        } else if (protocol != "tcp") {
          return BadValue(node->Find("protocol")->line, "protocol", protocol);
        }
        vip.protocol = number;
        base.push_back(ValueMatch(MatchKind::kProtocol, ValueSet::Of(number, number)));
        if (number == kTcp || number == kUdp) {
          const Setting* extport = node->Find("extport");
          if (extport == nullptr || extport->values.empty()) {
            return Fail(node->line, Cat("VIP \"", node->name, "\" に extport がありません。"),
                        Cat("vip \"", node->name, "\" has no extport."));
          }
          std::optional<ValueSet> ext = PortRange(extport->values[0]);
          if (!ext) return BadValue(extport->line, "extport", extport->values[0]);
          const Setting* mappedport = node->Find("mappedport");
          std::optional<ValueSet> mapped = mappedport != nullptr && !mappedport->values.empty()
                                               ? PortRange(mappedport->values[0])
                                               : ext;
          if (!mapped) return BadValue(mappedport->line, "mappedport", mappedport->values[0]);
          base.push_back(ValueMatch(MatchKind::kDstPort, *ext));
          vip.mapped_ports = *mapped;
          if (*mapped != *ext) {
            if (mapped->Count() > 1) {
              ReportUnknown(node->line, Cat("vip ", node->name,
                                            " maps a port range (each port taken to reach "
                                            "every mapped port)"));
            }
            port = NatTarget{std::nullopt, ValueTerm::Range(mapped->ranges().front().first,
                                                            mapped->ranges().back().second)};
          }
        } else if (number == 132) {
          ReportUnknown(node->line, Cat("vip ", node->name, " sctp ports (taken as any port)"));
        }
      }
      // The address translation: one to one when the sizes agree.
      auto rule = [&](std::optional<uint64_t> ext_one, ValueTerm to) -> Status {
        std::vector<Match> m = base;
        if (ext_one) {
          m.push_back(ValueMatch(MatchKind::kDstAddress, ValueSet::Of(*ext_one, *ext_one)));
        } else if (!IsAll(external, kMaxAddress)) {
          m.push_back(ValueMatch(MatchKind::kDstAddress, external));
        }
        NatTarget target;
        target.address = to;
        if (port) target.port = port->port;
        return AddRule(chain, std::move(m), ActionKind::kDnat, where, target);
      };
      const uint64_t count = vip.mapped.Count();
      if (vip.may) {
        MAMORI_TRY(rule(std::nullopt, ValueTerm::Range(0, kMaxAddress)));
      } else if (count == 1) {
        MAMORI_TRY(rule(std::nullopt, ValueTerm::Range(vip.mapped.Nth(0), vip.mapped.Nth(0))));
      } else if (count == external.Count() && count <= kMaxOneToOne) {
        for (uint64_t k = 0; k < count; ++k) {
          MAMORI_TRY(rule(external.Nth(k), ValueTerm::Range(vip.mapped.Nth(k), vip.mapped.Nth(k))));
        }
      } else {
        ReportUnknown(node->line, Cat("vip ", node->name,
                                      " maps address sets of different sizes or above 256 "
                                      "addresses (every external address taken to reach every "
                                      "mapped address)"));
        MAMORI_TRY(rule(std::nullopt, ValueTerm::Range(vip.mapped.ranges().front().first,
                                                       vip.mapped.ranges().back().second)));
      }
      vips_.emplace(node->name, std::move(vip));
    }
    return {};
  }

  // ---------------------------------------------------------------- policies

  const Setting* Required(const Node& policy, std::string_view key, Status& status) const {
    const Setting* s = policy.Find(key);
    if ((s == nullptr || s->values.empty()) && status.ok()) {
      status = Fail(policy.line, Cat("ポリシー ", policy.name, " に ", key, " がありません。"),
                    Cat("policy ", policy.name, " has no ", key, "."));
    }
    return s;
  }

  Status BuildPolicy(const Node& policy, Chain& filter, Chain& snat) {
    if (policy.Value("status", "enable") == "disable") return {};
    Status status;
    const Setting* srcintf = Required(policy, "srcintf", status);
    const Setting* dstintf = Required(policy, "dstintf", status);
    const Setting* srcaddr = Required(policy, "srcaddr", status);
    const Setting* dstaddr = Required(policy, "dstaddr", status);
    const Setting* service = Required(policy, "service", status);
    MAMORI_TRY(std::move(status));
    const SourceLocation where = Here(policy.line, Cat("policy ", policy.name));
    const std::string action = policy.Value("action", "deny");
    bool may = false;
    ActionKind kind = ActionKind::kDrop;
    if (action == "accept") {
      kind = ActionKind::kAccept;
    } else if (action == "ipsec") {
      kind = ActionKind::kAccept;
      may = true;
      ReportUnknown(policy.line, Cat("policy ", policy.name, " action ipsec (taken as accept)"));
    } else if (action != "deny") {
      return BadValue(policy.line, "action", action);
    }
    const std::string schedule = policy.Value("schedule", "always");
    if (schedule != "always") {
      ReportUnknown(policy.Find("schedule")->line,
                    Cat("policy ", policy.name, " schedule ", schedule, " (may be inactive)"));
      may = true;
    }
    for (std::string_view key : {"users", "groups", "fsso-groups", "internet-service-src-name",
                                 "internet-service-name", "internet-service-id"}) {
      if (const Setting* s = policy.Find(key); s != nullptr && !s->values.empty()) {
        ReportUnknown(s->line, Cat("policy ", policy.name, " ", key, " (may match)"));
        may = true;
      }
    }
    for (std::string_view key : {"internet-service", "internet-service-src"}) {
      if (policy.Value(key) == "enable") {
        ReportUnknown(policy.Find(key)->line,
                      Cat("policy ", policy.name, " ", key, " (may match)"));
        may = true;
      }
    }
    std::vector<std::string> in;
    std::vector<std::string> out;
    MAMORI_TRY(ResolveInterfaces(*srcintf, in));
    MAMORI_TRY(ResolveInterfaces(*dstintf, out));
    Addresses src;
    for (const std::string& name : srcaddr->values) {
      MAMORI_TRY(ResolveAddress(srcaddr->line, name, src, nullptr));
    }
    Addresses dst;
    std::vector<const Vip*> vips;
    bool dst_all = false;
    for (const std::string& name : dstaddr->values) {
      dst_all = dst_all || name == "all";
      MAMORI_TRY(ResolveAddress(dstaddr->line, name, dst, &vips));
    }
    std::vector<Service> services;
    for (const std::string& name : service->values) {
      MAMORI_TRY(ResolveService(service->line, name, services));
    }
    const bool src_negate = policy.Value("srcaddr-negate") == "enable";
    const bool dst_negate = policy.Value("dstaddr-negate") == "enable";
    if (policy.Value("service-negate") == "enable") {
      ReportUnknown(policy.Find("service-negate")->line,
                    Cat("policy ", policy.name, " service-negate (taken as any service)"));
      services = {Service{ValueSet::Of(0, kMaxProtocol), {}, {}, {}, true}};
    }
    const bool match_vip = kind == ActionKind::kDrop && policy.Value("match-vip") == "enable";

    std::vector<Match> common;
    if (!in.empty()) common.push_back(InterfaceMatch(MatchKind::kInInterface, in));
    if (!out.empty()) common.push_back(InterfaceMatch(MatchKind::kOutInterface, out));
    if (src.may) {
      common.push_back(MayMatch());
    } else if (src_negate) {
      common.push_back(ValueMatch(MatchKind::kSrcAddress, src.set, true));
    } else if (src.set.empty()) {
      return {};  // no source matches
    } else if (!IsAll(src.set, kMaxAddress)) {
      common.push_back(ValueMatch(MatchKind::kSrcAddress, src.set));
    }
    if (may) common.push_back(MayMatch());

    // The destination parts: ordinary addresses (packets no VIP rewrote), and each VIP.
    struct Part {
      std::vector<Match> matches;
      std::optional<uint64_t> protocol;
      std::optional<ValueSet> ports;
    };
    std::vector<Part> parts;
    if (dst_negate && !vips.empty()) {
      ReportUnknown(dstaddr->line, Cat("policy ", policy.name, " dstaddr-negate with a VIP"));
      parts.push_back({{MayMatch()}, {}, {}});
    } else {
      if (dst.may || dst_negate || !dst.set.empty()) {
        Part p;
        if (!central_nat_) p.matches.push_back(DnatStateMatch(false));
        if (dst.may) {
          p.matches.push_back(MayMatch());
        } else if (dst_negate || !IsAll(dst.set, kMaxAddress)) {
          p.matches.push_back(ValueMatch(MatchKind::kDstAddress, dst.set, dst_negate));
        }
        parts.push_back(std::move(p));
      }
      if (match_vip && dst_all && !central_nat_) {
        parts.push_back({{DnatStateMatch(true)}, {}, {}});
      }
      for (const Vip* vip : vips) {
        Part p;
        p.matches.push_back(DnatStateMatch(true));
        if (vip->may) {
          p.matches.push_back(MayMatch());
        } else {
          p.matches.push_back(ValueMatch(MatchKind::kDstAddress, vip->mapped));
        }
        p.protocol = vip->protocol;
        p.ports = vip->mapped_ports;
        parts.push_back(std::move(p));
      }
    }
    const bool nat = kind == ActionKind::kAccept && policy.Value("nat") == "enable";
    for (const Part& part : parts) {
      for (const Service& s : services) {
        ValueSet protocols = s.protocols;
        if (part.protocol)
          protocols = protocols.Intersect(ValueSet::Of(*part.protocol, *part.protocol));
        if (protocols.empty()) continue;
        std::vector<Match> m = common;
        m.insert(m.end(), part.matches.begin(), part.matches.end());
        if (!IsAll(protocols, kMaxProtocol))
          m.push_back(ValueMatch(MatchKind::kProtocol, protocols));
        if (s.sports) m.push_back(ValueMatch(MatchKind::kSrcPort, *s.sports));
        if (s.dports) m.push_back(ValueMatch(MatchKind::kDstPort, *s.dports));
        if (part.ports) m.push_back(ValueMatch(MatchKind::kDstPort, *part.ports));
        if (s.icmp_types) m.push_back(ValueMatch(MatchKind::kIcmpType, *s.icmp_types));
        if (s.may) m.push_back(MayMatch());
        if (kind == ActionKind::kAccept) {
          MAMORI_TRY(AddRule(snat, m, nat ? ActionKind::kMasquerade : ActionKind::kAccept, where));
          snat.rules.back().implied = true;  // the policy's copy; the policy itself is in filter
        }
        MAMORI_TRY(AddRule(filter, std::move(m), kind, where));
      }
    }
    return {};
  }

  Status Build() {
    Table table;
    table.name = std::string(kTable);
    Chain vip;
    vip.name = std::string(kVip);
    vip.builtin = true;
    vip.policy = ActionKind::kAccept;
    vip.location = Here(1, "vip");
    Chain filter;
    filter.name = std::string(kPolicy);
    filter.builtin = true;
    filter.policy = ActionKind::kDrop;  // the implicit deny (policy 0)
    filter.location = Here(1, "implicit deny");
    Chain snat;
    snat.name = std::string(kSnat);
    snat.builtin = true;
    snat.policy = ActionKind::kAccept;
    snat.location = Here(1, "snat");
    MAMORI_TRY(BuildVips(vip));
    if (policy_sections_.size() > 1) {
      ReportUnknown(policy_sections_[1]->line,
                    "several firewall policy sections (VDOMs) are checked as one device");
    }
    for (const Node* section : policy_sections_) {
      for (const Node& policy : section->children) {
        if (!policy.is_config) MAMORI_TRY(BuildPolicy(policy, filter, snat));
      }
    }
    table.chains.push_back(std::move(vip));
    table.chains.push_back(std::move(filter));
    table.chains.push_back(std::move(snat));
    ruleset_.tables.push_back(std::move(table));
    ruleset_.base_chains = {
        {Hook::kPrerouting, -100, ChainType::kNat, std::string(kTable), std::string(kVip)},
        {Hook::kForward, 0, ChainType::kFilter, std::string(kTable), std::string(kPolicy)},
        {Hook::kPostrouting, 100, ChainType::kNat, std::string(kTable), std::string(kSnat)},
    };
    return {};
  }

  std::string_view file_;
  Ruleset ruleset_;
  Node root_;
  std::map<std::string, std::map<std::string, const Node*>> sections_;
  std::vector<const Node*> policy_sections_;
  std::map<std::string, std::vector<std::string>> sdwan_zones_;
  int sdwan_depth_ = 0;
  bool central_nat_ = false;
  std::map<std::string, Vip> vips_;
  std::map<std::string, Addresses> group_cache_;
  std::set<std::string> active_;
  std::set<std::pair<uint32_t, std::string>> reported_;
  size_t rule_count_ = 0;
};

}  // namespace

Result<Ruleset> ParseFortigate(std::string_view text, std::string_view file,
                               std::string_view device) {
  Parser parser(file, device);
  return parser.Parse(text);
}

}  // namespace mamori::netsep
