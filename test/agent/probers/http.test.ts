// The HTTP prober against real servers on loopback.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import { httpProber } from '../../../agent/probers/http.js';
import { silentLogger } from '../../../common/logger.js';
import { waitFor } from '../../helpers/wait.js';

const log = silentLogger();
const never = () => new AbortController().signal;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server on `host` port 0 whose handler each test sets; closed (with every connection) at teardown. */
async function serve(t: Test, host: string, handler: Handler): Promise<{ server: Server; target: { node: string; ip: string; family: 'ipv4' | 'ipv6'; port: number } }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, host, r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const family = host.includes(':') ? ('ipv6' as const) : ('ipv4' as const);
  return { server, target: { node: 'node-b', ip: host, family, port: (server.address() as { port: number }).port } };
}

/** Connected TCP sockets of this process, either end. */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

t.afterEach(async () => {
  await waitFor('every TCP socket to be released', () => tcpSockets() === 0, 5_000);
});

t.test('GET /healthz → ok with ordered phase timings', async (t) => {
  const seen: { url?: string; host?: string; connection?: string } = {};
  const { target } = await serve(t, '127.0.0.62', (req, res) => {
    Object.assign(seen, { url: req.url, host: req.headers.host, connection: req.headers.connection });
    res.end('ok\n');
  });
  const r = await httpProber(target, never(), log);
  t.same(seen, { url: '/healthz', host: `127.0.0.62:${target.port}`, connection: 'close' });
  t.equal(r.outcome, 'ok');
  const h = r.http;
  t.ok(h, 'timings present');
  if (!h) return;
  t.ok([h.connectUs, h.firstByteUs, h.totalUs].every(Number.isInteger), 'integer µs');
  t.ok(h.connectUs > 0 && h.connectUs <= h.firstByteUs && h.firstByteUs <= h.totalUs, `connect ${h.connectUs} ≤ first byte ${h.firstByteUs} ≤ total ${h.totalUs}`);
  t.equal(r.rttUs, h.totalUs);
});

t.test('IPv6 targets: the address goes in brackets', async (t) => {
  let host: string | undefined;
  const { target } = await serve(t, '::1', (req, res) => {
    host = req.headers.host;
    res.end('ok');
  });
  t.match(await httpProber(target, never(), log), { outcome: 'ok' });
  t.equal(host, `[::1]:${target.port}`);
});

t.test('status 200–399 is ok, anything else an error naming the status', async (t) => {
  let status = 200;
  const { target } = await serve(t, '127.0.0.62', (_req, res) => res.writeHead(status).end('body'));
  for (const [code, want] of [
    [204, { outcome: 'ok' }],
    [302, { outcome: 'ok' }],
    [404, { outcome: 'error', detail: 'HTTP 404' }],
    [500, { outcome: 'error', detail: 'HTTP 500' }],
  ] as const) {
    status = code;
    t.match(await httpProber(target, never(), log), want, `HTTP ${code}`);
  }
});

t.test('an oversized body is cut at 64 KiB: ok, and the connection is dropped', async (t) => {
  let served: ServerResponse | undefined;
  const { target } = await serve(t, '127.0.0.62', (_req, res) => {
    served = res;
    res.writeHead(200);
    res.write(Buffer.alloc(200 * 1024, 97)); // and never ends: the prober must stop by itself
  });
  t.match(await httpProber(target, never(), log), { outcome: 'ok' });
  if (!served!.closed) await once(served!, 'close');
  t.pass('the server saw the prober hang up');
});

t.test('a body cut short by the server → reset, not ok', async (t) => {
  const { target } = await serve(t, '127.0.0.62', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part', () => res.socket?.destroy());
  });
  t.same(await httpProber(target, never(), log), { outcome: 'reset', rttUs: 0, detail: 'ECONNRESET' });
});

t.test("a server that never answers → timeout at the caller's deadline, request destroyed", async (t) => {
  let arrived: () => void;
  const requestArrived = new Promise<void>((r) => (arrived = r));
  let serverSide: IncomingMessage | undefined;
  const { target } = await serve(t, '127.0.0.62', (req) => {
    serverSide = req; // headers are never sent
    arrived();
  });
  const c = new AbortController();
  const p = httpProber(target, c.signal, log);
  await requestArrived;
  c.abort(); // the caller's deadline, reached while the prober waits for headers
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  if (!serverSide!.socket.closed) await once(serverSide!.socket, 'close');
  t.pass('the server saw the request go away');
});

t.test('already aborted → timeout without a request', async (t) => {
  let requests = 0;
  const { target } = await serve(t, '127.0.0.62', (_req, res) => {
    requests++;
    res.end();
  });
  const c = new AbortController();
  c.abort();
  t.same(await httpProber(target, c.signal, log), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  t.equal(requests, 0);
});

t.test('closed port → refused', async (t) => {
  const other = createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.62', r));
  const port = (other.address() as { port: number }).port;
  await new Promise<void>((r) => other.close(() => r()));
  t.same(await httpProber({ node: 'node-b', ip: '127.0.0.62', family: 'ipv4', port }, never(), log), { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED' });
});
