// ApiClient against a real HTTP server on 127.0.0.1 port 0.
import t from 'tap';
import { isMatrix, isNodeList } from '../../cli/api-types.js';
import { ApiClient, ApiError, EXIT } from '../../cli/client.js';
import { waitFor } from '../helpers/wait.js';
import { closedPort, json, startApiServer } from './api-server.js';
import { matrixFixture, nodesFixture } from './fixtures.js';

const api = await startApiServer((_req, res) => json(res, 200, { nodes: nodesFixture() }));
t.teardown(() => api.close());
t.beforeEach(() => {
  api.requests.length = 0;
  api.handle((_req, res) => json(res, 200, { nodes: nodesFixture() }));
});

const client = (over: Partial<{ server: string; token: string; timeoutMs: number }> = {}) => new ApiClient({ server: api.url, timeoutMs: 2000, ...over });

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

t.test('GET with the token, checked body', async (t) => {
  const body = await client({ token: 's3cret' }).get('/api/v1/nodes', { accept: isNodeList });
  t.same(body, { nodes: nodesFixture() });
  t.equal(api.requests[0]!.method, 'GET');
  t.equal(api.requests[0]!.url, '/api/v1/nodes');
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  t.equal(api.requests[0]!.headers.accept, 'application/json');
  t.match(api.requests[0]!.headers['user-agent'], /^netmatrix-cli\//);
  await client().get('/api/v1/nodes');
  t.equal(api.requests[1]!.headers.authorization, undefined, 'no token, no header');
});

t.test('a server URL with a path prefix keeps it (kubectl proxy, ingress)', async (t) => {
  const proxied = `${api.url}/api/v1/namespaces/netmatrix/services/netmatrix-aggregator:8080/proxy`;
  await client({ server: proxied }).get('/api/v1/nodes');
  await client({ server: `${proxied}/` }).get('api/v1/nodes');
  t.same(
    api.requests.map((r) => r.url),
    Array(2).fill('/api/v1/namespaces/netmatrix/services/netmatrix-aggregator:8080/proxy/api/v1/nodes'),
  );
  t.equal(client({ server: 'http://192.0.2.1:8080' }).url('/api/v1/matrix?kind=tcp'), 'http://192.0.2.1:8080/api/v1/matrix?kind=tcp');
});

t.test('the API error body gives the line: URL, status, code, message', async (t) => {
  api.handle((_req, res) => json(res, 404, { statusCode: 404, code: 'NODE_NOT_FOUND', error: 'Not Found', message: 'no node named "x"' }));
  const e = await failure(client().get('/api/v1/pairs/x/y'));
  t.equal(e.message, `${api.url}/api/v1/pairs/x/y: HTTP 404 NODE_NOT_FOUND: no node named "x"`);
  t.match(e, { exitCode: EXIT.unreachable, httpStatus: 404, reason: 'NODE_NOT_FOUND', url: `${api.url}/api/v1/pairs/x/y` });

  api.handle((_req, res) => json(res, 401, { statusCode: 401, code: 'UNAUTHORIZED', error: 'Unauthorized', message: 'a bearer token is required' }));
  t.match((await failure(client().get('/api/v1/nodes'))).message, /HTTP 401 UNAUTHORIZED: a bearer token is required \(set --token or NETMATRIX_API_TOKEN\)$/);

  api.handle((_req, res) => json(res, 500, { statusCode: 500, code: 'INTERNAL', error: 'x', message: 'boom\x1b[2J' }));
  t.match((await failure(client().get('/api/v1/nodes'))).message, /boom\?\[2J$/, 'no escape codes from the server');
});

t.test('an error that is not the API shape: status only, not its HTML', async (t) => {
  api.handle((_req, res) => res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' }).end('<html><body>upstream down</body></html>'));
  const e = await failure(client().get('/api/v1/nodes'));
  t.equal(e.message, `${api.url}/api/v1/nodes: HTTP 502 Bad Gateway`);
  t.equal(e.exitCode, EXIT.unreachable);
});

t.test('a 200 that is not JSON, or not the expected shape', async (t) => {
  api.handle((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
  t.equal((await failure(client().get('/api/v1/nodes', { what: 'a node list' }))).message, `${api.url}/api/v1/nodes: HTTP 200 but the body is not a node list: is this a netmatrix aggregator?`);
  api.handle((_req, res) => json(res, 200, { nodes: 'none' }));
  t.match((await failure(client().get('/api/v1/nodes', { accept: isNodeList, what: 'a node list' }))).message, 'the body is not a node list');
  const lopsided = { ...matrixFixture(), cells: matrixFixture().cells.slice(1) };
  api.handle((_req, res) => json(res, 200, lopsided));
  t.match((await failure(client().get('/api/v1/matrix?kind=tcp', { accept: isMatrix, what: 'a matrix' }))).message, 'the body is not a matrix', 'a matrix with a row missing');
  const badStatus = matrixFixture();
  (badStatus.cells[0] as unknown[])[1] = { ...badStatus.cells[0]![1]!, status: 'sideways' };
  api.handle((_req, res) => json(res, 200, badStatus));
  t.match((await failure(client().get('/api/v1/matrix?kind=tcp', { accept: isMatrix }))).reason, 'unexpected body', 'a status outside the vocabulary');
});

t.test('nothing listening: ECONNREFUSED', async (t) => {
  const port = await closedPort();
  const e = await failure(client({ server: `http://127.0.0.1:${port}` }).get('/api/v1/nodes'));
  t.equal(e.message, `cannot reach http://127.0.0.1:${port}/api/v1/nodes: ECONNREFUSED`);
  t.equal(e.reason, 'ECONNREFUSED');
  t.equal(e.exitCode, EXIT.unreachable);
});

t.test('no answer within the deadline, and an answer that stalls halfway', async (t) => {
  api.handle(() => {}); // never answers
  let started = performance.now();
  let e = await failure(client({ timeoutMs: 200 }).get('/api/v1/nodes'));
  t.equal(e.message, `cannot reach ${api.url}/api/v1/nodes: timeout: no complete answer within 200ms (--timeout)`);
  t.equal(e.reason, 'timeout');
  t.ok(performance.now() - started < 2000, 'ended by the deadline');
  await api.requests[0]!.closed;

  api.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"nodes": ['); // headers and a start, then nothing
  });
  started = performance.now();
  e = await failure(client({ timeoutMs: 200 }).get('/api/v1/nodes'));
  t.equal(e.reason, 'timeout', 'the deadline covers the body too');
  t.ok(performance.now() - started < 2000);
  await api.requests[1]!.closed;
});

t.test('a caller may cancel; the socket is released', async (t) => {
  api.handle(() => {});
  const cancel = new AbortController();
  const p = failure(client().get('/api/v1/nodes', { signal: cancel.signal }));
  await waitFor('the request to arrive', () => api.requests.length > 0, 5000, 5);
  cancel.abort();
  const e = await p;
  t.equal(e.reason, 'cancelled');
  await api.requests[0]!.closed;
  t.pass('the server saw the request end');
});
