#include "policy/risk.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace mamori::policy {
namespace {

std::string Shipped(const char* name) {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/catalog/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Threats, ShippedCatalogCoversTheFiveGroupsOfSection3) {
  auto c = ParseThreats(Shipped("threats.toml"), "catalog/threats.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->groups.size(), 5u);
  for (const auto& g : c->groups) {
    int n = 0;
    for (const auto& t : c->threats) n += t.group == g.key;
    EXPECT_GT(n, 0) << g.key;
  }
  const Threat* t = c->Find("T-1-01");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->affects.empty());
  EXPECT_GE(c->proposals.size(), 10u);
  for (const auto& p : c->proposals) EXPECT_NE(c->Find(p.threat), nullptr) << p.id;
}

const char* kThreats = R"toml(
[[groups]]
key = "intentional"
section = "3(1)"
label = "意図的"
[[groups]]
key = "unintentional"
section = "3(2)"
label = "非意図的"
[[groups]]
key = "disaster"
section = "3(3)"
label = "災害"
[[groups]]
key = "staff_shortage"
section = "3(4)"
label = "要員不足"
[[groups]]
key = "infrastructure"
section = "3(5)"
label = "インフラ"
[[threats]]
code = "T-2-01"
group = "unintentional"
name = "USB メモリの紛失"
description = "持ち出した媒体をなくす"
affects = ["availability", "confidentiality"]
[[proposals]]
id = "P-01"
threat = "T-2-01"
when = { kind = ["equipment"], zone = ["mynumber"] }
top_levels = { confidentiality = 1 }
reason = "特定個人情報を扱う端末"
)toml";

TEST(Threats, ProposalsMatchKindZoneAndTopLevels) {
  auto c = ParseThreats(kThreats, "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const Threat& t = c->threats[0];
  EXPECT_EQ(t.affects, (std::vector<Axis>{Axis::kConfidentiality, Axis::kAvailability}));
  const ScenarioProposal& p = c->proposals[0];
  AssetFacts a{"equipment", "mynumber", {0, 1, 1}};
  EXPECT_TRUE(p.Matches(a));
  a.rank[0] = 1;  // not the highest confidentiality
  EXPECT_FALSE(p.Matches(a));
  a.rank[0] = -1;  // unknown level
  EXPECT_FALSE(p.Matches(a));
  EXPECT_FALSE(p.Matches({"equipment", "lgwan", {0, 0, 0}}));
  EXPECT_FALSE(p.Matches({"system", "mynumber", {0, 0, 0}}));
}

TEST(Threats, ErrorsNameTheLine) {
  std::string bad = kThreats;
  bad.replace(bad.find("T-2-01\"\ngroup"), 6, "T-1-01");  // code of another group
  auto r = ParseThreats(bad, "t.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("t.toml:24:"), std::string::npos) << r.error().message;

  bad = kThreats;
  bad.replace(bad.find("\"mynumber\"] }"), 10, "\"dmz\"");
  r = ParseThreats(bad, "t.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("zone"), std::string::npos) << r.error().message;

  bad = kThreats;
  bad.replace(bad.find("threat = \"T-2-01\""), 17, "threat = \"T-9-99\"");
  EXPECT_FALSE(ParseThreats(bad, "t.toml").ok());
  bad = kThreats;
  bad.replace(bad.find("affects = [\"availability\", \"confidentiality\"]"), 45,
              "affects = [\"secrecy\"]");
  EXPECT_FALSE(ParseThreats(bad, "t.toml").ok());
  // Four groups only.
  bad = kThreats;
  bad.erase(bad.find("[[groups]]\nkey = \"infrastructure\""), 70);
  EXPECT_FALSE(ParseThreats(bad, "t.toml").ok());
}

class Matrices : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = ParseRiskMatrices(Shipped("risk-matrix.toml"), "catalog/risk-matrix.toml");
    ASSERT_TRUE(m.ok()) << m.error().message;
    m_ = std::move(m).value();
  }
  RiskMatrices m_;
};

TEST_F(Matrices, ScoresAndThresholds) {
  const Matrix* five = m_.Find("5x5");
  const Matrix* three = m_.Find("3x3");
  ASSERT_NE(five, nullptr);
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(five->size(), 5);
  EXPECT_EQ(three->size(), 3);
  // The shipped thresholds: 5x5 low 1-4, medium 5-9, high 10-19, very_high 20-25.
  EXPECT_EQ(five->LevelOf(1), "low");
  EXPECT_EQ(five->LevelOf(4), "low");
  EXPECT_EQ(five->LevelOf(5), "medium");
  EXPECT_EQ(five->LevelOf(9), "medium");
  EXPECT_EQ(five->LevelOf(10), "high");
  EXPECT_EQ(five->LevelOf(16), "high");
  EXPECT_EQ(five->LevelOf(20), "very_high");
  EXPECT_EQ(five->LevelOf(25), "very_high");
  EXPECT_EQ(three->LevelOf(2), "low");
  EXPECT_EQ(three->LevelOf(3), "medium");
  EXPECT_EQ(three->LevelOf(6), "high");
  EXPECT_EQ(five->TopLevel(), "very_high");
  EXPECT_EQ(five->ApproverFor("very_high"), Approver::kCiso);
  EXPECT_EQ(five->ApproverFor("medium"), Approver::kSuperior);
  EXPECT_EQ(three->ApproverFor("high"), Approver::kCiso);
  EXPECT_EQ(five->Likelihood("5_3")->score, 3);
  EXPECT_EQ(five->Likelihood("3_3"), nullptr);
  EXPECT_LT(m_.LevelRank("low"), m_.LevelRank("very_high"));
}

TEST_F(Matrices, ImpactFromClassificationRank) {
  const Matrix& five = *m_.Find("5x5");
  // Three classification levels onto five impact levels: highest 5, middle 3, lowest 1.
  EXPECT_EQ(five.ImpactForRank(0, 3).score, 5);
  EXPECT_EQ(five.ImpactForRank(1, 3).score, 3);
  EXPECT_EQ(five.ImpactForRank(2, 3).score, 1);
  // Four levels (3a, 3b, 2, 1): 5, 4, 2, 1.
  EXPECT_EQ(five.ImpactForRank(0, 4).score, 5);
  EXPECT_EQ(five.ImpactForRank(1, 4).score, 4);
  EXPECT_EQ(five.ImpactForRank(2, 4).score, 2);
  EXPECT_EQ(five.ImpactForRank(3, 4).score, 1);
  const Matrix& three = *m_.Find("3x3");
  EXPECT_EQ(three.ImpactForRank(0, 2).score, 3);
  EXPECT_EQ(three.ImpactForRank(1, 2).score, 1);
}

TEST_F(Matrices, BadThresholdsAreRejected) {
  std::string text = Shipped("risk-matrix.toml");
  // Thresholds must rise: make "high" start below "medium".
  const size_t at = text.find("min_score = 10");
  ASSERT_NE(at, std::string::npos);
  std::string bad = text;
  bad.replace(at, 14, "min_score = 4");
  auto r = ParseRiskMatrices(bad, "m.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("m.toml:"), std::string::npos);
  bad = text;
  bad.replace(text.find("by = \"ciso\""), 11, "by = \"superior\"");
  EXPECT_FALSE(ParseRiskMatrices(bad, "m.toml").ok());  // the top level is the CISO's
  bad = text;
  bad.replace(text.find("value = \"5_2\""), 13, "value = \"5_7\"");
  EXPECT_FALSE(ParseRiskMatrices(bad, "m.toml").ok());
}

}  // namespace
}  // namespace mamori::policy
