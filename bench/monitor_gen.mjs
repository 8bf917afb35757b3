// Input of bench/monitor.sh (issue 8, docs/benchmarks.md): a Zeek conn.log in JSON, a blocklist
// and Sigma rules, all generated from one seed so that every run reads the same bytes.
//
//   node bench/monitor_gen.mjs DIR [LINES=5000000] [BLOCKLIST=1000000] [RULES=100] [SEED=1]
//
// DIR/conn.json: LINES connections over one day among the demo body's zones
//   (examples/demo/network/topology.toml): mostly traffic the allow entries permit or that stays
//   inside a zone, a little that crosses zones without permission, some failed attempts (S0, REJ),
//   a few hosts on the blocklist, and a 60-second beacon.
// DIR/blocklist.txt: BLOCKLIST entries, 60% IPv4 addresses, 20% CIDR ranges (/24, /28), 20% domain names,
//   with comments.
// DIR/rules/: RULES Sigma rules for the firewall and Zeek conn log sources, using the field
//   modifiers real rules use (cidr, contains, startswith, endswith, re, lt/gt, exists) and the
//   condition grammar (and, or, not, 1 of, all of).
import fs from "node:fs";
import path from "node:path";

const [dir, linesArg, blockArg, rulesArg, seedArg] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node bench/monitor_gen.mjs DIR [LINES] [BLOCKLIST] [RULES] [SEED]");
  process.exit(2);
}
const lines = Number(linesArg ?? 5000000);
const blockEntries = Number(blockArg ?? 1000000);
const ruleCount = Number(rulesArg ?? 100);
let state = BigInt(Number(seedArg ?? 1)) || 1n;

