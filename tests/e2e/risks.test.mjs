// End-to-end: threats and risks (脅威・リスク) in Debian's Chromium against a real `mamori serve`
// with the demo organization, users and assets. The 統括情報セキュリティ責任者 (k.watanabe)
// opens the module page, records a proposed risk through the pre-filled generic form (choosing
// the likelihood), finds it on the heat map (the accessible table's cell and its link to the
// filtered list), sees its place on the matrix and who decides its acceptance on its record
// page, adds a further asset, dismisses another proposal (the server's error without a reason,
// then with one), reads a round's report against the previous closed round, and switches the
// risk matrix to 3×3 in the settings. Saves screenshots under tests/e2e/screenshots/ and fails
// on any CSP violation or page error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, loggedInAs, ROOT } from '../lib/mamori.mjs';
import { seedDemo, launchBrowser, newContext, watch } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
let srv;
let browser;
let context;
let page;
let officer; // the API client of the same session (k.watanabe)
const problems = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer();
  seedDemo(srv, [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments'], ['assets', 'assets']]);
  // The UI's login steps are covered by ui.test.mjs: here the browser takes over the session
  // (cookies) of a client that signed in through the API.
  officer = await loggedInAs(srv, 'k.watanabe');
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

/** The proposals table's row of asset `no` and threat `code`. */
const proposalRow = (no, code) => page.locator('#proposals-table tbody tr[data-proposal]', { hasText: no }).filter({ hasText: code });

let riskId;

test('the module page links to the heat map, the proposals (with their count) and the registers', async () => {
  await page.goto(srv.url + '/');
  await page.click('#nav-risks');
  await page.locator('#risk-pages').waitFor();
  assert.match(await page.locator('#risks-proposals-count').innerText(), /未対応の提案 \d+ 件/);
  // The module's registers are listed under it in the navigation and on the page.
  for (const key of ['risks', 'threats', 'risk_rounds']) {
    assert.equal(await page.locator(`#nav-register-${key}`).count(), 1, key);
  }
  assert.match(await page.locator('#risk-registers').innerText(), /脅威[\s\S]*リスク評価/);
  assert.match(await page.locator('#risk-rounds').innerText(), /まだ登録されていません/);
});

test('a proposal opens the pre-filled risk form; with a likelihood it saves a scenario', async () => {
  await page.click('#risks-proposals-link');
  await page.locator('#proposals-table').waitFor();
  const row = proposalRow('SYS-001', 'T-1-11');
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /総務課[\s\S]*職員等による不正な閲覧・持ち出し[\s\S]*5 甚大/);
  await page.screenshot({ path: path.join(SHOTS, 'risks-proposals.png') });
  await row.getByRole('link', { name: /リスクとして登録/ }).click();

  await page.locator('#f-likelihood').waitFor();
  assert.equal(await page.locator('#f-scope').inputValue(), 'asset');
  assert.equal(await page.locator('#f-impact').inputValue(), '5_5');
  assert.equal(await page.locator('#f-title').inputValue(), '職員等による不正な閲覧・持ち出し(SYS-001)');
  assert.match(await page.locator('#f-threat option:checked').innerText(), /職員等による不正な閲覧・持ち出し/);
  assert.match(await page.locator('#f-asset option:checked').innerText(), /後期高齢者医療広域連合電算処理システム/);
  assert.equal(await page.locator('#f-section option:checked').innerText(), '総務課');
  // The likelihood follows the active matrix (5×5): five steps.
  const steps = await page.locator('#f-likelihood option').allInnerTexts();
  assert.ok(steps.includes('3 時々起きる') && !steps.includes('2 起こりうる'), steps.join(','));
  await page.selectOption('#f-likelihood', '5_3');
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  riskId = Number(/#\/r\/risks\/(\d+)/.exec(page.url())[1]);

  // Its place on the matrix (3 × 5 = 15, 高), and who decides an acceptance at that level.
  await page.locator('#risk-panel').waitFor();
  assert.equal(await page.locator('#risk-inherent-level').getAttribute('data-level'), 'high');
  assert.match(await page.locator('#risk-matrix-facts').innerText(), /高 発生可能性「3 時々起きる」× 影響度「5 甚大」= 15/);
  assert.match(await page.locator('#risk-residual-level').innerText(), /未評価/);
  assert.match(await page.locator('#risk-approver').innerText(), /リスク所有者より上位の役割の人が判断します/);
  assert.equal(await page.locator('#risk-assets-none').count(), 1);

  // The proposal is covered now: it is no longer listed.
  await page.goto(srv.url + '/#/risks/proposals');
  await page.locator('#proposals-table').waitFor();
  assert.equal(await proposalRow('SYS-001', 'T-1-11').count(), 0);
});

test('the heat map counts the scenario in its cell; the cell links to the filtered list', async () => {
  await page.goto(srv.url + `/#/r/risks/${riskId}`);
  await page.click('#summary-page');
  await page.locator('#heat-inherent-table').waitFor();
  const cell = page.locator('#heat-inherent-table td[data-likelihood="5_3"][data-impact="5_5"]');
  assert.equal(await cell.getAttribute('data-count'), '1');
  assert.equal(await cell.getAttribute('data-level'), 'high');
  assert.match(await cell.innerText(), /1[\s\S]*高/);
  // Every other cell is empty, and the level's name is in each cell, not only its colour.
  assert.equal(await page.locator('#heat-inherent-table td[data-count]:not([data-count="0"])').count(), 1);
  assert.equal(await page.locator('#heat-inherent-table td.heat-cell').count(), 25);
  assert.match(await page.locator('#heat-inherent-table tbody tr').first().innerText(), /5 頻繁に起きる/);
  // Not assessed yet after treatment: the residual grid is empty.
  assert.equal(await page.locator('#heat-residual-table td[data-count]:not([data-count="0"])').count(), 0);
  assert.match(await page.locator('#heatmap-unassessed').innerText(), /未評価 1 件/);
  await page.locator('#heat-inherent-chart canvas').first().waitFor();
  await page.locator('#heat-residual-chart canvas').first().waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'risks-heatmap.png'), fullPage: true });

  // A section with no risks shows none.
  const kyufu = await page.locator('#heatmap-section option', { hasText: '給付課' }).getAttribute('value');
  await page.selectOption('#heatmap-section', kyufu);
  await page.waitForFunction(() => location.hash.includes('section='));
  await page.locator('#heatmap-total', { hasText: 'リスクはまだ登録されていません' }).waitFor();
  await page.selectOption('#heatmap-section', '');
  await page.locator('#heatmap-total', { hasText: 'リスク 1 件' }).waitFor();

  await cell.getByRole('link').click();
  await page.waitForFunction(() => location.hash.startsWith('#/r/risks?'));
  assert.match(page.url(), /likelihood=5_3&impact=5_5/);
  await page.locator('#register-table tbody tr[data-id]').first().waitFor();
  assert.equal(await page.locator('#register-table tbody tr[data-id]').count(), 1);
  assert.match(await page.locator('#register-table tbody tr[data-id]').innerText(), /職員等による不正な閲覧・持ち出し\(SYS-001\)/);
});

