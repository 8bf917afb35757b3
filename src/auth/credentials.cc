#include "auth/credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <qrencode.h>
#include <sodium.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "common/text.h"

namespace mamori::auth {
namespace {

// Recovery codes: digits and upper-case letters without the look-alikes 0/O and 1/I
// (32 symbols, so 5 bits each).
constexpr std::string_view kRecoveryAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
// One-time passwords add lower case without l and o (56 symbols).
constexpr std::string_view kOtpAlphabet =
    "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

constexpr size_t kMinPasswordLength = 12;   // code points
constexpr size_t kMaxPasswordLength = 128;  // code points
// Login ids shorter than this are not searched for inside the password (too many false hits).
constexpr size_t kMinLoginIdLengthToCheck = 3;
// The longest repeated unit treated as "one thing repeated" ("abab…", "abcabc…").
constexpr size_t kMaxRepeatedUnit = 3;
// Upper bound on the common-password list text; the shipped list is far smaller.
constexpr size_t kCommonListMaxBytes = 4u << 20;

constexpr int kOneTimePasswordLength = 16;
constexpr int kRecoveryCodeSymbols = 12;
constexpr int kRecoveryGroup = 4;
// Longer typed input cannot be a recovery code however it is spaced.
constexpr size_t kMaxTypedRecoveryCode = 256;
constexpr size_t kTotpSecretBytes = 20;
constexpr size_t kTokenBytes = 32;
constexpr int kQrQuietZone = 4;        // modules of white around the symbol (ISO/IEC 18004)
constexpr int kQrPixelsPerModule = 5;  // default rendered size; CSS may override

// libsodium must be initialised before its random generator is used. InitCrypto() does it at
// start-up; this guard makes every entry point safe even if a caller forgot.
void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();  // no usable randomness: continuing would mint guessable secrets
}

// A pointer usable for a zero-length buffer (some C APIs reject nullptr even then).
const char* DataOrEmpty(std::string_view s) { return s.empty() ? "" : s.data(); }

// Zeroes a string holding secret material when the scope ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit() {
    if (!s_.empty()) sodium_memzero(s_.data(), s_.size());
  }

 private:
  std::string& s_;
};

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0x0F];
  }
  return out;
}

std::string RandomFrom(std::string_view alphabet, int length) {
  EnsureSodium();
  std::string out;
  out.reserve(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) {
    out += alphabet[randombytes_uniform(static_cast<uint32_t>(alphabet.size()))];
  }
  return out;
}

// --- Password policy helpers ------------------------------------------------------------------

// The form in which passwords, login ids and list entries are compared: ASCII case and
// full-width ASCII folded, katakana as hiragana, white space runs folded (common/text.h).
std::string Fold(std::string_view s) { return NormalizeForSearch(s); }

