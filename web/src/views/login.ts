// ログイン (#/login?next=…): the login steps of docs/api.md, one after another on one page:
//
//   credentials  login id and password                         POST /auth/login
//   password     a new password (first login, or after a reset) POST /auth/password
//   enroll       QR code and key of a new TOTP secret, first code POST /auth/mfa/enroll, /auth/mfa
//   recovery     the ten recovery codes, shown once
//   mfa          a 6-digit code, or a recovery code              POST /auth/mfa
//
// Then the session is open: main.ts loads the user and goes to `next` (or the dashboard). The
// login steps are quiet about 401 (a wrong password is not an expired session); a 401 with
// code "unauthenticated" after the first step means the login in progress expired: start over.

import { ApiError, errorMessage, problemErrorMessage, sendJson, setCsrfToken } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { t } from '../i18n';
import { signedIn } from '../session';
import { clearStatus, redraw, type View } from '../state';
import type { EnrollAnswer, LoginAnswer, MfaAnswer } from '../types';
import { alertBox, inputField, pageHeading } from './common';

type Step = 'credentials' | 'password' | 'enroll' | 'recovery' | 'mfa';

const quiet = { quiet401: true };

/** Full-width digits and letters to ASCII (a Japanese IME may type them), spaces removed. */
function normalizeCode(text: string): string {
  return text.normalize('NFKC').replace(/[\s\u3000]+/g, '');
}

