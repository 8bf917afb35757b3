#include "registers/tabular.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zip.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mamori::tabular {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<Row> Rows(std::initializer_list<Row> rows) { return rows; }

// ---------------------------------------------------------------------------------------------
// CSV

TEST(ReadCsvTest, ReadsUtf8) {
  const auto sheet = ReadCsv("名前,課\n山田,総務課\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"名前", "課"}, {"山田", "総務課"}}));
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(sheet->encoding, TextEncoding::kUtf8);
}

TEST(ReadCsvTest, ReadsUtf8WithBom) {
  const auto sheet = ReadCsv("\xEF\xBB\xBF資産名,分類\r\nノートPC,機密性2\r\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"資産名", "分類"}, {"ノートPC", "機密性2"}}));
  EXPECT_EQ(sheet->encoding, TextEncoding::kUtf8Bom);
}

TEST(ReadCsvTest, ReadsCp932AsJapaneseExcelWritesIt) {
  // 総務課,資産名 / 情報システム課,ﾃｽﾄ / 表,ソフト (0x5C trail bytes) in Shift_JIS.
  const std::string bytes =
      "\x91\x8D\x96\xB1\x89\xDB,\x8E\x91\x8E\x59\x96\xBC\r\n"
      "\x8F\xEE\x95\xF1\x83\x56\x83\x58\x83\x65\x83\x80\x89\xDB,\xC3\xBD\xC4\r\n"
      "\x95\x5C,\x83\x5C\x83\x74\x83\x67\r\n";
  const auto sheet = ReadCsv(bytes);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->encoding, TextEncoding::kCp932);
  EXPECT_EQ(sheet->rows, Rows({{"総務課", "資産名"}, {"情報システム課", "ﾃｽﾄ"}, {"表", "ソフト"}}));
}

TEST(ReadCsvTest, UndecodableBytesAreInvalid) {
  const auto sheet = ReadCsv("a,b\n\x81");  // a lone Shift_JIS lead byte
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput);
}

TEST(ReadCsvTest, QuotedCommasQuotesAndNewlines) {
  const auto sheet = ReadCsv(
      "名前,備考\n"
      "\"山田, 太郎\",\"1行目\n2行目\"\n"
      "\"言った\"\"はい\"\"\",\"\"\n"
      "last,\"a\r\nb\"\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"名前", "備考"},
                               {"山田, 太郎", "1行目\n2行目"},
                               {"言った\"はい\"", ""},
                               {"last", "a\r\nb"}}));
  // Records start on lines 1, 2, 4 and 5: the second record spans two lines.
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{1, 2, 4, 5}));
}

TEST(ReadCsvTest, CrLfLoneCrAndMissingFinalNewline) {
  const auto sheet = ReadCsv("a,b\r\n1,2\r3,4");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"a", "b"}, {"1", "2"}, {"3", "4"}}));
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{1, 2, 3}));
}

TEST(ReadCsvTest, SkipsBlankLinesAndKeepsLineNumbers) {
  const auto sheet = ReadCsv("\r\na,b\r\n\r\n\n1,2\n\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{2, 5}));
}

TEST(ReadCsvTest, EmptyInputHasNoRows) {
  for (const std::string_view input : {"", "\xEF\xBB\xBF", "\r\n\n"}) {
    const auto sheet = ReadCsv(input);
    ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
    EXPECT_TRUE(sheet->rows.empty());
  }
}

TEST(ReadCsvTest, PadsShortRowsAndKeepsEmptyFields) {
  const auto sheet = ReadCsv("a,b,c\n1\n,,\n2,\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"a", "b", "c"}, {"1", "", ""}, {"", "", ""}, {"2", "", ""}}));
}

TEST(ReadCsvTest, KeepsSpacesAndDoesNotTrim) {
  const auto sheet = ReadCsv(" a , b\n　全角,x \n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{" a ", " b"}, {"　全角", "x "}}));
}

TEST(ReadCsvTest, QuoteInsideUnquotedFieldNamesTheLine) {
  const auto sheet = ReadCsv("a,b\n1,2\n3,4\"5\n");
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput);
  EXPECT_PRED2(Contains, sheet.error().message, "3 行目");
  EXPECT_PRED2(Contains, sheet.error().message_en, "line 3");
}

TEST(ReadCsvTest, UnterminatedQuoteNamesTheLineWhereItOpened) {
  const auto sheet = ReadCsv("a,b\n1,2\nx,\"never closed\n\n\nmore");
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(sheet.error().message, "3 行目: 引用符が閉じられていません。");
}

TEST(ReadCsvTest, TextAfterClosingQuoteNamesTheLine) {
  // The quoted field spans lines 2-3; the stray text is on line 3.
  const auto sheet = ReadCsv("a,b\n\"x\ny\"z,1\n");
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput);
  EXPECT_PRED2(Contains, sheet.error().message, "3 行目");
}

TEST(ReadCsvTest, RowWiderThanHeaderNamesLineAndCounts) {
  const auto sheet = ReadCsv("a,b,c\n1,2,3\n\n1,2,3,4,5\n");
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput);
  EXPECT_PRED2(Contains, sheet.error().message, "4 行目");
  EXPECT_PRED2(Contains, sheet.error().message, "見出し 3 列");
  EXPECT_PRED2(Contains, sheet.error().message, "この行 5 列");
  EXPECT_EQ(sheet.error().message_en, "line 4: 5 cells but the header has 3");
}

