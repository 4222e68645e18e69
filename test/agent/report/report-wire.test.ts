// Reports encoded once, split to fit the limits, framed per send: what the
// aggregator decodes is what proto-loader would have encoded, every framed
// report fits the message limit, and no result is lost or repeated by a split.
import t from 'tap';
import { encodeRecords, encodeResults, frameReport, FRAME_OVERHEAD, splitResults, toWire, type WireReport } from '../../../agent/report/report-wire.js';
import type { ProbeSpec } from '../../../agent/peers.js';
import { TIMEOUT } from '../../../agent/probers/types.js';
import type { ProbeRecord } from '../../../agent/scheduler.js';
import { loadProto, type AgentMessage__Output, type WireProbeResult } from '../../../proto/load.js';

const decode = (b: Buffer) => loadProto().netmatrix.v1.Collector.service.Connect.requestDeserialize(b) as AgentMessage__Output;

function result(i: number, detail = ''): WireProbeResult {
  return {
    kind: 'PROBE_KIND_TCP',
    targetNode: `node-${i}`,
    targetIp: `10.0.${i >> 8}.${i & 255}`,
    family: 'ADDRESS_FAMILY_IPV4',
    outcome: i % 3 === 0 ? 'OUTCOME_TIMEOUT' : 'OUTCOME_OK',
    rttUs: 100 + i,
    timestampMs: 1_700_000_000_000 + i,
    detail,
  };
}

function report(sequence: number, round: number, results: readonly WireProbeResult[]): WireReport {
  const [piece] = splitResults(encodeResults(results), 64 * 1024 * 1024, 1_000_000);
  return { sequence, round, results: piece!.results, body: piece!.body, bytes: piece!.body.length };
}

t.test('a framed report decodes as the report it was made from', async (t) => {
  const results: WireProbeResult[] = [result(1), result(2, 'connect ECONNREFUSED'), { ...result(3), kind: 'PROBE_KIND_HTTP', http: { connectUs: 1, firstByteUs: 2, totalUs: 3 } }];
  const m = decode(frameReport(report(7, 3, results), 1_700_000_123_456));
  t.equal(m.msg, 'report');
  t.equal(m.report!.sequence, 7);
  t.equal(m.report!.round, 3);
  t.equal(m.report!.sentAtMs, 1_700_000_123_456);
  t.same(m.report!.results.map((r) => [r.targetNode, r.outcome, r.rttUs, r.detail, r.timestampMs]), results.map((r) => [r.targetNode, r.outcome, r.rttUs, r.detail, r.timestampMs]));
  t.same(m.report!.results[2]!.http, { connectUs: 1, firstByteUs: 2, totalUs: 3 });
});

t.test('numbers beyond 32 bits and an empty round survive framing', async (t) => {
  const big = decode(frameReport(report(2 ** 40 + 3, 2 ** 33, [result(1)]), 2 ** 52));
  t.equal(big.report!.sequence, 2 ** 40 + 3);
  t.equal(big.report!.round, 2 ** 33);
  t.equal(big.report!.sentAtMs, 2 ** 52);
  const empty = report(1, 1, []);
  t.equal(empty.results, 0);
  t.equal(empty.bytes, 0);
  t.same(decode(frameReport(empty, 5)).report!.results, [], 'an empty round is one empty report: the agent is alive');
});

t.test('a round larger than the message limit is split into reports that each fit, in order, none lost', async (t) => {
  const results = Array.from({ length: 3_000 }, (_, i) => result(i, 'x'.repeat(i % 50)));
  const encoded = encodeResults(results);
  for (const limit of [4 * 1024, 16 * 1024, 64 * 1024, 1024 * 1024]) {
    const pieces = splitResults(encoded, limit, 1_000_000);
    const framed = pieces.map((p, i) => frameReport({ sequence: 2 ** 40 + i, round: 2 ** 33, results: p.results, body: p.body, bytes: p.body.length }, 2 ** 52));
    t.ok(framed.every((f) => f.length <= limit), `${limit}: every framed report within the limit (largest ${Math.max(...framed.map((f) => f.length))})`);
    let taken = 0;
    let roomLeft = false;
    for (const p of pieces.slice(0, -1)) {
      taken += p.results;
      if (p.body.length + encoded.ends[taken]! - encoded.ends[taken - 1]! <= limit - FRAME_OVERHEAD) roomLeft = true;
    }
    t.notOk(roomLeft, `${limit}: no report could have taken the next result as well`);
    const decoded = framed.flatMap((f) => decode(f).report!.results.map((r) => r.targetNode));
    t.same(decoded, results.map((r) => r.targetNode), `${limit}: ${pieces.length} reports, every result once, in order`);
  }
  t.equal(splitResults(encoded, 64 * 1024 * 1024, 1_000_000).length, 1, 'within the limit: one report');
});

