// The matrix store: each cell's state kept at ingest on the aggregator's
// monotonic clock (the status window of the last results, the run of
// failures, loss over --loss-window), the cell rule applied as results come
// (aggregator/matrix/rule.ts), and the tallies and non-ok set that follow
// every change of a cell's status.
import t, { type Test } from 'tap';
import { mulberry32 } from '../../helpers/random.js';
import { CODE_FAILING, CODE_LOSSY, CODE_OK, CODE_SLOW, CODE_UNKNOWN, CODES, CONFIRMING_RUN, MAX_STATUS_SAMPLES, OUTAGE_RUN, decide, isExplicit } from '../../../aggregator/matrix/rule.js';
import { CellIndex } from '../../../aggregator/matrix/cell-index.js';
import { kindIndex, MatrixStore, newNodeCounts, NOT_TRACKED, type CellView, type MatrixOptions } from '../../../aggregator/matrix/store.js';
import { ManualClock, wallOf } from '../../../common/clock.js';
import { addressFamilies, outcomes, PAIR_KINDS, type Outcome } from '../../../common/vocabulary.js';

const INTERVAL = 5_000;
const LOSS_WINDOW = 300_000;
/** The aggregator's defaults: 60 s status window, 5 s interval, loss judged over 5 m, stale after 3 intervals. */
const OPTIONS: MatrixOptions = {
  windowMs: 60_000,
  intervalMs: INTERVAL,
  lossWindowMs: LOSS_WINDOW,
  thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 3 * INTERVAL },
};
const ICMP = kindIndex('icmp');
const TCP = kindIndex('tcp');
const NODE = kindIndex('node');
const V4 = addressFamilies.index('ipv4');
const V6 = addressFamilies.index('ipv6');
const o = (w: Outcome) => outcomes.index(w);

function setup(options: MatrixOptions = OPTIONS) {
  const clock = new ManualClock();
  const store = new MatrixStore({ toWall: wallOf(clock), ...options }, clock.monotonic());
  const t0 = clock.monotonic();
  /** One interval later, src→dst icmp/ipv4 gets a result. */
  const next = (outcome: Outcome, rttUs = outcome === 'ok' ? 1_000 : 0, o2: { src?: number; dst?: number; corroborated?: boolean; step?: number; loopDelayed?: boolean } = {}) => {
    clock.advance(o2.step ?? options.intervalMs);
    return store.record(o2.src ?? 0, o2.dst ?? 1, ICMP, V4, o(outcome), rttUs, clock.monotonic(), o2.corroborated ?? false, o2.loopDelayed ?? false);
  };
  const view = (src = 0, dst = 1, kind = ICMP, family = V4) => store.view(src, dst, kind, family, clock.monotonic());
  const run = (outcomes: readonly Outcome[]) => outcomes.forEach((w) => next(w));
  return { clock, store, t0, next, view, run };
}

const oks = (n: number): Outcome[] => Array.from({ length: n }, () => 'ok');

t.test('the status window holds round(window / interval) results, for any window and interval up to 240 results', async (t) => {
  for (const [windowMs, intervalMs, ring] of [
    [60_000, 5_000, 12],
    [10_000, 3_000, 3],
    [1_000, 1_000, 2],
    [700, 1_000, 2],
    [7_000, 1_000, 7],
    [3_600_000, 15_000, 240],
    [24_040, 100, 240],
  ] as const) {
    const { store, run, view, t0 } = setup({ ...OPTIONS, windowMs, intervalMs });
    t.equal(store.ring, ring, `${windowMs} ms / ${intervalMs} ms`);
    run(oks(ring + 5));
    const v = view()!;
    t.equal(v.samples, ring, 'never more than the window');
    t.equal(v.windowSpanMs, (ring - 1) * intervalMs, 'the newest `ring` results, one interval apart');
    const s = store.samples(0, 1, ICMP, V4);
    t.equal(s.length, ring);
    t.same([s[0]!.at, s.at(-1)!.at], [t0 + 6 * intervalMs, t0 + (ring + 5) * intervalMs], 'oldest first, times kept across the whole window');
  }
});

t.test('more than 240 results per status window is refused at construction, naming both durations', async (t) => {
  t.throws(() => new MatrixStore({ ...OPTIONS, windowMs: 241_000, intervalMs: 1_000 }, 0), new RangeError('window 241000ms / interval 1000ms is 241 results per cell; at most 240'));
  t.throws(() => new MatrixStore({ ...OPTIONS, windowMs: 3_600_000, intervalMs: 100 }, 0), RangeError);
  t.throws(() => new MatrixStore({ ...OPTIONS, windowMs: 240_500, intervalMs: 1_000 }, 0), RangeError, '240.5 rounds to 241');
  t.equal(new MatrixStore({ ...OPTIONS, windowMs: 240_499, intervalMs: 1_000 }, 0).ring, MAX_STATUS_SAMPLES, '240.499 rounds to 240');
});

t.test('a cell never probed has no view and no samples', async (t) => {
  const { store, view } = setup();
  t.equal(view(), undefined);
  t.same(store.samples(0, 1, ICMP, V4), []);
  t.equal(store.trackedCells, 0);
  t.equal(store.code(0, 1, ICMP, V4, 0), CODE_UNKNOWN);
});

t.test('RTT percentiles (nearest rank, ms with µs precision) over the ok results of the status window', async (t) => {
  const { next, run, view } = setup();
  for (const us of [8_000, 1_000, 7_000, 2_000]) next('ok', us);
  next('timeout');
  for (const us of [6_000, 3_000, 5_000, 4_567]) next('ok', us);
  let v = view()!;
  t.equal(v.samples, 9);
  t.equal(v.rttP50Ms, 4.567, 'p50 of 8 RTTs is the 4th smallest');
  t.equal(v.rttP99Ms, 8, 'p99 of 8 RTTs is the largest');
  run(['refused', 'refused', 'refused']);
  v = view()!;
  t.equal(v.samples, 12);
  t.equal(v.rttP50Ms, 4.567, 'failures carry no RTT');
  run(Array.from({ length: 12 }, () => 'timeout' as const));
  v = view()!;
  t.same([v.rttP50Ms, v.rttP99Ms], [null, null], 'no answer in the window: no RTT');
});

t.test('an explicit answer fails a cell at once; one in history is not an outage', async (t) => {
  for (const w of ['refused', 'unreachable', 'reset', 'mtu_exceeded'] as const) {
    const { run, next, view } = setup();
    run(oks(12));
    next(w);
    t.match(view(), { status: 'failing', lastOutcome: w, failureRun: 1, reason: `last probe: ${w} (an answer from the path, not a loss)` }, w);
    next('ok');
    t.match(view(), { status: 'ok', failureRun: 0 }, `${w}: ok again at the next answer`);
  }
});

t.test('a lone timeout is not an outage: the cell stays ok until its successor fails too', async (t) => {
  for (const w of ['timeout', 'error'] as const) {
    const { run, next, view } = setup();
    run(oks(12));
    next(w);
    t.match(view(), { status: 'ok', lastOutcome: w, failureRun: 1, reason: /not confirmed yet/ }, `one ${w}`);
    next(w);
    t.match(view(), { status: 'failing', failureRun: 2, reason: `last 2 probes failed (${w})` }, 'two in a row');
    next('ok');
    t.match(view(), { status: 'ok' }, 'ok again');
    run(oks(30));
    next(w);
    t.match(view(), { status: 'ok', failureRun: 1 }, 'an outage that has ended does not confirm a new lone failure');
  }
});

