// What a network namespace looks like from the outside, normalised so that two
// snapshots of an unchanged namespace are equal: links, addresses, routes and
// rules (IPv4 and IPv6), permanent neighbours, the firewall (nft ruleset,
// iptables-save, ip6tables-save), a few sysctls the lab sets in its own
// namespaces, and listening sockets. Counters, lifetimes, expiry timers and
// comment lines with dates are left out.
//
// For the root namespace, the e2e suite takes one before a lab goes up and one
// after it is torn down and requires them to be identical:
//
//   const guard = await RootNamespaceGuard.record();      // top of the test file
//   ... tests that make and tear down labs ...
//   t.test('root namespace left as it was', async (t) => t.same(await guard.changes(), []));
//
// Listening sockets of processes outside this process's tree are left out of the
// comparison: other test files run in parallel and open and close servers of
// their own; whatever a lab could leak into the root namespace is a process this
// process started.
import { readdirSync, readFileSync } from 'node:fs';
import { run } from './command.js';

export interface Listener {
  readonly proto: string;
  readonly local: string;
  /** Process names owning the socket ("" when ss shows none). */
  readonly processes: string;
  /** Owned by this process or one of its descendants. */
  readonly own: boolean;
}

export interface NamespaceSnapshot {
  /** Undefined: the root namespace. */
  readonly ns: string | undefined;
  readonly links: readonly string[];
  readonly addresses: readonly string[];
  readonly routes: readonly string[];
  readonly rules: readonly string[];
  readonly neighbours: readonly string[];
  readonly nftRuleset: readonly string[];
  readonly iptables: readonly string[];
  readonly ip6tables: readonly string[];
  readonly sysctls: readonly string[];
  readonly listeners: readonly Listener[];
}

/** Sysctls the lab sets in its namespaces: the same keys must not move in the root namespace. */
export const WATCHED_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv4.icmp_ratelimit',
  'net.ipv4.ping_group_range',
  'net.ipv4.conf.all.forwarding',
  'net.ipv6.conf.all.forwarding',
  'net.ipv6.conf.default.disable_ipv6',
  'net.ipv6.conf.all.disable_ipv6',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.ipv4.neigh.default.gc_thresh3',
];

function inNs(ns: string | undefined, argv: string[]): string[] {
  return ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv];
}

function ipCmd(ns: string | undefined, args: string[]): string[] {
  return ns === undefined ? ['ip', ...args] : ['ip', '-n', ns, ...args];
}

