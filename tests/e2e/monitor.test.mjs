// End-to-end: 通信監視 (issue 8) in Debian's Chromium against a real `mamori serve` with the demo
// organization. The 統括情報セキュリティ責任者 (k.watanabe) first sees how to record reports; then
// the real `mamori monitor --report-to` reads the demo body's logs (examples/demo/monitor) with the
// demo blocklist and the shipped Sigma pack, posting its report with a service account token made
// by `mamori admin create-token`: the page shows the monitor's health, the alerts critical first
// with their detail sentence, zones and log locations, the alerts per day, and the filters
// narrow the list. A report of a newer monitor (unknown alert kinds, extra fields, problems) is
// shown without breaking; a report older than a day is said prominently; a 一般職員 gets no
// menu entry and the server's refusal. Saves screenshots under tests/e2e/screenshots/ and fails
// on any CSP violation or page error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, mamori, api, loggedIn, loggedInAs, ROOT } from '../lib/mamori.mjs';
import { seedDemo, launchBrowser, newContext, watch } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
const CONN = 'examples/demo/monitor/conn.log';
const FW = 'examples/demo/monitor/fw-core.log';
let srv;
let browser;
let context;
let page;
let token;
let tokenFile;
let printed = [];
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

/** Opens the page from the menu and waits for it to show a report or the empty state. */
async function openPage(p = page) {
  await p.goto(srv.url + '/#/');
  await p.click('#nav-monitor');
  await p.locator('#monitor-latest, #monitor-empty').first().waitFor();
  await p.mouse.move(1000, 5);
}

const articles = () => page.locator('#monitor-alert-list article.monitor-alert');

test('without any report the page says how to record one', async () => {
  await openPage();
  assert.equal(await page.locator('#page-title').innerText(), '通信監視');
  assert.equal(await page.locator('#nav-monitor').getAttribute('aria-current'), 'page');
  assert.doesNotMatch(await page.locator('#nav-monitor').innerText(), /準備中/);
  assert.match(await page.locator('#monitor-empty').innerText(), /通信監視の報告はまだ記録されていません/);
  const command = await page.locator('#monitor-command').innerText();
  assert.match(command, /mamori monitor --topology network\/topology\.toml/);
  assert.ok(command.includes(`--report-to ${srv.url}`), command);
  assert.match(command, /--token-file/);
  // The controls that take the report are listed with their status.
  const row = page.locator('#monitor-controls-table tr[data-control="C-6-3b-01"]');
  assert.match(await row.innerText(), /不正通信の監視[\s\S]*§6\(3\)イ[\s\S]*不明/);
  await page.screenshot({ path: path.join(SHOTS, 'monitor-empty.png'), fullPage: true });
});