test('a further asset is added to the scenario from its record page', async () => {
  await page.goto(srv.url + `/#/r/risks/${riskId}`);
  await page.click('#risk-asset-add');
  await page.locator('#f-asset').waitFor();
  assert.equal(await page.locator('#f-risk').inputValue(), String(riskId));
  const terminal = await page.locator('#f-asset option', { hasText: '中間サーバー連携端末' }).getAttribute('value');
  await page.selectOption('#f-asset', terminal);
  await page.click('#save');
  await page.locator('#status', { hasText: '登録しました' }).waitFor();
  await page.goto(srv.url + `/#/r/risks/${riskId}`);
  await page.locator('#risk-assets-table').waitFor();
  assert.match(await page.locator('#risk-assets-table').innerText(), /中間サーバー連携端末[\s\S]*総務課/);
  await page.locator('#risk-panel').screenshot({ path: path.join(SHOTS, 'risks-record-panel.png') });
});

test('a proposal is dismissed inline: the reason is required, then the row disappears', async () => {
  await page.goto(srv.url + '/#/risks/proposals');
  await page.locator('#proposals-table').waitFor();
  const before = Number(/(\d+) 件/.exec(await page.locator('#proposals-count').innerText())[1]);
  const row = proposalRow('SYS-001', 'T-1-12');
  await row.getByRole('button', { name: /見送る/ }).click();
  await page.locator('#dismiss-form').waitFor();
  assert.match(await page.locator('#dismiss-title').innerText(), /T-1-12[\s\S]*SYS-001/);
  // Without a reason the server refuses, naming the field in Japanese.
  await page.click('#dismiss-submit');
  await page.locator('#dismiss-error').waitFor();
  assert.match(await page.locator('#dismiss-error').innerText(), /「見送る理由」: 必須です。/);
  assert.equal(await page.locator('#dismiss-reason').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#dismiss-reason-error').innerText(), /必須です/);
  await page.screenshot({ path: path.join(SHOTS, 'risks-dismiss-error.png') });
  await page.fill('#dismiss-reason', '改ざんは標準システムの操作ログで検知し、別のリスク(R-000001)で扱う。');
  await page.click('#dismiss-submit');
  await page.locator('#status', { hasText: '見送りました' }).waitFor();
  assert.equal(await proposalRow('SYS-001', 'T-1-12').count(), 0);
  assert.equal(await page.locator('#dismiss-form').count(), 0);
  assert.match(await page.locator('#proposals-count').innerText(), new RegExp(`${before - 1} 件`));
  // Recorded with the reason, the section and who decided.
  const list = await officer.api('GET', '/api/v1/risks/dismissals');
  assert.equal(list.body.total, 1);
  assert.equal(list.body.items[0].proposal, 'p_09');
  assert.match(list.body.items[0].reason, /操作ログ/);
});

test("a round's report compares it with the previous closed round", async () => {
  const first = await officer.api('POST', '/api/v1/risks/rounds', { fiscal_year: 2025 });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const closed = await officer.api('PATCH', `/api/v1/risks/rounds/${first.body.id}`, { version: first.body.version, status: 'closed' });
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  // Since then: the scenario is treated (residual 2 × 3 = 6, 中) and a new one is recorded.
  const risk = (await officer.api('GET', `/api/v1/risks/scenarios/${riskId}`)).body;
  const treated = await officer.api('PATCH', `/api/v1/risks/scenarios/${riskId}`, {
    version: risk.version, treatment: 'reduce', residual_likelihood: '5_2', residual_impact: '5_3',
  });
  assert.equal(treated.status, 200, JSON.stringify(treated.body));
  const outage = (await officer.api('GET', '/api/v1/risks/threats?q=停電')).body.items.find((x) => x.name === '停電');
  const added = await officer.api('POST', '/api/v1/risks/scenarios', {
    title: '停電による標準システムの停止', scope: 'asset', asset: risk.asset, threat: outage.id, section: risk.section, likelihood: '5_2', impact: '5_4',
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const second = await officer.api('POST', '/api/v1/risks/rounds', { fiscal_year: 2026 });
  assert.equal(second.status, 201, JSON.stringify(second.body));

  // From the round's record page to its report.
  await page.goto(srv.url + `/#/r/risk_rounds/${second.body.id}`);
  await page.click('#round-report-link');
  await page.locator('#round-report-counts').waitFor();
  assert.match(await page.locator('#page-title').innerText(), /2026年度.*前回との比較/);
  assert.match(await page.locator('#round-report-previous').innerText(), /2025年度/);
  assert.equal(await page.locator('#round-report-counts tr[data-level="high"] td[data-kind="inherent"]').innerText(), '1 → 1');
  assert.equal(await page.locator('#round-report-counts tr[data-level="medium"] td[data-kind="residual"]').innerText(), '0 → 1');
  assert.match(await page.locator('#round-report-counts tr[data-level="total"]').innerText(), /1 → 2/);
  assert.match(await page.locator('#round-report-added').innerText(), /停電による標準システムの停止/);
  assert.match(await page.locator('#round-report-removed').innerText(), /ありません/);
  const changed = page.locator('#round-report-changed tr[data-risk="R-000001"]');
  assert.match(await changed.innerText(), /対応: — → 低減/);
  assert.match(await changed.innerText(), /残存リスクの水準: — → 中/);
  assert.match(await page.locator('#round-report-unchanged').innerText(), /0 件/);
  await page.screenshot({ path: path.join(SHOTS, 'risks-round-report.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#round-report-xlsx')]);
  assert.equal(readFileSync(await download.path()).subarray(0, 2).toString(), 'PK');

  // The module page lists both rounds with their reports.
  await page.click('#nav-risks');
  await page.locator(`#round-report-${first.body.id}`).waitFor();
  assert.equal(await page.locator(`#round-report-${second.body.id}`).getAttribute('href'), `#/risks/rounds/${second.body.id}/report`);
});

test('settings: switching the risk matrix to 3×3 shows the mapping, then rescores the risks', async () => {
  await page.click('#nav-settings');
  await page.locator('#matrix-active').waitFor();
  assert.match(await page.locator('#matrix-active').innerText(), /5段階/);
  await page.click('#matrix-to-3x3');
  await page.locator('#matrix-mapping').waitFor();
  assert.equal(await page.locator('#remap-likelihood-5_3').inputValue(), '3_2');
  assert.equal(await page.locator('#remap-impact-5_5').inputValue(), '3_3');
  assert.equal(await page.locator('#remap-residual_impact-5_3').inputValue(), '3_2');
  await page.locator('#matrix-section').screenshot({ path: path.join(SHOTS, 'settings-risk-matrix.png') });
  await page.click('#matrix-apply');
  await page.click('#confirm-ok');
  await page.locator('#status', { hasText: '切り替えました' }).waitFor();
  assert.match(await page.locator('#matrix-active').innerText(), /3段階/);
  // The heat map is 3×3 now, with the scenario at 2 × 3 (高).
  await page.goto(srv.url + '/#/risks/heatmap');
  await page.locator('#heat-inherent-table').waitFor();
  assert.equal(await page.locator('#heat-inherent-table td.heat-cell').count(), 9);
  const cell = page.locator('#heat-inherent-table td[data-likelihood="3_2"][data-impact="3_3"]');
  assert.equal(await cell.getAttribute('data-count'), '1');
  assert.equal(await cell.getAttribute('data-level'), 'high');
});

test('settings: the body renames a level and moves a threshold; the risks are rated again', async () => {
  await page.click('#nav-settings');
  await page.locator('#levels-section').waitFor();
  assert.match(await page.locator('#levels-source').innerText(), /出荷時/);
  // 3×3 is in use (the test before): its 高 starts at 6 and catches 6 and 9.
  const high = page.locator('#levels-thresholds-3x3 tr[data-level="high"] td.levels-scores');
  assert.equal(await high.getAttribute('data-scores'), '6,9');
  // A threshold beyond the highest score is refused at its field; nothing changes.
  await page.fill('#levels-thresholds-3x3-high', '10');
  assert.equal(await high.getAttribute('data-scores'), '');  // the column follows the typing
  await page.click('#levels-save');
  await page.click('#confirm-ok');
  await page.locator('#levels-error').waitFor();
  assert.match(await page.locator('#levels-thresholds-3x3-high-error').innerText(), /2〜9/);
  assert.equal(await page.locator('#levels-thresholds-3x3-high').getAttribute('aria-invalid'), 'true');
  // 高 from 7 and named 重大: the scenario at 2 × 3 = 6 falls to 中.
  await page.fill('#levels-names-high-ja', '重大');
  await page.fill('#levels-names-high-en', 'Serious');
  await page.fill('#levels-thresholds-3x3-high', '7');
  await page.click('#levels-save');
  await page.click('#confirm-ok');
  await page.locator('#status', { hasText: '1 件のリスクの水準が変わりました' }).waitFor();
  assert.match(await page.locator('#levels-source').innerText(), /団体が設定/);
  assert.match(await page.locator('#levels-names tr[data-level="high"]').innerText(), /重大/);
  await page.locator('#levels-section').screenshot({ path: path.join(SHOTS, 'settings-risk-levels.png') });
  // The heat map and its legend follow.
  await page.goto(srv.url + '/#/risks/heatmap');
  await page.locator('#heat-inherent-table').waitFor();
  const cell = page.locator('#heat-inherent-table td[data-likelihood="3_2"][data-impact="3_3"]');
  assert.equal(await cell.getAttribute('data-level'), 'medium');
  assert.match(await page.locator('#risk-levels').innerText(), /重大/);
  // So does the list's level filter, from the metadata.
  await page.goto(srv.url + '/#/r/risks');
  await page.locator('#filter-inherent_level').waitFor();
  assert.match(await page.locator('#filter-inherent_level').innerText(), /重大/);
});

test('no CSP violation or script error happened', () => {
  assert.deepEqual(problems, []);
});
