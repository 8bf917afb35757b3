// XLSX reading (libzip + pugixml) and writing (libxlsxwriter). See tabular.h.
//
// Reading treats the file as hostile: the archive may claim any sizes, hold thousands of
// entries, or decompress to gigabytes, and a small part may hold millions of tiny elements
// (the XML tree costs some 64 bytes per element, so 60 MiB of "<si/>" would need gigabytes).
// So: the number of entries is capped; all parts together unpack to at most
// limits.max_unpacked_bytes
// (one budget, read through a cap whatever sizes the archive states); a part that inflates
// more than kMaxInflateRatio times its compressed size is refused as a ZIP bomb; shared
// strings, rows and cells are counted in the raw XML before any tree is built; and the
// decoded table is held to the same limits as CSV.
#include <fcntl.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zip.h>
#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "registers/tabular.h"

namespace mamori::tabular {
namespace {

constexpr int64_t kMaxZipEntries = 10'000;
// Workbooks that Excel and libxlsxwriter write deflate about 10-20 to 1; Apache POI refuses
// parts beyond 100 to 1 by default. Parts smaller than the grace size are not checked.
constexpr uint64_t kMaxInflateRatio = 100;
constexpr size_t kInflateRatioGrace = 1u << 20;
// Absolute caps on top of limits.max_rows x limits.max_columns, which for the default
// limits (51 million) would not bound memory: 2 million shared strings, 4 million cells
// (200,000 rows of 20 columns).
constexpr size_t kMaxSharedStrings = 2'000'000;
constexpr size_t kMaxCells = 4'000'000;
constexpr size_t kExcelMaxRows = 1'048'576;
constexpr size_t kExcelMaxColumns = 16'384;
constexpr size_t kExcelMaxCellChars = 32'767;
constexpr size_t kExcelMaxSheetNameUnits = 31;  // UTF-16 code units

// ---------------------------------------------------------------------------------------------
// Small text helpers

// Decodes one code point of valid UTF-8 at s[i] and advances i. Precondition: IsValidUtf8(s).
char32_t NextCodePoint(std::string_view s, size_t& i) {
  char32_t cp = 0;
  if (!DecodeUtf8(s, i, cp)) {
    ++i;  // cannot happen for valid input; skip the byte rather than loop
    return 0xFFFD;
  }
  return cp;
}

// The "_xHHHH_" escape of OOXML strings (ST_Xstring) at s[i]; returns the UTF-16 unit or -1.
int EscapedUnitAt(std::string_view s, size_t i) {
  if (i + 7 > s.size() || s[i] != '_' || s[i + 1] != 'x' || s[i + 6] != '_') return -1;
  int unit = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const int h = HexDigitValue(s[k]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

// Excel writes characters XML cannot carry (control characters, CR) as _xHHHH_, and a literal
// "_xHHHH_" text as "_x005F_xHHHH_".
std::string DecodeOoxmlEscapes(std::string_view s) {
  if (s.find("_x") == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const int unit = EscapedUnitAt(s, i);
    if (unit < 0) {
      out += s[i++];
      continue;
    }
    i += 7;
    char32_t cp = static_cast<char32_t>(unit);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const int low = EscapedUnitAt(s, i);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<char32_t>(low) - 0xDC00);
        i += 7;
      } else {
        cp = 0xFFFD;
      }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    AppendUtf8(out, cp);
  }
  return out;
}

// The writer-side counterpart for what libxlsxwriter leaves alone: a literal "_xHHHH_" gets its
// underscore escaped, and U+FFFE/U+FFFF (not allowed in XML) are escaped. libxlsxwriter itself
// escapes control characters and CR. Precondition: IsValidUtf8(s).
std::string EncodeOoxmlEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (EscapedUnitAt(s, i) >= 0) {
      out += "_x005F_";
      ++i;
      continue;
    }
    const size_t start = i;
    const char32_t cp = NextCodePoint(s, i);
    if (cp == 0xFFFE || cp == 0xFFFF) {
      out += cp == 0xFFFE ? "_xFFFE_" : "_xFFFF_";
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  return out;
}

// Columns as Excel names them: 1 -> "A", 27 -> "AA".
std::string ColumnName(size_t column) {
  std::string name;
  while (column > 0) {
    --column;
    name.insert(name.begin(), static_cast<char>('A' + column % 26));
    column /= 26;
  }
  return name;
}

std::string CellName(size_t column, size_t row) { return ColumnName(column) + std::to_string(row); }

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<size_t> ParseIndex(std::string_view s) {
  s = TrimAscii(s);
  size_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Errors

Error NotXlsx() {
  return Error::Invalid("XLSX ファイルとして開けません (ZIP 形式でないか、壊れています)。",
                        "the file is not a readable XLSX (ZIP) archive");
}

Error DamagedPart(std::string_view part) {
  return Error::Invalid("XLSX ファイルの " + std::string(part) + " が壊れているか、読めません。",
                        "the XLSX part " + std::string(part) + " is damaged or unreadable");
}

Error BadXml(std::string_view part) {
  return Error::Invalid("XLSX ファイルの " + std::string(part) + " が正しい XML ではありません。",
                        "the XLSX part " + std::string(part) + " is not well-formed XML");
}

Error UnpackedTooLarge(std::string_view part, size_t max_bytes) {
  return Error::TooLarge("XLSX ファイルを展開したデータ量が上限 (" + std::to_string(max_bytes) +
                             " バイト) を超えています (" + std::string(part) + ")。",
                         "the XLSX parts unpack to more than " + std::to_string(max_bytes) +
                             " bytes in all (at " + std::string(part) + ")");
}

Error InflatesTooMuch(std::string_view part) {
  return Error::TooLarge("XLSX ファイルの " + std::string(part) + " の圧縮率が異常に高いため" +
                             "読み込めません (展開後が圧縮時の " +
                             std::to_string(kMaxInflateRatio) + " 倍を超えています)。",
                         "the XLSX part " + std::string(part) + " inflates more than " +
                             std::to_string(kMaxInflateRatio) +
                             " times its compressed size (a ZIP bomb?)");
}

Error BadCell(std::string_view cell, std::string_view ja, std::string_view en) {
  return Error::Invalid(std::string(cell) + " セル: " + std::string(ja),
                        "cell " + std::string(cell) + ": " + std::string(en));
}

// ---------------------------------------------------------------------------------------------
// The ZIP package

struct ZipDiscard {
  void operator()(zip_t* zip) const { zip_discard(zip); }
};
struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

// A read-only view of the archive in `bytes`, which must outlive it. All parts read through
// one Package share one budget of unpacked bytes.
class Package {
 public:
  static Result<Package> Open(std::string_view bytes, size_t max_unpacked_bytes) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (source == nullptr) {
      zip_error_fini(&error);
      return Error::Internal("zip_source_buffer_create failed");
    }
    zip_t* zip = zip_open_from_source(source, ZIP_RDONLY, &error);
    zip_error_fini(&error);
    if (zip == nullptr) {
      zip_source_free(source);  // not taken over on failure
      return NotXlsx();
    }
    ZipPtr owned(zip);
    if (zip_get_num_entries(zip, 0) > kMaxZipEntries) {
      return Error::TooLarge(
          "XLSX ファイルの中のファイル数が多すぎます (上限 " + std::to_string(kMaxZipEntries) +
              ")。",
          "the XLSX archive holds more than " + std::to_string(kMaxZipEntries) + " entries");
    }
    return Package(std::move(owned), bytes.size(), max_unpacked_bytes);
  }

  // The unpacked part, or nullopt when the archive has no such part (names compare
  // case-insensitively, as OPC part names do). Its size counts against the budget whether or
  // not the caller keeps it; kTooLarge when the budget runs out or the part inflates too much.
  Result<std::optional<std::string>> Read(const std::string& name) {
    const zip_int64_t index = zip_name_locate(zip_.get(), name.c_str(), ZIP_FL_NOCASE);
    if (index < 0) return std::optional<std::string>();
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(zip_.get(), static_cast<zip_uint64_t>(index), 0, &stat) != 0) {
      return DamagedPart(name);
    }
    const size_t budget = max_unpacked_bytes_ - unpacked_bytes_;
    if ((stat.valid & ZIP_STAT_SIZE) != 0 && stat.size > budget) {
      return UnpackedTooLarge(name, max_unpacked_bytes_);
    }
    // The stated compressed size may lie too, but cannot exceed the archive.
    const bool check_ratio = (stat.valid & ZIP_STAT_COMP_SIZE) != 0;
    const uint64_t compressed =
        std::max<uint64_t>(1, std::min<uint64_t>(stat.comp_size, archive_bytes_));
    ZipFilePtr file(zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0));
    if (file == nullptr) return DamagedPart(name);
    // The stated size may lie: read at most one byte beyond the budget.
    const size_t cap = budget + 1;
    std::string data;
    if ((stat.valid & ZIP_STAT_SIZE) != 0) data.reserve(stat.size);
    char buffer[1 << 16];
    while (data.size() < cap) {
      const zip_int64_t n =
          zip_fread(file.get(), buffer, std::min<zip_uint64_t>(sizeof buffer, cap - data.size()));
      if (n < 0) return DamagedPart(name);
      if (n == 0) break;
      data.append(buffer, static_cast<size_t>(n));
      if (check_ratio && data.size() > kInflateRatioGrace &&
          data.size() / compressed > kMaxInflateRatio) {
        return InflatesTooMuch(name);
      }
    }
    if (data.size() > budget) return UnpackedTooLarge(name, max_unpacked_bytes_);
    unpacked_bytes_ += data.size();
    return std::optional<std::string>(std::move(data));
  }