test('the demo logs: health, the alerts critical first with detail, zones and log locations', async () => {
  const made = mamori(['admin', 'create-token', '--db', srv.db, '--name', 'monitor-e2e', '--purpose', '通信監視の報告(e2e)']);
  assert.equal(made.status, 0, made.stderr);
  token = made.stdout.trim().split('\n').pop().trim();
  tokenFile = path.join(srv.dir, 'monitor.token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const r = mamori(['monitor', '--topology', 'examples/demo/network/topology.toml', '--blocklist', 'examples/demo/monitor/blocklist.txt',
    '--rules', 'catalog/sigma', '--report-to', srv.url, '--token-file', tokenFile, CONN, FW]);
  assert.equal(r.status, 0, r.stderr);
  printed = r.stdout.trim().split('\n').map((l) => JSON.parse(l));

  await openPage();
  assert.equal(await page.locator('#monitor-verdict').getAttribute('data-healthy'), 'true');
  assert.match(await page.locator('#monitor-verdict').innerText(), /正常に監視しています/);
  assert.equal(await page.locator('#monitor-stale').count(), 0);
  assert.match(await page.locator('#monitor-reported-at').innerText(), /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/);
  assert.equal(await page.locator('#monitor-source').innerText(), 'service:monitor-e2e');
  assert.match(await page.locator('#monitor-events').innerText(), /^17 /);
  assert.match(await page.locator('#monitor-malformed').innerText(), /0 行\(0\.0%\)/);
  assert.match(await page.locator('#monitor-rate').innerText(), /毎秒 [\d,.]+ イベント/);
  assert.match(await page.locator('#monitor-span').innerText(), /2024\/05\/01 \d{2}:\d{2} 〜 2024\/05\/02 \d{2}:\d{2}/);
  assert.match(await page.locator('#monitor-alert-count').innerText(), new RegExp(`${printed.length} 件`));
  const inputs = await page.locator('#monitor-inputs tbody tr').allInnerTexts();
  assert.deepEqual(inputs.map((t) => t.split('\t').slice(0, 2)), [[CONN, 'zeek'], [FW, 'netfilter']]);

  // Every alert printed is listed once, critical first.
  assert.equal(await articles().count(), printed.length);
  const severities = await articles().evaluateAll((as) => as.map((a) => a.dataset.severity));
  const rank = ['critical', 'high', 'medium', 'low'];
  assert.deepEqual(severities, [...severities].sort((x, y) => rank.indexOf(x) - rank.indexOf(y)));
  assert.equal(severities[0], 'critical');
  assert.match(await page.locator('#monitor-totals li[data-severity="critical"]').innerText(), /緊急\s*2/);
  // The RDP into the My Number layer: its sentence, zones with their labels, port, log location.
  const sep = page.locator('article[data-kind="separation"][data-severity="critical"]');
  assert.equal(await sep.count(), 1);
  assert.match(await sep.locator('h3').innerText(), /緊急\s*系統間の分離違反\s*10\.20\.3\.15 → 10\.10\.1\.20/);
  assert.match(await sep.locator('.monitor-detail').innerText(), /マイナンバー利用事務系/);
  assert.equal(await sep.locator('dd[data-field="zones"]').innerText(), 'lgwan(LGWAN接続系) → mynumber(マイナンバー利用事務系)');
  assert.equal(await sep.locator('dd[data-field="port"]').innerText(), 'tcp/3389');
  assert.equal(await sep.locator('dd[data-field="evidence"]').innerText(), `${CONN}:15 CdM7g`);
  // The blocklisted destination, and a Sigma alert naming its rule.
  const bl = page.locator('article[data-kind="blocklist"]');
  assert.equal(await bl.count(), 1);
  assert.match(await bl.innerText(), /10\.30\.0\.10 → 198\.51\.100\.23/);
  assert.match(await bl.locator('dd[data-field="evidence"]').innerText(), /fw-core\.log:2/);
  const sigma = page.locator('article[data-kind="sigma"]').first();
  assert.match(await sigma.locator('dd[data-field="rules"]').innerText(), /[\s\S]+ [0-9a-f-]{36}/);
  // No incident button is faked: the page says where it will come.
  assert.match(await page.locator('#monitor-incident-note').innerText(), /インシデント管理\(準備中\)/);

  // Alerts per day (the chart and the same figures as a table).
  assert.equal(await page.locator('#monitor-chart canvas').count(), 1);
  const days = await page.locator('#monitor-per-day tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.day));
  assert.deepEqual(days, ['2024-05-01', '2024-05-02']);
  // The reports and the controls they are evidence for.
  assert.equal(await page.locator('#monitor-reports-table tbody tr').count(), 1);
  assert.match(await page.locator('#monitor-controls-table tr[data-control="C-6-3b-01"]').innerText(), /有効/);
  await page.screenshot({ path: path.join(SHOTS, 'monitor-demo.png'), fullPage: true });
});

