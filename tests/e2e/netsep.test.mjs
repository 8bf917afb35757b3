// End-to-end: ネットワーク分離 (issue 7) in Debian's Chromium against a real `mamori serve` with the
// demo organization. The 統括情報セキュリティ責任者 (k.watanabe) first sees how to record a check;
// then the real `mamori netcheck --report-to` posts the proof of golden topologies with a
// service account token made by `mamori admin create-token`: a DNAT port forward from the
// internet into the My Number layer (the matrix cell says 違反, the violation shows its witness
// packet before and after DNAT and the rules on its path, the controls of §6(3)ア link to their
// evidence), configurations with constructs netcheck cannot interpret (said prominently; with no
// violation the proof is "incomplete", not "holds"), rules that never match, and a clean
// three-layer network (the separation holds). A 一般職員 gets no menu entry and the server's
// refusal. Saves screenshots under tests/e2e/screenshots/ and fails on any CSP violation or page
// error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, mamori, loggedIn, loggedInAs, ROOT } from '../lib/mamori.mjs';
import { seedDemo, launchBrowser, newContext, watch } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
const golden = (name) => path.join(ROOT, 'tests/golden/netsep', name, 'topology.toml');
let srv;
let browser;
let context;
let page;
let tokenFile;
const problems = [];


before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  seedDemo(srv);
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

/**
 * Runs the real netcheck on a golden topology, posting its proof to the server; from the case's
 * folder, as an engineer would, so the rules are named as `fw.rules:6`.
 */
