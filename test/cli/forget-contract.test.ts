// netmatrix forget against a real aggregator on loopback, with simulated
// agents over real gRPC: what the API really answers passes the CLI's shape
// check, and every refusal it can meet without Kubernetes reads as one line
// with the aggregator's reason: read-only without a token, no token here,
// unknown node, connected agent.
import t, { type Test } from 'tap';
import { isForgotten } from '../../cli/api-types.js';
import { main, type Io } from '../../cli/run.js';
import type { RunningAggregator } from '../../aggregator/server.js';
import { testAggregator } from '../helpers/aggregator.js';
import { simCluster } from '../helpers/sim-cluster.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'api-token-cli-forget-4567';
const NAMES = ['node-a', 'node-b', 'node-c'];

async function cli(agg: RunningAggregator, args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env, isTTY: false };
  const code = await main([...args, '--server', agg.httpUrl], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A real aggregator and three simulated agents, stopped at the end of test `tt`. */
async function cluster(tt: Test, env: Record<string, string>) {
  const agg = await testAggregator({ 'probe-interval': '250ms', 'probe-timeout': '100ms', 'probe-kinds': 'tcp' }, undefined, 0, env);
  const sim = simCluster(agg.grpcAddress, { nodes: NAMES.map((name, i) => ({ name, zone: 'z1', podIP: `192.0.2.${i + 1}` })), outcome: () => ({ outcome: 'ok', rttUs: 300 }), kinds: ['tcp'], intervalMs: 250 });
  tt.teardown(async () => {
    sim.stop();
    await agg.stop();
  });
  await sim.ready();
  await waitFor('three nodes', () => agg.nodes.size === 3);
  return { agg, sim };
}

t.test('an aggregator without an API token is read-only', async (t) => {
  const { agg, sim } = await cluster(t, {});
  sim.stop('node-c');
  await waitFor('node-c disconnected', () => agg.nodes.get('node-c')?.agent.connected === false);
  const r = await cli(agg, ['forget', 'node-c']);
  t.equal(r.code, 3);
  t.equal(r.out, '');
  t.match(r.err, /^netmatrix: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nodes\/node-c: HTTP 403 READ_ONLY: the API is read-only: this aggregator has no API token; start it with --api-token-file \(or NETMATRIX_API_TOKEN\) .* \(then give this command the token with --token or NETMATRIX_API_TOKEN\)$/);
  t.ok(agg.nodes.get('node-c'), 'still known');
});

t.test('with an API token', async (t) => {
  const { agg, sim } = await cluster(t, { NETMATRIX_API_TOKEN: TOKEN });

  t.test('no token here: 401, with the hint', async (t) => {
    const r = await cli(agg, ['forget', 'node-c']);
    t.equal(r.code, 3);
    t.match(r.err, /HTTP 401 UNAUTHORIZED: .* \(set --token or NETMATRIX_API_TOKEN\)$/);
  });

  t.test('an unknown node: 404', async (t) => {
    const r = await cli(agg, ['forget', 'node-z', '--token', TOKEN]);
    t.equal(r.code, 3);
    t.match(r.err, /HTTP 404 NODE_NOT_FOUND: no node named "node-z" \(netmatrix status lists the nodes it knows\)$/);
  });

  t.test('a node whose agent is connected: 409', async (t) => {
    const r = await cli(agg, ['forget', 'node-c'], { NETMATRIX_API_TOKEN: TOKEN });
    t.equal(r.code, 3);
    t.match(r.err, /HTTP 409 NODE_AGENT_CONNECTED: the agent of "node-c" is connected, so the node is not gone and would come straight back: stop its agent first, or wait until it disconnects$/);
    t.ok(agg.nodes.get('node-c'));
  });

  t.test('once its agent is gone: forgotten, exit 0; the answer passes the shape check', async (t) => {
    sim.stop('node-c');
    await waitFor('node-c disconnected', () => agg.nodes.get('node-c')?.agent.connected === false);
    const r = await cli(agg, ['forget', 'node-c', '--json', '--token', TOKEN]);
    t.equal(r.err, '');
    t.equal(r.code, 0);
    const body = JSON.parse(r.out) as unknown;
    t.ok(isForgotten(body), 'what the aggregator answers is what the CLI expects');
    t.match(body, { node: 'node-c', agent: { disconnectedAt: String } });
    t.equal(agg.nodes.get('node-c'), undefined);
    const again = await cli(agg, ['forget', 'node-c', '--token', TOKEN]);
    t.equal(again.code, 3, 'forgotten once');
    t.match(again.err, /NODE_NOT_FOUND/);
  });
});
