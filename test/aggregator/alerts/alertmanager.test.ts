// The Alertmanager sender against a real Alertmanager: what is posted is what
// Alertmanager lists, an outage delays but doesn't lose alerts, the queue is
// bounded, and close() leaves nothing. Against port-0 servers that refuse:
// 401/403/404 and a single alert too large (413) are retried with backoff, a
// batch refused with 400 or 413 is split so that only an invalid alert alone
// is dropped, and resolved notifications get through every refusal.
import { createHook } from 'node:async_hooks';
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { AlertmanagerSender, type Alert } from '../../../aggregator/alerts/alertmanager.js';
import { silentLogger } from '../../../common/logger.js';
import { alertmanagerSkip, freePort, startAlertmanager, type RunningAlertmanager } from '../../helpers/alertmanager.js';
import { startFakeAlertmanager } from '../../helpers/fake-alertmanager.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

const fast = { initialMs: 50, maxMs: 200 };

function alert(name: string, extra: Partial<Alert> & { labels?: Record<string, string> } = {}): Alert {
  const now = Date.now();
  return {
    labels: { alertname: name, severity: 'warning', cluster: 'test', ...extra.labels },
    annotations: extra.annotations ?? { summary: `${name} summary`, description: `${name} description`, runbook_url: `https://runbooks.example/${name}.md` },
    startsAt: extra.startsAt ?? new Date(now).toISOString(),
    endsAt: extra.endsAt ?? new Date(now + 5 * 60_000).toISOString(),
    generatorURL: extra.generatorURL ?? `http://aggregator.example:8080/api/v1/findings/${name}`,
  };
}

/** A fetch that answers from a script and records what it was asked. */
function scriptedFetch(statuses: number[], fallback = 200): { fetch: typeof fetch; calls: { url: string; body: Alert[] }[] } {
  const calls: { url: string; body: Alert[] }[] = [];
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), body: JSON.parse(String(init?.body)) as Alert[] });
    return new Response('', { status: statuses.shift() ?? fallback });
  };
  return { fetch: fn as typeof fetch, calls };
}

