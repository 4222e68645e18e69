// The HTTP API's guard on a real aggregator over real sockets: the bearer
// token on every route but /healthz, /readyz and /metrics, the rate limit per
// client (weighted: rate-limit.test.ts), the URL length bound; each refusal in the catalogue shape,
// counted, and logged without the token.
import { request } from 'node:http';
import t from 'tap';
import { MAX_URL_LENGTH } from '../../../aggregator/http/app.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';

interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  json(): Record<string, unknown>;
}

/** GET from a chosen loopback address, so tests can be different clients. */
function get(base: string, path: string, o: { token?: string; authorization?: string; from?: string } = {}): Promise<Res> {
  const authorization = o.authorization ?? (o.token !== undefined ? `Bearer ${o.token}` : undefined);
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: authorization ? { authorization } : {}, localAddress: o.from ?? '127.0.0.1', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function counter(metrics: string, reason: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`netmatrix_http_requests_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

const TOKEN = 'api-token-0a1b2c3d4e5f';

t.test('the API token', async (t) => {
  const sink = logSink();
  const agg = await testAggregator({}, sink.log, 0, { NETMATRIX_API_TOKEN: TOKEN });
  t.teardown(() => agg.stop());
  const base = agg.httpUrl;

  for (const path of ['/api/v1/nodes', '/api/v1/matrix?kind=tcp', '/api/v1/findings', '/api/v1/dns', '/docs/json', '/api/v1/no-such-route']) {
    t.test(`${path} without the token is 401`, async (t) => {
      const r = await get(base, path);
      t.equal(r.status, 401);
      t.equal(r.headers['www-authenticate'], 'Bearer realm="netmatrix"');
      t.same(r.json(), { statusCode: 401, code: 'UNAUTHORIZED', error: 'Unauthorized', message: 'this API needs "Authorization: Bearer <token>" with the aggregator\'s API token' });
    });
  }

  t.test('a wrong token, or another scheme, is 401 invalid_token', async (t) => {
    for (const authorization of ['Bearer wrong', `Bearer ${TOKEN}0`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`]) {
      const r = await get(base, '/api/v1/nodes', { authorization });
      t.equal(r.status, 401, authorization);
      t.match(r.headers['www-authenticate'], /^Bearer realm="netmatrix"/);
      t.equal(r.json().code, 'UNAUTHORIZED');
    }
    t.equal((await get(base, '/api/v1/nodes', { authorization: 'Bearer wrong' })).headers['www-authenticate'], 'Bearer realm="netmatrix", error="invalid_token"');
  });

  t.test('the right token opens every route', async (t) => {
    t.equal((await get(base, '/api/v1/nodes', { token: TOKEN })).status, 200);
    t.equal((await get(base, '/api/v1/matrix?kind=tcp', { token: TOKEN })).status, 200);
    t.equal((await get(base, '/docs/json', { token: TOKEN })).status, 200);
    const r = await get(base, '/api/v1/no-such-route', { token: TOKEN });
    t.equal(r.status, 404);
    t.equal(r.json().code, 'ROUTE_NOT_FOUND');
  });

  t.test('probes and scrapes need no token', async (t) => {
    t.equal((await get(base, '/healthz')).status, 200);
    t.equal((await get(base, '/readyz')).status, 200);
    const m = await get(base, '/metrics');
    t.equal(m.status, 200);
    t.ok(counter(m.body, 'unauthorized') >= 9, `unauthorized counted (${counter(m.body, 'unauthorized')})`);
    t.equal(counter(m.body, 'rate_limited'), 0, 'every reason is exported from the start');
  });

  t.test('refusals are logged without the token', async (t) => {
    const line = sink.find('HTTP request without a valid API token');
    t.match(line, { client: '127.0.0.1', method: 'GET' });
    t.ok(sink.lines.some((l) => l.msg === 'HTTP request without a valid API token' && l.why === 'wrong'));
    t.notMatch(JSON.stringify(sink.lines), TOKEN);
  });

  t.test('a URL over the bound is 414 before anything else', async (t) => {
    const r = await get(base, `/api/v1/nodes?x=${'a'.repeat(MAX_URL_LENGTH)}`);
    t.equal(r.status, 414);
    t.equal(r.json().code, 'URL_TOO_LONG');
    t.equal(counter((await get(base, '/metrics')).body, 'url_too_long'), 1);
  });

  t.test('the OpenAPI document says which routes need the token', async (t) => {
    const doc = (await get(base, '/docs/json', { token: TOKEN })).json() as { paths: Record<string, { get: { responses: Record<string, { description: string }> } }> };
    t.equal(doc.paths['/api/v1/nodes']!.get.responses['401']?.description, 'UNAUTHORIZED');
    t.equal(doc.paths['/api/v1/nodes']!.get.responses['429']?.description, 'RATE_LIMITED');
    t.equal(doc.paths['/metrics']!.get.responses['401'], undefined, '/metrics is open');
    t.equal(doc.paths['/healthz']!.get.responses['429'], undefined, '/healthz is never limited');
  });
});

t.test('the rate limit per client address', async (t) => {
  const sink = logSink();
  const agg = await testAggregator({ 'http-rate-limit': '5' }, sink.log);
  t.teardown(() => agg.stop());
  const base = agg.httpUrl;
  for (let i = 1; i <= 5; i++) t.equal((await get(base, '/api/v1/nodes')).status, 200, `request ${i} of 5`);
  for (const path of ['/api/v1/nodes', '/metrics', '/api/v1/nodes']) {
    const r = await get(base, path);
    t.equal(r.status, 429, `${path} over the limit`);
    t.same(r.json(), { statusCode: 429, code: 'RATE_LIMITED', error: 'Too Many Requests', message: 'more than 5 requests per minute from this address: retry after the Retry-After seconds' });
    t.ok(Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 60, `Retry-After ${r.headers['retry-after']}: what is left of the minute`);
  }
  t.equal((await get(base, '/healthz')).status, 200, '/healthz is never limited');
  t.equal((await get(base, '/readyz')).status, 200, '/readyz is never limited');
  const other = await get(base, '/metrics', { from: '127.0.0.2' });
  t.equal(other.status, 200, 'another address has its own bucket');
  t.equal(counter(other.body, 'rate_limited'), 3, 'counted');
  t.equal(sink.lines.filter((l) => l.msg === 'HTTP client over --http-rate-limit: refused until its minute is over').length, 1, 'logged once per window');
  t.match(sink.find('HTTP client over --http-rate-limit: refused until its minute is over'), { client: '127.0.0.1', limitPerMinute: 5 });
});