t.test('a timeout corroborated by another kind in the same report fails the cell at once', async (t) => {
  const { run, next, view } = setup();
  run(oks(12));
  next('timeout', 0, { corroborated: true });
  t.match(view(), { status: 'failing', failureRun: 1, reason: 'last probe: timeout, and other kinds timed out towards the same target in the same round' });
  next('timeout');
  t.match(view(), { status: 'failing', reason: 'last 2 probes failed (timeout)' });
});

t.test('failing by loss: at least 3 failures that are at least --failing-loss of the status window, even when the last probe passed', async (t) => {
  const a = setup();
  a.run(['timeout', 'ok', 'timeout', 'ok']);
  t.match(a.view(), { status: 'ok' }, 'two failures of four (50 %) are under the minimum of three');
  a.run(['timeout', 'ok']);
  t.match(a.view(), { status: 'failing', lastOutcome: 'ok', reason: '3 of the last 6 probes failed (≥ 50.0%)' });
  a.run(oks(1));
  t.match(a.view(), { status: 'degraded', degradedBy: 'loss' }, '3 of 7 is under 50 %: what is left is loss');
  const b = setup({ ...OPTIONS, thresholds: { ...OPTIONS.thresholds, failingLoss: 0.25 } });
  b.run(['ok', 'ok', 'timeout', 'ok', 'ok', 'timeout', 'ok', 'ok', 'timeout', 'ok', 'ok', 'ok']);
  t.match(b.view(), { status: 'failing', reason: '3 of the last 12 probes failed (≥ 25.0%)' }, 'the threshold is --failing-loss');
});

t.test('slow: more than half of at least 3 answers in the status window slower than the threshold', async (t) => {
  const a = setup();
  a.next('ok', 60_000);
  a.next('ok', 60_000);
  t.match(a.view(), { status: 'ok' }, 'two slow answers are too few to judge');
  a.next('ok', 60_000);
  t.match(a.view(), { status: 'degraded', degradedBy: 'latency', rttP50Ms: 60, reason: 'RTT p50 above 50 ms (3 of 3 answers slower)' });
  const b = setup();
  for (let i = 0; i < 12; i++) b.next('ok', i < 6 ? 1_000 : 50_001);
  t.match(b.view(), { status: 'ok', samples: 12 }, '6 slow of 12 is not more than half');
  b.next('ok', 60_000);
  t.match(b.view(), { status: 'degraded', degradedBy: 'latency', reason: 'RTT p50 above 50 ms (7 of 12 answers slower)' }, 'a fast answer left the window, a slow one came');
  b.run(['timeout', 'refused']);
  t.match(b.view(), { status: 'failing' });
  const c = setup();
  for (let i = 0; i < 12; i++) c.next('ok', 50_000);
  t.match(c.view(), { status: 'ok' }, 'exactly the threshold is not slower');
});

t.test('loss is judged with a 99 % confidence bound over the loss window: background loss stays ok, heavy loss is found', async (t) => {
  // 100 cells, results every 5 s for 20 minutes (four loss windows), independent random loss.
  const lossy = (ratio: number, seed: number) => {
    const { store, clock } = setup();
    const rand = mulberry32(seed);
    const cells = 100;
    let everLossy = 0;
    let lossyAtEnd = 0;
    let notOkAtEnd = 0;
    for (let round = 0; round < 240; round++) {
      clock.advance(INTERVAL);
      for (let d = 1; d <= cells; d++) {
        store.record(0, d, ICMP, V4, o(rand() < ratio ? 'timeout' : 'ok'), 1_000, clock.monotonic());
        if (store.code(0, d, ICMP, V4, clock.monotonic()) === CODE_LOSSY) everLossy++;
      }
    }
    for (let d = 1; d <= cells; d++) {
      const code = store.code(0, d, ICMP, V4, clock.monotonic());
      if (code === CODE_LOSSY) lossyAtEnd++;
      if (code !== CODE_OK) notOkAtEnd++;
    }
    return { everLossy, lossyAtEnd, notOkAtEnd };
  };
  t.equal(lossy(0.005, 1).everLossy, 0, '0.5 % loss: no cell is ever degraded by loss in 24,000 results');
  t.equal(lossy(0.01, 2).everLossy, 0, '1 % loss: none either');
  const heavy = lossy(0.2, 3);
  t.ok(heavy.notOkAtEnd >= 90, `20 % loss: ${heavy.notOkAtEnd} of 100 cells are not ok (${heavy.lossyAtEnd} degraded by loss, the rest failing)`);
});

t.test('the loss window forgets results older than --loss-window, and keeps those newer than 7/8 of it', async (t) => {
  const { next, run, view, clock } = setup();
  run(oks(10));
  next('timeout');
  // A failure joins the loss window with the answer that ends its run, at that answer's time.
  next('ok');
  const joinedAt = clock.monotonic();
  t.match(view(), { lossSamples: 12, lossRatio: 1 / 12 });
  let lastCounted = joinedAt;
  let firstForgotten: number | null = null;
  for (let i = 0; i < 80; i++) {
    next('ok');
    const v = view()!;
    const counted = v.lossRatio !== null && v.lossRatio > 0;
    const age = clock.monotonic() - joinedAt;
    if (counted) lastCounted = clock.monotonic();
    else firstForgotten ??= clock.monotonic();
    if (age < (LOSS_WINDOW * 7) / 8) t.ok(counted, `${age / 1000} s old: counted`);
    if (age >= LOSS_WINDOW) t.notOk(counted, `${age / 1000} s old: forgotten`);
  }
  t.ok(firstForgotten !== null && firstForgotten > lastCounted, 'once forgotten, it stays forgotten');
  t.comment(`the failure counted for ${(lastCounted - joinedAt) / 1000} s of a ${LOSS_WINDOW / 1000} s loss window`);
  const left = view()!.lossSamples;
  t.ok(left > (LOSS_WINDOW * 7) / 8 / INTERVAL && left <= LOSS_WINDOW / INTERVAL, `what is left: ${left} results, those of the last 7/8 to 8/8 of the loss window`);
});

t.test('a view reports the loss its status was judged on: lossRatio = failures / lossSamples over the loss window, and the span they cover', async (t) => {
  const { next, run, view } = setup();
  run(['ok', 'ok', 'ok', 'timeout']);
  let v = view()!;
  t.match(v, { lossSamples: 4, lossRatio: 0.25, status: 'ok' }, 'one failure (a lone timeout, the current run) is counted, not judged');
  t.ok(v.lossSpanMs >= 3 * INTERVAL && v.lossSpanMs <= 4 * INTERVAL + LOSS_WINDOW / 8, `span ${v.lossSpanMs} ms covers the 4 results`);
  // Every fifth result lost for 10 minutes: 20 % loss, never two in a row.
  for (let i = 0; i < 120; i++) next(i % 5 === 2 ? 'timeout' : 'ok');
  v = view()!;
  const m = /^loss [\d.]+% \((\d+) of (\d+)\)/.exec(v.reason);
  t.ok(m, v.reason);
  t.match(v, { status: 'degraded', degradedBy: 'loss' });
  t.equal(v.lossSamples, Number(m![2]), 'lossSamples are the samples the reason names');
  t.equal(v.lossRatio, Number(m![1]) / Number(m![2]), 'lossRatio is the ratio judged');
  t.ok(v.lossSamples >= (LOSS_WINDOW * 7) / 8 / INTERVAL && v.lossSamples <= LOSS_WINDOW / INTERVAL, `${v.lossSamples} samples: 7/8 to 8/8 of the loss window`);
  t.ok(v.lossSpanMs >= (v.lossSamples - 1) * INTERVAL && v.lossSpanMs <= LOSS_WINDOW, `span ${v.lossSpanMs} ms`);
  t.equal(v.samples, 12, 'the status window is shorter');
  t.equal(v.windowSpanMs, 11 * INTERVAL);
  // The loss window defaults to the status window.
  const { lossWindowMs: _, ...noLossWindow } = OPTIONS;
  const s = setup(noLossWindow);
  t.equal(s.store.lossWindowMs, OPTIONS.windowMs);
  s.run(oks(30));
  t.ok(s.view()!.lossSamples <= 12, 'loss over the status window');
});

