// The start-up read-back: what a previous instance of this aggregator left
// firing in Alertmanager is resolved at the first evaluation a full window
// after start, unless its finding holds again; other clusters' and other
// generators' alerts are never touched. Against a real Alertmanager, and
// against port-0 servers for the failures: retried with backoff until the
// window ends, logged once, counted, every read under a deadline, and close()
// leaves nothing behind.
import { createHook } from 'node:async_hooks';
import { Registry } from 'prom-client';
import t, { type Test } from 'tap';
import { AlertmanagerSender, type Alert } from '../../../aggregator/alerts/alertmanager.js';
import { Notifier } from '../../../aggregator/alerts/notifier.js';
import { AlertReadBack, type AlertReadBackOptions } from '../../../aggregator/alerts/readback.js';
import type { Finding } from '../../../aggregator/findings/finding.js';
import { registerEvaluationMetrics } from '../../../aggregator/metrics/evaluation.js';
import type { MetricsSources } from '../../../aggregator/metrics/metrics.js';
import { silentLogger } from '../../../common/logger.js';
import { alertmanagerSkip, freePort, startAlertmanager, type AmAlert } from '../../helpers/alertmanager.js';
import { startFakeAlertmanager, type FakeAnswer, type FakeRequest } from '../../helpers/fake-alertmanager.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { logSink } from '../../helpers/log-sink.js';
import { holdsFor, waitFor } from '../../helpers/wait.js';

const EXTERNAL = 'http://aggregator.example:8080';
const CLUSTER = 'c1';
const WINDOW = 60_000;
const T0 = Date.parse('2026-11-25T09:10:00.000Z');
const fast = { initialMs: 20, maxMs: 40 };

function finding(node: string, at: number, over: Partial<Finding> = {}): Finding {
  return {
    id: `id-${node}`,
    kind: 'NodeUnreachable',
    severity: 'critical',
    state: 'firing',
    labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: CLUSTER, node },
    summary: `${node} is unreachable from 3 of 3 nodes`,
    description: 'tcp refused from 3/3 probers',
    runbookUrl: 'https://example.com/docs/runbooks/NodeUnreachable.md',
    since: at - 10_000,
    firingSince: at,
    resolvedAt: null,
    ...over,
  };
}

/** An alert as GET /api/v2/alerts lists it. */
function listed(labels: Record<string, string>, generatorURL: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    labels,
    annotations: { summary: `${labels.alertname} summary` },
    startsAt: new Date(T0 - 600_000).toISOString(),
    endsAt: new Date(T0 + 240_000).toISOString(),
    updatedAt: new Date(T0 - 30_000).toISOString(),
    generatorURL,
    fingerprint: 'x',
    status: { state: 'active', silencedBy: [], inhibitedBy: [] },
    receivers: [{ name: 'null' }],
    ...extra,
  };
}

const ours = (node: string) => listed({ alertname: 'NodeUnreachable', severity: 'critical', cluster: CLUSTER, node }, `${EXTERNAL}/api/v1/findings/id-${node}`);

function recorder(): { enqueue(a: readonly Alert[]): void; batches: Alert[][] } {
  const batches: Alert[][] = [];
  return { batches, enqueue: (a) => void batches.push([...a]) };
}

function readBack(t: Test, over: Partial<AlertReadBackOptions> & Pick<AlertReadBackOptions, 'urls' | 'sink'>): AlertReadBack {
  const rb = new AlertReadBack({
    cluster: CLUSTER,
    externalUrl: EXTERNAL,
    timeoutMs: 2_000,
    startedAt: T0,
    windowMs: WINDOW,
    capacity: 100,
    backoff: fast,
    log: silentLogger(),
    ...over,
  });
  t.teardown(() => rb.close());
  return rb;
}

async function fake(t: Test, handler: (r: FakeRequest) => FakeAnswer) {
  const am = await startFakeAlertmanager(handler);
  t.teardown(() => am.close());
  return am;
}

