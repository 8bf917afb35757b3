// Identity and access through a real server: the login flow with mandatory TOTP, cookies,
// CSRF, lockout, logout, administrator resets, the audit trail, and the role × endpoint
// matrix generated from catalog/permissions.toml.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startServer, createUser, Client, loggedIn, totp, mamori, ROOT, TEST_PASSWORD } from '../lib/mamori.mjs';

let srv;
let admin;
before(async () => {
  srv = await startServer({ config: 'rate_limit_per_second = 0\n' });
  admin = await loggedIn(srv, 'admin', 'sysadmin');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('without a session only health, the public policy and the UI are reachable', async () => {
  const anon = new Client(srv.url);
  assert.equal((await anon.api('GET', '/healthz')).status, 200);
  assert.equal((await anon.api('GET', '/api/v1/policy')).status, 200);
  assert.equal((await fetch(srv.url + '/')).status, 200);
  for (const p of ['/api/v1/meta', '/api/v1/dashboard', '/api/v1/organization/units', '/api/v1/users',
    '/api/v1/audit', '/api/v1/auth/me', '/api/v1/roles/holders?role=ciso']) {
    const r = await anon.api('GET', p);
    assert.equal(r.status, 401, p);
    assert.equal(r.body.code, 'unauthenticated', p);
  }
  assert.equal((await anon.api('POST', '/api/v1/organization/units', { code: 'X' })).status, 401);
});

test('first login: one-time password, new password, MFA enrollment with QR, recovery codes', async () => {
  const otp = createUser(srv.db, 'sato', 'staff', '佐藤 花子');
  const c = new Client(srv.url);
  const step = await c.api('POST', '/api/v1/auth/login', { login: 'sato', password: otp });
  assert.equal(step.status, 200);
  assert.deepEqual(step.body, { mfa_required: false, password_change_required: true, mfa_enrollment_required: true });
  const pre = step.headers.getSetCookie().find((x) => x.startsWith('mamori_pre='));
  assert.match(pre, /HttpOnly/);
  assert.match(pre, /SameSite=Strict/);
  assert.match(pre, /Path=\/api\/v1\/auth/);
  // MFA cannot be skipped, and enrollment needs the new password first.
  assert.equal((await c.api('POST', '/api/v1/auth/mfa/enroll', {})).status, 400);
  const weak = await c.api('POST', '/api/v1/auth/password', { new_password: 'password1234' });
  assert.equal(weak.status, 400);
  assert.equal(weak.body.errors[0].field, 'new_password');
  assert.equal((await c.api('POST', '/api/v1/auth/password', { new_password: TEST_PASSWORD })).status, 200);
  const enroll = await c.api('POST', '/api/v1/auth/mfa/enroll', {});
  assert.equal(enroll.status, 200);
  assert.match(enroll.body.qr_svg, /^<svg[^>]*>[\s\S]*<title>/);
  assert.match(enroll.body.otpauth_uri, /^otpauth:\/\/totp\/Mamori:sato\?secret=[A-Z2-7]+&issuer=Mamori/);
  assert.equal((await c.api('POST', '/api/v1/auth/mfa', { code: '000000' })).status, 401);
  await new Promise((r) => setTimeout(r, 1100));  // a failure delays the next attempt by 1 s
  const done = await c.api('POST', '/api/v1/auth/mfa', { code: totp(enroll.body.secret) });
  assert.equal(done.status, 200);
  assert.equal(done.body.recovery_codes.length, 10);
  const session = done.headers.getSetCookie().find((x) => x.startsWith('mamori_session='));
  assert.match(session, /HttpOnly/);
  assert.match(session, /SameSite=Strict/);
  const me = await c.api('GET', '/api/v1/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.user.name, '佐藤 花子');
  assert.deepEqual(me.body.roles.map((r) => r.role), ['staff']);
  assert.deepEqual(me.body.permissions.org_units, ['view']);
  assert.deepEqual(me.body.permissions.audit_log, []);
  // The one-time password is spent.
  assert.equal((await new Client(srv.url).api('POST', '/api/v1/auth/login', { login: 'sato', password: otp })).status, 401);
  // A recovery code logs in once (after the 1 s delay the failure above caused).
  await new Promise((r) => setTimeout(r, 1100));
  const again = new Client(srv.url);
  const second = await again.api('POST', '/api/v1/auth/login', { login: 'sato', password: TEST_PASSWORD });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.mfa_required, true);
  assert.equal((await again.api('POST', '/api/v1/auth/mfa', { recovery_code: done.body.recovery_codes[0].toLowerCase() })).status, 200);
});

test('state-changing requests need the CSRF token', async () => {
  const body = { code: 'CSRF', name: 'CSRF局', kind: 'bureau' };
  const none = await admin.api('POST', '/api/v1/organization/units', body, { 'x-csrf-token': '' });
  assert.equal(none.status, 403);
  const wrong = await admin.api('POST', '/api/v1/organization/units', body, { 'x-csrf-token': 'x'.repeat(43) });
  assert.equal(wrong.status, 403);
  assert.match(wrong.body.detail, /CSRF/);
  assert.equal((await admin.api('POST', '/api/v1/organization/units', body)).status, 201);
});

test('wrong passwords: one message for everything, growing delay, then 429 with Retry-After', async () => {
  createUser(srv.db, 'tanaka', 'staff');
  const c = new Client(srv.url);
  const unknown = await c.api('POST', '/api/v1/auth/login', { login: 'nobody-here', password: 'x'.repeat(12) });
  assert.equal(unknown.status, 401);
  const wrong = await c.api('POST', '/api/v1/auth/login', { login: 'tanaka', password: 'x'.repeat(12) });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.detail, unknown.body.detail);
  const locked = await c.api('POST', '/api/v1/auth/login', { login: 'tanaka', password: 'y'.repeat(12) });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) >= 1);
});

