#include "policy/duties.h"

#include <gtest/gtest.h>

namespace mamori::policy {
namespace {

TEST(Duties, NobodyApprovesTheirOwnRequest) {
  EXPECT_TRUE(CheckNotOwnRequest(2, 3, "リスクの受容").ok());
  auto st = CheckNotOwnRequest(3, 3, "リスクの受容");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(st.error().message.find("リスクの受容"), std::string::npos);
}

TEST(Duties, NobodyGrantsThemselves) {
  EXPECT_TRUE(CheckNotSelfGrant(1, 2).ok());
  EXPECT_FALSE(CheckNotSelfGrant(2, 2).ok());
  EXPECT_TRUE(CheckNotSelfGrant(0, 0).ok());  // the command line is not a user
}

TEST(Duties, AuditorsAreIndependentOfTheAuditedUnit) {
  const std::vector<int64_t> auditor = {12 /* own section */, 1 /* its bureau */};
  EXPECT_FALSE(CheckAuditorIndependent(auditor, 12).ok());
  EXPECT_FALSE(CheckAuditorIndependent(auditor, 1).ok());
  EXPECT_TRUE(CheckAuditorIndependent(auditor, 40).ok());
}

}  // namespace
}  // namespace mamori::policy
