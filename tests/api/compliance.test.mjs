// Controls and their evidence (issue 6) through a real server: the derived status of every
// control, service accounts whose tokens are shown once and work only for POST
// /api/v1/evidence, evidence that keeps the raw result with its SHA-256 and cannot be changed,
// exceptions decided by someone other than the requester, and the 実施状況一覧 report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, loggedIn, loggedInAs, mamori, api, ROOT, tempDir } from '../lib/mamori.mjs';

let srv;
let admin; // システム管理者
let officer; // 統括情報セキュリティ責任者
let manager; // 情報セキュリティ管理者 of one section
let staff; // 一般職員
let section;
let token;
let accountId;

const E = '/api/v1/controls/evidence';
const X = '/api/v1/controls/exceptions';
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const today = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
const control = (status, id) => status.body.controls.find((c) => c.id === id);

before(async () => {
  srv = await startServer();
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  admin = await loggedIn(srv, 'admin', 'sysadmin');
  officer = await loggedIn(srv, 'officer', 'security_general');
  staff = await loggedIn(srv, 'staff1', 'staff');
  manager = await loggedInAs(srv, 'm.suzuki');
  const units = (await officer.api('GET', '/api/v1/organization/units?limit=500')).body.items;
  section = units.find((u) => u.code === 'J-SHIKAKU').id;
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('every control starts without evidence; staff cannot see the compliance view', async () => {
  const s = await officer.api('GET', '/api/v1/compliance');
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.totals.controls, 61);
  // Only controls proven by the registers alone (the demo's organization and role
  // assignments were just loaded) can be in place before any evidence.
  for (const c of s.body.controls.filter((x) => x.status === 'implemented')) {
    assert.ok(c.evidence.every((e) => e.kind.startsWith('register:') && e.state === 'fresh'), c.id);
  }
  assert.equal(control(s, 'C-6-1-05').status, 'implemented');
  const c = control(s, 'C-6-3-02');
  assert.equal(c.status, 'unknown');
  assert.deepEqual(c.evidence.map((e) => e.state), ['missing', 'missing']);
  assert.ok(s.body.sections.some((x) => x.id === '6(3)' && x.controls >= 2));
  assert.equal((await staff.api('GET', '/api/v1/compliance')).status, 403);
});

test('an administrator creates a service account; its token is shown once and stored hashed', async () => {
  assert.equal((await officer.api('POST', '/api/v1/service-accounts', { name: 'x', purpose: 'y' })).status, 403);
  const bad = await admin.api('POST', '/api/v1/service-accounts', { name: 'Bad Name', purpose: '' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['name', 'purpose']);
  const r = await admin.api('POST', '/api/v1/service-accounts', { name: 'netcheck-fw1', purpose: '基幹FWの分離検査' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  token = r.body.token;
  accountId = r.body.account.id;
  assert.match(token, /^mamori_sa_\d+_[A-Za-z0-9_-]{43}$/);
  const list = await admin.api('GET', '/api/v1/service-accounts');
  assert.equal(list.status, 200);
  assert.equal(list.body.items[0].state, 'active');
  assert.ok(!JSON.stringify(list.body).includes(token.split('_').pop()), 'the token is never shown again');
  const dup = await admin.api('POST', '/api/v1/service-accounts', { name: 'netcheck-fw1', purpose: 'again' });
  assert.equal(dup.status, 409);
  // The database keeps only the hash.
  const q = mamori(['admin', 'check-db', '--db', srv.db]);
  assert.equal(q.status, 0);
});

test('the evidence API takes only a valid bearer token, keeps the raw result and its hash', async () => {
  const body = { control: 'C-6-3-02', kind: 'automated:netcheck', result: 'fail', summary: '違反 1 件: lgwan → mynumber tcp/445', raw: { result: 'violations', violations: [{ from: 'lgwan', to: 'mynumber' }] } };
  const none = await api(srv.url, 'POST', '/api/v1/evidence', body);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate'), /Bearer/);
  const wrong = await api(srv.url, 'POST', '/api/v1/evidence', body, { authorization: `Bearer ${token.slice(0, -1)}x` });
  assert.equal(wrong.status, 401);
  const ok = await api(srv.url, 'POST', '/api/v1/evidence', body, { authorization: `Bearer ${token}` });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.source, 'service:netcheck-fw1');
  assert.equal(ok.body.control, 'c_6_3_02');
  assert.equal(ok.body.raw_sha256, sha256(ok.body.raw));
  assert.deepEqual(JSON.parse(ok.body.raw), body.raw);
  // The token opens nothing else: not the registers, not the status.
  assert.equal((await api(srv.url, 'GET', '/api/v1/compliance', undefined, { authorization: `Bearer ${token}` })).status, 401);
  assert.equal((await api(srv.url, 'GET', E, undefined, { authorization: `Bearer ${token}` })).status, 401);
  // Bad evidence names its field.
  const unknown = await api(srv.url, 'POST', '/api/v1/evidence', { ...body, control: 'C-9-9-99' }, { authorization: `Bearer ${token}` });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.errors[0].field, 'control');

  let s = await officer.api('GET', '/api/v1/compliance');
  let c = control(s, 'C-6-3-02');
  assert.equal(c.status, 'not_implemented');
  assert.equal(c.evidence[0].state, 'failed');
  assert.equal(c.evidence[0].record.source, 'service:netcheck-fw1');

  const pass = await api(srv.url, 'POST', '/api/v1/evidence', { ...body, result: 'pass', summary: '違反なし' }, { authorization: `Bearer ${token}` });
  assert.equal(pass.status, 201);
  s = await officer.api('GET', '/api/v1/compliance');
  c = control(s, 'C-6-3-02');
  assert.equal(c.status, 'partial'); // the document is still missing
  assert.equal(c.evidence[0].state, 'fresh');

  // Lists leave the raw result out; the record has it.
  const list = await officer.api('GET', `${E}?control=c_6_3_02`);
  assert.equal(list.body.total, 2);
  assert.ok(!('raw' in list.body.items[0]));
  const one = await officer.api('GET', `${E}/${ok.body.id}`);
  assert.equal(one.body.raw, ok.body.raw);
});

test('people record evidence themselves, never automated results, and never change it', async () => {
  const typed = await officer.api('POST', E, { control: 'c_6_3_02', kind: 'automated_netcheck', result: 'pass', summary: '手入力' });
  assert.equal(typed.status, 400);
  assert.equal(typed.body.errors[0].field, 'kind');
  // Document evidence names the document it rests on (400 naming the field without one).
  const unlinked = await officer.api('POST', E, { control: 'c_6_3_02', kind: 'document', result: 'pass', summary: 'ネットワーク構成図 第3版' });
  assert.equal(unlinked.status, 400, JSON.stringify(unlinked.body));
  assert.equal(unlinked.body.errors[0].field, 'document');
  assert.match(unlinked.body.errors[0].message, /規程/);
  // A 対策基準 in force (loaded as earlier records are, by the administrator's import).
  const dir = tempDir();
  writeFileSync(path.join(dir, 'documents.csv'), 'code,title,kind\nSTD-NET,ネットワーク分離基準,standards\n');
  writeFileSync(path.join(dir, 'versions.csv'), `document,body,status,effective_date\nSTD-NET,第1条 分離,in_force,${today}\n`);
  for (const [file, reg] of [['documents.csv', 'documents'], ['versions.csv', 'document_versions']]) {
    const r = mamori(['admin', 'import', path.join(dir, file), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  const std = (await officer.api('GET', '/api/v1/documents?q=STD-NET')).body.items.find((d) => d.code === 'STD-NET');
  assert.ok(std, 'the imported document');
  const doc = await officer.api('POST', E, { control: 'c_6_3_02', kind: 'document', document: std.id, result: 'pass', summary: 'ネットワーク構成図 第3版' });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  const s = await officer.api('GET', '/api/v1/compliance');
  assert.equal(control(s, 'C-6-3-02').status, 'implemented');
  const basis = control(s, 'C-6-3-02').evidence.find((e) => e.kind === 'document').document;
  assert.equal(basis.state, 'in_force');
  assert.equal(basis.code, 'STD-NET');
  assert.equal(basis.version.name, 'STD-NET 第1版');
  // No role may update evidence (the register's rule refuses it as well: unit tests).
  const edit = await officer.api('PATCH', `${E}/${doc.body.id}`, { version: doc.body.version, summary: '第4版' });
  assert.equal(edit.status, 403);
  assert.equal((await staff.api('POST', E, { control: 'c_6_1_02', kind: 'document', result: 'pass', summary: 'x' })).status, 403);
});

test('an exception is decided by someone who may approve, never by the requester', async () => {
  const expires = new Date(Date.now() + 9 * 3600e3 + 90 * 86400e3).toISOString().slice(0, 10);
  const req = await manager.api('POST', X, { control: 'c_6_1_02', title: '委員会報告の書面化', section, reason: '災害対応中のため委員会を開けない', measures: '書面で委員に報告する', expires_on: expires });
  assert.equal(req.status, 201, JSON.stringify(req.body));
  assert.equal(req.body.status, 'requested');
  const self = await manager.api('PATCH', `${X}/${req.body.id}`, { version: 1, status: 'approved' });
  assert.equal(self.status, 400);
  assert.equal(self.body.errors[0].field, 'status');
  const ok = await officer.api('PATCH', `${X}/${req.body.id}`, { version: 1, status: 'approved', decision_comment: '期限まで認める' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.decided_on.length, 10);
  const s = await officer.api('GET', '/api/v1/compliance');
  assert.equal(control(s, 'C-6-1-02').exception.id, req.body.id);
  const again = await officer.api('PATCH', `${X}/${req.body.id}`, { version: ok.body.version, status: 'rejected' });
  assert.equal(again.status, 400);
});

test('a revoked token stops working; the 実施状況一覧 comes as XLSX and printable HTML', async () => {
  assert.equal((await admin.api('POST', `/api/v1/service-accounts/${accountId}/revoke`)).status, 200);
  const after = await api(srv.url, 'POST', '/api/v1/evidence', { control: 'C-6-3-02', kind: 'automated:netcheck', result: 'pass', summary: 'x' }, { authorization: `Bearer ${token}` });
  assert.equal(after.status, 401);
  const list = await admin.api('GET', '/api/v1/service-accounts');
  assert.equal(list.body.items[0].state, 'revoked');

  const xlsx = await officer.api('GET', '/api/v1/compliance/report.xlsx');
  assert.equal(xlsx.status, 200);
  assert.equal(xlsx.body.subarray(0, 2).toString(), 'PK');
  const html = await officer.api('GET', '/api/v1/compliance/report.html');
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-security-policy'), /default-src 'none'/);
  const text = html.body.toString('utf8');
  assert.match(text, /実施状況一覧/);
  assert.match(text, /C-6-3-02/);
  assert.equal((await staff.api('GET', '/api/v1/compliance/report.html')).status, 403);

  const audit = await admin.api('GET', '/api/v1/audit?limit=200');
  const actions = audit.body.items.map((e) => `${e.actor} ${e.action}`);
  assert.ok(actions.includes('admin service_account.create'), actions.join('\n'));
  assert.ok(actions.includes('service:netcheck-fw1 create'));
  assert.ok(actions.includes('admin service_account.revoke'));
});

test('mamori netcheck --report-to posts its proof as evidence for every netcheck control', async () => {
  const made = mamori(['admin', 'create-token', '--db', srv.db, '--name', 'netcheck-core', '--purpose', '基幹ネットワークの分離検査']);
  assert.equal(made.status, 0, made.stderr);
  const tokenLine = made.stdout.trim().split('\n').pop().trim();
  assert.match(tokenLine, /^mamori_sa_/);
  const dir = tempDir();
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${tokenLine}\n`, { mode: 0o600 });
  const golden = (name) => path.join(ROOT, 'tests/golden/netsep', name, 'topology.toml');

  // A leak: exit 1 as always, and failed evidence on the server.
  const leak = mamori(['netcheck', golden('dnat_port_forward'), '--report-to', srv.url, '--token-file', tokenFile]);
  assert.equal(leak.status, 1, leak.stderr);
  // One record stands for every control that asks for the proof; people are not offered that
  // value in forms.
  const meta = await officer.api('GET', '/api/v1/meta');
  const every = meta.body.registers.find((r) => r.key === 'evidence').fields.find((f) => f.name === 'control').options.find((o) => o.value === 'all');
  assert.equal(every.in_forms, false);
  assert.equal(every.label.ja, 'この種類を求めるすべての管理策');
  const leakId = Number(/証跡を送りました\(記録番号 (\d+)、/.exec(leak.stderr)?.[1]);
  assert.ok(leakId > 0, leak.stderr);
  let s = await officer.api('GET', '/api/v1/compliance');
  const netcheckControls = s.body.controls.filter((c) => c.evidence.some((e) => e.kind === 'automated:netcheck'));
  assert.ok(netcheckControls.length >= 2);
  for (const c of netcheckControls) {
    const e = c.evidence.find((x) => x.kind === 'automated:netcheck');
    assert.equal(e.state, 'failed', c.id);
    assert.equal(e.record.id, leakId, c.id);
    assert.equal(e.record.source, 'service:netcheck-core');
    assert.match(e.record.summary, /違反 1 件/);
  }
  const rec = await officer.api('GET', `${E}/${netcheckControls[0].evidence.find((x) => x.kind === 'automated:netcheck').record.id}`);
  assert.equal(JSON.parse(rec.body.raw).result, 'violations');
  assert.equal(rec.body.raw_sha256, sha256(rec.body.raw));

  // Separated: exit 0 and passing evidence.
  const clean = mamori(['netcheck', golden('clean_three_layer'), '--report-to', srv.url, '--token-file', tokenFile]);
  assert.equal(clean.status, 0, clean.stderr);
  s = await officer.api('GET', '/api/v1/compliance');
  for (const c of s.body.controls.filter((x) => netcheckControls.some((n) => n.id === x.id))) {
    assert.equal(c.evidence.find((x) => x.kind === 'automated:netcheck').state, 'fresh', c.id);
  }
  // A wrong token: the check still prints, the exit says the post failed.
  writeFileSync(tokenFile, 'mamori_sa_999_nope\n');
  const refused = mamori(['netcheck', golden('clean_three_layer'), '--report-to', srv.url, '--token-file', tokenFile]);
  assert.equal(refused.status, 3);
  assert.match(refused.stderr, /HTTP 401/);
  const noToken = mamori(['netcheck', golden('clean_three_layer'), '--report-to', srv.url]);
  assert.equal(noToken.status, 2);
});
