// libFuzzer harness for the FortiGate parser and the engine and reports behind it.
// Input: FortiOS configuration text (interfaces port1 and port2 face the two zones).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/fortigate.h"
#include "netsep_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::fuzz::CheckRuleset(mamori::netsep::ParseFortigate(in, "fw.conf", "fw"), "fortigate",
                             "fw.conf", R"({ port1 = "outside", port2 = "inside" })");
  return 0;
}
