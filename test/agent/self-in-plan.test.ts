// The full-mesh plan is one list of every node, the same bytes for every
// agent: each agent must take itself out. Two real agents and a real
// aggregator: each plan names both nodes, each agent probes only the other
// (also with --max-peers 1, where node-a, first by name, would otherwise take
// its own place), and the aggregator never sees a result towards its source.
import t from 'tap';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { waitFor } from '../helpers/wait.js';

const agg = await testAggregator({ 'probe-interval': '300ms', 'probe-timeout': '200ms', 'probe-kinds': 'tcp' });
t.teardown(() => agg.stop());
const a = await testAgent({ name: 'node-a', podIP: '127.0.0.121', aggregator: agg.grpcAddress, flags: { 'max-peers': '1' } });
t.teardown(() => a.stop());
const b = await testAgent({ name: 'node-b', podIP: '127.0.0.122', aggregator: agg.grpcAddress });
t.teardown(() => b.stop());

async function metrics(agent: typeof a): Promise<(re: RegExp) => number> {
  const text = await agent.metrics.registry.metrics();
  return (re) => Number(re.exec(text)?.[1] ?? NaN);
}

t.test('each agent follows a plan naming itself and probes only the other node', async (t) => {
  await waitFor('both plans to name both nodes', () => [a, b].every((x) => x.reporter.plan?.peers.length === 2), 10_000);
  for (const [agent, self, other] of [[a, 'node-a', 'node-b'], [b, 'node-b', 'node-a']] as const) {
    t.same(agent.reporter.plan!.peers.map((p) => p.nodeName), ['node-a', 'node-b'], `${self}'s plan names itself too`);
    const count = async () => {
      const value = await metrics(agent);
      return { rounds: value(/^netmatrix_agent_rounds_total (\d+)$/m), probes: value(/^netmatrix_agent_probes_total\{kind="tcp",outcome="ok"\} (\d+)$/m) || 0, value };
    };
    const before = await count();
    await waitFor(`${self}: five more rounds`, async () => (await count()).rounds >= before.rounds + 5, 10_000);
    const after = await count();
    const rounds = after.rounds - before.rounds;
    const probes = after.probes - before.probes;
    t.equal(after.value(/^netmatrix_agent_peers (\d+)$/m), 1, `${self} probes one peer`);
    t.equal(after.value(/^netmatrix_agent_peers_over_limit (\d+)$/m), 0, `${self}: itself does not count against --max-peers`);
    // A round's probes are counted as they finish, its round when all have: one apart at most.
    t.ok(Math.abs(probes - rounds) <= 1, `${self}: one tcp probe per round (${probes} in ${rounds} rounds), towards ${other} only`);
  }
  await waitFor('results stored both ways', () => agg.nodes.get('node-a')!.agent.results >= 5 && agg.nodes.get('node-b')!.agent.results >= 5, 10_000);
  t.equal(agg.sessions.stats.rejected.get('self_target') ?? 0, 0, 'no result towards its own node reached the aggregator');
  t.equal(agg.sessions.stats.rejected.size, 0, 'no result rejected at all');
});
