// A register record's page: create (#/r/{key}/new) and detail/edit (#/r/{key}/{id}). The form
// is generated from the register's fields (one control per field type); a new record's form
// starts from the route's query, one parameter per field (#/r/evidence/new?control=c_6_1_02&kind=
// document), so other pages can open it pre-filled. It saves with PATCH
// {version, …changed fields}, shows the server's validation errors in a summary and next to
// each field, explains a 409 (someone else changed the record), archives and restores, and
// lists the change history.

import { ApiError, errorMessage, getJson, problemErrorMessage, sendJson } from '../api';
import { h, replaceChildren, srOnly, type Child } from '../dom';
import { displayValue } from '../fields';
import { formatDateTime, label, t, type MessageKey } from '../i18n';
import {
  announce,
  displayTitle,
  forgetRefOptions,
  navigate,
  redraw,
  loadSettings,
  refOptions,
  validOptions,
  type RefOption,
  type View,
} from '../state';
import type {
  ClassificationCatalog,
  FieldDef,
  HistoryAnswer,
  HistoryEntry,
  ProblemError,
  RegisterDef,
  RegisterRecord,
  Settings,
} from '../types';
import { can } from '../session';
import {
  assetsRegisterKey,
  documentVersionsRegisterKey,
  riskRoundsRegisterKey,
  risksRegisterKey,
  summaryPage,
  usersRegisterKey,
} from '../modules';
import { attachmentsSection } from './attachments';
import { confirmDialog, pageHeading } from './common';
import { credentialsReset } from './credentials-reset';
import { loadVersionPanel, versionPanel } from './documents';
import { handlingRules } from './handling-rules';
import { listHash } from './register-list';
import { loadRiskPanel, riskPanel, roundPanel } from './risks';

/** What a form control holds: a checkbox's state or an input's text. */
type Draft = Map<string, string | boolean>;

/** The control's value for a stored value. */
function fromRecord(f: FieldDef, v: unknown): string | boolean {
  if (f.type === 'boolean') return v === true;
  if (v === null || v === undefined) return '';
  return String(v);
}

/** The JSON value to send for a control's value (empty means null). */
function toValue(f: FieldDef, v: string | boolean | undefined): string | number | boolean | null {
  if (f.type === 'boolean') return v === true;
  const s = typeof v === 'string' ? v : '';
  if (s.trim() === '') return null;
  if (f.type === 'integer' || f.type === 'ref') {
    // A malformed number is sent as typed so that the server's message names the problem.
    return /^-?\d+$/.test(s.trim()) ? Number(s.trim()) : s;
  }
  return s;
}

/** A field's `default` from the metadata as a stored value. */
function defaultValue(f: FieldDef): unknown {
  if (f.type === 'boolean') return f.default === 'true' || f.default === '1';
  return f.default;
}

/** The warnings of a create or update answer as one line, or '' when there are none. */
function warningText(warnings: ProblemError[] | undefined): string {
  return (warnings ?? []).map((w) => `${w.label ? `「${w.label}」` : ''}${problemErrorMessage(w)}`).join(' ');
}

/**
 * A panel some registers show under a record's form (see modules.ts), with the data it loads
 * for the record: loaded with the record and again after every change to it.
 */
interface RecordPanel {
  load(record: RegisterRecord): Promise<void>;
  render(record: RegisterRecord | null): Child;
}

function recordPanel<T>(load: (r: RegisterRecord) => Promise<T>, render: (r: RegisterRecord | null, data: T | null) => Child): () => RecordPanel {
  return () => {
    let data: T | null = null;
    return {
      async load(record) {
        data = await load(record);
      },
      render: (record) => render(record, data),
    };
  };
}

const recordPanels: Record<string, () => RecordPanel> = {
  // A policy document version's text, decisions and links.
  [documentVersionsRegisterKey]: recordPanel(loadVersionPanel, versionPanel),
  // A risk's place on the matrix, its acceptance and its further assets.
  [risksRegisterKey]: recordPanel(loadRiskPanel, riskPanel),
  // The link to a round's report.
  [riskRoundsRegisterKey]: recordPanel(async () => null, (r) => roundPanel(r)),
};