/** The secret in groups of four characters, for typing it by hand. */
export function groupSecret(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

/** The QR code SVG as a data: URL for an <img> (no script in it can run; CSP allows data:). */
function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/** The server's message for `err` when it sent one, else `fallback`. */
function serverMessage(err: unknown, fallback: string): string {
  return err instanceof ApiError && (err.problem?.detail || err.problem?.detail_en) ? errorMessage(err) : fallback;
}

export function loginView(next: string): View {
  let step: Step = 'credentials';
  let flags: LoginAnswer = {};
  let loginId = '';
  let password = '';
  let newPassword = '';
  let confirmPassword = '';
  let code = '';
  let useRecovery = false;
  let busy = false;
  /** A message about the whole step (role=alert, id step-error). */
  let error = '';
  let retryAfter: number | null = null;
  /** Messages next to fields, by field name. */
  let fieldErrors: Record<string, string> = {};
  let enrollment: EnrollAnswer | null = null;
  let enrollError = '';
  let recoveryCodes: string[] = [];

  const focus = (id: string) => document.getElementById(id)?.focus();

  /** Redraws; then focuses `focusId` if given. */
  const show = (focusId?: string) => {
    redraw();
    if (focusId) focus(focusId);
  };

  const clearErrors = () => {
    error = '';
    retryAfter = null;
    fieldErrors = {};
  };

  function goTo(next: Step): void {
    step = next;
    clearErrors();
    clearStatus();
    code = '';
    useRecovery = false;
    show('page-title');
    if (next === 'enroll') void startEnrollment();
  }

  /** The login in progress is gone (expired, or the server restarted): back to the first step. */
  function startOver(message = ''): void {
    step = 'credentials';
    flags = {};
    password = newPassword = confirmPassword = code = '';
    enrollment = null;
    enrollError = '';
    recoveryCodes = [];
    clearErrors();
    error = message;
    show(message ? 'step-error' : 'page-title');
  }

  const expired = (err: unknown) => err instanceof ApiError && err.status === 401 && err.problem?.code === 'unauthenticated';

  /** The step after the password (or after the login when no password change is needed). */
  const afterPassword = (): Step => (flags.mfa_enrollment_required ? 'enroll' : 'mfa');

  async function submitLogin(): Promise<void> {
    if (busy) return;
    clearErrors();
    const id = loginId.trim();
    if (!id) fieldErrors.login = t('fieldRequired');
    if (!password) fieldErrors.password = t('fieldRequired');
    if (!id || !password) {
      error = t('loginRequired');
      show(!id ? 'login-id' : 'login-password');
      return;
    }
    busy = true;
    show();
    try {
      flags = await sendJson<LoginAnswer>('POST', 'auth/login', { login: id, password }, quiet);
      busy = false;
      password = '';
      goTo(flags.password_change_required ? 'password' : afterPassword());
    } catch (err) {
      busy = false;
      password = '';
      if (err instanceof ApiError && err.status === 429) {
        retryAfter = err.retryAfter;
        error = serverMessage(err, t('loginLocked', { seconds: err.retryAfter ?? 60 }));
      } else if (err instanceof ApiError && err.status === 401) {
        error = serverMessage(err, t('loginFailed'));
      } else {
        error = errorMessage(err);
      }
      show('step-error');
    }
  }

  async function submitPassword(): Promise<void> {
    if (busy) return;
    clearErrors();
    if (!newPassword) fieldErrors.new_password = t('fieldRequired');
    else if (newPassword !== confirmPassword) fieldErrors.new_password_confirm = t('passwordMismatch');
    if (fieldErrors.new_password || fieldErrors.new_password_confirm) {
      show(fieldErrors.new_password ? 'new-password' : 'new-password-confirm');
      return;
    }
    busy = true;
    show();
    try {
      await sendJson('POST', 'auth/password', { new_password: newPassword }, quiet);
      busy = false;
      newPassword = confirmPassword = '';
      flags.password_change_required = false;
      goTo(afterPassword());
    } catch (err) {
      busy = false;
      if (expired(err)) {
        startOver(errorMessage(err));
        return;
      }
      const errors = err instanceof ApiError ? err.errors : [];
      for (const e of errors) {
        const name = e.field === 'new_password' ? 'new_password' : '';
        if (name) fieldErrors[name] = [fieldErrors[name], problemErrorMessage(e)].filter(Boolean).join(' ');
      }
      if (fieldErrors.new_password) {
        show('new-password');
      } else {
        error = errorMessage(err);
        show('step-error');
      }
    }
  }

  async function startEnrollment(): Promise<void> {
    if (busy) return;
    enrollment = null;
    enrollError = '';
    busy = true;
    try {
      enrollment = await sendJson<EnrollAnswer>('POST', 'auth/mfa/enroll', {}, quiet);
      busy = false;
      show();
    } catch (err) {
      busy = false;
      if (expired(err)) {
        startOver(errorMessage(err));
        return;
      }
      enrollError = errorMessage(err);
      show('enroll-error');
    }
  }

  async function submitCode(): Promise<void> {
    if (busy) return;
    clearErrors();
    const value = normalizeCode(code);
    const recovery = useRecovery && step === 'mfa';
    if (recovery ? value === '' : !/^\d{6}$/.test(value)) {
      fieldErrors.code = recovery ? t('fieldRequired') : t('mfaCodeFormat');
      show(recovery ? 'recovery-code' : 'mfa-code');
      return;
    }
    busy = true;
    show();
    try {
      const answer = await sendJson<MfaAnswer>(
        'POST',
        'auth/mfa',
        recovery ? { recovery_code: value.toUpperCase() } : { code: value },
        quiet,
      );
      busy = false;
      code = '';
      setCsrfToken(answer?.csrf_token);
      if (answer?.recovery_codes?.length) {
        recoveryCodes = answer.recovery_codes;
        step = 'recovery';
        clearErrors();
        clearStatus();
        show('page-title');
        return;
      }
      await finish();
    } catch (err) {
      busy = false;
      if (expired(err)) {
        startOver(errorMessage(err));
        return;
      }
      code = '';
      if (err instanceof ApiError && err.status === 429) {
        retryAfter = err.retryAfter;
        error = serverMessage(err, t('loginLocked', { seconds: err.retryAfter ?? 60 }));
        show('step-error');
      } else if (err instanceof ApiError && (err.status === 401 || err.status === 400)) {
        fieldErrors.code = errorMessage(err);
        show(recovery ? 'recovery-code' : 'mfa-code');
      } else {
        error = errorMessage(err);
        show('step-error');
      }
    }
  }

  /** The session is open: main.ts loads the user and the metadata and leaves this page. */
  async function finish(): Promise<void> {
    busy = true;
    show();
    try {
      await signedIn(next);
      recoveryCodes = [];
      busy = false;
    } catch (err) {
      busy = false;
      error = errorMessage(err);
      show('step-error');
    }
  }

  // ---- Rendering -------------------------------------------------------------------------------

  const stepError = (): Child =>
    alertBox(
      'step-error',
      error,
      retryAfter !== null && retryAfter > 0 ? h('p', { id: 'retry-after' }, t('retryAfter', { seconds: retryAfter })) : null,
    );

  const submitButton = (id: string, text: string, busyText: string) =>
    h('button', { type: 'submit', class: 'button button-primary', id, 'aria-disabled': busy ? 'true' : null }, busy ? busyText : text);

  const startOverButton = () =>
    h('button', { type: 'button', class: 'button button-quiet', id: 'start-over', onclick: () => startOver() }, t('startOver'));

  function form(id: string, onSubmit: () => void, ...children: Child[]): HTMLFormElement {
    const f = h('form', { id, class: 'login-form', novalidate: true, 'aria-labelledby': 'page-title' }, ...children);
    f.addEventListener('submit', (event) => {
      event.preventDefault();
      onSubmit();
    });
    return f;
  }

  function credentialsStep(): Child[] {
    return [
      h('p', null, t('loginLead')),
      stepError(),
      form(
        'login-form',
        () => void submitLogin(),
        inputField({
          id: 'login-id',
          name: 'login',
          label: t('loginId'),
          value: loginId,
          autocomplete: 'username',
          error: fieldErrors.login,
          onInput: (v) => (loginId = v),
        }),
        inputField({
          id: 'login-password',
          name: 'password',
          type: 'password',
          label: t('password'),
          value: password,
          autocomplete: 'current-password',
          error: fieldErrors.password,
          onInput: (v) => (password = v),
        }),
        h('div', { class: 'button-row' }, submitButton('login-submit', t('loginSubmit'), t('loggingIn'))),
      ),
      h('p', { class: 'note' }, t('publicPolicyNote'), ' ', h('a', { href: '#/policy', id: 'login-policy-link' }, t('policy'))),
    ];
  }

  function passwordStep(): Child[] {
    return [
      h('p', null, t('passwordChangeLead')),
      stepError(),
      form(
        'password-change-form',
        () => void submitPassword(),
        // Lets password managers store the new password under the right login id.
        h('input', { type: 'text', name: 'username', autocomplete: 'username', value: loginId.trim(), hidden: true, readonly: true }),
        inputField({
          id: 'new-password',
          name: 'new_password',
          type: 'password',
          label: t('newPassword'),
          value: newPassword,
          autocomplete: 'new-password',
          error: fieldErrors.new_password,
          help: t('passwordPolicy'),
          onInput: (v) => (newPassword = v),
        }),
        inputField({
          id: 'new-password-confirm',
          name: 'new_password_confirm',
          type: 'password',
          label: t('newPasswordConfirm'),
          help: t('newPasswordConfirmHelp'),
          value: confirmPassword,
          autocomplete: 'new-password',
          error: fieldErrors.new_password_confirm,
          onInput: (v) => (confirmPassword = v),
        }),
        h('div', { class: 'button-row' }, submitButton('password-change-submit', t('passwordChangeSubmit'), t('passwordChanging')), startOverButton()),
      ),
    ];
  }

  function codeField(): HTMLElement {
    if (useRecovery && step === 'mfa') {
      return inputField({
        id: 'recovery-code',
        name: 'recovery_code',
        label: t('recoveryCode'),
        help: t('recoveryCodeHelp'),
        value: code,
        autocomplete: 'off',
        error: fieldErrors.code,
        onInput: (v) => (code = v),
      });
    }
    return inputField({
      id: 'mfa-code',
      name: 'code',
      label: t('mfaCode'),
      help: t('mfaCodeHelp'),
      value: code,
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      error: fieldErrors.code,
      extra: { pattern: '[0-9]*', class: 'code-input' },
      onInput: (v) => (code = v),
    });
  }

  function enrollStep(): Child[] {
    const e = enrollment;
    const intro = h('p', null, t('mfaEnrollLead'));
    if (!e) {
      return [
        intro,
        enrollError
          ? alertBox(
              'enroll-error',
              enrollError,
              h('button', { type: 'button', class: 'button', id: 'mfa-enroll-retry', onclick: () => void startEnrollment() }, t('mfaEnrollRetry')),
            )
          : h('p', { class: 'loading', id: 'mfa-enroll-loading' }, t('mfaEnrollLoading')),
      ];
    }
    const svg = typeof e.qr_svg === 'string' && /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(e.qr_svg) ? e.qr_svg : '';
    return [
      intro,
      stepError(),
      h(
        'ol',
        { class: 'steps' },
        h(
          'li',
          null,
          h('p', null, t('mfaEnrollStep1')),
          svg ? h('div', { class: 'qr', id: 'mfa-qr' }, h('img', { id: 'mfa-qr-image', src: svgDataUrl(svg), alt: t('mfaQrAlt'), width: 200, height: 200 })) : null,
        ),
        h(
          'li',
          null,
          h('p', { id: 'mfa-secret-label' }, t('mfaSecretLabel')),
          h(
            'p',
            { class: 'secret' },
            h('code', { id: 'mfa-secret', 'aria-labelledby': 'mfa-secret-label', 'data-secret': e.secret.replace(/\s+/g, '') }, groupSecret(e.secret)),
          ),
        ),
        h(
          'li',
          null,
          h('p', null, t('mfaEnrollStep3')),
          form(
            'mfa-form',
            () => void submitCode(),
            codeField(),
            h('div', { class: 'button-row' }, submitButton('mfa-submit', t('mfaSubmit'), t('verifying')), startOverButton()),
          ),
        ),
      ),
    ];
  }

  function recoveryStep(): Child[] {
    return [
      h(
        'div',
        { class: 'notice notice-warning', id: 'recovery-warning', role: 'note' },
        h('h2', null, t('recoveryWarningTitle')),
        h('p', null, t('recoveryWarning')),
      ),
      h('h2', { id: 'recovery-codes-heading' }, t('recoveryListLabel', { n: recoveryCodes.length })),
      h(
        'ol',
        { class: 'recovery-codes', id: 'recovery-codes', 'aria-labelledby': 'recovery-codes-heading' },
        recoveryCodes.map((c) => h('li', null, h('code', null, c))),
      ),
      stepError(),
      h(
        'div',
        { class: 'button-row no-print' },
        h('button', { type: 'button', class: 'button', id: 'recovery-print', onclick: () => window.print() }, t('recoveryPrint')),
        h(
          'button',
          { type: 'button', class: 'button button-primary', id: 'recovery-continue', 'aria-disabled': busy ? 'true' : null, onclick: () => void (busy ? null : finish()) },
          t('recoveryContinue'),
        ),
      ),
    ];
  }

  function mfaStep(): Child[] {
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'link-button',
        id: useRecovery ? 'use-totp-code' : 'use-recovery-code',
        onclick: () => {
          useRecovery = !useRecovery;
          code = '';
          fieldErrors = {};
          show(useRecovery ? 'recovery-code' : 'mfa-code');
        },
      },
      useRecovery ? t('useTotpCode') : t('useRecoveryCode'),
    );
    return [
      h('p', null, useRecovery ? t('recoveryCodeHelp') : t('mfaLead')),
      stepError(),
      form(
        'mfa-form',
        () => void submitCode(),
        codeField(),
        h('div', { class: 'button-row' }, submitButton('mfa-submit', t('mfaSubmit'), t('verifying')), startOverButton()),
      ),
      h('p', null, toggle),
    ];
  }

  const titles: Record<Step, () => string> = {
    credentials: () => t('loginTitle'),
    password: () => t('passwordChangeTitle'),
    enroll: () => t('mfaEnrollTitle'),
    recovery: () => t('recoveryTitle'),
    mfa: () => t('mfaTitle'),
  };

  return {
    title: () => titles[step](),
    render(root) {
      const body =
        step === 'credentials'
          ? credentialsStep()
          : step === 'password'
            ? passwordStep()
            : step === 'enroll'
              ? enrollStep()
              : step === 'recovery'
                ? recoveryStep()
                : mfaStep();
      replaceChildren(root, h('div', { class: 'login', id: 'login', 'data-step': step }, pageHeading(titles[step]()), body));
    },
  };
}
