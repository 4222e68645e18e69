// The reporter's streams against real gRPC servers standing in for the
// aggregator (fake-aggregator.ts): an aggregator that plans and then refuses
// reports is not reconnected to in a storm, and what it refused is dropped and
// counted, not sent forever; a round too large for one message goes as several
// that each fit; after a reconnect only what the aggregator has not acked is
// sent again (at most one report more when its resume Ack follows the Plan, as
// the collector sends it today; none when it comes first); with two
// aggregators the highest epoch is followed and each gets every report, a
// restarted one too; an aggregator that reads nothing is not handed the whole
// outbox at once.
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { REPLAY_WINDOW, REPLAY_WINDOW_BYTES } from '../../../agent/report/connection.js';
import { Reporter, type ReporterOptions } from '../../../agent/report/reporter.js';
import { createAgentMetrics } from '../../../agent/metrics.js';
import type { RoundResult } from '../../../agent/scheduler.js';
import type { CniSnapshot } from '../../../common/cni.js';
import { systemClock } from '../../../common/clock.js';
import type { Hello, Plan__Output } from '../../../proto/load.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';
import { fakeAggregator } from './fake-aggregator.js';

const HELLO: Hello = {
  nodeName: 'node-a',
  podIps: ['192.0.2.10'],
  nodeIps: [],
  zone: '',
  agentVersion: 'test',
  capabilities: ['CAPABILITY_TCP'],
  responderPort: 9402,
  instanceId: 'reporter-test',
};

/** A round of `n` tcp results; `detail` makes each result larger. */
function round(no: number, n = 3, detail = ''): RoundResult {
  return {
    round: no,
    results: Array.from({ length: n }, (_, i) => ({
      spec: { id: `tcp/node-${i}/198.51.100.${i % 250}`, kind: 'tcp' as const, node: `node-${i}`, ip: `198.51.100.${i % 250}`, family: 'ipv4' as const, port: 9402 },
      result: { outcome: 'refused' as const, rttUs: 0, detail },
      startedAt: Date.now(),
    })),
  };
}

function reporter(addresses: string[], o: Partial<ReporterOptions> = {}) {
  const metrics = createAgentMetrics();
  const sink = logSink();
  const plans: Plan__Output[] = [];
  const rep = new Reporter({
    addresses,
    hello: () => HELLO,
    clock: systemClock,
    log: sink.log,
    metrics,
    bufferReports: 1_000,
    connectTimeoutMs: 2_000,
    backoffInitialMs: 20,
    backoffMaxMs: 60_000,
    onPlan: (p) => plans.push(p),
    ...o,
  });
  return { rep, metrics, sink, plans };
}

/** A counter's or gauge's value for one aggregator. */
async function value(m: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, aggregator?: string): Promise<number> {
  return (await m.get()).values.filter((v) => aggregator === undefined || v.labels.aggregator === aggregator).reduce((n, v) => n + v.value, 0);
}

const downs = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'aggregator stream down; will reconnect');

