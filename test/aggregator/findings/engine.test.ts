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
