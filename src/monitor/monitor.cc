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

Monitor::Monitor(MonitorOptions options, std::vector<std::unique_ptr<Detector>> detectors,
                 AlertOutput& output)
    : options_(std::move(options)),
      detectors_(std::move(detectors)),
      aggregator_(options_.window_us, options_.max_evidence, output) {}

Status Monitor::Process(ByteSource& source, std::string_view name) {
  if (buffer_.empty()) buffer_.assign(kInitialBufferBytes + kLinePadding, '\0');
  char* data = buffer_.data();
  size_t capacity = buffer_.size() - kLinePadding;
  InputSummary& input = summary_.inputs.emplace_back();
  input.name = std::string(name);
  size_t filled = 0;
  bool eof = false;
  auto fill = [&]() -> Status {
    MAMORI_ASSIGN_OR_RETURN(const size_t n, source.Read(data + filled, capacity - filled));
    if (n == 0) eof = true;
    filled += n;
    return {};
  };
  while (!eof && filled < std::min(kDetectBytes, capacity)) {
    if (Status st = fill(); !st.ok()) {
      return Error::Unavailable(Cat(name, ": ", st.error().message),
                                Cat(name, ": ", st.error().message_en));
    }
  }
  input.format = options_.format;
  if (!input.format) {
    std::string_view head(data, filled);
    if (!eof) {
      const size_t last = head.rfind('\n');
      if (last != std::string_view::npos) head = head.substr(0, last + 1);
    }
    input.format = DetectFormat(head);
    if (!input.format) {
      return Error::Invalid(
          Cat(name,
              ": ログの形式を判別できません。--format で指定してください（zeek, zeek-json, "
              "eve, netfilter, squid）。"),
          Cat(name,
              ": cannot detect the log format; give --format (zeek, zeek-json, eve, "
              "netfilter, squid)."));
    }
  }
  std::unique_ptr<Parser> parser = MakeParser(*input.format, options_.parser);
  uint64_t number = 0;
  bool discarding = false;  // inside a line longer than the buffer
  while (true) {
    size_t start = 0;
    while (start < filled) {
      const void* hit = std::memchr(data + start, '\n', filled - start);
      if (hit == nullptr) break;
      const size_t end = static_cast<size_t>(static_cast<const char*>(hit) - data);
      ++number;
      if (discarding) {
        discarding = false;  // the rest of the over-long line, already counted
      } else {
        HandleLine(*parser, std::string_view(data + start, end - start), name, number, input);
      }
      start = end + 1;
    }
    if (eof) {
      if (start < filled && !discarding) {
        ++number;
        HandleLine(*parser, std::string_view(data + start, filled - start), name, number, input);
      }
      break;
    }
    if ((start == 0 && filled == capacity && capacity < kBufferBytes && !discarding) ||
        capacity < kSteadyBufferBytes) {
      // A long line, or a large input: grow the buffer (up to kBufferBytes) and read on.
      std::memmove(data, data + start, filled - start);
      filled -= start;
      buffer_.resize(std::min(2 * capacity, kBufferBytes) + kLinePadding, '\0');
      data = buffer_.data();
      capacity = buffer_.size() - kLinePadding;
    } else if (start == 0 && filled == capacity) {  // no line break in the whole buffer
      if (!discarding) {
        ++number;
        ++summary_.lines;
        ++input.lines;
        Malformed(name, number, kTooLong, std::string_view(data, filled));
        discarding = true;
        --number;  // counted again when its line break arrives
      }
      filled = 0;
    } else {
      std::memmove(data, data + start, filled - start);
      filled -= start;
    }
    if (Status st = fill(); !st.ok()) {
      return Error::Unavailable(Cat(name, ": ", st.error().message),
                                Cat(name, ": ", st.error().message_en));
    }
  }
  return {};
}

void Monitor::HandleLine(Parser& parser, std::string_view text, std::string_view name,
                         uint64_t number, InputSummary& input) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return;
  ++summary_.lines;
  ++input.lines;
  if (text.size() > kMaxLineBytes) {
    Malformed(name, number, kTooLong, text);
    return;
  }
  const ParseResult result = parser.Parse(Line{text, name, number}, event_);
  switch (result.status) {
    case ParseResult::Status::kIgnored:
      ++summary_.ignored;
      ++summary_.ignored_by_reason[result.reason.ja];
      return;
    case ParseResult::Status::kMalformed:
      Malformed(name, number, result.reason, text);
      return;
    case ParseResult::Status::kEvent:
      break;
  }
  ++summary_.events;
  ++input.events;
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
