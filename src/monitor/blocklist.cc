#include "monitor/blocklist.h"

#include <algorithm>
#include <array>
#include <functional>

#include "common/text.h"
#include "monitor/text_util.h"
#include "netsep/ruleset.h"

namespace mamori::monitor {
namespace {

constexpr size_t kMaxName = 253;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// IsLabelChar of every byte, looked up once a character (the blocklist's domain lines).
constexpr std::array<bool, 256> kLabelChar = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = IsLabelChar(static_cast<char>(c));
  return table;
}();

// A lower-case domain name: labels of 1–63 letters, digits, '-' or '_', joined by dots.
bool IsDomain(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (kLabelChar[static_cast<unsigned char>(c)]) {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool LooksLikeAddress(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '/';
  });
}

// A line that is a lower-case domain name as written (IsDomain) and not address-like (a letter,
// '-' or '_' in it). The general path reads it as this name (no comment, space, upper case, "*."
// or dot to drop), so it may take it at once.
bool IsPlainDomainLine(std::string_view line) { return IsDomain(line) && !LooksLikeAddress(line); }

size_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

// "2001:db8::1" (/128), "2001:db8::/32": host bits must be zero, as for IPv4 entries.
std::optional<PrefixMap6::Entry> ParsePrefix6(std::string_view text) {
  PrefixMap6::Entry entry;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    entry.length = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      entry.length = entry.length * 10 + (c - '0');
    }
    if (entry.length > 128) return std::nullopt;
    text = text.substr(0, slash);
  }
  if (text.find('[') != std::string_view::npos) return std::nullopt;
  if (!ParseIpv6(text, entry.network)) return std::nullopt;
  if (MaskIpv6(entry.network, entry.length) != entry.network) return std::nullopt;
  return entry;
}

Error LineError(std::string_view file, uint32_t line, std::string_view ja, std::string_view en) {
  const std::string where = Cat(file, ":", std::to_string(line), ": ");
  return Error::Invalid(Cat(where, ja), Cat(where, en));
}

}  // namespace

