// `mamori netcheck` as an engineer runs it: exit codes and reports over the golden cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mamori, ROOT, tempDir } from '../lib/mamori.mjs';

const golden = (name) => path.join(ROOT, 'tests/golden/netsep', name, 'topology.toml');

test('a separated network: exit 0 and a JSON report that says ok', () => {
  const r = mamori(['netcheck', golden('clean_three_layer'), '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.result, 'ok');
  assert.deepEqual(report.violations, []);
});

test('a DNAT port forward into the My Number layer: exit 1, witness and rule in the Japanese report', () => {
  const r = mamori(['netcheck', golden('dnat_port_forward')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /違反: internet → mynumber/);
  assert.match(r.stdout, /fw\.rules:\d+ \(DNAT\)/);
  const json = JSON.parse(mamori(['netcheck', golden('dnat_port_forward'), '--format', 'json']).stdout);
  assert.equal(json.result, 'violations');
  assert.ok(json.violations[0].witness.translated);
});

test('an invalid topology: exit 2 naming the file and line', () => {
  const dir = tempDir();
  const bad = path.join(dir, 'topology.toml');
  writeFileSync(bad, '[zones.a]\nnetworks = ["10.0.0.0/8"]\n[zones.b]\nnetworks = ["10.300.0.0/16"]\n');
  const r = mamori(['netcheck', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /topology\.toml:4/);
});
