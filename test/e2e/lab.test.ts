// The lab itself, proven with plain tools (ping, fping, TCP connects from node,
// a DNS lookup) before anything of netmatrix runs on it: the network is closed,
// every fault does what it says to the pair or node it names and nothing else,
// and `down` leaves nothing behind. Needs root and the tools in command.ts; on a
// machine without them this file fails with one line saying what is missing.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { run, assertLabRequirements, labProblems } from './lab/command.js';
import { createLab, DNS_WHOAMI, Lab, listLabs, sweepStaleLabs } from './lab/lab.js';
import { namespaceInode, pidsInNetns } from './lab/processes.js';
import { dnsQueries, fping, median, ping, resolve4, tcpConnect, tcpListener, type DnsQueryResult } from './lab/reference-probes.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { readState, stateFile, writeState } from './lab/registry.js';
import { randomPrefix } from './lab/addressing.js';
import { main } from './lab/cli.js';

const TEST_TOOLS = [
  { bin: 'ping', pkg: 'iputils-ping' },
  { bin: 'fping', pkg: 'fping' },
];
assertLabRequirements({ extra: TEST_TOOLS });

const PORT = 9402;
const KUBE = 'kubernetes.default.svc.cluster.local';

t.test('requirements: a machine without root or tools is told what is missing', async (t) => {
  const problems = labProblems({ path: '/nonexistent', uid: 1000, extra: TEST_TOOLS });
  t.match(problems.join('; '), /need root \(running as uid 1000\)/);
  t.match(problems.join('; '), /missing ip, ss, iptables, .*dnsmasq.*fping/);
  t.match(problems.join('; '), /apt-get install -y iproute2 iptables nftables dnsmasq-base procps python3 iputils-ping fping/);
  t.same(labProblems({ extra: TEST_TOOLS }), [], 'this machine has everything');
});

