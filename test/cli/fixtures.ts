import type { ApiCell, ApiMatrix, ApiNode } from '../../cli/api-types.js';

export const NAMES = ['node-a', 'node-b', 'node-c', 'node-d'];
const ok: ApiCell = { status: 'ok', lossRatio: 0, rttP50Ms: 0.21, rttP99Ms: 0.43, lastOutcome: 'ok', since: '2026-11-25T05:00:00.000Z', samples: 12 };
const refused: ApiCell = { status: 'failing', lossRatio: 1, rttP50Ms: null, rttP99Ms: null, lastOutcome: 'refused', since: '2026-11-25T05:59:00.000Z', samples: 12 };

/** node-d's column failing with refused, one degraded and one unknown cell. */
export function matrixFixture(): ApiMatrix {
  const cells = NAMES.map((_, s) => NAMES.map((_, d) => (s === d ? null : d === 3 ? refused : ok)));
  cells[1]![0] = { ...ok, status: 'degraded', lossRatio: 0.083, rttP50Ms: 0.3, rttP99Ms: 12.5 };
  cells[3]![2] = { status: 'unknown', lossRatio: null, rttP50Ms: null, rttP99Ms: null, lastOutcome: null, since: null, samples: 0 };
  return { kind: 'tcp', family: 'ipv4', windowSeconds: 60, generatedAt: '2026-11-25T06:00:00.000Z', nodes: NAMES, cells, summary: { ok: 7, degraded: 1, failing: 3, unknown: 1 } };
}

export function nodesFixture(): ApiNode[] {
  return NAMES.map((name, i) => ({
    name,
    zone: i < 2 ? 'zone-1' : 'zone-2',
    podIPs: [`192.0.2.${i + 1}`],
    nodeIPs: [`198.51.100.${i + 1}`],
    agent: {
      connected: name !== 'node-c',
      connectedSince: name !== 'node-c' ? '2026-11-25T05:00:00.000Z' : null,
      lastReportAt: '2026-11-25T05:59:58.000Z',
      version: '0.1.0',
      capabilities: ['icmp', 'tcp', 'http'],
      reports: 10,
      results: 120,
    },
  }));
}