bool IsControl(char32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

// True for ASCII characters other than letters: what people append to a word ("!", "2026").
bool IsDigitOrSymbol(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x80 && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

std::string_view StripTrailingDigitsAndSymbols(std::string_view s) {
  while (!s.empty() && IsDigitOrSymbol(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view StripLeadingDigitsAndSymbols(std::string_view s) {
  while (!s.empty() && IsDigitOrSymbol(s.front())) s.remove_prefix(1);
  return s;
}

std::u32string CodePoints(std::string_view valid_utf8) {
  std::u32string out;
  size_t i = 0;
  char32_t cp = 0;
  while (i < valid_utf8.size() && DecodeUtf8(valid_utf8, i, cp)) out.push_back(cp);
  return out;
}

// One character repeated, or a unit of up to kMaxRepeatedUnit characters repeated.
bool IsShortUnitRepeated(const std::u32string& cps) {
  for (size_t unit = 1; unit <= kMaxRepeatedUnit && unit * 2 <= cps.size(); ++unit) {
    bool repeated = true;
    for (size_t i = unit; i < cps.size() && repeated; ++i) repeated = cps[i] == cps[i - unit];
    if (repeated) return true;
  }
  return false;
}

// The step from `a` to `b`: digits wrap around ("…890…" counts as ascending).
int64_t SequenceStep(char32_t a, char32_t b) {
  const bool digits = a >= '0' && a <= '9' && b >= '0' && b <= '9';
  if (digits) {
    const int64_t d = (static_cast<int64_t>(b) - static_cast<int64_t>(a) + 10) % 10;
    return d == 9 ? -1 : d;
  }
  return static_cast<int64_t>(b) - static_cast<int64_t>(a);
}

// "abcdef…", "…987654", "123456789012": every step +1, or every step -1.
bool IsSimpleSequence(const std::u32string& cps) {
  if (cps.size() < 2) return false;
  const int64_t step = SequenceStep(cps[0], cps[1]);
  if (step != 1 && step != -1) return false;
  for (size_t i = 2; i < cps.size(); ++i) {
    if (SequenceStep(cps[i - 1], cps[i]) != step) return false;
  }
  return true;
}

// The loaded common-password list. `common_mutex` guards the pointer; the set it points to is
// never modified once published, so readers take a copy of the pointer and look up unlocked.
using CommonSet = std::set<std::string, std::less<>>;  // transparent: look up views, no copies
std::mutex common_mutex;
std::shared_ptr<const CommonSet> common_passwords;  // guarded by common_mutex; null until loaded

std::shared_ptr<const CommonSet> CurrentCommonPasswords() {
  std::lock_guard<std::mutex> lock(common_mutex);
  return common_passwords;
}

bool IsCommon(std::string_view folded) {
  const std::shared_ptr<const CommonSet> set = CurrentCommonPasswords();
  if (!set || set->empty()) return false;
  const std::string_view trimmed_end = StripTrailingDigitsAndSymbols(folded);
  const std::string_view trimmed_both = StripLeadingDigitsAndSymbols(trimmed_end);
  for (std::string_view candidate : {folded, trimmed_end, trimmed_both}) {
    if (!candidate.empty() && set->find(candidate) != set->end()) return true;
  }
  return false;
}

// --- TOTP and QR helpers ----------------------------------------------------------------------

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kDigits[u >> 4];
      out += kDigits[u & 0x0F];
    }
  }
  return out;
}

struct QrCodeFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrCodePtr = std::unique_ptr<QRcode, QrCodeFree>;

// Parses the parameters of "$argon2id$v=19$m=65536,t=3,p=1$salt$hash".
struct Argon2Params {
  unsigned long long m_kib = 0;
  unsigned long long t = 0;
  unsigned long long p = 0;
};

bool ParseNumberAfter(std::string_view& s, std::string_view prefix, unsigned long long& value) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) return false;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return true;
}

bool ParseArgon2idParams(std::string_view encoded, Argon2Params& out) {
  unsigned long long version = 0;
  return ParseNumberAfter(encoded, "$argon2id$v=", version) && version == 19 &&
         ParseNumberAfter(encoded, "$m=", out.m_kib) && ParseNumberAfter(encoded, ",t=", out.t) &&
         ParseNumberAfter(encoded, ",p=", out.p) && encoded.substr(0, 1) == "$";
}

}  // namespace

Status InitCrypto() {
  if (sodium_init() < 0) return Error::Internal("libsodium initialisation failed");
  return {};
}

// --- Passwords ----------------------------------------------------------------------------------