t.test('URLs are validated, and the endpoint keeps a path prefix', async (t) => {
  const mk = (urls: string[]) => new AlertmanagerSender({ urls, timeoutMs: 1000, capacity: 10, log: silentLogger(), fetch: scriptedFetch([]).fetch });
  t.throws(() => mk(['not a url']), /alertmanager URL "not a url" is not a valid URL/);
  t.throws(() => mk(['ftp://am.example:9093']), /alertmanager URL "ftp:\/\/am.example:9093" must be http:\/\/ or https:\/\//);
  t.throws(() => mk(['http://user:pw@am.example:9093']), /must not contain credentials/);
  t.throws(() => mk(['http://am.example:9093/?x=1']), /must not have a query or fragment/);
  t.throws(() => mk(['http://am.example:9093', 'http://am.example:9093']), /listed twice/);

  const { fetch, calls } = scriptedFetch([]);
  const urls = ['http://192.0.2.1:9093', 'http://192.0.2.2:9093/', 'http://192.0.2.3:9093/am', 'http://192.0.2.4:9093/am/'];
  const s = new AlertmanagerSender({ urls, timeoutMs: 1000, capacity: 10, log: silentLogger(), fetch });
  t.teardown(() => s.close());
  s.enqueue([alert('Prefix')]);
  await waitFor('a post per URL', () => calls.length === 4, 5_000);
  t.same(calls.map((c) => c.url).sort(), [
    'http://192.0.2.1:9093/api/v2/alerts',
    'http://192.0.2.2:9093/api/v2/alerts',
    'http://192.0.2.3:9093/am/api/v2/alerts',
    'http://192.0.2.4:9093/am/api/v2/alerts',
  ]);
});

t.test('a failure streak is logged once at its start and once at its end', async (t) => {
  const sink = logSink();
  const { fetch, calls } = scriptedFetch([503, 429, 500]);
  const s = new AlertmanagerSender({ urls: ['http://192.0.2.1:9093'], timeoutMs: 1000, capacity: 10, backoff: fast, log: sink.log, fetch });
  t.teardown(() => s.close());
  s.enqueue([alert('Streak')]);
  await waitFor('sent after three failures', () => s.stats().get('http://192.0.2.1:9093')?.sent === 1, 5_000);
  t.equal(calls.length, 4);
  t.same(s.stats().get('http://192.0.2.1:9093'), { sent: 1, failed: 3, dropped: 0, queued: 0 });
  const warns = sink.lines.filter((l) => l.msg === 'alertmanager post failed, retrying with backoff');
  t.equal(warns.length, 1, 'one warning for the streak');
  t.match(warns[0], { level: 40, url: 'http://192.0.2.1:9093', status: 503 });
  const infos = sink.lines.filter((l) => l.msg === 'alertmanager reachable again');
  t.equal(infos.length, 1, 'one info at recovery');
  t.match(infos[0], { level: 30, url: 'http://192.0.2.1:9093' });
});

t.test('a newer state enqueued while its older one is in flight is posted after it', async (t) => {
  const bodies: Alert[][] = [];
  let release: (() => void) | undefined;
  const gated = (async (_input: string | URL | Request, init?: RequestInit) => {
    bodies.push(JSON.parse(String(init?.body)) as Alert[]);
    if (bodies.length === 1) await new Promise<void>((r) => (release = r));
    return new Response('', { status: 200 });
  }) as typeof fetch;
  const s = new AlertmanagerSender({ urls: ['http://192.0.2.1:9093'], timeoutMs: 5_000, capacity: 10, log: silentLogger(), fetch: gated });
  t.teardown(() => s.close());
  s.enqueue([alert('InFlight', { annotations: { summary: 'v1' } })]);
  await waitFor('the first post in flight', () => release !== undefined, 5_000);
  s.enqueue([alert('InFlight', { annotations: { summary: 'v2' } })]);
  release!();
  await waitFor('both posted', () => s.stats().get('http://192.0.2.1:9093')?.sent === 2, 5_000);
  t.same(
    bodies.map((b) => b.map((a) => a.annotations.summary)),
    [['v1'], ['v2']],
  );
  t.equal(s.stats().get('http://192.0.2.1:9093')?.queued, 0);
});

t.test('close() aborts a post in flight and a backoff sleep, and leaves no timer', async (t) => {
  // Timers the sender's own code sets (fetch's internal ones are node's business), until destroyed.
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

  // A server that accepts and never answers: the post hangs until its deadline (a minute) or close().
  const posts: { socket: Socket; closed: boolean }[] = [];
  const hang = createServer((socket) => {
    const c = { socket, closed: false };
    posts.push(c);
    socket.resume(); // read, so the client's FIN is seen
    socket.on('close', () => (c.closed = true));
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of posts) c.socket.destroy();
    return new Promise<void>((r) => hang.close(() => r()));
  });
  const { port } = hang.address() as { port: number };
  // And a port where nothing listens: refused at once, then a long backoff.
  const refused = `http://127.0.0.1:${await freePort()}`;

  const s = new AlertmanagerSender({
    urls: [`http://127.0.0.1:${port}`, refused],
    timeoutMs: 60_000,
    capacity: 10,
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    log: silentLogger(),
  });
  s.enqueue([alert('Close')]);
  await waitFor('the hanging post to connect', () => posts.length === 1, 5_000);
  await waitFor('the refused post to fail', () => s.stats().get(refused)!.failed === 1, 5_000);
  t.ok(live.size >= 2, 'a deadline and a backoff timer are pending');

  const started = performance.now();
  await s.close();
  t.ok(performance.now() - started < 1_000, 'close() resolves promptly');
  // (fetch may then open a spare keep-alive connection of its own: unref'd, it holds nothing up.)
  await waitFor('the aborted post to close its connection', () => posts[0]!.closed, 5_000);
  await waitFor('every sender timer to be gone', () => live.size === 0, 5_000);
  t.equal(s.stats().get(refused)!.queued, 1, 'what was queued stays counted as queued');
  s.enqueue([alert('AfterClose')]);
  t.equal(s.stats().get(refused)!.queued, 1, 'enqueue after close is ignored');
});

