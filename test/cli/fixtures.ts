// API bodies as docs/api.md describes them, for the CLI's tests. Addresses are
// from RFC 5737 documentation ranges: nothing is ever sent to them.
import type { ApiCell, ApiCniNode, ApiCniNodeView, ApiCniView, ApiDnsCell, ApiDnsView, ApiFinding, ApiFindings, ApiMatrix, ApiNode, ApiResolver } from '../../cli/api-types.js';

export const NAMES = ['node-a', 'node-b', 'node-c', 'node-d'];
export const GENERATED_AT = '2026-11-25T06:00:00.000Z';
export const NOW = Date.parse(GENERATED_AT);

export const okCell: ApiCell = { status: 'ok', lossRatio: 0, rttP50Ms: 0.21, rttP99Ms: 0.43, lastOutcome: 'ok', since: '2026-11-25T05:00:00.000Z', samples: 12 };
export const refusedCell: ApiCell = { status: 'failing', lossRatio: 1, rttP50Ms: null, rttP99Ms: null, lastOutcome: 'refused', since: '2026-11-25T05:59:00.000Z', samples: 12 };
export const unknownCell: ApiCell = { status: 'unknown', lossRatio: null, rttP50Ms: null, rttP99Ms: null, lastOutcome: null, since: null, samples: 0 };

/** node-d's column failing with refused, node-b → node-a degraded, node-d → node-c unknown, the rest ok. */
export function matrixFixture(kind = 'tcp'): ApiMatrix {
  const cells = NAMES.map((_, s) => NAMES.map((_, d) => (s === d ? null : d === 3 ? refusedCell : okCell)));
  cells[1]![0] = { ...okCell, status: 'degraded', lossRatio: 0.083, rttP50Ms: 0.3, rttP99Ms: 12.5, since: '2026-11-25T05:58:30.000Z' };
  cells[3]![2] = unknownCell;
  return { kind, family: 'ipv4', windowSeconds: 60, generatedAt: GENERATED_AT, nodes: NAMES, cells, summary: { ok: 7, degraded: 1, failing: 3, unknown: 1 } };
}

/** n nodes with long names of varying length, every cell ok but one failing. */
export function bigMatrix(n: number): ApiMatrix {
  const nodes = Array.from({ length: n }, (_, i) => `ip-10-0-${i}-${'7'.repeat(i % 5)}.eu-west-1.compute.internal`);
  const cells = nodes.map((_, s) => nodes.map((_, d) => (s === d ? null : s === 0 && d === n - 1 ? refusedCell : okCell)));
  return { kind: 'icmp', family: 'ipv4', windowSeconds: 60, generatedAt: GENERATED_AT, nodes, cells, summary: { ok: n * (n - 1) - 1, degraded: 0, failing: 1, unknown: 0 } };
}

/** A kind nobody probes: every cell unknown, without samples. */
export function noDataMatrix(kind: string): ApiMatrix {
  const cells = NAMES.map((_, s) => NAMES.map((_, d) => (s === d ? null : unknownCell)));
  return { kind, family: 'ipv4', windowSeconds: 60, generatedAt: GENERATED_AT, nodes: NAMES, cells, summary: { ok: 0, degraded: 0, failing: 0, unknown: 12 } };
}

/** Every pair ok. */
export function okMatrix(kind: string): ApiMatrix {
  const cells = NAMES.map((_, s) => NAMES.map((_, d) => (s === d ? null : okCell)));
  return { kind, family: 'ipv4', windowSeconds: 60, generatedAt: GENERATED_AT, nodes: NAMES, cells, summary: { ok: 12, degraded: 0, failing: 0, unknown: 0 } };
}

export function emptyMatrix(kind: string): ApiMatrix {
  return { kind, family: 'ipv4', windowSeconds: 60, generatedAt: GENERATED_AT, nodes: [], cells: [], summary: { ok: 0, degraded: 0, failing: 0, unknown: 0 } };
}

