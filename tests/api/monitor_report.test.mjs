// `mamori monitor --report-to` through a real server: the monitor's health and alerts posted as
// automated:monitor evidence with a service account's token, one record standing for every
// control that asks for it; the record's result says whether the monitor works; a report of many alerts is bounded;
// a wrong token, an unreachable server and bad options give the documented exit codes while the
// alerts still go to standard output; the evidence API refuses an oversized body.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, startServer, loggedIn, mamori, api, tempDir } from '../lib/mamori.mjs';

const TOPOLOGY = 'examples/demo/network/topology.toml';
const CONN = 'examples/demo/monitor/conn.log';
const FW = 'examples/demo/monitor/fw-core.log';
const BLOCKLIST = 'examples/demo/monitor/blocklist.txt';
const E = '/api/v1/controls/evidence';
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const lines = (text) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

let srv;
let officer;
let dir;
let tokenFile;
let token;

before(async () => {
  srv = await startServer();
  officer = await loggedIn(srv, 'officer', 'security_general');
  const made = mamori(['admin', 'create-token', '--db', srv.db, '--name', 'monitor-sensor1', '--purpose', '通信監視の報告']);
  assert.equal(made.status, 0, made.stderr);
  token = made.stdout.trim().split('\n').pop().trim();
  dir = tempDir();
  tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
});
after(async () => { await srv.stop(); srv.cleanup(); });

/** The newest automated_monitor records (one report is one record), with their raw. */
async function newestReport() {
  const list = await officer.api('GET', `${E}?kind=automated_monitor&sort=-recorded_on&limit=50`);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const first = list.body.items[0];
  const run = list.body.items.filter((r) => r.raw_sha256 === first.raw_sha256);
  const rec = await officer.api('GET', `${E}/${first.id}`);
  assert.equal(rec.status, 200);
  return { run, rec: rec.body, raw: JSON.parse(rec.body.raw), total: list.body.total };
}