t.test('a 3-node lab', async (t) => {
  const started = Date.now();
  const lab = await createLab({ nodes: 3, dnsRecords: [{ name: KUBE, ip: '198.18.0.1' }] });
  t.comment(`3-node lab up in ${Date.now() - started} ms (prefix ${lab.prefix})`);
  t.teardown(() => lab.down());
  const [n1, n2, n3] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
  for (const n of lab.nodes) await tcpListener(lab, n.ns, n.podIP, PORT);

  /** Every ordered pair answers ping on pod and node IPs (fping: bounded, 3 probes each). */
  async function allPairsPing(): Promise<string[]> {
    const failures: string[] = [];
    await Promise.all(
      lab.nodes.map(async (src) => {
        const targets = lab.nodes.filter((d) => d !== src).flatMap((d) => [d.podIP, d.nodeIP]);
        const r = await lab.exec(src.ns, ['fping', '-q', '-c', '3', '-p', '20', '-t', '500', ...targets], { allowFailure: true });
        for (const line of r.stderr.split('\n')) {
          const m = /^(\S+)\s+: xmt\/rcv\/%loss = 3\/(\d+)/.exec(line);
          if (m && m[2] !== '3') failures.push(`${src.name} -> ${m[1]}: ${line}`);
        }
        if (r.stderr.split('\n').filter((l) => l.includes('xmt/rcv')).length !== targets.length) failures.push(`${src.name}: ${r.stderr}`);
      }),
    );
    return failures;
  }

  t.test('names, addresses and interface names', async (t) => {
    t.same(
      lab.nodes.map((n) => [n.name, n.podIP, n.nodeIP]),
      [
        ['node-1', '198.18.0.11', '198.18.1.11'],
        ['node-2', '198.18.0.12', '198.18.1.12'],
        ['node-3', '198.18.0.13', '198.18.1.13'],
      ],
    );
    t.equal(lab.dnsIP, '198.18.0.2');
    t.equal(lab.aggregatorIP, '198.18.0.3');
    for (const n of lab.nodes) t.ok(n.vethHost.length <= 15, `${n.vethHost} fits IFNAMSIZ`);
    t.ok(lab.nodes.every((n) => n.ns.startsWith(`${lab.prefix}-`)));
  });

  t.test('all pairs ping, on pod and node IPs', async (t) => {
    t.same(await allPairsPing(), []);
  });

  t.test('no namespace has a default route, or any route off the lab subnets', async (t) => {
    for (const ns of lab.namespaces) {
      const v4 = await run(['ip', '-n', ns, '-4', 'route', 'show', 'table', 'all']);
      const v6 = await run(['ip', '-n', ns, '-6', 'route', 'show', 'table', 'all']);
      t.notMatch(`${v4.stdout}${v6.stdout}`, /^default/m, `${ns}: no default route`);
      const offLab = v4.stdout
        .split('\n')
        .filter((l) => l.trim() && !/^(local|broadcast) /.test(l))
        .filter((l) => !/^198\.18\.[01]\.0\/24 dev eth0/.test(l));
      t.same(offLab, [], `${ns}: only the lab subnets`);
    }
  });

  t.test('sysctls of the lab namespaces', async (t) => {
    const r = await lab.exec(n1.ns, ['sysctl', '-n', 'net.ipv4.icmp_ratelimit', 'net.ipv4.ping_group_range']);
    t.match(r.stdout, /^0\n0\s+2147483647/);
    const br = await lab.exec(lab.bridgeNs, ['sysctl', '-n', '-e', 'net.bridge.bridge-nf-call-iptables']);
    t.ok(br.stdout.trim() === '' || br.stdout.trim() === '0', 'bridge-nf-call-iptables is 0 (or absent)');
    const neigh = await run(['ip', '-n', n1.ns, 'neigh', 'show', 'nud', 'permanent']);
    for (const ip of [n2.podIP, n2.nodeIP, n3.podIP, n3.nodeIP, lab.dnsIP, lab.aggregatorIP]) t.match(neigh.stdout, new RegExp(`^${ip.replaceAll('.', '\\.')} `, 'm'), `permanent neighbour ${ip}`);
  });

  t.test('DNS answers the names it was given, on the lab address; the aggregator namespace is on the bridge', async (t) => {
    t.same(await resolve4(lab, n1.ns, lab.dnsIP, KUBE), { addresses: ['198.18.0.1'] });
    const missing = await resolve4(lab, n2.ns, lab.dnsIP, 'nope.default.svc.cluster.local');
    t.ok(missing.error, `unknown name fails (${missing.error})`);
    const p = await ping(lab, lab.aggregatorNs, n3.podIP, { count: 2 });
    t.equal(p.received, 2, 'aggregator namespace reaches node-3');
    const listening = await lab.exec(lab.dnsNs, ['ss', '-Hlun']);
    t.match(listening.stdout, /198\.18\.0\.2:53/);
    t.notMatch(listening.stdout, /(0\.0\.0\.0|\*|\[::\]):53\b/, 'dnsmasq binds its lab address only');
  });

  t.test('drop between node-1 and node-2: ping and TCP time out both ways, other pairs work', async (t) => {
    await lab.blockPair('node-1', 'node-2', 'drop');
    t.teardown(() => lab.clear());
    const [p12, p21, c12, c21, p13, p32, c31] = await Promise.all([
      ping(lab, n1.ns, n2.podIP, { count: 1, waitS: 1 }),
      ping(lab, n2.ns, n1.podIP, { count: 1, waitS: 1 }),
      tcpConnect(lab, n1.ns, n2.podIP, PORT, 800),
      tcpConnect(lab, n2.ns, n1.podIP, PORT, 800),
      ping(lab, n1.ns, n3.podIP, { count: 2 }),
      ping(lab, n3.ns, n2.nodeIP, { count: 2 }),
      tcpConnect(lab, n3.ns, n1.podIP, PORT),
    ]);
    t.equal(p12.received, 0, 'node-1 -> node-2 ping lost');
    t.same(p12.errors, [], 'silently: no ICMP error');
    t.equal(p21.received, 0, 'node-2 -> node-1 ping lost (the replies are dropped too)');
    t.equal(c12.outcome, 'timeout', 'node-1 -> node-2 TCP times out');
    t.equal(c21.outcome, 'timeout', 'node-2 -> node-1 TCP times out');
    t.equal(p13.received, 2, 'node-1 -> node-3 fine');
    t.equal(p32.received, 2, 'node-3 -> node-2 (node IP) fine');
    t.equal(c31.outcome, 'connected', 'node-3 -> node-1 TCP fine');
    const nodeIP = await ping(lab, n1.ns, n2.nodeIP, { count: 1, waitS: 1 });
    t.equal(nodeIP.received, 0, 'node-1 -> node-2 node IP lost too');
    t.same(await lab.faults(), [{ kind: 'block', mode: 'drop', src: 'node-1', dst: 'node-2', proto: 'all' }]);
  });

  t.test('reject: connection refused at once; the other direction is untouched', async (t) => {
    await lab.blockPair('node-1', 'node-2', 'reject');
    t.teardown(() => lab.clear());
    const c12 = await tcpConnect(lab, n1.ns, n2.podIP, PORT);
    t.equal(c12.outcome, 'ECONNREFUSED');
    t.ok(c12.elapsedMs < 200, `refused in ${c12.elapsedMs.toFixed(1)} ms`);
    const p12 = await ping(lab, n1.ns, n2.podIP, { count: 1, waitS: 1 });
    t.equal(p12.received, 0);
    t.match(p12.errors, ['Destination Port Unreachable']);
    t.equal((await tcpConnect(lab, n2.ns, n1.podIP, PORT)).outcome, 'connected', 'node-2 -> node-1 still connects');
    t.equal((await ping(lab, n2.ns, n1.podIP, { count: 2 })).received, 2, 'node-2 -> node-1 still pings');
  });

  t.test('unreachable: EHOSTUNREACH and "Destination Host Unreachable" promptly, not after a timeout', async (t) => {
    await lab.blockPair('node-1', 'node-2', 'unreachable');
    t.teardown(() => lab.clear());
    const c12 = await tcpConnect(lab, n1.ns, n2.podIP, PORT);
    t.equal(c12.outcome, 'EHOSTUNREACH');
    t.ok(c12.elapsedMs < 200, `unreachable in ${c12.elapsedMs.toFixed(1)} ms`);
    // Several in a row: icmp_ratelimit 0 keeps every error coming.
    const p12 = await ping(lab, n1.ns, n2.podIP, { count: 10, intervalS: 0.01, waitS: 1 });
    t.equal(p12.received, 0);
    t.equal(p12.errors.filter((e) => e === 'Destination Host Unreachable').length, 10, 'an error for every probe');
    t.ok(p12.elapsedMs < 1000, `ping gave up in ${p12.elapsedMs} ms`);
    t.equal((await tcpConnect(lab, n2.ns, n1.podIP, PORT)).outcome, 'connected', 'node-2 -> node-1 still connects');
  });

  t.test('a pair blocked for one protocol only', async (t) => {
    await lab.blockPair('node-1', 'node-3', 'reject', 'tcp');
    t.teardown(() => lab.clear());
    t.equal((await tcpConnect(lab, n1.ns, n3.podIP, PORT)).outcome, 'ECONNREFUSED');
    t.equal((await ping(lab, n1.ns, n3.podIP, { count: 2 })).received, 2, 'ICMP passes');
  });

  t.test('a port closed on node-2: TCP to it refused from the network; ICMP and node-2\'s own connections pass', async (t) => {
    await lab.blockPort('node-2', PORT);
    t.teardown(() => lab.clear());
    const [c12, c32, p12, self, c21] = await Promise.all([
      tcpConnect(lab, n1.ns, n2.podIP, PORT),
      tcpConnect(lab, n3.ns, n2.podIP, PORT),
      ping(lab, n1.ns, n2.podIP, { count: 2 }),
      tcpConnect(lab, n2.ns, n2.podIP, PORT),
      tcpConnect(lab, n2.ns, n1.podIP, PORT),
    ]);
    t.equal(c12.outcome, 'ECONNREFUSED', 'node-1 -> node-2 refused');
    t.equal(c32.outcome, 'ECONNREFUSED', 'node-3 -> node-2 refused');
    t.equal(p12.received, 2, 'ICMP passes');
    t.equal(self.outcome, 'connected', 'node-2 reaches its own port (over lo)');
    t.equal(c21.outcome, 'connected', 'node-2 -> node-1 unaffected');
    t.same(await lab.faults(), [{ kind: 'block-port', node: 'node-2', proto: 'tcp', port: PORT, mode: 'reject' }]);
    await lab.clear('node-2');
    t.equal((await tcpConnect(lab, n1.ns, n2.podIP, PORT)).outcome, 'connected', 'clear(node-2) opens it again');
  });

  t.test('ICMP blocked into node-2: ping fails both ways, TCP works', async (t) => {
    await lab.blockProtocol('node-2', 'icmp');
    t.teardown(() => lab.clear());
    const [p12, p21, c12, c21] = await Promise.all([
      ping(lab, n1.ns, n2.podIP, { count: 1, waitS: 1 }),
      ping(lab, n2.ns, n1.podIP, { count: 1, waitS: 1 }),
      tcpConnect(lab, n1.ns, n2.podIP, PORT),
      tcpConnect(lab, n2.ns, n1.podIP, PORT),
    ]);
    t.equal(p12.received, 0);
    t.equal(p21.received, 0);
    t.equal(c12.outcome, 'connected');
    t.equal(c21.outcome, 'connected');
    t.same(await lab.faults(), [{ kind: 'block-proto', node: 'node-2', proto: 'icmp' }]);
  });

  t.test('cut cable isolates node-3; restored, it is back', async (t) => {
    await lab.cutCable('node-3');
    t.teardown(() => lab.clear());
    const [p13, p31, c13, p12, dns3] = await Promise.all([
      ping(lab, n1.ns, n3.podIP, { count: 1, waitS: 1 }),
      ping(lab, n3.ns, n1.podIP, { count: 1, waitS: 1 }),
      tcpConnect(lab, n1.ns, n3.podIP, PORT, 800),
      ping(lab, n1.ns, n2.podIP, { count: 2 }),
      resolve4(lab, n3.ns, lab.dnsIP, KUBE),
    ]);
    t.equal(p13.received, 0, 'node-1 -> node-3 lost');
    t.equal(p31.received, 0, 'node-3 -> node-1 lost');
    t.equal(c13.outcome, 'timeout');
    t.ok(dns3.error, `node-3 has no DNS (${dns3.error})`);
    t.equal(p12.received, 2, 'node-1 -> node-2 fine');
    t.same(await lab.faults(), [{ kind: 'cut', node: 'node-3' }]);
    await lab.restoreCable('node-3');
    t.equal((await ping(lab, n1.ns, n3.podIP, { count: 2 })).received, 2, 'back after restore');
    t.equal((await tcpConnect(lab, n3.ns, n2.podIP, PORT)).outcome, 'connected');
  });

  t.test('delay 20 ms on node-2 egress: ping RTT median 20 ms', async (t) => {
    await lab.delay('node-2', 20);
    t.teardown(() => lab.clear());
    const into = await ping(lab, n1.ns, n2.podIP, { count: 20, intervalS: 0.05 });
    const out = await ping(lab, n2.ns, n3.podIP, { count: 20, intervalS: 0.05 });
    const other = await ping(lab, n1.ns, n3.podIP, { count: 10, intervalS: 0.02 });
    t.equal(into.received, 20, 'nothing lost');
    t.ok(Math.abs(median(into.rttsMs) - 20) < 2, `node-1 -> node-2 median ${median(into.rttsMs)} ms`);
    t.ok(Math.abs(median(out.rttsMs) - 20) < 2, `node-2 -> node-3 median ${median(out.rttsMs)} ms`);
    t.ok(median(other.rttsMs) < 2, `node-1 -> node-3 unaffected (${median(other.rttsMs)} ms)`);
    // A TCP handshake pays the delay once (the SYN-ACK); more round trips pay it more (LAB-NOTES 16).
    const c = await tcpConnect(lab, n1.ns, n2.podIP, PORT);
    t.equal(c.outcome, 'connected');
    t.ok(c.elapsedMs >= 19 && c.elapsedMs < 60, `TCP connect ${c.elapsedMs.toFixed(1)} ms`);
    t.same(await lab.faults(), [{ kind: 'delay', node: 'node-2', ms: 20, jitterMs: 0 }]);
  });

  t.test('delay with jitter: spread around the delay, order kept', async (t) => {
    await lab.delay('node-2', 20, 5);
    t.teardown(() => lab.clear());
    const r = await ping(lab, n1.ns, n2.podIP, { count: 30, intervalS: 0.04 });
    t.equal(r.received, 30);
    const min = Math.min(...r.rttsMs);
    const max = Math.max(...r.rttsMs);
    // The delayer is a Python process: on a loaded machine a verdict can come late, never early.
    t.ok(min >= 14.5, `no RTT under 20 − 5 ms (+ path): min ${min}`);
    const late = r.rttsMs.filter((x) => x > 27).length;
    t.ok(late <= 3, `at most 3 of 30 over 20 + 5 ms (+ path), the scheduler's slack: ${late} (max ${max})`);
    t.ok(max - min > 3, `they spread (${(max - min).toFixed(1)} ms)`);
    t.ok(Math.abs(median(r.rttsMs) - 20) < 3, `median ${median(r.rttsMs)} ms`);
  });

  t.test('a new delay replaces the old one; the delayer dies with clear()', async (t) => {
    await lab.delay('node-2', 40);
    await lab.delay('node-2', 10);
    const r = await ping(lab, n1.ns, n2.podIP, { count: 10 });
    t.ok(Math.abs(median(r.rttsMs) - 10) < 2, `median ${median(r.rttsMs)} ms`);
    await lab.clear('node-2');
    t.same(await lab.faults(), []);
    const after = await ping(lab, n1.ns, n2.podIP, { count: 5 });
    t.ok(median(after.rttsMs) < 2, `no delay left (${median(after.rttsMs)} ms)`);
  });

  t.test('loss 30 % on node-2 egress: fping loses 20-40 % of 200 probes', async (t) => {
    await lab.loss('node-2', 30);
    t.teardown(() => lab.clear());
    const r = await fping(lab, n1.ns, n2.podIP, { count: 200, periodMs: 10 });
    t.equal(r.sent, 200, r.output);
    t.ok(r.lossRatio >= 0.2 && r.lossRatio <= 0.4, `loss ${(r.lossRatio * 100).toFixed(1)} %`);
    const other = await fping(lab, n1.ns, n3.podIP, { count: 50, periodMs: 10 });
    t.equal(other.lossRatio, 0, 'node-1 -> node-3 loses nothing');
    t.same(await lab.faults(), [{ kind: 'loss', node: 'node-2', percent: 30 }]);
    const drops = await lab.lossDrops('node-2');
    t.ok(drops >= r.sent - r.received && drops > 0, `the rule counted ${drops} drops (${r.sent - r.received} replies lost)`);
    await lab.clear();
    t.equal(await lab.lossDrops('node-2'), 0, 'no rule, no count');
  });

  t.test('MTU blackhole on node-2\'s cable: big DF packets vanish, small ones pass', async (t) => {
    await lab.mtu('node-2', 1400);
    t.teardown(() => lab.clear());
    const big = await ping(lab, n1.ns, n2.podIP, { count: 1, args: ['-M', 'do', '-s', '1472'] });
    const small = await ping(lab, n1.ns, n2.podIP, { count: 2, args: ['-M', 'do', '-s', '1300'] });
    t.equal(big.received, 0, '1500-byte packet lost');
    t.same(big.errors, [], 'without any ICMP error');
    t.equal(small.received, 2, '1328-byte packets pass');
    t.same(await lab.faults(), [{ kind: 'mtu', node: 'node-2', bytes: 1400 }]);
  });

  t.test('forward(): this process reaches a server inside the lab through a Unix socket', async (t) => {
    await tcpListener(lab, lab.aggregatorNs, lab.aggregatorIP, 8080);
    const fwd = await lab.forward(lab.aggregatorNs, lab.aggregatorIP, 8080);
    t.teardown(fwd.close);
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = net.connect(fwd.socketPath, () => s.end('through the lab'));
      let got = '';
      s.on('data', (b: Buffer) => (got += b.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
      s.setTimeout(5000, () => reject(new Error('no answer')));
    });
    t.equal(echoed, 'through the lab');
  });

  t.test('clear(node) removes the faults naming that node, on every node; clear() all of them', async (t) => {
    await lab.blockPair('node-1', 'node-2', 'drop');
    await lab.blockPair('node-3', 'node-1', 'unreachable');
    await lab.blockProtocol('node-1', 'icmp');
    await lab.blockProtocol('node-2', 'tcp');
    await lab.loss('node-2', 10);
    await lab.delay('node-2', 5);
    await lab.cutCable('node-2');
    await lab.mtu('node-2', 1280);
    await lab.clear('node-2');
    t.same(
      (await lab.faults()).sort((a, b) => a.kind.localeCompare(b.kind)),
      [
        { kind: 'block', mode: 'unreachable', src: 'node-3', dst: 'node-1', proto: 'all' },
        { kind: 'block-proto', node: 'node-1', proto: 'icmp' },
      ],
      'what does not name node-2 stays',
    );
    t.equal((await tcpConnect(lab, n1.ns, n2.podIP, PORT)).outcome, 'connected', 'drop node-1/node-2 gone (it was on both ends)');
    t.equal((await tcpConnect(lab, n3.ns, n1.podIP, PORT)).outcome, 'EHOSTUNREACH', 'node-3 -> node-1 still unreachable');
    t.ok(median((await ping(lab, n3.ns, n2.podIP, { count: 5 })).rttsMs) < 2, 'node-2 delay gone');
    await lab.clear();
    t.same(await lab.faults(), []);
    t.same(await allPairsPing(), [], 'all pairs ping again');
  });

  t.test('bad arguments are errors that say what was expected', async (t) => {
    await t.rejects(lab.blockPair('node-1', 'node-9', 'drop'), /no node "node-9"/);
    await t.rejects(lab.blockPair('node-1', 'node-1', 'drop'), /same node/);
    await t.rejects(lab.loss('node-1', 130), /expected 0-100/);
    await t.rejects(lab.delay('node-1', -1), /expected 0-60000/);
    await t.rejects(lab.mtu('node-1', 100), /expected an integer from 576 to 9000/);
    await t.rejects(lab.blockPort('node-1', 0), /expected an integer from 1 to 65535/);
    await t.rejects(lab.exec(n1.ns, ['ip', 'link', 'set', 'nosuchdev', 'up']), /ip netns exec \S+ ip link set nosuchdev up: exited with 1: .*nosuchdev/);
  });
});

