// Entry point: builds the page shell (skip link, header with the user, the logout button and
// the language switch, navigation from /api/v1/meta filtered by the user's permissions, main
// area with an aria-live status line) and routes on the URL hash:
//
//   #/                 dashboard          #/r/{register}        register list (query = filters)
//   #/policy           basic policy       #/r/{register}/new?…  create a record (query = prefill)
//   #/login?next=…     login steps        #/r/{register}/{id}   view and edit a record
//   #/account          the user's account #/audit?…             audit log (query = filters)
//   #/m/{module}       module page        #/inventory?…         the annual asset inventory
//   #/compliance?…     controls' status   #/compliance/{id}     one control and its evidence
//   #/documents/diff?from=&to=  two versions' diff   #/documents/progress?version=  acknowledgements
//   #/risks/heatmap?section=  risk heat map  #/risks/proposals?asset=  proposed risks
//   #/risks/rounds/{id}/report  what an assessment round changed
//   #/m/netsep         network separation: the latest netcheck proof recorded as evidence
//   #/m/monitor?kind=&severity=&zone=&q=  traffic monitoring: the monitor's reports and alerts
//
// At start it asks /auth/me who is logged in; without a session only the public pages (基本方針,
// ログイン) open, and any other route goes to the login page, which returns to it afterwards.
// A 401 from any later request does the same. /api/v1/meta is loaded once logged in.
//
// Each route has a loader that fetches its data and returns a View; the view renders from its
// own state, so switching the language renders it again without fetching.

import '@digital-go-jp/design-tokens/dist/tokens.css';
import './styles.css';

import { ApiError, errorMessage, getJson, sendJson, setUnauthorizedHandler } from './api';
import { focusElement, h, replaceChildren, srOnly } from './dom';
import { label, lang, setLang, t } from './i18n';
import {
  acknowledgementsRegisterKey,
  confirmationsRegisterKey,
  documentVersionsRegisterKey,
  evidenceRegisterKey,
  mayOpenPage,
  modulePage,
  moduleOfPage,
  moduleOfRegister,
  moduleRegisters,
  riskRoundsRegisterKey,
  risksRegisterKey,
  viewableRegisters,
} from './modules';
import { can, getMe, setMe, setSignedInHandler, setSignedOutHandler, signedOut } from './session';
import {
  announce,
  clearStatus,
  findRegister,
  forgetAllRefOptions,
  getMeta,
  hasMeta,
  navigate,
  replaceRoute,
  setMeta,
  setRedrawHandler,
  setReloadHandler,
  setStatusRegion,
  takeFlash,
  type View,
} from './state';
import type { Me, Meta, ModuleDef } from './types';
import { loadAccount } from './views/account';
import { loadSettings as loadSettingsPage } from './views/settings';
import { loadAudit } from './views/audit';
import { errorView, forbiddenView, notFoundView, pageHeading } from './views/common';
import { loadCompliance, loadComplianceControl } from './views/compliance';
import { loadDashboard } from './views/dashboard';
import { loadInventory } from './views/inventory';
import { loadDocumentDiff, loadDocumentProgress } from './views/documents';
import { loginView } from './views/login';
import { moduleView } from './views/module';
import { loadMonitor } from './views/monitor';
import { loadNetsep } from './views/netsep';
import { loadPolicy } from './views/policy';
import { loadRegisterList, type ListView } from './views/register-list';
import { loadRegisterRecord } from './views/register-record';
import { loadRiskHeatmap, loadRiskProposals, loadRisksModule, loadRoundReport } from './views/risks';

