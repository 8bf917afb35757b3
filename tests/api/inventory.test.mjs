// The annual asset inventory (棚卸, issue 4) through a real server: a campaign per fiscal year
// checked against its period, confirmation by the section's own 情報セキュリティ管理者 only
// (scope, the person confirming, once per section), progress by bureau and section with the
// overdue list, and the confirmation reopened by archiving it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, loggedIn, loggedInAs, mamori, ROOT } from '../lib/mamori.mjs';

let srv;
let officer; // 統括情報セキュリティ責任者
let suzuki; // 情報セキュリティ管理者 of 資格保険料課 (J-SHIKAKU) in the demo
let ito; // 情報セキュリティ管理者 of 給付課 (J-KYUFU)
let units; // code -> id
let users; // login -> id
let campaign;
const C = '/api/v1/inventory/campaigns';
const F = '/api/v1/inventory/confirmations';
const P = '/api/v1/inventory/progress';

// The date in Japan, `days` from today, as YYYY-MM-DD.
const jstDate = (days = 0) => new Date(Date.now() + 9 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
const today = jstDate();
const fiscalYear = Number(today.slice(0, 4)) - (Number(today.slice(5, 7)) < 4 ? 1 : 0);
const firstDay = `${fiscalYear}-04-01`;
const lastDay = `${fiscalYear + 1}-03-31`;


before(async () => {
  srv = await startServer();
  for (const [file, reg] of [['organization', 'org_units'], ['users', 'users'], ['role_assignments', 'role_assignments'], ['assets', 'assets']]) {
    const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo', `${file}.csv`), '--register', reg, '--db', srv.db]);
    assert.equal(r.status, 0, r.stderr);
  }
  officer = await loggedIn(srv, 'officer', 'security_general');
  suzuki = await loggedInAs(srv, 'm.suzuki');
  ito = await loggedInAs(srv, 'h.ito');
  const u = await officer.api('GET', '/api/v1/organization/units?limit=500');
  units = Object.fromEntries(u.body.items.map((x) => [x.code, x.id]));
  const p = await officer.api('GET', '/api/v1/users?limit=500');
  users = Object.fromEntries(p.body.items.map((x) => [x.login, x.id]));
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('a campaign lies inside its fiscal year and gets its Japanese title', async () => {
  const bad = await officer.api('POST', C, { fiscal_year: fiscalYear, start_date: `${fiscalYear - 1}-12-01`, due_date: `${fiscalYear + 1}-04-01` });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  const fields = bad.body.errors.map((e) => e.field).sort();
  assert.deepEqual(fields, ['due_date', 'start_date']);
  assert.match(bad.body.errors.find((e) => e.field === 'start_date').message, new RegExp(`${firstDay}〜${lastDay}`));
  const reversed = await officer.api('POST', C, { fiscal_year: fiscalYear, start_date: lastDay, due_date: firstDay });
  assert.equal(reversed.status, 400);
  assert.match(reversed.body.errors[0].message, /開始日以降/);

  // Due yesterday (or on the first day when today is the first day): sections not yet confirmed are overdue.
  const due = jstDate(-1) >= firstDay ? jstDate(-1) : firstDay;
  const r = await officer.api('POST', C, { fiscal_year: fiscalYear, start_date: firstDay, due_date: due });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.title, `令和${fiscalYear - 2018}年度 情報資産棚卸`);
  campaign = r.body;
  // A section manager may read campaigns but not start one.
  const denied = await suzuki.api('POST', C, { fiscal_year: fiscalYear + 1, start_date: `${fiscalYear + 1}-04-01`, due_date: `${fiscalYear + 1}-06-30` });
  assert.equal(denied.status, 403);
});

test('progress lists every section by bureau with its managers and asset counts', async () => {
  const r = await officer.api('GET', P);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.campaign.id, campaign.id);
  assert.equal(r.body.totals.assets, 24); // the demo register
  assert.equal(r.body.totals.confirmed, 0);
  const shikaku = r.body.sections.find((s) => s.code === 'J-SHIKAKU');
  assert.deepEqual(shikaku.managers, ['鈴木 真理']);
  assert.ok(shikaku.assets > 0);
  assert.equal(shikaku.state, campaign.due_date < today ? 'overdue' : 'pending');
  assert.equal(shikaku.can_confirm, false, 'the general officer is not the section manager');
  // Every section's bureau is summed once; bureau totals add up to the whole.
  const sum = (k) => r.body.bureaus.reduce((n, b) => n + b[k], 0);
  assert.equal(sum('sections'), r.body.totals.sections);
  assert.equal(sum('assets'), 24);
  assert.equal(r.body.sections.length, r.body.totals.sections);
  // A section manager sees only their own section, and may confirm it.
  const own = await suzuki.api('GET', P);
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(own.body.sections.map((s) => s.code), ['J-SHIKAKU']);
  assert.equal(own.body.sections[0].can_confirm, true);
  // The section's assets, which the manager checks in the asset list.
  const listed = await suzuki.api('GET', `/api/v1/assets?section=${own.body.sections[0].id}`);
  assert.equal(listed.body.total, own.body.sections[0].assets);
  assert.ok(listed.body.items.some((a) => a.confidentiality === '3'), 'including the section\'s 機密性3 assets');
  // An asset owned by a 係 counts for its 課室.
  const before = shikaku.assets;
  const grouped = await officer.api('POST', '/api/v1/assets', { name: '保険料係の収納簿', kind: 'info_paper', section: units['J-SHIKAKU-HOKEN'], confidentiality: '2', integrity: '1', availability: '1' });
  assert.equal(grouped.status, 201, JSON.stringify(grouped.body));
  const after = (await officer.api('GET', P)).body.sections.find((s) => s.code === 'J-SHIKAKU');
  assert.equal(after.assets, before + 1);
  assert.equal(after.changed, shikaku.changed + 1);
  // Bad and unknown years.
  assert.equal((await officer.api('GET', `${P}?fiscal_year=abc`)).status, 400);
  assert.equal((await officer.api('GET', `${P}?fiscal_year=2099`)).status, 404);
});

test('only the section manager confirms, for their own section, in their own name, once', async () => {
  const section = units['J-SHIKAKU'];
  // The general officer is not the section's manager.
  const byOfficer = await officer.api('POST', F, { campaign: campaign.id, section, result: 'no_change' });
  assert.equal(byOfficer.status, 403, JSON.stringify(byOfficer.body));
  // Another section's manager cannot confirm it (scope).
  const byIto = await ito.api('POST', F, { campaign: campaign.id, section, result: 'no_change' });
  assert.equal(byIto.status, 403, JSON.stringify(byIto.body));
  // Nobody confirms in another person's name (y.yamamoto works in 給付課, which h.ito sees).
  const spoof = await ito.api('POST', F, { campaign: campaign.id, section: units['J-KYUFU'], result: 'no_change', confirmed_by: users['y.yamamoto'] });
  assert.equal(spoof.status, 400, JSON.stringify(spoof.body));
  assert.deepEqual([...new Set(spoof.body.errors.map((e) => e.field))], ['confirmed_by']);
  assert.match(spoof.body.errors[0].message, /本人/);
  // Nor for a future date.
  const future = await suzuki.api('POST', F, { campaign: campaign.id, section, result: 'no_change', confirmed_on: jstDate(2) });
  assert.equal(future.status, 400);
  assert.ok(future.body.errors.some((e) => e.field === 'confirmed_on'));

  const ok = await suzuki.api('POST', F, { campaign: campaign.id, section, result: 'corrected', comment: '保管場所を2件修正' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.confirmed_by, users['m.suzuki']);
  assert.equal(ok.body.confirmed_on, today);
  const direct = (await officer.api('GET', `/api/v1/assets?section=${section}`)).body.total;
  const inGroups = (await officer.api('GET', `/api/v1/assets?section=${units['J-SHIKAKU-HOKEN']}`)).body.total +
    (await officer.api('GET', `/api/v1/assets?section=${units['J-SHIKAKU-SHIKAKU']}`)).body.total;
  assert.equal(ok.body.asset_count, direct + inGroups);

  const twice = await suzuki.api('POST', F, { campaign: campaign.id, section, result: 'no_change' });
  assert.equal(twice.status, 400);
  assert.match(twice.body.errors[0].message, /確認済み/);

  const progress = await officer.api('GET', P);
  const shikaku = progress.body.sections.find((s) => s.code === 'J-SHIKAKU');
  assert.equal(shikaku.state, 'confirmed');
  assert.equal(shikaku.confirmation.confirmed_by_name, '鈴木 真理');
  assert.equal(shikaku.confirmation.result, 'corrected');
  assert.equal(progress.body.totals.confirmed, 1);
  const bureau = progress.body.bureaus.find((b) => b.id === shikaku.bureau);
  assert.equal(bureau.confirmed, 1);
  // The rest are overdue (due yesterday) or pending.
  const open = progress.body.sections.filter((s) => s.state !== 'confirmed').map((s) => s.state);
  assert.ok(open.length > 0);
  assert.ok(open.every((st) => st === (campaign.due_date < today ? 'overdue' : 'pending')));
  assert.equal(progress.body.totals.overdue + progress.body.totals.pending + 1, progress.body.totals.sections);
  // The confirmation is in the audit trail as the manager's act.
  const audit = await officer.api('GET', '/api/v1/audit?action=create');
  assert.ok(audit.body.items.some((e) => e.target === `inventory_confirmations/${ok.body.id}` && e.actor === 'm.suzuki'));

  // The general officer reopens the section by archiving the confirmation; it can be confirmed again.
  const archived = await officer.api('POST', `${F}/${ok.body.id}/archive`, { version: ok.body.version });
  assert.equal(archived.status, 200, JSON.stringify(archived.body));
  const reopened = await suzuki.api('GET', P);
  assert.notEqual(reopened.body.sections[0].state, 'confirmed');
  assert.equal(reopened.body.sections[0].can_confirm, true);
  const again = await suzuki.api('POST', F, { campaign: campaign.id, section, result: 'no_change' });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  // With a new confirmation in place, the old one cannot come back.
  const restored = await officer.api('POST', `${F}/${ok.body.id}/restore`, { version: archived.body.version });
  assert.equal(restored.status, 400, JSON.stringify(restored.body));
  assert.match(restored.body.errors[0].message, /確認済み/);

  // What a confirmation attests is fixed; the result and the comment may still be corrected.
  for (const change of [{ asset_count: 0 }, { confirmed_on: campaign.start_date }, { section: units['J-KYUFU'] }]) {
    const r = await suzuki.api('PATCH', `${F}/${again.body.id}`, { version: again.body.version, ...change });
    assert.ok([400, 403].includes(r.status), JSON.stringify(change) + JSON.stringify(r.body));
  }
  const fixed = await suzuki.api('PATCH', `${F}/${again.body.id}`, { version: again.body.version, result: 'corrected', comment: '1件修正' });
  assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
  // The campaign's period cannot move away from the confirmations made in it.
  if (today > firstDay) {
    const moved = await officer.api('PATCH', `${C}/${campaign.id}`, { version: campaign.version, start_date: jstDate(1) <= lastDay ? jstDate(1) : lastDay });
    assert.equal(moved.status, 400, JSON.stringify(moved.body));
    assert.ok(moved.body.errors.some((e) => /確認済みの課室があります/.test(e.message)), JSON.stringify(moved.body));
  }
});

test('a confirmation records the real count and date: neither can be supplied', async () => {
  const section = units['J-KYUFU'];
  const forged = await ito.api('POST', F, { campaign: campaign.id, section, result: 'no_change', asset_count: 0 });
  assert.equal(forged.status, 400, JSON.stringify(forged.body));
  assert.equal(forged.body.errors[0].field, 'asset_count');
  if (campaign.start_date < today) {
    const backdated = await ito.api('POST', F, { campaign: campaign.id, section, result: 'no_change', confirmed_on: campaign.start_date });
    assert.equal(backdated.status, 400, JSON.stringify(backdated.body));
    assert.equal(backdated.body.errors[0].field, 'confirmed_on');
  }
});

test('roles outside the inventory neither change a campaign nor see the progress', async () => {
  const sysmgr = await loggedIn(srv, 'sys.manager', 'system_manager');
  const r = await sysmgr.api('PATCH', `${C}/${campaign.id}`, { version: campaign.version, due_date: lastDay });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal((await sysmgr.api('GET', P)).status, 403);
  const csirt = await loggedIn(srv, 'csirt1', 'csirt');
  assert.equal((await csirt.api('GET', P)).status, 403);
  assert.equal((await csirt.api('GET', F)).status, 403);
  assert.equal((await csirt.api('GET', C)).status, 200);
});

test('staff members see no inventory', async () => {
  const staff = await loggedIn(srv, 'staff1', 'staff');
  assert.equal((await staff.api('GET', P)).status, 403);
  assert.equal((await staff.api('GET', C)).status, 403);
});
