// Random firewall cases for the kernel test: a topology (four or five zones, one firewall, a
// few [[allow]] entries) and an iptables-save rule set over the zones' networks, from a seed.
//
// The rules use what netcheck models and real rule sets contain: addresses and prefixes inside
// and across the zones (with `!`, non-contiguous masks and address lists), interfaces (with `!`
// and `eth+`), tcp/udp ports and ranges (with `!`), multiport --dports/--sports/--ports, --syn
// and --tcp-flags, ICMP types, conntrack and state matches (NEW, ESTABLISHED, INVALID, DNAT,
// SNAT, UNTRACKED, negated), iprange, comments, LOG, REJECT, user chains entered by -j and -g
// with RETURN (no loops: a chain only calls later ones), raw and mangle rules before the filter
// and security rules after it, DNAT in nat PREROUTING (to an address, with or without a port;
// sometimes from a user chain), REDIRECT, and MASQUERADE/SNAT in nat POSTROUTING. Two cases in
// five also have an ipset file (`ipset save` form, restored before the rules) whose sets the rules
// match with `-m set [!] --match-set NAME src|dst,… [--return-nomatch]`: hash:ip (with netmask),
// hash:net and hash:net,port with nested nomatch entries, hash:ip,port (tcp, udp, a port range,
// a protocol without ports), hash:ip,port,ip, hash:ip,port,net, bitmap:ip, bitmap:port and
// list:set.

// mulberry32: small, fast, good enough for test data, and the same in every Node version.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    shuffle: (list) => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
  return r;
}

const ip = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const PORTS = [22, 25, 53, 80, 123, 443, 445, 1024, 3389, 8080, 8443, 65535];

// The zones of a random case: four or five, each behind its own interface (eth0…, shuffled), with
// nested networks now and then (lgwan in two parts, dmz inside inet's network).
export function randomZones(r) {
  const zones = [
    { name: 'mynumber', networks: ['10.10.0.0/16'] },
    { name: 'lgwan', networks: r.chance(0.4) ? ['10.20.0.0/16', '172.20.0.0/16'] : ['10.20.0.0/16'] },
    { name: 'inet', networks: ['10.30.0.0/16'] },
    { name: 'internet', networks: ['0.0.0.0/0'] },
  ];
  if (r.chance(0.35)) zones.push({ name: 'dmz', networks: ['10.30.128.0/20'] }); // inside inet's
  const ifaces = r.shuffle(zones.map((_, i) => `eth${i}`));
  zones.forEach((z, i) => (z.iface = ifaces[i]));
  return zones;
}

// Random values over `zones`: hostIn(zone) → an address (a number) of the zone, address() → a
// zone network, a host or a prefix inside one (text, "a.b.c.d[/len]"), port() → a port.
export function addressing(r, zones) {
  // Addresses: zone networks, prefixes and hosts inside them, now and then a public one.
  const hostIn = (z) => {
    const net = r.pick(z.networks);
    const [a, len] = net.split('/');
    const base = a.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;
    if (Number(len) === 0) return r.pick([0x01000000, 0xcb007100, 0x08080800, 0x5db8d800]) + r.int(1, 254); // 1.0.0.x, 203.0.113.x, …
    const size = 2 ** (32 - Number(len));
    let host;
    do host = (base + r.int(0, Math.min(size - 1, 0xffff))) >>> 0;
    while (z.name === 'inet' && zones.some((y) => y.name === 'dmz') && (host & 0xfffff000) === 0x0a1e8000);
    return host;
  };
  const address = () => {
    const z = r.pick(zones);
    const roll = r.next();
    if (roll < 0.3) return r.pick(z.networks);
    const h = hostIn(z);
    if (roll < 0.55) return ip(h);
    const len = r.pick([24, 28, 30, 20]);
    const mask = (~0 << (32 - len)) >>> 0;
    return `${ip((h & mask) >>> 0)}/${len}`;
  };
  const port = () => (r.chance(0.7) ? r.pick(PORTS) : r.int(1, 65535));
  return { hostIn, address, port };
}

