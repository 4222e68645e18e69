// The simulator's hand-written reports decode, with the project's own
// Collector definition, into exactly what the fault model says: every peer but
// the agent itself × every kind of the plan, the right addresses and
// families, a peer without a node IP left out of `node`, a peer the
// simulation does not run answered by nothing (timeout), the DNS probes with
// their healthy answers; a sampled round only its targets. Rounds too large
// for one report are split by results and by bytes, with consecutive
// sequences, losing nothing.
import t from 'tap';
import { loadProto, type ProbeResult__Output } from '../../proto/load.js';
import { outcomes, PAIR_KINDS, probeKinds } from '../../common/vocabulary.js';
import { FaultModel, type Probe } from '../../sim/faults.js';
import { nodeIp, podIp, simNodes } from '../../sim/nodes.js';
import type { SimPlan } from '../../sim/plan.js';
import { ReportEncoder } from '../../sim/report-wire.js';

const def = loadProto().netmatrix.v1.Collector.service.Connect;
const nodes = simNodes(6, 2);
const model = new FaultModel(6, nodes.zoneOf, { dead: [5], partitions: [[0, 1]], loss: new Map([[2, 0.5]]), slowMs: new Map([[3, 20]]), backgroundLoss: 0.1, badCells: 0.2, seed: 7 });
const kinds = ['icmp', 'tcp', 'http', 'node'].map((k) => PAIR_KINDS.indexOf(k as never));
const plan: SimPlan = {
  epoch: 3,
  intervalMs: 5000,
  timeoutMs: 1000,
  kinds,
  peers: [
    ...nodes.names.map((name, index) => ({ name, index, podIp: podIp(index), nodeIp: index === 4 ? '' : nodeIp(index) })),
    { name: 'elsewhere', index: -1, podIp: '2001:db8::7', nodeIp: '2001:db8::8' },
  ],
  dns: [
    { server: 'service', address: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', type: 'a', nx: false, tcpCheck: false },
    { server: 'service', address: '10.96.0.10', name: '', type: 'a', nx: true, tcpCheck: false },
    { server: 'service', address: '10.96.0.10', name: 'kubernetes.default.svc.cluster.local', type: 'a', nx: false, tcpCheck: true },
  ],
  bytes: 0,
};

function decode(bytes: Buffer) {
  const r = def.requestDeserialize(bytes).report;
  if (!r) throw new Error('not a report');
  return r;
}

/** What the fault model says for src → the peer at position i, kind k. */
function expected(src: number, i: number, k: number, round: number, active: boolean): Probe {
  return model.probe(src, plan.peers[i]!.index, k, round, active, 0, { outcome: 0, rttUs: 0 });
}

t.test('a round decodes into what the fault model says, and the DNS probes', async (t) => {
  const enc = new ReportEncoder(model, { maxMessageBytes: 4 * 1024 * 1024, maxResultsPerReport: 50_000 });
  for (const active of [false, true]) {
    const r = enc.encode(1, plan, 9, 4, 1_700_000_000_123, 1_700_000_001_123, active, 0);
    t.equal(r.messages.length, 1);
    const report = decode(r.messages[0]!);
    t.equal(report.sequence, 4);
    t.equal(report.round, 9);
    t.equal(report.sentAtMs, 1_700_000_001_123);
    const pairs = report.results.filter((x) => x.kind !== 'PROBE_KIND_DNS');
    // 6 nodes but itself, plus one stranger, × 4 kinds, less node-0004's node probe.
    t.equal(pairs.length, 6 * 4 - 1);
    t.equal(r.results, report.results.length);
    const seen = new Set<string>();
    let mismatches = 0;
    for (const x of pairs) {
      const i = plan.peers.findIndex((p) => p.name === x.targetNode);
      const kind = probeKinds.fromProto(x.kind);
      const k = PAIR_KINDS.indexOf(kind as never);
      const want = expected(1, i, k, 9, active);
      const ip = kind === 'node' ? plan.peers[i]!.nodeIp : plan.peers[i]!.podIp;
      const ok =
        x.targetIp === ip &&
        x.family === (ip.includes(':') ? 'ADDRESS_FAMILY_IPV6' : 'ADDRESS_FAMILY_IPV4') &&
        x.outcome === outcomes.toProto(outcomes.words[want.outcome]!) &&
        x.rttUs === want.rttUs &&
        x.timestampMs === 1_700_000_000_123;
      if (!ok) mismatches++;
      seen.add(`${x.targetNode}/${kind}`);
    }
    t.equal(mismatches, 0, `every result is the fault model's (faults ${active ? 'on' : 'off'})`);
    t.notOk(seen.has(`${nodes.names[1]}/icmp`), 'the agent does not probe itself');
    t.notOk(seen.has(`${nodes.names[4]}/node`), 'a peer without a node IP gets no node probe');
    t.equal(pairs.find((x) => x.targetNode === 'elsewhere')?.outcome, 'OUTCOME_TIMEOUT', 'nothing answers a node the simulation does not run');
    const dns = report.results.filter((x) => x.kind === 'PROBE_KIND_DNS');
    t.same(
      dns.map((x: ProbeResult__Output) => [x.targetIp, x.outcome, x.dns?.server, x.dns?.name, x.dns?.nxCheck, x.dns?.tcpCheck, x.dns?.answers, x.dns?.rcode]),
      [
        ['10.96.0.10', 'OUTCOME_OK', 'service', 'kubernetes.default.svc.cluster.local', false, false, ['10.96.0.1'], 'NOERROR'],
        ['10.96.0.10', 'OUTCOME_NXDOMAIN', 'service', '', true, false, [], 'NXDOMAIN'],
        ['10.96.0.10', 'OUTCOME_OK', 'service', 'kubernetes.default.svc.cluster.local', false, true, ['10.96.0.1'], 'NOERROR'],
      ],
    );
  }
  const dead = decode(enc.encode(0, plan, 9, 1, 1, 2, true, 0).messages[0]!).results.filter((x) => x.targetNode === nodes.names[5]);
  t.ok(dead.length === 4 && dead.every((x) => x.outcome === 'OUTCOME_TIMEOUT'), 'faults on: every probe towards the dead node times out');
});

t.test('a sampled round: only its targets, and which of them failed', async (t) => {
  const enc = new ReportEncoder(model, { maxMessageBytes: 4 * 1024 * 1024, maxResultsPerReport: 50_000 });
  const r = enc.encode(0, plan, 2, 1, 1, 2, true, 0, [5, 2, 6]);
  const report = decode(r.messages[0]!);
  t.same([...new Set(report.results.filter((x) => x.targetNode !== '').map((x) => x.targetNode))], [nodes.names[5], nodes.names[2], 'elsewhere']);
  t.ok(enc.failed.includes(5) && enc.failed.includes(6), 'the dead node and the stranger failed');
  const wantFailed = [5, 2, 6].filter((i) => kinds.some((k) => expected(0, i, k, 2, true).outcome !== outcomes.index('ok')));
  t.same(enc.failed, wantFailed);
});

t.test('rounds are split to fit the results and bytes limits, nothing lost', async (t) => {
  const whole = decode(new ReportEncoder(model, { maxMessageBytes: 4 * 1024 * 1024, maxResultsPerReport: 50_000 }).encode(1, plan, 3, 1, 1, 2, false, 0).messages[0]!).results;
  for (const limits of [
    { maxMessageBytes: 4 * 1024 * 1024, maxResultsPerReport: 5 },
    { maxMessageBytes: 200, maxResultsPerReport: 50_000 },
  ]) {
    const r = new ReportEncoder(model, limits).encode(1, plan, 3, 10, 1, 2, false, 0);
    t.ok(r.messages.length > 1, `split into ${r.messages.length} reports`);
    const reports = r.messages.map(decode);
    t.same(reports.map((x) => x.sequence), reports.map((_, i) => 10 + i), 'consecutive sequences');
    t.ok(reports.every((x) => x.results.length <= limits.maxResultsPerReport), 'at most maxResultsPerReport each');
    t.ok(r.messages.every((m) => m.length <= limits.maxMessageBytes), 'at most maxMessageBytes each');
    t.same(reports.flatMap((x) => x.results), whole, 'the same results, in order');
  }
});

t.test('an empty round still sends a report', async (t) => {
  const empty: SimPlan = { ...plan, peers: [], dns: [] };
  const r = new ReportEncoder(model, { maxMessageBytes: 65_536, maxResultsPerReport: 10 }).encode(0, empty, 1, 1, 1, 2, false, 0);
  t.equal(r.messages.length, 1);
  t.equal(decode(r.messages[0]!).results.length, 0);
});
