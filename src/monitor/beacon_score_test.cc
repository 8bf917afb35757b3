// The beacon scores against values computed by hand (the arithmetic is in the comments) and
// against the test vectors of RITA's own analysis/beacons_test.go. Cases are chosen so that no
// result lies on a rounding tie: the three decimals are exact.
#include "monitor/beacon_score.h"

#include <gtest/gtest.h>

#include <vector>

namespace mamori::monitor {
namespace {

using beacon_detail::BowleySkewScore;
using beacon_detail::DataSizeScore;
using beacon_detail::DurationScore;
using beacon_detail::HistogramScore;
using beacon_detail::MadScore;
using beacon_detail::QuartilesOf;
using beacon_detail::StatisticalScore;
using beacon_detail::TimestampScore;

constexpr int64_t kT0 = 1714521600;  // 2024-05-01T00:00:00Z
constexpr int64_t kDay = 86400;

// Connections every `step` seconds in [from, to) seconds after kT0.
void Every(std::vector<int64_t>& ts, int64_t from, int64_t to, int64_t step) {
  for (int64_t t = from; t < to; t += step) ts.push_back(kT0 + t);
}

TEST(BeaconScore, QuartilesSplitTheHalvesAsMontanaflynnStats) {
  // Even count: halves [1..4] and [5..8]. Odd count: the middle value in neither half.
  const std::vector<double> even = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto q = QuartilesOf(even);
  EXPECT_EQ(q.q1, 2.5);
  EXPECT_EQ(q.q2, 4.5);
  EXPECT_EQ(q.q3, 6.5);
  const std::vector<double> odd = {1, 2, 3, 4, 5, 6, 7};
  const auto r = QuartilesOf(odd);
  EXPECT_EQ(r.q1, 2);
  EXPECT_EQ(r.q2, 4);
  EXPECT_EQ(r.q3, 6);
}

TEST(BeaconScore, PerfectBeaconScoresOne) {
  // Every 60 s for the whole day: 1,440 connections of 300 bytes; data set 00:00–24:00.
  std::vector<int64_t> ts;
  Every(ts, 0, kDay, 60);
  const std::vector<int64_t> sizes(ts.size(), 300);
  const auto s = ScoreBeacon(ts, sizes, kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  // timing: every interval 60 → Q1 = Q2 = Q3 → skew 0 → 1; MAD 0 → (60 − 0)/60 = 1.
  EXPECT_EQ(s->timing, 1.0);
  EXPECT_EQ(s->size, 1.0);
  // histogram: 24 bins of 3,600 s, 60 connections each → CV 0 → 1.
  EXPECT_EQ(s->histogram, 1.0);
  EXPECT_EQ(s->cv_score, 1.0);
  // duration: coverage ceil(86340/86400 × 1000)/1000 = ceil(999.3)/1000 = 1; consistency 24/12 → 1.
  EXPECT_EQ(s->coverage, 1.0);
  EXPECT_EQ(s->consistency, 1.0);
  EXPECT_EQ(s->duration, 1.0);
  EXPECT_EQ(s->score, 1.0);
  EXPECT_EQ(s->interval_median, 60);
  EXPECT_EQ(s->size_median, 300);
}

TEST(BeaconScore, JitteredHourlyBeacon) {
  // One connection an hour at 3600·h + j, j cycling 0, 20, 10, 40 s.
  const int64_t jitter[] = {0, 20, 10, 40};
  std::vector<int64_t> ts;
  for (int h = 0; h < 24; ++h) ts.push_back(kT0 + 3600 * h + jitter[h % 4]);
  // Sizes: 12 × 100, 6 × 140, 6 × 300 bytes.
  std::vector<int64_t> sizes;
  for (int i = 0; i < 24; ++i) sizes.push_back(i < 12 ? 100 : i < 18 ? 140 : 300);
  const auto s = ScoreBeacon(ts, sizes, kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  // Intervals (23): 3620 ×6, 3590 ×6, 3630 ×6, 3560 ×5. Sorted: 3560 ×5, 3590 ×6, 3620 ×6,
  // 3630 ×6. Q2 = x[11] = 3620; Q1 = median(x[0..10]) = x[5] = 3590; Q3 = median(x[12..22]) =
  // x[17] = 3630. Skew = (3590 + 3630 − 7240)/40 = −0.5 → 0.5. Deviations from 3620: 0 ×6,
  // 10 ×6, 30 ×6, 60 ×5 → MAD = 10 → (3620 − 10)/3620 = 0.997238.
  // timing = round((0.5 + 0.997238)/2, 3) = round(0.748619) = 0.749.
  EXPECT_DOUBLE_EQ(s->timing, 0.749);
  EXPECT_EQ(s->interval_median, 3620);
  // Sizes: Q1 = 100, Q2 = (100 + 140)/2 = 120, Q3 = (140 + 300)/2 = 220. Skew = (100 + 220 −
  // 240)/120 = 0.666667 → 0.333333. Deviations from 120: 20 ×18, 180 ×6 → MAD 20 →
  // (120 − 20)/120 = 0.833333. size = round(0.583333) = 0.583.
  EXPECT_DOUBLE_EQ(s->size, 0.583);
  // One connection in each hourly bin → CV 0 → 1.
  EXPECT_EQ(s->histogram, 1.0);
  // Coverage: (82840 − 0)/86400 = 0.958796 → rounded up 0.959; consistency 24/12 → 1.
  EXPECT_DOUBLE_EQ(s->coverage, 0.959);
  EXPECT_EQ(s->duration, 1.0);
  // Score: 0.25 × (0.749 + 0.583 + 1 + 1) = 0.833.
  EXPECT_DOUBLE_EQ(s->score, 0.833);
}

TEST(BeaconScore, IrregularConnectionsScoreLow) {
  // Five connections at 0, 10, 400, 1000, 5000 s; sizes 50, 700, 3000, 120, 7000.
  const std::vector<int64_t> ts = {kT0, kT0 + 10, kT0 + 400, kT0 + 1000, kT0 + 5000};
  const std::vector<int64_t> sizes = {50, 700, 3000, 120, 7000};
  const auto s = ScoreBeacon(ts, sizes, kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  // Intervals sorted 10, 390, 600, 4000: Q1 = 200, Q2 = 495, Q3 = 2300. Skew = (200 + 2300 −
  // 990)/2100 = 0.719048 → 0.280952. Deviations from 495: 105, 105, 485, 3505 → MAD 295 →
  // (495 − 295)/495 = 0.404040. timing = round(0.342496) = 0.342.
  EXPECT_DOUBLE_EQ(s->timing, 0.342);
  // Sizes sorted 50, 120, 700, 3000, 7000: Q1 = 85, Q2 = 700, Q3 = 5000. Skew = (85 + 5000 −
  // 1400)/4915 = 0.749746 → 0.250254. Deviations 650, 580, 0, 2300, 6300 → MAD 650 →
  // (700 − 650)/700 = 0.071429. size = round(0.160841) = 0.161.
  EXPECT_DOUBLE_EQ(s->size, 0.161);
  // Bins: [4, 1, 0 ×22]: mean 5/24, standard deviation 0.8154 → CV 3.91 > 1 → 0; 2 bars < 11 →
  // no bimodal fit; 2 bars < 6 → no duration score.
  EXPECT_EQ(s->histogram, 0);
  EXPECT_EQ(s->duration, 0);
  // Score: 0.25 × 0.342 + 0.25 × 0.161 = 0.12575 → 0.126.
  EXPECT_DOUBLE_EQ(s->score, 0.126);
}

TEST(BeaconScore, FewerThanFourUniqueTimestampsIsNotScored) {
  const std::vector<int64_t> sizes = {100, 100, 100, 100, 100};
  const std::vector<int64_t> three = {kT0, kT0 + 60, kT0 + 120};
  EXPECT_FALSE(ScoreBeacon(three, std::span(sizes).first(3), kT0, kT0 + kDay).has_value());
  // Five connections, but two pairs in the same second: 3 unique timestamps.
  const std::vector<int64_t> repeated = {kT0, kT0 + 60, kT0 + 60, kT0 + 120, kT0 + 120};
  EXPECT_FALSE(ScoreBeacon(repeated, sizes, kT0, kT0 + kDay).has_value());
  // Four unique: scored; the zero interval is dropped, intervals 60, 60, 60 → timing 1.
  const std::vector<int64_t> four = {kT0, kT0 + 60, kT0 + 60, kT0 + 120, kT0 + 180};
  const auto s = ScoreBeacon(four, sizes, kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->timing, 1.0);
  // No data set span: not scored (RITA ErrInvalidDatasetTimeRange).
  EXPECT_FALSE(ScoreBeacon(four, sizes, kT0, kT0).has_value());
}

TEST(BeaconScore, SkewIsZeroWhenQuartilesAreCloseOrTied) {
  // Q1 = 59, Q2 = 61, Q3 = 65: Q3 − Q1 = 6 < 10 → skew 0 → 1 (the formula alone would give
  // (59 + 65 − 122)/6 = 0.333 → 0.667).
  const std::vector<double> close = {58, 60, 61, 64, 66};
  EXPECT_EQ(BowleySkewScore(close), 1.0);
  // The same shape ten times wider: Q1 = 590, Q2 = 610, Q3 = 650 → (590 + 650 − 1220)/60.
  const std::vector<double> wide = {580, 600, 610, 640, 660};
  EXPECT_DOUBLE_EQ(BowleySkewScore(wide), 1.0 - 20.0 / 60.0);
  // MAD of `close`: deviations from 61 are 3, 1, 0, 3, 5 → 3 → 58/61 = 0.950820;
  // (1 + 0.950820)/2 = 0.975410 → 0.975.
  EXPECT_DOUBLE_EQ(StatisticalScore(close, 1), 0.975);
  // Q2 equal to Q1 (10, 10, 90) or to Q3 (20, 90, 90): skew 0.
  const std::vector<double> low = {10, 10, 10, 10, 50, 90, 200};
  EXPECT_EQ(BowleySkewScore(low), 1.0);
  const std::vector<double> high = {1, 20, 90, 90, 90, 90, 90};
  EXPECT_EQ(BowleySkewScore(high), 1.0);
}

TEST(BeaconScore, MedianBelowOneUsesTheDefault) {
  // Median 0: timing's default MAD score is 1, size's is 0.
  const std::vector<double> zeros = {0, 0, 0, 1};
  EXPECT_EQ(MadScore(zeros, 1), 1.0);
  EXPECT_EQ(MadScore(zeros, 0), 0.0);
  // Connections that carry no bytes: size = (skew score 1 + MAD score 0)/2 = 0.5.
  std::vector<int64_t> ts;
  Every(ts, 0, kDay, 60);
  const std::vector<int64_t> sizes(ts.size(), 0);
  const auto s = ScoreBeacon(ts, sizes, kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->size, 0.5);
  EXPECT_EQ(s->score, 0.875);  // 0.25 × (1 + 0.5 + 1 + 1)
  // A MAD as large as the median scores 0: median 2; deviations 2, 1, 0, 48, 98 → MAD 2 →
  // (2 − 2)/2 = 0. (With sizes, never negative, the MAD cannot exceed the median, so RITA's
  // floor at 0 does not come into play.)
  const std::vector<double> spread = {0, 1, 2, 50, 100};
  EXPECT_EQ(MadScore(spread, 0), 0.0);
}

TEST(BeaconScore, DurationNeedsSixHourlyBarsNotSixHoursOfSpan) {
  const std::vector<int64_t> one_size(400, 500);
  // 5 hours of a 60 s beacon: 5 bars < 6 → duration 0; CV of 5 bars of 60 in 24 bins is
  // sqrt(593.75)/12.5 = 1.95 > 1 → 0. Score 0.25 × (1 + 1) = 0.5.
  std::vector<int64_t> five;
  Every(five, 0, 5 * 3600, 60);
  auto s = ScoreBeacon(five, std::span(one_size).first(five.size()), kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->duration, 0);
  EXPECT_EQ(s->histogram, 0);
  EXPECT_EQ(s->score, 0.5);
  // 6 hours: coverage 21540/86400 = 0.2493 → 0.25, consistency 6/12 = 0.5 → duration 0.5.
  // Score 0.25 × (1 + 1 + 0.5 + 0) = 0.625.
  std::vector<int64_t> six;
  Every(six, 0, 6 * 3600, 60);
  s = ScoreBeacon(six, std::span(one_size).first(six.size()), kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->coverage, 0.25);
  EXPECT_EQ(s->consistency, 0.5);
  EXPECT_EQ(s->duration, 0.5);
  EXPECT_EQ(s->score, 0.625);
  // Hours 0–2 and 10–11: the connections span 11 h, but only 5 bars: no duration score (the
  // reference's "span at least 6 hours" is RITA's "at least 6 hours seen").
  std::vector<int64_t> gap;
  Every(gap, 0, 3 * 3600, 60);
  Every(gap, 10 * 3600, 12 * 3600, 60);
  s = ScoreBeacon(gap, std::span(one_size).first(gap.size()), kT0, kT0 + kDay);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->total_bars, 5);
  EXPECT_EQ(s->duration, 0);
}

TEST(BeaconScore, DurationPartsRoundUp) {
  BeaconParams params;
  // 6 bars, run 7 (wrapping): coverage 1000/3000 = 0.3333 → 0.334; consistency 7/12 = 0.5833
  // → 0.584.
  const auto d = DurationScore(0, 3000, 500, 1500, 6, 7, params);
  EXPECT_DOUBLE_EQ(d.coverage, 0.334);
  EXPECT_DOUBLE_EQ(d.consistency, 0.584);
  EXPECT_DOUBLE_EQ(d.score, 0.584);
}

TEST(BeaconScore, HistogramBimodalFitAgainstCoefficientOfVariation) {
  BeaconParams params;
  // 12 hours of 10 connections and 12 hours of 30: mean 20, standard deviation 10 → CV 0.5 →
  // 0.5. Bimodal: bin width ceil(30 × 0.05) = 2; heights 10 and 30 → 12 + 12 bars of 24, one
  // outlier allowed: 24/23 = 1.043 → capped at 1. Histogram score 1.
  std::vector<int64_t> two;
  for (int h = 0; h < 24; ++h) Every(two, 3600 * h, 3600 * (h + 1), h < 12 ? 360 : 120);
  auto h = HistogramScore(kT0, kT0 + kDay, two, params);
  EXPECT_EQ(h.bins[0], 10);
  EXPECT_EQ(h.bins[23], 30);
  EXPECT_EQ(h.cv_score, 0.5);
  EXPECT_EQ(h.bimodal_score, 1.0);
  EXPECT_EQ(h.score, 1.0);
  // Heights 8, 10, 12 on 8 hours each: mean 10, variance 64/24 → standard deviation 1.633 →
  // CV 0.1633 → 0.837. Bimodal: bin width ceil(0.6) = 1, three bins of 8 bars → 16/23 = 0.696.
  // The CV score wins.
  std::vector<int64_t> three;
  for (int h = 0; h < 24; ++h) Every(three, 3600 * h, 3600 * h + (h < 8 ? 8 : h < 16 ? 10 : 12), 1);
  h = HistogramScore(kT0, kT0 + kDay, three, params);
  EXPECT_DOUBLE_EQ(h.cv_score, 0.837);
  EXPECT_DOUBLE_EQ(h.bimodal_score, 0.696);
  EXPECT_DOUBLE_EQ(h.score, 0.837);
}

TEST(BeaconScore, BimodalFitNeedsElevenBars) {
  BeaconParams params;
  // 10 bars of 5: CV = 1.18 > 1 → 0 and 10 < 11 bars → no bimodal fit: 0.
  std::vector<int64_t> ten;
  for (int h = 0; h < 10; ++h) Every(ten, 3600 * h, 3600 * h + 5, 1);
  auto h = HistogramScore(kT0, kT0 + kDay, ten, params);
  EXPECT_EQ(h.total_bars, 10);
  EXPECT_EQ(h.score, 0);
  // 11 bars of 5: CV = 1.087 > 1 → 0; bimodal: one height, 11/(11 − 1) = 1.1 → 1.
  std::vector<int64_t> eleven;
  for (int h = 0; h < 11; ++h) Every(eleven, 3600 * h, 3600 * h + 5, 1);
  h = HistogramScore(kT0, kT0 + kDay, eleven, params);
  EXPECT_EQ(h.cv_score, 0);
  EXPECT_EQ(h.bimodal_score, 1.0);
  EXPECT_EQ(h.longest_run, 11);
}

TEST(BeaconScore, LongestRunWrapsAroundTheDay) {
  BeaconParams params;
  // Busy in hours 20–23 and 0–3: one run of 8 across midnight of the data set.
  std::vector<int64_t> ts;
  for (int h : {0, 1, 2, 3, 20, 21, 22, 23}) ts.push_back(kT0 + 3600 * h + 1);
  const auto h = HistogramScore(kT0, kT0 + kDay, ts, params);
  EXPECT_EQ(h.total_bars, 8);
  EXPECT_EQ(h.longest_run, 8);
}

// RITA analysis/beacons_test.go, TestGetTimestampScore and TestGetDataSizeScore.
TEST(BeaconScore, AgreesWithRitasOwnTestVectors) {
  auto timing = [](std::vector<int64_t> ts) { return TimestampScore(ts).value_or(-1); };
  // "Connection with Closely-Valued Intervals": 0.995.
  EXPECT_DOUBLE_EQ(timing({1517338924, 1517339022, 1517339121, 1517339220, 1517339320, 1517339420,
                           1517339520, 1517339621, 1517339722, 1517339824}),
                   0.995);
  // "Connection with Bi-Modal Intervals": 0.746.
  EXPECT_DOUBLE_EQ(timing({1517338924, 1517339022, 1517339322, 1517339420, 1517339720, 1517339818,
                           1517340118, 1517340216, 1517340516, 1517340614, 1517340914}),
                   0.746);
  // "Connection with Random Intervals": 0.083.
  EXPECT_DOUBLE_EQ(timing({1517338924, 1517338925, 1517339224, 1517339249, 1517344224, 1517344314,
                           1517344316, 1517344358, 1517344858, 1517346358}),
                   0.083);
  // "Connection with < 3 Non-Zero Intervals" and "Length of Timestamp List < 4": no score.
  EXPECT_FALSE(TimestampScore(std::vector<int64_t>(9, 60)).has_value());
  EXPECT_FALSE(TimestampScore(std::vector<int64_t>{1517338924, 1517338925}).has_value());
  // Data sizes: "Simple Number List" 0.773, "Closely-Valued Sizes" 0.995.
  EXPECT_DOUBLE_EQ(*DataSizeScore(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 0.773);
  EXPECT_DOUBLE_EQ(*DataSizeScore(std::vector<int64_t>{98, 99, 99, 100, 100, 100, 101, 101, 102}),
                   0.995);
}

}  // namespace
}  // namespace mamori::monitor
