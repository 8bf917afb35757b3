// libFuzzer harness for the follow mode's checkpoint reader (monitor/checkpoint.h).
// Input: a checkpoint file. Whatever parses must write back to text that parses to the same
// positions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "monitor/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamori::monitor;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseCheckpoint(text, "fuzz.checkpoint");
  if (!parsed.ok()) return 0;
  auto again = ParseCheckpoint(CheckpointToText(*parsed), "again");
  if (!again.ok() || again->files != parsed->files) __builtin_trap();
  return 0;
}