const gets = (am: { requests: FakeRequest[] }) => am.requests.filter((r) => r.method === 'GET');
/** An evaluation's time where the wall and monotonic clocks read alike. */
const when = (ms: number) => ({ at: ms, monotonicAt: ms });

t.test('against a real Alertmanager: the stale alert is resolved after the first window; the rest is untouched', { skip: alertmanagerSkip }, async (t) => {
  const am = await startAlertmanager();
  t.teardown(() => am.stop());
  const now = Date.now();

  // The previous instance posted two findings as its notifier does, then died.
  const before = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 100, backoff: fast, log: silentLogger() });
  const stale = finding('node-stale', now - 300_000);
  const still = finding('node-still', now - 300_000);
  new Notifier({ sender: before, resendMs: 60_000, externalUrl: EXTERNAL }).update([stale, still], [], now - 30_000);
  // Alerts that are not this aggregator's: another cluster's (same external URL), another aggregator's, Prometheus'.
  const endsAt = new Date(now + 600_000).toISOString();
  const startsAt = new Date(now - 300_000).toISOString();
  const others: Alert[] = [
    { labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: 'c2', node: 'node-stale' }, annotations: {}, startsAt, endsAt, generatorURL: `${EXTERNAL}/api/v1/findings/id-node-stale` },
    { labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: CLUSTER, node: 'node-other' }, annotations: {}, startsAt, endsAt, generatorURL: 'http://other-aggregator.example:8080/api/v1/findings/id-node-other' },
    { labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: CLUSTER, node: 'node-prom', source: 'prometheus' }, annotations: {}, startsAt, endsAt, generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up' },
  ];
  before.enqueue(others);
  await waitFor('the five alerts listed', async () => (await am.alerts()).length === 5);
  await before.close();
  const key = (a: AmAlert) => JSON.stringify(a.labels);
  const othersBefore = (await am.alerts()).filter((a) => !a.generatorURL?.startsWith(EXTERNAL) || a.labels.cluster !== CLUSTER).sort((a, b) => key(a).localeCompare(key(b)));
  t.equal(othersBefore.length, 3);

  // The new instance, started at 0 on the monotonic clock of its evaluations; alerts carry wall-clock times.
  const sink = logSink();
  const sender = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 100, backoff: fast, log: sink.log });
  t.teardown(() => sender.close());
  const notifier = new Notifier({ sender, resendMs: 60_000, externalUrl: EXTERNAL });
  const resolvedSent: Alert[] = [];
  const through = { enqueue: (a: readonly Alert[]) => (resolvedSent.push(...a), sender.enqueue(a)) };
  const rb = readBack(t, { urls: [am.url], sink: through, startedAt: 0, log: sink.log });
  await waitFor('the read-back', () => rb.stats().found.get(am.url) ?? null);
  t.equal(rb.stats().found.get(am.url), 2, 'two alerts are this aggregator’s');
  const evaluation = (monotonicAt: number, firing: Finding[]) => {
    const at = Date.now();
    notifier.update(firing, [], at);
    rb.evaluated({ at, monotonicAt }, () => firing);
    return at;
  };

  // Inside the first window: nothing is decided, the still-firing finding is sent as the notifier does.
  evaluation(WINDOW - 1, [still]);
  await waitFor('the firing alert posted', () => sender.stats().get(am.url)!.sent === 1 && sender.stats().get(am.url)!.queued === 0, 5_000);
  t.equal(rb.stats().resolved, 0);
  t.ok((await am.alerts({ node: 'node-stale', cluster: CLUSTER })).length === 1, 'the stale alert is still active within the window');

  // The first evaluation at the end of the window resolves the stale one, and only it.
  const at = evaluation(WINDOW, [still]);
  await waitFor('the stale alert resolved', async () => (await am.alerts({ node: 'node-stale', cluster: CLUSTER })).length === 0, 5_000);
  t.equal(rb.stats().resolved, 1);
  t.equal(sender.stats().get(am.url)!.sent, 2, 'one resolved alert posted');
  t.same(
    resolvedSent.map((a) => [a.labels.node, a.endsAt]),
    [['node-stale', new Date(at).toISOString()]],
    'endsAt: the deciding evaluation',
  );
  const [kept] = await am.alerts({ node: 'node-still' });
  t.equal(kept?.status.state, 'active', 'the still-firing one stays');
  const othersAfter = (await am.alerts()).filter((a) => !a.generatorURL?.startsWith(EXTERNAL) || a.labels.cluster !== CLUSTER).sort((a, b) => key(a).localeCompare(key(b)));
  t.same(
    othersAfter.map((a) => [a.labels, a.endsAt, a.updatedAt]),
    othersBefore.map((a) => [a.labels, a.endsAt, a.updatedAt]),
    'other clusters’ and other generators’ alerts untouched',
  );
  t.match(sink.find(/^alert read-back done/), { level: 30, resolved: 1, read: [am.url], unread: [] });

  // Decided once: later evaluations resolve nothing, even with no finding firing.
  rb.evaluated({ at: at + 10_000, monotonicAt: WINDOW + 10_000 }, () => []);
  t.equal(rb.stats().resolved, 1);
  t.equal(sender.stats().get(am.url)!.queued, 0, 'nothing more queued');
  t.equal((await am.alerts({ node: 'node-still' })).length, 1);
});

