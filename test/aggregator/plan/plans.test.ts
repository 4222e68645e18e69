// Plans: one shared plan per epoch for the full mesh, per-agent plans for a
// per-agent planner, and an epoch that changes exactly when an input changes:
// the inputs' fingerprint, the same on every replica whatever its clock.
import t from 'tap';
import { NodeRegistry, type NodeIdentity, type NodeRecord } from '../../../aggregator/nodes/registry.js';
import { NO_DNS, PlanBook, planEpoch, type DnsPlan, type ProbeSettings } from '../../../aggregator/plan/plans.js';
import { fullMeshPlanner, sampledPlanner, type PerAgentPlanner, type SharedPlanner } from '../../../aggregator/plan/planner.js';
import { ringOrder, walkPeriod } from '../../../aggregator/plan/sampled.js';
import { encodePlan } from '../../../aggregator/grpc/plan-wire.js';
import { ManualClock } from '../../../common/clock.js';

const DNS: DnsPlan = {
  servers: [
    { name: 'service', role: 'service' as const, address: '', port: 53 },
    { name: 'dns-a', role: 'replica' as const, address: '10.244.0.5', port: 53 },
  ],
  questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' as const }],
  nxZone: 'cluster.local',
  tcpCheck: true,
};
const SETTINGS: ProbeSettings = { kinds: ['icmp', 'tcp', 'node'], intervalMs: 5_000, timeoutMs: 1_000, dns: DNS };

function id(name: string, i: number, over: Partial<NodeIdentity> = {}): NodeIdentity {
  return { name, zone: `zone-${i % 2}`, podIPs: [`192.0.2.${i}`, `2001:db8::${i}`], nodeIPs: [`198.51.100.${i}`], responderPort: 9402, ...over };
}

function setup(names = ['node-a', 'node-b', 'node-c'], settings: ProbeSettings = SETTINGS) {
  const clock = new ManualClock(1_700_000_000_000);
  const nodes = new NodeRegistry();
  names.forEach((n, i) => nodes.upsert(id(n, i + 1), 0));
  const book = new PlanBook(nodes, fullMeshPlanner, settings, () => clock.now());
  return { clock, nodes, book };
}

t.test('the full-mesh plan lists every node, the receiver included, with the probe settings', async (t) => {
  const { nodes, book } = setup();
  t.ok(book.isShared);
  const plan = book.sharedPlan()!;
  t.same(plan, {
    epoch: planEpoch(nodes.list(), SETTINGS, DNS),
    peers: [
      { nodeName: 'node-a', podIps: ['192.0.2.1', '2001:db8::1'], nodeIps: ['198.51.100.1'], zone: 'zone-1', responderPort: 9402 },
      { nodeName: 'node-b', podIps: ['192.0.2.2', '2001:db8::2'], nodeIps: ['198.51.100.2'], zone: 'zone-0', responderPort: 9402 },
      { nodeName: 'node-c', podIps: ['192.0.2.3', '2001:db8::3'], nodeIps: ['198.51.100.3'], zone: 'zone-1', responderPort: 9402 },
    ],
    kinds: ['icmp', 'tcp', 'node'],
    intervalMs: 5_000,
    timeoutMs: 1_000,
    dns: DNS,
  });
  for (const n of nodes.list()) t.equal(book.planFor(n), plan, `${n.name} gets the very same plan object`);
  t.ok(Object.isFrozen(plan), 'shared between streams: frozen');
});

t.test('the only node gets a plan naming only itself (so it probes nothing)', async (t) => {
  const { nodes, book } = setup(['solo']);
  t.same(book.planFor(nodes.get('solo')!).peers.map((p) => p.nodeName), ['solo']);
});

t.test('the shared plan is built once per epoch, however many agents ask', async (t) => {
  let builds = 0;
  const counting: SharedPlanner = { name: 'counting', scope: 'shared', peers: (nodes) => (builds++, nodes) };
  const nodes = new NodeRegistry();
  for (let i = 1; i <= 50; i++) nodes.upsert(id(`node-${i}`, i), 0);
  const book = new PlanBook(nodes, counting, SETTINGS, () => 1_700_000_000_000);
  for (const n of nodes.list()) book.planFor(n);
  t.equal(builds, 1, '50 agents, one build');
  nodes.upsert(id('node-51', 51), 0);
  for (const n of nodes.list()) book.planFor(n);
  t.equal(builds, 2, 'a node-set change: one more');
});

t.test('a per-agent planner gives each agent its own peers under the same epoch', async (t) => {
  const ring: PerAgentPlanner = {
    name: 'ring',
    scope: 'per-agent',
    peersFor: (self, nodes) => {
      const i = nodes.findIndex((n) => n.name === self.name);
      return [nodes[(i + 1) % nodes.length]!];
    },
  };
  const nodes = new NodeRegistry();
  ['n1', 'n2', 'n3'].forEach((n, i) => nodes.upsert(id(n, i + 1), 0));
  const book = new PlanBook(nodes, ring, SETTINGS, () => 1_700_000_000_000);
  t.notOk(book.isShared);
  t.equal(book.sharedPlan(), undefined);
  const plans = nodes.list().map((n: NodeRecord) => book.planFor(n));
  t.same(plans.map((p) => p.peers.map((x) => x.nodeName)), [['n2'], ['n3'], ['n1']]);
  t.same(new Set(plans.map((p) => p.epoch)).size, 1);
});

