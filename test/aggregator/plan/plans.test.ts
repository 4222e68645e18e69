// Plans: what each agent probes, when a plan counts as changed, and the epoch.
import t from 'tap';
import { NodeRegistry, type NodeIdentity } from '../../../aggregator/nodes/registry.js';
import { PlanBook, samePlan, type PlanContent, type ProbeSettings } from '../../../aggregator/plan/plans.js';
import { fullMeshPlanner } from '../../../aggregator/plan/planner.js';
import { ManualClock } from '../../../common/clock.js';

const DNS = {
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

function setup(names = ['node-a', 'node-b', 'node-c']) {
  const clock = new ManualClock(1_700_000_000_000);
  const nodes = new NodeRegistry();
  names.forEach((n, i) => nodes.upsert(id(n, i + 1), 0));
  const book = new PlanBook(nodes, fullMeshPlanner, SETTINGS, () => clock.now());
  return { clock, nodes, book };
}

t.test('a plan is the full mesh without self, with the probe settings', async (t) => {
  const { nodes, book, clock } = setup();
  const plan = book.planFor(nodes.get('node-b')!);
  t.same(plan, {
    epoch: clock.now(),
    peers: [
      { nodeName: 'node-a', podIps: ['192.0.2.1', '2001:db8::1'], nodeIps: ['198.51.100.1'], zone: 'zone-1', responderPort: 9402 },
      { nodeName: 'node-c', podIps: ['192.0.2.3', '2001:db8::3'], nodeIps: ['198.51.100.3'], zone: 'zone-1', responderPort: 9402 },
    ],
    kinds: ['icmp', 'tcp', 'node'],
    intervalMs: 5_000,
    timeoutMs: 1_000,
    dns: DNS,
  });
  for (const n of nodes.list()) {
    const p = book.planFor(n);
    t.equal(p.peers.length, 2);
    t.notOk(p.peers.some((peer) => peer.nodeName === n.name), `${n.name} does not probe itself`);
  }
});

t.test('the only node gets an empty plan', async (t) => {
  const { nodes, book } = setup(['solo']);
  t.same(book.planFor(nodes.get('solo')!).peers, []);
});

t.test('samePlan: the epoch alone is no change', async (t) => {
  const { nodes, book } = setup();
  const a = book.planFor(nodes.get('node-a')!);
  t.notOk(samePlan(undefined, a), 'no previous plan: changed');
  t.ok(samePlan(a, a));
  t.ok(samePlan(a, { ...a, epoch: a.epoch + 1_000 }));
  t.ok(samePlan(a, JSON.parse(JSON.stringify(a)) as PlanContent), 'equal content in new arrays');
});

t.test('samePlan sees any change of peers, kinds, interval or timeout', async (t) => {
  const { nodes, book } = setup();
  const a = book.planFor(nodes.get('node-a')!);
  const p0 = a.peers[0]!;
  const variants: [string, PlanContent][] = [
    ['interval', { ...a, intervalMs: 6_000 }],
    ['timeout', { ...a, timeoutMs: 900 }],
    ['a kind more', { ...a, kinds: [...a.kinds, 'http'] }],
    ['a kind less', { ...a, kinds: a.kinds.slice(1) }],
    ['a kind replaced', { ...a, kinds: ['icmp', 'tcp', 'mtu'] }],
    ['kinds reordered', { ...a, kinds: ['tcp', 'icmp', 'node'] }],
    ['a peer more', { ...a, peers: [...a.peers, { ...p0, nodeName: 'node-z' }] }],
    ['a peer less', { ...a, peers: a.peers.slice(1) }],
    ['peers reordered', { ...a, peers: [...a.peers].reverse() }],
    ['peer renamed', { ...a, peers: [{ ...p0, nodeName: 'node-x' }, ...a.peers.slice(1)] }],
    ['peer zone', { ...a, peers: [{ ...p0, zone: 'elsewhere' }, ...a.peers.slice(1)] }],
    ['peer port', { ...a, peers: [{ ...p0, responderPort: 9403 }, ...a.peers.slice(1)] }],
    ['peer pod IP', { ...a, peers: [{ ...p0, podIps: ['192.0.2.99', '2001:db8::2'] }, ...a.peers.slice(1)] }],
    ['peer pod IP dropped', { ...a, peers: [{ ...p0, podIps: ['192.0.2.2'] }, ...a.peers.slice(1)] }],
    ['peer pod IPs reordered', { ...a, peers: [{ ...p0, podIps: [...p0.podIps].reverse() }, ...a.peers.slice(1)] }],
    ['peer node IP', { ...a, peers: [{ ...p0, nodeIps: ['198.51.100.99'] }, ...a.peers.slice(1)] }],
    ['peer node IP added', { ...a, peers: [{ ...p0, nodeIps: [...p0.nodeIps, '2001:db8:1::2'] }, ...a.peers.slice(1)] }],
    ['a DNS server less', { ...a, dns: { ...a.dns, servers: a.dns.servers.slice(1) } }],
    ['a DNS server moved', { ...a, dns: { ...a.dns, servers: [a.dns.servers[0]!, { ...a.dns.servers[1]!, address: '10.244.0.6' }] } }],
    ['a DNS name more', { ...a, dns: { ...a.dns, questions: [...a.dns.questions, { name: 'example.internal', type: 'AAAA' }] } }],
    ['another NX zone', { ...a, dns: { ...a.dns, nxZone: 'cluster.test' } }],
  ];
  for (const [what, b] of variants) {
    t.notOk(samePlan(a, b), what);
    t.notOk(samePlan(b, a), `${what} (reversed)`);
  }
});

t.test('the epoch is the wall clock when the node set changed, and only then', async (t) => {
  const { nodes, book, clock } = setup();
  const t0 = clock.now();
  t.equal(book.currentEpoch(), t0);
  clock.advance(60_000);
  t.equal(book.currentEpoch(), t0, 'time alone does not move it');
  t.equal(book.planFor(nodes.get('node-a')!).epoch, t0);
  nodes.upsert(id('node-a', 1), 0); // identical: no change
  t.equal(book.currentEpoch(), t0);
  nodes.get('node-a')!.agent.connected = true; // agent state is not the node set
  t.equal(book.currentEpoch(), t0);
  nodes.upsert(id('node-d', 4), 0);
  t.equal(book.currentEpoch(), t0 + 60_000, 'a new node: the epoch moves to now');
  t.equal(book.planFor(nodes.get('node-a')!).epoch, t0 + 60_000);
  t.equal(book.planFor(nodes.get('node-d')!).epoch, t0 + 60_000, 'every agent gets the same epoch');
  clock.advance(1_000);
  nodes.remove('node-c');
  t.equal(book.currentEpoch(), t0 + 61_000, 'a removed node moves it');
  clock.advance(1_000);
  nodes.upsert(id('node-a', 1, { podIPs: ['192.0.2.77'] }), 0);
  t.equal(book.currentEpoch(), t0 + 62_000, 'a node\'s new address moves it (its peers\' plans change)');
});

t.test('several changes between two plans move the epoch once', async (t) => {
  const { nodes, book, clock } = setup();
  const e0 = book.currentEpoch();
  nodes.upsert(id('node-d', 4), 0);
  nodes.upsert(id('node-e', 5), 0);
  nodes.remove('node-a');
  t.equal(book.currentEpoch(), e0 + 1, 'the clock has not moved: one more than before');
  t.equal(book.currentEpoch(), e0 + 1);
  t.equal(clock.now(), e0);
});

t.test('the epoch never goes backwards, even when the clock does', async (t) => {
  const { nodes, book, clock } = setup();
  const e0 = book.currentEpoch();
  clock.advance(-3_600_000);
  nodes.upsert(id('node-d', 4), 0);
  const e1 = book.currentEpoch();
  t.equal(e1, e0 + 1);
  clock.set(0);
  nodes.remove('node-d');
  t.equal(book.currentEpoch(), e1 + 1);
  clock.set(e0 + 10_000);
  nodes.upsert(id('node-d', 4), 0);
  t.equal(book.currentEpoch(), e0 + 10_000, 'back to the wall clock once it is ahead again');
});

t.test('the epoch is an integer even with a fractional clock', async (t) => {
  const nodes = new NodeRegistry();
  nodes.upsert(id('node-a', 1), 0);
  const book = new PlanBook(nodes, fullMeshPlanner, SETTINGS, () => 1_700_000_000_123.75);
  t.equal(book.currentEpoch(), 1_700_000_000_123);
});

t.test('replicas with the same node set and settings make the same plan', async (t) => {
  const idents = [id('node-a', 1), id('node-b', 2), id('node-c', 3)];
  const replica = (order: number[]) => {
    const nodes = new NodeRegistry();
    for (const i of order) nodes.upsert(idents[i]!, 0);
    return { nodes, book: new PlanBook(nodes, fullMeshPlanner, SETTINGS, () => 1_700_000_000_000) };
  };
  const one = replica([0, 1, 2]);
  const two = replica([2, 0, 1]);
  for (const { name } of idents) {
    t.same(one.book.planFor(one.nodes.get(name)!), two.book.planFor(two.nodes.get(name)!), name);
  }
});

t.test('a plan follows the node set', async (t) => {
  const { nodes, book } = setup();
  const before = book.planFor(nodes.get('node-a')!);
  nodes.upsert(id('node-d', 4), 0);
  const after = book.planFor(nodes.get('node-a')!);
  t.notOk(samePlan(before, after));
  t.same(after.peers.map((p) => p.nodeName), ['node-b', 'node-c', 'node-d']);
  t.ok(after.epoch > before.epoch);
  const again = book.planFor(nodes.get('node-a')!);
  t.ok(samePlan(after, again));
  t.equal(again.epoch, after.epoch);
});
