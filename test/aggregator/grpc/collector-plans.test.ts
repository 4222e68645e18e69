// Plan pushes over real gRPC: with the full mesh every agent gets the same
// bytes, encoded once per node-set change; a per-agent planner still works;
// a stream that does not read holds at most one waiting plan and gets the
// newest once it reads; a stream that ends while waiting leaves nothing behind.
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { encodePlan } from '../../../aggregator/grpc/plan-wire.js';
import type { NodeIdentity } from '../../../aggregator/nodes/registry.js';
import type { PerAgentPlanner } from '../../../aggregator/plan/planner.js';
import { byteStream, type ByteStream } from '../../helpers/byte-stream.js';
import { collectorServer, type CollectorServer } from '../../helpers/collector.js';
import { logSink } from '../../helpers/log-sink.js';
import { hello } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

/** A node without an agent, as the Kubernetes API adds one (documentation addresses). */
function node(i: number): NodeIdentity {
  return { name: `node-${String(i).padStart(5, '0')}`, zone: `zone-${i % 3}`, podIPs: [`2001:db8::${i.toString(16)}`], nodeIPs: [], responderPort: 9402 };
}

async function started(t: Test, o: Parameters<typeof collectorServer>[0] = {}): Promise<CollectorServer> {
  const srv = await collectorServer(o);
  t.teardown(() => srv.close());
  return srv;
}

function streams(t: Test, srv: CollectorServer, n: number): ByteStream[] {
  const out = Array.from({ length: n }, () => byteStream(srv.address));
  t.teardown(() => out.forEach((s) => s.close()));
  return out;
}

let reportSeq = 0;
function report(s: ByteStream, sequence = ++reportSeq): void {
  s.send({ report: { sequence, round: sequence, sentAtMs: Date.now(), results: [] } });
}

t.test('full mesh: every agent gets the same bytes, naming every node (itself too); one encoding per node-set change', async (t) => {
  const sink = logSink('debug');
  const srv = await started(t, { log: sink.log });
  const names = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
  const agents = streams(t, srv, names.length);
  agents.forEach((a, i) => a.send({ hello: hello(names[i]!, `192.0.2.${i + 1}`) }));
  await Promise.all(agents.map((a) => a.waitForPlan((_e, p) => p.peers.length === names.length, 'a plan naming all five')));
  const bytes = agents.map((a) => a.lastPlan()!.bytes);
  for (const b of bytes) t.ok(b.equals(bytes[0]!), 'byte for byte the same plan');
  t.ok(bytes[0]!.equals(encodePlan(srv.plans.sharedPlan()!)), 'the shared plan of the current epoch');
  t.same(agents[2]!.lastPlan()!.plan.peers.map((p) => p.nodeName), names, 'node-c\'s plan names node-c: the agent skips itself');
  t.equal(srv.stats.encodes, names.length, 'five hellos, five node sets: one encoding each, whatever the number of streams');

  const before = { ...srv.stats };
  const epoch = srv.plans.currentEpoch();
  srv.nodes.upsert(node(1), Date.now());
  await Promise.all(agents.map((a) => a.waitForPlan((e) => e !== epoch, 'the new epoch')));
  const size = agents[0]!.lastPlan()!.bytes.length;
  t.equal(srv.stats.encodes - before.encodes, 1, 'a node joins: one encoding for five agents');
  t.equal(srv.stats.pushes - before.pushes, 5, 'written to each stream');
  t.equal(srv.stats.bytes - before.bytes, 5 * size, 'bytes counted per push');
  t.ok(agents.every((a) => a.lastPlan()!.bytes.equals(agents[0]!.lastPlan()!.bytes)));
  t.match(sink.lines.filter((l) => l.msg === 'plan encoded').at(-1), { epoch: srv.plans.currentEpoch(), peers: 6, bytes: size }, 'logged at debug');
  t.match(sink.lines.filter((l) => l.msg === 'plans pushed').at(-1), { epoch: srv.plans.currentEpoch(), streams: 5, written: 5, bytes: 5 * size });

  srv.nodes.upsert(node(1), Date.now());
  srv.collector.refresh();
  t.equal(srv.stats.encodes - before.encodes, 1, 'nothing changed: no new encoding');
  t.equal(srv.stats.pushes - before.pushes, 5, 'and no push');
});