t.test('a run of failures joins the loss window when an answer ends it: a run of 1 or 2 as that many failures; until then it counts only in the loss the cell is judged on', async (t) => {
  const { next, run, view, store } = setup();
  /** The cell's loss buckets and the loss tally of its target: [samples, failures] each. */
  const buckets = () => {
    const cell = store.loss(0, 1, ICMP, V4);
    const node = store.nodeTally(1, 'in', ICMP, V4);
    return [[cell.samples, cell.failures], [node.lossSamples, node.lossFailures]];
  };
  run(oks(10));
  next('timeout');
  t.match(view(), { status: 'ok', failureRun: 1, lossSamples: 11, lossRatio: 1 / 11 }, 'the current run counts in the loss judged');
  t.same(buckets(), [[10, 0], [10, 0]], 'not in the loss buckets, nor the node tallies');
  next('timeout');
  t.match(view(), { status: 'failing', failureRun: 2, lossSamples: 12, lossRatio: 2 / 12 });
  next('ok');
  t.match(view(), { status: 'ok', failureRun: 0, lossSamples: 13, lossRatio: 2 / 13 }, 'two lost of 13: under the three failures loss needs');
  t.same(buckets(), [[13, 2], [13, 2]], 'the ended run is loss: in the buckets and the node tallies');
});

t.test(`an outage (a run of ${OUTAGE_RUN} failures or more) is failing while it lasts; once it ends it is left out of the loss and of the status window's failure count: a healed pair is ok at its first answer`, async (t) => {
  // Three sources towards node 1, which reboots: 12 rounds (a minute) without an answer.
  const { store, clock } = setup();
  const round = (w: Outcome) => {
    clock.advance(INTERVAL);
    for (const src of [0, 2, 3]) store.record(src, 1, ICMP, V4, o(w), w === 'ok' ? 1_000 : 0, clock.monotonic());
  };
  const view = () => store.view(0, 1, ICMP, V4, clock.monotonic())!;
  for (let r = 0; r < 24; r++) round('ok');
  for (let r = 0; r < 12; r++) round('timeout');
  t.match(view(), { status: 'failing', failureRun: 12, reason: 'last 12 probes failed (timeout)', lossSamples: 36, lossRatio: 12 / 36 }, 'failing while it lasts, its loss judged');
  t.same(store.kindTally(ICMP, V4), [0, 0, 0, 0, 3]);
  round('ok');
  t.match(view(), { status: 'ok', failureRun: 0, lastOutcome: 'ok', reason: 'last probe ok, loss and latency under thresholds', lossSamples: 25, lossRatio: 0, samples: 12 }, 'ok at the first answer; lossRatio is that of the answers around the outage');
  t.same(store.samples(0, 1, ICMP, V4).map((s) => s.outcome), [...Array<Outcome>(11).fill('timeout'), 'ok'], 'the outage is still shown in the samples, with its outcome');
  t.same(store.kindTally(ICMP, V4), [0, 3, 0, 0, 0], 'every cell towards the node ok');
  t.same(store.nodeTally(1, 'in', ICMP, V4), { codes: [0, 3, 0, 0, 0], lossSamples: 75, lossFailures: 0 }, 'the node reads no loss after its reboot');
  for (let r = 0; r < 11; r++) round('ok');
  t.match(view(), { status: 'ok', samples: 12, lossRatio: 0 }, 'and stays ok while the outage leaves the status window');

  // Exactly OUTAGE_RUN failures, refused: an answer fails at once, and when it ends it is an outage too.
  const b = setup();
  b.run([...oks(12), ...Array<Outcome>(OUTAGE_RUN).fill('refused')]);
  t.match(b.view(), { status: 'failing', failureRun: OUTAGE_RUN });
  b.next('ok');
  t.match(b.view(), { status: 'ok', lossRatio: 0, lossSamples: 13 });

  // An outage longer than the status window.
  const c = setup();
  c.run([...oks(12), ...Array<Outcome>(30).fill('timeout'), 'ok']);
  t.match(c.view(), { status: 'ok', lossRatio: 0, samples: 12 });
});

t.test('the status window counts the failures that are loss, not those of an outage that ended', async (t) => {
  // At --failing-loss 0.25, three failures in twelve are failing.
  const { run, view } = setup({ ...OPTIONS, thresholds: { ...OPTIONS.thresholds, failingLoss: 0.25 } });
  run([...oks(12), 'timeout', 'ok', 'timeout', 'ok', 'timeout', 'timeout', 'timeout', 'ok', 'ok']);
  t.match(view(), { status: 'ok', samples: 12 }, 'two lone failures and an outage of three: two failures are counted');
  run(['timeout', 'ok']);
  t.match(view(), { status: 'failing', reason: '3 of the last 12 probes failed (≥ 25.0%)' }, 'a third lone one: failing, counting three of the six failures shown');
});

t.test('scattered loss is still loss: 20 % in runs of one is degraded, and an outage in the middle of it adds nothing to the loss', async (t) => {
  const { next, run, view } = setup();
  const about20 = (r: number | null) => r !== null && r > 0.15 && r < 0.25;
  // Every fifth result lost for 5 minutes: 20 % loss, never two in a row.
  for (let i = 0; i < 60; i++) next(i % 5 === 2 ? 'timeout' : 'ok');
  const before = view()!;
  t.match(before, { status: 'degraded', degradedBy: 'loss' });
  t.ok(about20(before.lossRatio), `lossRatio ${before.lossRatio}`);
  run(Array<Outcome>(12).fill('timeout'));
  t.match(view(), { status: 'failing' }, 'a 12-round outage');
  next('ok');
  const after = view()!;
  t.match(after, { status: 'degraded', degradedBy: 'loss' }, 'degraded by the scattered loss at the first answer, not failing');
  // The window moved 13 intervals on: the scattered failures still in it, none of the outage's (with them it would be over 35 %).
  const failures = Math.round(after.lossRatio! * after.lossSamples);
  t.ok(about20(after.lossRatio), `lossRatio ${after.lossRatio} (${failures} of ${after.lossSamples}): the outage's 12 failures are not in it`);
  // It stays degraded while the loss goes on, and heals when it stops.
  for (let i = 0; i < 20; i++) next(i % 5 === 2 ? 'timeout' : 'ok');
  t.match(view(), { status: 'degraded', degradedBy: 'loss' });
  run(oks(LOSS_WINDOW / INTERVAL));
  t.match(view(), { status: 'ok', lossRatio: 0 });
});

