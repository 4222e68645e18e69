// Findings reach real Alertmanagers from a real aggregator fed by real agents
// on a namespace lab with real faults: a blocked pair, a dead node, a zone
// partition, an Alertmanager that is down for a while, two Alertmanagers.
// Both Alertmanagers run in the aggregator's namespace; the test reads them
// through the lab's forwarders. Latencies are printed, not asserted (bench/).
import t from 'tap';
import { alertmanagerAvailable, startAlertmanager, type AmAlert, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { waitFor } from '../helpers/wait.js';
import { getVia } from './lab/forwarded-http.js';
import { createLab } from './lab/lab.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { metricValue, Netmatrix } from './netmatrix.js';

if (!alertmanagerAvailable) {
  t.plan(0, 'prometheus-alertmanager is not installed (.ci/run installs it)');
  process.exit(0);
}

const INTERVAL_MS = 1000;
const FOR_MS = 1000;
/** Generous: the target (2 intervals + for) is measured by bench/, not asserted here. */
const ARRIVE_MS = 15_000;
const ZONE = (n: string) => (n === 'node-1' || n === 'node-2' ? 'zone-a' : 'zone-b');

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: 5 });
t.teardown(() => lab.down());

const ams: RunningAlertmanager[] = [];
const forwards: { close: () => void }[] = [];
t.teardown(async () => {
  for (const am of ams) await am.stop();
  for (const f of forwards) f.close();
});
async function startAm(port: number): Promise<RunningAlertmanager> {
  let socket: string | undefined;
  const am = await startAlertmanager({
    listen: `${lab.aggregatorIP}:${port}`,
    wrapper: ['ip', 'netns', 'exec', lab.aggregatorNs],
    get: async (path) => {
      if (!socket) {
        const f = await lab.forward(lab.aggregatorNs, lab.aggregatorIP, port);
        forwards.push(f);
        socket = f.socketPath;
      }
      return getVia(socket, path);
    },
  });
  ams.push(am);
  return am;
}
const [am1, am2] = [await startAm(9093), await startAm(9094)];

const nm = new Netmatrix(lab, {
  aggregator: {
    'probe-interval': `${INTERVAL_MS}ms`,
    'probe-timeout': '500ms',
    window: '10s',
    'finding-for': `${FOR_MS}ms`,
    'finding-clear-for': `${FOR_MS}ms`,
    'alert-resend': '5s',
    'alert-timeout': '1s',
    cluster: 'lab',
    'alertmanager-urls': `${am1.url},${am2.url}`,
  },
  zone: ZONE,
});
t.teardown(() => nm.stop());
await nm.start();

const brief = (a: AmAlert[]) => a.map((x) => `${x.labels.alertname}{${['node', 'src', 'dst', 'src_zone', 'dst_zone'].filter((k) => x.labels[k]).map((k) => `${k}=${x.labels[k]}`).join(',')}}`).sort();

/** Waits until `am` holds exactly `want` (as brief() strings); returns ms waited. */
async function holds(am: RunningAlertmanager, want: string[], timeoutMs = ARRIVE_MS): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  try {
    await waitFor(`${want.join(' ') || 'no alerts'} in ${am.url}`, async () => {
      last = brief(await am.alerts({ cluster: 'lab' }));
      return JSON.stringify(last) === JSON.stringify([...want].sort());
    }, timeoutMs, 100);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last.join(' ') || 'none'}; findings: ${JSON.stringify(await nm.get('/api/v1/findings?state=all'))}`);
  }
  return Date.now() - started;
}

t.test('a healthy lab sends nothing', async (t) => {
  await waitFor('every node reporting', async () => (await nm.get<{ nodes: { agent: { lastReportAt: string | null } }[] }>('/api/v1/nodes')).nodes.filter((n) => n.agent.lastReportAt).length === 5, 15_000, 200);
  // Two firing delays after the matrix filled, nothing has fired.
  await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS + FOR_MS));
  t.same(brief(await am1.alerts()), []);
  t.same((await nm.get<{ findings: unknown[] }>('/api/v1/findings?state=all')).findings, []);
});

t.test('a blocked pair: two PairUnreachable in both Alertmanagers, resolved when it heals', async (t) => {
  const blocked = Date.now();
  await lab.blockPair('node-1', 'node-3', 'drop');
  const want = ['PairUnreachable{src=node-1,dst=node-3}', 'PairUnreachable{src=node-3,dst=node-1}'];
  await holds(am1, want);
  t.comment(`fault to Alertmanager: ${Date.now() - blocked} ms (interval ${INTERVAL_MS} ms, for ${FOR_MS} ms)`);
  await holds(am2, want, 5_000);
  t.pass('both Alertmanagers have both alerts');
  const [a] = (await am1.alerts({ alertname: 'PairUnreachable', src: 'node-1' }));
  t.match(a!.labels, { alertname: 'PairUnreachable', severity: 'warning', cluster: 'lab', src: 'node-1', dst: 'node-3' });
  t.match(a!.annotations, { summary: "node-1 can't reach node-3", runbook_url: /\/PairUnreachable\.md$/ });
  t.match(a!.annotations.description, /icmp: failing \(timeout\); tcp: failing \(timeout\)/);
  t.match(a!.generatorURL, new RegExp(`^http://${lab.aggregatorIP.replace(/\./g, '\\.')}:8080/api/v1/findings/[0-9a-f]{16}$`));
  const cleared = Date.now();
  await lab.clear();
  await holds(am1, []);
  await holds(am2, [], 5_000);
  t.comment(`heal to resolved in Alertmanager: ${Date.now() - cleared} ms`);
});

