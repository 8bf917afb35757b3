#include "netsep/report.h"

#include <nlohmann/json.hpp>

namespace mamori::netsep {
namespace {

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    default:
      return std::to_string(proto);
  }
}

nlohmann::ordered_json WitnessJson(const Witness& w) {
  nlohmann::ordered_json j;
  j["src"] = FormatIpv4(w.src);
  j["dst"] = FormatIpv4(w.dst);
  j["proto"] = ProtoName(w.proto);
  j["sport"] = w.sport;
  j["dport"] = w.dport;
  if (w.icmp_type) j["icmp_type"] = *w.icmp_type;
  if (w.translated_dst) {
    j["translated"] = {{"dst", FormatIpv4(*w.translated_dst)},
                       {"dport", w.translated_dport.value_or(0)}};
  }
  return j;
}

std::string WitnessText(const Witness& w) {
  std::string out = ProtoName(w.proto) + " " + FormatIpv4(w.src);
  if (w.proto == 6 || w.proto == 17) out += ":" + std::to_string(w.sport);
  out += " → " + FormatIpv4(w.dst);
  if (w.proto == 6 || w.proto == 17) out += ":" + std::to_string(w.dport);
  if (w.icmp_type) out += " type " + std::to_string(*w.icmp_type);
  if (w.translated_dst) {
    out += "（DNAT 後 " + FormatIpv4(*w.translated_dst);
    if (w.proto == 6 || w.proto == 17) out += ":" + std::to_string(w.translated_dport.value_or(0));
    out += "）";
  }
  return out;
}

}  // namespace

std::string ReportToJson(const Report& report) {
  nlohmann::ordered_json j;
  j["result"] = report.ok() ? "ok" : "violations";
  j["zones"] = report.zones;
  j["matrix"] = nlohmann::ordered_json::array();
  for (const MatrixEntry& e : report.matrix) {
    j["matrix"].push_back({{"from", e.from},
                           {"to", e.to},
                           {"reachable", e.reachable},
                           {"allowed", e.allowed},
                           {"violation", e.violation}});
  }
  j["violations"] = nlohmann::ordered_json::array();
  for (const Violation& v : report.violations) {
    nlohmann::ordered_json path = nlohmann::ordered_json::array();
    for (const PathStep& s : v.path) {
      path.push_back({{"device", s.device}, {"rule", s.rule}, {"action", s.action}});
    }
    j["violations"].push_back({{"from", v.from},
                               {"to", v.to},
                               {"witness", WitnessJson(v.witness)},
                               {"path", path},
                               {"packets", v.packets}});
  }
  j["unknown"] = nlohmann::ordered_json::array();
  for (const UnknownConstruct& u : report.unknown) {
    j["unknown"].push_back(
        {{"device", u.device}, {"location", u.location}, {"construct", u.construct}});
  }
  j["shadowed"] = nlohmann::ordered_json::array();
  for (const Shadowed& s : report.shadowed) {
    j["shadowed"].push_back({{"device", s.device}, {"rule", s.rule}, {"by", s.by}});
  }
  // Rule files may hold bytes that are not UTF-8 (in names reported as unknown): replace them.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string ReportToText(const Report& report) {
  std::string out = "通信経路の分割の検査結果: ";
  out += report.ok() ? "違反はありません。\n"
                     : std::to_string(report.violations.size()) +
                           " 件の許可されていない通信経路があります。\n";
  out += "\n区域間の到達可能性（新しい接続を開けるか）:\n";
  for (const MatrixEntry& e : report.matrix) {
    out += "  " + e.from + " → " + e.to + ": " + (e.reachable ? "到達可能" : "到達不能");
    if (e.reachable) out += e.violation ? "（許可外の通信を含む）" : "（すべて許可済み）";
    out += "\n";
  }
  for (const Violation& v : report.violations) {
    out += "\n違反: " + v.from + " → " + v.to + "\n";
    out += "  通信: " + v.packets + "\n";
    out += "  例: " + WitnessText(v.witness) + "\n";
    for (const PathStep& s : v.path) {
      out += "  経路: " + s.device + " " + s.rule + " (" + s.action + ")\n";
    }
  }
  if (!report.unknown.empty()) {
    out += "\n解釈できなかった設定（結果は「一致するかもしれない」として扱いました）:\n";
    for (const UnknownConstruct& u : report.unknown) {
      out += "  " + u.device + " " + u.location + ": " + u.construct + "\n";
    }
  }
  return out;
}

}  // namespace mamori::netsep
