// HTTPS with a certificate made here (as the body's own CA would issue one), Secure cookies,
// HSTS, and the refusal of plain HTTP beyond loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, createUser, tempDir, mamori, ROOT } from '../lib/mamori.mjs';

function request(url, { method = 'GET', body, ca, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

test('HTTPS: TLS with the configured certificate, HSTS, Secure cookies', async () => {
  const dir = tempDir();
  const key = path.join(dir, 'tls.key');
  const crt = path.join(dir, 'tls.crt');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
    '-out', crt, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
  { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const srv = await startServer({ dir, config: `tls_cert = "${crt}"\ntls_key = "${key}"\n` });
  try {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(crt);
    const health = await request(`${srv.url}/healthz`, { ca });
    assert.equal(health.status, 200);
    assert.match(health.headers['strict-transport-security'], /max-age=/);
    const otp = createUser(srv.db, 'tls-user', 'staff');
    const login = await request(`${srv.url}/api/v1/auth/login`, {
      method: 'POST', ca, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'tls-user', password: otp }) });
    assert.equal(login.status, 200, login.body);
    assert.ok(login.headers['set-cookie'].every((c) => /; Secure/.test(c)), login.headers['set-cookie'].join());
    // A client that does not trust the certificate gets no answer.
    await assert.rejects(request(`${srv.url}/healthz`));
    // Plain HTTP to the TLS port gets nothing useful either.
    const plain = await fetch(srv.url.replace('https:', 'http:') + '/healthz').then((r) => r.status, () => 'refused');
    assert.notEqual(plain, 200);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test('plain HTTP is refused beyond loopback unless allowed', () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'mamori.toml');
  spawnSync('sh', ['-c', `printf '[paths]\\ncatalog = "${ROOT}/catalog"\\n' > ${cfg}`]);
  const r = mamori(['serve', '--config', cfg, '--db', path.join(dir, 'm.db'), '--listen', '0.0.0.0:0'], { timeout: 10000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /allow_plain_http/);
});
