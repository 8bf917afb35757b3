#include "netsep/report.h"

#include <nlohmann/json.hpp>

#include "common/text.h"

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
  j["broad"] = nlohmann::ordered_json::array();
  for (const BroadRule& b : report.broad) {
    j["broad"].push_back({{"device", b.device},
                          {"rule", b.rule},
                          {"from", b.from},
                          {"to", b.to},
                          {"packets", b.packets}});
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
  if (!report.broad.empty()) {
    out += "\n許可の範囲より広い規則（許可されていない区域間の通信を通します）:\n";
    for (const BroadRule& b : report.broad) {
      out +=
          "  " + b.device + " " + b.rule + ": " + b.from + " → " + b.to + ": " + b.packets + "\n";
    }
  }
  if (!report.shadowed.empty()) {
    out += "\n一致することのない規則（前の規則がすべてを決めています）:\n";
    for (const Shadowed& s : report.shadowed) {
      out +=
          "  " + s.device + " " + s.rule + ": " +
          (s.by.empty() ? std::string("条件を満たす通信がありません") : "先に決める規則 " + s.by) +
          "\n";
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

namespace {

std::string ZoneName(const Topology& t, const std::string& zone) {
  const Zone* z = t.FindZone(zone);
  if (z == nullptr || z->description.empty()) return EscapeMarkup(zone);
  return EscapeMarkup(z->description) + " <span class=\"key\">(" + EscapeMarkup(zone) + ")</span>";
}

}  // namespace

std::string ReportToHtml(const Report& report, const Topology& topology) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>通信経路の分割の検査結果</title>\n<style>\n"
      "body{font-family:'Noto Sans JP',sans-serif;margin:2rem;color:#1a1a1c;line-height:1.7}"
      "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #949497;"
      "padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f2f2f2}"
      ".ok{background:#e6f5ec}.bad{background:#fdeeee;font-weight:bold}.none{color:#626264}"
      ".banner{padding:1rem;border-left:6px solid;margin:1rem 0}.banner.ok{border-color:#259d63}"
      ".banner.bad{border-color:#ec0000}.key{color:#626264;font-size:.85em}code{font-size:.95em}"
      "\n</style>\n</head>\n<body>\n<h1>通信経路の分割の検査結果</h1>\n"
      "<p>基本方針 §2(10)・§6(3)ア: ファイアウォールの設定から、区域の間で新しい接続を開けるかを"
      "すべての通信について調べた結果です。</p>\n";
  h += report.ok()
           ? "<p class=\"banner ok\" id=\"result\">違反はありません。</p>\n"
           : "<p class=\"banner bad\" id=\"result\">" + std::to_string(report.violations.size()) +
                 " 件の許可されていない通信経路があります。</p>\n";
  // The matrix: rows are the source zones, columns the destinations.
  h += "<h2>区域間の到達可能性</h2>\n<table id=\"matrix\">\n<tr><th>送信元 ＼ 宛先</th>";
  for (const auto& z : report.zones) h += "<th>" + ZoneName(topology, z) + "</th>";
  h += "</tr>\n";
  for (const auto& from : report.zones) {
    h += "<tr><th>" + ZoneName(topology, from) + "</th>";
    for (const auto& to : report.zones) {
      if (from == to) {
        h += "<td class=\"none\">—</td>";
        continue;
      }
      const MatrixEntry* e = nullptr;
      for (const auto& m : report.matrix) {
        if (m.from == from && m.to == to) e = &m;
      }
      if (e == nullptr || !e->reachable) {
        h += "<td class=\"none\">到達不能</td>";
      } else if (e->violation) {
        h += "<td class=\"bad\">許可外の通信あり</td>";
      } else {
        h += "<td class=\"ok\">許可された通信のみ</td>";
      }
    }
    h += "</tr>\n";
  }
  h += "</table>\n";
  if (!report.violations.empty()) {
    h += "<h2>違反</h2>\n";
    int n = 0;
    for (const Violation& v : report.violations) {
      h += "<section class=\"violation\" id=\"violation-" + std::to_string(++n) + "\">\n<h3>" +
           ZoneName(topology, v.from) + " → " + ZoneName(topology, v.to) + "</h3>\n";
      h += "<p>通信: <code>" + EscapeMarkup(v.packets) + "</code></p>\n";
      h += "<p>再現できる例: <code>" + EscapeMarkup(WitnessText(v.witness)) + "</code></p>\n";
      h += "<table>\n<tr><th>機器</th><th>規則</th><th>動作</th></tr>\n";
      for (const PathStep& s : v.path) {
        h += "<tr><td>" + EscapeMarkup(s.device) + "</td><td><code>" + EscapeMarkup(s.rule) +
             "</code></td><td>" + EscapeMarkup(s.action) + "</td></tr>\n";
      }
      h += "</table>\n</section>\n";
    }
  }
  if (!report.broad.empty()) {
    h += "<h2>許可の範囲より広い規則</h2>\n<p>次の規則は、許可された通信経路（[[allow]]）にない"
         "区域間の通信を通します。後の規則や機器で止められていても、規則として見直しが必要です。"
         "</p>\n<table id=\"broad\">\n<tr><th>機器</th><th>規則</th><th>送信元</th><th>宛先</th>"
         "<th>許可外の通信</th></tr>\n";
    for (const BroadRule& b : report.broad) {
      h += "<tr><td>" + EscapeMarkup(b.device) + "</td><td><code>" + EscapeMarkup(b.rule) +
           "</code></td><td>" + ZoneName(topology, b.from) + "</td><td>" +
           ZoneName(topology, b.to) + "</td><td><code>" + EscapeMarkup(b.packets) +
           "</code></td></tr>\n";
    }
    h += "</table>\n";
  }
  if (!report.shadowed.empty()) {
    h += "<h2>一致することのない規則</h2>\n<p>次の規則には、どの通信も一致しません。前の規則が"
         "一致するはずの通信をすべて決めているか、条件そのものを満たす通信がありません。</p>\n"
         "<table id=\"shadowed\">\n<tr><th>機器</th><th>規則</th><th>先に決める規則</th></tr>\n";
    for (const Shadowed& s : report.shadowed) {
      h += "<tr><td>" + EscapeMarkup(s.device) + "</td><td><code>" + EscapeMarkup(s.rule) +
           "</code></td><td>" +
           (s.by.empty() ? std::string("（条件を満たす通信がありません）")
                         : "<code>" + EscapeMarkup(s.by) + "</code>") +
           "</td></tr>\n";
    }
    h += "</table>\n";
  }
  if (!report.unknown.empty()) {
    h += "<h2>解釈できなかった設定</h2>\n<p>次の設定は「一致するかもしれない」として扱いました。"
         "この部分について、結果は証明になっていません。</p>\n<table id=\"unknown\">\n"
         "<tr><th>機器</th><th>場所</th><th>内容</th></tr>\n";
    for (const UnknownConstruct& u : report.unknown) {
      h += "<tr><td>" + EscapeMarkup(u.device) + "</td><td><code>" + EscapeMarkup(u.location) +
           "</code></td><td>" + EscapeMarkup(u.construct) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace mamori::netsep
