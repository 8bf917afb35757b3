// Topology files and netcheck reports, as the kernel test reads them: IPv4 helpers, the subset of
// TOML that topology files use (docs/netcheck.md), zones by longest matching network, the
// [[allow]] entries, and the `packets` summaries of a report read back as sets of packets.
//
// A summary ("tcp dport 445,3389 from zone lgwan to 10.10.0.0/24, 10.10.1.5") gives, per
// protocol, the destination ports (or ICMP types), the sources and the destinations of a leak
// separately: their product contains the leak, so "a delivered packet lies in some summary" is
// a sound check of netcheck's upper bound. A list cut short ("…") is read as "anything".

export const PROTO = { icmp: 1, tcp: 6, udp: 17 };
export const PROTO_NAME = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

export function ipToInt(s) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) throw new Error(`not an IPv4 address: ${s}`);
  return m.slice(1).reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
}

export function intToIp(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

// "10.0.0.0/8" or "10.0.0.1" → {address, length, first, last}.
export function parsePrefix(s) {
  const [a, l] = s.split('/');
  const length = l === undefined ? 32 : Number(l);
  const mask = length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
  const first = (ipToInt(a) & mask) >>> 0;
  return { address: first, length, first, last: (first | ~mask) >>> 0, text: s };
}

export const inPrefix = (p, a) => a >= p.first && a <= p.last;

// ---- TOML (the subset topology files use) ----

// Reads tables ([a.b]), arrays of tables ([[allow]]), and `key = value` with strings, integers,
// booleans, arrays and inline tables; `#` comments. Enough for topology files, not general TOML.
export function parseToml(text) {
  const root = {};
  let current = root;
  let pos = 0;
  const fail = (what) => {
    const line = text.slice(0, pos).split('\n').length;
    throw new Error(`TOML line ${line}: ${what}`);
  };
  const skip = (newlines) => {
    for (;;) {
      const c = text[pos];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) pos++;
      else if (c === '#') while (pos < text.length && text[pos] !== '\n') pos++;
      else return;
    }
  };
  const key = () => {
    skip(false);
    if (text[pos] === '"') return string();
    const m = /^[A-Za-z0-9_-]+/.exec(text.slice(pos));
    if (!m) fail('expected a key');
    pos += m[0].length;
    return m[0];
  };
  const dotted = () => {
    const parts = [key()];
    for (skip(false); text[pos] === '.'; skip(false)) {
      pos++;
      parts.push(key());
    }
    return parts;
  };
  const string = () => {
    pos++;
    let out = '';
    while (text[pos] !== '"') {
      if (pos >= text.length || text[pos] === '\n') fail('unterminated string');
      if (text[pos] === '\\') {
        const e = text[++pos];
        const map = { n: '\n', t: '\t', '"': '"', '\\': '\\', r: '\r' };
        if (e === 'u') {
          out += String.fromCodePoint(parseInt(text.slice(pos + 1, pos + 5), 16));
          pos += 5;
          continue;
        }
        out += map[e] ?? fail(`bad escape \\${e}`);
        pos++;
        continue;
      }
      out += text[pos++];
    }
    pos++;
    return out;
  };
  const value = () => {
    skip(false);
    const c = text[pos];
    if (c === '"') return string();
    if (c === '[') {
      pos++;
      const out = [];
      for (;;) {
        skip(true);
        if (text[pos] === ']') break;
        out.push(value());
        skip(true);
        if (text[pos] === ',') pos++;
        else if (text[pos] !== ']') fail('expected , or ]');
      }
      pos++;
      return out;
    }
    if (c === '{') {
      pos++;
      const out = {};
      for (;;) {
        skip(false);
        if (text[pos] === '}') break;
        const k = key();
        skip(false);
        if (text[pos++] !== '=') fail('expected =');
        out[k] = value();
        skip(false);
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail('expected , or }');
      }
      pos++;
      return out;
    }
    const m = /^(true|false|[+-]?\d+)/.exec(text.slice(pos));
    if (!m) fail('expected a value');
    pos += m[0].length;
    return m[0] === 'true' ? true : m[0] === 'false' ? false : Number(m[0]);
  };
  for (;;) {
    skip(true);
    if (pos >= text.length) return root;
    if (text.startsWith('[[', pos)) {
      pos += 2;
      const path = dotted();
      if (!text.startsWith(']]', pos)) fail('expected ]]');
      pos += 2;
      let t = root;
      for (const p of path.slice(0, -1)) t = t[p] ??= {};
      const last = path[path.length - 1];
      (t[last] ??= []).push((current = {}));
    } else if (text[pos] === '[') {
      pos++;
      const path = dotted();
      if (text[pos++] !== ']') fail('expected ]');
      current = root;
      for (const p of path) current = current[p] ??= {};
    } else {
      const path = dotted();
      skip(false);
      if (text[pos++] !== '=') fail('expected =');
      let t = current;
      for (const p of path.slice(0, -1)) t = t[p] ??= {};
      t[path[path.length - 1]] = value();
    }
  }
}

const tomlString = (s) => JSON.stringify(s);
const tomlValue = (v) =>
  Array.isArray(v) ? `[${v.map(tomlValue).join(', ')}]` : typeof v === 'string' ? tomlString(v) : String(v);

// ---- Topology ----

// The topology as the test uses it: zones in file order with their prefixes, devices, allows.
export function readTopology(text) {
  const t = parseToml(text);
  const zones = Object.entries(t.zones ?? {}).map(([name, z]) => ({
    name,
    networks: z.networks.map(parsePrefix),
  }));
  const devices = Object.entries(t.devices ?? {}).map(([name, d]) => ({ name, ...d }));
  return { zones, devices, allows: t.allow ?? [] };
}

