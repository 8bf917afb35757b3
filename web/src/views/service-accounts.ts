// サービスアカウント (a section of 設定, resource `service_accounts`): the accounts the engines
// (mamori netcheck, mamori monitor) use to record evidence through POST /api/v1/evidence. The
// list with each account's state; a form (名前, 用途, 有効期限) that creates one and shows its
// token once, in a read-only field with a copy button and a warning that it will not be shown
// again (the server keeps only its hash; the token lives in this view's memory until the page is
// left or the box is closed); and revocation after a confirmation.

import { ApiError, errorMessage, getJson, problemErrorMessage, sendJson } from '../api';
import { h } from '../dom';
import { formatDate, formatDateTime, t, type MessageKey } from '../i18n';
import { can } from '../session';
import { announce, redraw } from '../state';
import type { ProblemError, ServiceAccount, ServiceAccountCreated } from '../types';
import { alertBox, confirmDialog, inputField, type PagePart } from './common';

const stateKeys: Record<ServiceAccount['state'], MessageKey> = {
  active: 'saStateActive',
  expired: 'saStateExpired',
  revoked: 'saStateRevoked',
};

const list = () => getJson<{ items: ServiceAccount[] }>('service-accounts').then((a) => a.items ?? []);

export async function loadServiceAccounts(): Promise<PagePart> {
  let accounts = await list();
  let name = '';
  let purpose = '';
  let expires = '';
  let fieldErrors: ProblemError[] = [];
  let error = '';
  let busy = false;
  /** The token of the account just created: shown until the box is closed or the page is left. */
  let created: ServiceAccountCreated | null = null;

  const errorFor = (field: string) =>
    fieldErrors
      .filter((e) => e.field === field)
      .map(problemErrorMessage)
      .join(' ');

  async function create(): Promise<void> {
    if (busy) return;
    busy = true;
    error = '';
    fieldErrors = [];
    redraw();
    try {
      created = await sendJson<ServiceAccountCreated>('POST', 'service-accounts', {
        name: name.trim(),
        purpose: purpose.trim(),
        ...(expires ? { expires_on: expires } : {}),
      });
      name = purpose = expires = '';
      accounts = await list().catch(() => accounts);
      busy = false;
      redraw();
      document.getElementById('sa-token-box')?.focus();
    } catch (err) {
      busy = false;
      fieldErrors = err instanceof ApiError ? err.errors : [];
      error = errorMessage(err);
      redraw();
      document.getElementById('sa-error')?.focus();
    }
  }

  async function revoke(a: ServiceAccount): Promise<void> {
    if (busy) return;
    const ok = await confirmDialog(t('saRevokeConfirm', { name: a.name }), t('saRevokeOk'));
    if (!ok) return;
    busy = true;
    try {
      await sendJson('POST', `service-accounts/${a.id}/revoke`);
      accounts = await list();
      busy = false;
      redraw();
      announce(t('saRevoked', { name: a.name }), 'success');
    } catch (err) {
      busy = false;
      error = errorMessage(err);
      redraw();
      document.getElementById('sa-error')?.focus();
    }
  }

  async function copyToken(input: HTMLInputElement): Promise<void> {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      announce(t('saCopied'), 'success');
    } catch {
      // No clipboard access (e.g. plain HTTP): the text stays selected for Ctrl+C.
      announce(t('saCopyManually'), 'info');
    }
  }

  function tokenBox(c: ServiceAccountCreated): HTMLElement {
    const input = h('input', {
      id: 'sa-token',
      type: 'text',
      readonly: true,
      class: 'token-field',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'sa-token-warning',
      onfocus: (e: Event) => (e.target as HTMLInputElement).select(),
    });
    input.value = c.token;
    return h(
      'div',
      { class: 'notice notice-warning token-box', id: 'sa-token-box', tabindex: -1, role: 'alert', 'aria-labelledby': 'sa-token-title' },
      h('h3', { id: 'sa-token-title' }, t('saTokenTitle', { name: c.account.name })),
      h('p', { id: 'sa-token-warning' }, h('strong', null, t('saTokenWarning'))),
      h('p', null, t('saTokenUse')),
      h('div', { class: 'field' }, h('label', { for: 'sa-token' }, t('saToken')), input),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'button', class: 'button button-primary', id: 'sa-copy', onclick: () => void copyToken(input) }, t('saCopy')),
        h(
          'button',
          {
            type: 'button',
            class: 'button',
            id: 'sa-token-close',
            onclick: () => {
              created = null;
              redraw();
              document.getElementById('sa-title')?.focus();
            },
          },
          t('saTokenClose'),
        ),
      ),
    );
  }

  function createForm(): HTMLElement {
    const form = h(
      'form',
      { id: 'sa-form', class: 'record-form', novalidate: true, 'aria-labelledby': 'sa-form-title' },
      h('h3', { id: 'sa-form-title' }, t('saCreateTitle')),
      inputField({ id: 'sa-name', name: 'name', label: t('saName'), help: t('saNameHelp'), value: name, required: true, error: errorFor('name'), onInput: (v) => (name = v) }),
      inputField({ id: 'sa-purpose', name: 'purpose', label: t('saPurpose'), help: t('saPurposeHelp'), value: purpose, required: true, error: errorFor('purpose'), onInput: (v) => (purpose = v) }),
      inputField({
        id: 'sa-expires',
        name: 'expires_on',
        type: 'date',
        label: t('saExpires'),
        help: t('saExpiresHelp'),
        value: expires,
        error: errorFor('expires_on'),
        onInput: (v) => (expires = v),
      }),
      h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button button-primary', id: 'sa-create', 'aria-disabled': busy ? 'true' : null }, t('saCreate'))),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void create();
    });
    return form;
  }

  function table(): HTMLElement {
    if (!accounts.length) return h('p', { id: 'sa-none' }, t('saNone'));
    const mayRevoke = can('service_accounts', 'archive');
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id: 'sa-table' },
        h('caption', { class: 'visually-hidden' }, t('saTitle')),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            (['saName', 'saPurpose', 'saState', 'saCreated', 'saExpires', 'saLastUsed'] as const).map((k) => h('th', { scope: 'col' }, t(k))),
            mayRevoke ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('saRevoke'))) : null,
          ),
        ),
        h(
          'tbody',
          null,
          accounts.map((a) =>
            h(
              'tr',
              { 'data-account': a.name, 'data-state': a.state },
              h('th', { scope: 'row' }, h('code', { class: 'nowrap' }, a.name)),
              h('td', null, a.purpose),
              h(
                'td',
                null,
                h('span', { class: `badge badge-sa-${a.state}` }, t(stateKeys[a.state] ?? 'saStateRevoked')),
                a.revoked_at ? h('span', { class: 'help' }, ` ${formatDateTime(a.revoked_at)}`) : null,
              ),
              h('td', null, t('saCreatedBy', { at: formatDateTime(a.created_at), by: a.created_by })),
              h('td', { class: 'nowrap' }, a.expires_on ? formatDate(a.expires_on) : t('saNoExpiry')),
              h('td', { class: 'nowrap' }, a.last_used_at ? formatDateTime(a.last_used_at) : t('saNeverUsed')),
              mayRevoke
                ? h(
                    'td',
                    null,
                    a.state === 'active'
                      ? h(
                          'button',
                          { type: 'button', class: 'button button-danger', id: `sa-revoke-${a.id}`, onclick: () => void revoke(a) },
                          t('saRevoke'),
                          h('span', { class: 'visually-hidden' }, `(${a.name})`),
                        )
                      : null,
                  )
                : null,
            ),
          ),
        ),
      ),
    );
  }

  return {
    render() {
      return h(
        'section',
        { 'aria-labelledby': 'sa-title', id: 'service-accounts' },
        h('h2', { id: 'sa-title', tabindex: -1 }, t('saTitle')),
        h('p', null, t('saIntro')),
        alertBox('sa-error', error),
        created ? tokenBox(created) : null,
        table(),
        can('service_accounts', 'create') ? createForm() : null,
      );
    },
  };
}
