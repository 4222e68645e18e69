// Hysteresis: fire after --finding-for, resolve after --finding-clear-for,
// one lost probe never pages; ids are stable label hashes.
import t from 'tap';
import { FindingsEngine, fingerprint } from '../../../aggregator/findings/engine.js';
import type { Condition } from '../../../aggregator/localize/localize.js';

const FOR = 10_000;
const CLEAR = 10_000;
const engine = () => new FindingsEngine({ forMs: FOR, clearForMs: CLEAR, cluster: 'prod-1', runbookBaseUrl: 'https://example.org/runbooks/' });
const dead = (node = 'node-3'): Condition => ({ kind: 'NodeUnreachable', subject: { node }, summary: `${node} is unreachable`, description: 'icmp: timeout 4/4.' });

t.test('pending until the condition has held for the firing delay, then firing once', async (t) => {
  const e = engine();
  let u = e.update([dead()], 0);
  t.same(u.firing, []);
  t.same(u.fired, []);
  t.equal(e.pending().length, 1);
  t.equal(e.pending()[0]!.state, 'pending');
  u = e.update([dead()], 5_000);
  t.same(u.fired, []);
  u = e.update([dead()], 10_000);
  t.equal(u.fired.length, 1, 'fires when for has passed');
  const f = u.fired[0]!;
  t.same(f.labels, { alertname: 'NodeUnreachable', severity: 'critical', cluster: 'prod-1', node: 'node-3' });
  t.equal(f.since, 0);
  t.equal(f.firingSince, 10_000);
  t.equal(f.runbookUrl, 'https://example.org/runbooks/NodeUnreachable.md');
  t.equal(f.id, fingerprint(f.labels));
  t.match(f.id, /^[0-9a-f]{16}$/);
  u = e.update([dead()], 15_000);
  t.same(u.fired, [], 'fired is reported once');
  t.equal(u.firing.length, 1);
  t.same(e.pending(), []);
});

t.test('a condition shorter than the firing delay is forgotten: one lost probe never pages', async (t) => {
  const e = engine();
  e.update([dead()], 0);
  const u = e.update([], 5_000);
  t.same(u.firing, []);
  t.same(u.resolved, []);
  t.same(e.pending(), []);
  t.same(e.update([dead()], 6_000).fired, [], 'a new pending time starts from zero');
  t.same(e.update([dead()], 15_000).fired, []);
  t.equal(e.update([dead()], 16_000).fired.length, 1);
});

t.test('resolves after the clearing delay, once; a comeback while clearing keeps it firing with its first since', async (t) => {
  const e = engine();
  e.update([dead()], 0);
  e.update([dead()], 10_000);
  let u = e.update([], 12_000);
  t.equal(u.firing.length, 1, 'still firing while clearing');
  u = e.update([dead()], 15_000);
  t.same(u.fired, [], 'not fired again');
  t.equal(u.firing[0]!.since, 0);
  e.update([], 20_000);
  u = e.update([], 29_000);
  t.same(u.resolved, []);
  u = e.update([], 30_000);
  t.equal(u.resolved.length, 1);
  const r = u.resolved[0]!;
  t.equal(r.state, 'resolved');
  t.equal(r.resolvedAt, 30_000);
  t.equal(r.firingSince, 10_000);
  t.same(e.update([], 31_000).resolved, [], 'resolved is reported once');
  t.equal(e.get(r.id)?.state, 'resolved', 'a resolved finding can still be looked up');
  t.equal(e.get('0000000000000000'), undefined);
});

t.test('with no firing delay a condition fires at once', async (t) => {
  const e = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'c', runbookBaseUrl: 'https://example.org' });
  t.equal(e.update([dead()], 1).fired.length, 1);
  t.equal(e.update([], 2).resolved.length, 1);
});

t.test('the text follows the latest evaluation; firing is ordered critical first, then oldest', async (t) => {
  const e = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'c', runbookBaseUrl: 'https://example.org' });
  const pair: Condition = { kind: 'PairUnreachable', subject: { src: 'a', dst: 'b' }, summary: 'a can\'t reach b', description: 'x' };
  e.update([pair], 1);
  e.update([pair, dead('node-9')], 2);
  const u = e.update([pair, { ...dead('node-9'), summary: 'node-9 is unreachable from 5 of 5 nodes' }], 3);
  t.same(u.firing.map((f) => f.kind), ['NodeUnreachable', 'PairUnreachable']);
  t.equal(u.firing[0]!.summary, 'node-9 is unreachable from 5 of 5 nodes');
});

t.test('ids depend on the labels only, not on their order', async (t) => {
  t.equal(fingerprint({ a: '1', b: '2' }), fingerprint({ b: '2', a: '1' }));
  t.not(fingerprint({ a: '1', b: '2' }), fingerprint({ a: '1', b: '3' }));
  t.not(fingerprint({ a: '1\u0000b=2' }), fingerprint({ a: '1', b: '2' }), 'no ambiguity between label boundaries');
});

