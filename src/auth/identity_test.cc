#include "auth/identity.h"

#include "auth/test_support.h"

namespace mamori::auth {
namespace {

using testing::AuthFixture;

class IdentityTest : public AuthFixture {
 protected:
  int64_t UnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
        .count();
  }
  std::string CodeFor(const std::string& base32, int64_t offset_steps = 0) const {
    auto secret = Base32Decode(base32);
    EXPECT_TRUE(secret.ok());
    return TotpCode(*secret, UnixSeconds() / kTotpStepSeconds + offset_steps);
  }
  // Runs the first login of `login` (one-time password → new password → MFA enrollment);
  // returns the TOTP secret (base32) and fills `session`.
  std::string FirstLogin(const std::string& login, const std::string& otp, NewSession& session) {
    auto step = identity_->Login(login, otp, "127.0.0.1");
    EXPECT_TRUE(step.ok()) << (step.ok() ? "" : step.error().message);
    EXPECT_TRUE(step->password_change_required);
    EXPECT_TRUE(step->mfa_enrollment_required);
    EXPECT_TRUE(identity_->ChangePendingPassword(step->pending_token, kPassword, "127.0.0.1").ok());
    auto e = identity_->BeginEnrollment(step->pending_token);
    EXPECT_TRUE(e.ok());
    EXPECT_NE(e->qr_svg.find("<svg"), std::string::npos);
    auto s = identity_->VerifyMfa(step->pending_token, CodeFor(e->secret_base32), "", "127.0.0.1");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    session = *s;
    return e->secret_base32;
  }
  static constexpr const char* kPassword = "Kinu-gawa 2026 Sakura!";
};

TEST_F(IdentityTest, FirstLoginChangesPasswordAndEnrollsMfa) {
  const int64_t id = User("yamada");
  ASSERT_TRUE(Assign(id, "staff", "body", 0).ok());
  auto otp = identity_->IssueOneTimePassword(cli_, id);
  ASSERT_TRUE(otp.ok());
  NewSession session;
  FirstLogin("yamada", *otp, session);
  EXPECT_EQ(session.recovery_codes.size(), 10u);
  EXPECT_FALSE(session.csrf_token.empty());

  auto who = identity_->Authenticate(session.token, "127.0.0.1");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->actor.id, "yamada");
  ASSERT_EQ(who->actor.roles.size(), 1u);
  EXPECT_EQ(who->actor.roles[0].role, "staff");
  EXPECT_EQ(who->csrf_token, session.csrf_token);
  // The one-time password no longer works.
  EXPECT_FALSE(identity_->Login("yamada", *otp, "127.0.0.2").ok());
}

TEST_F(IdentityTest, LaterLoginsNeedTheCodeAndRejectReplay) {
  const int64_t id = User("sato");
  NewSession first;
  const std::string secret = FirstLogin("sato", *identity_->IssueOneTimePassword(cli_, id), first);
  clock_.Advance(std::chrono::seconds(60));
  auto step = identity_->Login("sato", kPassword, "127.0.0.1");
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->password_change_required);
  EXPECT_FALSE(step->mfa_enrollment_required);
  const std::string code = CodeFor(secret);
  ASSERT_TRUE(identity_->VerifyMfa(step->pending_token, code, "", "127.0.0.1").ok());
  // The same code again (within its 30 s) is refused.
  clock_.Advance(std::chrono::seconds(2));
  auto again = identity_->Login("sato", kPassword, "127.0.0.1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(identity_->VerifyMfa(again->pending_token, code, "", "127.0.0.1").ok());
}

TEST_F(IdentityTest, RecoveryCodesWorkOnce) {
  const int64_t id = User("suzuki");
  NewSession first;
  FirstLogin("suzuki", *identity_->IssueOneTimePassword(cli_, id), first);
  const std::string rc = first.recovery_codes[3];
  auto step = identity_->Login("suzuki", kPassword, "127.0.0.1");
  std::string typed = rc;
  for (char& ch : typed) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  ASSERT_TRUE(identity_->VerifyMfa(step->pending_token, "", typed, "127.0.0.1").ok());
  clock_.Advance(std::chrono::seconds(30));
  auto again = identity_->Login("suzuki", kPassword, "127.0.0.1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(identity_->VerifyMfa(again->pending_token, "", rc, "127.0.0.1").ok());
}

TEST_F(IdentityTest, SessionsExpireWhenIdle) {
  const int64_t id = User("kato");
  NewSession s;
  FirstLogin("kato", *identity_->IssueOneTimePassword(cli_, id), s);
  clock_.Advance(std::chrono::minutes(29));
  EXPECT_TRUE(identity_->Authenticate(s.token, "127.0.0.1").ok());
  clock_.Advance(std::chrono::minutes(31));
  auto idle = identity_->Authenticate(s.token, "127.0.0.1");
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().code, ErrorCode::kUnauthenticated);
}
TEST_F(IdentityTest, AbsoluteTimeout) {
  const int64_t id = User("ito");
  NewSession s;
  FirstLogin("ito", *identity_->IssueOneTimePassword(cli_, id), s);
  for (int i = 0; i < 35; ++i) {  // 35 × 20 min = 11 h 40 min of steady use
    clock_.Advance(std::chrono::minutes(20));
    ASSERT_TRUE(identity_->Authenticate(s.token, "127.0.0.1").ok()) << i;
  }
  clock_.Advance(std::chrono::minutes(21));
  EXPECT_FALSE(identity_->Authenticate(s.token, "127.0.0.1").ok());
}

