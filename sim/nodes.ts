// The simulated cluster's nodes: N nodes named `<prefix>-0000`…, spread
// round-robin over Z zones (`zone-0`…), with pod and node IPs from
// 198.18.0.0/15 (RFC 2544, benchmarking): nothing is ever sent to them, the
// simulated agents only report what they would have seen. Everything here is
// a pure function of (n, zones, prefix), so every worker thread, and every run,
// sees the same cluster.
import type { Hello } from '../proto/load.js';

/** 198.18.0.0/16 for pod IPs, 198.19.0.0/16 for node IPs: one address each per node. */
export const MAX_SIM_NODES = 65_536;

export interface SimNodes {
  readonly n: number;
  readonly zones: readonly string[];
  readonly names: readonly string[];
  /** Zone index of node i. */
  readonly zoneOf: Int32Array;
  /** Node index by name. */
  readonly index: ReadonlyMap<string, number>;
}

export function simNodes(n: number, zones: number, prefix = 'sim'): SimNodes {
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_SIM_NODES)) throw new RangeError(`simNodes: ${n} nodes (1 to ${MAX_SIM_NODES})`);
  if (!(Number.isInteger(zones) && zones >= 1 && zones <= n)) throw new RangeError(`simNodes: ${zones} zones for ${n} nodes`);
  const width = Math.max(4, String(n - 1).length);
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
  const zoneOf = new Int32Array(n);
  for (let i = 0; i < n; i++) zoneOf[i] = i % zones;
  return Object.freeze({
    n,
    zones: Object.freeze(Array.from({ length: zones }, (_, z) => `zone-${z}`)),
    names: Object.freeze(names),
    zoneOf,
    index: new Map(names.map((name, i) => [name, i])),
  });
}

export const podIp = (i: number) => `198.18.${i >> 8}.${i & 255}`;
export const nodeIp = (i: number) => `198.19.${i >> 8}.${i & 255}`;

/** The resolver every simulated pod has: a cluster DNS Service IP, as kubelet writes it for a ClusterFirst pod. */
export const SIM_NAMESERVER = '10.96.0.10';

/** What simulated agents can do: every pair kind and DNS (no CNI snapshots). */
export const SIM_CAPABILITIES: NonNullable<Hello['capabilities']> = ['CAPABILITY_ICMP', 'CAPABILITY_TCP', 'CAPABILITY_HTTP', 'CAPABILITY_MTU', 'CAPABILITY_DNS'];

/** Node i's Hello; `instanceId` changes with every restart of its simulated agent. */
export function helloOf(nodes: SimNodes, i: number, instanceId: string, agentVersion = 'sim'): Hello {
  return {
    nodeName: nodes.names[i]!,
    podIps: [podIp(i)],
    nodeIps: [nodeIp(i)],
    zone: nodes.zones[nodes.zoneOf[i]!]!,
    agentVersion,
    capabilities: [...SIM_CAPABILITIES],
    responderPort: 9402,
    instanceId,
    resolver: { nameservers: [SIM_NAMESERVER], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5, timeoutSeconds: 5, attempts: 2, warnings: [], error: '' },
  };
}
