// End-to-end: Debian's Chromium driven by playwright-core against a real `mamori serve`:
// first login with password change and MFA enrollment (the test computes the TOTP code),
// dashboard, policy page, create a section through the generic register form, find it in the
// list, export XLSX and check the file, planned modules, English switch, the audit log, the
// annual inventory, the controls' status with evidence recorded through the pre-filled form,
// service accounts whose token is shown once, a policy document decided and acknowledged
// through the UI (version page, decision form, home page, progress and diff pages), logout, and a denied page for a 一般職員. Saves screenshots under tests/e2e/screenshots/ and fails on
// any CSP violation or page error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, mamori, createUser, loggedIn, totp, Client, ROOT, TEST_PASSWORD, tempDir } from '../lib/mamori.mjs';
import { seedDemo, launchBrowser, newContext, watch } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
let srv;
let browser;
let page;
let context;
const problems = [];
const otps = {};

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  seedDemo(srv);
  // The administrator also holds 統括情報セキュリティ責任者, so every module is open to them
  // (the last create-user's one-time password is the valid one).
  createUser(srv.db, 'admin', 'security_general', '管理 太郎');
  otps.admin = createUser(srv.db, 'admin', 'sysadmin', '管理 太郎');
  otps.staff = createUser(srv.db, 'y.sato', 'staff', '佐藤 陽子');
  otps.officer = createUser(srv.db, 'k.tanaka', 'security_general', '田中 健');
  otps.sysadmin = createUser(srv.db, 'it.kanri', 'sysadmin', '情報 管理');
  browser = await launchBrowser();
  context = await newContext(browser, srv);
  page = await context.newPage();
  watch(page, problems);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  srv?.cleanup();
});

// The first login of a user through the UI: one-time password, new password, MFA enrollment
// (reading the secret the page shows and computing the code as an authenticator app would).
async function firstLogin(login, otp, shot) {
  await page.goto(srv.url + '/#/login');
  await page.fill('#login-id', login);
  await page.fill('#login-password', otp);
  await page.click('#login-submit');
  await page.locator('#new-password').waitFor();
  await page.fill('#new-password', TEST_PASSWORD);
  await page.fill('#new-password-confirm', TEST_PASSWORD);
  await page.click('#password-change-submit');
  await page.locator('#mfa-qr-image').waitFor();
  if (shot) await page.screenshot({ path: path.join(SHOTS, 'mfa-enrollment.png') });
  const secret = await page.locator('#mfa-secret').getAttribute('data-secret');
  await page.fill('#mfa-code', totp(secret));
  await page.click('#mfa-submit');
  await page.locator('#recovery-codes li').first().waitFor();
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  if (shot) await page.screenshot({ path: path.join(SHOTS, 'recovery-codes.png') });
  await page.click('#recovery-continue');
  await page.locator('#logout').waitFor();
}

test('without a session the UI asks for a login; the basic policy stays public', async () => {
  await page.goto(srv.url + '/#/r/org_units');
  await page.locator('#login-id').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'login.png') });
  await page.goto(srv.url + '/#/policy');
  await page.locator('#p-6-3').waitFor();
});

test('first login: new password, MFA enrollment with QR code, recovery codes', async () => {
  await firstLogin('admin', otps.admin, true);
  assert.match(await page.locator('#user-name').innerText(), /管理 太郎/);
});

test('dashboard shows the modules and counts', async () => {
  await page.goto(srv.url + '/');
  await page.locator('#register-counts li[data-register="org_units"]').waitFor();
  assert.match(await page.locator('#register-counts li[data-register="org_units"]').innerText(), /16/);
  const nav = page.locator('nav#site-nav');
  for (const label of ['組織', '情報資産', '脅威・リスク', '規程・対策', '自己点検・監査', 'インシデント',
    '委託・クラウド・SNS', '教育', 'ネットワーク分離', '通信監視', '監査ログ', '設定']) {
    assert.equal(await nav.getByRole('link', { name: label }).count(), 1, label);
  }
  await page.locator('#controls-chart canvas').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
});

