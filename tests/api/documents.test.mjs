// Policy documents (issue 6) through a real server: a version taken through its 決裁 route with
// a deputy (代決) to 施行, the diff of two versions, acknowledgement by staff with completion by
// section, and non-public documents (対策基準) hidden from 一般職員.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { startServer, loggedIn, loggedInAs, mamori, api, ROOT } from '../lib/mamori.mjs';

let srv;
let drafter; // 総務課の担当 with the 統括's drafting authority (a test user)
const demo = {}; // the demo's people, logged in
let users;
let kihon;
let v1;

const D = '/api/v1/documents';
const V = '/api/v1/documents/versions';
const R = '/api/v1/documents/decisions';
const A = '/api/v1/documents/acknowledgements';
const hasPdftotext = () => {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const today = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);


before(async () => {
  srv = await startServer();
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  drafter = await loggedIn(srv, 'soumu-tanto', 'security_general');
  for (const login of ['s.kobayashi', 'k.watanabe', 'm.suzuki', 'y.yamamoto']) demo[login] = await loggedInAs(srv, login);
  users = Object.fromEntries((await drafter.api('GET', '/api/v1/users?limit=500')).body.items.map((u) => [u.login, u.id]));
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('a version goes through its route to 施行, the CISO step decided by a deputy', async () => {
  const d = await drafter.api('POST', D, { code: 'KIHON', title: '情報セキュリティ基本方針', kind: 'basic_policy' });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  kihon = d.body;
  const v = await drafter.api('POST', V, { document: kihon.id, body: '# 基本方針\n\n1 目的\n2 定義\n', change_summary: '制定' });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  assert.equal(v.body.name, 'KIHON 第1版');
  assert.equal(v.body.status, 'draft');
  v1 = v.body;
  const sub = await drafter.api('PATCH', `${V}/${v1.id}`, { version: v1.version, status: 'review' });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  assert.equal(sub.body.round, 1);

  // The drafter cannot decide; the 課長 decides step 1.
  const own = await drafter.api('POST', R, { doc_version: v1.id, decision: 'approve' });
  assert.equal(own.status, 400);
  const s1 = await demo['m.suzuki'].api('POST', R, { doc_version: v1.id, decision: 'approve', comment: '異議なし' });
  assert.equal(s1.status, 201, JSON.stringify(s1.body));
  assert.equal(s1.body.role, 'security_manager');
  const s2 = await demo['k.watanabe'].api('POST', R, { doc_version: v1.id, decision: 'approve' });
  assert.equal(s2.status, 201, JSON.stringify(s2.body));
  // The CISO is away: the 統括 decides in their place, naming them.
  const bad = await demo['k.watanabe'].api('POST', R, { doc_version: v1.id, decision: 'approve', deputy: true });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'absent_holder');
  const s3 = await demo['k.watanabe'].api('POST', R, { doc_version: v1.id, decision: 'approve', deputy: true, absent_holder: users['s.kobayashi'], comment: '出張のため代決' });
  assert.equal(s3.status, 201, JSON.stringify(s3.body));
  assert.equal(s3.body.step, 3);
  assert.equal(s3.body.role, 'ciso');
  assert.equal(s3.body.deputy, true);

  let cur = (await drafter.api('GET', `${V}/${v1.id}`)).body;
  const approved = await drafter.api('PATCH', `${V}/${v1.id}`, { version: cur.version, status: 'approved' });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  // Only a role with approve puts it in force; a section manager cannot.
  const early = await demo['m.suzuki'].api('PATCH', `${V}/${v1.id}`, { version: approved.body.version, status: 'in_force', effective_date: today });
  assert.equal(early.status, 403);
  const inForce = await demo['k.watanabe'].api('PATCH', `${V}/${v1.id}`, { version: approved.body.version, status: 'in_force', effective_date: today });
  assert.equal(inForce.status, 200, JSON.stringify(inForce.body));
  // The public basic policy as a standalone page for the body's website: rendered Markdown,
  // no script (its own CSP), raw HTML never passed through.
  const page = await drafter.api('GET', `/api/v1/documents/public?version=${v1.id}`);
  assert.equal(page.status, 200);
  const html = page.body.toString('utf8');
  assert.match(html, /<h1>情報セキュリティ基本方針<\/h1>/);
  assert.match(html, /<li>目的<\/li>|1 目的/);
  assert.match(html, new RegExp(`${today} 施行`));
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  // The same version as a PDF, generated on the server, for anyone who may read the version.
  const pdf = await demo['y.yamamoto'].api('GET', `/api/v1/documents/public.pdf?version=${v1.id}`);
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  assert.equal(pdf.body.subarray(0, 5).toString('latin1'), '%PDF-');
  const disposition = pdf.headers.get('content-disposition');
  assert.match(disposition, /^attachment; filename="[\w.-]+\.pdf"; filename\*=UTF-8''[\w%.-]+$/);
  assert.equal(decodeURIComponent(disposition.split("UTF-8''")[1]), '情報セキュリティ基本方針_KIHON_第1版.pdf');
  assert.match(pdf.body.toString('latin1'), /\/Type \/Pages[^>]*\/Count 1\b/);
  if (hasPdftotext()) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mamori-pdf-')), 'v1.pdf');
    fs.writeFileSync(file, pdf.body);
    const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, '');
    fs.rmSync(path.dirname(file), { recursive: true });
    assert.ok(text.includes('情報セキュリティ基本方針'), text);
    assert.ok(text.includes('基本方針1目的2定義'), text);
    assert.ok(text.includes('1/1'), text);
  }
  assert.equal((await drafter.api('GET', '/api/v1/documents/public.pdf?version=x')).status, 400);
  assert.equal((await drafter.api('GET', '/api/v1/documents/public.pdf?version=999999')).status, 404);
  assert.equal((await api(srv.url, 'GET', `/api/v1/documents/public.pdf?version=${v1.id}`)).status, 401);
  // The decisions are on record with their steps.
  const list = await drafter.api('GET', `${R}?doc_version=${v1.id}`);
  assert.deepEqual(list.body.items.map((x) => x.step).sort(), [1, 2, 3]);
  // Review reminders: with a one-month interval the version in force falls due within 30 days.
  assert.equal((await drafter.api('GET', '/api/v1/documents/reviews')).body.items.length, 0);
  const doc = (await drafter.api('GET', `${D}/${v1.document}`)).body;
  assert.equal((await drafter.api('PATCH', `${D}/${doc.id}`, { version: doc.version, review_months: 1 })).status, 200);
  const due = await drafter.api('GET', '/api/v1/documents/reviews');
  assert.equal(due.status, 200);
  assert.deepEqual(due.body.items.map((x) => [x.version, x.overdue]), [[v1.id, false]]);
  assert.equal((await demo['y.yamamoto'].api('GET', '/api/v1/documents/reviews')).status, 403);
});