t.test('against a real Alertmanager', { skip: alertmanagerSkip }, async (t) => {
  const am = await startAlertmanager();
  t.teardown(() => am.stop());
  const sink = logSink();
  const sender = (urls: string[], capacity = 100) => {
    const s = new AlertmanagerSender({ urls, timeoutMs: 2_000, capacity, backoff: fast, log: sink.log });
    t.teardown(() => s.close());
    return s;
  };
  const listed = (m: RunningAlertmanager, name: string) => m.alerts({ alertname: name });

  t.test('a posted alert is listed with its labels, annotations and generatorURL', async (t) => {
    const s = sender([am.url]);
    const a = alert('Posted', { labels: { node: 'node-a' } });
    s.enqueue([a]);
    const [got] = await waitFor('the alert in Alertmanager', async () => {
      const l = await listed(am, 'Posted');
      return l.length > 0 && l;
    });
    t.same(got?.labels, a.labels);
    t.same(got?.annotations, a.annotations);
    t.equal(got?.generatorURL, a.generatorURL);
    t.equal(got?.startsAt, a.startsAt);
    t.equal(got?.status.state, 'active');
    t.same(s.stats().get(am.url), { sent: 1, failed: 0, dropped: 0, queued: 0 });
  });

  t.test('a resolved alert leaves the active list', async (t) => {
    const s = sender([am.url]);
    const firing = alert('Resolved');
    s.enqueue([firing]);
    await waitFor('the firing alert', async () => (await listed(am, 'Resolved')).length === 1);
    s.enqueue([{ ...firing, endsAt: new Date().toISOString() }]);
    await waitFor('the resolved alert to leave the list', async () => (await listed(am, 'Resolved')).length === 0);
    t.equal(s.stats().get(am.url)?.sent, 2);
  });

  t.test('alerts posted while Alertmanager is down arrive after it comes back', async (t) => {
    const s = sender([am.url]);
    await am.restart(async () => {
      s.enqueue([alert('Outage')]);
      await waitFor('failed posts', () => s.stats().get(am.url)!.failed >= 2, 5_000);
      t.equal(s.stats().get(am.url)?.queued, 1, 'kept while failing');
    });
    await waitFor('the alert after the restart', async () => (await listed(am, 'Outage')).length === 1);
    t.match(s.stats().get(am.url), { sent: 1, dropped: 0, queued: 0 });
    t.ok(sink.lines.some((l) => l.msg === 'alertmanager post failed, retrying with backoff' && l.url === am.url), 'warned');
    t.ok(sink.lines.some((l) => l.msg === 'alertmanager reachable again' && l.url === am.url), 'recovery logged');
  });

  t.test('every Alertmanager of an HA pair receives the alert', async (t) => {
    const am2 = await startAlertmanager();
    t.teardown(() => am2.stop());
    const s = sender([am.url, am2.url]);
    s.enqueue([alert('Both')]);
    await waitFor('the alert in both', async () => (await listed(am, 'Both')).length === 1 && (await listed(am2, 'Both')).length === 1);
    t.equal(s.stats().get(am.url)?.sent, 1);
    t.equal(s.stats().get(am2.url)?.sent, 1);
  });

  t.test('past capacity the oldest queued alert is dropped, counted and logged once', async (t) => {
    const s = sender([am.url], 2);
    await am.restart(async () => {
      s.enqueue([alert('Cap1')]);
      await waitFor('a failed post', () => s.stats().get(am.url)!.failed >= 1, 5_000);
      s.enqueue([alert('Cap2'), alert('Cap3')]);
      s.enqueue([alert('Cap4')]);
      t.match(s.stats().get(am.url), { dropped: 2, queued: 2 });
      t.equal(sink.lines.filter((l) => l.msg === 'alertmanager queue full, dropping oldest alerts' && l.url === am.url).length, 1, 'logged once');
    });
    await waitFor('the two newest', async () => (await listed(am, 'Cap3')).length === 1 && (await listed(am, 'Cap4')).length === 1);
    t.same(await listed(am, 'Cap1'), [], 'the oldest is gone');
    t.same(await listed(am, 'Cap2'), []);
    t.match(s.stats().get(am.url), { sent: 2, dropped: 2, queued: 0 });
  });

  t.test('a newer state of a queued alert replaces it', async (t) => {
    const s = sender([am.url], 2);
    const v1 = alert('Replaced', { annotations: { summary: 'v1' } });
    const v2 = alert('Replaced', { annotations: { summary: 'v2' } });
    await am.restart(async () => {
      s.enqueue([v1]);
      await waitFor('a failed post', () => s.stats().get(am.url)!.failed >= 1, 5_000);
      // Label order doesn't make it another alert.
      s.enqueue([{ ...v2, labels: Object.fromEntries(Object.entries(v2.labels).reverse()) }]);
      s.enqueue([v2, v2, v2]);
      t.match(s.stats().get(am.url), { queued: 1, dropped: 0 });
    });
    const [got] = await waitFor('the alert', async () => {
      const l = await listed(am, 'Replaced');
      return l.length > 0 && l;
    });
    t.same(got?.annotations, { summary: 'v2' });
    t.match(s.stats().get(am.url), { sent: 1, queued: 0, dropped: 0 });
  });

  t.test('an alert Alertmanager refuses as invalid is dropped, not retried', async (t) => {
    let posts = 0;
    const counting = ((input: string | URL | Request, init?: RequestInit) => {
      posts++;
      return fetch(input, init);
    }) as typeof fetch;
    const s = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 10, backoff: fast, log: sink.log, fetch: counting });
    t.teardown(() => s.close());
    // Alertmanager 0.25 refuses an alert without labels with 400 "at least one label pair required".
    s.enqueue([{ ...alert('Invalid'), labels: {} }]);
    await waitFor('the refusal', () => s.stats().get(am.url)!.dropped === 1, 5_000);
    t.same(s.stats().get(am.url), { sent: 0, failed: 1, dropped: 1, queued: 0 });
    const err = sink.lines.find((l) => l.msg === 'alertmanager refused an alert as invalid, dropping it');
    t.match(err, { level: 50, url: am.url, status: 400, labels: {}, body: /at least one label pair required/ });
    s.enqueue([alert('AfterInvalid')]);
    await waitFor('the next alert', async () => (await listed(am, 'AfterInvalid')).length === 1);
    t.equal(posts, 2, 'the refused alert was posted once');
  });

  t.test('an invalid alert in a batch is dropped alone: the valid ones, resolved ones too, are listed', async (t) => {
    const s = sender([am.url]);
    const wasFiring = alert('MixedResolved');
    s.enqueue([wasFiring]);
    await waitFor('the firing alert', async () => (await listed(am, 'MixedResolved')).length === 1);
    s.enqueue([alert('MixedA'), { ...alert('MixedBad'), labels: {} }, { ...wasFiring, endsAt: new Date().toISOString() }, alert('MixedB')]);
    await waitFor('the batch settled', () => s.stats().get(am.url)!.queued === 0 && s.stats().get(am.url)!.dropped === 1, 5_000);
    t.equal((await listed(am, 'MixedA')).length, 1);
    t.equal((await listed(am, 'MixedB')).length, 1);
    t.same(await listed(am, 'MixedResolved'), [], 'the resolved notification got through');
    // 4 → 400 (Alertmanager keeps the valid three anyway), 2 → 400, the bad one alone → dropped, then 1, then 2 accepted.
    t.same(s.stats().get(am.url), { sent: 4, failed: 1, dropped: 1, queued: 0 });
  });
});

