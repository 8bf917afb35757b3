// The information asset register (issue 4) through a real server and the CLI: the 台帳 as staff
// write it (Japanese headers in any order, CP932, 機密性3 / ○ / ×), all-or-nothing import with
// errors by row and column, consistency rules (errors block, warnings are recorded), levels
// valid only under the chosen scheme, generated numbers, default managers, need to know, the
// handling rules, the round trip and `mamori assets import/export` exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, loggedIn, mamori, ROOT } from '../lib/mamori.mjs';

let srv;
let officer; // 統括情報セキュリティ責任者: sees and exports everything
const A = '/api/v1/assets';

const sjis = (text) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: text });

before(async () => {
  srv = await startServer();
  // The demo organization, users and role assignments (managers per section).
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  officer = await loggedIn(srv, 'officer', 'security_general');
});
after(async () => { await srv.stop(); srv.cleanup(); });

const importCsv = (client, bytes, query = '') =>
  client.api('POST', `${A}/import?format=csv${query}`, bytes, { 'content-type': 'text/csv' });

test('the demo asset register imports as staff wrote it, with managers filled in', async () => {
  const r = await importCsv(officer, readFileSync(path.join(ROOT, 'examples/demo/assets.csv')));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.created, 24);
  // One audit entry for the import, naming the file by its SHA-256.
  const sha = createHash('sha256').update(readFileSync(path.join(ROOT, 'examples/demo/assets.csv'))).digest('hex');
  const audit = await officer.api('GET', '/api/v1/audit?action=import');
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  const entry = audit.body.items.find((e) => e.target === 'assets');
  assert.equal(entry.detail.file_sha256, sha);
  assert.equal(entry.detail.created, 24);
  // The yearly refresh with the same file changes nothing (blank 管理者 stays the default).
  const again = await importCsv(officer, readFileSync(path.join(ROOT, 'examples/demo/assets.csv')), '&mode=upsert');
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual([again.body.created, again.body.updated, again.body.unchanged], [0, 0, 24]);
  const list = await officer.api('GET', `${A}?q=被保険者資格データ`);
  assert.equal(list.body.total, 1);
  const a = list.body.items[0];
  assert.equal(a.confidentiality, '3');
  assert.equal(a.specific_personal_info, true);
  assert.equal(a.zone, 'mynumber');
  // No 管理者 in the file: the section's 情報セキュリティ管理者 on that day (m.suzuki).
  assert.equal(a._refs.manager.label, '鈴木 真理');
});

test('CP932, headers in any order, 機密性２ in full width, generated numbers, and warnings', async () => {
  const csv = '種別,資産名,所管課,機密性,完全性,可用性,特定個人情報,系統\n' +
    '情報(電子),保険料試算表,資格保険料課,機密性２,完全性1,1,○,マイナンバー利用事務系\n';
  const r = await importCsv(officer, sjis(csv));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.created, 1);
  // 特定個人情報 at 機密性2 is allowed but warned (rule specific-personal-info-high).
  assert.equal(r.body.warnings.length, 1);
  assert.equal(r.body.warnings[0].row, 2);
  assert.equal(r.body.warnings[0].column, '機密性');
  assert.match(r.body.warnings[0].message, /通常は機密性3/);
  const found = await officer.api('GET', `${A}?q=保険料試算表`);
  const a = found.body.items[0];
  assert.match(a.asset_no, /^A-\d{6}$/);
  assert.equal(a.confidentiality, '2');
  assert.equal(a.status, 'in_use');
  // The warning is recorded with the change in the record's history.
  const h = await officer.api('GET', `${A}/${a.id}/history`);
  assert.match(h.body.items[0].warnings[0].message, /通常は機密性3/);
});

