// End-to-end: attachments (添付ファイル) in Debian's Chromium against a real `mamori serve`.
// The 統括情報セキュリティ責任者 (k.watanabe) records an attestation through the pre-filled
// evidence form, sees on the control's page that it does not count without a file, attaches a
// file with a Japanese name on the record's page, sees its SHA-256 (the full value equal to the
// file's), downloads it, and finds the control's attestation counted. Saves screenshots under
// tests/e2e/screenshots/ and fails on any CSP violation or page error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, loggedInAs, ROOT } from '../lib/mamori.mjs';
import { seedDemo, launchBrowser, newContext, watch } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
let srv;
let browser;
let context;
let page;
const problems = [];
const fileName = '第1回委員会 議事録.pdf';
const bytes = Buffer.from('%PDF-1.7\n令和8年度 第1回 情報セキュリティ委員会 議事録\n', 'utf8');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  seedDemo(srv);
  // The UI's login steps are covered by ui.test.mjs: the browser takes over an API session.
  const officer = await loggedInAs(srv, 'k.watanabe');
  browser = await launchBrowser();
  context = await newContext(browser, srv, officer);
  page = await context.newPage();
  watch(page, problems);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  srv?.cleanup();
});

test('an attestation recorded through the UI counts once a file is attached; its hash is shown', async () => {
  await page.goto(`${srv.url}/#/compliance/C-6-1-02`);
  await page.locator('#control-evidence').waitFor();
  await page.click('#add-evidence-attestation');
  await page.locator('#f-summary').waitFor();
  assert.equal(await page.locator('#f-kind').inputValue(), 'attestation');
  await page.selectOption('#f-result', 'pass');
  await page.fill('#f-summary', '令和8年度 第1回 情報セキュリティ委員会の開催');
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();

  // The record's page: the 添付ファイル section says why a file is needed, and takes one.
  await page.locator('#attachments').waitFor();
  assert.match(await page.locator('#attachments-note').innerText(), /添付ファイルのない実施の証明は根拠になりません/);
  assert.equal(await page.locator('#attachments-empty').count(), 1);
  const recordHash = await page.evaluate(() => location.hash);

  // Without the file the control's page says the attestation does not count.
  await page.goto(`${srv.url}/#/compliance/C-6-1-02`);
  const row = page.locator('#control-evidence tr[data-kind="attestation"]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-state'), 'missing');
  assert.match(await row.innerText(), /添付ファイルのない実施の証明は根拠になりません[\s\S]*1 件/);

  await page.goto(`${srv.url}/${recordHash}`);
  await page.locator('#attachment-file').waitFor();
  // An empty file is refused in the page already, with a Japanese message.
  const empty = path.join(srv.dir, 'empty.txt');
  writeFileSync(empty, '');
  await page.setInputFiles('#attachment-file', empty);
  await page.click('#attachment-upload');
  assert.match(await page.locator('#attachment-error').innerText(), /空のファイルは添付できません/);

  const file = path.join(srv.dir, fileName);
  writeFileSync(file, bytes);
  await page.setInputFiles('#attachment-file', file);
  await page.click('#attachment-upload');
  const tr = page.locator('#attachments-table tbody tr');
  await tr.waitFor();
  assert.equal(await tr.count(), 1);
  assert.equal(await tr.locator('.attachment-name').innerText(), fileName);
  // The shortened hash, the full one on opening it, equal to the file's SHA-256.
  assert.equal(await tr.locator('summary code').innerText(), `${sha256(bytes).slice(0, 12)}…`);
  await tr.locator('summary').click();
  assert.equal(await tr.locator('.hash-full').innerText(), sha256(bytes));
  assert.equal(await tr.locator('.hash-full').getAttribute('data-sha256'), sha256(bytes));
  await page.locator('#status', { hasText: sha256(bytes) }).waitFor();
  // Who added it, and no delete button: evidence keeps its files.
  assert.match(await tr.innerText(), /k\.watanabe/);
  assert.equal(await tr.getByRole('button', { name: /削除/ }).count(), 0);
  // The record's history has the attachment with its hash.
  assert.match(await page.locator('#history-table').innerText(), new RegExp(`添付[\\s\\S]*${sha256(bytes)}`));
  await page.screenshot({ path: path.join(SHOTS, 'attachments.png'), fullPage: true });

  // The download is the same bytes under the same name.
  const [download] = await Promise.all([page.waitForEvent('download'), tr.getByRole('link', { name: /ダウンロード/ }).click()]);
  assert.equal(download.suggestedFilename(), fileName);
  assert.equal(sha256(readFileSync(await download.path())), sha256(bytes));

  // Now the attestation counts.
  await page.goto(`${srv.url}/#/compliance/C-6-1-02`);
  await page.locator('#control-evidence tr[data-kind="attestation"][data-state="fresh"]').waitFor();
  assert.equal(await page.locator('.evidence-unattached').count(), 0);
  assert.deepEqual(problems, []);
});
