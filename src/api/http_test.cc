#include "api/http.h"

#include <gtest/gtest.h>

#include "api/api.h"

namespace mamori::api {
namespace {

TEST(ParseTarget, DecodesPathAndQuery) {
  auto t = ParseTarget("/api/v1/organization/units?q=%E7%B7%8F%E5%8B%99+%E8%AA%B2&limit=5&x");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/api/v1/organization/units");
  ASSERT_EQ(t->query.size(), 3u);
  EXPECT_EQ(t->query[0], (std::pair<std::string, std::string>{"q", "総務 課"}));
  EXPECT_EQ(t->query[2].first, "x");
  EXPECT_EQ(t->query[2].second, "");
}

TEST(ParseTarget, RejectsHostileTargets) {
  EXPECT_FALSE(ParseTarget("/a/%zz").ok());
  EXPECT_FALSE(ParseTarget("/a/%4").ok());
  EXPECT_FALSE(ParseTarget("/a/%00b").ok());
  EXPECT_FALSE(ParseTarget("/assets/../../etc/passwd").ok());
  EXPECT_FALSE(ParseTarget("/assets/%2e%2e/x").ok());
  EXPECT_FALSE(ParseTarget("/a?q=%FF%FE").ok());
  EXPECT_FALSE(ParseTarget("relative").ok());
  EXPECT_EQ(ParseTarget("/" + std::string(9000, 'a')).error().code, ErrorCode::kTooLarge);
  std::string many = "/a?";
  for (int i = 0; i < 65; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_EQ(ParseTarget(many).error().code, ErrorCode::kTooLarge);
}

TEST(ProblemResponse, MapsCodesOnce) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidInput), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  auto r =
      ProblemResponse(Error::Invalid("「名称」: 必須です。", "name: is required",
                                     {{"name", "名称", "必須です。", "is required", 3, "名称"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_NE(r.body.find("\"row\":3"), std::string::npos);
  EXPECT_NE(r.body.find("必須です。"), std::string::npos);
  auto internal = ProblemResponse(Error::Internal("secret detail"));
  EXPECT_EQ(internal.body.find("secret detail"), std::string::npos);
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_EQ(JsonDepth(R"({"a":[1,{"b":"[[[["}]})", 100), 3);
  EXPECT_GT(JsonDepth(std::string(100000, '['), 32), 32);
  EXPECT_EQ(JsonDepth(R"({"a":"\"{"})", 10), 1);
}

}  // namespace
}  // namespace mamori::api
