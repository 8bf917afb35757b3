// Markdown bodies of documents (規程の本文) rendered to HTML: no crash, no raw HTML through.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/markdown.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string html =
      mamori::MarkdownToHtml(std::string_view(reinterpret_cast<const char*>(data), size));
  // Safe mode: a tag the text brought in is never emitted as a tag.
  if (html.find("<script") != std::string::npos || html.find("<iframe") != std::string::npos) {
    std::abort();
  }
  return 0;
}
