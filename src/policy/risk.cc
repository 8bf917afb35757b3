#include "policy/risk.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "common/text.h"
#include "policy/toml_reader.h"

namespace mamori::policy {

using internal::Presence;
using internal::Quote;
using internal::TableReader;

bool Threat::Affects(Axis axis) const {
  return std::find(affects.begin(), affects.end(), axis) != affects.end();
}

bool ScenarioProposal::Matches(const AssetFacts& asset) const {
  for (const auto& c : when) {
    const std::string& v = c.field == "kind" ? asset.kind : asset.zone;
    if (std::find(c.values.begin(), c.values.end(), v) == c.values.end()) return false;
  }
  for (const auto& [axis, top] : top_levels) {
    const int rank = asset.rank[static_cast<size_t>(axis)];
    if (rank < 0 || rank >= top) return false;
  }
  return true;
}

const Threat* ThreatCatalog::Find(std::string_view code) const {
  for (const auto& t : threats) {
    if (t.code == code) return &t;
  }
  return nullptr;
}

const ThreatGroup* ThreatCatalog::Group(std::string_view key) const {
  for (const auto& g : groups) {
    if (g.key == key) return &g;
  }
  return nullptr;
}

namespace {

constexpr const char* kGroupKeys[] = {"intentional", "unintentional", "disaster", "staff_shortage",
                                      "infrastructure"};
constexpr const char* kAssetKinds[] = {"network",         "system",     "equipment",      "media",
                                       "info_electronic", "info_paper", "system_document"};
constexpr const char* kZones[] = {"mynumber", "lgwan", "inet", "other"};

bool AxisFrom(std::string_view name, Axis& out) {
  for (Axis a : kAxes) {
    if (name == AxisName(a)) {
      out = a;
      return true;
    }
  }
  return false;
}

template <size_t N>
bool OneOf(const char* const (&list)[N], std::string_view v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

Status ReadGroups(const toml::table& root, std::string_view file, ThreatCatalog& out) {
  TableReader top(root, file, "脅威の一覧", "the threat catalog");
  MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables("groups", Presence::kRequired));
  for (const toml::table* t : tables) {
    TableReader r(*t, file, "脅威の区分", "a threat group");
    MAMORI_TRY(r.OnlyKeys({"key", "section", "label", "label_en"}));
    ThreatGroup g;
    MAMORI_ASSIGN_OR_RETURN(g.key, r.String("key", Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(g.section, r.String("section", Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(g.label, r.Bilingual("label"));
    const size_t i = out.groups.size();
    if (i >= std::size(kGroupKeys) || g.key != kGroupKeys[i]) {
      return r.Fail(r.LineOfKey("key"),
                    "脅威の区分は基本方針 3 の順に intentional, unintentional, disaster, "
                    "staff_shortage, infrastructure の 5 つです。",
                    "the groups are the five of §3, in order");
    }
    out.groups.push_back(std::move(g));
  }
  if (out.groups.size() != std::size(kGroupKeys)) {
    return top.Fail(top.LineOfKey("groups"), "脅威の区分は 5 つ必要です。",
                    "the catalog needs the five groups of §3");
  }
  return {};
}

Status ReadThreats(const toml::table& root, std::string_view file, ThreatCatalog& out) {
  static const std::regex kCode("T-[1-5]-[0-9]{2}");
  TableReader top(root, file, "脅威の一覧", "the threat catalog");
  MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables("threats", Presence::kRequired));
  std::set<std::string> codes;
  for (const toml::table* t : tables) {
    TableReader r(*t, file, "脅威", "a threat");
    MAMORI_TRY(r.OnlyKeys(
        {"code", "group", "name", "name_en", "description", "description_en", "affects"}));
    Threat th;
    MAMORI_ASSIGN_OR_RETURN(th.code, r.String("code", Presence::kRequired));
    if (!std::regex_match(th.code, kCode)) {
      return r.Fail(r.LineOfKey("code"),
                    Cat("脅威の番号 ", Quote(th.code), " は T-1-01 の形です。"),
                    Cat("threat code ", Quote(th.code), " must look like T-1-01"));
    }
    r.Rename(Cat("脅威 ", th.code), Cat("threat ", th.code));
    if (!codes.insert(th.code).second) {
      return r.Fail(r.LineOfKey("code"), "脅威の番号が重複しています。", "duplicate threat code");
    }
    MAMORI_ASSIGN_OR_RETURN(th.group, r.String("group", Presence::kRequired));
    const ThreatGroup* g = out.Group(th.group);
    if (g == nullptr ||
        th.code[2] != out.groups[static_cast<size_t>(g - out.groups.data())].section[2]) {
      return r.Fail(r.LineOfKey("group"),
                    Cat("区分 ", Quote(th.group), " がないか、番号 ", th.code, " と合いません。"),
                    Cat("unknown group ", Quote(th.group), " or it does not match the code"));
    }
    MAMORI_ASSIGN_OR_RETURN(th.name, r.Bilingual("name"));
    MAMORI_ASSIGN_OR_RETURN(th.description, r.Bilingual("description"));
    MAMORI_ASSIGN_OR_RETURN(auto affects, r.Strings("affects"));
    for (const auto& [name, line] : affects) {
      Axis a;
      if (!AxisFrom(name, a)) {
        return r.Fail(line,
                      Cat("affects の ", Quote(name), " は機密性・完全性・可用性ではありません。"),
                      Cat("affects: ", Quote(name), " is not an axis"));
      }
      if (!th.Affects(a)) th.affects.push_back(a);
    }
    std::sort(th.affects.begin(), th.affects.end());
    out.threats.push_back(std::move(th));
  }
  return {};
}

Status ReadProposals(const toml::table& root, std::string_view file, ThreatCatalog& out) {
  TableReader top(root, file, "脅威の一覧", "the threat catalog");
  MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables("proposals", Presence::kOptional));
  std::set<std::string> ids;
  for (const toml::table* t : tables) {
    TableReader r(*t, file, "提案", "a proposal");
    MAMORI_TRY(r.OnlyKeys({"id", "threat", "when", "top_levels", "reason", "reason_en"}));
    ScenarioProposal p;
    MAMORI_ASSIGN_OR_RETURN(p.id, r.String("id", Presence::kRequired));
    r.Rename(Cat("提案 ", p.id), Cat("proposal ", p.id));
    if (!ids.insert(p.id).second) {
      return r.Fail(r.LineOfKey("id"), "提案の番号が重複しています。", "duplicate proposal id");
    }
    MAMORI_ASSIGN_OR_RETURN(p.threat, r.String("threat", Presence::kRequired));
    if (out.Find(p.threat) == nullptr) {
      return r.Fail(r.LineOfKey("threat"), Cat("脅威 ", Quote(p.threat), " は一覧にありません。"),
                    Cat("unknown threat ", Quote(p.threat)));
    }
    MAMORI_ASSIGN_OR_RETURN(p.reason, r.Bilingual("reason"));
    MAMORI_ASSIGN_OR_RETURN(const toml::table* when, r.SubTable("when", Presence::kOptional));
    if (when != nullptr) {
      for (const auto& [key, node] : *when) {
        Condition c;
        c.field = std::string(key.str());
        if (c.field != "kind" && c.field != "zone") {
          return r.Fail(key.source().begin.line,
                        Cat("when の条件は kind と zone だけです(", Quote(c.field), ")。"),
                        Cat("when: only kind and zone (", Quote(c.field), ")"));
        }
        const toml::array* values = node.as_array();
        if (values == nullptr || values->empty()) {
          return r.Fail(internal::LineOf(node), Cat("when の ", c.field, " は文字列の配列です。"),
                        Cat("when.", c.field, " must be an array of strings"));
        }
        for (const toml::node& v : *values) {
          const auto* s = v.as_string();
          const bool known = s != nullptr && (c.field == "kind" ? OneOf(kAssetKinds, s->get())
                                                                : OneOf(kZones, s->get()));
          if (!known) {
            return r.Fail(internal::LineOf(v), Cat("when の ", c.field, " に不明な値があります。"),
                          Cat("when.", c.field, " has an unknown value"));
          }
          c.values.push_back(s->get());
        }
        p.when.push_back(std::move(c));
      }
    }
    MAMORI_ASSIGN_OR_RETURN(const toml::table* top_levels,
                            r.SubTable("top_levels", Presence::kOptional));
    if (top_levels != nullptr) {
      for (const auto& [key, node] : *top_levels) {
        Axis a;
        const auto* n = node.as_integer();
        if (!AxisFrom(key.str(), a) || n == nullptr || n->get() < 1 || n->get() > 3) {
          return r.Fail(key.source().begin.line,
                        "top_levels は 機密性・完全性・可用性 = 1〜3 で書いてください。",
                        "top_levels: axis = 1..3");
        }
        p.top_levels[a] = static_cast<int>(n->get());
      }
    }
    if (p.when.empty() && p.top_levels.empty()) {
      return r.Fail(r.line(), "提案には when 又は top_levels の条件が必要です。",
                    "a proposal needs a condition");
    }
    out.proposals.push_back(std::move(p));
  }
  return {};
}

}  // namespace

Result<ThreatCatalog> ParseThreats(std::string_view toml_text, std::string_view name) {
  MAMORI_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(toml_text, name));
  ThreatCatalog out;
  TableReader top(root, name, "脅威の一覧", "the threat catalog");
  MAMORI_TRY(top.OnlyKeys({"groups", "threats", "proposals"}));
  MAMORI_TRY(ReadGroups(root, name, out));
  MAMORI_TRY(ReadThreats(root, name, out));
  MAMORI_TRY(ReadProposals(root, name, out));
  return out;
}

// ---------------------------------------------------------------------------------------

const MatrixLevel* Matrix::Likelihood(std::string_view value) const {
  for (const auto& l : likelihood) {
    if (l.value == value) return &l;
  }
  return nullptr;
}

const MatrixLevel* Matrix::Impact(std::string_view value) const {
  for (const auto& l : impact) {
    if (l.value == value) return &l;
  }
  return nullptr;
}

const std::string& Matrix::LevelOf(int score) const {
  const std::string* level = &thresholds.front().first;
  for (const auto& [key, min] : thresholds) {
    if (score >= min) level = &key;
  }
  return *level;
}

Approver Matrix::ApproverFor(std::string_view level) const {
  auto it = approval.find(std::string(level));
  return it == approval.end() ? Approver::kCiso : it->second;
}

const MatrixLevel& Matrix::ImpactForRank(int rank, int levels) const {
  const int n = size();
  if (levels <= 1) return impact.back();
  rank = std::clamp(rank, 0, levels - 1);
  const double step = static_cast<double>(n - 1) * (levels - 1 - rank) / (levels - 1);
  const int score = 1 + static_cast<int>(std::lround(step));
  return impact[static_cast<size_t>(std::clamp(score, 1, n) - 1)];
}

const Matrix* RiskMatrices::Find(std::string_view key) const {
  for (const auto& m : matrices) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const RiskLevel* RiskMatrices::Level(std::string_view key) const {
  for (const auto& l : levels) {
    if (l.key == key) return &l;
  }
  return nullptr;
}

int RiskMatrices::LevelRank(std::string_view key) const {
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i].key == key) return static_cast<int>(i);
  }
  return -1;
}

