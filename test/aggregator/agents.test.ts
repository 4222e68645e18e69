// Agent sessions without transport: Hello validation, who may connect,
// duplicate reports, and how results reach the matrix: on the aggregator's
// monotonic clock, timeouts corroborated within one report, a column afresh
// on every Hello, agents' clock steps detected.
import t from 'tap';
import { AgentSessions, helloProblem, type HelloInput, type ResultInput } from '../../aggregator/agents.js';
import { DnsStore } from '../../aggregator/dns/store.js';
import { kindIndex, MatrixStore } from '../../aggregator/matrix/store.js';
import { NodeRegistry, type NodeRecord } from '../../aggregator/nodes/registry.js';
import { ManualClock, wallOf } from '../../common/clock.js';
import { addressFamilies, type PairKind } from '../../common/vocabulary.js';

const V4 = addressFamilies.index('ipv4');
const V6 = addressFamilies.index('ipv6');

function hello(name: string, over: Partial<HelloInput> = {}): HelloInput {
  const n = name.charCodeAt(name.length - 1) % 200;
  return {
    nodeName: name,
    podIps: [`192.0.2.${n}`],
    nodeIps: [`198.51.100.${n}`],
    zone: 'zone-1',
    agentVersion: '1.2.3',
    capabilities: ['CAPABILITY_ICMP', 'CAPABILITY_TCP'],
    responderPort: 9402,
    instanceId: `${name}-1`,
    ...over,
  };
}

function result(targetNode: string, over: Partial<ResultInput> = {}): ResultInput {
  return { kind: 'PROBE_KIND_ICMP', targetNode, family: 'ADDRESS_FAMILY_IPV4', outcome: 'OUTCOME_OK', rttUs: 500, timestampMs: 5_000, ...over };
}

const STALE = 15_000;

function setup(maxResultAgeMs = 60_000) {
  const clock = new ManualClock();
  const nodes = new NodeRegistry();
  // As the aggregator builds it: monotonic times, views in wall-clock ms.
  const store = new MatrixStore(
    { windowMs: 60_000, intervalMs: 5_000, toWall: wallOf(clock), thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: STALE } },
    clock.monotonic(),
  );
  const sessions = new AgentSessions(nodes, store, clock, { maxResultsPerReport: 1000, maxResultAgeMs });
  const connect = (name: string, over: Partial<HelloInput> = {}): NodeRecord => {
    const r = sessions.hello(hello(name, over));
    if (!('record' in r)) throw new Error(`refused: ${r.refusal.message}`);
    return r.record;
  };
  /** The cell src→dst of `kind` (ipv4) as a view shows it now. */
  const cell = (src: NodeRecord, dst: NodeRecord, kind: PairKind = 'icmp', family = V4) => store.view(src.index, dst.index, kindIndex(kind), family, clock.monotonic());
  return { clock, nodes, store, sessions, connect, cell };
}

t.test('a valid hello registers the node and its agent', async (t) => {
  const { sessions, nodes, clock } = setup();
  const r = sessions.hello(hello('node-a', { podIps: ['192.0.2.1', '2001:db8::1'], capabilities: ['CAPABILITY_TCP', 3, 'CAPABILITY_CNI'] }));
  t.ok('record' in r);
  const rec = (r as { record: NodeRecord }).record;
  t.equal(nodes.get('node-a'), rec);
  t.same(rec.podIPs, ['192.0.2.1', '2001:db8::1']);
  t.same(rec.nodeIPs, ['198.51.100.97']);
  t.equal(rec.zone, 'zone-1');
  t.equal(rec.responderPort, 9402);
  t.equal(rec.agent.connected, true);
  t.equal(rec.agent.instanceId, 'node-a-1');
  t.equal(rec.agent.version, '1.2.3');
  t.same(rec.agent.capabilities, ['tcp', 'http', 'cni'], 'capabilities by name or number, as words');
  t.equal(rec.agent.connectedSince, clock.monotonic());
  t.equal(rec.agent.disconnectedAt, null);
  t.equal(sessions.stats.refused.size, 0);
});