 private:
  Package(ZipPtr zip, size_t archive_bytes, size_t max_unpacked_bytes)
      : zip_(std::move(zip)),
        archive_bytes_(archive_bytes),
        max_unpacked_bytes_(max_unpacked_bytes) {}

  ZipPtr zip_;
  size_t archive_bytes_;
  size_t max_unpacked_bytes_;
  size_t unpacked_bytes_ = 0;  // by the parts read so far; never above max_unpacked_bytes_
};

// ---------------------------------------------------------------------------------------------
// XML helpers. Element and attribute names are compared by local name, so that documents
// written with a namespace prefix ("x:row") read the same as Excel's.

std::string_view LocalName(const char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node Child(pugi::xml_node parent, std::string_view local) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) return c;
  }
  return {};
}

// Calls f(child) for each element child of `parent` named `local`.
template <class F>
void ForEachChild(pugi::xml_node parent, std::string_view local, F&& f) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c.name()) == local) f(c);
  }
}

pugi::xml_attribute Attr(pugi::xml_node node, std::string_view local) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    if (LocalName(a.name()) == local) return a;
  }
  return {};
}

std::string_view AttrValue(pugi::xml_node node, std::string_view local) {
  const pugi::xml_attribute a = Attr(node, local);
  return a ? std::string_view(a.value()) : std::string_view();
}

