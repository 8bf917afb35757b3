// libFuzzer harness for tabular::ReadXlsx (untrusted ZIP + XML).
//
// An input that starts with "PK" is read as an .xlsx file as is. Any other input is split at
// NUL bytes into the parts sheet1.xml, sharedStrings.xml, styles.xml, workbook.xml and
// workbook.xml.rels, which are packed into a valid ZIP first: mutations of raw archives mostly
// break CRCs, so this is what lets the fuzzer reach the XML readers.
#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "registers/tabular.h"

namespace {

std::string PackParts(std::string_view input) {
  static const char* const kNames[] = {
      "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml",       "xl/styles.xml",
      "xl/workbook.xml",          "xl/_rels/workbook.xml.rels",
  };
  std::vector<std::string_view> parts;
  while (parts.size() < std::size(kNames)) {
    const size_t nul = input.find('\0');
    parts.push_back(input.substr(0, nul));
    if (nul == std::string_view::npos) break;
    input.remove_prefix(nul + 1);
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  std::string out;
  if (buffer == nullptr) return out;
  zip_source_keep(buffer);
  if (zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error)) {
    for (size_t k = 0; k < parts.size(); ++k) {
      zip_source_t* source = zip_source_buffer(zip, parts[k].data(), parts[k].size(), 0);
      const zip_int64_t index = zip_file_add(zip, kNames[k], source, 0);
      if (index < 0) {
        zip_source_free(source);
        continue;
      }
      zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    }
    if (zip_close(zip) != 0) zip_discard(zip);
  }
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_source_stat(buffer, &stat) == 0 && zip_source_open(buffer) == 0) {
    out.resize(stat.size);
    const zip_int64_t n = zip_source_read(buffer, out.data(), out.size());
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    zip_source_close(buffer);
  }
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mamori::tabular::Limits limits;
  limits.max_bytes = 1 << 18;  // also each unpacked part
  limits.max_rows = 1000;
  limits.max_columns = 64;
  limits.max_cell_bytes = 4096;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string packed = input.starts_with("PK") ? std::string() : PackParts(input);
  const std::string_view bytes = input.starts_with("PK") ? input : std::string_view(packed);
  const auto sheet = mamori::tabular::ReadXlsx(bytes, limits);
  if (sheet.ok()) {
    if (sheet->source_rows.size() != sheet->rows.size()) __builtin_trap();
    for (const auto& row : sheet->rows) {
      if (row.size() != sheet->rows.front().size()) __builtin_trap();
      for (const auto& cell : row) {
        if (!mamori::IsValidUtf8(cell) || cell.size() > limits.max_cell_bytes) __builtin_trap();
      }
    }
  }
  return 0;
}
