// Bad input on the agent stream: each refusal has its gRPC status, is logged
// and counted, and leaves every other agent's stream working.
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';
import { hello, rawStream } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

const sink = logSink();
const agg = await testAggregator({ 'grpc-max-message-bytes': '4096', 'probe-interval': '1s', 'probe-timeout': '500ms' }, sink.log);
t.teardown(() => agg.stop());
const address = `127.0.0.1:${agg.grpcPort}`;

// A healthy agent that must stay unaffected by everything below.
const good = rawStream(address);
t.teardown(() => good.close());
good.send({ hello: hello('good-node', '127.0.0.31') });
await good.next((m) => m.plan != null);

let seq = 0;
async function goodStillWorks(t: Test): Promise<void> {
  seq++;
  good.send({ report: { sequence: seq, round: seq, sentAtMs: Date.now(), results: [] } });
  const ack = await good.next((m) => m.ack?.sequence === seq);
  t.equal(ack.ack?.sequence, seq, 'the healthy stream still gets its acks');
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await agg.app.inject('/metrics').then((r) => r.body);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('a hello with an invalid node name is INVALID_ARGUMENT', async (t) => {
  const s = rawStream(address);
  s.send({ hello: hello('Bad_Name!', '127.0.0.32') });
  const st = await s.status;
  t.equal(st.code, grpc.status.INVALID_ARGUMENT);
  t.match(st.details, /node_name "Bad_Name!" is not a DNS-1123 subdomain/);
  t.ok(sink.find(/is not a DNS-1123 subdomain/), 'logged');
  t.equal(await metric('netmatrix_agent_streams_refused_total', 'reason="invalid_hello"'), 1, 'counted');
  t.equal(agg.nodes.get('Bad_Name!'), undefined, 'not registered');
  await goodStillWorks(t);
});

t.test('a second stream for a connected node is ALREADY_EXISTS', async (t) => {
  const s = rawStream(address);
  s.send({ hello: hello('good-node', '127.0.0.31', { instanceId: 'impostor' }) });
  const st = await s.status;
  t.equal(st.code, grpc.status.ALREADY_EXISTS);
  t.match(st.details, /node "good-node" already has a connected agent/);
  t.equal(await metric('netmatrix_agent_streams_refused_total', 'reason="already_connected"'), 1);
  t.equal(agg.nodes.get('good-node')?.agent.instanceId, 'good-node-instance', 'the connected agent keeps the node');
  await goodStillWorks(t);
});

t.test('a report before hello is FAILED_PRECONDITION', async (t) => {
  const s = rawStream(address);
  s.send({ report: { sequence: 1, round: 1, sentAtMs: Date.now(), results: [] } });
  const st = await s.status;
  t.equal(st.code, grpc.status.FAILED_PRECONDITION);
  t.match(st.details, /report before hello/);
  t.equal(await metric('netmatrix_agent_streams_refused_total', 'reason="report_before_hello"'), 1);
  await goodStillWorks(t);
});

t.test('an oversized message is RESOURCE_EXHAUSTED', async (t) => {
  const s = rawStream(address);
  s.send({ hello: hello('big-node', '127.0.0.33') });
  await s.next((m) => m.plan != null);
  s.send({
    report: {
      sequence: 1,
      round: 1,
      sentAtMs: Date.now(),
      results: [{ kind: 'PROBE_KIND_TCP', targetNode: 'good-node', family: 'ADDRESS_FAMILY_IPV4', outcome: 'OUTCOME_ERROR', detail: 'x'.repeat(6000) }],
    },
  });
  const st = await s.status;
  t.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
  t.match(st.details, /message of \d+ bytes exceeds the limit of 4096 bytes/);
  t.equal(await metric('netmatrix_agent_streams_refused_total', 'reason="oversized"'), 1, 'counted as a refusal');
  t.equal(await metric('netmatrix_agent_stream_errors_total', 'code="RESOURCE_EXHAUSTED"'), 1, 'and by status code');
  t.ok(sink.find(/exceeds the limit of 4096 bytes/), 'logged');
  t.equal(agg.nodes.get('big-node')?.agent.connected, false, 'the refused agent is no longer connected');
  await goodStillWorks(t);
});

t.test('a second hello on one stream is INVALID_ARGUMENT', async (t) => {
  const s = rawStream(address);
  s.send({ hello: hello('twice-node', '127.0.0.34') });
  await s.next((m) => m.plan != null);
  s.send({ hello: hello('twice-node', '127.0.0.34') });
  const st = await s.status;
  t.equal(st.code, grpc.status.INVALID_ARGUMENT);
  t.match(st.details, /hello sent twice/);
  await goodStillWorks(t);
});

t.test('duplicate reports are acked but stored once', async (t) => {
  const s = rawStream(address);
  t.teardown(() => s.close());
  s.send({ hello: hello('dup-node', '127.0.0.35') });
  await s.next((m) => m.plan != null);
  const report = {
    sequence: 7,
    round: 1,
    sentAtMs: Date.now(),
    results: [{ kind: 'PROBE_KIND_TCP' as const, targetNode: 'good-node', targetIp: '127.0.0.31', family: 'ADDRESS_FAMILY_IPV4' as const, outcome: 'OUTCOME_OK' as const, rttUs: 100, timestampMs: Date.now() }],
  };
  s.send({ report });
  s.send({ report });
  await s.next((m) => m.ack?.sequence === 7);
  await waitFor('the duplicate to be counted', () => agg.sessions.stats.duplicates >= 1, 2_000);
  t.equal(agg.sessions.stats.duplicates, 1, 'the replay is counted as a duplicate');
  t.equal(agg.nodes.get('dup-node')?.agent.results, 1, 'its result is stored once');
});

t.test('CNI snapshots: before hello refused; stored after; an oversized one dropped, the stream and the previous snapshot kept', async (t) => {
  const early = rawStream(address);
  early.send({ cni: { takenAtMs: Date.now(), full: true, files: [], binaries: [], pools: [], errors: [] } });
  const st = await early.status;
  t.equal(st.code, grpc.status.FAILED_PRECONDITION);
  t.match(st.details, /cni snapshot before hello/);

  const file = { name: '10-bridge.conflist', size: 300, sha256: 'ab'.repeat(32), valid: true, error: '', cniVersion: '1.0.0', network: 'lab', plugins: ['bridge', 'portmap'], ipamType: 'host-local', ranges: ['10.244.1.0/24'] };
  good.send({ cni: { takenAtMs: Date.now(), full: true, files: [file], binaries: [{ plugin: 'bridge', size: 10, sha256: 'cd'.repeat(32), error: '' }], pools: [{ network: 'lab', range: '10.244.1.0/24', size: 253, used: 7 }], errors: [] } });
  const stored = await waitFor('the snapshot stored', () => agg.cni.get('good-node'), 5_000, 20);
  t.match(stored.snapshot, { full: true, effective: null, files: [{ name: '10-bridge.conflist', valid: true, error: null, plugins: ['bridge', 'portmap'] }], pools: [{ used: 7, size: 253 }] });

  good.send({ cni: { takenAtMs: Date.now(), full: false, files: Array.from({ length: 65 }, (_, i) => ({ ...file, name: `f${i}`, plugins: [], ranges: [], sha256: '', network: '', cniVersion: '' })), binaries: [], pools: [], errors: [] } });
  await waitFor('the oversized snapshot refused', () => sink.find(/cni snapshot: 65 files \(at most 64\)/), 5_000, 20);
  t.equal(agg.cni.get('good-node'), stored, 'the previous snapshot stays');
  await goodStillWorks(t);
  t.match((await agg.app.inject('/metrics')).body, /netmatrix_cni_snapshots_rejected_total 1/);
});
