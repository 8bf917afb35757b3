#include "monitor/sigma.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>
#include <variant>

#include "common/text.h"
#include "monitor/sigma_condition.h"
#include "monitor/sigma_match.h"

namespace mamori::monitor {
namespace sigma {

constexpr int kLogTypeCount = static_cast<int>(LogType::kProxy) + 1;
constexpr size_t kMaxValuesPerRule = 10000;
constexpr size_t kMaxRulesPerFile = 1000;
constexpr size_t kMaxWindashVariants = 625;  // 4 dashes in one value

constexpr uint8_t TypeBit(LogType type) { return uint8_t{1} << static_cast<int>(type); }

// The log types each input format produces.
constexpr std::array<uint8_t, kInputFormatCount> kProduces = {
    TypeBit(LogType::kConn) | TypeBit(LogType::kDns) | TypeBit(LogType::kHttp) |
        TypeBit(LogType::kTls),  // zeek
    TypeBit(LogType::kConn) | TypeBit(LogType::kDns) | TypeBit(LogType::kHttp) |
        TypeBit(LogType::kTls),  // zeek-json
    TypeBit(LogType::kConn) | TypeBit(LogType::kDns) | TypeBit(LogType::kHttp) |
        TypeBit(LogType::kTls) | TypeBit(LogType::kAlert),  // eve
    TypeBit(LogType::kFirewall),                            // netfilter
    TypeBit(LogType::kProxy),                               // squid
};

// The event fields a keyword (a value without a field name) is looked for in.
constexpr std::array kKeywordFields = {
    EventField::kSrcIp,   EventField::kDstIp,      EventField::kDnsQuery,  EventField::kHttpHost,
    EventField::kHttpUrl, EventField::kHttpMethod, EventField::kUserAgent, EventField::kTlsSni,
    EventField::kAction,  EventField::kSignature,  EventField::kConnState,
};

// One `field|modifiers: values` of a detection map, or a keyword list.
struct FieldTest {
  std::string name;  // as written, without modifiers; "" for keywords
  bool keyword = false;
  bool all = false;
  EventField field = EventField::kTs;  // resolved per format
  std::vector<Matcher> matchers;
  // Value i of the rule became matchers [group_end[i-1], group_end[i]) (windash and
  // base64offset expand one value into several, any of which may match).
  std::vector<uint32_t> group_end;
  int cost = 0;  // evaluation order within a map: cheap tests first
  // Every matcher is an IPv4 range and the field an address (set when the field is resolved):
  // for an IPv4 address, the test is a mask and a comparison per range, without the field's value.
  bool v4_ranges = false;
};

struct Entry {  // a detection entry ("selection"): OR of maps, each an AND of tests
  std::vector<std::vector<FieldTest>> maps;
};

struct Rule {
  uint32_t info = 0;  // index into Compiled::infos
  std::vector<Entry> entries;
  Condition condition;
};

// The rules one (format, log type) meets, by how an event finds them. Each rule's necessary
// condition (its guard: "dst_port is 139 or 445", "src_ip in 10.30.0.0/16 or dst_port is 22",
// …) is worked out from its condition when it is compiled. Guards on one numeric field's numbers
// and on ranges of the source and destination addresses put the rule in a hash index on those
// fields together (evaluated only for events with such values: "dst_port is 445 and src_ip in
// 10.20.0.0/16 and dst_ip in 10.10.0.0/16" is one lookup); another guard of at most kMaxAtoms
// atoms is checked first from a flat array (cheap, no pointer chasing); rules without a guard
// are evaluated for every event. A rule whose condition needs more things at once keeps up to
// kMaxChecks more guards, all checked before it is evaluated.
inline constexpr size_t kMaxAtoms = 32;

struct GuardAtom {
  enum class Kind : uint8_t {
    kEqual,    // number == value
    kCidr,     // (IPv4 address & mask) == value
    kMatcher,  // the rule's own test of one value: a comparison, a text pattern or a regular
               // expression (one pass of the field's RegexSets set per event, however many
               // rules ask)
  };
  EventField field = EventField::kDstPort;
  Kind kind = Kind::kEqual;
  uint32_t mask = 0;   // kCidr; kMatcher: nonzero for an address pattern DottedQuadRangeOf takes
  uint64_t value = 0;  // likewise
  const Matcher* matcher = nullptr;  // kMatcher; owned by the compiled rule
};

struct Bucket {
  // A rule and the checks before it is evaluated: every range of `checks` (each a disjunction
  // of atoms) must hold; a guarded rule's own guard is its first check. None of its veto atoms
  // may hold (each makes the rule false: "… and not filter" with filter "dst_port: [25, 53]").
  struct Candidate {
    const Rule* rule;
    uint32_t first_check, end_check;        // into checks
    uint32_t first_veto = 0, end_veto = 0;  // into atoms
  };
  // By the values of up to three fields at once, each a necessary condition of the rule: a
  // number field (equal to one of the rule's numbers), src_ip under `src_mask` and dst_ip under
  // `dst_mask` (in one of the rule's ranges). A rule asking for port 445 from 10.20.0.0/16 to
  // 10.10.0.0/16 is found by one lookup of (445, 10.20.0.0, 10.10.0.0), not among every rule
  // of port 445. The keys are an open-addressing table of ranges of `candidates` (filled by
  // Finish from `building`).
  struct Index {
    struct Key {
      uint64_t number = 0;
      uint32_t src = 0;
      uint32_t dst = 0;
      bool operator==(const Key&) const = default;
      auto operator<=>(const Key&) const = default;
    };
    struct Slot {
      Key key;
      uint32_t begin = 0, end = 0;  // into candidates; end == 0: empty
    };
    bool has_number = false;
    EventField field = EventField::kDstPort;  // has_number
    bool has_src = false;
    uint32_t src_mask = 0;
    bool has_dst = false;
    uint32_t dst_mask = 0;
    std::map<Key, std::vector<Candidate>> building;  // until Finish
    // A power of two, at most a quarter full: most events' keys are in no rule, and a search
    // for a missing key ends at the first empty slot, mostly the first one tried.
    std::vector<Slot> slots;
    std::vector<Candidate> candidates;

    static size_t Hash(const Key& k) {
      uint64_t h = (k.number * 0x9E3779B97F4A7C15ull) ^ (uint64_t{k.src} << 32 | k.dst);
      h *= 0xBF58476D1CE4E5B9ull;
      return static_cast<size_t>(h ^ (h >> 31));
    }
    // The candidates of `key`'s rules, in the order the rules were added.
    std::span<const Candidate> Find(const Key& key) const {
      const size_t mask = slots.size() - 1;
      for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots[i];
        if (slot.end == 0) return {};
        if (slot.key == key) {
          return std::span<const Candidate>(candidates.data() + slot.begin, slot.end - slot.begin);
        }
      }
    }
    // The pairs of masked addresses of the keys, as bits by PairSlot (when has_src or
    // has_dst): most events cross between no two ranges a rule names, and a pair no key has is
    // told by one bit, without a search of the table.
    std::array<uint64_t, 64> pairs{};
    static size_t PairSlot(uint32_t src, uint32_t dst) {
      return static_cast<size_t>(((uint64_t{src} << 32 | dst) * 0x9E3779B97F4A7C15ull) >> 52);
    }
    bool MayHavePair(uint32_t src, uint32_t dst) const {
      const size_t slot = PairSlot(src, dst);
      return (pairs[slot / 64] >> (slot % 64) & 1) != 0;
    }
    void Finish() {
      size_t size = 16;
      while (size < building.size() * 4) size *= 2;
      slots.assign(size, Slot{});
      for (const auto& [key, list] : building) {
        const size_t pair = PairSlot(key.src, key.dst);
        pairs[pair / 64] |= uint64_t{1} << (pair % 64);
        const auto begin = static_cast<uint32_t>(candidates.size());
        candidates.insert(candidates.end(), list.begin(), list.end());
        size_t i = Hash(key) & (size - 1);
        while (slots[i].end != 0) i = (i + 1) & (size - 1);
        slots[i] = {key, begin, static_cast<uint32_t>(candidates.size())};
      }
      building.clear();
    }
  };
  // Guarded rules whose own guard is regular expressions of one field's RE2 set (of at most 64):
  // found by the set's answer for the event (one run, or the memo's, however many rules ask):
  // those whose `bits` meet it; their other checks follow.
  struct RegexCandidate {
    uint64_t bits;
    Candidate candidate;
  };
  struct RegexIndex {
    EventField field = EventField::kDstIp;
    std::vector<RegexCandidate> candidates;
  };
  // Guarded rules whose first check is one comparison of a number (dst_port > 1024), by field
  // and operator, sorted by bound: the rules whose comparison holds for the event's value are one
  // run of the list, found by a binary search instead of a test each; their other checks follow.
  struct Threshold {
    EventField field = EventField::kDstPort;
    Matcher::Op op = Matcher::Op::kGreater;
    std::vector<std::pair<double, Candidate>> by_bound;  // ascending bound
    double lowest = 0, highest = 0;                      // of by_bound (not empty)
    // Whether the comparison holds for `v` and one bound at least: most values pass none (rules
    // look for rare values), and then the searches are not needed.
    bool AnyHolds(double v) const {
      switch (op) {
        case Matcher::Op::kLess:  // v < bound
          return v < highest;
        case Matcher::Op::kLessEqual:
          return v <= highest;
        case Matcher::Op::kGreater:
          return v > lowest;
        default:  // kGreaterEqual
          return v >= lowest;
      }
    }
  };
  std::vector<Index> indexes;
  std::vector<RegexIndex> regex_indexes;  // filled when the rules' sets are compiled
  std::vector<Threshold> thresholds;      // likewise
  std::vector<Candidate> guarded;
  std::vector<std::pair<uint32_t, uint32_t>> checks;  // ranges of atoms
  std::vector<GuardAtom> atoms;
  std::vector<const Rule*> always;
  // Bits (by EventField) of the numeric and address fields the atoms, indexes and thresholds
  // read from the detector's probe: only these are probed per event.
  uint32_t probed = 0;
  bool empty() const {
    return always.empty() && indexes.empty() && guarded.empty() && regex_indexes.empty() &&
           thresholds.empty();
  }
  bool unused = true;  // empty(), kept once the bucket is complete (asked per event)
};

struct RuleInfo {
  std::string file;
  int line = 0;
  std::string id;
  std::string title;
  Severity severity = Severity::kMedium;
};

}  // namespace sigma