t.test('the read asks for this cluster’s active alerts, keeps this aggregator’s, and resolves those not holding at the first window', async (t) => {
  const answer = [
    ours('node-a'),
    ours('node-b'),
    ours('node-c'),
    // Left alone: Alertmanager's filter should have kept them out, or they are someone else's.
    listed({ alertname: 'NodeUnreachable', cluster: 'c2', node: 'node-a' }, `${EXTERNAL}/api/v1/findings/id-node-a`),
    listed({ alertname: 'NodeUnreachable', cluster: CLUSTER, node: 'node-x' }, 'http://aggregator.example:8081/api/v1/findings/id-node-x'),
    listed({ alertname: 'NodeUnreachable', cluster: CLUSTER, node: 'node-y' }, `${EXTERNAL}/graph`),
    listed({ alertname: 'NodeUnreachable', cluster: CLUSTER, node: 'node-z' }, ''),
    { labels: 'not a label set', generatorURL: `${EXTERNAL}/api/v1/findings/z` },
    null,
  ];
  const am = await fake(t, () => ({ status: 200, body: JSON.stringify(answer) }));
  // A second member lists one of them too: resolved once, for both.
  const am2 = await fake(t, () => ({ status: 200, body: JSON.stringify([ours('node-a')]) }));
  const sink = recorder();
  const urls = [`${am.url}/am`, am2.url];
  const rb = readBack(t, { urls, sink, externalUrl: `${EXTERNAL}/` });
  await waitFor('both read', () => [...rb.stats().found.values()].every((n) => n !== null), 5_000);
  t.same([...rb.stats().found], [[urls[0], 3], [urls[1], 1]]);

  const [get] = gets(am);
  const q = new URL(get!.url, am.url);
  t.equal(q.pathname, '/am/api/v2/alerts');
  t.same(q.searchParams.getAll('filter'), [`cluster="${CLUSTER}"`]);
  t.equal(q.searchParams.get('active'), 'true');
  t.equal(get!.headers.accept, 'application/json');

  rb.evaluated(when(T0 + WINDOW - 1), () => []);
  t.same(sink.batches, [], 'nothing before the window ends');
  // node-b fires again, node-c is pending (its condition holds, not yet for --finding-for): both hold.
  const at = T0 + WINDOW + 1_500;
  rb.evaluated(when(at), () => [finding('node-b', at), finding('node-c', at, { state: 'pending', firingSince: null })]);
  t.same(sink.batches, [
    [
      {
        labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: CLUSTER, node: 'node-a' },
        annotations: { summary: 'NodeUnreachable summary' },
        startsAt: new Date(T0 - 600_000).toISOString(),
        endsAt: new Date(at).toISOString(),
        generatorURL: `${EXTERNAL}/api/v1/findings/id-node-a`,
      },
    ],
  ]);
  t.equal(rb.stats().resolved, 1);
  t.equal(gets(am).length, 1, 'read once');
});