TEST_F(IdentityTest, FailuresDelayThenLockTheAccount) {
  const int64_t id = User("tanaka");
  NewSession s;
  FirstLogin("tanaka", *identity_->IssueOneTimePassword(cli_, id), s);
  int retry = 0;
  for (int i = 1; i <= 5; ++i) {
    auto r = identity_->Login("tanaka", "wrong password " + std::to_string(i), "10.0.0.9", &retry);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput) << i;
    EXPECT_EQ(r.error().message, "ログイン ID またはパスワードが違います。");
    // Trying again at once is refused: the delay grows with each failure.
    retry = 0;
    auto early = identity_->Login("tanaka", kPassword, "10.0.0.9", &retry);
    ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.error().code, ErrorCode::kUnavailable);
    EXPECT_GE(retry, i < 5 ? i * i : 60);
    clock_.Advance(std::chrono::seconds(i < 5 ? i * i : 0));
  }
  // Locked for a minute after the fifth failure, even with the right password.
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_FALSE(identity_->Login("tanaka", kPassword, "10.0.0.9").ok());
  clock_.Advance(std::chrono::seconds(31));
  EXPECT_TRUE(identity_->Login("tanaka", kPassword, "10.0.0.9").ok());
  auto failures = audit_->Query({.action = "login_failed"});
  EXPECT_EQ((*failures)["total"], 5);
}

TEST_F(IdentityTest, AnAddressWithManyFailuresIsLocked) {
  int retry = 0;
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(identity_->Login("nobody" + std::to_string(i), "x", "10.9.9.9").ok());
  }
  auto r = identity_->Login("nobody", "x", "10.9.9.9", &retry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_GT(retry, 800);
  // Another address is not affected.
  EXPECT_EQ(identity_->Login("nobody", "x", "10.9.9.8").error().code, ErrorCode::kInvalidInput);
}

TEST_F(IdentityTest, ResetEndsSessionsAndForcesReEnrollment) {
  const int64_t id = User("kimura");
  NewSession s;
  FirstLogin("kimura", *identity_->IssueOneTimePassword(cli_, id), s);
  auto otp = identity_->IssueOneTimePassword(cli_, id);
  ASSERT_TRUE(otp.ok());
  EXPECT_FALSE(identity_->Authenticate(s.token, "127.0.0.1").ok());
  auto step = identity_->Login("kimura", *otp, "127.0.0.1");
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->password_change_required);
  EXPECT_TRUE(step->mfa_enrollment_required);
}

TEST_F(IdentityTest, InactiveUsersCannotLogIn) {
  const int64_t id = User("mori");
  auto otp = identity_->IssueOneTimePassword(cli_, id);
  ASSERT_TRUE(
      admin_->Update(cli_, *registry_->ByKey("users"), id, 1, {{"status", "suspended"}}).ok());
  auto r = identity_->Login("mori", *otp, "127.0.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "ログイン ID またはパスワードが違います。");
}

TEST_F(IdentityTest, ASuspendedUsersSessionStopsWithinASecond) {
  const int64_t id = User("hayashi");
  NewSession s;
  FirstLogin("hayashi", *identity_->IssueOneTimePassword(cli_, id), s);
  ASSERT_TRUE(identity_->Authenticate(s.token, "127.0.0.1").ok());
  ASSERT_TRUE(
      admin_->Update(cli_, *registry_->ByKey("users"), id, 1, {{"status", "suspended"}}).ok());
  clock_.Advance(std::chrono::milliseconds(1000));
  auto r = identity_->Authenticate(s.token, "127.0.0.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(IdentityTest, SessionsAreAnsweredFromMemoryForASecondAndLogoutClearsAtOnce) {
  const int64_t id = User("ikeda");
  NewSession s;
  FirstLogin("ikeda", *identity_->IssueOneTimePassword(cli_, id), s);
  auto who = identity_->Authenticate(s.token, "127.0.0.1");
  ASSERT_TRUE(who.ok());
  // A change made behind the service's back (another process) is seen within a second:
  // until then the session is answered from memory, without reading the database.
  ASSERT_TRUE(store_
                  ->Write([](store::Connection& c) -> Status {
                    MAMORI_TRY(c.Exec("DELETE FROM auth_sessions", {}));
                    return {};
                  })
                  .ok());
  clock_.Advance(std::chrono::milliseconds(999));
  EXPECT_TRUE(identity_->Authenticate(s.token, "127.0.0.1").ok());
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(identity_->Authenticate(s.token, "127.0.0.1").ok());
  // Logout in this process takes effect at once, cache or not.
  NewSession t;
  auto otp = identity_->IssueOneTimePassword(cli_, id);
  ASSERT_TRUE(otp.ok());
  FirstLogin("ikeda", *otp, t);
  auto again = identity_->Authenticate(t.token, "127.0.0.1");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(identity_->Logout(*again).ok());
  EXPECT_FALSE(identity_->Authenticate(t.token, "127.0.0.1").ok());
}

TEST_F(IdentityTest, PasswordPolicyOnFirstChange) {
  const int64_t id = User("nakamura");
  auto otp = identity_->IssueOneTimePassword(cli_, id);
  auto step = identity_->Login("nakamura", *otp, "127.0.0.1");
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(identity_->ChangePendingPassword(step->pending_token, "short", "127.0.0.1").ok());
  EXPECT_FALSE(
      identity_->ChangePendingPassword(step->pending_token, "nakamura-2026-04", "127.0.0.1").ok());
  EXPECT_FALSE(identity_->ChangePendingPassword(step->pending_token, *otp, "127.0.0.1").ok());
  // MFA cannot be skipped: no session before the code.
  EXPECT_FALSE(identity_->VerifyMfa(step->pending_token, "123456", "", "127.0.0.1").ok());
  // The pending step expires.
  clock_.Advance(std::chrono::minutes(11));
  EXPECT_EQ(
      identity_->ChangePendingPassword(step->pending_token, kPassword, "127.0.0.1").error().code,
      ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace mamori::auth