t.test('the epoch moves when an input changes, and only then', async (t) => {
  const { nodes, book, clock } = setup();
  const seen = new Set<number>([book.currentEpoch()]);
  let expect = book.currentEpoch();
  const step = (what: string, change: () => void, moves: boolean) => {
    clock.advance(1_000);
    change();
    const epoch = book.currentEpoch();
    if (moves) {
      t.notOk(seen.has(epoch), `${what}: a new epoch`);
      expect = epoch;
      seen.add(epoch);
    } else t.equal(epoch, expect, `${what}: stays`);
  };
  step('time alone', () => {}, false);
  step('an identical hello', () => nodes.upsert(id('node-a', 1), 0), false);
  step('agent state', () => (nodes.get('node-a')!.agent.connected = true), false);
  step('the same settings object', () => book.setSettings(SETTINGS), false);
  step('a new node', () => nodes.upsert(id('node-d', 4), 0), true);
  step('a removed node', () => nodes.remove('node-c'), true);
  step('a new pod IP', () => nodes.upsert(id('node-a', 1, { podIPs: ['192.0.2.77'] }), 0), true);
  step('a new node IP', () => nodes.upsert(id('node-a', 1, { podIPs: ['192.0.2.77'], nodeIPs: ['198.51.100.77'] }), 0), true);
  step('a new zone', () => nodes.upsert(id('node-a', 1, { podIPs: ['192.0.2.77'], nodeIPs: ['198.51.100.77'], zone: 'zone-9' }), 0), true);
  step('a new responder port', () => nodes.upsert(id('node-a', 1, { podIPs: ['192.0.2.77'], nodeIPs: ['198.51.100.77'], zone: 'zone-9', responderPort: 9403 }), 0), true);
  step('other kinds', () => book.setSettings({ ...SETTINGS, kinds: ['tcp'] }), true);
  step('another interval', () => book.setSettings({ ...SETTINGS, kinds: ['tcp'], intervalMs: 10_000 }), true);
  t.equal(book.sharedPlan()!.intervalMs, 10_000, 'the plan carries the new settings');
  t.same(book.sharedPlan()!.kinds, ['tcp']);
});

t.test('a new DNS section object is a new epoch; the same object is not', async (t) => {
  let dns: DnsPlan = DNS;
  const { book, clock } = setup(undefined, { ...SETTINGS, dns: () => dns });
  const e0 = book.currentEpoch();
  clock.advance(1_000);
  t.equal(book.currentEpoch(), e0, 'the function gives the same object');
  dns = { ...DNS, servers: DNS.servers.slice(1) };
  const e1 = book.currentEpoch();
  t.not(e1, e0);
  t.same(book.sharedPlan()!.dns.servers.map((s) => s.name), ['dns-a']);
  dns = NO_DNS;
  clock.advance(1_000);
  t.not(book.currentEpoch(), e1);
  t.not(book.currentEpoch(), e0);
  t.same(book.sharedPlan()!.dns, NO_DNS);
  dns = { ...DNS };
  t.equal(book.currentEpoch(), e0, 'a new object with the same content: the epoch of that content');
});

t.test('several changes between two plans make one epoch, the epoch of where they end', async (t) => {
  const { nodes, book } = setup();
  const e0 = book.currentEpoch();
  nodes.upsert(id('node-d', 4), 0);
  nodes.upsert(id('node-e', 5), 0);
  nodes.remove('node-a');
  const e1 = book.currentEpoch();
  t.not(e1, e0);
  t.equal(book.currentEpoch(), e1);
  t.equal(e1, planEpoch(nodes.list(), SETTINGS, DNS));
  nodes.upsert(id('node-a', 1), 0);
  nodes.remove('node-d');
  nodes.remove('node-e');
  t.equal(book.currentEpoch(), e0, 'back to the first inputs: back to the first epoch');
});

t.test('replicas started at different times, with inputs in another order, send the same epoch', async (t) => {
  const idents = [id('node-a', 1), id('node-b', 2), id('node-c', 3), id('node-d', 4)];
  // One replica has run for a day and seen node-d come and go and node-a change its pod IP; the
  // other started an hour later, with another clock, and saw only the current state.
  const early = new NodeRegistry();
  const earlyBook = new PlanBook(early, fullMeshPlanner, SETTINGS, () => 1_700_000_000_000);
  for (const i of [0, 1, 2, 3]) early.upsert(idents[i]!, 0);
  earlyBook.currentEpoch();
  early.remove('node-d');
  early.upsert(id('node-a', 1, { podIPs: ['192.0.2.99'] }), 0);
  earlyBook.currentEpoch();
  early.upsert(idents[0]!, 0);
  const late = new NodeRegistry();
  const lateBook = new PlanBook(late, fullMeshPlanner, SETTINGS, () => 1_700_003_600_000.5);
  for (const i of [2, 0, 1]) late.upsert(idents[i]!, 0);
  t.equal(lateBook.currentEpoch(), earlyBook.currentEpoch());
  t.same(lateBook.sharedPlan(), earlyBook.sharedPlan(), 'the same plan, epoch included');
  const epoch = lateBook.currentEpoch();
  t.ok(Number.isSafeInteger(epoch) && epoch > 0, 'a positive safe integer (uint64 on the wire)');
});