// Writes a topology (zones with networks as text, one device per entry, allows) as TOML.
export function writeTopology({ zones, devices, allows }) {
  const out = [];
  for (const z of zones) {
    out.push(`[zones.${z.name}]`, `networks = ${tomlValue(z.networks.map((n) => n.text ?? n))}`, '');
  }
  for (const d of devices) {
    out.push(`[devices.${d.name}]`, `format = ${tomlString(d.format)}`, `config = ${tomlString(d.config)}`);
    if (d.ipset) out.push(`ipset = ${tomlString(d.ipset)}`);
    const ifs = Object.entries(d.interfaces).map(([i, z]) => `${i} = ${tomlString(z)}`);
    out.push(`interfaces = { ${ifs.join(', ')} }`, '');
  }
  for (const a of allows) {
    out.push('[[allow]]');
    for (const k of ['from', 'to', 'proto', 'src', 'dst', 'dst_ports', 'reason']) {
      if (a[k] !== undefined) out.push(`${k} = ${tomlValue(a[k])}`);
    }
    out.push('');
  }
  return out.join('\n');
}

// The zone of an address: the one with the longest matching network (or undefined).
export function zoneOf(topology, address) {
  let best;
  let bestLength = -1;
  for (const z of topology.zones) {
    for (const n of z.networks) {
      if (n.length > bestLength && inPrefix(n, address)) {
        best = z.name;
        bestLength = n.length;
      }
    }
  }
  return best;
}

function portInTerms(terms, port) {
  return terms.some((t) => {
    if (typeof t === 'number') return t === port;
    const [lo, hi] = String(t).split('-').map(Number);
    return port >= lo && port <= (hi ?? lo);
  });
}

// Whether `p` (src as sent; dst and dport as delivered) is covered by an [[allow]] from → to.
export function allowedBy(topology, from, to, p) {
  return topology.allows.some((a) => {
    if (a.from !== from || a.to !== to) return false;
    const proto = a.proto ?? 'any';
    if (proto !== 'any' && PROTO[proto] !== p.proto) return false;
    if (a.src && !a.src.map(parsePrefix).some((n) => inPrefix(n, p.src))) return false;
    if (a.dst && !a.dst.map(parsePrefix).some((n) => inPrefix(n, p.dst))) return false;
    if (a.dst_ports) {
      if (p.proto !== PROTO.tcp && p.proto !== PROTO.udp) return false;
      if (!portInTerms(a.dst_ports, p.dport)) return false;
    }
    return true;
  });
}

// ---- Report summaries ----

// "443", "0-442,444-65535", "8,13,…" → a predicate on numbers (anything when cut short).
function valuePredicate(text) {
  if (text.endsWith('…')) return () => true;
  const ranges = text.split(',').map((r) => r.split('-').map(Number));
  return (v) => ranges.some(([lo, hi]) => v >= lo && v <= (hi ?? lo));
}

// "zone lgwan", "zone inet except 10.30.0.99, 10.30.1.0/24", "10.1.0.0/16, 10.2.0.1, …".
function addressPredicate(topology, text) {
  const zone = /^zone (\S+)(?: except (.*))?$/.exec(text);
  if (zone) {
    const except = zone[2] ? zone[2].split(', ').map(parsePrefix) : [];
    return (a) => zoneOf(topology, a) === zone[1] && !except.some((n) => inPrefix(n, a));
  }
  const parts = text.split(', ');
  if (parts[parts.length - 1] === '…') return () => true;
  const prefixes = parts.map(parsePrefix);
  return (a) => prefixes.some((n) => inPrefix(n, a));
}

// A violation's `packets` summary → a predicate on {proto, src, dst, dport, icmpType} (src as
// sent, dst and dport as delivered).
export function summaryPredicate(topology, packets) {
  const parts = packets.replace(/ \(as delivered, after DNAT\)$/, '').split('; ');
  const preds = parts.map((part) => {
    const m = /^(.+?) from (.+?) to (.+)$/.exec(part);
    if (!m) throw new Error(`cannot read the summary part "${part}"`);
    const [, what, src, dst] = m;
    const srcOk = addressPredicate(topology, src);
    const dstOk = addressPredicate(topology, dst);
    let protoOk;
    let w;
    if ((w = /^(tcp|udp) \(all ports\)$/.exec(what))) {
      protoOk = (p) => p.proto === PROTO[w[1]];
    } else if ((w = /^(tcp|udp) dport (.+)$/.exec(what))) {
      const ports = valuePredicate(w[2]);
      const proto = PROTO[w[1]];
      protoOk = (p) => p.proto === proto && ports(p.dport);
    } else if (what === 'icmp (all types)') {
      protoOk = (p) => p.proto === PROTO.icmp;
    } else if ((w = /^icmp type (.+)$/.exec(what))) {
      const types = valuePredicate(w[1]);
      protoOk = (p) => p.proto === PROTO.icmp && types(p.icmpType);
    } else if (what === 'all other protocols') {
      protoOk = (p) => ![PROTO.tcp, PROTO.udp, PROTO.icmp].includes(p.proto);
    } else if ((w = /^proto (.+)$/.exec(what))) {
      protoOk = (p) => valuePredicate(w[1])(p.proto);
    } else {
      throw new Error(`cannot read the summary part "${part}"`);
    }
    return (p) => protoOk(p) && srcOk(p.src) && dstOk(p.dst);
  });
  return (p) => preds.some((f) => f(p));
}
