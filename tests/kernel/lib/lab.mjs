// A firewall lab in Linux network namespaces, for proving netcheck against the kernel.
//
// For a topology with one device: a firewall namespace with one veth interface per topology
// interface (named as in the topology: eth0, eth1, …) and, on the other end of each, one host
// namespace for the zone it faces. The firewall forwards (ip_forward=1, rp_filter=0, no
// redirects) and routes every zone network out of the interface facing that zone (0.0.0.0/0 as
// the default route), so the kernel's longest-prefix routing is netcheck's "zone of an address";
// the networks of a zone no interface faces are blackholed (netcheck: they leave nowhere). A
// device's ipset file is restored into the firewall namespace before its rules.
// No ARP: MAC addresses are fixed and the neighbours static; the link addresses (198.18.i.1 on
// the firewall, 198.18.i.2 on host i, RFC 2544 space) are never probed. MASQUERADE uses the
// firewall's.
//
// Probes (tests/kernel/netprobe.cc) are raw first packets — TCP SYN, UDP datagram, ICMP, other
// protocols — sent from the source zone's host with the source address they name, tagged by
// their IP identification; every host listens on its interface with an AF_PACKET socket, so a
// probe is "delivered to zone Z" when it reaches Z's host, whatever the return path.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { intToIp } from './topology.mjs';

export const NETPROBE = process.env.MAMORI_NETPROBE ?? path.resolve('build/release/tests/netprobe');

const PREFIX = `mnc${process.pid}`;
const live = new Set(); // namespaces this process created and has not deleted

function removeNamespaces(names) {
  if (names.length === 0) return;
  const script = names.map((n) => `netns del ${n}`).join('\n') + '\n';
  spawnSync('ip', ['-force', '-batch', '-'], { input: script, encoding: 'utf8' });
  for (const n of names) live.delete(n);
}

// A crash must not leave namespaces behind; those of earlier runs whose process is gone go too.
process.on('exit', () => removeNamespaces([...live]));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    removeNamespaces([...live]);
    process.exit(130);
  });
}

export function removeStaleNamespaces() {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const stale = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^(mnc(\d+)-\S+)/.exec(line);
    if (!m || Number(m[2]) === process.pid) continue;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      stale.push(m[1]);
    }
  }
  removeNamespaces(stale);
}

// Why the kernel test cannot run here (undefined when it can): it needs root and `ip netns`.
export function skipReason() {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid() !== 0) return 'not root';
  const name = `${PREFIX}-probe`;
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.error || add.status !== 0) {
    return `ip netns is unavailable (${add.error?.message ?? add.stderr.trim()})`;
  }
  spawnSync('ip', ['netns', 'del', name]);
  return undefined;
}

// Runs a command; resolves {status, stdout, stderr}; rejects when it cannot start.
export function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // a child that exits early: its status says why
      child.stdin.end(input);
    }
  });
}

async function must(cmd, args, input) {
  const r = await run(cmd, args, input);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  }
  return r;
}

// How a device's configuration is loaded into the firewall namespace, per topology format.
// Adding a format is one entry, after which every golden case of that format runs too.
// Each case has namespaces of its own (created by up(), deleted by down()), so a loader starts
// from an empty rule set; nft-json still flushes first, so that a load is the whole rule set.
// MAMORI_KERNEL_IPTABLES=legacy loads iptables-save files with iptables-legacy-restore (x_tables)
// instead of Debian's default iptables-restore (iptables-nft, nf_tables).
export const LOADERS = {
  'iptables-save': (ns, file) =>
    must('ip', ['netns', 'exec', ns, iptablesRestore(), '-w'], readFileSync(file)), // -w: the xtables lock
  // The JSON of `nft -j list ruleset`. nft 1.0.6 (Debian 12) lists a map before the chains its
  // elements jump to and cannot load that listing back: such a file needs the map after the
  // chains (golden case nft_vmap).
  'nft-json': async (ns, file) => {
    await must('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset']);
    // By name: nft reads `-f -` through /dev/stdin, which cannot be opened on Node's pipe (a socket).
    await must('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', path.resolve(file)]);
  },
};

