#include "policy/classification.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace mamori::policy {
namespace {

std::string Shipped() {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/catalog/classification.toml",
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A small valid file; tests break one thing at a time.
const char* kMinimal = R"(
default_scheme = "a"
[[categories]]
key = "copy"
label = "複製"
[[zones]]
key = "mynumber"
label = "マイナンバー利用事務系"
[[schemes]]
key = "a"
label = "A"
[[schemes.confidentiality]]
value = "3"
label = "機密性3"
meaning = "秘"
[[schemes.confidentiality.handling]]
category = "copy"
text = "複製しない"
[[schemes.confidentiality]]
value = "1"
label = "機密性1"
meaning = "その他"
[[schemes.integrity]]
value = "2"
label = "完全性2"
meaning = "重要"
[[schemes.integrity]]
value = "1"
label = "完全性1"
meaning = "その他"
[[schemes.availability]]
value = "2"
label = "可用性2"
meaning = "重要"
[[schemes.availability]]
value = "1"
label = "可用性1"
meaning = "その他"
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(Classification, ShippedFileHasBothSchemesRulesAndMappings) {
  auto c = ParseClassification(Shipped(), "catalog/classification.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->default_scheme, "traditional");
  const Scheme* trad = c->FindScheme("traditional");
  const Scheme* local = c->FindScheme("local_gov");
  ASSERT_NE(trad, nullptr);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(trad->confidentiality.size(), 3u);
  EXPECT_EQ(local->confidentiality.size(), 5u);
  EXPECT_EQ(local->Rank(Axis::kConfidentiality, "3a"), 0);
  EXPECT_EQ(local->Rank(Axis::kConfidentiality, "1"), 4);
  EXPECT_EQ(local->Rank(Axis::kConfidentiality, "3"), -1);
  // 機密性3 carries the issued-terminal rule; 機密性2 does not; 機密性1 has none.
  auto has = [](const Level& l, const std::string& cat) {
    for (const auto& h : l.handling) {
      if (h.category == cat) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(trad->confidentiality[0], "terminal"));
  EXPECT_FALSE(has(trad->confidentiality[1], "terminal"));
  EXPECT_TRUE(trad->confidentiality[2].handling.empty());
  EXPECT_GE(c->rules.size(), 4u);
  ASSERT_NE(c->FindMapping("traditional", "local_gov"), nullptr);
  EXPECT_EQ(c->FindMapping("traditional", "local_gov")->confidentiality.at("3"), "3b");
  EXPECT_EQ(c->zones.front().key, "mynumber");
}

TEST(Classification, MinimalFileParses) {
  auto c = ParseClassification(kMinimal, "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->schemes[0].confidentiality[0].handling[0].text.ja, "複製しない");
}

TEST(Classification, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expect;  // in the Japanese message
  };
  const Case cases[] = {
      {Replace(kMinimal, "category = \"copy\"\ntext", "category = \"print\"\ntext"),
       "t.toml:17: 不明な区分です: print"},
      {Replace(kMinimal, "default_scheme = \"a\"", "default_scheme = \"b\""), "t.toml:2:"},
      {Replace(kMinimal, "value = \"1\"\nlabel = \"機密性1\"",
               "value = \"3\"\nlabel = \"機密性1\""),
       "水準 3 が重複しています"},
      {Replace(kMinimal, "value = \"3\"", "value = \"3A\""), "t.toml:13:"},
      {std::string(kMinimal) + "colour = 1\n", "不明なキー"},
      {std::string(kMinimal) +
           "[[rules]]\nid = \"r\"\nseverity = \"error\"\nwhen = { zone = \"mynumber\" }\n"
           "field = \"confidentiality\"\nat_least = { a = \"2\" }\nmessage = \"m\"\n"
           "rationale = \"r\"\n",
       "t.toml:44: at_least の a は"},
      {std::string(kMinimal) +
           "[[rules]]\nid = \"r\"\nseverity = \"fatal\"\nwhen = { zone = \"mynumber\" }\n"
           "field = \"confidentiality\"\nat_least = { a = \"3\" }\nmessage = \"m\"\n"
           "rationale = \"r\"\n",
       "severity は error か warning"},
      {std::string(kMinimal) +
           "[[schemes]]\nkey = \"b\"\nlabel = \"B\"\n[[schemes.confidentiality]]\nvalue = "
           "\"x\"\nlabel = \"x\"\nmeaning = \"x\"\n[[schemes.confidentiality]]\nvalue = "
           "\"y\"\nlabel = \"y\"\nmeaning = \"y\"\n[[schemes.integrity]]\nvalue = \"2\"\nlabel = "
           "\"i\"\nmeaning = \"i\"\n[[schemes.integrity]]\nvalue = \"1\"\nlabel = \"i\"\nmeaning "
           "= \"i\"\n[[schemes.availability]]\nvalue = \"2\"\nlabel = \"a\"\nmeaning = "
           "\"a\"\n[[schemes.availability]]\nvalue = \"1\"\nlabel = \"a\"\nmeaning = \"a\"\n"
           "[[mappings]]\nfrom = \"a\"\nto = \"b\"\nconfidentiality = { \"3\" = \"x\" }\n"
           "integrity = { \"2\" = \"2\", \"1\" = \"1\" }\navailability = { \"2\" = \"2\", \"1\" "
           "= \"1\" }\n",
       "confidentiality に 1 の対応がありません"},
  };
  for (const auto& c : cases) {
    auto r = ParseClassification(c.text, "t.toml");
    ASSERT_FALSE(r.ok()) << c.expect;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << r.error().message << " / want " << c.expect;
  }
}

}  // namespace
}  // namespace mamori::policy