t.test('a forgotten node: its findings resolve at the next update, without the clearing delay', async (t) => {
  const e = engine();
  const pair: Condition = { kind: 'PairUnreachable', subject: { src: 'node-1', dst: 'node-3' }, summary: 'node-1 can\'t reach node-3', description: 'x' };
  const other: Condition = { kind: 'PairUnreachable', subject: { src: 'node-1', dst: 'node-2' }, summary: 'node-1 can\'t reach node-2', description: 'x' };
  e.update([dead(), pair, other], 0);
  e.update([dead(), pair, other], 10_000);
  t.equal(e.firing().length, 3);
  e.update([dead('node-4')], 10_000);
  t.same(e.forgetNode('node-3').map((f) => f.kind).sort(), ['NodeUnreachable', 'PairUnreachable'], 'the findings about it, as node or pair end, that will resolve');
  const u = e.update([other, dead('node-4')], 11_000);
  t.same(u.resolved.map((f) => f.labels.node ?? f.labels.dst).sort(), ['node-3', 'node-3'], 'resolved at once, not after clear-for');
  t.equal(u.resolved[0]!.resolvedAt, 11_000);
  t.same(u.firing.map((f) => f.labels.dst), ['node-2'], 'findings about other nodes untouched');
  t.same(e.pending().map((f) => f.labels.node), ['node-4'], 'a pending one about another node stays pending');
  e.update([dead('node-4')], 12_000);
  e.update([], 13_000);
  t.equal(e.firing().length, 1, 'the mark lasts one update: node-2\'s pair clears with the normal delay');
});

const HOUR = 3_600_000;
const pairOf = (src: string, dst: string, rank = 1001): Condition => ({
  kind: 'PairUnreachable',
  subject: { src, dst },
  summary: `${src} can't reach ${dst}`,
  description: 'icmp: timeout 3/3.',
  rank,
});
const capped = (max: number, clearForMs = CLEAR) =>
  new FindingsEngine({ forMs: FOR, clearForMs, cluster: 'prod-1', runbookBaseUrl: 'https://example.org/runbooks/', maxPairFindings: max });
const pairsOf = (fs: readonly { labels: Readonly<Record<string, string>> }[]) => fs.filter((f) => f.labels.src !== undefined).map((f) => `${f.labels.src}>${f.labels.dst}`).sort();

t.test('pair cap, after hysteresis: a firing pair finding keeps its place against newer pending ones of higher rank', async (t) => {
  const e = capped(2);
  const old = pairOf('node-9', 'node-8', 1001);
  e.update([old], 0);
  t.equal(e.update([old], 10_000).fired.length, 1);
  // Five newer pairs, all of higher rank and earlier in the alphabet.
  const newer = ['a', 'b', 'c', 'd', 'e'].map((x) => pairOf(`node-${x}`, 'node-z', 1004));
  let u = e.update([...newer, old], 15_000);
  t.same(pairsOf(u.firing), ['node-9>node-8'], 'still firing');
  t.same(pairsOf(e.pending()), ['node-a>node-z'], 'one place left: the first by rank, then by summary');
  t.same(u.dropped, { PairUnreachable: 4 });
  const agg = e.pending().find((f) => f.labels.src === undefined)!;
  t.same(agg.labels, { alertname: 'PairUnreachable', severity: 'warning', cluster: 'prod-1' }, 'the aggregate finding has no src/dst');
  t.equal(agg.summary, '4 more PairUnreachable findings about single pairs, over --max-pair-findings (2)');
  t.equal(agg.description, "Not raised one by one: node-b can't reach node-z; node-c can't reach node-z; node-d can't reach node-z; node-e can't reach node-z. GET /api/v1/matrix shows every cell.");
  t.equal(agg.runbookUrl, 'https://example.org/runbooks/PairUnreachable.md');
  u = e.update([...newer, old], 25_000);
  t.same(u.fired.map((f) => f.labels.src ?? '(aggregate)').sort(), ['(aggregate)', 'node-a'], 'the admitted pair and the aggregate fire after --finding-for');
  t.same(pairsOf(u.firing), ['node-9>node-8', 'node-a>node-z']);
  t.equal(u.firing.find((f) => f.labels.src === 'node-9')!.firingSince, 10_000, 'the old one never left');
});

t.test('pair cap: pending ones are admitted by rank (failing before lossy, more kinds first), ties by summary', async (t) => {
  const e = capped(3);
  const conditions = [pairOf('node-5', 'node-1', 1001), pairOf('node-4', 'node-1', 1003), pairOf('node-3', 'node-1', 1001), pairOf('node-2', 'node-1', 104), pairOf('node-1', 'node-2', 1002)];
  const u = e.update(conditions, 0);
  t.same(pairsOf(e.pending()), ['node-1>node-2', 'node-3>node-1', 'node-4>node-1']);
  t.same(u.dropped, { PairUnreachable: 2 });
});

