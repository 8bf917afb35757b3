// The end-to-end tests' browser: Debian's chromium driven by playwright-core, the demo body's
// people loaded into a test server, and the page's errors collected so a test can assert none.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { mamori, ROOT } from './mamori.mjs';

// Imports examples/demo/<file>.csv into each register named (organization, people, roles by
// default; the risks test adds the assets).
export function seedDemo(srv, registers = [['organization', 'org_units'], ['users', 'users'],
  ['role_assignments', 'role_assignments']]) {
  for (const [file, reg] of registers) {
    const seeded = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(seeded.status, 0, seeded.stderr);
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A desktop-sized Japanese context; with `session` (a signed-in API client) the browser takes
// over its cookies (the login steps themselves are covered by ui.test.mjs).
export async function newContext(browser, srv, session = null) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
  if (session) {
    await context.addCookies([...session.cookies].map(([name, value]) => ({ name, value, url: srv.url })));
  }
  return context;
}

// Collects the page's console errors (but for expected 4xx answers), CSP violations and
// uncaught exceptions into `problems`.
export function watch(page, problems) {
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text()); });
  page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
}