/** Four nodes; node-c's agent disconnected (its last report 2 minutes old). */
export function nodesFixture(): ApiNode[] {
  return NAMES.map((name, i) => ({
    name,
    zone: i < 2 ? 'zone-1' : 'zone-2',
    podIPs: [`192.0.2.${i + 1}`],
    nodeIPs: [`198.51.100.${i + 1}`],
    agent: {
      connected: name !== 'node-c',
      connectedSince: name !== 'node-c' ? '2026-11-25T05:00:00.000Z' : null,
      lastReportAt: name !== 'node-c' ? '2026-11-25T05:59:58.000Z' : '2026-11-25T05:58:00.000Z',
      version: '0.1.0',
      capabilities: ['icmp', 'tcp', 'http', 'node'],
      reports: 10,
      results: 120,
    },
  }));
}

const RUNBOOKS = 'https://example.org/netmatrix/docs/runbooks';

/** A finding as the aggregator serializes it; annotations mirror summary, description and runbook. */
export function finding(
  kind: string,
  severity: string,
  where: Record<string, string>,
  summary: string,
  description: string,
  times: { since: string; firingSince: string | null; state?: ApiFinding['state'] },
): ApiFinding {
  const runbook = `${RUNBOOKS}/${kind}.md`;
  return {
    id: `${kind}-${Object.values(where).join('-')}`.toLowerCase().padEnd(16, '0').slice(0, 16),
    kind,
    severity,
    state: times.state ?? (times.firingSince === null ? 'pending' : 'firing'),
    labels: { alertname: kind, severity, cluster: 'test', ...where },
    annotations: { summary, description, runbook_url: runbook },
    summary,
    description,
    since: times.since,
    firingSince: times.firingSince,
    resolvedAt: null,
  };
}

/** The fixture matrix's trouble as findings, worst last so rendering has to sort: node-d unreachable 3m, a pair, a zone partition. */
export function findingsFixture(): ApiFindings {
  return {
    evaluatedAt: GENERATED_AT,
    findings: [
      finding('PairUnreachable', 'warning', { src: 'node-b', dst: 'node-a' }, "node-b can't reach node-a", 'tcp: refused 1/1.', { since: '2026-11-25T05:58:50.000Z', firingSince: '2026-11-25T05:59:00.000Z' }),
      finding('NodeUnreachable', 'critical', { node: 'node-d' }, 'node-d is unreachable from 3 of 3 nodes', "tcp: refused 3/3; icmp ok from 3/3; node-d's agent reports.", {
        since: '2026-11-25T05:56:50.000Z',
        firingSince: '2026-11-25T05:57:00.000Z',
      }),
      finding('ZonePartition', 'critical', { src_zone: 'zone-1', dst_zone: 'zone-2' }, 'zone-1 and zone-2 cannot reach each other', '4 of 4 pairs between the zones fail.', {
        since: '2026-11-25T02:59:50.000Z',
        firingSince: '2026-11-25T03:00:00.000Z',
      }),
    ],
  };
}

/** A condition inside --finding-for: pending, not firing. */
export function pendingFinding(): ApiFinding {
  return finding('PacketLoss', 'warning', { src: 'node-a', dst: 'node-c' }, 'node-a → node-c loses 8% of probes', 'icmp: loss 8.3%.', { since: '2026-11-25T05:59:40.000Z', firingSince: null });
}

const NX_OK = { lastOutcome: 'nxdomain', ok: true, since: '2026-11-25T05:00:00.000Z' };
export const dnsOkCell: ApiDnsCell = {
  status: 'ok',
  reason: 'answers in time, errors under the threshold',
  address: '192.0.2.53',
  errorRatio: 0,
  errors: {},
  latencyP50Ms: 1.112,
  latencyP99Ms: 3.01,
  lastOutcome: 'ok',
  since: '2026-11-25T05:00:00.000Z',
  samples: 6,
  nxCheck: NX_OK,
};
export const dnsUnknownCell: ApiDnsCell = { status: 'unknown', reason: 'no result in the window', address: null, errorRatio: null, errors: {}, latencyP50Ms: null, latencyP99Ms: null, lastOutcome: null, since: null, samples: 0, nxCheck: null };

