#include "common/markdown.h"

#include <gtest/gtest.h>

namespace mamori {
namespace {

TEST(Markdown, RendersHeadingsAndLists) {
  const std::string html = MarkdownToHtml("# 基本方針\n\n1. 目的\n2. 定義\n");
  EXPECT_NE(html.find("<h1>基本方針</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<ol>"), std::string::npos);
}

TEST(Markdown, DropsRawHtmlAndScriptLinks) {
  const std::string html =
      MarkdownToHtml("<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=y>");
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
  EXPECT_EQ(html.find("onerror"), std::string::npos) << html;
}

}  // namespace
}  // namespace mamori
