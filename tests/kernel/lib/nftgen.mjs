// Random nftables cases for the kernel test: a topology (as lib/rulegen.mjs: four or five zones,
// one firewall, a few [[allow]] entries) and an nftables rule set in libnftables JSON, from a seed.
//
// The JSON is what `nft -j -f` loads (no handles; objects in an order nft can load: tables, sets,
// chains, maps, rules). The kernel test loads it and gives netcheck what `nft -j list ruleset`
// then prints, as a user would.
//
// What the rule sets hold is what netcheck models for nftables (docs/netcheck.md):
// - tables of the families ip and inet; base chains spread over them;
// - one to three filter chains on the forward hook with different priorities and policies (an
//   accept ends only its own base chain; a drop is final), now and then of equal priority;
// - filter chains on prerouting before conntrack (raw, -300: ct state is invalid there), before
//   DNAT (mangle) and after it (priority 0: the destination as translated), and on postrouting
//   before and after source NAT;
// - nat chains on prerouting (one or two, at declared priorities from -199 to 0: all run at the
//   nat hook's -100, the first DNAT ends the others) with dnat to an address, with or without a
//   port, dnat maps, redirect, exemptions (accept, return) and drops; a nat chain on postrouting
//   with masquerade and snat;
// - jump, goto and return into regular chains (a chain only calls later ones: no loops), and
//   return and continue in base chains;
// - named sets with intervals (addresses, ports, interfaces), anonymous sets, verdict maps
//   (anonymous and named, keys single or concatenated), concatenated set matches (anonymous and
//   named), set elements with comments;
// - ct state, iifname/oifname (with wildcards; iifname also on postrouting, oifname also on
//   prerouting, where no output interface is known yet), ip saddr/daddr with addresses,
//   prefixes, ranges and non-contiguous masks, meta l4proto and ip protocol, tcp/udp
//   dport/sport (single, range, sets, named sets, < and >), th dport for tcp and udp, icmp type,
//   tcp flags, meta nfproto, ct status dnat (and snat on postrouting, set once the nat hook has
//   run), and negation (!=) of all of these.
// Port ranges in DNAT and DNAT to address ranges are left out: the kernel picks one by hash.
import { addressing, caseTopology, randomAllows, randomZones } from './rulegen.mjs';

const ip = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const ipNum = (s) => s.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;

const payload = (protocol, field) => ({ payload: { protocol, field } });
const meta = (key) => ({ meta: { key } });
const ct = (key) => ({ ct: { key } });
const match = (left, right, op = '==') => ({ match: { op, left, right } });
const SADDR = payload('ip', 'saddr');
const DADDR = payload('ip', 'daddr');

// [first, last] of an address value ("a", {prefix}, {range}) or a port value (n, {range}).
function span(v) {
  if (typeof v === 'number') return [v, v];
  if (typeof v === 'string') return [ipNum(v), ipNum(v)];
  if (v.range) return v.range.map((x) => (typeof x === 'number' ? x : ipNum(x)));
  const first = ipNum(v.prefix.addr);
  return [first, first + 2 ** (32 - v.prefix.len) - 1];
}

// Elements that do not overlap (nft refuses overlapping intervals), at most `max` of them.
function disjoint(values, max = 5) {
  const out = [];
  for (const v of values) {
    const [a, b] = span(v);
    if (out.every((w) => { const [c, d] = span(w); return b < c || a > d; })) out.push(v);
    if (out.length >= max) break;
  }
  return out;
}

