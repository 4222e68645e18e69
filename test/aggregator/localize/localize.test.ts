// Localization: the fewest findings that explain the failing pairs, widest
// first. A dead node is one NodeUnreachable, a partition one ZonePartition.
import t from 'tap';
import { brief, Cluster, healthy, type World } from './cluster-fixture.js';

t.test('a healthy cluster has no findings', async (t) => {
  const c = new Cluster();
  c.add('node', 5);
  c.run(4, healthy);
  t.same(brief(c.localize()), []);
});

t.test('a dead node is one NodeUnreachable: no PairUnreachable, no AgentMissing', async (t) => {
  const c = new Cluster();
  c.add('node', 5);
  c.run(4, healthy);
  c.disconnect('node-3');
  c.run(2, (_s, d) => (d === 'node-3' ? 'timeout' : 'ok'));
  const l = c.localize();
  t.same(brief(l), ['NodeUnreachable{node=node-3}']);
  const f = l.conditions[0]!;
  t.equal(f.summary, 'node-3 is unreachable from 4 of 4 nodes');
  t.match(f.description, /icmp: timeout 4\/4/);
  t.match(f.description, /agent is not connected either .*probably down/);
  t.match(f.description, /Since \d{4}-\d\d-\d\dT/);
});

t.test('tcp refused towards a node while icmp works: NodeUnreachable that says so', async (t) => {
  const c = new Cluster();
  c.add('node', 4);
  c.run(3, (_s, d, k) => (d === 'node-4' && (k === 'tcp' || k === 'http') ? 'refused' : 'ok'));
  const l = c.localize();
  t.same(brief(l), ['NodeUnreachable{node=node-4}']);
  const d = l.conditions[0]!.description;
  t.match(d, /icmp: ok 3\/3/);
  t.match(d, /tcp: refused 3\/3/);
  t.match(d, /http: refused 3\/3/);
  t.match(d, /agent reports normally/);
});

t.test('one blocked pair is one PairUnreachable per direction blocked', async (t) => {
  const c = new Cluster();
  c.add('node', 5);
  c.run(3, healthy);
  c.run(1, (s, d) => (s === 'node-1' && d === 'node-2' ? 'timeout' : 'ok'));
  t.same(brief(c.localize()), ['PairUnreachable{src=node-1,dst=node-2}']);
  c.run(1, (s, d) => ((s === 'node-1' && d === 'node-2') || (s === 'node-2' && d === 'node-1') ? 'unreachable' : 'ok'));
  const l = c.localize();
  t.same(brief(l), ['PairUnreachable{src=node-1,dst=node-2}', 'PairUnreachable{src=node-2,dst=node-1}']);
  t.match(l.conditions.find((x) => x.subject.src === 'node-2')!.description, /icmp: unreachable 1\/1/);
});

