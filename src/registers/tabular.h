// Spreadsheet files as staff exchange them: CSV (UTF-8 with or without BOM, or Shift_JIS/CP932
// as Japanese Excel writes it) and XLSX. Readers take untrusted bytes and enforce the limits
// below; writers produce files that Japanese Excel opens without garbling.
//
// All functions are pure and thread-safe. Errors are kInvalidInput (malformed file; the
// message names the line or cell) or kTooLarge (a limit was exceeded).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/text.h"

namespace mamori::tabular {

struct Limits {
  size_t max_bytes = 64u << 20;  // input file size, and the cells' text together
  // XLSX: all unpacked parts together (a 100,000-row register unpacks to some 80 MiB of XML).
  size_t max_unpacked_bytes = 256u << 20;
  size_t max_rows = 200'000;  // including the header row
  size_t max_columns = 256;
  size_t max_cell_bytes = 32u << 10;  // one cell's text, in UTF-8 bytes
};

using Row = std::vector<std::string>;

struct Sheet {
  std::vector<Row> rows;  // rows[0] is the header row; every cell is UTF-8, not trimmed
  // rows[i] came from this 1-based line (CSV: the line where the record starts) or row number
  // (XLSX), so errors can name what staff see in their editor.
  std::vector<size_t> source_rows;
  TextEncoding encoding = TextEncoding::kUtf8;  // for CSV; kUtf8 for XLSX
};

// RFC 4180 CSV: comma separated, double-quote quoting with "" escapes, CRLF or LF line ends,
// quoted fields may span lines. Blank lines are skipped. A leading apostrophe that the
// writer added before = + - @ is removed. Rows shorter than the header are padded with "".
Result<Sheet> ReadCsv(std::string_view bytes, const Limits& limits = {});

// UTF-8 with BOM, CRLF line ends, fields quoted when they hold , " CR or LF. Cells that
// start with = + - @ (which spreadsheet programs would run as formulas) get a leading
// apostrophe, removed again by ReadCsv.
std::string WriteCsv(const std::vector<Row>& rows);

// The first worksheet of an .xlsx (Office Open XML) workbook. Shared and inline strings,
// numbers (integers without ".0"), booleans ("TRUE"/"FALSE"), and dates (cells whose number
// format is a date format) as "YYYY-MM-DD". Empty cells are "". Merged cells are not spread.
// Beyond `limits`, kTooLarge for: more than 10,000 archive entries; a part that inflates more
// than 100 times its compressed size (past its first MiB); more shared strings than
// max_rows x max_columns or 2,000,000; more cells (empty styled ones included) than
// max_rows x max_columns or 4,000,000.
Result<Sheet> ReadXlsx(std::string_view bytes, const Limits& limits = {});

// One worksheet named `sheet_name`; rows[0] is written bold as a header, frozen, with an
// autofilter; every cell is written as a string (never a formula).
Result<std::string> WriteXlsx(const std::vector<Row>& rows, std::string_view sheet_name);

}  // namespace mamori::tabular
