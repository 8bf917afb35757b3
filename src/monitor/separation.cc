#include "monitor/separation.h"

namespace mamori::monitor {
namespace {

bool AnyContains(const std::vector<netsep::Prefix>& prefixes, uint32_t address) {
  if (prefixes.empty()) return true;
  for (const netsep::Prefix& p : prefixes) {
    if (p.Contains(address)) return true;
  }
  return false;
}

bool ProtocolMatches(netsep::AllowProtocol allowed, Proto proto) {
  switch (allowed) {
    case netsep::AllowProtocol::kAny:
      return true;
    case netsep::AllowProtocol::kTcp:
      return proto == Proto::kTcp;
    case netsep::AllowProtocol::kUdp:
      return proto == Proto::kUdp;
    case netsep::AllowProtocol::kIcmp:
      return proto == Proto::kIcmp;
  }
  return false;
}

bool PortMatches(const std::vector<netsep::ValueTerm>& ports, const Event& e) {
  if (ports.empty()) return true;
  if (!e.has_ports) return false;
  for (const netsep::ValueTerm& term : ports) {
    if (e.dport >= term.first && e.dport <= term.second) return true;
  }
  return false;
}

class SeparationDetector final : public Detector {
 public:
  explicit SeparationDetector(const netsep::Topology& topology) : policy_(topology) {}

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (e.type != LogType::kConn && e.type != LogType::kFirewall) return;
    if (e.outcome == Outcome::kBlocked || !e.src.is_v4 || !e.dst.is_v4) return;
    const int from = policy_.ZoneOf(e.src.v4);
    const int to = policy_.ZoneOf(e.dst.v4);
    if (from < 0 || to < 0 || from == to) return;
    if (policy_.Permit(from, to, e) != nullptr) return;
    const netsep::Zone& a = policy_.zone(from);
    const netsep::Zone& b = policy_.zone(to);
    Finding f;
    f.kind = AlertKind::kSeparation;
    f.severity =
        a.name == kMyNumberZone || b.name == kMyNumberZone ? Severity::kCritical : Severity::kHigh;
    f.ts_us = e.ts_us;
    f.src = e.src.text;
    f.dst = e.dst.text;
    f.proto = e.proto;
    if (e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)) f.dport = e.dport;
    f.from_zone = {a.name, a.description};
    f.to_zone = {b.name, b.description};
    f.file = e.file;
    f.line = e.line;
    f.uid = e.uid;
    sink.Report(f);
  }

 private:
  ZonePolicy policy_;
};

}  // namespace

ZonePolicy::ZonePolicy(const netsep::Topology& topology) : topology_(topology), zones_(topology) {
  const size_t n = topology.zones.size();
  allows_.resize(n * n);
  for (const netsep::Allow& allow : topology.allows) {
    int from = -1;
    int to = -1;
    for (size_t i = 0; i < n; ++i) {
      if (topology.zones[i].name == allow.from) from = static_cast<int>(i);
      if (topology.zones[i].name == allow.to) to = static_cast<int>(i);
    }
    if (from >= 0 && to >= 0) allows_[from * n + to].push_back(&allow);
  }
}

const netsep::Allow* ZonePolicy::Permit(int from, int to, const Event& e) const {
  for (const netsep::Allow* allow : allows_[from * topology_.zones.size() + to]) {
    if (ProtocolMatches(allow->protocol, e.proto) && AnyContains(allow->src, e.src.v4) &&
        AnyContains(allow->dst, e.dst.v4) && PortMatches(allow->dst_ports, e)) {
      return allow;
    }
  }
  return nullptr;
}

std::unique_ptr<Detector> MakeSeparationDetector(const netsep::Topology& topology) {
  return std::make_unique<SeparationDetector>(topology);
}

}  // namespace mamori::monitor