struct SigmaRules::Compiled {
  std::vector<sigma::RuleInfo> infos;
  std::vector<RuleRef> refs;                        // views of infos (filled when loading is done)
  std::vector<std::unique_ptr<sigma::Rule>> rules;  // one per rule and input format
  std::array<std::array<sigma::Bucket, sigma::kLogTypeCount>, kInputFormatCount> buckets;
  std::vector<SigmaUnsupported> unsupported;
  size_t loaded = 0;
  sigma::RegexSets regex_sets;  // the rules' regular expressions, by field
  bool memo = true;             // SigmaOptions::index: detectors remember regex answers
};

namespace sigma {
namespace {

// ---------------------------------------------------------------------------------------------
// YAML helpers. yaml-cpp throws YAML::Exception; LoadFile catches it at the top.

int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

// The value of `key` in map `node`, nullopt when absent.
std::optional<YAML::Node> Find(const YAML::Node& node, std::string_view key) {
  for (YAML::const_iterator it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return std::nullopt;
}

std::string Lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Map keys must be text and unique.
std::optional<Problem> CheckKeys(const YAML::Node& map, std::string_view where) {
  std::vector<std::string_view> seen;
  for (YAML::const_iterator it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      return Problem::Invalid(Cat(where, " のキーは文字列でなければなりません。"),
                              Cat("keys of ", where, " must be text."), LineOf(it->first));
    }
    const std::string& key = it->first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Problem::Invalid(Cat(where, " のキー「", Printable(key), "」が重複しています。"),
                              Cat("duplicate key \"", Printable(key), "\" in ", where, "."),
                              LineOf(it->first));
    }
    seen.push_back(key);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Log sources.

using TypeMasks = std::array<uint8_t, kInputFormatCount>;

std::variant<TypeMasks, Problem> MapLogsource(const YAML::Node& logsource) {
  const int line = LineOf(logsource);
  if (!logsource.IsMap()) {
    return Problem::Invalid("logsource は対応表でなければなりません。", "logsource must be a map.",
                            line);
  }
  if (auto problem = CheckKeys(logsource, "logsource")) return *problem;
  auto text = [&](std::string_view key) -> std::variant<std::string, Problem> {
    const std::optional<YAML::Node> node = Find(logsource, key);
    if (!node || node->IsNull()) return std::string();
    if (!node->IsScalar()) {
      return Problem::Invalid(Cat("logsource の ", key, " は文字列でなければなりません。"),
                              Cat("logsource ", key, " must be text."), LineOf(*node));
    }
    return Lowered(node->Scalar());
  };
  std::string category, product, service;
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"category", &category},
                          {"product", &product},
                          {"service", &service}}) {
    auto value = text(key);
    if (auto* problem = std::get_if<Problem>(&value)) return std::move(*problem);
    *out = std::get<std::string>(std::move(value));
  }
  auto not_network = [&](std::string_view key, std::string_view value) {
    return Problem::Unsupported(
        Cat("ログの種類（logsource の ", key, ": ", Printable(value),
            "）がネットワークのログではありません（firewall・proxy・dns・zeek のみ）。"),
        Cat("the log source (", key, ": ", Printable(value),
            ") is not a network log Mamori reads (firewall, proxy, dns, zeek only)."),
        line);
  };
  if (category.empty() && product.empty() && service.empty()) {
    return Problem::Unsupported("logsource に category・product・service のどれもありません。",
                                "logsource names no category, product or service.", line);
  }
  constexpr uint8_t kAllTypes = (uint8_t{1} << kLogTypeCount) - 1;
  uint8_t types = kAllTypes;
  if (category == "firewall") {
    types = TypeBit(LogType::kFirewall) | TypeBit(LogType::kConn);
  } else if (category == "proxy") {
    types = TypeBit(LogType::kProxy) | TypeBit(LogType::kHttp);
  } else if (category == "dns") {
    types = TypeBit(LogType::kDns);
  } else if (!category.empty()) {
    return not_network("category", category);
  }
  uint8_t formats = 0x1f;
  auto bit = [](InputFormat f) { return uint8_t{1} << static_cast<int>(f); };
  if (product == "zeek") {
    formats = bit(InputFormat::kZeek) | bit(InputFormat::kZeekJson);
  } else if (product == "suricata") {
    formats = bit(InputFormat::kEve);
  } else if (product == "squid") {
    formats = bit(InputFormat::kSquid);
  } else if (product == "netfilter" || product == "iptables") {
    formats = bit(InputFormat::kNetfilter);
  } else if (!product.empty()) {
    return not_network("product", product);
  }
  if (!service.empty()) {
    uint8_t by_service = 0;
    if (service == "conn" || service == "flow" || service == "netflow") {
      by_service = TypeBit(LogType::kConn);
    } else if (service == "dns") {
      by_service = TypeBit(LogType::kDns);
    } else if (service == "http") {
      by_service = TypeBit(LogType::kHttp);
    } else if (service == "ssl" || service == "tls") {
      by_service = TypeBit(LogType::kTls);
    } else if (service == "alert" && product == "suricata") {
      by_service = TypeBit(LogType::kAlert);
    } else {
      return Problem::Unsupported(
          Cat("logsource の service: ", Printable(service),
              " のログは読みません（conn・dns・http・ssl のみ）。"),
          Cat("logsource service \"", Printable(service),
              "\" is a log Mamori does not read (conn, dns, http, ssl only)."),
          line);
    }
    types &= by_service;
  }
  TypeMasks masks{};
  bool any = false;
  for (int f = 0; f < kInputFormatCount; ++f) {
    if ((formats & bit(static_cast<InputFormat>(f))) == 0) continue;
    masks[f] = types & kProduces[f];
    any = any || masks[f] != 0;
  }
  if (!any) {
    return Problem::Unsupported(
        "logsource の組み合わせに当たる入力の形式がありません。",
        "no input format carries the logs this logsource combination names.", line);
  }
  return masks;
}

// ---------------------------------------------------------------------------------------------
// Values and modifiers.

struct Modifiers {
  bool contains = false, startswith = false, endswith = false, all = false, cased = false;
  bool re = false, re_i = false, re_m = false, re_s = false;
  bool cidr = false, exists = false, fieldref = false;
  bool base64 = false, base64offset = false, windash = false;
  std::optional<Matcher::Op> compare;
};

