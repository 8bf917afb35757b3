#include <gtest/gtest.h>

#include "monitor/parser.h"

namespace mamori::monitor {
namespace {

TEST(DetectFormat, EachFormatFromItsFirstLines) {
  EXPECT_EQ(DetectFormat("#separator \\x09\n#set_separator\t,\n"), InputFormat::kZeek);
  EXPECT_EQ(DetectFormat("\n\n{\"ts\":1.0,\"uid\":\"C1\",\"id.orig_h\":\"1.1.1.1\"}\n"),
            InputFormat::kZeekJson);
  EXPECT_EQ(DetectFormat("{\"timestamp\":\"2024-05-01T00:00:00Z\",\"event_type\":\"flow\"}\n"),
            InputFormat::kEve);
  EXPECT_EQ(DetectFormat("May  1 09:30:00 fw kernel: DROP IN=eth0 OUT=eth1 SRC=1.1.1.1\n"),
            InputFormat::kNetfilter);
  // Syslog without a LOG line in the first lines is still syslog.
  EXPECT_EQ(DetectFormat("<13>1 2024-05-01T09:30:00Z fw sshd 1 - - hello\n"),
            InputFormat::kNetfilter);
  EXPECT_EQ(DetectFormat("2024-05-01T09:30:00.1+09:00 fw systemd[1]: Started.\n"),
            InputFormat::kNetfilter);
  EXPECT_EQ(DetectFormat("1714523400.123    245 10.30.1.20 TCP_MISS/200 5120 GET "
                         "http://a.example/ - HIER_DIRECT/203.0.113.5 text/html\n"),
            InputFormat::kSquid);
}

TEST(DetectFormat, UnknownInput) {
  EXPECT_EQ(DetectFormat(""), std::nullopt);
  EXPECT_EQ(DetectFormat("hello world\nsecond line\n"), std::nullopt);
  EXPECT_EQ(DetectFormat("{\"a\":1}\n"), std::nullopt);
}

}  // namespace
}  // namespace mamori::monitor
