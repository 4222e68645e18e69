// A real agent streams to a real aggregator over mutual TLS with the shared
// token; an agent with the wrong token or the wrong server name never gets a
// plan, and says why in its log.
import t from 'tap';
import { startAgent, type RunningAgent } from '../../../agent/agent.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { loadAgentCredentials } from '../../../agent/report/credentials.js';
import { systemClock } from '../../../common/clock.js';
import { silentLogger, type Logger } from '../../../common/logger.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { makeCerts, SERVER_NAME } from '../../helpers/certs.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

const certs = makeCerts();
t.teardown(() => certs.remove());

const TOKEN = 'agents-only-9f8e7d6c5b4a';
const agg = await testAggregator(
  { 'tls-cert': certs.server.cert, 'tls-key': certs.server.key, 'tls-client-ca': certs.caA, 'probe-interval': '500ms', 'probe-timeout': '200ms', 'probe-kinds': 'tcp' },
  silentLogger(),
  0,
  { NETMATRIX_TOKEN: TOKEN },
);
t.teardown(() => agg.stop());

/** As main.ts starts an agent: flags and env, credentials loaded from them. */
async function agent(name: string, podIP: string, flags: Record<string, string>, env: Record<string, string>, log: Logger = silentLogger()): Promise<RunningAgent> {
  const all: Record<string, string> = {
    'node-name': name,
    'pod-ip': podIP,
    listen: `${podIP}:0`,
    aggregator: `127.0.0.1:${agg.grpcPort}`,
    'allowed-cidrs': '127.0.0.0/8',
    'reconnect-max': '500ms',
    'connect-timeout': '2s',
    cni: 'off',
    icmp: 'off',
    ...flags,
  };
  const config = parseAgentConfig(Object.entries(all).flatMap(([k, v]) => [`--${k}`, v]), env);
  return startAgent(config, { clock: systemClock, log, version: 'test', credentials: loadAgentCredentials(config, env) });
}

const tls = { 'tls-ca': certs.caA, 'tls-cert': certs.clientA.cert, 'tls-key': certs.clientA.key, 'tls-server-name': SERVER_NAME };

async function refused(): Promise<number> {
  const line = (await agg.app.inject('/metrics')).body.split('\n').find((l) => l.startsWith('netmatrix_agent_streams_refused_total{reason="unauthenticated"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('mutual TLS and the token: connected, planned, reporting', async (t) => {
  const sink = logSink();
  const a = await agent('node-secure-a', '127.0.0.71', tls, { NETMATRIX_TOKEN: TOKEN }, sink.log);
  t.teardown(() => a.stop());
  const b = await agent('node-secure-b', '127.0.0.72', tls, { NETMATRIX_TOKEN: TOKEN });
  t.teardown(() => b.stop());
  await waitFor('both agents connected', () => agg.nodes.get('node-secure-a')?.agent.connected && agg.nodes.get('node-secure-b')?.agent.connected);
  await waitFor('a plan with the peer', () => a.reporter.plan?.peers.some((p) => p.nodeName === 'node-secure-b'));
  await waitFor('reports stored', () => (agg.nodes.get('node-secure-a')?.agent.highestSequence ?? 0) > 0);
  t.match(sink.find('aggregator stream security'), { tls: true, mutualTls: true, token: true });
  t.notOk(sink.find(/plaintext/), 'no plaintext warning');
  t.notMatch(JSON.stringify(sink.lines), TOKEN, 'the token is in no log line');
});

t.test('the wrong token: refused as UNAUTHENTICATED, retried, never planned', async (t) => {
  const before = await refused();
  const sink = logSink();
  const a = await agent('node-wrong-token', '127.0.0.73', tls, { NETMATRIX_TOKEN: 'guessed' }, sink.log);
  t.teardown(() => a.stop());
  const down = await waitFor('the refusal in the agent log', () => sink.lines.find((l) => l.msg === 'aggregator stream down; will reconnect' && /UNAUTHENTICATED/.test(String(l.why))));
  t.equal(down.level, 40, 'at warn');
  await waitFor('counted at least twice (the agent retries)', async () => (await refused()) >= before + 2);
  t.notOk(a.reporter.plan, 'no plan');
  t.notOk(agg.nodes.get('node-wrong-token'), 'never registered');
});

t.test('the wrong server name: the handshake fails, no plan', async (t) => {
  const sink = logSink();
  const a = await agent('node-wrong-name', '127.0.0.74', { ...tls, 'tls-server-name': 'not-the-aggregator.example' }, { NETMATRIX_TOKEN: TOKEN }, sink.log);
  t.teardown(() => a.stop());
  await waitFor('a failed attempt', () => sink.find('aggregator stream down; will reconnect'));
  t.notOk(a.reporter.plan);
  t.notOk(agg.nodes.get('node-wrong-name'));
});

t.test('a token over plaintext is warned about', async (t) => {
  const sink = logSink();
  const a = await agent('node-plain', '127.0.0.75', {}, { NETMATRIX_TOKEN: TOKEN }, sink.log);
  t.teardown(() => a.stop());
  t.ok(sink.find(/shared token goes to the aggregator over plaintext/));
});
