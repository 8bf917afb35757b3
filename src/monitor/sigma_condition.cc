#include "monitor/sigma_condition.h"

#include <optional>

#include "common/text.h"

namespace mamori::monitor::sigma {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxTokens = 4096;

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '*' || c == '.';
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsKeyword(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (Lower(word[i]) != keyword[i]) return false;
  }
  return true;
}

class ConditionParser {
 public:
  ConditionParser(std::span<const std::string> names, Condition& out) : names_(names), out_(out) {}

  // Parses one condition text; the node index of its root, or a problem.
  std::variant<uint32_t, Problem> Parse(std::string_view text) {
    text_ = text;
    tokens_.clear();
    pos_ = 0;
    if (auto problem = Tokenize()) return *std::move(problem);
    if (tokens_.empty()) {
      return Problem::Invalid("条件（condition）が空です。", "the condition is empty.");
    }
    auto root = Or(0);
    if (!root) return *std::move(problem_);
    if (pos_ < tokens_.size()) {
      return Problem::Invalid(Cat("条件の「", Printable(tokens_[pos_]),
                                  "」の位置で式が終わっていません: ", Printable(text_)),
                              Cat("unexpected \"", Printable(tokens_[pos_]),
                                  "\" in the condition: ", Printable(text_)));
    }
    return *root;
  }