// Generates {topologyToml, rules} from `r` (an rng); `rules` is the JSON text, `config` its name.
export function generateNftCase(r, config = 'fw.json') {
  const zones = randomZones(r);
  const values = addressing(r, zones);
  const { hostIn, port } = values;
  const ifaceOf = (z) => z.iface;

  // ---- values ----
  const address = () => {
    const a = values.address();
    if (a === '0.0.0.0/0') return ip(hostIn(zones.find((z) => z.name === 'internet')));
    const [addr, len] = a.split('/');
    return len === undefined ? addr : { prefix: { addr, len: Number(len) } };
  };
  const addressValue = () => {
    if (r.chance(0.15)) {
      const a = hostIn(r.pick(zones));
      return { range: [ip(a), ip(Math.min(a + r.int(1, 300), 0xfffffffe))] };
    }
    return address();
  };
  const addressSet = () => disjoint(Array.from({ length: r.int(2, 5) }, addressValue));
  const portValue = () => {
    if (r.chance(0.7)) return port();
    const a = Math.min(port(), 65534);
    return { range: [a, Math.min(65535, a + r.pick([1, 10, 100, 1000]))] };
  };
  const portSet = () => disjoint(Array.from({ length: r.int(2, 5) }, portValue));
  const iface = () => (r.chance(0.08) ? 'eth*' : ifaceOf(r.pick(zones)));
  const ifaceSet = () => [...new Set(Array.from({ length: r.int(2, 3) }, () => ifaceOf(r.pick(zones))))];
  const neg = (p = 0.2) => (r.chance(p) ? '!=' : '==');
  // Set elements with a comment now and then (nft lists them as {"elem": {"val", "comment"}}).
  const commented = (list) => list.map((v) => (r.chance(0.1) ? { elem: { val: v, comment: `e${r.int(1, 99)}` } } : v));
  const pairs = () => {
    const seen = new Set();
    const out = [];
    for (let i = r.int(1, 3); i > 0; i--) {
      const pair = [ip(hostIn(r.pick(zones))), port()];
      if (!seen.has(pair.join())) out.push({ concat: pair });
      seen.add(pair.join());
    }
    return out;
  };

  // ---- tables, chains, sets ----
  const tables = []; // {family, name, sets: [], maps: [], chains: [], rules: []}
  const tableFor = () => {
    if (tables.length > 0 && (tables.length >= 3 || r.chance(0.5))) return r.pick(tables);
    const t = { family: r.chance(0.4) ? 'ip' : 'inet', name: `t${tables.length}`, sets: [], maps: [], chains: [], rules: [] };
    tables.push(t);
    return t;
  };
  const addRule = (t, chain, expr) => t.rules.push({ rule: { family: t.family, table: t.name, chain, expr } });
  const baseChain = (t, name, type, hook, prio, policy = 'accept') => {
    t.chains.push({ chain: { family: t.family, table: t.name, name, type, hook, prio, policy } });
    return name;
  };
  const regularChain = (t, name) => {
    t.chains.push({ chain: { family: t.family, table: t.name, name } });
    return name;
  };
  // A named set of the table, made on first use and then shared now and then.
  const namedSet = (t, kind) => {
    const old = t.sets.filter((s) => s.kind === kind);
    if (old.length > 0 && r.chance(0.5)) return `@${r.pick(old).name}`;
    const name = `${kind}${t.sets.length}`;
    const elem = kind === 'pair' ? pairs() : commented(kind === 'addr' ? addressSet() : kind === 'port' ? portSet() : ifaceSet());
    const type = { addr: 'ipv4_addr', port: 'inet_service', iface: 'ifname', pair: ['ipv4_addr', 'inet_service'] }[kind];
    const set = { family: t.family, table: t.name, name, type, elem };
    if (kind === 'addr' || kind === 'port') set.flags = ['interval'];
    t.sets.push({ kind, name, set });
    return `@${name}`;
  };

  // ---- matches ----
  // One rule's matches in a chain on `hook` (prerouting, forward, postrouting); opts.noSaddr
  // after source NAT (the lab's MASQUERADE address is not in the zones), opts.proto to force one.
  const matches = (t, hook, opts = {}) => {
    const m = [];
    const addr = (left) => {
      const roll = r.next();
      if (roll < 0.55) m.push(match(left, addressValue(), neg()));
      else if (roll < 0.75) m.push(match(left, { set: commented(addressSet()) }, neg(0.25)));
      else if (roll < 0.9) m.push(match(left, namedSet(t, 'addr'), neg(0.25)));
      else {
        // A non-contiguous mask: `ip saddr & 255.255.0.255 == 10.20.0.5`.
        const mask = r.pick(['255.255.0.255', '255.0.255.0', '255.255.255.0']);
        const value = ip((hostIn(r.pick(zones)) & ipNum(mask)) >>> 0);
        m.push(match({ '&': [left, mask] }, value, neg()));
      }
    };
    if (!opts.noSaddr && r.chance(0.4)) addr(SADDR);
    if (r.chance(0.4)) addr(DADDR);
    const ifMatch = (key) => {
      const roll = r.next();
      if (roll < 0.7) m.push(match(meta(key), iface(), neg(0.15)));
      else if (roll < 0.88) m.push(match(meta(key), { set: ifaceSet() }, neg(0.2)));
      else m.push(match(meta(key), namedSet(t, 'iface'), neg(0.2)));
    };
    if (r.chance(hook === 'postrouting' ? 0.2 : 0.45)) ifMatch('iifname');
    if (r.chance(hook === 'prerouting' ? 0.12 : 0.45)) ifMatch('oifname');

    const proto = opts.proto !== undefined ? opts.proto : r.pick(['tcp', 'tcp', 'tcp', 'udp', 'udp', 'icmp', 'gre', 'th', null, null]);
    const ports = (p, field) => {
      const roll = r.next();
      const left = payload(p, field);
      if (roll < 0.45) m.push(match(left, portValue(), neg(0.15)));
      else if (roll < 0.7) m.push(match(left, { set: portSet() }, neg(0.15)));
      else if (roll < 0.88) m.push(match(left, namedSet(t, 'port'), neg(0.15)));
      else m.push(match(left, r.pick([1024, 443, 8000, 49152]), r.pick(['<', '>', '<=', '>='])));
    };
    if (proto === 'tcp' || proto === 'udp') {
      if (r.chance(0.3)) m.push(match(r.chance(0.5) ? meta('l4proto') : payload('ip', 'protocol'), proto));
      if (r.chance(0.75)) ports(proto, 'dport');
      if (r.chance(0.15)) ports(proto, 'sport');
      if (proto === 'tcp' && r.chance(0.08)) {
        m.push(r.chance(0.5)
          ? match({ '&': [payload('tcp', 'flags'), ['syn', 'ack']] }, r.pick(['syn', 'ack']), neg(0.3))
          : match(payload('tcp', 'flags'), r.pick(['syn', 'ack', 'rst']), r.chance(0.7) ? 'in' : '!'));
      }
      if (r.chance(0.06)) {
        const right = r.chance(0.5) ? { set: pairs() } : namedSet(t, 'pair');
        m.push(match({ concat: [DADDR, payload(proto, 'dport')] }, right, neg(0.3)));
      }
    } else if (proto === 'th') {
      // th ports are modelled for tcp and udp: the rule restricts the protocol to those.
      m.push(match(meta('l4proto'), { set: ['tcp', 'udp'] }));
      m.push(match(payload('th', 'dport'), r.chance(0.6) ? portValue() : { set: portSet() }, neg(0.15)));
    } else if (proto === 'icmp') {
      const roll = r.next();
      if (roll < 0.3) m.push(match(meta('l4proto'), 'icmp'));
      else if (roll < 0.7) m.push(match(payload('icmp', 'type'), r.pick(['echo-request', 8, 'timestamp-request', 'echo-reply', 'destination-unreachable']), neg(0.2)));
      else m.push(match(payload('icmp', 'type'), { set: r.pick([['echo-request', 'timestamp-request'], ['echo-reply', 'echo-request'], ['address-mask-request', 'info-request']]) }, neg(0.2)));
    } else if (proto === 'gre') {
      m.push(match(r.chance(0.5) ? meta('l4proto') : payload('ip', 'protocol'), r.pick(['gre', 47, 'esp']), neg(0.2)));
    }
    if (!opts.noState && r.chance(0.25)) {
      m.push(r.pick([
        match(ct('state'), ['established', 'related'], 'in'),
        match(ct('state'), 'new'),
        match(ct('state'), 'new', 'in'),
        match(ct('state'), 'new', '!='),
        match(ct('state'), 'invalid', 'in'),
        match(ct('state'), 'established', '!='),
        match(ct('state'), { set: ['new', 'untracked'] }),
        match(ct('state'), { set: ['established', 'related'] }, '!='),
      ]));
    }
    if (opts.dnatSeen && r.chance(hook === 'postrouting' ? 0.25 : 0.1)) {
      // After the nat hook on postrouting the connection may also have the SNAT status.
      const status = hook === 'postrouting' ? r.pick(['snat', 'snat', 'dnat', ['dnat', 'snat']]) : 'dnat';
      m.push(match(ct('status'), status, r.chance(0.75) ? 'in' : '!'));
    }
    if (t.family === 'inet' && r.chance(0.03)) m.push(match(meta('nfproto'), 'ipv4'));
    m.proto = proto;
    return m;
  };

  // ---- verdicts ----
  const verdictOf = (kind, callable) => {
    if ((kind === 'jump' || kind === 'goto') && callable.length > 0) return { [kind]: { target: r.pick(callable) } };
    if (kind === 'jump' || kind === 'goto') return { accept: null };
    return { [kind]: null };
  };
  // A verdict map: anonymous or named, on an interface, an address, a port, a protocol or the
  // connection state; keys disjoint, verdicts among accept, drop, continue, return, jump, goto.
  // `proto`: the protocol the rule's matches chose (a port key must agree with it); `noSaddr`
  // as for matches().
  const vmap = (t, hook, callable, kinds, proto, noSaddr) => {
    const verdict = () => verdictOf(r.pick([...kinds, 'accept', 'drop', 'continue', ...(callable.length ? ['jump', 'goto'] : [])]), callable);
    const l4 = proto === 'tcp' || proto === 'udp' || proto === null || proto === undefined;
    const key = r.pick(hook === 'prerouting' ? ['iifname', 'saddr', ...(l4 ? ['dport'] : []), 'l4proto', 'concat']
      : ['iifname', 'oifname', ...(noSaddr ? [] : ['saddr']), 'daddr', ...(l4 ? ['dport', 'dport'] : []), 'l4proto', 'ct', 'concat']);
    let keyExpr;
    let keys;
    let type;
    switch (key) {
      case 'iifname':
      case 'oifname':
        keyExpr = meta(key);
        keys = [...new Set(Array.from({ length: r.int(1, 4) }, () => ifaceOf(r.pick(zones))))];
        type = 'ifname';
        break;
      case 'saddr':
      case 'daddr':
        keyExpr = key === 'saddr' ? SADDR : DADDR;
        keys = addressSet();
        type = 'ipv4_addr';
        break;
      case 'dport': {
        const p = proto ?? r.pick(['tcp', 'udp']);
        keyExpr = payload(p, 'dport');
        keys = portSet();
        type = 'inet_service';
        break;
      }
      case 'l4proto':
        keyExpr = meta('l4proto');
        keys = r.shuffle(['tcp', 'udp', 'icmp', 'gre']).slice(0, r.int(1, 3));
        type = 'inet_proto';
        break;
      case 'ct':
        keyExpr = ct('state');
        keys = r.shuffle(['established', 'related', 'invalid', 'new']).slice(0, r.int(1, 3));
        type = 'ct_state';
        break;
      default: { // iifname . oifname (forward, postrouting) or iifname . ip saddr (prerouting)
        const second = hook === 'prerouting' ? 'saddr' : 'oifname';
        keyExpr = { concat: [meta('iifname'), second === 'saddr' ? SADDR : meta('oifname')] };
        const seen = new Set();
        keys = [];
        for (let i = r.int(1, 4); i > 0; i--) {
          const a = ifaceOf(r.pick(zones));
          const b = second === 'saddr' ? ip(hostIn(r.pick(zones))) : ifaceOf(r.pick(zones));
          if (!seen.has(`${a}.${b}`)) keys.push({ concat: [a, b] });
          seen.add(`${a}.${b}`);
        }
        type = second === 'saddr' ? ['ifname', 'ipv4_addr'] : ['ifname', 'ifname'];
      }
    }
    const elem = keys.map((k) => [k, verdict()]);
    if (type !== 'ct_state' && r.chance(0.3)) {
      const name = `vm${t.maps.length}`;
      const m = { family: t.family, table: t.name, name, type, map: 'verdict', elem };
      if (type === 'ipv4_addr' || type === 'inet_service') m.flags = ['interval'];
      t.maps.push({ map: m });
      return { vmap: { key: keyExpr, data: `@${name}` } };
    }
    return { vmap: { key: keyExpr, data: { set: elem } } };
  };

  // Filter rules for a chain on `hook`; `callable`: the regular chains it may jump or goto to.
  const filterRule = (t, hook, chain, callable, opts) => {
    const expr = matches(t, hook, opts);
    if (r.chance(0.06)) expr.push({ counter: null });
    if (r.chance(0.12)) {
      expr.push(vmap(t, hook, callable, opts.inBase ? [] : ['return'], expr.proto, opts.noSaddr));
    } else {
      const kinds = ['accept', 'accept', 'accept', 'drop', 'drop', 'return', 'continue'];
      if (hook === 'forward') kinds.push('reject');
      if (callable.length > 0) kinds.push('jump', 'jump', 'goto');
      const kind = r.pick(kinds);
      if (kind === 'continue' && r.chance(0.5)) expr.push({ log: { prefix: 'x ' } });
      else expr.push(verdictOf(kind, callable));
    }
    addRule(t, chain, expr);
  };
  // A base chain with its regular chains (c1 only calls c2…: no loops).
  const filterChains = (t, base, hook, count, opts) => {
    const chains = Array.from({ length: r.int(0, 2) }, (_, i) => regularChain(t, `${base}_c${i + 1}`));
    for (let i = 0; i < count; i++) filterRule(t, hook, base, chains, { ...opts, inBase: true });
    chains.forEach((c, i) => {
      for (let k = r.int(1, 4); k > 0; k--) filterRule(t, hook, c, chains.slice(i + 1), opts);
    });
  };

  const dnatTo = (t, addr, p) => {
    const d = { addr };
    if (p !== undefined) d.port = p;
    return { dnat: t.family === 'inet' ? { family: 'ip', ...d } : d };
  };

  // ---- the base chains ----
  let hasNat = false;
  // nat on prerouting: port forwards, whole-address DNAT, DNAT maps, exemptions.
  const natPrios = r.shuffle([-100, -150, -90, -199, 0, -110]).slice(0, r.chance(0.3) ? 2 : 1);
  if (r.chance(0.55)) {
    hasNat = true;
    natPrios.forEach((prio, n) => {
      const t = tableFor();
      const name = baseChain(t, `dnat${n}`, 'nat', 'prerouting', prio);
      const rules = [];
      for (let i = r.int(1, 3); i > 0; i--) {
        const from = r.pick(zones);
        const to = r.pick(zones.filter((z) => z !== from));
        const target = ip(hostIn(to));
        const proto = r.pick(['tcp', 'tcp', 'udp', null]);
        const data = proto && r.chance(0.15)
          ? [...new Set([port(), port(), port()])].map((k) => [k, { concat: [ip(hostIn(to)), port()] }])
          : null;
        // The destinations matched never include a target: the kernel gives a connection the
        // DNAT status only when its destination changes (netcheck: whenever a DNAT rule took it).
        const targets = data ? data.map(([, v]) => ipNum(v.concat[0])) : [ipNum(target)];
        let daddr = r.chance(0.6) ? ip(hostIn(from)) : address();
        while (targets.some((x) => { const [lo, hi] = span(daddr); return x >= lo && x <= hi; })) daddr = ip(hostIn(from));
        const head = [match(meta('iifname'), from.iface), match(DADDR, daddr)];
        if (r.chance(0.2)) head.unshift(match(SADDR, address(), '!='));
        if (!proto) {
          rules.push([...head, dnatTo(t, target)]);
        } else if (data) {
          rules.push([...head, match(meta('l4proto'), proto), dnatTo(t, { map: { key: payload(proto, 'dport'), data: { set: data } } })]);
        } else {
          rules.push([...head, match(payload(proto, 'dport'), port()), dnatTo(t, target, r.chance(0.6) ? port() : undefined)]);
        }
        if (r.chance(0.2)) rules.splice(rules.length - 1, 0, [match(SADDR, address()), r.pick([{ accept: null }, { return: null }])]);
        if (r.chance(0.08)) rules.splice(rules.length - 1, 0, [match(SADDR, address()), { drop: null }]);
      }
      if (r.chance(0.15)) {
        rules.unshift([match(meta('iifname'), r.pick(zones).iface), match(payload('tcp', 'dport'), r.pick([80, 443, 8080])), { redirect: { port: 3128 } }]);
      }
      if (r.chance(0.25)) {
        // The port forwards in a regular chain, entered by jump or goto.
        const pf = regularChain(t, `${name}_pf`);
        for (const expr of rules) addRule(t, pf, expr);
        if (r.chance(0.4)) addRule(t, pf, [{ return: null }]);
        addRule(t, name, [match(meta('iifname'), r.chance(0.5) ? r.pick(zones).iface : { set: ifaceSet() }), { [r.pick(['jump', 'goto'])]: { target: pf } }]);
      } else {
        for (const expr of rules) addRule(t, name, expr);
      }
    });
  }
  // nat on postrouting: masquerade and snat.
  let srcNat = false;
  if (r.chance(hasNat ? 0.6 : 0.3)) {
    const t = tableFor();
    const name = baseChain(t, 'snat0', 'nat', 'postrouting', r.pick([100, 100, 50, 150]));
    if (r.chance(0.2)) addRule(t, name, [match(DADDR, address()), { accept: null }]);
    if (r.chance(0.6)) addRule(t, name, [match(meta('oifname'), r.pick(zones).iface), { masquerade: null }]);
    if (r.chance(0.5)) {
      const to = `100.64.${r.int(0, 255)}.${r.int(1, 254)}`;
      addRule(t, name, [match(SADDR, address()), match(meta('oifname'), r.pick(zones).iface),
        { snat: t.family === 'inet' ? { family: 'ip', addr: to } : { addr: to } }]);
    }
    srcNat = true;
  }
  // filter on prerouting: before conntrack, before DNAT, or after it.
  if (r.chance(0.3)) {
    const t = tableFor();
    const prio = r.pick([-300, -250, -150, -120, 0, 10]);
    const name = baseChain(t, 'pre0', 'filter', 'prerouting', prio, 'accept');
    filterChains(t, name, 'prerouting', r.int(1, 3), { noState: prio > -200 && r.chance(0.5), dnatSeen: prio > -100 });
  }
  // filter on forward: one to three base chains.
  const forwardPrios = r.shuffle([-150, -10, -5, 0, 0, 5, 10, 50]);
  const nForward = r.pick([1, 1, 2, 2, 3]);
  for (let n = 0; n < nForward; n++) {
    const t = tableFor();
    const name = baseChain(t, `fwd${n}`, 'filter', 'forward', forwardPrios[n], r.chance(n === 0 ? 0.7 : 0.4) ? 'drop' : 'accept');
    if (r.chance(0.5)) addRule(t, name, [match(ct('state'), ['established', 'related'], 'in'), { accept: null }]);
    if (hasNat && r.chance(0.5)) {
      addRule(t, name, [...(r.chance(0.5) ? [match(meta('iifname'), r.pick(zones).iface)] : []), match(ct('status'), 'dnat', 'in'), { accept: null }]);
    }
    filterChains(t, name, 'forward', r.int(2, n === 0 ? 12 : 5), { dnatSeen: true });
  }
  // filter on postrouting: before or after source NAT.
  if (r.chance(srcNat ? 0.35 : 0.15)) {
    const t = tableFor();
    const prio = r.pick([0, 200]);
    const name = baseChain(t, 'post0', 'filter', 'postrouting', prio, 'accept');
    filterChains(t, name, 'postrouting', r.int(1, 3), { noSaddr: srcNat && prio > 100, dnatSeen: true });
  }

  // Tables, sets, chains, then maps (a map's jumps need their chains), then rules.
  const items = [];
  for (const t of tables) items.push({ table: { family: t.family, name: t.name } });
  for (const t of tables) for (const s of t.sets) items.push({ set: s.set });
  for (const t of tables) items.push(...t.chains);
  for (const t of tables) items.push(...t.maps);
  for (const t of tables) items.push(...t.rules);

  const allows = randomAllows(r, zones, values);
  return {
    topologyToml: caseTopology(zones, allows, 'nft-json', config),
    rules: `${JSON.stringify({ nftables: items }, null, 1)}\n`,
  };
}