// At most `max` elements named `local` may appear in a part; `what_ja`/`what_en` name them
// for staff ("共有文字列", "shared strings").
struct ElementCap {
  std::string_view local;
  size_t max;
  std::string_view what_ja;
  std::string_view what_en;
};

// Counts the start tags in raw XML whose local name has a cap, without building a tree, and
// fails as soon as one count goes beyond its cap. Text cannot hold a raw '<', so only
// comments, CDATA and processing instructions could be miscounted, and they only add to the
// counts.
Status CheckElementCaps(std::string_view xml, std::span<const ElementCap> caps) {
  std::vector<size_t> counts(caps.size(), 0);
  for (size_t at = xml.find('<'); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    size_t end = at + 1;
    while (end < xml.size() && xml[end] != '>' && xml[end] != '/' && xml[end] != ' ' &&
           xml[end] != '\t' && xml[end] != '\r' && xml[end] != '\n') {
      ++end;
    }
    std::string_view name = xml.substr(at + 1, end - at - 1);
    if (const size_t colon = name.rfind(':'); colon != std::string_view::npos) {
      name.remove_prefix(colon + 1);
    }
    for (size_t k = 0; k < caps.size(); ++k) {
      if (name != caps[k].local || ++counts[k] <= caps[k].max) continue;
      return Error::TooLarge("XLSX ファイルの" + std::string(caps[k].what_ja) +
                                 "が多すぎます (上限 " + std::to_string(caps[k].max) + ")。",
                             "the XLSX file holds more than " + std::to_string(caps[k].max) + " " +
                                 std::string(caps[k].what_en));
    }
  }
  return {};
}

// Parses a part; nullptr (no error) when the part is absent. `caps` are checked on the raw
// text first, so that a part of millions of tiny elements fails before its tree is built.
// The XML parser does not expand DTD entities, so entity bombs are inert.
Result<std::unique_ptr<pugi::xml_document>> LoadXml(Package& package, const std::string& name,
                                                    std::span<const ElementCap> caps = {}) {
  MAMORI_ASSIGN_OR_RETURN(std::optional<std::string> data, package.Read(name));
  if (!data) return std::unique_ptr<pugi::xml_document>();
  MAMORI_TRY(CheckElementCaps(*data, caps));
  auto doc = std::make_unique<pugi::xml_document>();
  // parse_ws_pcdata_single keeps <t xml:space="preserve"> </t> (a single space).
  const pugi::xml_parse_result parsed = doc->load_buffer(
      data->data(), data->size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!parsed) return BadXml(name);
  return doc;
}

// Text of a string item (<si> or <is>): its <t>, or the <t> of each rich-text run <r>.
// Phonetic guides (<rPh>, furigana) are not part of the value.
std::string StringItemText(pugi::xml_node item) {
  std::string text;
  for (pugi::xml_node c = item.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view name = LocalName(c.name());
    if (name == "t") {
      text += c.text().get();
    } else if (name == "r") {
      ForEachChild(c, "t", [&](pugi::xml_node t) { text += t.text().get(); });
    }
  }
  return DecodeOoxmlEscapes(text);
}

// ---------------------------------------------------------------------------------------------
// Workbook structure

