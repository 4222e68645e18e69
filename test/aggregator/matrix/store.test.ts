// The matrix store: rolling windows per (source, target, kind, family), with
// time from an injected clock.
import t from 'tap';
import { kindIndex, MatrixStore, type MatrixOptions } from '../../../aggregator/matrix/store.js';
import { ManualClock } from '../../../common/clock.js';
import { addressFamilies, outcomes, type Outcome } from '../../../common/vocabulary.js';

const OPTIONS: MatrixOptions = {
  windowMs: 10_000,
  intervalMs: 1_000,
  thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 3_000 },
};
const ICMP = kindIndex('icmp');
const TCP = kindIndex('tcp');
const NODE = kindIndex('node');
const V4 = addressFamilies.index('ipv4');
const V6 = addressFamilies.index('ipv6');
const o = (w: Outcome) => outcomes.index(w);

function setup(options: MatrixOptions = OPTIONS) {
  const clock = new ManualClock();
  const store = new MatrixStore(options, clock.now());
  const t0 = clock.now();
  /** Records src→dst icmp/ipv4 at the clock's time, then advances by `step`. */
  const tick = (outcome: Outcome, rttUs = 1_000, step = 1_000, src = 0, dst = 1) => {
    store.record(src, dst, ICMP, V4, o(outcome), rttUs, clock.now());
    clock.advance(step);
  };
  const view = (src = 0, dst = 1, kind = ICMP, family = V4) => store.view(src, dst, kind, family, clock.now());
  return { clock, store, t0, tick, view };
}

t.test('the ring holds a full window plus slack, at most 64', async (t) => {
  t.equal(new MatrixStore(OPTIONS, 0).ring, 12);
  t.equal(new MatrixStore({ ...OPTIONS, windowMs: 60_000, intervalMs: 5_000 }, 0).ring, 14);
  t.equal(new MatrixStore({ ...OPTIONS, windowMs: 10_000, intervalMs: 3_000 }, 0).ring, 6, 'rounds up');
  t.equal(new MatrixStore({ ...OPTIONS, windowMs: 3_600_000, intervalMs: 100 }, 0).ring, 64);
});

t.test('a cell never probed has no view and no samples', async (t) => {
  const { store, view, clock } = setup();
  t.equal(view(), undefined);
  t.same(store.samples(0, 1, ICMP, V4, clock.now()), []);
  t.equal(store.trackedCells, 0);
});

t.test('loss ratio and nearest-rank RTT percentiles over the window', async (t) => {
  const { tick, view, clock, t0 } = setup();
  for (const us of [8_000, 1_000, 7_000, 2_000]) tick('ok', us);
  tick('timeout', 0);
  for (const us of [6_000, 3_000, 5_000, 4_000]) tick('ok', us);
  tick('refused', 0);
  clock.advance(-1_000); // look at the moment of the last result
  const v = view()!;
  t.equal(v.samples, 10);
  t.equal(v.lossRatio, 0.2);
  t.equal(v.rttP50Ms, 4, 'p50 of 8 RTTs is the 4th smallest');
  t.equal(v.rttP99Ms, 8, 'p99 of 8 RTTs is the largest');
  t.equal(v.lastOutcome, 'refused');
  t.equal(v.lastAt, t0 + 9_000);
  t.equal(v.since, t0 + 9_000);
  t.equal(v.status, 'failing');
});

t.test('RTTs are reported in ms with microsecond precision', async (t) => {
  const { tick, view } = setup();
  tick('ok', 1_234);
  tick('ok', 567);
  tick('ok', 89);
  const v = view()!;
  t.equal(v.rttP50Ms, 0.567);
  t.equal(v.rttP99Ms, 1.234);
  t.equal(v.lossRatio, 0);
  t.equal(v.status, 'ok');
});

