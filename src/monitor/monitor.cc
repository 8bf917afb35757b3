#include "monitor/monitor.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/text.h"

namespace mamori::monitor {
namespace {

constexpr size_t kBufferBytes = 4 * kMaxLineBytes;        // the most the read buffer grows to
constexpr size_t kInitialBufferBytes = size_t{64} << 10;  // small inputs stay small
constexpr size_t kSteadyBufferBytes = size_t{1} << 20;    // larger inputs read 1 MiB at a time
constexpr size_t kDetectBytes = size_t{64} << 10;
constexpr size_t kExcerptBytes = 120;
constexpr int64_t kSecond = 1000000;

constexpr Reason kTooLong{"行が長すぎます（上限 1 MiB）", "line too long (limit 1 MiB)"};

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

Result<size_t> FdSource::Read(char* buffer, size_t size) {
  while (true) {
    const ssize_t n = ::read(fd_, buffer, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    const std::string reason = std::strerror(errno);
    return Error::Unavailable(Cat("読み込みに失敗しました: ", reason),
                              Cat("read failed: ", reason));
  }
}

Result<size_t> StringSource::Read(char* buffer, size_t size) {
  const size_t n = std::min(size, text_.size());
  std::memcpy(buffer, text_.data(), n);
  text_.remove_prefix(n);
  return n;
}

// One input being read: its own parser, line counter and partial-line buffer.
struct Monitor::Input {
  std::string name;
  size_t summary = 0;              // index into summary_.inputs
  std::unique_ptr<Parser> parser;  // null until the format is known
  std::vector<char> buffer;        // capacity + kLinePadding bytes; empty until the first bytes
  size_t filled = 0;               // bytes in the buffer: the start of a line not yet complete
  uint64_t number = 0;             // lines numbered so far (blank ones included)
  uint64_t consumed = 0;           // bytes up to the line break of the last line handled
  uint64_t discarded = 0;          // bytes of an over-long line dropped so far
  bool discarding = false;         // inside a line longer than the buffer (already counted)
  bool failed = false;             // the format could not be detected: bytes are ignored
  bool open = true;

  size_t capacity() const { return buffer.empty() ? 0 : buffer.size() - kLinePadding; }
};

Monitor::Monitor(MonitorOptions options, std::vector<std::unique_ptr<Detector>> detectors,
                 AlertOutput& output)
    : options_(std::move(options)),
      detectors_(std::move(detectors)),
      aggregator_(options_.window_us, options_.max_evidence, output) {
  for (const auto& detector : detectors_) {
    if (detector->Prefetches()) prefetching_.push_back(detector.get());
  }
}

Monitor::~Monitor() = default;

InputId Monitor::OpenInput(std::string_view name, std::optional<InputFormat> format,
                           uint64_t first_line) {
  auto in = std::make_unique<Input>();
  in->name = std::string(name);
  in->summary = summary_.inputs.size();
  in->number = first_line;
  InputSummary& summary = summary_.inputs.emplace_back();
  summary.name = in->name;
  summary.format = format ? format : options_.format;
  if (summary.format) in->parser = MakeParser(*summary.format, options_.parser);
  if (!retired_ids_.empty()) {
    const InputId id = retired_ids_.back();
    retired_ids_.pop_back();
    inputs_[id] = std::move(in);
    return id;
  }
  inputs_.push_back(std::move(in));
  return inputs_.size() - 1;
}

Status Monitor::Feed(InputId id, std::string_view bytes) {
  Input& in = *inputs_[id];
  while (!bytes.empty() && !in.failed) {
    MakeRoom(in, /*eager=*/false);
    const size_t n = std::min(in.capacity() - in.filled, bytes.size());
    std::memcpy(in.buffer.data() + in.filled, bytes.data(), n);
    in.filled += n;
    bytes.remove_prefix(n);
    MAMORI_TRY(Consume(in, Flush::kNone));
  }
  return {};
}

Status Monitor::Prime(InputId id, std::string_view header) {
  Input& in = *inputs_[id];
  if (!in.parser) {
    std::optional<InputFormat> format = DetectFormat(header);
    if (!format) return {};  // nothing to learn: the lines that follow decide
    summary_.inputs[in.summary].format = format;
    in.parser = MakeParser(*format, options_.parser);
  }
  Event scratch_event;
  while (!header.empty()) {
    const size_t nl = header.find('\n');
    std::string_view text = header.substr(0, nl);
    header = nl == std::string_view::npos ? std::string_view() : header.substr(nl + 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.size() > kMaxLineBytes) continue;
    scratch_.assign(text.begin(), text.end());
    scratch_.resize(text.size() + kLinePadding, '\0');
    (void)in.parser->Parse(Line{std::string_view(scratch_.data(), text.size()), in.name, 0},
                           scratch_event);
  }
  return {};
}

uint64_t Monitor::consumed(InputId id) const { return inputs_[id]->consumed; }
uint64_t Monitor::line_number(InputId id) const { return inputs_[id]->number; }
bool Monitor::is_open(InputId id) const { return inputs_[id]->open; }

Status Monitor::Settle(InputId id) { return Consume(*inputs_[id], Flush::kSettle); }

Status Monitor::CloseInput(InputId id, InputEnd end) {
  Input& in = *inputs_[id];
  if (!in.open) return {};
  Status st;
  if (end == InputEnd::kEndOfData) st = Consume(in, Flush::kEnd);
  in.open = false;
  in.parser.reset();
  std::vector<char>().swap(in.buffer);
  in.filled = 0;
  return st;
}

void Monitor::RetireInput(InputId id, InputId into) {
  (void)CloseInput(id, InputEnd::kStopped);  // messages come whole: nothing is left unread
  const size_t gone = inputs_[id]->summary;
  InputSummary& target = summary_.inputs[inputs_[into]->summary];
  target.lines += summary_.inputs[gone].lines;
  target.events += summary_.inputs[gone].events;
  summary_.inputs.erase(summary_.inputs.begin() + static_cast<std::ptrdiff_t>(gone));
  for (const auto& other : inputs_) {
    if (other && other->summary > gone) --other->summary;
  }
  inputs_[id].reset();
  retired_ids_.push_back(id);
}

void Monitor::FeedMessage(InputId id, std::string_view message) {
  Input& in = *inputs_[id];
  while (!message.empty() &&
         (message.back() == '\n' || message.back() == '\r' || message.back() == '\0')) {
    message.remove_suffix(1);
  }
  ++in.number;
  if (message.size() > kMaxLineBytes) {  // counted as too long before anything reads it
    HandleLine(in, message, in.number);
    return;
  }
  scratch_.assign(message.begin(), message.end());
  scratch_.resize(message.size() + kLinePadding, '\0');
  HandleLine(in, std::string_view(scratch_.data(), message.size()), in.number);
}

void Monitor::FeedMalformed(InputId id, Reason reason, std::string_view excerpt) {
  Input& in = *inputs_[id];
  ++in.number;
  ++summary_.lines;
  ++summary_.inputs[in.summary].lines;
  Malformed(in.name, in.number, reason, excerpt);
}

Status Monitor::Process(ByteSource& source, std::string_view name) {
  const InputId id = OpenInput(name);
  Input& in = *inputs_[id];
  while (true) {
    MakeRoom(in, /*eager=*/true);
    auto n = source.Read(in.buffer.data() + in.filled, in.capacity() - in.filled);
    if (!n.ok()) {
      (void)CloseInput(id, InputEnd::kStopped);
      return Error::Unavailable(Cat(name, ": ", n.error().message),
                                Cat(name, ": ", n.error().message_en));
    }
    if (*n == 0) break;
    in.filled += *n;
    if (Status st = Consume(in, Flush::kNone); !st.ok()) {
      (void)CloseInput(id, InputEnd::kStopped);
      return st;
    }
  }
  return CloseInput(id, InputEnd::kEndOfData);
}

// Before more bytes go into the buffer: allocates it, or grows it (a line longer than the
// buffer so far, or `eager` for large inputs read in big blocks), or, when a line fills even the
// largest buffer, counts that line as too long and drops what is buffered of it.
void Monitor::MakeRoom(Input& in, bool eager) {
  if (in.buffer.empty()) {
    in.buffer.assign(kInitialBufferBytes + kLinePadding, '\0');
    return;
  }
  const size_t capacity = in.capacity();
  if ((in.filled == capacity || eager) && capacity < kSteadyBufferBytes) {
    in.buffer.resize(2 * capacity + kLinePadding, '\0');
  } else if (in.filled == capacity && capacity < kBufferBytes) {
    in.buffer.resize(std::min(2 * capacity, kBufferBytes) + kLinePadding, '\0');
  } else if (in.filled == capacity) {  // no line break in the whole buffer
    ++summary_.lines;
    ++summary_.inputs[in.summary].lines;
    Malformed(in.name, in.number + 1, kTooLong, std::string_view(in.buffer.data(), in.filled));
    in.discarding = true;  // numbered when its line break arrives
    in.discarded += in.filled;
    in.filled = 0;
  }
}

Status Monitor::DecideFormat(Input& in, Flush flush) {
  const bool enough = in.filled >= kDetectBytes || (in.filled > 0 && in.filled == in.capacity());
  if (flush == Flush::kNone && !enough) return {};
  std::string_view head(in.buffer.data(), in.filled);
  if (flush != Flush::kEnd) {
    const size_t last = head.rfind('\n');
    if (last != std::string_view::npos) {
      head = head.substr(0, last + 1);
    } else if (!enough) {
      return {};  // not one whole line yet
    }
    if (head.find_first_not_of(" \t\r\n") == std::string_view::npos && !enough) return {};
  }
  InputSummary& summary = summary_.inputs[in.summary];
  summary.format = DetectFormat(head);
  if (!summary.format) {
    in.failed = true;
    in.filled = 0;
    return Error::Invalid(
        Cat(in.name,
            ": ログの形式を判別できません。--format で指定してください（zeek, zeek-json, "
            "eve, netfilter, squid）。"),
        Cat(in.name,
            ": cannot detect the log format; give --format (zeek, zeek-json, eve, "
            "netfilter, squid)."));
  }
  in.parser = MakeParser(*summary.format, options_.parser);
  return {};
}

// Handles the complete lines in the buffer (at kEnd also a last line without a line break) and
// moves what is left to the buffer's start.
Status Monitor::Consume(Input& in, Flush flush) {
  if (in.failed || !in.open) {
    in.filled = 0;
    return {};
  }
  if (!in.parser) {
    MAMORI_TRY(DecideFormat(in, flush));
    if (!in.parser) return {};  // waiting for more lines
  }
  char* data = in.buffer.data();
  size_t start = 0;
  while (start < in.filled) {
    const void* hit = std::memchr(data + start, '\n', in.filled - start);
    if (hit == nullptr) break;
    const size_t end = static_cast<size_t>(static_cast<const char*>(hit) - data);
    ++in.number;
    if (in.discarding) {
      in.discarding = false;  // the rest of the over-long line, already counted
      in.consumed += in.discarded;
      in.discarded = 0;
    } else {
      HandleLine(in, std::string_view(data + start, end - start), in.number);
    }
    in.consumed += end + 1 - start;
    start = end + 1;
  }
  if (flush == Flush::kEnd && start < in.filled) {
    if (in.discarding) {
      in.discarding = false;
      in.consumed += in.discarded;
      in.discarded = 0;
    } else {
      ++in.number;
      HandleLine(in, std::string_view(data + start, in.filled - start), in.number);
    }
    in.consumed += in.filled - start;
    start = in.filled;
  }
  if (in.discarding && start == 0) {  // all of it belongs to the over-long line
    in.discarded += in.filled;
    in.filled = 0;
  } else if (start > 0) {
    std::memmove(data, data + start, in.filled - start);
    in.filled -= start;
  }
  return {};
}

void Monitor::HandleLine(Input& in, std::string_view text, uint64_t number) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return;
  InputSummary& input = summary_.inputs[in.summary];
  ++summary_.lines;
  ++input.lines;
  if (text.size() > kMaxLineBytes) {
    Malformed(in.name, number, kTooLong, text);
    return;
  }
  const ParseResult result = in.parser->Parse(Line{text, in.name, number}, event_);
  switch (result.status) {
    case ParseResult::Status::kIgnored:
      ++summary_.ignored;
      ++summary_.ignored_by_reason[result.reason.ja];
      return;
    case ParseResult::Status::kMalformed:
      Malformed(in.name, number, result.reason, text);
      return;
    case ParseResult::Status::kEvent:
      break;
  }
  ++summary_.events;
  ++input.events;
  for (Detector* detector : prefetching_) detector->Prefetch(event_);
  if (event_.ts_us > watermark_us_) {
    watermark_us_ = event_.ts_us;
    if (watermark_us_ >= next_advance_us_) {
      for (auto& detector : detectors_) detector->Advance(watermark_us_, aggregator_);
      aggregator_.Advance(watermark_us_);
      next_advance_us_ = (watermark_us_ / kSecond + 1) * kSecond;
    }
  }
  for (auto& detector : detectors_) detector->OnEvent(event_, aggregator_);
}

void Monitor::Malformed(std::string_view name, uint64_t number, Reason reason,
                        std::string_view text) {
  ++summary_.malformed;
  if (summary_.samples.size() >= options_.max_samples) return;
  std::string_view excerpt = text.substr(0, kExcerptBytes);
  // Do not cut a UTF-8 sequence in two.
  while (excerpt.size() < text.size() && !excerpt.empty() &&
         (static_cast<unsigned char>(text[excerpt.size()]) & 0xC0) == 0x80) {
    excerpt.remove_suffix(1);
  }
  summary_.samples.push_back({std::string(name), number, reason, Printable(excerpt)});
}

void Monitor::Finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& detector : detectors_) detector->Finish(aggregator_);
  aggregator_.Finish();
  summary_.alerts_by_kind = aggregator_.written_by_kind();
  summary_.state_dropped.clear();
  for (const auto& detector : detectors_) detector->CountDropped(summary_.state_dropped);
}

