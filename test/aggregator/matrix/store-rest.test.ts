// Cells at rest under a sampled plan (docs/scaling.md, "Cells at rest"): a
// cell that is ok with nothing worth a full cell gives its chunk slot back and
// keeps a 2-byte record, so a store that has seen every pair of a sampled
// cluster holds full cells only for what was probed more than once within the
// loss window (fixed peers, follow-ups) or is not ok. Driven through the real
// ingest path, plans and PeerWalk (test/helpers/verdict-sim.ts). No timing.
import t from 'tap';
import { kindIndex, MatrixStore, type MatrixOptions } from '../../../aggregator/matrix/store.js';
import { CODE_FAILING, CODE_OK, CODE_UNKNOWN } from '../../../aggregator/matrix/rule.js';
import { walkPeriod } from '../../../aggregator/plan/sampled.js';
import { addressFamilies, outcomes } from '../../../common/vocabulary.js';
import { ManualClock, wallOf } from '../../../common/clock.js';
import { VerdictSim } from '../../helpers/verdict-sim.js';

const N = 400;
const K = 32;
const KINDS = 4;
const SAMPLED = { fullMeshMax: 200, peersPerRound: K, minProbers: 3, suspectProbersMax: 64 };
const ICMP = kindIndex('icmp');
const V4 = addressFamilies.index('ipv4');

t.test(`memory: ${N} nodes sampled (${K} peers a round, ${KINDS} kinds), every pair probed: full cells stay within one round's results, the store's arrays a fraction of every cell full`, async (t) => {
  // A walk period (~24 rounds, 120 s) shorter than the loss window (300 s): a cell holds 2 or 3 ok results in it, in different buckets.
  const sim = new VerdictSim({ nodes: N, zones: 3, seed: 5, sampled: SAMPLED });
  // Every prober's walk reaches every peer within this (fixed peers: at most K/2; no follow-ups, nothing fails).
  const rounds = walkPeriod(N, K, K / 2) + 2;
  for (let r = 0; r < rounds; r++) sim.round();
  const store = sim.store;
  t.equal(store.trackedCells, N * (N - 1) * KINDS, 'every ordered pair and kind is tracked');
  const roundResults = N * K * KINDS;
  t.ok(store.fullCells <= roundResults, `${store.fullCells} full cells: at most one round's results (${roundResults})`);
  t.equal(store.fullCells + store.restingCells, store.trackedCells);
  const m = store.memory();
  t.comment(`after ${rounds} rounds: ${store.fullCells} full, ${store.restingCells} at rest; bytes: chunks ${m.chunks}, rest ${m.rest}, index ${m.index}, tallies ${m.tallies}, total ${m.total}`);
  // The stated figure: 3 bytes per pair and kind at rest (planes sized to the nodes, + 1/64), ~150 bytes per full cell (one
  // round's results at most, in chunks of 4,096), the tallies (node, zone, current: ~5 KB per node).
  const chunkBytes = 4_096 * 150;
  const figure = N * N * KINDS * 3 * 1.1 + Math.ceil(roundResults / 4_096) * chunkBytes + N * 16 * 1_024;
  t.ok(m.total < figure, `${(m.total / 2 ** 20).toFixed(1)} MiB < ${(figure / 2 ** 20).toFixed(1)} MiB (every cell full: ~${((N * (N - 1) * KINDS * 150) / 2 ** 20).toFixed(0)} MiB)`);

  // The compact matrix and the pair API still read every pair: ok, with its newest result's time.
  const compact = sim.query.compact('icmp', 'ipv4');
  t.same(compact.summary, { ok: N * (N - 1), degraded: 0, failing: 0, unknown: 0 }, 'the compact matrix: every cell ok');
  const nodes = sim.nodes.list();
  let resting = 0;
  let views = 0;
  let several = 0;
  for (let d = 1; d < N; d++) {
    if (!store.atRest(nodes[0]!.index, nodes[d]!.index, ICMP, V4)) continue;
    resting++;
    const v = sim.query.pair(nodes[0]!, nodes[d]!, 'ipv4').kinds.icmp.cell;
    const loss = store.loss(nodes[0]!.index, nodes[d]!.index, ICMP, V4);
    if (v.status === 'ok' && v.lastOutcome === 'ok' && v.lastAt !== null && v.lastAt <= sim.clock.now() && v.lossSamples === loss.samples && loss.samples >= 1 && loss.failures === 0) views++;
    if (loss.samples >= 2) several++;
  }
  t.ok(resting > N / 2, `${resting} of node 0's icmp cells at rest`);
  t.equal(views, resting, 'each reads ok, last outcome ok, with its time and its loss samples');
  t.ok(several > resting / 4, `${several} of them hold 2 results or more in their loss window`);

  // Churn: more rounds re-create cells from rest and put them back; the chunks do not grow (the free list is reused).
  const before = store.memory().chunks;
  const counts = store.restCounts;
  for (let r = 0; r < 10; r++) sim.round();
  const after = store.restCounts;
  t.ok(after.recreated - counts.recreated > 10 * N * (K / 2) * KINDS * 0.5, `${after.recreated - counts.recreated} re-created and ${after.released - counts.released} released in 10 more rounds`);
  t.equal(store.memory().chunks, before, 'no more chunk bytes after 10 more rounds of churn');
  t.equal(sim.seen.size, 0, 'no finding meanwhile');
});

