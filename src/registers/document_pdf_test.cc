#include "registers/document_pdf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace mamori::registers {
namespace {

namespace fs = std::filesystem;

TimePoint At(int y, unsigned m, unsigned d) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::sys_days(std::chrono::year(y) / m / d) + std::chrono::hours(9));
}

// The page count of the page tree (/Type /Pages ... /Count N), read from the file itself.
int PageTreeCount(const std::string& pdf) {
  std::smatch m;
  const std::regex pages(R"(/Type\s*/Pages[^>]*?/Count\s+(\d+))");
  if (!std::regex_search(pdf, m, pages)) return -1;
  return std::stoi(m[1]);
}

bool HaveTool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string Run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  pclose(p);
  return out;
}

class PdfFile {
 public:
  explicit PdfFile(const std::string& bytes)
      : path_(fs::temp_directory_path() / ("mamori-pdf-test-" + std::to_string(::getpid()) + "-" +
                                           std::to_string(counter_++) + ".pdf")) {
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~PdfFile() { fs::remove(path_); }
  // pdftotext's text of pages first..last (all when 0).
  std::string Text(int first = 0, int last = 0) const {
    std::string range;
    if (first > 0) range = " -f " + std::to_string(first) + " -l " + std::to_string(last);
    return Run("pdftotext -enc UTF-8" + range + " '" + path_.string() + "' -");
  }
  // pdfinfo's value of `key` ("Title", "Pages", ...).
  std::string Info(const std::string& key) const {
    const std::string info = Run("pdfinfo '" + path_.string() + "'");
    std::smatch m;
    if (!std::regex_search(info, m, std::regex("(^|\\n)" + key + ":\\s+([^\\n]*)"))) return "";
    return m[2];
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// pdftotext may put a line break or spaces inside a run of text; compare without them.
std::string Squeezed(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\f') out += c;
  }
  return out;
}

const char* kEveryConstruct = R"(# 第1章 総則

本方針は、**情報資産**の機密性、*完全性*及び可用性を維持するため、`MAMORI-01` の対策を定める。
改行はそのまま改行になる。

## 第1節 定義

1. ネットワーク
2. 情報システム
   - 入れ子の箇条その一
   - 入れ子の箇条その二
     1. 更に深い番号付き
3) 括弧付きの番号

- 箇条書き
- [デジタル庁](https://www.digital.go.jp/) の指針

### 第1項 細目

> 引用された条文である。
>
> > 二重の引用。

```
$ mamori version
コードブロック 内容
```

---

![組織図](https://example.invalid/org.png) は取り込まない。

<script>alert("x")</script>

最後の段落。
)";

TEST(DocumentPdf, RendersEveryMarkdownConstruct) {
  auto pdf = RenderPublicDocumentPdf(
      {"情報セキュリティ基本方針", "第2版", "2026-04-01", kEveryConstruct}, At(2026, 3, 15));
  ASSERT_TRUE(pdf.ok()) << pdf.error().message_en;
  const std::string& bytes = pdf->bytes;
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 5), "%PDF-");
  EXPECT_NE(bytes.find("%%EOF"), std::string::npos);
  EXPECT_EQ(pdf->pages, 1);
  EXPECT_EQ(PageTreeCount(bytes), 1);
  // The metadata: Creator in the clear, the creation date from the given time.
  EXPECT_NE(bytes.find("/Creator (Mamori)"), std::string::npos);
  // (Cairo 1.16 writes the date without its "D:" prefix; readers accept both.)
  EXPECT_TRUE(std::regex_search(bytes, std::regex(R"(/CreationDate \((D:)?20260315090000)")));
  // Nothing that would make a reader fetch or run anything.
  EXPECT_EQ(bytes.find("/URI"), std::string::npos);
  EXPECT_EQ(bytes.find("/JavaScript"), std::string::npos);

