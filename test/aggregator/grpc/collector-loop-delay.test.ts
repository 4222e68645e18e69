// Results an agent marks as taken while its event loop was held up
// (loop_delay_us), through a real aggregator over real gRPC: eight simulated
// agents, one of them starved (every answer from it 120 ms late and one probe
// in five timed out, all marked, as a starved agent's scheduler marks them),
// and the same two faults unmarked, each on a node of its own: answers from
// n-6 120 ms late, one probe in five from n-7 lost. The network is blamed for
// what the unmarked nodes show, and not for the starved agent's stalls
// (goldpinger#83); the API and /metrics say how much of the starved agent's
// results were left unjudged.
import t from 'tap';
import type { PairKind } from '../../../common/vocabulary.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { mulberry32 } from '../../helpers/random.js';
import { simCluster, type SimOutcomeFn } from '../../helpers/sim-cluster.js';
import { holdsFor, waitFor } from '../../helpers/wait.js';

const INTERVAL = 250;
const KINDS: PairKind[] = ['icmp', 'tcp', 'http', 'node'];
const NODES = Array.from({ length: 8 }, (_, i) => ({ name: `n-${i + 1}`, zone: 'z1', podIP: `192.0.2.${i + 1}` }));
const STARVED = 'n-2';
const SLOW = 'n-6';
const LOSSY = 'n-7';
const SLOW_US = 120_000;

const agg = await testAggregator({
  'probe-interval': `${INTERVAL}ms`,
  'probe-timeout': '100ms',
  'probe-kinds': KINDS.join(','),
  window: '4s',
  'loss-window': '8s',
  'finding-for': '500ms',
  // A row is stale after 3 intervals by default: on a loaded machine a stalled timer would blank rows mid-test.
  'stale-after': '3s',
});
// Each (source, target, kind) loses the round its seeded phase says, one in five; the four kinds towards one target
// never in the same round, so no timeout is corroborated by another kind: loss, not an outage.
const phase = new Map<string, number>();
const rand = mulberry32(0x100_7de1);
const phaseOf = (src: string, dst: string) => {
  let p = phase.get(`${src}>${dst}`);
  if (p === undefined) phase.set(`${src}>${dst}`, (p = Math.floor(rand() * 5)));
  return p;
};
let round = 0;
const lost = (src: string, dst: string, kind: PairKind) => (round + phaseOf(src, dst) + KINDS.indexOf(kind)) % 5 === 0;
const base = (src: string, dst: string) => 300 + ((src.charCodeAt(2) * 7 + dst.charCodeAt(2) * 3) % 400);
const outcome: SimOutcomeFn = (src, dst, kind) => {
  if (src === STARVED) {
    // What a starved agent's scheduler reports: the stall is in the RTT and in the mark; a timeout held up at its deadline.
    if (lost(src, dst, kind)) return { outcome: 'timeout', rttUs: 0, loopDelayUs: 150_000 };
    return { outcome: 'ok', rttUs: SLOW_US + base(src, dst), loopDelayUs: SLOW_US };
  }
  if (src === SLOW) return { outcome: 'ok', rttUs: SLOW_US + base(src, dst) };
  if (src === LOSSY && lost(src, dst, kind)) return { outcome: 'timeout', rttUs: 0 };
  return { outcome: 'ok', rttUs: base(src, dst) };
};
const sim = simCluster(agg.grpcAddress, { nodes: NODES, outcome, kinds: KINDS, intervalMs: INTERVAL, streamDeadlineMs: 120_000 });
const rounds = setInterval(() => round++, INTERVAL);
t.teardown(async () => {
  clearInterval(rounds);
  sim.stop();
  await agg.stop();
});

type Finding = { kind: string; state: string; labels: Record<string, string> };
async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${agg.httpUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as T;
}
const findings = async () => (await api<{ findings: Finding[] }>('/api/v1/findings?state=all')).findings;
const about = (f: Finding, node: string) => f.labels.node === node || f.labels.src === node || f.labels.dst === node;
const has = (fs: Finding[], kind: string, node: string) => fs.some((f) => f.kind === kind && f.labels.node === node);

