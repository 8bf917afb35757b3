#include "policy/catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace mamori::policy {
namespace {

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Result<Catalog> ParseShipped() {
  static const std::string policy = ReadSourceFile("catalog/policy.toml");
  static const std::string controls = ReadSourceFile("catalog/controls.toml");
  return ParseCatalog(policy, "catalog/policy.toml", controls, "catalog/controls.toml");
}

const Section* FindSection(const Catalog& catalog, std::string_view id) {
  for (const Section& section : catalog.sections) {
    if (section.id == id) {
      return &section;
    }
  }
  return nullptr;
}

bool HasControl(const std::vector<const Control*>& controls, std::string_view id) {
  return std::any_of(controls.begin(), controls.end(),
                     [&](const Control* c) { return c->id == id; });
}

// ---------------------------------------------------------------------------------------------
// The shipped catalog.

TEST(ShippedCatalog, Parses) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  EXPECT_EQ(catalog->title.ja, "情報セキュリティ基本方針");
  EXPECT_EQ(catalog->body, "栃木県後期高齢者医療広域連合");
  EXPECT_EQ(catalog->effective, "2026-04-01");
}

TEST(ShippedCatalog, HasTenSectionsWithTheSeedsItems) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  ASSERT_EQ(catalog->sections.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(catalog->sections[i].id, std::to_string(i + 1));
  }
  EXPECT_EQ(FindSection(*catalog, "2")->items.size(), 10u);
  EXPECT_EQ(FindSection(*catalog, "3")->items.size(), 5u);
  const Section* scope = FindSection(*catalog, "4");
  ASSERT_EQ(scope->items.size(), 2u);
  ASSERT_EQ(scope->items[1].items.size(), 3u);
  EXPECT_EQ(scope->items[1].items[2].id, "4(2)ウ");

  const Section* measures = FindSection(*catalog, "6");
  ASSERT_EQ(measures->items.size(), 9u);
  for (const Item& item : measures->items) {
    EXPECT_TRUE(item.is_measure) << item.id;
  }
  const Item& resilience = measures->items[2];
  EXPECT_EQ(resilience.id, "6(3)");
  EXPECT_EQ(resilience.number, "(3)");
  ASSERT_EQ(resilience.items.size(), 2u);
  EXPECT_EQ(resilience.items[0].id, "6(3)ア");
  EXPECT_EQ(resilience.items[0].number, "ア");
  EXPECT_TRUE(resilience.items[0].is_measure);
  EXPECT_EQ(resilience.items[1].id, "6(3)イ");
}

TEST(ShippedCatalog, MeasureAndPublicFlags) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  for (const Section& section : catalog->sections) {
    const bool measure = section.id == "7" || section.id == "8";
    const bool non_public = section.id == "9" || section.id == "10";
    EXPECT_EQ(section.is_measure, measure) << section.id;
    EXPECT_EQ(section.is_public, !non_public) << section.id;
  }
}

TEST(ShippedCatalog, EveryTextIsBilingual) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  auto check_item = [](const Item& item, auto& self) -> void {
    EXPECT_FALSE(item.title.en.empty()) << item.id;
    EXPECT_FALSE(item.summary.en.empty()) << item.id;
    for (const Item& sub : item.items) {
      self(sub, self);
    }
  };
  for (const Section& section : catalog->sections) {
    EXPECT_FALSE(section.title.en.empty()) << section.id;
    EXPECT_FALSE(section.summary.en.empty()) << section.id;
    for (const Item& item : section.items) {
      check_item(item, check_item);
    }
  }
  for (const Control& control : catalog->controls) {
    EXPECT_FALSE(control.title.en.empty()) << control.id;
    EXPECT_FALSE(control.description.en.empty()) << control.id;
  }
}

