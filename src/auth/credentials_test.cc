#include "auth/credentials.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <charconv>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"

namespace mamori::auth {
namespace {

// The RFC 6238 Appendix B key for HMAC-SHA1.
const std::string kRfcSecret = "12345678901234567890";

// Small Argon2id parameters so the tests run fast (the minimum libsodium allows for ops).
const PasswordHashParams kFastParams{1, 8u << 20};

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class CredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(InitCrypto().ok()); }
};

// ---------------------------------------------------------------------------------------------
// TOTP

TEST_F(CredentialsTest, TotpMatchesRfc6238AppendixB) {
  struct Vector {
    int64_t time;
    const char* code;
  };
  const Vector vectors[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(TotpCode(kRfcSecret, v.time / kTotpStepSeconds, 8), v.code) << v.time;
    // The 6-digit code is the same value modulo 10^6, so it is the last six digits.
    const std::string six = std::string(v.code).substr(2);
    EXPECT_EQ(TotpCode(kRfcSecret, v.time / kTotpStepSeconds), six) << v.time;
    EXPECT_EQ(VerifyTotp(kRfcSecret, six, v.time), v.time / kTotpStepSeconds) << v.time;
  }
}

TEST_F(CredentialsTest, TotpDigitsOutOfRangeGiveNoCode) {
  EXPECT_EQ(TotpCode(kRfcSecret, 1, 0), "");
  EXPECT_EQ(TotpCode(kRfcSecret, 1, 10), "");
  EXPECT_EQ(TotpCode(kRfcSecret, 1, 9).size(), 9u);
}

TEST_F(CredentialsTest, TotpAcceptsOneStepOfDriftOnly) {
  const int64_t now = 1111111109;
  const int64_t step = now / kTotpStepSeconds;
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step), now), step);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step - 1), now), step - 1);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step + 1), now), step + 1);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step - 2), now), -1);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step + 2), now), -1);
  // The last second of the step still accepts the next step's code.
  const int64_t last_second = (step + 1) * kTotpStepSeconds - 1;
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, step + 1), last_second), step + 1);
}

TEST_F(CredentialsTest, TotpRejectsMalformedCodes) {
  const int64_t now = 59;  // code 287082
  ASSERT_EQ(VerifyTotp(kRfcSecret, "287082", now), 1);
  for (std::string_view bad : {"", "28708", "2870820", "28708a", " 287082", "287082 ", "287 082",
                               "94287082", "２８７０８２", "-87082", "+87082"}) {
    EXPECT_EQ(VerifyTotp(kRfcSecret, bad, now), -1) << bad;
  }
  EXPECT_EQ(VerifyTotp(kRfcSecret, std::string_view("28708\0", 6), now), -1);
  EXPECT_EQ(VerifyTotp("", "287082", now), -1);              // no secret enrolled
  EXPECT_EQ(VerifyTotp("other-secret", "287082", now), -1);  // wrong secret
}

TEST_F(CredentialsTest, TotpNearTheEpochAndBeforeIt) {
  // At t = 0 only steps 0 and 1 exist; -1 is never a "matched step".
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, 0), 0), 0);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, 1), 0), 1);
  EXPECT_EQ(VerifyTotp(kRfcSecret, TotpCode(kRfcSecret, 0), -1), 0);  // step -1, next is 0
  EXPECT_EQ(VerifyTotp(kRfcSecret, "000000", -1000000), -1);
}

TEST_F(CredentialsTest, TotpSecretIsTwentyRandomBytes) {
  const std::string a = GenerateTotpSecret();
  const std::string b = GenerateTotpSecret();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(b.size(), 20u);
  EXPECT_NE(a, b);
}

// ---------------------------------------------------------------------------------------------
// Base32 (RFC 4648 section 10)

