// Reconnect backoff: exponential from the initial delay, capped, with jitter
// in [½, 1] of the base delay.
import t from 'tap';
import { backoffDelay } from '../../../agent/report/connection.js';

t.test('exponential from the initial delay', async (t) => {
  const max = () => 1 - Number.EPSILON;
  t.equal(backoffDelay(1, 250, 30_000, () => 0), 125);
  t.equal(backoffDelay(2, 250, 30_000, () => 0), 250);
  t.equal(backoffDelay(3, 250, 30_000, () => 0), 500);
  t.equal(backoffDelay(4, 250, 30_000, () => 0), 1_000);
  t.equal(backoffDelay(1, 250, 30_000, () => 0.5), 187.5);
  t.ok(backoffDelay(1, 250, 30_000, max) < 250);
  t.ok(backoffDelay(1, 250, 30_000, max) > 249.99);
  for (let a = 1; a <= 7; a++) t.equal(backoffDelay(a + 1, 250, 1e9, () => 0), 2 * backoffDelay(a, 250, 1e9, () => 0), `attempt ${a + 1} doubles`);
});

t.test('capped at the maximum', async (t) => {
  t.equal(backoffDelay(8, 250, 30_000, () => 0), 15_000, '250 × 2^7 = 32000 capped to 30000, halved by jitter 0');
  t.equal(backoffDelay(8, 250, 30_000, () => 1), 30_000);
  for (const a of [9, 20, 31, 32, 100, 1_000, Number.MAX_SAFE_INTEGER]) {
    const d = backoffDelay(a, 250, 30_000, () => 0.999);
    t.ok(d >= 15_000 && d <= 30_000, `attempt ${a}: ${d}`);
    t.ok(Number.isFinite(d));
  }
  t.equal(backoffDelay(1, 5_000, 1_000, () => 1), 1_000, 'an initial delay above the cap is capped too');
});

t.test('jitter stays within [½, 1] of the base for any random value in [0, 1)', async (t) => {
  let seed = 12345;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let a = 1; a <= 15; a++) {
    const base = Math.min(30_000, 250 * 2 ** (a - 1));
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(a, 250, 30_000, rand);
      t.ok(d >= base / 2 && d <= base, `attempt ${a}: ${d} in [${base / 2}, ${base}]`);
    }
  }
});

t.test('the random source is consulted once per delay', async (t) => {
  let calls = 0;
  backoffDelay(3, 100, 10_000, () => {
    calls++;
    return 0.3;
  });
  t.equal(calls, 1);
});
