// The logged-in user (GET /api/v1/auth/me): who it is, its roles, and what it may do. The UI
// hides what the user may not do; the server refuses it anyway (403). Set by main.ts; the login
// page and the account page report a login or a logout through the handlers main.ts installs.

import { setCsrfToken } from './api';
import type { Me } from './types';

let me: Me | null = null;

/** Sets (or, with null, forgets) the user; remembers the session's CSRF token with it. */
export function setMe(next: Me | null): void {
  me = next;
  setCsrfToken(next?.csrf_token);
}

/** The logged-in user, or null when nobody is logged in. */
export function getMe(): Me | null {
  return me;
}

export function loggedIn(): boolean {
  return me !== null;
}

/**
 * Whether the user may do `action` on `resource` (a register key, or `audit_log`,
 * `credentials`). Actions: view create update archive approve export import view_confidential.
 */
export function can(resource: string, action: string): boolean {
  const actions = me?.permissions?.[resource];
  return Array.isArray(actions) && actions.includes(action);
}

// ---- Login and logout, as main.ts handles them ----------------------------------------------

let signedInHandler: (next: string) => Promise<void> = async () => undefined;
let signedOutHandler: (message: string) => void = () => undefined;

export function setSignedInHandler(fn: (next: string) => Promise<void>): void {
  signedInHandler = fn;
}

export function setSignedOutHandler(fn: (message: string) => void): void {
  signedOutHandler = fn;
}

/** The session is open (after the MFA step): loads the user and goes to `next`. */
export function signedIn(next: string): Promise<void> {
  return signedInHandler(next);
}

/** The session has ended (logout): forgets the user and shows the login page with `message`. */
export function signedOut(message: string): void {
  setMe(null);
  signedOutHandler(message);
}
