// Pieces several pages use: the page heading, error, "not found" and "no permission" pages, the
// confirmation dialog, a labelled input with its help and error.

import { errorMessage } from '../api';
import { h, replaceChildren, srOnly, type Child, type Props } from '../dom';
import { t, type MessageKey } from '../i18n';
import { can } from '../session';
import { reload, type View } from '../state';

/** A part of a page that renders itself from its own state (e.g. one section of the settings). */
export interface PagePart {
  render(): HTMLElement | null;
}

/** The page's h1; focused after navigation so screen readers announce the new page. */
export function pageHeading(text: string): HTMLHeadingElement {
  return h('h1', { id: 'page-title', tabindex: -1 }, text);
}

/** An error box (role=alert) with a reload button. */
export function errorBox(err: unknown): HTMLElement {
  return h(
    'div',
    { class: 'notice notice-error', role: 'alert' },
    h('p', null, errorMessage(err)),
    h('button', { type: 'button', class: 'button', id: 'retry', onclick: () => reload() }, t('reload')),
  );
}

/** A page that only says that loading failed. `title` is computed at render (language). */
export function errorView(title: () => string, err: unknown): View {
  return {
    title,
    render(root) {
      replaceChildren(root, pageHeading(title()), errorBox(err));
    },
  };
}

export function notFoundView(): View {
  return {
    title: () => t('notFoundTitle'),
    render(root) {
      replaceChildren(
        root,
        pageHeading(t('notFoundTitle')),
        h('p', null, t('notFoundText')),
        h('p', null, h('a', { href: '#/' }, t('backToDashboard'))),
      );
    },
  };
}

/** The page for a route the user may not view (or that the server answered with 403). */
export function forbiddenView(): View {
  return {
    title: () => t('forbiddenTitle'),
    render(root) {
      replaceChildren(
        root,
        h(
          'section',
          { id: 'forbidden', class: 'forbidden', 'aria-labelledby': 'page-title' },
          pageHeading(t('forbiddenTitle')),
          h('p', { id: 'forbidden-text' }, t('forbiddenText')),
          h('p', null, h('a', { href: '#/' }, t('backToDashboard'))),
        ),
      );
    },
  };
}

export interface InputFieldOptions {
  id: string;
  name: string;
  label: string;
  /** The input's type; text when not given. */
  type?: string;
  value?: string;
  help?: string;
  /** An error shown next to the field (aria-invalid, described by it). */
  error?: string;
  autocomplete?: string;
  inputmode?: string;
  required?: boolean;
  /** Called with the input's text on every change. */
  onInput?: (value: string) => void;
  /** Further attributes of the input. */
  extra?: Props;
}

/** A labelled one-line input with its help and error text (the error before the input). */
export function inputField(o: InputFieldOptions): HTMLElement {
  const helpId = o.help ? `${o.id}-help` : null;
  const errorId = o.error ? `${o.id}-error` : null;
  const input = h('input', {
    id: o.id,
    name: o.name,
    type: o.type ?? 'text',
    autocomplete: o.autocomplete ?? null,
    inputmode: o.inputmode ?? null,
    autocapitalize: 'off',
    spellcheck: 'false',
    'aria-describedby': [helpId, errorId].filter(Boolean).join(' ') || null,
    'aria-invalid': o.error ? 'true' : null,
    'aria-required': o.required ? 'true' : null,
    ...o.extra,
    oninput: (event: Event) => o.onInput?.((event.target as HTMLInputElement).value),
  });
  // The value goes in as a property, not an attribute: a password never sits in the markup.
  input.value = o.value ?? '';
  return h(
    'div',
    { class: `field${o.error ? ' has-error' : ''}`, 'data-field': o.name },
    h('label', { for: o.id }, o.label, o.required ? h('span', { class: 'required' }, t('requiredMark')) : null),
    o.help ? h('p', { class: 'help', id: helpId }, o.help) : null,
    o.error ? h('p', { class: 'field-error', id: errorId }, srOnly(t('errorPrefix')), o.error) : null,
    input,
  );
}