function report(name, expectedStatus, dir = path.dirname(golden(name))) {
  const r = mamori(['netcheck', 'topology.toml', '--report-to', srv.url, '--token-file', tokenFile], { cwd: dir });
  assert.equal(r.status, expectedStatus, r.stdout + r.stderr);
  assert.match(r.stderr, /証跡を送りました\(記録番号 \d+、/);
}

/** Opens the page from the menu and waits for it to show a recorded result. */
async function openPage() {
  await page.goto(srv.url + '/#/');
  await page.click('#nav-netsep');
  await page.locator('#netsep-latest, #netsep-empty').first().waitFor();
  // Out of the menu, so that no hover style shows in the screenshots.
  await page.mouse.move(1000, 5);
}

const cell = (from, to) => page.locator(`#netsep-matrix td[data-from="${from}"][data-to="${to}"]`);

test('without any netcheck evidence the page says how to record it', async () => {
  await openPage();
  assert.equal(await page.locator('#page-title').innerText(), 'ネットワーク分離');
  assert.equal(await page.locator('#nav-netsep').getAttribute('aria-current'), 'page');
  assert.doesNotMatch(await page.locator('#nav-netsep').innerText(), /準備中/);
  assert.match(await page.locator('#netsep-empty').innerText(), /まだ記録されていません/);
  const command = await page.locator('#netsep-command').innerText();
  assert.match(command, /mamori netcheck network\/topology\.toml --report-to /);
  assert.ok(command.includes(srv.url), command);
  assert.match(command, /--token-file/);
  assert.match(await page.locator('#netsep-howto').innerText(), /「設定」→「サービスアカウント」/);
  // The controls that ask for the proof are listed with their status, §6(3)ア among them.
  const row = page.locator('#netsep-controls-table tr[data-control="C-6-3a-01"]');
  assert.match(await row.innerText(), /他ネットワークとの通信の遮断[\s\S]*§6\(3\)ア[\s\S]*不明/);
  await page.screenshot({ path: path.join(SHOTS, 'netsep-empty.png'), fullPage: true });
});

test('a DNAT port forward into the My Number layer: the violation, its witness and its rules', async () => {
  const made = mamori(['admin', 'create-token', '--db', srv.db, '--name', 'netcheck-e2e', '--purpose', '基幹FWの分離検査(e2e)']);
  assert.equal(made.status, 0, made.stderr);
  tokenFile = path.join(srv.dir, 'netcheck.token');
  writeFileSync(tokenFile, `${made.stdout.trim().split('\n').pop().trim()}\n`, { mode: 0o600 });
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  report('dnat_port_forward', 1);

  await openPage();
  assert.equal(await page.locator('#netsep-verdict').getAttribute('data-result'), 'violations');
  assert.match(await page.locator('#netsep-verdict').innerText(), /許可されていない通信経路が 1 件あります/);
  assert.equal(await page.locator('#netsep-source').innerText(), 'service:netcheck-e2e');
  assert.equal(await page.locator('#netsep-result').innerText(), '不適合');
  assert.match(await page.locator('#netsep-recorded-at').innerText(), /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/);
  assert.match(await page.locator('#netsep-valid-until').innerText(), /\d{4}年\d{1,2}月\d{1,2}日/);
  assert.match(await page.locator('#netsep-summary').innerText(), /違反 1 件/);

  // The matrix: zone keys as the topology names them; each state in words, not only colour.
  const zones = await page.locator('#netsep-matrix thead th[data-zone]').evaluateAll((ths) => ths.map((th) => th.dataset.zone));
  assert.deepEqual(zones, ['mynumber', 'lgwan', 'inet', 'internet']);
  assert.match(await page.locator('#netsep-matrix tbody tr[data-from="internet"] th').innerText(), /internet/);
  assert.equal(await cell('internet', 'mynumber').getAttribute('data-state'), 'violation');
  assert.match(await cell('internet', 'mynumber').innerText(), /✕\s*違反/);
  assert.match(await cell('mynumber', 'lgwan').innerText(), /✓\s*許可された通信のみ/);
  assert.match(await cell('lgwan', 'mynumber').innerText(), /到達不可/);
  assert.match(await cell('inet', 'inet').innerText(), /同じ区域/);
  assert.equal(await page.locator('#netsep-matrix td[data-state="violation"]').count(), 1);
  assert.equal(await page.locator('#netsep-matrix td[data-state]').count(), 12);

  // The violation: the packet as sent and as delivered after DNAT, the rules on its path.
  const v = page.locator('#netsep-violation-1');
  assert.match(await v.locator('h3').innerText(), /internet → mynumber/);
  assert.equal(await v.locator('dd[data-field="proto"]').innerText(), 'tcp');
  assert.equal(await v.locator('dd[data-field="src"]').innerText(), '1.0.0.1(ポート 49152)');
  assert.equal(await v.locator('dd[data-field="dst"]').innerText(), '203.0.113.10(ポート 8443)');
  assert.equal(await v.locator('dd[data-field="translated"]').innerText(), '10.10.0.50(ポート 443)');
  const steps = await v.locator('.netsep-path li').allInnerTexts();
  assert.deepEqual(steps, ['fw1 fw.rules:6 宛先を変換(DNAT)', 'fw1 fw.rules:17 許可(ACCEPT)']);
  assert.match(await v.locator('.netsep-packets').innerText(), /tcp dport 443 from zone internet to 10\.10\.0\.50/);
  // The matrix cell leads to it.
  await cell('internet', 'mynumber').getByRole('link').click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'netsep-violation-1');
  // Nothing uninterpreted; the DNAT and the accept rule are broader than the allow entries.
  assert.equal(await page.locator('#netsep-not-covered').count(), 0);
  assert.match(await page.locator('#netsep-unknown').innerText(), /すべての設定を解釈しました/);
  assert.equal(await page.locator('#netsep-broad-table tbody tr').count(), 2);
  assert.match(await page.locator('#netsep-broad-table tbody tr').first().innerText(), /fw1\s+fw\.rules:6\s+internet → mynumber/);
  await page.screenshot({ path: path.join(SHOTS, 'netsep-violation.png'), fullPage: true });

  // The controls of §6(3)ア now hold failed evidence; each opens its compliance page.
  const row = page.locator('#netsep-controls-table tr[data-control="C-6-3a-01"]');
  assert.match(await row.innerText(), /未実施[\s\S]*不適合/);
  await row.getByRole('link').click();
  await page.locator('#control-evidence').waitFor();
  assert.match(await page.locator('#page-title').innerText(), /C-6-3a-01 他ネットワークとの通信の遮断/);
  assert.match(await page.locator('#control-evidence tr[data-kind="automated:netcheck"]').innerText(), /ネットワーク分離の検査[\s\S]*service:netcheck-e2e/);
});