std::variant<Modifiers, Problem> ParseModifiers(std::string_view spec, int line) {
  Modifiers m;
  std::vector<std::string_view> names;
  while (!spec.empty()) {
    const size_t bar = spec.find('|');
    names.push_back(spec.substr(0, bar));
    spec = bar == std::string_view::npos ? std::string_view() : spec.substr(bar + 1);
  }
  for (std::string_view name : names) {
    if (name == "contains") {
      m.contains = true;
    } else if (name == "startswith") {
      m.startswith = true;
    } else if (name == "endswith") {
      m.endswith = true;
    } else if (name == "all") {
      m.all = true;
    } else if (name == "cased") {
      m.cased = true;
    } else if (name == "re") {
      m.re = true;
    } else if (name == "i" && m.re) {
      m.re_i = true;
    } else if (name == "m" && m.re) {
      m.re_m = true;
    } else if (name == "s" && m.re) {
      m.re_s = true;
    } else if (name == "cidr") {
      m.cidr = true;
    } else if (name == "exists") {
      m.exists = true;
    } else if (name == "fieldref") {
      m.fieldref = true;
    } else if (name == "base64") {
      m.base64 = true;
    } else if (name == "base64offset") {
      m.base64offset = true;
    } else if (name == "windash") {
      m.windash = true;
    } else if (name == "lt" || name == "lte" || name == "gt" || name == "gte") {
      if (m.compare) {
        return Problem::Invalid("比較の修飾子（lt・lte・gt・gte）は 1 つだけ使えます。",
                                "only one comparison modifier (lt, lte, gt, gte) may be used.",
                                line);
      }
      m.compare = name == "lt"    ? Matcher::Op::kLess
                  : name == "lte" ? Matcher::Op::kLessEqual
                  : name == "gt"  ? Matcher::Op::kGreater
                                  : Matcher::Op::kGreaterEqual;
    } else {
      return Problem::Unsupported(Cat("修飾子「", Printable(name), "」には対応していません。"),
                                  Cat("the modifier \"", Printable(name), "\" is not supported."),
                                  line);
    }
  }
  const int positions = int{m.contains} + int{m.startswith} + int{m.endswith};
  if (positions > 1) {
    return Problem::Invalid("contains・startswith・endswith は 1 つだけ使えます。",
                            "contains, startswith and endswith exclude each other.", line);
  }
  const bool transform = m.base64 || m.base64offset || m.windash;
  const int kinds = int{m.re} + int{m.cidr} + int{m.exists} + int{m.fieldref} +
                    int{m.compare.has_value()} + int{transform};
  const bool position_ok = !(m.re || m.cidr || m.exists || m.compare);
  if (kinds > 1 || (positions > 0 && !position_ok) || (m.base64 && m.base64offset)) {
    return Problem::Unsupported("この修飾子の組み合わせには対応していません。",
                                "this combination of modifiers is not supported.", line);
  }
  return m;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 |
                       static_cast<uint8_t>(bytes[i + 1]) << 8 | static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[n >> 18]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kAlphabet[n >> 18]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1])
                                                                  << 8;
    out.push_back(kAlphabet[n >> 18]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

// base64offset: the three encodings of `bytes` at offsets 0, 1 and 2 within a base64 block,
// without the characters that depend on the bytes around it (as pySigma cuts them).
std::vector<std::string> Base64Offsets(std::string_view bytes) {
  static constexpr size_t kStart[3] = {0, 2, 3};
  static constexpr size_t kEndCut[3] = {0, 3, 2};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    const std::string encoded = Base64(std::string(i, ' ') + std::string(bytes));
    const size_t cut = kEndCut[(bytes.size() + i) % 3];
    if (encoded.size() < kStart[i] + cut) continue;
    out.push_back(encoded.substr(kStart[i], encoded.size() - kStart[i] - cut));
  }
  return out;
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// windash: every "-" or "/" that starts an option (after a non-word character or at the start,
// before a word character) as each of - / – — ―.
std::optional<std::vector<std::string>> WindashVariants(std::string_view value) {
  static constexpr std::string_view kDashes[] = {"-", "/", "\u2013", "\u2014", "\u2015"};
  std::vector<size_t> spots;
  for (size_t i = 0; i < value.size(); ++i) {
    if ((value[i] == '-' || value[i] == '/') && (i == 0 || !IsWordByte(value[i - 1])) &&
        i + 1 < value.size() && IsWordByte(value[i + 1])) {
      spots.push_back(i);
    }
  }
  size_t total = 1;
  for (size_t k = 0; k < spots.size(); ++k) {
    total *= std::size(kDashes);
    if (total > kMaxWindashVariants) return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t n = 0; n < total; ++n) {
    std::string variant;
    size_t from = 0, code = n;
    for (size_t spot : spots) {
      variant.append(value.substr(from, spot - from));
      variant.append(kDashes[code % std::size(kDashes)]);
      code /= std::size(kDashes);
      from = spot + 1;
    }
    variant.append(value.substr(from));
    out.push_back(std::move(variant));
  }
  return out;
}

bool IsPlainInteger(std::string_view text) {
  return !text.empty() && text.size() <= 19 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The matchers for one text value (no regex, cidr, comparison, exists or fieldref).
std::variant<std::vector<Matcher>, Problem> TextMatchers(const Modifiers& m, bool keyword,
                                                         std::string_view value, int line) {
  std::vector<std::string> texts;
  if (m.windash) {
    auto variants = WindashVariants(value);
    if (!variants) {
      return Problem::Unsupported("windash で作る値が多すぎます。",
                                  "windash would make too many variants of the value.", line);
    }
    texts = std::move(*variants);
  } else {
    texts.emplace_back(value);
  }
  if (m.base64 || m.base64offset) {
    std::vector<std::string> encoded;
    for (const std::string& text : texts) {
      const std::optional<std::string> bytes = UnescapedLiteral(text);
      if (!bytes) {
        return Problem::Unsupported("ワイルドカードを含む値は base64 にできません。",
                                    "a value with wildcards cannot be base64-encoded.", line);
      }
      if (m.base64) {
        encoded.push_back(Base64(*bytes));
      } else {
        for (std::string& e : Base64Offsets(*bytes)) encoded.push_back(std::move(e));
      }
    }
    texts = std::move(encoded);  // base64 text holds no wildcard or backslash
  }
  // A keyword without a position modifier is looked for anywhere in the field.
  const bool contains = m.contains || (keyword && !m.startswith && !m.endswith);
  std::vector<Matcher> out;
  for (const std::string& text : texts) {
    Matcher matcher;
    matcher.cased = m.cased;
    if (!contains && !m.startswith && !m.endswith && IsPlainInteger(text)) {
      matcher.op = Matcher::Op::kNumber;
      matcher.text_equal = text;
      matcher.number = std::stoull(text);
      out.push_back(std::move(matcher));
      continue;
    }
    const std::string pattern =
        Cat(contains || m.endswith ? "*" : "", text, contains || m.startswith ? "*" : "");
    matcher.pattern = Pattern::Parse(pattern, !m.cased);
    if (matcher.pattern.shape == Pattern::Shape::kExact && matcher.pattern.literal.empty()) {
      matcher.op = Matcher::Op::kNull;  // '' matches an empty (absent) field
    }
    out.push_back(std::move(matcher));
  }
  return out;
}

int CostOf(const FieldTest& test) {
  int worst = 0;
  for (const Matcher& m : test.matchers) {
    int cost = 1;
    if (m.op == Matcher::Op::kPattern) {
      cost = m.pattern.shape == Pattern::Shape::kContains ? 3
             : m.pattern.shape == Pattern::Shape::kGlob   ? 4
                                                          : 2;
    } else if (m.op == Matcher::Op::kRegex) {
      cost = 6;
    } else if (m.op == Matcher::Op::kFieldRef) {
      cost = 3;
    }
    worst = std::max(worst, cost);
  }
  const int values = static_cast<int>(std::min<size_t>(test.matchers.size(), 64));
  return (test.keyword ? 8 : worst) * 100 + values;
}

// One `key: value` of a detection map (or a keyword list when keyword).
std::variant<FieldTest, Problem> MakeTest(std::string_view key, const YAML::Node& value,
                                          bool keyword, size_t& budget) {
  FieldTest test;
  const int line = LineOf(value);
  const size_t bar = key.find('|');
  test.name = std::string(key.substr(0, bar));
  test.keyword = keyword || test.name.empty();
  Modifiers m;
  if (bar != std::string_view::npos) {
    auto parsed = ParseModifiers(key.substr(bar + 1), line);
    if (auto* problem = std::get_if<Problem>(&parsed)) return std::move(*problem);
    m = std::get<Modifiers>(parsed);
  }
  if (test.keyword && (m.cidr || m.exists || m.fieldref || m.compare)) {
    return Problem::Unsupported(
        "フィールド名のない値（キーワード）に cidr・exists・fieldref・比較の修飾子は使えません。",
        "keywords (values without a field) cannot take cidr, exists, fieldref or comparisons.",
        line);
  }
  test.all = m.all;
  std::vector<YAML::Node> values;
  if (value.IsSequence()) {
    for (const auto& item : value) values.push_back(item);
    if (values.empty()) {
      return Problem::Invalid(Cat("「", Printable(key), "」の値の並びが空です。"),
                              Cat("the list of values of \"", Printable(key), "\" is empty."),
                              line);
    }
  } else {
    values.push_back(value);
  }
  for (const YAML::Node& item : values) {
    const int item_line = LineOf(item);
    std::vector<Matcher> matchers;
    if (item.IsNull()) {
      if (bar != std::string_view::npos || test.keyword) {
        return Problem::Invalid(
            Cat("「", Printable(key), "」の値 null には修飾子を付けられません。"),
            Cat("a null value of \"", Printable(key), "\" cannot take modifiers."), item_line);
      }
      Matcher null;
      null.op = Matcher::Op::kNull;
      matchers.push_back(std::move(null));
    } else if (!item.IsScalar()) {
      return Problem::Invalid(Cat("「", Printable(key),
                                  "」の値は文字列・数値・null か、その並びでなければなりません。"),
                              Cat("the value of \"", Printable(key),
                                  "\" must be text, a number or null, or a list of them."),
                              item_line);
    } else {
      const std::string& text = item.Scalar();
      Matcher matcher;
      matcher.cased = m.cased;
      if (m.exists) {
        const std::string lower = Lowered(text);
        if (lower != "true" && lower != "false" && lower != "yes" && lower != "no") {
          return Problem::Invalid("exists の値は true か false です。",
                                  "the value of exists must be true or false.", item_line);
        }
        matcher.op =
            lower == "true" || lower == "yes" ? Matcher::Op::kExists : Matcher::Op::kNotExists;
        matchers.push_back(std::move(matcher));
      } else if (m.re) {
        std::string flags;
        if (m.re_i) flags += 'i';
        if (m.re_m) flags += 'm';
        if (m.re_s) flags += 's';
        RE2::Options options;
        options.set_log_errors(false);
        options.set_max_mem(int64_t{1} << 20);  // program and DFA cache; beyond it RE2 uses its NFA
        const std::string source = flags.empty() ? text : Cat("(?", flags, ")", text);
        auto regex = std::make_shared<const RE2>(source, options);
        if (!regex->ok()) {
          return Problem::Unsupported(
              Cat("正規表現を RE2 で扱えません（", Printable(regex->error()), "）。"),
              Cat("RE2 cannot compile the regular expression (", Printable(regex->error()), ")."),
              item_line);
        }
        matcher.op = Matcher::Op::kRegex;
        matcher.regex = std::move(regex);
        matchers.push_back(std::move(matcher));
      } else if (m.cidr) {
        if (!ParseCidr(text, matcher)) {
          return Problem::Invalid(
              Cat("cidr の値「", Printable(text), "」はアドレスの範囲ではありません。"),
              Cat("the cidr value \"", Printable(text), "\" is not an address range."), item_line);
        }
        matchers.push_back(std::move(matcher));
      } else if (m.compare) {
        const std::optional<double> bound = ParseNumber(text);
        if (!bound) {
          return Problem::Invalid(
              Cat("比較の値「", Printable(text), "」は数値ではありません。"),
              Cat("the comparison value \"", Printable(text), "\" is not a number."), item_line);
        }
        matcher.op = *m.compare;
        matcher.bound = *bound;
        matchers.push_back(std::move(matcher));
      } else if (m.fieldref) {
        matcher.op = Matcher::Op::kFieldRef;
        matcher.ref_name = text;
        matcher.pattern.shape = m.contains     ? Pattern::Shape::kContains
                                : m.startswith ? Pattern::Shape::kPrefix
                                : m.endswith   ? Pattern::Shape::kSuffix
                                               : Pattern::Shape::kExact;
        matchers.push_back(std::move(matcher));
      } else {
        auto made = TextMatchers(m, test.keyword, text, item_line);
        if (auto* problem = std::get_if<Problem>(&made)) return std::move(*problem);
        matchers = std::get<std::vector<Matcher>>(std::move(made));
      }
    }
    if (matchers.size() > budget) {
      return Problem::Invalid("ルールの値が多すぎます（上限 10,000）。",
                              "the rule has too many values (limit 10,000).", item_line);
    }
    budget -= matchers.size();
    for (Matcher& matcher : matchers) test.matchers.push_back(std::move(matcher));
    test.group_end.push_back(static_cast<uint32_t>(test.matchers.size()));
  }
  test.cost = CostOf(test);
  return test;
}

std::variant<std::vector<FieldTest>, Problem> MakeMap(const YAML::Node& map, size_t& budget) {
  if (auto problem = CheckKeys(map, "detection の項目")) return *problem;
  if (map.size() == 0) {
    return Problem::Invalid("detection の項目の対応表が空です。", "a detection map is empty.",
                            LineOf(map));
  }
  std::vector<FieldTest> tests;
  for (YAML::const_iterator it = map.begin(); it != map.end(); ++it) {
    if (it->second.IsMap()) {
      return Problem::Invalid(
          Cat("「", Printable(it->first.Scalar()), "」の値に対応表は書けません。"),
          Cat("the value of \"", Printable(it->first.Scalar()), "\" cannot be a map."),
          LineOf(it->second));
    }
    auto test = MakeTest(it->first.Scalar(), it->second, false, budget);
    if (auto* problem = std::get_if<Problem>(&test)) return std::move(*problem);
    tests.push_back(std::get<FieldTest>(std::move(test)));
  }
  std::stable_sort(tests.begin(), tests.end(),
                   [](const FieldTest& a, const FieldTest& b) { return a.cost < b.cost; });
  return tests;
}

std::variant<Entry, Problem> MakeEntry(const std::string& name, const YAML::Node& value,
                                       size_t& budget) {
  Entry entry;
  if (value.IsMap()) {
    auto map = MakeMap(value, budget);
    if (auto* problem = std::get_if<Problem>(&map)) return std::move(*problem);
    entry.maps.push_back(std::get<std::vector<FieldTest>>(std::move(map)));
    return entry;
  }
  const bool list = value.IsSequence();
  bool maps = list && value.size() > 0, scalars = list && value.size() > 0;
  if (list) {
    for (const auto& item : value) {
      maps = maps && item.IsMap();
      scalars = scalars && (item.IsScalar() || item.IsNull());
    }
  }
  if (maps) {
    for (const auto& item : value) {
      auto map = MakeMap(item, budget);
      if (auto* problem = std::get_if<Problem>(&map)) return std::move(*problem);
      entry.maps.push_back(std::get<std::vector<FieldTest>>(std::move(map)));
    }
    return entry;
  }
  if (scalars || value.IsScalar()) {  // keywords
    auto test = MakeTest("", value, true, budget);
    if (auto* problem = std::get_if<Problem>(&test)) return std::move(*problem);
    entry.maps.push_back({std::get<FieldTest>(std::move(test))});
    return entry;
  }
  return Problem::Invalid(
      Cat("detection の「", Printable(name),
          "」は対応表、対応表の並び、又はキーワードの並びでなければなりません。"),
      Cat("detection entry \"", Printable(name),
          "\" must be a map, a list of maps or a list of keywords."),
      LineOf(value));
}

// ---------------------------------------------------------------------------------------------
// Rules.

struct ParsedRule {
  RuleInfo info;
  TypeMasks masks{};
  Rule rule;
};

std::variant<Rule, Problem> ParseDetection(const YAML::Node& detection) {
  if (!detection.IsMap()) {
    return Problem::Invalid("detection は対応表でなければなりません。", "detection must be a map.",
                            LineOf(detection));
  }
  if (auto problem = CheckKeys(detection, "detection")) return *problem;
  Rule rule;
  std::vector<std::string> names;
  std::vector<std::string> conditions;
  std::optional<YAML::Node> condition_node;
  size_t budget = kMaxValuesPerRule;
  for (YAML::const_iterator it = detection.begin(); it != detection.end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (key == "condition") {
      condition_node = it->second;
      continue;
    }
    if (key == "timeframe") {
      return Problem::Unsupported("timeframe（時間枠の集計）には対応していません。",
                                  "timeframe (aggregation over time) is not supported.",
                                  LineOf(it->first));
    }
    auto entry = MakeEntry(key, it->second, budget);
    if (auto* problem = std::get_if<Problem>(&entry)) return std::move(*problem);
    names.push_back(key);
    rule.entries.push_back(std::get<Entry>(std::move(entry)));
  }
  if (!condition_node) {
    return Problem::Invalid("detection に condition がありません。", "detection has no condition.",
                            LineOf(detection));
  }
  if (condition_node->IsScalar()) {
    conditions.push_back(condition_node->Scalar());
  } else if (condition_node->IsSequence() && condition_node->size() > 0) {
    for (const auto& item : *condition_node) {
      if (!item.IsScalar()) {
        return Problem::Invalid("condition は文字列か文字列の並びです。",
                                "condition must be text or a list of text.", LineOf(item));
      }
      conditions.push_back(item.Scalar());
    }
  } else {
    return Problem::Invalid("condition は文字列か文字列の並びです。",
                            "condition must be text or a list of text.", LineOf(*condition_node));
  }
  auto condition = ParseConditions(conditions, names);
  if (auto* problem = std::get_if<Problem>(&condition)) {
    if (problem->line == 0) problem->line = LineOf(*condition_node);
    return std::move(*problem);
  }
  rule.condition = std::get<Condition>(std::move(condition));
  return rule;
}

Severity SeverityOfLevel(std::string_view level) {
  if (level == "critical") return Severity::kCritical;
  if (level == "high") return Severity::kHigh;
  if (level == "medium" || level.empty()) return Severity::kMedium;
  return Severity::kLow;  // informational, low
}

// A rule document: the parsed rule, or why it is not used. `info` is filled as far as it could
// be read (for the unsupported list).
std::variant<ParsedRule, Problem> ParseRuleDocument(const YAML::Node& doc, RuleInfo& info) {
  const int line = LineOf(doc);
  if (!doc.IsMap()) {
    return Problem::Invalid("Sigma のルールではありません（YAML の対応表が必要です）。",
                            "not a Sigma rule (a YAML map is needed).", line);
  }
  if (auto problem = CheckKeys(doc, "ルール")) return *problem;
  auto scalar = [&](std::string_view key) -> std::string {
    const std::optional<YAML::Node> node = Find(doc, key);
    return node && node->IsScalar() ? node->Scalar() : std::string();
  };
  info.id = scalar("id");
  info.title = scalar("title");
  if (Find(doc, "action")) {
    return Problem::Unsupported("ルール集（action: global など）には対応していません。",
                                "rule collections (action: global and the like) are not supported.",
                                line);
  }
  if (Find(doc, "correlation")) {
    return Problem::Unsupported("相関ルール（correlation）には対応していません。",
                                "correlation rules are not supported.", line);
  }
  const std::optional<YAML::Node> detection = Find(doc, "detection");
  if (!detection) {
    if (Find(doc, "filter")) {
      return Problem::Unsupported("フィルター（filter）のルールには対応していません。",
                                  "filter rules are not supported.", line);
    }
    return Problem::Invalid("Sigma のルールではありません（detection がありません）。",
                            "not a Sigma rule (no detection).", line);
  }
  if (info.title.empty()) {
    return Problem::Invalid("ルールに title がありません。", "the rule has no title.", line);
  }
  const std::optional<YAML::Node> logsource = Find(doc, "logsource");
  if (!logsource) {
    return Problem::Invalid("ルールに logsource がありません。", "the rule has no logsource.",
                            line);
  }
  const std::string level = Lowered(scalar("level"));
  if (!level.empty() && level != "informational" && level != "low" && level != "medium" &&
      level != "high" && level != "critical") {
    return Problem::Invalid(
        Cat("level「", Printable(level),
            "」は informational・low・medium・high・critical のどれでもありません。"),
        Cat("level \"", Printable(level),
            "\" is none of informational, low, medium, high, critical."),
        LineOf(*Find(doc, "level")));
  }
  info.severity = SeverityOfLevel(level);
  if (Lowered(scalar("status")) == "unsupported") {
    return Problem::Unsupported("status: unsupported のルールです。",
                                "the rule's status is unsupported.", line);
  }
  if (const std::optional<YAML::Node> timeframe = Find(doc, "timeframe")) {
    return Problem::Unsupported("timeframe（時間枠の集計）には対応していません。",
                                "timeframe (aggregation over time) is not supported.",
                                LineOf(*timeframe));
  }
  auto masks = MapLogsource(*logsource);
  if (auto* problem = std::get_if<Problem>(&masks)) return std::move(*problem);
  auto rule = ParseDetection(*detection);
  if (auto* problem = std::get_if<Problem>(&rule)) return std::move(*problem);
  ParsedRule parsed;
  parsed.info = info;
  parsed.masks = std::get<TypeMasks>(masks);
  parsed.rule = std::get<Rule>(std::move(rule));
  return parsed;
}

// Resolves the field names of `rule` for `format`; the first name without a mapping, if any.
std::optional<std::string> ResolveFields(Rule& rule, InputFormat format) {
  for (Entry& entry : rule.entries) {
    for (auto& map : entry.maps) {
      for (FieldTest& test : map) {
        if (!test.keyword) {
          const std::optional<EventField> field = ResolveField(format, test.name);
          if (!field) return test.name;
          test.field = *field;
          test.v4_ranges =
              (test.field == EventField::kSrcIp || test.field == EventField::kDstIp) &&
              std::all_of(test.matchers.begin(), test.matchers.end(),
                          [](const Matcher& m) { return m.op == Matcher::Op::kCidr4; });
        }
        for (Matcher& m : test.matchers) {
          if (m.op != Matcher::Op::kFieldRef) continue;
          const std::optional<EventField> field = ResolveField(format, m.ref_name);
          if (!field) return m.ref_name;
          m.ref_field = *field;
        }
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The index: necessary conditions on numeric fields.

// A necessary condition of a rule: the rule can only match when one of these atoms holds.
using Atom = GuardAtom;
using Guard = std::vector<Atom>;

bool IsNumericField(EventField field) {
  switch (field) {
    case EventField::kTs:
    case EventField::kSrcPort:
    case EventField::kDstPort:
    case EventField::kBytesOut:
    case EventField::kBytesIn:
    case EventField::kHttpStatus:
      return true;
    default:
      return false;
  }
}

// A guard that a hash on one field can answer: numbers of one numeric field, or IPv4 ranges of
// one address field with one prefix length (looked up as the address under the mask).
bool Indexable(const Guard& guard) {
  const Atom& first = guard.front();
  if (first.kind != Atom::Kind::kEqual && first.kind != Atom::Kind::kCidr) return false;
  return std::all_of(guard.begin(), guard.end(), [&](const Atom& a) {
    return a.kind == first.kind && a.field == first.field && a.mask == first.mask;
  });
}

// Smaller is better: an index of numbers costs one lookup and finds the fewest rules, an index
// of ranges one lookup; other guards cost one check per atom (a regular expression as four).
size_t Cost(const Guard& guard) {
  if (Indexable(guard)) return guard.front().kind == Atom::Kind::kEqual ? 0 : 1;
  size_t cost = 0;
  for (const Atom& a : guard) {
    const Matcher::Op op = a.kind == Atom::Kind::kMatcher ? a.matcher->op : Matcher::Op::kNumber;
    cost += op == Matcher::Op::kRegex ? 8 : op == Matcher::Op::kPattern ? 4 : 2;
  }
  return cost;
}

bool IsComparison(Matcher::Op op) {
  return op == Matcher::Op::kLess || op == Matcher::Op::kLessEqual || op == Matcher::Op::kGreater ||
         op == Matcher::Op::kGreaterEqual;
}

// A test that can only be true when its field equals one of its numbers, its IPv4 address is in
// one of its ranges, or one of its comparisons, text patterns or regular expressions holds.
std::optional<Guard> TestGuard(const FieldTest& test) {
  if (test.keyword || test.matchers.empty()) return std::nullopt;
  if (test.all && test.group_end.size() > 1) return std::nullopt;
  const bool numeric = IsNumericField(test.field);
  const bool address = test.field == EventField::kSrcIp || test.field == EventField::kDstIp;
  Guard guard;
  for (const Matcher& m : test.matchers) {
    if (numeric && m.op == Matcher::Op::kNumber) {
      guard.push_back({test.field, Atom::Kind::kEqual, 0, m.number});
    } else if (address && m.op == Matcher::Op::kCidr4) {
      guard.push_back({test.field, Atom::Kind::kCidr, m.v4_mask, m.v4_network});
    } else if (address && m.op == Matcher::Op::kPattern) {
      // A pattern that is a range of an IPv4 address's octets is checked as one on such an
      // address (Holds), as the pattern on its text elsewhere.
      const std::optional<DottedQuadRange> range = DottedQuadRangeOf(m.pattern);
      guard.push_back({test.field, Atom::Kind::kMatcher, range ? range->mask : 0,
                       range ? range->value : 0, &m});
    } else if ((numeric && IsComparison(m.op)) || m.op == Matcher::Op::kRegex ||
               m.op == Matcher::Op::kPattern) {
      guard.push_back({test.field, Atom::Kind::kMatcher, 0, 0, &m});
    } else {
      return std::nullopt;
    }
  }
  return guard;
}

void Append(Guard& into, const Guard& other) {
  into.insert(into.end(), other.begin(), other.end());
}

// A conjunction of guards: the rule can only match when every one of them holds.
using Guards = std::vector<Guard>;

// The cheapest guard of a conjunction (nullopt when it has none).
std::optional<Guard> Cheapest(const Guards& guards) {
  const Guard* best = nullptr;
  for (const Guard& g : guards) {
    if (best == nullptr || Cost(g) < Cost(*best)) best = &g;
  }
  return best != nullptr ? std::optional<Guard>(*best) : std::nullopt;
}

Guards EntryGuards(const Entry& entry) {
  if (entry.maps.size() == 1) {  // every test of the map must hold: each guard is necessary
    Guards out;
    for (const FieldTest& test : entry.maps.front()) {
      if (std::optional<Guard> guard = TestGuard(test)) out.push_back(std::move(*guard));
    }
    return out;
  }
  Guard out;  // one of the maps must hold: each needs a guard
  for (const auto& map : entry.maps) {
    std::optional<Guard> best;
    for (const FieldTest& test : map) {
      std::optional<Guard> guard = TestGuard(test);
      if (guard && (!best || Cost(*guard) < Cost(*best))) best = std::move(guard);
    }
    if (!best) return {};
    Append(out, *best);
  }
  return out.empty() ? Guards{} : Guards{std::move(out)};
}

Guards NodeGuards(const Rule& rule, uint32_t index, int depth) {
  if (depth > 64) return {};
  const Condition::Node& node = rule.condition.nodes[index];
  switch (node.op) {
    case Condition::Op::kEntry:
      return EntryGuards(rule.entries[node.a]);
    case Condition::Op::kNot:
      return {};
    case Condition::Op::kAnd: {  // every operand's guards are necessary
      Guards out;
      for (uint32_t i = node.a; i < node.b; ++i) {
        Guards more = NodeGuards(rule, rule.condition.children[i], depth + 1);
        for (Guard& g : more) out.push_back(std::move(g));
      }
      return out;
    }
    case Condition::Op::kOr: {  // every operand needs a guard: the union of their cheapest
      Guard out;
      for (uint32_t i = node.a; i < node.b; ++i) {
        std::optional<Guard> guard =
            Cheapest(NodeGuards(rule, rule.condition.children[i], depth + 1));
        if (!guard) return {};
        Append(out, *guard);
      }
      return out.empty() ? Guards{} : Guards{std::move(out)};
    }
  }
  return {};
}

// A test that is true exactly when one of these atoms holds (numbers of a numeric field: the
// event has the field and its value is one of them), if it is one.
std::optional<Guard> ExactGuard(const FieldTest& test) {
  if (test.keyword || test.matchers.empty() || !IsNumericField(test.field)) return std::nullopt;
  if (test.all && test.group_end.size() > 1) return std::nullopt;
  Guard guard;
  for (const Matcher& m : test.matchers) {
    if (m.op != Matcher::Op::kNumber) return std::nullopt;
    guard.push_back({test.field, Atom::Kind::kEqual, 0, m.number});
  }
  return guard;
}

// Atoms each of which makes the rule false: those of the entries a `not` denies on the rule's
// chain of `and`s from the root, when the entry is true exactly when one of them holds (each of
// its maps one exact test).
void VetoAtoms(const Rule& rule, uint32_t index, int depth, Guard& out) {
  if (depth > 64) return;
  const Condition::Node& node = rule.condition.nodes[index];
  if (node.op == Condition::Op::kAnd) {
    for (uint32_t i = node.a; i < node.b; ++i) {
      VetoAtoms(rule, rule.condition.children[i], depth + 1, out);
    }
    return;
  }
  if (node.op != Condition::Op::kNot) return;
  const Condition::Node& operand = rule.condition.nodes[node.a];
  if (operand.op != Condition::Op::kEntry) return;
  Guard atoms;
  for (const auto& map : rule.entries[operand.a].maps) {
    if (map.size() != 1) return;  // several tests: the entry holds only when all of them do
    std::optional<Guard> exact = ExactGuard(map.front());
    if (!exact) return;
    Append(atoms, *exact);
  }
  Append(out, atoms);
}

// The candidate as `key` finds it, given what the key decides alone. An event the key finds has
// the key's bits of the source and destination address (is_v4) and the key's number, so an atom
// that is a range of an address the key fixes at the same or a longer prefix (or a number of the
// key's number field) holds for every such event or for none. nullopt when that makes Passes
// false for all of them: a check none of whose atoms can hold, or a veto atom that holds (a rule
// asking for one range in one entry and a disjoint one in another is found by keys of both). The
// checks that hold for all of them, and the veto atoms that hold for none, are left out of the
// copy (appended to the bucket's checks and atoms when some are), so Passes does not redo them.
std::optional<Bucket::Candidate> AsKeyFindsIt(Bucket& bucket, const Bucket::Candidate& c,
                                              const Bucket::Index& shape,
                                              const Bucket::Index::Key& key) {
  // The atom's value for every event the key finds; nullopt when it depends on more.
  auto decided = [&](const GuardAtom& a) -> std::optional<bool> {
    if (a.kind == GuardAtom::Kind::kCidr) {
      if (a.field == EventField::kSrcIp && shape.has_src && (a.mask & shape.src_mask) == a.mask) {
        return (key.src & a.mask) == a.value;
      }
      if (a.field == EventField::kDstIp && shape.has_dst && (a.mask & shape.dst_mask) == a.mask) {
        return (key.dst & a.mask) == a.value;
      }
    } else if (a.kind == GuardAtom::Kind::kEqual && shape.has_number && a.field == shape.field) {
      return key.number == a.value;
    }
    return std::nullopt;
  };
  std::vector<std::pair<uint32_t, uint32_t>> checks;  // those not decided true
  for (uint32_t k = c.first_check; k < c.end_check; ++k) {
    const auto [first, end] = bucket.checks[k];
    bool none = true, always = false;  // no atom can hold; one atom always holds
    for (uint32_t i = first; i < end && !always; ++i) {
      const std::optional<bool> holds = decided(bucket.atoms[i]);
      none = none && holds.has_value() && !*holds;
      always = holds.has_value() && *holds;
    }
    if (always) continue;
    if (none) return std::nullopt;
    checks.emplace_back(first, end);
  }
  std::vector<GuardAtom> vetoes;  // those not decided false
  for (uint32_t i = c.first_veto; i < c.end_veto; ++i) {
    const std::optional<bool> holds = decided(bucket.atoms[i]);
    if (holds.has_value() && *holds) return std::nullopt;
    if (!holds.has_value()) vetoes.push_back(bucket.atoms[i]);
  }
  Bucket::Candidate out = c;
  if (checks.size() != c.end_check - c.first_check) {
    out.first_check = static_cast<uint32_t>(bucket.checks.size());
    bucket.checks.insert(bucket.checks.end(), checks.begin(), checks.end());
    out.end_check = static_cast<uint32_t>(bucket.checks.size());
  }
  if (vetoes.size() != c.end_veto - c.first_veto) {
    out.first_veto = static_cast<uint32_t>(bucket.atoms.size());
    bucket.atoms.insert(bucket.atoms.end(), vetoes.begin(), vetoes.end());
    out.end_veto = static_cast<uint32_t>(bucket.atoms.size());
  }
  return out;
}

inline constexpr size_t kMaxChecks = 3;  // guards checked besides those that find the rule
inline constexpr size_t kMaxKeys = 64;   // index keys of one rule (but for its first key part)

void AddToBucket(Bucket& bucket, const Rule& rule, bool use_index) {
  Guards guards = use_index ? NodeGuards(rule, rule.condition.root, 0) : Guards{};
  // Cheapest first: indexable ones find the rule; the next few are checked before it is
  // evaluated (each cheaper than evaluating the rule). Guards with too many atoms are dropped.
  std::erase_if(guards, [](const Guard& g) { return !Indexable(g) && g.size() > kMaxAtoms; });
  std::stable_sort(guards.begin(), guards.end(),
                   [](const Guard& a, const Guard& b) { return Cost(a) < Cost(b); });
  if (guards.empty()) {
    bucket.always.push_back(&rule);
    return;
  }
  // The key parts: the indexable guard of numbers and those of ranges of the source and of the
  // destination address with the fewest atoms each, in that order, as long as the rule's keys
  // (every combination of their atoms) stay at most kMaxKeys (the first part may have more).
  std::array<int, 3> parts = {-1, -1, -1};  // number, src_ip, dst_ip: index into guards
  for (size_t i = 0; i < guards.size(); ++i) {
    if (!Indexable(guards[i])) continue;
    const Atom& atom = guards[i].front();
    const int part = atom.kind == Atom::Kind::kEqual ? 0 : atom.field == EventField::kSrcIp ? 1 : 2;
    if (parts[part] < 0 || guards[i].size() < guards[parts[part]].size()) {
      parts[part] = static_cast<int>(i);
    }
  }
  size_t keys = 0;
  for (int& part : parts) {
    if (part < 0) continue;
    const size_t atoms = guards[part].size();
    if (keys > 0 && keys * atoms > kMaxKeys) {
      part = -1;  // checked instead
      continue;
    }
    keys = keys == 0 ? atoms : keys * atoms;
  }
  const bool indexed = keys > 0;
  const auto first_check = static_cast<uint32_t>(bucket.checks.size());
  for (size_t i = 0;
       i < guards.size() && bucket.checks.size() - first_check < kMaxChecks + (indexed ? 0 : 1);
       ++i) {
    if (std::find(parts.begin(), parts.end(), static_cast<int>(i)) != parts.end()) continue;
    const auto first = static_cast<uint32_t>(bucket.atoms.size());
    bucket.atoms.insert(bucket.atoms.end(), guards[i].begin(), guards[i].end());
    bucket.checks.emplace_back(first, static_cast<uint32_t>(bucket.atoms.size()));
  }
  Guard vetoes;
  VetoAtoms(rule, rule.condition.root, 0, vetoes);
  if (vetoes.size() > kMaxAtoms) vetoes.clear();
  const auto first_veto = static_cast<uint32_t>(bucket.atoms.size());
  bucket.atoms.insert(bucket.atoms.end(), vetoes.begin(), vetoes.end());
  const Bucket::Candidate candidate{&rule, first_check, static_cast<uint32_t>(bucket.checks.size()),
                                    first_veto, static_cast<uint32_t>(bucket.atoms.size())};
  if (!indexed) {
    bucket.guarded.push_back(candidate);
    return;
  }
  Bucket::Index shape;
  std::vector<Bucket::Index::Key> values(1);
  auto spread = [&values](const Guard& guard, auto set) {
    std::vector<Bucket::Index::Key> more;
    for (const Bucket::Index::Key& key : values) {
      for (const Atom& atom : guard) set(more.emplace_back(key), atom.value);
    }
    values = std::move(more);
  };
  if (parts[0] >= 0) {
    shape.has_number = true;
    shape.field = guards[parts[0]].front().field;
    spread(guards[parts[0]], [](Bucket::Index::Key& k, uint64_t v) { k.number = v; });
  }
  if (parts[1] >= 0) {
    shape.has_src = true;
    shape.src_mask = guards[parts[1]].front().mask;
    spread(guards[parts[1]],
           [](Bucket::Index::Key& k, uint64_t v) { k.src = static_cast<uint32_t>(v); });
  }
  if (parts[2] >= 0) {
    shape.has_dst = true;
    shape.dst_mask = guards[parts[2]].front().mask;
    spread(guards[parts[2]],
           [](Bucket::Index::Key& k, uint64_t v) { k.dst = static_cast<uint32_t>(v); });
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  auto index =
      std::find_if(bucket.indexes.begin(), bucket.indexes.end(), [&](const Bucket::Index& i) {
        return i.has_number == shape.has_number && i.field == shape.field &&
               i.has_src == shape.has_src && i.src_mask == shape.src_mask &&
               i.has_dst == shape.has_dst && i.dst_mask == shape.dst_mask;
      });
  if (index == bucket.indexes.end()) {
    bucket.indexes.push_back(std::move(shape));
    index = bucket.indexes.end() - 1;
  }
  for (const Bucket::Index::Key& key : values) {
    if (const std::optional<Bucket::Candidate> found =
            AsKeyFindsIt(bucket, candidate, *index, key)) {
      index->building[key].push_back(*found);
    }
  }
}

// Moves the guarded rules whose guard the set's answer decides into the bucket's regex indexes
// (after the sets are compiled: slots are known then).
void IndexRegexGuards(Bucket& bucket, const RegexSets& sets) {
  std::vector<Bucket::Candidate> keep;
  for (const Bucket::Candidate& c : bucket.guarded) {
    const auto [first, end] = bucket.checks[c.first_check];
    const EventField field = bucket.atoms[first].field;
    uint64_t bits = 0;
    bool decided = sets.size(field) <= 64;
    for (uint32_t i = first; i < end && decided; ++i) {
      const Atom& a = bucket.atoms[i];
      decided = a.kind == Atom::Kind::kMatcher && a.matcher->op == Matcher::Op::kRegex &&
                a.field == field && a.matcher->regex_slot >= 0 && a.matcher->regex_slot < 64;
      if (decided) bits |= uint64_t{1} << a.matcher->regex_slot;
    }
    if (!decided) {
      keep.push_back(c);
      continue;
    }
    auto index = std::find_if(bucket.regex_indexes.begin(), bucket.regex_indexes.end(),
                              [&](const Bucket::RegexIndex& r) { return r.field == field; });
    if (index == bucket.regex_indexes.end()) {
      bucket.regex_indexes.push_back({field, {}});
      index = bucket.regex_indexes.end() - 1;
    }
    index->candidates.push_back({bits, c});
  }
  bucket.guarded = std::move(keep);
}

// Moves the guarded rules whose first check is one numeric comparison into the bucket's
// threshold lists (a NaN bound, which no value passes, stays guarded).
void IndexComparisonGuards(Bucket& bucket) {
  std::vector<Bucket::Candidate> keep;
  for (const Bucket::Candidate& c : bucket.guarded) {
    const auto [first, end] = bucket.checks[c.first_check];
    const GuardAtom& atom = bucket.atoms[first];
    if (end != first + 1 || atom.kind != GuardAtom::Kind::kMatcher ||
        !IsComparison(atom.matcher->op) || std::isnan(atom.matcher->bound)) {
      keep.push_back(c);
      continue;
    }
    const Matcher::Op op = atom.matcher->op;
    auto list = std::find_if(
        bucket.thresholds.begin(), bucket.thresholds.end(),
        [&](const Bucket::Threshold& t) { return t.field == atom.field && t.op == op; });
    if (list == bucket.thresholds.end()) {
      bucket.thresholds.push_back({atom.field, op, {}});
      list = bucket.thresholds.end() - 1;
    }
    list->by_bound.emplace_back(atom.matcher->bound, c);
  }
  for (Bucket::Threshold& t : bucket.thresholds) {
    std::stable_sort(t.by_bound.begin(), t.by_bound.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    t.lowest = t.by_bound.front().first;
    t.highest = t.by_bound.back().first;
  }
  bucket.guarded = std::move(keep);
}

void ListProbedFields(Bucket& bucket) {
  static_assert(kEventFieldCount <= 32, "probed is a 32-bit set of fields");
  auto add = [&bucket](EventField field) {
    bucket.probed |= uint32_t{1} << static_cast<int>(field);
  };
  for (const GuardAtom& atom : bucket.atoms) add(atom.field);
  for (const Bucket::Index& index : bucket.indexes) {
    if (index.has_number) add(index.field);
  }
  for (const Bucket::Threshold& t : bucket.thresholds) add(t.field);
}

// ---------------------------------------------------------------------------------------------
// Files.

struct Document {
  std::string_view text;
  int first_line = 0;  // lines before it in the file
};

bool IsMarker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  return line.size() == marker.size() || line[marker.size()] == ' ' ||
         line[marker.size()] == '\t' || line[marker.size()] == '\r';
}

// The YAML documents of a file, split at "---" lines (a line starting with "---" and a blank is
// always a document marker in YAML, even inside a scalar). Each document is parsed on its own
// with YAML::Load: yaml-cpp 0.7's LoadAll can loop forever on some broken inputs (found by
// monitor_sigma_fuzz).
std::vector<Document> SplitDocuments(std::string_view text) {
  std::vector<Document> out;
  size_t start = 0;
  int start_line = 0, line = 0;
  for (size_t pos = 0; pos < text.size(); ++line) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    if (pos > start && IsMarker(text.substr(pos, end - pos), "---")) {
      out.push_back({text.substr(start, pos - start), start_line});
      start = pos;
      start_line = line;
    }
    pos = end + 1;
  }
  out.push_back({text.substr(start), start_line});
  return out;
}

Error FileError(std::string_view file, int line, std::string_view ja, std::string_view en) {
  const std::string where = Cat(file, ":", std::to_string(line > 0 ? line : 1), ": ");
  return Error::Invalid(Cat(where, ja), Cat(where, en));
}

// Reads one file's rules into `out`.
Status LoadFile(const SigmaFile& file, const SigmaOptions& options, SigmaRules::Compiled& out) {
  if (file.text.size() > kMaxSigmaFileBytes) {
    return Error::TooLarge(Cat(file.name, ": Sigma のルールファイルが大きすぎます（上限 1 MiB）。"),
                           Cat(file.name, ": Sigma rule file too large (limit 1 MiB)."));
  }
  size_t rules_in_file = 0;
  for (const Document& document : SplitDocuments(file.text)) {
    if (rules_in_file >= kMaxRulesPerFile) {
      return Error::TooLarge(Cat(file.name, ": 1 つのファイルのルールが多すぎます（上限 1,000）。"),
                             Cat(file.name, ": too many rules in one file (limit 1,000)."));
    }
    const int offset = document.first_line;  // yaml-cpp counts lines from the document
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(document.text));
    } catch (const YAML::Exception& e) {
      return FileError(file.name, offset + (e.mark.line >= 0 ? e.mark.line + 1 : 1),
                       Cat("YAML として読めません: ", Printable(e.msg)),
                       Cat("not valid YAML: ", Printable(e.msg)));
    }
    if (doc.IsNull()) continue;  // an empty document ("---" at the end)
    ++rules_in_file;
    RuleInfo info;
    info.file = file.name;
    info.line = offset + std::max(LineOf(doc), 1);
    std::variant<ParsedRule, Problem> parsed = Problem{};
    try {
      parsed = ParseRuleDocument(doc, info);
    } catch (const YAML::Exception& e) {
      return FileError(file.name, e.mark.line >= 0 ? offset + e.mark.line + 1 : info.line,
                       Cat("YAML として読めません: ", Printable(e.msg)),
                       Cat("not valid YAML: ", Printable(e.msg)));
    }
    if (auto* problem = std::get_if<Problem>(&parsed); problem != nullptr && problem->line > 0) {
      problem->line += offset;
    }
    if (auto* problem = std::get_if<Problem>(&parsed)) {
      if (problem->kind == Problem::Kind::kInvalid) {
        return FileError(file.name, problem->line > 0 ? problem->line : info.line, problem->ja,
                         problem->en);
      }
      out.unsupported.push_back({file.name, problem->line > 0 ? problem->line : info.line, info.id,
                                 info.title, std::move(problem->ja), std::move(problem->en)});
      continue;
    }
    ParsedRule& rule = std::get<ParsedRule>(parsed);
    const auto info_index = static_cast<uint32_t>(out.infos.size());
    bool compiled_any = false;
    std::string unmapped;
    std::string formats;
    for (int f = 0; f < kInputFormatCount; ++f) {
      if (rule.masks[f] == 0) continue;
      const auto format = static_cast<InputFormat>(f);
      formats += Cat(formats.empty() ? "" : ", ", InputFormatName(format));
      auto compiled = std::make_unique<Rule>(rule.rule);
      compiled->info = info_index;
      if (std::optional<std::string> missing = ResolveFields(*compiled, format)) {
        if (unmapped.empty()) unmapped = *missing;
        continue;
      }
      for (int t = 0; t < kLogTypeCount; ++t) {
        if ((rule.masks[f] & (uint8_t{1} << t)) != 0)
          AddToBucket(out.buckets[f][t], *compiled, options.index);
      }
      out.rules.push_back(std::move(compiled));
      compiled_any = true;
    }
    if (!compiled_any) {
      out.unsupported.push_back(
          {file.name, info.line, info.id, info.title,
           Cat("フィールド「", Printable(unmapped), "」は、このルールのログの形式（", formats,
               "）のどれにも対応づけがありません。"),
           Cat("the field \"", Printable(unmapped),
               "\" has no mapping in any input format of the rule's log source (", formats, ").")});
      continue;
    }
    out.infos.push_back(std::move(rule.info));
    ++out.loaded;
  }
  if (rules_in_file == 0) {
    return FileError(file.name, 1, "Sigma のルールがありません（空のファイルです）。",
                     "no Sigma rule in the file (it is empty).");
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

bool EvalTest(const FieldTest& test, MatchContext& context) {
  if (test.keyword) {
    size_t begin = 0;
    for (uint32_t end : test.group_end) {
      bool any = false;
      for (size_t i = begin; i < end && !any; ++i) {
        for (EventField field : kKeywordFields) {
          const FieldValue value = GetField(context.event(), field);
          if (value.kind == FieldValue::Kind::kText &&
              Match(test.matchers[i], value, field, context)) {
            any = true;
            break;
          }
        }
      }
      if (any && !test.all) return true;
      if (!any && test.all) return false;
      begin = end;
    }
    return test.all;
  }
  if (test.v4_ranges && !test.all) {  // as MatchFast for each range (kCidr4)
    const Address& address =
        test.field == EventField::kSrcIp ? context.event().src : context.event().dst;
    if (address.is_v4) {
      for (const Matcher& m : test.matchers) {
        if ((address.v4 & m.v4_mask) == m.v4_network) return true;
      }
      return false;
    }
  }
  const FieldValue value = GetField(context.event(), test.field);
  if (!test.all) {
    for (const Matcher& m : test.matchers) {
      if (MatchFast(m, value, test.field, context)) return true;
    }
    return false;
  }
  size_t begin = 0;
  for (uint32_t end : test.group_end) {
    bool any = false;
    for (size_t i = begin; i < end && !any; ++i) {
      any = MatchFast(test.matchers[i], value, test.field, context);
    }
    if (!any) return false;
    begin = end;
  }
  return true;
}

bool EvalEntry(const Entry& entry, MatchContext& context) {
  for (const auto& map : entry.maps) {
    bool all = true;
    for (const FieldTest& test : map) {
      if (!EvalTest(test, context)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

bool EvalNode(const Rule& rule, uint32_t index, MatchContext& context) {
  const Condition::Node& node = rule.condition.nodes[index];
  switch (node.op) {
    case Condition::Op::kEntry:
      return EvalEntry(rule.entries[node.a], context);
    case Condition::Op::kNot:
      return !EvalNode(rule, node.a, context);
    case Condition::Op::kAnd:
      for (uint32_t i = node.a; i < node.b; ++i) {
        if (!EvalNode(rule, rule.condition.children[i], context)) return false;
      }
      return true;
    case Condition::Op::kOr:
      for (uint32_t i = node.a; i < node.b; ++i) {
        if (EvalNode(rule, rule.condition.children[i], context)) return true;
      }
      return false;
  }
  return false;
}

class SigmaDetector final : public Detector {
 public:
  explicit SigmaDetector(const SigmaRules::Compiled& rules) : rules_(rules) {
    context_.set_regex_sets(&rules.regex_sets, rules.memo);
  }

  void OnEvent(const Event& e, AlertSink& sink) override {
    const Bucket& bucket =
        rules_.buckets[static_cast<size_t>(e.format)][static_cast<size_t>(e.type)];
    if (bucket.unused) return;
    context_.Reset(e);
    matched_infos_.clear();
    for (const Rule* rule : bucket.always) Evaluate(*rule);
    if (bucket.probed != 0) Probe(e, bucket.probed);
    for (const Bucket::Candidate& c : bucket.guarded) {
      if (Passes(bucket, c)) Evaluate(*c.rule);
    }
    for (const Bucket::Threshold& t : bucket.thresholds) {
      const auto i = static_cast<size_t>(t.field);
      if (!probe_has_[i]) continue;  // as Holds: no value, no comparison holds
      const auto v = static_cast<double>(probe_[i]);
      if (!t.AnyHolds(v)) continue;  // the run below would be empty
      const auto begin = t.by_bound.begin(), end = t.by_bound.end();
      // [begin, at_least): bound < v; [at_least, above): bound == v; [above, end): bound > v.
      const auto at_least =
          std::partition_point(begin, end, [v](const auto& entry) { return entry.first < v; });
      const auto above = std::partition_point(
          at_least, end, [v](const auto& entry) { return !(v < entry.first); });
      auto from = begin, to = end;
      switch (t.op) {
        case Matcher::Op::kLess:  // v < bound
          from = above;
          break;
        case Matcher::Op::kLessEqual:  // v <= bound
          from = at_least;
          break;
        case Matcher::Op::kGreater:  // v > bound
          to = at_least;
          break;
        default:  // kGreaterEqual: v >= bound
          to = above;
          break;
      }
      for (auto it = from; it != to; ++it) {  // the comparison holds: the other checks
        const Bucket::Candidate& c = it->second;
        if (Passes(bucket, {c.rule, c.first_check + 1, c.end_check, c.first_veto, c.end_veto})) {
          Evaluate(*c.rule);
        }
      }
    }
    for (const Bucket::RegexIndex& index : bucket.regex_indexes) {
      uint64_t hits = 0;
      bool decided = false;
      if (index.field == EventField::kSrcIp || index.field == EventField::kDstIp) {
        // An IPv4 address seen before: the memo's answer, as RegexBits gives it for the
        // address's text (GetField's), without asking for the text.
        const bool src = index.field == EventField::kSrcIp;
        if (context_.AddressTurnedAway(src)) continue;  // no expression matches: no candidate
        decided = context_.AddressBits(src, hits);
        const Address& address = src ? e.src : e.dst;
        if (!decided && address.is_v4)
          decided = context_.RegexBits(index.field, address.text, hits);
      }
      if (!decided) {
        // The field's text as Match gives it to a regular expression (numbers as decimals).
        const FieldValue value = GetField(e, index.field);
        if (value.kind == FieldValue::Kind::kAbsent) continue;  // no expression can match
        char digits[24];
        std::string_view text = value.text;
        if (value.kind == FieldValue::Kind::kNumber) {
          const auto end = std::to_chars(digits, digits + sizeof digits, value.number).ptr;
          text = std::string_view(digits, static_cast<size_t>(end - digits));
        }
        decided = context_.RegexBits(index.field, text, hits);
      }
      if (decided && hits == 0) continue;  // no expression matched: no candidate can pass
      for (const Bucket::RegexCandidate& rc : index.candidates) {
        const Bucket::Candidate& c = rc.candidate;
        if (!decided) {  // each expression alone, through the guard's check
          if (Passes(bucket, c)) Evaluate(*c.rule);
        } else if ((hits & rc.bits) != 0 && Passes(bucket, {c.rule, c.first_check + 1, c.end_check,
                                                            c.first_veto, c.end_veto})) {
          Evaluate(*c.rule);
        }
      }
    }
    for (const Bucket::Index& index : bucket.indexes) {
      Bucket::Index::Key key;
      if (index.has_number) {  // as GetField gives the number (Probe)
        const auto i = static_cast<size_t>(index.field);
        if (!probe_has_[i]) continue;
        key.number = probe_[i];
      }
      if (index.has_src) {
        if (!e.src.is_v4) continue;
        key.src = e.src.v4 & index.src_mask;
      }
      if (index.has_dst) {
        if (!e.dst.is_v4) continue;
        key.dst = e.dst.v4 & index.dst_mask;
      }
      if ((index.has_src || index.has_dst) && !index.MayHavePair(key.src, key.dst)) continue;
      for (const Bucket::Candidate& c : index.Find(key)) {
        if (Passes(bucket, c)) Evaluate(*c.rule);
      }
    }
    if (matched_infos_.empty()) return;
    std::sort(matched_infos_.begin(), matched_infos_.end());  // in load order
    matched_.clear();
    Severity severity = Severity::kLow;
    for (uint32_t info : matched_infos_) {
      matched_.push_back(rules_.refs[info]);
      severity = std::max(severity, rules_.infos[info].severity);
    }
    if (matched_.empty()) return;
    Finding f;
    f.kind = AlertKind::kSigma;
    f.severity = severity;
    f.ts_us = e.ts_us;
    f.src = e.src.text;
    f.dst = e.dst.text;
    f.proto = e.proto;
    if (e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)) f.dport = e.dport;
    f.rules = matched_;
    f.file = e.file;
    f.line = e.line;
    f.uid = e.uid;
    sink.Report(f);
  }

 private:
  // The event's numbers and IPv4 addresses of the `fields` (bits by EventField) the bucket's
  // guard atoms, indexes and thresholds read; the others are left as they were.
  void Probe(const Event& e, uint32_t fields) {
    // The numbers as GetField gives them (event.cc), read directly.
    auto wants = [fields](EventField field) {
      return (fields >> static_cast<int>(field) & 1) != 0;
    };
    auto set = [&](EventField field, bool has, auto number) {
      probe_has_[static_cast<size_t>(field)] = has;
      probe_[static_cast<size_t>(field)] = static_cast<uint64_t>(number);
    };
    if (wants(EventField::kTs)) set(EventField::kTs, true, e.ts_us < 0 ? 0 : e.ts_us / 1000000);
    if (wants(EventField::kSrcPort)) set(EventField::kSrcPort, e.has_ports, e.sport);
    if (wants(EventField::kDstPort)) set(EventField::kDstPort, e.has_ports, e.dport);
    if (wants(EventField::kBytesOut)) set(EventField::kBytesOut, e.has_bytes, e.bytes_out);
    if (wants(EventField::kBytesIn)) set(EventField::kBytesIn, e.has_bytes, e.bytes_in);
    if (wants(EventField::kHttpStatus)) {
      set(EventField::kHttpStatus, e.http_status != 0, e.http_status);
    }
    // v4 is 0 when not is_v4 (never read then).
    if (wants(EventField::kSrcIp)) set(EventField::kSrcIp, e.src.is_v4, e.src.v4);
    if (wants(EventField::kDstIp)) set(EventField::kDstIp, e.dst.is_v4, e.dst.v4);
  }
  // Every check of the candidate holds (each: one of its atoms).
  bool Passes(const Bucket& bucket, const Bucket::Candidate& c) {
    for (uint32_t k = c.first_check; k < c.end_check; ++k) {
      const auto [first, end] = bucket.checks[k];
      bool any = false;
      for (uint32_t i = first; i < end && !any; ++i) any = Holds(bucket.atoms[i]);
      if (!any) return false;
    }
    return !Vetoed(bucket, c);
  }
  // One of the candidate's veto atoms holds: the rule is false.
  bool Vetoed(const Bucket& bucket, const Bucket::Candidate& c) {
    for (uint32_t i = c.first_veto; i < c.end_veto; ++i) {
      if (Holds(bucket.atoms[i])) return true;
    }
    return false;
  }
  bool Holds(const GuardAtom& atom) {
    const auto i = static_cast<size_t>(atom.field);
    if (atom.kind == GuardAtom::Kind::kMatcher) {
      // A text pattern on the event's own IPv4 address (probed: is_v4) that is a range of its
      // octets (DottedQuadRangeOf): the pattern's answer on its dotted quad, as MatcherHolds
      // gives it, without the text.
      if (atom.mask != 0 && probe_has_[i]) return (probe_[i] & atom.mask) == atom.value;
      return MatcherHolds(atom);
    }
    if (!probe_has_[i]) return false;
    return atom.kind == GuardAtom::Kind::kCidr ? (probe_[i] & atom.mask) == atom.value
                                               : probe_[i] == atom.value;
  }
  // Holds for a kMatcher atom: out of line, so that the checks of ranges and numbers (most
  // atoms) stay small where they are inlined.
  [[gnu::noinline]] bool MatcherHolds(const GuardAtom& atom) {
    const auto i = static_cast<size_t>(atom.field);
    {
      const Matcher& m = *atom.matcher;
      if (IsComparison(m.op)) {  // a comparison on a numeric field: from the probe
        if (!probe_has_[i]) return false;
        const auto v = static_cast<double>(probe_[i]);
        switch (m.op) {
          case Matcher::Op::kLess:
            return v < m.bound;
          case Matcher::Op::kLessEqual:
            return v <= m.bound;
          case Matcher::Op::kGreater:
            return v > m.bound;
          default:
            return v >= m.bound;
        }
      }
      if (m.op == Matcher::Op::kPattern && probe_has_[i] &&
          (atom.field == EventField::kSrcIp || atom.field == EventField::kDstIp)) {
        // The event's own IPv4 address (probed: is_v4): its text is a dotted quad, its own lower
        // case (MatchContext::Lowered), matched as Match would without asking for it.
        const Event& e = context_.event();
        return m.pattern.Matches(atom.field == EventField::kSrcIp ? e.src.text : e.dst.text);
      }
      return Match(m, GetField(context_.event(), atom.field), atom.field, context_);
    }
  }

  void Evaluate(const Rule& rule) {
    if (EvalNode(rule, rule.condition.root, context_)) matched_infos_.push_back(rule.info);
  }

  const SigmaRules::Compiled& rules_;
  MatchContext context_;
  std::vector<uint32_t> matched_infos_;  // scratch
  std::array<bool, kEventFieldCount> probe_has_{};
  std::array<uint64_t, kEventFieldCount> probe_{};
  std::vector<RuleRef> matched_;  // scratch
};

}  // namespace
}  // namespace sigma

SigmaRules::SigmaRules(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
SigmaRules::SigmaRules(SigmaRules&&) noexcept = default;
SigmaRules& SigmaRules::operator=(SigmaRules&&) noexcept = default;
SigmaRules::~SigmaRules() = default;

Result<SigmaRules> SigmaRules::Load(std::span<const SigmaFile> files, SigmaOptions options) {
  auto compiled = std::make_unique<Compiled>();
  compiled->memo = options.index;
  for (const SigmaFile& file : files) {
    const Status st = sigma::LoadFile(file, options, *compiled);
    if (!st.ok()) return st.error();
  }
  for (const auto& rule : compiled->rules) {  // keyword tests try several fields: alone
    for (sigma::Entry& entry : rule->entries) {
      for (auto& map : entry.maps) {
        for (sigma::FieldTest& test : map) {
          if (test.keyword) continue;
          for (sigma::Matcher& m : test.matchers) compiled->regex_sets.Add(test.field, m);
        }
      }
    }
  }
  compiled->regex_sets.Compile();
  for (auto& by_type : compiled->buckets) {
    for (sigma::Bucket& bucket : by_type) {
      sigma::IndexRegexGuards(bucket, compiled->regex_sets);
      sigma::IndexComparisonGuards(bucket);
      for (sigma::Bucket::Index& index : bucket.indexes) index.Finish();
      sigma::ListProbedFields(bucket);
      bucket.unused = bucket.empty();
    }
  }
  compiled->refs.reserve(compiled->infos.size());
  for (const sigma::RuleInfo& info : compiled->infos)
    compiled->refs.push_back({info.id, info.title});
  return SigmaRules(std::move(compiled));
}

size_t SigmaRules::loaded() const { return compiled_->loaded; }

const std::vector<SigmaUnsupported>& SigmaRules::unsupported() const {
  return compiled_->unsupported;
}

std::unique_ptr<Detector> MakeSigmaDetector(const SigmaRules& rules) {
  return std::make_unique<sigma::SigmaDetector>(rules.compiled());
}

std::string SigmaRulesToText(const SigmaRules& rules) {
  std::string out = Cat("  Sigma ルール (Sigma rules): ", std::to_string(rules.loaded()),
                        " 件を評価 (evaluated), ", std::to_string(rules.unsupported().size()),
                        " 件は評価できません (not evaluable)\n");
  for (const SigmaUnsupported& u : rules.unsupported()) {
    out += Cat("    ", Printable(u.file), ":", std::to_string(u.line), ": ",
               u.id.empty() ? std::string() : Cat(Printable(u.id), " "), "「", Printable(u.title),
               "」: ", u.reason, " (", u.reason_en, ")\n");
  }
  return out;
}

}  // namespace mamori::monitor
