// Names and addresses of one lab, as a pure function of its prefix and size, so
// a later command (the CLI's `fault`, `down`) can find a lab from its prefix alone.
//
// Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking): nothing real on a
// host or a network it can reach uses them, and every lab is a closed L2 segment
// of its own, so parallel labs may reuse the same addresses without meeting.
// A dual-stack lab (ipv6) adds unique local addresses (RFC 4193) from
// fd00:198:18::/48 that mirror the IPv4 plan: 198.18.0.11 has fd00:198:18::11
// beside it, 198.18.1.11 has fd00:198:18:1::11.
import { randomBytes } from 'node:crypto';

export const POD_PREFIX = '198.18.0';
export const NODE_PREFIX = '198.18.1';
export const SUBNET_BITS = 24;
export const DNS_IP = `${POD_PREFIX}.2`;
export const AGGREGATOR_IP = `${POD_PREFIX}.3`;
/**
 * The DNS service IP (the lab's kube-dns ClusterIP, like 10.96.0.10 in a real
 * cluster): on no interface; every node namespace DNATs it to the replicas. It
 * is on-link in the pod subnet (so the route lookup before DNAT succeeds without
 * a route of its own), below the first node (198.18.0.11), so it never collides.
 */
export const DNS_SERVICE_IP = `${POD_PREFIX}.10`;
/** DNS replica 0 is 198.18.0.2 (DNS_IP); replica i >= 1 is 198.18.0.(3+i): .4 .. .9, below the nodes. */
export const MAX_DNS_REPLICAS = 7;
/** Node i has pod IP 198.18.0.(10+i) and node IP 198.18.1.(10+i). */
export const FIRST_HOST = 10;
export const MAX_NODES = 240;
/**
 * The IPv6 plan of a dual-stack lab: pod subnet fd00:198:18::/64 (198.18.0.0/24's
 * twin), node subnet fd00:198:18:1::/64 (198.18.1.0/24's). A host's last group
 * is its IPv4 host number written in decimal digits (.11 is ::11), so the two
 * plans read alike; hosts stay below 256, which fits one group. Written as
 * `ip` and Node print them (canonical text), so addresses compare as strings.
 */
export const POD_NET6 = 'fd00:198:18::';
export const NODE_NET6 = 'fd00:198:18:1::';
export const SUBNET_BITS6 = 64;
export const LAB_CIDR6 = 'fd00:198:18::/48';
export const LAB_CIDR = '198.18.0.0/15';
/** Interface names are at most 15 characters: prefix + "-n" + up to 3 digits must fit. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,7}$/;

export interface LabNode {
  /** node-1 .. node-N: what the agent calls itself (NODE_NAME). */
  readonly name: string;
  /** The network namespace the node's processes run in. */
  readonly ns: string;
  readonly podIP: string;
  readonly nodeIP: string;
  /** The IPv6 pod and node IPs of a dual-stack lab (null in an IPv4-only one). */
  readonly podIP6: string | null;
  readonly nodeIP6: string | null;
  /** Every pod IP, IPv4 first: what status.podIPs of a dual-stack pod lists (POD_IP). */
  readonly podIPs: readonly string[];
  /** Every node IP, IPv4 first (NODE_IP). */
  readonly nodeIPs: readonly string[];
  /** The bridge-side end of the node's cable (in the bridge namespace). */
  readonly vethHost: string;
  readonly mac: string;
}

/** One dnsmasq standing in for a CoreDNS pod. */
export interface DnsReplica {
  /** dns-a, dns-b, ...: the replica's name (e.g. for --dns-servers replica:dns-b=...). */
  readonly name: string;
  /** <prefix>-dns for dns-a (the lab's historical DNS namespace), <prefix>-dns-b, ... for the others. */
  readonly ns: string;
  /** 198.18.0.2 for dns-a, 198.18.0.4, .5, ... for dns-b, dns-c, ... */
  readonly ip: string;
  /** fd00:198:18::2 for dns-a, ::4, ::5, ... in a dual-stack lab; null in an IPv4-only one. */
  readonly ip6: string | null;
  /** The bridge-side end of the replica's cable: <prefix>-dns, <prefix>-dnsb, ... */
  readonly vethHost: string;
  readonly mac: string;
}

/** Anything attached to the lab bridge: nodes, the DNS server, the aggregator. */
export interface LabMember {
  readonly ns: string;
  readonly vethHost: string;
  readonly mac: string;
  /** Addresses on the member's eth0, with prefix length. */
  readonly cidrs: readonly string[];
}

export interface LabPlan {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly dnsNs: string;
  readonly aggregatorNs: string;
  readonly dnsIP: string;
  readonly aggregatorIP: string;
  /** fd00:198:18::3 in a dual-stack lab; null in an IPv4-only one. */
  readonly aggregatorIP6: string | null;
  /** Whether the lab is dual-stack (every member also has IPv6 addresses). */
  readonly ipv6: boolean;
  readonly nodes: readonly LabNode[];
  /** The DNS replicas; the first is dnsNs/dnsIP. */
  readonly dnsReplicas: readonly DnsReplica[];
  /** The DNS service IP every node DNATs to the replicas. */
  readonly dnsServiceIP: string;
  readonly members: readonly LabMember[];
}