t.test('statuses from the data: degraded by loss, degraded by latency, failing by loss', async (t) => {
  const a = setup();
  for (let i = 0; i < 7; i++) a.tick('ok');
  for (const w of ['timeout', 'ok', 'timeout', 'ok'] as const) a.tick(w);
  // 11 results one second apart; the oldest has left the 10 s window. Two
  // separate failures: the newest is one event, the other is recurring loss.
  t.equal(a.view()!.samples, 10);
  t.equal(a.view()!.status, 'degraded', '1 lost of 9');
  t.match(a.view()!.reason, /^loss 11.1% ≥ 5.0%/);
  const b = setup();
  for (let i = 0; i < 5; i++) b.tick('ok', 60_000);
  t.equal(b.view()!.status, 'degraded');
  t.match(b.view()!.reason, /^RTT p50 60.00 ms > 50 ms/);
  const c = setup({ ...OPTIONS, thresholds: { ...OPTIONS.thresholds, failingLoss: 0.3 } });
  // Scattered loss (no two failures in a row: not an outage), last probe ok.
  for (const w of ['ok', 'timeout', 'ok', 'timeout', 'ok', 'timeout', 'ok'] as const) c.tick(w, w === 'ok' ? 1_000 : 0);
  t.equal(c.view()!.lossRatio, 3 / 7);
  t.equal(c.view()!.status, 'failing', '2 lost of 6 (the newest event aside) ≥ 30 %, last ok');
  t.match(c.view()!.reason, /^loss 33.3% ≥ 30.0%/);
  t.equal(c.view()!.rttP50Ms, 1);
});

t.test('an outage is failing while it lasts; once probes pass, its loss does not degrade the cell', async (t) => {
  const { tick, view } = setup();
  for (let i = 0; i < 4; i++) tick('ok');
  for (let i = 0; i < 3; i++) tick('timeout', 0);
  t.equal(view()!.status, 'failing');
  tick('ok');
  const healed = view()!;
  t.equal(healed.lossRatio, 3 / 8, 'the window\'s loss is still reported as measured');
  t.equal(healed.status, 'ok', 'healed at once');
  tick('timeout', 0);
  tick('ok');
  t.equal(view()!.status, 'ok', 'one fault after the outage, cleared: one event');
  tick('timeout', 0);
  tick('ok');
  t.equal(view()!.status, 'degraded', 'recurring loss after the outage counts again (1 of 3)');
});

t.test('samples leave the window', async (t) => {
  const { tick, view, store, clock, t0 } = setup();
  tick('timeout', 0, 1_000);
  for (let i = 0; i < 10; i++) tick('ok', 1_000, 1_000);
  // Results at t0, t0+1s … t0+10s; the clock is at t0+11s.
  clock.set(t0 + 10_000);
  t.equal(view()!.samples, 11, 'a sample exactly one window old is still in it');
  t.equal(view()!.lossRatio, 1 / 11);
  clock.set(t0 + 10_001);
  t.equal(view()!.samples, 10, 'one ms later it is not');
  t.equal(view()!.lossRatio, 0);
  t.equal(view()!.status, 'ok');
  const samples = store.samples(0, 1, ICMP, V4, clock.now());
  t.equal(samples.length, 10);
  t.equal(samples[0]!.at, t0 + 1_000);
  t.same(samples.at(-1), { at: t0 + 10_000, outcome: 'ok', rttUs: 1_000 });
  clock.set(t0 + 20_000);
  t.equal(view()!.samples, 1);
  clock.set(t0 + 20_001);
  const empty = view()!;
  t.equal(empty.samples, 0);
  t.equal(empty.lossRatio, null, 'no samples: no loss figure');
  t.equal(empty.rttP50Ms, null);
  t.equal(empty.rttP99Ms, null);
  t.equal(empty.status, 'unknown');
  t.equal(empty.lastOutcome, 'ok', 'the last outcome is remembered');
});

t.test('the ring wraps: beyond `ring` samples the oldest go', async (t) => {
  const { store, tick, view, clock, t0 } = setup();
  const ring = store.ring;
  t.equal(ring, 12);
  // Results faster than the interval (as in a replay after a reconnect): all inside the window.
  for (let i = 0; i < ring; i++) tick('timeout', 0, 100);
  t.equal(view()!.samples, ring);
  t.equal(view()!.lossRatio, 1);
  for (let i = 0; i < ring - 2; i++) tick('ok', 2_000, 100);
  let v = view()!;
  t.equal(v.samples, ring, 'never more than the ring');
  t.equal(v.lossRatio, 2 / ring, 'the 10 oldest timeouts were overwritten');
  for (let i = 0; i < 2; i++) tick('ok', 2_000, 100);
  v = view()!;
  t.equal(v.lossRatio, 0, 'every timeout overwritten');
  t.equal(v.rttP50Ms, 2);
  const samples = store.samples(0, 1, ICMP, V4, clock.now());
  t.equal(samples.length, ring);
  t.same(samples.map((s) => s.at), Array.from({ length: ring }, (_, i) => t0 + (ring + i) * 100), 'oldest first, after the wrap');
  for (let i = 0; i < 5 * ring + 3; i++) tick(i % 2 ? 'ok' : 'reset', 1_000, 100);
  t.equal(view()!.samples, ring, 'many wraps later still exactly the ring');
  t.equal(store.samples(0, 1, ICMP, V4, clock.now()).length, ring);
});

