// libFuzzer harness for the monitor's zeek_json log parser and the detectors behind it.
// Input: a zeek_json log (lines). Besides the pipeline run, each line is parsed by the fast path
// (json_scan.h, then simdjson for lines it is unsure of) and by the plain path (simdjson's DOM
// for every line): a different result or event is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "monitor_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mamori::fuzz::RunMonitor(data, size, mamori::monitor::InputFormat::kZeekJson);
  static auto* fast = mamori::monitor::MakeZeekJsonParser(true).release();
  static auto* plain = mamori::monitor::MakeZeekJsonParser(false).release();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const mamori::monitor::PaddedLine line(text.substr(pos, end - pos));
    mamori::monitor::Event a, b;
    const auto ra = fast->Parse(line.line(), a);
    const auto rb = plain->Parse(line.line(), b);
    if (ra.status != rb.status || std::strcmp(ra.reason.en, rb.reason.en) != 0) __builtin_trap();
    if (ra.status == mamori::monitor::ParseResult::Status::kEvent && !(a == b)) __builtin_trap();
    pos = end + 1;
  }
  return 0;
}
