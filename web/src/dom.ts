// Small DOM helpers. All text goes in as text nodes (never parsed as HTML), and attributes are
// set one by one, so nothing from the API can inject markup. Inline `style` attributes and
// `on*` attributes are refused: the server's CSP forbids them (styles come from classes).

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Handler>;

/**
 * Creates an element. `props` values: a string or number sets the attribute, `true` sets an
 * empty attribute, `false`/null/undefined skip it, and a function under `onX` (e.g. `onclick`,
 * `oninput`) is added as an event listener for event `x`.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (typeof value === 'function') {
        if (!name.startsWith('on')) throw new Error(`handler under non-event name ${name}`);
        el.addEventListener(name.slice(2).toLowerCase(), value);
        continue;
      }
      if (name === 'style' || name.toLowerCase().startsWith('on')) {
        throw new Error(`attribute ${name} is not allowed (CSP)`);
      }
      if (value === null || value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (flattening arrays, skipping null/undefined/false). */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces all children of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Text that screen readers read but that is not shown. */
export function srOnly(text: string): HTMLSpanElement {
  return h('span', { class: 'visually-hidden' }, text);
}

/** Turns any string into a safe element id fragment (letters, digits, '-', '_'). */
export function idFragment(text: string): string {
  return text.replace(/[^0-9A-Za-z_-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}`);
}

/** Moves focus to `el`, making it focusable first if it is not (e.g. a heading). */
export function focusElement(el: HTMLElement | null): void {
  if (!el) return;
  if (el.tabIndex < 0 && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
}
