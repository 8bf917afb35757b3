#include "netsep/ruleset.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::netsep {
namespace {

// SplitWords as it was before SplitWordViews, character by character: the reference that the
// views (unquoted words in place, quoted ones unquoted into the scratch text) must equal.
std::optional<std::vector<std::string>> ReferenceWords(std::string_view s, size_t max_words) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    std::string word;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') {
      if (s[i] != '"') {
        word.push_back(s[i++]);
        continue;
      }
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        word.push_back(s[i++]);
      }
      if (i == s.size()) return std::nullopt;
      ++i;
    }
    words.push_back(std::move(word));
    if (words.size() > max_words) return std::nullopt;
  }
  return words;
}

TEST(SplitWordsTest, ViewsEqualTheCharacterByCharacterSplit) {
  const std::vector<std::string> lines = {
      "",
      "   \t ",
      "-A FORWARD -s 10.0.0.0/8 -j ACCEPT",
      "-m comment --comment \"two words\" -j DROP",
      "a\"b c\"d \"\" x\"\\\"\"y",
      "\"unterminated",
      "tail\\",
      "\"esc at end\\",
  };
  std::string scratch;
  std::vector<std::string_view> views;
  for (const std::string& line : lines) {
    WordsError error{};
    const std::optional<std::vector<std::string>> want = ReferenceWords(line, 64);
    const bool ok = SplitWordViews(line, 64, scratch, views, error);
    ASSERT_EQ(ok, want.has_value()) << line;
    if (ok) EXPECT_EQ(std::vector<std::string>(views.begin(), views.end()), *want) << line;
    EXPECT_EQ(SplitWords(line, 64, error), want) << line;
  }
}

TEST(SplitWordsTest, RandomLinesAgreeWithTheReference) {
  // Lines over the characters that matter, several per scratch text, so that a view left
  // pointing at an earlier line's or word's text would show.
  std::mt19937 random(7);
  const std::string_view alphabet = "ab  \t\"\\-";
  std::string scratch;
  std::vector<std::string_view> views;
  for (int n = 0; n < 20000; ++n) {
    std::string line;
    const size_t length = random() % 24;
    for (size_t k = 0; k < length; ++k) line.push_back(alphabet[random() % alphabet.size()]);
    const size_t max_words = random() % 6;
    WordsError error{};
    const std::optional<std::vector<std::string>> want = ReferenceWords(line, max_words);
    const bool ok = SplitWordViews(line, max_words, scratch, views, error);
    ASSERT_EQ(ok, want.has_value()) << line;
    if (ok) ASSERT_EQ(std::vector<std::string>(views.begin(), views.end()), *want) << line;
  }
}

TEST(SplitWordsTest, TooManyWordsAndUnterminatedQuotesSayWhy) {
  std::string scratch;
  std::vector<std::string_view> views;
  WordsError error{};
  EXPECT_FALSE(SplitWordViews("a b c", 2, scratch, views, error));
  EXPECT_STREQ(error.en, "the line has too many words.");
  EXPECT_FALSE(SplitWordViews("a \"b c", 8, scratch, views, error));
  EXPECT_STREQ(error.en, "unterminated quotation mark.");
}

}  // namespace
}  // namespace mamori::netsep
