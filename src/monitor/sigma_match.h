// Value matching of the Sigma engine (internal to sigma.cc): one compiled test of one value
// against one event field, and the per-event scratch state the tests share.
//
// Strings compare case-insensitively (ASCII letters; other bytes exactly) unless the rule says
// `cased`: needles are lower-cased when the rule is compiled, and each event field is lower-cased
// at most once per event into the context's buffers (reused: nothing is allocated per event
// once they have grown). Wildcards: "*" any run of bytes, "?" one character (one UTF-8 code
// point); "\*", "\?" and "\\" are the literal characters, a backslash before anything else is a
// backslash.
//
// Not thread-safe: one MatchContext per detector.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "monitor/event.h"

namespace re2 {
class RE2;
}

namespace mamori::monitor::sigma {

inline constexpr int kEventFieldCount = static_cast<int>(EventField::kSignature) + 1;

// A string pattern after Sigma's wildcard rules, lower-cased unless cased.
struct Pattern {
  enum class Shape : uint8_t { kExact, kPrefix, kSuffix, kContains, kGlob };
  Shape shape = Shape::kExact;
  std::string literal;         // kExact/kPrefix/kSuffix/kContains: the bytes between the stars
  std::string glob;            // kGlob: the pattern bytes
  std::vector<uint8_t> kinds;  // kGlob: per byte of glob, kLiteral, kStar or kOne
  static constexpr uint8_t kLiteral = 0, kStar = 1, kOne = 2;

  // `text` with Sigma escapes and wildcards; `lower`: fold ASCII letters.
  static Pattern Parse(std::string_view text, bool lower);
  bool Matches(std::string_view text) const;
};

// The text of `value` after Sigma's escapes (wildcards kept, "\*" → "*" marked literal): the
// parts a transform modifier (base64, windash) works on. nullopt when it holds a wildcard.
std::optional<std::string> UnescapedLiteral(std::string_view value);

struct Matcher {
  enum class Op : uint8_t {
    kPattern,  // text pattern (numbers compared as their decimal text)
    kNumber,   // equals `number` (plain integer value; text fields compared as text)
    kNull,     // the field is absent or empty
    kExists,   // the field is present (non-empty)
    kNotExists,
    kRegex,  // RE2, unanchored
    kCidr4,  // IPv4 network
    kCidr6,  // IPv6 network
    kLess,   // numeric comparisons with `bound`
    kLessEqual,
    kGreater,
    kGreaterEqual,
    kFieldRef,  // pattern shape against another field's value (fieldref)
  };
  Op op = Op::kPattern;
  bool cased = false;
  Pattern pattern;         // kPattern; kFieldRef uses pattern.shape only
  std::string text_equal;  // kNumber: the value's text, for text fields
  uint64_t number = 0;     // kNumber
  double bound = 0;        // comparisons
  std::shared_ptr<const re2::RE2> regex;
  std::array<uint8_t, 16> network{};  // kCidr4: first 4 bytes; kCidr6: 16 bytes
  int prefix_length = 0;
  uint32_t v4_network = 0;  // kCidr4, host order, host bits clear
  uint32_t v4_mask = 0;
  std::string ref_name;  // kFieldRef: the other field's name (resolved per format)
  EventField ref_field = EventField::kTs;
  int regex_slot = -1;  // kRegex: its place in its field's RegexSets set; -1: matched alone
};

// The address fields' prefilter: every window of `window` bytes of every atom at least that
// long is kept as a bit of a hash table (collisions only let more texts through to the set). A
// text holding such an atom (of at least `shortest` bytes) has `shortest - window + 1` of its
// windows in a row among them, so the windows at multiples of that stride meet one at least: a
// text none of whose windows there is in the table holds none of those atoms.
struct AtomWindows {
  int window = 0;  // 4 or 8; 0: no prefilter, ask the set
  size_t stride = 1;
  static constexpr int kBits = 14;  // 16,384 bits (2 KiB): few chance hits of a day's addresses
  std::array<uint64_t, (size_t{1} << kBits) / 64> bits{};

