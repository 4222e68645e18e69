// GET /api/v1/matrix and /api/v1/matrix/zones: the compact form against the
// full one, ETags per evaluation and 304s, one build per evaluation whatever
// the number of requests, the cache's byte bound, compression negotiated over
// a real socket, the zone summary, unknown parameters, the default kind.
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { cellBody } from '../../../../aggregator/http/routes/matrix.js';
import { core, NODES } from '../core-fixture.js';

type Cell = { status: string } & Record<string, unknown>;

t.test('the compact form has the full form\'s statuses, and its cells where they are not ok', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const full = (await c.app.inject('/api/v1/matrix?kind=tcp')).json();
  const res = await c.app.inject('/api/v1/matrix?kind=tcp&format=compact');
  t.equal(res.statusCode, 200);
  const compact = res.json();
  t.same(compact.rows, ['-df', 'o-f', 'oo-'], 'a → b degraded (80 ms), everyone → c failing (refused)');
  const { rows: _rows, details: _details, format, ...header } = compact;
  const { cells: _cells, ...fullHeader } = full;
  t.same(header, fullHeader, 'the same header, nodes and summary');
  t.equal(format, 'compact');
  const letters: Record<string, string> = { ok: 'o', degraded: 'd', failing: 'f', unknown: 'u' };
  full.cells.forEach((row: (Cell | null)[], s: number) =>
    row.forEach((cell, d) => {
      const letter = compact.rows[s][d];
      if (cell === null) return t.equal(letter, '-', 'the diagonal');
      t.equal(letter, letters[cell.status], `${s} → ${d}`);
      if (cell.status === 'ok') t.equal(compact.details[s]?.[d], undefined, `${s} → ${d}: no object for an ok cell`);
      else t.same(compact.details[s][d], cell, `${s} → ${d}: the full form's cell`);
    }),
  );
  // A kind nobody probes: every cell unknown without data, so no objects at all.
  const icmp = (await c.app.inject('/api/v1/matrix?kind=icmp&format=compact')).json();
  t.same(icmp.rows, ['-uu', 'u-u', 'uu-']);
  t.same(icmp.details, {});
  // Stale cells are unknown with data (a last outcome): they keep their object.
  c.clock.advance(20_000);
  c.evaluate();
  const stale = (await c.app.inject('/api/v1/matrix?kind=tcp&format=compact')).json();
  t.same(stale.rows, ['-uu', 'u-u', 'uu-']);
  t.match(stale.details[0][2], { status: 'unknown', lastOutcome: 'refused' });
});

t.test('the compact body is the text JSON.stringify gives of its object form, byte for byte (it is written by hand)', async (t) => {
  const c = await core({}, 12);
  t.teardown(() => c.app.close());
  const res = await c.app.inject('/api/v1/matrix?kind=tcp&format=compact');
  const m = c.query.compact('tcp', 'ipv4');
  const details = Object.fromEntries([...m.details].map(([s, row]) => [s, Object.fromEntries([...row].map(([d, cell]) => [d, cellBody(cell)]))]));
  t.ok(Object.keys(details).length > 10, 'details in 14 rows: row keys of one and two digits');
  const object = { kind: 'tcp', family: 'ipv4', format: 'compact', windowSeconds: 60, generatedAt: new Date(c.clock.now()).toISOString(), nodes: m.nodes.map((n) => n.name), rows: m.rows, details, summary: m.summary };
  t.equal(res.body, JSON.stringify(object));
});