  if (!HaveTool("pdftotext") || !HaveTool("pdfinfo")) {
    GTEST_SKIP() << "poppler-utils is not installed (scripts/setup.sh --test installs it)";
  }
  PdfFile file(bytes);
  EXPECT_EQ(file.Info("Title"), "情報セキュリティ基本方針");
  EXPECT_EQ(file.Info("Creator"), "Mamori");
  EXPECT_EQ(file.Info("Pages"), "1");
  EXPECT_EQ(file.Info("Page size"), "595.276 x 841.89 pts (A4)");
  const std::string text = Squeezed(file.Text());
  for (const char* expected : {"情報セキュリティ基本方針",
                               "第2版",
                               "令和8(2026)年4月1日施行",
                               "第1章総則",
                               "第1節定義",
                               "第1項細目",
                               "情報資産",
                               "完全性",
                               "MAMORI-01",
                               "1.ネットワーク",
                               "2.情報システム",
                               "3)括弧付きの番号",
                               "入れ子の箇条その二",
                               "1.更に深い番号付き",
                               "デジタル庁(https://www.digital.go.jp/)",
                               "引用された条文",
                               "二重の引用",
                               "$mamoriversion",
                               "コードブロック内容",
                               "[画像:組織図]",
                               "最後の段落",
                               "1/1"}) {
    EXPECT_NE(text.find(Squeezed(expected)), std::string::npos) << expected << "\n" << text;
  }
  // Raw HTML is left out, as on the HTML page.
  EXPECT_EQ(text.find("alert"), std::string::npos);
  EXPECT_EQ(text.find("script"), std::string::npos);
  // Headings come in the order written, the title first.
  EXPECT_LT(text.find("情報セキュリティ基本方針"), text.find("第1章"));
  EXPECT_LT(text.find("第1章"), text.find("第1節"));
  EXPECT_LT(text.find("第1節"), text.find("第1項"));
}

TEST(DocumentPdf, LongDocumentsRunOverNumberedPages) {
  std::string body = "# 長い規程\n\n";
  for (int i = 1; i <= 400; ++i) {
    body += "第" + std::to_string(i) + "条の段落。情報資産の取扱いについて定める。\n\n";
  }
  auto pdf = RenderPublicDocumentPdf({"長い規程", "第1版", "", body}, At(2026, 4, 1));
  ASSERT_TRUE(pdf.ok()) << pdf.error().message_en;
  // About 25 one-line paragraphs fit on a page: 400 take well over ten pages.
  EXPECT_GE(pdf->pages, 10);
  EXPECT_LE(pdf->pages, 30);
  EXPECT_EQ(PageTreeCount(pdf->bytes), pdf->pages);

  if (!HaveTool("pdftotext") || !HaveTool("pdfinfo")) {
    GTEST_SKIP() << "poppler-utils is not installed (scripts/setup.sh --test installs it)";
  }
  PdfFile file(pdf->bytes);
  EXPECT_EQ(file.Info("Pages"), std::to_string(pdf->pages));
  const std::string n = std::to_string(pdf->pages);
  for (int p = 1; p <= pdf->pages; ++p) {
    const std::string page = Squeezed(file.Text(p, p));
    EXPECT_NE(page.find(std::to_string(p) + "/" + n), std::string::npos) << "page " << p;
  }
  EXPECT_NE(Squeezed(file.Text(1, 1)).find("第1条の段落"), std::string::npos);
  EXPECT_NE(Squeezed(file.Text(pdf->pages, pdf->pages)).find("第400条の段落"), std::string::npos);
  EXPECT_EQ(Squeezed(file.Text(1, 1)).find("第400条の段落"), std::string::npos);
}

// A shortened basic policy in the shape of a body's real one (目的, 定義, 対象とする脅威, ...),
// with long paragraphs Pango must break as Japanese.
const char* kBasicPolicy = R"(## 1 目的

本基本方針は、広域連合(以下「広域連合」という。)が保有する情報資産の機密性、完全性及び可用性を維持するため、広域連合が実施する情報セキュリティ対策について基本的な事項を定めることを目的とする。

## 2 定義

### (1) ネットワーク

コンピュータ等を相互に接続するための通信網、その構成機器(ハードウェア及びソフトウェア)をいう。

### (2) 情報システム

コンピュータ、ネットワーク及び電磁的記録媒体で構成され、情報処理を行う仕組みをいう。

## 3 対象とする脅威

情報資産に対する脅威として、以下の脅威を想定し、情報セキュリティ対策を実施する。

1. 不正アクセス、ウイルス攻撃、サービス不能攻撃等のサイバー攻撃や部外者の侵入等の意図的な要因による情報資産の漏えい・破壊・改ざん・消去、重要情報の詐取、内部不正等
2. 情報資産の無断持ち出し、無許可ソフトウェアの使用等の規定違反、設計・開発の不備、プログラム上の欠陥、操作・設定ミス、メンテナンス不備、内部・外部監査機能の不備、外部委託管理の不備、マネジメントの欠陥、機器故障等の非意図的要因による情報資産の漏えい・破壊・消去等
3. 地震、落雷、火災等の災害によるサービス及び業務の停止等