t.test('a hello may carry no capabilities, no node IPs and an empty zone', async (t) => {
  const { sessions } = setup();
  const r = sessions.hello(hello('node-a', { capabilities: [], nodeIps: [], zone: '' }));
  t.ok('record' in r);
});

t.test('an invalid hello is refused with a message naming the field', async (t) => {
  const cases: [string, Partial<HelloInput>, RegExp][] = [
    ['upper-case name', { nodeName: 'Node-A' }, /^hello: node_name "Node-A" is not a DNS-1123 subdomain/],
    ['empty name', { nodeName: '' }, /^hello: node_name "" is not a DNS-1123 subdomain/],
    ['name too long', { nodeName: 'a'.repeat(254) }, /^hello: node_name "a{80}" is not a DNS-1123 subdomain/],
    ['no pod IPs', { podIps: [] }, /^hello: pod_ips is empty$/],
    ['bad pod IP', { podIps: ['192.0.2.1', 'pod.local'] }, /^hello: pod_ips entry "pod.local" is not an IP address$/],
    ['CIDR as pod IP', { podIps: ['192.0.2.0/24'] }, /^hello: pod_ips entry "192.0.2.0\/24" is not an IP address$/],
    ['bad node IP', { nodeIps: ['198.51.100.300'] }, /^hello: node_ips entry "198.51.100.300" is not an IP address$/],
    ['too many pod IPs', { podIps: Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}`) }, /^hello: pod_ips has 9 addresses \(at most 8\)$/],
    ['too many node IPs', { nodeIps: Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 1}`) }, /^hello: node_ips has 9 addresses/],
    ['port 0', { responderPort: 0 }, /^hello: responder_port 0 is not a port \(1-65535\)$/],
    ['port too high', { responderPort: 65536 }, /^hello: responder_port 65536 is not a port/],
    ['fractional port', { responderPort: 9402.5 }, /^hello: responder_port 9402.5 is not a port/],
    ['negative port', { responderPort: -1 }, /^hello: responder_port -1 is not a port/],
    ['empty instance id', { instanceId: '' }, /^hello: instance_id must be 1 to 64 characters$/],
    ['long instance id', { instanceId: 'i'.repeat(65) }, /^hello: instance_id must be 1 to 64 characters$/],
    ['long zone', { zone: 'z'.repeat(64) }, /^hello: zone is longer than 63 characters$/],
    ['long version', { agentVersion: 'v'.repeat(254) }, /^hello: agent_version is too long$/],
    ['unknown capability name', { capabilities: ['CAPABILITY_TCP', 'CAPABILITY_TELEPATHY'] }, /^hello: unknown capability "CAPABILITY_TELEPATHY"$/],
    ['unspecified capability', { capabilities: ['CAPABILITY_UNSPECIFIED'] }, /^hello: unknown capability "CAPABILITY_UNSPECIFIED"$/],
    ['unknown capability number', { capabilities: [99] }, /^hello: unknown capability 99$/],
    ['capability as a word, not a proto name', { capabilities: ['tcp'] }, /^hello: unknown capability "tcp"$/],
  ];
  const { sessions, nodes } = setup();
  let n = 0;
  for (const [what, over, re] of cases) {
    const r = sessions.hello(hello('node-a', over));
    t.ok('refusal' in r, what);
    if (!('refusal' in r)) continue;
    n++;
    t.equal(r.refusal.reason, 'invalid_hello', what);
    t.match(r.refusal.message, re, what);
    t.notMatch(r.refusal.message, /\n/, 'one line');
  }
  t.equal(nodes.size, 0, 'nothing registered');
  t.equal(sessions.stats.refused.get('invalid_hello'), n, 'every refusal counted');
});