t.test('a cell without results for staleAfter is unknown', async (t) => {
  const { tick, view, clock, t0 } = setup();
  tick('ok', 1_000, 0);
  clock.set(t0 + 3_000);
  t.equal(view()!.status, 'ok', 'exactly staleAfter: still ok');
  clock.set(t0 + 3_001);
  const v = view()!;
  t.equal(v.status, 'unknown');
  t.match(v.reason, /stale after 3s/);
  t.equal(v.samples, 1, 'the data is still shown');
  t.equal(v.lastOutcome, 'ok');
  tick('ok', 1_000, 0);
  t.equal(view()!.status, 'ok', 'fresh again with the next result');
});

t.test('since is the start of the current run of identical outcomes', async (t) => {
  const { tick, view, t0, clock } = setup();
  tick('ok');
  tick('ok');
  t.equal(view()!.since, t0);
  tick('timeout', 0);
  t.equal(view()!.since, t0 + 2_000);
  tick('timeout', 0);
  tick('timeout', 0);
  t.equal(view()!.since, t0 + 2_000, 'same outcome: the run goes on');
  tick('refused', 0);
  t.equal(view()!.since, t0 + 5_000, 'a different failure starts a new run');
  tick('ok');
  t.equal(view()!.since, t0 + 6_000);
  t.equal(view()!.lastAt, t0 + 6_000);
  t.equal(clock.now(), t0 + 7_000);
});

t.test('a replayed older result joins the window but does not change the last outcome', async (t) => {
  const { store, view, clock, t0 } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, t0 + 5_000);
  store.record(0, 1, ICMP, V4, o('timeout'), 0, t0 + 2_000);
  clock.set(t0 + 5_000);
  const v = view()!;
  t.equal(v.lastOutcome, 'ok');
  t.equal(v.lastAt, t0 + 5_000);
  t.equal(v.since, t0 + 5_000, 'the run is not broken by an older result');
  t.equal(v.samples, 2);
  t.equal(v.lossRatio, 0.5);
  t.same(store.samples(0, 1, ICMP, V4, clock.now()).map((s) => s.outcome), ['timeout', 'ok'], 'samples sorted by time');
  store.record(0, 1, ICMP, V4, o('timeout'), 0, t0 + 5_000);
  t.equal(view()!.lastOutcome, 'timeout', 'a result as new as the last one does count');
});

t.test('results are kept apart by family, kind, direction and target', async (t) => {
  const { store, clock, t0 } = setup();
  const at = t0;
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, at);
  store.record(0, 1, ICMP, V6, o('timeout'), 0, at);
  store.record(0, 1, TCP, V4, o('refused'), 0, at);
  store.record(0, 1, NODE, V4, o('unreachable'), 0, at);
  store.record(1, 0, ICMP, V4, o('reset'), 0, at);
  store.record(0, 2, ICMP, V4, o('error'), 0, at);
  const now = clock.now();
  t.equal(store.view(0, 1, ICMP, V4, now)!.lastOutcome, 'ok');
  t.equal(store.view(0, 1, ICMP, V6, now)!.lastOutcome, 'timeout');
  t.equal(store.view(0, 1, TCP, V4, now)!.lastOutcome, 'refused');
  t.equal(store.view(0, 1, NODE, V4, now)!.lastOutcome, 'unreachable');
  t.equal(store.view(1, 0, ICMP, V4, now)!.lastOutcome, 'reset');
  t.equal(store.view(0, 2, ICMP, V4, now)!.lastOutcome, 'error');
  for (const [s, d, k, f] of [[0, 1, TCP, V4], [0, 1, ICMP, V4], [0, 1, ICMP, V6]] as const) t.equal(store.view(s, d, k, f, now)!.samples, 1);
  t.equal(store.view(0, 1, TCP, V6, now), undefined);
  t.equal(store.view(0, 1, kindIndex('http'), V4, now), undefined);
  t.equal(store.view(2, 0, ICMP, V4, now), undefined);
  t.equal(store.trackedCells, 6);
});