t.test('DNS as Kubernetes runs it: two replicas behind a service IP, and their faults', async (t) => {
  const guard = await RootNamespaceGuard.record();
  const lab = await createLab({ nodes: 3, dnsReplicas: 2, dnsRecords: [{ name: KUBE, ip: '198.18.0.1' }] });
  t.teardown(() => lab.down());
  const [n1, n2, n3] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
  const [a, b] = lab.dnsReplicas as [(typeof lab.dnsReplicas)[0], (typeof lab.dnsReplicas)[0]];
  const svc = lab.dnsServiceIP;
  const outcomes = (rs: readonly DnsQueryResult[]) => rs.map((r) => r.outcome);
  /** Which replica answered each whoami.lab question (its IP), or the outcome when none did. */
  const who = (rs: readonly DnsQueryResult[]) => rs.map((r) => (r.outcome === 'ok' ? (r.answers[0] ?? '?') : r.outcome));

  t.test('names, addresses, namespaces', async (t) => {
    t.same(lab.dnsReplicas.map((r) => [r.name, r.ip, r.ns]), [
      ['dns-a', '198.18.0.2', `${lab.prefix}-dns`],
      ['dns-b', '198.18.0.4', `${lab.prefix}-dns-b`],
    ]);
    t.equal(lab.dnsIP, a.ip, 'dns-a is the lab DNS of old');
    t.equal(lab.dnsNs, a.ns);
    t.equal(svc, '198.18.0.10');
    for (const r of lab.dnsReplicas) t.ok(r.vethHost.length <= 15, `${r.vethHost} fits IFNAMSIZ`);
    t.ok(lab.namespaces.includes(b.ns));
    t.same(await lab.faults(), []);
  });

  t.test('each replica answers on its own IP, and says which it is', async (t) => {
    for (const n of lab.nodes) {
      t.same(who(await dnsQueries(lab, n.ns, a.ip, DNS_WHOAMI, { count: 2 })), [a.ip, a.ip], `${n.name} -> dns-a`);
      t.same(who(await dnsQueries(lab, n.ns, b.ip, DNS_WHOAMI, { count: 2 })), [b.ip, b.ip], `${n.name} -> dns-b`);
    }
    const kube = await dnsQueries(lab, n1.ns, b.ip, KUBE);
    t.same(kube[0]?.answers, ['198.18.0.1'], 'the records given are on every replica');
    const nx = await dnsQueries(lab, n1.ns, b.ip, 'nope.default.svc.cluster.local');
    t.equal(nx[0]?.outcome, 'nxdomain', 'an unknown name under cluster.local is NXDOMAIN (--local), not REFUSED');
  });

  t.test('the service IP spreads over both replicas; replies come back from the service IP', async (t) => {
    // dnsQuery accepts a reply only from the address it asked: every ok here is an un-NATed reply.
    const rs = await dnsQueries(lab, n2.ns, svc, DNS_WHOAMI, { count: 40 });
    const seen = who(rs);
    const fromA = seen.filter((x) => x === a.ip).length;
    const fromB = seen.filter((x) => x === b.ip).length;
    t.comment(`40 questions to ${svc}: ${fromA} from dns-a, ${fromB} from dns-b`);
    t.equal(fromA + fromB, 40, `all answered (${seen.join(' ')})`);
    t.ok(fromA >= 5 && fromB >= 5, 'both replicas seen');
    const tcp = await dnsQueries(lab, n3.ns, svc, KUBE, { count: 4, transport: 'tcp' });
    t.same(outcomes(tcp), ['ok', 'ok', 'ok', 'ok'], 'over TCP too');
    t.same((await resolve4(lab, n3.ns, svc, KUBE)).addresses, ['198.18.0.1'], "Node's own resolver too");
  });

  t.test('delay on dns-b: its answers are late, dns-a\'s are not', async (t) => {
    await lab.delay('dns-b', 30);
    t.teardown(() => lab.clear());
    t.same(await lab.faults(), [{ kind: 'delay', node: 'dns-b', ms: 30, jitterMs: 0 }]);
    const slow = await dnsQueries(lab, n1.ns, b.ip, DNS_WHOAMI, { count: 10 });
    const fast = await dnsQueries(lab, n1.ns, a.ip, DNS_WHOAMI, { count: 10 });
    const p50 = (rs: DnsQueryResult[]) => median(rs.map((r) => r.rttMs));
    t.same(outcomes(slow), Array(10).fill('ok'));
    t.ok(Math.abs(p50(slow) - 30) < 3, `dns-b median ${p50(slow).toFixed(2)} ms`);
    t.ok(p50(fast) < 3, `dns-a median ${p50(fast).toFixed(2)} ms`);
    await lab.clear('dns-b');
    t.same(await lab.faults(), []);
    t.ok(p50(await dnsQueries(lab, n1.ns, b.ip, DNS_WHOAMI, { count: 5 })) < 3, 'gone after clear(dns-b)');
  });

  t.test('dns-b stopped: its IP times out (no ICMP), the service IP answers only through dns-a', async (t) => {
    await lab.stopDns('dns-b');
    t.teardown(() => lab.clear());
    t.same(await lab.faults(), [{ kind: 'dns-stopped', replica: 'dns-b' }]);
    t.same(outcomes(await dnsQueries(lab, n1.ns, b.ip, DNS_WHOAMI, { count: 2, timeoutMs: 300 })), ['timeout', 'timeout']);
    t.same(who(await dnsQueries(lab, n1.ns, a.ip, DNS_WHOAMI, { count: 2 })), [a.ip, a.ip], 'dns-a unaffected');
    const viaSvc = who(await dnsQueries(lab, n2.ns, svc, DNS_WHOAMI, { count: 20, timeoutMs: 200 }));
    t.comment(`service IP with dns-b stopped: ${viaSvc.join(' ')}`);
    t.ok(viaSvc.includes('timeout') && viaSvc.includes(a.ip), 'some questions time out, the others dns-a answers');
    t.ok(viaSvc.every((x) => x === 'timeout' || x === a.ip), 'none from dns-b');
    await lab.startDns('dns-b');
    t.same(await lab.faults(), []);
    t.same(who(await dnsQueries(lab, n1.ns, b.ip, DNS_WHOAMI, { count: 2 })), [b.ip, b.ip], 'back after startDns');
    await lab.stopDns('dns-b');
    await lab.clear();
    t.same(who(await dnsQueries(lab, n1.ns, b.ip, DNS_WHOAMI)), [b.ip], 'and after clear()');
  });

  t.test('blockDns(node-2): node-2 times out on every DNS address, node-1 resolves', async (t) => {
    await lab.blockDns('node-2');
    t.teardown(() => lab.clear());
    t.same(await lab.faults(), [{ kind: 'dns-blocked', node: 'node-2' }]);
    for (const ip of [svc, a.ip, b.ip]) {
      t.same(outcomes(await dnsQueries(lab, n2.ns, ip, KUBE, { count: 2, timeoutMs: 300 })), ['timeout', 'timeout'], `node-2 -> ${ip}`);
      t.same(outcomes(await dnsQueries(lab, n1.ns, ip, KUBE, { count: 2 })), ['ok', 'ok'], `node-1 -> ${ip}`);
    }
    t.same(outcomes(await dnsQueries(lab, n2.ns, svc, KUBE, { transport: 'tcp', timeoutMs: 300 })), ['timeout'], 'TCP too');
    t.equal((await ping(lab, n2.ns, b.ip, { count: 2 })).received, 2, 'only DNS: node-2 still pings dns-b');
    await lab.clear('node-2');
    t.same(await lab.faults(), []);
    t.same(outcomes(await dnsQueries(lab, n2.ns, svc, KUBE, { count: 2 })), ['ok', 'ok'], 'resolves after clear(node-2)');
  });

  t.test('every DNS fault at once, one clear()', async (t) => {
    await lab.delay('dns-a', 10);
    await lab.stopDns('dns-b');
    await lab.blockDns('node-3');
    await lab.blockPair('node-1', 'node-2', 'drop');
    t.equal((await lab.faults()).length, 4);
    await lab.clear('node-3');
    t.same((await lab.faults()).map((f) => f.kind).sort(), ['block', 'delay', 'dns-stopped'], 'clear(node-3) took only its DNS block');
    await lab.clear();
    t.same(await lab.faults(), []);
    for (const n of lab.nodes) t.same(outcomes(await dnsQueries(lab, n.ns, svc, KUBE, { count: 3 })), ['ok', 'ok', 'ok'], `${n.name} resolves`);
  });

  t.test('with conntrack on (the service\'s NAT), an ICMP reject still stops a ping flow begun before it', async (t) => {
    // netmatrix's ICMP prober keeps one identifier per process: the same conntrack flow for every echo.
    const id = ['-e', '4242'];
    t.equal((await ping(lab, n1.ns, n2.podIP, { count: 2, args: id })).received, 2, 'the flow exists before the fault');
    await lab.blockPair('node-1', 'node-2', 'reject', 'icmp');
    const blocked = await ping(lab, n1.ns, n2.podIP, { count: 2, args: id });
    t.equal(blocked.received, 0, 'rejected');
    t.match(blocked.errors.join(' '), /Destination Port Unreachable/);
    t.equal((await ping(lab, n2.ns, n1.podIP, { count: 2, args: id })).received, 2, 'the other direction still answers');
    await lab.clear();
  });

  t.test('down leaves nothing, the root namespace as it was', async (t) => {
    await lab.down();
    t.notMatch((await run(['ip', 'netns', 'list'])).stdout, new RegExp(`^${lab.prefix}-`, 'm'), 'no namespace');
    t.same(await guard.changes(), []);
  });
});