t.test('a failing read is retried with backoff until the first window ends, logged once and counted', async (t) => {
  const am = await fake(t, () => ({ status: 503, body: 'not ready' }));
  const sink = recorder();
  const logs = logSink();
  const rb = readBack(t, { urls: [am.url], sink, log: logs.log });
  await waitFor('four failed reads', () => rb.stats().failed.get(am.url)! >= 4, 5_000);
  const fails = logs.lines.filter((l) => l.msg === 'alertmanager read-back failed, retrying with backoff until the first window ends');
  t.equal(fails.length, 1, 'logged once');
  t.match(fails[0], { level: 40, url: am.url, error: 'HTTP 503: not ready' });
  const g = gets(am);
  for (let i = 1; i < g.length; i++) {
    const least = Math.min(fast.maxMs, fast.initialMs * 2 ** (i - 1)) / 2;
    t.ok(g[i]!.at - g[i - 1]!.at >= least - 1, `gap ${i} ≥ ${least} ms`);
  }

  rb.evaluated(when(T0 + WINDOW), () => []);
  t.same(sink.batches, [], 'nothing read, nothing resolved');
  t.match(logs.find(/^alert read-back done, partly/), { level: 40, resolved: 0, read: [], unread: [am.url] });
  const n = gets(am).length;
  const failed = rb.stats().failed.get(am.url);
  await holdsFor(t, 'no read after the window ended', async () => (gets(am).length === n ? [] : [`${gets(am).length - n} more reads`]), 300);
  t.equal(rb.stats().failed.get(am.url), failed);

  // The counter the metrics read.
  const registry = new Registry();
  registerEvaluationMetrics(registry, { alertReadBack: () => rb.stats() } as unknown as MetricsSources);
  const text = (await registry.getSingleMetricAsString('netmatrix_alerts_readback_failed_total')) + (await registry.getSingleMetricAsString('netmatrix_alerts_readback_resolved_total'));
  t.match(text, `netmatrix_alerts_readback_failed_total{alertmanager="${am.url}"} ${failed}`);
  t.match(text, 'netmatrix_alerts_readback_resolved_total 0');
});

t.test('a read that succeeds after failures is used', async (t) => {
  let n = 0;
  const am = await fake(t, () => (++n <= 2 ? { status: 500, body: 'boom' } : { status: 200, body: JSON.stringify([ours('node-a')]) }));
  const sink = recorder();
  const logs = logSink();
  const rb = readBack(t, { urls: [am.url], sink, log: logs.log });
  await waitFor('read', () => rb.stats().found.get(am.url) ?? null, 5_000);
  t.equal(rb.stats().failed.get(am.url), 2);
  t.match(logs.find('alertmanager read-back succeeded'), { level: 30, url: am.url, attempts: 3, alerts: 1 });
  rb.evaluated(when(T0 + WINDOW), () => []);
  t.same(
    sink.batches.flat().map((a) => a.labels.node),
    ['node-a'],
  );
  t.equal(rb.stats().resolved, 1);
});

t.test('every read has a deadline; an answer over the byte bound or not a list is a failed read', async (t) => {
  const hang = await fake(t, () => 'hang');
  const big = await fake(t, () => ({ status: 200, body: JSON.stringify(Array.from({ length: 50 }, (_, i) => ours(`node-${i}`))) }));
  const notList = await fake(t, () => ({ status: 200, body: '{"alerts":[]}' }));
  const logs = logSink();
  const rb = readBack(t, { urls: [hang.url, big.url, notList.url], sink: recorder(), timeoutMs: 100, maxBytes: 2_000, log: logs.log });
  await waitFor('two failed reads each', () => [...rb.stats().failed.values()].every((n) => n >= 2), 5_000);
  const first = (url: string) => logs.lines.find((l) => l.msg === 'alertmanager read-back failed, retrying with backoff until the first window ends' && l.url === url);
  t.match(first(hang.url), { error: 'timed out after 100ms' });
  t.match(first(big.url), { error: 'answer longer than 2000 bytes' });
  t.match(first(notList.url), { error: 'answer is not a list of alerts' });
  await waitFor('the timed-out requests closed', () => hang.open() === 0, 5_000);
});