TEST_F(CredentialsTest, Base32MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(plain), encoded) << plain;
    auto decoded = Base32Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  // With the padding of RFC 4648, lower case and spaces, as people and other tools write it.
  const std::pair<const char*, const char*> padded[] = {
      {"MY======", "f"},
      {"MZXQ====", "fo"},
      {"MZXW6===", "foo"},
      {"MZXW6YQ=", "foob"},
      {"mzxw6ytb", "fooba"},
      {"MZXW 6YTB OI======", "foobar"},
      {"gezd gnbv gy3t qojq", "1234567890"},
  };
  for (const auto& [encoded, plain] : padded) {
    auto decoded = Base32Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
  EXPECT_EQ(Base32Encode(kRfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST_F(CredentialsTest, Base32RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 41; ++n) {
    auto decoded = Base32Decode(Base32Encode(bytes));
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>((n * 37 + 11) & 0xFF);
  }
}

TEST_F(CredentialsTest, Base32RejectsBadInput) {
  for (std::string_view bad : {
           "MZXW1",    // 1 is not in the alphabet
           "MZXW0",    // nor 0
           "MZXW8",    // nor 8
           "M",        // a lone symbol carries no whole byte
           "MZX",      // 3 symbols: impossible length
           "MZXW6Y",   // 6 symbols: impossible length
           "MZ",       // non-zero unused bits
           "MY=A",     // data after padding
           "MZ-XW",    // hyphen
           "MZXW6\t",  // tab
           "ＭＹ",     // full-width
       }) {
    auto decoded = Base32Decode(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidInput);
  }
}

// ---------------------------------------------------------------------------------------------
// otpauth URI and QR code

TEST_F(CredentialsTest, OtpauthUriExactFormat) {
  EXPECT_EQ(OtpauthUri(kRfcSecret, "tanaka", "Mamori"),
            "otpauth://totp/Mamori:tanaka?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=Mamori&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("foo", "t.suzuki@example.jp", "Mamori 広域連合"),
            "otpauth://totp/Mamori%20%E5%BA%83%E5%9F%9F%E9%80%A3%E5%90%88:t.suzuki%40example.jp"
            "?secret=MZXW6&issuer=Mamori%20%E5%BA%83%E5%9F%9F%E9%80%A3%E5%90%88"
            "&algorithm=SHA1&digits=6&period=30");
  // A colon or ampersand in the login cannot break the label or the query.
  EXPECT_EQ(OtpauthUri("foo", "a:b&c", "Mamori"),
            "otpauth://totp/Mamori:a%3Ab%26c?secret=MZXW6&issuer=Mamori"
            "&algorithm=SHA1&digits=6&period=30");
}

// The dark modules of an SVG from QrSvg, read back from its viewBox and path.
struct QrGrid {
  int size = 0;  // modules per side, quiet zone included
  std::vector<std::vector<bool>> dark;
};

// Reads a decimal number at the front of `s` and removes it; -1 if there is none.
int TakeNumber(std::string_view& s) {
  int value = -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc()) return -1;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return value;
}

bool TakePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

QrGrid ReadGrid(const pugi::xml_node& svg) {
  QrGrid grid;
  std::string_view view_box = svg.attribute("viewBox").value();
  EXPECT_TRUE(TakePrefix(view_box, "0 0 ")) << view_box;
  grid.size = TakeNumber(view_box);
  EXPECT_TRUE(TakePrefix(view_box, " "));
  EXPECT_EQ(TakeNumber(view_box), grid.size);
  EXPECT_TRUE(view_box.empty());
  if (grid.size <= 0) return grid;
  grid.dark.assign(static_cast<size_t>(grid.size),
                   std::vector<bool>(static_cast<size_t>(grid.size), false));
  // Each run is "M{x} {y}h{n}v1h-{n}z".
  std::string_view d = svg.child("path").attribute("d").value();
  while (!d.empty()) {
    int x = -1, y = -1, n = -1, back = -1;
    const bool ok = TakePrefix(d, "M") && (x = TakeNumber(d)) >= 0 && TakePrefix(d, " ") &&
                    (y = TakeNumber(d)) >= 0 && TakePrefix(d, "h") && (n = TakeNumber(d)) > 0 &&
                    TakePrefix(d, "v1h-") && (back = TakeNumber(d)) == n && TakePrefix(d, "z");
    EXPECT_TRUE(ok) << "unexpected path syntax before: " << d.substr(0, 40);
    if (!ok) return grid;
    EXPECT_LT(y, grid.size);
    EXPECT_LE(x + n, grid.size);
    for (int k = x; k < x + n && y < grid.size && k < grid.size; ++k) {
      grid.dark[static_cast<size_t>(y)][static_cast<size_t>(k)] = true;
    }
  }
  return grid;
}

bool IsDark(const QrGrid& g, int x, int y) {
  return g.dark.at(static_cast<size_t>(y)).at(static_cast<size_t>(x));
}

// A finder pattern (7x7 ring, 3x3 centre) with its top-left module at (x, y).
bool HasFinderAt(const QrGrid& g, int x, int y) {
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < 7; ++j) {
      const bool ring = i == 0 || i == 6 || j == 0 || j == 6;
      const bool centre = i >= 2 && i <= 4 && j >= 2 && j <= 4;
      if (IsDark(g, x + j, y + i) != (ring || centre)) {
        return false;
      }
    }
  }
  return true;
}

