// A real aggregator with --full-mesh-max 3 and eight real agents on loopback:
// the plan is sampled (4 peers a round, one or two fixed), each agent walks the ring
// and the matrix fills in over a few rounds with every pair probed; a closed
// responder fails its column for the agents that probe it (followed up every
// round), and a pair not probed this round keeps its status (not stale after
// three intervals); once a finding about it is pending it is a suspect, probed
// by every other node every round.
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import type { RunningAggregator } from '../../aggregator/server.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL = 300;
const NAMES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e', 'node-f', 'node-g', 'node-h'];

const agg: RunningAggregator = await testAggregator({ 'probe-interval': `${INTERVAL}ms`, 'probe-timeout': '150ms', window: '10s', 'full-mesh-max': '3', 'peers-per-round': '4', 'min-probers': '1', 'probe-kinds': 'tcp' });
const agents: RunningAgent[] = [];
for (const [i, name] of NAMES.entries()) agents.push(await testAgent({ name, podIP: `127.0.0.${61 + i}`, nodeIP: `127.0.1.${61 + i}`, aggregator: `127.0.0.1:${agg.grpcPort}` }));
t.teardown(async () => {
  for (const a of agents) await a.stop();
  await agg.stop();
});

type Cell = { status: string; lastOutcome: string | null } | null;
async function matrix(): Promise<{ nodes: string[]; cells: Cell[][] }> {
  return (await agg.app.inject('/api/v1/matrix?kind=tcp')).json();
}

t.test('sampled: every agent probes 4 peers a round, and every pair gets probed', async (t) => {
  await waitFor('a sampled plan', async () => /^netmatrix_plan_sampled 1$/m.test((await agg.app.inject('/metrics')).body), 5_000);
  await waitFor('every cell ok', async () => {
    const m = await matrix();
    return m.nodes.length === NAMES.length && m.cells.every((row, s) => row.every((c, d) => s === d || c?.status === 'ok'));
  }, 10_000);
  t.pass('all 56 cells ok');
  const text = await agents[0]!.metrics.registry.metrics();
  t.match(text, /^netmatrix_agent_peers 4$/m, 'four peers a round');
});

t.test('a closed responder: its column fails for whoever probes it, and a cell not probed for 3 intervals is not stale', async (t) => {
  await agents[2]!.responder.close();
  await waitFor('node-c refused by every prober', async () => {
    const m = await matrix();
    const c = m.nodes.indexOf('node-c');
    return m.cells.every((row, s) => s === c || (row[c]?.status === 'failing' && row[c]?.lastOutcome === 'refused'));
  }, 10_000);
  t.pass('every prober saw it, in turn');
  // Its probers follow it up every round, and once a finding about it is pending it is a suspect:
  // every other node probes it every round (its whole column, the cap being above it).
  await waitFor('node-c a suspect', async () => /^netmatrix_plan_suspects 1$/m.test((await agg.app.inject('/metrics')).body), 10_000);
  await waitFor('every prober probing node-c every round (a fixed peer)', async () => {
    const failing = await Promise.all(agents.map(async (a) => Number(/^netmatrix_agent_peers_failing (\d+)$/m.exec(await a.metrics.registry.metrics())?.[1] ?? 0)));
    return failing.every((x) => x === 0);
  }, 5_000);
  t.pass('node-c is a suspect: no prober follows it up any more, each has it as a fixed peer');
  const m = await matrix();
  const c = m.nodes.indexOf('node-c');
  // Ok cells keep their status between their probes (a pair comes round every few rounds here): none unknown.
  const oks = m.cells.flatMap((row, s) => row.filter((x, d) => s !== d && d !== c && x?.status === 'ok'));
  t.equal(oks.length, 49, 'every other cell ok');
  t.notOk(m.cells.some((row, s) => row.some((x, d) => s !== d && x?.status === 'unknown')), 'no cell unknown');
});
