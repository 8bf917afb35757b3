// Markdown (CommonMark) to HTML for documents staff write (規程の本文), through libcmark in its
// safe mode: raw HTML in the text is dropped and links with javascript:, vbscript:, file: or
// data: (other than images) are removed. The result is an HTML fragment.
//
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mamori {

std::string MarkdownToHtml(std::string_view markdown);

}  // namespace mamori
