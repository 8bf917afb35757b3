// `mamori monitor` as an operator runs it: the demo body's log, standard input, exit codes and
// error messages naming file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
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

test('Sigma rules: the shipped pack, unsupported rules listed, a broken rule exit 2 naming file and line', () => {
  // The shipped pack on the demo log: the one crossing is also the pack's RDP rule.
  let r = mamori(['monitor', '--topology', TOPOLOGY, '--rules', 'catalog/sigma', DEMO_LOG]);
  assert.equal(r.status, 0, r.stderr);
  const alerts = lines(r.stdout);
  assert.deepEqual(alerts.map((a) => a.kind).sort(), ['separation', 'sigma']);
  const sigma = alerts.find((a) => a.kind === 'sigma');
  assert.equal(sigma.severity, 'critical');
  assert.equal(sigma.rules[0].id, 'c733eb94-6d73-4739-ba93-1f5c3bdd50a3');
  assert.match(sigma.detail, /Sigma ルール「/);
  assert.match(r.stderr, /Sigma ルール \(Sigma rules\): 13 件を評価 \(evaluated\), 0 件は評価できません/);

  // A directory (read recursively): one rule used, one listed with file, line, id, title, reason.
  const dir = tempDir();
  const rules = path.join(dir, 'rules', 'sub');
  mkdirSync(rules, { recursive: true });
  writeFileSync(path.join(rules, 'a.yml'),
    'title: rdp\nid: r-1\nlogsource: {category: firewall}\ndetection:\n  s:\n    dst_port: 3389\n' +
    '  condition: s\nlevel: low\n---\ntitle: counted\nid: r-2\nlogsource: {category: firewall}\n' +
    'detection:\n  s:\n    dst_port: 22\n  condition: s | count() > 3\n');
  writeFileSync(path.join(rules, 'notes.txt'), 'not a rule');
  r = mamori(['monitor', '--topology', TOPOLOGY, '--rules', path.join(dir, 'rules'), DEMO_LOG]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).filter((a) => a.kind === 'sigma').map((a) => a.rules[0].id), ['r-1']);
  assert.match(r.stderr, /1 件を評価 \(evaluated\), 1 件は評価できません/);
  assert.match(r.stderr, /a\.yml:16: r-2 「counted」: 集計の条件.*\(aggregation conditions/);

  // Not YAML: exit 2 with file and line.
  const broken = path.join(dir, 'broken.yml');
  writeFileSync(broken, 'title: x\nlogsource: {category: dns}\ndetection: [\n');
  r = mamori(['monitor', '--topology', TOPOLOGY, '--rules', broken, DEMO_LOG]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /broken\.yml:4: /);
  // An empty directory is an error too.
  mkdirSync(path.join(dir, 'empty'));
  r = mamori(['monitor', '--topology', TOPOLOGY, '--rules', path.join(dir, 'empty'), DEMO_LOG]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /empty/);
});
