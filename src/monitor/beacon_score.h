// Beacon scoring of `mamori monitor` (the `beacon` detector, beacon.h): RITA v5's method, ported
// from its source so that scores agree to three decimals. Pure functions, no state, no I/O;
// thread-safe.
//
// Source followed (activecm/rita, Go, v5): analysis/beacons.go (getTimestampScore,
// getDataSizeScore, calculateStatisticalScore, calculateBowleySkewness,
// calculateMedianAbsoluteDeviation, getHistogramScore, computeHistogramBins, createHistogram,
// getFrequencyCounts, calculateCoefficientOfVariationScore, calculateBimodalFitScore,
// getDurationScore, getBeaconScore), the quantiles of github.com/montanaflynn/stats
// (quartile.go, median.go, deviation.go) that RITA calls, and the defaults of RITA's
// default_config.hjson (scoring.beacon). docs/monitor.md lists where RITA differs from the
// summary in the project's reference.
//
// Units: timestamps in whole seconds (RITA stores connection times as ClickHouse DateTime, i.e.
// truncated to the second), sizes in bytes (RITA: the originator's IP bytes, Zeek
// orig_ip_bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mamori::monitor {

// RITA's scoring.beacon settings, with its defaults.
struct BeaconParams {
  int unique_connection_threshold = 4;  // unique timestamps a pair needs to be scored
  double timestamp_weight = 0.25;
  double datasize_weight = 0.25;
  double duration_weight = 0.25;
  double histogram_weight = 0.25;
  int duration_min_hours_seen = 6;                 // histogram bars needed for a duration score
  int duration_consistency_ideal_hours_seen = 12;  // longest run scoring 1
  double histogram_mode_sensitivity = 0.05;        // frequency bin width, share of the tallest bar
  int histogram_bimodal_outlier_removal = 1;       // bars that may be outliers
  int histogram_bimodal_min_hours_seen = 11;       // bars needed for the bimodal fit
  int histogram_bins = 24;                         // bins over the data set's span
};

// The score of one pair and how it came about. Scores are in [0, 1].
struct BeaconScore {
  double score = 0;      // weighted sum of the four, rounded to 3 decimals
  double timing = 0;     // RITA ts_score
  double size = 0;       // RITA ds_score
  double duration = 0;   // RITA dur_score
  double histogram = 0;  // RITA hist_score
  // Details, for people.
  double interval_median = 0;  // seconds between connections (non-zero intervals)
  double size_median = 0;      // bytes per connection
  double coverage = 0;         // duration: (last − first) / data set span
  double consistency = 0;      // duration: longest run of busy bins / ideal hours
  double cv_score = 0;         // histogram: coefficient-of-variation score
  double bimodal_score = 0;    // histogram: bimodal-fit score
  int total_bars = 0;          // histogram bins with at least one connection
  int longest_run = 0;         // longest run of such bins, wrapping around
};

// Scores one pair. `timestamps` and `sizes` are one entry per connection, in any order (both are
// sorted here, as RITA sorts them); `dataset_min` < `dataset_max` is the span of the data set
// (RITA: the earliest and latest connection time of the whole import, at most 24 hours apart).
// nullopt when RITA would not score the pair: fewer than `unique_connection_threshold` distinct
// timestamps (RITA's ts_unique), fewer than 3 non-zero intervals, fewer than 3 sizes, or an empty
// data set span.
std::optional<BeaconScore> ScoreBeacon(std::span<const int64_t> timestamps,
                                       std::span<const int64_t> sizes, int64_t dataset_min,
                                       int64_t dataset_max, const BeaconParams& params = {});

// The parts, exposed for the unit tests (beacon_score_test.cc). `sorted` must be sorted and
// non-empty; Quartiles needs at least 2 values.
namespace beacon_detail {

double Median(std::span<const double> sorted);
struct Quartiles {
  double q1 = 0, q2 = 0, q3 = 0;
};
Quartiles QuartilesOf(std::span<const double> sorted);
// 1 − |Bowley skewness|; skewness 0 when Q3 − Q1 < 10 or Q2 equals Q1 or Q3. Needs ≥ 3 values.
double BowleySkewScore(std::span<const double> sorted);
// (median − MAD) / median, floored at 0; `default_score` when the median is below 1.
double MadScore(std::span<const double> sorted, double default_score);
// Mean of the two, rounded to 3 decimals.
double StatisticalScore(std::span<const double> sorted, double default_mad_score);
// RITA getTimestampScore: the statistical score of the non-zero intervals between the sorted
// timestamps (MAD default 1); `median` gets their median. nullopt with fewer than 4 timestamps
// or 3 non-zero intervals.
std::optional<double> TimestampScore(std::span<const int64_t> sorted_timestamps,
                                     double* median = nullptr);
// RITA getDataSizeScore: the statistical score of the sizes (MAD default 0); nullopt with fewer
// than 3.
std::optional<double> DataSizeScore(std::span<const int64_t> sizes, double* median = nullptr);

struct Histogram {
  std::vector<int> bins;
  int total_bars = 0;
  int longest_run = 0;
  double cv_score = 0;
  double bimodal_score = 0;
  double score = 0;  // max(cv_score, bimodal_score)
};
Histogram HistogramScore(int64_t dataset_min, int64_t dataset_max,
                         std::span<const int64_t> sorted_timestamps, const BeaconParams& params);
double CoefficientOfVariationScore(std::span<const int> bins);

struct Duration {
  double coverage = 0, consistency = 0, score = 0;
};
Duration DurationScore(int64_t dataset_min, int64_t dataset_max, int64_t first, int64_t last,
                       int total_bars, int longest_run, const BeaconParams& params);

}  // namespace beacon_detail
}  // namespace mamori::monitor