t.test('an unmarked fault is found; the same, marked by a starved agent, blames nothing', async (t) => {
  await sim.ready(10_000);
  // Every finding seen while the faults are found, for the starved node.
  const blamed = new Set<string>();
  const found = await waitFor(
    `HighLatency{node=${SLOW}} and PacketLoss{node=${LOSSY}}`,
    async () => {
      const fs = await findings();
      for (const f of fs) if (about(f, STARVED)) blamed.add(`${f.kind} ${JSON.stringify(f.labels)}`);
      return has(fs, 'HighLatency', SLOW) && has(fs, 'PacketLoss', LOSSY) ? fs : false;
    },
    40_000,
    250,
  );
  t.pass(`found: ${found.map((f) => `${f.kind} ${JSON.stringify(f.labels)}`).join('; ')}`);
  t.same([...blamed], [], `nothing about ${STARVED} while they were found`);
  await holdsFor(
    t,
    `no finding about ${STARVED}, whose agent marked its 120 ms answers and its timeouts`,
    async () => (await findings()).filter((f) => about(f, STARVED)).map((f) => `${f.kind} ${JSON.stringify(f.labels)}`),
    3_000,
  );
  // The same faults, unmarked, are still named on their nodes.
  const fs = await findings();
  t.ok(has(fs, 'HighLatency', SLOW) && has(fs, 'PacketLoss', LOSSY), 'the unmarked faults are still named');
});

t.test('the cells: the starved agent\'s answers count, their RTT and its timeouts are not judged', async (t) => {
  type Cell = { status: string; lossRatio: number | null; rttP50Ms: number | null; samples: number };
  type Pair = { kinds: Record<string, Cell & { recent: { outcome: string; rttMs: number | null; loopDelayed: boolean }[] }> };
  const starved = await api<Pair>(`/api/v1/pairs/${STARVED}/n-1`);
  const slow = await api<Pair>(`/api/v1/pairs/${SLOW}/n-1`);
  const lossy = await api<Pair>(`/api/v1/pairs/${LOSSY}/n-1`);
  for (const kind of KINDS) {
    const s = starved.kinds[kind]!;
    t.match(s, { status: 'ok', lossRatio: 0, rttP50Ms: null }, `${STARVED}→n-1 ${kind}: ok, no loss, no RTT judged`);
    t.ok(s.recent.length > 0 && s.recent.every((x) => x.outcome === 'ok' && x.loopDelayed && x.rttMs! >= SLOW_US / 1000), `${STARVED}→n-1 ${kind}: its samples are its marked answers (the marked timeouts are not kept)`);
    t.match(slow.kinds[kind], { status: 'degraded' }, `${SLOW}→n-1 ${kind}: degraded by latency`);
    t.ok(slow.kinds[kind]!.rttP50Ms! >= SLOW_US / 1000, `${SLOW}→n-1 ${kind}: RTT p50 ${slow.kinds[kind]!.rttP50Ms} ms`);
    t.ok(lossy.kinds[kind]!.lossRatio! > 0.1, `${LOSSY}→n-1 ${kind}: loss ${lossy.kinds[kind]!.lossRatio}`);
  }
  const nodes = await api<{ nodes: { name: string; agent: { results: number; loopDelayed: { latency: number; loss: number } } }[] }>('/api/v1/nodes');
  const by = new Map(nodes.nodes.map((n) => [n.name, n.agent]));
  const s = by.get(STARVED)!;
  t.ok(s.loopDelayed.latency > 0 && s.loopDelayed.loss > 0, `${STARVED}: ${s.loopDelayed.latency} answers and ${s.loopDelayed.loss} timeouts left unjudged`);
  // One probe in five timed out: the unjudged timeouts are about a quarter of the unjudged answers.
  const ratio = s.loopDelayed.loss / s.loopDelayed.latency;
  t.ok(ratio > 0.2 && ratio < 0.3, `${STARVED}: unjudged timeouts / answers = ${ratio.toFixed(3)} (1 in 5 probes timed out)`);
  for (const [name, a] of by) if (name !== STARVED) t.same(a.loopDelayed, { latency: 0, loss: 0 }, `${name}: nothing marked`);
  const text = await (await fetch(`${agg.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const series = [...text.matchAll(/^netmatrix_results_loop_delayed_total\{node="([^"]+)",unjudged="([^"]+)"\} (\d+)$/gm)].map((m) => ({ node: m[1], unjudged: m[2], value: Number(m[3]) }));
  t.same(series.map((x) => `${x.node} ${x.unjudged}`), [`${STARVED} latency`, `${STARVED} loss`], 'netmatrix_results_loop_delayed_total: series for the starved node only');
  t.ok(series[0]!.value >= s.loopDelayed.latency && series[1]!.value >= s.loopDelayed.loss, 'as many as the API counted, or more since');
});
