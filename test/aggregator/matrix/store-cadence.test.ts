// Sparse cells in the matrix store: under a sampled plan a pair is probed every
// few rounds. A non-ok cell keeps its status for its cadence (not stale after
// three intervals), and the current tallies count, per node and zone pair, the
// cells with a result within the stale time, by code: checked against a count
// over every cell, through random results, removals, resets and zone changes.
import t from 'tap';
import { CODE_FAILING, CODE_LOSSY, CODE_OK, CODE_SLOW, CODE_UNKNOWN } from '../../../aggregator/matrix/rule.js';
import { kindIndex, MatrixStore, newNodeCounts, type MatrixOptions } from '../../../aggregator/matrix/store.js';
import { ManualClock, wallOf } from '../../../common/clock.js';
import { addressFamilies, outcomes, PAIR_KINDS, type Outcome } from '../../../common/vocabulary.js';
import { mulberry32 } from '../../helpers/random.js';

const INTERVAL = 5_000;
const STALE = 3 * INTERVAL;
const OPTIONS: MatrixOptions = {
  windowMs: 60_000,
  intervalMs: INTERVAL,
  lossWindowMs: 300_000,
  thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: STALE },
};
const ICMP = kindIndex('icmp');
const V4 = addressFamilies.index('ipv4');
const o = (w: Outcome) => outcomes.index(w);

function setup() {
  const clock = new ManualClock();
  const store = new MatrixStore({ toWall: wallOf(clock), ...OPTIONS }, clock.monotonic());
  return { clock, store };
}

t.test('a failing cell probed every 16th interval is not stale after 3 intervals; after its cadence and the stale time it is', async (t) => {
  for (const sampled of [false, true]) {
    const { clock, store } = setup();
    store.setCadence(sampled, 16 * INTERVAL);
    for (let r = 0; r < 20; r++) {
      clock.advance(INTERVAL);
      store.record(0, 2, ICMP, V4, o('ok'), 500, clock.monotonic()); // the row stays fresh
    }
    store.record(0, 1, ICMP, V4, o('refused'), 0, clock.monotonic());
    const code = () => store.code(0, 1, ICMP, V4, clock.monotonic());
    t.equal(code(), CODE_FAILING);
    for (let r = 1; r <= 18; r++) {
      clock.advance(INTERVAL);
      store.record(0, 2, ICMP, V4, o('ok'), 500, clock.monotonic());
      store.sweep(clock.monotonic());
      const want = !sampled ? (r <= 3 ? CODE_FAILING : CODE_UNKNOWN) : r <= 15 + 3 ? CODE_FAILING : CODE_UNKNOWN;
      if (code() !== want) t.fail(`${sampled ? 'sampled' : 'full mesh'}: after ${r} intervals ${code()}, wanted ${want}`);
    }
    clock.advance(2 * INTERVAL);
    store.record(0, 2, ICMP, V4, o('ok'), 500, clock.monotonic());
    store.sweep(clock.monotonic());
    t.equal(code(), CODE_UNKNOWN, `${sampled ? 'sampled: after 16 + 3 intervals' : 'full mesh: after 3 intervals'} without a result, blanked`);
  }
});

