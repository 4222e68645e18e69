// DNS end to end on loopback: a real aggregator plans DNS servers, real agents
// ask real DNS servers (demo/dns-responder.ts: two replicas and a forwarding
// "service"), and the aggregator's /api/v1/dns, findings and metrics show it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { RunningAgent } from '../../../agent/agent.js';
import { startDnsResponder, type DnsResponder } from '../../../demo/dns-responder.js';
import { testAgent } from '../../helpers/agent.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { waitFor } from '../../helpers/wait.js';

const RECORDS = { 'kubernetes.default.svc.cluster.local': ['10.96.0.1'] };
const dir = mkdtempSync(join(tmpdir(), 'netmatrix-dns-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const responders: DnsResponder[] = [];
t.teardown(() => Promise.all(responders.map((r) => r.close())));
const a = await startDnsResponder({ host: '127.0.5.1', port: 0, records: RECORDS });
let b = await startDnsResponder({ host: '127.0.5.2', port: 0, records: RECORDS });
const service = await startDnsResponder({ host: '127.0.5.10', port: 0, upstreams: [a, b] });
responders.push(a, b, service);
// NodeLocal DNSCache: an address with nothing listening yet (a port we held and let go).
const placeholder = await startDnsResponder({ host: '127.0.5.20', port: 0 });
const nodelocalPort = placeholder.port;
await placeholder.close();

const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, 'nameserver 127.0.5.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');

const agg = await testAggregator({
  'probe-interval': '300ms',
  // Room for a loaded machine: a query lost to scheduling would make the first test's "nothing pending" flaky.
  'probe-timeout': '250ms',
  window: '3s',
  'finding-for': '0s',
  'finding-clear-for': '0s',
  'dns-servers': `service=127.0.5.10:${service.port},replica:dns-a=127.0.5.1:${a.port},replica:dns-b=127.0.5.2:${b.port},nodelocal=127.0.5.20:${nodelocalPort}`,
  'dns-latency-threshold': '20ms',
});
t.teardown(() => agg.stop());
const agents: RunningAgent[] = [];
t.teardown(() => Promise.all(agents.map((x) => x.stop())));
for (const [i, name] of ['node-a', 'node-b', 'node-c'].entries()) {
  agents.push(await testAgent({ name, podIP: `127.0.6.${i + 1}`, aggregator: agg.grpcAddress, flags: { 'resolv-conf': resolvConf } }));
}

interface Cell {
  status: string;
  lastOutcome: string | null;
  latencyP50Ms: number | null;
  address: string | null;
  nxCheck: { ok: boolean } | null;
  tcpCheck: { ok: boolean; lastOutcome: string } | null;
}
interface DnsBody {
  nodes: string[];
  servers: { name: string; role: string; address: string; port: number }[];
  cells: Cell[][];
  answers: { name: string; consensus: string[] | null; divergent: string[] }[];
  resolvers: { node: string; nameservers: string[]; ndots: number; nameserverKnown: boolean | null; lookups: { name: string; queries: number }[] }[];
}
const dns = async (): Promise<DnsBody> => (await agg.app.inject('/api/v1/dns')).json();
const column = (body: DnsBody, server: string) => body.cells.map((row) => row[body.servers.findIndex((s) => s.name === server)]!);

t.test('every node asks every server; replicas agree; the resolver view arrives', async (t) => {
  const body = await waitFor('every node to have answers from service, dns-a and dns-b', async () => {
    const d = await dns();
    return d.nodes.length === 3 && ['service', 'dns-a', 'dns-b'].every((s) => column(d, s).every((c) => c.status === 'ok' && c.nxCheck?.ok && c.tcpCheck?.ok)) && d;
  }, 15_000, 100);
  t.same(body.servers.map((s) => [s.name, s.role]), [['service', 'service'], ['nodelocal', 'nodelocal'], ['dns-a', 'replica'], ['dns-b', 'replica']], 'columns: service, NodeLocal, then replicas');
  t.same(column(body, 'service').map((c) => c.address), ['127.0.5.10', '127.0.5.10', '127.0.5.10']);
  t.same(body.answers, [{ name: 'kubernetes.default.svc.cluster.local', type: 'A', servers: { service: ['10.96.0.1'], nodelocal: null, 'dns-a': ['10.96.0.1'], 'dns-b': ['10.96.0.1'] }, consensus: ['10.96.0.1'], divergent: [] }]);
  for (const r of body.resolvers) t.match(r, { nameservers: ['127.0.5.10'], ndots: 5, nameserverKnown: true });
  t.same((await agg.app.inject('/api/v1/findings?state=all')).json().findings.map((f: { kind: string; summary: string }) => `${f.kind}: ${f.summary}`), [], 'nothing pending or firing');
});

t.test('NodeLocal DNSCache is reported only once it has answered on the node', async (t) => {
  const before = await dns();
  t.same(column(before, 'nodelocal').map((c) => c.status), ['unknown', 'unknown', 'unknown'], 'never answered: not reported, so not failing');
  const silent = await agents[0]!.metrics.registry.getSingleMetricAsString('netmatrix_agent_probes_skipped_total');
  t.match(silent, /reason="nodelocal_silent"} [1-9]/, 'counted by the agent');
  const nodelocal = await startDnsResponder({ host: '127.0.5.20', port: nodelocalPort, records: RECORDS });
  responders.push(nodelocal);
  await waitFor('nodelocal cells ok', async () => column(await dns(), 'nodelocal').every((c) => c.status === 'ok'), 10_000, 100);
  await nodelocal.close();
  responders.pop();
  const after = await waitFor('nodelocal failing once it stops answering', async () => {
    const col = column(await dns(), 'nodelocal');
    return col.every((c) => c.status === 'failing') && col;
  }, 10_000, 100);
  t.ok(after.every((c) => c.lastOutcome === 'refused' || c.lastOutcome === 'timeout'), `after answering once, its failures count (${after.map((c) => c.lastOutcome).join(', ')})`);
  agg.evaluate();
  t.match((await agg.app.inject('/api/v1/findings?kind=DnsFailing')).json().findings, [{ labels: { server: 'nodelocal' } }], 'every node: one DnsFailing for the server');
  responders.push(await startDnsResponder({ host: '127.0.5.20', port: nodelocalPort, records: RECORDS }));
  await waitFor('nodelocal ok again', async () => column(await dns(), 'nodelocal').every((c) => c.status === 'ok'), 10_000, 100);
});