Result<Blocklist> Blocklist::Load(std::span<const BlocklistFile> files) {
  Blocklist list;
  std::vector<PrefixMap::Entry> prefixes;
  std::vector<PrefixMap6::Entry> prefixes6;
  std::vector<uint32_t> domain_entries;
  std::string lower;
  // Room at once for about as many entries as large lists have lines (12 bytes a line or more):
  // no copying as the lists grow. Reserved pages not used are never touched; at most 256 MiB of
  // text is planned for (larger lists grow as they are read).
  size_t bytes = 0;
  for (const BlocklistFile& file : files) bytes += file.text.size();
  bytes = std::min(bytes, size_t{256} << 20);
  list.arena_.reserve(bytes);
  list.entries_.reserve(bytes / 12);
  prefixes.reserve(bytes / 12);
  for (const BlocklistFile& file : files) {
    if (file.text.size() > kMaxBlocklistBytes) {
      return Error::TooLarge(Cat(file.name, ": 遮断リストが大きすぎます（上限 ",
                                 std::to_string(kMaxBlocklistBytes), " バイト）。"),
                             Cat(file.name, ": blocklist too large (limit ",
                                 std::to_string(kMaxBlocklistBytes), " bytes)."));
    }
    const auto file_index = static_cast<uint32_t>(list.files_.size());
    list.files_.push_back(file.name);
    std::string_view rest = file.text;
    // A line with 16 readable bytes from its start (the string's terminating zero counts) is
    // read 16 bytes at once.
    auto padded = [&file](std::string_view line) {
      return static_cast<size_t>(line.data() - file.text.data()) + 16 <= file.text.size() + 1;
    };
    uint32_t line_number = 0;
    // Whether one more entry of `size` bytes would pass the 32-bit offsets or indices.
    auto full = [&list](size_t size) {
      return list.arena_.size() + size > UINT32_MAX || list.entries_.size() >= UINT32_MAX - 1;
    };
    auto too_many = [] {
      return Error::TooLarge("遮断リストの項目が多すぎます。", "too many blocklist entries.");
    };
    // Appends `text` as the entry of this line; its index.
    auto add = [&](std::string_view text) {
      const auto index = static_cast<uint32_t>(list.entries_.size());
      list.entries_.push_back({static_cast<uint32_t>(list.arena_.size()),
                               static_cast<uint32_t>(text.size()), file_index, line_number});
      list.arena_.append(text);
      return index;
    };
    while (!rest.empty()) {
      ++line_number;
      const size_t end = rest.find('\n');
      std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      // Most lines of a large list are a bare address or network: read at once, as the general
      // path below would (a line with anything else, a comment, a space, takes that path).
      if (!line.empty() && line[0] >= '0' && line[0] <= '9') {
        if (const std::optional<std::pair<uint32_t, int>> bare =
                padded(line) ? ParsePrefixStrictPadded(line) : ParsePrefixStrict(line)) {
          if (full(line.size())) return too_many();
          const uint32_t index = add(line);
          prefixes.push_back({netsep::Prefix{bare->first, bare->second}, index});
          continue;
        }
      }
      if (IsPlainDomainLine(line)) {
        if (full(line.size())) return too_many();
        const uint32_t index = add(line);
        domain_entries.push_back(index);
        continue;
      }
      const size_t hash = line.find('#');
      if (hash != std::string_view::npos) line = line.substr(0, hash);
      line = TrimSpace(line);
      if (line.empty()) continue;
      if (std::any_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        return LineError(file.name, line_number,
                         Cat("1 行に 1 項目だけを書いてください: ", Printable(line)),
                         Cat("one entry per line: ", Printable(line)));
      }
      if (full(line.size())) return too_many();
      if (line.find(':') != std::string_view::npos) {  // IPv6: an address or a network
        const std::optional<PrefixMap6::Entry> entry = ParsePrefix6(line);
        if (!entry) {
          return LineError(
              file.name, line_number,
              Cat("IPv6 アドレスか CIDR（ホスト部は 0、例: 2001:db8::/32）ではありません: ",
                  Printable(line)),
              Cat("not an IPv6 address or CIDR range with zero host bits (e.g. 2001:db8::/32): ",
                  Printable(line)));
        }
        const uint32_t index = add(line);
        prefixes6.push_back({entry->network, entry->length, index});
        continue;
      }
      if (LooksLikeAddress(line)) {
        const std::optional<netsep::Prefix> prefix =
            netsep::ParsePrefix(line, netsep::HostBits::kReject);
        if (!prefix) {
          return LineError(
              file.name, line_number,
              Cat("IPv4 アドレスか CIDR（ホスト部は 0、例: 192.0.2.0/24）ではありません: ",
                  Printable(line)),
              Cat("not an IPv4 address or CIDR range with zero host bits (e.g. 192.0.2.0/24): ",
                  Printable(line)));
        }
        const uint32_t index = add(line);
        prefixes.push_back({*prefix, index});
        continue;
      }
      // Written by position rather than pushed (no capacity check per character).
      lower.resize(line.size());
      for (size_t i = 0; i < line.size(); ++i) lower[i] = Lower(line[i]);
      std::string_view name = lower;
      if (StartsWith(name, "*.")) name.remove_prefix(2);
      if (StartsWith(name, ".")) name.remove_prefix(1);
      if (!name.empty() && name.back() == '.') name.remove_suffix(1);
      if (!IsDomain(name)) {
        return LineError(
            file.name, line_number,
            Cat("IP アドレス・CIDR・ドメイン名のどれでもありません: ", Printable(line)),
            Cat("not an IP address, CIDR range or domain name: ", Printable(line)));
      }
      const uint32_t index = add(name);
      domain_entries.push_back(index);
    }
  }
  list.address_count_ = prefixes.size() + prefixes6.size();
  list.addresses_ = PrefixMap::Build(std::move(prefixes));
  list.addresses6_ = PrefixMap6::Build(prefixes6);
  size_t slots = 16;
  while (slots < domain_entries.size() * 2) slots *= 2;
  list.domains_.assign(slots, 0);
  for (uint32_t index : domain_entries) list.InsertDomain(index);
  return list;
}

void Blocklist::InsertDomain(uint32_t index) {
  const Entry& entry = entries_[index];
  const std::string_view name(arena_.data() + entry.offset, entry.length);
  const size_t mask = domains_.size() - 1;
  for (size_t slot = Hash(name) & mask;; slot = (slot + 1) & mask) {
    const uint32_t held = domains_[slot];
    if (held == 0) {
      domains_[slot] = index + 1;
      ++domain_count_;
      return;
    }
    const Entry& other = entries_[held - 1];
    if (std::string_view(arena_.data() + other.offset, other.length) == name) return;  // first wins
  }
}

std::optional<uint32_t> Blocklist::FindDomain(std::string_view name) const {
  if (domain_count_ == 0) return std::nullopt;
  const size_t mask = domains_.size() - 1;
  for (size_t slot = Hash(name) & mask;; slot = (slot + 1) & mask) {
    const uint32_t held = domains_[slot];
    if (held == 0) return std::nullopt;
    const Entry& entry = entries_[held - 1];
    if (std::string_view(arena_.data() + entry.offset, entry.length) == name) return held - 1;
  }
}

