// Fields a body adds without code (catalog/custom-fields.toml): they appear in the metadata
// and forms, import by their Japanese heading, search, filter and export like shipped fields,
// and a mistake in the file stops the start naming the line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, loggedIn, mamori, tempDir, ROOT } from '../lib/mamori.mjs';

let srv;
let officer;
const catalog = path.join(tempDir(), 'catalog');
const A = '/api/v1/assets';

before(async () => {
  cpSync(path.join(ROOT, 'catalog'), catalog, { recursive: true });
  writeFileSync(path.join(catalog, 'custom-fields.toml'), `
[[assets]]
name = "x_budget"
type = "text"
label = "予算科目"
label_en = "Budget code"
searchable = true

[[assets]]
name = "x_lease"
type = "enum"
label = "調達区分"
filterable = true
[[assets.options]]
value = "purchase"
label = "購入"
[[assets.options]]
value = "lease"
label = "リース"
`);
  srv = await startServer({ catalog });
  const r = mamori(['admin', 'import', path.join(ROOT, 'examples/demo/organization.csv'), '--db', srv.db, '--catalog', catalog]);
  assert.equal(r.status, 0, r.stderr);
  officer = await loggedIn(srv, 'officer', 'security_general');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('custom fields are fields like any other: metadata, import by heading, search, filter, export', async () => {
  const meta = await officer.api('GET', '/api/v1/meta');
  const fields = meta.body.registers.find((r) => r.key === 'assets').fields;
  assert.equal(fields.find((f) => f.name === 'x_budget').label.ja, '予算科目');
  assert.deepEqual(fields.find((f) => f.name === 'x_lease').options.map((o) => o.value), ['purchase', 'lease']);
  const csv = '資産名,種別,所管課,機密性,完全性,可用性,予算科目,調達区分\n' +
    '複合機,機器・設備,総務課,1,1,1,庁費-0042,リース\n' +
    'シュレッダー,機器・設備,総務課,1,1,1,庁費-0043,購入\n';
  const r = await officer.api('POST', `${A}/import?format=csv`, csv, { 'content-type': 'text/csv' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.created, 2);
  const found = await officer.api('GET', `${A}?q=${encodeURIComponent('庁費-0042')}`);
  assert.equal(found.body.total, 1);
  assert.equal(found.body.items[0].x_lease, 'lease');
  assert.equal((await officer.api('GET', `${A}?x_lease=purchase`)).body.items[0].name, 'シュレッダー');
  const bad = await officer.api('POST', A, { name: 'x', kind: 'equipment', section: found.body.items[0].section, confidentiality: '1', integrity: '1', availability: '1', x_lease: 'rent' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'x_lease');
  const out = await officer.api('GET', `${A}/export?format=csv`);
  assert.match(out.body.toString('utf8').split('\n')[0], /予算科目,調達区分/);
});

test('a mistake in custom-fields.toml names the file and line and stops the command', () => {
  const broken = path.join(tempDir(), 'catalog');
  cpSync(path.join(ROOT, 'catalog'), broken, { recursive: true });
  writeFileSync(path.join(broken, 'custom-fields.toml'), '[[assets]]\nname = "budget"\ntype = "text"\nlabel = "予算"\n');
  const r = mamori(['admin', 'check-db', '--db', path.join(tempDir(), 'x.db'), '--catalog', broken]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /custom-fields\.toml:2: .*x_ で始め/);
});

test('changing a stored custom field\'s type stops the start instead of storing values wrongly', () => {
  // The same database as the server above, whose x_budget column holds text.
  const changed = path.join(tempDir(), 'catalog');
  cpSync(catalog, changed, { recursive: true });
  writeFileSync(path.join(changed, 'custom-fields.toml'), '[[assets]]\nname = "x_budget"\ntype = "integer"\nlabel = "予算科目"\n');
  const r = mamori(['admin', 'check-db', '--db', srv.db, '--catalog', changed]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /x_budget\(予算科目\)の型が、保存済みのデータと合いません/);
  // Unchanged, the same database opens.
  assert.equal(mamori(['admin', 'check-db', '--db', srv.db, '--catalog', catalog]).status, 0);
});