namespace {

Result<std::vector<MatrixLevel>> ReadScale(const TableReader& m, std::string_view file,
                                           std::string_view axis, const std::string& key) {
  MAMORI_ASSIGN_OR_RETURN(auto tables, m.Tables(axis, Presence::kRequired));
  std::vector<MatrixLevel> out;
  const int n = static_cast<int>(tables.size());
  for (const toml::table* t : tables) {
    TableReader r(*t, file, Cat(key, " の ", axis), Cat(axis, " of ", key));
    MAMORI_TRY(r.OnlyKeys({"value", "score", "label", "label_en", "meaning", "meaning_en"}));
    MatrixLevel l;
    MAMORI_ASSIGN_OR_RETURN(l.value, r.String("value", Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(const int64_t score, r.Integer("score", 0));
    l.score = static_cast<int>(score);
    const int expected = static_cast<int>(out.size()) + 1;
    if (l.score != expected || l.value != Cat(std::to_string(n), "_", std::to_string(expected))) {
      return r.Fail(r.LineOfKey("value"),
                    Cat("段階は低い方から score = ", std::to_string(expected), "、value = \"",
                        std::to_string(n), "_", std::to_string(expected), "\" の順に書きます。"),
                    Cat("levels go lowest first: score ", std::to_string(expected), ", value \"",
                        std::to_string(n), "_", std::to_string(expected), "\""));
    }
    MAMORI_ASSIGN_OR_RETURN(l.label, r.Bilingual("label"));
    MAMORI_ASSIGN_OR_RETURN(l.meaning, r.Bilingual("meaning"));
    out.push_back(std::move(l));
  }
  if (n < 2 || n > 9) {
    return m.Fail(m.LineOfKey(axis), Cat(axis, " の段階は 2〜9 です。"),
                  Cat(axis, " needs 2..9 levels"));
  }
  return out;
}

}  // namespace

Result<RiskMatrices> ParseRiskMatrices(std::string_view toml_text, std::string_view file) {
  MAMORI_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(toml_text, file));
  RiskMatrices out;
  TableReader top(root, file, "リスクマトリクス", "the risk matrix catalog");
  MAMORI_TRY(top.OnlyKeys({"default_matrix", "levels", "matrices", "mappings"}));
  MAMORI_ASSIGN_OR_RETURN(out.default_matrix, top.String("default_matrix", Presence::kRequired));
  static const std::regex kColor("#[0-9a-fA-F]{6}");
  MAMORI_ASSIGN_OR_RETURN(auto levels, top.Tables("levels", Presence::kRequired));
  for (const toml::table* t : levels) {
    TableReader r(*t, file, "リスクの水準", "a risk level");
    MAMORI_TRY(r.OnlyKeys({"key", "label", "label_en", "color", "meaning", "meaning_en"}));
    RiskLevel l;
    MAMORI_ASSIGN_OR_RETURN(l.key, r.String("key", Presence::kRequired));
    if (!std::regex_match(l.key, std::regex("[a-z][a-z0-9_]*")) || out.Level(l.key) != nullptr) {
      return r.Fail(r.LineOfKey("key"),
                    Cat("水準のキー ", Quote(l.key), " が不正か重複しています。"),
                    Cat("bad or duplicate level key ", Quote(l.key)));
    }
    MAMORI_ASSIGN_OR_RETURN(l.label, r.Bilingual("label"));
    MAMORI_ASSIGN_OR_RETURN(l.color, r.String("color", Presence::kRequired));
    if (!std::regex_match(l.color, kColor)) {
      return r.Fail(r.LineOfKey("color"), "color は #rrggbb で書きます。", "color must be #rrggbb");
    }
    MAMORI_ASSIGN_OR_RETURN(l.meaning, r.Bilingual("meaning"));
    out.levels.push_back(std::move(l));
  }
  MAMORI_ASSIGN_OR_RETURN(auto matrices, top.Tables("matrices", Presence::kRequired));
  for (const toml::table* t : matrices) {
    TableReader r(*t, file, "マトリクス", "a matrix");
    MAMORI_TRY(r.OnlyKeys({"key", "label", "label_en", "description", "description_en",
                           "likelihood", "impact", "thresholds", "approval"}));
    Matrix m;
    MAMORI_ASSIGN_OR_RETURN(m.key, r.String("key", Presence::kRequired));
    r.Rename(Cat("マトリクス ", m.key), Cat("matrix ", m.key));
    if (out.Find(m.key) != nullptr) {
      return r.Fail(r.LineOfKey("key"), "マトリクスのキーが重複しています。", "duplicate matrix");
    }
    MAMORI_ASSIGN_OR_RETURN(m.label, r.Bilingual("label"));
    MAMORI_ASSIGN_OR_RETURN(m.description, r.Bilingual("description"));
    MAMORI_ASSIGN_OR_RETURN(m.likelihood, ReadScale(r, file, "likelihood", m.key));
    MAMORI_ASSIGN_OR_RETURN(m.impact, ReadScale(r, file, "impact", m.key));
    if (m.likelihood.size() != m.impact.size()) {
      return r.Fail(r.line(), "発生可能性と影響度の段階の数が違います。",
                    "likelihood and impact need the same number of levels");
    }
    MAMORI_ASSIGN_OR_RETURN(auto thresholds, r.Tables("thresholds", Presence::kRequired));
    int last_rank = -1;
    for (const toml::table* tt : thresholds) {
      TableReader tr(*tt, file, Cat(m.key, " の閾値"), Cat("a threshold of ", m.key));
      MAMORI_TRY(tr.OnlyKeys({"level", "min_score"}));
      MAMORI_ASSIGN_OR_RETURN(std::string level, tr.String("level", Presence::kRequired));
      MAMORI_ASSIGN_OR_RETURN(const int64_t min, tr.Integer("min_score", 0));
      const int rank = out.LevelRank(level);
      const int prev_min = m.thresholds.empty() ? 0 : m.thresholds.back().second;
      const int max_score = m.size() * m.size();
      if (rank <= last_rank || min <= prev_min || min > max_score ||
          (m.thresholds.empty() && min != 1)) {
        return tr.Fail(tr.line(),
                       "閾値は水準の低い順に、1 から始めて大きくなるように書きます(最大 " +
                           std::to_string(max_score) + ")。",
                       "thresholds go up from 1 in level order");
      }
      last_rank = rank;
      m.thresholds.emplace_back(level, static_cast<int>(min));
    }
    MAMORI_ASSIGN_OR_RETURN(auto approval, r.Tables("approval", Presence::kRequired));
    for (const toml::table* at : approval) {
      TableReader ar(*at, file, Cat(m.key, " の受容の承認者"), Cat("an approval of ", m.key));
      MAMORI_TRY(ar.OnlyKeys({"level", "by"}));
      MAMORI_ASSIGN_OR_RETURN(std::string level, ar.String("level", Presence::kRequired));
      MAMORI_ASSIGN_OR_RETURN(std::string by, ar.String("by", Presence::kRequired));
      const bool used = std::any_of(m.thresholds.begin(), m.thresholds.end(),
                                    [&](const auto& th) { return th.first == level; });
      if (!used || (by != "superior" && by != "ciso")) {
        return ar.Fail(ar.line(), "level はこのマトリクスの水準、by は superior 又は ciso です。",
                       "level must be a level of the matrix and by superior or ciso");
      }
      m.approval[level] = by == "ciso" ? Approver::kCiso : Approver::kSuperior;
    }
    if (m.approval.size() != m.thresholds.size() ||
        m.ApproverFor(m.TopLevel()) != Approver::kCiso) {
      return r.Fail(r.LineOfKey("approval"),
                    "すべての水準に受容の承認者が必要で、最も高い水準は ciso です。",
                    "every level needs an approver and the highest is the CISO's");
    }
    out.matrices.push_back(std::move(m));
  }
  if (out.Find(out.default_matrix) == nullptr) {
    return top.Fail(top.LineOfKey("default_matrix"), "default_matrix のマトリクスがありません。",
                    "default_matrix names no matrix");
  }
  MAMORI_ASSIGN_OR_RETURN(auto mappings, top.Tables("mappings", Presence::kOptional));
  for (const toml::table* t : mappings) {
    TableReader r(*t, file, "マトリクスの移行", "a matrix mapping");
    MAMORI_TRY(r.OnlyKeys({"from", "to", "likelihood", "impact"}));
    MatrixMapping mm;
    MAMORI_ASSIGN_OR_RETURN(mm.from, r.String("from", Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(mm.to, r.String("to", Presence::kRequired));
    const Matrix* from = out.Find(mm.from);
    const Matrix* to = out.Find(mm.to);
    if (from == nullptr || to == nullptr) {
      return r.Fail(r.line(), "from と to はマトリクスのキーです。", "from and to name matrices");
    }
    for (const char* axis : {"likelihood", "impact"}) {
      MAMORI_ASSIGN_OR_RETURN(const toml::table* map, r.SubTable(axis, Presence::kRequired));
      auto& target = std::string_view(axis) == "likelihood" ? mm.likelihood : mm.impact;
      for (const auto& [k, node] : *map) {
        const auto* v = node.as_string();
        const bool ok = v != nullptr && (std::string_view(axis) == "likelihood"
                                             ? from->Likelihood(k.str()) && to->Likelihood(v->get())
                                             : from->Impact(k.str()) && to->Impact(v->get()));
        if (!ok) {
          return r.Fail(k.source().begin.line,
                        Cat(axis, " の ", k.str(), " は ", mm.from, " の段階から ", mm.to,
                            " の段階への対応です。"),
                        Cat(axis, ": map levels of ", mm.from, " to levels of ", mm.to));
        }
        target[std::string(k.str())] = v->get();
      }
    }
    out.mappings.push_back(std::move(mm));
  }
  return out;
}

}  // namespace mamori::policy