/** A pod's resolv.conf on `node`, its nameserver `ns`, with the lookups the aggregator costs. */
export function resolver(node: string, ns = '192.0.2.53', known: boolean | null = true): ApiResolver {
  return {
    node,
    nameservers: [ns],
    search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    ndots: 5,
    timeoutSeconds: 5,
    attempts: 2,
    warnings: [],
    error: null,
    nameserverKnown: known,
    lookups: [
      { name: 'kubernetes.default', tried: ['kubernetes.default.default.svc.cluster.local', 'kubernetes.default.svc.cluster.local'], queries: 4, worstCaseSeconds: 40 },
      { name: 'example.com', tried: ['example.com.default.svc.cluster.local', 'example.com.svc.cluster.local', 'example.com.cluster.local', 'example.com'], queries: 8, worstCaseSeconds: 40 },
    ],
  };
}

export const DNS_NODES = ['node-a', 'node-b', 'node-c'];

/**
 * Three nodes × three servers (the service IP, replicas dns-a and dns-b):
 * dns-b slow from node-a (and answering NOERROR for a name that must not
 * exist), timing out from node-b, not yet asked from node-c; the service
 * with recurring SERVFAILs from node-c; dns-b's answer for one name differs;
 * node-c's pods ask a nameserver netmatrix does not check.
 */
export function dnsFixture(): ApiDnsView {
  const cells: ApiDnsCell[][] = DNS_NODES.map(() => [dnsOkCell, { ...dnsOkCell, latencyP50Ms: 0.321, address: '192.0.2.101' }, { ...dnsOkCell, latencyP50Ms: 0.44, address: '192.0.2.102' }]);
  cells[0]![2] = { ...cells[0]![2]!, status: 'degraded', reason: 'latency p50 100.49 ms > 20 ms', latencyP50Ms: 100.494, latencyP99Ms: 101.065, nxCheck: { lastOutcome: 'ok', ok: false, since: '2026-11-25T05:50:00.000Z' } };
  cells[1]![2] = {
    ...cells[1]![2]!,
    status: 'failing',
    reason: '2 failed queries in a row (timeout)',
    errorRatio: 1,
    errors: { timeout: 6 },
    latencyP50Ms: null,
    latencyP99Ms: null,
    lastOutcome: 'timeout',
    since: '2026-11-25T05:59:00.000Z',
    nxCheck: { lastOutcome: 'timeout', ok: false, since: '2026-11-25T05:59:00.000Z' },
  };
  cells[2]![0] = { ...dnsOkCell, status: 'degraded', reason: 'recurring errors: 25.0% >= 5.0%', errorRatio: 0.25, errors: { servfail: 2 }, latencyP50Ms: 2.5 };
  cells[2]![2] = dnsUnknownCell;
  return {
    generatedAt: GENERATED_AT,
    nodes: DNS_NODES,
    servers: [
      { name: 'service', role: 'service', address: '192.0.2.53', port: 53 },
      { name: 'dns-a', role: 'replica', address: '192.0.2.101', port: 53 },
      { name: 'dns-b', role: 'replica', address: '192.0.2.102', port: 53 },
    ],
    cells,
    answers: [
      { name: 'kubernetes.default.svc.cluster.local', type: 'A', servers: { service: ['10.96.0.1'], 'dns-a': ['10.96.0.1'], 'dns-b': ['10.96.0.1'] }, consensus: ['10.96.0.1'], divergent: [] },
      { name: 'web.shop.svc.cluster.local', type: 'A', servers: { service: ['10.96.4.7'], 'dns-a': ['10.96.4.7'], 'dns-b': ['10.96.9.9'] }, consensus: null, divergent: ['dns-a', 'dns-b'] },
    ],
    resolvers: [resolver('node-a'), resolver('node-b'), resolver('node-c', '198.51.100.53', false)],
  };
}

