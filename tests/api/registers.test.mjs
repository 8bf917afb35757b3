// The register mechanism through the REST API of a real server: CRUD with optimistic
// concurrency, archive, history, search, filters, import (all or nothing) and export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, loggedIn } from '../lib/mamori.mjs';

let srv;
let admin;  // a logged-in system administrator
const U = '/api/v1/organization/units';
const api = (_base, ...args) => admin.api(...args);
before(async () => {
  srv = await startServer();
  admin = await loggedIn(srv, 'admin', 'sysadmin');
});
after(async () => { await srv.stop(); srv.cleanup(); });

async function create(body) {
  const r = await api(srv.url, 'POST', U, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.headers.get('location'), `${U}/${r.body.id}`);
  return r.body;
}

test('metadata lists every module and the organization register', async () => {
  const r = await api(srv.url, 'GET', '/api/v1/meta');
  assert.equal(r.status, 200);
  assert.equal(r.body.modules.length, 12);
  assert.deepEqual(r.body.registers.map((x) => x.key), ['org_units', 'users', 'role_assignments', 'assets', 'inventory_campaigns', 'inventory_confirmations', 'evidence', 'control_exceptions', 'documents', 'document_versions', 'document_decisions', 'acknowledgements', 'acknowledgement_reminders', 'threats', 'risks', 'risk_assets', 'risk_dismissals', 'risk_rounds']);
  const labels = r.body.modules.map((m) => m.label.ja);
  for (const l of ['組織', '情報資産', '脅威・リスク', '規程・対策', '自己点検・監査', 'インシデント',
    '委託・クラウド・SNS', '教育', 'ネットワーク分離', '通信監視', '監査ログ', '設定']) {
    assert.ok(labels.includes(l), l);
  }
  assert.equal(r.body.modules.find((m) => m.key === 'organization').status, 'ready');
  assert.equal(r.body.modules.find((m) => m.key === 'assets').status, 'ready');
  assert.deepEqual(r.body.modules.find((m) => m.key === 'assets').registers, ['inventory_campaigns', 'inventory_confirmations']);
  assert.equal(r.body.modules.find((m) => m.key === 'documents').register, 'documents');
  assert.deepEqual(r.body.modules.find((m) => m.key === 'documents').registers, ['document_versions', 'document_decisions', 'acknowledgements', 'acknowledgement_reminders', 'evidence', 'control_exceptions']);
  assert.equal(r.body.modules.find((m) => m.key === 'risks').status, 'ready');
  assert.deepEqual(r.body.modules.find((m) => m.key === 'risks').registers, ['threats', 'risk_assets', 'risk_dismissals', 'risk_rounds']);
  // The network separation module has no register of its own: its page reads netcheck's evidence.
  assert.equal(r.body.modules.find((m) => m.key === 'netsep').status, 'ready');
  assert.equal(r.body.modules.find((m) => m.key === 'netsep').register, undefined);
  // Traffic monitoring likewise: its page reads the monitor's evidence.
  assert.equal(r.body.modules.find((m) => m.key === 'monitor').status, 'ready');
  assert.equal(r.body.modules.find((m) => m.key === 'monitor').register, undefined);
  assert.equal(r.body.modules.find((m) => m.key === 'incidents').status, 'planned');
  const reg = r.body.registers.find((x) => x.key === 'org_units');
  assert.equal(reg.path, 'organization/units');
  assert.ok(reg.fields.find((f) => f.name === 'kind').options.length >= 3);
});

test('policy tree has §1–§10 and controls for every measure', async () => {
  const r = await api(srv.url, 'GET', '/api/v1/policy');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.sections.map((s) => s.id), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  const s6 = r.body.sections.find((s) => s.id === '6');
  assert.equal(s6.items.length, 9);
  for (const item of s6.items) {
    const all = [...item.controls, ...item.items.flatMap((i) => i.controls)];
    assert.ok(all.length > 0, `controls for ${item.id}`);
  }
  for (const id of ['7', '8']) {
    assert.ok(r.body.sections.find((s) => s.id === id).controls.length > 0, `controls for §${id}`);
  }
});

