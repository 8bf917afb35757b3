#include "monitor/sigma_match.h"

#include <arpa/inet.h>
#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "monitor/text_util.h"
#include "netsep/ruleset.h"

namespace mamori::monitor::sigma {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The index after the UTF-8 code point that starts at `i` (one byte for invalid UTF-8).
size_t NextCodePoint(std::string_view text, size_t i) {
  ++i;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return i;
}

bool GlobMatch(std::string_view glob, const std::vector<uint8_t>& kinds, std::string_view text) {
  // Greedy matching with backtracking to the last star: no recursion, O(|glob|·|text|) at worst.
  constexpr size_t kNone = std::string_view::npos;
  size_t p = 0, t = 0, star = kNone, resume = 0;
  while (t < text.size()) {
    if (p < glob.size()) {
      if (kinds[p] == Pattern::kStar) {
        star = p++;
        resume = t;
        continue;
      }
      if (kinds[p] == Pattern::kOne) {
        ++p;
        t = NextCodePoint(text, t);
        continue;
      }
      if (glob[p] == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star == kNone) return false;
    p = star + 1;
    resume = NextCodePoint(text, resume);
    t = resume;
  }
  while (p < glob.size() && kinds[p] == Pattern::kStar) ++p;
  return p == glob.size();
}

bool PrefixContains(const std::array<uint8_t, 16>& network, int length, const uint8_t* address) {
  int bits = length;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
    if ((address[i] & mask) != network[i]) return false;
  }
  return true;
}

std::optional<uint32_t> AddressOf(EventField field, std::string_view text, const Event& e) {
  if (field == EventField::kSrcIp && e.src.is_v4 && e.src.text == text) return e.src.v4;
  if (field == EventField::kDstIp && e.dst.is_v4 && e.dst.text == text) return e.dst.v4;
  return netsep::ParseIpv4(text);
}

// `hits` = {bits} (a set of at most 64 expressions), without reallocating.
void SetOne(std::vector<uint64_t>& hits, uint64_t bits) {
  if (hits.size() == 1) {
    hits[0] = bits;
  } else {
    hits.assign(1, bits);
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Pattern Pattern::Parse(std::string_view text, bool lower) {
  Pattern p;
  bool has_one = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    uint8_t kind = kLiteral;
    if (c == '\\' && i + 1 < text.size() &&
        (text[i + 1] == '*' || text[i + 1] == '?' || text[i + 1] == '\\')) {
      c = text[++i];
    } else if (c == '*') {
      kind = kStar;
      if (!p.kinds.empty() && p.kinds.back() == kStar) continue;  // "**" is "*"
    } else if (c == '?') {
      kind = kOne;
      has_one = true;
    }
    p.glob.push_back(lower && kind == kLiteral ? Lower(c) : c);
    p.kinds.push_back(kind);
  }
  // The common shapes get fast paths: "x", "x*", "*x", "*x*".
  size_t stars = 0;
  for (uint8_t kind : p.kinds) stars += kind == kStar;
  const bool lead = !p.kinds.empty() && p.kinds.front() == kStar;
  const bool trail = p.kinds.size() > 1 && p.kinds.back() == kStar;
  if (!has_one && stars == size_t{lead} + size_t{trail}) {
    p.literal = p.glob.substr(lead ? 1 : 0, p.glob.size() - stars);
    p.shape = lead && trail ? Shape::kContains
              : lead        ? (p.glob.size() == 1 ? Shape::kContains : Shape::kSuffix)
              : trail       ? Shape::kPrefix
                            : Shape::kExact;
    p.glob.clear();
    p.kinds.clear();
  } else {
    p.shape = Shape::kGlob;
  }
  return p;
}

bool Pattern::Matches(std::string_view text) const {
  switch (shape) {
    case Shape::kExact:
      return text == literal;
    case Shape::kPrefix:
      return text.starts_with(literal);
    case Shape::kSuffix:
      return text.ends_with(literal);
    case Shape::kContains: {  // the texts are short: a search from each first byte is cheapest
      // string_view::find's answer, without its calls per candidate position.
      const size_t n = literal.size();
      if (n == 0) return true;
      if (text.size() < n) return false;
      const char first = literal[0];
      const char* const rest = literal.data() + 1;
      for (size_t i = 0; i + n <= text.size(); ++i) {
        if (text[i] == first && std::memcmp(text.data() + i + 1, rest, n - 1) == 0) return true;
      }
      return false;
    }
    case Shape::kGlob:
      return GlobMatch(glob, kinds, text);
  }
  return false;
}

std::optional<std::string> UnescapedLiteral(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
      out.push_back(value[++i]);
    } else if (c == '*' || c == '?') {
      return std::nullopt;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// The atoms of `patterns` (as the set compiles them, with `options`) as AtomWindows, or none
// (window 0) when the atoms cannot turn any text away. FilteredRE2 gives each expression a
// formula over its atoms (ANDs and ORs: monotone) that holds for the atoms a text holds whenever
// the expression matches the text. Atoms shorter than the window cannot be looked for, so they
// are taken as present: if no expression is potential with all the short atoms present and no
// long one, every match needs a long atom in the text (by monotony), and a text without one is
// turned away. Longer windows (8 bytes) are tried first: fewer texts share one by chance.
AtomWindows WindowsOf(std::vector<std::string> patterns, const RE2::Options& options) {
  AtomWindows out;
  // Each rule adds its expression once per input format it is compiled for: one is enough.
  std::sort(patterns.begin(), patterns.end());
  patterns.erase(std::unique(patterns.begin(), patterns.end()), patterns.end());
  re2::FilteredRE2 filter(/*min_atom_len=*/1);
  for (const std::string& pattern : patterns) {
    int id = 0;
    if (filter.Add(pattern, options, &id) != RE2::NoError) return out;
  }
  if (patterns.empty()) return out;  // FilteredRE2 logs an error when compiled empty
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  for (const int window : {8, 4}) {
    std::vector<int> short_atoms, potential;
    for (size_t i = 0; i < atoms.size(); ++i) {
      if (atoms[i].size() < static_cast<size_t>(window)) short_atoms.push_back(static_cast<int>(i));
    }
    filter.AllPotentials(short_atoms, &potential);
    if (!potential.empty() || short_atoms.size() == atoms.size()) continue;
    out.window = window;
    size_t shortest = SIZE_MAX;
    for (const std::string& atom : atoms) {
      if (atom.size() < static_cast<size_t>(window)) continue;
      shortest = std::min(shortest, atom.size());
      for (size_t i = 0; i + static_cast<size_t>(window) <= atom.size(); ++i) {
        out.Insert(out.Key(atom.data() + i));
      }
    }
    out.stride = shortest - static_cast<size_t>(window) + 1;
    return out;
  }
  return out;
}

RE2::Options SetOptions() {
  RE2::Options options;  // as each expression was compiled (flags are in the pattern)
  options.set_log_errors(false);
  options.set_max_mem(int64_t{8} << 20);
  return options;
}

}  // namespace

struct RegexSets::Sets {
  std::array<std::unique_ptr<RE2::Set>, kEventFieldCount> set;
  std::array<size_t, kEventFieldCount> count{};
  std::array<std::vector<std::string>, kEventFieldCount> patterns;  // until Compile
  std::array<AtomWindows, 2> windows;                               // src_ip, dst_ip
  std::vector<std::pair<Matcher*, EventField>> added;               // until Compile
};

RegexSets::RegexSets() : sets_(std::make_unique<Sets>()) {}
RegexSets::~RegexSets() = default;
RegexSets::RegexSets(RegexSets&&) noexcept = default;
RegexSets& RegexSets::operator=(RegexSets&&) noexcept = default;

void RegexSets::Add(EventField field, Matcher& m) {
  if (m.op != Matcher::Op::kRegex || m.regex == nullptr) return;
  const auto f = static_cast<size_t>(field);
  std::unique_ptr<RE2::Set>& set = sets_->set[f];
  if (set == nullptr) set = std::make_unique<RE2::Set>(SetOptions(), RE2::UNANCHORED);
  const int slot = set->Add(m.regex->pattern(), nullptr);
  if (slot < 0) return;
  m.regex_slot = slot;
  ++sets_->count[f];
  sets_->patterns[f].push_back(m.regex->pattern());
  sets_->added.emplace_back(&m, field);
}

void RegexSets::Compile() {
  for (size_t f = 0; f < kEventFieldCount; ++f) {
    if (sets_->set[f] != nullptr && !sets_->set[f]->Compile()) {
      sets_->set[f].reset();
      sets_->count[f] = 0;
    }
  }
  for (auto [m, field] : sets_->added) {  // matchers of a dropped set are matched alone
    if (sets_->set[static_cast<size_t>(field)] == nullptr) m->regex_slot = -1;
  }
  sets_->added.clear();
  sets_->added.shrink_to_fit();
  for (EventField field : {EventField::kSrcIp, EventField::kDstIp}) {
    const auto f = static_cast<size_t>(field);
    if (sets_->set[f] != nullptr) {
      sets_->windows[field == EventField::kSrcIp ? 0 : 1] =
          WindowsOf(std::move(sets_->patterns[f]), SetOptions());
    }
  }
  for (auto& patterns : sets_->patterns) patterns = {};
}

const AtomWindows* RegexSets::AddressWindows(EventField field) const {
  if (field != EventField::kSrcIp && field != EventField::kDstIp) return nullptr;
  const AtomWindows& windows = sets_->windows[field == EventField::kSrcIp ? 0 : 1];
  return windows.window != 0 ? &windows : nullptr;
}

bool RegexSets::MayMatchDottedQuad(EventField field, std::string_view text) const {
  if (field != EventField::kSrcIp && field != EventField::kDstIp) return true;
  return sets_->windows[field == EventField::kSrcIp ? 0 : 1].MayHoldAtom(text);
}

bool RegexSets::Match(EventField field, std::string_view text, std::vector<int>& hits) const {
  hits.clear();
  const RE2::Set* set = sets_->set[static_cast<size_t>(field)].get();
  if (set == nullptr) return false;
  RE2::Set::ErrorInfo error;
  // Most texts match no expression. Asked only whether any matches, RE2 allocates nothing
  // (asked which, it allocates a set of the matches each call) and stops at the first match;
  // the expressions that match are asked for only then.
  if (!set->Match(text, nullptr, &error)) {
    return error.kind == RE2::Set::kNoError;  // no expression matches
  }
  if (set->Match(text, &hits, &error)) return true;
  return error.kind == RE2::Set::kNoError;
}

size_t RegexSets::size(EventField field) const { return sets_->count[static_cast<size_t>(field)]; }

bool MatchContext::RunSet(EventField field, std::string_view text) {
  const auto f = static_cast<size_t>(field);
  if (regex_generation_[f] == generation_) return !regex_failed_[f];
  regex_generation_[f] = generation_;
  const size_t size = regex_sets_->size(field);
  std::vector<uint64_t>& hits = regex_hits_[f];
  Memo* memo = nullptr;
  Memo4* memo4 = nullptr;
  const Address* address = field == EventField::kSrcIp   ? &event_->src
                           : field == EventField::kDstIp ? &event_->dst
                                                         : nullptr;
  // The detector passes the event's own address text: the same view, no bytes to compare.
  const bool own_text =
      address != nullptr &&
      ((address->text.data() == text.data() && address->text.size() == text.size()) ||
       address->text == text);
  if (memo_on_ && size <= 64 && own_text && address->is_v4) {
    // An event's IPv4 address is a canonical dotted quad (SetAddress): its text and its number
    // determine each other, so the number is the key (a smaller table than the texts').
    std::vector<Memo4>& table = memo4_[field == EventField::kSrcIp ? 0 : 1];
    if (table.empty()) table.resize(kMemo4Slots);
    memo4 = &table[Memo4Slot(address->v4)];
    if (memo4->used && memo4->address == address->v4) {
      SetOne(hits, memo4->bits);
      regex_failed_[f] = false;
      return true;
    }
  } else if (memo_on_ && size <= 64 && text.size() <= kMemoMaxText) {
    std::vector<Memo>& table = memo_[f];
    if (table.empty()) table.resize(kMemoSlots);
    memo = &table[QuickHash(text) & (kMemoSlots - 1)];
    if (memo->length == text.size() + 1 && std::memcmp(memo->text, text.data(), text.size()) == 0) {
      SetOne(hits, memo->bits);
      regex_failed_[f] = false;
      return true;
    }
  }
  if (memo4 != nullptr && !regex_sets_->MayMatchDottedQuad(field, text)) {
    hit_indices_.clear();  // the set's answer for an address none of its atoms is in
    regex_failed_[f] = false;
  } else {
    regex_failed_[f] = !regex_sets_->Match(field, text, hit_indices_);
    if (regex_failed_[f]) return false;
  }
  if (size <= 64) {  // one word, without reallocating
    uint64_t bits = 0;
    for (int i : hit_indices_) bits |= uint64_t{1} << i;
    SetOne(hits, bits);
  } else {
    hits.assign((size + 63) / 64, 0);
    for (int i : hit_indices_) hits[static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64);
  }
  if (memo4 != nullptr) *memo4 = {address->v4, 1, hits.empty() ? 0 : hits[0]};
  if (memo != nullptr) {
    memo->bits = hits.empty() ? 0 : hits[0];
    memo->length = static_cast<uint8_t>(text.size() + 1);
    std::memcpy(memo->text, text.data(), text.size());
  }
  return true;
}

bool MatchContext::RegexMatches(const Matcher& m, EventField field, std::string_view text) {
  if (m.regex_slot < 0 || regex_sets_ == nullptr || !RunSet(field, text)) {
    return RE2::PartialMatch(text, *m.regex);
  }
  const auto slot = static_cast<size_t>(m.regex_slot);
  return (regex_hits_[static_cast<size_t>(field)][slot / 64] >> (slot % 64) & 1) != 0;
}

bool MatchContext::RegexBits(EventField field, std::string_view text, uint64_t& bits) {
  // The commonest answer first: the memo's for an IPv4 address seen before (the event's own
  // address text, as the detector passes it). The memo holds answers of sets of at most 64.
  if (field == EventField::kSrcIp || field == EventField::kDstIp) {
    const bool src = field == EventField::kSrcIp;
    const Address& address = src ? event_->src : event_->dst;
    if (text.data() == address.text.data() && text.size() == address.text.size() &&
        AddressBits(src, bits)) {
      return true;
    }
  }
  if (regex_sets_ == nullptr || regex_sets_->size(field) > 64 || !RunSet(field, text)) {
    return false;
  }
  const std::vector<uint64_t>& hits = regex_hits_[static_cast<size_t>(field)];
  bits = hits.empty() ? 0 : hits[0];
  return true;
}

std::string_view MatchContext::Lowered(EventField field, std::string_view text) {
  // The event's own IPv4 address text is a dotted quad (SetAddress): digits and dots, its own
  // lower case, known without a look at its characters.
  if (field == EventField::kSrcIp || field == EventField::kDstIp) {
    const Address& address = field == EventField::kSrcIp ? event_->src : event_->dst;
    if (address.is_v4 && text.data() == address.text.data() && text.size() == address.text.size()) {
      return text;
    }
  }
  const auto index = static_cast<size_t>(field);
  if (lowered_generation_[index] != generation_) {
    lowered_generation_[index] = generation_;
    // Most texts (addresses, lower-case names) have no capital letter: they are their own
    // lower case, not copied.
    if (std::none_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      lowered_view_[index] = text;
    } else {
      std::string& buffer = lowered_[index];
      buffer.assign(text);
      for (char& c : buffer) c = Lower(c);
      lowered_view_[index] = buffer;
    }
  }
  return lowered_view_[index];
}

bool Match(const Matcher& m, const FieldValue& value, EventField field, MatchContext& context) {
  const bool absent = value.kind == FieldValue::Kind::kAbsent;
  const bool is_number = value.kind == FieldValue::Kind::kNumber;
  switch (m.op) {
    case Matcher::Op::kNull:
    case Matcher::Op::kNotExists:
      return absent;
    case Matcher::Op::kExists:
      return !absent;
    case Matcher::Op::kNumber:
      return is_number ? value.number == m.number : !absent && value.text == m.text_equal;
    case Matcher::Op::kCidr4: {
      if (absent || is_number) return false;
      const std::optional<uint32_t> address = AddressOf(field, value.text, context.event());
      return address && (*address & m.v4_mask) == m.v4_network;
    }
    case Matcher::Op::kCidr6: {
      std::array<uint8_t, 16> address;
      if (absent || is_number || value.text.find(':') == std::string_view::npos ||
          !ParseIpv6(value.text, address)) {
        return false;
      }
      return PrefixContains(m.network, m.prefix_length, address.data());
    }
    case Matcher::Op::kLess:
    case Matcher::Op::kLessEqual:
    case Matcher::Op::kGreater:
    case Matcher::Op::kGreaterEqual: {
      if (absent) return false;
      const std::optional<double> number =
          is_number ? std::optional<double>(static_cast<double>(value.number))
                    : ParseNumber(value.text);
      if (!number) return false;
      switch (m.op) {
        case Matcher::Op::kLess:
          return *number < m.bound;
        case Matcher::Op::kLessEqual:
          return *number <= m.bound;
        case Matcher::Op::kGreater:
          return *number > m.bound;
        default:
          return *number >= m.bound;
      }
    }
    case Matcher::Op::kPattern:
    case Matcher::Op::kRegex:
    case Matcher::Op::kFieldRef:
      break;
  }
  if (absent) return false;
  // Text tests: numbers are compared as their decimal text.
  char digits[24];
  std::string_view text = value.text;
  if (is_number) {
    const auto end = std::to_chars(digits, digits + sizeof digits, value.number).ptr;
    text = std::string_view(digits, static_cast<size_t>(end - digits));
  }
  if (m.op == Matcher::Op::kPattern) {
    return m.pattern.Matches(m.cased || is_number ? text : context.Lowered(field, text));
  }
  if (m.op == Matcher::Op::kRegex) return context.RegexMatches(m, field, text);
  // kFieldRef: the other field's value as the needle.
  const FieldValue other = GetField(context.event(), m.ref_field);
  if (other.kind == FieldValue::Kind::kAbsent) return false;
  char other_digits[24];
  std::string_view needle = other.text;
  if (other.kind == FieldValue::Kind::kNumber) {
    const auto end =
        std::to_chars(other_digits, other_digits + sizeof other_digits, other.number).ptr;
    needle = std::string_view(other_digits, static_cast<size_t>(end - other_digits));
  }
  switch (m.pattern.shape) {
    case Pattern::Shape::kPrefix:
      return m.cased ? text.starts_with(needle)
                     : text.size() >= needle.size() &&
                           EqualsIgnoreCase(text.substr(0, needle.size()), needle);
    case Pattern::Shape::kSuffix:
      return m.cased ? text.ends_with(needle)
                     : text.size() >= needle.size() &&
                           EqualsIgnoreCase(text.substr(text.size() - needle.size()), needle);
    case Pattern::Shape::kContains: {
      if (m.cased) return text.find(needle) != std::string_view::npos;
      for (size_t i = 0; i + needle.size() <= text.size(); ++i) {
        if (EqualsIgnoreCase(text.substr(i, needle.size()), needle)) return true;
      }
      return false;
    }
    default:
      return m.cased ? text == needle : EqualsIgnoreCase(text, needle);
  }
}

std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value != value) return std::nullopt;  // NaN
  return value;
}

