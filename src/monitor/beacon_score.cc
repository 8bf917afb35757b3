// RITA v5's beacon scoring (see beacon_score.h for the files followed). The arithmetic is done in
// the order RITA's Go code does it, in doubles, so that the rounding to 3 decimals agrees; this
// file is compiled with -ffp-contract=off (src/monitor/CMakeLists.txt) so that no multiply-add is
// fused where Go would not fuse it.
#include "monitor/beacon_score.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mamori::monitor {
namespace beacon_detail {
namespace {

// Go: math.Round(x*1000)/1000 (half away from zero, as std::round).
double Round3(double x) { return std::round(x * 1000) / 1000; }
// Go: math.Ceil(x*1000)/1000.
double Ceil3(double x) { return std::ceil(x * 1000) / 1000; }

}  // namespace

// montanaflynn/stats median.go: the middle value, or the mean of the two middle values.
double Median(std::span<const double> sorted) {
  const size_t n = sorted.size();
  if (n % 2 == 0) return (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return sorted[n / 2];
}

// montanaflynn/stats quartile.go: Q2 is the median; Q1 and Q3 are the medians of the lower and
// upper halves, the middle value excluded from both when the count is odd.
Quartiles QuartilesOf(std::span<const double> sorted) {
  const size_t n = sorted.size();
  const size_t c1 = n % 2 == 0 ? n / 2 : (n - 1) / 2;
  const size_t c2 = n % 2 == 0 ? n / 2 : c1 + 1;
  return {Median(sorted.first(c1)), Median(sorted), Median(sorted.subspan(c2))};
}

// RITA calculateBowleySkewness.
double BowleySkewScore(std::span<const double> sorted) {
  const Quartiles q = QuartilesOf(sorted);
  const double num = q.q1 + q.q3 - 2 * q.q2;
  const double den = q.q3 - q.q1;
  double skewness = 0;
  if (den >= 10 && q.q2 != q.q1 && q.q2 != q.q3) skewness = num / den;
  return 1.0 - std::abs(skewness);
}

// RITA calculateMedianAbsoluteDeviation with stats.MedianAbsoluteDeviation (the median of the
// absolute deviations from the median).
double MadScore(std::span<const double> sorted, double default_score) {
  const double median = Median(sorted);
  std::vector<double> deviations(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) deviations[i] = std::abs(sorted[i] - median);
  std::sort(deviations.begin(), deviations.end());
  const double mad = Median(deviations);
  double score = default_score;
  if (median >= 1) score = (median - mad) / median;
  if (score < 0 || std::isnan(score)) score = 0;
  return score;
}

// RITA calculateStatisticalScore.
double StatisticalScore(std::span<const double> sorted, double default_mad_score) {
  const double skew_score = BowleySkewScore(sorted);
  const double mad_score = MadScore(sorted, default_mad_score);
  return Round3((skew_score + mad_score) / 2.0);
}

// RITA getTimestampScore.
std::optional<double> TimestampScore(std::span<const int64_t> sorted_timestamps, double* median) {
  if (sorted_timestamps.size() < 4) return std::nullopt;
  // The intervals, sorted, without the zero ones (connections in the same second).
  std::vector<double> intervals;
  intervals.reserve(sorted_timestamps.size() - 1);
  for (size_t i = 0; i + 1 < sorted_timestamps.size(); ++i) {
    const int64_t interval = sorted_timestamps[i + 1] - sorted_timestamps[i];
    if (interval > 0) intervals.push_back(static_cast<double>(interval));
  }
  if (intervals.size() < 3) return std::nullopt;
  std::sort(intervals.begin(), intervals.end());
  if (median != nullptr) *median = Median(intervals);
  return StatisticalScore(intervals, 1);
}

// RITA getDataSizeScore.
std::optional<double> DataSizeScore(std::span<const int64_t> sizes, double* median) {
  if (sizes.size() < 3) return std::nullopt;
  std::vector<double> bytes(sizes.begin(), sizes.end());
  std::sort(bytes.begin(), bytes.end());
  if (median != nullptr) *median = Median(bytes);
  return StatisticalScore(bytes, 0);
}

// RITA calculateCoefficientOfVariationScore: 1 − (population standard deviation / mean) of the
// bins, 0 when that ratio exceeds 1.
double CoefficientOfVariationScore(std::span<const int> bins) {
  int64_t total = 0;
  for (int b : bins) total += b;
  if (bins.empty() || total <= 0) return 0;
  const double n = static_cast<double>(bins.size());
  const double mean = static_cast<double>(total) / n;
  double sd = 0;
  for (int b : bins) {
    const double d = static_cast<double>(b) - mean;
    sd += d * d;  // Go: math.Pow(d, 2), which squares exactly as d * d does
  }
  sd = std::sqrt(sd / n);
  const double cv = sd / std::abs(mean);
  double score = cv > 1.0 ? 0.0 : Round3(1.0 - cv);
  return std::min(score, 1.0);
}

// RITA getHistogramScore with computeHistogramBins, createHistogram, getFrequencyCounts and
// calculateBimodalFitScore.
Histogram HistogramScore(int64_t dataset_min, int64_t dataset_max,
                         std::span<const int64_t> sorted_timestamps, const BeaconParams& params) {
  Histogram h;
  const int n = std::max(params.histogram_bins, 1);
  // Bin edges: n + 1, evenly spaced, the first and last set exactly.
  std::vector<double> edges(n + 1);
  const double step = static_cast<double>(dataset_max - dataset_min) / static_cast<double>(n);
  edges[0] = static_cast<double>(dataset_min);
  for (int i = 1; i < n; ++i) edges[i] = static_cast<double>(dataset_min) + i * step;
  edges[n] = static_cast<double>(dataset_max);

  // Counts per bin; a timestamp before the first edge falls in the first bin, one at or after
  // the last edge in the last bin (as RITA's walk over the sorted timestamps does).
  h.bins.assign(n, 0);
  int current = 0;
  double next_edge = edges[1];
  for (int64_t t : sorted_timestamps) {
    const double ts = static_cast<double>(t);
    if (ts >= next_edge) {
      for (int j = current + 1; j < n; ++j) {
        current = j;
        next_edge = edges[j + 1];
        if (ts < edges[j + 1]) break;
      }
    }
    ++h.bins[current];
  }

  // Frequency counts: bars grouped by height into bins of ceil(tallest × sensitivity); the
  // number of non-empty bars; the longest run of non-empty bars, wrapping around.
  int largest = 0;
  for (int b : h.bins) {
    if (b > 0) ++h.total_bars;
    largest = std::max(largest, b);
  }
  const double bin_size =
      std::ceil(static_cast<double>(largest) * params.histogram_mode_sensitivity);
  std::map<int, int> freq_count;
  int run = 0;
  for (int i = 0; i < 2 * n; ++i) {
    const int frequency = h.bins[i % n];
    if (frequency > 0) {
      ++run;
    } else {
      h.longest_run = std::max(h.longest_run, run);
      run = 0;
    }
    if (i < n && frequency > 0) {
      const int bin =
          static_cast<int>(std::floor(static_cast<double>(frequency) / bin_size) * bin_size);
      ++freq_count[bin];
    }
  }
  h.longest_run = std::min(std::max(h.longest_run, run), n);

  h.cv_score = CoefficientOfVariationScore(h.bins);

  // Bimodal fit: the share of bars in the two most common height bins, one outlier bar allowed;
  // only with enough bars (RITA resets a minimum below 6 to 11).
  const int min_hours =
      params.histogram_bimodal_min_hours_seen < 6 ? 11 : params.histogram_bimodal_min_hours_seen;
  double fit = 0;
  if (h.total_bars >= min_hours) {
    int first = 0, second = 0;
    for (const auto& [height, count] : freq_count) {
      if (count > first) {
        second = first;
        first = count;
      } else if (count > second) {
        second = count;
      }
    }
    const double adjusted =
        std::max(static_cast<double>(h.total_bars - params.histogram_bimodal_outlier_removal), 1.0);
    fit = static_cast<double>(first + second) / adjusted;
  }
  h.bimodal_score = std::min(Round3(fit), 1.0);
  h.score = std::max(h.cv_score, h.bimodal_score);
  return h;
}

// RITA getDurationScore: only with at least duration_min_hours_seen non-empty histogram bars;
// the better of coverage and consistency, each rounded up to 3 decimals and capped at 1.
Duration DurationScore(int64_t dataset_min, int64_t dataset_max, int64_t first, int64_t last,
                       int total_bars, int longest_run, const BeaconParams& params) {
  Duration d;
  if (total_bars >= params.duration_min_hours_seen) {
    d.coverage = std::min(
        Ceil3(static_cast<double>(last - first) / static_cast<double>(dataset_max - dataset_min)),
        1.0);
    d.consistency =
        std::min(Ceil3(static_cast<double>(longest_run) /
                       static_cast<double>(params.duration_consistency_ideal_hours_seen)),
                 1.0);
    d.score = std::max(d.coverage, d.consistency);
  }
  return d;
}

}  // namespace beacon_detail

std::optional<BeaconScore> ScoreBeacon(std::span<const int64_t> timestamps,
                                       std::span<const int64_t> sizes, int64_t dataset_min,
                                       int64_t dataset_max, const BeaconParams& params) {
  using namespace beacon_detail;
  // RITA analyzeBeacon refuses an empty or inverted data set span; getDurationScore refuses
  // settings below 1.
  if (dataset_max <= dataset_min || params.duration_min_hours_seen < 1 ||
      params.duration_consistency_ideal_hours_seen < 1) {
    return std::nullopt;
  }
  if (timestamps.size() < 4 || sizes.size() < 3) return std::nullopt;

  std::vector<int64_t> ts(timestamps.begin(), timestamps.end());
  std::sort(ts.begin(), ts.end());

  // analysis.go: a pair is scored when its unique timestamps (RITA ts_unique) reach the
  // threshold.
  size_t unique = 1;
  for (size_t i = 1; i < ts.size(); ++i) unique += ts[i] != ts[i - 1] ? 1 : 0;
  if (unique < static_cast<size_t>(std::max(params.unique_connection_threshold, 0))) {
    return std::nullopt;
  }
  BeaconScore out;
  const std::optional<double> timing = TimestampScore(ts, &out.interval_median);
  const std::optional<double> size = DataSizeScore(sizes, &out.size_median);
  if (!timing || !size) return std::nullopt;
  out.timing = *timing;
  out.size = *size;
  const Histogram hist = HistogramScore(dataset_min, dataset_max, ts, params);
  out.histogram = hist.score;
  out.cv_score = hist.cv_score;
  out.bimodal_score = hist.bimodal_score;
  out.total_bars = hist.total_bars;
  out.longest_run = hist.longest_run;

  const Duration dur = DurationScore(dataset_min, dataset_max, ts.front(), ts.back(),
                                     hist.total_bars, hist.longest_run, params);
  out.duration = dur.score;
  out.coverage = dur.coverage;
  out.consistency = dur.consistency;

  // getBeaconScore: the weighted sum in this order, rounded to 3 decimals.
  out.score =
      std::round(((out.timing * params.timestamp_weight) + (out.size * params.datasize_weight) +
                  (out.duration * params.duration_weight) +
                  (out.histogram * params.histogram_weight)) *
                 1000) /
      1000;
  return out;
}

}  // namespace mamori::monitor