test('every error is listed by row and column and nothing is written', async () => {
  const before = (await officer.api('GET', `${A}?limit=1`)).body.total;
  const csv = '管理番号,資産名,種別,所管課,機密性,完全性,可用性,特定個人情報,系統,状態\n' +
    'T-1,良い行,情報(電子),総務課,2,1,1,無,LGWAN接続系,利用中\n' +
    'T-2,番号法違反,情報(電子),総務課,1,1,1,有,LGWAN接続系,利用中\n' +
    'T-3,種別の誤り,パソコン,総務課,2,1,1,無,LGWAN接続系,利用中\n' +
    'T-4,所管の誤り,情報(電子),存在しない課,2,1,1,無,LGWAN接続系,利用中\n' +
    'T-5,系統の情報システム,情報システム,総務課,1,1,1,無,マイナンバー利用事務系,利用中\n' +
    'T-6,廃棄の記録なし,機器・設備,総務課,1,1,1,無,その他,廃棄済\n' +
    'T-7,体系外の水準,情報(電子),総務課,3A,1,1,無,LGWAN接続系,利用中\n';
  const r = await importCsv(officer, csv);
  assert.equal(r.status, 400);
  const at = (row, column) => r.body.errors.find((e) => e.row === row && e.column === column);
  assert.match(at(3, '機密性').message, /機密性1にはできません/);
  assert.match(at(4, '種別').message, /次のいずれか/);
  assert.match(at(5, '所管課').message, /見つかりません/);
  assert.match(at(6, '機密性').message, /マイナンバー利用事務系の情報システム/);
  assert.ok(at(7, '廃棄の方法'));
  assert.match(at(8, '機密性').message, /現在の設定では使えません/);
  assert.equal(at(2, '機密性'), undefined);
  assert.equal((await officer.api('GET', `${A}?limit=1`)).body.total, before);
});

test('a row may reference a system defined further down the same file', async () => {
  const csv = '管理番号,資産名,種別,所管課,機密性,完全性,可用性,関連システム\n' +
    'FW-DOC,財務会計 操作手順書,システム関連文書,総務課,2,1,1,FW-SYS\n' +
    'FW-TERM,財務会計 端末,機器・設備,総務課,2,1,1,FW-SYS\n' +
    'FW-SYS,財務会計システム,情報システム,総務課,2,2,2,\n';
  const r = await importCsv(officer, csv);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.created, 3);
  const doc = (await officer.api('GET', `${A}?q=FW-DOC`)).body.items[0];
  assert.equal(doc._refs.related_system.key, 'FW-SYS');
  // An error still names the row as numbered in the file.
  const bad = '管理番号,資産名,種別,所管課,機密性,完全性,可用性,関連システム\n' +
    'FW2-DOC,手順書,システム関連文書,総務課,2,1,1,FW2-SYS\n' +
    'FW2-SYS,システム,情報システム,総務課,2,2,2,\n' +
    'FW2-X,誤り,パソコン,総務課,2,1,1,\n';
  const e = await importCsv(officer, bad);
  assert.equal(e.status, 400);
  assert.equal(e.body.errors[0].row, 4);
});

test('levels of another scheme are refused through the API too, naming the field', async () => {
  const unit = (await officer.api('GET', '/api/v1/organization/units?q=総務課')).body.items[0].id;
  const r = await officer.api('POST', A, {
    name: '試験', kind: 'info_electronic', section: unit, confidentiality: '3b', integrity: '1', availability: '1',
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, 'confidentiality');
  const ok = await officer.api('POST', A, {
    name: '試験', kind: 'info_electronic', section: unit, confidentiality: '2', integrity: '1', availability: '1',
  });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body._refs.manager.label, '渡辺 恵子'); // 総務課's 情報セキュリティ管理者
});

test('the classification catalog: active scheme, levels and their handling rules', async () => {
  const s = await officer.api('GET', '/api/v1/settings');
  assert.equal(s.body.classification_scheme, 'traditional');
  const c = await officer.api('GET', '/api/v1/classification');
  assert.equal(c.status, 200);
  assert.equal(c.body.active, 'traditional');
  const trad = c.body.schemes.find((x) => x.key === 'traditional');
  const c3 = trad.confidentiality.find((l) => l.value === '3');
  assert.ok(c3.handling.some((h) => h.category === 'terminal'));
  assert.ok(c.body.schemes.find((x) => x.key === 'local_gov').confidentiality.some((l) => l.value === '3a'));
});

