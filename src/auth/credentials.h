// Credentials: password hashing and policy, TOTP (RFC 6238) for the mandatory second factor,
// and one-time recovery codes. Pure functions over libsodium and OpenSSL; no storage.
//
// Thread-safety: all functions are thread-safe. Call InitCrypto() once at start-up, and
// LoadCommonPasswords() once with catalog/common-passwords.txt. The loaded list is the one piece
// of shared state here (replaced atomically under a mutex; lookups never block on a load).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "common/result.h"

namespace mamori::auth {

// Initializes libsodium; kInternal if it cannot.
Status InitCrypto();

// --- Passwords -------------------------------------------------------------------------------

// Argon2id parameters (libsodium crypto_pwhash, ALG_ARGON2ID13). Written in docs/ASSURANCE.md.
struct PasswordHashParams {
  unsigned long long ops_limit = 3;  // passes (crypto_pwhash_OPSLIMIT_MODERATE is 3)
  size_t mem_limit = 64u << 20;      // bytes of memory
};

// The encoded hash ("$argon2id$v=19$m=65536,t=3,p=1$…"), self-describing and salted.
Result<std::string> HashPassword(std::string_view password, const PasswordHashParams& params = {});
// Constant-time verification against an encoded hash. False on mismatch or a malformed hash.
bool VerifyPassword(std::string_view password, const std::string& encoded_hash);
// True when the hash was made with weaker parameters than `params`, or is not a readable
// Argon2id hash (rehash at next login). A hash made with stronger parameters is kept.
bool PasswordNeedsRehash(const std::string& encoded_hash, const PasswordHashParams& params = {});

// Checks a new password against the policy: at least 12 characters (code points), at most
// 128, valid UTF-8 without control characters, not in the common-password list (compared
// case-insensitively, also with digits and symbols stripped from the end, then also from the
// start), not containing the login id (ids of 3 or more characters; case, full-width and kana
// folded), not one character or a unit of up to 3 characters repeated, not a simple sequence
// ("abcdef…", "987654…"). kInvalidInput with a Japanese message that says which rule failed
// (never echoing the password).
Status CheckPasswordPolicy(std::string_view password, std::string_view login_id);

// Loads the common-password list that CheckPasswordPolicy consults (catalog/common-passwords.txt):
// UTF-8 (an initial BOM is skipped), one password per line, lines whose first non-blank character
// is `#` are comments, blank lines are ignored, CRLF is accepted. Entries are folded like the
// password (case, full-width ASCII). Replaces any list loaded before. kTooLarge above 4 MiB,
// kInvalidInput if the text is not UTF-8; on error the previous list stays in force. Until a list
// is loaded, CheckPasswordPolicy applies only its built-in rules.
Status LoadCommonPasswords(std::string_view text);

// A random one-time password for bootstrap and administrator resets: 16 characters from an
// alphabet without look-alikes (no 0/O, 1/l/I), satisfying the policy.
std::string GenerateOneTimePassword();

// --- TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) ------------------------------------

constexpr int kTotpDigits = 6;
constexpr int64_t kTotpStepSeconds = 30;

// 20 random bytes.
std::string GenerateTotpSecret();
// RFC 4648 base32 without padding (what authenticator apps read), and back. Decoding accepts
// lower case, spaces and padding; kInvalidInput on other characters.
std::string Base32Encode(std::string_view bytes);
Result<std::string> Base32Decode(std::string_view text);

// The code for time step `step` (unix_seconds / 30) with `digits` digits (RFC 6238 test
// vectors use 8).
std::string TotpCode(std::string_view secret, int64_t step, int digits = kTotpDigits);

// Verifies `code` at `unix_seconds`, accepting one step of drift either way. Returns the
// matched step, or -1. A caller must reject a step not greater than the last accepted step
// (replay). `code` must be exactly 6 ASCII digits (spaces are not stripped here).
int64_t VerifyTotp(std::string_view secret, std::string_view code, int64_t unix_seconds);

// otpauth://totp/Mamori:{login}?secret=…&issuer=Mamori&algorithm=SHA1&digits=6&period=30
// with the label and issuer percent-encoded.
std::string OtpauthUri(std::string_view secret, std::string_view login, std::string_view issuer);

// The QR code of `text` as a standalone SVG document (libqrencode, error correction M), with
// a quiet zone, black modules on white, and a <title> for screen readers.
Result<std::string> QrSvg(std::string_view text, std::string_view title);

// --- Recovery codes ---------------------------------------------------------------------------

// `count` codes like "7KQ4-M2XH-9TPC" (12 characters from the same unambiguous alphabet).
std::vector<std::string> GenerateRecoveryCodes(int count = 10);
// Normalizes what a person typed (case, hyphens, spaces) to the canonical form, or "".
std::string NormalizeRecoveryCode(std::string_view typed);
// SHA-256 hex of the canonical code (codes are random and long, so a fast hash suffices).
std::string HashRecoveryCode(std::string_view canonical);

// --- Tokens -------------------------------------------------------------------------------------

// 32 random bytes as 43 characters of unpadded base64url: session, CSRF and service tokens.
std::string GenerateToken();
// SHA-256 hex of a token, for storage (the token itself is never stored).
std::string HashToken(std::string_view token);
// SHA-256 of arbitrary bytes, hex: mamori::Sha256Hex (common/hash.h).
using ::mamori::Sha256Hex;
// Constant-time equality of two strings of any length (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace mamori::auth
