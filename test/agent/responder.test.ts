// The responder: what peers probe (TCP accept, GET /healthz) on every address
// it is given, one port for all, probed with the agent's own probers; an
// address it cannot bind is a start-up error naming it, and leaves nothing open.
import { createServer, isIP } from 'node:net';
import { Registry } from 'prom-client';
import t from 'tap';
import { httpProber } from '../../agent/probers/http.js';
import { tcpProber } from '../../agent/probers/tcp.js';
import type { ProbeOutcome, Prober } from '../../agent/probers/types.js';
import { startResponder } from '../../agent/responder.js';
import { silentLogger } from '../../common/logger.js';
import { testAgent } from '../helpers/agent.js';

/** Whether this machine can listen on ::1. Under CI=true the dual-stack test runs regardless, and fails without it. */
const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(0, '::1', () => s.close(() => resolve(true)));
});
const needsIpv6 = ipv6Loopback || process.env.CI === 'true' ? false : 'this machine cannot listen on ::1 (IPv6 is off); under CI=true that fails the test';

function probe(prober: Prober, ip: string, port: number): Promise<ProbeOutcome> {
  return prober({ node: 'node-dual', ip, family: isIP(ip) === 6 ? 'ipv6' : 'ipv4', port }, AbortSignal.timeout(2_000), silentLogger());
}

t.test('an agent with pod IPs 127.0.0.1 and ::1 answers TCP and HTTP on both, on one port', { skip: needsIpv6 }, async (t) => {
  // No aggregator answers on 127.0.0.1:1: the responder does not wait for one.
  const agent = await testAgent({ name: 'node-dual', podIP: '127.0.0.1,::1', aggregator: '127.0.0.1:1', flags: { listen: '127.0.0.1:0,[::1]:0' } });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : agent.stop()));
  const port = agent.responder.port;
  t.ok(port > 0);
  t.same(agent.responder.addresses, [`127.0.0.1:${port}`, `[::1]:${port}`]);
  for (const ip of ['127.0.0.1', '::1']) {
    t.match(await probe(tcpProber, ip, port), { outcome: 'ok' }, `tcp ${ip}`);
    t.match(await probe(httpProber, ip, port), { outcome: 'ok' }, `http ${ip}`);
  }
  await agent.stop();
  stopped = true;
  for (const ip of ['127.0.0.1', '::1']) t.match(await probe(tcpProber, ip, port), { outcome: 'refused' }, `${ip} closed with the agent`);
});

t.test('an address that cannot be bound stops the start, naming it; the listeners already open are closed', async (t) => {
  // 192.0.2.1 (TEST-NET-1) is on no interface of this machine: nothing is sent, the bind fails.
  const err = await startResponder(
    [
      { host: '127.0.0.1', port: 0 },
      { host: '192.0.2.1', port: 0 },
    ],
    new Registry(),
    silentLogger(),
  ).then(
    (r) => void r.close(),
    (e: unknown) => e as Error,
  );
  t.ok(err, 'startResponder rejected');
  const m = /^responder cannot listen on 192\.0\.2\.1:(\d+): EADDRNOTAVAIL, not an address of this pod \(check POD_IP and --listen\)$/.exec(err?.message ?? '');
  t.ok(m, `one line naming the address and why: ${err?.message}`);
  const port = Number(m?.[1]);
  t.ok(port > 0, 'the port the first listener got, tried on the second');
  t.match(await probe(tcpProber, '127.0.0.1', port), { outcome: 'refused' }, 'the 127.0.0.1 listener was closed');
});

t.test('close() releases every listener; /metrics and an unknown path are served on each', async (t) => {
  const registry = new Registry();
  const r = await startResponder(
    [
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.2', port: 0 },
    ],
    registry,
    silentLogger(),
  );
  t.same(r.addresses, [`127.0.0.1:${r.port}`, `127.0.0.2:${r.port}`]);
  for (const host of ['127.0.0.1', '127.0.0.2']) {
    const metrics = await fetch(`http://${host}:${r.port}/metrics`);
    t.equal(metrics.status, 200, `/metrics on ${host}`);
    t.equal(metrics.headers.get('content-type'), registry.contentType);
    await metrics.text();
    const other = await fetch(`http://${host}:${r.port}/nothing`);
    t.equal(other.status, 404);
    await other.text();
  }
  await r.close();
  for (const host of ['127.0.0.1', '127.0.0.2']) t.match(await probe(tcpProber, host, r.port), { outcome: 'refused' }, `${host} closed`);
});