t.test('pair cap: only findings about single pairs are capped, per kind; node findings and other kinds pass', async (t) => {
  const e = capped(1);
  const loss = (src: string): Condition => ({ kind: 'PacketLoss', subject: { src, dst: 'node-1' }, summary: `loss ${src}`, description: 'x', rank: 105 });
  const nodeLoss: Condition = { kind: 'PacketLoss', subject: { node: 'node-7' }, summary: 'loss node-7', description: 'x' };
  const u = e.update([pairOf('node-2', 'node-1'), pairOf('node-3', 'node-1'), loss('node-4'), loss('node-5'), nodeLoss, dead('node-9')], 0);
  t.same(u.dropped, { PairUnreachable: 1, PacketLoss: 1 });
  t.same(
    e.pending().map((f) => `${f.kind}{${f.labels.node ?? f.labels.src ?? ''}}`).sort(),
    ['NodeUnreachable{node-9}', 'PacketLoss{node-4}', 'PacketLoss{node-7}', 'PacketLoss{}', 'PairUnreachable{node-2}', 'PairUnreachable{}'],
  );
  t.same(capped(10).update([pairOf('node-2', 'node-1'), pairOf('node-3', 'node-1')], 0).dropped, {}, 'under the cap nothing is dropped, no aggregate');
  t.same(engine().update([pairOf('node-2', 'node-1'), pairOf('node-3', 'node-1')], 0).dropped, {}, 'no cap without maxPairFindings');
});

t.test('pair cap: a dropped condition does not build its description', async (t) => {
  const e = capped(1);
  let built = 0;
  const lazy = (src: string, rank: number): Condition => ({ ...pairOf(src, 'node-1', rank), description: () => (built++, `about ${src}`) });
  e.update([lazy('node-2', 1004), lazy('node-3', 1001), lazy('node-4', 1001)], 0);
  t.equal(built, 1, 'only the kept one');
  t.equal(e.pending().find((f) => f.labels.src === 'node-2')!.description, 'about node-2');
});

t.test('pair cap: more firing pair findings than places (one came back while clearing): the oldest keep theirs', async (t) => {
  // Clear-for longer than for, as often set: a finding that went away keeps firing while it clears.
  const e = capped(2, 60_000);
  const a = pairOf('node-9', 'node-1'); // the oldest: a real outage
  const b = pairOf('node-8', 'node-1');
  const c = pairOf('node-7', 'node-1');
  e.update([a, b], 0);
  e.update([a, b], 10_000);
  e.update([a, c], 15_000); // b gone: clearing; c takes the free place
  t.same(pairsOf(e.update([a, c], 25_000).fired), ['node-7>node-1']);
  // b is back: three firing pair findings for two places, in any order.
  for (let now = 30_000; now <= 120_000; now += 5_000) {
    const u = e.update([c, b, a], now);
    t.ok(u.firing.some((f) => f.labels.src === 'node-9' && f.firingSince === 10_000), `${now / 1000}s: the oldest still firing`);
    t.notOk(u.resolved.some((f) => f.labels.src === 'node-9'), `${now / 1000}s: the oldest not resolved while its condition holds`);
    t.same(u.dropped, { PairUnreachable: 1 });
  }
});

t.test('hysteresis runs on the monotonic clock; the times shown are wall-clock; a step of ±1 h re-fires and resolves nothing', async (t) => {
  const e = engine();
  const skew = 1_700_000_000_000;
  // now (monotonic) from 0; wall = now + skew, then stepped.
  e.update([dead()], 0, skew);
  let u = e.update([dead()], 5_000, skew + 5_000 + HOUR);
  t.same(u.fired, [], 'a step forward does not make the condition old enough');
  u = e.update([dead()], 10_000, skew + 10_000 + HOUR);
  t.equal(u.fired.length, 1, 'fires after --finding-for of monotonic time');
  t.equal(u.fired[0]!.since, skew, 'since: the wall time it was first seen');
  t.equal(u.fired[0]!.firingSince, skew + 10_000 + HOUR, 'firingSince: the wall time it fired, as the clock read then');
  u = e.update([dead()], 15_000, skew + 15_000 - HOUR);
  t.same([u.fired, u.resolved], [[], []], 'a step back re-fires nothing');
  t.equal(u.firing[0]!.firingSince, skew + 10_000 + HOUR, 'and keeps its times');
  u = e.update([], 20_000, skew + 20_000 + HOUR);
  t.same(u.resolved, [], 'clearing: a step forward does not resolve it early');
  u = e.update([], 25_000, skew + 25_000 - HOUR);
  t.same(u.resolved, []);
  u = e.update([], 30_000, skew + 30_000 - HOUR);
  t.equal(u.resolved.length, 1, 'resolves after --finding-clear-for of monotonic time');
  t.equal(u.resolved[0]!.resolvedAt, skew + 30_000 - HOUR);
});

t.test('without a wall time, the times shown are the monotonic ones', async (t) => {
  const e = engine();
  e.update([dead()], 7);
  const f = e.update([dead()], 10_007).fired[0]!;
  t.same([f.since, f.firingSince], [7, 10_007]);
});