t.test('401, 403 and 404 are retried with backoff and counted failed; the resolved state gets through', async (t) => {
  for (const status of [401, 403, 404]) {
    await t.test(`HTTP ${status}`, async (t) => {
      const refusals = 4;
      let refused = 0;
      const am = await startFakeAlertmanager(() => (refused++ < refusals ? { status, body: `{"error":"HTTP ${status} from the proxy"}` } : { status: 200 }));
      t.teardown(() => am.close());
      const sink = logSink();
      const backoff = { initialMs: 40, maxMs: 160 };
      const s = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 10, backoff, log: sink.log });
      t.teardown(() => s.close());
      const firing = alert('Auth');
      s.enqueue([firing]);
      await waitFor('a refused post', () => s.stats().get(am.url)!.failed >= 1, 5_000);
      // The finding resolves while Alertmanager refuses: that state replaces the queued firing one.
      const resolved = { ...firing, endsAt: new Date().toISOString() };
      s.enqueue([resolved]);
      await waitFor('delivered', () => s.stats().get(am.url)!.sent === 1, 10_000);
      const posts = am.posts();
      t.equal(posts.length, refusals + 1, 'posted until accepted');
      t.same(s.stats().get(am.url), { sent: 1, failed: refusals, dropped: 0, queued: 0 });
      t.same(posts.at(-1)!.alerts, [resolved], 'the resolved state is what got through');
      // Jittered exponential backoff: the wait after the i-th refusal is at least half of min(max, initial·2^i).
      for (let i = 1; i < posts.length; i++) {
        const least = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (i - 1)) / 2;
        t.ok(posts[i]!.at - posts[i - 1]!.at >= least - 1, `gap ${i}: ${(posts[i]!.at - posts[i - 1]!.at).toFixed(0)} ms ≥ ${least} ms`);
      }
      const warns = sink.lines.filter((l) => l.msg === 'alertmanager post failed, retrying with backoff');
      t.equal(warns.length, 1, 'one warning for the streak');
      t.match(warns[0], { level: 40, url: am.url, status, body: `{"error":"HTTP ${status} from the proxy"}` });
      t.ok(sink.find('alertmanager reachable again'), 'recovery logged');
      t.notOk(sink.find(/dropping/), 'nothing dropped');
    });
  }
});

