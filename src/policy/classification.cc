#include "policy/classification.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/text.h"
#include "policy/toml_reader.h"

namespace mamori::policy {

using internal::Presence;
using internal::TableReader;

const char* AxisName(Axis axis) {
  switch (axis) {
    case Axis::kConfidentiality:
      return "confidentiality";
    case Axis::kIntegrity:
      return "integrity";
    case Axis::kAvailability:
      return "availability";
  }
  return "";
}

const std::vector<Level>& Scheme::levels(Axis axis) const {
  switch (axis) {
    case Axis::kIntegrity:
      return integrity;
    case Axis::kAvailability:
      return availability;
    case Axis::kConfidentiality:
      break;
  }
  return confidentiality;
}

int Scheme::Rank(Axis axis, std::string_view value) const {
  const auto& list = levels(axis);
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].value == value) return static_cast<int>(i);
  }
  return -1;
}

const std::map<std::string, std::string>& SchemeMapping::of(Axis axis) const {
  switch (axis) {
    case Axis::kIntegrity:
      return integrity;
    case Axis::kAvailability:
      return availability;
    case Axis::kConfidentiality:
      break;
  }
  return confidentiality;
}

const Scheme* Classification::FindScheme(std::string_view key) const {
  for (const auto& s : schemes) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

const SchemeMapping* Classification::FindMapping(std::string_view from, std::string_view to) const {
  for (const auto& m : mappings) {
    if (m.from == from && m.to == to) return &m;
  }
  return nullptr;
}

namespace {

bool IsKey(std::string_view s, bool allow_underscore) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (allow_underscore && c == '_');
  });
}

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Status Read(const toml::table& root, Classification& out) {
    TableReader top(root, file_, "ファイルの最上位", "the top level");
    MAMORI_TRY(
        top.OnlyKeys({"default_scheme", "categories", "zones", "schemes", "rules", "mappings"}));
    MAMORI_ASSIGN_OR_RETURN(out.default_scheme, top.String("default_scheme", Presence::kRequired));
    MAMORI_TRY(ReadKeyLabels(top, "categories", "取扱制限の区分", "category", out.categories));
    MAMORI_TRY(ReadKeyLabels(top, "zones", "系統", "zone", out.zones));
    MAMORI_ASSIGN_OR_RETURN(auto schemes, top.Tables("schemes", Presence::kRequired));
    for (const toml::table* t : schemes) {
      MAMORI_ASSIGN_OR_RETURN(Scheme s, ReadScheme(*t, out));
      if (out.FindScheme(s.key) != nullptr) {
        return top.Fail(internal::LineOf(*t), Cat("分類体系 ", s.key, " が重複しています。"),
                        Cat("duplicate scheme ", s.key, "."));
      }
      out.schemes.push_back(std::move(s));
    }
    if (out.FindScheme(out.default_scheme) == nullptr) {
      return top.Fail(
          top.LineOfKey("default_scheme"),
          Cat("default_scheme の ", out.default_scheme, " という分類体系はありません。"),
          Cat("default_scheme names no scheme: ", out.default_scheme, "."));
    }
    MAMORI_ASSIGN_OR_RETURN(auto rules, top.Tables("rules", Presence::kOptional));
    std::set<std::string> rule_ids;
    for (const toml::table* t : rules) {
      MAMORI_ASSIGN_OR_RETURN(ConsistencyRule r, ReadRule(*t, out));
      if (!rule_ids.insert(r.id).second) {
        return top.Fail(internal::LineOf(*t), Cat("規則 ", r.id, " が重複しています。"),
                        Cat("duplicate rule ", r.id, "."));
      }
      out.rules.push_back(std::move(r));
    }
    MAMORI_ASSIGN_OR_RETURN(auto mappings, top.Tables("mappings", Presence::kOptional));
    for (const toml::table* t : mappings) {
      MAMORI_ASSIGN_OR_RETURN(SchemeMapping m, ReadMapping(*t, out));
      if (out.FindMapping(m.from, m.to) != nullptr) {
        return top.Fail(internal::LineOf(*t),
                        Cat("対応表 ", m.from, " → ", m.to, " が重複しています。"),
                        Cat("duplicate mapping ", m.from, " -> ", m.to, "."));
      }
      out.mappings.push_back(std::move(m));
    }
    return {};
  }

 private:
  Status ReadKeyLabels(const TableReader& top, std::string_view key, std::string_view what_ja,
                       std::string_view what_en, std::vector<KeyLabel>& out) {
    MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables(key, Presence::kRequired));
    for (const toml::table* t : tables) {
      TableReader r(*t, file_, std::string(what_ja), std::string(what_en));
      MAMORI_TRY(r.OnlyKeys({"key", "label", "label_en"}));
      KeyLabel kl;
      MAMORI_ASSIGN_OR_RETURN(kl.key, r.String("key", Presence::kRequired));
      if (!IsKey(kl.key, true)) {
        return r.Fail(r.LineOfKey("key"),
                      Cat(what_ja, " のキーは英小文字・数字・_ で書いてください。"),
                      Cat(what_en, " keys are [a-z0-9_]."));
      }
      for (const auto& other : out) {
        if (other.key == kl.key) {
          return r.Fail(r.line(), Cat(what_ja, " ", kl.key, " が重複しています。"),
                        Cat("duplicate ", what_en, " ", kl.key, "."));
        }
      }
      MAMORI_ASSIGN_OR_RETURN(kl.label, r.Bilingual("label"));
      out.push_back(std::move(kl));
    }
    return {};
  }

  Result<Scheme> ReadScheme(const toml::table& t, const Classification& c) {
    TableReader r(t, file_, "分類体系", "scheme");
    MAMORI_TRY(r.OnlyKeys({"key", "label", "label_en", "description", "description_en",
                           "confidentiality", "integrity", "availability"}));
    Scheme s;
    MAMORI_ASSIGN_OR_RETURN(s.key, r.String("key", Presence::kRequired));
    if (!IsKey(s.key, true)) {
      return r.Fail(r.LineOfKey("key"), "分類体系のキーは英小文字・数字・_ で書いてください。",
                    "scheme keys are [a-z0-9_].");
    }
    r.Rename(Cat("分類体系 ", s.key), Cat("scheme ", s.key));
    MAMORI_ASSIGN_OR_RETURN(s.label, r.Bilingual("label"));
    MAMORI_ASSIGN_OR_RETURN(s.description.ja, r.String("description", Presence::kOptional));
    MAMORI_ASSIGN_OR_RETURN(s.description.en, r.String("description_en", Presence::kOptional));
    for (Axis axis : kAxes) {
      std::vector<Level>& levels = axis == Axis::kConfidentiality ? s.confidentiality
                                   : axis == Axis::kIntegrity     ? s.integrity
                                                                  : s.availability;
      MAMORI_ASSIGN_OR_RETURN(auto tables, r.Tables(AxisName(axis), Presence::kRequired));
      for (const toml::table* lt : tables) {
        MAMORI_ASSIGN_OR_RETURN(Level level, ReadLevel(*lt, s.key, axis, c));
        if (s.Rank(axis, level.value) >= 0) {
          return r.Fail(internal::LineOf(*lt), Cat("水準 ", level.value, " が重複しています。"),
                        Cat("duplicate level ", level.value, "."));
        }
        levels.push_back(std::move(level));
      }
      if (levels.size() < 2) {
        return r.Fail(r.LineOfKey(AxisName(axis)),
                      Cat(AxisName(axis), " には 2 つ以上の水準が必要です。"),
                      Cat(AxisName(axis), " needs at least two levels."));
      }
    }
    return s;
  }

  Result<Level> ReadLevel(const toml::table& t, const std::string& scheme, Axis axis,
                          const Classification& c) {
    TableReader r(t, file_, Cat(scheme, " の ", AxisName(axis), " の水準"),
                  Cat("a ", AxisName(axis), " level of ", scheme));
    MAMORI_TRY(r.OnlyKeys({"value", "label", "label_en", "meaning", "meaning_en", "aliases",
                           "need_to_know", "handling"}));
    Level level;
    MAMORI_ASSIGN_OR_RETURN(level.value, r.String("value", Presence::kRequired));
    if (!IsKey(level.value, false)) {
      return r.Fail(r.LineOfKey("value"), "水準の value は英小文字と数字で書いてください(例: 3a)。",
                    "level values are [a-z0-9]+ (e.g. 3a).");
    }
    MAMORI_ASSIGN_OR_RETURN(level.label, r.Bilingual("label"));
    MAMORI_ASSIGN_OR_RETURN(level.meaning, r.Bilingual("meaning"));
    MAMORI_ASSIGN_OR_RETURN(level.need_to_know, r.Bool("need_to_know", false));
    if (t.get("aliases") != nullptr) {
      MAMORI_ASSIGN_OR_RETURN(auto aliases, r.Strings("aliases"));
      for (auto& [a, line] : aliases) level.aliases.push_back(std::move(a));
    }
    MAMORI_ASSIGN_OR_RETURN(auto handling, r.Tables("handling", Presence::kOptional));
    for (const toml::table* ht : handling) {
      TableReader h(*ht, file_, Cat(level.label.ja, " の取扱制限"),
                    Cat("a handling rule of ", level.value));
      MAMORI_TRY(h.OnlyKeys({"category", "text", "text_en"}));
      HandlingRule rule;
      MAMORI_ASSIGN_OR_RETURN(rule.category, h.String("category", Presence::kRequired));
      const bool known = std::any_of(c.categories.begin(), c.categories.end(),
                                     [&](const KeyLabel& k) { return k.key == rule.category; });
      if (!known) {
        return h.Fail(h.LineOfKey("category"), Cat("不明な区分です: ", rule.category),
                      Cat("unknown category ", rule.category, "."));
      }
      MAMORI_ASSIGN_OR_RETURN(rule.text, h.Bilingual("text"));
      level.handling.push_back(std::move(rule));
    }
    return level;
  }

  Result<ConsistencyRule> ReadRule(const toml::table& t, const Classification& c) {
    TableReader r(t, file_, "整合性の規則", "consistency rule");
    MAMORI_TRY(r.OnlyKeys({"id", "severity", "when", "field", "at_least", "message", "message_en",
                           "rationale", "rationale_en"}));
    ConsistencyRule rule;
    MAMORI_ASSIGN_OR_RETURN(rule.id, r.String("id", Presence::kRequired));
    r.Rename(Cat("規則 ", rule.id), Cat("rule ", rule.id));
    MAMORI_ASSIGN_OR_RETURN(std::string severity, r.String("severity", Presence::kRequired));
    if (severity != "error" && severity != "warning") {
      return r.Fail(r.LineOfKey("severity"), "severity は error か warning です。",
                    "severity is error or warning.");
    }
    rule.error = severity == "error";
    MAMORI_ASSIGN_OR_RETURN(const toml::table* when, r.SubTable("when", Presence::kRequired));
    for (const auto& [key, node] : *when) {
      Condition cond;
      cond.field = std::string(key.str());
      if (const auto* b = node.as_boolean()) {
        cond.boolean = true;
        cond.values = {b->get() ? "true" : "false"};
      } else if (const auto* s = node.as_string()) {
        cond.values = {s->get()};
      } else if (const auto* a = node.as_array()) {
        for (const toml::node& e : *a) {
          if (!e.is_string()) {
            cond.values.clear();
            break;
          }
          cond.values.push_back(e.as_string()->get());
        }
      }
      if (cond.values.empty()) {
        return r.Fail(internal::LineOf(node),
                      Cat("when の ", cond.field, " は true/false、文字列又は文字列の配列です。"),
                      Cat("when.", cond.field, " must be a boolean, a string or strings."));
      }
      rule.when.push_back(std::move(cond));
    }
    if (rule.when.empty()) {
      return r.Fail(r.LineOfKey("when"), "when に条件がありません。", "when is empty.");
    }
    MAMORI_ASSIGN_OR_RETURN(std::string field, r.String("field", Presence::kRequired));
    bool axis_found = false;
    for (Axis axis : kAxes) {
      if (field == AxisName(axis)) {
        rule.axis = axis;
        axis_found = true;
      }
    }
    if (!axis_found) {
      return r.Fail(r.LineOfKey("field"),
                    "field は confidentiality、integrity、availability のいずれかです。",
                    "field is confidentiality, integrity or availability.");
    }
    MAMORI_ASSIGN_OR_RETURN(const toml::table* at_least,
                            r.SubTable("at_least", Presence::kRequired));
    for (const auto& [key, node] : *at_least) {
      const Scheme* scheme = c.FindScheme(key.str());
      const auto* value = node.as_string();
      if (scheme == nullptr || value == nullptr || scheme->Rank(rule.axis, value->get()) < 0) {
        return r.Fail(internal::LineOf(node),
                      Cat("at_least の ", key.str(), " は分類体系とその水準で書いてください。"),
                      Cat("at_least.", key.str(), " must name a scheme and one of its levels."));
      }
      rule.at_least[std::string(key.str())] = value->get();
    }
    if (rule.at_least.empty()) {
      return r.Fail(r.LineOfKey("at_least"), "at_least が空です。", "at_least is empty.");
    }
    MAMORI_ASSIGN_OR_RETURN(rule.message, r.Bilingual("message"));
    MAMORI_ASSIGN_OR_RETURN(rule.rationale, r.Bilingual("rationale"));
    return rule;
  }

  Result<SchemeMapping> ReadMapping(const toml::table& t, const Classification& c) {
    TableReader r(t, file_, "対応表", "mapping");
    MAMORI_TRY(r.OnlyKeys({"from", "to", "confidentiality", "integrity", "availability"}));
    SchemeMapping m;
    MAMORI_ASSIGN_OR_RETURN(m.from, r.String("from", Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(m.to, r.String("to", Presence::kRequired));
    const Scheme* from = c.FindScheme(m.from);
    const Scheme* to = c.FindScheme(m.to);
    if (from == nullptr || to == nullptr || from == to) {
      return r.Fail(r.line(), "from と to には異なる分類体系を書いてください。",
                    "from and to must name two different schemes.");
    }
    for (Axis axis : kAxes) {
      auto& map = axis == Axis::kConfidentiality ? m.confidentiality
                  : axis == Axis::kIntegrity     ? m.integrity
                                                 : m.availability;
      MAMORI_ASSIGN_OR_RETURN(const toml::table* table,
                              r.SubTable(AxisName(axis), Presence::kRequired));
      for (const auto& [key, node] : *table) {
        const auto* value = node.as_string();
        if (from->Rank(axis, key.str()) < 0 || value == nullptr ||
            to->Rank(axis, value->get()) < 0) {
          return r.Fail(internal::LineOf(node),
                        Cat(AxisName(axis), " の ", key.str(), " は ", m.from, " の水準から ", m.to,
                            " の水準への対応で書いてください。"),
                        Cat(AxisName(axis), ".", key.str(), " must map a level of ", m.from,
                            " to a level of ", m.to, "."));
        }
        map[std::string(key.str())] = value->get();
      }
      for (const Level& level : from->levels(axis)) {
        if (!map.count(level.value)) {
          return r.Fail(r.LineOfKey(AxisName(axis)),
                        Cat(AxisName(axis), " に ", level.value, " の対応がありません。"),
                        Cat(AxisName(axis), " has no mapping for ", level.value, "."));
        }
      }
    }
    return m;
  }

  std::string_view file_;
};

}  // namespace

Result<Classification> ParseClassification(std::string_view toml_text, std::string_view name) {
  MAMORI_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(toml_text, name));
  Classification out;
  MAMORI_TRY(Reader(name).Read(root, out));
  return out;
}

}  // namespace mamori::policy