test('a planned module says plainly that it is not built', async () => {
  await page.click('#nav-incidents');
  await page.locator('#not-implemented').waitFor();
  assert.match(await page.locator('#not-implemented').innerText(), /まだ実装されていません/);
});

test('the policy page shows §1–§10 and the controls of each measure', async () => {
  await page.click('#nav-policy');
  await page.locator('#p-6-3').waitFor();
  const text = await page.locator('main').innerText();
  for (const t of ['目的', '定義', '情報セキュリティ対策', '情報セキュリティ監査及び自己点検の実施']) assert.ok(text.includes(t), t);
  assert.ok(await page.locator('details.control').count() >= 40);
  await page.screenshot({ path: path.join(SHOTS, 'policy.png') });
});

test('create a section with the generic form, find it in the list, see its history', async () => {
  await page.click('#nav-organization');
  await page.locator('#register-table').waitFor();
  await page.getByRole('link', { name: '新規作成' }).click();
  await page.locator('#f-code').waitFor();
  // A missing required field is reported next to the field and in the summary.
  await page.fill('#f-code', 'J-TEST');
  await page.click('#save');
  await page.locator('#error-summary').waitFor();
  assert.equal(await page.locator('#f-name').getAttribute('aria-invalid'), 'true');
  await page.screenshot({ path: path.join(SHOTS, 'form-errors.png') });

  await page.fill('#f-name', '情報政策課');
  await page.fill('#f-name_kana', 'じょうほうせいさくか');
  await page.selectOption('#f-kind', 'section');
  const bureau = await page.locator('#f-parent option', { hasText: '広域連合事務局' }).getAttribute('value');
  await page.selectOption('#f-parent', bureau);
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  await page.locator('#history-table tbody tr').first().waitFor();

  await page.click('#nav-organization');
  await page.fill('#search-q', 'ｼﾞｮｳﾎｳｾｲｻｸ');
  await page.press('#search-q', 'Enter');
  // The unfiltered list (which holds J-TEST too) may still be on screen: wait for the search's.
  await page.waitForFunction(() => document.querySelectorAll('#register-table tbody tr').length === 1,
    null, { timeout: 5000 }).catch(() => {});
  await page.locator('#register-table tbody tr', { hasText: 'J-TEST' }).waitFor();
  assert.equal(await page.locator('#register-table tbody tr').count(), 1);
  assert.match(await page.locator('#register-table tbody tr').innerText(), /広域連合事務局/);
  await page.screenshot({ path: path.join(SHOTS, 'organization-list.png') });
});

