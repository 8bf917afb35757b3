// Pieces several pages use: the page heading, error and "not found" pages, the confirmation
// dialog.

import { errorMessage } from '../api';
import { h, replaceChildren } from '../dom';
import { t } from '../i18n';
import { reload, type View } from '../state';

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