std::string SummaryToText(const Summary& s, double seconds) {
  std::string out = "監視の結果 (monitor summary)\n";
  for (const InputSummary& input : s.inputs) {
    out += Cat("  入力 (input) ", Printable(input.name), ": ",
               input.format ? InputFormatName(*input.format) : "形式不明 (unknown format)", ", ",
               WithThousands(input.lines), " 行 (lines), ", WithThousands(input.events),
               " イベント (events)\n");
  }
  if (s.listeners.listening) {
    const ListenerCounts& l = s.listeners;
    out += Cat("  syslog: ", WithThousands(l.messages), " メッセージ (messages), ",
               WithThousands(l.connections), " 接続 (TCP connections)\n");
    const std::pair<const char*, uint64_t> trouble[] = {
        {"上限を超えて断った接続 (connections refused at the limit)", l.refused_connections},
        {"受け付けに失敗した接続 (accept failures)", l.accept_failures},
        {"場所を空けるために閉じた無通信の接続 (idle connections closed for a new one)",
         l.idle_closed},
        {"送信元の上限を超え「(others)」にまとめたメッセージ (messages of senders merged into "
         "\"(others)\")",
         l.merged_senders},
        {"新しい送信元のために「(others)」の集計に移した無通信の送信元 (silent senders folded "
         "into \"(others)\" for new ones)",
         l.retired_senders}};
    for (const auto& [what, count] : trouble) {
      if (count > 0) out += Cat("    ", what, ": ", WithThousands(count), "\n");
    }
  }
  out += Cat("  イベント (events): ", WithThousands(s.events), "\n");
  out += Cat("  読み飛ばした行 (ignored lines): ", WithThousands(s.ignored), "\n");
  for (const auto& [reason, count] : s.ignored_by_reason) {
    out += Cat("    ", reason, ": ", WithThousands(count), "\n");
  }
  out += Cat("  不正な行 (malformed lines): ", WithThousands(s.malformed), "\n");
  for (const MalformedSample& m : s.samples) {
    out += Cat("    ", Printable(m.file), ":", std::to_string(m.line), ": ", m.reason.ja, " (",
               m.reason.en, "): ", m.excerpt, "\n");
  }
  uint64_t alerts = 0;
  std::string kinds;
  for (const auto& [kind, count] : s.alerts_by_kind) {
    alerts += count;
    kinds += Cat(kinds.empty() ? "" : ", ", kind, " ", std::to_string(count));
  }
  out += Cat("  警告 (alerts): ", WithThousands(alerts), kinds.empty() ? "" : Cat(" (", kinds, ")"),
             "\n");
  for (const auto& [what, count] : s.state_dropped) {
    if (count == 0) continue;
    out += Cat("  状態の上限で追跡しなかったイベント (events not tracked at a state cap) ", what,
               ": ", WithThousands(count), "\n");
  }
  const double rate = seconds > 0 ? static_cast<double>(s.events) / seconds : 0;
  char timing[64];
  std::snprintf(timing, sizeof timing, "%.3f", seconds);
  out += Cat("  速度 (rate): ", WithThousands(static_cast<uint64_t>(rate)),
             " イベント/秒 (events/s), ", timing, " 秒 (s)\n");
  return out;
}

}  // namespace mamori::monitor