export function randomPrefix(): string {
  // "nm" + 4 base-36 characters: short enough for interface names, 1.7 M values.
  const n = randomBytes(4).readUInt32BE(0) % 36 ** 4;
  return `nm${n.toString(36).padStart(4, '0')}`;
}

export function validatePrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`lab prefix ${JSON.stringify(prefix)}: expected 2-8 characters [a-z0-9], starting with a letter`);
  }
}

export function validateNodeCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) throw new Error(`lab size ${n}: expected an integer from 1 to ${MAX_NODES}`);
}

function mac(host: number): string {
  return `02:6e:6d:00:00:${host.toString(16).padStart(2, '0')}`;
}

export function validateDnsReplicas(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_DNS_REPLICAS) throw new Error(`DNS replicas ${n}: expected an integer from 1 to ${MAX_DNS_REPLICAS}`);
}

export interface PlanOptions {
  readonly dnsReplicas?: number;
  /** Dual-stack: ULA addresses beside the IPv4 ones (see POD_NET6). */
  readonly ipv6?: boolean;
}

export function planLab(prefix: string, nodeCount: number, o: PlanOptions = {}): LabPlan {
  const dnsReplicaCount = o.dnsReplicas ?? 1;
  const ipv6 = o.ipv6 ?? false;
  validatePrefix(prefix);
  validateNodeCount(nodeCount);
  validateDnsReplicas(dnsReplicaCount);
  // The IPv6 twin of a host number in one of the /64s (fd00:198:18::11 for 11), when dual-stack.
  const v6 = (net: string, host: number) => (ipv6 ? `${net}${host}` : null);
  const nodes: LabNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const host = FIRST_HOST + i;
    const podIP = `${POD_PREFIX}.${host}`;
    const nodeIP = `${NODE_PREFIX}.${host}`;
    const podIP6 = v6(POD_NET6, host);
    const nodeIP6 = v6(NODE_NET6, host);
    nodes.push({
      name: `node-${i}`,
      ns: `${prefix}-node-${i}`,
      podIP,
      nodeIP,
      podIP6,
      nodeIP6,
      podIPs: podIP6 ? [podIP, podIP6] : [podIP],
      nodeIPs: nodeIP6 ? [nodeIP, nodeIP6] : [nodeIP],
      vethHost: `${prefix}-n${i}`,
      mac: mac(host),
    });
  }
  const dnsNs = `${prefix}-dns`;
  const aggregatorNs = `${prefix}-agg`;
  const dnsReplicas: DnsReplica[] = [];
  for (let i = 0; i < dnsReplicaCount; i++) {
    const letter = String.fromCharCode(97 + i);
    const host = i === 0 ? 2 : 3 + i;
    dnsReplicas.push({
      name: `dns-${letter}`,
      ns: i === 0 ? dnsNs : `${prefix}-dns-${letter}`,
      ip: `${POD_PREFIX}.${host}`,
      ip6: v6(POD_NET6, host),
      vethHost: i === 0 ? `${prefix}-dns` : `${prefix}-dns${letter}`,
      mac: mac(host),
    });
  }
  const aggregatorIP6 = v6(POD_NET6, 3);
  const cidrs = (ips: readonly (string | null)[]) => ips.filter((ip): ip is string => ip !== null).map((ip) => `${ip}/${ip.includes(':') ? SUBNET_BITS6 : SUBNET_BITS}`);
  const members: LabMember[] = [
    ...nodes.map((n) => ({ ns: n.ns, vethHost: n.vethHost, mac: n.mac, cidrs: cidrs([n.podIP, n.nodeIP, n.podIP6, n.nodeIP6]) })),
    ...dnsReplicas.map((r) => ({ ns: r.ns, vethHost: r.vethHost, mac: r.mac, cidrs: cidrs([r.ip, r.ip6]) })),
    { ns: aggregatorNs, vethHost: `${prefix}-agg`, mac: mac(3), cidrs: cidrs([AGGREGATOR_IP, aggregatorIP6]) },
  ];
  return {
    prefix,
    bridgeNs: `${prefix}-br`,
    dnsNs,
    aggregatorNs,
    dnsIP: DNS_IP,
    aggregatorIP: AGGREGATOR_IP,
    aggregatorIP6,
    ipv6,
    nodes,
    dnsReplicas,
    dnsServiceIP: DNS_SERVICE_IP,
    members,
  };
}

/** Every namespace of a lab: bridge first (it holds the cables), then the members. */
export function labNamespaces(plan: LabPlan): string[] {
  return [plan.bridgeNs, ...plan.members.map((m) => m.ns)];
}

/** The lab a namespace name belongs to, if it looks like one of ours. */
export function prefixOfNamespace(ns: string): string | undefined {
  const m = /^([a-z][a-z0-9]{1,7})-(?:br|dns(?:-[a-z])?|agg|node-\d+)$/.exec(ns);
  return m?.[1];
}