t.test('a push round yields to the event loop between slices, and reaches every stream', async (t) => {
  const sink = logSink('debug');
  const srv = await started(t, { log: sink.log });
  preload(srv); // ~140 KB plans: 200 of them take well over one 10 ms slice to hand over
  const ids = Array.from({ length: 200 }, (_, i) => ({ name: `agent-${i}`, podIP: `2001:db8:1::${i.toString(16)}` }));
  // Known before they connect (as from the Kubernetes API), so their Hellos change nothing.
  for (const { name, podIP } of ids) srv.nodes.upsert({ name, zone: 'zone-1', podIPs: [podIP], nodeIPs: [], responderPort: 9402 }, Date.now());
  const agents = streams(t, srv, 200);
  agents.forEach((a, i) => a.send({ hello: hello(ids[i]!.name, ids[i]!.podIP) }));
  await waitFor('200 agents connected', () => srv.collector.streams === 200, 20_000);
  const everyone = (epoch: number, what: string) => waitFor(what, () => agents.every((a) => a.epoch() === epoch), 20_000);
  await everyone(srv.plans.currentEpoch(), 'every agent to have the plan of all 200');
  const before = srv.stats.pushes;
  srv.nodes.upsert(node(4_001), Date.now());
  const inFirstSlice = srv.stats.pushes - before;
  let seenMidway = -1;
  setImmediate(() => (seenMidway = srv.stats.pushes - before));
  const epoch = srv.plans.currentEpoch();
  await everyone(epoch, 'every agent to have the new plan');
  t.ok(inFirstSlice > 0 && inFirstSlice < 200, `the first slice wrote ${inFirstSlice} of 200 plans`);
  t.ok(seenMidway < 200, `other work ran before the round ended (${seenMidway} written by then)`);
  t.equal(srv.stats.pushes - before, 200, 'every stream got the plan, once');
  t.ok(Number(sink.lines.filter((l) => l.msg === 'plans pushed').at(-1)?.slices) > 1, 'the round log says how many slices');
});

t.test('a reconnecting agent gets the current encoding, not a new one', async (t) => {
  const srv = await started(t);
  const [a, b] = streams(t, srv, 2);
  a!.send({ hello: hello('node-a', '192.0.2.1') });
  b!.send({ hello: hello('node-b', '192.0.2.2') });
  await b!.waitForPlan((_e, p) => p.peers.length === 2, 'both nodes');
  await a!.waitForPlan((_e, p) => p.peers.length === 2, 'both nodes');
  const encodes = srv.stats.encodes;
  a!.close();
  await waitFor('node-a disconnected', () => srv.nodes.get('node-a')?.agent.connected === false);
  const again = streams(t, srv, 1)[0]!;
  again.send({ hello: hello('node-a', '192.0.2.1') });
  await again.waitForPlan(() => true, 'a plan');
  t.ok(again.lastPlan()!.bytes.equals(b!.lastPlan()!.bytes));
  t.equal(srv.stats.encodes, encodes, 'same node set: the encoding is reused');
});

t.test('a per-agent planner: each agent its own plan, encoded per agent, under one epoch', async (t) => {
  const ring: PerAgentPlanner = {
    name: 'ring',
    scope: 'per-agent',
    peersFor: (self, nodes) => {
      const i = nodes.findIndex((n) => n.name === self.name);
      return nodes.length > 1 ? [nodes[(i + 1) % nodes.length]!] : [];
    },
  };
  const srv = await started(t, { planner: ring });
  const names = ['node-a', 'node-b', 'node-c'];
  const agents = streams(t, srv, 3);
  agents.forEach((a, i) => a.send({ hello: hello(names[i]!, `192.0.2.${i + 1}`) }));
  await waitFor('three agents', () => srv.collector.streams === 3);
  const epoch = srv.plans.currentEpoch();
  await Promise.all(agents.map((a) => a.waitForPlan((e) => e === epoch, 'the last epoch')));
  t.same(agents.map((a) => a.lastPlan()!.plan.peers.map((p) => p.nodeName)), [['node-b'], ['node-c'], ['node-a']]);
  const before = srv.stats.encodes;
  srv.nodes.upsert(node(1), Date.now());
  await Promise.all(agents.map((a) => a.waitForPlan((e) => e !== epoch, 'the new epoch')));
  t.equal(srv.stats.encodes - before, 3, 'one encoding per agent');
  t.same(agents.map((a) => a.lastPlan()!.plan.peers.map((p) => p.nodeName)), [['node-b'], ['node-c'], ['node-00001']]);
});

/** 4,000 nodes without agents (before any agent connects: with no debounce, each would be a push). */
function preload(srv: CollectorServer): void {
  if (srv.nodes.size >= 4_000) return;
  for (let i = 1; i <= 4_000; i++) srv.nodes.upsert(node(i), Date.now());
}

/**
 * Makes `slow` stop reading for real: 4,000 nodes make a plan of ~140 KB, more
 * than HTTP/2 lets through to a reader that takes nothing (a 64 KiB window and
 * a 16 KiB stream buffer); 16 acks first fill grpc-js's own read buffer. Then
 * 20 more acks: 15 fill the server stream's buffer, the rest wait.
 */
async function stalled(t: Test, srv: CollectorServer): Promise<{ slow: ByteStream; call: CollectorServer['calls'][number] }> {
  preload(srv);
  const index = srv.calls.length;
  const slow = streams(t, srv, 1)[0]!;
  slow.send({ hello: hello('slow', '192.0.2.99') });
  await slow.waitForPlan(() => true, 'the first plan');
  slow.pause();
  for (let s = 1; s <= 20; s++) report(slow, s);
  await waitFor('20 reports stored', () => srv.nodes.get('slow')!.agent.highestSequence === 20);
  srv.nodes.upsert(node(4_001), Date.now()); // a plan that does not fit: it stays inside grpc-js
  for (let s = 21; s <= 40; s++) report(slow, s);
  await waitFor('40 reports stored', () => srv.nodes.get('slow')!.agent.highestSequence === 40);
  await waitFor('the stream waiting', () => srv.collector.waitingStreams() === 1);
  t.equal(srv.calls.length, index + 1, 'its stream is the last the server saw');
  const call = srv.calls[index]!;
  t.equal(call.listenerCount('drain'), 1, 'waiting for drain');
  return { slow, call };
}

