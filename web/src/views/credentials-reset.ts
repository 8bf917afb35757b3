// 「パスワードと多要素認証を再設定」 on a user's record page (register `users`, permission
// `credentials: update`, not for oneself): POST /api/v1/users/{id}/reset-credentials after a
// confirmation, then the one-time password, shown once, with what to do with it. The password
// lives only in this page's memory and is gone when the page is left or the box is closed.

import { ApiError, errorMessage, sendJson } from '../api';
import { h, type Child } from '../dom';
import { t } from '../i18n';
import { can, getMe } from '../session';
import { announce, displayTitle, redraw } from '../state';
import type { RegisterDef, RegisterRecord, ResetAnswer } from '../types';
import { alertBox, confirmDialog } from './common';

export interface CredentialsReset {
  /** The section for the record page, or null when the user may not reset this record. */
  render(record: RegisterRecord | null): Child;
}

export function credentialsReset(reg: RegisterDef): CredentialsReset {
  let oneTimePassword = '';
  let error = '';
  let busy = false;

  const show = (focusId?: string) => {
    redraw();
    if (focusId) document.getElementById(focusId)?.focus();
  };

  async function reset(record: RegisterRecord): Promise<void> {
    if (busy) return;
    const ok = await confirmDialog(t('resetConfirm', { name: displayTitle(reg, record) }), t('resetConfirmOk'));
    if (!ok) return;
    busy = true;
    error = '';
    oneTimePassword = '';
    show();
    try {
      const answer = await sendJson<ResetAnswer>('POST', `${reg.path}/${record.id}/reset-credentials`, {});
      busy = false;
      oneTimePassword = typeof answer?.one_time_password === 'string' ? answer.one_time_password : '';
      if (!oneTimePassword) {
        error = t('badResponse');
        show('reset-error');
        return;
      }
      show('one-time-password-box');
      announce(t('resetDone'), 'success');
    } catch (err) {
      busy = false;
      if (err instanceof ApiError && err.status === 401) return; // main.ts shows the login page
      error = errorMessage(err);
      show('reset-error');
    }
  }

  return {
    render(record) {
      if (!record || !can('credentials', 'update')) return null;
      const self = getMe()?.user.id === record.id;
      return h(
        'section',
        { 'aria-labelledby': 'credentials-heading', class: 'credentials-reset', id: 'credentials-reset' },
        h('h2', { id: 'credentials-heading' }, t('resetCredentialsHeading')),
        self
          ? h('p', { class: 'note' }, t('ownCredentialsNote'), ' ', h('a', { href: '#/account' }, t('account')))
          : [
              h('p', { class: 'help', id: 'reset-credentials-help' }, t('resetCredentialsHelp')),
              alertBox('reset-error', error),
              oneTimePassword
                ? h(
                    'div',
                    { class: 'notice notice-warning', id: 'one-time-password-box', role: 'alert', tabindex: -1, 'aria-labelledby': 'one-time-password-title' },
                    h('h3', { id: 'one-time-password-title' }, t('oneTimePasswordTitle')),
                    h('p', { class: 'secret' }, h('code', { id: 'one-time-password' }, oneTimePassword)),
                    h('p', { id: 'one-time-password-text' }, t('oneTimePasswordText')),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'button',
                        id: 'one-time-password-done',
                        onclick: () => {
                          oneTimePassword = '';
                          show('reset-credentials');
                        },
                      },
                      t('oneTimePasswordDone'),
                    ),
                  )
                : null,
              h(
                'button',
                {
                  type: 'button',
                  class: 'button button-danger',
                  id: 'reset-credentials',
                  'aria-describedby': 'reset-credentials-help',
                  'aria-disabled': busy ? 'true' : null,
                  onclick: () => void reset(record),
                },
                busy ? t('resetting') : t('resetCredentials'),
              ),
            ],
      );
    },
  };
}