t.test('a result replayed during an outage is not part of it: the outage is still left out when it ends', async (t) => {
  const { store, next, run, view, clock } = setup();
  run(oks(12));
  run(Array<Outcome>(6).fill('timeout'));
  // An answer from before the outage, delivered late, lands among its failures.
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, clock.monotonic() - 60_000);
  next('timeout');
  t.match(view(), { status: 'failing', failureRun: 7, lastOutcome: 'timeout' });
  next('ok');
  t.match(view(), { status: 'ok', failureRun: 0, lossRatio: 0 }, 'ok at the first answer: all seven failures of the run left out');
  t.same(store.samples(0, 1, ICMP, V4).map((s) => s.outcome), ['ok', 'ok', 'ok', 'ok', 'timeout', 'timeout', 'timeout', 'timeout', 'timeout', 'timeout', 'timeout', 'ok'], 'in time order: the replayed answer is the oldest');
});

t.test('a row goes stale when its source stops reporting: unknown, said why, and swept once', async (t) => {
  const { store, run, view, clock } = setup();
  run(['ok', 'refused']);
  store.record(0, 2, TCP, V4, o('ok'), 1_000, clock.monotonic());
  clock.advance(15_000);
  t.match(view(), { status: 'failing' }, 'exactly staleAfter: still fresh');
  t.same(store.sweep(clock.monotonic()), []);
  clock.advance(1_000);
  t.match(view(), { status: 'unknown', reason: 'no report from the source for 16s (stale after 15s): is its agent running?' }, 'stale at once in a view');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic()), CODE_UNKNOWN);
  t.equal(store.nonOkCount, 1, 'until swept, the tallies hold what was judged');
  t.same(store.sweep(clock.monotonic()), [0], 'swept');
  t.same(store.sweep(clock.monotonic()), [], 'once');
  t.equal(store.nonOkCount, 0);
  t.same(store.kindTally(ICMP, V4), [1, 0, 0, 0, 0], 'its cells are unknown in the tallies');
  t.same(store.kindTally(TCP, V4), [1, 0, 0, 0, 0]);
  t.match(view(), { status: 'unknown', samples: 0, lossSamples: 0, lastOutcome: null, reason: /^no report from the source for 16s/ }, 'its history is gone');
  store.touchRow(0, clock.monotonic());
  t.match(view(), { status: 'unknown', reason: 'no probe results yet' }, 'a report keeps the row fresh; its cells wait for results');
  clock.advance(15_000);
  t.same(store.sweep(clock.monotonic()), [], 'a touched row stays fresh for staleAfter');
  run(['ok']);
  t.match(view(), { status: 'ok', samples: 1 });
});

t.test('resetColumn forgets every cell towards one target: unknown until its next result; other cells keep theirs', async (t) => {
  const { store, clock } = setup();
  const at = () => clock.monotonic();
  for (let i = 0; i < 3; i++) {
    clock.advance(INTERVAL);
    store.record(0, 1, ICMP, V4, o('refused'), 0, at());
    store.record(0, 1, TCP, V6, o('ok'), 1_000, at());
    store.record(2, 1, ICMP, V4, o('refused'), 0, at());
    store.record(0, 2, ICMP, V4, o('refused'), 0, at());
    store.record(1, 0, ICMP, V4, o('refused'), 0, at());
  }
  t.equal(store.nonOkCount, 4);
  store.resetColumn(1);
  for (const [s, k, f] of [[0, ICMP, V4], [0, TCP, V6], [2, ICMP, V4]] as const) {
    t.match(store.view(s, 1, k, f, at()), { status: 'unknown', reason: 'no probe results yet', samples: 0, lastOutcome: null }, `${s}→1 forgotten`);
  }
  t.match(store.view(0, 2, ICMP, V4, at()), { status: 'failing', samples: 3 }, 'towards another target: kept');
  t.match(store.view(1, 0, ICMP, V4, at()), { status: 'failing', samples: 3 }, 'from the target: kept');
  t.equal(store.trackedCells, 5, 'the cells stay');
  t.equal(store.nonOkCount, 2);
  t.same(store.nodeTally(1, 'in', ICMP, V4), { codes: [2, 0, 0, 0, 0], lossSamples: 0, lossFailures: 0 });
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, at());
  t.match(store.view(0, 1, ICMP, V4, at()), { status: 'ok', samples: 1, lossSamples: 1 });
});

t.test('views show wall-clock times (toWall) at 100 ms resolution; since is the start of the current run of one outcome', async (t) => {
  const { next, run, view, clock, t0 } = setup();
  run(['ok', 'ok']);
  t.equal(view()!.since, t0 + INTERVAL);
  run(['timeout', 'timeout', 'timeout']);
  t.equal(view()!.since, t0 + 3 * INTERVAL, 'the run of timeouts began at the first');
  next('refused');
  t.equal(view()!.since, t0 + 6 * INTERVAL, 'another failure starts a new run');
  clock.stepWall(3_600_000);
  next('ok');
  t.equal(view()!.lastAt, clock.now(), 'after a wall step, times are shown on the new wall clock');
  t.equal(view()!.since, clock.now(), 'the run of oks began with it');
  t.not(view()!.status, 'unknown', 'and nothing went stale');
  const { store } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1, t0 + 1_234);
  t.equal(store.view(0, 1, ICMP, V4, t0 + 2_000)!.lastAt, t0 + 1_200, 'kept in 100 ms ticks');
  t.equal(store.samples(0, 1, ICMP, V4)[0]!.at, t0 + 1_200);
});

t.test('a replayed older result joins the windows but is not the newest: last outcome and run stay', async (t) => {
  const { store, view, clock, t0 } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, t0 + 10_000);
  store.record(0, 1, ICMP, V4, o('timeout'), 0, t0 + 5_000);
  clock.set(t0 + 10_000);
  t.match(view(), { lastOutcome: 'ok', lastAt: t0 + 10_000, since: t0 + 10_000, failureRun: 0, samples: 2, lossSamples: 2, lossRatio: 0.5, status: 'ok' });
  t.same(store.samples(0, 1, ICMP, V4).map((s) => s.outcome), ['timeout', 'ok'], 'samples in time order');
  store.record(0, 1, ICMP, V4, o('timeout'), 0, t0 + 10_000);
  t.match(view(), { lastOutcome: 'timeout', failureRun: 1 }, 'a result as new as the last one is the newest');
});

t.test('results are kept apart by family, kind, direction and target', async (t) => {
  const { store, t0 } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 1_000, t0);
  store.record(0, 1, ICMP, V6, o('timeout'), 0, t0);
  store.record(0, 1, TCP, V4, o('refused'), 0, t0);
  store.record(0, 1, NODE, V4, o('unreachable'), 0, t0);
  store.record(1, 0, ICMP, V4, o('reset'), 0, t0);
  store.record(0, 2, ICMP, V4, o('error'), 0, t0);
  t.equal(store.view(0, 1, ICMP, V4, t0)!.lastOutcome, 'ok');
  t.equal(store.view(0, 1, ICMP, V6, t0)!.lastOutcome, 'timeout');
  t.equal(store.view(0, 1, TCP, V4, t0)!.lastOutcome, 'refused');
  t.equal(store.view(0, 1, NODE, V4, t0)!.lastOutcome, 'unreachable');
  t.equal(store.view(1, 0, ICMP, V4, t0)!.lastOutcome, 'reset');
  t.equal(store.view(0, 2, ICMP, V4, t0)!.lastOutcome, 'error');
  t.equal(store.view(0, 1, TCP, V6, t0), undefined);
  t.equal(store.view(0, 1, kindIndex('http'), V4, t0), undefined);
  t.equal(store.view(2, 0, ICMP, V4, t0), undefined);
  t.equal(store.trackedCells, 6);
  t.same(store.kindTally(ICMP, V4), [0, 2, 0, 0, 1], 'icmp/ipv4: 1→0 failing (reset is an answer); 0→1 ok, 0→2 ok (a lone error is not confirmed)');
});