void ExpectWellFormedQr(const std::string& svg, int* modules_out = nullptr) {
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_NE(svg.find(R"(shape-rendering="crispEdges")"), std::string::npos);
  EXPECT_NE(svg.find("<title>"), std::string::npos);

  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_string(svg.c_str());
  ASSERT_TRUE(parsed) << parsed.description();
  const pugi::xml_node root = doc.child("svg");
  ASSERT_TRUE(root);
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://www.w3.org/2000/svg");
  EXPECT_TRUE(root.child("title"));
  EXPECT_EQ(std::distance(root.children("path").begin(), root.children("path").end()), 1);

  const QrGrid grid = ReadGrid(root);
  const int modules = grid.size - 8;  // 4-module quiet zone on each side
  // Versions 1..40: 21, 25, …, 177 modules.
  EXPECT_GE(modules, 21);
  EXPECT_LE(modules, 177);
  EXPECT_EQ((modules - 21) % 4, 0);
  if (modules_out != nullptr) *modules_out = modules;
  if (modules < 21) return;
  for (int i = 0; i < grid.size; ++i) {
    for (int q = 0; q < 4; ++q) {
      const int far = grid.size - 1 - q;
      EXPECT_FALSE(IsDark(grid, i, q));    // top
      EXPECT_FALSE(IsDark(grid, i, far));  // bottom
      EXPECT_FALSE(IsDark(grid, q, i));    // left
      EXPECT_FALSE(IsDark(grid, far, i));  // right
    }
  }
  EXPECT_TRUE(HasFinderAt(grid, 4, 4));
  EXPECT_TRUE(HasFinderAt(grid, 4 + modules - 7, 4));
  EXPECT_TRUE(HasFinderAt(grid, 4, 4 + modules - 7));
}

TEST_F(CredentialsTest, QrSvgOfAnOtpauthUri) {
  const std::string uri = OtpauthUri(GenerateTotpSecret(), "tanaka", "Mamori");
  auto svg = QrSvg(uri, "二要素認証の QR コード");
  ASSERT_TRUE(svg.ok()) << svg.error().message_en;
  ExpectWellFormedQr(*svg);
  EXPECT_NE(svg->find("<title>二要素認証の QR コード</title>"), std::string::npos);
}

TEST_F(CredentialsTest, QrSvgOfALongUriIsLarger) {
  int small = 0;
  int large = 0;
  auto short_svg = QrSvg(OtpauthUri(kRfcSecret, "tanaka", "Mamori"), "QR");
  ASSERT_TRUE(short_svg.ok());
  ExpectWellFormedQr(*short_svg, &small);
  const std::string long_login(300, 'x');
  auto long_svg =
      QrSvg(OtpauthUri(kRfcSecret, long_login, "栃木県後期高齢者医療広域連合 Mamori"), "QR");
  ASSERT_TRUE(long_svg.ok()) << long_svg.error().message_en;
  ExpectWellFormedQr(*long_svg, &large);
  EXPECT_GT(large, small);
}

TEST_F(CredentialsTest, QrSvgEscapesTheTitle) {
  auto svg = QrSvg("otpauth://totp/x", R"(<script>&"'</script>)"
                                       "\x01");
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("<title>&lt;script&gt;&amp;&quot;&#39;&lt;/script&gt;</title>"),
            std::string::npos);
  EXPECT_EQ(svg->find("<script"), std::string::npos);
  ExpectWellFormedQr(*svg);
}