t.test('at most maxResults results per report', async (t) => {
  const encoded = encodeResults(Array.from({ length: 10 }, (_, i) => result(i)));
  t.same(splitResults(encoded, 64 * 1024 * 1024, 4).map((p) => p.results), [4, 4, 2]);
  t.same(splitResults(encoded, 64 * 1024 * 1024, 1).map((p) => p.results), Array(10).fill(1));
  t.same(splitResults(encoded, 64 * 1024 * 1024, 10).map((p) => p.results), [10]);
});

t.test('a single result larger than the limit goes alone (the aggregator refuses it; it is dropped then)', async (t) => {
  const encoded = encodeResults([result(1), result(2, 'y'.repeat(5_000)), result(3)]);
  const pieces = splitResults(encoded, 1_024, 1_000_000);
  t.same(pieces.map((p) => p.results), [1, 1, 1]);
  t.ok(pieces[1]!.body.length > 1_024);
});

t.test('each report owns its bytes: what the outbox counts is what it holds', async (t) => {
  const encoded = encodeResults(Array.from({ length: 100 }, (_, i) => result(i)));
  for (const p of splitResults(encoded, 2_048, 1_000_000)) {
    t.equal(p.body.buffer.byteLength, p.body.length, 'not a view into a larger buffer');
  }
});

t.test('encodeRecords writes the bytes the proto loader writes for the same results', async (t) => {
  const spec = (kind: ProbeSpec['kind'], node: string, ip: string, family: ProbeSpec['family'] = 'ipv4', dns?: ProbeSpec['dns']): ProbeSpec => ({ id: `${kind}/${node}/${ip}`, kind, node, ip, family, port: 4242, ...(dns ? { dns } : {}) });
  const icmp = spec('icmp', 'node-1', '10.0.0.1');
  const records: ProbeRecord[] = [
    { spec: icmp, result: { outcome: 'ok', rttUs: 123 }, startedAt: 1_700_000_000_123 },
    { spec: icmp, result: TIMEOUT, startedAt: 1_700_000_000_223, loopDelayUs: 160_000 },
    { spec: spec('node', 'nöde-2', 'fd00::2', 'ipv6'), result: { outcome: 'unreachable', rttUs: 0, detail: 'ICMP host unreachable from fd00::1 — ünïcode' }, startedAt: 1 },
    { spec: spec('tcp', 'node-3', '10.0.0.3'), result: { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED' }, startedAt: 0, loopDelayUs: 0 },
    { spec: spec('http', 'node-4', '10.0.0.4'), result: { outcome: 'ok', rttUs: 2 ** 31, http: { connectUs: 1, firstByteUs: 300, totalUs: 70_000 } }, startedAt: 2 ** 52 },
    { spec: spec('dns', '', '10.96.0.10', 'ipv4', { server: 'kube-dns', role: 'service', name: 'kubernetes.default.svc.cluster.local.', type: 'A' }), result: { outcome: 'ok', rttUs: 800, dns: { name: 'kubernetes.default.svc.cluster.local.', answers: ['10.96.0.1'], rcode: 'NOERROR', tcp: false, ignored: 1 } }, startedAt: 5 },
    { spec: icmp, result: { outcome: 'ok', rttUs: 127 }, startedAt: 1_700_000_000_323 },
  ];
  const direct = encodeRecords(records);
  const loader = encodeResults(records.map(toWire));
  t.equal(direct.body.toString('hex'), loader.body.toString('hex'), 'the same bytes');
  t.same(direct.ends, loader.ends, 'and the same result boundaries');
  const [piece] = splitResults(direct, 64 * 1024 * 1024, 1_000_000);
  const m = decode(frameReport({ sequence: 1, round: 1, results: piece!.results, body: piece!.body, bytes: piece!.body.length }, 7));
  t.same(m.report!.results.map((r) => [r.targetNode, r.outcome, r.rttUs, r.loopDelayUs]), [
    ['node-1', 'OUTCOME_OK', 123, 0],
    ['node-1', 'OUTCOME_TIMEOUT', 0, 160_000],
    ['nöde-2', 'OUTCOME_UNREACHABLE', 0, 0],
    ['node-3', 'OUTCOME_REFUSED', 0, 0],
    ['node-4', 'OUTCOME_OK', 2 ** 31, 0],
    ['', 'OUTCOME_OK', 800, 0],
    ['node-1', 'OUTCOME_OK', 127, 0],
  ]);
  t.same(encodeRecords([]).body.length, 0, 'an empty round: no bytes');
});
