// Bad input on the agent stream: each refusal has its gRPC status, is logged
// and counted, and leaves every other agent's stream working.
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';
import { hello, rawStream } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';
import { loadProto, type AggregatorMessage__Output } from '../../../proto/load.js';

const sink = logSink();
const agg = await testAggregator({ 'grpc-max-message-bytes': '4096', 'max-results-per-report': '100', 'probe-interval': '1s', 'probe-timeout': '500ms' }, sink.log);
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

/** A stream that writes the bytes it is given, for messages no encoder would write. */
function bytesStream(t: Test) {
  const connect = loadProto().netmatrix.v1.Collector.service.Connect;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(connect.path, (b: Buffer) => b, connect.responseDeserialize, new grpc.Metadata(), { deadline: Date.now() + 30_000 });
  const messages: AggregatorMessage__Output[] = [];
  call.on('data', (m: AggregatorMessage__Output) => messages.push(m));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  t.teardown(() => (call.cancel(), client.close()));
  return { call, messages, status, encode: connect.requestSerialize };
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

t.test('a report with more results than --max-results-per-report is INVALID_ARGUMENT, nothing of it stored', async (t) => {
  const s = rawStream(address);
  s.send({ hello: hello('chatty-node', '127.0.0.38') });
  await s.next((m) => m.plan != null);
  const result = { kind: 'PROBE_KIND_TCP' as const, targetNode: 'good-node', family: 'ADDRESS_FAMILY_IPV4' as const, outcome: 'OUTCOME_OK' as const };
  s.send({ report: { sequence: 1, round: 1, sentAtMs: Date.now(), results: Array.from({ length: 101 }, () => result) } });
  const st = await s.status;
  t.equal(st.code, grpc.status.INVALID_ARGUMENT);
  t.match(st.details, /report has 101 results \(at most 100\)/);
  t.equal(await metric('netmatrix_agent_streams_refused_total', 'reason="too_many_results"'), 1);
  t.equal(agg.nodes.get('chatty-node')?.agent.results, 0, 'nothing stored');
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

t.test('a report that is not well-formed protobuf ends the stream with INTERNAL, logged with what was wrong', async (t) => {
  const s = bytesStream(t);
  s.call.write(s.encode({ hello: hello('garbled-node', '127.0.0.36') }));
  await waitFor('the plan', () => s.messages.some((m) => m.plan != null), 5_000, 20);
  // A Report of 3 bytes whose only result claims 2 bytes, with 1 left.
  s.call.write(Buffer.from([0x12, 0x03, 0x22, 0x02, 0x08]));
  const st = await s.status;
  t.equal(st.code, grpc.status.INTERNAL);
  t.match(sink.find('agent message could not be decoded'), { bytes: 5, error: 'Report: length 2 runs past the end of its message (1 bytes left) at byte 4' });
  await waitFor('the agent gone', () => agg.nodes.get('garbled-node')?.agent.connected === false, 2_000);
  await goodStillWorks(t);
});

t.test('a report with fields this aggregator does not know is stored and acked (they are skipped)', async (t) => {
  const s = bytesStream(t);
  s.call.write(s.encode({ hello: hello('newer-node', '127.0.0.37') }));
  await waitFor('the plan', () => s.messages.some((m) => m.plan != null), 5_000, 20);
  const varint = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...varint(Math.floor(v / 0x80))]);
  const len = (tag: number, bytes: number[]) => [tag, ...varint(bytes.length), ...bytes];
  const result = [
    ...[0x08, 1], // kind ICMP
    ...len(0x12, [...Buffer.from('good-node')]),
    ...[0x20, 1, 0x28, 1, 0x30, 100], // family IPv4, outcome OK, rtt 100 µs
    ...[0x38, ...varint(Date.now())],
    ...[0x9a, 0x01, ...varint(18), ...Buffer.from('from a newer agent')], // field 19, length-delimited
    ...[0xa3, 0x01, 0x08, 0x07, 0xa4, 0x01], // a group, field 20, holding a varint
  ];
  const report = [0x08, 1, 0xf8, 0x07, 42, ...len(0x22, result)]; // sequence 1, unknown field 127 (varint)
  s.call.write(Buffer.from(len(0x12, report)));
  await waitFor('the ack', () => s.messages.some((m) => m.ack != null && Number(m.ack.sequence) === 1), 5_000, 20);
  t.equal(agg.nodes.get('newer-node')?.agent.results, 1, 'its result is stored');
});


t.test('the resume point comes before the plan: Ack 0 on a first hello, the highest stored sequence when the instance reconnects', async (t) => {
  const kinds = (ms: readonly AggregatorMessage__Output[]) => ms.map((m) => (m.ack ? `ack ${Number(m.ack.sequence)}` : m.plan ? 'plan' : '?'));
  const first = rawStream(address);
  first.send({ hello: hello('resume-node', '127.0.0.39', { instanceId: 'resume-1' }) });
  await first.next((m) => m.plan != null);
  t.same(kinds(first.messages).slice(0, 2), ['ack 0', 'plan'], 'nothing stored yet: Ack 0, then the plan');
  first.send({ report: { sequence: 5, round: 5, sentAtMs: Date.now(), results: [] } });
  await first.next((m) => m.ack?.sequence === 5);
  first.close();
  await waitFor('the first stream gone', () => agg.nodes.get('resume-node')?.agent.connected === false, 5_000, 20);

  const again = rawStream(address);
  t.teardown(() => again.close());
  again.send({ hello: hello('resume-node', '127.0.0.39', { instanceId: 'resume-1' }) });
  await again.next((m) => m.plan != null);
  t.same(kinds(again.messages).slice(0, 2), ['ack 5', 'plan'], 'the same instance back: its resume point, then the plan');
  await goodStillWorks(t);
});