t.test('a dead node is one NodeUnreachable, not a PairUnreachable per prober nor an AgentMissing', async (t) => {
  await nm.stopAgent('node-5');
  await lab.cutCable('node-5');
  await holds(am1, ['NodeUnreachable{node=node-5}']);
  t.match((await am1.alerts({ alertname: 'NodeUnreachable' }))[0]!.annotations.description, /agent is not connected either/);
  await lab.restoreCable('node-5');
  nm.startAgent('node-5');
  await holds(am1, []);
  t.pass('resolved after the node came back');
});

t.test('zone-a cut off from zone-b is one ZonePartition', async (t) => {
  for (const a of ['node-1', 'node-2']) for (const b of ['node-3', 'node-4', 'node-5']) await lab.blockPair(a, b, 'drop');
  await holds(am1, ['ZonePartition{src_zone=zone-a,dst_zone=zone-b}']);
  t.pass('one alert for six blocked pairs');
  await lab.clear();
  await holds(am1, []);
});

t.test('an Alertmanager down while a fault fires gets the alert when it is back; the other gets it at once', async (t) => {
  const failedBefore = metricValue(await nm.aggregatorMetrics(), 'netmatrix_alerts_failed_total', `alertmanager="${am1.url}"`) ?? 0;
  await am1.restart(async () => {
    await lab.blockPair('node-2', 'node-4', 'reject');
    // reject blocks one direction (node-4 refuses node-2); the way back still works.
    await holds(am2, ['PairUnreachable{src=node-2,dst=node-4}']);
    await waitFor('failed posts to the stopped Alertmanager counted', async () => (metricValue(await nm.aggregatorMetrics(), 'netmatrix_alerts_failed_total', `alertmanager="${am1.url}"`) ?? 0) > failedBefore, 10_000, 200);
    t.pass('the stopped Alertmanager\'s failed posts are counted while the other has the alerts');
  });
  const back = Date.now();
  await holds(am1, ['PairUnreachable{src=node-2,dst=node-4}']);
  t.comment(`arrived ${Date.now() - back} ms after Alertmanager came back (retry with backoff)`);
  t.match((await am1.alerts({ src: 'node-2' }))[0]!.annotations.description, /refused/);
  await lab.clear();
  await holds(am1, []);
  await holds(am2, [], 5_000);
  const m = await nm.aggregatorMetrics();
  t.ok((metricValue(m, 'netmatrix_alerts_sent_total', `alertmanager="${am2.url}"`) ?? 0) > 0, 'sent counted per Alertmanager');
  t.equal(metricValue(m, 'netmatrix_alerts_dropped_total', `alertmanager="${am1.url}"`), 0, 'nothing dropped: the queue held them');
});

t.test('the root namespace is as it was', async (t) => {
  await nm.stop();
  for (const am of ams.splice(0)) await am.stop();
  await lab.down();
  t.same(await guard.changes(), []);
});
