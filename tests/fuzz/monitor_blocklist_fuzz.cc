// libFuzzer harness for the monitor's blocklist files (addresses, CIDR ranges, domains, comments).
// Input: a blocklist file. When it loads, every entry must match itself: each address or range
// start its own address, each domain its own name and a subdomain of it. The same file with a
// comment after every line (which sends each line through the general path, past the bare
// address and domain readers) must load the same: the same error, or the same matches.
#include <algorithm>
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
  std::vector<mamori::monitor::BlocklistFile> commented(1);
  commented[0].name = "fuzz.txt";
  for (size_t at = 0; at <= files[0].text.size();) {
    const size_t nl = std::min(files[0].text.find('\n', at), files[0].text.size());
    commented[0].text.append(files[0].text, at, nl - at);
    commented[0].text += " #";
    if (nl < files[0].text.size()) commented[0].text += '\n';
    at = nl + 1;
  }
  auto general = mamori::monitor::Blocklist::Load(commented);
  if (list.ok() != general.ok()) std::abort();
  if (!list.ok()) {
    if (list.error().message_en != general.error().message_en) std::abort();
    return 0;
  }
  if (list->address_entries() != general->address_entries() ||
      list->domain_entries() != general->domain_entries()) {
    std::abort();
  }
  auto same = [](const auto& a, const auto& b) {
    if (a.has_value() != b.has_value()) std::abort();
    if (a && (a->entry != b->entry || a->line != b->line)) std::abort();
  };
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
      same(hit, general->MatchDomain(token));
      (void)list->MatchDomain(std::string("www.") + std::string(token));
    }
    start = end + 1;
  }
  for (uint32_t probe : {0u, 0x0a000001u, 0xc0a80101u, 0xffffffffu}) {
    const auto hit = list->MatchAddress(probe);
    if (hit && hit->line == 0) std::abort();
    same(hit, general->MatchAddress(probe));
  }
  return 0;
}