test('staff acknowledge the version in force from their pending list; completion by section', async () => {
  const staff = demo['y.yamamoto'];
  const pending = await staff.api('GET', '/api/v1/documents/pending');
  assert.equal(pending.status, 200);
  assert.deepEqual(pending.body.items.map((x) => x.version), [v1.id]);
  const ack = await staff.api('POST', A, { doc_version: v1.id });
  assert.equal(ack.status, 201, JSON.stringify(ack.body));
  assert.equal(ack.body.user, users['y.yamamoto']);
  assert.equal((await staff.api('POST', A, { doc_version: v1.id })).status, 400);
  assert.equal((await staff.api('GET', '/api/v1/documents/pending')).body.items.length, 0);
  // Nobody acknowledges for someone else.
  const forged = await demo['m.suzuki'].api('POST', A, { doc_version: v1.id, user: users['y.yamamoto'] });
  assert.equal(forged.status, 400);

  const p = await demo['k.watanabe'].api('GET', `/api/v1/documents/progress?version=${v1.id}`);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const total = p.body.totals.users;
  assert.ok(total >= 8, String(total)); // the demo's seven and the test's drafter
  assert.equal(p.body.totals.acknowledged, 1);
  assert.equal(p.body.totals.percent, Math.floor((1000 / total)) / 10);
  assert.ok(!p.body.pending.some((x) => x.login === 'y.yamamoto'));
  assert.ok(p.body.pending.some((x) => x.login === 'm.suzuki'));
  const kyufu = p.body.sections.find((s) => s.name === '給付課');
  assert.equal(kyufu.acknowledged, 1); // the 係's member counts for the 課
  assert.equal((await demo['k.watanabe'].api('GET', '/api/v1/documents/progress?version=abc')).status, 400);
});