t.test('removeNode frees every cell from and to the node and its tallies; a reused index starts empty', async (t) => {
  const { store, clock, t0 } = setup();
  const rec = (s: number, d: number, k = ICMP, f = V4) => store.record(s, d, k, f, o('refused'), 0, clock.monotonic());
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
  for (const [s, d, k, f] of [[0, 1, ICMP, V4], [0, 1, TCP, V4], [0, 1, ICMP, V6], [1, 0, ICMP, V4], [1, 2, NODE, V4], [2, 1, ICMP, V4]] as const) {
    t.equal(store.view(s, d, k, f, clock.monotonic()), undefined, `${s}→${d} gone`);
  }
  t.same(store.nodeTally(1, 'in', ICMP, V4).codes, [0, 0, 0, 0, 0]);
  t.same(store.nodeTally(1, 'out', ICMP, V4).codes, [0, 0, 0, 0, 0]);
  t.same(store.kindTally(ICMP, V4), [0, 0, 0, 0, 2]);
  t.equal(store.nonOkCount, 2);
  store.removeNode(1, 3);
  t.equal(store.trackedCells, 2, 'removing again is harmless');
  store.removeNode(5, 6);
  t.equal(store.trackedCells, 2, 'a node never seen: nothing');

  clock.set(t0 + 1_000);
  store.record(0, 1, ICMP, V4, o('ok'), 3_000, clock.monotonic());
  store.record(1, 0, ICMP, V4, o('ok'), 3_000, clock.monotonic());
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { samples: 1, lossSamples: 1, since: t0 + 1_000, status: 'ok', failureRun: 0 });
  t.same(store.samples(1, 0, ICMP, V4).map((s) => s.outcome), ['ok']);
});

t.test('freed cells are reused before new ones are allocated', async (t) => {
  const { store, clock } = setup();
  for (let d = 1; d <= 50; d++) store.record(0, d, ICMP, V4, o('ok'), 1, clock.monotonic());
  for (let round = 0; round < 20; round++) {
    store.removeNode(0, 51);
    t.equal(store.trackedCells, 0);
    clock.advance(INTERVAL);
    for (let d = 1; d <= 50; d++) store.record(0, d, ICMP, V4, o(round % 2 ? 'ok' : 'refused'), 1, clock.monotonic());
  }
  t.equal(store.trackedCells, 50);
  t.match(store.view(0, 7, ICMP, V4, clock.monotonic()), { samples: 1, lossSamples: 1, status: 'ok' }, 'a reused cell has only its own result');
  t.same(store.kindTally(ICMP, V4), [0, 50, 0, 0, 0]);
  t.equal((store as unknown as { chunks: unknown[] }).chunks.length, 1, 'one chunk the whole time');
});

t.test('a large RTT is kept', async (t) => {
  const { store, clock } = setup();
  store.record(0, 1, ICMP, V4, o('ok'), 4_000_000_000, clock.monotonic());
  t.equal(store.view(0, 1, ICMP, V4, clock.monotonic())!.rttP50Ms, 4_000_000);
});

t.test('a loop-delayed answer (its agent\'s event loop was held up) is an answer, but its RTT is not judged', async (t) => {
  const a = setup();
  for (let i = 0; i < 12; i++) a.next('ok', 400_000, { loopDelayed: true });
  t.match(a.view(), { status: 'ok', samples: 12, lossRatio: 0, rttP50Ms: null, rttP99Ms: null }, '12 answers of 400 ms, every one marked: no latency judged, no loss');
  t.same(a.store.rtt(0, 1, ICMP, V4, a.clock.monotonic()), null, 'no RTT for the node percentiles either');
  t.ok(a.store.samples(0, 1, ICMP, V4).every((x) => x.loopDelayed && x.outcome === 'ok' && x.rttUs === 400_000), 'the samples show them, marked');
  for (let i = 0; i < 3; i++) a.next('ok', 60_000);
  t.match(a.view(), { status: 'degraded', degradedBy: 'latency', rttP50Ms: 60, rttP99Ms: 60, reason: 'RTT p50 above 50 ms (3 of 3 answers slower)' }, 'unmarked slow answers are still judged, on their own');
  const b = setup();
  for (let i = 0; i < 12; i++) b.next('ok', 1_000 + i, { loopDelayed: i % 2 === 0 });
  t.match(b.view(), { status: 'ok', rttP50Ms: 1.005, rttP99Ms: 1.011 }, 'percentiles over the unmarked answers only');
  // Marked answers leaving the window take nothing with them.
  for (let i = 0; i < 12; i++) b.next('ok', 60_000);
  t.match(b.view(), { status: 'degraded', degradedBy: 'latency', reason: 'RTT p50 above 50 ms (12 of 12 answers slower)' });
});

t.test('a loop-delayed timeout is not judged: not stored, so no failure, no run and no loss; record() says so', async (t) => {
  const a = setup();
  a.run(oks(5));
  t.equal(a.next('timeout', 0, { loopDelayed: true }), false, 'record() returns false: not judged');
  for (let i = 0; i < 20; i++) {
    a.next('timeout', 0, { loopDelayed: true });
    a.store.touchRow(0, a.clock.monotonic()); // as the ingest does for every report: the source is reporting
  }
  t.match(a.view(), { status: 'ok', samples: 5, failureRun: 0, lossSamples: 5, lastOutcome: 'ok' }, 'twenty marked timeouts later the cell is as it was');
  t.equal(a.next('timeout'), true, 'an unmarked timeout is stored');
  t.equal(a.next('timeout'), true);
  t.match(a.view(), { status: 'failing', failureRun: 2 }, 'and judged: two in a row fail the cell');
  // Marked answers end a run like any answer, and marked failures other than timeouts are judged as usual.
  t.equal(a.next('ok', 1_000, { loopDelayed: true }), true);
  t.match(a.view(), { status: 'ok', failureRun: 0 });
  a.next('refused', 0, { loopDelayed: true });
  t.match(a.view(), { status: 'failing', lastOutcome: 'refused' }, 'an answer from the path is an answer whatever the agent\'s loop did');
  const b = setup();
  b.run(oks(3));
  b.run(['timeout', 'timeout', 'timeout', 'timeout']);
  b.next('ok', 1_000, { loopDelayed: true });
  t.match(b.view(), { status: 'ok', samples: 8, lossSamples: 4 }, 'a marked answer ends an outage like any answer: the outage is left out');
});

/**
 * Sampled: the store runs with current tallies on, so cells that are ok with
 * nothing worth keeping go to rest after a result and come back at the next:
 * the model cuts a cell's status window where the store put it at rest (after
 * checking that nothing was lost: the cell was clean), and everything else
 * (codes, loss, tallies, readers) must read as without rest.
 */
