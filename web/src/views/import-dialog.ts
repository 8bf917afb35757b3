// The import dialog of a register list: choose a CSV or XLSX file, insert or upsert, optionally
// check only (dry run). The file's bytes are POSTed as they are; on 400 every error is listed
// by row and column, and nothing has been written.

import { ApiError, errorMessage, problemErrorMessage, sendFile } from '../api';
import { h, replaceChildren } from '../dom';
import { label, t } from '../i18n';
import type { ImportAnswer, ProblemError, RegisterDef } from '../types';

const formats: Record<string, { format: string; contentType: string }> = {
  csv: { format: 'csv', contentType: 'text/csv' },
  xlsx: { format: 'xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
};

/** The format of a file name by its extension, or undefined. */
function formatOf(name: string): { format: string; contentType: string } | undefined {
  const ext = /\.([^.]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  return formats[ext];
}

/** The row-by-row errors of a refused import, or the warnings of an accepted one. */
function errorsTable(entries: ProblemError[], id = 'import-errors', caption = t('importErrorsCaption')): HTMLElement {
  const fieldLabel = (e: { field?: string; label?: string }) => e.label ?? e.field ?? '';
  return h(
    'table',
    { class: 'data-table', id },
    h('caption', null, caption),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col', class: 'numeric' }, t('importRow')),
        h('th', { scope: 'col' }, t('importColumn')),
        h('th', { scope: 'col' }, t('importField')),
        h('th', { scope: 'col' }, t('importMessage')),
      ),
    ),
    h(
      'tbody',
      null,
      entries.map((e) =>
        h(
          'tr',
          null,
          h('td', { class: 'numeric' }, e.row ? e.row : ''),
          h('td', null, e.column ?? ''),
          h('td', null, fieldLabel(e)),
          h('td', null, problemErrorMessage(e)),
        ),
      ),
    ),
  );
}

/**
 * Builds the dialog for register `reg`. `onClose(changed)` runs when it closes; `changed` is
 * true when a real (not dry-run) import wrote something.
 */
export function importDialog(reg: RegisterDef, onClose: (changed: boolean) => void): { dialog: HTMLDialogElement; open: () => void } {
  const keyField = reg.fields.find((f) => f.name === reg.key_field);
  const fileInput = h('input', {
    type: 'file',
    id: 'import-file',
    name: 'file',
    accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'aria-describedby': 'import-file-help',
  });
  const modeRadio = (value: string, text: string, checked: boolean) =>
    h(
      'div',
      { class: 'choice' },
      h('input', { type: 'radio', name: 'mode', value, id: `import-mode-${value}`, checked }),
      h('label', { for: `import-mode-${value}` }, text),
    );
  const dryRun = h('input', { type: 'checkbox', id: 'import-dry-run', name: 'dry_run' });
  const result = h('div', { id: 'import-result', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'import-submit' }, t('importSubmit'));
  const closeButton = h('button', { type: 'button', class: 'button', id: 'import-close' }, t('close'));

  let changed = false;
  let busy = false;

  const form = h(
    'form',
    { method: 'dialog', novalidate: true, id: 'import-form' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'import-file' }, t('importFile')),
      h('p', { class: 'help', id: 'import-file-help' }, t('importFileHelp')),
      fileInput,
    ),
    h(
      'fieldset',
      { class: 'field' },
      h('legend', null, t('importMode')),
      modeRadio('insert', t('importModeInsert'), true),
      modeRadio('upsert', t('importModeUpsert', { key: keyField ? label(keyField.label) : reg.key_field }), false),
    ),
    h('div', { class: 'field choice' }, dryRun, h('label', { for: 'import-dry-run' }, t('importDryRun'))),
    h('div', { class: 'button-row' }, submit, closeButton),
    result,
  );

  const dialog = h(
    'dialog',
    { class: 'dialog dialog-wide', id: 'import-dialog', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, t('importTitle'), ' — ', label(reg.label)),
    form,
  );

  const show = (tone: 'info' | 'success' | 'error', ...content: (HTMLElement | string | undefined)[]) => {
    replaceChildren(
      result,
      h('div', { class: `notice notice-${tone}` }, content.map((c) => (c === undefined ? null : typeof c === 'string' ? h('p', null, c) : c))),
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const file = fileInput.files?.[0];
    if (!file) {
      show('error', t('importChooseFile'));
      fileInput.focus();
      return;
    }
    const fmt = formatOf(file.name);
    if (!fmt) {
      show('error', t('importBadExtension'));
      fileInput.focus();
      return;
    }
    const mode = (form.querySelector('input[name="mode"]:checked') as HTMLInputElement | null)?.value ?? 'insert';
    const params = new URLSearchParams({ format: fmt.format, mode, dry_run: dryRun.checked ? 'true' : 'false' });
    busy = true;
    submit.disabled = true;
    show('info', t('importRunning'));
    try {
      const answer = await sendFile<ImportAnswer>(`${reg.path}/import`, params, file, fmt.contentType);
      const counts = { created: answer.created, updated: answer.updated, unchanged: answer.unchanged };
      const warnings = answer.warnings?.length ? errorsTable(answer.warnings, 'import-warnings', t('warningsTitle')) : undefined;
      if (answer.dry_run) {
        show('success', t('importChecked', counts), warnings);
      } else {
        show('success', t('importDone', counts), warnings);
        if (answer.created > 0 || answer.updated > 0) changed = true;
      }
    } catch (err) {
      if (err instanceof ApiError && err.errors.length > 0) {
        show('error', t('importErrors', { n: err.errors.length }), errorsTable(err.errors));
      } else {
        show('error', errorMessage(err));
      }
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });

  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    const didChange = changed;
    changed = false;
    onClose(didChange);
  });

  return {
    dialog,
    open() {
      replaceChildren(result);
      form.reset();
      dialog.showModal();
      fileInput.focus();
    },
  };
}
