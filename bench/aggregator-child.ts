// A real aggregator in a process of its own, for the benchmarks that load it
// over gRPC (aggregator-process.ts starts it): startAggregator with the flags
// it is given, as main.ts does, plus an event-loop delay monitor
// (perf_hooks.monitorEventLoopDelay) and the loop's utilization, started and
// read over the IPC channel, so the sender's work in the parent never shows in
// them; and what each plan push cost the collector (its "plans pushed" debug
// record, kept without formatting any log line). Built with the benchmarks
// (no `npm run build` needed).
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseAggregatorConfig } from '../aggregator/config.js';
import { loadAggregatorCredentials } from '../aggregator/credentials.js';
import { startAggregator } from '../aggregator/server.js';
import { systemClock } from '../common/clock.js';

export type ChildRequest = { readonly id: number; readonly cmd: 'measure-start' | 'measure-stop' | 'stats' | 'plan-pushes' };

/** The collector's record of one push round (aggregator/grpc/collector.ts, "plans pushed"). */
export interface PlanPush {
  readonly epoch: number;
  /** Streams the round had plans for, plans written and their bytes. */
  readonly streams: number;
  readonly written: number;
  readonly bytes: number;
  /** Event-loop turns it took, the collector's own time in them, and the time from start to end. */
  readonly slices: number;
  readonly busyMs: number;
  readonly ms: number;
  /** performance.timeOrigin + performance.now() when it was logged. */
  readonly at: number;
}

export interface ChildStats {
  readonly results: number;
  readonly reports: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** Since start, by reason. */
  readonly rejectedBy: Readonly<Record<string, number>>;
}

export interface LoopFigures extends ChildStats {
  /**
   * Event-loop delay (ms) over the measurement: how late a timer of
   * RESOLUTION_MS fires, percentiles of monitorEventLoopDelay's samples minus
   * the resolution (a sample is the whole time between two firings: an idle
   * loop reads ~10.1 ms at a 10 ms resolution).
   */
  readonly delayP50Ms: number;
  readonly delayP99Ms: number;
  readonly delayMaxMs: number;
  readonly delaySamples: number;
  /** Share of the measurement the loop was busy (performance.eventLoopUtilization). */
  readonly utilization: number;
  /** Durations (ms) of the evaluations that ran during the measurement, from the evaluator's timer. */
  readonly evaluationsMs: readonly number[];
}

/** Resolution of the delay monitor: a timer every 10 ms measures how late it fires. */
const RESOLUTION_MS = 10;
const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
/** Evaluations kept per measurement (one every half interval: far more than a run holds). */
const MAX_EVALUATIONS = 10_000;

/** Push rounds kept (the most recent). */
const MAX_PUSHES = 1_000;
const pushes: PlanPush[] = [];
// Debug records are caught by a hook and never formatted or written: only "plans pushed" is kept.
const log = pino({
  level: 'debug',
  hooks: {
    logMethod(args) {
      if (args[1] !== 'plans pushed') return;
      pushes.push({ ...(args[0] as Omit<PlanPush, 'at'>), at: performance.timeOrigin + performance.now() });
      if (pushes.length > MAX_PUSHES) pushes.shift();
    },
  },
});
const config = parseAggregatorConfig(process.argv.slice(2), {});
// Certificates and tokens from the flags, as main.ts reads them (an --api-token-file makes the API writable).
const running = await startAggregator(config, { clock: systemClock, log, version: 'bench', ...loadAggregatorCredentials(config, {}) });
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
let utilization0: EventLoopUtilization | undefined;
let evaluations: number[] = [];
running.evaluator.onEvaluated((e) => {
  if (utilization0 !== undefined && evaluations.length < MAX_EVALUATIONS) evaluations.push(e.durationMs);
});

function stats(): ChildStats {
  const s = running.sessions.stats;
  return { results: s.results, reports: s.reports, duplicates: s.duplicates, rejected: [...s.rejected.values()].reduce((a, b) => a + b, 0), rejectedBy: Object.fromEntries(s.rejected) };
}

process.on('message', (m: ChildRequest) => {
  let reply: object;
  if (m.cmd === 'measure-start') {
    delay.reset();
    delay.enable();
    evaluations = [];
    utilization0 = performance.eventLoopUtilization();
    reply = stats();
  } else if (m.cmd === 'measure-stop') {
    delay.disable();
    const figures: LoopFigures = {
      ...stats(),
      delayP50Ms: late(delay.percentile(50)),
      delayP99Ms: late(delay.percentile(99)),
      delayMaxMs: late(delay.max),
      delaySamples: delay.count,
      utilization: performance.eventLoopUtilization(utilization0).utilization,
      evaluationsMs: evaluations,
    };
    utilization0 = undefined;
    reply = figures;
  } else if (m.cmd === 'plan-pushes') reply = pushes;
  else reply = stats();
  process.send!({ id: m.id, reply });
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  delay.disable();
  void running.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
// The parent went away (crashed, killed): do not linger.
process.once('disconnect', stop);
process.send!({ ready: { grpcAddress: `127.0.0.1:${running.grpcPort}`, httpUrl: running.httpUrl } });
