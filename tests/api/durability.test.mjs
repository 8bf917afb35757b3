// kill -9 during a stream of writes: the database must open, pass PRAGMA integrity_check,
// and hold every write the server acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, mamori, loggedIn } from '../lib/mamori.mjs';

test('kill -9 during writes loses no acknowledged write', async () => {
  const first = await startServer({ config: 'rate_limit_per_second = 0\n' });
  const admin = await loggedIn(first, 'admin', 'sysadmin');
  const api = (_base, ...args) => admin.api(...args);
  const acknowledged = [];
  let stop = false;
  const writer = async (w) => {
    for (let i = 0; !stop; i++) {
      try {
        const r = await api(first.url, 'POST', '/api/v1/organization/units',
          { code: `K${w}-${i}`, name: `部局${w}-${i}`, kind: 'bureau' });
        if (r.status === 201) acknowledged.push(r.body.id);
      } catch {
        return; // the connection died with the server
      }
    }
  };
  const writers = [writer(0), writer(1), writer(2), writer(3)];
  await new Promise((r) => setTimeout(r, 1500));
  first.proc.kill('SIGKILL');
  const exit = await first.exited;
  stop = true;
  await Promise.all(writers);
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(acknowledged.length > 20, `only ${acknowledged.length} writes before the kill`);

  const check = mamori(['admin', 'check-db', '--db', first.db]);
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout.trim(), 'ok');

  const second = await startServer({ dir: first.dir });
  try {
    // Sessions live in the database: the same login goes on after the restart.
    admin.base = second.url;
    const all = await api(second.url, 'GET', '/api/v1/organization/units?limit=500&sort=code');
    let ids = new Set();
    for (let offset = 0; offset < all.body.total; offset += 500) {
      const page = await api(second.url, 'GET', `/api/v1/organization/units?limit=500&offset=${offset}`);
      page.body.items.forEach((i) => ids.add(i.id));
    }
    const lost = acknowledged.filter((id) => !ids.has(id));
    assert.deepEqual(lost, [], 'acknowledged writes missing after kill -9');
  } finally {
    await second.stop();
    second.cleanup();
  }
});