// Resolves a relationship target against the folder of the part that holds the relationship.
std::string ResolveTarget(std::string_view base_folder, std::string_view target) {
  std::vector<std::string_view> parts;
  std::string_view rest = target;
  if (!rest.empty() && rest.front() == '/') {
    rest.remove_prefix(1);  // absolute within the package
  } else {
    std::string_view base = base_folder;
    while (!base.empty()) {
      const size_t slash = base.find('/');
      parts.push_back(base.substr(0, slash));
      base = slash == std::string_view::npos ? std::string_view() : base.substr(slash + 1);
    }
  }
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(segment);
  }
  std::string path;
  for (const std::string_view p : parts) {
    if (!path.empty()) path += '/';
    path += p;
  }
  return path;
}

struct WorkbookInfo {
  std::string sheet_part = "xl/worksheets/sheet1.xml";
  bool date1904 = false;
};

// The first worksheet (preferring one that is not hidden, as staff see the tabs) through the
// workbook and its relationships; falls back to xl/worksheets/sheet1.xml.
Result<WorkbookInfo> ReadWorkbook(Package& package) {
  WorkbookInfo info;
  MAMORI_ASSIGN_OR_RETURN(auto workbook, LoadXml(package, "xl/workbook.xml"));
  if (!workbook) return info;
  const pugi::xml_node root = Child(*workbook, "workbook");
  const std::string_view date1904 = AttrValue(Child(root, "workbookPr"), "date1904");
  info.date1904 = date1904 == "1" || date1904 == "true";

  MAMORI_ASSIGN_OR_RETURN(auto rels, LoadXml(package, "xl/_rels/workbook.xml.rels"));
  if (!rels) return info;
  std::map<std::string, std::string, std::less<>> worksheet_targets;  // Id -> Target
  ForEachChild(Child(*rels, "Relationships"), "Relationship", [&](pugi::xml_node rel) {
    const std::string_view type = AttrValue(rel, "Type");
    if (AttrValue(rel, "TargetMode") == "External") return;
    if (type.size() < 10 || type.substr(type.size() - 10) != "/worksheet") return;
    worksheet_targets.emplace(AttrValue(rel, "Id"), AttrValue(rel, "Target"));
  });

  std::optional<std::string> first_visible;
  std::optional<std::string> first_any;
  ForEachChild(Child(root, "sheets"), "sheet", [&](pugi::xml_node sheet) {
    const auto it = worksheet_targets.find(AttrValue(sheet, "id"));
    if (it == worksheet_targets.end()) return;  // a chart sheet or a dangling reference
    const std::string part = ResolveTarget("xl", it->second);
    if (!first_any) first_any = part;
    const std::string_view state = AttrValue(sheet, "state");
    if (!first_visible && state != "hidden" && state != "veryHidden") first_visible = part;
  });
  if (first_visible) {
    info.sheet_part = *first_visible;
  } else if (first_any) {
    info.sheet_part = *first_any;
  }
  return info;
}

// Whether a number format code shows a date: y, m or d outside quoted text, [brackets]
// (colours, locales, elapsed time), escapes (\x) and padding/fill characters (_x, *x).
bool IsDateFormatCode(std::string_view code) {
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '"') {
      const size_t close = code.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      i = close;
    } else if (c == '[') {
      const size_t close = code.find(']', i + 1);
      if (close == std::string_view::npos) return false;
      i = close;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;
    } else if (c == 'y' || c == 'Y' || c == 'm' || c == 'M' || c == 'd' || c == 'D') {
      return true;
    }
  }
  return false;
}

bool IsBuiltInDateFormat(long id) {
  return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
         (id >= 50 && id <= 58);
}

// For each cell style (cellXfs index): whether its number format is a date format.
Result<std::vector<bool>> ReadDateStyles(Package& package) {
  std::vector<bool> date_styles;
  MAMORI_ASSIGN_OR_RETURN(auto styles, LoadXml(package, "xl/styles.xml"));
  if (!styles) return date_styles;
  const pugi::xml_node root = Child(*styles, "styleSheet");
  std::map<long, bool> custom;  // numFmtId -> is date
  ForEachChild(Child(root, "numFmts"), "numFmt", [&](pugi::xml_node fmt) {
    const std::optional<size_t> id = ParseIndex(AttrValue(fmt, "numFmtId"));
    if (id) custom[static_cast<long>(*id)] = IsDateFormatCode(AttrValue(fmt, "formatCode"));
  });
  ForEachChild(Child(root, "cellXfs"), "xf", [&](pugi::xml_node xf) {
    const std::optional<size_t> id = ParseIndex(AttrValue(xf, "numFmtId"));
    bool is_date = false;
    if (id && *id < 100'000) {
      const auto it = custom.find(static_cast<long>(*id));
      is_date = it != custom.end() ? it->second : IsBuiltInDateFormat(static_cast<long>(*id));
    }
    date_styles.push_back(is_date);
  });
  return date_styles;
}