test('logout, and logout everywhere', async () => {
  const otp = createUser(srv.db, 'kato', 'staff');
  const a = new Client(srv.url);
  const { secret, recoveryCodes } = await a.firstLogin('kato', otp);
  const b = new Client(srv.url);
  await b.api('POST', '/api/v1/auth/login', { login: 'kato', password: TEST_PASSWORD });
  // The next code (the current one was used by the enrollment).
  const used = totp(secret, Date.now() / 1000, 1);
  assert.equal((await b.api('POST', '/api/v1/auth/mfa', { code: used })).status, 200);
  assert.equal((await a.api('DELETE', '/api/v1/auth/session')).status, 204);
  assert.equal((await a.api('GET', '/api/v1/auth/me')).status, 401);
  assert.equal((await b.api('GET', '/api/v1/auth/me')).status, 200);
  const c = new Client(srv.url);
  await c.api('POST', '/api/v1/auth/login', { login: 'kato', password: TEST_PASSWORD });
  // The code just used is spent (no replay; recomputing "the next code" here could give a newer
  // one if a 30-second step passed meanwhile): a recovery code here.
  assert.equal((await c.api('POST', '/api/v1/auth/mfa', { code: used })).status, 401);
  await new Promise((r) => setTimeout(r, 1100));  // a failure delays the next attempt by 1 s
  assert.equal((await c.api('POST', '/api/v1/auth/mfa', { recovery_code: recoveryCodes[1] })).status, 200);
  assert.equal((await c.api('DELETE', '/api/v1/auth/sessions')).status, 204);
  assert.equal((await b.api('GET', '/api/v1/auth/me')).status, 401);
});

test('an administrator reset forces a new password and MFA enrollment; not for oneself', async () => {
  const otp = createUser(srv.db, 'kimura', 'staff');
  const user = new Client(srv.url);
  await user.firstLogin('kimura', otp);
  const me = await user.api('GET', '/api/v1/auth/me');
  const reset = await admin.api('POST', `/api/v1/users/${me.body.user.id}/reset-credentials`, {});
  assert.equal(reset.status, 200);
  assert.equal((await user.api('GET', '/api/v1/auth/me')).status, 401);
  const step = await new Client(srv.url).api('POST', '/api/v1/auth/login', { login: 'kimura', password: reset.body.one_time_password });
  assert.equal(step.body.mfa_enrollment_required, true);
  const adminMe = await admin.api('GET', '/api/v1/auth/me');
  assert.equal((await admin.api('POST', `/api/v1/users/${adminMe.body.user.id}/reset-credentials`, {})).status, 403);
  const staff = await loggedIn(srv, 'staff-reset', 'staff');
  assert.equal((await staff.api('POST', `/api/v1/users/${me.body.user.id}/reset-credentials`, {})).status, 403);
});