t.test('a stream that does not read: at most one plan waits, a newer one replaces it; after reading again it ends with the newest', async (t) => {
  const sink = logSink('debug');
  const srv = await started(t, { stallTimeoutMs: 600_000, log: sink.log });
  preload(srv);
  const [fast] = streams(t, srv, 1);
  fast!.send({ hello: hello('fast', '192.0.2.98') });
  await fast!.waitForPlan(() => true, 'the reading agent connected');
  const { slow, call } = await stalled(t, srv);
  const stuckEpoch = srv.plans.currentEpoch();
  for (let i = 1; i <= 8; i++) {
    srv.nodes.upsert(node(5_000 + i), Date.now());
    // Once the reading agent has it, the push round (sliced over event-loop turns) has been through both streams.
    const epoch = srv.plans.currentEpoch();
    await fast!.waitForPlan((e) => e === epoch, `the reading agent to get plan ${i}`);
  }
  const newest = srv.plans.currentEpoch();
  const replaced = sink.lines.filter((l) => l.msg === 'waiting plan replaced by a newer one: the agent is not reading' && l.node === 'slow');
  t.equal(replaced.length, 7, 'eight new plans for the slow agent, one waits: seven replaced (logged at debug)');
  t.ok(srv.stats.superseded >= 7, 'and counted');
  await waitFor('only the slow stream waiting', () => srv.collector.waitingStreams() === 1);
  t.same(slow.decoded().map((m) => (m.ack ? 'ack' : m.plan ? 'plan' : '?')), ['ack', 'plan'], 'the slow agent has read nothing since its resume point and first plan');

  slow.resume();
  await slow.waitForPlan((e) => e === newest, 'the slow agent to get the newest plan', 20_000);
  await waitFor('nothing waits', () => srv.collector.waitingStreams() === 0);
  const msgs = slow.decoded();
  const plans = msgs.filter((m) => m.plan).map((m) => Number(m.plan!.epoch));
  t.equal(plans.length, 3, `three plans: the first, the one inside grpc-js when it stopped, the newest (${plans.join(', ')})`);
  t.equal(plans[1], stuckEpoch);
  t.equal(plans[2], newest);
  const acks = msgs.filter((m) => m.ack).map((m) => Number(m.ack!.sequence));
  t.same(acks, [...acks].sort((a, b) => a - b), 'acks in order');
  t.equal(acks.at(-1), 40, 'up to the last report');
  t.match(msgs.at(-2), { ack: { sequence: 40 } }, 'the merged ack was sent before the newest plan, as it was queued');
  t.equal(call.listenerCount('drain'), 0, 'the drain listener went with the drain');
  report(slow, 41);
  await waitFor('the stream works as before', () => slow.decoded().some((m) => Number(m.ack?.sequence) === 41));
});

t.test('a stream cancelled while waiting for drain leaves no listener or timer', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const srv = await started(t, { stallTimeoutMs: 600_000 });
  const before = timers();
  const { slow, call } = await stalled(t, srv);
  srv.nodes.upsert(node(9_999), Date.now()); // and a plan waiting too
  t.ok(timers() > before, 'the stall timer (and gRPC\'s own) are running');
  slow.close();
  await waitFor('the session gone', () => srv.collector.streams === 0);
  t.equal(call.listenerCount('drain'), 0, 'no drain listener');
  t.equal(srv.collector.waitingStreams(), 0);
  t.equal(srv.nodes.get('slow')!.agent.connected, false);
  await waitFor('timers back to where they were', () => timers() <= before, 5_000);
  t.equal((await slow.status).code, grpc.status.CANCELLED);
});

t.test('a stream that reads nothing past the stall deadline is let go: session released, counted, logged', async (t) => {
  const sink = logSink('info');
  const refused: string[] = [];
  const srv = await started(t, { stallTimeoutMs: 300, log: sink.log, onRefused: (r) => refused.push(r) });
  const { slow } = await stalled(t, srv);
  await waitFor('the session released', () => srv.nodes.get('slow')!.agent.connected === false, 5_000);
  t.same(refused, ['not_reading']);
  t.match(sink.find(/agent read nothing for 300ms/), { level: 40, reason: 'not_reading', node: 'slow' });
  t.equal(srv.collector.waitingStreams(), 0);
  // grpc-js sends the status after what it already holds: the agent sees it once it reads again.
  slow.resume();
  const st = await slow.status;
  t.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
  t.match(st.details, /read nothing for 300ms/);
});
