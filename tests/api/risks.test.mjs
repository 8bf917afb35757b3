// Threats and risk assessment (issue 5) through a real server with the demo organization: the
// seeded threat catalog, scenarios scored on the matrix, proposals from the assets, acceptance
// decided above the owner, the heat map counts, and the yearly round report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, loggedIn, loggedInAs, mamori, ROOT } from '../lib/mamori.mjs';

let srv;
let general; // k.watanabe: 統括情報セキュリティ責任者, and 総務課's manager
let manager; // m.suzuki: 資格保険料課's 情報セキュリティ管理者
let ciso; // s.kobayashi
let staff; // 一般職員
let assets;
let threats;
let units;

const R = '/api/v1/risks/scenarios';
const threatId = (code) => threats.find((t) => t.code === code).id;
const assetOf = (no) => assets.find((a) => a.asset_no === no);

before(async () => {
  srv = await startServer();
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'],
    ['role_assignments', 'role_assignments'], ['assets', 'assets']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  general = await loggedInAs(srv, 'k.watanabe');
  manager = await loggedInAs(srv, 'm.suzuki');
  ciso = await loggedInAs(srv, 's.kobayashi');
  staff = await loggedIn(srv, 'staff1', 'staff');
  assets = (await general.api('GET', '/api/v1/assets?limit=500')).body.items;
  threats = (await general.api('GET', '/api/v1/risks/threats?limit=500')).body.items;
  units = (await general.api('GET', '/api/v1/organization/units?limit=500')).body.items;
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('the threat catalog of §3 is in the register; staff have no access to risks', async () => {
  assert.ok(threats.length >= 35);
  const groups = new Set(threats.map((t) => t.group));
  assert.deepEqual([...groups].sort(), ['disaster', 'infrastructure', 'intentional', 'staff_shortage', 'unintentional']);
  assert.deepEqual([...new Set(threats.map((t) => t.source))], ['catalog']);
  const meta = (await general.api('GET', '/api/v1/meta')).body;
  const mod = meta.modules.find((m) => m.key === 'risks');
  assert.equal(mod.status, 'ready');
  for (const p of [R, '/api/v1/risks/matrix', '/api/v1/risks/proposals']) {
    assert.equal((await staff.api('GET', p)).status, 403, p);
  }
  // Only the general officer extends the catalog.
  const own = { group: 'disaster', name: '大雪による職員の参集困難', affects_availability: true };
  assert.equal((await manager.api('POST', '/api/v1/risks/threats', own)).status, 403);
  const created = await general.api('POST', '/api/v1/risks/threats', own);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.code, 'T-3-L01');
  assert.equal(created.body.source, 'body');
});

test('the matrix: 5×5 by default, every cell with its level', async () => {
  const m = await manager.api('GET', '/api/v1/risks/matrix');
  assert.equal(m.status, 200);
  assert.equal(m.body.active, '5x5');
  const five = m.body.matrices.find((x) => x.key === '5x5');
  assert.equal(five.grid.length, 25);
  assert.equal(five.grid.find((c) => c.likelihood === '5_4' && c.impact === '5_5').level, 'very_high');
  assert.equal(five.approval.very_high, 'ciso');
  assert.ok(m.body.levels.every((l) => /^#[0-9a-f]{6}$/i.test(l.color)));
});

test('proposals follow the assets a manager may see; accepting one covers it', async () => {
  const mine = await manager.api('GET', '/api/v1/risks/proposals');
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  const shikaku = units.find((u) => u.code === 'J-SHIKAKU').id;
  assert.ok(mine.body.total > 0);
  assert.ok(mine.body.items.every((p) => p.asset.section.id === shikaku), 'only the own section');
  const all = (await general.api('GET', '/api/v1/risks/proposals')).body;
  assert.ok(all.total > mine.body.total);
  const p = mine.body.items[0];
  assert.match(p.reason.ja, /./);
  // The manager registers the scenario as proposed.
  const r = await manager.api('POST', R, {
    title: `${p.asset.name}: ${p.threat.name}`, threat: p.threat.id, section: p.asset.section.id,
    scope: 'asset', asset: p.asset.id, likelihood: '5_2',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.impact, p.impact);
  assert.equal(r.body.inherent_score, 2 * Number(p.impact.split('_')[1]));
  const after = (await manager.api('GET', `/api/v1/risks/proposals?asset=${p.asset.id}`)).body;
  assert.ok(!after.items.some((x) => x.proposal === p.proposal));
  // Another section's asset is out of the manager's scope.
  const somu = assetOf('SYS-001');
  const outside = await manager.api('POST', R, {
    title: 'x', threat: threatId('T-1-01'), section: somu.section, asset: somu.id, likelihood: '5_1',
  });
  assert.equal(outside.status, 403);
  // Dismissing needs a reason, given in Japanese.
  const q = after.items[0] ?? mine.body.items[1];
  const bad = await manager.api('POST', '/api/v1/risks/dismissals', { asset: q.asset.id, proposal: q.proposal });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'reason');
  const ok = await manager.api('POST', '/api/v1/risks/dismissals', { asset: q.asset.id, proposal: q.proposal, reason: '紙で保管しないため該当しない' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const left = (await manager.api('GET', `/api/v1/risks/proposals?asset=${q.asset.id}`)).body;
  assert.ok(!left.items.some((x) => x.proposal === q.proposal));
  const badId = await manager.api('GET', '/api/v1/risks/proposals?asset=abc');
  assert.equal(badId.status, 400);
  assert.equal(badId.body.errors[0].field, 'asset');
});

test('acceptance: never the owner, a role above the owner, the CISO at the highest level', async () => {
  const inf = assetOf('INF-001');
  const medium = (await manager.api('POST', R, {
    title: '資格データの誤送信', threat: threatId('T-2-05'), section: inf.section, asset: inf.id,
    likelihood: '5_2', impact: '5_4', treatment: 'accept',
  })).body;
  assert.equal(medium.inherent_level, 'medium');
  assert.equal(medium.acceptance, 'requested');
  const own = await manager.api('PATCH', `${R}/${medium.id}`, { version: medium.version, acceptance: 'approved' });
  assert.equal(own.status, 400);
  assert.equal(own.body.errors[0].field, 'acceptance');
  assert.match(own.body.errors[0].message, /受容/);
  const ok = await general.api('PATCH', `${R}/${medium.id}`, { version: medium.version, acceptance: 'approved', acceptance_comment: '代替策あり' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.acceptance, 'approved');
  assert.equal(ok.body._refs.accepted_by.label, '渡辺 恵子');

  const top = (await manager.api('POST', R, {
    title: '資格データの漏えい', threat: threatId('T-1-01'), section: inf.section, asset: inf.id,
    likelihood: '5_5', impact: '5_5', treatment: 'accept',
  })).body;
  assert.equal(top.inherent_level, 'very_high');
  const byGeneral = await general.api('PATCH', `${R}/${top.id}`, { version: top.version, acceptance: 'approved' });
  assert.equal(byGeneral.status, 400);
  assert.match(byGeneral.body.errors[0].message, /CISO/);
  const byCiso = await ciso.api('PATCH', `${R}/${top.id}`, { version: top.version, acceptance: 'approved' });
  assert.equal(byCiso.status, 200, JSON.stringify(byCiso.body));
  // Every decision is in the history and the audit trail.
  const history = (await general.api('GET', `${R}/${top.id}/history`)).body.items;
  assert.ok(history.some((e) => e.changes.some((c) => c.field === 'acceptance' && c.to === 'approved')), JSON.stringify(history));
});

test('heat map counts and the XLSX export with Japanese headings', async () => {
  const c = await general.api('GET', `${R}/counts?by=likelihood,impact`);
  assert.equal(c.status, 200);
  const cell = c.body.cells.find((x) => x.values[0] === '5_5' && x.values[1] === '5_5');
  assert.equal(cell.count, 1);
  // The manager's view is their section's.
  const m = await manager.api('GET', `${R}/counts?by=inherent_level`);
  assert.equal(m.body.total, c.body.total);
  const x = await general.api('GET', `${R}/export?format=csv`);
  assert.equal(x.status, 200);
  const text = x.body.toString('utf8');
  assert.match(text.split('\n')[0], /リスク番号,リスク,脅威,担当課室/);
});

test('a round per fiscal year; the report shows what changed since the last round', async () => {
  const r1 = await general.api('POST', '/api/v1/risks/rounds', { fiscal_year: 2025 });
  assert.equal(r1.status, 201, JSON.stringify(r1.body));
  assert.equal((await manager.api('POST', '/api/v1/risks/rounds', { fiscal_year: 2024 })).status, 403);
  const closed = await general.api('PATCH', `/api/v1/risks/rounds/${r1.body.id}`, { version: r1.body.version, status: 'closed' });
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  const inf = assetOf('INF-002');
  const added = await manager.api('POST', R, { title: '賦課データの改ざん', threat: threatId('T-1-12'), section: inf.section, asset: inf.id, likelihood: '5_1' });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const r2 = (await general.api('POST', '/api/v1/risks/rounds', { fiscal_year: 2026 })).body;
  const report = await general.api('GET', `/api/v1/risks/rounds/${r2.id}/report`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  assert.equal(report.body.previous.id, r1.body.id);
  assert.deepEqual(report.body.added.map((a) => a.id), [added.body.id]);
  assert.equal(report.body.removed.length, 0);
  const xlsx = await general.api('GET', `/api/v1/risks/rounds/${r2.id}/report.xlsx`);
  assert.equal(xlsx.status, 200);
  assert.equal(xlsx.body.subarray(0, 2).toString(), 'PK');
  // Only those who see every section's risks get the body-wide report.
  assert.equal((await manager.api('GET', `/api/v1/risks/rounds/${r2.id}/report`)).status, 403);
  assert.equal((await general.api('GET', '/api/v1/risks/rounds/999/report')).status, 404);
});

test('level names and thresholds are settings: who may change them, bad input, meta and exports', async () => {
  const L = '/api/v1/risks/levels';
  // Changing settings is the officers' (統括情報セキュリティ責任者, CISO), not a manager's.
  assert.equal((await manager.api('PUT', L, { names: { high: { ja: '重大' } } })).status, 403);
  const bad = await general.api('PUT', L, { names: { high: { ja: '' } }, thresholds: { '5x5': { high: 30 } }, colour: 1 });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['colour', 'names.high.ja', 'thresholds.5x5.high']);
  assert.equal((await general.api('GET', '/api/v1/risks/matrix')).body.customized, false);
  // 5×5: 高 from 8 instead of 10, named 重大.
  const ok = await general.api('PUT', L, { names: { high: { ja: '重大', en: 'Serious' } }, thresholds: { '5x5': { high: 8 } } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.ok(ok.body.changed >= 1);
  const meta = (await staff.api('GET', '/api/v1/meta')).body;
  const level = meta.registers.find((r) => r.key === 'risks').fields.find((f) => f.name === 'inherent_level');
  assert.deepEqual(level.options.find((o) => o.value === 'high').label, { ja: '重大', en: 'Serious' });
  const matrix = (await general.api('GET', '/api/v1/risks/matrix')).body;
  assert.equal(matrix.customized, true);
  const grid = matrix.matrices.find((m) => m.key === '5x5').grid;
  assert.equal(grid.find((g) => g.score === 6).level, 'medium');
  assert.equal(grid.find((g) => g.score === 8).level, 'high');
  const csv = (await general.api('GET', `${R}/export?format=csv`)).body.toString('utf8');
  assert.match(csv, /,重大,/);
  assert.doesNotMatch(csv, /,高,/);
  const audit = (await general.api('GET', '/api/v1/audit?action=setting_change')).body.items;
  assert.ok(audit.some((a) => a.target === 'settings/risk_levels'), JSON.stringify(audit));
  // Back to the shipped names and thresholds.
  assert.equal((await ciso.api('PUT', L, { reset: true })).status, 200);
  assert.equal((await general.api('GET', '/api/v1/risks/matrix')).body.customized, false);
});
