// 監査ログ (#/audit?actor=&action=&target=&from=&to=&offset=): the audit trail, newest first,
// with filters (who, what, on what, between which dates), pages of 50, and a CSV export of the
// same filters for users with `audit_log: export`. The query uses the API's parameter names, so
// a search can be bookmarked and the export link reuses it. Each entry's detail (JSON) is shown
// as "key: value" lines.

import { apiUrl, getJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatDateTime, formatNumber, t, type MessageKey } from '../i18n';
import { can } from '../session';
import { findRegister, navigate, redraw } from '../state';
import type { AuditAnswer, AuditEntry } from '../types';
import { alertBox, pageHeading, pagination } from './common';
import type { ListView } from './register-list';

/** Entries per page. */
const pageSize = 50;

/** The filters the page understands (the API's own parameter names). */
const filterNames = ['actor', 'action', 'target', 'from', 'to'] as const;

/** The audit actions of docs/api.md and their labels. */
const actionLabels: Record<string, MessageKey> = {
  login: 'auditLogin',
  login_failed: 'auditLoginFailed',
  login_locked: 'auditLoginLocked',
  login_password_ok: 'auditLoginPasswordOk',
  logout: 'auditLogout',
  logout_everywhere: 'auditLogoutEverywhere',
  session_expired: 'auditSessionExpired',
  password_changed: 'auditPasswordChanged',
  password_change_failed: 'auditPasswordChangeFailed',
  mfa_enrolled: 'auditMfaEnrolled',
  credentials_reset: 'auditCredentialsReset',
  create: 'auditCreate',
  update: 'auditUpdate',
  archive: 'auditArchive',
  restore: 'auditRestore',
  import: 'auditImport',
  import_create: 'auditImportCreate',
  import_update: 'auditImportUpdate',
  export: 'auditExportAction',
  view_confidential: 'auditViewConfidential',
};

const dateRe = /^\d{4}-\d{2}-\d{2}$/;

function auditHash(query?: URLSearchParams): string {
  const s = query?.toString() ?? '';
  return `#/audit${s ? `?${s}` : ''}`;
}

/** Keeps only the parameters the page understands (dates only when they are dates). */
function auditQuery(route: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of filterNames) {
    const v = route.get(name)?.trim();
    if (!v) continue;
    if ((name === 'from' || name === 'to') && !dateRe.test(v)) continue;
    out.set(name, v);
  }
  const offset = Number(route.get('offset') ?? '0');
  if (Number.isInteger(offset) && offset > 0) out.set('offset', String(offset));
  return out;
}

function actionText(action: string): string {
  const key = actionLabels[action];
  return key ? t(key) : action;
}

/** A detail value as text, or as nested "key: value" lines for objects. */
function detailNode(value: unknown, depth = 0): Child {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  if (depth > 4) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '';
    if (value.every((v) => v === null || typeof v !== 'object')) return value.map((v) => (v === null ? '' : String(v))).join(', ');
    return h('ul', { class: 'detail-list' }, value.map((v) => h('li', null, detailNode(v, depth + 1))));
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '';
  return h(
    'dl',
    { class: 'detail' },
    entries.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, detailNode(v, depth + 1)))),
  );
}

/** A target "{register}/{id}" links to the record when the user may view that register. */
function targetNode(target: string | undefined): Child {
  if (!target) return '';
  const m = /^([A-Za-z0-9_]+)\/(\d+)$/.exec(target);
  if (m && findRegister(m[1]!) && can(m[1]!, 'view')) {
    return h('a', { href: `#/r/${encodeURIComponent(m[1]!)}/${m[2]}` }, target);
  }
  return target;
}

