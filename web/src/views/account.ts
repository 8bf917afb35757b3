// アカウント (#/account): who is logged in and with which roles, a password change (current +
// new + confirmation; the user's other sessions end), and logging out on every device.

import { ApiError, errorMessage, problemErrorMessage, sendJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { label, t } from '../i18n';
import { getMe, signedOut } from '../session';
import { announce, redraw, refOptions, type RefOption, type View } from '../state';
import type { RoleGrant } from '../types';
import { alertBox, confirmDialog, inputField, pageHeading } from './common';

export async function loadAccount(): Promise<View> {
  const units: RefOption[] = await refOptions('org_units').catch((): RefOption[] => []);

  let current = '';
  let next = '';
  let confirm = '';
  let fieldErrors: Record<string, string> = {};
  let formError = '';
  let pageError = '';
  let busy = false;

  const show = (focusId?: string) => {
    redraw();
    if (focusId) document.getElementById(focusId)?.focus();
  };

  function scopeText(g: RoleGrant): string {
    switch (g.scope_kind) {
      case 'bureau':
      case 'section': {
        const names = (g.units ?? []).map((id) => units.find((u) => u.id === id)?.label ?? `#${id}`);
        const kind = g.scope_kind === 'bureau' ? t('scopeBureau') : t('scopeSection');
        return names.length ? t('scopeOf', { kind, target: names.join('、') }) : kind;
      }
      case 'system':
        return g.system ? t('scopeOf', { kind: t('scopeSystem'), target: g.system }) : t('scopeSystem');
      case 'body':
        return t('scopeBody');
      default:
        return g.scope_kind ?? '';
    }
  }

  async function changePassword(): Promise<void> {
    if (busy) return;
    fieldErrors = {};
    formError = '';
    if (!current) fieldErrors.current_password = t('fieldRequired');
    if (!next) fieldErrors.new_password = t('fieldRequired');
    else if (next !== confirm) fieldErrors.new_password_confirm = t('passwordMismatch');
    const firstBad = fieldErrors.current_password
      ? 'current-password'
      : fieldErrors.new_password
        ? 'new-password'
        : fieldErrors.new_password_confirm
          ? 'new-password-confirm'
          : '';
    if (firstBad) {
      show(firstBad);
      return;
    }
    busy = true;
    show();
    try {
      await sendJson('POST', 'auth/password', { current_password: current, new_password: next });
      busy = false;
      current = next = confirm = '';
      show('page-title');
      announce(t('passwordChangedOthers'), 'success');
    } catch (err) {
      busy = false;
      const errors = err instanceof ApiError ? err.errors : [];
      for (const e of errors) {
        if (e.field === 'current_password' || e.field === 'new_password') {
          fieldErrors[e.field] = [fieldErrors[e.field], problemErrorMessage(e)].filter(Boolean).join(' ');
        }
      }
      if (fieldErrors.current_password) show('current-password');
      else if (fieldErrors.new_password) show('new-password');
      else {
        formError = errorMessage(err);
        show('password-error');
      }
    }
  }

  async function logoutEverywhere(): Promise<void> {
    if (busy) return;
    if (!(await confirmDialog(t('logoutEverywhereConfirm'), t('logoutEverywhere')))) return;
    busy = true;
    pageError = '';
    try {
      await sendJson('DELETE', 'auth/sessions');
      busy = false;
      signedOut(t('loggedOutEverywhere'));
    } catch (err) {
      busy = false;
      if (err instanceof ApiError && err.status === 401) return; // main.ts shows the login page
      pageError = errorMessage(err);
      show('account-error');
    }
  }

  function passwordForm(): HTMLFormElement {
    const me = getMe();
    const form = h(
      'form',
      { id: 'account-password-form', class: 'login-form', novalidate: true, 'aria-labelledby': 'password-heading' },
      h('input', { type: 'text', name: 'username', autocomplete: 'username', value: me?.user.login ?? '', hidden: true, readonly: true }),
      alertBox('password-error', formError),
      inputField({
        id: 'current-password',
        name: 'current_password',
        type: 'password',
        label: t('currentPassword'),
        value: current,
        autocomplete: 'current-password',
        error: fieldErrors.current_password,
        onInput: (v) => (current = v),
      }),
      inputField({
        id: 'new-password',
        name: 'new_password',
        type: 'password',
        label: t('newPassword'),
        value: next,
        autocomplete: 'new-password',
        error: fieldErrors.new_password,
        help: t('passwordPolicy'),
        onInput: (v) => (next = v),
      }),
      inputField({
        id: 'new-password-confirm',
        name: 'new_password_confirm',
        type: 'password',
        label: t('newPasswordConfirm'),
        help: t('newPasswordConfirmHelp'),
        value: confirm,
        autocomplete: 'new-password',
        error: fieldErrors.new_password_confirm,
        onInput: (v) => (confirm = v),
      }),
      h(
        'div',
        { class: 'button-row' },
        h(
          'button',
          { type: 'submit', class: 'button button-primary', id: 'password-change-submit', 'aria-disabled': busy ? 'true' : null },
          busy ? t('passwordChanging') : t('passwordChangeSubmit'),
        ),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void changePassword();
    });
    return form;
  }

  return {
    title: () => t('accountTitle'),
    render(root) {
      const me = getMe();
      const roles: Child = me?.roles?.length
        ? h(
            'ul',
            { id: 'account-roles' },
            me.roles.map((g) =>
              h('li', { 'data-role': g.role }, label(g.label) || g.role, scopeText(g) ? ` — ${scopeText(g)}` : ''),
            ),
          )
        : h('p', { id: 'account-roles' }, t('noRoles'));
      replaceChildren(
        root,
        pageHeading(t('accountTitle')),
        alertBox('account-error', pageError),
        h(
          'dl',
          { class: 'facts', id: 'account-facts' },
          h('div', null, h('dt', null, t('userName')), h('dd', { id: 'account-name' }, me?.user.name ?? '')),
          h('div', null, h('dt', null, t('loginId')), h('dd', { id: 'account-login' }, me?.user.login ?? '')),
          h('div', null, h('dt', null, t('roles')), h('dd', null, roles)),
        ),
        h(
          'section',
          { 'aria-labelledby': 'password-heading', class: 'account-section' },
          h('h2', { id: 'password-heading' }, t('accountPasswordHeading')),
          h('p', null, t('passwordChangeNote')),
          passwordForm(),
        ),
        h(
          'section',
          { 'aria-labelledby': 'logout-everywhere-heading', class: 'account-section' },
          h('h2', { id: 'logout-everywhere-heading' }, t('logoutEverywhere')),
          h('p', null, t('logoutEverywhereText')),
          h(
            'button',
            { type: 'button', class: 'button button-danger', id: 'logout-everywhere', onclick: () => void logoutEverywhere() },
            t('logoutEverywhere'),
          ),
        ),
      );
    },
  };
}