const modelTest = (sampled: boolean) => async (t: Test) => {
  const N = 8;
  const K = PAIR_KINDS.length;
  const F = addressFamilies.words.length;
  const WORDS: readonly Outcome[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'timeout', 'timeout', 'timeout', 'refused', 'error', 'unreachable'];
  const { store, clock } = setup({ ...OPTIONS, lossWindowMs: 60_000 });
  // A gap of one interval: non-ok cells are blanked after the stale time, as the model expects.
  if (sampled) store.setCadence(true, INTERVAL);
  const bucketMs = 60_000 / 8;
  /** Where the store put a cell at rest last: its status window starts after that result. */
  const cuts = new Map<string, number>();
  let rested = 0;
  const rand = mulberry32(20261207);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const slow = OPTIONS.thresholds.degradedRttMs * 1000;

  // The model: every result since the cell was last emptied, in the order recorded.
  interface Result { at: number; outcome: Outcome; rttUs: number; corroborated: boolean; loopDelayed: boolean }
  const history = new Map<string, Result[]>();
  const key = (s: number, d: number, k: number, f: number) => `${s},${d},${k},${f}`;
  const rowLast = new Array<number>(N).fill(0);
  const rowExists = new Array<boolean>(N).fill(false);
  const rowSwept = new Array<boolean>(N).fill(false);
  let zoneOf = Array.from({ length: N }, () => 0);
  let zones = 1;
  const empty = (match: (s: number, d: number) => boolean, drop: boolean) => {
    for (const k of [...history.keys()]) {
      const [s, d] = k.split(',').map(Number) as [number, number];
      if (!match(s, d)) continue;
      if (drop) history.delete(k);
      else history.set(k, []);
      cuts.delete(k);
    }
  };
  const fresh = (s: number) => rowLast[s]! > 0 && clock.monotonic() - rowLast[s]! <= OPTIONS.thresholds.staleAfterMs;
  let active = new Set([0, 1, 2, 3, 4, 5]);
  const seen = new Set<number>();

  const bump = (a: number[], i: number, by = 1) => {
    a[i] = a[i]! + by;
  };
  /**
   * The cell rule's state from a cell's results in the order recorded. A
   * result older than the newest is a replay: it joins the status window and
   * the loss window as it is. At the newest end a run of failures joins the
   * loss window only when an answer ends it, at the answer's time: a run
   * shorter than OUTAGE_RUN as that many failures (but a run of CONFIRMING_RUN
   * ending in an explicit or corroborated failure); a longer one was an outage,
   * left out of the loss window and out of the status window's failure count.
   * The current run counts in the loss the cell is judged on, not in the
   * buckets (nor the node and zone tallies) until it ends.
   */
  const model = (h: readonly Result[], cut = 0) => {
    let newest = -Infinity;
    let run = 0;
    let last: Result | undefined;
    let current: Result[] = [];
    const outage = new Set<Result>();
    const joined: { at: number; n: number; f: number }[] = [];
    for (const r of h) {
      const failed = r.outcome !== 'ok';
      if (r.at < newest) {
        joined.push({ at: r.at, n: 1, f: failed ? 1 : 0 });
        continue;
      }
      newest = r.at;
      last = r;
      if (failed) {
        run++;
        current.push(r);
        continue;
      }
      // A run of CONFIRMING_RUN whose last failure was explicit or corroborated was an outage too.
      const lastFailure = current[current.length - 1];
      if (run >= OUTAGE_RUN || (run >= CONFIRMING_RUN && lastFailure !== undefined && (isExplicit(o(lastFailure.outcome)) || lastFailure.corroborated))) for (const x of current) outage.add(x);
      else if (run > 0) joined.push({ at: r.at, n: run, f: run });
      joined.push({ at: r.at, n: 1, f: 0 });
      run = 0;
      current = [];
    }
    // The status window is the last `ring` results recorded (since the cell last rested).
    const win = h.slice(cut).slice(-store.ring);
    const windowFailures = win.filter((r) => r.outcome !== 'ok' && !outage.has(r)).length;
    // A loop-delayed answer's RTT is not judged.
    const oks = win.filter((r) => r.outcome === 'ok' && !r.loopDelayed);
    const within = (buckets: number) => {
      const n = { n: 0, f: 0 };
      for (const j of joined) if (j.at > newest - buckets * bucketMs) (n.n += j.n), (n.f += j.f);
      return n;
    };
    /** The code, given the store's loss buckets (whose exact content the model bounds with `surely` and `maybe`). */
    const code = (buckets: { samples: number; failures: number }) =>
      decide(
        {
          run,
          explicit: run > 0 && isExplicit(o(last!.outcome)),
          corroborated: run > 0 && last!.corroborated,
          windowSamples: win.length,
          windowFailures,
          oks: oks.length,
          slowOks: oks.filter((r) => r.rttUs > slow).length,
          lossSamples: buckets.samples + run,
          lossFailures: buckets.failures + run,
        },
        OPTIONS.thresholds,
      );
    return { newest, run, last: last!, win, surely: within(7), maybe: within(8), code };
  };
  const CODE_OF = (v: CellView) => (v.status === 'failing' ? CODE_FAILING : v.status === 'ok' ? CODE_OK : v.status === 'unknown' ? CODE_UNKNOWN : v.degradedBy === 'loss' ? CODE_LOSSY : CODE_SLOW);

  const check = (step: number) => {
    const now = clock.monotonic();
    const expectSwept = rowExists.flatMap((e, s) => (e && !rowSwept[s] && !fresh(s) ? [s] : []));
    // The sweep also blanks a non-ok cell of a fresh row that got no result for the stale time.
    const expectBlank: string[] = [];
    for (const [k, h] of history) {
      const [s, d, kind, f] = k.split(',').map(Number) as [number, number, number, number];
      if (h.length === 0 || expectSwept.includes(s)) continue;
      const m = model(h, cuts.get(k));
      const code = m.code(store.loss(s, d, kind, f));
      if (code !== CODE_OK && code !== CODE_UNKNOWN && now - m.newest > OPTIONS.thresholds.staleAfterMs) expectBlank.push(k);
    }
    const swept = store.sweep(now);
    if (JSON.stringify(swept) !== JSON.stringify(expectSwept)) t.same(swept, expectSwept, `step ${step}: the rows swept`);
    for (const s of swept) {
      rowSwept[s] = true;
      empty((src) => src === s, false);
    }
    for (const k of expectBlank) {
      history.set(k, []);
      cuts.delete(k);
    }
    const kind = new Array<number>(K * F * CODES).fill(0);
    const inT = new Array<number>(N * K * F * CODES).fill(0);
    const outT = new Array<number>(N * K * F * CODES).fill(0);
    const inLoss = new Array<number>(N * K * F * 2).fill(0);
    const outLoss = new Array<number>(N * K * F * 2).fill(0);
    const zone = new Array<number>(zones * zones * K * F * CODES).fill(0);
    const zoneLoss = new Array<number>(zones * zones * K * F * 2).fill(0);
    const nonOk = new Set<string>();
    let tracked = 0;
    let problems = 0;
    const problem = (what: string, found: unknown, wanted: unknown) => {
      if (problems++ < 5) t.same(found, wanted, `step ${step}: ${what}`);
    };
    for (let s = 0; s < N; s++) {
      for (let d = 0; d < N; d++) {
        for (let k = 0; k < K; k++) {
          for (let f = 0; f < F; f++) {
            const v = store.view(s, d, k, f, now);
            const h = history.get(key(s, d, k, f));
            if ((v === undefined) !== (h === undefined)) problem(`${key(s, d, k, f)} tracked`, v !== undefined, h !== undefined);
            if (!v || !h) continue;
            tracked++;
            const code = CODE_OF(v);
            seen.add(code);
            const kf = k * F + f;
            bump(kind, kf * CODES + code);
            bump(inT, (d * K * F + kf) * CODES + code);
            bump(outT, (s * K * F + kf) * CODES + code);
            bump(zone, ((zoneOf[s]! * zones + zoneOf[d]!) * K * F + kf) * CODES + code);
            if (code !== CODE_OK && code !== CODE_UNKNOWN) nonOk.add(`${key(s, d, k, f)},${code}`);
            const loss = store.loss(s, d, k, f);
            bump(inLoss, (d * K * F + kf) * 2, loss.samples);
            bump(inLoss, (d * K * F + kf) * 2 + 1, loss.failures);
            bump(outLoss, (s * K * F + kf) * 2, loss.samples);
            bump(outLoss, (s * K * F + kf) * 2 + 1, loss.failures);
            bump(zoneLoss, ((zoneOf[s]! * zones + zoneOf[d]!) * K * F + kf) * 2, loss.samples);
            bump(zoneLoss, ((zoneOf[s]! * zones + zoneOf[d]!) * K * F + kf) * 2 + 1, loss.failures);

            // The cell against its history.
            if (h.length === 0) {
              if (code !== CODE_UNKNOWN || v.samples !== 0 || loss.samples !== 0) problem(`${key(s, d, k, f)} emptied`, [code, v.samples, loss.samples], [CODE_UNKNOWN, 0, 0]);
              continue;
            }
            const m = model(h, cuts.get(key(s, d, k, f)));
            // The loss buckets: every contribution newer than 7/8 of the loss window counted, none older than all of it.
            if (loss.samples < m.surely.n || loss.samples > m.maybe.n) problem(`${key(s, d, k, f)} loss samples within the loss window`, loss.samples, [m.surely.n, m.maybe.n]);
            if (loss.failures < m.surely.f || loss.failures > m.maybe.f) problem(`${key(s, d, k, f)} loss failures within the loss window`, loss.failures, [m.surely.f, m.maybe.f]);
            // What the view says is what was judged: the buckets and the current run.
            const judged = { samples: loss.samples + m.run, failures: loss.failures + m.run };
            if (v.lossSamples !== judged.samples || v.lossRatio !== (judged.samples === 0 ? null : judged.failures / judged.samples)) problem(`${key(s, d, k, f)} view loss = judged loss`, [v.lossSamples, v.lossRatio], judged);
            const shown = [code, v.samples, v.lastOutcome, v.failureRun];
            const wanted = [fresh(s) ? m.code(loss) : CODE_UNKNOWN, m.win.length, m.last.outcome, m.run];
            if (JSON.stringify(shown) !== JSON.stringify(wanted)) problem(`${key(s, d, k, f)} [code, samples, last outcome, run]`, shown, wanted);
          }
        }
      }
    }
    t.equal(problems, 0, `step ${step}: every cell as its history says`);
    // A whole row in one pass reads what the cells read one by one.
    let rowMismatches = 0;
    const codes = new Uint8Array(N);
    for (let s = 0; s < N; s++) {
      for (let k = 0; k < K; k++) {
        for (let f = 0; f < F; f++) {
          store.rowCodes(s, k, f, clock.monotonic(), codes);
          for (let d = 0; d < N; d++) {
            const want = store.tracked(s, d, k, f) ? store.code(s, d, k, f, clock.monotonic()) : NOT_TRACKED;
            if (codes[d] !== want) rowMismatches++;
          }
        }
      }
    }
    t.equal(rowMismatches, 0, `step ${step}: rowCodes equals code() and tracked() cell by cell`);
    t.equal(store.trackedCells, tracked, `step ${step}: trackedCells`);
    const got = { kind: [] as number[], inT: [] as number[], outT: [] as number[], inLoss: [] as number[], outLoss: [] as number[], zone: [] as number[], zoneLoss: [] as number[] };
    for (let k = 0; k < K; k++) for (let f = 0; f < F; f++) got.kind.push(...store.kindTally(k, f));
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        for (let f = 0; f < F; f++) {
          const i = store.nodeTally(n, 'in', k, f);
          const u = store.nodeTally(n, 'out', k, f);
          got.inT.push(...i.codes);
          got.outT.push(...u.codes);
          got.inLoss.push(i.lossSamples, i.lossFailures);
          got.outLoss.push(u.lossSamples, u.lossFailures);
        }
      }
    }
    for (let za = 0; za < zones; za++) {
      for (let zb = 0; zb < zones; zb++) {
        for (let k = 0; k < K; k++) {
          for (let f = 0; f < F; f++) {
            const z = store.zoneTally(za, zb, k, f);
            got.zone.push(...z.codes);
            got.zoneLoss.push(z.lossSamples, z.lossFailures);
          }
        }
      }
    }
    t.same(got, { kind, inT, outT, inLoss, outLoss, zone, zoneLoss }, `step ${step}: tallies by kind, node (in, out) and zone pair, with loss`);
    const set = new Set<string>();
    for (let f = 0; f < F; f++) store.forEachNonOk(f, (1 << K) - 1, [], (src, dst, k, code) => set.add(`${key(src, dst, k, f)},${code}`));
    t.same([...set].sort(), [...nonOk].sort(), `step ${step}: the non-ok set`);
    t.equal(store.nonOkCount, nonOk.size);
    // The evaluation's readers agree with the cell-by-cell and per-node ones.
    const recent = store.recentBuckets(clock.monotonic());
    let readers = 0;
    for (let f = 0; f < F; f++) {
      store.forEachNonOk(f, (1 << K) - 1, recent, (src, dst, k, _code, lossSamples, lossFailures) => {
        const l = store.loss(src, dst, k, f);
        if (l.samples !== lossSamples || l.failures !== lossFailures) readers++;
      });
    }
    const counts = newNodeCounts();
    const cell = newNodeCounts();
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        for (let f = 0; f < F; f++) {
          for (const dir of ['in', 'out'] as const) {
            const c = store.nodeCounts(n, dir, k, f, recent, counts);
            const want = store.nodeTally(n, dir, k, f);
            // The node's recent loss, summed from its cells' buckets instead of its own tally.
            const r = { samples: 0, failures: 0 };
            for (let x = 0; x < N; x++) {
              const p = dir === 'in' ? store.pairLoss(x, n, f, [k], recent, false, cell) : store.pairLoss(n, x, f, [k], recent, false, cell);
              r.samples += p.recentSamples;
              r.failures += p.recentFailures;
            }
            const got = [c.ok, c.lossy, c.slow, c.failing, c.lossSamples, c.lossFailures, c.recentSamples, c.recentFailures];
            if (JSON.stringify(got) !== JSON.stringify([...want.codes.slice(1), want.lossSamples, want.lossFailures, r.samples, r.failures])) readers++;
          }
          for (let d = 0; d < N; d++) {
            for (const skip of [false, true]) {
              const p = store.pairLoss(n, d, f, [k], recent, skip, counts);
              const l = skip && store.code(n, d, k, f, clock.monotonic()) === CODE_FAILING ? { samples: 0, failures: 0 } : store.loss(n, d, k, f);
              if (p.lossSamples !== l.samples || p.lossFailures !== l.failures) readers++;
            }
          }
        }
      }
    }
    t.equal(readers, 0, `step ${step}: forEachNonOk, nodeCounts and pairLoss read what loss() and nodeTally() read, and a node's recent loss is its cells' recent loss`);
  };

  const setZones = () => {
    zones = 1 + Math.floor(rand() * 3);
    zoneOf = Array.from({ length: N }, () => Math.floor(rand() * zones));
    store.setZones((n) => zoneOf[n]!, Array.from({ length: N }, (_, n) => n), zones);
  };
  setZones();
  let records = 0;
  for (let step = 1; step <= 4_000; step++) {
    const r = rand();
    if (r < 0.8) {
      // Half the results go to a few busy cells, so that their windows fill.
      const busy = rand() < 0.5;
      const s = busy ? pick([0, 1, 2]) : pick([...active]);
      let d = busy ? 3 : Math.floor(rand() * (N - 1));
      if (!busy && d >= s) d++;
      const outcome = pick(WORDS);
      // Now and then a result replayed from up to 20 s ago.
      const at = clock.monotonic() - (rand() < 0.1 ? Math.floor(rand() * 200) * 100 : 0);
      const result = { at, outcome, rttUs: outcome === 'ok' ? Math.floor(rand() * 80_000) : 0, corroborated: outcome === 'timeout' && rand() < 0.3, loopDelayed: rand() < 0.15 };
      const k = busy ? ICMP : Math.floor(rand() * K);
      const f = busy || rand() < 0.8 ? V4 : V6;
      const stored = store.record(s, d, k, f, o(outcome), result.rttUs, at, result.corroborated, result.loopDelayed);
      records++;
      // A loop-delayed timeout is not judged: nothing of it is kept.
      if (stored !== !(result.loopDelayed && outcome === 'timeout')) t.fail(`step ${step}: record() returned ${stored} for a ${result.loopDelayed ? 'loop-delayed ' : ''}${outcome}`);
      if (!stored) continue;
      const h = history.get(key(s, d, k, f)) ?? [];
      h.push(result);
      history.set(key(s, d, k, f), h);
      if (store.atRest(s, d, k, f)) {
        if (!sampled) t.fail(`step ${step}: a cell at rest in the full mesh`);
        // Nothing worth a full cell: ok, the result just recorded not a slow answer, ok results only in its loss window.
        const m = model(h, cuts.get(key(s, d, k, f)));
        const loss = store.loss(s, d, k, f);
        const slowAnswer = result.outcome === 'ok' && !result.loopDelayed && result.rttUs > slow;
        const clean = m.run === 0 && m.last.outcome === 'ok' && !slowAnswer && loss.samples >= 1 && loss.samples <= 8 && loss.failures === 0 && m.surely.f === 0;
        if (!clean) t.fail(`step ${step}: ${key(s, d, k, f)} at rest with ${JSON.stringify({ run: m.run, last: m.last.outcome, slowAnswer, loss, surely: m.surely })}`);
        cuts.set(key(s, d, k, f), h.length);
        rested++;
      }
      rowExists[s] = true;
      rowSwept[s] = false;
      rowLast[s] = Math.max(rowLast[s]!, at);
    } else if (r < 0.9) {
      clock.advance(100 * Math.floor(rand() * (rand() < 0.05 ? 300 : 30)));
    } else if (r < 0.93) {
      const s = pick([...active]);
      store.touchRow(s, clock.monotonic());
      rowLast[s] = Math.max(rowLast[s]!, clock.monotonic());
      rowSwept[s] = false;
    } else if (r < 0.95) {
      const d = Math.floor(rand() * N);
      store.resetColumn(d);
      empty((_s, dst) => dst === d, false);
    } else if (r < 0.96) {
      const n = Math.floor(rand() * N);
      store.removeNode(n, N);
      empty((s, d) => s === n || d === n, true);
      rowExists[n] = false;
      rowSwept[n] = false;
      rowLast[n] = 0;
    } else if (r < 0.97) {
      setZones();
    } else if (r < 0.98) {
      // Sources come and go: the rows of those that stop go stale.
      active = new Set(Array.from({ length: N }, (_, n) => n).filter(() => rand() < 0.7));
      if (active.size === 0) active.add(0);
    }
    if (step % 100 === 0) check(step);
  }
  t.ok(records > 3_000, `${records} results recorded`);
  t.same([...seen].sort(), [CODE_UNKNOWN, CODE_OK, CODE_LOSSY, CODE_SLOW, CODE_FAILING], 'every status came up');
  const { released, recreated } = store.restCounts;
  t.equal(store.fullCells + store.restingCells, store.trackedCells, 'tracked cells: full and at rest');
  if (!sampled) t.same([released, recreated, store.restingCells], [0, 0, 0], 'the full mesh puts no cell at rest');
  else {
    t.ok(rested > 200 && recreated > 100, `${rested} results put their cell at rest, ${recreated} re-created a cell from rest`);
    t.ok(released >= rested, 'every rest counted (and blanked cells rest too)');
  }
};

