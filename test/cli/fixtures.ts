// API bodies as docs/api.md describes them, for the CLI's tests. Addresses are
// from RFC 5737 documentation ranges: nothing is ever sent to them.
import type { ApiCell, ApiFinding, ApiFindings, ApiMatrix, ApiNode } from '../../cli/api-types.js';

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

/** Removes ANSI colour codes: what a terminal shows, for checking alignment. */
export function visible(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