TEST_F(CredentialsTest, QrSvgRejectsWhatCannotBeEncoded) {
  auto empty = QrSvg("", "t");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidInput);

  auto nul = QrSvg(std::string_view("a\0b", 3), "t");
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, ErrorCode::kInvalidInput);

  auto bad_title = QrSvg("abc", "\xFF");
  ASSERT_FALSE(bad_title.ok());
  EXPECT_EQ(bad_title.error().code, ErrorCode::kInvalidInput);

  // Version 40-M holds 2331 bytes in 8-bit mode.
  auto too_long = QrSvg(std::string(3000, 'a'), "t");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kTooLarge);
}

// ---------------------------------------------------------------------------------------------
// Recovery codes

bool IsRecoveryCodeShape(const std::string& code) {
  static const std::regex shape("[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}");
  return std::regex_match(code, shape);
}

TEST_F(CredentialsTest, RecoveryCodesAreDistinctAndWellFormed) {
  const std::vector<std::string> codes = GenerateRecoveryCodes();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 10u);
  for (const std::string& code : codes) {
    EXPECT_TRUE(IsRecoveryCodeShape(code)) << code;
    EXPECT_EQ(NormalizeRecoveryCode(code), code);
  }
  EXPECT_EQ(GenerateRecoveryCodes(3).size(), 3u);
  EXPECT_TRUE(GenerateRecoveryCodes(0).empty());
  EXPECT_TRUE(GenerateRecoveryCodes(-1).empty());
}

TEST_F(CredentialsTest, RecoveryCodeNormalization) {
  EXPECT_EQ(NormalizeRecoveryCode("7kq4 m2xh-9tpc"), "7KQ4-M2XH-9TPC");
  EXPECT_EQ(NormalizeRecoveryCode("7KQ4M2XH9TPC"), "7KQ4-M2XH-9TPC");
  EXPECT_EQ(NormalizeRecoveryCode("  7kq4-m2xh-9tpc\n"), "7KQ4-M2XH-9TPC");
  // As typed with a Japanese IME: full-width letters, ideographic space, prolonged sound mark.
  EXPECT_EQ(NormalizeRecoveryCode("７ｋｑ４ー　ｍ２ｘｈ－９ｔｐｃ"), "7KQ4-M2XH-9TPC");
  for (std::string_view garbage :
       {"", "hello", "7KQ4-M2XH-9TP", "7KQ4-M2XH-9TPCX", "0KQ4-M2XH-9TPC", "1KQ4-M2XH-9TPC",
        "IKQ4-M2XH-9TPC", "OKQ4-M2XH-9TPC", "7KQ4_M2XH_9TPC", "7KQ4-M2XH-9TP\xFF",
        "７ＫＱ４－Ｍ２ＸＨ－９ＴＰあ", "----"}) {
    EXPECT_EQ(NormalizeRecoveryCode(garbage), "") << garbage;
  }
  EXPECT_EQ(NormalizeRecoveryCode(std::string(300, ' ') + "7KQ4M2XH9TPC"), "");
}

TEST_F(CredentialsTest, RecoveryCodeHashIsSha256OfTheCanonicalForm) {
  const std::string hash = HashRecoveryCode("7KQ4-M2XH-9TPC");
  EXPECT_EQ(hash, Sha256Hex("7KQ4-M2XH-9TPC"));
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_NE(hash, HashRecoveryCode("7KQ4-M2XH-9TPD"));
}

// ---------------------------------------------------------------------------------------------
// Password hashing

TEST_F(CredentialsTest, HashAndVerify) {
  auto hash = HashPassword("correct horse battery staple", kFastParams);
  ASSERT_TRUE(hash.ok()) << hash.error().message_en;
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse battery stapl", *hash));
  EXPECT_FALSE(VerifyPassword("Correct horse battery staple", *hash));
  EXPECT_FALSE(VerifyPassword("", *hash));

  auto again = HashPassword("correct horse battery staple", kFastParams);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*hash, *again);  // salted
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", *again));

  auto japanese = HashPassword("栃木の山と川と空と海です", kFastParams);
  ASSERT_TRUE(japanese.ok());
  EXPECT_TRUE(VerifyPassword("栃木の山と川と空と海です", *japanese));
  EXPECT_FALSE(VerifyPassword("栃木の山と川と空と海でした", *japanese));
}

