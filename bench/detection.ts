// Detection benchmark: how long a real fault takes to show in the matrix, and
// to leave it, at the default probe interval (5 s) and timeout (1 s). A 5-node
// namespace lab runs the built aggregator and agents with their defaults; for a
// `drop` between two nodes, a `reject` from one to another, and a cut cable,
// repeated, it injects the fault from an all-ok matrix, polls the matrix API
// every 50 ms (through the lab's forwarder) until every affected cell of every
// probe kind reads `failing`, clears the fault and polls until they read `ok`.
// On the way back it also notes when they stopped reading `failing` (a cell
// whose window still holds the fault's failed probes reads `degraded` first).
// Target: within one interval plus one timeout, both ways.
import { createLab, type Lab } from '../test/e2e/lab/lab.js';
import { CUT_4, DROP_1_2, type FaultCase, randomPhase, REJECT_1_3 } from './fault-cases.js';
import { assertBuilt, buildStamp, LabCluster, type Cell } from './lab-cluster.js';
import { max, median, seconds } from './proc-stats.js';

// The aggregator's defaults: not passed to it, only used here to phase the faults and judge.
const INTERVAL_MS = 5_000;
const TIMEOUT_MS = 1_000;
const WINDOW_MS = 60_000;
const TARGET_MS = INTERVAL_MS + TIMEOUT_MS;
const REPEATS = Number(process.env.BENCH_DETECTION_REPEATS ?? 3);
const POLL_MS = 50;
/** Longest wait for a fault to show; a fault not seen by then counts as missed and the run goes on. */
const DETECT_LIMIT_MS = 30_000;
/** Longest wait for cells to read ok again: the fault's failed probes may count until they leave the window. */
const RECOVER_LIMIT_MS = WINDOW_MS + 4 * INTERVAL_MS;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;

const CASES: readonly FaultCase[] = [DROP_1_2, REJECT_1_3, CUT_4];

type Condition = (c: Cell) => boolean;

interface Seen {
  /** ms from t0 until the condition held for the selected cells of every kind (NaN: not within the limit). */
  readonly ms: number;
  /** Last outcomes and statuses of the selected cells on the polls before it held. */
  readonly outcomes: Set<string>;
  readonly statuses: Set<string>;
}

/**
 * Polls every kind's matrix every POLL_MS from t0 until each condition (of
 * `stopAfter`, default all) has held, for every kind, for all the cells `which`
 * selects (each kind timed on its own; a condition's time is its slowest kind's).
 */
async function watch<K extends string>(
  cluster: LabCluster,
  t0: number,
  which: (s: string, d: string) => boolean,
  conditions: Record<K, Condition>,
  limitMs: number,
  stopAfter: readonly NoInfer<K>[] = Object.keys(conditions) as K[],
): Promise<Record<K, Seen>> {
  const names = Object.keys(conditions) as K[];
  const firstAt = new Map<string, number>(); // `${name}/${kind}` → ms
  const seen = Object.fromEntries(names.map((n) => [n, { outcomes: new Set<string>(), statuses: new Set<string>() }])) as Record<K, { outcomes: Set<string>; statuses: Set<string> }>;
  const nodes = cluster.lab.nodes.length;
  const done = () => stopAfter.every((name) => KINDS.every((k) => firstAt.has(`${name}/${k}`)));
  let tick = t0;
  while (!done() && Date.now() - t0 < limitMs) {
    const matrices = await Promise.all(KINDS.map((k) => cluster.matrix(k).catch(() => undefined)));
    const at = Date.now() - t0;
    KINDS.forEach((kind, i) => {
      const m = matrices[i];
      if (!m || m.nodes.length !== nodes) return;
      const cells = m.cells.flatMap((row, s) => row.map((c, d) => ({ s: m.nodes[s]!, d: m.nodes[d]!, c }))).filter((x) => x.s !== x.d && which(x.s, x.d));
      for (const name of names) {
        const key = `${name}/${kind}`;
        if (firstAt.has(key)) continue;
        for (const x of cells) {
          seen[name].outcomes.add(x.c?.lastOutcome ?? 'none');
          seen[name].statuses.add(x.c?.status ?? 'none');
        }
        if (cells.length > 0 && cells.every((x) => x.c !== null && conditions[name](x.c))) firstAt.set(key, at);
      }
    });
    tick += POLL_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, tick - Date.now())));
  }
  const out = {} as Record<K, Seen>;
  for (const name of names) {
    const times = KINDS.map((k) => firstAt.get(`${name}/${k}`) ?? NaN);
    out[name] = { ms: times.some((t) => Number.isNaN(t)) ? NaN : max(times), ...seen[name] };
  }
  return out;
}

