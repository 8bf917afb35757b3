// mamori admin backup and restore on a real database: a backup taken while the server writes;
// a restore refused while a server uses the database, for a damaged, foreign or edited backup,
// and checked without --yes (nothing changed); with --yes the later changes are gone, the
// database before is kept, every session ends, and the audit log records what was undone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readFileSync, statSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { startServer, mamori, loggedIn, loggedInAs, createUser, tempDir, BIN, ROOT } from '../lib/mamori.mjs';

const U = '/api/v1/organization/units';
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

// Runs `mamori` without blocking the event loop (so that requests go on meanwhile).
function mamoriAsync(args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, args, { cwd: ROOT });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('backup while serving; restore only with the server stopped, checked, and recorded', async () => {
  const srv = await startServer({ config: 'rate_limit_per_second = 0\n' });
  const admin = await loggedIn(srv, 'admin', 'sysadmin');
  const backup = path.join(srv.dir, 'backup-1.db');
  let madeSha;
  try {
    for (const code of ['A1', 'A2']) {
      assert.equal((await admin.api('POST', U, { code, name: `部局${code}`, kind: 'bureau' })).status, 201);
    }
    // Writes go on while the backup is taken.
    let stop = false;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        if ((await admin.api('POST', U, { code: `W${i}`, name: `書込${i}`, kind: 'bureau' })).status === 201) written++;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const made = await mamoriAsync(['admin', 'backup', backup, '--db', srv.db]);
    stop = true;
    await writer;
    assert.equal(made.status, 0, made.stderr);
    assert.ok(written > 0, 'the server wrote while the backup was taken');
    madeSha = sha256(backup);
    assert.match(made.stdout, new RegExp(`SHA-256: ${madeSha}`));
    assert.match(made.stdout, /鍵 .*\.key はこのファイルに含まれません/);
    assert.equal(statSync(backup).mode & 0o777, 0o600);
    assert.equal(statSync(srv.db).mode & 0o777, 0o600);  // the database too: personal data
    // Never over an existing file (and no audit entry for a backup not made).
    const again = mamori(['admin', 'backup', backup, '--db', srv.db]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /既にある/);
    const audit = (await admin.api('GET', '/api/v1/audit?action=backup')).body.items;
    assert.equal(audit.length, 1, JSON.stringify(audit));

    // A change after the backup, to be undone.
    assert.equal((await admin.api('POST', U, { code: 'LATE', name: '後から', kind: 'bureau' })).status, 201);

    // Not while a server uses the database.
    const busy = mamori(['admin', 'restore', backup, '--db', srv.db, '--yes']);
    assert.equal(busy.status, 3);
    assert.match(busy.stderr, /サーバーを止めてから/);
  } finally {
    await srv.stop();
  }

  const units = () => {
    const out = path.join(srv.dir, `units-${Date.now()}.csv`);
    const r = mamori(['admin', 'export', out, '--db', srv.db, '--register', 'org_units']);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(out, 'utf8');
  };
  assert.match(units(), /LATE/);

  // A damaged backup, a text file, an edited audit chain and another body's database are
  // refused; nothing changes.
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
  // Someone with the file drops the guard and rewrites who made the first entry.
  const sql = spawnSync('sqlite3', [tampered,
    "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1;"], { encoding: 'utf8' });
  assert.equal(sql.status, 0, sql.stderr);
  const refused = mamori(['admin', 'restore', tampered, '--db', srv.db, '--yes']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /監査ログの連鎖が番号 1 で切れています/);
  const otherDir = tempDir();
  const otherDb = path.join(otherDir, 'other.db');
  createUser(otherDb, 'someone', 'sysadmin');
  const otherBackup = path.join(otherDir, 'other-backup.db');
  assert.equal(mamori(['admin', 'backup', otherBackup, '--db', otherDb]).status, 0);
  const foreign = mamori(['admin', 'restore', otherBackup, '--db', srv.db, '--yes']);
  assert.equal(foreign.status, 1);
  assert.match(foreign.stderr, /食い違います.*--force/);
  assert.match(units(), /LATE/);

  // Without --yes: checked, nothing changed (the database file is not even written).
  const dbSha = sha256(srv.db);
  const dry = mamori(['admin', 'restore', backup, '--db', srv.db]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /連鎖は切れていません/);
  assert.match(dry.stdout, /元に戻ります/);
  assert.match(dry.stdout, /まだ何も変えていません/);
  assert.equal(sha256(srv.db), dbSha);
  assert.match(units(), /LATE/);

  // With --yes: the change after the backup is gone, the database before is kept.
  const done = mamori(['admin', 'restore', backup, '--db', srv.db, '--yes']);
  assert.equal(done.status, 0, done.stderr);
  const after = units();
  assert.match(after, /A1/);
  assert.doesNotMatch(after, /LATE/);
  const kept = readdirSync(srv.dir).filter((f) => /^mamori\.db\.before-restore-\d{8}T\d{6}$/.test(f));
  assert.equal(kept.length, 1);
  assert.equal(readdirSync(srv.dir).filter((f) => f.includes('.restore-')).length, 0);
  assert.equal(statSync(srv.db).mode & 0o777, 0o600);
  const verify = mamori(['admin', 'verify-audit', '--db', srv.db]);
  assert.equal(verify.status, 0, verify.stderr);
  assert.ok(existsSync(path.join(srv.dir, kept[0])));
  assert.equal(sha256(backup), madeSha);  // the backup itself was only read

  // The server starts on the restored database. Every session ended with the restore (one
  // revoked after the backup must not come back): the administrator signs in again, and the
  // audit log records the backup and the restore with what it undid.
  const second = await startServer({ dir: srv.dir, config: 'rate_limit_per_second = 0\n' });
  try {
    admin.base = second.url;
    assert.equal((await admin.api('GET', U)).status, 401);
    const again = await loggedInAs(second, 'admin');
    const audit = (await again.api('GET', '/api/v1/audit?limit=50')).body.items;
    const actions = audit.map((e) => e.action);
    assert.ok(actions.includes('backup'), JSON.stringify(actions));
    const restore = audit.find((e) => e.action === 'restore');
    assert.ok(restore, JSON.stringify(actions));
    assert.equal(restore.detail.sha256, madeSha);
    assert.ok(restore.detail.sessions_ended >= 1);
    assert.ok(restore.detail.undone.create >= 1, JSON.stringify(restore.detail));
  } finally {
    await second.stop();
    second.cleanup();
  }
});
