// libFuzzer harness for tabular::ReadCsv (CSV from staff: UTF-8, BOM or CP932).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registers/tabular.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mamori::tabular::Limits limits;
  limits.max_bytes = 1 << 16;
  limits.max_rows = 1000;
  limits.max_columns = 64;
  limits.max_cell_bytes = 4096;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto sheet = mamori::tabular::ReadCsv(bytes, limits);
  if (sheet.ok()) {
    // Invariants: one source line per row, rectangular rows, and a lossless round trip.
    if (sheet->source_rows.size() != sheet->rows.size()) __builtin_trap();
    for (const auto& row : sheet->rows) {
      if (row.size() != sheet->rows.front().size()) __builtin_trap();
    }
    mamori::tabular::Limits roomy;
    const auto again = mamori::tabular::ReadCsv(mamori::tabular::WriteCsv(sheet->rows), roomy);
    if (!again.ok() || again->rows != sheet->rows) __builtin_trap();
  }
  return 0;
}