t.test('the limits are inclusive', async (t) => {
  for (const over of [
    { instanceId: 'i' },
    { instanceId: 'i'.repeat(64) },
    { zone: 'z'.repeat(63) },
    { responderPort: 1 },
    { responderPort: 65535 },
    { agentVersion: 'v'.repeat(253) },
    { podIps: Array.from({ length: 8 }, (_, i) => `192.0.2.${i + 1}`) },
  ] as Partial<HelloInput>[]) {
    t.equal(helloProblem(hello('node-a', over)), undefined, JSON.stringify(over).slice(0, 60));
  }
});

t.test('a long bad value is truncated in the message', async (t) => {
  const msg = helloProblem(hello('node-a', { podIps: ['x'.repeat(500)] }))!;
  t.ok(msg.length < 120, msg);
});

t.test('a second hello for a connected node is refused; after goodbye it may connect again', async (t) => {
  const { sessions, nodes, connect, clock } = setup();
  const rec = connect('node-a');
  const versionBefore = nodes.setVersion;
  const again = sessions.hello(hello('node-a', { instanceId: 'node-a-2', podIps: ['192.0.2.200'] }));
  t.ok('refusal' in again);
  if ('refusal' in again) {
    t.equal(again.refusal.reason, 'already_connected');
    t.equal(again.refusal.message, 'node "node-a" already has a connected agent (instance node-a-1)');
  }
  t.same(rec.podIPs, ['192.0.2.97'], 'the refused hello changed nothing');
  t.equal(rec.agent.instanceId, 'node-a-1');
  t.equal(nodes.setVersion, versionBefore);
  t.equal(sessions.stats.refused.get('already_connected'), 1);

  clock.advance(1_000);
  sessions.goodbye(rec);
  t.equal(rec.agent.connected, false);
  t.equal(rec.agent.disconnectedAt, clock.monotonic());
  t.same(nodes.expired(clock.monotonic() + 1), ['node-a'], 'a gone agent can expire');
  clock.advance(1_000);
  const back = sessions.hello(hello('node-a', { instanceId: 'node-a-2' }));
  t.ok('record' in back);
  t.equal(rec.agent.connected, true);
  t.equal(rec.agent.disconnectedAt, null);
  t.equal(rec.agent.connectedSince, clock.monotonic());
  t.same(nodes.expired(clock.monotonic() + 1), []);
});

t.test('a hello updates the node\'s identity', async (t) => {
  const { sessions, connect } = setup();
  const rec = connect('node-a');
  sessions.goodbye(rec);
  connect('node-a', { podIps: ['2001:db8::a'], zone: 'zone-9', responderPort: 19402, capabilities: ['CAPABILITY_DNS'], agentVersion: '2.0.0' });
  t.same(rec.podIPs, ['2001:db8::a']);
  t.equal(rec.zone, 'zone-9');
  t.equal(rec.responderPort, 19402);
  t.same(rec.agent.capabilities, ['dns']);
  t.equal(rec.agent.version, '2.0.0');
});

t.test('reports: sequence numbers, duplicates, instances', async (t) => {
  const { sessions, connect, clock } = setup();
  const a = connect('node-a');
  connect('node-b');
  const report = (sequence: number, n = 1) => sessions.report(a, { sequence, sentAtMs: 5_000, results: Array.from({ length: n }, () => result('node-b')) });

  t.same(report(1, 2), { duplicate: false, accepted: 2, rejected: {} });
  t.equal(a.agent.highestSequence, 1);
  t.equal(a.agent.lastReportAt, clock.monotonic());
  clock.advance(1_000);
  t.same(report(1), { duplicate: true, accepted: 0, rejected: {} }, 'the same sequence again');
  t.equal(a.agent.lastReportAt, clock.monotonic() - 1_000, 'a duplicate is not a report');
  t.equal(sessions.stats.duplicates, 1);
  t.equal(report(3).accepted, 1, 'a gap is fine');
  t.same(report(2), { duplicate: true, accepted: 0, rejected: {} }, 'an older sequence is a duplicate');
  t.equal(sessions.stats.duplicates, 2);
  t.equal(a.agent.reports, 2);
  t.equal(a.agent.results, 3);
  t.equal(sessions.stats.reports, 2);
  t.equal(sessions.stats.results, 3);

  // Reconnect of the same instance: the replay of what was stored is dropped.
  sessions.goodbye(a);
  connect('node-a');
  t.equal(report(3).duplicate, true);
  t.equal(report(4).duplicate, false);
  t.equal(a.agent.highestSequence, 4);

  // A restarted agent (new instance id) starts again at 1.
  sessions.goodbye(a);
  connect('node-a', { instanceId: 'node-a-restarted' });
  t.equal(a.agent.highestSequence, 0);
  t.same(report(1), { duplicate: false, accepted: 1, rejected: {} });
  t.equal(sessions.stats.duplicates, 3);
});

