// Plan push metrics on a real aggregator's /metrics: two agents join one after
// the other, so two node sets are encoded (once each) and three plans written
// (node-a twice, node-b once).
import t from 'tap';
import { testAggregator } from '../../helpers/aggregator.js';
import { byteStream } from '../../helpers/byte-stream.js';
import { hello } from '../../helpers/raw-client.js';

const agg = await testAggregator({ 'probe-interval': '1s', 'probe-timeout': '500ms' });
t.teardown(() => agg.stop());

async function value(name: string): Promise<number> {
  const text = (await agg.app.inject('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

t.test('encodes, pushes and bytes per node-set change; nothing superseded or waiting', async (t) => {
  const a = byteStream(agg.grpcAddress);
  const b = byteStream(agg.grpcAddress);
  t.teardown(() => {
    a.close();
    b.close();
  });
  a.send({ hello: hello('node-a', '192.0.2.1') });
  await a.waitForPlan(() => true, 'node-a\'s first plan');
  const first = a.lastPlan()!.bytes.length;
  b.send({ hello: hello('node-b', '192.0.2.2') });
  await a.waitForPlan((_e, p) => p.peers.length === 2, 'node-a to learn of node-b (after the plan debounce)');
  await b.waitForPlan(() => true, 'node-b\'s plan');
  const second = b.lastPlan()!.bytes.length;
  t.ok(a.lastPlan()!.bytes.equals(b.lastPlan()!.bytes), 'the same plan for both');
  t.equal(await value('netmatrix_plan_encodes_total'), 2, 'one encoding per node set');
  t.equal(await value('netmatrix_plan_pushes_total'), 3);
  t.equal(await value('netmatrix_plan_push_bytes_total'), first + 2 * second);
  t.equal(await value('netmatrix_plans_superseded_total'), 0);
  t.equal(await value('netmatrix_agent_streams_waiting'), 0);
});

t.test('a sampled plan: sampled, its most rounds between two probes of a pair, suspects, nothing short; streams moved without a write', async (t) => {
  const sampled = await testAggregator({ 'probe-interval': '1s', 'probe-timeout': '500ms', 'full-mesh-max': '3', 'peers-per-round': '4', 'min-probers': '2' });
  t.teardown(() => sampled.stop());
  const metric = async (name: string): Promise<number> => {
    const text = (await sampled.app.inject('/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  t.equal(await metric('netmatrix_plan_sampled'), 0, 'no nodes yet: the full mesh');
  const names = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e', 'node-f'];
  const agents = names.map(() => byteStream(sampled.grpcAddress));
  t.teardown(() => agents.forEach((a) => a.close()));
  agents.forEach((a, i) => a.send({ hello: hello(names[i]!, `192.0.2.${i + 1}`) }));
  await Promise.all(agents.map((a) => a.waitForPlan((_e, p) => p.peers.length === names.length && p.sampling !== null, 'a sampled plan of six')));
  t.equal(await metric('netmatrix_plan_sampled'), 1);
  // 6 nodes, 4 a round, 2 fixed, one follow-up slot: ⌈(5 − 2) / (4 − 2 − 1)⌉ = 3 rounds at most.
  t.ok((await metric('netmatrix_plan_max_gap_rounds')) >= 2, 'a pair is probed every few rounds');
  t.equal(await metric('netmatrix_plan_layout_short{what="suspect_probers"}'), 0);
  t.equal(await metric('netmatrix_plan_suspects'), 0);
  // An agent goes away: its node is a suspect at the next evaluation (half an interval).
  agents[5]!.close();
  const deadline = Date.now() + 10_000;
  while ((await metric('netmatrix_plan_suspects')) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(await metric('netmatrix_plan_suspects'), 1, 'node-f, its agent away, is a suspect');
  t.ok((await metric('netmatrix_plans_unchanged_total')) + (await metric('netmatrix_plan_pushes_total')) > names.length, 'its new epoch went to its probers; the other streams moved without a write, or with one');
});