test('the demo logs: alerts on stdout, one healthy report for every monitor control with health and alerts', async () => {
  const r = mamori(['monitor', '--topology', TOPOLOGY, '--blocklist', BLOCKLIST, '--rules', 'catalog/sigma',
    '--report-to', srv.url, '--token-file', tokenFile, CONN, FW]);
  assert.equal(r.status, 0, r.stderr);
  const printed = lines(r.stdout);
  assert.equal(printed.length, 7, r.stdout);
  assert.deepEqual([...new Set(printed.map((a) => a.kind))].sort(), ['blocklist', 'separation', 'sigma']);
  const posted = Number(/証跡を送りました\(記録番号 (\d+)、/.exec(r.stderr)?.[1]);
  assert.ok(!r.stderr.includes(token.split('_').pop()), 'the token is never printed');

  const { run, rec, raw } = await newestReport();
  // One record stands for every control that asks for automated:monitor.
  const status = await officer.api('GET', '/api/v1/compliance');
  const controls = status.body.controls.filter((c) => c.evidence.some((e) => e.kind === 'automated:monitor'));
  assert.ok(controls.some((c) => c.id === 'C-6-3b-01'));
  assert.ok(controls.length >= 2);
  assert.deepEqual(run.map((x) => x.id), [posted]);
  assert.equal(rec.control, 'all');
  for (const c of controls) {
    const e = c.evidence.find((x) => x.kind === 'automated:monitor');
    assert.equal(e.state, 'fresh', c.id);
    assert.equal(e.record.id, posted, c.id);
    assert.equal(e.record.source, 'service:monitor-sensor1');
  }
  assert.equal(rec.result, 'pass');
  assert.equal(rec.raw_sha256, sha256(rec.raw));
  assert.match(rec.summary, /^通信監視\(.+\): 正常に監視しています。入力 2 件、イベント 17 件、不正な行 0 行\(0\.0%\)、警告 \d+ 件\(critical/);

  // Health: inputs with their format, counts, the span of event time, when and where it ran.
  const h = raw.health;
  assert.equal(raw.report, 'mamori-monitor');
  assert.ok(raw.host.length > 0);
  assert.match(raw.ran_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.equal(h.healthy, true);
  assert.deepEqual(h.problems, []);
  assert.deepEqual(h.inputs.map((i) => [i.name, i.format, i.events]), [[CONN, 'zeek', 8], [FW, 'netfilter', 9]]);
  assert.equal(h.events, 17);
  assert.equal(h.ignored, 10);  // conn.log's header lines and fw-core.log's sshd line
  assert.equal(h.ignored_by_reason['netfilter の LOG 行ではない syslog 行です'], 1);
  assert.equal(h.malformed, 0);
  assert.equal(h.first_event, '2024-05-01T01:00:00Z');
  assert.equal(h.last_event, '2024-05-02T05:40:10Z');
  assert.ok(h.events_per_second > 0);
  assert.deepEqual(h.alerts_by_kind, raw.alerts_by_kind);
  assert.deepEqual(raw.zones.map((z) => z.name), ['mynumber', 'lgwan', 'inet', 'internet']);
  assert.equal(raw.zones[1].description, 'LGWAN接続系');

  // The alerts are the JSON objects printed, critical first.
  assert.equal(raw.alerts_total, printed.length);
  assert.equal(raw.alerts_left_out, 0);
  assert.equal(raw.alerts.length, printed.length);
  assert.equal(raw.alerts[0].severity, 'critical');
  const rank = ['critical', 'high', 'medium', 'low'];
  assert.deepEqual(raw.alerts.map((a) => rank.indexOf(a.severity)), raw.alerts.map((a) => rank.indexOf(a.severity)).sort());
  const key = (a) => JSON.stringify([a.kind, a.src, a.dst, a.ts]);
  assert.deepEqual(raw.alerts.map(key).sort(), printed.map(key).sort());
  const blocked = raw.alerts.find((a) => a.kind === 'blocklist');
  assert.equal(blocked.dst, '198.51.100.23');
  assert.match(blocked.detail, /遮断リスト/);
  assert.deepEqual(blocked.evidence, [`${FW}:2`]);
});

test('a monitor that cannot read its logs reports a failing record, and the controls say so', async () => {
  const bad = path.join(dir, 'broken.log');
  // Zeek JSON with most lines cut short: far above the 1 % of malformed lines allowed.
  const good = '{"ts":1714523400,"uid":"C1","id.orig_h":"10.30.0.10","id.orig_p":1,"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","conn_state":"SF"}\n';
  writeFileSync(bad, good + '{"ts":1714523401,"uid":\n'.repeat(5) + good);
  const r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', srv.url, '--token-file', tokenFile, bad]);
  assert.equal(r.status, 0, r.stderr);
  const { rec, raw } = await newestReport();
  assert.equal(rec.result, 'fail');
  assert.match(rec.summary, /監視に問題があります\(不正な行が 71\.4%\(5 行\)あり、上限の 1\.0% を超えています\)/);
  assert.equal(raw.health.healthy, false);
  assert.equal(raw.health.malformed, 5);
  assert.equal(raw.health.malformed_samples[0].line, 2);
  assert.equal(raw.health.malformed_samples[0].file, bad);
  const status = await officer.api('GET', '/api/v1/compliance');
  const c = status.body.controls.find((x) => x.id === 'C-6-3b-01');
  assert.equal(c.evidence.find((e) => e.kind === 'automated:monitor').state, 'failed');
});

test('many alerts: the report carries at most 500, the most severe, and says how many were left out', async () => {
  // 600 distinct internet-layer hosts each sending mail to the internet (separation, high).
  const log = path.join(dir, 'many.log');
  let text = '';
  for (let i = 0; i < 600; i++) {
    text += `{"ts":${1714523400 + i},"uid":"C${i}","id.orig_h":"10.30.${Math.floor(i / 200) + 1}.${(i % 200) + 1}","id.orig_p":40000,"id.resp_h":"203.0.113.9","id.resp_p":25,"proto":"tcp","conn_state":"SF"}\n`;
  }
  writeFileSync(log, text);
  const r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', srv.url, '--token-file', tokenFile, log]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lines(r.stdout).length, 600);
  const { rec, raw } = await newestReport();
  assert.equal(raw.alerts.length, 500);
  assert.equal(raw.alerts_total, 600);
  assert.equal(raw.alerts_left_out, 100);
  assert.deepEqual(raw.alerts_left_out_by_kind, { separation: 100 });
  assert.match(rec.summary, /警告 600 件\(high 600\)、うち 100 件は件数のみ記録/);
  assert.ok(rec.raw.length < 900000);
});

test('a wrong token or an unreachable server: exit 3, the reason on stderr, the alerts still on stdout', async () => {
  const before = (await newestReport()).total;
  const wrong = path.join(dir, 'wrong');
  writeFileSync(wrong, 'mamori_sa_999_nope\n');
  let r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', srv.url, '--token-file', wrong, CONN]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /HTTP 401/);
  assert.equal(lines(r.stdout).length, 1);
  assert.ok(!r.stderr.includes('nope'), 'the token is not echoed');

  r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', 'http://127.0.0.1:1', '--token-file', tokenFile, CONN]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /Mamori のサーバーに証跡を送れませんでした\(127\.0\.0\.1:1\)/);
  assert.equal(lines(r.stdout)[0].kind, 'separation');
  // An input error stays exit 2 even when the report could not be posted.
  r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', 'http://127.0.0.1:1', '--token-file', tokenFile, CONN, path.join(dir, 'missing.log')]);
  assert.equal(r.status, 2);
  assert.equal((await newestReport()).total, before, 'nothing was recorded');
});

test('options: --report-to needs --token-file, a token file needs --report-to, a bad URL or token file is exit 2 before reading', () => {
  let r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', srv.url, CONN]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--report-to には --token-file も指定してください/);
  assert.equal(r.stdout, '');
  r = mamori(['monitor', '--topology', TOPOLOGY, '--token-file', tokenFile, CONN]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--report-to と一緒に/);
  r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', 'ftp://x', '--token-file', tokenFile, CONN]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--report-to の URL が正しくありません/);
  assert.equal(r.stdout, '');
  r = mamori(['monitor', '--topology', TOPOLOGY, '--report-to', srv.url, '--token-file', path.join(dir, 'none'), CONN]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /トークンのファイルを読めません/);
});

test('the evidence API: a person cannot post monitor evidence; an oversized body or raw result is refused', async () => {
  const body = { control: 'C-6-3b-01', kind: 'automated:monitor', result: 'pass', summary: '通信監視', raw: { report: 'mamori-monitor' } };
  // A session is not a service token, and a person may not type in an automated result.
  assert.equal((await api(srv.url, 'POST', '/api/v1/evidence', body)).status, 401);
  const typed = await officer.api('POST', E, { control: 'c_6_3b_01', kind: 'automated_monitor', result: 'pass', summary: '通信監視' });
  assert.equal(typed.status, 400);
  assert.match(JSON.stringify(typed.body), /検査エンジン/);
  const auth = { authorization: `Bearer ${token}` };
  // Beyond the evidence body limit (4 MiB): 413 before the body is parsed.
  const huge = JSON.stringify({ ...body, raw: { alerts: 'x'.repeat(5 << 20) } });
  const tooBig = await api(srv.url, 'POST', '/api/v1/evidence', huge, { ...auth, 'content-type': 'application/json' });
  assert.equal(tooBig.status, 413);
  // Within it, but a raw result longer than the register keeps (900,000 characters): 400 naming raw.
  const long = await api(srv.url, 'POST', '/api/v1/evidence', { ...body, raw: { alerts: 'x'.repeat(950000) } }, auth);
  assert.equal(long.status, 400);
  assert.ok(long.body.errors.some((e) => e.field === 'raw'), JSON.stringify(long.body));
  const ok = await api(srv.url, 'POST', '/api/v1/evidence', body, auth);
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.kind, 'automated_monitor');
});

test('following: a report every --report-interval while it runs, and one more when it stops', async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const total = async () => (await officer.api('GET', `${E}?kind=automated_monitor&limit=1`)).body.total;
  const log = path.join(dir, 'follow-conn.log');
  copyFileSync(path.join(ROOT, CONN), log);
  const before = await total();
  const child = spawn(BIN, ['monitor', '--topology', TOPOLOGY, '--follow', '--report-to', srv.url,
    '--token-file', tokenFile, '--report-interval', '10', log], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // A report while running (the first after about 10 s): the health so far; the one alert of
  // conn.log is still open in its window, so the report has none yet.
  const deadline = Date.now() + 30000;
  let during = before;
  while (during === before && Date.now() < deadline) {
    await sleep(500);
    during = await total();
  }
  assert.ok(during > before, `no report while running: ${stderr}`);
  const periodic = await newestReport();
  assert.equal(periodic.raw.health.events, 8);
  assert.equal(periodic.raw.health.healthy, true);
  assert.equal(periodic.raw.alerts.length, 0);
  child.kill('SIGTERM');
  const { code, signal } = await done;
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  // Stopping writes the open alert and reports it.
  const final = await newestReport();
  assert.ok(final.total > during, stderr);
  assert.notEqual(final.rec.raw_sha256, periodic.rec.raw_sha256);
  assert.deepEqual(final.raw.alerts.map((a) => a.kind), ['separation']);
  assert.equal(lines(stdout).length, 1);
});

test('GET monitor/reports: the reports of the last days read on the server, each alert once, critical first', async () => {
  // The demo logs once more: the same alerts again, in a newer report.
  const r = mamori(['monitor', '--topology', TOPOLOGY, '--blocklist', BLOCKLIST, '--rules', 'catalog/sigma',
    '--report-to', srv.url, '--token-file', tokenFile, CONN, FW]);
  assert.equal(r.status, 0, r.stderr);
  const newest = Number(/証跡を送りました\(記録番号 (\d+)、/.exec(r.stderr)?.[1]);

  const got = await officer.api('GET', '/api/v1/monitor/reports');
  assert.equal(got.status, 200, JSON.stringify(got.body));
  const b = got.body;
  assert.equal(b.days, 7);
  const records = await officer.api('GET', `${E}?kind=automated_monitor&limit=200`);
  assert.equal(b.reports.length, records.body.total);
  assert.equal(b.reports_total, records.body.total);
  assert.equal(b.reports[0].id, newest);
  assert.ok(b.reports.every((x, i) => i === 0 || x.id < b.reports[i - 1].id), 'newest first');
  assert.ok(b.reports.every((x) => x.read && x.source === 'service:monitor-sensor1'));
  assert.equal(b.reports_read, b.reports.length);
  assert.equal(b.unreadable, 0);
  // The latest report's health, without its alerts (they are in "alerts").
  assert.equal(b.latest.record, newest);
  assert.equal(b.latest.report, 'mamori-monitor');
  assert.equal(b.latest.health.events, 17);
  assert.equal(b.latest.alerts, undefined);
  assert.equal(b.zones.mynumber, 'マイナンバー利用事務系');
  // The demo's alerts, reported twice, are there once, from the newer report.
  const blocked = b.alerts.filter((a) => a.kind === 'blocklist' && a.dst === '198.51.100.23');
  assert.equal(blocked.length, 1);
  assert.equal(blocked[0].report, newest);
  const ids = new Set(b.reports.map((x) => x.id));
  assert.ok(b.alerts.every((a) => ids.has(a.report)));
  const rank = (s) => ['critical', 'high', 'medium', 'low'].indexOf(s);
  assert.ok(b.alerts.every((a, i) => i === 0 || rank(b.alerts[i - 1].severity) <= rank(a.severity)), 'critical first');
  // The 600-alert report carried 500 and counted 100 as left out.
  assert.ok(b.alerts_left_out >= 100);
  assert.ok(b.alerts_total >= b.alerts.length);

  for (const days of ['0', '32', 'x', '-1']) {
    const bad = await officer.api('GET', `/api/v1/monitor/reports?days=${days}`);
    assert.equal(bad.status, 400, days);
    assert.match(JSON.stringify(bad.body), /days は 1 から 31/);
  }
  assert.equal((await officer.api('GET', '/api/v1/monitor/reports?days=1')).body.reports.length, b.reports.length);
  // Only for those who may view evidence; never without a session.
  const staff = await loggedIn(srv, 'staff-reports', 'staff');
  assert.equal((await staff.api('GET', '/api/v1/monitor/reports')).status, 403);
  assert.equal((await api(srv.url, 'GET', '/api/v1/monitor/reports')).status, 401);
});