// The most cells a sheet may hold: max_rows x max_columns, at most kMaxCells.
size_t MaxCells(const Limits& limits) {
  if (limits.max_columns != 0 && limits.max_rows > kMaxCells / limits.max_columns) {
    return kMaxCells;
  }
  return limits.max_rows * limits.max_columns;
}

Result<std::vector<std::string>> ReadSharedStrings(Package& package, const Limits& limits) {
  std::vector<std::string> strings;
  // A table cannot use more distinct strings than it has cells.
  const ElementCap caps[] = {
      {"si", std::min(MaxCells(limits), kMaxSharedStrings), "共有文字列", "shared strings"}};
  MAMORI_ASSIGN_OR_RETURN(auto sst, LoadXml(package, "xl/sharedStrings.xml", caps));
  if (!sst) return strings;
  ForEachChild(Child(*sst, "sst"), "si",
               [&](pugi::xml_node si) { strings.push_back(StringItemText(si)); });
  return strings;
}

// ---------------------------------------------------------------------------------------------
// Cell values

// Excel shows at most 15 significant digits; rounding there first turns 0.1+0.2 stored as
// 0.30000000000000004 back into the 0.3 staff see. Then the shortest text that reads back.
std::string FormatNumber(double value) {
  if (value == 0) return "0";  // also -0
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) {
    return std::to_string(static_cast<long long>(value));
  }
  char digits[64];
  std::snprintf(digits, sizeof digits, "%.15g", value);
  const double shown = std::strtod(digits, nullptr);
  char out[400];
  const double magnitude = std::fabs(shown);
  const auto format =
      magnitude >= 1e-5 && magnitude < 1e15 ? std::chars_format::fixed : std::chars_format::general;
  const auto [end, ec] = std::to_chars(out, out + sizeof out, shown, format);
  if (ec != std::errc()) return digits;
  return std::string(out, end);
}

// An Excel date serial as "YYYY-MM-DD" (the time of day dropped). Serial 60 is 1900-02-29,
// which Excel keeps for Lotus compatibility. A serial below 1 carries only a time of day
// (a cell formatted "h:mm", which counts as a date format): "HH:MM:SS". Outside Excel's
// date range the number is returned.
std::string FormatDate(double serial, bool date1904) {
  if (!(serial >= 0) || serial >= 2958466) return FormatNumber(serial);
  const auto seconds = static_cast<long long>(std::llround(serial * 86400.0));
  const long long days = seconds / 86400;
  char out[32];
  if (days == 0) {
    const long long s = seconds % 86400;
    std::snprintf(out, sizeof out, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    return out;
  }
  using std::chrono::sys_days;
  std::chrono::year_month_day date;
  if (date1904) {
    date = sys_days(std::chrono::year(1904) / 1 / 1) + std::chrono::days(days);
  } else if (days == 60) {
    return "1900-02-29";
  } else if (days < 60) {
    date = sys_days(std::chrono::year(1899) / 12 / 31) + std::chrono::days(days);
  } else {
    date = sys_days(std::chrono::year(1899) / 12 / 30) + std::chrono::days(days);
  }
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return out;
}

struct SheetContext {
  const std::vector<std::string>& shared_strings;
  const std::vector<bool>& date_styles;
  bool date1904 = false;
};

Result<std::string> CellValue(pugi::xml_node cell, const std::string& name,
                              const SheetContext& context) {
  std::string_view type = AttrValue(cell, "t");
  if (type.empty()) type = "n";
  if (type == "inlineStr") return StringItemText(Child(cell, "is"));
  const pugi::xml_node v = Child(cell, "v");
  if (!v) return std::string();  // empty, or a formula without a cached value
  const std::string_view text = v.text().get();
  if (type == "s") {
    const std::optional<size_t> index = ParseIndex(text);
    if (!index || *index >= context.shared_strings.size()) {
      return BadCell(name, "共有文字列の番号が範囲外です。", "shared string index out of range");
    }
    return context.shared_strings[*index];
  }
  if (type == "str") return DecodeOoxmlEscapes(text);
  if (type == "e") return std::string(TrimAscii(text));  // "#N/A", "#DIV/0!" as Excel shows
  if (type == "b") {
    const std::string_view b = TrimAscii(text);
    if (b == "1" || b == "true") return std::string("TRUE");
    if (b == "0" || b == "false") return std::string("FALSE");
    return BadCell(name, "真偽値が不正です。", "malformed boolean");
  }
  if (type == "d") {  // ISO 8601 (strict OOXML): keep the date part
    const std::string_view d = TrimAscii(text);
    if (d.size() >= 10 && d[4] == '-' && d[7] == '-') return std::string(d.substr(0, 10));
    return std::string(d);
  }
  if (type != "n") return BadCell(name, "セルの型が不明です。", "unknown cell type");
  const std::string_view number = TrimAscii(text);
  if (number.empty()) return std::string();
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value)) {
    return BadCell(name, "数値が不正です。", "malformed number");
  }
  const std::optional<size_t> style = ParseIndex(AttrValue(cell, "s"));
  if (style && *style < context.date_styles.size() && context.date_styles[*style]) {
    return FormatDate(value, context.date1904);
  }
  return FormatNumber(value);
}

