// libFuzzer harness for the monitor's eve log parser and the detectors behind it.
// Input: a eve log (lines).
#include <cstddef>
#include <cstdint>

#include "monitor_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mamori::fuzz::RunMonitor(data, size, mamori::monitor::InputFormat::kEve);
  return 0;
}