t.test('current tallies: per node and zone pair, the cells with a result within the stale time, by code; as a count over every cell finds them', async (t) => {
  const { clock, store } = setup();
  const random = mulberry32(1717);
  const N = 24;
  const zones = 3;
  let zoneOf = (n: number) => n % zones;
  store.setZones(zoneOf, Array.from({ length: N }, (_, n) => n), zones);
  // Some history before the plan is sampled: rebuilt when the tallies are turned on.
  const step = () => {
    clock.advance(INTERVAL / 2);
    for (let x = 0; x < 40; x++) {
      const s = Math.floor(random() * N);
      const d = Math.floor(random() * N);
      if (s === d) continue;
      const kind = random() < 0.7 ? ICMP : kindIndex('tcp');
      const r = random();
      const outcome: Outcome = r < 0.08 ? 'timeout' : r < 0.1 ? 'refused' : 'ok';
      store.record(s, d, kind, V4, o(outcome), random() < 0.1 ? 90_000 : 400, clock.monotonic() - Math.floor(random() * 2_000), random() < 0.2);
    }
  };
  for (let i = 0; i < 10; i++) step();
  store.setCadence(true, 12 * INTERVAL);
  t.ok(store.currentTallies);
  let mismatches = 0;
  const seen = { cells: 0, failing: 0, notCurrent: 0 };
  const check = (label: string) => {
    const now = clock.monotonic();
    // Brute force: every cell's view, counted when its newest result is within the stale time (to the slot).
    const want = new Map<string, number>();
    const wantZone = new Map<string, number>();
    for (let s = 0; s < N; s++) {
      for (let d = 0; d < N; d++) {
        for (const kind of [ICMP, kindIndex('tcp')]) {
          const v = store.view(s, d, kind, V4, now);
          if (!v || v.lastAt === null || v.status === 'unknown') continue;
          const code = store.code(s, d, kind, V4, now);
          if (code === CODE_UNKNOWN) continue;
          // Current: its newest result in one of the last slots (store.code with currentOnly says which).
          if (store.code(s, d, kind, V4, now, true) === CODE_UNKNOWN) {
            seen.notCurrent++;
            continue;
          }
          seen.cells++;
          if (code === CODE_FAILING) seen.failing++;
          for (const k of [`in/${d}/${kind}/${code}`, `out/${s}/${kind}/${code}`]) want.set(k, (want.get(k) ?? 0) + 1);
          const zk = `${zoneOf(s)}/${zoneOf(d)}/${kind}/${code}`;
          wantZone.set(zk, (wantZone.get(zk) ?? 0) + 1);
        }
      }
    }
    for (let n = 0; n < N; n++) {
      for (const kind of [ICMP, kindIndex('tcp')]) {
        for (const dir of ['in', 'out'] as const) {
          const c = store.currentNodeCounts(n, dir, kind, V4, now, newNodeCounts());
          const got = [c.ok, c.lossy, c.slow, c.failing];
          const exp = [CODE_OK, CODE_LOSSY, CODE_SLOW, CODE_FAILING].map((code) => want.get(`${dir}/${n}/${kind}/${code}`) ?? 0);
          if (got.join() !== exp.join()) {
            mismatches++;
            if (mismatches < 5) t.fail(`${label}: node ${n} ${dir} kind ${kind}: ${got.join()} counted, ${exp.join()} by its cells`);
          }
        }
      }
    }
    for (let a = 0; a < zones; a++) {
      for (let b = 0; b < zones; b++) {
        for (const kind of [ICMP, kindIndex('tcp')]) {
          const got = store.currentZoneCodes(a, b, kind, V4, now);
          const exp = [CODE_UNKNOWN, CODE_OK, CODE_LOSSY, CODE_SLOW, CODE_FAILING].map((code) => (code === CODE_UNKNOWN ? 0 : (wantZone.get(`${a}/${b}/${kind}/${code}`) ?? 0)));
          if (got.join() !== exp.join()) {
            mismatches++;
            if (mismatches < 5) t.fail(`${label}: zones ${a}/${b} kind ${kind}: ${got.join()} counted, ${exp.join()} by their cells`);
          }
        }
      }
    }
  };
  check('after turning on');
  for (let i = 0; i < 60; i++) {
    step();
    if (i % 7 === 3) store.sweep(clock.monotonic());
    if (i === 20) store.resetColumn(5);
    if (i === 30) store.removeNode(7, N);
    if (i === 40) {
      zoneOf = (n: number) => (n * 7) % 4;
      store.setZones(zoneOf, Array.from({ length: N }, (_, n) => n), 4);
    }
    if (i === 45) clock.advance(4 * INTERVAL); // a quiet spell: every slot ages out
    check(`step ${i}`);
  }
  t.equal(mismatches, 0, 'the current tallies are the count over the current cells, at every step');
  t.ok(seen.cells > 1_000 && seen.failing > 50 && seen.notCurrent > 1_000, `counted ${seen.cells} current cells (${seen.failing} failing) and left out ${seen.notCurrent} older ones over the steps`);
  // Off again (the cluster shrank below --full-mesh-max): every cell's code, as before.
  store.setCadence(false, INTERVAL);
  t.notOk(store.currentTallies);
  const full = store.nodeCounts(3, 'in', ICMP, V4, [], newNodeCounts());
  const cur = store.currentNodeCounts(3, 'in', ICMP, V4, clock.monotonic(), newNodeCounts());
  t.same([cur.ok, cur.lossy, cur.slow, cur.failing], [full.ok, full.lossy, full.slow, full.failing]);
});

t.test('non-ok cells and codes as the localizer reads them: current ones only while sampled', async (t) => {
  const { clock, store } = setup();
  store.setCadence(true, 20 * INTERVAL);
  store.record(0, 1, ICMP, V4, o('refused'), 0, clock.monotonic());
  const nonOk = (currentAt?: number) => {
    const out: number[] = [];
    store.forEachNonOk(V4, 1 << ICMP, [], (_s, d) => out.push(d), currentAt);
    return out;
  };
  t.same(nonOk(clock.monotonic()), [1]);
  for (let r = 0; r < 5; r++) {
    clock.advance(INTERVAL);
    store.record(0, 2, ICMP, V4, o('ok'), 400, clock.monotonic());
  }
  store.sweep(clock.monotonic());
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic()), CODE_FAILING, 'still failing on its cadence');
  t.equal(store.code(0, 1, ICMP, V4, clock.monotonic(), true), CODE_UNKNOWN, 'but not current');
  t.same(nonOk(clock.monotonic()), [], 'not among the current non-ok cells');
  t.same(nonOk(), [1], 'among all of them');
  t.equal(PAIR_KINDS[ICMP], 'icmp');
});
