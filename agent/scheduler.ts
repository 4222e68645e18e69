// Runs every probe of the plan once per interval. Rounds keep a fixed cadence;
// each round starts with a little random jitter (so agents don't probe in
// lockstep) and spreads its probes over a short window (so a node with many
// peers doesn't burst). The scheduler owns every deadline: a probe gets an
// AbortSignal that fires at its timeout, and the round's results go out
// together when its last probe has settled.
//
// Slots. A tcp, http or dns probe holds a socket of its own until it settles,
// and one towards a blackholed peer holds it for the whole timeout. Those kinds
// run in slots, each kind with its own budget, so peers that blackhole one kind
// cannot starve the others. ICMP (icmp, node) takes no slot: every echo goes
// through one shared raw socket, bounded by its own count of pending echoes.
//
// Sizing, per plan: a slot holds `runs = ⌊0.95 × (interval − spread) / timeout⌋`
// probes (at least 1) that each hang until their deadline, one after another,
// within a round (the last must start by interval − timeout; the 5 % is for
// timers firing late). A kind with n probes needs ⌈n / runs⌉ slots, about
// n × timeout / interval: then every probe of the kind runs every round even
// when every peer hangs. Together the budgets stay within maxConcurrent (sockets
// in flight); when the needs add up to more, the slots are shared in proportion
// to need, at least one per kind.
//
// Order. When a kind's budget does not cover a round in which many peers hang,
// what starts first decides what runs: probes whose last run answered (or that
// never ran) go first, since they hold a slot for a moment only; then those
// that timed out, the longest unprobed first. So live peers are probed every
// round and blackholed ones take turns (each at least once every
// ⌈hanging / (slots × runs)⌉ rounds), and ties start at an offset drawn each
// round, so no peer is always last. A probe still waiting for a slot at the
// round's latest start is skipped, counted as `no_slot` for its kind.
//
// Event-loop delay. Probes are timed on this event loop: one that was busy or
// waiting for a CPU while a probe was in flight (loop-delay.ts) inflates the
// RTT, and one held up at the deadline turns an answer into a timeout. Each
// probe measures how long the loop was unavailable between its start and its
// settling; a result is marked with it (ProbeRecord.loopDelayUs, the report's
// loop_delay_us) when it is at least the threshold and the result can include
// it: any answered probe; a timeout only when its deadline was handled at
// least the threshold late and the loop was unavailable for at least half
// the timeout (otherwise an answer would have been read before the deadline).
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ProbeKind } from '../common/vocabulary.js';
import { LoopDelayMeter, type LoopMark } from './loop-delay.js';
import type { ProbeSpec } from './peers.js';
import { TIMEOUT, type ProbeOutcome, type Prober, type ProberRegistry } from './probers/types.js';

export interface ProbeRecord {
  readonly spec: ProbeSpec;
  readonly result: ProbeOutcome;
  /** Wall clock when the probe started (agent's clock; only compared with itself). */
  readonly startedAt: number;
  /**
   * Set when the event loop was unavailable for at least the threshold while
   * the probe was in flight and the result may include it (see the top of
   * this file): for how long, in µs.
   */
  readonly loopDelayUs?: number;
}

export interface RoundResult {
  readonly round: number;
  readonly results: readonly ProbeRecord[];
  /** The longest time (ms) the event loop was unavailable while one of the round's probes was in flight; the scheduler sets it. */
  readonly loopDelayMs?: number;
}

