// A DNS server that sends noise before each answer (undecodable bytes, a reply
// with another ID): the agent's probes still succeed, and the agent counts
// what it dropped per server and logs it once, whatever the round count.
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import t from 'tap';
import { testAgent } from '../../helpers/agent.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

const udp = createSocket('udp4');
udp.on('message', (msg, from) => {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const nx = q.questions?.[0]?.name.startsWith('netmatrix-nx-') ?? false;
  const answer = (id: number | undefined) =>
    dnsPacket.encode({
      type: 'response',
      id,
      flags: dnsPacket.RECURSION_AVAILABLE | (nx ? 3 : 0),
      questions: q.questions,
      answers: nx ? [] : [{ type: 'A', name: q.questions![0]!.name, class: 'IN', ttl: 30, data: '10.96.0.1' }],
    });
  udp.send(Buffer.from('not dns at all'), from.port, from.address);
  udp.send(answer(((q.id ?? 0) + 1) & 0xffff), from.port, from.address);
  udp.send(answer(q.id), from.port, from.address);
});
await new Promise<void>((resolve) => udp.bind(0, '127.0.5.40', resolve));
t.teardown(() => new Promise<void>((resolve) => udp.close(() => resolve())));
const port = udp.address().port;

const agg = await testAggregator({
  'probe-interval': '200ms',
  'probe-timeout': '150ms',
  'dns-servers': `replica:noisy=127.0.5.40:${port}`,
  // UDP only: the server has no TCP port.
  'dns-tcp-check': 'off',
});
t.teardown(() => agg.stop());
const sink = logSink();
const agent = await testAgent({ name: 'node-a', podIP: '127.0.6.40', aggregator: agg.grpcAddress }, sink.log);
t.teardown(() => agent.stop());

t.test('noise before each answer: probes ok, two ignored per query, counted per server, logged once', async (t) => {
  const counted = await waitFor('at least 3 rounds of ignored replies', async () => {
    const m = await agent.metrics.registry.getSingleMetricAsString('netmatrix_agent_dns_replies_ignored_total');
    const n = Number(/netmatrix_agent_dns_replies_ignored_total\{server="noisy"\} (\d+)/.exec(m)?.[1] ?? 0);
    return n >= 12 && n;
  }, 10_000, 50);
  t.equal(counted % 2, 0, `two dropped per query (${counted})`);
  const probes = await agent.metrics.registry.getSingleMetricAsString('netmatrix_agent_probes_total');
  t.match(probes, /kind="dns",outcome="ok"\} [1-9]/, 'the answers after the noise count');
  t.notMatch(probes, /kind="dns",outcome="(malformed|timeout)"/, 'noise is not an outcome');
  const warned = sink.lines.filter((l) => /not the answer to our query/.test(String(l.msg)));
  t.equal(warned.length, 1, 'logged once for the server');
  t.match(warned[0], { server: 'noisy', address: `127.0.5.40:${port}` });
  const body = (await agg.app.inject('/api/v1/dns')).json() as { cells: { status: string }[][] };
  t.ok(body.cells[0]!.every((c) => c.status === 'ok' || c.status === 'unknown'), 'the aggregator sees a healthy server');
});
