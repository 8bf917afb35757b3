// libFuzzer harness for the Cisco ASA parser and the engine and reports behind it.
// Input: ASA `show running-config` text (nameif outside and inside face the two zones).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/asa.h"
#include "netsep_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::fuzz::CheckRuleset(mamori::netsep::ParseCiscoAsa(in, "fw.cfg", "fw"), "cisco-asa",
                             "fw.cfg", R"({ outside = "outside", inside = "inside" })");
  return 0;
}