t.test('an aggregator that plans, then refuses the oldest report: each refused report is dropped once and counted, and the agent backs off', async (t) => {
  // Stores the first report, then refuses every other one, as an aggregator with a lower --max-results-per-report would.
  const agg = await fakeAggregator({ epoch: 1, verdict: (r) => (r.sequence === 1 ? 'store' : { code: grpc.status.INVALID_ARGUMENT, details: `report has 3 results (at most 2)` }) });
  t.teardown(() => agg.close());
  const a = reporter([agg.address]);
  t.teardown(() => a.rep.close());
  for (let i = 1; i <= 7; i++) a.rep.submit(round(i));
  a.rep.start();
  // Each stream: Hello, Plan, the resume Ack of report 1, a report, refused.
  await waitFor('six refusals, then a stream with nothing left to send', () => agg.streams === 7 && a.rep.outbox(agg.address)!.size === 0, 20_000);
  const down = downs(a.sink.lines);
  t.same(down.map((l) => l.attempt), [1, 2, 3, 4, 5, 6], 'neither the plans nor the acks of what was stored before reset the backoff');
  const waits = down.map((l) => l.retryInMs as number);
  t.ok(waits.every((w, i) => i === 0 || w >= waits[i - 1]!), `each wait at least as long as the one before: ${waits.join(', ')} ms`);
  // Timers never fire early, so the streams are at least that far apart: not a stream every 125-250 ms.
  const span = agg.opened.at(-1)! - agg.opened[0]!;
  t.ok(span >= waits.reduce((n, w) => n + w, 0) - 6, `the seven streams spread over ${span} ms, the waits add up to ${waits.reduce((n, w) => n + w, 0)} ms`);
  t.same(agg.reports.map((r) => r.sequence), [1, 2, 3, 4, 5, 6, 7], 'each report sent once: the refused ones never again');
  t.equal(await value(a.metrics.reportsRefused, agg.address), 6, 'counted in netmatrix_agent_reports_refused_total');
  t.equal(await value(a.metrics.reportsAcked, agg.address), 1);
  t.equal(await value(a.metrics.reportsDropped, agg.address), 0, 'not a buffer drop');
  t.equal(await value(a.metrics.reportsBuffered, agg.address), 0);
  const refusedLog = a.sink.lines.filter((l) => l.msg === 'aggregator refused a report: dropped, not sent again (counted in netmatrix_agent_reports_refused_total)');
  t.same(refusedLog.map((l) => l.sequence), [2, 3, 4, 5, 6, 7]);
  t.match(refusedLog[0], { level: 40, results: 3, why: /INVALID_ARGUMENT: report has 3 results/ });
});

t.test('the backoff starts again once a report sent on the stream is acknowledged', async (t) => {
  let refuse = 3;
  const agg = await fakeAggregator({ epoch: 1, verdict: () => (refuse-- > 0 ? { code: grpc.status.RESOURCE_EXHAUSTED, details: 'message of 5000000 bytes exceeds the limit of 4194304 bytes' } : 'store') });
  t.teardown(() => agg.close());
  const a = reporter([agg.address]);
  t.teardown(() => a.rep.close());
  for (let i = 1; i <= 3; i++) a.rep.submit(round(i));
  a.rep.start();
  await waitFor('three refusals and a fourth stream', () => agg.streams === 4 && a.rep.outbox(agg.address)!.size === 0, 20_000);
  t.same(downs(a.sink.lines).map((l) => l.attempt), [1, 2, 3]);
  a.rep.submit(round(4));
  await waitFor('report 4 stored and acked', () => agg.stored === 4 && a.rep.outbox(agg.address)!.size === 0);
  agg.dropStreams();
  await waitFor('the stream down again', () => downs(a.sink.lines).length === 4);
  t.equal(downs(a.sink.lines)[3]!.attempt, 1, 'first attempt again: the aggregator takes what the agent sends');
  t.equal(await value(a.metrics.reportsRefused, agg.address), 3);
  await waitFor('reconnected', () => agg.streams === 5);
});

t.test('a not_reading refusal is about the agent\'s reading, not a report: nothing is dropped', async (t) => {
  let once = true;
  const agg = await fakeAggregator({ epoch: 1, verdict: () => (once ? ((once = false), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'agent read nothing for 60000ms with 3 messages waiting' }) : 'store') });
  t.teardown(() => agg.close());
  const a = reporter([agg.address]);
  t.teardown(() => a.rep.close());
  a.rep.submit(round(1));
  a.rep.start();
  await waitFor('report 1 stored on the second stream', () => agg.stored === 1 && a.rep.outbox(agg.address)!.size === 0);
  t.same(agg.reports.map((r) => [r.sequence, r.stream]), [[1, 1], [1, 2]], 'sent again on the next stream');
  t.equal(await value(a.metrics.reportsRefused, agg.address), 0);
});

