// The faults a lab injects, as rules: pure functions from a fault to the
// iptables/nft text that makes it, and back from the rules found in the lab to
// the faults they are. The state lives in the namespaces themselves (tagged
// rules, the delayer's command line, the cable's link state), so a later CLI
// invocation sees the same faults a test made, and `clear` needs no memory.
import type { DnsReplica, LabNode } from './addressing.js';

/** iptables chain in each node's filter table, jumped to first from INPUT. */
export const INPUT_CHAIN = 'NMLAB-IN';
/** iptables chain in each node's mangle table, jumped to from POSTROUTING. */
export const EGRESS_CHAIN = 'NMLAB-OUT';
/** The NFQUEUE number the delayer binds; queues are per namespace, so one number serves every node. */
export const DELAY_QUEUE = 100;
/** iptables chain in each node's nat table, jumped to from OUTPUT: the DNS service (kube-proxy's KUBE-SERVICES). */
export const SERVICE_CHAIN = 'NMLAB-SVC';
/** nft table (bridge family) in the bridge namespace that holds the loss rules. */
export const NFT_TABLE = 'nmlab';
const TAG = 'nmlab';

export type BlockMode = 'drop' | 'reject' | 'unreachable';
export type BlockProto = 'icmp' | 'tcp' | 'all';
export type Proto = 'icmp' | 'tcp' | 'udp';
export type PortProto = 'tcp' | 'udp';
export type PortMode = 'reject' | 'drop';
/** An address family: iptables rules are IPv4's, ip6tables rules IPv6's. */
export type Family = 'ipv4' | 'ipv6';
/** What blockPair blocks in a dual-stack lab: one family, or both ('all'). */
export type BlockFamily = Family | 'all';

export const BLOCK_MODES: readonly BlockMode[] = ['drop', 'reject', 'unreachable'];
export const BLOCK_PROTOS: readonly BlockProto[] = ['icmp', 'tcp', 'all'];
export const PROTOS: readonly Proto[] = ['icmp', 'tcp', 'udp'];
export const PORT_PROTOS: readonly PortProto[] = ['tcp', 'udp'];
export const PORT_MODES: readonly PortMode[] = ['reject', 'drop'];
export const BLOCK_FAMILIES: readonly BlockFamily[] = ['ipv4', 'ipv6', 'all'];

export type Fault =
  /** `family` only in a dual-stack lab where one family alone is blocked; absent: every family the lab has. */
  | { readonly kind: 'block'; readonly mode: BlockMode; readonly src: string; readonly dst: string; readonly proto: BlockProto; readonly family?: Family }
  | { readonly kind: 'block-proto'; readonly node: string; readonly proto: Proto }
  /** One port of a node closed to the network (a host firewall rule on its INPUT). */
  | { readonly kind: 'block-port'; readonly node: string; readonly proto: PortProto; readonly port: number; readonly mode: PortMode }
  | { readonly kind: 'cut'; readonly node: string }
  | { readonly kind: 'mtu'; readonly node: string; readonly bytes: number }
  | { readonly kind: 'delay'; readonly node: string; readonly ms: number; readonly jitterMs: number }
  | { readonly kind: 'loss'; readonly node: string; readonly percent: number }
  /** A DNS replica stopped: dnsmasq ended and its cable down (the pod is gone, its IP answers nothing). */
  | { readonly kind: 'dns-stopped'; readonly replica: string }
  /** A node's DNS queries (UDP and TCP port 53) dropped on every replica's INPUT. */
  | { readonly kind: 'dns-blocked'; readonly node: string };

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'block':
      return `${f.mode} ${f.src} -> ${f.dst}${f.proto === 'all' ? '' : ` (${f.proto} only)`}${f.family ? ` (${f.family === 'ipv4' ? 'IPv4' : 'IPv6'} only)` : ''}${f.mode === 'drop' ? ' (both directions)' : ''}`;
    case 'block-proto':
      return `all ${f.proto} into ${f.node} dropped`;
    case 'block-port':
      return `${f.node}: ${f.proto} port ${f.port} ${f.mode === 'reject' ? 'rejected' : 'dropped'} from the network`;
    case 'cut':
      return `${f.node}: cable cut`;
    case 'mtu':
      return `${f.node}: cable MTU ${f.bytes} (larger frames vanish)`;
    case 'delay':
      return `${f.node}: egress delay ${f.ms} ms${f.jitterMs ? ` ± ${f.jitterMs} ms` : ''}`;
    case 'loss':
      return `${f.node}: egress loss ${f.percent} %`;
    case 'dns-stopped':
      return `${f.replica}: DNS replica stopped (dnsmasq ended, cable down)`;
    case 'dns-blocked':
      return `${f.node}: DNS queries dropped (port 53 to every replica)`;
  }
}

