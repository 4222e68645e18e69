// The read side of the matrix: whole matrices (rows = sources, sorted by name)
// and one pair in detail, judged on the store's monotonic clock, with the
// columns of targets whose agent is away read as unknown.
import t from 'tap';
import { MatrixQuery } from '../../../aggregator/matrix/query.js';
import { kindIndex, MatrixStore, type CellView } from '../../../aggregator/matrix/store.js';
import { NodeRegistry, type NodeIdentity } from '../../../aggregator/nodes/registry.js';
import { ManualClock, wallOf } from '../../../common/clock.js';
import { addressFamilies, outcomes, PAIR_KINDS, type Outcome, type PairKind } from '../../../common/vocabulary.js';
import { mulberry32 } from '../../helpers/random.js';

function node(name: string, podIPs: string[], nodeIPs: string[] = []): NodeIdentity {
  return { name, zone: 'zone-1', podIPs, nodeIPs, responderPort: 9402 };
}

function setup() {
  const clock = new ManualClock();
  const nodes = new NodeRegistry();
  const store = new MatrixStore(
    { windowMs: 60_000, intervalMs: 5_000, toWall: wallOf(clock), thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 } },
    clock.monotonic(),
  );
  const query = new MatrixQuery(nodes, store, () => clock.monotonic());
  const rec = (src: string, dst: string, kind: PairKind, outcome: Outcome, family: 'ipv4' | 'ipv6' = 'ipv4', rttUs = 500) =>
    store.record(nodes.indexOf(src)!, nodes.indexOf(dst)!, kindIndex(kind), addressFamilies.index(family), outcomes.index(outcome), rttUs, clock.monotonic());
  return { clock, nodes, store, query, rec };
}

t.test('an empty cluster', async (t) => {
  const { query } = setup();
  const m = query.matrix('icmp', 'ipv4');
  t.same(m.nodes, []);
  t.same(m.cells, []);
  t.same(m.summary, { ok: 0, degraded: 0, failing: 0, unknown: 0 });
  t.equal(query.defaultFamily(), 'ipv4');
});

t.test('matrix shape: rows and columns are nodes sorted by name, diagonal null', async (t) => {
  const { nodes, query, rec } = setup();
  // Registered out of order: indices differ from the sorted order.
  nodes.upsert(node('node-c', ['192.0.2.3']), 0);
  nodes.upsert(node('node-a', ['192.0.2.1']), 0);
  nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  rec('node-a', 'node-b', 'icmp', 'ok');
  rec('node-c', 'node-a', 'icmp', 'refused');
  for (let i = 0; i < 3; i++) rec('node-b', 'node-c', 'icmp', 'ok', 'ipv4', 80_000);
  const m = query.matrix('icmp', 'ipv4');
  t.equal(m.kind, 'icmp');
  t.equal(m.family, 'ipv4');
  t.same(m.nodes.map((n) => n.name), ['node-a', 'node-b', 'node-c']);
  t.equal(m.cells.length, 3);
  for (let i = 0; i < 3; i++) {
    t.equal(m.cells[i]!.length, 3);
    t.equal(m.cells[i]![i], null, `diagonal ${i}`);
  }
  t.equal(m.cells[0]![1]!.status, 'ok', 'row = source: a→b');
  t.equal(m.cells[0]![1]!.rttP50Ms, 0.5);
  t.equal(m.cells[2]![0]!.status, 'failing', 'c→a');
  t.equal(m.cells[2]![0]!.lastOutcome, 'refused');
  t.equal(m.cells[1]![2]!.status, 'degraded', 'b→c is slow (3 answers of 80 ms)');
  t.equal(m.cells[1]![0]!.status, 'unknown', 'b→a never probed');
  t.same(m.summary, { ok: 1, degraded: 1, failing: 1, unknown: 3 });
  t.equal(Object.values(m.summary).reduce((a, b) => a + b, 0), 3 * 2, 'every off-diagonal cell counted once');
});

t.test('a pair never probed is unknown with no data', async (t) => {
  const { nodes, query } = setup();
  nodes.upsert(node('node-a', ['192.0.2.1']), 0);
  nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  const cell = query.matrix('tcp', 'ipv4').cells[0]![1]!;
  t.same(cell, {
    status: 'unknown',
    reason: 'no probe results yet',
    lossRatio: null,
    lossSamples: 0,
    lossSpanMs: 0,
    rttP50Ms: null,
    rttP99Ms: null,
    lastOutcome: null,
    since: null,
    lastAt: null,
    samples: 0,
    windowSpanMs: 0,
    failureRun: 0,
  });
});

