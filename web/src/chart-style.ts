// What the on-demand charts (chart.ts, heatmap.ts) share: the design tokens' colours and font,
// read from the page's CSS so the canvas matches the rest of the UI.

/** The value of CSS custom property `name` on the root element, else `fallback`. */
export function token(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** The body text colour and font family for chart text. */
export function chartText(): { color: string; font: string } {
  return { color: token('--color-neutral-solid-gray-800', '#333'), font: token('--font-family-sans', 'sans-serif') };
}