 private:
  std::optional<Problem> Tokenize() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.push_back(text_.substr(i, 1));
        ++i;
      } else if (c == '|') {
        return Problem::Unsupported(
            "集計の条件（| count() など）には対応していません。",
            "aggregation conditions (| count() and the like) are not supported.");
      } else if (IsWordChar(c)) {
        const size_t start = i;
        while (i < text_.size() && IsWordChar(text_[i])) ++i;
        tokens_.push_back(text_.substr(start, i - start));
        if (IsKeyword(tokens_.back(), "near")) {
          return Problem::Unsupported("条件の near には対応していません。",
                                      "the \"near\" condition is not supported.");
        }
      } else {
        return Problem::Invalid(Cat("条件に使えない文字「", Printable(text_.substr(i, 1)),
                                    "」があります: ", Printable(text_)),
                                Cat("unexpected character \"", Printable(text_.substr(i, 1)),
                                    "\" in the condition: ", Printable(text_)));
      }
      if (tokens_.size() > kMaxTokens) {
        return Problem::Invalid("条件が長すぎます。", "the condition is too long.");
      }
    }
    return std::nullopt;
  }

  bool AtKeyword(std::string_view keyword) const {
    return pos_ < tokens_.size() && IsKeyword(tokens_[pos_], keyword);
  }

  std::optional<uint32_t> Fail(Problem problem) {
    problem_ = std::move(problem);
    return std::nullopt;
  }

  std::optional<uint32_t> Missing(std::string_view what_ja, std::string_view what_en) {
    const std::string_view at =
        pos_ < tokens_.size() ? tokens_[pos_] : std::string_view("(終わり)");
    return Fail(Problem::Invalid(
        Cat("条件の「", Printable(at), "」の位置に", what_ja, "が必要です: ", Printable(text_)),
        Cat("expected ", what_en, " at \"", Printable(at),
            "\" in the condition: ", Printable(text_))));
  }

  uint32_t Add(Condition::Op op, uint32_t a, uint32_t b = 0) {
    out_.nodes.push_back({op, a, b});
    return static_cast<uint32_t>(out_.nodes.size() - 1);
  }

  uint32_t Join(Condition::Op op, const std::vector<uint32_t>& operands) {
    if (operands.size() == 1) return operands[0];
    const auto first = static_cast<uint32_t>(out_.children.size());
    out_.children.insert(out_.children.end(), operands.begin(), operands.end());
    return Add(op, first, static_cast<uint32_t>(out_.children.size()));
  }

  std::optional<uint32_t> Or(int depth) {
    std::vector<uint32_t> operands;
    while (true) {
      auto node = And(depth);
      if (!node) return std::nullopt;
      operands.push_back(*node);
      if (!AtKeyword("or")) break;
      ++pos_;
    }
    return Join(Condition::Op::kOr, operands);
  }

  std::optional<uint32_t> And(int depth) {
    std::vector<uint32_t> operands;
    while (true) {
      auto node = Not(depth);
      if (!node) return std::nullopt;
      operands.push_back(*node);
      if (!AtKeyword("and")) break;
      ++pos_;
    }
    return Join(Condition::Op::kAnd, operands);
  }

  std::optional<uint32_t> Not(int depth) {
    if (depth > kMaxDepth) {
      return Fail(
          Problem::Invalid("条件の入れ子が深すぎます。", "the condition nests too deeply."));
    }
    if (AtKeyword("not")) {
      ++pos_;
      auto operand = Not(depth + 1);
      if (!operand) return std::nullopt;
      return Add(Condition::Op::kNot, *operand);
    }
    return Primary(depth);
  }

  std::optional<uint32_t> Primary(int depth) {
    if (pos_ >= tokens_.size()) return Missing("識別子か「(」", "an identifier or \"(\"");
    const std::string_view token = tokens_[pos_];
    if (token == "(") {
      ++pos_;
      auto inner = Or(depth + 1);
      if (!inner) return std::nullopt;
      if (pos_ >= tokens_.size() || tokens_[pos_] != ")") return Missing("「)」", "\")\"");
      ++pos_;
      return inner;
    }
    if (token == ")") return Missing("識別子か「(」", "an identifier or \"(\"");
    if (pos_ + 1 < tokens_.size() && IsKeyword(tokens_[pos_ + 1], "of")) return Quantified();
    if (IsKeyword(token, "and") || IsKeyword(token, "or") || IsKeyword(token, "of") ||
        IsKeyword(token, "them")) {
      return Missing("識別子か「(」", "an identifier or \"(\"");
    }
    ++pos_;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == token) return Add(Condition::Op::kEntry, static_cast<uint32_t>(i));
    }
    return Fail(Problem::Invalid(
        Cat("条件の「", Printable(token), "」は detection にありません。"),
        Cat("the condition names \"", Printable(token), "\", which detection does not define.")));
  }

  // "1 of x*", "all of them", …; pos_ is at the quantity.
  std::optional<uint32_t> Quantified() {
    const std::string_view quantity = tokens_[pos_];
    Condition::Op op;
    if (quantity == "1" || IsKeyword(quantity, "any")) {
      op = Condition::Op::kOr;
    } else if (IsKeyword(quantity, "all")) {
      op = Condition::Op::kAnd;
    } else {
      return Fail(Problem::Unsupported(
          Cat("条件の「", Printable(quantity),
              " of」には対応していません（1 of と all of のみ）。"),
          Cat("\"", Printable(quantity), " of\" is not supported (only 1 of and all of).")));
    }
    pos_ += 2;
    if (pos_ >= tokens_.size() || tokens_[pos_] == "(" || tokens_[pos_] == ")") {
      return Missing("識別子のパターンか them", "an identifier pattern or \"them\"");
    }
    const std::string_view target = tokens_[pos_++];
    const bool them = IsKeyword(target, "them");
    std::vector<uint32_t> operands;
    for (size_t i = 0; i < names_.size(); ++i) {
      const bool match =
          them ? !names_[i].starts_with('_') : MatchesIdentifierPattern(target, names_[i]);
      if (match) operands.push_back(Add(Condition::Op::kEntry, static_cast<uint32_t>(i)));
    }
    if (operands.empty()) {
      return Fail(Problem::Invalid(
          Cat("条件の「", Printable(target), "」に当たる detection の項目がありません。"),
          Cat("no detection entry matches \"", Printable(target), "\" in the condition.")));
    }
    return Join(op, operands);
  }

  std::span<const std::string> names_;
  Condition& out_;
  std::string_view text_;
  std::vector<std::string_view> tokens_;
  size_t pos_ = 0;
  std::optional<Problem> problem_;
};

}  // namespace

bool MatchesIdentifierPattern(std::string_view pattern, std::string_view name) {
  // Greedy glob with backtracking to the last star: linear in practice, no recursion.
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::variant<Condition, Problem> ParseConditions(std::span<const std::string> texts,
                                                 std::span<const std::string> names) {
  Condition condition;
  ConditionParser parser(names, condition);
  std::vector<uint32_t> roots;
  for (const std::string& text : texts) {
    auto root = parser.Parse(text);
    if (auto* problem = std::get_if<Problem>(&root)) return std::move(*problem);
    roots.push_back(std::get<uint32_t>(root));
  }
  if (roots.empty()) {
    return Problem::Invalid("条件（condition）がありません。", "the condition is missing.");
  }
  if (roots.size() == 1) {
    condition.root = roots[0];
  } else {
    const auto first = static_cast<uint32_t>(condition.children.size());
    condition.children.insert(condition.children.end(), roots.begin(), roots.end());
    condition.nodes.push_back(
        {Condition::Op::kOr, first, static_cast<uint32_t>(condition.children.size())});
    condition.root = static_cast<uint32_t>(condition.nodes.size() - 1);
  }
  return condition;
}

}  // namespace mamori::monitor::sigma