TEST(ReadCsvTest, RemovesTheWritersFormulaGuard) {
  const auto sheet = ReadCsv("a,b,c,d,e,f\n'=1+2,'+81,'-5,'@x,'abc,''=x\n");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows[1], (Row{"=1+2", "+81", "-5", "@x", "'abc", "'=x"}));
}

TEST(WriteCsvTest, WritesBomCrLfQuotingAndFormulaGuard) {
  const std::string csv =
      WriteCsv({{"名前", "備考"}, {"a,b", "say \"hi\""}, {"=SUM(A1)", "1\n2"}, {""}, {}});
  EXPECT_EQ(csv,
            "\xEF\xBB\xBF名前,備考\r\n"
            "\"a,b\",\"say \"\"hi\"\"\"\r\n"
            "'=SUM(A1),\"1\n2\"\r\n"
            "\"\"\r\n"
            "\r\n");
}

TEST(WriteCsvTest, RoundTripsAwkwardText) {
  const std::vector<Row> rows = {
      {"項目", "値", "備考"},
      {"=cmd|' /C calc'!A0", "+1", "-1"},
      {"@SUM(1)", "'=already", "'plain"},
      {"'", "''", "''+x"},
      {"comma,", "quote\"", "crlf\r\nlf\ncr\r"},
      {"", "", ""},
      {"全角　スペース", " lead", "trail "},
  };
  const auto sheet = ReadCsv(WriteCsv(rows));
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, rows);
  EXPECT_EQ(sheet->encoding, TextEncoding::kUtf8Bom);
}

TEST(WriteCsvTest, RoundTripsSingleEmptyCellRows) {
  const std::vector<Row> rows = {{"見出し"}, {""}, {"x"}};
  const auto sheet = ReadCsv(WriteCsv(rows));
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, rows);
}

TEST(ReadCsvTest, Limits) {
  Limits limits;
  limits.max_bytes = 100;
  limits.max_rows = 3;
  limits.max_columns = 4;
  limits.max_cell_bytes = 10;

  EXPECT_TRUE(ReadCsv("a,b,c,d\n1,2,3,4\n5\n", limits).ok());
  EXPECT_EQ(ReadCsv(std::string(101, 'a'), limits).error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(ReadCsv("a\n1\n2\n3\n", limits).error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(ReadCsv("a,b,c,d,e\n", limits).error().code, ErrorCode::kTooLarge);
  const auto long_cell = ReadCsv("a,b\n1,\"12345678901\"\n", limits);
  ASSERT_FALSE(long_cell.ok());
  EXPECT_EQ(long_cell.error().code, ErrorCode::kTooLarge);
  EXPECT_PRED2(Contains, long_cell.error().message, "2 行目 2 列目");
}

TEST(ReadCsvTest, PaddingCountsAgainstTheSizeLimit) {
  // A wide header and many one-character rows: small input, large padded table.
  Limits limits;
  limits.max_bytes = 10'000;
  std::string csv(255, ',');
  csv += '\n';
  for (int i = 0; i < 1000; ++i) csv += "x\n";
  ASSERT_LE(csv.size(), limits.max_bytes);
  const auto sheet = ReadCsv(csv, limits);
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge);
}

// ---------------------------------------------------------------------------------------------
// XLSX helpers

using Files = std::vector<std::pair<std::string, std::string>>;

// A ZIP archive in memory, built with libzip.
std::string MakeZip(const Files& files, zip_int32_t method = ZIP_CM_DEFLATE) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(buffer);
  zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  EXPECT_NE(zip, nullptr);
  for (const auto& [name, data] : files) {
    zip_source_t* source = zip_source_buffer(zip, data.data(), data.size(), 0);
    const zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    EXPECT_GE(index, 0);
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), method, 0);
  }
  EXPECT_EQ(zip_close(zip), 0);
  zip_stat_t stat;
  zip_stat_init(&stat);
  EXPECT_EQ(zip_source_stat(buffer, &stat), 0);
  std::string out(stat.size, '\0');
  EXPECT_EQ(zip_source_open(buffer), 0);
  EXPECT_EQ(zip_source_read(buffer, out.data(), out.size()), static_cast<zip_int64_t>(out.size()));
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