// "C12" -> column 3. nullopt when malformed.
std::optional<size_t> ParseCellColumn(std::string_view ref) {
  size_t column = 0;
  size_t i = 0;
  for (; i < ref.size() && i < 4; ++i) {
    char c = ref[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') break;
    column = column * 26 + static_cast<size_t>(c - 'A' + 1);
  }
  if (i == 0 || column > kExcelMaxColumns) return std::nullopt;
  for (size_t k = i; k < ref.size(); ++k) {
    if (ref[k] < '0' || ref[k] > '9') return std::nullopt;
  }
  return column;
}

Result<std::vector<Row>> ReadSheetData(pugi::xml_node worksheet, const SheetContext& context,
                                       const Limits& limits, std::vector<size_t>& source_rows) {
  std::vector<Row> rows;
  size_t width = 0;  // the widest row; every row is padded to it
  size_t value_bytes = 0;
  size_t previous_row = 0;
  const pugi::xml_node sheet_data = Child(worksheet, "sheetData");
  for (pugi::xml_node row_node = sheet_data.first_child(); row_node;
       row_node = row_node.next_sibling()) {
    if (row_node.type() != pugi::node_element || LocalName(row_node.name()) != "row") continue;
    size_t row_number = previous_row + 1;
    if (const pugi::xml_attribute r = Attr(row_node, "r")) {
      const std::optional<size_t> parsed = ParseIndex(r.value());
      if (!parsed || *parsed == 0 || *parsed > kExcelMaxRows) {
        return Error::Invalid(std::to_string(previous_row) + " 行目の次の行の行番号が不正です。",
                              "malformed row number after row " + std::to_string(previous_row));
      }
      row_number = *parsed;
    }
    if (row_number <= previous_row || row_number > kExcelMaxRows) {
      return Error::Invalid(std::to_string(row_number) + " 行目: 行の順序が不正です。",
                            "row " + std::to_string(row_number) + " is out of order");
    }
    previous_row = row_number;

    Row row;
    size_t previous_column = 0;
    for (pugi::xml_node cell = row_node.first_child(); cell; cell = cell.next_sibling()) {
      if (cell.type() != pugi::node_element || LocalName(cell.name()) != "c") continue;
      size_t column = previous_column + 1;
      if (const pugi::xml_attribute r = Attr(cell, "r")) {
        const std::optional<size_t> parsed = ParseCellColumn(r.value());
        if (!parsed) {
          return Error::Invalid(std::to_string(row_number) + " 行目: セル参照が不正です。",
                                "row " + std::to_string(row_number) + ": malformed cell reference");
        }
        column = *parsed;
      }
      if (column <= previous_column || column > kExcelMaxColumns) {
        return Error::Invalid(std::to_string(row_number) + " 行目: セルの順序が不正です。",
                              "row " + std::to_string(row_number) + ": cells out of order");
      }
      previous_column = column;
      const std::string name = CellName(column, row_number);
      MAMORI_ASSIGN_OR_RETURN(std::string value, CellValue(cell, name, context));
      if (value.empty()) continue;  // styled but empty cells do not widen the row
      if (column > limits.max_columns) {
        return Error::TooLarge(
            name + " セル: 列数が上限 (" + std::to_string(limits.max_columns) +
                " 列) を超えています。",
            "cell " + name + ": more than " + std::to_string(limits.max_columns) + " columns");
      }
      if (value.size() > limits.max_cell_bytes) {
        return Error::TooLarge(
            name + " セル: 値が長すぎます (上限 " + std::to_string(limits.max_cell_bytes) +
                " バイト)。",
            "cell " + name + " is longer than " + std::to_string(limits.max_cell_bytes) + " bytes");
      }
      if (!IsValidUtf8(value)) {
        return BadCell(name, "文字が正しくありません (UTF-8 ではありません)。", "invalid UTF-8");
      }
      row.resize(column - 1);
      row.push_back(std::move(value));
    }
    if (row.empty()) continue;  // a blank row, skipped as CSV skips blank lines
    if (rows.size() >= limits.max_rows) {
      return Error::TooLarge(
          "行数が上限 (" + std::to_string(limits.max_rows) + " 行) を超えています。",
          "more than " + std::to_string(limits.max_rows) + " rows");
    }
    width = std::max(width, row.size());
    for (const std::string& value : row) value_bytes += value.size();
    // As for CSV: cell bytes plus one separator per cell, padding included.
    const size_t table_bytes = value_bytes + (rows.size() + 1) * width;
    if (table_bytes > limits.max_bytes) {
      return Error::TooLarge(
          "表のデータ量が上限 (" + std::to_string(limits.max_bytes) + " バイト) を超えています。",
          "the table holds more than " + std::to_string(limits.max_bytes) + " bytes of cells");
    }
    rows.push_back(std::move(row));
    source_rows.push_back(row_number);
  }
  for (Row& row : rows) row.resize(width);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Writing

// A file made with mkstemp in $TMPDIR (or /tmp), removed when this goes out of scope.
class TempFile {
 public:
  static Result<TempFile> Create() {
    const char* env = std::getenv("TMPDIR");
    std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
    std::string path = dir + "/mamori-xlsx-XXXXXX";
    const int fd = mkstemp(path.data());
    if (fd < 0)
      return Error::Unavailable("一時ファイルを作成できません。",
                                "cannot create a temporary file in " + dir);
    return TempFile(std::move(dir), std::move(path), fd);
  }
  TempFile(TempFile&& other) noexcept
      : dir_(std::move(other.dir_)), path_(std::move(other.path_)), fd_(other.fd_) {
    other.path_.clear();
    other.fd_ = -1;
  }
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }

  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }

  // The whole file as it is now on disk (read through the descriptor mkstemp opened).
  Result<std::string> ReadAll() const {
    std::string data;
    char buffer[1 << 16];
    off_t offset = 0;
    while (true) {
      const ssize_t n = pread(fd_, buffer, sizeof buffer, offset);
      if (n < 0)
        return Error::Unavailable("一時ファイルを読めません。", "cannot read the temporary file");
      if (n == 0) break;
      data.append(buffer, static_cast<size_t>(n));
      offset += n;
    }
    return data;
  }

 private:
  TempFile(std::string dir, std::string path, int fd)
      : dir_(std::move(dir)), path_(std::move(path)), fd_(fd) {}

  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

// Excel forbids [ ] : * ? / \ in sheet names, an apostrophe at either end, and more than 31
// characters (UTF-16 units). Control characters and invalid UTF-8 are dropped too.
std::string SanitizeSheetName(std::string_view name) {
  std::string out;
  size_t units = 0;
  size_t i = 0;
  while (i < name.size()) {
    const size_t start = i;
    char32_t cp = 0;
    if (!DecodeUtf8(name, i, cp)) {
      ++i;  // an invalid byte is skipped
      continue;
    }
    std::string_view ch = name.substr(start, i - start);
    if (cp < 0x20 || cp == 0x7F) continue;
    if (cp == '[' || cp == ']' || cp == ':' || cp == '*' || cp == '?' || cp == '/' || cp == '\\') {
      ch = "_";
    }
    const size_t ch_units = cp >= 0x10000 ? 2 : 1;
    if (units + ch_units > kExcelMaxSheetNameUnits) break;
    units += ch_units;
    out += ch;
  }
  while (!out.empty() && out.front() == '\'') out.erase(0, 1);
  while (!out.empty() && out.back() == '\'') out.pop_back();
  if (TrimSpace(out).empty()) return "Sheet1";
  return out;
}

// Display width in Excel's column units: East Asian wide characters count 2.
size_t DisplayWidth(std::string_view text) {
  size_t widest = 0;
  size_t width = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char32_t cp = NextCodePoint(text, i);
    if (cp == '\n') {
      widest = std::max(widest, width);
      width = 0;
      continue;
    }
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
  }
  return std::max(widest, width);
}

