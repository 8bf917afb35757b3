// mamori admin backup and restore on a real database: a backup taken while the server runs
// and writes, a restore refused while a server uses the database, checked without --yes,
// refused for a damaged or tampered backup, and done with --yes: later changes gone, the
// database before kept, the audit chain intact with the restore recorded, and the users'
// sessions and MFA still working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readFileSync, statSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { startServer, mamori, loggedIn } from '../lib/mamori.mjs';

const U = '/api/v1/organization/units';
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('backup while serving; restore only with the server stopped, checked, and recorded', async () => {
  const srv = await startServer({ config: 'rate_limit_per_second = 0\n' });
  const admin = await loggedIn(srv, 'admin', 'sysadmin');
  let madeSha;
  try {
    for (const code of ['A1', 'A2']) {
      assert.equal((await admin.api('POST', U, { code, name: `部局${code}`, kind: 'bureau' })).status, 201);
    }
    // Writes go on while the backup is taken.
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) await admin.api('POST', U, { code: `W${i}`, name: `書込${i}`, kind: 'bureau' });
    })();
    const backup = path.join(srv.dir, 'backup-1.db');
    const made = mamori(['admin', 'backup', backup, '--db', srv.db]);
    madeSha = sha256(backup);
    stop = true;
    await writer;
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`SHA-256: ${sha256(backup)}`));
    assert.match(made.stdout, /鍵 .*\.key はこのファイルに含まれません/);
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    // Never over an existing file.
    const again = mamori(['admin', 'backup', backup, '--db', srv.db]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /既にあります/);

    // A change after the backup, to be undone.
    assert.equal((await admin.api('POST', U, { code: 'LATE', name: '後から', kind: 'bureau' })).status, 201);

    // Not while a server uses the database.
    const busy = mamori(['admin', 'restore', backup, '--db', srv.db, '--yes']);
    assert.equal(busy.status, 3);
    assert.match(busy.stderr, /サーバーを止めてから/);
  } finally {
    await srv.stop();
  }

  const backup = path.join(srv.dir, 'backup-1.db');
  const units = () => {
    const out = path.join(srv.dir, `units-${Date.now()}.csv`);
    const r = mamori(['admin', 'export', out, '--db', srv.db, '--register', 'org_units']);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(out, 'utf8');
  };
  assert.match(units(), /LATE/);

  // A damaged backup and one whose audit chain was edited are refused; nothing changes.
  const damaged = path.join(srv.dir, 'damaged.db');
  copyFileSync(backup, damaged);
  const bytes = readFileSync(damaged);
  bytes.fill(0x5a, 4096 * 2, 4096 * 2 + 64);
  writeFileSync(damaged, bytes);
  const bad = mamori(['admin', 'restore', damaged, '--db', srv.db, '--yes']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /壊れています|読めません/);
  const notDb = path.join(srv.dir, 'note.txt');
  writeFileSync(notDb, 'これはデータベースではありません\n'.repeat(50));
  assert.equal(mamori(['admin', 'restore', notDb, '--db', srv.db, '--yes']).status, 1);
  const tampered = path.join(srv.dir, 'tampered.db');
  copyFileSync(backup, tampered);
  // Someone with the file drops the guard and rewrites who did the first entry.
  const sql = spawnSqlite(tampered,
    "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1;");
  assert.equal(sql.status, 0, sql.stderr);
  const refused = mamori(['admin', 'restore', tampered, '--db', srv.db, '--yes']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /監査ログの連鎖が番号 1 で切れています/);
  assert.match(units(), /LATE/);

  // Without --yes: checked, nothing changed.
  const dry = mamori(['admin', 'restore', backup, '--db', srv.db]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /連鎖は切れていません/);
  assert.match(dry.stdout, /まだ何も変えていません/);
  assert.match(units(), /LATE/);

  // With --yes: the change after the backup is gone, the database before is kept.
  const done = mamori(['admin', 'restore', backup, '--db', srv.db, '--yes']);
  assert.equal(done.status, 0, done.stderr);
  const after = units();
  assert.match(after, /A1/);
  assert.doesNotMatch(after, /LATE/);
  const kept = readdirSync(srv.dir).filter((f) => f.startsWith('mamori.db.before-restore-'));
  assert.equal(kept.length, 1);
  assert.equal(readdirSync(srv.dir).filter((f) => f.includes('.restore-')).length, 0);
  const verify = mamori(['admin', 'verify-audit', '--db', srv.db]);
  assert.equal(verify.status, 0, verify.stderr);
  assert.ok(existsSync(path.join(srv.dir, kept[0])));
  assert.equal(sha256(backup), madeSha);  // the backup itself was only read

  // The server starts on the restored database; the administrator's session still works and
  // the audit log records the backup and the restore.
  const second = await startServer({ dir: srv.dir, config: 'rate_limit_per_second = 0\n' });
  try {
    admin.base = second.url;
    const audit = await admin.api('GET', '/api/v1/audit?limit=20');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const actions = audit.body.items.map((e) => e.action);
    assert.ok(actions.includes('restore'), JSON.stringify(actions));
    assert.ok(actions.includes('backup'), JSON.stringify(actions));
    const restoreEntry = audit.body.items.find((e) => e.action === 'restore');
    assert.equal(restoreEntry.detail.sha256, sha256(backup));
  } finally {
    await second.stop();
    second.cleanup();
  }
});

// Runs SQL on a database file with the sqlite3 command-line shell.
function spawnSqlite(db, sql) {
  return spawnSync('sqlite3', [db, sql], { encoding: 'utf8' });
}