// One part of an archive, or "" when absent.
std::string ReadZipPart(const std::string& archive, const std::string& name) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(archive.data(), archive.size(), 0, &error);
  zip_t* zip = zip_open_from_source(source, ZIP_RDONLY, &error);
  zip_error_fini(&error);
  if (zip == nullptr) {
    zip_source_free(source);
    return "";
  }
  std::string out;
  if (zip_file_t* file = zip_fopen(zip, name.c_str(), 0)) {
    char buffer[4096];
    zip_int64_t n = 0;
    while ((n = zip_fread(file, buffer, sizeof buffer)) > 0) out.append(buffer, n);
    zip_fclose(file);
  }
  zip_discard(zip);
  return out;
}

constexpr std::string_view kMainNs =
    R"(xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" )"
    R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships")";

std::string Worksheet(std::string_view sheet_data) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet " +
         std::string(kMainNs) + "><sheetData>" + std::string(sheet_data) +
         "</sheetData></worksheet>";
}

// A minimal workbook whose only part is xl/worksheets/sheet1.xml (the fallback path).
std::string MinimalXlsx(std::string_view sheet_data) {
  return MakeZip({{"xl/worksheets/sheet1.xml", Worksheet(sheet_data)}});
}

// ---------------------------------------------------------------------------------------------
// XLSX

TEST(XlsxTest, RoundTripsJapaneseTextAndEmptyCells) {
  const std::vector<Row> rows = {
      {"資産名", "管理課", "", "分類"},
      {"ノートPC", "", "", "機密性2"},
      {"", "総務課", "中", ""},
      {"ｻｰﾊﾞ", "情報政策課", "", "機密性3"},
  };
  const auto xlsx = WriteXlsx(rows, "資産台帳");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  const auto sheet = ReadXlsx(*xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, rows);
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{1, 2, 3, 4}));
  EXPECT_EQ(sheet->encoding, TextEncoding::kUtf8);
}

TEST(XlsxTest, RoundTripsAwkwardText) {
  const std::vector<Row> rows = {
      {"text", "more"},
      {"=1+2", "00123"},              // a formula-looking text and a number-looking text
      {"_x0041_ literal", "a\x01z"},  // OOXML escape syntax and a control character
      {"crlf\r\nlf\ncr\rend", "tab\there"},
      {"  spaces  ", "絵文字😀"},
      {"<&>\"'", "\xEF\xBF\xBE"},  // XML specials; U+FFFE
      {"TRUE", "1.50"},
  };
  const auto xlsx = WriteXlsx(rows, "Sheet");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  const auto sheet = ReadXlsx(*xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, rows);
}

TEST(XlsxTest, RoundTripsManyRows) {
  std::vector<Row> rows = {{"番号", "名前", "備考"}};
  for (int i = 1; i <= 5000; ++i) {
    rows.push_back({std::to_string(i), "職員" + std::to_string(i), i % 7 == 0 ? "" : "備考"});
  }
  const auto xlsx = WriteXlsx(rows, "一覧");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  const auto sheet = ReadXlsx(*xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, rows);
  ASSERT_EQ(sheet->source_rows.size(), rows.size());
  EXPECT_EQ(sheet->source_rows.back(), 5001u);
}