export interface ScheduleSpec {
  readonly probes: readonly ProbeSpec[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /**
   * A sampled plan's probes differ from round to round (agent/peers.ts
   * PeerWalk): each round's are asked for as it starts, and `probes` is one
   * round's worth, for sizing the slots.
   */
  readonly roundProbes?: (round: number) => readonly ProbeSpec[];
}

export type SkipReason = 'no_slot' | 'no_prober';
/** The callbacks a scheduler calls; one that throws is caught, logged once and counted under this name. */
export type SchedulerCallback = 'probe' | 'round' | 'skipped';

export interface SchedulerOptions {
  readonly probers: ProberRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  /** Probes holding a slot at once, all kinds together (ICMP takes none). */
  readonly maxConcurrent: number;
  readonly onRound: (r: RoundResult) => void;
  readonly onProbe?: (kind: ProbeKind, result: ProbeOutcome, spec: ProbeSpec) => void;
  /** Once per round and kind that had skips, with their count. */
  readonly onSkipped?: (kind: ProbeKind, reason: SkipReason, count: number) => void;
  /** A callback above threw (after it was logged, the first time per callback). */
  readonly onCallbackError?: (callback: SchedulerCallback) => void;
  /** Fraction of the interval used for round-start jitter and for spreading probes (default 0.05 each). */
  readonly spreadFraction?: number;
  readonly random?: () => number;
  /** A result is marked when the loop was unavailable this long (ms) while it was in flight (default DEFAULT_LOOP_DELAY_THRESHOLD_MS). */
  readonly loopDelayThresholdMs?: number;
  /** Measures the event loop (default: one of its own, closed by stop()). */
  readonly loop?: LoopDelayMeter;
}

export const DEFAULT_LOOP_DELAY_THRESHOLD_MS = 10;

/** Kinds whose probes share one socket (the raw ICMP socket) instead of holding one each: they take no slot. */
const SLOT_FREE: ReadonlySet<ProbeKind> = new Set<ProbeKind>(['icmp', 'node']);

/** Timers fire late and rounds overlap a little: a slot is sized for 95 % of the window. */
const SLOT_FILL = 0.95;

export interface SlotBudget {
  /** Slots the kind gets. */
  readonly slots: number;
  /** Slots it would need for all its probes to run each round even if every one hung until its deadline. */
  readonly need: number;
}

/** The launch window of a round: probes are spread over it (never past the latest start). */
export function spreadWindow(intervalMs: number, timeoutMs: number, spreadFraction: number): number {
  return Math.min(intervalMs * spreadFraction, Math.max(0, intervalMs - timeoutMs));
}

/** Slots per kind for a plan (the sizing rule at the top of this file); kinds that take no slot are left out. */
export function slotBudgets(
  counts: ReadonlyMap<ProbeKind, number>,
  o: { readonly intervalMs: number; readonly timeoutMs: number; readonly spreadMs: number; readonly maxConcurrent: number },
): Map<ProbeKind, SlotBudget> {
  const runs = Math.max(1, Math.floor((SLOT_FILL * (o.intervalMs - o.spreadMs)) / o.timeoutMs));
  const need = new Map<ProbeKind, number>();
  let total = 0;
  for (const [kind, n] of counts) {
    if (SLOT_FREE.has(kind) || n === 0) continue;
    const k = Math.ceil(n / runs);
    need.set(kind, k);
    total += k;
  }
  const out = new Map<ProbeKind, SlotBudget>();
  if (total <= o.maxConcurrent) {
    for (const [kind, k] of need) out.set(kind, { slots: k, need: k });
    return out;
  }
  // Shared in proportion to need (largest remainder), at least one slot each:
  // with more kinds than slots that is one over the bound per extra kind.
  const share = [...need].map(([kind, k]) => ({ kind, k, exact: (o.maxConcurrent * k) / total, slots: Math.max(1, Math.floor((o.maxConcurrent * k) / total)) }));
  let left = o.maxConcurrent - share.reduce((s, x) => s + x.slots, 0);
  for (const x of [...share].sort((a, b) => b.exact - b.slots - (a.exact - a.slots))) {
    if (left <= 0) break;
    x.slots++;
    left--;
  }
  for (const x of share) out.set(x.kind, { slots: x.slots, need: x.k });
  return out;
}

interface Waiting {
  readonly run: () => void;
  readonly skip: () => void;
  readonly latestStart: number;
}

/** The slots of one kind. It outlives plans: probes of an older plan still hold and free its slots. */
interface Pool {
  slots: number;
  active: number;
  readonly queue: Waiting[];
}

/** A plan as the scheduler runs it: its probes by kind, in plan order. */
interface Compiled {
  readonly spec: ScheduleSpec;
  readonly kinds: readonly { readonly kind: ProbeKind; readonly probes: readonly ProbeSpec[]; readonly pool: Pool | undefined }[];
  readonly ids: ReadonlySet<string>;
}

export class Scheduler {
  private plan: Compiled | undefined;
  private round = 0;
  private nextAt = 0;
  private roundTimer: NodeJS.Timeout | undefined;
  private readonly launchTimers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private readonly settling = new Set<Promise<void>>();
  private readonly pools = new Map<ProbeKind, Pool>();
  private budgets: ReadonlyMap<ProbeKind, SlotBudget> = new Map();
  /** Probe id → the round its last run timed out in; probes of the current plan only. */
  private readonly timedOutIn = new Map<string, number>();
  private readonly failedCallbacks = new Set<SchedulerCallback>();
  private stopped = false;
  private readonly random: () => number;
  private readonly spread: number;
  private readonly loop: LoopDelayMeter;
  private readonly loopThreshold: number;