t.test('two labs side by side, with the same addresses, do not meet', async (t) => {
  const [a, b] = await Promise.all([createLab({ nodes: 2 }), createLab({ nodes: 2 })]);
  t.teardown(() => Promise.all([a.down(), b.down()]));
  t.not(a.prefix, b.prefix);
  await b.cutCable('node-2');
  t.equal((await ping(a, a.nodes[0]!.ns, a.nodes[1]!.podIP, { count: 2 })).received, 2, 'lab a unaffected by lab b');
  t.equal((await ping(b, b.nodes[0]!.ns, b.nodes[1]!.podIP, { count: 1, waitS: 1 })).received, 0, 'lab b cut');
});

t.test('down leaves nothing: no namespace, veth, process, mount or state', async (t) => {
  const lab = await createLab({ nodes: 3 });
  t.teardown(() => lab.down());
  await lab.delay('node-1', 5);
  await tcpListener(lab, lab.nodes[1]!.ns, lab.nodes[1]!.podIP, PORT);
  const inodes = new Set<number>();
  for (const ns of lab.namespaces) inodes.add((await namespaceInode(ns)) ?? -1);
  const running = await pidsInNetns(inodes);
  t.ok(running.length >= 3, 'dnsmasq, a delayer and a listener run');
  const started = Date.now();
  await lab.down();
  t.comment(`3-node lab down in ${Date.now() - started} ms`);
  await lab.down();
  t.pass('down twice is fine');
  t.same(await pidsInNetns(inodes), [], 'no process left in the lab namespaces');
  const namespaces = await run(['ip', 'netns', 'list']);
  t.notMatch(namespaces.stdout, new RegExp(`^${lab.prefix}-`, 'm'), 'no namespace');
  t.notMatch((await run(['ip', '-o', 'link'])).stdout, new RegExp(lab.prefix), 'no veth in the root namespace');
  t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`/run/netns/${lab.prefix}-`), 'no netns mount');
  t.equal(readState(lab.prefix), undefined, 'no state file');
  // A zombie (exited, not yet reaped) has no namespace link any more, but it has exited.
  const alive = running.filter((pid) => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
  t.same(alive, [], 'every process that ran in the lab has exited');
});

