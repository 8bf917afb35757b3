// The `mamori monitor` pipeline: inputs → lines → parser (per input, chosen by --format or
// detected from its first lines) → Event → every detector → Aggregator → AlertOutput.
//
//   Monitor monitor(options, detectors, output);
//   monitor.Process(source, "conn.log");   // for each input, in order
//   monitor.Finish();                      // flushes detectors and open alerts
//   monitor.summary();                     // counts, malformed samples, alerts by kind
//
// Several inputs can also be read interleaved, bytes fed as they arrive (follow mode, syslog):
//
//   InputId a = monitor.OpenInput("conn.log");
//   monitor.Feed(a, bytes);       // complete lines are processed at once, the rest kept
//   monitor.Settle(a);            // nothing more for now: decide the format from what is here
//   monitor.CloseInput(a, InputEnd::kEndOfData);   // the last line needs no line break
//
// Each input has its own parser, line counter, partial-line buffer and format detection. Events
// reach the detectors in the order their lines complete, whichever input they come from.
//
// Inputs come through ByteSource or Feed, so the pipeline does no file I/O of its own (FdSource
// reads a file descriptor; tests and fuzzers use StringSource). Lines longer than kMaxLineBytes,
// and lines a parser cannot read, are counted as malformed with a sample (file:line, reason, the
// start of the line); nothing is dropped silently. Memory is bounded by the read buffer of each
// open input (at most 4 MiB) and the detectors' state, not by the input's size.
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

// How an input ends (CloseInput).
enum class InputEnd : uint8_t {
  kEndOfData,  // the input is complete: a last line without a line break is still a line
  kStopped,    // reading stopped mid-way: a last line without a line break is left unread
};

using InputId = size_t;

// What the syslog listeners (--syslog) saw; all zero without them.
struct ListenerCounts {
  bool listening = false;  // the listeners are bound
  uint64_t messages = 0;
  uint64_t connections = 0;
  uint64_t refused_connections = 0;  // TCP connections beyond the limit, closed at once
  uint64_t accept_failures = 0;      // out of descriptors or memory
  uint64_t idle_closed = 0;          // silent connections closed to make room for a new one
  uint64_t merged_senders = 0;   // messages of new senders merged into "(others)" (past the limit)
  uint64_t retired_senders = 0;  // silent senders whose input gave way to a new sender
  bool operator==(const ListenerCounts&) const = default;
};

struct Summary {
  std::vector<InputSummary> inputs;
  ListenerCounts listeners;                           // kept up to date by the SyslogServer
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
  ~Monitor();

  // Reads one input to its end. An input whose format cannot be detected is refused with
  // kInvalidInput ("name: …", nothing read from it counted as events); a read error is
  // kUnavailable. Either way the Monitor stays usable for the next input.
  Status Process(ByteSource& source, std::string_view name);

  // Opens an input named `name` (evidence and samples say "name:line"). `format` overrides
  // MonitorOptions::format for this input (syslog messages are netfilter lines whatever the
  // files are); nullopt keeps it. Lines are numbered from `first_line` + 1 (a resumed file
  // continues its numbering). The id stays valid until the Monitor is destroyed or the input
  // is retired (RetireInput); only a retired input's id is given out again.
  InputId OpenInput(std::string_view name, std::optional<InputFormat> format = std::nullopt,
                    uint64_t first_line = 0);
  // Before the first Feed of an input resumed in the middle of its file: the file's header lines
  // (Zeek TSV's "#separator", "#fields", …), so the format is known and the parser has the
  // header it needs. They are not counted, numbered or consumed.
  Status Prime(InputId id, std::string_view header);
  // The next bytes of the input. Complete lines are processed at once when the format is known;
  // the format is detected when 64 KiB have arrived, at Settle or at CloseInput. Returns
  // kInvalidInput ("name: …") once when the format cannot be detected; the input then ignores
  // further bytes. Precondition: the input is open.
  Status Feed(InputId id, std::string_view bytes);
  // Nothing more has arrived for now: if the format is not known yet, decide it from the whole
  // lines that are here (none yet: wait). Errors as Feed.
  Status Settle(InputId id);
  // One whole message (a syslog message): numbered, parsed and handled like a line, without
  // line splitting; trailing line breaks are removed. Precondition: the input is open and its
  // format is known (given to OpenInput or by MonitorOptions::format).
  void FeedMessage(InputId id, std::string_view message);
  // Counts a message of the input that never reached the pipeline (an over-long syslog message)
  // as malformed, with `excerpt` (its start) as the sample.
  void FeedMalformed(InputId id, Reason reason, std::string_view excerpt);
  // Ends the input (see InputEnd) and frees its buffer and parser. Errors as Feed.
  Status CloseInput(InputId id, InputEnd end);
  // Ends a message input (FeedMessage, FeedMalformed) and forgets it: its lines and events are
  // added to the summary entry of `into` and its own entry is removed, and its id may be given
  // to a later OpenInput. A syslog listener that meets ever new senders stays bounded this way.
  // Precondition: both ids are valid and differ; `into` is not retired before `id`'s counts
  // are wanted.
  void RetireInput(InputId id, InputId into);

  // Bytes of the input consumed so far: up to and including the line break of the last line
  // whose event reached every detector. Bytes of a line still incomplete (or of lines waiting for
  // format detection) are not included: a restart from this offset neither loses nor repeats a
  // line.
  uint64_t consumed(InputId id) const;
  // The number of the last line consumed (first_line + lines consumed).
  uint64_t line_number(InputId id) const;
  bool is_open(InputId id) const;

  // Ends the run: detectors' Finish, then every open alert is written. Later calls do nothing.
  void Finish();

  const Summary& summary() const { return summary_; }
  // The syslog listeners' counts, for the summary (SyslogServer sets them as they change).
  void SetListenerCounts(const ListenerCounts& counts) { summary_.listeners = counts; }

 private:
  struct Input;
  enum class Flush : uint8_t { kNone, kSettle, kEnd };

  Status Consume(Input& in, Flush flush);
  Status DecideFormat(Input& in, Flush flush);
  void MakeRoom(Input& in, bool eager);
  void HandleLine(Input& in, std::string_view text, uint64_t number);
  void Malformed(std::string_view name, uint64_t number, Reason reason, std::string_view text);

  MonitorOptions options_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  std::vector<Detector*> prefetching_;  // those of detectors_ whose Prefetch does something
  Aggregator aggregator_;
  Summary summary_;
  Event event_;
  int64_t watermark_us_ = INT64_MIN;
  int64_t next_advance_us_ = INT64_MIN;
  std::vector<std::unique_ptr<Input>> inputs_;  // null: retired
  std::vector<InputId> retired_ids_;            // given out again by OpenInput
  bool finished_ = false;
  std::vector<char> scratch_;  // FeedMessage: the message with kLinePadding after it
};

// The summary for people (standard error): Japanese with English in parentheses. `seconds` is
// the wall time the run took (for events per second).
std::string SummaryToText(const Summary& summary, double seconds);

}  // namespace mamori::monitor