/** A notice with role=alert that can take focus (id given), or nothing for an empty message. */
export function alertBox(id: string, message: string, ...more: (HTMLElement | string | null)[]): HTMLElement | null {
  if (!message) return null;
  return h('div', { class: 'notice notice-error', id, role: 'alert', tabindex: -1 }, h('p', null, message), more);
}

/**
 * Asks the user to confirm in a modal <dialog> (keyboard accessible, focus kept inside).
 * Resolves true when `okText` is chosen.
 */
export function confirmDialog(message: string, okText: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', id: 'confirm-dialog', 'aria-labelledby': 'confirm-message' },
      h('p', { id: 'confirm-message' }, message),
    );
    const ok = h('button', { type: 'button', class: 'button button-primary', id: 'confirm-ok' }, okText);
    const cancel = h('button', { type: 'button', class: 'button', id: 'confirm-cancel' }, t('cancel'));
    dialog.append(h('div', { class: 'button-row' }, ok, cancel));
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * Previous/next links for a paged list (null when everything fits on one page). `withQuery`
 * turns a change of the page's query into its URL.
 */
export function pagination(
  total: number,
  offset: number,
  pageSize: number,
  withQuery: (change: (q: URLSearchParams) => void) => string,
): HTMLElement | null {
  if (total <= pageSize) return null;
  const pages = Math.ceil(total / pageSize);
  const page = Math.floor(offset / pageSize) + 1;
  const pageLink = (target: number, text: string, id: string, rel: string) =>
    target >= 1 && target <= pages
      ? h(
          'a',
          {
            href: withQuery((q) =>
              target === 1 ? q.delete('offset') : q.set('offset', String((target - 1) * pageSize)),
            ),
            id,
            rel,
            class: 'button',
          },
          text,
        )
      : h('span', { class: 'button is-disabled', 'aria-disabled': 'true', id }, text);
  return h(
    'nav',
    { class: 'pagination', id: 'pagination', 'aria-label': t('pagination') },
    pageLink(page - 1, t('previousPage'), 'page-prev', 'prev'),
    h('span', { class: 'page-of' }, t('pageOf', { page, pages })),
    pageLink(page + 1, t('nextPage'), 'page-next', 'next'),
  );
}

/** The texts of an engine page's "how to record results" steps (ネットワーク分離, 通信監視). */
export interface EngineHowToTexts {
  title: MessageKey;
  again: MessageKey; // the summary when the steps are folded away
  intro: MessageKey;
  token: MessageKey;
  run: MessageKey;
  schedule: MessageKey;
  docs: MessageKey;
}

/**
 * How an engine reports to this server: make a service token, run the engine with
 * --report-to, schedule it. `id` prefixes the element ids (`${id}-howto`, `${id}-command`,
 * `${id}-settings-link`); `open`: a section (no results yet), else a folded details element.
 */
export function engineHowTo(
  id: string,
  texts: EngineHowToTexts,
  tokenCommand: string,
  runCommand: string,
  open: boolean,
): HTMLElement {
  const body: Child[] = [
    h('p', null, t(texts.intro)),
    h(
      'ol',
      { class: 'netsep-steps' },
      h(
        'li',
        null,
        t(texts.token),
        ' ',
        can('service_accounts', 'create') ? h('a', { href: '#/m/settings', id: `${id}-settings-link` }, t('netsepHowToSettings')) : null,
        h('pre', { class: 'netsep-command' }, h('code', null, tokenCommand)),
      ),
      h('li', null, t(texts.run), h('pre', { class: 'netsep-command', id: `${id}-command` }, h('code', null, runCommand))),
      h('li', null, t(texts.schedule)),
    ),
    h('p', { class: 'help' }, t(texts.docs)),
  ];
  if (open) {
    return h('section', { 'aria-labelledby': `${id}-howto-title`, id: `${id}-howto` }, h('h2', { id: `${id}-howto-title` }, t(texts.title)), body);
  }
  return h('details', { class: 'netsep-howto', id: `${id}-howto` }, h('summary', null, t(texts.again)), body);
}

