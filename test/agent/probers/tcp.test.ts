// The TCP prober against real sockets on loopback.
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { tcpProber } from '../../../agent/probers/tcp.js';
import { silentLogger } from '../../../common/logger.js';

const log = silentLogger();
const target = (port: number) => ({ node: 'node-b', ip: '127.0.0.61', family: 'ipv4' as const, port });

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPWrap').length;
}

t.test('connect → ok with the handshake time, socket released', async (t) => {
  let accepted: (s: Socket) => void;
  const conn = new Promise<Socket>((r) => (accepted = r));
  const server = createServer((c) => accepted(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.61', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const r = await tcpProber(target((server.address() as { port: number }).port), new AbortController().signal, log);
  t.equal(r.outcome, 'ok');
  t.ok(r.rttUs > 0 && r.rttUs < 1_000_000, `rtt ${r.rttUs} µs`);
  // The prober closed its end: the server's side of the connection closes too.
  const c = await conn;
  c.on('error', () => {});
  if (!c.closed) await new Promise((res) => c.once('close', res));
  t.pass('the probe socket is closed');
  t.equal(sockets(), 0, 'no TCP socket left in this process');
});

t.test('closed port → refused', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.61', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  const r = await tcpProber(target(port), new AbortController().signal, log);
  t.same(r, { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED' });
});

t.test('an aborted signal → timeout, before and during the connect', async (t) => {
  const c = new AbortController();
  c.abort();
  t.equal((await tcpProber(target(9), c.signal, log)).outcome, 'timeout', 'already aborted: no socket at all');
  // Abort while the connect is in flight: loopback answers within microseconds,
  // so abort synchronously right after starting (the connect completes on a later tick).
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.61', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const c2 = new AbortController();
  const p = tcpProber(target((server.address() as { port: number }).port), c2.signal, log);
  c2.abort();
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
});