t.test('a refused CNI snapshot is not sent again until there is a new one; no report is blamed for it', async (t) => {
  const limit = 64 * 1024;
  const agg = await fakeAggregator({ epoch: 1, maxMessageBytes: limit });
  t.teardown(() => agg.close());
  const a = reporter([agg.address], { maxMessageBytes: limit });
  t.teardown(() => a.rep.close());
  const snapshot = (error: string): CniSnapshot => ({ takenAtMs: Date.now(), full: true, files: [], effective: null, binaries: [], pools: [], errors: [error] });
  a.rep.submitCni(snapshot('x'.repeat(2 * limit)));
  a.rep.submit(round(1));
  a.rep.start();
  await waitFor('report 1 stored on the next stream', () => agg.stored === 1);
  t.match(a.sink.find('aggregator refused the CNI snapshot: not sent again until it changes'), { level: 40, why: /RESOURCE_EXHAUSTED/ });
  t.equal(agg.cnis, 0, 'the large snapshot never read');
  t.equal(agg.streams, 2);
  t.equal(await value(a.metrics.reportsRefused, agg.address), 0, 'the report written after it was not blamed');
  a.rep.submitCni(snapshot('a small one'));
  await waitFor('the new snapshot read', () => agg.cnis === 1);
  t.equal(agg.streams, 2, 'on the same stream');
});

t.test('a round larger than the message limit goes as several reports that each fit; all of it is stored', async (t) => {
  const limit = 64 * 1024;
  // grpc-js refuses a message over the limit with RESOURCE_EXHAUSTED: anything too large would show as refused.
  const agg = await fakeAggregator({ epoch: 1, maxMessageBytes: limit });
  t.teardown(() => agg.close());
  const a = reporter([agg.address], { maxMessageBytes: limit, maxResultsPerReport: 1_000 });
  t.teardown(() => a.rep.close());
  a.rep.start();
  await waitFor('connected', () => agg.streams === 1);
  a.rep.submit(round(1, 4_000, 'connect ECONNREFUSED 198.51.100.1:9402 (padding the result)'));
  a.rep.submit(round(2, 2));
  await waitFor('everything acked', () => a.rep.outbox(agg.address)!.size === 0 && agg.stored === a.rep.created);
  const first = agg.reports.filter((r) => r.round === 1);
  t.ok(first.length >= 5, `round 1 went as ${first.length} reports`);
  t.equal(first.reduce((n, r) => n + r.results, 0), 4_000, 'every result of the round, once');
  t.ok(first.every((r) => r.results <= 1_000), 'at most --max-results-per-report each');
  t.same(agg.reports.map((r) => r.sequence), Array.from({ length: a.rep.created }, (_, i) => i + 1), 'one sequence each, in order, none sent twice');
  t.same(agg.reports.at(-1), { ...agg.reports.at(-1)!, round: 2, results: 2 }, 'a small round after it is one report');
  t.equal(await value(a.metrics.reportsCreated), a.rep.created, 'netmatrix_agent_reports_total counts the reports made');
  t.equal(await value(a.metrics.reportsRefused, agg.address), 0, 'none refused');
  t.equal(downs(a.sink.lines).length, 0, 'the stream never went down');
});