// xorshift64*: the same numbers for the same seed on every machine.
function next() {
  state ^= state >> 12n;
  state ^= (state << 25n) & 0xffffffffffffffffn;
  state ^= state >> 27n;
  return Number(((state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
}
const int = (n) => Math.floor(next() * n);
const pick = (list) => list[int(list.length)];

fs.mkdirSync(path.join(dir, "rules"), { recursive: true });

// --- blocklist -----------------------------------------------------------------------------
// Public addresses that are not reserved: first octet 11-99 or 101-126 or 128-223 (but 169/172/192
// avoided), so that the conn log's internet hosts can be listed.
function publicIp() {
  let a;
  do a = 11 + int(212);
  while (a === 100 || a === 127 || a === 169 || a === 172 || a === 192);
  return `${a}.${int(256)}.${int(256)}.${1 + int(254)}`;
}
const words = ["update", "cdn", "mail", "files", "sync", "img", "api", "static", "login", "portal"];
const tlds = ["com", "net", "org", "info", "xyz", "top", "jp", "co.jp", "ru", "cn"];
function domain() {
  return `${pick(words)}${int(100000)}.${pick(words)}-${int(1000)}.${pick(tlds)}`;
}
{
  const out = fs.openSync(path.join(dir, "blocklist.txt"), "w");
  let buf = "# generated blocklist for bench/monitor.sh\n";
  for (let i = 0; i < blockEntries; i++) {
    const r = next();
    if (r < 0.6) buf += publicIp() + "\n";
    else if (r < 0.7) buf += `${11 + int(80)}.${int(256)}.${int(256)}.0/24\n`;
    else if (r < 0.8) buf += `${11 + int(80)}.${int(256)}.${int(256)}.${int(16) * 16}/28\n`;
    else buf += domain() + "\n";
    if (i % 1000 === 999) buf += `# block ${i + 1}\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(out, buf);
      buf = "";
    }
  }
  // The hosts the conn log contacts that are listed (so the blocklist detector has work).
  buf += "203.0.113.66\n198.51.100.0/24\n";
  fs.writeSync(out, buf);
  fs.closeSync(out);
}

// --- Sigma rules ---------------------------------------------------------------------------
const zoneNets = ["10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16"];
const ports = [21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 389, 443, 445, 465, 587, 636, 1433,
  1521, 3306, 3389, 5432, 5900, 5985, 5986, 8080, 8443];
function rule(i) {
  const source = i % 2 === 0 ? "logsource:\n  category: firewall\n"
    : "logsource:\n  product: zeek\n  service: conn\n";
  const dstIp = i % 2 === 0 ? "dst_ip" : "id.resp_h";
  const srcIp = i % 2 === 0 ? "src_ip" : "id.orig_h";
  const dstPort = i % 2 === 0 ? "dst_port" : "id.resp_p";
  const p = () => ports[int(ports.length)];
  let detection;
  switch (i % 10) {
    case 0:
    case 1:
      detection = `  selection:\n    ${dstIp}|cidr: ${pick(zoneNets)}\n    ${dstPort}:\n` +
        `      - ${p()}\n      - ${p()}\n      - ${p()}\n  filter:\n    ${srcIp}|cidr: ` +
        `${pick(zoneNets)}\n  condition: selection and not filter\n`;
      break;
    case 2:
      detection = `  selection:\n    ${srcIp}|startswith: '10.${10 * (1 + int(3))}.${int(16)}.'\n` +
        `    ${dstPort}: ${p()}\n  condition: selection\n`;
      break;
    case 3:
      detection = `  selection:\n    ${dstIp}|endswith: '.${int(256)}'\n    ${dstPort}|gt: 60000\n` +
        `  condition: selection\n`;
      break;
    case 4:
      detection = `  selection:\n    ${dstIp}|re: '^(198\\.51\\.100|203\\.0\\.113)\\.${int(200)}$'\n` +
        `  condition: selection\n`;
      break;
    case 5:
      detection = `  sel_port:\n    ${dstPort}: ${p()}\n  sel_net:\n    ${dstIp}|cidr:\n` +
        `      - ${pick(zoneNets)}\n      - 192.168.0.0/16\n  condition: all of sel_*\n`;
      break;
    case 6:
      detection = `  a:\n    ${dstPort}: ${p()}\n  b:\n    ${dstPort}: ${p()}\n  c:\n    ${srcIp}|cidr: ` +
        `${pick(zoneNets)}\n  condition: (a or b) and c\n`;
      break;
    case 7:
      detection = `  selection:\n    ${dstIp}|contains: '.${int(256)}.${int(256)}.'\n` +
        `    ${srcIp}|cidr: ${pick(zoneNets)}\n  condition: selection\n`;
      break;
    case 8:
      detection = `  sel_1:\n    ${dstPort}: ${p()}\n  sel_2:\n    ${dstPort}: ${p()}\n` +
        `  filter:\n    ${srcIp}: 10.30.0.${int(64)}\n  condition: 1 of sel_* and not filter\n`;
      break;
    default:
      detection = `  selection:\n    ${dstPort}|lt: 1024\n  filter:\n    ${dstPort}:\n      - 25\n` +
        `      - 53\n      - 443\n  condition: selection and not filter\n`;
  }
  // Real rule packs look for rare traffic: all but the address-pattern rules (3, 4) also ask
  // that the connection cross from one layer to another.
  if (i % 10 !== 3 && i % 10 !== 4) {
    const from = int(3);
    const to = (from + 1 + int(2)) % 3;
    detection = detection.replace(/  condition: (.*)\n$/, (_, c) =>
      `  layer:\n    ${srcIp}|cidr: ${zoneNets[from]}\n    ${dstIp}|cidr: ${zoneNets[to]}\n` +
      `  condition: (${c}) and layer\n`);
  }
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  return `title: bench rule ${i}\nid: ${id}\nstatus: experimental\n${source}detection:\n` +
    `${detection}level: ${pick(["low", "medium", "high", "critical"])}\n`;
}
for (let i = 0; i < ruleCount; i++) {
  fs.writeFileSync(path.join(dir, "rules", `rule-${String(i).padStart(3, "0")}.yml`), rule(i));
}

// --- conn.json -----------------------------------------------------------------------------
const mynumber = () => `10.10.${int(4)}.${1 + int(250)}`;
const lgwan = () => `10.20.${int(16)}.${1 + int(250)}`;
const inet = () => `10.30.0.${1 + int(60)}`;
const services = { 53: "dns", 80: "http", 443: "ssl", 25: "smtp", 445: "smb", 3389: "rdp" };
const start = 1730000000; // 2024-10-27T03:33:20Z
const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function uid() {
  let s = "C";
  for (let i = 0; i < 17; i++) s += chars[int(62)];
  return s;
}
function flow(r) {
  // [src, dst, proto, dport]
  if (r < 0.35) return [lgwan(), lgwan(), "tcp", pick([445, 443, 80, 135, 3389])];
  if (r < 0.5) return [mynumber(), mynumber(), "tcp", pick([445, 443, 1521])];
  if (r < 0.65) return ["10.30.0.10", publicIp(), "tcp", pick([80, 443])];
  if (r < 0.72) return ["10.30.0.53", publicIp(), "udp", 53];
  if (r < 0.8) return [`10.10.1.${1 + int(250)}`, "10.20.0.5", "tcp", 443];
  if (r < 0.88) return [lgwan(), "10.30.0.25", "tcp", 25];
  if (r < 0.95) return [inet(), inet(), "tcp", pick([22, 443, 8080])];
  if (r < 0.97) return [lgwan(), mynumber(), "tcp", pick([445, 3389])]; // not permitted
  if (r < 0.98) return [inet(), publicIp(), "tcp", pick([25, 6667, 4444])]; // not permitted
  if (r < 0.99) return ["10.30.0.10", `198.51.100.${int(256)}`, "tcp", 443]; // blocklisted
  return [lgwan(), `10.20.${int(16)}.${1 + int(250)}`, "tcp", 1 + int(65535)]; // scan-like
}
{
  const out = fs.openSync(path.join(dir, "conn.json"), "w");
  let buf = "";
  const span = 86400;
  let beaconNext = start + 30;
  for (let i = 0; i < lines; i++) {
    const ts = start + (i / lines) * span;
    let src, dst, proto, dport;
    if (ts >= beaconNext) {
      [src, dst, proto, dport] = ["10.30.0.44", "203.0.113.66", "tcp", 443];
      beaconNext += 60;
    } else {
      [src, dst, proto, dport] = flow(next());
    }
    const failed = next() < 0.05;
    const state = failed ? pick(["S0", "REJ"]) : "SF";
    const origBytes = failed ? 0 : 40 + int(4000);
    const respBytes = failed ? 0 : int(60000);
    const rec = {
      ts: Number(ts.toFixed(6)),
      uid: uid(),
      "id.orig_h": src,
      "id.orig_p": 1024 + int(64000),
      "id.resp_h": dst,
      "id.resp_p": dport,
      proto,
    };
    if (!failed && services[dport]) rec.service = services[dport];
    rec.duration = failed ? 0 : Number((next() * 30).toFixed(6));
    rec.orig_bytes = origBytes;
    rec.resp_bytes = respBytes;
    rec.conn_state = state;
    rec.local_orig = true;
    rec.local_resp = dst.startsWith("10.");
    rec.missed_bytes = 0;
    rec.history = failed ? (state === "S0" ? "S" : "Sr") : "ShADadFf";
    rec.orig_pkts = failed ? 1 : 4 + int(40);
    rec.orig_ip_bytes = origBytes + 40 * rec.orig_pkts;
    rec.resp_pkts = failed ? (state === "REJ" ? 1 : 0) : 4 + int(60);
    rec.resp_ip_bytes = respBytes + 40 * rec.resp_pkts;
    buf += JSON.stringify(rec) + "\n";
    if (buf.length > 1 << 22) {
      fs.writeSync(out, buf);
      buf = "";
    }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
}
