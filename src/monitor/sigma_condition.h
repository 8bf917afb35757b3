// The condition of a Sigma rule (internal to the Sigma engine, sigma.cc): the grammar
//
//   expr    := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | primary
//   primary := "(" expr ")" | ("1" | "any" | "all") "of" (pattern | "them") | identifier
//
// (precedence or < and < not < "x of" < parentheses; keywords in any case). An identifier names
// a detection entry; a pattern may hold "*" wildcards and stands for every entry it matches;
// "them" is every entry whose name does not start with "_". The parse resolves names to entry
// indices, so evaluation never looks at text.
//
// Aggregations ("| count() by … > 5"), "near" and quantities other than 1 and all are Sigma but
// not supported here: ParseCondition says so (kUnsupported) rather than failing as a syntax
// error, so the rule is listed with its reason.
//
// Plain values; no shared state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mamori::monitor::sigma {

// A reason a rule cannot be used: invalid (the rule is broken: exit 2) or unsupported (valid
// Sigma this engine does not evaluate: listed, the run goes on). Japanese and English.
struct Problem {
  enum class Kind : uint8_t { kInvalid, kUnsupported };
  Kind kind = Kind::kInvalid;
  std::string ja;
  std::string en;
  int line = 0;  // 1-based line in the rule file; 0 when unknown

  static Problem Invalid(std::string ja, std::string en, int line = 0) {
    return {Kind::kInvalid, std::move(ja), std::move(en), line};
  }
  static Problem Unsupported(std::string ja, std::string en, int line = 0) {
    return {Kind::kUnsupported, std::move(ja), std::move(en), line};
  }
};

// The condition as a tree in one vector; nodes[root] is the whole condition.
struct Condition {
  enum class Op : uint8_t {
    kEntry,  // a: the detection entry's index
    kNot,    // a: the operand's node
    kAnd,    // operands: children[a, b)
    kOr,     // operands: children[a, b)
  };
  struct Node {
    Op op = Op::kEntry;
    uint32_t a = 0;
    uint32_t b = 0;
  };
  std::vector<Node> nodes;
  std::vector<uint32_t> children;  // node indices
  uint32_t root = 0;
};

// Parses `text` over the detection entries `names` (in the order the rule lists them). Several
// conditions (a YAML list) are joined with "or" by the caller through ParseConditions.
std::variant<Condition, Problem> ParseConditions(std::span<const std::string> texts,
                                                 std::span<const std::string> names);

// True when `name` matches `pattern` ("*" any run of characters, everything else literal;
// case-sensitive, as identifiers are).
bool MatchesIdentifierPattern(std::string_view pattern, std::string_view name);

}  // namespace mamori::monitor::sigma
