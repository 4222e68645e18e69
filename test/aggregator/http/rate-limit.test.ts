// The HTTP rate limit: weighted requests in a one-minute window per client,
// keyed by @fastify/rate-limit per IPv4 address and IPv6 /64; on a hand-driven
// clock, through app.inject() from chosen addresses.
import t from 'tap';
import { COMPACT_MATRIX_WEIGHT, FULL_MATRIX_WEIGHT, requestWeight, WeightedWindows } from '../../../aggregator/http/rate-limit.js';
import { core } from './core-fixture.js';

t.test('weighted windows: what fits is taken, what does not is refused and takes nothing', async (t) => {
  let now = 0;
  const refused: string[] = [];
  const w = new WeightedWindows({ now: () => now, maxClients: 3, onFirstRefusal: (c) => refused.push(c) });
  t.same(w.take('192.0.2.1', 10, 60_000, 12), { current: 10, ttl: 60_000 });
  now = 15_000;
  t.same(w.take('192.0.2.1', 10, 60_000, 12), { current: 20, ttl: 45_000 }, 'over: refused');
  t.same(w.take('192.0.2.1', 2, 60_000, 12), { current: 12, ttl: 45_000 }, 'the refusal took nothing: 2 still fit');
  t.same(w.take('192.0.2.1', 1, 60_000, 12), { current: 13, ttl: 45_000 });
  t.same(refused, ['192.0.2.1'], 'the first refusal of the window is reported, once');
  t.same(w.take('192.0.2.2', 1, 60_000, 12), { current: 1, ttl: 60_000 }, 'another client, its own window');
  t.same(w.take('192.0.2.3', 50, 60_000, 12), { current: 12, ttl: 60_000 }, 'a weight over the limit costs the limit, so it can pass');
  now = 60_000;
  t.same(w.take('192.0.2.1', 10, 60_000, 12), { current: 10, ttl: 60_000 }, 'a new window');
  w.take('192.0.2.4', 1, 60_000, 12);
  t.equal(w.clients, 3, 'bounded: the least recently seen client (.2) is forgotten');
  t.same(w.take('192.0.2.2', 1, 60_000, 12), { current: 1, ttl: 60_000 }, 'and starts afresh');
});

t.test('weights by route and form', async (t) => {
  t.equal(requestWeight('/api/v1/matrix', {}), FULL_MATRIX_WEIGHT);
  t.equal(requestWeight('/api/v1/matrix', { format: 'full' }), FULL_MATRIX_WEIGHT);
  t.equal(requestWeight('/api/v1/matrix', { format: 'compact' }), COMPACT_MATRIX_WEIGHT);
  t.ok(FULL_MATRIX_WEIGHT > COMPACT_MATRIX_WEIGHT);
  t.equal(requestWeight('/api/v1/matrix/zones', {}), 2);
  t.equal(requestWeight('/api/v1/pairs/:src/:dst', {}), 1);
  t.equal(requestWeight('/api/v1/findings', {}), 1);
  t.equal(requestWeight('/metrics', {}), 1, '/metrics is limited, as before (open without the token: Prometheus)');
  t.equal(requestWeight('/healthz', {}), 0);
  t.equal(requestWeight('/readyz', {}), 0);
  t.equal(requestWeight(undefined, {}), 1, 'an unknown route');
});

const from = (remoteAddress: string, url: string) => ({ url, remoteAddress });

t.test('through the API: weights, IPv6 /64 keying, 429 in the catalogue shape with Retry-After, counted', async (t) => {
  const refusals: string[] = [];
  const c = await core({ rateLimitPerMinute: 12, onRefused: (r) => refusals.push(r) });
  t.teardown(() => c.app.close());
  const A = '2001:db8:1:2::10';
  // One full matrix (10) and one compact (2) use the minute of 12.
  t.equal((await c.app.inject(from(A, '/api/v1/matrix?kind=tcp'))).statusCode, 200);
  t.equal((await c.app.inject(from(A, '/api/v1/matrix?kind=tcp&format=compact'))).statusCode, 200);
  // Another address of the same /64 is the same client.
  const over = await c.app.inject(from('2001:db8:1:2:ffff:ffff:ffff:1', '/api/v1/findings'));
  t.equal(over.statusCode, 429, 'same /64: over');
  t.same(over.json(), { statusCode: 429, code: 'RATE_LIMITED', error: 'Too Many Requests', message: 'more than 12 requests per minute from this address: retry after the Retry-After seconds' });
  t.equal(over.headers['retry-after'], '60');
  t.equal((await c.app.inject(from('2001:db8:1:3::10', '/api/v1/findings'))).statusCode, 200, 'another /64: another client');
  t.equal((await c.app.inject(from(A, '/healthz'))).statusCode, 200, '/healthz is never limited');
  t.equal((await c.app.inject(from(A, '/readyz'))).statusCode, 200, '/readyz is never limited');
  t.same(refusals, ['rate_limited']);
  // Half a minute on: the same window, Retry-After says what is left of it.
  c.clock.advance(30_000);
  t.equal((await c.app.inject(from(A, '/api/v1/nodes'))).headers['retry-after'], '30');
  c.clock.advance(30_000);
  t.equal((await c.app.inject(from(A, '/api/v1/nodes'))).statusCode, 200, 'a new minute');

  // IPv4: one address, one client; an IPv4-mapped IPv6 peer is that address.
  for (let i = 0; i < 6; i++) t.equal((await c.app.inject(from('192.0.2.7', '/api/v1/matrix?format=compact'))).statusCode, 200);
  t.equal((await c.app.inject(from('::ffff:192.0.2.7', '/api/v1/nodes'))).statusCode, 429, 'mapped: the same client');
  t.equal((await c.app.inject(from('192.0.2.8', '/api/v1/nodes'))).statusCode, 200, 'the next address: another client');
  // What is left still serves a lighter call: a refused full matrix took nothing.
  t.equal((await c.app.inject(from('192.0.2.9', '/api/v1/matrix/zones'))).statusCode, 200);
  t.equal((await c.app.inject(from('192.0.2.9', '/api/v1/matrix?format=compact'))).statusCode, 200);
  t.equal((await c.app.inject(from('192.0.2.9', '/api/v1/matrix'))).statusCode, 429, '2 + 2 + 10 > 12');
  for (let i = 0; i < 8; i++) t.equal((await c.app.inject(from('192.0.2.9', '/api/v1/nodes'))).statusCode, 200, `light call ${i + 1} of 8 still fits`);
  t.equal((await c.app.inject(from('192.0.2.9', '/api/v1/nodes'))).statusCode, 429, 'and no more');
});
