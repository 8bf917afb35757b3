// netcheck against the real Linux kernel: the kernel is the oracle.
//
// For every golden case of tests/golden/netsep/ whose device a loader can load (lib/lab.mjs
// LOADERS: iptables-save and nft-json), for MAMORI_KERNEL_CASES (default 20) random iptables-save
// cases (lib/rulegen.mjs; two in five with an ipset file) and MAMORI_KERNEL_NFT_CASES (default
// 10) random nftables cases (lib/nftgen.mjs) from MAMORI_KERNEL_SEED (default 1), and for the
// folders in MAMORI_KERNEL_DIRS (':'-separated), the test builds the topology in network
// namespaces (lib/lab.mjs), loads the same rules into the firewall namespace (after the device's
// ipset file, restored with `ipset restore`, when it has one), sends real first packets and
// checks that the kernel delivers exactly what `mamori netcheck` says. (A random nftables case is
// generated as the JSON that `nft -j -f` loads; netcheck reads what `nft -j list ruleset` prints
// once it is loaded, as on a real firewall.) MAMORI_KERNEL_ONLY=regex runs only the cases whose
// name (golden-…, case-…, random-…, random-nft-…) it matches; MAMORI_KERNEL_JOBS (default 2)
// cases run at a time; MAMORI_KERNEL_KEEP keeps the case files of a passing run.
//
//   1. Every witness netcheck reports is delivered to the zone the violation names, at the
//      translated address and port after DNAT. Witnesses come from the case as written, from the
//      case without its [[allow]] entries (so every reachable pair has one) and from two more
//      runs that allow the witnesses already found (so each path yields others: another port,
//      then another destination).
//      When the report lists unknown constructs (treated as "may match") a witness may rightly
//      be dropped by the kernel: that is noted, not failed.
//   2. No packet is delivered that netcheck excludes: for every probe the kernel delivers from
//      zone A to zone T, netcheck must say A → T is reachable; if it says A → T has no violation
//      the packet must lie inside the [[allow]] entries; and it must lie inside the `packets`
//      summary of some A → T leak of the run without allow entries (which covers everything
//      reachable). A summary is a product per protocol and may hold packets netcheck excludes,
//      so MAMORI_KERNEL_POINTS (default 8) deliveries per case are also checked exactly (point
//      checks): netcheck runs with [[allow]] entries that permit every packet from A to T but
//      that one, and must still report it.
//   Probes: the witnesses, and per ordered pair of zones random packets and boundary values
//   taken from the rules and the topology (each address and port a rule or allow entry names,
//   and its neighbours), plus packets to the source zone's own addresses (which only leave
//   through DNAT). Before the rules are loaded every probe is sent once without any (the
//   control pass): each must arrive in the zone of its destination, so a probe that the rules
//   stop was really stopped by the rules and not by the lab.
//   Each probe must be judged as the first packet of a new connection, alone: the probes go in
//   rounds in which none is the reply of another (lib: rounds()), the firewall's connection
//   table is emptied before each round, and every disagreement is confirmed by sending that
//   packet again alone after emptying it. Only the second answer counts.
//
// Runs as root only (network namespaces); otherwise every test is skipped, saying why. A failure
// prints the seed, the case, the packet and what each side said, and keeps the case's files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ROOT } from '../lib/mamori.mjs';
import {
  Lab, NETPROBE, iptablesRestore, nftListing, removeStaleNamespaces, run, skipReason, unsupported,
} from './lib/lab.mjs';
import { generateNftCase } from './lib/nftgen.mjs';
import { generateCase, rng } from './lib/rulegen.mjs';
import {
  PROTO, PROTO_NAME, allowedBy, intToIp, ipToInt, inPrefix, parsePrefix, readTopology,
  summaryPredicate, writeTopology, zoneOf,
} from './lib/topology.mjs';

