// The shared agent token: a stream without it, or with another, is
// UNAUTHENTICATED before its hello is read, logged without the token and
// counted; with it, the stream works as always. Plaintext here (the token works
// with or without TLS), so the aggregator warns at startup.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';
import { hello, rawStream } from '../../helpers/raw-client.js';

const TOKEN = 'n3tm4trix-shared-token-0123456789';
const sink = logSink();
const agg = await testAggregator({}, sink.log, 0, { NETMATRIX_TOKEN: TOKEN });
t.teardown(() => agg.stop());
const address = `127.0.0.1:${agg.grpcPort}`;

async function refused(): Promise<number> {
  const text = (await agg.app.inject('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith('netmatrix_agent_streams_refused_total{reason="unauthenticated"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('startup warns that the token crosses plaintext', async (t) => {
  t.ok(sink.find(/shared token over plaintext gRPC/), 'warned');
  t.match(sink.find('security settings'), { tls: false, agentToken: true, apiToken: false });
});

const cases: [string, string | undefined, RegExp][] = [
  ['no authorization metadata', undefined, /without a bearer token/],
  ['a wrong token', 'Bearer not-the-token', /wrong bearer token/],
  ['the token with one character more', `Bearer ${TOKEN}x`, /wrong bearer token/],
  ['the token without "Bearer"', TOKEN, /without a bearer token/],
];
let expected = 0;
for (const [what, authorization, details] of cases) {
  t.test(`${what} is UNAUTHENTICATED, logged and counted`, async (t) => {
    const before = sink.lines.length;
    const s = rawStream(address, authorization !== undefined ? { authorization } : {});
    s.send({ hello: hello('node-intruder', '127.0.0.61') });
    const st = await s.status;
    t.equal(st.code, grpc.status.UNAUTHENTICATED);
    t.match(st.details, details);
    t.equal(agg.nodes.get('node-intruder'), undefined, 'not registered');
    t.equal(await refused(), ++expected, 'counted');
    const logged = sink.lines.slice(before).find((l) => l.reason === 'unauthenticated');
    t.ok(logged, 'logged');
    t.notMatch(JSON.stringify(sink.lines), TOKEN, 'the token is in no log line');
    if (authorization) t.notMatch(JSON.stringify(sink.lines), authorization, 'nor what was presented');
  });
}

t.test('the right token gets the plan', async (t) => {
  const s = rawStream(address, { authorization: `Bearer ${TOKEN}` });
  t.teardown(() => s.close());
  s.send({ hello: hello('node-member', '127.0.0.62') });
  t.ok((await s.next((m) => m.plan != null)).plan);
  t.equal(agg.nodes.get('node-member')?.agent.connected, true);
  t.equal(await refused(), expected, 'not counted');
});

t.test('"bearer" in any case is the scheme (RFC 7235)', async (t) => {
  const s = rawStream(address, { authorization: `bearer ${TOKEN}` });
  t.teardown(() => s.close());
  s.send({ hello: hello('node-lower', '127.0.0.63') });
  t.ok((await s.next((m) => m.plan != null)).plan);
});