TEST_F(CredentialsTest, VerifyRejectsMalformedHashes) {
  auto hash = HashPassword("correct horse battery staple", kFastParams);
  ASSERT_TRUE(hash.ok());
  for (const std::string& bad :
       {std::string(), std::string("garbage"), hash->substr(0, hash->size() - 5),
        std::string("$argon2id$v=19$m=8192,t=1,p=1$"), *hash + std::string(200, 'A'),
        std::string("\0", 1) + *hash}) {
    EXPECT_FALSE(VerifyPassword("correct horse battery staple", bad)) << bad;
  }
}

TEST_F(CredentialsTest, HashRejectsParametersOutOfRange) {
  auto no_passes = HashPassword("x", {0, 8u << 20});
  ASSERT_FALSE(no_passes.ok());
  EXPECT_EQ(no_passes.error().code, ErrorCode::kInvalidInput);
  auto tiny_memory = HashPassword("x", {1, 1024});
  ASSERT_FALSE(tiny_memory.ok());
  EXPECT_EQ(tiny_memory.error().code, ErrorCode::kInvalidInput);
}

TEST_F(CredentialsTest, NeedsRehashOnlyWhenWeaker) {
  auto hash = HashPassword("correct horse battery staple", kFastParams);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(PasswordNeedsRehash(*hash, kFastParams));
  EXPECT_TRUE(PasswordNeedsRehash(*hash));                  // the defaults are stronger
  EXPECT_TRUE(PasswordNeedsRehash(*hash, {2, 8u << 20}));   // more passes wanted
  EXPECT_TRUE(PasswordNeedsRehash(*hash, {1, 16u << 20}));  // more memory wanted
  EXPECT_FALSE(PasswordNeedsRehash(*hash, {1, 4u << 20}));  // stored is stronger: keep
  auto stronger = HashPassword("correct horse battery staple", {2, 8u << 20});
  ASSERT_TRUE(stronger.ok());
  EXPECT_FALSE(PasswordNeedsRehash(*stronger, kFastParams));
  EXPECT_TRUE(PasswordNeedsRehash("garbage", kFastParams));
  EXPECT_TRUE(PasswordNeedsRehash("", kFastParams));
}

// ---------------------------------------------------------------------------------------------
// Password policy

class PasswordPolicyTest : public CredentialsTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(LoadCommonPasswords(ReadSourceFile("catalog/common-passwords.txt")).ok());
  }
};

// Expects the policy to reject `password` with `message`, without echoing the password.
void ExpectRejected(std::string_view password, std::string_view login, std::string_view message) {
  const Status status = CheckPasswordPolicy(password, login);
  ASSERT_FALSE(status.ok()) << password;
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(status.error().message, message) << password;
  EXPECT_FALSE(status.error().message_en.empty());
  if (!password.empty()) {
    EXPECT_EQ(status.error().message.find(password), std::string::npos);
    EXPECT_EQ(status.error().message_en.find(password), std::string::npos);
  }
}

constexpr std::string_view kTooShort = "パスワードは 12 文字以上にしてください。";
constexpr std::string_view kTooLong = "パスワードは 128 文字以下にしてください。";
constexpr std::string_view kCommon = "よく使われるパスワードのため使えません。";
constexpr std::string_view kHasLogin = "パスワードにログイン ID を含めないでください。";
constexpr std::string_view kRepeated =
    "同じ文字や短い文字列を繰り返しただけのパスワードは使えません。";
constexpr std::string_view kSequence =
    "「abcdef…」や「123456…」のように連続した文字を並べただけのパスワードは使えません。";

TEST_F(PasswordPolicyTest, AcceptsGoodPasswords) {
  for (std::string_view good :
       {"correct horse battery staple", "Kx7#mQ2!vR9p", "栃木の山と川と空と海です",
        "nikko-toshogu-in-the-snow", "Tochigi-no-Yuki-ga-Furu"}) {
    const Status status = CheckPasswordPolicy(good, "tanaka");
    EXPECT_TRUE(status.ok()) << good << ": " << status.error().message_en;
  }
}

