// A real agent with --allowed-cidrs 127.0.0.0/24 and a real aggregator whose
// plan gives it two peers: one inside (127.0.0.81) and one outside
// (127.0.7.10), each a TCP listener standing for the peer's responder. The
// outside one must receive nothing, while the inside one is probed every
// round; the agent counts every probe it did not send, every round
// (netmatrix_agent_probes_skipped_total{kind,reason="not_allowed"}), shows the
// refused addresses of the plan (netmatrix_agent_targets_refused) and logs
// each address once.
import t from 'tap';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { countingListener } from '../helpers/listener.js';
import { logSink } from '../helpers/log-sink.js';
import { hello, rawStream } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const inside = await countingListener('127.0.0.81');
const outside = await countingListener('127.0.7.10');
t.teardown(() => {
  inside.server.close();
  outside.server.close();
});

// tcp and http only, so the count does not depend on CAP_NET_RAW here.
const agg = await testAggregator({ 'probe-interval': '200ms', 'probe-timeout': '150ms', 'probe-kinds': 'tcp,http' });
t.teardown(() => agg.stop());
const peers = [rawStream(agg.grpcAddress), rawStream(agg.grpcAddress)];
t.teardown(() => peers.forEach((p) => p.close()));
peers[0]!.send({ hello: hello('node-inside', '127.0.0.81', { responderPort: inside.port }) });
peers[1]!.send({ hello: hello('node-outside', '127.0.7.10', { responderPort: outside.port }) });
await Promise.all(peers.map((p) => p.next((m) => m.plan != null)));

const sink = logSink('info');
const agent = await testAgent({ name: 'node-a', podIP: '127.0.0.80', aggregator: agg.grpcAddress, flags: { 'allowed-cidrs': '127.0.0.0/24' } }, sink.log);
t.teardown(() => agent.stop());

t.test('a peer outside --allowed-cidrs gets no traffic; every probe not sent is counted per round; one log line', async (t) => {
  await waitFor('the inside peer probed for several rounds', () => inside.connections() >= 10, 10_000, 20);
  t.equal(outside.connections(), 0, 'the outside peer received nothing');

  // One snapshot of the registry: rounds and skips are counted in the same callback.
  const text = await agent.metrics.registry.metrics();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const rounds = value(/^netmatrix_agent_rounds_total (\d+)$/m);
  const skipped = (kind: string) => value(new RegExp(`^netmatrix_agent_probes_skipped_total\\{kind="${kind}",reason="not_allowed"\\} (\\d+)$`, 'm'));
  t.ok(rounds >= 5, `${rounds} rounds`);
  t.equal(skipped('tcp'), rounds, 'tcp to 127.0.7.10, every round');
  t.equal(skipped('http'), rounds, 'http to 127.0.7.10, every round');
  t.equal(value(/^netmatrix_agent_targets_refused (\d+)$/m), 1, 'one refused address in the plan');
  t.equal(value(/^netmatrix_agent_peers (\d+)$/m), 2, 'both peers are in the plan');

  const lines = sink.lines.filter((l) => l.msg === 'peer address outside --allowed-cidrs: not probed');
  t.equal(lines.length, 1, 'logged once, whatever the number of rounds and plans');
  t.match(lines[0], { ip: '127.0.7.10', allowed: '127.0.0.0/24' });
  t.equal(outside.connections(), 0, 'still nothing');
});
