// Talks to the Mamori API (/api/v1, docs/api.md). Every failure becomes an ApiError: status 0
// when the server cannot be reached, otherwise the HTTP status with the problem details the
// server sent (RFC 9457), if any.

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

async function request<T>(method: string, url: string, body?: BodyInit, contentType?: string): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (contentType) headers['content-type'] = contentType;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, null);
  }
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  let data: unknown = null;
  if (isJson) {
    try {
      data = await res.json();
    } catch {
      throw new ApiError(res.status, null, res.ok);
    }
  }
  if (!res.ok) throw new ApiError(res.status, isJson && data && typeof data === 'object' ? (data as Problem) : null);
  if (!isJson) {
    // 204 No Content (or an empty body) is a success without an answer.
    if (res.status === 204 || (await res.text()) === '') return null as T;
    throw new ApiError(res.status, null, true);
  }
  return data as T;
}

export function getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  return request<T>('GET', apiUrl(path, params));
}

export function sendJson<T>(method: 'POST' | 'PATCH', path: string, body: unknown): Promise<T> {
  return request<T>(method, apiUrl(path), JSON.stringify(body), 'application/json');
}

/** POSTs raw bytes (an import file). */
export function sendFile<T>(path: string, params: URLSearchParams, file: Blob, contentType: string): Promise<T> {
  return request<T>('POST', apiUrl(path, params), file, contentType);
}