/** Every node gets quick answers from every server; nothing else to say. */
export function okDns(): ApiDnsView {
  const v = dnsFixture();
  return { ...v, cells: DNS_NODES.map(() => [dnsOkCell, dnsOkCell, dnsOkCell]), answers: [v.answers[0]!], resolvers: DNS_NODES.map((n) => resolver(n)) };
}

/** An aggregator run with --dns-servers none: no columns. */
export function dnsOff(): ApiDnsView {
  return { generatedAt: GENERATED_AT, nodes: DNS_NODES, servers: [], cells: DNS_NODES.map(() => []), answers: [], resolvers: [] };
}

/** Removes ANSI colour codes: what a terminal shows, for checking alignment. */
export function visible(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

// ---------------------------------------------------------------- cni

export const CNI_HASH = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2';
export const CNI_DRIFTED_HASH = '77aa00112233445566778899aabbccddeeff00112233445566778899aabbccdd';
const BRIDGE_SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const BRIDGE_NEW_SHA = '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752';
const PORTMAP_SHA = 'fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13';

/** A node in the majority: 10-pods.conflist, bridge + portmap, one /28 pool with 3 of 13 used. */
export function cniNode(node: string, i: number, over: Partial<ApiCniNode> = {}): ApiCniNode {
  return {
    node,
    state: 'majority',
    stale: false,
    receivedAt: '2026-11-25T05:59:58.000Z',
    file: '10-pods.conflist',
    network: 'pods',
    cniVersion: '1.0.0',
    hash: CNI_HASH,
    plugins: ['bridge', 'portmap'],
    ipamType: 'host-local',
    binaries: [
      { plugin: 'bridge', size: 4096, sha256: BRIDGE_SHA, error: null },
      { plugin: 'portmap', size: 2048, sha256: PORTMAP_SHA, error: null },
    ],
    pools: [{ network: 'pods', range: `10.244.${i}.0/28`, size: 13, used: 3, ratio: 3 / 13, nearExhaustion: false }],
    podCidrs: [`10.244.${i}.0/28`],
    files: [{ name: '10-pods.conflist', valid: true, error: null }],
    errors: [],
    group: 0,
    ...over,
  };
}

/** Every node on one config, one build of each plugin, pools a quarter full: nothing wrong. */
export function okCni(): ApiCniView {
  const nodes = NAMES.map((n, i) => cniNode(n, i + 1));
  return {
    generatedAt: GENERATED_AT,
    poolThreshold: 0.9,
    summary: { nodes: 4, reported: 4, stale: 0, invalid: 0, compared: 4, majorityHash: CNI_HASH, drifted: 0, skewedPlugins: 0, poolsNearExhaustion: 0, overlaps: 0 },
    nodes,
    groups: [{ hash: CNI_HASH, nodes: NAMES, majority: true, network: 'pods', cniVersion: '1.0.0', plugins: ['bridge', 'portmap'], files: ['10-pods.conflist'], comparedWith: null, differingKeys: [], moreDifferences: 0 }],
    plugins: [
      { plugin: 'bridge', groups: [{ sha256: BRIDGE_SHA, size: 4096, nodes: NAMES }], majoritySha256: BRIDGE_SHA, skewed: false },
      { plugin: 'portmap', groups: [{ sha256: PORTMAP_SHA, size: 2048, nodes: NAMES }], majoritySha256: PORTMAP_SHA, skewed: false },
    ],
    overlaps: [],
    overlapsDropped: 0,
  };
}

/**
 * Five nodes: node-b drifted (its mtu), with another bridge build and no
 * portmap; node-c's pool full; node-d's pod CIDR the same as node-a's; node-e
 * never reported.
 */
export function cniFixture(): ApiCniView {
  const names = ['node-a', 'node-b', 'node-c', 'node-d'];
  const nodes = [
    cniNode('node-a', 1),
    cniNode('node-b', 2, {
      state: 'drifted',
      hash: CNI_DRIFTED_HASH,
      group: 1,
      binaries: [
        { plugin: 'bridge', size: 4100, sha256: BRIDGE_NEW_SHA, error: null },
        { plugin: 'portmap', size: 0, sha256: null, error: 'ENOENT' },
      ],
      files: [{ name: '10-pods.conflist', valid: true, error: null }, { name: '99-old.conf', valid: false, error: 'not JSON: Unexpected token } in JSON at position 12' }],
      errors: ['99-old.conf: not JSON: Unexpected token } in JSON at position 12'],
    }),
    cniNode('node-c', 3, { pools: [{ network: 'pods', range: '10.244.3.0/28', size: 13, used: 13, ratio: 1, nearExhaustion: true }] }),
    cniNode('node-d', 1, { podCidrs: ['10.244.1.0/28'] }),
    cniNode('node-e', 5, { state: 'unreported', receivedAt: null, file: null, network: null, cniVersion: null, hash: null, plugins: [], ipamType: null, binaries: [], pools: [], podCidrs: [], files: [], group: null }),
  ];
  return {
    generatedAt: GENERATED_AT,
    poolThreshold: 0.9,
    summary: { nodes: 5, reported: 4, stale: 0, invalid: 0, compared: 4, majorityHash: CNI_HASH, drifted: 1, skewedPlugins: 2, poolsNearExhaustion: 1, overlaps: 1 },
    nodes,
    groups: [
      { hash: CNI_HASH, nodes: ['node-a', 'node-c', 'node-d'], majority: true, network: 'pods', cniVersion: '1.0.0', plugins: ['bridge', 'portmap'], files: ['10-pods.conflist'], comparedWith: null, differingKeys: [], moreDifferences: 0 },
      { hash: CNI_DRIFTED_HASH, nodes: ['node-b'], majority: false, network: 'pods', cniVersion: '1.0.0', plugins: ['bridge', 'portmap'], files: ['10-pods.conflist'], comparedWith: 0, differingKeys: ['plugins[0].mtu'], moreDifferences: 0 },
    ],
    plugins: [
      { plugin: 'bridge', groups: [{ sha256: BRIDGE_SHA, size: 4096, nodes: ['node-a', 'node-c', 'node-d'] }, { sha256: BRIDGE_NEW_SHA, size: 4100, nodes: ['node-b'] }], majoritySha256: BRIDGE_SHA, skewed: true },
      { plugin: 'portmap', groups: [{ sha256: PORTMAP_SHA, size: 2048, nodes: ['node-a', 'node-c', 'node-d'] }, { sha256: null, size: null, nodes: ['node-b'] }], majoritySha256: PORTMAP_SHA, skewed: true },
    ],
    overlaps: [{ a: { kind: 'node', node: 'node-a', cidr: '10.244.1.0/28' }, b: { kind: 'node', node: 'node-d', cidr: '10.244.1.0/28' }, relation: 'equal' }],
    overlapsDropped: 0,
  };
}

/** GET /api/v1/cni/node-b of the fixture: one mtu changed, the pod subnet set aside. */
export function cniNodeFixture(): ApiCniNodeView {
  const node = cniFixture().nodes[1]!;
  return {
    node,
    files: [
      { name: '10-pods.conflist', size: 311, sha256: CNI_DRIFTED_HASH, valid: true, error: null, cniVersion: '1.0.0', network: 'pods', plugins: ['bridge', 'portmap'], ipamType: 'host-local', ranges: ['10.244.2.0/28'] },
      { name: '99-old.conf', size: 13, sha256: null, valid: false, error: 'not JSON: Unexpected token } in JSON at position 12', cniVersion: null, network: null, plugins: [], ipamType: null, ranges: [] },
    ],
    config: { cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', mtu: 1400 }, { type: 'portmap' }] },
    perNode: { 'plugins[0].ipam.ranges[0][0].subnet': '"10.244.2.0/28"' },
    reference: { group: 0, hash: CNI_HASH, majority: true, nodes: ['node-a', 'node-c', 'node-d'], config: { cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', mtu: 1450 }, { type: 'portmap' }] } },
    diff: ['plugins[0].mtu: 1450 → 1400'],
    moreChanges: 0,
  };
}