/** The command of each family: iptables for IPv4, ip6tables for IPv6 (iptables rules never touch IPv6). */
export function iptablesFor(family: Family, what: '' | '-restore' = ''): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}${what}`;
}

/** The IPv6 name of a protocol where it has one of its own: ICMP is ICMPv6 (`ipv6-icmp`). */
function protoName(proto: string, family: Family): string {
  return proto === 'icmp' && family === 'ipv6' ? 'ipv6-icmp' : proto;
}

/** An echo request of the family (ping), matched by type. */
function echoRequest(family: Family): string[] {
  return family === 'ipv4' ? ['-p', 'icmp', '--icmp-type', 'echo-request'] : ['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request'];
}

/** REJECT's answers in each family: ICMPv6 has "address unreachable" (EHOSTUNREACH) where ICMP has "host unreachable". */
const REJECT_WITH = {
  ipv4: { port: 'icmp-port-unreachable', host: 'icmp-host-unreachable' },
  ipv6: { port: 'icmp6-port-unreachable', host: 'icmp6-addr-unreachable' },
} as const;

/** A node's addresses of one family as an iptables source match (`-s pod/32,node/32`). */
function sourceOf(n: LabNode, family: Family): string[] {
  if (family === 'ipv4') return ['-s', `${n.podIP}/32,${n.nodeIP}/32`];
  if (n.podIP6 === null || n.nodeIP6 === null) throw new Error(`${n.name} has no IPv6 addresses: the lab is not dual-stack (createLab({ ipv6: true }))`);
  return ['-s', `${n.podIP6}/128,${n.nodeIP6}/128`];
}

/** iptables-restore input that creates the lab's chains in a node namespace and hooks them in. */
export function nodeChainsSetup(): string {
  return [
    '*filter',
    `:${INPUT_CHAIN} - [0:0]`,
    `-I INPUT 1 -j ${INPUT_CHAIN}`,
    'COMMIT',
    '*mangle',
    `:${EGRESS_CHAIN} - [0:0]`,
    `-I POSTROUTING 1 -j ${EGRESS_CHAIN}`,
    'COMMIT',
    '',
  ].join('\n');
}

function comment(parts: readonly string[]): string[] {
  return ['-m', 'comment', '--comment', [TAG, ...parts].join(':')];
}

export interface PairRules {
  /** The node whose INPUT chain gets the rules. */
  readonly receiver: LabNode;
  /** iptables argument lists for `-A NMLAB-IN ...`, in order. */
  readonly rules: readonly (readonly string[])[];
}

/**
 * Rules for a blocked pair, always on a receiver's INPUT chain: a DROP in the
 * sender's own OUTPUT would make send() fail with EPERM, which no real network does.
 *
 * - drop: a partition. Each end drops everything from the other on its INPUT,
 *   with no connection-state match, so requests are lost and so are the replies
 *   to requests going the other way: both directions time out, and neither end
 *   sees the other's packets at all (as with a dead link in between).
 * - reject / unreachable: directional. `dst` refuses what `src` starts (conntrack
 *   state NEW for TCP SYN and a first UDP datagram; every echo request) with a TCP reset
 *   (ECONNREFUSED) or ICMP port unreachable, or with ICMP host unreachable
 *   (EHOSTUNREACH); replies to what `dst` itself starts towards `src` pass, so the
 *   other direction stays healthy.
 */
export function pairRules(src: LabNode, dst: LabNode, mode: BlockMode, proto: BlockProto, family: Family = 'ipv4'): PairRules[] {
  // IPv6 rules say so in their tag (IPv4's keep the tag they always had).
  const tag = comment([mode, src.name, dst.name, proto, ...(family === 'ipv6' ? ['ipv6'] : [])]);
  const from = (n: LabNode) => sourceOf(n, family);
  const protoMatch = (p: BlockProto): string[] => (p === 'all' ? [] : ['-p', protoName(p, family)]);
  if (mode === 'drop') {
    return [
      { receiver: dst, rules: [[...from(src), ...protoMatch(proto), ...tag, '-j', 'DROP']] },
      { receiver: src, rules: [[...from(dst), ...protoMatch(proto), ...tag, '-j', 'DROP']] },
    ];
  }
  // What `src` starts: a TCP SYN or first UDP datagram (conntrack NEW), and every
  // echo request. ICMP is matched by type, not state: a lab with the DNS service
  // has conntrack on from the start, and a ping flow begun before the fault
  // (same identifier) would be ESTABLISHED and slip past a NEW match.
  const fresh = ['-m', 'conntrack', '--ctstate', 'NEW'];
  const echo = echoRequest(family);
  const icmp = protoName('icmp', family);
  const started = (p: BlockProto): string[][] => (p === 'icmp' ? [echo] : p === 'tcp' ? [['-p', 'tcp', ...fresh]] : [echo, ['!', '-p', icmp, ...fresh]]);
  if (mode === 'unreachable') {
    return [{ receiver: dst, rules: started(proto).map((m) => [...from(src), ...m, ...tag, '-j', 'REJECT', '--reject-with', REJECT_WITH[family].host]) }];
  }
  const tcpReset = [...from(src), '-p', 'tcp', ...fresh, ...tag, '-j', 'REJECT', '--reject-with', 'tcp-reset'];
  const portUnreachable = (m: string[]) => [...from(src), ...m, ...tag, '-j', 'REJECT', '--reject-with', REJECT_WITH[family].port];
  switch (proto) {
    case 'tcp':
      return [{ receiver: dst, rules: [tcpReset] }];
    case 'icmp':
      return [{ receiver: dst, rules: [portUnreachable(echo)] }];
    case 'all':
      return [{ receiver: dst, rules: [tcpReset, ...started('all').map(portUnreachable)] }];
  }
}

/**
 * Every packet of one protocol into a node is dropped (also the replies to what
 * the node sends). In IPv6, `icmp` is ICMPv6, neighbour discovery included: the
 * lab's permanent neighbour entries need none.
 */
export function protoRule(node: LabNode, proto: Proto, family: Family = 'ipv4'): string[] {
  return ['-p', protoName(proto, family), ...comment(['block-proto', node.name, proto]), '-j', 'DROP'];
}

/**
 * One port of a node closed to the network, as a host firewall rule closes it:
 * on the node's INPUT, for what arrives on eth0, with no connection-state match
 * (an established connection is cut too). `reject` answers with a TCP reset
 * (ECONNREFUSED) or ICMP port unreachable for UDP; `drop` makes it time out.
 * The node's own connections to its addresses go over lo and pass, so a test
 * can still read the node's /metrics on that port through a forwarder.
 */
export function portRule(node: LabNode, port: number, proto: PortProto, mode: PortMode, family: Family = 'ipv4'): string[] {
  const target = mode === 'drop' ? ['DROP'] : ['REJECT', '--reject-with', proto === 'tcp' ? 'tcp-reset' : REJECT_WITH[family].port];
  return ['-i', 'eth0', '-p', proto, '--dport', String(port), ...comment(['block-port', node.name, proto, String(port), mode]), '-j', ...target];
}

/**
 * What a node's DNS queries are dropped with, on one replica's INPUT: UDP and
 * TCP to port 53 from the node's pod and node IPs. On the receiver, like every
 * block (a DROP in the node's own OUTPUT would make send() fail with EPERM), so
 * the node's prober times out and the replica never sees the query.
 */
export function dnsBlockRules(node: LabNode, family: Family = 'ipv4'): string[][] {
  const tag = comment(['block-dns', node.name]);
  const from = sourceOf(node, family);
  return ['udp', 'tcp'].map((p) => [...from, '-p', p, '--dport', '53', ...tag, '-j', 'DROP']);
}

/**
 * iptables-restore input for a node's nat table: the DNS service IP DNATed to
 * the replicas at random, as kube-proxy's iptables mode does it (endpoint i of
 * n taken with probability 1/(n-i), the last without a match), for UDP and TCP
 * port 53. Conntrack un-NATs the replies, so they come from the service IP.
 * Run once, when the lab is built.
 */
export function serviceNat(serviceIP: string, replicas: readonly DnsReplica[]): string {
  const lines = ['*nat', `:${SERVICE_CHAIN} - [0:0]`];
  for (const proto of ['udp', 'tcp']) {
    replicas.forEach((r, i) => {
      const left = replicas.length - i;
      const pick = left > 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', (1 / left).toFixed(10)] : [];
      lines.push(
        ['-A', SERVICE_CHAIN, '-d', `${serviceIP}/32`, '-p', proto, '-m', proto, '--dport', '53', ...pick, ...comment(['svc', r.name]), '-j', 'DNAT', '--to-destination', `${r.ip}:53`].join(' '),
      );
    });
  }
  lines.push(`-I OUTPUT 1 -j ${SERVICE_CHAIN}`, 'COMMIT', '');
  return lines.join('\n');
}

/** The mangle rule that hands a node's egress to its delayer; --queue-bypass lets packets through if it is gone. */
export function delayRule(node: { readonly name: string }): string[] {
  return ['-o', 'eth0', ...comment(['delay', node.name]), '-j', 'NFQUEUE', '--queue-num', String(DELAY_QUEUE), '--queue-bypass'];
}

/** iptables-restore input appending `rules` to `chain` of `table`. */
export function appendRules(table: string, chain: string, rules: readonly (readonly string[])[]): string {
  return [`*${table}`, ...rules.map((r) => [`-A`, chain, ...r].map(quoteRestoreArg).join(' ')), 'COMMIT', ''].join('\n');
}

function quoteRestoreArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `"${a.replaceAll('"', '\\"')}"`;
}

/** The nft chain that holds a node's loss rule. */
export function lossChain(node: LabNode): string {
  return `loss_${node.name.replaceAll('-', '_')}`;
}

/**
 * The bridge namespace's nft table: frames a node's cable brings into the bridge
 * go through that node's loss chain (empty = no loss). Bridge family, so it sees
 * the ports; no br_netfilter or iptables involved.
 */
export function nftSetup(nodes: readonly LabNode[], vethOf: (n: LabNode) => string): string {
  const chains = nodes.map((n) => `  chain ${lossChain(n)} {\n  }`).join('\n');
  const map = nodes.map((n) => `"${vethOf(n)}" : jump ${lossChain(n)}`).join(', ');
  return `table bridge ${NFT_TABLE} {\n${chains}\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    iifname vmap { ${map} }\n  }\n}\n`;
}

/** nft input that sets a node's egress loss (0 removes it). */
export function lossScript(node: LabNode, percent: number): string {
  const lines = [`flush chain bridge ${NFT_TABLE} ${lossChain(node)}`];
  const threshold = Math.round(percent * 100);
  if (threshold > 0) lines.push(`add rule bridge ${NFT_TABLE} ${lossChain(node)} numgen random mod 10000 < ${threshold} counter drop`);
  return `${lines.join('\n')}\n`;
}

/** Frames dropped by a node's loss rule, from `nft list chain` output of its loss chain (0 without a rule). */
export function parseLossDrops(nftChain: string): number {
  const m = /numgen random mod 10000 < \d+ counter packets (\d+)/.exec(nftChain);
  return m ? Number(m[1]) : 0;
}

/** Loss percent from `nft list chain` output of a node's loss chain (0 if none). */
export function parseLoss(nftChain: string): number {
  const m = /numgen random mod 10000 < (\d+)/.exec(nftChain);
  return m ? Number(m[1]) / 100 : 0;
}

/** Faults tagged in `iptables -S` output of one node's chains. */
export function parseTaggedRules(iptablesS: string): Fault[] {
  const faults: Fault[] = [];
  const seen = new Set<string>();
  for (const line of iptablesS.split('\n')) {
    const m = /--comment "?(nmlab:[^" ]+)"?/.exec(line);
    if (!m?.[1] || seen.has(m[1])) continue;
    seen.add(m[1]);
    const [, kind, a, b, c, d] = m[1].split(':');
    if ((kind === 'drop' || kind === 'reject' || kind === 'unreachable') && a && b && c) {
      faults.push({ kind: 'block', mode: kind, src: a, dst: b, proto: c as BlockProto, ...(d === 'ipv6' ? { family: 'ipv6' as const } : {}) });
    } else if (kind === 'block-proto' && a && b) {
      faults.push({ kind: 'block-proto', node: a, proto: b as Proto });
    } else if (kind === 'block-port' && a && b && c && d) {
      faults.push({ kind: 'block-port', node: a, proto: b as PortProto, port: Number(c), mode: d as PortMode });
    } else if (kind === 'block-dns' && a) {
      faults.push({ kind: 'dns-blocked', node: a });
    }
  }
  return faults;
}

/**
 * The faults of a lab from the tagged rules of both families: in a dual-stack
 * lab a block found in one family only says which (`family`), one found in
 * both is one fault without it (as blockPair made it with family 'all'); in an
 * IPv4-only lab blocks carry no family. Other faults are the same in both
 * families (the lab puts them in both) and are listed once.
 */
export function mergeFamilies(ipv4: readonly Fault[], ipv6: readonly Fault[], dualStack: boolean): Fault[] {
  const key = (f: Fault) => faultKey(f.kind === 'block' ? { ...f, family: undefined } : f);
  const v6 = new Map(ipv6.map((f) => [key(f), f]));
  const out = new Map<string, Fault>();
  for (const f of ipv4) {
    const k = key(f);
    if (f.kind !== 'block' || !dualStack) out.set(k, f);
    else out.set(k, v6.has(k) ? f : { ...f, family: 'ipv4' });
  }
  for (const [k, f] of v6) if (!out.has(k)) out.set(k, f);
  return [...out.values()];
}

/** The `-A ...` lines of `iptables -S CHAIN` whose tag names `node` as either end. */
export function rulesNaming(iptablesS: string, node: string): string[] {
  return iptablesS.split('\n').filter((line) => {
    const m = /--comment "?(nmlab:[^" ]+)"?/.exec(line);
    if (!line.startsWith('-A ') || !m?.[1]) return false;
    const [, , a, b] = m[1].split(':');
    return a === node || b === node;
  });
}

/** Same fault, same key: drop rules exist on both ends but are one fault. */
export function faultKey(f: Fault): string {
  return JSON.stringify(f);
}