Result<std::string> HashPassword(std::string_view password, const PasswordHashParams& params) {
  EnsureSodium();
  if (params.ops_limit < crypto_pwhash_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_OPSLIMIT_MAX ||
      params.mem_limit < crypto_pwhash_MEMLIMIT_MIN ||
      params.mem_limit > crypto_pwhash_MEMLIMIT_MAX) {
    return Error::Invalid("パスワードハッシュの設定 (Argon2id の反復回数・メモリ量) が範囲外です。",
                          "the Argon2id parameters (ops limit, memory limit) are out of range");
  }
  if (password.size() > crypto_pwhash_PASSWD_MAX) {
    return Error::TooLarge("パスワードが長すぎます。", "the password is too long");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, DataOrEmpty(password), password.size(), params.ops_limit,
                            params.mem_limit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Unavailable("パスワードのハッシュ計算に必要なメモリを確保できませんでした。",
                              "could not hash the password (out of memory)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& encoded_hash) {
  EnsureSodium();
  if (encoded_hash.empty() || encoded_hash.size() >= crypto_pwhash_STRBYTES ||
      encoded_hash.find('\0') != std::string::npos) {
    return false;
  }
  return crypto_pwhash_str_verify(encoded_hash.c_str(), DataOrEmpty(password), password.size()) ==
         0;
}

bool PasswordNeedsRehash(const std::string& encoded_hash, const PasswordHashParams& params) {
  EnsureSodium();
  Argon2Params stored;
  if (encoded_hash.size() >= crypto_pwhash_STRBYTES || !ParseArgon2idParams(encoded_hash, stored)) {
    return true;  // not an Argon2id hash we can read: replace it at the next login
  }
  const int differs =
      crypto_pwhash_str_needs_rehash(encoded_hash.c_str(), params.ops_limit, params.mem_limit);
  if (differs == 0) return false;
  if (differs < 0) return true;
  // libsodium reports any difference. Keep a hash made with stronger settings than `params`
  // (for example after an operator lowered them); replace only a weaker one.
  return stored.p != 1 || stored.t < params.ops_limit || stored.m_kib < params.mem_limit / 1024;
}

Status CheckPasswordPolicy(std::string_view password, std::string_view login_id) {
  if (!IsValidUtf8(password)) {
    return Error::Invalid("パスワードに読み取れない文字が含まれています (UTF-8 ではありません)。",
                          "the password is not valid UTF-8");
  }
  size_t length = 0;
  bool has_control = false;
  size_t i = 0;
  char32_t cp = 0;
  while (i < password.size() && DecodeUtf8(password, i, cp)) {
    ++length;
    has_control = has_control || IsControl(cp);
  }
  cp = 0;
  if (has_control) {
    return Error::Invalid("パスワードに改行やタブなどの制御文字は使えません。",
                          "the password must not contain control characters (newline, tab…)");
  }
  if (length < kMinPasswordLength) {
    return Error::Invalid("パスワードは 12 文字以上にしてください。",
                          "the password must be at least 12 characters long");
  }
  if (length > kMaxPasswordLength) {
    return Error::Invalid("パスワードは 128 文字以下にしてください。",
                          "the password must be at most 128 characters long");
  }

  std::string folded = Fold(password);
  WipeOnExit wipe_folded(folded);
  std::u32string folded_cps = CodePoints(folded);
  const bool repeated = IsShortUnitRepeated(folded_cps);
  const bool sequence = IsSimpleSequence(folded_cps);
  sodium_memzero(folded_cps.data(), folded_cps.size() * sizeof(char32_t));
  if (repeated) {
    return Error::Invalid("同じ文字や短い文字列を繰り返しただけのパスワードは使えません。",
                          "the password must not be one character or a short pattern repeated");
  }
  if (sequence) {
    return Error::Invalid(
        "「abcdef…」や「123456…」のように連続した文字を並べただけのパスワードは使えません。",
        "the password must not be a simple sequence such as abcdef… or 123456…");
  }

  const std::string login = Fold(TrimSpace(login_id));
  if (Utf8Length(login) >= kMinLoginIdLengthToCheck && folded.find(login) != std::string::npos) {
    return Error::Invalid("パスワードにログイン ID を含めないでください。",
                          "the password must not contain the login id");
  }
  if (IsCommon(folded)) {
    return Error::Invalid("よく使われるパスワードのため使えません。",
                          "the password is too common (it is on the list of frequently used "
                          "passwords)");
  }
  return {};
}

Status LoadCommonPasswords(std::string_view text) {
  if (text.size() > kCommonListMaxBytes) {
    return Error::TooLarge("よく使われるパスワードの一覧が大きすぎます (上限 4 MiB)。",
                           "the common-password list exceeds 4 MiB");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (!IsValidUtf8(text)) {
    return Error::Invalid("よく使われるパスワードの一覧が UTF-8 として読めません。",
                          "the common-password list is not valid UTF-8");
  }
  auto set = std::make_shared<CommonSet>();
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    line = TrimSpace(line);  // also drops the '\r' of CRLF
    if (line.empty() || line.front() == '#') continue;
    std::string entry = Fold(line);
    if (!entry.empty()) set->insert(std::move(entry));
  }
  // Declared before the lock, so the previous list (swapped into `loaded`) is freed after the
  // lock is released.
  std::shared_ptr<const CommonSet> loaded = std::move(set);
  std::lock_guard<std::mutex> lock(common_mutex);
  common_passwords.swap(loaded);
  return {};
}

std::string GenerateOneTimePassword() {
  for (;;) {
    std::string candidate = RandomFrom(kOtpAlphabet, kOneTimePasswordLength);
    // A random 16-character string fails the policy with negligible probability; retry then.
    if (CheckPasswordPolicy(candidate, "").ok()) return candidate;
    sodium_memzero(candidate.data(), candidate.size());
  }
}

// --- TOTP ---------------------------------------------------------------------------------------

std::string GenerateTotpSecret() {
  EnsureSodium();
  std::string secret(kTotpSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Alphabet[(buffer >> bits) & 0x1F];
    }
  }
  if (bits > 0) out += kBase32Alphabet[(buffer << (5 - bits)) & 0x1F];
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  bool in_padding = false;
  for (char c : text) {
    if (c == ' ') continue;
    if (c == '=') {
      in_padding = true;
      continue;
    }
    const char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    const size_t value = kBase32Alphabet.find(upper);
    if (value == std::string_view::npos || in_padding) {
      return Error::Invalid("Base32 として読めない文字が含まれています。",
                            in_padding ? "base32 data continues after the padding"
                                       : "the text contains a character that is not base32");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    ++symbols;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // A final group of 1, 3 or 6 symbols cannot come from whole bytes, and the unused low bits of
  // the last symbol must be zero (RFC 4648 canonical encoding).
  const size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6 || (buffer & ((1u << bits) - 1)) != 0) {
    return Error::Invalid("Base32 の長さまたは末尾が正しくありません。",
                          "the base32 text has an impossible length or non-zero trailing bits");
  }
  return out;
}

std::string TotpCode(std::string_view secret, int64_t step, int digits) {
  if (digits < 1 || digits > 9) return "";  // a caller bug; "" never equals a typed code
  if (secret.size() > static_cast<size_t>(INT_MAX)) std::abort();
  unsigned char counter[8];
  auto value = static_cast<uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(value & 0xFF);
    value >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  if (HMAC(EVP_sha1(), DataOrEmpty(secret), static_cast<int>(secret.size()), counter,
           sizeof counter, mac, &mac_length) == nullptr ||
      mac_length != 20) {
    std::abort();  // SHA-1 HMAC cannot fail with valid arguments
  }
  // RFC 4226 section 5.3: dynamic truncation.
  const int offset = mac[19] & 0x0F;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  sodium_memzero(mac, sizeof mac);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  code.insert(0, static_cast<size_t>(digits) - code.size(), '0');
  return code;
}

int64_t VerifyTotp(std::string_view secret, std::string_view code, int64_t unix_seconds) {
  if (secret.empty() || code.size() != static_cast<size_t>(kTotpDigits)) return -1;
  for (char c : code) {
    if (c < '0' || c > '9') return -1;
  }
  const int64_t now = FloorDiv(unix_seconds, kTotpStepSeconds);
  // All three candidates are computed and compared, so the time taken does not reveal which
  // (if any) matched. The current step is preferred, then the earlier one.
  int64_t matched = -1;
  for (const int64_t step : {now, now - 1, now + 1}) {
    if (step < 0) continue;
    const bool equal = ConstantTimeEquals(TotpCode(secret, step), code);
    if (equal && matched < 0) matched = step;
  }
  return matched;
}

std::string OtpauthUri(std::string_view secret, std::string_view login, std::string_view issuer) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += PercentEncode(issuer) + ":";
  uri += PercentEncode(login);
  uri += "?secret=" + Base32Encode(secret);
  if (!issuer.empty()) uri += "&issuer=" + PercentEncode(issuer);
  uri += "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) +
         "&period=" + std::to_string(kTotpStepSeconds);
  return uri;
}

Result<std::string> QrSvg(std::string_view text, std::string_view title) {
  if (text.empty()) {
    return Error::Invalid("QR コードにする文字列が空です。", "the text for the QR code is empty");
  }
  if (text.find('\0') != std::string_view::npos) {
    return Error::Invalid("QR コードにする文字列に NUL 文字が含まれています。",
                          "the text for the QR code contains a NUL byte");
  }
  if (!IsValidUtf8(title)) {
    return Error::Invalid("QR コードの説明文が UTF-8 ではありません。",
                          "the QR code title is not valid UTF-8");
  }
  const std::string text_z(text);
  errno = 0;
  const QrCodePtr qr(QRcode_encodeString(text_z.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!qr) {
    const int error = errno;
    if (error == ERANGE) {
      return Error::TooLarge("QR コードに収まらない長さです。",
                             "the text is too long for a QR code");
    }
    return Error::Internal("QRcode_encodeString failed (errno " + std::to_string(error) + ")");
  }
  const int width = qr->width;
  const int size = width + 2 * kQrQuietZone;
  const std::string n = std::to_string(size);
  const std::string pixels = std::to_string(size * kQrPixelsPerModule);

  std::string svg = R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )" + n + " " + n +
                    R"(" width=")" + pixels + R"(" height=")" + pixels +
                    R"(" role="img" shape-rendering="crispEdges"><title>)" + EscapeMarkup(title) +
                    R"(</title><rect width=")" + n + R"(" height=")" + n +
                    R"(" fill="#fff"/><path fill="#000" d=")";
  // One sub-path per horizontal run of dark modules (bit 0 of each byte is "dark").
  for (int y = 0; y < width; ++y) {
    const unsigned char* row = qr->data + static_cast<ptrdiff_t>(y) * width;
    int x = 0;
    while (x < width) {
      if ((row[x] & 1) == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < width && (row[x] & 1) != 0) ++x;
      const std::string run = std::to_string(x - start);
      svg += 'M';
      svg += std::to_string(start + kQrQuietZone);
      svg += ' ';
      svg += std::to_string(y + kQrQuietZone);
      svg += 'h';
      svg += run;
      svg += "v1h-";
      svg += run;
      svg += 'z';
    }
  }
  svg += R"("/></svg>)";
  return svg;
}