  constructor(private readonly o: SchedulerOptions) {
    this.random = o.random ?? Math.random;
    this.spread = o.spreadFraction ?? 0.05;
    this.loop = o.loop ?? new LoopDelayMeter();
    this.loopThreshold = o.loopDelayThresholdMs ?? DEFAULT_LOOP_DELAY_THRESHOLD_MS;
  }

  get roundsStarted(): number {
    return this.round;
  }

  /** The slot budget of each kind of the current plan that takes slots. */
  get slots(): ReadonlyMap<ProbeKind, SlotBudget> {
    return this.budgets;
  }

  /** Probe state kept between rounds (entries; never more than the plan's probes). */
  get tracked(): number {
    return this.timedOutIn.size;
  }

  /** Installs a new plan; the first plan starts the rounds at once. */
  setSpec(spec: ScheduleSpec): void {
    // A zero interval (the proto3 default) would be a round every turn of the event loop.
    if (!(spec.intervalMs >= 1 && spec.timeoutMs > 0 && Number.isFinite(spec.intervalMs) && Number.isFinite(spec.timeoutMs))) {
      throw new RangeError(`schedule needs a positive interval and timeout (interval ${spec.intervalMs} ms, timeout ${spec.timeoutMs} ms)`);
    }
    const first = this.plan === undefined;
    this.plan = this.compile(spec);
    for (const id of this.timedOutIn.keys()) if (!this.plan.ids.has(id)) this.timedOutIn.delete(id);
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
    for (const pool of this.pools.values()) pool.queue.length = 0;
    for (const c of this.inFlight) c.abort();
    await Promise.all(this.settling);
    if (!this.o.loop) this.loop.close();
  }

  private compile(spec: ScheduleSpec): Compiled {
    const byKind = new Map<ProbeKind, ProbeSpec[]>();
    for (const p of spec.probes) {
      let list = byKind.get(p.kind);
      if (!list) byKind.set(p.kind, (list = []));
      list.push(p);
    }
    const counts = new Map([...byKind].filter(([kind]) => this.o.probers[kind] !== undefined).map(([kind, list]) => [kind, list.length]));
    this.budgets = slotBudgets(counts, { intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, spreadMs: spreadWindow(spec.intervalMs, spec.timeoutMs, this.spread), maxConcurrent: this.o.maxConcurrent });
    const kinds = [...byKind].map(([kind, probes]) => {
      const budget = this.budgets.get(kind);
      let pool: Pool | undefined;
      if (budget) {
        pool = this.pools.get(kind);
        if (!pool) this.pools.set(kind, (pool = { slots: 0, active: 0, queue: [] }));
        pool.slots = budget.slots;
      }
      return { kind, probes, pool };
    });
    return { spec, kinds, ids: new Set(spec.probes.map((p) => p.id)) };
  }

  private scheduleRound(): void {
    const spec = this.plan!.spec;
    const jitter = this.random() * spec.intervalMs * this.spread;
    const delay = Math.max(0, this.nextAt + jitter - this.o.clock.monotonic());
    this.roundTimer = setTimeout(() => {
      this.roundTimer = undefined;
      if (this.stopped) return;
      this.nextAt += spec.intervalMs;
      // Fell behind (process paused, clock jump): skip to now rather than burst.
      const now = this.o.clock.monotonic();
      if (this.nextAt < now) this.nextAt = now + spec.intervalMs;
      this.runRound(this.plan!);
      this.scheduleRound();
    }, delay);
  }