TEST_F(PasswordPolicyTest, LengthCountsCodePoints) {
  ExpectRejected("Kx7#mQ2!vR9", "", kTooShort);  // 11
  EXPECT_TRUE(CheckPasswordPolicy("Kx7#mQ2!vR9p", "").ok());
  // 11 kanji and kana are 33 bytes but still only 11 characters.
  ExpectRejected("栃木の山と川と空と海だ", "", kTooShort);
  EXPECT_TRUE(CheckPasswordPolicy("栃木の山と川と空と海です", "").ok());

  std::string ascii;
  for (int i = 0; i < 128; ++i) ascii += static_cast<char>('a' + (i * 7) % 26);
  EXPECT_TRUE(CheckPasswordPolicy(ascii, "").ok());
  ExpectRejected(ascii + "q", "", kTooLong);

  std::string japanese;
  const std::u32string iroha = U"いろはにほへとちりぬるを";
  for (int i = 0; i < 128; ++i) AppendUtf8(japanese, iroha[static_cast<size_t>(i) % iroha.size()]);
  EXPECT_EQ(Utf8Length(japanese), 128u);
  EXPECT_TRUE(CheckPasswordPolicy(japanese, "").ok());
  ExpectRejected(japanese + "わ", "", kTooLong);
}

TEST_F(PasswordPolicyTest, RejectsInvalidUtf8AndControlCharacters) {
  const Status invalid = CheckPasswordPolicy("Kx7#mQ2!vR9p\xFF", "");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidInput);
  const std::string_view with_controls[] = {"Kx7#mQ2!\nvR9p", "Kx7#mQ2!\tvR9p", "Kx7#mQ2!\x7FvR9p",
                                            "Kx7#mQ2!\xC2\x85vR9p",
                                            std::string_view("Kx7#mQ2!\0vR9p", 13)};
  for (std::string_view bad : with_controls) {
    ExpectRejected(bad, "", "パスワードに改行やタブなどの制御文字は使えません。");
  }
}

TEST_F(PasswordPolicyTest, RejectsRepetition) {
  ExpectRejected("aaaaaaaaaaaa", "", kRepeated);
  ExpectRejected("AaAaAaAaAaAa", "", kRepeated);  // case-folded
  ExpectRejected("abababababab", "", kRepeated);
  ExpectRejected("xyzxyzxyzxyzx", "", kRepeated);
  ExpectRejected("ああああああああああああ", "", kRepeated);
  EXPECT_TRUE(CheckPasswordPolicy("abcdabcdabcdx", "").ok());  // unit of four, not whole
}

TEST_F(PasswordPolicyTest, RejectsSimpleSequences) {
  ExpectRejected("abcdefghijkl", "", kSequence);
  ExpectRejected("ABCDEFGHIJKLM", "", kSequence);
  ExpectRejected("lkjihgfedcba", "", kSequence);
  ExpectRejected("123456789012", "", kSequence);  // digits wrap around
  ExpectRejected("098765432109", "", kSequence);
  ExpectRejected("ａｂｃｄｅｆｇｈｉｊｋｌ", "", kSequence);  // full-width
  EXPECT_TRUE(CheckPasswordPolicy("abcdefghijkm", "").ok());
}

TEST_F(PasswordPolicyTest, RejectsTheLoginId) {
  ExpectRejected("MyTanakaPass2026!", "tanaka", kHasLogin);
  ExpectRejected("ＴＡＮＡＫＡnoHimitsu99", "tanaka", kHasLogin);  // full-width, upper case
  ExpectRejected("xx-t.suzuki-yy-zz", " T.Suzuki ", kHasLogin);
  ExpectRejected("わたしはやまだたろうです", "ヤマダタロウ", kHasLogin);  // kana folded
  // Very short login ids are not searched for.
  EXPECT_TRUE(CheckPasswordPolicy("abXy7#mQ2!vR9p", "ab").ok());
  EXPECT_TRUE(CheckPasswordPolicy("correct horse battery staple", "").ok());
}

