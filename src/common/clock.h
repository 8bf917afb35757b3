// Time: an injectable clock and ISO 8601 formatting.
//
// Code that needs "now" takes a Clock& so tests can fix time. SystemClock is thread-safe;
// FixedClock is for single-threaded tests (or guard it yourself).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mamori {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint t) : t_(t) {}
  TimePoint Now() const override { return t_; }
  void Advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  TimePoint t_;
};

// "2026-04-01T09:30:00.000Z"
std::string FormatIso8601(TimePoint t);

// The calendar date in Japan (UTC+9, no daylight saving) at `t`, as "YYYY-MM-DD": role
// assignments and other dated records take effect by the Japanese calendar.
std::string JapanDate(TimePoint t);

// Parses "YYYY-MM-DD" strictly (a real calendar date); nullopt otherwise.
std::optional<std::chrono::year_month_day> ParseDate(std::string_view s);

// "YYYY-MM-DD" `months` later (negative: earlier), the day clamped to the month's end; the
// input as is when it is not a date.
std::string AddMonths(const std::string& date, int months);
// "YYYY-MM-DD" `days` later (negative: earlier); the input as is when it is not a date.
std::string AddDays(const std::string& date, int days);

}  // namespace mamori