Error WriterFailed(lxw_error error) {
  return Error::Internal(std::string("libxlsxwriter: ") + lxw_strerror(error));
}

}  // namespace

Result<Sheet> ReadXlsx(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return Error::TooLarge(
        "ファイルが大きすぎます (上限 " + std::to_string(limits.max_bytes) + " バイト)。",
        "the file is larger than the limit of " + std::to_string(limits.max_bytes) + " bytes");
  }
  MAMORI_ASSIGN_OR_RETURN(Package package, Package::Open(bytes, limits.max_unpacked_bytes));
  MAMORI_ASSIGN_OR_RETURN(WorkbookInfo workbook, ReadWorkbook(package));
  MAMORI_ASSIGN_OR_RETURN(std::vector<std::string> shared_strings,
                          ReadSharedStrings(package, limits));
  MAMORI_ASSIGN_OR_RETURN(std::vector<bool> date_styles, ReadDateStyles(package));
  // Styled but empty cells count too: they cost as much memory as cells with values.
  const ElementCap sheet_caps[] = {{"row", kExcelMaxRows, "行", "rows"},
                                   {"c", MaxCells(limits), "セル", "cells"}};
  MAMORI_ASSIGN_OR_RETURN(auto sheet_xml, LoadXml(package, workbook.sheet_part, sheet_caps));
  if (!sheet_xml) {
    return Error::Invalid("XLSX ファイルにワークシートが見つかりません。",
                          "the XLSX file has no worksheet (" + workbook.sheet_part + ")");
  }
  const pugi::xml_node worksheet = Child(*sheet_xml, "worksheet");
  if (!worksheet) return BadXml(workbook.sheet_part);

  Sheet sheet;
  sheet.encoding = TextEncoding::kUtf8;
  const SheetContext context{shared_strings, date_styles, workbook.date1904};
  MAMORI_ASSIGN_OR_RETURN(sheet.rows, ReadSheetData(worksheet, context, limits, sheet.source_rows));
  return sheet;
}

