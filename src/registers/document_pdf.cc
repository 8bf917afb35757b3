#include "registers/document_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <cmark.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/text.h"

namespace mamori::registers {
namespace {

// ---- Page geometry (points) -------------------------------------------------------------------
// A4 portrait with the margins of a Japanese public document (公用文): a wider left margin for
// binding (綴じ代), about 40 characters of 10.5 pt per line.
constexpr double kMm = 72.0 / 25.4;
constexpr double kPageWidth = 210 * kMm;
constexpr double kPageHeight = 297 * kMm;
constexpr double kTop = 30 * kMm;
constexpr double kBottom = 27 * kMm;
constexpr double kLeft = 30 * kMm;
constexpr double kRight = 22 * kMm;
constexpr double kTextWidth = kPageWidth - kLeft - kRight;
constexpr double kTextBottom = kPageHeight - kBottom;
constexpr double kFooterBaseline = kPageHeight - 14 * kMm;
constexpr double kBodySize = 10.5;
constexpr double kEm = kBodySize;
constexpr double kListIndent = 2 * kEm;
constexpr double kQuoteIndent = 1.5 * kEm;
constexpr double kMaxIndent = kTextWidth / 2;  // deep nesting stops indenting here

// ---- RAII for the C handles ---------------------------------------------------------------------
template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const {
    if (p) F(p);
  }
};
template <class T>
struct Unref {
  void operator()(T* p) const {
    if (p) g_object_unref(p);
  }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, Free<cairo_surface_t, cairo_surface_destroy>>;
using CairoPtr = std::unique_ptr<cairo_t, Free<cairo_t, cairo_destroy>>;
using FontOptionsPtr =
    std::unique_ptr<cairo_font_options_t, Free<cairo_font_options_t, cairo_font_options_destroy>>;
using ContextPtr = std::unique_ptr<PangoContext, Unref<PangoContext>>;
using LayoutPtr = std::unique_ptr<PangoLayout, Unref<PangoLayout>>;
using FontDescPtr =
    std::unique_ptr<PangoFontDescription, Free<PangoFontDescription, pango_font_description_free>>;
using AttrListPtr = std::unique_ptr<PangoAttrList, Free<PangoAttrList, pango_attr_list_unref>>;
using IterPtr = std::unique_ptr<PangoLayoutIter, Free<PangoLayoutIter, pango_layout_iter_free>>;
using NodePtr = std::unique_ptr<cmark_node, Free<cmark_node, cmark_node_free>>;
using CmarkIterPtr = std::unique_ptr<cmark_iter, Free<cmark_iter, cmark_iter_free>>;
using FcPatternPtr = std::unique_ptr<FcPattern, Free<FcPattern, FcPatternDestroy>>;
using FcObjectSetPtr = std::unique_ptr<FcObjectSet, Free<FcObjectSet, FcObjectSetDestroy>>;
using FcFontSetPtr = std::unique_ptr<FcFontSet, Free<FcFontSet, FcFontSetDestroy>>;
using FcLangSetPtr = std::unique_ptr<FcLangSet, Free<FcLangSet, FcLangSetDestroy>>;

// ---- Fonts --------------------------------------------------------------------------------------
struct Fonts {
  std::string serif;  // 明朝: the body
  std::string sans;   // ゴシック: the title and headings
  std::string mono;   // code
};

// The installed families that cover Japanese (fontconfig's lang=ja), preferring Noto CJK JP
// and IPA fonts by name; any Japanese family otherwise.
Result<Fonts> FindJapaneseFonts() {
  FcPatternPtr pattern(FcPatternCreate());
  FcLangSetPtr langs(FcLangSetCreate());
  FcObjectSetPtr objects(FcObjectSetBuild(FC_FAMILY, nullptr));
  if (!pattern || !langs || !objects) return Error::Internal("fontconfig: out of memory");
  FcLangSetAdd(langs.get(), reinterpret_cast<const FcChar8*>("ja"));
  FcPatternAddLangSet(pattern.get(), FC_LANG, langs.get());
  FcFontSetPtr set(FcFontList(nullptr, pattern.get(), objects.get()));
  std::vector<std::string> families;
  for (int i = 0; set && i < set->nfont; ++i) {
    FcChar8* family = nullptr;
    for (int k = 0; FcPatternGetString(set->fonts[i], FC_FAMILY, k, &family) == FcResultMatch;
         ++k) {
      families.emplace_back(reinterpret_cast<const char*>(family));
    }
  }
  if (families.empty()) {
    return Error::Unavailable(
        "PDF を作るための日本語フォントがサーバーにありません。管理者に fonts-noto-cjk "
        "(又は fonts-ipafont)のインストールを依頼してください。",
        "no Japanese font is installed on the server (install fonts-noto-cjk or fonts-ipafont)");
  }
  std::sort(families.begin(), families.end());
  auto pick = [&](std::initializer_list<const char*> preferred) {
    for (const char* name : preferred) {
      if (std::binary_search(families.begin(), families.end(), std::string(name))) return name;
    }
    return families.front().c_str();
  };
  Fonts fonts;
  fonts.serif = pick({"Noto Serif CJK JP", "IPAexMincho", "IPAMincho", "Noto Sans CJK JP",
                      "IPAexGothic", "IPAGothic"});
  fonts.sans = pick({"Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "IPAPGothic"});
  fonts.mono = pick({"Noto Sans Mono CJK JP", "IPAGothic", "Noto Sans CJK JP", "IPAexGothic"});
  return fonts;
}

// ---- Blocks: the document as a list of laid-out paragraphs
// ---------------------------------------
enum class Style { kTitle, kMeta, kH1, kH2, kH3, kBody, kCode, kFooter };

struct Block {
  Style style = Style::kBody;
  std::string markup;        // Pango markup of the text
  std::string plain;         // the text alone (the outline's entry for a heading)
  double indent = 0;         // left indent, points
  double first_line = 0;     // the first line's extra indent (字下げ)
  std::string marker;        // a list item's number or bullet, set left of `indent`
  std::vector<double> bars;  // the x of each enclosing block quote's bar, from the text's left
  bool rule = false;         // a thematic break: a line across the text
  PangoAlignment align = PANGO_ALIGN_LEFT;
  double space_before = 0;
  double space_after = 0;
};

// Text for Pango markup (GMarkup: XML character data): common/text.h's EscapeMarkup escapes
// & < > " ', drops the control characters XML does not allow (a printed page has no place for
// them) and replaces bytes that are not UTF-8, which Pango would refuse.
void AppendEscaped(std::string& out, std::string_view text) { out += EscapeMarkup(text); }

std::string Escaped(std::string_view text) {
  std::string out;
  AppendEscaped(out, text);
  return out;
}

std::string_view Literal(cmark_node* node) {
  const char* s = cmark_node_get_literal(node);
  return s ? std::string_view(s) : std::string_view();
}

// Walks cmark's syntax tree once (cmark_iter) and turns it into blocks.
class BlockBuilder {
 public:
  BlockBuilder(const Fonts& fonts, std::vector<Block>& out) : fonts_(fonts), out_(out) {}

  void Build(cmark_node* document) {
    CmarkIterPtr iter(cmark_iter_new(document));
    for (cmark_event_type ev; (ev = cmark_iter_next(iter.get())) != CMARK_EVENT_DONE;) {
      cmark_node* node = cmark_iter_get_node(iter.get());
      if (ev == CMARK_EVENT_ENTER) {
        Enter(node);
      } else {
        Exit(node);
      }
    }
  }

 private:
  struct List {
    bool ordered = false;
    bool paren = false;
    bool tight = true;
    int next = 1;
  };
  struct Item {
    std::string marker;
    bool used = false;
  };

  double Indent() const {
    return std::min(kMaxIndent, static_cast<double>(lists_.size()) * kListIndent +
                                    static_cast<double>(quotes_.size()) * kQuoteIndent);
  }

  // A new block at the current nesting; the first block of a list item carries its marker.
  Block Start(Style style) {
    Block b;
    b.style = style;
    b.indent = Indent();
    b.bars = quotes_;
    if (!items_.empty() && !items_.back().used) {
      b.marker = items_.back().marker;
      items_.back().used = true;
      b.space_before = lists_.empty() || lists_.back().tight ? 0.25 * kEm : 0.6 * kEm;
    } else {
      b.space_before = !lists_.empty() && lists_.back().tight ? 0.1 * kEm : 0.6 * kEm;
    }
    return b;
  }

  void Enter(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_BLOCK_QUOTE:
        quotes_.push_back(Indent() + 0.4 * kEm);
        break;
      case CMARK_NODE_LIST: {
        List l;
        l.ordered = cmark_node_get_list_type(node) == CMARK_ORDERED_LIST;
        l.paren = cmark_node_get_list_delim(node) == CMARK_PAREN_DELIM;
        l.tight = cmark_node_get_list_tight(node) != 0;
        l.next = cmark_node_get_list_start(node);
        lists_.push_back(l);
        break;
      }
      case CMARK_NODE_ITEM: {
        Item item;
        if (!lists_.empty() && lists_.back().ordered) {
          item.marker = std::to_string(lists_.back().next++) + (lists_.back().paren ? ")" : ".");
        } else {
          item.marker = lists_.size() % 2 == 1 ? "・" : "◦";
        }
        items_.push_back(std::move(item));
        break;
      }
      case CMARK_NODE_PARAGRAPH: {
        current_ = Start(Style::kBody);
        // Paragraphs of the running text begin one character in (字下げ).
        if (lists_.empty() && quotes_.empty()) current_->first_line = kEm;
        break;
      }
      case CMARK_NODE_HEADING: {
        const int level = cmark_node_get_heading_level(node);
        current_ = Start(level <= 1 ? Style::kH1 : level == 2 ? Style::kH2 : Style::kH3);
        current_->space_before = level <= 1 ? 1.6 * kEm : level == 2 ? 1.3 * kEm : kEm;
        current_->space_after = 0.3 * kEm;
        break;
      }
      case CMARK_NODE_CODE_BLOCK: {
        Block b = Start(Style::kCode);
        b.indent += 0.5 * kEm;  // inside its shaded box
        std::string_view text = Literal(node);
        while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        b.markup = Escaped(text);
        b.plain = std::string(text);
        b.space_before = std::max(b.space_before, 0.5 * kEm);
        b.space_after = 0.5 * kEm;
        out_.push_back(std::move(b));
        break;
      }
      case CMARK_NODE_THEMATIC_BREAK: {
        Block b = Start(Style::kBody);
        b.rule = true;
        out_.push_back(std::move(b));
        break;
      }
      // Inline content of the open paragraph or heading.
      case CMARK_NODE_TEXT:
        Text(Literal(node));
        break;
      case CMARK_NODE_SOFTBREAK:  // a line break in the source stays one, as on the HTML page
      case CMARK_NODE_LINEBREAK:
        Raw("\n", "\n");
        break;
      case CMARK_NODE_CODE:
        Raw("<span font_family=\"" + Escaped(fonts_.mono) + "\" background=\"#EEEEEE\">", "");
        Text(Literal(node));
        Raw("</span>", "");
        break;
      case CMARK_NODE_EMPH:
        Raw("<i>", "");
        break;
      case CMARK_NODE_STRONG:
        Raw("<b>", "");
        break;
      case CMARK_NODE_LINK:
        link_starts_.push_back(current_ ? current_->plain.size() : 0);
        break;
      case CMARK_NODE_IMAGE:
        // Nothing is fetched: an image is its alternative text.
        Raw("[画像: ", "[画像: ");
        break;
      default:  // the document, raw HTML (left out, as on the HTML page), custom nodes
        break;
    }
  }

  void Exit(cmark_node* node) {
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_BLOCK_QUOTE:
        if (!quotes_.empty()) quotes_.pop_back();
        break;
      case CMARK_NODE_LIST:
        if (!lists_.empty()) lists_.pop_back();
        break;
      case CMARK_NODE_ITEM:
        if (!items_.empty()) {
          if (!items_.back().used) out_.push_back(Start(Style::kBody));  // an empty item
          items_.pop_back();
        }
        break;
      case CMARK_NODE_PARAGRAPH:
      case CMARK_NODE_HEADING:
        if (current_) {
          out_.push_back(std::move(*current_));
          current_.reset();
        }
        break;
      case CMARK_NODE_EMPH:
        Raw("</i>", "");
        break;
      case CMARK_NODE_STRONG:
        Raw("</b>", "");
        break;
      case CMARK_NODE_LINK: {
        // The address is printed beside its text (a printed page has no links to follow).
        const size_t start = link_starts_.empty() ? 0 : link_starts_.back();
        if (!link_starts_.empty()) link_starts_.pop_back();
        const char* url = cmark_node_get_url(node);
        if (current_ && url && *url &&
            current_->plain.compare(start, std::string::npos, url) != 0) {
          Raw("(", "(");
          Text(url);
          Raw(")", ")");
        }
        break;
      }
      case CMARK_NODE_IMAGE:
        Raw("]", "]");
        break;
      default:
        break;
    }
  }

  void Text(std::string_view text) {
    if (!current_) return;
    AppendEscaped(current_->markup, text);
    current_->plain += text;
  }
  void Raw(std::string_view markup, std::string_view plain) {
    if (!current_) return;
    current_->markup += markup;
    current_->plain += plain;
  }

  const Fonts& fonts_;
  std::vector<Block>& out_;
  std::optional<Block> current_;
  std::vector<List> lists_;
  std::vector<Item> items_;
  std::vector<double> quotes_;  // each open quote's bar position
  std::vector<size_t> link_starts_;
};

// ---- Layout and pagination ----------------------------------------------------------------------
struct Line {
  double top = 0;  // relative to the layout's top
  double bottom = 0;
  double baseline = 0;
  double x = 0;  // the line's left within the layout (alignment, first-line indent)
};

struct Laid {
  const Block* block = nullptr;
  LayoutPtr layout;
  LayoutPtr marker;
  std::vector<Line> lines;
};

FontDescPtr FontFor(Style style, const Fonts& fonts) {
  FontDescPtr d(pango_font_description_new());
  const char* family = fonts.serif.c_str();
  double size = kBodySize;
  bool bold = false;
  switch (style) {
    case Style::kTitle:
      family = fonts.sans.c_str(), size = 18, bold = true;
      break;
    case Style::kMeta:
      size = kBodySize;
      break;
    case Style::kH1:
      family = fonts.sans.c_str(), size = 14, bold = true;
      break;
    case Style::kH2:
      family = fonts.sans.c_str(), size = 12, bold = true;
      break;
    case Style::kH3:
      family = fonts.sans.c_str(), size = 11, bold = true;
      break;
    case Style::kBody:
      break;
    case Style::kCode:
      family = fonts.mono.c_str(), size = 9.5;
      break;
    case Style::kFooter:
      size = 9;
      break;
  }
  pango_font_description_set_family(d.get(), family);
  pango_font_description_set_absolute_size(d.get(), size * PANGO_SCALE);
  pango_font_description_set_weight(d.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  return d;
}

double LineSpacing(Style style) {
  switch (style) {
    case Style::kBody:
    case Style::kMeta:
      return 1.7;
    case Style::kCode:
      return 1.35;
    default:
      return 1.4;
  }
}

// Markup that Pango cannot parse (it should not happen: every text is escaped) falls back to
// the plain text rather than failing the document.
void SetText(PangoLayout* layout, const std::string& markup, const std::string& plain) {
  PangoAttrList* attrs = nullptr;
  char* text = nullptr;
  if (pango_parse_markup(markup.data(), static_cast<int>(markup.size()), 0, &attrs, &text, nullptr,
                         nullptr)) {
    AttrListPtr owned(attrs);
    pango_layout_set_text(layout, text, -1);
    pango_layout_set_attributes(layout, attrs);
    g_free(text);
  } else {
    pango_layout_set_text(layout, plain.data(), static_cast<int>(plain.size()));
  }
}

LayoutPtr MakeLayout(PangoContext* context, Style style, const Fonts& fonts, double width) {
  LayoutPtr layout(pango_layout_new(context));
  FontDescPtr font = FontFor(style, fonts);
  pango_layout_set_font_description(layout.get(), font.get());
  pango_layout_set_width(layout.get(), pango_units_from_double(width));
  pango_layout_set_wrap(layout.get(),
                        style == Style::kCode ? PANGO_WRAP_CHAR : PANGO_WRAP_WORD_CHAR);
  pango_layout_set_line_spacing(layout.get(), static_cast<float>(LineSpacing(style)));
  return layout;
}

std::vector<Line> LinesOf(PangoLayout* layout) {
  std::vector<Line> lines;
  IterPtr it(pango_layout_get_iter(layout));
  do {
    int y0 = 0, y1 = 0;
    pango_layout_iter_get_line_yrange(it.get(), &y0, &y1);
    PangoRectangle logical;
    pango_layout_iter_get_line_extents(it.get(), nullptr, &logical);
    lines.push_back({pango_units_to_double(y0), pango_units_to_double(y1),
                     pango_units_to_double(pango_layout_iter_get_baseline(it.get())),
                     pango_units_to_double(logical.x)});
  } while (pango_layout_iter_next_line(it.get()));
  return lines;
}

Laid LayOut(const Block& block, PangoContext* context, const Fonts& fonts) {
  Laid laid;
  laid.block = &block;
  if (block.rule) return laid;
  const double width = kTextWidth - block.indent;
  laid.layout = MakeLayout(context, block.style, fonts, width);
  pango_layout_set_alignment(laid.layout.get(), block.align);
  // 両端揃え: the lines of running text end flush with the right margin.
  pango_layout_set_justify(laid.layout.get(), block.style == Style::kBody);
  if (block.first_line > 0) {
    pango_layout_set_indent(laid.layout.get(), pango_units_from_double(block.first_line));
  }
  SetText(laid.layout.get(), block.markup, block.plain);
  laid.lines = LinesOf(laid.layout.get());
  if (!block.marker.empty()) {
    laid.marker = MakeLayout(context, block.style, fonts, -1);
    pango_layout_set_text(laid.marker.get(), block.marker.data(),
                          static_cast<int>(block.marker.size()));
  }
  return laid;
}

bool IsHeading(const Block& b) {
  return b.style == Style::kH1 || b.style == Style::kH2 || b.style == Style::kH3;
}

struct Placed {
  size_t laid = 0;
  int line = -1;  // -1: a rule
  double y = 0;   // the page's y of the layout's top (of the rule itself for a rule)
};

struct OutlineEntry {
  int page = 0;  // 1-based
  double y = 0;
  int level = 1;
  std::string text;
};

// Places the lines on pages: a line that does not fit goes to the next page, a heading keeps
// with the first line of what follows it.
Result<std::vector<std::vector<Placed>>> Paginate(const std::vector<Laid>& laid,
                                                  std::vector<OutlineEntry>& outline) {
  std::vector<std::vector<Placed>> pages(1);
  double y = kTop;
  bool page_top = true;
  auto new_page = [&]() -> Status {
    if (static_cast<int>(pages.size()) >= kMaxPdfPages) {
      return Error::TooLarge(
          "文書が長すぎるため PDF にできません(" + std::to_string(kMaxPdfPages) + " 頁まで)。",
          "the document exceeds " + std::to_string(kMaxPdfPages) + " pages");
    }
    pages.emplace_back();
    y = kTop;
    page_top = true;
    return Status();
  };
  auto height = [](const Line& l) { return l.bottom - l.top; };
  for (size_t i = 0; i < laid.size(); ++i) {
    const Block& b = *laid[i].block;
    double before = page_top ? 0 : b.space_before;
    if (b.rule) {
      if (y + before + kEm > kTextBottom && !page_top) {
        MAMORI_TRY(new_page());
        before = 0;
      }
      pages.back().push_back({i, -1, y + before + 0.5 * kEm});
      y += before + kEm;
      page_top = false;
      continue;
    }
    double need = before + height(laid[i].lines.front());
    if (IsHeading(b) && i + 1 < laid.size() && !laid[i + 1].lines.empty()) {
      need += b.space_after + laid[i + 1].block->space_before + height(laid[i + 1].lines.front());
    }
    if (y + need > kTextBottom && !page_top) {
      MAMORI_TRY(new_page());
      before = 0;
    }
    y += before;
    for (size_t k = 0; k < laid[i].lines.size(); ++k) {
      const Line& line = laid[i].lines[k];
      if (y + height(line) > kTextBottom && !page_top) MAMORI_TRY(new_page());
      pages.back().push_back({i, static_cast<int>(k), y - line.top});
      if (k == 0 && IsHeading(b)) {
        outline.push_back({static_cast<int>(pages.size()), y,
                           b.style == Style::kH1   ? 1
                           : b.style == Style::kH2 ? 2
                                                   : 3,
                           b.plain});
      }
      y += height(line);
      page_top = false;
    }
    y += b.space_after;
  }
  return pages;
}

// ---- Drawing ------------------------------------------------------------------------------------
void SetGray(cairo_t* cr, double level) { cairo_set_source_rgb(cr, level, level, level); }

void DrawPlaced(cairo_t* cr, const Laid& laid, const Placed& p) {
  const Block& b = *laid.block;
  const double left = kLeft + b.indent;
  if (p.line < 0) {
    SetGray(cr, 0.55);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, left, p.y);
    cairo_line_to(cr, kLeft + kTextWidth, p.y);
    cairo_stroke(cr);
    return;
  }
  const Line& line = laid.lines[static_cast<size_t>(p.line)];
  const double top = p.y + line.top, bottom = p.y + line.bottom;
  for (const double bar : b.bars) {
    SetGray(cr, 0.7);
    cairo_rectangle(cr, kLeft + bar, top, 2, bottom - top);
    cairo_fill(cr);
  }
  if (b.style == Style::kCode) {
    cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
    cairo_rectangle(cr, left - 0.4 * kEm, top, kLeft + kTextWidth - left + 0.4 * kEm, bottom - top);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.11);
  if (p.line == 0 && laid.marker) {
    PangoRectangle logical;
    pango_layout_get_extents(laid.marker.get(), nullptr, &logical);
    const double width = pango_units_to_double(logical.width);
    cairo_move_to(cr, left - 0.4 * kEm - width, p.y + line.baseline);
    pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(laid.marker.get(), 0));
  }
  cairo_move_to(cr, left + line.x, p.y + line.baseline);
  pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(laid.layout.get(), p.line));
}

