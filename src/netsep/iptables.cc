#include "netsep/iptables.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/text.h"
#include "netsep/values.h"

namespace mamori::netsep {
namespace {

// Whether `s` is the word `literal`. The parser tests each token against dozens of option
// names; with the length known at compile time, this is a length test and a few integer
// compares inline, where operator== is an out-of-line call per test.
template <size_t N>
[[gnu::always_inline]] inline bool Is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), literal, N - 1) == 0;
}

constexpr size_t kMaxTokensPerLine = 1024;
constexpr size_t kMaxListItems = 1024;

// The built-in chains of each table.
struct TableSpec {
  std::string_view name;
  std::vector<std::string_view> builtins;
};
const std::array<TableSpec, 5> kTables = {{
    {"raw", {"PREROUTING", "OUTPUT"}},
    {"mangle", {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
    {"nat", {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
    {"filter", {"INPUT", "FORWARD", "OUTPUT"}},
    {"security", {"INPUT", "FORWARD", "OUTPUT"}},
}};

// The path of a forwarded packet through the tables (priorities as nftables names them).
// PREROUTING comes before routing: no output interface yet (iptables refuses -o there, but not in
// a user chain that PREROUTING jumps to).
const std::array<BaseChain, 8> kForwardPath = {{
    {Hook::kPrerouting, -300, ChainType::kFilter, "raw", "PREROUTING",
     OutputInterface::kNotYetRouted},
    {Hook::kPrerouting, -150, ChainType::kFilter, "mangle", "PREROUTING",
     OutputInterface::kNotYetRouted},
    {Hook::kPrerouting, -100, ChainType::kNat, "nat", "PREROUTING", OutputInterface::kNotYetRouted},
    {Hook::kForward, -150, ChainType::kFilter, "mangle", "FORWARD"},
    {Hook::kForward, 0, ChainType::kFilter, "filter", "FORWARD"},
    {Hook::kForward, 50, ChainType::kFilter, "security", "FORWARD"},
    {Hook::kPostrouting, -150, ChainType::kFilter, "mangle", "POSTROUTING"},
    {Hook::kPostrouting, 100, ChainType::kNat, "nat", "POSTROUTING"},
}};

// Targets that neither end traversal nor change what is forwarded.
constexpr std::array<std::string_view, 6> kHarmlessTargets = {"LOG",    "NFLOG",    "ULOG",
                                                              "TCPMSS", "CLASSIFY", "AUDIT"};

// Modules whose options this parser reads.
constexpr std::array<std::string_view, 10> kKnownModules = {
    "tcp", "udp", "icmp", "multiport", "conntrack", "state", "iprange", "comment", "limit", "set"};

std::optional<uint64_t> Number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) return std::nullopt;
  return value;
}

// "22", "1024:65535", ":1023", "1024:" (and '-' for NAT port ranges).
std::optional<ValueTerm> PortRange(std::string_view s, char separator) {
  const size_t sep = s.find(separator);
  if (sep == std::string_view::npos) {
    std::optional<uint64_t> port = Number(s, 65535);
    if (!port) return std::nullopt;
    return ValueTerm::Range(*port, *port);
  }
  const std::string_view a = s.substr(0, sep);
  const std::string_view b = s.substr(sep + 1);
  std::optional<uint64_t> lo = a.empty() ? std::optional<uint64_t>(0) : Number(a, 65535);
  std::optional<uint64_t> hi = b.empty() ? std::optional<uint64_t>(65535) : Number(b, 65535);
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return ValueTerm::Range(*lo, *hi);
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = s.find(',');
    out.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return out;
}

// "10.0.0.0/8", "10.0.0.1", "10.0.0.0/255.255.0.0" (non-contiguous masks are legal).
std::optional<ValueTerm> AddressTerm(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash != std::string_view::npos && s.substr(slash + 1).find('.') != std::string_view::npos) {
    std::optional<uint32_t> address = ParseIpv4(s.substr(0, slash));
    std::optional<uint32_t> mask = ParseIpv4(s.substr(slash + 1));
    if (!address || !mask) return std::nullopt;
    return ValueTerm::Masked(*address & *mask, *mask);
  }
  std::optional<Prefix> prefix = ParsePrefix(s, HostBits::kClear);
  if (!prefix) return std::nullopt;
  return ValueTerm::Masked(prefix->address, prefix->Mask());
}

// "10.0.0.1-10.0.0.9" (or one address).
std::optional<ValueTerm> AddressRange(std::string_view s) {
  const size_t dash = s.find('-');
  std::optional<uint32_t> lo = ParseIpv4(s.substr(0, dash));
  std::optional<uint32_t> hi = dash == std::string_view::npos ? lo : ParseIpv4(s.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return ValueTerm::Range(*lo, *hi);
}

std::optional<uint64_t> ProtocolNumber(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 10> kNames = {{
      {"icmp", 1},
      {"igmp", 2},
      {"tcp", 6},
      {"udp", 17},
      {"gre", 47},
      {"esp", 50},
      {"ah", 51},
      {"ospf", 89},
      {"sctp", 132},
      {"udplite", 136},
  }};
  for (const auto& [name, number] : kNames) {
    if (s == name) return number;
  }
  return Number(s, 255);
}

std::optional<uint64_t> IcmpTypeNumber(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 14> kNames = {{
      {"echo-reply", 0},
      {"pong", 0},
      {"destination-unreachable", 3},
      {"source-quench", 4},
      {"redirect", 5},
      {"echo-request", 8},
      {"ping", 8},
      {"router-advertisement", 9},
      {"router-solicitation", 10},
      {"time-exceeded", 11},
      {"ttl-exceeded", 11},
      {"parameter-problem", 12},
      {"timestamp-request", 13},
      {"timestamp-reply", 14},
  }};
  for (const auto& [name, number] : kNames) {
    if (s == name) return number;
  }
  return Number(s, 255);
}

std::optional<uint32_t> ConnStates(std::string_view s) {
  uint32_t states = 0;
  for (std::string_view word : SplitComma(s)) {
    if (Is(word, "NEW")) {
      states |= kCtNew;
    } else if (Is(word, "ESTABLISHED")) {
      states |= kCtEstablished;
    } else if (Is(word, "RELATED")) {
      states |= kCtRelated;
    } else if (Is(word, "INVALID")) {
      states |= kCtInvalid;
    } else if (Is(word, "UNTRACKED")) {
      states |= kCtUntracked;
    } else if (Is(word, "SNAT")) {
      states |= kCtSnat;
    } else if (Is(word, "DNAT")) {
      states |= kCtDnat;
    } else {
      return std::nullopt;
    }
  }
  return states;
}

// TCP flag names → bits; the first packet of a new TCP connection is taken to be a bare SYN.
std::optional<uint32_t> TcpFlags(std::string_view s) {
  uint32_t flags = 0;
  for (std::string_view word : SplitComma(s)) {
    if (Is(word, "FIN")) {
      flags |= 1;
    } else if (Is(word, "SYN")) {
      flags |= 2;
    } else if (Is(word, "RST")) {
      flags |= 4;
    } else if (Is(word, "PSH")) {
      flags |= 8;
    } else if (Is(word, "ACK")) {
      flags |= 16;
    } else if (Is(word, "URG")) {
      flags |= 32;
    } else if (Is(word, "ALL")) {
      flags |= 63;
    } else if (Is(word, "NONE")) {
    } else {
      return std::nullopt;
    }
  }
  return flags;
}
constexpr uint32_t kSynOnly = 2;

// Hashes std::string and std::string_view alike, so that maps keyed by name are found by a
// token's view without a copy.
struct WordHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct Line {
  std::string_view text;
  uint32_t number;
};

// "src,dst" (1 to 6 directions) of --match-set and -j SET.
std::optional<std::vector<SetDirection>> SetFlags(std::string_view s) {
  std::vector<SetDirection> out;
  for (std::string_view word : SplitComma(s)) {
    if (Is(word, "src")) {
      out.push_back(SetDirection::kSrc);
    } else if (Is(word, "dst")) {
      out.push_back(SetDirection::kDst);
    } else {
      return std::nullopt;
    }
  }
  if (out.size() > 6) return std::nullopt;
  return out;
}

class Parser {
 public:
  Parser(std::string_view file, std::string_view device, const Ipsets* ipsets)
      : file_(file), ipsets_(ipsets) {
    ruleset_.device = std::string(device);
  }

  Result<Ruleset> Parse(std::string_view text) {
    if (text.size() > kMaxConfigBytes) {
      return Error::TooLarge(Cat(file_, ": 設定ファイルが大きすぎます。"),
                             Cat(file_, ": the configuration is too large."));
    }
    uint32_t number = 0;
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      std::string_view raw = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++number;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      MAMORI_TRY(ParseLine(Line{raw, number}));
    }
    if (table_ != nullptr || skipping_table_) {
      return Fail(number, "COMMIT がないままファイルが終わりました。",
                  "the file ends without COMMIT.");
    }
    MarkChangingSets();
    for (const BaseChain& base : kForwardPath) {
      const Table* table = ruleset_.FindTable(base.table);
      if (table != nullptr && table->FindChain(base.chain) != nullptr) {
        ruleset_.base_chains.push_back(base);
      }
    }
    return std::move(ruleset_);
  }

 private:
  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    const std::string where = Cat(file_, ":", std::to_string(line), ": ");
    return Error::Invalid(Printable(Cat(where, ja)), Printable(Cat(where, en)));
  }

  SourceLocation Here(uint32_t line) const { return {std::string(file_), line}; }

  void ReportUnknown(uint32_t line, std::string_view construct) {
    ruleset_.unknown.push_back({Here(line), Printable(construct)});
  }

  // Splits a line into tokens_ (views into the line or, for quoted words, words_text_; both
  // reused from line to line: a rule set has hundreds of thousands of lines).
  Status Tokenize(const Line& line) {
    WordsError why{};
    if (!SplitWordViews(line.text, kMaxTokensPerLine, words_text_, tokens_, why)) {
      return Fail(line.number, why.ja, why.en);
    }
    return {};
  }

  Status ParseLine(const Line& line) {
    std::string_view s = line.text;
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    if (s.empty() || s.front() == '#') return {};
    if (Is(s, "COMMIT")) {
      if (table_ == nullptr && !skipping_table_) {
        return Fail(line.number, "対応する *table のない COMMIT です。",
                    "COMMIT without a *table line.");
      }
      table_ = nullptr;
      skipping_table_ = false;
      return {};
    }
    if (s.front() == '*') {
      if (table_ != nullptr || skipping_table_) {
        return Fail(line.number, "前の表が COMMIT で閉じられていません。",
                    "the previous table has no COMMIT.");
      }
      return StartTable(line.number, s.substr(1));
    }
    if (skipping_table_) return {};
    if (table_ == nullptr) {
      return Fail(line.number, "*table の前に規則があります。", "a rule before any *table line.");
    }
    if (s.front() == ':') return DeclareChain(line.number, s.substr(1));
    MAMORI_TRY(Tokenize(Line{s, line.number}));
    const std::vector<std::string_view>& tokens = tokens_;
    size_t i = 0;
    if (!tokens.empty() && tokens[0].starts_with('[')) ++i;  // iptables-save -c counters
    if (i + 1 < tokens.size() && (Is(tokens[i], "-A") || Is(tokens[i], "--append"))) {
      return AddRule(line.number, tokens, i + 1);
    }
    ReportUnknown(line.number, Cat("command ", i < tokens.size() ? tokens[i] : std::string_view()));
    return {};
  }

  // A set that `-j SET --add-set|--del-set` changes holds more or less at run time than its saved
  // content: every match on it may match.
  void MarkChangingSets() {
    for (const SetUse& use : set_uses_) {
      auto changed = changing_sets_.find(use.name);
      if (changed == changing_sets_.end()) continue;
      Rule& rule = ruleset_.tables[use.table].chains[use.chain].rules[use.rule];
      rule.matches[use.match] = MayMatch();
      const std::string where = Cat(file_, ":", std::to_string(changed->second));
      ReportUnknown(rule.location.line,
                    Cat("match -m set --match-set ", use.name,
                        " (the set is changed at run time by -j SET at ", where, ")"));
    }
  }

  Status StartTable(uint32_t line, std::string_view name) {
    for (const TableSpec& spec : kTables) {
      if (spec.name != name) continue;
      if (ruleset_.FindTable(name) != nullptr) {
        return Fail(line, Cat("表 ", name, " が 2 回あります。"),
                    Cat("table ", name, " appears twice."));
      }
      ruleset_.tables.push_back(Table{std::string(name), {}});
      table_ = &ruleset_.tables.back();
      chain_index_.clear();
      spec_ = &spec;
      return {};
    }
    ReportUnknown(line, Cat("table *", name, " (not on the forwarding path model)"));
    skipping_table_ = true;
    return {};
  }

  Status DeclareChain(uint32_t line, std::string_view rest) {
    const size_t space = rest.find(' ');
    const std::string_view name = rest.substr(0, space);
    std::string_view policy = space == std::string_view::npos ? "" : rest.substr(space + 1);
    policy = policy.substr(0, policy.find(' '));
    if (name.empty() || name.size() > 64 || Declared(name) != nullptr) {
      return Fail(line, Cat("チェーン ", name, " の宣言が不正か重複しています。"),
                  Cat("chain declaration ", name, " is invalid or repeated."));
    }
    Chain chain;
    chain.name = std::string(name);
    chain.location = Here(line);
    chain.builtin =
        std::find(spec_->builtins.begin(), spec_->builtins.end(), name) != spec_->builtins.end();
    if (chain.builtin && Is(policy, "ACCEPT")) {
      chain.policy = ActionKind::kAccept;
    } else if (chain.builtin && Is(policy, "DROP")) {
      chain.policy = ActionKind::kDrop;
    } else if (!chain.builtin && Is(policy, "-")) {
      chain.policy = ActionKind::kReturn;
    } else {
      return Fail(line,
                  Cat("チェーン ", name, " のポリシー ", policy,
                      " が不正です（組み込みチェーンは ACCEPT か DROP、ユーザー定義は -）。"),
                  Cat("chain ", name, ": policy ", policy,
                      " is invalid (ACCEPT or DROP for built-in chains, - for user chains)."));
    }
    chain_index_.emplace(chain.name, table_->chains.size());
    table_->chains.push_back(std::move(chain));
    return {};
  }

  // The chain of table_ named `name` (through chain_index_: a table has hundreds of chains, and
  // every jump names one); nullptr when none is declared.
  const Chain* Declared(std::string_view name) const {
    const auto found = chain_index_.find(name);
    return found != chain_index_.end() ? &table_->chains[found->second] : nullptr;
  }

  Status AddRule(uint32_t line, const std::vector<std::string_view>& tokens, size_t i) {
    if (++rule_count_ > kMaxRules) {
      return Fail(line, "規則が多すぎます。", "too many rules.");
    }
    const std::string_view chain_name = tokens[i++];
    // Rules come in runs of one chain: the last chain found is tried first (its name compared
    // costs less than its hash).
    if (last_chain_ >= table_->chains.size() || table_->chains[last_chain_].name != chain_name) {
      const auto found = chain_index_.find(chain_name);
      last_chain_ = found != chain_index_.end() ? found->second : table_->chains.size();
    }
    Chain* chain = last_chain_ < table_->chains.size() ? &table_->chains[last_chain_] : nullptr;
    if (chain == nullptr) {
      return Fail(line, Cat("チェーン ", chain_name, " は宣言されていません。"),
                  Cat("chain ", chain_name, " is not declared."));
    }
    Rule rule;
    rule.location = Here(line);
    rule_set_uses_.clear();
    MAMORI_TRY(ParseRule(line, tokens, i, rule));
    chain->rules.push_back(std::move(rule));
    for (auto& [match, name] : rule_set_uses_) {
      set_uses_.push_back({static_cast<size_t>(table_ - ruleset_.tables.data()),
                           static_cast<size_t>(chain - table_->chains.data()),
                           chain->rules.size() - 1, match, std::move(name)});
    }
    return {};
  }

  // Reads the value after option tokens[i]; fails when there is none.
  Result<std::string_view> Value(uint32_t line, const std::vector<std::string_view>& tokens,
                                 size_t& i) const {
    if (i + 1 >= tokens.size()) {
      return Fail(line, Cat(tokens[i], " の値がありません。"), Cat(tokens[i], " needs a value."));
    }
    return std::string_view(tokens[++i]);
  }

  Error BadValue(uint32_t line, std::string_view option, std::string_view value) const {
    return Fail(line, Cat(option, " の値 \"", value, "\" が不正です。"),
                Cat("invalid value \"", value, "\" for ", option, "."));
  }

  static void AddMay(Rule& rule) {
    Match m;
    m.kind = MatchKind::kMayMatch;
    rule.matches.push_back(std::move(m));
  }

  // Skips the values of an unmodelled option: the words up to the next option.
  static void SkipValues(const std::vector<std::string_view>& tokens, size_t& i) {
    while (i + 1 < tokens.size() && !tokens[i + 1].starts_with('-') && !Is(tokens[i + 1], "!")) ++i;
  }

  // How many matches the rule from tokens[i] makes, mostly: its options before the target, but
  // -m (which names a module and makes none unless the module is unmodelled). Reserving them
  // spares a rule its matches' reallocations, which move every match made so far.
  static size_t MatchesBefore(const std::vector<std::string_view>& tokens, size_t i) {
    size_t count = 0;
    for (; i < tokens.size(); ++i) {
      const std::string_view tok = tokens[i];
      if (tok.size() < 2 || tok[0] != '-') continue;
      if (Is(tok, "-j") || Is(tok, "--jump") || Is(tok, "-g") || Is(tok, "--goto")) break;
      if (!Is(tok, "-m") && !Is(tok, "--match")) ++count;
    }
    return count;
  }

  Status ParseRule(uint32_t line, const std::vector<std::string_view>& tokens, size_t i,
                   Rule& rule) {
    rule.matches.reserve(MatchesBefore(tokens, i));
    bool negate = false;
    std::string_view module;  // the module of the last -m, a word of this line
    bool module_known = true;
    bool have_target = false;
    for (; i < tokens.size(); ++i) {
      const std::string_view tok = tokens[i];
      if (Is(tok, "!")) {
        negate = true;
        continue;
      }
      Match m;
      m.negated = negate;
      negate = false;
      if (Is(tok, "-c") || Is(tok, "--set-counters")) {
        i += 2;
        continue;
      }
      if (Is(tok, "-s") || Is(tok, "--source") || Is(tok, "-d") || Is(tok, "--destination")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        m.kind = (Is(tok, "-s") || Is(tok, "--source")) ? MatchKind::kSrcAddress
                                                        : MatchKind::kDstAddress;
        // The parts between commas, as SplitComma gives them, read in place: nearly every rule
        // has an address, nearly always one.
        for (std::string_view rest = v;;) {
          const size_t comma = rest.find(',');
          std::optional<ValueTerm> term = AddressTerm(rest.substr(0, comma));
          if (!term) return BadValue(line, tok, v);
          m.terms.push_back(*term);
          if (comma == std::string_view::npos) break;
          rest.remove_prefix(comma + 1);
        }
      } else if (Is(tok, "-p") || Is(tok, "--protocol")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        m.kind = MatchKind::kProtocol;
        if (Is(v, "all") || Is(v, "0")) {
          m.terms.push_back(ValueTerm::Range(0, 255));
        } else {
          std::optional<uint64_t> number = ProtocolNumber(v);
          if (!number) return BadValue(line, tok, v);
          m.terms.push_back(ValueTerm::Range(*number, *number));
        }
      } else if (Is(tok, "-i") || Is(tok, "--in-interface") || Is(tok, "-o") ||
                 Is(tok, "--out-interface")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        m.kind = (Is(tok, "-i") || Is(tok, "--in-interface")) ? MatchKind::kInInterface
                                                              : MatchKind::kOutInterface;
        if (v.empty() || v.size() > 64 ||
            !std::all_of(v.begin(), v.end(), [](char c) { return c > ' ' && c < 127; })) {
          return BadValue(line, tok, v);
        }
        m.interfaces.emplace_back(v);
      } else if (Is(tok, "-f") || Is(tok, "--fragment")) {
        m.kind = MatchKind::kConstant;  // a first packet is never a non-first fragment
        m.constant = false;
      } else if (Is(tok, "-m") || Is(tok, "--match")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        MAMORI_TRY(EndSetMatch(line, rule));
        set_ = SetOptions{Is(v, "set")};
        module = v;
        module_known =
            std::find(kKnownModules.begin(), kKnownModules.end(), v) != kKnownModules.end();
        if (!module_known) {
          ReportUnknown(line, Cat("match -m ", v));
          AddMay(rule);
        }
        continue;
      } else if (Is(tok, "-j") || Is(tok, "--jump") || Is(tok, "-g") || Is(tok, "--goto")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        MAMORI_TRY(EndSetMatch(line, rule));
        MAMORI_TRY(ParseTarget(line, Is(tok, "-g") || Is(tok, "--goto"), v, tokens, i + 1, rule));
        have_target = true;
        break;
      } else if (tok.size() > 2 && tok[0] == '-' && tok[1] == '-') {
        if (!module_known) {  // options of an unmodelled module: already reported
          SkipValues(tokens, i);
          continue;
        }
        if (set_.active) {
          MAMORI_ASSIGN_OR_RETURN(bool handled, ParseSetOption(line, tokens, i, m.negated));
          if (handled) continue;
        }
        MAMORI_ASSIGN_OR_RETURN(bool handled, ParseModuleOption(line, module, tokens, i, m));
        if (!handled) {
          ReportUnknown(line,
                        Cat("match option ", module.empty() ? "" : Cat("-m ", module, " "), tok));
          SkipValues(tokens, i);
          AddMay(rule);
          continue;
        }
        if (m.kind == MatchKind::kMayMatch) {  // nondeterministic, e.g. -m limit
          rule.matches.push_back(std::move(m));
          continue;
        }
      } else {
        return Fail(line, Cat("規則の語 \"", tok, "\" を解釈できません。"),
                    Cat("cannot read the rule word \"", tok, "\"."));
      }
      rule.matches.push_back(std::move(m));
    }
    MAMORI_TRY(EndSetMatch(line, rule));
    if (!have_target) {
      rule.action.kind = ActionKind::kContinue;  // a rule without -j only counts packets
    }
    return {};
  }

  // Reads an option of -m set into set_. Returns false for the options read elsewhere (the
  // packet and byte counter conditions: not modelled).
  Result<bool> ParseSetOption(uint32_t line, const std::vector<std::string_view>& tokens, size_t& i,
                              bool negated) {
    const std::string_view tok = tokens[i];
    if (Is(tok, "--match-set") || Is(tok, "--set")) {
      if (set_.have) {
        return Fail(line, "--match-set は 1 つの -m set に 1 回だけです。",
                    "--match-set can be given only once per -m set.");
      }
      MAMORI_ASSIGN_OR_RETURN(std::string_view name, Value(line, tokens, i));
      MAMORI_ASSIGN_OR_RETURN(std::string_view flags_text, Value(line, tokens, i));
      MAMORI_TRY(CheckSetName(line, name));
      std::optional<std::vector<SetDirection>> flags = SetFlags(flags_text);
      if (!flags) return BadValue(line, tok, Cat(name, " ", flags_text));
      set_.have = true;
      set_.name = std::string(name);
      set_.flags = std::move(*flags);
      set_.negated = negated;
      return true;
    }
    if (Is(tok, "--return-nomatch")) {
      set_.return_nomatch = true;
      return true;
    }
    // Whether the set's counters are updated does not change what matches.
    return Is(tok, "--update-counters") || Is(tok, "--update-subcounters");
  }

  Status CheckSetName(uint32_t line, std::string_view name) const {
    if (ipsets_ != nullptr && ipsets_->Contains(name)) return {};
    return Fail(line,
                Cat("集合 ", name, " は",
                    ipsets_ == nullptr ? "ありません（機器に ipset ファイルが指定されていません）。"
                                       : " ipset ファイルにありません。"),
                Cat("set ", name,
                    ipsets_ == nullptr ? " is not defined (the device has no ipset file)."
                                       : " is not defined in the ipset file."));
  }

  // Ends the -m set being read, if any: its match goes into `rule`.
  Status EndSetMatch(uint32_t line, Rule& rule) {
    if (!set_.active) return {};
    SetOptions set = std::move(set_);
    set_ = SetOptions{};
    if (!set.have) {
      return Fail(line, "-m set に --match-set がありません。", "-m set needs --match-set.");
    }
    auto key = std::tuple{set.name, set.flags, set.return_nomatch};
    auto cached = set_matches_.find(key);
    if (cached == set_matches_.end()) {
      Result<SetMatch> made = ipsets_->Match(set.name, set.flags, set.return_nomatch);
      if (!made.ok()) return Fail(line, made.error().message, made.error().message_en);
      cached = set_matches_.emplace(std::move(key), std::move(*made)).first;
    }
    const SetMatch& made = cached->second;
    if (!made.unknown.empty()) {
      ReportUnknown(line, Cat("match -m set --match-set ", set.name, " (", made.unknown, ")"));
      AddMay(rule);
      return {};
    }
    Match m;
    m.kind = MatchKind::kHeaderSet;
    m.negated = set.negated;
    m.header_set = made.set;
    rule_set_uses_.emplace_back(rule.matches.size(), set.name);
    rule.matches.push_back(std::move(m));
    return {};
  }

  // Fills `m` from the module option tokens[i]. Returns false when the option is not modelled.
  Result<bool> ParseModuleOption(uint32_t line, std::string_view module,
                                 const std::vector<std::string_view>& tokens, size_t& i, Match& m) {
    const std::string_view tok = tokens[i];
    if (Is(tok, "--sport") || Is(tok, "--source-port") || Is(tok, "--dport") ||
        Is(tok, "--destination-port")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      m.kind = (Is(tok, "--sport") || Is(tok, "--source-port")) ? MatchKind::kSrcPort
                                                                : MatchKind::kDstPort;
      std::optional<ValueTerm> range = PortRange(v, ':');
      if (!range) return BadValue(line, tok, v);
      m.terms.push_back(*range);
      return true;
    }
    if (Is(tok, "--sports") || Is(tok, "--source-ports") || Is(tok, "--dports") ||
        Is(tok, "--destination-ports") || Is(tok, "--ports")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      m.kind = Is(tok, "--ports")                                   ? MatchKind::kEitherPort
               : (Is(tok, "--sports") || Is(tok, "--source-ports")) ? MatchKind::kSrcPort
                                                                    : MatchKind::kDstPort;
      const auto parts = SplitComma(v);
      if (parts.size() > kMaxListItems) return BadValue(line, tok, v);
      for (std::string_view part : parts) {
        std::optional<ValueTerm> range = PortRange(part, ':');
        if (!range) return BadValue(line, tok, v);
        m.terms.push_back(*range);
      }
      return true;
    }
    if (Is(tok, "--ctstate") || Is(tok, "--state")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      std::optional<uint32_t> states = ConnStates(v);
      if (!states) return BadValue(line, tok, v);
      m.kind = MatchKind::kConnState;
      m.conn_states = *states;
      return true;
    }
    if (Is(tok, "--src-range") || Is(tok, "--dst-range")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      std::optional<ValueTerm> range = AddressRange(v);
      if (!range) return BadValue(line, tok, v);
      m.kind = Is(tok, "--src-range") ? MatchKind::kSrcAddress : MatchKind::kDstAddress;
      m.terms.push_back(*range);
      return true;
    }
    if (Is(tok, "--icmp-type")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      m.kind = MatchKind::kIcmpType;
      if (Is(v, "any")) {
        m.terms.push_back(ValueTerm::Range(0, 255));
        return true;
      }
      if (v.find('/') != std::string_view::npos) {
        return false;  // ICMP codes are not modelled
      }
      std::optional<uint64_t> type = IcmpTypeNumber(v);
      if (!type) {
        return false;  // a named type/code pair such as "port-unreachable"
      }
      m.terms.push_back(ValueTerm::Range(*type, *type));
      return true;
    }
    if (Is(tok, "--syn")) {
      m.kind = MatchKind::kConstant;
      m.constant = !m.negated;
      m.negated = false;
      return true;
    }
    if (Is(tok, "--tcp-flags")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view mask_text, Value(line, tokens, i));
      MAMORI_ASSIGN_OR_RETURN(std::string_view comp_text, Value(line, tokens, i));
      std::optional<uint32_t> mask = TcpFlags(mask_text);
      std::optional<uint32_t> comp = TcpFlags(comp_text);
      if (!mask || !comp) return BadValue(line, tok, Cat(mask_text, " ", comp_text));
      m.kind = MatchKind::kConstant;
      m.constant = ((kSynOnly & *mask) == *comp) != m.negated;
      m.negated = false;
      return true;
    }
    if (Is(tok, "--comment")) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      (void)v;
      m.kind = MatchKind::kConstant;
      m.constant = true;
      m.always = true;
      m.negated = false;
      return true;
    }
    if (Is(module, "limit") && (Is(tok, "--limit") || Is(tok, "--limit-burst"))) {
      MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
      (void)v;
      m.kind = MatchKind::kMayMatch;  // a rate limit lets some first packets through
      return true;
    }
    return false;
  }

  static bool IsHarmless(std::string_view target) {
    return std::find(kHarmlessTargets.begin(), kHarmlessTargets.end(), target) !=
           kHarmlessTargets.end();
  }

  // "10.0.0.5", "10.0.0.5-10.0.0.9", "10.0.0.5:8080", "10.0.0.5:8000-8010", ":8080".
  std::optional<NatTarget> ParseNatTarget(std::string_view v) const {
    NatTarget nat;
    const size_t colon = v.find(':');
    const std::string_view address = v.substr(0, colon);
    if (!address.empty()) {
      std::optional<ValueTerm> range = AddressRange(address);
      if (!range) return std::nullopt;
      nat.address = *range;
    }
    if (colon != std::string_view::npos) {
      std::optional<ValueTerm> port = PortRange(v.substr(colon + 1), '-');
      if (!port) return std::nullopt;
      nat.port = *port;
    }
    if (!nat.address && !nat.port) return std::nullopt;
    return nat;
  }

  Status ParseTarget(uint32_t line, bool is_goto, std::string_view target,
                     const std::vector<std::string_view>& tokens, size_t i, Rule& rule) {
    Action& action = rule.action;
    action.target = std::string(target);
    if (const Chain* chain = Declared(target); chain != nullptr) {
      if (chain->builtin) {
        return Fail(line, Cat("組み込みチェーン ", target, " へは飛べません。"),
                    Cat("cannot jump to the built-in chain ", target, "."));
      }
      action.kind = is_goto ? ActionKind::kGoto : ActionKind::kJump;
      action.chain = std::string(target);
      return i < tokens.size() ? Fail(line, "チェーンへの飛び先の後に余分な語があります。",
                                      "extra words after a chain target.")
                               : Status();
    }
    if (is_goto) {
      return Fail(line, Cat("チェーン ", target, " は宣言されていません。"),
                  Cat("chain ", target, " is not declared."));
    }
    std::optional<std::string_view> to;
    bool unmodelled_option = false;
    bool maps_set = false;
    for (; i < tokens.size(); ++i) {
      const std::string_view tok = tokens[i];
      if (Is(target, "SET") &&
          (Is(tok, "--add-set") || Is(tok, "--del-set") || Is(tok, "--map-set"))) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view name, Value(line, tokens, i));
        MAMORI_ASSIGN_OR_RETURN(std::string_view flags, Value(line, tokens, i));
        MAMORI_TRY(CheckSetName(line, name));
        if (!SetFlags(flags)) return BadValue(line, tok, Cat(name, " ", flags));
        if (Is(tok, "--map-set")) {
          maps_set = true;
        } else {
          changing_sets_.emplace(std::string(name), line);
        }
      } else if (Is(tok, "--to-destination") || Is(tok, "--to-source") || Is(tok, "--to-ports") ||
                 Is(tok, "--to")) {
        MAMORI_ASSIGN_OR_RETURN(std::string_view v, Value(line, tokens, i));
        if (to) unmodelled_option = true;  // several ranges: old kernels only
        to = v;
      } else if (Is(tok, "--random") || Is(tok, "--persistent") || Is(tok, "--random-fully")) {
      } else if (Is(target, "DNAT") || Is(target, "SNAT") || Is(target, "MASQUERADE") ||
                 Is(target, "REDIRECT")) {
        unmodelled_option = true;
        SkipValues(tokens, i);
      } else {
        SkipValues(tokens, i);  // options of LOG, REJECT, MARK, …
      }
    }
    if (Is(target, "ACCEPT")) {
      action.kind = ActionKind::kAccept;
    } else if (Is(target, "DROP")) {
      action.kind = ActionKind::kDrop;
    } else if (Is(target, "REJECT")) {
      action.kind = ActionKind::kReject;
    } else if (Is(target, "RETURN")) {
      action.kind = ActionKind::kReturn;
    } else if (IsHarmless(target) || (Is(target, "SET") && !maps_set)) {
      // -j SET --add-set|--del-set changes a set, not the packet (MarkChangingSets).
      action.kind = ActionKind::kContinue;
    } else if (Is(target, "MASQUERADE")) {
      action.kind = ActionKind::kMasquerade;
    } else if (Is(target, "DNAT") || Is(target, "SNAT") || Is(target, "REDIRECT")) {
      action.kind = Is(target, "DNAT")   ? ActionKind::kDnat
                    : Is(target, "SNAT") ? ActionKind::kSnat
                                         : ActionKind::kRedirect;
      if (to) {
        std::optional<NatTarget> nat =
            Is(target, "REDIRECT") ? ParseNatTarget(Cat(":", *to)) : ParseNatTarget(*to);
        if (!nat) return BadValue(line, Cat("-j ", target), *to);
        action.nat = *nat;
      } else if (!Is(target, "REDIRECT")) {
        return Fail(line, Cat(target, " に --to がありません。"), Cat(target, " needs --to."));
      }
    } else {
      action.kind = ActionKind::kUnknown;
      ReportUnknown(line, Cat("target -j ", target));
      return {};
    }
    if (unmodelled_option) {
      ReportUnknown(line, Cat("target -j ", target, " option"));
    }
    return {};
  }

  // The -m set being read (the options of one -m set may come in any order).
  struct SetOptions {
    bool active = false;  // inside -m set
    bool have = false;    // --match-set seen
    std::string name;
    std::vector<SetDirection> flags;
    bool negated = false;
    bool return_nomatch = false;
  };
  // A kHeaderSet match: table, chain, rule and match indices, and the set's name.
  struct SetUse {
    size_t table;
    size_t chain;
    size_t rule;
    size_t match;
    std::string name;
  };

  std::string_view file_;
  const Ipsets* ipsets_;
  SetOptions set_;
  std::map<std::tuple<std::string, std::vector<SetDirection>, bool>, SetMatch> set_matches_;
  std::vector<std::pair<size_t, std::string>> rule_set_uses_;  // of the rule being read
  std::vector<SetUse> set_uses_;
  std::map<std::string, uint32_t> changing_sets_;  // set → line of a -j SET that changes it
  Ruleset ruleset_;
  Table* table_ = nullptr;  // the table being read, inside ruleset_.tables
  std::unordered_map<std::string, size_t, WordHash, std::equal_to<>>
      chain_index_;                       // table_'s chains by name, found by a token's view
  std::string words_text_;                // the current line's unquoted words (Tokenize)
  std::vector<std::string_view> tokens_;  // the current line's words
  const TableSpec* spec_ = nullptr;
  size_t last_chain_ = 0;  // AddRule: the index in table_->chains of the last rule's chain
  bool skipping_table_ = false;
  size_t rule_count_ = 0;
};

}  // namespace

Result<Ruleset> ParseIptablesSave(std::string_view text, std::string_view file,
                                  std::string_view device, const Ipsets* ipsets) {
  Parser parser(file, device, ipsets);
  return parser.Parse(text);
}

}  // namespace mamori::netsep