const all = () => true;
const isOk: Condition = (c) => c.status === 'ok';
const isFailing: Condition = (c) => c.status === 'failing';
const notFailing: Condition = (c) => c.status === 'ok' || c.status === 'degraded';

interface Run {
  readonly detect: Seen;
  readonly leftFailing: Seen;
  readonly ok: Seen;
  readonly commandMs: number[];
  /** Failed probes the fault left in one affected cell, fewest and most over the kinds. */
  readonly failed: readonly [number, number];
}

/** Failed probes since `since` in the first affected cell (of node-1's row), fewest and most over the kinds. */
async function failedProbes(cluster: LabCluster, c: FaultCase, since: number): Promise<[number, number]> {
  const dst = cluster.lab.nodes.find((n) => n.name !== 'node-1' && c.affected('node-1', n.name))!.name;
  const pair = await cluster.pair('node-1', dst);
  const counts = KINDS.map((k) => (pair.kinds[k]?.recent ?? []).filter((x) => x.outcome !== 'ok' && Date.parse(x.at) >= since - 200).length);
  return [Math.min(...counts), Math.max(...counts)];
}

export async function detectionBenchmark(): Promise<void> {
  assertBuilt();
  const lab = await createLab({ nodes: 5 });
  const cluster = new LabCluster(lab);
  try {
    await cluster.startAggregator(); // default interval, timeout, window, thresholds and kinds
    for (const n of lab.nodes) cluster.startAgent(n.name);
    const start = await watch(cluster, Date.now(), all, { ok: isOk }, 60_000);
    if (Number.isNaN(start.ok.ms)) throw new Error(`the matrix never read all ok: ${cluster.tail('aggregator')}`);
    console.log(`detection: 5-node lab, built aggregator and agents with their defaults: interval ${INTERVAL_MS / 1000} s, timeout ${TIMEOUT_MS / 1000} s, window ${WINDOW_MS / 1000} s, kinds ${KINDS.join(',')} (${buildStamp()})`);
    console.log(`  ${REPEATS} runs per fault, each from a fresh aggregator and an all-ok matrix after a random wait of 0-${INTERVAL_MS / 1000} s (and again before the clear); matrix polled every ${POLL_MS} ms`);
    console.log(`  through the forwarder; a time runs from the start of the fault (clear) command until every affected cell of all ${KINDS.length} kinds reads failing (ok)`);
    let worst = 0;
    for (const c of CASES) {
      const runs: Run[] = [];
      for (let i = 0; i < REPEATS; i++) {
        // Each run starts from a fresh aggregator: a previous run's fault still in
        // the window would make this one recurring loss (degraded by design), and
        // the runs would not measure the same thing.
        if (c !== CASES[0] || i > 0) {
          await cluster.restartAggregator();
          const fresh = await watch(cluster, Date.now(), all, { ok: isOk }, 60_000);
          if (Number.isNaN(fresh.ok.ms)) throw new Error(`a restarted aggregator never read all ok: ${cluster.tail('aggregator')}`);
        }
        await randomPhase(INTERVAL_MS);
        const commandMs: number[] = [];
        let t0 = Date.now();
        const injectAt = t0;
        await c.inject(lab);
        commandMs.push(Date.now() - t0);
        const { failing: detect } = await watch(cluster, t0, c.affected, { failing: isFailing }, DETECT_LIMIT_MS);
        await randomPhase(INTERVAL_MS);
        t0 = Date.now();
        await c.clear(lab);
        commandMs.push(Date.now() - t0);
        const back = await watch(cluster, t0, c.affected, { leftFailing: notFailing, ok: isOk }, RECOVER_LIMIT_MS, ['leftFailing']);
        // While the fault's failures are still in the window: how many probes of one affected cell it failed.
        const failed = await failedProbes(cluster, c, injectAt);
        const ok = Number.isNaN(back.ok.ms) ? (await watch(cluster, t0, c.affected, { ok: isOk }, RECOVER_LIMIT_MS)).ok : back.ok;
        runs.push({ detect, leftFailing: back.leftFailing, ok, commandMs, failed });
        // The next run starts from an all-ok matrix (the cut node's own row heals last).
        const whole = await watch(cluster, Date.now(), all, { ok: isOk }, RECOVER_LIMIT_MS);
        if (Number.isNaN(whole.ok.ms)) throw new Error(`after ${c.name} run ${i + 1} the matrix was not all ok within ${RECOVER_LIMIT_MS / 1000} s; stopping`);
      }
      worst = Math.max(worst, ...runs.flatMap((r) => [r.detect.ms, r.ok.ms]).map((x) => (Number.isNaN(x) ? Infinity : x)));
      printCase(c, runs);
    }
    console.log(`  worst of all: ${seconds(worst)} = ${(worst / TARGET_MS).toFixed(2)} × target (one interval plus one timeout, ${TARGET_MS / 1000} s): ${worst <= TARGET_MS ? 'met' : 'NOT met'}`);
  } finally {
    await cluster.stop().catch(() => {});
    await lab.down();
  }
}

