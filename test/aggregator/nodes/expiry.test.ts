// Node expiry without the Kubernetes API: an expired node leaves, unless a
// NodeUnreachable, NodeIsolated or PodNetworkUnreachable finding about it is firing or pending; the
// hold is logged once (and again after the agent came and went), counted, and
// ends when the finding resolves or the agent returns.
import t from 'tap';
import type { Finding } from '../../../aggregator/findings/finding.js';
import { NodeExpiry, expiryHold } from '../../../aggregator/nodes/expiry.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { ManualClock } from '../../../common/clock.js';
import type { FindingKind } from '../../../common/vocabulary.js';
import { logSink } from '../../helpers/log-sink.js';

const EXPIRY = 600_000;
const HOLD_MSG = /^node expiry held back/;

function finding(kind: FindingKind, labels: Record<string, string>, state: 'pending' | 'firing' = 'firing'): Finding {
  return { id: `${kind}-${Object.values(labels).join('-')}`, kind, severity: 'critical', state, labels: { alertname: kind, ...labels }, summary: '', description: '', runbookUrl: '', since: 0, firingSince: state === 'firing' ? 0 : null, resolvedAt: null };
}

function setup() {
  // The registry's times are monotonic; the wall clock reads far ahead of them, as Date.now() does of performance.now().
  const clock = new ManualClock(1_000_000);
  clock.stepWall(Date.parse('2026-11-25T06:00:00Z') - 1_000_000);
  const now = () => clock.monotonic();
  const nodes = new NodeRegistry();
  const findings: Finding[] = [];
  const removed: string[] = [];
  const sink = logSink();
  const expiry = new NodeExpiry({
    nodes,
    expiryMs: EXPIRY,
    findings: { firing: () => findings.filter((f) => f.state === 'firing'), pending: () => findings.filter((f) => f.state === 'pending') },
    remove: (name) => {
      removed.push(name);
      nodes.remove(name);
    },
    clock,
    log: sink.log,
  });
  const add = (name: string, i: number) => {
    const rec = nodes.upsert({ name, zone: 'z1', podIPs: [`192.0.2.${i}`], nodeIPs: [`198.51.100.${i}`], responderPort: 9402 }, now());
    rec.agent.connected = true;
    rec.agent.connectedSince = now();
    return rec;
  };
  const gone = (name: string) => {
    const a = nodes.get(name)!.agent;
    a.connected = false;
    a.disconnectedAt = now();
  };
  return { nodes, findings, removed, sink, expiry, add, gone, advance: (ms: number) => clock.advance(ms) };
}

t.test('an expired node with nothing about it firing leaves, as before', async (t) => {
  const s = setup();
  s.add('node-a', 1);
  s.add('node-b', 2);
  s.gone('node-b');
  s.findings.push(finding('AgentMissing', { node: 'node-b' }));
  s.advance(EXPIRY);
  s.expiry.sweep();
  t.same(s.removed, [], 'not before the expiry has passed');
  s.advance(1);
  s.expiry.sweep();
  t.same(s.removed, ['node-b'], 'AgentMissing does not hold it');
  t.match(s.sink.find('node expired: its agent has been gone longer than the node expiry'), { level: 30, node: 'node-b', agentGoneSince: '2026-11-25T06:00:00.000Z' });
  t.notOk(s.sink.find(HOLD_MSG));
  t.equal(s.expiry.held, 0);
});

t.test('a firing NodeUnreachable holds the node: logged once with why, counted, until the finding resolves', async (t) => {
  const s = setup();
  s.add('node-a', 1);
  s.add('node-d', 4);
  s.gone('node-d');
  s.findings.push(finding('NodeUnreachable', { node: 'node-d' }), finding('PairUnreachable', { src: 'node-a', dst: 'node-d' }));
  s.advance(EXPIRY + 1);
  for (let i = 0; i < 3; i++) {
    s.expiry.sweep();
    s.advance(30_000);
  }
  t.same(s.removed, [], 'still there after three sweeps past the expiry');
  t.ok(s.nodes.get('node-d'));
  t.equal(s.expiry.held, 1);
  const holds = s.sink.lines.filter((l) => HOLD_MSG.test(String(l.msg)));
  t.equal(holds.length, 1, 'logged once');
  t.match(holds[0], { level: 40, node: 'node-d', finding: 'NodeUnreachable-node-d', kind: 'NodeUnreachable', state: 'firing', agentGoneSince: '2026-11-25T06:00:00.000Z', nodeExpirySeconds: 600 });
  t.match(String(holds[0]!.msg), /a finding says the node is down or cut off.*until its agent comes back or it is forgotten \(DELETE \/api\/v1\/nodes\/\{name\}, netmatrix forget\)/);

  s.findings.length = 0;
  s.expiry.sweep();
  t.same(s.removed, ['node-d'], 'the finding resolved on its own: the node expires');
  t.match(s.sink.find('node expired: its agent has been gone longer than the node expiry'), { node: 'node-d', heldSeconds: 90 });
  t.equal(s.expiry.held, 0);
});

