#include "netsep/ruleset.h"

#include <algorithm>
#include <charconv>

#include "common/text.h"

namespace mamori::netsep {
namespace {

// A decimal number of at most `max_digits` digits, no sign, no leading zeros beyond "0".
std::optional<uint32_t> ParseDecimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  // One pass (the monitor parses two addresses per log line): four decimal octets of one to
  // three digits, no leading zero, at most 255, separated by single dots.
  uint32_t address = 0;
  size_t i = 0;
  const size_t n = text.size();
  for (int octet = 0;; ++octet) {
    const size_t start = i;
    uint32_t value = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (i - start == 3) return std::nullopt;
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || (digits > 1 && text[start] == '0') || value > 255) return std::nullopt;
    address = (address << 8) | value;
    if (octet == 3) {
      if (i != n) return std::nullopt;
      return address;
    }
    if (i == n || text[i] != '.') return std::nullopt;
    ++i;
  }
}

std::optional<Prefix> ParsePrefix(std::string_view text, HostBits host_bits) {
  const size_t slash = text.find('/');
  const std::optional<uint32_t> address = ParseIpv4(text.substr(0, slash));
  if (!address) {
    return std::nullopt;
  }
  Prefix prefix{*address, 32};
  if (slash != std::string_view::npos) {
    const std::optional<uint32_t> length = ParseDecimal(text.substr(slash + 1), 2);
    if (!length || *length > 32) {
      return std::nullopt;
    }
    prefix.length = static_cast<int>(*length);
  }
  if ((prefix.address & prefix.Mask()) != prefix.address) {
    if (host_bits == HostBits::kReject) {
      return std::nullopt;
    }
    prefix.address &= prefix.Mask();
  }
  return prefix;
}

std::string FormatIpv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string FormatPrefix(const Prefix& prefix) {
  return FormatIpv4(prefix.address) + "/" + std::to_string(prefix.length);
}

const Chain* Table::FindChain(std::string_view chain_name) const {
  for (const Chain& chain : chains) {
    if (chain.name == chain_name) return &chain;
  }
  return nullptr;
}

const Table* Ruleset::FindTable(std::string_view table_name) const {
  for (const Table& table : tables) {
    if (table.name == table_name) return &table;
  }
  return nullptr;
}

bool SplitWordViews(std::string_view s, size_t max_words, std::string& scratch,
                    std::vector<std::string_view>& words, WordsError& error) {
  words.clear();
  scratch.clear();
  scratch.reserve(s.size());
  const char* const base = scratch.data();
  if (s.find('"') == std::string_view::npos && s.find('\t') == std::string_view::npos) {
    // No quote and no tab, as nearly every line of a rule set: the words lie between spaces,
    // found by the library's search (several bytes a step) instead of a test per character.
    for (size_t i = 0; i < s.size();) {
      if (s[i] == ' ') {
        ++i;
        continue;
      }
      const size_t end = std::min(s.find(' ', i), s.size());
      words.push_back(s.substr(i, end - i));
      if (words.size() > max_words) {
        error = {"行が長すぎます。", "the line has too many words."};
        return false;
      }
      i = end;
    }
    return true;
  }
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    // A word without quotes, as most are, is viewed where it stands. Its characters are nearly
    // all above '"', the highest that ends a run: one test each.
    size_t end = i;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) > '"' ||
                              (s[end] != ' ' && s[end] != '\t' && s[end] != '"'))) {
      ++end;
    }
    if (end == s.size() || s[end] != '"') {
      words.push_back(s.substr(i, end - i));
      i = end;
      if (words.size() > max_words) {
        error = {"行が長すぎます。", "the line has too many words."};
        return false;
      }
      continue;
    }
    const size_t start = scratch.size();
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') {
      if (s[i] != '"') {
        // The unquoted run up to the next blank or quote, at once.
        size_t end = i + 1;
        while (end < s.size() && s[end] != ' ' && s[end] != '\t' && s[end] != '"') ++end;
        scratch.append(s.substr(i, end - i));
        i = end;
        continue;
      }
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        scratch.push_back(s[i++]);
      }
      if (i == s.size()) {
        error = {"引用符 \" が閉じられていません。", "unterminated quotation mark."};
        return false;
      }
      ++i;
    }
    words.emplace_back(base + start, scratch.size() - start);
    if (words.size() > max_words) {
      error = {"行が長すぎます。", "the line has too many words."};
      return false;
    }
  }
  return true;
}

std::optional<std::vector<std::string>> SplitWords(std::string_view s, size_t max_words,
                                                   WordsError& error) {
  std::string scratch;
  std::vector<std::string_view> views;
  if (!SplitWordViews(s, max_words, scratch, views, error)) return std::nullopt;
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace mamori::netsep