async function out(argv: string[], optional = false): Promise<string> {
  const r = await run(argv, { allowFailure: optional, timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout : '';
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
}

interface IpLink {
  ifname: string;
  link_type?: string;
  address?: string;
  mtu?: number;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
}

interface IpAddr {
  ifname: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string; label?: string }>;
}

function normaliseLinks(json: string): string[] {
  const links = JSON.parse(json || '[]') as IpLink[];
  return links
    .map((l) => [l.ifname, l.linkinfo?.info_kind ?? l.link_type ?? '', l.address ?? '', `mtu ${l.mtu ?? ''}`, [...(l.flags ?? [])].sort().join(','), l.master ? `master ${l.master}` : ''].filter((x) => x !== '').join(' '))
    .sort();
}

function normaliseAddresses(json: string): string[] {
  const links = JSON.parse(json || '[]') as IpAddr[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.family ?? ''} ${a.local ?? ''}/${a.prefixlen ?? ''} scope ${a.scope ?? ''}${a.label && a.label !== l.ifname ? ` label ${a.label}` : ''}`)).sort();
}

/** Route and rule lines without the parts that tick: expiry timers, cached PMTU ages. */
function normaliseRoutes(text: string): string[] {
  return lines(text)
    .map((l) => l.replace(/\s+expires \S+/g, '').replace(/\s+age \S+/g, '').replace(/\s+/g, ' ').trim())
    .sort();
}

/** nft/iptables output without counters, set-element timers and dated comments. */
function normaliseFirewall(text: string): string[] {
  return lines(text)
    .filter((l) => !l.startsWith('#'))
    .map((l) =>
      l
        .replace(/\[\d+:\d+\]/g, '[-:-]')
        .replace(/counter packets \d+ bytes \d+/g, 'counter')
        .replace(/\s+expires \S+/g, '')
        .replace(/quota (over )?(\d+ \S+) used \d+ \S+/g, 'quota $1$2'),
    );
}

async function sysctls(ns: string | undefined): Promise<string[]> {
  if (ns === undefined) {
    return WATCHED_SYSCTLS.map((key) => {
      try {
        return `${key} = ${readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim().replace(/\s+/g, ' ')}`;
      } catch {
        return `${key} absent`;
      }
    });
  }
  const text = await out(inNs(ns, ['sysctl', '-e', ...WATCHED_SYSCTLS]), true);
  const found = new Map(lines(text).map((l) => [l.split(' = ')[0] ?? '', l.replace(/\s+/g, ' ')]));
  return WATCHED_SYSCTLS.map((key) => found.get(key) ?? `${key} absent`);
}

/** This process and every process descended from it. */
function ownPids(): Set<number> {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  const own = new Set<number>();
  const todo = [process.pid];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (own.has(pid)) continue;
    own.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return own;
}

function parseListeners(text: string, own: Set<number>): Listener[] {
  const out: Listener[] = [];
  for (const l of lines(text)) {
    // Netid State Recv-Q Send-Q Local Peer [Process]
    const f = l.trim().split(/\s+/);
    const proto = f[0] ?? '';
    const local = f[4] ?? '';
    const procField = f.slice(6).join(' ');
    const names = [...procField.matchAll(/\("([^"]*)"/g)].map((m) => m[1] ?? '').sort();
    const pids = [...procField.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    out.push({ proto, local, processes: [...new Set(names)].join(','), own: pids.some((p) => own.has(p)) });
  }
  return out.sort((a, b) => `${a.proto} ${a.local} ${a.processes}`.localeCompare(`${b.proto} ${b.local} ${b.processes}`));
}

/** A normalised snapshot of a namespace (the root namespace when `ns` is undefined). */
export async function takeSnapshot(ns?: string): Promise<NamespaceSnapshot> {
  const [links, addrs, r4, r6, rule4, rule6, neigh4, neigh6, nft, ipt, ip6t, sys, ss] = await Promise.all([
    out(ipCmd(ns, ['-j', '-d', 'link', 'show'])),
    out(ipCmd(ns, ['-j', 'addr', 'show'])),
    out(ipCmd(ns, ['-4', 'route', 'show', 'table', 'all'])),
    out(ipCmd(ns, ['-6', 'route', 'show', 'table', 'all'])),
    out(ipCmd(ns, ['-4', 'rule', 'show'])),
    out(ipCmd(ns, ['-6', 'rule', 'show'])),
    out(ipCmd(ns, ['-4', 'neigh', 'show', 'nud', 'permanent'])),
    out(ipCmd(ns, ['-6', 'neigh', 'show', 'nud', 'permanent'])),
    out(inNs(ns, ['nft', 'list', 'ruleset'])),
    out(inNs(ns, ['iptables-save'])),
    out(inNs(ns, ['ip6tables-save'])),
    sysctls(ns),
    out(inNs(ns, ['ss', '-H', '-l', '-t', '-u', '-n', '-p'])),
  ]);
  return {
    ns,
    links: normaliseLinks(links),
    addresses: normaliseAddresses(addrs),
    routes: [...normaliseRoutes(r4).map((l) => `v4 ${l}`), ...normaliseRoutes(r6).map((l) => `v6 ${l}`)],
    rules: [...normaliseRoutes(rule4).map((l) => `v4 ${l}`), ...normaliseRoutes(rule6).map((l) => `v6 ${l}`)],
    neighbours: [...normaliseRoutes(neigh4), ...normaliseRoutes(neigh6)],
    nftRuleset: normaliseFirewall(nft),
    iptables: normaliseFirewall(ipt),
    ip6tables: normaliseFirewall(ip6t),
    sysctls: sys,
    listeners: parseListeners(ss, ns === undefined ? ownPids() : new Set()),
  };
}

const SECTIONS = ['links', 'addresses', 'routes', 'rules', 'neighbours', 'nftRuleset', 'iptables', 'ip6tables', 'sysctls'] as const;

function listenerLine(l: Listener): string {
  return `${l.proto} ${l.local} ${l.processes}`.trim();
}

/**
 * What changed between two snapshots, one line per difference ("routes: + v4
 * ..."), empty if nothing did. In the root namespace, listeners of processes
 * outside this process's tree are not compared (see the top of this file).
 */
export function diffSnapshots(before: NamespaceSnapshot, after: NamespaceSnapshot): string[] {
  const diffs: string[] = [];
  const compare = (section: string, a: readonly string[], b: readonly string[]) => {
    const count = (xs: readonly string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
    const ca = count(a);
    const cb = count(b);
    for (const [x, n] of ca) if ((cb.get(x) ?? 0) < n) diffs.push(`${section}: - ${x}`);
    for (const [x, n] of cb) if ((ca.get(x) ?? 0) < n) diffs.push(`${section}: + ${x}`);
  };
  for (const s of SECTIONS) compare(s, before[s], after[s]);
  const comparable = (ls: readonly Listener[]) => ls.filter((l) => before.ns !== undefined || l.own || l.processes === '').map(listenerLine);
  compare('listeners', comparable(before.listeners), comparable(after.listeners));
  return diffs;
}

/** Snapshot before, compare after: see the top of this file. */
export class RootNamespaceGuard {
  private constructor(readonly before: NamespaceSnapshot) {}

  static async record(): Promise<RootNamespaceGuard> {
    return new RootNamespaceGuard(await takeSnapshot());
  }

  /**
   * Differences between the root namespace now and when recorded. Waits up to
   * `settleMs` for them to go away (a process that was just killed may still hold
   * its socket for a moment), then reports what is left.
   */
  async changes(settleMs = 2000): Promise<string[]> {
    const until = Date.now() + settleMs;
    for (;;) {
      const diffs = diffSnapshots(this.before, await takeSnapshot());
      if (diffs.length === 0 || Date.now() >= until) return diffs;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
