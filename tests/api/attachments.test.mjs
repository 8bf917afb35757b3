// Attachments (添付ファイル, issue 6) through a real server: files kept with a document version
// or an evidence record, each with the SHA-256 the server computed. Round trip with a Japanese
// file name, the hash equal to the bytes', the size limit, bad names, need to know (一般職員
// never reach a 対策基準's files), files frozen once a version leaves 起案, an attestation that
// counts only with a file, and every change in the audit chain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { startServer, loggedIn, loggedInAs, mamori, ROOT } from '../lib/mamori.mjs';

const LIMIT = 64 * 1024; // mamori.toml [server] attachment_max_bytes for this server
const D = '/api/v1/documents';
const V = '/api/v1/documents/versions';
const R = '/api/v1/documents/decisions';
const E = '/api/v1/controls/evidence';
const today = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const octets = { 'content-type': 'application/octet-stream' };
const upload = (client, base, name, bytes) =>
  client.api('POST', `${base}/attachments?name=${encodeURIComponent(name)}`, bytes, octets);

let srv;
let drafter; // 統括情報セキュリティ責任者 (test user): drafts versions, records evidence
let staff; // 一般職員
const demo = {};
let version; // a 対策基準 version in 起案
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from([0, 1, 2, 255, 254, 0x1a]), Buffer.from('別紙1\n', 'utf8')]);
const pdfName = '別紙1 情報資産の分類基準(案).pdf';
let pdfId;