## 4 適用範囲

### (1) 行政機関等の範囲

本基本方針が適用される行政機関等は、事務局とする。

### (2) 情報資産の範囲

- ネットワーク、情報システム及びこれらに関する設備、電磁的記録媒体
- ネットワーク及び情報システムで取り扱う情報(これらを印刷した文書を含む。)
- 情報システムの仕様書及びネットワーク図等のシステム関連文書

## 5 職員等の遵守義務

職員等は、情報セキュリティの重要性について共通の認識を持ち、業務の遂行に当たって情報セキュリティポリシー及び情報セキュリティ実施手順を遵守しなければならない。
)";

TEST(DocumentPdf, RealisticBasicPolicy) {
  auto pdf = RenderPublicDocumentPdf(
      {"情報セキュリティ基本方針", "令和8年度版", "2026-04-01", kBasicPolicy}, At(2026, 4, 1));
  ASSERT_TRUE(pdf.ok()) << pdf.error().message_en;
  EXPECT_GE(pdf->pages, 1);
  EXPECT_EQ(PageTreeCount(pdf->bytes), pdf->pages);
  if (!HaveTool("pdftotext")) GTEST_SKIP() << "poppler-utils is not installed";
  PdfFile file(pdf->bytes);
  const std::string text = Squeezed(file.Text());
  for (const char* expected :
       {"情報セキュリティ基本方針", "1目的", "2定義", "(1)ネットワーク", "3対象とする脅威",
        "地震、落雷、火災等の災害によるサービス及び業務の停止等", "5職員等の遵守義務",
        "情報セキュリティ実施手順を遵守しなければならない。"}) {
    EXPECT_NE(text.find(Squeezed(expected)), std::string::npos) << expected;
  }
  // The long paragraph was broken into several lines, none wider than the text area: the
  // raw text keeps each line under about 45 characters (40 or so of 10.5 pt on 158 mm).
  const std::string raw = file.Text();
  size_t longest = 0, start = 0;
  for (size_t nl; (nl = raw.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = raw.substr(start, nl - start);
    size_t chars = 0;
    for (const char c : line) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    longest = std::max(longest, chars);
  }
  EXPECT_GT(longest, 30u);
  EXPECT_LT(longest, 50u);
}

TEST(DocumentPdf, BoundedOutput) {
  // A body within the field's 400,000 characters that would run past kMaxPdfPages.
  std::string body;
  for (int i = 0; i < 70'000; ++i) body += "---\n\n";
  auto pdf = RenderPublicDocumentPdf({"長すぎる文書", "", "", body}, At(2026, 4, 1));
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(pdf.error().message.find("1000 頁"), std::string::npos);
}

TEST(DocumentPdf, DeepNestingAndOddInputStillRender) {
  std::string body;
  for (int i = 0; i < 200; ++i) body += std::string(static_cast<size_t>(i % 40), '>') + " 引用\n";
  for (int i = 0; i < 60; ++i) body += std::string(static_cast<size_t>(i * 2), ' ') + "- 箇条\n";
  body += "\n制御文字\x01\x02を含む & <b>タグ</b> \xff\xfe 不正なバイト\n";
  auto pdf = RenderPublicDocumentPdf({"<見出し> & \"引用符\"", "", "", body}, At(2026, 4, 1));
  ASSERT_TRUE(pdf.ok()) << pdf.error().message_en;
  EXPECT_EQ(pdf->bytes.substr(0, 5), "%PDF-");
  if (!HaveTool("pdftotext")) GTEST_SKIP() << "poppler-utils is not installed";
  const std::string text = Squeezed(PdfFile(pdf->bytes).Text());
  EXPECT_NE(text.find("<見出し>&\"引用符\""), std::string::npos) << text.substr(0, 200);
  EXPECT_NE(text.find("制御文字を含む&"), std::string::npos);
}

TEST(JapaneseDate, ReiwaWithTheGregorianYear) {
  EXPECT_EQ(JapaneseDate("2026-04-01"), "令和8(2026)年4月1日");
  EXPECT_EQ(JapaneseDate("2019-05-01"), "令和元(2019)年5月1日");
  EXPECT_EQ(JapaneseDate("2019-04-30"), "2019年4月30日");
  EXPECT_EQ(JapaneseDate("2026-4-1"), "2026-4-1");
  EXPECT_EQ(JapaneseDate(""), "");
}

}  // namespace
}  // namespace mamori::registers