t.test('pending findings, NodeIsolated and PodNetworkUnreachable hold too; other nodes\' findings and other kinds do not', async (t) => {
  const s = setup();
  for (const [i, n] of ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'].entries()) s.add(n, i + 1);
  for (const n of ['node-b', 'node-c', 'node-d', 'node-e']) s.gone(n);
  s.findings.push(
    finding('NodeUnreachable', { node: 'node-b' }, 'pending'),
    finding('NodeIsolated', { node: 'node-c' }),
    finding('PodNetworkUnreachable', { node: 'node-e' }),
    finding('PacketLoss', { node: 'node-d' }),
    finding('ProbeKindFailing', { kind: 'tcp', node: 'node-d' }),
    finding('PairUnreachable', { src: 'node-a', dst: 'node-d' }),
    finding('NodeUnreachable', { node: 'node-a' }),
  );
  s.advance(EXPIRY + 1);
  s.expiry.sweep();
  t.same(s.removed, ['node-d']);
  t.equal(s.expiry.held, 3);
  t.same(s.sink.lines.filter((l) => HOLD_MSG.test(String(l.msg))).map((l) => [l.node, l.kind, l.state]), [['node-b', 'NodeUnreachable', 'pending'], ['node-c', 'NodeIsolated', 'firing'], ['node-e', 'PodNetworkUnreachable', 'firing']]);
  t.equal(expiryHold({ firing: () => s.findings.filter((f) => f.state === 'firing'), pending: () => s.findings.filter((f) => f.state === 'pending') }, 'node-c')?.kind, 'NodeIsolated');
});

t.test('a held node whose agent comes back is no longer held; if it goes and expires again, that is logged again', async (t) => {
  const s = setup();
  s.add('node-d', 4);
  s.gone('node-d');
  s.findings.push(finding('NodeUnreachable', { node: 'node-d' }));
  s.advance(EXPIRY + 1);
  s.expiry.sweep();
  t.equal(s.expiry.held, 1);
  const a = s.nodes.get('node-d')!.agent;
  a.connected = true;
  a.disconnectedAt = null;
  t.equal(s.expiry.held, 0, 'not counted while its agent is connected');
  s.expiry.sweep();
  s.gone('node-d');
  s.advance(EXPIRY + 1);
  s.expiry.sweep();
  t.equal(s.sink.lines.filter((l) => HOLD_MSG.test(String(l.msg))).length, 2);
  t.equal(s.expiry.held, 1);
});

t.test('a held node removed by other means (forgotten, deleted in Kubernetes) is no longer counted', async (t) => {
  const s = setup();
  s.add('node-d', 4);
  s.gone('node-d');
  s.findings.push(finding('NodeUnreachable', { node: 'node-d' }));
  s.advance(EXPIRY + 1);
  s.expiry.sweep();
  t.equal(s.expiry.held, 1);
  s.nodes.remove('node-d');
  t.equal(s.expiry.held, 0);
  s.expiry.sweep();
  t.same(s.removed, []);
});

t.test('a node the Kubernetes API lists never expires here', async (t) => {
  const s = setup();
  s.add('node-k', 9).kube = { ready: false, unschedulable: false, podCidrs: [], internalIPs: [], zone: 'z1' };
  s.gone('node-k');
  s.advance(10 * EXPIRY);
  s.expiry.sweep();
  t.same(s.removed, []);
  t.equal(s.sink.lines.length, 0, 'and nothing is logged');
});
