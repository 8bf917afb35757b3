// libFuzzer harness for the iptables-save parser and the engine and reports behind it.
// Input: iptables-save text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/iptables.h"
#include "netsep_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::fuzz::CheckRuleset(mamori::netsep::ParseIptablesSave(in, "fw.rules", "fw"),
                             "iptables-save", "fw.rules");
  return 0;
}
