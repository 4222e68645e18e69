// API bodies as docs/api.md describes them, for the CLI's tests. Addresses are
// from RFC 5737 documentation ranges: nothing is ever sent to them.
import type { ApiCell, ApiDnsCell, ApiDnsView, ApiFinding, ApiFindings, ApiMatrix, ApiNode, ApiResolver } from '../../cli/api-types.js';

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