TEST_F(PasswordPolicyTest, RejectsCommonPasswords) {
  for (std::string_view common :
       {"password1234", "PASSWORD1234", "Password2026!", "P@ssw0rd2026", "qwertyuiop12",
        "1qaz2wsx3edc", "1q2w3e4r5t6y", "Tochigi2026!!", "2026Tochigi!!", "Utsunomiya2026",
        "Mamori2026!!", "kouikirengou", "mynumber2026", "Summer2026!!", "20260401tochigi",
        "ｐａｓｓｗｏｒｄ１２３４", "パスワード1234567", "ぱすわーど1234567", "栃木県20260401!"}) {
    ExpectRejected(common, "", kCommon);
  }
}

TEST_F(PasswordPolicyTest, BuiltInRulesWithoutAList) {
  // An empty list behaves like no list at all: only the built-in rules apply.
  ASSERT_TRUE(LoadCommonPasswords("").ok());
  EXPECT_TRUE(CheckPasswordPolicy("password1234", "").ok());
  ExpectRejected("letmein2", "", kTooShort);
  ExpectRejected("abcdefghijkl", "", kSequence);
}

TEST_F(PasswordPolicyTest, LoaderFormat) {
  ASSERT_TRUE(LoadCommonPasswords("\xEF\xBB\xBF# comment\r\n\r\n  Hunter2Hunter2  \r\n"
                                  "  # indented comment\nＳＰＡＲＫＬＥ\nlast-line-no-newline")
                  .ok());
  ExpectRejected("hunter2hunter2", "", kCommon);
  ExpectRejected("Sparkle2026!!", "", kCommon);
  ExpectRejected("last-line-no-newline", "", kCommon);
  EXPECT_TRUE(CheckPasswordPolicy("# comment 2026!", "").ok());
  EXPECT_TRUE(CheckPasswordPolicy("indented comment", "").ok());
}

TEST_F(PasswordPolicyTest, LoaderLimitsAndKeepsThePreviousListOnError) {
  const Status too_large = LoadCommonPasswords(std::string((4u << 20) + 1, 'a'));
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, ErrorCode::kTooLarge);
  const Status not_utf8 = LoadCommonPasswords("password\n\xFF\n");
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_EQ(not_utf8.error().code, ErrorCode::kInvalidInput);
  ExpectRejected("password1234", "", kCommon);  // the shipped list is still loaded
  EXPECT_TRUE(LoadCommonPasswords(std::string(4u << 20, '\n')).ok());  // exactly at the limit
}

TEST_F(PasswordPolicyTest, ShippedListIsClean) {
  const std::string text = ReadSourceFile("catalog/common-passwords.txt");
  ASSERT_TRUE(IsValidUtf8(text));
  std::set<std::string> entries;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_EQ(std::string(TrimSpace(line)), line) << "stray white space: " << line;
    EXPECT_EQ(NormalizeForSearch(line), line) << "not in folded (lower-case) form: " << line;
    EXPECT_TRUE(entries.insert(line).second) << "duplicate: " << line;
  }
  EXPECT_GE(entries.size(), 500u);
}

TEST_F(PasswordPolicyTest, OneTimePasswordsPassThePolicy) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string otp = GenerateOneTimePassword();
    EXPECT_EQ(otp.size(), 16u);
    EXPECT_EQ(otp.find_first_of("01OIlo"), std::string::npos) << otp;
    EXPECT_TRUE(CheckPasswordPolicy(otp, "tanaka").ok()) << otp;
    seen.insert(otp);
  }
  EXPECT_EQ(seen.size(), 100u);
}

// ---------------------------------------------------------------------------------------------
// Tokens and hashes

TEST_F(CredentialsTest, TokensAreUniqueUnpaddedBase64Url) {
  static const std::regex shape("[A-Za-z0-9_-]{43}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string token = GenerateToken();
    ASSERT_TRUE(std::regex_match(token, shape)) << token;
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(CredentialsTest, Sha256) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string token = GenerateToken();
  EXPECT_EQ(HashToken(token), Sha256Hex(token));
  EXPECT_EQ(HashToken(token).size(), 64u);
}

TEST_F(CredentialsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret-token", "secret-token"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token", "secret-tokeN"));
  EXPECT_FALSE(ConstantTimeEquals("Secret-token", "secret-token"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret-token"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace mamori::auth