test('filters: severity, kind, zone and text narrow the list; clearing shows all again', async () => {
  await openPage();
  const total = await articles().count();
  await page.selectOption('#monitor-filter-severity', 'critical');
  assert.equal(await articles().count(), 2);
  assert.match(await page.locator('#monitor-alert-summary').innerText(), new RegExp(`警告 ${total} 件のうち 2 件を表示しています`));
  await page.selectOption('#monitor-filter-kind', 'sigma');
  assert.equal(await articles().count(), 1);
  await page.selectOption('#monitor-filter-severity', '');
  await page.selectOption('#monitor-filter-kind', 'blocklist');
  assert.equal(await articles().count(), 1);
  await page.selectOption('#monitor-filter-kind', '');
  // The zone options carry their labels; a zone matches either side.
  assert.match(await page.locator('#monitor-filter-zone option[value="mynumber"]').innerText(), /mynumber\(マイナンバー利用事務系\)/);
  await page.selectOption('#monitor-filter-zone', 'mynumber');
  const inMynumber = await articles().evaluateAll((as) => as.map((a) => a.querySelector('dd[data-field="zones"]').textContent));
  assert.ok(inMynumber.length >= 1 && inMynumber.every((z) => z.includes('mynumber')), inMynumber.join('\n'));
  await page.selectOption('#monitor-filter-zone', '');
  await page.fill('#monitor-filter-q', '203.0.113.77');
  assert.ok(await articles().count() >= 1);
  assert.ok((await articles().allInnerTexts()).every((t) => t.includes('203.0.113.77')));
  await page.fill('#monitor-filter-q', 'no-such-host.example');
  assert.equal(await articles().count(), 0);
  assert.match(await page.locator('#monitor-alerts-none').innerText(), /条件に合う警告はありません/);
  await page.click('#monitor-filter-clear');
  assert.equal(await articles().count(), total);
  assert.equal(await page.locator('#monitor-filter-q').inputValue(), '');
  // A filter in the address opens the page filtered.
  await page.goto(srv.url + '/#/m/monitor?kind=separation');
  await page.waitForFunction(() => document.querySelector('#monitor-filter-kind')?.value === 'separation');
  assert.equal(await page.locator('#monitor-filter-kind').inputValue(), 'separation');
  assert.ok((await articles().evaluateAll((as) => as.map((a) => a.dataset.kind))).every((k) => k === 'separation'));
});

test('a newer monitor\'s report: unknown kinds and extra fields shown, problems said first', async () => {
  const raw = {
    report: 'mamori-monitor', version: 1, host: 'sensor-02', ran_at: new Date().toISOString(),
    health: {
      healthy: false, problems: [{ ja: 'イベントを 1 件も読めていません', en: 'no event was read' }],
      inputs: [{ name: '/var/log/odd.log', format: null, lines: 3, events: 0 }], inputs_total: 1,
      lines: 3, events: 0, ignored: 0, malformed: 0, malformed_share: 0, max_malformed_share: 0.01,
      malformed_samples: [], events_per_second: 0, first_event: null, last_event: null,
    },
    zones: [{ name: 'inet', description: 'インターネット接続系' }],
    alerts_total: 2, alerts_by_kind: { beacon: 1, future_kind: 1 }, alerts_left_out: 0,
    alerts: [
      { kind: 'beacon', severity: 'high', ts: '2024-05-03T01:00:00Z', src: '10.30.2.14', dst: '198.51.100.7', proto: 'tcp', dport: 443,
        from_zone: 'inet', to_zone: null, count: 48, detail: '10.30.2.14 が 300 秒ごとに 198.51.100.7 へ通信しています。',
        evidence: ['conn.log:99'], interval_seconds: 300, jitter: 0.02 },
      { kind: 'future_kind', severity: 'notice', ts: '2024-05-03T02:00:00Z', src: '10.30.2.15', dst: null, proto: null, dport: null,
        from_zone: 'inet', to_zone: null, count: 1, detail: '', evidence: [], nested: { a: [1, 2] } },
    ],
  };
  const body = { control: 'C-6-3b-01', kind: 'automated:monitor', result: 'fail', summary: '通信監視(sensor-02): 監視に問題があります', raw };
  const posted = await api(srv.url, 'POST', '/api/v1/evidence', body, { authorization: `Bearer ${token}` });
  assert.equal(posted.status, 201, JSON.stringify(posted.body));

  await openPage();
  assert.equal(await page.locator('#monitor-verdict').getAttribute('data-healthy'), 'false');
  assert.match(await page.locator('#monitor-problems').innerText(), /イベントを 1 件も読めていません/);
  assert.match(await page.locator('#monitor-inputs tbody').innerText(), /判別できません/);
  assert.equal(await page.locator('#monitor-host').innerText(), 'sensor-02');
  const beacon = page.locator('article[data-kind="beacon"]');
  assert.match(await beacon.locator('h3').innerText(), /高\s*定期的な通信\(ビーコン\)/);
  assert.equal(await beacon.locator('dd[data-field="interval_seconds"]').innerText(), '300');
  assert.equal(await beacon.locator('dd[data-field="jitter"]').innerText(), '0.02');
  assert.equal(await beacon.locator('dd[data-field="zones"]').innerText(), 'inet(インターネット接続系) → —');
  const future = page.locator('article[data-kind="future_kind"]');
  assert.match(await future.locator('h3').innerText(), /notice\s*future_kind\s*10\.30\.2\.15 → —/);
  assert.equal(await future.locator('dd[data-field="nested"]').innerText(), '{"a":[1,2]}');
  assert.match(await future.locator('.monitor-detail').innerText(), /説明はありません/);
  // The earlier report's alerts are still listed (reports of the last days).
  assert.equal(await page.locator('#monitor-reports-table tbody tr').count(), 2);
  assert.equal(await articles().count(), printed.length + 2);
  await page.selectOption('#monitor-filter-kind', 'future_kind');
  assert.equal(await articles().count(), 1);
  await page.locator('#monitor-latest').screenshot({ path: path.join(SHOTS, 'monitor-unhealthy.png') });
});