Blocklist::Match Blocklist::MatchOf(const Entry& entry) const {
  return {std::string_view(arena_.data() + entry.offset, entry.length), files_[entry.file],
          entry.line};
}

std::optional<Blocklist::Match> Blocklist::MatchAddress(uint32_t address) const {
  if (address_count_ == 0) return std::nullopt;
  const std::optional<uint32_t> index = addresses_.Find(address);
  if (!index) return std::nullopt;
  return MatchOf(entries_[*index]);
}

std::optional<Blocklist::Match> Blocklist::MatchAddress6(const PrefixMap6::Address& address) const {
  const std::optional<uint32_t> index = addresses6_.Find(address);
  if (!index) return std::nullopt;
  return MatchOf(entries_[*index]);
}

std::optional<Blocklist::Match> Blocklist::MatchAddress(const Address& address) const {
  if (address.is_v4) return MatchAddress(address.v4);
  if (addresses6_.empty() || address.text.find(':') == std::string_view::npos) return std::nullopt;
  PrefixMap6::Address bytes;
  if (!ParseIpv6(address.text, bytes)) return std::nullopt;
  return MatchAddress6(bytes);
}

std::optional<Blocklist::Match> Blocklist::MatchAddress(const Address& address,
                                                        PrefixMapMemo& memo) const {
  if (!address.is_v4) return MatchAddress(address);
  if (address_count_ == 0) return std::nullopt;
  const std::optional<uint32_t> index = memo.Find(addresses_, address.v4);
  if (!index) return std::nullopt;
  return MatchOf(entries_[*index]);
}

std::optional<Blocklist::Match> Blocklist::MatchDomain(std::string_view name) const {
  if (domain_count_ == 0) return std::nullopt;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName) return std::nullopt;
  char buffer[kMaxName];
  for (size_t i = 0; i < name.size(); ++i) buffer[i] = Lower(name[i]);
  std::string_view lower(buffer, name.size());
  while (true) {
    if (const std::optional<uint32_t> index = FindDomain(lower)) return MatchOf(entries_[*index]);
    const size_t dot = lower.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    lower.remove_prefix(dot + 1);
  }
}

namespace {

class BlocklistDetector final : public Detector {
 public:
  explicit BlocklistDetector(const Blocklist& blocklist) : blocklist_(blocklist) {}

  bool Prefetches() const override { return true; }
  void Prefetch(const Event& e) override {
    blocklist_.Prefetch(e.dst, memo_);
    blocklist_.Prefetch(e.src, memo_);
  }

  void OnEvent(const Event& e, AlertSink& sink) override {
    if (blocklist_.empty()) return;
    std::optional<Blocklist::Match> match;
    std::string_view what;
    // Lists first: the match (a second, remembered lookup) is made only for a hit.
    if (blocklist_.Lists(e.dst, memo_) && (match = blocklist_.MatchAddress(e.dst, memo_))) {
      what = "宛先";
    } else if (!e.dns_query.empty() && (match = blocklist_.MatchDomain(e.dns_query))) {
      what = "DNS 問い合わせ";
    } else if (!e.http_host.empty() && (match = blocklist_.MatchDomain(e.http_host))) {
      what = "HTTP ホスト";
    } else if (!e.tls_sni.empty() && (match = blocklist_.MatchDomain(e.tls_sni))) {
      what = "TLS SNI";
    } else if (blocklist_.Lists(e.src, memo_) && (match = blocklist_.MatchAddress(e.src, memo_))) {
      what = "送信元";
    } else {
      return;
    }
    indicator_ = Cat("「", match->entry, "」（", what, "、", match->file, ":",
                     std::to_string(match->line), "）");
    Finding f;
    f.kind = AlertKind::kBlocklist;
    f.severity = Severity::kHigh;
    f.ts_us = e.ts_us;
    f.src = e.src.text;
    f.dst = e.dst.text;
    f.proto = e.proto;
    if (e.has_ports && (e.proto == Proto::kTcp || e.proto == Proto::kUdp)) f.dport = e.dport;
    f.indicator = indicator_;
    f.file = e.file;
    f.line = e.line;
    f.uid = e.uid;
    sink.Report(f);
  }

 private:
  const Blocklist& blocklist_;
  PrefixMapMemo memo_;     // IPv4 lookups
  std::string indicator_;  // scratch
};

}  // namespace

std::unique_ptr<Detector> MakeBlocklistDetector(const Blocklist& blocklist) {
  return std::make_unique<BlocklistDetector>(blocklist);
}

}  // namespace mamori::monitor