// The ZIP bomb check (100 to 1) must not refuse what Mamori itself exports, even when every
// row is the same.
TEST(XlsxTest, RoundTripsALargeRepetitiveExport) {
  std::vector<Row> rows = {{"分類", "課", "備考", "数"}};
  for (int i = 0; i < 100'000; ++i) rows.push_back({"機密性2", "総務課", "", "1"});
  const auto xlsx = WriteXlsx(rows, "一覧");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  const auto sheet = ReadXlsx(*xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows.size(), rows.size());
}

TEST(XlsxTest, WriterFormatsTheHeaderAndWorksheet) {
  const auto xlsx = WriteXlsx({{"資産名", "分類"}, {"PC", "2"}, {"サーバ機器", "3"}}, "台帳");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  const std::string sheet = ReadZipPart(*xlsx, "xl/worksheets/sheet1.xml");
  EXPECT_PRED2(Contains, sheet, "<autoFilter ref=\"A1:B3\"/>");
  EXPECT_PRED2(Contains, sheet, "ySplit=\"1\"");
  EXPECT_PRED2(Contains, sheet, "state=\"frozen\"");
  EXPECT_PRED2(Contains, sheet, "<cols>");
  EXPECT_EQ(sheet.find("<f>"), std::string::npos);  // never a formula
  EXPECT_PRED2(Contains, ReadZipPart(*xlsx, "xl/styles.xml"), "<b/>");
  EXPECT_PRED2(Contains, ReadZipPart(*xlsx, "xl/workbook.xml"), "name=\"台帳\"");
}

TEST(XlsxTest, WriterSanitizesTheSheetName) {
  const auto xlsx = WriteXlsx({{"a"}}, "'[資産]:台帳/2024?*\\'");
  ASSERT_TRUE(xlsx.ok()) << xlsx.error().message_en;
  EXPECT_PRED2(Contains, ReadZipPart(*xlsx, "xl/workbook.xml"), "name=\"_資産__台帳_2024___\"");

  const auto long_name = WriteXlsx({{"a"}}, std::string(40, 'x'));
  ASSERT_TRUE(long_name.ok()) << long_name.error().message_en;
  EXPECT_PRED2(Contains, ReadZipPart(*long_name, "xl/workbook.xml"),
               "name=\"" + std::string(31, 'x') + "\"");

  const auto empty = WriteXlsx({{"a"}}, "''");
  ASSERT_TRUE(empty.ok()) << empty.error().message_en;
  EXPECT_PRED2(Contains, ReadZipPart(*empty, "xl/workbook.xml"), "name=\"Sheet1\"");
}

TEST(XlsxTest, WriterRejectsInvalidUtf8AndOverlongCells) {
  const auto bad = WriteXlsx({{"a"}, {"\xFF"}}, "s");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_PRED2(Contains, bad.error().message, "A2");
  const auto long_cell = WriteXlsx({{"a"}, {std::string(32'768, 'x')}}, "s");
  ASSERT_FALSE(long_cell.ok());
  EXPECT_EQ(long_cell.error().code, ErrorCode::kTooLarge);
  EXPECT_TRUE(WriteXlsx({}, "empty").ok());
}

// A workbook as Excel writes it: the first sheet found through workbook.xml and its
// relationships, shared strings with rich text and furigana, styles with date formats.
std::string HandMadeXlsx() {
  const std::string workbook =
      "<workbook " + std::string(kMainNs) +
      "><workbookPr/><sheets>"
      "<sheet name=\"隠し\" sheetId=\"3\" state=\"hidden\" r:id=\"rId3\"/>"
      "<sheet name=\"台帳\" sheetId=\"1\" r:id=\"rId1\"/>"
      "<sheet name=\"別\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
  const std::string rels =
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId2\" "
      "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
      "Target=\"worksheets/sheet1.xml\"/>"
      "<Relationship Id=\"rId1\" "
      "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
      "Target=\"/xl/worksheets/../worksheets/data.xml\"/>"
      "<Relationship Id=\"rId3\" "
      "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
      "Target=\"worksheets/hidden.xml\"/>"
      "</Relationships>";
  const std::string shared =
      "<sst " + std::string(kMainNs) +
      " count=\"4\" uniqueCount=\"4\">"
      "<si><t>資産名</t></si>"
      "<si><r><rPr><b/></rPr><t>機密</t></r><r><t xml:space=\"preserve\">性 2</t></r></si>"
      "<si><t>総務課</t><rPh sb=\"0\" eb=\"3\"><t>ソウムカ</t></rPh>"
      "<phoneticPr fontId=\"1\"/></si>"
      "<si><t>line1_x000D_\nline2</t></si>"
      "</sst>";
  const std::string styles =
      "<styleSheet " + std::string(kMainNs) +
      "><numFmts count=\"2\">"
      "<numFmt numFmtId=\"164\" formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/>"
      "<numFmt numFmtId=\"165\" formatCode=\"[Red]&quot;day&quot;#,##0.00\"/>"
      "</numFmts><cellXfs count=\"5\">"
      "<xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/>"
      "<xf numFmtId=\"165\"/><xf numFmtId=\"20\"/>"
      "</cellXfs></styleSheet>";
  const std::string data = Worksheet(
      "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
      "<c r=\"C1\" t=\"inlineStr\"><is><t>数値</t></is></c>"
      "<c r=\"D1\" t=\"inlineStr\"><is><t>日付</t></is></c><c r=\"E1\" s=\"3\"/></row>"
      "<row r=\"2\"/>"  // empty: skipped
      "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>2</v></c><c r=\"B3\" t=\"b\"><v>1</v></c>"
      "<c r=\"C3\"><v>42</v></c><c r=\"D3\" s=\"1\"><v>45292</v></c></row>"
      "<row r=\"4\"><c r=\"B4\" t=\"b\"><v>0</v></c><c r=\"C4\" s=\"3\"><v>3.25</v></c>"
      "<c r=\"D4\" s=\"2\"><v>45382.75</v></c></row>"
      "<row r=\"5\"><c r=\"A5\" t=\"s\"><v>3</v></c><c r=\"B5\" t=\"e\"><v>#N/A</v></c>"
      "<c r=\"C5\"><f>0.1+0.2</f><v>0.30000000000000004</v></c>"
      "<c r=\"D5\" s=\"1\"><v>60</v></c></row>"
      "<row r=\"7\"><c r=\"A7\" t=\"str\"><f>A1</f><v>式の結果</v></c>"
      "<c r=\"C7\"><v>-1.5E-3</v></c><c r=\"D7\" s=\"4\"><v>0.5</v></c></row>");
  return MakeZip({
      {"[Content_Types].xml", "<Types/>"},
      {"xl/workbook.xml", workbook},
      {"xl/_rels/workbook.xml.rels", rels},
      {"xl/sharedStrings.xml", shared},
      {"xl/styles.xml", styles},
      {"xl/worksheets/data.xml", data},
      {"xl/worksheets/sheet1.xml", Worksheet("<row r=\"1\"><c><v>9</v></c></row>")},
      {"xl/worksheets/hidden.xml", Worksheet("<row r=\"1\"><c><v>8</v></c></row>")},
  });
}

TEST(XlsxTest, ReadsAHandMadeWorkbook) {
  const auto sheet = ReadXlsx(HandMadeXlsx());
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({
                             {"資産名", "機密性 2", "数値", "日付"},
                             {"総務課", "TRUE", "42", "2024-01-01"},
                             {"", "FALSE", "3.25", "2024-03-31"},
                             {"line1\r\nline2", "#N/A", "0.3", "1900-02-29"},
                             {"式の結果", "", "-0.0015", "12:00:00"},
                         }));
  EXPECT_EQ(sheet->source_rows, (std::vector<size_t>{1, 3, 4, 5, 7}));
}

TEST(XlsxTest, NumbersAndDates) {
  const std::string styles =
      "<styleSheet " + std::string(kMainNs) +
      "><cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/></cellXfs></styleSheet>";
  struct Case {
    std::string v;
    int style;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"0", 0, "0"},
      {"-0", 0, "0"},
      {"123456789012", 0, "123456789012"},
      {"1e20", 0, "1e+20"},
      {"0.1", 0, "0.1"},
      {"1.0", 0, "1"},
      {"2.5E-7", 0, "2.5e-07"},
      {"1", 1, "1900-01-01"},
      {"59", 1, "1900-02-28"},
      {"60", 1, "1900-02-29"},
      {"61", 1, "1900-03-01"},
      {"2958465", 1, "9999-12-31"},
      {"-1", 1, "-1"},  // before Excel's dates: left as a number
  };
  for (const Case& c : cases) {
    const std::string xlsx =
        MakeZip({{"xl/styles.xml", styles},
                 {"xl/worksheets/sheet1.xml",
                  Worksheet("<row r=\"1\"><c r=\"A1\" s=\"" + std::to_string(c.style) + "\"><v>" +
                            c.v + "</v></c></row>")}});
    const auto sheet = ReadXlsx(xlsx);
    ASSERT_TRUE(sheet.ok()) << c.v << ": " << sheet.error().message_en;
    EXPECT_EQ(sheet->rows, Rows({{c.want}})) << c.v;
  }
}

TEST(XlsxTest, Reads1904DateSystem) {
  const std::string xlsx = MakeZip({
      {"xl/workbook.xml",
       "<workbook " + std::string(kMainNs) + "><workbookPr date1904=\"1\"/></workbook>"},
      {"xl/styles.xml",
       "<styleSheet><cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/>"
       "</cellXfs></styleSheet>"},
      {"xl/worksheets/sheet1.xml", Worksheet("<row><c s=\"1\"><v>1</v></c></row>")},
  });
  const auto sheet = ReadXlsx(xlsx);
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"1904-01-02"}}));
}