test('a latest report older than a day is said prominently; English on request; narrow screens', async () => {
  const later = await newContext(browser, srv);
  await later.addCookies(await context.cookies());
  await later.clock.setFixedTime(new Date(Date.now() + 3 * 24 * 60 * 60 * 1000));
  const p = await later.newPage();
  watch(p, problems);
  await openPage(p);
  assert.match(await p.locator('#monitor-stale').innerText(), /最新の報告は 3 日以上前のものです。監視が止まっている可能性があります/);
  const order = await p.evaluate(() => [...document.querySelectorAll('#monitor-latest > *')].map((e) => e.id));
  assert.deepEqual(order.slice(1, 3), ['monitor-stale', 'monitor-verdict']);
  await later.close();

  await openPage();
  assert.equal(await page.locator('#monitor-stale').count(), 0);
  await page.click('#lang-switch');
  await page.locator('#monitor-alerts-title', { hasText: 'Alerts' }).waitFor();
  assert.match(await page.locator('#monitor-verdict').innerText(), /The monitor has problems/);
  assert.match(await page.locator('article[data-kind="beacon"] h3').innerText(), /High\s*Periodic traffic \(beacon\)/);
  await page.click('#lang-switch');
  await page.locator('#monitor-alerts-title', { hasText: '警告' }).waitFor();

  await page.setViewportSize({ width: 390, height: 844 });
  await openPage();
  await page.screenshot({ path: path.join(SHOTS, 'monitor-mobile.png'), fullPage: true });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('a 一般職員 has no menu entry and gets the server\'s refusal', async () => {
  const staff = await loggedIn(srv, 'staff1', 'staff');
  const other = await newContext(browser, srv, staff);
  const p = await other.newPage();
  watch(p, problems);
  await p.goto(srv.url + '/#/');
  await p.locator('#nav-dashboard').waitFor();
  assert.equal(await p.locator('#nav-monitor').count(), 0);
  await p.goto(srv.url + '/#/m/monitor');
  await p.locator('#monitor-error').waitFor();
  assert.match(await p.locator('#monitor-error').innerText(), /権限/);
  await other.close();
});

test('no CSP violation or script error happened', () => {
  assert.deepEqual(problems, []);
});