test('who held a role on a date', async () => {
  const users = await admin.api('GET', '/api/v1/users?q=sato');
  const sato = users.body.items.find((u) => u.login === 'sato');
  const bureau = (await admin.api('POST', '/api/v1/organization/units', { code: 'H', name: '保有局', kind: 'bureau' })).body;
  const section = (await admin.api('POST', '/api/v1/organization/units', { code: 'H-1', name: '保有課', kind: 'section', parent: bureau.id })).body;
  const a = await admin.api('POST', '/api/v1/roles/assignments', {
    user: sato.id, role: 'security_manager', scope_kind: 'section', scope_unit: section.id,
    valid_from: '2026-04-01', valid_to: '2027-03-31' });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  const on = await admin.api('GET', `/api/v1/roles/holders?role=security_manager&unit=${section.id}&date=2026-10-01`);
  assert.deepEqual(on.body.items.map((i) => i.login), ['sato']);
  const before = await admin.api('GET', `/api/v1/roles/holders?role=security_manager&unit=${section.id}&date=2026-03-31`);
  assert.deepEqual(before.body.items, []);
  // Nobody grants a role to themselves.
  const adminMe = await admin.api('GET', '/api/v1/auth/me');
  const self = await admin.api('POST', '/api/v1/roles/assignments', {
    user: adminMe.body.user.id, role: 'ciso', scope_kind: 'body', valid_from: '2026-04-01' });
  assert.equal(self.status, 400);
  assert.match(self.body.errors[0].message, /自分自身/);
});

test('the audit trail records logins and writes; verify-audit detects tampering', async () => {
  const log = await admin.api('GET', '/api/v1/audit?action=login&limit=500');
  assert.equal(log.status, 200);
  assert.ok(log.body.items.some((e) => e.actor === 'sato'));
  const failed = await admin.api('GET', '/api/v1/audit?action=login_failed&limit=500');
  assert.ok(failed.body.items.some((e) => e.detail.reason === 'unknown_login'));
  const csv = await admin.api('GET', '/api/v1/audit/export?actor=admin');
  assert.equal(csv.status, 200);
  assert.ok(csv.body.toString('utf8').startsWith('\ufeff番号,日時,操作者'));
  const staff = await loggedIn(srv, 'staff-audit', 'staff');
  assert.equal((await staff.api('GET', '/api/v1/audit')).status, 403);

  assert.equal(mamori(['admin', 'verify-audit', '--db', srv.db]).status, 0);
  const sqlite = (sql) => spawnSync('sqlite3', [srv.db, sql], { encoding: 'utf8' });
  const edit = sqlite("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 3;");
  assert.equal(edit.status, 0, edit.stderr);
  const r = mamori(['admin', 'verify-audit', '--db', srv.db]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /first_bad_seq=3/);
  assert.match(r.stderr, /番号 3/);
});

// --- The role × endpoint matrix, generated from the permission table --------------------------

function permissionTable() {
  const text = readFileSync(path.join(ROOT, 'catalog/permissions.toml'), 'utf8');
  const roles = {};
  let role = null;
  for (const line of text.split('\n')) {
    const head = line.match(/^\[roles\.([a-z_]+)\]/);
    if (head) { role = head[1]; roles[role] = {}; continue; }
    const g = line.match(/^grants\s*=\s*\{(.*)\}\s*$/);
    if (g && role) {
      for (const m of g[1].matchAll(/"?([*a-z_]+)"?\s*=\s*"([^"]*)"/g)) {
        roles[role][m[1]] = m[2].split(/\s+/).filter(Boolean).map((a) => a.replace(':scope', ''));
      }
    }
  }
  return roles;
}