const actionKeys: Record<string, MessageKey> = {
  create: 'actionCreate',
  update: 'actionUpdate',
  archive: 'actionArchive',
  restore: 'actionRestore',
  import: 'actionImport',
  attach: 'actionAttach',
  detach: 'actionDetach',
};

export async function loadRegisterRecord(reg: RegisterDef, id: number | null, query?: URLSearchParams): Promise<View> {
  const refFields = reg.fields.filter((f) => f.type === 'ref' && f.ref);
  const recordPath = (suffix = '') => `${reg.path}/${id}${suffix}`;
  const loadHistory = () => getJson<HistoryAnswer>(recordPath('/history')).then((a) => a.items ?? []);

  const needsSettings = reg.fields.some((f) => f.options_setting);
  const isAsset = reg.key === assetsRegisterKey;
  const [loaded, historyResult, settingsResult, classificationResult, ...refResults] = await Promise.all([
    id === null ? Promise.resolve(null) : getJson<RegisterRecord>(recordPath()),
    id === null ? Promise.resolve(null) : loadHistory().catch((err: unknown) => err),
    needsSettings ? loadSettings().catch(() => null) : Promise.resolve(null),
    isAsset && id !== null ? getJson<ClassificationCatalog>('classification').catch(() => null) : Promise.resolve(null),
    ...refFields.map((f) => refOptions(f.ref!).catch(() => null)),
  ]);
  const settings = settingsResult as Settings | null;
  const panel = recordPanels[reg.key]?.() ?? null;
  if (panel && loaded) await panel.load(loaded as RegisterRecord);
  // Files kept with the record (registers whose definition takes them).
  const files =
    reg.attachments && id !== null
      ? attachmentsSection(reg, id, async () => {
          await refreshHistory();
        })
      : null;
  await files?.load();
  const classification = classificationResult as ClassificationCatalog | null;

  let record: RegisterRecord | null = loaded as RegisterRecord | null;
  const choices = new Map<string, RefOption[] | null>(refFields.map((f, i) => [f.name, (refResults[i] as RefOption[] | null) ?? null]));
  let history: HistoryEntry[] | null = Array.isArray(historyResult) ? historyResult : null;
  let historyError = historyResult !== null && !Array.isArray(historyResult);
  let draft: Draft = new Map();
  let fieldErrors: ProblemError[] = [];
  let summaryDetail = '';
  let generalError = '';
  let conflict = '';
  let busy = false;

  /** A new record's starting value: the route's query parameter named like the field, else the default. */
  const initialValue = (f: FieldDef): unknown => {
    const given = query?.get(f.name);
    if (given !== null && given !== undefined) return f.type === 'boolean' ? given === 'true' : given;
    return f.default !== undefined ? defaultValue(f) : undefined;
  };
  const resetDraft = () => {
    draft = new Map(reg.fields.map((f) => [f.name, fromRecord(f, record ? record[f.name] : initialValue(f))]));
  };
  // The credentials reset of the 利用者 register (see modules.ts).
  const credentials = reg.key === usersRegisterKey ? credentialsReset(reg) : null;
  /** Whether the user may change this record (or, for a new one, create it). */
  const mayEdit = () => (record ? !reg.immutable && can(reg.key, 'update') : can(reg.key, 'create'));
  resetDraft();

  const clearErrors = () => {
    fieldErrors = [];
    summaryDetail = '';
    generalError = '';
    conflict = '';
  };

  const fieldByName = (name: string | undefined) => reg.fields.find((f) => f.name === name);

  const refLabel = (f: FieldDef | undefined, value: unknown): string | undefined => {
    if (!f || f.type !== 'ref' || value === null || value === undefined) return undefined;
    const found = choices.get(f.name)?.find((c) => c.id === Number(value));
    if (found) return found.label;
    const ref = record?._refs?.[f.name];
    return ref && ref.id === Number(value) ? ref.label : undefined;
  };

  /** Redraws, then moves focus to the element with `focusId` (an alert) if given. */
  const show = (focusId?: string) => {
    redraw();
    if (focusId) document.getElementById(focusId)?.focus();
  };

  const refreshHistory = async () => {
    if (id === null) return;
    try {
      history = await loadHistory();
      historyError = false;
    } catch {
      historyError = true;
    }
  };

  /** Handles a failed save, archive or restore. */
  const failed = (err: unknown) => {
    if (err instanceof ApiError && (err.status === 400 || (err.status === 409 && err.errors.length > 0))) {
      fieldErrors = err.errors;
      summaryDetail = errorMessage(err);
      show('error-summary');
    } else if (err instanceof ApiError && err.status === 409 && record) {
      conflict = errorMessage(err);
      show('conflict');
    } else {
      generalError = errorMessage(err);
      show('form-error');
    }
  };

  async function save(): Promise<void> {
    if (busy || record?.archived || !mayEdit()) return;
    clearErrors();
    const body: Record<string, unknown> = {};
    for (const f of reg.fields) {
      if (f.system) continue;
      const v = draft.get(f.name);
      if (record) {
        if (v !== fromRecord(f, record[f.name])) body[f.name] = toValue(f, v);
      } else {
        const value = toValue(f, v);
        if (value !== null) body[f.name] = value;
      }
    }
    if (record && Object.keys(body).length === 0) {
      show();
      announce(t('noChanges'));
      return;
    }
    busy = true;
    show();
    try {
      if (!record) {
        const created = await sendJson<RegisterRecord>('POST', reg.path, body);
        forgetRefOptions(reg.key);
        busy = false;
        const warned = warningText(created.warnings);
        navigate(
          `#/r/${encodeURIComponent(reg.key)}/${created.id}`,
          warned ? { text: t('createdWithWarnings', { warnings: warned }), tone: 'info' } : { text: t('created'), tone: 'success' },
        );
        return;
      }
      const updated = await sendJson<RegisterRecord>('PATCH', recordPath(), { version: record.version, ...body });
      const warned = warningText(updated.warnings);
      delete updated.warnings;
      record = updated;
      await panel?.load(updated);
      forgetRefOptions(reg.key);
      resetDraft();
      await refreshHistory();
      await files?.load();
      busy = false;
      show();
      if (warned) announce(t('savedWithWarnings', { warnings: warned }), 'info');
      else announce(t('saved'), 'success');
    } catch (err) {
      busy = false;
      failed(err);
    }
  }

  async function setArchived(archive: boolean): Promise<void> {
    if (!record || busy) return;
    const ok = await confirmDialog(
      archive ? t('archiveConfirm') : t('restoreConfirm'),
      archive ? t('archiveConfirmOk') : t('restoreConfirmOk'),
    );
    if (!ok) return;
    clearErrors();
    busy = true;
    try {
      const answer = await sendJson<RegisterRecord | null>('POST', recordPath(archive ? '/archive' : '/restore'), {
        version: record.version,
      });
      record = answer && typeof answer.id === 'number' ? answer : await getJson<RegisterRecord>(recordPath());
      forgetRefOptions(reg.key);
      resetDraft();
      await refreshHistory();
      await files?.load();
      busy = false;
      show(archive ? 'restore' : 'archive');
      announce(archive ? t('archivedDone') : t('restoredDone'), 'success');
    } catch (err) {
      busy = false;
      failed(err);
    }
  }

  async function reloadRecord(): Promise<void> {
    try {
      record = await getJson<RegisterRecord>(recordPath());
      await panel?.load(record);
      clearErrors();
      resetDraft();
      await refreshHistory();
      await files?.load();
      show('page-title');
    } catch (err) {
      generalError = errorMessage(err);
      show('form-error');
    }
  }

  // ---- Rendering -----------------------------------------------------------------------------

  const errorsFor = (name: string) => fieldErrors.filter((e) => e.field === name);

  function control(f: FieldDef, common: Record<string, string | null>): HTMLElement {
    const value = draft.get(f.name);
    const text = typeof value === 'string' ? value : '';
    const onInput = (event: Event) => {
      const el = event.target as HTMLInputElement;
      draft.set(f.name, el.type === 'checkbox' ? el.checked : el.value);
    };
    // No maxlength: the browser would cut pasted text silently; the server names the limit.
    switch (f.type) {
      case 'textarea':
        return h('textarea', { ...common, rows: 4, oninput: onInput }, text);
      case 'integer':
        return h('input', { ...common, type: 'number', step: 1, inputmode: 'numeric', min: f.min ?? null, max: f.max ?? null, value: text, oninput: onInput });
      case 'date':
        return h('input', { ...common, type: 'date', value: text, oninput: onInput });
      case 'email':
        return h('input', { ...common, type: 'email', autocomplete: 'off', value: text, oninput: onInput });
      case 'boolean':
        return h('input', { ...common, type: 'checkbox', checked: value === true, onchange: onInput });
      case 'enum':
      case 'ref': {
        const select = h('select', { ...common, onchange: onInput }, h('option', { value: '' }, f.required ? t('selectPlaceholder') : t('unset')));
        const options: { value: string; text: string }[] =
          f.type === 'enum'
            ? validOptions(f, settings)
                .filter((o) => o.in_forms !== false)
                .map((o) => ({ value: o.value, text: label(o.label) }))
            : (choices.get(f.name) ?? [])
                .filter((c) => !(f.ref === reg.key && record && c.id === record.id))
                .map((c) => ({ value: String(c.id), text: c.label }));
        // Keep a current value that is not among the choices (e.g. an archived record).
        if (text !== '' && !options.some((o) => o.value === text)) {
          options.push({ value: text, text: f.type === 'ref' ? (refLabel(f, text) ?? `#${text}`) : text });
        }
        for (const o of options) select.append(h('option', { value: o.value }, o.text));
        select.value = text;
        return select;
      }
      default:
        return h('input', { ...common, type: 'text', value: text, oninput: onInput });
    }
  }

  function fieldBlock(f: FieldDef): HTMLElement {
    const id = `f-${f.name}`;
    const errors = errorsFor(f.name);
    const helpId = f.help && label(f.help) ? `${id}-help` : null;
    const errorId = errors.length ? `${id}-error` : null;
    const refFailed = f.type === 'ref' && choices.get(f.name) === null;
    const common = {
      id,
      name: f.name,
      'aria-describedby': [helpId, errorId].filter(Boolean).join(' ') || null,
      'aria-invalid': errors.length ? 'true' : null,
      'aria-required': f.required && !f.generated ? 'true' : null,
      disabled: f.system ? 'disabled' : null,
    };
    const labelEl = h(
      'label',
      { for: id },
      label(f.label),
      f.required && !f.generated ? h('span', { class: 'required' }, t('requiredMark')) : null,
    );
    const help = helpId
      ? h('p', { class: 'help', id: helpId }, label(f.help), f.generated && !record ? ` ${t('generatedNote')}` : '')
      : null;
    const errorEl = errorId
      ? h('p', { class: 'field-error', id: errorId }, srOnly(t('errorPrefix')), errors.map((e) => problemErrorMessage(e)).join(' '))
      : null;
    const refWarning = refFailed ? h('p', { class: 'field-error' }, t('refLoadError')) : null;
    if (f.type === 'boolean') {
      return h(
        'div',
        { class: `field field-checkbox${errors.length ? ' has-error' : ''}`, 'data-field': f.name },
        errorEl,
        h('div', { class: 'choice' }, control(f, common), labelEl),
        help,
      );
    }
    return h(
      'div',
      { class: `field${errors.length ? ' has-error' : ''}`, 'data-field': f.name },
      labelEl,
      help,
      errorEl,
      refWarning,
      control(f, common),
    );
  }

  function errorSummary(): Child {
    if (!summaryDetail && fieldErrors.length === 0) return null;
    const order = (e: ProblemError) => {
      const i = reg.fields.findIndex((f) => f.name === e.field);
      return i < 0 ? reg.fields.length : i;
    };
    const items = [...fieldErrors].sort((a, b) => order(a) - order(b)).map((e) => {
      const f = fieldByName(e.field);
      const text = `${f ? label(f.label) : (e.label ?? e.field ?? '')}${f || e.label || e.field ? ': ' : ''}${problemErrorMessage(e)}`;
      return h('li', null, f ? h('a', { href: `#f-${f.name}` }, text) : text);
    });
    return h(
      'div',
      { class: 'error-summary', id: 'error-summary', role: 'alert', tabindex: -1, 'aria-labelledby': 'error-summary-title' },
      h('h2', { id: 'error-summary-title' }, t('errorSummaryTitle')),
      items.length ? h('p', null, t('errorSummaryText')) : h('p', null, summaryDetail),
      items.length ? h('ul', null, items) : null,
    );
  }

  function conflictBox(): Child {
    if (!conflict) return null;
    return h(
      'div',
      { class: 'notice notice-error', id: 'conflict', role: 'alert', tabindex: -1, 'aria-labelledby': 'conflict-title' },
      h('h2', { id: 'conflict-title' }, t('conflictTitle')),
      h('p', null, t('conflictText')),
      h('button', { type: 'button', class: 'button', id: 'reload-record', onclick: () => void reloadRecord() }, t('conflictReload')),
    );
  }

  function historyTable(): HTMLElement {
    const rows: HTMLElement[] = [];
    const entries = [...(history ?? [])].sort((a, b) => b.version - a.version);
    for (const e of entries) {
      const action = actionKeys[e.action] ? t(actionKeys[e.action]!) : e.action;
      const changes = e.changes?.length ? e.changes : [null];
      for (const w of e.warnings ?? []) {
        rows.push(
          h(
            'tr',
            { 'data-version': e.version, class: 'history-warning' },
            h('td', null, h('time', { datetime: e.at }, formatDateTime(e.at))),
            h('td', null, e.actor),
            h('td', null, t('warningsTitle')),
            h('td', null, w.label ?? w.field ?? ''),
            h('td', { colspan: 2 }, problemErrorMessage(w)),
          ),
        );
      }
      for (const c of changes) {
        const f = fieldByName(c?.field);
        rows.push(
          h(
            'tr',
            { 'data-version': e.version },
            h('td', null, h('time', { datetime: e.at }, formatDateTime(e.at))),
            h('td', null, e.actor),
            h('td', null, action),
            h('td', null, c ? (f ? label(f.label) : (c.label ?? c.field)) : ''),
            h('td', null, c ? displayValue(f, c.from, refLabel(f, c.from)) : ''),
            h('td', null, c ? displayValue(f, c.to, refLabel(f, c.to)) : ''),
          ),
        );
      }
    }
    return h(
      'section',
      { 'aria-labelledby': 'history-heading', class: 'history' },
      h('h2', { id: 'history-heading' }, t('history')),
      historyError
        ? h('p', { class: 'notice notice-error' }, t('historyError'))
        : rows.length === 0
          ? h('p', null, t('historyEmpty'))
          : h(
              'div',
              { class: 'table-scroll' },
              h(
                'table',
                { class: 'data-table', id: 'history-table' },
                h('caption', { class: 'visually-hidden' }, t('history')),
                h(
                  'thead',
                  null,
                  h(
                    'tr',
                    null,
                    (['historyAt', 'historyActor', 'historyAction', 'historyField', 'historyFrom', 'historyTo'] as const).map((k) =>
                      h('th', { scope: 'col' }, t(k)),
                    ),
                  ),
                ),
                h('tbody', null, rows),
              ),
            ),
    );
  }

  function recordInfo(r: RegisterRecord): HTMLElement {
    const by = (at: string | undefined, who: string | undefined) =>
      who ? t('recordBy', { at: formatDateTime(at), by: who }) : formatDateTime(at);
    return h(
      'section',
      { 'aria-labelledby': 'record-info-heading', class: 'record-info' },
      h('h2', { id: 'record-info-heading' }, t('recordInfo')),
      h(
        'dl',
        { class: 'facts' },
        h('div', null, h('dt', null, t('recordId')), h('dd', null, r.id)),
        h('div', null, h('dt', null, t('recordVersion')), h('dd', { id: 'record-version' }, r.version)),
        h('div', null, h('dt', null, t('recordCreated')), h('dd', null, by(r.created_at, r.created_by))),
        h('div', null, h('dt', null, t('recordUpdated')), h('dd', null, by(r.updated_at, r.updated_by))),
      ),
    );
  }

  const title = () => (record ? displayTitle(reg, record) : t('newTitle', { label: label(reg.label) }));

  return {
    title,
    render(root) {
      const summary = summaryPage(reg.key);
      const readOnly = record?.archived === true || !mayEdit();
      const form = h(
        'form',
        { id: 'record-form', class: 'record-form', novalidate: true, 'aria-labelledby': 'page-title' },
        !readOnly && reg.fields.some((f) => f.required) ? h('p', { class: 'help' }, t('requiredNote')) : null,
        // An archived record cannot be changed (the server answers 409) until it is restored.
        // A large value the server keeps for itself (a round's snapshot) is not a form field.
        h('fieldset', { class: 'fields', disabled: readOnly }, reg.fields.filter((f) => (record || !f.system) && !(f.system && f.detail_only)).map(fieldBlock)),
        h(
          'div',
          { class: 'button-row' },
          readOnly
            ? null
            : h('button', { type: 'submit', class: 'button button-primary', id: 'save', 'aria-disabled': busy ? 'true' : null }, busy ? t('saving') : t('save')),
          h('a', { href: listHash(reg), class: 'button button-quiet', id: 'back-to-list' }, t('backToList')),
          summary && can(summary.resource, 'view') ? h('a', { href: summary.hash, class: 'button button-quiet', id: 'summary-page' }, t(summary.text)) : null,
        ),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void save();
      });

      replaceChildren(
        root,
        h(
          'nav',
          { class: 'breadcrumb', 'aria-label': t('breadcrumb') },
          h(
            'ol',
            null,
            h('li', null, h('a', { href: '#/' }, t('dashboard'))),
            h('li', null, h('a', { href: listHash(reg) }, label(reg.label))),
            h('li', null, h('span', { 'aria-current': 'page' }, title())),
          ),
        ),
        pageHeading(title()),
        record?.archived ? h('p', { class: 'notice notice-warning', id: 'archived-notice' }, t('archivedNotice')) : null,
        conflictBox(),
        errorSummary(),
        generalError ? h('div', { class: 'notice notice-error', id: 'form-error', role: 'alert', tabindex: -1 }, h('p', null, generalError)) : null,
        form,
        record && can(reg.key, 'archive')
          ? h(
              'div',
              { class: 'button-row archive-row' },
              record.archived
                ? h('button', { type: 'button', class: 'button', id: 'restore', onclick: () => void setArchived(false) }, t('restore'))
                : h('button', { type: 'button', class: 'button button-danger', id: 'archive', onclick: () => void setArchived(true) }, t('archive')),
            )
          : null,
        credentials?.render(record) ?? null,
        classification ? handlingRules(classification, record) : null,
        panel?.render(record) ?? null,
        record ? (files?.render() ?? null) : null,
        record ? recordInfo(record) : null,
        record ? historyTable() : null,
      );
    },
  };
}
