// libFuzzer harness for the server's reading of a monitor report a service account posted as an
// evidence record's raw result (registers::ReadPostedMonitorReport): any bytes at all. The
// answer is also written out as the API would (JSON dump), which must not throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registers/monitor_reports.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto report = mamori::registers::ReadPostedMonitorReport(in);
  if (!report) return 0;
  nlohmann::json out = report->facts;
  out["doc"] = report->doc;
  for (auto& a : report->alerts) {
    if (!a.contains("key") || !a["key"].is_string()) __builtin_trap();
    out["alerts"].push_back(a);
  }
  (void)out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