// --- Recovery codes -----------------------------------------------------------------------------

std::vector<std::string> GenerateRecoveryCodes(int count) {
  std::vector<std::string> codes;
  if (count <= 0) return codes;
  codes.reserve(static_cast<size_t>(count));
  std::set<std::string> seen;
  while (static_cast<int>(codes.size()) < count) {
    const std::string symbols = RandomFrom(kRecoveryAlphabet, kRecoveryCodeSymbols);
    std::string code;
    for (int i = 0; i < kRecoveryCodeSymbols; ++i) {
      if (i > 0 && i % kRecoveryGroup == 0) code += '-';
      code += symbols[static_cast<size_t>(i)];
    }
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::string NormalizeRecoveryCode(std::string_view typed) {
  if (typed.size() > kMaxTypedRecoveryCode) return "";
  std::string symbols;
  size_t i = 0;
  while (i < typed.size()) {
    char32_t cp = 0;
    if (!DecodeUtf8(typed, i, cp)) return "";
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII, as a Japanese IME types
    const bool separator = cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '-' ||
                           cp == 0x3000 ||                    // ideographic space
                           (cp >= 0x2010 && cp <= 0x2015) ||  // hyphens and dashes
                           cp == 0x2212 ||                    // minus sign
                           cp == 0x30FC || cp == 0xFF70;      // prolonged sound mark (ー, ｰ)
    if (separator) continue;
    if (cp >= 'a' && cp <= 'z') cp -= 'a' - 'A';
    if (cp >= 0x80 || kRecoveryAlphabet.find(static_cast<char>(cp)) == std::string_view::npos) {
      return "";
    }
    symbols += static_cast<char>(cp);
    if (symbols.size() > static_cast<size_t>(kRecoveryCodeSymbols)) return "";
  }
  if (symbols.size() != static_cast<size_t>(kRecoveryCodeSymbols)) return "";
  std::string canonical;
  for (size_t k = 0; k < symbols.size(); ++k) {
    if (k > 0 && k % kRecoveryGroup == 0) canonical += '-';
    canonical += symbols[k];
  }
  return canonical;
}

std::string HashRecoveryCode(std::string_view canonical) { return Sha256Hex(canonical); }

// --- Tokens
// ---------------------------------------------------------------------------------------

std::string GenerateToken() {
  EnsureSodium();
  unsigned char bytes[kTokenBytes];
  randombytes_buf(bytes, sizeof bytes);
  char encoded[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, bytes, sizeof bytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string token(encoded);
  sodium_memzero(bytes, sizeof bytes);
  sodium_memzero(encoded, sizeof encoded);
  return token;
}

std::string HashToken(std::string_view token) { return Sha256Hex(token); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mamori::auth
