// Starts a real `mamori serve` on an ephemeral loopback port with a temporary database, for
// API and end-to-end tests. MAMORI_BIN and MAMORI_ROOT come from CTest.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.MAMORI_BIN ?? path.resolve('build/release/src/cli/mamori');
export const ROOT = process.env.MAMORI_ROOT ?? path.resolve('.');

export function tempDir() {
  return mkdtempSync(path.join(tmpdir(), 'mamori-test-'));
}

// Runs `mamori` synchronously; returns {status, stdout, stderr}.
export function mamori(args, opts = {}) {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

// Creates a user with a role over the whole body in the database at `db` (before or while a
// server runs) and returns the one-time password (the last line the command prints).
export function createUser(db, login, role, name = login) {
  const r = mamori(['admin', 'create-user', '--db', db, '--login', login, '--role', role, '--name', name]);
  if (r.status !== 0) throw new Error(`create-user ${login}: ${r.stderr}`);
  return r.stdout.trim().split('\n').pop().trim();
}

// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) from a base32 secret, as an authenticator app.
export function totp(base32, unixSeconds = Date.now() / 1000, offsetSteps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const step = Math.floor(unixSeconds / 30) + offsetSteps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

export const TEST_PASSWORD = 'Kinugawa-Nikko 2026 Yuki!';

// A browser-like client: keeps cookies and sends the CSRF header on changes.
export class Client {
  constructor(base) { this.base = base; this.cookies = new Map(); }
  cookieHeader() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  remember(res) {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [pair, ...attrs] = c.split(';');
      const [k, v] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) this.cookies.delete(k.trim());
      else this.cookies.set(k.trim(), v.trim());
    }
  }
  async api(method, p, body, headers = {}) {
    const h = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    if (!['GET', 'HEAD'].includes(method) && this.cookies.has('mamori_csrf')) {
      h['x-csrf-token'] ??= this.cookies.get('mamori_csrf');
    }
    const init = { method, headers: h };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array || Buffer.isBuffer(body)) {
        init.body = body;
      } else {
        init.body = JSON.stringify(body);
        init.headers['content-type'] ??= 'application/json';
      }
    }
    const res = await fetch(this.base + p, init);
    this.remember(res);
    const buf = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') && buf.length ? JSON.parse(buf.toString('utf8')) : buf;
    return { status: res.status, headers: res.headers, body: parsed };
  }
  // The first login of a user with a one-time password: new password, MFA enrollment.
  // Returns the TOTP secret and the recovery codes.
  async firstLogin(login, otp, password = TEST_PASSWORD) {
    const step = await this.api('POST', '/api/v1/auth/login', { login, password: otp });
    if (step.status !== 200) throw new Error(`login ${login}: ${JSON.stringify(step.body)}`);
    if (step.body.password_change_required) {
      const pw = await this.api('POST', '/api/v1/auth/password', { new_password: password });
      if (pw.status !== 200) throw new Error(`password: ${JSON.stringify(pw.body)}`);
    }
    const enroll = await this.api('POST', '/api/v1/auth/mfa/enroll', {});
    if (enroll.status !== 200) throw new Error(`enroll: ${JSON.stringify(enroll.body)}`);
    const done = await this.api('POST', '/api/v1/auth/mfa', { code: totp(enroll.body.secret) });
    if (done.status !== 200) throw new Error(`mfa: ${JSON.stringify(done.body)}`);
    this.secret = enroll.body.secret;
    return { secret: enroll.body.secret, recoveryCodes: done.body.recovery_codes, password };
  }
}

// A client logged in as a new user with `role` (first login done).
export async function loggedIn(srv, login, role) {
  const otp = createUser(srv.db, login, role);
  const c = new Client(srv.url);
  await c.firstLogin(login, otp);
  return c;
}

// A client logged in as an existing user (e.g. one of the demo's), after an administrator's
// reset: only the roles that user already holds.
export async function loggedInAs(srv, login) {
  const r = mamori(['admin', 'reset-user', '--db', srv.db, '--login', login]);
  if (r.status !== 0) throw new Error(`reset-user ${login}: ${r.stderr}`);
  const c = new Client(srv.url);
  await c.firstLogin(login, r.stdout.trim().split('\n').pop().trim());
  return c;
}

// Starts a server. Options: dir (reuse a folder and its database), config (TOML text),
// catalog (another catalog folder).
export async function startServer({ dir = tempDir(), config = '', extraArgs = [], catalog = `${ROOT}/catalog` } = {}) {
  const db = path.join(dir, 'mamori.db');
  const cfg = path.join(dir, 'mamori.toml');
  writeFileSync(cfg, `[paths]\ncatalog = "${catalog}"\nweb = "${ROOT}/web/dist"\n` +
    `[server]\naccess_log = false\n${config}`);
  const proc = spawn(BIN, ['serve', '--config', cfg, '--db', db, '--listen', '127.0.0.1:0',
    ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (https?:\/\/[^\s]+?)\/?\s/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    url, dir, db, proc, exited,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

// fetch JSON helper: returns {status, headers, body} with body parsed when JSON.
export async function api(base, method, p, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array || Buffer.isBuffer(body)) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(base + p, init);
  const buf = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  const parsed = type.includes('json') ? JSON.parse(buf.toString('utf8')) : buf;
  return { status: res.status, headers: res.headers, body: parsed };
}