const SEED = Number(process.env.MAMORI_KERNEL_SEED ?? 1) >>> 0;
const RANDOM_CASES = Number(process.env.MAMORI_KERNEL_CASES ?? 20);
const RANDOM_NFT_CASES = Number(process.env.MAMORI_KERNEL_NFT_CASES ?? 10);
const ONLY = process.env.MAMORI_KERNEL_ONLY ? new RegExp(process.env.MAMORI_KERNEL_ONLY) : null;
const SAMPLES_PER_PAIR = 20;
const POINT_CHECKS = Number(process.env.MAMORI_KERNEL_POINTS ?? 8);

const skip = skipReason();
if (skip) {
  console.log(`kernel test skipped: ${skip}`);
} else {
  removeStaleNamespaces();
  for (const [tool, why] of [
    [NETPROBE, 'build the netprobe target'],
    [BIN, 'build the mamori target'],
  ]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: ${why}`);
  }
  for (const [tool, pkg] of [[iptablesRestore(), 'iptables'], ['nft', 'nftables']]) {
    if (spawnSync(tool, ['--version']).error) {
      throw new Error(`${tool} is missing: install ${pkg} (scripts/setup.sh --test does)`);
    }
  }
  if (spawnSync('ipset', ['--version']).error) {
    throw new Error('ipset is missing: install ipset (scripts/setup.sh --test does)');
  }
}
const skipText = skip ? `kernel test skipped: ${skip}` : false;
const work = skip ? null : mkdtempSync(path.join(tmpdir(), 'mamori-kernel-'));
let failures = 0;
const totals = { cases: 0, probes: 0, witnesses: 0, dnat: 0, delivered: 0 };

// ---- netcheck ----

async function netcheck(topologyFile) {
  const r = await run(BIN, ['netcheck', topologyFile, '--format', 'json']);
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`mamori netcheck ${topologyFile}: exit ${r.status}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

function matrixOf(report) {
  const m = new Map();
  for (const e of report.matrix) m.set(`${e.from}>${e.to}`, e);
  return m;
}

// The probe for a witness, with what the kernel must deliver: zone, destination and port.
function witnessProbe(v, round) {
  const w = v.witness;
  const proto = PROTO[w.proto] ?? Number(w.proto);
  return {
    from: v.from,
    src: ipToInt(w.src),
    dst: ipToInt(w.dst),
    proto,
    sport: w.sport ?? 0,
    dport: w.dport ?? 0,
    icmpType: w.icmp_type ?? 0,
    expect: {
      zone: v.to,
      dst: ipToInt(w.translated?.dst ?? w.dst),
      dport: w.translated?.dport ?? w.dport ?? 0,
      round,
      path: v.path.map((s) => `${s.rule} ${s.action}`).join(', '),
    },
  };
}

// An [[allow]] that covers a witness, so that the next run finds another on the same path:
// `wide`, its port to every destination (its destination for other protocols), so the next
// witness has another port; otherwise its destination and port.
function pointAllow(v, wide) {
  const w = v.witness;
  const l4 = w.proto === 'tcp' || w.proto === 'udp';
  const a = { from: v.from, to: v.to, proto: PROTO[w.proto] ? w.proto : 'any' };
  if (!wide || !l4) a.dst = [w.translated?.dst ?? w.dst];
  if (l4) a.dst_ports = [w.translated?.dport ?? w.dport];
  a.reason = 'kernel test: witness already found';
  return a;
}

// Every address but `a`, as 32 prefixes.
function allBut(a) {
  const out = [];
  for (let len = 1; len <= 32; len++) {
    const mask = (~0 << (32 - len)) >>> 0;
    out.push(`${intToIp(((a ^ 2 ** (32 - len)) & mask) >>> 0)}/${len}`);
  }
  return out;
}

// [[allow]] entries from → to that permit every packet but `q` ({proto, src as sent, dst and
// dport as delivered}): what netcheck then reports for the pair is `q` itself (with any source
// port; tcp and udp also with destination port 0, and other protocols, which allow entries
// cannot name), so its summary says exactly whether netcheck lets `q` through.
function allButOne(from, to, q) {
  const base = { from, to, reason: 'kernel test: point check' };
  const src = [intToIp(q.src)];
  const dst = [intToIp(q.dst)];
  const out = [
    { ...base, proto: 'any', src: allBut(q.src) },
    { ...base, proto: 'any', src, dst: allBut(q.dst) },
  ];
  for (const name of ['tcp', 'udp', 'icmp']) {
    if (PROTO[name] !== q.proto) out.push({ ...base, proto: name, src, dst });
  }
  if (q.proto === PROTO.tcp || q.proto === PROTO.udp) {
    const ports = [];
    if (q.dport > 1) ports.push(q.dport === 2 ? 1 : `1-${q.dport - 1}`);
    if (q.dport < 65535) ports.push(q.dport === 65534 ? 65535 : `${q.dport + 1}-65535`);
    out.push({ ...base, proto: PROTO_NAME[q.proto], src, dst, dst_ports: ports });
  }
  return out;
}

// ---- probes ----

// Addresses a probe may use: routable unicast, outside the lab's link addresses (198.18/15).
const UNUSABLE = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/3', '198.18.0.0/15'].map(parsePrefix);
const usable = (a) => !UNUSABLE.some((p) => inPrefix(p, a));
const MULTICAST = parsePrefix('224.0.0.0/4');

// Addresses and ports the rules and the topology name, with their neighbours.
function boundaries(topology, rulesText) {
  const addresses = new Set();
  const ports = new Set();
  const addRange = (lo, hi) => {
    for (const a of [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1]) if (a >= 0 && a <= 0xffffffff) addresses.add(a >>> 0);
  };
  const addPrefix = (text) => {
    const p = parsePrefix(text);
    addRange(p.first, p.last);
  };
  for (const m of rulesText.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+\.\d+\.\d+\.\d+|\d+))?(?:-(\d+\.\d+\.\d+\.\d+))?/g)) {
    if (m[3]) addRange(ipToInt(m[1]), ipToInt(m[3]));
    else if (m[2]?.includes('.')) addRange(ipToInt(m[1]), ipToInt(m[1]));
    else addPrefix(m[2] ? `${m[1]}/${m[2]}` : m[1]);
  }
  const addPorts = (text) => {
    for (const n of String(text).split(/[,:-]/).filter(Boolean).map(Number)) {
      for (const p of [n - 1, n, n + 1]) if (p >= 1 && p <= 65535) ports.add(p);
    }
  };
  if (rulesText.trimStart().startsWith('{')) nftBoundaries(JSON.parse(rulesText), addRange, addPrefix, addPorts);
  for (const m of rulesText.matchAll(/--(?:dports?|sports?|ports|destination-ports?|source-ports?|to-ports)\s+(\S+)/g)) addPorts(m[1]);
  for (const m of rulesText.matchAll(/--to-destination\s+\S*?:(\S+)/g)) addPorts(m[1]);
  // ipset elements: "10.0.0.1,tcp:80", "10.0.0.1,udp:53-55", "10.0.0.1,443".
  for (const m of rulesText.matchAll(/,(?:(?:tcp|udp):)?(\d+(?:-\d+)?)(?=[,\s]|$)/gm)) addPorts(m[1]);
  for (const a of topology.allows) {
    for (const t of [...(a.src ?? []), ...(a.dst ?? [])]) addPrefix(t);
    for (const p of a.dst_ports ?? []) addPorts(p);
  }
  for (const z of topology.zones) for (const n of z.networks) addRange(n.first, n.last);
  return { addresses: [...addresses].filter(usable), ports: [...ports] };
}