// What `nft -j list ruleset` prints once the nft JSON in `file` is loaded (in a namespace of its
// own, deleted after): the rule set as the kernel holds it, in nft's own words, which is what
// netcheck reads on a real firewall.
let listings = 0;
export async function nftListing(file) {
  const ns = `${PREFIX}-list${listings++}`;
  await must('ip', ['netns', 'add', ns]);
  live.add(ns);
  try {
    await must('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', path.resolve(file)]);
    return (await must('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset'])).stdout;
  } finally {
    removeNamespaces([ns]);
  }
}

// A device's `ipset` file (the output of `ipset save`) is restored into the firewall namespace
// before its rules, which refer to its sets (ipset sets belong to a network namespace).
export function loadIpset(ns, file) {
  return must('ip', ['netns', 'exec', ns, 'ipset', 'restore'], readFileSync(file));
}

export function iptablesRestore() {
  return process.env.MAMORI_KERNEL_IPTABLES === 'legacy'
    ? 'iptables-legacy-restore'
    : 'iptables-restore';
}

// Whether the lab can stand for `topology`: one device, each zone behind at most one of its
// interfaces. Returns the reason when it cannot.
export function unsupported(topology) {
  if (topology.devices.length !== 1) return 'the lab models exactly one device';
  const device = topology.devices[0];
  if (!LOADERS[device.format]) return `no loader for format ${device.format}`;
  const seen = new Set();
  for (const zone of Object.values(device.interfaces)) {
    if (seen.has(zone)) return `zone ${zone} is behind two interfaces (routing would pick one)`;
    seen.add(zone);
  }
  return undefined;
}

const mac = (i, end) => `02:4d:00:00:${i.toString(16).padStart(2, '0')}:0${end}`;

export class Lab {
  // `tag` makes the namespace names unique within this process.
  constructor(topology, tag) {
    this.topology = topology;
    this.fw = `${PREFIX}-${tag}-fw`;
    this.hosts = new Map(); // zone → {ns, iface (firewall side), hostIface, index}
    const device = topology.devices[0];
    let index = 0;
    for (const [iface, zone] of Object.entries(device.interfaces)) {
      this.hosts.set(zone, { ns: `${PREFIX}-${tag}-h${index}`, iface, hostIface: `h${index}`, index });
      index++;
    }
  }

  async up() {
    const names = [this.fw, ...[...this.hosts.values()].map((h) => h.ns)];
    const batch = [];
    for (const n of names) {
      batch.push(`netns add ${n}`);
      live.add(n);
    }
    for (const h of this.hosts.values()) {
      batch.push(
        `link add ${h.iface} netns ${this.fw} address ${mac(h.index, 1)} type veth ` +
          `peer name ${h.hostIface} netns ${h.ns} address ${mac(h.index, 2)}`,
      );
    }
    await must('ip', ['-batch', '-'], batch.join('\n') + '\n');
    const sysctl = (key, value) => `echo ${value} > /proc/sys/net/${key}`;
    const fw = [
      'ip link set lo up',
      sysctl('ipv4/ip_forward', 1),
      ...['all', 'default'].flatMap((k) => [
        sysctl(`ipv4/conf/${k}/rp_filter`, 0),
        sysctl(`ipv4/conf/${k}/send_redirects`, 0),
      ]),
    ];
    for (const [zone, h] of this.hosts) {
      const gw = `198.18.${h.index}.2`;
      fw.push(
        sysctl(`ipv4/conf/${h.iface}/rp_filter`, 0),
        sysctl(`ipv4/conf/${h.iface}/send_redirects`, 0),
        sysctl(`ipv6/conf/${h.iface}/disable_ipv6`, 1),
        `ip link set ${h.iface} up`,
        `ip addr add 198.18.${h.index}.1/32 dev ${h.iface}`,
        `ip neigh replace ${gw} lladdr ${mac(h.index, 2)} dev ${h.iface} nud permanent`,
      );
    }
    // Each zone's networks leave on the interface facing it; those of a zone no interface faces
    // leave nowhere (as in netcheck).
    for (const z of this.topology.zones) {
      const h = this.hosts.get(z.name);
      for (const n of z.networks) {
        const dst = n.length === 0 ? 'default' : `${intToIp(n.address)}/${n.length}`;
        fw.push(h ? `ip route add ${dst} via 198.18.${h.index}.2 dev ${h.iface} onlink`
          : `ip route add blackhole ${dst}`);
      }
    }
    await must('ip', ['netns', 'exec', this.fw, 'sh', '-ec', fw.join('\n')]);
    await Promise.all(
      [...this.hosts.values()].map((h) =>
        must('ip', ['netns', 'exec', h.ns, 'sh', '-ec', [
          'ip link set lo up',
          sysctl(`ipv6/conf/${h.hostIface}/disable_ipv6`, 1),
          `ip link set ${h.hostIface} up`,
          `ip addr add 198.18.${h.index}.2/32 dev ${h.hostIface}`,
          `ip neigh replace 198.18.${h.index}.1 lladdr ${mac(h.index, 1)} dev ${h.hostIface} nud permanent`,
          `ip route add default via 198.18.${h.index}.1 dev ${h.hostIface} onlink`,
        ].join('\n')]),
      ),
    );
  }

