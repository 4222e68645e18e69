// A netmatrix-sim run: the agents spread over worker threads (one share each,
// shard.ts), all on one timeline (start, faults, end), their statistics
// gathered every second for the progress lines and once at the end for the
// summary. With one worker the agents run in this thread.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { addStats, lateQuantile, newStats, simNow, type SimStats } from './agents.js';
import type { SimConfig } from './config.js';
import type { CredentialBytes } from './credentials.js';
import { simNodes } from './nodes.js';
import { shardAgents, type ShardInput } from './shard.js';

/** A worker that has not sent its last statistics this long after the end of the run is stopped. */
const FINISH_GRACE_MS = 15_000;

export interface SimSummary {
  readonly aggregator: string;
  readonly nodes: number;
  readonly zones: number;
  readonly workers: number;
  readonly durationS: number;
  readonly faults: {
    /** Wall-clock time the faults started (ISO 8601), or null when the run ended first. */
    readonly at: string | null;
    readonly dead: readonly string[];
    readonly partitions: readonly string[];
    readonly loss: Readonly<Record<string, number>>;
    readonly slowMs: Readonly<Record<string, number>>;
    readonly backgroundLoss: number;
    readonly badCells: number;
    readonly churnPerMinute: number;
  };
  /** Agents with an open stream and a plan at the end; agents that ever got a plan. */
  readonly agentsConnected: number;
  readonly agentsPlanned: number;
  readonly connects: number;
  readonly reconnects: number;
  readonly restarts: number;
  readonly deaths: number;
  readonly plansReceived: number;
  /** Plans with a sampling part: the aggregator planned more nodes than its --full-mesh-max. */
  readonly plansSampled: number;
  readonly plansRefused: number;
  readonly planDecodes: number;
  /** The epoch of the last plan received. */
  readonly planEpoch: number;
  readonly reportsSent: number;
  readonly reportsAcked: number;
  readonly roundsSkipped: number;
  readonly results: number;
  readonly resultsPerSecond: number;
  /** How late rounds went out after their due time (jitter included), ms. */
  readonly lateP99Ms: number | null;
  readonly errors: { readonly total: number; readonly connect: number; readonly stream: number; readonly workers: number; readonly samples: readonly string[] };
  /** CPU of this process (every thread), seconds, and its peak RSS, MiB. */
  readonly cpuS: number;
  readonly maxRssMiB: number;
}

export interface Progress {
  readonly elapsedS: number;
  readonly stats: SimStats;
}

export interface RunOptions {
  /** Called every `config.progressMs` (when not 0) with the statistics so far. */
  readonly onProgress?: (p: Progress) => void;
  /** Aborting ends the run early (Ctrl-C); the summary is still made. */
  readonly signal?: AbortSignal;
  /** Aborting starts the faults now, if --fault-after has not (SIGUSR1). */
  readonly faultsNow?: AbortSignal;
}

