// Typed-array helpers: growing keeps what was there; orderBy orders like a
// stable comparator sort, on the typed-array path and on its fallback.
import t from 'tap';
import { grown, orderBy } from '../../../aggregator/matrix/typed.js';
import { mulberry32 } from '../../helpers/random.js';

t.test('grown keeps the type and the values, zeros after them', async (t) => {
  const a = Int32Array.from([3, -1, 7]);
  const b = grown(a, 6);
  t.ok(b instanceof Int32Array);
  t.same([...b], [3, -1, 7, 0, 0, 0]);
  t.same([...grown(Float64Array.from([0.5]), 2)], [0.5, 0]);
});

t.test('orderBy equals a stable sort by key, ties in their order, with keys small and large (seeded)', async (t) => {
  const rand = mulberry32(20261207);
  for (const [count, range] of [[0, 10], [1, 10], [500, 7], [5_000, 1_000_000], [300, 2 ** 50]] as const) {
    const items = Array.from({ length: count }, (_, i) => ({ i, k: Math.floor(rand() * Math.min(range, 2 ** 40)) }));
    const want = [...items].sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.i);
    t.same(orderBy(items, (x) => x.k, range).map((x) => x.i), want, `${count} items, keys below ${range}${range * count >= Number.MAX_SAFE_INTEGER ? ' (comparator fallback)' : ''}`);
  }
});
