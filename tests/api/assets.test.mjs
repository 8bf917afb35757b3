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
  // Staff may look, not change.
  const w = await staff.api('POST', A, { name: 'x', kind: 'info_paper', section: section, confidentiality: '1', integrity: '1', availability: '1' });
  assert.equal(w.status, 403);
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
