// Agent and aggregator failures in the namespace lab: a killed agent's row
// turns unknown, and so does its column (its node still answers ICMP: an agent
// away on a fine node is no network fault); a restarted aggregator is whole again, and no report the
// agents buffered meanwhile is lost, by the counters on both sides.
import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import { createLab } from './lab/lab.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { cellsOf, describe, metricValue, Netmatrix } from './netmatrix.js';

const INTERVAL_MS = 500;
const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: 4 });
t.teardown(() => lab.down());
const nm = new Netmatrix(lab, { aggregator: { 'probe-interval': `${INTERVAL_MS}ms`, 'probe-timeout': '250ms', window: '10s' } });
t.teardown(() => nm.stop());
await nm.start();
const allOk = async () => {
  const m = await nm.matrix('tcp');
  return m.nodes.length === 4 && cellsOf(m).every((x) => x.cell.status === 'ok');
};
await waitFor('every tcp cell ok', allOk, 10_000, 100);

t.test('a killed agent: its row and its column turn unknown, and nothing critical is raised', async (t) => {
  await nm.stopAgent('node-4', 'SIGKILL');
  await waitFor('row and column node-4 unknown, the rest ok', async () => {
    const m = await nm.matrix('tcp');
    return cellsOf(m).every((x) => (x.src === 'node-4' || x.dst === 'node-4' ? x.cell.status === 'unknown' : x.cell.status === 'ok'));
  }, 3 * INTERVAL_MS + 5_000, 100);
  t.pass('row unknown (no reports); column unknown: probes towards it are refused, but its pod and node IP answer ICMP, so that is the agent away, not the network');
  const findings = (await nm.get<{ findings: { kind: string; severity: string }[] }>('/api/v1/findings?state=all')).findings;
  t.same(findings.filter((f) => f.severity === 'critical').map((f) => f.kind), [], 'no critical finding, pending or firing');
  nm.startAgent('node-4');
  await waitFor('node-4 back', allOk, 10_000, 100);
});

t.test('the aggregator restarted: whole again, and nothing the agents buffered is lost', async (t) => {
  const agents = lab.nodes.map((n) => n.name);
  const counter = (text: string, name: string) => metricValue(text, name, `aggregator="${nm.aggregatorAddress}"`) ?? 0;
  await nm.stopAggregator('SIGKILL');
  // What the old aggregator acknowledged is what it had; everything after must reach the new one.
  const ackedByOld = new Map<string, number>();
  for (const a of agents) ackedByOld.set(a, counter(await nm.agentMetrics(a), 'netmatrix_agent_reports_acked_total'));
  await waitFor('every agent to buffer a few reports', async () => {
    for (const a of agents) if (counter(await nm.agentMetrics(a), 'netmatrix_agent_reports_buffered') < 3) return false;
    return true;
  }, 10_000, 100);
  const bufferedAtRestart = new Map<string, number>();
  for (const a of agents) bufferedAtRestart.set(a, counter(await nm.agentMetrics(a), 'netmatrix_agent_reports_buffered'));
  await nm.startAggregator();
  const started = Date.now();
  await waitFor('the matrix whole again', allOk, 4 * INTERVAL_MS + 5_000, 100).catch(async (e) => {
    throw new Error(`${(e as Error).message}: ${describe(await nm.matrix('tcp'))}`);
  });
  t.pass(`whole again ${Date.now() - started} ms after the restart`);
  for (const a of agents) {
    await waitFor(`${a}'s buffer to drain`, async () => counter(await nm.agentMetrics(a), 'netmatrix_agent_reports_buffered') === 0, 5_000, 100);
    const m = await nm.agentMetrics(a);
    const created = metricValue(m, 'netmatrix_agent_reports_total') ?? 0;
    const acked = counter(m, 'netmatrix_agent_reports_acked_total');
    const dropped = counter(m, 'netmatrix_agent_reports_dropped_total');
    const stored = (await nm.get<{ nodes: { name: string; agent: { reports: number } }[] }>('/api/v1/nodes')).nodes.find((n) => n.name === a)!.agent.reports;
    t.equal(dropped, 0, `${a}: no report dropped`);
    // Acknowledged by the new aggregator = stored by it (reports keep coming, so read both after the agent's counters).
    const ackedByNew = acked - ackedByOld.get(a)!;
    t.ok(stored >= ackedByNew && ackedByNew > 0, `${a}: the new aggregator stored ${stored} reports, acknowledged ${ackedByNew}`);
    t.ok(stored >= bufferedAtRestart.get(a)!, `${a}: all ${bufferedAtRestart.get(a)} reports buffered while it was down are among them`);
    t.ok(acked + dropped <= created && created - acked <= 2, `${a}: created ${created} = acknowledged ${acked} + in flight ${created - acked}`);
  }
});

t.test('the root namespace is as it was', async (t) => {
  await nm.stop();
  await lab.down();
  t.same(await guard.changes(), []);
});