function printCase(c: FaultCase, runs: readonly Run[]): void {
  const line = (label: string, ms: number[], limitMs: number, judged = true) => {
    const seen = ms.filter((x) => !Number.isNaN(x));
    const missed = ms.length - seen.length;
    const worst = missed > 0 ? Infinity : max(seen);
    const ratios = `${(median(seen) / TARGET_MS).toFixed(2)} / ${(worst / TARGET_MS).toFixed(2)} × ${TARGET_MS / 1000} s`;
    const verdict = judged ? `  (${ratios}: ${worst <= TARGET_MS ? 'met' : 'NOT met'})` : `  (${ratios}, not judged)`;
    const runsText = ms.map((x) => (Number.isNaN(x) ? `>${limitMs / 1000}` : (x / 1000).toFixed(2))).join(', ');
    return `    ${label.padEnd(19)} median ${seconds(median(seen))}, max ${missed > 0 ? `${missed} not within ${limitMs / 1000} s` : seconds(worst)}${verdict}   runs: ${runsText} s`;
  };
  const outcomes = [...new Set(runs.flatMap((r) => [...r.detect.outcomes].filter((o) => o !== 'ok')))].join('/');
  const between = [...new Set(runs.flatMap((r) => [...r.ok.statuses].filter((s) => s !== 'failing' && s !== 'ok')))].join('/') || 'nothing';
  console.log(`  ${c.name}: ${c.what}; outcome when failing: ${outcomes}`);
  console.log(line('detect (→ failing)', runs.map((r) => r.detect.ms), DETECT_LIMIT_MS));
  console.log(line('recover (→ ok)', runs.map((r) => r.ok.ms), RECOVER_LIMIT_MS));
  console.log(line('no longer failing', runs.map((r) => r.leftFailing.ms), RECOVER_LIMIT_MS, false));
  const failed = runs.map((r) => (r.failed[0] === r.failed[1] ? `${r.failed[0]}` : `${r.failed[0]}-${r.failed[1]}`)).join(', ');
  console.log(`    failed probes per affected cell, by run: ${failed}; between failing and ok the cells read: ${between}`);
  console.log(`    fault and clear commands took ${median(runs.flatMap((r) => r.commandMs)).toFixed(0)} ms median (counted in the times)`);
}
