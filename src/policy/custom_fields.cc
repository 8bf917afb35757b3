#include "policy/custom_fields.h"

#include <algorithm>
#include <set>

#include "common/text.h"
#include "policy/toml_reader.h"

namespace mamori::policy {

using internal::Presence;
using internal::TableReader;

namespace {

bool IsName(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

constexpr std::string_view kTypes[] = {"text", "textarea", "integer", "boolean", "date", "enum"};

}  // namespace

Result<std::vector<CustomField>> ParseCustomFields(std::string_view toml_text,
                                                   std::string_view file) {
  MAMORI_ASSIGN_OR_RETURN(toml::table root, internal::ParseToml(toml_text, file));
  std::vector<CustomField> out;
  std::set<std::string> seen;
  for (const auto& [reg, node] : root) {
    TableReader top(root, file, "ファイルの最上位", "the top level");
    const std::string register_key(reg.str());
    if (!IsName(register_key, 48)) {
      return top.Fail(reg.source().begin.line, Cat("台帳のキーが正しくありません: ", register_key),
                      Cat("bad register key ", register_key));
    }
    MAMORI_ASSIGN_OR_RETURN(auto tables, top.Tables(register_key, Presence::kRequired));
    for (const toml::table* t : tables) {
      TableReader r(*t, file, Cat(register_key, " の追加項目"),
                    Cat("a custom field of ", register_key));
      MAMORI_TRY(r.OnlyKeys({"name", "type", "label", "label_en", "help", "help_en", "required",
                             "searchable", "filterable", "max_length", "options"}));
      CustomField f;
      f.register_key = register_key;
      f.line = r.line();
      MAMORI_ASSIGN_OR_RETURN(f.name, r.String("name", Presence::kRequired));
      if (f.name.rfind("x_", 0) != 0 || !IsName(f.name, 48)) {
        return r.Fail(
            r.LineOfKey("name"),
            "追加項目の name は x_ で始め、英小文字・数字・_ で書いてください(例: x_budget)。",
            "custom field names are x_ followed by [a-z0-9_] (e.g. x_budget).");
      }
      if (!seen.insert(register_key + "." + f.name).second) {
        return r.Fail(r.LineOfKey("name"), Cat("項目 ", f.name, " が重複しています。"),
                      Cat("duplicate field ", f.name, "."));
      }
      r.Rename(Cat(register_key, " の追加項目 ", f.name), Cat("custom field ", f.name));
      MAMORI_ASSIGN_OR_RETURN(f.type, r.String("type", Presence::kRequired));
      if (std::find(std::begin(kTypes), std::end(kTypes), f.type) == std::end(kTypes)) {
        return r.Fail(r.LineOfKey("type"),
                      "type は text、textarea、integer、boolean、date、enum のいずれかです。",
                      "type is text, textarea, integer, boolean, date or enum.");
      }
      MAMORI_ASSIGN_OR_RETURN(f.label, r.Bilingual("label"));
      if (f.label.en.empty()) f.label.en = f.label.ja;
      MAMORI_ASSIGN_OR_RETURN(f.help.ja, r.String("help", Presence::kOptional));
      MAMORI_ASSIGN_OR_RETURN(f.help.en, r.String("help_en", Presence::kOptional));
      MAMORI_ASSIGN_OR_RETURN(f.required, r.Bool("required", false));
      MAMORI_ASSIGN_OR_RETURN(f.searchable, r.Bool("searchable", false));
      MAMORI_ASSIGN_OR_RETURN(f.filterable, r.Bool("filterable", false));
      MAMORI_ASSIGN_OR_RETURN(int64_t max_length, r.Integer("max_length", 200));
      if (max_length < 1 || max_length > 10000) {
        return r.Fail(r.LineOfKey("max_length"), "max_length は 1 から 10000 です。",
                      "max_length is 1 to 10000.");
      }
      f.max_length = static_cast<int>(max_length);
      if (f.filterable && f.type != "enum" && f.type != "boolean") {
        return r.Fail(r.LineOfKey("filterable"),
                      "filterable にできるのは enum と boolean の項目です。",
                      "only enum and boolean fields can be filterable.");
      }
      MAMORI_ASSIGN_OR_RETURN(auto options, r.Tables("options", Presence::kOptional));
      for (const toml::table* ot : options) {
        TableReader o(*ot, file, Cat(f.name, " の選択肢"), Cat("an option of ", f.name));
        MAMORI_TRY(o.OnlyKeys({"value", "label", "label_en"}));
        CustomOption opt;
        MAMORI_ASSIGN_OR_RETURN(opt.value, o.String("value", Presence::kRequired));
        if (!IsName(opt.value, 48)) {
          return o.Fail(o.LineOfKey("value"),
                        "選択肢の value は英小文字・数字・_ で書いてください。",
                        "option values are [a-z0-9_].");
        }
        MAMORI_ASSIGN_OR_RETURN(opt.label, o.Bilingual("label"));
        if (opt.label.en.empty()) opt.label.en = opt.label.ja;
        f.options.push_back(std::move(opt));
      }
      if ((f.type == "enum") != !f.options.empty()) {
        return r.Fail(r.line(), "enum の項目には [[…options]] が必要で、他の型には書けません。",
                      "enum fields need [[…options]]; other types take none.");
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace mamori::policy
