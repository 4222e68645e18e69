// Evaluation benchmark: what one evaluation (assessment, localization,
// findings) and one /metrics scrape cost at 200 and 1,000 nodes, full mesh,
// 4 probe kinds, 3 failing pairs, and how many series the scrape has.
// Reference measured in the same run: reading every cell once through the
// matrix API's own path (MatrixQuery.matrix per kind), the least any
// evaluation must do. The evaluator runs every half interval, stretched to 4 ×
// its own duration, so its share of a core is at most 25 %; the table says
// what share it takes at the default 5 s interval.
import { Registry } from 'prom-client';
import { AgentSessions } from '../aggregator/agents.js';
import { FindingsEngine } from '../aggregator/findings/engine.js';
import { Evaluator } from '../aggregator/findings/evaluator.js';
import { MatrixQuery } from '../aggregator/matrix/query.js';
import { createAggregatorMetrics } from '../aggregator/metrics/metrics.js';
import { silentLogger } from '../common/logger.js';
import { Cluster, KINDS, STALE, WINDOW, INTERVAL, type World } from '../test/aggregator/localize/cluster-fixture.js';
import { median } from './proc-stats.js';

const SIZES = (process.env.BENCH_EVALUATION_NODES ?? '200,1000').split(',').map(Number);
const REPEATS = 5;

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

export async function evaluationBenchmark(): Promise<void> {
  console.log(`evaluation: full mesh, ${KINDS.length} kinds (${KINDS.join(',')}), 4 zones, 3 failing pairs, window ${WINDOW / 1000} s of ${INTERVAL / 1000} s rounds; median of ${REPEATS}`);
  for (const n of SIZES) {
    const c = new Cluster();
    for (let i = 1; i <= n; i++) {
      const rec = c.nodes.upsert({ name: `n-${i}`, zone: `zone-${i % 4}`, podIPs: [`198.51.100.${i % 250}`], nodeIPs: [], responderPort: 9402 }, c.clock.now());
      Object.assign(rec.agent, { connected: true, instanceId: `n-${i}`, connectedSince: c.clock.now(), instanceSince: c.clock.now() });
    }
    const failing = new Set(['n-1>n-2', 'n-50>n-120', `n-${n - 1}>n-7`]);
    const world: World = (s, d) => (failing.has(`${s}>${d}`) ? 'timeout' : 'ok');
    const fill = time(() => c.run(WINDOW / INTERVAL + 1, world));
    const query = new MatrixQuery(c.nodes, c.store);
    const engine = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'bench', runbookBaseUrl: 'https://example.org' });
    const evaluator = new Evaluator({
      nodes: c.nodes,
      store: c.store,
      query,
      engine,
      clock: c.clock,
      log: silentLogger(),
      assess: { planKinds: KINDS, windowMs: WINDOW, maxUnhealthy: 100 },
      localize: { staleAfterMs: STALE, maxPairFindings: 100, latencyThresholdMs: 50 },
    });
    const sessions = new AgentSessions(c.nodes, c.store, c.clock, { maxResultsPerReport: 1_000_000, maxResultAgeMs: WINDOW + STALE });
    const registry = new Registry();
    createAggregatorMetrics({ nodes: c.nodes, sessions, store: c.store, evaluator, findings: engine, now: () => c.clock.now() }, registry);

    const reads: number[] = [];
    const evals: number[] = [];
    const scrapes: number[] = [];
    let text = '';
    let findings = '';
    for (let r = 0; r < REPEATS; r++) {
      reads.push(time(() => KINDS.forEach((k) => query.matrix(k, 'ipv4', c.clock.now()))));
      evals.push(time(() => {
        const e = evaluator.evaluate();
        findings = e.firing.map((f) => `${f.kind}{${f.labels.src}→${f.labels.dst}}`).join(' ');
      }));
      const t0 = performance.now();
      text = await registry.metrics();
      scrapes.push(performance.now() - t0);
    }
    const series = text.split('\n').filter((l) => /^netmatrix_/.test(l) && !l.startsWith('netmatrix_aggregator_')).length;
    const pairs = n * (n - 1);
    const ev = median(evals);
    const read = median(reads);
    console.log(`  ${n} nodes (${pairs.toLocaleString('en')} pairs, ${(pairs * KINDS.length).toLocaleString('en')} cells; filled in ${(fill / 1000).toFixed(1)} s):`);
    console.log(`    evaluation ${ev.toFixed(0)} ms = ${(ev / read).toFixed(2)} × reading every cell once through the matrix API (${read.toFixed(0)} ms); ${((ev * 1e6) / (pairs * KINDS.length)).toFixed(0)} ns per cell`);
    console.log(`    at the default ${INTERVAL / 1000} s interval: every ${(Math.max(INTERVAL / 2, 4 * ev) / 1000).toFixed(1)} s, ${((100 * ev) / Math.max(INTERVAL / 2, 4 * ev)).toFixed(1)} % of a core`);
    console.log(`    /metrics scrape ${median(scrapes).toFixed(1)} ms, ${(text.length / 1024).toFixed(0)} KiB, ${series.toLocaleString('en')} series = ${(series / n).toFixed(1)} per node (${((100 * series) / pairs).toFixed(2)} % of the node pairs)`);
    console.log(`    findings: ${findings}`);
  }
}