t.test('a node cut off whose agent still reports is NodeIsolated, alone', async (t) => {
  const c = new Cluster();
  c.add('node', 6);
  c.run(3, healthy);
  c.run(2, (s, d) => (s === 'node-6' || d === 'node-6' ? 'timeout' : 'ok'));
  const l = c.localize();
  t.same(brief(l), ['NodeIsolated{node=node-6}']);
  t.match(l.conditions[0]!.summary, /node-6 can't reach 5 of 5 nodes/);
});

t.test('a node that can reach no one (egress blocked) is NodeIsolated', async (t) => {
  const c = new Cluster();
  c.add('node', 5);
  c.run(3, (s) => (s === 'node-2' ? 'timeout' : 'ok'));
  t.same(brief(c.localize()), ['NodeIsolated{node=node-2}']);
});

t.test('two zones that cannot reach each other are one ZonePartition', async (t) => {
  const c = new Cluster();
  const a = c.add('a', 3, 'zone-a');
  const b = c.add('b', 3, 'zone-b');
  const cz = c.add('c', 2, 'zone-c');
  const zone = (n: string) => (a.includes(n) ? 'a' : b.includes(n) ? 'b' : cz.includes(n) ? 'c' : '?');
  c.run(2, healthy);
  const cut: World = (s, d) => ((zone(s) === 'a' && zone(d) === 'b') || (zone(s) === 'b' && zone(d) === 'a') ? 'timeout' : 'ok');
  c.run(2, cut);
  const l = c.localize();
  t.same(brief(l), ['ZonePartition{src_zone=zone-a,dst_zone=zone-b}']);
  t.match(l.conditions[0]!.description, /zone-a→zone-b: 9\/9 pairs failing; zone-b→zone-a: 9\/9/);
});

t.test('a dead node in a zone is not a partition', async (t) => {
  const c = new Cluster();
  c.add('a', 3, 'zone-a');
  c.add('b', 2, 'zone-b');
  c.run(3, healthy);
  c.disconnect('b-1');
  c.run(2, (_s, d) => (d === 'b-1' ? 'timeout' : 'ok'));
  t.same(brief(c.localize()), ['NodeUnreachable{node=b-1}']);
});

t.test('two probers only: a failing pair stays a pair (one witness is not most)', async (t) => {
  const c = new Cluster();
  c.add('node', 2);
  c.run(2, (s) => (s === 'node-1' ? 'timeout' : 'ok'));
  t.same(brief(c.localize()), ['PairUnreachable{src=node-1,dst=node-2}']);
});

t.test('two dead nodes are two NodeUnreachable, and the others are not isolated', async (t) => {
  const c = new Cluster();
  c.add('node', 6);
  c.run(3, healthy);
  c.disconnect('node-2');
  c.disconnect('node-5');
  c.run(2, (_s, d) => (d === 'node-2' || d === 'node-5' ? 'timeout' : 'ok'));
  t.same(brief(c.localize()), ['NodeUnreachable{node=node-2}', 'NodeUnreachable{node=node-5}']);
});

t.test('pair findings are capped, and what the cap leaves out is counted', async (t) => {
  const c = new Cluster();
  c.add('node', 8);
  // A scattered set of failing pairs that no node or zone explains.
  const bad = new Set(['node-1>node-2', 'node-3>node-4', 'node-5>node-6', 'node-7>node-8', 'node-2>node-7']);
  c.run(2, (s, d) => (bad.has(`${s}>${d}`) ? 'timeout' : 'ok'));
  t.equal(c.localize().conditions.length, 5);
  const l = c.localize(3);
  t.equal(l.conditions.length, 3);
  t.same(l.dropped, { PairUnreachable: 2 });
});

t.test('loss towards one node is one PacketLoss for the node; loss on one pair is per pair', async (t) => {
  const c = new Cluster();
  c.add('node', 5);
  let round = 0;
  // Every fourth probe lost, never two in a row, last one answered: lossy, not failing.
  const world: World = (s, d) => {
    const lossy = d === 'node-5' || (s === 'node-1' && d === 'node-2');
    return lossy && round % 4 === 1 ? 'timeout' : 'ok';
  };
  for (round = 0; round < 12; round++) c.run(1, world);
  const l = c.localize();
  t.same(brief(l), ['PacketLoss{node=node-5}', 'PacketLoss{src=node-1,dst=node-2}']);
  t.match(l.conditions.find((x) => x.subject.node === 'node-5')!.description, /4 of 4 nodes see packet loss towards node-5.*icmp: 2\d\.\d% of \d+ probes towards it lost/);
});

t.test('slow towards one node is HighLatency for the node', async (t) => {
  const c = new Cluster();
  c.add('node', 4);
  c.run(3, (_s, d) => (d === 'node-1' ? { outcome: 'ok', rttUs: 80_000 } : 'ok'));
  const l = c.localize();
  t.same(brief(l), ['HighLatency{node=node-1}']);
  t.match(l.conditions[0]!.description, /icmp: RTT p50 80\.0 ms, p99 80\.0 ms \(threshold 50 ms\)/);
});

t.test('an agent gone from a node that is still reachable is AgentMissing; a silent one AgentStale', async (t) => {
  const c = new Cluster();
  c.add('node', 4);
  c.run(2, healthy);
  c.disconnect('node-1');
  const silent = c.node('node-2');
  c.run(4, (s) => (s === 'node-2' ? undefined : 'ok'));
  t.ok(silent.agent.connected);
  const l = c.localize();
  t.same(brief(l), ['AgentMissing{node=node-1}', 'AgentStale{node=node-2}']);
  t.match(l.conditions.find((x) => x.kind === 'AgentStale')!.description, /No report from node-2 for 20s \(stale after 15s\)/);
});

t.test('mtu cells are not judged for reachability', async (t) => {
  const c = new Cluster();
  c.add('node', 4);
  c.run(2, (_s, _d, k) => (k === 'mtu' ? 'timeout' : 'ok'), ['icmp', 'mtu']);
  t.same(brief(c.localize(100, ['icmp', 'mtu'])), []);
  const a = c.assess(['icmp', 'mtu']);
  t.same(a.kinds, ['icmp']);
  t.equal(a.summary.mtu!.failing, 12, 'mtu still counted in the cell summary');
});
