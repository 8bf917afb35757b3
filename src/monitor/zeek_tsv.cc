// Zeek's ASCII (TSV) logs: conn.log, dns.log, http.log, ssl.log. The header says everything:
// "#separator \x09" (the only line whose value follows a space), then, separated by the
// separator, #set_separator, #empty_field, #unset_field, #path, #open, #fields, #types and, at
// the end, #close. Field order is whatever #fields says; a new header block (rotated logs
// concatenated) replaces the previous one. Values escape the separator and non-printable bytes
// as \xHH.
#include <cstring>
#include <string>
#include <vector>

#include "common/text.h"
#include "monitor/parser.h"
#include "monitor/text_util.h"
#include "monitor/zeek_fields.h"

namespace mamori::monitor {
namespace {

constexpr Reason kHeader{"Zeek のヘッダー行", "Zeek header line"};
constexpr Reason kNoFields{"#fields ヘッダーより前のデータ行です",
                           "data line before a #fields header"};
constexpr Reason kFieldCount{"列の数が #fields と合いません",
                             "number of fields differs from #fields"};
constexpr Reason kBadHeader{"Zeek のヘッダーが不正です", "malformed Zeek header"};
constexpr size_t kMaxColumns = 512;

// Appends `value` to `out` with every \xHH replaced by its byte.
void Unescape(std::string_view value, std::string& out) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 3 < value.size() && value[i + 1] == 'x') {
      const int hi = HexDigitValue(value[i + 2]);
      const int lo = HexDigitValue(value[i + 3]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
    }
    out.push_back(value[i]);
  }
}

class ZeekTsvParser final : public Parser {
 public:
  ParseResult Parse(const Line& line, Event& event) override {
    const std::string_view text = line.text;
    if (!text.empty() && text.front() == '#') return Header(text);
    if (!have_fields_) return ParseResult::Malformed(kNoFields);
    if (!type_) return ParseResult::Ignored(zeek::kOtherLog);
    event = Event{};
    event.format = InputFormat::kZeek;
    event.type = *type_;
    event.file = line.file;
    event.line = line.number;
    if (scratch_.capacity() < text.size()) scratch_.reserve(text.size());
    scratch_.clear();  // holds unescaped values; never reallocates within a line
    bool has_ts = false;
    size_t column = 0;
    size_t pos = 0;
    while (true) {
      size_t end = separator_.size() == 1 ? Find1(text, pos) : text.find(separator_, pos);
      if (end == std::string_view::npos) end = text.size();
      if (column >= columns_.size()) return ParseResult::Malformed(kFieldCount);
      std::string_view value = text.substr(pos, end - pos);
      const zeek::Field field = columns_[column];
      if (field != zeek::Field::kOther && value != unset_field_ && value != empty_field_) {
        if (value.find('\\') != std::string_view::npos) {
          const size_t start = scratch_.size();
          Unescape(value, scratch_);
          value = std::string_view(scratch_).substr(start);
        }
        Reason reason;
        if (!zeek::Assign(field, value, event, reason)) return ParseResult::Malformed(reason);
        if (field == zeek::Field::kTs) has_ts = true;
      }
      ++column;
      if (end == text.size()) break;
      pos = end + separator_.size();
    }
    if (column != columns_.size()) return ParseResult::Malformed(kFieldCount);
    return zeek::Complete(event, has_ts);
  }

 private:
  size_t Find1(std::string_view text, size_t pos) const {
    if (pos >= text.size()) return std::string_view::npos;
    const void* hit = std::memchr(text.data() + pos, separator_[0], text.size() - pos);
    return hit == nullptr ? std::string_view::npos
                          : static_cast<size_t>(static_cast<const char*>(hit) - text.data());
  }

  ParseResult Header(std::string_view text) {
    if (StartsWith(text, "#separator ")) {
      std::string separator;
      Unescape(text.substr(11), separator);
      if (separator.empty()) return ParseResult::Malformed(kBadHeader);
      *this = ZeekTsvParser();  // a new header block
      separator_ = separator;
      return ParseResult::Ignored(kHeader);
    }
    const size_t end = text.find(separator_);
    const std::string_view key = text.substr(0, end);
    const std::string_view rest =
        end == std::string_view::npos ? std::string_view() : text.substr(end + separator_.size());
    std::string value;
    Unescape(rest, value);
    if (key == "#set_separator") {
      set_separator_ = value;
    } else if (key == "#empty_field") {
      empty_field_ = value;
    } else if (key == "#unset_field") {
      unset_field_ = value;
    } else if (key == "#path") {
      path_seen_ = true;
      type_ = zeek::LogTypeOfPath(value);
    } else if (key == "#fields") {
      columns_.clear();
      zeek::Seen seen;
      size_t pos = 0;
      while (pos <= rest.size()) {
        size_t next = rest.find(separator_, pos);
        if (next == std::string_view::npos) next = rest.size();
        if (columns_.size() >= kMaxColumns) return ParseResult::Malformed(kBadHeader);
        columns_.push_back(zeek::FieldOf(rest.substr(pos, next - pos)));
        seen.Note(columns_.back());
        pos = next + separator_.size();
      }
      have_fields_ = true;
      if (!path_seen_) type_ = seen.Type();
    }
    return ParseResult::Ignored(kHeader);
  }

  std::string separator_ = "\t";
  std::string set_separator_ = ",";
  std::string empty_field_ = "(empty)";
  std::string unset_field_ = "-";
  std::vector<zeek::Field> columns_;
  bool have_fields_ = false;
  bool path_seen_ = false;
  std::optional<LogType> type_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Parser> MakeZeekTsvParser() { return std::make_unique<ZeekTsvParser>(); }

}  // namespace mamori::monitor
