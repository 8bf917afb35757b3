// Generates the netcheck benchmark's network (docs/benchmarks.md, issue 7): a topology of four
// zones behind one firewall and a rule set of about N rules spread over user chains, written as
// iptables-save (fw.rules) and as nftables text (fw.nft, the same rules in nft syntax). The
// benchmark loads fw.nft into a network namespace and lists it with `nft -j list ruleset` to get
// the nftables JSON netcheck reads, so that file is the kernel's own output.
//
//   node bench/netcheck_gen.mjs OUTDIR [RULES=100000] [SEED=1]
//
// The shape is that of a large body's inter-zone firewall: FORWARD dispatches by interface pair
// to a chain per pair, which dispatches by source /24 to a chain per subnet (jump, and now and
// then goto), whose rules admit or refuse host-to-host services (single ports, multiport lists,
// ranges, ICMP), with RETURN, LOG and REJECT among them; port forwards (DNAT) in nat PREROUTING
// and masquerading towards the internet in POSTROUTING. Deterministic for a seed.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [outDir, rulesArg = '100000', seedArg = '1'] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node bench/netcheck_gen.mjs OUTDIR [RULES] [SEED]');
  process.exit(2);
}
const TARGET = Number(rulesArg);
let state = Number(seedArg) >>> 0;
const rand = () => {  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (list) => list[Math.floor(rand() * list.length)];

const ZONES = [
  { name: 'mynumber', label: 'マイナンバー利用事務系', iface: 'mn0', net: [10, 10] },
  { name: 'lgwan', label: 'LGWAN接続系', iface: 'lg0', net: [10, 20] },
  { name: 'inet', label: 'インターネット接続系', iface: 'in0', net: [10, 30] },
  { name: 'internet', label: 'インターネット', iface: 'wan0', net: null },
];
const PORTS = [22, 25, 53, 80, 110, 123, 143, 389, 443, 445, 636, 1433, 3306, 3389, 5432,
  8000, 8080, 8443, 9000, 10050];
const host = (zone) =>
  zone.net ? `${zone.net[0]}.${zone.net[1]}.${int(0, 255)}.${int(1, 254)}`
    : `203.0.${int(113, 113)}.${int(1, 254)}`;

// Rules as abstract records, rendered twice.
// {chain, src?, dst?, proto?, dport?: number|[lo,hi], dports?: number[], icmp?: string,
//  state?: string, iif?, oif?, target: ACCEPT|DROP|RETURN|LOG|REJECT|jump:X|goto:X}
const chains = new Map();  // name -> rules
const chainOrder = [];
const addChain = (name) => { chains.set(name, []); chainOrder.push(name); };
const rule = (chain, r) => chains.get(chain).push(r);

addChain('FORWARD');
rule('FORWARD', { state: 'RELATED,ESTABLISHED', target: 'ACCEPT' });
rule('FORWARD', { state: 'INVALID', target: 'DROP' });
const pairs = [];
for (const a of ZONES) for (const b of ZONES) if (a !== b) pairs.push([a, b]);
// Per pair: subnet chains of the source zone (the internet has none: one chain only).
const subnetChains = [];
for (const [a, b] of pairs) {
  const pair = `${a.iface.toUpperCase()}-${b.iface.toUpperCase()}`;
  addChain(pair);
  rule('FORWARD', { iif: a.iface, oif: b.iface, target: `jump:${pair}` });
  const subnets = a.net ? 64 : 1;
  for (let s = 0; s < subnets; s++) {
    const name = `${pair}-${s}`;
    addChain(name);
    const src = a.net ? `${a.net[0]}.${a.net[1]}.${s * 4}.0/22` : undefined;
    rule(pair, { src, target: `${rand() < 0.1 ? 'goto' : 'jump'}:${name}` });
    subnetChains.push({ name, a, b, src });
  }
  rule(pair, { target: 'jump:DROP-LOG' });
}
rule('FORWARD', { target: 'jump:DROP-LOG' });
addChain('DROP-LOG');
rule('DROP-LOG', { target: 'LOG' });
rule('DROP-LOG', { target: 'DROP' });

let count = [...chains.values()].reduce((n, rs) => n + rs.length, 0);
const nat = [];
for (let i = 0; i < 200; i++) {
  const inet = ZONES[2];
  nat.push({ dst: `198.51.100.${1 + (i % 250)}`, dport: 8000 + i, to: host(inet), toPort: pick([80, 443]) });
}
count += nat.length + 2;

// What the policy permits per pair of zones ([[allow]] entries); the rules of a pair admit only
// these services, except HOLES rules spread through the rule set that admit one that is not
// (a remote desktop port, SMB) and so are violations netcheck must find.
const ALLOWS = {
  'mynumber>lgwan': { tcp: [443, 8443] },
  'lgwan>mynumber': { tcp: [443] },
  'lgwan>inet': { tcp: [25, 80, 443, 8080] },
  'inet>internet': { tcp: [25, 80, 443], udp: [53, 123] },
  'internet>inet': { tcp: [25, 443] },
};
const HOLES = 20;
const holeEvery = Math.floor((TARGET - count) / HOLES);
let sinceHole = 0;
const perChain = Math.ceil((TARGET - count) / subnetChains.length);
for (const c of subnetChains) {
  const base = c.src ? c.src.split('.').slice(0, 3).map(Number) : null;
  const srcHost = () => (base ? `${base[0]}.${base[1]}.${base[2] + int(0, 3)}.${int(1, 254)}` : host(c.a));
  const allow = ALLOWS[`${c.a.name}>${c.b.name}`];
  for (let i = 0; i < perChain && count < TARGET; i++, count++) {
    const r = { src: `${srcHost()}/32`, dst: `${host(c.b)}/32` };
    if (++sinceHole >= holeEvery && allow) {
      sinceHole = 0;
      Object.assign(r, { proto: 'tcp', dport: pick([445, 3389]), target: 'ACCEPT' });
    } else if (allow) {
      const roll = rand();
      const proto = allow.udp && roll < 0.2 ? 'udp' : 'tcp';
      const ports = allow[proto];
      if (roll < 0.85 || ports.length < 2) Object.assign(r, { proto, dport: pick(ports) });
      else Object.assign(r, { proto, dports: ports });
      r.target = rand() < 0.9 ? 'ACCEPT' : pick(['DROP', 'REJECT', 'LOG', 'RETURN']);
    } else {
      // A pair the policy closes: block lists, logging and returns only.
      const roll = rand();
      if (roll < 0.3) Object.assign(r, { proto: 'tcp', dport: pick(PORTS) });
      else if (roll < 0.4) {
        const lo = int(1024, 60000);
        Object.assign(r, { proto: 'udp', dport: [lo, lo + int(1, 500)] });
      } else if (roll < 0.5) Object.assign(r, { proto: 'icmp', icmp: 'echo-request' });
      else if (roll < 0.6) { delete r.src; r.dst = `${host(c.b).split('.').slice(0, 3).join('.')}.0/24`; }
      r.target = pick(['DROP', 'DROP', 'REJECT', 'LOG', 'RETURN']);
    }
    rule(c.name, r);
  }
}

// iptables-save.
const ipt = [];
ipt.push('# Generated by bench/netcheck_gen.mjs', '*nat', ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]');
for (const n of nat) {
  ipt.push(`-A PREROUTING -d ${n.dst}/32 -i wan0 -p tcp -m tcp --dport ${n.dport} -j DNAT --to-destination ${n.to}:${n.toPort}`);
}
ipt.push('-A POSTROUTING -s 10.30.0.0/16 -o wan0 -j MASQUERADE',
  '-A POSTROUTING -s 10.20.0.0/16 -o wan0 -j MASQUERADE', 'COMMIT', '*filter',
  ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]');
for (const name of chainOrder) if (name !== 'FORWARD') ipt.push(`:${name} - [0:0]`);
const iptTarget = (t) => {
  if (t.startsWith('jump:')) return `-j ${t.slice(5)}`;
  if (t.startsWith('goto:')) return `-g ${t.slice(5)}`;
  if (t === 'REJECT') return '-j REJECT --reject-with icmp-port-unreachable';
  if (t === 'LOG') return '-j LOG --log-prefix "fw: "';
  return `-j ${t}`;
};
for (const name of chainOrder) {
  for (const r of chains.get(name)) {
    const p = [`-A ${name}`];
    if (r.src) p.push(`-s ${r.src}`);
    if (r.dst) p.push(`-d ${r.dst}`);
    if (r.iif) p.push(`-i ${r.iif}`);
    if (r.oif) p.push(`-o ${r.oif}`);
    if (r.proto) p.push(`-p ${r.proto}`);
    if (r.proto === 'icmp') p.push(`-m icmp --icmp-type 8`);
    else if (r.dports) p.push(`-m multiport --dports ${r.dports.join(',')}`);
    else if (Array.isArray(r.dport)) p.push(`-m ${r.proto} --dport ${r.dport[0]}:${r.dport[1]}`);
    else if (r.dport) p.push(`-m ${r.proto} --dport ${r.dport}`);
    if (r.state) p.push(`-m conntrack --ctstate ${r.state}`);
    p.push(iptTarget(r.target));
    ipt.push(p.join(' '));
  }
}
ipt.push('COMMIT', '');

// nftables text: one inet table, the same chains.
const nftName = (n) => n.toLowerCase().replaceAll('-', '_');
const nft = ['#!/usr/sbin/nft -f', 'table ip nat {', '\tchain prerouting {',
  '\t\ttype nat hook prerouting priority dstnat; policy accept;'];
for (const n of nat) {
  nft.push(`\t\tiifname "wan0" ip daddr ${n.dst} tcp dport ${n.dport} dnat to ${n.to}:${n.toPort}`);
}
nft.push('\t}', '\tchain postrouting {', '\t\ttype nat hook postrouting priority srcnat; policy accept;',
  '\t\toifname "wan0" ip saddr 10.30.0.0/16 masquerade',
  '\t\toifname "wan0" ip saddr 10.20.0.0/16 masquerade', '\t}', '}', 'table ip filter {');
const nftVerdict = (t) => {
  if (t.startsWith('jump:')) return `jump ${nftName(t.slice(5))}`;
  if (t.startsWith('goto:')) return `goto ${nftName(t.slice(5))}`;
  if (t === 'REJECT') return 'reject';
  if (t === 'LOG') return 'log prefix "fw: "';
  return t.toLowerCase();
};
// Regular chains first (nft needs a chain declared before a rule jumps to it).
for (const name of [...chainOrder.filter((n) => n !== 'FORWARD'), 'FORWARD']) {
  nft.push(`\tchain ${nftName(name)} {`);
  if (name === 'FORWARD') nft.push('\t\ttype filter hook forward priority filter; policy drop;');
  for (const r of chains.get(name)) {
    const p = [];
    if (r.iif) p.push(`iifname "${r.iif}"`);
    if (r.oif) p.push(`oifname "${r.oif}"`);
    if (r.src) p.push(`ip saddr ${r.src.replace('/32', '')}`);
    if (r.dst) p.push(`ip daddr ${r.dst.replace('/32', '')}`);
    if (r.proto === 'icmp') p.push('icmp type echo-request');
    else if (r.dports) p.push(`tcp dport { ${r.dports.join(', ')} }`);
    else if (Array.isArray(r.dport)) p.push(`${r.proto} dport ${r.dport[0]}-${r.dport[1]}`);
    else if (r.dport) p.push(`${r.proto} dport ${r.dport}`);
    if (r.state) p.push(`ct state ${r.state.toLowerCase()}`);
    p.push(nftVerdict(r.target));
    nft.push(`\t\t${p.join(' ')}`);
  }
  nft.push('\t}');
}
nft.push('}', '');

const topology = (format, config) => [
  '# The netcheck benchmark\'s network (bench/netcheck_gen.mjs).',
  ...ZONES.flatMap((z) => [`[zones.${z.name}]`, `description = "${z.label}"`,
    `networks = ["${z.net ? `${z.net[0]}.${z.net[1]}.0.0/16` : '0.0.0.0/0'}"]`, '']),
  '[devices.fw]', `format = "${format}"`, `config = "${config}"`,
  `interfaces = { ${ZONES.map((z) => `${z.iface} = "${z.name}"`).join(', ')} }`, '',
  ...Object.entries(ALLOWS).flatMap(([pair, services]) => {
    const [from, to] = pair.split('>');
    return Object.entries(services).flatMap(([proto, ports]) => ['[[allow]]',
      `from = "${from}"`, `to = "${to}"`, `proto = "${proto}"`, `dst_ports = [${ports.join(', ')}]`,
      'reason = "ベンチマーク"', '']);
  }),
].join('\n');

mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'fw.rules'), ipt.join('\n'));
writeFileSync(path.join(outDir, 'fw.nft'), nft.join('\n'));
writeFileSync(path.join(outDir, 'topology-iptables.toml'), topology('iptables-save', 'fw.rules'));
writeFileSync(path.join(outDir, 'topology-nft.toml'), topology('nft-json', 'fw.json'));
const rules = ipt.filter((l) => l.startsWith('-A ')).length;
console.log(`${outDir}: ${rules} rules in ${chainOrder.length} chains (fw.rules, fw.nft)`);
