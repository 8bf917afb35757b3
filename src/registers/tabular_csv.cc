// CSV reading and writing (RFC 4180 with the habits of Japanese Excel). See tabular.h.
#include <string>
#include <string_view>
#include <utility>

#include "registers/tabular.h"

namespace mamori::tabular {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool IsFormulaStart(char c) { return c == '=' || c == '+' || c == '-' || c == '@'; }

// True when `cell`, after any leading apostrophes, starts with = + - @. The writer adds one
// apostrophe to such cells and the reader removes one, so every text survives a round trip
// (a cell that really starts with "'=" is written as "''=").
bool NeedsFormulaGuard(std::string_view cell) {
  const size_t first = cell.find_first_not_of('\'');
  return first != std::string_view::npos && IsFormulaStart(cell[first]);
}

std::string Line(size_t line) { return std::to_string(line); }

Error FileTooLarge(size_t max_bytes) {
  return Error::TooLarge(
      "ファイルが大きすぎます (上限 " + std::to_string(max_bytes) + " バイト)。",
      "the file is larger than the limit of " + std::to_string(max_bytes) + " bytes");
}

Error UnterminatedQuote(size_t line) {
  return Error::Invalid(Line(line) + " 行目: 引用符が閉じられていません。",
                        "line " + Line(line) + ": unterminated quoted field");
}

Error QuoteInUnquotedField(size_t line) {
  return Error::Invalid(
      Line(line) + " 行目: 引用符 (\") で囲まれていない値の中に引用符があります。",
      "line " + Line(line) + ": a double quote inside an unquoted field");
}

Error TextAfterClosingQuote(size_t line) {
  return Error::Invalid(Line(line) + " 行目: 閉じ引用符の後に余分な文字があります。",
                        "line " + Line(line) + ": unexpected text after a closing quote");
}

Error TooManyCells(size_t line, size_t header_cells, size_t cells) {
  return Error::Invalid(Line(line) + " 行目: 列の数が見出し行より多くなっています (見出し " +
                            std::to_string(header_cells) + " 列、この行 " + std::to_string(cells) +
                            " 列)。",
                        "line " + Line(line) + ": " + std::to_string(cells) +
                            " cells but the header has " + std::to_string(header_cells));
}

Error TooManyColumns(size_t line, size_t max_columns) {
  return Error::TooLarge(
      Line(line) + " 行目: 列数が上限 (" + std::to_string(max_columns) + " 列) を超えています。",
      "line " + Line(line) + ": more than " + std::to_string(max_columns) + " columns");
}

Error TooManyRows(size_t max_rows) {
  return Error::TooLarge("行数が上限 (" + std::to_string(max_rows) + " 行) を超えています。",
                         "more than " + std::to_string(max_rows) + " rows");
}

Error CellTooLarge(size_t line, size_t column, size_t max_cell_bytes) {
  return Error::TooLarge(
      Line(line) + " 行目 " + std::to_string(column) + " 列目: 値が長すぎます (上限 " +
          std::to_string(max_cell_bytes) + " バイト)。",
      "line " + Line(line) + ", column " + std::to_string(column) + ": a cell is longer than " +
          std::to_string(max_cell_bytes) + " bytes");
}

Error DataTooLarge(size_t max_bytes) {
  return Error::TooLarge(
      "表のデータ量が上限 (" + std::to_string(max_bytes) + " バイト) を超えています。",
      "the table holds more than " + std::to_string(max_bytes) + " bytes of cells");
}

// Parses decoded UTF-8 text. Lines end with CRLF, LF or a lone CR (old Mac Excel).
class CsvParser {
 public:
  CsvParser(std::string_view text, const Limits& limits) : s_(text), limits_(limits) {}

  Result<std::vector<Row>> Parse(std::vector<size_t>& source_rows) {
    std::vector<Row> rows;
    // Cells as a CSV would hold them, padding included (bytes + one separator each): bounds
    // memory when a wide header meets many short rows.
    size_t table_bytes = 0;
    while (pos_ < s_.size()) {
      if (AtLineEnd()) {  // a blank line
        ConsumeLineEnd();
        continue;
      }
      const size_t record_line = line_;
      MAMORI_ASSIGN_OR_RETURN(Row row, ParseRecord(record_line));
      if (!rows.empty()) {  // the header fixes the width
        const size_t width = rows.front().size();
        if (row.size() > width) return TooManyCells(record_line, width, row.size());
        row.resize(width);
      }
      if (rows.size() >= limits_.max_rows) return TooManyRows(limits_.max_rows);
      for (const std::string& cell : row) table_bytes += cell.size() + 1;
      if (table_bytes > limits_.max_bytes) return DataTooLarge(limits_.max_bytes);
      rows.push_back(std::move(row));
      source_rows.push_back(record_line);
    }
    return rows;
  }