  static size_t Slot(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> (64 - kBits); }
  void Insert(uint64_t key) {
    const size_t slot = Slot(key);
    bits[slot / 64] |= uint64_t{1} << (slot % 64);
  }
  bool Has(uint64_t key) const {
    const size_t slot = Slot(key);
    return (bits[slot / 64] >> (slot % 64) & 1) != 0;
  }
  // The `Window` bytes at `p` (readable) as a number.
  template <size_t Window>
  static uint64_t Key(const char* p) {
    std::conditional_t<Window == 8, uint64_t, uint32_t> key;
    std::memcpy(&key, p, Window);
    return key;
  }
  uint64_t Key(const char* p) const { return window == 8 ? Key<8>(p) : Key<4>(p); }
  template <size_t Window>
  bool AnyWindow(std::string_view text) const {
    if (text.size() < Window) return false;  // no atom fits
    for (size_t i = 0; i + Window <= text.size(); i += stride) {
      if (Has(Key<Window>(text.data() + i))) return true;
    }
    return false;
  }
  bool MayHoldAtom(std::string_view text) const {
    if (window == 0) return true;
    return window == 8 ? AnyWindow<8>(text) : AnyWindow<4>(text);
  }
};

// Every regular expression the rules test on one field, matched in one pass over the field's
// value (RE2::Set) instead of one pass per expression: with many `|re` rules this is most of
// their cost. Built once when the rules are loaded; immutable afterwards.
class RegexSets {
 public:
  RegexSets();
  ~RegexSets();
  RegexSets(RegexSets&&) noexcept;
  RegexSets& operator=(RegexSets&&) noexcept;
  // Adds `matcher`'s expression (kRegex) to `field`'s set and sets its regex_slot; leaves it
  // -1 when the set will not take it.
  void Add(EventField field, Matcher& matcher);
  // Compiles the sets; a set RE2 cannot compile is dropped (its matchers matched alone). The
  // matchers added must not move until then.
  void Compile();
  // Indices of the expressions of `field`'s set that match `text`; false when the set could
  // not run (out of memory: the caller matches each expression alone).
  bool Match(EventField field, std::string_view text, std::vector<int>& hits) const;
  // Whether an expression of `field`'s set (src_ip or dst_ip) may match `text`, an IPv4 address
  // as a canonical dotted quad (SetAddress): false only when none can, true when unsure. When
  // every expression of the set needs one of its required strings (RE2's FilteredRE2 atoms) of
  // at least 4 bytes, a text that holds none of them matches no expression, and the set is not
  // asked (as with the public addresses of a day, each met once, against expressions naming a
  // few networks); otherwise there is no prefilter. A dotted quad has no letters, so the atoms'
  // lower case needs no folding of the text.
  bool MayMatchDottedQuad(EventField field, std::string_view text) const;
  // The prefilter of `field`'s set (src_ip or dst_ip); nullptr when it has none.
  const AtomWindows* AddressWindows(EventField field) const;
  size_t size(EventField field) const;

 private:
  struct Sets;
  std::unique_ptr<Sets> sets_;
};

// Scratch state for one event.
class MatchContext {
 public:
  void Reset(const Event& event) {
    event_ = &event;
    if (++generation_ == 0) {
      lowered_generation_.fill(0);
      regex_generation_.fill(0);
      generation_ = 1;
    }
  }
  const Event& event() const { return *event_; }
  // `text` (the value of `field` in this event) in lower case; computed once per event.
  std::string_view Lowered(EventField field, std::string_view text);
  // Whether `m` (kRegex) matches `text`, the value of `field` in this event: through the
  // field's set, run at most once per event, when there is one.
  bool RegexMatches(const Matcher& m, EventField field, std::string_view text);
  // The field's set on `text` (the value of `field` in this event), as bits by regex_slot;
  // false when the field's set has more than 64 expressions or could not run (match each
  // expression alone then).
  bool RegexBits(EventField field, std::string_view text, uint64_t& bits);
  // The memo's answer for the event's own IPv4 address (src_ip when `src`, else dst_ip), as
  // RegexBits gives it for the address's text; false when the memo has none (ask RegexBits).
  // Inline: most events of a day meet an address seen before, and need neither the field's
  // text nor a call.
  bool AddressBits(bool src, uint64_t& bits) const {
    const Address& address = src ? event_->src : event_->dst;
    const std::vector<Memo4>& table = memo4_[src ? 0 : 1];
    if (!memo_on_ || !address.is_v4 || table.empty()) return false;
    const Memo4& memo4 = table[Memo4Slot(address.v4)];
    if (memo4.used == 0 || memo4.address != address.v4) return false;
    bits = memo4.bits;
    return true;
  }
  // With the memo on, a set's answer for a text is remembered (per field, a bounded table: the
  // last text in each of kMemoSlots slots by hash; sets of up to 64 expressions, texts up to
  // kMemoMaxText bytes), so that a text seen again (an address, a host name) is not matched
  // again: the answer is a function of the text alone.
  void set_regex_sets(const RegexSets* sets, bool memo) {
    regex_sets_ = sets;
    memo_on_ = memo;
    for (const bool src : {true, false}) {
      address_windows_[src ? 0 : 1] =
          sets != nullptr && memo
              ? sets->AddressWindows(src ? EventField::kSrcIp : EventField::kDstIp)
              : nullptr;
    }
  }
  // With the memo on, whether the prefilter of the address field's set (src_ip when `src`)
  // turns the event's own IPv4 address away: then no expression of the set matches it (the
  // answer RegexBits would give: no bits), known without the memo. Inline: the commonest
  // answer for a day's addresses, internal ones included.
  bool AddressTurnedAway(bool src) const {
    const AtomWindows* windows = address_windows_[src ? 0 : 1];
    const Address& address = src ? event_->src : event_->dst;
    return windows != nullptr && address.is_v4 && !windows->MayHoldAtom(address.text);
  }
  static constexpr int kMemoBits = 14;
  static constexpr size_t kMemoSlots = size_t{1} << kMemoBits;
  // IPv4 addresses take 16 bytes a slot, not 64: four times the slots (1 MiB a field), as
  // a day of connections meets many more distinct addresses than kMemoSlots.
  static constexpr int kMemo4Bits = 16;
  static constexpr size_t kMemo4Slots = size_t{1} << kMemo4Bits;
  static constexpr size_t kMemoMaxText = 54;

