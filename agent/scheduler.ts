// Runs every probe of the plan once per interval. Rounds keep a fixed cadence;
// each round starts with a little random jitter (so agents don't probe in
// lockstep) and spreads its probes over a short window (so a node with many
// peers doesn't burst), in a few batches at least 2 ms apart (one timer wakes
// each, not one per probe). The scheduler owns every deadline: a probe gets an
// AbortSignal that fires at its timeout, and the round's results go out
// together when its last probe has settled. Probes started in one turn of the
// loop (within 0.5 ms) share that signal and one deadline timer; a probe costs
// no promise or closure of the scheduler's beyond the two callbacks on its
// prober's promise.
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
import { setMaxListeners } from 'node:events';
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

/** The slots of one kind. It outlives plans: probes of an older plan still hold and free its slots. */
interface Pool {
  slots: number;
  active: number;
  readonly queue: Flight[];
}

/** The state of one round, shared by its probes (no closure per probe). */
interface RoundState {
  readonly round: number;
  readonly results: ProbeRecord[];
  readonly noSlot: Map<ProbeKind, number>;
  readonly latestStart: number;
  readonly timeoutMs: number;
  pending: number;
  /** The longest time the loop was unavailable while one of the round's probes was in flight (ms). */
  worst: number;
}

/**
 * Probes started in one turn of the loop: they share a deadline, so one
 * timer and one AbortSignal serve them all.
 */
interface Batch {
  readonly controller: AbortController;
  readonly flights: Flight[];
  readonly timeoutMs: number;
  /** When its first probe started (performance.now()); its deadline is timeoutMs later. */
  readonly at: number;
  /** Its deadline. */
  timer: NodeJS.Timeout | undefined;
  /** Flights not settled yet. */
  open: number;
}

/** One probe in flight (or waiting for a slot). */
interface Flight {
  readonly p: ProbeSpec;
  readonly prober: Prober;
  readonly pool: Pool | undefined;
  readonly r: RoundState;
  batch: Batch | undefined;
  settled: boolean;
  /** Where the loop stood when it started, and the wall clock then. */
  from: LoopMark | undefined;
  startedAt: number;
}

