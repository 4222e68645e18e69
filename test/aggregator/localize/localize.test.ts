// Localization through the real core: agents report through the ingest
// (AgentSessions) into the store, and the evaluator assesses, localizes and
// runs the hysteresis as the aggregator does. Each scenario asserts the
// findings that come out (kinds, labels, severities), over every evaluation
// of the scenario and not only the last one: a fault is said once, at the
// place it is, and nothing else fires meanwhile.
import t from 'tap';
import type { Evaluation } from '../../../aggregator/findings/evaluator.js';
import type { Finding } from '../../../aggregator/findings/finding.js';
import type { KubeNodeInfo } from '../../../aggregator/nodes/registry.js';
import type { PairKind } from '../../../common/vocabulary.js';
import { AgentCluster, briefFindings, healthy, INTERVAL, KINDS, mulberry32, type World } from './cluster-fixture.js';

/** The aggregator's defaults at a 5 s probe interval: --finding-for = --finding-clear-for = 2 intervals, --agent-grace 2m. */
const FOR = 2 * INTERVAL;
const GRACE = 120_000;
const POD_KINDS: readonly PairKind[] = ['icmp', 'tcp', 'http'];
type Rig = ReturnType<AgentCluster['findings']>;

interface Watched {
  readonly last: Evaluation;
  /** Every finding that fired, and every one that resolved, in the rounds watched. */
  readonly fired: Finding[];
  readonly resolved: Finding[];
  /** Every finding that was pending or firing at some evaluation (brief form). */
  readonly seen: Set<string>;
}

/** `rounds` probe rounds of `world`, the evaluator run after each one, as its timer would. */
function watch(c: AgentCluster, rig: Rig, rounds: number, world: World, kinds?: readonly PairKind[]): Watched {
  const fired: Finding[] = [];
  const resolved: Finding[] = [];
  const seen = new Set<string>();
  let last: Evaluation | undefined;
  for (let r = 0; r < rounds; r++) {
    c.rounds(1, world, kinds);
    last = rig.evaluator.evaluate();
    fired.push(...last.fired);
    resolved.push(...last.resolved);
    for (const b of briefFindings([...last.firing, ...rig.engine.pending()])) seen.add(b);
  }
  return { last: last!, fired, resolved, seen };
}

const kube = (ready: boolean): KubeNodeInfo => ({ ready, unschedulable: false, podCidrs: [], internalIPs: [], zone: 'zone-a' });

t.test('a healthy cluster has no findings, pending or firing', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  t.same([...watch(c, rig, 24, healthy).seen], []);
});

t.test('a dead node (every path times out, its agent gone) is one NodeUnreachable, and nothing else for minutes', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 4, healthy);
  c.leave('node-3');
  // Past --agent-grace and past the loss window's first minutes: no AgentMissing, no loss on the nodes that probe it.
  const w = watch(c, rig, 36, (_s, d) => (d === 'node-3' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['NodeUnreachable{node=node-3} critical']);
  t.same(briefFindings(w.fired), ['NodeUnreachable{node=node-3} critical'], 'fired once');
  t.same(briefFindings(w.last.firing), ['NodeUnreachable{node=node-3} critical']);
  const f = w.last.firing[0]!;
  t.equal(f.summary, 'node-3 is unreachable from 4 of 4 nodes');
  t.match(f.description, /icmp: timeout 4; tcp: timeout 4; http: timeout 4; node: timeout 4\./);
  t.match(f.description, /node-3's agent is not connected either \(since \d{4}-\d\d-\d\dT/);
  const m = rig.query.matrix('icmp', 'ipv4');
  const d = m.nodes.findIndex((n) => n.name === 'node-3');
  t.same(m.cells.map((row) => row[d]?.status ?? null), ['failing', 'failing', null, 'failing', 'failing'], 'its column fails in the API (not unknown: the node is not fine)');
});

t.test('two dead nodes are two NodeUnreachable, and the nodes probing them are neither isolated nor lossy', async (t) => {
  const c = new AgentCluster();
  c.join('node', 6);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  c.leave('node-2');
  c.leave('node-5');
  const w = watch(c, rig, 36, (_s, d) => (d === 'node-2' || d === 'node-5' ? 'timeout' : 'ok'));
  t.same([...w.seen].sort(), ['NodeUnreachable{node=node-2} critical', 'NodeUnreachable{node=node-5} critical']);
});

