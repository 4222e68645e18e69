// The token bucket per client address, on a hand-driven clock.
import t from 'tap';
import { RateLimiter } from '../../../aggregator/http/rate-limit.js';

t.test('a burst of perMinute, then one per 60/perMinute seconds', async (t) => {
  let now = 0;
  const rl = new RateLimiter({ perMinute: 6, now: () => now });
  for (let i = 0; i < 6; i++) t.same(rl.take('192.0.2.1'), { allowed: true });
  t.same(rl.take('192.0.2.1'), { allowed: false, retryAfterMs: 10_000, first: true });
  t.same(rl.take('192.0.2.1'), { allowed: false, retryAfterMs: 10_000, first: false }, 'logged once per burst');
  t.same(rl.take('192.0.2.2'), { allowed: true }, 'another address has its own bucket');
  now = 4_000;
  t.match(rl.take('192.0.2.1'), { allowed: false, retryAfterMs: 6_000 });
  now = 10_000;
  t.same(rl.take('192.0.2.1'), { allowed: true }, 'a token back after 10 s');
  t.match(rl.take('192.0.2.1'), { allowed: false, first: true }, 'a new burst is logged again');
  now = 10_000 + 3_600_000;
  for (let i = 0; i < 6; i++) t.same(rl.take('192.0.2.1'), { allowed: true }, 'refilled to the burst, no more');
  t.match(rl.take('192.0.2.1'), { allowed: false });
});

t.test('the address map is bounded: idle clients go first, then the oldest', async (t) => {
  let now = 0;
  const rl = new RateLimiter({ perMinute: 2, now: () => now, maxClients: 3 });
  rl.take('198.51.100.1');
  rl.take('198.51.100.1');
  rl.take('198.51.100.2');
  now = 30_000;
  rl.take('198.51.100.3');
  rl.take('198.51.100.3');
  t.equal(rl.clients, 3);
  now = 60_000;
  // .2 and .1 have refilled (idle): they go; .3 (empty at 30 s, half full at 60 s) stays.
  rl.take('198.51.100.4');
  t.equal(rl.clients, 2);
  rl.take('198.51.100.5');
  rl.take('198.51.100.6');
  t.ok(rl.clients <= 3, `at most 3 tracked (${rl.clients})`);
});