namespace {

// `text` as canonical octets ("10.20.2": each of 1 to 3 digits, no leading zero, at most 255)
// separated by single dots, appended to `octets`; false when it is not that.
bool CanonicalOctets(std::string_view text, std::vector<uint32_t>& octets) {
  size_t i = 0;
  while (true) {
    const size_t start = i;
    uint32_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || (digits > 1 && text[start] == '0') || value > 255) return false;
    octets.push_back(value);
    if (i == text.size()) return true;
    if (text[i] != '.') return false;
    ++i;
  }
}

}  // namespace

std::optional<DottedQuadRange> DottedQuadRangeOf(const Pattern& pattern) {
  std::string_view text = pattern.literal;
  size_t first = 0;  // the octet (0: the highest) the pattern's first octet must be
  switch (pattern.shape) {
    case Pattern::Shape::kExact:
      break;
    case Pattern::Shape::kPrefix:  // "a.b.": the first octets
      if (!text.ends_with('.')) return std::nullopt;
      text.remove_suffix(1);
      break;
    case Pattern::Shape::kSuffix:  // ".c.d": the last octets
      if (!text.starts_with('.')) return std::nullopt;
      text.remove_prefix(1);
      break;
    case Pattern::Shape::kContains:  // ".b.c.": the middle two (the only place such a text fits)
      if (text.size() < 2 || !text.starts_with('.') || !text.ends_with('.')) return std::nullopt;
      text = text.substr(1, text.size() - 2);
      first = 1;
      break;
    default:
      return std::nullopt;
  }
  std::vector<uint32_t> octets;
  if (!CanonicalOctets(text, octets)) return std::nullopt;
  const size_t n = octets.size();
  const bool fits = pattern.shape == Pattern::Shape::kExact      ? n == 4
                    : pattern.shape == Pattern::Shape::kContains ? n == 2
                                                                 : n <= 3;
  if (!fits) return std::nullopt;
  if (pattern.shape == Pattern::Shape::kSuffix) first = 4 - n;
  DottedQuadRange range;
  for (size_t k = 0; k < n; ++k) {
    const int shift = static_cast<int>(8 * (3 - (first + k)));
    range.mask |= uint32_t{0xFF} << shift;
    range.value |= octets[k] << shift;
  }
  return range;
}

bool ParseCidr(std::string_view text, Matcher& m) {
  std::string_view address = text;
  int length = -1;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    address = text.substr(0, slash);
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    length = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      length = length * 10 + (c - '0');
    }
  }
  m.network.fill(0);
  if (address.find(':') != std::string_view::npos) {
    if (length > 128 || !ParseIpv6(address, m.network)) return false;
    m.op = Matcher::Op::kCidr6;
    m.prefix_length = length < 0 ? 128 : length;
  } else {
    const std::optional<uint32_t> v4 = netsep::ParseIpv4(address);
    if (!v4 || length > 32) return false;
    m.op = Matcher::Op::kCidr4;
    m.prefix_length = length < 0 ? 32 : length;
    m.v4_mask = m.prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - m.prefix_length);
    m.v4_network = *v4 & m.v4_mask;
    for (int i = 0; i < 4; ++i) m.network[i] = static_cast<uint8_t>(*v4 >> (24 - 8 * i));
  }
  // Clear the host bits, so that PrefixContains compares masked bytes.
  for (int i = 0; i < 16; ++i) {
    const int keep = m.prefix_length - 8 * i;
    if (keep >= 8) continue;
    m.network[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
  }
  return true;
}

}  // namespace mamori::monitor::sigma