t.test('413: a batch is split until each post fits; an alert too large alone is retried, holding back no other', async (t) => {
  let limit = 1_500;
  const am = await startFakeAlertmanager((r) => (r.bytes > limit ? { status: 413, body: 'request entity too large' } : { status: 200 }));
  t.teardown(() => am.close());
  const sink = logSink();
  const s = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 20, backoff: { initialMs: 30, maxMs: 60 }, log: sink.log });
  t.teardown(() => s.close());
  const small = Array.from({ length: 6 }, (_, i) => alert(`Small${i}`));
  const big = alert('Big', { annotations: { summary: 'big', description: 'x'.repeat(2_000) } });
  const resolved = { ...alert('SmallResolved'), endsAt: new Date().toISOString() };
  s.enqueue([...small.slice(0, 3), big, ...small.slice(3), resolved]);
  const delivered = () => new Set(am.posts().filter((p) => p.bytes <= limit).flatMap((p) => p.alerts.map((a) => a.labels.alertname)));
  await waitFor('every small alert delivered', () => [...small, resolved].every((a) => delivered().has(a.labels.alertname!)), 5_000);
  await waitFor('the big one refused alone, more than once', () => am.posts().filter((p) => p.alerts.length === 1 && p.alerts[0]!.labels.alertname === 'Big').length >= 3, 5_000);
  t.ok(am.posts().every((p) => p.bytes <= limit || p.alerts.length > 1 || p.alerts[0]!.labels.alertname === 'Big'), 'only batches and the big alert were refused');
  // The fake has answered the third refusal; the sender counts it once it has read that answer.
  await waitFor('the third refusal counted', () => s.stats().get(am.url)!.failed >= 3, 5_000);
  const st = s.stats().get(am.url)!;
  t.match(st, { sent: 7, dropped: 0, queued: 1 });
  t.ok(st.failed >= 3, `the big alert counted failed on each try (${st.failed})`);
  t.match(sink.find('alertmanager post failed, retrying with backoff'), { level: 40, status: 413, body: 'request entity too large' });

  // A proxy limit raised: it gets through.
  limit = 1_000_000;
  await waitFor('the big alert delivered', () => s.stats().get(am.url)!.queued === 0, 5_000);
  t.match(s.stats().get(am.url), { sent: 8, dropped: 0 });
});