t.test('tallies and the non-ok set equal a recount over every cell after a random sequence of records, sweeps, column resets and removals (seeded)', modelTest(false));
t.test('sampled: the same with cells put at rest and re-created: codes, loss, tallies and readers as without rest (seeded)', modelTest(true));

t.test('memory: a tracked cell takes under 200 bytes at the defaults (60 s window, 5 s interval), from the chunk layout plus its row index entry', async (t) => {
  const store = new MatrixStore(OPTIONS, 0);
  store.record(0, 1, ICMP, V4, o('ok'), 1, 1_000);
  // The typed arrays of one chunk, per cell slot.
  const chunk = (store as unknown as { chunks: Record<string, unknown>[] }).chunks[0]!;
  const slots = (chunk.code as Uint8Array).length;
  const views = Object.values(chunk).filter((x): x is ArrayBufferView => ArrayBuffer.isView(x));
  const perSlot = views.reduce((n, a) => n + a.byteLength, 0) / slots;
  // Per node: the tallies and row state, measured as what growing the node capacity adds.
  const storeBytes = () => Object.values(store).filter((x): x is ArrayBufferView => ArrayBuffer.isView(x)).reduce((n, a) => n + a.byteLength, 0);
  const cap = () => (store as unknown as { cap: number }).cap;
  const [bytes0, cap0] = [storeBytes(), cap()];
  store.record(0, cap0, ICMP, V4, o('ok'), 1, 1_000);
  const perNode = (storeBytes() - bytes0) / (cap() - cap0);
  // A full-mesh row at 1,000 nodes (the default plan: icmp, tcp, http, node; one family), its index measured.
  const NODES = 1_000;
  for (let d = 1; d < NODES; d++) for (const k of [ICMP, TCP, kindIndex('http'), NODE]) store.record(1, d + 1, k, V4, o('ok'), 1, 1_000);
  const row = (store as unknown as { rows: CellIndex[] }).rows[1]!;
  const entries = (NODES - 1) * 4;
  t.equal(row.size, entries);
  const indexEntry = row.bytes / entries;
  const perCell = perSlot + indexEntry + (2 * perNode) / entries;
  t.comment(`per cell: ${perSlot.toFixed(1)} B of typed arrays (ring ${store.ring} × 7 B), ${indexEntry.toFixed(1)} B of row index at ${NODES} nodes, ${((2 * perNode) / entries).toFixed(2)} B of per-node tallies: ${perCell.toFixed(1)} B`);
  t.comment(`the index's share is 10.7 B/entry just before it doubles and 21.3 B just after: ${(perSlot + 10.7).toFixed(0)} to ${(perSlot + 21.3).toFixed(0)} B per cell across row sizes`);
  t.equal(store.ring, 12);
  t.ok(perCell < 200, `${perCell.toFixed(1)} bytes per tracked cell`);
  t.ok(perSlot < 150, `${perSlot} bytes of typed arrays per cell`);
});