t.test('matrices are per kind and per family', async (t) => {
  const { nodes, query, rec } = setup();
  nodes.upsert(node('node-a', ['192.0.2.1', '2001:db8::1']), 0);
  nodes.upsert(node('node-b', ['192.0.2.2', '2001:db8::2']), 0);
  rec('node-a', 'node-b', 'icmp', 'ok', 'ipv4');
  rec('node-a', 'node-b', 'icmp', 'unreachable', 'ipv6');
  rec('node-a', 'node-b', 'tcp', 'refused', 'ipv4');
  t.equal(query.matrix('icmp', 'ipv4').cells[0]![1]!.lastOutcome, 'ok');
  t.equal(query.matrix('icmp', 'ipv6').cells[0]![1]!.lastOutcome, 'unreachable');
  t.equal(query.matrix('tcp', 'ipv4').cells[0]![1]!.lastOutcome, 'refused');
  t.equal(query.matrix('tcp', 'ipv6').cells[0]![1]!.status, 'unknown');
  t.same(query.matrix('http', 'ipv4').summary, { ok: 0, degraded: 0, failing: 0, unknown: 2 });
});

t.test('a matrix is judged now on the store\'s monotonic clock: a wall-clock step changes nothing, staleness comes with monotonic time', async (t) => {
  const { nodes, query, clock, rec } = setup();
  nodes.upsert(node('node-a', ['192.0.2.1']), 0);
  nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  rec('node-a', 'node-b', 'icmp', 'ok');
  clock.stepWall(3_600_000);
  t.match(query.matrix('icmp', 'ipv4').cells[0]![1], { status: 'ok', lastAt: clock.now() }, 'an hour on the wall clock is nothing to the store; times shown on the new wall clock');
  clock.stepWall(-7_200_000);
  clock.advance(15_000);
  t.equal(query.matrix('icmp', 'ipv4').cells[0]![1]!.status, 'ok', 'exactly the stale time');
  clock.advance(1);
  t.equal(query.matrix('icmp', 'ipv4').cells[0]![1]!.status, 'unknown', 'then stale');
});

t.test('setAway: cells towards a target whose agent is away read unknown with the reason; from it, and never probed, as they are', async (t) => {
  const { nodes, query, rec } = setup();
  const a = nodes.upsert(node('node-a', ['192.0.2.1']), 0);
  const b = nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  nodes.upsert(node('node-c', ['192.0.2.3']), 0);
  rec('node-a', 'node-b', 'tcp', 'refused');
  rec('node-c', 'node-b', 'tcp', 'ok');
  rec('node-b', 'node-a', 'tcp', 'refused');
  const away = "node-b's agent is away (its node IP answers)";
  query.setAway(new Map([[b.index, away]]));
  const m = query.matrix('tcp', 'ipv4');
  t.match(m.cells[0]![1], { status: 'unknown', reason: away, lastOutcome: 'refused', samples: 1 }, 'a→b: unknown, its data still shown');
  t.equal(m.cells[0]![1]!.degradedBy, undefined);
  t.match(m.cells[2]![1], { status: 'unknown', reason: away }, 'c→b too');
  t.match(m.cells[1]![0], { status: 'failing' }, 'b→a: from the away node, as it is');
  t.match(m.cells[2]![0], { status: 'unknown', reason: 'no probe results yet' }, 'never probed stays no data');
  t.same(m.summary, { ok: 0, degraded: 0, failing: 1, unknown: 5 });
  t.match(query.pair(a, b, 'ipv4').kinds.tcp.cell, { status: 'unknown', reason: away });
  t.match(query.pair(a, b, 'ipv4').kinds.icmp.cell, { status: 'unknown', reason: 'no probe results yet' });
  query.setAway(new Map());
  t.match(query.matrix('tcp', 'ipv4').cells[0]![1], { status: 'failing' }, 'the next evaluation\'s set replaces it');
});

t.test('pair(): every kind, the target IP of each kind in the family, and samples', async (t) => {
  const { nodes, query, clock, rec } = setup();
  const a = nodes.upsert(node('node-a', ['192.0.2.1', '2001:db8::1'], ['198.51.100.1']), 0);
  const b = nodes.upsert(node('node-b', ['192.0.2.2', '2001:db8::2'], ['198.51.100.2', '2001:db8:1::2']), 0);
  rec('node-a', 'node-b', 'icmp', 'ok', 'ipv4', 700);
  clock.advance(5_000);
  rec('node-a', 'node-b', 'icmp', 'timeout', 'ipv4', 0);
  rec('node-a', 'node-b', 'node', 'ok', 'ipv6', 300);
  const v4 = query.pair(a, b, 'ipv4');
  t.equal(v4.src, a);
  t.equal(v4.dst, b);
  t.equal(v4.family, 'ipv4');
  t.same(Object.keys(v4.kinds).sort(), [...PAIR_KINDS].sort(), 'every pair kind');
  for (const k of ['icmp', 'tcp', 'http', 'mtu'] as const) t.equal(v4.kinds[k].targetIp, '192.0.2.2', `${k} targets the pod IP`);
  t.equal(v4.kinds.node.targetIp, '198.51.100.2', 'node targets the node IP');
  t.equal(v4.kinds.icmp.cell.lastOutcome, 'timeout');
  t.same(v4.kinds.icmp.samples.map((s) => [s.outcome, s.rttUs]), [['ok', 700], ['timeout', 0]], 'samples oldest first');
  t.equal(v4.kinds.tcp.cell.status, 'unknown');
  t.same(v4.kinds.tcp.samples, []);
  t.equal(v4.kinds.node.cell.status, 'unknown', 'the ipv6 node result is not in the ipv4 view');

  const v6 = query.pair(a, b, 'ipv6');
  t.equal(v6.kinds.icmp.targetIp, '2001:db8::2');
  t.equal(v6.kinds.node.targetIp, '2001:db8:1::2');
  t.equal(v6.kinds.node.cell.lastOutcome, 'ok');
  t.equal(v6.kinds.icmp.cell.status, 'unknown');

  const reverse = query.pair(b, a, 'ipv6');
  t.equal(reverse.kinds.node.targetIp, null, 'node-a has no IPv6 node IP');
  t.equal(reverse.kinds.icmp.targetIp, '2001:db8::1');
});

