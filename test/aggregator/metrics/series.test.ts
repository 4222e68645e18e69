// Series stay O(nodes): 200 simulated nodes with 3 failing pairs, counted
// from a real scrape of the aggregator's registry. Nodes that leave take their
// series with them; a node shows no reachability until it has had a window.
import t from 'tap';
import { createAggregatorMetrics } from '../../../aggregator/metrics/metrics.js';
import { Cluster, clusterEvaluator, KINDS, STALE, WINDOW, type World } from '../localize/cluster-fixture.js';

function setup(c: Cluster) {
  const { findings, evaluator, sessions } = clusterEvaluator(c);
  const metrics = createAggregatorMetrics({ nodes: c.nodes, sessions, store: c.store, evaluator, findings, now: () => c.clock.monotonic() });
  /** Series per metric name, from the exposition text (process metrics left out). */
  const series = async () => {
    evaluator.evaluate();
    const text = await metrics.registry.metrics();
    const by = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(netmatrix_[a-z_]+)[{ ]/.exec(line);
      if (!m || m[1]!.startsWith('netmatrix_aggregator_')) continue;
      by.set(m[1]!, (by.get(m[1]!) ?? 0) + 1);
    }
    return { by, total: [...by.values()].reduce((a, b) => a + b, 0), text };
  };
  return { series, evaluator };
}

const FAILING = new Set(['n-1>n-2', 'n-50>n-120', 'n-199>n-7']);
const world: World = (s, d) => (FAILING.has(`${s}>${d}`) ? 'timeout' : 'ok');

async function cluster(nodes: number) {
  const c = new Cluster();
  for (let z = 0; z < 4; z++) c.add(`z${z}`, 0); // zones appear as nodes join
  for (let i = 1; i <= nodes; i++) {
    const rec = c.nodes.upsert({ name: `n-${i}`, zone: `zone-${i % 4}`, podIPs: [`198.51.100.${i % 250}`], nodeIPs: [], responderPort: 9402 }, c.clock.monotonic());
    Object.assign(rec.agent, { connected: true, instanceId: `n-${i}`, connectedSince: c.clock.monotonic(), instanceSince: c.clock.monotonic() });
  }
  c.run(WINDOW / 5_000 + 1, world);
  return c;
}

t.test('200 nodes, 3 failing pairs: O(nodes) series, per-pair series only for the failing pairs', async (t) => {
  const c200 = await cluster(200);
  const s200 = await setup(c200).series();
  const c100 = await cluster(100);
  const s100 = await setup(c100).series();
  t.comment(`series: ${s100.total} at 100 nodes, ${s200.total} at 200 nodes; pairs ${200 * 199} at 200`);
  for (const [name, n] of s200.by) t.comment(`  ${name}: ${n}`);
  t.equal(s200.by.get('netmatrix_pair_unhealthy'), FAILING.size * KINDS.length, 'one per failing pair and kind');
  t.equal(s200.by.get('netmatrix_pair_loss_ratio'), FAILING.size * KINDS.length);
  t.equal(s200.by.get('netmatrix_node_reachability_ratio'), 200 * KINDS.length * 2, 'in and out per node and kind');
  t.equal(s200.by.get('netmatrix_zone_pair_reachability_ratio'), 4 * 3 * KINDS.length, 'zones² (cross pairs) per kind');
  const perNode = (s200.total - s100.total) / 100;
  t.ok(perNode < 30, `series grow by ${perNode.toFixed(1)} per node (a constant), not with pairs`);
  t.ok(s200.total < 30 * 200 + 500, `${s200.total} series at 200 nodes is O(nodes)`);
  t.ok(s200.total < 200 * 199, 'fewer series than node pairs');
  t.match(s200.text, /netmatrix_findings_active\{kind="PairUnreachable",severity="warning"\} 3/);
});

t.test('a node that leaves takes its series with it', async (t) => {
  const c = await cluster(10);
  const { series } = setup(c);
  t.match((await series()).text, /node="n-3"/);
  const index = c.nodes.remove('n-3')!;
  c.store.removeNode(index, c.nodes.slots);
  const after = await series();
  t.notMatch(after.text, /"n-3"/, 'no series names n-3');
});

t.test('a node that just joined, or whose agent just started, is left out until it has had a full window', async (t) => {
  const c = await cluster(6);
  const { series } = setup(c);
  const late = c.nodes.upsert({ name: 'late-1', zone: 'zone-1', podIPs: ['203.0.113.9'], nodeIPs: [], responderPort: 9402 }, c.clock.monotonic());
  Object.assign(late.agent, { connected: true, instanceId: 'late', connectedSince: c.clock.monotonic(), instanceSince: c.clock.monotonic() });
  c.run(2, world);
  let s = await series();
  t.match(s.text, /netmatrix_agent_up\{node="late-1"\} 1/, 'agent_up from the first Hello');
  t.match(s.text, /netmatrix_node_info\{node="late-1",zone="zone-1"/);
  t.notMatch(s.text, /netmatrix_node_reachability_ratio\{node="late-1"/, 'no reachability within the first window');
  t.notMatch(s.text, /netmatrix_node_loss_ratio\{node="late-1"/);
  c.run(WINDOW / 5_000, world);
  s = await series();
  t.match(s.text, /netmatrix_node_reachability_ratio\{node="late-1",kind="icmp",direction="in"\} 1/);
  t.match(s.text, /netmatrix_node_reachability_ratio\{node="late-1",kind="icmp",direction="out"\} 1/);
  // A restarted agent (new instance) has no out-series for a window; the node keeps its in-series.
  const n1 = c.node('n-1');
  n1.agent.instanceId = 'n-1-restarted';
  n1.agent.instanceSince = c.clock.monotonic();
  c.run(1, world);
  s = await series();
  t.notMatch(s.text, /netmatrix_node_reachability_ratio\{node="n-1",kind="icmp",direction="out"\}/);
  t.match(s.text, /netmatrix_node_reachability_ratio\{node="n-1",kind="icmp",direction="in"\}/);
});

t.test('the per-pair cap holds, and what it leaves out is counted', async (t) => {
  const c = new Cluster();
  c.add('n', 12);
  c.run(WINDOW / 5_000 + 1, (s) => (['n-1', 'n-2', 'n-3'].includes(s) ? 'timeout' : 'ok'));
  const s = await setup(c).series();
  t.equal(s.by.get('netmatrix_pair_unhealthy'), 100, 'capped at --max-pair-series');
  t.match(s.text, new RegExp(`netmatrix_pair_series_dropped ${3 * 11 * KINDS.length - 100}\\n`));
});

t.test('a step of the wall clock changes no series: ages and reachability run on the monotonic clock', async (t) => {
  const c = await cluster(6);
  const { series } = setup(c);
  const before = (await series()).text;
  const age = (text: string) => Number(/netmatrix_agent_last_report_age_seconds\{node="n-1"\} ([\d.e+-]+)/.exec(text)?.[1]);
  const reach = (text: string) => /netmatrix_node_reachability_ratio\{node="n-1",kind="icmp",direction="in"\} ([\d.]+)/.exec(text)?.[1];
  t.equal(age(before), 0);
  for (const step of [3_600_000, -7_200_000]) {
    c.clock.stepWall(step);
    const after = (await series()).text;
    t.equal(age(after), 0, `a wall step of ${step / 3_600_000} h: the last report is still 0 s old`);
    t.equal(reach(after), '1', 'and the node still reachable (no row went stale)');
  }
});