// A few permitted paths, so that netcheck has allowed and forbidden parts to tell apart.
export function randomAllows(r, zones, { hostIn, port }) {
  const allows = [];
  for (let i = r.int(0, 4); i > 0; i--) {
    const from = r.pick(zones);
    const to = r.pick(zones.filter((z) => z !== from));
    const a = { from: from.name, to: to.name, proto: r.pick(['tcp', 'tcp', 'udp', 'icmp', 'any']) };
    if (r.chance(0.4)) a.src = [ip(hostIn(from))];
    if (r.chance(0.4)) a.dst = [ip(hostIn(to))];
    if ((a.proto === 'tcp' || a.proto === 'udp') && r.chance(0.7)) a.dst_ports = [port(), ...(r.chance(0.3) ? [`${1000}-${2000}`] : [])];
    a.reason = 'generated';
    allows.push(a);
  }
  return allows;
}

// The topology file of a random case: the zones, one device fw1 (with the ipset file `ipset` when
// given) and the allow entries.
export function caseTopology(zones, allows, format, config, ipset) {
  const toml = [];
  for (const z of zones) toml.push(`[zones.${z.name}]`, `networks = ${JSON.stringify(z.networks)}`, '');
  toml.push('[devices.fw1]', `format = "${format}"`, `config = "${config}"`,
    ...(ipset ? [`ipset = "${ipset}"`] : []),
    `interfaces = { ${zones.map((z) => `${z.iface} = "${z.name}"`).join(', ')} }`, '');
  for (const a of allows) {
    toml.push('[[allow]]');
    for (const [k, v] of Object.entries(a)) toml.push(`${k} = ${JSON.stringify(v)}`);
    toml.push('');
  }
  return toml.join('\n');
}