t.test('a slow replica: DnsReplicaUnhealthy names it, metrics show it', async (t) => {
  b.setDelay(40);
  await waitFor('dns-b degraded from every node', async () => column(await dns(), 'dns-b').every((c) => c.status === 'degraded'), 15_000, 100);
  agg.evaluate();
  const f = (await agg.app.inject('/api/v1/findings')).json().findings as { kind: string; labels: Record<string, string> }[];
  t.same(f.map((x) => [x.kind, x.labels.server ?? x.labels.node]), [['DnsReplicaUnhealthy', 'dns-b']]);
  const metrics = (await agg.app.inject('/metrics')).body;
  t.match(metrics, /netmatrix_dns_request_duration_seconds_bucket\{le="0.064",server="dns-b",role="replica"\} \d+/);
  t.match(metrics, /netmatrix_dns_server_nodes\{server="dns-b",role="replica",status="degraded"\} 3/);
  t.match(metrics, /netmatrix_dns_probes_total\{server="dns-a",role="replica",check="nx",outcome="nxdomain"\} [1-9]/);
  t.notMatch(metrics, /netmatrix_dns_node_error_ratio\{[^}]*server="dns-b"/, 'slow but no errors: no per-node series for dns-b');
  b.setDelay(0);
  await waitFor('dns-b ok again', async () => column(await dns(), 'dns-b').every((c) => c.status === 'ok'), 15_000, 100);
  agg.evaluate();
  t.same((await agg.app.inject('/api/v1/findings')).json().findings, [], 'resolved');
});

t.test('a replica whose TCP port is closed: UDP ok, the TCP check refused, DnsReplicaUnhealthy says TCP', async (t) => {
  const port = b.port;
  await b.close();
  b = await startDnsResponder({ host: '127.0.5.2', port, records: RECORDS, tcp: false });
  responders[1] = b;
  const col = await waitFor('dns-b TCP check failing from every node', async () => {
    const c = column(await dns(), 'dns-b');
    return c.every((x) => x.status === 'ok' && x.tcpCheck?.ok === false) && c;
  }, 15_000, 100);
  t.same(col.map((c) => c.tcpCheck!.lastOutcome), ['refused', 'refused', 'refused'], 'a closed port is refused, not a timeout');
  t.ok(column(await dns(), 'service').every((c) => c.tcpCheck?.ok), 'the service (forwarding over UDP) still answers over TCP');
  agg.evaluate();
  const f = (await agg.app.inject('/api/v1/findings')).json().findings as { kind: string; summary: string; labels: Record<string, string> }[];
  t.same(f.map((x) => [x.kind, x.labels.server]), [['DnsReplicaUnhealthy', 'dns-b']]);
  t.match(f[0]!.summary, /answers over UDP but not over TCP from 3 of 3 nodes \(refused from 3\)/);
  t.match((await agg.app.inject('/metrics')).body, /netmatrix_dns_probes_total\{server="dns-b",role="replica",check="tcp",outcome="refused"\} [1-9]/);
  await b.close();
  b = await startDnsResponder({ host: '127.0.5.2', port, records: RECORDS });
  responders[1] = b;
  await waitFor('dns-b TCP ok again', async () => column(await dns(), 'dns-b').every((c) => c.tcpCheck?.ok), 15_000, 100);
  agg.evaluate();
  t.same((await agg.app.inject('/api/v1/findings')).json().findings, [], 'resolved');
});