 private:
  // Runs `field`'s set on `text` once per event (or takes the memo's answer); false when it
  // could not run.
  bool RunSet(EventField field, std::string_view text);

  const Event* event_ = nullptr;
  uint32_t generation_ = 0;
  std::array<uint32_t, kEventFieldCount> lowered_generation_{};
  std::array<std::string, kEventFieldCount> lowered_;  // buffers of the texts with capitals
  std::array<std::string_view, kEventFieldCount> lowered_view_;  // of this event (generation)
  const RegexSets* regex_sets_ = nullptr;
  std::array<uint32_t, kEventFieldCount> regex_generation_{};
  std::array<bool, kEventFieldCount> regex_failed_{};
  std::array<std::vector<uint64_t>, kEventFieldCount> regex_hits_;  // bits by slot
  std::vector<int> hit_indices_;                                    // scratch
  struct alignas(64) Memo {                                         // one cache line
    uint64_t bits = 0;
    uint8_t length = 0;  // of text + 1; 0: unused
    char text[kMemoMaxText];
  };
  struct Memo4 {  // an IPv4 address's answer (src_ip, dst_ip)
    uint32_t address = 0;
    uint32_t used = 0;
    uint64_t bits = 0;
  };
  static size_t Memo4Slot(uint32_t address) {
    return (address * 0x9E3779B1u) >> (32 - kMemo4Bits);  // Fibonacci hashing
  }
  bool memo_on_ = false;
  std::array<const AtomWindows*, 2> address_windows_{};   // src, dst: with the memo on
  std::array<std::vector<Memo>, kEventFieldCount> memo_;  // kMemoSlots each, when used
  std::array<std::vector<Memo4>, 2> memo4_;               // src, dst: kMemo4Slots each
};

// Does `value`, the value of `field` in the context's event, match?
bool Match(const Matcher& matcher, const FieldValue& value, EventField field,
           MatchContext& context);

// Match with the commonest network tests inline: a number against a numeric field, an IPv4
// range against the event's parsed source or destination address.
inline bool MatchFast(const Matcher& m, const FieldValue& value, EventField field,
                      MatchContext& context) {
  if (m.op == Matcher::Op::kNumber && value.kind == FieldValue::Kind::kNumber) {
    return value.number == m.number;
  }
  if (m.op == Matcher::Op::kCidr4) {
    const Address* address = field == EventField::kSrcIp   ? &context.event().src
                             : field == EventField::kDstIp ? &context.event().dst
                                                           : nullptr;
    if (address != nullptr && address->is_v4) {
      return (address->v4 & m.v4_mask) == m.v4_network;
    }
  }
  return Match(m, value, field, context);
}

// A text pattern that, on the canonical dotted quad of an IPv4 address (Address::text when
// is_v4: no leading zeros), holds exactly when (address & mask) == value: whole octets at the
// start ("10.20.2.", startswith), at the end (".20", endswith), the middle two (".67.91.",
// contains) or all four (exact). nullopt for every other pattern (one that may hold at several
// places, or cannot hold on a canonical dotted quad).
struct DottedQuadRange {
  uint32_t mask = 0;  // never 0
  uint32_t value = 0;
};
std::optional<DottedQuadRange> DottedQuadRangeOf(const Pattern& pattern);

// Parsing of rule values (compile time).
std::optional<double> ParseNumber(std::string_view text);
// "10.0.0.0/8", "10.1.2.3" (/32), "2001:db8::/32"; host bits may be set (they are cleared).
bool ParseCidr(std::string_view text, Matcher& matcher);

}  // namespace mamori::monitor::sigma
