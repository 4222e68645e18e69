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
