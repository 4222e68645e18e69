// The evaluation cache on its own: one build per key and evaluation, the byte
// bound (least recently used first, a body over the bound not kept), each hit
// of the bound counted, compressed variants made once and shared.
import t from 'tap';
import { EvaluationCache } from '../../../aggregator/http/evaluation-cache.js';

const body = (n: number, fill = 'x') => () => Buffer.alloc(n, fill);

t.test('one build per key and evaluation; a new evaluation drops the old bodies', async (t) => {
  const c = new EvaluationCache({ maxBytes: 1000 });
  let builds = 0;
  const build = () => {
    builds++;
    return Buffer.from(`body ${builds}`);
  };
  const a = c.get('k', 0, build);
  for (let i = 0; i < 5; i++) t.equal(c.get('k', 0, build), a);
  t.equal(builds, 1);
  t.same(c.stats, { hits: 5, misses: 1, compressions: 0, evicted: 0, notCached: 0 });
  t.equal(c.bytes, 6);
  const b = c.get('k', 1, build);
  t.equal(b.identity.toString(), 'body 2');
  t.equal(c.get('other', 1, body(10)).held, true);
  t.equal(c.size, 2);
  t.equal(c.get('other', 2, body(10)).held, true);
  t.equal(c.size, 1, 'evaluation 2: nothing of evaluation 1 is kept');
  t.equal(c.bytes, 10);
  t.equal(c.stats.evicted, 0, 'dropping an earlier evaluation is no hit of the bound');
});

t.test('the bound in bytes: least recently used first, counted; a body over it is not kept', async (t) => {
  const hits: string[] = [];
  const c = new EvaluationCache({ maxBytes: 100, onBoundHit: (action, key, bytes) => hits.push(`${action} ${key} ${bytes}`) });
  c.get('a', 0, body(40));
  c.get('b', 0, body(40));
  c.get('a', 0, body(40)); // a is now the most recent
  c.get('c', 0, body(40));
  t.same(hits, ['evicted b 40']);
  t.equal(c.bytes, 80);
  const big = c.get('big', 0, body(101));
  t.equal(big.held, false);
  t.equal(big.identity.length, 101, 'served all the same');
  t.same(hits, ['evicted b 40', 'not_cached big 101']);
  t.same(c.stats, { hits: 1, misses: 4, compressions: 0, evicted: 1, notCached: 1 });
  t.equal(c.get('big', 0, body(101)).held, false);
  t.equal(c.stats.misses, 5, 'built again for the next request');
});

t.test('compressed variants: once per body and encoding, shared by concurrent askers, within the bound', async (t) => {
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = new EvaluationCache({
    maxBytes: 200,
    compress: async (encoding, b) => {
      calls++;
      await gate;
      return Buffer.from(`${encoding}:${b.length}`);
    },
  });
  const e = c.get('k', 0, body(100));
  const waiting = [c.encoded(e, 'gzip'), c.encoded(e, 'gzip'), c.encoded(e, 'br')];
  t.equal(await c.encoded(e, 'identity'), e.identity);
  release();
  const [g1, g2, br] = await Promise.all(waiting);
  t.equal(g1!.toString(), 'gzip:100');
  t.equal(g2, g1, 'the same buffer');
  t.equal(br!.toString(), 'br:100');
  t.equal(calls, 2);
  t.equal(await c.encoded(e, 'gzip'), g1, 'kept');
  t.equal(calls, 2);
  t.equal(c.bytes, 100 + 8 + 6);
  t.equal(c.stats.compressions, 2);
  // A variant that arrives after the next evaluation is handed out, not kept.
  const old = c.get('k', 0, body(100));
  const late = c.encoded(old, 'gzip');
  t.equal(await late, g1);
  const fresh = c.get('k', 1, body(100));
  t.equal(c.bytes, 100);
  const p = c.encoded(fresh, 'br');
  c.get('k', 2, body(100));
  await p;
  t.equal(c.bytes, 100, 'the variant of a dropped body is not counted');
});
