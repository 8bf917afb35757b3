// libFuzzer harness for the credential parsers that see typed or pasted input: base32 secrets,
// recovery codes, TOTP codes and new passwords. Input: arbitrary bytes; a NUL byte, if any,
// separates the password from the login id for the policy check. Checks round-trip and
// idempotence properties besides crashes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "auth/credentials.h"

namespace {

namespace auth = mamori::auth;

// The RFC 6238 test key; the list below exercises the common-password lookup.
const std::string kSecret = "12345678901234567890";

bool Setup() {
  return auth::InitCrypto().ok() &&
         auth::LoadCommonPasswords("# fuzz list\npassword\ntochigi\nqwertyuiop\nぱすわーど\n").ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = Setup();
  if (!ready) __builtin_trap();
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Base32: whatever decodes must re-encode to text that decodes to the same bytes.
  auto decoded = auth::Base32Decode(in);
  if (decoded.ok()) {
    auto again = auth::Base32Decode(auth::Base32Encode(*decoded));
    if (!again.ok() || *again != *decoded) __builtin_trap();
  }

  // Recovery codes: the canonical form is a fixed point.
  const std::string canonical = auth::NormalizeRecoveryCode(in);
  if (!canonical.empty() &&
      (canonical.size() != 14 || auth::NormalizeRecoveryCode(canonical) != canonical)) {
    __builtin_trap();
  }

  // TOTP at a fixed time, and (with 8 leading bytes as the clock) at any time.
  int64_t step = auth::VerifyTotp(kSecret, in, 1111111109);
  if (step >= 0 && auth::TotpCode(kSecret, step) != in) __builtin_trap();
  if (size >= sizeof(int64_t)) {
    int64_t unix_seconds = 0;
    std::memcpy(&unix_seconds, data, sizeof unix_seconds);
    const std::string_view code = in.substr(sizeof unix_seconds);
    step = auth::VerifyTotp(kSecret, code, unix_seconds);
    if (step >= 0 && auth::TotpCode(kSecret, step) != code) __builtin_trap();
  }

  // Password policy: password, NUL, login id.
  const size_t nul = in.find('\0');
  const std::string_view password = in.substr(0, nul);
  const std::string_view login =
      nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  (void)auth::CheckPasswordPolicy(password, login);
  (void)auth::CheckPasswordPolicy(in, "");
  return 0;
}