// The prefixes, ranges and ports of an nft -j rule set (its plain addresses the caller's pattern
// finds): every number that is not a handle, priority or prefix length may be a port.
function nftBoundaries(json, addRange, addPrefix, addPorts) {
  const isIp = (v) => typeof v === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(v);
  const walk = (v, key) => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, key));
    if (typeof v === 'number') {
      if (!['handle', 'prio', 'len', 'json_schema_version'].includes(key)) addPorts(v);
      return undefined;
    }
    if (v === null || typeof v !== 'object') return undefined;
    if (v.prefix && isIp(v.prefix.addr)) addPrefix(`${v.prefix.addr}/${v.prefix.len}`);
    if (Array.isArray(v.range) && v.range.every(isIp)) addRange(ipToInt(v.range[0]), ipToInt(v.range[1]));
    for (const [k, x] of Object.entries(v)) walk(x, k);
    return undefined;
  };
  walk(json);
}

function randomIn(topology, zone, r) {
  const z = topology.zones.find((x) => x.name === zone);
  for (let i = 0; i < 500; i++) {
    const n = r.pick(z.networks);
    const a = (n.first + Math.floor(r.next() * (n.last - n.first + 1))) >>> 0;
    if (usable(a) && zoneOf(topology, a) === zone) return a;
  }
  return undefined;
}