  // Loads the device's rules from `file` (in the device's format), after its ipset file `ipset`
  // when it has one (for any format).
  async load(file, ipset) {
    if (ipset) await loadIpset(this.fw, ipset);
    await LOADERS[this.topology.devices[0].format](this.fw, file);
  }

  // Empties the firewall's connection table.
  async flush() {
    await must(NETPROBE, ['flush', this.fw]);
  }

  // Connections the firewall's conntrack holds (0 while no rule set needs conntrack).
  async conntrackCount() {
    const r = await must('ip', ['netns', 'exec', this.fw, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count']);
    return Number(r.stdout.trim());
  }

  // Sends `probes` ({id, from, src, dst, proto, sport, dport, icmpType}; addresses as numbers)
  // from their zones' hosts and returns what each host received, [{zone, id, src, dst, proto,
  // sport, dport, icmpType}], after `settleMs` of quiet.
  async pass(probes, settleMs = 150) {
    const sniffer = await this.#sniff();
    try {
      const lines = probes.map((p) =>
        [this.hosts.get(p.from).ns, p.id, ip(p.src), ip(p.dst), p.proto, p.sport, p.dport, p.icmpType].join(' '),
      );
      await must(NETPROBE, ['send'], lines.join('\n') + '\n');
      await sleep(settleMs);
    } finally {
      sniffer.child.stdin.end();
    }
    const zoneOfNs = new Map([...this.hosts].map(([zone, h]) => [h.ns, zone]));
    const received = [];
    for (const line of (await sniffer.done).split('\n')) {
      const f = line.split(' ');
      if (f.length !== 8) continue;
      received.push({
        zone: zoneOfNs.get(f[0]),
        id: Number(f[1]),
        src: ipNum(f[2]),
        dst: ipNum(f[3]),
        proto: Number(f[4]),
        sport: Number(f[5]),
        dport: Number(f[6]),
        icmpType: Number(f[7]),
      });
    }
    return received;
  }

  // One netprobe listening on every host's interface; resolves once it is ready.
  #sniff() {
    const listeners = [...this.hosts.values()].map((h) => `${h.ns}:${h.hostIface}`);
    return new Promise((resolve, reject) => {
      const child = spawn(NETPROBE, ['sniff', ...listeners], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let ready = false;
      const done = new Promise((res, rej) => {
        child.on('close', (status) =>
          status === 0 ? res(out) : rej(new Error(`netprobe sniff: ${status} ${err}`)),
        );
      });
      child.on('error', reject);
      child.stdin.on('error', () => {}); // ended after it exited: its status says why
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => {
        out += d;
        if (!ready && out.startsWith('ready\n')) {
          ready = true;
          out = out.slice('ready\n'.length);
          resolve({ child, done });
        }
      });
      done.catch((e) => (ready ? undefined : reject(e)));
    });
  }

  down() {
    removeNamespaces([this.fw, ...[...this.hosts.values()].map((h) => h.ns)]);
  }
}

const ip = intToIp;
const ipNum = (s) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