TEST(XlsxTest, ReadsPrefixedElementsAndCellsWithoutReferences) {
  const std::string xml =
      "<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
      "<x:sheetData><x:row><x:c t=\"inlineStr\"><x:is><x:t>a</x:t></x:is></x:c>"
      "<x:c><x:v>1</x:v></x:c></x:row>"
      "<x:row><x:c r=\"B2\"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>";
  const auto sheet = ReadXlsx(MakeZip({{"xl/worksheets/sheet1.xml", xml}}));
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"a", "1"}, {"", "2"}}));
}

TEST(XlsxTest, PadsRowsToTheWidestRow) {
  const auto sheet =
      ReadXlsx(MinimalXlsx("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>h</t></is></c></row>"
                           "<row r=\"2\"><c r=\"C2\"><v>3</v></c></row>"));
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_EQ(sheet->rows, Rows({{"h", "", ""}, {"", "", "3"}}));
}

TEST(XlsxTest, MalformedInputIsInvalid) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not a zip", "this is not a zip file"},
      {"truncated zip", MinimalXlsx("<row><c><v>1</v></c></row>").substr(0, 60)},
      {"no worksheet", MakeZip({{"xl/workbook.xml", "<workbook/>"}})},
      {"bad xml", MinimalXlsx("<row><c><v>1</v></row>")},
      {"not a worksheet", MakeZip({{"xl/worksheets/sheet1.xml", "<html/>"}})},
      {"shared string out of range",
       MinimalXlsx("<row r=\"1\"><c r=\"B1\" t=\"s\"><v>5</v></c></row>")},
      {"bad number", MinimalXlsx("<row><c><v>12abc</v></c></row>")},
      {"bad boolean", MinimalXlsx("<row><c t=\"b\"><v>2</v></c></row>")},
      {"unknown type", MinimalXlsx("<row><c t=\"zz\"><v>2</v></c></row>")},
      {"bad reference", MinimalXlsx("<row><c r=\"1A\"><v>2</v></c></row>")},
      {"rows out of order", MinimalXlsx("<row r=\"2\"><c><v>1</v></c></row>"
                                        "<row r=\"1\"><c><v>1</v></c></row>")},
      {"duplicate cell",
       MinimalXlsx("<row><c r=\"B1\"><v>1</v></c><c r=\"B1\"><v>1</v></c></row>")},
      {"column beyond XFD", MinimalXlsx("<row><c r=\"XFE1\"><v>1</v></c></row>")},
      {"invalid utf-8", MinimalXlsx("<row><c t=\"inlineStr\"><is><t>\xFF</t></is></c></row>")},
      {"bad sheet xml in styles",
       MakeZip({{"xl/styles.xml", "<a"}, {"xl/worksheets/sheet1.xml", Worksheet("")}})},
  };
  for (const auto& [what, bytes] : cases) {
    const auto sheet = ReadXlsx(bytes);
    ASSERT_FALSE(sheet.ok()) << what;
    EXPECT_EQ(sheet.error().code, ErrorCode::kInvalidInput)
        << what << ": " << sheet.error().message_en;
  }
  const auto named = ReadXlsx(MinimalXlsx("<row r=\"1\"><c r=\"B1\" t=\"s\"><v>5</v></c></row>"));
  EXPECT_PRED2(Contains, named.error().message, "B1 セル");
}