t.test('tcp refused towards every node while icmp and node probes work: one ProbeKindFailing{kind=tcp}, no node finding', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 36, (_s, _d, k) => (k === 'tcp' ? 'refused' : 'ok'));
  t.same([...w.seen], ['ProbeKindFailing{kind=tcp} warning']);
  const f = w.last.firing[0]!;
  t.equal(f.summary, 'tcp probes fail across the cluster while icmp, http, node probes work');
  t.match(f.description, /^tcp: 20 of 20 cells failing\. tcp: refused 20\. One rule blocks one kind everywhere/);
  t.match(f.description, /Those kinds are left out of node and pair findings meanwhile/);
});

t.test('tcp and http refused everywhere are one protocol: one ProbeKindFailing labelled with the first', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 12, (_s, _d, k) => (k === 'tcp' || k === 'http' ? 'refused' : 'ok'));
  t.same([...w.seen], ['ProbeKindFailing{kind=tcp} warning']);
  t.equal(w.last.firing[0]!.summary, 'tcp and http probes fail across the cluster while icmp, node probes work');
});

t.test('node probes timing out everywhere (planned without the node CIDRs in the NetworkPolicy): ProbeKindFailing{kind=node}, no node is unreachable', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 36, (_s, _d, k) => (k === 'node' ? 'timeout' : 'ok'));
  // (Fired, not seen: in the first round, before a second timeout confirms them, the node cells' timeouts are loss, pending for one evaluation.)
  t.same(briefFindings(w.fired), ['ProbeKindFailing{kind=node} warning']);
  t.same(briefFindings(w.last.firing), ['ProbeKindFailing{kind=node} warning']);
  t.match(w.last.firing[0]!.description, /node probes planned without their node CIDRs in the agents' NetworkPolicy/);
});

t.test('every kind failing everywhere is not one kind failing: nothing works to compare with', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 6, () => 'refused');
  t.notOk([...w.seen].some((b) => b.startsWith('ProbeKindFailing')), [...w.seen].join(', '));
});

t.test("one node's responder refused (the demo's node-d): ProbeKindFailing{kind=tcp,node}, a warning, not NodeUnreachable", async (t) => {
  const c = new AgentCluster();
  for (const n of ['node-a', 'node-b', 'node-c', 'node-d']) c.connect(n);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE, kinds: POD_KINDS });
  const w = watch(c, rig, 36, (_s, d, k) => (d === 'node-d' && (k === 'tcp' || k === 'http') ? 'refused' : 'ok'), POD_KINDS);
  t.same([...w.seen], ['ProbeKindFailing{kind=tcp,node=node-d} warning'], 'refusals are not loss: no PacketLoss for node-d either');
  const f = w.last.firing[0]!;
  t.equal(f.summary, 'tcp and http probes towards node-d fail from 3 of 3 nodes; other probes reach it');
  t.match(f.description, /^tcp: refused 3; http: refused 3\. node-d's agent reports normally\./);
  t.match(f.description, /blocks the agent's responder port, or its responder is not listening/);
});

t.test('ICMP to one node blocked while its responder answers: ProbeKindFailing{kind=icmp,node}', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 36, (_s, d, k) => (d === 'node-2' && k === 'icmp' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['ProbeKindFailing{kind=icmp,node=node-2} warning']);
  t.match(w.last.firing[0]!.description, /ICMP to its pod is blocked/);
});

t.test('a host firewall dropping all ICMP to one node (pod and node IP) while TCP answers: one ProbeKindFailing{kind=icmp,node}, not NodeUnreachable', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 36, (_s, d, k) => (d === 'node-2' && (k === 'icmp' || k === 'node') ? 'timeout' : 'ok'));
  t.same([...w.seen], ['ProbeKindFailing{kind=icmp,node=node-2} warning'], 'two paths fail, the responder answers: nothing says the node is down');
  t.match(w.last.firing[0]!.summary, /^icmp and node probes towards node-2 fail/);
  t.match(w.last.firing[0]!.description, /ICMP to node-2 is blocked \(a host firewall or security group dropping ICMP\) while TCP passes/);
});

