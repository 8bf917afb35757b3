// ReportToJson against the document nlohmann::ordered_json builds and dumps (the way it was
// written before): the same text on random reports, with strings of plain ASCII, controls,
// quotes, backslashes, Japanese, and bytes that are not UTF-8, and with empty and full lists.
#include "netsep/report.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mamori::netsep {
namespace {

using Json = nlohmann::ordered_json;

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

Json PlainWitness(const Witness& w) {
  Json j;
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

std::string PlainJson(const Report& report) {
  Json j;
  j["result"] = report.ok() ? "ok" : "violations";
  j["zones"] = report.zones;
  j["matrix"] = Json::array();
  for (const MatrixEntry& e : report.matrix) {
    j["matrix"].push_back({{"from", e.from},
                           {"to", e.to},
                           {"reachable", e.reachable},
                           {"allowed", e.allowed},
                           {"violation", e.violation}});
  }
  j["violations"] = Json::array();
  for (const Violation& v : report.violations) {
    Json path = Json::array();
    for (const PathStep& s : v.path) {
      path.push_back({{"device", s.device}, {"rule", s.rule}, {"action", s.action}});
    }
    j["violations"].push_back({{"from", v.from},
                               {"to", v.to},
                               {"witness", PlainWitness(v.witness)},
                               {"path", path},
                               {"packets", v.packets}});
  }
  j["unknown"] = Json::array();
  for (const UnknownConstruct& u : report.unknown) {
    j["unknown"].push_back(
        {{"device", u.device}, {"location", u.location}, {"construct", u.construct}});
  }
  j["shadowed"] = Json::array();
  for (const Shadowed& s : report.shadowed) {
    j["shadowed"].push_back({{"device", s.device}, {"rule", s.rule}, {"by", s.by}});
  }
  j["broad"] = Json::array();
  for (const BroadRule& b : report.broad) {
    j["broad"].push_back({{"device", b.device},
                          {"rule", b.rule},
                          {"from", b.from},
                          {"to", b.to},
                          {"packets", b.packets}});
  }
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string RandomString(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "fw.rules:12",
                                                   " ",
                                                   "\"",
                                                   "\\",
                                                   "\n",
                                                   "\t",
                                                   "\x01",
                                                   "\x1f",
                                                   "\x7f",
                                                   "区域",
                                                   "→",
                                                   "\xff",
                                                   "\xc3",
                                                   "\xe3\x81",
                                                   "\xed\xa0\x80",
                                                   "\xf4\x90\x80\x80",
                                                   "/",
                                                   "<>&",
                                                   "é"};
  std::string s;
  const int n = std::uniform_int_distribution<int>(0, 6)(rng);
  for (int i = 0; i < n; ++i) {
    s += kPieces[std::uniform_int_distribution<size_t>(0, kPieces.size() - 1)(rng)];
  }
  return s;
}

Report RandomReport(std::mt19937& rng) {
  auto count = [&] { return std::uniform_int_distribution<int>(0, 3)(rng); };
  auto flip = [&] { return std::uniform_int_distribution<int>(0, 1)(rng) == 1; };
  auto number = [&](uint32_t max) { return std::uniform_int_distribution<uint32_t>(0, max)(rng); };
  Report r;
  for (int i = count(); i > 0; --i) r.zones.push_back(RandomString(rng));
  for (int i = count(); i > 0; --i) {
    r.matrix.push_back({RandomString(rng), RandomString(rng), flip(), flip(), flip()});
  }
  for (int i = count(); i > 0; --i) {
    Violation v;
    v.from = RandomString(rng);
    v.to = RandomString(rng);
    v.witness.src = number(UINT32_MAX);
    v.witness.dst = number(UINT32_MAX);
    v.witness.proto = static_cast<uint8_t>(number(255));
    v.witness.sport = static_cast<uint16_t>(number(65535));
    v.witness.dport = static_cast<uint16_t>(number(65535));
    if (flip()) v.witness.icmp_type = static_cast<uint8_t>(number(255));
    if (flip()) {
      v.witness.translated_dst = number(UINT32_MAX);
      if (flip()) v.witness.translated_dport = static_cast<uint16_t>(number(65535));
    }
    for (int k = count(); k > 0; --k) {
      v.path.push_back({RandomString(rng), RandomString(rng), RandomString(rng)});
    }
    v.packets = RandomString(rng);
    r.violations.push_back(std::move(v));
  }
  for (int i = count(); i > 0; --i) {
    r.unknown.push_back({RandomString(rng), RandomString(rng), RandomString(rng)});
  }
  for (int i = count(); i > 0; --i) {
    r.shadowed.push_back({RandomString(rng), RandomString(rng), RandomString(rng)});
  }
  for (int i = count(); i > 0; --i) {
    r.broad.push_back({RandomString(rng), RandomString(rng), RandomString(rng), RandomString(rng),
                       RandomString(rng)});
  }
  return r;
}

TEST(ReportTest, JsonAgreesWithTheDocumentDump) {
  EXPECT_EQ(ReportToJson(Report{}), PlainJson(Report{}));
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    const Report r = RandomReport(rng);
    ASSERT_EQ(ReportToJson(r), PlainJson(r)) << round;
  }
}

}  // namespace
}  // namespace mamori::netsep
