// Entry point: builds the page shell (skip link, header with the language switch, navigation
// from /api/v1/meta, main area with an aria-live status line) and routes on the URL hash:
//
//   #/                 dashboard          #/r/{register}        register list (query = filters)
//   #/policy           basic policy       #/r/{register}/new    create a record
//   #/m/{module}       module page        #/r/{register}/{id}   view and edit a record
//
// Each route has a loader that fetches its data and returns a View; the view renders from its
// own state, so switching the language renders it again without fetching.

import '@digital-go-jp/design-tokens/dist/tokens.css';
import './styles.css';

import { errorMessage, getJson } from './api';
import { focusElement, h, replaceChildren } from './dom';
import { label, lang, setLang, t } from './i18n';
import {
  announce,
  clearStatus,
  findRegister,
  getMeta,
  setMeta,
  setRedrawHandler,
  setReloadHandler,
  setStatusRegion,
  takeFlash,
  type View,
} from './state';
import type { Meta, ModuleDef } from './types';
import { errorView, notFoundView, pageHeading } from './views/common';
import { loadDashboard } from './views/dashboard';
import { moduleView } from './views/module';
import { loadPolicy } from './views/policy';
import { loadRegisterList, type ListView } from './views/register-list';
import { loadRegisterRecord } from './views/register-record';

type Route =
  | { name: 'dashboard' }
  | { name: 'policy' }
  | { name: 'module'; key: string }
  | { name: 'list'; key: string; query: URLSearchParams }
  | { name: 'record'; key: string; id: number | null }
  | { name: 'notFound' };

/** Parses `#/…`; `path` is the part before `?` (a change of only the query is a "soft" move). */
function parseRoute(hash: string): { route: Route; path: string } {
  const raw = hash.startsWith('#/') ? hash.slice(1) : '/';
  const [path = '/', search = ''] = raw.split('?', 2) as [string, string?];
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = new URLSearchParams(search);
  let route: Route = { name: 'notFound' };
  if (parts.length === 0) route = { name: 'dashboard' };
  else if (parts[0] === 'policy' && parts.length === 1) route = { name: 'policy' };
  else if (parts[0] === 'm' && parts.length === 2) route = { name: 'module', key: parts[1]! };
  else if (parts[0] === 'r' && parts.length === 2) route = { name: 'list', key: parts[1]!, query };
  else if (parts[0] === 'r' && parts.length === 3 && parts[2] === 'new') route = { name: 'record', key: parts[1]!, id: null };
  else if (parts[0] === 'r' && parts.length === 3 && /^\d+$/.test(parts[2]!)) {
    route = { name: 'record', key: parts[1]!, id: Number(parts[2]) };
  }
  return { route, path };
}

function moduleOf(key: string): ModuleDef | undefined {
  return getMeta().modules.find((m) => m.key === key);
}

function missingRegisterView(): View {
  return {
    title: () => t('errorTitle'),
    render(root) {
      root.append(pageHeading(t('errorTitle')), h('p', { class: 'notice notice-error' }, t('registerMissing')));
    },
  };
}

async function loadRoute(route: Route): Promise<View> {
  switch (route.name) {
    case 'dashboard':
      return loadDashboard();
    case 'policy':
      return loadPolicy();
    case 'module': {
      const m = moduleOf(route.key);
      if (!m) return notFoundView();
      const reg = m.status === 'ready' && m.register ? findRegister(m.register) : undefined;
      return reg ? loadRegisterList(reg, new URLSearchParams()) : moduleView(m);
    }
    case 'list': {
      const reg = findRegister(route.key);
      return reg ? loadRegisterList(reg, route.query) : missingRegisterView();
    }
    case 'record': {
      const reg = findRegister(route.key);
      return reg ? loadRegisterRecord(reg, route.id) : missingRegisterView();
    }
    case 'notFound':
      return notFoundView();
  }
}

/** The page title to use when a route's data could not be loaded. */
function fallbackTitle(route: Route): string {
  switch (route.name) {
    case 'dashboard':
      return t('dashboard');
    case 'policy':
      return t('policy');
    case 'module':
      return label(moduleOf(route.key)?.label) || t('errorTitle');
    case 'list':
    case 'record':
      return label(findRegister(route.key)?.label) || t('errorTitle');
    default:
      return t('errorTitle');
  }
}

/** The navigation key of a route: 'dashboard', 'policy' or a module key. */
function navKey(route: Route): string {
  switch (route.name) {
    case 'dashboard':
    case 'policy':
      return route.name;
    case 'module':
      return route.key;
    case 'list':
    case 'record':
      return getMeta().modules.find((m) => m.register === route.key)?.key ?? '';
    default:
      return '';
  }
}

// ---- Shell ---------------------------------------------------------------------------------