t.test('a leftover lab is cleaned by prefix, and a crashed owner\'s lab by the stale sweep', async (t) => {
  const lost = await createLab({ nodes: 2 });
  t.teardown(() => lost.down());
  await Lab.destroy(lost.prefix);
  t.same((await listLabs()).filter((l) => l.prefix === lost.prefix), [], 'gone by prefix');

  const crashed = await createLab({ nodes: 2 });
  t.teardown(() => crashed.down());
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const state = readState(crashed.prefix);
  t.ok(state, stateFile(crashed.prefix));
  writeState({ ...state!, owner: { pid: Number(dead.stdout), startTime: 'gone' } });
  const listed = (await listLabs()).find((l) => l.prefix === crashed.prefix);
  t.equal(listed?.stale, true, 'seen as stale');
  t.ok((await sweepStaleLabs()).includes(crashed.prefix), 'swept');
  t.same((await listLabs()).filter((l) => l.prefix === crashed.prefix), []);
});

t.test('timings: 5-node lab up and down', async (t) => {
  const started = Date.now();
  const lab = await createLab({ nodes: 5 });
  const upMs = Date.now() - started;
  t.teardown(() => lab.down());
  t.equal((await ping(lab, lab.nodes[0]!.ns, lab.nodes[4]!.podIP, { count: 1 })).received, 1);
  const downStarted = Date.now();
  await lab.down();
  t.comment(`5-node lab up in ${upMs} ms, down in ${Date.now() - downStarted} ms`);
  t.ok(upMs < 10_000, 'up in under 10 s');
});