test('create, read with ETag, update with version, stale update 409, archive, history', async () => {
  const bureau = await create({ code: 'T1', name: '広域連合事務局', kind: 'bureau' });
  const sec = await create({ code: 'T1-A', name: '総務課', name_kana: 'そうむか', kind: 'section', parent: bureau.id });
  assert.equal(sec.version, 1);
  assert.equal(sec._refs.parent.label, '広域連合事務局');

  const got = await api(srv.url, 'GET', `${U}/${sec.id}`);
  assert.equal(got.headers.get('etag'), '"1"');

  const up = await api(srv.url, 'PATCH', `${U}/${sec.id}`, { version: 1, name: '総務企画課' });
  assert.equal(up.status, 200);
  assert.equal(up.body.version, 2);

  const stale = await api(srv.url, 'PATCH', `${U}/${sec.id}`, { version: 1, name: '古い' });
  assert.equal(stale.status, 409);
  assert.equal(stale.headers.get('content-type'), 'application/problem+json');
  assert.match(stale.body.detail, /他の利用者/);

  const viaIfMatch = await api(srv.url, 'PATCH', `${U}/${sec.id}`, { phone: '123' }, { 'if-match': '"2"' });
  assert.equal(viaIfMatch.status, 200);
  assert.equal(viaIfMatch.body.version, 3);

  const arch = await api(srv.url, 'POST', `${U}/${sec.id}/archive`, { version: 3 });
  assert.equal(arch.status, 200);
  assert.equal(arch.body.archived, true);
  const listed = await api(srv.url, 'GET', `${U}?q=総務企画`);
  assert.equal(listed.body.total, 0);
  const withArchived = await api(srv.url, 'GET', `${U}?q=総務企画&archived=include`);
  assert.equal(withArchived.body.total, 1);

  const hist = await api(srv.url, 'GET', `${U}/${sec.id}/history`);
  assert.deepEqual(hist.body.items.map((h) => h.action), ['archive', 'update', 'update', 'create']);
  const rename = hist.body.items[2].changes[0];
  assert.deepEqual([rename.field, rename.label, rename.from, rename.to], ['name', '名称', '総務課', '総務企画課']);
});

test('validation errors are 400 problem+json naming the field in Japanese', async () => {
  const r = await api(srv.url, 'POST', U, { code: 5, kind: 'division', colour: 'red' });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  const byField = Object.fromEntries(r.body.errors.map((e) => [e.field, e]));
  assert.equal(byField.code.label, '組織コード');
  assert.equal(byField.code.message, '文字列で指定してください。');
  assert.match(byField.kind.message, /部局/);
  assert.equal(byField.colour.message, '不明な項目です。');

  const missing = await api(srv.url, 'POST', U, { code: 'Z' });
  assert.equal(missing.status, 400);
  assert.ok(missing.body.errors.some((e) => e.field === 'name' && e.message === '必須です。'));

  const dup = await api(srv.url, 'POST', U, { code: 'T1', name: 'x', kind: 'bureau' });
  assert.equal(dup.status, 400);
  assert.equal(dup.body.errors[0].field, 'code');
  assert.match(dup.body.errors[0].message, /既に登録/);

  const long = await api(srv.url, 'POST', U, { code: 'L', name: '字'.repeat(101), kind: 'bureau' });
  assert.equal(long.status, 400);
  assert.match(long.body.errors[0].message, /100 文字以内/);
});

test('search finds kanji and kana however typed; filters, sort and paging', async () => {
  const b = await create({ code: 'Q', name: '検索局', kind: 'bureau' });
  await create({ code: 'Q-1', name: '給付課', name_kana: 'キュウフカ', kind: 'section', parent: b.id });
  await create({ code: 'Q-2', name: '資格保険料課', name_kana: 'しかくほけんりょうか', kind: 'section', parent: b.id });
  const enc = encodeURIComponent;
  for (const q of ['きゅうふ', 'ｷｭｳﾌ', 'キュウフ', '給付']) {
    const r = await api(srv.url, 'GET', `${U}?q=${enc(q)}`);
    assert.equal(r.body.total, 1, q);
    assert.equal(r.body.items[0].code, 'Q-1');
  }
  const byParent = await api(srv.url, 'GET', `${U}?parent=${b.id}&sort=-code`);
  assert.deepEqual(byParent.body.items.map((i) => i.code), ['Q-2', 'Q-1']);
  const page = await api(srv.url, 'GET', `${U}?parent=${b.id}&sort=code&limit=1&offset=1`);
  assert.deepEqual(page.body.items.map((i) => i.code), ['Q-2']);
  assert.equal(page.body.total, 2);
  const sections = await api(srv.url, 'GET', `${U}?kind=section&q=${enc('課')}`);
  assert.ok(sections.body.items.every((i) => i.kind === 'section'));
  // Two-character words, half-width kana, an ASCII fragment of a code in either case and
  // width, and one character: each finds exactly the records whose text contains it.
  for (const [q, codes] of [['資格', ['Q-2']], ['ｼｶｸ', ['Q-2']], ['保険料', ['Q-2']], ['q-2', ['Q-2']],
    ['Ｑ－', ['Q-1', 'Q-2']], ['検索', ['Q']], ['資格 課', ['Q-2']], ['資格 給付', []]]) {
    const r = await api(srv.url, 'GET', `${U}?q=${enc(q)}&sort=code`);
    assert.deepEqual(r.body.items.map((i) => i.code), codes, q);
    assert.equal(r.body.total, codes.length, q);
  }
  // Totals are exact under filters: the filtered total is the number of records listed.
  const all = (await api(srv.url, 'GET', `${U}?limit=500`)).body;
  const kinds = {};
  for (const i of all.items) kinds[i.kind] = (kinds[i.kind] ?? 0) + 1;
  for (const [kind, n] of Object.entries(kinds)) {
    assert.equal((await api(srv.url, 'GET', `${U}?kind=${kind}&limit=1`)).body.total, n, kind);
  }
});