test('constructs netcheck cannot interpret are said prominently: the proof does not cover them', async () => {
  report('unknown_match', 1);
  await openPage();
  const warning = page.locator('#netsep-not-covered');
  assert.match(await warning.innerText(), /解釈できない設定が 3 件あります。この証明はそれらの設定を確かめていません/);
  // It comes before the record's facts, right under the verdict.
  const order = await page.evaluate(() => [...document.querySelectorAll('#netsep-latest > *')].map((e) => e.id));
  assert.deepEqual(order.slice(1, 4), ['netsep-verdict', 'netsep-not-covered', 'netsep-record']);
  const rows = await page.locator('#netsep-unknown-table tbody tr').allInnerTexts();
  assert.equal(rows.length, 3);
  assert.match(rows.join('\n'), /fw1\s+fw\.rules:10\s+match -m addrtype/);
  assert.match(rows.join('\n'), /interface eth9 is not in the topology/);
  await page.locator('#netsep-latest').screenshot({ path: path.join(SHOTS, 'netsep-unknown.png') });

  // No violation, but a target netcheck does not model: not "the separation holds".
  const dir = path.join(srv.dir, 'marked');
  cpSync(path.dirname(golden('clean_three_layer')), dir, { recursive: true });
  const rules = readFileSync(path.join(dir, 'fw.rules'), 'utf8');
  writeFileSync(path.join(dir, 'fw.rules'), `*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n` +
    `-A FORWARD -i eth1 -j MARK --set-mark 1\nCOMMIT\n${rules}`);
  report('marked', 0, dir);
  await openPage();
  assert.equal(await page.locator('#netsep-verdict').getAttribute('data-result'), 'incomplete');
  assert.match(await page.locator('#netsep-verdict').innerText(), /見つかりませんでした。ただし、この証明は完全ではありません/);
  assert.equal(await page.locator('#netsep-result').innerText(), '不適合');
  assert.match(await page.locator('#netsep-not-covered').innerText(), /1 件/);
  assert.match(await page.locator('#netsep-unknown-table').innerText(), /fw\.rules:4\s+target -j MARK/);
});

test('rules that never match name the earlier rules that decide their packets', async () => {
  report('goto_return', 1);
  await openPage();
  assert.equal(await page.locator('#netsep-violations .netsep-violation').count(), 2);
  assert.match(await page.locator('#netsep-shadowed-table tbody tr').innerText(), /fw1\s+fw\.rules:10\s+fw\.rules:7, fw\.rules:8/);
});

test('a clean three-layer network: the page says the separation holds', async () => {
  report('clean_three_layer', 0);
  await openPage();
  assert.equal(await page.locator('#netsep-verdict').getAttribute('data-result'), 'ok');
  assert.match(await page.locator('#netsep-verdict').innerText(), /分離は保たれています/);
  assert.equal(await page.locator('#netsep-result').innerText(), '適合');
  assert.equal(await page.locator('#netsep-matrix td[data-state="violation"]').count(), 0);
  assert.match(await cell('mynumber', 'lgwan').innerText(), /許可された通信のみ/);
  assert.match(await cell('internet', 'mynumber').innerText(), /到達不可/);
  assert.match(await page.locator('#netsep-violations').innerText(), /違反はありません/);
  assert.equal(await page.locator('#netsep-not-covered').count(), 0);
  assert.match(await page.locator('#netsep-controls-table tr[data-control="C-6-3a-01"]').innerText(), /有効/);
  await page.screenshot({ path: path.join(SHOTS, 'netsep-clean.png'), fullPage: true });
  // Earlier checks stay in the evidence register.
  await page.click('#netsep-history');
  await page.waitForFunction(() => location.hash.startsWith('#/r/evidence?kind=automated_netcheck'));
  await page.locator('#register-table tbody tr[data-id]').first().waitFor();

  // Narrow screens: the matrix scrolls inside its box, the page does not.
  await page.setViewportSize({ width: 390, height: 844 });
  await openPage();
  await page.screenshot({ path: path.join(SHOTS, 'netsep-mobile.png'), fullPage: true });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await page.setViewportSize({ width: 1280, height: 900 });

  // English on request.
  await page.click('#lang-switch');
  await page.locator('#netsep-verdict', { hasText: 'The separation holds.' }).waitFor();
  assert.match(await cell('mynumber', 'lgwan').innerText(), /Permitted traffic only/);
  await page.click('#lang-switch');
  await page.locator('#netsep-verdict', { hasText: '分離は保たれています' }).waitFor();
});

test('a 一般職員 has no menu entry and gets the server\'s refusal', async () => {
  const staff = await loggedIn(srv, 'staff1', 'staff');
  const other = await newContext(browser, srv, staff);
  const p = await other.newPage();
  watch(p, problems);
  await p.goto(srv.url + '/#/');
  await p.locator('#nav-dashboard').waitFor();
  assert.equal(await p.locator('#nav-netsep').count(), 0);
  await p.goto(srv.url + '/#/m/netsep');
  await p.locator('#netsep-error').waitFor();
  assert.match(await p.locator('#netsep-error').innerText(), /権限/);
  await other.close();
});

test('no CSP violation or script error happened', () => {
  assert.deepEqual(problems, []);
});
