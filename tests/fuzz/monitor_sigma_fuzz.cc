// libFuzzer harness for Sigma rule files (YAML: rules, modifiers, conditions, log sources).
// Input: one rule file. When it loads, every compiled rule is evaluated against events of every
// input format and log type (fields filled, IPv4 and IPv6 addresses), the findings go through
// the aggregator and the JSON rendering, and the unsupported list is rendered. Crashes,
// sanitizer reports, exceptions escaping Load and runaway evaluation are the findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "monitor/alert.h"
#include "monitor/sigma.h"
#include "monitor/text_util.h"

namespace {

using namespace mamori::monitor;

class JsonSink final : public AlertOutput {
 public:
  void Write(const Alert& alert) override { (void)AlertToJson(alert); }
};

std::vector<Event> MakeEvents() {
  std::vector<Event> events;
  const LogType types[] = {LogType::kConn,  LogType::kDns,      LogType::kHttp, LogType::kTls,
                           LogType::kAlert, LogType::kFirewall, LogType::kProxy};
  int n = 0;
  for (int f = 0; f < kInputFormatCount; ++f) {
    for (LogType type : types) {
      Event e;
      e.format = static_cast<InputFormat>(f);
      e.type = type;
      e.ts_us = int64_t{1714521600} * 1000000 + n * 1000000;
      SetAddress(e.src, n % 3 == 0 ? "2001:db8::5" : "10.20.3.15");
      SetAddress(e.dst, "10.10.1.20");
      e.sport = 50000;
      e.dport = static_cast<uint16_t>(n % 2 == 0 ? 445 : 443);
      e.has_ports = true;
      e.proto = n % 2 == 0 ? Proto::kTcp : Proto::kUdp;
      e.has_bytes = true;
      e.bytes_out = 1234;
      e.bytes_in = 99999;
      e.conn_state = "SF";
      e.uid = "Cfuzz";
      e.dns_query = "aGVsbG8gd29ybGQ.dnscat.Example.COM";
      e.http_host = "pastebin.com";
      e.http_url = "http://198.51.100.9/a?cmd=/exec&c=cG93ZXJzaGVsbA==";
      e.http_method = "CONNECT";
      e.user_agent = "curl/8.0 -enc \xe2\x80\x93x";
      e.http_status = 200;
      e.tls_sni = "dns.google";
      e.action = "FW-DROP";
      e.signature = "ET POLICY \xff\xfe";
      e.file = "fuzz.log";
      e.line = static_cast<uint64_t>(++n);
      events.push_back(e);
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Event> events = MakeEvents();
  std::vector<SigmaFile> files(1);
  files[0].name = "fuzz.yml";
  files[0].text.assign(reinterpret_cast<const char*>(data), size);
  auto rules = SigmaRules::Load(files);
  if (!rules.ok()) {
    if (rules.error().message.empty() || rules.error().message_en.empty()) std::abort();
    return 0;
  }
  for (const SigmaUnsupported& u : rules->unsupported()) {
    if (u.reason.empty() || u.reason_en.empty() || u.file != "fuzz.yml") std::abort();
  }
  (void)SigmaRulesToText(*rules);
  if (rules->loaded() == 0) return 0;
  JsonSink sink;
  Aggregator aggregator(60 * 1000000, 10, sink);
  auto detector = MakeSigmaDetector(*rules);
  for (const Event& e : events) detector->OnEvent(e, aggregator);
  aggregator.Finish();
  return 0;
}
