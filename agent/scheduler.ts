// Runs every probe of the plan once per interval. Rounds keep a fixed cadence;
// each round starts with a little random jitter (so agents don't probe in
// lockstep) and spreads its probes over a short window (so a node with many
// peers doesn't burst). The scheduler owns every deadline: a probe gets an
// AbortSignal that fires at its timeout, and the round's results go out
// together when its last probe has settled.
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ProbeKind } from '../common/vocabulary.js';
import type { ProbeSpec } from './peers.js';
import { TIMEOUT, type ProbeOutcome, type ProberRegistry } from './probers/types.js';

export interface ProbeRecord {
  readonly spec: ProbeSpec;
  readonly result: ProbeOutcome;
  /** Wall clock when the probe started (agent's clock; only compared with itself). */
  readonly startedAt: number;
}

export interface RoundResult {
  readonly round: number;
  readonly results: readonly ProbeRecord[];
}

export interface ScheduleSpec {
  readonly probes: readonly ProbeSpec[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface SchedulerOptions {
  readonly probers: ProberRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxConcurrent: number;
  readonly onRound: (r: RoundResult) => void;
  readonly onProbe?: (kind: ProbeKind, result: ProbeOutcome, spec: ProbeSpec) => void;
  readonly onSkipped?: (reason: 'no_slot' | 'no_prober', count: number) => void;
  /** Fraction of the interval used for round-start jitter and for spreading probes (default 0.05 each). */
  readonly spreadFraction?: number;
  readonly random?: () => number;
}

interface Waiting {
  readonly run: () => void;
  readonly skip: () => void;
  readonly latestStart: number;
}

export class Scheduler {
  private spec: ScheduleSpec | undefined;
  private round = 0;
  private nextAt = 0;
  private roundTimer: NodeJS.Timeout | undefined;
  private readonly launchTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private readonly settling = new Set<Promise<void>>();
  private readonly queue: Waiting[] = [];
  private active = 0;
  private stopped = false;
  private readonly random: () => number;
  private readonly spread: number;

  constructor(private readonly o: SchedulerOptions) {
    this.random = o.random ?? Math.random;
    this.spread = o.spreadFraction ?? 0.05;
  }

  get roundsStarted(): number {
    return this.round;
  }

  /** Installs a new plan; the first plan starts the rounds at once. */
  setSpec(spec: ScheduleSpec): void {
    const first = this.spec === undefined;
    this.spec = spec;
    if (first && !this.stopped) {
      this.nextAt = this.o.clock.monotonic();
      this.scheduleRound();
    }
  }

  /** Stops scheduling, aborts probes in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.roundTimer) clearTimeout(this.roundTimer);
    for (const t of this.launchTimers) clearTimeout(t);
    this.launchTimers.clear();
    // Probes still queued at shutdown are not "no slot" skips: drop them uncounted.
    this.queue.length = 0;
    for (const c of this.inFlight) c.abort();
    await Promise.all(this.settling);
  }

  private scheduleRound(): void {
    const spec = this.spec!;
    const jitter = this.random() * spec.intervalMs * this.spread;
    const delay = Math.max(0, this.nextAt + jitter - this.o.clock.monotonic());
    this.roundTimer = setTimeout(() => {
      this.roundTimer = undefined;
      if (this.stopped) return;
      this.nextAt += spec.intervalMs;
      // Fell behind (process paused, clock jump): skip to now rather than burst.
      const now = this.o.clock.monotonic();
      if (this.nextAt < now) this.nextAt = now + spec.intervalMs;
      this.runRound(this.spec!);
      this.scheduleRound();
    }, delay);
  }

  private runRound(spec: ScheduleSpec): void {
    const round = ++this.round;
    const probes = spec.probes;
    const results: ProbeRecord[] = [];
    let pending = probes.length;
    const done = () => {
      if (--pending === 0 && !this.stopped) this.o.onRound({ round, results });
    };
    if (pending === 0) {
      this.o.onRound({ round, results });
      return;
    }
    const start = this.o.clock.monotonic();
    // The last moment a queued probe may still start and finish before the next round.
    const latestStart = start + Math.max(0, spec.intervalMs - spec.timeoutMs);
    const spreadMs = Math.min(spec.intervalMs * this.spread, Math.max(0, spec.intervalMs - spec.timeoutMs));
    let noProber = 0;
    probes.forEach((p, i) => {
      const prober = this.o.probers[p.kind];
      if (!prober) {
        noProber++;
        done();
        return;
      }
      const launch = () => {
        const run = () => {
          this.active++;
          const settled = this.probe(p, prober, spec.timeoutMs).then((rec) => {
            this.active--;
            results.push(rec);
            this.settling.delete(settled);
            this.next();
            done();
          });
          this.settling.add(settled);
        };
        if (this.active < this.o.maxConcurrent) run();
        else this.queue.push({ run, skip: () => { this.o.onSkipped?.('no_slot', 1); done(); }, latestStart });
      };
      const offset = probes.length > 1 ? (spreadMs * i) / probes.length : 0;
      if (offset < 1) launch();
      else {
        const t = setTimeout(() => {
          this.launchTimers.delete(t);
          if (this.stopped) return done();
          launch();
        }, offset);
        this.launchTimers.add(t);
      }
    });
    if (noProber > 0) this.o.onSkipped?.('no_prober', noProber);
  }

  private next(): void {
    while (this.active < this.o.maxConcurrent && this.queue.length > 0) {
      const w = this.queue.shift()!;
      if (this.stopped || this.o.clock.monotonic() > w.latestStart) w.skip();
      else w.run();
    }
  }

  private async probe(spec: ProbeSpec, prober: NonNullable<ProberRegistry[ProbeKind]>, timeoutMs: number): Promise<ProbeRecord> {
    const startedAt = this.o.clock.now();
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    // The deadline holds even if a prober fails to honour its signal.
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<ProbeOutcome>((resolve) => {
      onAbort = () => resolve(TIMEOUT);
      controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    let result: ProbeOutcome;
    try {
      result = await Promise.race([prober({ node: spec.node, ip: spec.ip, family: spec.family, port: spec.port, ...(spec.dns ? { dns: spec.dns } : {}) }, controller.signal, this.o.log), deadline]);
    } catch (err) {
      this.o.log.error({ err, probe: spec.id }, 'prober threw; counted as error');
      result = { outcome: 'error', rttUs: 0, detail: 'prober failed' };
    } finally {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort!);
      this.inFlight.delete(controller);
    }
    this.o.onProbe?.(spec.kind, result, spec);
    return { spec, result, startedAt };
  }
}
