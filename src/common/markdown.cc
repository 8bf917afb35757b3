#include "common/markdown.h"

#include <cmark.h>

#include <cstdlib>
#include <memory>

namespace mamori {

std::string MarkdownToHtml(std::string_view markdown) {
  // CMARK_OPT_DEFAULT is safe in cmark 0.30 (CMARK_OPT_UNSAFE is never set); SMART turns
  // straight quotes and dashes into typographic ones, VALIDATE_UTF8 replaces invalid bytes.
  const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_HARDBREAKS;
  std::unique_ptr<char, decltype(&std::free)> html(
      cmark_markdown_to_html(markdown.data(), markdown.size(), options), &std::free);
  return html ? std::string(html.get()) : std::string();
}

}  // namespace mamori