TEST(XlsxTest, EmptySheetHasNoRows) {
  const auto sheet = ReadXlsx(MinimalXlsx(""));
  ASSERT_TRUE(sheet.ok()) << sheet.error().message_en;
  EXPECT_TRUE(sheet->rows.empty());
}

TEST(XlsxTest, OversizedPartIsTooLarge) {
  Limits limits;
  limits.max_bytes = 100'000;
  limits.max_unpacked_bytes = 100'000;
  // 2 MB of XML that deflates to a few kilobytes.
  const std::string padding(2'000'000, ' ');
  const std::string xlsx = MinimalXlsx("<row><c><v>1</v></c></row>" + padding);
  ASSERT_LT(xlsx.size(), limits.max_bytes);
  const auto sheet = ReadXlsx(xlsx, limits);
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge);
}

// Overwrites the 32-bit little-endian uncompressed size of every header naming `name`.
void FakeUncompressedSize(std::string& zip, const std::string& name, uint32_t size) {
  const auto put = [&](size_t at) {
    for (int k = 0; k < 4; ++k) zip[at + k] = static_cast<char>((size >> (8 * k)) & 0xFF);
  };
  for (size_t at = zip.find("PK\x03\x04"); at != std::string::npos;
       at = zip.find("PK\x03\x04", at + 1)) {
    if (zip.compare(at + 30, name.size(), name) == 0) put(at + 22);
  }
  for (size_t at = zip.find("PK\x01\x02"); at != std::string::npos;
       at = zip.find("PK\x01\x02", at + 1)) {
    if (zip.compare(at + 46, name.size(), name) == 0) put(at + 24);
  }
}