t.test('an ETag per evaluation: If-None-Match is a 304 until the next one', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const first = await c.app.inject('/api/v1/matrix?kind=tcp');
  const etag = first.headers.etag as string;
  t.match(etag, /^W\/"[0-9a-f]{8}-0-matrix\.tcp\.ipv4\.full"$/);
  t.equal(first.headers['cache-control'], 'no-cache');
  const again = await c.app.inject({ url: '/api/v1/matrix?kind=tcp', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
  t.equal(again.headers.etag, etag);
  // The cells would say otherwise now, but the body is the evaluation's until the next one.
  c.clock.advance(20_000);
  t.equal((await c.app.inject('/api/v1/matrix?kind=tcp')).body, first.body, 'same ETag, same bytes');
  t.equal((await c.app.inject({ url: '/api/v1/matrix?kind=tcp', headers: { 'if-none-match': `"other", ${etag.slice(2)}` } })).statusCode, 304, 'weak comparison, in a list');
  t.equal((await c.app.inject({ url: '/api/v1/matrix?kind=tcp&format=compact', headers: { 'if-none-match': etag } })).statusCode, 200, 'another form has another ETag');
  c.evaluate();
  const next = await c.app.inject({ url: '/api/v1/matrix?kind=tcp', headers: { 'if-none-match': etag } });
  t.equal(next.statusCode, 200, 'the next evaluation: a new body');
  t.not(next.headers.etag, etag);
  t.match(next.headers.etag, /-1-matrix\.tcp\.ipv4\.full"$/);
  t.same(next.json().summary, { ok: 0, degraded: 0, failing: 0, unknown: 6 });
  const zones = await c.app.inject('/api/v1/matrix/zones?kind=tcp');
  t.equal((await c.app.inject({ url: '/api/v1/matrix/zones?kind=tcp', headers: { 'if-none-match': zones.headers.etag as string } })).statusCode, 304, 'the zone summary too');
});

t.test('N requests between two evaluations cost one build per kind, family and form', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const bodies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.app.inject(`/api/v1/matrix?kind=tcp${i % 2 ? '&format=compact' : ''}`)));
  t.ok(bodies.every((b) => b.statusCode === 200));
  t.equal(c.builds(), 2, 'one full, one compact');
  t.equal(new Set(bodies.filter((_, i) => i % 2 === 0).map((b) => b.body)).size, 1, 'every full body the same');
  t.equal(await c.metric('netmatrix_http_response_cache_requests_total', 'result="miss"'), 2);
  t.equal(await c.metric('netmatrix_http_response_cache_requests_total', 'result="hit"'), 48);
  await c.app.inject('/api/v1/matrix?kind=tcp&family=ipv4');
  t.equal(c.builds(), 2, 'the explicit default family is the same body');
  c.evaluate();
  for (let i = 0; i < 10; i++) await c.app.inject('/api/v1/matrix?kind=tcp');
  t.equal(c.builds(), 3, 'one more after the evaluation');
  t.ok((await c.metric('netmatrix_http_response_cache_bytes')) > 0);
});