type Route =
  | { name: 'dashboard' }
  | { name: 'policy' }
  | { name: 'login'; next: string }
  | { name: 'account' }
  | { name: 'audit'; query: URLSearchParams }
  | { name: 'inventory'; query: URLSearchParams }
  | { name: 'compliance'; query: URLSearchParams }
  | { name: 'control'; id: string }
  | { name: 'docDiff'; query: URLSearchParams }
  | { name: 'docProgress'; query: URLSearchParams }
  | { name: 'riskHeatmap'; query: URLSearchParams }
  | { name: 'riskProposals'; query: URLSearchParams }
  | { name: 'roundReport'; id: number }
  | { name: 'module'; key: string; query: URLSearchParams }
  | { name: 'list'; key: string; query: URLSearchParams }
  | { name: 'record'; key: string; id: number | null; query: URLSearchParams }
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
  else if (parts[0] === 'login' && parts.length === 1) route = { name: 'login', next: query.get('next') ?? '' };
  else if (parts[0] === 'account' && parts.length === 1) route = { name: 'account' };
  else if (parts[0] === 'audit' && parts.length === 1) route = { name: 'audit', query };
  else if (parts[0] === 'inventory' && parts.length === 1) route = { name: 'inventory', query };
  else if (parts[0] === 'compliance' && parts.length === 1) route = { name: 'compliance', query };
  else if (parts[0] === 'compliance' && parts.length === 2) route = { name: 'control', id: parts[1]! };
  else if (parts[0] === 'documents' && parts.length === 2 && parts[1] === 'diff') route = { name: 'docDiff', query };
  else if (parts[0] === 'documents' && parts.length === 2 && parts[1] === 'progress') route = { name: 'docProgress', query };
  else if (parts[0] === 'risks' && parts.length === 2 && parts[1] === 'heatmap') route = { name: 'riskHeatmap', query };
  else if (parts[0] === 'risks' && parts.length === 2 && parts[1] === 'proposals') route = { name: 'riskProposals', query };
  else if (parts[0] === 'risks' && parts.length === 4 && parts[1] === 'rounds' && /^\d+$/.test(parts[2]!) && parts[3] === 'report') {
    route = { name: 'roundReport', id: Number(parts[2]) };
  }
  else if (parts[0] === 'm' && parts.length === 2) route = { name: 'module', key: parts[1]!, query };
  else if (parts[0] === 'r' && parts.length === 2) route = { name: 'list', key: parts[1]!, query };
  else if (parts[0] === 'r' && parts.length === 3 && parts[2] === 'new') route = { name: 'record', key: parts[1]!, id: null, query };
  else if (parts[0] === 'r' && parts.length === 3 && /^\d+$/.test(parts[2]!)) {
    route = { name: 'record', key: parts[1]!, id: Number(parts[2]), query };
  }
  return { route, path };
}

/** Routes that open without a session: the public basic policy and the login page. */
function isPublic(route: Route): boolean {
  return route.name === 'policy' || route.name === 'login';
}

/** Where to go after the login: `next` when it is a page of this app, else the dashboard. */
function safeNext(next: string): string {
  return next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/';
}

/** The login page, remembering `returnTo` (a route hash) to come back to. */
function loginHash(returnTo: string): string {
  const next = safeNext(returnTo);
  return next === '#/' ? '#/login' : `#/login?next=${encodeURIComponent(next)}`;
}

function moduleOf(key: string): ModuleDef | undefined {
  return hasMeta() ? getMeta().modules.find((m) => m.key === key) : undefined;
}

function missingRegisterView(): View {
  return {
    title: () => t('errorTitle'),
    render(root) {
      root.append(pageHeading(t('errorTitle')), h('p', { class: 'notice notice-error' }, t('registerMissing')));
    },
  };
}

/** Loads a page a module opens instead of a register (modules.ts). */
function loadPage(name: string, query: URLSearchParams): Promise<View> | View {
  switch (name) {
    case 'audit':
      return can('audit_log', 'view') ? loadAudit(query) : forbiddenView();
    case 'settings':
      return can('settings', 'view') || can('service_accounts', 'view') ? loadSettingsPage() : forbiddenView();
    case 'risks':
      return can(risksRegisterKey, 'view') ? loadRisksModule() : forbiddenView();
    case 'netsep':
      // The server decides who may see evidence; the page shows its answer either way.
      return loadNetsep();
    case 'monitor':
      // The server decides who may see evidence; the page shows its answer either way.
      return loadMonitor(query);
    default:
      return notFoundView();
  }
}