test('bad list parameters get 400 naming the parameter', async () => {
  for (const [qs, field] of [['limit=0', 'limit'], ['limit=x', 'limit'], ['offset=-1', 'offset'],
    ['sort=nosuch', 'sort'], ['kind=division', 'kind'], ['colour=red', 'colour'], ['archived=maybe', 'archived']]) {
    const r = await api(srv.url, 'GET', `${U}?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.equal(r.body.errors[0].field, field, qs);
  }
});

const CSV_HEADER = '組織コード,名称,名称(かな),区分,上位組織\r\n';

test('import validates every row first and writes nothing on any error', async () => {
  const before = (await api(srv.url, 'GET', `${U}?limit=500&archived=include`)).body.total;
  const bad = CSV_HEADER + 'IMP,取込局,,部局,\r\nIMP-1,,,課室,IMP\r\nIMP-2,課,,課室,NOPE\r\nIMP-3,x,,室,IMP\r\n';
  const r = await api(srv.url, 'POST', `${U}/import?format=csv`, bad, { 'content-type': 'text/csv' });
  assert.equal(r.status, 400);
  const where = r.body.errors.map((e) => `${e.row}:${e.column}`);
  assert.ok(where.includes('3:名称'), where.join());
  assert.ok(where.includes('4:上位組織'), where.join());
  assert.ok(where.includes('5:区分'), where.join());
  const after = (await api(srv.url, 'GET', `${U}?limit=500&archived=include`)).body.total;
  assert.equal(after, before, 'a failed import changes nothing');

  const good = CSV_HEADER + 'IMP,取込局,,部局,\r\nIMP-1,取込課,,課室,IMP\r\n';
  const dry = await api(srv.url, 'POST', `${U}/import?format=csv&dry_run=true`, good);
  assert.deepEqual(dry.body, { dry_run: true, created: 2, updated: 0, unchanged: 0, warnings: [] });
  assert.equal((await api(srv.url, 'GET', `${U}?q=取込`)).body.total, 0);
  const ok = await api(srv.url, 'POST', `${U}/import?format=csv`, good);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.created, 2);
});

test('import reads Shift_JIS (CP932) and UTF-8 with BOM', async () => {
  // "組織コード,名称,区分\r\nSJ,事務局,部局\r\n" in Shift_JIS.
  const sjis = Buffer.from([
    0x91, 0x67, 0x90, 0x44, 0x83, 0x52, 0x81, 0x5b, 0x83, 0x68, 0x2c, 0x96, 0xbc, 0x8f, 0xcc, 0x2c,
    0x8b, 0xe6, 0x95, 0xaa, 0x0d, 0x0a, 0x53, 0x4a, 0x2c, 0x8e, 0x96, 0x96, 0xb1, 0x8b, 0xc7, 0x2c,
    0x95, 0x94, 0x8b, 0xc7, 0x0d, 0x0a]);
  const r = await api(srv.url, 'POST', `${U}/import?format=csv`, sjis);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await api(srv.url, 'GET', `${U}?q=SJ`)).body.items[0].name, '事務局');
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('組織コード,名称,区分\r\nBOM,BOM局,部局\r\n')]);
  const r2 = await api(srv.url, 'POST', `${U}/import?format=csv`, bom);
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
});

test('export CSV and XLSX with Japanese headers; export then import changes nothing', async () => {
  const csv = await api(srv.url, 'GET', `${U}/export?format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-disposition'), /attachment; filename="org_units-\d{8}\.csv"/);
  const text = csv.body.toString('utf8');
  assert.ok(text.startsWith('\ufeff組織コード,名称'), text.slice(0, 40));
  const xlsx = await api(srv.url, 'GET', `${U}/export?format=xlsx`);
  assert.equal(xlsx.status, 200);
  assert.equal(xlsx.body.subarray(0, 2).toString(), 'PK');
  for (const [fmt, bytes] of [['csv', csv.body], ['xlsx', xlsx.body]]) {
    const r = await api(srv.url, 'POST', `${U}/import?format=${fmt}&mode=upsert`, bytes);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.created + r.body.updated, 0, fmt);
    assert.ok(r.body.unchanged > 5, fmt);
  }
});