t.test('the byte bound: over it, bodies are evicted or not kept, and each time is counted', async (t) => {
  const full = (await (async () => {
    const c = await core();
    t.teardown(() => c.app.close());
    return (await c.app.inject('/api/v1/matrix?kind=tcp')).rawPayload.length;
  })());
  // Room for one full body, not two.
  const c = await core({ responseCacheBytes: Math.floor(full * 1.5) });
  t.teardown(() => c.app.close());
  t.equal(await c.metric('netmatrix_http_response_cache_max_bytes'), Math.floor(full * 1.5));
  await c.app.inject('/api/v1/matrix?kind=tcp');
  await c.app.inject('/api/v1/matrix?kind=tcp&family=ipv6');
  t.equal(await c.metric('netmatrix_http_response_cache_bound_hits_total', 'action="evicted"'), 1, 'the ipv4 body made room for the ipv6 one');
  t.ok((await c.metric('netmatrix_http_response_cache_bytes')) <= Math.floor(full * 1.5));
  await c.app.inject('/api/v1/matrix?kind=tcp');
  t.equal(c.builds(), 3, 'evicted: built again');

  const tiny = await core({ responseCacheBytes: 100 });
  t.teardown(() => tiny.app.close());
  const a = await tiny.app.inject('/api/v1/matrix?kind=tcp');
  const b = await tiny.app.inject('/api/v1/matrix?kind=tcp');
  t.equal(b.statusCode, 200);
  t.same(b.json().summary, a.json().summary);
  t.equal(tiny.builds(), 2, 'a body over the whole bound is built per request');
  t.equal(await tiny.metric('netmatrix_http_response_cache_bound_hits_total', 'action="not_cached"'), 2);
  t.equal(await tiny.metric('netmatrix_http_response_cache_bytes'), 0);
});

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}
function get(url: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

t.test('compression is negotiated per Accept-Encoding, over a real socket, and each variant made once', async (t) => {
  const c = await core({}, 5);
  t.teardown(() => c.app.close());
  const base = await c.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${base}/api/v1/matrix?kind=tcp`;
  const plain = await get(url, {});
  t.ok(plain.body.length > 4096, `a body worth compressing (${plain.body.length} bytes)`);
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
  t.equal(plain.headers.vary, 'accept-encoding');
  const identity = plain.body.toString();
  for (const [accept, encoding] of [
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['*', 'gzip'],
    ['deflate', undefined],
    ['identity', undefined],
  ] as const) {
    const r = await get(url, { 'accept-encoding': accept });
    t.equal(r.status, 200);
    t.equal(r.headers['content-encoding'], encoding, `Accept-Encoding: ${accept}`);
    const text = encoding === 'gzip' ? gunzipSync(r.body).toString() : encoding === 'br' ? brotliDecompressSync(r.body).toString() : r.body.toString();
    t.equal(text, identity, `${accept}: the same body`);
    t.equal(r.headers.etag, plain.headers.etag, 'one ETag for every encoding (weak)');
  }
  t.equal(await c.metric('netmatrix_http_response_cache_compressions_total'), 2, 'gzip and br once each, for eight compressed answers');
  t.equal(c.builds(), 1);
  // A route outside the cache is compressed by @fastify/compress as it goes.
  const docs = await get(`${base}/docs/json`, { 'accept-encoding': 'gzip' });
  t.equal(docs.headers['content-encoding'], 'gzip');
  t.ok(JSON.parse(gunzipSync(docs.body).toString()).paths['/api/v1/matrix/zones']);
});

t.test('/api/v1/matrix/zones: per ordered zone pair, the cells by status', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const res = await c.app.inject('/api/v1/matrix/zones?kind=tcp');
  t.equal(res.statusCode, 200);
  const z = res.json();
  t.match(z, { kind: 'tcp', family: 'ipv4', windowSeconds: 60 });
  t.same(z.zones, [{ name: 'z1', nodes: 2 }, { name: 'z2', nodes: 1 }]);
  t.same(z.pairs, [
    { srcZone: 'z1', dstZone: 'z1', pairs: 2, counts: { ok: 1, degraded: 1, failing: 0, unknown: 0 } },
    { srcZone: 'z1', dstZone: 'z2', pairs: 2, counts: { ok: 0, degraded: 0, failing: 2, unknown: 0 } },
    { srcZone: 'z2', dstZone: 'z1', pairs: 2, counts: { ok: 2, degraded: 0, failing: 0, unknown: 0 } },
  ]);
  t.equal(NODES.length, 3, 'no z2 → z2 pair: node-c alone, and a node is no pair with itself');
});

t.test('unknown query parameters are refused, naming them, on every route', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const typo = await c.app.inject('/api/v1/matrix?kind=tcp&fromat=compact');
  t.equal(typo.statusCode, 400);
  t.same(typo.json(), { statusCode: 400, code: 'INVALID_REQUEST', error: 'Bad Request', message: 'invalid request: unknown query parameter "fromat": expected kind, family, format' });
  for (const [url, name, expected] of [
    ['/api/v1/matrix/zones?format=compact', 'format', 'expected kind, family'],
    ['/api/v1/nodes?verbose=1', 'verbose', 'this route takes none'],
    ['/api/v1/pairs/node-a/node-b?kind=tcp', 'kind', 'expected family'],
    ['/api/v1/findings?severity=critical', 'severity', 'expected state, kind'],
    ['/api/v1/dns?node=node-a', 'node', 'this route takes none'],
    ['/healthz?x=1', 'x', 'this route takes none'],
  ] as const) {
    const r = await c.app.inject(url);
    t.equal(r.statusCode, 400, url);
    t.equal(r.json().message, `invalid request: unknown query parameter "${name}": ${expected}`, url);
  }
  const bad = await c.app.inject('/api/v1/matrix?format=tiny');
  t.match(bad.json(), { statusCode: 400, code: 'INVALID_REQUEST', message: /format/ });
});

t.test('the default kind is the first planned of icmp, tcp, http, node', async (t) => {
  for (const [planned, expected] of [
    [['tcp'], 'tcp'],
    [['http', 'icmp'], 'icmp'],
    [['node', 'http'], 'http'],
    [['mtu'], 'mtu'],
  ] as const) {
    const c = await core({ probeKinds: planned });
    t.teardown(() => c.app.close());
    t.equal((await c.app.inject('/api/v1/matrix?format=compact')).json().kind, expected, `--probe-kinds ${planned.join(',')}`);
    t.equal((await c.app.inject('/api/v1/matrix/zones')).json().kind, expected);
  }
});

t.test('the OpenAPI document describes both forms, the 304 and the zones route', async (t) => {
  const c = await core();
  t.teardown(() => c.app.close());
  const doc = (await c.app.inject('/docs/json')).json();
  const matrix = doc.paths['/api/v1/matrix'].get;
  t.ok(matrix.responses['304'], '304 documented');
  t.match(JSON.stringify(matrix.responses['200']), /"compact"/);
  t.same(matrix.parameters.map((p: { name: string }) => p.name).sort(), ['family', 'format', 'kind']);
  t.ok(doc.paths['/api/v1/matrix/zones'].get.responses['200']);
});
