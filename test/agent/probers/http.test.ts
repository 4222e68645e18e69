// The HTTP prober against real servers on loopback.
import { createServer, type ServerResponse } from 'node:http';
import t from 'tap';
import { httpProber } from '../../../agent/probers/http.js';
import { silentLogger } from '../../../common/logger.js';

const log = silentLogger();
const held: ServerResponse[] = [];
let handler: (path: string, res: ServerResponse) => void = (_p, res) => res.end('ok');
const server = createServer((req, res) => handler(req.url ?? '', res));
await new Promise<void>((r) => server.listen(0, '127.0.0.62', r));
t.teardown(() => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
const target = { node: 'node-b', ip: '127.0.0.62', family: 'ipv4' as const, port: (server.address() as { port: number }).port };
const never = () => new AbortController().signal;

t.test('GET /healthz → ok with ordered phase timings', async (t) => {
  let path = '';
  handler = (p, res) => {
    path = p;
    res.end('ok\n');
  };
  const r = await httpProber(target, never(), log);
  t.equal(path, '/healthz');
  t.equal(r.outcome, 'ok');
  t.ok(r.http, 'timings present');
  const h = r.http!;
  t.ok(h.connectUs > 0 && h.connectUs <= h.firstByteUs && h.firstByteUs <= h.totalUs, `connect ${h.connectUs} ≤ first byte ${h.firstByteUs} ≤ total ${h.totalUs}`);
  t.equal(r.rttUs, h.totalUs);
});

t.test('HTTP 500 → error naming the status', async (t) => {
  handler = (_p, res) => res.writeHead(500).end('boom');
  const r = await httpProber(target, never(), log);
  t.equal(r.outcome, 'error');
  t.equal(r.detail, 'HTTP 500');
});

t.test('an oversized body is cut and still ok', async (t) => {
  handler = (_p, res) => {
    res.writeHead(200);
    res.write(Buffer.alloc(200 * 1024, 97));
    held.push(res); // never ends: the prober must stop reading by itself
  };
  const r = await httpProber(target, never(), log);
  t.equal(r.outcome, 'ok');
});

t.test('a server that never answers → timeout at the caller\'s deadline', async (t) => {
  handler = (_p, res) => held.push(res);
  const c = new AbortController();
  const p = httpProber(target, c.signal, log);
  setTimeout(() => c.abort(), 100);
  const started = Date.now();
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  t.ok(Date.now() - started < 2_000, 'settled at the deadline');
});

t.test('closed port → refused', async (t) => {
  const other = createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.62', r));
  const port = (other.address() as { port: number }).port;
  await new Promise<void>((r) => other.close(() => r()));
  t.same(await httpProber({ ...target, port }, never(), log), { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED' });
});
