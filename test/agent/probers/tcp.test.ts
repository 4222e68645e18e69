// The TCP prober against real sockets on loopback, and, in a child process in
// a private network namespace (its own lo and iptables, never the host's), a
// real blackhole and real rejections.
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { tcpProber } from '../../../agent/probers/tcp.js';
import { silentLogger } from '../../../common/logger.js';
import { skipUnlessCi } from '../../helpers/ci.js';
import { canRun, childSkip, mod, runChild } from '../../helpers/child.js';
import { waitFor } from '../../helpers/wait.js';

const log = silentLogger();
const target = (port: number, ip = '127.0.0.61') => ({ node: 'node-b', ip, family: 'ipv4' as const, port });
const never = () => new AbortController().signal;

/** Connected TCP sockets of this process, either end (listeners are 'TCPServerWrap'). */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

async function listening(): Promise<{ port: number; accepted: Socket[]; close: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const server = createServer((c) => {
    c.on('error', () => {});
    accepted.push(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.61', r));
  return {
    port: (server.address() as { port: number }).port,
    accepted,
    close: () => {
      for (const c of accepted) c.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

t.test('connect → ok with the handshake time, socket released', async (t) => {
  const s = await listening();
  t.teardown(s.close);
  const r = await tcpProber(target(s.port), never(), log);
  t.equal(r.outcome, 'ok');
  t.ok(Number.isInteger(r.rttUs) && r.rttUs > 0 && r.rttUs < 1_000_000, `rtt ${r.rttUs} µs`);
  await waitFor('the server to accept', () => s.accepted[0], 5_000);
  // The prober closed its end, so the server's end closes too.
  await waitFor('every TCP socket to be released', () => tcpSockets() === 0, 5_000);
  t.pass('no TCP socket left in this process, either end');
});

t.test('closed port → refused', async (t) => {
  const s = await listening();
  await s.close();
  const r = await tcpProber(target(s.port), never(), log);
  t.same(r, { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED' });
  await waitFor('the probe socket to be released', () => tcpSockets() === 0, 5_000);
  t.pass('no TCP socket left');
});

// What this covers: the abort path itself (settle with timeout, destroy the
// socket, remove the listener), with the signal aborted before the call and
// while the connect is in flight. On loopback a listener completes the
// handshake in the kernel whatever its 'connection' handler does, so no server
// here can hold a connect open; the real blackhole is the namespace test below.
t.test('an aborted signal → timeout, before and during the connect; nothing left behind', async (t) => {
  const c = new AbortController();
  c.abort();
  t.same(await tcpProber(target(9), c.signal, log), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' }, 'already aborted: no socket at all');
  t.equal(tcpSockets(), 0);
  const s = await listening();
  t.teardown(s.close);
  const c2 = new AbortController();
  const p = tcpProber(target(s.port), c2.signal, log);
  c2.abort(); // the connect completes on a later tick at the earliest
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  // Had the prober kept its socket, the server's end (if it accepted) would stay open too.
  await waitFor('the aborted socket to be released', () => tcpSockets() === 0, 5_000);
  t.pass('no TCP socket left, either end');
});

// ---- a real blackhole, in a child in a private network namespace ----



const skip = skipUnlessCi(childSkip || (!canRun('unshare', ['-n', '--', 'iptables', '-L', '-n']) && 'no private network namespace with iptables here'));

t.test('child, private netns: a blackholed connect ends at the deadline and lets the process exit; REJECTs are classified', { skip }, async (t) => {
  const setup = [
    'ip link set lo up',
    'iptables -A INPUT -p tcp --syn -d 127.0.0.9 -j DROP',
    'iptables -A INPUT -p tcp --syn -d 127.0.0.10 -j REJECT --reject-with tcp-reset',
    'iptables -A INPUT -p tcp --syn -d 127.0.0.11 -j REJECT --reject-with icmp-host-unreachable',
  ].join(' && ');
  const code = `import { tcpProber } from ${mod('agent/probers/tcp.js')};
    import { silentLogger } from ${mod('common/logger.js')};
    const run = async (ip, ms) => {
      const c = new AbortController();
      const timer = setTimeout(() => c.abort(), ms);
      const t0 = performance.now();
      const r = await tcpProber({ node: 'x', ip, family: 'ipv4', port: 9402 }, c.signal, silentLogger());
      clearTimeout(timer);
      return { ...r, ms: performance.now() - t0 };
    };
    console.log(JSON.stringify({ blackholed: await run('127.0.0.9', 300), reset: await run('127.0.0.10', 5000), unreachable: await run('127.0.0.11', 5000) }));
    // A SYN still retrying (~127 s) would hold the process here.`;
  const r = await runChild(['unshare', '-n', '--', 'sh', '-c', `${setup} && exec "$@"`, 'sh'], code, 20_000);
  t.equal(r.status, 0, `child exited by itself in ${r.ms.toFixed(0)} ms (${r.stderr.trim()})`);
  const o = JSON.parse(r.stdout) as Record<string, { outcome: string; detail?: string; ms: number }>;
  t.match(o.blackholed, { outcome: 'timeout', detail: 'deadline exceeded' });
  t.ok(o.blackholed!.ms >= 290 && o.blackholed!.ms < 2_000, `blackhole ended at the deadline (${o.blackholed!.ms.toFixed(1)} ms)`);
  t.match(o.reset, { outcome: 'refused', detail: 'ECONNREFUSED' });
  t.match(o.unreachable, { outcome: 'unreachable', detail: 'EHOSTUNREACH' });
  t.ok(o.unreachable!.ms < 1_000, `unreachable known at once (${o.unreachable!.ms.toFixed(1)} ms)`);
});
