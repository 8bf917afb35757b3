// Renders a netcheck Report (engine.h): JSON for machines and CI, Japanese text for people.
//
// JSON shape: {"result":"ok"|"violations","zones":[…],"matrix":[{"from","to","reachable",
// "allowed","violation"}],"violations":[{"from","to","witness":{"src","dst","proto","sport",
// "dport","icmp_type"?,"translated":{"dst","dport"}?},"path":[{"device","rule","action"}],
// "packets"}],"unknown":[{"device","location","construct"}],"shadowed":[{"device","rule","by"}],
// "broad":[{"device","rule","from","to","packets"}]}.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "netsep/engine.h"

namespace mamori::netsep {

// Pretty-printed (two-space indent), ending with a newline.
std::string ReportToJson(const Report& report);

// 通信経路の分割の検査結果 as plain Japanese text.
std::string ReportToText(const Report& report);

// The same as one self-contained HTML page in Japanese (no scripts, no outside resources; the
// style is inline): the result, the zone-to-zone matrix, each violation with its example packet
// and rule path, the rules broader than the allow entries, the rules that never match, and what
// could not be interpreted. Zone descriptions come from `topology`.
// Every value from the configurations is HTML-escaped.
std::string ReportToHtml(const Report& report, const Topology& topology);

}  // namespace mamori::netsep