t.test('at most capacity alerts are kept; the rest are counted and logged', async (t) => {
  const am = await fake(t, () => ({ status: 200, body: JSON.stringify([ours('node-a'), ours('node-b'), ours('node-c')]) }));
  const sink = recorder();
  const logs = logSink();
  const rb = readBack(t, { urls: [am.url], sink, capacity: 2, log: logs.log });
  await waitFor('read', () => rb.stats().found.get(am.url) ?? null, 5_000);
  rb.evaluated(when(T0 + WINDOW), () => []);
  t.same(
    sink.batches.flat().map((a) => a.labels.node),
    ['node-a', 'node-b'],
  );
  t.match(logs.find(/^alert read-back done, partly/), { level: 40, resolved: 2, skipped: 1, capacity: 2 });
});

t.test('close() stops a read in flight and a backoff sleep, leaves no timer, and resolves nothing afterwards', async (t) => {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const caller = (new Error().stack ?? '').split('\n').slice(2).find((f) => !f.includes('node:'));
      if (caller?.includes('aggregator/alerts/')) live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  t.teardown(() => void hook.disable());

  const hang = await fake(t, () => 'hang');
  const refused = `http://127.0.0.1:${await freePort()}`;
  const sink = recorder();
  const rb = new AlertReadBack({
    urls: [hang.url, refused],
    cluster: CLUSTER,
    externalUrl: EXTERNAL,
    timeoutMs: 60_000,
    startedAt: T0,
    windowMs: WINDOW,
    sink,
    capacity: 10,
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    log: silentLogger(),
  });
  await waitFor('the hanging read to arrive', () => hang.open() === 1, 5_000);
  await waitFor('the refused read to fail', () => rb.stats().failed.get(refused) === 1, 5_000);
  t.ok(live.size >= 2, 'a deadline and a backoff timer are pending');

  const started = performance.now();
  await rb.close();
  t.ok(performance.now() - started < 1_000, 'close() resolves promptly');
  await waitFor('the aborted read to close its connection', () => hang.open() === 0, 5_000);
  await waitFor('every read-back timer to be gone', () => live.size === 0, 5_000);
  rb.evaluated(when(T0 + WINDOW), () => []);
  t.same(sink.batches, []);
});

t.test('wired in the aggregator: read at start, the stale alert resolved at the first evaluation a window later, counted in /metrics', async (t) => {
  const am = await fake(t, (r) => (r.method === 'GET' ? { status: 200, body: JSON.stringify([ours('node-gone')]) } : { status: 200 }));
  const started = Date.now();
  const agg = await testAggregator({ 'alertmanager-urls': am.url, cluster: CLUSTER, 'external-url': EXTERNAL, window: '1s', 'probe-interval': '200ms', 'probe-timeout': '100ms' });
  t.teardown(() => agg.stop());
  await waitFor('the read at start', () => gets(am).length === 1, 5_000);
  const [post] = await waitFor('the resolved alert posted', () => am.posts().length > 0 && am.posts(), 10_000);
  const resolvedAt = Date.parse(post!.alerts[0]!.endsAt);
  t.same(post!.alerts.map((a) => a.labels.node), ['node-gone']);
  t.ok(resolvedAt >= started + 1_000 && resolvedAt <= Date.now(), 'endsAt: now, at the first evaluation a window after start');
  const metrics = await (await fetch(`${agg.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  t.match(metrics, `netmatrix_alerts_readback_failed_total{alertmanager="${am.url}"} 0`);
  t.match(metrics, 'netmatrix_alerts_readback_resolved_total 1');
  t.equal(gets(am).length, 1, 'read once');
});