// Random and boundary probes for every ordered pair of zones with a host, and to each zone's own
// named addresses (reachable elsewhere only through DNAT).
function sampleProbes(topology, rulesText, zones, r) {
  const { addresses, ports } = boundaries(topology, rulesText);
  const named = new Map(zones.map((z) => [z, addresses.filter((a) => zoneOf(topology, a) === z)]));
  const probes = [];
  const one = (from, src, dst) => {
    const roll = r.next();
    const proto = roll < 0.4 ? PROTO.tcp : roll < 0.65 ? PROTO.udp : roll < 0.85 ? PROTO.icmp : r.pick([0, 47, 50, 89, 253]);
    const l4 = proto === PROTO.tcp || proto === PROTO.udp;
    probes.push({
      from,
      src,
      dst,
      proto,
      sport: l4 ? (ports.length && r.chance(0.2) ? r.pick(ports) : r.int(1024, 49151)) : 0,
      dport: l4 ? (ports.length && r.chance(0.6) ? r.pick(ports) : r.int(1, 65535)) : 0,
      icmpType: proto === PROTO.icmp ? r.pick([8, 8, 8, 8, 13, 15, 17]) : 0, // the request types
    });
  };
  for (const from of zones) {
    for (const to of zones) {
      if (from === to) {
        for (const dst of r.shuffle(named.get(from)).slice(0, 8)) {
          for (let k = 0; k < 3; k++) one(from, named.get(from).length && r.chance(0.5) ? r.pick(named.get(from)) : randomIn(topology, from, r), dst);
        }
        continue;
      }
      for (let k = 0; k < SAMPLES_PER_PAIR; k++) {
        const src = named.get(from).length && r.chance(0.5) ? r.pick(named.get(from)) : randomIn(topology, from, r);
        const dst = named.get(to).length && r.chance(0.5) ? r.pick(named.get(to)) : randomIn(topology, to, r);
        if (src !== undefined && dst !== undefined) one(from, src, dst);
      }
    }
  }
  return probes;
}

const probeKey = (p) => [p.from, p.proto, p.src, p.dst, p.sport, p.dport, p.icmpType].join('|');

function show(p, d) {
  const name = PROTO_NAME[p.proto] ?? `proto ${p.proto}`;
  const l4 = p.proto === PROTO.tcp || p.proto === PROTO.udp;
  const head = l4
    ? `${name} ${intToIp(p.src)}:${p.sport} → ${intToIp(p.dst)}:${p.dport}`
    : `${name}${p.proto === PROTO.icmp ? ` type ${p.icmpType}` : ''} ${intToIp(p.src)} → ${intToIp(p.dst)}`;
  if (!d) return `${head} from zone ${p.from}`;
  const at = l4 ? `${intToIp(d.dst)}:${d.dport}` : intToIp(d.dst);
  return `${head} from zone ${p.from}, delivered to zone ${d.zone} as ${at}`;
}

// ---- one case ----

