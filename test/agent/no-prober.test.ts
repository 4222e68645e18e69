// A real agent with --icmp off and a real aggregator whose plan asks for tcp
// and icmp towards two peers (TCP listeners standing for their responders):
// the tcp probes run every round, and every icmp probe the agent cannot send
// is counted, every round, as netmatrix_agent_probes_skipped_total{kind="icmp",reason="no_prober"}
// (the same count an agent without CAP_NET_RAW keeps).
import t from 'tap';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { countingListener } from '../helpers/listener.js';
import { logSink } from '../helpers/log-sink.js';
import { hello, rawStream } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const peerA = await countingListener('127.0.0.91');
const peerB = await countingListener('127.0.0.92');
t.teardown(() => {
  peerA.server.close();
  peerB.server.close();
});

const agg = await testAggregator({ 'probe-interval': '200ms', 'probe-timeout': '150ms', 'probe-kinds': 'tcp,icmp' });
t.teardown(() => agg.stop());
const peers = [rawStream(agg.grpcAddress), rawStream(agg.grpcAddress)];
t.teardown(() => peers.forEach((p) => p.close()));
peers[0]!.send({ hello: hello('node-peer-a', '127.0.0.91', { responderPort: peerA.port }) });
peers[1]!.send({ hello: hello('node-peer-b', '127.0.0.92', { responderPort: peerB.port }) });
await Promise.all(peers.map((p) => p.next((m) => m.plan != null)));

const sink = logSink('info');
const agent = await testAgent({ name: 'node-a', podIP: '127.0.0.90', aggregator: agg.grpcAddress, flags: { icmp: 'off' } }, sink.log);
t.teardown(() => agent.stop());

t.test('icmp in the plan without an ICMP prober: each probe not sent is counted, every round; tcp goes on', async (t) => {
  await waitFor('both peers probed over tcp for several rounds', () => peerA.connections() >= 5 && peerB.connections() >= 5, 10_000, 20);
  const text = await agent.metrics.registry.metrics();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const rounds = value(/^netmatrix_agent_rounds_total (\d+)$/m);
  t.ok(rounds >= 5, `${rounds} rounds`);
  t.equal(value(/^netmatrix_agent_probes_skipped_total\{kind="icmp",reason="no_prober"\} (\d+)$/m), 2 * rounds, 'icmp to each of the 2 peers, every round');
  t.equal(value(/^netmatrix_agent_icmp_available (\d+)$/m), 0, 'ICMP is off');
  t.match(text, /^netmatrix_agent_probes_total\{kind="tcp",outcome="ok"\} \d+$/m, 'tcp probes ran');
  t.notMatch(text, /netmatrix_agent_probes_total\{kind="icmp"/, 'no icmp probe ran');
});