t.test('Kubernetes Ready does not outweigh the node path: agent gone and its node IP silent from every peer is NodeUnreachable', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  for (const n of c.nodes.list()) n.kube = kube(true);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 4, healthy);
  c.leave('node-4');
  const w = watch(c, rig, 6, (_s, d) => (d === 'node-4' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['NodeUnreachable{node=node-4} critical'], 'Ready means the kubelet reaches the API server, not that the other nodes reach it');
});

t.test('pod paths failing towards a node whose node IP answers: PodNetworkUnreachable, critical', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  const w = watch(c, rig, 36, (_s, d, k) => (d === 'node-4' && k !== 'node' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['PodNetworkUnreachable{node=node-4} critical']);
  const f = w.last.firing[0]!;
  t.equal(f.summary, 'pods on node-4 are unreachable from 4 of 4 nodes, while its node IP answers');
  t.match(f.description, /^icmp: timeout 4; tcp: timeout 4; http: timeout 4\. The node answers on its node IP/);
  t.match(f.description, /node-4's agent reports normally\./);
});

t.test('a node whose pod and node paths all fail while its agent still reports is NodeUnreachable', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 12, (_s, d) => (d === 'node-4' ? 'unreachable' : 'ok'));
  t.same([...w.seen], ['NodeUnreachable{node=node-4} critical']);
  t.match(w.last.firing[0]!.description, /node-4's agent reports normally\./);
});

t.test('an agent away for 30 s on a healthy node: nothing fires, its column is unknown, AgentMissing only after --agent-grace', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 4, healthy);
  c.leave('node-2');
  // A DaemonSet rollout: the agent pod is gone (its pod IP silent, its responder port refused); the node answers on its node IP.
  const away: World = (_s, d, k) => (d !== 'node-2' || k === 'node' ? 'ok' : k === 'icmp' ? 'timeout' : 'refused');
  const first = watch(c, rig, 6, away);
  t.same([...first.seen], [], 'nothing pending or firing in the first 30 s');
  const m = rig.query.matrix('tcp', 'ipv4');
  const d = m.nodes.findIndex((n) => n.name === 'node-2');
  for (const [s, row] of m.cells.entries()) {
    if (s === d) continue;
    t.match(row[d], { status: 'unknown', reason: /node-2's agent is away \(its node IP answers\)/ }, `${m.nodes[s]!.name} → node-2 unknown in the API`);
    t.equal(row.filter((x, j) => j !== d && x !== null && x.status !== 'ok').length, 0, `${m.nodes[s]!.name}'s other cells stay ok`);
  }
  t.same(m.summary, { ok: 12, degraded: 0, failing: 0, unknown: 8 });
  const pair = rig.query.pair(c.node('node-1'), c.node('node-2'), 'ipv4');
  t.equal(pair.kinds.node.cell.status, 'unknown', 'every kind towards it, node included');

  // The rest of the grace (2 min in all): still nothing; then AgentMissing, a warning, and nothing critical ever.
  const rest = watch(c, rig, 17, away);
  t.same([...rest.seen], [], 'nothing until --agent-grace has passed (115 s away)');
  const after = watch(c, rig, 12, away);
  t.same([...after.seen], ['AgentMissing{node=node-2} warning']);
  const missing = after.last.firing[0]!;
  t.match(missing.description, /node-2's agent disconnected at .* and has not come back; probes from it are missing, and probes towards it are unknown/);

  // The agent comes back: its column starts afresh, AgentMissing resolves after --finding-clear-for, nothing from what it missed.
  c.connect('node-2');
  const back = watch(c, rig, 12, healthy);
  t.same(briefFindings(back.resolved), ['AgentMissing{node=node-2} warning']);
  t.same(back.last.firing, []);
  t.same(rig.engine.pending(), []);
});

t.test('an agent back within --agent-grace raises nothing at all', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 4, healthy);
  c.leave('node-2');
  const w = watch(c, rig, 6, (_s, d, k) => (d !== 'node-2' || k === 'node' ? 'ok' : 'refused'));
  c.connect('node-2');
  const back = watch(c, rig, 36, healthy);
  t.same([...w.seen, ...back.seen], []);
});