  private runRound(current: Compiled): void {
    const round = ++this.round;
    const plan = current.spec.roundProbes ? this.roundOf(current, round) : current;
    const { spec } = plan;
    const results: ProbeRecord[] = [];
    const noSlot = new Map<ProbeKind, number>();
    let pending = spec.probes.length;
    const loop = { worst: 0 };
    const finish = () => {
      if (this.stopped) return;
      for (const [kind, n] of noSlot) this.notify('skipped', () => this.o.onSkipped?.(kind, 'no_slot', n));
      this.notify('round', () => this.o.onRound({ round, results, loopDelayMs: loop.worst }));
    };
    const done = () => {
      if (--pending === 0) finish();
    };
    const start = this.o.clock.monotonic();
    // The last moment a queued probe may still start and finish before the next round.
    const latestStart = start + Math.max(0, spec.intervalMs - spec.timeoutMs);
    const spreadMs = spreadWindow(spec.intervalMs, spec.timeoutMs, this.spread);
    for (const { kind, probes, pool } of plan.kinds) {
      const prober = this.o.probers[kind];
      if (!prober) {
        pending -= probes.length;
        this.notify('skipped', () => this.o.onSkipped?.(kind, 'no_prober', probes.length));
        continue;
      }
      const order = pool ? this.order(probes) : probes;
      order.forEach((p, i) => {
        const run = () => this.start(p, prober, pool, spec.timeoutMs, round, results, loop, done);
        const launch = () => {
          if (!pool || pool.active < pool.slots) run();
          else pool.queue.push({ run, skip: () => { noSlot.set(kind, (noSlot.get(kind) ?? 0) + 1); done(); }, latestStart });
        };
        // Each kind is spread over the same window, so its probes are too.
        const offset = order.length > 1 ? (spreadMs * i) / order.length : 0;
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
    }
    if (pending === 0) finish();
  }

  /** A sampled plan's round: its probes compiled (slots sized for them), what is kept per probe pruned to them. */
  private roundOf(current: Compiled, round: number): Compiled {
    this.plan = this.compile({ ...current.spec, probes: current.spec.roundProbes!(round) });
    for (const id of this.timedOutIn.keys()) if (!this.plan.ids.has(id)) this.timedOutIn.delete(id);
    return this.plan;
  }

  /** This round's order of a kind that takes slots: answered or never run first, then timed out, longest unprobed first. */
  private order(probes: readonly ProbeSpec[]): ProbeSpec[] {
    const n = probes.length;
    const offset = Math.min(n - 1, Math.floor(this.random() * n));
    const fresh: ProbeSpec[] = [];
    const hung: { readonly p: ProbeSpec; readonly at: number }[] = [];
    for (let i = 0; i < n; i++) {
      const p = probes[(i + offset) % n]!;
      const at = this.timedOutIn.get(p.id);
      if (at === undefined) fresh.push(p);
      else hung.push({ p, at });
    }
    if (hung.length === 0) return fresh;
    hung.sort((a, b) => a.at - b.at); // stable: the rotated order among those of one round
    for (const h of hung) fresh.push(h.p);
    return fresh;
  }

  private start(p: ProbeSpec, prober: Prober, pool: Pool | undefined, timeoutMs: number, round: number, results: ProbeRecord[], loop: { worst: number }, done: () => void): void {
    if (pool) pool.active++;
    const settled = this.probe(p, prober, timeoutMs)
      .then(({ rec, loopMs }) => {
        if (loopMs > loop.worst) loop.worst = loopMs;
        results.push(rec);
        if (this.plan?.ids.has(p.id)) {
          if (rec.result.outcome === 'timeout') this.timedOutIn.set(p.id, round);
          else this.timedOutIn.delete(p.id);
        }
        this.notify('probe', () => this.o.onProbe?.(p.kind, rec.result, p));
      })
      .finally(() => {
        // Whatever happened above, the slot is freed and the round told.
        if (pool) {
          pool.active--;
          this.next(pool);
        }
        this.settling.delete(settled);
        done();
      });
    this.settling.add(settled);
  }

  private next(pool: Pool): void {
    while (pool.active < pool.slots && pool.queue.length > 0) {
      const w = pool.queue.shift()!;
      if (this.stopped || this.o.clock.monotonic() > w.latestStart) w.skip();
      else w.run();
    }
  }

  /** Calls back; a callback that throws must not lose a slot, a round, or the process (an unhandled rejection). */
  private notify(callback: SchedulerCallback, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!this.failedCallbacks.has(callback)) {
        this.failedCallbacks.add(callback);
        this.o.log.error({ err, callback }, 'scheduler callback threw: caught, probing goes on; counted, logged once per callback');
      }
      try {
        this.o.onCallbackError?.(callback);
      } catch {
        // Counting failed too: the log line above is all there is.
      }
    }
  }

  private async probe(spec: ProbeSpec, prober: Prober, timeoutMs: number): Promise<{ rec: ProbeRecord; loopMs: number }> {
    const startedAt = this.o.clock.now();
    const from = this.loop.mark();
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
    const to = this.loop.mark();
    const loopMs = this.loop.unavailable(from, to);
    const rec: ProbeRecord = this.marks(result, loopMs, from, to, timeoutMs) ? { spec, result, startedAt, loopDelayUs: Math.round(loopMs * 1000) } : { spec, result, startedAt };
    return { rec, loopMs };
  }

  /** Whether a result settled between `from` and `to` may include the loop's `loopMs` of unavailability (the top of this file). */
  private marks(result: ProbeOutcome, loopMs: number, from: LoopMark, to: LoopMark, timeoutMs: number): boolean {
    if (loopMs < this.loopThreshold) return false;
    if (result.outcome !== 'timeout') return true;
    const late = to.at - (from.at + timeoutMs);
    return late >= this.loopThreshold && loopMs >= timeoutMs / 2;
  }
}