export async function runSim(config: SimConfig, credentials: CredentialBytes, o: RunOptions = {}): Promise<SimSummary> {
  const cpu0 = process.cpuUsage();
  const startAt = simNow();
  const runId = randomBytes(4).toString('hex');
  const input = (worker: number): ShardInput => ({ config, credentials, worker, startAt, runId });
  const latest: SimStats[] = Array.from({ length: config.workers }, newStats);
  let workerErrors = 0;
  const samples: string[] = [];
  const total = () => latest.reduce((a, s) => addStats(a, s), newStats());
  let faultAt = startAt + config.faultAfterMs;
  const starters: (() => void)[] = [];
  o.faultsNow?.addEventListener(
    'abort',
    () => {
      faultAt = Math.min(faultAt, simNow());
      for (const start of starters) start();
    },
    { once: true },
  );
  const progress = config.progressMs > 0 && o.onProgress ? setInterval(() => o.onProgress!({ elapsedS: (simNow() - startAt) / 1000, stats: total() }), config.progressMs) : undefined;
  try {
    if (config.workers === 1) {
      const agents = shardAgents(input(0));
      latest[0] = agents.stats;
      const stop = () => agents.close();
      o.signal?.addEventListener('abort', stop, { once: true });
      starters.push(() => agents.startFaultsNow());
      if (o.faultsNow?.aborted) agents.startFaultsNow();
      const running = agents.run();
      await agents.connect(config.connectRate);
      await running;
      o.signal?.removeEventListener('abort', stop);
    } else {
      await Promise.all(
        latest.map(
          (_, w) =>
            new Promise<void>((resolve) => {
              const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: input(w) });
              let done = false;
              const stop = () => worker.postMessage({ stop: true });
              o.signal?.addEventListener('abort', stop, { once: true });
              starters.push(() => worker.postMessage({ faults: true }));
              if (o.faultsNow?.aborted) worker.postMessage({ faults: true });
              // Bounded: past the end of the run and a grace, the worker is stopped.
              const deadline = setTimeout(() => {
                samples.push(`worker ${w}: no final statistics within ${FINISH_GRACE_MS} ms of the end`);
                workerErrors++;
                void worker.terminate();
              }, startAt + config.durationMs + FINISH_GRACE_MS - simNow());
              worker.on('message', (m: { stats: SimStats; done?: boolean }) => {
                latest[w] = m.stats;
                if (m.done !== true || done) return;
                done = true;
                // Its last statistics are in: the thread's channels need not close one by one (seconds for thousands).
                void worker.terminate();
              });
              worker.on('error', (e) => {
                samples.push(`worker ${w}: ${e.message}`);
                workerErrors++;
              });
              worker.on('exit', () => {
                if (!done && workerErrors === 0) {
                  samples.push(`worker ${w} exited before the end of the run`);
                  workerErrors++;
                }
                clearTimeout(deadline);
                o.signal?.removeEventListener('abort', stop);
                resolve();
              });
            }),
        ),
      );
    }
  } finally {
    if (progress) clearInterval(progress);
  }
  const s = total();
  const cpu = process.cpuUsage(cpu0);
  const elapsedMs = simNow() - startAt;
  const nodes = simNodes(config.n, config.zones, config.prefix);
  const f = config.faults;
  const byName = (m: ReadonlyMap<number, number>) => Object.fromEntries([...m].map(([i, v]) => [nodes.names[i]!, v]));
  const lateP99 = lateQuantile(s.late, 0.99);
  return {
    aggregator: config.aggregator,
    nodes: config.n,
    zones: config.zones,
    workers: config.workers,
    durationS: round(elapsedMs / 1000, 1),
    faults: {
      at: faultAt <= simNow() ? new Date(faultAt - simNow() + Date.now()).toISOString() : null,
      dead: f.dead.map((i) => nodes.names[i]!),
      partitions: f.partitions.map(([a, b]) => `${nodes.zones[a]}/${nodes.zones[b]}`),
      loss: byName(f.loss),
      slowMs: byName(f.slowMs),
      backgroundLoss: f.backgroundLoss,
      badCells: f.badCells,
      churnPerMinute: config.churnPerMinute,
    },
    agentsConnected: s.agentsAtEnd,
    agentsPlanned: s.agentsPlanned,
    connects: s.connects,
    reconnects: s.reconnects,
    restarts: s.restarts,
    deaths: s.deaths,
    plansReceived: s.plansReceived,
    plansSampled: s.plansSampled,
    plansRefused: s.plansRefused,
    planDecodes: s.planDecodes,
    planEpoch: s.planEpoch,
    reportsSent: s.reportsSent,
    reportsAcked: s.reportsAcked,
    roundsSkipped: s.roundsSkipped,
    results: s.results,
    resultsPerSecond: Math.round(s.results / (elapsedMs / 1000)),
    lateP99Ms: Number.isNaN(lateP99) ? null : lateP99,
    errors: {
      total: s.connectErrors + s.streamErrors + workerErrors,
      connect: s.connectErrors,
      stream: s.streamErrors,
      workers: workerErrors,
      samples: [...samples, ...s.errorSamples].slice(0, 5),
    },
    cpuS: round((cpu.user + cpu.system) / 1e6, 2),
    maxRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