t.test('a cell at rest: its next result re-creates it with its loss sample; a failure keeps it full until its loss window holds nothing but one ok, a slow answer while it is the newest', async (t) => {
  const clock = new ManualClock();
  const options: MatrixOptions = { windowMs: 60_000, intervalMs: 5_000, lossWindowMs: 300_000, toWall: wallOf(clock), thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 } };
  const store = new MatrixStore(options, clock.monotonic());
  const o = (w: 'ok' | 'timeout' | 'refused') => outcomes.index(w);
  const record = (outcome: 'ok' | 'timeout' | 'refused', rttUs = 400) => {
    clock.advance(5_000);
    store.record(0, 2, ICMP, V4, o('ok'), 400, clock.monotonic()); // the row stays fresh; this cell is probed every round
    store.record(0, 1, ICMP, V4, o(outcome), rttUs, clock.monotonic());
  };
  // The full mesh: nothing rests.
  record('ok');
  t.notOk(store.atRest(0, 1, ICMP, V4), 'full mesh: full');
  store.setCadence(true, 80 * 5_000);
  for (let r = 0; r < 80; r++) record('ok');
  t.notOk(store.atRest(0, 1, ICMP, V4), 'probed every round: its loss window holds many results, it stays full');
  t.notOk(store.atRest(0, 2, ICMP, V4));
  // Probed once a walk period (400 s, more than the 300 s loss window): one result in its loss window, at rest.
  const sparse = () => {
    for (let r = 0; r < 79; r++) {
      clock.advance(5_000);
      store.record(0, 2, ICMP, V4, o('ok'), 400, clock.monotonic());
    }
  };
  sparse();
  record('ok');
  t.ok(store.atRest(0, 1, ICMP, V4), 'one ok in its loss window: at rest');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic(), true), CODE_OK, 'current, and ok');
  t.same(store.loss(0, 1, ICMP, V4), { samples: 1, failures: 0 });
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', samples: 0, lossSamples: 1, lastAt: clock.now(), rttP50Ms: null });
  clock.advance(20_000);
  store.touchRow(0, clock.monotonic());
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic(), true), CODE_UNKNOWN, 'not current after the stale time (unknown to the current readers)');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic()), CODE_OK, 'still ok');
  // A refusal: re-created, failing, and full while the failure is in its loss window.
  sparse();
  record('refused');
  t.notOk(store.atRest(0, 1, ICMP, V4));
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic()), CODE_FAILING);
  record('ok');
  t.notOk(store.atRest(0, 1, ICMP, V4), 'healed, but a failure in its loss window: full');
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', samples: 2 });
  sparse();
  record('ok');
  t.ok(store.atRest(0, 1, ICMP, V4), 'a walk period later its loss window holds one ok: at rest again (the failure, older than the loss window, left with its status window)');
  // Probed every 10th round (50 s, more than a loss bucket of 37.5 s): at rest with its ok results in the loss window.
  for (let n = 1; n <= 5; n++) {
    for (let r = 0; r < 9; r++) {
      clock.advance(5_000);
      store.record(0, 2, ICMP, V4, o('ok'), 400, clock.monotonic());
    }
    record('ok');
    t.ok(store.atRest(0, 1, ICMP, V4), `every 10th round, result ${n}: at rest`);
  }
  t.same(store.loss(0, 1, ICMP, V4), { samples: 6, failures: 0 }, 'its 6 results of the last 300 s (the one before them is older than the loss window)');
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', lossSamples: 6, lossRatio: 0, samples: 0 });
  // A slow answer keeps it full while it is the newest: slow every time, it is judged slow at its third.
  for (let n = 1; n <= 3; n++) {
    sparse();
    record('ok', 80_000);
    t.notOk(store.atRest(0, 1, ICMP, V4), `slow answer ${n}: full`);
  }
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'degraded', degradedBy: 'latency', samples: 3 });
  t.same(store.restCounts, { released: 7, recreated: 7 });
  // Back to the full mesh: every cell full again, as before sampling.
  store.record(0, 3, ICMP, V4, o('ok'), 400, clock.monotonic());
  t.ok(store.atRest(0, 3, ICMP, V4), 'a new cell with one ok rests at once');
  store.setCadence(false, 5_000);
  t.equal(store.restingCells, 0, 'the full mesh wakes every cell');
  t.equal(store.code(0, 3, ICMP, V4, clock.monotonic()), CODE_OK);
  t.match(store.view(0, 3, ICMP, V4, clock.monotonic()), { status: 'ok', lastAt: clock.now(), lossSamples: 1 });
});