void DrawFooter(cairo_t* cr, PangoContext* context, const Fonts& fonts, int page, int pages) {
  LayoutPtr layout = MakeLayout(context, Style::kFooter, fonts, kTextWidth);
  pango_layout_set_alignment(layout.get(), PANGO_ALIGN_CENTER);
  const std::string text = std::to_string(page) + " / " + std::to_string(pages);
  pango_layout_set_text(layout.get(), text.data(), static_cast<int>(text.size()));
  const std::vector<Line> lines = LinesOf(layout.get());
  SetGray(cr, 0.3);
  cairo_move_to(cr, kLeft + lines.front().x, kFooterBaseline);
  pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(layout.get(), 0));
}

// Cairo's output, refused once it passes kMaxPdfBytes.
struct Sink {
  std::string bytes;
  bool overflow = false;
};

cairo_status_t WriteTo(void* closure, const unsigned char* data, unsigned int length) {
  auto* sink = static_cast<Sink*>(closure);
  if (sink->overflow || sink->bytes.size() + length > kMaxPdfBytes) {
    sink->overflow = true;
    return CAIRO_STATUS_WRITE_ERROR;
  }
  sink->bytes.append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// "2026-04-01T09:30:00Z": the ISO 8601 form cairo writes into the PDF's CreationDate.
std::string PdfDate(TimePoint t) {
  std::string iso = FormatIso8601(t);  // "2026-04-01T09:30:00.000Z"
  const size_t dot = iso.find('.');
  if (dot != std::string::npos) iso = iso.substr(0, dot) + "Z";
  return iso;
}

}  // namespace

