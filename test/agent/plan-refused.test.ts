// A real agent and a Collector whose settings no aggregator config would
// allow (interval 0, the proto3 default of a field left unset; a timeout as
// long as the interval): the agent refuses such plans, says so with the values
// and counts them, and probes on the plan it followed before, if any. Before,
// interval 0 was a round every millisecond.
import t from 'tap';
import { collectorServer } from '../helpers/collector.js';
import { testAgent } from '../helpers/agent.js';
import { logSink } from '../helpers/log-sink.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const srv = await collectorServer({ settings: { kinds: ['tcp'], intervalMs: 0, timeoutMs: 0 } });
t.teardown(() => srv.close());
const sink = logSink('info');
const agent = await testAgent({ name: 'node-a', podIP: '127.0.0.131', aggregator: srv.address }, sink.log);
t.teardown(() => agent.stop());

const metric = async (re: RegExp) => Number(re.exec(await agent.metrics.registry.metrics())?.[1] ?? NaN);
const rounds = () => metric(/^netmatrix_agent_rounds_total (\d+)$/m);
const refusals = () => sink.lines.filter((l) => l.msg === 'plan refused: its interval or timeout is out of range; keeping the plan followed so far (none: not probing)');

t.test('interval 0: refused, said with the values, counted; no rounds', async (t) => {
  await waitFor('the plan refused', () => refusals().length > 0, 10_000);
  t.match(refusals()[0], { intervalMs: 0, timeoutMs: 0, following: null, expected: 'interval from 100 ms to 600000 ms' });
  t.equal(await metric(/^netmatrix_agent_plans_refused_total\{reason="interval_out_of_range"\} (\d+)$/m), 1);
  await holdsFor(t, 'no round while no plan is followed', async () => {
    const n = await rounds();
    return n === 0 ? [] : [`${n} rounds`];
  }, 500);
});

t.test('a good plan is followed; a later bad one is refused and the good one goes on', async (t) => {
  srv.plans.setSettings({ kinds: ['tcp'], intervalMs: 100, timeoutMs: 50 });
  srv.collector.refresh();
  await waitFor('rounds on the good plan', async () => (await rounds()) >= 3, 10_000);
  const followed = await metric(/^netmatrix_agent_plan_epoch (\d+)$/m);
  t.ok(followed > 0, `following epoch ${followed}`);

  srv.plans.setSettings({ kinds: ['tcp'], intervalMs: 200, timeoutMs: 200 });
  srv.collector.refresh();
  await waitFor('the second plan refused', () => refusals().length > 1, 10_000);
  t.match(refusals()[1], { intervalMs: 200, timeoutMs: 200, following: followed });
  t.equal(await metric(/^netmatrix_agent_plans_refused_total\{reason="timeout_out_of_range"\} (\d+)$/m), 1);
  const before = await rounds();
  await waitFor('rounds go on at the old plan\'s interval', async () => (await rounds()) >= before + 3, 10_000);
  t.equal(await metric(/^netmatrix_agent_plan_epoch (\d+)$/m), followed, 'still the epoch followed before');
});