t.test('a plan follows the node set', async (t) => {
  const { nodes, book } = setup();
  const before = book.sharedPlan()!;
  nodes.upsert(id('node-d', 4), 0);
  const after = book.sharedPlan()!;
  t.not(after, before);
  t.same(after.peers.map((p) => p.nodeName), ['node-a', 'node-b', 'node-c', 'node-d']);
  t.not(after.epoch, before.epoch);
  t.equal(book.sharedPlan(), after, 'no change: the same plan');
});

t.test('a sampled planner: the full mesh up to its threshold, above it the directory in ring order and each agent its own part', async (t) => {
  const nodes = new NodeRegistry();
  for (let i = 1; i <= 10; i++) nodes.upsert(id(`node-${i}`, i), 0);
  const suspects = { version: 0, names: new Set<string>() };
  const book = new PlanBook(nodes, sampledPlanner(10, { peersPerRound: 8, minProbers: 2, suspectProbersMax: 6 }), SETTINGS, () => 0, suspects);
  t.ok(book.isShared, '10 nodes, threshold 10: the full mesh');
  t.notOk(book.isSampled);
  t.equal(book.sharedPlan()!.sampling, undefined);
  t.same(book.cadence(), { sampled: false, maxGapRounds: 1 });
  const e0 = book.currentEpoch();
  suspects.version++;
  t.equal(book.currentEpoch(), e0, 'suspects do not move a full-mesh plan');

  nodes.upsert(id('node-11', 11), 0);
  t.notOk(book.isShared);
  t.ok(book.isSampled);
  t.equal(book.sharedPlan(), undefined);
  const plans = nodes.list().map((n) => book.planFor(n));
  const ring = ringOrder(nodes.list()).map((n) => n.name);
  for (const p of plans) {
    t.same(p.peers.map((x) => x.nodeName), ring, 'every node, in ring order');
    t.equal(p.peers, plans[0]!.peers, 'one directory object for every agent of the epoch (encoded once)');
    t.equal(p.sampling!.peersPerRound, 8);
    t.equal(p.sampling!.followMax, 2);
  }
  const layout = book.layout()!;
  t.same(plans.map((p) => p.sampling!.fixed), nodes.list().map((n) => layout.fixed[ring.indexOf(n.name)]), 'each its own fixed peers');
  t.same(book.cadence(), { sampled: true, maxGapRounds: Math.max(...layout.fixed.map((f) => walkPeriod(11, 8, f.length, 2))) });

  // Suspects move a sampled plan's epoch, and only when their set changes.
  const e1 = book.currentEpoch();
  t.equal(book.currentEpoch(), e1);
  suspects.names.add('node-3');
  suspects.version++;
  const e2 = book.currentEpoch();
  t.not(e2, e1);
  const p3 = ring.indexOf('node-3');
  const probers = book.layout()!.fixed.filter((f) => f.includes(p3)).length;
  t.equal(probers, 6, 'the suspect has its column, capped at 6');
});

t.test('sampled plans are the same on replicas with the same inputs: byte for byte, epoch included', async (t) => {
  const idents = Array.from({ length: 30 }, (_, i) => id(`node-${i}`, i + 1));
  const replica = (order: number[]) => {
    const nodes = new NodeRegistry();
    for (const i of order) nodes.upsert(idents[i]!, 0);
    const book = new PlanBook(nodes, sampledPlanner(20, { peersPerRound: 8, minProbers: 3, suspectProbersMax: 10 }), SETTINGS, () => 0, { version: 1, names: new Set(['node-4', 'node-9']) });
    return { nodes, book };
  };
  const a = replica(idents.map((_, i) => i));
  const b = replica(idents.map((_, i) => idents.length - 1 - i));
  for (const n of a.nodes.list()) t.ok(encodePlan(a.book.planFor(n)).equals(encodePlan(b.book.planFor(b.nodes.get(n.name)!))), n.name);
  const c = replica(idents.map((_, i) => i));
  t.not(encodePlan(new PlanBook(c.nodes, sampledPlanner(20, { peersPerRound: 8, minProbers: 3, suspectProbersMax: 10 }), SETTINGS, () => 0).planFor(c.nodes.get('node-1')!)).toString('hex'), encodePlan(a.book.planFor(a.nodes.get('node-1')!)).toString('hex'), 'other suspects: another plan');
});
