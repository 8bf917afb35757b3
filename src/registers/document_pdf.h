// A public policy document (基本方針 or other public rules) as a printable PDF: A4 portrait,
// the title, the version and its effective date (施行日) at the top, the Markdown body laid out
// for Japanese (Pango breaks the lines), page numbers "n / N" in the footer.
//
// The body is untrusted Markdown staff write. It is parsed by libcmark and its syntax tree is
// walked; nothing is fetched (an image is shown as its alternative text, a link as its text
// with the address beside it, raw HTML is left out), and the output is bounded (kMaxPdfPages,
// kMaxPdfBytes). Cairo and Pango stay inside document_pdf.cc.
//
// Thread-safe: each call has its own Cairo surface and Pango context (Pango's default font map
// is per thread). Fonts come from fontconfig; a Japanese font must be installed
// (fonts-noto-cjk or fonts-ipafont), otherwise the call fails with kUnavailable.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/result.h"

namespace mamori::registers {

// At most this many pages, and this many bytes of PDF (kTooLarge beyond either).
inline constexpr int kMaxPdfPages = 1000;
inline constexpr size_t kMaxPdfBytes = 64u << 20;

struct PublicDocumentText {
  std::string title;  // the document's title (文書名), e.g. 情報セキュリティ基本方針
  std::string version_name;    // the version's name, e.g. 第2版
  std::string effective_date;  // 施行日 as YYYY-MM-DD, or empty (a version approved, not in force)
  std::string body_markdown;  // CommonMark
};

struct RenderedPdf {
  std::string bytes;  // the PDF file
  int pages = 0;
};

// Renders `doc` as a PDF whose metadata carries the title, the creator "Mamori" and `created`
// as its creation date. Errors: kUnavailable (no Japanese font), kTooLarge (over the limits),
// kInternal (Cairo failed).
Result<RenderedPdf> RenderPublicDocumentPdf(const PublicDocumentText& doc, TimePoint created);

// "令和8(2026)年4月1日" for "2026-04-01"; the Gregorian year alone before the Reiwa era
// ("2018年4月1日"); the text unchanged when it is not a YYYY-MM-DD date.
std::string JapaneseDate(const std::string& iso_date);

}  // namespace mamori::registers
