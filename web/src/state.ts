// What the views share: the metadata loaded at start, the status line (aria-live), navigation,
// and the cached choices of reference fields. Set up once by main.ts.

import { getJson } from './api';
import type { EnumOption, FieldDef, ListAnswer, Meta, RegisterDef, Settings } from './types';

/** A page of the app. Built by a route's loader once its data has arrived. */
export interface View {
  /** The page title (the h1 text), used for document.title. */
  title(): string;
  /** Builds the page into `root` (already emptied). Called again when the language changes. */
  render(root: HTMLElement): void;
  /** Releases what the view holds (charts, listeners) when the page is left. */
  destroy?(): void;
}

let meta: Meta | null = null;

export function setMeta(m: Meta): void {
  meta = m;
}

export function hasMeta(): boolean {
  return meta !== null;
}

export function getMeta(): Meta {
  if (!meta) throw new Error('metadata not loaded');
  return meta;
}

export function findRegister(key: string): RegisterDef | undefined {
  return meta?.registers.find((r) => r.key === key);
}

// ---- Status line ---------------------------------------------------------------------------

export type Tone = 'info' | 'success' | 'error';

let statusRegion: HTMLElement | null = null;
let pendingFlash: { text: string; tone: Tone } | null = null;

export function setStatusRegion(el: HTMLElement): void {
  statusRegion = el;
}

/** Shows `text` in the status line, which screen readers announce (role=status). */
export function announce(text: string, tone: Tone = 'info'): void {
  if (!statusRegion) return;
  statusRegion.textContent = text;
  statusRegion.dataset.tone = tone;
  statusRegion.hidden = text === '';
}

export function clearStatus(): void {
  announce('');
}

/** Takes the message to show after the next navigation, if any. */
export function takeFlash(): { text: string; tone: Tone } | null {
  const f = pendingFlash;
  pendingFlash = null;
  return f;
}

// ---- Navigation ----------------------------------------------------------------------------

let reloadHandler: () => void = () => undefined;
let redrawHandler: () => void = () => undefined;

export function setReloadHandler(fn: () => void): void {
  reloadHandler = fn;
}

export function setRedrawHandler(fn: () => void): void {
  redrawHandler = fn;
}

/** Renders the current view again from its state (no loading), keeping focus by element id. */
export function redraw(): void {
  redrawHandler();
}

/** Goes to a route (`#/…`), optionally showing `flash` on the next page. */
export function navigate(hash: string, flash?: { text: string; tone: Tone }): void {
  pendingFlash = flash ?? null;
  if (location.hash === hash) reloadHandler();
  else location.hash = hash;
}

/** Goes to a route without adding a history entry (redirects such as the login page). */
export function replaceRoute(hash: string, flash?: { text: string; tone: Tone }): void {
  pendingFlash = flash ?? null;
  if (location.hash === hash) reloadHandler();
  else location.replace(hash);
}

/** Loads the current route again, keeping focus and scroll where they are. */
export function reload(): void {
  reloadHandler();
}

// ---- Choices of reference fields -----------------------------------------------------------

export interface RefOption {
  id: number;
  label: string;
}

/** The most records offered in a reference field's list (the API's largest page). */
export const refLimit = 500;

const refCache = new Map<string, Promise<RefOption[]>>();

/** The records of register `key` as choices (id and title_field), cached until forgotten. */
export function refOptions(key: string): Promise<RefOption[]> {
  let p = refCache.get(key);
  if (!p) {
    const reg = findRegister(key);
    if (!reg) return Promise.resolve([]);
    p = getJson<ListAnswer>(reg.path, new URLSearchParams({ limit: String(refLimit) })).then((a) =>
      a.items.map((r) => ({ id: r.id, label: displayTitle(reg, r) })),
    );
    p.catch(() => refCache.delete(key));
    refCache.set(key, p);
  }
  return p;
}

/** Drops the cached choices of register `key` (after it changed). */
export function forgetRefOptions(key: string): void {
  refCache.delete(key);
}

/** Drops every cached choice (the user changed: what they may see may differ). */
export function forgetAllRefOptions(): void {
  refCache.clear();
  settingsCache = null;
}

let settingsCache: Promise<Settings> | null = null;

/** The settings that decide which options are valid (GET /api/v1/settings), cached. */
export function loadSettings(): Promise<Settings> {
  if (!settingsCache) {
    settingsCache = getJson<Settings>('settings');
    settingsCache.catch(() => (settingsCache = null));
  }
  return settingsCache;
}

/** The options of enum field `f` valid under the current settings. */
export function validOptions(f: FieldDef, settings: Settings | null): EnumOption[] {
  const options = f.options ?? [];
  if (!f.options_setting) return options;
  const tag = settings?.[f.options_setting] ?? f.options_setting_default;
  return options.filter((o) => !o.tags || (tag !== undefined && o.tags.includes(tag)));
}

/** A record's title: its title_field, else its key_field, else `#id`. */
export function displayTitle(reg: RegisterDef, r: Record<string, unknown>): string {
  for (const name of [reg.title_field, reg.key_field]) {
    const v = r[name];
    if (v !== null && v !== undefined && v !== '') return String(v);
  }
  return `#${String(r.id)}`;
}