t.test('a record at rest keeps its exact time for 55 minutes, then reads "ok, long ago" (its loss samples out of the tallies), across hours of stamps wrapping', async (t) => {
  const clock = new ManualClock();
  const options: MatrixOptions = { windowMs: 60_000, intervalMs: 5_000, lossWindowMs: 300_000, toWall: wallOf(clock), thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 } };
  const store = new MatrixStore(options, clock.monotonic());
  store.setCadence(true, 80 * 5_000);
  const ok = outcomes.index('ok');
  // Node 0 probes node 2 every round (its row stays fresh, time moves on), node 1 once.
  const round = () => {
    clock.advance(5_000);
    store.record(0, 2, ICMP, V4, ok, 400, clock.monotonic());
    store.sweep(clock.monotonic());
  };
  round();
  store.record(0, 1, ICMP, V4, ok, 400, clock.monotonic());
  const at = clock.now();
  t.ok(store.atRest(0, 1, ICMP, V4));
  const inLoss = () => store.nodeTally(1, 'in', ICMP, V4).lossSamples;
  t.equal(inLoss(), 1, 'its loss sample in node 1 tally');
  for (let r = 0; r < 12 * 50; r++) round(); // 50 minutes
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', lastAt: at }, 'after 50 minutes: its exact time');
  t.equal(inLoss(), 1, 'its loss sample still counted, as a full cell not probed since would count it');
  for (let r = 0; r < 12 * 40; r++) round(); // 90 minutes: aged at the pass after 55 minutes
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', lastOutcome: 'ok', lastAt: null, lossSamples: 0 }, 'after 90 minutes: ok, long ago');
  t.equal(inLoss(), 0, 'its loss sample out of the tallies');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic(), true), CODE_UNKNOWN, 'not current');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic()), CODE_OK);
  for (let r = 0; r < 12 * 240; r++) round(); // 4 hours more: stamps wrapped twice
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', lastAt: null });
  // Its next result: a full cell again, then at rest with its new time.
  store.record(0, 1, ICMP, V4, ok, 400, clock.monotonic());
  t.ok(store.atRest(0, 1, ICMP, V4));
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { status: 'ok', lastAt: clock.now(), lossSamples: 1 });
  t.equal(inLoss(), 1);
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic(), true), CODE_OK, 'current');
  // And one put at rest just before a wrap reads its own time after it.
  for (let r = 0; r < 12 * 20; r++) round();
  t.match(store.view(0, 1, ICMP, V4, clock.monotonic()), { lastAt: clock.now() - 20 * 60_000 });
});