/** The lab CLI in this process, on one lab prefix, with what it prints captured. */
function labCli(prefix: string) {
  return async (...args: string[]) => {
    const printed: string[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (...a: unknown[]) => printed.push(a.join(' '));
    console.error = console.log;
    try {
      const code = await main([...args, '--prefix', prefix]);
      return { code, out: printed.join('\n') };
    } finally {
      console.log = log;
      console.error = error;
    }
  };
}

t.test('the CLI: up, fault, status, down, as a person would use it', async (t) => {
  const prefix = randomPrefix();
  t.teardown(() => Lab.destroy(prefix));
  const cli = labCli(prefix);
  const up = await cli('up', '2');
  t.equal(up.code, 0, up.out);
  t.match(up.out, `ip netns exec ${prefix}-node-1 `);
  t.match(up.out, /node dist\/agent\/main\.js --node-name node-2 --pod-ip 198\.18\.0\.12 --node-ip 198\.18\.1\.12 --aggregator 198\.18\.0\.3:9400/);
  t.equal(readState(prefix)?.owner, null, 'a person\'s lab has no owner process');
  t.equal((await cli('fault', 'drop', '1', 'node-2')).out, 'drop node-1 -> node-2 (both directions)');
  t.equal((await cli('fault', 'delay', 'node-2', '15', '1')).out, 'node-2: egress delay 15 ms ± 1 ms');
  const status = await cli('status');
  t.match(status.out, /drop node-1 -> node-2/);
  t.match(status.out, /node-2: egress delay 15 ms ± 1 ms/);
  t.match(status.out, /dnsmasq/);
  t.match(status.out, /delayer\.py/, 'the delayer outlives the command that started it');
  const bad = await cli('fault', 'loss', 'node-2', 'lots');
  t.equal(bad.code, 2);
  t.match(bad.out, /loss \(percent\): expected a number, got "lots"/);
  t.equal((await cli('fault', 'clear')).out, 'all faults cleared');
  t.match((await cli('status')).out, /faults: none/);
  t.equal((await cli('down')).code, 0);
  t.same((await listLabs()).filter((l) => l.prefix === prefix), []);
  t.match((await cli('status')).out, /no lab/);
});

t.test('the CLI with two DNS replicas: DNS faults by hand', async (t) => {
  const prefix = randomPrefix();
  t.teardown(() => Lab.destroy(prefix));
  const cli = labCli(prefix);
  const up = await cli('up', '2', '--dns-replicas', '2');
  t.equal(up.code, 0, up.out);
  t.match(up.out, /dns-b\s+\S+-dns-b\s+198\.18\.0\.4/);
  t.match(up.out, /dns svc\s+\(every node\)\s+198\.18\.0\.10\s+DNAT at random to dns-a, dns-b/);
  t.match(up.out, 'NETMATRIX_DNS_SERVERS=service=198.18.0.10,replica:dns-a=198.18.0.2,replica:dns-b=198.18.0.4');
  t.equal(Lab.attach(prefix).dnsReplicas.length, 2, 'a later command sees both replicas');
  t.equal((await cli('fault', 'delay', 'dns-b', '20')).out, 'dns-b: egress delay 20 ms');
  t.equal((await cli('fault', 'dns-stop', 'dns-a')).out, 'dns-a: DNS replica stopped (dnsmasq ended, cable down)');
  t.equal((await cli('fault', 'dns-block', '2')).out, 'node-2: DNS queries dropped (port 53 to every replica)');
  const status = await cli('status');
  t.match(status.out, /dns-b: egress delay 20 ms/);
  t.match(status.out, /dns-a: DNS replica stopped/);
  t.match(status.out, /node-2: DNS queries dropped/);
  t.equal((await cli('fault', 'dns-start', 'dns-a')).out, 'dns-a: DNS replica running');
  t.equal((await cli('fault', 'clear', 'dns-b')).out, 'dns-b: faults cleared');
  t.match((await cli('status')).out, /faults:\n  node-2: DNS queries dropped[^\n]*$/);
  t.equal((await cli('fault', 'clear')).out, 'all faults cleared');
  t.match((await cli('status')).out, /faults: none/);
  t.equal((await cli('fault', 'dns-stop', 'dns-z')).code, 1, 'an unknown replica is an error');
  t.equal((await cli('down')).code, 0);
  t.same((await listLabs()).filter((l) => l.prefix === prefix), []);
});
