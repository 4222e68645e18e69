// Window statistics: nearest-rank percentiles and the allocation-free sort.
import t from 'tap';
import { lossSinceOutage, OUTAGE_RUN, percentile, sortByTime, sortPrefix } from '../../../aggregator/matrix/window.js';

t.test('nearest-rank percentile', async (t) => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  t.equal(percentile(v, 10, 0.5), 5, 'p50 of 10 is the 5th');
  t.equal(percentile(v, 10, 0.99), 10, 'p99 of 10 is the 10th');
  t.equal(percentile(v, 10, 0.9), 9);
  t.equal(percentile(v, 10, 0.91), 10, 'rank rounds up');
  t.equal(percentile(v, 10, 1), 10);
  t.equal(percentile(v, 10, 0), 1, 'rank is at least 1');
  t.equal(percentile(v, 4, 0.5), 2, 'only the first `count` values count');
  t.equal(percentile(v, 4, 0.99), 4);
  t.equal(percentile([42], 1, 0.5), 42);
  t.equal(percentile([42], 1, 0.99), 42);
  t.equal(percentile([1, 2, 3], 3, 0.5), 2, 'p50 of an odd count is the middle value');
  t.ok(Number.isNaN(percentile([], 0, 0.5)), 'no values: NaN');
  t.ok(Number.isNaN(percentile([1, 2], 0, 0.5)), 'count 0: NaN');
});

t.test('p99 is the maximum for every count a ring can hold (≤ 64)', async (t) => {
  for (let n = 1; n <= 64; n++) {
    const v = Array.from({ length: n }, (_, i) => i + 1);
    t.equal(percentile(v, n, 0.99), n, `n=${n}`);
    t.equal(percentile(v, n, 0.5), Math.ceil(n / 2), `p50 n=${n}`);
  }
});

t.test('sortPrefix sorts the first count values only', async (t) => {
  const a = Float64Array.from([5, 3, 9, 1, 7, 0, -1]);
  sortPrefix(a, 5);
  t.same([...a], [1, 3, 5, 7, 9, 0, -1]);
  const b = Float64Array.from([2, 1]);
  sortPrefix(b, 0);
  t.same([...b], [2, 1], 'count 0 leaves it alone');
  sortPrefix(b, 1);
  t.same([...b], [2, 1], 'count 1 leaves it alone');
  const c = Float64Array.from([3, 1, 2, 1, 3, 0.5]);
  sortPrefix(c, 6);
  t.same([...c], [0.5, 1, 1, 2, 3, 3], 'duplicates and fractions');
});

t.test('sortPrefix agrees with Array.prototype.sort', async (t) => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1000;
  for (let trial = 0; trial < 50; trial++) {
    const n = Math.floor(rand() / 15);
    const a = Float64Array.from({ length: n }, rand);
    const want = [...a].sort((x, y) => x - y);
    sortPrefix(a, n);
    t.same([...a], want);
  }
});

t.test('sortByTime sorts samples by time, keeping each sample\'s outcome with it', async (t) => {
  const ticks = Float64Array.from([30, 10, 20, 10, 99]);
  const failed = Uint8Array.from([1, 0, 1, 1, 0]);
  sortByTime(ticks, failed, 4);
  t.same([...ticks], [10, 10, 20, 30, 99]);
  t.same([...failed], [0, 1, 1, 1, 0], 'stable for equal times; beyond n untouched');
  const one = Float64Array.from([5]);
  const f1 = Uint8Array.from([1]);
  sortByTime(one, f1, 1);
  t.same([...f1], [1]);
});

const loss = (bits: number[]) => lossSinceOutage(Uint8Array.from(bits), bits.length);
const outage = (): number[] => Array.from({ length: OUTAGE_RUN }, () => 1);

t.test('lossSinceOutage: outages and the newest fault are events, recurring failures are loss', async (t) => {
  t.ok(OUTAGE_RUN >= 2, 'a single failure is loss, not an outage');
  t.same(loss([]), { samples: 0, failed: 0 });
  t.same(loss([0, 0, 0]), { samples: 3, failed: 0 });
  t.same(loss([0, 1, 0, 0]), { samples: 3, failed: 0 }, 'a single fault that has cleared is one event, not a loss rate');
  t.same(loss([0, 1, 0, 1, 0]), { samples: 4, failed: 1 }, 'recurring failures count as loss (all but the newest event)');
  t.same(loss([0, ...outage(), 0, 0]), { samples: 2, failed: 0 }, 'after an ended outage only what follows counts');
  t.same(loss([0, ...outage(), 1, 0]), { samples: 1, failed: 0 }, 'a longer run is one outage');
  t.same(loss([0, ...outage(), 0, 1, 0]), { samples: 2, failed: 0 }, 'one fault after the outage is one event');
  t.same(loss([0, ...outage(), 0, 1, 0, 1, 0]), { samples: 4, failed: 1 }, 'recurring loss after the outage counts');
});

t.test('lossSinceOutage: the current run has not ended', async (t) => {
  t.same(loss([0, 0, ...outage()]), { samples: 2 + OUTAGE_RUN, failed: OUTAGE_RUN }, 'an ongoing outage is all loss');
  t.same(loss([1, 1, 1]), { samples: 3, failed: 3 });
  t.same(loss([0, ...outage(), 0, ...outage()]), { samples: 1 + OUTAGE_RUN, failed: OUTAGE_RUN }, 'measured since the previous outage ended');
});

t.test('lossSinceOutage: only the newest ended outage bounds the count', async (t) => {
  t.same(loss([...outage(), 0, 1, 0, ...outage(), 0, 1, 0, 0]), { samples: 3, failed: 0 });
  t.same(loss([...outage(), 0, 1, 0, ...outage(), 0, 1, 0, 1, 0]), { samples: 4, failed: 1 });
});

t.test('lossSinceOutage: failures at the start of the window may be the tail of an outage', async (t) => {
  t.same(loss([1, 0, 0, 0]), { samples: 3, failed: 0 });
  t.same(loss([1, 0, 1, 0]), { samples: 2, failed: 0 });
  t.same(loss([1, 0, 1, 0, 1, 0]), { samples: 4, failed: 1 });
});