 private:
  bool AtLineEnd() const { return s_[pos_] == '\r' || s_[pos_] == '\n'; }

  // Precondition: AtLineEnd().
  void ConsumeLineEnd() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  // One record starting at pos_ (not at a line end); consumes its line end.
  Result<Row> ParseRecord(size_t record_line) {
    Row row;
    while (true) {
      std::string cell;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        MAMORI_TRY(ParseQuoted(cell));
      } else {
        const size_t end = s_.find_first_of(",\r\n\"", pos_);
        if (end != std::string_view::npos && s_[end] == '"') return QuoteInUnquotedField(line_);
        const size_t stop = end == std::string_view::npos ? s_.size() : end;
        cell.assign(s_.substr(pos_, stop - pos_));
        pos_ = stop;
      }
      if (cell.size() > limits_.max_cell_bytes) {
        return CellTooLarge(record_line, row.size() + 1, limits_.max_cell_bytes);
      }
      if (cell.size() >= 2 && cell.front() == '\'' && NeedsFormulaGuard(cell)) cell.erase(0, 1);
      if (row.size() >= limits_.max_columns) {
        return TooManyColumns(record_line, limits_.max_columns);
      }
      row.push_back(std::move(cell));
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size()) ConsumeLineEnd();
      return row;
    }
  }

  // A quoted field at pos_ (the opening quote). Leaves pos_ after the closing quote.
  Status ParseQuoted(std::string& cell) {
    const size_t open_line = line_;
    ++pos_;
    while (true) {
      const size_t quote = s_.find('"', pos_);
      if (quote == std::string_view::npos) return UnterminatedQuote(open_line);
      CountLines(s_.substr(pos_, quote - pos_));
      cell.append(s_.substr(pos_, quote - pos_));
      pos_ = quote + 1;
      if (pos_ < s_.size() && s_[pos_] == '"') {  // "" is one quote
        cell += '"';
        ++pos_;
        continue;
      }
      break;
    }
    if (pos_ < s_.size() && s_[pos_] != ',' && !AtLineEnd()) return TextAfterClosingQuote(line_);
    return {};
  }

  // Counts the line ends inside a quoted field (CRLF once, lone CR once, LF once). `chunk`
  // ends just before a quote, so a CR at its end is a lone CR.
  void CountLines(std::string_view chunk) {
    for (size_t k = 0; k < chunk.size(); ++k) {
      if (chunk[k] == '\n' ||
          (chunk[k] == '\r' && (k + 1 == chunk.size() || chunk[k + 1] != '\n'))) {
        ++line_;
      }
    }
  }

  std::string_view s_;
  const Limits& limits_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

void AppendCsvCell(std::string& out, std::string_view cell) {
  std::string guarded;
  if (NeedsFormulaGuard(cell)) {
    guarded.reserve(cell.size() + 1);
    guarded += '\'';
    guarded += cell;
    cell = guarded;
  }
  if (cell.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += cell;
    return;
  }
  out += '"';
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

Result<Sheet> ReadCsv(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_bytes) return FileTooLarge(limits.max_bytes);
  MAMORI_ASSIGN_OR_RETURN(DecodedText decoded, DecodeJapaneseText(bytes));
  Sheet sheet;
  sheet.encoding = decoded.encoding;
  CsvParser parser(decoded.text, limits);
  MAMORI_ASSIGN_OR_RETURN(sheet.rows, parser.Parse(sheet.source_rows));
  return sheet;
}

std::string WriteCsv(const std::vector<Row>& rows) {
  std::string out(kUtf8Bom);
  for (const Row& row : rows) {
    if (row.size() == 1 && row.front().empty()) {
      out += "\"\"";  // an empty line would be read back as a blank line and skipped
    } else {
      for (size_t k = 0; k < row.size(); ++k) {
        if (k > 0) out += ',';
        AppendCsvCell(out, row[k]);
      }
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace mamori::tabular
