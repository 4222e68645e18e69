import t from 'tap';
import { jitteredBackoff } from '../../../aggregator/kubernetes/backoff.js';

t.test('jitteredBackoff doubles up to the cap, jitters within [base/2, base], resets', async (t) => {
  const low = jitteredBackoff(100, 1000, () => 0);
  t.same([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500]);
  const high = jitteredBackoff(100, 1000, () => 1);
  t.same([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000]);
  high.reset();
  t.equal(high.next(), 100);
  const long = jitteredBackoff(100, 30_000, () => 1);
  for (let i = 0; i < 200; i++) long.next();
  t.equal(long.next(), 30_000, 'no overflow after many attempts');
});