Result<std::string> WriteXlsx(const std::vector<Row>& rows, std::string_view sheet_name) {
  if (rows.size() > kExcelMaxRows) {
    return Error::TooLarge("Excel の行数の上限 (1,048,576 行) を超えています。",
                           "more rows than Excel allows (1,048,576)");
  }
  // Validate and escape everything before libxlsxwriter sees it; measure column widths.
  std::vector<std::vector<std::string>> cells(rows.size());
  std::vector<size_t> widths;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() > kExcelMaxColumns) {
      return Error::TooLarge("Excel の列数の上限 (16,384 列) を超えています。",
                             "more columns than Excel allows (16,384)");
    }
    if (rows[r].size() > widths.size()) widths.resize(rows[r].size(), 0);
    cells[r].reserve(rows[r].size());
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& value = rows[r][c];
      const std::string name = CellName(c + 1, r + 1);
      if (!IsValidUtf8(value)) {
        return BadCell(name, "文字が正しくありません (UTF-8 ではありません)。", "invalid UTF-8");
      }
      std::string escaped = EncodeOoxmlEscapes(value);
      if (Utf8Length(escaped) > kExcelMaxCellChars) {
        return Error::TooLarge(
            name + " セル: Excel のセルの文字数の上限 (32,767 文字) を超えています。",
            "cell " + name + " is longer than Excel allows (32,767 characters)");
      }
      widths[c] = std::max(widths[c], DisplayWidth(value));
      cells[r].push_back(std::move(escaped));
    }
  }

  MAMORI_ASSIGN_OR_RETURN(TempFile file, TempFile::Create());
  std::string tmpdir = file.dir();
  lxw_workbook_options options = {};
  options.constant_memory = LXW_TRUE;  // rows go to disk as they are written
  options.tmpdir = tmpdir.data();
  options.use_zip64 = LXW_FALSE;
  lxw_workbook* workbook = workbook_new_opt(file.path().c_str(), &options);
  if (workbook == nullptr) return Error::Internal("workbook_new_opt failed");

  // From here on the workbook must be closed (which also frees it) on every path.
  lxw_error error = LXW_NO_ERROR;
  const std::string name = SanitizeSheetName(sheet_name);
  lxw_worksheet* worksheet = workbook_add_worksheet(workbook, name.c_str());
  if (worksheet == nullptr) error = LXW_ERROR_INVALID_SHEETNAME_CHARACTER;
  if (worksheet != nullptr) {
    lxw_format* bold = workbook_add_format(workbook);
    format_set_bold(bold);
    for (size_t c = 0; c < widths.size() && error == LXW_NO_ERROR; ++c) {
      const double width = std::clamp(static_cast<double>(widths[c]) + 2.0, 8.0, 60.0);
      error = worksheet_set_column(worksheet, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                                   width, nullptr);
    }
    for (size_t r = 0; r < cells.size() && error == LXW_NO_ERROR; ++r) {
      for (size_t c = 0; c < cells[r].size() && error == LXW_NO_ERROR; ++c) {
        if (cells[r][c].empty() && r > 0) continue;  // an empty string writes nothing
        error =
            worksheet_write_string(worksheet, static_cast<lxw_row_t>(r), static_cast<lxw_col_t>(c),
                                   cells[r][c].c_str(), r == 0 ? bold : nullptr);
      }
    }
    if (!rows.empty() && error == LXW_NO_ERROR) {
      worksheet_freeze_panes(worksheet, 1, 0);
      if (!widths.empty()) {
        error = worksheet_autofilter(worksheet, 0, 0, static_cast<lxw_row_t>(rows.size() - 1),
                                     static_cast<lxw_col_t>(widths.size() - 1));
      }
    }
  }
  const lxw_error close_error = workbook_close(workbook);
  if (error != LXW_NO_ERROR) return WriterFailed(error);
  if (close_error != LXW_NO_ERROR) return WriterFailed(close_error);
  return file.ReadAll();
}

}  // namespace mamori::tabular