t.test('bad results are counted per reason while the rest of the report is stored', async (t) => {
  const { sessions, connect, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  const out = sessions.report(a, {
    sequence: 1,
    sentAtMs: 5_000,
    results: [
      result('node-b'),
      result('node-z'),
      result('node-a'),
      result('node-b', { kind: 'PROBE_KIND_UNSPECIFIED' }),
      result('node-b', { kind: 0 }),
      result('node-b', { kind: 'PROBE_KIND_DNS' }),
      result('node-b', { kind: 'icmp' }),
      result('node-b', { outcome: 'OUTCOME_BOGUS' }),
      result('node-b', { outcome: 'OUTCOME_UNSPECIFIED' }),
      result('node-b', { outcome: 99 }),
      result('node-b', { family: 'ADDRESS_FAMILY_UNSPECIFIED' }),
      result('node-b', { kind: 'PROBE_KIND_TCP', outcome: 'OUTCOME_REFUSED', family: 'ADDRESS_FAMILY_IPV6' }),
      result('node-z', { kind: 'PROBE_KIND_UNSPECIFIED' }),
    ],
  });
  t.same(out, { duplicate: false, accepted: 2, rejected: { unknown_target: 1, self_target: 1, unknown_kind: 5, bad_outcome: 3, bad_family: 1 } }, 'one reason per result, the first that applies');
  t.equal(sessions.stats.rejected.get('unknown_target'), 1);
  t.equal(sessions.stats.rejected.get('self_target'), 1);
  t.equal(sessions.stats.rejected.get('unknown_kind'), 5);
  t.equal(sessions.stats.rejected.get('bad_outcome'), 3);
  t.equal(sessions.stats.rejected.get('bad_family'), 1);
  t.equal(a.agent.results, 2);
  t.equal(sessions.stats.results, 2);
  const now = clock.monotonic();
  t.equal(store.view(a.index, b.index, kindIndex('icmp'), V4, now)!.lastOutcome, 'ok');
  t.equal(store.view(a.index, b.index, kindIndex('tcp'), V6, now)!.lastOutcome, 'refused');
  t.equal(store.view(a.index, a.index, kindIndex('icmp'), V4, now), undefined, 'no self cell');
  t.equal(store.trackedCells, 2);

  const again = sessions.report(a, { sequence: 2, sentAtMs: 5_000, results: [result('node-z')] });
  t.same(again, { duplicate: false, accepted: 0, rejected: { unknown_target: 1 } }, 'per-report counts start afresh');
  t.equal(sessions.stats.rejected.get('unknown_target'), 2, 'the stats add up');
});

t.test('enum numbers are accepted like names', async (t) => {
  const { sessions, connect, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  const out = sessions.report(a, {
    sequence: 1,
    sentAtMs: 5_000,
    results: [
      result('node-b', { kind: 5, family: 2, outcome: 4 }), // node, ipv6, unreachable
      result('node-b', { kind: 6 }), // dns is not a pair kind
    ],
  });
  t.same(out, { duplicate: false, accepted: 1, rejected: { unknown_kind: 1 } });
  t.equal(store.view(a.index, b.index, kindIndex('node'), V6, clock.monotonic())!.lastOutcome, 'unreachable');
});

t.test('result age comes from the agent\'s own clocks only, capped', async (t) => {
  const { sessions, connect, store, clock } = setup(60_000);
  const a = connect('node-a');
  const b = connect('node-b');
  const icmp = kindIndex('icmp');
  // The agent's clock is a day behind ours: only sentAtMs - timestampMs matters.
  const agentNow = clock.now() - 86_400_000;
  const lastAt = (kind: 'icmp' | 'tcp' | 'http' | 'mtu' | 'node') => store.view(a.index, b.index, kindIndex(kind), V4, clock.monotonic())!.lastAt;
  sessions.report(a, {
    sequence: 1,
    sentAtMs: agentNow,
    results: [
      result('node-b', { timestampMs: agentNow - 3_000 }),
      result('node-b', { kind: 'PROBE_KIND_TCP', timestampMs: agentNow - 120_000 }),
      result('node-b', { kind: 'PROBE_KIND_HTTP', timestampMs: agentNow + 5_000 }),
      result('node-b', { kind: 'PROBE_KIND_MTU', timestampMs: agentNow - 60_000 }),
      result('node-b', { kind: 'PROBE_KIND_NODE', timestampMs: agentNow }),
    ],
  });
  t.equal(lastAt('icmp'), clock.now() - 3_000, 'received now, 3 s old on the agent\'s clock');
  t.equal(lastAt('tcp'), clock.now() - 60_000, 'older than maxResultAgeMs: kept at that age');
  t.equal(lastAt('mtu'), clock.now() - 60_000, 'exactly the cap');
  t.equal(lastAt('http'), clock.now(), 'a timestamp after the send time is age 0, never the future');
  t.equal(lastAt('node'), clock.now());
  t.equal(store.view(a.index, b.index, icmp, V4, clock.monotonic())!.samples, 1);
});

t.test('the aggregator clock at receipt is what counts, not when the report was sent', async (t) => {
  const { sessions, connect, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  clock.advance(7_000);
  sessions.report(a, { sequence: 1, sentAtMs: 1, results: [result('node-b', { timestampMs: 1 })] });
  t.equal(store.view(a.index, b.index, kindIndex('icmp'), V4, clock.monotonic())!.lastAt, clock.monotonic());
  t.equal(a.agent.lastReportAt, clock.monotonic());
});

t.test('rtt is stored as an unsigned 32-bit number of microseconds', async (t) => {
  const { sessions, connect, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  sessions.report(a, { sequence: 1, sentAtMs: 0, results: [result('node-b', { rttUs: 1_500, timestampMs: 0 })] });
  t.same(store.samples(a.index, b.index, kindIndex('icmp'), V4).map((s) => s.rttUs), [1_500]);
});

t.test('a report that waited in transit is placed at the times its results were measured', async (t) => {
  const { sessions, connect, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  const R = clock.now();
  const A = 1_000_000; // the agent's clock, unrelated to ours
  const lastAt = () => store.view(a.index, b.index, kindIndex('icmp'), V4, clock.monotonic())!.lastAt;
  sessions.report(a, { sequence: 1, sentAtMs: A, results: [result('node-b', { timestampMs: A - 1_000 })] });
  t.equal(lastAt(), R - 1_000);
  // Sent 5 s later by the agent's clock, received 10 s later by ours: it sat in a buffer for 5 s.
  clock.advance(10_000);
  sessions.report(a, { sequence: 2, sentAtMs: A + 5_000, results: [result('node-b', { timestampMs: A + 4_000 })] });
  t.equal(lastAt(), R + 4_000, 'measured 4 s after the first result, not 1 s before receipt');
  // A new stream forgets the estimate (the agent may have restarted or stepped its clock).
  sessions.goodbye(a);
  connect('node-a');
  clock.advance(1_000);
  sessions.report(a, { sequence: 3, sentAtMs: 5_000, results: [result('node-b', { kind: 'PROBE_KIND_TCP', timestampMs: 3_000 })] });
  t.equal(store.view(a.index, b.index, kindIndex('tcp'), V4, clock.monotonic())!.lastAt, clock.now() - 2_000, 'measured 2 s before it was sent, by the new stream\'s own offset');
});

const timeout = (target: string, kind = 'PROBE_KIND_ICMP', family = 'ADDRESS_FAMILY_IPV4') => result(target, { kind, family, outcome: 'OUTCOME_TIMEOUT', rttUs: 0 });

t.test('timeouts of two kinds towards one target in one report fail both cells at once; a lone timeout waits for its successor', async (t) => {
  const { sessions, connect, cell, clock } = setup();
  const a = connect('node-a');
  const [b, c, d] = ['node-b', 'node-c', 'node-d'].map((n) => connect(n));
  sessions.report(a, {
    sequence: 1,
    sentAtMs: 5_000,
    results: [
      timeout('node-b'),
      timeout('node-b', 'PROBE_KIND_TCP'),
      timeout('node-c'),
      timeout('node-c', 'PROBE_KIND_ICMP', 'ADDRESS_FAMILY_IPV6'),
      result('node-d', { kind: 'PROBE_KIND_HTTP', outcome: 'OUTCOME_REFUSED', rttUs: 0 }),
      timeout('node-d', 'PROBE_KIND_NODE'),
    ],
  });
  for (const kind of ['icmp', 'tcp'] as const) {
    t.match(cell(a, b!, kind), { status: 'failing', reason: /other kinds timed out towards the same target in the same round/ }, `${kind}: icmp and tcp silent towards node-b together`);
  }
  t.match(cell(a, c!), { status: 'ok', lastOutcome: 'timeout', reason: /not confirmed yet/ }, 'the same kind in the other family is not another kind');
  t.match(cell(a, c!, 'icmp', V6), { status: 'ok', lastOutcome: 'timeout' });
  t.match(cell(a, d!, 'http'), { status: 'failing', reason: /an answer from the path/ }, 'an explicit answer fails at once');
  t.match(cell(a, d!, 'node'), { status: 'ok', lastOutcome: 'timeout' }, 'a refusal of another kind is not a timeout: it does not corroborate one');

  clock.advance(5_000);
  sessions.report(a, { sequence: 2, sentAtMs: 10_000, results: [timeout('node-c'), result('node-b'), result('node-b', { kind: 'PROBE_KIND_TCP' })] });
  t.match(cell(a, c!), { status: 'failing', failureRun: 2, reason: /last 2 probes failed/ }, 'its successor failed too');
  t.match(cell(a, c!, 'icmp', V6), { status: 'ok' }, 'a cell without a new result keeps its status');
  t.match(cell(a, b!), { status: 'ok', failureRun: 0 }, 'ok again at the first answer');
});

t.test('timeouts in different reports, or towards different targets, corroborate nothing', async (t) => {
  const { sessions, connect, cell, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  const c = connect('node-c');
  sessions.report(a, { sequence: 1, sentAtMs: 5_000, results: [timeout('node-b'), timeout('node-c', 'PROBE_KIND_TCP')] });
  t.match(cell(a, b), { status: 'ok', lastOutcome: 'timeout' });
  t.match(cell(a, c, 'tcp'), { status: 'ok', lastOutcome: 'timeout' });
  clock.advance(5_000);
  sessions.report(a, { sequence: 2, sentAtMs: 10_000, results: [result('node-b'), timeout('node-b', 'PROBE_KIND_TCP')] });
  t.match(cell(a, b, 'tcp'), { status: 'ok', lastOutcome: 'timeout' }, 'icmp timed out towards node-b in the report before, not in this one');
});

t.test('every Hello starts the agent\'s column afresh (what probes towards it saw while it was away); its row keeps its history', async (t) => {
  const { sessions, connect, cell, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  const refused = (target: string) => result(target, { kind: 'PROBE_KIND_TCP', outcome: 'OUTCOME_REFUSED', rttUs: 0 });
  sessions.report(a, { sequence: 1, sentAtMs: 5_000, results: [refused('node-b')] });
  sessions.report(b, { sequence: 1, sentAtMs: 5_000, results: [refused('node-a')] });
  t.match(cell(a, b, 'tcp'), { status: 'failing', samples: 1 });
  for (const instanceId of ['node-b-1', 'node-b-2']) {
    sessions.goodbye(b);
    clock.advance(1_000);
    connect('node-b', { instanceId });
    t.match(cell(a, b, 'tcp'), { status: 'unknown', reason: 'no probe results yet', samples: 0, lossSamples: 0, lastOutcome: null }, `after a Hello of ${instanceId}: towards node-b, nothing`);
    t.match(cell(b, a, 'tcp'), { status: 'failing', samples: 1 }, 'from node-b: as it was');
    t.equal(store.trackedCells, 2, 'the cells stay, emptied');
    sessions.report(a, { sequence: instanceId === 'node-b-1' ? 2 : 3, sentAtMs: 6_000, results: [refused('node-b')] });
  }
  t.match(cell(a, b, 'tcp'), { status: 'failing', samples: 1 }, 'results after the Hello count as usual');
});

t.test('a report keeps its source\'s row fresh even without results; a row without reports goes stale once', async (t) => {
  const { sessions, connect, cell, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  sessions.report(a, { sequence: 1, sentAtMs: 5_000, results: [result('node-b')] });
  for (let i = 2; i <= 5; i++) {
    clock.advance(5_000);
    sessions.report(a, { sequence: i, sentAtMs: 5_000 * i, results: [] });
  }
  t.same(store.sweep(clock.monotonic()), [], `${20_000 / 1000} s after its last result, > stale after ${STALE / 1000} s: still fresh`);
  t.match(cell(a, b), { status: 'ok', samples: 1 });
  clock.advance(STALE);
  t.same(store.sweep(clock.monotonic()), [], 'exactly the stale time since the last report');
  clock.advance(1);
  t.same(store.sweep(clock.monotonic()), [a.index], 'then stale');
  t.same(store.sweep(clock.monotonic()), [], 'once');
  t.match(cell(a, b), { status: 'unknown', reason: /no report from the source/ });
});

t.test('agent and store times are monotonic: a step of the aggregator\'s wall clock turns nothing stale, and views show the wall clock', async (t) => {
  const { sessions, connect, cell, store, clock } = setup();
  const a = connect('node-a');
  const b = connect('node-b');
  let sequence = 0;
  for (const step of [3_600_000, -7_200_000]) {
    clock.stepWall(step);
    clock.advance(5_000);
    sessions.report(a, { sequence: ++sequence, sentAtMs: 5_000 * sequence, results: [result('node-b', { timestampMs: 5_000 * sequence })] });
    t.equal(a.agent.lastReportAt, clock.monotonic(), `wall step ${step / 3_600_000} h: last report at the monotonic time`);
    t.same(store.sweep(clock.monotonic()), [], 'no row stale');
    t.match(cell(a, b), { status: 'ok', samples: sequence, lastAt: clock.now() }, 'the view shows the wall time of the result');
  }
  sessions.goodbye(a);
  t.equal(a.agent.disconnectedAt, clock.monotonic());
});

t.test('a step of ±1 h of an agent\'s clock is detected once and counted; no row goes blank, results keep landing in fresh cells', async (t) => {
  for (const step of [3_600_000, -3_600_000]) {
    const { sessions, connect, cell, store, clock } = setup();
    const a = connect('node-a');
    const b = connect('node-b');
    let agent = 1_765_000_000_000;
    let sequence = 0;
    const report = (outcome: string) => {
      clock.advance(5_000);
      agent += 5_000;
      return sessions.report(a, { sequence: ++sequence, sentAtMs: agent, results: [result('node-b', { outcome, rttUs: outcome === 'OUTCOME_OK' ? 500 : 0, timestampMs: agent - 1_000 })] });
    };
    for (let i = 0; i < 3; i++) t.equal(report('OUTCOME_OK').clockStepMs, undefined);
    agent += step;
    const stepped = report('OUTCOME_REFUSED');
    t.equal(stepped.clockStepMs, step, `the agent's clock moved by ${step / 3_600_000} h`);
    t.equal(sessions.stats.clockSteps, 1);
    t.same(store.sweep(clock.monotonic()), [], 'no row stale');
    t.match(cell(a, b), { status: 'failing', lastOutcome: 'refused', lastAt: clock.now() - 1_000, samples: 4 }, 'the result lands at its measured time, as the newest');
    const after = report('OUTCOME_OK');
    t.equal(after.clockStepMs, undefined, 'the next report is no step');
    t.equal(sessions.stats.clockSteps, 1, 'counted once');
    t.match(cell(a, b), { status: 'ok', lastOutcome: 'ok', lastAt: clock.now() - 1_000, samples: 5 });
  }
});

t.test('dns results go to the DNS store; unknown servers and broken results are rejected and counted', async (t) => {
  const clock = new ManualClock();
  const nodes = new NodeRegistry();
  const thresholds = { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 20, staleAfterMs: 15_000 };
  const store = new MatrixStore({ windowMs: 60_000, intervalMs: 5_000, thresholds }, clock.monotonic());
  const dns = new DnsStore([{ name: 'service', role: 'service', address: '', port: 53 }], { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds }, clock.monotonic());
  const sessions = new AgentSessions(nodes, store, clock, { maxResultsPerReport: 1000, maxResultAgeMs: 60_000 }, dns);
  const r = sessions.hello(hello('node-a', { resolver: { nameservers: ['10.96.0.10'], search: Array.from({ length: 40 }, (_, i) => `s${i}.local`), ndots: 99, timeoutSeconds: 5, attempts: 2, warnings: [], error: '' } }));
  const rec = (r as { record: NodeRecord }).record;
  t.match(rec.agent.resolver, { nameservers: ['10.96.0.10'], ndots: 15, error: null, warnings: ['40 search domains; the first 32 shown'] }, 'an odd resolv.conf is bounded, not refused');
  t.equal(rec.agent.resolver!.search.length, 32);
  const dnsResult = (over: Partial<ResultInput> = {}, d: Record<string, unknown> = {}): ResultInput =>
    ({ kind: 'PROBE_KIND_DNS', targetNode: '', targetIp: '10.96.0.10', family: 'ADDRESS_FAMILY_IPV4', outcome: 'OUTCOME_OK', rttUs: 700, timestampMs: 5_000, dns: { server: 'service', name: 'kubernetes.default.svc.cluster.local', type: 'DNS_TYPE_A', nxCheck: false, answers: ['10.96.0.1', 'garbage'], rcode: 'NOERROR', ...d }, ...over }) as ResultInput;
  const out = sessions.report(rec, {
    sequence: 1,
    sentAtMs: 5_000,
    results: [
      dnsResult(),
      dnsResult({}, { nxCheck: true, name: 'netmatrix-nx-1.cluster.local', answers: [], rcode: 'NXDOMAIN' }),
      dnsResult({}, { server: 'rogue' }),
      dnsResult({ dns: null }),
      dnsResult({ targetIp: 'nope' }),
      dnsResult({}, { answers: Array.from({ length: 65 }, () => '10.0.0.1') }),
    ],
  });
  t.same(out, { duplicate: false, accepted: 2, rejected: { unknown_dns_server: 1, bad_dns_result: 3 } });
  t.match(dns.view(rec.index, 0, clock.monotonic()), { samples: 1, lastOutcome: 'ok', rttP50Ms: 0.7 });
  t.same(dns.answer(rec.index, 'service', 'kubernetes.default.svc.cluster.local', 'A')?.answers, ['10.96.0.1'], 'answers that are not addresses are dropped');
  t.match(dns.nxCheck(rec.index, 0), { outcome: 'ok' });
  t.same(dns.address(rec.index, 0), { ip: '10.96.0.10', family: 'ipv4' });
  // Without a DNS store (an aggregator built without one), dns results are an unknown kind.
  const plain = setup();
  const a = plain.connect('node-b');
  t.same(plain.sessions.report(a, { sequence: 1, sentAtMs: 5_000, results: [dnsResult()] }).rejected, { unknown_kind: 1 });
});
