// `mamori netcheck` as an engineer runs it: exit codes and reports over the golden cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
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

test('nftables (nft -j): a DNAT port forward, each path step naming the line and the rule handle', () => {
  const r = mamori(['netcheck', golden('nft_dnat_port_forward')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /違反: internet → mynumber/);
  assert.match(r.stdout, /fw\.json:41 \(ip nat prerouting handle 3\) \(DNAT\)/);
  assert.match(r.stdout, /fw\.json:431 \(inet filter forward handle 7\) \(ACCEPT\)/);
});

test('an invalid nft -j file: exit 2 naming the file, line and rule', () => {
  const dir = tempDir();
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(topology, '[zones.a]\nnetworks = ["10.0.0.0/8"]\n[zones.b]\nnetworks = ["0.0.0.0/0"]\n' +
    '[devices.fw]\nformat = "nft-json"\nconfig = "fw.json"\ninterfaces = { eth0 = "a", eth1 = "b" }\n');
  writeFileSync(path.join(dir, 'fw.json'), '{"nftables": [\n{"table": {"family": "inet", "name": "f"}},\n' +
    '{"rule": {"family": "inet", "table": "f", "chain": "forward", "handle": 4, "expr": []}}]}\n');
  const r = mamori(['netcheck', topology]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /fw\.json:3 \(inet f forward handle 4\)/);
});

test('an invalid topology: exit 2 naming the file and line', () => {
  const dir = tempDir();
  const bad = path.join(dir, 'topology.toml');
  writeFileSync(bad, '[zones.a]\nnetworks = ["10.0.0.0/8"]\n[zones.b]\nnetworks = ["10.300.0.0/16"]\n');
  const r = mamori(['netcheck', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /topology\.toml:4/);
});

test('--format html: one self-contained Japanese page, every configuration value escaped', () => {
  const r = mamori(['netcheck', golden('dnat_port_forward'), '--format', 'html']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^<!DOCTYPE html>/);
  assert.match(r.stdout, /1 件の許可されていない通信経路があります/);
  assert.match(r.stdout, /<td class="bad">許可外の通信あり<\/td>/);
  assert.match(r.stdout, /fw\.rules:6/);
  assert.doesNotMatch(r.stdout, /<script|src=|href=/);
  // A zone description is the operator's text: it is escaped, never markup.
  const dir = tempDir();
  const topology = path.join(dir, 'topology.toml');
  writeFileSync(path.join(dir, 'fw.rules'), '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');
  writeFileSync(topology, '[zones.a]\ndescription = "<script>alert(1)</script>"\nnetworks = ["10.0.0.0/8"]\n' +
    '[zones.b]\nnetworks = ["0.0.0.0/0"]\n[devices.fw]\nformat = "iptables-save"\nconfig = "fw.rules"\n' +
    'interfaces = { eth0 = "a", eth1 = "b" }\n');
  const clean = mamori(['netcheck', topology, '--format', 'html']);
  assert.equal(clean.status, 0, clean.stderr);
  assert.match(clean.stdout, /違反はありません/);
  assert.match(clean.stdout, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(clean.stdout, /<script>/);
});

test('the demo body\'s network (examples/demo/network) is separated; a port forward added to it is caught', () => {
  const demo = path.join(ROOT, 'examples/demo/network');
  const r = mamori(['netcheck', path.join(demo, 'topology.toml'), '--format', 'json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.result, 'ok');
  const reachable = report.matrix.filter((m) => m.reachable).map((m) => `${m.from}>${m.to}`).sort();
  assert.deepEqual(reachable, ['inet>internet', 'lgwan>inet', 'mynumber>lgwan']);
  // The same firewall with a "temporary" maintenance port forward from the internet.
  const dir = tempDir();
  cpSync(demo, dir, { recursive: true });
  const rules = readFileSync(path.join(dir, 'fw-core.rules'), 'utf8').replace(
    ':POSTROUTING ACCEPT [0:0]\n',
    ':POSTROUTING ACCEPT [0:0]\n-A PREROUTING -i wan0 -p tcp -m tcp --dport 10022 -j DNAT --to-destination 10.10.1.20:22\n');
  writeFileSync(path.join(dir, 'fw-core.rules'), rules.replace(
    '-A FORWARD -i mn0 -o lg0 -j MN-TO-LG\n',
    '-A FORWARD -i mn0 -o lg0 -j MN-TO-LG\n-A FORWARD -i wan0 -o mn0 -m conntrack --ctstate DNAT -j ACCEPT\n'));
  const hole = mamori(['netcheck', path.join(dir, 'topology.toml'), '--format', 'json']);
  assert.equal(hole.status, 1, hole.stderr);
  const v = JSON.parse(hole.stdout).violations[0];
  assert.equal(v.from, 'internet');
  assert.equal(v.to, 'mynumber');
  assert.equal(v.witness.translated.dst, '10.10.1.20');
  assert.equal(v.witness.translated.dport, 22);
});