t.test('Kubernetes Ready is a witness too: without node probes, an agent away on a Ready node is unknown, then AgentMissing', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  for (const n of c.nodes.list()) n.kube = kube(true);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE, kinds: POD_KINDS });
  watch(c, rig, 4, healthy, POD_KINDS);
  c.leave('node-4');
  const w = watch(c, rig, 30, (_s, d) => (d === 'node-4' ? 'timeout' : 'ok'), POD_KINDS);
  t.same([...w.seen], ['AgentMissing{node=node-4} warning']);
  t.match(rig.query.matrix('icmp', 'ipv4').cells[0]![3], { status: 'unknown', reason: /Kubernetes says it is Ready/ });
});

t.test('Kubernetes NotReady and failing: NodeUnreachable that says NotReady', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  for (const n of c.nodes.list()) n.kube = kube(true);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE, kinds: POD_KINDS });
  watch(c, rig, 4, healthy, POD_KINDS);
  c.leave('node-4');
  c.node('node-4').kube = kube(false);
  const w = watch(c, rig, 6, (_s, d) => (d === 'node-4' ? 'timeout' : 'ok'), POD_KINDS);
  t.same([...w.seen], ['NodeUnreachable{node=node-4} critical']);
  t.equal(w.last.firing[0]!.summary, 'node-4 is NotReady and unreachable from 3 of 3 nodes');
});

t.test('no witness (no node probes, no Kubernetes): an agent away is unknown for --agent-grace, then NodeUnreachable', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE, kinds: POD_KINDS });
  watch(c, rig, 4, healthy, POD_KINDS);
  c.leave('node-2');
  const gone: World = (_s, d) => (d === 'node-2' ? 'timeout' : 'ok');
  const during = watch(c, rig, 23, gone, POD_KINDS);
  t.same([...during.seen], [], 'nothing for 115 s');
  t.match(rig.query.matrix('icmp', 'ipv4').cells[0]![1], { status: 'unknown', reason: /nothing else says whether the node is up .*unknown for --agent-grace/ });
  const after = watch(c, rig, 6, gone, POD_KINDS);
  t.same([...after.seen], ['NodeUnreachable{node=node-2} critical'], 'then the only path with data failing while the agent is away');
  t.equal(rig.query.matrix('icmp', 'ipv4').cells[0]![1]!.status, 'failing');
});

t.test('a node cut off whose agent still reports is NodeIsolated, alone', async (t) => {
  const c = new AgentCluster();
  c.join('node', 6);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  const w = watch(c, rig, 36, (s, d) => (s === 'node-6' || d === 'node-6' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['NodeIsolated{node=node-6} critical'], 'no NodeUnreachable for it, no PacketLoss for the nodes it cannot reach');
  t.equal(w.last.firing[0]!.summary, "node-6 can't reach most other nodes");
  t.match(w.last.firing[0]!.description, /Its agent still reports, so the aggregator's path to it works\. icmp: timeout 5; tcp: timeout 5; http: timeout 5; node: timeout 5\./);
});

t.test('a node that can reach no one (egress blocked) is NodeIsolated, alone', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 36, (s) => (s === 'node-2' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['NodeIsolated{node=node-2} critical']);
});

t.test('two zones that cannot reach each other are one ZonePartition, and nothing else', async (t) => {
  const c = new AgentCluster();
  const a = c.join('a', 3, 'zone-a');
  const b = c.join('b', 3, 'zone-b');
  c.join('c', 2, 'zone-c');
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 2, healthy);
  const cut: World = (s, d) => ((a.includes(s) && b.includes(d)) || (b.includes(s) && a.includes(d)) ? 'timeout' : 'ok');
  const w = watch(c, rig, 36, cut);
  t.same([...w.seen], ['ZonePartition{src_zone=zone-a,dst_zone=zone-b} critical'], 'no node or pair finding, no loss for the nodes of either zone');
  const f = w.last.firing[0]!;
  t.equal(f.summary, "zones zone-a and zone-b can't reach each other: 72 of 72 cells between them fail");
  t.match(f.description, /^zone-a→zone-b: 36\/36 cells failing; zone-b→zone-a: 36\/36\. Inside zone-a: 0\/24 failing; inside zone-b: 0\/24\./);
});

