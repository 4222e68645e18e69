// The ICMP prober over live raw sockets on loopback, IPv4 and IPv6, and an
// agent in this process that probes a dual-stack peer (127.0.0.91 and ::1)
// with icmp and node over both families, through a real aggregator: both
// families' cells fill, Hello announces icmp, and the socket's counts are on
// /metrics. Root (CAP_NET_RAW) required; under CI=true its absence fails.
import t from 'tap';
import { createIcmpProber } from '../../../agent/probers/icmp.js';
import { IcmpSocket } from '../../../agent/probers/icmp-socket.js';
import { silentLogger } from '../../../common/logger.js';
import { testAgent } from '../../helpers/agent.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { missingHere } from '../../helpers/ci.js';
import { hello, rawStream } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

const never = () => new AbortController().signal;
const log = silentLogger();

const both = IcmpSocket.open({ log });
if (!both) {
  missingHere(t, 'no CAP_NET_RAW here (live ICMP prober and agent)');
} else {
  t.teardown(() => both.close());

  t.test('the prober echoes IPv4 and IPv6 targets; a family without a socket is an error that says so', async (t) => {
    const probe = createIcmpProber(both);
    t.match(await probe({ node: 'n', ip: '127.0.0.1', family: 'ipv4', port: 0 }, never(), log), { outcome: 'ok' });
    t.match(await probe({ node: 'n', ip: '::1', family: 'ipv6', port: 0 }, never(), log), { outcome: 'ok' });
    const v4only = IcmpSocket.open({ log, families: ['ipv4'] })!;
    t.teardown(() => v4only.close());
    t.same(await createIcmpProber(v4only)({ node: 'n', ip: '::1', family: 'ipv6', port: 0 }, never(), log), { outcome: 'error', rttUs: 0, detail: 'no ICMPv6 socket: not opened' });
  });

  t.test('an agent probes icmp and node over both families of a dual-stack peer', async (t) => {
    const agg = await testAggregator({ 'probe-interval': '200ms', 'probe-timeout': '150ms', 'probe-kinds': 'icmp,node' });
    t.teardown(() => agg.stop());
    const peer = rawStream(agg.grpcAddress);
    t.teardown(() => peer.close());
    peer.send({ hello: hello('node-peer', '127.0.0.91', { podIps: ['127.0.0.91', '::1'], nodeIps: ['127.0.0.92', '::1'] }) });
    await peer.next((m) => m.plan != null);
    const agent = await testAgent({ name: 'node-a', podIP: '127.0.0.90', aggregator: agg.grpcAddress, flags: { 'allowed-cidrs': '127.0.0.0/8,::1/128' } });
    t.teardown(() => agent.stop());
    t.same(agent.capabilities, ['icmp', 'tcp', 'http', 'dns'], 'icmp announced');

    type Cells = { nodes: string[]; cells: ({ status: string } | null)[][] };
    const cell = async (kind: string, family: string) => {
      const m = (await agg.app.inject(`/api/v1/matrix?kind=${kind}&family=${family}`)).json() as Cells;
      return m.cells[m.nodes.indexOf('node-a')]?.[m.nodes.indexOf('node-peer')]?.status;
    };
    const kinds = ['icmp', 'node'].flatMap((k) => ['ipv4', 'ipv6'].map((f) => [k, f] as const));
    await waitFor('icmp and node cells ok in both families', async () => (await Promise.all(kinds.map(([k, f]) => cell(k, f)))).every((s) => s === 'ok'), 15_000, 100);
    t.pass('icmp ipv4, icmp ipv6, node ipv4, node ipv6: ok');

    const text = await agent.metrics.registry.metrics();
    t.match(text, /^netmatrix_agent_icmp_available 1$/m);
    t.match(text, /^netmatrix_agent_icmp_packets_ignored_total \d+$/m, 'the socket\'s counts are read at the scrape');
    t.match(text, /^netmatrix_agent_icmp_pending_full_total 0$/m);
    t.match(text, /^netmatrix_agent_probes_total\{kind="node",outcome="ok"\} \d+$/m);
  });
}
