// libFuzzer harness for the syslog listener's TCP framing (RFC 6587 octet counting and line
// feeds, monitor/syslog.h) and the netfilter parser behind it. Input: a TCP stream, fed in
// pieces whose sizes come from the input's first byte. The framer must never hold more than
// one message (plus an excerpt) and every byte must end in a message or a malformed count.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "monitor/monitor.h"
#include "monitor/syslog.h"

namespace {

class Discard final : public mamori::monitor::AlertOutput {
 public:
  void Write(const mamori::monitor::Alert&) override {}
};

class Sink final : public mamori::monitor::SyslogFramer::Sink {
 public:
  Sink(mamori::monitor::Monitor& monitor, mamori::monitor::InputId input)
      : monitor_(monitor), input_(input) {}
  void Message(std::string_view message) override {
    if (message.size() > kMax) __builtin_trap();
    monitor_.FeedMessage(input_, message);
  }
  void Malformed(mamori::monitor::Reason reason, std::string_view excerpt) override {
    monitor_.FeedMalformed(input_, reason, excerpt);
  }
  static constexpr size_t kMax = 256;

 private:
  mamori::monitor::Monitor& monitor_;
  mamori::monitor::InputId input_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamori::monitor;
  if (size == 0) return 0;
  const size_t step = data[0] % 64 + 1;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  MonitorOptions options;
  options.parser.syslog = {2024, 540};
  Discard discard;
  Monitor monitor(options, {}, discard);
  const InputId input = monitor.OpenInput("syslog tcp 192.0.2.1", InputFormat::kNetfilter);
  Sink sink(monitor, input);
  SyslogFramer framer(Sink::kMax);
  while (!stream.empty()) {
    const size_t n = std::min(step, stream.size());
    framer.Feed(stream.substr(0, n), sink);
    stream.remove_prefix(n);
    if (framer.buffered() > Sink::kMax + 120) __builtin_trap();
  }
  framer.End(sink);
  monitor.Finish();
  return 0;
}
