// CNI end to end on loopback: real agents watch their own CNI dirs and stream
// snapshots to a real aggregator, which compares them. Proves the transport:
// a snapshot taken before any aggregator is up arrives when one starts, an
// edit arrives within 2 s, and a restarted aggregator gets the latest again.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { RunningAgent } from '../../../agent/agent.js';
import type { RunningAggregator } from '../../../aggregator/server.js';
import { freePort } from '../../helpers/alertmanager.js';
import { testAgent } from '../../helpers/agent.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { bridgeConflist, CNI_NETWORK, cniFlags, writeCniNode } from '../../helpers/cni-dirs.js';
import { waitFor } from '../../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'netmatrix-cni-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const NETWORK = CNI_NETWORK;

const NAMES = ['node-a', 'node-b', 'node-c'];
const dirs = NAMES.map((n, i) => writeCniNode(root, n, i + 1));
const grpcPort = await freePort();
const address = `127.0.0.1:${grpcPort}`;

// Agents first: their first snapshot is taken while no aggregator listens.
const agents: RunningAgent[] = [];
t.teardown(() => Promise.all(agents.map((a) => a.stop())));
for (const [i, name] of NAMES.entries()) {
  const d = dirs[i]!;
  agents.push(await testAgent({ name, podIP: `127.0.8.${i + 1}`, aggregator: address, flags: cniFlags(d) }));
}

let agg: RunningAggregator = await testAggregator({ 'probe-interval': '500ms', 'probe-timeout': '200ms', 'finding-for': '0s', 'finding-clear-for': '0s' }, undefined, grpcPort);
t.teardown(() => agg.stop());

interface CniBody {
  summary: { compared: number; drifted: number; poolsNearExhaustion: number };
  nodes: { node: string; state: string; pools: { used: number; size: number }[] }[];
}
const cni = async (): Promise<CniBody> => (await agg.app.inject('/api/v1/cni')).json();
/** The CNI findings firing: "Kind node-or-plugin". */
const findings = async () =>
  ((await agg.app.inject('/api/v1/findings')).json().findings as { kind: string; labels: Record<string, string> }[])
    .filter((f) => f.kind.startsWith('Cni') || f.kind === 'IpPoolNearExhaustion' || f.kind === 'PodCidrOverlap')
    .map((f) => `${f.kind} ${f.labels.node ?? f.labels.plugin}`);

t.test('snapshots taken before the aggregator was up arrive when it is', async (t) => {
  const body = await waitFor('three snapshots, all in the majority', async () => {
    const b = await cni();
    return b.summary.compared === 3 && b;
  }, 10_000, 50);
  t.same(body.nodes.map((n) => n.state), ['majority', 'majority', 'majority']);
  t.same(body.nodes.map((n) => n.pools[0]), [{ network: NETWORK, range: '10.244.1.0/28', size: 13, used: 3, ratio: 3 / 13, nearExhaustion: false }, { network: NETWORK, range: '10.244.2.0/28', size: 13, used: 3, ratio: 3 / 13, nearExhaustion: false }, { network: NETWORK, range: '10.244.3.0/28', size: 13, used: 3, ratio: 3 / 13, nearExhaustion: false }]);
  agg.evaluate();
  t.same(await findings(), []);
  // Nothing changed since: the API serves the evaluation's assessment instead of comparing the nodes again.
  const evaluated = new Date(agg.evaluator.last!.cni!.at).toISOString();
  const [x, y] = [(await agg.app.inject('/api/v1/cni')).json() as { generatedAt: string }, (await agg.app.inject('/api/v1/cni/node-a')).json() as { node: { state: string } }];
  t.equal(x.generatedAt, evaluated, "GET /api/v1/cni is the last evaluation's assessment");
  t.equal(y.node.state, 'majority');
  t.match(await agents[0]!.metrics.registry.getSingleMetricAsString('netmatrix_agent_cni_snapshots_total'), /netmatrix_agent_cni_snapshots_total\{full="(true|false)"\} [1-9]/, 'the agent counts what it sent');
});

t.test('an edit reaches the aggregator within 2 s and is named drift', async (t) => {
  const d = dirs[1]!;
  const started = Date.now();
  // As editors and config managers write: a new file renamed over the old one.
  writeFileSync(join(d.confDir, '.10-pods.conflist.tmp'), bridgeConflist('10.244.2.0/28', 1400));
  renameSync(join(d.confDir, '.10-pods.conflist.tmp'), join(d.confDir, '10-pods.conflist'));
  await waitFor('node-b drifted', async () => (await cni()).nodes[1]!.state === 'drifted', 2_000, 20);
  const ms = Date.now() - started;
  t.comment(`edit to node-b's snapshot at the aggregator: ${ms} ms`);
  t.ok(ms <= 2_000, `within 2 s (${ms} ms)`);
  agg.evaluate();
  t.same(await findings(), ['CniConfigDrift node-b']);
  const detail = (await agg.app.inject('/api/v1/cni/node-b')).json();
  t.same(detail.diff, ['plugins[0].mtu: 1450 → 1400']);
  t.equal((await agg.app.inject('/api/v1/cni/node-z')).json().code, 'NODE_NOT_FOUND');
});

t.test('a filled pool is IpPoolNearExhaustion; the restarted aggregator gets the latest snapshots again', async (t) => {
  const d = dirs[2]!;
  for (let k = 5; k < 15; k++) writeFileSync(join(d.ipamDir, NETWORK, `10.244.3.${k}`), 'c\neth0\n');
  await waitFor('node-c pool 13 of 13', async () => (await cni()).nodes[2]!.pools[0]?.used === 13, 5_000, 20);
  agg.evaluate();
  t.same((await findings()).sort(), ['CniConfigDrift node-b', 'IpPoolNearExhaustion node-c']);
  await agg.stop();
  agg = await testAggregator({ 'probe-interval': '500ms', 'probe-timeout': '200ms', 'finding-for': '0s', 'finding-clear-for': '0s' }, undefined, grpcPort);
  const body = await waitFor('every agent resent its snapshot to the new aggregator', async () => {
    const b = await cni();
    return b.summary.compared === 3 && b;
  }, 10_000, 50);
  t.match(body.summary, { drifted: 1, poolsNearExhaustion: 1 }, 'no change on disk, and still the new aggregator knows');
});