export async function loadAudit(route: URLSearchParams): Promise<ListView> {
  const query = auditQuery(route);
  const apiParams = new URLSearchParams(query);
  apiParams.set('limit', String(pageSize));
  const list = await getJson<AuditAnswer>('audit', apiParams);
  const items = Array.isArray(list.items) ? list.items : [];
  const total = typeof list.total === 'number' ? list.total : items.length;
  const offset = typeof list.offset === 'number' ? list.offset : Number(query.get('offset') ?? 0);

  // What the user typed, kept across a redraw (language switch) and a failed check.
  const draft = new Map<string, string>(filterNames.map((n) => [n, query.get(n) ?? '']));
  let formError = '';

  const withQuery = (change: (q: URLSearchParams) => void): string => {
    const next = new URLSearchParams(query);
    change(next);
    return auditHash(next);
  };

  function exportHref(): string {
    const p = new URLSearchParams({ format: 'csv' });
    for (const [k, v] of query) if (k !== 'offset') p.set(k, v);
    return apiUrl('audit/export', p);
  }

  function searchForm(): HTMLFormElement {
    const text = (name: 'actor' | 'target', labelKey: MessageKey, helpKey: MessageKey) => {
      const id = `audit-${name}`;
      return h(
        'div',
        { class: 'field-inline' },
        h('label', { for: id }, t(labelKey)),
        h('input', {
          type: 'text',
          id,
          name,
          value: draft.get(name) ?? '',
          autocomplete: 'off',
          spellcheck: 'false',
          autocapitalize: 'off',
          'aria-describedby': `${id}-help`,
          oninput: (e: Event) => draft.set(name, (e.target as HTMLInputElement).value),
        }),
        h('p', { class: 'help', id: `${id}-help` }, t(helpKey)),
      );
    };
    const date = (name: 'from' | 'to', labelKey: MessageKey) => {
      const id = `audit-${name}`;
      return h(
        'div',
        { class: 'field-inline' },
        h('label', { for: id }, t(labelKey)),
        h('input', {
          type: 'date',
          id,
          name,
          value: draft.get(name) ?? '',
          'aria-invalid': formError ? 'true' : null,
          'aria-describedby': formError ? 'audit-form-error' : null,
          oninput: (e: Event) => draft.set(name, (e.target as HTMLInputElement).value),
        }),
      );
    };
    const action = h(
      'select',
      { id: 'audit-action', name: 'action', onchange: (e: Event) => draft.set('action', (e.target as HTMLSelectElement).value) },
      h('option', { value: '' }, t('all')),
      Object.keys(actionLabels).map((a) => h('option', { value: a }, `${actionText(a)} (${a})`)),
    );
    const chosen = draft.get('action') ?? '';
    if (chosen && !actionLabels[chosen]) action.append(h('option', { value: chosen }, chosen));
    action.value = chosen;

    const form = h(
      'form',
      { class: 'search-form audit-search', id: 'audit-form', role: 'search', 'aria-label': t('auditSearchRegion'), novalidate: true },
      text('actor', 'auditActor', 'auditActorHelp'),
      h('div', { class: 'field-inline' }, h('label', { for: 'audit-action' }, t('auditAction')), action),
      text('target', 'auditTarget', 'auditTargetHelp'),
      date('from', 'auditFrom'),
      date('to', 'auditTo'),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'submit', class: 'button', id: 'audit-search' }, t('search')),
        h('a', { href: auditHash(), class: 'button button-quiet', id: 'audit-clear' }, t('clearSearch')),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const name of filterNames) {
        const v = (draft.get(name) ?? '').trim();
        if (v) next.set(name, v);
      }
      const from = next.get('from');
      const to = next.get('to');
      if (from && to && to < from) {
        formError = t('auditPeriodError');
        redraw();
        document.getElementById('audit-form-error')?.focus();
        return;
      }
      formError = '';
      navigate(auditHash(next));
    });
    return form;
  }

  function row(e: AuditEntry): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-seq': e.seq, 'data-action': e.action },
      h('td', { class: 'numeric' }, e.seq),
      h('td', null, h('time', { datetime: e.at }, formatDateTime(e.at))),
      h('td', null, e.actor),
      h('td', null, e.address ?? ''),
      h('td', null, actionText(e.action), actionLabels[e.action] ? h('span', { class: 'code-name' }, ` (${e.action})`) : null),
      h('td', null, targetNode(e.target)),
      h('td', { class: 'detail-cell' }, detailNode(e.detail)),
    );
  }

  function table(): HTMLElement {
    const heads: MessageKey[] = ['auditSeq', 'auditAt', 'auditActor', 'auditAddress', 'auditAction', 'auditTarget', 'auditDetail'];
    return h(
      'table',
      { class: 'data-table audit-table', id: 'audit-table', 'aria-describedby': 'audit-summary' },
      h('caption', { class: 'visually-hidden' }, t('auditTitle')),
      h('thead', null, h('tr', null, heads.map((k) => h('th', { scope: 'col', class: k === 'auditSeq' ? 'numeric' : null }, t(k))))),
      h('tbody', null, items.map(row)),
    );
  }


  function summaryText(): string {
    if (total === 0 || items.length === 0) return t('auditEmpty');
    return t('auditListSummary', {
      total: formatNumber(total),
      from: formatNumber(offset + 1),
      to: formatNumber(offset + items.length),
    });
  }

  function render(root: HTMLElement): void {
    replaceChildren(
      root,
      pageHeading(t('auditTitle')),
      can('audit_log', 'export')
        ? h('div', { class: 'toolbar' }, h('a', { href: exportHref(), class: 'button', id: 'audit-export', download: '' }, t('exportCsv')))
        : null,
      alertBox('audit-form-error', formError),
      searchForm(),
      h('p', { id: 'audit-summary', class: 'list-summary' }, summaryText()),
      items.length ? h('div', { class: 'table-scroll' }, table()) : null,
      pagination(total, offset, pageSize, withQuery),
    );
  }

  return {
    title: () => t('auditTitle'),
    announcement: () => (total === 0 ? t('auditEmpty') : t('auditAnnounce', { total: formatNumber(total) })),
    render,
  };
}
