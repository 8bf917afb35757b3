// Talks to the Mamori API (/api/v1, docs/api.md). Every failure becomes an ApiError: status 0
// when the server cannot be reached, otherwise the HTTP status with the problem details the
// server sent (RFC 9457), if any.
//
// Sessions: the session cookie is HttpOnly and goes with every request (same origin). Every
// state-changing request (POST, PATCH, PUT, DELETE) carries X-CSRF-Token, read from the
// `mamori_csrf` cookie or, failing that, the token the last MFA or /auth/me answer gave. A 401
// from any request (except the login steps and the first /auth/me, which ask for `quiet401`)
// calls the handler main.ts sets, which sends the user to the login page.

import { lang, t } from './i18n';
import type { Problem, ProblemError } from './types';

export const apiBase = '/api/v1';

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 if the server could not be reached or its answer was unreadable. */
    readonly status: number,
    /** The problem details, when the server sent them. */
    readonly problem: Problem | null,
    /** True when the server answered something that is not the JSON we expect. */
    readonly badResponse = false,
    /** Seconds from the Retry-After header (429), when sent. */
    readonly retryAfter: number | null = null,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }

  /** The field-level errors (from a 400 or a 409 on a unique field). */
  get errors(): ProblemError[] {
    return Array.isArray(this.problem?.errors) ? this.problem.errors : [];
  }
}

/** A user-facing message for any error, in the current language. */
export function errorMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return t('cannotConnectDetail');
  if (err.badResponse) return t('badResponse');
  if (err.status === 0) return t('cannotConnectDetail');
  const p = err.problem;
  const detail = lang() === 'en' ? p?.detail_en || p?.detail : p?.detail || p?.title;
  if (detail) return detail;
  switch (err.status) {
    case 400: return t('status400');
    case 401: return t('status401');
    case 403: return t('status403');
    case 404: return t('status404');
    case 409: return t('status409');
    case 413: return t('status413');
    case 429: return t('status429');
    case 503: return t('status503');
    default: return err.status >= 500 ? t('status500') : t('httpError', { status: err.status });
  }
}

/** The message of one field or import error in the current language. */
export function problemErrorMessage(e: ProblemError): string {
  return (lang() === 'en' ? e.message_en || e.message : e.message || e.message_en) ?? '';
}

/** Builds `/api/v1/{path}?{params}`; `path` has no leading slash. */
export function apiUrl(path: string, params?: URLSearchParams): string {
  const query = params?.toString();
  return `${apiBase}/${path}${query ? `?${query}` : ''}`;
}

// ---- Session: CSRF token and the "not logged in" handler ------------------------------------

const csrfCookie = 'mamori_csrf';
const csrfHeader = 'X-CSRF-Token';
let knownCsrfToken = '';
let unauthorizedHandler: (err: ApiError) => void = () => undefined;

/** Remembers the CSRF token of the session (from the MFA answer or /auth/me); '' forgets it. */
export function setCsrfToken(token: string | null | undefined): void {
  knownCsrfToken = token ?? '';
}

/** The session's CSRF token: the `mamori_csrf` cookie, else the one last remembered. */
export function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== csrfCookie) continue;
    const value = part.slice(eq + 1).trim();
    if (value) {
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return knownCsrfToken;
}

/** Sets what happens when the server answers 401 (the session is missing or has expired). */
export function setUnauthorizedHandler(fn: (err: ApiError) => void): void {
  unauthorizedHandler = fn;
}

export interface RequestOptions {
  /** A 401 is only thrown, not handed to the unauthorized handler (login steps, first /auth/me). */
  quiet401?: boolean;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function retryAfterSeconds(res: Response): number | null {
  const v = res.headers.get('retry-after');
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

async function request<T>(
  method: Method,
  url: string,
  body?: BodyInit,
  contentType?: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (contentType) headers['content-type'] = contentType;
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers[csrfHeader] = token;
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, null);
  }
  if (res.status === 204) return null as T;  // No Content: a success without an answer
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  let data: unknown = null;
  if (isJson) {
    try {
      data = await res.json();
    } catch {
      if (res.ok) throw new ApiError(res.status, null, true);
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(
      res.status,
      isJson && data && typeof data === 'object' ? (data as Problem) : null,
      false,
      retryAfterSeconds(res),
    );
    if (res.status === 401 && !options.quiet401) unauthorizedHandler(err);
    throw err;
  }
  if (!isJson) {
    // 204 No Content (or an empty body) is a success without an answer.
    if (res.status === 204 || (await res.text()) === '') return null as T;
    throw new ApiError(res.status, null, true);
  }
  return data as T;
}

export function getJson<T>(path: string, params?: URLSearchParams, options?: RequestOptions): Promise<T> {
  return request<T>('GET', apiUrl(path, params), undefined, undefined, options);
}

/** Sends `body` as JSON (DELETE without a body when `body` is undefined). */
export function sendJson<T>(
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  options?: RequestOptions,
): Promise<T> {
  if (body === undefined) return request<T>(method, apiUrl(path), undefined, undefined, options);
  return request<T>(method, apiUrl(path), JSON.stringify(body), 'application/json', options);
}

/** POSTs raw bytes (an import file). */
export function sendFile<T>(path: string, params: URLSearchParams, file: Blob, contentType: string): Promise<T> {
  return request<T>('POST', apiUrl(path, params), file, contentType);
}
