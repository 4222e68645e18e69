import type { FastifyPluginAsync } from 'fastify';
import type { DnsAssessment } from '../../dns/assess.js';
import { iso, type ApiDeps } from '../app.js';
import { DnsResponse } from '../schemas.js';

/** GET /api/v1/dns: computed when asked (nodes × servers cells, cheap), not from the last evaluation. */
export function dnsBody(a: DnsAssessment) {
  return {
    generatedAt: iso(a.at)!,
    nodes: [...a.nodes],
    servers: a.servers.map((s) => ({ ...s })),
    cells: a.cells.map((row) =>
      row.map((c) => ({
        status: c.status,
        reason: c.reason,
        address: c.address,
        errorRatio: c.errorRatio,
        errors: { ...c.errors },
        latencyP50Ms: c.latencyP50Ms,
        latencyP99Ms: c.latencyP99Ms,
        lastOutcome: c.lastOutcome,
        since: iso(c.since),
        samples: c.samples,
        nxCheck: c.nxCheck ? { lastOutcome: c.nxCheck.lastOutcome, ok: c.nxCheck.ok, since: iso(c.nxCheck.since)! } : null,
        tcpCheck: c.tcpCheck ? { lastOutcome: c.tcpCheck.lastOutcome, ok: c.tcpCheck.ok, since: iso(c.tcpCheck.since)! } : null,
      })),
    ),
    answers: a.answers.map((x) => ({ ...x, servers: { ...x.servers }, divergent: [...x.divergent] })),
    resolvers: a.resolvers.map((r) => ({ ...r })),
  };
}

export const dnsRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/dns',
    {
      schema: {
        summary: 'DNS health: every node × every DNS server (service IP, CoreDNS replicas, NodeLocal DNSCache)',
        description:
          'Latency p50/p99 and error ratio by outcome in the window, the replicas\' answers compared, and each node\'s resolv.conf with what one lookup costs. Empty servers when --dns-servers is none.',
        response: { 200: DnsResponse },
      },
    },
    async () => dnsBody(deps.dns()),
  );
};