TEST(ShippedCatalog, EveryMeasureHasThreeToSevenControlsOfItsOwn) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  const std::vector<std::string> measures = {"6(1)", "6(2)", "6(3)", "6(3)ア", "6(3)イ",
                                             "6(4)", "6(5)", "6(6)", "6(7)",   "6(8)",
                                             "6(9)", "7",    "8"};
  for (const std::string& id : measures) {
    const auto own = std::count_if(catalog->controls.begin(), catalog->controls.end(),
                                   [&](const Control& c) { return c.section == id; });
    EXPECT_GE(own, 3) << id;
    EXPECT_LE(own, 7) << id;
  }
  EXPECT_GE(catalog->controls.size(), 50u);
  EXPECT_LE(catalog->controls.size(), 65u);
}

TEST(ShippedCatalog, ControlsForIncludesSubItems) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  const auto resilience = catalog->ControlsFor("6(3)");
  const auto my_number = catalog->ControlsFor("6(3)ア");
  const auto internet = catalog->ControlsFor("6(3)イ");
  ASSERT_FALSE(my_number.empty());
  ASSERT_FALSE(internet.empty());
  for (const Control* c : my_number) {
    EXPECT_TRUE(HasControl(resilience, c->id)) << c->id;
  }
  for (const Control* c : internet) {
    EXPECT_TRUE(HasControl(resilience, c->id)) << c->id;
  }
  EXPECT_TRUE(HasControl(resilience, "C-6-3-01"));
  EXPECT_FALSE(HasControl(my_number, "C-6-3-01"));
  EXPECT_FALSE(HasControl(my_number, "C-6-3b-01"));

  // A section returns the controls of all its items; "1" is not a prefix match for "10".
  EXPECT_TRUE(HasControl(catalog->ControlsFor("6"), "C-6-3a-01"));
  EXPECT_TRUE(catalog->ControlsFor("1").empty());
  EXPECT_TRUE(catalog->ControlsFor("no such id").empty());

  // Catalog order is kept.
  const auto all = catalog->ControlsFor("6");
  EXPECT_EQ(all.front()->id, "C-6-1-01");
}

TEST(ShippedCatalog, ResilienceHasAutomatedChecks) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  auto has_evidence = [](const std::vector<const Control*>& controls, std::string_view kind) {
    return std::any_of(controls.begin(), controls.end(), [&](const Control* c) {
      return std::find(c->evidence.begin(), c->evidence.end(), kind) != c->evidence.end();
    });
  };
  EXPECT_TRUE(has_evidence(catalog->ControlsFor("6(3)ア"), "automated:netcheck"));
  EXPECT_TRUE(has_evidence(catalog->ControlsFor("6(3)イ"), "automated:monitor"));
}

TEST(ShippedCatalog, ControlIdsAreUniqueAndFollowTheirSection) {
  Result<Catalog> catalog = ParseShipped();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  std::set<std::string> ids;
  for (const Control& control : catalog->controls) {
    EXPECT_TRUE(ids.insert(control.id).second) << control.id;
    EXPECT_EQ(control.id.rfind("C-", 0), 0u) << control.id;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation rules, on a small catalog.

constexpr std::string_view kPolicy = R"toml([meta]
title = "情報セキュリティ基本方針"
title_en = "Basic policy"
body = "テスト広域連合"
effective = "2026-04-01"

[[sections]]
id = "6"
title = "情報セキュリティ対策"
summary = "対策の一覧。"

[[sections.items]]
id = "6(1)"
number = "(1)"
title = "組織体制"
summary = "体制をつくる。"
is_measure = true

[[sections.items.items]]
id = "6(1)ア"
number = "ア"
title = "小項目"
summary = "小項目の要約。"
is_measure = true

[[sections]]
id = "7"
title = "監査"
summary = "監査する。"
is_measure = true
)toml";

constexpr std::string_view kControls = R"toml([[controls]]
id = "C-1"
section = "6(1)ア"
title = "管理策一"
description = "説明一。"
evidence = ["document", "register:assets"]
owner_role = "security_manager"
review_months = 12

[[controls]]
id = "C-2"
section = "7"
title = "管理策二"
description = "説明二。"
evidence = ["automated:netcheck"]
owner_role = "audit_lead"
)toml";