t.test('400: a batch with one invalid alert is halved until it is alone; only it is dropped, counted and logged (bounded)', async (t) => {
  const longBody = `alert Bad is invalid: ${'y'.repeat(2_000)}`;
  const am = await startFakeAlertmanager((r) => (r.alerts.some((a) => a.labels.alertname === 'Bad') ? { status: 400, body: longBody } : { status: 200 }));
  t.teardown(() => am.close());
  const sink = logSink();
  const s = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 20, backoff: fast, log: sink.log });
  t.teardown(() => s.close());
  const now = new Date().toISOString();
  const good = [alert('G0'), { ...alert('G1'), endsAt: now }, alert('G2'), alert('G4'), { ...alert('G5'), endsAt: now }, alert('G6'), alert('G7')];
  s.enqueue([...good.slice(0, 3), alert('Bad'), ...good.slice(3)]);
  await waitFor('the batch settled', () => s.stats().get(am.url)!.queued === 0, 5_000);
  t.same(
    am.posts().map((p) => [p.alerts.length, p.alerts.some((a) => a.labels.alertname === 'Bad') ? 400 : 200]),
    // [G0 G1 G2 Bad | G4 G5 G6 G7] → [G0 G1 | G2 Bad] → [G2 | Bad] → the second half of the eight.
    [
      [8, 400],
      [4, 400],
      [2, 200],
      [2, 400],
      [1, 200],
      [1, 400],
      [4, 200],
    ],
    'halves, first half first, down to the bad alert alone',
  );
  const accepted = am.posts().filter((p) => !p.alerts.some((a) => a.labels.alertname === 'Bad')).flatMap((p) => p.alerts);
  t.same(accepted.map((a) => a.labels.alertname).sort(), good.map((a) => a.labels.alertname).sort(), 'every other alert, resolved ones included, accepted once');
  t.same(s.stats().get(am.url), { sent: 7, failed: 1, dropped: 1, queued: 0 });
  const errs = sink.lines.filter((l) => l.msg === 'alertmanager refused an alert as invalid, dropping it');
  t.equal(errs.length, 1, 'logged once');
  t.match(errs[0], { level: 50, url: am.url, status: 400, labels: { alertname: 'Bad' } });
  t.equal(errs[0]!.body, `${longBody.slice(0, 512)}…`, "Alertmanager's reason, bounded");
  t.notOk(sink.find('alertmanager post failed, retrying with backoff'), 'no failure streak: Alertmanager answered');

  s.enqueue([alert('Bad'), alert('After')]);
  await waitFor('the next batch settled', () => s.stats().get(am.url)!.queued === 0, 5_000);
  t.same(s.stats().get(am.url), { sent: 8, failed: 2, dropped: 2, queued: 0 });
});

t.test('a failure other than 413 while a batch is split stops the split: the rest waits for the backoff', async (t) => {
  let down = false;
  const am = await startFakeAlertmanager((r) => (down ? { status: 503 } : r.alerts.some((a) => a.labels.alertname === 'Bad') ? ((down = true), { status: 400 }) : { status: 200 }));
  t.teardown(() => am.close());
  const s = new AlertmanagerSender({ urls: [am.url], timeoutMs: 2_000, capacity: 20, backoff: { initialMs: 100, maxMs: 100 }, log: silentLogger() });
  t.teardown(() => s.close());
  s.enqueue([alert('A'), alert('Bad'), alert('B'), alert('C')]);
  await waitFor('a post after the 400', () => am.posts().length >= 2, 5_000);
  // 4 → 400, then 2 → 503: the second half is not tried, all four wait.
  await waitFor('the failed attempt counted', () => s.stats().get(am.url)!.failed === 4, 5_000);
  t.equal(am.posts().length, 2);
  t.same(s.stats().get(am.url), { sent: 0, failed: 4, dropped: 0, queued: 4 });
  down = false;
  am.answer((r) => (r.alerts.some((a) => a.labels.alertname === 'Bad') ? { status: 400 } : { status: 200 }));
  await waitFor('settled after the backoff', () => s.stats().get(am.url)!.queued === 0, 5_000);
  t.same(s.stats().get(am.url), { sent: 3, failed: 5, dropped: 1, queued: 0 });
});