test('export XLSX holds every record, and importing it back changes nothing', async () => {
  await page.fill('#search-q', '');
  await page.press('#search-q', 'Enter');
  await page.locator('#register-table tbody tr[data-id]').first().waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-xlsx')]);
  const file = await download.path();
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  assert.match(download.suggestedFilename(), /^org_units-\d{8}\.xlsx$/);
  // Import it back as a dry run with the browser's own session (cookie and CSRF token).
  const csrf = (await context.cookies()).find((c) => c.name === 'mamori_csrf').value;
  const check = await page.request.post(srv.url + '/api/v1/organization/units/import?format=xlsx&mode=upsert&dry_run=true',
    { data: bytes, headers: { 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' } });
  assert.equal(check.status(), 200, await check.text());
  const body = await check.json();
  assert.equal(body.unchanged, 17);
  assert.equal(body.created + body.updated, 0);
});

test('import the asset register, filter it, open an asset and read its handling rules', async () => {
  await page.click('#nav-assets');
  await page.locator('#import-open').waitFor();
  await page.click('#import-open');
  await page.setInputFiles('#import-file', path.join(ROOT, 'examples/demo/assets.csv'));
  await page.click('#import-submit');
  await page.locator('#import-result', { hasText: '新規 24 件' }).waitFor();
  await page.click('#import-close');
  await page.locator('#register-table tbody tr[data-id]').first().waitFor();

  // Filter: 機密性3 in the マイナンバー利用事務系.
  await page.selectOption('#filter-confidentiality', '3');
  await page.waitForFunction(() => location.hash.includes('confidentiality=3'));
  await page.selectOption('#filter-zone', 'mynumber');
  await page.waitForFunction(() => location.hash.includes('zone=mynumber'));
  await page.locator('#register-table tbody tr', { hasText: 'SYS-001' }).waitFor();
  const rows = page.locator('#register-table tbody tr[data-id]');
  const n = await rows.count();
  assert.ok(n >= 5, `${n} rows`);
  for (let i = 0; i < n; i++) {
    const text = await rows.nth(i).innerText();
    assert.match(text, /機密性3/);
    assert.match(text, /マイナンバー利用事務系/);
  }
  await page.screenshot({ path: path.join(SHOTS, 'assets-list.png'), fullPage: true });

  await page.locator('#register-table tbody tr', { hasText: 'SYS-001' }).getByRole('link').first().click();
  await page.locator('#handling-rules').waitFor();
  const rules = await page.locator('#handling-rules').innerText();
  assert.match(rules, /支給された端末以外では扱わない/); // 機密性3
  assert.match(rules, /バックアップ/); // 完全性2 / 可用性2
  // The form offers only the levels of the chosen scheme (no 3A under the traditional one).
  const levels = await page.locator('#f-confidentiality option').allInnerTexts();
  assert.ok(levels.includes('機密性3') && !levels.some((l) => l.includes('3A')), levels.join(','));
  await page.screenshot({ path: path.join(SHOTS, 'asset-handling.png'), fullPage: true });

  // The dashboard counts the assets by zone and confidentiality, as a chart and a table.
  await page.click('#nav-dashboard');
  await page.locator('#assets-table tr[data-zone="mynumber"]').waitFor();
  assert.match(await page.locator('#assets-table tr[data-zone="mynumber"]').innerText(), /\d/);
  await page.locator('#assets-chart canvas').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-assets.png'), fullPage: true });
});

test('settings: switching the classification scheme shows the mapping, then reclassifies', async () => {
  await page.click('#nav-settings');
  await page.locator('#scheme-active').waitFor();
  assert.match(await page.locator('#scheme-active').innerText(), /従来の分類/);
  await page.click('#scheme-to-local_gov');
  await page.locator('#scheme-mapping').waitFor();
  assert.equal(await page.locator('#remap-confidentiality-3').inputValue(), '3b');
  await page.screenshot({ path: path.join(SHOTS, 'settings-scheme.png'), fullPage: true });
  await page.click('#scheme-apply');
  await page.click('#confirm-ok');
  await page.locator('#status', { hasText: '切り替えました' }).waitFor();
  assert.match(await page.locator('#scheme-active').innerText(), /自治体機密性/);
  // The asset form now offers the new scheme's levels.
  await page.click('#nav-assets');
  await page.locator('#register-table tbody tr', { hasText: 'SYS-001' }).getByRole('link').first().click();
  await page.locator('#handling-rules').waitFor();
  const levels = await page.locator('#f-confidentiality option').allInnerTexts();
  assert.ok(levels.includes('自治体機密性3B') && !levels.includes('機密性3'), levels.join(','));
  assert.equal(await page.locator('#f-confidentiality').inputValue(), '3b');
});

test('English switch relabels the UI', async () => {
  await page.click('#lang-switch');
  await page.locator('nav#site-nav').getByRole('link', { name: 'Organization' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.screenshot({ path: path.join(SHOTS, 'organization-list-en.png') });
  await page.click('#lang-switch');
});

test('the audit log lists the logins and the changes', async () => {
  await page.click('#nav-auditlog');
  await page.locator('#audit-table tbody tr').first().waitFor();
  const actions = await page.locator('#audit-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  assert.ok(actions.includes('login'), actions.join());
  assert.ok(actions.includes('create'), actions.join());
  await page.screenshot({ path: path.join(SHOTS, 'audit-log.png') });
});

test('annual inventory: the officer opens a campaign, the section manager confirms, the dashboard shows progress', async () => {
  const jst = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
  const fy = Number(jst.slice(0, 4)) - (Number(jst.slice(5, 7)) < 4 ? 1 : 0);
  await page.goto(srv.url + '/#/r/inventory_campaigns/new');
  await page.locator('#f-fiscal_year').waitFor();
  await page.fill('#f-fiscal_year', String(fy));
  await page.fill('#f-start_date', `${fy}-04-01`);
  await page.fill('#f-due_date', `${fy + 1}-03-31`);
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  // The asset list links to the progress page.
  await page.click('#nav-assets');
  await page.click('#summary-page');
  await page.locator('#inventory-sections tr[data-section="J-SHIKAKU"]').waitFor();
  assert.match(await page.locator('#inventory-sections tr[data-section="J-SHIKAKU"]').innerText(), /鈴木 真理[\s\S]*未確認/);
  assert.equal(await page.locator('#inventory-confirm-J-SHIKAKU').count(), 0, 'only the section manager confirms');

  // The section's 情報セキュリティ管理者 signs in and confirms.
  await page.click('#logout');
  await page.locator('#status', { hasText: 'ログアウトしました' }).waitFor();
  const reset = mamori(['admin', 'reset-user', '--db', srv.db, '--login', 'm.suzuki']);
  assert.equal(reset.status, 0, reset.stderr);
  await firstLogin('m.suzuki', reset.stdout.trim().split('\n').pop().trim(), false);
  await page.goto(srv.url + '/#/inventory');
  await page.click('#inventory-confirm-J-SHIKAKU');
  await page.locator('#inventory-form').waitFor();
  assert.match(await page.locator('#inventory-form').innerText(), /資格保険料課/);
  await page.check('#inventory-result-corrected');
  await page.fill('#inventory-comment', '保管場所を1件修正しました');
  await page.screenshot({ path: path.join(SHOTS, 'inventory-confirm.png'), fullPage: true });
  await page.click('#inventory-submit');
  await page.locator('#status', { hasText: '確認を登録しました' }).waitFor();
  assert.equal(await page.locator('#inventory-sections tr[data-section="J-SHIKAKU"]').getAttribute('data-state'), 'confirmed');
  assert.match(await page.locator('#inventory-sections tr[data-section="J-SHIKAKU"]').innerText(), /確認済[\s\S]*鈴木 真理/);
  // The dashboard shows the year's progress by bureau.
  await page.click('#nav-dashboard');
  await page.locator('#inventory-summary').waitFor();
  assert.match(await page.locator('#inventory-summary').innerText(), /確認済 1/);
  await page.locator('#inventory-dashboard canvas').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-inventory.png'), fullPage: true });
});

test('controls: an officer sees the 61 controls, records a document through the pre-filled form, and the status follows', async () => {
  // The committee's rules (総務課's own, so other staff are not asked to acknowledge them) are in
  // force: loaded by the administrator's import, as earlier records are.
  const today = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
  const dir = tempDir();
  writeFileSync(path.join(dir, 'documents.csv'), 'code,title,kind,section\nYOKO-1,情報セキュリティ委員会設置要綱,other,J-SOMU\n');
  writeFileSync(path.join(dir, 'versions.csv'), `document,body,status,effective_date\nYOKO-1,第1条 設置,in_force,${today}\n`);
  for (const [file, reg] of [['documents.csv', 'documents'], ['versions.csv', 'document_versions']]) {
    const imported = mamori(['admin', 'import', path.join(dir, file), '--register', reg, '--db', srv.db]);
    assert.equal(imported.status, 0, imported.stderr);
  }

  await page.click('#logout');
  await page.locator('#status', { hasText: 'ログアウトしました' }).waitFor();
  await firstLogin('k.tanaka', otps.officer, false);
  // The dashboard sums up the status; the evidence register (規程・対策) links to it.
  await page.locator('#compliance-summary').waitFor();
  assert.match(await page.locator('#compliance-summary').innerText(), /管理策 61 のうち/);
  await page.locator('#compliance-dashboard canvas').waitFor();
  await page.click('#nav-register-evidence');
  await page.locator('#list-summary').waitFor();
  await page.click('#summary-page');
  await page.locator('#compliance-sections').waitFor();
  assert.equal(await page.locator('#compliance-totals dd[data-status="controls"]').innerText(), '61');
  assert.equal(await page.locator('tr[data-control]').count(), 61);
  const row = page.locator('tr[data-control="C-6-1-02"]');
  assert.equal(await row.getAttribute('data-status'), 'unknown');
  assert.match(await row.innerText(), /不明[\s\S]*文書[\s\S]*なし/);
  await page.locator('#compliance-chart canvas').waitFor();
  // The chart's figures are in a table too (one row per section).
  assert.equal(await page.locator('#compliance-sections tbody tr').count(), 11);
  await page.screenshot({ path: path.join(SHOTS, 'compliance.png'), fullPage: true });
  // Filter by status: only the unknown ones.
  await page.selectOption('#compliance-filter', 'unknown');
  await page.waitForFunction(() => location.hash.includes('status=unknown'));
  await page.locator('tr[data-control][data-status="partial"]').first().waitFor({ state: 'detached' });
  assert.equal(await page.locator('tr[data-control]:not([data-status="unknown"])').count(), 0);

  // One control: the evidence it needs, then the evidence form pre-filled with control and kind.
  await page.locator('tr[data-control="C-6-1-02"] a').first().click();
  await page.locator('#control-evidence').waitFor();
  assert.equal(await page.locator('#control-status').innerText(), '不明');
  assert.equal(await page.locator('#control-evidence tr[data-kind="document"]').getAttribute('data-state'), 'missing');
  await page.screenshot({ path: path.join(SHOTS, 'compliance-control.png'), fullPage: true });
  await page.click('#add-evidence-document');
  await page.locator('#f-summary').waitFor();
  assert.equal(await page.locator('#f-control').inputValue(), 'c_6_1_02');
  assert.equal(await page.locator('#f-kind').inputValue(), 'document');
  // A document is evidence only through the document it names.
  const yoko = await page.locator('#f-document option', { hasText: '委員会設置要綱' }).getAttribute('value');
  await page.selectOption('#f-document', yoko);
  await page.selectOption('#f-result', 'pass');
  await page.fill('#f-summary', '情報セキュリティ委員会 議事録(令和8年度第1回)');
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  // Back to the status: the control is now partly in place (the attestation is still missing).
  await page.click('#summary-page');
  await page.locator('tr[data-control="C-6-1-02"]').waitFor();
  assert.equal(await page.locator('tr[data-control="C-6-1-02"]').getAttribute('data-status'), 'partial');
  assert.match(await page.locator('tr[data-control="C-6-1-02"]').innerText(), /一部実施[\s\S]*文書[\s\S]*有効/);
  await page.locator('tr[data-control="C-6-1-02"] a').first().click();
  await page.locator('#control-evidence tr[data-kind="document"][data-state="fresh"]').waitFor();
  assert.match(await page.locator('#control-evidence tr[data-kind="document"]').innerText(), /議事録[\s\S]*適合/);
  // Which document and version it rests on, with links, and why it counts.
  const basis = page.locator('#control-evidence tr[data-kind="document"] .evidence-document');
  assert.equal(await basis.getAttribute('data-document-state'), 'in_force');
  assert.match(await basis.innerText(), /YOKO-1 情報セキュリティ委員会設置要綱[\s\S]*YOKO-1 第1版[\s\S]*施行中/);
  assert.equal(await basis.locator('a.evidence-document-link').getAttribute('href'), `#/r/documents/${yoko}`);
  assert.equal(await page.locator('#control-status').innerText(), '一部実施');
  await page.click('#back-to-compliance');

  // The 実施状況一覧: XLSX download and the printable HTML page.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#compliance-xlsx')]);
  assert.equal(readFileSync(await download.path()).subarray(0, 2).toString(), 'PK');
  assert.match(download.suggestedFilename(), /^compliance-\d{4}-\d{2}-\d{2}\.xlsx$/);
  assert.equal(await page.locator('#compliance-html').getAttribute('href'), '/api/v1/compliance/report.html');
  const report = await page.request.get(srv.url + '/api/v1/compliance/report.html');
  assert.equal(report.status(), 200);
  assert.match(await report.text(), /実施状況一覧[\s\S]*C-6-1-02/);
});

test('service accounts: an administrator creates one in the settings, sees its token once, and revokes it', async () => {
  await page.click('#logout');
  await page.locator('#status', { hasText: 'ログアウトしました' }).waitFor();
  // Only システム管理者: the settings page opens for the service accounts alone.
  await firstLogin('it.kanri', otps.sysadmin, false);
  await page.click('#nav-settings');
  await page.locator('#sa-form').waitFor();
  assert.equal(await page.locator('#scheme-title').count(), 0);
  assert.equal(await page.locator('#sa-none').count(), 1);
  // A bad name is reported next to the field.
  await page.fill('#sa-name', 'Netcheck FW');
  await page.fill('#sa-purpose', '基幹ファイアウォールの分離検査');
  await page.click('#sa-create');
  await page.locator('#sa-error').waitFor();
  assert.equal(await page.locator('#sa-name').getAttribute('aria-invalid'), 'true');
  await page.fill('#sa-name', 'netcheck-fw1');
  const jst = new Date(Date.now() + 9 * 3600e3 + 180 * 86400e3).toISOString().slice(0, 10);
  await page.fill('#sa-expires', jst);
  await page.click('#sa-create');
  await page.locator('#sa-token').waitFor();
  const token = await page.locator('#sa-token').inputValue();
  assert.match(token, /^mamori_sa_\d+_[A-Za-z0-9_-]{43}$/);
  assert.equal(await page.locator('#sa-token').getAttribute('readonly'), '');
  assert.match(await page.locator('#sa-token-box').innerText(), /今回だけ表示されます[\s\S]*二度と表示できません/);
  assert.equal(await page.locator('tr[data-account="netcheck-fw1"]').getAttribute('data-state'), 'active');
  await page.screenshot({ path: path.join(SHOTS, 'settings-service-accounts.png'), fullPage: true });
  await page.click('#sa-copy');
  await page.locator('#status', { hasText: /コピーしました|Ctrl\+C/ }).waitFor();
  // The token works for the evidence API.
  const posted = await page.request.post(srv.url + '/api/v1/evidence', {
    data: { control: 'C-6-3-02', kind: 'automated:netcheck', result: 'pass', summary: '違反なし' },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(posted.status(), 201, await posted.text());
  // Shown once: after leaving the page it is gone for good.
  await page.click('#nav-dashboard');
  await page.click('#nav-settings');
  await page.locator('tr[data-account="netcheck-fw1"]').waitFor();
  assert.equal(await page.locator('#sa-token').count(), 0);
  // The secret is everything after "mamori_sa_<id>_" (it may itself hold "_").
  const secret = token.slice(token.indexOf('_', 'mamori_sa_'.length) + 1);
  assert.ok(secret.length >= 20, token);
  assert.ok(!(await page.locator('main').innerText()).includes(secret));
  assert.doesNotMatch(await page.locator('tr[data-account="netcheck-fw1"]').innerText(), /未使用/);
  // Revoke, after a confirmation.
  await page.locator('tr[data-account="netcheck-fw1"] button').click();
  await page.locator('#confirm-dialog').waitFor();
  await page.click('#confirm-ok');
  await page.locator('#status', { hasText: '失効させました' }).waitFor();
  assert.equal(await page.locator('tr[data-account="netcheck-fw1"]').getAttribute('data-state'), 'revoked');
  const refused = await page.request.post(srv.url + '/api/v1/evidence', {
    data: { control: 'C-6-3-02', kind: 'automated:netcheck', result: 'pass', summary: 'x' },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(refused.status(), 401);
});

// Resets a demo user and signs them in through the UI (first login again).
async function demoLogin(login) {
  if (await page.locator('#logout').count()) {
    await page.click('#logout');
    await page.locator('#status', { hasText: 'ログアウトしました' }).waitFor();
  }
  const reset = mamori(['admin', 'reset-user', '--db', srv.db, '--login', login]);
  assert.equal(reset.status, 0, reset.stderr);
  await firstLogin(login, reset.stdout.trim().split('\n').pop().trim(), false);
}

test('policy documents: decided on the version page, acknowledged from the home page, progress and diff', async () => {
  const today = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
  // The drafter (総務課, 統括's drafting authority) drafts and submits; the 課長 decides step 1.
  const drafter = await loggedIn(srv, 'soumu-tanto', 'security_general');
  const users = Object.fromEntries((await drafter.api('GET', '/api/v1/users?limit=500')).body.items.map((u) => [u.login, u.id]));
  const doc = await drafter.api('POST', '/api/v1/documents', { code: 'KIHON', title: '情報セキュリティ基本方針', kind: 'basic_policy' });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  const v = await drafter.api('POST', '/api/v1/documents/versions', {
    document: doc.body.id, body: '# 基本方針\n\n1 目的\n2 定義\n<script>alert(1)</script>\n', change_summary: '制定',
  });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  const v1 = v.body.id;
  const sub = await drafter.api('PATCH', `/api/v1/documents/versions/${v1}`, { version: v.body.version, status: 'review' });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  const suzuki = new Client(srv.url);
  const r = mamori(['admin', 'reset-user', '--db', srv.db, '--login', 'm.suzuki']);
  await suzuki.firstLogin('m.suzuki', r.stdout.trim().split('\n').pop().trim());
  assert.equal((await suzuki.api('POST', '/api/v1/documents/decisions', { doc_version: v1, decision: 'approve' })).status, 201);

  // The 統括 decides step 2 from the version page, then step 3 as deputy for the absent CISO.
  await demoLogin('k.watanabe');
  await page.goto(srv.url + `/#/r/document_versions/${v1}`);
  await page.locator('#doc-body').waitFor();
  assert.match(await page.locator('#doc-body').innerText(), /<script>alert\(1\)<\/script>/);
  assert.equal(await page.locator('#doc-decisions tbody tr').count(), 1);
  await page.click('#doc-approve');
  await page.locator('#f-decision').waitFor();
  assert.equal(await page.locator('#f-decision').inputValue(), 'approve');
  assert.equal(await page.locator('#f-doc_version').inputValue(), String(v1));
  await page.fill('#f-comment', '異議なし');
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  await page.goto(srv.url + `/#/r/document_decisions/new?doc_version=${v1}&decision=approve&deputy=true&absent_holder=${users['s.kobayashi']}`);
  await page.locator('#f-comment').waitFor();
  assert.equal(await page.locator('#f-deputy').isChecked(), true);
  await page.fill('#f-comment', '出張のため代決');
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  // Approved and put in force through the API; the version page shows the decisions.
  let cur = (await drafter.api('GET', `/api/v1/documents/versions/${v1}`)).body;
  const approved = await drafter.api('PATCH', `/api/v1/documents/versions/${v1}`, { version: cur.version, status: 'approved' });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const inForce = await drafter.api('PATCH', `/api/v1/documents/versions/${v1}`, { version: approved.body.version, status: 'in_force', effective_date: today });
  assert.equal(inForce.status, 200, JSON.stringify(inForce.body));
  await page.goto(srv.url + `/#/r/document_versions/${v1}`);
  await page.locator('#doc-decisions tbody tr[data-step="3"]').waitFor();
  assert.match(await page.locator('#doc-decisions tbody tr[data-step="3"]').innerText(), /代決/);
  assert.equal(await page.locator('#doc-approve').count(), 0, 'no decision buttons once in force');
  await page.locator('#doc-progress').waitFor();
  // A public version in force links to its public page and to the PDF the server makes.
  assert.equal(await page.locator('#doc-public-pdf').getAttribute('href'), `/api/v1/documents/public.pdf?version=${v1}`);
  assert.equal(await page.locator('#doc-public-html').getAttribute('href'), `/api/v1/documents/public?version=${v1}`);
  const pdf = await page.request.get(srv.url + `/api/v1/documents/public.pdf?version=${v1}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await page.screenshot({ path: path.join(SHOTS, 'document-version.png'), fullPage: true });

  // The officer reminds everyone who has not acknowledged (督促) from the progress page.
  await page.click('#doc-progress');
  await page.locator('#doc-reminders-last[data-count="0"]').waitFor();
  await page.click('#doc-remind');
  await page.locator('#status', { hasText: '督促しました' }).waitFor();
  await page.locator('#doc-reminders-last[data-count="1"]').waitFor();
  assert.match(await page.locator('#doc-reminders-last').innerText(), /渡辺 恵子/);

  // A 一般職員 sees the reminder as a banner on the home page and acknowledges from it.
  await demoLogin('y.yamamoto');
  await page.goto(srv.url + '/#/');
  const banner = page.locator(`#doc-reminders li[data-version="${v1}"]`);
  await banner.waitFor();
  assert.match(await banner.innerText(), /KIHON 情報セキュリティ基本方針」第1版の確認がまだです。施行から 0 日/);
  const item = page.locator(`#doc-pending li[data-version="${v1}"]`);
  assert.match(await item.innerText(), /KIHON 情報セキュリティ基本方針 第1版/);
  assert.equal(await item.locator('a').getAttribute('href'), `#/r/document_versions/${v1}`);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-documents.png') });
  await page.click(`#doc-remind-ack-${v1}`);
  await page.locator('#status', { hasText: '確認を登録しました' }).waitFor();
  assert.equal(await page.locator('#doc-reminders').count(), 0);
  assert.equal(await page.locator(`#doc-pending li[data-version="${v1}"]`).count(), 0);
  await page.reload();
  await page.locator('#register-counts, #registers-heading').first().waitFor();
  assert.equal(await page.locator('#doc-pending').count(), 0);

  // The officer sees 1 acknowledged, and the diff of a second version.
  await demoLogin('k.watanabe');
  await page.goto(srv.url + `/#/r/document_versions/${v1}`);
  await page.click('#doc-progress');
  await page.locator('#doc-progress-summary').waitFor();
  assert.match(await page.locator('#doc-progress-summary').innerText(), /確認済 1 人/);
  assert.equal(await page.locator('#doc-progress-pending li[data-login="y.yamamoto"]').count(), 0);
  assert.equal(await page.locator('#doc-progress-pending li[data-login="m.suzuki"]').count(), 1);
  assert.match(await page.locator('#doc-progress-sections').innerText(), /給付課/);
  await page.screenshot({ path: path.join(SHOTS, 'document-progress.png'), fullPage: true });
  const v2 = await drafter.api('POST', '/api/v1/documents/versions', { document: doc.body.id, body: '# 基本方針\n\n1 目的\n2 用語の定義\n3 対象範囲\n', change_summary: '一部改正' });
  assert.equal(v2.status, 201);
  await page.goto(srv.url + `/#/r/document_versions/${v2.body.id}`);
  await page.locator('#doc-diff').waitFor();
  assert.equal(await page.locator('#doc-public-pdf').count(), 0, 'a draft is not published');
  await page.click('#doc-diff');
  await page.locator('#doc-diff .diff-line').first().waitFor();
  assert.deepEqual(await page.locator('#doc-diff .diff-add .diff-text').allInnerTexts(), ['2 用語の定義', '3 対象範囲']);
  assert.deepEqual(await page.locator('#doc-diff .diff-del .diff-text').allInnerTexts(), ['2 定義', '<script>alert(1)</script>']);
  await page.screenshot({ path: path.join(SHOTS, 'document-diff.png'), fullPage: true });
});

test('logout, then a 一般職員 is denied the audit log', async () => {
  await page.click('#logout');
  await page.locator('#status', { hasText: 'ログアウトしました' }).waitFor();
  assert.equal(await page.locator('#logout').count(), 0);
  await firstLogin('y.sato', otps.staff, false);
  assert.equal(await page.locator('#nav-auditlog').count(), 0);
  assert.equal(await page.locator('#new-record').count(), 0);  // dashboard: no create links
  await page.goto(srv.url + '/#/audit');
  await page.locator('#forbidden').waitFor();
  assert.match(await page.locator('#forbidden').innerText(), /権限がありません/);
  await page.screenshot({ path: path.join(SHOTS, 'forbidden.png') });
  await page.click('#nav-organization');
  await page.locator('#register-table').waitFor();
  assert.equal(await page.locator('#new-record').count(), 0, 'a 一般職員 cannot create units');
});

test('no CSP violation or script error happened', () => {
  assert.deepEqual(problems, []);
});
