#include "common/clock.h"

#include <algorithm>
#include <cstdio>

namespace mamori {

TimePoint SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::string FormatIso8601(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                long(hms.minutes().count()), long(hms.seconds().count()),
                long(hms.subseconds().count()));
  return buf;
}

std::string JapanDate(TimePoint t) {
  return FormatIso8601(t + std::chrono::hours(9)).substr(0, 10);
}

std::optional<std::chrono::year_month_day> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int v[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lens[3] = {4, 2, 2};
  for (int k = 0; k < 3; ++k) {
    for (size_t i = starts[k]; i < starts[k] + lens[k]; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v[k] = v[k] * 10 + (s[i] - '0');
    }
  }
  const std::chrono::year_month_day ymd{std::chrono::year{v[0]},
                                        std::chrono::month{static_cast<unsigned>(v[1])},
                                        std::chrono::day{static_cast<unsigned>(v[2])}};
  if (!ymd.ok() || v[0] < 1900 || v[0] > 2999) return std::nullopt;
  return ymd;
}

std::string AddMonths(const std::string& date, int months) {
  const auto ymd = ParseDate(date);
  if (!ymd) return date;
  auto ym = std::chrono::year_month(ymd->year(), ymd->month()) + std::chrono::months(months);
  const auto last =
      std::chrono::year_month_day_last(ym.year(), std::chrono::month_day_last(ym.month()));
  const auto day = std::min(ymd->day(), last.day());
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ym.year()),
                static_cast<unsigned>(ym.month()), static_cast<unsigned>(day));
  return buf;
}

std::string AddDays(const std::string& date, int days) {
  const auto ymd = ParseDate(date);
  if (!ymd) return date;
  const std::chrono::year_month_day d(std::chrono::sys_days(*ymd) + std::chrono::days(days));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

}  // namespace mamori
