// DNS metrics (docs/metrics.md). Per server: latency histograms and outcome
// counters updated at ingest (the buckets CoreDNS uses, 0.25 ms to 8 s, so
// both dashboards read alike), and the node count by status from the last
// evaluation. Per node only while that node has errors or an unknown
// nameserver: O(servers), not O(nodes × servers), on a healthy cluster.
import { Counter, Histogram, type Gauge, type Registry } from 'prom-client';
import { outcomes, STATUSES } from '../../common/vocabulary.js';
import type { DnsServerSpec } from '../dns/servers.js';
import { rebuiltGauge } from './evaluation.js';
import type { MetricsSources } from './metrics.js';

/** CoreDNS's coredns_dns_request_duration_seconds buckets. */
export const DNS_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];

export function registerDnsMetrics(registry: Registry, src: MetricsSources): void {
  const dns = src.dns;
  if (!dns) return;
  const duration = new Histogram({
    name: 'netmatrix_dns_request_duration_seconds',
    help: 'Time from query to accepted answer of DNS probes that succeeded, from every node, by server.',
    labelNames: ['server', 'role'],
    buckets: DNS_BUCKETS,
    registers: [registry],
  });
  const probes = new Counter({
    name: 'netmatrix_dns_probes_total',
    help: 'DNS probes by server and outcome; check="name" for the configured names over UDP, check="nx" for the random name that must be NXDOMAIN, check="tcp" for the first name over TCP.',
    labelNames: ['server', 'role', 'check', 'outcome'],
    registers: [registry],
  });
  // Both good-answer series exist from the start, so ratios read 0 rather than absent.
  const start = (s: DnsServerSpec) => {
    duration.zero({ server: s.name, role: s.role });
    probes.inc({ server: s.name, role: s.role, check: 'name', outcome: 'ok' }, 0);
    probes.inc({ server: s.name, role: s.role, check: 'nx', outcome: 'nxdomain' }, 0);
    probes.inc({ server: s.name, role: s.role, check: 'tcp', outcome: 'ok' }, 0);
  };
  dns.servers.forEach(start);
  // Replicas are named after their pods: without this every CoreDNS rollout would leave its series behind.
  dns.onServersChanged((removed, added) => {
    for (const s of removed) {
      duration.remove({ server: s.name, role: s.role });
      for (const check of ['name', 'nx', 'tcp']) for (const outcome of outcomes.words) probes.remove({ server: s.name, role: s.role, check, outcome });
    }
    added.forEach(start);
  });
  dns.onRecord((s, r) => {
    probes.inc({ server: s.name, role: s.role, check: r.nxCheck ? 'nx' : r.tcpCheck ? 'tcp' : 'name', outcome: r.outcome });
    // A loop-delayed answer's time may be the agent's stall, not the server's.
    if (!r.nxCheck && !r.tcpCheck && r.outcome === 'ok' && !r.loopDelayed) duration.observe({ server: s.name, role: s.role }, r.rttUs / 1e6);
  });

  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) => rebuiltGauge(registry, name, help, labelNames, fill);
  const last = () => src.evaluator.last?.dns;
  gauge('netmatrix_dns_server_info', 'One per configured DNS server, with its role and address ("auto": each node\'s resolv.conf nameserver).', ['server', 'role', 'address'], (g) => {
    for (const s of dns.servers) g.set({ server: s.name, role: s.role, address: s.address || 'auto' }, 1);
  });
  gauge('netmatrix_dns_server_nodes', 'Nodes by the status of their cell towards each DNS server, at the last evaluation.', ['server', 'role', 'status'], (g) => {
    for (const t of last()?.tallies ?? []) for (const status of STATUSES) g.set({ server: t.server, role: t.role, status }, t[status]);
  });
  // Bounded: a cluster-wide outage of every server would be nodes × servers series. Front addresses
  // first (the rules' DnsFailing reads them), then the worst ratios; what is left out is counted.
  const limit = src.maxDnsNodeSeries ?? 10_000;
  const nodeSeries = () => {
    const series: { node: string; server: string; front: boolean; ratio: number }[] = [];
    const a = last();
    a?.nodes.forEach((node, i) => {
      if (!src.nodes.get(node)) return;
      a.cells[i]!.forEach((c, j) => {
        const s = a.servers[j]!;
        if (c.errorRatio !== null && c.errorRatio > 0) series.push({ node, server: s.name, front: s.role !== 'replica', ratio: c.errorRatio });
      });
    });
    if (series.length <= limit) return { series, dropped: 0 };
    series.sort((x, y) => Number(y.front) - Number(x.front) || y.ratio - x.ratio);
    return { series: series.slice(0, limit), dropped: series.length - limit };
  };
  gauge('netmatrix_dns_node_error_ratio', 'Failed DNS queries over queries in the window from a node to a server; present only while above 0 (capped by --max-dns-node-series).', ['node', 'server'], (g) => {
    for (const s of nodeSeries().series) g.set({ node: s.node, server: s.server }, s.ratio);
  });
  gauge('netmatrix_dns_node_series_dropped', 'Node × DNS server error ratios left out of netmatrix_dns_node_error_ratio at the last evaluation (--max-dns-node-series hit).', [], (g) => g.set(nodeSeries().dropped));
  gauge('netmatrix_dns_answer_divergent', 'A replica whose answer for a name differs from the other replicas\' (1); absent when they agree.', ['server', 'name', 'type'], (g) => {
    for (const x of last()?.answers ?? []) for (const server of x.divergent) g.set({ server, name: x.name, type: x.type }, 1);
  });
  gauge('netmatrix_dns_resolver_nameserver_unknown', 'A node whose resolv.conf names a first nameserver the aggregator does not know (1); absent otherwise.', ['node', 'nameserver'], (g) => {
    for (const r of last()?.resolvers ?? []) if (r.nameserverKnown === false && src.nodes.get(r.node)) g.set({ node: r.node, nameserver: r.nameservers[0] ?? '' }, 1);
  });
}