async function checkCase(t, c) {
  const started = Date.now();
  const topology = readTopology(readFileSync(c.topologyFile, 'utf8'));
  const why = unsupported(topology);
  if (why) {
    t.diagnostic(`${c.name}: not run in the kernel: ${why}`);
    return;
  }
  const device = topology.devices[0];
  const config = path.resolve(path.dirname(c.topologyFile), device.config);
  const rulesText = readFileSync(config, 'utf8');
  // The device's ipset file (`ipset save` output), restored before the rules.
  const ipset = device.ipset ? path.resolve(path.dirname(c.topologyFile), device.ipset) : undefined;
  const ipsetText = ipset ? readFileSync(ipset, 'utf8') : '';
  const dir = path.join(work, c.name);
  mkdirSync(dir, { recursive: true });
  const variant = (name, allows) => {
    const file = path.join(dir, name);
    writeFileSync(file, writeTopology({ ...topology, devices: [{ ...device, config, ipset }], allows }));
    return netcheck(file);
  };

  // netcheck: the case as written, without allows, and twice more allowing the witnesses found.
  const reports = await Promise.all([netcheck(c.topologyFile), variant('no-allow.toml', [])]);
  const report = reports[0];
  for (let round = 0; round < 2; round++) {
    const allows = reports.slice(1).flatMap((x, i) => x.violations.map((v) => pointAllow(v, i === 0)));
    reports.push(await variant(`round${round + 1}.toml`, allows));
  }
  const uncertain = report.unknown.length > 0;
  const matrix = matrixOf(report);
  const upper = new Map(); // "A>T" → predicates of the no-allow run's leaks
  for (const v of reports[1].violations) {
    const key = `${v.from}>${v.to}`;
    if (!upper.has(key)) upper.set(key, []);
    upper.get(key).push(summaryPredicate(topology, v.packets));
  }
  const problems = [];
  for (const [key, e] of matrixOf(reports[1])) {
    if (e.reachable !== matrix.get(key).reachable) {
      problems.push(`netcheck: ${key} reachable is ${matrix.get(key).reachable} with the allow entries but ${e.reachable} without`);
    }
  }

  // Probes: witnesses first, then samples; one per distinct packet.
  const zones = Object.values(device.interfaces);
  const r = rng(SEED ^ hash(c.name));
  const seen = new Set();
  const probes = [];
  const add = (p) => {
    const key = probeKey(p);
    if (seen.has(key) || !zones.includes(p.from)) return;
    seen.add(key);
    probes.push({ ...p, id: probes.length + 1 });
  };
  reports.forEach((rep, round) => rep.violations.forEach((v) => add(witnessProbe(v, round))));
  for (const p of sampleProbes(topology, `${rulesText}\n${ipsetText}`, zones, r)) add(p);
  if (probes.length > 60000) throw new Error(`${c.name}: too many probes`);

  // What each side says about one probe, given where the kernel delivered it: [] when they agree.
  const judge = (p, ds) => {
    const out = [];
    if (p.expect && !ds.some((d) => d.zone === p.expect.zone && d.dst === p.expect.dst &&
        (d.dport === p.expect.dport || !isL4(p)))) {
      const got = ds.length ? `; it arrived as ${ds.map((d) => show(p, d).replace(/.*delivered/, 'delivered')).join(', ')}` : '';
      out.push({
        witness: true,
        text: `witness ${show(p)} (report ${p.expect.round}, path ${p.expect.path}): netcheck says it reaches zone ${p.expect.zone} as ${intToIp(p.expect.dst)}${isL4(p) ? `:${p.expect.dport}` : ''}; the kernel did not deliver it there${got}`,
      });
    }
    for (const d of ds) {
      const key = `${p.from}>${d.zone}`;
      const pkt = { proto: p.proto, src: p.src, dst: d.dst, dport: isL4(p) ? d.dport : 0, icmpType: p.icmpType };
      const e = matrix.get(key);
      let text;
      if (!e || zoneOf(topology, d.dst) !== d.zone) {
        text = `lab: ${show(p, d)}: the destination is not in that zone`;
      } else if (!e.reachable) {
        text = `${show(p, d)}: netcheck says ${p.from} → ${d.zone} is not reachable`;
      } else if (!e.violation && !allowedBy(topology, p.from, d.zone, pkt)) {
        text = `${show(p, d)}: outside the [[allow]] entries, but netcheck reports no violation for ${key.replace('>', ' → ')}`;
      } else if (!(upper.get(key) ?? []).some((f) => f(pkt))) {
        text = `${show(p, d)}: outside every leak netcheck reports for ${key.replace('>', ' → ')} without allow entries (${reports[1].violations.filter((v) => `${v.from}>${v.to}` === key).map((v) => v.packets).join(' | ') || 'none'})`;
      }
      if (text) out.push({ witness: false, text });
    }
    return out;
  };

  const lab = new Lab(topology, c.name.replace(/[^a-z0-9]/gi, '').slice(-12));
  let received;
  let control;
  let confirmed = 0;
  let points = 0;
  try {
    await lab.up();
    // Control pass: without rules every probe reaches the zone of its destination.
    const expected = (p, ds) => zoneOf(topology, p.dst) === p.from ||
      ds.some((d) => d.zone === zoneOf(topology, p.dst) && d.dst === p.dst && d.dport === p.dport);
    control = await send(lab, [probes], 60);
    const lost = probes.filter((p) => !expected(p, control.get(p.id) ?? []));
    if (lost.length > 0) {
      const again = await send(lab, [lost], 600);
      for (const p of lost) {
        if (!expected(p, again.get(p.id) ?? [])) {
          problems.push(`lab: without any rule the kernel did not deliver ${show(p)} (not a netcheck finding)`);
        }
      }
    }
    const tracked = await lab.conntrackCount();
    if (tracked !== 0) problems.push(`lab: conntrack holds ${tracked} connections before the rules are loaded`);
    await lab.load(c.load ?? config, ipset);
    received = await send(lab, rounds(probes), 100, true);
    // Every disagreement is confirmed by sending that packet again alone, after emptying the
    // connection table: the second answer is final.
    // (Past 40 of them, the rest go again in rounds.)
    const suspects = probes.filter((p) => judge(p, received.get(p.id) ?? []).length > 0);
    const again = [...suspects.slice(0, 40).map((p) => [p]), ...rounds(suspects.slice(40))];
    const answers = await send(lab, again, 300, true);
    for (const p of suspects) received.set(p.id, answers.get(p.id) ?? []);
    confirmed = suspects.length;
    // Point checks: a few deliveries that the summaries accept are checked exactly (a summary is
    // a product per protocol, so it can hold packets netcheck does not let through). A delivery
    // netcheck excludes is sent again alone; only the second answer counts.
    const deliveries = probes.filter((p) => !p.expect && judge(p, received.get(p.id) ?? []).length === 0)
      .flatMap((p) => (received.get(p.id) ?? []).map((d) => ({ p, d })));
    const excluded = [];
    for (const [k, { p, d }] of r.shuffle(deliveries).slice(0, POINT_CHECKS).entries()) {
      const q = { proto: p.proto, src: p.src, dst: d.dst, dport: isL4(p) ? d.dport : 0, icmpType: p.icmpType };
      const point = await variant(`point${k + 1}.toml`, allButOne(p.from, d.zone, q));
      reports.push(point);
      const leaks = point.violations.filter((v) => v.from === p.from && v.to === d.zone);
      if (!leaks.some((v) => summaryPredicate(topology, v.packets)(q))) excluded.push({ p, d, report: reports.length - 1 });
    }
    points = Math.min(deliveries.length, POINT_CHECKS);
    if (excluded.length > 0) {
      const again = await send(lab, excluded.map(({ p }) => [p]), 300, true);
      for (const { p, d, report: n } of excluded) {
        if ((again.get(p.id) ?? []).some((x) => x.zone === d.zone && x.dst === d.dst && x.dport === d.dport)) {
          problems.push(`${show(p, d)}: netcheck says this packet cannot reach zone ${d.zone} (point check, report ${n})`);
        }
      }
    }
    if (await lab.flush().then(() => lab.conntrackCount()) !== 0) {
      problems.push('lab: the connection table is not empty after a flush');
    }
  } finally {
    lab.down();
  }

  let delivered = 0;
  let notes = 0;
  for (const p of probes) {
    const ds = received.get(p.id) ?? [];
    if (ds.length > 0) delivered++;
    for (const j of judge(p, ds)) {
      // netcheck keeps multicast destinations (a multicast router forwards them); the lab has none.
      const multicast = inPrefix(MULTICAST, p.expect?.dst ?? 0);
      if (j.witness && (uncertain || multicast)) {
        notes++;
        t.diagnostic(`${c.name}: note (${multicast ? 'a multicast destination: the lab does no multicast routing' : 'the report lists unknown constructs'}): ${j.text}`);
      } else {
        problems.push(j.text);
      }
    }
  }
  const witnesses = probes.filter((p) => p.expect).length;
  totals.cases++;
  totals.probes += probes.length;
  totals.witnesses += witnesses;
  totals.dnat += probes.filter((p) => p.expect && (p.expect.dst !== p.dst || p.expect.dport !== p.dport)).length;
  totals.delivered += delivered;
  t.diagnostic(`${c.name}: ${probes.length} probes (${witnesses} witnesses), ${delivered} delivered, ` +
    `${control.size} in the control pass; ${confirmed ? `${confirmed} sent again alone; ` : ''}` +
    `${points ? `${points} point checks; ` : ''}` +
    `${notes ? `${notes} notes; ` : ''}${Date.now() - started} ms`);
  if (problems.length > 0) {
    writeFileSync(path.join(dir, 'report.json'), JSON.stringify(reports, null, 2));
    writeFileSync(path.join(dir, path.basename(config)), rulesText);
    if (ipset) writeFileSync(path.join(dir, path.basename(ipset)), ipsetText);
    writeFileSync(path.join(dir, 'topology.toml'), readFileSync(c.topologyFile, 'utf8'));
    writeFileSync(path.join(dir, 'probes.json'), JSON.stringify({ probes, received: [...received] }, null, 1));
    assert.fail(`netcheck and the kernel disagree on ${c.name} (seed ${SEED}; case kept in ${dir}):\n  ` +
      problems.slice(0, 25).join('\n  ') + (problems.length > 25 ? `\n  … ${problems.length - 25} more` : ''));
  }
}