const app = document.getElementById('app')!;
const header = h('header', { class: 'site-header' });
const nav = h('nav', { class: 'site-nav', id: 'site-nav' });
const statusLine = h('div', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite', hidden: true });
const viewRoot = h('div', { id: 'view' });
const main = h('main', { id: 'main', tabindex: -1 }, statusLine, viewRoot);
const skipLink = h('a', { class: 'skip-link', href: '#main' });
replaceChildren(app, skipLink, header, h('div', { class: 'layout' }, nav, main));
setStatusRegion(statusLine);

let metaLoaded = false;
let currentRoute: Route = { name: 'dashboard' };
let currentPath: string | null = null;
let currentView: View | null = null;
let navigationCount = 0;

function renderHeader(): void {
  const next = lang() === 'ja' ? 'en' : 'ja';
  replaceChildren(
    header,
    h(
      'div',
      { class: 'brand' },
      h('a', { href: '#/', class: 'brand-link', id: 'brand' }, h('span', { class: 'product-name' }, t('product'))),
      h('span', { class: 'body-name' }, t('bodyName')),
    ),
    h(
      'button',
      { type: 'button', class: 'button lang-switch', id: 'lang-switch', lang: next, title: t('switchLanguageName') },
      t('switchLanguage'),
    ),
  );
  skipLink.textContent = t('skipToMain');
}

function renderNav(): void {
  nav.setAttribute('aria-label', t('mainMenu'));
  const active = metaLoaded ? navKey(currentRoute) : '';
  const item = (key: string, href: string, text: string, planned = false) =>
    h(
      'li',
      null,
      h(
        'a',
        { href, id: `nav-${key}`, 'aria-current': key === active ? 'page' : null, class: planned ? 'is-planned' : null },
        text,
        planned ? [' ', h('span', { class: 'nav-status' }, t('planned'))] : null,
      ),
    );
  const modules = metaLoaded ? getMeta().modules : [];
  replaceChildren(
    nav,
    h(
      'ul',
      null,
      item('dashboard', '#/', t('dashboard')),
      item('policy', '#/policy', t('policy')),
      modules.map((m) => {
        const ready = m.status === 'ready' && m.register;
        return item(m.key, ready ? `#/r/${encodeURIComponent(m.register!)}` : `#/m/${encodeURIComponent(m.key)}`, label(m.label), !ready);
      }),
    ),
  );
}

/** Renders the current view; keeps focus on the element that had it (by id) when asked. */
function renderView(keepFocus: boolean): void {
  if (!currentView) return;
  const focusedId = keepFocus ? document.activeElement?.id : undefined;
  viewRoot.replaceChildren();
  currentView.render(viewRoot);
  document.title = `${currentView.title()} | ${t('product')}`;
  if (focusedId) document.getElementById(focusedId)?.focus({ preventScroll: true });
}

/** Loads and shows the route in the URL. A change of only the query keeps focus and scroll. */
async function showRoute(): Promise<void> {
  const count = ++navigationCount;
  const { route, path } = parseRoute(location.hash);
  const soft = path === currentPath;
  if (!soft) {
    clearStatus();
    replaceChildren(viewRoot, h('p', { class: 'loading' }, t('loading')));
  }
  let view: View;
  try {
    view = await loadRoute(route);
  } catch (err) {
    view = errorView(() => fallbackTitle(route), err);
  }
  if (count !== navigationCount) {
    view.destroy?.();
    return;
  }
  currentView?.destroy?.();
  currentView = view;
  currentRoute = route;
  const firstPage = currentPath === null;
  currentPath = path;
  renderNav();
  renderView(soft);
  const flash = takeFlash();
  if (flash) announce(flash.text, flash.tone);
  else if (soft && 'announcement' in view) announce((view as ListView).announcement());
  if (!soft && !firstPage) {
    window.scrollTo(0, 0);
    focusElement(document.getElementById('page-title'));
  }
}

function switchLanguage(): void {
  setLang(lang() === 'ja' ? 'en' : 'ja');
  clearStatus();
  renderHeader();
  renderNav();
  if (metaLoaded) renderView(true);
  else void boot();
  document.getElementById('lang-switch')?.focus();
}

async function boot(): Promise<void> {
  renderHeader();
  renderNav();
  replaceChildren(viewRoot, h('p', { class: 'loading' }, t('loading')));
  try {
    setMeta(await getJson<Meta>('meta'));
  } catch (err) {
    const detail = errorMessage(err);
    document.title = `${t('cannotConnect')} | ${t('product')}`;
    replaceChildren(
      viewRoot,
      pageHeading(t('cannotConnect')),
      h(
        'div',
        { class: 'notice notice-error', role: 'alert', id: 'boot-error' },
        h('p', null, t('cannotConnectDetail')),
        detail && detail !== t('cannotConnectDetail') ? h('p', { class: 'note' }, t('errorDetail', { detail })) : null,
        h('button', { type: 'button', class: 'button', id: 'retry', onclick: () => void boot() }, t('reload')),
      ),
    );
    return;
  }
  metaLoaded = true;
  await showRoute();
}

// In-page links (#main, #f-name, policy headings) move focus instead of changing the route.
document.addEventListener('click', (event) => {
  const a = (event.target as Element | null)?.closest?.('a[href^="#"]');
  if (!a) return;
  const href = a.getAttribute('href') ?? '';
  if (href.startsWith('#/')) return;
  event.preventDefault();
  const target = document.getElementById(decodeURIComponent(href.slice(1)));
  if (target) {
    focusElement(target);
    target.scrollIntoView({ block: 'start' });
  }
});

header.addEventListener('click', (event) => {
  if ((event.target as Element | null)?.closest?.('#lang-switch')) switchLanguage();
});

window.addEventListener('hashchange', () => {
  if (!metaLoaded) return;
  if (location.hash === '' || location.hash.startsWith('#/')) void showRoute();
});

setReloadHandler(() => {
  if (metaLoaded) void showRoute();
  else void boot();
});
setRedrawHandler(() => renderView(true));

setLang(lang());
void boot();