async function loadRoute(route: Route): Promise<View> {
  switch (route.name) {
    case 'dashboard':
      return loadDashboard();
    case 'policy':
      return loadPolicy();
    case 'login':
      return loginView(safeNext(route.next));
    case 'account':
      return loadAccount();
    case 'audit':
      return loadPage('audit', route.query);
    case 'inventory':
      return can(confirmationsRegisterKey, 'view') ? loadInventory(route.query) : forbiddenView();
    case 'compliance':
      return can(evidenceRegisterKey, 'view') ? loadCompliance(route.query) : forbiddenView();
    case 'control':
      return can(evidenceRegisterKey, 'view') ? loadComplianceControl(route.id) : forbiddenView();
    case 'docDiff':
      return can(documentVersionsRegisterKey, 'view') ? loadDocumentDiff(route.query) : forbiddenView();
    case 'docProgress':
      return can(acknowledgementsRegisterKey, 'view') ? loadDocumentProgress(route.query) : forbiddenView();
    case 'riskHeatmap':
      if (!findRegister(risksRegisterKey)) return missingRegisterView();
      return can(risksRegisterKey, 'view') ? loadRiskHeatmap(route.query) : forbiddenView();
    case 'riskProposals':
      return can(risksRegisterKey, 'view') ? loadRiskProposals(route.query) : forbiddenView();
    case 'roundReport':
      return can(riskRoundsRegisterKey, 'view') ? loadRoundReport(route.id) : forbiddenView();
    case 'module': {
      const m = moduleOf(route.key);
      if (!m) return notFoundView();
      const page = modulePage(m);
      if (page) return loadPage(page.route, route.query);
      if (m.status === 'ready' && moduleRegisters(m).length > 0) {
        const reg = viewableRegisters(m)[0];
        return reg ? loadRegisterList(reg, new URLSearchParams()) : forbiddenView();
      }
      return moduleView(m);
    }
    case 'list': {
      const reg = findRegister(route.key);
      if (!reg) return missingRegisterView();
      return can(reg.key, 'view') ? loadRegisterList(reg, route.query) : forbiddenView();
    }
    case 'record': {
      const reg = findRegister(route.key);
      if (!reg) return missingRegisterView();
      const allowed = route.id === null ? can(reg.key, 'create') : can(reg.key, 'view');
      return allowed ? loadRegisterRecord(reg, route.id, route.query) : forbiddenView();
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
    case 'account':
      return t('accountTitle');
    case 'audit':
      return t('auditTitle');
    case 'inventory':
      return t('inventoryTitle');
    case 'compliance':
    case 'control':
      return t('complianceTitle');
    case 'docDiff':
      return t('docDiffTitle');
    case 'docProgress':
      return t('docProgressTitle');
    case 'riskHeatmap':
      return t('heatmapTitle');
    case 'riskProposals':
      return t('proposalsTitle');
    case 'roundReport':
      return label(findRegister(riskRoundsRegisterKey)?.label) || t('errorTitle');
    case 'module':
      return label(moduleOf(route.key)?.label) || t('errorTitle');
    case 'list':
    case 'record':
      return label(findRegister(route.key)?.label) || t('errorTitle');
    default:
      return t('errorTitle');
  }
}

/**
 * The navigation entry of a route: 'dashboard', 'policy', 'login', 'm:{module}' or
 * 'r:{register}' (a register listed under its module).
 */
function navKey(route: Route): string {
  switch (route.name) {
    case 'dashboard':
    case 'policy':
    case 'login':
      return route.name;
    case 'audit':
    case 'riskHeatmap':
    case 'riskProposals': {
      const m = moduleOfPage(route.name === 'audit' ? 'audit' : 'risks');
      return m ? `m:${m.key}` : '';
    }
    case 'module':
      return `m:${route.key}`;
    case 'inventory':
      return `r:${confirmationsRegisterKey}`;
    case 'list':
    case 'record':
    case 'compliance':
    case 'control':
    case 'docDiff':
    case 'docProgress':
    case 'roundReport': {
      // The compliance pages sum up the evidence register: they are under its entry; the
      // documents' pages are under the versions' entry; a round's report under the rounds'.
      const key =
        route.name === 'list' || route.name === 'record'
          ? route.key
          : route.name === 'docDiff' || route.name === 'docProgress'
            ? documentVersionsRegisterKey
            : route.name === 'roundReport'
              ? riskRoundsRegisterKey
              : evidenceRegisterKey;
      const m = moduleOfRegister(key);
      if (!m) return '';
      // A module with a page of its own lists all its registers under it; otherwise its entry
      // is its first register.
      return !modulePage(m) && viewableRegisters(m)[0]?.key === key ? `m:${m.key}` : `r:${key}`;
    }
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

/** True once the first /auth/me (and, when logged in, /meta) has been answered. */
let booted = false;
let currentRoute: Route = { name: 'dashboard' };
let currentPath: string | null = null;
let currentView: View | null = null;
let navigationCount = 0;

function renderHeader(): void {
  const next = lang() === 'ja' ? 'en' : 'ja';
  const me = getMe();
  replaceChildren(
    header,
    h(
      'div',
      { class: 'brand' },
      h('a', { href: '#/', class: 'brand-link', id: 'brand' }, h('span', { class: 'product-name' }, t('product'))),
      h('span', { class: 'body-name' }, t('bodyName')),
    ),
    h(
      'div',
      { class: 'header-tools' },
      me
        ? h(
            'div',
            { class: 'user-menu', id: 'user-menu', role: 'group', 'aria-label': t('userMenu') },
            h(
              'span',
              { class: 'user' },
              srOnly(`${t('currentUser')}: `),
              h('span', { class: 'user-name', id: 'user-name' }, me.user.name || me.user.login),
              ' ',
              h('span', { class: 'user-login', id: 'user-login' }, `(${me.user.login})`),
            ),
            h(
              'a',
              { href: '#/account', class: 'button button-quiet', id: 'account-link', 'aria-current': currentRoute.name === 'account' ? 'page' : null },
              t('account'),
            ),
            h('button', { type: 'button', class: 'button', id: 'logout' }, t('logout')),
          )
        : null,
      h(
        'button',
        { type: 'button', class: 'button lang-switch', id: 'lang-switch', lang: next, title: t('switchLanguageName') },
        t('switchLanguage'),
      ),
    ),
  );
  skipLink.textContent = t('skipToMain');
}

function renderNav(): void {
  nav.setAttribute('aria-label', t('mainMenu'));
  const active = booted ? navKey(currentRoute) : '';
  const item = (key: string, id: string, href: string, text: string, planned = false, sub: HTMLElement[] = []) =>
    h(
      'li',
      null,
      h(
        'a',
        { href, id, 'aria-current': key === active ? 'page' : null, class: planned ? 'is-planned' : null },
        text,
        planned ? [' ', h('span', { class: 'nav-status' }, t('planned'))] : null,
      ),
      sub.length ? h('ul', { class: 'sub-nav' }, sub) : null,
    );
  if (!getMe()) {
    // Without a session only the public pages exist.
    replaceChildren(
      nav,
      h('ul', null, item('policy', 'nav-policy', '#/policy', t('policy')), booted ? item('login', 'nav-login', '#/login', t('login')) : null),
    );
    return;
  }
  const modules = hasMeta() ? getMeta().modules : [];
  const entries: HTMLElement[] = [];
  for (const m of modules) {
    const page = modulePage(m);
    if (page) {
      // A module's own page; its registers, if any, are listed under it.
      const sub = viewableRegisters(m).map((r) => item(`r:${r.key}`, `nav-register-${r.key}`, `#/r/${encodeURIComponent(r.key)}`, label(r.label)));
      if (mayOpenPage(page)) entries.push(item(`m:${m.key}`, `nav-${m.key}`, page.hash, label(m.label), false, sub));
      continue;
    }
    if (m.status === 'ready' && moduleRegisters(m).length > 0) {
      // A module of registers opens its first viewable register; the others are listed under it.
      const [first, ...rest] = viewableRegisters(m);
      if (!first) continue;
      entries.push(
        item(
          `m:${m.key}`,
          `nav-${m.key}`,
          `#/r/${encodeURIComponent(first.key)}`,
          label(m.label),
          false,
          rest.map((r) => item(`r:${r.key}`, `nav-register-${r.key}`, `#/r/${encodeURIComponent(r.key)}`, label(r.label))),
        ),
      );
      continue;
    }
    entries.push(item(`m:${m.key}`, `nav-${m.key}`, `#/m/${encodeURIComponent(m.key)}`, label(m.label), m.status !== 'ready'));
  }
  replaceChildren(
    nav,
    h('ul', null, item('dashboard', 'nav-dashboard', '#/', t('dashboard')), item('policy', 'nav-policy', '#/policy', t('policy')), entries),
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
  if (!getMe() && !isPublic(route)) {
    // Not logged in: the login page, which comes back here afterwards.
    location.replace(loginHash(location.hash));
    return;
  }
  if (getMe() && route.name === 'login') {
    location.replace(safeNext(route.next));
    return;
  }
  const soft = path === currentPath;
  if (!soft) {
    clearStatus();
    replaceChildren(viewRoot, h('p', { class: 'loading' }, t('loading')));
  }
  let view: View;
  try {
    view = await loadRoute(route);
  } catch (err) {
    // A 401 has already sent the user to the login page (the unauthorized handler).
    if (err instanceof ApiError && err.status === 401) return;
    view = err instanceof ApiError && err.status === 403 ? forbiddenView() : errorView(() => fallbackTitle(route), err);
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
  renderHeader();
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
  if (booted) renderView(true);
  else void boot();
  document.getElementById('lang-switch')?.focus();
}

/** Loads /api/v1/meta once (it needs a session). */
async function ensureMeta(): Promise<void> {
  if (!hasMeta()) setMeta(await getJson<Meta>('meta', undefined, { quiet401: true }));
}

async function boot(): Promise<void> {
  renderHeader();
  renderNav();
  replaceChildren(viewRoot, h('p', { class: 'loading' }, t('loading')));
  try {
    let me: Me | null = null;
    try {
      me = await getJson<Me>('auth/me', undefined, { quiet401: true });
      setMe(me);
      await ensureMeta();
    } catch (err) {
      // 401: nobody is logged in (or the session has expired); the public pages still open.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
      setMe(null);
    }
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
  booted = true;
  renderHeader();
  await showRoute();
}

async function logout(): Promise<void> {
  try {
    await sendJson('DELETE', 'auth/session', undefined, { quiet401: true });
  } catch (err) {
    // 401: the session had already ended, which is what the user asked for.
    if (!(err instanceof ApiError && err.status === 401)) {
      announce(errorMessage(err), 'error');
      return;
    }
  }
  signedOut(t('loggedOut'));
}

// The session is open (the login page's last step): learn who it is, then go where asked.
setSignedInHandler(async (next) => {
  const me = await getJson<Me>('auth/me', undefined, { quiet401: true });
  setMe(me);
  await ensureMeta();
  forgetAllRefOptions();
  renderHeader();
  replaceRoute(safeNext(next));
});

// Logged out (this device or everywhere): forget what this user could see.
setSignedOutHandler((message) => {
  forgetAllRefOptions();
  renderHeader();
  navigate('#/login', { text: message, tone: 'success' });
});

// Any 401 after the start: the session is gone. Public pages stay; others go to the login page,
// which comes back to them.
setUnauthorizedHandler((err) => {
  if (!booted) return;
  const wasLoggedIn = getMe() !== null;
  setMe(null);
  forgetAllRefOptions();
  renderHeader();
  const { route } = parseRoute(location.hash);
  if (isPublic(route)) {
    renderNav();
    return;
  }
  replaceRoute(loginHash(location.hash), wasLoggedIn ? { text: errorMessage(err), tone: 'info' } : undefined);
});

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
  const target = event.target as Element | null;
  if (target?.closest?.('#lang-switch')) switchLanguage();
  else if (target?.closest?.('#logout')) void logout();
});

window.addEventListener('hashchange', () => {
  if (!booted) return;
  if (location.hash === '' || location.hash.startsWith('#/')) void showRoute();
});

setReloadHandler(() => {
  if (booted) void showRoute();
  else void boot();
});
setRedrawHandler(() => renderView(true));

setLang(lang());
void boot();
