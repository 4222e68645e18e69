// Node expiry without the Kubernetes API, on loopback: a real aggregator,
// simulated agents over real gRPC, a stand-in Alertmanager recording every
// post. node-d's agent disconnects and every probe towards it (icmp, tcp,
// http, node) times out: NodeUnreachable fires, and past --node-expiry node-d
// stays, still firing, never sent to Alertmanager as resolved. DELETE
// /api/v1/nodes/node-d removes it and the finding resolves (long before
// --finding-clear-for). node-e's agent disconnects while everything towards it
// is fine: it expires as before.
import t from 'tap';
import type { Alert } from '../../aggregator/alerts/alertmanager.js';
import type { PairKind } from '../../common/vocabulary.js';
import { testAggregator } from '../helpers/aggregator.js';
import { startFakeAlertmanager, type FakeRequest } from '../helpers/fake-alertmanager.js';
import { logSink } from '../helpers/log-sink.js';
import { simCluster, type SimOutcomeFn } from '../helpers/sim-cluster.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const TOKEN = 'api-token-node-expiry-0123';
const INTERVAL = 250;
const EXPIRY = 3_000;
const KINDS: PairKind[] = ['icmp', 'tcp', 'http', 'node'];
const NAMES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];

const am = await startFakeAlertmanager((req) => (req.method === 'GET' ? { status: 200, body: '[]' } : { status: 200 }));
const sink = logSink();
const agg = await testAggregator(
  {
    'probe-interval': `${INTERVAL}ms`,
    'probe-timeout': '100ms',
    window: '10s',
    'probe-kinds': KINDS.join(','),
    'node-expiry': `${EXPIRY}ms`,
    // Nothing resolves by clearing within this test: a resolution comes from forgetting.
    'finding-clear-for': '10m',
    'alertmanager-urls': am.url,
    'alert-resend': '1s',
  },
  sink.log,
  0,
  { NETMATRIX_API_TOKEN: TOKEN },
);
const healthy: SimOutcomeFn = () => ({ outcome: 'ok', rttUs: 300 });
const sim = simCluster(agg.grpcAddress, { nodes: NAMES.map((name, i) => ({ name, zone: 'z1', podIP: `192.0.2.${i + 1}` })), outcome: healthy, kinds: KINDS, intervalMs: INTERVAL });
t.teardown(async () => {
  sim.stop();
  await agg.stop();
  await am.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
async function api<T>(path: string, method = 'GET'): Promise<{ status: number; body: T }> {
  const res = await fetch(`${agg.httpUrl}${path}`, { method, headers: auth, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as T };
}
type Node = { name: string; agent: { connected: boolean } };
type Finding = { id: string; kind: string; state: string; labels: Record<string, string>; resolvedAt: string | null };
const nodeNames = async () => (await api<{ nodes: Node[] }>('/api/v1/nodes')).body.nodes.map((n) => n.name);
const unreachable = async (node: string) => (await api<{ findings: Finding[] }>('/api/v1/findings?state=all&kind=NodeUnreachable')).body.findings.find((f) => f.labels.node === node);
const heldMetric = async () => {
  const text = await (await fetch(`${agg.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith('netmatrix_nodes_expiry_held '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};
const holdLines = () => sink.lines.filter((l) => /^node expiry held back/.test(String(l.msg)));

/** Alerts about node-d's NodeUnreachable Alertmanager was sent, each with whether it said resolved (endsAt not after the post). */
function sentForD(): { resolved: boolean }[] {
  const wallOf = (r: FakeRequest) => Date.now() - (performance.now() - r.at);
  return am
    .posts()
    .flatMap((r) => r.alerts.map((a: Alert) => ({ a, postedAt: wallOf(r) })))
    .filter(({ a }) => a.labels.alertname === 'NodeUnreachable' && a.labels.node === 'node-d')
    .map(({ a, postedAt }) => ({ resolved: Date.parse(a.endsAt) <= postedAt + 100 }));
}

t.test('five simulated agents report', async (t) => {
  await sim.ready();
  await waitFor('five connected nodes', async () => {
    const { body } = await api<{ nodes: Node[] }>('/api/v1/nodes');
    return body.nodes.length === 5 && body.nodes.every((n) => n.agent.connected);
  });
  t.same(await nodeNames(), NAMES);
  t.equal(await heldMetric(), 0, 'the held-nodes gauge is there from the start');
});

t.test('node-d down (agent gone, every probe towards it times out), node-e\'s agent gone on a fine node', async (t) => {
  sim.setOutcome((_src, dst) => (dst === 'node-d' ? { outcome: 'timeout', rttUs: 0 } : { outcome: 'ok', rttUs: 300 }));
  sim.stop('node-d');
  sim.stop('node-e');
  const f = await waitFor('NodeUnreachable for node-d firing', async () => {
    const x = await unreachable('node-d');
    return x?.state === 'firing' && x;
  }, 15_000, 100);
  t.match(f, { kind: 'NodeUnreachable', state: 'firing', labels: { node: 'node-d', severity: 'critical' } });
  await waitFor('the firing alert sent to Alertmanager', () => sentForD().length > 0, 10_000, 100);
});

t.test('past --node-expiry: node-e expires, node-d is held, still firing and never sent as resolved', async (t) => {
  await waitFor('node-e expired', async () => !(await nodeNames()).includes('node-e'), 4 * EXPIRY, 100);
  t.match(sink.find('node expired: its agent has been gone longer than the node expiry'), { node: 'node-e' });
  await waitFor('node-d held back', () => holdLines().length > 0, 4 * EXPIRY, 100);
  t.match(holdLines()[0], { level: 40, node: 'node-d', kind: 'NodeUnreachable', state: 'firing', nodeExpirySeconds: EXPIRY / 1000 });
  t.equal(await heldMetric(), 1, 'counted');
  // Over more than one further sweep: still listed, still firing, nothing resolved sent.
  await holdsFor(
    t,
    'node-d stays and keeps firing across sweeps',
    async () => {
      const problems: string[] = [];
      if (!(await nodeNames()).includes('node-d')) problems.push('node-d left the node list');
      const x = await unreachable('node-d');
      if (x?.state !== 'firing') problems.push(`NodeUnreachable is ${x?.state ?? 'gone'}`);
      if (sentForD().some((s) => s.resolved)) problems.push('Alertmanager was told it resolved');
      return problems;
    },
    EXPIRY + 1_000,
  );
  t.equal(holdLines().length, 1, 'the hold is logged once');
  t.notOk(sink.lines.some((l) => String(l.msg).startsWith('node expired') && l.node === 'node-d'));
});

t.test('DELETE /api/v1/nodes/node-d forgets it: gone from the API, the finding resolves, Alertmanager is told', async (t) => {
  const id = (await unreachable('node-d'))!.id;
  const r = await api<{ node: string; findings: { id: string; kind: string }[] }>('/api/v1/nodes/node-d', 'DELETE');
  t.equal(r.status, 200);
  t.equal(r.body.node, 'node-d');
  t.ok(r.body.findings.some((f) => f.id === id && f.kind === 'NodeUnreachable'), 'the answer names the finding that resolves');
  t.notOk((await nodeNames()).includes('node-d'));
  t.match(sink.find(/^node forgotten through the API/), { node: 'node-d', client: '127.0.0.1' });
  const resolved = await waitFor('the finding resolved', async () => {
    const x = (await api<Finding>(`/api/v1/findings/${id}`)).body;
    return x.state === 'resolved' && x;
  }, 5_000, 50);
  t.ok(resolved.resolvedAt, 'resolved at the next evaluation, not after --finding-clear-for (10m)');
  await waitFor('Alertmanager told it resolved', () => sentForD().some((s) => s.resolved), 10_000, 100);
  t.equal(await heldMetric(), 0);
  const m = (await api<{ nodes: string[] }>('/api/v1/matrix?kind=tcp')).body;
  t.same(m.nodes, ['node-a', 'node-b', 'node-c']);
});
