// The `mamori monitor` pipeline: inputs → lines → parser (per input, chosen by --format or
// detected from its first lines) → Event → every detector → Aggregator → AlertOutput.
//
//   Monitor monitor(options, detectors, output);
//   monitor.Process(source, "conn.log");   // for each input, in order
//   monitor.Finish();                      // flushes detectors and open alerts
//   monitor.summary();                     // counts, malformed samples, alerts by kind
//
// Inputs come through ByteSource, so the pipeline does no file I/O of its own (FdSource reads a
// file descriptor; tests and fuzzers use StringSource). Lines longer than kMaxLineBytes, and
// lines a parser cannot read, are counted as malformed with a sample (file:line, reason, the
// start of the line); nothing is dropped silently. Memory is bounded by the read buffer (at most
// 4 MiB) and the detectors' state, not by the input's size.
//
// Not thread-safe: one Monitor per thread. The detectors and output must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "monitor/alert.h"
#include "monitor/detector.h"
#include "monitor/parser.h"

namespace mamori::monitor {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `buffer`; 0 at the end. Errors are kUnavailable.
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
};

// Reads a file descriptor it does not own (the caller opens and closes it).
class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> Read(char* buffer, size_t size) override;

 private:
  int fd_;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view text) : text_(text) {}
  Result<size_t> Read(char* buffer, size_t size) override;

 private:
  std::string_view text_;
};

struct MonitorOptions {
  std::optional<InputFormat> format;            // nullopt: detect per input
  int64_t window_us = int64_t{3600} * 1000000;  // alert aggregation window (event time)
  size_t max_evidence = 10;                     // evidence entries per alert
  size_t max_samples = 5;                       // malformed-line samples kept
  ParserOptions parser;
};

struct MalformedSample {
  std::string file;
  uint64_t line = 0;
  Reason reason;
  std::string excerpt;  // the line's first 120 bytes, made printable
};

struct InputSummary {
  std::string name;
  std::optional<InputFormat> format;  // nullopt: not recognized (input skipped)
  uint64_t lines = 0;
  uint64_t events = 0;
};

struct Summary {
  std::vector<InputSummary> inputs;
  uint64_t lines = 0;                                 // non-empty lines read
  uint64_t events = 0;                                // lines that became events
  uint64_t ignored = 0;                               // well-formed lines that carry no event
  uint64_t malformed = 0;                             // lines that could not be read
  std::map<std::string, uint64_t> ignored_by_reason;  // Japanese reason → count
  std::vector<MalformedSample> samples;               // the first max_samples malformed lines
  std::map<std::string, uint64_t> alerts_by_kind;     // filled by Finish
  std::map<std::string, uint64_t> state_dropped;      // Detector::CountDropped, by Finish
};

class Monitor {
 public:
  Monitor(MonitorOptions options, std::vector<std::unique_ptr<Detector>> detectors,
          AlertOutput& output);

  // Reads one input to its end. An input whose format cannot be detected is refused with
  // kInvalidInput ("name: …", nothing read from it counted as events); a read error is
  // kUnavailable. Either way the Monitor stays usable for the next input.
  Status Process(ByteSource& source, std::string_view name);
  // Ends the run: detectors' Finish, then every open alert is written.
  void Finish();

  const Summary& summary() const { return summary_; }

 private:
  void HandleLine(Parser& parser, std::string_view text, std::string_view name, uint64_t number,
                  InputSummary& input);
  void Malformed(std::string_view name, uint64_t number, Reason reason, std::string_view text);

  MonitorOptions options_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  Aggregator aggregator_;
  Summary summary_;
  Event event_;
  int64_t watermark_us_ = INT64_MIN;
  int64_t next_advance_us_ = INT64_MIN;
  std::vector<char> buffer_;
};

// The summary for people (standard error): Japanese with English in parentheses. `seconds` is
// the wall time the run took (for events per second).
std::string SummaryToText(const Summary& summary, double seconds);

}  // namespace mamori::monitor