t.test('a partition of a two-zone cluster (2 and 3 nodes) is one ZonePartition: a node that reaches only its own zone is not also isolated', async (t) => {
  const c = new AgentCluster();
  const a = c.join('a', 2, 'zone-a');
  const b = c.join('b', 3, 'zone-b');
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 2, healthy);
  const cut: World = (s, d) => ((a.includes(s) && b.includes(d)) || (b.includes(s) && a.includes(d)) ? 'timeout' : 'ok');
  const w = watch(c, rig, 12, cut);
  t.same([...w.seen], ['ZonePartition{src_zone=zone-a,dst_zone=zone-b} critical']);
});

t.test('a dead node in a zone is not a partition', async (t) => {
  const c = new AgentCluster();
  c.join('a', 3, 'zone-a');
  c.join('b', 2, 'zone-b');
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  c.leave('b-1');
  const w = watch(c, rig, 12, (_s, d) => (d === 'b-1' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['NodeUnreachable{node=b-1} critical']);
});

t.test('one blocked pair is one PairUnreachable per direction blocked', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  const one = watch(c, rig, 4, (s, d) => (s === 'node-1' && d === 'node-2' ? 'timeout' : 'ok'));
  t.same([...one.seen], ['PairUnreachable{src=node-1,dst=node-2} warning']);
  const both = watch(c, rig, 4, (s, d) => ((s === 'node-1' && d === 'node-2') || (s === 'node-2' && d === 'node-1') ? 'unreachable' : 'ok'));
  t.same(briefFindings(both.last.firing), ['PairUnreachable{src=node-1,dst=node-2} warning', 'PairUnreachable{src=node-2,dst=node-1} warning']);
  t.match(both.last.firing.find((f) => f.labels.src === 'node-2')!.description, /^icmp: failing \(unreachable\); tcp: failing \(unreachable\); http: failing \(unreachable\); node: failing \(unreachable\)\./);
});

t.test('two probers only: a failing pair stays a pair (one witness is not most)', async (t) => {
  const c = new AgentCluster();
  c.join('node', 2);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 4, (s) => (s === 'node-1' ? 'timeout' : 'ok'));
  t.same([...w.seen], ['PairUnreachable{src=node-1,dst=node-2} warning']);
});

t.test('an outage that is over is history: after a 30 s isolation heals, nothing but its resolution', async (t) => {
  const c = new AgentCluster();
  c.join('node', 6);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 12, healthy);
  const cut = watch(c, rig, 6, (s, d) => (s === 'node-6' || d === 'node-6' ? 'timeout' : 'ok'));
  t.same(briefFindings(cut.fired), ['NodeIsolated{node=node-6} critical']);
  // The loss window (5m) still holds the outage's failures: they are not loss of node-6 or of its peers.
  const after = watch(c, rig, 72, healthy);
  t.same(briefFindings(after.fired), [], 'no PacketLoss from the outage');
  t.same(briefFindings(after.resolved), ['NodeIsolated{node=node-6} critical']);
});

