#include "netsep/report.h"

#include <string_view>
#include <vector>

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

namespace {

// The report's JSON written directly, as nlohmann::ordered_json's dump(2) with invalid UTF-8
// replaced would write it: building the document first cost as much as the text it gives on a
// large report (one object per shadowed rule). report_test proves the two equal.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  // Objects and arrays: Open, then Key (objects) before each value, then Close. The first
  // member or element starts the indented lines; a container left empty closes as "{}" or "[]".
  void OpenObject() { Open('{'); }
  void CloseObject() { Close('}'); }
  void OpenArray() { Open('['); }
  void CloseArray() { Close(']'); }
  void Key(std::string_view key) {
    Element();
    String(key);
    out_ += ": ";
  }
  void Value(std::string_view v) {
    ElementUnlessKeyed();
    String(v);
  }
  void Value(bool v) {
    ElementUnlessKeyed();
    out_ += v ? "true" : "false";
  }
  void Value(uint64_t v) {
    ElementUnlessKeyed();
    out_ += std::to_string(v);
  }

 private:
  // A character that nlohmann writes as it is whatever surrounds it: printable ASCII but the
  // quote and backslash. Any other string (controls, bytes beyond ASCII, which might not be
  // UTF-8) is escaped by nlohmann itself, so that its escapes and replacements stay its own.
  static bool Plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

  void String(std::string_view s) {
    bool plain = true;
    for (const char c : s) plain &= Plain(static_cast<unsigned char>(c));
    if (plain) {
      out_ += '"';
      out_ += s;
      out_ += '"';
      return;
    }
    out_ += nlohmann::ordered_json(std::string(s))
                .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  void Open(char bracket) {
    ElementUnlessKeyed();
    out_ += bracket;
    empty_.push_back(true);
  }
  void Close(char bracket) {
    const bool empty = empty_.back();
    empty_.pop_back();
    if (!empty) {
      out_ += '\n';
      out_.append(2 * empty_.size(), ' ');
    }
    out_ += bracket;
    keyed_ = false;
  }
  // Starts a member or element inside the innermost container: a comma after the previous one,
  // a new line and the indent.
  void Element() {
    if (empty_.empty()) return;
    out_ += empty_.back() ? "\n" : ",\n";
    empty_.back() = false;
    out_.append(2 * empty_.size(), ' ');
    keyed_ = true;
  }
  // A value after Key goes on the key's line; an array element starts its own.
  void ElementUnlessKeyed() {
    if (keyed_) {
      keyed_ = false;
      return;
    }
    Element();
    keyed_ = false;
  }

  std::string& out_;
  std::vector<bool> empty_;  // per open container: nothing written in it yet
  bool keyed_ = false;       // a key was just written: its value follows on the same line
};

void WitnessJson(JsonWriter& w, const Witness& witness) {
  w.OpenObject();
  w.Key("src");
  w.Value(FormatIpv4(witness.src));
  w.Key("dst");
  w.Value(FormatIpv4(witness.dst));
  w.Key("proto");
  w.Value(ProtoName(witness.proto));
  w.Key("sport");
  w.Value(uint64_t{witness.sport});
  w.Key("dport");
  w.Value(uint64_t{witness.dport});
  if (witness.icmp_type) {
    w.Key("icmp_type");
    w.Value(uint64_t{*witness.icmp_type});
  }
  if (witness.translated_dst) {
    w.Key("translated");
    w.OpenObject();
    w.Key("dst");
    w.Value(FormatIpv4(*witness.translated_dst));
    w.Key("dport");
    w.Value(uint64_t{witness.translated_dport.value_or(0)});
    w.CloseObject();
  }
  w.CloseObject();
}

}  // namespace

std::string ReportToJson(const Report& report) {
  std::string out;
  JsonWriter w(out);
  w.OpenObject();
  w.Key("result");
  w.Value(std::string_view(report.ok() ? "ok" : "violations"));
  w.Key("zones");
  w.OpenArray();
  for (const std::string& z : report.zones) w.Value(z);
  w.CloseArray();
  w.Key("matrix");
  w.OpenArray();
  for (const MatrixEntry& e : report.matrix) {
    w.OpenObject();
    w.Key("from");
    w.Value(e.from);
    w.Key("to");
    w.Value(e.to);
    w.Key("reachable");
    w.Value(e.reachable);
    w.Key("allowed");
    w.Value(e.allowed);
    w.Key("violation");
    w.Value(e.violation);
    w.CloseObject();
  }
  w.CloseArray();
  w.Key("violations");
  w.OpenArray();
  for (const Violation& v : report.violations) {
    w.OpenObject();
    w.Key("from");
    w.Value(v.from);
    w.Key("to");
    w.Value(v.to);
    w.Key("witness");
    WitnessJson(w, v.witness);
    w.Key("path");
    w.OpenArray();
    for (const PathStep& s : v.path) {
      w.OpenObject();
      w.Key("device");
      w.Value(s.device);
      w.Key("rule");
      w.Value(s.rule);
      w.Key("action");
      w.Value(s.action);
      w.CloseObject();
    }
    w.CloseArray();
    w.Key("packets");
    w.Value(v.packets);
    w.CloseObject();
  }
  w.CloseArray();
  w.Key("unknown");
  w.OpenArray();
  for (const UnknownConstruct& u : report.unknown) {
    w.OpenObject();
    w.Key("device");
    w.Value(u.device);
    w.Key("location");
    w.Value(u.location);
    w.Key("construct");
    w.Value(u.construct);
    w.CloseObject();
  }
  w.CloseArray();
  w.Key("shadowed");
  w.OpenArray();
  for (const Shadowed& s : report.shadowed) {
    w.OpenObject();
    w.Key("device");
    w.Value(s.device);
    w.Key("rule");
    w.Value(s.rule);
    w.Key("by");
    w.Value(s.by);
    w.CloseObject();
  }
  w.CloseArray();
  w.Key("broad");
  w.OpenArray();
  for (const BroadRule& b : report.broad) {
    w.OpenObject();
    w.Key("device");
    w.Value(b.device);
    w.Key("rule");
    w.Value(b.rule);
    w.Key("from");
    w.Value(b.from);
    w.Key("to");
    w.Value(b.to);
    w.Key("packets");
    w.Value(b.packets);
    w.CloseObject();
  }
  w.CloseArray();
  w.CloseObject();
  out += '\n';
  return out;
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