std::string JapaneseDate(const std::string& iso_date) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (iso_date.size() != 10 ||
      std::sscanf(iso_date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    return iso_date;
  }
  const std::string md = std::to_string(m) + "月" + std::to_string(d) + "日";
  if (y > 2019 || (y == 2019 && m >= 5)) {
    const int reiwa = y - 2018;
    return "令和" + (reiwa == 1 ? std::string("元") : std::to_string(reiwa)) + "(" +
           std::to_string(y) + ")年" + md;
  }
  return std::to_string(y) + "年" + md;
}

Result<RenderedPdf> RenderPublicDocumentPdf(const PublicDocumentText& doc, TimePoint created) {
  MAMORI_ASSIGN_OR_RETURN(Fonts fonts, FindJapaneseFonts());

  // The blocks: the title, the version and its effective date, then the body.
  std::vector<Block> blocks;
  Block title;
  title.style = Style::kTitle;
  title.markup = Escaped(doc.title);
  title.plain = doc.title;
  title.align = PANGO_ALIGN_CENTER;
  title.space_after = 0.8 * kEm;
  blocks.push_back(std::move(title));
  std::string meta = doc.version_name;
  if (!doc.effective_date.empty()) {
    meta += (meta.empty() ? "" : "　") + JapaneseDate(doc.effective_date) + " 施行";
  }
  if (!meta.empty()) {
    Block b;
    b.style = Style::kMeta;
    b.markup = Escaped(meta);
    b.plain = meta;
    b.align = PANGO_ALIGN_RIGHT;
    blocks.push_back(std::move(b));
  }
  blocks.back().space_after = 1.5 * kEm;

  // CMARK_OPT_DEFAULT never passes raw HTML on; VALIDATE_UTF8 replaces invalid bytes.
  NodePtr root(cmark_parse_document(doc.body_markdown.data(), doc.body_markdown.size(),
                                    CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8));
  if (!root) return Error::Internal("cmark could not parse the document");
  BlockBuilder(fonts, blocks).Build(root.get());

  Sink sink;
  SurfacePtr surface(cairo_pdf_surface_create_for_stream(&WriteTo, &sink, kPageWidth, kPageHeight));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Error::Internal("cairo could not create a PDF surface");
  }
  cairo_pdf_surface_restrict_to_version(surface.get(), CAIRO_PDF_VERSION_1_5);
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, doc.title.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Mamori");
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATE_DATE,
                                 PdfDate(created).c_str());
  CairoPtr cr(cairo_create(surface.get()));
  ContextPtr context(pango_cairo_create_context(cr.get()));
  pango_context_set_language(context.get(), pango_language_from_string("ja"));
  FontOptionsPtr options(cairo_font_options_create());
  cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options(context.get(), options.get());

  std::vector<Laid> laid;
  laid.reserve(blocks.size());
  for (const Block& b : blocks) laid.push_back(LayOut(b, context.get(), fonts));
  std::vector<OutlineEntry> outline;
  MAMORI_ASSIGN_OR_RETURN(auto pages, Paginate(laid, outline));

  const int total = static_cast<int>(pages.size());
  for (int p = 0; p < total; ++p) {
    for (const Placed& placed : pages[static_cast<size_t>(p)]) {
      DrawPlaced(cr.get(), laid[placed.laid], placed);
    }
    DrawFooter(cr.get(), context.get(), fonts, p + 1, total);
    cairo_show_page(cr.get());
  }
  // The headings as the PDF's bookmarks (しおり), nested by level.
  int parents[4] = {CAIRO_PDF_OUTLINE_ROOT, 0, 0, 0};
  int last_level = 0;
  for (const OutlineEntry& e : outline) {
    const int level = std::min(e.level, last_level + 1);
    const std::string dest = "page=" + std::to_string(e.page) + " pos=[" +
                             std::to_string(static_cast<int>(kLeft)) + " " +
                             std::to_string(static_cast<int>(e.y)) + "]";
    const int id =
        cairo_pdf_surface_add_outline(surface.get(), parents[level - 1], e.text.c_str(),
                                      dest.c_str(), static_cast<cairo_pdf_outline_flags_t>(0));
    if (level < 4) parents[level] = id;
    last_level = level;
  }
  cr.reset();
  cairo_surface_finish(surface.get());
  if (sink.overflow) {
    return Error::TooLarge("PDF が大きすぎます。文書を分けてください。",
                           "the PDF exceeds the size limit");
  }
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Error::Internal(std::string("cairo: ") +
                           cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  return RenderedPdf{std::move(sink.bytes), total};
}

}  // namespace mamori::registers
