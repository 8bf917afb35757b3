#include "common/text.h"

#include <gtest/gtest.h>

namespace mamori {
namespace {

TEST(NormalizeForSearch, FoldsKanaWidthAndCase) {
  EXPECT_EQ(NormalizeForSearch("ソウムカ"), "そうむか");
  EXPECT_EQ(NormalizeForSearch("ｿｳﾑｶ"), "そうむか");
  EXPECT_EQ(NormalizeForSearch("ｷﾞｮｳｾｲ"), "ぎょうせい");
  EXPECT_EQ(NormalizeForSearch("ﾊﾟｿｺﾝ"), "ぱそこん");
  EXPECT_EQ(NormalizeForSearch("ＬＧＷＡＮ　接続系"), "lgwan 接続系");
  EXPECT_EQ(NormalizeForSearch("  A  b "), "a b");
  EXPECT_EQ(NormalizeForSearch("総務課"), "総務課");
}

TEST(NormalizeForSearch, DropsInvalidBytes) {
  EXPECT_EQ(NormalizeForSearch("a\xFF"
                               "b"),
            "ab");
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(IsValidUtf8("広域連合"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE3\x81"));      // truncated
  EXPECT_EQ(Utf8Length("総務課a"), 4u);
}

TEST(DecodeJapaneseText, DetectsEncodings) {
  auto plain = DecodeJapaneseText("総務課");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->encoding, TextEncoding::kUtf8);

  auto bom = DecodeJapaneseText("\xEF\xBB\xBF総務課");
  ASSERT_TRUE(bom.ok());
  EXPECT_EQ(bom->text, "総務課");
  EXPECT_EQ(bom->encoding, TextEncoding::kUtf8Bom);

  // "総務課" in Shift_JIS, and the CP932-only NEC special character "①" (0x8740).
  auto sjis = DecodeJapaneseText("\x91\x8D\x96\xB1\x89\xDB\x87\x40");
  ASSERT_TRUE(sjis.ok());
  EXPECT_EQ(sjis->text, "総務課①");
  EXPECT_EQ(sjis->encoding, TextEncoding::kCp932);

  auto bad = DecodeJapaneseText("\x81\xFF\xFF");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
}

TEST(TrimSpace, TrimsIdeographicSpace) {
  EXPECT_EQ(TrimSpace("\xE3\x80\x80 総務課\t"), "総務課");
  EXPECT_EQ(TrimSpace("   "), "");
}

}  // namespace
}  // namespace mamori

TEST(EscapeMarkup, EscapesDropsAndReplaces) {
  EXPECT_EQ(mamori::EscapeMarkup("<a href=\"x\">R&D's</a>"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;");
  EXPECT_EQ(mamori::EscapeMarkup("系統\x01\ttab"), "系統\ttab");  // control dropped
  EXPECT_EQ(mamori::EscapeMarkup("a\xff"
                                 "b"),
            "a\xEF\xBF\xBD"
            "b");  // not UTF-8
}

TEST(Printable, ControlCharactersAndBadBytesBecomeQuestionMarks) {
  EXPECT_EQ(mamori::Printable("所管課\x1b[31m\nX\xff"), "所管課?[31m?X?");
  EXPECT_EQ(mamori::Printable("普通の文字"), "普通の文字");
}

namespace mamori {
namespace {

TEST(FindUnsafeCharTest, ControlAndBidirectionalCharacters) {
  EXPECT_EQ(FindUnsafeChar("非常に高い Very high"), UnsafeChar::kNone);
  EXPECT_EQ(FindUnsafeChar("a\nb"), UnsafeChar::kControl);
  EXPECT_EQ(FindUnsafeChar("a\x7f"), UnsafeChar::kControl);
  EXPECT_EQ(FindUnsafeChar("a\xc2\x85"), UnsafeChar::kControl);  // U+0085 (C1)
  EXPECT_EQ(FindUnsafeChar("\xef\xbb\xbf"
                           "a"),
            UnsafeChar::kControl);  // BOM
  EXPECT_EQ(FindUnsafeChar("a\xe2\x80\xae"
                           "b"),
            UnsafeChar::kBidi);  // U+202E
  EXPECT_EQ(FindUnsafeChar("a\xe2\x81\xa6"
                           "b"),
            UnsafeChar::kBidi);                              // U+2066
  EXPECT_EQ(FindUnsafeChar("a\xff"), UnsafeChar::kControl);  // not UTF-8
}

}  // namespace
}  // namespace mamori