t.test('an aggregator with a lower limit refuses the larger reports: each is dropped once and counted, the rest stored', async (t) => {
  const agg = await fakeAggregator({ epoch: 1, maxMessageBytes: 32 * 1024 });
  t.teardown(() => agg.close());
  const a = reporter([agg.address], { maxMessageBytes: 64 * 1024 });
  t.teardown(() => a.rep.close());
  a.rep.submit(round(1, 2_000, 'connect ECONNREFUSED 198.51.100.1:9402 (padding the result)'));
  a.rep.submit(round(2, 2));
  const reports = a.rep.created;
  a.rep.start();
  await waitFor('the outbox empty', () => a.rep.outbox(agg.address)!.size === 0, 20_000);
  const refused = a.sink.lines.filter((l) => /aggregator refused a report/.test(String(l.msg)));
  t.ok(refused.length >= 2, `${refused.length} of ${reports} reports refused`);
  t.ok(refused.every((l) => (l.bytes as number) > 32 * 1024 && /RESOURCE_EXHAUSTED/.test(String(l.why))), 'the ones over the aggregator\'s limit, each once');
  t.equal(new Set(refused.map((l) => l.sequence)).size, refused.length);
  t.equal(await value(a.metrics.reportsRefused, agg.address), refused.length);
  t.equal(agg.stored, reports, 'the last report, small, stored');
  t.same(downs(a.sink.lines).map((l) => l.attempt), refused.map((_, i) => i + 1), 'backing off all along');
});

/**
 * Reports 1-3 acked; 4-7 stored too, but their acks lost as the stream breaks;
 * the aggregator comes back knowing it has up to 7 and says so (after the Plan,
 * as the collector does, or before it). Returns what it got on the new stream.
 */
async function resumeAfterLostAcks(t: Test, resumeFirst: boolean): Promise<{ resent: number[]; kept: number }> {
  const first = await fakeAggregator({ epoch: 1 });
  t.teardown(() => first.close());
  const a = reporter([first.address]);
  t.teardown(() => a.rep.close());
  a.rep.start();
  await waitFor('connected', () => first.streams === 1);
  for (let i = 1; i <= 3; i++) a.rep.submit(round(i));
  await waitFor('1-3 acked', () => first.stored === 3 && a.rep.outbox(first.address)!.size === 0);
  // It goes on storing, but its acks never reach the agent (the stream breaks before they do).
  first.verdict = () => 'keep';
  for (let i = 4; i <= 10; i++) a.rep.submit(round(i));
  await waitFor('4-7 stored, unacknowledged (the window the three acks opened)', () => first.stored >= 7);
  const kept = first.stored;
  t.equal(a.rep.outbox(first.address)!.size, 7, '4-10 held');
  const port = first.port;
  await first.close();
  const again = await fakeAggregator({ port, epoch: 2, resume: () => kept, resumeFirst });
  t.teardown(() => again.close());
  await waitFor('everything acked', () => a.rep.outbox(again.address)!.size === 0 && again.stored === 10, 15_000);
  const resent = again.reports.map((r) => r.sequence);
  t.same(resent.filter((s) => s > kept), Array.from({ length: 10 - kept }, (_, i) => kept + 1 + i), 'what it does not have, in order, once');
  t.equal(await value(a.metrics.reportsAcked, again.address), 10);
  t.equal(await value(a.metrics.reportsDropped, again.address), 0);
  return { resent, kept };
}

t.test('after a reconnect only what the aggregator has not acknowledged is sent again (its resume point, acked after the Plan)', async (t) => {
  const { resent, kept } = await resumeAfterLostAcks(t, false);
  t.ok(resent.filter((s) => s <= kept).length <= 1, `at most the one report on its way when the resume ack came was sent again: ${resent.join(', ')} (it had up to ${kept})`);
});

t.test('a resume point acked before the Plan: nothing it has is sent again', async (t) => {
  const { resent, kept } = await resumeAfterLostAcks(t, true);
  t.same(resent.filter((s) => s <= kept), [], `it had up to ${kept}, got ${resent.join(', ')}`);
});

t.test('a resume point of 0 before the Plan (a new aggregator): everything held is replayed, in order', async (t) => {
  const agg = await fakeAggregator({ epoch: 1, resumeFirst: true });
  t.teardown(() => agg.close());
  const a = reporter([agg.address]);
  t.teardown(() => a.rep.close());
  for (let i = 1; i <= 5; i++) a.rep.submit(round(i));
  a.rep.start();
  await waitFor('everything acked', () => agg.stored === 5 && a.rep.outbox(agg.address)!.size === 0);
  t.same(agg.reports.map((r) => r.sequence), [1, 2, 3, 4, 5]);
});