/** Launches of a round are grouped in batches at least this far apart (ms): one timer wakes each batch. */
const BATCH_GAP_MS = 2;
/** And in at most this many batches per round. */
const MAX_BATCHES = 16;
/** Probes started within this long (ms) of each other share a deadline timer and signal (timers have a resolution of 1 ms). */
const DEADLINE_SLACK_MS = 0.5;
/** A batch's signal serves this many probes before its listener bound is lifted (probers add one or more listeners each). */
const SHARED_SIGNAL_WARN = 4;

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
  /** Batches with a probe in flight. */
  private readonly batches = new Set<Batch>();
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

  /** Stops scheduling, aborts probes in flight and settles them (as timeouts). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.roundTimer) clearTimeout(this.roundTimer);
    for (const t of this.launchTimers) clearTimeout(t);
    this.launchTimers.clear();
    // Probes still queued at shutdown are not "no slot" skips: drop them uncounted.
    for (const pool of this.pools.values()) pool.queue.length = 0;
    for (const b of [...this.batches]) this.expire(b);
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
    this.roundTimer = setTimeout(this.onRoundTimer, delay, spec.intervalMs);
  }

  private readonly onRoundTimer = (intervalMs: number): void => {
    this.roundTimer = undefined;
    if (this.stopped) return;
    this.nextAt += intervalMs;
    // Fell behind (process paused, clock jump): skip to now rather than burst.
    const now = this.o.clock.monotonic();
    if (this.nextAt < now) this.nextAt = now + intervalMs;
    this.runRound(this.plan!);
    this.scheduleRound();
  };

  private runRound(current: Compiled): void {
    const round = ++this.round;
    const plan = current.spec.roundProbes ? this.roundOf(current, round) : current;
    const { spec } = plan;
    const start = this.o.clock.monotonic();
    const r: RoundState = {
      round,
      results: [],
      noSlot: new Map(),
      // The last moment a queued probe may still start and finish before the next round.
      latestStart: start + Math.max(0, spec.intervalMs - spec.timeoutMs),
      timeoutMs: spec.timeoutMs,
      pending: spec.probes.length,
      worst: 0,
    };
    const spreadMs = spreadWindow(spec.intervalMs, spec.timeoutMs, this.spread);
    // The launch window is cut into a few batches (one timer each) rather than a timer per probe;
    // each kind is spread over the same window, so its probes are too.
    const batches = Math.max(1, Math.min(MAX_BATCHES, Math.floor(spreadMs / BATCH_GAP_MS)));
    const groups: Flight[][] = [];
    for (const { kind, probes, pool } of plan.kinds) {
      const prober = this.o.probers[kind];
      if (!prober) {
        r.pending -= probes.length;
        this.notify('skipped', () => this.o.onSkipped?.(kind, 'no_prober', probes.length));
        continue;
      }
      const order = pool ? this.order(probes) : probes;
      const n = order.length;
      for (let i = 0; i < n; i++) {
        const b = n > 1 ? Math.floor((i * batches) / n) : 0;
        (groups[b] ??= []).push({ p: order[i]!, prober, pool, r, batch: undefined, settled: false, from: undefined, startedAt: 0 });
      }
    }
    for (let b = 0; b < groups.length; b++) {
      const group = groups[b];
      if (!group) continue;
      const offset = (spreadMs * b) / batches;
      if (offset < 1) this.launch(group);
      else {
        const t: NodeJS.Timeout = setTimeout(() => {
          this.launchTimers.delete(t);
          if (this.stopped) {
            for (const f of group) this.done(f.r);
            return;
          }
          this.launch(group);
        }, offset);
        this.launchTimers.add(t);
      }
    }
    if (r.pending === 0) this.finish(r);
  }

  /** Starts a group of probes at once (those whose kind has no free slot wait in its queue): one batch. */
  private launch(group: readonly Flight[]): void {
    let batch: Batch | undefined;
    for (const f of group) {
      if (!f.pool || f.pool.active < f.pool.slots) batch = this.start(f, batch);
      else f.pool.queue.push(f);
    }
  }

  private batch(timeoutMs: number, at: number): Batch {
    const b: Batch = {
      at,
      controller: new AbortController(),
      flights: [],
      timeoutMs,
      timer: undefined,
      open: 0,
    };
    b.timer = setTimeout(() => this.expire(b), timeoutMs);
    this.batches.add(b);
    return b;
  }

  /** The batch's deadline (or stop()): its signal fires, and what has not settled is a timeout, even if a prober fails to honour its signal. */
  private expire(b: Batch): void {
    if (b.timer) clearTimeout(b.timer);
    b.timer = undefined;
    b.controller.abort();
    for (const f of b.flights) if (!f.settled) this.settle(f, TIMEOUT);
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

  /**
   * Starts a probe in batch `b` if it still fits (same timeout, started
   * within DEADLINE_SLACK_MS of the batch's first: a long callback between
   * two starts would move the deadline), or in a new one; returns the batch.
   */
  private start(f: Flight, batch: Batch | undefined): Batch {
    if (f.pool) f.pool.active++;
    f.startedAt = this.o.clock.now();
    f.from = this.loop.mark();
    const b = batch && batch.timeoutMs === f.r.timeoutMs && f.from.at - batch.at <= DEADLINE_SLACK_MS ? batch : this.batch(f.r.timeoutMs, f.from.at);
    f.batch = b;
    b.flights.push(f);
    b.open++;
    // One signal for the batch: more listeners on it than EventTarget's default warning bound are expected.
    if (b.flights.length === SHARED_SIGNAL_WARN) setMaxListeners(0, b.controller.signal);
    const spec = f.p;
    let result: Promise<ProbeOutcome>;
    try {
      result = f.prober({ node: spec.node, ip: spec.ip, family: spec.family, port: spec.port, ...(spec.dns ? { dns: spec.dns } : {}) }, b.controller.signal, this.o.log);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => this.settle(f, res),
      (err: unknown) => {
        if (f.settled) return;
        this.o.log.error({ err, probe: spec.id }, 'prober threw; counted as error');
        this.settle(f, { outcome: 'error', rttUs: 0, detail: 'prober failed' });
      },
    );
    return b;
  }

  /** A probe's result (the first one: its answer or its deadline): recorded, its slot freed, its round told. */
  private settle(f: Flight, result: ProbeOutcome): void {
    if (f.settled) return;
    f.settled = true;
    const b = f.batch!;
    if (--b.open === 0) {
      if (b.timer) clearTimeout(b.timer);
      this.batches.delete(b);
    }
    const to = this.loop.mark();
    const from = f.from!;
    const loopMs = this.loop.unavailable(from, to);
    const { p, r } = f;
    const rec: ProbeRecord = this.marks(result, loopMs, from, to, b.timeoutMs) ? { spec: p, result, startedAt: f.startedAt, loopDelayUs: Math.round(loopMs * 1000) } : { spec: p, result, startedAt: f.startedAt };
    if (loopMs > r.worst) r.worst = loopMs;
    r.results.push(rec);
    if (this.plan?.ids.has(p.id)) {
      if (result.outcome === 'timeout') this.timedOutIn.set(p.id, r.round);
      else this.timedOutIn.delete(p.id);
    }
    if (this.o.onProbe) this.notifyProbe(p, result);
    // Whatever happened above, the slot is freed and the round told.
    if (f.pool) {
      f.pool.active--;
      this.next(f.pool);
    }
    this.done(r);
  }

  private done(r: RoundState): void {
    if (--r.pending === 0) this.finish(r);
  }

  private finish(r: RoundState): void {
    if (this.stopped) return;
    for (const [kind, n] of r.noSlot) this.notify('skipped', () => this.o.onSkipped?.(kind, 'no_slot', n));
    this.notify('round', () => this.o.onRound({ round: r.round, results: r.results, loopDelayMs: r.worst }));
  }

  private next(pool: Pool): void {
    let batch: Batch | undefined;
    while (pool.active < pool.slots && pool.queue.length > 0) {
      const f = pool.queue.shift()!;
      if (this.stopped || this.o.clock.monotonic() > f.r.latestStart) {
        f.r.noSlot.set(f.p.kind, (f.r.noSlot.get(f.p.kind) ?? 0) + 1);
        this.done(f.r);
      } else {
        batch = this.start(f, batch);
      }
    }
  }

  /** onProbe without a closure per probe (notify's handling). */
  private notifyProbe(p: ProbeSpec, result: ProbeOutcome): void {
    try {
      this.o.onProbe!(p.kind, result, p);
    } catch (err) {
      this.caught('probe', err);
    }
  }

  /** Calls back; a callback that throws must not lose a slot, a round, or the process (an unhandled rejection). */
  private notify(callback: SchedulerCallback, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.caught(callback, err);
    }
  }

  private caught(callback: SchedulerCallback, err: unknown): void {
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

  /** Whether a result settled between `from` and `to` may include the loop's `loopMs` of unavailability (the top of this file). */
  private marks(result: ProbeOutcome, loopMs: number, from: LoopMark, to: LoopMark, timeoutMs: number): boolean {
    if (loopMs < this.loopThreshold) return false;
    if (result.outcome !== 'timeout') return true;
    const late = to.at - (from.at + timeoutMs);
    return late >= this.loopThreshold && loopMs >= timeoutMs / 2;
  }
}
