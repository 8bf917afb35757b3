// `mamori monitor` as an operator runs it: the demo body's log, standard input, exit codes and
// error messages naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mamori, tempDir } from '../lib/mamori.mjs';

const TOPOLOGY = 'examples/demo/network/topology.toml';
const DEMO_LOG = 'examples/demo/monitor/conn.log';
const lines = (text) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

test('the demo conn.log: exactly the one unauthorized crossing, lgwan → mynumber 3389', () => {
  const r = mamori(['monitor', '--topology', TOPOLOGY, DEMO_LOG]);
  assert.equal(r.status, 0, r.stderr);
  const alerts = lines(r.stdout);
  assert.equal(alerts.length, 1, r.stdout);
  const [a] = alerts;
  assert.equal(a.kind, 'separation');
  assert.equal(a.severity, 'critical');
  assert.equal(a.src, '10.20.3.15');
  assert.equal(a.dst, '10.10.1.20');
  assert.equal(a.dport, 3389);
  assert.equal(a.from_zone, 'lgwan');
  assert.equal(a.to_zone, 'mynumber');
  assert.deepEqual(a.evidence, [`${DEMO_LOG}:15 CdM7g`]);
  assert.match(r.stderr, /イベント \(events\): 8/);
  assert.match(r.stderr, /警告 \(alerts\): 1 \(separation 1\)/);
});

test('standard input, a blocklist and a malformed line reported with its line number', () => {
  const dir = tempDir();
  const blocklist = path.join(dir, 'bl.txt');
  writeFileSync(blocklist, '# test\n203.0.113.0/24\n');
  const input =
    '{"ts":1714523400,"uid":"C1","id.orig_h":"10.30.0.10","id.orig_p":1,"id.resp_h":"203.0.113.9","id.resp_p":443,"proto":"tcp","conn_state":"SF"}\n' +
    '{"ts":\n';
  const r = mamori(['monitor', '--topology', TOPOLOGY, '--blocklist', blocklist, '-'], { input });
  assert.equal(r.status, 0, r.stderr);
  const alerts = lines(r.stdout);
  assert.deepEqual(alerts.map((a) => a.kind), ['blocklist']);
  assert.match(r.stderr, /不正な行 \(malformed lines\): 1/);
  assert.match(r.stderr, /\(stdin\):2: /);
});

test('invalid blocklist, topology or option: exit 2 naming the file and line', () => {
  const dir = tempDir();
  const blocklist = path.join(dir, 'bl.txt');
  writeFileSync(blocklist, 'good.example\n10.0.0.1/8\n');
  let r = mamori(['monitor', '--topology', TOPOLOGY, '--blocklist', blocklist, DEMO_LOG]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bl\.txt:2: /);
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(topology, '[zones.a]\nnetworks = ["10.0.0.0/8"]\n[zones.b]\nnetworks = ["0.0.0.0/0"]\n' +
    '[devices.fw]\nformat = "iptables-save"\nconfig = "fw.rules"\ninterfaces = { x = "a", y = "b" }\n' +
    '[[allow]]\nfrom = "a"\nto = "b"\nreason = "r"\nport = 1\n');
  r = mamori(['monitor', '--topology', topology, DEMO_LOG]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /topology\.toml:13: /);
  r = mamori(['monitor', '--topology', TOPOLOGY, '--window', '0', DEMO_LOG]);
  assert.equal(r.status, 2);
  r = mamori(['monitor', '--topology', TOPOLOGY, path.join(dir, 'missing.log')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.log/);
});