t.test('two aggregators with different epochs: the highest is followed, each gets every report; a restarted one with a newer epoch too', async (t) => {
  const low = await fakeAggregator({ epoch: 100 });
  t.teardown(() => low.close());
  let high = await fakeAggregator({ epoch: 200 });
  t.teardown(() => high.close());
  const a = reporter([low.address, high.address]);
  t.teardown(() => a.rep.close());
  a.rep.start();
  await waitFor('the plan of epoch 200 followed', () => a.rep.plan?.epoch === 200 && low.streams === 1);
  for (let i = 1; i <= 3; i++) a.rep.submit(round(i));
  await waitFor('both stored 1-3', () => low.stored === 3 && high.stored === 3);
  const port = high.port;
  await high.close();
  await waitFor('the stream to 200 down', () => downs(a.sink.lines).some((l) => l.aggregator === high.address));
  for (let i = 4; i <= 6; i++) a.rep.submit(round(i));
  await waitFor('the other one stored 4-6', () => low.stored === 6);
  t.equal(a.rep.plan?.epoch, 200, 'the last plan is kept while its aggregator is away');
  t.equal(a.rep.outbox(high.address)!.size, 3, 'what the one that is away missed is held for it');
  // A new process on the same address: knows nothing (no resume point), hands out a newer epoch.
  high = await fakeAggregator({ port, epoch: 300 });
  await waitFor('the plan of epoch 300 followed', () => a.rep.plan?.epoch === 300);
  await waitFor('the restarted one got what it missed', () => high.stored === 6 && a.rep.outbox(high.address)!.size === 0);
  t.same(high.reports.map((r) => r.sequence), [4, 5, 6], 'replayed in order, once');
  t.same(low.reports.map((r) => r.sequence), [1, 2, 3, 4, 5, 6], 'the other one got each report once');
  const epochs = a.plans.map((p) => p.epoch);
  t.same(epochs.slice(epochs.indexOf(200)), [200, 300], `followed 200, then 300, never 100 again: ${epochs.join(', ')}`);
  t.equal(await value(a.metrics.reportsAcked, low.address), 6);
  t.equal(await value(a.metrics.reportsAcked, high.address), 6);
});

t.test('an aggregator that reads nothing is handed a window, not the whole outbox; all of it arrives once it reads again', async (t) => {
  const agg = await fakeAggregator({ epoch: 1 });
  t.teardown(() => agg.close());
  const a = reporter([agg.address]);
  t.teardown(() => a.rep.close());
  a.rep.start();
  // Open the window wide: small reports, each acked.
  for (let i = 1; i <= 20; i++) {
    a.rep.submit(round(i));
    await waitFor(`report ${i} acked`, () => agg.stored === i);
  }
  agg.setReading(false);
  const padding = 'x'.repeat(60);
  for (let i = 21; i <= 60; i++) a.rep.submit(round(i, 800, padding));
  const box = a.rep.outbox(agg.address)!;
  await waitFor('the window full', () => box.inflight >= REPLAY_WINDOW || box.inflightBytes + box.peek()!.bytes > REPLAY_WINDOW_BYTES);
  t.ok(box.inflight <= REPLAY_WINDOW && box.inflightBytes <= REPLAY_WINDOW_BYTES, `${box.inflight} reports, ${box.inflightBytes} bytes in flight`);
  t.ok(box.size - box.inflight >= 20, `${box.size - box.inflight} reports wait in the outbox, not in the stream`);
  agg.setReading(true);
  await waitFor('all of it stored', () => agg.stored === 60 && box.size === 0, 15_000);
  t.same(agg.reports.map((r) => r.sequence), Array.from({ length: 60 }, (_, i) => i + 1), 'each once, in order');
  t.equal(agg.streams, 1, 'on the same stream');
});