// `text` with the first `from` replaced by `to`; aborts the test binary if `from` is absent.
std::string Replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const size_t at = out.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "not in the fixture: " << from;
    std::abort();
  }
  out.replace(at, from.size(), to);
  return out;
}

// 1-based line of the first occurrence of `needle` in `text`.
int LineOf(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  if (at == std::string_view::npos) {
    ADD_FAILURE() << "not in the text: " << needle;
    std::abort();
  }
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

Result<Catalog> Parse(std::string_view policy, std::string_view controls) {
  return ParseCatalog(policy, "policy.toml", controls, "controls.toml");
}

// Asserts `result` failed as invalid input with both messages starting "<file>:<line>: ".
void ExpectInvalidAt(const Result<Catalog>& result, std::string_view file, int line,
                     std::string_view ja_fragment) {
  ASSERT_FALSE(result.ok());
  const Error& error = result.error();
  EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
  const std::string where = std::string(file) + ":" + std::to_string(line) + ": ";
  EXPECT_EQ(error.message.rfind(where, 0), 0u) << error.message;
  EXPECT_EQ(error.message_en.rfind(where, 0), 0u) << error.message_en;
  EXPECT_NE(error.message.find(ja_fragment), std::string::npos) << error.message;
}

TEST(ParseCatalog, SmallCatalogParses) {
  Result<Catalog> catalog = Parse(kPolicy, kControls);
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  ASSERT_EQ(catalog->sections.size(), 2u);
  EXPECT_EQ(catalog->sections[0].items[0].items[0].id, "6(1)ア");
  EXPECT_TRUE(catalog->sections[0].is_public);         // default
  EXPECT_EQ(catalog->controls[1].review_months, 12);   // default
  EXPECT_TRUE(catalog->controls[1].title.en.empty());  // English is optional
  ASSERT_EQ(catalog->ControlsFor("6(1)").size(), 1u);
  EXPECT_EQ(catalog->ControlsFor("6(1)")[0]->id, "C-1");
}

TEST(ParseCatalog, AcceptsTomlDateForEffective) {
  Result<Catalog> catalog =
      Parse(Replace(kPolicy, R"x(effective = "2026-04-01")x", "effective = 2026-04-01"), kControls);
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  EXPECT_EQ(catalog->effective, "2026-04-01");
}

TEST(ParseCatalog, SyntaxErrorNamesFileAndLine) {
  const std::string policy = Replace(kPolicy, R"x(title = "組織体制")x", R"x(title = "組織体制)x");
  ExpectInvalidAt(Parse(policy, kControls), "policy.toml", LineOf(policy, "title = \"組織体制"),
                  "構文エラー");
  const std::string controls = Replace(kControls, "review_months = 12", "review_months = ");
  ExpectInvalidAt(Parse(kPolicy, controls), "controls.toml", LineOf(controls, "review_months"),
                  "構文エラー");
}

TEST(ParseCatalog, RejectsDuplicatePolicyIds) {
  const std::string policy = Replace(kPolicy, R"x(id = "7")x", R"x(id = "6")x");
  ExpectInvalidAt(Parse(policy, kControls), "policy.toml",
                  LineOf(policy, "id = \"6\"\ntitle = \"監査"), "重複");
}

TEST(ParseCatalog, RejectsDuplicateControlIds) {
  const std::string controls = Replace(kControls, R"x(id = "C-2")x", R"x(id = "C-1")x");
  const int second = LineOf(controls, "id = \"C-1\"\nsection = \"7\"");
  ExpectInvalidAt(Parse(kPolicy, controls), "controls.toml", second, "C-1");
  EXPECT_NE(Parse(kPolicy, controls).error().message.find("2 行目"), std::string::npos);
}

TEST(ParseCatalog, RejectsControlForUnknownSection) {
  const std::string controls = Replace(kControls, R"x(section = "7")x", R"x(section = "6(12)")x");
  const Result<Catalog> result = Parse(kPolicy, controls);
  const int line = LineOf(controls, "section = \"6(12)\"");
  ExpectInvalidAt(result, "controls.toml", line, "");
  EXPECT_EQ(result.error().message, "controls.toml:" + std::to_string(line) +
                                        ": 管理策 C-2 の節 \"6(12)\" が基本方針にありません。");
  EXPECT_EQ(result.error().message_en,
            "controls.toml:" + std::to_string(line) +
                ": control C-2 refers to section \"6(12)\", which is not in the basic policy.");
}

TEST(ParseCatalog, RejectsMeasureWithoutControl) {
  // Section 7 is a measure itself.
  const std::string controls = Replace(kControls, R"x(section = "7")x", R"x(section = "6(1)")x");
  ExpectInvalidAt(Parse(kPolicy, controls), "policy.toml", LineOf(kPolicy, "id = \"7\""),
                  "\"7\" を実施する管理策");
}

TEST(ParseCatalog, SubItemMeasureNeedsItsOwnControl) {
  // A control on the parent does not cover the sub-item…
  const std::string controls =
      Replace(kControls, R"x(section = "6(1)ア")x", R"x(section = "6(1)")x");
  ExpectInvalidAt(Parse(kPolicy, controls), "policy.toml", LineOf(kPolicy, "id = \"6(1)ア\""),
                  "6(1)ア");
  // …but a control on the sub-item covers the parent (the small catalog has none on 6(1)).
  EXPECT_TRUE(Parse(kPolicy, kControls).ok());
}

TEST(ParseCatalog, RequiresJapaneseTitle) {
  const std::string missing = Replace(kPolicy, "title = \"組織体制\"\n", "title_en = \"Org\"\n");
  ExpectInvalidAt(Parse(missing, kControls), "policy.toml", LineOf(missing, "[[sections.items]]"),
                  "項目 6(1) に title がありません");

  const std::string blank = Replace(kControls, R"x(title = "管理策二")x", R"x(title = " 　")x");
  ExpectInvalidAt(Parse(kPolicy, blank), "controls.toml", LineOf(blank, "title = \" "),
                  "title が空です");

  const std::string not_string = Replace(kPolicy, R"x(title = "監査")x", "title = 5");
  ExpectInvalidAt(Parse(not_string, kControls), "policy.toml", LineOf(not_string, "title = 5"),
                  "文字列");
}

TEST(ParseCatalog, RejectsUnknownEvidence) {
  const std::string kind = Replace(kControls, R"x(["automated:netcheck"])x", R"x(["photo"])x");
  ExpectInvalidAt(Parse(kPolicy, kind), "controls.toml", LineOf(kind, "photo"), "\"photo\"");

  const std::string reg = Replace(kControls, "register:assets", "register:cars");
  ExpectInvalidAt(Parse(kPolicy, reg), "controls.toml", LineOf(reg, "register:cars"), "\"cars\"");

  const std::string empty = Replace(kControls, R"x(["automated:netcheck"])x", "[]");
  ExpectInvalidAt(Parse(kPolicy, empty), "controls.toml", LineOf(empty, "evidence = []"),
                  "evidence");

  const std::string twice =
      Replace(kControls, R"x(["automated:netcheck"])x", R"x(["document", "document"])x");
  ExpectInvalidAt(Parse(kPolicy, twice), "controls.toml",
                  LineOf(twice, R"x(["document", "document"])x"), "重複");
}

TEST(ParseCatalog, RejectsUnknownOwnerRole) {
  const std::string controls = Replace(kControls, R"x("audit_lead")x", R"x("mayor")x");
  ExpectInvalidAt(Parse(kPolicy, controls), "controls.toml", LineOf(controls, "mayor"),
                  "owner_role \"mayor\"");
}

TEST(ParseCatalog, RejectsReviewMonthsOutOfRange) {
  for (const char* value : {"0", "61", "-3"}) {
    const std::string controls =
        Replace(kControls, "review_months = 12", std::string("review_months = ") + value);
    ExpectInvalidAt(Parse(kPolicy, controls), "controls.toml", LineOf(controls, "review_months"),
                    "review_months");
  }
  const std::string controls = Replace(kControls, "review_months = 12", "review_months = \"12\"");
  ExpectInvalidAt(Parse(kPolicy, controls), "controls.toml", LineOf(controls, "review_months"),
                  "整数");
  EXPECT_TRUE(Parse(kPolicy, Replace(kControls, "review_months = 12", "review_months = 60")).ok());
}

TEST(ParseCatalog, RejectsUnknownKeys) {
  const std::string control = Replace(kControls, "review_months = 12", "review_month = 12");
  ExpectInvalidAt(Parse(kPolicy, control), "controls.toml", LineOf(control, "review_month "),
                  "不明なキー \"review_month\"");

  const std::string item = Replace(kPolicy, "number = \"ア\"", "number = \"ア\"\nmeasured = true");
  ExpectInvalidAt(Parse(item, kControls), "policy.toml", LineOf(item, "measured"),
                  "項目 6(1)ア に不明なキー");

  const std::string with_key =
      Replace(kPolicy, "summary = \"監査する。\"", "summary = \"監査する。\"\npublic = false");
  ExpectInvalidAt(Parse(with_key, kControls), "policy.toml", LineOf(with_key, "public = false"),
                  "節 7 に不明なキー");

  const std::string meta = Replace(kPolicy, "body = ", "version = 1\nbody = ");
  ExpectInvalidAt(Parse(meta, kControls), "policy.toml", LineOf(meta, "version"), "[meta]");

  const std::string top = std::string(kControls) + "\n[extra]\nx = 1\n";
  ExpectInvalidAt(Parse(kPolicy, top), "controls.toml", LineOf(top, "[extra]"), "\"extra\"");
}

TEST(ParseCatalog, ItemIdMustMatchParentAndNumber) {
  const std::string policy = Replace(kPolicy, "number = \"(1)\"", "number = \"(2)\"");
  ExpectInvalidAt(Parse(policy, kControls), "policy.toml", LineOf(policy, "id = \"6(1)\""),
                  "\"6(2)\"");
}

TEST(ParseCatalog, RejectsTooDeepNesting) {
  const std::string policy = Replace(kPolicy, "\n[[sections]]\nid = \"7\"",
                                     "\n[[sections.items.items.items]]\nid = \"6(1)ア1\"\n"
                                     "number = \"1\"\ntitle = \"深い\"\nsummary = \"深い。\"\n"
                                     "\n[[sections]]\nid = \"7\"");
  ExpectInvalidAt(Parse(policy, kControls), "policy.toml",
                  LineOf(policy, "[[sections.items.items.items]]"), "入れ子");
}

TEST(ParseCatalog, RejectsBadEffectiveDate) {
  const std::string policy = Replace(kPolicy, "\"2026-04-01\"", "\"令和8年4月1日\"");
  ExpectInvalidAt(Parse(policy, kControls), "policy.toml", LineOf(policy, "effective"),
                  "YYYY-MM-DD");
}

TEST(ParseCatalog, RequiresSectionsAndControls) {
  ExpectInvalidAt(
      Parse("[meta]\ntitle = \"t\"\nbody = \"b\"\neffective = \"2026-04-01\"\n", kControls),
      "policy.toml", 1, "sections");
  ExpectInvalidAt(Parse(kPolicy, "controls = []\n"), "controls.toml", 1, "controls");
}

TEST(ParseCatalog, RejectsOversizedFile) {
  const std::string huge = std::string(kControls) + "#" + std::string(size_t{1} << 20, 'x');
  const Result<Catalog> result = Parse(kPolicy, huge);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace mamori::policy
