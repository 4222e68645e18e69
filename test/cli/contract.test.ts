// The CLI against a real aggregator and two real agents on loopback: what the
// API really serves passes the CLI's shape checks, and the CLI asks for what
// the API really answers. Fixtures cannot drift from the server unnoticed here.
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import { main, type Io } from '../../cli/run.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { waitFor } from '../helpers/wait.js';

const agg = await testAggregator({ 'probe-interval': '300ms', 'probe-timeout': '150ms', window: '10s' });
const agents: RunningAgent[] = [];
t.teardown(async () => {
  for (const a of agents) await a.stop();
  await agg.stop();
});

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {}, isTTY: false };
  const code = await main([...args, '--server', agg.httpUrl], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('before any agent: no nodes, exit 0', async (t) => {
  const m = await cli(['matrix', '--kind', 'tcp']);
  t.equal(m.err, '');
  t.equal(m.code, 0);
  t.match(m.out, `no nodes yet: are agents connected to ${agg.httpUrl}?`);
  const s = await cli(['status']);
  t.equal(s.code, 0);
  t.equal(s.out, `no nodes yet: are agents connected to ${agg.httpUrl}?`);
});

t.test('two agents: the tcp matrix all ok, status healthy', async (t) => {
  for (const [i, name] of ['node-a', 'node-b'].entries()) {
    agents.push(await testAgent({ name, podIP: `127.0.0.${61 + i}`, nodeIP: `127.0.1.${61 + i}`, aggregator: agg.grpcAddress }));
  }
  await waitFor('both tcp cells ok', async () => (await cli(['matrix', '--kind', 'tcp', '--json'])).out.match(/"status": "ok"/g)?.length === 2, 15_000, 100);
  const m = await cli(['matrix', '--kind', 'tcp']);
  t.equal(m.err, '');
  t.equal(m.code, 0);
  t.match(m.out, /^1 node-a {3}· {2}✓$/m);
  t.match(m.out, /^2 node-b {3}✓ {2}·$/m);
  t.match(m.out, /every pair is ok$/);

  const s = await cli(['status']);
  t.equal(s.err, '');
  t.equal(s.code, 0, s.out);
  t.match(s.out, /^node-a {2}.*connected/m);
  t.match(s.out, /^tcp {3}2 {3}0 {9}0 {8}0/m);
  t.match(s.out, /✓ all 2 agents connected, no failing cell/);

  const j = JSON.parse((await cli(['status', '--json'])).out) as { nodes: { name: string }[]; matrices: Record<string, unknown> };
  t.same(j.nodes.map((n) => n.name), ['node-a', 'node-b']);
  t.same(Object.keys(j.matrices), ['icmp', 'tcp', 'http', 'node']);
});