test('an officer reminds everyone in scope who has not acknowledged; 一般職員 may not (403)', async () => {
  const M = '/api/v1/documents/reminders';
  const officer = demo['k.watanabe'];
  const before = (await officer.api('GET', `/api/v1/documents/progress?version=${v1.id}`)).body;
  assert.equal(before.reminders.count, 0);
  assert.equal(before.reminders.last, null);
  // 一般職員 cannot send one, nor forge the count.
  const denied = await demo['y.yamamoto'].api('POST', M, { doc_version: v1.id });
  assert.equal(denied.status, 403, JSON.stringify(denied.body));
  const forged = await officer.api('POST', M, { doc_version: v1.id, recipients: 1 });
  assert.equal(forged.status, 400);
  assert.equal(forged.body.errors[0].field, 'recipients');

  const sent = await officer.api('POST', M, { doc_version: v1.id });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  assert.equal(sent.body.recipients, before.pending.length);
  assert.equal(sent.body.sent_by, users['k.watanabe']);
  assert.equal(sent.body.sent_on, today);
  // Recorded: the progress view, the audit trail, and each reminded person's pending list.
  const after = (await officer.api('GET', `/api/v1/documents/progress?version=${v1.id}`)).body;
  assert.equal(after.reminders.count, 1);
  assert.equal(after.reminders.last.recipients, before.pending.length);
  assert.equal(after.reminders.last.sent_by_name, '渡辺 恵子');
  const audit = await officer.api('GET', `/api/v1/audit?target=acknowledgement_reminders/${sent.body.id}`);
  assert.equal(audit.status, 200, JSON.stringify(audit.body));
  assert.equal(audit.body.items.length, 1);
  assert.equal(audit.body.items[0].action, 'create');
  assert.equal(audit.body.items[0].actor, 'k.watanabe');
  const suzuki = (await demo['m.suzuki'].api('GET', '/api/v1/documents/pending')).body.items;
  assert.equal(suzuki.length, 1);
  assert.equal(suzuki[0].reminder.sent_on, today);
  assert.equal(suzuki[0].reminder.count, 1);
  assert.equal(typeof suzuki[0].outstanding_days, 'number');
  // The one who acknowledged is not reminded.
  assert.equal((await demo['y.yamamoto'].api('GET', '/api/v1/documents/pending')).body.items.length, 0);
  // A version that is not in force cannot be reminded of.
  const notyet = await officer.api('POST', M, { doc_version: 999999 });
  assert.equal(notyet.status, 400);
  assert.equal(notyet.body.errors[0].field, 'doc_version');
});

test('a second version shows its diff; 対策基準 stay hidden from 一般職員', async () => {
  const v2 = await drafter.api('POST', V, { document: kihon.id, body: '# 基本方針\n\n1 目的\n2 用語の定義\n3 対象範囲\n', change_summary: '一部改正' });
  assert.equal(v2.status, 201);
  assert.equal(v2.body.version_no, 2);
  const diff = await drafter.api('GET', `/api/v1/documents/diff?from=${v1.id}&to=${v2.body.id}`);
  assert.equal(diff.status, 200, JSON.stringify(diff.body));
  assert.equal(diff.body.added, 2);
  assert.equal(diff.body.removed, 1);
  assert.deepEqual(diff.body.lines.filter((l) => l.op !== '=').map((l) => l.op + l.text), ['-2 定義', '+2 用語の定義', '+3 対象範囲']);

  const std = await drafter.api('POST', D, { code: 'STD', title: '情報セキュリティ対策基準', kind: 'standards' });
  assert.equal(std.status, 201);
  const sv = await drafter.api('POST', V, { document: std.body.id, body: '非公開の本文' });
  assert.equal(sv.status, 201);
  const staff = demo['y.yamamoto'];
  assert.equal((await staff.api('GET', `${D}/${std.body.id}`)).status, 404);
  assert.equal((await staff.api('GET', `${V}/${sv.body.id}`)).status, 404);
  const list = await staff.api('GET', D);
  assert.deepEqual(list.body.items.map((x) => x.code), ['KIHON']);
  assert.equal((await staff.api('GET', `/api/v1/documents/diff?from=${v1.id}&to=${sv.body.id}`)).status, 404);
  // Non-public documents have no public page and no PDF; a draft has neither either.
  assert.equal((await drafter.api('GET', `/api/v1/documents/public?version=${sv.body.id}`)).status, 400);
  const stdPdf = await drafter.api('GET', `/api/v1/documents/public.pdf?version=${sv.body.id}`);
  assert.equal(stdPdf.status, 400);
  assert.match(stdPdf.body.detail ?? stdPdf.body.title, /非公開/);
  assert.equal((await staff.api('GET', `/api/v1/documents/public.pdf?version=${sv.body.id}`)).status, 404);
  assert.equal((await drafter.api('GET', `/api/v1/documents/public?version=${v2.body.id}`)).status, 400);
  assert.equal((await drafter.api('GET', `/api/v1/documents/public.pdf?version=${v2.body.id}`)).status, 400);
  // The section manager has the need to know.
  assert.equal((await demo['m.suzuki'].api('GET', `${V}/${sv.body.id}`)).status, 200);
  // The version list leaves the body out.
  const vl = await drafter.api('GET', `${V}?document=${kihon.id}`);
  assert.equal(vl.body.total, 2);
  assert.ok(!('body' in vl.body.items[0]));
});
