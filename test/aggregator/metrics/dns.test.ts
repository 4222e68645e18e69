// The per-server DNS series follow the server set: a replica that leaves (a
// CoreDNS pod replaced in a rollout) takes its histogram and counters with it,
// one that comes starts with its good-answer series at 0.
import t from 'tap';
import { Registry } from 'prom-client';
import type { DnsServerSpec } from '../../../aggregator/dns/servers.js';
import { DnsStore } from '../../../aggregator/dns/store.js';
import { registerDnsMetrics } from '../../../aggregator/metrics/dns.js';
import type { MetricsSources } from '../../../aggregator/metrics/metrics.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';

const SERVICE: DnsServerSpec = { name: 'service', role: 'service', address: '10.96.0.10', port: 53 };
const OLD: DnsServerSpec = { name: 'coredns-old', role: 'replica', address: '10.244.1.5', port: 53 };
const NEW: DnsServerSpec = { name: 'coredns-new', role: 'replica', address: '10.244.1.6', port: 53 };

t.test('a replica that leaves takes its series; a new one starts at 0', async (t) => {
  const store = new DnsStore([SERVICE, OLD], { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 20, staleAfterMs: 15_000 } }, 0);
  const registry = new Registry();
  registerDnsMetrics(registry, { dns: store, nodes: new NodeRegistry(), evaluator: { last: undefined } } as unknown as MetricsSources);
  const base = { name: 'kubernetes.default.svc.cluster.local', type: 'A' as const, answers: ['10.96.0.1'], rcode: 'NOERROR', family: 'ipv4' as const, rttUs: 700, at: 1 };
  store.record(0, { ...base, server: OLD.name, ip: OLD.address, nxCheck: false, outcome: 'ok' });
  store.record(0, { ...base, server: OLD.name, ip: OLD.address, nxCheck: false, outcome: 'timeout' });
  store.record(0, { ...base, server: OLD.name, ip: OLD.address, nxCheck: true, outcome: 'nxdomain' });
  const before = await registry.metrics();
  t.match(before, /netmatrix_dns_probes_total\{server="coredns-old",role="replica",check="name",outcome="timeout"\} 1/);
  t.match(before, /netmatrix_dns_request_duration_seconds_count\{server="coredns-old",role="replica"\} 1/);

  t.ok(store.setServers([SERVICE, NEW]));
  const after = await registry.metrics();
  t.notMatch(after, /coredns-old/, 'no series of the replica that left');
  t.match(after, /netmatrix_dns_probes_total\{server="coredns-new",role="replica",check="name",outcome="ok"\} 0/);
  t.match(after, /netmatrix_dns_probes_total\{server="coredns-new",role="replica",check="nx",outcome="nxdomain"\} 0/);
  t.match(after, /netmatrix_dns_request_duration_seconds_count\{server="coredns-new",role="replica"\} 0/);
  t.match(after, /netmatrix_dns_probes_total\{server="service",role="service",check="name",outcome="ok"\} 0/, 'a server that stays keeps its series');

  // A replica that moves (same name, new address) starts afresh too.
  store.record(0, { ...base, server: NEW.name, ip: NEW.address, nxCheck: false, outcome: 'servfail' });
  t.ok(store.setServers([SERVICE, { ...NEW, address: '10.244.1.7' }]));
  t.notMatch(await registry.metrics(), /coredns-new",role="replica",check="name",outcome="servfail"/);
});

t.test('per-node error series are capped, front addresses first, then the worst; the rest counted', async (t) => {
  const store = new DnsStore([SERVICE, OLD], { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 20, staleAfterMs: 15_000 } }, 0);
  const nodes = new NodeRegistry();
  const names = ['n1', 'n2', 'n3'];
  for (const name of names) nodes.upsert({ name, zone: 'z', podIPs: ['192.0.2.1'], nodeIPs: [], responderPort: 9402 }, 0);
  const cell = (errorRatio: number | null) => ({ errorRatio });
  const dns = {
    nodes: names,
    servers: [SERVICE, OLD],
    // service fails a little from n1 and n2; the replica badly from all three.
    cells: [[cell(0.2), cell(1)], [cell(0.1), cell(0.9)], [cell(0), cell(0.95)]],
    tallies: [],
    answers: [],
    resolvers: [],
  };
  const series = async (limit: number) => {
    const registry = new Registry();
    registerDnsMetrics(registry, { dns: store, nodes, maxDnsNodeSeries: limit, evaluator: { last: { dns } } } as unknown as MetricsSources);
    const text = await registry.metrics();
    const kept = [...text.matchAll(/netmatrix_dns_node_error_ratio\{node="(\w+)",server="([\w-]+)"\} ([\d.]+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    return { kept, dropped: Number(/netmatrix_dns_node_series_dropped (\d+)/.exec(text)?.[1]) };
  };
  t.same(await series(10), { kept: ['n1 service 0.2', 'n1 coredns-old 1', 'n2 service 0.1', 'n2 coredns-old 0.9', 'n3 coredns-old 0.95'], dropped: 0 }, 'under the cap: every ratio above 0, none for 0');
  const capped = await series(3);
  t.same(capped.kept.sort(), ['n1 coredns-old 1', 'n1 service 0.2', 'n2 service 0.1'], 'the service ratios first, however small, then the worst replica ratio');
  t.equal(capped.dropped, 2, 'two left out, counted');
});