t.test('loss towards one node is one PacketLoss for the node; loss on one pair is per pair, pooled over its kinds', async (t) => {
  const c = new AgentCluster();
  c.join('node', 5);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  let round = 0;
  // Every fourth probe lost, never two in a row, the last one answered: lossy, not failing.
  const world: World = (s, d) => ((d === 'node-5' || (s === 'node-1' && d === 'node-2')) && round % 4 === 1 ? 'timeout' : 'ok');
  let w: Watched | undefined;
  for (round = 0; round < 24; round++) w = watch(c, rig, 1, world);
  t.same(briefFindings(w!.last.firing), ['PacketLoss{node=node-5} warning', 'PacketLoss{src=node-1,dst=node-2} warning']);
  const node = w!.last.firing.find((f) => f.labels.node === 'node-5')!;
  t.match(node.summary, /^packet loss to and from node-5: \d+\.\d% of \d+ probes$/);
  t.match(node.description, /pooled over every cell of node-5 .* icmp: 25\.0% of 96 towards it, 0\.0% of 96 from it/);
  t.match(w!.last.firing.find((f) => f.labels.src === 'node-1')!.description, /Pooled over the pair's kinds: at least \d+\.\d% with [\d.]+ % confidence/);
});

t.test('loss towards one node is still its PacketLoss while another node is down (the dead node\'s failing cells leave the pooled loss, and only what they put in it)', async (t) => {
  const c = new AgentCluster();
  c.join('node', 6);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  c.leave('node-2');
  let round = 0;
  // Every fourth probe towards node-5 lost, never two in a row, one kind a round; node-2 answers nothing for the 10 minutes watched.
  const world: World = (_s, d, kind) => (d === 'node-2' || (d === 'node-5' && (round + KINDS.indexOf(kind)) % 4 === 1) ? 'timeout' : 'ok');
  const seen = new Set<string>();
  let w: Watched | undefined;
  for (round = 0; round < 120; round++) {
    w = watch(c, rig, 1, world);
    for (const b of w.seen) seen.add(b);
  }
  t.same(briefFindings(w!.last.firing), ['NodeUnreachable{node=node-2} critical', 'PacketLoss{node=node-5} warning'], 'both, at the end of the 10 minutes');
  t.same([...seen].sort(), ['NodeUnreachable{node=node-2} critical', 'PacketLoss{node=node-5} warning'], 'and nothing else meanwhile');
});

t.test('slow towards one node is HighLatency for the node', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  const w = watch(c, rig, 6, (_s, d) => (d === 'node-1' ? { outcome: 'ok', rttUs: 80_000 } : 'ok'));
  t.same([...w.seen], ['HighLatency{node=node-1} warning']);
  t.match(w.last.firing[0]!.description, /icmp: RTT p50 80\.0 ms, p99 80\.0 ms/);
});

t.test('an agent connected but silent is AgentStale; its node is not judged from its stale row', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 2, healthy);
  const w = watch(c, rig, 6, (s) => (s === 'node-2' ? undefined : 'ok'));
  t.ok(c.node('node-2').agent.connected);
  t.same([...w.seen], ['AgentStale{node=node-2} warning']);
  t.match(w.last.firing[0]!.description, /No report from node-2 for 30s \(stale after 15s\)/);
});

t.test('mtu cells are not judged for reachability', async (t) => {
  const c = new AgentCluster();
  c.join('node', 4);
  const kinds: readonly PairKind[] = ['icmp', 'mtu'];
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE, kinds });
  const w = watch(c, rig, 4, (_s, _d, k) => (k === 'mtu' ? 'timeout' : 'ok'), kinds);
  t.same([...w.seen], []);
  t.same(w.last.assessment.kinds, ['icmp']);
  t.equal(w.last.assessment.summary.mtu!.failing, 12, 'mtu still counted in the cell summary');
});

t.test('pair cap under 2 % background noise in a 60-node cluster: the real outage fires and keeps firing; the rest is one aggregate finding', async (t) => {
  const c = new AgentCluster();
  const names = c.join('node', 60);
  const MAX = 5;
  // A finding that resolves slowly (clear-for 1m), as many set it: flapping pairs keep their firing findings while clearing.
  const rig = c.findings({ forMs: FOR, clearForMs: 60_000, agentGraceMs: GRACE, maxPairFindings: MAX });
  const rnd = mulberry32(20261207);
  const noise: World = () => (rnd() < 0.02 ? 'timeout' : 'ok');

  // Five minutes of noise alone (the loss window filled): nothing fires.
  const quiet = watch(c, rig, 60, noise);
  t.same(briefFindings(quiet.fired), [], 'background noise fires nothing');

  // A real outage of a pair late in the alphabet: every kind from node-59 to node-60 times out.
  const REAL = 'PairUnreachable{src=node-59,dst=node-60} warning';
  const real: World = (s, d, k) => (s === 'node-59' && d === 'node-60' ? 'timeout' : noise(s, d, k));
  const start = watch(c, rig, 4, real);
  t.same(briefFindings(start.fired), [REAL], 'the outage fires after --finding-for');
  const outage = start.last.firing.find((f) => f.labels.src === 'node-59');
  if (!outage) return;

  // Then 20 pairs earlier in the alphabet flap, every kind at once: the outage's rank, and they sort first.
  const noisy = new Set(names.slice(0, 20).map((s, i) => `${s}>${names[i + 20]}`));
  const flapping: World = (s, d, k) => (noisy.has(`${s}>${d}`) && rnd() < 0.7 ? 'timeout' : real(s, d, k));
  let capped = 0;
  let aggregates = 0;
  for (let r = 0; r < 36; r++) {
    const { last: e } = watch(c, rig, 1, flapping);
    const mine = e.firing.find((f) => f.id === outage.id);
    if (!mine || mine.firingSince !== outage.firingSince || e.resolved.some((f) => f.id === outage.id)) {
      t.fail(`round ${r}: the outage is no longer firing since it fired: ${briefFindings(e.firing).join(', ')}`);
      break;
    }
    const pending = rig.engine.pending().filter((f) => f.kind === 'PairUnreachable' && f.labels.src !== undefined);
    if (pending.length > MAX) t.fail(`round ${r}: ${pending.length} pending findings about single pairs, over the cap`);
    const dropped = e.dropped.PairUnreachable ?? 0;
    const aggregate = [...e.firing, ...rig.engine.pending()].find((f) => f.kind === 'PairUnreachable' && f.labels.src === undefined);
    if (dropped > 0) {
      capped++;
      if (aggregate?.summary !== `${dropped} more PairUnreachable findings about single pairs, over --max-pair-findings (${MAX})`) {
        t.fail(`round ${r}: ${dropped} left out, and the aggregate finding says ${JSON.stringify(aggregate?.summary)}`);
      }
      t.same(aggregate?.labels, { alertname: 'PairUnreachable', severity: 'warning', cluster: 'test' }, `round ${r}: the aggregate finding has no src/dst labels`);
    }
    if (aggregate?.state === 'firing') aggregates++;
  }
  t.ok(capped >= 24, `the cap held flapping pairs back in most rounds (${capped} of 36)`);
  t.ok(aggregates > 0, `the aggregate finding fired (${aggregates} rounds)`);
});