const isL4 = (p) => p.proto === PROTO.tcp || p.proto === PROTO.udp;

// Splits probes into rounds in which no probe meets another's connection: a reply would find it
// (ESTABLISHED, or a clash the kernel drops) instead of being the first packet of a new one.
// Replies: the reversed tuple, and for a witness that DNAT rewrites, the reversed tuple as
// delivered. Probes of protocols without ports (other than ICMP, whose echo identifiers differ)
// to the same destination also go to different rounds: after source NAT to one address their
// reply tuples would be equal, and the kernel drops all but the first.
function rounds(probes) {
  const tuple = (proto, src, dst, sport, dport) => `${proto}|${src}|${dst}|${sport}|${dport}`;
  const out = [];
  for (const p of probes) {
    const own = p.proto === PROTO.icmp ? [] : [tuple(p.proto, p.src, p.dst, p.sport, p.dport)];
    const replies = p.proto === PROTO.icmp ? [] : [
      tuple(p.proto, p.dst, p.src, p.dport, p.sport),
      ...(p.expect ? [tuple(p.proto, p.expect.dst, p.src, p.expect.dport, p.sport)] : []),
    ];
    const portless = isL4(p) || p.proto === PROTO.icmp ? [] : [
      `${p.proto}|${p.dst}`, ...(p.expect ? [`${p.proto}|${p.expect.dst}`] : [])];
    let round = out.find((r) => !own.some((k) => r.replies.has(k)) &&
      !replies.some((k) => r.tuples.has(k)) && !portless.some((k) => r.portless.has(k)));
    if (!round) out.push((round = { probes: [], tuples: new Set(), replies: new Set(), portless: new Set() }));
    round.probes.push(p);
    for (const k of own) round.tuples.add(k);
    for (const k of replies) round.replies.add(k);
    for (const k of portless) round.portless.add(k);
  }
  return out.map((r) => r.probes);
}

