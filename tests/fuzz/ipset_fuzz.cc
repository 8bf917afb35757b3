// libFuzzer harness for the ipset save parser, the sets --match-set builds from it, and the
// iptables parser and engine behind them. Input: `ipset save` text. Every set is matched with
// several directions (with and without --return-nomatch and negation) in an iptables-save rule
// set, which is then checked and rendered like the other parsers' (netsep_fuzz.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "netsep/ipset.h"
#include "netsep/iptables.h"
#include "netsep_fuzz.h"

namespace {

bool SimpleName(const std::string& name) {
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return !name.empty() && name[0] != '-';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mamori::netsep::SetDirection;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto ipsets = mamori::netsep::Ipsets::Parse(in, "fw.ipset");
  if (!ipsets.ok()) return 0;
  const std::vector<std::vector<SetDirection>> flags = {
      {SetDirection::kSrc},
      {SetDirection::kDst, SetDirection::kSrc},
      {SetDirection::kSrc, SetDirection::kDst, SetDirection::kDst},
  };
  const char* flag_text[] = {"src", "dst,src", "src,dst,dst"};
  std::string rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  size_t used = 0;
  for (const std::string& name : ipsets->Names()) {
    bool usable = true;
    for (const auto& f : flags) {
      for (bool inverted : {false, true}) {
        const auto m = ipsets->Match(name, f, inverted);
        if (!m.ok()) usable = false;  // an IPv6 set: iptables refuses it
      }
    }
    if (!usable || !SimpleName(name) || used == 8) continue;
    const size_t i = used++;
    rules += "-A FORWARD -i eth1 -m set " + std::string(i % 2 == 1 ? "! " : "") + "--match-set " +
             name + " " + flag_text[i % 3] + (i % 4 == 3 ? " --return-nomatch" : "") +
             (i % 2 == 0 ? " -j ACCEPT\n" : " -j DROP\n");
  }
  rules += "-A FORWARD -i eth0 -j ACCEPT\nCOMMIT\n";
  mamori::fuzz::CheckRuleset(mamori::netsep::ParseIptablesSave(rules, "fw.rules", "fw", &*ipsets),
                             "iptables-save", "fw.rules");
  return 0;
}