t.test('a wall-clock step of ±1 h re-fires nothing and resolves nothing; hysteresis runs on the monotonic clock', async (t) => {
  const c = new AgentCluster();
  c.join('node', 6);
  const rig = c.findings({ forMs: FOR, clearForMs: FOR, agentGraceMs: GRACE });
  watch(c, rig, 3, healthy);
  c.leave('node-6');
  const dead: World = (_s, d) => (d === 'node-6' ? 'timeout' : 'ok');
  const pair: World = (s, d, k) => (s === 'node-1' && d === 'node-2' ? 'unreachable' : dead(s, d, k));
  const before = watch(c, rig, 4, pair);
  t.same(briefFindings(before.last.firing), ['NodeUnreachable{node=node-6} critical', 'PairUnreachable{src=node-1,dst=node-2} warning']);
  const ids = new Map(before.last.firing.map((f) => [f.id, { since: f.since, firingSince: f.firingSince }]));

  for (const step of [3_600_000, -3_600_000, -3_600_000, 3_600_000]) {
    c.clock.stepWall(step);
    // The pair heals right at the step: its finding is clearing, and resolves only after --finding-clear-for of monotonic time.
    const first = watch(c, rig, 1, dead);
    t.same(first.fired, [], `step ${step / 3_600_000} h: nothing fires again`);
    t.same(first.resolved, [], `step ${step / 3_600_000} h: nothing resolves at the step`);
    for (const f of first.last.firing) t.same({ since: f.since, firingSince: f.firingSince }, ids.get(f.id), `${f.kind}: its times unchanged`);
    const later = watch(c, rig, 2, dead);
    t.same(briefFindings(later.resolved), ['PairUnreachable{src=node-1,dst=node-2} warning'], 'the pair resolves after clear-for');
    t.equal(later.resolved[0]!.resolvedAt, c.clock.now(), 'at the wall time it resolved, on the stepped clock');
    t.same(briefFindings(later.last.firing), ['NodeUnreachable{node=node-6} critical']);
    // The pair fails again: pending for --finding-for of monotonic time, whatever the wall clock did.
    const again = watch(c, rig, 1, pair);
    t.same(again.fired, []);
    const refire = watch(c, rig, 2, pair);
    t.same(briefFindings(refire.fired), ['PairUnreachable{src=node-1,dst=node-2} warning']);
    const f = refire.fired[0]!;
    t.equal(f.firingSince, c.clock.now(), 'fired at the stepped wall time');
    ids.set(f.id, { since: f.since, firingSince: f.firingSince });
  }
});
