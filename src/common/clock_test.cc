#include "common/clock.h"

#include <gtest/gtest.h>

namespace mamori {
namespace {

TEST(Clock, FormatsIso8601) {
  using namespace std::chrono;
  const TimePoint t = sys_days{2026y / April / 1} + hours{9} + minutes{30} + milliseconds{5};
  EXPECT_EQ(FormatIso8601(t), "2026-04-01T09:30:00.005Z");
}

TEST(Clock, ParsesRealDatesOnly) {
  EXPECT_TRUE(ParseDate("2026-04-01").has_value());
  EXPECT_TRUE(ParseDate("2028-02-29").has_value());
  EXPECT_FALSE(ParseDate("2026-02-29").has_value());
  EXPECT_FALSE(ParseDate("2026-4-1").has_value());
  EXPECT_FALSE(ParseDate("2026-13-01").has_value());
  EXPECT_FALSE(ParseDate("abcd-ef-gh").has_value());
}

}  // namespace
}  // namespace mamori

namespace mamori {
namespace {

TEST(DateArithmetic, MonthsClampToTheMonthsEndAndDaysCrossYears) {
  EXPECT_EQ(AddMonths("2026-01-31", 1), "2026-02-28");
  EXPECT_EQ(AddMonths("2028-01-31", 1), "2028-02-29");
  EXPECT_EQ(AddMonths("2026-04-01", 12), "2027-04-01");
  EXPECT_EQ(AddMonths("2026-04-01", -1), "2026-03-01");
  EXPECT_EQ(AddDays("2026-12-31", 1), "2027-01-01");
  EXPECT_EQ(AddDays("2026-03-01", -1), "2026-02-28");
  EXPECT_EQ(AddDays("not a date", 1), "not a date");
}

}  // namespace
}  // namespace mamori