before(async () => {
  srv = await startServer({ config: `attachment_max_bytes = ${LIMIT}\n` });
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  drafter = await loggedIn(srv, 'soumu-tanto', 'security_general');
  staff = await loggedIn(srv, 'ippan', 'staff');
  for (const login of ['s.kobayashi', 'k.watanabe', 'm.suzuki']) demo[login] = await loggedInAs(srv, login);
  const doc = await drafter.api('POST', D, { code: 'STD-A', title: '情報セキュリティ対策基準', kind: 'standards' });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  const v = await drafter.api('POST', V, { document: doc.body.id, body: '# 対策基準\n\n別紙1のとおり\n', route: 'general' });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  version = v.body;
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('the metadata says which registers take files, with the server\'s limit', async () => {
  const meta = (await drafter.api('GET', '/api/v1/meta')).body;
  const byKey = Object.fromEntries(meta.registers.map((r) => [r.key, r]));
  assert.equal(byKey.document_versions.attachments.max_bytes, LIMIT);
  assert.equal(byKey.evidence.attachments.max_bytes, LIMIT);
  assert.match(byKey.evidence.attachments.note.ja, /添付ファイルのない実施の証明は根拠になりません/);
  assert.equal(byKey.org_units.attachments, undefined);
  assert.equal((await drafter.api('GET', `/api/v1/organization/units/1/attachments`)).status, 404);
});

test('a file with a Japanese name round-trips; the hash is the server\'s, of the bytes', async () => {
  const base = `${V}/${version.id}`;
  // A hash or type the client claims is not taken: the server computes both.
  const r = await drafter.api('POST', `${base}/attachments?name=${encodeURIComponent(pdfName)}`, pdf,
    { 'content-type': 'text/html', 'x-sha256': '0'.repeat(64) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.name, pdfName);
  assert.equal(r.body.size, pdf.length);
  assert.equal(r.body.sha256, sha256(pdf));
  assert.equal(r.body.content_type, 'application/pdf');
  assert.equal(r.body.uploaded_by, 'soumu-tanto');
  pdfId = r.body.id;
  assert.equal(r.headers.get('location'), `${base}/attachments/${pdfId}`);

  const list = await drafter.api('GET', `${base}/attachments`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((a) => [a.name, a.sha256]), [[pdfName, sha256(pdf)]]);
  assert.equal(list.body.can_add, true);
  assert.equal(list.body.can_remove, true);

  const file = await drafter.api('GET', `${base}/attachments/${pdfId}`);
  assert.equal(file.status, 200);
  assert.ok(Buffer.compare(file.body, pdf) === 0, 'the same bytes');
  assert.equal(sha256(file.body), r.body.sha256);
  assert.equal(file.headers.get('content-type'), 'application/pdf');
  assert.equal(file.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(file.headers.get('etag'), `"${sha256(pdf)}"`);
  const cd = file.headers.get('content-disposition');
  assert.ok(cd.startsWith('attachment; '), cd);
  assert.ok(cd.includes(`filename*=UTF-8''${encodeURIComponent(pdfName).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`), cd);
  assert.match(cd, /filename="[A-Za-z0-9._-]+"/); // an ASCII fallback

  // Anything that is not a known safe format is served as bytes to save.
  const html = await upload(drafter, base, 'page.html', '<html><script>alert(1)</script></html>');
  assert.equal(html.status, 201);
  assert.equal(html.body.content_type, 'application/octet-stream');
  const got = await drafter.api('GET', `${base}/attachments/${html.body.id}`);
  assert.equal(got.headers.get('content-type'), 'application/octet-stream');
  assert.match(got.headers.get('content-security-policy'), /sandbox/);
  // And it can be removed while the version is drafted.
  assert.equal((await drafter.api('DELETE', `${base}/attachments/${html.body.id}`)).status, 204);
  assert.equal((await drafter.api('GET', `${base}/attachments/${html.body.id}`)).status, 404);

  // The history of the version says so, with the hash.
  const history = (await drafter.api('GET', `${base}/history`)).body.items;
  assert.ok(history.some((h) => h.action === 'attach' && h.changes[0].to.includes(sha256(pdf))));
  assert.ok(history.some((h) => h.action === 'detach'));
});

test('bad names, empty files, unknown parameters and files over the limit are refused', async () => {
  const base = `${V}/${version.id}`;
  for (const name of ['../../etc/passwd', 'a/b.pdf', 'C:\\x.pdf', '報告\u202Efdp.exe', '.', 'x'.repeat(201), 'name.', '']) {
    const r = await upload(drafter, base, name, 'abc');
    assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.errors[0].field, 'name', name);
    assert.match(r.body.detail, /^ファイル名: /);
  }
  const none = await drafter.api('POST', `${base}/attachments`, 'abc', octets);
  assert.equal(none.status, 400);
  assert.equal(none.body.errors[0].field, 'name');
  const ctl = await drafter.api('POST', `${base}/attachments?name=a%0Ab.pdf`, 'abc', octets);
  assert.equal(ctl.status, 400); // control bytes never reach the handler
  const empty = await upload(drafter, base, 'empty.txt', '');
  assert.equal(empty.status, 400);
  assert.equal(empty.body.errors[0].field, 'file');
  const extra = await drafter.api('POST', `${base}/attachments?name=a.pdf&path=/tmp`, 'abc', octets);
  assert.equal(extra.status, 400);
  assert.equal(extra.body.errors[0].field, 'path');
  const big = await upload(drafter, base, 'big.bin', Buffer.alloc(LIMIT + 1, 7));
  assert.equal(big.status, 413);
  const justFits = await upload(drafter, base, 'fits.bin', Buffer.alloc(LIMIT, 7));
  assert.equal(justFits.status, 201, JSON.stringify(justFits.body));
  assert.equal(justFits.body.sha256, sha256(Buffer.alloc(LIMIT, 7)));
  const dup = await upload(drafter, base, 'fits.bin', 'other');
  assert.equal(dup.status, 409);
  assert.equal(dup.body.errors[0].field, 'name');
  assert.equal((await drafter.api('DELETE', `${base}/attachments/${justFits.body.id}`)).status, 204);
});

test('一般職員 cannot list, fetch or add files of a non-public document', async () => {
  const base = `${V}/${version.id}`;
  const list = await staff.api('GET', `${base}/attachments`);
  assert.equal(list.status, 404); // need to know: its existence is not told
  const file = await staff.api('GET', `${base}/attachments/${pdfId}`);
  assert.equal(file.status, 404);
  assert.ok(!Buffer.from(JSON.stringify(file.body)).includes('別紙1'));
  assert.equal((await upload(staff, base, 'x.pdf', '%PDF-')).status, 404);
  assert.equal((await staff.api('DELETE', `${base}/attachments/${pdfId}`)).status, 404);
  // A public document's files are for everyone to read, but staff cannot add any.
  const doc = await drafter.api('POST', D, { code: 'KIHON-A', title: '基本方針', kind: 'basic_policy' });
  const pub = await drafter.api('POST', V, { document: doc.body.id, body: '# 基本方針\n' });
  assert.equal((await upload(drafter, `${V}/${pub.body.id}`, '概要.pdf', '%PDF-1.4')).status, 201);
  const seen = await staff.api('GET', `${V}/${pub.body.id}/attachments`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.can_add, false);
  assert.equal((await upload(staff, `${V}/${pub.body.id}`, 'x.pdf', '%PDF-')).status, 403);
});

test('files change only while the version is 起案: never once it is in force', async () => {
  const base = `${V}/${version.id}`;
  const sub = await drafter.api('PATCH', base, { version: version.version, status: 'review' });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  const inReview = await upload(drafter, base, '追加.pdf', '%PDF-');
  assert.equal(inReview.status, 409);
  assert.equal(inReview.body.errors[0].field, 'status');
  assert.match(inReview.body.detail, /「起案」の間だけ/);
  // Through the route (統括 → CISO) to 施行.
  assert.equal((await demo['k.watanabe'].api('POST', R, { doc_version: version.id, decision: 'approve' })).status, 201);
  assert.equal((await demo['s.kobayashi'].api('POST', R, { doc_version: version.id, decision: 'approve' })).status, 201);
  let cur = (await drafter.api('GET', base)).body;
  const approved = await drafter.api('PATCH', base, { version: cur.version, status: 'approved' });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const inForce = await demo['k.watanabe'].api('PATCH', base, { version: approved.body.version, status: 'in_force', effective_date: today });
  assert.equal(inForce.status, 200, JSON.stringify(inForce.body));
  const late = await upload(drafter, base, '追加.pdf', '%PDF-');
  assert.equal(late.status, 409);
  assert.match(late.body.detail, /施行/);
  assert.equal((await drafter.api('DELETE', `${base}/attachments/${pdfId}`)).status, 409);
  const list = (await drafter.api('GET', `${base}/attachments`)).body;
  assert.equal(list.can_add, false);
  assert.equal(list.can_remove, false);
  assert.match(list.refusal.ja, /施行/);
  // The file decided on is still there, unchanged.
  assert.equal(sha256((await drafter.api('GET', `${base}/attachments/${pdfId}`)).body), sha256(pdf));
});

test('an attestation counts for its control only once a file is attached', async () => {
  const state = async () => {
    const s = await drafter.api('GET', '/api/v1/compliance');
    return s.body.controls.find((c) => c.id === 'C-6-1-02').evidence.find((e) => e.kind === 'attestation');
  };
  const att = await drafter.api('POST', E, { control: 'c_6_1_02', kind: 'attestation', result: 'pass', summary: '令和8年度第1回委員会 議事録' });
  assert.equal(att.status, 201, JSON.stringify(att.body));
  let e = await state();
  assert.equal(e.state, 'missing');
  assert.equal(e.unattached, 1);
  assert.equal(e.record, null);

  // Only the one who recorded it attaches (evidence is immutable: create, not update).
  const other = await upload(demo['m.suzuki'], `${E}/${att.body.id}`, '議事録.pdf', '%PDF-1.5');
  assert.equal(other.status, 403);
  const minutes = Buffer.from('%PDF-1.5\n第1回情報セキュリティ委員会 議事録\n', 'utf8');
  const ok = await upload(drafter, `${E}/${att.body.id}`, '第1回委員会議事録.pdf', minutes);
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  e = await state();
  assert.equal(e.state, 'fresh');
  assert.equal(e.record.id, att.body.id);
  assert.equal(e.record.attachments, 1);
  assert.equal(e.unattached, undefined);
  // Evidence already counted keeps its files.
  const del = await drafter.api('DELETE', `${E}/${att.body.id}/attachments/${ok.body.id}`);
  assert.equal(del.status, 400);
  assert.match(del.body.detail, /削除できません/);
  assert.equal((await state()).state, 'fresh');

  // Every upload and deletion is in the audit chain with its hash, and the chain verifies.
  const audit = await drafter.api('GET', '/api/v1/audit?action=attach&limit=100');
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  const hashes = audit.body.items.map((i) => (typeof i.detail === 'string' ? JSON.parse(i.detail) : i.detail).sha256);
  assert.ok(hashes.includes(sha256(minutes)));
  assert.ok(hashes.includes(sha256(pdf)));
  const detached = await drafter.api('GET', '/api/v1/audit?action=detach&limit=100');
  assert.ok(detached.body.items.length >= 2);
  await srv.stop();
  const verify = mamori(['admin', 'verify-audit', '--db', srv.db]);
  assert.equal(verify.status, 0, verify.stderr + verify.stdout);
});
