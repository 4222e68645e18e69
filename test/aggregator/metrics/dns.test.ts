// The per-server DNS series follow the server set: a replica that leaves (a
// CoreDNS pod replaced in a rollout) takes its histogram and counters with it,
// one that comes starts with its good-answer series at 0.
import t from 'tap';
import { Registry } from 'prom-client';
import type { DnsServerSpec } from '../../../aggregator/dns/servers.js';
import { DnsStore } from '../../../aggregator/dns/store.js';
import { registerDnsMetrics } from '../../../aggregator/metrics/dns.js';
import type { MetricsSources } from '../../../aggregator/metrics/metrics.js';
import { NodeRegistry } from '../../../aggregator/nodes.js';

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