t.test('pair(): no address of the family at all', async (t) => {
  const { nodes, query } = setup();
  const a = nodes.upsert(node('node-a', ['192.0.2.1']), 0);
  const b = nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  const p = query.pair(a, b, 'ipv6');
  for (const k of PAIR_KINDS) t.equal(p.kinds[k].targetIp, null, k);
});

t.test('defaultFamily is that of the first node by name', async (t) => {
  const { nodes, query } = setup();
  nodes.upsert(node('node-b', ['192.0.2.2']), 0);
  t.equal(query.defaultFamily(), 'ipv4');
  nodes.upsert(node('node-a', ['2001:db8::1', '192.0.2.1']), 0);
  t.equal(query.defaultFamily(), 'ipv6', 'node-a sorts first and is IPv6-primary');
  nodes.remove('node-a');
  t.equal(query.defaultFamily(), 'ipv4');
});

t.test('compact() reads what matrix() reads cell by cell: stale and swept rows, away targets, cells never probed, node indices out of name order and reused', async (t) => {
  const { nodes, store, query, clock, rec } = setup();
  const random = mulberry32(0xc0ffee);
  // Registered out of order, one removed and its index reused: a node's index is not its column.
  for (const name of ['node-f', 'node-b', 'node-h', 'node-a', 'node-e', 'node-c', 'node-g', 'node-d']) nodes.upsert(node(name, [`192.0.2.${name.charCodeAt(5)}`]), 0);
  store.removeNode(nodes.remove('node-e')!, nodes.slots);
  nodes.upsert(node('node-i', ['192.0.2.9']), 0);
  const names = nodes.list().map((n) => n.name);
  const letters: Record<string, string> = { ok: 'o', degraded: 'd', failing: 'f', unknown: 'u' };
  const results: Outcome[] = ['ok', 'ok', 'ok', 'ok', 'timeout', 'refused'];
  for (let step = 0; step < 6; step++) {
    // Every source but the silent ones reports; a pair is probed or not, ok (some slow) or not.
    const silent = new Set(step < 2 ? [] : step < 4 ? ['node-c'] : ['node-c', 'node-h']);
    for (const src of names) {
      if (silent.has(src)) continue;
      store.touchRow(nodes.indexOf(src)!, clock.monotonic());
      for (const dst of names) {
        if (src === dst || random() < 0.2) continue;
        for (const kind of ['icmp', 'tcp'] as const) rec(src, dst, kind, results[Math.floor(random() * results.length)]!, 'ipv4', random() < 0.3 ? 80_000 : 500);
      }
    }
    clock.advance(5_000);
    if (step === 4) store.sweep(clock.monotonic()); // node-c's row swept (blank); node-h's stale but not yet
    query.setAway(new Map(step >= 3 ? [[nodes.indexOf('node-g')!, "node-g's agent is away"]] : []));
    for (const kind of ['icmp', 'tcp', 'http'] as const) {
      const m = query.matrix(kind, 'ipv4');
      const c = query.compact(kind, 'ipv4');
      t.same(c.nodes.map((n) => n.name), names);
      t.same(c.rows, m.cells.map((row) => row.map((v) => (v === null ? '-' : letters[v.status])).join('')), `step ${step} ${kind}: the letters of matrix()`);
      t.same(c.summary, m.summary, `step ${step} ${kind}: summary`);
      const details: [number, number, CellView][] = [];
      m.cells.forEach((row, s) => row.forEach((v, d) => v && v.status !== 'ok' && (v.samples > 0 || v.lastOutcome !== null) && details.push([s, d, v])));
      t.same([...c.details].flatMap(([s, row]) => [...row].map(([d, v]) => [s, d, v])), details, `step ${step} ${kind}: details are matrix()'s cells not ok and not without data`);
    }
  }
  // The cases above were all met: stale rows with data, away targets with data, cells never probed.
  const c = query.compact('tcp', 'ipv4');
  const h = names.indexOf('node-h');
  t.ok(c.details.get(h)?.size, 'a stale row keeps its cells that hold results');
  t.match(c.details.get(0)?.get(names.indexOf('node-g')), { status: 'unknown', reason: "node-g's agent is away" });
  t.notOk(c.details.has(names.indexOf('node-c')), 'a swept row has nothing to show');
  t.ok(c.rows.some((row) => row.includes('u')));
});
