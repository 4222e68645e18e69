// The CLI against a real HTTP server on port 0 serving fixtures.
import { createServer, type IncomingMessage } from 'node:http';
import t from 'tap';
import { run, type Io } from '../../cli/run.js';
import { matrixFixture, nodesFixture } from './fixtures.js';

const requests: IncomingMessage[] = [];
let mode: 'ok' | 'error' | 'slow' = 'ok';
const server = createServer((req, res) => {
  requests.push(req);
  if (mode === 'slow') return; // never answers: the client's deadline must end it
  if (mode === 'error') {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 400, code: 'INVALID_KIND', error: 'Bad Request', message: 'unknown probe kind "x"' }));
    return;
  }
  const url = new URL(req.url!, 'http://x');
  const body = url.pathname === '/api/v1/nodes' ? { nodes: nodesFixture() } : { ...matrixFixture(), kind: url.searchParams.get('kind') };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

async function cli(args: string[], env: Record<string, string> = {}, isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env, isTTY };
  const code = await run(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.beforeEach(() => {
  mode = 'ok';
  requests.length = 0;
});

t.test('matrix asks for the kind and family and exits 1 on failing cells', async (t) => {
  const r = await cli(['matrix', '--kind', 'tcp', '--family', 'ipv4', '--server', url, '--token', 's3cret']);
  t.equal(r.code, 1);
  t.match(r.out, 'tcp matrix (ipv4)');
  t.equal(requests[0]!.url, '/api/v1/matrix?kind=tcp&family=ipv4');
  t.equal(requests[0]!.headers.authorization, 'Bearer s3cret');
  t.notMatch(r.out, /\x1b\[/, 'no colour when not a TTY');
});

t.test('--json prints the API body; env gives the server; colour on a TTY unless NO_COLOR', async (t) => {
  const r = await cli(['matrix', '--json'], { NETMATRIX_SERVER: url });
  t.same(JSON.parse(r.out).nodes, ['node-a', 'node-b', 'node-c', 'node-d']);
  t.equal(requests[0]!.url, '/api/v1/matrix?kind=icmp');
  t.match((await cli(['matrix', '--server', url], {}, true)).out, /\x1b\[31m/);
  t.notMatch((await cli(['matrix', '--server', url], { NO_COLOR: '1' }, true)).out, /\x1b\[/);
  t.notMatch((await cli(['matrix', '--server', url, '--no-color'], {}, true)).out, /\x1b\[/);
});

t.test('status shows nodes and per-kind summaries; a disconnected agent exits 1', async (t) => {
  const r = await cli(['status', '--server', url]);
  t.equal(r.code, 1);
  t.match(r.out, /node-c\s+zone-2\s+192\.0\.2\.3\s+disconnected/);
  t.match(r.out, /^icmp\s+✓ ok 7/m);
  t.match(r.out, '1 of 4 agents disconnected');
  t.same(requests.map((q) => q.url).sort(), ['/api/v1/matrix?kind=http', '/api/v1/matrix?kind=icmp', '/api/v1/matrix?kind=node', '/api/v1/matrix?kind=tcp', '/api/v1/nodes']);
  const j = await cli(['status', '--json', '--server', url]);
  t.same(Object.keys(JSON.parse(j.out).matrices), ['icmp', 'tcp', 'http', 'node']);
});

t.test('usage errors exit 2 with one line', async (t) => {
  for (const args of [['matrix', '--kind', 'udp'], ['frobnicate'], [], ['matrix', '--bogus'], ['matrix', '--timeout', 'soon'], ['matrix', '--family', 'ipx'], ['matrix', '--server', 'not a url']]) {
    const r = await cli(args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.err.split('\n').length, 1);
  }
  t.match((await cli(['matrix', '--kind', 'udp'])).err, 'unknown --kind "udp": expected one of icmp, tcp, http, mtu, node');
  t.equal(requests.length, 0, 'nothing was asked of the server');
  t.match((await cli(['--help'])).out, /Exit codes/);
});

t.test('an API error exits 3 with its message', async (t) => {
  mode = 'error';
  const r = await cli(['matrix', '--server', url]);
  t.equal(r.code, 3);
  t.match(r.err, /HTTP 400: unknown probe kind "x"/);
});

t.test('a server that is down exits 3 naming ECONNREFUSED', async (t) => {
  const { createServer: net } = await import('node:net');
  const s = net();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const r = await cli(['matrix', '--server', `http://127.0.0.1:${port}`]);
  t.equal(r.code, 3);
  t.match(r.err, /cannot reach .*: ECONNREFUSED/);
});

t.test('a server that does not answer hits the deadline', async (t) => {
  mode = 'slow';
  const started = Date.now();
  const r = await cli(['matrix', '--server', url, '--timeout', '200ms']);
  t.equal(r.code, 3);
  t.match(r.err, /no answer within 200 ms \(timeout\)/);
  t.ok(Date.now() - started < 5_000, 'it did not wait for the server');
});
