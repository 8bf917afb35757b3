// Internal to the policy module: reading the shipped TOML catalogs with errors that name
// "file:line" in Japanese and English. Only this module's parsers use it.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/text.h"
#include "policy/catalog.h"

namespace mamori::policy::internal {

// Each catalog file is a few tens of kilobytes; anything near this is not a catalog.
inline constexpr size_t kMaxFileBytes = size_t{1} << 20;

inline std::string Quote(std::string_view s) { return Cat("\"", s, "\""); }

// "catalog/controls.toml:12: " + message, in both languages.
inline Error InvalidAt(std::string_view file, uint32_t line, std::string_view ja,
                       std::string_view en) {
  const std::string where = Cat(file, ":", std::to_string(line), ": ");
  return Error::Invalid(Cat(where, ja), Cat(where, en));
}

inline uint32_t LineOf(const toml::node& node) { return node.source().begin.line; }

// The only place that lets toml++ throw: parse errors become values naming "file:line".
inline Result<toml::table> ParseToml(std::string_view text, std::string_view file) {
  if (text.size() > kMaxFileBytes) {
    return Error::TooLarge(
        Cat(file, ": ファイルが大きすぎます（上限 ", std::to_string(kMaxFileBytes), " バイト）。"),
        Cat(file, ": file is too large (limit ", std::to_string(kMaxFileBytes), " bytes)."));
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const uint32_t line = e.source().begin.line;
    return InvalidAt(file, line, Cat("TOML の構文エラーです: ", e.description()),
                     Cat("TOML syntax error: ", e.description()));
  }
}

enum class Presence { kRequired, kOptional };

// Reads the keys of one TOML table. Messages name the table as `what` ("節 6" / "section 6")
// and point at the line of the offending value, or of the table when a key is missing.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string_view file, std::string what_ja,
              std::string what_en)
      : table_(table), file_(file), what_ja_(std::move(what_ja)), what_en_(std::move(what_en)) {}

  // Renames the table in later messages, once its id is known.
  void Rename(std::string what_ja, std::string what_en) {
    what_ja_ = std::move(what_ja);
    what_en_ = std::move(what_en);
  }

  uint32_t line() const { return LineOf(table_); }

  uint32_t LineOfKey(std::string_view key) const {
    const toml::node* node = table_.get(key);
    return node != nullptr ? LineOf(*node) : line();
  }

  Error Fail(uint32_t line, std::string_view ja, std::string_view en) const {
    return InvalidAt(file_, line, ja, en);
  }

  // Any key outside `allowed` is an error (a typo would otherwise be silently ignored).
  Status OnlyKeys(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table_) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) {
        continue;
      }
      return Fail(key.source().begin.line,
                  Cat(what_ja_, " に不明なキー ", Quote(key.str()), " があります。"),
                  Cat("unknown key ", Quote(key.str()), " in ", what_en_, "."));
    }
    return {};
  }

  // A string; kRequired also rejects blank text. Absent optional strings read as "".
  Result<std::string> String(std::string_view key, Presence presence) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (presence == Presence::kOptional) {
        return std::string();
      }
      return Fail(line(), Cat(what_ja_, " に ", key, " がありません。"),
                  Cat(what_en_, " has no ", key, "."));
    }
    const toml::value<std::string>* value = node->as_string();
    if (value == nullptr) {
      return Fail(LineOf(*node), Cat(what_ja_, " の ", key, " は文字列で書いてください。"),
                  Cat(key, " of ", what_en_, " must be a string."));
    }
    if (presence == Presence::kRequired && TrimSpace(value->get()).empty()) {
      return Fail(LineOf(*node), Cat(what_ja_, " の ", key, " が空です。"),
                  Cat(key, " of ", what_en_, " is empty."));
    }
    return value->get();
  }

  // `key` (Japanese, required) and `key_en` (English, optional).
  Result<Text> Bilingual(std::string_view key) const {
    Text text;
    MAMORI_ASSIGN_OR_RETURN(text.ja, String(key, Presence::kRequired));
    MAMORI_ASSIGN_OR_RETURN(text.en, String(Cat(key, "_en"), Presence::kOptional));
    return text;
  }

  Result<bool> Bool(std::string_view key, bool fallback) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      return fallback;
    }
    const toml::value<bool>* value = node->as_boolean();
    if (value == nullptr) {
      return Fail(LineOf(*node),
                  Cat(what_ja_, " の ", key, " は true または false で書いてください。"),
                  Cat(key, " of ", what_en_, " must be true or false."));
    }
    return value->get();
  }

  Result<int64_t> Integer(std::string_view key, int64_t fallback) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      return fallback;
    }
    const toml::value<int64_t>* value = node->as_integer();
    if (value == nullptr) {
      return Fail(LineOf(*node), Cat(what_ja_, " の ", key, " は整数で書いてください。"),
                  Cat(key, " of ", what_en_, " must be an integer."));
    }
    return value->get();
  }

  // An array whose elements are all tables ([[key]]). Absent: an empty list, or an error
  // when required.
  Result<std::vector<const toml::table*>> Tables(std::string_view key, Presence presence) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (presence == Presence::kOptional) {
        return std::vector<const toml::table*>();
      }
      return Fail(line(), Cat(what_ja_, " に [[", key, "]] がありません。"),
                  Cat(what_en_, " has no [[", key, "]]."));
    }
    std::vector<const toml::table*> tables;
    const toml::array* array = node->as_array();
    if (array != nullptr) {
      for (const toml::node& element : *array) {
        const toml::table* table = element.as_table();
        if (table == nullptr) {
          array = nullptr;
          break;
        }
        tables.push_back(table);
      }
    }
    if (array == nullptr || (presence == Presence::kRequired && tables.empty())) {
      return Fail(LineOf(*node),
                  Cat(what_ja_, " の ", key, " は [[", key, "]] の表で書いてください。"),
                  Cat(key, " of ", what_en_, " must be an array of tables ([[", key, "]])."));
    }
    return tables;
  }

  // A sub-table (key = { ... } or [key]); nullptr when absent and optional.
  Result<const toml::table*> SubTable(std::string_view key, Presence presence) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (presence == Presence::kOptional) return static_cast<const toml::table*>(nullptr);
      return Fail(line(), Cat(what_ja_, " に ", key, " がありません。"),
                  Cat(what_en_, " has no ", key, "."));
    }
    if (!node->is_table()) {
      return Fail(LineOf(*node), Cat(what_ja_, " の ", key, " は表 { … } で書いてください。"),
                  Cat(key, " of ", what_en_, " must be a table { … }."));
    }
    return node->as_table();
  }

  // A non-empty array of strings.
  Result<std::vector<std::pair<std::string, uint32_t>>> Strings(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      return Fail(line(), Cat(what_ja_, " に ", key, " がありません。"),
                  Cat(what_en_, " has no ", key, "."));
    }
    const toml::array* array = node->as_array();
    std::vector<std::pair<std::string, uint32_t>> out;
    if (array != nullptr) {
      for (const toml::node& element : *array) {
        const toml::value<std::string>* value = element.as_string();
        if (value == nullptr) {
          array = nullptr;
          break;
        }
        out.emplace_back(value->get(), LineOf(element));
      }
    }
    if (array == nullptr || out.empty()) {
      return Fail(LineOf(*node),
                  Cat(what_ja_, " の ", key, " は文字列の空でない配列で書いてください。"),
                  Cat(key, " of ", what_en_, " must be a non-empty array of strings."));
    }
    return out;
  }

 private:
  const toml::table& table_;
  std::string_view file_;
  std::string what_ja_;
  std::string what_en_;
};

}  // namespace mamori::policy::internal