// Generates {topologyToml, rules, ipset} from `r` (an rng); `ipset` is the ipset file's text, or
// undefined when the case has none. `config` and `ipsetFile` are the files' names.
export function generateCase(r, config = 'fw.rules', ipsetFile = 'fw.ipset') {
  const zones = randomZones(r);
  const { hostIn, address, port } = addressing(r, zones);
  const portRange = () => {
    if (r.chance(0.6)) return String(port());
    const a = Math.min(port(), 65534);
    const b = Math.min(65535, a + r.pick([1, 10, 100, 1000])); // multiport wants a < b
    return `${a}:${b}`;
  };
  const portList = () => {
    const n = r.int(2, 5);
    const out = [];
    for (let i = 0; i < n; i++) out.push(r.chance(0.3) ? portRange() : String(port()));
    return out.join(',');
  };
  const not = (p = 0.2) => (r.chance(p) ? ['!'] : []);
  const iface = () => (r.chance(0.08) ? 'eth+' : r.pick(zones).iface);
  const sets = r.chance(0.4) ? generateSets(r, zones, hostIn, port) : [];

  // One rule's matches; PREROUTING chains take no -o, POSTROUTING chains no -i.
  const matches = (opts = {}) => {
    const m = [];
    const addresses = [];
    for (const option of ['-s', '-d']) {
      if (!r.chance(0.45)) continue;
      let a = address();
      const roll = r.next();
      if (roll < 0.06) a = `${a.split('/')[0]}/255.255.0.255`; // a non-contiguous mask
      else if (roll < 0.12) a = `${a},${address()}`; // iptables-restore makes one rule of each
      addresses.push([not(), option, a]);
    }
    // iptables refuses `!` on 0.0.0.0/0 (nft) and beside an address list.
    const list = addresses.some(([, , a]) => a.includes(','));
    for (const [neg, option, a] of addresses) m.push(...(list || a === '0.0.0.0/0' ? [] : neg), option, a);
    if (!opts.noIn && r.chance(0.5)) m.push(...not(0.1), '-i', iface());
    if (!opts.noOut && r.chance(0.5)) m.push(...not(0.1), '-o', iface());
    const proto = opts.proto ?? r.pick(['tcp', 'tcp', 'tcp', 'udp', 'udp', 'icmp', 'gre', null, null]);
    if (proto) m.push('-p', proto);
    if (proto === 'tcp' || proto === 'udp') {
      const roll = r.next();
      if (roll < 0.35) m.push('-m', proto, ...not(0.15), '--dport', portRange());
      else if (roll < 0.6) m.push('-m', 'multiport', ...not(0.1), '--dports', portList());
      else if (roll < 0.67) m.push('-m', 'multiport', '--ports', portList());
      if (r.chance(0.15)) m.push('-m', proto, ...not(0.2), '--sport', r.pick(['1024:65535', '0:1023', '49152:65535', String(port())]));
      if (r.chance(0.1)) m.push('-m', 'multiport', '--sports', portList());
      if (proto === 'tcp' && r.chance(0.12)) {
        m.push('-m', 'tcp', ...(r.chance(0.5) ? [...not(0.4), '--syn'] : ['--tcp-flags', r.pick(['SYN,ACK SYN', 'SYN,RST,ACK,FIN SYN', 'ACK ACK', 'ALL NONE'])]));
      }
    } else if (proto === 'icmp' && r.chance(0.6)) {
      m.push('-m', 'icmp', ...not(0.15), '--icmp-type', r.pick(['8', 'echo-request', '13', 'any', '0']));
    }
    if (!opts.noState && r.chance(0.3)) {
      if (r.chance(0.8)) {
        m.push('-m', 'conntrack', ...not(0.2), '--ctstate', r.pick(['NEW', 'RELATED,ESTABLISHED', 'NEW,ESTABLISHED', 'DNAT', 'INVALID', 'ESTABLISHED', 'SNAT', 'UNTRACKED', 'NEW,DNAT']));
      } else {
        m.push('-m', 'state', ...not(0.1), '--state', r.pick(['NEW', 'RELATED,ESTABLISHED', 'INVALID', 'UNTRACKED']));
      }
    }
    if (r.chance(0.07)) {
      const z = r.pick(zones.filter((x) => !x.networks.includes('0.0.0.0/0')));
      const a = hostIn(z);
      m.push('-m', 'iprange', ...not(0.2), r.pick(['--src-range', '--dst-range']), `${ip(a)}-${ip(a + r.int(0, 300))}`);
    }
    if (sets.length > 0 && r.chance(0.3)) {
      const set = r.pick(sets);
      // As many directions as the set has dimensions; now and then one more (ignored) or one
      // fewer (the kernel then never matches).
      const n = Math.max(1, set.dims + r.pick([0, 0, 0, 0, 0, 1, -1]));
      const flags = Array.from({ length: n }, () => r.pick(['src', 'dst'])).join(',');
      m.push('-m', 'set', ...not(0.25), '--match-set', set.name, flags);
      if (set.nomatch && r.chance(0.25)) m.push('--return-nomatch');
    }
    if (r.chance(0.08)) m.push('-m', 'comment', '--comment', `"rule ${r.int(1, 999)}"`);
    return m;
  };

  const lines = [];
  const tables = [];
  // raw and mangle: a few drops (and accepts, which end only their own chain) before the filter.
  if (r.chance(0.25)) {
    tables.push(['raw', [':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
      ...Array.from({ length: r.int(1, 2) }, () => `-A PREROUTING ${matches({ noOut: true, noState: r.chance(0.7) }).join(' ')} -j ${r.pick(['DROP', 'ACCEPT'])}`)]]);
  }
  if (r.chance(0.25)) {
    const rules = [];
    for (let i = r.int(1, 3); i > 0; i--) {
      const chain = r.pick(['PREROUTING', 'FORWARD', 'FORWARD', 'POSTROUTING']);
      rules.push(`-A ${chain} ${matches({ noOut: chain === 'PREROUTING', noIn: chain === 'POSTROUTING' }).join(' ')} -j ${r.pick(['DROP', 'ACCEPT', 'DROP'])}`);
    }
    tables.push(['mangle', [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...rules]]);
  }
  // nat: port forwards and whole-address DNAT, an exemption now and then, source NAT.
  if (r.chance(0.5)) {
    const rules = [];
    for (let i = r.int(1, 3); i > 0; i--) {
      const from = r.pick(zones);
      const to = r.pick(zones.filter((z) => z !== from));
      const target = ip(hostIn(to));
      const proto = r.pick(['tcp', 'tcp', 'udp', null]);
      const m = ['-i', from.iface, '-d', r.chance(0.6) ? ip(hostIn(from)) : address()];
      const except = address();
      if (r.chance(0.2) && except !== '0.0.0.0/0') m.unshift('!', '-s', except);
      if (proto) {
        m.push('-p', proto, '-m', proto, '--dport', String(port()));
        rules.push(`-A PREROUTING ${m.join(' ')} -j DNAT --to-destination ${target}${r.chance(0.6) ? `:${port()}` : ''}`);
      } else {
        rules.push(`-A PREROUTING ${m.join(' ')} -j DNAT --to-destination ${target}`);
      }
      if (r.chance(0.2)) rules.splice(rules.length - 1, 0, `-A PREROUTING -s ${address()} -j ACCEPT`);
    }
    // Now and then: the port forwards in a user chain (DNAT ends the packet's nat traversal
    // there too), and a transparent proxy (REDIRECT: to the firewall itself, not forwarded).
    const natChains = [];
    if (r.chance(0.25)) {
      natChains.push(':pf - [0:0]');
      const moved = rules.splice(0, rules.length, `-A PREROUTING -i ${r.pick(zones).iface} -j pf`);
      rules.push(...moved.map((x) => x.replace('-A PREROUTING', '-A pf')));
      if (r.chance(0.5)) rules.push('-A pf -j RETURN');
    }
    if (r.chance(0.2)) {
      rules.unshift(`-A PREROUTING -i ${r.pick(zones).iface} -p tcp -m tcp --dport ${r.pick([80, 443, 8080])} -j REDIRECT --to-ports 3128`);
    }
    const post = [];
    if (r.chance(0.5)) post.push(`-A POSTROUTING -o ${r.pick(zones).iface} -j MASQUERADE`);
    if (r.chance(0.3)) post.push(`-A POSTROUTING -s ${address()} -o ${r.pick(zones).iface} -j SNAT --to-source 100.64.${r.int(0, 255)}.${r.int(1, 254)}`);
    tables.push(['nat', [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]', ...natChains, ...rules, ...post]]);
  }
  // filter: FORWARD and user chains c1..cn; ci only calls cj with j > i (iptables refuses loops).
  const nChains = r.int(0, 3);
  const chains = Array.from({ length: nChains }, (_, i) => `c${i + 1}`);
  const target = (callable) => {
    const roll = r.next();
    if (callable.length > 0 && roll < 0.15) return `-j ${r.pick(callable)}`;
    if (callable.length > 0 && roll < 0.25) return `-g ${r.pick(callable)}`;
    return `-j ${r.pick(['ACCEPT', 'ACCEPT', 'ACCEPT', 'DROP', 'DROP', 'REJECT', 'RETURN', 'LOG --log-prefix "x "'])}`;
  };
  const filter = [':INPUT ACCEPT [0:0]', `:FORWARD ${r.chance(0.7) ? 'DROP' : 'ACCEPT'} [0:0]`, ':OUTPUT ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`)];
  if (r.chance(0.5)) filter.push('-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  // "Whatever was port-forwarded may pass": the idiom behind DNAT holes.
  if (tables.some(([name]) => name === 'nat') && r.chance(0.5)) {
    filter.push(`-A FORWARD ${r.chance(0.5) ? `-i ${r.pick(zones).iface} ` : ''}-m conntrack --ctstate DNAT -j ACCEPT`);
  }
  for (let i = r.int(3, 14); i > 0; i--) filter.push(`-A FORWARD ${matches().join(' ')} ${target(chains)}`.replace(/ +/g, ' '));
  chains.forEach((c, i) => {
    for (let k = r.int(1, 6); k > 0; k--) filter.push(`-A ${c} ${matches().join(' ')} ${target(chains.slice(i + 1))}`.replace(/ +/g, ' '));
  });
  tables.push(['filter', filter]);
  // security FORWARD runs after the filter: an ACCEPT there does not undo a filter DROP.
  if (r.chance(0.15)) {
    tables.push(['security', [':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
      ...Array.from({ length: r.int(1, 2) }, () => `-A FORWARD ${matches().join(' ')} -j ${r.pick(['DROP', 'ACCEPT', 'RETURN'])}`)]]);
  }
  for (const [name, body] of tables) lines.push(`*${name}`, ...body, 'COMMIT');

  const allows = randomAllows(r, zones, { hostIn, port });
  return {
    topologyToml: caseTopology(zones, allows, 'iptables-save', config, sets.length > 0 ? ipsetFile : undefined),
    rules: lines.join('\n') + '\n',
    ipset: sets.length > 0 ? sets.flatMap((x) => x.lines).join('\n') + '\n' : undefined,
  };
}

// One to three random ipset sets over the zones' addresses: [{name, dims, nomatch, lines}].
// No element is added twice (`ipset restore` refuses that), counting every address and port a
// range adds.
function generateSets(r, zones, hostIn, port) {
  const sets = [];
  const prefixOf = (h, len) => `${ip((h & ((~0 << (32 - len)) >>> 0)) >>> 0)}/${len}`;
  const proto = () => r.pick(['tcp', 'tcp', 'udp']);
  const TYPES = ['hash:ip', 'hash:net', 'hash:net', 'hash:ip,port', 'hash:ip,port', 'hash:net,port',
    'hash:ip,port,ip', 'hash:ip,port,net', 'bitmap:ip', 'bitmap:port'];
  for (let i = r.int(1, 3); i > 0; i--) {
    const type = r.pick(TYPES);
    const name = `s${sets.length + 1}`;
    const seen = new Set();
    const lines = [];
    // Adds an element unless one of its keys (address, port, … after expansion) is there.
    const add = (element, keys, nomatch = false) => {
      if (keys.some((k) => seen.has(k))) return;
      for (const k of keys) seen.add(k);
      lines.push(`add ${name} ${element}${nomatch ? ' nomatch' : ''}`);
    };
    const z = () => r.pick(zones);
    const n = r.int(2, 7);
    let create = `create ${name} ${type} family inet hashsize 1024 maxelem 65536`;
    if (type === 'hash:ip') {
      const netmask = r.chance(0.25) ? 24 : 32;
      if (netmask !== 32) create += ` netmask ${netmask}`;
      for (let k = 0; k < n; k++) {
        const h = hostIn(z());
        add(ip(h), [prefixOf(h, netmask)]);
      }
    } else if (type === 'hash:net' || type === 'hash:net,port') {
      // Nested prefixes: a network, a nomatch part of it, a matching part of that.
      const portOf = type === 'hash:net,port' ? `,${proto()}:${port()}` : '';
      for (let k = 0; k < n; k++) {
        const h = hostIn(z());
        const lens = r.shuffle([16, 20, 24, 28, 32]).slice(0, r.int(1, 3)).sort((a, b) => a - b);
        lens.forEach((len, j) => {
          const net = prefixOf(h, len);
          add(`${net}${portOf}`, [`${net}${portOf}`], j % 2 === 1 || r.chance(0.1));
        });
      }
    } else if (type === 'hash:ip,port' || type === 'hash:ip,port,ip' || type === 'hash:ip,port,net') {
      for (let k = 0; k < n; k++) {
        const h = hostIn(z());
        const roll = r.next();
        let ports;
        if (roll < 0.15) ports = { text: `gre:0`, keys: ['gre'] };
        else if (roll < 0.3) ports = { text: String(port()), keys: [] };
        else if (roll < 0.4) {
          const a = Math.min(port(), 65530);
          const p = proto();
          ports = { text: `${p}:${a}-${a + 3}`, keys: [0, 1, 2, 3].map((d) => `${p}:${a + d}`) };
        } else {
          const p = `${proto()}:${port()}`;
          ports = { text: p, keys: [p] };
        }
        if (ports.keys.length === 0) ports.keys = [`tcp:${ports.text}`];
        let third = '';
        let thirdKey = '';
        if (type === 'hash:ip,port,ip') third = thirdKey = `,${ip(hostIn(z()))}`;
        if (type === 'hash:ip,port,net') third = thirdKey = `,${prefixOf(hostIn(z()), r.pick([16, 24, 32]))}`;
        const nomatch = type === 'hash:ip,port,net' && r.chance(0.2);
        add(`${ip(h)},${ports.text}${third}`, ports.keys.map((key) => `${ip(h)},${key}${thirdKey}`), nomatch);
      }
    } else if (type === 'bitmap:ip') {
      const base = hostIn(r.pick(zones.filter((x) => !x.networks.includes('0.0.0.0/0')))) & 0xffffff00;
      create = `create ${name} bitmap:ip range ${ip(base >>> 0)}/24`;
      for (let k = 0; k < n; k++) {
        const o = r.int(0, 255);
        add(ip((base + o) >>> 0), [String(o)]);
      }
    } else {
      create = `create ${name} bitmap:port range 1-65535`;
      for (let k = 0; k < n; k++) {
        const p = port();
        add(String(p), [String(p)]);
      }
    }
    const dims = type.startsWith('bitmap') ? 1 : type.split(',').length;
    sets.push({ name, dims, nomatch: type.includes('net'), lines: [create, ...lines] });
  }
  // Now and then a list of the sets made so far (a union; dimensions are each member's).
  if (r.chance(0.3)) {
    const members = r.shuffle(sets).slice(0, r.int(1, sets.length));
    sets.push({
      name: 'lst',
      dims: Math.max(...members.map((x) => x.dims)),
      nomatch: members.some((x) => x.nomatch),
      lines: ['create lst list:set size 8', ...members.map((x) => `add lst ${x.name}`)],
    });
  }
  return sets;
}