test('need to know: staff see their section\'s assets, never the 機密性3 ones', async () => {
  const staff = await loggedIn(srv, 'y.staff', 'staff');
  // Narrow the staff member's role to 資格保険料課 (a section assignment instead of the whole body).
  const section = (await officer.api('GET', '/api/v1/organization/units?q=資格保険料課')).body.items[0].id;
  const users = await officer.api('GET', '/api/v1/users?q=y.staff');
  const userId = users.body.items[0].id;
  const assignments = await officer.api('GET', `/api/v1/roles/assignments?user=${userId}`);
  for (const a of assignments.body.items) {
    const r = await officer.api('POST', `/api/v1/roles/assignments/${a.id}/archive`, { version: a.version });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const added = await officer.api('POST', '/api/v1/roles/assignments', {
    user: userId, role: 'staff', scope_kind: 'section', scope_unit: section, valid_from: '2026-04-01',
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  await new Promise((r) => setTimeout(r, 1100)); // the session's roles are re-read within a second
  const seen = await staff.api('GET', `${A}?limit=500`);
  assert.equal(seen.status, 200);
  assert.ok(seen.body.items.length > 0);
  for (const a of seen.body.items) {
    assert.equal(a.section, section, a.name);
    assert.notEqual(a.confidentiality, '3', a.name);
  }
  // The total counts exactly the rows the staff member may see, also with a filter or a search.
  const sectionAssets = (await officer.api('GET', `${A}?section=${section}&limit=500`)).body.items;
  const visible = sectionAssets.filter((a) => a.confidentiality !== '3');
  assert.ok(visible.length < sectionAssets.length, 'the section has 機密性3 assets to hide');
  assert.equal(seen.body.total, visible.length);
  const kind = visible[0].kind;
  assert.equal((await staff.api('GET', `${A}?kind=${kind}&limit=1`)).body.total,
    visible.filter((a) => a.kind === kind).length);
  const word = encodeURIComponent(visible[0].name.slice(0, 2));
  const searched = await staff.api('GET', `${A}?q=${word}&limit=500`);
  assert.equal(searched.body.total, searched.body.items.length);
  assert.ok(searched.body.items.every((a) => a.section === section && a.confidentiality !== '3'));
  const secret = (await officer.api('GET', `${A}?q=被保険者資格データ`)).body.items[0];
  assert.equal(secret.confidentiality, '3');
  assert.equal((await staff.api('GET', `${A}/${secret.id}`)).status, 404);
  // Nor its name through a reference: an asset they see that relates to a 機密性3 system shows
  // the system's number (files round-trip) but not its name.
  const system = (await officer.api('GET', `${A}?q=SYS-001`)).body.items[0];
  assert.equal(system.confidentiality, '3');
  const terminal = await officer.api('POST', A, { name: '窓口端末(資格)', kind: 'equipment', section, confidentiality: '2', integrity: '1', availability: '1', related_system: system.id });
  assert.equal(terminal.status, 201, JSON.stringify(terminal.body));
  assert.equal(terminal.body._refs.related_system.label, system.name);
  const viaGet = (await staff.api('GET', `${A}/${terminal.body.id}`)).body._refs.related_system;
  const viaList = (await staff.api('GET', `${A}?q=窓口端末`)).body.items[0]._refs.related_system;
  for (const ref of [viaGet, viaList]) {
    assert.equal(ref.hidden, true);
    assert.equal(ref.key, 'SYS-001');
    assert.doesNotMatch(ref.label, /標準システム/);
  }
  // Staff may look, not change.
  const w = await staff.api('POST', A, { name: 'x', kind: 'info_paper', section: section, confidentiality: '1', integrity: '1', availability: '1' });
  assert.equal(w.status, 403);
});

test('counts by zone × confidentiality follow the list\'s filters and permissions', async () => {
  const all = await officer.api('GET', `${A}/counts?by=zone,confidentiality`);
  assert.equal(all.status, 200, JSON.stringify(all.body));
  const total = (await officer.api('GET', `${A}?limit=1`)).body.total;
  assert.equal(all.body.total, total);
  const cell = all.body.cells.find((c) => c.values[0] === 'mynumber' && c.values[1] === '3');
  const listed = (await officer.api('GET', `${A}?zone=mynumber&confidentiality=3&limit=1`)).body.total;
  assert.equal(cell.count, listed);
  const filtered = await officer.api('GET', `${A}/counts?by=confidentiality&kind=system`);
  assert.equal(filtered.body.total, (await officer.api('GET', `${A}?kind=system&limit=1`)).body.total);
  assert.equal((await officer.api('GET', `${A}/counts?by=name`)).status, 400);
  assert.equal((await officer.api('GET', `${A}/counts?by=zone,kind,status`)).status, 400);
  // A 一般職員 over one section counts only what they may list (no 機密性3).
  const staff = await loggedIn(srv, 'c.staff', 'staff');
  const mine = await staff.api('GET', `${A}/counts?by=confidentiality`);
  assert.equal(mine.status, 200);
  assert.ok(!mine.body.cells.some((c) => c.values[0] === '3'));
});

test('export then import gives identical records (XLSX and CSV round trip)', async () => {
  for (const format of ['xlsx', 'csv']) {
    const out = await officer.api('GET', `${A}/export?format=${format}`);
    assert.equal(out.status, 200);
    const back = await officer.api('POST', `${A}/import?format=${format}&mode=upsert`, out.body, {
      'content-type': format === 'csv' ? 'text/csv' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    });
    assert.equal(back.status, 200, JSON.stringify(back.body).slice(0, 500));
    assert.equal(back.body.created, 0, format);
    assert.equal(back.body.updated, 0, format);
    assert.ok(back.body.unchanged >= 25, format);
  }
});

test('mamori assets import and export: exit 0, 1 on file errors, 2 on wrong usage', async () => {
  const dir = srv.dir;
  const out = path.join(dir, 'assets.xlsx');
  let r = mamori(['assets', 'export', out, '--db', srv.db]);
  assert.equal(r.status, 0, r.stderr);
  r = mamori(['assets', 'import', out, '--db', srv.db, '--update', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /変更なし/);
  const bad = path.join(dir, 'bad.csv');
  writeFileSync(bad, sjis('資産名,種別,所管課,機密性,完全性,可用性,特定個人情報\n番号,情報(電子),総務課,1,1,1,有\n'));
  r = mamori(['assets', 'import', bad, '--db', srv.db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /2 行目 「機密性」列: 特定個人情報を含む資産は、機密性1にはできません/);
  r = mamori(['assets', 'import', path.join(dir, 'x.txt'), '--db', srv.db]);
  assert.equal(r.status, 2);
  r = mamori(['assets', 'frobnicate']);
  assert.equal(r.status, 2);
});

test('need to know also holds for changes: no update of an unseen asset, no move out of scope', async () => {
  // 情報システム管理者 may update assets in scope but not see the 機密性3 ones.
  const sysmgr = await loggedIn(srv, 's.manager', 'system_manager');
  const secret = (await officer.api('GET', `${A}?q=被保険者資格データ`)).body.items[0];
  for (let v = 1; v <= 3; v++) {
    const r = await sysmgr.api('PATCH', `${A}/${secret.id}`, { version: v });
    assert.equal(r.status, 404, JSON.stringify(r.body));
  }
  assert.equal((await sysmgr.api('PATCH', `${A}/${secret.id}`, { version: secret.version, confidentiality: '1' })).status, 404);
  assert.equal((await sysmgr.api('POST', `${A}/${secret.id}/archive`, { version: secret.version })).status, 404);
  // The dashboard's totals count only what the caller may list.
  const dash = await sysmgr.api('GET', '/api/v1/dashboard');
  const listed = (await sysmgr.api('GET', `${A}?limit=1`)).body.total;
  assert.equal(dash.body.registers.find((r) => r.key === 'assets').count, listed);
  // A section's 情報セキュリティ管理者 cannot move an asset to another section.
  const units = (await officer.api('GET', '/api/v1/organization/units?kind=section&limit=100')).body.items;
  const somu = units.find((u) => u.code === 'J-SOMU').id;
  const kyufu = units.find((u) => u.code === 'J-KYUFU').id;
  const mgr = await loggedIn(srv, 'w.manager', 'security_manager');
  const users = await officer.api('GET', '/api/v1/users?q=w.manager');
  const uid = users.body.items[0].id;
  for (const a of (await officer.api('GET', `/api/v1/roles/assignments?user=${uid}`)).body.items) {
    await officer.api('POST', `/api/v1/roles/assignments/${a.id}/archive`, { version: a.version });
  }
  const added = await officer.api('POST', '/api/v1/roles/assignments', { user: uid, role: 'security_manager', scope_kind: 'section', scope_unit: somu, valid_from: '2026-04-01' });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  await new Promise((r) => setTimeout(r, 1100));
  const mine = (await mgr.api('GET', `${A}?section=${somu}&confidentiality=2&limit=1`)).body.items[0];
  const moved = await mgr.api('PATCH', `${A}/${mine.id}`, { version: mine.version, section: kyufu });
  assert.equal(moved.status, 403, JSON.stringify(moved.body));
  const kept = await mgr.api('PATCH', `${A}/${mine.id}`, { version: mine.version, location: '書庫B' });
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  // Registers a new asset in their own section, but not in another.
  const asset = { name: '窓口受付簿', kind: 'info_paper', confidentiality: '2', integrity: '1', availability: '1' };
  const created = await mgr.api('POST', A, { ...asset, section: somu });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const elsewhere = await mgr.api('POST', A, { ...asset, section: kyufu });
  assert.equal(elsewhere.status, 403, JSON.stringify(elsewhere.body));
  assert.equal((await officer.api('GET', `${A}?q=窓口受付簿`)).body.total, 1);
});

test('a generated number never reuses an archived asset\'s number', async () => {
  const unit = (await officer.api('GET', '/api/v1/organization/units?q=J-SOMU')).body.items[0].id;
  const base = { kind: 'info_paper', section: unit, confidentiality: '1', integrity: '1', availability: '1' };
  const probe = await officer.api('POST', A, { ...base, name: 'probe' });
  assert.equal(probe.status, 201);
  const next = probe.body.id + 1;
  const taken = await officer.api('POST', A, { ...base, name: 'taken', asset_no: `A-${String(next + 1).padStart(6, '0')}` });
  assert.equal(taken.status, 201);
  assert.equal((await officer.api('POST', `${A}/${taken.body.id}/archive`, { version: taken.body.version })).status, 200);
  const fresh = await officer.api('POST', A, { ...base, name: 'fresh' });
  assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
  assert.notEqual(fresh.body.asset_no, taken.body.asset_no);
});

test('a scheme switch that would break a consistency rule changes nothing', async () => {
  const r = await officer.api('PUT', '/api/v1/settings/classification_scheme', {
    value: 'local_gov', remap: { confidentiality: { 3: '1', 2: '1', 1: '1' } },
  });
  assert.equal(r.status, 400);
  assert.ok(r.body.errors.some((e) => /特定個人情報を含む資産は、機密性1にはできません/.test(e.message)), JSON.stringify(r.body).slice(0, 400));
  assert.equal((await officer.api('GET', '/api/v1/settings')).body.classification_scheme, 'traditional');
  assert.equal((await officer.api('GET', `${A}?q=被保険者資格データ`)).body.items[0].confidentiality, '3');
});

test('switching the classification scheme shows what changes and changes nothing until confirmed', async () => {
  const staff = await loggedIn(srv, 'k.staff', 'staff');
  assert.equal((await staff.api('GET', '/api/v1/settings/classification_scheme/usage')).status, 403);
  const usage = await officer.api('GET', '/api/v1/settings/classification_scheme/usage');
  assert.equal(usage.status, 200, JSON.stringify(usage.body));
  const threes = usage.body.fields.confidentiality['3'];
  assert.ok(threes > 5, JSON.stringify(usage.body));
  // Nothing happens without a target for 機密性3: an error, and the scheme stays.
  const partial = await officer.api('PUT', '/api/v1/settings/classification_scheme', {
    value: 'local_gov', remap: { confidentiality: { 2: '2', 1: '1' } },
  });
  assert.equal(partial.status, 400);
  assert.match(partial.body.errors[0].message, /移行先が指定されていません/);
  assert.equal((await officer.api('GET', '/api/v1/settings')).body.classification_scheme, 'traditional');
  assert.equal((await staff.api('PUT', '/api/v1/settings/classification_scheme', { value: 'local_gov' })).status, 403);
  // Confirmed with the catalog's proposal (3 -> 3B).
  const c = await officer.api('GET', '/api/v1/classification');
  const mapping = c.body.mappings.find((m) => m.from === 'traditional' && m.to === 'local_gov');
  const done = await officer.api('PUT', '/api/v1/settings/classification_scheme', {
    value: 'local_gov', remap: { confidentiality: mapping.confidentiality },
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.changed, threes);
  const rec = (await officer.api('GET', `${A}?q=被保険者資格データ`)).body.items[0];
  assert.equal(rec.confidentiality, '3b');
  const h = await officer.api('GET', `${A}/${rec.id}/history`);
  assert.equal(h.body.items[0].action, 'reclassify');
  // The new scheme's levels are now the valid ones.
  const unit = rec.section;
  const old = await officer.api('POST', A, { name: 'x', kind: 'info_paper', section: unit, confidentiality: '3', integrity: '1', availability: '1' });
  assert.equal(old.status, 400);
  const ok = await officer.api('POST', A, { name: 'x', kind: 'info_paper', section: unit, confidentiality: '3a', integrity: '1', availability: '1' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const audit = await officer.api('GET', '/api/v1/audit?action=setting_change');
  assert.equal(audit.body.items[0].detail.to, 'local_gov');
});