// Sends each round of probes (emptying the firewall's connection table before each when `flush`)
// and returns the deliveries by probe id, outside the probe's own zone.
async function send(lab, roundsOfProbes, settleMs = 150, flush = false) {
  const byId = new Map();
  for (const list of roundsOfProbes) {
    if (flush) await lab.flush();
    const ids = new Map(list.map((p) => [p.id, p]));
    for (const d of await lab.pass(list, settleMs)) {
      const p = ids.get(d.id);
      // Not a probe: errors the firewall sends back (REJECT) go to the sender's zone, and carry
      // an ICMP type no probe has.
      if (!p || d.zone === p.from || d.proto !== p.proto || d.icmpType !== p.icmpType) continue;
      if (!byId.has(p.id)) byId.set(p.id, []);
      byId.get(p.id).push(d);
    }
  }
  return byId;
}

function hash(s) {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

// ---- the cases ----

// Counts a failed case, so that the files stay for a look.
async function failing(promise) {
  try {
    await promise;
  } catch (e) {
    failures++;
    throw e;
  }
}

const goldenDir = path.join(ROOT, 'tests/golden/netsep');
const goldens = readdirSync(goldenDir).filter((n) => existsSync(path.join(goldenDir, n, 'topology.toml'))).sort();

// MAMORI_KERNEL_DIRS: more case folders (topology.toml and its configurations), ':'-separated.
const extra = (process.env.MAMORI_KERNEL_DIRS ?? '').split(':').filter(Boolean).map((d) => path.resolve(d));

// Two cases at a time (MAMORI_KERNEL_JOBS): each has its own namespaces, and most of a case's
// time is spent waiting for packets.
describe('netcheck against the kernel', { concurrency: Number(process.env.MAMORI_KERNEL_JOBS ?? 2) }, () => {
  for (const dir of [...goldens.map((n) => path.join(goldenDir, n)), ...extra]) {
    const name = path.basename(dir);
    const caseName = `${dir.startsWith(goldenDir) ? 'golden' : 'case'}-${name}`;
    if (ONLY && !ONLY.test(caseName)) continue;
    test(`kernel agrees with netcheck: ${caseName}`, { skip: skipText }, async (t) => {
      await failing(checkCase(t, { name: caseName, topologyFile: path.join(dir, 'topology.toml') }));
    });
  }

  for (let i = 0; i < RANDOM_CASES; i++) {
    const caseName = `random-${i}`;
    if (ONLY && !ONLY.test(caseName)) continue;
    test(`kernel agrees with netcheck: random-${i} (seed ${SEED})`, { skip: skipText }, async (t) => {
      const dir = path.join(work, caseName);
      mkdirSync(dir, { recursive: true });
      const g = generateCase(rng((SEED * 1000003 + i) >>> 0));
      writeFileSync(path.join(dir, 'fw.rules'), g.rules);
      if (g.ipset) writeFileSync(path.join(dir, 'fw.ipset'), g.ipset);
      writeFileSync(path.join(dir, 'topology.toml'), g.topologyToml);
      await failing(checkCase(t, { name: caseName, topologyFile: path.join(dir, 'topology.toml') }));
    });
  }

  // nftables: the kernel loads the generated JSON; netcheck reads what `nft -j list ruleset`
  // prints for it, as on a real firewall.
  for (let i = 0; i < RANDOM_NFT_CASES; i++) {
    const caseName = `random-nft-${i}`;
    if (ONLY && !ONLY.test(caseName)) continue;
    test(`kernel agrees with netcheck: random-nft-${i} (seed ${SEED})`, { skip: skipText }, async (t) => {
      const dir = path.join(work, caseName);
      mkdirSync(dir, { recursive: true });
      const g = generateNftCase(rng((SEED * 1000003 + 0x6e667400 + i) >>> 0));
      const input = path.join(dir, 'fw.input.json');
      writeFileSync(input, g.rules);
      await failing((async () => {
        writeFileSync(path.join(dir, 'fw.json'), await nftListing(input));
        writeFileSync(path.join(dir, 'topology.toml'), g.topologyToml);
        await checkCase(t, { name: caseName, topologyFile: path.join(dir, 'topology.toml'), load: input });
      })());
    });
  }
});

test.after(() => {
  if (totals.cases > 0) {
    console.log(`kernel test: ${totals.cases} cases (seed ${SEED}), ${totals.probes} probes, ` +
      `${totals.witnesses} witnesses (${totals.dnat} through DNAT), ${totals.delivered} delivered`);
  }
  if (work && failures === 0 && !process.env.MAMORI_KERNEL_KEEP) rmSync(work, { recursive: true, force: true });
  else if (work) console.log(`kernel test files kept in ${work}`);
});