t.test('removeNode frees every cell from and to the node; trackedCells follows', async (t) => {
  const { store, clock, t0 } = setup();
  const rec = (s: number, d: number, k = ICMP, f = V4) => store.record(s, d, k, f, o('timeout'), 0, clock.now());
  rec(0, 1);
  rec(0, 1, TCP);
  rec(0, 1, ICMP, V6);
  rec(1, 0);
  rec(1, 2, NODE);
  rec(2, 1);
  rec(0, 2);
  rec(2, 0);
  t.equal(store.trackedCells, 8);
  store.removeNode(1, 3);
  t.equal(store.trackedCells, 2, 'only 0→2 and 2→0 are left');
  const now = clock.now();
  for (const [s, d, k, f] of [[0, 1, ICMP, V4], [0, 1, TCP, V4], [0, 1, ICMP, V6], [1, 0, ICMP, V4], [1, 2, NODE, V4], [2, 1, ICMP, V4]] as const) {
    t.equal(store.view(s, d, k, f, now), undefined, `${s}→${d} gone`);
  }
  t.ok(store.view(0, 2, ICMP, V4, now));
  t.ok(store.view(2, 0, ICMP, V4, now));
  store.removeNode(1, 3);
  t.equal(store.trackedCells, 2, 'removing again is harmless');

  // Index 1 reused by a new node: its cells start empty, nothing of the old node leaks.
  clock.set(t0 + 1_000);
  store.record(0, 1, ICMP, V4, o('ok'), 3_000, clock.now());
  store.record(1, 0, ICMP, V4, o('ok'), 3_000, clock.now());
  t.equal(store.trackedCells, 4);
  const fresh = store.view(0, 1, ICMP, V4, clock.now())!;
  t.equal(fresh.samples, 1);
  t.equal(fresh.lossRatio, 0);
  t.equal(fresh.since, t0 + 1_000);
  t.equal(fresh.status, 'ok');
  t.same(store.samples(1, 0, ICMP, V4, clock.now()).map((s) => s.outcome), ['ok']);
});

t.test('removing a node that never reported or was never probed', async (t) => {
  const { store, clock } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1, clock.now());
  store.removeNode(5, 6);
  t.equal(store.trackedCells, 1);
  store.removeNode(0, 2);
  t.equal(store.trackedCells, 0);
});

t.test('freed cells are reused before new ones are allocated', async (t) => {
  const { store, clock } = setup();
  for (let d = 1; d <= 50; d++) store.record(0, d, ICMP, V4, o('ok'), 1, clock.now());
  t.equal(store.trackedCells, 50);
  for (let round = 0; round < 20; round++) {
    store.removeNode(0, 51);
    t.equal(store.trackedCells, 0);
    for (let d = 1; d <= 50; d++) store.record(0, d, ICMP, V4, o(round % 2 ? 'ok' : 'timeout'), 1, clock.now());
  }
  t.equal(store.trackedCells, 50);
  t.equal(store.view(0, 7, ICMP, V4, clock.now())!.samples, 1, 'a reused cell has only its own sample');
});

t.test('sample times have 100 ms resolution; lastAt and since are exact', async (t) => {
  const { store, clock, t0 } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1, t0 + 1_234);
  clock.set(t0 + 2_000);
  const v = store.view(0, 1, ICMP, V4, clock.now())!;
  t.equal(v.lastAt, t0 + 1_234);
  t.equal(v.since, t0 + 1_234);
  t.equal(store.samples(0, 1, ICMP, V4, clock.now())[0]!.at, t0 + 1_200);
});

t.test('a large RTT is kept', async (t) => {
  const { store, clock } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 4_000_000_000, clock.now());
  t.equal(store.view(0, 1, ICMP, V4, clock.now())!.rttP50Ms, 4_000_000);
});
