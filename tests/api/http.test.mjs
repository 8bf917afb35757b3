// HTTP behaviour of the real server: health, security headers, bad input, limits, timeouts,
// the connection cap, unknown routes, rate limiting and graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, api, loggedIn, mamori } from '../lib/mamori.mjs';

let srv;
let admin;  // a logged-in system administrator, for what passes the transport to the API
const U = '/api/v1/organization/units';
before(async () => {
  srv = await startServer();
  admin = await loggedIn(srv, 'admin', 'sysadmin');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('GET /healthz answers status and version', async () => {
  const r = await api(srv.url, 'GET', '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.match(r.body.version, /^\d+\.\d+\.\d+$/);
});

test('every response carries the security headers', async () => {
  for (const p of ['/healthz', '/api/v1/meta', '/nope', '/']) {
    const r = await fetch(srv.url + p);
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/, p);
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.doesNotMatch(csp, /unsafe-inline/, p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
  }
});

test('malformed JSON, wrong content type and deep nesting get 400 problem+json', async () => {
  const bad = await admin.api('POST', U, '{"code": "A",', { 'content-type': 'application/json' });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), 'application/problem+json');
  assert.equal(bad.body.detail, 'JSON の形式が正しくありません。');
  const notObject = await admin.api('POST', U, '[1,2]', { 'content-type': 'application/json' });
  assert.equal(notObject.status, 400);
  const wrongType = await admin.api('POST', U, '{"code":"A"}', { 'content-type': 'text/plain' });
  assert.equal(wrongType.status, 400);
  const deep = await admin.api('POST', U, '['.repeat(5000) + ']'.repeat(5000), { 'content-type': 'application/json' });
  assert.equal(deep.status, 400);
  assert.match(deep.body.detail, /入れ子/);
});

test('oversized bodies get 413 and the server stays up', async () => {
  // A Content-Length beyond the route's limit (1 MiB for JSON) is answered before the body is
  // read; the server then drains what the client still sends, so the client sees the answer.
  const big = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
  const r = await api(srv.url, 'POST', U, big, { 'content-type': 'application/json' });
  assert.equal(r.status, 413);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  assert.equal(r.body.status, 413);
  // A chunked body (no Content-Length) is stopped as it grows past the limit.
  const chunks = (async function* () {
    for (let i = 0; i < 32; i++) yield new Uint8Array(64 * 1024).fill(0x20);
  })();
  const chunked = await fetch(srv.url + U, {
    method: 'POST', body: chunks, duplex: 'half', headers: { 'content-type': 'application/json' },
  });
  assert.equal(chunked.status, 413);
  assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
});

test('a too large Content-Length with Expect: 100-continue gets 413, not 100', async () => {
  const res = await rawRequest(`POST ${U} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${2 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
  assert.match(res, /^HTTP\/1\.1 413/);
  assert.match(res, /\r\nConnection: close\r\n/i);
});

test('an import body above 1 MiB (the JSON limit) is read and imported', async () => {
  const lines = ['組織コード,名称,区分'];
  let bytes = 0;
  while (bytes < 3_000_000) {
    const n = lines.length;
    lines.push(`B${n},部局${n},部局`);
    bytes += Buffer.byteLength(lines[n]) + 2;
  }
  const rows = lines.length - 1;
  const r = await admin.api('POST', `${U}/import?format=csv`, lines.join('\r\n') + '\r\n');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.created, rows);
});

test('the larger limits of file uploads are for signed-in callers only', async () => {
  // 2 MiB without a session or token, or with a forged one, is refused on the header alone: a
  // stranger never gets an import's 64 MiB, an attachment's 20 MiB or evidence's 4 MiB read.
  const made = mamori(['admin', 'create-token', '--db', srv.db, '--name', 'limits', '--purpose', '上限の確認']);
  assert.equal(made.status, 0, made.stderr);
  const token = made.stdout.trim().split('\n').pop().trim();
  const post = (route, headers, first = false) => rawRequest(`POST ${route} HTTP/1.1\r\nHost: x\r\n` +
    `Content-Type: application/octet-stream\r\n${headers}Content-Length: ${2 * 1024 * 1024}\r\n` +
    'Expect: 100-continue\r\nConnection: close\r\n\r\n', srv.url, first);
  const routes = [`${U}/import?format=csv`, '/api/v1/documents/versions/1/attachments',
    '/api/v1/controls/evidence/1/attachments', '/api/v1/evidence'];
  for (const route of routes) {
    for (const headers of ['', 'Cookie: mamori_session=forged\r\n', 'Authorization: Bearer mamori_sa_1_forged\r\n']) {
      assert.match(await post(route, headers), /^HTTP\/1\.1 413/, `${route} ${headers}`);
    }
  }
  // Signed in (or, for evidence, with a valid token), the same size is let through (100 Continue).
  const cookie = `Cookie: ${admin.cookieHeader()}\r\n`;
  assert.match(cookie, /mamori_session=/);
  for (const route of routes.slice(0, 3)) {
    assert.match(await post(route, cookie, true), /^HTTP\/1\.1 100/, route);
  }
  assert.match(await post('/api/v1/evidence', `Authorization: Bearer ${token}\r\n`, true), /^HTTP\/1\.1 100/);
});

// Sends bytes as they are (fetch would normalize the target) and returns the raw answer.
// With `first`, returns the first bytes that arrive and closes the connection.
function rawRequest(text, url = srv.url, first = false) {
  return new Promise((resolve, reject) => {
    const s = net.connect(new URL(url).port, '127.0.0.1', () => s.write(text));
    let data = '';
    s.on('data', (d) => {
      data += d;
      if (first) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

test('oversized headers get 431', async () => {
  const res = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
  assert.match(res, /^HTTP\/1\.1 431/);
});

test('unknown routes get 404, wrong methods 405, bad ids 404', async () => {
  assert.equal((await admin.api('GET', '/api/v1/nosuch')).status, 404);
  assert.equal((await api(srv.url, 'GET', '/nosuch.html')).status, 404);
  assert.equal((await admin.api('GET', `${U}/abc`)).status, 404);
  assert.equal((await admin.api('GET', `${U}/999999`)).status, 404);
  const r = await admin.api('DELETE', `${U}/1`);
  assert.equal(r.status, 405);
  assert.match(r.headers.get('allow'), /PATCH/);
  const trav = await rawRequest('GET /assets/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(trav, /^HTTP\/1\.1 400/);
});

test('the UI is served with its assets', async () => {
  const r = await fetch(srv.url + '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  const html = await r.text();
  assert.doesNotMatch(html, /<script>(?!<\/script>)|<script\s[^>]*>[^<]+<\/script>/, 'no inline script');
  const src = html.match(/src="(\/assets\/[^"]+\.js)"/);
  assert.ok(src, 'a script asset');
  const js = await fetch(srv.url + src[1]);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control'), /immutable/);
});

test('per-client rate limit answers 429', async () => {
  const limited = await startServer({ config: 'rate_limit_per_second = 1\nrate_limit_burst = 3\n' });
  try {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(limited.url + '/healthz')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.includes(429), statuses.join());
  } finally {
    await limited.stop();
    limited.cleanup();
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Opens a connection and resolves once it is established.
function connect(url) {
  return new Promise((resolve, reject) => {
    const s = net.connect(new URL(url).port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

test('a new connection gets request_timeout for its first header, not keep_alive_timeout', async () => {
  const s = await startServer({ config: 'request_timeout_seconds = 1\nkeep_alive_timeout_seconds = 60\n' });
  try {
    // A client that sends part of its first header and then nothing is cut after ~1 s.
    const slow = await connect(s.url);
    const started = Date.now();
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    slow.resume();
    await Promise.race([new Promise((resolve) => slow.on('close', resolve)), sleep(5000)]);
    slow.destroy();
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 5000, `closed after ${waited} ms`);

    // Between requests on a connection that has served one, keep_alive_timeout applies.
    const kept = await connect(s.url);
    let data = '';
    kept.on('data', (d) => { data += d; });
    kept.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(1500);
    kept.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(200);
    assert.equal(data.match(/HTTP\/1\.1 200/g)?.length, 2, data);
    kept.destroy();
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('connections beyond max_connections get 503 and are closed', async () => {
  const s = await startServer({ config: 'max_connections = 2\n' });
  try {
    const held = [await connect(s.url), await connect(s.url)];
    await sleep(200);  // let the server accept both
    const refused = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', s.url);
    assert.match(refused, /^HTTP\/1\.1 503/);
    for (const c of held) c.destroy();
    // Once they are closed, new connections are served again.
    let status;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await sleep(20);
      status = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', s.url)
        .then((res) => Number(res.slice(9, 12)), () => 0);
    }
    assert.equal(status, 200);
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('SIGTERM lets the request in flight finish, then the server exits 0', async () => {
  const s = await startServer();
  try {
    let csv = '組織コード,名称,区分\r\n';
    for (let i = 0; i < 20000; i++) csv += `B${i},部局${i},部局\r\n`;
    const c = await loggedIn(s, 'admin', 'sysadmin');
    const inflight = c.api('POST', `${U}/import?format=csv`, csv);
    await new Promise((r) => setTimeout(r, 30));
    s.proc.kill('SIGTERM');
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body.created, 20000);
    const exit = await s.exited;
    assert.equal(exit.code, 0);
  } finally {
    s.cleanup();
  }
});
