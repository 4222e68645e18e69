// Percentiles over a cell's status window: nearest rank and the allocation-free sort.
import t from 'tap';
import { MAX_STATUS_SAMPLES } from '../../../aggregator/matrix/rule.js';
import { percentile, sortPrefix } from '../../../aggregator/matrix/window.js';

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

t.test(`nearest rank for every count a status window can hold (≤ ${MAX_STATUS_SAMPLES}): p99 is the maximum of fewer than 100 values`, async (t) => {
  for (let n = 1; n <= MAX_STATUS_SAMPLES; n++) {
    const v = Array.from({ length: n }, (_, i) => i + 1);
    t.equal(percentile(v, n, 0.99), n < 100 ? n : Math.ceil((99 * n) / 100), `p99 n=${n}`);
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
    const n = Math.floor((rand() / 1000) * (MAX_STATUS_SAMPLES + 1));
    const a = Float64Array.from({ length: n }, rand);
    const want = [...a].sort((x, y) => x - y);
    sortPrefix(a, n);
    t.same([...a], want);
  }
});
