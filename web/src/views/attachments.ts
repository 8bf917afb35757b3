// The 添付ファイル section of a record's page, for every register whose definition takes files
// (meta: `attachments`): the files with their size, the SHA-256 the server computed (shortened,
// with the full value and a copy button), who added them and when, a download link, an upload
// control and a delete button when the server says the user may (GET …/attachments answers
// `can_add`, `can_remove` and, when the record's state refuses files, why).

import { ApiError, apiUrl, errorMessage, getJson, sendFile, sendJson } from '../api';
import { h, type Child } from '../dom';
import { formatDateTime, formatNumber, label, t } from '../i18n';
import { announce, redraw } from '../state';
import type { AttachmentList, RegisterDef } from '../types';
import { confirmDialog } from './common';

/** "1.5 MiB", "20 MiB", "300 B". */
export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${formatNumber(Math.round((n / (1 << 20)) * 10) / 10)} MiB`;
  if (n >= 1024) return `${formatNumber(Math.round((n / 1024) * 10) / 10)} KiB`;
  return `${formatNumber(n)} B`;
}

export interface AttachmentsSection {
  load(): Promise<void>;
  render(): Child;
}

/**
 * The section for record `id` of `reg`; `changed` runs after a file was added or removed (the
 * record's history has a new entry).
 */
export function attachmentsSection(reg: RegisterDef, id: number, changed: () => Promise<void>): AttachmentsSection {
  const base = `${reg.path}/${id}/attachments`;
  let list: AttachmentList | null = null;
  let loadError = '';
  let uploadError = '';
  let busy = false;
  let fileInput: HTMLInputElement | null = null;

  async function load(): Promise<void> {
    try {
      list = await getJson<AttachmentList>(base);
      loadError = '';
    } catch (err) {
      list = null;
      loadError = errorMessage(err);
    }
  }

  async function upload(): Promise<void> {
    if (busy || !list) return;
    const file = fileInput?.files?.[0];
    uploadError = '';
    if (!file) uploadError = t('attachmentNoFile');
    else if (file.size === 0) uploadError = t('attachmentEmptyFile');
    else if (file.size > list.max_bytes) uploadError = t('attachmentTooLarge', { size: formatBytes(list.max_bytes) });
    if (uploadError || !file) {
      redraw();
      document.getElementById('attachment-error')?.focus();
      return;
    }
    busy = true;
    redraw();
    try {
      const added = await sendFile<{ name: string; sha256: string }>(
        base,
        new URLSearchParams({ name: file.name }),
        file,
        'application/octet-stream',
      );
      if (fileInput) fileInput.value = '';
      await load();
      await changed();
      busy = false;
      redraw();
      announce(t('attachmentUploadedDone', { name: added.name, hash: added.sha256 }), 'success');
    } catch (err) {
      busy = false;
      uploadError = errorMessage(err);
      if (err instanceof ApiError && err.errors.length) {
        uploadError += ` ${err.errors.map((e) => e.message ?? '').join(' ')}`;
      }
      redraw();
      document.getElementById('attachment-error')?.focus();
    }
  }

  async function remove(fileId: number, name: string): Promise<void> {
    if (busy) return;
    if (!(await confirmDialog(t('attachmentDeleteConfirm', { name }), t('attachmentDelete')))) return;
    busy = true;
    uploadError = '';
    try {
      await sendJson<null>('DELETE', `${base}/${fileId}`);
      await load();
      await changed();
      busy = false;
      redraw();
      announce(t('attachmentDeleted'), 'success');
    } catch (err) {
      busy = false;
      uploadError = errorMessage(err);
      redraw();
      document.getElementById('attachment-error')?.focus();
    }
  }

  async function copyHash(hash: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(hash);
      announce(t('attachmentHashCopied'), 'success');
    } catch {
      announce(t('attachmentHashCopyManually'), 'info');
    }
  }

  function table(l: AttachmentList): Child {
    if (l.items.length === 0) return h('p', { id: 'attachments-empty' }, t('attachmentsEmpty'));
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id: 'attachments-table' },
        h('caption', { class: 'visually-hidden' }, t('attachments')),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            (['attachmentName', 'attachmentSize', 'attachmentHash', 'attachmentUploaded'] as const).map((k) => h('th', { scope: 'col' }, t(k))),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('attachmentDownload'))),
          ),
        ),
        h(
          'tbody',
          null,
          l.items.map((a) =>
            h(
              'tr',
              { 'data-attachment': a.id },
              h('td', { class: 'attachment-name' }, a.name),
              h('td', { class: 'numeric' }, formatBytes(a.size)),
              h(
                'td',
                { class: 'attachment-hash' },
                h(
                  'details',
                  null,
                  h('summary', null, h('code', { title: a.sha256 }, `${a.sha256.slice(0, 12)}…`), ' ', h('span', { class: 'visually-hidden' }, t('attachmentFullHash'))),
                  h('code', { class: 'hash-full', 'data-sha256': a.sha256 }, a.sha256),
                ),
                h(
                  'button',
                  { type: 'button', class: 'button button-quiet button-small', 'aria-label': t('attachmentCopyHashName', { name: a.name }), onclick: () => void copyHash(a.sha256) },
                  t('attachmentCopyHash'),
                ),
              ),
              h('td', null, h('time', { datetime: a.uploaded_at }, formatDateTime(a.uploaded_at)), h('br', null), a.uploaded_by),
              h(
                'td',
                null,
                h('a', { href: apiUrl(`${base}/${a.id}`), download: a.name, class: 'button button-quiet button-small', 'aria-label': t('attachmentDownloadName', { name: a.name }) }, t('attachmentDownload')),
                l.can_remove
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'button button-danger button-small',
                        'aria-label': t('attachmentDeleteName', { name: a.name }),
                        onclick: () => void remove(a.id, a.name),
                      },
                      t('attachmentDelete'),
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  function uploadForm(l: AttachmentList): Child {
    if (!l.can_add) {
      return l.refusal ? h('p', { class: 'notice notice-info', id: 'attachment-refusal' }, label(l.refusal)) : null;
    }
    // One input for the section's life: a redraw keeps the chosen file.
    fileInput ??= h('input', { type: 'file', id: 'attachment-file', name: 'file', 'aria-describedby': 'attachment-limit' });
    const form = h(
      'form',
      { id: 'attachment-form', class: 'attachment-form', novalidate: true },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'attachment-file' }, t('attachmentChoose')),
        h('p', { class: 'help', id: 'attachment-limit' }, t('attachmentLimit', { size: formatBytes(l.max_bytes), files: l.max_files })),
        fileInput,
      ),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'submit', class: 'button', id: 'attachment-upload', 'aria-disabled': busy ? 'true' : null }, busy ? t('attachmentUploading') : t('attachmentUpload')),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void upload();
    });
    return form;
  }

  return {
    load,
    render() {
      const note = reg.attachments ? label(reg.attachments.note) : '';
      return h(
        'section',
        { 'aria-labelledby': 'attachments-heading', class: 'attachments', id: 'attachments' },
        h('h2', { id: 'attachments-heading' }, t('attachments')),
        note ? h('p', { class: 'help', id: 'attachments-note' }, note) : null,
        h('p', { class: 'help' }, t('attachmentsIntro')),
        uploadError ? h('div', { class: 'notice notice-error', id: 'attachment-error', role: 'alert', tabindex: -1 }, h('p', null, uploadError)) : null,
        loadError ? h('p', { class: 'notice notice-error' }, `${t('attachmentsError')} ${loadError}`) : null,
        list ? table(list) : null,
        list ? uploadForm(list) : null,
      );
    },
  };
}