TEST(XlsxTest, PartLyingAboutItsSizeIsTooLarge) {
  Limits limits;
  limits.max_bytes = 100'000;
  limits.max_unpacked_bytes = 100'000;
  std::string xlsx = MinimalXlsx("<row><c><v>1</v></c></row>" + std::string(2'000'000, ' '));
  FakeUncompressedSize(xlsx, "xl/worksheets/sheet1.xml", 100);
  const auto sheet = ReadXlsx(xlsx, limits);
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge) << sheet.error().message_en;
}

TEST(XlsxTest, TooManyEntriesIsTooLarge) {
  Files files;
  for (int i = 0; i <= 10'000; ++i) files.push_back({"f" + std::to_string(i), ""});
  const auto sheet = ReadXlsx(MakeZip(files, ZIP_CM_STORE));
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge);
}

TEST(XlsxTest, AllPartsShareOneUnpackedBudget) {
  Limits limits;
  limits.max_bytes = 100'000;
  limits.max_unpacked_bytes = 100'000;
  // Each part fits the limit on its own; together they do not.
  const std::string styles = "<styleSheet>" + std::string(60'000, ' ') + "</styleSheet>";
  const std::string xlsx =
      MakeZip({{"xl/styles.xml", styles},
               {"xl/worksheets/sheet1.xml",
                Worksheet("<row><c><v>1</v></c></row>" + std::string(60'000, ' '))}});
  ASSERT_LT(xlsx.size(), limits.max_bytes);
  const auto sheet = ReadXlsx(xlsx, limits);
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge) << sheet.error().message_en;
  EXPECT_PRED2(Contains, sheet.error().message_en, "in all");
}

TEST(XlsxTest, PartThatInflatesTooMuchIsTooLarge) {
  // 4 MB of spaces deflate to a few kilobytes: far beyond 100 to 1, though within max_bytes.
  const std::string xlsx = MinimalXlsx("<row><c><v>1</v></c></row>" + std::string(4'000'000, ' '));
  const auto sheet = ReadXlsx(xlsx);
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge) << sheet.error().message_en;
  EXPECT_PRED2(Contains, sheet.error().message_en, "inflates");
  // The same part stored without compression reads.
  const auto stored =
      ReadXlsx(MakeZip({{"xl/worksheets/sheet1.xml",
                         Worksheet("<row><c><v>1</v></c></row>" + std::string(4'000'000, ' '))}},
                       ZIP_CM_STORE));
  EXPECT_TRUE(stored.ok()) << stored.error().message_en;
}

// The peak resident set size of this process, in bytes.
size_t PeakRss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;  // kilobytes on Linux
}

// The reported case: a 92 KB workbook whose shared strings are 60 MiB of "<si/>" made the
// reader build a tree of 12 million elements and use 1.6 GB.
TEST(XlsxTest, MillionsOfEmptySharedStringsAreRefusedQuickly) {
  std::string sst = "<sst>";
  for (int i = 0; i < 12'582'912; ++i) sst += "<si/>";
  sst += "</sst>";
  const std::string xlsx =
      MakeZip({{"xl/sharedStrings.xml", sst}, {"xl/worksheets/sheet1.xml", Worksheet("")}});
  sst = std::string();
  ASSERT_LT(xlsx.size(), 200'000u);
  const size_t rss_before = PeakRss();
  const auto start = std::chrono::steady_clock::now();
  const auto sheet = ReadXlsx(xlsx);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(sheet.ok());
  EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge) << sheet.error().message_en;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_LT(PeakRss() - rss_before, size_t{200} << 20);

  // Stored without compression (no ZIP bomb to see), the count of shared strings still stops
  // it before the tree is built: 2,000,001 of them is one beyond the cap.
  std::string stored_sst = "<sst>";
  for (int i = 0; i < 2'000'001; ++i) stored_sst += "<x:si/>";
  stored_sst += "</sst>";
  const auto stored = ReadXlsx(
      MakeZip({{"xl/sharedStrings.xml", stored_sst}, {"xl/worksheets/sheet1.xml", Worksheet("")}},
              ZIP_CM_STORE));
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code, ErrorCode::kTooLarge) << stored.error().message_en;
  EXPECT_PRED2(Contains, stored.error().message, "共有文字列が多すぎます");
}

TEST(XlsxTest, SharedStringsAndCellsAreCappedByTheTableLimits) {
  Limits limits;
  limits.max_rows = 10;
  limits.max_columns = 10;
  auto sst = [](int n) {
    std::string xml = "<sst>";
    for (int i = 0; i < n; ++i) xml += "<si><t>s" + std::to_string(i) + "</t></si>";
    return xml + "</sst>";
  };
  const auto fits = ReadXlsx(
      MakeZip({{"xl/sharedStrings.xml", sst(100)},
               {"xl/worksheets/sheet1.xml", Worksheet("<row><c t=\"s\"><v>99</v></c></row>")}}),
      limits);
  ASSERT_TRUE(fits.ok()) << fits.error().message_en;
  EXPECT_EQ(fits->rows, Rows({{"s99"}}));
  const auto strings = ReadXlsx(
      MakeZip({{"xl/sharedStrings.xml", sst(101)}, {"xl/worksheets/sheet1.xml", Worksheet("")}}),
      limits);
  ASSERT_FALSE(strings.ok());
  EXPECT_EQ(strings.error().code, ErrorCode::kTooLarge);

  // Styled empty cells count: they cost as much as cells with values.
  std::string row;
  for (int i = 0; i < 101; ++i) row += "<c s=\"1\"/>";
  const auto cells = ReadXlsx(MinimalXlsx("<row>" + row + "</row>"), limits);
  ASSERT_FALSE(cells.ok());
  EXPECT_EQ(cells.error().code, ErrorCode::kTooLarge);
  EXPECT_PRED2(Contains, cells.error().message_en, "cells");
}

TEST(XlsxTest, Limits) {
  Limits limits;
  limits.max_rows = 2;
  limits.max_columns = 2;
  limits.max_cell_bytes = 5;
  const auto ok = ReadXlsx(MinimalXlsx("<row><c><v>1</v></c><c><v>12345</v></c></row>"
                                       "<row><c><v>1</v></c></row>"),
                           limits);
  EXPECT_TRUE(ok.ok()) << ok.error().message_en;
  const std::vector<std::string> too_large = {
      MinimalXlsx("<row><c><v>1</v></c></row><row><c><v>1</v></c></row>"
                  "<row><c><v>1</v></c></row>"),
      MinimalXlsx("<row><c r=\"C1\"><v>1</v></c></row>"),
      MinimalXlsx("<row><c><v>123456</v></c></row>"),
  };
  for (const std::string& xlsx : too_large) {
    const auto sheet = ReadXlsx(xlsx, limits);
    ASSERT_FALSE(sheet.ok());
    EXPECT_EQ(sheet.error().code, ErrorCode::kTooLarge) << sheet.error().message_en;
  }
  // Styled but empty cells far to the right do not count against max_columns.
  const auto styled =
      ReadXlsx(MinimalXlsx("<row><c><v>1</v></c><c r=\"Z1\" s=\"0\"/></row>"), limits);
  EXPECT_TRUE(styled.ok());

  Limits small;
  small.max_bytes = 50;
  const auto file = ReadXlsx(MinimalXlsx(""), small);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace mamori::tabular