function allowed(table, role, resource, action) {
  const grants = table[role];
  const list = grants[resource] ?? (['audit_log', 'credentials', 'settings', 'service_accounts'].includes(resource) ? undefined : grants['*']);
  return (list ?? []).includes(action);
}

test('role × endpoint matrix matches catalog/permissions.toml', async () => {
  const table = permissionTable();
  assert.ok(Object.keys(table).length >= 12);
  // A record of each register to act on.
  const unit = (await admin.api('POST', '/api/v1/organization/units', { code: 'MX', name: '行列局', kind: 'bureau' })).body;
  const people = (await admin.api('GET', '/api/v1/users?limit=1')).body.items[0];
  const registers = [
    { key: 'org_units', path: 'organization/units', id: unit.id, body: { name: '行列局' }, create: { code: 'MX-N', name: 'x', kind: 'bureau' } },
    { key: 'users', path: 'users', id: people.id, body: { name: people.name }, create: { login: 'mx-new', name: 'x' } },
  ];
  const failures = [];
  for (const role of Object.keys(table)) {
    const c = await loggedIn(srv, `mx-${role.replace(/_/g, '-')}`, role);
    const check = (what, status, expect) => {
      const denied = status === 403;
      if (denied === expect) failures.push(`${role} ${what}: ${status} (expected ${expect ? 'allow' : 'deny'})`);
    };
    for (const r of registers) {
      check(`${r.key} view list`, (await c.api('GET', `/api/v1/${r.path}`)).status, allowed(table, role, r.key, 'view'));
      check(`${r.key} view one`, (await c.api('GET', `/api/v1/${r.path}/${r.id}`)).status, allowed(table, role, r.key, 'view'));
      check(`${r.key} history`, (await c.api('GET', `/api/v1/${r.path}/${r.id}/history`)).status, allowed(table, role, r.key, 'view'));
      check(`${r.key} export`, (await c.api('GET', `/api/v1/${r.path}/export?format=csv`)).status, allowed(table, role, r.key, 'export'));
      // Changes send a body that is valid but changes nothing (or is refused for other reasons);
      // only 403 counts as a denial.
      check(`${r.key} create`, (await c.api('POST', `/api/v1/${r.path}`, { ...r.create, nosuchfield: 1 })).status, allowed(table, role, r.key, 'create'));
      const current = await admin.api('GET', `/api/v1/${r.path}/${r.id}`);
      check(`${r.key} update`, (await c.api('PATCH', `/api/v1/${r.path}/${r.id}`, { version: current.body.version, ...r.body })).status, allowed(table, role, r.key, 'update'));
      check(`${r.key} archive`, (await c.api('POST', `/api/v1/${r.path}/${r.id}/archive`, { version: -1 })).status, allowed(table, role, r.key, 'archive'));
      check(`${r.key} import`, (await c.api('POST', `/api/v1/${r.path}/import?format=csv&dry_run=true`, 'x\r\n')).status, allowed(table, role, r.key, 'import'));
    }
    check('audit_log view', (await c.api('GET', '/api/v1/audit')).status, allowed(table, role, 'audit_log', 'view'));
    check('audit_log export', (await c.api('GET', '/api/v1/audit/export')).status, allowed(table, role, 'audit_log', 'export'));
    check('role_assignments view', (await c.api('GET', '/api/v1/roles/assignments')).status, allowed(table, role, 'role_assignments', 'view'));
    check('service_accounts view', (await c.api('GET', '/api/v1/service-accounts')).status, allowed(table, role, 'service_accounts', 'view'));
    check('service_accounts create', (await c.api('POST', '/api/v1/service-accounts', { name: '', purpose: '' })).status, allowed(table, role, 'service_accounts', 'create'));
    check('evidence view', (await c.api('GET', '/api/v1/compliance')).status, allowed(table, role, 'evidence', 'view'));
  }
  assert.deepEqual(failures, []);
});
