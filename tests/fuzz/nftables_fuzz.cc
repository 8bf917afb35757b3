// libFuzzer harness for the nft -j (libnftables JSON) parser and the engine and reports behind
// it. Input: JSON text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netsep/nftables.h"
#include "netsep_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::fuzz::CheckRuleset(mamori::netsep::ParseNftJson(in, "fw.json", "fw"), "nft-json",
                             "fw.json");
  return 0;
}
