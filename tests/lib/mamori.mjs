// Starts a real `mamori serve` on an ephemeral loopback port with a temporary database, for
// API and end-to-end tests. MAMORI_BIN and MAMORI_ROOT come from CTest.
import { spawn, spawnSync } from 'node:child_process';
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

// Starts a server. Options: dir (reuse a folder and its database), config (TOML text).
export async function startServer({ dir = tempDir(), config = '', extraArgs = [] } = {}) {
  const db = path.join(dir, 'mamori.db');
  const cfg = path.join(dir, 'mamori.toml');
  writeFileSync(cfg, `[paths]\ncatalog = "${ROOT}/catalog"\nweb = "${ROOT}/web/dist"\n` +
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
      const m = out.match(/listening on (http:\/\/[^\s]+?)\/?\s/);
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
